"""The figure registry and the shared style of the report's figures (one designed figure per claim).

Per-paper modules (:mod:`rcbench.report.figures_a` ... ``figures_d``) import this module and register one function
per claim with :func:`figure`; :mod:`rcbench.report.figures` imports them and draws. A figure function receives a
:class:`ClaimData` (the claim's frames, its checks and the run's options) and returns ``[(caption, Figure)]``.

Style rules every figure follows (so the report reads as one document and builds fast):

* matplotlib's object API on the Agg canvas (:func:`new_figure`), fixed margins in inches (no ``tight_layout`` or
  ``bbox_inches="tight"``, each costs a second draw), no minor ticks, at most ~5 major ticks per axis;
* the measured statistic in colour, mean over seeds with a band from the lowest to the highest seed
  (:func:`seed_band`), markers at the recorded layers only and lines only between evenly recorded ones;
* the paper's values and theory curves black or grey and dashed (:func:`paper`, :func:`reference`), the negative
  control grey and dotted with open markers (:data:`CONTROL`);
* axes in the papers' terms (:data:`QUANTITY`), log where the paper uses log, a legend when there are several series.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator  # noqa: E402

__all__ = ["FIGURES", "figure", "ClaimData", "new_figure", "seed_band", "every_seed", "paper", "reference",
           "hline", "finish", "deviation_bars", "bar_groups", "COLORS", "CONTROL", "PAPER", "THEORY", "log_axis",
           "width_axis", "label_component", "seeds_text", "parse_number", "STYLE", "check_value",
           "check_tolerance", "identity_items", "identity_figure", "integer_axis"]  # fmt: skip

Figures = list[tuple[str, Figure]]
#: claim id -> fn(data: ClaimData) -> [(caption, Figure)].
FIGURES: dict[str, Callable[["ClaimData"], Figures]] = {}

#: rcParams every figure is drawn with (applied by :mod:`rcbench.report.figures` around each figure).
STYLE = {
    "font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
    "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.5, "axes.spines.top": False,
    "axes.spines.right": False, "legend.frameon": False, "lines.linewidth": 1.2, "lines.markersize": 3,
    "xtick.minor.visible": False, "ytick.minor.visible": False, "axes.titlelocation": "left",
}  # fmt: skip
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
#: the paper's values: black dashed with crosses; a theory curve: grey dashed; a negative control: grey dotted.
PAPER = {"color": "black", "ls": "--", "marker": "x", "ms": 4, "lw": 1.0}
THEORY = {"color": "0.35", "ls": "--", "lw": 1.0}
CONTROL = {"color": "0.45", "ls": ":", "marker": "o", "mfc": "none", "lw": 1.1}


def figure(*claim_ids: str):
    """Register the designed figure of ``claim_ids`` (a function ``fn(data) -> [(caption, Figure)]``)."""

    def deco(fn):
        for cid in claim_ids:
            FIGURES[cid] = fn
        return fn

    return deco


@dataclass
class ClaimData:
    """What a figure of one claim may read: its frames ``{name: DataFrame}``, its rows of ``checks.csv`` and the
    run's options (``run.json`` ``options``: the substituted ``norm``/``init``/``activation`` specs)."""

    claim: str
    frames: dict[str, pd.DataFrame]
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    options: dict = field(default_factory=dict)

    def frame(self, *names: str) -> pd.DataFrame:
        """The first of ``names`` that the claim recorded (KeyError naming them all otherwise)."""
        for n in names:
            if n in self.frames:
                return self.frames[n]
        raise KeyError(f"{self.claim}: none of the frames {names} (recorded: {sorted(self.frames)})")

    def has(self, name: str) -> bool:
        return name in self.frames

    def user(self, kind: str) -> str | None:
        """The user's spec for ``kind`` (norm, init, activation) when the run substituted it, else None."""
        v = self.options.get(kind)
        return str(v) if v else None

    def role(self, role: str, kind: str, default: str) -> str:
        """A legend label keeping the arm's role: ``"normalised arm: torch.nn:LayerNorm"`` under ``--norm``, else
        ``"normalised arm: <default>"``."""
        return f"{role}: {label_component(self.user(kind) or default)}"

    def check_rows(self, pattern: str, control: bool | None = None) -> pd.DataFrame:
        """Checks whose statistic matches the regular expression ``pattern``."""
        c = self.checks
        if c is None or c.empty or "statistic" not in c.columns:
            return pd.DataFrame(columns=["statistic", "measured", "expected", "passed"])
        m = c["statistic"].astype(str).str.contains(pattern, regex=True)
        if control is not None and "control" in c.columns:
            m &= c["control"].astype(str).str.lower().isin(["true", "1"]) == control
        return c[m]


def label_component(spec: str) -> str:
    """``torch.nn:LayerNorm`` -> ``torch.nn.LayerNorm``; built-in names are returned as given."""
    return str(spec).replace(":", ".")


def seeds_text(df: pd.DataFrame, col: str = "seed") -> str:
    n = int(df[col].nunique()) if col in df.columns else 1
    return f"{n} seed{'s' if n != 1 else ''}"


_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_number(text) -> float | None:
    """The first number in ``text`` (``"<= 1e-10"`` -> 1e-10), or None."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    m = _NUM.search(str(text))
    return float(m.group()) if m else None


# ---------------------------------------------------------------------------------------------------------------
# figure, axes
def new_figure(ncols: int = 1, nrows: int = 1, *, w: float = 3.1, h: float = 2.3, left: float = 0.6,
               right: float = 0.12, bottom: float = 0.42, top: float = 0.28, wspace: float = 0.6,
               hspace: float = 0.6, sharey: bool = False):  # fmt: skip
    """A figure of ``nrows x ncols`` panels of ``w x h`` inches with fixed margins (inches); returns (fig, axes
    as a flat list)."""
    W = left + right + ncols * w + (ncols - 1) * wspace
    H = bottom + top + nrows * h + (nrows - 1) * hspace
    fig = Figure(figsize=(W, H))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
    fig.subplots_adjust(left=left / W, right=1 - right / W, bottom=bottom / H, top=1 - top / H,
                        wspace=wspace / w, hspace=hspace / h)  # fmt: skip
    out = list(axes.flat)
    for ax in out:
        # tick style on the axes itself: ticks are created lazily at draw time, possibly outside STYLE's context
        ax.tick_params(labelsize=7, length=2.5, width=0.6, pad=2)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        # fixed label positions (inches from the axes): the automatic ones measure every tick label's extent
        ax.xaxis.set_label_coords(0.5, -0.3 / h)
        ax.yaxis.set_label_coords(-(left - 0.12) / w if ax.get_subplotspec().is_first_col() else -0.42 / w, 0.5)
    return fig, out


def _tick_text(v, _pos=None) -> str:
    """Plain tick labels (``0.01``, ``1e-12``): mathtext (``10^{-12}``) costs a parse per label."""
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:g}" if 1e-3 <= a < 1e5 else f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


PLAIN = FuncFormatter(_tick_text)


def integer_axis(ax, which: str = "x"):
    """Integer ticks (epochs, layer counts)."""
    (ax.xaxis if which == "x" else ax.yaxis).set_major_locator(MaxNLocator(6, integer=True))


def log_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Tick positions for a log axis over [lo, hi]: 1-2-5 within a short span, else every k-th decade (at most
    ``most``). Computed once: matplotlib's LogLocator returns ticks far outside the view, and each becomes an artist."""
    if not (lo > 0 and hi > 0 and np.isfinite(lo) and np.isfinite(hi)):
        return []
    lo, hi = min(lo, hi), max(lo, hi)
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if e1 - e0 <= 2:
        ticks = [m * 10.0**e for e in range(e0, e1 + 1) for m in (1, 2, 5)]
        ticks = [t for t in ticks if lo / 1.05 <= t <= hi * 1.05]
        if len(ticks) >= 2:
            return ticks
    step = max(1, math.ceil((e1 - e0 + 1) / most))
    return [10.0**e for e in range(e0, e1 + 1) if e % step == 0]


def log_axis(ax, which: str = "y"):
    """A log axis with no minor ticks (each tick is an artist: minor ticks are slow), labelled at decades, or at
    1-2-5 when the data span less than two decades. Call it after plotting (it reads the data limits)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    lim = ax.dataLim.intervaly if which == "y" else ax.dataLim.intervalx
    ticks = log_ticks(*(float(v) for v in lim))
    axis.set_major_locator(FixedLocator(ticks) if ticks else LogLocator(numticks=5))
    axis.set_major_formatter(PLAIN)
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def width_axis(ax, xs, which: str = "x"):
    """A log axis for widths with ticks at the measured widths, labelled as plain numbers."""
    xs = sorted({float(v) for v in xs})
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(FixedLocator(xs))
    axis.set_major_formatter(PLAIN)
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def _runs(xs: np.ndarray, log: bool) -> np.ndarray:
    """Indices after which a line must break: where the recording step jumps (more than 1.6 x the smaller of the
    neighbouring steps), so that no line bridges layers that were not recorded."""
    if xs.size < 3:
        return np.array([], dtype=int)
    v = np.log(xs) if log and (xs > 0).all() else xs.astype(float)
    d = np.diff(v)
    brk = []
    for i in range(d.size):
        nb = [d[j] for j in (i - 1, i + 1) if 0 <= j < d.size]
        if nb and d[i] > 1.6 * min(nb) + 1e-12:
            brk.append(i)
    return np.array(brk, dtype=int)


def _broken(xs: np.ndarray, *ys: np.ndarray, log: bool = False):
    """Insert NaN rows after each break of :func:`_runs` (matplotlib leaves a gap at NaN)."""
    brk = _runs(xs, log)
    if brk.size == 0:
        return (xs, *ys)
    xs2 = np.insert(xs.astype(float), brk + 1, np.nan)
    return (xs2, *(np.insert(np.asarray(y, float), brk + 1, np.nan) for y in ys))


def seed_band(ax, df: pd.DataFrame, x: str, y: str, *, seed: str | None = "seed", label=None, color=None,
              marker="o", ls="-", band: bool = True, logx: bool = False, ms=None, lw=None, alpha=0.2, agg="mean",
              bridge: bool | None = None, **kw):  # fmt: skip
    """Mean (or ``agg``) of ``y`` over seeds against ``x``, markers at the recorded ``x`` only, the band between the
    lowest and highest seed. Along a chain (``x == "layer"``, or ``bridge=False``) lines only join evenly recorded
    layers; across separate networks (a depth or width sweep) consecutive points are joined. Non-finite values are
    dropped. Returns the aggregated series."""
    d = df[[x, y] + ([seed] if seed and seed in df.columns else [])].replace([np.inf, -np.inf], np.nan).dropna()
    if d.empty:
        return None
    g = d.groupby(x)[y]
    m = g.agg(agg)
    xs = m.index.to_numpy(float)
    if bridge is None:
        bridge = x != "layer"
    brk = (lambda a, *b, log=False: (a, *b)) if bridge else _broken
    xb, mb = brk(xs, m.to_numpy(float), log=logx)
    style = {"lw": lw or 1.2, "ms": ms or (3 if len(xs) <= 60 else 1.5)}
    style.update(kw)
    (line,) = ax.plot(xb, mb, marker=marker if len(xs) <= 200 else None, ls=ls, color=color, label=label, **style)
    if marker is None and len(xs) > 1:  # a point recorded on its own (layer 0 before the burn-in) keeps a marker
        alone = [i for i in range(len(xb)) if np.isfinite(mb[i]) and all(not (0 <= j < len(xb)) or np.isnan(mb[j])
                                                                          for j in (i - 1, i + 1))]  # fmt: skip
        if alone:
            ax.plot(xb[alone], mb[alone], ls="none", marker="o", ms=2.5, color=line.get_color())
    if band and seed and seed in d.columns and (g.size() > 1).any():
        xf, lo, hi = brk(xs, g.min().to_numpy(float), g.max().to_numpy(float), log=logx)
        ax.fill_between(xf, lo, hi, color=line.get_color(), alpha=alpha, lw=0)
    return m


def every_seed(ax, df: pd.DataFrame, x: str, y: str, *, seed: str = "seed", color=None, label=None, lw=0.6,
               alpha=0.5, logx=False, ls="-", **kw):  # fmt: skip
    """Every seed thinly, as one line collection (one artist, one legend entry for all seeds)."""
    segs = []
    for _, g in df.groupby(seed):
        g = g.replace([np.inf, -np.inf], np.nan).dropna(subset=[y]).sort_values(x)
        if g.empty:
            continue
        xs, ys = g[x].to_numpy(float), g[y].to_numpy(float)
        cuts = _runs(xs, logx) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, xs.size]):
            segs.append(np.column_stack([xs[a:b], ys[a:b]]))
    if not segs:
        return None
    lc = LineCollection(segs, colors=[color or COLORS[0]], linewidths=lw, alpha=alpha, label=label, linestyles=ls,
                        **kw)  # fmt: skip
    ax.add_collection(lc)
    ax.autoscale_view()
    return lc


def paper(ax, xs, ys, label: str, **kw):
    """The paper's values (read-offs or stated numbers): black, dashed, crosses."""
    style = dict(PAPER)
    style.update(kw)
    return ax.plot(list(xs), list(ys), label=label, **style)[0]


def reference(ax, xs, ys, label: str, **kw):
    """A theory curve or bound: grey dashed."""
    style = dict(THEORY)
    style.update(kw)
    return ax.plot(list(xs), list(ys), label=label, **style)[0]


def hline(ax, y: float, label: str | None, **kw):
    """A threshold or stated value as a horizontal dashed line."""
    style = {"color": "0.2", "ls": "--", "lw": 0.9}
    style.update(kw)
    return ax.axhline(y, label=label, **style)


def finish(ax, xlabel: str, ylabel: str, *, title: str | None = None, legend: bool | str = "auto", loc="best",
           ncol: int = 1, outside: bool = False):  # fmt: skip
    """Axis labels (the papers' names), title, and a legend when the panel has more than one labelled series."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, y=1.0, pad=4)  # a fixed position: the automatic one measures every tick label
    handles = [h for h in ax.get_legend_handles_labels()[1] if h and not h.startswith("_")]
    if legend is True or (legend == "auto" and len(handles) > 1) or (legend == "auto" and len(handles) == 1
                                                                      and len(ax.lines) + len(ax.collections) > 1):
        if outside:  # right of the panel (the figure was made with a wide right margin); long labels wrap
            hs, ls = ax.get_legend_handles_labels()
            ls = [textwrap.fill(t, 34, subsequent_indent="  ") for t in ls]
            ax.legend(hs, ls, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=ncol, handlelength=1.8)
        else:
            ax.legend(loc=loc, ncol=ncol, handlelength=1.8)


def _finite_pos(v) -> np.ndarray:
    a = np.asarray(pd.to_numeric(pd.Series(list(v)), errors="coerce"), dtype=float)
    return a[np.isfinite(a)]


def deviation_bars(ax, items: list[tuple[str, float, float]], *, xlabel="largest deviation (log scale)",
                   floor: float = 1e-18, control: set[int] | None = None):  # fmt: skip
    """A deterministic identity check drawn as what it is: one horizontal bar per checked identity with its largest
    deviation and a tick at its tolerance (``items`` = ``[(name, max deviation, tolerance)]``); a deviation of exactly
    0 is drawn at ``floor`` and labelled "0"."""
    names = [n for n, _, _ in items]
    dev = np.array([abs(float(v)) if v is not None and np.isfinite(float(v)) else np.nan for _, v, _ in items])
    tol = np.array([float(t) if t is not None else np.nan for _, _, t in items])
    shown = np.where(dev > floor, dev, floor)
    ys = np.arange(len(items))[::-1]
    colors = ["0.6" if control and i in control else (COLORS[0] if not (dev[i] > tol[i]) else COLORS[1])
              for i in range(len(items))]  # fmt: skip
    ax.barh(ys, shown, color=colors, height=0.55, label="largest deviation measured")
    ax.scatter(tol, ys, marker="|", s=160, color="black", lw=1.6, label="tolerance", zorder=3)
    for y, v, s in zip(ys, dev, shown):
        ax.text(s * 1.6, y, "0" if v <= floor else f"{v:.1e}", va="center", fontsize=6)
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=6.5)
    ax.set_xscale("log")
    lo = min(floor, np.nanmin(shown)) / 3
    hi = np.nanmax(np.concatenate([shown, tol[np.isfinite(tol)]])) * 1e3
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(log_ticks(lo, hi, most=6)))
    ax.xaxis.set_major_formatter(PLAIN)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    handles, labels = ax.get_legend_handles_labels()
    if control:
        handles.append(Patch(color="0.6"))
        labels.append("negative control")
    ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(-0.02, 1.0), ncol=2, fontsize=6.5,
              handlelength=1.2, columnspacing=0.8)  # above the bars


def bar_groups(ax, categories: list[str], series: dict[str, list[float]], *, errors: dict | None = None,
               colors=None, styles: dict | None = None):  # fmt: skip
    """Grouped vertical bars: one group per category, one bar per series (legend = series names)."""
    k = max(len(series), 1)
    width = 0.8 / k
    xs = np.arange(len(categories))
    for i, (name, vals) in enumerate(series.items()):
        st = {"color": (colors or COLORS)[i % len(colors or COLORS)]}
        st.update((styles or {}).get(name, {}))
        err = (errors or {}).get(name)
        ax.bar(xs + (i - (k - 1) / 2) * width, vals, width * 0.92, label=name, yerr=err, capsize=2 if err else 0,
               **st)  # fmt: skip
    ax.set_xticks(xs)
    ax.set_xticklabels(categories)
    ax.grid(axis="x", visible=False)
    ax.xaxis.set_major_locator(FixedLocator(xs))
    return xs


def finite(s: pd.Series) -> pd.Series:
    return s.replace([np.inf, -np.inf], np.nan)


def nice_float(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isinf(f):
        return "∞"
    return f"{f:g}"


def check_value(data: ClaimData, pattern: str, *, how: str = "absmax") -> float | None:
    """The measured value of the checks matching ``pattern`` (``absmax``: the largest |value| over them; ``max``,
    ``min``: signed); None when the claim recorded no such check or it is not a number."""
    rows = data.check_rows(pattern)
    vals = [parse_number(v) for v in rows["measured"]] if len(rows) else []
    vals = [v for v in vals if v is not None and math.isfinite(v)]
    if not vals:
        return None
    return {"absmax": max(abs(v) for v in vals), "max": max(vals), "min": min(vals)}[how]


def check_tolerance(data: ClaimData, pattern: str) -> float | None:
    rows = data.check_rows(pattern)
    return parse_number(rows["expected"].iloc[0]) if len(rows) else None


def identity_items(data: ClaimData, specs) -> tuple[list, set]:
    """``specs`` = ``[(label, check regex, how, tolerance or None, is_control)]`` -> items for :func:`deviation_bars`
    (``how``: ``absmax`` for ``|deviation| <= tol``; ``violation_above`` / ``violation_below`` for one-sided checks,
    the amount by which the measured value crosses 0, else 0)."""
    items, control = [], set()
    for label, pattern, how, tol, is_control in specs:
        if how == "violation_above":
            v = check_value(data, pattern, how="max")
            v = None if v is None else max(0.0, v)
        elif how == "violation_below":
            v = check_value(data, pattern, how="min")
            v = None if v is None else max(0.0, -v)
        else:
            v = check_value(data, pattern, how=how)
        if v is None:
            continue
        t = tol if tol is not None else check_tolerance(data, pattern)
        items.append((label, v, t if t is not None else float("nan")))
        if is_control:
            control.add(len(items) - 1)
    if not items:
        raise KeyError(f"{data.claim}: none of the identity checks were recorded")
    return items, control


def identity_figure(data: ClaimData, specs, *, caption: str, ylabel: str, xlabel: str = "largest deviation (log)",
                    w: float = 3.4, left: float = 2.5):  # fmt: skip
    items, control = identity_items(data, specs)
    fig, (ax,) = new_figure(w=w, h=0.3 * len(items) + 0.5, left=left, top=0.5 if control else 0.35)
    deviation_bars(ax, items, xlabel=xlabel, control=control)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_label_coords(-(left - 0.12) / w, 0.5)
    return [(caption, fig)]
