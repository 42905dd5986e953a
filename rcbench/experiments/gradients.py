"""Experiments of paper C: Meterez, Joudaki, Orabona, Immer, Rätsch, Daneshmand, *Towards training without depth
limits: batch normalization without gradient explosion* (ICLR 2024, arXiv 2310.02012).

Layout: paper C writes ``X_l`` in ``R^{d x n}`` (one column per sample) with ``X_{l+1} = BN(W_l X_l)``; rcbench uses
``H_l = X_l^T`` (``n x d``) and ``H_{l+1} = BN(H_l W_l^T)``. The paper's BN (Eq. 4) gives every **feature** unit
norm over the batch: a row of ``X``, a column of ``H`` (norm ``"bn"``; the authors' code default divides by
``norm / sqrt(n)``, norm ``"bn_rms"``). The isometry gap ``phi`` (Eq. 5) is :func:`rcbench.metrics.isometry_gap` of
``H`` (sample Gram ``H H^T``); with ``n = d`` its spectrum equals that of the paper's ``X X^T``. "W_1" in the
gradient figures is the second linear layer ``fc_1`` (``net.blocks[1].linear``), the first hidden-to-hidden matrix.

Every function takes its sizes, seeds and ``device`` and returns a tidy :class:`pandas.DataFrame`; :data:`PROFILES`
holds the ``quick`` (CPU) and ``paper`` sizes per claim id. The functions live in modules named for what they hold
and are re-exported here (their store names stay ``gradients:<function>``): :mod:`~rcbench.experiments.bn_identities`
(C1-C4), :mod:`~rcbench.experiments.linear_bn_chain` (C5, C6), :mod:`~rcbench.experiments.gradient_sweeps`
(C7-C10) and :mod:`~rcbench.experiments.shaped_training` (C11).
"""

from __future__ import annotations

import math

from rcbench.experiments.bn_identities import (
    bn_isometry_lemma,
    isometry_gap_identities,
    rotation_to_isometry,
    weingarten_gain,
)
from rcbench.experiments.common import profile_config, regime_n_le_d
from rcbench.experiments.gradient_sweeps import degenerate_batches, gradient_sweep
from rcbench.experiments.linear_bn_chain import IDENTITY_INIT, authors_input, forward_isometry
from rcbench.experiments.shaped_training import train_shaped

__all__ = [
    "PROFILES",
    "config",
    "isometry_gap_identities",
    "bn_isometry_lemma",
    "rotation_to_isometry",
    "weingarten_gain",
    "forward_isometry",
    "authors_input",
    "gradient_sweep",
    "degenerate_batches",
    "train_shaped",
    "IDENTITY_INIT",
    "EXPERIMENTS",
]

#: sizes per claim id: ``PROFILES[profile][claim_id]`` is a dict of keyword arguments (see :func:`config`).
PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "C1": dict(count=300, d_max=40),
        "C2": dict(count=2000, d_min=2, d_max=40),
        "C3": dict(count=300, d_max=40),
        "C4": dict(widths=(4, 8, 16), epsilons=(0.1, 0.3, 1.0, 3.0), samples=20_000),
        "C5": dict(widths=(16, 32), depth=100, seeds=10, f=0.005),
        "C6": dict(widths=(16, 32), depth=400, seeds=5),
        "C7": dict(width=32, batch=32, in_features=64, depths=(10, 50, 100, 200, 400), seeds=5),
        "C8": dict(width=32, batch=32, in_features=64, distinct=16, epsilons=(math.inf, 1.0, 0.1, 0.01, 0.001, 0.0),
                   depths=(10, 50, 100, 200, 400, 800), seeds=4),
        "C9": dict(width=32, batch=32, in_features=64, depths=(10, 50, 100, 200, 400), seeds=8),
        # C10: 8 seeds (was 3): one seed's spike sent the 3-seed slope to 2.1e-3 in 1 of 44 audit runs (see test)
        "C10": dict(width=32, batch=32, in_features=64, depths=(10, 50, 100, 200), seeds=8),
        "C11": dict(width=32, batch=32, depths=(10, 50), epochs=6, lr=0.01, seeds=2, train_size=None),
        # beyond the paper's range: mean-centred BN at n = d = 32 and depth 1600 (see the C9 stress test); 12 seeds
        # (was 6) for the power of its seed-noise criterion
        "C9_deep": dict(width=32, batch=32, in_features=64, depths=(400, 1600), seeds=12),
    },
    "paper": {
        "C1": dict(count=300, d_max=40),
        "C2": dict(count=2000, d_min=2, d_max=40),
        "C3": dict(count=300, d_max=40),
        "C4": dict(widths=(4, 8, 16), epsilons=(0.1, 0.3, 1.0, 3.0), samples=20_000),
        "C5": dict(widths=(50, 100), depth=100, seeds=10, f=0.005),
        "C6": dict(widths=(16, 32), depth=400, seeds=20),
        "C7": dict(width=100, batch=100, in_features=3072, depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=10),
        "C8": dict(width=100, batch=100, in_features=3072, distinct=25, epsilons=(math.inf, 0.0),
                   depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=10),
        "C9": dict(width=100, batch=100, in_features=3072, depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=3),
        "C10": dict(width=100, batch=100, in_features=3072, depths=(5, 10, 20, 50, 100, 200, 500, 1000), seeds=10),
        "C11": dict(width=100, batch=100, depths=(100, 500, 1000), epochs=50, lr=0.001, seeds=1, train_size=None),
        "C9_deep": dict(width=32, batch=32, in_features=64, depths=(400, 1600), seeds=12),
    },
}


def config(claim_id: str, profile: str = "quick") -> dict:
    """A copy of the keyword arguments of ``claim_id``'s experiment at ``profile`` (``"quick"`` or ``"paper"``)."""
    return profile_config(PROFILES, claim_id, profile)


#: the regime each claim needs, checked on ``--set`` overrides before any work (:mod:`rcbench.overrides`): Thm 5's
#: non-degenerate input (phi(X_0) finite) needs a full-rank batch, i.e. batch <= width and batch <= in_features
REGIMES = {
    cid: (regime_n_le_d("batch", "width"), regime_n_le_d("batch", "in_features"))
    for cid in ("C7", "C8", "C9", "C9_deep", "C10")
}


EXPERIMENTS = {
    "C1": isometry_gap_identities,
    "C2": bn_isometry_lemma,
    "C3": rotation_to_isometry,
    "C4": weingarten_gain,
    "C5": forward_isometry,
    "C6": forward_isometry,
    "C7": gradient_sweep,
    "C8": degenerate_batches,
    "C9": gradient_sweep,
    "C9_deep": gradient_sweep,
    "C10": gradient_sweep,
    "C11": train_shaped,
}
