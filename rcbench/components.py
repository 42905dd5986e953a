"""Substituting a user's component (normalisation, initialisation, activation) into the claims.

A component is given as ``PACKAGE.MODULE:NAME`` (an importable object) or as a built-in name. Contracts:

* **norm**: a factory ``factory(num_features) -> nn.Module`` (an ``nn.Module`` class qualifies) whose module maps a
  batch ``(n, d)`` to ``(n, d)``, normalising however it likes (``torch.nn.BatchNorm1d`` is an example).
* **init**: ``init(shape, generator, dtype) -> Tensor`` with ``shape = (seeds, out, in)``
  (see :mod:`rcbench.networks.init`).
* **activation**: an elementwise callable ``Tensor -> Tensor`` or an ``nn.Module`` class.

A user's component that raises, returns the wrong shape or non-finite values raises :class:`ComponentError`
naming the component, so the claim fails with a clear message and the other claims still run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch
from torch import nn

from rcbench.networks.activations import ACTIVATIONS
from rcbench.networks.init import INITS
from rcbench.networks.norms import NORMS

__all__ = ["KINDS", "ComponentError", "load_component", "checked"]

KINDS = {"norm": NORMS, "init": INITS, "activation": ACTIVATIONS}


class ComponentError(RuntimeError):
    """A substituted component failed its contract (raised, wrong shape, non-finite output)."""


def load_component(spec: str, kind: str):
    """Resolve ``spec`` (``PACKAGE.MODULE:NAME`` or a built-in name of ``kind``) to the object, before any work.

    Built-in names are returned as strings (the builder resolves them); imported objects are wrapped by
    :func:`checked` so that contract violations name the component.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; one of {sorted(KINDS)}")
    if ":" not in spec:
        if spec.lower().replace("-", "_") not in KINDS[kind]:
            raise ValueError(
                f"--{kind} {spec!r}: not a built-in {kind} ({sorted(KINDS[kind])}) and not of the form PACKAGE.MODULE:NAME"
            )
        return spec
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--{kind} {spec!r}: cannot import module {module_name!r} ({exc})") from exc
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"--{kind} {spec!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise ValueError(f"--{kind} {spec!r}: {attr!r} is not callable")
    return checked(obj, kind, spec)


def checked(obj: Callable, kind: str, name: str) -> Callable:
    """Wrap a user's component so that a broken one raises :class:`ComponentError` naming it."""
    if kind == "norm":

        def factory(num_features: int) -> nn.Module:
            try:
                module = obj(num_features)
            except Exception as exc:
                raise ComponentError(f"norm {name}: factory({num_features}) raised {exc!r}") from exc
            if not isinstance(module, nn.Module) and not callable(module):
                raise ComponentError(f"norm {name}: factory({num_features}) returned {type(module).__name__}, not a module")
            return _CheckedModule(module, f"norm {name}")

        factory.__name__ = name
        return factory
    if kind == "activation":
        fn = obj() if isinstance(obj, type) and issubclass(obj, nn.Module) else obj
        return _CheckedModule(fn, f"activation {name}")

    def init(shape, generator, dtype):
        try:
            w = obj(shape, generator, dtype)
        except Exception as exc:
            raise ComponentError(f"init {name}: raised {exc!r} for shape {shape}") from exc
        if not isinstance(w, torch.Tensor) or tuple(w.shape) != tuple(shape):
            got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            raise ComponentError(f"init {name}: returned {got}, expected a tensor of shape {tuple(shape)}")
        if not bool(torch.isfinite(w).all()):
            raise ComponentError(f"init {name}: returned non-finite weights")
        return w

    init.__name__ = name
    return init


class _CheckedModule(nn.Module):
    def __init__(self, inner, label: str):
        super().__init__()
        self.inner, self.label = inner, label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            y = self.inner(x)
        except Exception as exc:
            raise ComponentError(f"{self.label}: raised {exc!r} on input of shape {tuple(x.shape)}") from exc
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ComponentError(f"{self.label}: returned {got} for input of shape {tuple(x.shape)}")
        if not bool(torch.isfinite(y).all()):
            raise ComponentError(f"{self.label}: produced NaN or inf on input of shape {tuple(x.shape)}")
        return y

    def extra_repr(self) -> str:
        return self.label
