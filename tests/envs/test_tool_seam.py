"""Tools compose with every env: the seam, S²R with the Python tool, a second tool, bounds."""

from __future__ import annotations

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.envs import Tool, make_tool
from mathattempt_env.envs.calculator import MAX_BITS, CalculatorTool, evaluate
from mathattempt_env.envs.tool import ToolCall

PROBLEM = {"problem": "What is $6 \\times 7$?", "answer": "42"}
CALC = "Let me compute.\n```calculator\n6*7\n```\n```output"
PY = "Let me compute.\n```python\nprint(6 * 7)\n```\n```output"
VERIFY = "\n\nWait, let me recheck my solution.\n\nTherefore, the answer is correct."


def start(env_id: str, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0, options={"problem": PROBLEM})
    return env


@pytest.mark.parametrize("env_id", ["SingleTurnMath-v0", "MultiAttemptMath-v0", "S2RMath-v0"])
def test_the_calculator_works_in_every_env(env_id):
    env = start(env_id, tool="calculator")
    obs, reward, terminated, truncated, info = env.step(CALC)
    assert (obs, reward, terminated, info["kind"]) == ("\n42\n```\n", 0.0, False, "tool")
    assert info["tool"]["status"] == "ok" and info["tool_calls"] == 1
    assert surface_stop(env) == ("```output",)
    _, reward, terminated, _, info = env.step(" So \\boxed{42}." + VERIFY)
    assert terminated and info["correct"] and reward == 1.0
    # the graded turn is the whole turn: model text and the tool's output
    assert info["messages"][-1]["content"].startswith(CALC + "\n42\n```\n So")
    assert info["records"][-1].tool_calls == 1 and info["tool_calls"] == 1


def surface_stop(env):
    from mathattempt_env.envs import surface

    return surface(env).stop


@pytest.mark.needs_sandbox
def test_s2r_gets_the_python_tool_through_the_seam():
    env = start("S2RMath-v0", tool="python", reward="tool-error-penalty")
    obs, _, _, _, info = env.step(PY)
    assert obs == "\n42\n```\n" and info["tool"]["status"] == "ok"
    text = (
        " So \\boxed{41}.\n\nWait, let me recheck my solution.\n\nTherefore, the answer is "
        "incorrect.\n\nLet me try again.\n\n\\boxed{42}" + VERIFY
    )
    _, reward, terminated, _, info = env.step(text)
    assert terminated and reward == 1.0 and info["kind"] == "trajectory"
    assert [a["type"] for a in info["actions"]] == ["solve", "verify", "solve", "verify"]
    assert info["actions"][0]["extracted"] == "41"  # spans index the whole turn, output included
    assert info["records"][-1].tool_calls == 1 and not info["records"][-1].tool_failed
    assert info["s2r_metrics"]["incorrect_to_correct"] == 1.0


class Echo:
    """A third tool in a few lines: answers ``<echo>x</echo>`` with ``x``."""

    name = "echo"
    stop = "</echo>"
    infrastructure_errors = 0

    def respond(self, text, history):
        if not text.endswith("</echo>"):
            return None
        said = text.rsplit("<echo>", 1)[-1].removesuffix("</echo>")
        return ToolCall(said, f"[{said}]", {"status": "ok", "code": said}, True)


def test_any_object_with_the_tool_surface_plugs_in():
    tool = Echo()
    assert isinstance(tool, Tool) and make_tool(tool) is tool
    env = start("MultiAttemptMath-v0", tool=tool, attempts=1)
    obs, _, _, _, info = env.step("<echo>hi</echo>")
    assert obs == "[hi]" and info["kind"] == "tool"
    assert env.step("\\boxed{42}")[4]["correct"]


def test_a_tool_call_that_spends_the_budget_ends_the_turn_cut():
    env = start("SingleTurnMath-v0", tool="calculator", max_total_length=len(CALC) + 3)
    _, reward, terminated, truncated, info = env.step(CALC)
    assert truncated and not terminated and info["kind"] == "answer" and info["cut"]


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("9**9**9", f"Error: the result would exceed {MAX_BITS} bits"),
        ("2**20000", f"Error: the result would exceed {MAX_BITS} bits"),
        ("10**-5000", f"Error: the result would exceed {MAX_BITS} bits"),
        ("factorial(10**6)", "Error: factorial takes arguments up to 10000"),
        ("factorial(5000) * factorial(5000)", f"Error: the result would exceed {MAX_BITS} bits"),
        ("comb(10**9, 3)", "Error: comb takes arguments up to 10000"),
        ("1e308 * 10", "Error: the result is not finite"),
        ("2.0 ** 5000", "Error: cannot evaluate"),
        ("(-8) ** (1/3)", "Error: the result is not real"),
        ("sqrt(-1)", "Error: sqrt: math domain error"),
        ("1/0", "Error: division by zero"),
        ("0 ** -1", "Error: division by zero"),
        ("gcd(1.5, 2)", "Error: gcd takes integers"),
        ("__import__('os').system('id')", "Error: cannot call 'Attribute' that way"),
        ("__import__('os')", "Error: cannot call '__import__' that way"),
        ("().__class__.__bases__", "Error: unsupported Attribute"),
        ("[x for x in range(10**9)]", "Error: unsupported ListComp"),
        ("x + 1", "Error: unknown name 'x'"),
        ("lambda: 1", "Error: unsupported Lambda"),
        ("'a' * 10", "Error: unsupported Constant"),
        ("max()", "Error: cannot call 'max' that way"),
        ("x = 1", "Error: not an expression"),
        ("(" * 5000 + "1" + ")" * 5000, "Error: a line may have at most 1000 characters"),
        ("(" * 400 + "1" + ")" * 400, "Error: not an expression"),  # the parser's own limit
        ("(" * 90 + "1" + ")" * 90, "1"),
        ("-" * 999 + "1", "Error: nested deeper than 100"),
        ("+".join(["1"] * 499), "Error: nested deeper than 100"),
        ("-" * 98 + "1", "1"),
        (" " * 1_000_000, "Error: a line may have at most 1000 characters"),
        ("1/3 + 1/6", "1/2"),
        ("sqrt(16/9)", "4/3"),
        ("comb(10000, 5000) % 1000", "120"),
    ],
)  # fmt: skip
def test_the_calculator_refuses_what_could_grow_or_escape(line, shown):
    assert evaluate(line) == shown


def test_the_calculator_budget_and_hostile_blocks_never_raise():
    tool = CalculatorTool(max_calls=1)
    first = tool.respond("```calculator\n" + "\n".join(["9**9**9"] * 100) + "\n```", [])
    assert first is not None and first.info["failed"] and first.info["status"] == "error"
    assert first.info["output"].count("\n") == 49  # at most 50 lines are evaluated
    over = tool.respond("```calculator\n1\n```", [first])
    assert over is not None and over.info["status"] == "over-budget"
    assert "Reach max function call limit." in over.shown
    assert tool.respond("no call here", []) is None
