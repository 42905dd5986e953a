"""Pieces every experiment shares: seeded inputs, the per-layer metric trace of a network, tidy frames."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import numbers
import os
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import torch

from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments import experiment_name
from rcbench.metrics import spectral_metrics
from rcbench.networks import MLP, NumericalDivergence

__all__ = [
    "positive_int",
    "profile_config",
    "gaussian_input",
    "require_n_le_d",
    "regime_n_le_d",
    "tidy",
    "trace",
    "generator",
    "cpu_threads",
    "few_threads",
    "storable",
    "reading_from",
    "current_source",
]

_SOURCE: contextvars.ContextVar = contextvars.ContextVar("rcbench_results_source", default=None)


def storable(fn: Callable) -> Callable:
    """Decorator of an experiment function (configuration in, tidy DataFrame out) whose calls a results store can
    answer.

    Without an active source (the default) the call runs ``fn`` unchanged. Inside :func:`reading_from`, the call
    is handed to the source as ``source.fetch(name, params, compute)``: ``name`` is ``"module:function"`` (the
    spelling of ``rcbench sweep``), ``params`` every argument bound by name with the defaults filled in (the full
    configuration of the call, seed included), ``compute`` a callable that runs ``fn`` on them. The source returns
    the stored frame of exactly this call, computes it, or raises (see :class:`rcbench.sweep.StoreSource`).
    """
    sig = inspect.signature(fn)
    name = experiment_name(fn.__module__, fn.__name__)
    # defaults that are not JSON data (a dtype, an init function): a call that leaves them at their default is keyed
    # without them (the cell's params omit them, so a worker calling fn(**params) gets the same default); a call
    # that passes another object is computed in-process (StoreSource)
    opaque = {p.name: p.default for p in sig.parameters.values()
              if p.default is not p.empty and not isinstance(p.default, (type(None), bool, numbers.Number, str, tuple,
                                                                           list, dict))}  # fmt: skip

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        source = _SOURCE.get()
        if source is None:
            return fn(*args, **kwargs)
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        for p in sig.parameters.values():  # **kwargs of the function are flattened into the configuration
            if p.kind is p.VAR_KEYWORD:
                params.update(params.pop(p.name))
            elif p.kind is p.VAR_POSITIONAL and params.get(p.name):
                raise TypeError(f"{name}: positional *{p.name} cannot be stored")
            elif p.kind is p.VAR_POSITIONAL:
                params.pop(p.name, None)
        keyed = {k: v for k, v in params.items() if not (k in opaque and v is opaque[k])}
        return source.fetch(name, keyed, lambda: fn(**params))

    wrapper.experiment_name = name
    return wrapper


@contextlib.contextmanager
def reading_from(source):
    """Answer the calls of :func:`storable` experiment functions inside the block from ``source`` (an object with
    ``fetch(name, params, compute)``; ``None`` computes as usual)."""
    token = _SOURCE.set(source)
    try:
        yield source
    finally:
        _SOURCE.reset(token)


def current_source():
    """The source set by :func:`reading_from`, or ``None``."""
    return _SOURCE.get()


@contextlib.contextmanager
def cpu_threads(k: int | None = None):
    """Run the block with ``k`` intra-op CPU threads (default ``$RCBENCH_THREADS``, else 1), restoring after.

    The experiments' kernels are mostly small (``n x n`` Grams, ``n <= 100``); intra-op threading costs more than
    it gains on them, and on a shared 2-core machine it made them 10-20x slower (measured: 50 BN-chain layers of
    ``20 x 4 x 512`` took 9.2 s with 2 threads, 0.47 s with one; a batched ``(5, 32, 32)`` QR 24 ms vs 0.3 ms).
    Set ``RCBENCH_THREADS`` for paper-scale runs with large explicit weights on a many-core machine.
    """
    k = int(os.environ.get("RCBENCH_THREADS", 1)) if k is None else int(k)
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, k))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def few_threads(fn):
    """Decorator: run an experiment function under :func:`cpu_threads`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with cpu_threads():
            return fn(*args, **kwargs)

    return wrapper


def positive_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer (Python or numpy) ``>= minimum``; else a :class:`ValueError`
    naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {need}, got {value!r}")
    return int(value)


def profile_config(profiles: Mapping[str, Mapping[str, dict]], claim_id: str, profile: str) -> dict:
    """A deep copy of ``profiles[profile][claim_id]`` (an experiment module's ``PROFILES``), with clear errors for an
    unknown profile or a claim the module has no configuration for, and with the active ``--set`` overrides of
    ``claim_id`` applied (:func:`rcbench.overrides.active`; validated before the run by
    :func:`rcbench.overrides.resolve`)."""
    import copy

    if profile not in profiles:
        raise ValueError(f"unknown profile {profile!r}; one of {sorted(profiles)}")
    if claim_id not in profiles[profile]:
        raise KeyError(f"no configuration for claim {claim_id!r} in this module; have {sorted(profiles[profile])}")
    from rcbench.overrides import apply_active  # the --set overrides of the run, if any (torch-free module)

    return apply_active(claim_id, copy.deepcopy(dict(profiles[profile][claim_id])))


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (CPU draws are bit-reproducible on every device)."""
    return torch.Generator().manual_seed(int(seed))


def gaussian_input(n: int, d: int, *, seed: int = 0, ensemble: int | None = None, device="cpu") -> torch.Tensor:
    """I.i.d. standard Gaussian batch ``(n, d)`` (or ``(ensemble, n, d)``) in float64, drawn on the CPU."""
    n, d = positive_int(n, "n"), positive_int(d, "d")
    ensemble = None if ensemble is None else positive_int(ensemble, "ensemble")
    shape = (n, d) if ensemble is None else (ensemble, n, d)
    x = torch.randn(shape, generator=generator(seed), dtype=MEASUREMENT_DTYPE)
    return x.to(resolve_device(device))


def require_n_le_d(n: int, d: int, claim: str = "") -> None:
    """Raise a clear :class:`ValueError` before any work when a claim needs batch size ``n <= width d``."""
    if n > d:
        where = f" ({claim})" if claim else ""
        raise ValueError(f"this experiment{where} needs n <= d (batch size at most the width), got n={n}, d={d}")


def _config_values(cfg: Mapping, key: str) -> list:
    node = cfg
    for part in key.split("."):
        node = node[part]
    return list(node) if isinstance(node, (tuple, list)) else [node]


def regime_n_le_d(n: str = "n", d: str = "d"):
    """A regime validator for an experiments module's ``REGIMES`` (see :mod:`rcbench.overrides`): the configuration's
    batch size(s) ``cfg[n]`` must not exceed its width(s) ``cfg[d]`` (dotted keys descend; lists are compared by
    their largest batch and smallest width), via :func:`require_n_le_d`. ``REGIMES = {"C7": regime_n_le_d("batch",
    "width")}`` makes ``--set C7.batch=64`` at width 32 a clear error before any work."""

    def check(cfg: Mapping, claim: str = "") -> None:
        big, small = max(_config_values(cfg, n)), min(_config_values(cfg, d))
        try:
            require_n_le_d(big, small, claim)
        except ValueError:
            raise ValueError(f"needs {n} <= {d} (batch size at most the width), got {n}={big}, {d}={small}") from None

    check.__doc__ = f"{n} <= {d}"
    return check


def tidy(values: Mapping[str, torch.Tensor], *, layer_start: int = 0, seeds: Sequence[int] | None = None, **settings):
    """Tidy DataFrame from per-layer, per-seed statistics.

    ``values`` maps a column name to a tensor of shape ``(layers, seeds)``; the frame has one row per
    ``layer x seed`` with columns ``layer``, ``seed``, the ``settings`` (constants such as ``width=64``) and one
    column per statistic. Raises :class:`NumericalDivergence` on NaN (``+inf`` is a legitimate value of the
    isometry gap and is kept).
    """
    if not values:
        raise ValueError("tidy: values must map at least one statistic name to a (layers, seeds) tensor")
    first = next(iter(values.values()))
    if first.ndim != 2:
        raise ValueError(f"statistic {next(iter(values))!r} has shape {tuple(first.shape)}, expected (layers, seeds)")
    L, S = first.shape[:2]
    seeds = list(range(S)) if seeds is None else list(seeds)
    if len(seeds) != S:
        raise ValueError(f"tidy: {len(seeds)} seed labels given for {S} seeds")
    cols = {}
    for name, v in values.items():
        v = v.detach().to("cpu", torch.float64)
        if tuple(v.shape) != (L, S):
            raise ValueError(f"statistic {name!r} has shape {tuple(v.shape)}, expected {(L, S)}")
        if bool(torch.isnan(v).any()):
            raise NumericalDivergence(f"statistic {name!r} is NaN; the run diverged and is not recorded as data")
        cols[name] = v.reshape(-1).numpy()
    layer = torch.arange(layer_start, layer_start + L).repeat_interleave(S).numpy()
    frame = pd.DataFrame({"layer": layer, "seed": seeds * L, **{k: v for k, v in settings.items()}, **cols})
    return frame


def trace(net: MLP, x: torch.Tensor, metrics: Sequence[str], *, seeds: Sequence[int] | None = None, **settings):
    """Run ``net`` on ``x`` and measure ``metrics`` (names of :data:`rcbench.metrics.SPECTRAL_METRICS`) at the
    input and after every block: one stacked Gram, one batched ``eigvalsh``. Returns a tidy frame (see :func:`tidy`)."""
    grams = net.grams(x)
    values = spectral_metrics(grams, metrics, d=min(net.widths))
    return tidy(values, seeds=seeds, **settings)
