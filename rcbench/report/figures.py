"""Figures of a claims run: one designed figure per claim, drawn from the claim's tidy frames
(``frames/<CLAIM>__<name>.csv``), its checks and the run's options, never from a second computation.

The registry and the shared style live in :mod:`rcbench.report.plotting`; the figures of each paper in
:mod:`rcbench.report.figures_a` ... :mod:`rcbench.report.figures_d` (paper B's split in ``figures_b_lemmas``,
``figures_b_chains`` and ``figures_b_nets``; imported here, so that importing this module registers all of them).
There is no generic fallback: a claim without a registered figure, or whose figure fails on its frames, gets no
figure and a note saying why (``tests/test_figures.py`` requires a figure for every catalogued claim and checks axis
labels and legends).
"""

from __future__ import annotations

import io

import matplotlib
import pandas as pd

from rcbench.report import (  # noqa: F401  (register the figures)
    figures_a,
    figures_b_chains,
    figures_b_lemmas,
    figures_b_nets,
    figures_c,
    figures_d,
)
from rcbench.report.plotting import FIGURES, STYLE, ClaimData, Figures, figure

__all__ = ["FIGURES", "figure", "figures_for", "frames_by_claim", "to_png", "ClaimData", "DPI"]

#: PNG resolution of the report's figures (the panels are drawn at ~3 x 2.3 inches: ~270 x 200 px per panel).
DPI = 100


def frames_by_claim(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    """``{"A3__bn_chain": df}`` (as :func:`rcbench.results.load_run` returns them) -> ``{"A3": {"bn_chain": df}}``."""
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for stem, df in frames.items():
        cid, _, name = stem.partition("__")
        out.setdefault(cid, {})[name or stem] = df
    return out


def _claim_checks(checks, claim_id: str) -> pd.DataFrame:
    if checks is None or len(checks) == 0:
        return pd.DataFrame()
    if "claim" in checks.columns:
        return checks[checks["claim"].astype(str) == claim_id]
    return checks


def figures_for(claim_id: str, frames: dict[str, pd.DataFrame], *, checks: pd.DataFrame | None = None,
                options: dict | None = None) -> tuple[Figures, str]:  # fmt: skip
    """The designed figures of one claim ``[(caption, Figure)]`` and a note (empty, or why there is none).

    ``frames`` = the claim's frames ``{name: DataFrame}``; ``checks`` = ``checks.csv`` (all claims or this claim's
    rows); ``options`` = ``run.json``'s ``options`` (substituted components name the arms)."""
    if not frames and (checks is None or len(_claim_checks(checks, claim_id)) == 0):
        return [], ""
    fn = FIGURES.get(claim_id)
    if fn is None:
        return [], f"no figure is registered for {claim_id}"
    data = ClaimData(claim_id, dict(frames), _claim_checks(checks, claim_id), dict(options or {}))
    try:
        with matplotlib.rc_context(STYLE):
            figs = list(fn(data))
    except Exception as exc:  # a frame changed shape or the test recorded fewer frames: say so, keep the report
        return [], f"figure unavailable ({type(exc).__name__}: {exc})"
    subs = ", ".join(f"--{k} {v}" for k, v in data.options.items() if k in ("norm", "init", "activation") and v)
    if subs:  # the caption says what the paper's claim predicts; the verdict says whether the user's component kept it
        figs = [(f"{claim_id} ({subs} in the arm labelled with your module; the caption is the claim's prediction): "
                 f"{cap.partition(': ')[2] or cap}", fig) for cap, fig in figs]
    return figs, ""


def to_png(fig, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (fixed margins: no tight bounding box, which would draw the figure twice)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
