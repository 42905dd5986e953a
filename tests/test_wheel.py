"""rcbench as a user gets it: build the sdist and the wheel, install the wheel away from the checkout, and use it.

The wheel is installed with ``pip install --no-deps --target SITE`` and used with ``PYTHONPATH=SITE`` from a
temporary working directory, so the checkout is not on the path (and torch is not installed twice). Then, as a user
would: ``python -m rcbench list --json`` (74 claims, every one with tests), ``rcbench run --claim A1,B2`` from that
directory, the CI gate recipe of the README (``examples/ci/gate.sh``: a stored baseline, ``rcbench compare`` as the
gate, green on an unchanged run and red on a regression), and a tiny external project with its own ``conftest.py``
(its own ``--device`` and ``--seed`` options and ``device`` fixture) that runs two claims through the pytest plugin
next to its own test. No network: the build uses the installed setuptools (``--no-isolation``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("rcbench", "claims", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def _tracked(root: Path) -> list[str] | None:
    try:
        out = subprocess.run(["git", "ls-files", *SOURCES], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split() if out.returncode == 0 and out.stdout.strip() else None


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """sdist + wheel built from a copy of the checkout's tracked sources, the wheel installed into ``site``."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    files = _tracked(ROOT)
    if files is None:  # not a git checkout: copy the folders
        for name in SOURCES:
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name)
    else:
        for f in files:
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    out = tmp / "dist"
    try:
        import build  # noqa: F401

        cmd = [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out), str(src)]
    except ImportError:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "bdist_wheel" in proc.stdout + proc.stderr:
        # setuptools < 70.1 without the `wheel` package cannot build offline: build in pip's isolation (PyPI only)
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheel = next(out.glob("rcbench-*.whl"))
    site = tmp / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
                           str(wheel)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    sdist = next(out.glob("rcbench-*.tar.gz"), None)
    return {"tmp": tmp, "src": src, "wheel": wheel, "sdist": sdist, "site": site, "cwd": cwd}


def _env(dist) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RCBENCH_RESULTS"))}
    env.update(PYTHONPATH=str(dist["site"]), RCBENCH_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(dist, *args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd or dist["cwd"], env=_env(dist), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_wheel_and_sdist_ship_the_claims(dist):
    """The wheel holds the checkout's claims/ as rcbench/claims/ (the same bytes), and the plugin's entry point."""
    claims = sorted(p.name for p in (dist["src"] / "claims").glob("*.py"))
    assert "conftest.py" in claims and len([c for c in claims if c.startswith("test_")]) >= 4
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        for c in claims:
            assert f"rcbench/claims/{c}" in names, c
            assert whl.read(f"rcbench/claims/{c}") == (dist["src"] / "claims" / c).read_bytes(), c
        ep = next(n for n in names if n.endswith("entry_points.txt"))
        text = whl.read(ep).decode()
        assert "[pytest11]" in text and "rcbench.pytest_plugin = rcbench.pytest_plugin" in text
    if dist["sdist"] is not None:
        with tarfile.open(dist["sdist"]) as tar:
            members = {Path(m.name).relative_to(Path(m.name).parts[0]).as_posix() for m in tar.getmembers()}
        assert {f"claims/{c}" for c in claims} <= members
        assert {"setup.py", "pyproject.toml", "MANIFEST.in"} <= members


def test_installed_list_shows_every_claim_with_tests(dist):
    where = _run(dist, sys.executable, "-c", "import rcbench, rcbench.claims; print(rcbench.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(dist["site"]), where.stdout
    proc = _run(dist, sys.executable, "-m", "rcbench", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    claims = json.loads(proc.stdout)
    assert len(claims) == 74
    assert all(c["implemented"] for c in claims), [c["id"] for c in claims if not c["implemented"]]


def test_installed_run_and_the_ci_gate(dist):
    """``rcbench run`` from a directory that is not the checkout, then the README's CI gate on that baseline."""
    tmp = dist["tmp"]
    proc = _run(dist, sys.executable, "-m", "rcbench", "run", "--claim", "A1,b2", "--results-dir", str(tmp / "run"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = json.loads((tmp / "run" / "run.json").read_text())
    assert {t["claim"] for t in run["tests"]} == {"A1", "B2"}
    assert all(t["outcome"] == "passed" for t in run["tests"])
    assert all(t["nodeid"].startswith("claims/test_") for t in run["tests"])
    assert (tmp / "run" / "report.html").is_file()
    header = next(line for line in proc.stdout.splitlines() if line.startswith("id "))
    assert header.split() == ["id", "paper", "measured", "paper", "/", "bound", "tolerance", "verdict"]
    assert "report:" in proc.stdout

    gate = ["bash", str(ROOT / "examples" / "ci" / "gate.sh"), str(tmp / "run")]
    env = dict(_env(dist), RCBENCH=f"{sys.executable} -m rcbench")
    ok = subprocess.run([*gate, str(tmp / "new"), "--claim", "A1,B2"], cwd=dist["cwd"], env=env,
                        capture_output=True, text=True, timeout=600)  # fmt: skip
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    assert "no regression" in ok.stdout
    # the identity in place of BN breaks B2 (norm preservation): the gate turns red and names the claim
    bad = subprocess.run([*gate, str(tmp / "bad"), "--claim", "B2", "--norm", "rcbench.mutants:identity_norm"],
                         cwd=dist["cwd"], env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert bad.returncode == 1, bad.stdout[-3000:] + bad.stderr[-3000:]
    assert "REGRESSION in B2" in bad.stdout


EXTERNAL_CONFTEST = '''
import pytest


def pytest_addoption(parser):  # the project's own options, with the names rcbench uses in its own checkout
    parser.addoption("--device", default="their-device")
    parser.addoption("--seed", default="their-seed")
    parser.addoption("--profile", default="their-profile")


@pytest.fixture
def device(pytestconfig):
    return pytestconfig.getoption("--device")
'''

EXTERNAL_TEST = '''
def test_their_own(device, pytestconfig):
    assert device == "their-device"
    assert pytestconfig.getoption("--seed") == "their-seed"
'''


def test_plugin_in_an_external_project(dist):
    """Another project's pytest runs two claims through the plugin next to its own test; nothing clashes."""
    proj = dist["tmp"] / "theirproject"
    (proj / "tests").mkdir(parents=True)
    (proj / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (proj / "conftest.py").write_text(textwrap.dedent(EXTERNAL_CONFTEST))
    (proj / "tests" / "test_theirs.py").write_text(textwrap.dedent(EXTERNAL_TEST))
    results = dist["tmp"] / "plugin-run"
    proc = _run(dist, sys.executable, "-m", "pytest", "-q", "tests", "--pyargs", "rcbench.claims",
                "--rcbench-claim", "A1,B2", "--rcbench-seed", "3", "--rcbench-results-dir", str(results), cwd=proj)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "6 passed" in proc.stdout, proc.stdout[-2000:]  # their test + A1 (4 parametrisations) + B2
    run = json.loads((results / "run.json").read_text())
    assert {t["claim"] for t in run["tests"]} == {"A1", "B2"} and run["options"]["seed"] == 3
    # a session of theirs that collects no claim: the plugin stays out of it (no results written)
    alone = _run(dist, sys.executable, "-m", "pytest", "-q", "tests", cwd=proj)
    assert alone.returncode == 0 and "1 passed" in alone.stdout, alone.stdout + alone.stderr
    assert not (proj / "results").exists()
