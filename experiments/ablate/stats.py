"""Means with 95% intervals over seeds, and paired differences against a baseline.

With S seeds the interval is Student's t: ``mean ± t(0.975, S-1) · sd / √S``. A paired
difference is taken per seed (the same warm start, data order and sampling seed under both
schemes), so the seed-to-seed spread the two share cancels; it is *resolved* when its
interval excludes 0, and *within noise* otherwise.

Examples:
    >>> interval([0.50, 0.52, 0.54])
    (0.52, 0.4703..., 0.5696...)
    >>> paired([0.6, 0.62, 0.61], [0.5, 0.52, 0.53])["resolved"]
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# Student's t at 0.975 for 1..30 degrees of freedom (the normal's 1.96 beyond).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom.

    Examples:
        >>> t975(2), t975(1000)
        (4.303, 1.96)
    """
    if df < 1:
        raise ValueError(f"df: expected at least 1, got {df}")
    return _T975[df - 1] if df <= len(_T975) else 1.96


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean and its 95% interval; NaN values are left out.

    One value gives an interval of NaN (no spread to estimate); none gives all NaN.
    """
    kept = [float(v) for v in values if not math.isnan(v)]
    if not kept:
        return (math.nan, math.nan, math.nan)
    mean = sum(kept) / len(kept)
    if len(kept) < 2:
        return (mean, math.nan, math.nan)
    sd = math.sqrt(sum((v - mean) ** 2 for v in kept) / (len(kept) - 1))
    half = t975(len(kept) - 1) * sd / math.sqrt(len(kept))
    return (mean, mean - half, mean + half)


def paired(scheme: Sequence[float], baseline: Sequence[float]) -> dict[str, Any]:
    """The per-seed difference ``scheme - baseline``, its mean and 95% interval, and a verdict.

    Returns:
        ``{"differences", "mean", "low", "high", "resolved"}``; ``resolved`` is whether the
        interval excludes 0 (``False`` when it cannot be estimated).
    """
    if len(scheme) != len(baseline):
        raise ValueError(f"paired: {len(scheme)} values against {len(baseline)}")
    differences = [a - b for a, b in zip(scheme, baseline, strict=True)]
    mean, low, high = interval(differences)
    resolved = not math.isnan(low) and (low > 0 or high < 0)
    return {"differences": differences, "mean": mean, "low": low, "high": high,
            "resolved": resolved}  # fmt: skip
