"""Turn a batch generation function into the driver's async ``generate``.

Concurrent episodes each ask for one continuation; :class:`Batcher` gathers the requests that
arrive together and serves them with one call of a batch function (HF ``generate`` on a padded
batch, a vLLM ``generate``), so ``EpisodeDriver.run_many`` batches across episodes. Requests
with stop strings (a tool call's ``"```output"``) are batched with requests that have the
same ones, and a batch function that takes ``stop`` gets them, to stop generating there.

Examples:
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

from mathattempt_env.rollout.turns import accepts

Output = tuple[list[int], list[float] | None]
BatchResult = list[Output]
BatchFn = Callable[..., BatchResult]
_Request = tuple[list[int], int | None, tuple[str, ...], "asyncio.Future[Output]"]


class Batcher:
    """An async ``generate(prompt_ids, max_new_tokens)`` that batches concurrent requests.

    Args:
        batch_fn: ``batch_fn(prompts, max_new_tokens[, stop=strings]) -> [(new_ids,
            logprobs | None), ...]``, one result per prompt. It gets the largest limit of the
            batch; each result is cut to its own request's limit.
        max_batch: the most prompts in one call (``None``: no limit).
    """

    def __init__(self, batch_fn: BatchFn, *, max_batch: int | None = None) -> None:
        self.batch_fn = batch_fn
        self.max_batch = max_batch
        self._pass_stop = accepts(batch_fn, "stop")
        self._pending: list[_Request] = []
        self._flush: asyncio.Task[None] | None = None

    async def __call__(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> Output:
        """Queue one request; resolves when its batch has been generated."""
        future: asyncio.Future[Output] = asyncio.get_running_loop().create_future()
        self._pending.append((list(prompt_ids), max_new_tokens, tuple(stop), future))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.ensure_future(self._serve())
        return await future

    async def _serve(self) -> None:
        # Let every episode that is ready to generate queue its request first.
        for _ in range(3):
            await asyncio.sleep(0)
        while self._pending:
            stop, size = self._pending[0][2], self.max_batch or len(self._pending)
            batch: list[_Request] = []
            rest: list[_Request] = []
            for request in self._pending:
                (batch if request[2] == stop and len(batch) < size else rest).append(request)
            self._pending = rest
            limits = [limit for _, limit, _, _ in batch]
            largest = None if None in limits else max(limits)  # type: ignore[type-var]
            kwargs = {"stop": stop} if stop and self._pass_stop else {}
            try:
                results = self.batch_fn([prompt for prompt, _, _, _ in batch], largest, **kwargs)
                if len(results) != len(batch):
                    raise ValueError(
                        f"batch_fn returned {len(results)} results for {len(batch)} prompts"
                    )
            except BaseException as error:  # every waiting episode sees the failure
                for _, _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, limit, _, future), (ids, logprobs) in zip(batch, results, strict=True):
                if future.done():  # its episode was cancelled while the batch ran
                    continue
                ids = list(ids)[:limit] if limit is not None else list(ids)
                kept = None if logprobs is None else list(logprobs)[: len(ids)]
                future.set_result((ids, kept))
