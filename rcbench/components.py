"""Substituting a user's component (normalisation, initialisation, activation) into the claims.

A component is given as ``PACKAGE.MODULE:NAME`` (an importable object) or as a built-in name. Contracts:

* **norm**: a factory ``factory(num_features) -> nn.Module`` (an ``nn.Module`` class qualifies) whose module maps a
  batch ``(n, d)`` to ``(n, d)``, normalising however it likes (``torch.nn.BatchNorm1d`` is an example).
* **init**: ``init(shape, generator, dtype) -> Tensor`` with ``shape = (seeds, out, in)``
  (see :mod:`rcbench.networks.init`).
* **activation**: an elementwise callable ``Tensor -> Tensor`` or an ``nn.Module`` class.

:func:`probe_component` loads a component and calls it once at a small width before any claim runs (a norm must
build an ``nn.Module`` mapping a float64 ``(n, d)`` batch to the same shape and dtype; an init must return a finite
tensor of the asked shape and dtype; an activation must be elementwise); what fails there is refused with one line.
A component that passes the probe but breaks later (say at one width only) raises :class:`ComponentError` naming
the component, so that claim fails with a clear message and the other claims still run.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import torch
from torch import nn

from rcbench.networks.activations import ACTIVATIONS
from rcbench.networks.init import INITS
from rcbench.networks.norms import NORMS

__all__ = ["KINDS", "ComponentError", "load_component", "checked", "probe_component"]

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


# ---------------------------------------------------------------------------------------------------------------
_CONTRACT = {
    "norm": "a factory f(num_features) -> nn.Module (an nn.Module class qualifies) mapping a (n, d) batch to (n, d)",
    "init": "a function f(shape, generator, dtype) -> Tensor with shape = (seeds, out, in)",
    "activation": "an elementwise callable Tensor -> Tensor, or an nn.Module class constructible without arguments",
}
_PROBE_N, _PROBE_D = 6, 8


def _wrap_hint(kind: str, spec: str) -> str:
    module, _, name = spec.partition(":")
    if kind == "norm":
        return (f"wrap it: functools.partial({module}.{name}, <other args>) in your module, or a factory "
                f"`def my_norm(d): return {module}.{name}(<other args>, d)`")  # fmt: skip
    if kind == "init":
        return "wrap it in `def my_init(shape, generator, dtype): ...` returning a tensor of that shape"
    return f"wrap it: functools.partial({module}.{name}, <args>) or a small nn.Module / function of one tensor"


def _call_arity_error(fn, args) -> str | None:
    """Why ``fn(*args)`` cannot be called at all (missing or extra arguments), or None."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        sig.bind(*args)
    except TypeError as exc:
        return str(exc)
    return None


def probe_component(spec: str, kind: str):
    """:func:`load_component`, then call the component once at width 8 on a float64 batch, on the CPU: a component
    that is not what the claims need is refused here (``ValueError``, one line naming ``--<kind>`` and the contract)
    instead of failing every claim. Returns the loaded component."""
    loaded = load_component(spec, kind)
    if isinstance(loaded, str):  # a built-in name
        return loaded
    module_name, _, attr = spec.partition(":")
    raw = getattr(importlib.import_module(module_name), attr)
    bad = f"--{kind} {spec}: not {_CONTRACT[kind]}"
    g = torch.Generator().manual_seed(0)
    x = torch.randn(_PROBE_N, _PROBE_D, generator=g, dtype=torch.float64)
    if kind == "norm":
        why = _call_arity_error(raw, (_PROBE_D,))
        if why:
            raise ValueError(f"{bad}: calling it with the width alone fails ({why}); {_wrap_hint(kind, spec)}")
        try:
            module = raw(_PROBE_D)
        except Exception as exc:
            raise ValueError(f"{bad}: {attr}({_PROBE_D}) raised {exc!r}; {_wrap_hint(kind, spec)}") from None
        if not isinstance(module, nn.Module):
            raise ValueError(f"{bad}: {attr}({_PROBE_D}) returned {type(module).__name__}, not an nn.Module")
        module = module.to(torch.float64)
        _probe_output(module, x, bad, elementwise=False)
    elif kind == "init":
        shape = (2, _PROBE_D, _PROBE_D)
        why = _call_arity_error(raw, (shape, g, torch.float64))
        if why:
            raise ValueError(f"{bad}: calling it as f(shape, generator, dtype) fails ({why}); {_wrap_hint(kind, spec)}")
        try:
            w = raw(shape, g, torch.float64)
        except Exception as exc:
            raise ValueError(f"{bad}: f({shape}, generator, torch.float64) raised {exc!r}") from None
        if not isinstance(w, torch.Tensor) or tuple(w.shape) != shape or w.dtype != torch.float64:
            got = f"shape {tuple(w.shape)}, {w.dtype}" if isinstance(w, torch.Tensor) else type(w).__name__
            raise ValueError(f"{bad}: returned {got} for shape {shape}, torch.float64")
        if not bool(torch.isfinite(w).all()):
            raise ValueError(f"{bad}: returned non-finite weights for shape {shape}")
    else:
        fn = raw
        if isinstance(raw, type) and issubclass(raw, nn.Module):
            why = _call_arity_error(raw, ())
            if why:
                raise ValueError(f"{bad}: {attr}() needs arguments ({why}); {_wrap_hint(kind, spec)}")
            fn = raw()
        elif not isinstance(raw, nn.Module):
            why = _call_arity_error(raw, (x,))
            if why:
                raise ValueError(f"{bad}: calling it on one tensor fails ({why}); {_wrap_hint(kind, spec)}")
        _probe_output(fn, x, bad, elementwise=True)
    return loaded


def _probe_output(fn, x: torch.Tensor, bad: str, *, elementwise: bool) -> None:
    import warnings

    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. softmax's implicit dim: the probe's verdict says what is wrong
            y = fn(x.clone())
    except Exception as exc:
        raise ValueError(f"{bad}: raised {exc!r} on a float64 batch of shape {tuple(x.shape)}") from None
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or y.dtype != x.dtype:
        got = f"shape {tuple(y.shape)}, {y.dtype}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{bad}: returned {got} for a batch of shape {tuple(x.shape)}, torch.float64")
    if not bool(torch.isfinite(y).all()):
        raise ValueError(f"{bad}: produced NaN or inf on a standard normal batch of shape {tuple(x.shape)}")
    if elementwise:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            perm = torch.randperm(x.numel(), generator=torch.Generator().manual_seed(1))
            xp = x.reshape(-1)[perm].reshape(x.shape)
            yp = fn(xp.clone())
        if not torch.allclose(yp.reshape(-1), y.reshape(-1)[perm], rtol=1e-10, atol=1e-12):
            raise ValueError(f"{bad}: not elementwise (shuffling the inputs changed the outputs beyond shuffling)")
