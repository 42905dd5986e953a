"""Claims judged from a results store (``--results STORE``): the ``storable`` experiment calls, the store source
(:class:`rcbench.sweep.StoreSource`), computing requested calls (``rcbench sweep --requests``), and the harness and
``rcbench run`` end to end: the claims read from the store judge exactly the numbers they would compute."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from rcbench import sweep as S
from rcbench.experiments import toy
from rcbench.experiments.common import current_source, reading_from, storable
from rcbench.results import load_run

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "RCBENCH_THREADS": "1", "OMP_NUM_THREADS": "1"}


class Recorder:
    def __init__(self):
        self.calls = []

    def fetch(self, name, params, compute):
        self.calls.append((name, params))
        return compute()


def test_storable_is_transparent_without_a_source():
    assert current_source() is None
    a = toy.mlp_trace(depth=2, width=8, seeds=2, seed=3)
    with reading_from(None):
        b = toy.mlp_trace(depth=2, width=8, seeds=2, seed=3)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert toy.mlp_trace.experiment_name == "toy:mlp_trace"


def test_the_source_sees_the_full_configuration():
    """Positional and keyword arguments are bound by name, defaults filled in: the key is the whole call."""

    @storable
    def exp(depth, width=8, *, seed=0, device="cpu") -> pd.DataFrame:
        return pd.DataFrame({"depth": [depth], "width": [width], "seed": [seed]})

    rec = Recorder()
    with reading_from(rec):
        exp(2, seed=3)
        toy.mlp_trace(depth=2)
    assert current_source() is None
    (name, params), (name2, params2) = rec.calls
    assert name == f"{__name__}:exp" and params == {"depth": 2, "width": 8, "seed": 3, "device": "cpu"}
    assert name2 == "toy:mlp_trace" and params2["width"] == 16 and params2["seed"] == 0 and "metrics" in params2


def test_var_keyword_arguments_are_flattened():
    @storable
    def exp(a: int = 1, **extra) -> pd.DataFrame:
        return pd.DataFrame({"a": [a], **{k: [v] for k, v in extra.items()}})

    rec = Recorder()
    with reading_from(rec):
        df = exp(a=2, b=3)
    assert rec.calls[0][1] == {"a": 2, "b": 3} and list(df.columns) == ["a", "b"]


def test_params_encoding_round_trips():
    params = {"gamma": math.inf, "lo": -math.inf, "depths": (1, 2), "nested": {"eps": [0.5, math.inf]},
              "device": torch.device("cpu"), "root": Path("/data"), "flag": True, "none": None}  # fmt: skip
    enc = S.encode_params(params)
    assert json.loads(json.dumps(enc, allow_nan=False)) == enc  # strict JSON
    dec = S.decode_params(enc)
    assert dec["gamma"] == math.inf and dec["lo"] == -math.inf and dec["depths"] == [1, 2]
    assert dec["nested"]["eps"][1] == math.inf and dec["device"] == "cpu" and dec["root"] == "/data"
    assert S.request_key("toy:mlp_trace", params) == S.request_key("toy:mlp_trace", dec)
    assert S.request_key("toy:mlp_trace", params) != S.request_key("toy:mlp_trace", {**params, "gamma": 1.0})
    with pytest.raises(TypeError, match="argument x is a Tensor"):
        S.encode_params({"x": torch.zeros(2)})
    with pytest.raises(TypeError, match="act"):
        S.encode_params({"act": torch.nn.ReLU})


def test_store_source_requests_then_reads_bit_identical_frames(tmp_path):
    source = S.StoreSource(tmp_path)
    with reading_from(source), pytest.raises(S.MissingCells, match="rcbench sweep --requests"):
        toy.mlp_trace(depth=3, width=8, seeds=2, seed=5, device=torch.device("cpu"))
    assert len(source.requests) == 1 and source.log[-1][2] == "missing"
    res = S.compute_requests(list(source.requests.values()), tmp_path, workers=0, progress=False)
    assert res.ok and len(res.computed) == 1 and "cells" in res.summary()
    with reading_from(source):
        stored = toy.mlp_trace(depth=3, width=8, seeds=2, seed=5, device=torch.device("cpu"))
    assert source.log[-1][2] == "read"
    direct = toy.mlp_trace(depth=3, width=8, seeds=2, seed=5)
    pd.testing.assert_frame_equal(stored, direct, check_exact=True)
    again = S.compute_requests(list(source.requests.values()), tmp_path, workers=0, progress=False)
    assert again.cached == res.computed and not again.computed


def test_arguments_that_are_not_json_are_computed_here(tmp_path):
    source = S.StoreSource(tmp_path)
    with reading_from(source):
        df = toy.mlp_trace(depth=2, width=8, seeds=1, metrics=("soft_rank",), norm=torch.nn.Identity)
    assert len(df) and not source.requests
    assert source.log[-1][2].startswith("computed: argument norm")


def test_a_failed_cell_raises_the_workers_error(tmp_path):
    source = S.StoreSource(tmp_path)
    with reading_from(source), pytest.raises(S.MissingCells):
        toy.fragile_trace(depth=2, width=8, raise_depth=2)
    res = S.compute_requests(list(source.requests.values()), tmp_path, workers=0, progress=False)
    assert not res.ok
    with reading_from(source), pytest.raises(S.StoredCellFailed, match="failed when it was computed"):
        toy.fragile_trace(depth=2, width=8, raise_depth=2)


def test_store_and_requests_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        S.StoreSource(tmp_path / "nope")
    bad = tmp_path / "requests.json"
    bad.write_text('{"requests": [{"experiment": "toy:mlp_trace"}]}')
    with pytest.raises(ValueError, match="expected"):
        S.read_requests(bad)
    assert S.main(["--requests", str(bad)]) == 2
    assert "give --results-dir" in capsys.readouterr().err
    assert S.main(["toy:mlp_trace", "--requests", str(bad), "--results-dir", str(tmp_path)]) == 2
    assert S.main(["--requests", str(tmp_path / "missing.json"), "--results-dir", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert S.main([]) == 2


def _claims(*args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "claims"), "-o", "addopts=", "-p", "no:cacheprovider", "-q",
           "--no-header", "--claim", "B2,D3,D10", *map(str, args)]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)


def test_claims_judge_the_store_exactly_as_they_compute(tmp_path):
    """B2 (three calls, the third asked only after the first two are read), D3 and D10 (one strict-xfail
    parametrisation) from an empty store: every test errors as not judged (never
    ``xfailed``), the missing calls are listed; after ``rcbench sweep --requests`` the verdicts and every recorded
    number equal those of computing."""
    store = tmp_path / "store"
    store.mkdir()
    direct = _claims("--results-dir", tmp_path / "direct")
    assert direct.returncode == 0, direct.stdout[-2000:]
    first = _claims("--results", store, "--results-dir", tmp_path / "r1")
    assert first.returncode == 1 and "rcbench sweep --requests" in first.stderr
    run = load_run(tmp_path / "r1")["run"]
    assert {t["outcome"] for t in run["tests"]} == {"error"}
    assert all(t["reason"].startswith("not in the results store") for t in run["tests"])
    assert run["options"]["results"] == str(store)
    requests = tmp_path / "r1" / "requests.json"
    sweep = subprocess.run([sys.executable, "-m", "rcbench.cli", "sweep", "--requests", str(requests),
                            "--results-dir", str(store), "--workers", "1", "--no-progress"],
                           cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    final, rnd = None, 1
    while final is None or (tmp_path / f"r{rnd}" / "requests.json").is_file():  # a test may ask in several rounds
        if final is not None:
            S.compute_requests(tmp_path / f"r{rnd}" / "requests.json", store, workers=0, progress=False)
        rnd += 1
        assert rnd < 6
        final = _claims("--results", store, "--results-dir", tmp_path / f"r{rnd}")
    assert final.returncode == 0, final.stdout[-2000:]
    a, b = load_run(tmp_path / "direct", checks_as_text=True), load_run(tmp_path / f"r{rnd}", checks_as_text=True)
    pd.testing.assert_frame_equal(a["checks"], b["checks"])
    assert [t["outcome"] for t in a["run"]["tests"]] == [t["outcome"] for t in b["run"]["tests"]]
    assert "xfailed" in {t["outcome"] for t in b["run"]["tests"]}
    assert all(t["store"]["read"] >= 1 and not t["store"]["missing"] for t in b["run"]["tests"])
    assert not (tmp_path / f"r{rnd}" / "requests.json").exists()


def test_rcbench_run_fills_the_store_and_judges(tmp_path):
    cmd = [sys.executable, "-m", "rcbench.cli", "run", "--claim", "B2", "--device", "cpu", "--no-report",
           "--results", str(tmp_path / "store"), "--executor", "local", "--workers", "0",
           "--results-dir", str(tmp_path / "run")]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "judging all claims from it" in proc.stdout
    [test] = load_run(tmp_path / "run")["run"]["tests"]
    assert test["outcome"] == "passed" and test["store"]["read"] >= 1
    bad = subprocess.run([sys.executable, "-m", "rcbench.cli", "run", "--executor", "local"], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "give --results STORE" in bad.stderr
