"""Paper-like figures for the claims with curves (registered into :data:`rcbench.report.figures.FIGURES`).

Each function receives the claim's frames ``{name: DataFrame}`` and returns ``[(caption, Figure)]``. Frames are
recognised by their columns (not their names), so a claim may store its arms in one frame or several; when nothing
fits, the function raises and the report falls back to the generic figure. The only theory drawn is what the frames
carry (a ``bound`` column) or a closed form (``beta_sigma``, a reference slope), never a second experiment.

* Paper A (Fig. 2/3): rank against depth with and without BN (mean and band over seeds); with several widths, the
  depth-averaged soft rank against width on log-log axes with the fitted slope and the ``sqrt(d)`` reference.
* Paper B (Fig. 2a/2b): log orthogonality gap against depth for the smallest and largest width; the floor
  (layer-average over the second half of the chain) against width, log-log, with its fitted slope and ``d^{-1/2}``.
* Paper C (Fig. 3/5): log gradient norm of ``W_1`` against depth, one curve per weight init (orthogonal, Gaussian)
  and activation/gain setting.
* Paper D (Fig. 2): isometry gap (or potential) against depth per activation, log axis, beside the
  ``beta_sigma^{-l}`` rate (the frame's ``bound`` column, or ``gap_0 * beta_sigma^{-l}`` from the closed form);
  D8's sawtooth (``isometry_init_train.pdf``): the isometry after every sub-layer at init and after training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, ScalarFormatter

from rcbench.report.figures import _short, figure, generic_figures, mean_band, plt


def _width_axis(ax, xs):
    ax.set_xscale("log")
    ax.set_xticks(list(xs))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())

RANK_STATS = ("numerical_rank", "soft_rank", "rank_tau05", "tau_rank", "rank", "stable_rank", "effective_rank")
RANK_LABEL = {"numerical_rank": "numerical rank", "soft_rank": "soft rank r = tr(G)²/‖G‖²_F",
              "rank_tau05": "rank_τ (τ = 0.5)", "tau_rank": "rank_τ"}  # fmt: skip
GAP_STATS = ("orthogonality_gap", "V", "gap")
D_STATS = ("gap", "mf_gap", "isometry_gap", "gamma", "mf_gamma", "potential")
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _frames_with(frames: dict[str, pd.DataFrame], required: tuple[str, ...], any_of: tuple[str, ...] = ()):
    out = {k: df for k, df in frames.items() if all(c in df.columns for c in required)
           and (not any_of or any(c in df.columns for c in any_of))}  # fmt: skip
    if not out:
        raise KeyError(f"no frame with columns {required} and one of {any_of}")
    return out


def _seed(df) -> str | None:
    return "seed" if "seed" in df.columns else None


def _norm_label(value) -> str:
    v = str(value)
    return "no normalisation" if v.lower() in ("none", "identity", "nan", "vanilla") else f"BN ({v})"


def _arm_label(df: pd.DataFrame, key_cols: list[str], key) -> str:
    key = key if isinstance(key, tuple) else (key,)
    parts = []
    for col, v in zip(key_cols, key):
        if col == "norm":
            parts.append(_norm_label(v))
        elif col in ("width", "d"):
            parts.append(f"d={v}")
        else:
            parts.append(f"{col}={_short(v)}")
    return ", ".join(parts)


def _varying(df: pd.DataFrame, cols) -> list[str]:
    return [c for c in cols if c in df.columns and df[c].nunique(dropna=False) > 1]


# ---------------------------------------------------------------------------------------------------------------
@figure("A2", "A3", "A4", "A5", "A6", "A7")
def rank_vs_depth(frames):
    fr = _frames_with(frames, ("layer",), RANK_STATS)
    df = pd.concat(fr.values(), ignore_index=True, sort=False)
    stats = [s for s in RANK_STATS if s in df.columns and df[s].notna().any()][:3]
    arms = _varying(df, ("norm", "arm", "width", "d", "gamma", "activation", "input"))
    groups = list(df.groupby(arms, sort=True, dropna=False)) if arms else [((), df)]
    fig, axes = plt.subplots(1, len(stats), figsize=(4.6 * len(stats), 3.5), squeeze=False)
    for ax, stat in zip(axes[0], stats):
        for i, (key, g) in enumerate(groups[:8]):
            g = g[g[stat].notna()]
            if g.empty:
                continue
            mean_band(ax, g, "layer", stat, seed=_seed(g), label=_arm_label(g, arms, key) if arms else None,
                      color=COLORS[i % len(COLORS)], logy=False)  # fmt: skip
        ax.set_xlabel("depth ℓ")
        ax.set_ylabel(RANK_LABEL.get(stat, stat))
        ax.grid(alpha=0.3)
        if df["layer"].max() > 200 and (df["layer"] > 0).all():
            ax.set_xscale("log")
    if arms:
        axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle("rank against depth, with and without BN (mean, band = lowest–highest seed)", fontsize=10)
    fig.tight_layout()
    out = [("Rank against depth per arm (paper A, Fig. 2 / Fig. 3a style): mean over seeds, band between the lowest "
            "and highest seed.", fig)]  # fmt: skip
    width_col = next((c for c in ("width", "d") if c in df.columns and df[c].nunique() >= 3), None)
    if width_col and "soft_rank" in df.columns:
        out.append(_rank_vs_width(df, width_col))
    return out


def _rank_vs_width(df, width_col):
    bn = df[df["norm"].astype(str).str.lower().ne("none")] if "norm" in df.columns else df
    bn = bn[bn["layer"] > 0]
    per_seed = bn.groupby([width_col] + (["seed"] if "seed" in bn.columns else []))["soft_rank"].mean().reset_index()
    fig, ax = plt.subplots(figsize=(4.6, 3.5))
    mean_band(ax, per_seed, width_col, "soft_rank", seed=_seed(per_seed), marker="o", label="BN chain", logy=True)
    m = per_seed.groupby(width_col)["soft_rank"].mean()
    slope, icpt = np.polyfit(np.log(m.index.to_numpy(float)), np.log(m.to_numpy(float)), 1)
    xs = m.index.to_numpy(float)
    ax.plot(xs, np.exp(icpt) * xs**slope, "k--", lw=1, label=f"fit: slope {slope:.2f}")
    ax.plot(xs, m.iloc[0] * (xs / xs[0]) ** 0.5, ":", color="gray", lw=1, label="√d reference")
    _width_axis(ax, xs)
    ax.set_xlabel("width d")
    ax.set_ylabel("depth-averaged soft rank")
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return (f"Depth-averaged soft rank of the BN chain against width (log-log); fitted slope {slope:.3f} "
            "(Thm 2: Ω(√d), slope ½ reference).", fig)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
@figure("B12", "B13", "B14", "B15", "B16", "B22", "B23", "B24")
def orthogonality_vs_depth(frames):
    """Left: log gap against depth (the frame with layers, smallest and largest width); right: the floor against
    width with its fitted slope, from frames of layer-averaged gaps (``width, seed, gap``) or, failing those, from
    the second half of the depth frame when it has three or more widths."""
    stat_of = lambda df: next((s for s in GAP_STATS if s in df.columns), None)  # noqa: E731
    depth_frames = {k: v for k, v in frames.items() if "layer" in v.columns and "width" in v.columns and stat_of(v)}
    floor_frames = {k: v for k, v in frames.items() if "layer" not in v.columns and "width" in v.columns
                    and stat_of(v) and v["width"].nunique() >= 3}  # fmt: skip
    if not depth_frames and not floor_frames:
        raise KeyError("no frame with width and an orthogonality gap")
    floors = []  # (label, per-seed frame, stat)
    for name, v in floor_frames.items():
        floors.append((name, v, stat_of(v)))
    panels = int(bool(depth_frames)) + int(bool(floor_frames) or any(v["width"].nunique() >= 3 for v in depth_frames.values()))
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.7), squeeze=False)
    axes = list(axes[0])
    caption = []
    if depth_frames:
        name, df = max(depth_frames.items(), key=lambda kv: (kv[1]["width"].nunique(), len(kv[1])))
        stat = stat_of(df)
        df = df[np.isfinite(df[stat]) & (df[stat] > 0)]
        widths = sorted(df["width"].unique())
        shown = [widths[0], widths[-1]] if len(widths) > 1 else widths
        others = _varying(df, ("activation", "norm", "arm", "n", "input", "sampler"))
        keys = ["width"] + others
        ax = axes.pop(0)
        for i, (key, g) in enumerate(list(df[df["width"].isin(shown)].groupby(keys, sort=True))[:8]):
            mean_band(ax, g, "layer", stat, seed=_seed(g), label=_arm_label(g, keys, key), color=COLORS[i % len(COLORS)],
                      logy=True)  # fmt: skip
        ax.set_xlabel("depth ℓ")
        ax.set_ylabel(f"{stat} (log axis)")
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
        ax.set_title(f"gap against depth (`{name}`)", fontsize=9)
        caption.append(f"orthogonality gap against depth (log axis) for widths {', '.join(map(str, shown))}, mean and "
                       "lowest–highest seed band (paper B, Fig. 2a)")  # fmt: skip
        if not floors and len(widths) >= 3:
            plateau = df[df["layer"] >= max(int(df["layer"].max()) // 2, 1)]
            per = plateau.groupby(["width"] + (["seed"] if "seed" in df.columns else []))[stat].mean().reset_index()
            floors.append((f"{name}, layers ≥ L/2", per, stat))
    if floors:
        ax = axes.pop(0)
        slopes = []
        for i, (label, per, stat) in enumerate(floors[:4]):
            color = COLORS[i % len(COLORS)]
            mean_band(ax, per, "width", stat, seed=_seed(per), marker="o", color=color, logy=True)
            m = per.groupby("width")[stat].mean()
            xs = m.index.to_numpy(float)
            slope, icpt = np.polyfit(np.log(xs), np.log(m.to_numpy(float)), 1)
            ax.plot(xs, np.exp(icpt) * xs**slope, "--", color=color, lw=1, label=f"{label}: fitted slope {slope:.3f}")
            slopes.append(f"{label} {slope:.3f}")
        ax.plot(xs, m.iloc[0] * (xs / xs[0]) ** -0.5, ":", color="gray", lw=1, label="d^(−1/2) reference")
        _width_axis(ax, xs)
        ax.set_xlabel("width d")
        ax.set_ylabel("layer-averaged gap (floor)")
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3, which="both")
        ax.set_title("floor against width", fontsize=9)
        caption.append("the floor against width (log-log) with fitted slopes " + ", ".join(slopes)
                       + " (paper B, Fig. 2b: −0.46; Thm 1: d^(−1/2))")  # fmt: skip
    fig.tight_layout()
    return [("; ".join(caption).capitalize() + ".", fig)]


# ---------------------------------------------------------------------------------------------------------------
@figure("C7", "C8", "C9", "C10")
def gradient_vs_depth(frames):
    fr = _frames_with(frames, ("depth",), ("log_grad", "grad_norm"))
    df = pd.concat(fr.values(), ignore_index=True, sort=False)
    if "log_grad" not in df.columns:
        df["log_grad"] = np.log(df["grad_norm"])
    if "weight" in df.columns and df["weight"].nunique() > 1:
        df = df[df["weight"] == sorted(df["weight"].unique())[min(1, df["weight"].nunique() - 1)]]
    arms = _varying(df, ("init", "norm", "activation", "gain_exponent", "arm", "input", "degeneracy", "width"))
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    groups = list(df.groupby(arms, sort=True, dropna=False)) if arms else [((), df)]
    for i, (key, g) in enumerate(groups[:8]):
        mean_band(ax, g, "depth", "log_grad", seed=_seed(g), label=_arm_label(g, arms, key) if arms else None,
                  color=COLORS[i % len(COLORS)], marker="o", logy=False)  # fmt: skip
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$\log\,\|\nabla_{W_1} L\|_F$")
    ax.grid(alpha=0.3)
    if arms:
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return [("Log gradient norm of the first hidden weight against depth (paper C, Fig. 3/5 style): bounded for "
             "orthogonal weights, growing linearly (exponential explosion) for Gaussian weights.", fig)]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
def _beta_sigma(activation: str):
    try:
        from rcbench.theory.hermite import beta_sigma

        return float(beta_sigma(activation))
    except Exception:
        return None


@figure("D7", "D9", "D10", "D11", "D12", "D13", "D14", "D15", "D18")
def isometry_vs_depth(frames):
    """Per frame with ``layer`` and ``activation``: left, the isometry gap per activation against depth (log axis);
    right, the potential gamma with the frame's ``bound`` (gamma_0 beta_sigma^-l) dashed, or, without a ``bound``
    column, gamma_0 beta_sigma^-l from the closed form beta_sigma."""
    fr = _frames_with(frames, ("layer", "activation"), D_STATS)
    figs = []
    for name, df in fr.items():
        gap = next((s for s in ("gap", "mf_gap", "isometry_gap") if s in df.columns), None)
        pot = next((s for s in ("gamma", "mf_gamma", "potential") if s in df.columns), None)
        panels = [s for s in (gap, pot) if s]
        acts = list(dict.fromkeys(df["activation"].astype(str)))[:8]
        others = _varying(df, ("centred", "norm", "order", "d", "degeneracy"))
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
        rates = {}
        for ax, stat in zip(axes[0], panels):
            for i, act in enumerate(acts):
                g = df[df["activation"].astype(str) == act]
                color = COLORS[i % len(COLORS)]
                groups = list(g.groupby(others, sort=True)) if others else [((), g)]
                for j, (key, gg) in enumerate(groups[:3]):
                    gg = gg[np.isfinite(gg[stat]) & (gg[stat] > 0)]
                    if gg.empty:
                        continue
                    lab = act + (f" ({_arm_label(gg, others, key)})" if others else "")
                    mean_band(ax, gg, "layer", stat, seed=_seed(gg), label=lab, color=color, logy=True,
                              ls=["-", "-.", ":"][j])  # fmt: skip
                    if j or stat != pot:
                        continue
                    if "bound" in gg.columns:
                        b = gg.groupby("layer")["bound"].mean()
                        b = b[b > 0]
                        ax.plot(b.index, b.values, "--", color=color, lw=1)
                    else:
                        beta = _beta_sigma(act)
                        if beta and beta > 1:
                            m = gg.groupby("layer")[stat].mean()
                            ls = m.index.to_numpy(float)
                            ax.plot(ls, m.iloc[0] * beta ** -(ls - ls[0]), "--", color=color, lw=1)
                    beta = _beta_sigma(act)
                    if beta:
                        rates[act] = 1 / beta
            ax.set_yscale("log")
            ax.set_xlabel("depth ℓ")
            ax.set_ylabel(stat + " (log axis)")
            ax.set_title({gap: "isometry gap", pot: "potential γ; dashed: γ₀ β_σ^(−ℓ)"}.get(stat, stat), fontsize=9)
            ax.grid(alpha=0.3)
            vals = df[stat][np.isfinite(df[stat]) & (df[stat] > 0)]
            if len(vals):
                ax.set_ylim(bottom=max(vals.min() / 3, 1e-16))
        axes[0][0].legend(fontsize=7, frameon=False)
        fig.tight_layout()
        rate_txt = ", ".join(f"{a} {r:.3f}" for a, r in rates.items())
        figs.append((f"Frame `{name}`: isometry gap and potential against depth per activation (log axes; mean and "
                     "lowest–highest seed band); dashed: the contraction bound γ₀·β_σ^(−ℓ) (paper D, Fig. 2 style)"
                     + (f"; rates 1/β_σ: {rate_txt}" if rate_txt else "") + ".", fig))  # fmt: skip
    return figs


@figure("D8")
def sublayer_sawtooth(frames):
    """``isometry_init_train.pdf``: the isometry I = exp(-gap) of a probe batch after every sub-layer (fc-k, act-k,
    norm-k) of the trained LN-MLPs, one panel per measured epoch, one curve per activation (mean over probes and
    seeds; band: lowest-highest seed). Frames without sub-layers (the finite-width LN steps) get the generic
    figure."""
    fr = _frames_with(frames, ("sublayer", "epoch", "layer", "gap"))
    order = {"fc": 0, "act": 1, "norm": 2}
    figs = []
    for name, df in fr.items():
        df = df.assign(position=3 * (df["layer"] - 1) + df["sublayer"].map(order),
                       isometry=np.exp(-df["gap"].astype(float)))
        # one value per (position, seed): mean over the probe batches
        epochs = sorted(df["epoch"].unique())
        fig, axes = plt.subplots(1, len(epochs), figsize=(5.4 * len(epochs), 3.6), squeeze=False, sharey=True)
        for ax, e in zip(axes[0], epochs):
            de = df[df["epoch"] == e]
            for i, act in enumerate(list(dict.fromkeys(de["activation"].astype(str)))[:8]):
                g = de[de["activation"].astype(str) == act].groupby(["position", "seed"], as_index=False).isometry.mean()
                mean_band(ax, g, "position", "isometry", seed="seed", label=act, color=COLORS[i % len(COLORS)],
                          logy=False, marker=".")
            ticks = sorted(df["position"].unique())
            ax.set_xticks(ticks[1::3])
            ax.set_xticklabels([f"norm-{t // 3 + 1}" for t in ticks[1::3]], rotation=90, fontsize=7)
            ax.set_title(f"epoch {e}", fontsize=9)
            ax.set_xlabel("sub-layer (fc-k, act-k, norm-k)")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("isometry I(G)")
        axes[0][0].legend(fontsize=7, frameon=False)
        fig.tight_layout()
        figs.append((f"Frame `{name}`: isometry of a probe batch after every sub-layer of the LN-MLP, at init and "
                     "after training (paper D, `isometry_init_train` style): it rises at every LN step for relu and "
                     "sigmoid (the sawtooth); mean over probe batches and seeds, band lowest-highest seed.", fig))
    rest = {k: v for k, v in frames.items() if k not in fr}
    return figs + (generic_figures(rest, "D8") if rest else [])

