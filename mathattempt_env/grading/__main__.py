"""Grade a response against a gold answer from the command line.

Usage: ``python -m mathattempt_env.grading RESPONSE GOLD [--boxed-only] [--timeout S]``.
With no arguments, grades a few built-in examples, offline.
"""

from __future__ import annotations

import argparse

from mathattempt_env.errors import MathAttemptError
from mathattempt_env.grading import grade

EXAMPLES = [
    (r"... so the answer is $\boxed{\dfrac{9}{7}}$.", r"\frac{18}{14}"),
    (r"The roots are $\boxed{3, -1}$.", r"-1, 3"),
    (r"Thus $x \in \boxed{(-\infty, 2]}$.", r"x \le 2"),
    (r"I get $\boxed{\frac{1}{2006!}}$", r"\frac{1}{2004!}"),
    (r"<think>maybe 5</think> The answer is 4.", "5"),
]


def main() -> None:
    """Parse arguments and print one verdict per line."""
    parser = argparse.ArgumentParser(allow_abbrev=False, prog="python -m mathattempt_env.grading")
    parser.add_argument("response", nargs="?")
    parser.add_argument("gold", nargs="?")
    parser.add_argument("--boxed-only", action="store_true")
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args()
    pairs = EXAMPLES if args.response is None or args.gold is None else [(args.response, args.gold)]
    for response, gold in pairs:
        try:
            result = grade(response, gold, boxed_only=args.boxed_only, timeout=args.timeout)
        except MathAttemptError as error:  # a bad option, said in one line
            parser.error(str(error))
        print(f"{result.correct!s:5} {result.reason:10} {result.extracted!r:28} gold={gold!r}")


if __name__ == "__main__":
    main()
