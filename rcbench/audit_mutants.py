"""Mutation audit: does every component a claim declares break the claim when its mechanism is removed?

``rcbench audit --mutants [--paper A] [--claim A6,C7] [--mutant identity_norm,gaussian_init]`` runs, for every
mutant of :data:`rcbench.mutants.MUTANTS`, one pytest subprocess on ``claims/`` with ``--<kind>
rcbench.mutants:<name>`` and ``--claim`` set to the claims that declare that kind
(``@pytest.mark.claim(..., components=(kind,))``, read from the claims files with ``ast``:
:func:`rcbench.claim_scan.claim_markers`). The harness runs only the tests that declare the kind, so every
substitution lands where the claim says its mechanism is. Each mutant's run has its own directory
``<results-dir>/<mutant>/``; a finished one made with the same options is reused unless ``--fresh``.

Per (claim, kind, mutant) row:

* ``outcome``: the claim's outcome under the mutant over its tests that declare the kind: ``failed`` / ``error`` /
  ``xpassed`` if any test had it (in that order), else ``xfailed`` if any, else ``passed``; ``skipped`` if all were
  skipped; ``not run`` if the run left no record of the claim (see ``pytest.log``).
* ``killed``: the verdict changed: some test failed, errored or xpassed (a strict ``xfail`` that passes).
* ``expected``: ``killed``, or the explanation written on the claim marker (``mutants={name: why}``) of a survivor
  the claim expects.
* ``status``: ``killed``; ``explained survivor`` (kept its verdict, as the marker says it may); ``UNEXPLAINED
  survivor`` (kept its verdict although the mutant removes a mechanism the claim declares: a test to strengthen,
  or a component the claim should not declare); ``sound-control-broken`` (a sound control,
  :attr:`rcbench.mutants.Mutant.sound`, that the marker expects to keep the verdict, failed it); ``not run``.

The mutation score is (killed + explained survivors) / rows that ran. ``pairs_without_kill`` lists the declared
(claim, kind) pairs no mutant killed (the goal: none). The claims are assumed green at the audited seed (the CI
rule); a claim red without any mutant shows as killed by every mutant, its failed checks name the reason.

Outputs in ``--results-dir`` (default ``results/audit-mutants``): ``<mutant>/`` (run.json, checks.csv,
pytest.log), ``mutants.csv`` (the table) and ``mutants.json`` (table, score, survivors, pairs without a kill, the
options, the wall time of each run).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rcbench import audit_runner as runner
from rcbench.catalog import CLAIMS
from rcbench.claim_scan import claim_markers
from rcbench.mutants import MUTANTS, Mutant
from rcbench.results import write_frame, write_json

__all__ = ["declared", "mutation_audit", "mutation_rows", "score", "format_table", "COLUMNS", "cmd_mutants"]

COLUMNS = ["claim", "kind", "mutant", "outcome", "killed", "expected", "status", "tests", "failed_checks", "reason"]
KILL_OUTCOMES = runner.FAILURE_OUTCOMES
_claim_outcome = runner.claim_outcome  # its former name here


def declared(claims_dir: str | Path | None = None) -> dict[tuple[str, str], dict[str, str]]:
    """``(claim, kind) -> {mutant name: explanation}`` for every component kind a claim test declares (the
    explanations of all the claim's tests declaring that kind, merged)."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for m in claim_markers(claims_dir or runner.claims_dir()):
        for name in m["mutants"]:  # an explanation that names no mutant of a declared kind would be silently unused
            mutant = MUTANTS.get(name)
            if mutant is None or mutant.kind not in m["components"]:
                why = "no such mutant" if mutant is None else f"a {mutant.kind} mutant, not declared"
                valid = ", ".join(x.name for x in MUTANTS.values() if x.kind in m["components"])
                raise ValueError(f"{m['file']}:{m['line']} ({m['claim']}): mutants= names {name!r} ({why}); "
                                 f"mutants of its kinds: {valid}")  # fmt: skip
        for kind in m["components"]:
            out.setdefault((m["claim"], kind), {}).update(m["mutants"])
    order = {cid: i for i, cid in enumerate(CLAIMS)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0][0], 1e9), kv[0][1])))


def mutation_rows(pairs: dict[tuple[str, str], dict[str, str]], mutant: Mutant, runs: pd.DataFrame) -> list[dict]:
    """The table rows of one mutant from the per-test rows of its run (:func:`rcbench.audit_runner.rows_of_run`)."""
    rows = []
    session = runs[runs["claim"] == "(session)"]
    for (claim, kind), explained in pairs.items():
        if kind != mutant.kind:
            continue
        mine = runs[runs["claim"] == claim]
        outcomes = list(mine["outcome"]) if not mine.empty else (["session-error"] if not session.empty else [])
        outcome = runner.claim_outcome(outcomes)
        killed = outcome in KILL_OUTCOMES
        why = explained.get(mutant.name)
        if outcome in ("not run", "skipped", "session-error"):
            status = "not run"
        elif killed:
            status = "sound-control-broken" if (why is not None and mutant.sound) else "killed"
        else:
            status = "explained survivor" if why is not None else "UNEXPLAINED survivor"
        failed = "; ".join(c for c in mine.get("failed_checks", pd.Series(dtype=str)).fillna("") if c)
        reason = "; ".join(r for r in mine.get("reason", pd.Series(dtype=str)).fillna("") if r)
        if outcome == "session-error" and not session.empty:
            reason = session["reason"].iloc[0]
        rows.append({"claim": claim, "kind": kind, "mutant": mutant.name, "outcome": outcome, "killed": killed,
                     "expected": "killed" if why is None else why, "status": status, "tests": len(mine),
                     "failed_checks": failed[:300], "reason": reason[:300]})  # fmt: skip
    return rows


def score(table: pd.DataFrame) -> dict:
    """Mutation score and the lists the closing note needs."""
    ran = table[table["status"] != "not run"]
    good = ran["status"].isin(["killed", "explained survivor"])
    pairs = table.groupby(["claim", "kind"], sort=False)["status"].agg(list)
    return {
        "score": float(good.mean()) if len(ran) else float("nan"),
        "good": int(good.sum()),
        "total": int(len(ran)),
        "not_run": int((table["status"] == "not run").sum()),
        "counts": {k: int(v) for k, v in table["status"].value_counts().items()},
        "survivors": [f"{r.claim}/{r.mutant}" for r in ran.itertuples() if not r.killed],
        "unexplained": [f"{r.claim}/{r.mutant}" for r in ran.itertuples() if r.status == "UNEXPLAINED survivor"],
        "sound_control_broken": [f"{r.claim}/{r.mutant}" for r in ran.itertuples()
                                 if r.status == "sound-control-broken"],  # fmt: skip
        "pairs_without_kill": [f"{c}/{k}" for (c, k), st in pairs.items() if "not run" not in st
                               and not any(s in ("killed", "sound-control-broken") for s in st)],  # fmt: skip
    }


def mutation_audit(
    papers: str | Sequence[str] | None = None,
    claims: str | Sequence[str] | None = None,
    mutants: str | Sequence[str] | None = None,
    *,
    seed: int = 0,
    profile: str = "quick",
    device: str = "cpu",
    results_dir: str | Path | None = None,
    jobs: int = 1,
    threads: int | None = 1,
    fresh: bool = False,
    timeout: float | None = None,
    budget: float | None = None,
    pytest_args: Sequence[str] = (),
    claims_dir: str | Path | None = None,
    verbose: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Run the mutation audit (module docstring); returns ``(table, summary)`` and writes them to ``results_dir``.
    Bad filters raise ``ValueError`` before any run."""
    papers, names = runner.split(papers), runner.split(mutants)
    claims = [c.upper() for c in runner.split(claims)]
    runner.check_selection(papers, claims, profile=profile, jobs=jobs)
    bad = [m for m in names if m not in MUTANTS]
    if bad:
        raise ValueError(f"unknown mutant(s) {bad}; one of {', '.join(MUTANTS)}")
    pairs = {
        (c, k): why for (c, k), why in declared(claims_dir).items()
        if (not papers or c[0] in papers) and (not claims or c in claims)
    }  # fmt: skip
    if claims and not pairs:
        raise ValueError(f"none of the claims {claims} declares a component (see `rcbench list`)")
    selected = [m for m in MUTANTS.values() if (not names or m.name in names) and any(k == m.kind for _, k in pairs)]
    if not selected:
        raise ValueError("no mutant applies: no selected claim declares the kind of the selected mutants")
    out = Path(results_dir) if results_dir is not None else Path("results") / "audit-mutants"
    options = {"profile": profile, "device": device, "seed": seed, "pytest_args": list(pytest_args),
               "threads": threads}  # fmt: skip

    start = time.time()

    def one(m: Mutant) -> dict:
        ids = sorted({c for c, k in pairs if k == m.kind}, key=list(CLAIMS).index)
        d = out / m.name
        cmd = runner.pytest_command(seed, d, profile=profile, device=device, papers=[], claims=ids,
                                    pytest_args=[f"--rcbench-{m.kind}", m.spec, *pytest_args])  # fmt: skip
        info = runner.run_pytest(seed, d, {**options, "mutant": m.name, "claims": ids}, cmd, fresh, timeout, threads,
                                 budget_left=None if budget is None else budget - (time.time() - start))  # fmt: skip
        if verbose and not info.get("skipped"):
            print(f"rcbench audit --mutants: {m.name} on {len(ids)} claim(s) ({runner.describe(info)})", flush=True)
        return {**info, "mutant": m.name}

    infos = runner.run_all(jobs, selected, one)
    rows = []
    for m, info in zip(selected, infos):
        runs = pd.DataFrame(runner.rows_of_run(seed, out / m.name, info) if not info.get("skipped") else [],
                            columns=runner.RUN_COLUMNS)  # fmt: skip
        rows += mutation_rows(pairs, m, runs)
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = {cid: i for i, cid in enumerate(CLAIMS)}
    mut_order = {name: i for i, name in enumerate(MUTANTS)}
    table = table.sort_values(["claim", "kind", "mutant"], key=lambda s: s.map(order) if s.name == "claim" else
                              s.map(mut_order) if s.name == "mutant" else s, kind="stable").reset_index(drop=True)
    summary = score(table)
    write_frame(out / "mutants.csv", table)
    _write_text(out / "mutants.md", markdown(table, summary))
    write_json(out / "mutants.json", {**summary, "options": options, "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                                             time.gmtime()),
                                      "wall_s": round(time.time() - start, 1), "runs": infos,
                                      "table": table.to_dict(orient="records")})  # fmt: skip
    return table, summary


def _write_text(path: Path, text: str) -> None:
    from rcbench.results import write_atomic

    write_atomic(path, text)


def markdown(table: pd.DataFrame, summary: dict) -> str:
    """``mutants.md``: the score, the lists and the claims x mutants table."""
    lines = [
        "# Mutation audit",
        "",
        f"Mutation score **{summary['good']}/{summary['total']} = {summary['score']:.3f}** (killed or explained "
        f"survivor); {', '.join(f'{k}: {v}' for k, v in summary['counts'].items())}.",
        "",
        f"- unexplained survivors: {', '.join(summary['unexplained']) or 'none'}",
        f"- sound controls broken: {', '.join(summary['sound_control_broken']) or 'none'}",
        f"- declared (claim, component) pairs no mutant killed: {', '.join(summary['pairs_without_kill']) or 'none'}",
        "",
        format_table(table, "github"),
        "",
    ]
    return "\n".join(lines)


def format_table(table: pd.DataFrame, fmt: str = "simple") -> str:
    from tabulate import tabulate

    show = table[["claim", "kind", "mutant", "outcome", "status", "expected"]].copy()
    show["expected"] = show["expected"].map(lambda s: s if len(s) <= 60 else s[:59] + "…")
    return tabulate(show, headers="keys", tablefmt=fmt, showindex=False)


def cmd_mutants(args) -> int:
    try:
        table, summary = mutation_audit(args.paper, args.claim, args.mutant, seed=args.seed, profile=args.profile,
                                        device=args.device, results_dir=args.results_dir, jobs=args.jobs,
                                        threads=args.threads or None, fresh=args.fresh,
                                        timeout=args.timeout, budget=args.budget)  # fmt: skip
    except (ValueError, FileNotFoundError) as exc:
        print(f"rcbench audit: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_table(table))
    out = Path(args.results_dir) if args.results_dir else Path("results") / "audit-mutants"
    print(f"\nmutation score {summary['good']}/{summary['total']} = {summary['score']:.3f} "
          f"(killed or explained); {json.dumps(summary['counts'])}")  # fmt: skip
    for label, key in (("unexplained survivors", "unexplained"), ("sound controls broken", "sound_control_broken"),
                       ("declared pairs no mutant killed", "pairs_without_kill")):  # fmt: skip
        print(f"{label}: {', '.join(summary[key]) or 'none'}")
    print(f"  |  {out / 'mutants.csv'}")
    return 0 if not (summary["unexplained"] or summary["sound_control_broken"] or summary["not_run"]) else 1
