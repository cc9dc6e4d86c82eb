"""Prompt and feedback templates: wording as frozen, versioned data.

Placeholders are ``{N}`` (the attempt budget), ``{N_left}`` (attempts left), ``{question}``,
``{answer}`` (the model's own extracted answer, never the gold), and, in a solver-verifier game,
``{solution}`` (the solver's response shown to the verifier) and ``{critique}`` (the verifier's
response shown to the solver). They are filled in one pass, so text that is substituted in is
never itself scanned for placeholders.

Examples:
    >>> fill("You have {N} attempts. {question}", N=3, question="What is {N}?")
    'You have 3 attempts. What is {N}?'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathattempt_env.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{(N|N_left|question|answer|solution|critique)\}")
ROLES = ("system", "user", "assistant")

#: A chat message: ``{"role": ..., "content": ...}``.
Message = dict[str, str]


def fill(text: str, **values: object) -> str:
    """Replace the known placeholders in ``text`` with ``values``; leave everything else.

    Args:
        text: a template string.
        **values: values for the placeholders above.

    Returns:
        The filled text.

    Examples:
        >>> fill(r"within \\boxed{}. You have {N_left} left.", N_left=2)
        'within \\\\boxed{}. You have 2 left.'
    """

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    return _PLACEHOLDER.sub(sub, text)


def _check_role(role: str, where: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"{where}: expected a role in {ROLES}, got {role!r}")


@dataclass(frozen=True)
class PromptTemplate:
    """The opening turns of an episode.

    Attributes:
        name: the registry name.
        system: the system turn (may use ``{N}``); ``""`` for no system turn.
        user: the user turn; ``{question}`` is the problem statement.
        feedback: the name of the feedback template that belongs with this prompt.
        version: bumped whenever the wording changes.

    Examples:
        >>> t = PromptTemplate("demo", "You have {N} attempts.", "{question}")
        >>> [m["content"] for m in t.messages("What is 1+1?", attempts=2)]
        ['You have 2 attempts.', 'What is 1+1?']
    """

    name: str
    system: str
    user: str = "{question}"
    feedback: str = "binary"
    version: int = 1

    def messages(self, question: str, attempts: int = 1) -> list[Message]:
        """The opening chat messages for one problem and attempt budget."""
        turns = []
        if self.system:
            turns.append({"role": "system", "content": fill(self.system, N=attempts)})
        turns.append({"role": "user", "content": fill(self.user, question=question, N=attempts)})
        return turns


@dataclass(frozen=True)
class FeedbackTemplate:
    """The environment's turn after a wrong attempt.

    Attributes:
        name: the registry name.
        text: the feedback (may use ``{N_left}``, ``{answer}`` and ``{critique}``).
        no_answer_text: used instead of ``text`` when ``text`` needs ``{answer}`` and the
            attempt had none; ``None`` means use ``text`` with ``{answer}`` left out.
        role: the role of the feedback turn (the paper uses ``system``).
        repeat_question: follow the feedback with the question again, as a user turn.
        version: bumped whenever the wording changes.

    Examples:
        >>> t = FeedbackTemplate("demo", "Wrong. You have {N_left} attempts left.")
        >>> t.messages(attempts_left=1, answer=None, question="Q")
        [{'role': 'system', 'content': 'Wrong. You have 1 attempts left.'}]
    """

    name: str
    text: str
    no_answer_text: str | None = None
    role: str = "system"
    repeat_question: bool = False
    version: int = 1

    def __post_init__(self) -> None:
        _check_role(self.role, f"feedback template {self.name!r}")

    def messages(
        self, *, attempts_left: int, answer: str | None, question: str, critique: str = ""
    ) -> list[Message]:
        """The feedback turns after a wrong attempt.

        Args:
            attempts_left: attempts remaining after the failed one.
            answer: the model's extracted answer, or ``None``.
            question: the problem statement (used by ``repeat_question``).
            critique: a verifier's response (solver-verifier games).

        Returns:
            One or two chat messages.
        """
        text = self.text
        if answer is None and "{answer}" in text and self.no_answer_text is not None:
            text = self.no_answer_text
        turns = [
            {
                "role": self.role,
                "content": fill(text, N_left=attempts_left, answer=answer, critique=critique),
            }
        ]
        if self.repeat_question:
            turns.append({"role": "user", "content": question})
        return turns
