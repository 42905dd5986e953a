"""Closed forms and deterministic predictions of paper B (Daneshmand, Joudaki, Bach, *Batch normalization
orthogonalizes representations in deep random networks*, NeurIPS 2021, arXiv 2106.03970).

Layout. Paper B writes ``H`` as ``d x n`` (one column per sample); rcbench uses ``n x d``. Everything here is a
function of the spectrum of the ``n x n`` **sample Gram** (paper ``H^T H``, rcbench ``H H^T``) normalised to
trace one, i.e. of the squared singular values ``sigma^2`` of ``H / ||H||_F`` (``sum_i sigma_i^2 = 1``), so no
transposition is needed beyond that.

Contents
--------
* :func:`v_max`, :func:`gap_from_sigma2`, :func:`lyapunov_from_sigma2` — ``V`` (Eq. 2) and ``V_hat`` (Eq. 11) as
  functions of ``sigma^2``.
* :func:`sawa_p` — ``p_i(sigma) = E[sigma_i^2 w_i^2 / sum_k sigma_k^2 w_k^2]`` (Lemma 6, Eq. 13) by numerical
  quadrature of Sawa's integral (Lemma 9); :func:`sawa_p_monte_carlo` is the Monte Carlo cross-check.
* :func:`lemma8_terms` — the three members of Lemma 8's chain ``1/n - p_n <= (1 - 2n sigma_n^2/(n+2))(1/n -
  sigma_n^2) <= (1 - 2 sigma_n^2/3) V_hat``.
* :func:`mean_field_map`, :func:`iterate_mean_field` — the ``d -> infinity`` map ``sigma^2 -> p(sigma^2)`` of the
  Gram chain (App. C.2); :func:`contraction_factor` ``n/(n+2)`` is its linearisation at isotropy (our derivation,
  not stated in the paper).
* :func:`floor_level` — heuristic stationary ``E[V]`` ``sqrt((n-1)(n+2)^2 / (4n(n+1)d))`` (beyond the paper).
* :func:`mean_field_gaps`, :func:`layer_mean_gap`, :func:`width_slope_prediction`, :func:`slope_model_error` — the
  expected Fig. 2b statistic of a protocol (input spectrum, layers averaged, widths): the ``d -> infinity``
  transient and the floor added in quadrature (our model), and the error of a fitted slope it implies.
* :func:`theorem1_bound`, :func:`theorem5_rhs`, :func:`averaged_bound_rhs` (App. B.1),
  :func:`corollary3_bound`, :func:`theorem1_nonvacuous_width`, :func:`theorem1_unorthogonalised_margin`,
  :func:`lemma4_constant`,
  :func:`lemma4_tight_constant`, :func:`coupling_rank_one`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

__all__ = [
    "v_max",
    "gap_from_sigma2",
    "lyapunov_from_sigma2",
    "sawa_p",
    "sawa_p_monte_carlo",
    "lemma8_terms",
    "mean_field_map",
    "iterate_mean_field",
    "contraction_factor",
    "worst_case_rate",
    "floor_level",
    "mean_field_gaps",
    "layer_mean_gap",
    "width_slope_prediction",
    "slope_model_error",
    "vanilla_gap_typical",
    "vanilla_gap_law",
    "FLOOR_MODEL_SPREAD",
    "theorem1_bound",
    "theorem5_rhs",
    "averaged_bound_rhs",
    "corollary3_bound",
    "theorem1_nonvacuous_width",
    "theorem1_unorthogonalised_margin",
    "lemma4_constant",
    "lemma4_tight_constant",
    "coupling_rank_one",
]


def _n(n) -> int:
    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise ValueError(f"n (batch size) must be a positive integer, got {n!r}")
    return int(n)


def _sigma2(sigma2) -> np.ndarray:
    """Validate a spectrum: 1-d, finite, non-negative, not all zero; returned normalised to sum one (float64)."""
    s = np.asarray(sigma2, dtype=float)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"sigma2 must be a non-empty 1-d array of squared singular values, got shape {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s < 0) or s.sum() <= 0:
        raise ValueError("sigma2 must be finite, non-negative and not all zero")
    return s / s.sum()


# ---------------------------------------------------------------------------------------------------------------
# V and V_hat as functions of the normalised spectrum
# ---------------------------------------------------------------------------------------------------------------
def v_max(n: int) -> float:
    """Largest orthogonality gap ``sqrt(1 - 1/n)``, attained iff ``H`` has rank one (0.8660 for ``n = 4``)."""
    n = _n(n)
    return math.sqrt(1.0 - 1.0 / n)


def gap_from_sigma2(sigma2) -> float:
    """``V = ||diag(sigma^2) - I/n||_F = sqrt(sum_i sigma_i^4 - 1/n)`` for a trace-one spectrum (Eq. 2)."""
    s = _sigma2(sigma2)
    return float(np.linalg.norm(s - 1.0 / s.size))


def lyapunov_from_sigma2(sigma2) -> float:
    """``V_hat = 1/n - sigma_n^2`` (Eq. 11), ``sigma_n`` the smallest singular value of ``H / ||H||_F``."""
    s = _sigma2(sigma2)
    return float(1.0 / s.size - s.min())


# ---------------------------------------------------------------------------------------------------------------
# Lemma 6 / Lemma 9: p_i(sigma) by Sawa's integral
# ---------------------------------------------------------------------------------------------------------------
def sawa_p(sigma2, *, method: str = "trapezoid", step: float = 0.1) -> np.ndarray:
    """``p_i(sigma) = E_w[sigma_i^2 w_i^2 / sum_k sigma_k^2 w_k^2]``, ``w ~ N(0, I_n)`` (Lemma 6, Eq. 13; the
    paper's Eq. 13 indexes ``p`` with ``n``, a typo), by quadrature of Sawa's identity (Lemma 9)::

        p_i = int_0^inf sigma_i^2 (1 + 2 t sigma_i^2)^{-3/2} prod_{j != i} (1 + 2 t sigma_j^2)^{-1/2} dt

    (the paper's Eq. 15 has a sign typo in the product's exponent). ``E_W C_{l+1} = U diag(p) U^T`` in the
    eigenbasis ``U`` of the current sample Gram; ``p`` is therefore also the ``d -> infinity`` Gram map.

    ``sigma2`` is normalised to sum one first. The integral is taken in ``u = log t``: the integrand times ``t`` is
    analytic in a strip ``|Im u| < pi`` and decays exponentially at both ends, so the trapezoid rule with step
    ``step`` (default 0.1) converges geometrically (error ~ ``exp(-2 pi^2 / step)``); the range runs 40 e-folds
    below ``1/max sigma^2`` and 60 above ``1/min sigma^2``, and the polynomial tail beyond is added in closed form.
    ``method="quad"`` uses adaptive :func:`scipy.integrate.quad_vec` instead (slower; the cross-check).
    All ``n`` components at once; zero entries give ``p_i = 0`` exactly. Accuracy ~1e-13 (tests compare both
    methods and the ``n = 2`` closed form ``sqrt(s_2) / (sqrt(s_1) + sqrt(s_2))``).
    """
    s = _sigma2(sigma2)
    n = s.size
    if n == 1:
        return np.ones(1)
    if method not in ("trapezoid", "quad"):
        raise ValueError(f"method must be 'trapezoid' or 'quad', got {method!r}")
    pos = s[s > 0]
    k = pos.size
    lo = math.log(1e-3 / pos.max()) - 40.0
    hi = math.log(1.0 / pos.min()) + 60.0
    if method == "trapezoid":
        if not (0 < step <= 0.5):
            raise ValueError(f"step must lie in (0, 0.5], got {step}")
        m = int(math.ceil((hi - lo) / step))
        u = np.linspace(lo, hi, m + 1)
        t = np.exp(u)[:, None]
        a = 1.0 + 2.0 * t * s  # (m + 1, n)
        g = t * s / a * np.exp(-0.5 * np.log(a).sum(1, keepdims=True))
        w = np.full(m + 1, (hi - lo) / m)
        w[0] = w[-1] = 0.5 * (hi - lo) / m
        total = w @ g
    else:

        def f(x):
            tt = math.exp(x)
            aa = 1.0 + 2.0 * tt * s
            return tt * s / aa * math.exp(-0.5 * float(np.log(aa).sum()))

        points = sorted({math.log(1.0 / v) for v in pos})
        edges = [lo] + [q for q in points if lo < q < hi] + [hi]
        total = np.zeros(n)
        for x0, x1 in zip(edges[:-1], edges[1:]):
            val, _err = integrate.quad_vec(f, x0, x1, epsabs=1e-14, epsrel=1e-12, limit=4000)
            total += val
    # tail beyond hi, asymptotically: integrand ~ (1/(2t)) prod_{j: s_j > 0} (2 t s_j)^{-1/2}, the same for every i
    c = 0.5 * math.exp(-0.5 * float(np.log(2.0 * pos).sum()))
    tail = c * math.exp(hi) ** (-(k / 2.0)) / (k / 2.0)
    total = total + np.where(s > 0, tail, 0.0)
    return total


def sawa_p_monte_carlo(sigma2, *, draws: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo ``p_i = E[sigma_i^2 w_i^2 / sum_k sigma_k^2 w_k^2]`` and its standard errors (cross-check of
    :func:`sawa_p`)."""
    s = _sigma2(sigma2)
    if int(draws) < 2:
        raise ValueError("draws must be at least 2")
    w2 = np.random.default_rng(seed).standard_normal((int(draws), s.size)) ** 2
    x = s * w2
    x = x / x.sum(1, keepdims=True)
    return x.mean(0), x.std(0, ddof=1) / math.sqrt(x.shape[0])


def lemma8_terms(sigma2) -> tuple[float, float, float]:
    """The chain of Lemma 8 (App. C.6 for the sharper middle form):

    ``1/n - p_n(sigma)  <=  (1 - 2n sigma_n^2/(n+2)) (1/n - sigma_n^2)  <=  (1 - (2/3) sigma_n^2) V_hat``

    returned as ``(left, middle, right)``; ``p_n`` is the ``p`` of the smallest ``sigma^2`` (Lemma 8 (b):
    ``argmin p = argmin sigma``)."""
    s = _sigma2(sigma2)
    n = s.size
    p = sawa_p(s)
    i = int(np.argmin(s))
    sn2 = float(s[i])
    vhat = 1.0 / n - sn2
    return 1.0 / n - float(p[i]), (1.0 - 2.0 * n * sn2 / (n + 2.0)) * vhat, (1.0 - 2.0 * sn2 / 3.0) * vhat


# ---------------------------------------------------------------------------------------------------------------
# the d -> infinity map and its linearisation
# ---------------------------------------------------------------------------------------------------------------
def mean_field_map(sigma2) -> np.ndarray:
    """One step of the ``d -> infinity`` Gram chain: ``sigma^2 -> p(sigma^2)`` (App. C.2 with Lemma 6: the Gram
    concentrates at ``U diag(p) U^T`` with fluctuations ``O(d^{-1/2})``)."""
    return sawa_p(sigma2)


def iterate_mean_field(sigma2, steps: int) -> np.ndarray:
    """Spectra ``sigma^2_0 .. sigma^2_steps`` of the iterated :func:`mean_field_map`, shape ``(steps + 1, n)``."""
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    out = [_sigma2(sigma2)]
    for _ in range(int(steps)):
        out.append(mean_field_map(out[-1]))
    return np.stack(out)


def contraction_factor(n: int) -> float:
    """``n / (n + 2)``: per-layer contraction of ``V`` near isotropy as ``d -> infinity`` (0.667 for ``n = 4``).

    Derivation (ours; the paper does not state it): with ``sigma_i^2 = 1/n + eps_i``, ``sum eps = 0``, expanding
    Sawa's integral to first order gives ``p_i - 1/n = n/(n+2) eps_i``. It equals Lemma 8's sharper factor
    ``1 - 2n sigma_n^2/(n+2)`` at ``sigma_n^2 = 1/n``."""
    n = _n(n)
    return n / (n + 2.0)


def worst_case_rate(n: int) -> float:
    """``1 - 2/(3n)``: Theorem 5's contraction factor ``1 - (2/3) sigma_n^2`` at its best, ``sigma_n^2 = 1/n``
    (the fastest per-layer decay Theorem 1 can certify, with ``alpha = 1/n``)."""
    n = _n(n)
    return 1.0 - 2.0 / (3.0 * n)


def floor_level(n: int, d, *, contraction: float | None = None):
    """Heuristic stationary ``E[V]`` of the BN chain (beyond the paper; our derivation):

    ``sqrt((1 - 1/n) / (d (1 - rho^2)))`` with per-layer noise variance ``(1 - 1/n)/d`` on ``C`` and contraction
    ``rho``; with ``rho = n/(n+2)`` (default) this is ``sqrt((n-1)(n+2)^2 / (4n(n+1)d))`` = ``1.16/sqrt(d)`` for
    ``n = 4``. ``contraction`` substitutes another ``rho`` (the negative control uses ``1 - 2/(3n)``)."""
    n = _n(n)
    rho = contraction_factor(n) if contraction is None else float(contraction)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"contraction must lie in [0, 1), got {rho}")
    d = np.asarray(d, dtype=float)
    if np.any(d <= 0):
        raise ValueError("width d must be positive")
    out = np.sqrt((1.0 - 1.0 / n) / (d * (1.0 - rho**2)))
    return float(out) if out.ndim == 0 else out


#: Half the range of the floor formula's relative error over the widths of a fit (n = 4, d = 16 .. 512: the
#: measured / predicted plateau ratios 1.004, 0.990, 0.978, 0.980, 0.975, 0.973 of our calibration runs, random
#: input, i.e. a spread of 0.031 around a constant; a constant factor does not move a log-log slope, only its
#: variation does).
FLOOR_MODEL_SPREAD = 0.02


def mean_field_gaps(sigma2_0, *, tol: float = 1e-9, max_steps: int = 10_000) -> np.ndarray:
    """``V`` of the ``d -> infinity`` chain (:func:`iterate_mean_field`) from the input spectrum ``sigma2_0``,
    layers ``0, 1, ...`` until ``V < tol`` (the rest of the trajectory is 0 to that precision)."""
    s = _sigma2(sigma2_0)
    out = [gap_from_sigma2(s)]
    while out[-1] >= tol and len(out) <= max_steps:
        s = mean_field_map(s)
        out.append(gap_from_sigma2(s))
    return np.asarray(out)


def layer_mean_gap(sigma2_0, d, first: int, last: int, *, transient: np.ndarray | None = None):
    """Predicted ``E[(1/(last - first + 1)) sum_{l=first}^{last} V_l]`` of the BN chain of width ``d`` from an input
    with spectrum ``sigma2_0`` (our model, beyond the paper): per layer the deterministic ``d -> infinity``
    transient ``V_l^inf`` (:func:`mean_field_gaps`) and the stationary noise floor :func:`floor_level` add in
    quadrature, ``E V_l ~= sqrt((V_l^inf)^2 + floor(d)^2)`` (a deviation from isotropy that is the sum of a
    deterministic part and independent noise of that size). At the authors' Fig. 2b protocol (n = 4, layers
    1-500, d = 16 .. 512) it predicts the slope -0.4667 (measured -0.468) and at d = 16 .. 8192 -0.4288 (measured
    -0.4237): the transient, a fixed ~4 units of V summed over the first ~15 layers, is a growing share of the
    500-layer average as the floor falls like d^{-1/2}, which flattens the fit at large d. ``transient``: a
    precomputed :func:`mean_field_gaps` of ``sigma2_0``."""
    first, last = int(first), int(last)
    if first < 0 or last < first:
        raise ValueError(f"need 0 <= first <= last, got {first}, {last}")
    v_inf = mean_field_gaps(sigma2_0) if transient is None else np.asarray(transient, dtype=float)
    n = _sigma2(sigma2_0).size
    layers = np.arange(first, last + 1)
    vl = np.where(layers < v_inf.size, v_inf[np.minimum(layers, v_inf.size - 1)], 0.0)
    d = np.asarray(d, dtype=float)
    f = np.atleast_1d(floor_level(n, d))
    out = np.sqrt(vl[None, :] ** 2 + f[:, None] ** 2).mean(1)
    return float(out[0]) if d.ndim == 0 else out


def width_slope_prediction(sigma2_0, widths, first: int, last: int) -> float:
    """Least-squares slope of ``log`` :func:`layer_mean_gap` against ``log d`` over ``widths``: the expected Fig. 2b
    slope of a protocol (input spectrum, layers ``first..last`` averaged, the widths of the fit). It is ``-1/2``
    when the transient is excluded (``first`` past it) and flatter otherwise."""
    d = np.asarray(sorted(widths), dtype=float)
    if d.size < 2:
        raise ValueError("a width slope needs at least two widths")
    m = layer_mean_gap(sigma2_0, d, first, last, transient=mean_field_gaps(sigma2_0))
    return float(np.polyfit(np.log(d), np.log(m), 1)[0])


def slope_model_error(widths, spread: float = FLOOR_MODEL_SPREAD) -> float:
    """Largest change of a least-squares log-log slope over ``widths`` caused by a relative model error of at most
    ``spread`` at each width: ``spread * sum_i |x_i - mean x| / sum_i (x_i - mean x)^2`` with ``x = log d`` (the
    worst case ``log(1 + e_i) = +-spread sign(x_i - mean x)``). 0.015 for d = 16 .. 512 (6 widths), 0.009 for
    d = 16 .. 8192 (10 widths): more widths over a wider range pin a slope better."""
    x = np.log(np.asarray(widths, dtype=float))
    if x.size < 2:
        raise ValueError("a width slope needs at least two widths")
    c = x - x.mean()
    return float(spread * np.abs(c).sum() / (c**2).sum())


def vanilla_gap_typical(n: int, d: int, depth: int) -> float:
    """``V`` of the vanilla linear chain ``H <- H W^T`` (Gaussian ``d x d`` weights) after ``depth`` layers at the
    *typical* spectrum: the squared singular values of the product restricted to the batch's span separate like
    ``exp(-2 depth (lambda_1 - lambda_i))`` with the Lyapunov exponents of Gaussian products,
    ``lambda_1 - lambda_i = (psi(d/2) - psi((d - i + 1)/2)) / 2`` (Newman 1986; ~ (i - 1)/(2d)), from an isotropic
    start. Our use (paper B cites products of random matrices without a formula): the mean over runs lies above it,
    since the input's own anisotropy and the fluctuations of the log-gaps only raise ``V`` (n = 4, 100 layers: 0.823
    vs [C] 0.83 at d = 32, 0.400 vs [C] 0.67 at d = 128); it tends to ``V_max`` as ``depth / d`` grows."""
    from scipy.special import digamma

    n, d = _n(n), int(d)
    if d < n:
        raise ValueError(f"need d >= n, got n={n}, d={d}")
    gaps = 0.5 * (digamma(d / 2.0) - digamma((d - np.arange(n)) / 2.0))
    s = np.exp(-2.0 * float(depth) * gaps)
    return gap_from_sigma2(s)


def vanilla_gap_law(sigma2_0, d: int, depth: int, *, draws: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """``E[V]`` of the vanilla linear chain ``H <- H W^T`` (i.i.d. ``N(0, 1/d)`` weights) after ``depth`` layers from
    an input whose trace-one sample-Gram spectrum is ``sigma2_0``, and its Monte Carlo standard error.

    Exact in law, without ``d x d`` matrices (our derivation): write ``H_l = T O`` with ``T`` lower triangular
    (``n x n``) and ``O`` orthonormal rows; by rotation invariance ``O W^T`` is an ``n x d`` Gaussian matrix ``Z``, and
    ``Z Z^T = B B^T`` with Bartlett's lower-triangular ``B`` (``B_ii^2 ~ chi^2_{d-i+1}/d``, ``B_ij ~ N(0, 1/d)`` for
    ``i > j``, all independent), so ``T <- T B``: the product of ``depth`` i.i.d. Bartlett factors from
    ``T_0 = diag(sqrt(sigma2_0))`` (the Gram's law depends on the input only through its spectrum). Fluctuations of
    the log singular values (variance ~ 4 depth / d per gap) raise ``E[V]`` well above the typical-spectrum value of
    :func:`vanilla_gap_typical` once ``depth / d`` is not small (d = 128, 100 layers: 0.67 against 0.40)."""
    s0 = _sigma2(sigma2_0)
    n, d, depth, draws = s0.size, int(d), int(depth), int(draws)
    if d < n:
        raise ValueError(f"need d >= n, got n={n}, d={d}")
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.diag(np.sqrt(s0)), (draws, n, n)).copy()
    rows, cols = np.tril_indices(n, -1)
    for _ in range(depth):
        B = np.zeros((draws, n, n))
        idx = np.arange(n)
        B[:, idx, idx] = np.sqrt(rng.chisquare(d - idx, size=(draws, n)) / d)
        B[:, rows, cols] = rng.standard_normal((draws, rows.size)) / math.sqrt(d)
        T = T @ B
        T /= np.linalg.norm(T, axis=(1, 2), keepdims=True)  # V is scale-free; keeps the product representable
    lam = np.linalg.eigvalsh(T @ np.swapaxes(T, 1, 2))
    lam = np.clip(lam, 0.0, None)
    lam /= lam.sum(axis=1, keepdims=True)
    v = np.sqrt(np.clip((lam**2).sum(axis=1) - 1.0 / n, 0.0, None))
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(draws))


# ---------------------------------------------------------------------------------------------------------------
# right-hand sides of the paper's bounds
# ---------------------------------------------------------------------------------------------------------------
def _check_alpha(alpha: float, n: int) -> float:
    alpha = float(alpha)
    if not (0.0 < alpha <= 1.0 / n + 1e-12):
        raise ValueError(
            f"alpha (a lower bound on sigma_min^2 of a trace-one H, the proof's reading of A1) must lie in "
            f"(0, 1/n]; got {alpha}"
        )
    return alpha


def theorem1_bound(layer, n: int, d: int, alpha: float):
    """Theorem 1 (Eq. 3): ``E[V(H_{l+1})] <= 2 (1 - 2 alpha/3)^l + 3n / (alpha sqrt(d))``.

    ``alpha`` is read as a lower bound on ``sigma_min(H_k)^2`` (what the proof of Theorem 1 in App. B uses, where
    ``1 - 2 alpha/3`` replaces Theorem 5's ``1 - (2/3) sigma_n^2``), so ``alpha <= 1/n``. The last line of App. B prints ``3n/(2 alpha sqrt(d))``, an algebra slip; the main text's
    ``3n/(alpha sqrt(d))`` is used. ``layer`` is ``l`` (array-like allowed)."""
    n = _n(n)
    alpha = _check_alpha(alpha, n)
    l = np.asarray(layer, dtype=float)
    out = 2.0 * (1.0 - 2.0 * alpha / 3.0) ** l + 3.0 * n / (alpha * math.sqrt(d))
    return float(out) if out.ndim == 0 else out


def corollary3_bound(layer, n: int, d: int, alpha: float):
    """Corollary 3: ``W_2(law(W_l H_l), law(G/sqrt(n)))^2 <= 4n (1 - 2 alpha/3)^l + 6 n^2 / (alpha sqrt(d))``."""
    n = _n(n)
    alpha = _check_alpha(alpha, n)
    l = np.asarray(layer, dtype=float)
    out = 4.0 * n * (1.0 - 2.0 * alpha / 3.0) ** l + 6.0 * n**2 / (alpha * math.sqrt(d))
    return float(out) if out.ndim == 0 else out


def theorem5_rhs(sigma2, d: int) -> float:
    """Theorem 5 (App. B): ``E[V_hat(H_{l+1}) | H_l] <= (1 - (2/3) sigma_n^2) V_hat(H_l) + 1/sqrt(d)``."""
    s = _sigma2(sigma2)
    sn2 = float(s.min())
    return (1.0 - 2.0 * sn2 / 3.0) * (1.0 / s.size - sn2) + 1.0 / math.sqrt(d)


def averaged_bound_rhs(layer, vhat0: float, d: int):
    """App. B.1 (no A1): ``E[(1/l) sum_{k=1}^l V_hat_k (1/n - V_hat_k)] <= 3 E[V_hat(H_0)]/(2l) + 3/(2 sqrt(d))``.

    Uses Theorem 5's ``+1/sqrt(d)``; the rearranged line of B.1 prints ``+2/sqrt(d)`` (which would give
    ``3/sqrt(d)``). The left side is at most ``1/(4n^2)``, so the bound is informative only for
    ``d >~ 36 n^4``."""
    l = np.asarray(layer, dtype=float)
    if np.any(l < 1):
        raise ValueError("the averaged bound needs l >= 1")
    out = 1.5 * float(vhat0) / l + 1.5 / math.sqrt(d)
    return float(out) if out.ndim == 0 else out


def theorem1_nonvacuous_width(n: int) -> float:
    """Width above which Theorem 1's floor ``3n/(alpha sqrt(d))`` with the best possible ``alpha = 1/n`` is below
    the trivial ``V <= sqrt(1 - 1/n)``: ``d > 9 n^4 / (1 - 1/n)`` (3072 for ``n = 4``, 288 for ``n = 2``)."""
    n = _n(n)
    if n == 1:
        return math.inf
    return 9.0 * n**4 / (1.0 - 1.0 / n)


def theorem1_unorthogonalised_margin(n: int, d: int, depth: int, cos: float, runs: int, *,
                                     level: float = 1e-3) -> dict[str, float]:
    """Whether Theorem 1 can catch a chain that does **not** orthogonalise, on the equicorrelated input (unit-norm
    samples with pairwise cosine ``cos``; trace-one spectrum ``(1 + (n-1) cos)/n`` once, ``alpha_0 = (1 - cos)/n``
    ``n - 1`` times, ``V_0 = cos sqrt(1 - 1/n)``). Our derivation, for B15's anisotropic arm.

    A chain that keeps the input's Gram up to the weight noise (no normalisation, a global rescaling, a per-sample
    normalisation) keeps ``V ~ V_0``, while Theorem 1's bound with that chain's own ``alpha`` (min over runs and
    layers of ``sigma_min^2``) falls to ``3n/(alpha sqrt(d))``: the bound is violated once that is below ``V_0``. Its
    ``alpha`` is below ``alpha_0`` by the random walk of ``log sigma_min^2`` under ``S = Z Z^T / d`` (Wishart,
    diagonal entries of variance ``2/d`` in the Gram's eigenbasis): per layer ``var = (2/d) [(1 - w_m)^2 +
    sum_{i != m} w_i^2]`` with ``w`` the trace-one spectrum and ``m`` its smallest entry (``4 (1 - alpha_0)^2/d`` at
    ``n = 2``). The running minimum of ``runs`` such walks over ``depth`` layers stays above ``-z s sqrt(depth)``
    with probability ``1 - level`` for ``z = Phi^-1(1 - level / (2 runs))`` (reflection principle, union over runs),
    hence ``alpha_low = alpha_0 exp(-z s sqrt(depth))``.

    Returns ``v0``, ``alpha0``, ``alpha_low``, ``bound`` (Theorem 1's bound at the last layer with ``alpha_low``) and
    ``live`` (1.0 when ``bound < v0``: an unorthogonalised chain must violate the bound; 0.0 otherwise). ``cos = 1/2``
    maximises ``V_0 / floor term ~ cos (1 - cos)``."""
    from scipy.stats import norm as _normal

    n, d, depth, runs = _n(n), int(d), int(depth), max(1, int(runs))
    if not 0.0 <= cos < 1.0:
        raise ValueError(f"cos must lie in [0, 1), got {cos}")
    w = np.full(n, (1.0 - cos) / n)
    w[0] = (1.0 + (n - 1) * cos) / n
    m = int(np.argmin(w))
    others = np.delete(w, m)
    step_sd = math.sqrt(2.0 / d * ((1.0 - w[m]) ** 2 + float(np.sum(others**2))))
    z = float(_normal.ppf(1.0 - level / (2.0 * runs)))
    alpha0 = float(w[m])
    alpha_low = alpha0 * math.exp(-z * step_sd * math.sqrt(depth))
    v0 = cos * v_max(n)
    bound = theorem1_bound(depth - 1, n, d, alpha_low)
    return {"v0": v0, "alpha0": alpha0, "alpha_low": alpha_low, "bound": bound, "live": float(bound < v0)}


def lemma4_constant(n: int) -> float:
    """Lemma 4: ``V <= 2n V_hat`` for ``||H||_F = 1``."""
    return 2.0 * _n(n)


def lemma4_tight_constant(n: int) -> float:
    """The best constant in ``V <= c V_hat``: ``sqrt(n (n - 1))``, attained by ``sigma_1`` large and ``sigma_2 =
    ... = sigma_n`` (our derivation: for fixed ``V_hat`` the gap is largest when all mass above ``sigma_n^2``
    sits on one singular value)."""
    n = _n(n)
    return math.sqrt(n * (n - 1.0))


def coupling_rank_one(n: int) -> float:
    """Lemma 2's coupling cost ``sum_i (sigma_i - 1/sqrt(n))^2`` of a rank-one ``H / ||H||_F``:
    ``(1 - 1/sqrt(n))^2 + (n-1)/n``, independent of the width."""
    n = _n(n)
    return (1.0 - 1.0 / math.sqrt(n)) ** 2 + (n - 1.0) / n
