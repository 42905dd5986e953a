"""Configuration overrides: run a claim at the user's configuration (``--set C7.width=128``).

``pytest claims --claim C7 --set C7.width=128 --set C7.batch=128`` and ``rcbench run --set ...`` replace keys of a
claim's profile configuration (the ``PROFILES[profile][<claim>]`` dict of its experiments module, see
:func:`rcbench.experiments.common.profile_config`). The claim test runs unchanged: every claim reads its sizes
through ``exp.config(claim, profile)``, and :func:`rcbench.experiments.common.profile_config` applies the active
overrides (:func:`active`) to the copy it returns. A claim therefore sees an override iff it reads that key from its
profile configuration, and its tolerances, computed from the configuration, follow.

Spelling of one item: ``CLAIM.KEY[.SUB...]=VALUE``.

* ``CLAIM`` is an entry of some experiments module's ``PROFILES`` (a claim id such as ``C7``, or a named part
  such as ``C9_deep`` or ``D8.train``), case-insensitive (``c7.width=16`` is ``C7.width=16``). The longest entry that
  matches a prefix of the dotted path wins (``D8.train.epochs`` is key ``epochs`` of entry ``D8.train``).
* ``KEY.SUB`` descends into nested configurations (``A3.chain.widths=8,16,32``).
* ``VALUE`` is parsed like ``rcbench sweep --grid`` (:func:`rcbench.sweep.parse_value`: JSON numbers, ``true``,
  ``null``, quoted strings, else the text); a comma list is a tuple (``widths=8,16,32``; ``widths=16,`` is the
  one-tuple). A single value for a key that holds a tuple is a one-tuple.

Validation, all before any work (:func:`resolve` raises :class:`OverrideError`, a ``ValueError``, with one line):

* an unknown claim or entry, and a claim without a profile configuration, are refused with the valid names;
* an unknown key is refused with the list of the configuration's keys (at that nesting level);
* the value must have the type of the profile's value (int, float, str, bool, tuple of those; ``None`` in the
  profile accepts anything); a number whose profile values are all positive must be positive, all non-negative
  must be non-negative, all finite must be finite (``width=0``, ``seeds=-1``, ``lr=inf`` are refused);
* the claim's stated regime: an experiments module may declare ``REGIMES = {entry: validator or (validators,...)}``;
  each validator is called on the overridden configuration as ``validator(cfg, entry)`` and raises ``ValueError``
  when the configuration is outside the regime the claim needs (for example
  :func:`rcbench.experiments.common.regime_n_le_d`: batch size at most the width).

The modules searched are :data:`MODULES` (each module's ``PROFILES``). ``run.json`` records the overrides as
``options["set"]`` (the canonical ``ENTRY.KEY=VALUE`` strings) and, as ``options["set_read"]``, the entries whose
overrides some claim actually read (an override of an entry no test reads has no effect: the scale audit reports it).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import importlib
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "MODULES",
    "Override",
    "Overrides",
    "OverrideError",
    "parse_item",
    "parse_override_value",
    "resolve",
    "entries",
    "active",
    "current",
    "apply_active",
]

#: the experiments modules whose ``PROFILES`` hold the claims' configurations
MODULES = ("rank_collapse", "orthogonality", "orthogonality_nets", "gradients", "isometry", "toy")

_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("rcbench_overrides", default=None)


class OverrideError(ValueError):
    """A ``--set`` item that cannot be applied (unknown claim or key, wrong type, outside the claim's regime)."""


@dataclass(frozen=True)
class Override:
    """One resolved item: profile ``entry`` (``"C7"``, ``"D8.train"``), the key ``path`` inside its configuration
    and the parsed ``value``."""

    entry: str
    path: tuple[str, ...]
    value: object

    @property
    def key(self) -> str:
        return ".".join((self.entry, *self.path))

    def __str__(self) -> str:
        return f"{self.key}={_format(self.value)}"


def _format(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_format(v) for v in value) + ("," if len(value) == 1 else "")
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "Infinity" if value > 0 else "-Infinity"
    return json.dumps(value)


class Overrides:
    """Resolved overrides, grouped by profile entry. ``apply(entry, cfg)`` returns ``cfg`` with them applied."""

    def __init__(self, items: Sequence[Override] = ()):
        self.items: tuple[Override, ...] = tuple(items)
        #: the entries whose overrides :meth:`apply` has applied (a claim read them through profile_config)
        self.read: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __repr__(self) -> str:
        return f"Overrides({[str(o) for o in self.items]})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Overrides) and self.items == other.items

    __hash__ = None

    @property
    def entries(self) -> set[str]:
        return {o.entry for o in self.items}

    def claims(self) -> set[str]:
        """The claim ids the overrides touch (``C9_deep`` and ``D8.train`` belong to C9 and D8)."""
        from rcbench.catalog import CLAIMS

        out = set()
        for e in self.entries:
            head = e.split(".")[0].split("_")[0]
            out.add(head if head in CLAIMS else e)
        return out

    def as_strings(self) -> list[str]:
        """``["C7.width=128", ...]``: what ``run.json["options"]["set"]`` records and ``--set`` takes back."""
        return [str(o) for o in self.items]

    def as_dict(self) -> dict[str, object]:
        """``{"C7.width": 128, ...}``."""
        return {o.key: (list(o.value) if isinstance(o.value, tuple) else o.value) for o in self.items}

    def apply(self, entry: str, cfg: dict) -> dict:
        """``cfg`` (the deep copy of ``entry``'s profile configuration) with this entry's overrides set."""
        for o in self.items:
            if o.entry == entry:
                self.read.add(entry)
                node = cfg
                for part in o.path[:-1]:
                    node = node[part]
                node[o.path[-1]] = copy.deepcopy(o.value)
        return cfg


# ---------------------------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------------------------
def parse_override_value(text: str):
    """A ``--set`` value: one value parsed like ``rcbench sweep --grid`` (:func:`rcbench.sweep.parse_value`), or a
    comma list of such values as a tuple (``"8,16,32"`` -> ``(8, 16, 32)``, ``"16,"`` -> ``(16,)``); a JSON list is
    a tuple too."""
    from rcbench.grid import parse_value  # the parser of sweep --grid values (torch-free)

    text = text.strip()
    if "," in text and not text.startswith(("[", '"')):
        return tuple(parse_value(v) for v in text.split(",") if v.strip())
    value = parse_value(text)
    return tuple(value) if isinstance(value, list) else value


def parse_item(item: str) -> tuple[str, object]:
    """``"C7.width=128"`` -> ``("C7.width", 128)``: the dotted target and the parsed value (no validation)."""
    if not isinstance(item, str):
        raise OverrideError(f"--set expects CLAIM.KEY=VALUE, got {item!r}")
    target, sep, value = item.partition("=")
    target = target.strip()
    parts = target.split(".")
    if not sep or len(parts) < 2 or not all(p.strip() for p in parts) or not value.strip():
        raise OverrideError(f"--set expects CLAIM.KEY=VALUE (e.g. C7.width=128), got {item!r}")
    return target, parse_override_value(value)


# ---------------------------------------------------------------------------------------------------------------
# the profile entries of the experiments modules
# ---------------------------------------------------------------------------------------------------------------
def entries(profile: str = "quick") -> dict[str, tuple[str, object]]:
    """``lowercase entry -> (entry, module)`` over :data:`MODULES` for ``profile`` (imports the modules)."""
    out: dict[str, tuple[str, object]] = {}
    for name in MODULES:
        module = importlib.import_module(f"rcbench.experiments.{name}")
        table = getattr(module, "PROFILES", {}).get(profile, {})
        for entry in table:
            out.setdefault(entry.lower(), (entry, module))
    return out


def _module_config(module, entry: str, profile: str) -> dict:
    """The un-overridden profile configuration of ``entry`` (a deep copy)."""
    return copy.deepcopy(dict(module.PROFILES[profile][entry]))


def _split_target(target: str, table: Mapping[str, tuple[str, object]]) -> tuple[str, object, tuple[str, ...]]:
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):  # longest entry first
        head = ".".join(parts[:cut]).lower()
        if head in table:
            entry, module = table[head]
            return entry, module, tuple(parts[cut:])
    from rcbench.catalog import CLAIMS

    claim = parts[0].upper()
    if claim in CLAIMS:
        raise OverrideError(f"--set {target}: claim {claim} has no profile configuration (its sizes are fixed in its "
                            f"test); claims with one: {_names(table)}")  # fmt: skip
    raise OverrideError(f"--set {target}: unknown claim {parts[0]!r}; claims with a configuration: {_names(table)}")


def _names(table) -> str:
    from rcbench.catalog import CLAIMS

    order = {cid: i for i, cid in enumerate(CLAIMS)}
    names = sorted((e for e, _ in table.values()), key=lambda e: (order.get(e.split(".")[0].split("_")[0], 1e9), e))
    return ", ".join(names)


# ---------------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------------
def _leaves(value) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _coerce(key: str, old, new):
    """``new`` checked against the profile's value ``old`` (type, sign, finiteness); returns the value to set."""
    if old is None:
        return new
    if isinstance(old, Mapping):
        raise OverrideError(f"--set {key}: {key} is a group of keys, set one of them: "
                            f"{', '.join(f'{key}.{k}' for k in old)}")  # fmt: skip
    seq = isinstance(old, (tuple, list))
    if seq and not isinstance(new, tuple):
        new = (new,)
    if not seq and isinstance(new, tuple):
        raise OverrideError(f"--set {key}: takes one value (the profile has {_format(old)}), got a list {_format(new)}")
    olds, news = _leaves(old), _leaves(new)
    if seq and not news:
        raise OverrideError(f"--set {key}: empty list")
    out = []
    for v in news:
        if all(_is_int(o) for o in olds) and olds:
            ok = _is_int(v)
            want = "an integer"
        elif all(_is_real(o) for o in olds) and olds:
            if isinstance(v, str) and v.lower() in ("inf", "+inf", "-inf", "infinity", "-infinity", "nan"):
                v = float(v)
            ok = _is_real(v)
            v = float(v) if ok else v
            want = "a number"
        elif all(isinstance(o, bool) for o in olds) and olds:
            ok, want = isinstance(v, bool), "true or false"
        elif all(isinstance(o, str) for o in olds) and olds:
            ok, want = isinstance(v, str), "a string"
        else:  # mixed or other types in the profile: any JSON scalar
            ok, want = True, ""
        if not ok:
            raise OverrideError(f"--set {key}: needs {want} (the profile has {_format(old)}), got {v!r}")
        if want in ("an integer", "a number"):
            nums = [float(o) for o in olds]
            if all(o > 0 for o in nums) and not v > 0:
                raise OverrideError(f"--set {key}: must be positive (the profile has {_format(old)}), got {v!r}")
            if all(o >= 0 for o in nums) and not v >= 0:
                raise OverrideError(f"--set {key}: must be non-negative (the profile has {_format(old)}), got {v!r}")
            if all(math.isfinite(o) for o in nums) and not math.isfinite(v):
                raise OverrideError(f"--set {key}: must be finite (the profile has {_format(old)}), got {v!r}")
        out.append(v)
    return tuple(out) if seq else out[0]


def _regimes(module, entry: str) -> tuple:
    checks = getattr(module, "REGIMES", {}).get(entry, ())
    return tuple(checks) if isinstance(checks, (tuple, list)) else (checks,)


def resolve(items: Iterable[str] | None, profile: str = "quick") -> Overrides:
    """Parse and validate ``--set`` items against ``profile``'s configurations (see the module docstring); raises
    :class:`OverrideError` with one line naming the item before any work. Later items override earlier ones."""
    items = [i for i in (items or []) if i is not None]
    if not items:
        return Overrides()
    if profile not in ("quick", "paper"):
        raise OverrideError(f"--set: unknown profile {profile!r}")
    table = entries(profile)
    resolved: dict[str, Override] = {}
    merged: dict[str, tuple[object, dict]] = {}
    for item in items:
        target, value = parse_item(item)
        entry, module, path = _split_target(target, table)
        cfg = merged.setdefault(entry, (module, _module_config(module, entry, profile)))[1]
        node, where = cfg, entry
        for i, part in enumerate(path):
            if not isinstance(node, Mapping):
                raise OverrideError(f"--set {target}: {where} is a value ({_format(node)}), not a group of keys")
            if part not in node:
                raise OverrideError(f"--set {target}: {where} has no key {part!r}; valid keys: "
                                    f"{', '.join(f'{where}.{k}' for k in node)}")  # fmt: skip
            if i < len(path) - 1:
                node, where = node[part], f"{where}.{part}"
        value = _coerce(f"{entry}.{'.'.join(path)}", node[path[-1]], value)
        node[path[-1]] = value
        o = Override(entry, path, value)
        resolved.pop(o.key, None)
        resolved[o.key] = o
    for entry, (module, cfg) in merged.items():
        for check in _regimes(module, entry):
            try:
                check(cfg, entry)
            except ValueError as exc:
                given = ", ".join(str(o) for o in resolved.values() if o.entry == entry)
                raise OverrideError(f"--set {given}: outside the regime of {entry}: {exc}") from None
    return Overrides(list(resolved.values()))


# ---------------------------------------------------------------------------------------------------------------
# the active overrides, consulted by rcbench.experiments.common.profile_config
# ---------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def active(overrides: Overrides | None):
    """Apply ``overrides`` to every :func:`rcbench.experiments.common.profile_config` call inside the block."""
    token = _ACTIVE.set(overrides if overrides else None)
    try:
        yield overrides
    finally:
        _ACTIVE.reset(token)


def current() -> Overrides | None:
    """The overrides set by :func:`active`, or ``None``."""
    return _ACTIVE.get()


def apply_active(entry: str, cfg: dict) -> dict:
    """``cfg`` with the active overrides of ``entry`` applied (unchanged when none is active)."""
    overrides = _ACTIVE.get()
    return overrides.apply(entry, cfg) if overrides else cfg
