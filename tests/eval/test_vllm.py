"""The vllm backend against a stand-in for vLLM's offline API, backed by the tiny model.

vLLM needs CUDA and cannot be installed here; the stand-in has the signatures the backend
uses (``LLM(model=, seed=)``, ``get_tokenizer()``, ``generate(prompts, params, use_tqdm=)``
with ``{"prompt_token_ids": ...}`` prompts, ``SamplingParams(temperature=, max_tokens=, stop=, include_stop_str_in_output=)``).
"""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path

import pytest

from mathattempt_env.eval.backends import BackendError, VLLMBackend
from mathattempt_env.eval.results import read_results
from mathattempt_env.eval.runner import EvalConfig, run_eval

from .conftest import DATA

pytestmark = pytest.mark.needs_shared


@pytest.fixture
def fake_vllm(monkeypatch, tiny_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    calls = []
    stops = []

    class SamplingParams:
        def __init__(self, temperature: float, max_tokens: int, stop=None,
                     include_stop_str_in_output: bool = False) -> None:  # fmt: skip
            self.temperature, self.max_tokens = temperature, max_tokens
            self.stop, self.include_stop_str_in_output = stop, include_stop_str_in_output

    class LLM:
        def __init__(self, model: str, seed: int) -> None:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = AutoModelForCausalLM.from_pretrained(model)

        def get_tokenizer(self):
            return self.tokenizer

        def generate(self, prompts, params, use_tqdm):
            calls.append(len(prompts))
            stops.append(params.stop)
            outputs = []
            for prompt in prompts:
                ids = torch.tensor([prompt["prompt_token_ids"]])
                new = self.model.generate(ids, max_new_tokens=params.max_tokens, do_sample=False,
                                          eos_token_id=self.tokenizer.eos_token_id,
                                          pad_token_id=self.tokenizer.pad_token_id)[0, ids.shape[1]:]  # fmt: skip
                completion = types.SimpleNamespace(token_ids=new.tolist())
                outputs.append(types.SimpleNamespace(outputs=[completion]))
            return outputs

    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = LLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    module.stops = stops  # the stop strings of each generate call
    return calls


def test_vllm_backend_batches_concurrent_episodes(fake_vllm, tiny_dir, tmp_path):
    config = EvalConfig(env="MultiAttemptMath-v0", datasets=["math500"], ks=[1, 2],
                        out=tmp_path / "run", model=str(tiny_dir), backend="vllm",
                        max_tokens=20, concurrency=4, limit=4, data_dir=str(DATA),
                        progress=False)  # fmt: skip
    asyncio.run(run_eval(config, VLLMBackend(str(tiny_dir), batch_size=4)))
    records = read_results(Path(tmp_path / "run"))
    assert len(records) == 4 and all(r["tokens"] <= 20 for r in records)
    assert max(fake_vllm) > 1  # concurrent episodes shared generate calls


@pytest.mark.needs_sandbox
def test_vllm_backend_stops_at_tool_calls_of_the_tool_env(fake_vllm, tiny_dir, tmp_path):
    config = EvalConfig(env="ToolMath-v0", datasets=["math500"], ks=[1], out=tmp_path / "run",
                        model=str(tiny_dir), backend="vllm", max_tokens=20, concurrency=2,
                        limit=2, data_dir=str(DATA), progress=False)  # fmt: skip
    summary = asyncio.run(run_eval(config, VLLMBackend(str(tiny_dir), batch_size=2)))
    assert sys.modules["vllm"].stops and all(s == ["```output"] for s in sys.modules["vllm"].stops)
    records = read_results(Path(tmp_path / "run"))
    assert len(records) == 2 and all("tool_calls" in r for r in records)
    assert set(summary["tool"]) == {"math500"}


def test_missing_vllm_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(BackendError, match="vLLM is not installed"):
        VLLMBackend("any")
