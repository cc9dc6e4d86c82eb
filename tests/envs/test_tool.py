"""ToolMath-v0 and the Python tool in the other envs: the protocol, rewards, info, failures."""

from __future__ import annotations

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import mathattempt_env  # noqa: F401
from mathattempt_env.envs import tool as tool_module
from mathattempt_env.prompts.tools import get_tool_format
from mathattempt_env.sandbox import ToolResult
from tests.procs import ours, parent, pids

pytestmark = pytest.mark.needs_sandbox

PROBLEM = {"problem": "What is $6 \\times 7$?", "answer": "42"}
CALL = "Let me compute.\n```python\nprint(6 * 7)\n```\n```output"


def make(env_id: str = "ToolMath-v0", **kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0, options={"problem": PROBLEM})
    return env


def test_a_call_is_answered_with_its_output_and_the_turn_goes_on():
    env = make()
    obs, reward, terminated, truncated, info = env.step(CALL)
    assert (obs, reward, terminated, truncated) == ("\n42\n```\n", 0.0, False, False)
    assert info["tool"]["status"] == "ok" and info["tool"]["code"] == "print(6 * 7)"
    assert {"landlock", "namespaces"} & set(info["tool"]["layers"])
    assert "seccomp" in info["tool"]["layers"]
    assert info["tool_calls"] == 1 and info["attempts_left"] == 1  # no attempt consumed
    assert info["messages"][-1]["content"] == CALL + obs  # one assistant turn so far
    obs, reward, terminated, truncated, info = env.step("So the answer is \\boxed{42}.")
    assert (reward, terminated, info["correct"]) == (1.0, True, True)
    assert info["messages"][-1]["content"] == CALL + "\n42\n```\nSo the answer is \\boxed{42}."


def test_errors_show_the_last_traceback_line_and_long_output_is_cut():
    env = make()
    obs = env.step("```python\n1/0\n```\n```output")[0]
    assert obs == "\nZeroDivisionError: division by zero\n```\n"
    obs, _, _, _, info = env.step("```python\nprint('x' * 1000)\n```\n```output")
    shown = obs.split("\n")[1]
    assert len(shown) == 403 and shown == "x" * 200 + "..." + "x" * 200
    assert info["tool"]["status"] == "ok"


def test_the_call_budget_then_the_published_message():
    env = make(tool_options={"max_calls": 2})
    for _ in range(2):
        assert "42" in env.step(CALL)[0]
    obs, _, _, _, info = env.step(CALL)
    assert obs == "\nReach max function call limit.\n```\n"
    assert info["tool"]["status"] == "over-budget"


def test_a_timeout_is_the_models_and_a_sandbox_failure_is_not(monkeypatch):
    env = make()
    fmt = get_tool_format("qwen-tir")
    env.unwrapped.tool.format = type(fmt)(**{**fmt.__dict__, "timeout": 0.5})
    obs, _, _, _, info = env.step("```python\nwhile True:\n    pass\n```\n```output")
    assert obs == "\nTimeout Error\n```\n" and info["tool"]["status"] == "timeout"
    assert not info["tool"]["infrastructure_error"] and info["sandbox_errors"] == 0

    class Broken:
        def run(self, code, timeout):
            return ToolResult("sandbox-error", "the server died", False, 0.0, ())

    monkeypatch.setattr("mathattempt_env.sandbox.shared_sandbox", lambda isolation: Broken())
    obs, reward, _, _, info = env.step(CALL)
    assert obs == "\nThe tool is unavailable.\n```\n" and reward == 0.0
    assert info["tool"]["infrastructure_error"] and info["sandbox_errors"] == 1
    _, reward, _, _, info = env.step("\\boxed{42}")
    assert reward == 1.0  # the failure never changes a reward


def test_the_tool_composes_with_multi_attempt_and_its_feedback():
    env = make("MultiAttemptMath-v0", tool="python", attempts=2)
    assert env.step(CALL)[4]["attempts_left"] == 2
    obs, reward, terminated, _, info = env.step("\\boxed{41}")
    assert reward == 0.0 and not terminated and "incorrect" in obs
    assert info["tool_calls"] == 1
    env.step(CALL)  # a call inside the second attempt
    _, reward, terminated, _, info = env.step("\\boxed{42}")
    assert (reward, terminated) == (1.0, True)


def test_check_env_determinism_and_pickling():
    env = gym.make("ToolMath-v0")
    check_env(env.unwrapped, skip_render_check=True)
    import pickle

    clone = pickle.loads(pickle.dumps(env.unwrapped))
    assert clone.reset(seed=3)[0] == env.unwrapped.reset(seed=3)[0]


def test_bad_tool_arguments_are_clear_errors():
    from mathattempt_env.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown tool 'bash'; Registered: calculator, python"):
        gym.make("MultiAttemptMath-v0", tool="bash")
    with pytest.raises(ConfigError, match=r"tool_options=\{'max_calls': 2\}"):
        gym.make("ToolMath-v0", max_tool_calls=2)  # the option moved into tool_options
    with pytest.raises(ConfigError, match="unknown python tool option 'max_cals'"):
        gym.make("ToolMath-v0", tool_options={"max_cals": 2})
    with pytest.raises(ConfigError, match="only a tool named by a string takes options"):
        gym.make("MultiAttemptMath-v0", tool_options={"max_calls": 2})
    with pytest.raises(ConfigError, match="isolation: expected 'auto' or 'none'"):
        tool_module.PythonTool(isolation="docker")


def test_tool_reward_schemes_see_the_calls_of_the_attempt():
    env = make(reward="tool-error-penalty")
    env.step("```python\n1/0\n```\n```output")
    _, reward, _, _, info = env.step("\\boxed{41}")
    assert reward == -1.5  # wrong, and the last call failed
    assert info["records"][-1].tool_calls == 1 and info["records"][-1].tool_failed
    env = make(reward="tool-calls-shaped")
    for _ in range(3):
        env.step(CALL)
    assert env.step("\\boxed{41}")[1] == pytest.approx(-0.7)
    env = make(reward="tool-calls-shaped")
    env.step(CALL)
    assert env.step("\\boxed{42}")[1] == 1.0


def test_the_gold_answer_is_nowhere_the_code_can_look():
    env = gym.make("ToolMath-v0")
    env.reset(seed=0, options={"problem": {"problem": "Say the code word.", "answer": "QZXW-7741"}})
    code = (
        "import os, sys, gc\nseen = [str(dict(os.environ)), str(sys.argv), str(os.listdir('.'))]\n"
        "for path in ('/proc/self/cmdline', '/proc/self/environ', '/proc/self/maps'):\n"
        "    try:\n        seen.append(open(path, 'rb').read().decode(errors='replace'))\n"
        "    except OSError as e:\n        seen.append(type(e).__name__)\n"
        "seen.append(str([o for o in gc.get_objects() if isinstance(o, str) and 'QZXW' in o]))\n"
        "print('QZXW-7741' in ''.join(seen))"
    )
    obs, _, _, _, info = env.step(f"```python\n{code}\n```\n```output")
    assert obs == "\nFalse\n```\n", info["tool"]


def test_the_output_block_is_opened_once_whoever_opens_it():
    # A generator that kept the stop string: the env closes the block the model opened.
    env = make()
    obs = env.step(CALL)[0]
    assert (CALL + obs).count("```output") == 1 and obs == "\n42\n```\n"
    # A server that dropped the stop string (or a model that just closed its block).
    env = make()
    text = "Let me compute.\n```python\nprint(6 * 7)\n```\n"
    obs = env.step(text)[0]
    assert obs == "```output\n42\n```\n" or obs == "\n```output\n42\n```\n"
    assert (text + obs).count("```output") == 1


def test_tool_calls_run_in_async_vector_workers_and_episodes_repeat_by_seed():
    # AsyncVectorEnv's workers are daemonic processes: each starts its own sandbox pool.
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("ToolMath-v0") for _ in range(2)])
    try:
        first, _ = envs.reset(seed=[5, 6])
        calls = [f"```python\nprint({n} * 7)\n```\n```output" for n in (6, 7)]
        obs, reward, terminated, _, info = envs.step(calls)
        assert tuple(obs) == ("\n42\n```\n", "\n49\n```\n") and not terminated.any()
        assert list(info["tool_calls"]) == [1, 1] and list(reward) == [0.0, 0.0]
        again, _ = envs.reset(seed=[5, 6])
        assert tuple(again) == tuple(first)
    finally:
        envs.close()


def _sandbox_servers() -> set[int]:
    """Pids of the sandbox servers this test process started (their command line holds the
    bootstrap); other jobs' servers on the machine are not counted."""
    found = set()
    for pid in pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().split(b"\0")
        except OSError:
            continue
        if command[0].endswith(b"bwrap"):  # the jail around a server, not a server
            continue
        if b"-I" in command and any(b"mathattempt_env.sandbox._server" in a for a in command):
            found.add(pid)
    # A server's supervisors and prepared children are forks of it, with its command line.
    return {pid for pid in found if parent(pid) not in found and ours(pid)}


def test_four_env_workers_run_one_sandbox_server_each_not_one_per_core():
    before = _sandbox_servers()
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("ToolMath-v0") for _ in range(4)])
    try:
        envs.reset(seed=[1, 2, 3, 4])
        for _ in range(3):
            calls = [f"```python\nprint({n} * 7)\n```\n```output" for n in range(4)]
            obs, *_ = envs.step(calls)
            assert tuple(obs) == tuple(f"\n{7 * n}\n```\n" for n in range(4))
        servers = _sandbox_servers() - before
        # One per worker, plus the one the space-probing env of this process started.
        assert 4 <= len(servers) <= 5, len(servers)
    finally:
        envs.close()
