"""Turn a batch generation function into the driver's async ``generate``.

Concurrent episodes each ask for one continuation; :class:`Batcher` gathers the requests that
arrive together and serves them with one call of a batch function (HF ``generate`` on a padded
batch, a vLLM ``generate``), so ``EpisodeDriver.run_many`` batches across episodes.

Example:
    >>> import asyncio
    >>> calls = []
    >>> def echo(prompts, max_new_tokens):
    ...     calls.append(len(prompts))
    ...     return [(p[-1:], None) for p in prompts]
    >>> batcher = Batcher(echo)
    >>> async def main():
    ...     return await asyncio.gather(*(batcher([i, i + 1], 4) for i in range(3)))
    >>> asyncio.run(main()), calls
    ([([1], None), ([2], None), ([3], None)], [3])
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

Output = tuple[list[int], list[float] | None]
BatchResult = list[Output]
BatchFn = Callable[[list[list[int]], int | None], BatchResult]


class Batcher:
    """An async ``generate(prompt_ids, max_new_tokens)`` that batches concurrent requests.

    Args:
        batch_fn: ``batch_fn(prompts, max_new_tokens) -> [(new_ids, logprobs | None), ...]``,
            one result per prompt. It gets the largest limit of the batch; each result is
            cut to its own request's limit.
        max_batch: the most prompts in one call (``None``: no limit).
    """

    def __init__(self, batch_fn: BatchFn, *, max_batch: int | None = None) -> None:
        self.batch_fn = batch_fn
        self.max_batch = max_batch
        self._pending: list[tuple[list[int], int | None, asyncio.Future[Output]]] = []
        self._flush: asyncio.Task[None] | None = None

    async def __call__(
        self, prompt_ids: Sequence[int], max_new_tokens: int | None = None
    ) -> Output:
        """Queue one request; resolves when its batch has been generated."""
        future: asyncio.Future[Output] = asyncio.get_running_loop().create_future()
        self._pending.append((list(prompt_ids), max_new_tokens, future))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.ensure_future(self._serve())
        return await future

    async def _serve(self) -> None:
        # Let every episode that is ready to generate queue its request first.
        for _ in range(3):
            await asyncio.sleep(0)
        while self._pending:
            size = self.max_batch or len(self._pending)
            batch, self._pending = self._pending[:size], self._pending[size:]
            limits = [limit for _, limit, _ in batch]
            largest = None if None in limits else max(limits)  # type: ignore[type-var]
            try:
                results = self.batch_fn([prompt for prompt, _, _ in batch], largest)
                if len(results) != len(batch):
                    raise ValueError(
                        f"batch_fn returned {len(results)} results for {len(batch)} prompts"
                    )
            except BaseException as error:  # every waiting episode sees the failure
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, limit, future), (ids, logprobs) in zip(batch, results, strict=True):
                if future.done():  # its episode was cancelled while the batch ran
                    continue
                ids = list(ids)[:limit] if limit is not None else list(ids)
                kept = None if logprobs is None else list(logprobs)[: len(ids)]
                future.set_result((ids, kept))
