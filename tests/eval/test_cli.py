"""`mathattempt eval` end to end: the tiny model, scripted policies, resume, errors, plot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathattempt_env.cli import main
from mathattempt_env.eval.results import read_results

from .conftest import DATA, chat_server

CLI = [sys.executable, "-m", "mathattempt_env.cli"]


def run_cli(args, capsys):
    status = main(["eval", "--no-progress", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def keys(out: Path) -> list[str]:
    return [r["key"] for r in read_results(out)]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --- the hf backend: a tiny random Qwen2 model built here ----------------------------------


@pytest.mark.needs_shared
def test_hf_backend_whole_run_resume_and_outputs(tiny_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--dataset", "math500", "--dataset", "aime24", "--data-dir", DATA, "--limit", "3",
            "--model", tiny_dir, "--backend", "hf", "--out", out, "--attempts", "1-3",
            "--max-tokens", "40", "--concurrency", "4"]  # fmt: skip
    status, summary, err = run_cli(args, capsys)
    assert status == 0
    assert "Loading weights" not in err and "%|" not in err  # no weight-loading progress bars
    records = read_results(out)
    assert sorted(r["dataset"] for r in records) == ["aime24"] * 3 + ["math500"] * 3
    for record in records:
        assert record["tokens"] <= 40
        assert record["attempts"] == len(
            [m for m in record["transcript"] if m["role"] == "assistant"]
        )
        assert 1 <= record["attempts"] <= 3
        assert record["model"] == str(tiny_dir)
        if not record["truncated"]:
            assert record["attempts"] == 3 or record["first_correct"] == record["attempts"]
        system = record["transcript"][0]["content"]
        assert "You have 3 attempts" in system  # one run at the largest k
    assert len({r["config_hash"] for r in records}) == 1
    assert (out / "summary.md").read_text() == summary
    assert "| **average** | 6 |" in summary
    width, height = png_size(out / "accuracy_vs_attempts.png")
    assert width > 400 and height > 300
    # Resume: the same command finds everything done and writes nothing new.
    before = (out / "results.jsonl").read_bytes()
    status, again, _ = run_cli(args, capsys)
    assert status == 0 and again == summary
    assert (out / "results.jsonl").read_bytes() == before
    # A larger --limit resumes too, adding only the new problems.
    status, _, _ = run_cli([*args[:7], "4", *args[8:]], capsys)
    assert status == 0
    assert sorted(keys(out)) == sorted(set(keys(out))) and len(keys(out)) == 8


@pytest.mark.needs_shared
def test_interrupted_run_resumes_without_losing_or_duplicating(tiny_dir, tmp_path, capsys):
    import asyncio

    from mathattempt_env.eval.backends import HFBackend
    from mathattempt_env.eval.runner import EvalConfig, run_eval

    out = tmp_path / "run"
    config = EvalConfig(env="MultiAttemptMath-v0", datasets=["math500"], ks=[1, 2],
                        out=out, model=str(tiny_dir), backend="hf", max_tokens=24,
                        concurrency=2, limit=6, data_dir=str(DATA), progress=False)  # fmt: skip

    class Crash(Exception):
        pass

    seen = []

    def crash_after_three(record):
        seen.append(record["key"])
        if len(seen) == 3:
            raise Crash

    with pytest.raises(Crash):
        asyncio.run(run_eval(config, HFBackend(str(tiny_dir)), on_episode=crash_after_three))
    assert keys(out) == seen
    status, _, _ = run_cli(["--dataset", "math500", "--data-dir", DATA, "--limit", "6",
                            "--model", tiny_dir, "--out", out, "--attempts", "1-2",
                            "--max-tokens", "24", "--concurrency", "2"], capsys)  # fmt: skip
    assert status == 0
    assert keys(out)[: len(seen)] == seen
    assert len(keys(out)) == 6 and len(set(keys(out))) == 6


# --- scripted policies through a real chat-completions server ----------------------------------


def scripted_args(scripted, url, out, *extra):
    return ["--dataset", scripted["alpha"], "--dataset", scripted["beta"], "--model", "scripted",
            "--backend", "openai", "--base-url", url, "--out", out, "--attempts", "1-3",
            *extra]  # fmt: skip


def test_summary_arithmetic_on_a_scripted_policy(scripted, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(scripted["script"])) as url:
        status, summary, _ = run_cli(scripted_args(scripted, url, out), capsys)
    assert status == 0
    table = summary.splitlines()
    assert "| dataset | problems | k=1 | k=2 | k=3 |" in table
    assert "| alpha | 4 | 25.0 | 50.0 | 75.0 |" in table
    assert "| beta | 2 | 50.0 | 50.0 | 50.0 |" in table
    assert "| **average** | 6 | **37.5** | **50.0** | **62.5** |" in table
    # The lenient reading of the same solutions: beta/q1's unboxed "It is 12." counts there.
    lenient = table[table.index(next(t for t in table if t.startswith("Lenient reading"))) :]
    assert "| alpha | 4 | 25.0 | 50.0 | 75.0 |" in lenient
    assert "| beta | 2 | 100.0 | 100.0 | 100.0 |" in lenient
    assert "| **average** | 6 | **62.5** | **75.0** | **87.5** |" in lenient
    by_key = {r["key"]: r for r in read_results(out)}
    assert [by_key[f"alpha/q{n}"]["first_correct"] for n in range(4)] == [1, 2, 3, None]
    assert by_key["alpha/q3"]["attempts"] == 3
    assert (by_key["beta/q1"]["first_correct"], by_key["beta/q1"]["lenient_first_correct"]) == (
        None,
        1,
    )
    assert [g["lenient"] for g in by_key["beta/q1"]["grades"]] == [True, True, True]
    grades = by_key["alpha/q2"]["grades"]
    assert [(g["extracted"], g["correct"]) for g in grades] == [
        ("5", False),
        ("7", False),
        ("6", True),
    ]
    # Feedback from the true answer after each wrong attempt, as published.
    feedback = [m["content"] for m in by_key["alpha/q2"]["transcript"] if m["role"] == "system"]
    assert feedback[1:] == [
        "Your answer is incorrect. You have 2 attempts left. Try an alternative.",
        "Your answer is incorrect. You have 1 attempts left. Try an alternative.",
    ]


def test_compare_overlays_a_second_run(scripted, tmp_path, capsys):
    with chat_server("--script", str(scripted["script"])) as url:
        assert run_cli(scripted_args(scripted, url, tmp_path / "a"), capsys)[0] == 0
        first = png_size(tmp_path / "a" / "accuracy_vs_attempts.png")
        status, _, _ = run_cli(
            scripted_args(scripted, url, tmp_path / "b", "--compare", tmp_path / "a"), capsys
        )
    assert status == 0
    assert png_size(tmp_path / "b" / "accuracy_vs_attempts.png") == first
    assert (tmp_path / "b" / "accuracy_vs_attempts.png").read_bytes() != (
        tmp_path / "a" / "accuracy_vs_attempts.png"
    ).read_bytes()


def test_s2r_env_reports_the_s2r_metrics(tmp_path, capsys):
    verify, retry = "\n\nWait, let me recheck my solution.\n\n", "\n\nLet me try again.\n\n"
    says = "Therefore, the answer is {}."
    items = {
        "What is $1+1$?": ("2", ["\\boxed{3}" + verify + says.format("incorrect") + retry
                                  + "\\boxed{2}" + verify + says.format("correct")]),
        "What is $2+2$?": ("4", ["\\boxed{4}" + verify + says.format("correct")]),
        "What is $3+3$?": ("6", ["\\boxed{5}" + verify + says.format("correct")]),
    }  # fmt: skip
    from .conftest import write_dataset

    dataset = write_dataset(tmp_path / "s2r.jsonl", items)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({q: r for q, (_, r) in items.items()}))
    with chat_server("--script", str(script)) as url:
        status, summary, _ = run_cli(
            ["--env", "S2RMath-v0", "--dataset", dataset, "--model", "scripted", "--backend",
             "openai", "--base-url", url, "--out", tmp_path / "run", "--attempts", "1"], capsys
        )  # fmt: skip
    assert status == 0
    assert "| s2r | 3 | 33.3 |" in summary  # k=1: the first solution's accuracy
    # The final answer is right in 2 of 3 episodes; 4 verifications, 3 right; 2 wrong solutions, 1 caught; 3 "correct" verdicts, 2 right;
    # 1 of 3 episodes went from wrong to right, none the other way.
    assert "| s2r | 66.7 | 75.0 | 50.0 | 66.7 | 33.3 | 0.0 |" in summary


# --- the OpenAI backend against the tiny model ------------------------------------------------


@pytest.mark.needs_shared
def test_openai_backend_serves_the_tiny_model_with_retries(tiny_dir, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--model", str(tiny_dir), "--fail-first", "2") as url:
        status, summary, _ = run_cli(
            ["--dataset", "math500", "--data-dir", DATA, "--limit", "3", "--model", "tiny",
             "--backend", "openai", "--base-url", url, "--out", out, "--attempts", "1-2",
             "--max-tokens", "30", "--concurrency", "3"], capsys
        )  # fmt: skip
    assert status == 0  # the first two requests got 503 and were retried
    records = read_results(out)
    assert len(records) == 3 and all(r["tokens"] <= 30 for r in records)
    assert all(r["model"] == "tiny" for r in records)


def test_sigkill_loses_only_episodes_in_flight(scripted, tmp_path):
    out = tmp_path / "run"
    with chat_server("--script", str(scripted["script"]), "--delay", "0.3") as url:
        args = [*CLI, "eval", "--no-progress", *map(str, scripted_args(scripted, url, out)),
                "--concurrency", "1"]  # fmt: skip
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while len(keys(out)) < 2 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kept = keys(out)
        assert 2 <= len(kept) < 6
        with (out / "results.jsonl").open("ab") as handle:
            handle.write(b'{"key": "alpha/q9", "datas')  # a write cut short by the kill
        finished = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    final = keys(out)
    assert final[: len(kept)] == kept
    assert sorted(final) == sorted(
        ["alpha/q0", "alpha/q1", "alpha/q2", "alpha/q3", "beta/q0", "beta/q1"]
    )


# --- bad input: one line on stderr, non-zero exit, no traceback -------------------------------


def test_unknown_dataset_is_reported_with_a_suggestion(tmp_path, capsys):
    status, _, err = run_cli(["--dataset", "math5000", "--model", "m", "--backend", "openai",
                              "--base-url", "http://127.0.0.1:9/v1", "--out", tmp_path], capsys)  # fmt: skip
    assert status == 2
    assert "--dataset: unknown dataset 'math5000'; did you mean 'math500'?" in err


@pytest.mark.needs_shared
def test_missing_model_path_is_reported(tmp_path, capsys):
    status, _, err = run_cli(["--dataset", "math500", "--data-dir", DATA, "--model",
                              tmp_path / "nope", "--out", tmp_path / "run"], capsys)  # fmt: skip
    assert status == 2
    assert "--model:" in err and "is not a directory" in err


@pytest.mark.needs_shared
def test_refused_connection_is_reported(tmp_path, capsys):
    status, _, err = run_cli(["--dataset", "math500", "--data-dir", DATA, "--model", "m",
                              "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
                              "--out", tmp_path / "run"], capsys)  # fmt: skip
    assert status == 2
    assert "cannot connect to http://127.0.0.1:9/v1" in err


def test_resuming_into_a_different_run_is_refused(scripted, tmp_path, capsys):
    out = tmp_path / "run"
    with chat_server("--script", str(scripted["script"])) as url:
        assert run_cli(scripted_args(scripted, url, out), capsys)[0] == 0
        status, _, err = run_cli(scripted_args(scripted, url, out, "--max-tokens", "100"), capsys)
    assert status == 2
    assert "holds results of a different run (max_tokens: 8000 there, 100 now)" in err


@pytest.mark.needs_shared
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--attempts", "7-1"], "--attempts: expected K or LOW-HIGH"),
        (["--limit", "0"], "--limit: expected a positive number"),
        (["--backend", "openai"], "--backend openai needs --base-url"),
        (["--dataset", "math500"], "--dataset: 'math500' is given twice"),
    ],
)
def test_bad_arguments_are_reported(args, message, tmp_path, capsys):
    status, _, err = run_cli(["--dataset", "math500", "--data-dir", DATA, "--model", "m",
                              "--out", tmp_path / "run", *args], capsys)  # fmt: skip
    assert status == 2 and message in err


def test_the_console_script_is_installed():
    script = Path(sys.executable).with_name("mathattempt")  # installed beside this Python
    out = subprocess.run([str(script), "eval", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--attempts" in out.stdout
