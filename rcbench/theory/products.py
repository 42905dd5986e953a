"""Products of random matrices: the Lyapunov spectrum of Gaussian matrix products (paper A, external theory).

Paper A attributes the rank collapse of vanilla linear networks to the spectral instability of products of random
matrices. For ``W_l`` i.i.d. ``d x d`` with i.i.d. ``N(0, v)`` entries, Newman (1986, "The distribution of Lyapunov
exponents: exact results for random matrices", Commun. Math. Phys. 103) gives the exact Lyapunov spectrum of
``W_L ... W_1``:

    lambda_k = 1/2 [ log(2 v) + psi((d - k + 1) / 2) ],   k = 1 .. d,

with ``psi`` the digamma function. Hence the log-ratio of the top two singular values of the product decays
linearly in depth at the rate

    d/dl log(sigma_2 / sigma_1) = -(lambda_1 - lambda_2) = -1/2 [ psi(d/2) - psi((d-1)/2) ]  ~  -1/(2d).

The rate does not depend on the variance ``v`` and is the same for left and right products (the Gaussian law is
rotation invariant), so it applies to ``H_l = H_0 W_1^T ... W_l^T`` in rcbench's ``(n, d)`` layout as well as to the
paper's ``W_l ... W_1 X``. It is *not* one of paper A's claims; it is the rate the products-of-random-matrices
mechanism predicts, used by claim A2's paper-scale profile.

Fluctuations. Through the QR recursion of the product (``Q_l R_l = W_l Q_(l-1)``), the diagonal entries of the
``R_l`` of a Gaussian product are independent, ``R_kk ~ chi_(d-k+1)`` (times ``sqrt v``), so
``log(sigma_k / sigma_1)`` of the product is, up to O(1), a random walk whose increments
``log R_kk - log R_11`` have mean ``(psi((d-k+1)/2) - psi(d/2)) / 2`` and variance
``(psi'(d/2) + psi'((d-k+1)/2)) / 4`` (``Var log chi^2_m = psi'(m/2)``). Checked by simulation (400 products of
1000 factors): per-layer sd of ``log(sigma_2/sigma_1)`` 0.398, 0.266, 0.184 at d = 8, 16, 32 against 0.392, 0.263,
0.181. :func:`collapse_margin` turns this into the z-margin of a "collapsed" threshold at depth ``L`` (claims A2,
A3, A5).
"""

from __future__ import annotations

import math

from scipy.special import digamma, polygamma

__all__ = ["gaussian_lyapunov_spectrum", "gaussian_lyapunov_gap", "log_singular_ratio_rate",
           "log_singular_ratio_moments", "collapse_margin"]


def _check_dim(d) -> int:
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    return d


def gaussian_lyapunov_spectrum(d: int, variance: float = 1.0) -> list[float]:
    """Newman's exponents ``lambda_1 > ... > lambda_d`` of products of ``d x d`` matrices with i.i.d.
    ``N(0, variance)`` entries: ``lambda_k = (log(2 variance) + psi((d - k + 1) / 2)) / 2``."""
    d = _check_dim(d)
    if not (variance > 0 and math.isfinite(variance)):
        raise ValueError(f"variance must be positive and finite, got {variance!r}")
    return [0.5 * (math.log(2.0 * variance) + float(digamma((d - k + 1) / 2.0))) for k in range(1, d + 1)]


def gaussian_lyapunov_gap(d: int) -> float:
    """``lambda_1 - lambda_2 = (psi(d/2) - psi((d-1)/2)) / 2`` (positive, about ``1/(2d)`` for large ``d``)."""
    d = _check_dim(d)
    return 0.5 * float(digamma(d / 2.0) - digamma((d - 1) / 2.0))


def log_singular_ratio_rate(d: int) -> float:
    """Predicted slope of ``log(sigma_2 / sigma_1)`` of the product against depth: ``-gaussian_lyapunov_gap(d)``."""
    return -gaussian_lyapunov_gap(d)


def log_singular_ratio_moments(d: int, k: int = 2) -> tuple[float, float]:
    """Per-layer mean and variance of the random walk ``log(sigma_k / sigma_1)`` of a product of ``d x d`` Gaussian
    matrices: ``((psi((d-k+1)/2) - psi(d/2)) / 2, (psi'(d/2) + psi'((d-k+1)/2)) / 4)`` (module docstring)."""
    d = _check_dim(d)
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= d:
        raise ValueError(f"k must be an integer in [2, d={d}], got {k!r}")
    m = (d - k + 1) / 2.0
    mean = 0.5 * float(digamma(m) - digamma(d / 2.0))
    var = 0.25 * float(polygamma(1, d / 2.0) + polygamma(1, m))
    return mean, var


def collapse_margin(d: int, depth: int, log_threshold: float, k: int = 2) -> float:
    """z-margin of ``log(sigma_k / sigma_1) < log_threshold`` at layer ``depth`` of a Gaussian product:
    ``(log_threshold - mean depth) / (sd sqrt(depth))`` with the moments of :func:`log_singular_ratio_moments`
    (a start with ``sigma_k ~ sigma_1``). The per-chain probability that the threshold is not yet crossed is
    ``Phi(-z)``; ``-inf`` at depth 0 with a negative threshold."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an integer >= 0, got {depth!r}")
    mean, var = log_singular_ratio_moments(d, k)
    if depth == 0:
        return math.inf if log_threshold > 0 else -math.inf
    return (log_threshold - mean * depth) / math.sqrt(var * depth)
