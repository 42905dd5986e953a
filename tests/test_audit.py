"""The reliability audit (rcbench.audit): real pytest subprocesses on claims/ under alternate master seeds (claim A1,
two reseeds), and the failure-rate arithmetic on synthetic outcomes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rcbench import audit as A
from rcbench.stats import binomial_interval


def test_audit_reruns_a_claim_under_alternate_seeds(tmp_path, capsys):
    table = A.audit(2, claims="A1", results_dir=tmp_path, jobs=2, verbose=False)
    row = table.set_index("claim").loc["A1"]
    assert row["runs"] == 2 and row["failures"] == 0 and row["tests"] == 4 and bool(row["meets_goal"])
    ci = binomial_interval(0, 2)
    assert row["ci_low"] == ci.low == 0.0 and row["ci_high"] == pytest.approx(ci.high)
    for seed in (1, 2):  # each seed ran with --seed k into its own directory
        run = json.loads((tmp_path / f"seed-{seed}" / "run.json").read_text())
        assert run["options"]["seed"] == seed and run["options"]["claim"] == "A1"
    runs = pd.read_csv(tmp_path / "audit_runs.csv")
    assert len(runs) == 8 and set(runs["outcome"]) == {"passed"}
    stored = pd.read_csv(tmp_path / "audit.csv")
    assert stored[["claim", "runs", "failures", "meets_goal"]].values.tolist() == [["A1", 2, 0, True]]
    # a rerun reuses the finished seeds (no pytest) and gives the same table
    again = A.audit(2, claims="A1", results_dir=tmp_path, verbose=False)
    pd.testing.assert_frame_equal(again, table)
    assert all(r["reused"] for r in json.loads((tmp_path / "audit.json").read_text())["runs"])
    assert "A1" in A.format_table(table)


def _runs(rows):
    return pd.DataFrame(rows, columns=["seed", "claim", "paper", "nodeid", "outcome", "failed_checks", "reason"])


def test_failure_rate_arithmetic():
    rows = []
    for seed in range(1, 21):
        # A1: two tests; test a fails on seed 3 only, test b errors on seed 3 as well (one failing seed, not two)
        rows.append((seed, "A1", "A", "a", "failed" if seed == 3 else "passed", "slope" if seed == 3 else "", ""))
        rows.append((seed, "A1", "A", "b", "error" if seed == 3 else "passed", "", ""))
        # A3 is an xfail claim: xpassed on two seeds is a flip of its verdict
        rows.append((seed, "A3", "A", "c", "xpassed" if seed in (5, 9) else "xfailed", "", ""))
        # A4 skipped on half of the seeds: skipped runs are not trials
        rows.append((seed, "A4", "A", "d", "skipped" if seed % 2 else "passed", "", ""))
    table = A.summarize_runs(_runs(rows)).set_index("claim")
    assert table.loc["A1", ["runs", "failures", "tests"]].tolist() == [20, 1, 2]
    assert bool(table.loc["A1", "meets_goal"])  # 1 in 20 is the goal
    assert table.loc["A1", "failing_seeds"] == "3" and "slope (x1)" in table.loc["A1", "failed_checks"]
    assert table.loc["A3", ["runs", "failures"]].tolist() == [20, 2] and not table.loc["A3", "meets_goal"]
    ci = binomial_interval(2, 20)
    assert table.loc["A3", "ci_low"] == pytest.approx(ci.low) and table.loc["A3", "ci_high"] == pytest.approx(ci.high)
    assert table.loc["A4", ["runs", "failures"]].tolist() == [10, 0]
    assert list(table.index) == ["A1", "A3", "A4"]  # catalogue order


def test_session_error_counts_as_failure_and_bad_arguments_fail_early(tmp_path):
    rows = A._rows_of_run(4, tmp_path / "nothing", {"returncode": 4})
    assert rows[0]["outcome"] == "session-error" and "exit code 4" in rows[0]["reason"]
    table = A.summarize_runs(_runs([(4, "(session)", "", "", "session-error", "", "")]))
    assert table.loc[0, "failures"] == 1
    with pytest.raises(ValueError, match="reseeds must be a positive integer"):
        A.audit(0)
    with pytest.raises(ValueError, match=r"unknown paper\(s\)/claim\(s\) \['Z9'\]"):
        A.audit(1, claims="Z9")
    with pytest.raises(ValueError, match=r"\['E'\]"):
        A.audit(1, papers="E")


def _seed_run(path, checks_by_test):
    from rcbench.results import write_json

    tests = [{"nodeid": nodeid, "claim": claim, "outcome": "passed", "checks": checks}
             for (nodeid, claim), checks in checks_by_test.items()]  # fmt: skip
    write_json(path / "run.json", {"tests": tests})


def _chk(statistic, measured, **kw):
    return {"statistic": statistic, "measured": measured, "passed": True, "control": False, **kw}


def test_hidden_seed_flag(tmp_path):
    """A stochastic check with the same non-integer value under every master seed is flagged; deterministic ones
    (record.check(deterministic=True), claims whose catalogue kind is exact, discrete values) are not."""
    for seed in (1, 2, 3):
        _seed_run(tmp_path / f"seed-{seed}", {
            ("t_d4", "D4"): [_chk("sigmoid beta MC", 1.2345678),  # identical: a hidden fixed seed
                             _chk("relu beta quadrature", 1.5, deterministic=True),
                             _chk("quadrature vs closed form", 1.2e-15, deterministic=True)],
            ("t_c7", "C7"): [_chk("slope", 0.01 * seed),  # varies with the seed
                             _chk("rank", 32),  # discrete: a saturated rank
                             _chk("fraction", 1.0), _chk("gap", float("inf")), _chk("spearman", 0.9999999999999999),
                             _chk("identity error", 2.220446049250313e-16),  # at the round-off floor
                             _chk("curve", [0.5, 0.25]),  # identical non-integer list: flagged
                             _chk("only in seed 1", 0.3) if seed == 1 else _chk("slope2", 0.1 * seed)],
            ("t_b1", "B1"): [_chk("max identity error", 2.2e-16)],  # B1's kind is exact
        })  # fmt: skip
    assert A.exact_claim("B1") and not A.exact_claim("D4") and not A.exact_claim("D8") and not A.exact_claim("C7")
    flagged = A.constant_checks({s: tmp_path / f"seed-{s}" for s in (1, 2, 3)})
    assert flagged[["claim", "statistic", "seeds"]].values.tolist() == [
        ["D4", "sigmoid beta MC", "1,2,3"], ["C7", "curve", "1,2,3"]]
    # one seed alone is no evidence; a seed without a run is not counted
    assert A.constant_checks({1: tmp_path / "seed-1"}).empty
    assert len(A.constant_checks({1: tmp_path / "seed-1", 2: tmp_path / "seed-2", 9: tmp_path / "none"})) == 2


def test_record_check_deterministic_flag():
    from rcbench.records import ClaimRecorder

    rec = ClaimRecorder("D4", "t")
    rec.check("quadrature", 1.5, passed=True, deterministic=True)
    rec.check("monte carlo", 1.49, passed=True)
    assert [r["deterministic"] for r in rec.rows()] == [True, False]
