"""Smoke test of paper D's paper-scale profile: every experiment starts with the paper's configuration, truncated
to a couple of layers / seeds / trials so that it runs in seconds and the profile cannot rot."""

import pytest

from rcbench.experiments import isometry as exp

#: claim -> (experiment, overrides that truncate it)
_RUNS = {
    "D1": (exp.isometry_basics, dict(trials=20)),
    "D2": (exp.scaling_identity, dict(trials=20)),
    "D3": (exp.column_scaling, dict(trials=20)),
    "D4": (exp.monte_carlo_beta, dict(samples=1000)),
    "D6": (exp.contraction_grid, dict(points=101)),
    "D7": (exp.mean_field_gram, dict(seeds=2, depth=3)),
    "D8": (exp.ln_steps, dict(seeds=1, depth=2, d=64)),
    "D8.train": (exp.sublayer_isometry_training, dict(activations=("relu",), seeds=1, depth=2, width=128, epochs=1,
                                                       batch_size=512, probe_batch=32, probe_batches=1)),
    "D9": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D10": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D10.all": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D11": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D12": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D13": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D14": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D15": (exp.ln_trace, dict(seeds=2, depth=2)),
    "D17": (exp.mf_vs_finite, dict(seeds=2, depth=2, widths=(100, 200))),
    "D18": (exp.mf_vs_finite, dict(seeds=2, depth=2)),
    "D19": (exp.image_batch_trace, dict(seeds=1, depth=2, width=256, batch=32)),
    "D20": (exp.train_loss_curves, dict(seeds=1, depth=2, width=32, epochs=1, batch_size=512)),
}


def test_every_paper_profile_has_a_smoke_run():
    assert set(exp.PROFILES["paper"]) == set(_RUNS)
    assert set(exp.PROFILES["quick"]) == set(exp.PROFILES["paper"])


@pytest.mark.parametrize("claim", sorted(_RUNS, key=lambda c: (int(c[1:].split(".")[0]), c)))
def test_paper_profile_starts(claim):
    fn, overrides = _RUNS[claim]
    cfg = {**exp.config(claim, "paper"), **overrides}
    if "activations" in cfg and fn is exp.ln_trace:
        cfg["activations"] = cfg["activations"][:2]
    df = fn(**cfg)
    assert len(df) > 0
    assert not df.select_dtypes("number").isna().all().any()


def test_d10_all_covers_every_named_activation():
    from rcbench.networks import ACTIVATIONS

    aliases = {"linear", "identity", "swish"}  # identity (and its alias linear), swish = silu
    assert set(exp.ALL_NAMED_NONLINEAR) == set(ACTIVATIONS) - aliases


def test_config_errors():
    with pytest.raises(ValueError):
        exp.config("D9", "huge")
    with pytest.raises(KeyError):
        exp.config("D5", "quick")


def test_bad_inputs_fail_before_work():
    with pytest.raises(ValueError):
        exp.ln_trace(("relu",), d=10, n=20, depth=2, seeds=1)
    with pytest.raises(ValueError):
        exp.ln_trace(("nope",), d=10, n=5, depth=2, seeds=1)
    with pytest.raises(ValueError):
        exp.degenerate_input(5, 10, float("nan"))
    with pytest.raises(ValueError):
        exp.ln_trace(("relu",), d=10, n=5, depth=2, seeds=1, sampler="magic")


@pytest.mark.parametrize("kwargs, match", [
    (dict(width=16, probe_batch=32), r"\(D8\) needs n <= d"),
    (dict(activations=("nope",)), r"unknown activation 'nope'"),
    (dict(probe_batch=32, probe_batches=100), r"probe_batch x probe_batches = 3200 exceeds the data set size"),
    (dict(probe_batches=0), r"probe_batches must be a positive integer"),
    (dict(lr=float("nan")), r"lr must be a finite positive number"),
])  # fmt: skip
def test_sublayer_isometry_training_bad_inputs_fail_before_work(monkeypatch, kwargs, match):
    """D8's training experiment checks its configuration before building or training a net."""
    monkeypatch.setattr(exp, "_ln_mlp", lambda *a, **k: pytest.fail("a net was built before the checks"))
    with pytest.raises(ValueError, match=match):
        exp.sublayer_isometry_training(**{"activations": ("relu",), "epochs": 1, **kwargs})
