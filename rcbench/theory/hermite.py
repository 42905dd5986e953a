"""Hermite expansion of an activation, the constants beta_0 / beta_sigma, dual kernels and their mean-field
recursion (paper D: Joudaki, Daneshmand, Bach, NeurIPS 2023; provenance of D4-D7 in ``rcbench/docs/claims/D.md``; T2, T3 as in the report's legend).

Conventions
-----------
* Normalised probabilists' Hermite polynomials ``he_k = He_k / sqrt(k!)``, orthonormal under ``N(0, 1)``;
  ``sigma = sum_k c_k he_k`` with ``c_k = E[sigma(X) he_k(X)]`` (so ``c_0 = E sigma``, ``c_1 = E[X sigma]`` and
  ``sum_k c_k^2 = E sigma^2``). The authors' ``utils.hermit_coefs`` uses the *unnormalised* basis
  (``c_k^code = c_k / sqrt(k!)``); do not compare with it directly.
* ``beta_0 = c_1^2 / (E sigma^2 - c_0^2) = c_1^2 / sum_{k>=1} c_k^2`` (README's "non-linearity strength", in
  ``[0, 1]``, ``1`` iff sigma is affine) and ``beta_sigma = 2 - beta_0`` (the code's and figures' beta). The
  contraction rate of Theorem A2 is ``alpha = 1 / beta_sigma``.
* Dual kernel (Mehler, Lemma A8): ``kappa(rho) = E[sigma(X) sigma(Y)] = sum_k c_k^2 rho^k`` for standard normal
  ``X, Y`` with correlation ``rho``. LN after sigma centres and normalises it (paper §5.2 / Thm 4):
  ``kappa_hat(rho) = (kappa(rho) - c_0^2) / (E sigma^2 - c_0^2)``, ``kappa_hat(0) = 0``, ``kappa_hat(1) = 1``,
  ``kappa_hat'(0) = beta_0``. Without centring (RMS scaling only) the map is ``kappa(rho) / kappa(1)``.

Activations are names of :data:`rcbench.networks.ACTIVATIONS`, callables on tensors (or numpy arrays) or
``nn.Module`` classes; ``gain=g`` evaluates ``sigma(g x)`` (weights ``N(0, g^2/d)``).

Quadrature: composite Gauss-Legendre on ``[-12, 12]`` with panel breakpoints at the kinks (0 always, plus any
``kinks=`` given), 20 nodes per panel of width <= 0.25. For a kinked activation (ReLU) the integrand is smooth on
every panel, so the coefficients are exact to round-off (~1e-14); the truncation at ``|x| = 12`` costs at most
``sqrt(E[sigma^2 1_{|X|>12}])`` (Cauchy-Schwarz, ``he_k`` having unit norm), ``< 1e-10`` for every built-in
activation including ``exp``. ``method="gauss_hermite"`` is also offered for smooth activations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "as_numpy_activation",
    "gaussian_expectation",
    "hermite_coefficients",
    "ActivationConstants",
    "activation_constants",
    "beta0",
    "beta_sigma",
    "contraction_rate",
    "monte_carlo_beta_sd",
    "homogeneity_degree",
    "DualKernel",
    "dual_kernel",
    "dual_kernel_quadrature",
    "relu_dual_kernel",
    "potential_psi",
    "correlation_from_gram",
    "mean_field_trajectory",
    "KINKED",
]

_HALF_WIDTH = 12.0
_PANEL = 0.25
_NODES = 20

#: built-in activations that are not smooth at 0 (the quadrature always splits at 0 anyway).
KINKED = frozenset({"relu", "leaky_relu", "elu", "selu"})


# ---------------------------------------------------------------------------------------------------------------
# activations as numpy functions
# ---------------------------------------------------------------------------------------------------------------
def _name_of(act) -> str | None:
    return act.lower().replace("-", "_") if isinstance(act, str) else None


def as_numpy_activation(act, gain: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> sigma(gain * x)`` on float64 numpy arrays, for a name, a tensor callable, a numpy callable or an
    ``nn.Module`` class (resolved by :func:`rcbench.networks.get_activation`, so names fail with its message)."""
    from rcbench.networks import get_activation

    if not math.isfinite(gain) or gain == 0:
        raise ValueError(f"gain must be finite and non-zero, got {gain}")
    module = get_activation(act)
    g = float(gain)

    def fn(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        try:
            with torch.no_grad():
                y = module(torch.as_tensor(g * x, dtype=torch.float64))
            y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64)
        except TypeError:  # a numpy-only callable
            y = np.asarray(act(g * x), dtype=np.float64)
        if y.shape != x.shape:
            raise ValueError(f"activation {act!r} is not elementwise: input shape {x.shape}, output {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"activation {act!r} is not finite on the quadrature grid |x| <= {_HALF_WIDTH}")
        return y

    return fn


# ---------------------------------------------------------------------------------------------------------------
# Gaussian quadrature
# ---------------------------------------------------------------------------------------------------------------
def _legendre_grid(kinks: Sequence[float] = (), half_width: float = _HALF_WIDTH, panel: float = _PANEL,
                   nodes: int = _NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``int_{-L}^{L} f(x) dx``: composite Gauss-Legendre split at 0 and at ``kinks``."""
    breaks = {-half_width, 0.0, half_width}
    breaks.update(float(k) for k in kinks if -half_width < float(k) < half_width)
    breaks = sorted(breaks)
    t, w = np.polynomial.legendre.leggauss(nodes)
    xs, ws = [], []
    for a, b in zip(breaks[:-1], breaks[1:]):
        m = max(1, math.ceil((b - a) / panel - 1e-12))
        edges = np.linspace(a, b, m + 1)
        for lo, hi in zip(edges[:-1], edges[1:]):
            h = (hi - lo) / 2
            xs.append(lo + h * (t + 1))
            ws.append(h * w)
    return np.concatenate(xs), np.concatenate(ws)


def _gaussian_grid(method: str, kinks: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``x`` and weights ``w`` with ``sum w f(x) ~ E f(X)``, ``X ~ N(0, 1)``."""
    if method == "legendre":
        x, w = _legendre_grid(kinks)
        return x, w * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    if method == "gauss_hermite":
        x, w = np.polynomial.hermite_e.hermegauss(150)
        return x, w / math.sqrt(2 * math.pi)
    raise ValueError(f"method must be 'legendre' or 'gauss_hermite', got {method!r}")


def gaussian_expectation(f: Callable[[np.ndarray], np.ndarray], *, kinks: Sequence[float] = (),
                         method: str = "legendre") -> float:
    """``E f(X)``, ``X ~ N(0, 1)``, by quadrature (``f`` vectorised on numpy arrays; split at 0 and ``kinks``)."""
    x, w = _gaussian_grid(method, kinks)
    y = np.asarray(f(x), dtype=np.float64)
    if y.shape != x.shape or not np.all(np.isfinite(y)):
        raise ValueError("f must map the quadrature nodes elementwise to finite values")
    return float(np.dot(w, y))


def _hermite_table(x: np.ndarray, k_max: int) -> np.ndarray:
    """``he_k(x)`` for ``k = 0..k_max`` (rows), by ``he_{k+1} = (x he_k - sqrt(k) he_{k-1}) / sqrt(k + 1)``."""
    H = np.empty((k_max + 1, x.size))
    H[0] = 1.0
    if k_max >= 1:
        H[1] = x
    for k in range(1, k_max):
        H[k + 1] = (x * H[k] - math.sqrt(k) * H[k - 1]) / math.sqrt(k + 1)
    return H


def hermite_coefficients(act, k_max: int, *, gain: float = 1.0, kinks: Sequence[float] = (),
                         method: str = "legendre") -> np.ndarray:
    """``c_0 .. c_{k_max}`` of ``sigma(gain x)`` in the normalised probabilists' Hermite basis.

    ``c_k = E[sigma(g X) he_k(X)]`` by composite Gauss-Legendre split at the kinks (accurate to ~1e-12 for ReLU;
    see the module docstring), or by 150-node Gauss-Hermite for smooth activations (``method="gauss_hermite"``;
    inaccurate for kinked ones and for ``k_max`` beyond ~60). Kinks of ``sigma(g x)`` other than 0 must be given
    in the ``x`` variable.
    """
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 0:
        raise ValueError(f"k_max must be a non-negative integer, got {k_max!r}")
    if method == "gauss_hermite" and k_max > 100:
        raise ValueError("Gauss-Hermite with 150 nodes cannot resolve k_max > 100; use method='legendre'")
    x, w = _gaussian_grid(method, kinks)
    s = as_numpy_activation(act, gain)(x)
    return _hermite_table(x, int(k_max)) @ (w * s)


# ---------------------------------------------------------------------------------------------------------------
# beta_0, beta_sigma
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivationConstants:
    """``c0 = E sigma``, ``c1 = E[X sigma]``, ``second_moment = E sigma^2`` and the derived constants of paper D."""

    c0: float
    c1: float
    second_moment: float

    @property
    def variance(self) -> float:
        """``E sigma^2 - c0^2 = sum_{k>=1} c_k^2``."""
        return self.second_moment - self.c0**2

    @property
    def beta0(self) -> float:
        return self.c1**2 / self.variance

    @property
    def beta_sigma(self) -> float:
        return 2.0 - self.beta0

    @property
    def alpha(self) -> float:
        """Theorem A2's per-layer contraction rate of the potential, ``1 / beta_sigma``."""
        return 1.0 / self.beta_sigma


def activation_constants(act, *, gain: float = 1.0, kinks: Sequence[float] = (),
                         method: str = "legendre") -> ActivationConstants:
    """``c0, c1, E sigma^2`` of ``sigma(gain X)``, ``X ~ N(0,1)``, by quadrature (not through a truncated series)."""
    x, w = _gaussian_grid(method, kinks)
    s = as_numpy_activation(act, gain)(x)
    c0, c1, m2 = float(w @ s), float(w @ (x * s)), float(w @ (s * s))
    if m2 - c0**2 <= 1e-14 * max(m2, 1e-300):
        raise ValueError(f"activation {act!r} is constant on N(0,1): beta_0 is undefined")
    return ActivationConstants(c0, c1, m2)


def beta0(act, *, gain: float = 1.0, kinks: Sequence[float] = ()) -> float:
    """``beta_0 = c_1^2 / (E sigma^2 - c_0^2)`` (README's non-linearity strength; ReLU: ``pi / (2 (pi - 1))``)."""
    return activation_constants(act, gain=gain, kinks=kinks).beta0


def beta_sigma(act, *, gain: float = 1.0, kinks: Sequence[float] = ()) -> float:
    """``beta_sigma = 2 - beta_0`` (the code's and figures' beta; 1 for linear, 2 when ``c_1 = 0``)."""
    return activation_constants(act, gain=gain, kinks=kinks).beta_sigma


def contraction_rate(act, *, gain: float = 1.0, kinks: Sequence[float] = ()) -> float:
    """``alpha = 1 / beta_sigma``: Theorem A2's worst-case per-layer factor on the potential ``Psi``."""
    return activation_constants(act, gain=gain, kinks=kinks).alpha


def monte_carlo_beta_sd(act, samples: int, *, gain: float = 1.0, kinks: Sequence[float] = ()) -> float:
    """Standard deviation of the Monte-Carlo estimate of ``beta_sigma`` from ``samples`` i.i.d. ``X ~ N(0, 1)``
    (the authors' ``compute_beta``: ``2 - m_1^2 / (m_2 - m_0^2)`` with sample means ``m_0, m_1, m_2`` of
    ``sigma(X)``, ``X sigma(X)``, ``sigma(X)^2``), by the delta method with the population moments from quadrature.

    With ``v = E sigma^2 - c_0^2`` the gradient of ``g(c_0, c_1, m_2) = 2 - c_1^2 / (m_2 - c_0^2)`` is
    ``(-2 c_0 c_1^2 / v^2, -2 c_1 / v, c_1^2 / v^2)``, and ``Var = grad^T Sigma grad / samples`` with ``Sigma`` the
    covariance of ``(sigma, X sigma, sigma^2)`` (moments up to ``E sigma^4``, ``E X^2 sigma^2``). The estimator's
    bias is ``O(1 / samples)``, negligible next to this ``O(samples^{-1/2})`` spread. Sigmoid, ``2e6`` samples:
    0.0038; ReLU 0.0010; tanh 0.0011.
    """
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    x, w = _gaussian_grid("legendre", kinks)
    s = as_numpy_activation(act, gain)(x)
    Y = np.stack([s, x * s, s * s])
    mu = Y @ w
    cov = (Y * w) @ Y.T - np.outer(mu, mu)
    c0, c1, m2 = mu
    v = m2 - c0**2
    if v <= 1e-14 * max(m2, 1e-300):
        raise ValueError(f"activation {act!r} is constant on N(0,1): beta_0 is undefined")
    grad = np.array([-2 * c0 * c1**2 / v**2, -2 * c1 / v, c1**2 / v**2])
    return float(math.sqrt(max(grad @ cov @ grad, 0.0) / samples))


def homogeneity_degree(act, *, tol: float = 1e-9) -> float | None:
    """The degree ``p`` if ``s(x) = sigma(x) - sigma(0)`` is positively homogeneous, ``s(g x) = g^p s(x)`` for
    ``g > 0`` (checked at ``g = 2`` and ``g = 3`` on the quadrature nodes ``|x| <= 6``, relative ``tol``), else
    ``None``. Then ``beta_sigma(sigma(g x))`` does not depend on ``g``: the additive constant drops out of ``beta``
    and ``s(g x) = g^p s(x)`` scales ``c_1`` and ``sqrt(Var sigma)`` alike (ReLU, leaky ReLU: ``p = 1``)."""
    x, _ = _legendre_grid(())
    x = x[np.abs(x) <= 6]
    f = as_numpy_activation(act)
    s0 = float(f(np.zeros(1))[0])
    s = f(x) - s0
    big = np.abs(s) > 1e-6 * max(float(np.abs(s).max()), 1e-300)
    if not big.any():
        return None
    degrees = []
    for g in (2.0, 3.0):
        sg = f(g * x) - s0
        if np.any(np.abs(sg[~big]) > 1e-6 * float(np.abs(s).max()) * g**4):
            return None
        ratio = sg[big] / s[big]
        if np.any(ratio <= 0):
            return None
        p = np.log(ratio) / math.log(g)
        if float(p.max() - p.min()) > tol * max(1.0, float(np.abs(p).max())) * 1e3:
            return None
        degrees.append(float(np.median(p)))
    if abs(degrees[0] - degrees[1]) > 1e-6:
        return None
    return degrees[0]


# ---------------------------------------------------------------------------------------------------------------
# dual kernels
# ---------------------------------------------------------------------------------------------------------------
def relu_dual_kernel(rho):
    """Arc-cosine kernel ``E[relu(X) relu(Y)] = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)``."""
    r = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    return (np.sqrt(1.0 - r * r) + (math.pi - np.arccos(r)) * r) / (2 * math.pi)


def _closed_form(name: str | None, gain: float):
    """``kappa`` in closed form for some built-ins (``None`` if unknown)."""
    if name in ("identity", "linear"):
        return lambda r: gain**2 * r
    if name == "relu":
        return lambda r: gain**2 * relu_dual_kernel(r)
    if name == "leaky_relu":  # torch default slope a = 0.01: a x + (1 - a) relu(x)
        a = 0.01
        return lambda r: gain**2 * (a * a * r + a * (1 - a) * r + (1 - a) ** 2 * relu_dual_kernel(r))
    if name == "exp":
        return lambda r: np.exp(gain**2 * (1.0 + r))
    if name == "sin":
        return lambda r: np.exp(-(gain**2)) * np.sinh(gain**2 * r)
    if gain == 1.0 and name == "he2":
        return lambda r: r**2
    if gain == 1.0 and name == "he3":
        return lambda r: r**3
    return None


class DualKernel:
    """``kappa(rho) = E[sigma(X) sigma(Y)]`` of an activation, and its centred-normalised and uncentred forms.

    Evaluated in closed form for identity, relu, leaky_relu, exp, sin, he2, he3; otherwise by the Mehler series
    ``sum_{k<=K} c_k^2 rho^k + T rho^{K+1}`` whose tail mass ``T = E sigma^2 - sum_{k<=K} c_k^2`` is lumped into one
    extra term. The lumped series is itself a kernel with non-negative coefficients, exact ``kappa(0)``,
    ``kappa(1)`` and ``kappa'(0)`` (hence exact ``beta_0``), so Theorem A2 holds for it exactly; its error is at most
    ``T |rho|^{K+1}`` (``T < 1e-12`` for tanh, sigmoid, gelu, silu at ``K = 200``).
    """

    def __init__(self, act, *, k_max: int = 200, gain: float = 1.0, kinks: Sequence[float] = (),
                 series: bool = False):
        self.name = _name_of(act) or getattr(act, "__name__", repr(act))
        self.constants = activation_constants(act, gain=gain, kinks=kinks)
        self.coefficients = hermite_coefficients(act, k_max, gain=gain, kinks=kinks)
        sq = self.coefficients**2
        self.tail = max(self.constants.second_moment - float(sq.sum()), 0.0)
        self._series = np.append(sq, self.tail)
        self._closed = None if series else _closed_form(_name_of(act), float(gain))

    # kappa ----------------------------------------------------------------------------------------------------
    def series(self, rho) -> np.ndarray:
        """The lumped Mehler series (Horner)."""
        r = np.asarray(rho, dtype=np.float64)
        out = np.zeros_like(r)
        for a in self._series[::-1]:
            out = out * r + a
        return out

    def kappa(self, rho) -> np.ndarray:
        """``E[sigma(X) sigma(Y)]`` at correlation ``rho`` (``|rho| <= 1``)."""
        r = np.asarray(rho, dtype=np.float64)
        if np.any(np.abs(r) > 1 + 1e-12):
            raise ValueError("correlations must lie in [-1, 1]")
        r = np.clip(r, -1.0, 1.0)
        return self._closed(r) if self._closed is not None else self.series(r)

    def kappa_hat(self, rho) -> np.ndarray:
        """Centred normalised kernel of LN after sigma: ``(kappa(rho) - c0^2) / (E sigma^2 - c0^2)``."""
        c = self.constants
        k1 = float(self.kappa(1.0)) if self._closed is not None else c.second_moment
        k0 = float(self.kappa(0.0)) if self._closed is not None else c.c0**2
        return (self.kappa(rho) - k0) / (k1 - k0)

    def kappa_uncentred(self, rho) -> np.ndarray:
        """Correlation map without centring (RMS scaling only, pre-activation LN): ``kappa(rho) / kappa(1)``."""
        k1 = float(self.kappa(1.0)) if self._closed is not None else self.constants.second_moment
        return self.kappa(rho) / k1

    def correlation_map(self, centred: bool = True) -> Callable[[np.ndarray], np.ndarray]:
        return self.kappa_hat if centred else self.kappa_uncentred


def dual_kernel(act, *, k_max: int = 200, gain: float = 1.0, kinks: Sequence[float] = (),
                series: bool = False) -> DualKernel:
    """The :class:`DualKernel` of ``sigma(gain x)`` (``series=True`` forces the Mehler series)."""
    return DualKernel(act, k_max=k_max, gain=gain, kinks=kinks, series=series)


def dual_kernel_quadrature(act, rho, *, gain: float = 1.0, kinks: Sequence[float] = ()) -> np.ndarray:
    """``E[sigma(X) sigma(Y)]`` by direct 2-D quadrature (independent of the Hermite series; for validation).

    ``Y = rho X + s Z``: both axes on the composite Legendre grid split at the kinks, the conditional density
    ``N(rho x, s^2)`` of ``Y`` evaluated exactly. Accurate for ``|rho| <= 0.99`` (``s >= 0.14``).
    """
    f = as_numpy_activation(act, gain)
    x, wx = _gaussian_grid("legendre", kinks)
    u, wu = _legendre_grid(kinks)
    sx, su = f(x), f(u)
    out = []
    for r in np.atleast_1d(np.asarray(rho, dtype=np.float64)).ravel():
        if abs(r) > 0.99:
            raise ValueError("dual_kernel_quadrature is accurate only for |rho| <= 0.99")
        s = math.sqrt(1 - r * r)
        dens = np.exp(-0.5 * ((u[None, :] - r * x[:, None]) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        out.append(float((wx * sx) @ (dens @ (wu * su))))
    return np.asarray(out).reshape(np.shape(rho))


# ---------------------------------------------------------------------------------------------------------------
# potential and the mean-field recursion
# ---------------------------------------------------------------------------------------------------------------
def potential_psi(rho):
    """Theorem A2's per-pair potential ``Psi(rho) = |rho| / (1 - |rho|)``."""
    a = np.abs(np.asarray(rho, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return np.where(a < 1, a / np.where(a < 1, 1 - a, 1.0), np.inf)


def correlation_from_gram(G):
    """``rho_ij = G_ij / sqrt(G_ii G_jj)`` of a (batched) Gram ``(..., n, n)``; torch in, torch out."""
    G = torch.as_tensor(G, dtype=torch.float64)
    dg = torch.diagonal(G, dim1=-2, dim2=-1)
    if bool((dg <= 0).any()):
        raise ValueError("a Gram with a non-positive diagonal entry has no correlation matrix")
    s = dg.rsqrt()
    C = G * s.unsqueeze(-1) * s.unsqueeze(-2)
    C = C.clamp(-1.0, 1.0)
    n = C.shape[-1]
    return torch.where(torch.eye(n, dtype=torch.bool, device=C.device), torch.ones_like(C), C)


def mean_field_trajectory(gram0, act, depth: int, *, centred: bool = True, gain: float = 1.0,
                          kernel: DualKernel | None = None) -> torch.Tensor:
    """Mean-field (``d -> infinity``) correlation matrices of ``LN(sigma(W x))`` from an input Gram ``(..., n, n)``.

    Paper D, T2: with i.i.d. ``N(0, 1/d)`` weights and rows of mean square 1, the pre-activations of two samples are
    standard normal with correlation ``rho``; LN after sigma (centring + scaling) maps it to ``kappa_hat(rho)``
    (``centred=True``), LN without centring (``ln_nocenter``/RMS norm) to ``kappa(rho)/kappa(1)``
    (``centred=False``). Applied entrywise to the off-diagonal, diagonal 1. Returns ``(depth + 1, ..., n, n)``
    float64 (layer 0 = the input correlation); the finite-width post-LN Gram is ``d`` times this.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    C = correlation_from_gram(gram0)
    kern = kernel if kernel is not None else dual_kernel(act, gain=gain)
    fmap = kern.correlation_map(centred)
    n = C.shape[-1]
    eye = torch.eye(n, dtype=torch.bool)
    out = [C]
    cur = C.cpu().numpy()
    for _ in range(depth):
        cur = np.clip(fmap(cur), -1.0, 1.0)
        cur = np.where(eye.numpy(), 1.0, cur)
        out.append(torch.from_numpy(cur.copy()))
    return torch.stack([o.to(C.device) for o in out])
