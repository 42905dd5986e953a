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
"""

from __future__ import annotations

import math

from scipy.special import digamma

__all__ = ["gaussian_lyapunov_spectrum", "gaussian_lyapunov_gap", "log_singular_ratio_rate"]


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
