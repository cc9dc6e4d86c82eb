"""``python -m experiments.ablate [--quick | --mini] [--schemes S ...] [--out DIR]``."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mathattempt_env.cli import run_command, strict_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run or resume an ablation; print its report. Exit 2 on a configuration error."""
    from experiments.ablate.presets import PRESETS, Ablation

    parser = strict_parser(
        prog="python -m experiments.ablate",
        description="Train the testbed's warm start under several reward schemes and seeds; "
        "report each scheme's held-out metrics with 95% intervals and paired differences "
        "from a baseline scheme.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="2 seeds, fewer steps")
    size.add_argument("--mini", action="store_true", help="a seconds-long pipeline check")
    parser.add_argument("--schemes", nargs="+", metavar="SCHEME",
                        help="reward schemes or specs (default: the preset's: paper, binary, "
                        "repeat-penalty, discounted)")  # fmt: skip
    parser.add_argument("--baseline", help="the scheme compared against (default: the first)")
    parser.add_argument("--seeds", type=int, help="override the preset's number of seeds")
    parser.add_argument("--out", type=Path, help="output folder (default runs/ablate-PRESET)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    preset = "quick" if args.quick else "mini" if args.mini else "paper"
    out = args.out or Path("runs") / f"ablate-{preset}"

    def body() -> int:
        from experiments.ablate.run import run

        chosen = PRESETS[preset]
        settings = chosen.settings
        if args.seeds is not None:
            settings = dataclasses.replace(settings, seeds=args.seeds)
        schemes = tuple(args.schemes) if args.schemes else chosen.schemes
        baseline = args.baseline or (schemes[0] if args.schemes else chosen.baseline)
        ablation = Ablation(settings, schemes, baseline)
        started = time.perf_counter()
        run(out, ablation, progress=not args.no_progress)
        print((out / "summary.md").read_text())
        print(f"wrote {out}/summary.md, summary.json, ablation.png "
              f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
        return 0

    return run_command("python -m experiments.ablate", body, extra="eval")


if __name__ == "__main__":
    sys.exit(main())
