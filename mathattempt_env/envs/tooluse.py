"""Tool use: one seam every env shares.

An env made with ``tool=...`` consults its :class:`ToolUse` before it grades anything. A step
whose text (with the attempt's earlier text) calls the tool gets the tool's output back as
its observation: it earns 0, uses no attempt, and the attempt goes on in the same assistant
turn. A step that calls nothing ends the attempt, and the env grades the whole turn (model
text and tool outputs) as it would grade any answer. So every env id gets every tool.

A tool is anything with the :class:`Tool` surface; :data:`TOOLS` names the built-in ones
(``"python"``: :class:`~mathattempt_env.envs.tool.PythonTool`, code in the sandbox;
``"calculator"``: :class:`~mathattempt_env.envs.calculator.CalculatorTool`, exact
arithmetic in-process). Adding one is one module and one line here.

Examples:
    >>> use = ToolUse(make_tool("calculator"))
    >>> call = use.call("Compute.\\n```calculator\\n2**10 - 24\\n```\\n```output")
    >>> call.shown, use.turn.endswith("1000\\n```\\n")
    ('\\n1000\\n```\\n', True)
    >>> text, calls = use.finish(" So \\\\boxed{1000}.")
    >>> len(calls), text.endswith("\\\\boxed{1000}.")
    (1, True)
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from mathattempt_env.envs.tool import ToolCall
from mathattempt_env.errors import ConfigError, unknown_name


@runtime_checkable
class Tool(Protocol):
    """What an env needs of a tool.

    Attributes:
        name: the tool's name (``info["tool"]`` does not repeat it).
        stop: the string a generation stops at to call the tool (drivers pass it on).
        infrastructure_errors: calls the tool itself failed to run (counted, never a reward).
    """

    name: str
    stop: str
    infrastructure_errors: int

    def respond(self, text: str, history: Sequence[ToolCall]) -> ToolCall | None:
        """The call ``text`` (the attempt so far) makes, run; ``None`` when it makes none."""
        ...


#: The built-in tools: name → ``module:class``, imported on first use.
TOOLS: dict[str, str] = {
    "python": "mathattempt_env.envs.tool:PythonTool",
    "calculator": "mathattempt_env.envs.calculator:CalculatorTool",
}


def make_tool(tool: str | Tool | None, options: Mapping[str, Any] | None = None) -> Tool | None:
    """The tool an env's ``tool`` and ``tool_options`` arguments name.

    Raises:
        ConfigError: an unknown tool name, an unknown option (with the closest known one),
            options for a tool object or for no tool, or a bad option value.

    Examples:
        >>> make_tool("calculator", {"max_calls": 2}).max_calls
        2
        >>> make_tool("python", {"max_cals": 2})
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.ConfigError: unknown python tool option 'max_cals'; did you ...
    """
    options = dict(options or {})
    if tool is None or not isinstance(tool, str):
        if options:
            raise ConfigError(
                f"tool_options: only a tool named by a string takes options, got {options!r}"
                f" for tool={tool!r}"
            )
        if tool is not None and not isinstance(tool, Tool):
            raise ConfigError(
                f"tool: expected None, one of {sorted(TOOLS)} or a Tool, got {tool!r}"
            )
        return tool
    if tool not in TOOLS:
        raise unknown_name("tool", tool, sorted(TOOLS))
    module, _, name = TOOLS[tool].partition(":")
    cls = getattr(importlib.import_module(module), name)
    known = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key in options:
        if key not in known:
            raise unknown_name(f"{tool} tool option", key, known)
    made: Tool = cls(**options)
    return made


class ToolUse:
    """An env's tool and the attempt in progress: its text so far and its calls.

    Args:
        tool: the :class:`Tool`.
    """

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self.turn = ""  # the attempt's text so far: model text and tool outputs
        self.calls: list[ToolCall] = []

    def reset(self) -> None:
        """Forget the attempt in progress (a new episode)."""
        self.turn, self.calls = "", []

    def call(self, text: str) -> ToolCall | None:
        """Run the call the attempt so far plus ``text`` makes; ``None`` when it makes none.

        A call extends :attr:`turn` by ``text`` and the output the model is shown.
        """
        call = self.tool.respond(self.turn + text, self.calls)
        if call is not None:
            self.calls.append(call)
            self.turn += text + call.shown
        return call

    def finish(self, text: str) -> tuple[str, tuple[ToolCall, ...]]:
        """End the attempt with ``text``: the whole turn to grade, and its calls."""
        whole, calls = self.turn + text, tuple(self.calls)
        self.reset()
        return whole, calls
