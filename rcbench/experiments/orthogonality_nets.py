"""Paper B (Daneshmand, Joudaki, Bach 2021) — the network-level claims: the iterative orthogonal initialisation
(Eq. 6, App. E: B6, B28), the vanilla contrast (Fig. 1: B21; §3.2: B22), the nonlinear conjectures of App. F
(Figs. 5, 6: B23-B26), the initial gap of vanilla ReLU MLPs (Fig. 3a: B27) and the SGD experiments (Figs. 3, 4, 7:
B29-B32).

Layout: representations are ``(seeds, n, d)`` (rows = samples). The paper writes ``d x n``; its sample Gram
``H^T H`` is ``H H^T`` here, and the orthogonality gap ``V`` (Eq. 2) is :func:`rcbench.metrics.orthogonality_gap`
(evaluated via :func:`rcbench.metrics.spectral_metrics` on stacked Grams).

Every function takes its sizes as keyword arguments, validates them before any work and returns a tidy
:class:`pandas.DataFrame`; :data:`PROFILES` holds the ``quick`` (CPU) and ``paper`` sizes per claim id.
Training experiments run on scikit-learn's digits (or generated data) unless ``data_root`` is given, then on
CIFAR-10 through torchvision (``download=False``) with the authors' normalisation (per channel mean 0.5, std 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

import rcbench.metrics as M
from rcbench.data import Dataset, digits, torchvision_dataset
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import (
    generator,
    positive_int,
    profile_config,
    regime_n_le_d,
    require_n_le_d,
    storable,
    tidy,
)
from rcbench.networks import MLP, Block, EnsembleLinear, NumericalDivergence, get_activation, get_init, get_norm
from rcbench.networks import init as inits
from rcbench.networks.iterative_init import (
    VARIANTS,
    iterative_orthogonal_init_,
    iterative_orthogonal_init_conv_,
    orthogonalizing_weight,
)
from rcbench.networks.mlp import check_network_input

__all__ = [
    "PROFILES",
    "config",
    "ACTIVATIONS_F",
    "one_layer_orthogonalization",
    "two_sample_cosines",
    "vanilla_gap_growth",
    "nonlinear_chain",
    "relu_bn_gap",
        "initial_gap",
    "vanilla_input_spectrum",
    "training_loss_vs_depth",
    "gap_during_training",
    "convnet_training",
    "correlated_data",
    "logit_gap",
    "last_layer_gaps",
    "ConvNet",
]

XAVIER_RELU = inits.xavier_uniform(math.sqrt(2.0))  # authors' Figs. 3/4/7: xavier_uniform_ with the ReLU gain

#: App. F activations by name; "one_plus_tanh" is the authors' "sigmoid" (``tanh(x) + 1``, Figures_1_2_6.ipynb).
ACTIVATIONS_F = {
    "relu": "relu",
    "tanh": "tanh",
    "sin": "sin",
    "one_plus_tanh": lambda x: 1.0 + torch.tanh(x),
    "sigmoid": "sigmoid",
    "linear": "identity",
}

# ---------------------------------------------------------------------------------------------------------------
# profiles
# ---------------------------------------------------------------------------------------------------------------
PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "B6": {"widths": (32, 64, 100), "ratio": 3, "matrices": 20},
        "B21": {"width": 32, "depth": 50, "seeds": 20, "eps": 1e-3},
        "B22": {"widths": (32, 128), "n": 4, "depth": 100, "seeds": 20},
        "B23": {"widths": (16, 32, 64, 128, 256), "n": 4, "depth": 300, "burn_in": 50, "seeds": 4, "chunk": 25},
        "B26": {"width": 100, "n": 8, "depth": 30, "seeds": 50, "mean_scale": 1.5},
        "B27": {"width": 64, "in_features": 128, "depths": (10, 40), "n_eval": 32, "seeds": 8, "init_ratio": 3},
        "B29": {"width": 64, "depths": (5, 30), "epochs": 10, "batch_size": 50, "lr": 0.01, "seeds": 3,
                "init_ratio": 3},
        "B30": {"width": 64, "depth": 20, "epochs": 10, "batch_size": 50, "lr": 0.01, "seeds": 6, "n_eval": 64},
        "B31": {"width": 64, "depths": (30,), "epochs": 10, "batch_size": 50, "lr": 0.01, "seeds": 3,
                "variants": ("xavier", "paper", "code", "reproduction"), "init_ratio": 3},
        "B32": {"channels": 8, "convs": (20, 80), "epochs": 2, "batch_size": 30, "lr": 0.01, "seeds": 2,
                "init_batch": 64, "train_size": 600},
    },
    "paper": {
        "B6": {"widths": (32, 64, 100, 256, 512), "ratio": 3, "matrices": 100},
        "B21": {"width": 32, "depth": 50, "seeds": 200, "eps": 1e-3},
        "B22": {"widths": (32, 64, 128, 256, 512), "n": 4, "depth": 100, "seeds": 100},
        "B23": {"widths": (32, 64, 128, 256, 512), "n": 4, "depth": 1000, "burn_in": 100, "seeds": 8, "chunk": 20},
        "B26": {"width": 100, "n": 8, "depth": 30, "seeds": 50, "mean_scale": 1.5},
        "B27": {"width": 800, "in_features": 3072, "depths": (15, 30, 45, 60, 75), "n_eval": 500, "seeds": 4,
                "init_ratio": 3, "data": "cifar10"},
        "B29": {"width": 800, "depths": (15, 30, 45, 60, 75), "epochs": 30, "batch_size": 500, "lr": 0.01,
                "seeds": 4, "init_ratio": 3, "data": "cifar10"},
        "B30": {"width": 800, "depth": 20, "epochs": 50, "batch_size": 500, "lr": 0.01, "seeds": 4, "n_eval": 500,
                "data": "cifar10"},
        "B31": {"width": 800, "depths": (15, 30, 45, 60, 75), "epochs": 30, "batch_size": 500, "lr": 0.01,
                "seeds": 4, "variants": ("xavier", "paper", "code", "reproduction"), "init_ratio": 3,
                "data": "cifar10"},
        "B32": {"channels": 256, "convs": (20, 80), "epochs": 20, "batch_size": 30, "lr": 0.001, "seeds": 4,
                "init_batch": 256, "train_size": None, "data": "cifar10"},
    },
}
for _k in ("B24", "B25"):
    PROFILES["quick"][_k] = PROFILES["quick"]["B23"]
    PROFILES["paper"][_k] = PROFILES["paper"]["B23"]
PROFILES["quick"]["B28"] = PROFILES["quick"]["B27"]
PROFILES["paper"]["B28"] = PROFILES["paper"]["B27"]


def config(claim_id: str, profile: str = "quick") -> dict:
    """A copy of the sizes of ``claim_id`` under ``profile`` (``"quick"`` or ``"paper"``)."""
    return profile_config(PROFILES, claim_id, profile)


#: the regime each claim needs, checked on ``--set`` overrides before any work (:mod:`rcbench.overrides`): the
#: chains' n x n Gram must be full rank, n <= d (as the experiments' own require_n_le_d)
REGIMES = {cid: regime_n_le_d("n", "widths") for cid in ("B22", "B23", "B24", "B25")}


# ---------------------------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------------------------
def _pos_list(values, name: str) -> list[int]:
    values = [values] if isinstance(values, (int, np.integer)) else list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    return [positive_int(v, name) for v in values]


def _finite_pos(value, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _variant_ok(variant: str) -> None:
    if variant != "xavier" and variant not in VARIANTS:
        raise ValueError(f"unknown init variant {variant!r}; one of ['xavier', *{sorted(VARIANTS)}]")


def _spectral(grams: torch.Tensor, names=("orthogonality_gap",)) -> dict[str, torch.Tensor]:
    return M.spectral_metrics(grams.to(MEASUREMENT_DTYPE), names)


def last_layer_gaps(h: torch.Tensor, out: torch.Tensor) -> dict[str, torch.Tensor]:
    """Eq. (2) gap of the last hidden layer ``h`` ``(seeds, n, d)`` and :func:`logit_gap` of the output, per seed.

    A dead ReLU network (``h`` identically zero for a seed: all units off, or a layer of the iterative init whose
    output on the init batch vanished and so got ``W = 0``, see
    :func:`~rcbench.networks.iterative_init.orthogonalizing_weight`) maps every sample to the same point; its gaps
    are set to their rank-one limits (``sqrt(1 - 1/n)`` and ``sqrt(2 - 2/sqrt(k))``) and ``dead`` is 1, instead of
    recording NaN.
    """
    h, out = h.detach().to(MEASUREMENT_DTYPE), out.detach().to(MEASUREMENT_DTYPE)
    n, k = h.shape[-2], out.shape[-1]
    dead = h.flatten(-2).abs().amax(-1) == 0
    live = ~dead
    gap = torch.full(dead.shape, math.sqrt(1 - 1 / n), dtype=MEASUREMENT_DTYPE)
    lg = torch.full(dead.shape, math.sqrt(2 - 2 / math.sqrt(k)), dtype=MEASUREMENT_DTYPE)
    if bool(live.any()):
        hl = h[live]
        gap[live.cpu()] = _spectral(hl @ hl.transpose(-1, -2))["orthogonality_gap"].cpu()
        ol = out[live]
        ok = ol.flatten(-2).abs().amax(-1) > 0
        vals = torch.full((ol.shape[0],), math.sqrt(2 - 2 / math.sqrt(k)), dtype=MEASUREMENT_DTYPE)
        if bool(ok.any()):
            vals[ok.cpu()] = logit_gap(ol[ok]).cpu()
        lg[live.cpu()] = vals
    return {"gap": gap, "logit_gap": lg, "dead": dead.cpu().to(torch.int64)}


def logit_gap(Y: torch.Tensor) -> torch.Tensor:
    """The authors' Figs. 3/4 "gap" (``compute_orthogonality_gap``): ``|| s/||s|| - 1/sqrt(k) ||_2`` over the ``k``
    singular values ``s`` of the output matrix ``Y`` ``(..., n, k)`` (n >= k). It is the Bures-Wasserstein distance of
    :func:`rcbench.metrics.w2_to_isotropic_gaussian` applied to ``Y^T`` (its ``k x k`` Gram has eigenvalues ``s^2``),
    so no new metric is defined here."""
    return M.w2_to_isotropic_gaussian(Y.transpose(-1, -2).to(MEASUREMENT_DTYPE))


# ---------------------------------------------------------------------------------------------------------------
# B6: one layer of Eq. (6)
# ---------------------------------------------------------------------------------------------------------------
def anisotropic_batch(N: int, d: int, *, seed: int = 0, decay: float = 2.0, matrices: int = 1) -> torch.Tensor:
    """``(matrices, N, d)`` Gaussian rows with feature scales ``logspace(0, -decay, d)`` in a random basis."""
    g = generator(seed)
    z = torch.randn(matrices, N, d, generator=g, dtype=MEASUREMENT_DTYPE)
    scales = torch.logspace(0, -decay, d, dtype=MEASUREMENT_DTYPE)
    o = inits.haar_orthogonal((matrices, d, d), g, MEASUREMENT_DTYPE)
    return (z * scales) @ o.transpose(-1, -2)


@storable
@torch.no_grad()
def one_layer_orthogonalization(
    *, widths: Sequence[int] = (32, 64, 100), ratio: int = 3, matrices: int = 20, decay: float = 2.0,
    variants: Sequence[str] = ("paper", "paper_literal", "code", "reproduction"), seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B6 (App. E): one Eq. (6) layer applied to an anisotropic ``(N = ratio * d, d)`` batch.

    Rows: width × matrix × variant with the sample-side gap ``V(H)`` -> ``V(H W^T)`` (Eq. 2, ``N x N`` Gram), the
    feature-side gap (``d x d`` Gram, the side that Eq. (6) whitens when ``N > d``) and ``sv_error``: the largest
    deviation of the output's singular values from App. E's ``sqrt(s_i / sum_j s_j)``.
    """
    widths = _pos_list(widths, "widths")
    ratio, matrices = positive_int(ratio, "ratio"), positive_int(matrices, "matrices")
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant {v!r}; one of {sorted(VARIANTS)}")
    dev = resolve_device(device)
    rows = []
    for i, d in enumerate(widths):
        H = anisotropic_batch(ratio * d, d, seed=seed * 1000 + i, decay=decay, matrices=matrices).to(dev)
        s = torch.linalg.svdvals(H)
        predicted = (s / s.sum(-1, keepdim=True)).sqrt()
        v_in = _spectral(H @ H.transpose(-1, -2))["orthogonality_gap"]
        f_in = _spectral(H.transpose(-1, -2) @ H)["orthogonality_gap"]
        for v in variants:
            Y = H @ orthogonalizing_weight(H, variant=v).transpose(-1, -2)
            v_out = _spectral(Y @ Y.transpose(-1, -2))["orthogonality_gap"]
            f_out = _spectral(Y.transpose(-1, -2) @ Y)["orthogonality_gap"]
            sv_err = (torch.linalg.svdvals(Y) - predicted).abs().amax(-1)
            for m in range(matrices):
                rows.append({"width": d, "N": ratio * d, "matrix": m, "variant": v,
                             "gap_in": float(v_in[m]), "gap_out": float(v_out[m]),
                             "feature_gap_in": float(f_in[m]), "feature_gap_out": float(f_out[m]),
                             "sv_error": float(sv_err[m]), "frob_out": float(torch.linalg.matrix_norm(Y[m]))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# B21: Fig. 1
# ---------------------------------------------------------------------------------------------------------------
@storable
@torch.no_grad()
def two_sample_cosines(
    *, width: int = 32, depth: int = 50, seeds: int = 20, eps: float = 1e-3, norm="bn", init="gaussian",
    seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B21 (Fig. 1, authors' protocol): ``|cos|`` between two samples at the input and after every layer.

    One weight draw per run is shared by the two networks (same seed, same init; normalisation draws nothing):
    the BN net gets ``e_1, (1 - eps) e_1 + eps e_2``, the vanilla (linear, unnormalised) net ``e_1, e_2``.
    Rows: layer × seed × arm (``bn`` / ``vanilla``) with ``abs_cos``.
    """
    width, depth, seeds = positive_int(width, "width"), positive_int(depth, "depth"), positive_int(seeds, "seeds")
    if width < 2:
        raise ValueError("width must be at least 2 (two orthogonal inputs)")
    eps = _finite_pos(eps, "eps")
    dev = resolve_device(device)
    eye = torch.eye(width, dtype=MEASUREMENT_DTYPE)
    inputs = {"bn": torch.stack([eye[0], (1 - eps) * eye[0] + eps * eye[1]]), "vanilla": eye[:2].clone()}
    frames = []
    for arm, nrm in (("bn", norm), ("vanilla", "none")):
        net = MLP(width, width, depth, norm=nrm, init=init, ensemble=seeds, seed=seed, device=dev)
        cos = []
        net(inputs[arm].to(dev), callback=lambda l, h: cos.append(M.cosine_similarity(h)[..., 0, 1].abs()))
        frames.append(tidy({"abs_cos": torch.stack(cos)}, arm=arm, width=width))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# B22: vanilla gap growth
# ---------------------------------------------------------------------------------------------------------------
@storable
@torch.no_grad()
def vanilla_gap_growth(
    *, widths: Sequence[int] = (32, 128), n: int = 4, depth: int = 100, seeds: int = 20, init="gaussian",
    control_norm="bn", seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B22 (§3.2): ``V`` per layer of the vanilla linear chain ``H <- H W^T`` and, as control, of the BN chain
    (``control_norm``) with the same weights and the same Gaussian input ``(n, d)``.
    Rows: layer × seed × width × arm."""
    widths = _pos_list(widths, "widths")
    n, depth, seeds = positive_int(n, "n"), positive_int(depth, "depth"), positive_int(seeds, "seeds")
    for d in widths:
        require_n_le_d(n, d, "B22")
    dev = resolve_device(device)
    frames = []
    for i, d in enumerate(widths):
        x = _b22_input(n, d, i, seed).to(dev)
        arms = {"vanilla": "none", "bn": control_norm}
        grams = _shared_weight_grams(x, d, depth, seeds, seed * 7919 + i, init, arms, dev)
        for arm in arms:
            frames.append(tidy(_spectral(grams[arm]), arm=arm, width=d, n=n))
    return pd.concat(frames, ignore_index=True)


def _b22_input(n: int, d: int, index: int, seed: int) -> torch.Tensor:
    """B22's Gaussian input ``(n, d)`` at the ``index``-th width (one draw shared by the runs of that width)."""
    return torch.randn(n, d, generator=generator(seed * 7919 + index), dtype=MEASUREMENT_DTYPE)


def vanilla_input_spectrum(n: int, d: int, index: int, seed: int = 0):
    """Trace-one spectrum of the sample Gram of :func:`vanilla_gap_growth`'s input at its ``index``-th width: the
    starting point of :func:`rcbench.theory.orthogonality.vanilla_gap_law`."""
    x = _b22_input(n, d, index, seed)
    lam = torch.linalg.eigvalsh(x @ x.T).clamp_min(0).numpy()
    return lam / lam.sum()


def _shared_weight_grams(x, d, depth, seeds, seed, init, norms: dict, dev) -> dict:
    """The Grams ``(depth + 1, seeds, n, n)`` of ``MLP(d, d, depth, norm=norms[arm], init=init, ensemble=seeds,
    seed=seed)`` for every arm, with the weights drawn layer by layer from the generator stream of that MLP (the
    same draws, bit for bit) and shared by the arms: one layer's ``seeds x d x d`` weights resident instead of
    the whole net per arm (B22's paper profile, d = 512 and 100 seeds: 0.2 GB instead of 2 x 21 GB)."""
    init_fn = get_init(init)
    g = torch.Generator().manual_seed(int(seed))
    blocks = {arm: Block(EnsembleLinear(d, d, seeds, dtype=MEASUREMENT_DTYPE), get_norm(nrm, d, seeds),
                         get_activation("identity"), 1.0, "norm_act").to(device=dev, dtype=MEASUREMENT_DTYPE)
              for arm, nrm in norms.items()}  # fmt: skip
    h0 = check_network_input(x, d, seeds, device=dev, dtype=MEASUREMENT_DTYPE)
    hs = dict.fromkeys(norms, h0)
    grams = {arm: [h0 @ h0.transpose(-1, -2)] for arm in norms}
    for _ in range(depth):
        w = init_fn((seeds, d, d), g, MEASUREMENT_DTYPE).to(dev)  # MLP's _fill: one draw per layer, in order
        for arm, blk in blocks.items():
            blk.linear.weight.copy_(w)
            hs[arm] = blk(hs[arm])
            grams[arm].append(hs[arm] @ hs[arm].transpose(-1, -2))
    for arm, h in hs.items():
        if not bool(torch.isfinite(h).all()):
            raise NumericalDivergence(f"the forward pass produced NaN or inf (B22, arm {arm}, width {d})")
    return {arm: torch.stack(v) for arm, v in grams.items()}


# ---------------------------------------------------------------------------------------------------------------
# B23-B25: App. F chain Q <- BN(W F(Q))
# ---------------------------------------------------------------------------------------------------------------
@storable
@torch.no_grad()
def nonlinear_chain(
    *, activations: Sequence = ("relu", "tanh", "sin", "one_plus_tanh"), widths: Sequence[int] = (16, 32, 64, 128, 256),
    n: int = 4, depth: int = 300, burn_in: int = 50, seeds: int = 4, chunk: int = 25, norm="bn", seed: int = 0,
    device="cpu",
) -> pd.DataFrame:
    """B23-B25 (App. F, Fig. 6): the chain ``Q_{l+1} = BN(W_l F(Q_l))`` in the paper's ordering, with literal weights.

    An rcbench MLP block is ``act(norm(linear(h)))``; the paper's ``Q_l`` is its post-norm, pre-activation value, read
    by stepping the blocks (``Q = norm(linear(h)); h = act(Q)``). The weights are drawn in chunks of ``chunk`` layers
    (memory ``chunk * seeds * d^2``) and shared by all activations. Per layer after ``burn_in``: ``V(Q)`` (Eq. 2) and
    App. F's ``L(Q) = || Q Q^T / tr - K ||_F`` with ``K = E_nu[Q Q^T / tr]`` estimated by pooling the post-burn-in
    Grams of all runs and symmetrising over sample permutations (the invariant law is exchangeable: ``K = a I + b
    (11^T - I)``). ``activations``: names of :data:`ACTIVATIONS_F` or callables. Rows: layer × seed × width ×
    activation with ``orthogonality_gap`` and ``L``.
    """
    widths = _pos_list(widths, "widths")
    n, depth, seeds, chunk = positive_int(n, "n"), positive_int(depth, "depth"), positive_int(seeds, "seeds"), positive_int(chunk, "chunk")
    if not 0 <= int(burn_in) < depth:
        raise ValueError(f"burn_in must lie in [0, depth), got {burn_in}")
    acts = {}
    for a in activations:
        key = a if isinstance(a, str) else getattr(a, "__name__", "custom")
        spec = ACTIVATIONS_F.get(a, a) if isinstance(a, str) else a
        acts[key] = get_activation(spec)
    for d in widths:
        require_n_le_d(n, d, "App. F chain")
    dev = resolve_device(device)
    frames = []
    for i, d in enumerate(widths):
        x = torch.randn(n, d, generator=generator(seed * 104729 + i), dtype=MEASUREMENT_DTYPE).to(dev)
        hs = {k: x.expand(seeds, n, d) for k in acts}
        grams = {k: [] for k in acts}
        done = 0
        while done < depth:
            L = min(chunk, depth - done)
            net = MLP(d, d, L, norm=norm, activation="identity", ensemble=seeds,
                      seed=seed * 104729 + 1000 * i + done, device=dev)
            for k, act in acts.items():
                h = hs[k]
                for blk in net.blocks:
                    q = blk.norm(blk.linear(h))
                    grams[k].append(q @ q.transpose(-1, -2))
                    h = act(q)
                if not bool(torch.isfinite(h).all()):
                    raise NumericalDivergence(f"App. F chain diverged (activation {k}, width {d})")
                hs[k] = h
            done += L
            del net
        for k in acts:
            G = torch.stack(grams[k][burn_in:])  # (layers, seeds, n, n)
            C = G / G.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
            mean = C.mean((0, 1))
            eye = torch.eye(n, dtype=C.dtype, device=C.device)
            a = mean.diagonal().mean()
            b = (mean.sum() - mean.diagonal().sum()) / (n * (n - 1))
            K = a * eye + b * (1 - eye)
            Lval = torch.linalg.matrix_norm(C - K)
            V = _spectral(G)["orthogonality_gap"]
            frames.append(tidy({"orthogonality_gap": V, "L": Lval}, layer_start=burn_in + 1, activation=k, width=d,
                               n=n, K_offdiag=float(b / a)))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------------
def correlated_data(n: int, features: int, *, seed: int = 0, mean_scale: float = 1.0, decay: float = 1.0,
                    classes: int = 10, dtype=MEASUREMENT_DTYPE) -> Dataset:
    """Synthetic correlated inputs: a shared mean direction (norm ``mean_scale * sqrt(features)``) plus Gaussian
    fluctuations with a power-law spectrum ``k^{-decay}`` in a fixed random basis (images are correlated like this:
    a common positive component and a decaying covariance spectrum). Labels: the nearest of ``classes`` random
    prototypes (so the set can also be trained on). The distribution is fixed by ``features`` (basis seed 12345);
    ``seed`` only draws the samples."""
    n, features = positive_int(n, "n"), positive_int(features, "features")
    g0 = torch.Generator().manual_seed(12345)
    mu = torch.randn(features, generator=g0, dtype=dtype)
    mu = mean_scale * math.sqrt(features) * mu / mu.norm()
    basis = inits.haar_orthogonal((features, features), g0, dtype)
    spec = torch.arange(1, features + 1, dtype=dtype) ** (-decay / 2)
    spec = spec * math.sqrt(features / (spec**2).sum())
    protos = torch.randn(classes, features, generator=g0, dtype=dtype)
    z = torch.randn(n, features, generator=generator(seed), dtype=dtype)
    x = mu + (z * spec) @ basis.T
    y = ((x - mu) @ protos.T).argmax(-1)
    return Dataset(x, y, "correlated", classes)


def _cifar_authors(root, *, train: bool = True) -> Dataset:
    """CIFAR-10 flattened with the authors' normalisation ``(x / 255 - 0.5) / 0.5`` (Figures_3_4.ipynb)."""
    ds = torchvision_dataset("cifar10", root, train=train, raw_pixels=True, dtype=torch.float32)
    return Dataset((ds.x / 255.0 - 0.5) / 0.5, ds.y, "cifar10", 10)


def _training_data(data: str | None, data_root, dtype) -> Dataset:
    if data_root is not None:
        return _cifar_authors(data_root).to(dtype=dtype)
    if data in (None, "digits", "cifar10"):
        return digits(dtype=dtype)
    if data == "correlated":
        return correlated_data(1797, 64, seed=0, dtype=dtype)
    raise ValueError(f"unknown data {data!r}; 'digits', 'correlated' or 'cifar10' (with data_root)")


@storable
@torch.no_grad()
def relu_bn_gap(
    *, width: int = 100, n: int = 8, depth: int = 30, seeds: int = 50, norm="bn_centered", activation="relu",
    mean_scale: float = 1.0, decay: float = 1.0, data_root=None, seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B26 (Fig. 5, App. F; authors' ``Figure_5.ipynb`` MLP arm): ``V`` along a ReLU MLP with standard (centring) BN
    and along the same net without BN.

    The authors' layer is ``Sequential(act, Linear, norm)`` with V recorded before each layer; that is the chain
    ``z_{l+1} = norm(W_l act(z_l))``, read here from rcbench blocks (``linear -> norm -> act``) as the post-norm,
    pre-activation value. ``norm="bn_centered"`` is ``BatchNorm1d`` in training mode without affine and epsilon.
    Xavier-normal with the ReLU gain. Each of the ``seeds`` runs has its own network and its own batch of ``n``
    correlated inputs (:func:`correlated_data`, ``width`` features) or, with ``data_root``, a random CIFAR-10 batch
    (3072 features, authors' normalisation; the first layer then maps 3072 -> ``width``). Layer 0 is the input.
    Rows: layer × seed × arm (``bn`` / ``vanilla``).
    """
    width, n, depth, seeds = positive_int(width, "width"), positive_int(n, "n"), positive_int(depth, "depth"), positive_int(seeds, "seeds")
    if n < 2:
        raise ValueError("n must be at least 2")
    dev = resolve_device(device)
    if data_root is not None:
        ds = _cifar_authors(data_root).subset(seeds * n, seed=seed).to(dtype=MEASUREMENT_DTYPE)
        x = ds.x.reshape(seeds, n, -1)
    else:
        x = correlated_data(seeds * n, width, seed=seed, mean_scale=mean_scale, decay=decay).x.reshape(seeds, n, width)
    x = x.to(dev)
    in_features = x.shape[-1]
    frames = []
    for arm, nrm in (("bn", norm), ("vanilla", "none")):
        net = MLP(in_features, width, depth, norm=nrm, activation=activation, init=inits.xavier_normal(math.sqrt(2.0)),
                  ensemble=seeds, seed=seed, device=dev)
        h, grams = x, [x @ x.transpose(-1, -2)]
        for blk in net.blocks:
            z = blk.norm(blk.linear(h))
            grams.append(z @ z.transpose(-1, -2))
            h = blk.act(z)
        frames.append(tidy(_spectral(torch.stack(grams)), arm=arm, width=width, n=n))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# vanilla ReLU MLPs (Figs. 3, 4) and the iterative init
# ---------------------------------------------------------------------------------------------------------------
def _vanilla_relu_mlp(in_features: int, width: int, depth: int, seeds: int, seed: int, device, dtype,
                      out_features: int | None = 10, init=XAVIER_RELU) -> MLP:
    """The authors' Figs. 3/4 net: ``depth`` linear layers in all (input, ``depth - 2`` hidden, readout), ReLU after
    all but the last, no bias, no normalisation, Xavier-uniform with the ReLU gain. ``out_features=None`` drops the
    readout (then ``depth - 1`` blocks remain)."""
    if depth < 2:
        raise ValueError(f"depth counts all linear layers (input and readout included) and must be >= 2, got {depth}")
    return MLP(in_features, width, depth - 1, out_features=out_features, norm="none", activation="relu",
               init=init, ensemble=seeds, seed=seed, dtype=dtype, device=device)


def _apply_init(net: MLP, variant: str, x_init: torch.Tensor) -> MLP:
    if variant != "xavier":
        # hidden (square) layers only, as the authors; pseudo-inverse for dead ReLU units (zero feature columns)
        iterative_orthogonal_init_(net, x_init, variant=variant, pinv=True)
    return net


@storable
@torch.no_grad()
def initial_gap(
    *, width: int = 64, in_features: int = 128, depths: Sequence[int] = (10, 40), n_eval: int = 32, seeds: int = 8,
    init_ratio: int = 3, variants: Sequence[str] = ("xavier", "paper", "code", "paper_literal", "reproduction"),
    data: str | None = None, data_root=None, init=XAVIER_RELU, seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B27/B28 (Fig. 3a gap curve; Eq. 6 at init): gaps of a vanilla ReLU MLP at initialisation.

    ``depth`` counts all linear layers as the authors' code (input ``in_features -> width``, ``depth - 2`` hidden,
    readout ``width -> 10``), drawn from ``init`` (default Xavier-uniform with the ReLU gain). The iterative init
    sets the hidden layers from an init batch of ``init_ratio * width`` samples; the gaps are measured on a fresh
    batch of ``n_eval``: Eq. (2) ``V`` of the last hidden layer and the authors' logit measure (:func:`logit_gap`).
    Data: :func:`correlated_data` (``in_features`` features) or CIFAR-10 with ``data_root``.
    Rows: depth × variant × seed.
    """
    width, in_features, n_eval, seeds = (positive_int(width, "width"), positive_int(in_features, "in_features"),
                                         positive_int(n_eval, "n_eval"), positive_int(seeds, "seeds"))
    depths = _pos_list(depths, "depths")
    init_ratio = positive_int(init_ratio, "init_ratio")
    for v in variants:
        _variant_ok(v)
    dev = resolve_device(device)
    if data_root is not None:
        ds = _cifar_authors(data_root).to(dtype=MEASUREMENT_DTYPE)
        in_features = ds.num_features
        pool = ds.subset(init_ratio * width + n_eval, seed=seed)
        x_init, x_eval = pool.x[: init_ratio * width], pool.x[init_ratio * width:]
    else:
        x_init = correlated_data(init_ratio * width, in_features, seed=seed * 2 + 1).x
        x_eval = correlated_data(n_eval, in_features, seed=seed * 2 + 2).x
    x_init, x_eval = x_init.to(dev), x_eval.to(dev)
    rows = []
    for depth in depths:
        if depth < 3:
            raise ValueError("initial_gap needs depth >= 3 (at least one hidden layer)")
        for v in variants:
            net = _vanilla_relu_mlp(in_features, width, depth, seeds, seed + depth, dev, MEASUREMENT_DTYPE, init=init)
            _apply_init(net, v, x_init)
            with torch.no_grad():
                out, hidden = net(x_eval, return_hidden=True)
            gaps = last_layer_gaps(hidden[-1], out)
            for s in range(seeds):
                rows.append({"depth": depth, "variant": v, "seed": s, **{k: gaps[k][s].item() for k in gaps}})
    return pd.DataFrame(rows)


def _train_ensemble(net: MLP, ds: Dataset, *, epochs: int, batch_size: int, lr: float, seed: int,
                    on_epoch=None) -> torch.Tensor:
    """Plain SGD on the cross-entropy, all seeds at once (the loss is the sum of the per-seed mean losses, so the
    seeds' parameters get their own gradients). Each seed has its own data order. Returns the authors' training loss
    per epoch (running average of the minibatch losses), shape ``(epochs, seeds)``."""
    S = net.ensemble
    N = len(ds)
    steps = N // batch_size
    if steps < 1:
        raise ValueError(f"batch_size {batch_size} exceeds the data set size {N}")
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    g = generator(seed)
    losses = []
    for ep in range(epochs):
        perm = torch.argsort(torch.rand(S, N, generator=g), dim=1)
        running = torch.zeros(S, dtype=torch.float64)
        for i in range(steps):
            idx = perm[:, i * batch_size:(i + 1) * batch_size].to(ds.x.device)
            xb, yb = ds.x[idx], ds.y[idx]  # (S, B, in), (S, B)
            out = net(xb)
            per_seed = nn.functional.cross_entropy(out.transpose(1, 2), yb, reduction="none").mean(1)
            if not bool(torch.isfinite(per_seed).all()):
                raise NumericalDivergence(f"training diverged at epoch {ep + 1}, step {i + 1}")
            opt.zero_grad(set_to_none=True)
            per_seed.sum().backward()
            opt.step()
            running += per_seed.detach().to("cpu", torch.float64)
        losses.append(running / steps)
        if on_epoch is not None:
            on_epoch(ep + 1, net)
    return torch.stack(losses)


@storable
def training_loss_vs_depth(
    *, width: int = 64, depths: Sequence[int] = (5, 30), epochs: int = 10, batch_size: int = 50, lr: float = 0.01,
    seeds: int = 3, variants: Sequence[str] = ("xavier",), init_ratio: int = 3, data: str | None = None,
    data_root=None, dtype=torch.float32, init=XAVIER_RELU, seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B29/B31 (Figs. 3a, 4): SGD training loss of vanilla ReLU MLPs against depth, per init variant.

    Authors' settings scaled down: ``depth`` counts all linear layers; Xavier-uniform (ReLU gain), no bias, plain SGD,
    cross-entropy, loss = running average over the epoch. ``variants``: ``"xavier"`` and names of
    :data:`rcbench.networks.iterative_init.VARIANTS` (hidden layers re-initialised from ``init_ratio * width``
    training samples). The same Xavier draw (same seed) underlies every variant of a depth; ``init`` replaces
    Xavier. Each (depth, variant) run depends only on its own seeds, so runs can be computed separately.
    Rows: epoch × seed × depth × variant with ``loss``.
    """
    width, epochs, batch_size, seeds = (positive_int(width, "width"), positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size"),
                                        positive_int(seeds, "seeds"))
    depths = _pos_list(depths, "depths")
    lr = _finite_pos(lr, "lr")
    init_ratio = positive_int(init_ratio, "init_ratio")
    for v in variants:
        _variant_ok(v)
    if min(depths) < 2:
        raise ValueError(f"depth counts all linear layers (input and readout included) and must be >= 2, got {depths}")
    dev = resolve_device(device)
    ds = _training_data(data, data_root, dtype).to(dev)
    x_init = ds.subset(init_ratio * width, seed=seed + 17).x if len(ds) >= init_ratio * width else None
    frames = []
    for depth in depths:
        for v in variants:
            net = _vanilla_relu_mlp(ds.num_features, width, depth, seeds, seed + depth, dev, dtype, init=init)
            if v != "xavier":
                if x_init is None:
                    raise ValueError("data set too small for the init batch")
                _apply_init(net, v, x_init)
            loss = _train_ensemble(net, ds, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed + 31 * depth)
            frame = tidy({"loss": loss}, layer_start=1, depth=depth, variant=v)
            frames.append(frame.rename(columns={"layer": "epoch"}))
    return pd.concat(frames, ignore_index=True)


def gap_during_training(
    *, width: int = 64, depth: int = 20, epochs: int = 10, batch_size: int = 50, lr: float = 0.01, seeds: int = 3,
    n_eval: int = 64, data: str | None = None, data_root=None, dtype=torch.float32, seed: int = 0, device="cpu",
    return_loss: bool = False,
):
    """B30 (Fig. 3b): gaps of a ``depth``-layer vanilla ReLU MLP at init (epoch 0) and after every SGD epoch.

    At every epoch a fresh evaluation batch of ``n_eval`` training samples (the same one for both arms) gives the
    Eq. (2) gap of the last hidden layer and the authors' logit measure, for the trained net (``arm="trained"``) and
    an untrained copy with the same initial weights (``arm="untrained"``, the control). Rows: epoch × seed × arm
    (``dead`` marks a dead ReLU network). With ``return_loss`` also the training-loss frame (epoch × seed).
    """
    width, depth, epochs, batch_size, seeds, n_eval = (positive_int(width, "width"), positive_int(depth, "depth"),
                                                       positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size"),
                                                       positive_int(seeds, "seeds"), positive_int(n_eval, "n_eval"))
    lr = _finite_pos(lr, "lr")
    if depth < 2:
        raise ValueError(f"depth counts all linear layers (input and readout included) and must be >= 2, got {depth}")
    dev = resolve_device(device)
    ds = _training_data(data, data_root, dtype).to(dev)
    net = _vanilla_relu_mlp(ds.num_features, width, depth, seeds, seed + depth, dev, dtype)
    frozen = _vanilla_relu_mlp(ds.num_features, width, depth, seeds, seed + depth, dev, dtype)
    rows = []

    def measure(epoch: int, trained: MLP) -> None:
        xb = ds.subset(n_eval, seed=seed * 1009 + epoch).x
        for arm, model in (("trained", trained), ("untrained", frozen)):
            with torch.no_grad():
                out, hidden = model(xb, return_hidden=True)
            gaps = last_layer_gaps(hidden[-1], out)
            for s in range(seeds):
                rows.append({"epoch": epoch, "seed": s, "arm": arm, **{k: gaps[k][s].item() for k in gaps}})

    measure(0, net)
    loss = _train_ensemble(net, ds, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed + 7, on_epoch=measure)
    df = pd.DataFrame(rows)
    if return_loss:
        return df, tidy({"loss": loss}, layer_start=1).rename(columns={"layer": "epoch"})
    return df


# ---------------------------------------------------------------------------------------------------------------
# B32: ConvNets (Fig. 7, Table 3), scaled down
# ---------------------------------------------------------------------------------------------------------------
class ConvNet(nn.Module):
    """A scaled-down version of the authors' Fig. 7 ReLU ConvNet (``Figure_7.ipynb``; Table 3).

    ``stem`` conv (``in_channels -> channels``, kernel 3, padding 1) + ReLU, then ``convs - 1`` square convs
    ``channels -> channels`` (kernel 3, padding 1, no bias) + ReLU — the layers the SVD init re-initialises — then a
    2x2 max-pool and a linear classifier. ``convs`` counts all conv layers (the paper's 20 / 80).
    """

    def __init__(self, in_channels: int, channels: int, convs: int, image_size: int, classes: int = 10):
        super().__init__()
        layers = [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU()]
        for _ in range(convs - 1):
            layers += [nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.MaxPool2d(2)
        self.classifier = nn.Linear(channels * (image_size // 2) ** 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def _xavier_relu_(module: nn.Module, g: torch.Generator) -> None:
    """Authors' ``weights_init``: xavier_uniform_ with the ReLU gain on every conv and linear, zero biases (seeded)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight
                fan_in = w[0].numel()
                fan_out = w.shape[0] * (w[0, 0].numel() if w.ndim > 2 else 1)
                a = math.sqrt(2.0) * math.sqrt(6.0 / (fan_in + fan_out))
                w.copy_((torch.rand(w.shape, generator=g, dtype=w.dtype) * 2 - 1) * a)
                if m.bias is not None:
                    m.bias.zero_()


def _image_data(data_root, train_size, dtype) -> tuple[torch.Tensor, torch.Tensor, int]:
    if data_root is not None:
        ds = _cifar_authors(data_root)
        x = ((ds.x * 0.5 + 0.5)).reshape(-1, 32, 32, 3).permute(0, 3, 1, 2)  # authors feed ToTensor() pixels in [0,1]
        x, y, size = x, ds.y, 32
    else:
        ds = digits(standardize=False)
        x, y, size = ds.x.reshape(-1, 1, 8, 8), ds.y, 8
    if train_size is not None:
        idx = torch.randperm(x.shape[0], generator=generator(0))[:train_size]
        x, y = x[idx], y[idx]
    return x.to(dtype), y, size


@storable
def convnet_training(
    *, channels: int = 8, convs: Sequence[int] = (20, 80), epochs: int = 2, batch_size: int = 30, lr: float = 0.01,
    seeds: int = 2, init_batch: int = 64, train_size: int | None = 600, variants: Sequence[str] = ("xavier", "paper"),
    data: str | None = None, data_root=None, dtype=torch.float32, seed: int = 0, device="cpu",
) -> pd.DataFrame:
    """B32 (Fig. 7): SGD training loss of ReLU ConvNets with ``convs`` conv layers, Xavier vs the SVD init of App. G
    (Sigma^{-1/2} on the im2col representation, init batch ``init_batch``, square convs only, output scaled to unit
    norm, as ``Figure_7.ipynb``). Default data: ``train_size`` of scikit-learn's 8x8 digits (1 channel, pixels in
    [0, 1]); CIFAR-10 with ``data_root``. Rows: epoch × seed × convs × variant with ``loss`` (running average)."""
    channels, epochs, batch_size, seeds, init_batch = (positive_int(channels, "channels"), positive_int(epochs, "epochs"),
                                                       positive_int(batch_size, "batch_size"), positive_int(seeds, "seeds"),
                                                       positive_int(init_batch, "init_batch"))
    convs = _pos_list(convs, "convs")
    lr = _finite_pos(lr, "lr")
    for v in variants:
        _variant_ok(v)
    dev = resolve_device(device)
    x, y, size = _image_data(data_root, train_size, dtype)
    x, y = x.to(dev), y.to(dev)
    N = x.shape[0]
    steps = N // batch_size
    if steps < 1:
        raise ValueError(f"batch_size {batch_size} exceeds the data set size {N}")
    rows = []
    for c in convs:
        for s in range(seeds):
            for v in variants:
                g = generator(seed * 1_000_003 + 1009 * c + s)  # same Xavier draw for both variants
                net = ConvNet(x.shape[1], channels, c, size).to(dtype)
                _xavier_relu_(net, g)
                net = net.to(dev)
                if v != "xavier":
                    xi = x[torch.randperm(N, generator=g)[:init_batch].to(dev)]
                    iterative_orthogonal_init_conv_(net.features, xi, variant=v)
                opt = torch.optim.SGD(net.parameters(), lr=lr)
                go = generator(seed * 7 + 13 * s + c)
                for ep in range(epochs):
                    perm = torch.randperm(N, generator=go).to(dev)
                    running = 0.0
                    for i in range(steps):
                        j = perm[i * batch_size:(i + 1) * batch_size]
                        loss = nn.functional.cross_entropy(net(x[j]), y[j])
                        if not bool(torch.isfinite(loss)):
                            raise NumericalDivergence(f"ConvNet training diverged ({c} convs, {v}, epoch {ep + 1})")
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        running += float(loss.detach()) / steps
                    rows.append({"epoch": ep + 1, "seed": s, "convs": c, "variant": v, "loss": running})
    return pd.DataFrame(rows)
