"""JSONL and Hugging Face loaders, validation and overlap checks, on the real shared data."""

import json

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.data import find_overlap, load_hf, load_problems, read_jsonl, read_rows
from mathattempt_env.errors import ConfigError, DatasetError
from mathattempt_env.types import Problem
from tests.shared import DATA
from tests.shared import DATA_FILES as FILES

needs_data = pytest.mark.needs_shared


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@needs_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_shared_file_loads(path):
    problems = read_jsonl(path)
    lines = sum(1 for line in path.open(encoding="utf-8", newline="") if line.strip())
    assert len(problems) == lines
    assert len({p.id for p in problems}) == len(problems)


@needs_data
def test_named_datasets_read_local_files_and_drive_an_env():
    problems = load_problems("math500", data_dir=str(DATA))
    assert len(problems) == 500 and problems[0].id.startswith("test/")
    env = gym.make("MultiAttemptMath-v0", dataset="aime24", data_dir=str(DATA))
    obs, info = env.reset(seed=0, options={"index": 0, "attempts": 2})
    assert info["source"] == "aime24" and obs.endswith(problems_first_line("aime24"))


def problems_first_line(name):
    return read_rows(DATA / f"{name}.jsonl")[0]["problem"]


@needs_data
def test_math_train_vs_math500_overlap():
    train, test = read_jsonl(DATA / "math_train.jsonl"), read_jsonl(DATA / "math500.jsonl")
    assert find_overlap(train, test) == []  # measured: no shared statements
    leaked = Problem("leak", "  " + test[42].problem.upper().replace(" ", "  "), "1")
    assert find_overlap([*train, leaked], test) == [("leak", test[42].id)]


def test_dataset_error_names_every_problem_of_a_file_in_one_pass_by_line(tmp_path):
    rows = [
        {"id": "ok", "problem": "1+1?", "answer": "2"},
        {"id": "no-answer", "problem": "?"},
        {"id": "bad-gold", "problem": "?", "answer": "\\frac{1}{2"},
        {"id": "ok", "problem": "again", "answer": "3"},
        {"id": 7, "problem": "", "answer": "1"},
        {"id": "lvl", "problem": "?", "answer": "1", "level": "hard"},
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with path.open("ab") as f:
        f.write(b'{not json\n[1, 2]\n{"id": "dup", "problem": "?", "answer": "1", "answer": "2"}\n')
        f.write(b'{"id": "bytes", "problem": "caf\xe9?", "answer": "1"}\n')
        f.write(b'{"id": "sur", "problem": "a \\ud800 b", "answer": "1"}\n')
    with pytest.raises(DatasetError) as caught:
        read_jsonl(path)
    assert caught.value.problems == [
        "line 2 (id 'no-answer'): missing field 'answer'",
        "line 3 (id 'bad-gold'): field 'answer' unbalanced braces; got '\\\\frac{1}{2'",
        "line 4 (id 'ok'): duplicate id (first at line 1)",
        "line 5: field 'id' must be a non-empty string, got 7",
        "line 5: field 'problem' must be a non-empty string, got ''",
        "line 6 (id 'lvl'): field 'level': expected an int or 'Level N', got 'hard'",
        "line 7: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 8: expected a JSON object, got list",
        "line 9: key 'answer' appears twice (JSON would keep the last value silently)",
        "line 10: not UTF-8 (byte 0xe9 at column 32)",
        "line 11 (id 'sur'): field 'problem' has a lone surrogate '\\ud800' at character 2"
        " (an escape like \\ud800 that is half of a pair; not valid text)",
    ]
    assert str(caught.value).startswith(f"{path}: 11 bad rows")


def test_a_file_is_validated_once_per_content(tmp_path, monkeypatch):
    from mathattempt_env.data import jsonl

    calls = []
    check = jsonl.check_rows
    monkeypatch.setattr(jsonl, "check_rows", lambda *a: calls.append(1) or check(*a))
    path = write_jsonl(tmp_path / "once.jsonl", [{"id": "a", "problem": "1+1?", "answer": "2"}])
    first = load_problems(str(path))
    env = gym.make("MultiAttemptMath-v0", dataset=str(path))  # the same file: not re-validated
    assert env.unwrapped.problems == first and len(calls) == 1
    write_jsonl(path, [{"id": "a", "problem": "1+1?", "answer": "3"}])  # new content
    assert load_problems(str(path))[0].answer == "3" and len(calls) == 2


def test_missing_file_and_unknown_name():
    with pytest.raises(ConfigError, match="dataset file not found: 'nowhere/x.jsonl'"):
        load_problems("nowhere/x.jsonl")
    with pytest.raises(ConfigError, match="dataset 'aime24' has no Hugging Face source"):
        load_problems("aime24", data_dir="/nonexistent")


def test_sequences_of_dicts_or_problems():
    problems = load_problems([{"id": "a", "problem": "1+1?", "answer": "2", "level": "Level 3"}])
    assert problems[0].level == 3 and problems[0].source == "problems"
    assert load_problems(problems) == problems
    with pytest.raises(
        DatasetError, match="row 'p' \\(index 0\\): field 'answer' unbalanced braces"
    ):
        load_problems([Problem("p", "Q?", "\\frac{1}{2")])


# Hugging Face mappings, through the real `datasets` loader on local files shaped like the hub's.


@needs_data
def test_hf_math500_shape(tmp_path):
    rows = [
        {
            "problem": r["problem"],
            "solution": r["solution"],
            "answer": r["answer"],
            "subject": r["subject"],
            "level": r["level"],
            "unique_id": r["id"],
        }
        for r in read_rows(DATA / "math500.jsonl")[:50]
    ]
    path = write_jsonl(tmp_path / "math500.jsonl", rows)
    problems = load_hf("json", mapping="math500", split="train", data_files=str(path))
    assert [p.id for p in problems] == [r["unique_id"] for r in rows]
    assert [p.answer for p in problems] == [r["answer"] for r in rows]


@needs_data
def test_hf_hendrycks_shape_takes_the_last_box_of_the_solution(tmp_path):
    source = read_rows(DATA / "math_train.jsonl")[:200]
    rows = [
        {
            "problem": r["problem"],
            "level": f"Level {r['level']}",
            "type": r["subject"],
            "solution": r["solution"],
        }
        for r in source
        if r["level"] is not None
    ]
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    problems = load_hf("json", mapping="hendrycks_math", split="train", data_files=str(path))
    expected = [r["answer"] for r in source if r["level"] is not None]
    assert [p.answer for p in problems] == expected
    assert problems[0].level == source[0]["level"] and problems[0].id == "hendrycks_math-train-0"


@needs_data
def test_hf_gsm8k_shape_takes_the_text_after_the_marker(tmp_path):
    source = read_rows(DATA / "gsm8k_test.jsonl")
    rows = [{"question": r["problem"], "answer": r["solution"]} for r in source]
    path = write_jsonl(tmp_path / "gsm8k.jsonl", rows)
    problems = load_hf("json", mapping="gsm8k", split="train", data_files=str(path))
    assert [p.answer for p in problems] == [r["answer"] for r in source]
    with pytest.raises(ConfigError, match="could not load split 'test'"):
        load_hf("json", mapping="gsm8k", split="test", data_files=str(path))


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


@pytest.mark.parametrize("offline", ["HF_HUB_OFFLINE", "endpoint"])
def test_a_named_dataset_offline_fails_at_once_and_names_data_dir(monkeypatch, offline):
    import time

    monkeypatch.delenv("MATHATTEMPT_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    if offline == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # a hub that refuses connections, as a machine without network sees it
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_problems("math500")
    assert time.monotonic() - started < 5  # no retries against an unreachable hub
    message = str(caught.value)
    assert "--data-dir" in message and "math500.jsonl" in message and "bad row" not in message
    with pytest.raises(ConfigError, match="is '/nowhere', so math500.jsonl is not there"):
        load_problems("math500", data_dir="/nowhere")


def test_hf_simplerl_zoo_shape(tmp_path):
    rows = [
        {"question": "What is $1+1$?", "gt_answer": "2", "level": 3, "subject": "Algebra"},
        {"question": "What is $2+2$?", "gt_answer": "4", "level": 4, "subject": "Algebra"},
    ]
    path = write_jsonl(tmp_path / "zoo.jsonl", rows)
    problems = load_hf("json", mapping="simplerl_zoo", split="train", data_files=str(path))
    assert [(p.answer, p.level, p.id) for p in problems] == [
        ("2", 3, "simplerl_zoo-train-0"),
        ("4", 4, "simplerl_zoo-train-1"),
    ]


def test_hf_rows_that_do_not_map_are_named(tmp_path):
    path = write_jsonl(tmp_path / "gsm.jsonl", [{"question": "Q?", "answer": "no marker"}])
    with pytest.raises(
        DatasetError, match="row 'gsm8k-train-0' \\(index 0\\): missing field 'answer'"
    ):
        load_hf("json", mapping="gsm8k", split="train", data_files=str(path))
