"""Activations by name, as modules; any callable or ``nn.Module`` class is accepted as well."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "he2", "he3"]


def he2(x: torch.Tensor) -> torch.Tensor:
    """Normalised probabilists' Hermite polynomial ``he_2(x) = (x^2 - 1) / sqrt(2)`` (paper D, ``c_1 = 0``)."""
    return (x * x - 1.0) / math.sqrt(2.0)


def he3(x: torch.Tensor) -> torch.Tensor:
    """Normalised probabilists' Hermite polynomial ``he_3(x) = (x^3 - 3x) / sqrt(6)`` (paper D, ``c_1 = 0``)."""
    return (x**3 - 3.0 * x) / math.sqrt(6.0)


#: name -> elementwise function. Aliases map to the same function.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "linear": lambda x: x,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "sin": torch.sin,
    "exp": torch.exp,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "selu": F.selu,
    "elu": F.elu,
    "leaky_relu": F.leaky_relu,
    "he2": he2,
    "he3": he3,
}


class Activation(nn.Module):
    """An elementwise activation as a module, named for ``repr`` and for the results tables."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], name: str):
        super().__init__()
        self.fn = fn
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


def get_activation(spec: str | Callable | type[nn.Module]) -> nn.Module:
    """Resolve an activation given by name (case-insensitive, see :data:`ACTIVATIONS`), by a callable such as
    ``torch.tanh`` or by an ``nn.Module`` class such as ``nn.Tanh`` (instantiated without arguments)."""
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation {spec!r}; known names: {sorted(ACTIVATIONS)} (or pass a callable)")
        return Activation(ACTIVATIONS[key], key)
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        return spec()
    if isinstance(spec, nn.Module):
        return spec
    if callable(spec):
        return Activation(spec, getattr(spec, "__name__", type(spec).__name__))
    raise TypeError(f"activation must be a name, a callable or an nn.Module class, got {spec!r}")
