"""Paper B (Daneshmand, Joudaki, Bach 2021, *BN orthogonalizes representations*): the labels and small helpers its
figures share. The figures themselves (one per claim, B1-B32, registered with :func:`rcbench.report.plotting.figure`)
are in :mod:`rcbench.report.figures_b_lemmas` (B1-B11: identities and lemmas), :mod:`rcbench.report.figures_b_chains`
(B12-B20: the BN chain against depth and width, Fig. 2) and :mod:`rcbench.report.figures_b_nets` (B21-B32: networks
with activations and inits, and training); :mod:`rcbench.report.figures` imports all three.

The orthogonality gap ``V(H) = ‖H Hᵀ/‖H‖²_F − I_n/n‖_F`` is drawn on log axes as in Fig. 2; the paper's numbers
(Fig. 2b's slope −0.46, Thm 1's bound, Lemma 4's constants) are dashed, vanilla or buggy arms grey and dotted.
"""

from __future__ import annotations

import numpy as np

__all__ = ["V", "ACT", "loglog_fit", "parse_interval", "arm_label"]

#: the y label of the gap on a log axis; the paper's activations as legend labels
V = "orthogonality gap V (log)"
ACT = {"relu": "ReLU", "tanh": "tanh", "sin": "sin", "one_plus_tanh": "1 + tanh"}


def loglog_fit(xs, ys) -> tuple[float, float]:
    """Least-squares line through ``(log x, log y)``: ``(slope, intercept)``."""
    k, c = np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)
    return float(k), float(c)


def parse_interval(text) -> tuple[float, float] | None:
    """``"[-1.9, -1.4]"`` -> (-1.9, -1.4)."""
    t = str(text)
    if "[" not in t:
        return None
    parts = t[t.index("[") + 1: t.index("]")].split(",")
    try:
        return float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        return None


def arm_label(data, arm: str) -> str:
    """The legend label of an arm: ``bn`` names the normaliser (the user's module under ``--norm``), ``vanilla`` the
    control."""
    return {"bn": data.role("BN", "norm", "diag(M Mᵀ)^−½ M"), "vanilla": "control: vanilla (no BN)"}.get(arm, arm)
