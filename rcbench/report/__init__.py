"""The product face of a claims run: verdict tables, figures, ``report.md`` / ``report.html`` and live progress.

* :mod:`rcbench.report.verdicts` — one row per claim, verdicts in the reproducibility community's words.
* :mod:`rcbench.report.sources` — what the claims files declare (components, docstrings), read with :mod:`ast`.
* :mod:`rcbench.report.figures` — the designed figure of each claim, drawn from the experiments' tidy frames.
* :mod:`rcbench.report.render` — ``report.md`` and a self-contained ``report.html`` from the jinja2 templates in
  ``rcbench/report/templates/`` (figures as embedded palette PNGs, cached by content hash).
* :mod:`rcbench.report.text` — Markdown (markdown-it-py) with plain-text math rendered as Unicode / HTML.
* :mod:`rcbench.report.provenance` — the shipped provenance pages, findings and legend (``rcbench/docs/``).
* :mod:`rcbench.report.progress` — a pytest plugin (``-p rcbench.report.progress``) with a tqdm progress bar.

Everything here reads a stored run (:func:`rcbench.results.load_run`); nothing is recomputed.
"""

from rcbench.report.verdicts import MARKS, claim_table, summary_counts

__all__ = ["MARKS", "claim_table", "summary_counts", "render_report"]


def render_report(run_dir, **kwargs):
    """Write ``report.md`` and ``report.html`` into ``run_dir`` (see :func:`rcbench.report.render.render_report`)."""
    from rcbench.report.render import render_report as _render

    return _render(run_dir, **kwargs)
