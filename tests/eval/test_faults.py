"""`mathattempt eval` against a hostile server and a damaged output folder.

Every fault is injected by the loopback chat server of chat_server.py, on request 6 of a
20-episode run; retries use a 10 ms backoff so the tests stay fast.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from mathattempt_env.eval.results import REJECTED, RESULTS, read_results

from .conftest import chat_server
from .test_cli import CLI, keys, run_cli

N = 20


@pytest.fixture
def twenty(tmp_path: Path) -> dict[str, Path]:
    """A 20-problem dataset and a scripted policy that answers each one right."""
    script, rows = {}, []
    for n in range(N):
        question = f"What is ${n}+{n}$?"
        rows.append(json.dumps({"id": f"p{n}", "problem": question, "answer": str(2 * n)}))
        script[question] = [f"It is \\boxed{{{2 * n}}}."]
    (tmp_path / "twenty.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "script.json").write_text(json.dumps(script))
    return {"data": tmp_path / "twenty.jsonl", "script": tmp_path / "script.json"}


def args_for(twenty: dict[str, Path], url: str, out: Path, *extra: str) -> list[str]:
    return ["--dataset", str(twenty["data"]), "--model", "scripted", "--backend", "openai",
            "--base-url", url, "--out", str(out), "--attempts", "1", "--retries", "2",
            "--backoff", "0.01", *extra]  # fmt: skip


@pytest.mark.parametrize(
    "fault",
    ["json", "html", "cut", "utf8", "empty-choices", "no-usage", "infinity", "negative",
     "redirect-loop", "status-line", "huge-header"],
)  # fmt: skip
def test_one_bad_reply_is_retried_and_the_run_completes(fault, twenty, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(twenty["script"]), "--fault", fault, "--fault-at", "6") as url:
        status, summary, err = run_cli(args_for(twenty, url, out), capsys)
    assert status == 0, err
    records = read_results(out)
    assert len(records) == N and all(r["status"] == "done" and r["correct"] for r in records)
    assert f"| twenty | {N} | 100.0 |" in summary


def test_any_string_the_model_produces_round_trips(twenty, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(twenty["script"]), "--fault", "surrogate",
                     "--fault-at", "1", "--fault-times", str(N)) as url:  # fmt: skip
        status, _, err = run_cli(args_for(twenty, url, out), capsys)
    assert status == 0, err
    replies = [r["transcript"][-1]["content"] for r in read_results(out)]
    assert len(replies) == N and all(reply.endswith("\ud800") for reply in replies)
    assert (out / RESULTS).read_bytes().isascii()


@pytest.mark.parametrize("fault", ["infinity", "redirect-loop", "status-line", "huge-header"])
def test_a_fault_on_every_try_fails_one_episode_not_the_run(fault, twenty, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(twenty["script"]), "--fault", fault, "--fault-at", "6",
                     "--fault-times", "3") as url:  # fmt: skip
        status, summary, err = run_cli(args_for(twenty, url, out, "--concurrency", "1"), capsys)
    assert status == 3, err
    records = read_results(out)
    assert len(records) == N and sum(r["status"] == "failed" for r in records) == 1
    assert f"| twenty | {N - 1} | 100.0 |" in summary


def test_an_episode_whose_retries_run_out_is_recorded_and_rerun(twenty, tmp_path, capsys):
    out = tmp_path / "run"
    # Requests 6, 7 and 8 are bad: with two retries, one episode spends all three tries.
    with chat_server("--script", str(twenty["script"]), "--fault", "json", "--fault-at", "6",
                     "--fault-times", "3") as url:  # fmt: skip
        status, summary, err = run_cli(args_for(twenty, url, out, "--concurrency", "1"), capsys)
    assert status == 3
    assert "1 episode(s) failed" in err and "run the same command to retry them" in err
    failed = [r for r in read_results(out) if r["status"] == "failed"]
    assert len(failed) == 1 and "no answer after 3 tries; last: BadReply" in failed[0]["error"]
    assert f"| twenty | {N - 1} | 100.0 |" in summary
    assert "Failed episodes" in summary and "twenty 1" in summary
    # The re-run retries the failed episode only.
    before = len((out / RESULTS).read_text().splitlines())
    with chat_server("--script", str(twenty["script"])) as url:
        status, summary, err = run_cli(args_for(twenty, url, out), capsys)
    assert status == 0, err
    assert len((out / RESULTS).read_text().splitlines()) == before + 1
    assert all(r["status"] == "done" for r in read_results(out))
    assert f"| twenty | {N} | 100.0 |" in summary and "Failed episodes" not in summary


def test_a_corrupted_line_is_set_aside_and_its_episode_rerun(twenty, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(twenty["script"])) as url:
        assert run_cli(args_for(twenty, url, out), capsys)[0] == 0
        lines = (out / RESULTS).read_bytes().splitlines(keepends=True)
        lines[6] = b'{"key": "twenty/p6", "dataset": "twe\xff\n'  # garbage mid-file
        (out / RESULTS).write_bytes(b"".join(lines))
        status, summary, err = run_cli(args_for(twenty, url, out), capsys)
    assert status == 0, err
    assert "results.jsonl lines 7 were not records" in err
    assert json.loads((out / REJECTED).read_text())["line"] == 7
    assert sorted(keys(out)) == sorted(f"twenty/p{n}" for n in range(N))
    assert f"| twenty | {N} | 100.0 |" in summary


def test_a_second_writer_of_one_folder_is_refused(twenty, tmp_path):
    out = tmp_path / "run"
    with chat_server("--script", str(twenty["script"]), "--delay", "0.2") as url:
        args = [*CLI, "eval", "--no-progress", *args_for(twenty, url, out, "--concurrency", "1")]
        first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while len(keys(out)) < 1 and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run(args, capture_output=True, text=True, timeout=60)
        first.wait(timeout=120)
    assert second.returncode == 2
    assert f"--out: {out} is being written by another mathattempt eval (pid {first.pid})" in (
        second.stderr
    )
    assert first.returncode == 0
    assert sorted(keys(out)) == sorted(f"twenty/p{n}" for n in range(N))  # no duplicates
    assert len((out / RESULTS).read_text().splitlines()) == N


def test_a_rerun_with_nothing_to_do_needs_no_model(twenty, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(twenty["script"])) as url:
        assert run_cli(args_for(twenty, url, out), capsys)[0] == 0
    # The server is gone: a run that needed it would fail to connect.
    status, summary, err = run_cli(args_for(twenty, "http://127.0.0.1:9/v1", out), capsys)
    assert status == 0, err
    assert f"| twenty | {N} | 100.0 |" in summary
    hf = ["--dataset", str(twenty["data"]), "--model", str(tmp_path / "no-such-model"),
          "--out", str(out), "--attempts", "1"]  # fmt: skip
    assert run_cli(hf, capsys)[0] == 2  # another configuration: refused, not loaded


def test_a_timeout_after_every_retry_is_a_failed_episode(twenty, tmp_path, capsys):
    with chat_server("--script", str(twenty["script"]), "--delay", "2") as url:
        status, _, err = run_cli(
            args_for(twenty, url, tmp_path / "run", "--limit", "1", "--timeout", "0.3",
                     "--retries", "1"), capsys
        )  # fmt: skip
    assert status == 3, err
    [record] = read_results(tmp_path / "run")
    assert record["status"] == "failed"
    assert "no answer after 2 tries; last:" in record["error"] and "Timeout" in record["error"]
