"""Unit tests of :mod:`rcbench.theory.hermite` against closed forms (paper D notes, §1.4-§1.5, §3, T2, T3)."""

import math

import numpy as np
import pytest
import torch

from rcbench.theory import hermite as H


def test_relu_beta0_closed_form():
    assert H.beta0("relu") == pytest.approx(math.pi / (2 * (math.pi - 1)), abs=1e-10)
    assert H.beta_sigma("relu") == pytest.approx(2 - math.pi / (2 * (math.pi - 1)), abs=1e-10)


@pytest.mark.parametrize(
    "act, b0",
    [("exp", 1 / (math.e - 1)), ("sin", 1 / math.sinh(1)), ("identity", 1.0), ("he2", 0.0), ("he3", 0.0),
     ("leaky_relu", 0.505**2 / (0.50005 - 0.99**2 / (2 * math.pi)))],
)
def test_beta0_closed_forms(act, b0):
    assert H.beta0(act) == pytest.approx(b0, abs=1e-9)


@pytest.mark.parametrize(
    "act, row",
    [("tanh", (0, 0.60571, 0.39429, 0.93047, 1.06953)), ("sigmoid", (0.5, 0.20662, 0.29338, 0.98417, 1.01583)),
     ("selu", (0, 0.98523, 1.0, 0.97068, 1.02932)), ("elu", (0.16052, 0.76158, 0.64495, 0.93673, 1.06327)),
     ("silu", (0.20662, 0.5, 0.35578, 0.79851, 1.20149)), ("gelu", (0.28209, 0.5, 0.42522, 0.72329, 1.27671))],
)
def test_constants_table(act, row):
    c = H.activation_constants(act)
    got = (c.c0, c.c1, c.second_moment, c.beta0, c.beta_sigma)
    assert np.allclose(got, row, atol=1e-4 * 1.01)
    assert c.alpha == pytest.approx(1 / c.beta_sigma)


def test_relu_coefficients_exact():
    """ReLU: c0 = 1/sqrt(2 pi), c1 = 1/2, c2 = 1/(2 sqrt(pi)) ... odd k >= 3 vanish; quadrature split at the kink."""
    c = H.hermite_coefficients("relu", 12)
    assert c[0] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-12)
    assert c[1] == pytest.approx(0.5, abs=1e-12)
    assert c[2] == pytest.approx(1 / (2 * math.sqrt(math.pi)), abs=1e-12)
    assert np.abs(c[3::2]).max() < 1e-12
    # Parseval converges slowly (c_k^2 ~ k^{-5/2}) but from below
    assert (H.hermite_coefficients("relu", 400) ** 2).sum() < 0.5


def test_exp_and_sin_coefficients():
    c = H.hermite_coefficients("exp", 30)
    ref = np.array([math.exp(0.5) / math.sqrt(math.factorial(k)) for k in range(31)])
    assert np.max(np.abs(c - ref)) < 1e-10
    s = H.hermite_coefficients("sin", 21)
    ref = np.array([0 if k % 2 == 0 else (-1) ** ((k - 1) // 2) * math.exp(-0.5) / math.sqrt(math.factorial(k))
                    for k in range(22)])
    assert np.max(np.abs(s - ref)) < 1e-10


def test_gauss_hermite_method_smooth():
    a = H.hermite_coefficients("tanh", 20, method="gauss_hermite")
    b = H.hermite_coefficients("tanh", 20)
    assert np.max(np.abs(a - b)) < 1e-8
    with pytest.raises(ValueError):
        H.hermite_coefficients("tanh", 200, method="gauss_hermite")


def test_callables_and_gain():
    assert H.beta_sigma(torch.tanh) == pytest.approx(H.beta_sigma("tanh"), abs=1e-12)
    assert H.beta_sigma(lambda x: np.tanh(x)) == pytest.approx(H.beta_sigma("tanh"), abs=1e-12)
    assert H.beta_sigma(torch.nn.ReLU) == pytest.approx(H.beta_sigma("relu"), abs=1e-12)
    assert H.beta_sigma("sigmoid", gain=2.0) == pytest.approx(H.beta_sigma("tanh"), abs=1e-9)
    assert H.beta_sigma("relu", gain=3.0) == pytest.approx(H.beta_sigma("relu"), abs=1e-10)


def test_gaussian_expectation():
    assert H.gaussian_expectation(lambda x: x**4) == pytest.approx(3.0, abs=1e-12)
    assert H.gaussian_expectation(lambda x: np.abs(x)) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError):
        H.hermite_coefficients("nope", 3)
    with pytest.raises(ValueError):
        H.hermite_coefficients("relu", -1)
    with pytest.raises(ValueError):
        H.activation_constants(lambda x: 0 * x + 1.0)
    with pytest.raises(ValueError):
        H.dual_kernel("relu").kappa(1.5)
    with pytest.raises(ValueError):
        H.mean_field_trajectory(torch.eye(3), "relu", -1)


def test_relu_dual_kernel_values():
    k = H.dual_kernel("relu")
    assert k.kappa_hat(0.5) == pytest.approx(0.42642, abs=1e-5)
    assert k.kappa_hat(0.9) == pytest.approx(0.86730, abs=1e-5)
    assert H.relu_dual_kernel(1.0) == pytest.approx(0.5)
    assert H.relu_dual_kernel(0.0) == pytest.approx(1 / (2 * math.pi))


@pytest.mark.parametrize("act, v", [("tanh", 0.47255), ("sigmoid", 0.49398), ("sin", 0.44341), ("he2", 0.25),
                                    ("he3", 0.125)])
def test_kappa_hat_values(act, v):
    assert H.dual_kernel(act).kappa_hat(0.5) == pytest.approx(v, abs=1e-5)


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "gelu", "exp", "sin", "elu"])
def test_kernel_properties(act):
    k = H.dual_kernel(act)
    assert float(k.kappa_hat(0.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(k.kappa_hat(1.0)) == pytest.approx(1.0, abs=1e-12)
    h = 1e-6
    assert float((k.kappa_hat(h) - k.kappa_hat(-h)) / (2 * h)) == pytest.approx(k.constants.beta0, abs=1e-6)
    # series form agrees with the closed form / quadrature
    s = H.dual_kernel(act, series=True)
    r = np.linspace(-0.95, 0.95, 9)
    tol = 1e-4 if act in ("relu", "elu") else 1e-9
    assert np.max(np.abs(s.kappa(r) - k.kappa(r))) < tol
    assert np.max(np.abs(k.kappa(r[1:-1]) - H.dual_kernel_quadrature(act, r[1:-1]))) < 1e-7 * k.constants.second_moment


def test_uncentred_map_relu():
    k = H.dual_kernel("relu")
    assert float(k.kappa_uncentred(0.0)) == pytest.approx(1 / math.pi, abs=1e-12)
    assert float(k.kappa_uncentred(1.0)) == pytest.approx(1.0, abs=1e-12)


def test_mean_field_trajectory_contracts_and_shapes():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(2, 5, 50, generator=g, dtype=torch.float64) + 2.0
    G0 = X @ X.transpose(-1, -2)
    C = H.mean_field_trajectory(G0, "relu", 10)
    assert C.shape == (11, 2, 5, 5)
    assert torch.allclose(torch.diagonal(C, dim1=-2, dim2=-1), torch.ones(11, 2, 5, dtype=torch.float64))
    off = ~torch.eye(5, dtype=torch.bool)
    psi = H.potential_psi(C[..., off].numpy())
    bound = psi[0] * H.contraction_rate("relu") ** np.arange(11)[:, None, None]
    assert np.all(psi <= bound * (1 + 1e-9))
    # identity keeps the correlations; the uncentred relu map attracts to a positive correlation
    Ci = H.mean_field_trajectory(G0, "identity", 5)
    assert torch.allclose(Ci[-1], Ci[0], atol=1e-12)
    Cu = H.mean_field_trajectory(G0, "relu", 60, centred=False)
    assert float(Cu[-1][..., off].min()) > 0.5


def test_potential_psi():
    assert np.allclose(H.potential_psi(np.array([0.0, 0.5, -0.5])), [0.0, 1.0, 1.0])
    assert np.isinf(H.potential_psi(1.0))


def test_monte_carlo_beta_sd_matches_the_spread_of_estimates():
    """Delta-method sd of the Monte-Carlo beta_sigma against the spread of 40 estimates of 20 000 samples."""
    import numpy as np
    import torch

    from rcbench.theory import hermite as H

    n = 20_000
    est = []
    for s in range(40):
        x = torch.randn(n, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
        y = torch.sigmoid(x)
        c0, c1, m2 = y.mean().item(), (x * y).mean().item(), (y * y).mean().item()
        est.append(2 - c1**2 / (m2 - c0**2))
    sd = H.monte_carlo_beta_sd("sigmoid", n)
    assert 0.7 * sd < float(np.std(est, ddof=1)) < 1.35 * sd  # chi distribution with 39 dof: 99.9% within
    assert abs(H.monte_carlo_beta_sd("identity", n) - (2 / n) ** 0.5) < 1e-12  # 2 - m2^2/(m2 - m0^2) ~ 2 - m2


def test_homogeneity_degree():
    import torch

    from rcbench.theory import hermite as H

    assert H.homogeneity_degree("relu") == 1.0
    assert H.homogeneity_degree("leaky_relu") == 1.0
    assert H.homogeneity_degree(lambda x: torch.relu(x) + 1) == 1.0  # homogeneous up to a constant
    assert H.homogeneity_degree(torch.sign) == 0.0
    for act in ("tanh", "sigmoid", "gelu", "exp"):
        assert H.homogeneity_degree(act) is None
    assert H.homogeneity_degree(lambda x: x + torch.tanh(x)) is None
