"""The verifiers integration, through verifiers' own commands in an environment of its own.

``vf-eval mathattempt-vf`` plays every env id against a stand-in OpenAI-compatible server on
127.0.0.1 (the eval tests' ``chat_server.py``) that replies from a script (right, wrong, unboxed, tool code, cut, empty, huge and
failed replies); each episode's per-turn rewards and the env's messages in the trace equal those
of the same replies played through ``gym.make`` here. ``vf-validate`` passes, and the module's
doctests pass there.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401 - registers the ids
from mathattempt_env.envs.surface import surface
from mathattempt_env.rollout.loop import play_episode
from mathattempt_env.types import Turn
from tests.shared import DATA
from tests.verifiers import venv

ROOT = Path(__file__).resolve().parents[2]
CHAT_SERVER = ROOT / "tests" / "eval" / "chat_server.py"
HUGE = " " * 1_000_000 + "so maybe 7"


@pytest.fixture(scope="module")
def vf_bin() -> Path:
    return venv.bin_dir()


def _replies(env_id: str, index: int, gold: str) -> list[Any]:
    """A different mix of replies per problem, cycling through the hostile ones."""
    right, wrong = rf"so the answer is \boxed{{{gold}}}", r"I think it is \boxed{-12345}"
    code = "Let me compute.\n```python\nprint(6 * 7)\n```\n```output\n(the model ran on)"
    crash = "```python\nraise ValueError('no')\n```\n"
    plans = [
        [wrong, "no box here", right],
        [{"text": r"Let me think \boxed{1", "finish_reason": "length"}, right],
        ["", HUGE, wrong],
        [right],
        [wrong, {"status": 500}, right],
        [code, right] if env_id == "ToolMath-v0" else [wrong, right],
        [crash, wrong, wrong] if env_id == "ToolMath-v0" else [wrong, wrong, wrong],
    ]
    return plans[index % len(plans)]


class _Failed(Exception):
    pass


def _expected(env_id: str, options: dict[str, Any], index: int, replies: list[Any]) -> dict:
    """The episode ``gym.make`` plays with the same replies, as the stand-in delivers them:
    a failed call stops it (the rollout is not scored; what was played is kept)."""
    env = gym.make(env_id, **options)
    stop = tuple(surface(env).stop)
    env_texts: list[str] = []
    timed_out = [False]

    class Scripted:
        def __init__(self) -> None:
            self.at = 0
            self.history: list[dict] = []

        async def turn(self, info: dict, limit: int | None) -> Turn:
            if not self.history:
                self.history = list(info["messages"])
            reply = replies[self.at] if self.at < len(replies) else ""
            self.at += 1
            if isinstance(reply, dict) and "status" in reply:
                raise _Failed
            text, cut = (reply, False) if isinstance(reply, str) else (reply["text"], True)
            for marker in stop:
                if marker in text:
                    text, cut = text[: text.index(marker)], False
            return Turn(text, cut=cut)

        def observe(self, turn: Turn, observation: str, info: dict, done: bool) -> None:
            timed_out[0] |= bool(info["grade_timed_out"])
            if done:
                return
            if info["kind"] == "tool":
                env_texts.append(observation)
            else:
                env_texts.extend(m["content"] for m in info["messages"][len(self.history) + 1 :])
            self.history = list(info["messages"])

    import asyncio

    failed = False
    try:
        played = asyncio.run(play_episode(env, Scripted(), seed=index, options={"index": index}))
        rewards = [s.reward for s in played.steps]
    except _Failed:
        failed = True
        rewards = rewards_so_far(env_id, options, index, replies, stop)
    env.close()
    return {"rewards": rewards, "env_texts": env_texts, "failed": failed, "timed_out": timed_out[0]}


def rewards_so_far(env_id, options, index, replies, stop) -> list[float]:
    """Step rewards of the turns before the first failed call, played with ``env.step``."""
    env = gym.make(env_id, **options)
    env.reset(seed=index, options={"index": index})
    rewards = []
    for reply in replies:
        if isinstance(reply, dict) and "status" in reply:
            break
        text, cut = (reply, False) if isinstance(reply, str) else (reply["text"], True)
        for marker in stop:
            if marker in text:
                text, cut = text[: text.index(marker)], False
        _, reward, terminated, truncated, _ = env.step(Turn(text, cut=cut))
        rewards.append(float(reward))
        if terminated or truncated:
            break
    env.close()
    return rewards


def _vf_eval(vf_bin: Path, tmp: Path, env_id: str, flags: list[str], count: int) -> list[dict]:
    """Run vf-eval on the first ``count`` problems against the stand-in; the episodes."""
    options = _options(flags)
    env = gym.make(env_id, **options)
    problems = surface(env).problems[:count]
    env.close()
    script = {p.problem: _replies(env_id, i, p.answer) for i, p in enumerate(problems)}
    (tmp / "script.json").write_text(json.dumps(script))
    # The eval tests' scripted server, with OpenAI's stop semantics (the stop string left out).
    server = subprocess.Popen(
        [sys.executable, str(CHAT_SERVER), "--script", str(tmp / "script.json"), "--drop-stop"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert select.select([server.stdout], [], [], 60)[0], "the chat server did not start"
        port = server.stdout.readline().split("READY", 1)[1].strip()
        url = f"http://127.0.0.1:{port}/v1"
        environ = {**os.environ, "HOME": str(tmp), "XDG_CACHE_HOME": str(tmp / "cache")}
        environ.pop("PRIME_API_KEY", None)
        result = subprocess.run(
            [str(vf_bin / "vf-eval"), "mathattempt-vf", "-m", "standin",
             "--client.base-url", url, "-n", str(count), "-r", "1", "--no-push", "--no-rich",
             "-o", str(tmp / "out"), "--env.taskset.env", env_id, *flags],
            capture_output=True, text=True, timeout=600, env=environ, cwd=tmp,
        )  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (traces,) = (tmp / "out").glob("*/traces.jsonl")
    episodes = [json.loads(line) for line in traces.read_text().splitlines()]
    assert len(episodes) == count, (len(episodes), result.stderr[-3000:])
    return sorted(episodes, key=lambda e: e["task"]["data"]["index"])


def _options(flags: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, value in zip(flags[::2], flags[1::2], strict=True):
        options[name.removeprefix("--env.taskset.")] = json.loads(value)
    return options


CASES = [
    ("MultiAttemptMath-v0", ["--env.taskset.attempts", "3"]),
    ("S2RMath-v0", []),
    ("ToolMath-v0", []),
    ("SingleTurnMath-v0", []),
]


@pytest.mark.parametrize("env_id,flags", CASES, ids=[c[0] for c in CASES])
def test_vf_eval_episodes_equal_gym_make_s(vf_bin, tmp_path, env_id, flags):
    count = 14
    episodes = _vf_eval(vf_bin, tmp_path, env_id, flags, count)
    timed_out = 0
    options = {"dataset": "builtin", **_options(flags)}
    for episode in episodes:
        index = episode["task"]["data"]["index"]
        (trace,) = episode["traces"]
        replies = _replies(env_id, index, episode["task"]["data"]["answer"])
        expected = _expected(env_id, options, index, replies)
        summary = trace["info"]["mathattempt"]
        if any(turn["timed_out"] for turn in summary["turns"]) or expected["timed_out"]:
            timed_out += 1  # a grade that ran out of time (a busy CPU) says so: not compared
            continue
        assert trace["info"]["turn_rewards"] == expected["rewards"], (index, replies)
        if expected["failed"]:  # a failed model call: the rollout is failed, not scored
            assert not episode["ok"] and summary.get("failed") and summary["errors"]
            assert not trace["rewards"].get("episode_reward"), trace["rewards"]
            continue
        assert episode["ok"] and not summary["errors"], episode["errors"]
        assert trace["rewards"]["episode_reward"]["score"] == sum(expected["rewards"])
        nodes = trace["nodes"]
        first = next(i for i, n in enumerate(nodes) if n["sampled"])
        env_texts = [n["message"]["content"] for n in nodes[first:] if not n["sampled"]]
        assert env_texts == expected["env_texts"], index
        assert len(summary["turns"]) == len(expected["rewards"])
    assert timed_out <= 2, f"{timed_out} of {count} episodes had a grade time out"


def test_vf_validate_passes(vf_bin, tmp_path):
    environ = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")}
    for env_id in ("MultiAttemptMath-v0", "ToolMath-v0"):
        out = tmp_path / env_id
        result = subprocess.run(
            [str(vf_bin / "vf-validate"), "mathattempt-vf", "-n", "8", "--no-rich", "-o",
             str(out), "--runtime.type", "subprocess", "--taskset.env", env_id],
            capture_output=True, text=True, timeout=600, env=environ, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        (summary,) = out.glob("*/summary.json")
        checks = json.loads(summary.read_text())["checks"]
        assert checks["gold"]["valid"] == 8 and checks["noop"]["valid"] == 8, checks


@pytest.mark.parametrize(
    "flags,says",
    [
        (["--taskset.env", "NoSuchMath-v0"], "unknown env id 'NoSuchMath-v0'"),
        (["--taskset.attempts", "1", "2", "3"], "expected one number or two"),
        (["--taskset.dataset", "no/such/file.jsonl"], "no/such/file.jsonl"),
    ],
)
def test_a_bad_config_is_a_clear_error(vf_bin, tmp_path, flags, says):
    result = subprocess.run(
        [str(vf_bin / "vf-validate"), "mathattempt-vf", "-n", "2", "--no-rich", "-o",
         str(tmp_path / "o"), "--runtime.type", "subprocess", *flags],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode != 0
    assert says in result.stdout + result.stderr, (result.stdout + result.stderr)[-2000:]


def test_the_integration_s_doctests_pass_where_verifiers_is_installed(vf_bin):
    result = subprocess.run(
        [str(vf_bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "mathattempt_env/adapters/verifiers.py", "mathattempt_vf"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "no tests ran" not in result.stdout


def _documented() -> list[str]:
    """The vf-* commands of docs/verifiers.md, continuation lines joined."""
    text = (ROOT / "docs" / "verifiers.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```$", text, re.M | re.S):
        commands += [c for c in block.replace("\\\n", " ").splitlines() if c.startswith("vf-")]
    return [" ".join(c.split()) for c in commands]


@pytest.mark.needs_shared
def test_the_documented_commands_run_as_written(vf_bin, tmp_path):
    """Each as the page prints it, but 4 problems, and the stand-in server as the model."""
    commands = _documented()
    assert [c.split()[0] for c in commands] == ["vf-eval", "vf-validate"], commands
    env = gym.make("MultiAttemptMath-v0", dataset="math500", data_dir=str(DATA))
    problems = surface(env).problems[:4]
    env.close()
    script = {p.problem: [r"\boxed{0}", rf"\boxed{{{p.answer}}}"] for p in problems}
    (tmp_path / "script.json").write_text(json.dumps(script))
    server = subprocess.Popen(
        [sys.executable, str(CHAT_SERVER), "--script", str(tmp_path / "script.json"),
         "--drop-stop"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    environ = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    environ["MATHATTEMPT_DATA_DIR"] = str(DATA)
    try:
        assert select.select([server.stdout], [], [], 60)[0], "the chat server did not start"
        port = server.stdout.readline().split("READY", 1)[1].strip()
        for command in commands:
            argv = shlex.split(command.replace("-n 50", "-n 4"))
            argv = [str(vf_bin / argv[0]), *argv[1:], "-o", str(tmp_path / argv[0])]
            argv = [a.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for a in argv]
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=600, env=environ, cwd=tmp_path
            )
            assert result.returncode == 0, (command, result.stderr[-3000:])
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)
    (traces,) = (tmp_path / "vf-eval").glob("*/traces.jsonl")
    episodes = [json.loads(line) for line in traces.read_text().splitlines()]
    assert len(episodes) == 4 * 4  # -r 4
    for episode in episodes:
        (trace,) = episode["traces"]
        assert episode["ok"], episode["errors"]
        assert trace["info"]["turn_rewards"][-1] == 1.0  # right at the second attempt
        assert trace["info"]["mathattempt"]["attempts"] in range(1, 6)
    (summary,) = (tmp_path / "vf-validate").glob("*/summary.json")
    assert json.loads(summary.read_text())["valid_rate"] == 1.0
