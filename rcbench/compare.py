"""``rcbench compare A B``: what changed between two stored runs, and the regression gate for CI.

Both runs are read from their JSON/CSV files (``run.json``, ``checks.csv``; never pickle). Tests are matched by
node id; checks by ``(nodeid, statistic)`` (the k-th occurrence with the k-th when a test records a statistic
twice). A node id's path prefix depends on how the run was made (``claims/test_c_gradients.py::test_c7`` from
``rcbench run`` or the checkout, ``test_c_gradients.py::test_c7`` from ``pytest --pyargs rcbench.claims`` in another
project): a test of B whose node id is not in A is matched by its claim id and its file name + test name + params
(the node id without the directories, :func:`node_key`) when exactly one unmatched test of A has that key.

**Regressed** (exit status 1), any of:

* a claim's verdict got worse. Verdicts are ranked reproduced > partially reproduced > unexpectedly reproduced >
  not reproduced > failed = error; *skipped* and claims missing from one run are not ranked (listed, not gated,
  unless ``--fail-on-missing``);
* a test that passed (or xfailed) in A fails or errors in B;
* **a statistic left its band**: a check (including a negative control) that passed in A fails in B. The band of a
  check is its acceptance region: the paper's number or bound widened by the tolerance the claim derived, evaluated
  by the claim itself at run time (the ``passed`` column). Leaving it is a fact the claim decided, so ``compare``
  needs no second, looser reading of the tolerance text.

**Moved by more than its tolerance** (listed, not gated): both runs inside the band, but the measured value changed
by more than the band's half-width, when the band can be read as two numbers (``expected`` ``"[lo, hi]"``,
``"x ± t"``, or a number with a numeric ``tolerance``). Where no two-sided band can be read, a relative change above
``--rtol`` (default 0.5) is listed instead. Vector-valued statistics are compared elementwise (largest change).

Exit status: 0 no regression, 1 regression, 2 a run directory is unreadable.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rcbench.report.verdicts import MARKS, aggregate
from rcbench.results import RunFileError, load_run

__all__ = ["compare_runs", "Comparison", "parse_band", "node_key", "match_tests", "VERDICT_RANK", "add_arguments",
           "main"]  # fmt: skip

VERDICT_RANK = {
    "reproduced": 4,
    "partially reproduced": 3,
    "unexpectedly reproduced": 2.5,
    "not reproduced": 2,
    "failed": 0,
    "error": 0,
}
_OK_TEST = {"passed", "xfailed"}
_BAD_TEST = {"failed", "error"}
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass
class Comparison:
    a: str
    b: str
    claims: list[dict] = field(default_factory=list)  # id, verdict_a, verdict_b, change
    left_band: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)
    tests_regressed: list[dict] = field(default_factory=list)
    env_changes: list[tuple[str, object, object]] = field(default_factory=list)
    fail_on_missing: bool = False

    @property
    def regressed_claims(self) -> list[str]:
        ids = {c["id"] for c in self.claims if c["change"] == "regressed"}
        ids |= {d["claim"] for d in self.left_band} | {t["claim"] for t in self.tests_regressed}
        if self.fail_on_missing:
            ids |= {c["id"] for c in self.claims if c["change"] == "missing in B"}
        return sorted(ids)

    @property
    def regressed(self) -> bool:
        return bool(self.regressed_claims)

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "regressed": self.regressed, "regressed_claims": self.regressed_claims,
                "claims": self.claims, "left_band": self.left_band, "moved": self.moved,
                "tests_regressed": self.tests_regressed,
                "env_changes": [list(x) for x in self.env_changes]}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
def _read(run_dir: Path) -> tuple[dict, pd.DataFrame]:
    loaded = load_run(run_dir, checks_as_text=True, frames=False)
    return loaded["run"], loaded["checks"]


def _value(text):
    """A measured value from checks.csv: float, list of floats, or None when not numeric."""
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip()
    if s in ("", "None", "True", "False"):
        return None
    try:
        return float(s)
    except ValueError:
        pass
    if s.startswith("["):
        try:
            v = json.loads(s.replace("'", '"').replace("nan", "NaN").replace("inf", "Infinity"))
            flat = _flatten(v)
            return flat if flat and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat) else None
        except (ValueError, TypeError):
            return None
    return None


def _flatten(v):
    if isinstance(v, list):
        return [float(y) for x in v for y in _flatten(x)] if all(not isinstance(x, str) for x in v) else []
    return [v]


def _passed(text) -> bool:
    return str(text).strip().lower() in ("true", "1", "yes")


def parse_band(expected, tolerance="") -> tuple[float, float] | None:
    """The acceptance band ``(lo, hi)`` of a check when its text gives one, else ``None``.

    Understands ``"[lo, hi]"`` / ``"(lo, hi)"``, ``"x ± t"`` / ``"x +- t"``, ``">= a"`` / ``"<= b"`` (one-sided, an
    infinite end) and a plain number with a tolerance ``"t"``, ``"± t"`` or ``"p%"`` (relative)."""
    e = re.sub(r"\s*\([^()]*\)\s*$", "", str(expected if expected is not None else "").strip())  # "(paper ...)"
    t = str(tolerance if tolerance is not None else "").strip()
    m = re.fullmatch(rf"\|\.\|\s*(<=|<|≤)\s*({_NUM})", e)
    if m:
        return (-float(m.group(2)), float(m.group(2)))
    m = re.fullmatch(rf"[\[(]\s*({_NUM})\s*,\s*({_NUM})\s*[\])]", e)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return (min(lo, hi), max(lo, hi))
    m = re.fullmatch(rf"({_NUM})\s*(?:±|\+-|\+/-)\s*({_NUM})\s*(%?)", e)
    if m:
        x, r = float(m.group(1)), float(m.group(2))
        r = abs(x) * r / 100 if m.group(3) else r
        return (x - r, x + r)
    m = re.fullmatch(rf"(>=|>|≥|<=|<|≤)\s*({_NUM})", e)
    if m:
        b = float(m.group(2))
        return (b, math.inf) if m.group(1) in (">=", ">", "≥") else (-math.inf, b)
    if re.fullmatch(_NUM, e):
        x = float(e)
        m = re.fullmatch(rf"(?:±|\+-|\+/-)?\s*({_NUM})\s*(%?)", t)
        if m:
            r = float(m.group(1))
            r = abs(x) * r / 100 if m.group(2) else r
            return (x - r, x + r)
    return None


def _claim_verdicts(run: dict) -> dict[str, str]:
    groups: dict[str, list[dict]] = {}
    for t in run.get("tests", []):
        groups.setdefault(t["claim"], []).append(t)
    return {cid: aggregate([t["outcome"] for t in g], [t.get("reason", "") for t in g]) for cid, g in groups.items()}


def _env_changes(ra: dict, rb: dict) -> list[tuple[str, object, object]]:
    out = []
    for section in ("environment", "options"):
        a, b = ra.get(section, {}), rb.get(section, {})
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                out.append((f"{section}.{k}", a.get(k), b.get(k)))
    return out


def node_key(nodeid: str) -> str:
    """A node id without its directories: ``claims/test_c_gradients.py::test_c7[64]`` ->
    ``test_c_gradients.py::test_c7[64]`` (the same claim test however pytest was pointed at the claims)."""
    path, sep, rest = str(nodeid).partition("::")
    return re.split(r"[\\/]", path)[-1] + sep + rest


def match_tests(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> dict[str, str]:
    """``B node id -> A node id`` for ``(claim, nodeid)`` pairs of two runs: the same node id where A has it, else
    the one unmatched test of A with the same claim and :func:`node_key` (none where that is ambiguous)."""
    a_ids = {n for _, n in a}
    out = {n: n for _, n in b if n in a_ids}
    left_a: dict[tuple[str, str], list[str]] = {}
    for claim, n in a:
        if n not in out:  # matched ids are the same on both sides
            left_a.setdefault((claim, node_key(n)), []).append(n)
    left_b: dict[tuple[str, str], list[str]] = {}
    for claim, n in b:
        if n not in out:
            left_b.setdefault((claim, node_key(n)), []).append(n)
    for key, ns in left_b.items():
        if len(ns) == 1 and len(left_a.get(key, [])) == 1:
            out[ns[0]] = left_a[key][0]
    return out


def compare_runs(a_dir, b_dir, *, rtol: float = 0.5, fail_on_missing: bool = False) -> Comparison:
    """Compare run ``b_dir`` against the reference run ``a_dir`` (module docstring for the rules)."""
    ra, ca = _read(Path(a_dir))
    rb, cb = _read(Path(b_dir))
    cmp = Comparison(str(a_dir), str(b_dir), env_changes=_env_changes(ra, rb), fail_on_missing=fail_on_missing)

    va, vb = _claim_verdicts(ra), _claim_verdicts(rb)
    for cid in sorted(set(va) | set(vb), key=_claim_key):
        a, b = va.get(cid), vb.get(cid)
        if a is None:
            change = "new in B"
        elif b is None:
            change = "missing in B"
        elif a == b:
            change = "unchanged"
        elif a in VERDICT_RANK and b in VERDICT_RANK:
            change = "regressed" if VERDICT_RANK[b] < VERDICT_RANK[a] else "improved"
        else:
            change = "changed"
        cmp.claims.append({"id": cid, "verdict_a": a, "verdict_b": b, "change": change})

    ta = {t["nodeid"]: t for t in ra.get("tests", [])}
    same = match_tests([(t["claim"], t["nodeid"]) for t in ra.get("tests", [])],
                       [(t["claim"], t["nodeid"]) for t in rb.get("tests", [])])  # fmt: skip
    for t in rb.get("tests", []):
        old = ta.get(same.get(t["nodeid"], ""))
        if old and old["outcome"] in _OK_TEST and t["outcome"] in _BAD_TEST:
            cmp.tests_regressed.append({"claim": t["claim"], "nodeid": t["nodeid"], "outcome_a": old["outcome"],
                                        "outcome_b": t["outcome"], "reason": t.get("reason", "")})  # fmt: skip

    if not ca.empty and not cb.empty:
        key = ["_test", "statistic", "k"]
        ca, cb = ca.copy(), cb.copy()
        ca["_test"] = ca["nodeid"]
        cb["_test"] = cb["nodeid"].map(lambda n: same.get(n, n))  # B's tests under A's node ids
        for c in (ca, cb):
            c["k"] = c.groupby(["_test", "statistic"]).cumcount()
        merged = ca.merge(cb, on=key, suffixes=("_a", "_b"))
        for _, r in merged.iterrows():
            pa, pb = _passed(r["passed_a"]), _passed(r["passed_b"])
            xa, xb = _value(r["measured_a"]), _value(r["measured_b"])
            item = {"claim": r["claim_b"], "nodeid": r["nodeid_b"], "statistic": r["statistic"],
                    "control": _passed(r.get("control_b", "False")), "measured_a": r["measured_a"],
                    "measured_b": r["measured_b"], "expected": r["expected_b"], "tolerance": r["tolerance_b"]}  # fmt: skip
            if pa and not pb:
                cmp.left_band.append(item)
                continue
            delta = _delta(xa, xb)
            if delta is None or not (pa and pb):
                continue
            band = parse_band(r["expected_b"], r["tolerance_b"])
            if band is not None and all(math.isfinite(v) for v in band):
                half = (band[1] - band[0]) / 2
                if delta > half:
                    cmp.moved.append({**item, "delta": delta, "limit": half, "rule": "more than the band half-width"})
            elif band is None or not all(math.isfinite(v) for v in band):
                scale = max(_absmax(xa), _absmax(xb), 1e-12)
                if delta / scale > rtol:
                    cmp.moved.append({**item, "delta": delta, "limit": rtol * scale,
                                      "rule": f"relative change > {rtol:g} (no two-sided band)"})  # fmt: skip
    return cmp


def _delta(xa, xb) -> float | None:
    if xa is None or xb is None:
        return None
    a = xa if isinstance(xa, list) else [xa]
    b = xb if isinstance(xb, list) else [xb]
    if len(a) != len(b):
        return None
    ds = []
    for u, v in zip(a, b):
        if math.isinf(u) and math.isinf(v) and (u > 0) == (v > 0):
            ds.append(0.0)
        elif math.isfinite(u) and math.isfinite(v):
            ds.append(abs(v - u))
        else:
            ds.append(math.inf)
    return max(ds) if ds else None


def _absmax(x) -> float:
    vals = x if isinstance(x, list) else [x]
    finite = [abs(v) for v in vals if math.isfinite(v)]
    return max(finite) if finite else 0.0


def _claim_key(cid: str):
    m = re.fullmatch(r"([A-Z]+)(\d+)", cid)
    return (m.group(1), int(m.group(2))) if m else (cid, 0)


# ---------------------------------------------------------------------------------------------------------------
def format_comparison(cmp: Comparison, *, show_unchanged: bool = False) -> str:
    lines = [f"rcbench compare  A = {cmp.a}  ->  B = {cmp.b}"]
    important = {"profile", "device", "seed", "torch", "rcbench", "git_commit", "dtype", "norm", "init", "activation"}
    env = [c for c in cmp.env_changes if c[0].split(".", 1)[1] in important]
    for k, a, b in env:
        lines.append(f"  note: {k} differs: {a} -> {b}")
    lines.append("")
    rows = [c for c in cmp.claims if show_unchanged or c["change"] != "unchanged"]
    flagged = set(cmp.regressed_claims)
    if rows:
        lines.append(f"{'claim':6} {'A':28} {'B':28} change")
        for c in rows:
            va = f"{MARKS.get(c['verdict_a'], '')} {c['verdict_a']}" if c["verdict_a"] else "-"
            vb = f"{MARKS.get(c['verdict_b'], '')} {c['verdict_b']}" if c["verdict_b"] else "-"
            change = c["change"].upper() if c["change"] == "regressed" else c["change"]
            if c["id"] in flagged and c["change"] != "regressed":
                change += " (statistic regressed)"
            lines.append(f"{c['id']:6} {va:28} {vb:28} {change}")
    else:
        lines.append("no claim changed its verdict")
    for t in cmp.tests_regressed:
        lines.append(f"  test {t['nodeid']}: {t['outcome_a']} -> {t['outcome_b']}  {t['reason'][:120]}")
    if cmp.left_band:
        lines += ["", "statistics that left their band (check passed in A, fails in B):"]
        for d in cmp.left_band:
            ctl = "[control] " if d["control"] else ""
            lines.append(f"  {d['claim']:5} {ctl}{d['statistic']}: {d['measured_a']} -> {d['measured_b']}  "
                         f"(expected {d['expected']}; {d['tolerance']})  [{d['nodeid'].split('::', 1)[-1]}]")  # fmt: skip
    if cmp.moved:
        lines += ["", "statistics that moved by more than their tolerance but stayed inside their band (not gated):"]
        for d in cmp.moved:
            lines.append(f"  {d['claim']:5} {d['statistic']}: {d['measured_a']} -> {d['measured_b']}  "
                         f"(|change| {d['delta']:.3g} > {d['limit']:.3g}: {d['rule']})")  # fmt: skip
    n = len(cmp.claims)
    counts = {k: sum(c["change"] == k for c in cmp.claims) for k in ("unchanged", "improved", "new in B", "missing in B")}
    lines += ["", f"{n} claims: {len(flagged)} regressed, " + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
              + (f"; REGRESSION in {', '.join(sorted(flagged, key=_claim_key))}" if flagged else "; no regression")]  # fmt: skip
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help="reference run directory (e.g. the last green run)")
    p.add_argument("b", help="run directory to check")
    p.add_argument("--rtol", type=float, default=0.5, help="relative change listed as moved where no band can be read")
    p.add_argument("--fail-on-missing", action="store_true", help="a claim of A missing in B counts as regressed")
    p.add_argument("--all", action="store_true", help="also list unchanged claims")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    if not isinstance(args, argparse.Namespace):
        p = argparse.ArgumentParser(prog="rcbench compare", description=__doc__.split("\n\n")[0])
        add_arguments(p)
        args = p.parse_args(args)
    try:
        cmp = compare_runs(args.a, args.b, rtol=args.rtol, fail_on_missing=args.fail_on_missing)
    except (FileNotFoundError, RunFileError, NotADirectoryError) as exc:  # names the file and the problem
        print(f"rcbench compare: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(cmp.to_dict(), indent=2, default=str))
    else:
        print(format_comparison(cmp, show_unchanged=args.all))
    return 1 if cmp.regressed else 0


if __name__ == "__main__":
    sys.exit(main())
