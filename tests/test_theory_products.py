"""Unit tests of rcbench.theory.products (Newman's Lyapunov spectrum of Gaussian matrix products)."""

import math

import numpy as np
import pytest

from rcbench.theory import products as P


def test_spectrum_is_decreasing_and_gap_matches():
    for d in (2, 3, 8, 64, 513):
        lam = P.gaussian_lyapunov_spectrum(d)
        assert len(lam) == d
        assert all(a > b for a, b in zip(lam, lam[1:]))
        assert math.isclose(lam[0] - lam[1], P.gaussian_lyapunov_gap(d), rel_tol=1e-12)
        assert P.log_singular_ratio_rate(d) == -P.gaussian_lyapunov_gap(d)


def test_closed_forms():
    # d = 2: psi(1) - psi(1/2) = 2 log 2, so the gap is log 2
    assert math.isclose(P.gaussian_lyapunov_gap(2), math.log(2.0), rel_tol=1e-12)
    # top exponent of N(0, 1/d) products is 1/2 [log(2/d) + psi(d/2)] < 0 and -> 0 like -1/(2d)
    d = 200
    top = P.gaussian_lyapunov_spectrum(d, variance=1.0 / d)[0]
    assert -1.2 / (2 * d) < top < 0
    # large d: gap ~ 1/(2d)
    for d in (64, 256, 1024):
        assert abs(P.gaussian_lyapunov_gap(d) * 2 * d - 1) < 2.0 / d


def test_variance_only_shifts_the_spectrum():
    a = np.array(P.gaussian_lyapunov_spectrum(10, 1.0))
    b = np.array(P.gaussian_lyapunov_spectrum(10, 4.0))
    assert np.allclose(b - a, 0.5 * math.log(4.0))


def test_monte_carlo_top_exponent():
    """The top exponent of a 4x4 Gaussian product, estimated by renormalised vector iteration, matches Newman."""
    rng = np.random.default_rng(0)
    d, L = 4, 20000
    v = np.ones(d) / 2.0
    acc = 0.0
    for _ in range(L):
        v = rng.standard_normal((d, d)) @ v
        s = np.linalg.norm(v)
        acc += math.log(s)
        v /= s
    est = acc / L
    # per-step std of log-stretch is < 1, so the standard error is < 1/sqrt(L) = 0.007
    assert abs(est - P.gaussian_lyapunov_spectrum(d)[0]) < 0.03


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True, "8"])
def test_bad_dimension(bad):
    with pytest.raises(ValueError):
        P.gaussian_lyapunov_gap(bad)


def test_bad_variance():
    with pytest.raises(ValueError):
        P.gaussian_lyapunov_spectrum(4, 0.0)


def test_log_ratio_moments_monte_carlo():
    """The QR random walk of log(sigma_2/sigma_1): mean and variance per layer match the closed forms (d = 6,
    300 products of 200 factors; the sd of the sample sd is ~4%, of the mean ~0.6 sd/sqrt(200*300))."""
    rng = np.random.default_rng(1)
    d, S, L = 6, 300, 200
    mean, var = P.log_singular_ratio_moments(d)
    acc = np.zeros(S)
    Q = np.broadcast_to(np.eye(d), (S, d, d)).copy()
    for _ in range(L):
        Q, R = np.linalg.qr(rng.standard_normal((S, d, d)) @ Q)
        acc += np.log(np.abs(R[:, 1, 1])) - np.log(np.abs(R[:, 0, 0]))
    assert abs(acc.mean() / L - mean) < 4 * math.sqrt(var / (S * L))
    assert abs(acc.std() / math.sqrt(L * var) - 1) < 0.2


def test_collapse_margin():
    mean, var = P.log_singular_ratio_moments(32)
    assert math.isclose(P.collapse_margin(32, 2000, -1.5), (-1.5 - 2000 * mean) / math.sqrt(2000 * var))
    assert P.collapse_margin(32, 4000, -1.5) > P.collapse_margin(32, 2000, -1.5)  # deeper: larger margin
    assert P.collapse_margin(64, 2000, -1.5) < P.collapse_margin(32, 2000, -1.5)  # wider: slower collapse
    with pytest.raises(ValueError):
        P.log_singular_ratio_moments(8, k=9)
    with pytest.raises(ValueError):
        P.collapse_margin(8, -1, -1.5)
