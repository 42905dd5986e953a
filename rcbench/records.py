"""What a claim test records: its checks (statistic, measured, expected, tolerance, pass/fail, negative control)
and the experiment DataFrames behind them. The claims harness (:mod:`rcbench.pytest_plugin`) hands one
:class:`ClaimRecorder` to each claim test through the ``record`` fixture and writes them all at the end of the run.

Typical use in a claim test::

    df = experiments.orthogonality.bn_chain(n=4, widths=(32, 512), depth=50)
    record.frame("bn_chain", df)
    r = df.groupby("seed").soft_rank.mean()
    record.check("min_d r/sqrt(d)", r.min(), expected=">= 0.6", tolerance="theorem constant ...",
                 passed=r.min() >= 0.6)
    record.check("vanilla r(H_500)", ..., passed=..., control=True)
    record.verify()          # fails the test, listing every failed check
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import pandas as pd

from rcbench.catalog import get_claim

__all__ = ["Check", "ClaimRecorder", "VERDICTS", "verdict_of"]

#: pytest outcome -> verdict in the reproducibility community's words.
VERDICTS = {
    "passed": "reproduced",
    "xfailed": "not reproduced",
    "failed": "failed",
    "xpassed": "unexpectedly reproduced",
    "skipped": "skipped",
    "error": "error",
}


def verdict_of(outcome: str) -> str:
    return VERDICTS.get(outcome, outcome)


@dataclass
class Check:
    """One comparison of a measured statistic with what the claim (or its negative control) expects."""

    claim: str
    statistic: str
    measured: object
    expected: object
    tolerance: str
    passed: bool
    control: bool = False
    note: str = ""
    #: the measured value does not depend on the master seed by construction (closed form, quadrature,
    #: deterministic recursion): exempt from the reseed audit's hidden-seed flag (:mod:`rcbench.audit`)
    deterministic: bool = False


@dataclass
class ClaimRecorder:
    """Collects the checks and frames of one claim test (one parametrisation)."""

    claim: str
    nodeid: str = ""
    params: dict = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    verified: bool = False

    def __post_init__(self):
        get_claim(self.claim)  # unknown ids fail loudly

    def check(
        self,
        statistic: str,
        measured,
        *,
        passed: bool,
        expected=None,
        tolerance: str = "",
        control: bool = False,
        note: str = "",
        deterministic: bool = False,
    ) -> bool:
        """Record one check and return ``passed``.

        ``statistic`` names what was measured; ``expected`` is the paper's number or the bound (a number or a short
        string such as ``"<= 1.10"``); ``tolerance`` states the tolerance *and its derivation* in a few words;
        ``control=True`` marks a negative control (``passed`` then means the control behaved as the removed
        mechanism predicts, for example the unnormalised net collapsed). ``deterministic=True`` declares that
        ``measured`` does not depend on the master seed by construction (a closed form, a quadrature, a
        deterministic recursion); every other check is taken to be stochastic, and ``rcbench audit --reseeds``
        flags it when its measured value is identical over all master seeds (a draw that ignores the seed).
        """
        measured = _plain(measured)
        self.checks.append(
            Check(self.claim, statistic, measured, _plain(expected), tolerance, bool(passed), control, note,
                  bool(deterministic))
        )
        return bool(passed)

    def frame(self, name: str, df: pd.DataFrame) -> pd.DataFrame:
        """Keep an experiment's tidy DataFrame for the report's figures; returns it unchanged."""
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"record.frame expects a pandas DataFrame, got {type(df).__name__}")
        self.frames[name] = df
        return df

    def verify(self) -> None:
        """Fail (``AssertionError``) listing every check that did not pass; a test must call this once at its end."""
        self.verified = True
        failed = [c for c in self.checks if not c.passed]
        if failed:
            lines = [
                f"  {'[control] ' if c.control else ''}{c.statistic}: measured {_fmt(c.measured)}, expected "
                f"{_fmt(c.expected)} ({c.tolerance})"
                for c in failed
            ]
            raise AssertionError(f"claim {self.claim}: {len(failed)} check(s) failed\n" + "\n".join(lines))

    def rows(self) -> list[dict]:
        params = json.dumps(self.params, sort_keys=True, default=str) if self.params else ""  # JSON, not a repr
        return [dict(asdict(c), nodeid=self.nodeid, params=params) for c in self.checks]


def _plain(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
