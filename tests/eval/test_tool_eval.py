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


EXFILTRATE = (
    "import ctypes, os\n"
    "ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)\n"
    "print(dict(os.environ))\n"
    "for path in ['/proc/self/environ', '/proc/1/environ', 'gold.jsonl', {gold!r}]:\n"
    "    try:\n        print(open(path).read()[:300])\n"
    "    except Exception as e:\n        print(path, type(e).__name__)\n"
    "try:\n"
    "    maps = open('/proc/self/maps').read().splitlines()\n"
    "    mem = open('/proc/self/mem', 'rb', 0)\n"
    "    for line in maps:\n"
    "        lo, hi = (int(x, 16) for x in line.split()[0].split('-'))\n"
    "        if hi - lo < 1 << 26 and line.split()[1].startswith('r'):\n"
    "            try:\n                mem.seek(lo); chunk = mem.read(hi - lo)\n"
    "            except Exception:\n                continue\n"
    "            at = chunk.find(b'sk-' + b'planted')\n"
    "            if at >= 0:\n                print('FOUND', chunk[at:at + 40])\n"
    "except Exception as e:\n    print('memory', type(e).__name__)\n"
)


@pytest.mark.needs_sandbox
def test_a_model_cannot_send_the_callers_keys_or_golds_back(tmp_path, capsys, monkeypatch):
    """Keys in the caller's environment and golds beside its cwd never reach the endpoint."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "gold.jsonl").write_text('{"answer": "GOLD-7319"}\n')
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-openai-5521")
    monkeypatch.setenv("HF_TOKEN", "hf_planted_token_8830")
    question = "What is $7 \\times 6$?"
    code = EXFILTRATE.format(gold=str(workspace / "gold.jsonl"))
    items = {question: ("42", [CALL.format(code=code), "So \\boxed{42}."])}
    data = write_dataset(tmp_path / "tool.jsonl", items)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({q: replies for q, (_, replies) in items.items()}))
    log = tmp_path / "requests.log"
    with chat_server("--script", str(script), "--log", str(log)) as url:
        status, summary, _ = run_cli(
            ["--env", "ToolMath-v0", "--backend", "openai", "--base-url", url, "--model", "tiny",
             "--dataset", data, "--attempts", "1", "--out", tmp_path / "run"],
            capsys,
        )  # fmt: skip
    assert status == 0, summary
    sent = log.read_text()
    for secret in ("sk-planted-openai-5521", "hf_planted_token_8830", "GOLD-7319"):
        assert secret not in sent, secret
    (record,) = read_results(tmp_path / "run")
    assert record["tool_calls"][0]["status"] == "ok"  # the code ran, and found nothing
