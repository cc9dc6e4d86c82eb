"""The command line shared by the experiment's calibration runs (the sweep, the unlearning).

Each runs the candidates of a preset, ``full`` or (``--mini``) a seconds-long pipeline check,
into an output folder, resumably, and prints the table it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def run_preset(
    argv: Sequence[str] | None,
    *,
    name: str,
    description: str,
    work: Callable[..., Any],
) -> int:
    """Parse ``[--mini] [--out DIR] [--no-progress]``; run ``work``; print its table.

    Args:
        argv: the arguments (``None``: the process's).
        name: the module's last name: the command is ``python -m experiments.replicate.NAME``,
            the default folder ``runs/NAME-PRESET`` and the table ``NAME.md`` (with
            ``NAME.json`` beside it).
        description: the command's help text.
        work: called as ``work(out, preset, progress=...)``; writes the table.

    Examples:
        >>> run_preset(["--help"], name="sweep", description="d", work=print)
        Traceback (most recent call last):
        SystemExit: 0
    """
    from mathattempt_env.cli import run_command, strict_parser

    prog = f"python -m experiments.replicate.{name}"
    parser = strict_parser(prog=prog, description=description)
    parser.add_argument("--mini", action="store_true", help="a seconds-long pipeline check")
    parser.add_argument("--out", type=Path, help=f"output folder (default runs/{name}-PRESET)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    preset = "mini" if args.mini else "full"
    out = args.out or Path("runs") / f"{name}-{preset}"

    def body() -> int:
        work(out, preset, progress=not args.no_progress)
        print((out / f"{name}.md").read_text())
        print(f"wrote {out}/{name}.md and {name}.json")
        return 0

    return run_command(prog, body, extra="eval")
