"""Smoke test of paper A's paper-scale profile: every claim's paper configuration starts and runs the same code as
the claim tests, cut down to a few layers / steps / one seed (so the profile cannot rot), plus input validation."""

import math

import pandas as pd
import pytest
import torch

from rcbench.experiments import rank_collapse as exp

CLAIMS = ("A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10", "A11")


def test_profiles_cover_the_same_claims():
    assert set(exp.PROFILES["quick"]) == set(exp.PROFILES["paper"]) == set(CLAIMS)


@pytest.mark.parametrize("claim", CLAIMS)
def test_paper_profile_starts(claim):
    cfg = exp.config(claim, "paper")
    # widths are capped at 256 to keep the smoke test at seconds (the chain code does not depend on the width)
    small = exp.truncate(cfg, depth=3, seeds=1, steps=2, widths=256, hidden_layers=2)
    if claim == "A11":  # VGG19 channels at a batch of 8 is still a real VGG19 forward pass
        small["conv"]["batch"] = 4
    frames = exp.run_claim(claim, small, seed=0)
    assert frames and all(isinstance(df, pd.DataFrame) and len(df) > 0 for df in frames.values())
    for df in frames.values():
        num = df.select_dtypes("number")
        assert not num.isna().any().any()


def test_paper_profile_keeps_the_paper_sizes():
    p = exp.PROFILES["paper"]
    assert p["A4"]["chain"]["depth"] == 50_000 and p["A4"]["chain"]["widths"] == 32
    assert p["A5"]["chain"]["depth"] == 1_000_000 and 256 in p["A5"]["chain"]["widths"]
    assert set(p["A5"]["gammas"]) == {0.01, 1.0, math.inf}
    assert p["A9"]["training"]["steps"] == 35_100 and p["A9"]["training"]["sgd_lr"] == 0.01
    assert p["A11"]["conv"]["cfg"] == exp.VGG19


def test_truncate_caps_sizes():
    cfg = exp.truncate(exp.config("A3", "paper"), depth=5, seeds=1, widths=128)
    assert cfg["chain"]["depth"] == 5 and cfg["chain"]["seeds"] == 1 and cfg["chain"]["burn_in"] == 0
    assert max(cfg["chain"]["widths"]) <= 128


def test_bad_inputs_fail_before_work():
    with pytest.raises(ValueError):
        exp.linear_chain(widths=(8, 0), depth=3)
    with pytest.raises(ValueError):
        exp.linear_chain(widths=8, depth=3, norm="no_such_norm")
    with pytest.raises(ValueError):
        exp.linear_chain(widths=8, depth=3, stats=("nope",))
    with pytest.raises(ValueError):
        exp.linear_chain(widths=8, depth=3, burn_in=10)
    with pytest.raises(ValueError):
        exp.linear_chain(widths=8, depth=3, gamma=-1.0)
    with pytest.raises(ValueError):
        exp.linear_chain(widths=8, depth=3, batch=4, input="identity")
    with pytest.raises(ValueError):
        exp.fig1_init_rank(arms=("nope",))
    with pytest.raises(ValueError):
        exp.rank_pretraining(arms=("nope",))
    with pytest.raises(ValueError):
        exp.conv_variants_rank(variants=("no_such_norm",))
    with pytest.raises(ValueError):
        exp.config("A3", "huge")
    with pytest.raises(KeyError):
        exp.config("A1", "quick")


def test_chain_is_seeded_and_shares_weights_between_arms():
    a = exp.linear_chain(widths=8, depth=5, seeds=2, seed=3, norm="bn")
    b = exp.linear_chain(widths=8, depth=5, seeds=2, seed=3, norm="bn")
    pd.testing.assert_frame_equal(a, b)
    # the chunk size changes the weight stream (one seed per chunk) but not the measured layers
    c = exp.linear_chain(widths=8, depth=5, seeds=2, seed=3, norm="bn", chunk=2)
    d = exp.linear_chain(widths=8, depth=5, seeds=2, seed=3, norm="bn", chunk=100)
    assert c.layer.tolist() == d.layer.tolist()


def test_user_norm_factory_runs_in_chain_and_convnet():
    df = exp.linear_chain(widths=8, depth=4, seeds=2, norm=torch.nn.BatchNorm1d)
    assert len(df) == 5 * 2
    conv = exp.conv_variants_rank(variants=(torch.nn.BatchNorm1d, "none"), batch=4, seeds=2)
    assert len(conv) == 4


def test_regimes_refuse_configurations_outside_the_derivations():
    """A2 refuses a chain too shallow for its collapse check (d = 64 at L = 2000: predicted 5% false failure per
    run), A4 any width but Fig. 2's 32, A5 widths outside Fig. 3a's; the profiles themselves are inside."""
    for claim in ("A2", "A4", "A5"):
        for profile in ("quick", "paper"):
            exp.REGIMES[claim](exp.config(claim, profile), claim)
    cfg = exp.config("A2")
    cfg["collapse"]["widths"] = (64,)
    with pytest.raises(ValueError, match="too shallow"):
        exp.REGIMES["A2"](cfg, "A2")
    cfg["collapse"]["depth"] = cfg["r_layer"] = cfg["rank_layer"] = 4000
    exp.REGIMES["A2"](cfg, "A2")
    cfg = exp.config("A4")
    cfg["chain"]["widths"] = 64
    with pytest.raises(ValueError, match="must be 32"):
        exp.REGIMES["A4"](cfg, "A4")
    cfg = exp.config("A5")
    cfg["chain"]["widths"] = (8, 24)
    with pytest.raises(ValueError, match="Fig. 3a"):
        exp.REGIMES["A5"](cfg, "A5")
    cfg = exp.config("A6")
    cfg["input_laws"] = (1000.0,)  # relative noise 1e-8: r(H_30) >= 3.5 is not reliable at d = 50
    with pytest.raises(ValueError, match="1e-07"):
        exp.REGIMES["A6"](cfg, "A6")
    cfg["recovery"]["width"] = 100
    exp.REGIMES["A6"](cfg, "A6")
    z, p = exp.collapse_false_failure((16, 32), 2000, 10)
    assert round(z[32], 2) == 3.86 and 4e-4 < p < 7e-4
    assert [exp.product_rank_bound(d, 2000, 20) for d in (8, 16, 32, 64)] == [2, 3, 3, 5]
