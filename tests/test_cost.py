"""``rcbench plan``: every claim of the catalogue gets a finite cost, scaling with its configuration."""

from __future__ import annotations

import json
import math

from rcbench import cost as C
from rcbench.catalog import CLAIMS
from rcbench.cli import main


def test_plan_json_covers_every_claim(capsys):
    assert main(["plan", "--profile", "paper", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["claim"] for r in rows] == list(CLAIMS)
    for r in rows:
        for key in ("cpu_1core_s", "cpu_all_cores_s", "gpu_s", "flops", "peak_bytes"):
            assert math.isfinite(r[key]) and r[key] >= 0, (r["claim"], key)
        assert r["cpu_all_cores_s"] <= r["cpu_1core_s"] + 1e-9, r["claim"]


def test_cost_grows_with_the_configuration():
    """A deeper chain costs more, in proportion to its layers (the operation counts are linear in depth)."""
    a = C.chain([64], 1000, 3)
    b = C.chain([64], 2000, 3)
    assert b.flops == 2 * a.flops and b.normals == 2 * a.normals and b.calls == 2 * a.calls
    quick, paper = C.estimate("A5", "quick"), C.estimate("A5", "paper")
    assert paper.cpu_1core_s > 100 * quick.cpu_1core_s  # 10^6 layers against 600


def test_plan_rejects_unknown_claims(capsys):
    assert main(["plan", "--claim", "Z9"]) == 2
    assert "unknown claim" in capsys.readouterr().err


def test_warning_names_the_dominating_claims(capsys):
    import io

    buf = io.StringIO()
    total = C.warn_if_long(["A3", "B2"], None, "paper", stream=buf, threshold_s=1.0)
    assert total > 1.0 and "A3" in buf.getvalue().split("dominated by")[1]


def test_the_dominant_work_of_d8_and_b27_is_counted():
    """D8's training part reads its own entry ("D8.train"), and B27/B28's Eq. (6) init runs one float64 SVD per
    square layer, variant and seed: both were missing (plan 24 s and 2 min; the runs took > 30 min)."""
    d8 = C.estimate("D8", "paper")
    assert any(w.kind == "train" for w in d8.works)
    b27 = C.estimate("B27", "paper")
    (s,) = [w for w in b27.works if w.kind == "svd"]
    assert s.calls == 4 * sum(d - 2 for d in (15, 30, 45, 60, 75)) * 4  # 4 Eq. (6) variants x square layers x seeds
    assert b27.dominant == "svd"
