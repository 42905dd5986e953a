"""``report.md`` and a self-contained ``report.html`` for a stored run (no recomputation).

Layout: the run's headline (verdict counts), the environment, then one section per paper with one row per claim
(verdict and mark, measured statistic against the paper's number, tolerance, negative control, runtime) followed by
each claim's details (every check, the tolerance derivation from the test's docstring, the xfail or failure reason,
the figures). Markdown figures are written to ``figures/*.png`` next to the report; the HTML embeds them as base64
PNG so the file can be mailed or attached to a CI run on its own.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path

from rcbench.catalog import CLAIMS, PAPERS
from rcbench.report.verdicts import MARKS, claim_table, fmt, summary_counts
from rcbench.results import load_run, write_atomic

__all__ = ["render_report", "DOCS_FILE", "load_docs", "ReportResult"]

DOCS_FILE = "claims_doc.json"
FIG_DIR = "figures"
LEGEND = (
    "[Re] reproduced · [~Re] partially reproduced (some parametrisations are documented non-reproductions) · "
    "[¬Re] not reproduced (documented xfail, or a check failed) · [Re?] a documented non-reproduction passed · "
    "[?] error, no verdict · [–] skipped"
)


class ReportResult(dict):
    """``{"md": Path, "html": Path, "rows": [...], "counts": {...}, "figures": int}``."""


def load_docs(run_dir: Path, claims_dir: Path | None = None) -> dict:
    """Docstrings of the run's tests: ``claims_doc.json`` stored by ``rcbench run``, else read from ``claims_dir``."""
    f = Path(run_dir) / DOCS_FILE
    if f.is_file():
        return json.loads(f.read_text(encoding="utf-8"))
    if claims_dir is not None and Path(claims_dir).is_dir():
        from rcbench.report.sources import docs_by_nodeid

        try:
            return docs_by_nodeid(claims_dir)
        except Exception:
            return {}
    return {}


def render_report(run_dir, *, claims_dir=None, figures: bool = True) -> ReportResult:
    """Render ``run_dir`` (an rcbench results directory) into ``report.md`` and ``report.html`` there."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    rows = claim_table(run)
    docs = load_docs(run_dir, claims_dir)
    figs: dict[str, list[tuple[str, bytes]]] = {}
    notes: dict[str, str] = {}
    if figures:
        from rcbench.report.figures import figures_for, frames_by_claim, to_png

        by_claim = frames_by_claim(run["frames"])
        for row in rows:
            made, note = figures_for(row["id"], by_claim.get(row["id"], {}))
            figs[row["id"]] = [(caption, to_png(fig)) for caption, fig in made]
            if note:
                notes[row["id"]] = note
        for cid, items in figs.items():
            for k, (_, png) in enumerate(items, 1):
                write_atomic(run_dir / FIG_DIR / f"{cid}__{k}.png", png)
    ctx = {"run": run["run"], "rows": rows, "counts": summary_counts(rows), "docs": docs, "figs": figs,
           "notes": notes, "run_dir": run_dir}  # fmt: skip
    md = write_atomic(run_dir / "report.md", _markdown(ctx))
    page = write_atomic(run_dir / "report.html", _html(ctx))
    return ReportResult(md=md, html=page, rows=rows, counts=ctx["counts"], figures=sum(len(v) for v in figs.values()))


# ---------------------------------------------------------------------------------------------------------------
def _environment(run: dict) -> list[tuple[str, str]]:
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
        ("started", f"{when}; wall time {run.get('wall_time_s', '?')} s"),
    ]
    subs = _substituted(run)
    if subs:
        items.append(("substituted components", ", ".join(f"--{k} {v}" for k, v in subs.items())))
    return items


def _substituted(run: dict) -> dict:
    opts = run.get("options", {})
    return {k: opts[k] for k in ("norm", "init", "activation") if opts.get(k)}


def _headline(counts: dict) -> str:
    return ", ".join(f"{MARKS[k]} {k}: {v}" for k, v in counts.items()) or "no claims ran"


def _missing(rows: list[dict], letter: str) -> list[str]:
    ran = {r["id"] for r in rows}
    return [cid for cid, c in CLAIMS.items() if c.paper == letter and cid not in ran]


def _check_rows(row: dict) -> list[list[str]]:
    out = []
    for c in row["checks"]:
        params = c.get("params") or ""
        out.append([
            ("control: " if c.get("control") else "") + str(c["statistic"]) + (f" {params}" if params else ""),
            fmt(c["measured"]), fmt(c["expected"]), str(c.get("tolerance") or ""),
            "pass" if c["passed"] else "FAIL",
        ])  # fmt: skip
    return out


def _derivations(row: dict, docs: dict) -> list[str]:
    from rcbench.report.sources import doc_for

    seen, out = set(), []
    for t in row["tests"]:
        entry = doc_for(t["nodeid"], docs)
        if entry and entry.get("doc") and entry["doc"] not in seen:
            seen.add(entry["doc"])
            out.append(entry["doc"])
    return out


def _guarantee_word(verdict: str) -> str:
    return {"reproduced": "kept", "partially reproduced": "partly kept", "failed": "LOST",
            "not reproduced": "not reproduced (as with the paper's component)"}.get(verdict, verdict)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _summary_row(r: dict) -> list[str]:
    return [r["id"], f"{r['mark']} {r['verdict']}", r["measured"], r["expected"], r["tolerance"], r["control_text"],
            f"{r['runtime_s']:.1f} s"]  # fmt: skip


SUMMARY_HEADERS = ["claim", "verdict", "measured", "paper / bound", "tolerance", "negative control", "runtime"]
CHECK_HEADERS = ["statistic", "measured", "expected", "tolerance", "result"]


def _markdown(ctx: dict) -> str:
    run, rows = ctx["run"], ctx["rows"]
    subs = _substituted(run)
    out = ["# rcbench report", "", f"**{_headline(ctx['counts'])}** ({len(rows)} claims)", "", LEGEND, ""]
    if subs:
        out += [f"Run with your component(s) substituted: {', '.join(f'`--{k} {v}`' for k, v in subs.items())}. "
                "Only the claims parametric in them ran; *reproduced* means the paper's guarantee holds for your "
                "component, *failed* means it is lost.", ""]  # fmt: skip
    out += ["## Environment", "", _md_table(["", ""], [[k, v] for k, v in _environment(run)]), ""]
    for letter in sorted({r["paper"] for r in rows} | set()):
        prows = [r for r in rows if r["paper"] == letter]
        out += [f"## Paper {letter}: {PAPERS.get(letter, '')}", "", _md_table(SUMMARY_HEADERS, [_summary_row(r) for r in prows]), ""]
        missing = _missing(rows, letter)
        if missing:
            out += [f"Not in this run: {', '.join(missing)}.", ""]
        for r in prows:
            out += [f"### {r['id']} {r['mark']} {r['verdict']}", "", f"*{r['statement']}* — {r['source']} ({r['kind']})", ""]
            if subs:
                out += [f"Guarantee with your component: **{_guarantee_word(r['verdict'])}**.", ""]
            tests = "; ".join(f"`{t['nodeid'].split('::', 1)[-1]}` {t['outcome']} ({t.get('duration_s', 0):.2f} s)"
                              for t in r["tests"])  # fmt: skip
            out += [f"Tests: {tests}", ""]
            for reason in r["reasons"]:
                out += [f"> **Reason:** {_md_cell(reason)}", ""]
            if r["checks"]:
                out += [_md_table(CHECK_HEADERS, _check_rows(r)), ""]
            for doc in _derivations(r, ctx["docs"]):
                out += ["<details><summary>Tolerance derivation (test docstring)</summary>", "", "```text", doc, "```",
                        "", "</details>", ""]  # fmt: skip
            if r["id"] in ctx["notes"]:
                out += [f"*{ctx['notes'][r['id']]}*", ""]
            for k, (caption, _) in enumerate(ctx["figs"].get(r["id"], []), 1):
                out += [f"![{r['id']} figure {k}]({FIG_DIR}/{r['id']}__{k}.png)", "", f"*{caption}*", ""]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.88em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} .env td:first-child{font-weight:600;width:14em}
.v-reproduced{background:#e3f5e1} .v-partially{background:#fdf6d8} .v-not{background:#f7e6d0}
.v-failed,.v-error,.v-unexpectedly{background:#f9d6d5} .v-skipped{background:#eee}
.fail{color:#b00;font-weight:600} .pass{color:#070}
figure{margin:1em 0} figure img{max-width:100%} figcaption{font-size:.85em;color:#555}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.6em;font-size:.85em} .reason{border-left:4px solid #c90;padding-left:.6em}
h3{margin-top:2em;border-bottom:1px solid #ddd}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _vclass(verdict: str) -> str:
    return "v-" + verdict.split()[0]


def _html(ctx: dict) -> str:
    run, rows = ctx["run"], ctx["rows"]
    subs = _substituted(run)
    h = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'><title>rcbench report</title>",
         f"<style>{CSS}</style></head><body>", "<h1>rcbench report</h1>",
         f"<p><strong>{_e(_headline(ctx['counts']))}</strong> ({len(rows)} claims)</p>", f"<p><small>{_e(LEGEND)}</small></p>"]  # fmt: skip
    if subs:
        h.append("<p>Run with your component(s) substituted: "
                 + ", ".join(f"<code>--{_e(k)} {_e(v)}</code>" for k, v in subs.items())
                 + ". Only the claims parametric in them ran; <em>reproduced</em> means the paper's guarantee holds "
                   "for your component, <em>failed</em> means it is lost.</p>")  # fmt: skip
    h.append("<h2>Environment</h2><table class='env'>")
    h += [f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in _environment(run)]
    h.append("</table>")
    for letter in sorted({r["paper"] for r in rows}):
        prows = [r for r in rows if r["paper"] == letter]
        h.append(f"<h2 id='paper-{_e(letter)}'>Paper {_e(letter)}: {_e(PAPERS.get(letter, ''))}</h2>")
        h.append("<table class='claims'><thead><tr>" + "".join(f"<th>{_e(x)}</th>" for x in SUMMARY_HEADERS) + "</tr></thead><tbody>")
        for r in prows:
            cells = _summary_row(r)
            cells[0] = f"<a href='#claim-{_e(r['id'])}'>{_e(r['id'])}</a>"
            h.append(f"<tr class='claim-row {_vclass(r['verdict'])}' data-claim='{_e(r['id'])}' data-verdict='{_e(r['verdict'])}'>"
                     + "".join(f"<td>{c if i == 0 else _e(c)}</td>" for i, c in enumerate(cells)) + "</tr>")  # fmt: skip
        h.append("</tbody></table>")
        missing = _missing(rows, letter)
        if missing:
            h.append(f"<p><small>Not in this run: {_e(', '.join(missing))}.</small></p>")
        for r in prows:
            h.append(f"<h3 id='claim-{_e(r['id'])}'>{_e(r['id'])} <span class='{_vclass(r['verdict'])}'>{_e(r['mark'])} "
                     f"{_e(r['verdict'])}</span></h3>")  # fmt: skip
            h.append(f"<p><em>{_e(r['statement'])}</em> — {_e(r['source'])} ({_e(r['kind'])})</p>")
            if subs:
                h.append(f"<p>Guarantee with your component: <strong>{_e(_guarantee_word(r['verdict']))}</strong>.</p>")
            h.append("<p>Tests: " + "; ".join(
                f"<code>{_e(t['nodeid'].split('::', 1)[-1])}</code> {_e(t['outcome'])} ({float(t.get('duration_s') or 0):.2f} s)"
                for t in r["tests"]) + "</p>")  # fmt: skip
            for reason in r["reasons"]:
                h.append(f"<p class='reason'><strong>Reason:</strong> {_e(reason)}</p>")
            if r["checks"]:
                h.append("<table class='checks'><tr>" + "".join(f"<th>{_e(x)}</th>" for x in CHECK_HEADERS) + "</tr>")
                for c in _check_rows(r):
                    cls = "pass" if c[-1] == "pass" else "fail"
                    h.append("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in c[:-1]) + f"<td class='{cls}'>{_e(c[-1])}</td></tr>")
                h.append("</table>")
            for doc in _derivations(r, ctx["docs"]):
                h.append(f"<details><summary>Tolerance derivation (test docstring)</summary><pre>{_e(doc)}</pre></details>")
            if r["id"] in ctx["notes"]:
                h.append(f"<p><small>{_e(ctx['notes'][r['id']])}</small></p>")
            for k, (caption, png) in enumerate(ctx["figs"].get(r["id"], []), 1):
                b64 = base64.b64encode(png).decode("ascii")
                h.append(f"<figure data-claim='{_e(r['id'])}'><img alt='{_e(r['id'])} figure {k}' "
                         f"src='data:image/png;base64,{b64}'><figcaption>{_e(caption)}</figcaption></figure>")  # fmt: skip
    h.append("</body></html>")
    return "\n".join(h) + "\n"
