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

Examples:
    >>> from mathattempt_env.types import ActionRecord, Grade
    >>> wrong = ActionRecord("solve", Grade(False, True, "3", "numeric"))
    >>> right = ActionRecord("solve", Grade(True, True, "4", "numeric"))
    >>> says_wrong = ActionRecord("verify", verdict="incorrect", target_correct=False)
    >>> says_right = ActionRecord("verify", verdict="correct", target_correct=True)
    >>> m = s2r_metrics([[wrong, says_wrong, right, says_right]])
    >>> m["verification_accuracy"], m["error_recall"], m["incorrect_to_correct"]
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from mathattempt_env.rewards.verifier import verdict_outcome
from mathattempt_env.types import ActionRecord


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _confusion_key(record: ActionRecord) -> str:
    """The verdict's outcome; an unparseable one is split by the truth it failed to judge."""
    outcome = verdict_outcome(record)
    if outcome != "unparseable":
        return outcome
    return "unparseable-right" if record.target_correct else "unparseable-wrong"


def verifier_metrics(episodes: Iterable[Sequence[ActionRecord]]) -> dict[str, float | None]:
    """How well verdicts match the truth, over every verify action of the episodes.

    Solve records are skipped, so an episode may be a whole solve/verify history. Precision
    and recall are given for both verdicts: "accept" is a "correct" verdict and "reject" an
    "incorrect" one; an unparseable verdict is neither, so it lowers both recalls.

    Args:
        episodes: per episode, its action records.

    Returns:
        ``accuracy`` (verdicts equal to the truth / verifies), ``accept_precision`` (right
        solutions / "correct" verdicts), ``accept_recall`` ("correct" verdicts / verifies of
        right solutions), ``reject_precision`` (wrong solutions / "incorrect" verdicts),
        ``reject_recall`` ("incorrect" verdicts / verifies of wrong solutions),
        ``unparseable_rate``, and the counts ``verifies`` and each outcome of
        :func:`~mathattempt_env.rewards.verifier.verdict_outcome`.

    Examples:
        >>> from mathattempt_env.types import ActionRecord
        >>> ok = ActionRecord("verify", verdict="correct", target_correct=True)
        >>> fooled = ActionRecord("verify", verdict="correct", target_correct=False)
        >>> m = verifier_metrics([[ok, fooled]])
        >>> m["accept_precision"], m["accept_recall"], m["reject_recall"]
        (0.5, 1.0, 0.0)
    """
    counts = Counter(
        _confusion_key(record)
        for actions in episodes
        for record in actions
        if record.kind == "verify"
    )
    verifies = sum(counts.values())
    accept_right, accept_wrong = counts["accept-right"], counts["accept-wrong"]
    reject_right, reject_wrong = counts["reject-right"], counts["reject-wrong"]
    right_targets = accept_right + reject_right + counts["unparseable-right"]
    wrong_targets = accept_wrong + reject_wrong + counts["unparseable-wrong"]
    unparseable = counts["unparseable-right"] + counts["unparseable-wrong"]
    return {
        "accuracy": _rate(accept_right + reject_wrong, verifies),
        "accept_precision": _rate(accept_right, accept_right + accept_wrong),
        "accept_recall": _rate(accept_right, right_targets),
        "reject_precision": _rate(reject_wrong, reject_wrong + reject_right),
        "reject_recall": _rate(reject_wrong, wrong_targets),
        "unparseable_rate": _rate(unparseable, verifies),
        "verifies": float(verifies),
        "accept-right": float(accept_right),
        "accept-wrong": float(accept_wrong),
        "reject-right": float(reject_right),
        "reject-wrong": float(reject_wrong),
        "unparseable": float(unparseable),
    }


def s2r_metrics(episodes: Iterable[Sequence[ActionRecord]]) -> dict[str, float | None]:
    """Aggregate S²R metrics over episodes, each given as its list of action records.

    Args:
        episodes: per episode, its actions (e.g. ``info["records"]`` at the episode's end).

    Returns:
        The rates above, plus the counts ``episodes`` and ``verifies``.
    """
    episodes = list(episodes)
    n_episodes = up = down = 0
    for actions in episodes:
        attempts = [a for a in actions if a.kind == "solve"]
        if attempts:
            n_episodes += 1
            up += (not attempts[0].correct) and attempts[-1].correct
            down += attempts[0].correct and not attempts[-1].correct
    verdicts = verifier_metrics(episodes)
    return {
        "verification_accuracy": verdicts["accuracy"],
        "error_recall": verdicts["reject_recall"],
        "correct_precision": verdicts["accept_precision"],
        "incorrect_to_correct": _rate(up, n_episodes),
        "correct_to_incorrect": _rate(down, n_episodes),
        "unparseable_rate": verdicts["unparseable_rate"],
        "episodes": float(n_episodes),
        "verifies": verdicts["verifies"],
    }
