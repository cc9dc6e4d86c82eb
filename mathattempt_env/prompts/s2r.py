r"""The S²R action format: delimiters, verdict sentences, and the interactive-mode turns.

Examples:
    >>> fmt = S2RFormat()
    >>> fmt.verdict("... Therefore, the answer is incorrect.")
    'incorrect'
    >>> fmt.verdict("I am not sure.")
    'unparseable'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathattempt_env.prompts.published import STEP_BY_STEP
from mathattempt_env.types import Verdict

_VERDICT = re.compile(r"Therefore, the answer is (correct|incorrect)\.")
#: How a verification is asked to end, so that its verdict can be read.
VERDICT_INSTRUCTION = (
    'End with "Therefore, the answer is correct." or "Therefore, the answer is incorrect."'
)
# The published substring fallbacks (used only with lenient=True), most specific first.
_LENIENT: tuple[tuple[str, Verdict], ...] = (
    ("is incorrect", "incorrect"),
    ("cannot verify", "incorrect"),
    ("verified to be correct", "correct"),
    ("is indeed", "correct"),
    ("is correct", "correct"),
)


def _find_all(text: str, needle: str) -> list[int]:
    """Start positions of the non-overlapping occurrences of ``needle`` (str.find is fast)."""
    found: list[int] = []
    if not needle:
        return found
    i = text.find(needle)
    while i >= 0:
        found.append(i)
        i = text.find(needle, i + len(needle))
    return found


@dataclass(frozen=True)
class S2RFormat:
    """Where S²R actions start and how a verification states its verdict.

    Attributes:
        verify_start: the text that opens a verification (the paper's delimiter).
        retry_start: the text that opens a new solution after a failed verification.
        lenient: also accept the published substring fallbacks ("is incorrect", "is indeed",
            ...) when the verdict sentence is missing. The positional default of the published
            code is never used: an unreadable verdict is ``"unparseable"``.
        verify_request: the environment turn that asks for a verification (interactive mode).
        retry_request: the environment turn that asks for a new solution (interactive mode).
        role: the role of the interactive environment turns.
        system: the system prompt.

    Examples:
        >>> S2RFormat().verify_start.strip()
        'Wait, let me recheck my solution.'
    """

    verify_start: str = "\n\nWait, let me recheck my solution.\n\n"
    retry_start: str = "\n\nLet me try again.\n\n"
    lenient: bool = False
    verify_request: str = "Please verify your solution step by step. " + VERDICT_INSTRUCTION
    retry_request: str = "Please try again. " + STEP_BY_STEP
    role: str = "user"
    system: str = STEP_BY_STEP

    def verdict(self, text: str) -> Verdict:
        """Parse a verification's verdict: the last verdict sentence wins.

        Examples:
            >>> S2RFormat(lenient=True).verdict("So the result is indeed right.")
            'correct'
        """
        matches = _VERDICT.findall(text)
        if matches:
            return "correct" if matches[-1] == "correct" else "incorrect"
        if self.lenient:
            lowered = text.lower()
            for phrase, verdict in _LENIENT:
                if phrase in lowered:
                    return verdict
        return "unparseable"

    def split(self, text: str) -> list[tuple[str, int, int]]:
        """Split a trajectory into ``(kind, start, end)`` actions at the delimiters.

        The first action is a solve. Each later action's kind is set by the delimiter that
        opens it; the delimiter belongs to the action it opens.

        Examples:
            >>> t = "x=\\boxed{1}" + S2RFormat().verify_start + "Therefore, the answer is correct."
            >>> [kind for kind, _, _ in S2RFormat().split(t)]
            ['solve', 'verify']
        """
        marks = sorted(
            [(i, "verify") for i in _find_all(text, self.verify_start)]
            + [(i, "solve") for i in _find_all(text, self.retry_start)]
        )
        bounds = [0] + [position for position, _ in marks] + [len(text)]
        kinds = ["solve"] + [kind for _, kind in marks]
        return [
            (kind, start, end)
            for kind, start, end in zip(kinds, bounds, bounds[1:], strict=False)
            if end > start
        ]
