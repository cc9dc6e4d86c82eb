"""The Python tool an environment holds: it runs the model's code blocks in the sandbox.

An env with ``tool="python"`` asks :meth:`PythonTool.respond` about each step's text (through
:class:`~mathattempt_env.envs.tooluse.ToolUse`, the seam every env shares). A step
that calls the tool (see :class:`~mathattempt_env.prompts.tools.ToolFormat`) gets the output
block back as its observation; it consumes no attempt and earns 0, and the attempt goes on in
the same assistant turn. A step that does not call the tool is the attempt's end, graded on
the whole turn. A failure of the sandbox itself is an infrastructure error: the model is
shown that the tool is unavailable, and ``info["tool"]["infrastructure_error"]`` and the
tool's counter say so; it never changes a reward.

``ToolMath-v0`` is ``SingleTurnMath-v0`` registered with ``tool="python"`` and the ``"tir"``
prompt: the seed recipe of "code while thinking" and its RL follow-ups (CIR, ToRL). The
protocol is Qwen2.5-Math's (``"qwen-tir"``): a step whose text ends at ``"```output"`` (or
whose last closed python block has no boxed answer after it) is a call. The last closed block
runs in the sandbox (:mod:`mathattempt_env.sandbox`), and the output block comes back (stdout,
or the last line of a traceback; 400 characters at most; when the step ends with the
``"```output"`` it stopped at, only the rest of the block). At most 4 calls
(``tool_options={"max_calls": n}``), then "Reach max function call limit."; 5 s per call;
each call stateless unless ``replay=True`` (Qwen's executor: the attempt's earlier successful
blocks run first, so variables persist). Tool output counts toward ``max_total_length``.

After a call, ``info["tool"]`` holds ``code``, ``status`` (``ok``, ``error``, ``timeout``,
``killed``, ``output-flood``, ``over-budget`` or ``sandbox-error``), ``output``, ``cut``,
``wall_s``, ``cpu_s``, the isolation ``layers`` in force, ``bounds`` (what held the call's
memory, processes and files), ``failed`` (the code ran and failed: the model's;
``tool-error-penalty`` counts them), ``infrastructure_error`` (the sandbox failed before the
code ran: counted in ``info["sandbox_errors"]``, never a reward) and ``call`` (its number in
the attempt).

The python tool's options (``tool_options``): ``fmt`` (default ``"qwen-tir"``),
``isolation`` (``"auto"``: every layer available, refusing to run without one for the files
and one for the network; ``"none"``: no sandbox, only when asked for), ``max_calls``,
``replay``, ``sandbox_url`` (a SandboxFusion-compatible ``run_code`` endpoint instead of the
local sandbox) and ``sandbox_options`` (``rate``, ``concurrency``, ``retries``, ... of
:class:`~mathattempt_env.sandbox.RemoteSandbox`).

Examples:
    >>> tool = PythonTool(isolation="auto")
    >>> call = tool.respond("So\\n```python\\nprint(3 * 14)\\n```\\n```output", [])
    >>> call.shown, call.info["status"]  # the model opened the output block; the env closes it
    ('\\n42\\n```\\n', 'ok')
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts.tools import ToolFormat, get_tool_format

#: What the model sees when the sandbox itself failed.
UNAVAILABLE = "The tool is unavailable."
_REPLAY = (
    "import contextlib as _c, io as _io\n"
    "with _c.redirect_stdout(_io.StringIO()), _c.redirect_stderr(_io.StringIO()):\n"
    "    exec(compile({code!r}, '<earlier>', 'exec'), globals())\n"
)


@dataclass(frozen=True)
class ToolCall:
    """One call: the code, what the model is shown, and what the sandbox reported."""

    code: str
    shown: str
    info: dict[str, Any]
    ok: bool


class FencedTool:
    """A tool called with a fenced block (a :class:`ToolFormat`): detection and call budget.

    Subclasses set ``name`` and implement :meth:`run`.

    Args:
        fmt: the protocol.
        max_calls: overrides the format's call budget.
    """

    name = "fenced"

    def __init__(self, fmt: str | ToolFormat, max_calls: int | None = None) -> None:
        self.format = get_tool_format(fmt)
        self.stop = self.format.stop
        if max_calls is not None and (
            not isinstance(max_calls, int) or isinstance(max_calls, bool) or max_calls < 0
        ):
            raise ConfigError(f"max_calls: expected an int >= 0, got {max_calls!r}")
        self.max_calls = self.format.max_calls if max_calls is None else max_calls
        self.infrastructure_errors = 0

    def respond(self, text: str, history: Sequence[ToolCall]) -> ToolCall | None:
        """The call ``text`` makes, run, or ``None`` when ``text`` calls nothing.

        ``history`` holds this attempt's earlier calls (for the budget and for replay).
        """
        if not self.format.is_call(text):
            return None
        code = self.format.code(text)
        if len(history) >= self.max_calls:
            shown = self.format.show(self.format.limit_message, text)
            return ToolCall(code, shown, {"code": code, "status": "over-budget"}, False)
        return self.run(code, text, history)

    def run(self, code: str, text: str, history: Sequence[ToolCall]) -> ToolCall:
        """Run one call's ``code``; ``text`` is the attempt so far."""
        raise NotImplementedError


class PythonTool(FencedTool):
    """Runs the last closed python block of a response, per a :class:`ToolFormat`.

    Args:
        fmt: the protocol (default ``"qwen-tir"``).
        isolation: the sandbox's (``"auto"`` or ``"none"``).
        max_calls: overrides the format's call budget.
        replay: overrides the format's replay setting.
        sandbox_url: a SandboxFusion-compatible ``run_code`` endpoint to run calls on
            instead of the local sandbox (:class:`~mathattempt_env.sandbox.RemoteSandbox`).
        sandbox_options: keyword arguments for that client (``rate``, ``concurrency``,
            ``retries``, ...), applied when the process first uses the URL.
    """

    name = "python"

    def __init__(
        self,
        fmt: str | ToolFormat = "qwen-tir",
        *,
        isolation: str = "auto",
        max_calls: int | None = None,
        replay: bool | None = None,
        sandbox_url: str | None = None,
        sandbox_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(fmt, max_calls)
        if isolation not in ("auto", "none"):
            raise ConfigError(f"isolation: expected 'auto' or 'none', got {isolation!r}")
        self.isolation = isolation
        self.replay = self.format.replay if replay is None else bool(replay)
        if sandbox_url is not None:
            from mathattempt_env.sandbox.remote import RemoteSandbox

            RemoteSandbox(sandbox_url, **(sandbox_options or {}))  # validates both, now
        self.sandbox_url, self.sandbox_options = sandbox_url, dict(sandbox_options or {})
        if sandbox_url is None:  # start the servers now, off the first call's critical path
            from mathattempt_env.sandbox import SandboxUnavailableError, shared_sandbox

            with contextlib.suppress(SandboxUnavailableError):  # each call reports it
                shared_sandbox(self.isolation).prestart()

    def run(self, code: str, text: str, history: Sequence[ToolCall]) -> ToolCall:
        """Run ``code`` (after the earlier blocks, with ``replay``) in the sandbox."""
        from mathattempt_env.sandbox import SandboxUnavailableError, shared_sandbox
        from mathattempt_env.sandbox.remote import shared_remote

        earlier = [call.code for call in history if call.ok] if self.replay else []
        program = "".join(_REPLAY.format(code=c) for c in earlier) + code
        try:
            sandbox = (
                shared_remote(self.sandbox_url, **self.sandbox_options)
                if self.sandbox_url is not None
                else shared_sandbox(self.isolation)
            )
            result = sandbox.run(program, timeout=self.format.timeout)
        except SandboxUnavailableError as error:
            self.infrastructure_errors += 1
            info = {"code": code, "status": "sandbox-error", "infrastructure_error": True,
                    "output": str(error), "cut": False, "wall_s": 0.0, "layers": ()}  # fmt: skip
            return ToolCall(code, self.format.show(UNAVAILABLE, text), info, False)
        if result.infrastructure_error:
            self.infrastructure_errors += 1
            shown = self.format.show(UNAVAILABLE, text)
        elif result.status == "ok":
            shown = self.format.show(result.output, text)
        elif result.status == "timeout":
            shown = self.format.show("Timeout Error", text)
        else:  # the last traceback line, as published
            lines = [line for line in result.output.strip().splitlines() if line.strip()]
            shown = self.format.show(lines[-1] if lines else result.status, text)
        info = {
            "code": code, "status": result.status, "output": result.output, "cut": result.cut,
            "wall_s": result.wall_s, "layers": result.layers, "cpu_s": result.cpu_s,
            "bounds": result.bounds, "failed": result.failed,
            "infrastructure_error": result.infrastructure_error,
        }  # fmt: skip
        return ToolCall(code, shown, info, result.status == "ok")
