"""The claims harness.

Options: ``--profile quick|paper`` (CPU sizes that run in CI, or the paper's sizes), ``--paper A,B`` and
``--claim A1,B13`` (select claims), ``--data-root DIR`` (torchvision's standard folders for the paper's data sets;
without it training claims use data that ships with scikit-learn), ``--results-dir DIR`` (where the run is
recorded; default ``results/pytest-latest``), ``--results STORE`` (answer the experiments' calls from a results
store that ``rcbench sweep`` filled, for example on a cluster, instead of computing them: see below). ``--device``
and ``--seed`` come from the top-level conftest.

With ``--results STORE`` every call of a :func:`rcbench.experiments.common.storable` experiment function is looked
up in ``STORE`` by its full configuration (:class:`rcbench.sweep.StoreSource`): a stored call returns its frame,
bit-identical to computing it, so the same tests judge the same numbers; a call the store lacks errors the test
(verdict ``error``, never ``failed`` or ``xfailed``) and is listed in ``<results-dir>/requests.json``, which
``rcbench sweep --requests <results-dir>/requests.json --results-dir STORE [--executor dask://...]`` computes.
``rcbench run --results STORE --executor ...`` does the rounds of both. Calls with arguments that are not JSON data
(a user's component class) are computed locally; ``run.json`` lists per test what was read and what computed.

Every claim test carries ``@pytest.mark.claim("<id>")`` with an id of :mod:`rcbench.catalog` and records what it
measured through the ``record`` fixture (:class:`rcbench.records.ClaimRecorder`). At the end of the session the
harness writes ``run.json``, ``checks.csv`` and ``frames/*.csv`` atomically (:mod:`rcbench.results`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rcbench.catalog import CLAIMS, get_claim
from rcbench.components import KINDS, load_component
from rcbench.device import environment
from rcbench.experiments.common import reading_from
from rcbench.records import ClaimRecorder, verdict_of
from rcbench.results import CHECKS_FILE, FRAMES_DIR, RUN_FILE, write_frame, write_json
from rcbench.sweep import REQUESTS_FILE, MissingCells, StoreSource

PROFILES = ("quick", "paper")
_STATE = pytest.StashKey[dict]()
_CALL_FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser):
    group = parser.getgroup("rcbench claims")
    group.addoption("--profile", default="quick", choices=PROFILES, help="quick (CPU, CI) or paper (paper's sizes)")
    group.addoption("--paper", default=None, help="comma-separated paper letters to run, e.g. A,C")
    group.addoption("--claim", default=None, help="comma-separated claim ids to run, e.g. A1,B13")
    group.addoption("--data-root", default=None, help="root of torchvision data sets (download=False)")
    group.addoption("--results-dir", default="results/pytest-latest", help="where to record this run")
    group.addoption("--results", default=None, metavar="STORE",
                    help="read the experiments' tables from this results store (rcbench sweep --results-dir) "
                         "instead of computing them")  # fmt: skip
    for kind in KINDS:
        group.addoption(
            f"--{kind}",
            default=None,
            help=f"substitute a {kind} (PACKAGE.MODULE:NAME or a built-in name) in the claims parametric in it",
        )


def pytest_configure(config):
    config.stash[_STATE] = {"records": [], "outcomes": {}, "durations": {}, "start": time.time(), "overrides": {},
                            "store": {}, "source": None}  # fmt: skip
    store = config.getoption("--results", None)
    if store:
        try:
            source = StoreSource(store)
        except FileNotFoundError as exc:
            raise pytest.UsageError(f"--results: {exc}") from exc
        context = reading_from(source)
        context.__enter__()
        config.stash[_STATE].update(source=source, source_context=context)
    for kind in KINDS:
        spec = config.getoption(f"--{kind}", None)
        if spec:
            try:
                config.stash[_STATE]["overrides"][kind] = (spec, load_component(spec, kind))
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from exc
    for opt, valid in (("--paper", set("ABCD")), ("--claim", set(CLAIMS))):
        value = config.getoption(opt)
        if value:
            bad = [v for v in _split(value) if v not in valid]
            if bad:
                raise pytest.UsageError(f"{opt}: unknown value(s) {bad}; valid: {sorted(valid)}")


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    if state and state.get("source_context") is not None:
        state.pop("source_context").__exit__(None, None, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With ``--results``: which calls of this test the store answered, and which were computed or missing."""
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


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _claim_id(item) -> str | None:
    marks = list(item.iter_markers("claim"))
    return marks[0].args[0] if marks and marks[0].args else None


def _claim_components(item) -> tuple[str, ...]:
    """The component kinds a claim test is parametric in: ``@pytest.mark.claim("A3", components=("norm",))``."""
    marks = list(item.iter_markers("claim"))
    comps = tuple(marks[0].kwargs.get("components", ())) if marks else ()
    unknown = [c for c in comps if c not in KINDS]
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: unknown component kind(s) {unknown}; one of {sorted(KINDS)}")
    return comps


def pytest_collection_modifyitems(config, items):
    papers, ids = set(_split(config.getoption("--paper"))), set(_split(config.getoption("--claim")))
    overridden = set(config.stash[_STATE]["overrides"])
    keep, drop = [], []
    claims_dir = Path(__file__).parent
    for item in items:
        if claims_dir not in Path(str(item.fspath)).parents:
            keep.append(item)
            continue
        cid = _claim_id(item)
        if cid is None:
            raise pytest.UsageError(f"{item.nodeid}: every test in claims/ needs @pytest.mark.claim('<id>')")
        get_claim(cid)
        comps = set(_claim_components(item))
        if (papers and cid[0] not in papers) or (ids and cid not in ids) or not overridden <= comps:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def profile(pytestconfig) -> str:
    """``"quick"`` or ``"paper"``: which sizes the experiments use."""
    return pytestconfig.getoption("--profile")


@pytest.fixture(scope="session")
def data_root(pytestconfig) -> Path | None:
    """Root of torchvision's data sets, or ``None`` (then training claims use data shipped with scikit-learn)."""
    root = pytestconfig.getoption("--data-root")
    if root is not None and not Path(root).is_dir():
        raise pytest.UsageError(f"--data-root {root!r} is not a directory")
    return Path(root) if root else None


class Components:
    """The components a claim uses: the user's substitute (``--norm``, ``--init``, ``--activation``) when one was
    given and the claim declared it, else the claim's own default. ``components.norm("bn")`` and so on."""

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


@pytest.fixture
def components(request) -> Components:
    """Norm, init and activation for this claim, honouring ``--norm``/``--init``/``--activation``."""
    cid = _claim_id(request.node)
    return Components(request.config.stash[_STATE]["overrides"], _claim_components(request.node), cid or "?")


@pytest.fixture
def record(request) -> ClaimRecorder:
    """The recorder of this claim test; call ``record.verify()`` at the end of the test."""
    cid = _claim_id(request.node)
    if cid is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses `record` without @pytest.mark.claim")
    params = dict(request.node.callspec.params) if hasattr(request.node, "callspec") else {}
    rec = ClaimRecorder(cid, request.node.nodeid, {k: str(v) for k, v in params.items()})
    request.config.stash[_STATE]["records"].append(rec)
    yield rec
    if rec.checks and not rec.verified and not request.node.stash.get(_CALL_FAILED, False):
        raise AssertionError(f"{request.node.nodeid} recorded checks but never called record.verify()")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cid = _claim_id(item)
    if cid is None:
        return
    if report.when == "call":  # a test that raised never reached record.verify(); that is not a second error
        item.stash[_CALL_FAILED] = call.excinfo is not None
    if call.excinfo is not None and call.excinfo.errisinstance(MissingCells):
        # not judged: neither a failed claim nor (under an xfail mark) an expected failure
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        report.outcome = "failed"
        state = item.config.stash[_STATE]
        state["durations"][item.nodeid] = state["durations"].get(item.nodeid, 0.0) + report.duration
        state["outcomes"][item.nodeid] = {"claim": cid, "outcome": "error",
                                          "reason": f"not in the results store: {call.excinfo.value}"}  # fmt: skip
        return
    state = item.config.stash[_STATE]
    state["durations"][item.nodeid] = state["durations"].get(item.nodeid, 0.0) + report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if hasattr(report, "wasxfail"):
            result = "xpassed" if report.outcome == "passed" else "xfailed"
        else:
            result = report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
        state["outcomes"][item.nodeid] = {
            "claim": cid,
            "outcome": result,
            "reason": getattr(report, "wasxfail", "") or (_short(report.longrepr) if report.failed else ""),
        }
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
    out = Path(config.getoption("--results-dir"))
    records = {r.nodeid: r for r in state["records"]}
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
                "verdict": verdict_of(res["outcome"]),
                "reason": res["reason"],
                "duration_s": round(state["durations"].get(nodeid, 0.0), 3),
                "checks": [r for r in rec.rows()] if rec else [],
                "frames": sorted(rec.frames) if rec else [],
                **({"store": state["store"][nodeid]} if nodeid in state["store"] else {}),
            }
        )
        if rec:
            rows.extend(rec.rows())
            for name, df in rec.frames.items():
                write_frame(out / FRAMES_DIR / f"{claim.id}__{name}.csv", df)
    keys = ("--profile", "--device", "--seed", "--paper", "--claim", "--data-root", "--results", "--norm", "--init",
            "--activation")  # fmt: skip
    opts = {k: config.getoption(k) for k in keys}
    run = {
        "environment": environment(config.getoption("--device")),
        "options": {k.lstrip("-"): v for k, v in opts.items()},
        "started": state["start"],
        "wall_time_s": round(time.time() - state["start"], 2),
        "tests": tests,
    }
    import pandas as pd

    write_frame(out / CHECKS_FILE, pd.DataFrame(rows))
    write_json(out / RUN_FILE, run)
    source = state["source"]
    requests = out / REQUESTS_FILE
    if source is not None and source.requests:
        write_json(requests, {"store": str(source.path), "requests": list(source.requests.values())})
        import sys

        print(f"\nrcbench: {len(source.requests)} experiment call(s) are not in the results store {source.path}; "
              f"compute them with\n  rcbench sweep --requests {requests} --results-dir {source.path}\nand rerun.",
              file=sys.stderr)  # fmt: skip
    else:
        requests.unlink(missing_ok=True)
