"""One definition of every quantity the four papers measure on a representation.

Conventions
-----------
A representation is a tensor ``H`` of shape ``(..., n, d)``: ``n`` samples (rows), ``d`` features (columns),
any leading batch dimensions (seeds, layers). This is PyTorch's layout. Papers A, B and C write the transpose
(``d x n``, one column per sample); each docstring below says how its formula was transposed. Paper D already
uses ``n x d``.

Every spectral metric is a function of the eigenvalues ``lam`` of the ``n x n`` **sample Gram** ``G = H H^T``
(its non-zero eigenvalues are the squared singular values of ``H``). The private ``_*_from_spectrum`` functions
hold the one definition of each metric; the public functions compute the spectrum with one batched ``eigvalsh``
and call them, and :func:`spectral_metrics` evaluates several of them on one stacked spectrum (one ``eigvalsh``
for a whole forward pass).

Zero eigenvalues
----------------
An eigenvalue computed from a Gram matrix carries an absolute round-off of about ``lam_max * n * eps``, so an
eigenvalue at or below that level (:func:`null_tolerance`) is treated as exactly zero: the isometry gap of such a
Gram is ``+inf`` and its isometry ``0``; it never becomes ``NaN`` or a large finite number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch

__all__ = [
    "gram",
    "spectrum",
    "null_tolerance",
    "soft_rank",
    "tau_rank",
    "numerical_rank",
    "stable_rank",
    "effective_rank",
    "orthogonality_gap",
    "isometry",
    "isometry_gap",
    "cosine_similarity",
    "potential",
    "coupling_w2_bound",
    "w2_to_isotropic_gaussian",
    "gradient_norms",
    "spectral_metrics",
    "SPECTRAL_METRICS",
]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


# ---------------------------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------------------------
def check_representation(H: torch.Tensor, name: str = "H", *, allow_zero: bool = False) -> torch.Tensor:
    """Validate a representation ``(..., n, d)`` and return it as a floating tensor.

    Raises :class:`TypeError` for a non-tensor or a non-floating dtype and :class:`ValueError` for fewer than two
    dimensions, an empty axis or non-finite entries. Half-precision inputs are promoted to float32, because the
    linear-algebra kernels do not accept them (float64 is what the claims use).
    """
    if not isinstance(H, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (..., n, d), got {type(H).__name__}")
    if H.ndim < 2:
        raise ValueError(f"{name} must have shape (..., n, d) with n samples and d features, got shape {tuple(H.shape)}")
    if not (H.is_floating_point()):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {H.dtype}")
    if H.shape[-1] == 0 or H.shape[-2] == 0:
        raise ValueError(f"{name} has an empty sample or feature axis: shape {tuple(H.shape)}")
    if H.dtype in _LOW_PRECISION:
        H = H.float()
    if not bool(torch.isfinite(H).all()):
        raise ValueError(f"{name} contains NaN or inf entries; rcbench does not measure non-finite representations")
    if not allow_zero and bool((H.flatten(-2).abs().amax(-1) == 0).any()):
        raise ValueError(f"{name} is identically zero (for at least one batch item); its spectrum has no scale")
    return H


# ---------------------------------------------------------------------------------------------------------------
# Gram matrix and its spectrum
# ---------------------------------------------------------------------------------------------------------------
def gram(H: torch.Tensor) -> torch.Tensor:
    """Sample Gram matrix ``G = H H^T`` of shape ``(..., n, n)`` (the paper-layout ``X^T X`` of papers A-C)."""
    H = check_representation(H, allow_zero=True)
    return H @ H.transpose(-1, -2)


def spectrum(H: torch.Tensor) -> torch.Tensor:
    """Eigenvalues (ascending) of the sample Gram ``H H^T``, shape ``(..., n)``; one batched ``eigvalsh``."""
    return torch.linalg.eigvalsh(gram(H))


def null_tolerance(lam: torch.Tensor) -> torch.Tensor:
    """Level ``lam_max * n * eps`` at or below which a Gram eigenvalue counts as zero; shape ``(..., 1)``."""
    n = lam.shape[-1]
    return lam.amax(-1, keepdim=True).clamp_min(0) * n * torch.finfo(lam.dtype).eps


def _nonneg(lam: torch.Tensor) -> torch.Tensor:
    """Eigenvalues with round-off below :func:`null_tolerance` set to exactly zero."""
    return torch.where(lam > null_tolerance(lam), lam, torch.zeros_like(lam))


# ---------------------------------------------------------------------------------------------------------------
# the definitions (functions of the sample-Gram spectrum)
# ---------------------------------------------------------------------------------------------------------------
def _soft_rank_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    s = _nonneg(lam)
    # scaled by the largest eigenvalue before squaring: a Gram of norm 1e155 (a vanilla chain with unit-variance
    # weights, 100 layers between renormalisations) would overflow s**2 to inf and give inf/inf = NaN
    s = s / s.amax(-1, keepdim=True)
    return s.sum(-1) ** 2 / (s**2).sum(-1)


def _tau_rank_from_spectrum(lam: torch.Tensor, d: int | None = None, tau: float = 0.0) -> torch.Tensor:
    n = lam.shape[-1]
    k = n if d is None else min(n, d)
    s = _nonneg(lam)
    threshold = tau * s.sum(-1, keepdim=True) / k
    return (s > threshold).sum(-1)


def _stable_rank_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    s = _nonneg(lam)
    return s.sum(-1) / s.amax(-1)


def _effective_rank_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    sigma = _nonneg(lam).sqrt()
    p = sigma / sigma.sum(-1, keepdim=True)
    plogp = torch.where(p > 0, p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny)), torch.zeros_like(p))
    return torch.exp(-plogp.sum(-1))


def _orthogonality_gap_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    n = lam.shape[-1]
    s = _nonneg(lam)
    return torch.linalg.vector_norm(s / s.sum(-1, keepdim=True) - 1.0 / n, dim=-1)


def _isometry_gap_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    singular = (lam <= null_tolerance(lam)).any(-1)
    safe = torch.where(singular.unsqueeze(-1), torch.ones_like(lam), lam)
    gap = torch.log(safe.mean(-1)) - torch.log(safe).mean(-1)
    # AM >= GM makes the gap non-negative; a negative value is round-off of a perfectly isometric Gram
    gap = gap.clamp_min(0)
    return torch.where(singular, torch.full_like(gap, math.inf), gap)


def _isometry_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    return torch.exp(-_isometry_gap_from_spectrum(lam, d))


def _w2_squared_from_spectrum(lam: torch.Tensor, d: int | None = None) -> torch.Tensor:
    n = lam.shape[-1]
    s = _nonneg(lam)
    sigma = (s / s.sum(-1, keepdim=True)).sqrt()
    return ((sigma - 1.0 / math.sqrt(n)) ** 2).sum(-1)


#: name -> definition on the sample-Gram spectrum, for :func:`spectral_metrics`.
SPECTRAL_METRICS: Mapping[str, Callable[..., torch.Tensor]] = {
    "soft_rank": _soft_rank_from_spectrum,
    "tau_rank": _tau_rank_from_spectrum,
    "stable_rank": _stable_rank_from_spectrum,
    "effective_rank": _effective_rank_from_spectrum,
    "orthogonality_gap": _orthogonality_gap_from_spectrum,
    "isometry": _isometry_from_spectrum,
    "isometry_gap": _isometry_gap_from_spectrum,
    "coupling_w2_bound": _w2_squared_from_spectrum,
}


def spectral_metrics(
    grams: torch.Tensor, names: Sequence[str] | None = None, *, d: int | None = None
) -> dict[str, torch.Tensor]:
    """Evaluate several spectral metrics on stacked sample Grams ``(..., n, n)`` with one batched ``eigvalsh``.

    This is the hot-path form: a forward pass stacks the Grams of all layers and seeds, then calls this once.
    ``d`` is the feature width (used by the rank's ``min(n, d)``). Unknown names raise :class:`KeyError` listing
    the available ones.
    """
    names = list(SPECTRAL_METRICS) if names is None else [names] if isinstance(names, str) else list(names)
    unknown = [m for m in names if m not in SPECTRAL_METRICS]
    if unknown:
        raise KeyError(f"unknown spectral metric(s) {unknown}; available: {sorted(SPECTRAL_METRICS)}")
    if not isinstance(grams, torch.Tensor) or not grams.is_floating_point():
        got = getattr(grams, "dtype", type(grams).__name__)
        raise TypeError(f"grams must be a floating-point torch.Tensor (..., n, n), got {got}")
    if grams.ndim < 2 or grams.shape[-1] != grams.shape[-2] or grams.shape[-1] == 0:
        raise ValueError(f"grams must have shape (..., n, n) with n >= 1, got {tuple(grams.shape)}")
    grams = grams.float() if grams.dtype in _LOW_PRECISION else grams
    if not bool(torch.isfinite(grams).all()):
        raise ValueError("grams contain NaN or inf entries; rcbench does not measure non-finite representations")
    lam = torch.linalg.eigvalsh(grams)
    return {m: SPECTRAL_METRICS[m](lam, d) for m in names}


# ---------------------------------------------------------------------------------------------------------------
# public metrics on a representation H of shape (..., n, d)
# ---------------------------------------------------------------------------------------------------------------
def soft_rank(H: torch.Tensor) -> torch.Tensor:
    """Soft rank ``r(H) = tr(G)^2 / ||G||_F^2 = (sum sigma_i^2)^2 / sum sigma_i^4`` (paper A, §1.3; "lower bound
    on rank").

    Layout-free: the sample and feature Grams share their non-zero eigenvalues. Satisfies
    ``1 <= r(H) <= rank(H)``; not the stable rank.
    """
    return _soft_rank_from_spectrum(spectrum(check_representation(H)))


def tau_rank(H: torch.Tensor, tau: float) -> torch.Tensor:
    """``rank_tau(H) = #{i : sigma_i(H)^2 > tau * ||H||_F^2 / min(n, d)}`` (paper A, Theorem 2).

    Paper A (layout ``d x N``) counts eigenvalues of the ``d x d`` feature Gram above ``tau`` times their mean;
    ``min(n, d)`` is the number of eigenvalues that can be non-zero, which equals the paper's ``d`` in its regime
    ``N >= d``. With this definition ``rank_tau >= (1 - tau)^2 r(H)`` holds deterministically (Cauchy-Schwarz).
    ``tau = 0`` is the rank (eigenvalues above :func:`null_tolerance`). Returns an integer tensor.
    """
    if not (0.0 <= float(tau) < 1.0):
        raise ValueError(f"tau must lie in [0, 1), got {tau}")
    H = check_representation(H)
    return _tau_rank_from_spectrum(spectrum(H), H.shape[-1], float(tau))


def numerical_rank(H: torch.Tensor) -> torch.Tensor:
    """Numerical rank: singular values above ``sigma_max * max(n, d) * eps`` (``torch.linalg.matrix_rank``).

    Computed on ``H`` itself (the Gram route cannot resolve this tolerance), in ``H``'s dtype: paper A's Fig. 1
    uses float32 on ``H / ||H||_F``. Integer tensor of shape ``(...)``.
    """
    H = check_representation(H, allow_zero=True)
    return torch.linalg.matrix_rank(H)


def stable_rank(H: torch.Tensor) -> torch.Tensor:
    """Stable rank ``||H||_F^2 / ||H||_2^2`` (not paper A's soft rank; paper A's code computes it but never uses it)."""
    return _stable_rank_from_spectrum(spectrum(check_representation(H)))


def effective_rank(H: torch.Tensor) -> torch.Tensor:
    """Effective rank ``exp(-sum p_i log p_i)``, ``p_i = sigma_i / sum_j sigma_j`` (Roy and Vetterli, 2007)."""
    return _effective_rank_from_spectrum(spectrum(check_representation(H)))


def orthogonality_gap(H: torch.Tensor) -> torch.Tensor:
    """Orthogonality gap ``V(H) = || H H^T / ||H||_F^2 - I_n / n ||_F`` (paper B, Eq. 2).

    Paper B writes ``H^T H`` for ``H`` of shape ``d x n``: the ``n x n`` sample Gram, here ``H H^T``. Plain
    (not squared) Frobenius norm. ``V = 0`` iff the samples are orthogonal with equal norms; ``V = sqrt(1 - 1/n)``
    iff ``H`` has rank one.
    """
    return _orthogonality_gap_from_spectrum(spectrum(check_representation(H)))


def isometry_gap(H: torch.Tensor) -> torch.Tensor:
    """Isometry gap ``-log I(G) = log(mean lam) - mean(log lam)``, ``lam`` = eigenvalues of ``G = H H^T``.

    Paper C, Eq. 5 (its ``phi(X)`` with ``X = H^T``; its exponent ``1/d`` is ``1/n`` because it takes ``n = d``)
    and paper D (``-log I(G)``, same layout as here). Non-negative; ``0`` iff ``G`` is a multiple of the identity;
    ``+inf`` when ``G`` is singular (for example ``n > d``).
    """
    return _isometry_gap_from_spectrum(spectrum(check_representation(H)))


def isometry(H: torch.Tensor) -> torch.Tensor:
    """Isometry ``I(G) = det(G)^{1/n} / (tr(G) / n)`` of the sample Gram (paper D; paper C's ``exp(-phi)``).

    In ``[0, 1]``; ``1`` iff ``G`` is proportional to the identity, ``0`` iff ``G`` is singular.
    """
    return torch.exp(-isometry_gap(H))


def cosine_similarity(H: torch.Tensor) -> torch.Tensor:
    """Pairwise cosine similarities of the samples (rows), shape ``(..., n, n)`` (paper B, Fig. 1)."""
    H = check_representation(H)
    norms = torch.linalg.vector_norm(H, dim=-1)
    if bool((norms == 0).any()):
        raise ValueError("cosine_similarity is undefined for a sample (row of H) with zero norm")
    Hn = H / norms.unsqueeze(-1)
    return Hn @ Hn.transpose(-1, -2)


def potential(H: torch.Tensor) -> torch.Tensor:
    """Gram potential ``gamma(G) = max_{i != j} |rho_ij| / (1 - |rho_ij|)``, ``rho`` = sample correlations (paper D).

    ``rho_ij = G_ij / sqrt(G_ii G_jj)`` are the cosines of :func:`cosine_similarity`; ``Psi(rho) = |rho|/(1-|rho|)``
    is the potential of paper D's Theorem A2. ``+inf`` when two samples are parallel (``|rho| >= 1 - 8 eps``).
    Needs ``n >= 2``.
    """
    rho = cosine_similarity(H).abs()
    n = rho.shape[-1]
    if n < 2:
        raise ValueError("potential needs at least two samples (n >= 2)")
    off = ~torch.eye(n, dtype=torch.bool, device=rho.device)
    r = rho[..., off].clamp_max(1.0)
    parallel = r >= 1 - 8 * torch.finfo(r.dtype).eps  # cosines of parallel rows are 1 up to round-off
    psi = torch.where(parallel, torch.full_like(r, math.inf), r / (1 - r))
    return psi.amax(-1)


def coupling_w2_bound(H: torch.Tensor) -> torch.Tensor:
    """``sum_i (sigma_i(H / ||H||_F) - 1/sqrt(n))^2`` over the ``n`` singular values (paper B, Lemma 2).

    The explicit coupling of Lemma 2's proof: its expectation ``c_l`` bounds ``W_2^2`` between the law of the
    representation after the linear layer and its Gaussian approximation. It equals
    ``w2_to_isotropic_gaussian(H) ** 2``.
    """
    return _w2_squared_from_spectrum(spectrum(check_representation(H)))


def w2_to_isotropic_gaussian(H: torch.Tensor) -> torch.Tensor:
    """Bures-Wasserstein distance ``W_2(N(0, S), N(0, I_n / n))`` with ``S = H H^T / ||H||_F^2``.

    ``S`` is the second-moment matrix of the ``d`` feature columns of ``H / ||H||_F`` (each a vector of the ``n``
    samples' values), scaled to trace 1; the comparison law is the isotropic Gaussian of the same trace. Closed form
    for centred Gaussians: ``W_2^2 = tr S + tr(I/n) - 2 tr((S / n)^{1/2}) = sum_i (sigma_i - 1/sqrt(n))^2``, so this
    is ``sqrt(coupling_w2_bound(H))`` (paper B, §4.1, Lemma 2 and Corollary 3).
    """
    return coupling_w2_bound(H).sqrt()


# ---------------------------------------------------------------------------------------------------------------
# gradients (paper C)
# ---------------------------------------------------------------------------------------------------------------
def gradient_norms(
    model: torch.nn.Module, loss: torch.Tensor, *, names: Iterable[str] | None = None
) -> dict[str, torch.Tensor]:
    """Frobenius norm of ``d loss / d W`` for every weight matrix of ``model`` (paper C, ``||grad_{W_l} L||_F``).

    ``loss`` must be a scalar built from ``model``'s output. Weight matrices are the parameters with two or more
    dimensions; for an ensemble weight of shape ``(seeds, out, in)`` the norm is taken per seed over the last two
    dimensions (give the loss as the sum of the per-seed losses so the seeds' gradients do not mix). ``names``
    restricts the parameters. Does not touch ``.grad``.
    """
    if loss.ndim != 0:
        raise ValueError(f"loss must be a scalar tensor, got shape {tuple(loss.shape)}")
    params = {k: p for k, p in model.named_parameters() if p.ndim >= 2 and p.requires_grad}
    if names is not None:
        names = list(names)
        missing = [k for k in names if k not in params]
        if missing:
            raise KeyError(f"no weight matrix named {missing} in the model; available: {list(params)}")
        params = {k: params[k] for k in names}
    grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
    out = {}
    for (k, p), g in zip(params.items(), grads):
        g = torch.zeros_like(p) if g is None else g
        out[k] = torch.linalg.matrix_norm(g) if g.ndim >= 2 else g.abs()
    return out
