"""A stand-in for vLLM's offline API (``LLM``, ``SamplingParams``), backed by transformers.

vLLM needs CUDA; this module has the two names and the call shapes the eval's vllm backend
uses, and generates greedily with the local model folder it is given, so the backend's own
code runs unchanged on a CPU. Put this folder first on ``sys.path`` (or ``PYTHONPATH``).
``calls`` holds each ``generate`` call's batch size and ``stops`` its stop strings.
"""

from __future__ import annotations

import types
from typing import Any

calls: list[int] = []
stops: list[Any] = []


class SamplingParams:
    def __init__(
        self,
        temperature: float,
        max_tokens: int,
        stop: list[str] | None = None,
        include_stop_str_in_output: bool = False,
    ) -> None:
        self.temperature, self.max_tokens = temperature, max_tokens
        self.stop, self.include_stop_str_in_output = stop, include_stop_str_in_output


class LLM:
    def __init__(self, model: str, seed: int) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForCausalLM.from_pretrained(model)

    def get_tokenizer(self) -> Any:
        return self.tokenizer

    def generate(self, prompts: list[dict[str, Any]], params: SamplingParams, use_tqdm: bool):
        import torch

        calls.append(len(prompts))
        stops.append(params.stop)
        outputs = []
        for prompt in prompts:
            ids = torch.tensor([prompt["prompt_token_ids"]])
            new = self.model.generate(
                ids,
                max_new_tokens=params.max_tokens,
                do_sample=False,
                eos_token_id=self.tokenizer.eos_token_id,
                pad_token_id=self.tokenizer.pad_token_id,
            )[0, ids.shape[1] :]
            completion = types.SimpleNamespace(token_ids=new.tolist())
            outputs.append(types.SimpleNamespace(outputs=[completion]))
        return outputs
