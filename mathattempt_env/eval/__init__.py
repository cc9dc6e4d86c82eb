"""The papers' evaluation for any model: ``mathattempt eval`` (see :mod:`mathattempt_env.cli`).

One run with a k-attempt budget yields accuracy at every k' <= k, because an episode stops at
its first correct attempt. Results are appended per episode to ``results.jsonl`` so a run can
be resumed; ``summary.md`` and ``accuracy_vs_attempts.png`` are written at the end.

Importing this package is light; backends load torch, transformers, vLLM or aiohttp when made.

Examples:
    >>> from mathattempt_env.eval import accuracy_at_k
    >>> accuracy_at_k([{"first_correct": 1}, {"first_correct": 3}, {"first_correct": None}], 2)
    0.3333333333333333
"""

from mathattempt_env.eval.backends import BackendError, ChatBackend, Reply
from mathattempt_env.eval.metrics import accuracy_at_k, summarize
from mathattempt_env.eval.runner import EvalConfig, run_eval

__all__ = [
    "BackendError",
    "ChatBackend",
    "EvalConfig",
    "Reply",
    "accuracy_at_k",
    "run_eval",
    "summarize",
]
