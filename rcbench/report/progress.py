"""A pytest plugin that shows a tqdm progress bar while the claims run (``pytest -p rcbench.report.progress``).

``rcbench run`` loads it and turns pytest's own terminal output off (``-p no:terminal``); the plugin then is the
console: one bar advancing per test with the claim being run and running counts, plus one line per failure or
collection error (with the short message, which names a broken user component) so nothing is hidden.
"""

from __future__ import annotations

import sys

import pytest

__all__ = ["ProgressPlugin"]

_SYMBOL = {"passed": "ok", "failed": "FAIL", "skipped": "skip", "xfailed": "xfail", "xpassed": "XPASS", "error": "ERR", "missing": "missing"}


class ProgressPlugin:
    def __init__(self, config):
        self.config = config
        self.bar = None
        self.counts: dict[str, int] = {}
        self.claim_of: dict[str, str] = {}
        self.quiet_terminal = not config.pluginmanager.has_plugin("terminalreporter")

    # -- collection ---------------------------------------------------------------------------------------------
    def pytest_collectreport(self, report):
        if report.failed:
            self._write(f"collection error in {report.nodeid or '.'}:\n{report.longreprtext}")

    def pytest_collection_finish(self, session):
        from tqdm import tqdm

        self.bar = tqdm(total=len(session.items), unit="test", desc="claims", file=sys.stderr, dynamic_ncols=True,
                        mininterval=0.3, leave=True)  # fmt: skip

    # -- running ------------------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self.bar is not None:
            marks = list(item.iter_markers("claim"))
            cid = marks[0].args[0] if marks and marks[0].args else item.name
            self.bar.set_description(f"claims [{cid}]", refresh=False)
        marks = list(item.iter_markers("claim"))
        if marks and marks[0].args:
            self.claim_of[item.nodeid] = str(marks[0].args[0])

    def pytest_runtest_logreport(self, report):
        outcome = None
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                outcome = "xpassed" if report.passed else "xfailed"
            else:
                outcome = report.outcome
        elif report.when == "setup" and not report.passed:
            outcome = "xfailed" if hasattr(report, "wasxfail") else ("skipped" if report.skipped else "error")
        elif report.when == "teardown" and report.failed:
            outcome = "error"
        if outcome is None:
            return
        crash = getattr(report.longrepr, "reprcrash", None)
        msg = crash.message if crash is not None else str(report.longrepr)
        if outcome == "failed" and msg.startswith(("rcbench.store.MissingCells", "rcbench.sweep.MissingCells")):
            outcome = "missing"  # not judged: the results store (--results) lacks a call; listed in requests.json
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if outcome in ("failed", "error"):
            lines = msg.strip().splitlines()
            short = "\n    ".join(lines[:8]) + ("\n    ..." if len(lines) > 8 else "")
            cid = self.claim_of.get(report.nodeid)
            self._write(f"{_SYMBOL[outcome]} " + (f"claim {cid}: " if cid else "") + f"{report.nodeid}\n    {short}")
        if self.bar is not None:
            self.bar.set_postfix_str(" ".join(f"{_SYMBOL[k]} {v}" for k, v in sorted(self.counts.items())), refresh=False)

    def pytest_runtest_logfinish(self, nodeid, location):
        if self.bar is not None:
            self.bar.update(1)

    def pytest_sessionfinish(self, session, exitstatus):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _write(self, text: str):
        if not self.quiet_terminal:
            return  # pytest's terminal reporter already shows it
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not config.pluginmanager.has_plugin("rcbench-progress"):
        config.pluginmanager.register(ProgressPlugin(config), "rcbench-progress")
