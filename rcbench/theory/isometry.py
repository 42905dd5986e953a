"""Paper C's closed forms for the isometry gap of a linear BN chain with Haar weights (Meterez et al., ICLR 2024).

Layout: paper C writes ``X`` in ``R^{d x n}`` (one column per sample) and takes ``n = d``. The eigenvalues ``lam``
of its ``X X^T`` are those of the **feature Gram** ``H^T H`` of rcbench's ``H = X^T`` (``n x d``); for ``n = d`` they
coincide with the sample-Gram spectrum used by :mod:`rcbench.metrics`. After the paper's BN (Eq. 4, every feature of
unit Euclidean norm over the batch) ``tr(X X^T) = d``, so the mean eigenvalue is 1.

* :func:`theorem3_gain` — Theorem 3, Eq. 8: ``E_W I(BN(W X)) >= gain * I(X)``.
* :func:`corollary4_drop` — Corollary 4, Eq. 9: ``E_W phi(BN(W X)) <= phi(X) + drop`` (``drop <= 0``).
* :func:`theorem1_k`, :func:`theorem1_bound`, :func:`theorem1_min_constant` — Theorem 1, Eq. 6:
  ``E phi(X_{l+1}) <= phi(X_0) exp(-l / k)``, ``k = C d^2 (1 + d phi(X_0))``; ``C`` is not given by the paper
  (the authors' Fig. 1 notebook plots ``C = 0.015``, :data:`AUTHORS_PLOT_CONSTANT`).
* :func:`mean_field_gradient_slope` — heuristic growth per layer of the log gradient norm of a linear BN net with
  Gaussian weights (the contrast of Fig. 3; our mean-field derivation, not a statement of paper C).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "AUTHORS_PLOT_CONSTANT",
    "weingarten_deficit",
    "theorem3_gain",
    "corollary4_drop",
    "near_isometry_rate",
    "theorem1_k",
    "theorem1_bound",
    "theorem1_min_constant",
    "mean_field_gradient_slope",
]

#: the constant ``C`` of the dashed "theory" curve in the authors' Fig. 1 notebook: a plotting choice, not a proven
#: constant (it is not an upper bound for ``d <= 32``).
AUTHORS_PLOT_CONSTANT = 0.015


def _spectrum(lam, normalize: bool) -> torch.Tensor:
    lam = torch.as_tensor(lam, dtype=torch.float64)
    if lam.ndim < 1 or lam.shape[-1] < 1:
        raise ValueError("lam must hold the d eigenvalues of X X^T in its last dimension")
    if not bool(torch.isfinite(lam).all()):
        raise ValueError("lam contains NaN or inf")
    mean = lam.mean(-1, keepdim=True)
    if normalize:
        if bool((mean <= 0).any()):
            raise ValueError("eigenvalues with a non-positive mean cannot be normalised")
        return lam / mean
    if not bool(torch.allclose(mean, torch.ones_like(mean), rtol=0, atol=1e-8)):
        raise ValueError(
            "Theorem 3 assumes X = BN(.) with unit-norm features, i.e. mean eigenvalue 1; got mean "
            f"{mean.flatten()[:4].tolist()} (pass normalize=True, e.g. for the sqrt(n)-scaled BN of the code)"
        )
    return lam


def weingarten_deficit(lam, *, normalize: bool = False) -> torch.Tensor:
    """``sum_k (lam_k - 1)^2 / (2 d^2 (d + 2))`` over the last dimension: the term of Eq. 8 and 9.

    ``lam`` are the ``d`` eigenvalues of ``X X^T`` (paper layout; rcbench's feature Gram ``H^T H``) of a
    BN-normalised ``X`` (mean eigenvalue 1); ``normalize=True`` divides by the mean first (the authors'
    ``sqrt(n)``-scaled BN has mean eigenvalue ``n``). In ``[0, 1/(2(d+2))]`` because ``sum (lam - 1)^2 <= d^2``.
    """
    lam = _spectrum(lam, normalize)
    d = lam.shape[-1]
    return ((lam - 1.0) ** 2).sum(-1) / (2.0 * d * d * (d + 2))


def theorem3_gain(lam, *, normalize: bool = False) -> torch.Tensor:
    """Theorem 3 (Eq. 8): ``(1 - sum_k (lam_k - 1)^2 / (2 d^2 (d+2)))^{-1} >= 1``, the guaranteed factor by which
    one Haar rotation plus BN raises the expected isometry, ``E_W I(BN(W X)) >= gain * I(X)``.

    Equality (gain 1) for orthogonal ``X``. The paper's wording "eigenvalues in (0, 1]" is loose: they lie in
    ``(0, d]`` with mean 1; the factor stays finite because the deficit is at most ``1/(2(d+2))``.
    """
    return 1.0 / (1.0 - weingarten_deficit(lam, normalize=normalize))


def corollary4_drop(lam, *, normalize: bool = False) -> torch.Tensor:
    """Corollary 4 (Eq. 9): ``log(1 - sum_k (lam_k - 1)^2 / (2 d^2 (d+2))) <= 0``, so that
    ``E_W[phi(BN(W X)) | X] <= phi(X) + drop`` (the paper writes ``X' = W X``; it must mean ``BN(W X)`` since
    ``phi(W X) = phi(X)``)."""
    return torch.log1p(-weingarten_deficit(lam, normalize=normalize))


def near_isometry_rate(d: int) -> float:
    """Per-layer relative contraction of ``phi`` that Corollary 4 guarantees near isometry: ``1 / (d (d + 2))``.

    Near isometry ``phi ~ sum (lam - 1)^2 / (2 d)``, hence ``drop ~ -phi / (d (d + 2))`` (our algebra [I]). The
    measured rate is about ``2 / d`` (the project's calibration [C]: 0.120, 0.061, 0.040, 0.020 per layer for d = 16, 32, 50, 100), i.e. the theorem is conservative by ``~2 (d + 2)``.
    """
    d = int(d)
    if d < 1:
        raise ValueError(f"d must be a positive integer, got {d}")
    return 1.0 / (d * (d + 2))


def theorem1_k(d: int, phi0: float, constant: float = AUTHORS_PLOT_CONSTANT) -> float:
    """``k = C d^2 (1 + d phi(X_0))`` of Theorem 1 (Eq. 6); the decay time (in layers) of the bound."""
    if not (d >= 1 and constant > 0 and math.isfinite(constant)):
        raise ValueError(f"need d >= 1 and a finite constant C > 0, got d={d}, C={constant}")
    if not (math.isfinite(phi0) and phi0 >= 0):
        raise ValueError(f"phi0 must be finite and non-negative (a non-degenerate input), got {phi0}")
    return constant * d * d * (1.0 + d * phi0)


def theorem1_bound(layers, d: int, phi0: float, constant: float = AUTHORS_PLOT_CONSTANT) -> np.ndarray:
    """``phi(X_0) exp(-l / k)`` at the layers ``l`` (Theorem 1, Eq. 6, bounds ``E phi(X_{l+1})``; the authors' Fig. 1
    plots it against ``phi(X_l)``)."""
    layers = np.asarray(layers, dtype=float)
    return phi0 * np.exp(-layers / theorem1_k(d, phi0, constant))


def theorem1_min_constant(layers, phi, d: int, phi0: float, *, shift: int = 1) -> float:
    """The smallest ``C`` for which the measured mean gaps satisfy Theorem 1 at every layer.

    ``phi[i]`` is the mean gap at layer ``layers[i]``; the theorem bounds ``phi_{l+shift}`` by ``phi0 exp(-l/k)``
    (``shift = 1`` is the paper's statement, ``shift = 0`` the authors' plotted curve). Then
    ``C_min = max_l l / (d^2 (1 + d phi0) log(phi0 / phi_{l+shift}))`` over the layers ``l >= 1``; ``inf`` when some
    ``phi_{l+shift} >= phi0`` (no constant works), ``0`` if no layer constrains it.
    """
    layers, phi = np.asarray(layers, dtype=float), np.asarray(phi, dtype=float)
    if layers.shape != phi.shape:
        raise ValueError("layers and phi must have the same length")
    if not (phi0 > 0 and math.isfinite(phi0)):
        raise ValueError(f"phi0 must be positive and finite, got {phi0}")
    l = layers - shift
    keep = l >= 1
    if not keep.any():
        return 0.0
    ratio = np.log(phi0 / phi[keep])
    if np.any(~np.isfinite(phi[keep])) or np.any(ratio <= 0):
        return math.inf
    return float(np.max(l[keep] / (d * d * (1.0 + d * phi0) * ratio)))


def mean_field_gradient_slope(batch: int, *, centered: bool = False) -> float:
    """Heuristic per-layer slope of ``log ||grad_W L||_F`` for a linear BN net with Gaussian weights at batch size
    ``B``: ``0.5 log((B-1)/(B-2))`` for the paper's BN without mean reduction, ``0.5 log((B-2)/(B-3))`` for
    mean-centred BN (gradient-independence mean field at infinite width; our derivation [I], not paper C's).
    0.016395 for ``B = 32``, 0.005076 for ``B = 100``."""
    b = int(batch)
    lo = 3 if centered else 2
    if b <= lo + 0:
        raise ValueError(f"batch must exceed {lo}, got {b}")
    return 0.5 * math.log((b - lo + 1) / (b - lo))
