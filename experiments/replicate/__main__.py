"""``python -m experiments.replicate [--quick | --mini | --preset NAME] [--out DIR]``."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mathattempt_env.cli import run_command, strict_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run or resume the experiment; print the report. Exit 2 on a configuration error."""
    from experiments.replicate.settings import PRESETS

    parser = strict_parser(
        prog="python -m experiments.replicate",
        description="Train a tiny model on the multi-attempt task and on the single-turn task, "
        "then evaluate both with the multi-attempt protocol (the paper's k-curve, on a CPU).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="1 seed, fewer steps (~10 min)")
    size.add_argument("--mini", action="store_true", help="a seconds-long pipeline check")
    size.add_argument(
        "--preset", choices=sorted(PRESETS), help="a preset by name (testbed: the sweep's setting)"
    )
    parser.add_argument("--out", type=Path, help="output folder (default runs/replicate-PRESET)")
    parser.add_argument("--seeds", type=int, help="override the preset's number of seeds")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    preset = args.preset or ("quick" if args.quick else "mini" if args.mini else "full")
    settings = PRESETS[preset]
    if args.seeds is not None:
        settings = dataclasses.replace(settings, seeds=args.seeds)
    out = args.out or Path("runs") / f"replicate-{preset}"

    def body() -> int:
        from experiments.replicate.run import run

        started = time.perf_counter()
        run(out, settings, progress=not args.no_progress)
        print((out / "summary.md").read_text())
        print(f"wrote {out}/summary.md, curves.png, training.png "
              f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
        return 0

    return run_command("python -m experiments.replicate", body, extra="eval")


if __name__ == "__main__":
    sys.exit(main())
