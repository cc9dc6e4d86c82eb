"""Entry point of a grader worker process: run jobs from stdin, answer on stdout.

Started by :mod:`mathattempt_env.grading.isolation` as ``python -m
mathattempt_env.grading._worker``; not meant to be run by hand.
"""

from __future__ import annotations

import os
import sys

from mathattempt_env.grading.isolation import read_message, write_message


def main() -> None:
    """Serve jobs until stdin closes."""
    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(1), "wb")
    # Anything a job prints, from Python or C, must not corrupt the protocol stream.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    while True:
        try:
            fn, args = read_message(inbox)
        except EOFError:
            return
        try:
            reply = ("ok", fn(*args))
        except BaseException as error:  # report every failure, keep serving
            reply = ("error", f"{type(error).__name__}: {error}")
        write_message(outbox, reply)


if __name__ == "__main__":
    main()
