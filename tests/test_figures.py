"""The designed figure of every claim, drawn from a stored quick run's frames and checks.

The fixture ``tests/data/figure_frames/`` holds every frame of a full quick run (master seed 0), shrunk to three
seeds and ~20 recorded layers (``<CLAIM>__<name>.csv.gz``) and the run's ``checks.csv``. Every catalogued claim
must have a registered figure that draws from them without error, with axis labels on every panel, a legend on
every panel with more than one series, and no raw column name as a label.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer

from rcbench.catalog import CLAIMS
from rcbench.report import figures
from rcbench.report.figures import FIGURES, figures_for, frames_by_claim, to_png

DATA = Path(__file__).parent / "data" / "figure_frames"


@pytest.fixture(scope="module")
def stored():
    frames = {p.name.removesuffix(".csv.gz"): pd.read_csv(p) for p in sorted(DATA.glob("*__*.csv.gz"))}
    return frames_by_claim(frames), pd.read_csv(DATA / "checks.csv.gz")


def test_every_claim_has_a_designed_figure():
    missing = sorted(set(CLAIMS) - set(FIGURES), key=lambda c: (c[0], int(c[1:])))
    assert not missing, f"claims without a designed figure: {missing}"


def _series(ax) -> int:
    """Data series of a panel: lines with data, scatters, line collections, bar groups, error bars (not the bands
    between seeds, nor reference lines that span the axes)."""
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 0 and not _spanning(ln)]
    cols = [c for c in ax.collections if isinstance(c, PathCollection | LineCollection) and len(c.get_offsets()) +
            (len(c.get_segments()) if isinstance(c, LineCollection) else 0) > 0]  # fmt: skip
    bars = [c for c in ax.containers if isinstance(c, BarContainer | ErrorbarContainer)]
    return len(lines) + len(cols) + len(bars)


def _spanning(line) -> bool:
    return line.get_transform() is not line.axes.transData  # axhline / axvline: axes-relative coordinates


def _texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.get_title("left")]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in out if t]


RAW = re.compile(r"\b[a-z]\w*=[\w.]")  # "arm=bn", "norm=bn_centered_std"


@pytest.mark.parametrize("cid", sorted(CLAIMS, key=lambda c: (c[0], int(c[1:]))))
def test_claim_figure_reads_its_frames(stored, cid):
    by_claim, checks = stored
    figs, note = figures_for(cid, by_claim.get(cid, {}), checks=checks, options={})
    assert figs and note == "", f"{cid}: {note or 'no figure'}"
    columns = {c for df in by_claim.get(cid, {}).values() for c in df.columns if "_" in c}
    for k, (caption, fig) in enumerate(figs, 1):
        where = f"{cid} figure {k}"
        assert caption.startswith(cid) and len(caption) > 40, where
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), f"{where}: a panel without axis labels"
            if _series(ax) > 1:
                assert ax.get_legend() is not None, f"{where}: {_series(ax)} series and no legend"
        for text in _texts(fig):
            assert not RAW.search(text), f"{where}: raw label {text!r}"
            words = set(re.findall(r"[A-Za-z]\w*", text))
            assert not (words & columns), f"{where}: column name {sorted(words & columns)} used as a label: {text!r}"
    if cid in ("A5", "D8"):  # encoding is the same for every figure: two suffice
        assert to_png(figs[0][1])[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("cid, kind", [("A4", "norm"), ("A3", "norm"), ("A8", "norm"), ("A10", "norm"),
                                       ("C7", "init"), ("B22", "init"), ("A11", "norm")])  # fmt: skip
def test_labels_follow_substituted_components(stored, cid, kind):
    """Under ``--norm torch.nn:LayerNorm`` the normalised arm keeps its role and names the user's module."""
    by_claim, checks = stored
    spec = {"norm": "torch.nn:LayerNorm", "init": "mypkg.inits:my_init"}[kind]
    figs, note = figures_for(cid, by_claim[cid], checks=checks, options={kind: spec})
    assert figs and not note, note
    texts = [t for _, f in figs for t in _texts(f)]
    assert any(spec.replace(":", ".") in t for t in texts), texts


def test_no_generic_fallback():
    assert figures_for("ZZ", {"x": pd.DataFrame({"layer": [0, 1], "v": [1.0, 2.0]})}) == (
        [], "no figure is registered for ZZ")
    FIGURES["ZZ"] = lambda data: data.frame("missing")
    try:
        figs, note = figures_for("ZZ", {"x": pd.DataFrame({"a": [1]})})
        assert figs == [] and "KeyError" in note and "missing" in note
    finally:
        del FIGURES["ZZ"]


def test_no_lines_bridge_unrecorded_layers():
    """A5's chain records layer 0, then every 4th layer from the burn-in at 100: the mean curve has a gap there."""
    import numpy as np

    from rcbench.report.plotting import _runs

    xs = np.array([0, 100, 104, 108, 112], float)
    assert _runs(xs, False).tolist() == [0]
    assert _runs(np.arange(0, 50, 5.0), False).size == 0
    assert _runs(np.array([1, 2, 4, 8, 16.0]), True).size == 0  # evenly spaced on a log axis


def test_per_paper_modules_import_the_registry_not_the_facade():
    src = Path(figures.__file__).parent
    modules = sorted(src.glob("figures_?*.py")) + [src / "plotting.py"]
    assert {"figures_b_lemmas.py", "figures_b_chains.py", "figures_b_nets.py"} <= {m.name for m in modules}
    for path in modules:
        text = path.read_text(encoding="utf-8")
        assert "from rcbench.report.figures import" not in text and "import rcbench.report.figures" not in text
    assert not (src / "paper_figures.py").exists()
    assert matplotlib.get_backend().lower() == "agg"
