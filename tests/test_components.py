"""Claims on the user's own module: ``--norm PACKAGE.MODULE:NAME`` end to end.

The suite's mutation test: substituting the identity for the normalisation must turn a BN claim into a failure, and
an equivalent re-implementation of the paper's BN must keep it passing. A broken user module (raises, wrong shape,
NaN) must give a message naming the component and the claim, and the other claims must still run.

Most tests use a tiny self-contained claims folder (a copy of the real harness, ``conftest.py`` files, plus two small
BN claims on real ``rcbench.networks.MLP`` nets) so they do not depend on the paper claims' runtimes; one test runs a
real paper claim that declares ``components=("norm",)`` when the checkout has one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from rcbench.components import ComponentError, checked, load_component
from rcbench.report.sources import scan_claims
from rcbench.report.verdicts import claim_table
from rcbench.results import load_run

ROOT = Path(__file__).resolve().parent.parent

USER_MODULE = '''
import torch
from torch import nn


class PaperBN(nn.Module):
    """The paper's BN re-implemented: every feature column to unit norm over the batch."""

    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        return x / x.norm(dim=0, keepdim=True)


class CenteredBN(nn.Module):
    """Centring + population std (rcbench's bn_centered)."""

    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        x = x - x.mean(0, keepdim=True)
        return x / x.pow(2).mean(0, keepdim=True).sqrt()


class CenteredStdBN(nn.Module):
    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        x = x - x.mean(0, keepdim=True)
        return x / x.std(0, keepdim=True)


def identity(d):
    return nn.Identity()


class Raises(nn.Module):
    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        raise RuntimeError("my layer is broken")


class WrongShape(nn.Module):
    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        return x[:, :-1]


class MakesNaN(nn.Module):
    def __init__(self, d):
        super().__init__()

    def forward(self, x):
        return x / 0.0 * 0.0


class BrokenAt48(nn.Module):
    """Works at width 32, raises at width 48: one claim fails, the other must still run and pass."""

    def __init__(self, d):
        super().__init__()
        if d == 48:
            raise ValueError("width 48 unsupported")

    def forward(self, x):
        return x / x.norm(dim=0, keepdim=True)
'''

TINY_CLAIMS = '''
"""Two small BN rank claims on real networks, parametric in the normalisation."""
import pytest

from rcbench import metrics
from rcbench.experiments.common import gaussian_input
from rcbench.networks import MLP


def _bn_rank(record, components, seed, width):
    """Linear chain, n = d = width, depth 300, 4 seeds. BN keeps soft rank >= 0.6 sqrt(d) (paper A, Thm 2 as
    operationalised by A3); without normalisation the chain collapses to r ~ 1 (measured 1.000 at d = 16)."""
    net = MLP(width, width, 300, norm=components.norm("bn"), ensemble=4, seed=seed)
    r = metrics.soft_rank(net(gaussian_input(width, width, seed=seed)).detach())
    bound = 0.6 * width ** 0.5
    record.check("min soft rank at depth 300", r.min(), expected=f">= {bound:.3g}", tolerance="A3 constant 0.6",
                 passed=bool(r.min() >= bound))
    record.verify()


@pytest.mark.claim("A3", components=("norm",))
def test_tiny_bn_rank_16(record, components, seed):
    _bn_rank(record, components, seed, 16)


@pytest.mark.claim("A4", components=("norm",))
def test_tiny_bn_rank_48(record, components, seed):
    _bn_rank(record, components, seed, 48)


@pytest.mark.claim("A1")
def test_not_parametric(record):
    record.check("one", 1.0, expected=1.0, tolerance="exact", passed=True)
    record.verify()
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A tiny project: the real harness (root and claims conftest.py) + TINY_CLAIMS + a user module."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "claims").mkdir()
    shutil.copy(ROOT / "conftest.py", root / "conftest.py")
    shutil.copy(ROOT / "claims" / "conftest.py", root / "claims" / "conftest.py")
    (root / "claims" / "test_tiny.py").write_text(textwrap.dedent(TINY_CLAIMS))
    (root / "usermods.py").write_text(USER_MODULE)
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    claim(id): claim id\n")
    return root


def run_cli(root: Path, out: Path, *args: str, claims_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "rcbench.cli", "run", "--results-dir", str(out), "--device", "cpu", "--no-report"]
    if claims_dir is not None:
        cmd += ["--claims-dir", str(claims_dir)]
    return subprocess.run(cmd + list(args), cwd=root, env=env, capture_output=True, text=True, timeout=900)


def verdicts(out: Path) -> dict[str, dict]:
    return {r["id"]: r for r in claim_table(load_run(out))}


# ---------------------------------------------------------------------------------------------------------------
def test_identity_norm_turns_the_bn_claim_into_a_failure(tiny, tmp_path):
    """The mutation test: the identity in place of BN must make the BN claims fail."""
    proc = run_cli(tiny, tmp_path / "r", "--norm", "usermods:identity", claims_dir=tiny / "claims")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v = verdicts(tmp_path / "r")
    assert set(v) == {"A3", "A4"}, "only the claims declaring the norm run; A1 is deselected"
    assert v["A3"]["verdict"] == "failed" and v["A4"]["verdict"] == "failed"
    assert "min soft rank" in v["A3"]["reasons"][0]
    assert "failed: 2" in proc.stdout


def test_equivalent_bn_keeps_the_claim_passing(tiny, tmp_path):
    proc = run_cli(tiny, tmp_path / "r", "--norm", "usermods:PaperBN", claims_dir=tiny / "claims")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    v = verdicts(tmp_path / "r")
    assert {k: r["verdict"] for k, r in v.items()} == {"A3": "reproduced", "A4": "reproduced"}
    run = load_run(tmp_path / "r")["run"]
    assert run["options"]["norm"] == "usermods:PaperBN"


def test_broken_module_names_component_and_claim_and_others_still_run(tiny, tmp_path):
    """BrokenAt48 raises for width 48 only: claim A4 fails naming the component, A3 still runs and passes."""
    proc = run_cli(tiny, tmp_path / "r", "--norm", "usermods:BrokenAt48", claims_dir=tiny / "claims")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v = verdicts(tmp_path / "r")
    assert v["A3"]["verdict"] == "reproduced"
    assert v["A4"]["verdict"] == "failed"
    reason = v["A4"]["reasons"][0]
    assert "ComponentError" in reason and "norm usermods:BrokenAt48" in reason and "width 48 unsupported" in reason
    # the console names the claim and the component: progress line and the final summary
    assert "claim A4" in proc.stderr and "norm usermods:BrokenAt48" in proc.stderr
    assert "A4 failed: " in proc.stdout and "usermods:BrokenAt48" in proc.stdout


@pytest.mark.parametrize(
    "name, message",
    [("Raises", "raised RuntimeError('my layer is broken')"), ("WrongShape", "returned (16, 15) for input of shape (16, 16)"),
     ("MakesNaN", "produced NaN or inf")],
)  # fmt: skip
def test_broken_module_messages(tiny, monkeypatch, name, message):
    """In-process: each broken module raises ComponentError naming the component inside a real network."""
    from rcbench.networks import MLP

    monkeypatch.syspath_prepend(str(tiny))
    norm = load_component(f"usermods:{name}", "norm")
    net = MLP(16, 16, 3, norm=norm, ensemble=2, seed=0)
    with pytest.raises(ComponentError, match="norm usermods:" + name) as info:
        net(torch.randn(16, 16, dtype=torch.float64))
    assert message in str(info.value)


def test_bad_specs_fail_before_any_work(tiny, tmp_path):
    with pytest.raises(ValueError, match="cannot import module"):
        load_component("no_such_pkg.mod:X", "norm")
    with pytest.raises(ValueError, match="not a built-in norm"):
        load_component("batchnorm9", "norm")
    proc = run_cli(tiny, tmp_path / "r", "--norm", "usermods:NoSuchName", claims_dir=tiny / "claims")
    assert proc.returncode not in (0, 1)
    assert "has no attribute 'NoSuchName'" in proc.stderr


def test_example_module_contract():
    """examples/my_norms.py: every layer keeps the shape and is finite; RMS equals the paper's BN up to sqrt(n)."""
    sys.path.insert(0, str(ROOT))
    try:
        from examples import my_norms
    finally:
        sys.path.remove(str(ROOT))
    x = torch.randn(8, 5, dtype=torch.float64)
    for name in my_norms.__all__:
        y = checked(getattr(my_norms, name), "norm", f"examples.my_norms:{name}")(5)(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
    rms = my_norms.BatchRMSNorm(5)(x)
    torch.testing.assert_close(rms, x / x.norm(dim=0, keepdim=True) * 8**0.5)


def test_list_shows_components(tiny):
    rows = {e["claim"]: e for e in scan_claims(tiny / "claims")}
    assert rows["A3"]["components"] == ["norm"] and rows["A3"]["defaults"] == {"norm": ["bn"]}
    assert rows["A1"]["components"] == []
    out = subprocess.run([sys.executable, "-m", "rcbench.cli", "list", "--paper", "A"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert out.returncode == 0 and "components" in out.stdout.splitlines()[0]


# ---------------------------------------------------------------------------------------------------------------
EQUIVALENT = {"bn": "PaperBN", "bn_centered": "CenteredBN", "bn_centered_std": "CenteredStdBN"}
PREFERRED = ("A4", "A3", "A6", "A7", "B12", "B13", "C7")


def _real_norm_claim():
    """A fast paper claim declaring the norm, with the paper's default norm and its equivalent user module."""
    entries = [e for e in scan_claims(ROOT / "claims") if "norm" in e.get("components", [])]
    by_claim = {}
    for e in entries:
        by_claim.setdefault(e["claim"], []).append(e)
    for cid in PREFERRED:
        es = by_claim.get(cid, [])
        defaults = {d for e in es for d in e.get("defaults", {}).get("norm", [])}
        if es and len(defaults) == 1 and next(iter(defaults)) in EQUIVALENT and not any(e["xfail"] for e in es):
            return cid, EQUIVALENT[next(iter(defaults))]
    return None


@pytest.mark.slow
@pytest.mark.parametrize("mutant", ["identity", "equivalent"])
def test_real_paper_claim_mutation(tiny, tmp_path, mutant):
    """On a real paper claim: the identity breaks it, the equivalent re-implementation of its BN keeps it."""
    found = _real_norm_claim()
    if found is None:
        pytest.skip("no fast paper claim declaring components=('norm',) with a paper-BN default yet")
    cid, equivalent = found
    module = "usermods:identity" if mutant == "identity" else f"usermods:{equivalent}"
    proc = run_cli(tiny, tmp_path / "r", "--claim", cid, "--norm", module, claims_dir=ROOT / "claims")
    v = verdicts(tmp_path / "r")
    if mutant == "identity":
        assert v[cid]["verdict"] == "failed", proc.stdout + proc.stderr
    else:
        assert v[cid]["verdict"] == "reproduced", proc.stdout + proc.stderr
