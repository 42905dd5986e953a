"""Weight initialisations, batched over a leading seed dimension and driven by an explicit ``torch.Generator``.

An *initializer* is a callable ``init(shape, generator, dtype) -> Tensor`` where ``shape = (seeds, out, in)``.
The factories below return initializers; :data:`INITS` maps names to them with default parameters.
Tensors are drawn on the CPU (bit-reproducible for a given seed on every device) and moved by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "Initializer",
    "gaussian",
    "uniform",
    "haar_orthogonal",
    "orthogonal",
    "xavier_normal",
    "xavier_uniform",
    "torch_default",
    "perturbed_identity",
    "INITS",
    "get_init",
]

Initializer = Callable[[tuple[int, int, int], torch.Generator, torch.dtype], torch.Tensor]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    return shape[-1], shape[-2]  # (fan_in, fan_out) of an (…, out, in) weight


def gaussian(std: float | None = None, *, variance: float | None = None) -> Initializer:
    """I.i.d. ``N(0, std^2)`` entries; by default ``std = 1/sqrt(fan_in)`` (variance ``1/d``, papers B, D).

    Give ``std`` or ``variance`` (``gaussian(variance=1.0)`` is paper A's and B's code, ``randn(d, d)``).
    """
    if std is not None and variance is not None:
        raise ValueError("give std or variance, not both")
    if variance is not None:
        if variance < 0:
            raise ValueError(f"variance must be non-negative, got {variance}")
        std = math.sqrt(variance)

    def init(shape, generator, dtype):
        s = 1.0 / math.sqrt(_fans(shape)[0]) if std is None else float(std)
        return torch.randn(shape, generator=generator, dtype=dtype) * s

    init.__name__ = "gaussian" if std is None else f"gaussian(std={std:g})"
    return init


def uniform(variance: float = 1.0) -> Initializer:
    """I.i.d. uniform entries on ``[-sqrt(3 v), sqrt(3 v)]`` (variance ``v``; paper A's Fig. 2 uses ``v = 1``)."""
    a = math.sqrt(3.0 * variance)

    def init(shape, generator, dtype):
        return (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * a

    init.__name__ = f"uniform(variance={variance:g})"
    return init


def haar_orthogonal(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype, gain: float = 1.0):
    """Haar-distributed (semi-)orthogonal matrices, batched: QR of a Gaussian matrix with the sign fix
    ``Q <- Q diag(sign(diag R))`` (Mezzadri 2007), which makes the law exactly Haar.

    For ``out >= in`` the columns are orthonormal, otherwise the rows (as ``torch.nn.init.orthogonal_``).
    """
    out_f, in_f = shape[-2], shape[-1]
    tall = out_f >= in_f
    a = torch.randn(*shape[:-2], *((out_f, in_f) if tall else (in_f, out_f)), generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(a)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    q = q * signs.unsqueeze(-2)
    return gain * (q if tall else q.transpose(-1, -2))


def orthogonal(gain: float = 1.0) -> Initializer:
    """Haar orthogonal weights times ``gain`` (paper C); see :func:`haar_orthogonal`."""

    def init(shape, generator, dtype):
        return haar_orthogonal(shape, generator, dtype, gain)

    init.__name__ = "orthogonal" if gain == 1.0 else f"orthogonal(gain={gain:g})"
    return init


def xavier_normal(gain: float = 1.0) -> Initializer:
    """``N(0, gain^2 * 2 / (fan_in + fan_out))`` (Glorot and Bengio 2010; ``torch.nn.init.xavier_normal_``)."""

    def init(shape, generator, dtype):
        fan_in, fan_out = _fans(shape)
        return torch.randn(shape, generator=generator, dtype=dtype) * gain * math.sqrt(2.0 / (fan_in + fan_out))

    init.__name__ = "xavier_normal"
    return init


def xavier_uniform(gain: float = 1.0) -> Initializer:
    """Uniform with the Xavier variance (``torch.nn.init.xavier_uniform_``)."""

    def init(shape, generator, dtype):
        fan_in, fan_out = _fans(shape)
        a = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * a

    init.__name__ = "xavier_uniform"
    return init


def torch_default() -> Initializer:
    """PyTorch's ``nn.Linear`` default, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (kaiming uniform, ``a = sqrt(5)``);
    paper A's Fig. 1 uses it for weights and biases."""

    def init(shape, generator, dtype):
        bound = 1.0 / math.sqrt(_fans(shape)[0])
        return (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound

    init.__name__ = "torch_default"
    return init


def perturbed_identity(gamma: float, base: Initializer | None = None) -> Initializer:
    """``I + gamma * W`` with ``W`` from ``base`` (default i.i.d. ``N(0, 1)``): paper A's ``W^(gamma)`` of Theorem 2
    and Fig. 3 (square layers only). ``gamma = inf`` is not allowed: BN is scale-invariant, use ``base`` itself."""
    if not math.isfinite(gamma):
        raise ValueError("gamma must be finite; for gamma -> inf use the base initializer itself")
    base = gaussian(variance=1.0) if base is None else base

    def init(shape, generator, dtype):
        if shape[-1] != shape[-2]:
            raise ValueError(f"perturbed_identity needs square layers, got weight shape {shape[-2:]}")
        eye = torch.eye(shape[-1], dtype=dtype).expand(shape)
        return eye + gamma * base(shape, generator, dtype)

    init.__name__ = f"perturbed_identity(gamma={gamma:g})"
    return init


#: name -> initializer with default parameters.
INITS: dict[str, Initializer] = {
    "gaussian": gaussian(),
    "gaussian_unit": gaussian(variance=1.0),
    "uniform_unit": uniform(1.0),
    "orthogonal": orthogonal(),
    "haar": orthogonal(),
    "xavier_normal": xavier_normal(),
    "xavier_uniform": xavier_uniform(),
    "torch_default": torch_default(),
}


def get_init(spec: str | Initializer) -> Initializer:
    """Resolve an initializer by name (see :data:`INITS`) or pass a callable ``(shape, generator, dtype)`` through."""
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in INITS:
            raise ValueError(f"unknown init {spec!r}; known names: {sorted(INITS)} (or pass an initializer callable)")
        return INITS[key]
    if callable(spec):
        return spec
    raise TypeError(f"init must be a name or a callable (shape, generator, dtype) -> Tensor, got {spec!r}")
