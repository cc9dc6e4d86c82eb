"""The SandboxFusion-compatible client against a local stand-in service, faults included."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import gymnasium as gym
import pytest

from mathattempt_env.errors import ConfigError
from mathattempt_env.sandbox import RemoteSandbox

SERVER = Path(__file__).with_name("fusion_server.py")
CALL = "Let me compute.\n```python\nprint(6 * 7)\n```\n```output"


@contextlib.contextmanager
def service(*args: str):
    process = subprocess.Popen([sys.executable, str(SERVER), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("READY "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.kill()
        process.wait()


def stats(root: str) -> dict:
    with urllib.request.urlopen(f"{root}/stats") as answer:
        return json.loads(answer.read())


def test_the_env_runs_its_calls_on_the_service():
    with service() as root:
        env = gym.make("ToolMath-v0", tool_options={"sandbox_url": f"{root}/run_code"})
        env.reset(seed=0, options={"problem": {"problem": "6*7?", "answer": "42"}})
        obs, reward, _, _, info = env.step(CALL)
        assert (obs, reward) == ("\n42\n```\n", 0.0)
        assert info["tool"]["status"] == "ok" and info["tool"]["layers"] == ("sandboxfusion",)
        obs, _, _, _, info = env.step("```python\n1/0\n```\n```output")
        assert obs == "\nZeroDivisionError: division by zero\n```\n"
        assert info["tool"]["status"] == "error"
        assert env.step("So \\boxed{42}.")[1] == 1.0


def test_a_timeout_is_the_codes_and_is_reported_as_such():
    with service() as root:
        result = RemoteSandbox(f"{root}/run_code").run("while True: pass", timeout=0.5)
    assert result.status == "timeout" and not result.infrastructure_error


@pytest.mark.parametrize("fault", ["sandbox-error", "html", "no-result"])
def test_a_bad_reply_is_retried_then_the_call_succeeds(fault):
    with service("--fault", fault, "--fault-every", "2") as root:  # requests 2, 4, ... fail
        client = RemoteSandbox(f"{root}/run_code", retries=2, backoff=0.01)
        results = [client.run(f"print({n})") for n in range(4)]
    assert [r.output for r in results] == ["0\n", "1\n", "2\n", "3\n"]
    assert client.retried >= 2 and client.infrastructure_errors == 0


def test_busy_answers_are_retried_with_backoff():
    with service("--fail-first", "3") as root:
        client = RemoteSandbox(f"{root}/run_code", retries=3, backoff=0.05)
        started = time.monotonic()
        result = client.run("print('ok')")
    assert result.output == "ok\n" and client.retried == 3
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # 1, 2 and 4 times the backoff


@pytest.mark.parametrize(
    ("args", "why"),
    [(["--fault", "sandbox-error"], "the service failed"), (["--fault", "404"], "HTTP 404")],
)
def test_a_service_that_keeps_failing_is_an_infrastructure_error_never_a_reward(args, why):
    with service(*args) as root:
        env = gym.make("ToolMath-v0", tool_options={
            "sandbox_url": f"{root}/run_code", "sandbox_options": {"retries": 2, "backoff": 0.01}})  # fmt: skip
        env.reset(seed=0, options={"problem": {"problem": "6*7?", "answer": "42"}})
        obs, reward, _, _, info = env.step(CALL)
    assert obs == "\nThe tool is unavailable.\n```\n" and reward == 0.0
    assert info["tool"]["infrastructure_error"] and info["sandbox_errors"] == 1
    assert info["tool"]["status"] == "sandbox-error" and why in info["tool"]["output"]


def test_a_hanging_or_absent_service_costs_a_bounded_time():
    with service("--fault", "hang") as root:
        client = RemoteSandbox(f"{root}/run_code", retries=1, backoff=0.01, slack=0.5)
        started = time.monotonic()
        result = client.run("print(1)", timeout=0.5)
        assert result.infrastructure_error and time.monotonic() - started < 4.0
    client = RemoteSandbox(f"{root}/run_code", retries=2, backoff=0.01)  # the port is closed
    started = time.monotonic()
    assert client.run("print(1)").infrastructure_error and time.monotonic() - started < 2.0


def test_the_rate_and_concurrency_limits_hold_under_many_threads():
    with service() as root:
        client = RemoteSandbox(f"{root}/run_code", rate=20.0, burst=2, concurrency=3)
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(client.run("print(1)")))
                   for _ in range(30)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        seen = stats(root)
    assert len(results) == 30 and all(r.output == "1\n" for r in results)
    arrivals = sorted(seen["arrivals"])
    assert arrivals[-1] - arrivals[0] >= (30 - 2) / 20.0 * 0.9  # 20 starts per second
    assert seen["most"] <= 3


def test_bad_configuration_is_refused_with_the_field():
    with pytest.raises(ConfigError, match="sandbox_url"):
        gym.make("ToolMath-v0", tool_options={"sandbox_url": "ftp://example"})
    with pytest.raises(ConfigError, match="rate"):
        gym.make("ToolMath-v0", tool_options={
            "sandbox_url": "http://x/run_code", "sandbox_options": {"rate": 0}})  # fmt: skip
