"""Experiments of paper B (Daneshmand, Joudaki, Bach, NeurIPS 2021): the linear BN chain
``H_{l+1} = BN(H_l W_l^T) / sqrt(d)`` (Eq. 1, transposed to rcbench's ``n x d`` layout), its orthogonality gap
``V`` (Eq. 2), the Lyapunov function ``V_hat = 1/n - sigma_n^2`` (Eq. 11), the one-step lemmas (Lemmas 6-8,
Theorem 5), the depth and width laws of Figs. 2a/2b, Theorem 1, App. B.1 and the Wasserstein claims of §4.1.

Claims B1-B5 and B7-B20 (B6 and B21-B32 live in other modules).

Two samplers of the chain, both exact in law
---------------------------------------------
* ``sampler="literal"``: a real :class:`rcbench.networks.MLP` (``norm="bn"``, ``gain=1/sqrt(d)``,
  ``activation="identity"``, Gaussian ``N(0, 1/d)`` weights materialised as ``d x d`` matrices). Layers (and runs)
  are built in chunks so the weights of only a few layers are alive at once.
* ``sampler="gram"``: the shared exact law sampler :class:`rcbench.networks.gram_chain.GramChain` (the exact
  representation of App. C.2): given ``H`` (``n x d``) the columns of ``H W^T`` are i.i.d. ``N(0, H H^T / d)``, so
  ``H W^T ~ R Z`` with ``R R^T = H H^T`` and ``Z ~ N(0, 1/d)^{n x d}``; the norm, gain and activation are the same modules as in
  the MLP. One layer costs ``O(d n^2)`` instead of ``O(d^2 n)``.

In both, the norm is a parameter (``components.norm`` in the claims); ``"none"`` is the vanilla chain (gain 1).

Every chain returns a tidy frame with one row per ``seed x layer x width`` and the columns ``orthogonality_gap``
(``V``), ``lyapunov`` (``V_hat``), ``sigma_min2`` (``1/n - V_hat``, the smallest eigenvalue of the trace-one sample
Gram), ``coupling_w2_bound`` (``c = sum_i (sigma_i - 1/sqrt(n))^2``, Lemma 2) and ``frob2`` (``||H||_F^2``, the
Gram's trace); layer 0 is the input. Measurements are float64 throughout.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

import rcbench.metrics as M
from rcbench import stats
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import (
    few_threads,
    gaussian_input,
    positive_int,
    profile_config,
    regime_n_le_d,
    require_n_le_d,
    storable,
    tidy,
)
from rcbench.networks import MLP
from rcbench.networks.gram_chain import GramChain
from rcbench.theory import orthogonality as T

__all__ = [
    "PROFILES",
    "config",
    "INPUTS",
    "chain_input",
    "input_spectrum",
    "sample_gram_chain",
    "literal_grams",
    "chain_metrics",
    "bn_chain",
    "FullWhitening",
    "whitening_chain",
    "gap_identities",
    "random_representations",
    "lemma4_table",
    "lemma8_table",
    "near_isotropy_table",
    "mean_field_table",
    "one_step",
    "one_step_summary",
    "run_mean",
    "plateau",
    "steepest_window_slope",
    "width_slope",
    "transient_slope",
    "theorem1_table",
    "averaged_bound_table",
    "energy_distance",
    "gaussianity",
]

CHAIN_METRICS = ("orthogonality_gap", "lyapunov", "sigma_min2", "coupling_w2_bound", "frob2")
INPUTS = ("authors", "random", "collinear", "orthogonal", "equicorrelated")


# ---------------------------------------------------------------------------------------------------------------
# profiles: the same code at CPU ("quick") and paper scale ("paper")
# ---------------------------------------------------------------------------------------------------------------
_P2 = tuple(2**k for k in (10, 12, 14))
PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "B1": {"ns": tuple(range(2, 17)), "d_max": 64, "count": 300},
        "B2": {"n": 4, "widths": (32, 64), "depth": 20, "runs": 4, "input": "random"},
        "B3": {"count": 2000, "n_max": 16, "d_max": 64},
        "B4": {"count": 300, "n_max": 11, "isotropy_ns": (2, 4, 8), "mc_draws": 200_000, "eps_norm": 1e-3},
        "B5": {"ns": (2, 4, 8), "eps_norm": 1e-3, "start": (0.4, 0.3, 0.2, 0.1), "steps": 12},
        "B7": {"n": 4, "width": 32, "depth": 10, "runs": 3},
        "B8": {"ns": (4, 8), "widths": (16, 64, 256), "kinds": ("collinear", "random", "orthogonal"), "draws": 2000},
        "B12": {"n": 4, "widths": (32, 512), "depth": 50, "runs": 20, "input": "authors", "sampler": "gram",
                "literal_widths": (32,), "literal_runs": 20, "control_runs": 5, "plateau_from": 25},
        "B13": {"n": 4, "widths": (16, 32, 64, 128, 256, 512), "depth": 500, "runs": 20, "input": "authors",
                "random_depth": 150, "random_runs": 20, "burn_in": 50},
        "B14": {"ns": (4, 8), "widths": (16, 32, 64, 128, 256, 512), "depth": 100, "runs": 10, "burn_in": 30},
        "B15": {"n": 2, "widths": _P2, "depth": 60, "runs": 20, "input": "random",
                "info_n": 4, "info_widths": (64, 256, 1024, 4096), "info_runs": 20,
                "aniso_cos": 0.5, "aniso_widths": (2**14, 2**16)},
        "B16": {"ns": (2, 4, 8, 16), "width": 2**13, "depth": 30, "runs": 5, "input": "collinear"},
        "B17": {"n": 2, "widths": _P2, "depth": 200, "runs": 10, "input": "collinear"},
        "B19": {"n": 4, "widths": (64, 256, 1024, 4096), "depth": 60, "runs": 20, "input": "random",
                "plateau_from": 30, "control_runs": 5},
        "B20": {"n": 4, "widths": (64, 256), "depth": 30, "layers": 10, "runs": 6},
    },
    "paper": {
        "B1": {"ns": tuple(range(2, 17)), "d_max": 256, "count": 2000},
        "B2": {"n": 4, "widths": (32, 512), "depth": 50, "runs": 20, "input": "random"},
        "B3": {"count": 20000, "n_max": 16, "d_max": 64},
        "B4": {"count": 1000, "n_max": 11, "isotropy_ns": (2, 4, 8), "mc_draws": 1_000_000, "eps_norm": 1e-3},
        "B5": {"ns": (2, 4, 8), "eps_norm": 1e-3, "start": (0.4, 0.3, 0.2, 0.1), "steps": 20},
        "B7": {"n": 4, "width": 128, "depth": 20, "runs": 5},
        "B8": {"ns": (4, 8), "widths": (16, 64, 256, 1024), "kinds": ("collinear", "random", "orthogonal"),
               "draws": 10000},
        # literal W at d = 2048/8192 would draw 5000 CPU weight matrices of up to 8192^2 entries: the exact sampler
        # covers those widths, the literal check runs at d = 32 and 512 with 100 runs
        "B12": {"n": 4, "widths": (32, 512, 2048, 8192), "depth": 50, "runs": 100, "input": "authors",
                "sampler": "gram", "literal_widths": (32, 512), "literal_runs": 100, "control_runs": 20,
                "plateau_from": 25},
        "B13": {"n": 4, "widths": (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192), "depth": 500, "runs": 20,
                "input": "authors", "random_depth": 550, "random_runs": 20, "burn_in": 50},
        "B14": {"ns": (2, 4, 8), "widths": (64, 128, 256, 512, 1024, 2048, 4096), "depth": 300, "runs": 20,
                "burn_in": 50},
        "B15": {"n": 2, "widths": tuple(2**k for k in (12, 14, 16, 18)), "depth": 60, "runs": 20,
                "input": "random", "info_n": 4, "info_widths": (64, 256, 1024, 4096, 2**14, 2**16),
                "info_runs": 20, "aniso_cos": 0.5, "aniso_widths": (2**14, 2**16, 2**18)},
        "B16": {"ns": (2, 4, 8, 16), "width": 2**16, "depth": 60, "runs": 5, "input": "collinear"},
        "B17": {"n": 2, "widths": tuple(2**k for k in (12, 14, 16)), "depth": 200, "runs": 20,
                "input": "collinear"},
        "B19": {"n": 4, "widths": (64, 256, 1024, 4096, 2**14), "depth": 60, "runs": 20, "input": "random",
                "plateau_from": 30, "control_runs": 20},
        "B20": {"n": 4, "widths": (64, 256, 1024), "depth": 30, "layers": 10, "runs": 10},
    },
}
# claims that share runs with another
for _p in PROFILES.values():
    _p["B9"] = _p["B10"] = _p["B11"] = _p["B8"]
    _p["B18"] = _p["B15"]


def config(claim_id: str, profile: str = "quick") -> dict:
    """The experiment configuration of ``claim_id`` (``"B13"``) in ``profile`` (``"quick"`` or ``"paper"``)."""
    return profile_config(PROFILES, claim_id, profile)


def _regime_cosine(cfg, claim: str = "") -> None:
    c = cfg.get("aniso_cos", 0.5)
    if not (isinstance(c, (int, float)) and 0 <= c < 1):
        raise ValueError(f"needs 0 <= aniso_cos < 1 (a pairwise cosine of the equicorrelated input), got {c!r}")


_regime_cosine.__doc__ = "0 <= aniso_cos < 1"


#: the regime each claim needs, checked on ``--set`` overrides before any work (:mod:`rcbench.overrides`): paper B
#: assumes d >= n (the n x n Gram of H is full rank), as the experiments' own require_n_le_d
REGIMES = {
    **{cid: regime_n_le_d("n", "widths") for cid in ("B2", "B12", "B13", "B17", "B19", "B20")},
    **{cid: regime_n_le_d("ns", "widths") for cid in ("B8", "B9", "B10", "B11", "B14")},
    **{cid: (regime_n_le_d("n", "widths"), regime_n_le_d("info_n", "info_widths"),
             regime_n_le_d("n", "aniso_widths"), _regime_cosine) for cid in ("B15", "B18")},
    "B7": regime_n_le_d("n", "width"),
    "B16": regime_n_le_d("ns", "width"),
}


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------
def _derive(seed: int, *keys: int) -> int:
    """A child seed of ``seed`` for the setting ``keys`` (independent streams per width, n, arm)."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]]).generate_state(1)[0])


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def chain_input(kind: str, n: int, d: int, *, runs: int = 1, eps: float = 1e-3, seed: int = 0, device="cpu"):
    """Input batch ``(runs, n, d)`` (float64) of the chain experiments.

    * ``"authors"``: the authors' Fig. 2 input (``Figures_1_2_6.ipynb``): sample 0 is ``e_0``, sample ``i`` is
      ``1e-6 e_i`` (orthogonal samples of wildly unequal norms, ``V(H_0) ~= V_max``).
    * ``"random"``: i.i.d. ``N(0, 1)`` entries, a fresh draw per run.
    * ``"collinear"``: near-rank-one, sample 0 is ``e_0``, sample ``i`` is ``e_0 + eps e_i`` (the reproduction's
      Fig. 2a input, ``eps = 1e-3``).
    * ``"orthogonal"``: ``e_0 .. e_{n-1}`` (``V = 0``).
    * ``"equicorrelated"``: unit-norm samples with pairwise cosine ``c = eps`` (``0 <= c < 1``), sample ``i`` is
      ``sqrt(c) e_0 + sqrt(1 - c) e_{i+1}`` (needs ``d > n``): trace-one spectrum ``(1 + (n-1) c)/n`` once and
      ``(1 - c)/n`` (``n - 1`` times), so ``V(H_0) = c sqrt(1 - 1/n)`` and ``sigma_min^2 = (1 - c)/n``, an
      anisotropic input on which A1 holds with ``alpha ~ (1 - c)/n`` (Theorem 1's anisotropic arm, B15).
    """
    n, d, runs = positive_int(n, "n"), positive_int(d, "d"), positive_int(runs, "runs")
    device = resolve_device(device)
    if kind not in INPUTS:
        raise ValueError(f"unknown input {kind!r}; one of {INPUTS}")
    require_n_le_d(n, d, f"{kind} input")
    if kind == "random":
        return gaussian_input(n, d, seed=seed, ensemble=runs, device=device)
    x = torch.zeros(n, d, dtype=MEASUREMENT_DTYPE)
    idx = torch.arange(n)
    if kind == "authors":
        x[idx, idx] = 1e-6
        x[0, 0] = 1.0
    elif kind == "collinear":
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be positive and finite, got {eps}")
        x[:, 0] = 1.0
        x[idx[1:], idx[1:]] = eps
    elif kind == "equicorrelated":
        if not (math.isfinite(eps) and 0 <= eps < 1):
            raise ValueError(f"the pairwise cosine eps must lie in [0, 1), got {eps}")
        if d <= n:
            raise ValueError(f"the equicorrelated input needs d > n, got n={n}, d={d}")
        x[:, 0] = math.sqrt(eps)
        x[idx, idx + 1] = math.sqrt(1 - eps)
    else:
        x[idx, idx] = 1.0
    return x.expand(runs, n, d).clone().to(device)


def input_spectrum(kind: str, n: int, d: int, *, eps: float = 1e-3, seed: int = 0) -> np.ndarray:
    """Trace-one spectrum (ascending) of the sample Gram of :func:`chain_input` ``kind`` (one run; for ``"random"``
    one draw of the seed): the starting point of the ``d -> infinity`` map that predicts a protocol's transient
    (:func:`rcbench.theory.orthogonality.layer_mean_gap`)."""
    x = chain_input(kind, n, d, runs=1, eps=eps, seed=seed)[0]
    lam = torch.linalg.eigvalsh(x @ x.T).clamp_min(0).numpy()
    return lam / lam.sum()


def _spectral(grams: torch.Tensor) -> dict[str, torch.Tensor]:
    """``V``, ``V_hat``, ``sigma_min^2`` and the coupling cost from stacked sample Grams ``(..., n, n)``, one
    ``eigvalsh``. ``V`` and ``c`` use the definitions of :data:`rcbench.metrics.SPECTRAL_METRICS`; ``V_hat`` is
    paper B's Eq. (11) on the trace-one spectrum (no shared metric yet)."""
    lam = torch.linalg.eigvalsh(grams)
    n = lam.shape[-1]
    s = torch.where(lam > M.null_tolerance(lam), lam, torch.zeros_like(lam))
    sig2_min = s[..., 0] / s.sum(-1)
    return {
        "orthogonality_gap": M.SPECTRAL_METRICS["orthogonality_gap"](lam),
        "lyapunov": 1.0 / n - sig2_min,
        "sigma_min2": sig2_min,
        "coupling_w2_bound": M.SPECTRAL_METRICS["coupling_w2_bound"](lam),
        "frob2": torch.diagonal(grams, dim1=-2, dim2=-1).sum(-1),
    }


# ---------------------------------------------------------------------------------------------------------------
# the two samplers
# ---------------------------------------------------------------------------------------------------------------
@few_threads
def sample_gram_chain(x: torch.Tensor, depth: int, *, norm="bn", gain: float | None = None, seed: int = 0):
    """Sample Grams ``(depth + 1, runs, n, n)`` of the chain from ``x`` (``(runs, n, d)``), exact in law, with the
    shared :class:`rcbench.networks.gram_chain.GramChain` (Gaussian ``N(0, 1/d)`` weights, identity activation).

    ``norm="bn"``: ``H_{l+1} = BN(H_l W_l^T)/sqrt(d)`` (paper B, Eq. 1); ``norm="none"``: the vanilla linear chain
    ``H_{l+1} = H_l W_l^T``; any other norm of :mod:`rcbench.networks.norms` (a substituted component) is applied
    by the same modules as in the explicit :class:`MLP`. ``gain`` defaults to ``1/sqrt(d)`` after a norm, 1 without.
    Draws on ``x``'s device.
    """
    depth = positive_int(depth, "depth")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (runs, n, d), got {tuple(x.shape)}")
    runs, n, d = x.shape
    require_n_le_d(n, d, "Gram-chain sampler")
    g_l = _gain(norm, d) if gain is None else float(gain)
    nrm = None if norm == "none" else (norm if isinstance(norm, str) else _unit_frobenius(norm))
    net = GramChain(d, d, depth, norm=nrm, gain=g_l, activation="identity",
                    init="gaussian", ensemble=runs, seed=seed, device=x.device)
    return net.grams(x.to(MEASUREMENT_DTYPE))


class _UnitFrobenius(nn.Module):
    """A user's norm followed by one positive scalar per run, ``h / ||h||_F``: the chain's statistics (V, V_hat,
    sigma_min^2, c) are scale-invariant, so this changes none of them, but a norm that does not fix the scale (the
    identity, say) no longer under- or overflows over hundreds of layers with the gain 1/sqrt(d) (d = 512 shrinks H
    by 10^-1.35 per layer: float64 underflows after ~230 layers, which made B13 error instead of fail)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        scale = torch.linalg.matrix_norm(y).clamp_min(torch.finfo(y.dtype).tiny)
        return y / scale[..., None, None]


def _unit_frobenius(factory):
    """``factory(d)`` composed with :class:`_UnitFrobenius` (a factory of the same contract)."""

    @functools.wraps(factory)
    def wrapped(num_features: int) -> nn.Module:
        return _UnitFrobenius(factory(num_features))

    return wrapped


@few_threads
def literal_grams(
    x: torch.Tensor, depth: int, *, norm="bn", gain: float | None = None, seed: int = 0, device="cpu",
    max_bytes: float = 2.5e8,
) -> torch.Tensor:
    """Sample Grams ``(depth + 1, runs, n, n)`` of the literal Eq. (1): a real :class:`MLP` with materialised
    Gaussian ``N(0, 1/d)`` weights, ``gain = 1/sqrt(d)``, identity activation and normalisation ``norm`` (any
    name or factory of :mod:`rcbench.networks.norms`; ``None``/``"none"`` for the vanilla chain). ``gain``
    overrides the per-layer factor (default ``1/sqrt(d)`` after a norm, 1 without).

    The network is built in chunks of consecutive layers (each a :class:`MLP` of its own seed), and the runs in
    groups, so that at most ``max_bytes`` of weights are alive at once; the chunks compose to one deep network.
    """
    depth = positive_int(depth, "depth")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (runs, n, d), got {tuple(x.shape)}")
    runs, n, d = x.shape
    require_n_le_d(n, d, "literal BN chain")
    device = resolve_device(device)
    per_run_layer = d * d * 8
    group = max(1, min(runs, int(max_bytes // per_run_layer)))  # runs per pass
    chunk = max(1, min(depth, int(max_bytes // (group * per_run_layer))))  # layers per MLP
    g_l = _gain(norm, d) if gain is None else float(gain)
    out = []
    for r0 in range(0, runs, group):
        h = x[r0:r0 + group].to(device=device, dtype=MEASUREMENT_DTYPE)
        grams = [h @ h.transpose(-1, -2)]
        done, k = 0, 0
        while done < depth:
            L = min(chunk, depth - done)
            net = MLP(d, d, L, norm=norm, gain=g_l, activation="identity", init="gaussian", ensemble=h.shape[0],
                      seed=_derive(seed, 7, k, r0), device=device)
            grams.extend(net.grams(h)[1:])
            with torch.no_grad():
                h = net(h)
            done, k = done + L, k + 1
        out.append(torch.stack(grams))
    return torch.cat(out, dim=1)


def _gain(norm, d: int) -> float:
    """``1/sqrt(d)`` after a normalisation (Eq. 1); 1 for the vanilla chain (N(0, 1/d) weights keep its scale)."""
    return 1.0 if norm is None or (isinstance(norm, str) and norm.lower() in ("none", "identity")) else 1 / math.sqrt(d)


def chain_metrics(grams: torch.Tensor, *, seeds: Sequence[int] | None = None, **settings) -> pd.DataFrame:
    """Tidy frame of :data:`CHAIN_METRICS` per layer and run from stacked Grams ``(layers, runs, n, n)``."""
    return tidy(_spectral(grams), seeds=seeds, **settings)


@functools.lru_cache(maxsize=32)
def _bn_chain_cached(n, widths, depth, runs, input, eps, norm, sampler, gain, seed, device) -> pd.DataFrame:
    frames = []
    for d in widths:
        x = chain_input(input, n, d, runs=runs, eps=eps, seed=_derive(seed, 1, d, n), device=device)
        s = _derive(seed, 2, d, n, 0 if norm == "bn" else 1)
        if sampler == "gram":
            grams = sample_gram_chain(x, depth, norm=norm, gain=gain, seed=s)
        else:
            grams = literal_grams(x, depth, norm=norm, gain=gain, seed=s, device=device)
        label = norm if isinstance(norm, str) else getattr(norm, "__name__", type(norm).__name__)
        frames.append(chain_metrics(grams, width=d, n=n, input=input, norm=label, sampler=sampler))
    return pd.concat(frames, ignore_index=True)


@storable
@few_threads
def bn_chain(
    *,
    n: int = 4,
    widths: Sequence[int] = (32, 512),
    depth: int = 50,
    runs: int = 20,
    input: str = "authors",
    eps: float = 1e-3,
    norm="bn",
    sampler: str = "gram",
    gain: float | None = None,
    seed: int = 0,
    device="cpu",
    **_unused,
) -> pd.DataFrame:
    """The linear BN chain of paper B (Eq. 1; Figs. 2a/2b; Theorem 1), ``runs`` independent networks per width.

    Returns a tidy frame: one row per ``width x layer x run`` with ``layer`` (0 = input), ``seed`` (run index),
    ``width``, ``n``, ``input``, ``norm``, ``sampler`` and :data:`CHAIN_METRICS`. ``sampler="gram"`` is the exact
    law sampler (``norm`` in ``{"bn", "none"}``), ``sampler="literal"`` the real :class:`MLP` (any ``norm``;
    ``gain`` overrides its ``1/sqrt(d)``).
    Identical calls are cached for the session (claims share runs)."""
    n, depth, runs = positive_int(n, "n"), positive_int(depth, "depth"), positive_int(runs, "runs")
    widths = tuple(positive_int(d, "width") for d in widths)
    if not widths:
        raise ValueError("widths is empty")
    if input not in INPUTS:
        raise ValueError(f"unknown input {input!r}; one of {INPUTS}")
    if sampler not in ("gram", "literal"):
        raise ValueError(f"sampler must be 'gram' or 'literal', got {sampler!r}")
    for d in widths:
        require_n_le_d(n, d, "paper B assumes d >= n")
    device = resolve_device(device)
    gain = None if gain is None else float(gain)
    return _bn_chain_cached(n, widths, depth, runs, input, float(eps), norm, sampler, gain, int(seed), device).copy()


# ---------------------------------------------------------------------------------------------------------------
# B7: full whitening
# ---------------------------------------------------------------------------------------------------------------
class FullWhitening(nn.Module):
    """Full whitening in place of diagonal BN (paper B, remark after Theorem 1).

    Paper layout: ``(M M^T)^{+1/2} M`` with ``M`` of shape ``d x n`` (``M M^T`` is the ``d x d`` feature Gram,
    singular for ``d > n``, hence the pseudo-inverse). rcbench layout (``M`` is ``n x d``): ``M (M^T M)^{+1/2}``
    ``= U V^T`` for the thin SVD ``M = U S V^T``: every singular value becomes one, so ``V = 0``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        U, _, Vh = torch.linalg.svd(x, full_matrices=False)
        return U @ Vh


@storable
@few_threads
def whitening_chain(*, n: int = 4, width: int = 32, depth: int = 10, runs: int = 3, seed: int = 0, device="cpu",
                    **_unused) -> pd.DataFrame:
    """Literal chain with :class:`FullWhitening` as the norm (B7) next to the diagonal-BN chain on the same input
    (column ``norm`` = ``"whitening"`` or ``"bn"``); random Gaussian input."""
    n, width, depth, runs = (positive_int(v, k) for v, k in ((n, "n"), (width, "width"), (depth, "depth"), (runs, "runs")))
    require_n_le_d(n, width, "full whitening")
    x = chain_input("random", n, width, runs=runs, seed=_derive(seed, 3), device=device)
    frames = []
    for label, norm in (("whitening", lambda d: FullWhitening()), ("bn", "bn")):
        grams = literal_grams(x, depth, norm=norm, seed=_derive(seed, 4), device=device)
        frames.append(chain_metrics(grams, width=width, n=n, norm=label))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# B1/B3: random representations; B4/B5: quadrature
# ---------------------------------------------------------------------------------------------------------------
def random_representations(count: int, *, n_min: int = 2, n_max: int = 16, d_max: int = 64, seed: int = 0,
                           extremal: bool = False):
    """``count`` random representations ``H`` (``n x d``, ``n_min <= n <= n_max``, ``n <= d <= d_max``), each with
    random per-sample scales (log-uniform over four decades) and, every fourth one, a nearly rank-one spectrum.
    ``extremal=True`` instead builds Lemma 4's extremal family: ``sigma_1^2`` large and ``sigma_2 = ... =
    sigma_n``. Returns a list of float64 tensors."""
    count, n_max, d_max = positive_int(count, "count"), positive_int(n_max, "n_max"), positive_int(d_max, "d_max")
    if not (2 <= n_min <= n_max <= d_max):
        raise ValueError(f"need 2 <= n_min <= n_max <= d_max, got {n_min}, {n_max}, {d_max}")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.integers(n_min, n_max + 1))
        d = int(rng.integers(n, d_max + 1))
        if extremal:
            s2 = np.full(n, 1.0)
            s2[0] = float(rng.uniform(1.5, 1e3))
            U = np.linalg.qr(rng.standard_normal((n, n)))[0]
            V = np.linalg.qr(rng.standard_normal((d, n)))[0]
            H = U @ np.diag(np.sqrt(s2)) @ V.T
        else:
            H = rng.standard_normal((n, d)) * 10 ** rng.uniform(-2, 2, size=(n, 1))
            if i % 4 == 3:
                H = H[:1] + 1e-3 * H
        out.append(torch.tensor(H, dtype=MEASUREMENT_DTYPE))
    return out


@storable
@few_threads
def gap_identities(*, ns: Sequence[int] = tuple(range(2, 17)), d_max: int = 64, count: int = 300, seed: int = 0,
                   **_unused) -> pd.DataFrame:
    """B1: per random ``H`` (``n`` from ``ns``, ``n <= d <= d_max``, random per-sample and global scales), the
    absolute deviations of the identities of Eq. (2): ``V`` of ``c Q`` (orthonormal rows) from 0, ``V`` of a rank-one
    ``u v^T`` from ``sqrt(1 - 1/n)``, ``V(-42 H) - V(H)``, ``V(H O) - V(H)`` (``O`` Haar ``d x d``; the paper's
    ``W H``), ``V^2 - (sum sigma^4 - 1/n)`` at ``||H||_F = 1`` (singular values by SVD), and the theory module's
    ``V`` from the spectrum against the metric. Also ``V_feature``, the gap wrongly computed on the ``d x d``
    feature Gram."""
    from rcbench.networks.init import haar_orthogonal

    g = torch.Generator().manual_seed(int(seed))
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(positive_int(count, "count")):
        n = int(rng.choice(ns))
        d = int(rng.integers(n, positive_int(d_max, "d_max") + 1))
        q = haar_orthogonal((1, d, d), g, MEASUREMENT_DTYPE)[0]
        H = torch.randn(n, d, generator=g, dtype=MEASUREMENT_DTYPE)
        H = H * torch.rand(n, 1, generator=g, dtype=MEASUREMENT_DTYPE) * 10 ** float(rng.uniform(-3, 3))
        V = M.orthogonality_gap(H).item()
        u = torch.randn(n, 1, generator=g, dtype=MEASUREMENT_DTYPE)
        v = torch.randn(1, d, generator=g, dtype=MEASUREMENT_DTYPE)
        s = torch.linalg.svdvals(H / torch.linalg.matrix_norm(H))
        rows.append({
            "n": n, "d": d, "V": V,
            "orthogonal": M.orthogonality_gap(3.7 * q[:n]).item(),
            "rank_one": abs(M.orthogonality_gap(u @ v).item() - T.v_max(n)),
            "scale": abs(M.orthogonality_gap(-42.0 * H).item() - V),
            "rotation": abs(M.orthogonality_gap(H @ q).item() - V),
            "sigma4": abs(V**2 - ((s**4).sum().item() - 1.0 / n)),
            "theory": abs(T.gap_from_sigma2((s**2).numpy()) - V),
            "V_feature": M.orthogonality_gap(H.T).item(),
        })
    return pd.DataFrame(rows)


@storable
@few_threads
def lemma4_table(*, count: int = 2000, n_max: int = 16, d_max: int = 64, seed: int = 0, **_unused) -> pd.DataFrame:
    """``V``, ``V_hat`` and the ratios ``V/(2n V_hat)``, ``V/(sqrt(n(n-1)) V_hat)`` for random representations and
    for Lemma 4's extremal family (column ``family``)."""
    rows = []
    for family, extremal in (("random", False), ("extremal", True)):
        for H in random_representations(count if not extremal else max(50, count // 10), n_max=n_max, d_max=d_max,
                                        seed=_derive(seed, 5, int(extremal)), extremal=extremal):
            n, d = H.shape
            sp = _spectral(M.gram(H))
            V, Vh = float(sp["orthogonality_gap"]), float(sp["lyapunov"])
            rows.append({"family": family, "n": n, "d": d, "V": V, "V_hat": Vh,
                         "ratio_2n": V / (T.lemma4_constant(n) * Vh),
                         "ratio_tight": V / (T.lemma4_tight_constant(n) * Vh)})
    return pd.DataFrame(rows)


@storable
def lemma8_table(*, count: int = 300, n_max: int = 11, seed: int = 0, crosscheck: int = 20,
                 **_unused) -> pd.DataFrame:
    """Lemma 8 on ``count`` random spectra (uniform on the simplex, ``2 <= n <= n_max``; every third one
    sharpened towards a corner): ``sum p``, whether ``argmin p = argmin sigma``, and the three members of the chain
    (:func:`rcbench.theory.orthogonality.lemma8_terms`). For the first ``crosscheck`` spectra ``quad_dev`` is the
    largest difference between the trapezoid and the adaptive (``quad_vec``) quadrature of ``p`` (NaN after)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(positive_int(count, "count")):
        n = int(rng.integers(2, n_max + 1))
        s2 = rng.dirichlet(np.ones(n) * (0.3 if i % 3 == 2 else 1.0))
        s2 = np.maximum(s2, 1e-12)
        s2 = s2 / s2.sum()
        p = T.sawa_p(s2)
        left, middle, right = T.lemma8_terms(s2)
        quad_dev = float(np.abs(T.sawa_p(s2, method="quad") - p).max()) if i < crosscheck else float("nan")
        rows.append({"n": n, "sum_p": float(p.sum()), "argmin_match": int(np.argmin(p)) == int(np.argmin(s2)),
                     "left": left, "middle": middle, "right": right, "sigma_n2": float(s2.min()),
                     "quad_dev": quad_dev})
    return pd.DataFrame(rows)


def _isotropic_perturbation(n: int, eps_norm: float, rng) -> np.ndarray:
    e = rng.standard_normal(n)
    e -= e.mean()
    return e * (eps_norm / np.linalg.norm(e))


@storable
def near_isotropy_table(*, ns: Sequence[int] = (2, 4, 8), eps_norm: float = 1e-3, seed: int = 0,
                        mc_draws: int = 0, **_unused) -> pd.DataFrame:
    """Near isotropy, ``sigma^2 = 1/n + eps`` with ``sum eps = 0`` and ``||eps|| = eps_norm``: the linear-response
    ratio ``<p - 1/n, eps>/||eps||^2`` (prediction ``n/(n+2)``), Lemma 8's chain, and (``mc_draws > 0``) the
    largest deviation of a Monte Carlo ``p`` from the quadrature with its standard error."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        eps = _isotropic_perturbation(int(n), eps_norm, rng)
        s2 = 1.0 / n + eps
        p = T.sawa_p(s2)
        left, middle, right = T.lemma8_terms(s2)
        row = {"n": int(n), "ratio": float((p - 1.0 / n) @ eps / (eps @ eps)), "predicted": T.contraction_factor(n),
               "left": left, "middle": middle, "right": right}
        if mc_draws:
            pm, se = T.sawa_p_monte_carlo(s2, draws=mc_draws, seed=_derive(seed, 6, n))
            row["mc_max_dev"] = float(np.abs(pm - p).max())
            row["mc_max_se"] = float(se.max())
        rows.append(row)
    return pd.DataFrame(rows)


@storable
def mean_field_table(*, start: Sequence[float] = (0.4, 0.3, 0.2, 0.1), steps: int = 12, **_unused) -> pd.DataFrame:
    """The ``d -> infinity`` map iterated from ``start``: ``V`` per step and the ratio ``V_{k+1}/V_k``."""
    traj = T.iterate_mean_field(start, steps)
    V = np.array([T.gap_from_sigma2(s) for s in traj])
    ratio = np.r_[np.nan, V[1:] / V[:-1]]
    return pd.DataFrame({"step": np.arange(len(V)), "V": V, "ratio": ratio, "n": len(start)})


# ---------------------------------------------------------------------------------------------------------------
# B8-B11: one step of the chain from a fixed H (Monte Carlo over W)
# ---------------------------------------------------------------------------------------------------------------
def _fixed_representation(kind: str, n: int, d: int, seed: int) -> torch.Tensor:
    """A fixed ``H`` (``n x d``, ``||H||_F = 1``): ``"collinear"`` (``e_0 + 0.05 g_i``), ``"random"`` (Gaussian)
    or ``"orthogonal"`` (``e_i + 0.01 g_i``), ``g_i`` Gaussian with unit expected norm."""
    g = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=MEASUREMENT_DTYPE) / math.sqrt(d)
    eye = torch.eye(n, d, dtype=MEASUREMENT_DTYPE)
    if kind == "collinear":
        H = eye[:1].expand(n, d) + 0.05 * g
    elif kind == "random":
        H = g
    elif kind == "orthogonal":
        H = eye + 0.01 * g
    else:
        raise ValueError(f"unknown kind {kind!r}; one of ('collinear', 'random', 'orthogonal')")
    return H / torch.linalg.matrix_norm(H)


@storable
@few_threads
def one_step(*, ns: Sequence[int] = (4, 8), widths: Sequence[int] = (16, 64, 256),
             kinds: Sequence[str] = ("collinear", "random", "orthogonal"), draws: int = 2000, seed: int = 0,
             device="cpu", **_unused) -> pd.DataFrame:
    """One BN layer from a fixed ``H``, ``draws`` independent weight matrices (exact Gram sampler).

    Per draw: ``dev2 = ||C' - E_W C'||_F^2`` with the exact ``E_W C' = U diag(p) U^T`` from quadrature (Lemma 6),
    ``vhat_next = V_hat(H')`` and ``lemma7 = (V_hat(H') - (1/n - p_n))^2`` (Lemma 7). The constants of the fixed
    ``H`` (``vhat``, ``sigma_n2``, ``thm5_rhs``, ``drift_no_noise = (1 - 2 sigma_n^2/3) V_hat``) are columns, and
    ``mean_z_max`` is the largest z-score ``|mean_W C' - E_W C'| / SE`` over the entries (Lemma 6's
    ``E_W C = U diag(p) U^T``)."""
    draws = positive_int(draws, "draws")
    device = resolve_device(device)
    return _one_step_cached(tuple(int(v) for v in ns), tuple(int(v) for v in widths), tuple(kinds), draws,
                            int(seed), device).copy()


@functools.lru_cache(maxsize=8)
def _one_step_cached(ns, widths, kinds, draws, seed, device) -> pd.DataFrame:
    frames = []
    for n in ns:
        for d in widths:
            require_n_le_d(n, d, "one BN step")
            for ki, kind in enumerate(kinds):
                H = _fixed_representation(kind, n, d, _derive(seed, 8, n, d, ki))
                G = (H @ H.T).to(device)
                lam, U = torch.linalg.eigh(G)
                s2 = (lam.clamp_min(0) / lam.clamp_min(0).sum()).cpu().numpy()
                p = torch.tensor(T.sawa_p(s2), dtype=MEASUREMENT_DTYPE, device=device)
                EC = U @ torch.diag(p) @ U.T
                x = H.to(device).expand(draws, n, d).clone()
                C = sample_gram_chain(x, 1, seed=_derive(seed, 9, n, d, ki))[1]  # (draws, n, n)
                dev2 = ((C - EC) ** 2).sum((-1, -2))
                sp = _spectral(C)
                i = int(np.argmin(s2))
                lemma7 = (sp["lyapunov"] - (1.0 / n - p[i])) ** 2
                mean_z = ((C.mean(0) - EC).abs() / (C.std(0) / math.sqrt(draws)).clamp_min(1e-300)).max().item()
                vhat = T.lyapunov_from_sigma2(s2)
                sn2 = float(s2.min())
                frames.append(pd.DataFrame({
                    "draw": np.arange(draws), "n": n, "width": d, "kind": kind,
                    "dev2": dev2.cpu().numpy(), "vhat_next": sp["lyapunov"].cpu().numpy(),
                    "lemma7": lemma7.cpu().numpy(), "vhat": vhat, "sigma_n2": sn2,
                    "thm5_rhs": T.theorem5_rhs(s2, d), "drift_no_noise": (1 - 2 * sn2 / 3) * vhat,
                    "mean_z_max": mean_z,
                }))
    return pd.concat(frames, ignore_index=True)


def one_step_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per ``(n, width, kind)``: means and standard errors of the one-step statistics, scaled by ``1/d`` where the
    lemmas bound them by ``1/d``."""
    g = df.groupby(["n", "width", "kind"], sort=True)
    out = g.agg(dev2=("dev2", "mean"), dev2_se=("dev2", "sem"), lemma7=("lemma7", "mean"),
                lemma7_se=("lemma7", "sem"), vhat_next=("vhat_next", "mean"), vhat_next_se=("vhat_next", "sem"),
                vhat=("vhat", "first"), sigma_n2=("sigma_n2", "first"), thm5_rhs=("thm5_rhs", "first"),
                drift_no_noise=("drift_no_noise", "first"), mean_z_max=("mean_z_max", "first")).reset_index()
    out["dev2_times_d"] = out["dev2"] * out["width"]
    out["lemma7_times_d"] = out["lemma7"] * out["width"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# analysis of chain frames (used by the claims at both profiles)
# ---------------------------------------------------------------------------------------------------------------
def run_mean(df: pd.DataFrame, column: str = "orthogonality_gap", *, log: bool = False) -> pd.DataFrame:
    """Per ``(width, layer)`` mean over runs of ``column`` (of ``log column`` with ``log=True``); wide frame with
    one column per width."""
    v = np.log(df[column]) if log else df[column]
    return df.assign(_v=v).groupby(["layer", "width"])["_v"].mean().unstack("width")


def plateau(df: pd.DataFrame, start: int, stop: int | None = None, column: str = "orthogonality_gap", *,
            log: bool = False) -> pd.Series:
    """Per width, the mean over runs and layers ``start..stop`` of ``column`` (or of its log)."""
    sel = df[(df.layer >= start) & ((df.layer <= stop) if stop is not None else True)]
    v = np.log(sel[column]) if log else sel[column]
    return sel.assign(_v=v).groupby("width")["_v"].mean()


def steepest_window_slope(curve: pd.Series, window: int = 5) -> float:
    """Most negative least-squares slope of ``curve`` (indexed by layer) over ``window`` consecutive layers."""
    x = curve.index.to_numpy(dtype=float)
    y = curve.to_numpy(dtype=float)
    best = math.inf
    for i in range(len(x) - window + 1):
        best = min(best, np.polyfit(x[i:i + window], y[i:i + window], 1)[0])
    return float(best)


def width_slope(df: pd.DataFrame, *, start: int = 1, column: str = "orthogonality_gap", power: float = 1.0):
    """Fig. 2b: the log-log slope of the layer-averaged ``column**power`` (layers ``start..end``, then the mean over
    runs) against the width, as a :class:`rcbench.stats.Fit`, plus the per-run slopes (a numpy array)."""
    sel = df[df.layer >= start].assign(_v=lambda f: f[column] ** power)
    per_run = sel.groupby(["width", "seed"])["_v"].mean().unstack("seed")
    mean = per_run.mean(axis=1)
    fit = stats.slope(mean.index.to_numpy(), mean.to_numpy(), logx=True, logy=True)
    logw = np.log(per_run.index.to_numpy(dtype=float))
    runs = np.array([np.polyfit(logw, np.log(per_run[c].to_numpy()), 1)[0] for c in per_run.columns])
    return fit, runs


def transient_slope(df: pd.DataFrame, *, n: int, width: int, upper: float = 0.5, floor_multiple: float = 3.0,
                    column: str = "orthogonality_gap"):
    """Fit ``log mean V`` against the layer over the transient window: the layers where the run-mean ``V`` lies
    between ``floor_multiple`` times :func:`rcbench.theory.orthogonality.floor_level` and ``upper * V_max``.
    Returns ``(Fit, layers)``; ``(None, layers)`` if fewer than 3 layers qualify."""
    sel = df[(df.n == n) & (df.width == width)]
    curve = sel.groupby("layer")[column].mean()
    lo, hi = floor_multiple * T.floor_level(n, width), upper * T.v_max(n)
    inside = curve[(curve <= hi) & (curve >= lo)]
    # keep the first contiguous run of qualifying layers (the descent)
    layers = inside.index.to_numpy()
    if layers.size:
        breaks = np.nonzero(np.diff(layers) != 1)[0]
        layers = layers[: breaks[0] + 1] if breaks.size else layers
    if layers.size < 3:
        return None, layers
    return stats.slope(layers, curve.loc[layers].to_numpy(), logy=True), layers


def theorem1_table(df: pd.DataFrame, *, floor_divisor: float = 1.0) -> pd.DataFrame:
    """Theorem 1 against a chain frame (one ``n``): per width and layer ``l >= 0``, the run-mean ``V(H_{l+1})``,
    ``alpha`` = min over runs and layers ``>= 1`` of ``sigma_min^2`` (the proof's reading of A1), the bound
    ``2 (1 - 2 alpha/3)^l + 3n/(alpha sqrt(d))`` (its floor term divided by ``floor_divisor`` for the power check)
    and ``ratio = mean / bound``."""
    rows = []
    for d, sel in df.groupby("width"):
        n = int(sel.n.iloc[0])
        alpha = float(sel[sel.layer >= 1].sigma_min2.min())
        if not alpha > 0:
            raise ValueError(
                f"width {d}: sigma_min(H_l)^2 = {alpha:g} at some layer, so Theorem 1's assumption A1 fails and its "
                "bound is vacuous (the chain lost rank; with a substituted --norm, that norm does not keep it)"
            )
        meanV = sel.groupby("layer").orthogonality_gap.mean()
        for l in range(int(meanV.index.max())):
            floor = 3.0 * n / (alpha * math.sqrt(d)) / floor_divisor
            trans = 2.0 * (1.0 - 2.0 * alpha / 3.0) ** l
            bound = trans + floor
            rows.append({"width": d, "n": n, "layer": l, "alpha": alpha, "mean_V_next": float(meanV.loc[l + 1]),
                         "bound": bound, "floor_term": floor, "ratio": float(meanV.loc[l + 1]) / bound,
                         "vacuous": floor >= T.v_max(n)})
    return pd.DataFrame(rows)


def averaged_bound_table(df: pd.DataFrame, *, divisor: float = 1.0) -> pd.DataFrame:
    """App. B.1 against a chain frame (one ``n``): per width and ``l >= 1``, the run-mean of
    ``(1/l) sum_{k=1}^l V_hat_k (1/n - V_hat_k)`` and the right side ``3 E[V_hat_0]/(2l) + 3/(2 sqrt(d))`` (divided
    by ``divisor`` for the power check)."""
    rows = []
    for d, sel in df.groupby("width"):
        n = int(sel.n.iloc[0])
        wide = sel.pivot(index="layer", columns="seed", values="lyapunov").sort_index()
        prod = wide * (1.0 / n - wide)
        lhs_runs = prod.loc[1:].cumsum().div(np.arange(1, len(prod)), axis=0)
        lhs = lhs_runs.mean(axis=1)
        vhat0 = float(wide.loc[0].mean())
        rhs = T.averaged_bound_rhs(lhs.index.to_numpy(), vhat0, d) / divisor
        rows.append(pd.DataFrame({"width": d, "n": n, "layer": lhs.index.to_numpy(), "lhs": lhs.to_numpy(),
                                  "rhs": rhs, "ratio": lhs.to_numpy() / rhs}))
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# B20: Gaussianity of the representation after the linear layer
# ---------------------------------------------------------------------------------------------------------------
def energy_distance(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Unbiased (U-statistic) energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` between the point clouds
    ``X`` (``(..., a, k)``) and ``Y`` (``(..., b, k)``); zero in expectation when the laws agree."""
    a, b = X.shape[-2], Y.shape[-2]
    if a < 2 or b < 2:
        raise ValueError("energy distance needs at least two points per sample")
    xy = torch.cdist(X, Y).mean((-1, -2))
    xx = torch.cdist(X, X).sum((-1, -2)) / (a * (a - 1))
    yy = torch.cdist(Y, Y).sum((-1, -2)) / (b * (b - 1))
    return 2 * xy - xx - yy


@storable
@few_threads
def gaussianity(*, n: int = 4, widths: Sequence[int] = (64, 256), depth: int = 30, layers: int = 10, runs: int = 4,
                norm="bn", seed: int = 0, device="cpu", **_unused) -> pd.DataFrame:
    """§4.1 / Table 1: after ``depth`` layers of the literal chain (norm ``norm``, and the vanilla chain as
    ``arm="vanilla"``), the ``d`` columns of ``sqrt(n d) (H_l / ||H_l||_F) W_l^T`` (the representation after the
    linear layer, scaled to the Gaussian's ``N(0, I_n)``) are compared with a fresh ``N(0, I_n)`` sample of the same
    size by :func:`energy_distance`, for ``l = depth .. depth + layers - 1``. One row per width, arm, layer, run."""
    n, depth, layers, runs = (positive_int(v, k) for v, k in ((n, "n"), (depth, "depth"), (layers, "layers"),
                                                          (runs, "runs")))
    device = resolve_device(device)
    frames = []
    for d in widths:
        d = positive_int(d, "width")
        require_n_le_d(n, d, "Gaussianity")
        x = chain_input("random", n, d, runs=runs, seed=_derive(seed, 10, d), device=device)
        for arm, nm in (("bn", norm), ("vanilla", None)):
            net = MLP(d, d, depth + layers, norm=nm, gain=_gain(nm, d), activation="identity",
                      ensemble=runs, seed=_derive(seed, 11, d), device=device)
            gen = _generator(_derive(seed, 12, d), device)
            with torch.no_grad():
                _, hidden = net(x, return_hidden=True)
                for l in range(depth, depth + layers):
                    H = hidden[l]
                    H = H / torch.linalg.matrix_norm(H).reshape(-1, 1, 1)
                    Z = math.sqrt(n * d) * net.blocks[l].linear(H)  # (runs, n, d)
                    ref = torch.randn(runs, d, n, generator=gen, dtype=Z.dtype, device=device)
                    e = energy_distance(Z.transpose(-1, -2), ref)
                    frames.append(pd.DataFrame({"width": d, "arm": arm, "layer": l, "seed": np.arange(runs),
                                                "energy": e.cpu().numpy(),
                                                "V": M.orthogonality_gap(hidden[l]).cpu().numpy()}))
    return pd.concat(frames, ignore_index=True)
