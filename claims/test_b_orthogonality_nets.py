"""Claims of paper B at the network level: Daneshmand, Joudaki, Bach, *Batch normalization orthogonalizes
representations in deep random networks* (NeurIPS 2021, arXiv 2106.03970) — B6 and B21-B32.

Layout: rcbench representations are ``(n, d)`` (rows = samples); the paper's ``H^T H`` (sample Gram) is ``H H^T``.
Numbers quoted as [C] are our own CPU calibration runs (summarised per claim in ``rcbench/docs/claims/B.md``),
[T] the third-party reproduction (``t0m1ab/CS3A_TDL_project``). The experiments live in :mod:`rcbench.experiments.orthogonality_nets`, the iterative
initialisation in :mod:`rcbench.networks.iterative_init`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from rcbench import stats
from rcbench.experiments import orthogonality_nets as exp
from rcbench.networks import NumericalDivergence
from rcbench.theory import orthogonality as T

# Scale grid of the statistical claims (``rcbench audit --scales``; each dict is a set of ``--set`` overrides of the
# claim's quick configuration), chosen from the paper's regime before looking at results: Fig. 1 at more runs, at a
# wider net with the same depth / width ratio, and at a less collinear input; §3.2's vanilla chain at the widths in
# between the two calibrated ones; App. F's widths d = 32 .. 512 (the paper-scale range of Fig. 6) and a shorter
# chain; Fig. 5 with twice the width and more batches; the initial-gap proxy with more seeds and an intermediate
# depth (Fig. 3a has five depths); the training claims with more seeds.
SCALES: dict[str, list[dict[str, object]]] = {
    "B21": [{"seeds": 50}, {"width": 64, "depth": 100}, {"eps": 1e-2}],
    "B22": [{"seeds": 40}, {"widths": (64,)}, {"widths": (32, 256)}],
    "B23": [{"seeds": 8}, {"widths": (32, 64, 128, 256, 512), "depth": 200}],
    "B24": [{"seeds": 8}, {"widths": (32, 64, 128, 256, 512), "depth": 200}],
    "B25": [{"seeds": 8}, {"widths": (32, 64, 128, 256, 512), "depth": 200}],
    "B26": [{"seeds": 100}, {"width": 200}],
    "B27": [{"seeds": 16}, {"depths": (10, 20, 40)}],
    "B28": [{"seeds": 16}, {"depths": (10, 20, 40)}],
    "B29": [{"seeds": 6}],
    "B30": [{"seeds": 10}],
    "B31": [{"seeds": 6}],
}


def _cfg(claim: str, profile: str) -> dict:
    return exp.config(claim, "quick" if profile == "quick" else "paper")


def _spearman(x, y) -> float:
    return float(spearmanr(np.asarray(x, float), np.asarray(y, float)).statistic)


# ---------------------------------------------------------------------------------------------------------------
# B6 — one layer of Eq. (6)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B6")
def test_b6_one_iterative_layer_lowers_gap(record, profile, device, seed):
    """App. E: one Eq. (6) layer (Sigma^{-1/2}, orthogonal V') strictly lowers the orthogonality gap.

    Exact statements, checked on anisotropic ``(N = 3d, d)`` batches: the output's singular values are
    ``sqrt(s_i / sum s_j)`` (App. E; tolerance 1e-10, float64 round-off of an SVD), its Frobenius norm is 1, and by
    Cauchy-Schwarz the gap is strictly smaller — on the feature side (``d x d`` Gram, the side Eq. (6) whitens when
    ``N > d``) and on the sample side (Eq. 2, ``N x N`` Gram; it cannot reach 0 since ``V >= sqrt(1/d - 1/N)``).
    The paper's V' must be orthogonal (we orthogonalise the slice by QR; see B6 in ``rcbench/docs/claims/B.md``); the code's Sigma^{-1} variant and
    the literal slice are recorded. Negative control: the reproduction's transposition bug (``Qh^T`` for ``Qh``) does
    not lower the gap ([C] 0.358 -> 0.353; here it raises it).
    """
    df = record.frame("one_layer", exp.one_layer_orthogonalization(seed=seed, device=device, **_cfg("B6", profile)))
    paper = df[df.variant == "paper"]
    record.check("max |sv(H W^T) - sqrt(s/sum s)|", paper.sv_error.max(), expected="0", tolerance="1e-10 round-off",
                 passed=paper.sv_error.max() <= 1e-10)
    record.check("max | ||H W^T||_F - 1 |", (paper.frob_out - 1).abs().max(), expected="0", tolerance="1e-10",
                 passed=(paper.frob_out - 1).abs().max() <= 1e-10)
    feat = (paper.feature_gap_out - paper.feature_gap_in).max()
    samp = (paper.gap_out - paper.gap_in).max()
    record.check("max feature-side gap change (paper Eq. 6)", feat, expected="< 0 (strict decrease)",
                 tolerance="exact (Cauchy-Schwarz)", passed=feat < 0)
    record.check("max sample-side gap change (paper Eq. 6)", samp, expected="< 0 (strict decrease)",
                 tolerance="exact", passed=samp < 0)
    d32 = paper[paper.width == paper.width.min()]
    record.check("mean feature gap in -> out at the smallest width", [float(d32.feature_gap_in.mean()),
                                                                              float(d32.feature_gap_out.mean())],
                 expected="[C] 0.358 -> 0.132 (their input)", tolerance="informational", passed=True)
    for v in ("code", "paper_literal"):
        sub = df[df.variant == v]
        record.check(f"fraction of matrices with a lower feature gap ({v} variant)",
                     float((sub.feature_gap_out < sub.feature_gap_in).mean()), expected="informational",
                     tolerance="not App. E's construction", passed=True)
    bug = df[df.variant == "reproduction"]
    ratio = (bug.feature_gap_out / bug.feature_gap_in).min()
    record.check("reproduction (transpose bug): min feature gap out/in", ratio,
                 expected=">= 0.95 (no orthogonalisation)", tolerance="[C] 0.353/0.358 = 0.99; 5% margin",
                 passed=ratio >= 0.95, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B21 — Fig. 1
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B21", components=("norm",), mutants={
    "batch_axis_norm": "sound: unit mean-square feature columns are paper B's BN times sqrt(n); the cosine of two "
                       "samples does not see a global factor"})
def test_b21_bn_decorrelates_vanilla_aligns(record, profile, device, seed, components):
    """Fig. 1 (directional; authors' protocol d = 32, n = 2, 50 layers, 20 runs, one shared W per run).

    BN net on two nearly collinear inputs (cos = 1 - 5e-7): its mean |cos| over layers 10-50 must fall below
    sqrt(2) x floor_level(2, d) (0.204 at d = 32; [C] 0.115, [T] 0.1-0.15). For n = 2 the trace-one sample Gram is
    [[a, c], [c, 1 - a]] and |cos| = |c| / sqrt(a (1 - a)) ~ 2|c| <= sqrt(2) V near isotropy, so the decorrelated
    level is at most sqrt(2) E[V] at the floor, and the floor formula is ~12% high at n = 2 (B14): the threshold is
    >= 1.6 x the expected |cos| at every width (the former fixed 0.2 was this at d = 32 only). Vanilla linear
    net on two orthogonal inputs: mean |cos| at layer 50 above 0.5 ([C] 0.72, [T] 0.68; run-to-run sd ~0.3, so the
    20-run mean has SE ~0.07 and 0.5 is 3 SE below) and increasing with depth: Spearman(layer, mean |cos|) above
    :func:`rcbench.stats.trend_threshold` (0.437 for 51 layers: a trendless curve passes with probability 1e-3).
    The former bound 0.8 was not derived; over 82 reseeded runs the statistic ranged 0.745-0.992 and 6 runs fell
    below 0.8. The vanilla arm is the built-in negative control (no normalisation: alignment, not decorrelation).
    """
    cfg = _cfg("B21", profile)
    norm = components.norm("bn")
    df = record.frame("cosines", exp.two_sample_cosines(norm=norm, seed=seed, device=device, **cfg))
    m = df.groupby(["arm", "layer"]).abs_cos.mean().unstack(0)
    L = cfg["depth"]
    bn_tail = float(m.loc[10:L, "bn"].mean())
    thr = math.sqrt(2) * T.floor_level(2, cfg["width"])
    record.check(f"BN mean |cos| over layers 10-{L}", bn_tail, expected=f"< {thr:.3f}",
                 tolerance="sqrt(2) floor_level(2, d); [C] 0.115 at d=32", passed=bn_tail < thr)
    v_end = float(m.loc[L, "vanilla"])
    record.check("vanilla mean |cos| at the last layer", v_end, expected="> 0.5", tolerance="[C] 0.72, [T] 0.68; 3 SE",
                 passed=v_end > 0.5, control=True)
    rho, rho_min = _spearman(m.index, m["vanilla"]), stats.trend_threshold(len(m))
    record.check("Spearman(layer, vanilla mean |cos|)", rho, expected=f"> {rho_min:.3f}",
                 tolerance="increasing: no-trend null rejected at 1e-3", passed=rho > rho_min, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B22 — vanilla gap growth
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B22", components=("init",), mutants={
    "gaussian_init": "the claim's own weights: i.i.d. N(0, 1/d) is the vanilla chain of §3.2 (the default init)"})
def test_b22_vanilla_gap_grows(record, profile, device, seed, components):
    """§3.2 (directional): without BN the linear chain's gap grows with depth towards rank one (V_max = 0.866).

    n = 4, Gaussian input, 20 runs. Mean V is increasing (Spearman above :func:`rcbench.stats.trend_threshold`,
    0.309 for layers 0-100; the former, not derived, 0.9 failed in 3 of 82 reseeded runs at d = 32, where the statistic
    ranged 0.776-0.997); at the last layer it reaches the expected gap of the Gaussian product from this input,
    E[V_L] (:func:`rcbench.theory.orthogonality.vanilla_gap_law`: the exact law of the n x n triangular factor, a
    product of L i.i.d. Bartlett factors, 20000 draws; 0.818 at d = 32, 0.654 at d = 128 for 100 layers at seed 0,
    [C] 0.83 / 0.67), minus 3.29 combined SE (runs and Monte Carlo). Before: the typical-spectrum gap
    (:func:`rcbench.theory.orthogonality.vanilla_gap_typical`, 0.823 / 0.400), which ignores the fluctuations of the
    log singular values (variance ~ 4L/d per gap) and was 0.25 below the measured mean at d = 128, weaker with
    every wider net; before that, fixed 0.75 (d = 32) and 0.55 (d = 128). It never exceeds V_max (an identity: tolerance 1e-9). Negative control: the BN chain from
    the same input and weights stays at its width floor — below 1.5 x floor_level(n, d) (B14; 0.31 at d = 32: the
    formula's 10% plus ~4 SE of a 20-run mean at one layer, relative sd ~0.5) and below half the vanilla gap at the
    last layer (was a fixed 0.3, which the floor itself exceeds at d <= 16).
    """
    cfg = _cfg("B22", profile)
    init = components.init("gaussian")
    df = record.frame("gaps", exp.vanilla_gap_growth(init=init, seed=seed, device=device, **cfg))
    vmax = math.sqrt(1 - 1 / cfg["n"])
    L = cfg["depth"]
    for d, g in df.groupby("width"):
        van = g[g.arm == "vanilla"].groupby("layer").orthogonality_gap.mean()
        bn = g[g.arm == "bn"].groupby("layer").orthogonality_gap.mean()
        rho, rho_min = _spearman(van.index, van.values), stats.trend_threshold(len(van))
        record.check(f"d={d}: Spearman(layer, mean vanilla V)", rho, expected=f"> {rho_min:.3f}",
                     tolerance="increasing: no-trend null rejected at 1e-3", passed=rho > rho_min)
        last = g[(g.arm == "vanilla") & (g.layer == L)].orthogonality_gap
        typ = T.vanilla_gap_typical(cfg["n"], int(d), L)
        index = list(cfg["widths"]).index(d)
        law, law_se = T.vanilla_gap_law(exp.vanilla_input_spectrum(cfg["n"], int(d), index, seed), int(d), L,
                                        draws=20_000, seed=seed)
        se = math.hypot(float(last.std(ddof=1)) / math.sqrt(last.size), law_se)
        lower = law - 3.29 * se
        record.check(f"d={d}: mean vanilla V at layer {L}", float(van.loc[L]), expected=f"> {lower:.3f}",
                     tolerance=f"E[V] of the Gaussian product {law:.3f} (exact law, Bartlett factors) - 3.29 SE; "
                               f"was the typical-spectrum gap {typ:.3f}; [C] 0.83 (d=32) / 0.67 (d=128)",
                     passed=float(van.loc[L]) > lower,
                     note=f"z = (mean - E[V]) / SE = {(float(van.loc[L]) - law) / se:.2f}")
        mx = float(g[g.arm == "vanilla"].orthogonality_gap.max())
        record.check(f"d={d}: max vanilla V", mx, expected=f"<= V_max = {vmax:.4f}", tolerance="identity, 1e-9",
                     passed=mx <= vmax + 1e-9)
        cap = 1.5 * T.floor_level(cfg["n"], int(d))
        ok = float(bn.loc[L]) < cap and float(bn.loc[L]) < 0.5 * float(van.loc[L])
        record.check(f"d={d}: BN chain V at layer {L} (control)", float(bn.loc[L]),
                     expected=f"< {cap:.3f} and < 0.5 x vanilla", tolerance="1.5 x B14 floor", passed=ok, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B23-B25 — App. F
# ---------------------------------------------------------------------------------------------------------------
_F_ACTS = ("relu", "tanh", "sin", "one_plus_tanh")


def _frozen(cfg) -> tuple:
    """A flat profile configuration as a hashable key (list values as tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()))


def _chain(profile: str, seed: int, device: str, activations: tuple, claim: str = "B23"):
    """App. F's chain at ``claim``'s own profile entry (B24's and B25's default to B23's, so the three claims share
    one computed chain unless ``--set`` gives one of them another configuration)."""
    return _chain_at(_frozen(_cfg(claim, profile)), seed, device, activations)


@functools.lru_cache(maxsize=4)
def _chain_at(cfg: tuple, seed: int, device: str, activations: tuple):
    return exp.nonlinear_chain(activations=activations, seed=seed, device=device, **dict(cfg))


def _slopes(df, metric: str) -> dict:
    out = {}
    for a, g in df.groupby("activation"):
        m = g.groupby("width")[metric].mean()
        out[a] = stats.slope(m.index, m.values, logx=True, logy=True)
    return out


#: relative deviation of an App. F chain's floor from a pure d^{-1/2} law across d = 16 .. 256, implied by the spread
#: of [C]'s L-slopes between activations (-0.45 .. -0.53: slope_model_error(16..256, 0.17) = 0.15, the former band's
#: half-width); for odd activations (L = V, the linear chain's law up to the nonlinearity) [C] -0.51 .. -0.52 imply
#: about 0.1 (0.087 over d = 16 .. 256)
ACT_FLOOR_SPREAD, ODD_FLOOR_SPREAD = 0.17, 0.10


def _slope_band(df, metric: str, activation: str, spread: float) -> tuple[float, float]:
    """Half-width of the band around -1/2 for the width slope of ``metric``: the floor model's error over the
    configuration's widths (:func:`rcbench.theory.orthogonality.slope_model_error` with ``spread``) + 3.29 SE of the
    slope, SE from the per-seed slopes / sqrt(seeds). Returns ``(tol, se)``."""
    g = df[df.activation == activation]
    per = g.groupby(["width", "seed"])[metric].mean().unstack("seed")
    x = np.log(per.index.to_numpy(float))
    slopes = np.array([np.polyfit(x, np.log(per[c].to_numpy()), 1)[0] for c in per.columns])
    se = float(slopes.std(ddof=1) / math.sqrt(slopes.size)) if slopes.size > 1 else 0.0
    return T.slope_model_error(per.index.to_numpy(float), spread) + 3.29 * se, se


@pytest.mark.claim("B23", components=("activation",), mutants={
    "linear_activation": "F = identity is the linear chain, for which F.1 is Theorem 1 itself (L = V, slope -1/2): "
                         "the conjecture covers it, BN (not the activation) is the mechanism",
    "tanh_activation": "sound: an odd activation of the kind F.1 and Fig. 6 cover (L-slope -0.52)",
    "relu_activation": "sound: ReLU is one of Fig. 6's own activations (L-slope -0.53 in the default run)",
    "heavy_tailed_activation": "sound: x exp(x^2/8) is odd with finite variance, in F.1's class (F.1 states no "
                               "moment condition), and BN after W F(Q) renormalises its tails; its infinite fourth "
                               "moment removes the finite-width concentration around the mean-field kernel, which "
                               "D9 asserts and F.1 does not (L-slope -0.508 / -0.515 / -0.511 at master seeds 0 / 1 / "
                               "2 vs -1/2 +- 0.16)"})
def test_b23_conjecture_f1_L_floor(record, profile, device, seed, components):
    """Conjecture F.1 (directional; no slope given): for ``Q <- BN(W F(Q))``, ``E[L(Q)] = O(1/sqrt(d))`` after burn-in.

    Paper ordering (not the reproduction's BN(F(WH))), n = 4, literal weights, K pooled over the post-burn-in Grams
    (symmetrised). Slope of log(mean L) against log d in [-0.65, -0.35] for ReLU, tanh, sin and 1 + tanh ([C] -0.53,
    -0.51, -0.51, -0.45); the band is centred on -1/2 and covers [C]'s spread between activations. The published Fig. 6
    plots sin under every label (finding B23, ``rcbench/docs/findings.md``), so this is the test the figure does not make. Negative control (B25):
    the same runs measured with V do not decay for the non-odd activations — a slope near 0 lies outside the band.
    ``--activation`` replaces the four activations by the user's.

    The activation component (declared pair B23/activation): F.1 is stated for a general activation, but what it
    asserts, a d^{-1/2} law for the fluctuation L of the Gram around its stationary mean, needs an activation whose
    output keeps the samples' differences next to what they share. ``rcbench.mutants:square_activation`` (x^2, even)
    removes the sign of the pre-activation: each BN'd feature column (unit norm over the batch) squares to a
    probability vector on the batch, one direction shared by all samples dominates F(Q), and the chain wanders
    between nearly collapsed states instead of concentrating: mean L 0.55 -> 0.32 over d = 16 .. 256, slope -0.222
    against -0.5 +- 0.153 (killed at seed 0). (An offset x + 3 does the same: slope +0.34, mean L 0.005 .. 0.03.)
    The identity, tanh and ReLU keep the law (explained survivors).
    """
    user = components.substituted.get("activation")
    if user:
        df = exp.nonlinear_chain(activations=(components.activation(None),), seed=seed, device=device,
                                 **_cfg("B23", profile))
    else:
        df = _chain(profile, seed, str(device), _F_ACTS)
    record.frame("nonlinear_chain", df)
    fits = _slopes(df, "L")
    top = -0.5
    for a, f in fits.items():
        tol, se = _slope_band(df, "L", a, ACT_FLOOR_SPREAD)
        top = max(top, -0.5 + tol)
        record.check(f"{a}: slope of log mean L vs log d", f.slope, expected=f"-0.5 +- {tol:.3f}",
                     tolerance=f"activation spread over the widths + 3.29 SE ({se:.3f}); [C] -0.45..-0.53",
                     passed=abs(f.slope + 0.5) <= tol)
    if not user:
        vf = _slopes(df, "orthogonality_gap")
        for a in ("relu", "one_plus_tanh"):
            record.check(f"{a}: slope of log mean V (control: V is not the conserved quantity)", vf[a].slope,
                         expected=f"> {top:.3f} (outside the L band)", tolerance="[C] -0.16 / -0.03",
                         passed=vf[a].slope > top, control=True)
    record.verify()


@pytest.mark.claim("B24")
def test_b24_odd_activations_V_floor(record, profile, device, seed):
    """App. F.2 (directional): for odd activations (tanh, sin) V itself has a d^{-1/2} floor, as in Theorem 1.

    For odd F the sign flip of one sample is a symmetry of the chain, so ``K = I/n`` and ``L = V``. Slope of log(mean V)
    vs log d within -1/2 +- (slope_model_error(widths, 0.1) + 3.29 SE) ([C] -0.51, -0.51; 0.087 + SE at d = 16 .. 256,
    the former fixed ±0.1). Negative control: ReLU and 1 + tanh (non-odd) give V-slopes outside the band (above its
    upper end; B25).
    """
    df = record.frame("nonlinear_chain", _chain(profile, seed, str(device), _F_ACTS, "B24"))
    vf = _slopes(df, "orthogonality_gap")
    top = -0.5
    for a in ("tanh", "sin"):
        tol, se = _slope_band(df, "orthogonality_gap", a, ODD_FLOOR_SPREAD)
        top = max(top, -0.5 + tol)
        record.check(f"{a}: slope of log mean V vs log d", vf[a].slope, expected=f"-0.5 +- {tol:.3f}",
                     tolerance=f"odd-activation spread over the widths + 3.29 SE ({se:.3f}); [C] -0.51",
                     passed=abs(vf[a].slope + 0.5) <= tol)
    for a in ("relu", "one_plus_tanh"):
        record.check(f"{a}: V slope (non-odd control)", vf[a].slope, expected=f"> {top:.3f} (outside the band)",
                     tolerance="[C] -0.16 / -0.03", passed=vf[a].slope > top, control=True)
    record.verify()


@pytest.mark.claim("B25")
def test_b25_non_odd_V_does_not_vanish(record, profile, device, seed):
    """App. F, our reading (not a paper claim): for non-odd activations V does not vanish with width.

    ReLU and 1 + tanh: V-slope above -0.25, i.e. closer to 0 (no width law) than to -1/2 ([C] -0.16, -0.03), and the
    mean V at the largest width stays above 0.2 ([C] ReLU 0.26, 1 + tanh 0.69 at d = 256), because E_nu[QQ^T] is not
    I/n (the off-diagonal ratio K_12/K_11 is recorded): as d grows V falls towards V(K) > 0, which does not depend on
    d, so the bound holds at every width above the calibrated ones. Negative control: the odd activations (tanh) on
    the same runs do decay (slope < -0.4, i.e. closer to -1/2 than to 0 by the odd band's margin).
    """
    df = record.frame("nonlinear_chain", _chain(profile, seed, str(device), _F_ACTS, "B25"))
    vf = _slopes(df, "orthogonality_gap")
    dmax = df.width.max()
    for a in ("relu", "one_plus_tanh"):
        g = df[df.activation == a]
        record.check(f"{a}: V slope vs log d", vf[a].slope, expected="> -0.25", tolerance="[C] -0.16 / -0.03",
                     passed=vf[a].slope > -0.25)
        vm = float(g[g.width == dmax].orthogonality_gap.mean())
        record.check(f"{a}: mean V at d={dmax}", vm, expected="> 0.2", tolerance="[C] 0.26 / 0.69", passed=vm > 0.2)
        record.check(f"{a}: K_12/K_11 at d={dmax}", float(g[g.width == dmax].K_offdiag.iloc[0]), expected="!= 0",
                     tolerance="informational", passed=True)
    record.check("tanh: V slope (odd control)", vf["tanh"].slope, expected="< -0.4", tolerance="[C] -0.51",
                 passed=vf["tanh"].slope < -0.4, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B26 — Fig. 5
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B26", components=("norm",), mutants={
    "batchnorm1d_norm": "sound: torch.nn.BatchNorm1d(affine=False) is the claim's own standard (centring) BN of Fig. 5"})
def test_b26_standard_bn_relu(record, profile, device, seed, data_root, components):
    """Fig. 5 (directional; MLP arm): with standard (centring) BN and ReLU the gap falls to a depth-independent level;
    without BN it grows.

    Authors' chain act -> linear -> BN (training-mode BatchNorm without affine), width 100, batch 8, 30 layers,
    Xavier-normal (ReLU gain), 50 runs, synthetic correlated inputs (CIFAR-10 with --data-root). BN: V at layer 30 below
    0.3 and below half the input's V ([C] 0.19 vs 0.63); flat tail (|mean V(30) - mean V(15)| < 0.05, the 50-run SE is
    ~0.01). Negative control, the vanilla arm: V at layer 30 above 0.85 ([C] 0.92) and increasing (Spearman above
    :func:`rcbench.stats.trend_threshold`, 0.58 for 31 layers; was a fixed 0.9). The magnitudes 0.3 and 0.85 are
    Fig. 5's protocol (n = 8: centred BN keeps V >= sqrt(1/(n(n-1))) = 0.134, the rank-(n-1) minimum, and the
    ReLU correlation map, not the width, sets the vanilla level), so they hold for the widths of the grid, not for
    other batch sizes.
    """
    cfg = _cfg("B26", profile)
    norm = components.norm("bn_centered")
    df = record.frame("relu_bn", exp.relu_bn_gap(norm=norm, data_root=data_root, seed=seed, device=device, **cfg))
    m = df.groupby(["arm", "layer"]).orthogonality_gap.mean().unstack(0)
    L = cfg["depth"]
    v0, bnL, bnmid = float(m.loc[0, "bn"]), float(m.loc[L, "bn"]), float(m.loc[L // 2, "bn"])
    record.check("BN: mean V at the last layer", bnL, expected=f"< 0.3 and < 0.5 x input V ({v0:.3f})",
                 tolerance="[C] 0.19 vs 0.63", passed=bnL < 0.3 and bnL < 0.5 * v0)
    record.check("BN: |V(L) - V(L/2)| (depth-independent level)", abs(bnL - bnmid), expected="< 0.05",
                 tolerance="5 x the 50-run SE", passed=abs(bnL - bnmid) < 0.05)
    vL = float(m.loc[L, "vanilla"])
    rho = _spearman(m.index, m["vanilla"])
    record.check("vanilla: mean V at the last layer", vL, expected="> 0.85", tolerance="[C] 0.92",
                 passed=vL > 0.85, control=True)
    rho_min = stats.trend_threshold(len(m))
    record.check("vanilla: Spearman(layer, mean V)", rho, expected=f"> {rho_min:.3f}",
                 tolerance="increasing: no-trend null rejected at 1e-3", passed=rho > rho_min, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B27, B28 — gaps at initialisation (Fig. 3a, Eq. 6)
# ---------------------------------------------------------------------------------------------------------------
def _init_gaps(profile: str, seed: int, device: str, data_root, claim: str = "B27"):
    """The initial gaps at ``claim``'s own profile entry (B28's defaults to B27's: one shared computation)."""
    return _init_gaps_at(_frozen(_cfg(claim, profile)), seed, device, data_root)


@functools.lru_cache(maxsize=2)
def _init_gaps_at(cfg: tuple, seed: int, device: str, data_root):
    return exp.initial_gap(data_root=data_root, seed=seed, device=device, **dict(cfg))


@pytest.mark.claim("B27", components=("init",), mutants={
    "gaussian_init": "another vanilla i.i.d. init: the initial gap of a ReLU net rises with depth through the ReLU "
                     "correlation map, whatever the weight law (V is scale-invariant, so the missing ReLU gain "
                     "does not matter); a user's orthogonalising init (B28's Eq. 6) is what breaks it",
    "orthogonal_init": "Haar weights keep the ReLU correlation map, so the gap still rises with depth (measured "
                       "survivor); only a data-dependent init such as Eq. (6) removes the rise (the B28 control)"})
def test_b27_initial_gap_rises_with_depth(record, profile, device, seed, data_root, components):
    """Fig. 3a gap curve (directional, no training): the initial gap of a vanilla ReLU MLP (Xavier) rises with depth.

    Proxy: width 64, input 128 -> 64 on synthetic correlated data (CIFAR-10 with --data-root), depths counted as the
    authors (all linear layers), Eq. (2) V of the last hidden layer on a fresh batch of 32 ([C] 0.90 -> 0.98 at depths
    10 -> 40). Asserted: the seed-mean gap increases from the shallowest to the deepest depth by more than 2 standard
    errors of the difference (Spearman(depth, mean gap) >= 0.9 when there are more than two depths, the paper
    profile). The authors' logit measure is recorded too (finding B27, ``rcbench/docs/findings.md``). Negative control: the Eq. (6) net at the same
    depths stays low (mean gap < 0.5 at the deepest depth), so depth alone does not force the rise.

    The init component (declared pair B27/init): the rise comes from full-rank random weights whose ReLU correlation
    map contracts the samples' angles a little at every layer. Any such i.i.d. law keeps it (``gaussian_init``,
    ``orthogonal_init``: explained survivors). ``rcbench.mutants:low_rank_init`` (rank-one ``a b^T``) removes that
    property: each layer maps every sample onto one direction, the ReLU splits them into at most two groups, and the
    groups merge for good within a few layers (with probability 1/2 per layer), so the gap is already at its
    rank-one value sqrt(1 - 1/n) = 0.984 at the shallowest depth and does not rise: measured gap(40) - gap(10) = 0.0
    exactly at seed 0 (killed; the Eq. (6) control fails too, 0.78, because the rank-one input layer leaves Eq. (6)
    nothing to orthogonalise).
    """
    user = components.substituted.get("init")
    if user:
        df = exp.initial_gap(data_root=data_root, init=components.init(None), seed=seed, device=device,
                             **_cfg("B27", profile))
    else:
        df = _init_gaps(profile, seed, str(device), data_root)
    record.frame("initial_gaps", df)
    xa = df[df.variant == "xavier"]
    g = xa.groupby("depth").gap
    mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.count())
    lo, hi = mean.index.min(), mean.index.max()
    diff = float(mean[hi] - mean[lo])
    se_diff = float(math.hypot(se[lo], se[hi]))
    record.check(f"Xavier gap({hi}) - gap({lo}) (seed means)", diff, expected=f"> 2 SE = {2 * se_diff:.3f}",
                 tolerance="[C] 0.90 -> 0.98; two-sample 2 SE", passed=diff > 2 * se_diff)
    if len(mean) > 2:
        rho = _spearman(mean.index, mean.values)
        record.check("Spearman(depth, mean Xavier gap)", rho, expected=">= 0.9", tolerance="directional",
                     passed=rho >= 0.9)
    lg = xa.groupby("depth").logit_gap.mean()
    record.check("Xavier logit gap by depth (authors' measure)", lg.round(4).to_dict(), expected="informational",
                 tolerance="the authors' logit measure (finding B27)", passed=True)
    orth = df[df.variant == "paper"].groupby("depth").gap.mean()
    record.check(f"Eq. (6) gap at depth {hi} (control)", float(orth[hi]), expected="< 0.5",
                 tolerance="[C] 0.43-0.50", passed=float(orth[hi]) < 0.5, control=True)
    record.verify()


@pytest.mark.claim("B28")
def test_b28_iterative_init_keeps_gap_low(record, profile, device, seed, data_root):
    """Eq. (6), App. E (no training): the iterative orthogonalisation keeps the initial gap low at every depth.

    Same proxy as B27. For the paper's variant (Sigma^{-1/2}, QR'd V') and the authors' code variant (Sigma^{-1},
    literal slice): seed-mean gap < 0.7 at every depth and at least 0.3 below Xavier's ([C] 0.37-0.51 vs 0.90-0.98).
    The literal-slice Sigma^{-1/2} variant is recorded. Dead ReLU units in the init batch are handled by a
    pseudo-inverse (the paper assumes a full-rank batch). Negative control (regression): the reproduction's
    transposition bug does not orthogonalise — seed-mean gap > 0.85 at every depth ([C] 0.984).
    """
    df = record.frame("initial_gaps", _init_gaps(profile, seed, str(device), data_root, "B28"))
    m = df.groupby(["variant", "depth"]).gap.mean()
    for v in ("paper", "code"):
        for depth in sorted(df.depth.unique()):
            g, x = float(m[(v, depth)]), float(m[("xavier", depth)])
            record.check(f"{v}: mean gap at depth {depth} (Xavier {x:.3f})", g, expected="< 0.7 and <= Xavier - 0.3",
                         tolerance="[C] 0.37-0.51 vs 0.90-0.98", passed=g < 0.7 and g <= x - 0.3)
    record.check("paper_literal: mean gap by depth", m["paper_literal"].round(4).to_dict(), expected="informational",
                 tolerance="[C] 0.37-0.38", passed=True)
    for depth in sorted(df.depth.unique()):
        g = float(m[("reproduction", depth)])
        record.check(f"reproduction (bug): mean gap at depth {depth}", g, expected="> 0.85", tolerance="[C] 0.984",
                     passed=g > 0.85, control=True)
    record.check("reproduction: dead networks (all-zero last layer) per depth",
                 df[df.variant == "reproduction"].groupby("depth").dead.sum().to_dict(), expected="informational",
                 tolerance="gap set to its rank-one limit", passed=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B29-B31 — SGD on vanilla ReLU MLPs (Figs. 3, 4)
# ---------------------------------------------------------------------------------------------------------------
def _train(profile: str, claim: str, seed: int, device: str, data_root, depth: int, variant: str):
    """One (depth, variant) training run; B29 and B31 share the Xavier runs when their settings coincide (a run
    depends only on its own depth, variant and seeds)."""
    cfg = _cfg(claim, profile)
    cfg.pop("depths"), cfg.pop("variants", None)
    return _train_cached(seed, device, data_root, depth, variant, tuple(sorted(cfg.items())))


@functools.lru_cache(maxsize=16)
def _train_cached(seed, device, data_root, depth, variant, cfg_items):
    return exp.training_loss_vs_depth(depths=(depth,), variants=(variant,), data_root=data_root, seed=seed,
                                      device=device, **dict(cfg_items))


def _final(df):
    return df[df.epoch == df.epoch.max()].set_index("seed").loss


@pytest.mark.claim("B29", components=("init",))
def test_b29_training_slows_with_depth(record, profile, device, seed, data_root, components):
    """Fig. 3a (directional): SGD training loss after a fixed budget rises with depth (vanilla ReLU MLP, Xavier).

    Quick: digits (CIFAR-10 with --data-root), width 64, depths 5 and 30 (all linear layers), SGD lr 0.01, batch 50,
    10 epochs, 3 seeds; loss = the authors' running average over the last epoch. Asserted: Spearman(depth, seed-mean
    final loss) > 0 and the deepest net ends above the shallowest in at least 3/4 of the seeds ([T] 0.65 -> 1.38 on
    CIFAR-10). Negative control: the shallowest net trains normally (final loss below half its first-epoch loss).
    """
    cfg = _cfg("B29", profile)
    user = components.substituted.get("init")
    if user:
        c = dict(cfg)
        df = exp.training_loss_vs_depth(init=components.init(None), data_root=data_root, seed=seed, device=device, **c)
    else:
        df = pd.concat([_train(profile, "B29", seed, str(device), data_root, d, "xavier") for d in cfg["depths"]])
    record.frame("loss_vs_depth", df)
    fin = df[df.epoch == df.epoch.max()].pivot(index="seed", columns="depth", values="loss")
    mean = fin.mean()
    lo, hi = min(cfg["depths"]), max(cfg["depths"])
    rho = _spearman(mean.index, mean.values)
    record.check("Spearman(depth, seed-mean final loss)", rho, expected="> 0", tolerance="directional", passed=rho > 0)
    frac = float((fin[hi] > fin[lo]).mean())
    record.check(f"fraction of seeds with loss({hi}) > loss({lo})", frac, expected=">= 0.75",
                 tolerance="paper: >= 3/4 seeds", passed=frac >= 0.75)
    record.check("seed-mean final loss by depth", mean.round(4).to_dict(), expected="rising",
                 tolerance="effect size", passed=True)
    first = df[(df.depth == lo) & (df.epoch == 1)].set_index("seed").loss
    ok = bool((fin[lo] < 0.5 * first).all())
    record.check(f"depth {lo}: final / first-epoch loss (control: trains)", (fin[lo] / first).round(4).tolist(),
                 expected="< 0.5 every seed", tolerance="directional", passed=ok, control=True)
    record.verify()


@pytest.mark.claim("B30")
def test_b30_sgd_orthogonalizes(record, profile, device, seed, data_root):
    """Fig. 3b (directional): SGD orthogonalises — the gap of the last hidden layer shrinks during training.

    Quick: depth 20 vanilla ReLU MLP (Xavier), width 64, digits, 10 epochs, 3 seeds; Eq. (2) gap of the last hidden
    layer on a fresh batch of 64 after every epoch ([T] 0.82 -> 0.61 at width 800). Asserted on the seed-mean
    curve (6 seeds): gap(last epoch) < gap(epoch 1) and < gap(init), and Spearman(epoch, gap) below
    -:func:`rcbench.stats.trend_threshold` at level 1e-2 (-0.736 for 11 points). Changed after the out-of-sample
    audit (seeds 21-40: 3 of 20 runs failed with 3 seeds, the endpoint check "in every seed" twice and the former,
    not derived, Spearman < -0.7 once): per-seed endpoints are noisy at width 64 and are recorded, not asserted;
    6 seeds halve the variance of the mean curve. The authors' logit
    measure is recorded. Negative control: an untrained copy on the same batches keeps its gap (|change| < 0.05 per
    seed: batch-to-batch sd ~0.005 here; its rank trend is recorded, being noise only).
    """
    df, loss = exp.gap_during_training(data_root=data_root, seed=seed, device=device, return_loss=True,
                                       **_cfg("B30", profile))
    record.frame("gap_during_training", df)
    record.frame("loss", loss)
    tr = df[df.arm == "trained"].pivot(index="epoch", columns="seed", values="gap")
    un = df[df.arm == "untrained"].pivot(index="epoch", columns="seed", values="gap")
    last = tr.index.max()
    record.check("trained gap: init -> epoch 1 -> last (seed means)",
                 [float(tr.loc[0].mean()), float(tr.loc[1].mean()), float(tr.loc[last].mean())],
                 expected="decreasing", tolerance="[T] 0.82 -> 0.61", passed=True)
    mean = tr.mean(axis=1)
    ok = bool(mean.loc[last] < mean.loc[1] and mean.loc[last] < mean.loc[0])
    n_ok = int(((tr.loc[last] < tr.loc[1]) & (tr.loc[last] < tr.loc[0])).sum())
    record.check("seed-mean gap(last) < gap(epoch 1) and < gap(init)", ok, expected=True,
                 tolerance="directional", passed=ok, note=f"{n_ok} of {tr.shape[1]} seeds individually")
    rho, rho_max = _spearman(tr.index, mean), -stats.trend_threshold(len(tr), alpha=0.01)
    record.check("Spearman(epoch, seed-mean gap)", rho, expected=f"< {rho_max:.3f}",
                 tolerance="decreasing: no-trend null rejected at 1e-2", passed=rho < rho_max)
    lg = df[df.arm == "trained"].groupby("epoch").logit_gap.mean()
    record.check("trained logit gap: init -> last (authors' measure)", [float(lg.iloc[0]), float(lg.iloc[-1])],
                 expected="informational", tolerance="the authors' logit measure (finding B27)", passed=True)
    change = float((un.loc[last] - un.loc[0]).abs().max())
    rho_u = _spearman(un.index, un.mean(axis=1))
    record.check("untrained copy: max |gap(last) - gap(init)|", change, expected="< 0.05",
                 tolerance="10 x the batch-to-batch sd", passed=change < 0.05, control=True)
    record.check("untrained copy: Spearman(epoch, mean gap)", rho_u, expected="informational",
                 tolerance="batch noise only (changes ~0.003)", passed=True, control=True)
    record.verify()


@pytest.mark.claim("B31")
def test_b31_orthogonal_init_alleviates_slowdown(record, profile, device, seed, data_root):
    """Fig. 4 (directional; no speed-up number in the paper): the iterative orthogonal init trains deep vanilla ReLU
    MLPs faster than Xavier.

    Quick: depth 30 (the depth where B29 shows the slowdown), width 64, digits, SGD lr 0.01, 10 epochs, 3 seeds; init
    batch 3 x width training samples, hidden layers only. Paper profile: depths 15-75 on CIFAR-10, asserted at the
    depths >= 60 (as Fig. 4). Asserted for the paper's Sigma^{-1/2} and the authors' Sigma^{-1}: seed-mean final loss
    below Xavier's; the ratio is recorded, no magnitude asserted. Negative control: the reproduction's buggy init
    does not help (its final loss stays >= 0.75 x Xavier's; the reproduction's Fig. 4 failure, see B31 in ``rcbench/docs/claims/B.md``). In 3 of
    20 out-of-sample audit runs (seeds 21-40) its float32 SGD training diverged (NaN at the forward pass): that is
    recorded as the control's outcome (a diverging init does not help), never as loss data.
    """
    cfg = _cfg("B31", profile)
    depths = [d for d in cfg["depths"] if d >= 60] or [max(cfg["depths"])]
    for depth in depths:
        runs, diverged = {}, {}
        for v in cfg["variants"]:
            try:
                runs[v] = _train(profile, "B31", seed, str(device), data_root, depth, v)
            except NumericalDivergence as exc:
                if v != "reproduction":
                    raise
                diverged[v] = str(exc)  # the buggy init's training blew up: recorded as an outcome, not as data
        fins = {v: _final(df) for v, df in runs.items()}
        record.frame(f"loss_depth{depth}", pd.concat(list(runs.values())))
        x = float(fins["xavier"].mean())
        for v in ("paper", "code"):
            f = float(fins[v].mean())
            record.check(f"depth {depth}: {v} / Xavier seed-mean final loss", f / x, expected="< 1",
                         tolerance=f"directional ({v} {f:.4f} vs Xavier {x:.4f})", passed=f < x)
        if "reproduction" in diverged:
            record.check(f"depth {depth}: reproduction / Xavier final loss (control)", "diverged", expected=">= 0.75",
                         tolerance="the buggy init does not help; its training diverged: "
                         + diverged["reproduction"], passed=True, control=True)
        else:
            r = float(fins["reproduction"].mean())
            record.check(f"depth {depth}: reproduction / Xavier final loss (control)", r / x, expected=">= 0.75",
                         tolerance="the buggy init does not help", passed=r >= 0.75 * x, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B32 — ConvNets (Fig. 7)
# ---------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _conv(profile: str, seed: int, device: str, data_root):
    return exp.convnet_training(data_root=data_root, seed=seed, device=device, **_cfg("B32", profile))


def _conv_final(df):
    fin = df[df.epoch == df.epoch.max()]
    return fin.groupby(["convs", "variant"]).loss.mean()


@pytest.mark.claim("B32")
def test_b32_convnet_orth_faster_at_80(record, profile, device, seed, data_root):
    """Fig. 7 / App. G, deep half (directional): at 80 conv layers the SVD init (Sigma^{-1/2} on im2col) trains faster
    than Xavier.

    Scaled down for the CPU: 8 channels on 8x8 digits (600 images), 2 epochs, SGD lr 0.01, batch 30, 2 seeds (paper:
    Table 3 nets with 256 channels on CIFAR-10, lr 0.001, 20 epochs, 4 seeds — the paper profile). Asserted: seed-mean
    final loss(orth) < final loss(Xavier) at the deepest net. Negative control: the Xavier 80-conv net does not train
    at this budget (final loss within 0.01 of log 10 = 2.3026), so any decrease comes from the init.
    """
    df = record.frame("convnet", _conv(profile, seed, str(device), data_root))
    m = _conv_final(df)
    deep = df.convs.max()
    o, x = float(m[(deep, "paper")]), float(m[(deep, "xavier")])
    record.check(f"{deep} convs: orth vs Xavier seed-mean final loss", [o, x], expected="orth < Xavier",
                 tolerance="directional", passed=o < x)
    if profile == "quick":
        record.check(f"{deep} convs: Xavier final loss (control: stuck at log 10)", x, expected="> 2.29",
                     tolerance="log 10 - 0.01", passed=x > math.log(10) - 0.013, control=True)
    record.verify()


@pytest.mark.claim("B32")
@pytest.mark.xfail(strict=True, reason="CPU scale: at 20 convs the SVD init is not significantly slower than Xavier — "
                   "seed-mean final loss after 2 epochs orth 2.27 vs Xavier 2.30 (8 channels, 8x8 digits; the sign of "
                   "the difference changes with the master seed); the paper's slowdown of the 20-layer net needs its "
                   "CIFAR-10 scale (256 channels, 20 epochs), where Xavier trains")
def test_b32_convnet_orth_slower_at_20(record, profile, device, seed, data_root):
    """Fig. 7 / App. G, shallow half (directional): at 20 conv layers the SVD init trains *slower* than Xavier (the
    paper reports this slowdown). Asserted on the same runs as the deep half: the one-sided 95% lower confidence
    bound of the per-seed difference final loss(orth) - final loss(Xavier) at the shallowest net is > 0, i.e. the
    slowdown is significant, not a coin flip. (A bare sign test flipped with the master seed in the audit, which
    made a strict xfail unstable; the confidence bound makes the verdict a property of the experiment.) Level 1e-3,
    not 0.05: a 95% bound passes by chance in 1 of 20 runs when there is no slowdown, and the out-of-sample audit
    (seeds 21-40) saw 2 of 20 strict-xfail runs pass; at 99.9% a run without a slowdown passes with probability
    1e-3 (exact for normal paired differences), so an XPASS means a real, consistent slowdown."""
    df = record.frame("convnet", _conv(profile, seed, str(device), data_root))
    m = _conv_final(df)
    shallow = df.convs.min()
    o, x = float(m[(shallow, "paper")]), float(m[(shallow, "xavier")])
    fin = df[(df.epoch == df.epoch.max()) & (df.convs == shallow)]
    per_seed = fin.groupby(["seed", "variant"]).loss.mean().unstack()
    diff = (per_seed["paper"] - per_seed["xavier"]).to_numpy()
    lcb = stats.lower_confidence_bound(diff, confidence=0.999) if diff.size > 1 else -math.inf
    record.check(f"{shallow} convs: 99.9% lower bound of loss(orth) - loss(Xavier) over seeds", lcb, expected="> 0",
                 tolerance="one-sided t bound over paired seeds, level 1e-3", passed=lcb > 0,
                 note=f"seed means orth {o:.4f}, Xavier {x:.4f}")
    record.verify()
