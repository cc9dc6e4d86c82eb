"""The public grader: :func:`grade`, :func:`grade_many`, :func:`validate_gold`.

A response is graded in three stages. Extraction and the in-process parser are linear and
size-guarded, and decide almost every case in well under a millisecond. Only LaTeX the parser
cannot read goes to latex2sympy2 and sympy, in a worker process that is killed if it overruns.
Results are cached per gold and per ``(answer, gold)`` pair.

Examples:
    >>> grade(r"... so the answer is $\\boxed{\\frac{3}{6}}$.", "0.5").correct
    True
    >>> grade("The answer is 7.", "7", boxed_only=True).reason
    'no-answer'
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

from mathattempt_env.errors import ConfigError, GraderUnavailableError, InvalidGoldError
from mathattempt_env.grading import deadline, fallback, isolation
from mathattempt_env.grading.answer import read_value
from mathattempt_env.grading.cache import CACHE_BYTES, ByteLRU, text_size
from mathattempt_env.grading.chunks import STARTUP_TIMEOUT, run_chunks
from mathattempt_env.grading.compare import NeedsFallback, equivalent, scale
from mathattempt_env.grading.extract import (
    DEFAULT,
    BoxChoice,
    Extraction,
    Extractor,
    Think,
)
from mathattempt_env.grading.gold import read_gold
from mathattempt_env.grading.latex import MAX_PARSE_CHARS, Node
from mathattempt_env.grading.normalize import Normalized, normalize
from mathattempt_env.grading.values import Value
from mathattempt_env.types import Grade

#: Wall-clock seconds one grade may take before it is a ``timeout`` verdict.
DEFAULT_TIMEOUT = 2.0
#: Worker processes for the slow (sympy) path of :func:`grade`, per grading process.
FALLBACK_WORKERS = 1
#: :func:`grade_many` grades in the calling process below this many items.
PARALLEL_MIN_ITEMS = 64
#: :func:`grade_many`'s default number of worker processes (never more than the CPUs).
GRADE_MANY_WORKERS = 4

_HUNDREDTH: Node = ("n", Fraction(1, 100), False)
_DEGREE: Node = ("*", (("c", "pi"), ("n", Fraction(1, 180), False)))

_results = ByteLRU(CACHE_BYTES)
_answers = ByteLRU(CACHE_BYTES)

_stats: Counter[str] = Counter()
_stats_lock = threading.Lock()


def _count(*keys: str) -> None:
    with _stats_lock:
        for key in keys:
            _stats[key] += 1


def grader_stats() -> dict[str, int]:
    """Counters of this process's grades since start (or :func:`reset_grader_stats`).

    ``grades``; ``timeouts`` and their causes: ``timeout:deadline`` (the in-process work ran
    out of time), ``timeout:sympy`` (the sympy worker overran and was killed),
    ``timeout:no-worker`` (no sympy worker was ready in time: the fork server was still
    starting, or the worker was busy with other threads' jobs), ``timeout:worker-died``;
    ``sympy_jobs``; and ``unexpected_errors`` (a bug: please report it).

    Examples:
        >>> _ = grade(r"\\boxed{2}", "2")
        >>> grader_stats()["grades"] >= 1
        True
    """
    with _stats_lock:
        return dict(_stats)


def reset_grader_stats() -> None:
    """Set every counter of :func:`grader_stats` back to zero."""
    with _stats_lock:
        _stats.clear()


def _normalized(text: str) -> Normalized:
    norm: Normalized | None = _answers.get(text)
    if norm is None:
        norm = normalize(text)
        _answers.put(text, norm, size=text_size(text, norm.text))
    return norm


_DECIMAL_COMMA = re.compile(r"-?\d+,\d+")


def _readings(norm: Normalized) -> list[Value]:
    value = read_value(norm.text)
    readings = [value]
    if _DECIMAL_COMMA.fullmatch(norm.text):  # 2,74 is also 2.74 (a decimal comma)
        readings.append(read_value(norm.text.replace(",", ".")))
    if norm.percent:
        readings.append(scale(value, _HUNDREDTH))
    if norm.degrees:
        readings.append(scale(value, _DEGREE))
    return readings


def validate_gold(gold: str, *, where: str = "") -> str:
    """Check a gold answer and return the kind of answer it is.

    Environments call this when they load data, so that bad rows fail early and by name.

    Args:
        gold: the reference answer.
        where: a location for the error message, e.g. ``"math500.jsonl, id test/x/1.json"``.

    Returns:
        The kind of answer the gold states: ``expr``, ``set``, ``tuple``, ``union``
        (intervals), ``eq``, ``mat``, ``text``, ``choice``, ``prose`` (words, compared only as
        written), ``raw`` (read by the sympy fallback) or ``big``. A worked solution states
        the answer in its box or after its last answer phrase.

    Raises:
        InvalidGoldError: not a string, empty, unbalanced braces, NUL/surrogates, too long.

    Examples:
        >>> validate_gold(r"\\dfrac{9}{7}")
        'expr'
        >>> validate_gold(r"\\frac{1}{")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.InvalidGoldError: invalid gold answer: unbalanced braces; got ...
    """
    try:
        kind = read_gold(gold).kind
    except InvalidGoldError as error:
        if where:
            raise InvalidGoldError(gold, error.problem, where) from None
        raise
    if kind == "raw" and not isolation.IN_WORKER:
        # This gold will need sympy: have the worker ready before the first grade asks.
        isolation.shared_pool("fallback", FALLBACK_WORKERS).prestart()
    return kind


_NUMBER = re.compile(r"-?\d{1,60}(?:\.\d{1,60})?")


def _plain(answer: Normalized, gold: Normalized) -> bool | None:
    """The verdict of :func:`_compare` on two plain numbers (most answers), else ``None``."""
    if answer.percent or answer.degrees or gold.percent or gold.degrees:
        return None
    if not (_NUMBER.fullmatch(answer.text) and _NUMBER.fullmatch(gold.text)):
        return None
    # Two terminating decimals are compared exactly (see compare._rel_close).
    return Fraction(answer.text) == Fraction(gold.text)


def _compare(answer: Normalized, gold: Normalized) -> tuple[bool, str]:
    first_reason = ""
    for a_value in _readings(answer):
        for g_value in _readings(gold):
            equal, reason = equivalent(a_value, g_value)
            if equal:
                return True, reason
            first_reason = first_reason or reason
    return False, first_reason


def _fallback(answer: str, gold: str, at: float) -> tuple[bool, str, str]:
    """The sympy path; returns ``(equal, reason, timeout cause or "")``."""
    if isolation.IN_WORKER:
        equal, reason = fallback.sympy_equivalent(answer, gold)
        return equal, reason, ""
    remaining = at - time.perf_counter()
    if remaining <= 0:
        return False, "timeout", "deadline"
    _count("sympy_jobs")
    pool = isolation.shared_pool("fallback", FALLBACK_WORKERS)
    try:
        equal, reason = pool.run(fallback.sympy_equivalent, answer, gold, timeout=remaining)
    except isolation.WorkerUnavailable:
        return False, "timeout", "no-worker"
    except isolation.WorkerTimeout:
        return False, "timeout", "sympy"
    except isolation.WorkerCrashed:
        return False, "timeout", "worker-died"
    except RuntimeError:  # the job itself failed in the worker
        return False, "unparseable", ""
    return equal, reason, ""


def _judge(answer: str, gold: str, g_norm: Normalized, at: float) -> tuple[bool, str, str]:
    """Compare an extracted answer with a gold; returns ``(equal, reason, timeout cause)``."""
    key = (answer, gold)
    cached = _results.get(key)
    if cached is not None:
        return cached[0], cached[1], ""
    if len(answer) > MAX_PARSE_CHARS:  # never parsed: compared as written, blanks ignored
        equal = "".join(answer.split()) == "".join(g_norm.text.split())
        return equal, "too-large", ""
    try:
        with deadline.bounded(at):
            a_norm = _normalized(answer)
            if a_norm == g_norm:
                verdict = (True, "exact")
            elif (plain := _plain(a_norm, g_norm)) is not None:
                return plain, "numeric", ""  # cheaper than a cache entry
            else:
                try:
                    verdict = _compare(a_norm, g_norm)
                except NeedsFallback:
                    equal, reason, cause = _fallback(a_norm.text, g_norm.text, at)
                    if cause:
                        return False, reason, cause
                    verdict = (equal, reason)
    except deadline.Expired:
        return False, "timeout", "deadline"
    _results.put(key, verdict, size=text_size(answer, gold))
    return verdict[0], verdict[1], ""


def _limit(timeout: float | None) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"expected timeout > 0 seconds, got {timeout!r}")
    return float(timeout)


def warmup(timeout: float = STARTUP_TIMEOUT) -> None:
    """Start the sympy worker now and wait until it is ready.

    Optional: without it, the worker starts when a grade first needs sympy (or when
    :func:`validate_gold` meets a gold that will), and grades that need it before it is ready
    time out (``timeout:no-worker`` in :func:`grader_stats`).

    Raises:
        GraderUnavailableError: the worker did not start within ``timeout`` seconds.
    """
    pool = isolation.shared_pool("fallback", FALLBACK_WORKERS)
    try:
        pool.run(fallback.warm, timeout=timeout, startup_timeout=timeout)
    except (isolation.WorkerUnavailable, isolation.WorkerTimeout) as error:
        raise GraderUnavailableError(f"the sympy worker is not ready: {error}") from error


def _extractor(
    extractor: Extractor | None, boxed_only: bool | None, box: BoxChoice | None, think: Think | None
) -> Extractor:
    if extractor is None and boxed_only is None and box is None and think is None:
        return DEFAULT
    base = DEFAULT if extractor is None else extractor
    if not isinstance(base, Extractor):
        raise ConfigError(f"expected an Extractor, got {type(base).__name__}")
    same = (
        (boxed_only is None or boxed_only == base.boxed_only)
        and (box is None or box == base.box)
        and (think is None or think == base.think)
    )
    if same:
        return base
    return replace(
        base,
        boxed_only=base.boxed_only if boxed_only is None else boxed_only,
        box=base.box if box is None else box,
        think=base.think if think is None else think,
    )


_warned = threading.Event()


def _unexpected(error: BaseException) -> None:
    """A bug, not the model's fault: counted in :func:`grader_stats`, warned about once."""
    _count("unexpected_errors")
    if not _warned.is_set():
        _warned.set()
        warnings.warn(
            f"the grader hit an unexpected {type(error).__name__}: {error}; the answer was not "
            "credited (counted as unexpected_errors in grader_stats(); please report it)",
            RuntimeWarning,
            stacklevel=3,
        )


def grade(
    response: str,
    gold: str,
    *,
    boxed_only: bool | None = None,
    timeout: float | None = None,
    box: BoxChoice | None = None,
    think: Think | None = None,
    extractor: Extractor | None = None,
) -> Grade:
    """Grade one response against a gold answer.

    Never raises for any ``response`` or ``gold``: a gold it cannot read is a verdict
    (``reason="invalid-gold"``; use :func:`validate_gold` to fail at load time). It returns
    within ``timeout`` plus a few milliseconds for any input, in any thread, inside asyncio
    loops and inside worker processes; a grade that runs out of time is a verdict
    (``correct=False, timed_out=True, reason="timeout"``), never an exception.

    Args:
        response: a full model response, or a bare answer.
        gold: the reference answer: bare LaTeX, plain text, ``$...$``, ``\\boxed{...}``, or a
            worked solution ending in a box.
        boxed_only: only a complete ``\\boxed{}`` counts (the environments' protocol).
        timeout: wall-clock limit in seconds (default :data:`DEFAULT_TIMEOUT`).
        box: with several complete boxes, grade the ``"last"`` (default) or the ``"first"``.
        think: ``"auto"`` (default), ``"open"`` (the prompt opened a ``<think>`` block, so a
            response without ``</think>`` was cut mid-thought) or ``"none"``.
        extractor: a whole extraction pipeline (:class:`~.extract.Extractor`); the three
            options above, when given, override its fields.

    Returns:
        The :class:`~mathattempt_env.types.Grade`; ``source`` says where the answer came from.

    Raises:
        ConfigError: ``timeout``, ``box``, ``think`` or ``extractor`` is not valid.

    Examples:
        >>> g = grade(r"<think>...</think> So $x=\\boxed{\\{2, 1\\}}$", "1, 2")
        >>> g.correct, g.formatted, g.reason, g.source
        (True, True, 'set', 'box')
        >>> grade("Step 1 ... so 3 x $42 = $126.\\nA: 126", "126").source
        'trigger'
        >>> grade("7", r"\\frac{1}{").reason
        'invalid-gold'
    """
    start = time.perf_counter()
    limit = _limit(timeout)
    pipeline = _extractor(extractor, boxed_only, box, think)
    found: Extraction | None = None
    answer: str | None = None
    try:
        info = read_gold(gold)
        found = pipeline.extract(response, info.want)
        answer = found.joined if found.joined is not None and info.parts else found.answer
        if answer is None:
            correct, reason, cause = False, "no-answer", ""
        else:
            correct, reason, cause = _judge(answer, gold, info.norm, start + limit)
    except InvalidGoldError:  # still say whether the response was well formatted
        correct, reason, cause = False, "invalid-gold", ""
        try:
            found = pipeline.extract(response)
        except Exception as error:  # noqa: BLE001 - counted and warned, never silent
            _unexpected(error)
    except Exception as error:  # noqa: BLE001 - counted and warned, never silent
        _unexpected(error)
        correct, reason, cause = False, "unparseable", ""
    _count("grades", *(("timeouts", f"timeout:{cause}") if cause else ()))
    return Grade(
        correct,
        found.formatted if found else False,
        answer,
        reason,
        bool(cause),
        time.perf_counter() - start,
        found.source if found else "none",
    )


def _grade_items(
    items: list[tuple[str, str]], *, timeout: float, extractor: Extractor
) -> list[Grade]:
    return [grade(r, g, timeout=timeout, extractor=extractor) for r, g in items]


def grade_many(
    responses: Sequence[str],
    golds: Sequence[str],
    *,
    workers: int | None = None,
    timeout: float | None = None,
    boxed_only: bool | None = None,
    box: BoxChoice | None = None,
    think: Think | None = None,
    extractor: Extractor | None = None,
    pool: isolation.WorkerPool | None = None,
    deadline: float | None = None,
) -> list[Grade]:
    """Grade many responses in parallel worker processes, keeping input order.

    Takes every option :func:`grade` takes, and like it never raises for a response or a
    gold (a bad gold is an ``invalid-gold`` verdict for its item). Each item gets its own
    ``timeout``; a worker that overruns is killed, and the items it held are graded again
    one by one, so a single pathological response costs one ``timeout`` verdict and nothing
    else. The workers are forked from the grader's fork server (cheap) and closed when the
    call returns.

    Args:
        responses: model responses.
        golds: gold answers, one per response.
        workers: processes to use (default: :data:`GRADE_MANY_WORKERS`, at most the CPU
            count). ``1`` grades in this process.
        timeout: per-item wall-clock limit (default :data:`DEFAULT_TIMEOUT`).
        boxed_only: as in :func:`grade`.
        box: as in :func:`grade`.
        think: as in :func:`grade`.
        extractor: as in :func:`grade`.
        pool: a :class:`~mathattempt_env.grading.isolation.WorkerPool` to grade in (a
            long-lived one, as the grading service and the Ray actors keep); the caller
            closes it. ``workers`` is then its size.
        deadline: seconds the whole call may take: items not graded by then are timeout
            verdicts (``timed_out=True``), so the call returns within ``deadline`` plus one
            item's ``timeout``, whatever the batch holds.

    Raises:
        ConfigError: ``responses`` and ``golds`` differ in length, ``workers < 1``, or an
            option is not valid.

    Examples:
        >>> [g.correct for g in grade_many([r"\\boxed{2}", "3"], ["2", "4"], workers=1)]
        [True, False]
    """
    responses, golds = list(responses), list(golds)
    if len(responses) != len(golds):
        raise ConfigError(
            f"expected as many golds as responses, got {len(golds)} and {len(responses)}"
        )
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"expected workers >= 1, got {workers!r}")
    if deadline is not None and not (isinstance(deadline, (int, float)) and deadline > 0):
        raise ConfigError(f"expected deadline > 0 seconds, got {deadline!r}")
    limit = _limit(timeout)
    pipeline = _extractor(extractor, boxed_only, box, think)
    for gold in golds:
        # Starts the sympy worker early if a gold needs it; a bad gold's verdict is
        # "invalid-gold".
        with contextlib.suppress(InvalidGoldError):
            validate_gold(gold)
    count = (
        pool.size if pool is not None else workers or min(GRADE_MANY_WORKERS, os.cpu_count() or 1)
    )
    alone = (
        pool is None and deadline is None and (count == 1 or len(responses) < PARALLEL_MIN_ITEMS)
    )
    if alone or isolation.IN_WORKER:  # a worker grades in itself (no pools of pools)
        return _grade_items(
            list(zip(responses, golds, strict=True)), timeout=limit, extractor=pipeline
        )

    def timed_out(item: tuple[str, str]) -> Grade:
        found = pipeline.extract(item[0])
        return Grade(False, found.formatted, found.answer, "timeout", True, 0.0, found.source)

    owned = pool is None
    workers_pool = isolation.WorkerPool(count) if pool is None else pool
    try:
        return run_chunks(
            functools.partial(_grade_items, timeout=limit, extractor=pipeline),
            list(zip(responses, golds, strict=True)),
            pool=workers_pool,
            per_item=limit,
            fallback=timed_out,
            deadline=deadline,
        )
    finally:
        if owned:
            workers_pool.close()
