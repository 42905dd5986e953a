"""Unit and property tests of rcbench.metrics: the definitions, their invariances and bounds, and the agreement of
the Gram route with the SVD route."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rcbench import metrics as M

F64 = torch.float64


@st.composite
def representations(draw, min_n=2, max_n=8, min_d=2, max_d=12, well_conditioned=True):
    """Finite random matrices (n, d) with entries in [-10, 10], bounded away from zero in Frobenius norm."""
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(min_d, max_d))
    a = draw(arrays(np.float64, (n, d), elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False)))
    seed = draw(st.integers(0, 2**31 - 1))
    H = torch.from_numpy(a)
    # mix in a random full-rank component so the strategy also produces generic matrices, not just shrunk zeros
    noise = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    H = H + (noise if well_conditioned else 0.0 * noise)
    if H.abs().max() == 0:
        H[0, 0] = 1.0
    return H


def haar(k: int, seed: int) -> torch.Tensor:
    from rcbench.networks.init import haar_orthogonal

    return haar_orthogonal((k, k), torch.Generator().manual_seed(seed), F64)


# ---------------------------------------------------------------------------------------------------------------
# invariances
# ---------------------------------------------------------------------------------------------------------------
SCALE_FREE = ["soft_rank", "stable_rank", "effective_rank", "orthogonality_gap", "isometry_gap", "coupling_w2_bound"]


@pytest.mark.parametrize("name", SCALE_FREE)
@given(H=representations(), c=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_scale_and_orthogonal_invariance(name, H, c, seed):
    f = getattr(M, name)
    base = f(H)
    O = haar(H.shape[1], seed)  # orthogonal mixing of the features: H -> H O (paper layout: O H)
    torch.testing.assert_close(f(c * H), base, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(f(H @ O), base, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("c", [1e-150, 1e77, 1e150])
@pytest.mark.parametrize("name", SCALE_FREE)
def test_scale_free_metrics_at_extreme_scales(name, c):
    """No over- or underflow of the spectrum: a vanilla chain with unit-variance weights reaches ||H|| ~ 1e77
    between renormalisations (the audit found soft_rank = inf/inf = NaN there, Gram eigenvalues ~ 1e154)."""
    H = torch.randn(32, 32, generator=torch.Generator().manual_seed(0), dtype=F64)
    f = getattr(M, name)
    torch.testing.assert_close(f(c * H), f(H), rtol=1e-7, atol=1e-9)
    grams = M.gram(c * H)
    torch.testing.assert_close(M.spectral_metrics(grams, [name])[name], f(H), rtol=1e-7, atol=1e-9)


@given(H=representations(), seed=st.integers(0, 1000))
def test_sample_permutation_invariance(H, seed):
    perm = torch.randperm(H.shape[0], generator=torch.Generator().manual_seed(seed))
    for name in SCALE_FREE:
        torch.testing.assert_close(getattr(M, name)(H[perm]), getattr(M, name)(H), rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# bounds
# ---------------------------------------------------------------------------------------------------------------
@given(H=representations(), tau=st.sampled_from([0.0, 0.1, 0.5, 0.9]))
def test_rank_inequalities(H, tau):
    r = M.soft_rank(H).item()
    rank = M.numerical_rank(H).item()
    assert 1 - 1e-9 <= r <= rank + 1e-9 <= min(H.shape) + 1e-9
    assert M.tau_rank(H, tau).item() >= (1 - tau) ** 2 * r - 1e-9
    assert 1 - 1e-9 <= M.stable_rank(H).item() <= r + 1e-9  # stable rank <= soft rank (sum l^2 <= l_max sum l)
    assert 1 - 1e-9 <= M.effective_rank(H).item() <= rank + 1e-9


@given(H=representations())
def test_isometry_bounds(H):
    iso = M.isometry(H).item()
    assert 0.0 <= iso <= 1.0 + 1e-12
    n, d = H.shape
    if n > d:
        assert iso == 0.0 and math.isinf(M.isometry_gap(H).item())
    else:
        assert M.isometry_gap(H).item() >= 0.0


@given(H=representations())
def test_orthogonality_gap_range(H):
    n = H.shape[0]
    V = M.orthogonality_gap(H).item()
    assert -1e-12 <= V <= math.sqrt(1 - 1 / n) + 1e-12


def test_isotropic_extremes():
    n, d = 5, 9
    Q = haar(d, 3)[:n]  # orthonormal rows: G = I
    assert M.isometry(Q).item() == pytest.approx(1.0, abs=1e-12)
    assert M.isometry_gap(3.0 * Q).item() == pytest.approx(0.0, abs=1e-12)
    assert M.orthogonality_gap(Q).item() == pytest.approx(0.0, abs=1e-7)
    assert M.soft_rank(Q).item() == pytest.approx(n)
    assert M.coupling_w2_bound(Q).item() == pytest.approx(0.0, abs=1e-12)
    # rank one: V = sqrt(1 - 1/n), isometry 0, soft rank 1
    u = torch.randn(n, 1, dtype=F64) @ torch.randn(1, d, dtype=F64)
    assert M.orthogonality_gap(u).item() == pytest.approx(math.sqrt(1 - 1 / n), rel=1e-9)
    assert M.isometry(u).item() == 0.0
    assert math.isinf(M.isometry_gap(u).item())
    assert M.soft_rank(u).item() == pytest.approx(1.0)


def test_isometry_one_iff_scaled_identity():
    G = torch.diag(torch.tensor([1.0, 1.0, 1.0 + 1e-3], dtype=F64))
    H = torch.linalg.cholesky(G)
    assert M.isometry(H).item() < 1.0
    # small-perturbation law: -log I(I + E) ~ ||E||_F^2 / (2n)  (paper D, §1.2)
    eps = 1e-3
    E = torch.zeros(4, 4, dtype=F64)
    E[0, 1] = E[1, 0] = eps
    H = torch.linalg.cholesky(torch.eye(4, dtype=F64) + E)
    assert M.isometry_gap(H).item() == pytest.approx(2 * eps**2 / (2 * 4), rel=1e-3)


def test_singular_gram_is_inf_not_nan():
    H = torch.randn(6, 3, dtype=F64)  # n > d: singular sample Gram
    assert math.isinf(M.isometry_gap(H).item())
    H = torch.randn(4, 8, dtype=F64)
    H[1] = 2 * H[0]  # exactly degenerate batch
    assert math.isinf(M.isometry_gap(H).item())
    assert M.isometry(H).item() == 0.0


# ---------------------------------------------------------------------------------------------------------------
# closed forms and agreement of the Gram and SVD routes
# ---------------------------------------------------------------------------------------------------------------
@given(H=representations())
def test_gram_route_agrees_with_svd(H):
    s = torch.linalg.svdvals(H)
    lam = s**2
    n = H.shape[0]
    torch.testing.assert_close(M.soft_rank(H), lam.sum() ** 2 / (lam**2).sum(), rtol=1e-8, atol=0)
    torch.testing.assert_close(M.stable_rank(H), lam.sum() / lam.max(), rtol=1e-8, atol=0)
    p = s / s.sum()
    p = p[p > 1e-300]
    torch.testing.assert_close(M.effective_rank(H), torch.exp(-(p * p.log()).sum()), rtol=1e-6, atol=1e-9)
    full = torch.zeros(n, dtype=F64)
    full[: lam.numel()] = lam / lam.sum()
    torch.testing.assert_close(M.orthogonality_gap(H), (full - 1 / n).norm(), rtol=1e-6, atol=1e-8)
    sig = full.sqrt()
    torch.testing.assert_close(M.coupling_w2_bound(H), ((sig - n**-0.5) ** 2).sum(), rtol=1e-6, atol=1e-8)


@given(H=representations(max_n=6, min_d=6))
def test_isometry_gap_closed_form(H):
    G = H @ H.T
    n = G.shape[0]
    expected = torch.log(torch.trace(G) / n) - torch.logdet(G) / n
    torch.testing.assert_close(M.isometry_gap(H), expected, rtol=1e-6, atol=1e-9)


def test_orthogonality_gap_identity_unit_norm():
    """V^2 = sum sigma_i^4 - 1/n when ||H||_F = 1 (paper B, proof of Lemma 4)."""
    H = torch.randn(4, 10, dtype=F64)
    H = H / H.norm()
    s = torch.linalg.svdvals(H)
    assert M.orthogonality_gap(H).item() ** 2 == pytest.approx((s**4).sum().item() - 1 / 4, rel=1e-10)
    # V is defined on the n x n sample Gram: the feature-Gram version is a different number (paper B, Conventions)
    Gf = H.T @ H
    wrong = (Gf / torch.trace(Gf) - torch.eye(10, dtype=F64) / 10).norm()
    assert abs(wrong.item() - M.orthogonality_gap(H).item()) > 1e-3


def test_w2_is_sqrt_of_coupling_bound():
    H = torch.randn(3, 5, 7, dtype=F64)
    torch.testing.assert_close(M.w2_to_isotropic_gaussian(H) ** 2, M.coupling_w2_bound(H))


def test_potential_and_cosines():
    H = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=F64)
    C = M.cosine_similarity(H)
    assert C[0, 1].item() == pytest.approx(1 / math.sqrt(2))
    rho = 1 / math.sqrt(2)
    assert M.potential(H).item() == pytest.approx(rho / (1 - rho))
    assert math.isinf(M.potential(torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=F64)).item())


def test_batched_matches_loop_and_spectral_metrics():
    H = torch.randn(3, 4, 6, 9, dtype=F64)
    for name in ["soft_rank", "orthogonality_gap", "isometry_gap", "effective_rank"]:
        batched = getattr(M, name)(H)
        assert batched.shape == (3, 4)
        looped = torch.stack([torch.stack([getattr(M, name)(h) for h in row]) for row in H])
        torch.testing.assert_close(batched, looped)
    out = M.spectral_metrics(M.gram(H), ["soft_rank", "isometry_gap", "tau_rank"], d=9)
    torch.testing.assert_close(out["soft_rank"], M.soft_rank(H))
    torch.testing.assert_close(out["isometry_gap"], M.isometry_gap(H))
    assert torch.equal(out["tau_rank"], M.tau_rank(H, 0.0))


def test_gradient_norms_per_seed():
    from rcbench.networks import MLP

    net = MLP(5, 6, 3, out_features=2, norm="bn", ensemble=3, seed=0)
    x = torch.randn(8, 5, dtype=F64)
    loss = net(x).pow(2).mean(dim=(1, 2)).sum()
    norms = M.gradient_norms(net, loss)
    assert set(norms) == {"blocks.0.linear.weight", "blocks.1.linear.weight", "blocks.2.linear.weight", "readout.weight"}
    assert norms["blocks.1.linear.weight"].shape == (3,)
    # seed 1's gradient does not depend on seed 0's loss
    loss1 = net(x)[1].pow(2).mean()
    torch.testing.assert_close(M.gradient_norms(net, loss1)["readout.weight"][1], norms["readout.weight"][1])
    with pytest.raises(KeyError, match="no weight matrix"):
        M.gradient_norms(net, loss, names=["nope"])


# ---------------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, err, msg",
    [
        (torch.randn(5, dtype=F64), ValueError, r"shape \(\.\.\., n, d\)"),
        (np.ones((3, 3)), TypeError, "torch.Tensor"),
        (torch.ones(3, 3, dtype=torch.int64), TypeError, "floating-point"),
        (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), ValueError, "NaN or inf"),
        (torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), ValueError, "NaN or inf"),
        (torch.zeros(3, 4), ValueError, "identically zero"),
        (torch.zeros(0, 4), ValueError, "empty"),
    ],
)
def test_bad_inputs_raise_clearly(bad, err, msg):
    with pytest.raises(err, match=msg):
        M.soft_rank(bad)


def test_tau_out_of_range_and_unknown_metric():
    with pytest.raises(ValueError, match="tau"):
        M.tau_rank(torch.randn(3, 3), 1.0)
    with pytest.raises(KeyError, match="unknown spectral metric"):
        M.spectral_metrics(torch.eye(3)[None], ["rank_of_doom"])


def test_half_precision_is_promoted():
    H = torch.randn(4, 6).half()
    assert M.soft_rank(H).dtype == torch.float32
