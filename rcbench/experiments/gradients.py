"""Experiments of paper C: Meterez, Joudaki, Orabona, Immer, Rätsch, Daneshmand, *Towards training without depth
limits: batch normalization without gradient explosion* (ICLR 2024, arXiv 2310.02012).

Layout: paper C writes ``X_l`` in ``R^{d x n}`` (one column per sample) with ``X_{l+1} = BN(W_l X_l)``; rcbench uses
``H_l = X_l^T`` (``n x d``) and ``H_{l+1} = BN(H_l W_l^T)``. The paper's BN (Eq. 4) gives every **feature** unit
norm over the batch: a row of ``X``, a column of ``H`` (norm ``"bn"``; the authors' code default divides by
``norm / sqrt(n)``, norm ``"bn_rms"``). The isometry gap ``phi`` (Eq. 5) is :func:`rcbench.metrics.isometry_gap` of
``H`` (sample Gram ``H H^T``); with ``n = d`` its spectrum equals that of the paper's ``X X^T``. "W_1" in the
gradient figures is the second linear layer ``fc_1`` (``net.blocks[1].linear``), the first hidden-to-hidden matrix.

Every function takes its sizes, seeds and ``device`` and returns a tidy :class:`pandas.DataFrame`; :data:`PROFILES`
holds the ``quick`` (CPU) and ``paper`` sizes per claim id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import rcbench.metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import (
    few_threads,
    gaussian_input,
    generator,
    positive_int,
    profile_config,
    regime_n_le_d,
    storable,
    tidy,
)
from rcbench.networks import MLP, NumericalDivergence, gain_schedule, get_norm
from rcbench.networks.init import haar_orthogonal, perturbed_identity
from rcbench.theory import normalization as TN

__all__ = [
    "PROFILES",
    "config",
    "isometry_gap_identities",
    "bn_isometry_lemma",
    "rotation_to_isometry",
    "weingarten_gain",
    "forward_isometry",
    "authors_input",
    "gradient_sweep",
    "degenerate_batches",
    "train_shaped",
    "IDENTITY_INIT",
    "EXPERIMENTS",
]

#: ``W_l = I`` for every layer (no rotation): the negative control of C5.
IDENTITY_INIT = perturbed_identity(0.0)
IDENTITY_INIT.__name__ = "identity"


#: sizes per claim id: ``PROFILES[profile][claim_id]`` is a dict of keyword arguments (see :func:`config`).
PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "C1": dict(count=300, d_max=40),
        "C2": dict(count=2000, d_min=2, d_max=40),
        "C3": dict(count=300, d_max=40),
        "C4": dict(widths=(4, 8, 16), epsilons=(0.1, 0.3, 1.0, 3.0), samples=20_000),
        "C5": dict(widths=(16, 32), depth=100, seeds=10, f=0.005),
        "C6": dict(widths=(16, 32), depth=400, seeds=5),
        "C7": dict(width=32, batch=32, in_features=64, depths=(10, 50, 100, 200, 400), seeds=5),
        "C8": dict(width=32, batch=32, in_features=64, distinct=16, epsilons=(math.inf, 1.0, 0.1, 0.01, 0.001, 0.0),
                   depths=(10, 50, 100, 200, 400, 800), seeds=4),
        "C9": dict(width=32, batch=32, in_features=64, depths=(10, 50, 100, 200, 400), seeds=8),
        # C10: 8 seeds (was 3): one seed's spike sent the 3-seed slope to 2.1e-3 in 1 of 44 audit runs (see test)
        "C10": dict(width=32, batch=32, in_features=64, depths=(10, 50, 100, 200), seeds=8),
        "C11": dict(width=32, batch=32, depths=(10, 50), epochs=6, lr=0.01, seeds=2, train_size=None),
        # beyond the paper's range: mean-centred BN at n = d = 32 and depth 1600 (see the C9 stress test); 12 seeds
        # (was 6) for the power of its seed-noise criterion
        "C9_deep": dict(width=32, batch=32, in_features=64, depths=(400, 1600), seeds=12),
    },
    "paper": {
        "C1": dict(count=300, d_max=40),
        "C2": dict(count=2000, d_min=2, d_max=40),
        "C3": dict(count=300, d_max=40),
        "C4": dict(widths=(4, 8, 16), epsilons=(0.1, 0.3, 1.0, 3.0), samples=20_000),
        "C5": dict(widths=(50, 100), depth=100, seeds=10, f=0.005),
        "C6": dict(widths=(16, 32), depth=400, seeds=20),
        "C7": dict(width=100, batch=100, in_features=3072, depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=10),
        "C8": dict(width=100, batch=100, in_features=3072, distinct=25, epsilons=(math.inf, 0.0),
                   depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=10),
        "C9": dict(width=100, batch=100, in_features=3072, depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=3),
        "C10": dict(width=100, batch=100, in_features=3072, depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=10),
        "C11": dict(width=100, batch=100, depths=(100, 500, 1000), epochs=50, lr=0.001, seeds=1, train_size=None),
        "C9_deep": dict(width=32, batch=32, in_features=64, depths=(400, 1600), seeds=12),
    },
}


def config(claim_id: str, profile: str = "quick") -> dict:
    """A copy of the keyword arguments of ``claim_id``'s experiment at ``profile`` (``"quick"`` or ``"paper"``)."""
    return profile_config(PROFILES, claim_id, profile)


#: the regime each claim needs, checked on ``--set`` overrides before any work (:mod:`rcbench.overrides`): Thm 5's
#: non-degenerate input (phi(X_0) finite) needs a full-rank batch, i.e. batch <= width and batch <= in_features
REGIMES = {
    cid: (regime_n_le_d("batch", "width"), regime_n_le_d("batch", "in_features"))
    for cid in ("C7", "C8", "C9", "C9_deep", "C10")
}


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------
def _depths(depths, minimum: int = 1) -> list[int]:
    depths = [int(positive_int(L, "depth", minimum)) for L in depths]
    if not depths:
        raise ValueError("depths is empty")
    return depths


def _name(component) -> str:
    if component is None:
        return "none"
    if isinstance(component, str):
        return component
    return getattr(component, "__name__", type(component).__name__)


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


# ---------------------------------------------------------------------------------------------------------------
# C5, C6: forward isometry gap through a linear BN chain (Theorem 1, Fig. 1)
# ---------------------------------------------------------------------------------------------------------------
def authors_input(d: int, f: float = 0.005, *, seed: int = 0, ensemble: int | None = None) -> torch.Tensor:
    """Fig. 1's input ``X_0 = (1 - f) I_d + f u v^T``, ``u, v ~ U[0,1]^d`` (a near-isometric, non-degenerate batch
    of ``n = d`` samples), returned as ``H_0 = X_0^T`` of shape ``(d, d)`` or ``(ensemble, d, d)``, float64, CPU."""
    d = positive_int(d, "d", 2)
    if not (0 <= f < 1):
        raise ValueError(f"f must lie in [0, 1), got {f}")
    g = generator(seed)
    S = 1 if ensemble is None else positive_int(ensemble, "ensemble")
    u = torch.rand(S, d, 1, generator=g, dtype=MEASUREMENT_DTYPE)
    v = torch.rand(S, d, 1, generator=g, dtype=MEASUREMENT_DTYPE)
    X = (1 - f) * torch.eye(d, dtype=MEASUREMENT_DTYPE) + f * u @ v.transpose(-1, -2)
    H = X.transpose(-1, -2)
    return H[0] if ensemble is None else H


@storable
@few_threads
def forward_isometry(
    *,
    widths: Sequence[int] = (16, 32),
    depth: int = 100,
    seeds: int = 10,
    input: str = "authors",
    f: float = 0.005,
    init="orthogonal",
    norm="bn",
    seed: int = 0,
    device="cpu",
) -> pd.DataFrame:
    """phi(H_l), ``l = 0 .. depth``, of a linear BN chain ``H_{l+1} = BN(H_l W_l^T)`` with ``n = d`` (Eq. 3).

    ``input``: ``"authors"`` (Fig. 1, :func:`authors_input` with ``f``), ``"gaussian"`` (generic i.i.d. batch) or
    ``"degenerate"`` (the authors' input with its last sample replaced by the first: rank ``d - 1``, phi = inf).
    ``init``: weights (``"orthogonal"`` = Haar, Theorem 1's assumption; ``"gaussian"`` N(0, 1/d);
    :data:`IDENTITY_INIT` for ``W_l = I``). One row per width x layer x seed with column ``isometry_gap``.
    """
    widths = [positive_int(d, "width", 2) for d in widths]
    depth, seeds = positive_int(depth, "depth"), positive_int(seeds, "seeds")
    if input not in ("authors", "gaussian", "degenerate"):
        raise ValueError(f"input must be 'authors', 'gaussian' or 'degenerate', got {input!r}")
    dev = resolve_device(device)
    frames = []
    for d in widths:
        if input == "gaussian":
            x = gaussian_input(d, d, seed=seed * 1009 + d, ensemble=seeds)
        else:
            x = authors_input(d, f, seed=seed * 1009 + d, ensemble=seeds)
            if input == "degenerate":
                x[:, -1] = x[:, 0]
        net = MLP(d, d, depth, norm=norm, init=init, ensemble=seeds, seed=seed * 1009 + d + 1, device=dev)
        grams = net.grams(x.to(dev))
        values = M.spectral_metrics(grams, ["isometry_gap"], d=d)
        frames.append(tidy(values, seeds=range(seed * seeds, seed * seeds + seeds), width=d, input=input,
                           init=_name(init), norm=_name(norm)))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# C7-C10: gradient norms at initialisation versus depth (Theorem 5, Figs. 2, 3, 5, G6)
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
def gradient_sweep(
    *,
    width: int,
    batch: int,
    in_features: int,
    depths: Sequence[int],
    seeds: int,
    init="orthogonal",
    norm="bn_rms",
    activation="identity",
    gain_exponent: float | None = None,
    bias: bool = False,
    weights: Sequence[int] = (1,),
    classes: int = 10,
    inputs: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    seed: int = 0,
    device="cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """``log ||grad_{W_w} L||_F`` at initialisation for MLPs of every depth in ``depths`` (Fig. 3's procedure).

    The net (authors' ``MLPWithBatchNorm``): ``fc_0`` (``in_features -> width``), ``fc_1 .. fc_{L-1}`` (``width ->
    width``), each followed by ``norm``, gain ``alpha_l`` and ``activation`` (``order="norm_act"``, Eq. 11), then a
    readout ``fc_L`` (``width -> classes``); weights by ``init`` (readout included), so depth ``L`` means ``L``
    blocks. ``gain_exponent`` ``e`` gives ``alpha_l = (l+1)^e`` (``-0.4`` is the paper's shaping; the authors'
    ``run.py`` negates its flag, here the sign is as written); ``None`` means ``alpha = 1``. Loss: cross-entropy
    (batch mean) of random labels, summed over the ``seeds`` ensemble members so their gradients do not mix.
    ``weights`` lists the linear layers measured (1 = ``fc_1``, Fig. 3/5's "W_1"; 0 = ``fc_0``, the mean-reduction
    plot). ``inputs`` (``(n, in)`` or ``(seeds, n, in)``) defaults to one i.i.d. Gaussian batch per seed, shared by
    all depths. One row per depth x seed x weight: ``grad_norm``, ``log_grad``.
    """
    width, batch = positive_int(width, "width"), positive_int(batch, "batch", 2)
    in_features, seeds = positive_int(in_features, "in_features"), positive_int(seeds, "seeds")
    classes = positive_int(classes, "classes", 2)
    weights = [int(positive_int(w, "weight index", 0)) for w in weights]
    if not weights:
        raise ValueError("weights is empty")
    depths = _depths(depths, max(weights) + 1)
    if gain_exponent is not None and not math.isfinite(gain_exponent):
        raise ValueError(f"gain_exponent must be finite or None, got {gain_exponent}")
    dev = resolve_device(device)
    if inputs is None:
        inputs = gaussian_input(batch, in_features, seed=seed, ensemble=seeds)
    if inputs.shape[-2:] != (batch, in_features) or inputs.ndim not in (2, 3) or (
        inputs.ndim == 3 and inputs.shape[0] != seeds
    ):
        raise ValueError(f"inputs must have shape ({seeds}, {batch}, {in_features}), got {tuple(inputs.shape)}")
    if not bool(torch.isfinite(inputs).all()):
        raise ValueError("inputs contain NaN or inf")
    if labels is None:
        labels = torch.randint(0, classes, (seeds, batch), generator=generator(seed * 7 + 3))
    if tuple(labels.shape) != (seeds, batch):
        raise ValueError(f"labels must have shape ({seeds}, {batch}), got {tuple(labels.shape)}")
    x, y = inputs.to(device=dev, dtype=dtype), labels.to(dev).reshape(-1)
    gain = 1.0 if gain_exponent is None else gain_schedule(gain_exponent)
    names = [f"blocks.{w}.linear.weight" for w in weights]
    frames = []
    for L in depths:
        net = MLP(in_features, width, L, out_features=classes, norm=norm, activation=activation, gain=gain,
                  init=init, bias=bias, ensemble=seeds, seed=seed * 100_003 + L, dtype=dtype, device=dev)
        out = net(x)
        loss = F.cross_entropy(out.reshape(-1, classes), y, reduction="sum") / batch
        norms = M.gradient_norms(net, loss, names=names)
        g = torch.stack([norms[k] for k in names]).to(torch.float64)  # (weights, seeds)
        for w, gw in zip(weights, g):
            frames.append(tidy({"grad_norm": gw[None], "log_grad": torch.log(gw)[None]}, layer_start=w,
                               seeds=range(seeds), depth=L))
        del net, out, loss
    df = pd.concat(frames, ignore_index=True).rename(columns={"layer": "weight"})
    df["init"], df["norm"], df["activation"] = _name(init), _name(norm), _name(activation)
    df["gain_exponent"] = np.nan if gain_exponent is None else float(gain_exponent)
    return df


@storable
@few_threads
def degenerate_batches(
    *,
    width: int,
    batch: int,
    in_features: int,
    distinct: int,
    epsilons: Sequence[float],
    depths: Sequence[int],
    seeds: int,
    init="orthogonal",
    norm="bn_rms",
    seed: int = 0,
    device="cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """Remark 1 / Fig. 2: gradients for batches of ``distinct`` Gaussian samples, each repeated ``batch/distinct``
    times, the copies perturbed by ``eps`` times fresh Gaussian noise (``eps = 0``: exact duplicates, a degenerate
    batch; ``eps = inf``: an independent Gaussian batch, non-degenerate). All levels and seeds run as one ensemble.
    Columns as :func:`gradient_sweep` plus ``eps`` and ``phi_input`` (phi of the input batch, inf if degenerate).
    """
    batch, distinct = positive_int(batch, "batch", 2), positive_int(distinct, "distinct")
    if batch % distinct:
        raise ValueError(f"batch ({batch}) must be a multiple of distinct ({distinct})")
    eps_list = [float(e) for e in epsilons]
    if not eps_list or any(math.isnan(e) or e < 0 for e in eps_list):
        raise ValueError(f"epsilons must be non-negative (inf = independent batch), got {eps_list}")
    seeds = positive_int(seeds, "seeds")
    reps = batch // distinct
    g = generator(seed * 31 + 5)
    xs = []
    for eps in eps_list:
        for _ in range(seeds):
            if math.isinf(eps):
                xs.append(torch.randn(batch, in_features, generator=g, dtype=MEASUREMENT_DTYPE))
                continue
            base = torch.randn(distinct, in_features, generator=g, dtype=MEASUREMENT_DTYPE)
            noise = torch.randn(reps - 1, distinct, in_features, generator=g, dtype=MEASUREMENT_DTYPE)
            copies = base + eps * noise if eps > 0 else base.expand(reps - 1, distinct, in_features)
            xs.append(torch.cat([base[None], copies]).reshape(batch, in_features))
    x = torch.stack(xs)
    phi_in = M.isometry_gap(x)
    df = gradient_sweep(width=width, batch=batch, in_features=in_features, depths=depths, seeds=len(xs), init=init,
                        norm=norm, inputs=x, seed=seed, device=device, dtype=dtype)
    member = df["seed"].to_numpy()
    df["eps"] = np.repeat(eps_list, seeds)[member]
    df["phi_input"] = phi_in.numpy()[member]
    df["seed"] = member % seeds
    return df


# ---------------------------------------------------------------------------------------------------------------
# C11: training shaped BN MLPs (Figs. 4 and 6, scaled down)
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
def train_shaped(
    *,
    data=None,
    width: int = 32,
    batch: int = 32,
    depths: Sequence[int] = (10, 50),
    epochs: int = 6,
    lr: float = 0.01,
    seeds: int = 2,
    activation="tanh",
    gain_exponent: float | None = -0.4,
    norm="batchnorm1d",
    init="orthogonal",
    bias: bool = True,
    train_size: int | None = None,
    seed: int = 0,
    device="cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """Train shaped BN MLPs (Eq. 11: ``sigma(alpha_l BN(W_l x))``, torch BN with biases, orthogonal init) with plain
    SGD (no momentum), as the authors' ``run.py``; ``seeds`` networks train at once as one ensemble on the same
    mini-batches. ``data`` is an :class:`rcbench.data.Dataset` (default scikit-learn's digits).

    Long tidy frame, one row per depth x seed x epoch x layer x stat: ``stat`` in ``loss`` (mean training loss of
    the epoch; epoch 0 = at init on the fixed batch), ``accuracy`` (training accuracy of the epoch, counted on the
    mini-batches as they are trained on, batch statistics), ``phi_W`` (isometry gap of ``W_l`` with ``G = W W^T``,
    as the code) and ``grad_norm``
    (``||grad_{W_l} L||_F`` on a fixed batch) for the hidden ``width x width`` layers ``l = 1 .. L-1``; ``layer``
    is ``-1`` for whole-network stats; ``classes`` is the data set's number of classes. Raises
    :class:`NumericalDivergence` on a NaN loss.
    """
    from rcbench.data import digits

    depths = _depths(depths, 3)
    width, batch = positive_int(width, "width"), positive_int(batch, "batch", 2)
    epochs, seeds = positive_int(epochs, "epochs"), positive_int(seeds, "seeds")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be positive and finite, got {lr}")
    dev = resolve_device(device)
    data = digits() if data is None else data
    if train_size is not None:
        data = data.subset(train_size, seed=seed)
    data = data.to(dev, dtype)
    if len(data) < batch:
        raise ValueError(f"the data set has {len(data)} examples, fewer than one batch of {batch}")
    gain = 1.0 if gain_exponent is None else gain_schedule(gain_exponent)
    fixed_x, fixed_y = next(data.batches(batch, seed=seed * 13 + 1))
    rows = []

    def loss_fn(net, x, y):
        out = net(x)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(seeds), reduction="sum") / x.shape[0], out

    def snapshot(net, L, epoch):
        hidden = [f"blocks.{l}.linear.weight" for l in range(1, L)]
        loss, _ = loss_fn(net, fixed_x, fixed_y)
        gn = M.gradient_norms(net, loss, names=hidden)
        with torch.no_grad():
            W = torch.stack([dict(net.named_parameters())[k] for k in hidden])  # (L-1, S, d, d)
            phi = M.isometry_gap(W)
        for i, k in enumerate(hidden):
            for s in range(seeds):
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=i + 1, stat="phi_W", value=float(phi[i, s])))
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=i + 1, stat="grad_norm", value=float(gn[k][s])))
        return float(loss.detach()) / seeds

    for L in depths:
        net = MLP(data.num_features, width, L, out_features=data.num_classes, norm=norm, activation=activation,
                  gain=gain, init=init, bias=bias, ensemble=seeds, seed=seed * 100_003 + L, dtype=dtype, device=dev)
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        init_loss = snapshot(net, L, 0)
        rows.extend(dict(depth=L, seed=s, epoch=0, layer=-1, stat="loss", value=init_loss) for s in range(seeds))
        for epoch in range(1, epochs + 1):
            total = torch.zeros(seeds, dtype=torch.float64, device=dev)
            correct = torch.zeros(seeds, dtype=torch.float64, device=dev)
            steps = count = 0
            for xb, yb in data.batches(batch, seed=seed * 1000 + epoch):
                out = net(xb)
                correct += (out.detach().argmax(-1) == yb).sum(-1).to(torch.float64)
                count += xb.shape[0]
                per_seed = F.cross_entropy(out.reshape(-1, out.shape[-1]), yb.repeat(seeds), reduction="none")
                per_seed = per_seed.reshape(seeds, -1).mean(-1)
                if not bool(torch.isfinite(per_seed).all()):
                    raise NumericalDivergence(f"training loss is not finite at depth {L}, epoch {epoch}")
                opt.zero_grad(set_to_none=True)
                per_seed.sum().backward()
                opt.step()
                total += per_seed.detach()
                steps += 1
            for s in range(seeds):
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=-1, stat="loss", value=float(total[s] / steps)))
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=-1, stat="accuracy",
                                 value=float(correct[s] / count)))
            if epoch == epochs:
                snapshot(net, L, epoch)
    df = pd.DataFrame(rows)
    df["activation"], df["gain_exponent"] = _name(activation), np.nan if gain_exponent is None else gain_exponent
    df["data"], df["classes"] = data.name, data.num_classes
    return df


#: claim id -> the experiment that runs its :data:`PROFILES` entry (the main arm; controls call the same function
#: with other arguments).
EXPERIMENTS = {
    "C1": isometry_gap_identities,
    "C2": bn_isometry_lemma,
    "C3": rotation_to_isometry,
    "C4": weingarten_gain,
    "C5": forward_isometry,
    "C6": forward_isometry,
    "C7": gradient_sweep,
    "C8": degenerate_batches,
    "C9": gradient_sweep,
    "C9_deep": gradient_sweep,
    "C10": gradient_sweep,
    "C11": train_shaped,
}
