"""Progress of long commands: a tqdm bar on a terminal, a few plain lines elsewhere (CI logs, files, pipes).

:func:`progress_bar` is the one place that decides: on a terminal, the usual live bar; otherwise (``file`` is not a
TTY) the same tqdm object prints one plain line (``claims [C7]:  40% 30/74 [01:02<01:30, FAIL 1 ok 29]``) at every
10 % of the work and, between those, when a step finishes at least ``every_s`` seconds (default 30) after the last
line, plus the final line, instead of carriage-return redraws that a log shows as nothing or one garbled line.
It uses tqdm's own options: ``miniters`` (10 % steps), ``mininterval=0``, ``bar_format`` without the bar glyphs,
and a ``file`` that turns each redraw into a line.

The pytest plugin (``pytest -p rcbench.report.progress``): ``rcbench run`` loads it and turns pytest's own terminal
output off (``-p no:terminal``); the plugin then is the console: one bar advancing per test with the claim being run
and running counts, plus one line per failure or collection error (with the short message, which names a broken
user component) so nothing is hidden. ``rcbench report`` (:func:`rcbench.report.render.render_report`) shows the
figures being drawn the same way.
"""

from __future__ import annotations

import math
import sys

import pytest

__all__ = ["ProgressPlugin", "progress_bar", "is_terminal", "LINE_FORMAT"]

#: one progress line in a log: description, percentage, counts, elapsed < remaining, postfix (no bar glyphs)
LINE_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


def is_terminal(file) -> bool:
    """Whether ``file`` is an interactive terminal (a live bar can redraw itself there)."""
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class _Lines:
    """A file for tqdm in a log: each redraw (``"\\r" + status + padding``) becomes one line; the blank redraws that
    clear a bar are dropped."""

    def __init__(self, file):
        self.file = file

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.file.write(line + "\n")

    def flush(self) -> None:
        flush = getattr(self.file, "flush", None)
        if flush is not None:
            flush()


def progress_bar(total: int, *, desc: str, unit: str, file=None, leave: bool = True, terminal: bool | None = None,
                 every_s: float = 30.0, mininterval: float = 0.3):  # fmt: skip
    """A tqdm progress bar over ``total`` steps on ``file`` (default ``sys.stderr``).

    ``terminal`` (default: whether ``file`` is a TTY): ``True`` gives the live bar (``mininterval`` seconds between
    redraws, ``leave``); ``False`` gives plain lines: one at every 10 % (``miniters = ceil(total / 10)``), one when a
    step ends ``every_s`` seconds or more after the previous line, and the final one (always left)."""
    from tqdm import tqdm

    file = sys.stderr if file is None else file
    if terminal if terminal is not None else is_terminal(file):
        return tqdm(total=total, unit=unit, desc=desc, file=file, dynamic_ncols=True, mininterval=mininterval,
                    leave=leave)  # fmt: skip

    class LogLines(tqdm):
        def update(self, n=1):
            printed = super().update(n)
            now = self._time()
            if not printed and not self.disable and now - self.last_print_t >= every_s:
                self.refresh()
                self.last_print_n, self.last_print_t = self.n, now
                printed = True
            return printed

        @property
        def format_dict(self):
            d = super().format_dict
            d["prefix"] = (d.get("prefix") or "").removesuffix(": ")  # set_description appends ": " itself
            return d

        def close(self):
            if not self.disable and self.last_print_n == self.n:
                self.leave = False  # the final line is already out: close without printing it twice
            super().close()

    # miniters fixed (not dynamic) = 10 % steps; maxinterval=inf keeps tqdm's monitor thread from resetting it to 1
    return LogLines(total=total, unit=unit, desc=desc, file=_Lines(file), bar_format=LINE_FORMAT, mininterval=0,
                    maxinterval=math.inf, miniters=max(1, math.ceil(total / 10)), leave=True)  # fmt: skip


_SYMBOL = {"passed": "ok", "failed": "FAIL", "skipped": "skip", "xfailed": "xfail", "xpassed": "XPASS", "error": "ERR",
           "missing": "missing"}  # fmt: skip


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
        self.bar = progress_bar(len(session.items), desc="claims", unit="test", file=sys.stderr)

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
            counts = " ".join(f"{_SYMBOL[k]} {v}" for k, v in sorted(self.counts.items()))
            self.bar.set_postfix_str(counts, refresh=False)

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
