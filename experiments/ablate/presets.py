"""An ablation's settings: the testbed, the reward schemes, the baseline; and the presets.

Examples:
    >>> ablation = PRESETS["paper"]
    >>> ablation.schemes[0], ablation.baseline, ablation.settings.seeds
    ('paper', 'paper', 3)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from experiments.replicate.settings import PRESETS as TESTBED
from experiments.replicate.settings import Settings
from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards import get_reward


@dataclasses.dataclass(frozen=True)
class Ablation:
    """N reward schemes × S seeds, each trained from the same warm start.

    Attributes:
        settings: the testbed (model, warm start, RL steps, evaluation); its ``reward`` is
            replaced by each scheme and its ``seeds`` is S. The warm start of a seed is fitted
            once and shared by every scheme, and each scheme's RL run of that seed uses the
            same data order and sampling seed, so schemes are compared in pairs.
        schemes: reward schemes, as names or ``"name:key=value"`` specs
            (:func:`~mathattempt_env.rewards.get_reward`).
        baseline: the scheme the others are compared against (one of ``schemes``).
    """

    settings: Settings
    schemes: tuple[str, ...]
    baseline: str

    def __post_init__(self) -> None:
        if not self.schemes:
            raise ConfigError("schemes: expected at least one reward scheme")
        if len(set(self.schemes)) != len(self.schemes):
            raise ConfigError(f"schemes: {list(self.schemes)} names a scheme twice")
        for scheme in self.schemes:
            get_reward(scheme)  # an unknown name or parameter fails here, before any training
        if self.baseline not in self.schemes:
            raise ConfigError(
                f"baseline: {self.baseline!r} is not one of the schemes {list(self.schemes)}"
            )

    def to_json(self) -> dict[str, Any]:
        """The ablation as JSON (what a resumed run must match)."""
        return {"settings": self.settings.to_json(), "schemes": list(self.schemes),
                "baseline": self.baseline}  # fmt: skip


#: The paper's scheme, binary, and two shaped ones: a penalty on repeating a rejected answer,
#: and a discount on later successes.
PAPER_SCHEMES = ("paper", "binary", "repeat-penalty", "discounted")

PRESETS: dict[str, Ablation] = {
    "paper": Ablation(TESTBED["testbed"], PAPER_SCHEMES, "paper"),
    "quick": Ablation(
        dataclasses.replace(TESTBED["testbed-quick"], seeds=2), PAPER_SCHEMES, "paper"
    ),
    "mini": Ablation(
        dataclasses.replace(TESTBED["mini"], seeds=2), ("paper", "binary", "paper:wrong=-1"),
        "paper",
    ),
}  # fmt: skip
