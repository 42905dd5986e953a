"""Experiments of paper D: Joudaki, Daneshmand, Bach, *On the impact of activation and normalization in obtaining
isometric embeddings at initialization* (NeurIPS 2023, arXiv 2305.18399); provenance per claim: ``rcbench/docs/claims/D.md``.

Layout: paper D already writes a batch as ``X in R^{n x d}`` (samples x features) with Gram ``G = X X^T``, like
rcbench; nothing is transposed. The LN-MLP is ``x_{l+1} = LN(sigma(W_l x_l))`` with ``W_l ~ N(0, 1/d)``, LN = centre
each sample row, then scale it to mean square 1: ``MLP(norm="ln", activation=sigma, order="act_norm",
init="gaussian")``. Variants: ``order="norm_act"`` (sigma(LN(W x)), D14), ``norm="ln_nocenter"`` (no centring, D13),
and the mean-field centring/scaling of ``validations.ipynb`` (:class:`MeanFieldNorm`, D17, D18).

Every function validates its configuration before any work and returns a tidy DataFrame (one row per
layer x seed x setting). ``PROFILES[profile][claim_id]`` holds the keyword arguments of each claim's experiment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

import rcbench.metrics as M
from rcbench.data import load
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
from rcbench.networks import ACTIVATIONS, MLP, Normalization, NumericalDivergence, get_norm
from rcbench.networks.gram_chain import GramChain
from rcbench.theory import hermite as H
from rcbench.theory.normalization import scaling_isometry_gain, scaling_isometry_lower_bound

__all__ = [
    "PROFILES",
    "D20_PILOT_EFFECT",
    "paired_t_seeds",
    "config",
    "degenerate_input",
    "MeanFieldNorm",
    "mean_field_norm",
    "isometry_basics",
    "scaling_identity",
    "column_scaling",
    "activation_table",
    "mehler_check",
    "contraction_grid",
    "orbit",
    "mean_field_gram",
    "ln_trace",
    "ln_steps",
    "mf_vs_finite",
    "fit_potential_rate",
    "gain_table",
    "image_batch_trace",
    "train_loss_curves",
    "sublayer_isometry_training",
]

# ---------------------------------------------------------------------------------------------------------------
# profiles
# ---------------------------------------------------------------------------------------------------------------
_MAIN5 = ("relu", "tanh", "sigmoid", "sin", "exp")
_D9_PAPER_ACTS = ("relu", "leaky_relu", "tanh", "sigmoid", "selu", "elu", "silu", "gelu", "sin", "exp")
#: every nonlinear activation rcbench can name (rcbench.networks.ACTIVATIONS without the aliases linear = identity,
#: swish = silu, and without the identity), for D10's ordering beyond the paper's five examples
ALL_NAMED_NONLINEAR = ("relu", "leaky_relu", "gelu", "silu", "elu", "selu", "tanh", "sigmoid", "sin", "exp", "he2",
                       "he3")

#: D20's design effect sizes: mean / sd of the per-seed paired final-loss difference tanh - relu (the smaller of the
#: two orderings' effects; sigmoid - tanh is ~10x larger), measured in pilots at master seeds the checks do not use.
#: quick: master seeds 100-102 x 6 seeds (18 differences: mean 0.0097, sd 0.0040); paper: master seed 100 x 12 seeds
#: (12 differences: mean 0.0035, sd 0.0024, 11/12 positive)
D20_PILOT_EFFECT = {"quick": 2.45, "paper": 1.47}


def paired_t_seeds(effect: float, *, level: float = 0.05, false_failure: float = 1e-3, max_seeds: int = 200) -> int:
    """Seeds needed by a one-sided paired Student-t check "lower confidence bound at ``1 - level`` > 0" (D20) to
    pass with probability ``>= 1 - false_failure`` when the true effect size (mean / sd of one seed's difference)
    is ``effect``: the smallest ``k >= 2`` with ``P(T_{k-1, effect sqrt(k)} > t_{1-level, k-1}) >= 1 -
    false_failure`` (noncentral t power). At level 0.05 and false failure 1e-3: effect 2.45 -> 6, 1.5 -> 12,
    1.2 -> 18, 0.96 -> 26."""
    from scipy import stats as st

    if not (effect > 0 and math.isfinite(effect)):
        raise ValueError(f"effect must be a positive number, got {effect!r}")
    for k in range(2, max_seeds + 1):
        if st.nct.sf(st.t.ppf(1 - level, k - 1), k - 1, effect * math.sqrt(k)) >= 1 - false_failure:
            return k
    raise ValueError(f"effect {effect} needs more than {max_seeds} seeds")


PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "D1": dict(trials=200, max_n=20),
        "D2": dict(trials=2000, max_n=20, max_d=200),
        "D3": dict(trials=300, max_d=20),
        # D4's Monte-Carlo variant: the authors' compute_beta sample size
        "D4": dict(activations=("relu", "tanh", "sigmoid"), samples=2_000_000),
        "D6": dict(points=4001),
        "D7": dict(n=10, d=1000, depth=30, degeneracy=10.0, seeds=3),
        "D8": dict(activations=("relu", "tanh"), d=512, n=10, depth=20, seeds=3, degeneracy=10.0),
        # D8's training part on D20's nets (digits: probes of 32 images, the largest full-rank batch; see D8 test)
        "D8.train": dict(activations=("relu", "tanh", "sigmoid"), width=256, depth=10, batch_size=64, probe_batch=32,
                         probe_batches=4, epochs=5, lr=0.01, seeds=2, dataset="cifar10"),
        "D9": dict(activations=("relu", "tanh", "sigmoid"), d=1000, n=10, depth=20, seeds=4, degeneracy=10.0),
        "D10": dict(activations=_MAIN5, d=1000, n=10, depth=15, seeds=8, degeneracy=10.0),
        "D10.all": dict(activations=ALL_NAMED_NONLINEAR, d=1000, n=10, depth=15, seeds=8, degeneracy=10.0),
        "D11": dict(activations=("relu", "tanh", "sigmoid", "sin"), d=1000, n=10, depth=20, seeds=15,
                    degeneracy=10.0),  # 15 seeds: the median's spread (sigmoid), see the D11 test
        "D12": dict(d=1000, n=10, depth=20, seeds=3, degeneracy=10.0),
        "D13": dict(d=1000, n=10, depth=30, seeds=4, degeneracy=100.0),
        "D14": dict(d=1000, n=10, depth=30, seeds=4, degeneracy=100.0),
        "D15": dict(d=1000, n=10, depth=10, seeds=3, degeneracy=10.0),
        "D17": dict(widths=(100, 500, 1000), n=10, depth=30, seeds=4, degeneracy=10.0),
        # D18: 10 seeds, as the paper profile (4 seeds left the MF arm's drift ratio below 1.3 in ~1% of runs)
        "D18": dict(widths=(100, 500, 1000), n=10, depth=30, seeds=10, degeneracy=10.0),
        "D19": dict(activations=("relu", "tanh", "sigmoid", "identity"), width=1000, depth=10, batch=32, seeds=3,
                    dataset="cifar10"),
        # seeds from the design effect size (paired_t_seeds: 2.45 -> 6), see the D20 test
        "D20": dict(activations=("relu", "tanh", "sigmoid"), width=256, depth=10, batch_size=64, epochs=5,
                    lr=0.01, seeds=paired_t_seeds(D20_PILOT_EFFECT["quick"]), dataset="cifar10"),
    },
    "paper": {
        "D1": dict(trials=2000, max_n=40),
        "D2": dict(trials=20000, max_n=20, max_d=200),
        "D3": dict(trials=2000, max_d=40),
        "D4": dict(activations=("relu", "tanh", "sigmoid"), samples=2_000_000),
        "D6": dict(points=40001),
        "D7": dict(n=32, d=5000, depth=30, degeneracy=10.0, seeds=10),
        "D8": dict(activations=_MAIN5, d=1000, n=10, depth=30, seeds=10, degeneracy=10.0),
        # isometry_init_train.pdf: CIFAR-10, [1000] x 10, probe batch 100, epochs 0 and 9, 5 reruns, its legend
        "D8.train": dict(activations=("relu", "tanh", "sigmoid", "selu", "elu", "silu", "gelu"), width=1000,
                         depth=10, batch_size=512, probe_batch=100, probe_batches=5, epochs=9, lr=0.01, seeds=5,
                         dataset="cifar10"),
        "D9": dict(activations=_D9_PAPER_ACTS, d=2000, n=10, depth=30, seeds=10, degeneracy=10.0),
        "D10": dict(activations=_MAIN5, d=2000, n=10, depth=15, seeds=10, degeneracy=10.0),
        "D10.all": dict(activations=ALL_NAMED_NONLINEAR, d=2000, n=10, depth=15, seeds=10, degeneracy=10.0),
        "D11": dict(activations=("relu", "tanh", "sigmoid", "sin"), d=2000, n=10, depth=30, seeds=15,
                    degeneracy=10.0),
        "D12": dict(d=2000, n=10, depth=30, seeds=10, degeneracy=10.0),
        "D13": dict(d=1000, n=10, depth=30, seeds=10, degeneracy=100.0),
        "D14": dict(d=1000, n=10, depth=30, seeds=10, degeneracy=100.0),
        "D15": dict(d=2000, n=10, depth=15, seeds=10, degeneracy=10.0),
        "D17": dict(widths=(100, 500, 1000, 2000, 4000), n=10, depth=30, seeds=10, degeneracy=10.0),
        "D18": dict(widths=(100, 500, 1000), n=10, depth=30, seeds=10, degeneracy=10.0),
        "D19": dict(activations=("relu", "tanh", "sigmoid", "identity"), width=5000, depth=10, batch=100,
                    seeds=10, dataset="cifar10"),
        # seeds from the design effect size at this configuration (paired_t_seeds), see the D20 test
        "D20": dict(activations=("relu", "tanh", "sigmoid"), width=1000, depth=10, batch_size=512, epochs=10,
                    lr=0.01, seeds=paired_t_seeds(D20_PILOT_EFFECT["paper"]), dataset="cifar10"),
    },
}


def config(claim_id: str, profile: str = "quick") -> dict:
    """A copy of the keyword arguments of claim ``claim_id``'s experiment under ``profile``."""
    return profile_config(PROFILES, claim_id, profile)


#: the regime each claim needs, checked on ``--set`` overrides before any work (:mod:`rcbench.overrides`): the
#: paper's Gram potentials need a non-singular n x n Gram, i.e. n <= d (as the experiments' own require_n_le_d)
REGIMES = {
    **{cid: regime_n_le_d("n", "d") for cid in ("D7", "D8", "D9", "D10", "D10.all", "D11", "D12", "D13", "D14",
                                                 "D15")},
    "D17": regime_n_le_d("n", "widths"),
    "D18": regime_n_le_d("n", "widths"),
    "D19": regime_n_le_d("batch", "width"),
    "D8.train": regime_n_le_d("probe_batch", "width"),
}


# ---------------------------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------------------------
def _check_activation(act):
    if isinstance(act, str):
        if act.lower().replace("-", "_") not in ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r}; known: {sorted(ACTIVATIONS)}")
    elif not callable(act):
        raise TypeError(f"activation must be a name or a callable, got {act!r}")
    return act


def _act_label(act) -> str:
    return act if isinstance(act, str) else getattr(act, "__name__", type(act).__name__)


def _finite_positive(v, name):
    if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite positive number, got {v!r}")
    return float(v)


# ---------------------------------------------------------------------------------------------------------------
# inputs and the mean-field normalisation
# ---------------------------------------------------------------------------------------------------------------
def degenerate_input(n: int, d: int, degeneracy: float, *, seed: int = 0, ensemble: int = 1,
                     device="cpu") -> torch.Tensor:
    """The authors' ``create_input`` (validations.ipynb): ``X = randn(n, d)``, top singular value times
    ``degeneracy``, rescaled to mean square 1, then every row to mean square 1. Shape ``(ensemble, n, d)``, float64.

    The rows have mean square 1, so the first pre-activations ``W x`` are standard normal with the input's
    correlations (the mean-field recursion starts from them). The ``l = 0`` value reported here is measured on
    these row-normalised inputs (the notes' §8 table: gap 1.54 for degeneracy 10, n = 10, d = 1000).
    """
    n, d, ensemble = positive_int(n, "n"), positive_int(d, "d"), positive_int(ensemble, "ensemble")
    degeneracy = _finite_positive(degeneracy, "degeneracy")
    require_n_le_d(n, d, "paper D input")
    X = torch.randn((ensemble, n, d), generator=generator(seed), dtype=MEASUREMENT_DTYPE)
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    S = S.clone()
    S[:, 0] *= degeneracy
    X = U @ torch.diag_embed(S) @ Vh
    X = X / X.pow(2).mean((-2, -1), keepdim=True).sqrt()
    X = X / X.pow(2).mean(-1, keepdim=True).sqrt()
    return X.to(resolve_device(device))


class MeanFieldNorm(nn.Module):
    """The normalisation variants of validations.ipynb, acting on each sample row of ``(..., n, d)``.

    ``center``: ``"layer"`` (subtract the row mean: LN), ``"constant"`` (subtract the constant ``c0 = E sigma``:
    "LN(a - c0)"), or ``None``. ``scale``: ``"layer"`` (row to mean square 1: LN), ``"constant"`` (divide by the
    constant ``sqrt(E sigma^2 - c0^2)``: 'MF'), or ``None``.
    """

    def __init__(self, c0: float, std: float, center: str | None = "constant", scale: str | None = "layer"):
        super().__init__()
        if center not in ("layer", "constant", None) or scale not in ("layer", "constant", None):
            raise ValueError(f"center/scale must be 'layer', 'constant' or None, got {center!r}, {scale!r}")
        self.c0, self.std, self.center, self.scale = float(c0), float(std), center, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.center == "layer":
            x = x - x.mean(-1, keepdim=True)
        elif self.center == "constant":
            x = x - self.c0
        if self.scale == "layer":
            x = x / x.pow(2).mean(-1, keepdim=True).sqrt()
        elif self.scale == "constant":
            x = x / self.std
        return x

    def extra_repr(self) -> str:
        return f"c0={self.c0:.5f}, std={self.std:.5f}, center={self.center}, scale={self.scale}"


def mean_field_norm(act, *, center: str | None = "constant", scale: str | None = "layer"):
    """A norm factory ``f(d) -> MeanFieldNorm`` with the constants of ``act`` (for ``MLP(norm=...)``)."""
    c = H.activation_constants(act)
    factory = lambda d: MeanFieldNorm(c.c0, math.sqrt(c.variance), center, scale)  # noqa: E731
    factory.__name__ = f"mf_norm(center={center}, scale={scale})"
    return factory


def _sqrt_factor(C: torch.Tensor) -> torch.Tensor:
    """A representation ``F`` with ``F F^T = C`` (PSD ``C``), so metrics defined on representations apply to
    mean-field correlation matrices."""
    lam, V = torch.linalg.eigh(C)
    return V * lam.clamp_min(0).sqrt().unsqueeze(-2)


def _mf_metrics(C: torch.Tensor) -> dict[str, torch.Tensor]:
    """Isometry gap and potential of stacked mean-field correlation matrices ``(..., n, n)``."""
    gap = M.spectral_metrics(C, ["isometry_gap"])["isometry_gap"]
    return {"mf_gap": gap, "mf_gamma": M.potential(_sqrt_factor(C))}


# ---------------------------------------------------------------------------------------------------------------
# exact claims: D1-D3
# ---------------------------------------------------------------------------------------------------------------
def _groups(trials: int, max_n: int, g: torch.Generator, lo: int = 2):
    """Split ``trials`` into batches of equal ``n`` (random ``n`` in ``[lo, max_n]``), so each batch is one call."""
    ns = torch.randint(lo, max_n + 1, (trials,), generator=g)
    return [(int(n), int((ns == n).sum())) for n in torch.unique(ns) if int((ns == n).sum()) > 0]


@storable
def isometry_basics(*, trials: int = 200, max_n: int = 20, seed: int = 0) -> pd.DataFrame:
    """D1 (T0): for random PSD ``M = A A^T`` (``A`` of shape ``n x 3n`` with log-normal row scales,
    ``2 <= n <= max_n``): ``I(M)``, ``I(cM)``, ``I(U M U^T)`` (via ``c^{1/2} A`` and ``U A``, Haar ``U``),
    ``I(c I_n)`` and ``I``/gap of a rank-deficient ``M`` (last row of ``A`` a combination of the others).
    Trials of equal ``n`` are batched (one call per metric and ``n``)."""
    trials, max_n = positive_int(trials, "trials"), positive_int(max_n, "max_n")
    if max_n < 2:
        raise ValueError("max_n must be at least 2")
    g = generator(seed)
    frames = []
    for n, k in _groups(trials, max_n, g):
        f64 = dict(generator=g, dtype=torch.float64)
        A = torch.randn(k, n, 3 * n, **f64) * torch.exp(torch.randn(k, n, 1, **f64))
        c = torch.exp(3 * torch.randn(k, 1, 1, **f64))
        U, _ = torch.linalg.qr(torch.randn(k, n, n, **f64))
        B = A.clone()
        B[:, -1] = 0.5 * B[:, 0] + 0.25 * B[:, max(n - 2, 0)]
        eye = torch.eye(n, dtype=torch.float64).expand(k, n, n)
        frames.append(pd.DataFrame({
            "n": n, "isometry": M.isometry(A).numpy(), "scaled": M.isometry(c.sqrt() * A).numpy(),
            "rotated": M.isometry(U @ A).numpy(), "identity": M.isometry(eye).numpy(),
            "identity_times_c": M.isometry(c.sqrt() * eye).numpy(), "singular": M.isometry(B).numpy(),
            "singular_gap": M.isometry_gap(B).numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


@storable
def scaling_identity(*, trials: int = 2000, max_n: int = 20, max_d: int = 200, seed: int = 0) -> pd.DataFrame:
    """D2 (T1): LN's scaling step ``x_i -> x_i / ||x_i||`` on random ``X`` (``2 <= n <= max_n``, ``n <= d <= max_d``,
    log-normal row scales). Per trial: ``I(G)``, ``I(G_hat)``, the exact factor ``AM(a)/GM(a)``
    (:func:`rcbench.theory.normalization.scaling_isometry_gain`), the lower bound ``1 + Var(r)/E[r]^2``, and for
    the controls the isometry after the centring step alone and after scaling rows that already have equal norms,
    and the condition numbers ``cond``, ``cond_scaled`` of ``G`` and ``G_hat`` (the round-off scale of ``I``).
    Trials of equal ``n`` are batched and share a random ``d``."""
    trials, max_n, max_d = positive_int(trials, "trials"), positive_int(max_n, "max_n"), positive_int(max_d, "max_d")
    if max_d < max_n:
        raise ValueError(f"max_d ({max_d}) must be >= max_n ({max_n}): the sample Gram must be non-singular")
    g = generator(seed)
    scale_rows = Normalization("features", center=False, scale="norm")
    centre = Normalization("features", center=True, scale=None)
    frames = []
    for n, k in _groups(trials, max_n, g):
        for part in torch.arange(k).chunk(2):  # two random d per n
            m = len(part)
            d = int(torch.randint(n, max_d + 1, (1,), generator=g))
            f64 = dict(generator=g, dtype=torch.float64)
            X = torch.randn(m, n, d, **f64) * torch.exp(torch.randn(m, n, 1, **f64))
            r = torch.linalg.vector_norm(X, dim=-1)
            Xs = scale_rows(X)
            lam, lam_s = M.spectrum(X), M.spectrum(Xs)
            frames.append(pd.DataFrame({
                "n": n, "d": d, "iso": M.isometry(X).numpy(), "iso_scaled": M.isometry(Xs).numpy(),
                "cond": (lam[..., -1] / lam[..., 0]).numpy(), "cond_scaled": (lam_s[..., -1] / lam_s[..., 0]).numpy(),
                "gain": scaling_isometry_gain(r**2).numpy(), "bound": scaling_isometry_lower_bound(r).numpy(),
                "iso_centred": M.isometry(centre(X)).numpy(), "iso_equal_norms": M.isometry(Xs).numpy(),
                "iso_equal_norms_scaled": M.isometry(scale_rows(3.0 * Xs)).numpy(),
            }))
    return pd.concat(frames, ignore_index=True)


@storable
def column_scaling(*, trials: int = 300, max_d: int = 20, seed: int = 0, norm="bn") -> pd.DataFrame:
    """D3 (T1, BN analogue): normalise ``H`` (``n > d``) with ``norm`` (default the paper's BN, ``"bn"``: every
    feature column to unit norm; a name or a user factory ``f(num_features) -> module`` on ``(n, d)`` batches) and
    compare the isometry of the feature Gram ``C = H^T H`` (measured as the sample Gram of ``H^T``). Trials of
    equal ``d`` are batched with ``n = d + 1 ... 4d + 1`` drawn per batch. Columns: ``iso``, ``iso_bn`` (after
    ``norm``), ``gain`` = AM/GM of the squared column norms of ``H`` (the exact factor of column scaling),
    ``iso_bn_again`` (``norm`` applied twice), ``cond`` / ``cond_bn`` (condition numbers of ``C`` before and after:
    the round-off scale of ``I``)."""
    trials, max_d = positive_int(trials, "trials"), positive_int(max_d, "max_d")
    g = generator(seed)
    frames = []
    for d, k in _groups(trials, max_d, g):
        n = int(torch.randint(d + 1, 4 * d + 2, (1,), generator=g))
        f64 = dict(generator=g, dtype=torch.float64)
        X = torch.randn(k, n, d, **f64) * torch.exp(torch.randn(k, 1, d, **f64))
        bn = get_norm(norm, d, k)
        with torch.no_grad():
            Xb = bn(X).to(torch.float64)
            Xbb = bn(Xb).to(torch.float64)
        c = torch.linalg.vector_norm(X, dim=-2)
        T = lambda Y: Y.transpose(-1, -2)  # noqa: E731
        lam, lam_b = M.spectrum(T(X)), M.spectrum(T(Xb))
        frames.append(pd.DataFrame({
            "n": n, "d": d, "iso": M.isometry(T(X)).numpy(), "iso_bn": M.isometry(T(Xb)).numpy(),
            "gain": scaling_isometry_gain(c**2).numpy(), "iso_bn_again": M.isometry(T(Xbb)).numpy(),
            "cond": (lam[..., -1] / lam[..., 0]).numpy(), "cond_bn": (lam_b[..., -1] / lam_b[..., 0]).numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# exact claims: D4-D7, D16 (quadrature and mean field)
# ---------------------------------------------------------------------------------------------------------------
@storable
def activation_table(activations: Sequence = ("identity", "relu", "leaky_relu", "tanh", "sigmoid", "selu", "elu",
                                              "silu", "gelu", "sin", "exp", "he2", "he3"),
                     *, k_max: int = 60) -> pd.DataFrame:
    """D4: ``c0, c1, E sigma^2, beta_0, beta_sigma, alpha`` by quadrature, plus ``sum_{k<=k_max} c_k^2`` of the
    normalised and of the unnormalised (authors' ``hermit_coefs``) basis."""
    rows = []
    for act in activations:
        _check_activation(act)
        c = H.activation_constants(act)
        coef = H.hermite_coefficients(act, k_max)
        fact = np.array([math.sqrt(math.factorial(k)) for k in range(k_max + 1)])
        rows.append({
            "activation": _act_label(act), "c0": c.c0, "c1": c.c1, "second_moment": c.second_moment,
            "beta0": c.beta0, "beta_sigma": c.beta_sigma, "alpha": c.alpha,
            "coef_c0": coef[0], "coef_c1": coef[1],
            "parseval": float((coef**2).sum()), "parseval_unnormalised": float(((coef / fact) ** 2).sum()),
        })
    return pd.DataFrame(rows)


@storable
def monte_carlo_beta(activations: Sequence = ("relu", "tanh", "sigmoid"), *, samples: int = 2_000_000,
                     seed: int = 0) -> pd.DataFrame:
    """D4, Monte-Carlo variant (the authors' ``compute_beta``): ``beta_sigma`` from sample means of ``sigma(X)``,
    ``X sigma(X)``, ``sigma(X)^2`` over ``samples`` draws (one draw of ``X`` from ``seed``, shared by the
    activations), with ``sd``, the estimator's standard deviation by the delta method
    (:func:`rcbench.theory.hermite.monte_carlo_beta_sd`)."""
    from rcbench.networks import get_activation

    samples = positive_int(samples, "samples")
    x = torch.randn(samples, generator=generator(seed), dtype=torch.float64)
    rows = []
    for act in activations:
        s = get_activation(_check_activation(act))(x)
        c0, c1, m2 = s.mean().item(), (x * s).mean().item(), (s * s).mean().item()
        rows.append({"activation": _act_label(act), "beta_sigma_mc": 2 - c1**2 / (m2 - c0**2),
                     "beta_sigma": H.beta_sigma(act), "sd": H.monte_carlo_beta_sd(act, samples), "samples": samples})
    return pd.DataFrame(rows)


@storable
def mehler_check(activations: Sequence = ("relu", "tanh", "sigmoid", "sin", "exp", "gelu", "he2", "he3"),
                 *, rhos: Sequence[float] = (-0.9, -0.5, -0.2, 0.0, 0.3, 0.5, 0.7, 0.9), k_max: int = 60,
                 ) -> pd.DataFrame:
    """D5: the Mehler series ``sum_{k<=k_max} c_k^2 rho^k`` (plain truncation, as in the note) against the 2-D
    quadrature of ``E[sigma(X) sigma(Y)]`` (or the arc-cosine closed form for ReLU), and ``kappa_hat`` at 0, 1,
    its slope at 0 against ``beta_0``, plus the uncentred map at 0."""
    rows = []
    for act in activations:
        _check_activation(act)
        name = _act_label(act)
        coef = H.hermite_coefficients(act, k_max)
        sq = coef**2
        kern = H.dual_kernel(act)
        c = kern.constants
        for r in rhos:
            series = float(np.polyval(sq[::-1], r))
            ref = float(H.relu_dual_kernel(r)) if name == "relu" else float(H.dual_kernel_quadrature(act, r))
            rows.append({"activation": name, "rho": r, "series": series, "reference": ref,
                         "error": abs(series - ref), "relative_error": abs(series - ref) / max(abs(ref), c.variance)})
        h = 1e-6
        slope0 = float((kern.kappa_hat(h) - kern.kappa_hat(-h)) / (2 * h))
        rows.append({"activation": name, "rho": np.nan, "kappa_hat_0": float(kern.kappa_hat(0.0)),
                     "kappa_hat_1": float(kern.kappa_hat(1.0)), "slope_0": slope0, "beta0": c.beta0,
                     "uncentred_0": float(kern.kappa_uncentred(0.0)), "c0_sq_over_m2": c.c0**2 / c.second_moment})
    return pd.DataFrame(rows)


@storable
def contraction_grid(activations: Sequence = ("relu", "tanh", "sigmoid", "sin", "exp", "gelu", "silu", "he2",
                                              "he3", "identity"),
                     *, points: int = 4001, lim: float = 0.999) -> pd.DataFrame:
    """D6 (Theorem A2): ``Psi(kappa_hat(rho)) / Psi(rho)`` on a grid of ``points`` values in ``[-lim, lim]``
    (``rho = 0`` excluded), its maximum, its value next to 0, against ``alpha = 1/beta_sigma`` and ``beta_0``."""
    points = positive_int(points, "points")
    rho = np.linspace(-lim, lim, points)
    rho = rho[np.abs(rho) > 1e-12]
    rows = []
    for act in activations:
        _check_activation(act)
        kern = H.dual_kernel(act)
        ratio = H.potential_psi(kern.kappa_hat(rho)) / H.potential_psi(rho)
        small = 1e-4
        near0 = float(H.potential_psi(kern.kappa_hat(small)) / H.potential_psi(small))
        rows.append({"activation": _act_label(act), "max_ratio": float(ratio.max()), "min_ratio": float(ratio.min()),
                     "ratio_near_0": near0, "alpha": kern.constants.alpha, "beta0": kern.constants.beta0})
    return pd.DataFrame(rows)


def orbit(act, rho0: float, steps: int, *, centred: bool = True) -> np.ndarray:
    """``rho_0, kappa_hat(rho_0), ...`` (``steps + 1`` values) of one correlation under the mean-field map."""
    kern = H.dual_kernel(_check_activation(act))
    out = [float(rho0)]
    f = kern.correlation_map(centred)
    for _ in range(positive_int(steps, "steps")):
        out.append(float(f(out[-1])))
    return np.array(out)


@storable
def mean_field_gram(activations: Sequence = ("relu", "tanh", "sigmoid", "sin", "exp", "identity"), *, n: int = 10,
                    d: int = 1000, depth: int = 30, degeneracy: float = 10.0, seeds: int = 3, seed: int = 0,
                    centred: bool = True, device="cpu") -> pd.DataFrame:
    """D7, D12: the mean-field recursion of the input correlation matrix through LN o sigma (``centred``) or
    RMS o sigma (``centred=False``): per layer and seed the gap, the potential ``gamma`` and the theory bound
    ``gamma(G^0) beta_sigma^{-l}``."""
    depth = positive_int(depth, "depth")
    X = degenerate_input(n, d, degeneracy, seed=seed, ensemble=seeds, device="cpu")
    G0 = X @ X.transpose(-1, -2)
    frames = []
    for act in activations:
        _check_activation(act)
        C = H.mean_field_trajectory(G0, act, depth, centred=centred)
        vals = _mf_metrics(C)
        bs = H.beta_sigma(act)
        bound = vals["mf_gamma"][0:1] * bs ** -torch.arange(depth + 1, dtype=torch.float64).unsqueeze(-1)
        frames.append(tidy({**vals, "bound": bound}, activation=_act_label(act), centred=centred, n=n,
                           degeneracy=degeneracy))
    return pd.concat(frames, ignore_index=True)


@storable
def gain_table(activations: Sequence = ("relu", "tanh", "sin", "sigmoid", "selu"),
               gains: Sequence[float] = (0.5, 1.0, 2.0, 3.0)) -> pd.DataFrame:
    """D16: ``beta_sigma`` of ``sigma(g x)`` (weights ``N(0, g^2/d)``) by quadrature, plus ``sigmoid(2x)``."""
    rows = []
    for act in activations:
        _check_activation(act)
        for g in gains:
            rows.append({"activation": _act_label(act), "gain": float(g), "beta_sigma": H.beta_sigma(act, gain=g)})
    rows.append({"activation": "sigmoid(2x)", "gain": 1.0, "beta_sigma": H.beta_sigma("sigmoid", gain=2.0)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# finite-width LN-MLPs: D8-D15, D17, D18
# ---------------------------------------------------------------------------------------------------------------
SAMPLERS = ("gram_chain", "mlp")


def _build(act, d, depth, seeds, seed, norm, order, device, gain=1.0, sampler="mlp"):
    """The LN-MLP with explicit ``N(0, 1/d)`` weights (``sampler="mlp"``), or its exact-in-law Gram-chain sampler
    (:class:`rcbench.networks.gram_chain.GramChain`: the same blocks, the weight product drawn from the ``n x n``
    Gram; ``n d`` instead of ``d^2`` random numbers per layer, exact for one forward call)."""
    cls = MLP if sampler == "mlp" else GramChain
    return cls(d, d, depth, norm=norm, activation=act, order=order, init="gaussian", gain=gain, ensemble=seeds,
               seed=seed, device=resolve_device(device))


@storable
def ln_trace(activations: Sequence = ("relu",), *, d: int = 1000, n: int = 10, depth: int = 20, seeds: int = 3,
             seed: int = 0, degeneracy: float = 10.0, norm="ln", order: str = "act_norm", mean_field: bool = True,
             mf_centred: bool = True, sampler: str = "gram_chain", device="cpu") -> pd.DataFrame:
    """Per layer (0 = input) and seed: isometry gap ``gap`` and potential ``gamma`` of the sample Gram of a
    finite-width net ``MLP(norm, activation, order, init="gaussian")`` fed :func:`degenerate_input`, and (with
    ``mean_field``) the mean-field gap and potential ``mf_gap``, ``mf_gamma`` from the same input (map
    ``kappa_hat`` if ``mf_centred`` else ``kappa/kappa(1)``). One forward pass per activation for all seeds.
    ``norm`` is a name, a factory, or ``"mf:<center>:<scale>"`` for :func:`mean_field_norm`. ``sampler``:
    ``"gram_chain"`` (default, exact in law and ~100x cheaper at ``n = 10``, ``d = 1000``) or ``"mlp"``
    (explicit weights).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    d, n, depth, seeds = positive_int(d, "d"), positive_int(n, "n"), positive_int(depth, "depth"), positive_int(seeds, "seeds")
    require_n_le_d(n, d, "paper D")
    if order not in ("act_norm", "norm_act"):
        raise ValueError(f"order must be 'act_norm' or 'norm_act', got {order!r}")
    for act in activations:
        _check_activation(act)
    x = degenerate_input(n, d, degeneracy, seed=seed + 7919, ensemble=seeds, device=device)
    G0 = (x @ x.transpose(-1, -2)).cpu()
    frames = []
    for act in activations:
        nrm = norm
        if isinstance(norm, str) and norm.startswith("mf:"):
            _, cen, sc = norm.split(":")
            nrm = mean_field_norm(act, center=None if cen == "none" else cen, scale=None if sc == "none" else sc)
        net = _build(act, d, depth, seeds, seed, nrm, order, device, sampler=sampler)
        grams, gammas = [], []

        def cb(l, h):
            grams.append(h @ h.transpose(-1, -2))
            gammas.append(M.potential(h))

        with torch.no_grad():
            net(x, callback=cb)
        grams = torch.stack(grams)
        vals = {"gap": M.spectral_metrics(grams, ["isometry_gap"], d=d)["isometry_gap"].cpu(),
                "gamma": torch.stack(gammas).cpu()}
        if mean_field:
            C = H.mean_field_trajectory(G0, act, depth, centred=mf_centred)
            vals.update(_mf_metrics(C))
        frames.append(tidy(vals, activation=_act_label(act), d=d, n=n, degeneracy=degeneracy,
                           norm=nrm if isinstance(nrm, str) else getattr(nrm, "__name__", "custom"), order=order))
    return pd.concat(frames, ignore_index=True)


@storable
def ln_steps(activations: Sequence = ("relu",), *, d: int = 512, n: int = 10, depth: int = 20, seeds: int = 3,
             seed: int = 0, degeneracy: float = 10.0, device="cpu") -> pd.DataFrame:
    """D8: step through ``LN(sigma(W x))`` block by block and measure the gap after each step: the previous block's
    output (``gap_in``), after ``sigma(W x)`` (``gap_act``), after LN's centring (``gap_centred``) and after LN's
    scaling (``gap_ln``, the block output), plus the exact scaling factor ``AM(a)/GM(a)`` of the scaling step."""
    d, n, depth, seeds = positive_int(d, "d"), positive_int(n, "n"), positive_int(depth, "depth"), positive_int(seeds, "seeds")
    require_n_le_d(n, d, "D8")
    centre = Normalization("features", center=True, scale=None)
    frames = []
    x = degenerate_input(n, d, degeneracy, seed=seed + 7919, ensemble=seeds, device=device)
    for act in activations:
        net = _build(_check_activation(act), d, depth, seeds, seed, "ln", "act_norm", device)
        h = x
        stats = {k: [] for k in ("gap_in", "gap_act", "gap_centred", "gap_ln", "log_gain")}
        with torch.no_grad():
            for block in net.blocks:
                a = block.act(block.linear(h))
                c = centre(a)
                out = block.norm(a)
                stats["gap_in"].append(M.isometry_gap(h))
                stats["gap_act"].append(M.isometry_gap(a))
                stats["gap_centred"].append(M.isometry_gap(c))
                stats["gap_ln"].append(M.isometry_gap(out))
                stats["log_gain"].append(torch.log(scaling_isometry_gain(c.pow(2).sum(-1))))
                h = out
        frames.append(tidy({k: torch.stack(v).cpu() for k, v in stats.items()}, layer_start=1,
                           activation=_act_label(act), d=d, n=n))
    return pd.concat(frames, ignore_index=True)


@storable
def mf_vs_finite(*, widths: Sequence[int] = (100, 500, 1000), n: int = 10, depth: int = 30, seeds: int = 4,
                 seed: int = 0, degeneracy: float = 10.0, activation="relu",
                 scalings: Sequence[str] = ("layer", "constant"), center: str = "constant",
                 sampler: str = "gram_chain", device="cpu") -> pd.DataFrame:
    """D17, D18 (``mf_vs_finite.pdf``): centring by the constant ``c0``, then scaling by LN (``"layer"``) or by the
    constant ``sqrt(E sigma^2 - c0^2)`` (``"constant"``), for each width: per layer and seed the gap."""
    frames = []
    for w in widths:
        for sc in scalings:
            df = ln_trace((activation,), d=positive_int(w, "width"), n=n, depth=depth, seeds=seeds, seed=seed,
                          degeneracy=degeneracy, norm=f"mf:{center}:{sc}", mean_field=False, sampler=sampler,
                          device=device)
            df["scaling"] = sc
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def fit_potential_rate(df: pd.DataFrame, column: str = "gamma", *, max_layer: int = 15, min_value: float = 1.0,
                       start_layer: int = 1):
    """D10: least-squares slope of ``log gamma`` over layers ``start_layer <= l <= max_layer`` with
    ``gamma > min_value`` (all seeds pooled); returns ``(rate = exp(slope), Fit)``."""
    from rcbench import stats

    sel = df[(df.layer >= start_layer) & (df.layer <= max_layer) & (df[column] > min_value)
             & np.isfinite(df[column])]
    if sel.layer.nunique() < 3:
        raise ValueError(f"fewer than 3 layers with {column} > {min_value}: cannot fit a rate")
    fit = stats.slope(sel.layer, sel[column], logy=True)
    return math.exp(fit.slope), fit


def potential_floor_ratio(df: pd.DataFrame, *, q: float = 0.01, column: str = "gamma") -> pd.DataFrame:
    """D11: per activation, seed and layer ``l >= 1`` of an :func:`ln_trace` frame, the ratio
    ``gamma(G^l) / (gamma(G^1) alpha^{l-1} + floor_l)`` with ``alpha = 1/beta_sigma`` (Theorem A2's rate from the
    first LN output) and ``floor_l`` the finite-width noise floor of the potential,
    :func:`rcbench.theory.finite_width.potential_floor` ``(d, n, beta_0, l - 1, q)``: the ``1 - q`` quantile of the
    largest correlation error accumulated over the ``l - 1`` blocks since layer 1 (``z sqrt((1 - beta_0^{2(l-1)}) /
    (d (1 - beta_0^2)))``, ``z = Phi^{-1}(1 - q / (n (n - 1)))``; replaces the fixed ``4 / sqrt(d)``)."""
    from rcbench.theory.finite_width import potential_floor

    out = []
    for act, g in df[df.layer >= 1].groupby("activation"):
        alpha = H.contraction_rate(act)
        b0 = H.beta0(act)
        g1 = g[g.layer == 1].set_index("seed")[column]
        floor = np.array([potential_floor(int(d), int(n), b0, int(l) - 1, q)
                          for d, n, l in zip(g.d.to_numpy(), g.n.to_numpy(), g.layer.to_numpy())])
        bound = g1.loc[g.seed].to_numpy() * alpha ** (g.layer.to_numpy() - 1) + floor
        out.append(g.assign(floor=floor, bound=bound, ratio=g[column].to_numpy() / bound))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# D19: real image batch through a torch LN-MLP
# ---------------------------------------------------------------------------------------------------------------
def _image_data(dataset: str, data_root):
    if data_root is None:
        return load(None, None)
    return load(dataset, data_root)


@storable
def image_batch_trace(activations: Sequence = ("relu", "tanh", "sigmoid"), *, width: int = 1000, depth: int = 10,
                      batch: int = 32, seeds: int = 3, seed: int = 0, dataset: str = "cifar10", data_root=None,
                      device="cpu") -> pd.DataFrame:
    """D19 (``isogap_vs_theory.pdf``): the authors' training MLP at init, blocks ``norm -> fc -> act`` with
    ``nn.LayerNorm`` (affine, eps 1e-5), ``nn.Linear`` weights ``N(0, 1/fan_in)`` and PyTorch's default bias;
    the gap after every LN. Equivalent builder form: ``x_0 = LN(image)``, then ``MLP(order="act_norm",
    norm="layernorm", bias=True)`` whose block ``l`` output is the output of LN ``l``. Scikit-learn digits
    (standardised) without ``data_root``; the paper's CIFAR-10 with it. Each seed draws its own batch of ``batch``
    images (it must be full rank: ``batch <= 32`` for digits) and its own weights. Columns: ``gap`` and the
    theory curve ``beta_sigma^{-l} gap(0)``."""
    width, depth, batch, seeds = (positive_int(width, "width"), positive_int(depth, "depth"), positive_int(batch, "batch"),
                                  positive_int(seeds, "seeds"))
    require_n_le_d(batch, width, "D19")
    for act in activations:
        _check_activation(act)
    data = _image_data(dataset, data_root)
    xs = torch.stack([data.subset(batch, seed=seed + s).x for s in range(seeds)]).to(torch.float64)
    ln0 = get_norm("layernorm", xs.shape[-1], 1).to(torch.float64)
    with torch.no_grad():
        x0 = ln0(xs)
    gap0 = M.isometry_gap(x0)
    if not bool(torch.isfinite(gap0).all()):
        raise ValueError(f"the image batch of {batch} samples is rank deficient (gap = inf); use a smaller batch")
    frames = []
    for act in activations:
        net = MLP(x0.shape[-1], width, depth, norm="layernorm", activation=act, order="act_norm", init="gaussian",
                  bias=True, ensemble=seeds, seed=seed, device=resolve_device(device))
        grams = net.grams(x0.to(resolve_device(device))).cpu()
        gap = M.spectral_metrics(grams, ["isometry_gap"])["isometry_gap"]
        bs = H.beta_sigma(act)
        theory = gap[0:1] * bs ** -torch.arange(depth + 1, dtype=torch.float64).unsqueeze(-1)
        frames.append(tidy({"gap": gap, "theory": theory}, activation=_act_label(act), beta_sigma=bs, width=width,
                           batch=batch, data=data.name))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# D20: training speed
# ---------------------------------------------------------------------------------------------------------------
def _ln_mlp_training(activations, *, width, depth, batch_size, epochs, lr, seeds, dataset, data_root, device):
    """Validated configuration and data of D20's training runs: the image data with the input LN applied once,
    on ``device`` in float32."""
    for value, name in ((width, "width"), (depth, "depth"), (batch_size, "batch_size"), (epochs, "epochs"),
                        (seeds, "seeds")):
        positive_int(value, name)
    _finite_positive(lr, "lr")
    for act in activations:
        _check_activation(act)
    dev = resolve_device(device)
    data = _image_data(dataset, data_root)
    if batch_size > len(data):
        raise ValueError(f"batch_size {batch_size} exceeds the data set size {len(data)}")
    ln0 = nn.LayerNorm(data.num_features, elementwise_affine=False)
    with torch.no_grad():
        data = type(data)(ln0(data.x.float()), data.y, data.name, data.num_classes).to(dev, torch.float32)
    return data, dev


def _ln_mlp(act, data, *, width, depth, seeds, seed, device) -> MLP:
    """D20's net: ``[width] x depth`` blocks ``fc -> act -> nn.LayerNorm``, Gaussian ``N(0, 1/fan_in)`` weights,
    PyTorch-default biases, linear readout, float32, ``seeds`` nets at once."""
    torch.manual_seed(seed)  # nn.LayerNorm has no random state; kept for determinism of any user module
    return MLP(data.num_features, width, depth, out_features=data.num_classes, norm="layernorm", activation=act,
               order="act_norm", init="gaussian", bias=True, ensemble=seeds, seed=seed, dtype=torch.float32,
               device=device)


def _sgd_epochs(net: MLP, data, *, act, batch_size: int, epochs: int, lr: float, seed: int,
                seeds: int) -> list[torch.Tensor]:
    """Epoch 0 (the untrained net's loss on the first epoch's batches), then ``epochs`` epochs of plain SGD on the
    summed per-seed cross-entropy (the seeds' gradients stay separate; they share the batch order). Returns the
    per-seed mean loss of each epoch."""
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs + 1):
        tot, count = torch.zeros(seeds, dtype=torch.float64), 0
        for xb, yb in data.batches(batch_size, seed=seed + epoch):
            out = net(xb)  # (seeds, b, classes)
            per_seed = nn.functional.cross_entropy(out.transpose(1, 2), yb.expand(seeds, -1),
                                                   reduction="none").mean(-1)
            if not bool(torch.isfinite(per_seed).all()):
                raise NumericalDivergence(f"training loss of {_act_label(act)} diverged at epoch {epoch}")
            if epoch > 0:
                opt.zero_grad()
                per_seed.sum().backward()
                opt.step()
            tot += per_seed.detach().cpu().double()
            count += 1
        losses.append(tot / count)
    return losses


@storable
def train_loss_curves(activations: Sequence = ("relu", "tanh", "sigmoid"), *, width: int = 256, depth: int = 10,
                      batch_size: int = 64, epochs: int = 5, lr: float = 0.01, seeds: int = 3, seed: int = 0,
                      dataset: str = "cifar10", data_root=None, device="cpu") -> pd.DataFrame:
    """D20 (``beta0_train_loss.pdf``): SGD (no momentum) on an LN-MLP ``[width] x depth``, blocks
    ``fc -> act -> nn.LayerNorm`` (the authors' ``norm -> fc -> act`` with the input LN applied to the data once)
    and a linear readout, cross-entropy, float32, ``seeds`` independent nets trained at once (the summed loss keeps
    their gradients separate; they share the batch order). Row per epoch and seed: ``loss`` = mean training loss
    over the epoch's batches (epoch 0 = the loss of the untrained net on the first epoch's batches), and the
    activation's ``beta_sigma``.

    Deviation from the authors' code, stated: their last block also applies the activation to the logits, which
    caps sigmoid's logits in (0, 1) and would make the ordering partly an artefact of the output layer; here the
    readout is linear for all activations.
    """
    data, dev = _ln_mlp_training(activations, width=width, depth=depth, batch_size=batch_size, epochs=epochs, lr=lr,
                                 seeds=seeds, dataset=dataset, data_root=data_root, device=device)
    frames = []
    for act in activations:
        net = _ln_mlp(act, data, width=width, depth=depth, seeds=seeds, seed=seed, device=dev)
        losses = _sgd_epochs(net, data, act=act, batch_size=batch_size, epochs=epochs, lr=lr, seed=seed,
                             seeds=seeds)
        frames.append(tidy({"loss": torch.stack(losses)}, activation=_act_label(act),
                           beta_sigma=H.beta_sigma(act), width=width, depth=depth, data=data.name).rename(
                               columns={"layer": "epoch"}))
    return pd.concat(frames, ignore_index=True)


#: the sub-layers of a block ``fc -> act -> LN`` in the order of ``isometry_init_train.pdf``'s x-axis
SUBLAYERS = ("fc", "act", "norm")


@torch.no_grad()
def _sublayer_gaps(net: MLP, probes: torch.Tensor) -> torch.Tensor:
    """Isometry gaps ``-log I(G)`` (float64) of the output of every sub-layer (fc, act, LN) of every block on each
    probe batch, shape ``(probes, depth * 3, seeds)`` in the order fc-1, act-1, norm-1, fc-2, ...; the Grams of all
    probes and sub-layers go through one batched ``eigvalsh``."""
    grams = []
    for x in probes:
        h = net._check_input(x)
        for block in net.blocks:
            z = block.linear(h)
            a = block.act(z)
            h = block.norm(a)
            grams += [M.gram(y.to(MEASUREMENT_DTYPE)) for y in (z, a, h)]
    gaps = M.spectral_metrics(torch.stack(grams), ["isometry_gap"])["isometry_gap"]
    return gaps.reshape(len(probes), len(net.blocks) * len(SUBLAYERS), -1)


@storable
def sublayer_isometry_training(activations: Sequence = ("relu", "tanh", "sigmoid"), *, width: int = 256,
                               depth: int = 10, batch_size: int = 64, probe_batch: int = 32, probe_batches: int = 4,
                               epochs: int = 5, lr: float = 0.01, seeds: int = 2, seed: int = 0,
                               dataset: str = "cifar10", data_root=None, device="cpu") -> pd.DataFrame:
    """D8, training part (``isometry_init_train.pdf``): D20's nets and SGD (see :func:`train_loss_curves`); at
    init and after the last epoch, the isometry gap ``-log I(G)`` (float64) of every sub-layer's output (``fc``,
    ``act``, ``norm`` = after ``nn.LayerNorm``, learnable affine included) on ``probe_batches`` fixed probe batches
    of ``probe_batch`` images. Row per activation x epoch x probe x layer x sub-layer x seed, with ``gap`` and
    ``gap_before`` (the gap of the sub-layer's input: the previous sub-layer, or the block input for ``fc``; layer
    1's ``fc`` has none and is left out). The paper's sawtooth: ``gap`` falls at every ``norm``."""
    data, dev = _ln_mlp_training(activations, width=width, depth=depth, batch_size=batch_size, epochs=epochs, lr=lr,
                                 seeds=seeds, dataset=dataset, data_root=data_root, device=device)
    probe_batch, probe_batches = positive_int(probe_batch, "probe_batch"), positive_int(probe_batches, "probe_batches")
    require_n_le_d(probe_batch, width, "D8")
    if probe_batch * probe_batches > len(data):
        raise ValueError(f"probe_batch x probe_batches = {probe_batch * probe_batches} exceeds the data set size "
                         f"{len(data)}")
    probes = data.subset(probe_batch * probe_batches, seed=seed + 104729).x.reshape(probe_batches, probe_batch, -1)
    frames = []
    for act in activations:
        net = _ln_mlp(act, data, width=width, depth=depth, seeds=seeds, seed=seed, device=dev)
        measured = {0: _sublayer_gaps(net, probes)}  # epoch 0 of _sgd_epochs makes no update: this is the init
        _sgd_epochs(net, data, act=act, batch_size=batch_size, epochs=epochs, lr=lr, seed=seed, seeds=seeds)
        measured[epochs] = _sublayer_gaps(net, probes)
        for epoch, g in measured.items():
            # drop position 0 (layer 1's fc: its input is the data, not a sub-layer); the rest pair with their input
            P = g.shape[1] - 1
            f = tidy({"gap": g[:, 1:].reshape(-1, seeds), "gap_before": g[:, :-1].reshape(-1, seeds)},
                     activation=_act_label(act), epoch=epoch, beta_sigma=H.beta_sigma(act), width=width,
                     depth=depth, data=data.name)
            row = f.pop("layer").to_numpy()  # tidy's "layer" indexes (probe, position) pairs
            position = row % P + 1
            f.insert(0, "probe", row // P)
            f.insert(1, "layer", position // len(SUBLAYERS) + 1)
            f.insert(2, "sublayer", np.asarray(SUBLAYERS)[position % len(SUBLAYERS)])
            frames.append(f)
    return pd.concat(frames, ignore_index=True)

