"""Tests of rcbench.networks: every architecture of the four notes builds and runs; norms, inits and the ensemble
behave as documented; reproducibility; clear errors."""

import math

import pytest
import torch
from torch import nn

from rcbench.networks import MLP, NumericalDivergence, gain_schedule, get_activation, get_norm, init
from rcbench.networks.norms import Normalization, TorchBatchNorm

F64 = torch.float64

# (description, builder kwargs) for every architecture named in the paper notes
ARCHITECTURES = {
    "A vanilla linear chain (Fig. 2)": dict(norm=None, init="gaussian_unit"),
    "A BN chain, Gaussian N(0,1) (Thm 2, Fig. 3a)": dict(norm="bn", init="gaussian_unit"),
    "A BN chain, perturbed identity I + 0.01 W (Thm 2)": dict(norm="bn", init=init.perturbed_identity(0.01)),
    "A centred BN + uniform weights (Fig. 2)": dict(norm="bn_centered", init="uniform_unit"),
    "A centred BN + tanh (Fig. 2 'ReLU' panel in code)": dict(norm="bn_centered", activation="tanh"),
    "A Fig. 1 vanilla MLP, torch default weights and biases": dict(
        norm=None, activation="relu", init="torch_default", bias=True, out_features=10
    ),
    "A Fig. 1 BN MLP (normalize_center, unbiased std)": dict(
        norm="bn_centered_std", activation="relu", init="torch_default", out_features=10
    ),
    "A Fig. 4 Linear -> BatchNorm1d -> ReLU, Xavier": dict(
        norm="batchnorm1d", activation="relu", init="xavier_normal", bias=True, out_features=10
    ),
    "A Fig. 6 BatchNorm1d + tanh": dict(norm="batchnorm1d", activation="tanh", init="xavier_normal"),
    "B BN chain / sqrt(d) (Eq. 1)": dict(norm="bn", init="gaussian", gain=1 / math.sqrt(16)),
    "B App. F nonlinear BN chain, tanh": dict(norm="bn", activation="tanh", order="act_norm"),
    "B Fig. 3 vanilla ReLU MLP, Xavier": dict(norm=None, activation="relu", init="xavier_normal", out_features=10),
    "C linear BN, Haar weights (Eq. 3-4)": dict(norm="bn", init="orthogonal"),
    "C code-default sqrt(n)-scaled BN": dict(norm="bn_rms", init="orthogonal", out_features=10),
    "C torch BN, shaped tanh (Eq. 11)": dict(
        norm="batchnorm1d", activation="tanh", gain=gain_schedule(-0.4), init="orthogonal", bias=True
    ),
    "C shaped sin": dict(norm="bn", activation="sin", gain=gain_schedule(-0.4), init="orthogonal"),
    "C Gaussian-weight contrast": dict(norm="bn", init="gaussian"),
    "D LN(relu(Wx)) (activation first)": dict(norm="ln", activation="relu", order="act_norm"),
    "D relu(LN(Wx)) (reversed order)": dict(norm="ln", activation="relu", order="norm_act"),
    "D LN without centring": dict(norm="ln_nocenter", activation="sigmoid", order="act_norm"),
    "D He2 / He3": dict(norm="ln", activation="he3", order="act_norm"),
    "D exp, gain 2": dict(norm="ln", activation="exp", order="act_norm", init=init.gaussian(std=2 / math.sqrt(16))),
    "D torch LayerNorm": dict(norm="layernorm", activation="gelu", order="act_norm"),
    "RMS norm + SiLU": dict(norm="rms", activation="silu", order="act_norm"),
    "user factory norm + callable activation": dict(norm=nn.BatchNorm1d, activation=torch.sin),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_builds_and_runs(name):
    kwargs = dict(ARCHITECTURES[name])
    net = MLP(16, 16, 4, ensemble=3, seed=1, **kwargs)
    x = torch.randn(12, 16, dtype=F64)
    out, hidden = net(x, return_hidden=True)
    assert out.shape == (3, 12, kwargs.get("out_features", 16))
    assert len(hidden) == 5 and all(h.shape == (3, 12, 16) for h in hidden)
    assert torch.isfinite(out).all()
    assert net.grams(x).shape == (5, 3, 12, 12)


def test_same_seed_bit_identical_and_seeds_differ():
    x = torch.randn(8, 10, dtype=F64)
    a = MLP(10, 10, 5, norm="bn", ensemble=2, seed=7)(x)
    b = MLP(10, 10, 5, norm="bn", ensemble=2, seed=7)(x)
    c = MLP(10, 10, 5, norm="bn", ensemble=2, seed=8)(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])


def test_ensemble_members_are_independent_networks():
    """Member s of an ensemble equals a plain torch loop over its own weights."""
    net = MLP(6, 6, 3, norm="bn", activation="tanh", ensemble=4, seed=0)
    x = torch.randn(5, 6, dtype=F64)
    out = net(x)
    for s in range(4):
        h = x
        for block in net.blocks:
            z = h @ block.linear.weight[s].T
            z = z / z.norm(dim=0, keepdim=True)
            h = torch.tanh(z)
        torch.testing.assert_close(out[s], h)


def test_paper_bn_and_layer_norm_statistics():
    z = torch.randn(3, 7, 11, dtype=F64) + 2.0
    bn = get_norm("bn", 11)(z)
    torch.testing.assert_close(bn.norm(dim=-2), torch.ones(3, 11, dtype=F64))  # unit column norms: ||H||_F^2 = d
    assert (bn.pow(2).sum(dim=(-1, -2)) - 11).abs().max() < 1e-12
    ln = get_norm("ln", 11)(z)
    torch.testing.assert_close(ln.mean(-1), torch.zeros(3, 7, dtype=F64), atol=1e-12, rtol=0)
    torch.testing.assert_close(ln.pow(2).mean(-1), torch.ones(3, 7, dtype=F64))
    c = get_norm("bn_centered", 11)(z)
    torch.testing.assert_close(c.mean(-2), torch.zeros(3, 11, dtype=F64), atol=1e-12, rtol=0)
    torch.testing.assert_close(c.std(-2, unbiased=False), torch.ones(3, 11, dtype=F64))
    u = get_norm("bn_centered_std", 11)(z)
    torch.testing.assert_close(u.std(-2), torch.ones(3, 11, dtype=F64))
    r = get_norm("bn_rms", 11)(z)
    torch.testing.assert_close(r.pow(2).mean(-2), torch.ones(3, 11, dtype=F64))


def test_torch_batchnorm_ensemble_equals_per_seed_modules():
    torch.manual_seed(0)
    z = torch.randn(4, 9, 5, dtype=F64)
    fused = TorchBatchNorm(5, ensemble=4).to(F64)
    expected = torch.stack([nn.BatchNorm1d(5).to(F64)(zi) for zi in z])
    torch.testing.assert_close(fused(z), expected)


def test_haar_orthogonal_and_perturbed_identity():
    g = torch.Generator().manual_seed(0)
    W = init.haar_orthogonal((5, 8, 8), g, F64)
    torch.testing.assert_close(W @ W.transpose(-1, -2), torch.eye(8, dtype=F64).expand(5, 8, 8))
    wide = init.haar_orthogonal((2, 3, 7), g, F64)  # rows orthonormal when out < in
    torch.testing.assert_close(wide @ wide.transpose(-1, -2), torch.eye(3, dtype=F64).expand(2, 3, 3))
    P = init.perturbed_identity(0.0)((2, 4, 4), g, F64)
    torch.testing.assert_close(P, torch.eye(4, dtype=F64).expand(2, 4, 4))
    with pytest.raises(ValueError, match="square"):
        init.perturbed_identity(0.1)((1, 3, 4), g, F64)


def test_init_variances():
    g = torch.Generator().manual_seed(0)
    shape = (4, 200, 300)
    assert init.get_init("gaussian")(shape, g, F64).var().item() == pytest.approx(1 / 300, rel=0.03)
    assert init.get_init("gaussian_unit")(shape, g, F64).var().item() == pytest.approx(1.0, rel=0.03)
    assert init.get_init("uniform_unit")(shape, g, F64).var().item() == pytest.approx(1.0, rel=0.03)
    assert init.get_init("xavier_normal")(shape, g, F64).var().item() == pytest.approx(2 / 500, rel=0.03)
    assert init.get_init("torch_default")(shape, g, F64).abs().max().item() <= 1 / math.sqrt(300)


def test_gain_schedule_and_order():
    sched = gain_schedule(-0.4)
    assert [round(sched(l), 6) for l in range(3)] == [1.0, round(2**-0.4, 6), round(3**-0.4, 6)]
    net = MLP(4, 4, 3, gain=sched)
    assert [b.gain for b in net.blocks] == [sched(l) for l in range(3)]
    with pytest.raises(ValueError, match="depth=3"):
        MLP(4, 4, 3, gain=[1.0, 2.0])


def test_act_norm_applies_norm_last():
    net = MLP(6, 6, 2, norm="ln", activation="relu", order="act_norm", seed=0)
    out = net(torch.randn(4, 6, dtype=F64))
    torch.testing.assert_close(out.pow(2).mean(-1), torch.ones(1, 4, dtype=F64))


def test_activation_resolution():
    assert get_activation("ReLU")(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
    assert isinstance(get_activation(nn.Tanh), nn.Tanh)
    he3 = get_activation("he3")
    x = torch.randn(200000, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert he3(x).pow(2).mean().item() == pytest.approx(1.0, rel=0.05)  # normalised: E he_3(X)^2 = 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(norm="batchnorm3000"), "unknown norm"),
        (dict(activation="swishy"), "unknown activation"),
        (dict(init="glorot"), "unknown init"),
        (dict(order="act_then_norm"), "order"),
        (dict(bias_init="ones"), "bias_init"),
    ],
)
def test_unknown_names_fail_before_building(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(4, 4, 2, **kwargs)


@pytest.mark.parametrize("depth, width", [(0, 4), (2, 0), (-1, 4), (2.5, 4)])
def test_bad_sizes(depth, width):
    with pytest.raises(ValueError, match="positive integer"):
        MLP(4, width, depth)


def test_bad_input_shapes_and_values():
    net = MLP(4, 4, 2, ensemble=2)
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        net(torch.randn(3, 5, dtype=F64))
    with pytest.raises(ValueError, match="3 seeds"):
        net(torch.randn(3, 3, 4, dtype=F64))
    with pytest.raises(ValueError, match="NaN or inf"):
        net(torch.full((3, 4), float("nan")))


def test_divergence_is_reported_not_recorded():
    """A zero feature column makes paper BN divide 0 by 0: the forward raises instead of returning NaN."""
    net = MLP(4, 4, 2, norm="bn", seed=0)
    with torch.no_grad():
        net.blocks[0].linear.weight[0, 0].zero_()
    with pytest.raises(NumericalDivergence, match="NaN or inf"):
        net(torch.randn(3, 4, dtype=F64))


def test_normalization_validates_arguments():
    with pytest.raises(ValueError, match="over"):
        Normalization(over="rows")
    with pytest.raises(ValueError, match="scale"):
        Normalization(scale="max")
