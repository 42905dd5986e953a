"""Progress output (rcbench.report.progress): a live tqdm bar on a terminal, a few plain lines in a log (CI, a file,
a pipe): one at every 10 % of the steps, one when a step ends ``every_s`` seconds after the last line, and the final
one; no carriage returns. Used by the claims plugin (``rcbench run``) and the report's figures."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

from rcbench.report import render
from rcbench.report.progress import is_terminal, progress_bar


def _run(total, **kw) -> list[str]:
    buf = io.StringIO()
    bar = progress_bar(total, desc="claims", unit="test", file=buf, **kw)
    for i in range(total):
        bar.set_description(f"claims [C{i + 1}]", refresh=False)
        bar.set_postfix_str(f"ok {i + 1}", refresh=False)
        bar.update(1)
    bar.write("FAIL claim C9: something", file=buf)
    bar.close()
    text = buf.getvalue()
    assert "\r" not in text and text.endswith("\n")
    return text.splitlines()


def test_a_log_gets_a_line_every_ten_percent():
    lines = _run(74, every_s=3600)
    assert not is_terminal(io.StringIO())
    assert lines[0] == "claims:   0% 0/74 [00:00<?]"
    assert [ln.split(": ", 1)[1].split("%")[0].strip() for ln in lines if "%" in ln] == \
        ["0", "11", "22", "32", "43", "54", "65", "76", "86", "97", "100"]  # every ceil(74/10) = 8 tests, and the end
    assert lines[-1].startswith("claims [C74]: 100% 74/74 [") and lines[-1].endswith(", ok 74]")
    assert "FAIL claim C9: something" in lines and sum("100%" in ln for ln in lines) == 1


def test_time_between_lines_and_small_totals():
    assert len(_run(200, every_s=0.0)) == 1 + 200 + 1  # every_s = 0: a line per step (+ the 0 % line, the FAIL line)
    assert len(_run(3, every_s=3600)) == 1 + 3 + 1  # fewer than 10 steps: one line each, the last one not repeated


def test_a_terminal_gets_the_live_bar():
    buf = io.StringIO()
    bar = progress_bar(10, desc="claims", unit="test", file=buf, terminal=True)
    for _ in range(10):
        bar.update(1)
    bar.close()
    assert "\r" in buf.getvalue() and "10/10" in buf.getvalue()


def test_report_figures_progress_in_a_log(capsys):
    bar = render._bar(4, None)  # stderr is captured: not a terminal
    for _ in range(4):
        bar.update(1)
    bar.close()
    err = capsys.readouterr().err
    assert "report: 100% 4/4" in err and "\r" not in err
    assert render._bar(4, False) is None and render._bar(0, None) is None


def test_claims_plugin_prints_lines_without_a_terminal(tmp_path):
    (tmp_path / "test_x.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.mark.parametrize("k", range(19))
        def test_ok(k):
            pass

        def test_bad():
            raise ValueError("boom in my layer")
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:terminal", "-p",
                           "rcbench.report.progress", "-p", "no:cacheprovider", "-o", "addopts="],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1
    assert "\r" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "% " in ln and "/20 [" in ln]
    assert len(lines) == 1 + 10 and lines[-1].startswith("claims [test_bad]: 100% 20/20")  # every 2 tests
    assert "FAIL" in proc.stderr and "boom in my layer" in proc.stderr
