"""``report.md`` and a self-contained ``report.html`` for a stored run (no recomputation).

Both are jinja2 templates shipped with the package (``rcbench/report/templates/report.{html,md}.j2``); this module
builds their context. Layout: the headline (verdict counts) and the run's configuration (environment, options, the
``--set`` overrides and substituted components), the legend of marks and tags, the findings (where a paper and its
code, or a paper and the measurement, disagree: the shipped findings text with this run's numbers), then one section
per paper with one row per claim and each claim's details: statement and source, the components and overrides it
ran with, every check, the reasons, the tolerance derivation (the test's docstring), its provenance (shipped
``rcbench/docs/claims/<paper>.md``) and its figures. Optional: the mutation / scale audit tables (``mutants.csv``,
``scales.csv``) when the run directory (or its ``audit/``) holds them.

All text (docstrings, statements, reasons, captions, tolerances) is Markdown with plain-text math, rendered by
:mod:`rcbench.report.text`. Figures (:mod:`rcbench.report.figures`) are encoded once as PNG at
``figures.DPI`` and cached in ``figures/`` under a hash of what they are drawn from (the claim's frame files, checks
and options, and the figure code), so a re-render redraws only what changed; ``report.md`` links the PNG files,
``report.html`` embeds them (base64), so it can be mailed or attached to a CI run on its own.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import io
import json
import os
import re
import sys
from pathlib import Path

import pandas as pd

from rcbench.catalog import CLAIMS, PAPERS
from rcbench.report import provenance as prov
from rcbench.report.text import to_html, to_inline_html, to_text
from rcbench.report.verdicts import MARKS, claim_table, fmt, summary_counts
from rcbench.results import FRAMES_DIR, load_run, write_atomic

__all__ = ["render_report", "DOCS_FILE", "load_docs", "ReportResult", "build_context", "FIG_DIR"]

DOCS_FILE = "claims_doc.json"
FIG_DIR = "figures"
FIG_INDEX = "index.json"
#: bump to invalidate every cached figure (encoding or caption handling changed)
FIG_CACHE_VERSION = 1
#: colours of the report PNGs' adaptive palette
PNG_COLORS = 64
AUDIT_FILES = {"mutants": "mutants.csv", "scales": "scales.csv"}
SUMMARY_HEADERS = ["claim", "verdict", "measured", "paper / bound", "tolerance", "negative control", "runtime"]
CHECK_HEADERS = ["statistic", "measured", "expected", "tolerance", "result", "note"]


class ReportResult(dict):
    """``{"md": Path, "html": Path, "rows": [...], "counts": {...}, "figures": int, "drawn": int}``."""


def load_docs(run_dir: Path, claims_dir: Path | None = None, nodeids=()) -> dict:
    """Docstrings of the run's tests: ``claims_doc.json`` stored by ``rcbench run``; tests it lacks (a claims file
    that did not parse when the run started, an older run) are read from ``claims_dir`` when given."""
    from rcbench.report.sources import doc_for, docs_by_nodeid

    f = Path(run_dir) / DOCS_FILE
    docs = {}
    if f.is_file():
        try:
            docs = json.loads(f.read_text(encoding="utf-8"))
        except ValueError:
            docs = {}
    missing = [n for n in nodeids if doc_for(n, docs) is None] if docs else list(nodeids) or [None]
    if missing and claims_dir is not None and Path(claims_dir).is_dir():
        try:
            scanned = docs_by_nodeid(claims_dir)
        except Exception:
            scanned = {}
        docs = {**scanned, **docs}
    return docs


def render_report(run_dir, *, claims_dir=None, figures: bool = True, progress: bool | None = None) -> ReportResult:
    """Render ``run_dir`` (an rcbench results directory) into ``report.md`` and ``report.html`` there.

    ``progress``: the figures' progress on stderr (a tqdm bar on a terminal, a few plain lines otherwise;
    ``False``: none)."""
    run_dir = Path(run_dir)
    run = load_run(run_dir, frames=False)  # the frames are read per claim, only for the figures to redraw
    nodeids = [t["nodeid"] for t in run["run"].get("tests", [])]
    docs = load_docs(run_dir, claims_dir, nodeids)
    ctx = build_context(run, run_dir, docs, figures=figures, progress=progress)
    env = _environment_jinja()
    md = write_atomic(run_dir / "report.md", env.get_template("report.md.j2").render(**ctx))
    page = write_atomic(run_dir / "report.html", env.get_template("report.html.j2").render(**ctx))
    return ReportResult(md=md, html=page, rows=ctx["rows"], counts=ctx["counts"],
                        figures=sum(len(r["figures"]) for r in ctx["rows"]), drawn=ctx["drawn"])  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
def _environment_jinja():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("rcbench.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)  # fmt: skip
    env.filters["md"] = lambda s: _markup(to_html(str(s or "")))
    env.filters["mdi"] = lambda s: _markup(to_inline_html(s))
    env.filters["txt"] = to_text
    env.filters["cell"] = lambda s: to_text(s).replace("|", "\\|").replace("\n", " ")
    env.filters["fmt"] = fmt
    env.filters["demote"] = lambda s: re.sub(r"^(#+) ", r"#\1 ", str(s or ""), flags=re.M)
    return env


def _markup(html: str):
    from markupsafe import Markup

    return Markup(html)


def build_context(run: dict, run_dir: Path, docs: dict, *, figures: bool = True, progress: bool | None = None) -> dict:
    """Everything the templates show, from a loaded run (:func:`rcbench.results.load_run`)."""
    meta = run["run"]
    opts = meta.get("options", {})
    rows = claim_table(run)
    subs = {k: opts[k] for k in ("norm", "init", "activation") if opts.get(k)}
    overrides = _overrides(opts.get("set"))
    drawn = 0
    if figures:
        drawn = _attach_figures(rows, run, run_dir, progress)
    else:
        for r in rows:
            r["figures"], r["figure_note"] = [], ""
    ran = {r["id"] for r in rows}
    for r in rows:
        r["check_rows"] = _check_rows(r)
        r["derivations"] = _derivations(r, docs)
        r["provenance"] = prov.claim_provenance(r["id"])
        r["provenance_path"] = prov.doc_path(r["paper"])
        r["findings"] = [f for f in prov.findings_for(r["id"])]
        r["overrides"] = overrides.get(r["id"], [])
        r["components"] = _components(r, docs, subs)
        r["guarantee"] = _guarantee_word(r["verdict"]) if subs else ""
        r["test_rows"] = [{"name": t["nodeid"].split("::", 1)[-1], "outcome": t["outcome"],
                           "duration": float(t.get("duration_s") or 0.0)} for t in r["tests"]]  # fmt: skip
        r["summary"] = _summary_row(r)
    papers = []
    for letter in sorted({r["paper"] for r in rows}):
        papers.append({"letter": letter, "title": PAPERS.get(letter, ""), "intro": prov.paper_intro(letter),
                       "rows": [r for r in rows if r["paper"] == letter], "doc_path": prov.doc_path(letter),
                       "missing": [c for c, cl in CLAIMS.items() if cl.paper == letter and c not in ran]})  # fmt: skip
    return {
        "run": meta, "rows": rows, "papers": papers, "counts": summary_counts(rows), "marks": MARKS,
        "headline": ", ".join(f"{MARKS[k]} {k}: {v}" for k, v in summary_counts(rows).items()) or "no claims ran",
        "environment": _environment(meta, subs, overrides), "subs": subs, "overrides": overrides,
        "legend": prov.legend(), "findings": _findings(rows), "audit": _audit_tables(run_dir),
        "summary_headers": SUMMARY_HEADERS, "check_headers": CHECK_HEADERS, "fig_dir": FIG_DIR, "drawn": drawn,
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
def _environment(run: dict, subs: dict, overrides: dict) -> list[tuple[str, str]]:
    env, opts = run.get("environment", {}), run.get("options", {})
    started = run.get("started")
    when = _dt.datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S") if started else "?"
    items = [
        ("rcbench", f"{env.get('rcbench', '?')} (git {env.get('git_commit', '?')})"),
        ("torch", str(env.get("torch", "?"))),
        ("python", str(env.get("python", "?"))),
        ("device", f"{env.get('device', '?')} ({env.get('device_name', '')})"),
        ("dtype", f"{env.get('dtype', '?')}; matmul precision {env.get('matmul_precision', '?')}, "
                  f"TF32 {env.get('tf32', '?')}, {env.get('threads', '?')} threads"),  # fmt: skip
        ("profile", str(opts.get("profile", "?"))),
        ("master seed", str(opts.get("seed", "?"))),
        ("selection", f"papers {opts.get('paper') or 'all'}, claims {opts.get('claim') or 'all'}"),
        ("data root", str(opts.get("data-root") or "none (data shipped with scikit-learn / generated)")),
    ]
    if opts.get("results"):
        items.append(("results store", str(opts["results"])))
    items.append(("components", ", ".join(f"--{k} {v}" for k, v in subs.items()) or "the papers' own (none substituted)"))
    flat = [s for v in overrides.values() for s in v]
    items.append(("config overrides (--set)", ", ".join(flat) if flat else "none"))
    items.append(("started", f"{when}; wall time {run.get('wall_time_s', '?')} s"))
    return items


def _overrides(items) -> dict[str, list[str]]:
    """``["C7.width=128", "D8.train.epochs=2"]`` -> ``{"C7": [...], "D8": [...]}`` (claim id = the entry's prefix)."""
    if isinstance(items, dict):
        items = [f"{k}={v}" for k, v in items.items()]
    out: dict[str, list[str]] = {}
    for s in items or []:
        m = re.match(r"([A-Za-z]\d+)", str(s))
        out.setdefault(m.group(1).upper() if m else "?", []).append(str(s))
    return out


def _components(row: dict, docs: dict, subs: dict) -> list[dict]:
    """The component kinds the claim's tests declare, with the paper's default and what this run used."""
    from rcbench.report.sources import doc_for

    kinds: dict[str, set] = {}
    for t in row["tests"]:
        entry = doc_for(t["nodeid"], docs) or {}
        for k in entry.get("components") or []:
            kinds.setdefault(k, set())
        for k, v in (entry.get("defaults") or {}).items():
            if k in kinds:
                kinds[k].update(str(x) for x in v if x not in ("?", None))
    return [{"kind": k, "paper": ", ".join(sorted(v)) or "the paper's own", "used": subs.get(k)}
            for k, v in sorted(kinds.items())]  # fmt: skip


def _check_rows(row: dict) -> list[dict]:
    out = []
    for c in row["checks"]:
        params = c.get("params") or ""
        if isinstance(params, str) and params.startswith("{"):
            try:
                params = ", ".join(f"{k}={v}" for k, v in json.loads(params.replace("'", '"')).items())
            except ValueError:
                pass
        out.append({"control": bool(c.get("control")), "statistic": str(c["statistic"]), "params": str(params),
                    "measured": fmt(c["measured"]), "expected": fmt(c["expected"]),
                    "tolerance": str(c.get("tolerance") or ""), "passed": bool(c["passed"]),
                    "note": str(c.get("note") or "")})  # fmt: skip
    return out


def _derivations(row: dict, docs: dict) -> list[dict]:
    from rcbench.report.sources import doc_for

    seen, out = set(), []
    for t in row["tests"]:
        entry = doc_for(t["nodeid"], docs)
        if entry and entry.get("doc") and entry["doc"] not in seen:
            seen.add(entry["doc"])
            out.append({"test": t["nodeid"].split("::", 1)[-1].split("[", 1)[0], "doc": entry["doc"]})
    return out


def _guarantee_word(verdict: str) -> str:
    return {"reproduced": "kept", "partially reproduced": "partly kept", "failed": "LOST",
            "not reproduced": "not reproduced (as with the paper's component)"}.get(verdict, verdict)  # fmt: skip


def _summary_row(r: dict) -> list[str]:
    return [r["id"], f"{r['mark']} {r['verdict']}", r["measured"], r["expected"], r["tolerance"], r["control_text"],
            f"{r['runtime_s']:.1f} s"]  # fmt: skip


def _findings(rows: list[dict]) -> list[dict]:
    """The shipped findings of the claims in this run, each with this run's evidence (the documented
    non-reproductions' reasons and failing checks), then any non-reproduction of this run without shipped text."""
    by_id = {r["id"]: r for r in rows}
    out, covered = [], set()
    for f in prov.findings():
        present = [c for c in f.claims if c in by_id]
        if not present:
            continue
        evidence = []
        for cid in present:
            evidence += _evidence(by_id[cid])
        covered.update(present)
        out.append({"anchor": f.anchor, "key": f.key, "title": f.title, "kind": f.kind, "body": f.body,
                    "claims": [(c, by_id[c]["mark"], by_id[c]["verdict"]) for c in present], "evidence": evidence})  # fmt: skip
    for r in rows:
        ev = _evidence(r)
        if ev and r["id"] not in covered:
            out.append({"anchor": f"finding-run-{r['id']}", "key": r["id"], "kind": "recorded in this run",
                        "title": f"{r['id']}: a documented non-reproduction", "body": "",
                        "claims": [(r["id"], r["mark"], r["verdict"])], "evidence": ev})  # fmt: skip
            r["findings"] = list(r.get("findings") or []) + [out[-1]]
    return out


def _evidence(row: dict) -> list[dict]:
    """This run's numbers behind a finding: each strict xfail (or XPASS) of the claim with its reason and the checks
    that failed as documented."""
    ev = []
    for t in row["tests"]:
        reason = t.get("reason") or ""
        if t["outcome"] not in ("xfailed", "xpassed") and "XPASS" not in reason:
            continue
        failed = [c for c in t.get("checks", []) if not c.get("passed") and not c.get("control")]
        ev.append({"test": t["nodeid"].split("::", 1)[-1], "outcome": t["outcome"], "reason": reason,
                   "checks": [{"statistic": c["statistic"], "measured": fmt(c["measured"]), "expected": fmt(c["expected"]),
                               "note": c.get("note") or ""} for c in failed]})  # fmt: skip
    return ev


def _audit_tables(run_dir: Path) -> list[dict]:
    """``mutants.csv`` / ``scales.csv`` of a mutation or scale audit (``rcbench audit --mutants`` / ``--scales``),
    when the run directory, its ``audit/``, or its parent (a run inside an audit directory) holds them."""
    out = []
    for title, name in AUDIT_FILES.items():
        # the run itself, its audit/ directory, or the audit directory the run belongs to (audit-mutants/<mutant>/)
        for path in (run_dir / name, run_dir / "audit" / name, run_dir.parent / name):
            if path.is_file():
                try:
                    df = pd.read_csv(path, keep_default_na=False, dtype=str)
                except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
                    continue
                out.append({"title": title, "file": os.path.relpath(path, run_dir), "columns": list(df.columns),
                            "rows": df.values.tolist()})  # fmt: skip
                break
    return out


# ---------------------------------------------------------------------------------------------------------------
# figures: drawn by rcbench.report.figures, encoded here, cached in figures/ by content hash
def _figure_code_hash() -> str:
    h = hashlib.sha256(f"v{FIG_CACHE_VERSION}".encode())
    here = Path(__file__).parent
    for p in sorted(here.glob("*.py")):
        if p.name.startswith(("figures", "plotting", "paper_figures")):
            h.update(p.name.encode() + p.read_bytes())
    try:
        import matplotlib

        h.update(matplotlib.__version__.encode())
    except ImportError:  # pragma: no cover
        pass
    return h.hexdigest()


def _claim_key(code: str, row: dict, run_dir: Path, frames: list[str], options: dict) -> str:
    """What a claim's figures are drawn from: its frame files, its checks, the run's options, the figure code."""
    h = hashlib.sha256(code.encode() + row["id"].encode())
    for name in sorted(frames):
        p = run_dir / FRAMES_DIR / f"{name}.csv"
        h.update(name.encode() + (p.read_bytes() if p.is_file() else b"?"))
    h.update(json.dumps([row["checks"], options], sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def _encode(fig, dpi: int) -> bytes:
    """One draw on the Agg canvas at ``dpi``, then a PNG with a 64-colour adaptive palette: plots are line art on a
    white ground, so the palette is visually lossless and makes the file 3-4x smaller than matplotlib's RGBA PNG
    (the report's size budget) for about the cost of the zlib pass it replaces."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    img = Image.fromarray(np.ascontiguousarray(rgb)).quantize(colors=PNG_COLORS, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)  # level 9: 2% smaller, 10x the zlib time
    plt.close(fig)
    return buf.getvalue()


def _attach_figures(rows: list[dict], run: dict, run_dir: Path, progress: bool | None) -> int:
    """Set ``row["figures"] = [{"caption", "file", "png"}]`` and ``row["figure_note"]``; returns how many were drawn
    (the rest came from the cache)."""
    fig_dir = run_dir / FIG_DIR
    index_file = fig_dir / FIG_INDEX
    try:
        index = json.loads(index_file.read_text(encoding="utf-8")) if index_file.is_file() else {}
    except ValueError:
        index = {}
    stems: dict[str, list[str]] = {}
    for p in sorted((run_dir / FRAMES_DIR).glob("*.csv")):
        stems.setdefault(p.stem.partition("__")[0], []).append(p.stem)
    options = run["run"].get("options", {})
    checks = run.get("checks")
    code = _figure_code_hash()  # the figure modules' source (figures.DPI included): their import waits for a miss
    F = None
    drawn, new_index = 0, {}
    bar = _bar(len(rows), progress)
    for r in rows:
        cid = r["id"]
        if bar is not None:
            bar.set_description(f"report [{cid}]", refresh=False)
        key = _claim_key(f"{code}/{PNG_COLORS}", r, run_dir, stems.get(cid, []), options)
        cached = index.get(cid)
        items = None
        if cached and cached.get("key") == key:
            try:
                items = [{"caption": it["caption"], "file": it["file"], "png": (fig_dir / it["file"]).read_bytes()}
                         for it in cached["figures"]]  # fmt: skip
                note = cached.get("note", "")
            except OSError:
                items = None
        if items is None:
            if F is None:
                from rcbench.report import figures as F
            frames = {stem.partition("__")[2] or stem: _read_frame(run_dir / FRAMES_DIR / f"{stem}.csv")
                      for stem in stems.get(cid, [])}  # fmt: skip
            made, note = _figures_for(F, cid, frames, checks, options)
            items = []
            for k, (caption, fig) in enumerate(made, 1):
                png = _encode(fig, getattr(F, "DPI", 90))
                name = f"{cid}__{k}.png"
                write_atomic(fig_dir / name, png)
                items.append({"caption": caption, "file": name, "png": png})
            drawn += len(items)
        new_index[cid] = {"key": key, "note": note, "figures": [{"caption": i["caption"], "file": i["file"]} for i in items]}
        for i in items:
            i["b64"] = base64.b64encode(i["png"]).decode("ascii")
        r["figures"], r["figure_note"] = items, note
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    write_atomic(index_file, json.dumps({**index, **new_index}, indent=1, sort_keys=True) + "\n")
    return drawn


def _read_frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def _figures_for(F, cid: str, frames: dict, checks, options: dict):
    """``figures_for`` of :mod:`rcbench.report.figures` (the designed figures take the checks and options too)."""
    import inspect

    params = inspect.signature(F.figures_for).parameters
    if "checks" in params:
        return F.figures_for(cid, frames, checks=checks, options=options)
    return F.figures_for(cid, frames)


def _bar(total: int, progress: bool | None):
    """The figures' progress on stderr: a live bar on a terminal, a few plain lines in a log (every 10 %, or after
    30 s; :func:`rcbench.report.progress.progress_bar`); none with ``progress=False``."""
    if progress is False or total == 0:
        return None
    from rcbench.report.progress import progress_bar

    return progress_bar(total, desc="report", unit="claim", file=sys.stderr, leave=False, mininterval=0.2)
