"""The published paper-scale records and the README's claim table generated from them.

Layout (tracked in the repository)::

    published/paper-cpu-2026-12/<A|B|C|D>/     one judged paper-profile run per paper (or per group of claims):
        run.json, checks.csv, verdicts.csv, verdicts.json   as ``rcbench run`` writes them (no frames/ unless tiny)

Every ``run.json`` below the folder counts; a claim judged in several runs takes the latest (``started``).

``python -m rcbench.published --readme README.md`` rewrites the claim table of the README between the markers
``<!-- claims-table:start -->`` and ``<!-- claims-table:end -->``: id, claim and source from :mod:`rcbench.catalog`,
the quick-profile verdict kept from the table being replaced (or taken from a run with ``--quick RUN_DIR``), and the
paper-scale column from the published records: the verdict and the measured time of each claim judged at paper scale,
else the estimate of ``rcbench plan`` (:mod:`rcbench.cost`): ``not run: est. X CPU`` or, beyond
:data:`GPU_ABOVE_S` on all cores, ``needs a GPU (est. X CPU, Y GPU)``. Without ``--readme`` the table is printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from rcbench.catalog import CLAIMS
from rcbench.cost import SHARED

__all__ = ["PUBLISHED", "paper_scale_verdicts", "readme_table", "replace_table", "main", "GPU_ABOVE_S"]

PUBLISHED = Path(__file__).resolve().parent.parent / "published" / "paper-cpu-2026-12"
START, END = "<!-- claims-table:start -->", "<!-- claims-table:end -->"
#: claims estimated above this on all CPU cores are marked "needs a GPU" (12 hours)
GPU_ABOVE_S = 12 * 3600.0
_ROW = re.compile(r"^\| ([A-D]\d+) \|")
#: claim -> the reason of its skip in the published runs (filled by :func:`paper_scale_verdicts`)
SKIPPED: dict[str, str] = {}


def paper_scale_verdicts(root: str | Path = PUBLISHED) -> dict[str, dict]:
    """claim id -> ``{"verdict", "runtime_s", "run"}`` from every ``run.json`` below ``root`` (latest run wins)."""
    from rcbench.report.verdicts import claim_table
    from rcbench.results import load_run

    out: dict[str, dict] = {}
    SKIPPED.clear()
    for run_file in sorted(Path(root).rglob("run.json")):
        try:
            run = load_run(run_file.parent, frames=False)
        except (OSError, ValueError, KeyError) as exc:
            print(f"rcbench.published: skipping {run_file}: {exc}", file=sys.stderr)
            continue
        if run["run"].get("options", {}).get("profile") != "paper":
            continue
        started = run["run"].get("started", 0) or 0
        # claims whose tests computed calls in-process (arguments a store cannot key): their time is the run's
        # ... and claims none of whose tests read a store cell (everything computed in the judged run itself),
        # except those reading another claim's cached computation (SHARED), which read no cell either
        in_process, reads = set(), Counter()
        for t in run["run"].get("tests", []):
            if "store" not in t:
                continue
            reads[t["claim"]] += int((t["store"] or {}).get("read") or 0)
            if (t["store"] or {}).get("computed"):
                in_process.add(t["claim"])
        in_process |= {c for c, n in reads.items() if n == 0 and c not in SHARED}
        for row in claim_table(run):
            if row["verdict"] == "skipped":
                if row["id"] not in out:  # a skip (e.g. the data set is absent) shows where nothing was judged
                    SKIPPED[row["id"]] = str((row.get("reasons") or ["no reason given"])[0]).split(":")[0]
                continue
            prev = out.get(row["id"])
            if prev is None or started >= prev["started"]:
                out[row["id"]] = {"verdict": row["verdict"], "runtime_s": float(row.get("runtime_s") or 0.0),
                                  "run": str(run_file.parent), "started": started,
                                  # judged from a results store: the run's time is the judging, not the computing
                                  "from_store": bool(run["run"].get("options", {}).get("results"))
                                  and row["id"] not in in_process}  # fmt: skip
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def existing_quick(readme_text: str) -> dict[str, str]:
    """claim id -> the quick-profile verdict cell of the README table being replaced."""
    out = {}
    for line in readme_text.splitlines():
        m = _ROW.match(line)
        if m:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if len(cells) >= 4:
                out[m.group(1)] = cells[3]
    return out


def quick_from_run(run_dir: str | Path) -> dict[str, str]:
    from rcbench.report.verdicts import claim_table
    from rcbench.results import load_run

    return {r["id"]: r["verdict"] for r in claim_table(load_run(run_dir, frames=False))}


#: claim -> seconds: the summed compute time (``elapsed_s``, one thread) of the store cells the claim's tests read in
#: the published runs, written by ``benchmarks/validate_cost.py --reads`` next to the records
COMPUTE_FILE = "compute_seconds.json"


def compute_seconds(root: str | Path = PUBLISHED) -> dict[str, float]:
    f = Path(root) / COMPUTE_FILE
    try:
        return {k: float(v) for k, v in json.loads(f.read_text(encoding="utf-8")).get("claims", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def paper_cell(cid: str, judged: dict[str, dict], costs: dict, computed: dict[str, float] | None = None) -> str:
    from rcbench.cost import human

    c = costs.get(cid)
    if cid in judged:
        j = judged[cid]
        if j.get("from_store"):
            # the time of the computing (the cells read) plus the judging run's own time (in-process computing)
            from rcbench.cost import SHARED

            if computed and SHARED.get(cid) in computed:  # one cached computation with the claim it names
                return f"{j['verdict']} (computed with {SHARED[cid]})"
            if computed and cid in computed:
                return f"{j['verdict']} ({human(computed[cid] + j['runtime_s'])})"
            est = f"; est. {human(c.cpu_1core_s)} CPU to compute" if c is not None else ""
            return f"{j['verdict']} (judged from the store{est})"
        return f"{j['verdict']} ({human(j['runtime_s'])})"
    if cid in SKIPPED:
        return _clip(f"skipped: {SKIPPED[cid]}", 80)
    if c is None:
        return "not run"
    if c.cpu_all_s > GPU_ABOVE_S:
        return f"needs a GPU (est. {human(c.cpu_1core_s)} CPU, {human(c.gpu_s)} GPU)"
    return f"not run: est. {human(c.cpu_1core_s)} CPU"


def readme_table(quick: dict[str, str], root: str | Path = PUBLISHED) -> str:
    """The Markdown claim table (one row per claim of the catalogue)."""
    from rcbench.cost import plan_claims

    judged = paper_scale_verdicts(root)
    computed = compute_seconds(root)
    costs = {c.claim: c for c in plan_claims(profile="paper")}
    lines = ["| id | claim | source | quick-profile verdict | paper-scale verdict (this CPU) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for cid, c in CLAIMS.items():
        lines.append(f"| {cid} | {_cell(_clip(c.statement, 109))} | {_cell(_clip(c.source, 39))} | "
                     f"{quick.get(cid, 'not run')} | {paper_cell(cid, judged, costs, computed)} |")  # fmt: skip
    n = len(judged)
    lines.append("")
    lines.append(f"Paper-scale column: {n} of {len(CLAIMS)} claims judged from `published/paper-cpu-2026-12/` "
                 f"(verdict; its measured time on one core: the compute time of the store cells it read plus its "
                 f"judging run, at the machine's load then; the plan's estimate where the cells' times are not "
                 f"known); the others show the estimate of `rcbench plan --profile paper` "
                 f"(one CPU core; \"needs a GPU\" above {GPU_ABOVE_S / 3600:.0f} h on all cores). Generated by "
                 f"`python -m rcbench.published --readme README.md`.")  # fmt: skip
    return "\n".join(lines)


def replace_table(readme_text: str, table: str) -> str:
    """Put ``table`` between the markers (first time: in place of the current claim table)."""
    if START in readme_text and END in readme_text:
        head, rest = readme_text.split(START, 1)
        _, tail = rest.split(END, 1)
        return f"{head}{START}\n{table}\n{END}{tail}"
    lines = readme_text.splitlines()
    idx = [i for i, l in enumerate(lines) if _ROW.match(l)]
    if not idx:
        raise ValueError("no claim table (rows '| A1 | ...') and no markers in the README")
    first, last = idx[0] - 2, idx[-1]  # header and separator lines above the first row
    return "\n".join(lines[:first] + [START, table, END] + lines[last + 1 :]) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rcbench.published", description=__doc__.split("\n\n")[0])
    p.add_argument("--readme", help="rewrite the claim table of this README in place")
    p.add_argument("--published", default=str(PUBLISHED), help="the published records (default: the repository's)")
    p.add_argument("--quick", help="take the quick-profile column from this run directory")
    p.add_argument("--json", action="store_true", help="print the paper-scale verdicts as JSON")
    args = p.parse_args(argv)
    if args.json:
        print(json.dumps(paper_scale_verdicts(args.published), indent=1))
        return 0
    text = Path(args.readme).read_text(encoding="utf-8") if args.readme else ""
    try:
        quick = quick_from_run(args.quick) if args.quick else existing_quick(text)
    except (OSError, ValueError) as exc:
        print(f"rcbench.published: {exc}", file=sys.stderr)
        return 2
    table = readme_table(quick, args.published)
    if not args.readme:
        print(table)
        return 0
    try:
        new = replace_table(text, table)
    except ValueError as exc:
        print(f"rcbench.published: {args.readme}: {exc}", file=sys.stderr)
        return 2
    from rcbench.results import write_atomic

    write_atomic(args.readme, new)
    print(f"rewrote the claim table of {args.readme} ({len(CLAIMS)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
