"""Tests of rcbench.stats against closed forms and simulated coverage."""

import math

import numpy as np
import pytest

from rcbench import stats


def test_linear_fit_recovers_slope_and_covers():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(400):
        x = np.arange(20.0)
        y = -0.3 * x + 1.0 + rng.normal(0, 0.5, x.size)
        fit = stats.linear_fit(x, y, confidence=0.9)
        covered += fit.slope_low <= -0.3 <= fit.slope_high
    assert 0.85 <= covered / 400 <= 0.95  # nominal 90 % coverage


def test_slope_on_logs():
    d = np.array([16, 32, 64, 128, 256.0])
    fit = stats.slope(d, 3 * d**-0.5, logx=True, logy=True)
    assert fit.slope == pytest.approx(-0.5) and fit.r2 == pytest.approx(1.0)
    rate = stats.slope(np.arange(10), np.exp(-0.2 * np.arange(10)), logy=True)
    assert rate.slope == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="non-positive"):
        stats.slope([1, 2, 3], [1, 0, 2], logy=True)


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN or inf"):
        stats.linear_fit([1, 2, 3], [1, float("nan"), 2])
    with pytest.raises(ValueError, match="at least 3"):
        stats.linear_fit([1, 2], [1, 2])
    with pytest.raises(ValueError, match="different lengths"):
        stats.linear_fit([1, 2, 3], [1, 2])


def test_intervals():
    rng = np.random.default_rng(1)
    a = rng.normal(2.0, 1.0, 50)
    mi = stats.mean_interval(a)
    assert mi.contains(a.mean()) and mi.low < 2.0 < mi.high
    bi = stats.bootstrap_interval(a, seed=0)
    assert bi.low < a.mean() < bi.high
    assert stats.lower_confidence_bound(a) < a.mean() < stats.upper_confidence_bound(a)
    assert stats.upper_confidence_bound([1.0]) == math.inf


def test_tolerance_from_spread_has_stated_false_failure_rate():
    """A new run falls outside mean +- tol with the stated probability (normal data, t prediction interval)."""
    rng = np.random.default_rng(2)
    misses, trials = 0, 4000
    for _ in range(trials):
        pilot = rng.normal(0, 1, 10)
        tol = stats.tolerance_from_spread(pilot, false_failure_rate=0.05)
        misses += abs(rng.normal(0, 1) - pilot.mean()) > tol
    assert 0.035 <= misses / trials <= 0.065


def test_binomial_interval():
    iv = stats.binomial_interval(1, 20)
    assert iv.estimate == 0.05 and iv.low < 0.05 < iv.high
    assert stats.binomial_interval(0, 20).low == 0.0
    with pytest.raises(ValueError):
        stats.binomial_interval(3, 2)


def test_summarize():
    s = stats.summarize([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0, "n": 3}


def test_trend_threshold_has_its_false_pass_rate_on_trendless_curves():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    k, alpha = 51, 0.01
    t = stats.trend_threshold(k, alpha=alpha)
    rhos = np.array([spearmanr(np.arange(k), rng.standard_normal(k)).statistic for _ in range(4000)])
    assert abs((rhos > t).mean() - alpha) < 0.006
    assert stats.trend_threshold(101) < stats.trend_threshold(51) < 1
    for bad in (5, 10.5, True):
        with pytest.raises(ValueError, match="points"):
            stats.trend_threshold(bad)
    with pytest.raises(ValueError, match="alpha"):
        stats.trend_threshold(20, alpha=0.7)
