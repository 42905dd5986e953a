"""Scale audit (rcbench.audit_scales): SCALES read by ast, --set items of a configuration, validation before any
run, and one real configuration (C5, tiny: seconds)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rcbench import audit_scales as S
from rcbench.claim_scan import scale_grids
from rcbench.overrides import entries


def test_scales_are_read_without_import(tmp_path):
    (tmp_path / "test_x_demo.py").write_text(
        "_W = (64, 2 ** 7)\n"
        "# widths from the paper's regime\n"
        "SCALES: dict = {'C7': [{'width': 64, 'batch': 64}, {'width': 128, 'batch': 128}],\n"
        "                'A3': [{'chain.widths': _W}]}\n"
    )
    (tmp_path / "test_y_demo.py").write_text("SCALES = {'C7': [{'depths': [10, 20]}]}\n")
    assert scale_grids(tmp_path) == {"C7": [{"width": 64, "batch": 64}, {"width": 128, "batch": 128},
                                            {"depths": [10, 20]}], "A3": [{"chain.widths": (64, 128)}]}
    (tmp_path / "test_z_bad.py").write_text("SCALES = {'C7': [{}]}\n")
    with pytest.raises(ValueError, match=r"test_z_bad.py:1: SCALES\['C7'\] entries must be non-empty"):
        scale_grids(tmp_path)


def test_set_items_of_a_configuration():
    table = entries()
    assert S.set_items("C7", {"width": 64, "depths": [10, 20]}, table) == ["C7.width=64", "C7.depths=10,20"]
    assert S.set_items("A3", {"chain.widths": (16,)}, table) == ["A3.chain.widths=16,"]
    assert S.set_items("C9", {"C9_deep.depths": [400]}, table) == ["C9_deep.depths=400,"]
    assert S.set_items("D8", {"train.epochs": 2, "D8.seeds": 2}, table) == ["D8.train.epochs=2", "D8.seeds=2"]


def test_bad_configurations_fail_before_any_run(tmp_path):
    with pytest.raises(ValueError, match=r"SCALES\['C7'\]\[1\] .*C7 has no key 'widht'"):
        S.scale_audit(grids={"C7": [{"width": 64, "batch": 64}, {"widht": 3}]}, results_dir=tmp_path)
    with pytest.raises(ValueError, match="outside the regime of C7"):
        S.scale_audit(grids={"C7": [{"batch": 64}]}, results_dir=tmp_path)
    with pytest.raises(ValueError, match=r"no SCALES grid for the selected claims \(claims with one: C7\)"):
        S.scale_audit(claims="A1", grids={"C7": [{"width": 64}]}, results_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_one_configuration(tmp_path):
    grids = {"C5": [{"widths": [8], "depth": 20, "seeds": 3}]}
    table = S.scale_audit(grids=grids, results_dir=tmp_path, verbose=False)
    row = table.iloc[0]
    assert row["claim"] == "C5" and row["set"] == "C5.widths=8, C5.depth=20 C5.seeds=3" and row["tests"] == 1
    assert row["verdict"] in ("reproduced", "failed")
    run = json.loads((tmp_path / "C5" / "0" / "run.json").read_text())
    assert run["options"]["set"] == ["C5.widths=8,", "C5.depth=20", "C5.seeds=3"]
    assert set(pd.read_csv(tmp_path / "C5" / "0" / "frames" / "C5__phi.csv")["width"]) == {8}
    assert pd.read_csv(tmp_path / "scales.csv").columns.tolist() == S.COLUMNS
    assert "C5" in S.format_table(table) and "| C5 " in (tmp_path / "scales.md").read_text()


def test_budget_reports_unstarted_runs(tmp_path):
    from rcbench import audit_mutants as M

    table = S.scale_audit(grids={"C5": [{"depth": 20}]}, results_dir=tmp_path / "s", budget=-1, verbose=False)
    assert table[["verdict", "tests"]].values.tolist() == [["not run (budget)", 0]]
    mut, summary = M.mutation_audit(claims="C5", mutants="identity_norm", results_dir=tmp_path / "m", budget=-1,
                                    verbose=False)  # fmt: skip
    assert mut["status"].tolist() == ["not run"] and summary["not_run"] == 1 and summary["total"] == 0
    assert not (tmp_path / "m" / "identity_norm").exists()
