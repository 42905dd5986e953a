"""Mutation audit (rcbench.audit_mutants): the marker scan, the status arithmetic on synthetic runs, and one real
pytest subprocess (identity_norm on C5 and D3, made tiny with --set: seconds)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rcbench import audit as A
from rcbench import audit_mutants as M
from rcbench.claim_scan import claim_markers
from rcbench.mutants import MUTANTS


def _runs(rows):
    return pd.DataFrame([(0, *r) for r in rows], columns=A.RUN_COLUMNS)


def test_markers_are_read_without_import(tmp_path):
    (tmp_path / "test_x_demo.py").write_text(
        "import pytest\n"
        "_WHY = 'sound: ' + 'centred BN'\n"
        "@pytest.mark.claim('A6', components=('norm',), mutants={'batchnorm1d_norm': _WHY})\n"
        "def test_a6(record): pass\n"
        "@pytest.mark.claim('A6', components='norm')\n"
        "def test_a6_other(record): pass\n"
        "@pytest.mark.claim('A1')\n"
        "def test_a1(record): pass\n"
    )
    marks = claim_markers(tmp_path)
    assert [(m["claim"], m["components"], m["mutants"]) for m in marks] == [
        ("A6", ("norm",), {"batchnorm1d_norm": "sound: centred BN"}), ("A6", ("norm",), {}), ("A1", (), {})]
    assert M.declared(tmp_path) == {("A6", "norm"): {"batchnorm1d_norm": "sound: centred BN"}}
    (tmp_path / "test_w_typo.py").write_text("import pytest\n@pytest.mark.claim('A4', components=('norm',), "
                                             "mutants={'identity_nrm': 'x'})\ndef test_a4(): pass\n")
    with pytest.raises(ValueError, match=r"test_w_typo.py:3 \(A4\): mutants= names 'identity_nrm' \(no such"):
        M.declared(tmp_path)
    (tmp_path / "test_w_typo.py").unlink()
    bad = "import pytest\n@pytest.mark.claim('A2', mutants=f())\ndef test_b(): pass\n"
    (tmp_path / "test_y_bad.py").write_text(bad)
    with pytest.raises(ValueError, match=r"test_y_bad.py:2: claim marker: not a literal"):
        claim_markers(tmp_path)


def test_status_of_each_row():
    pairs = {("A6", "norm"): {"batchnorm1d_norm": "sound: centred BN", "scalar_rescale_norm": "not a mechanism"},
             ("C7", "init"): {}, ("B2", "norm"): {}}
    runs = _runs([("A6", "A", "a6", "passed", "", ""), ("B2", "B", "b2a", "passed", "", ""),
                  ("B2", "B", "b2b", "failed", "V floor", "AssertionError")])
    rows = {r["claim"]: r for r in M.mutation_rows(pairs, MUTANTS["identity_norm"], runs)}
    assert set(rows) == {"A6", "B2"}  # C7 declares init, not norm
    assert rows["A6"]["status"] == "UNEXPLAINED survivor" and rows["A6"]["expected"] == "killed"
    assert rows["B2"]["status"] == "killed" and rows["B2"]["killed"] and rows["B2"]["failed_checks"] == "V floor"
    sound = {r["claim"]: r for r in M.mutation_rows(pairs, MUTANTS["batchnorm1d_norm"], runs)}
    assert sound["A6"]["status"] == "explained survivor" and sound["A6"]["expected"] == "sound: centred BN"
    broken = M.mutation_rows(pairs, MUTANTS["batchnorm1d_norm"], _runs([("A6", "A", "a6", "xpassed", "", "")]))
    assert {r["claim"]: r["status"] for r in broken} == {"A6": "sound-control-broken", "B2": "not run"}
    # an explained survivor that is not a sound control and is killed anyway is simply killed
    killed = M.mutation_rows(pairs, MUTANTS["scalar_rescale_norm"], _runs([("A6", "A", "a6", "error", "", "")]))
    assert killed[0]["status"] == "killed"
    table = pd.DataFrame(M.mutation_rows(pairs, MUTANTS["identity_norm"], runs)
                         + M.mutation_rows(pairs, MUTANTS["batchnorm1d_norm"], runs), columns=M.COLUMNS)
    s = M.score(table)
    assert (s["good"], s["total"], s["score"]) == (3, 4, 0.75)
    assert s["unexplained"] == ["A6/identity_norm"] and s["survivors"] == ["A6/identity_norm", "A6/batchnorm1d_norm"]
    assert s["pairs_without_kill"] == ["A6/norm"]
    # a session that died marks its claims not run, not survivors
    dead = M.mutation_rows(pairs, MUTANTS["identity_norm"], _runs([("(session)", "", "", "session-error", "", "x")]))
    assert {r["status"] for r in dead} == {"not run"}


def test_bad_filters_fail_before_any_run(tmp_path):
    with pytest.raises(ValueError, match="unknown mutant"):
        M.mutation_audit(mutants="nope_norm", results_dir=tmp_path)
    with pytest.raises(ValueError, match="declares a component"):
        M.mutation_audit(claims="A1", results_dir=tmp_path)
    with pytest.raises(ValueError, match=r"unknown paper\(s\)/claim\(s\)"):
        M.mutation_audit(claims="Z9", results_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_one_mutant_on_two_claims(tmp_path):
    tiny = ["--rcbench-set", "C5.widths=8,", "--rcbench-set", "C5.depth=20", "--rcbench-set", "C5.seeds=3",
            "--rcbench-set", "D3.trials=20"]
    table, summary = M.mutation_audit(claims="C5,D3", mutants="identity_norm", results_dir=tmp_path,
                                      pytest_args=tiny, verbose=False)  # fmt: skip
    assert table[["claim", "kind", "mutant"]].values.tolist() == [["C5", "norm", "identity_norm"],
                                                                   ["D3", "norm", "identity_norm"]]
    row = table.set_index("claim").loc["C5"]
    assert row["outcome"] == "failed" and row["status"] == "killed"  # no normalisation: phi does not decay
    assert set(table["status"]) <= {"killed", "explained survivor", "UNEXPLAINED survivor"}
    run = json.loads((tmp_path / "identity_norm" / "run.json").read_text())
    assert run["options"]["norm"] == "rcbench.mutants:identity_norm" and "C5.depth=20" in run["options"]["set"]
    stored = json.loads((tmp_path / "mutants.json").read_text())
    assert stored["total"] == 2 and stored["table"][0]["claim"] == "C5"
    assert pd.read_csv(tmp_path / "mutants.csv").columns.tolist() == M.COLUMNS
    assert "identity_norm" in M.format_table(table, "github")
    md = (tmp_path / "mutants.md").read_text()
    assert "| C5 " in md and "Mutation score **" in md
    # rerun: the finished run is reused
    M.mutation_audit(claims="C5,D3", mutants="identity_norm", results_dir=tmp_path, pytest_args=tiny, verbose=False)
    assert json.loads((tmp_path / "mutants.json").read_text())["runs"][0]["reused"]
