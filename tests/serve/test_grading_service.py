"""The grading service over HTTP: OpenRLHF's /get_reward equals the in-process reward function,
/grade equals grade_many, deadlines hold, bad requests are 400s, tokens and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from mathattempt_env.grading import grade_many
from mathattempt_env.types import Grade
from tests import procs, serving
from tests.grading.hostile import cases
from tests.shared import SHARED


def _post(url, path, body, token=None, timeout=300):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method="POST")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


def _dev(count):
    with open(SHARED / "grading" / "dev-real-outputs.jsonl") as handle:
        rows = [json.loads(line) for line in handle][:count]
    return [row["response"] for row in rows], [row["gold"] for row in rows]


@pytest.fixture(scope="module")
def grader():
    served = serving.start_grader("--workers", "2")
    try:
        yield served
    finally:
        serving.stop(served)


@pytest.mark.needs_shared
def test_get_reward_is_openrlhf_s_in_process_reward(grader):
    from mathattempt_env.adapters.openrlhf import reward_func

    responses, golds = _dev(300)
    prompts = [
        f"<|im_start|>user\nproblem {i}<|im_end|>\n<|im_start|>assistant\n" for i in range(300)
    ]
    queries = [p + r + "<|im_end|>" for p, r in zip(prompts, responses, strict=True)]
    remote = _post(
        grader.url, "/get_reward", {"query": queries, "prompts": prompts, "labels": golds}
    )
    local = reward_func(queries, prompts, golds)
    assert remote["rewards"] == local["rewards"].tolist() == remote["scores"]
    assert remote["extra_logs"]["correct"] == local["extra_logs"]["correct"].tolist()
    assert len(set(remote["rewards"])) > 1
    # /grade with a reward scheme gives the same rewards, with the verdicts.
    graded = _post(
        grader.url,
        "/grade",
        {
            "responses": [q[len(p) : -10] for q, p in zip(queries, prompts, strict=True)],
            "golds": golds,
            "options": {"reward": "paper-single"},
        },
    )
    assert graded["rewards"] == remote["rewards"]


@pytest.mark.needs_shared
def test_grade_is_grade_many(grader):
    responses, golds = _dev(500)
    remote = [
        Grade(**g)
        for g in _post(grader.url, "/grade", {"responses": responses, "golds": golds})["grades"]
    ]
    assert remote == grade_many(responses, golds, workers=1)
    boxed = _post(
        grader.url,
        "/grade",
        {
            "responses": responses[:50],
            "golds": golds[:50],
            "options": {"box": "first", "think": "open"},
        },
    )
    assert [Grade(**g) for g in boxed["grades"]] == grade_many(
        responses[:50], golds[:50], workers=1, box="first", think="open"
    )


def test_a_deadline_returns_timeouts_not_a_hang(grader):
    slow = [(r, g) for name, r, g in cases() if "sympy integral" in name or "power chain" in name]
    items = slow * 6
    started = time.monotonic()
    out = _post(
        grader.url,
        "/grade",
        {"responses": [r for r, _ in items], "golds": [g for _, g in items], "deadline": 1.0},
    )
    took = time.monotonic() - started
    assert took < 1.0 + 2.0 + 3.0, took  # the deadline, one item's limit, transport
    assert len(out["grades"]) == len(items)
    assert all(g["timed_out"] and not g["correct"] for g in out["grades"])


def test_bad_requests_are_400_and_the_service_goes_on(grader):
    for body, said in (
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (
            json.dumps({"responses": ["a"], "golds": [1]}).encode(),
            "'golds': expected a list of strings",
        ),
        (json.dumps({"responses": ["a", "b"], "golds": ["1"]}).encode(), "2 responses but 1 golds"),
        (
            json.dumps({"responses": ["a"], "golds": ["1"], "options": {"colour": 1}}).encode(),
            "unknown option(s) ['colour']",
        ),
        (json.dumps({"responses": ["a"], "golds": ["1"], "deadline": -1}).encode(), "'deadline'"),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(grader.url, "/grade", body)
        assert refused.value.code == 400
        assert said in json.loads(refused.value.read())["detail"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        _post(grader.url, "/get_reward", {"query": ["a"], "prompts": [""], "labels": []})
    assert refused.value.code == 400
    assert _post(grader.url, "/grade", {"responses": [r"\boxed{1}"], "golds": ["1"]})["grades"][0][
        "correct"
    ]


def test_token_and_sigterm():
    token = os.urandom(8).hex()
    served = serving.start_grader("--workers", "2", env={"MATHATTEMPT_SERVE_TOKEN": token})
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(served.url, "/grade", {"responses": ["1"], "golds": ["1"]})
        assert refused.value.code == 401
        assert _post(served.url, "/grade", {"responses": ["1"], "golds": ["1"]}, token=token)[
            "grades"
        ]
        children = [
            p
            for p in procs.pids()
            if p != served.process.pid and procs.descends_from(p, served.process.pid)
        ]
        assert children  # the grading workers and their fork server
        assert serving.stop(served, signal.SIGTERM) == 0
    finally:
        serving.stop(served, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while [c for c in children if procs.parent(c)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [c for c in children if procs.parent(c)], "workers left behind"


def test_a_public_address_needs_a_token():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mathattempt_env.cli",
            "serve-grader",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=serving.ROOT,
    )
    assert done.returncode == 2 and "needs --token" in done.stderr


def test_a_scoring_worker_imports_neither_the_server_nor_openenv():
    """The job a worker unpickles must not pull in the web stack: that import took seconds,
    longer than a chunk's budget, so a fresh worker's first batch came back as
    infrastructure errors."""
    from mathattempt_env.serve.grading import GradingService

    service = GradingService(workers=1)
    try:
        start = time.monotonic()
        (first,) = service.score([r"so \boxed{4}"], ["4"])
        assert first[0] == 1.0 and not first[1].timed_out, first
        assert time.monotonic() - start < 60
        probe = "sorted(m for m in __import__('sys').modules if m.split('.')[0] in {0})"
        heavy = service.pool.run(
            eval, probe.format({"fastapi", "starlette", "uvicorn", "openenv"}), timeout=30
        )
        assert heavy == [], heavy
    finally:
        service.close()
