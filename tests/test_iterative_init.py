"""Unit tests of paper B's iterative orthogonal initialisation (rcbench.networks.iterative_init)."""

import math

import pytest
import torch
from torch import nn

import rcbench.metrics as M
from rcbench.networks import MLP
from rcbench.networks.iterative_init import (
    VARIANTS,
    iterative_orthogonal_init_,
    iterative_orthogonal_init_conv_,
    orthogonalizing_weight,
    resolve_variant,
)

DT = torch.float64


def _batch(S=3, N=60, d=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    scales = torch.logspace(0, -2, d, dtype=DT)
    return torch.randn(S, N, d, generator=g, dtype=DT) * scales @ torch.linalg.qr(
        torch.randn(d, d, generator=g, dtype=DT))[0].T


def test_paper_variant_exact_spectrum_and_norm():
    H = _batch()
    W = orthogonalizing_weight(H)  # paper: Sigma^{-1/2}, QR'd slice, 1/sqrt(sum s)
    Y = H @ W.transpose(-1, -2)
    s = torch.linalg.svdvals(H)
    torch.testing.assert_close(torch.linalg.svdvals(Y), (s / s.sum(-1, keepdim=True)).sqrt(), atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.linalg.matrix_norm(Y), torch.ones(3, dtype=DT), atol=1e-12, rtol=0)
    # App. E: the gap strictly decreases, on both sides
    assert bool((M.orthogonality_gap(Y) < M.orthogonality_gap(H)).all())
    assert bool((M.orthogonality_gap(Y.transpose(-1, -2)) < M.orthogonality_gap(H.transpose(-1, -2))).all())


def test_paper_variant_v_prime_is_orthogonal_and_batched_matches_single():
    H = _batch()
    W = orthogonalizing_weight(H)
    P, s, Qh = torch.linalg.svd(H, full_matrices=False)
    Vp = W @ Qh.transpose(-1, -2) * s.rsqrt().reciprocal().unsqueeze(-2) * s.sum(-1).sqrt()[..., None, None]
    eye = torch.eye(H.shape[-1], dtype=DT).expand_as(Vp)
    torch.testing.assert_close(Vp @ Vp.transpose(-1, -2), eye, atol=1e-10, rtol=0)
    torch.testing.assert_close(W[1], orthogonalizing_weight(H[1]), atol=1e-12, rtol=0)


def test_code_variant_is_sigma_inverse_with_literal_slice():
    H = _batch(S=1)[0]
    P, s, Qh = torch.linalg.svd(H, full_matrices=False)
    d = H.shape[1]
    w = P[:d, :d] @ torch.diag(1 / s) @ Qh  # authors' `u[:d,:d] @ diag(1/s) @ v.T`
    w = w / torch.linalg.matrix_norm(H @ w.T)
    torch.testing.assert_close(orthogonalizing_weight(H, variant="code"), w, atol=1e-12, rtol=0)


def test_reproduction_variant_is_the_transpose_bug():
    H = _batch(S=1)[0]
    P, s, Qh = torch.linalg.svd(H, full_matrices=False)
    d = H.shape[1]
    w = P[:d, :d] @ torch.diag(s.rsqrt()) @ Qh.T
    w = w / torch.linalg.matrix_norm(H @ w.T)
    torch.testing.assert_close(orthogonalizing_weight(H, variant="reproduction"), w, atol=1e-12, rtol=0)
    Y = H @ w.T  # does not whiten the features
    assert M.orthogonality_gap(Y.T) > 0.9 * M.orthogonality_gap(H.T)


def test_exponent_and_slice_overrides():
    H = _batch(S=1)[0]
    Y = H @ orthogonalizing_weight(H, exponent=-1.0, scale="output").T  # full whitening, orthogonal V'
    sv = torch.linalg.svdvals(Y)
    torch.testing.assert_close(sv, torch.full_like(sv, 1 / math.sqrt(H.shape[1])), atol=1e-10, rtol=0)
    Y2 = H @ orthogonalizing_weight(H, slice="identity").T
    torch.testing.assert_close(torch.linalg.svdvals(Y2), torch.linalg.svdvals(H @ orthogonalizing_weight(H).T))
    assert set(VARIANTS) >= {"paper", "code", "reproduction", "paper_literal"}


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"variant": "nope"}, "unknown iterative-init variant"),
        ({"slice": "svd"}, "slice must be"),
        ({"scale": "l2"}, "scale must be"),
        ({"exponent": float("nan")}, "exponent must be finite"),
    ],
)
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        orthogonalizing_weight(_batch(S=1)[0], **kwargs)
    with pytest.raises(ValueError):
        resolve_variant("paper", bogus=1)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="N=10 < d=20"):
        orthogonalizing_weight(torch.randn(10, 20, dtype=DT))
    H = _batch(S=1)[0]
    H[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        orthogonalizing_weight(H)
    H = _batch(S=1)[0]
    H[:, 3] = 0.0  # a dead feature: rank deficient
    with pytest.raises(ValueError, match="rank deficient"):
        orthogonalizing_weight(H)
    W = orthogonalizing_weight(H, pinv=True)
    assert bool(torch.isfinite(W).all())
    assert torch.linalg.matrix_rank(H @ W.T) == H.shape[1] - 1
    Z = torch.zeros(2, 30, 10, dtype=DT)
    Z[0] = torch.randn(30, 10, dtype=DT)
    W = orthogonalizing_weight(Z, pinv=True)  # a dead network (all-zero representation): zero weights, no NaN
    assert bool(torch.isfinite(W).all()) and float(W[1].abs().max()) == 0.0



@pytest.mark.parametrize("variant", ["code", "paper_literal", "reproduction"])
def test_output_that_vanishes_on_a_live_batch_gives_zero_weight_not_nan(variant):
    # Regression (B27/B28 crashed for 5 of 10 master seeds): with pinv a rank-deficient but non-zero H can give an
    # Eq. (6) weight whose output H W^T is zero, and scale="output" then divided 0/0 (NaN weights). Deterministic case:
    # a rank-one H whose first d samples are zero makes the literal slice V' = P[:d, :d] zero, so W H^T = 0.
    # (In the claims it was the reproduction's transposed Qh on a rank-one deep ReLU representation.)
    N, d = 30, 10
    g = torch.Generator().manual_seed(0)
    H = torch.stack([torch.randn(N, d, generator=g, dtype=DT), torch.zeros(N, d, dtype=DT)])
    H[1, d:] = torch.rand(N - d, 1, generator=g, dtype=DT) @ torch.rand(1, d, generator=g, dtype=DT)
    W = orthogonalizing_weight(H, variant=variant, pinv=True)
    assert bool(torch.isfinite(W).all())
    assert float(W[1].abs().max()) == 0.0  # the layer kills the batch: the network is dead from here on
    torch.testing.assert_close(torch.linalg.matrix_norm(H[0] @ W[0].T), torch.tensor(1.0, dtype=DT), atol=1e-12,
                               rtol=0)  # the live seed is untouched by its neighbour
    with pytest.raises(ValueError, match="rank deficient"):
        orthogonalizing_weight(H, variant=variant)


def test_reproduction_variant_on_a_deep_relu_net_records_dead_seeds_not_nan():
    # the failing claim configuration (B27/B28 quick profile, master seed 3, depth 40)
    from rcbench.experiments import orthogonality_nets as exp

    df = exp.initial_gap(width=64, in_features=128, depths=(40,), n_eval=32, seeds=8, init_ratio=3,
                         variants=("reproduction", "paper", "code"), seed=3)
    assert bool(df[["gap", "logit_gap"]].notna().all().all())
    assert int(df[df.variant == "reproduction"].dead.sum()) > 0
    assert int(df[df.variant != "reproduction"].dead.sum()) == 0

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_mlp_init_layer_by_layer(dtype):
    d, N = 16, 48
    net = MLP(24, d, 5, norm="none", activation="identity", init="gaussian", ensemble=2, seed=1, dtype=dtype)
    before = [b.linear.weight.detach().clone() for b in net.blocks]
    x = torch.randn(N, 24, generator=torch.Generator().manual_seed(3), dtype=torch.float64) @ torch.diag(
        torch.logspace(0, -1, 24, dtype=torch.float64))
    iterative_orthogonal_init_(net, x.to(dtype))
    # the non-square input layer keeps its init; the square ones change
    assert torch.equal(net.blocks[0].linear.weight, before[0])
    assert all(not torch.equal(net.blocks[l].linear.weight, before[l]) for l in range(1, 5))
    with torch.no_grad():
        _, hidden = net(x.to(dtype), return_hidden=True)
    gaps = [M.orthogonality_gap(h.double().transpose(-1, -2)) for h in hidden[1:]]
    for l in range(1, 5):  # every Eq. (6) layer strictly lowers the feature-side gap and has unit Frobenius norm
        assert bool((gaps[l] < gaps[l - 1]).all())
        torch.testing.assert_close(torch.linalg.matrix_norm(hidden[l + 1].double()), torch.ones(2, dtype=DT),
                                   atol=1e-4 if dtype == torch.float32 else 1e-12, rtol=0)


def test_mlp_init_validation():
    net = MLP(16, 16, 3, norm="none", ensemble=1)
    with pytest.raises(ValueError, match="smaller than the width"):
        iterative_orthogonal_init_(net, torch.randn(8, 16, dtype=DT))
    with pytest.raises(ValueError, match="not square blocks"):
        iterative_orthogonal_init_(MLP(8, 16, 2, norm="none"), torch.randn(40, 8, dtype=DT), layers=[0])
    with pytest.raises(ValueError, match="init batch must be"):
        iterative_orthogonal_init_(net, torch.randn(40, 5, dtype=DT))


def test_conv_init_unit_output_norm():
    torch.manual_seed(0)
    layers = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, bias=False),
                           nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, bias=False))
    x = torch.rand(16, 1, 8, 8)
    w0 = layers[0].weight.detach().clone()
    iterative_orthogonal_init_conv_(layers, x)
    assert torch.equal(layers[0].weight, w0)  # not square: untouched
    with torch.no_grad():
        h = layers[1](layers[0](x))
        torch.testing.assert_close(torch.linalg.vector_norm(layers[2](h)), torch.tensor(1.0), atol=1e-5, rtol=0)
        assert layers[4].weight.shape == (4, 4, 3, 3) and bool(torch.isfinite(layers[4].weight).all())
