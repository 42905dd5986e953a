"""Paper D at finite width: the noise floors of an LN-MLP ``x_{l+1} = LN(sigma(W_l x_l))`` (``W ~ N(0, 1/d)``, a batch
of ``n`` samples) around the mean-field picture, and the drift of a linear one. Our derivations ([I], not statements
of the paper), each checked by simulation (gram-chain sampler, n = 10, degeneracy-10 input, 20-40 seeds):

* :func:`correlation_noise_var` — each block draws the ``d`` features of two samples independently given the previous
  layer, so the sample correlation of a pair whose mean-field correlation is ~0 carries an independent error of
  variance ``1/d``; the mean-field map contracts older errors by ``kappa_hat'(0) = beta_0`` per layer. After ``l``
  blocks the error variance is ``(1/d) sum_{k<l} beta_0^{2k} = (1 - beta_0^{2l}) / (d (1 - beta_0^2))``
  (``l/d`` for the identity, ``beta_0 = 1``).
* :func:`gap_floor` — near isometry ``G = I + E`` (unit diagonal after LN), ``-log I(G) ~ ||E||_F^2 / (2n)
  = (1/n) sum_{i<j} rho_ij^2``, so the expected post-LN gap floor is ``(n - 1)/2`` times the correlation variance:
  ``(n - 1) / (2 d (1 - beta_0^2))`` at stationarity. Measured plateaus (l = 30-40) against it: relu 0.0195 /
  0.00988 / 0.00508 vs 0.0195 / 0.00974 / 0.00487 at d = 500 / 1000 / 2000; he2 0.0046 vs 0.0045, sin 0.0160 vs
  0.0163 at d = 1000; at d = 100 the plateau is 10-17% above (relu 0.114 vs 0.097: second order in 1/d).
* :func:`potential_floor` — the potential ``gamma = max_{i<j} Psi(rho_ij)``, ``Psi(rho) ~ |rho|`` near 0, is the
  maximum of ``n(n-1)/2`` such errors; its ``1 - q`` quantile (union bound) is ``z sqrt(var)`` with
  ``z = Phi^{-1}(1 - q / (n (n - 1)))`` (3.69 at n = 10, q = 0.01).
* :func:`linear_gap_drift` — for the identity activation the mean-field gap is constant, but each finite layer
  ``G -> H W^T W H^T`` is Wishart with ``d`` degrees of freedom: ``E log det`` falls by ``~ n(n+1)/(2d)`` while LN's
  row scaling gives back ``log AM/GM ~ 1/d``, so the gap rises by ``(n - 1)/(2d)`` per layer (measured over 19
  layers, 40 seeds: 0.165 / 0.054 / 0.045 vs 0.171 / 0.086 / 0.043 at d = 500 / 1000 / 2000).
* :func:`linear_gap_sd` — the spread of that random walk, ``c sqrt(layers / d)``; the Wishart log-determinant alone
  gives ``c = sqrt(2/n)`` (0.45 at n = 10); measured 1.07 / 0.97 / 0.94 at d = 500 / 1000 / 2000 (n = 10,
  degeneracy 10: the rows' normalisation adds to it), so :data:`LINEAR_GAP_SD_CONSTANT` = 1.07, the largest.
"""

from __future__ import annotations

import math

__all__ = [
    "LINEAR_GAP_SD_CONSTANT",
    "correlation_noise_var",
    "max_pair_quantile",
    "potential_floor",
    "gap_floor",
    "linear_gap_drift",
    "linear_gap_sd",
    "UNCENTRED_GAP_SD_CONSTANT",
    "no_gain_lower_bound",
    "geometric_midpoint",
    "plateau_ratio_sd",
]

#: measured constant ``c`` of :func:`linear_gap_sd` (n = 10, degeneracy-10 input of ``degenerate_input``; the largest
#: of 1.07 / 0.97 / 0.94 at d = 500 / 1000 / 2000 over 40 seeds and 19 layers)
LINEAR_GAP_SD_CONSTANT = 1.07


def _check(d, n=2):
    if not (d >= 1 and n >= 2):
        raise ValueError(f"need d >= 1 and n >= 2, got d={d!r}, n={n!r}")


def correlation_noise_var(d: int, beta0: float, layer: int | None = None) -> float:
    """Variance of the finite-width error of one near-zero correlation after ``layer`` blocks (``None``: the
    stationary value ``1 / (d (1 - beta0^2))``; infinite for ``beta0 = 1``)."""
    _check(d)
    b2 = float(beta0) ** 2
    if layer is None:
        return math.inf if b2 >= 1 else 1.0 / (d * (1.0 - b2))
    if layer < 0:
        raise ValueError(f"layer must be >= 0, got {layer}")
    s = float(layer) if b2 >= 1 else (1.0 - b2**layer) / (1.0 - b2)
    return s / d


def max_pair_quantile(n: int, q: float = 0.01) -> float:
    """``z`` with ``P(max over the n(n-1)/2 pairs of |Z_ij| > z) <= q`` for standard normal ``Z_ij`` (union bound):
    ``Phi^{-1}(1 - q / (n (n - 1)))``."""
    from scipy.stats import norm

    _check(1, n)
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    return float(norm.ppf(1 - q / (n * (n - 1))))


def potential_floor(d: int, n: int, beta0: float, layer: int | None = None, q: float = 0.01) -> float:
    """The finite-width floor of the potential gamma: the ``1 - q`` quantile of the largest of the ``n(n-1)/2``
    correlation errors, ``max_pair_quantile(n, q) sqrt(correlation_noise_var(d, beta0, layer))``."""
    return max_pair_quantile(n, q) * math.sqrt(correlation_noise_var(d, beta0, layer))


def gap_floor(d: int, n: int, beta0: float, layer: int | None = None) -> float:
    """Expected post-LN isometry-gap floor ``(n - 1)/2 * correlation_noise_var(d, beta0, layer)``."""
    _check(d, n)
    return 0.5 * (n - 1) * correlation_noise_var(d, beta0, layer)


def linear_gap_drift(d: int, n: int, layers: int) -> float:
    """Expected rise of the isometry gap of an identity-activation LN net over ``layers`` layers: ``(n-1) layers/(2d)``."""
    _check(d, n)
    return 0.5 * (n - 1) * layers / d


def linear_gap_sd(d: int, layers: int, constant: float = LINEAR_GAP_SD_CONSTANT) -> float:
    """Standard deviation (one seed) of that rise: ``constant sqrt(layers / d)``."""
    _check(d)
    return constant * math.sqrt(max(layers, 0) / d)


#: measured constant of the per-seed spread of ``gap(L) - gap(1)``, ``c sqrt((L - 1)/d)``, of LN nets whose activation
#: is not centred after it (``ln_nocenter``, D13; ``sigma(LN(W x))``, D14): relu 2.08, exp 2.92 (40 seeds at d = 1000,
#: L = 30, degeneracy 100: per-seed ratio sd 0.077 / 0.108 at gap(1) ~ 4.6); the largest
UNCENTRED_GAP_SD_CONSTANT = 2.92


def no_gain_lower_bound(gap1: float, d: int, layers: int, *, drift: float = 0.0, constant: float,
                        z: float) -> float:
    """Lower bound on ``gap(L) / gap(1)`` for a net that gains no isometry: its expected ratio is ``>= 1 + drift /
    gap1`` and one seed deviates by ``constant sqrt(layers/d)`` (one sd), so ``1 + (drift - z sd) / gap1``."""
    return 1.0 + (drift - z * linear_gap_sd(d, layers, constant)) / gap1


def geometric_midpoint(a: float, b: float) -> float:
    """``sqrt(a b)``: the decision boundary between two predicted ratios that is equally far from both on the log
    scale (the scale on which a contraction acts), used to separate a contracting arm from a non-contracting one."""
    if not (a > 0 and b > 0):
        raise ValueError(f"need positive predictions, got {a!r}, {b!r}")
    return math.sqrt(a * b)


def plateau_ratio_sd(n: int, beta0: float, window: int, seeds: int) -> float:
    """Relative sd of the ratio of two disjoint plateau averages (``window`` layers x ``seeds`` each) of the post-LN
    gap floor: one layer's floor is ``(1/n) sum_{i<j} rho_ij^2``, a scaled chi-square with ``m = n(n-1)/2`` degrees
    of freedom (relative variance ``2/m``), correlated over layers like ``beta_0^{2k}`` (integrated autocorrelation
    ``tau = (1 + beta_0^2)/(1 - beta_0^2)``), so each average has relative variance ``2 tau / (m window seeds)`` and
    the ratio twice that."""
    m = n * (n - 1) / 2
    b2 = beta0**2
    tau = (1 + b2) / (1 - b2)
    return math.sqrt(2 * 2 * tau / (m * window * seeds))
