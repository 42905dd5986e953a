"""The paper profile of rcbench.experiments.orthogonality_nets (paper B: B6, B21-B32) starts and runs a few layers /
steps with truncated sizes, so that it cannot rot. Seconds on a CPU; the real paper profile needs a GPU and CIFAR-10."""

import pytest

from rcbench.experiments import orthogonality_nets as exp

IDS = ["B6"] + [f"B{i}" for i in range(21, 33)]


def test_every_claim_has_both_profiles():
    for profile in ("quick", "paper"):
        for cid in IDS:
            assert isinstance(exp.config(cid, profile), dict)
    with pytest.raises(KeyError):
        exp.config("B1", "paper")
    with pytest.raises(ValueError):
        exp.config("B6", "huge")


def _truncate(cfg: dict, **over) -> dict:
    cfg = dict(cfg)
    cfg.pop("data", None)  # CIFAR-10 needs data_root; without it the experiments use digits / generated data
    cfg.update(over)
    return cfg


def test_paper_profile_smoke():
    c = exp.config("B6", "paper")
    assert len(exp.one_layer_orthogonalization(**_truncate(c, widths=c["widths"][:1], matrices=2)))
    c = exp.config("B21", "paper")
    assert len(exp.two_sample_cosines(**_truncate(c, depth=3, seeds=2)))
    c = exp.config("B22", "paper")
    assert len(exp.vanilla_gap_growth(**_truncate(c, widths=c["widths"][:2], depth=3, seeds=2)))
    c = exp.config("B23", "paper")
    df = exp.nonlinear_chain(**_truncate(c, widths=c["widths"][:2], depth=6, burn_in=2, seeds=2, chunk=4))
    assert set(df.activation) == {"relu", "tanh", "sin", "one_plus_tanh"}
    c = exp.config("B26", "paper")
    assert len(exp.relu_bn_gap(**_truncate(c, depth=3, seeds=2)))
    c = exp.config("B27", "paper")
    df = exp.initial_gap(**_truncate(c, width=32, in_features=48, depths=c["depths"][:1], n_eval=16, seeds=2))
    assert set(df.variant) >= {"xavier", "paper", "code", "reproduction"}
    c = exp.config("B29", "paper")
    assert len(exp.training_loss_vs_depth(**_truncate(c, width=16, depths=(3,), epochs=1, batch_size=500, seeds=1)))
    c = exp.config("B31", "paper")
    df = exp.training_loss_vs_depth(**_truncate(c, width=16, depths=(4,), epochs=1, batch_size=500, seeds=1))
    assert set(df.variant) == set(c["variants"])
    c = exp.config("B30", "paper")
    assert len(exp.gap_during_training(**_truncate(c, width=16, depth=4, epochs=1, batch_size=500, n_eval=16, seeds=1)))
    c = exp.config("B32", "paper")
    df = exp.convnet_training(**_truncate(c, channels=4, convs=(3,), epochs=1, seeds=1, init_batch=16, train_size=60))
    assert set(df.variant) == {"xavier", "paper"}


def test_bad_inputs_fail_before_work():
    with pytest.raises(ValueError, match="n <= d"):
        exp.vanilla_gap_growth(widths=(4,), n=8)
    with pytest.raises(ValueError, match="unknown init variant"):
        exp.initial_gap(variants=("xavier", "bogus"))
    with pytest.raises(ValueError, match="burn_in"):
        exp.nonlinear_chain(depth=5, burn_in=5)
    with pytest.raises(ValueError, match="unknown activation"):
        exp.nonlinear_chain(activations=("nope",), widths=(8,), depth=3, burn_in=1)
    with pytest.raises(ValueError, match="lr"):
        exp.training_loss_vs_depth(lr=float("nan"))
    with pytest.raises(ValueError, match="depth counts all linear layers"):
        exp.training_loss_vs_depth(depths=(1,), width=8, epochs=1)
