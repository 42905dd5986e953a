"""``rcbench compare``: the regression gate on synthetic runs (written with rcbench.results, read without pickle)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rcbench.compare import compare_runs, format_comparison, main, match_tests, node_key, parse_band
from rcbench.report.testing import check, write_run
from rcbench.report.testing import claim_test as make_test


def baseline(path, **overrides):
    tests = [
        make_test("A3", [check("log-log slope", 0.56, "[0.45, 0.70]", tolerance="calibrated [C]"),
                    check("vanilla r(H_500)", 1.001, "< 1.1", control=True)]),
        make_test("B13", [check("floor slope", -0.46, "-0.46 ± 0.08", tolerance="seed spread, 1% false failures")]),
        make_test("C7", [check("gradient slope (orth)", 0.01, "<= 0.05"),
                    check("per-layer values", [1.0, 2.0, 3.0], "increasing", tolerance="exact")]),
        make_test("A5", [check("rank_0.5 at d=8", 2.0, "2.8 ± 15%", passed=False)], outcome="xfailed",
             reason="measured 2.0, paper plots 2.8"),
    ]  # fmt: skip
    for t in tests:
        if t["claim"] in overrides:
            overrides[t["claim"]](t)
    return write_run(path, tests)


def test_identical_runs_pass_the_gate(tmp_path):
    a, b = baseline(tmp_path / "a"), baseline(tmp_path / "b")
    cmp = compare_runs(a, b)
    assert not cmp.regressed and not cmp.left_band and not cmp.moved
    assert main([str(a), str(b)]) == 0


def test_deliberately_regressed_run_fails_the_gate(tmp_path, capsys):
    """A3's slope leaves its band (test fails), B13 moves but stays inside: exit 1, A3 named, B13 listed as moved."""

    def break_a3(t):
        t["outcome"], t["reason"] = "failed", "claim A3: 1 check(s) failed"
        t["checks"][0].update(measured=0.31, passed=False)

    def move_b13(t):
        t["checks"][0].update(measured=-0.30)  # still passes (the claim decided), but moved 0.16 > half-width 0.08

    a = baseline(tmp_path / "a")
    b = baseline(tmp_path / "b", A3=break_a3, B13=move_b13)
    cmp = compare_runs(a, b)
    assert cmp.regressed and cmp.regressed_claims == ["A3"]
    assert [c for c in cmp.claims if c["id"] == "A3"][0]["change"] == "regressed"
    assert [(d["claim"], d["statistic"]) for d in cmp.left_band] == [("A3", "log-log slope")]
    assert [(d["claim"], d["statistic"]) for d in cmp.moved] == [("B13", "floor slope")]
    assert main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "left their band" in out and "0.56 -> 0.31" in out and "REGRESSION in A3" in out


def test_a_statistic_leaving_its_band_regresses_even_if_the_verdict_does_not(tmp_path):
    """A negative control stops behaving inside an xfail claim: the verdict stays 'not reproduced', the gate trips."""

    def control_breaks(t):
        t["checks"].append(check("control", 1.0, "< 1.1", passed=False, control=True))

    def control_ok(t):
        t["checks"].append(check("control", 1.0, "< 1.1", passed=True, control=True))

    a = baseline(tmp_path / "a", A5=control_ok)
    b = baseline(tmp_path / "b", A5=control_breaks)
    cmp = compare_runs(a, b)
    assert [c["change"] for c in cmp.claims if c["id"] == "A5"] == ["unchanged"]
    assert cmp.regressed_claims == ["A5"]


def _relocated(prefix):
    """Node ids as another way of running the claims writes them: ``claims/test_x.py::t`` -> ``<prefix>test_x.py::t``
    (``pytest --pyargs rcbench.claims`` from another project writes ``test_x.py::t``, or a site-packages path)."""

    def move(t):
        t["nodeid"] = prefix + node_key(t["nodeid"])
        for c in t["checks"]:
            c["nodeid"] = t["nodeid"]

    return move


@pytest.mark.parametrize("prefix", ["", "venv/lib/python3.11/site-packages/rcbench/claims/"])
def test_tests_match_across_node_id_prefixes(tmp_path, prefix):
    """A baseline of `rcbench run` (claims/...) against a plugin run from another project: checks still match, so a
    statistic leaving its band, a broken test and a moved statistic are all seen."""

    def break_a3(t):
        _relocated(prefix)(t)
        t["outcome"], t["reason"] = "failed", "claim A3: 1 check(s) failed"
        t["checks"][0].update(measured=0.31, passed=False)

    def move_b13(t):
        _relocated(prefix)(t)
        t["checks"][0].update(measured=-0.30)

    a = baseline(tmp_path / "a")
    same = baseline(tmp_path / "same", **{c: _relocated(prefix) for c in ("A3", "B13", "C7", "A5")})
    cmp = compare_runs(a, same)
    assert not cmp.regressed and not cmp.left_band and not cmp.moved and not cmp.tests_regressed
    b = baseline(tmp_path / "b", A3=break_a3, B13=move_b13, C7=_relocated(prefix), A5=_relocated(prefix))
    cmp = compare_runs(a, b)
    assert cmp.regressed_claims == ["A3"]
    assert [(d["claim"], d["statistic"], d["nodeid"]) for d in cmp.left_band] == [
        ("A3", "log-log slope", prefix + "test_synthetic.py::test_a3")]  # B's own node id is shown
    assert [t["nodeid"] for t in cmp.tests_regressed] == [prefix + "test_synthetic.py::test_a3"]
    assert [(d["claim"], d["statistic"]) for d in cmp.moved] == [("B13", "floor slope")]


def test_node_ids_match_exactly_first_and_by_key_only_when_unambiguous():
    assert node_key("claims/test_c.py::test_c7[64-x/y]") == "test_c.py::test_c7[64-x/y]"
    assert node_key("C:\\proj\\claims\\test_c.py::test_c7") == "test_c.py::test_c7"
    a = [("C7", "claims/test_c.py::test_c7[64]"), ("C7", "claims/test_c.py::test_c7[128]"),
         ("A1", "claims/test_a.py::test_a1"), ("A1", "other/test_a.py::test_a1")]
    b = [("C7", "test_c.py::test_c7[64]"), ("C7", "claims/test_c.py::test_c7[128]"), ("A1", "x/test_a.py::test_a1"),
         ("D1", "test_c.py::test_c7[64]")]  # fmt: skip
    assert match_tests(a, b) == {"test_c.py::test_c7[64]": "claims/test_c.py::test_c7[64]",
                                 "claims/test_c.py::test_c7[128]": "claims/test_c.py::test_c7[128]"}  # fmt: skip


def test_improvements_and_new_claims_do_not_fail(tmp_path):
    def fixed(t):
        t["outcome"], t["reason"] = "passed", ""
        t["checks"][0].update(measured=2.8, passed=True)

    a = baseline(tmp_path / "a")
    b = write_run(tmp_path / "b", [])
    b = baseline(tmp_path / "b", A5=fixed)
    cmp = compare_runs(a, b)
    assert not cmp.regressed
    assert [c["change"] for c in cmp.claims if c["id"] == "A5"] == ["improved"]


def test_missing_claims_are_listed_and_gated_on_request(tmp_path):
    a = baseline(tmp_path / "a")
    b = write_run(tmp_path / "b", [make_test("A3", [check("log-log slope", 0.56, "[0.45, 0.70]")])])
    cmp = compare_runs(a, b)
    assert not cmp.regressed and {c["id"] for c in cmp.claims if c["change"] == "missing in B"} == {"B13", "C7", "A5"}
    assert compare_runs(a, b, fail_on_missing=True).regressed


def test_vector_statistics_and_relative_moves(tmp_path):
    def vec(t):
        t["checks"][1].update(measured=[1.0, 2.0, 9.0])

    a, b = baseline(tmp_path / "a"), baseline(tmp_path / "b", C7=vec)
    moved = compare_runs(a, b).moved
    assert [(d["statistic"], d["delta"]) for d in moved] == [("per-layer values", 6.0)]
    assert "relative change" in moved[0]["rule"]
    assert "per-layer values" in format_comparison(compare_runs(a, b))


def test_environment_changes_are_reported(tmp_path):
    a = baseline(tmp_path / "a")
    tests = [make_test("A3", [check("log-log slope", 0.56, "[0.45, 0.70]")])]
    b = write_run(tmp_path / "b", tests, options={"profile": "paper"}, environment={"torch": "9.9"})
    text = format_comparison(compare_runs(a, b))
    assert "options.profile differs: quick -> paper" in text and "environment.torch differs" in text


@pytest.mark.parametrize(
    "expected, tolerance, band",
    [("[0.45, 0.70]", "", (0.45, 0.70)), ("-0.46 ± 0.08", "", (-0.54, -0.38)), ("2.8 ± 15%", "", (2.38, 3.22)),
     (">= 0.6", "", (0.6, float("inf"))), ("< 1.1", "", (float("-inf"), 1.1)), ("0.5", "± 0.1", (0.4, 0.6)),
     ("0.5", "theorem constant", None), ("increasing", "", None)],
)  # fmt: skip
def test_parse_band(expected, tolerance, band):
    got = parse_band(expected, tolerance)
    if band is None:
        assert got is None
    else:
        assert got == pytest.approx(band)


def test_cli_exit_codes(tmp_path):
    a = baseline(tmp_path / "a")

    def break_a3(t):
        t["outcome"] = "failed"
        t["checks"][0].update(measured=0.31, passed=False)

    b = baseline(tmp_path / "b", A3=break_a3)
    run = [sys.executable, "-m", "rcbench.cli", "compare"]
    assert subprocess.run(run + [str(a), str(a)], capture_output=True).returncode == 0
    proc = subprocess.run(run + [str(a), str(b), "--json"], capture_output=True, text=True)
    assert proc.returncode == 1 and '"regressed": true' in proc.stdout
    assert subprocess.run(run + [str(a), str(tmp_path / "nope")], capture_output=True).returncode == 2
