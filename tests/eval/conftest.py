"""Fixtures for the eval tests: a tiny model folder, scripted datasets, a chat server."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("chat_server.py")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Scripted replies by attempt; the last one repeats. Known first-correct attempts:
# alpha: 1, 2, 3, never; beta: 1, never (beta/q1 answers right but without a box: the
# lenient reading credits it at attempt 1).
ALPHA = {
    "What is $1+1$?": ("2", ["So \\boxed{2}."]),
    "What is $2+2$?": ("4", ["So \\boxed{5}.", "So \\boxed{4}."]),
    "What is $3+3$?": ("6", ["So \\boxed{5}.", "So \\boxed{7}.", "So \\boxed{6}."]),
    "What is $4+4$?": ("8", ["I do not know."]),
}
BETA = {
    "What is $5+5$?": ("10", ["It is \\boxed{10}."]),
    "What is $6+6$?": ("12", ["It is 12."]),
}


def write_dataset(path: Path, items: dict) -> Path:
    with path.open("w") as handle:
        for n, (question, (gold, _)) in enumerate(items.items()):
            handle.write(json.dumps({"id": f"q{n}", "problem": question, "answer": gold}) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    from experiments.tiny import tiny_qwen2

    folder = tmp_path_factory.mktemp("tiny-model")
    model, tokenizer = tiny_qwen2()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def scripted(tmp_path):
    """Two JSONL datasets and the scripted replies for every question in them."""
    script = {q: replies for q, (_, replies) in {**ALPHA, **BETA}.items()}
    (tmp_path / "script.json").write_text(json.dumps(script))
    return {
        "alpha": write_dataset(tmp_path / "alpha.jsonl", ALPHA),
        "beta": write_dataset(tmp_path / "beta.jsonl", BETA),
        "script": tmp_path / "script.json",
    }


@contextlib.contextmanager
def chat_server(*args: str):
    """Start chat_server.py in its own process; yield its base URL; stop it."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("READY "), f"server did not start: {line!r}"
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        process.kill()
        process.wait()


# The vLLM stand-in is imported by the tests that ask for it, never by collection (which
# would put a module named ``vllm`` into every test's ``sys.modules``).
collect_ignore = ["vllm_standin"]
