"""Figures of paper B's network claims (B21-B32): the directional claims on MLP chains with activations and
initialisations (B21-B28: Fig. 1, the vanilla gap, App. F's nonlinear chains, Fig. 5, the initial gap of Fig. 3a
and Eq. (6)'s orthogonalisation) and the training claims (B29-B32: Figs. 3, 4, 7). Shared labels:
:mod:`rcbench.report.figures_b`.
"""

from __future__ import annotations

import math

import numpy as np

from rcbench.report.figures_b import ACT, V, arm_label, loglog_fit
from rcbench.report.plotting import (
    COLORS,
    CONTROL,
    figure,
    finish,
    hline,
    integer_axis,
    log_axis,
    new_figure,
    reference,
    seed_band,
    seeds_text,
    width_axis,
)


@figure("B21")
def b21_cosines(data):
    df = data.frame("cosines")
    fig, (ax,) = new_figure(w=3.2, right=2.6)
    seed_band(ax, df[df.arm == "bn"], "layer", "abs_cos", label=arm_label(data, "bn") + ", correlated start",
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
        k, c = loglog_fit(m.index, m.values)
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
    seed_band(ax, df[df.arm == "bn"], "layer", "orthogonality_gap", label=arm_label(data, "bn") + " + ReLU",
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
