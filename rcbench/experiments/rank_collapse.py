"""Experiments of paper A: Daneshmand, Kohler, Bach, Hofmann, Lucchi, *Batch normalization provably avoids rank
collapse for randomly initialised deep networks* (NeurIPS 2020, arXiv 2003.01652).

Layout. The paper writes ``H_l`` as ``d x N`` (features x samples); rcbench uses ``(n, d)`` = the transpose. The
paper's BN ``diag(M M^T)^{-1/2} M`` (each *row*/feature to unit norm over the batch) is the norm ``"bn"`` here (each
*column* to unit norm over the ``n`` rows); ``W H`` is ``H @ W.T``. The soft rank ``r = tr(G)^2/||G||_F^2`` and the
numerical rank are layout-free; ``rank_tau`` counts eigenvalues of the feature Gram above ``tau`` times their mean
(:func:`rcbench.metrics.tau_rank`, divisor ``min(n, d)`` = the paper's ``d`` when ``n = d``).

Every function takes its sizes as keyword arguments and returns a tidy :class:`pandas.DataFrame` (one row per
seed x layer x setting). :data:`PROFILES` / :func:`config` give the claim's ``quick`` (CPU) and ``paper`` sizes.

Claims: A2-A7 use :func:`linear_chain` / :func:`rank_recovery` (the chains of Thm 2, Figs. 2, 3a, 3b), A8-A9
:func:`fig1_init_rank` / :func:`fig1_training` (Fig. 1), A10 :func:`rank_pretraining` (Figs. 4, 6), A11
:func:`conv_variants_rank` (Fig. 5); :func:`run_claim` runs one claim's experiments from its configuration.

The experiments live in modules named for what they hold, all re-exported here (``from
rcbench.experiments.rank_collapse import X`` keeps working, and every experiment keeps its store / command-line name
``rank_collapse:<function>``): :mod:`~rcbench.experiments.rank_chains` (the streamed chain of Thm 2, Figs. 2, 3a,
rank helpers, the vanilla chain's collapse thresholds), :mod:`~rcbench.experiments.gram_formulation` (the authors'
d x d Gram formulation), :mod:`~rcbench.experiments.rank_recovery` (Fig. 3b), :mod:`~rcbench.experiments.
rank_training` (Figs. 1, 4, 6), :mod:`~rcbench.experiments.rank_conv` (Fig. 5). This module holds the profiles,
the regimes and the per-claim runner.
"""

from __future__ import annotations

import sys
import types

import pandas as pd

from rcbench.experiments import rank_chains as _chains
from rcbench.experiments.common import gaussian_input, generator, positive_int, profile_config, storable, tidy
from rcbench.experiments.gram_formulation import (
    _GRAM_STATS,
    FORMULATIONS,
    _chain_weights,
    _gram_stats,
    gram_formulation_chain,
)
from rcbench.experiments.rank_chains import (
    _CHAIN_STATS,
    COLLAPSE_FALSE_FAILURE,
    COLLAPSED_R,
    FAST_CHAIN,
    INF,
    LOG_COLLAPSED,
    _chain_arms,
    _chain_input,
    _chain_measurer,
    _fast_chain_supported,
    _homogeneous,
    _norm_label,
    _stream,
    _weights,
    _widths,
    collapse_false_failure,
    linear_chain,
    linear_chain_arms,
    log_singular_ratio,
    lyapunov_rates,
    normalized_layer_rank,
    normalized_rank_tolerance,
    one_layer_rank,
    paper_a_name,
    product_rank_bound,
    singular_value_ratio,
    slope_ratio_sd,
    subseed,
)
from rcbench.experiments.rank_conv import (
    CONV_VARIANTS,
    SMALL_VGG,
    VGG19,
    SpatialNorm,
    _cifar_like,
    _conv_norm,
    conv_variants_rank,
    small_vgg,
)
from rcbench.experiments.rank_recovery import INPUT_LAWS, nearly_rank_one_input, rank_recovery
from rcbench.experiments.rank_training import (
    FIG1_ARMS,
    PRETRAIN_ARMS,
    _accuracy,
    _fig1_net,
    _last_hidden,
    _pretrain_net,
    _train_steps,
    _upsampled_digits,
    fig1_bn_lr,
    fig1_data,
    fig1_init_rank,
    fig1_proxy_input,
    fig1_training,
    positive_weights,
    rank_pretraining,
)

__all__ = [
    "PROFILES",
    "config",
    "truncate",
    "run_claim",
    "subseed",
    "singular_value_ratio",
    "normalized_rank_tolerance",
    "normalized_layer_rank",
    "one_layer_rank",
    "linear_chain",
    "linear_chain_arms",
    "log_singular_ratio",
    "lyapunov_rates",
    "COLLAPSED_R",
    "LOG_COLLAPSED",
    "collapse_false_failure",
    "product_rank_bound",
    "slope_ratio_sd",
    "nearly_rank_one_input",
    "rank_recovery",
    "INPUT_LAWS",
    "FORMULATIONS",
    "gram_formulation_chain",
    "fig1_proxy_input",
    "fig1_data",
    "positive_weights",
    "FIG1_ARMS",
    "fig1_init_rank",
    "fig1_bn_lr",
    "fig1_training",
    "PRETRAIN_ARMS",
    "rank_pretraining",
    "SMALL_VGG",
    "VGG19",
    "CONV_VARIANTS",
    "SpatialNorm",
    "small_vgg",
    "conv_variants_rank",
    "COLLAPSE_FALSE_FAILURE",
    "FIG3A_WIDTHS",
    "REGIMES",
    "FAST_CHAIN",
    "INF",
    "paper_a_name",
]
# private names re-exported for the tests, benchmarks and the cost model that reach into the module
# names the single module imported and users reach through it (exp.generator in the claims)
_IMPORTED = (gaussian_input, generator, positive_int, storable, tidy)
_PRIVATE = (_CHAIN_STATS, _GRAM_STATS, _chain_arms, _chain_input, _chain_measurer, _fast_chain_supported, _homogeneous,
            _norm_label, _stream, _weights, _widths, _chain_weights, _gram_stats, _cifar_like, _conv_norm, _accuracy,
            _fig1_net, _last_hidden, _pretrain_net, _train_steps, _upsampled_digits)


class _RankCollapseModule(types.ModuleType):
    """``rank_collapse.FAST_CHAIN = False`` (tests, benchmarks) also switches the chains' flag, which now lives in
    :mod:`rcbench.experiments.rank_chains`."""

    def __setattr__(self, name, value):
        if name == "FAST_CHAIN":
            _chains.FAST_CHAIN = value
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _RankCollapseModule


# ---------------------------------------------------------------------------------------------------------------
# profiles and the per-claim runners (the claim tests and the profile smoke test call the same code)
# ---------------------------------------------------------------------------------------------------------------
_A_WIDTHS = (8, 16, 32, 64)

PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "A2": dict(collapse=dict(widths=(16, 32), depth=2000, seeds=10, sample_every=10,
                                 stats=("soft_rank", "numerical_rank", "sv_ratio")),
                   # r_layer = 2000 (not 500): at d = 32 log(s2/s1) drifts at -0.0164/layer with a per-seed sd of
                   # 0.181 sqrt(L) (rcbench.theory.products); r < 1.1 needs log(s2/s1) < -1.5, i.e. a z-margin of
                   # (0.0164 L - 1.5) / (0.181 sqrt L) = 1.65 at L = 500 but 3.86 at L = 2000 (_regime_a2)
                   r_layer=2000, rank_layer=2000, confidence=0.999,
                   lyapunov=dict(widths=(16, 32), depth_factor=30, seeds=10, sample_fraction=0.25,
                                 reuse_collapse=True)),
        "A3": dict(chain=dict(widths=_A_WIDTHS, depth=600, burn_in=100, sample_every=2, seeds=5,
                              init="gaussian_unit", stats=("soft_rank",)),
                   norms=("bn", "bn_centered"), gammas=(INF,),
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                stats=("soft_rank",))),
        "A4": dict(chain=dict(widths=32, depth=2000, sample_every=100, seeds=3, init="uniform_unit",
                              stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered", average_from=1000),
        "A5": dict(chain=dict(widths=_A_WIDTHS, depth=600, burn_in=100, sample_every=4, seeds=3,
                              init="gaussian_unit", input="identity",
                              stats=("soft_rank", "rank_tau05", "gram_numerical_rank")),
                   gammas=(INF, 1.0),
                   # the authors' Gram formulation on the same weights (gamma = inf; the same chain: no extra H run)
                   gram=dict(widths=_A_WIDTHS, depth=600, burn_in=100, sample_every=4, seeds=3, init="gaussian_unit",
                             input="identity"),
                   # vanilla control at L = 2000 and d <= 32 (the checked widths): rank_0.5 = 1 needs
                   # log(s2/s1) < -log(2d - 1)/2 = -2.07 at d = 32; z-margin (0.0164 L - 2.07)/(0.181 sqrt L) is 1.75
                   # at L = 600 (1/200 pilot seeds fail) and 3.79 at L = 2000 (0/200 pilot seeds fail from L = 1000)
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                input="identity", stats=("rank_tau05",))),
        # A6: 10 seeds (was 5): the geometric-mean check at the calibration's 5e-5 [C] failed 0.9% of 5-seed runs (see test)
        "A6": dict(recovery=dict(width=50, depth=30, seeds=10, gamma=1.0), r_layer=30, eig_layer=20,
                   # rcbench's start 1 1^T + 1e-5 G and the authors' (c = x.x ~ chi^2_d): the paper's protocol
                   input_laws=(1.0, "authors"),
                   gram=dict(width=50, input_laws=("authors", 1.0))),
        "A7": dict(chain=dict(widths=32, depth=500, burn_in=50, sample_every=5, seeds=5, activation="relu",
                              stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered"),
        "A8": dict(init_rank=dict(hidden_layers=(0, 4, 8, 12, 16, 32), seeds=3, width=128, batch=128)),
        "A9": dict(training=dict(hidden_layers=(2, 14), steps=150, batch=128, seeds=3, sgd_lr=0.1)),
        # high = 200 pre-training steps (Fig. 6: 75): on digits at width 64, 75 steps raise r only 1.07-2.3x in the
        # lowest 10% of seeds; 200 steps cost ~2 s more (pilot, 16 x 5 seeds; see test_a10_rank_pretraining)
        # 10 seeds (was 5): power of the paired speed bound (pilot of 120 runs, see test_a10_rank_pretraining)
        "A10": dict(pretraining=dict(width=64, depth=12, seeds=10, epochs=3, batch=32, lr=0.01,
                                     pretrain_steps={"none": 0, "low": 5, "high": 200}, pretrain_lr=0.1,
                                     # last-layer shortcut: at depth 12 H_12 is not collapsed (see the A10 test)
                                     pretrain_layers="last")),
        "A11": dict(conv=dict(batch=64, seeds=3, cfg=SMALL_VGG)),
    },
    "paper": {
        "A2": dict(collapse=dict(widths=(16, 32), depth=2000, seeds=10, sample_every=10,
                                 stats=("soft_rank", "numerical_rank", "sv_ratio")),
                   r_layer=2000, rank_layer=2000, confidence=0.999,
                   lyapunov=dict(widths=(64, 128, 256, 512), depth_factor=30, seeds=5, sample_fraction=0.25)),
        "A3": dict(chain=dict(widths=(64, 128, 256, 512, 1024), depth=100_000, burn_in=10_000, sample_every=100,
                              seeds=3, init="gaussian_unit", stats=("soft_rank",)),
                   norms=("bn", "bn_centered"), gammas=(0.01, 1.0, INF),
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                stats=("soft_rank",))),
        "A4": dict(chain=dict(widths=32, depth=50_000, sample_every=1000, seeds=3, init="uniform_unit",
                              stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered", average_from=1000),
        "A5": dict(chain=dict(widths=(8, 16, 32, 64, 128, 256), depth=1_000_000, burn_in=1000, sample_every=10_000,
                              seeds=2, init="gaussian_unit", input="identity",
                              stats=("soft_rank", "rank_tau05", "numerical_rank", "gram_numerical_rank")),
                   gammas=(0.01, 1.0, INF),
                   # Gram formulation vs H chain on the same weights, at the widths of Fig. 3a, 10^4 layers (numpy)
                   gram=dict(widths=(8, 16, 32, 64, 128, 256), depth=10_000, burn_in=1000, sample_every=100, seeds=2,
                             init="gaussian_unit", input="identity"),
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                input="identity", stats=("rank_tau05",))),
        "A6": dict(recovery=dict(width=(50, 200), depth=100, seeds=20, gamma=1.0), r_layer=30, eig_layer=20,
                   input_laws=(1.0, "authors"), gram=dict(width=50, input_laws=("authors", 1.0))),
        "A7": dict(chain=dict(widths=(32, 64, 128, 256, 512), depth=2000, burn_in=200, sample_every=10, seeds=3,
                              activation="relu", stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered"),
        "A8": dict(init_rank=dict(hidden_layers=tuple(range(0, 33, 2)), seeds=3, width=128, batch=128)),
        "A9": dict(training=dict(hidden_layers=tuple(range(0, 33, 2)), steps=35_100, batch=128, seeds=3,
                                 sgd_lr=0.01)),
        "A10": dict(pretraining=dict(width=128, depth=30, seeds=10, epochs=15, batch=32, lr=0.01,
                                     pretrain_steps={"none": 0, "low": 5, "high": 75}, pretrain_lr=0.1,
                                     # Fig. 6's notebook: 1/r of layers 4, 8, ..., 28 in turn, 5 / 75 steps each
                                     pretrain_layers="every4")),
        "A11": dict(conv=dict(batch=128, seeds=3, cfg=VGG19)),
    },
}


def _regime_a6(cfg: dict, entry: str) -> None:
    """A6's regime: the pilot range of its response surface (claims/test_a_rank_collapse.py, ``A6_RESPONSE``):
    widths 50..200 (Fig. 3b's 50 and the paper profile's 200), E in {10, 20}, layers within the depth, relative noise
    noise/c in [1e-8, 1e-4] (the authors' c = x.x ~ d), and >= 1e-7 below d = 100 (the r(H_30) >= 3.5 bound)."""
    rc = cfg["recovery"]
    widths = _as_tuple(rc["width"])
    if any(not 50 <= w <= 200 for w in widths):
        raise ValueError(f"{entry}: widths must lie in [50, 200] (the calibrated range of Fig. 3b), got {widths}")
    if cfg["eig_layer"] not in (10, 20):
        raise ValueError(f"{entry}: eig_layer must be 10 or 20 (the response surface's layers), got {cfg['eig_layer']}")
    if max(cfg["eig_layer"], cfg["r_layer"]) > rc["depth"]:
        raise ValueError(f"{entry}: eig_layer and r_layer must be <= depth={rc['depth']}")
    noise = rc.get("noise", 1e-5)
    # r(H_30) >= 3.5 needs relative noise >= 1e-7 below d = 100: pilot minima at d = 50 are 3.24 and 3.44 (2 x 100
    # seeds) at 1e-8 but 3.73 at 1e-7 (100 seeds); at 1e-8 the minimum is 4.75 at d = 100 (60 seeds), 6.66 at d = 200
    for c in _as_tuple(cfg.get("input_laws", (1.0,))):
        for w in widths:
            rel = noise / w if c == "authors" else noise / float(c)
            lo = 1e-7 if w < 100 else 1e-8
            if not lo <= rel <= 1e-4:
                raise ValueError(f"{entry}: relative noise noise/c must lie in [{lo:g}, 1e-4] at width {w}, got "
                                 f"{rel:.3g} for c={c!r}")


def _regime_a2(cfg: dict, entry: str) -> None:
    """A2's regime: the chain is deep enough that "r(H_L) < 1.10 in every seed" is predicted at a false-failure rate
    <= COLLAPSE_FALSE_FAILURE per run (:func:`collapse_false_failure`; e.g. d = 64 needs L >= 3700 at 10 seeds)."""
    col = cfg["collapse"]
    if cfg["r_layer"] > col["depth"] or cfg["rank_layer"] > col["depth"]:
        raise ValueError(f"{entry}: r_layer and rank_layer must be <= collapse.depth={col['depth']}")
    z, p = collapse_false_failure(col["widths"], cfg["r_layer"], col["seeds"])
    if p > COLLAPSE_FALSE_FAILURE:
        raise ValueError(f"{entry}: r_layer={cfg['r_layer']} is too shallow for the collapse check at widths "
                         f"{tuple(z)} and {col['seeds']} seeds: predicted false failure {p:.2g} > "
                         f"{COLLAPSE_FALSE_FAILURE:g} (z-margins {', '.join(f'{v:.2f}' for v in z.values())})")


def _regime_a4(cfg: dict, entry: str) -> None:
    """A4's regime: d = N = 32, the size of Fig. 2, at which its numbers (BN rank 9-10, vanilla 1-2) are read off."""
    widths = _as_tuple(cfg["chain"]["widths"])
    if widths != (32,):
        raise ValueError(f"{entry}: chain.widths must be 32 (Fig. 2's d = N = 32, where its ranks are read off), "
                         f"got {widths}")


#: Fig. 3a's widths, at which its plotted ranks are read off (A5)
FIG3A_WIDTHS = (8, 16, 32, 64, 128, 256)


def _regime_a5(cfg: dict, entry: str) -> None:
    """A5's regime: widths among Fig. 3a's (its values are read off at d = 8 ... 256)."""
    widths = _as_tuple(cfg["chain"]["widths"])
    if any(w not in FIG3A_WIDTHS for w in widths) or len(widths) < 2:
        raise ValueError(f"{entry}: chain.widths must be at least two of Fig. 3a's widths {FIG3A_WIDTHS}, got {widths}")


#: regime validators of the configurations (see rcbench.overrides): refused before any work when overridden
REGIMES = {"A2": _regime_a2, "A4": _regime_a4, "A5": _regime_a5, "A6": _regime_a6}


def config(claim: str, profile: str = "quick") -> dict:
    """A deep copy of claim ``claim``'s sizes in ``profile`` (``"quick"`` or ``"paper"``)."""
    return profile_config(PROFILES, claim, profile)


_TRUNCATE = {"depth": 4, "seeds": 1, "steps": 2, "epochs": 1, "burn_in": 0, "sample_every": 1, "depth_factor": 1,
             "batch": 8}


def truncate(cfg, *, depth: int = 4, seeds: int = 1, steps: int = 2, widths: int | None = None,
             hidden_layers: int = 2):
    """A copy of a profile configuration cut down to a few layers/steps/seeds (the paper profile's smoke test).
    Widths are kept (up to ``widths`` if given), so the paper's sizes are exercised."""
    limits = dict(_TRUNCATE, depth=depth, seeds=seeds, steps=steps)
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            if k in limits and isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = type(v)(min(v, limits[k])) if k != "burn_in" else 0
            elif k in ("widths", "width") and widths is not None:
                vs = [v] if isinstance(v, int) else list(v)
                vs = [w for w in vs if w <= widths] or [min(vs)]
                out[k] = vs[0] if isinstance(v, int) else tuple(vs)
            elif k == "hidden_layers":
                out[k] = tuple(v)[:hidden_layers]
            elif k == "pretrain_steps":
                out[k] = {a: min(s, steps) for a, s in v.items()}
            else:
                out[k] = truncate(v, depth=depth, seeds=seeds, steps=steps, widths=widths, hidden_layers=hidden_layers)
        return out
    return cfg


def _as_tuple(v) -> tuple:
    return (v,) if isinstance(v, (int, float, str)) or v is None else tuple(v)


def _exact_rank_one_layer(width: int, rc: dict, norm, seed: int, device) -> pd.DataFrame:
    """A6's control: one BN layer on an exactly rank-one input (:func:`rank_recovery` with ``depth=1``), plus the
    column ``normalized_rank`` = the rank with the column-scaling-aware tolerance of
    :func:`normalized_rank_tolerance` (layer 1; layer 0 keeps ``numerical_rank``)."""
    df = rank_recovery(width=width, **dict(rc, depth=1), norm=norm, exact=True, seed=seed, device=device)
    x = nearly_rank_one_input(width, width, seeds=rc.get("seeds", 5), seed=seed, noise=rc.get("noise", 1e-5),
                              exact=True, device=device)
    k, _ = one_layer_rank(x, seed=seed, norm=norm, init=rc.get("init", "gaussian_unit"), gamma=rc.get("gamma", 1.0),
                          device=device)
    df["normalized_rank"] = df["numerical_rank"]
    at1 = (df.layer == 1).to_numpy()
    df.loc[at1, "normalized_rank"] = k.cpu().numpy()[df.loc[at1, "seed"].to_numpy()].astype(float)
    return df


def run_claim(
    claim: str, cfg: dict, *, seed: int = 0, device="cpu", norm=None, data_root=None
) -> dict[str, pd.DataFrame]:
    """Run the experiments of claim ``claim`` with configuration ``cfg`` (from :func:`config`, possibly
    :func:`truncate`-d) and return its frames by name. ``norm`` substitutes the normalisation of the claim's
    *treatment* arm (never of a control); ``None`` keeps the paper's."""
    if claim == "A2":
        col = linear_chain(**cfg["collapse"], norm=None, seed=seed, device=device)
        lc = cfg["lyapunov"]
        if lc.get("reuse_collapse"):  # same widths and seeds: fit on the collapse chain's layers d .. 30 d
            keep = col.layer <= lc["depth_factor"] * col.width
            return {"vanilla_chain": col, "lyapunov_chain": col[keep].reset_index(drop=True)}
        lyap = []
        for d in _as_tuple(lc["widths"]):
            depth = max(2, lc["depth_factor"] * d)
            every = max(1, int(lc["sample_fraction"] * d))
            df = linear_chain(widths=d, depth=depth, seeds=lc["seeds"], norm=None, sample_every=every,
                              stats=("sv_ratio",), seed=seed, device=device)
            lyap.append(df)
        return {"vanilla_chain": col, "lyapunov_chain": pd.concat(lyap, ignore_index=True)}
    if claim == "A3":
        norms = (norm,) if norm is not None else cfg["norms"]
        # all norm x gamma arms in one batched call: the concatenation of the per-arm linear_chain frames, bit for bit
        bn = linear_chain_arms(**cfg["chain"], arms=[(nm, g) for nm in norms for g in cfg["gammas"]], seed=seed,
                               device=device)  # fmt: skip
        control = linear_chain(**cfg["control"], norm=None, seed=seed, device=device)
        return {"bn_chain": bn, "vanilla_chain": control}
    if claim == "A4":
        bn = linear_chain(**cfg["chain"], norm=norm if norm is not None else cfg["norm"], seed=seed, device=device)
        van = linear_chain(**cfg["chain"], norm=None, seed=seed, device=device)
        return {"bn_chain": bn, "vanilla_chain": van}
    if claim == "A5":
        bn = linear_chain_arms(**cfg["chain"], arms=[("bn", g) for g in cfg["gammas"]], seed=seed, device=device)
        control = linear_chain(**cfg["control"], norm=None, seed=seed, device=device)
        out = {"bn_chain": bn, "vanilla_chain": control}
        if cfg.get("gram"):  # the authors' d x d Gram formulation on the same weights (finding of the comparison)
            gc = dict(cfg["gram"])
            gstats = ("soft_rank", "rank_tau05", "gram_numerical_rank")
            same = {k: v for k, v in cfg["chain"].items() if k != "stats"} == gc and INF in cfg["gammas"]
            h = (bn[bn["gamma"] == INF].reset_index(drop=True) if same  # the gamma = inf arm's frame
                 else linear_chain(**gc, stats=gstats, norm="bn", seed=seed, device=device))
            g = gram_formulation_chain(**gc, stats=gstats, norm="bn", seed=seed)
            h = h.assign(formulation="h", precision="float64")[list(g.columns)]  # the statistics both measure
            out["gram_formulation"] = pd.concat([h, g], ignore_index=True)
        return out
    if claim == "A6":
        rc = dict(cfg["recovery"])
        widths = _as_tuple(rc.pop("width"))
        laws = _as_tuple(cfg.get("input_laws", (1.0,)))
        nm = norm if norm is not None else "bn"
        bn = [rank_recovery(width=w, **rc, c=c, norm=nm, seed=seed, device=device) for c in laws for w in widths]
        van = [rank_recovery(width=w, **rc, c=c, norm=None, seed=seed, device=device) for c in laws for w in widths]
        one = [_exact_rank_one_layer(w, rc, nm, seed, device) for w in widths]
        out = {"bn_recovery": pd.concat(bn, ignore_index=True), "vanilla_recovery": pd.concat(van, ignore_index=True),
               "exact_rank_one": pd.concat(one, ignore_index=True)}
        gc = cfg.get("gram")
        if gc and (norm is None or norm == "bn"):  # the authors' Gram formulation on the same weights (finding; paper's BN only)
            g = [rank_recovery(width=gc["width"], **rc, c=c, norm="bn", formulation=f, precision=p, seed=seed)
                 for c in gc["input_laws"] for f, p in (("h", "float64"), ("gram", "float64"), ("gram", "longdouble"))]
            out["gram_formulation"] = pd.concat([df.assign(formulation=f, precision=p) for df, (f, p) in
                                                 zip(g, [("h", "float64"), ("gram", "float64"),
                                                         ("gram", "longdouble")] * len(gc["input_laws"]))],
                                                ignore_index=True)
        return out
    if claim == "A7":
        bn = linear_chain(**cfg["chain"], norm=norm if norm is not None else cfg["norm"], seed=seed, device=device)
        van = linear_chain(**cfg["chain"], norm=None, seed=seed, device=device)
        return {"bn_relu_chain": bn, "vanilla_relu_chain": van}
    if claim == "A8":
        return {"init_rank": fig1_init_rank(**cfg["init_rank"], bn_norm=norm, data_root=data_root, seed=seed,
                                            device=device)}
    if claim == "A9":
        return {"training": fig1_training(**cfg["training"], bn_norm=norm, data_root=data_root, seed=seed,
                                          device=device)}
    if claim == "A10":
        return {"pretraining": rank_pretraining(**cfg["pretraining"], bn_norm=norm, data_root=data_root, seed=seed,
                                                device=device)}
    if claim == "A11":
        c = dict(cfg["conv"])
        variants = ("full_bn" if norm is None else norm, "centering_only", "scaling_only", "none")
        df = conv_variants_rank(**c, variants=variants, data_root=data_root, seed=seed, device=device)
        if norm is not None:
            df.loc[df.variant == _norm_label(norm), "variant"] = "full_bn"
            df["full_bn_norm"] = _norm_label(norm)
        return {"conv_rank": df}
    raise KeyError(f"no runner for claim {claim!r}")
