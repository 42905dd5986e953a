"""Unit tests of rcbench.theory.isometry (paper C's Theorem 1, Theorem 3, Corollary 4 and the mean-field slope)."""

import math

import numpy as np
import pytest
import torch

from rcbench.theory import isometry as TI


def test_theorem3_gain_is_one_at_isometry():
    lam = torch.ones(5, 8, dtype=torch.float64)
    assert torch.allclose(TI.theorem3_gain(lam), torch.ones(5, dtype=torch.float64))
    assert torch.allclose(TI.corollary4_drop(lam), torch.zeros(5, dtype=torch.float64))


def test_deficit_closed_form_and_bound():
    for d in (2, 4, 16, 100):
        lam = torch.zeros(d, dtype=torch.float64)
        lam[0] = d  # extreme spectrum with mean 1: sum (lam - 1)^2 = d (d - 1)
        expected = (d - 1) / (2 * d * (d + 2))
        assert TI.weingarten_deficit(lam).item() == pytest.approx(expected, rel=1e-12)
        assert expected <= 1 / (2 * (d + 2))
        assert math.isfinite(TI.theorem3_gain(lam).item()) and TI.theorem3_gain(lam).item() >= 1


def test_drop_is_minus_log_gain():
    g = torch.Generator().manual_seed(0)
    lam = torch.rand(10, 6, generator=g, dtype=torch.float64) * 2
    lam = lam / lam.mean(-1, keepdim=True)
    assert torch.allclose(TI.corollary4_drop(lam), -torch.log(TI.theorem3_gain(lam)), rtol=0, atol=1e-14)


def test_mean_eigenvalue_must_be_one_unless_normalized():
    lam = torch.full((4,), 32.0, dtype=torch.float64)  # the sqrt(n)-scaled BN: mean eigenvalue n
    with pytest.raises(ValueError, match="mean eigenvalue 1"):
        TI.theorem3_gain(lam)
    assert TI.theorem3_gain(lam, normalize=True).item() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        TI.theorem3_gain(torch.tensor([1.0, float("nan")]))


def test_theorem1_bound_and_k():
    assert TI.theorem1_k(10, 0.1, 0.015) == pytest.approx(0.015 * 100 * 2.0)
    b = TI.theorem1_bound([0, 3], 10, 0.1, 0.015)
    assert b[0] == pytest.approx(0.1) and b[1] == pytest.approx(0.1 * math.exp(-3 / 3.0))
    with pytest.raises(ValueError):
        TI.theorem1_k(10, math.inf)
    with pytest.raises(ValueError):
        TI.theorem1_k(10, 0.1, constant=0.0)


def test_min_constant_recovers_an_exact_exponential():
    d, phi0, C = 16, 1e-3, 0.04
    k = TI.theorem1_k(d, phi0, C)
    layers = np.arange(0, 60)
    phi = phi0 * np.exp(-np.maximum(layers - 1, 0) / k)  # the paper's statement phi_{l+1} = phi0 e^{-l/k}
    assert TI.theorem1_min_constant(layers, phi, d, phi0, shift=1) == pytest.approx(C, rel=1e-10)
    phi_bad = phi.copy()
    phi_bad[30] = 2 * phi0
    assert TI.theorem1_min_constant(layers, phi_bad, d, phi0) == math.inf


def test_mean_field_slopes():
    assert TI.mean_field_gradient_slope(32) == pytest.approx(0.016395, abs=1e-6)
    assert TI.mean_field_gradient_slope(100) == pytest.approx(0.005076, abs=1e-6)
    assert TI.mean_field_gradient_slope(32, centered=True) == pytest.approx(0.016951, abs=1e-6)
    assert TI.mean_field_gradient_slope(100, centered=True) == pytest.approx(0.005128, abs=1e-6)
    with pytest.raises(ValueError):
        TI.mean_field_gradient_slope(2)


def test_near_isometry_rate():
    assert TI.near_isometry_rate(16) == pytest.approx(1 / (16 * 18))
    with pytest.raises(ValueError):
        TI.near_isometry_rate(0)
