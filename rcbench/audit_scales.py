"""Scale audit: the same claim tests at configurations away from their calibrated point.

``rcbench audit --scales [--paper A] [--claim C7]`` reads the module-level ``SCALES`` of every claims module
(``claims/test_*.py``, read with ``ast``, no import: :func:`rcbench.claim_scan.scale_grids`)::

    SCALES = {"C7": [{"width": 64, "batch": 64}, {"width": 128, "batch": 128}]}

claim id -> list of override dicts. A key is relative to the claim's configuration (``"chain.widths"`` is
``--set A3.chain.widths=...``) unless its first part names the claim or one of its configurations
(``"C9_deep.depths"``, ``"D8.train.epochs"``). Every configuration is validated first
(:func:`rcbench.overrides.resolve`: unknown keys, types, the claim's regime), then runs as one pytest subprocess
``--claim <id> --set <id>.<key>=<value> ...`` into ``<results-dir>/<claim>/<k>/`` (reused when finished with the
same options, unless ``--fresh``).

The table (``scales.csv``/``scales.json``, printed): one row per claim x configuration with the configuration,
the claim's ``outcome`` over its tests (``failed``/``error``/``xpassed`` if any test had it, else ``xfailed`` if
any, else ``passed``), ``verdict`` (``reproduced``; ``partially reproduced``: some test a strict xfail;
``not reproduced``: every test a strict xfail; ``failed``; ``error``; ``not run``; ``override not read (ENTRY)``:
no test of the claim read that configuration, so it ran at its calibrated point), the failed checks, the wall
time. A claim that fails off its point because of a tolerance is a bug; one that fails because the paper's
statement does not hold there is a finding.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rcbench import audit_runner as runner
from rcbench.catalog import CLAIMS
from rcbench.claim_scan import scale_grids
from rcbench.results import write_frame, write_json

__all__ = ["set_items", "scale_audit", "format_table", "COLUMNS", "cmd_scales"]

COLUMNS = ["claim", "config", "set", "outcome", "verdict", "tests", "failed_checks", "reason", "wall_s"]


def _format_value(value) -> str:
    from rcbench.overrides import _format

    return _format(tuple(value) if isinstance(value, list) else value)


def set_items(claim: str, config: Mapping, entries: Mapping[str, object] | None = None) -> list[str]:
    """The ``--set`` items of one configuration of ``claim``: ``{"width": 64}`` -> ``["C7.width=64"]``;
    ``entries`` (lower-case profile entry names, :func:`rcbench.overrides.entries`) mark absolute keys."""
    items = []
    for key, value in config.items():
        head = str(key).split(".")[0].lower()
        absolute = head == claim.lower() or (entries is not None and head in entries
                                             and head.startswith(claim.lower() + "_"))  # fmt: skip
        items.append(f"{key if absolute else f'{claim}.{key}'}={_format_value(value)}")
    return items


def _verdict(outcomes: list[str]) -> tuple[str, str]:
    outcome = runner.claim_outcome(outcomes)
    if outcome in ("not run", "session-error", "skipped"):
        return outcome, "not run"
    if outcome == "passed":
        return outcome, "reproduced"
    if outcome == "xfailed":
        return outcome, "not reproduced" if all(o == "xfailed" for o in outcomes if o != "skipped") \
            else "partially reproduced"
    return outcome, {"xpassed": "unexpectedly reproduced"}.get(outcome, outcome)


def scale_audit(
    papers: str | Sequence[str] | None = None,
    claims: str | Sequence[str] | None = None,
    *,
    grids: Mapping[str, Sequence[Mapping]] | None = None,
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
) -> pd.DataFrame:
    """Run every selected claim at each configuration of its ``SCALES`` grid (or of ``grids``, claim id -> list of
    override dicts); returns the table (module docstring) and writes it to ``results_dir``. Every configuration is
    validated before any run (``ValueError``)."""
    from rcbench.overrides import entries, resolve

    papers, claims = runner.split(papers), [c.upper() for c in runner.split(claims)]
    runner.check_selection(papers, claims, profile=profile, jobs=jobs)
    grids = dict(grids) if grids is not None else scale_grids(claims_dir or runner.claims_dir())
    order = {cid: i for i, cid in enumerate(CLAIMS)}
    unknown = [c for c in grids if c not in CLAIMS]
    if unknown:
        raise ValueError(f"SCALES names unknown claim(s) {unknown}")
    selected = {c: list(v) for c, v in sorted(grids.items(), key=lambda kv: order[kv[0]])
                if (not papers or c[0] in papers) and (not claims or c in claims)}  # fmt: skip
    if not selected:
        have = ", ".join(grids) or "none"
        raise ValueError(f"no SCALES grid for the selected claims (claims with one: {have})")
    table = entries(profile)
    jobs_list = []
    for claim, configs in selected.items():
        for k, cfg in enumerate(configs):
            items = set_items(claim, cfg, table)
            try:
                resolved = resolve(items, profile)
            except ValueError as exc:
                raise ValueError(f"SCALES[{claim!r}][{k}] {dict(cfg)}: {exc}") from None
            jobs_list.append((claim, k, dict(cfg), resolved.as_strings(), sorted(resolved.entries)))
    out = Path(results_dir) if results_dir is not None else Path("results") / "audit-scales"
    options = {"profile": profile, "device": device, "seed": seed, "pytest_args": list(pytest_args),
               "threads": threads}  # fmt: skip

    start = time.time()

    def one(job) -> dict:
        claim, k, cfg, items, _ = job
        d = out / claim / str(k)
        extra = [a for item in items for a in ("--rcbench-set", item)]
        cmd = runner.pytest_command(seed, d, profile=profile, device=device, papers=[], claims=[claim],
                                    pytest_args=[*extra, *pytest_args])  # fmt: skip
        info = runner.run_pytest(seed, d, {**options, "claim": claim, "set": items}, cmd, fresh, timeout, threads,
                                 budget_left=None if budget is None else budget - (time.time() - start))  # fmt: skip
        if verbose and not info.get("skipped"):
            print(f"rcbench audit --scales: {claim} {' '.join(items)} ({runner.describe(info)})", flush=True)
        return info

    # breadth first: every claim's first configuration, then every second one, ... (under a --budget the table
    # then covers as many claims as possible); the table keeps the claims' order
    order_run = sorted(range(len(jobs_list)), key=lambda i: (jobs_list[i][1], i))
    done = dict(zip(order_run, runner.run_all(jobs, [jobs_list[i] for i in order_run], one)))
    infos = [done[i] for i in range(len(jobs_list))]
    rows = []
    for (claim, k, cfg, items, touched), info in zip(jobs_list, infos):
        d = out / claim / str(k)
        runs = pd.DataFrame(runner.rows_of_run(seed, d, info), columns=runner.RUN_COLUMNS)
        mine = runs[runs["claim"] == claim]
        outcomes = list(mine["outcome"]) or list(runs.loc[runs["claim"] == "(session)", "outcome"])
        outcome, verdict = _verdict(outcomes)
        reason = "; ".join(r for r in runs["reason"].fillna("") if r)
        if info.get("skipped"):
            outcome, verdict, reason, mine = "not run", "not run (budget)", "--budget exhausted", mine.iloc[:0]
        wall = info["wall_s"]
        try:
            run = None if info.get("skipped") else json.loads((d / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            run = None
        if run is not None:
            wall = run.get("wall_time_s", wall) if info.get("reused") else wall
            unread = [e for e in touched if e not in run.get("options", {}).get("set_read", touched)]
            if unread and verdict != "not run":  # the test never read these entries: it ran at its own point
                verdict = f"override not read ({', '.join(unread)})"
        rows.append({"claim": claim, "config": json.dumps(cfg, sort_keys=False), "set": " ".join(items),
                     "outcome": outcome, "verdict": verdict, "tests": len(mine),
                     "failed_checks": "; ".join(c for c in mine["failed_checks"].fillna("") if c)[:300],
                     "reason": reason[:300], "wall_s": wall})  # fmt: skip
    frame = pd.DataFrame(rows, columns=COLUMNS)
    write_frame(out / "scales.csv", frame)
    from rcbench.results import write_atomic

    write_atomic(out / "scales.md", "# Scale audit\n\n" + format_table(frame, "github") + "\n")
    write_json(out / "scales.json", {"options": options, "grids": selected, "wall_s": round(time.time() - start, 1),
                                     "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                                     "runs": infos, "table": frame.to_dict(orient="records")})  # fmt: skip
    return frame


def format_table(table: pd.DataFrame, fmt: str = "simple") -> str:
    from tabulate import tabulate

    show = table[["claim", "config", "verdict", "failed_checks"]].copy()
    show["failed_checks"] = show["failed_checks"].map(lambda s: s if len(s) <= 70 else s[:69] + "…")
    return tabulate(show, headers="keys", tablefmt=fmt, showindex=False)


def cmd_scales(args) -> int:
    try:
        table = scale_audit(args.paper, args.claim, seed=args.seed, profile=args.profile, device=args.device,
                            results_dir=args.results_dir, jobs=args.jobs, threads=args.threads or None,
                            fresh=args.fresh, timeout=args.timeout, budget=args.budget)  # fmt: skip
    except (ValueError, FileNotFoundError) as exc:
        print(f"rcbench audit: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_table(table))
    out = Path(args.results_dir) if args.results_dir else Path("results") / "audit-scales"
    counts = table["verdict"].value_counts().to_dict()
    print(f"\n{len(table)} configurations of {table['claim'].nunique()} claims: {json.dumps(counts)}  |  "
          f"{out / 'scales.csv'}")  # fmt: skip
    return 0 if table["verdict"].isin(["reproduced", "partially reproduced", "not reproduced"]).all() else 1
