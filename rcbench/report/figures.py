"""Figures of a claims run, drawn from the experiments' tidy frames (``frames/<CLAIM>__<name>.csv``), never from a
second computation.

:data:`FIGURES` maps a claim id to ``fn(frames) -> list[(caption, Figure)]`` where ``frames`` is ``{name: DataFrame}``
for that claim; claims without an entry (or whose entry fails on a changed frame) get :func:`generic_figures`: for
each frame with a ``layer`` (or depth/width) column, one panel per numeric statistic showing the mean over seeds and
the band between the lowest and highest seed, one curve per setting (width, activation, ...), with a log axis where
the values span more than two decades.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["FIGURES", "figure", "figures_for", "generic_figures", "frames_by_claim", "to_png", "mean_band"]

Figures = list[tuple[str, "plt.Figure"]]
#: claim id -> fn(frames: {name: DataFrame}) -> [(caption, Figure)].
FIGURES: dict[str, Callable[[dict[str, pd.DataFrame]], Figures]] = {}

X_CANDIDATES = ("layer", "depth", "ell", "l", "step", "iteration", "epoch", "d", "width", "n", "hl")
SEED_COLUMNS = ("seed", "replicate", "rep")
MAX_CURVES = 8
MAX_PANELS = 4


def figure(*claim_ids: str):
    """Register a paper-like figure function for ``claim_ids``."""

    def deco(fn):
        for cid in claim_ids:
            FIGURES[cid] = fn
        return fn

    return deco


def frames_by_claim(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    """``{"A3__bn_chain": df}`` (as :func:`rcbench.results.load_run` returns them) -> ``{"A3": {"bn_chain": df}}``."""
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for stem, df in frames.items():
        cid, _, name = stem.partition("__")
        out.setdefault(cid, {})[name or stem] = df
    return out


def figures_for(claim_id: str, frames: dict[str, pd.DataFrame]) -> tuple[Figures, str]:
    """The figures of one claim and a note (empty, or why the paper-like figure fell back to the generic one)."""
    if not frames:
        return [], ""
    fn = FIGURES.get(claim_id)
    if fn is not None:
        try:
            figs = fn(frames)
            if figs:
                return figs, ""
        except Exception as exc:  # a frame changed shape: fall back rather than lose the report
            plt.close("all")
            return generic_figures(frames, claim_id), f"paper-like figure unavailable ({type(exc).__name__}: {exc})"
    return generic_figures(frames, claim_id), ""


def to_png(fig, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# generic fallback
def _x_column(df: pd.DataFrame) -> str | None:
    for c in X_CANDIDATES:
        if c in df.columns and pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 1:
            return c
    return None


def _seed_column(df: pd.DataFrame) -> str | None:
    return next((c for c in SEED_COLUMNS if c in df.columns), None)


def _is_factor(df: pd.DataFrame, col: str, keys: list[str]) -> bool:
    """A design factor: few values, and every ``keys`` group holds the same multiset of them."""
    s = df[col]
    if s.nunique(dropna=False) == 1:
        return True
    if s.nunique() > MAX_CURVES:
        return False
    if not keys:
        return not pd.api.types.is_float_dtype(s)
    sets = df.groupby(keys, sort=False)[col].apply(lambda v: tuple(sorted(v.astype(str).value_counts().items())))
    return sets.nunique() == 1


def analyse(df: pd.DataFrame) -> dict | None:
    """Split a tidy frame into x column, seed column, settings and statistics (None when there is nothing to plot)."""
    x = _x_column(df)
    if x is None:
        return None
    seed = _seed_column(df)
    keys = [k for k in (x, seed) if k]
    settings, stats = [], []
    for c in df.columns:
        if c in keys:
            continue
        s = df[c]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if not numeric:
            if s.nunique(dropna=False) <= 2 * MAX_CURVES:
                settings.append(c)
        elif _is_factor(df, c, keys):
            settings.append(c)
        else:
            stats.append(c)
    if not stats:
        return None
    varying = [c for c in settings if df[c].nunique(dropna=False) > 1]
    constant = {c: df[c].iloc[0] for c in settings if c not in varying}
    return {"x": x, "seed": seed, "stats": stats, "varying": varying, "constant": constant}


def mean_band(ax, df: pd.DataFrame, x: str, y: str, *, seed: str | None = "seed", label=None, color=None,
              logy: bool | None = None, band: bool = True, marker=None, ls="-"):  # fmt: skip
    """Plot the mean of ``y`` over seeds against ``x`` and the band between the lowest and highest seed.

    Non-finite values (an isometry gap of +inf) are dropped from the curve. Returns the line."""
    d = df[[x, y]].replace([np.inf, -np.inf], np.nan).dropna()
    if d.empty:
        return None
    g = d.groupby(x)[y]
    m, lo, hi = g.mean(), g.min(), g.max()
    (line,) = ax.plot(m.index, m.values, label=label, color=color, marker=marker, ls=ls, lw=1.6, ms=4)
    if band and seed and seed in df.columns and (g.size() > 1).any():
        ax.fill_between(m.index, lo.values, hi.values, color=line.get_color(), alpha=0.2, lw=0)
    if logy is None:
        logy = wants_log(d[y])
    if logy:
        ax.set_yscale("log")
    return line


def wants_log(values) -> bool:
    v = np.asarray(pd.Series(values).replace([np.inf, -np.inf], np.nan).dropna(), dtype=float)
    if v.size == 0 or (v <= 0).any():
        return False
    return v.max() / v.min() > 30


def _label(keys: list[str], values) -> str:
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={_short(v)}" for k, v in zip(keys, values))


def _short(v) -> str:
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.3g}"
    return str(v)


def generic_figures(frames: dict[str, pd.DataFrame], claim_id: str = "") -> Figures:
    """One figure per plottable frame: mean and band over seeds of each statistic against layer (module docstring)."""
    out = []
    for name, df in frames.items():
        spec = analyse(df)
        if spec is None:
            continue
        stats = spec["stats"][:MAX_PANELS]
        ncol = min(len(stats), 2)
        nrow = math.ceil(len(stats) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.4 * nrow), squeeze=False)
        varying = spec["varying"]
        groups = list(df.groupby(varying, sort=True)) if varying else [((), df)]
        for ax, stat in zip(axes.flat, stats):
            for key, sub in groups[:MAX_CURVES]:
                mean_band(ax, sub, spec["x"], stat, seed=spec["seed"], label=_label(varying, key) if varying else None,
                          logy=wants_log(df[stat]))  # fmt: skip
            ax.set_xlabel(spec["x"])
            ax.set_ylabel(stat)
            ax.grid(alpha=0.3)
            if varying and len(groups) > 1:
                ax.legend(fontsize=7, frameon=False)
        for ax in list(axes.flat)[len(stats):]:
            ax.set_visible(False)
        consts = ", ".join(f"{k}={_short(v)}" for k, v in spec["constant"].items())
        seeds = df[spec["seed"]].nunique() if spec["seed"] else 1
        title = f"{claim_id} {name}" + (f" ({consts})" if consts else "")
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        more = f"; {len(spec['stats']) - MAX_PANELS} more statistics not shown" if len(spec["stats"]) > MAX_PANELS else ""
        caption = (f"{claim_id} — frame `{name}`: mean over {seeds} seed(s) against {spec['x']}"
                   + (", band = lowest to highest seed" if seeds > 1 else "") + more)  # fmt: skip
        out.append((caption, fig))
    return out


# paper-like figures live in rcbench.report.paper_figures and register themselves on import
from rcbench.report import paper_figures  # noqa: E402,F401
