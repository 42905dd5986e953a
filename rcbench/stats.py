"""How a claim decides: fits with confidence intervals, bootstrap intervals, one-sided bounds and tolerances
derived from the spread over seeds at a stated false-failure rate.

Every claim test uses these; none hand-rolls its own fit. Inputs are array-likes (numpy, pandas, torch on CPU).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _st

__all__ = [
    "Fit",
    "linear_fit",
    "slope",
    "Interval",
    "mean_interval",
    "bootstrap_interval",
    "upper_confidence_bound",
    "lower_confidence_bound",
    "tolerance_from_spread",
    "binomial_interval",
    "trend_threshold",
    "summarize",
]


def _array(values, name: str) -> np.ndarray:
    a = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; a diverged run must be reported, not fitted")
    return a


def _confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return confidence


@dataclass(frozen=True)
class Fit:
    """Least-squares line ``y = slope * x + intercept`` with a two-sided ``confidence`` interval on the slope."""

    slope: float
    intercept: float
    slope_low: float
    slope_high: float
    stderr: float
    r2: float
    n: int
    confidence: float

    def as_dict(self) -> dict:
        return asdict(self)


def linear_fit(x, y, *, confidence: float = 0.95) -> Fit:
    """Ordinary least squares of ``y`` on ``x`` with a Student-t interval on the slope (``n - 2`` dof)."""
    x, y, confidence = _array(x, "x"), _array(y, "y"), _confidence(confidence)
    if x.size != y.size:
        raise ValueError(f"x and y have different lengths ({x.size} and {y.size})")
    if x.size < 3:
        raise ValueError("a slope with a confidence interval needs at least 3 points")
    res = _st.linregress(x, y)
    t = _st.t.ppf(0.5 + confidence / 2, x.size - 2)
    return Fit(
        slope=float(res.slope),
        intercept=float(res.intercept),
        slope_low=float(res.slope - t * res.stderr),
        slope_high=float(res.slope + t * res.stderr),
        stderr=float(res.stderr),
        r2=float(res.rvalue**2),
        n=int(x.size),
        confidence=confidence,
    )


def slope(x, y, *, logx: bool = False, logy: bool = False, confidence: float = 0.95) -> Fit:
    """:func:`linear_fit` on natural logs where asked: ``logy`` for "log quantity vs depth" (an exponential rate),
    ``logx`` and ``logy`` for "log-log vs width" (a power law). Non-positive values on a log axis raise."""
    x, y = _array(x, "x"), _array(y, "y")
    for flag, a, name in ((logx, x, "x"), (logy, y, "y")):
        if flag and np.any(a <= 0):
            raise ValueError(f"{name} has non-positive values and cannot go on a log axis")
    return linear_fit(np.log(x) if logx else x, np.log(y) if logy else y, confidence=confidence)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval ``[low, high]`` at ``confidence``."""

    estimate: float
    low: float
    high: float
    confidence: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def mean_interval(values, *, confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean over seeds."""
    a, confidence = _array(values, "values"), _confidence(confidence)
    m = float(a.mean())
    if a.size < 2:
        return Interval(m, -math.inf, math.inf, confidence)
    h = _st.t.ppf(0.5 + confidence / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    return Interval(m, m - h, m + h, confidence)


def bootstrap_interval(values, statistic=np.mean, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0):
    """Bootstrap (BCa) interval of ``statistic`` over seeds, via :func:`scipy.stats.bootstrap`."""
    a = _array(values, "values")
    est = float(statistic(a))
    if a.size < 2 or np.all(a == a[0]):
        return Interval(est, est, est, confidence)
    res = _st.bootstrap(
        (a,), statistic, confidence_level=confidence, n_resamples=n_resamples, random_state=seed, method="BCa"
    )
    lo, hi = res.confidence_interval
    if not (np.isfinite(lo) and np.isfinite(hi)):  # BCa degenerates for tiny samples; fall back to percentiles
        res = _st.bootstrap(
            (a,), statistic, confidence_level=confidence, n_resamples=n_resamples, random_state=seed, method="percentile"
        )
        lo, hi = res.confidence_interval
    return Interval(est, float(lo), float(hi), confidence)


def upper_confidence_bound(values, *, confidence: float = 0.95) -> float:
    """One-sided Student-t upper bound on the mean: ``mean + t_{conf, k-1} * s / sqrt(k)``.

    A claim "E[X] <= b" is contradicted at level ``1 - confidence`` when the *lower* bound exceeds ``b``; a claim
    that "E[X] <= b" is demonstrated when this upper bound is below ``b``.
    """
    a = _array(values, "values")
    if a.size < 2:
        return math.inf
    return float(a.mean() + _st.t.ppf(confidence, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))


def lower_confidence_bound(values, *, confidence: float = 0.95) -> float:
    """One-sided Student-t lower bound on the mean (see :func:`upper_confidence_bound`)."""
    a = _array(values, "values")
    if a.size < 2:
        return -math.inf
    return float(a.mean() - _st.t.ppf(confidence, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))


def tolerance_from_spread(values, *, false_failure_rate: float = 0.01, two_sided: bool = True) -> float:
    """Half-width of a Student-t *prediction* interval for one new run, from pilot runs over seeds.

    ``tol = t_{1 - a, k-1} * s * sqrt(1 + 1/k)`` with ``a = rate/2`` (two-sided) or ``rate`` (one-sided), ``s``
    the sample standard deviation of the ``k`` pilot values. A new run of the same experiment falls outside
    ``mean +- tol`` with probability ``false_failure_rate`` under normality: the claim's false-failure rate.
    """
    a = _array(values, "values")
    if a.size < 2:
        raise ValueError("a tolerance from the spread needs at least 2 pilot values")
    if not 0 < false_failure_rate < 1:
        raise ValueError(f"false_failure_rate must lie in (0, 1), got {false_failure_rate}")
    q = 1 - (false_failure_rate / 2 if two_sided else false_failure_rate)
    return float(_st.t.ppf(q, a.size - 1) * a.std(ddof=1) * math.sqrt(1 + 1 / a.size))


def binomial_interval(successes: int, trials: int, *, confidence: float = 0.95) -> Interval:
    """Clopper-Pearson interval for a rate (for example a claim's empirical failure rate over reseeds)."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    ci = _st.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="exact")
    return Interval(successes / trials, float(ci.low), float(ci.high), confidence)


def trend_threshold(points: int, *, alpha: float = 1e-3) -> float:
    """Smallest Spearman ``rho`` of ``points`` (x, y) pairs that rejects "no monotone trend" one-sided at level
    ``alpha``: ``z_{1 - alpha} / sqrt(points - 1)`` (the large-sample null law ``rho ~ N(0, 1/(points - 1))`` of
    independent points). A directional claim ("increases with depth") is checked as ``rho > trend_threshold``:
    a curve without a trend passes with probability about ``alpha``. Needs ``points >= 10`` (normal approximation).
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 10:
        raise ValueError(f"points must be an integer >= 10 for the normal approximation, got {points!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")
    return float(_st.norm.ppf(1 - alpha) / math.sqrt(points - 1))


def summarize(values) -> dict:
    """Mean, standard deviation (ddof 1), min, max and count of a statistic over seeds, for the records."""
    a = _array(values, "values")
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
        "n": int(a.size),
    }
