"""The public grader: :func:`grade`, :func:`grade_many`, :func:`validate_gold`.

A response is graded in three stages. Extraction and the in-process parser are linear and
size-guarded, and decide almost every case in well under a millisecond. Only LaTeX the parser
cannot read goes to latex2sympy2 and sympy, in a worker process that is killed if it overruns.
Results are cached per gold and per ``(answer, gold)`` pair.

Example:
    >>> grade(r"... so the answer is $\\boxed{\\frac{3}{6}}$.", "0.5").correct
    True
    >>> grade("The answer is 7.", "7", boxed_only=True).reason
    'no-answer'
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from functools import lru_cache

from mathattempt_env.errors import ConfigError, InvalidGoldError
from mathattempt_env.grading import fallback, isolation
from mathattempt_env.grading.answer import Value, read_value
from mathattempt_env.grading.compare import Deadline, NeedsFallback, equivalent, scale
from mathattempt_env.grading.extract import BoxChoice, _brace_matches, extract
from mathattempt_env.grading.latex import Node
from mathattempt_env.grading.normalize import Normalized, normalize
from mathattempt_env.types import Grade

#: Wall-clock seconds one grade may take before it is a ``timeout`` verdict.
DEFAULT_TIMEOUT = 2.0
#: Worker processes for the slow (sympy) path of :func:`grade`.
FALLBACK_WORKERS = 2
#: Longest gold answer accepted, in characters.
MAX_GOLD_CHARS = 100_000
#: :func:`grade_many` grades in the calling process below this many items.
PARALLEL_MIN_ITEMS = 64
#: Seconds a fresh worker may take to start, not counted against any item's timeout.
STARTUP_TIMEOUT = 120.0

_HUNDREDTH: Node = ("n", Fraction(1, 100), False)
_DEGREE: Node = ("*", (("c", "pi"), ("n", Fraction(1, 180), False)))


class _ResultCache:
    """A small thread-safe LRU of final (non-timeout) verdicts per ``(answer, gold)``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[tuple[str, str], tuple[bool, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[bool, str] | None:
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: tuple[bool, str]) -> None:
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)


_results = _ResultCache(200_000)


@lru_cache(maxsize=65_536)
def _normalized(text: str) -> Normalized:
    return normalize(text)


def _readings(norm: Normalized) -> list[Value]:
    value = read_value(norm.text)
    readings = [value]
    if norm.percent:
        readings.append(scale(value, _HUNDREDTH))
    if norm.degrees:
        readings.append(scale(value, _DEGREE))
    return readings


@lru_cache(maxsize=65_536)
def _gold(gold: str) -> Normalized:
    """Validate and normalize a gold answer once."""
    if not isinstance(gold, str):
        raise InvalidGoldError(gold, f"expected a string, got {type(gold).__name__}")
    if "\x00" in gold or any(0xD800 <= ord(ch) <= 0xDFFF for ch in gold):
        raise InvalidGoldError(gold, "contains a NUL byte or a lone surrogate")
    if len(gold) > MAX_GOLD_CHARS:
        raise InvalidGoldError(gold, f"longer than {MAX_GOLD_CHARS} characters")
    opened = gold.count("{") - gold.count("\\{")
    if len(_brace_matches(gold)) != opened or gold.count("}") - gold.count("\\}") != opened:
        raise InvalidGoldError(gold, "unbalanced braces")
    stripped = gold.rstrip()
    if (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1:
        raise InvalidGoldError(gold, "ends with a dangling backslash")
    norm = normalize(gold)
    if not norm.text:
        raise InvalidGoldError(gold, "empty after removing delimiters and formatting")
    return norm


def validate_gold(gold: str, *, where: str = "") -> str:
    """Check a gold answer and return the kind of answer it is.

    Environments call this when they load data, so that bad rows fail early and by name.

    Args:
        gold: the reference answer.
        where: a location for the error message, e.g. ``"math500.jsonl, id test/x/1.json"``.

    Returns:
        The kind the grader reads it as: ``expr``, ``set``, ``tuple``, ``union`` (intervals),
        ``eq``, ``mat``, ``text``, ``choice``, ``raw`` (read by the sympy fallback) or ``big``.

    Raises:
        InvalidGoldError: not a string, empty, unbalanced braces, NUL/surrogates, too long.

    Example:
        >>> validate_gold(r"\\dfrac{9}{7}")
        'expr'
        >>> validate_gold(r"\\frac{1}{")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.InvalidGoldError: invalid gold answer: unbalanced braces; got ...
    """
    try:
        norm = _gold(gold)
    except InvalidGoldError as error:
        if where:
            raise InvalidGoldError(gold, error.problem, where) from None
        raise
    return str(read_value(norm.text)[0])


def _compare(answer: Normalized, gold: Normalized, deadline: Deadline) -> tuple[bool, str]:
    first_reason = ""
    for a_value in _readings(answer):
        for g_value in _readings(gold):
            equal, reason = equivalent(a_value, g_value, deadline)
            if equal:
                return True, reason
            first_reason = first_reason or reason
    return False, first_reason


def _fallback(answer: str, gold: str, deadline: float) -> tuple[bool, str, bool]:
    if isolation.IN_WORKER:
        equal, reason = fallback.sympy_equivalent(answer, gold)
        return equal, reason, False
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return False, "timeout", True
    pool = isolation.shared_pool("fallback", FALLBACK_WORKERS, warm=fallback.warm)
    try:
        equal, reason = pool.run(fallback.sympy_equivalent, answer, gold, timeout=remaining)
    except (isolation.WorkerTimeout, isolation.WorkerCrashed):
        return False, "timeout", True
    return equal, reason, False


def _judge(answer: str, gold: str, deadline: float) -> tuple[bool, str, bool]:
    key = (answer, gold)
    cached = _results.get(key)
    if cached is not None:
        return cached[0], cached[1], False
    a_norm, g_norm = _normalized(answer), _gold(gold)
    if a_norm == g_norm:
        verdict = (True, "exact")
    else:
        try:
            verdict = _compare(a_norm, g_norm, Deadline(deadline))
        except TimeoutError:
            return False, "timeout", True
        except NeedsFallback:
            equal, reason, timed_out = _fallback(a_norm.text, g_norm.text, deadline)
            if timed_out:
                return False, "timeout", True
            verdict = (equal, reason)
    _results.put(key, verdict)
    return verdict[0], verdict[1], False


def _limit(timeout: float | None) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"expected timeout > 0 seconds, got {timeout!r}")
    return float(timeout)


def warmup() -> None:
    """Start the sympy worker processes now and wait until they are ready.

    Optional: without it they start in the background on the first call to :func:`grade`.
    """
    pool = isolation.shared_pool("fallback", FALLBACK_WORKERS, warm=fallback.warm)
    pool.run(fallback.warm, timeout=STARTUP_TIMEOUT)


_started = False


def _prestart() -> None:
    global _started
    if not _started and not isolation.IN_WORKER:
        _started = True
        isolation.shared_pool("fallback", FALLBACK_WORKERS, warm=fallback.warm).prestart(1)


def grade(
    response: str,
    gold: str,
    *,
    boxed_only: bool = False,
    timeout: float | None = None,
    box: BoxChoice = "last",
) -> Grade:
    """Grade one response against a gold answer.

    Never raises for any ``response``; a bad ``gold`` raises :class:`InvalidGoldError`.

    Args:
        response: a full model response, or a bare answer.
        gold: the reference answer: bare LaTeX, plain text, ``$...$`` or ``\\boxed{...}``.
        boxed_only: only a complete ``\\boxed{}`` counts (the environments' protocol).
        timeout: wall-clock limit in seconds (default :data:`DEFAULT_TIMEOUT`). It holds in
            any thread, inside asyncio loops and inside worker processes; on expiry the
            verdict is ``correct=False, timed_out=True``.
        box: with several complete boxes, grade the ``"last"`` (default) or the ``"first"``.

    Returns:
        The :class:`~mathattempt_env.types.Grade`.

    Example:
        >>> g = grade(r"<think>...</think> So $x=\\boxed{\\{2, 1\\}}$", "1, 2")
        >>> g.correct, g.formatted, g.reason
        (True, True, 'set')
    """
    start = time.perf_counter()
    limit = _limit(timeout)
    _gold(gold)
    _prestart()
    try:
        found = extract(response, boxed_only=boxed_only, box=box)
    except Exception:  # extraction is linear and total; this is a last line of defence
        return Grade(False, False, None, "no-answer", False, time.perf_counter() - start)
    if found.answer is None:
        return Grade(False, found.formatted, None, "no-answer", False, time.perf_counter() - start)
    try:
        correct, reason, timed_out = _judge(found.answer, gold, start + limit)
    except InvalidGoldError:
        raise
    except Exception:
        correct, reason, timed_out = False, "unparseable", False
    return Grade(
        correct, found.formatted, found.answer, reason, timed_out, time.perf_counter() - start
    )


def _grade_chunk(
    responses: list[str], golds: list[str], boxed_only: bool, timeout: float | None
) -> list[Grade]:
    return [
        grade(r, g, boxed_only=boxed_only, timeout=timeout)
        for r, g in zip(responses, golds, strict=True)
    ]


def grade_many(
    responses: Sequence[str],
    golds: Sequence[str],
    *,
    workers: int | None = None,
    timeout: float | None = None,
    boxed_only: bool = False,
) -> list[Grade]:
    """Grade many responses in parallel worker processes, keeping input order.

    Each item gets its own ``timeout``; a worker that overruns is killed, and the items it
    held are graded again one by one, so a single pathological response costs one
    ``timeout`` verdict and nothing else.

    Args:
        responses: model responses.
        golds: gold answers, one per response.
        workers: processes to use (default: the CPU count). ``1`` grades in this process.
        timeout: per-item wall-clock limit (default :data:`DEFAULT_TIMEOUT`).
        boxed_only: as in :func:`grade`.

    Raises:
        ConfigError: ``responses`` and ``golds`` differ in length, or ``workers < 1``.
        InvalidGoldError: a gold is invalid; the message names its index.

    Example:
        >>> [g.correct for g in grade_many([r"\\boxed{2}", "3"], ["2", "4"], workers=1)]
        [True, False]
    """
    responses, golds = list(responses), list(golds)
    if len(responses) != len(golds):
        raise ConfigError(
            f"expected as many golds as responses, got {len(golds)} and {len(responses)}"
        )
    if workers is not None and workers < 1:
        raise ConfigError(f"expected workers >= 1, got {workers}")
    limit = _limit(timeout)
    for index, gold in enumerate(golds):
        validate_gold(gold, where=f"golds[{index}]")
    count = workers or os.cpu_count() or 1
    if count == 1 or len(responses) < PARALLEL_MIN_ITEMS or isolation.IN_WORKER:
        return _grade_chunk(responses, golds, boxed_only, limit)
    pool = isolation.shared_pool("grade_many", count, warm=fallback.warm)
    size = max(8, -(-len(responses) // (4 * count)))
    spans = [(i, min(i + size, len(responses))) for i in range(0, len(responses), size)]

    def run_span(span: tuple[int, int]) -> list[Grade]:
        lo, hi = span
        try:
            result: list[Grade] = pool.run(
                _grade_chunk, responses[lo:hi], golds[lo:hi], boxed_only, limit,
                timeout=limit * (hi - lo), startup_timeout=STARTUP_TIMEOUT,
            )  # fmt: skip
            return result
        except (isolation.WorkerTimeout, isolation.WorkerCrashed, RuntimeError):
            return [
                _grade_alone(pool, responses[i], golds[i], boxed_only, limit) for i in range(lo, hi)
            ]

    with ThreadPoolExecutor(max_workers=count) as executor:
        return [item for chunk in executor.map(run_span, spans) for item in chunk]


def _grade_alone(
    pool: isolation.WorkerPool, response: str, gold: str, boxed_only: bool, limit: float
) -> Grade:
    start = time.perf_counter()
    try:
        result: list[Grade] = pool.run(
            _grade_chunk, [response], [gold], boxed_only, limit,
            timeout=limit + 0.25, startup_timeout=STARTUP_TIMEOUT,
        )  # fmt: skip
        return result[0]
    except (isolation.WorkerTimeout, isolation.WorkerCrashed, RuntimeError):
        found = extract(response, boxed_only=boxed_only)
        return Grade(
            False, found.formatted, found.answer, "timeout", True, time.perf_counter() - start
        )
