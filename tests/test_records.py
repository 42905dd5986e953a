"""Tests of the records, the results store (atomic, strict JSON, no pickle), the catalogue and the CLI."""

import json
import math
import os

import pandas as pd
import pytest
import torch

from rcbench import results
from rcbench.catalog import CLAIMS, PAPERS, get_claim
from rcbench.cli import main, verdict_table
from rcbench.records import ClaimRecorder


def test_catalogue_is_complete():
    counts = {p: sum(c.paper == p for c in CLAIMS.values()) for p in PAPERS}
    assert counts == {"A": 11, "B": 32, "C": 11, "D": 20}
    assert all(c.statement and c.source and c.kind for c in CLAIMS.values())
    with pytest.raises(KeyError, match="unknown claim id"):
        get_claim("Z9")


def test_recorder_checks_and_verify():
    rec = ClaimRecorder("A2")
    assert rec.check("r", torch.tensor(1.05), expected="< 1.1", tolerance="t", passed=True)
    rec.check("ctrl", 8.4, expected="> 1.1", tolerance="t", passed=False, control=True)
    with pytest.raises(AssertionError, match=r"\[control\] ctrl: measured 8.4"):
        rec.verify()
    assert rec.rows()[0]["measured"] == pytest.approx(1.05)
    with pytest.raises(KeyError):
        ClaimRecorder("Q1")
    with pytest.raises(TypeError):
        rec.frame("x", [1, 2])


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    results.write_json(target, {"x": 1})

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        results.write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # temporary file cleaned up


def test_strict_json_for_non_finite_values(tmp_path):
    results.write_json(tmp_path / "r.json", {"gap": math.inf, "t": torch.tensor([1.0, float("nan")])})
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text) == {"gap": "inf", "t": [1.0, "nan"]}


def test_load_run_and_verdict_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an rcbench results directory"):
        results.load_run(tmp_path)
    check = dict(claim="A2", statistic="r", measured=1.0, expected="<1.1", tolerance="t", passed=True, control=False)
    tests = [
        dict(nodeid="t::a[0]", claim="A2", outcome="passed", verdict="reproduced", checks=[check]),
        dict(nodeid="t::a[1]", claim="A2", outcome="xfailed", verdict="not reproduced", checks=[check]),
        dict(nodeid="t::b", claim="A1", outcome="passed", verdict="reproduced", checks=[]),
    ]
    results.write_json(tmp_path / results.RUN_FILE, {"tests": tests})
    results.write_frame(tmp_path / results.CHECKS_FILE, pd.DataFrame([check]))
    table = verdict_table(results.load_run(tmp_path))
    assert table["id"].tolist() == ["A1", "A2"]
    assert table.set_index("id").loc["A2", "verdict"] == "partially reproduced"


def test_cli_list(capsys):
    assert main(["list", "--paper", "C"]) == 0
    out = capsys.readouterr().out
    assert "C11" in out and "A1" not in out
    assert main(["list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 74


def test_installed_torch_matches_tox_factor():
    """Under tox's torch factors (RCBENCH_EXPECT_TORCH=2.13 / 2.14) the installed torch is the one asked for."""
    expected = os.environ.get("RCBENCH_EXPECT_TORCH")
    if not expected:
        pytest.skip("not running under a tox torch factor")
    assert torch.__version__.startswith(expected)
