"""The ``rcbench`` command line.

``rcbench list`` shows the claim catalogue; ``rcbench run`` runs the claim tests (the main job) and prints a
verdict table; both read the same records the claims harness writes (:mod:`rcbench.results`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from rcbench.catalog import CLAIMS, PAPERS
from rcbench.results import load_run, write_frame, write_json

__all__ = ["main"]


def _claims_dir() -> Path:
    """The ``claims/`` folder of the checkout (next to the package) or of the working directory."""
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (base / "claims" / "conftest.py").is_file():
            return base / "claims"
    raise SystemExit(
        "rcbench: cannot find the claims/ folder; run from an rcbench checkout (pip install -e .) or its root"
    )


# ---------------------------------------------------------------------------------------------------------------
def cmd_list(args) -> int:
    papers = set(_split(args.paper)) if args.paper else None
    rows = [c for c in CLAIMS.values() if papers is None or c.paper in papers]
    if args.json:
        print(json.dumps([c.__dict__ for c in rows], indent=2, ensure_ascii=False))
        return 0
    table = [(c.id, c.paper, _clip(c.source, 40), _clip(c.statement, 90)) for c in rows]
    print(tabulate(table, headers=["id", "paper", "source", "statement"], tablefmt="simple"))
    print(f"\n{len(rows)} claims. Papers: " + "; ".join(f"{k}: {v}" for k, v in PAPERS.items() if not papers or k in papers))
    return 0


def cmd_run(args) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.results_dir) if args.results_dir else Path("results") / f"run-{stamp}"
    cmd = [
        sys.executable, "-m", "pytest", str(_claims_dir()),
        "-o", "addopts=", "--strict-markers", "-p", "no:cacheprovider", "-q", "--no-header",
        "--profile", args.profile, "--device", args.device, "--seed", str(args.seed),
        "--results-dir", str(out),
    ]  # fmt: skip
    for opt in ("paper", "claim", "data_root", "norm", "init", "activation"):
        if getattr(args, opt):
            cmd += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
    print(f"rcbench: running the claims ({args.profile} profile, device {args.device}) -> {out}", flush=True)
    proc = subprocess.run(cmd + list(args.pytest_args or []))
    if proc.returncode not in (0, 1):  # 0 all good, 1 some claim failed: both leave results to show
        print(f"rcbench: pytest exited with code {proc.returncode}; see its output above", file=sys.stderr)
        if not (out / "run.json").is_file():
            return proc.returncode
    verdicts = verdict_table(load_run(out))
    write_frame(out / "verdicts.csv", verdicts)
    write_json(out / "verdicts.json", verdicts.to_dict(orient="records"))
    print()
    print(tabulate(verdicts, headers="keys", tablefmt="simple", showindex=False, maxcolwidths=[6, 5, 28, 22, 18, 28, 16]))
    counts = verdicts["verdict"].value_counts().to_dict()
    print("\n" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + f"  |  results: {out}")
    return proc.returncode


def verdict_table(run: dict) -> pd.DataFrame:
    """One row per claim: id, paper, source, measured, expected, tolerance, verdict (worst over its tests)."""
    order = ["failed", "error", "unexpectedly reproduced", "not reproduced", "skipped", "reproduced"]
    rows = []
    tests = pd.DataFrame(run["run"]["tests"])
    if tests.empty:
        return pd.DataFrame(columns=["id", "paper", "source", "measured", "expected", "tolerance", "verdict"])
    for cid, group in tests.groupby("claim", sort=False):
        verdicts = set(group["verdict"])
        verdict = next((v for v in order if v in verdicts), "reproduced")
        if verdict == "not reproduced" and "reproduced" in verdicts:
            verdict = "partially reproduced"
        checks = [c for cs in group["checks"] for c in cs if not c["control"]]
        first = checks[0] if checks else {"statistic": "", "measured": "", "expected": "", "tolerance": ""}
        more = f" (+{len(checks) - 1} checks)" if len(checks) > 1 else ""
        rows.append(
            {
                "id": cid,
                "paper": CLAIMS[cid].paper,
                "source": CLAIMS[cid].source,
                "measured": f"{first['statistic']}: {_num(first['measured'])}{more}",
                "expected": _num(first["expected"]),
                "tolerance": first["tolerance"],
                "verdict": verdict,
            }
        )
    key = {cid: i for i, cid in enumerate(CLAIMS)}
    return pd.DataFrame(rows).sort_values("id", key=lambda s: s.map(key)).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_num(v) for v in value[:4]) + (", …]" if len(value) > 4 else "]")
    return "" if value is None else str(value)


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
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--paper", help="comma-separated paper letters, e.g. A,C")
    pr.add_argument("--claim", help="comma-separated claim ids, e.g. A1,B13")
    pr.add_argument("--data-root", help="root of torchvision data sets (download=False)")
    for kind in ("norm", "init", "activation"):
        pr.add_argument(f"--{kind}", help=f"substitute your {kind} (PACKAGE.MODULE:NAME) in the claims parametric in it")
    pr.add_argument("--results-dir", help="where to write the results (default results/run-<timestamp>)")
    pr.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    pr.set_defaults(func=cmd_run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
