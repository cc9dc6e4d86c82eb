"""Run a batch in a worker pool, chunk by chunk, each bounded in time: the grader's batch engine.

:func:`run_chunks` splits items into chunks, runs ``fn(chunk)`` for each in a
:class:`~mathattempt_env.grading.isolation.WorkerPool` worker (several at once), and bounds
every chunk: a chunk that overruns its budget (one item's limit plus a little per item), or
whose worker dies, is run again item by item, and an item that fails alone gets
``fallback(item)``. With a ``deadline`` the whole
call ends by it (plus one item's budget): items not started by then get ``fallback`` too.
:func:`~mathattempt_env.grading.grade_many`, the grading service and the Ray grading actors
all batch through it.

Examples:
    >>> from mathattempt_env.grading.isolation import WorkerPool
    >>> pool = WorkerPool(2)
    >>> run_chunks(_double, list(range(100)), pool=pool, per_item=1.0, fallback=lambda x: None)[:3]
    [0, 2, 4]
    >>> pool.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mathattempt_env.grading import isolation

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Seconds a batch may wait for the fork server's first start, not counted against any item.
STARTUP_TIMEOUT = 120.0

#: The most items in one chunk, and the time a chunk may take per item beyond one item's
#: whole limit. A chunk's budget is ``per_item + PER_ITEM_SLACK * size``: a batch of normal
#: items finishes far inside it, and a chunk holding an item that overruns (one that ignores
#: its limit inside a worker) is killed after seconds, not after ``per_item * size``, and run
#: again item by item, each with its own limit: the same results, bounded.
CHUNK_ITEMS = 64
PER_ITEM_SLACK = 0.05

#: What a chunk's failure raises (the chunk is then run item by item).
FAILURES = (TimeoutError, isolation.WorkerCrashed, RuntimeError)


def _double(chunk: list[int]) -> list[int]:
    return [2 * x for x in chunk]


def run_chunks(
    fn: Callable[[list[Item]], list[Result]],
    items: Sequence[Item],
    *,
    pool: isolation.WorkerPool,
    per_item: float,
    fallback: Callable[[Item], Result],
    deadline: float | None = None,
) -> list[Result]:
    """``fn`` over ``items`` in ``pool``'s workers, in order; see the module docstring.

    Args:
        fn: a picklable function of a list of items returning one result per item.
        items: the batch.
        pool: the workers (the caller owns and closes it).
        per_item: seconds one item may take (see :data:`PER_ITEM_SLACK` for a chunk's).
        fallback: the result of an item that could not be run in time (called here).
        deadline: seconds the whole call may take (``None``: no limit but the items').
    """
    items = list(items)
    end = None if deadline is None else time.monotonic() + deadline
    workers = pool.size
    size = min(CHUNK_ITEMS, max(8, -(-len(items) // (4 * workers))))
    spans = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]

    def left() -> float:
        return float("inf") if end is None else end - time.monotonic()

    def run(chunk: list[Item], budget: float) -> list[Result]:
        result: list[Result] = pool.run(
            fn, chunk, timeout=budget, startup_timeout=min(STARTUP_TIMEOUT, max(left(), 0.01))
        )
        return result

    def run_span(span: tuple[int, int]) -> list[Result]:
        lo, hi = span
        budget = min(per_item + PER_ITEM_SLACK * (hi - lo), left())
        if budget > 0:
            try:
                return run(items[lo:hi], budget)
            except FAILURES:
                pass
        out = []
        for item in items[lo:hi]:
            budget = min(per_item + 0.25, left())
            try:
                if budget <= 0:
                    raise TimeoutError
                out.append(run([item], budget)[0])
            except FAILURES:
                out.append(fallback(item))
        return out

    with ThreadPoolExecutor(max_workers=workers) as executor:
        return [result for chunk in executor.map(run_span, spans) for result in chunk]
