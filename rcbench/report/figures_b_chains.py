"""Figures of paper B's BN chain against depth and width (B12-B20): Fig. 2a/2b (B12, B13), the width floor
(B14), Thm 1's bound and rate (B15, B16), the averaged statement (B17), the coupling and W2 radius (B18, B19) and
the Gaussianity of the representations (B20). The gap V is drawn on log axes as in Fig. 2; the paper's numbers
dashed, vanilla arms grey and dotted. Shared labels: :mod:`rcbench.report.figures_b`.
"""

from __future__ import annotations

import numpy as np

from rcbench.report.figures_b import arm_label, loglog_fit, parse_interval
from rcbench.report.plotting import (
    COLORS,
    CONTROL,
    figure,
    finish,
    hline,
    identity_figure,
    log_axis,
    new_figure,
    paper,
    reference,
    seed_band,
    seeds_text,
    width_axis,
)


@figure("B12")
def b12_fig2a(data):
    df = data.frame("bn_chain")
    df = df[df.orthogonality_gap > 0].assign(logV=lambda d: np.log(d.orthogonality_gap))
    fig, (ax,) = new_figure(w=3.4, right=2.6)
    widths = sorted(df.width.unique())
    for i, w in enumerate(widths):
        seed_band(ax, df[df.width == w], "layer", "logV", label=f"{arm_label(data, 'bn')}, d = {w}", color=COLORS[i],
                  marker=None)  # fmt: skip
        band = parse_interval(data.check_rows(rf"^plateau mean log V, d={w}$")["expected"].iloc[0]) \
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
        k, c = loglog_fit(xs, m.values)
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


def _measured_and_bound(ax, tab, measured: str, bound: str, measured_label: str, bound_label: str) -> None:
    """Per width, the measured statistic (solid) and its bound (dashed, same colour) against depth."""
    for i, (w, g) in enumerate(tab.groupby("width")):
        g = g.sort_values("layer")
        ax.plot(g.layer, g[measured], "-", color=COLORS[i], label=f"{measured_label}, d = {w}")
        ax.plot(g.layer, g[bound], "--", color=COLORS[i], lw=0.9, label=f"{bound_label}, d = {w}")


@figure("B15")
def b15_theorem1(data):
    tab = data.frame("theorem1_n2")
    fig, (ax,) = new_figure(w=3.3, right=2.1)
    _measured_and_bound(ax, tab, "mean_V_next", "bound", "measured E[V(H_ℓ+1)]", "Thm 1 bound")
    log_axis(ax)
    finish(ax, "depth ℓ", "E V(H_ℓ+1) and its bound (log)", title="Thm 1, Eq. (3), n = 2", outside=True)
    return [("B15: for n = 2 the measured mean gap stays far below 2(1 − 2α/3)^ℓ + 3n/(α√d) at every layer and width "
             f"(max ratio {tab.ratio.max():.2f}); for n = 4 the bound exceeds V_max at small widths (vacuous, "
             "recorded).", fig)]


@figure("B16")
def b16_rate(data):
    s = data.frame("slopes").sort_values("n")
    fig, (ax,) = new_figure(w=3.4)
    ax.plot(s.n, s.bn_slope, "o-", color=COLORS[0], label=arm_label(data, "bn") + ": transient log-slope")
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
    _measured_and_bound(ax, tab, "lhs", "rhs", "measured average", "bound 3E[V̂₀]/(2ℓ) + 3/(2√d)")
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
    k, c = loglog_fit(p.width, p.mean_c)
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
        seed_band(ax, g[g.arm == "bn"], "layer", "energy", label=f"{arm_label(data, 'bn')}, d = {w}", color=COLORS[i])
        seed_band(ax, g[g.arm == "vanilla"], "layer", "energy", label=f"control: vanilla, d = {w}", color=COLORS[i],
                  ls=":", marker="o", mfc="none", band=False)  # fmt: skip
    hline(ax, 0, None, color="0.5", lw=0.6)
    finish(ax, "depth ℓ", "energy distance to a Gaussian", title="§4.1, Table 1", outside=True)
    return [("B20: after the linear layer the BN chain's representations are close to Gaussian (energy distance near "
             "0, shrinking with d), the vanilla chain's are not (dotted); mean and band over "
             f"{seeds_text(df)}.", fig)]
