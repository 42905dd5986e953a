"""One row per claim with its verdict in the reproducibility community's words.

A claim may have several tests (parametrisations, a sibling negative-control test). Their pytest outcomes combine:

============================  ==========  =====================================================================
verdict                       mark        when
============================  ==========  =====================================================================
reproduced                    [Re]        every test passed (skipped ones aside)
partially reproduced          [~Re]       some tests passed, the others are documented non-reproductions (xfail)
not reproduced                [¬Re]       every test is a documented non-reproduction (strict xfail, with reason)
failed                        [¬Re]       a check failed that was expected to pass (a regression, or a broken
                                          substituted component)
unexpectedly reproduced       [Re?]       a documented non-reproduction passed (strict xfail turned xpass)
error                         [?]         the test could not run to a verdict (harness or component error)
skipped                       [–]         nothing ran
============================  ==========  =====================================================================

``[Re]`` / ``[¬Re]`` are ReScience's marks for a successful / unsuccessful replication.
"""

from __future__ import annotations

import math

from rcbench.catalog import CLAIMS, PAPERS

__all__ = ["MARKS", "ORDER", "GOOD", "BAD", "claim_table", "summary_counts", "aggregate", "fmt"]

#: verdict -> ReScience-style mark.
MARKS = {
    "reproduced": "[Re]",
    "partially reproduced": "[~Re]",
    "not reproduced": "[¬Re]",
    "failed": "[¬Re]",
    "unexpectedly reproduced": "[Re?]",
    "error": "[?]",
    "skipped": "[–]",
}
#: display order (worst first is not the point here: reading order of a results table).
ORDER = list(MARKS)
#: verdicts a CI gate treats as healthy / as broken.
GOOD = {"reproduced", "partially reproduced", "not reproduced", "skipped"}
BAD = {"failed", "error", "unexpectedly reproduced"}


def aggregate(outcomes: list[str], reasons: list[str] = ()) -> str:
    """Combine the pytest outcomes of one claim's tests into one verdict (table in the module docstring)."""
    reasons = list(reasons) + [""] * (len(outcomes) - len(reasons))
    outs = []
    for o, r in zip(outcomes, reasons):
        if o == "failed" and "XPASS(strict)" in (r or ""):
            o = "xpassed"
        outs.append(o)
    s = set(outs)
    if "error" in s:
        return "error"
    if "failed" in s:
        return "failed"
    if "xpassed" in s:
        return "unexpectedly reproduced"
    ran = s - {"skipped"}
    if not ran:
        return "skipped"
    if ran == {"passed"}:
        return "reproduced"
    if ran == {"xfailed"}:
        return "not reproduced"
    return "partially reproduced"


def claim_table(run: dict) -> list[dict]:
    """One dict per claim (catalogue order) from a loaded run (:func:`rcbench.results.load_run`).

    Keys: ``id, paper, statement, source, kind, verdict, mark, tests, checks, primary, controls, control_text,
    measured, expected, tolerance, runtime_s, reasons, frames``.
    """
    tests = run["run"].get("tests", []) if "run" in run else run.get("tests", [])
    by_claim: dict[str, list[dict]] = {}
    for t in tests:
        by_claim.setdefault(t["claim"], []).append(t)
    rows = []
    order = {cid: i for i, cid in enumerate(CLAIMS)}
    for cid in sorted(by_claim, key=lambda c: order.get(c, 10**6)):
        group = by_claim[cid]
        claim = CLAIMS.get(cid)
        verdict = aggregate([t["outcome"] for t in group], [t.get("reason", "") for t in group])
        checks = [c for t in group for c in t.get("checks", [])]
        main = [c for c in checks if not c.get("control")]
        controls = [c for c in checks if c.get("control")]
        primary = main[0] if main else None
        more = len(main) - 1
        if controls:
            ok = sum(bool(c["passed"]) for c in controls)
            control_text = (
                f"behaved as predicted ({ok}/{len(controls)})"
                if ok == len(controls)
                else f"did not behave as predicted ({len(controls) - ok}/{len(controls)} failed)"
            )
        else:
            control_text = "none recorded"
        reasons = []
        for t in group:
            if t.get("reason") and t["reason"] not in reasons:
                reasons.append(t["reason"])
        rows.append(
            {
                "id": cid,
                "paper": claim.paper if claim else cid[0],
                "statement": claim.statement if claim else "",
                "source": claim.source if claim else "",
                "kind": claim.kind if claim else "",
                "verdict": verdict,
                "mark": MARKS[verdict],
                "tests": group,
                "checks": checks,
                "primary": primary,
                "controls": controls,
                "control_text": control_text,
                "measured": (
                    f"{primary['statistic']}: {fmt(primary['measured'])}" + (f" (+{more} checks)" if more > 0 else "")
                    if primary
                    else ""
                ),
                "expected": fmt(primary["expected"]) if primary else "",
                "tolerance": str(primary["tolerance"]) if primary and primary["tolerance"] is not None else "",
                "runtime_s": float(sum(float(t.get("duration_s") or 0.0) for t in group)),
                "reasons": reasons,
                "frames": sorted({f for t in group for f in t.get("frames", [])}),
            }
        )
    return rows


def summary_counts(rows: list[dict]) -> dict[str, int]:
    """verdict -> number of claims, in :data:`ORDER`, zero counts left out."""
    counts = {v: 0 for v in ORDER}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return {k: v for k, v in counts.items() if v}


def paper_title(letter: str) -> str:
    return PAPERS.get(letter, f"paper {letter}")


def fmt(value, digits: int = 4) -> str:
    """Short display of a measured/expected value (numbers to 4 significant digits, lists clipped)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        body = ", ".join(fmt(v, digits) for v in value[:6])
        return "[" + body + (", …]" if len(value) > 6 else "]")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt(v, digits)}" for k, v in list(value.items())[:6]) + "}"
    return "" if value is None else str(value)
