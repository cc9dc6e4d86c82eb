"""The vllm backend against a stand-in for vLLM's offline API, backed by the tiny model.

vLLM needs CUDA and cannot be installed here; the stand-in has the signatures the backend
uses (``LLM(model=, seed=)``, ``get_tokenizer()``, ``generate(prompts, params, use_tqdm=)``
with ``{"prompt_token_ids": ...}`` prompts, ``SamplingParams(temperature=, max_tokens=, stop=, include_stop_str_in_output=)``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from mathattempt_env.eval.backends import BackendError, VLLMBackend
from mathattempt_env.eval.results import read_results
from mathattempt_env.eval.runner import EvalConfig, run_eval

from .conftest import DATA

pytestmark = pytest.mark.needs_shared


STANDIN = Path(__file__).with_name("vllm_standin")


@pytest.fixture
def fake_vllm(monkeypatch, tiny_dir):
    """vLLM's offline API backed by the tiny model (``vllm_standin``); yields its batch sizes."""
    monkeypatch.syspath_prepend(str(STANDIN))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    import vllm

    vllm.calls.clear()
    vllm.stops.clear()
    yield vllm.calls
    sys.modules.pop("vllm", None)


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
