"""Checks of what a user asks for, before any work: one ``ValueError`` line naming the argument and what is valid.

Used by ``rcbench run`` (before it starts pytest; exit status 2) and by the pytest harness
(:mod:`rcbench.pytest_plugin`, as ``pytest.UsageError``), so the two refuse the same inputs with the same words.
Cheap: nothing here imports torch except the device and component checks, and those only when asked.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from rcbench.catalog import CLAIMS, PAPERS

__all__ = ["papers", "claim_ids", "seed", "device", "data_root", "components", "component_claims", "results_dir"]


def _split(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [v.strip() for v in items if v and v.strip()]


def _ranges() -> str:
    by_paper: dict[str, list[str]] = {}
    for cid in CLAIMS:
        by_paper.setdefault(cid[0], []).append(cid)
    return ", ".join(f"{v[0]}–{v[-1]}" for v in by_paper.values())


def papers(value, label: str = "--paper") -> list[str]:
    """Paper letters, case-insensitive (``a,c`` -> ``["A", "C"]``)."""
    out = []
    for v in _split(value):
        if v.upper() not in PAPERS:
            raise ValueError(f"{label}: unknown paper {v!r}; valid: {', '.join(PAPERS)} (see `rcbench list`)")
        out.append(v.upper())
    return out


def claim_ids(value, label: str = "--claim") -> list[str]:
    """Claim ids, case-insensitive (``a3`` -> ``A3``); an unknown id is refused with the closest valid ones."""
    out = []
    for v in _split(value):
        cid = v.upper()
        if cid not in CLAIMS:
            close = difflib.get_close_matches(cid, list(CLAIMS), n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ValueError(f"{label}: unknown claim id {v!r}; {hint}valid ids: {_ranges()} (see `rcbench list`)")
        out.append(cid)
    return out


def seed(value, label: str = "--seed") -> int:
    try:
        s = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label}: the master seed must be a non-negative integer, got {value!r}") from None
    if s < 0:
        raise ValueError(f"{label}: the master seed must be a non-negative integer, got {value!r}")
    return s


def device(value, label: str = "--device") -> str:
    """``cpu``, ``auto``, or an available ``cuda``/``cuda:k``/``mps``; one line otherwise (no pytest INTERNALERROR)."""
    import torch

    from rcbench.device import resolve_device

    try:
        resolve_device(value)
    except ValueError:
        try:
            kind = torch.device(value).type
            why = f"{kind} is not available on this machine" if kind != "cpu" else "not a device"
        except (RuntimeError, TypeError):
            why = "not a torch device name"
        raise ValueError(f"{label} {value}: {why}; valid here: cpu, auto" + _available_cuda()) from None
    return str(value)


def _available_cuda() -> str:
    import torch

    if not torch.cuda.is_available():
        return ""
    return ", cuda" + "".join(f", cuda:{k}" for k in range(torch.cuda.device_count()))


#: the layout torchvision expects under ``--data-root`` for each data set the claims read.
DATA_LAYOUT = {
    "mnist": "MNIST/raw/train-images-idx3-ubyte (torchvision.datasets.MNIST)",
    "fashionmnist": "FashionMNIST/raw/train-images-idx3-ubyte (torchvision.datasets.FashionMNIST)",
    "cifar10": "cifar-10-batches-py/data_batch_1 ... data_batch_5, test_batch (torchvision.datasets.CIFAR10)",
}


def data_root(value, label: str = "--data-root") -> Path:
    root = Path(value).expanduser()
    if not root.is_dir():
        layout = "; ".join(f"DIR/{v}" for v in DATA_LAYOUT.values())
        raise ValueError(f"{label} {value}: not a directory. It must hold torchvision's folders ({layout}); "
                         "rcbench never downloads. Without --data-root the training claims use scikit-learn's "
                         "bundled digits")  # fmt: skip
    return root


def components(specs: dict[str, str]) -> dict[str, tuple[str, object]]:
    """kind -> (spec, loaded and probed component), for ``--norm`` / ``--init`` / ``--activation``."""
    from rcbench.components import probe_component

    return {kind: (spec, probe_component(spec, kind)) for kind, spec in specs.items() if spec}


def component_claims(kinds, ids=(), letters=(), claims_path=None) -> None:
    """Refuse a substituted component that no selected claim declares (else nothing would run), naming the claims
    that take it."""
    kinds = [k for k in kinds if k]
    if not kinds:
        return
    from rcbench.report.sources import components_by_claim

    if claims_path is None:
        from rcbench.claim_scan import claims_dir

        claims_path = claims_dir()
    declared = components_by_claim(claims_path)
    selected = [c for c in declared if (not ids or c in ids) and (not letters or c[0] in letters)]
    for kind in kinds:
        takers = [c for c, comps in declared.items() if kind in comps]
        if not any(kind in declared[c] for c in selected):
            what = f"claim(s) {', '.join(ids)}" if ids else f"paper(s) {', '.join(letters)}" if letters else "claims"
            article = "an" if kind[0] in "aeiou" else "a"
            raise ValueError(f"--{kind}: no selected {what} takes {article} {kind}; the claims that do: "
                             f"{', '.join(takers) or 'none'}")  # fmt: skip


def results_dir(value, label: str = "--results-dir", *, overwrite: bool = False) -> Path:
    """A new or empty directory, or (with ``overwrite``) an earlier rcbench run, which the new run replaces."""
    from rcbench.results import FOREIGN, RUN_FILE

    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{label} {value}: exists and is not a directory")
    if path.is_dir() and any(p.name not in FOREIGN for p in path.iterdir()):
        if not (path / RUN_FILE).is_file():
            raise ValueError(f"{label} {value}: not empty and not an rcbench results directory (no {RUN_FILE}); "
                             "give a new or empty directory")  # fmt: skip
        if not overwrite:
            raise ValueError(f"{label} {value}: holds an earlier run; give a new directory or --overwrite "
                             "(the new run then replaces it entirely)")  # fmt: skip
    return path
