"""Reliability audit: how often does each claim's verdict flip when only the master seed changes?

``rcbench audit --reseeds 20 [--paper A]`` runs the claims of the quick profile (a pytest subprocess on ``claims/``)
once per alternate master seed ``--seed k`` (``k = first_seed .. first_seed + reseeds - 1``; the default seed 0
of ``rcbench run`` is not among them), each into its own results directory, and reports for every claim its
empirical failure rate with a Clopper-Pearson interval (:func:`rcbench.stats.binomial_interval`).

A *failure* is a run in which the claim's verdict differs from the one it is written to have: a claim test that
fails or errors, or an ``xfail`` claim that passes (``xpassed``; a strict ``xfail`` that passes is reported by
pytest as failed). Skipped runs are not trials. The goal is at most one failure in twenty runs (rate <= 0.05);
``meets_goal`` says whether the observed failures are within ``floor(runs / 20)``. A claim above that has a tolerance
or a sample size that is wrong.

Outputs in ``--results-dir`` (default ``results/audit``): ``seed-<k>/`` (each run's ``run.json``, ``checks.csv``,
``pytest.log``), ``audit_runs.csv`` (one row per seed x test: outcome, failed checks), ``audit.csv`` and
``audit.json`` (one row per claim), ``audit_constant_checks.csv`` (the hidden-seed flag: every stochastic check
whose measured value is identical under all the master seeds, see :func:`constant_checks`). A rerun reuses the
seed directories that already hold a finished run with the same options (``--fresh`` to recompute).

``rcbench audit --mutants`` (:mod:`rcbench.audit_mutants`) and ``rcbench audit --scales``
(:mod:`rcbench.audit_scales`) share its pytest runs (:mod:`rcbench.audit_runner`: one pytest subprocess per seed /
per mutant / per configuration); this module holds the reseed audit and the ``rcbench audit`` command, which
dispatches to them (imports go one way: audit -> audit_mutants, audit_scales -> audit_runner).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rcbench.audit_runner import (
    FAILURE_OUTCOMES,
    RUN_COLUMNS,
    check_selection,
    claims_dir,
    describe,
    finished_run,
    pytest_command,
    rows_of_run,
    run_all,
    run_pytest,
    split,
)
from rcbench.catalog import CLAIMS
from rcbench.results import RUN_FILE, write_frame, write_json
from rcbench.stats import binomial_interval

__all__ = ["audit", "summarize_runs", "register", "main", "FAILURE_OUTCOMES", "GOAL_RATE"]

#: at most one failure in twenty runs
GOAL_RATE = 1 / 20

# the runner's helpers under their former names here (kept for callers of rcbench.audit._rows_of_run & co.)
_claims_dir, _split, _check_selection, _pytest_command = claims_dir, split, check_selection, pytest_command
_finished_run, _run_seed, _rows_of_run = finished_run, run_pytest, rows_of_run


def summarize_runs(runs: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Per claim: runs (seeds in which it ran), failures (seeds in which any of its tests failed, errored or
    xpassed), failure rate, Clopper-Pearson interval, whether it meets the goal, and what failed."""
    cols = ["claim", "paper", "tests", "runs", "failures", "failure_rate", "ci_low", "ci_high", "meets_goal",
            "outcomes", "failing_seeds", "failed_checks"]  # fmt: skip
    if runs.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    order = {cid: i for i, cid in enumerate(CLAIMS)}
    for cid, group in sorted(runs.groupby("claim"), key=lambda kv: order.get(kv[0], -1)):
        per_seed = group.groupby("seed")["outcome"].agg(list)
        ran = per_seed[per_seed.map(lambda outs: any(o != "skipped" for o in outs))]
        failing = sorted(int(s) for s, outs in ran.items() if any(o in FAILURE_OUTCOMES or o == "session-error"
                                                                   for o in outs))  # fmt: skip
        n, k = len(ran), len(failing)
        ci = binomial_interval(k, n, confidence=confidence) if n else None
        flipped = group["outcome"].isin(FAILURE_OUTCOMES) & group["failed_checks"].fillna("").astype(bool)
        checks = group.loc[flipped, "failed_checks"].value_counts()
        rows.append({
            "claim": cid,
            "paper": group["paper"].iloc[0] if cid in CLAIMS else "",
            "tests": group["nodeid"].nunique(),
            "runs": n,
            "failures": k,
            "failure_rate": k / n if n else math.nan,
            "ci_low": ci.low if ci else math.nan,
            "ci_high": ci.high if ci else math.nan,
            "meets_goal": bool(n) and k <= math.floor(n * GOAL_RATE + 1e-9),
            "outcomes": ", ".join(f"{o} {c}" for o, c in group["outcome"].value_counts().items()),
            "failing_seeds": ",".join(map(str, failing)),
            "failed_checks": "; ".join(f"{s} (x{c})" for s, c in checks.items())[:300],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def audit(
    reseeds: int = 20,
    papers: str | Sequence[str] | None = None,
    claims: str | Sequence[str] | None = None,
    *,
    first_seed: int = 1,
    profile: str = "quick",
    device: str = "cpu",
    results_dir: str | Path | None = None,
    jobs: int = 1,
    threads: int | None = 1,
    fresh: bool = False,
    timeout: float | None = None,
    pytest_args: Sequence[str] = (),
    confidence: float = 0.95,
    verbose: bool = True,
) -> pd.DataFrame:
    """Rerun the claims under ``reseeds`` alternate master seeds and return the per-claim failure table (also
    written to ``results_dir``; see the module docstring). ``jobs`` pytest runs at a time, each with ``threads``
    intra-op threads (``OMP_NUM_THREADS``; default 1: on a shared or small machine, several small-matrix runs with
    multi-threaded kernels are many times slower than single-threaded ones; ``None`` inherits the environment)."""
    if isinstance(reseeds, bool) or not isinstance(reseeds, int) or reseeds < 1:
        raise ValueError(f"reseeds must be a positive integer, got {reseeds!r}")
    papers, claims = split(papers), split(claims)
    check_selection(papers, claims, profile=profile, jobs=jobs)
    out = Path(results_dir) if results_dir is not None else Path("results") / "audit"
    seeds = list(range(first_seed, first_seed + reseeds))
    options = {"profile": profile, "device": device, "papers": papers, "claims": claims,
               "pytest_args": list(pytest_args), "threads": threads}  # fmt: skip

    def one(seed: int) -> dict:
        d = out / f"seed-{seed}"
        cmd = pytest_command(seed, d, profile=profile, device=device, papers=papers, claims=claims,
                             pytest_args=pytest_args)  # fmt: skip
        info = run_pytest(seed, d, {**options, "seed": seed}, cmd, fresh, timeout, threads)
        if verbose:
            print(f"rcbench audit: seed {seed} ({describe(info)})", flush=True)
        return info

    infos = run_all(jobs, seeds, one)
    rows = [r for info in infos for r in rows_of_run(info["seed"], out / f"seed-{info['seed']}", info)]
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    table = summarize_runs(runs, confidence=confidence)
    constant = constant_checks({info["seed"]: out / f"seed-{info['seed']}" for info in infos})
    table.attrs["constant_checks"] = constant
    write_frame(out / "audit_runs.csv", runs)
    write_frame(out / "audit.csv", table)
    write_frame(out / "audit_constant_checks.csv", constant)
    write_json(out / "audit.json", {"seeds": seeds, "options": options, "confidence": confidence,
                                    "runs": infos, "claims": table.to_dict(orient="records"),
                                    "constant_checks": constant.to_dict(orient="records")})  # fmt: skip
    return table


# ---------------------------------------------------------------------------------------------------------------
# hidden seeds: stochastic checks whose measured value does not change with the master seed
# ---------------------------------------------------------------------------------------------------------------
CONSTANT_COLUMNS = ["claim", "nodeid", "statistic", "measured", "seeds", "control"]


def exact_claim(claim_id: str) -> bool:
    """Whether a claim's catalogue kind is exact only (``exact``, ``exact (numerical quadrature)``, ...; not
    ``exact (quadrature); Monte-Carlo variant statistical`` nor ``exact (CPU profile); training``): all its checks
    are deterministic identities or closed forms and exempt from the hidden-seed flag."""
    kind = CLAIMS[claim_id].kind.lower() if claim_id in CLAIMS else ""
    return kind.startswith("exact") and not any(w in kind for w in ("statistical", "training", "monte"))


#: a float this close to an integer (relative) is a saturated discrete statistic (a Spearman correlation of 1 that
#: round-off wrote as 0.9999999999999999, a count); one below ROUNDOFF_FLOOR in magnitude sits at the float64 floor
#: (an identity error of 2.2e-16, a gap decayed to round-off), where equal values over seeds carry no information
INTEGER_RTOL, ROUNDOFF_FLOOR = 1e-9, 1e-12


def _discrete(value) -> bool:
    """A value that can be the same over seeds without a hidden seed: a bool, int, string, ``None``, a non-finite
    float (an infinite gap), a float within :data:`INTEGER_RTOL` of an integer (a saturated count, rank, fraction
    0 or 1, correlation 1; within 1e-9 of 0, a round-off residual such as a quadrature's Parseval error), a float at
    the round-off floor (``|v| <= ROUNDOFF_FLOOR``), or a list of those."""
    if isinstance(value, (list, tuple)):
        return all(_discrete(v) for v in value)
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) <= ROUNDOFF_FLOOR:
            return True
        return abs(value - round(value)) <= INTEGER_RTOL * max(1.0, abs(value))
    return True


def constant_checks(seed_dirs: dict[int, Path]) -> pd.DataFrame:
    """The stochastic checks whose measured value is identical in every seed's run (``seed -> results dir``; at
    least two seeds with a run): the signature of a random draw that does not derive from the master seed.

    Exempt, as deterministic by construction: checks recorded with ``record.check(..., deterministic=True)`` (a
    closed form, a quadrature, a deterministic recursion), every check of a claim whose catalogue kind is exact only
    (:func:`exact_claim`: identities at round-off), and discrete measured values (:func:`_discrete`), which can
    legitimately saturate. A check is matched over seeds by its test node id and statistic name."""
    values: dict[tuple[str, str], dict] = {}
    ran = 0
    for seed, d in sorted(seed_dirs.items()):
        if not (Path(d) / RUN_FILE).is_file():
            continue
        try:  # run.json keeps the measured values as JSON numbers at full precision
            run = json.loads((Path(d) / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        ran += 1
        for test in run.get("tests", []):
            for c in test.get("checks", []):
                key = (test["nodeid"], c["statistic"])
                entry = values.setdefault(key, {"claim": test["claim"], "measured": [], "seeds": [],
                                                "deterministic": False, "control": bool(c.get("control"))})
                entry["measured"].append(c.get("measured"))
                entry["seeds"].append(seed)
                entry["deterministic"] |= bool(c.get("deterministic", False))
    rows = []
    for (nodeid, statistic), e in values.items():
        if ran < 2 or len(e["seeds"]) != ran or e["deterministic"] or exact_claim(e["claim"]):
            continue
        first = e["measured"][0]
        if _discrete(first) or any(m != first for m in e["measured"][1:]):
            continue
        rows.append({"claim": e["claim"], "nodeid": nodeid, "statistic": statistic, "measured": first,
                     "seeds": ",".join(map(str, e["seeds"])), "control": e["control"]})  # fmt: skip
    return pd.DataFrame(rows, columns=CONSTANT_COLUMNS)


def format_table(table: pd.DataFrame) -> str:
    from tabulate import tabulate

    show = table.drop(columns=["outcomes"], errors="ignore").copy()
    for c in ("failure_rate", "ci_low", "ci_high"):
        show[c] = show[c].map(lambda v: f"{v:.3f}")
    return tabulate(show, headers="keys", tablefmt="simple", showindex=False,
                    maxcolwidths=[None] * 9 + [12, 50])  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``audit`` subcommand to an ``argparse`` subparsers object (``rcbench audit ...``)."""
    p = subparsers.add_parser("audit", help="rerun the claims under alternate master seeds (failure rates), under "
                                            "mechanism-removing mutants (--mutants) or at other configurations "
                                            "(--scales)", description=__doc__.split("\n\n")[0])  # fmt: skip
    what = p.add_mutually_exclusive_group()
    what.add_argument("--reseeds", type=int, default=20, help="number of alternate master seeds (default 20)")
    what.add_argument("--mutants", action="store_true",
                      help="mutation audit: every claim declaring a component, run with each mutant of that kind "
                           "(rcbench.mutants); claims x mutants table, mutation score, survivors")  # fmt: skip
    what.add_argument("--scales", action="store_true",
                      help="scale audit: every claim at each configuration of its claims module's SCALES, "
                           "through --set; verdict per configuration")  # fmt: skip
    p.add_argument("--mutant", help="with --mutants: comma-separated mutant names (default: all)")
    p.add_argument("--seed", type=int, default=0, help="with --mutants/--scales: the master seed (default 0)")
    p.add_argument("--first-seed", type=int, default=1, help="first alternate master seed (default 1)")
    p.add_argument("--paper", help="comma-separated paper letters, e.g. A,C")
    p.add_argument("--claim", help="comma-separated claim ids")
    p.add_argument("--profile", choices=["quick", "paper"], default="quick")
    p.add_argument("--device", default="cpu")
    p.add_argument("--results-dir", help="where to write (default results/audit)")
    p.add_argument("--jobs", type=int, default=1, help="pytest runs at a time (default 1)")
    p.add_argument("--threads", type=int, default=1, help="OMP threads per pytest run (default 1; 0 = inherit)")
    p.add_argument("--fresh", action="store_true", help="recompute seeds that already have a finished run")
    p.add_argument("--timeout", type=float, help="seconds per pytest run")
    p.add_argument("--budget", type=float, help="with --mutants/--scales: start no new pytest run after this many "
                                                "seconds; the rest are reported 'not run (budget)' (a rerun resumes)")
    p.set_defaults(func=cmd_audit)
    return p


def cmd_audit(args) -> int:
    if getattr(args, "mutants", False):
        from rcbench.audit_mutants import cmd_mutants

        return cmd_mutants(args)
    if getattr(args, "scales", False):
        from rcbench.audit_scales import cmd_scales

        return cmd_scales(args)
    if getattr(args, "mutant", None):
        print("rcbench audit: --mutant needs --mutants", file=sys.stderr)
        return 2
    try:
        table = audit(args.reseeds, args.paper, args.claim, first_seed=args.first_seed, profile=args.profile,
                      device=args.device, results_dir=args.results_dir, jobs=args.jobs,
                      threads=args.threads or None, fresh=args.fresh,
                      timeout=args.timeout)  # fmt: skip
    except (ValueError, FileNotFoundError) as exc:
        print(f"rcbench audit: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_table(table))
    above = table.loc[~table["meets_goal"].astype(bool), "claim"].tolist()
    out = Path(args.results_dir) if args.results_dir else Path("results") / "audit"
    print(f"\n{len(table)} claims; above the goal (> 1 failure in 20): {above or 'none'}  |  {out / 'audit.csv'}")
    constant = table.attrs.get("constant_checks")
    if constant is not None and len(constant):
        print(f"\nHidden seeds? {len(constant)} stochastic check(s) measured the same value under every master seed "
              f"(record them with deterministic=True if they are closed forms; else derive their draws from the "
              f"seed)  |  {out / 'audit_constant_checks.csv'}")  # fmt: skip
        for r in constant.itertuples():
            print(f"  {r.claim}  {r.statistic}  = {r.measured!r}")
    return 0 if not above and (constant is None or not len(constant)) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m rcbench.audit`` is ``rcbench audit`` (its own parser: this module does not import the CLI)."""
    parser = argparse.ArgumentParser(prog="rcbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
