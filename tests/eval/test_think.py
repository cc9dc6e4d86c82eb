"""A chat template that opens ``<think>``: replies without ``</think>`` were cut mid-thought."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from mathattempt_env.eval.backends import Reply, _TemplatedBackend
from mathattempt_env.eval.results import read_results
from mathattempt_env.eval.runner import EvalConfig, run_eval


class _Tokenizer:
    def __init__(self, generation_prompt: str) -> None:
        self.generation_prompt = generation_prompt

    def apply_chat_template(self, messages: list[dict[str, str]], **kwargs: Any) -> str:
        turns = "".join(f"<|{m['role']}|>{m['content']}" for m in messages)
        return turns + self.generation_prompt


def _backend(generation_prompt: str) -> _TemplatedBackend:
    backend = _TemplatedBackend()
    backend.tokenizer = _Tokenizer(generation_prompt)
    return backend


def test_the_backend_sees_whether_its_template_opens_a_think_block() -> None:
    assert _backend("<|Assistant|><think>\n").opens_think
    assert not _backend("<|im_start|>assistant\n").opens_think


class _Scripted:
    """Replies as a model under an R1-style template would: thinking first, maybe cut."""

    name = "scripted-r1"

    def __init__(self, opens_think: bool, replies: dict[str, str]) -> None:
        self.opens_think = opens_think
        self.replies = replies

    async def chat(self, messages: list[dict[str, str]], max_tokens: int) -> Reply:
        question = next(m["content"] for m in messages if m["role"] == "user")
        text = next(r for q, r in self.replies.items() if q in question)
        return Reply(text, len(text) // 4, cut=False)

    async def aclose(self) -> None:
        pass


def _run(tmp_path: Path, opens_think: bool) -> dict[str, dict[str, Any]]:
    data = tmp_path / "q.jsonl"
    rows = [("q0", "What is $1+1$?", "2"), ("q1", "What is $2+2$?", "4")]
    data.write_text(
        "".join(json.dumps({"id": i, "problem": p, "answer": a}) + "\n" for i, p, a in rows)
    )
    replies = {
        "1+1": "Try \\boxed{2} first... no, let me keep thinking",  # cut inside <think>
        "2+2": "2 and 2 make 4.</think> So the answer is \\boxed{4}.",
    }
    out = tmp_path / f"run-{opens_think}"
    config = EvalConfig(env="MultiAttemptMath-v0", datasets=[str(data)], ks=[1], out=out,
                        model="scripted", backend="custom", max_tokens=4000, progress=False)  # fmt: skip
    asyncio.run(run_eval(config, _Scripted(opens_think, replies)))
    return {r["problem_id"]: r for r in read_results(out)}


def test_an_interim_box_inside_an_open_think_block_is_not_credited(tmp_path: Path) -> None:
    records = _run(tmp_path, opens_think=True)
    assert records["q0"]["first_correct"] is None  # the box was inside the thinking
    assert records["q0"]["lenient_first_correct"] is None
    assert records["q1"]["first_correct"] == 1
    # Without the template's open tag the same text is read as it stands.
    assert _run(tmp_path, opens_think=False)["q0"]["first_correct"] == 1
