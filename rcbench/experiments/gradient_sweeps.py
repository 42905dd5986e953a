"""Gradient norms at initialisation versus depth for paper C (Meterez et al., ICLR 2024): Theorem 5 and Figs. 2, 3, 5
and G6 (claims C7-C10), and the helpers the other paper-C experiment modules share.

Layout and names as in :mod:`rcbench.experiments.gradients` (the paper's ``X = H^T``; "W_1" is ``fc_1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import rcbench.metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import few_threads, gaussian_input, generator, positive_int, storable, tidy
from rcbench.networks import MLP, gain_schedule

__all__ = ["gradient_sweep", "degenerate_batches", "depth_list", "component_name", "stored_as_gradients"]

GRADIENTS_MODULE = "rcbench.experiments.gradients"

#: The experiment functions keep the store and command-line names of the module they were split from,
#: ``gradients:<function>`` (the published results store, the cost calibration and ``rcbench sweep`` grids spell
#: them so): :func:`stored_as_gradients` sets their ``__module__`` before :func:`storable` names them, and
#: :mod:`rcbench.experiments.gradients` re-exports every one, so pickling by reference resolves too.


def stored_as_gradients(fn):
    """Give an experiment function the module name ``rcbench.experiments.gradients`` (see above); apply it below
    :func:`storable`."""
    fn.__module__ = GRADIENTS_MODULE
    return fn


def depth_list(depths, minimum: int = 1) -> list[int]:
    """``depths`` as a non-empty list of ints ``>= minimum``; ValueError otherwise."""
    depths = [int(positive_int(L, "depth", minimum)) for L in depths]
    if not depths:
        raise ValueError("depths is empty")
    return depths


def component_name(component) -> str:
    """The name recorded for a component: a string as is, a callable's ``__name__``, ``"none"`` for None."""
    if component is None:
        return "none"
    if isinstance(component, str):
        return component
    return getattr(component, "__name__", type(component).__name__)


# ---------------------------------------------------------------------------------------------------------------
# C7-C10: gradient norms at initialisation versus depth (Theorem 5, Figs. 2, 3, 5, G6)
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
@stored_as_gradients
def gradient_sweep(
    *,
    width: int,
    batch: int,
    in_features: int,
    depths: Sequence[int],
    seeds: int,
    init="orthogonal",
    norm="bn_rms",
    activation="identity",
    gain_exponent: float | None = None,
    bias: bool = False,
    weights: Sequence[int] = (1,),
    classes: int = 10,
    inputs: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    seed: int = 0,
    device="cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """``log ||grad_{W_w} L||_F`` at initialisation for MLPs of every depth in ``depths`` (Fig. 3's procedure).

    The net (authors' ``MLPWithBatchNorm``): ``fc_0`` (``in_features -> width``), ``fc_1 .. fc_{L-1}`` (``width ->
    width``), each followed by ``norm``, gain ``alpha_l`` and ``activation`` (``order="norm_act"``, Eq. 11), then a
    readout ``fc_L`` (``width -> classes``); weights by ``init`` (readout included), so depth ``L`` means ``L``
    blocks. ``gain_exponent`` ``e`` gives ``alpha_l = (l+1)^e`` (``-0.4`` is the paper's shaping; the authors'
    ``run.py`` negates its flag, here the sign is as written); ``None`` means ``alpha = 1``. Loss: cross-entropy
    (batch mean) of random labels, summed over the ``seeds`` ensemble members so their gradients do not mix.
    ``weights`` lists the linear layers measured (1 = ``fc_1``, Fig. 3/5's "W_1"; 0 = ``fc_0``, the mean-reduction
    plot). ``inputs`` (``(n, in)`` or ``(seeds, n, in)``) defaults to one i.i.d. Gaussian batch per seed, shared by
    all depths. One row per depth x seed x weight: ``grad_norm``, ``log_grad``.
    """
    width, batch = positive_int(width, "width"), positive_int(batch, "batch", 2)
    in_features, seeds = positive_int(in_features, "in_features"), positive_int(seeds, "seeds")
    classes = positive_int(classes, "classes", 2)
    weights = [int(positive_int(w, "weight index", 0)) for w in weights]
    if not weights:
        raise ValueError("weights is empty")
    depths = depth_list(depths, max(weights) + 1)
    if gain_exponent is not None and not math.isfinite(gain_exponent):
        raise ValueError(f"gain_exponent must be finite or None, got {gain_exponent}")
    dev = resolve_device(device)
    if inputs is None:
        inputs = gaussian_input(batch, in_features, seed=seed, ensemble=seeds)
    if inputs.shape[-2:] != (batch, in_features) or inputs.ndim not in (2, 3) or (
        inputs.ndim == 3 and inputs.shape[0] != seeds
    ):
        raise ValueError(f"inputs must have shape ({seeds}, {batch}, {in_features}), got {tuple(inputs.shape)}")
    if not bool(torch.isfinite(inputs).all()):
        raise ValueError("inputs contain NaN or inf")
    if labels is None:
        labels = torch.randint(0, classes, (seeds, batch), generator=generator(seed * 7 + 3))
    if tuple(labels.shape) != (seeds, batch):
        raise ValueError(f"labels must have shape ({seeds}, {batch}), got {tuple(labels.shape)}")
    x, y = inputs.to(device=dev, dtype=dtype), labels.to(dev).reshape(-1)
    gain = 1.0 if gain_exponent is None else gain_schedule(gain_exponent)
    names = [f"blocks.{w}.linear.weight" for w in weights]
    frames = []
    for L in depths:
        net = MLP(in_features, width, L, out_features=classes, norm=norm, activation=activation, gain=gain,
                  init=init, bias=bias, ensemble=seeds, seed=seed * 100_003 + L, dtype=dtype, device=dev)
        out = net(x)
        loss = F.cross_entropy(out.reshape(-1, classes), y, reduction="sum") / batch
        norms = M.gradient_norms(net, loss, names=names)
        g = torch.stack([norms[k] for k in names]).to(torch.float64)  # (weights, seeds)
        for w, gw in zip(weights, g):
            frames.append(tidy({"grad_norm": gw[None], "log_grad": torch.log(gw)[None]}, layer_start=w,
                               seeds=range(seeds), depth=L))
        del net, out, loss
    df = pd.concat(frames, ignore_index=True).rename(columns={"layer": "weight"})
    df["init"], df["norm"], df["activation"] = component_name(init), component_name(norm), component_name(activation)
    df["gain_exponent"] = np.nan if gain_exponent is None else float(gain_exponent)
    return df


@storable
@few_threads
@stored_as_gradients
def degenerate_batches(
    *,
    width: int,
    batch: int,
    in_features: int,
    distinct: int,
    epsilons: Sequence[float],
    depths: Sequence[int],
    seeds: int,
    init="orthogonal",
    norm="bn_rms",
    seed: int = 0,
    device="cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """Remark 1 / Fig. 2: gradients for batches of ``distinct`` Gaussian samples, each repeated ``batch/distinct``
    times, the copies perturbed by ``eps`` times fresh Gaussian noise (``eps = 0``: exact duplicates, a degenerate
    batch; ``eps = inf``: an independent Gaussian batch, non-degenerate). All levels and seeds run as one ensemble.
    Columns as :func:`gradient_sweep` plus ``eps`` and ``phi_input`` (phi of the input batch, inf if degenerate).
    """
    batch, distinct = positive_int(batch, "batch", 2), positive_int(distinct, "distinct")
    if batch % distinct:
        raise ValueError(f"batch ({batch}) must be a multiple of distinct ({distinct})")
    eps_list = [float(e) for e in epsilons]
    if not eps_list or any(math.isnan(e) or e < 0 for e in eps_list):
        raise ValueError(f"epsilons must be non-negative (inf = independent batch), got {eps_list}")
    seeds = positive_int(seeds, "seeds")
    reps = batch // distinct
    g = generator(seed * 31 + 5)
    xs = []
    for eps in eps_list:
        for _ in range(seeds):
            if math.isinf(eps):
                xs.append(torch.randn(batch, in_features, generator=g, dtype=MEASUREMENT_DTYPE))
                continue
            base = torch.randn(distinct, in_features, generator=g, dtype=MEASUREMENT_DTYPE)
            noise = torch.randn(reps - 1, distinct, in_features, generator=g, dtype=MEASUREMENT_DTYPE)
            copies = base + eps * noise if eps > 0 else base.expand(reps - 1, distinct, in_features)
            xs.append(torch.cat([base[None], copies]).reshape(batch, in_features))
    x = torch.stack(xs)
    phi_in = M.isometry_gap(x)
    df = gradient_sweep(width=width, batch=batch, in_features=in_features, depths=depths, seeds=len(xs), init=init,
                        norm=norm, inputs=x, seed=seed, device=device, dtype=dtype)
    member = df["seed"].to_numpy()
    df["eps"] = np.repeat(eps_list, seeds)[member]
    df["phi_input"] = phi_in.numpy()[member]
    df["seed"] = member % seeds
    return df


