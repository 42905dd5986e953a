"""Configuration overrides (rcbench.overrides, ``--set CLAIM.KEY=VALUE``): parsing, validation before any work,
the hook in profile_config, and a claim (C5, made tiny) that runs at the overridden configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rcbench import overrides as O
from rcbench.experiments import gradients, isometry, rank_collapse

ROOT = Path(__file__).resolve().parent.parent


def test_values_parse_like_the_sweep_grid():
    assert O.parse_item("C7.width=128") == ("C7.width", 128)
    assert O.parse_item("A3.chain.widths=8,16,32") == ("A3.chain.widths", (8, 16, 32))
    assert O.parse_item("A3.chain.widths=16,") == ("A3.chain.widths", (16,))
    assert O.parse_item("A3.chain.widths=[8, 16]") == ("A3.chain.widths", (8, 16))
    assert O.parse_item("C5.f=1e-3") == ("C5.f", 0.001)
    assert O.parse_item("A4.norm=bn") == ("A4.norm", "bn")
    assert O.parse_item("C11.train_size=null") == ("C11.train_size", None)
    for bad in ("C7", "C7.width", "C7.width=", "=3", "C7..width=3", "width=3"):
        with pytest.raises(O.OverrideError, match="CLAIM.KEY=VALUE"):
            O.parse_item(bad)


def test_resolve_canonical_names_and_later_items_win():
    ov = O.resolve(["c7.width=64", "C7.batch=16", "C7.batch=64", "a3.chain.widths=16", "D8.train.epochs=2",
                    "C9_deep.seeds=2"])  # fmt: skip
    # claim ids case-insensitive; a single value for a tuple key is a one-tuple; the longest entry matches
    assert ov.as_strings() == ["C7.width=64", "C7.batch=64", "A3.chain.widths=16,", "D8.train.epochs=2",
                               "C9_deep.seeds=2"]  # fmt: skip
    assert ov.as_dict()["A3.chain.widths"] == [16]
    assert ov.claims() == {"C7", "A3", "D8", "C9"}
    assert O.resolve([]) == O.resolve(None) and not O.resolve([])
    # the canonical strings are accepted back (run.json -> --set)
    assert O.resolve(ov.as_strings()).as_strings() == ov.as_strings()


@pytest.mark.parametrize(
    "item, message",
    [
        ("Z9.width=3", r"unknown claim 'Z9'; claims with a configuration: A2, .*C7,"),
        ("A1.n=3", "claim A1 has no profile configuration"),
        ("C7.widht=3", r"C7 has no key 'widht'; valid keys: C7.width, C7.batch, C7.in_features, C7.depths, C7.seeds"),
        ("A3.chain.depthh=3", r"A3.chain has no key 'depthh'; valid keys: A3.chain.widths, A3.chain.depth"),
        ("A3.chain=3", r"A3.chain is a group of keys, set one of them: A3.chain.widths"),
        ("C7.width.x=3", r"C7.width is a value \(32\), not a group of keys"),
        ("C7.width=0", "must be positive"),
        ("C7.seeds=-2", "must be positive"),
        ("C7.width=1.5", "needs an integer"),
        ("C7.width=true", "needs an integer"),
        ("C7.width=16,32", "takes one value"),
        ("C7.depths=10,x", "needs an integer"),
        ("C5.f=inf", "must be finite"),
        ("A4.norm=3", "needs a string"),
        ("C7.batch=64", r"outside the regime of C7: needs batch <= width .* got batch=64, width=32"),
        ("C7.in_features=16", "needs batch <= in_features"),
        ("D7.n=2000", "outside the regime of D7: needs n <= d"),
        ("B14.ns=2,4,80", "outside the regime of B14: needs ns <= widths"),
        ("D8.train.probe_batch=1000", "outside the regime of D8.train"),
    ],
)
def test_bad_overrides_are_refused_with_the_valid_names(item, message):
    with pytest.raises(O.OverrideError, match=message):
        O.resolve([item])


def test_a_regime_is_checked_on_the_combined_configuration():
    # batch 64 alone is outside C7's regime at width 32, fine together with width 64 (in either order)
    assert O.resolve(["C7.width=64", "C7.batch=64"]) and O.resolve(["C7.batch=64", "C7.width=64"])
    # an n > d override of the paper profile is judged against the paper profile's widths
    assert O.resolve(["D7.n=2000"], profile="paper")  # paper D7 has d = 5000


def test_profile_config_applies_the_active_overrides_only():
    base = gradients.config("C7")
    ov = O.resolve(["C7.width=16", "C7.batch=16", "A3.chain.widths=8,16"])
    with O.active(ov):
        assert O.current() is ov
        assert ov.read == set()
        cfg = gradients.config("C7")
        assert cfg == {**base, "width": 16, "batch": 16} and ov.read == {"C7"}
        assert gradients.config("C7", "paper")["width"] == 16  # the overrides apply at whichever profile is read
        assert gradients.config("C8") == gradients.PROFILES["quick"]["C8"]  # other claims are untouched
        chain = rank_collapse.config("A3")["chain"]
        assert chain["widths"] == (8, 16) and chain["depth"] == rank_collapse.PROFILES["quick"]["A3"]["chain"]["depth"]
        cfg["width"] = 99  # a copy: editing it changes neither the profile nor the next read
        assert gradients.config("C7")["width"] == 16
    assert O.current() is None and gradients.config("C7") == base
    assert isometry.config("D8.train") == isometry.PROFILES["quick"]["D8.train"]


def _pytest(*args, out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "claims" / "test_c_gradients.py"), "-o", "addopts=", "-q",
           "-p", "no:cacheprovider", "--results-dir", str(out), *args]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_a_claim_runs_at_the_overridden_configuration(tmp_path):
    proc = _pytest("--claim", "C5", "--set", "C5.widths=8,", "--set", "c5.depth=20", "--set", "C5.seeds=3",
                   out=tmp_path)  # fmt: skip
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["options"]["set"] == ["C5.widths=8,", "C5.depth=20", "C5.seeds=3"]
    assert run["options"]["set_read"] == ["C5"]
    frame = pd.read_csv(tmp_path / "frames" / "C5__phi.csv")
    assert set(frame["width"]) == {8} and frame["layer"].max() == 20 and frame["seed"].nunique() == 3


def test_bad_override_fails_before_any_work(tmp_path):
    proc = _pytest("--claim", "C5", "--set", "C5.zz=1", out=tmp_path)
    assert proc.returncode == 4 and "C5 has no key 'zz'; valid keys: C5.widths" in proc.stdout + proc.stderr
    assert not (tmp_path / "run.json").exists()
    cli = subprocess.run([sys.executable, "-m", "rcbench.cli", "run", "--claim", "C7", "--set", "C7.batch=64",
                          "--results-dir", str(tmp_path / "cli")], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert cli.stderr.strip().splitlines() == [
        "rcbench run: --set C7.batch=64: outside the regime of C7: needs batch <= width (batch size at most the "
        "width), got batch=64, width=32"
    ]
    assert not (tmp_path / "cli").exists()
