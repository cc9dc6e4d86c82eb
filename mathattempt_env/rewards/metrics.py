"""S²R metrics over many episodes: how well a model verifies and corrects itself.

Definitions (as in the S²R paper), over all verify actions or all episodes:

- ``verification_accuracy``: verdicts that equal the truth / all verifies (an unparseable
  verdict counts as wrong);
- ``error_recall``: "incorrect" verdicts on wrong solves / verifies of wrong solves;
- ``correct_precision``: right solves among the verifies that said "correct";
- ``incorrect_to_correct``: episodes whose first answer is wrong and last answer right / episodes;
- ``correct_to_incorrect``: episodes whose first answer is right and last answer wrong / episodes;
- ``unparseable_rate``: unparseable verdicts / all verifies.

A rate with an empty denominator is ``None`` (not ``nan``, so results compare equal and
serialize to JSON).

Example:
    >>> from mathattempt_env.types import AttemptRecord, Grade
    >>> wrong = AttemptRecord("solve", Grade(False, True, "3", "numeric"))
    >>> right = AttemptRecord("solve", Grade(True, True, "4", "numeric"))
    >>> says_wrong = AttemptRecord("verify", verdict="incorrect", target_correct=False)
    >>> says_right = AttemptRecord("verify", verdict="correct", target_correct=True)
    >>> m = s2r_metrics([[wrong, says_wrong, right, says_right]])
    >>> m["verification_accuracy"], m["error_recall"], m["incorrect_to_correct"]
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mathattempt_env.types import AttemptRecord


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def s2r_metrics(episodes: Iterable[Sequence[AttemptRecord]]) -> dict[str, float | None]:
    """Aggregate S²R metrics over episodes, each given as its list of action records.

    Args:
        episodes: per episode, its actions (e.g. ``info["records"]`` at the episode's end).

    Returns:
        The rates above, plus the counts ``episodes`` and ``verifies``.
    """
    verifies = right = wrong_solves = caught = said_correct = precise = unparseable = 0
    n_episodes = up = down = 0
    for actions in episodes:
        attempts = [a for a in actions if a.kind == "solve"]
        if attempts:
            n_episodes += 1
            up += (not attempts[0].correct) and attempts[-1].correct
            down += attempts[0].correct and not attempts[-1].correct
        for a in actions:
            if a.kind != "verify":
                continue
            verifies += 1
            right += a.verdict_right
            unparseable += a.verdict == "unparseable"
            if not a.target_correct:
                wrong_solves += 1
                caught += a.verdict == "incorrect"
            if a.verdict == "correct":
                said_correct += 1
                precise += bool(a.target_correct)
    return {
        "verification_accuracy": _rate(right, verifies),
        "error_recall": _rate(caught, wrong_solves),
        "correct_precision": _rate(precise, said_correct),
        "incorrect_to_correct": _rate(up, n_episodes),
        "correct_to_incorrect": _rate(down, n_episodes),
        "unparseable_rate": _rate(unparseable, verifies),
        "episodes": float(n_episodes),
        "verifies": float(verifies),
    }
