"""rcbench's pytest plugin: the claims harness (options, validation, selection, recording).

Installed with rcbench (entry point ``pytest11``, name ``rcbench.pytest_plugin``), so another project runs the paper
claims inside its own pytest::

    pytest --pyargs rcbench.claims --rcbench-norm mypkg.norms:MyNorm --rcbench-claim A3,B13

Every option is prefixed ``--rcbench-`` so that nothing clashes with the other project's own ``--device``,
``--seed`` or ``--profile``; the plugin does nothing to a session that collects no claim (no thread policy, no
results written, no fixture visible to the other project's tests). Disable it with ``-p no:rcbench.pytest_plugin``;
load it explicitly (with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) with ``-p rcbench.pytest_plugin``.

Options (``--rcbench-<name>``; the rcbench checkout also accepts the short ``--<name>`` spelling, added by its
top-level ``conftest.py`` through :func:`add_aliases`): ``profile quick|paper``, ``device cpu|cuda|cuda:k|auto``,
``seed N`` (the master seed, >= 0), ``paper A,C`` and ``claim A1,B13`` (selection, case-insensitive), ``data-root
DIR`` (torchvision's standard folders, never downloaded; a claim whose data set is missing there is skipped with the
expected layout), ``results-dir DIR`` (where the run is recorded; replaced atomically), ``results STORE`` (answer
the experiments' calls from a results store: :class:`rcbench.sweep.StoreSource`), ``set CLAIM.KEY=VALUE``
(:mod:`rcbench.overrides`), ``norm``/``init``/``activation`` (substitute a component, probed before any work:
:func:`rcbench.components.probe_component`). Bad values are refused before collection (``pytest.UsageError``).

Every claim test carries ``@pytest.mark.claim("<id>", components=(...))`` with an id of :mod:`rcbench.catalog` and
records what it measured through the ``record`` fixture (:class:`rcbench.records.ClaimRecorder`); the fixtures live
in the claims package's ``conftest.py``. At the end of the session the harness writes ``run.json``, ``checks.csv``
and ``frames/*.csv`` (:mod:`rcbench.results`) into a fresh directory that replaces ``results-dir``.

(PYTEST_DONT_REWRITE: nothing here relies on assertion rewriting, and the module may be imported before pytest
registers it.)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pytest

from rcbench.claim_scan import claims_dir  # the one lookup of the claims folder (torch-free)

__all__ = ["OPTIONS", "add_aliases", "claims_dir", "option", "fixture_device", "Components", "make_recorder"]

PROFILES = ("quick", "paper")
KIND_NAMES = ("norm", "init", "activation")
_STATE = pytest.StashKey[dict]()
_CALL_FAILED = pytest.StashKey[bool]()


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the master seed must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the master seed must be a non-negative integer, got {value}")
    return value


#: name -> addoption keywords; registered as ``--rcbench-<name>`` (dest ``rcbench_<name>``).
OPTIONS: dict[str, dict] = {
    "profile": dict(default="quick", choices=PROFILES, help="quick (CPU sizes, CI) or paper (the papers' sizes)"),
    "device": dict(default="cpu", help="torch device of the claims' networks: cpu (default), cuda, cuda:k or auto"),
    "seed": dict(default=0, type=_seed, help="master seed of every experiment (default 0)"),
    "paper": dict(default=None, help="comma-separated paper letters to run, e.g. A,C"),
    "claim": dict(default=None, help="comma-separated claim ids to run, e.g. A1,B13 (case-insensitive)"),
    "data-root": dict(default=None, help="root of torchvision's data set folders (never downloaded)"),
    "results-dir": dict(default="results/pytest-latest", help="where to record the run (replaced atomically)"),
    "results": dict(default=None, metavar="STORE", help="read the experiments' tables from this results store "
                                                         "(rcbench sweep --results-dir) instead of computing them"),
    "set": dict(action="append", default=[], metavar="CLAIM.KEY=VALUE",
                help="override a key of a claim's profile configuration, e.g. C7.width=128 (repeatable; nested keys "
                     "dotted, A3.chain.widths=8,16,32; values as rcbench sweep --grid)"),
    **{kind: dict(default=None, help=f"substitute your {kind} (PACKAGE.MODULE:NAME or a built-in name) in the claims "
                                     f"that declare it") for kind in KIND_NAMES},
}  # fmt: skip


def _dest(name: str) -> str:
    return "rcbench_" + name.replace("-", "_")


def option(config, name: str):
    """The value of ``--rcbench-<name>`` (whichever spelling was used)."""
    return config.getoption(_dest(name))


def pytest_addoption(parser):
    group = parser.getgroup("rcbench", "rcbench paper claims (pytest --pyargs rcbench.claims)")
    for name, kw in OPTIONS.items():
        group.addoption(f"--rcbench-{name}", dest=_dest(name), **kw)


def add_aliases(parser, names=None, *, skip_existing: bool = False) -> None:
    """The short spelling ``--<name>`` of the options (rcbench's own checkout: ``pytest claims --profile quick``).
    Same destination and default as ``--rcbench-<name>``; never added by the installed plugin. ``skip_existing``:
    leave out a spelling another plugin or conftest already registered."""
    taken = set()
    if skip_existing:
        try:
            taken = {n for g in [parser._anonymous, *parser._groups] for o in g.options for n in o.names()}
        except AttributeError:  # pytest internals moved: try every alias
            taken = set()
    group = parser.getgroup("rcbench")
    for name in names or OPTIONS:
        if f"--{name}" in taken:
            continue
        kw = dict(OPTIONS[name], help=f"same as --rcbench-{name}")
        try:
            group.addoption(f"--{name}", dest=_dest(name), **kw)
        except ValueError:  # "option names already added" within the group
            continue


def fixture_device(config):
    """The ``device`` fixture's value: the torch device of ``--rcbench-device``."""
    from rcbench.device import resolve_device

    return resolve_device(option(config, "device"))


# ---------------------------------------------------------------------------------------------------------------
def pytest_configure(config):
    config.addinivalue_line("markers", "claim(id, components=(), mutants={}): the rcbench catalogue id of the paper "
                                       "claim this test checks")  # fmt: skip
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    state = {"records": [], "outcomes": {}, "durations": {}, "start": time.time(), "overrides": {}, "store": {},
             "source": None, "set": None, "papers": set(), "ids": set(), "active": False}  # fmt: skip
    config.stash[_STATE] = state
    from rcbench import inputs

    try:
        state["papers"] = set(inputs.papers(option(config, "paper"), "--rcbench-paper"))
        state["ids"] = set(inputs.claim_ids(option(config, "claim"), "--rcbench-claim"))
        device = option(config, "device")
        if device != "cpu":
            inputs.device(device, "--rcbench-device")
        if option(config, "data-root") is not None:
            inputs.data_root(option(config, "data-root"), "--rcbench-data-root")
        specs = {k: option(config, k) for k in KIND_NAMES if option(config, k)}
        if specs:
            state["overrides"] = inputs.components(specs)
        store = option(config, "results")
        if store:
            from rcbench.experiments.common import reading_from
            from rcbench.sweep import StoreSource

            try:
                source = StoreSource(store)
            except FileNotFoundError as exc:
                raise ValueError(f"--rcbench-results: {exc}") from exc
            context = reading_from(source)
            context.__enter__()
            state.update(source=source, source_context=context)
        if option(config, "set"):
            from rcbench.overrides import active, resolve

            state["set"] = resolve(option(config, "set"), option(config, "profile"))
            state["set_context"] = active(state["set"])
            state["set_context"].__enter__()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    for key in ("source_context", "set_context"):
        if state and state.get(key) is not None:
            state.pop(key).__exit__(None, None, None)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _claim_id(item) -> str | None:
    marks = list(item.iter_markers("claim"))
    return marks[0].args[0] if marks and marks[0].args else None


def _claim_components(item) -> tuple[str, ...]:
    """The component kinds a claim test is parametric in: ``@pytest.mark.claim("A3", components=("norm",))``."""
    marks = list(item.iter_markers("claim"))
    comps = tuple(marks[0].kwargs.get("components", ())) if marks else ()
    unknown = [c for c in comps if c not in KIND_NAMES]
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: unknown component kind(s) {unknown}; one of {sorted(KIND_NAMES)}")
    return comps


def _harness_conftest(item) -> Path | None:
    """The claims harness ``conftest.py`` of a claim item's folder (it defines the claims' fixtures)."""
    path = Path(str(item.path)).parent / "conftest.py"
    return path if path.is_file() else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    state = config.stash[_STATE]
    papers, ids = state["papers"], state["ids"]
    overridden = set(state["overrides"])
    claim_items = [it for it in items if _claim_id(it) is not None]
    if not claim_items:
        return
    from rcbench.catalog import get_claim

    harness_dirs = {Path(str(it.path)).parent for it in claim_items}
    keep, drop = [], []
    for item in items:
        cid = _claim_id(item)
        if cid is None:
            if Path(str(item.path)).parent in harness_dirs:
                raise pytest.UsageError(f"{item.nodeid}: every test of the claims needs @pytest.mark.claim('<id>')")
            keep.append(item)
            continue
        get_claim(cid)
        comps = set(_claim_components(item))
        if (papers and cid[0] not in papers) or (ids and cid not in ids) or not overridden <= comps:
            drop.append(item)
        else:
            keep.append(item)
    if overridden and drop and not any(_claim_id(it) is not None for it in keep):
        takers = sorted({_claim_id(it) for it in claim_items if overridden <= set(_claim_components(it))},
                        key=lambda c: (c[0], int(c[1:]) if c[1:].isdigit() else 0))  # fmt: skip
        kinds = " and ".join(("an " if k[0] in "aeiou" else "a ") + k for k in sorted(overridden))
        raise pytest.UsageError(f"--rcbench-{'/'.join(sorted(overridden))}: no selected claim takes {kinds}; the "
                                f"claims that do: {', '.join(takers) or 'none'}")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    _isolate_fixtures(items, {_harness_conftest(it) for it in claim_items} - {None})
    if any(_claim_id(it) is not None for it in items):
        state["active"] = True
        _thread_policy()
        from rcbench import inputs

        try:
            inputs.results_dir(option(config, "results-dir"), "--rcbench-results-dir", overwrite=True)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from exc


def _thread_policy() -> None:
    # One intra-op thread unless RCBENCH_THREADS says otherwise: the suite's kernels are small (n x n Grams, n <= 100,
    # d <= 1000), and libgomp's busy-waiting threads made them 10-20x slower whenever another process shared the
    # 2-core machine (measured: paper A's claims 24 min with 2 threads vs 57 s with 1 under load).
    import torch

    from rcbench.device import disable_tf32

    torch.set_num_threads(int(os.environ.get("RCBENCH_THREADS", "1")))
    disable_tf32()


def _isolate_fixtures(items, harness_files: set[Path]) -> None:
    """Keep the claims' fixtures (``device``, ``seed``, ``record``, ...) to the claims.

    A ``conftest.py`` outside pytest's rootdir (the installed claims run with ``--pyargs`` from another project)
    gets global visibility in pytest, so its ``device`` fixture would shadow the other project's own: remove the
    harness's fixtures from every non-claim test, and make them the active definition for the claims."""
    files = {str(p.resolve()) for p in harness_files}

    def ours(fd) -> bool:
        try:
            import inspect

            return fd.baseid == "" and str(Path(inspect.getsourcefile(fd.func)).resolve()) in files
        except (TypeError, OSError):
            return False

    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        is_claim, changed = _claim_id(item) is not None, False
        for name, defs in list(info.name2fixturedefs.items()):
            mine = [d for d in defs if ours(d)]
            if not mine:
                continue
            others = [d for d in defs if d not in mine]
            new = others + mine if is_claim else others
            if new == list(defs):
                continue
            changed = True
            if new:
                info.name2fixturedefs[name] = type(defs)(new) if isinstance(defs, (list, tuple)) else new
            else:
                del info.name2fixturedefs[name]
        if changed and hasattr(item, "_initrequest"):
            item._initrequest()  # the item's request holds a copy of name2fixturedefs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With ``--rcbench-results``: which calls of this test the store answered, and which were computed or missing."""
    state = item.config.stash[_STATE]
    source = state["source"]
    start = len(source.log) if source is not None else 0
    yield
    if source is not None and _claim_id(item) is not None:
        calls = source.log[start:]
        state["store"][item.nodeid] = {
            "read": sum(s == "read" for _, _, s in calls),
            "missing": sum(s == "missing" for _, _, s in calls),
            "failed": sum(s == "failed" for _, _, s in calls),
            "computed": [f"{name}: {s[len('computed: '):]}" for name, _, s in calls if s.startswith("computed")],
        }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A data set missing under ``--data-root`` skips the claim (with the expected layout): never a failure."""
    if _claim_id(item) is None:
        return (yield)
    from rcbench.data import DataSetMissing

    try:
        return (yield)
    except DataSetMissing as exc:
        pytest.skip(f"data set missing: {exc}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cid = _claim_id(item)
    if cid is None:
        return
    state = item.config.stash[_STATE]
    if report.when == "call":  # a test that raised never reached record.verify(); that is not a second error
        item.stash[_CALL_FAILED] = call.excinfo is not None
    from rcbench.sweep import MissingCells

    if call.excinfo is not None and call.excinfo.errisinstance(MissingCells):
        # not judged: neither a failed claim nor (under an xfail mark) an expected failure
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        report.outcome = "failed"
        state["durations"][item.nodeid] = state["durations"].get(item.nodeid, 0.0) + report.duration
        state["outcomes"][item.nodeid] = {"claim": cid, "outcome": "error",
                                          "reason": f"not in the results store: {call.excinfo.value}"}  # fmt: skip
        return
    state["durations"][item.nodeid] = state["durations"].get(item.nodeid, 0.0) + report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if hasattr(report, "wasxfail"):
            result = "xpassed" if report.outcome == "passed" else "xfailed"
        else:
            result = report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
        reason = getattr(report, "wasxfail", "") or (_short(report.longrepr) if report.failed else "")
        if result == "skipped" and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        state["outcomes"][item.nodeid] = {"claim": cid, "outcome": result, "reason": reason}
    elif report.when == "teardown" and report.failed:
        state["outcomes"].setdefault(item.nodeid, {"claim": cid, "outcome": "error", "reason": ""})
        state["outcomes"][item.nodeid].update(outcome="error", reason=_short(report.longrepr))


def _short(longrepr) -> str:
    text = getattr(longrepr, "reprcrash", None)
    text = text.message if text is not None else str(longrepr)
    return text[:2000]


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    state = config.stash.get(_STATE, None)
    if not state or not state["outcomes"]:
        return
    import pandas as pd

    from rcbench.catalog import get_claim
    from rcbench.device import environment
    from rcbench.results import CHECKS_FILE, FRAMES_DIR, RUN_FILE, replacing_dir, write_frame, write_json
    from rcbench.sweep import REQUESTS_FILE

    final = Path(option(config, "results-dir"))
    records = {r.nodeid: r for r in state["records"]}
    source = state["source"]
    with replacing_dir(final, keep=("rounds",)) as out:
        tests, rows = [], []
        for nodeid, res in state["outcomes"].items():
            rec = records.get(nodeid)
            claim = get_claim(res["claim"])
            tests.append(
                {
                    "nodeid": nodeid,
                    "claim": claim.id,
                    "paper": claim.paper,
                    "params": rec.params if rec else {},
                    "outcome": res["outcome"],
                    "verdict": _verdict_of(res["outcome"]),
                    "reason": res["reason"],
                    "duration_s": round(state["durations"].get(nodeid, 0.0), 3),
                    "checks": [r for r in rec.rows()] if rec else [],
                    "frames": sorted(rec.frames) if rec else [],
                    **({"store": state["store"][nodeid]} if nodeid in state["store"] else {}),
                }
            )
            if rec:
                rows.extend(rec.rows())  # params as JSON (ClaimRecorder.rows)
                for name, df in rec.frames.items():
                    write_frame(out / FRAMES_DIR / f"{claim.id}__{name}.csv", df)
        names = ("profile", "device", "seed", "paper", "claim", "data-root", "results", *KIND_NAMES)
        run = {
            "environment": environment(option(config, "device")),
            "options": {**{n: option(config, n) for n in names},
                        "set": state["set"].as_strings() if state.get("set") else [],
                        # the profile entries whose overrides a claim actually read (rcbench audit --scales)
                        "set_read": sorted(state["set"].read) if state.get("set") else []},  # fmt: skip
            "started": state["start"],
            "wall_time_s": round(time.time() - state["start"], 2),
            "tests": tests,
        }
        write_frame(out / CHECKS_FILE, pd.DataFrame(rows))
        write_json(out / RUN_FILE, run)
        if source is not None and source.requests:
            write_json(out / REQUESTS_FILE, {"store": str(source.path), "requests": list(source.requests.values())})
    if source is not None and source.requests:
        import sys

        print(f"\nrcbench: {len(source.requests)} experiment call(s) are not in the results store {source.path}; "
              f"compute them with\n  rcbench sweep --requests {final / REQUESTS_FILE} --results-dir {source.path}\n"
              "and rerun.", file=sys.stderr)  # fmt: skip


def _verdict_of(outcome: str) -> str:
    from rcbench.records import verdict_of

    return verdict_of(outcome)


# ---------------------------------------------------------------------------------------------------------------
# what the claims' fixtures (claims/conftest.py) hand out
class Components:
    """The components a claim uses: the user's substitute (``--rcbench-norm``, ``-init``, ``-activation``) when one
    was given and the claim declared it, else the claim's own default. ``components.norm("bn")`` and so on."""

    def __init__(self, overrides: dict, declared: tuple[str, ...], claim: str):
        self._overrides, self._declared, self._claim = overrides, declared, claim

    def _get(self, kind: str, default):
        if kind in self._overrides:
            if kind not in self._declared:
                raise pytest.UsageError(f"claim {self._claim} uses components.{kind} but does not declare it")
            return self._overrides[kind][1]
        return default

    def norm(self, default):
        return self._get("norm", default)

    def init(self, default):
        return self._get("init", default)

    def activation(self, default):
        return self._get("activation", default)

    @property
    def substituted(self) -> dict[str, str]:
        """kind -> the user's spec, for the kinds substituted in this claim."""
        return {k: spec for k, (spec, _) in self._overrides.items() if k in self._declared}


def components_for(request) -> Components:
    cid = _claim_id(request.node)
    return Components(request.config.stash[_STATE]["overrides"], _claim_components(request.node), cid or "?")


def make_recorder(request):
    """The recorder of a claim test (a generator for the ``record`` fixture): checks ``record.verify()`` ran."""
    from rcbench.records import ClaimRecorder

    cid = _claim_id(request.node)
    if cid is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses `record` without @pytest.mark.claim")
    params = dict(request.node.callspec.params) if hasattr(request.node, "callspec") else {}
    rec = ClaimRecorder(cid, request.node.nodeid, {k: str(v) for k, v in params.items()})
    request.config.stash[_STATE]["records"].append(rec)
    yield rec
    if rec.checks and not rec.verified and not request.node.stash.get(_CALL_FAILED, False):
        raise AssertionError(f"{request.node.nodeid} recorded checks but never called record.verify()")
