"""Figures of paper B (Daneshmand, Joudaki, Bach 2021, *BN orthogonalizes representations*): claims B1-B32.

The orthogonality gap ``V(H) = ‖H Hᵀ/‖H‖²_F − I_n/n‖_F`` is drawn on log axes as in Fig. 2; the paper's numbers
(Fig. 2b's slope −0.46, Thm 1's bound, Lemma 4's constants) are dashed, vanilla or buggy arms grey and dotted.
Lemma-level identities (B1-B4, B18) are drawn as their largest deviation against the tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from rcbench.report.plotting import (
    COLORS,
    CONTROL,
    figure,
    finish,
    hline,
    identity_figure,
    integer_axis,
    log_axis,
    new_figure,
    paper,
    reference,
    seed_band,
    seeds_text,
    width_axis,  # fmt: skip
)

V = "orthogonality gap V (log)"
ACT = {"relu": "ReLU", "tanh": "tanh", "sin": "sin", "one_plus_tanh": "1 + tanh"}


def _fit(xs, ys) -> tuple[float, float]:
    k, c = np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)
    return float(k), float(c)


def _interval(text) -> tuple[float, float] | None:
    """``"[-1.9, -1.4]"`` -> (-1.9, -1.4)."""
    t = str(text)
    if "[" not in t:
        return None
    parts = t[t.index("[") + 1: t.index("]")].split(",")
    try:
        return float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        return None


def _arm(data, arm: str) -> str:
    return {"bn": data.role("BN", "norm", "diag(M Mᵀ)^−½ M"), "vanilla": "control: vanilla (no BN)"}.get(arm, arm)


# ---------------------------------------------------------------------------------------------------------------
# identities (B1-B4)
def _pair(data, pattern) -> list[float]:
    rows = data.check_rows(pattern)
    if not len(rows):
        return []
    try:
        return [float(v) for v in str(rows["measured"].iloc[0]).strip("[]").split(",")]
    except ValueError:
        return []


@figure("B1")
def b1_identities(data):
    specs = [("V = 0, orthogonal equal-norm H", r"\(orthogonal\)", "absmax", None, False),
             ("V = √(1 − 1/n), rank one", r"\(rank_one\)", "absmax", None, False),
             ("V(cH) = V(H)", r"\(scale\)", "absmax", None, False),
             ("V(H O) = V(H), O orthogonal", r"\(rotation\)", "absmax", None, False),
             ("V² = Σσᵢ⁴ − 1/n, ‖H‖_F = 1", r"\(sigma4\)", "absmax", None, False),
             ("V against the closed form", r"\(theory\)", "absmax", None, False)]  # fmt: skip
    pair = _pair(data, r"^V\(sample Gram\)")
    vs = f" ({pair[0]:.2f} vs {pair[1]:.2f})" if len(pair) == 2 else ""
    return identity_figure(data, specs, ylabel="identity (§3.2 Eq. 2)",
                           caption="B1: every identity of the gap V holds to float64 round-off (ticks: the 1e-10 "
                                   "tolerance); control: V of the sample Gram and of the feature Gram differ"
                                   f"{vs}, so the layout matters.")  # fmt: skip


@figure("B2")
def b2_norm(data):
    specs = [(data.role("‖H_ℓ‖²_F = 1 after every layer", "norm", "BN"), r"^max_\{l>=1\} \| \|\|H_l", "absmax", None,
              False),
             ("without the 1/√d: ‖H‖²_F = d", r"^without 1/sqrt", "absmax", None, False),
             ("control: vanilla drift of ‖H_ℓ‖²_F", r"^vanilla: max relative drift", "absmax", 0.05, True)]  # fmt: skip
    return identity_figure(data, specs, ylabel="App. A.2 Eq. (10)", left=2.6,
                           caption="B2: after every BN layer ‖H_ℓ‖²_F = 1 to round-off (bars at ~1e-16, ticks: the "
                                   "1e-12 tolerance); the vanilla chain's norm drifts (grey bar beyond its 0.05 tick), "
                                   "so the check can fail.")  # fmt: skip


@figure("B3")
def b3_lemma4(data):
    df = data.frame("lemma4")
    fig, (ax,) = new_figure(w=3.3, right=2.9)
    for fam, st in (("random", {"color": COLORS[0], "s": 5, "alpha": 0.35}),
                    ("extremal", {"color": COLORS[1], "s": 12, "marker": "^"})):  # fmt: skip
        g = df[df.family == fam]
        ax.scatter(g.n, g.ratio_tight, label=f"{fam} H: V / (√(n(n−1)) V̂)", **st)
        ax.scatter(g.n, g.ratio_2n, s=5, alpha=0.35, color="0.55" if fam == "random" else "0.3",
                   marker="o" if fam == "random" else "v", label=f"{fam} H: V / (2n V̂)")  # fmt: skip
    hline(ax, 1, "bound (Lemma 4; tight constant √(n(n−1)))")
    hline(ax, 0.99, "0.99: the extremal family exceeds it", color="0.5", ls=":")
    finish(ax, "batch size n", "ratio to the bound", title="App. A.3 Lemma 4: V ≤ 2n V̂", loc="upper left",
           outside=True)
    return [("B3: every sampled matrix stays below the bound; the extremal family attains √(n(n−1)) V̂ (ratio 1), "
             f"so the tight constant cannot be lowered, while 2n is loose (ratio ≤ {df.ratio_2n.max():.2f}).", fig)]


@figure("B4")
def b4_lemma8(data):
    df = data.frame("lemma8")
    fig, (ax,) = new_figure(w=3.6)
    ax.scatter(df.sigma_n2, df.left / df.middle, s=6, color=COLORS[0], alpha=0.5, label="(1/n − p_n) / middle")
    ax.scatter(df.sigma_n2, df.right / df.middle, s=6, color=COLORS[1], alpha=0.5,
               label="(1 − ⅔σ_n²) V̂ / middle")  # fmt: skip
    hline(ax, 1, "middle = (1 − 2nσ_n²/(n+2))(1/n − σ_n²)")
    finish(ax, "σ_n², smallest squared singular value", "ratio to the middle term", loc="upper left",
           title="Lemma 8(c): left ≤ middle ≤ right")  # fmt: skip
    specs = [("|Σ p − 1|", r"sum p - 1", "absmax", None, False),
             ("(1/n − p_n) − middle", r"\(1/n - p_n\) - middle", "violation_above", 1e-8, False),
             ("middle − (1 − ⅔σ_n²) V̂", r"middle - \(1 - 2", "violation_above", 1e-8, False),
             ("trapezoid vs quad_vec", r"p_trapezoid", "absmax", None, False)]  # fmt: skip
    bars = identity_figure(data, specs, ylabel="quadrature check", left=2.0,
                           caption="B4 (quadrature): Σp = 1 and both inequalities hold to round-off (0 = never "
                                   "violated; ticks: tolerances).")  # fmt: skip
    return [("B4: with Sawa's integral the chain 1/n − p_n ≤ middle ≤ (1 − ⅔σ_n²)V̂ holds for every spectrum: both "
             "ratios lie on their side of 1, and meet at 1 near isotropy (σ_n² → 1/n).", fig)] + bars


@figure("B5")
def b5_contraction(data):
    fig, axes = new_figure(2, w=2.9)
    ax = axes[0]
    lr = data.frame("linear_response")
    ax.plot(lr.n, lr.ratio, "o", color=COLORS[0], label="measured linear response")
    ns = np.linspace(lr.n.min(), lr.n.max(), 30)
    reference(ax, ns, ns / (ns + 2), "n / (n + 2)")
    reference(ax, ns, 1 - 2 / (3 * ns), "control: 1 − 2/(3n) (Thm 1's rate)", ls=":", color="0.55")
    finish(ax, "batch size n", "per-layer contraction of V", title="near isotropy, d → ∞", loc="lower right")
    ax = axes[1]
    if data.has("mean_field"):
        mf = data.frame("mean_field").dropna(subset=["ratio"])
        ax.plot(mf.step, mf.ratio, "o-", color=COLORS[0], label="iterated map, n = 4")
        hline(ax, 2 / 3, "n/(n+2) = 2/3")
        hline(ax, 1 - 2 / 12, "control: 1 − 2/(3n) = 0.833", color="0.55", ls=":")
        finish(ax, "step", "V ratio per step", title="mean-field map", loc="upper right")
    return [("B5: near isotropy V shrinks by n/(n+2) per layer (0.667 for n = 4, dashed), not by Thm 1's worst-case "
             "1 − 2/(3n) (dotted); a derived consequence, not stated in the paper.", fig)]


@figure("B6")
def b6_one_layer(data):
    df = data.frame("one_layer")
    fig, (ax,) = new_figure(w=3.5)
    styles = {"paper": ("Eq. (6), paper", {"color": COLORS[0], "marker": "o"}),
              "paper_literal": ("Eq. (6), literal", {"color": COLORS[2], "marker": "s"}),
              "code": ("authors' code", {"color": COLORS[3], "marker": "^"}),
              "reproduction": ("control: the reproduction's transpose bug", {"color": "0.5", "marker": "x"})}
    for v, (lab, st) in styles.items():
        g = df[df.variant == v].dropna(subset=["feature_gap_in", "feature_gap_out"])
        if len(g):
            ax.scatter(g.feature_gap_in, g.feature_gap_out, s=8, alpha=0.6, label=lab, **st)
    lo = float(np.nanmin(df[["feature_gap_in", "feature_gap_out"]].to_numpy()))
    hi = float(np.nanmax(df[["feature_gap_in", "feature_gap_out"]].to_numpy()))
    reference(ax, [lo, hi], [lo, hi], "no change (gap out = gap in)")
    finish(ax, "feature gap before the layer", "feature gap after one layer", loc="upper left",
           title="App. E, §5.2 Eq. (6)")  # fmt: skip
    return [("B6: one iterative-orthogonalisation layer lowers the gap of every matrix (points below the diagonal), "
             "in the paper's and the code's variants; the transpose bug does not (grey crosses on the diagonal).",
             fig)]  # fmt: skip


@figure("B7")
def b7_whitening(data):
    df = data.frame("whitening").assign(gap=lambda d: d.orthogonality_gap.clip(lower=1e-17))
    fig, (ax,) = new_figure(w=3.4)
    seed_band(ax, df[df.norm == "whitening"], "layer", "gap", label="full whitening (M Mᵀ)^(+½) M", color=COLORS[0])
    seed_band(ax, df[df.norm == "bn"], "layer", "gap", label="control: diagonal BN", **CONTROL)
    hline(ax, 1e-8, "tolerance 1e-8")
    log_axis(ax)
    finish(ax, "depth ℓ", V, title="remark after Thm 1", loc="center right")
    return [("B7: full whitening makes the gap 0 (round-off, ~1e-16) from the first layer on; diagonal BN only "
             f"decays to its width floor ({seeds_text(df)}).", fig)]


def _one_step(data):
    return data.frame("one_step_summary")


def _by_width(ax, s, col, *, se=None, label_fmt="{kind}, n = {n}"):
    for i, ((n, kind), g) in enumerate(s.groupby(["n", "kind"])):
        g = g.sort_values("width")
        st = {"color": COLORS[i % len(COLORS)], "marker": "os^"[i % 3], "ms": 3.5}
        if se is not None:
            ax.errorbar(g.width, g[col], yerr=3 * g[se], capsize=2, lw=1, label=label_fmt.format(kind=kind, n=n), **st)
        else:
            ax.plot(g.width, g[col], lw=1, label=label_fmt.format(kind=kind, n=n), **st)


@figure("B8")
def b8_lemma6(data):
    s = _one_step(data)
    fig, (ax,) = new_figure(w=3.2, right=2.6)
    _by_width(ax, s, "dev2_times_d")
    hline(ax, 1, "Lemma 6 bound: d E‖C − E C‖²_F ≤ 1")
    width_axis(ax, s.width.unique())
    finish(ax, "width d (log)", "d · E_W ‖C − E_W C‖²_F", title="App. B Lemma 6 (Monte Carlo)", outside=True)
    return [("B8: the one-step Gram fluctuation times d stays below Lemma 6's 1 for every input kind, batch size and "
             f"width (max {s.dev2_times_d.max():.2f}), and is not zero (the noise the floor comes from).", fig)]


@figure("B9")
def b9_lemma7(data):
    s = _one_step(data)
    fig, (ax,) = new_figure(w=3.2, right=2.6)
    _by_width(ax, s, "lemma7_times_d")
    hline(ax, 1, "Lemma 7 bound: 1")
    hline(ax, 0.1, "power: the largest must exceed 0.1", color="0.5", ls=":")
    width_axis(ax, s.width.unique())
    finish(ax, "width d (log)", "d · E[(V̂′ − (1/n − p_n))²]", title="App. B Lemma 7 (Monte Carlo)",
           outside=True)  # fmt: skip
    return [("B9: d times the mean squared deviation of V̂′ from 1/n − p_n stays below Lemma 7's 1 at every width.",
             fig)]


@figure("B10")
def b10_theorem5(data):
    s = _one_step(data)
    fig, (ax,) = new_figure(w=3.2, right=2.0)
    for i, ((n, kind), g) in enumerate(s.groupby(["n", "kind"])):
        ax.errorbar(g.thm5_rhs, g.vhat_next, yerr=3 * g.vhat_next_se, fmt="os^"[i % 3], ms=3.5, capsize=2,
                    color=COLORS[i % len(COLORS)], label=f"{kind}, n = {n}")  # fmt: skip
    lo, hi = float(s.thm5_rhs.min()), float(s.thm5_rhs.max())
    reference(ax, [lo, hi], [lo, hi], "Thm 5 bound (mean V̂′ = rhs)")
    log_axis(ax, "x")
    log_axis(ax)
    finish(ax, "Thm 5 right-hand side (1 − ⅔σ_n²) V̂ + 1/√d (log)", "mean V̂′ ± 3 SE (log)", outside=True,
           title="App. B Thm 5: one-step drift")  # fmt: skip
    return [("B10: every configuration lies below the diagonal: the one-step mean V̂′ (+3 SE) never exceeds Thm 5's "
             "bound; without the 1/√d term the bound fails (B11).", fig)]


@figure("B11")
def b11_noise_term(data):
    s = _one_step(data)
    orth = s[s.kind == "orthogonal"].copy()
    orth["excess"] = orth.vhat_next - orth.drift_no_noise
    fig, (ax,) = new_figure(w=3.4)
    for i, (n, g) in enumerate(orth.groupby("n")):
        g = g.sort_values("width")
        ax.errorbar(g.width, g.excess, yerr=3 * g.vhat_next_se, fmt="o-", ms=3.5, capsize=2, color=COLORS[i],
                    label=f"near-orthogonal H, n = {n}")  # fmt: skip
    xs = np.array(sorted(orth.width.unique()), float)
    g0 = orth[orth.n == orth.n.min()].sort_values("width")
    reference(ax, xs, float(g0.excess.iloc[0]) * np.sqrt(xs[0] / xs), "1/√d scaling")
    width_axis(ax, xs)
    log_axis(ax)
    finish(ax, "width d (log)", "mean V̂′ − (1 − ⅔σ_n²) V̂ (log)", title="the noise term pushes V̂ up",
           loc="upper right")  # fmt: skip
    return [("B11: near isotropy the weight noise raises V̂ above the no-noise drift by an excess that falls like "
             "1/√d (dashed): the 1/√d term of Thm 5 is needed, and is a finite-width effect.", fig)]


# ---------------------------------------------------------------------------------------------------------------
# Fig. 2 and the floor (B12-B17)
@figure("B12")
def b12_fig2a(data):
    df = data.frame("bn_chain")
    df = df[df.orthogonality_gap > 0].assign(logV=lambda d: np.log(d.orthogonality_gap))
    fig, (ax,) = new_figure(w=3.4, right=2.6)
    widths = sorted(df.width.unique())
    for i, w in enumerate(widths):
        seed_band(ax, df[df.width == w], "layer", "logV", label=f"{_arm(data, 'bn')}, d = {w}", color=COLORS[i],
                  marker=None)  # fmt: skip
        band = _interval(data.check_rows(rf"^plateau mean log V, d={w}$")["expected"].iloc[0]) \
            if len(data.check_rows(rf"^plateau mean log V, d={w}$")) else None
        if band:
            ax.axhspan(*band, xmin=0.5, color=COLORS[i], alpha=0.08, lw=0)
    if data.has("literal"):
        lit = data.frame("literal")
        lit = lit[lit.orthogonality_gap > 0].assign(logV=lambda d: np.log(d.orthogonality_gap))
        seed_band(ax, lit, "layer", "logV", label="literal weights (sampler control), d = %d" % lit.width.iloc[0],
                  band=False, color="0.35", ls=":", marker=None)  # fmt: skip
    ax.plot([1], [-0.144], marker="x", color="black", ms=6, ls="none", label="expected at layer 1: −0.144 (calibrated)")
    ax.plot([], [], color="0.5", lw=6, alpha=0.25, label="judged plateau band (layers ≥ 25)")
    finish(ax, "depth ℓ", "mean log V", title="Fig. 2a: log V against depth", outside=True)
    return [("B12: log V falls linearly for the first layers, then plateaus at a width-dependent floor (shaded: the "
             "bands judged; the floors differ by ½ log 16 = 1.39 between d = 32 and 512, as d^(−½) predicts).", fig)]


@figure("B13")
def b13_fig2b(data):
    fig, (ax,) = new_figure(w=3.8)
    slopes = []
    xs = None
    for i, (name, lab) in enumerate((("authors_layer_mean", "authors' input, layers 1–500"),
                                     ("random_layer_mean", "Gaussian input, after burn-in"))):  # fmt: skip
        if not data.has(name):
            continue
        per = data.frame(name)
        m = per.groupby("width").orthogonality_gap.mean()
        xs = m.index.to_numpy(float)
        k, c = _fit(xs, m.values)
        slopes.append(k)
        ax.scatter(per.width * (1 + 0.03 * (i - 0.5)), per.orthogonality_gap, s=5, color=COLORS[i], alpha=0.35)
        ax.plot(xs, m.values, "o", color=COLORS[i], label=f"{lab}: slope {k:.3f}")
        ax.plot(xs, np.exp(c) * xs**k, "-", color=COLORS[i], lw=0.8)
        if i == 0:
            paper(ax, xs, m.iloc[0] * (xs / xs[0]) ** -0.46, "paper Fig. 2b: slope −0.46", marker=None)
            reference(ax, xs, m.iloc[0] * (xs / xs[0]) ** -0.5, "Thm 1: d^(−½)", ls=":")
    if xs is None:
        raise KeyError("B13: no layer-mean frame")
    width_axis(ax, xs)
    log_axis(ax)
    finish(ax, "width d (log)", "layer-averaged V (log)", title="Fig. 2b: the floor against width", loc="lower left")
    return [(f"B13: the layer-averaged gap falls like d^(−½): fitted slopes {', '.join(f'{k:.3f}' for k in slopes)} "
             "against the paper's −0.46 (dashed) and the theorem's −½ (dotted); dots: each seed.", fig)]


@figure("B14")
def b14_floor(data):
    fig, (ax,) = new_figure(w=3.6)
    xs_all = []
    for i, name in enumerate(sorted(k for k in data.frames if k.startswith("floor_n"))):
        f = data.frame(name).sort_values("width")
        n = int(f.n.iloc[0])
        xs_all += f.width.tolist()
        ax.plot(f.width, f.mean_V, "o", color=COLORS[i], label=f"measured floor, n = {n}")
        reference(ax, f.width, f.mean_V / f.ratio, f"√((n−1)(n+2)²/(4n(n+1)d)), n = {n}", color=COLORS[i])
    if not xs_all:
        raise KeyError("B14: no floor frames")
    width_axis(ax, xs_all)
    log_axis(ax)
    finish(ax, "width d (log)", "plateau E[V] (log)", title="floor level (beyond the paper)", loc="lower left")
    dev = max(abs(float(data.frame(k).ratio.sub(1).abs().max())) for k in data.frames if k.startswith("floor_n"))
    return [(f"B14: the measured floor matches √((n−1)(n+2)²/(4n(n+1)d)) within {100 * dev:.0f}% (dashed; judged "
             "±10%); the same formula with Thm 1's rate 1 − 2/(3n) is off by far more (recorded control).", fig)]


@figure("B15")
def b15_theorem1(data):
    tab = data.frame("theorem1_n2")
    fig, (ax,) = new_figure(w=3.3, right=2.1)
    for i, (w, g) in enumerate(tab.groupby("width")):
        g = g.sort_values("layer")
        ax.plot(g.layer, g.mean_V_next, "-", color=COLORS[i], label=f"measured E[V(H_ℓ+1)], d = {w}")
        ax.plot(g.layer, g.bound, "--", color=COLORS[i], lw=0.9, label=f"Thm 1 bound, d = {w}")
    log_axis(ax)
    finish(ax, "depth ℓ", "E V(H_ℓ+1) and its bound (log)", title="Thm 1, Eq. (3), n = 2", outside=True)
    return [("B15: for n = 2 the measured mean gap stays far below 2(1 − 2α/3)^ℓ + 3n/(α√d) at every layer and width "
             f"(max ratio {tab.ratio.max():.2f}); for n = 4 the bound exceeds V_max at small widths (vacuous, "
             "recorded).", fig)]


@figure("B16")
def b16_rate(data):
    s = data.frame("slopes").sort_values("n")
    fig, (ax,) = new_figure(w=3.4)
    ax.plot(s.n, s.bn_slope, "o-", color=COLORS[0], label=_arm(data, "bn") + ": transient log-slope")
    ax.plot(s.n, s.bound, "--", color="0.3", label="Thm 1 rate log(1 − 2/(3n))")
    ax.plot(s.n, s.vanilla_slope, **{**CONTROL, "label": "control: vanilla slope (no decay)"})
    log_axis(ax, "x")
    ax.xaxis.set_major_locator(__import__("matplotlib").ticker.FixedLocator(s.n.tolist()))
    finish(ax, "batch size n (log)", "slope of log V per layer", title="transient rate", loc="lower right")
    return [("B16: the BN chain's transient decays faster than the theorem's worst-case rate at every n (points below "
             "the dashed line); the vanilla chain does not decay.", fig)]


@figure("B17")
def b17_averaged(data):
    tab = data.frame("averaged_bound")
    fig, (ax,) = new_figure(w=3.3, right=2.3)
    for i, (w, g) in enumerate(tab.groupby("width")):
        g = g.sort_values("layer")
        ax.plot(g.layer, g.lhs, "-", color=COLORS[i], label=f"measured average, d = {w}")
        ax.plot(g.layer, g.rhs, "--", color=COLORS[i], lw=0.9, label=f"bound 3E[V̂₀]/(2ℓ) + 3/(2√d), d = {w}")
    log_axis(ax)
    log_axis(ax, "x")
    finish(ax, "depth ℓ (log)", "(1/ℓ) Σ V̂(1/n − V̂) (log)", title="App. B.1, averaged statement, n = 2",
           outside=True)  # fmt: skip
    return [(f"B17: the averaged quantity stays below its bound at every depth and width (max ratio {tab.ratio.max():.2f}; the bound "
             "divided by 50 is exceeded, so the check can fail).", fig)]


@figure("B18")
def b18_coupling(data):
    bars = identity_figure(data, [("c − n V², per sample", r"^max \(c - n V", "violation_above", 1e-12, False),
                                  ("n E[V²] − 2n E[V]", r"^max \(n E", "violation_above", 1e-12, False)],
                           ylabel="Lemma 2", left=1.7, xlabel="largest violation (log)",
                           caption="B18: the coupling inequalities c ≤ nV² (per sample) and nE[V²] ≤ 2nE[V] are never "
                                   "violated (0; ticks: the 1e-12 round-off slack).")  # fmt: skip
    if not data.has("vanilla_coupling"):
        return bars
    vc = data.frame("vanilla_coupling")
    fig, (ax,) = new_figure(w=3.4)
    ax.plot(vc.layer, vc.mean_c, color="0.4", ls=":", marker="o", mfc="none", ms=2.5,
            label="control: vanilla chain n = 4, d = 64")  # fmt: skip
    finish(ax, "depth ℓ", "mean coupling c_ℓ = E Σᵢ(σᵢ − 1/√n)²", title="vanilla: c grows with depth", legend=True,
           loc="lower right")  # fmt: skip
    return bars + [("B18 (control): in the vanilla chain the coupling c grows with depth towards its rank-one value, "
                    "so the bound is not trivially small.", fig)]


@figure("B19")
def b19_w2(data):
    p = data.frame("plateau_c").sort_values("width")
    fig, (ax,) = new_figure(w=3.4)
    k, c = _fit(p.width, p.mean_c)
    ax.plot(p.width, p.mean_c, "o", color=COLORS[0], label=f"BN plateau c: slope {k:.2f}")
    xs = p.width.to_numpy(float)
    reference(ax, xs, p.mean_c.iloc[0] * (xs / xs[0]) ** -0.5, "Cor. 3: d^(−½) (slope must be ≤ −½)")
    reference(ax, xs, p.mean_c.iloc[0] * (xs / xs[0]) ** -1.0, "d^(−1)", ls=":")
    width_axis(ax, xs)
    log_axis(ax)
    finish(ax, "width d (log)", "plateau coupling c ≥ W₂² (log)", title="Cor. 3, Table 1", loc="lower left")
    return [(f"B19: the W₂² radius (coupling c) of the BN chain's plateau shrinks like d^{k:.2f}, faster than Cor. 3's "
             "d^(−½); the vanilla near-rank-one chain keeps c at its rank-one value (recorded control).", fig)]


@figure("B20")
def b20_gaussian(data):
    df = data.frame("energy")
    fig, (ax,) = new_figure(w=3.2, right=2.0)
    for i, (w, g) in enumerate(df.groupby("width")):
        seed_band(ax, g[g.arm == "bn"], "layer", "energy", label=f"{_arm(data, 'bn')}, d = {w}", color=COLORS[i])
        seed_band(ax, g[g.arm == "vanilla"], "layer", "energy", label=f"control: vanilla, d = {w}", color=COLORS[i],
                  ls=":", marker="o", mfc="none", band=False)  # fmt: skip
    hline(ax, 0, None, color="0.5", lw=0.6)
    finish(ax, "depth ℓ", "energy distance to a Gaussian", title="§4.1, Table 1", outside=True)
    return [("B20: after the linear layer the BN chain's representations are close to Gaussian (energy distance near "
             "0, shrinking with d), the vanilla chain's are not (dotted); mean and band over "
             f"{seeds_text(df)}.", fig)]


# ---------------------------------------------------------------------------------------------------------------
# directional claims (B21-B28)
@figure("B21")
def b21_cosines(data):
    df = data.frame("cosines")
    fig, (ax,) = new_figure(w=3.2, right=2.6)
    seed_band(ax, df[df.arm == "bn"], "layer", "abs_cos", label=_arm(data, "bn") + ", correlated start",
              color=COLORS[0], marker=None)  # fmt: skip
    seed_band(ax, df[df.arm == "vanilla"], "layer", "abs_cos", label="vanilla, orthogonal start", color=COLORS[1],
              marker=None)  # fmt: skip
    ax.plot([10, df.layer.max()], [0.2, 0.2], "--", color=COLORS[0], lw=0.8, label="judged: BN mean < 0.2 (ℓ ≥ 10)")
    ax.plot([df.layer.max()], [0.5], marker="^", color=COLORS[1], ls="none", label="judged: vanilla > 0.5 at the end")
    finish(ax, "depth ℓ", "|cos| between the two samples", title="Fig. 1", outside=True)
    return [(f"B21: BN decorrelates two highly correlated samples (|cos| → ~0.1), a vanilla net aligns two orthogonal "
             f"ones (|cos| rises to ~0.7); mean and band over {seeds_text(df)}.", fig)]


@figure("B22")
def b22_vanilla(data):
    df = data.frame("gaps")
    fig, (ax,) = new_figure(w=3.2, right=2.5)
    init = data.user("init")
    for i, (w, g) in enumerate(df.groupby("width")):
        seed_band(ax, g[g.arm == "vanilla"], "layer", "orthogonality_gap", color=COLORS[i], marker=None,
                  label=f"vanilla{' (' + init.replace(':', '.') + ')' if init else ''}, d = {w}")  # fmt: skip
        seed_band(ax, g[g.arm == "bn"], "layer", "orthogonality_gap", label=f"control: BN, d = {w}", color=COLORS[i],
                  ls=":", marker=None, band=False)  # fmt: skip
    n = int(df.n.iloc[0]) if "n" in df.columns else 4
    hline(ax, math.sqrt(1 - 1 / n), f"V_max = √(1 − 1/n) (rank one), n = {n}")
    finish(ax, "depth ℓ", "orthogonality gap V", title="§3.2: vanilla gap grows", outside=True)
    return [("B22: without BN the gap grows with depth towards its rank-one value √(1 − 1/n) (dashed); the BN chain "
             f"(dotted control) stays at its floor; mean and band over {seeds_text(df)}.", fig)]


def _widthwise(ax, df, metric, acts, styles):
    out = {}
    for a in acts:
        g = df[df.activation == a]
        if g.empty:
            continue
        per = g.groupby(["width", "seed"])[metric].mean().reset_index()
        m = per.groupby("width")[metric].mean()
        k, c = _fit(m.index, m.values)
        out[a] = k
        lab, st = styles[a]
        ax.plot(m.index, m.values, label=f"{lab}: slope {k:.2f}", **st)
    return out


def _f_styles(data, control):
    user = data.user("activation")
    st = {a: (ACT.get(a, user.replace(":", ".") if user else a), {"color": COLORS[i], "marker": "o"})
          for i, a in enumerate(("tanh", "sin", "relu", "one_plus_tanh"))}  # fmt: skip
    for a in control:
        st[a] = (f"control: {ACT.get(a, a)}", {**CONTROL, "color": "0.4" if a == control[0] else "0.65"})
    return st


@figure("B23")
def b23_conjecture(data):
    df = data.frame("nonlinear_chain")
    acts = list(dict.fromkeys(df.activation))
    fig, axes = new_figure(2, w=2.9)
    st = {a: (data.user("activation").replace(":", ".") if data.user("activation") else ACT.get(a, a),
              {"color": COLORS[i], "marker": "o"}) for i, a in enumerate(acts)}  # fmt: skip
    _widthwise(axes[0], df, "L", acts, st)
    xs = np.array(sorted(df.width.unique()), float)
    m0 = df[df.width == xs[0]].L.mean()
    reference(axes[0], xs, m0 * (xs / xs[0]) ** -0.5, "d^(−½); judged slope ∈ [−0.65, −0.35]")
    width_axis(axes[0], xs)
    log_axis(axes[0])
    finish(axes[0], "width d (log)", "mean L(Q) after burn-in (log)", title="Conjecture F.1: L", loc="lower left")
    ctl = [a for a in ("relu", "one_plus_tanh") if a in acts]
    if ctl:
        _widthwise(axes[1], df, "orthogonality_gap", ctl, _f_styles(data, ctl))
        width_axis(axes[1], xs)
        log_axis(axes[1])
        finish(axes[1], "width d (log)", V, title="control: V does not decay", legend=True, loc="lower left")
    else:
        axes[1].set_visible(False)
    return [("B23: for Q ← BN(W F(Q)) the quantity L falls like d^(−½) for every activation (left); V itself does "
             "not for the non-odd ReLU and 1 + tanh (right, control).", fig)]


@figure("B24", "B25")
def b24_b25_odd(data):
    df = data.frame("nonlinear_chain")
    claim = {"B24": ["tanh", "sin"], "B25": ["relu", "one_plus_tanh"]}[data.claim]
    ctl = {"B24": ["relu", "one_plus_tanh"], "B25": ["tanh"]}[data.claim]
    st = _f_styles(data, ctl)
    fig, (ax,) = new_figure(w=3.6)
    _widthwise(ax, df, "orthogonality_gap", claim + ctl, st)
    xs = np.array(sorted(df.width.unique()), float)
    m0 = df[(df.width == xs[0]) & (df.activation == claim[0])].orthogonality_gap.mean()
    reference(ax, xs, m0 * (xs / xs[0]) ** -0.5, "d^(−½) (Thm 1's floor)", ls="--")
    width_axis(ax, xs)
    log_axis(ax)
    title = {"B24": "App. F.2: odd activations", "B25": "App. F: non-odd activations"}[data.claim]
    finish(ax, "width d (log)", "mean V after burn-in (log)", title=title, loc="lower left")
    cap = {"B24": "B24: for the odd activations tanh and sin the gap V itself has a d^(−½) floor (slopes ≈ −0.5); the "
                  "non-odd ReLU and 1 + tanh (grey, control) do not.",
           "B25": "B25: for the non-odd ReLU and 1 + tanh V stays large and barely falls with width (slope > −0.25): V "
                  "is the wrong metric there; odd tanh (grey, control) falls like d^(−½)."}[data.claim]  # fmt: skip
    return [(cap, fig)]


@figure("B26")
def b26_relu_bn(data):
    df = data.frame("relu_bn")
    fig, (ax,) = new_figure(w=3.2, right=2.5)
    seed_band(ax, df[df.arm == "bn"], "layer", "orthogonality_gap", label=_arm(data, "bn") + " + ReLU",
              color=COLORS[0], marker=None)  # fmt: skip
    seed_band(ax, df[df.arm == "vanilla"], "layer", "orthogonality_gap", label="control: ReLU, no BN", marker=None,
              **{k: v for k, v in CONTROL.items() if k not in ("marker", "mfc")})  # fmt: skip
    hline(ax, 0.3, "judged: BN < 0.3 at the last layer")
    hline(ax, 0.85, "judged: vanilla > 0.85", color="0.5", ls=":")
    finish(ax, "depth ℓ", "orthogonality gap V", title="Fig. 5 (App. F), n = %d" % int(df.n.iloc[0]), outside=True)
    return [(f"B26: with standard BN and ReLU the gap falls to a depth-independent level; without BN it grows "
             f"towards rank one; mean and band over {seeds_text(df)}.", fig)]


def _gaps_by_depth(ax, df, variants):
    depths = sorted(df.depth.unique())
    k = len(variants)
    for i, (v, (lab, color)) in enumerate(variants.items()):
        g = df[df.variant == v]
        if g.empty:
            continue
        xs = np.arange(len(depths)) + (i - (k - 1) / 2) * 0.8 / k
        m = g.groupby("depth").gap.mean().reindex(depths)
        ax.bar(xs, m.values, 0.8 / k * 0.9, color=color, label=lab, alpha=0.85)
        for j, dpt in enumerate(depths):
            pts = g[g.depth == dpt].gap
            ax.scatter(np.full(len(pts), xs[j]), pts, s=5, color="black", zorder=3)
    ax.set_xticks(np.arange(len(depths)))
    ax.set_xticklabels([str(d) for d in depths])
    ax.grid(axis="x", visible=False)


@figure("B27")
def b27_initial_gap(data):
    df = data.frame("initial_gaps")
    init = data.user("init")
    fig, (ax,) = new_figure(w=3.6)
    _gaps_by_depth(ax, df, {"xavier": (f"Xavier{' → ' + init.replace(':', '.') if init else ''} (the claim)",
                                       COLORS[1]),
                            "paper": ("control: iterative orthogonalisation (Eq. 6)", "0.6")})  # fmt: skip
    finish(ax, "depth (hidden layers)", "initial gap V of the last layer", title="Fig. 3a (gap at init)",
           loc="upper left", legend=True)  # fmt: skip
    ax.set_ylim(0, 1.35)
    return [("B27: the initial gap of a vanilla ReLU MLP rises with depth (bars: seed means, dots: each seed); the "
             "orthogonalised init (grey control) stays low.", fig)]


@figure("B28")
def b28_iterative(data):
    df = data.frame("initial_gaps")
    fig, (ax,) = new_figure(w=3.2, right=1.9)
    _gaps_by_depth(ax, df, {"xavier": ("Xavier (reference)", COLORS[1]), "paper": ("Eq. (6), paper", COLORS[0]),
                            "code": ("authors' code", COLORS[2]),
                            "reproduction": ("control: transpose bug", "0.6")})  # fmt: skip
    hline(ax, 0.7, "judged: < 0.7 and ≤ Xavier − 0.3")
    finish(ax, "depth (hidden layers)", "initial gap V of the last layer", title="§5.2 Eq. (6); App. E",
           outside=True, legend=True)  # fmt: skip
    ax.set_ylim(0, 1.15)
    return [("B28: iterative orthogonalisation keeps the initial gap low (≈0.2) at every depth, far below Xavier; "
             "the reproduction's transpose bug does not (grey, ≈0.95).", fig)]


# ---------------------------------------------------------------------------------------------------------------
# training (B29-B32)
@figure("B29")
def b29_depth(data):
    df = data.frame("loss_vs_depth")
    init = data.user("init")
    fig, (ax,) = new_figure(w=3.6)
    for i, (dpt, g) in enumerate(df.groupby("depth")):
        seed_band(ax, g, "epoch", "loss", label=f"depth {dpt}", color=COLORS[i])
    log_axis(ax)
    integer_axis(ax)
    finish(ax, "epoch", "training loss (log)", title=f"Fig. 3a, {init.replace(':', '.') if init else 'Xavier'} init",
           loc="upper right", legend=True)  # fmt: skip
    return [(f"B29: the deeper net trains more slowly: its loss stays higher at every epoch (mean and band over "
             f"{seeds_text(df)}); the shallow net's loss falls below half its first-epoch value (control).", fig)]


@figure("B30")
def b30_sgd(data):
    df = data.frame("gap_during_training")
    fig, axes = new_figure(2, w=2.9)
    seed_band(axes[0], df[df.arm == "trained"], "epoch", "gap", label="trained net", color=COLORS[0])
    seed_band(axes[0], df[df.arm == "untrained"], "epoch", "gap", label="control: untrained copy", **CONTROL)
    integer_axis(axes[0])
    finish(axes[0], "epoch", "gap V of the last hidden layer", title="Fig. 3b: SGD orthogonalises", loc="lower left")
    if data.has("loss"):
        seed_band(axes[1], data.frame("loss"), "epoch", "loss", label="trained net", color=COLORS[0])
        log_axis(axes[1])
        integer_axis(axes[1])
        finish(axes[1], "epoch", "training loss (log)", title="training loss", legend=True)
    tr = df[df.arm == "trained"].groupby("epoch").gap.mean()
    return [(f"B30: during SGD the gap of the trained net falls ({tr.iloc[0]:.2f} → {tr.iloc[-1]:.2f}) while the untrained copy's stays put "
             f"(control); mean and band over {seeds_text(df)}.", fig)]


@figure("B31")
def b31_orth(data):
    names = sorted(k for k in data.frames if k.startswith("loss_depth"))
    if not names:
        raise KeyError("B31: no loss_depth frame")
    fig, axes = new_figure(len(names), w=3.4)
    labels = {"xavier": ("Xavier", {"color": COLORS[1]}), "paper": ("orthogonal, Eq. (6)", {"color": COLORS[0]}),
              "code": ("orthogonal, authors' code", {"color": COLORS[2]}),
              "reproduction": ("control: transpose bug", CONTROL)}  # fmt: skip
    for ax, name in zip(axes, names):
        df = data.frame(name)
        for v, (lab, st) in labels.items():
            g = df[df.variant == v]
            if len(g):
                seed_band(ax, g, "epoch", "loss", label=lab, **st)
        log_axis(ax)
        integer_axis(ax)
        finish(ax, "epoch", "training loss (log)", title=f"Fig. 4, no BN, depth {name.removeprefix('loss_depth')}",
               loc="lower left")  # fmt: skip
    df = data.frame(names[-1])
    fin = df[df.epoch == df.epoch.max()].groupby("variant").loss.mean()
    ratio = f" (final loss {fin['paper'] / fin['xavier']:.2g} × Xavier's)" if {"paper", "xavier"} <= set(fin.index) else ""
    return [(f"B31: without BN the orthogonal init trains a deep MLP far faster than Xavier{ratio}; the reproduction's "
             "buggy init (grey) does not.", fig)]


@figure("B32")
def b32_convnet(data):
    df = data.frame("convnet")
    last = df[df.epoch == df.epoch.max()]
    fig, (ax,) = new_figure(w=3.4)
    convs = sorted(last.convs.unique())
    means = {}
    for i, (v, lab, col) in enumerate((("xavier", "Xavier", COLORS[1]), ("paper", "orthogonal (Eq. 6)", COLORS[0]))):
        g = last[last.variant == v]
        xs = np.arange(len(convs)) + (i - 0.5) * 0.3
        m = g.groupby("convs").loss.mean().reindex(convs)
        means[v] = m
        ax.plot(xs, m.values, "D", ms=6, color=col, label=f"{lab}: seed mean", ls="none")
        for j, c in enumerate(convs):
            pts = g[g.convs == c].loss
            ax.scatter(np.full(len(pts), xs[j]), pts, s=10, color=col, alpha=0.5)
    hline(ax, math.log(10), "log 10: a net that does not train", color="0.4", ls=":")
    ax.set_xticks(np.arange(len(convs)))
    ax.set_xticklabels([f"{c} conv layers" for c in convs])
    ax.set_xlim(-0.6, len(convs) - 0.4)
    ax.grid(axis="x", visible=False)
    finish(ax, "depth", f"training loss after epoch {int(df.epoch.max())}", title="Fig. 7, Table 3 (App. G)",
           loc="lower left", legend=True)  # fmt: skip
    txt = "; ".join(f"{c} convs: orthogonal {means['paper'][c]:.3f} vs Xavier {means['xavier'][c]:.3f}" for c in convs)
    return [("B32: the paper has the orthogonal init slower than Xavier at 20 conv layers and faster at 80 (Fig. 7); "
             f"measured final losses {txt} (diamonds: seed means, dots: seeds).", fig)]
