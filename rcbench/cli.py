"""The ``rcbench`` command line.

``rcbench list`` shows the claim catalogue (and which components each implemented claim is parametric in);
``rcbench run`` runs the claim tests (the main job) with a progress bar, stores the run and writes ``report.md`` /
``report.html`` next to it; ``rcbench report DIR`` re-renders a stored run; ``rcbench compare A B`` is the regression
gate (non-zero exit when a claim regressed). All read the records the claims harness writes (:mod:`rcbench.results`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from rcbench.catalog import CLAIMS, PAPERS
from rcbench.report import render_report
from rcbench.report.render import DOCS_FILE
from rcbench.report.verdicts import MARKS
from rcbench.results import RunFileError, load_run, write_frame, write_json

__all__ = ["main"]


def _claims_dir() -> Path:
    """The claims (the installed ``rcbench.claims`` package, or ``claims/`` of a checkout):
    :func:`rcbench.pytest_plugin.claims_dir`."""
    from rcbench.pytest_plugin import claims_dir

    try:
        return claims_dir()
    except FileNotFoundError as exc:
        raise SystemExit(f"rcbench: {exc}") from None


# ---------------------------------------------------------------------------------------------------------------
def cmd_list(args) -> int:
    from rcbench import inputs

    try:
        papers = set(inputs.papers(args.paper)) if args.paper else None
    except ValueError as exc:
        print(f"rcbench list: {exc}", file=sys.stderr)
        return 2
    rows = [c for c in CLAIMS.values() if papers is None or c.paper in papers]
    if args.json:
        comps = _claim_components()
        print(json.dumps([dict(c.__dict__, implemented=c.id in comps, components=comps.get(c.id, [])) for c in rows],
                         indent=2, ensure_ascii=False))  # fmt: skip
        return 0
    comps = _claim_components()
    table = [
        (c.id, c.paper, ",".join(comps[c.id]) if comps.get(c.id) else ("-" if c.id in comps else "(no test)"),
         _clip(c.source, 36), _clip(c.statement, 80))
        for c in rows
    ]  # fmt: skip
    print(tabulate(table, headers=["id", "paper", "components", "source", "statement"], tablefmt="simple"))
    implemented = sum(1 for c in rows if c.id in comps)
    print(f"\n{len(rows)} claims, {implemented} with tests. components = what --norm/--init/--activation substitute "
          "in that claim ('-': none).")  # fmt: skip
    print("Papers: " + "; ".join(f"{k}: {v}" for k, v in PAPERS.items() if not papers or k in papers))
    return 0


def _claim_components() -> dict[str, list[str]]:
    """claim id -> declared component kinds, read from the claims files with ``ast`` (no import, no torch)."""
    from rcbench.report.sources import components_by_claim

    try:
        return components_by_claim(_claims_dir())
    except SystemExit:
        return {}


def _claims_command(args, claims_dir: Path, out: Path, claim: str | None) -> list[str]:
    """The pytest command of a run: the claims' folder with the rcbench plugin and its ``--rcbench-*`` options.
    pytest's configuration is pinned (``-c os.devnull``, rootdir and conftest search at the folder holding the
    claims), so that an ini file or conftest of a project that merely contains the installed package changes
    nothing, and node ids read ``claims/<file>::<test>`` for the checkout and the installed package alike."""
    base = claims_dir.parent
    cmd = [
        sys.executable, "-m", "pytest", str(claims_dir), "-p", "rcbench.pytest_plugin",
        "-c", os.devnull, "--rootdir", str(base), "--confcutdir", str(base),
        "-o", "addopts=", "--strict-markers", "-p", "no:cacheprovider", "--continue-on-collection-errors",
        "--rcbench-profile", args.profile, "--rcbench-device", args.device, "--rcbench-seed", str(args.seed),
        "--rcbench-results-dir", str(out),
    ]  # fmt: skip
    if args.pytest_output:
        cmd += ["-q", "--no-header"]
    else:  # the progress plugin is the console; pytest's terminal reporter is off
        cmd += ["-p", "no:terminal", "-p", "rcbench.report.progress"]
    opts = {"paper": args.paper, "claim": claim, "data_root": args.data_root, "results": args.results}
    opts.update({k: getattr(args, k) for k in ("norm", "init", "activation")})
    for opt, value in opts.items():
        if value:
            cmd += [f"--rcbench-{opt.replace('_', '-')}", str(value)]
    for item in getattr(args, "set", None) or []:  # validated in cmd_run (rcbench.overrides.resolve)
        cmd += ["--rcbench-set", item]
    return cmd + list(args.pytest_args or [])


def _check_run_inputs(args, claims_dir: Path, out: Path) -> str | None:
    """Every input of ``rcbench run`` checked before any work (:mod:`rcbench.inputs`, the same checks the pytest
    harness makes); the first problem as one line, or None. Normalises ``--claim``/``--paper`` (case)."""
    from rcbench import inputs

    try:
        ids = inputs.claim_ids(args.claim)
        letters = inputs.papers(args.paper)
        args.claim, args.paper = ",".join(ids) or None, ",".join(letters) or None
        inputs.seed(args.seed)
        inputs.device(args.device)
        if args.data_root is not None:
            inputs.data_root(args.data_root)
        kinds = {k: getattr(args, k) for k in ("norm", "init", "activation") if getattr(args, k)}
        inputs.component_claims(list(kinds), ids, letters, claims_dir)
        inputs.components(kinds)
        inputs.results_dir(out, overwrite=args.overwrite)
        if args.set:
            from rcbench.overrides import resolve

            resolve(args.set, args.profile)  # unknown claim or key, wrong type, outside the claim's regime
    except ValueError as exc:
        return str(exc)
    if args.executor and not args.results:
        return "--executor computes into a results store; give --results STORE"
    return None


def _fill_store(args, claims_dir: Path, out: Path) -> bool:
    """``--results STORE --executor E``: compute the experiment calls the claims asked of the store and were
    missing (``out/requests.json``), rerun the claims that asked (they may ask for more), until none is missing.
    Returns whether anything was computed (then the caller reruns all claims)."""
    from rcbench.sweep import REQUESTS_FILE, compute_requests

    current, computed, rnd = out, False, 0
    while (current / REQUESTS_FILE).is_file():
        rnd += 1
        if rnd > args.max_rounds:
            print(f"rcbench: still missing calls after {args.max_rounds} rounds; see {current / REQUESTS_FILE}",
                  file=sys.stderr)  # fmt: skip
            break
        result = compute_requests(current / REQUESTS_FILE, args.results, executor=args.executor,
                                  workers=args.workers, threads=args.threads)  # fmt: skip
        print(f"rcbench: round {rnd}: {result.summary().splitlines()[0]}", flush=True)
        if not result.computed:
            print(f"rcbench: nothing could be computed in round {rnd}: {result.summary()}", file=sys.stderr)
            break
        computed = True
        asking = sorted({t["claim"] for t in load_run(current, frames=False)["run"]["tests"]
                         if t.get("store", {}).get("missing")})  # fmt: skip
        current = out / "rounds" / str(rnd)
        subprocess.run(_claims_command(args, claims_dir, current, ",".join(asking)))
    return computed


def cmd_run(args) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.results_dir) if args.results_dir else Path("results") / f"run-{stamp}"
    claims_dir = Path(args.claims_dir) if args.claims_dir else _claims_dir()
    if not (claims_dir / "conftest.py").is_file():
        print(f"rcbench run: {claims_dir} has no conftest.py (the claims' fixtures)", file=sys.stderr)
        return 2
    problem = _check_run_inputs(args, claims_dir, out)
    if problem:
        print(f"rcbench run: {problem}", file=sys.stderr)
        return 2
    if args.results:
        Path(args.results).mkdir(parents=True, exist_ok=True)
    src = f", reading {args.results}" if args.results else ""
    print(f"rcbench: running the claims ({args.profile} profile, device {args.device}{src}) -> {out}", flush=True)
    _warn_cost(args)
    started = time.time()
    cmd = _claims_command(args, claims_dir, out, args.claim)
    proc = subprocess.run(cmd)
    if args.executor and _fill_store(args, claims_dir, out):
        print("rcbench: the store holds the computed calls; judging all claims from it", flush=True)
        proc = subprocess.run(cmd)
    if proc.returncode == 4:  # pytest refused the options (the harness' checks): a usage error, said above
        return 2
    if proc.returncode not in (0, 1):  # 0 all good, 1 some claim failed: both leave results to show
        print(f"rcbench: pytest exited with code {proc.returncode}", file=sys.stderr)
        if proc.returncode == 5:
            print("rcbench: no claim matched the selection (with --norm/--init/--activation only the claims "
                  "declaring that component run; see `rcbench list`)", file=sys.stderr)  # fmt: skip
        if not (out / "run.json").is_file() or (out / "run.json").stat().st_mtime < started:
            return proc.returncode or 2
    try:  # the docstrings (tolerance derivations) of the code that ran, stored with the run
        from rcbench.report.sources import docs_by_nodeid

        write_json(out / DOCS_FILE, docs_by_nodeid(claims_dir))
    except (OSError, SyntaxError) as exc:
        print(f"rcbench: could not store the claims' docstrings ({exc})", file=sys.stderr)
    run = load_run(out)
    verdicts = verdict_table(run)
    write_frame(out / "verdicts.csv", verdicts)
    write_json(out / "verdicts.json", verdicts.to_dict(orient="records"))
    report = None if args.no_report else render_report(out, claims_dir=claims_dir)
    print_summary(run, out, report)
    if proc.returncode not in (0, 1):
        print(f"rcbench: pytest exited with code {proc.returncode}: the run (and its report) is partial", file=sys.stderr)
    return proc.returncode


def _warn_cost(args) -> None:
    """Before work estimated at hours on the CPU: say so, and which claims dominate (:mod:`rcbench.cost`)."""
    if args.profile != "paper" or str(args.device).startswith("cuda"):  # the quick profile takes minutes
        return
    try:
        from rcbench.cost import warn_if_long

        warn_if_long(_split(args.claim) if args.claim else None, _split(args.paper) if args.paper else None,
                     args.profile)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - an estimate never stops a run
        print(f"rcbench: (no cost estimate: {exc})", file=sys.stderr)


def cmd_report(args) -> int:
    out = Path(args.results_dir)
    try:
        run = load_run(out)
    except (FileNotFoundError, RunFileError) as exc:
        print(f"rcbench report: {exc}", file=sys.stderr)
        return 2
    claims_dir = None
    try:
        claims_dir = _claims_dir()
    except SystemExit:
        pass
    report = render_report(out, claims_dir=claims_dir, figures=not args.no_figures)
    print_summary(run, out, report)
    return 0


def cmd_compare(args) -> int:
    from rcbench.compare import main as compare_main

    return compare_main(args)


#: verdicts whose reason is printed under the table (what a reader must know of a claim that is not simply [Re]).
_EXPLAINED = ("partially reproduced", "not reproduced", "failed", "error", "unexpectedly reproduced", "skipped")


def print_summary(run: dict, out: Path, report=None, *, width: int | None = None) -> None:
    """The console of a run, as the README describes it: one row per claim (id, paper, measured, paper / bound,
    tolerance, verdict) wrapped to the terminal width, the counts, the reason of each claim that is not plainly
    reproduced, and where the report and results are."""
    from rcbench.report.verdicts import claim_table, summary_counts

    rows = claim_table(run)
    counts = summary_counts(rows)
    width = width or max(60, min(shutil.get_terminal_size((120, 24)).columns, 200))
    print()
    print(claims_table(rows, width))
    print()
    print("rcbench: " + ", ".join(f"{MARKS[k]} {k}: {v}" for k, v in counts.items()) + f"   ({len(rows)} claims, "
          f"{run['run'].get('wall_time_s', '?')} s)")  # fmt: skip
    explained = [r for r in rows if r["verdict"] in _EXPLAINED]
    from rcbench.report.verdicts import fmt

    for r in explained[:20]:
        reason = next((x for x in r["reasons"] if x and x.strip()), "")
        first = reason.strip().splitlines()[0] if reason.strip() else "(no reason recorded)"
        failed = [c for c in r["checks"] if not c.get("passed", True)]
        if r["verdict"] == "failed" and failed:  # the check that failed says more than "2 check(s) failed"
            c = failed[0]
            first = (f"{'control ' if c.get('control') else ''}{c['statistic']}: measured {fmt(c['measured'])}, "
                     f"expected {fmt(c['expected'])}" + (f" (+{len(failed) - 1} more failed)" if len(failed) > 1 else ""))
        print(_clip(f"  {r['id']} {r['verdict']}: {first}", width))
    if len(explained) > 20:
        print(f"  ... and {len(explained) - 20} more (see the report)")
    if report is not None:
        print(f"  report: {report['html']}  (and report.md, {report['figures']} figures)")
    print(f"  results: {out}")


def claims_table(rows: list[dict], width: int = 120) -> str:
    """One row per claim: id, paper, measured, paper / bound, tolerance, verdict; the three text columns share what
    the terminal width leaves and wrap inside it (at most three lines per cell, then clipped)."""
    cells = [[r["id"], r["paper"], r["measured"] or "-", r["expected"] or "-", r["tolerance"] or "-",
              f"{r['mark']} {r['verdict']}"] for r in rows]  # fmt: skip
    headers = ["id", "paper", "measured", "paper / bound", "tolerance", "verdict"]
    fixed = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in ((0, "id"), (1, "paper"))]
    verdict_w = max(len("verdict"), *(len(c[5]) for c in cells)) if cells else 8
    free = max(30, width - sum(fixed) - verdict_w - 2 * 5)  # 2 spaces between the six columns
    share = [free * 5 // 10, free * 3 // 10, free - free * 5 // 10 - free * 3 // 10]
    for c in cells:
        for j, w in zip((2, 3, 4), share):
            c[j] = _wrap(c[j], w, lines=3)
    return tabulate(cells, headers=headers, tablefmt="simple", disable_numparse=True)


def _wrap(text: str, width: int, lines: int) -> str:
    parts = textwrap.wrap(str(text), max(8, width), break_long_words=True, break_on_hyphens=False) or [""]
    if len(parts) > lines:
        parts = parts[: lines - 1] + [_clip(" ".join(parts[lines - 1 :]), max(8, width))]
    return "\n".join(parts)


def verdict_table(run: dict) -> pd.DataFrame:
    """One row per claim: id, paper, source, measured, expected, tolerance, verdict, mark, negative control, runtime
    (verdict rules: :mod:`rcbench.report.verdicts`)."""
    from rcbench.report.verdicts import claim_table

    cols = ["id", "paper", "source", "measured", "expected", "tolerance", "verdict", "mark", "control", "runtime_s"]
    rows = [
        {**{k: r[k] for k in cols if k in r}, "source": CLAIMS[r["id"]].source if r["id"] in CLAIMS else "",
         "control": r["control_text"], "runtime_s": round(r["runtime_s"], 3)}
        for r in claim_table(run)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------------------------------
def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rcbench", description=__doc__.split("\n\n")[0])
    from rcbench import __version__

    p.add_argument("--version", action="version", version=f"rcbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    pl = sub.add_parser("list", help="list the claim catalogue")
    pl.add_argument("--paper", help="comma-separated paper letters, e.g. A,C")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=cmd_list)

    pr = sub.add_parser("run", help="run the claims and print the verdict table (the main job)")
    pr.add_argument("--profile", choices=["quick", "paper"], default="quick")
    pr.add_argument("--device", default="auto", help="cpu, cuda, cuda:k or auto (default: CUDA when present)")
    pr.add_argument("--seed", type=int, default=0, help="master seed (a non-negative integer, default 0)")
    pr.add_argument("--paper", help="comma-separated paper letters, e.g. A,C")
    pr.add_argument("--claim", help="comma-separated claim ids, e.g. A1,B13 (case-insensitive)")
    pr.add_argument("--data-root", help="root of torchvision data sets (download=False)")
    for kind in ("norm", "init", "activation"):
        pr.add_argument(f"--{kind}", help=f"substitute your {kind} (PACKAGE.MODULE:NAME) in the claims parametric in it")
    pr.add_argument("--set", action="append", metavar="CLAIM.KEY=VALUE",
                    help="run a claim at another configuration: override a key of its profile configuration, e.g. "
                         "--set C7.width=128 (repeatable; nested keys dotted, A3.chain.widths=8,16,32)")  # fmt: skip
    pr.add_argument("--results-dir", help="where to write the results (default results/run-<timestamp>)")
    pr.add_argument("--results", metavar="STORE",
                    help="answer the experiments' calls from this results store instead of computing them "
                         "(calls it lacks: see --executor)")  # fmt: skip
    pr.add_argument("--executor", help="with --results: compute the calls the store lacks into it, on `local` "
                                       "worker processes or a dask scheduler dask://HOST:PORT, then judge")
    pr.add_argument("--workers", type=int, help="local worker processes for --executor local (default: cores)")
    pr.add_argument("--threads", type=int, default=1, help="torch threads per computed call (default 1)")
    pr.add_argument("--max-rounds", type=int, default=10, help=argparse.SUPPRESS)
    pr.add_argument("--claims-dir", help=argparse.SUPPRESS)  # another claims folder with the harness (tests)
    pr.add_argument("--overwrite", action="store_true",
                    help="let the run replace an earlier run in --results-dir (else a non-empty directory is refused)")
    pr.add_argument("--no-report", action="store_true", help="skip report.md / report.html")
    pr.add_argument("--pytest-output", action="store_true", help="pytest's own terminal output instead of the progress bar")
    pr.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    pr.set_defaults(func=cmd_run)

    prep = sub.add_parser("report", help="re-render report.md / report.html of a stored run (no recomputation)")
    prep.add_argument("results_dir", help="a results directory written by `rcbench run` or `pytest claims`")
    prep.add_argument("--no-figures", action="store_true", help="tables only")
    prep.set_defaults(func=cmd_report)

    from rcbench.compare import add_arguments

    pc = sub.add_parser("compare", help="compare two runs; exit 1 when a claim regressed (the CI gate)")
    add_arguments(pc)
    pc.set_defaults(func=cmd_compare)

    from rcbench import audit, cost, sweep

    sweep.register(sub)
    audit.register(sub)
    cost.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `rcbench list | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
