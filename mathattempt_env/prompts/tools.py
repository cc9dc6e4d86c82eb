r"""The tool-integrated protocol: how a model calls Python and how the output comes back.

A :class:`ToolFormat` is a versioned template, like the prompts and feedback strings: the fence
that opens code, the stop string after which the environment runs it, how the output is shown,
the call budget and the message when it is spent. ``"qwen-tir"`` is the protocol of
Qwen2.5-Math's tool-integrated reasoning, which most tool-RL recipes share: generation stops
at ``"```output"``, the last closed python block runs, and ``"\n```output\n{output}\n```\n"``
follows; stdout, or the last line of a traceback, cut to 400 characters (the first 200,
``...``, the last 200); at most 4 calls, then "Reach max function call limit.".

Examples:
    >>> fmt = get_tool_format("qwen-tir")
    >>> fmt.is_call("Let me compute.\n```python\nprint(2**10)\n```\n```output")
    True
    >>> fmt.code("Let me compute.\n```python\nprint(2**10)\n```\n```output")
    'print(2**10)'
    >>> fmt.show("1024\n")
    '\n```output\n1024\n```\n'
"""

from __future__ import annotations

from dataclasses import dataclass

from mathattempt_env.errors import lookup
from mathattempt_env.prompts.templates import PromptTemplate


@dataclass(frozen=True)
class ToolFormat:
    """A tool-call protocol.

    Attributes:
        name: the registry name.
        fence: the line that opens a code block.
        stop: the string a generation stops at to call the tool.
        output: how the output is shown (``{output}``).
        max_calls: the most calls per response; later ones get ``limit_message``.
        limit_message: shown instead of running a call over the budget.
        output_chars: the most characters of output shown (the middle is cut).
        timeout: seconds one call may run.
        replay: run the earlier successful blocks of the response before a new one (Qwen's
            executor keeps variables that way); ``False``: every call is stateless.
        version: bumped whenever the protocol changes.
    """

    name: str
    fence: str = "```python"
    stop: str = "```output"
    output: str = "\n```output\n{output}\n```\n"
    max_calls: int = 4
    limit_message: str = "Reach max function call limit."
    output_chars: int = 400
    timeout: float = 5.0
    replay: bool = False
    version: int = 1

    def _last_block(self, text: str) -> tuple[int, int] | None:
        """Where the last closed code block's body starts and ends."""
        start = text.rfind(self.fence)
        if start < 0:
            return None
        body = text.find("\n", start)
        end = text.find("```", body + 1) if body >= 0 else -1
        return (body + 1, end) if end >= 0 else None

    def is_call(self, text: str) -> bool:
        """Whether a response (so far) calls the tool.

        It does when it ends at the stop string after a closed code block, or ends with a
        closed code block and has no boxed answer after it.
        """
        if text.rstrip().endswith(self.stop):
            return self._last_block(text) is not None
        block = self._last_block(text)
        return (
            block is not None
            and "\\boxed" not in text[block[1] :]
            and text.rstrip().endswith("```")
        )

    def code(self, text: str) -> str:
        """The body of the last closed code block (``""`` if there is none)."""
        block = self._last_block(text)
        return text[block[0] : block[1]].strip("\n") if block else ""

    def show(self, output: str, text: str = "") -> str:
        r"""The output as the model sees it: cut to ``output_chars`` in the middle, fenced.

        ``text`` is the response so far. When it already ends with the stop string (the
        model opened the output block itself, as the protocol has it), only the rest of the
        block is shown, so the turn reads as one block, never two.

        Examples:
            >>> fmt = get_tool_format("qwen-tir")
            >>> fmt.show("42"), fmt.show("42", "```python\nprint(42)\n```\n```output")
            ('\n```output\n42\n```\n', '\n42\n```\n')
        """
        output = output.strip("\n")
        if len(output) > self.output_chars:
            half = self.output_chars // 2
            output = output[:half] + "..." + output[-half:]
        shown = self.output.format(output=output)
        opened = text.rstrip()
        at = shown.find(self.stop)
        if at >= 0 and opened.endswith(self.stop):
            shown = shown[at + len(self.stop) :]
            if "\n" in text[len(opened) :] and shown.startswith("\n"):
                shown = shown[1:]
        return shown


TOOL_FORMATS: dict[str, ToolFormat] = {
    "qwen-tir": ToolFormat("qwen-tir"),
    # This package's own calculator protocol: the qwen-tir shape with a ``calculator`` fence,
    # one expression per line, exact arithmetic in-process (no sandbox), so calls are cheap.
    "calculator": ToolFormat("calculator", fence="```calculator", max_calls=8, timeout=1.0),
}

#: Prompts for the tool-integrated envs. ``tir`` is Qwen2.5-Math's tool-integrated
#: instruction; ``r1-code`` is our wording of STILL-3's ``r1_code`` instruction (code between
#: python fences, its output between output fences, the answer boxed): the original's exact
#: text is not in our sources, so it is not claimed to be verbatim.
TOOL_PROMPTS: dict[str, PromptTemplate] = {
    "tir": PromptTemplate(
        "tir",
        "",
        "{question}\nPlease integrate natural language reasoning with programs to solve the "
        "problem above, and put your final answer within \\boxed{}.",
    ),
    "r1-code": PromptTemplate(
        "r1-code",
        "Please reason step by step. You may write Python code between ```python and ```; "
        "its output will be shown between ```output and ```. Put your final answer within "
        "\\boxed{}.",
    ),
    "calculator": PromptTemplate(
        "calculator",
        "Please reason step by step. You may use a calculator: write arithmetic expressions, "
        "one per line, between ```calculator and ```; their values will be shown between "
        "```output and ```. Put your final answer within \\boxed{}.",
    ),
}


def get_tool_format(fmt: str | ToolFormat) -> ToolFormat:
    """Look up a tool format by name, or pass a :class:`ToolFormat` through.

    Examples:
        >>> get_tool_format("qwen-tir").max_calls
        4
    """
    return lookup("tool format", fmt, TOOL_FORMATS, ToolFormat)
