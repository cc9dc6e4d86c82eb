"""The experiment's settings and problems: one frozen dataclass, three presets.

``full`` is the reported experiment, ``quick`` a one-seed version for a first look, and
``mini`` a seconds-long run that only checks the pipeline (CI). ``testbed`` is the same
experiment in the setting the sweep found (:data:`TESTBED`, a model that can learn to read
the feedback), ``testbed-quick`` its one-seed version; the ablations run in it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from mathattempt_env.data.builtin import BuiltinProblems
from mathattempt_env.data.validate import find_overlap
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import get_feedback
from mathattempt_env.types import Problem

MULTI, SINGLE = "MultiAttemptMath-v0", "SingleTurnMath-v0"
_DIVISOR = re.compile(r"divided by \$(\d+)\$")


def level_divisors(level: int) -> range:
    """The divisors the built-in remainder generator draws from at ``level``.

    Examples:
        >>> level_divisors(1), level_divisors(2)
        (range(3, 8), range(3, 11))
    """
    return range(3, 5 + 3 * level)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that decides the experiment's numbers (all saved with the results).

    Attributes:
        seeds: independent runs per arm (model init, data order, sampling).
        hidden, layers: the tiny Qwen2 model's width and depth.
        train_problems, eval_problems: built-in ``remainder`` problems at ``level``; the two
            sets come from different generator seeds, and any statement in both is dropped
            from the evaluation set.
        level: the generator level of the problems (level 1: ``a`` up to 500, divisors
            3..7; level 2: ``a`` up to 5000, divisors 3..10).
        divisors: keep only problems with these divisors (the answer space is
            ``0..m-1``); empty keeps them all.
        vocab: the tokenizer's vocabulary size (:func:`~experiments.tiny.tiny_tokenizer`).
        feedback: the multi-attempt env's feedback string (``"answer"`` quotes the rejected
            answer, ``"binary"`` is the paper's), in the warm start, RL and evaluation.
        warm_traces, warm_steps, warm_batch, warm_lr, repeat_prob: the supervised warm start
            (see :mod:`~experiments.replicate.warmstart`).
        warm_warmup: the warm start's linear learning-rate warm-up, in steps (then cosine
            decay).
        warm_multi: the share of multi-attempt conversations among the warm-start traces (the
            rest are single-turn).
        warm_attempts: the budgets of the warm start's multi-attempt conversations, drawn per
            conversation (``(low, high)``).
        steps: RL steps of the multi-attempt arm.
        single_steps: RL steps of the single-turn arm, chosen for equal compute (a
            multi-attempt step costs several single-turn ones); its model after ``steps``
            steps is evaluated too (equal steps). At least ``steps``.
        problems_per_step, group: problems per RL step and episodes per problem (the RLOO
            group).
        lr: the RL learning rate (AdamW).
        kl: the coefficient of the KL term to the warm start (k3 estimator; 0: none).
        reward: the multi-attempt arm's reward scheme (the paper's ``"paper"``; any
            registered name, for ablations); the single-turn arm keeps ``"paper-single"``.
        max_tokens: model tokens per episode, across attempts.
        attempts: the multi-attempt arm's budget, drawn per episode (the paper's U{1..5}).
        eval_attempts: the evaluation budget (accuracy at k = 1..eval_attempts).
        checkpoint_every: RL steps between checkpoints (a killed run resumes there).
    """

    seeds: int = 3
    hidden: int = 128
    layers: int = 4
    vocab: int = 1024
    feedback: str = "answer"
    train_problems: int = 1024
    eval_problems: int = 300
    level: int = 1
    divisors: tuple[int, ...] = ()
    warm_traces: int = 3000
    warm_steps: int = 300
    warm_batch: int = 64
    warm_lr: float = 1e-3
    warm_warmup: int = 0
    repeat_prob: float = 0.35
    warm_multi: float = 0.5
    warm_attempts: tuple[int, int] = (1, 5)
    steps: int = 150
    single_steps: int = 750
    problems_per_step: int = 8
    group: int = 8
    lr: float = 5e-4
    kl: float = 0.1
    reward: str = "paper"
    baseline: str = "attempt"
    max_tokens: int = 64
    attempts: tuple[int, int] = (1, 5)
    eval_attempts: int = 5
    checkpoint_every: int = 25

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                number
                and value <= 0
                and field.name not in ("repeat_prob", "kl", "warm_multi", "warm_warmup")
            ):
                raise ConfigError(f"{field.name}: expected a positive number, got {value!r}")
        if not 0 <= self.warm_warmup < self.warm_steps:
            raise ConfigError(
                f"warm_warmup: expected 0 <= steps < warm_steps ({self.warm_steps}), "
                f"got {self.warm_warmup!r}"
            )
        if self.kl < 0:
            raise ConfigError(f"kl: expected >= 0, got {self.kl!r}")
        if not 0 <= self.repeat_prob < 1:
            raise ConfigError(f"repeat_prob: expected 0 <= p < 1, got {self.repeat_prob!r}")
        if not 0 <= self.warm_multi <= 1:
            raise ConfigError(f"warm_multi: expected 0 <= share <= 1, got {self.warm_multi!r}")
        for name in ("attempts", "warm_attempts"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ConfigError(f"{name}: expected 1 <= low <= high, got {(low, high)!r}")
        if not 1 <= self.level <= 5:
            raise ConfigError(f"level: expected 1..5, got {self.level!r}")
        allowed = level_divisors(self.level)
        if any(m not in allowed for m in self.divisors):
            raise ConfigError(
                f"divisors: level {self.level} draws divisors {allowed.start}..{allowed.stop - 1},"
                f" got {self.divisors!r}"
            )
        get_feedback(self.feedback)  # an unknown name is refused with the known ones
        if self.single_steps < self.steps:
            raise ConfigError(
                f"single_steps: expected at least steps ({self.steps}), got {self.single_steps}"
            )
        if self.baseline not in ("attempt", "episode"):
            raise ConfigError(f"baseline: expected 'attempt' or 'episode', got {self.baseline!r}")
        if self.group < 2:
            raise ConfigError(
                f"group: RLOO needs at least 2 episodes per problem, got {self.group}"
            )

    def to_json(self) -> dict[str, Any]:
        """The settings as saved with a run's results (tuples become lists)."""
        saved: dict[str, Any] = json.loads(json.dumps(self.__dict__))
        return saved

    def changed_from(self, saved: Mapping[str, Any]) -> list[str]:
        """The fields in which these settings differ from a run's saved ones (:meth:`to_json`).

        A field the saved settings lack counts as its default: a run saved before the field
        existed was made with that value, so adding a field does not orphan earlier runs.

        Examples:
            >>> saved = Settings().to_json()
            >>> del saved["divisors"]
            >>> Settings().changed_from(saved), Settings(divisors=(3,)).changed_from(saved)
            ([], ['divisors'])
        """
        wanted, defaults = self.to_json(), Settings().to_json()
        return sorted(k for k in wanted if saved.get(k, defaults[k]) != wanted[k])

    def env_config(self) -> EnvConfig:
        """The multi-attempt env's options (feedback), checked as a transported config."""
        return EnvConfig(MULTI, {"feedback": self.feedback})


#: The testbed (the sweep, :mod:`~experiments.replicate.sweep`): the cheapest setting found in
#: which a warm start fitted on never-repeat traces learns to read the feedback, at the bar
#: rather than safely under it (held-out repeat rate 3.3% and 7.4% in two fits of seed 0; the
#: bar is 5%). 128×2 (0.59M parameters), multi-attempt traces with 5 attempts only, 1000 steps
#: of 32 at lr 2e-3 (100 of them warm-up), 200 held-out problems.
TESTBED = Settings(
    layers=2, eval_problems=200, warm_steps=1000, warm_batch=32, warm_lr=2e-3, warm_warmup=100,
    warm_multi=1.0, warm_attempts=(5, 5),
)  # fmt: skip

PRESETS: dict[str, Settings] = {
    "full": Settings(),
    "quick": Settings(seeds=1, steps=60, single_steps=300, eval_problems=150),
    "testbed": TESTBED,
    "testbed-quick": dataclasses.replace(TESTBED, seeds=1, steps=60, single_steps=300,
                                         eval_problems=100),
    "mini": Settings(
        seeds=1, hidden=32, layers=1, train_problems=32, eval_problems=6, warm_traces=40,
        warm_steps=3, warm_batch=8, steps=2, single_steps=3, problems_per_step=2, group=2,
        max_tokens=24, eval_attempts=3, checkpoint_every=1,
    ),
}  # fmt: skip


def divisor(problem: Problem) -> int:
    """The divisor of a built-in remainder problem (the answer lies in ``0..divisor-1``)."""
    found = _DIVISOR.search(problem.problem)
    if found is None:
        raise ConfigError(f"problem {problem.id!r}: not a 'divided by $m$' remainder problem")
    return int(found.group(1))


def _draw(seed: int, count: int, settings: Settings) -> list[Problem]:
    """About ``count`` generated remainder problems with the settings' divisors, in order.

    Without a divisor filter these are exactly the generator's first ``count`` problems;
    with one, the pool is enlarged by the share of divisors kept (twice over) and filtered.
    """
    keep = set(settings.divisors)
    share = len(keep) / len(level_divisors(settings.level)) if keep else 1.0
    pool = BuiltinProblems(seed, size=count if not keep else int(2 * count / share) + 50,
                           levels=(settings.level,), families=("remainder",))  # fmt: skip
    return [p for p in pool if not keep or divisor(p) in keep]


def problem_sets(settings: Settings) -> tuple[list[Problem], list[Problem], int]:
    """The training and held-out evaluation problems, and the overlap dropped.

    Returns:
        ``(train, evaluation, dropped)``: ``dropped`` counts the evaluation candidates left
        out because the training set holds the same statement (``find_overlap``).
    """
    train = _draw(1000, settings.train_problems, settings)[: settings.train_problems]
    # Candidates from another generator seed; the first ones that appear nowhere in the
    # training set (nor earlier in the evaluation set) are kept.
    candidates = _draw(2000, 4 * settings.eval_problems, settings)
    overlap = {eval_id for _, eval_id in find_overlap(train, candidates)}
    evaluation: list[Problem] = []
    seen: set[str] = set()
    for problem in candidates:
        if problem.id not in overlap and problem.problem not in seen:
            evaluation.append(problem)
            seen.add(problem.problem)
        if len(evaluation) == settings.eval_problems:
            break
    if len(train) < settings.train_problems or len(evaluation) < settings.eval_problems:
        raise ConfigError(
            f"divisors {settings.divisors!r} at level {settings.level}: found "
            f"{len(train)}/{settings.train_problems} training and "
            f"{len(evaluation)}/{settings.eval_problems} distinct evaluation problems"
        )
    if find_overlap(train, evaluation):
        raise AssertionError("the evaluation set still overlaps the training set")
    skipped = sum(p.id in overlap for p in candidates[: candidates.index(evaluation[-1]) + 1])
    return train, evaluation, skipped
