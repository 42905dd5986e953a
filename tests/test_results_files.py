"""Results people can share: files get the user's umask, a reused results directory holds only the new run, the
``params`` column of ``checks.csv`` is JSON."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rcbench.results import FRAMES_DIR, replacing_dir, write_json

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_get_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = write_json(tmp_path / "x" / "run.json", {"a": 1})
        with replacing_dir(tmp_path / "run") as d:
            write_json(d / "run.json", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o777 & ~umask


def test_replacing_dir_drops_stale_files_keeps_foreign_ones(tmp_path):
    final = tmp_path / "r"
    with replacing_dir(final) as d:
        write_json(d / "run.json", {"n": 1})
        write_json(d / FRAMES_DIR / "A1__old.csv", {})
        write_json(d / "figures" / "old.json", {})
    (final / "pytest.log").write_text("log of the audit")
    with replacing_dir(final) as d:
        write_json(d / "run.json", {"n": 2})
        write_json(d / FRAMES_DIR / "A1__new.csv", {})
    assert json.loads((final / "run.json").read_text()) == {"n": 2}
    assert sorted(p.name for p in (final / FRAMES_DIR).iterdir()) == ["A1__new.csv"]
    assert not (final / "figures").exists()
    assert (final / "pytest.log").read_text() == "log of the audit"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary or old directory left behind
    with pytest.raises(RuntimeError), replacing_dir(final) as d:  # an error keeps the old run
        write_json(d / "run.json", {"n": 3})
        raise RuntimeError
    assert json.loads((final / "run.json").read_text()) == {"n": 2}


def test_checks_params_are_json_and_reruns_replace_the_run(tmp_path):
    out = tmp_path / "r"
    stale = out / FRAMES_DIR / "Z9__stale.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("x\n1\n")
    (out / "run.json").write_text('{"tests": []}')
    proc = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "claims" / "test_a_rank_collapse.py"), "-q",
                           "-p", "no:cacheprovider", "--claim", "A1", "--results-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not stale.exists()
    checks = pd.read_csv(out / "checks.csv", dtype=str, keep_default_na=False)
    params = [json.loads(p) for p in checks["params"] if p]
    assert params and all(isinstance(p, dict) and "tau" in p for p in params)
