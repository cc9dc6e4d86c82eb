"""Generation with a local ``transformers`` model, batched across concurrent episodes.

Needs ``torch`` and ``transformers`` (the ``trl`` extra). Sampling uses a seeded torch
generator state of its own; the global torch RNG is left as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mathattempt_env.rollout.batching import Batcher, BatchResult
from mathattempt_env.rollout.turns import cut_at_stop


class HFGenerator(Batcher):
    """The driver's ``generate`` for a causal LM: left-padded batches, stop at end of turn.

    Args:
        model: a ``transformers`` causal LM.
        tokenizer: its tokenizer (pad and eos tokens set).
        temperature: sampling temperature; 0 means greedy.
        top_p: nucleus sampling mass.
        max_new_tokens: the per-call cap when the driver gives none.
        seed: seeds sampling; each batch draws from a torch generator state kept here.
        max_batch: the most prompts per ``model.generate`` call.
        generate_kwargs: more keyword arguments for ``model.generate`` (e.g. ``top_k``).

    Examples:
        >>> import gymnasium as gym
        >>> from mathattempt_env.rollout import EpisodeDriver
        >>> from experiments.tiny import tiny_qwen2
        >>> model, tokenizer = tiny_qwen2()
        >>> driver = EpisodeDriver(tokenizer, HFGenerator(model, tokenizer, seed=0),
        ...                        max_total_tokens=12)
        >>> envs = [gym.make("MultiAttemptMath-v0") for _ in range(4)]
        >>> episodes = driver.run_many(envs, seeds=[0, 1, 2, 3])
        >>> all(sum(e.response_mask) <= 12 for e in episodes)
        True
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 1024,
        seed: int | None = None,
        max_batch: int | None = None,
        generate_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(self.generate_batch, max_batch=max_batch)
        self.generate_kwargs = dict(generate_kwargs or {})
        self.model, self.tokenizer = model, tokenizer
        self.temperature, self.top_p = temperature, top_p
        self.default_max_new_tokens = max_new_tokens
        self._rng_state: Any = None
        if seed is not None:
            import torch

            self._rng_state = torch.Generator().manual_seed(seed).get_state()

    def generate_batch(
        self, prompts: list[list[int]], max_new_tokens: int | None, stop: Sequence[str] = ()
    ) -> BatchResult:
        """Generate one continuation per prompt in one padded ``model.generate`` call.

        With ``stop`` strings, a row stops generating once its text holds one (HF's
        ``StopStringCriteria``), and is cut right after it.
        """
        import torch

        limit = self.default_max_new_tokens if max_new_tokens is None else max_new_tokens
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        width = max(len(p) for p in prompts)
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        sample = self.temperature > 0
        options: dict[str, Any] = {"do_sample": sample}
        if sample:
            options.update(temperature=self.temperature, top_p=self.top_p, top_k=0)
        if stop:
            options.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            if self._rng_state is not None:
                torch.set_rng_state(self._rng_state)
            out = self.model.generate(
                input_ids=input_ids.to(self.model.device),
                attention_mask=attention.to(self.model.device),
                max_new_tokens=limit,
                pad_token_id=pad,
                eos_token_id=eos,
                return_dict_in_generate=True,
                output_scores=True,
                **options,
                **self.generate_kwargs,
            )
            if self._rng_state is not None:
                self._rng_state = torch.get_rng_state()
        new = out.sequences[:, width:].cpu()
        scores = torch.stack(out.scores, dim=1).float().log_softmax(-1).cpu()
        results: BatchResult = []
        for row in range(len(prompts)):
            ids = new[row].tolist()
            if eos in ids:
                ids = ids[: ids.index(eos) + 1]
            ids = cut_at_stop(self.tokenizer, ids, stop)
            picked = scores[row, torch.arange(len(ids)), torch.tensor(ids, dtype=torch.long)]
            results.append((ids, picked.tolist()))
        return results
