"""Exact statements and the one-step Monte Carlo of paper C (Meterez et al., ICLR 2024): the isometry gap's
definition (Eq. 5, C1), BN never lowering isometry (Lemma 2, Eq. 7, C2), the rotation to perfect isometry
(Corollary A.3, C3) and the Weingarten gain of one rotation + BN step (Theorem 3, Corollary 4, C4).

Layout as in :mod:`rcbench.experiments.gradients`: the paper's ``X`` (``d x n``) is ``H = X^T`` (``n x d``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

import rcbench.metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import few_threads, generator, positive_int, storable
from rcbench.experiments.gradient_sweeps import stored_as_gradients
from rcbench.networks import get_norm
from rcbench.networks.init import haar_orthogonal
from rcbench.theory import normalization as TN

__all__ = ["isometry_gap_identities", "bn_isometry_lemma", "rotation_to_isometry", "weingarten_gain"]

def _svd_isometry_gap(H: torch.Tensor) -> torch.Tensor:
    """phi from singular values, ``log mean(s^2) - mean(log s^2)``: an independent route used only to cross-check
    :func:`rcbench.metrics.isometry_gap` (C1); ``inf`` for a zero singular value."""
    s2 = torch.linalg.svdvals(H) ** 2
    with torch.no_grad():
        return torch.log(s2.mean(-1)) - torch.log(s2).mean(-1)


# ---------------------------------------------------------------------------------------------------------------
# C1: the isometry gap's definition and invariances (Eq. 5)
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
@stored_as_gradients
def isometry_gap_identities(*, count: int = 300, d_max: int = 40, seed: int = 0, device="cpu") -> pd.DataFrame:
    """``count`` random ``H`` (``n x d``, ``2 <= n <= d <= d_max``, Gaussian with random column scales) and the
    identities of Eq. 5, one row per matrix.

    Columns: ``phi`` (metric), ``phi_svd`` (singular-value route), ``phi_scaled`` (``c H``), ``phi_mixed``
    (``H Q^T`` with Haar ``Q``: orthogonal mixing of features, the paper's ``W X``), ``phi_nonorth`` (``H A^T``,
    generic Gaussian ``A``), ``phi_orth`` (``c Q_n`` with ``Q_n`` the first ``n`` rows of a Haar matrix: a scaled
    isometry), ``phi_rankdef`` / ``phi_rankdef_svd`` (a row repeated: rank ``n - 1``), ``kappa`` (condition number
    ``lam_max / lam_min`` of ``H H^T``, which sets the round-off of phi: about ``n eps kappa``), ``log_range``
    (an upper bound on ``max |log lam|`` over the Grams of ``H`` and ``c H``, which sets the round-off of evaluating
    the logs: about ``eps log_range``).
    """
    count, d_max = positive_int(count, "count"), positive_int(d_max, "d_max", 2)
    dev = resolve_device(device)
    g = generator(seed)
    rows = []
    for i in range(count):
        d = int(torch.randint(2, d_max + 1, (1,), generator=g))
        n = int(torch.randint(2, d + 1, (1,), generator=g))
        scales = torch.exp(torch.randn(d, generator=g, dtype=MEASUREMENT_DTYPE))
        H = torch.randn(n, d, generator=g, dtype=MEASUREMENT_DTYPE) * scales
        c = float(torch.exp(3 * torch.randn((), generator=g, dtype=MEASUREMENT_DTYPE)))
        Q = haar_orthogonal((d, d), g, MEASUREMENT_DTYPE)
        A = torch.randn(d, d, generator=g, dtype=MEASUREMENT_DTYPE)
        R = H.clone()
        R[-1] = R[0] * 0.5
        stack = torch.stack([H, c * H, H @ Q.T, H @ A.T, c * Q[:n], R]).to(dev)
        phis = M.isometry_gap(stack).cpu()
        svd = _svd_isometry_gap(stack[[0, 5]]).cpu()
        lam = M.spectrum(H)
        log_range = float(torch.log(lam).abs().max()) + abs(2 * math.log(c))  # max |log lam| over H and c H
        rows.append(dict(index=i, n=n, d=d, c=c, kappa=float(lam[-1] / lam[0]), log_range=log_range,
                         phi=float(phis[0]),
                         phi_svd=float(svd[0]), phi_scaled=float(phis[1]),
                         phi_mixed=float(phis[2]), phi_nonorth=float(phis[3]), phi_orth=float(phis[4]),
                         phi_rankdef=float(phis[5]), phi_rankdef_svd=float(svd[1])))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# C2: BN never lowers isometry (Joudaki et al. 2023b lemma; Lemma 2, Eq. 7)
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
@stored_as_gradients
def bn_isometry_lemma(
    *, count: int = 2000, d_min: int = 2, d_max: int = 40, scale_sigma: float = 1.0, seed: int = 0, device="cpu"
) -> pd.DataFrame:
    """``count`` square ``H`` (``d x d``, ``d_min <= d < d_max``) with log-normal feature scales
    (``exp(scale_sigma * N(0,1))`` per column; paper C's rows of ``X``), one row per matrix.

    Columns: ``iso`` = I(H), ``iso_bn`` = I(BN H) (norm ``"bn"``, Eq. 4), ``gain`` = ``iso_bn / iso``,
    ``am_gm`` = AM(r^2)/GM(r^2) and ``lower`` = 1 + Var(r)/mean(r)^2 (population variance) for the feature norms
    ``r`` (:mod:`rcbench.theory.normalization`); the reverse check: ``iso_rescaled`` = I(BN(H) diag(s)) for random
    positive ``s`` and ``gm_am_s`` = GM(s^2)/AM(s^2); the equality case ``iso_equal`` / ``iso_bn_equal`` for ``H``
    with equal feature norms (``gain`` must be 1); ``kappa`` / ``kappa_bn`` / ``kappa_rescaled``, the condition
    numbers of the Grams of
    ``H``, ``BN H`` and ``BN(H) diag(s)`` (round-off of ``log I`` is about ``d eps kappa``).
    """
    count = positive_int(count, "count")
    d_min, d_max = positive_int(d_min, "d_min", 2), positive_int(d_max, "d_max", 3)
    if d_min >= d_max:
        raise ValueError(f"need d_min < d_max, got {d_min}, {d_max}")
    if not (scale_sigma >= 0 and math.isfinite(scale_sigma)):
        raise ValueError(f"scale_sigma must be finite and >= 0, got {scale_sigma}")
    dev = resolve_device(device)
    g = generator(seed)
    ds = torch.randint(d_min, d_max, (count,), generator=g)
    bn = get_norm("bn", 1)
    frames = []
    for d in sorted(set(ds.tolist())):
        k = int((ds == d).sum())
        scales = torch.exp(scale_sigma * torch.randn(k, 1, d, generator=g, dtype=MEASUREMENT_DTYPE))
        H = (torch.randn(k, d, d, generator=g, dtype=MEASUREMENT_DTYPE) * scales).to(dev)
        s = torch.exp(scale_sigma * torch.randn(k, 1, d, generator=g, dtype=MEASUREMENT_DTYPE)).to(dev)
        B = bn(H)
        r = torch.linalg.vector_norm(H, dim=-2)  # feature (column) norms over the batch
        E = B * 3.7  # equal feature norms
        lam = M.spectrum(torch.cat([H, B, B * s]))
        kappa_h, kappa_b, kappa_s = (lam[:, -1] / lam[:, 0]).split(k)
        iso = M.isometry(torch.cat([H, B, B * s, E, bn(E)]))
        iso_h, iso_b, iso_s, iso_e, iso_be = iso.split(k)
        frames.append(pd.DataFrame(dict(
            d=d, kappa=kappa_h.cpu(), kappa_bn=kappa_b.cpu(), kappa_rescaled=kappa_s.cpu(), iso=iso_h.cpu(),
            iso_bn=iso_b.cpu(), gain=(iso_b / iso_h).cpu(),
            am_gm=TN.scaling_isometry_gain(r**2).cpu(), lower=TN.scaling_isometry_lower_bound(r).cpu(),
            lower_ddof1=(1.0 + r.var(-1, unbiased=True) / r.mean(-1) ** 2).cpu(),
            iso_rescaled=iso_s.cpu(), gm_am_s=(1.0 / TN.scaling_isometry_gain(s.squeeze(-2) ** 2)).cpu(),
            iso_equal=iso_e.cpu(), iso_bn_equal=iso_be.cpu(),
        )))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# C3: Corollary A.3
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
@stored_as_gradients
def rotation_to_isometry(*, count: int = 300, d_max: int = 40, seed: int = 0, device="cpu") -> pd.DataFrame:
    """Corollary A.3: for square ``H`` (paper ``X = H^T``) let ``U`` hold the eigenvectors of ``X X^T = H^T H``;
    then ``W = U^T`` gives ``BN(W X)``, i.e. ``BN(H U)`` here, with orthogonal features, so ``phi = 0``.

    Columns: ``phi_x`` = phi(H), ``phi_eig`` = phi(BN(H U)), ``phi_haar`` = phi(BN(H Q^T)) for a Haar ``Q``
    (the control: a random rotation does not reach isometry), ``kappa`` = condition number of ``H^T H`` (sets the
    round-off of ``U``).
    """
    count, d_max = positive_int(count, "count"), positive_int(d_max, "d_max", 2)
    dev = resolve_device(device)
    g = generator(seed)
    bn = get_norm("bn", 1)
    rows = []
    for i in range(count):
        d = int(torch.randint(2, d_max + 1, (1,), generator=g))
        scales = torch.exp(torch.randn(d, generator=g, dtype=MEASUREMENT_DTYPE))
        H = (torch.randn(d, d, generator=g, dtype=MEASUREMENT_DTYPE) * scales).to(dev)
        Q = haar_orthogonal((d, d), g, MEASUREMENT_DTYPE).to(dev)
        lam, U = torch.linalg.eigh(H.T @ H)
        phi = M.isometry_gap(torch.stack([H, bn(H @ U), bn(H @ Q.T)])).cpu()
        rows.append(dict(index=i, d=d, kappa=float(lam[-1] / lam[0]), phi_x=float(phi[0]), phi_eig=float(phi[1]),
                         phi_haar=float(phi[2])))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# C4: Theorem 3 / Corollary 4 by Monte Carlo over Haar weights
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
@stored_as_gradients
def weingarten_gain(
    *,
    widths: Sequence[int] = (4, 8, 16),
    epsilons: Sequence[float] = (0.1, 0.3, 1.0, 3.0),
    samples: int = 20_000,
    weights: str = "haar",
    seed: int = 0,
    device="cpu",
) -> pd.DataFrame:
    """One step ``X -> BN(W X)`` (rcbench: ``H -> BN(H W^T)``) averaged over ``samples`` independent ``W``, for
    ``X = BN(I + eps G / sqrt(d))`` (``G`` standard Gaussian) and, with ``eps = 0``, an orthogonal ``X`` (equality
    case). ``weights="haar"`` (Theorem 3) or ``"gaussian"`` (``N(0, 1/d)``, the control). One row per case.

    Columns: ``iso_x`` = I(X), ``phi_x``; ``mean_iso`` / ``se_iso`` and ``mean_phi`` / ``se_phi`` of I and phi after
    the step; ``gain`` = Theorem 3's factor and ``phi_drop`` = Corollary 4's log term from the eigenvalues of the
    feature Gram ``H^T H`` (paper ``X X^T``, mean 1 after BN); ``min_iso`` / ``max_iso`` over the samples.
    """
    from rcbench.theory import isometry as TI

    widths = [positive_int(d, "width", 2) for d in widths]
    samples = positive_int(samples, "samples", 2)
    if weights not in ("haar", "gaussian"):
        raise ValueError(f"weights must be 'haar' or 'gaussian', got {weights!r}")
    eps_list = [float(e) for e in epsilons]
    if any(not (math.isfinite(e) and e >= 0) for e in eps_list):
        raise ValueError(f"epsilons must be finite and >= 0, got {eps_list}")
    dev = resolve_device(device)
    g = generator(seed)
    bn = get_norm("bn", 1)
    rows = []
    for d in widths:
        for eps in [0.0, *eps_list]:
            if eps == 0.0:
                H = haar_orthogonal((d, d), g, MEASUREMENT_DTYPE) * 2.0
            else:
                G = torch.randn(d, d, generator=g, dtype=MEASUREMENT_DTYPE)
                H = torch.eye(d, dtype=MEASUREMENT_DTYPE) + eps * G / math.sqrt(d)
            H = bn(H.to(dev))
            lam = torch.linalg.eigvalsh(H.T @ H)
            if weights == "haar":
                W = haar_orthogonal((samples, d, d), g, MEASUREMENT_DTYPE).to(dev)
            else:
                W = (torch.randn(samples, d, d, generator=g, dtype=MEASUREMENT_DTYPE) / math.sqrt(d)).to(dev)
            Hn = bn(H @ W.transpose(-1, -2))
            phi = M.isometry_gap(Hn)
            iso = torch.exp(-phi)
            finite = torch.isfinite(phi)
            phi_x = float(M.isometry_gap(H))
            rows.append(dict(
                width=d, eps=eps, weights=weights, samples=samples, phi_x=phi_x, iso_x=math.exp(-phi_x),
                mean_iso=float(iso.mean()), se_iso=float(iso.std() / math.sqrt(samples)),
                mean_phi=float(phi[finite].mean()) if bool(finite.all()) else math.inf,
                se_phi=float(phi.std() / math.sqrt(samples)) if bool(finite.all()) else math.inf,
                min_iso=float(iso.min()), max_iso=float(iso.max()),
                gain=float(TI.theorem3_gain(lam, normalize=True)),
                phi_drop=float(TI.corollary4_drop(lam, normalize=True)),
            ))
    return pd.DataFrame(rows)


