"""`mathattempt eval --env ToolMath-v0`: tool calls through each backend, and the tool summary.

The scripted server imagines tool output after its ```` ```output ```` line; the backends
must stop there (the server cuts at ``stop`` as vLLM does), the env runs the code in the
sandbox, and the next request continues the same assistant message after the real output.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from mathattempt_env.eval.backends import HFBackend
from mathattempt_env.eval.results import read_results

from .conftest import chat_server, write_dataset
from .test_cli import run_cli

CALL = "Let me compute.\n```python\n{code}\n```\n```output\nIMAGINED 41\n```\nand more"
TOOL = {
    "What is $7 \\times 6$?": ("42", [CALL.format(code="print(7 * 6)"), "So \\boxed{42}."]),
    "What is $1/0$?": ("0", [CALL.format(code="print(1 / 0)"), "So \\boxed{1}."]),
    "What is $2+3$?": ("5", ["Easy: \\boxed{5}."]),
}


@pytest.mark.parametrize("drop_stop", [False, True], ids=["kept", "dropped"])
@pytest.mark.needs_sandbox
def test_tool_calls_continue_the_turn_and_are_summarized(tmp_path, capsys, drop_stop):
    data = write_dataset(tmp_path / "tool.jsonl", TOOL)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({q: replies for q, (_, replies) in TOOL.items()}))
    out = tmp_path / "run"
    flags = ["--drop-stop"] if drop_stop else []
    with chat_server("--script", str(script), *flags) as url:
        status, summary, _ = run_cli(
            ["--env", "ToolMath-v0", "--backend", "openai", "--base-url", url, "--model", "tiny",
             "--dataset", data, "--attempts", "1", "--out", out],
            capsys,
        )  # fmt: skip
    assert status == 0, summary
    by_key = {r["key"]: r for r in read_results(out)}
    solved = by_key["tool/q0"]
    final = solved["transcript"][-1]["content"]
    assert final == (
        "Let me compute.\n```python\nprint(7 * 6)\n```\n```output\n42\n```\nSo \\boxed{42}."
    )  # the imagined output never reached the env; the real one did, in the same turn
    assert solved["correct"] and [c["status"] for c in solved["tool_calls"]] == ["ok"]
    failed = by_key["tool/q1"]
    assert "ZeroDivisionError: division by zero" in failed["transcript"][-1]["content"]
    assert [c["status"] for c in failed["tool_calls"]] == ["error"]
    assert by_key["tool/q2"]["tool_calls"] == [] and by_key["tool/q2"]["correct"]
    lines = summary.splitlines()
    assert "| tool | 0.67 | 50.0 | 0.0 | 0 | 50.0 (2) | 100.0 (1) |" in lines, summary


def test_the_local_backend_continues_an_assistant_message(tiny_dir):
    backend = HFBackend(str(tiny_dir), device="cpu")
    messages = [
        {"role": "user", "content": "What is 6*7?"},
        {"role": "assistant", "content": "```python\nprint(6*7)\n```\n```output\n42\n```\n"},
    ]
    text = backend.render(messages)
    assert text.endswith("<|im_start|>assistant\n" + messages[-1]["content"])
    fresh = backend.render(messages[:1])
    assert text.startswith(fresh) and fresh.endswith("<|im_start|>assistant\n")
    reply = asyncio.run(backend.chat(messages, max_tokens=8, stop=("e",)))
    assert reply.tokens <= 8 and ("e" not in reply.text or reply.text.count("e") == 1)
