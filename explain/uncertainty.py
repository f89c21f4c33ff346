"""How sure is a scorecard's comparison? Paired differences with a bootstrap interval and a sign test.

A map and a control are scored on the same images, so the fair comparison is per image: the difference of
their areas under the curve, signed so that positive means the map did better. Over the sample, three
numbers say how clear the advantage is: the mean difference with a seeded percentile-bootstrap 95%
confidence interval (Efron and Tibshirani, 1993), the share of images the map wins, and a two-sided sign
test of wins against losses (ties left out). NumPy and SciPy only.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 2022


def bootstrap_ci(
    values: np.ndarray, resamples: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (resampling images with replacement)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def sign_test(differences: np.ndarray) -> float:
    """Two-sided sign-test p-value of more wins (> 0) than losses (< 0); ties are left out."""
    differences = np.asarray(differences, dtype=np.float64).reshape(-1)
    wins, losses = int((differences > 0).sum()), int((differences < 0).sum())
    if wins + losses == 0:
        return 1.0
    from scipy import stats

    return float(stats.binomtest(wins, wins + losses, 0.5).pvalue)


def paired(differences: np.ndarray, seed: int = BOOTSTRAP_SEED, resamples: int = RESAMPLES) -> dict:
    """The scorecard's summary of per-image differences (positive: the map did better than the control)."""
    differences = np.asarray(differences, dtype=np.float64).reshape(-1)
    differences = differences[np.isfinite(differences)]
    low, high = bootstrap_ci(differences, resamples=resamples, seed=seed)
    return {
        "difference": float(differences.mean()) if differences.size else None,
        "ci": [low, high] if differences.size else None,
        "win_share": float((differences > 0).mean()) if differences.size else None,
        "sign_p": sign_test(differences),
        "images": int(differences.size),
    }


def above_zero(summary: dict) -> bool:
    """Whether the advantage is clear: the whole confidence interval lies above zero."""
    return summary.get("ci") is not None and summary["ci"][0] > 0
