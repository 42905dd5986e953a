"""Check the cost model of ``rcbench plan`` against measured runs; prints and writes the model's error.

    python benchmarks/validate_cost.py [STORE ...] [--quick RUN_DIR] [--published DIR]

* **Store cells** (``STORE/cells/*.json``, e.g. the paper-profile store ``/work/paper-store``): every computed call
  records ``elapsed_s`` (its compute time on one thread); the same call's operation counts come from the
  :mod:`rcbench.cost` functions the plan uses, timed with the fitted constants. Experiments whose cost the model
  counts relative to the quick profile (Monte-Carlo tables) are listed but not scored.
* **Quick profile** (``--quick``, a run of the whole quick suite): per claim, the model's compute time of the quick
  configuration against the measured duration (claims whose measured time is mostly fixed cost are reported apart).
* **Published paper-scale records** (``--published``): per claim, the plan's estimate against the measured duration
  of claims that were computed in the judged run (not read from a store).
* **Claims judged from a store** (``--reads LOG``, a JSON-lines log of the cells each claim test read, one
  ``{"test": PYTEST_CURRENT_TEST, "experiment", "key", "status"}`` per call): per claim, the plan's estimate against
  the summed ``elapsed_s`` of the distinct cells its tests read (their compute time, on one thread, at the load of
  the machine when they were computed), plus the judging time of the published record. Written as a Markdown table
  to ``benchmarks/results/cost_validation_paper.md``.

Writes ``benchmarks/results/cost_validation.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from rcbench import cost as C
from rcbench import cost_constants as K

ROOT = Path(__file__).resolve().parent.parent


def work_of_call(experiment: str, p: dict):
    g = p.get
    if experiment == "rank_collapse:linear_chain":
        depth = g("depth")
        widths = g("widths")
        fast = g("init", "gaussian") in ("gaussian", "gaussian_unit")
        return C.chain(widths, depth, g("seeds", 5), n=g("batch"), fast=fast,
                       measured=len(range(g("burn_in", 0), depth + 1, g("sample_every", 1))))  # fmt: skip
    if experiment == "rank_collapse:rank_recovery":
        return C.chain(g("width"), g("depth"), g("seeds"), measured=g("depth"), fast=True)
    if experiment == "orthogonality:bn_chain":
        if g("sampler") == "literal":
            return C.chain(g("widths"), g("depth"), g("runs"), n=g("n"))
        return C.gram(g("n"), g("widths"), g("depth"), g("runs"))
    if experiment == "orthogonality:whitening_chain":
        return C.chain([g("width")], g("depth"), g("runs"), n=g("n"))
    return None


def _cell(store: str, key: str) -> dict | None:
    """A cell record, also one set aside by ``benchmarks/stale_cells.py --move`` (``STORE/stale/``)."""
    for sub in ("cells", "stale"):
        f = Path(store, sub, f"{key}.json")
        if f.is_file():
            return json.loads(f.read_text(encoding="utf-8"))
    return None


def claims_from_store(log: str, store: str, published: str) -> list[dict]:
    """Per claim: the plan's one-core estimate against the summed compute time of the distinct store cells its
    tests read (``--reads``); the judging time from the published records is added to the measured side."""
    from rcbench.published import paper_scale_verdicts

    nodes: dict[str, str] = {}  # nodeid -> claim, from the published records
    for run_file in Path(published).rglob("run.json"):
        for t in json.loads(run_file.read_text(encoding="utf-8")).get("tests", []):
            nodes[t["nodeid"].split("[")[0]] = t["claim"]
    keys: dict[str, set] = {}
    for line in Path(log).read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        node = rec["test"].rsplit(" (", 1)[0].split("[")[0]
        cid = nodes.get(node)
        if cid and rec["status"] == "read":
            keys.setdefault(cid, set()).add(rec["key"])
    judged = paper_scale_verdicts(published)
    rows = []
    order = sorted(keys, key=lambda c: (c[0], int(c[1:])))
    seen: dict[str, str] = {}  # a cell read by several claims (e.g. B8-B11) counts for the first one only
    for cid in order:
        for k in sorted(keys[cid]):
            seen.setdefault(k, cid)
    for cid in order:
        cells = [_cell(store, k) for k in sorted(keys[cid]) if seen[k] == cid]
        cells = [c for c in cells if c is not None]
        shared = sorted({seen[k] for k in keys[cid] if seen[k] != cid})
        compute = sum(float(c.get("elapsed_s") or 0.0) for c in cells)
        judge = float(judged.get(cid, {}).get("runtime_s", 0.0))
        est = C.estimate(cid, "paper").cpu_1core_s
        rows.append({"claim": cid, "measured_s": compute + judge, "compute_s": compute, "judge_s": judge,
                     "model_s": est, "cells": len(cells),
                     "verdict": judged.get(cid, {}).get("verdict", ""), "shares_cells_of": shared,
                     "finished": max([float(c.get("finished") or 0) for c in cells] + [0.0])})  # fmt: skip
    for r in rows:  # a claim reading another's cells has no measured time of its own to score
        if not r["shares_cells_of"] and r["measured_s"] > 0:
            r["rel_err"] = _err(r["model_s"], r["measured_s"])
    return rows


def markdown(rows: list[dict]) -> str:
    from rcbench.cost import human

    lines = ["| claim | estimated (plan, 1 core) | measured (cells' compute + judging) | ratio measured / estimated | "
             "paper-scale verdict |", "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        ratio = r["measured_s"] / r["model_s"] if r["model_s"] > 0 else math.inf
        note = f" (reads {', '.join(r['shares_cells_of'])}'s cells too)" if r["shares_cells_of"] else ""
        lines.append(f"| {r['claim']} | {human(r['model_s'])} | {human(r['measured_s'])}{note} | {ratio:.2f} | "
                     f"{r['verdict']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _err(model: float, measured: float) -> float:
    return model / measured - 1.0


def summary(errs: list[float]) -> dict:
    if not errs:
        return {"count": 0}
    logs = [abs(math.log(1 + e)) for e in errs]
    return {"count": len(errs), "median_abs_log_ratio": statistics.median(logs), "max_abs_log_ratio": max(logs),
            "within_2x": sum(1 for v in logs if v <= math.log(2)) / len(logs)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stores", nargs="*")
    ap.add_argument("--quick")
    ap.add_argument("--published", default=str(ROOT / "published" / "paper-cpu-2026-12"))
    ap.add_argument("--reads", help="JSON-lines log of the store cells each claim test read (see the docstring)")
    ap.add_argument("--store", default="/work/paper-store", help="the store the --reads log refers to")
    args = ap.parse_args()
    out = {"store_calls": [], "quick": [], "published": [], "claims_from_store": []}
    if args.reads:
        out["claims_from_store"] = claims_from_store(args.reads, args.store, args.published)
    for store in args.stores:
        for f in sorted(Path(store, "cells").glob("*.json")):
            rec = json.loads(f.read_text(encoding="utf-8"))
            w = work_of_call(rec["experiment"], rec["params"])
            row = {"experiment": rec["experiment"], "measured_s": rec.get("elapsed_s"),
                   "params": {k: v for k, v in rec["params"].items() if k not in ("seed", "device", "stats")}}
            if w is not None:
                row["model_s"] = C._seconds(w, K.CPU)
                row["rel_err"] = _err(row["model_s"], row["measured_s"])
            out["store_calls"].append(row)
    if args.quick:
        from rcbench.results import load_run

        run = load_run(args.quick, frames=False)["run"]
        meas: dict[str, float] = {}
        for t in run["tests"]:
            meas[t["claim"]] = meas.get(t["claim"], 0.0) + float(t.get("duration_s", 0.0))
        for cid, m in meas.items():
            works = C.workloads(cid, {**C.claim_config(cid, "quick"), "__profile__": "quick"})
            model = sum(C._seconds(w, K.CPU) for w in works if w.kind != "mc")
            if model > 0 and m > 0.5:
                out["quick"].append({"claim": cid, "measured_s": m, "model_s": model, "rel_err": _err(model, m)})
    from rcbench.published import paper_scale_verdicts

    for cid, rec in paper_scale_verdicts(args.published).items():
        est = C.estimate(cid, "paper")
        if rec["runtime_s"] > 1.0:
            out["published"].append({"claim": cid, "measured_s": rec["runtime_s"], "model_s": est.cpu_1core_s,
                                     "rel_err": _err(est.cpu_1core_s, rec["runtime_s"]), "run": rec["run"]})
    for key in ("store_calls", "quick", "published", "claims_from_store"):
        scored = [r["rel_err"] for r in out[key] if "rel_err" in r]
        out[f"{key}_summary"] = summary(scored)
        print(f"{key}: {out[f'{key}_summary']}")
        for r in out[key]:
            if "rel_err" in r:
                label = r.get("claim") or f"{r['experiment']} {json.dumps(r['params'])[:80]}"
                print(f"   {label:90s} measured {r['measured_s']:9.1f} s  model {r['model_s']:9.1f} s")
    if out["claims_from_store"]:
        md = ROOT / "benchmarks" / "results" / "cost_validation_paper.md"
        md.write_text(markdown(out["claims_from_store"]), encoding="utf-8")
        print(f"wrote {md}")
        from rcbench.published import COMPUTE_FILE

        dest = Path(args.published) / COMPUTE_FILE  # the README's measured times (rcbench.published)
        dest.write_text(json.dumps({"what": "per claim: summed elapsed_s (one thread) of the store cells its tests read "
                                            "in the published runs (benchmarks/validate_cost.py --reads)",
                                    "claims": {r["claim"]: round(r["compute_s"], 2)
                                               for r in out["claims_from_store"]}}, indent=1) + "\n")  # fmt: skip
        print(f"wrote {dest}")
    dest = ROOT / "benchmarks" / "results" / "cost_validation.json"
    dest.write_text(json.dumps(out, indent=1))
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
