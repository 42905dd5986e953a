"""The Gram-chain sampler (:mod:`rcbench.networks.gram_chain`) against explicit-weight networks.

Equivalence in distribution: for every configuration below, S = 300 independent explicit-weight networks
(:class:`rcbench.networks.MLP`) and S = 300 independent Gram chains run on the same fixed input; at depths 1, 3 and
8 the per-seed orthogonality gap and isometry gap (and, for un-normalised chains, the scale-sensitive log trace of
the Gram) of the two ensembles are compared by two-sample Kolmogorov-Smirnov tests.

False-failure rate: the family of all KS tests in this file (:data:`N_KS`, counted from the table) is controlled at
``FAMILY_ALPHA = 1e-3`` by Bonferroni: each test rejects only at ``p < FAMILY_ALPHA / N_KS``. Under the null (the
sampler is exact) the whole file fails with probability at most 1e-3 per seed of the test RNG; the seeds are fixed,
so the outcome is deterministic. Power: the negative controls at the end must reject at the same threshold for a
wrong weight scale and for Gaussian-vs-Haar swapped laws.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp

from rcbench import metrics as M
from rcbench.networks import MLP, NumericalDivergence
from rcbench.networks.gram_chain import GaussianWeights, GramChain, HaarWeights, gram_sqrt, weight_law

F64 = torch.float64
FAMILY_ALPHA = 1e-3
SEEDS = 300
DEPTHS = (1, 3, 8)
N, D = 4, 32

# (id, init, norm, activation, order, in_features) -- in_features < n makes the first Gram singular (rank 2)
CONFIGS = [
    ("gauss-bn-linear", "gaussian", "bn", "identity", "norm_act", D),
    ("gauss-bn-relu", "gaussian", "bn", "relu", "norm_act", D),
    ("gauss-none-linear", "gaussian", "none", "identity", "norm_act", D),
    ("gauss-none-relu", "gaussian", "none", "relu", "norm_act", D),
    ("haar-bn-linear", "orthogonal", "bn", "identity", "norm_act", D),
    ("haar-bn-relu", "orthogonal", "bn", "relu", "norm_act", D),
    ("haar-none-relu", "orthogonal", "none", "relu", "norm_act", D),
    ("gauss-ln-tanh-actnorm", "gaussian", "ln", "tanh", "act_norm", D),
    ("gauss-batchnorm1d-relu", "gaussian", "batchnorm1d", "relu", "norm_act", D),
    ("gauss-bn-relu-singular-input", "gaussian", "bn", "relu", "norm_act", 2),
    ("haar-bn-relu-singular-input", "orthogonal", "bn", "relu", "norm_act", 2),
]
# haar-none-linear is deterministic (an orthogonal layer keeps the Gram): checked exactly in its own test


def _metric_names(norm: str) -> list[str]:
    return ["orthogonality_gap", "isometry_gap"] + (["log_trace"] if norm == "none" else [])


N_KS = sum(len(DEPTHS) * len(_metric_names(c[2])) for c in CONFIGS)
THRESHOLD = FAMILY_ALPHA / N_KS


def _input(in_features: int) -> torch.Tensor:
    return torch.randn(N, in_features, generator=torch.Generator().manual_seed(123), dtype=F64)


def _stats(grams: torch.Tensor, names: list[str]) -> dict[str, np.ndarray]:
    out = M.spectral_metrics(grams, [m for m in names if m != "log_trace"], d=D)
    if "log_trace" in names:
        out["log_trace"] = torch.log(torch.diagonal(grams, dim1=-2, dim2=-1).sum(-1))
    return {k: v.numpy() for k, v in out.items()}


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS p-value; identical constant samples (a deterministic statistic) count as agreement."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.isinf(a).all() and np.isinf(b).all():
        return 1.0
    scale = max(np.abs(a[np.isfinite(a)]).max(initial=0), 1.0)
    if np.ptp(a) < 1e-9 * scale and np.ptp(b) < 1e-9 * scale:
        return 1.0 if abs(a.mean() - b.mean()) < 1e-9 * scale else 0.0
    return float(ks_2samp(a, b).pvalue)


def _pair(init, norm, act, order, in_features, seeds=SEEDS, chain_init=None):
    L = max(DEPTHS)
    x = _input(in_features)
    kw = dict(norm=norm, activation=act, order=order, ensemble=seeds)
    explicit = MLP(in_features, D, L, init=init, seed=1, **kw).grams(x)
    chain = GramChain(in_features, D, L, init=chain_init or init, seed=2, **kw).grams(x)
    return explicit, chain


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_gram_chain_equals_explicit_in_law(cfg):
    _, init, norm, act, order, in_features = cfg
    explicit, chain = _pair(init, norm, act, order, in_features)
    names = _metric_names(norm)
    failures = []
    for depth in DEPTHS:
        a, b = _stats(explicit[depth], names), _stats(chain[depth], names)
        for m in names:
            p = _ks(a[m], b[m])
            if p < THRESHOLD:
                failures.append(f"layer {depth} {m}: KS p = {p:.2e} < {THRESHOLD:.1e}")
    assert not failures, "; ".join(failures)


def test_ks_family_size_is_stated():
    # the Bonferroni denominator the docstring refers to
    assert N_KS == 75 and THRESHOLD == pytest.approx(1e-3 / 75)


# ---------------------------------------------------------------------------------------------------------------
# negative controls: the KS tests have power against plausible sampler bugs
# ---------------------------------------------------------------------------------------------------------------
def test_control_wrong_weight_scale_is_detected():
    """A chain with N(0, 1) weights instead of N(0, 1/d) (the authors' ``randn`` scale, without BN) must fail."""
    explicit, chain = _pair("gaussian", "none", "identity", "norm_act", D, chain_init=GaussianWeights(std=1.0))
    p = _ks(_stats(explicit[1], ["log_trace"])["log_trace"], _stats(chain[1], ["log_trace"])["log_trace"])
    assert p < THRESHOLD


def test_control_gaussian_vs_haar_is_detected():
    """Swapping the Gaussian law for the Haar law in the BN chain must fail at the first layer."""
    explicit, chain = _pair("gaussian", "bn", "identity", "norm_act", D, chain_init="orthogonal")
    a = _stats(explicit[1], ["orthogonality_gap"])["orthogonality_gap"]
    b = _stats(chain[1], ["orthogonality_gap"])["orthogonality_gap"]
    assert _ks(a, b) < THRESHOLD


# ---------------------------------------------------------------------------------------------------------------
# exact properties
# ---------------------------------------------------------------------------------------------------------------
def test_haar_linear_chain_keeps_the_gram():
    """Without normalisation an orthogonal layer (out = in >= n) maps G to W-invariant G: exactly, in both forms."""
    x = _input(D)
    G0 = x @ x.T
    for net in (MLP(D, D, 5, norm=None, init="orthogonal", ensemble=3), GramChain(D, D, 5, norm=None, init="haar",
                                                                                ensemble=3)):
        g = net.grams(x)
        torch.testing.assert_close(g, G0.expand_as(g), rtol=1e-10, atol=1e-10)


def test_grams_match_hidden_representations_and_are_reproducible():
    x = _input(D)
    net = GramChain(D, [16, 24, 40], 3, norm="bn", activation="relu", ensemble=5, seed=7)
    out, hidden = net(x, return_hidden=True)
    assert out.shape == (5, N, 40) and out.dtype == F64 and len(hidden) == 4
    g = net.grams(x)
    assert g.shape == (4, 5, N, N) and g.dtype == F64
    torch.testing.assert_close(g, torch.stack([h @ h.transpose(-1, -2) for h in hidden]), rtol=0, atol=0)
    torch.testing.assert_close(net.grams(x), g, rtol=0, atol=0)  # re-seeded every call
    assert not torch.equal(GramChain(D, [16, 24, 40], 3, norm="bn", activation="relu", ensemble=5, seed=8).grams(x), g)
    # seeds in the ensemble are different draws
    assert not torch.allclose(g[1, 0], g[1, 1])


def test_bn_chain_is_norm_preserving_and_scaled():
    """Paper B's chain H' = BN(H W^T)/sqrt(d) has ||H'||_F = 1 at every layer (B2), also through the sampler."""
    d = 64
    x = torch.randn(N, d, dtype=F64)
    g = GramChain(d, d, 10, norm="bn", gain=d**-0.5, ensemble=4).grams(x)
    tr = torch.diagonal(g[1:], dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(tr, torch.ones_like(tr), rtol=1e-12, atol=1e-12)


def test_gaussian_scale_in_expectation():
    """E tr(G_1) = std^2 * out * tr(G_0) for a linear Gaussian layer; mean over 2000 seeds within 5 sd."""
    x = _input(D)
    S, out = 2000, 48
    g = GramChain(D, out, 1, norm=None, init=GaussianWeights(std=0.3), ensemble=S).grams(x)
    ratio = torch.diagonal(g[1], dim1=-2, dim2=-1).sum(-1) / (0.09 * out * torch.trace(x @ x.T))
    # tr(G_1)/E = sum over out columns of z^T G z / (out tr G): relative sd <= sqrt(2/out) / sqrt(S)
    assert abs(float(ratio.mean()) - 1) < 5 * math.sqrt(2 / out) / math.sqrt(S)


def test_gram_sqrt_singular_and_definite():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(6, 5, 3, generator=g, dtype=F64)  # rank 3 Grams of size 5
    G = A @ A.transpose(-1, -2)
    for factor in ("auto", "eigh"):
        R = gram_sqrt(G, factor)
        torch.testing.assert_close(R @ R.transpose(-1, -2), G, rtol=1e-10, atol=1e-10)
    with pytest.raises(torch.linalg.LinAlgError):
        gram_sqrt(G, "cholesky")
    B = torch.randn(6, 5, 9, generator=g, dtype=F64)
    G = B @ B.transpose(-1, -2)
    R = gram_sqrt(G, "cholesky")
    torch.testing.assert_close(R @ R.transpose(-1, -2), G, rtol=1e-10, atol=1e-10)
    Rk = gram_sqrt(A @ A.transpose(-1, -2), rank=3)
    assert Rk.shape == (6, 5, 3)
    torch.testing.assert_close(Rk @ Rk.transpose(-1, -2), A @ A.transpose(-1, -2), rtol=1e-10, atol=1e-10)


def test_mixed_batch_of_singular_and_regular_grams():
    """Per-seed inputs, one of them rank-deficient: the 'auto' factor falls back to eigh for that seed only."""
    x = torch.randn(3, N, D, dtype=F64)
    x[1, 1] = x[1, 0]  # two identical samples in seed 1
    g = GramChain(D, D, 2, norm="bn", activation="relu", ensemble=3).grams(x)
    assert torch.isfinite(g).all()


def test_float32_noise_and_haar_shapes():
    x = _input(D)
    g32 = GramChain(D, D, 3, norm="bn", ensemble=2, noise_dtype=torch.float32).grams(x)
    assert g32.dtype == F64 and torch.isfinite(g32).all()
    # Haar with out < in (first rows of a column-orthonormal matrix) and with n > in (top eigenpairs)
    for in_f, w in ((D, 8), (2, 16), (D, 3)):
        h = GramChain(in_f, w, 2, norm="bn", init=HaarWeights(), ensemble=2)(_input(in_f))
        assert h.shape == (2, N, w) and torch.isfinite(h).all()


def test_haar_out_smaller_than_in_preserves_norm_in_expectation():
    """W (out x in) with orthonormal rows: E ||H W^T||_F^2 = (out/in) ||H||_F^2 (exact for the Haar law)."""
    x = _input(D)
    g = GramChain(D, 8, 1, norm=None, init="orthogonal", ensemble=3000).grams(x)
    ratio = torch.diagonal(g[1], dim1=-2, dim2=-1).sum(-1) / (8 / D * torch.trace(x @ x.T))
    assert abs(float(ratio.mean()) - 1) < 0.03


def test_bad_inputs_raise_before_work():
    with pytest.raises(ValueError, match="no exact Gram-chain law"):
        GramChain(8, 8, 2, init="uniform_unit")
    with pytest.raises(ValueError, match="no known exact"):
        weight_law(lambda shape, generator, dtype: torch.zeros(shape))
    with pytest.raises(ValueError, match="factor"):
        GramChain(8, 8, 2, factor="qr")
    with pytest.raises(ValueError, match="unknown norm"):
        GramChain(8, 8, 2, norm="nope")
    with pytest.raises(ValueError, match="depth"):
        GramChain(8, 8, 0)
    net = GramChain(8, 8, 2, ensemble=2)
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(4, 7, dtype=F64))
    with pytest.raises(ValueError, match="NaN"):
        net(torch.full((4, 8), math.nan, dtype=F64))
    with pytest.raises(NumericalDivergence):
        net(torch.zeros(4, 8, dtype=F64))  # BN of a zero batch is 0/0
