"""The forward isometry gap through a linear BN chain of paper C (Meterez et al., ICLR 2024): Theorem 1 and Fig. 1
(claims C5, C6), with the authors' Fig. 1 input.

Layout as in :mod:`rcbench.experiments.gradients`: ``H_{l+1} = BN(H_l W_l^T)``, ``H = X^T``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

import rcbench.metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import few_threads, gaussian_input, generator, positive_int, storable, tidy
from rcbench.experiments.gradient_sweeps import component_name, stored_as_gradients
from rcbench.networks import MLP
from rcbench.networks.init import perturbed_identity

__all__ = ["authors_input", "forward_isometry", "IDENTITY_INIT"]

#: ``W_l = I`` for every layer (no rotation): the negative control of C5.
IDENTITY_INIT = perturbed_identity(0.0)
IDENTITY_INIT.__name__ = "identity"


# ---------------------------------------------------------------------------------------------------------------
# C5, C6: forward isometry gap through a linear BN chain (Theorem 1, Fig. 1)
# ---------------------------------------------------------------------------------------------------------------
def authors_input(d: int, f: float = 0.005, *, seed: int = 0, ensemble: int | None = None) -> torch.Tensor:
    """Fig. 1's input ``X_0 = (1 - f) I_d + f u v^T``, ``u, v ~ U[0,1]^d`` (a near-isometric, non-degenerate batch
    of ``n = d`` samples), returned as ``H_0 = X_0^T`` of shape ``(d, d)`` or ``(ensemble, d, d)``, float64, CPU."""
    d = positive_int(d, "d", 2)
    if not (0 <= f < 1):
        raise ValueError(f"f must lie in [0, 1), got {f}")
    g = generator(seed)
    S = 1 if ensemble is None else positive_int(ensemble, "ensemble")
    u = torch.rand(S, d, 1, generator=g, dtype=MEASUREMENT_DTYPE)
    v = torch.rand(S, d, 1, generator=g, dtype=MEASUREMENT_DTYPE)
    X = (1 - f) * torch.eye(d, dtype=MEASUREMENT_DTYPE) + f * u @ v.transpose(-1, -2)
    H = X.transpose(-1, -2)
    return H[0] if ensemble is None else H


@storable
@few_threads
@stored_as_gradients
def forward_isometry(
    *,
    widths: Sequence[int] = (16, 32),
    depth: int = 100,
    seeds: int = 10,
    input: str = "authors",
    f: float = 0.005,
    init="orthogonal",
    norm="bn",
    seed: int = 0,
    device="cpu",
) -> pd.DataFrame:
    """phi(H_l), ``l = 0 .. depth``, of a linear BN chain ``H_{l+1} = BN(H_l W_l^T)`` with ``n = d`` (Eq. 3).

    ``input``: ``"authors"`` (Fig. 1, :func:`authors_input` with ``f``), ``"gaussian"`` (generic i.i.d. batch) or
    ``"degenerate"`` (the authors' input with its last sample replaced by the first: rank ``d - 1``, phi = inf).
    ``init``: weights (``"orthogonal"`` = Haar, Theorem 1's assumption; ``"gaussian"`` N(0, 1/d);
    :data:`IDENTITY_INIT` for ``W_l = I``). One row per width x layer x seed with column ``isometry_gap``.
    """
    widths = [positive_int(d, "width", 2) for d in widths]
    depth, seeds = positive_int(depth, "depth"), positive_int(seeds, "seeds")
    if input not in ("authors", "gaussian", "degenerate"):
        raise ValueError(f"input must be 'authors', 'gaussian' or 'degenerate', got {input!r}")
    dev = resolve_device(device)
    frames = []
    for d in widths:
        if input == "gaussian":
            x = gaussian_input(d, d, seed=seed * 1009 + d, ensemble=seeds)
        else:
            x = authors_input(d, f, seed=seed * 1009 + d, ensemble=seeds)
            if input == "degenerate":
                x[:, -1] = x[:, 0]
        net = MLP(d, d, depth, norm=norm, init=init, ensemble=seeds, seed=seed * 1009 + d + 1, device=dev)
        grams = net.grams(x.to(dev))
        values = M.spectral_metrics(grams, ["isometry_gap"], d=d)
        frames.append(tidy(values, seeds=range(seed * seeds, seed * seeds + seeds), width=d, input=input,
                           init=component_name(init), norm=component_name(norm)))
    return pd.concat(frames, ignore_index=True)


