"""The report: report.md / report.html from a stored run, read back with html.parser."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from rcbench.report import render_report
from rcbench.report.figures import FIGURES, analyse, figures_for, generic_figures
from rcbench.report.testing import chain_frame, check, write_run
from rcbench.report.testing import claim_test as make_test
from rcbench.report.verdicts import aggregate


class ReportParser(HTMLParser):
    """Collects claim rows (``tr.claim-row[data-claim]``), figures and embedded images."""

    def __init__(self):
        super().__init__()
        self.rows, self.figures, self.images, self._figure = {}, [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "claim-row" in (a.get("class") or ""):
            self.rows[a["data-claim"]] = a["data-verdict"]
        elif tag == "figure":
            self._figure = a.get("data-claim")
            self.figures.append(self._figure)
        elif tag == "img":
            self.images.append((self._figure, a.get("src", "")))

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None


def synthetic_run(path):
    tests = [
        make_test("A1", [check("min (r - 1)", 0.0, ">= -1e-9", tolerance="float64 round-off"),
                         check("spike+floor", [1, 3.55], "1 < 3.55", control=True)]),
        make_test("A3", [check("slope", 0.56, "[0.45, 0.70]", tolerance="calibrated")],
                  frames={"bn_chain": chain_frame(column="soft_rank", setting="d", values=(8, 32), rates=(0.01, 0.02))}),
        make_test("B12", [check("decay", -0.2, "< 0")], frames={"depth": chain_frame()}),
        make_test("B13", [check("floor slope", -0.3, "-0.46 ± 0.08", passed=False)], outcome="xfailed",
                  reason="measured -0.30, paper -0.46", name="test_b13_a", frames={"floor": chain_frame(seeds=2)}),
        make_test("B13", [check("floor slope n=8", -0.45, "-0.46 ± 0.08")], name="test_b13_b"),
        make_test("C7", [check("slope", 0.4, "<= 0.05", passed=False)], outcome="failed",
                  reason="ComponentError: norm my.mod:X raised"),
        make_test("D10", [], outcome="skipped"),
    ]  # fmt: skip
    return write_run(path, tests)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    run_dir = synthetic_run(tmp_path_factory.mktemp("run") / "r")
    result = render_report(run_dir)
    return run_dir, result


def test_every_claim_has_a_row_and_every_figure_is_embedded(rendered):
    run_dir, result = rendered
    p = ReportParser()
    p.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    assert p.rows == {"A1": "reproduced", "A3": "reproduced", "B12": "reproduced", "B13": "partially reproduced",
                      "C7": "failed", "D10": "skipped"}  # fmt: skip
    # every frame-bearing claim has a figure, each embedded as a decodable PNG (no external file)
    assert set(p.figures) == {"A3", "B12", "B13"} and len(p.images) == result["figures"] >= 3
    for claim, src in p.images:
        assert claim in p.rows and src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "src='figures/" not in html  # self-contained


def test_markdown_report_and_figure_files(rendered):
    run_dir, result = rendered
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    for cid in ("A1", "A3", "B12", "B13", "C7", "D10"):
        assert f"| {cid} |" in md
    assert "[~Re] partially reproduced" in md and "[¬Re] failed" in md and "measured -0.30, paper -0.46" in md
    assert "behaved as predicted (1/1)" in md and "none recorded" in md
    assert "git synthetic" in md and "| profile | quick |" in md
    for line in md.splitlines():
        if line.startswith("!["):
            assert (run_dir / line.split("](", 1)[1].rstrip(")")).is_file()


def test_report_cli_rerenders_without_recomputing(rendered, tmp_path):
    run_dir, _ = rendered
    (run_dir / "report.html").unlink()
    proc = subprocess.run([sys.executable, "-m", "rcbench.cli", "report", str(run_dir)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "report.html").is_file() and "report:" in proc.stdout and "A: A1 [Re]  A3 [Re]" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "rcbench.cli", "report", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "not an rcbench results directory" in bad.stderr


def test_aggregate_verdicts():
    assert aggregate(["passed", "passed"]) == "reproduced"
    assert aggregate(["xfailed"]) == "not reproduced"
    assert aggregate(["passed", "xfailed"]) == "partially reproduced"
    assert aggregate(["passed", "failed"]) == "failed"
    assert aggregate(["failed"], ["[XPASS(strict)] paper says ..."]) == "unexpectedly reproduced"
    assert aggregate(["skipped"]) == "skipped" and aggregate(["passed", "error"]) == "error"


def test_generic_figure_analysis():
    df = chain_frame()
    df["norm"] = "bn"
    spec = analyse(df)
    assert spec["x"] == "layer" and spec["stats"] == ["orthogonality_gap"] and spec["varying"] == ["width"]
    assert spec["constant"] == {"norm": "bn"}
    assert analyse(pd.DataFrame({"a": [1.0, 2.0]})) is None  # nothing to plot against
    figs = generic_figures({"x": df}, "B12")
    assert len(figs) == 1 and figs[0][1].axes[0].get_yscale() == "log"  # spans more than 1.5 decades


def test_paper_figure_falls_back_when_frames_change():
    FIGURES["ZZ"] = lambda frames: frames["missing"]
    try:
        figs, note = figures_for("ZZ", {"depth": chain_frame()})
        assert len(figs) == 1 and "KeyError" in note
    finally:
        del FIGURES["ZZ"]


def _paper_frames():
    rng = np.random.default_rng(1)
    rows = []
    for norm in ("bn", "none"):
        for d in (8, 16, 32):
            for s in range(3):
                for l in range(0, 100, 10):
                    r = 0.6 * d**0.5 + rng.random() if norm == "bn" else max(1.0, d / 2 * np.exp(-l / 20))
                    rows.append(dict(layer=l, seed=s, width=d, norm=norm, soft_rank=r, numerical_rank=min(d, 2 * r)))
    a = pd.DataFrame(rows)
    b = chain_frame(values=(32, 512), rates=(0.2, 0.3))
    floor = pd.DataFrame([dict(width=w, seed=s, orthogonality_gap=w**-0.47 * (1 + 0.01 * s))
                          for w in (16, 32, 64, 128) for s in range(3)])  # fmt: skip
    c = pd.DataFrame([dict(weight=1, seed=s, depth=L, log_grad=(0.015 * L if init == "gaussian" else 0.0) + 0.1 * s,
                           grad_norm=1.0, init=init, gain_exponent=np.nan)
                      for init in ("orthogonal", "gaussian") for L in (10, 50, 100) for s in range(3)])  # fmt: skip
    d = pd.DataFrame([dict(layer=l, seed=s, activation=act, mf_gap=np.exp(-r * l), mf_gamma=5 * np.exp(-r * l),
                           bound=5 * np.exp(-0.8 * r * l))
                      for act, r in (("relu", 0.3), ("tanh", 0.05)) for l in range(20) for s in range(2)])  # fmt: skip
    saw = pd.DataFrame([dict(layer=l, sublayer=sub, seed=s, probe=p, activation=act, epoch=e,
                             gap=(0.3 if sub == "norm" else 0.6) + 0.01 * s)
                        for act in ("relu", "sigmoid") for e in (0, 5) for l in range(1, 6)
                        for sub in ("fc", "act", "norm") for s in range(2) for p in range(2)
                        if not (l == 1 and sub == "fc")])  # fmt: skip
    steps = pd.DataFrame([dict(layer=l, seed=s, activation="relu", gap_ln=1 / (l + 1) + 0.01 * s, gap_centred=2 / (l + 1))
                          for l in range(5) for s in range(2)])  # fmt: skip
    return {"A4": {"chain": a}, "B12": {"bn_chain": b}, "B13": {"layer_mean": floor}, "C7": {"sweep": c},
            "D7": {"mean_field": d}, "D8": {"sublayer_gaps": saw, "ln_steps": steps}}  # fmt: skip


@pytest.mark.parametrize("cid", ["A4", "B12", "B13", "C7", "D7", "D8"])
def test_paper_like_figures_draw_without_falling_back(cid):
    """Each paper's figure function recognises frames shaped like its experiments' (no generic fallback)."""
    frames = _paper_frames()[cid]
    assert cid in FIGURES
    figs, note = figures_for(cid, frames)
    assert figs and note == "", note
    if cid == "A4":  # rank vs depth + rank vs width with the fitted slope
        assert len(figs) == 2 and "fitted slope" in figs[1][0]
    if cid == "B13":
        assert "fitted slopes layer_mean -0.470" in figs[0][0]
    if cid == "D7":
        assert all(ax.get_yscale() == "log" for ax in figs[0][1].axes)
    if cid == "D8":  # the sawtooth, one panel per epoch, then the generic figure of the frame without sub-layers
        assert "sub-layer" in figs[0][0] and len(figs[0][1].axes) == 2 and "ln_steps" in figs[-1][0]


def test_progress_plugin(tmp_path):
    (tmp_path / "test_x.py").write_text(textwrap.dedent('''
        def test_ok():
            pass

        def test_bad():
            raise ValueError("boom in my layer")
    '''))
    proc = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:terminal", "-p",
                           "rcbench.report.progress", "-p", "no:cacheprovider", "-o", "addopts="],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1
    assert "2/2" in proc.stderr and "boom in my layer" in proc.stderr and "FAIL" in proc.stderr


def test_nonfinite_values_do_not_break_figures():
    df = chain_frame()
    df.loc[df.layer == 0, "orthogonality_gap"] = np.inf
    assert len(generic_figures({"x": df}, "C5")) == 1
