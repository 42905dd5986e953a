"""Exact Gram-chain sampler: the random MLP of :class:`rcbench.networks.MLP` in law, without any ``d x d`` weight.

Why it is exact
---------------
Take one layer with a fresh random weight ``W`` (``out x in``) independent of its input ``H`` (``n x in``, rows =
samples). Given ``H``:

* **Gaussian weights**, i.i.d. ``N(0, s^2)``: the ``out`` columns of ``H W^T`` are i.i.d. ``N(0, s^2 H H^T)``, so
  ``H W^T`` has the law of ``s R Z`` for *any* ``R`` with ``R R^T = G = H H^T`` (``n x n``) and ``Z`` an ``n x out``
  standard Gaussian matrix (paper B, §4 of the notes, App. C.2 of the paper; in paper layout ``W H ~ Z^T R^T``).
* **Haar (semi-)orthogonal weights** (``init="orthogonal"``, :func:`rcbench.networks.init.haar_orthogonal`): with
  the thin SVD ``H = U S V^T``, ``H W^T = U S (V^T W^T)`` and, by the left/right invariance of the Haar law,
  ``V^T W^T`` is distributed as the first ``k = min(n, in)`` rows of ``W^T``. For ``out >= in`` these form a uniformly
  random ``k x out`` matrix ``Q`` with orthonormal rows (QR of an ``out x k`` Gaussian with the sign fix); any other
  square root ``R = U S O`` of ``G`` gives the same law because ``O Q ~ Q``. So ``H W^T ~ gain * R Q``.

The rest of the block (norm, gain, activation, in either order) is applied to that sample by the very same modules
as in :class:`~rcbench.networks.MLP` (:class:`~rcbench.networks.mlp.Block`, norms by name from
:mod:`rcbench.networks.norms`). Because every layer draws a fresh weight independent of the past, the whole chain
``H_0 -> H_1 -> ... -> H_L`` has exactly the law of the explicit-weight network's representations **for the n
samples of one forward call**. Cost per layer and seed: ``O(n^2 d)`` flops (one Gram, one ``n x n`` factor, one
``(n x n) @ (n x d)``) and ``n d`` random numbers, against ``O(n d^2)`` flops and ``d^2`` random numbers for an
explicit weight. Tested against explicit weights by two-sample Kolmogorov-Smirnov tests (``tests/test_gram_chain.py``).

Scope: weights only at initialisation (no gradients, no training, no reuse of a network on a second batch: two
calls are two independent networks, not one network applied twice); Gaussian or Haar weights; no biases; no
readout layer.

Singular Grams: the square root is a Cholesky factor when ``G`` is numerically positive definite (fast path,
``factor="auto"``) and otherwise ``E diag(sqrt(max(lam, 0)))`` from ``eigh`` with negative round-off eigenvalues
clipped to zero (``factor="eigh"`` forces it). Both satisfy ``R R^T = G`` up to ``O(eps ||G||)``, the same
resolution as forming ``G`` or measuring its spectrum. Haar layers with ``n > in`` use the top ``in`` eigenpairs.

API
---
``GramChain(in_features, width, depth, *, norm="bn", activation="identity", order="norm_act", gain=1.0,
init="gaussian", ensemble=1, seed=0, dtype=torch.float64, device="cpu", noise_dtype=None, factor="auto")``

* arguments as in :class:`~rcbench.networks.MLP` (``width`` an int or ``depth`` ints; ``gain`` a number, a sequence
  or ``l -> alpha_l``; ``norm`` a name of :data:`~rcbench.networks.norms.NORMS`, ``None`` or a factory; ``activation``
  a name or callable), except ``init``: ``"gaussian"`` (``N(0, 1/fan_in)``), ``"gaussian_unit"`` (``N(0, 1)``),
  ``"xavier_normal"``, ``"orthogonal"``/``"haar"``, the corresponding objects of :data:`rcbench.networks.init.INITS`,
  or a law :class:`GaussianWeights` ``(std=None | float, variance=None)`` / :class:`HaarWeights` ``(gain=1.0)``.
  Other inits (uniform, Xavier-uniform, PyTorch default) have no exact Gram-chain law and raise ``ValueError``.
* ``noise_dtype``: dtype of the Gaussian draws (default ``dtype``; exact). Float64 draws on the CPU come from
  numpy's ziggurat on an SFC64 bit generator (~2.5x faster than torch's float64 ``randn``, the dominant cost of
  the chain); ``torch.float32`` draws (torch's vectorised float32 Box-Muller, then cast) are ~2x faster again: their
  law differs from ``N(0, 1)`` only by float32 rounding of each draw and a tail cut at ``|z| > 5.7`` (mass 1e-8).
* ``net(x, return_hidden=False, callback=None)``: ``x`` of shape ``(n, in)`` (shared by the seeds) or
  ``(ensemble, n, in)``; returns ``H_L`` of shape ``(ensemble, n, width_L)``; ``return_hidden=True`` also returns
  ``[H_0, ..., H_L]``; ``callback(l, H_l)`` streams them. Same contract as ``MLP.forward``.
* ``net.grams(x)``: stacked sample Grams ``H_l H_l^T`` of shape ``(depth + 1, ensemble, n, n)`` (the Gram that
  each layer factors anyway, so recording costs nothing extra) -- feed them to
  :func:`rcbench.metrics.spectral_metrics` for one ``eigvalsh`` per run. Memory ``O(L S n^2)``, never ``O(L S n d)``.
* Reproducibility: the noise comes from a ``torch.Generator`` (on the network's device) and, for float64 draws on
  the CPU, a ``numpy.random.Generator(SFC64(seed))``, both re-seeded with ``seed`` at the start of every call, so
  the same call gives bit-identical results; the realisation differs from the
  explicit-weight ``MLP`` with the same seed (only the law is the same).
* Raises :class:`~rcbench.networks.mlp.NumericalDivergence` on non-finite output, like ``MLP``.

Example (paper B's BN chain ``H_{l+1} = BN(H_l W_l^T)/sqrt(d)``, Gaussian weights, n = 4, d = 512, 500 layers,
20 seeds; ~0.4 s on one idle CPU core with torch.set_num_threads(1))::

    net = GramChain(d, d, 500, norm="bn", gain=d ** -0.5, ensemble=20, seed=0)
    grams = net.grams(x)                                   # (501, 20, 4, 4)
    V = spectral_metrics(grams, ["orthogonality_gap"])["orthogonality_gap"]   # (501, 20)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rcbench.networks.activations import get_activation
from rcbench.networks.init import INITS, haar_orthogonal
from rcbench.networks.mlp import Block, NumericalDivergence, _gains, _positive_int, check_network_input
from rcbench.networks.norms import get_norm

__all__ = ["GramChain", "GaussianWeights", "HaarWeights", "LawLinear", "gram_sqrt", "weight_law"]

FACTORS = ("auto", "cholesky", "eigh")


@dataclass(frozen=True)
class GaussianWeights:
    """I.i.d. ``N(0, std^2)`` weights; ``std=None`` means ``1/sqrt(fan_in)``; ``xavier=True`` means
    ``gain * sqrt(2/(fan_in + fan_out))`` (``torch.nn.init.xavier_normal_``)."""

    std: float | None = None
    xavier: bool = False
    gain: float = 1.0

    def std_for(self, fan_in: int, fan_out: int) -> float:
        if self.xavier:
            return self.gain * math.sqrt(2.0 / (fan_in + fan_out))
        return 1.0 / math.sqrt(fan_in) if self.std is None else float(self.std)


@dataclass(frozen=True)
class HaarWeights:
    """Haar-distributed (semi-)orthogonal weights times ``gain`` (:func:`rcbench.networks.init.orthogonal`)."""

    gain: float = 1.0


_LAWS = {
    "gaussian": GaussianWeights(),
    "gaussian_unit": GaussianWeights(std=1.0),
    "xavier_normal": GaussianWeights(xavier=True),
    "orthogonal": HaarWeights(),
    "haar": HaarWeights(),
}
_LAWS_BY_INIT = {id(INITS[k]): v for k, v in _LAWS.items() if k in INITS}


def weight_law(spec) -> GaussianWeights | HaarWeights:
    """Resolve ``init`` (a name, an object of :data:`~rcbench.networks.init.INITS` or a law) to a weight law."""
    if isinstance(spec, (GaussianWeights, HaarWeights)):
        return spec
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key in _LAWS:
            return _LAWS[key]
        raise ValueError(
            f"init {spec!r} has no exact Gram-chain law; use one of {sorted(_LAWS)}, GaussianWeights(std) or "
            "HaarWeights(gain), or the explicit-weight MLP"
        )
    if callable(spec) and id(spec) in _LAWS_BY_INIT:
        return _LAWS_BY_INIT[id(spec)]
    raise ValueError(
        f"init {spec!r} has no known exact Gram-chain law; pass a name of {sorted(_LAWS)}, GaussianWeights(...) or "
        "HaarWeights(...)"
    )


def gram_sqrt(G: torch.Tensor, factor: str = "auto", rank: int | None = None) -> torch.Tensor:
    """A square root ``R`` (``..., n, n``) with ``R R^T = G`` of a batch of PSD Grams ``G``.

    ``factor="auto"``: Cholesky where it succeeds, ``eigh`` with eigenvalues clipped at 0 for the (rank-deficient)
    rest; ``"cholesky"`` raises on a singular Gram; ``"eigh"`` always uses the clipped eigendecomposition.
    With ``rank=k < n`` the result is ``n x k``: the top ``k`` eigenpairs (eigh).
    """
    if factor not in FACTORS:
        raise ValueError(f"factor must be one of {FACTORS}, got {factor!r}")
    n = G.shape[-1]
    if rank is not None and rank < n:
        if not bool(torch.isfinite(G).all()):
            raise NumericalDivergence("a Gram is NaN or inf (the chain diverged)")
        lam, E = torch.linalg.eigh(G)
        lam, E = lam[..., -rank:], E[..., -rank:]
        return E * lam.clamp_min(0).sqrt().unsqueeze(-2)
    if factor == "eigh":
        if not bool(torch.isfinite(G).all()):
            raise NumericalDivergence("a Gram is NaN or inf (the chain diverged)")
        return _eigh_sqrt(G)
    L, info = torch.linalg.cholesky_ex(G)
    bad = info != 0
    if not bool(bad.any()):
        return L
    if not bool(torch.isfinite(G[bad]).all()):  # LAPACK's Cholesky fails on NaN pivots: no per-layer check needed
        raise NumericalDivergence("a Gram is NaN or inf (the chain diverged)")
    if factor == "cholesky":
        raise torch.linalg.LinAlgError(f"{int(bad.sum())} Gram(s) are not numerically positive definite")
    L = L.clone()
    L[bad] = _eigh_sqrt(G[bad])
    return L


def _eigh_sqrt(G: torch.Tensor) -> torch.Tensor:
    lam, E = torch.linalg.eigh(G)
    return E * lam.clamp_min(0).sqrt().unsqueeze(-2)


class LawLinear(nn.Module):
    """A linear layer ``in -> out`` with a fresh random weight per call, sampled in law from the input's Gram.

    ``forward(h)`` with ``h`` of shape ``(S, n, in)`` returns a sample of ``h W^T`` (``(S, n, out)``), ``W`` of the
    given law, independent per seed. Set :attr:`gram` to ``h h^T`` beforehand to save recomputing it.
    """

    def __init__(self, in_features: int, out_features: int, law, *, ensemble: int = 1, factor: str = "auto"):
        super().__init__()
        self.in_features, self.out_features, self.ensemble = in_features, out_features, ensemble
        self.law, self.factor = weight_law(law), factor
        self.generator: torch.Generator | None = None
        self.numpy_rng: np.random.Generator | None = None
        self.noise_dtype: torch.dtype | None = None
        self.gram: torch.Tensor | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        G = h @ h.transpose(-1, -2) if self.gram is None else self.gram
        S, n = self.ensemble, h.shape[-2]
        dtype, device = h.dtype, h.device
        noise_dtype = self.noise_dtype or dtype
        fan_in, out = self.in_features, self.out_features
        if isinstance(self.law, GaussianWeights):
            std = self.law.std_for(fan_in, out)
            R = gram_sqrt(G, self.factor)
            R = R if std == 1.0 else R * std  # scale the n x n factor, not the n x d sample
            return R @ self._normal((S, n, out), noise_dtype, device).to(dtype)
        # Haar: k = min(n, in) rows of W^T (in x out, orthonormal rows if out >= in, else orthonormal columns)
        k = min(n, fan_in)
        R = gram_sqrt(G, self.factor, rank=k if k < n else None)
        if self.law.gain != 1.0:
            R = R * self.law.gain
        if out >= fan_in:  # a uniformly random k x out matrix with orthonormal rows
            Q = haar_orthogonal((S, k, out), self._cpu_generator(), noise_dtype)
        else:  # the first k rows of a Haar in x out matrix with orthonormal columns (costs O(in out^2))
            Q = haar_orthogonal((S, fan_in, out), self._cpu_generator(), noise_dtype)[..., :k, :]
        return R @ Q.to(device=device, dtype=dtype)

    def _normal(self, shape, dtype, device) -> torch.Tensor:
        # float64 on the CPU: numpy's ziggurat (SFC64), exact and ~2.5x faster than torch's float64 Box-Muller;
        # otherwise torch.randn (float32 Box-Muller is vectorised on the CPU; CUDA draws on the device)
        if self.numpy_rng is not None and dtype == torch.float64 and device.type == "cpu":
            return torch.from_numpy(self.numpy_rng.standard_normal(shape))
        return torch.randn(shape, generator=self.generator, dtype=dtype, device=device)

    def _cpu_generator(self) -> torch.Generator | None:
        # haar_orthogonal draws on the CPU (as the explicit init does); derive a CPU generator from the device's one
        g = self.generator
        if g is None or g.device.type == "cpu":
            return g
        seed = int(torch.randint(0, 2**62, (1,), generator=g, device=g.device).item())
        return torch.Generator().manual_seed(seed)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, seeds={self.ensemble}, law={self.law}"


class _LawBlock(Block):
    """:class:`~rcbench.networks.mlp.Block` (the same norm/gain/act order) whose linear layer samples in law."""

    def forward(self, x: torch.Tensor, gram: torch.Tensor | None = None) -> torch.Tensor:
        self.linear.gram = gram
        try:
            return super().forward(x)
        finally:
            self.linear.gram = None


class GramChain(nn.Module):
    """The random MLP of :class:`~rcbench.networks.MLP` sampled in law through ``n x n`` Grams (module docstring)."""

    def __init__(
        self,
        in_features: int,
        width: int | Sequence[int],
        depth: int,
        *,
        norm: str | Callable | None = "bn",
        activation: str | Callable = "identity",
        order: str = "norm_act",
        gain: float | Sequence[float] | Callable[[int], float] = 1.0,
        init="gaussian",
        ensemble: int = 1,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        noise_dtype: torch.dtype | None = None,
        factor: str = "auto",
    ):
        super().__init__()
        depth = _positive_int(depth, "depth")
        in_features = _positive_int(in_features, "in_features")
        ensemble = _positive_int(ensemble, "ensemble")
        widths = [width] * depth if isinstance(width, int) else list(width)
        if len(widths) != depth:
            raise ValueError(f"width is a sequence of {len(widths)} widths but depth={depth}")
        widths = [_positive_int(w, "width") for w in widths]
        if order not in ("norm_act", "act_norm"):
            raise ValueError(f"order must be 'norm_act' or 'act_norm', got {order!r}")
        if factor not in FACTORS:
            raise ValueError(f"factor must be one of {FACTORS}, got {factor!r}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}")
        if noise_dtype is not None and not (isinstance(noise_dtype, torch.dtype) and noise_dtype.is_floating_point):
            raise ValueError(f"noise_dtype must be a floating torch dtype or None, got {noise_dtype!r}")
        gains = _gains(gain, depth)
        law = weight_law(init)
        get_activation(activation)  # fail on unknown names before building anything
        if isinstance(norm, str):
            get_norm(norm, widths[0], 1)

        self.in_features, self.widths, self.depth = in_features, widths, depth
        self.ensemble, self.seed, self.order, self.law = ensemble, int(seed), order, law
        self.dtype, self.device, self.noise_dtype = dtype, torch.device(device), noise_dtype
        blocks, fan_in = [], in_features
        for l, w in enumerate(widths):
            lin = LawLinear(fan_in, w, law, ensemble=ensemble, factor=factor)
            blocks.append(_LawBlock(lin, get_norm(norm, w, ensemble), get_activation(activation), gains[l], order))
            fan_in = w
        self.blocks = nn.ModuleList(blocks)
        self.to(device=self.device, dtype=dtype)  # also the norms' parameters and buffers (batchnorm1d)

    # -----------------------------------------------------------------------------------------------------------
    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        return check_network_input(x, self.in_features, self.ensemble, device=self.device, dtype=self.dtype)

    def _generator(self) -> torch.Generator:
        g = torch.Generator(device=self.device) if self.device.type != "cpu" else torch.Generator()
        g.manual_seed(self.seed)
        rng = np.random.Generator(np.random.SFC64(self.seed)) if self.device.type == "cpu" else None
        for blk in self.blocks:
            blk.linear.generator, blk.linear.numpy_rng, blk.linear.noise_dtype = g, rng, self.noise_dtype
        return g

    @torch.no_grad()
    def forward(
        self,
        x: torch.Tensor,
        *,
        return_hidden: bool = False,
        callback: Callable[[int, torch.Tensor], None] | None = None,
        _gram_callback: Callable[[int, torch.Tensor], None] | None = None,
    ):
        """Sample ``H_L`` (``(ensemble, n, width_L)``) for the batch ``x``; see the module docstring."""
        h = self._check_input(x)
        self._generator()
        hidden = [h] if return_hidden else None
        if callback is not None:
            callback(0, h)
        G = h @ h.transpose(-1, -2)
        if _gram_callback is not None:
            _gram_callback(0, G)
        for l, block in enumerate(self.blocks, start=1):
            try:
                h = block(h, G)
            except NumericalDivergence as exc:
                msg = f"the Gram chain produced NaN or inf at layer {l - 1}; not recording it"
                raise NumericalDivergence(msg) from exc
            G = h @ h.transpose(-1, -2)
            if _gram_callback is not None:
                _gram_callback(l, G)
            if return_hidden:
                hidden.append(h)
            if callback is not None:
                callback(l, h)
        if not bool(torch.isfinite(G).all()):
            raise NumericalDivergence(f"the Gram chain produced NaN or inf at layer {self.depth}; not recording it")
        return (h, hidden) if return_hidden else h

    @torch.no_grad()
    def grams(self, x: torch.Tensor) -> torch.Tensor:
        """Sample Grams ``H_l H_l^T`` of the input and every block, ``(depth + 1, ensemble, n, n)``."""
        n = x.shape[-2]
        out = torch.empty((self.depth + 1, self.ensemble, n, n), dtype=self.dtype, device=self.device)

        def keep(l, G):
            out[l] = G

        self.forward(x, _gram_callback=keep)
        if not bool(torch.isfinite(out).all()):
            raise NumericalDivergence("the Gram chain produced a non-finite Gram; not recording it as data")
        return out

    def extra_repr(self) -> str:
        return f"seeds={self.ensemble}, seed={self.seed}, law={self.law}, noise_dtype={self.noise_dtype}"
