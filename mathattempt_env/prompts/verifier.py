r"""The verifier's turns in a solver-verifier game: what it is asked, and how it must answer.

The verdict sentences are those of S²R, so :meth:`~mathattempt_env.prompts.S2RFormat.verdict`
reads them. The wording is this package's own.

Examples:
    >>> turns = VerifierPrompt().opening("What is 2+2?", r"2+2 = \boxed{4}")
    >>> [turn["role"] for turn in turns]
    ['system', 'user']
    >>> print(VerifierPrompt().revision(r"\boxed{5}", attempt=2)[0]["content"])
    The solver tried again (attempt 2). Check this solution:
    \boxed{5}
"""

from __future__ import annotations

from dataclasses import dataclass

from mathattempt_env.prompts.s2r import VERDICT_INSTRUCTION
from mathattempt_env.prompts.templates import Message, _check_role, fill


@dataclass(frozen=True)
class VerifierPrompt:
    """The verifier's opening turns and the turn that shows it each revised solution.

    Attributes:
        system: the verifier's system turn; ``""`` for none.
        first: the turn with the problem (``{question}``) and the first solution
            (``{solution}``).
        again: the turn with a revised solution (``{solution}``; ``{N}`` is the attempt number).
        role: the role of the ``first`` and ``again`` turns.
        version: bumped whenever the wording changes.

    Examples:
        >>> VerifierPrompt().system.endswith('"Therefore, the answer is incorrect."')
        True
    """

    system: str = (
        "You check solutions to math problems. Verify the proposed solution step by step, and"
        " point out any error you find. " + VERDICT_INSTRUCTION
    )
    first: str = "Problem:\n{question}\n\nProposed solution:\n{solution}"
    again: str = "The solver tried again (attempt {N}). Check this solution:\n{solution}"
    role: str = "user"
    version: int = 1

    def __post_init__(self) -> None:
        _check_role(self.role, "verifier prompt")

    def opening(self, question: str, solution: str) -> list[Message]:
        """The turns that show the verifier the problem and the first solution."""
        turns = [{"role": "system", "content": self.system}] if self.system else []
        turns.append(
            {"role": self.role, "content": fill(self.first, question=question, solution=solution)}
        )
        return turns

    def revision(self, solution: str, attempt: int) -> list[Message]:
        """The turn that shows the verifier a revised solution."""
        return [{"role": self.role, "content": fill(self.again, solution=solution, N=attempt)}]
