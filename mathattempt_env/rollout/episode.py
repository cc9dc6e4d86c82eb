"""What the episode driver returns: one episode as token ids, masks, logprobs and rewards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActionSpan:
    """One action of an episode, located in the response tokens.

    For multi-attempt and single-turn episodes an action is a model turn; for S²R it is each
    solve or verify (a trajectory-mode turn holds several). A trainer that places per-token
    rewards puts ``reward`` on token ``end - 1``.

    Attributes:
        kind: ``"solve"`` or ``"verify"``.
        start: the first response-token index of the action.
        end: one past its last token.
        reward: the action's process reward (S²R), or the step reward of its turn.
        turn: which model turn it belongs to (0-based).
    """

    kind: str
    start: int
    end: int
    reward: float
    turn: int


@dataclass(frozen=True)
class Episode:
    """One episode at the token level.

    ``prompt_ids + response_ids`` is exactly the token context the model was conditioned on
    during the episode: the model's tokens are as generated (never re-encoded) and the
    environment's turns sit between them with their chat markup, masked out.

    Attributes:
        prompt_ids: the templated opening messages with the generation prompt.
        response_ids: model turns and environment turns, in order.
        response_mask: 1 for a model token, 0 for an environment token.
        response_logprobs: the sampling logprob of each model token and 0.0 for environment
            tokens, or ``None`` if the generator gave none.
        reward: the episode reward (the sum of the step rewards).
        step_rewards: the env's reward for each model turn.
        attempts: the number of solutions the model gave.
        turns: ``(start, end)`` response-token spans of the model turns.
        actions: the actions with their token spans and rewards.
        terminated: the env's terminated flag at the end.
        truncated: the episode ended at a length budget.
        info: the env's info from the last step.
    """

    prompt_ids: list[int]
    response_ids: list[int]
    response_mask: list[int]
    response_logprobs: list[float] | None
    reward: float
    step_rewards: list[float]
    attempts: int
    turns: list[tuple[int, int]]
    actions: list[ActionSpan]
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(repr=False)

    @property
    def grade_timed_out(self) -> bool:
        """Whether any solution of the episode ran out of grading time (scored as wrong)."""
        records = self.info.get("records", ())
        return any(r.grade is not None and r.grade.timed_out for r in records)

    @property
    def correct(self) -> bool:
        """Whether the episode's final solution was graded correct."""
        return bool(self.info.get("correct", False))

    def token_rewards(self) -> list[float]:
        """Per-token rewards: each action's reward on its last token, 0 elsewhere.

        Examples:
            >>> e = Episode([1], [5, 6, 7], [1, 1, 0], None, 1.0, [1.0], 1, [(0, 2)],
            ...             [ActionSpan("solve", 0, 2, 1.0, 0)], True, False, {})
            >>> e.token_rewards()
            [0.0, 1.0, 0.0]
        """
        rewards = [0.0] * len(self.response_ids)
        for action in self.actions:
            if action.end > action.start:
                rewards[action.end - 1] += action.reward
        return rewards
