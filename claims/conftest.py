"""The claims harness.

Options: ``--profile quick|paper`` (CPU sizes that run in CI, or the paper's sizes), ``--paper A,B`` and
``--claim A1,B13`` (select claims), ``--data-root DIR`` (torchvision's standard folders for the paper's data sets;
without it training claims use data that ships with scikit-learn), ``--results-dir DIR`` (where the run is
recorded; default ``results/pytest-latest``). ``--device`` and ``--seed`` come from the top-level conftest.

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
from rcbench.records import ClaimRecorder, verdict_of
from rcbench.results import CHECKS_FILE, FRAMES_DIR, RUN_FILE, write_frame, write_json

PROFILES = ("quick", "paper")
_STATE = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("rcbench claims")
    group.addoption("--profile", default="quick", choices=PROFILES, help="quick (CPU, CI) or paper (paper's sizes)")
    group.addoption("--paper", default=None, help="comma-separated paper letters to run, e.g. A,C")
    group.addoption("--claim", default=None, help="comma-separated claim ids to run, e.g. A1,B13")
    group.addoption("--data-root", default=None, help="root of torchvision data sets (download=False)")
    group.addoption("--results-dir", default="results/pytest-latest", help="where to record this run")
    for kind in KINDS:
        group.addoption(
            f"--{kind}",
            default=None,
            help=f"substitute a {kind} (PACKAGE.MODULE:NAME or a built-in name) in the claims parametric in it",
        )


def pytest_configure(config):
    config.stash[_STATE] = {"records": [], "outcomes": {}, "durations": {}, "start": time.time(), "overrides": {}}
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
    if rec.checks and not rec.verified:
        raise AssertionError(f"{request.node.nodeid} recorded checks but never called record.verify()")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cid = _claim_id(item)
    if cid is None:
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
            }
        )
        if rec:
            rows.extend(rec.rows())
            for name, df in rec.frames.items():
                write_frame(out / FRAMES_DIR / f"{claim.id}__{name}.csv", df)
    keys = ("--profile", "--device", "--seed", "--paper", "--claim", "--data-root", "--norm", "--init", "--activation")
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
