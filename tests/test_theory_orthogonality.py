"""Closed forms of paper B (:mod:`rcbench.theory.orthogonality`) and the small helpers of
:mod:`rcbench.experiments.orthogonality`."""

import math

import numpy as np
import pytest
import torch

import rcbench.metrics as M
from rcbench.experiments import orthogonality as exp
from rcbench.theory import orthogonality as T


@pytest.mark.parametrize("e", [1e-2, 0.3, 1e-6, 1e-12])
def test_sawa_p_matches_two_sample_closed_form(e):
    # n = 2: E[a X / (a X + b Y)] = sqrt(a) / (sqrt(a) + sqrt(b)) for X, Y i.i.d. chi^2_1
    p = T.sawa_p([1 - e, e])
    assert p[1] == pytest.approx(math.sqrt(e) / (math.sqrt(1 - e) + math.sqrt(e)), rel=1e-9)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_sawa_p_trapezoid_matches_adaptive_quadrature():
    rng = np.random.default_rng(0)
    for i in range(15):
        n = int(rng.integers(2, 10))
        s = np.maximum(rng.dirichlet(np.ones(n) * (0.2 if i % 2 else 1.0)), 1e-13)
        assert np.abs(T.sawa_p(s) - T.sawa_p(s, method="quad")).max() < 1e-11
    with pytest.raises(ValueError):
        T.sawa_p([0.5, 0.5], method="simpson")


def test_sawa_p_isotropic_rank_one_and_monte_carlo():
    assert np.allclose(T.sawa_p([0.25] * 4), 0.25, atol=1e-12)
    assert np.allclose(T.sawa_p([1.0, 0.0, 0.0]), [1.0, 0.0, 0.0], atol=1e-12)
    s = [0.4, 0.3, 0.2, 0.1]
    p = T.sawa_p(s)
    m, se = T.sawa_p_monte_carlo(s, draws=100_000, seed=1)
    assert np.all(np.abs(p - m) <= 5 * se)
    assert list(np.argsort(p)) == list(np.argsort(s))


def test_contraction_and_floor_constants():
    assert T.contraction_factor(4) == pytest.approx(2 / 3)
    assert T.worst_case_rate(4) == pytest.approx(5 / 6)
    n, d = 4, 256
    direct = math.sqrt((n - 1) * (n + 2) ** 2 / (4 * n * (n + 1) * d))
    assert T.floor_level(n, d) == pytest.approx(direct)
    assert T.floor_level(4, 1.0) == pytest.approx(1.1619, abs=1e-4)
    assert T.theorem1_nonvacuous_width(4) == pytest.approx(3072)
    assert T.theorem1_nonvacuous_width(2) == pytest.approx(288)
    assert T.v_max(4) == pytest.approx(math.sqrt(0.75))
    assert T.coupling_rank_one(4) == pytest.approx(1.0)
    assert T.lemma4_tight_constant(4) == pytest.approx(math.sqrt(12))


def test_bounds_and_validation():
    assert T.theorem1_bound(0, 2, 4096, 0.5) == pytest.approx(2 + 6 / (0.5 * 64))
    assert T.averaged_bound_rhs(2, 0.5, 16) == pytest.approx(1.5 * 0.5 / 2 + 1.5 / 4)
    s = np.array([0.4, 0.3, 0.2, 0.1])
    assert T.theorem5_rhs(s, 100) == pytest.approx((1 - 2 * 0.1 / 3) * 0.15 + 0.1)
    left, middle, right = T.lemma8_terms(s)
    assert left <= middle <= right
    with pytest.raises(ValueError):
        T.theorem1_bound(1, 4, 64, 0.5)  # alpha > 1/n
    with pytest.raises(ValueError):
        T.sawa_p([0.5, -0.1])
    with pytest.raises(ValueError):
        T.floor_level(4, 64, contraction=1.0)
    with pytest.raises(ValueError):
        T.averaged_bound_rhs(0, 0.5, 16)


def test_gap_from_sigma2_matches_metric():
    H = torch.randn(5, 40, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    s = torch.linalg.svdvals(H) ** 2
    assert T.gap_from_sigma2(s.numpy()) == pytest.approx(M.orthogonality_gap(H).item(), abs=1e-12)
    assert T.lyapunov_from_sigma2(s.numpy()) == pytest.approx(0.2 - (s.min() / s.sum()).item(), abs=1e-12)


def test_mean_field_iteration_converges_to_contraction():
    tr = T.iterate_mean_field([0.4, 0.3, 0.2, 0.1], 12)
    V = [T.gap_from_sigma2(x) for x in tr]
    assert V[-1] / V[-2] == pytest.approx(2 / 3, rel=0.01)


def test_chain_inputs_and_validation():
    x = exp.chain_input("authors", 4, 8, runs=2)
    assert x.shape == (2, 4, 8) and x[0, 0, 0] == 1 and x[0, 2, 2] == 1e-6
    assert M.orthogonality_gap(exp.chain_input("orthogonal", 3, 5))[0].item() == pytest.approx(0, abs=1e-15)
    with pytest.raises(ValueError, match="n <= d"):
        exp.bn_chain(n=8, widths=(4,), depth=2, runs=1)
    with pytest.raises(ValueError, match="unknown input"):
        exp.bn_chain(n=2, widths=(4,), depth=2, runs=1, input="bogus")
    with pytest.raises(ValueError):
        exp.bn_chain(n=2, widths=(4,), depth=0, runs=1)
    with pytest.raises(KeyError):
        exp.config("B6")
    with pytest.raises(ValueError):
        exp.config("B13", "huge")


def test_bn_chain_frame_and_norm_preservation():
    for sampler in ("gram", "literal"):
        df = exp.bn_chain(n=3, widths=(8, 16), depth=4, runs=2, input="random", sampler=sampler)
        assert len(df) == 2 * 5 * 2
        assert set(exp.CHAIN_METRICS) <= set(df.columns)
        assert np.allclose(df[df.layer >= 1].frob2, 1.0, atol=1e-12)
        assert np.allclose(df.sigma_min2 + df.lyapunov, 1 / 3)


def test_gram_and_literal_samplers_agree_in_law():
    # mean V over layers 5..30 at n=4, d=16, 40 runs: same law, so equal within Monte Carlo error
    a = exp.bn_chain(n=4, widths=(16,), depth=30, runs=40, input="random", sampler="gram", seed=3)
    b = exp.bn_chain(n=4, widths=(16,), depth=30, runs=40, input="random", sampler="literal", seed=3)
    ma = a[a.layer >= 5].groupby("seed").orthogonality_gap.mean()
    mb = b[b.layer >= 5].groupby("seed").orthogonality_gap.mean()
    se = math.sqrt(ma.var() / len(ma) + mb.var() / len(mb))
    assert abs(ma.mean() - mb.mean()) <= 4 * se


def test_full_whitening_and_energy_distance():
    x = torch.randn(2, 3, 7, dtype=torch.float64)
    y = exp.FullWhitening()(x)
    assert torch.allclose(torch.linalg.svdvals(y), torch.ones(2, 3, dtype=torch.float64), atol=1e-12)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(400, 3, generator=g, dtype=torch.float64)
    Y = torch.randn(400, 3, generator=g, dtype=torch.float64)
    assert abs(exp.energy_distance(X, Y).item()) < 0.05
    assert exp.energy_distance(X, 3 * Y).item() > 0.5


def test_analysis_helpers():
    df = exp.bn_chain(n=4, widths=(16, 64, 256), depth=20, runs=4, input="random")
    fit, per_run = exp.width_slope(df, start=5)
    assert per_run.shape == (4,) and fit.n == 3 and -0.8 < fit.slope < -0.2
    t = exp.theorem1_table(df)
    assert t.layer.max() == 19 and (t.ratio > 0).all()
    a = exp.averaged_bound_table(df)
    assert a.layer.min() == 1 and (a.lhs >= 0).all()
    assert exp.steepest_window_slope(df.groupby("layer").orthogonality_gap.mean(), 5) < 0.1


def test_protocol_width_slope_prediction():
    authors = exp.input_spectrum("authors", 4, 16)
    assert np.allclose(sorted(authors), [1e-12, 1e-12, 1e-12, 1.0], rtol=1e-6)
    v = T.mean_field_gaps(authors)
    assert abs(v[0] - T.v_max(4)) < 1e-9 and v[-1] < 1e-9 and v.size < 80
    paper = (16, 32, 64, 128, 256, 512)
    # the authors' Fig. 2b protocol: -0.4667 (measured -0.468); wider widths flatten the 500-layer average
    assert abs(T.width_slope_prediction(authors, paper, 1, 500) + 0.4667) < 1e-3
    assert abs(T.width_slope_prediction(authors, (*paper, 1024, 2048, 4096, 8192), 1, 500) + 0.4288) < 1e-3
    # past the transient the prediction is the floor law d^{-1/2}
    assert abs(T.width_slope_prediction(np.ones(4), paper, 50, 150) + 0.5) < 1e-9
    m = T.layer_mean_gap(authors, np.array([16.0, 512.0]), 1, 500)
    assert m.shape == (2,) and m[0] > m[1] > T.floor_level(4, 512)
    assert abs(T.slope_model_error(paper) - 0.02 * 9 / (17.5 * math.log(2))) < 1e-12
    with pytest.raises(ValueError):
        T.slope_model_error((16,))
    with pytest.raises(ValueError):
        T.layer_mean_gap(authors, 16, 5, 4)


def test_theorem1_unorthogonalised_margin_and_equicorrelated_input():
    # the equicorrelated input has the spectrum the margin assumes: V_0 = c sqrt(1 - 1/n), sigma_min^2 = (1 - c)/n
    for n, c in ((2, 0.5), (4, 0.3)):
        s = exp.input_spectrum("equicorrelated", n, 16, eps=c)
        assert abs(T.gap_from_sigma2(s) - c * T.v_max(n)) < 1e-12 and abs(s.min() - (1 - c) / n) < 1e-12
    # B15's anisotropic arm: live at d = 2^14, 2^16 (bound 0.272, 0.113 < V_0 = 0.354), not at 2^12
    live = {d: T.theorem1_unorthogonalised_margin(2, d, 60, 0.5, 20) for d in (2**12, 2**14, 2**16)}
    assert [p["live"] for p in live.values()] == [0.0, 1.0, 1.0]
    assert abs(live[2**14]["bound"] - 0.2724) < 1e-3 and abs(live[2**16]["alpha_low"] - 0.208) < 1e-3
    with pytest.raises(ValueError):
        T.theorem1_unorthogonalised_margin(2, 2**14, 60, 1.0, 20)
    with pytest.raises(ValueError):
        exp.chain_input("equicorrelated", 4, 4, eps=0.5)


def test_vanilla_gap_law_exceeds_typical_and_tends_to_vmax():
    iso = np.full(4, 0.25)
    m32, se32 = T.vanilla_gap_law(iso, 32, 100, draws=4000, seed=0)
    m128, _ = T.vanilla_gap_law(iso, 128, 100, draws=4000, seed=0)
    assert 0 < se32 < 0.01 and m128 < m32 < T.v_max(4)
    assert m128 > T.vanilla_gap_typical(4, 128, 100) + 0.1  # fluctuations of the log gaps raise E[V]
    assert T.vanilla_gap_law(iso, 8, 400, draws=500, seed=0)[0] > 0.95 * T.v_max(4)
