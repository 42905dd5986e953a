"""Training shaped BN MLPs for paper C (Meterez et al., ICLR 2024): Figs. 4 and 6, scaled down (claim C11)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import rcbench.metrics as M
from rcbench.device import resolve_device
from rcbench.experiments.common import few_threads, positive_int, storable
from rcbench.experiments.gradient_sweeps import component_name, depth_list, stored_as_gradients
from rcbench.networks import MLP, NumericalDivergence, gain_schedule

__all__ = ["train_shaped"]

# ---------------------------------------------------------------------------------------------------------------
# C11: training shaped BN MLPs (Figs. 4 and 6, scaled down)
# ---------------------------------------------------------------------------------------------------------------
@storable
@few_threads
@stored_as_gradients
def train_shaped(
    *,
    data=None,
    width: int = 32,
    batch: int = 32,
    depths: Sequence[int] = (10, 50),
    epochs: int = 6,
    lr: float = 0.01,
    seeds: int = 2,
    activation="tanh",
    gain_exponent: float | None = -0.4,
    norm="batchnorm1d",
    init="orthogonal",
    bias: bool = True,
    train_size: int | None = None,
    seed: int = 0,
    device="cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """Train shaped BN MLPs (Eq. 11: ``sigma(alpha_l BN(W_l x))``, torch BN with biases, orthogonal init) with plain
    SGD (no momentum), as the authors' ``run.py``; ``seeds`` networks train at once as one ensemble on the same
    mini-batches. ``data`` is an :class:`rcbench.data.Dataset` (default scikit-learn's digits).

    Long tidy frame, one row per depth x seed x epoch x layer x stat: ``stat`` in ``loss`` (mean training loss of
    the epoch; epoch 0 = at init on the fixed batch), ``accuracy`` (training accuracy of the epoch, counted on the
    mini-batches as they are trained on, batch statistics), ``phi_W`` (isometry gap of ``W_l`` with ``G = W W^T``,
    as the code) and ``grad_norm``
    (``||grad_{W_l} L||_F`` on a fixed batch) for the hidden ``width x width`` layers ``l = 1 .. L-1``; ``layer``
    is ``-1`` for whole-network stats; ``classes`` is the data set's number of classes. Raises
    :class:`NumericalDivergence` on a NaN loss.
    """
    from rcbench.data import digits

    depths = depth_list(depths, 3)
    width, batch = positive_int(width, "width"), positive_int(batch, "batch", 2)
    epochs, seeds = positive_int(epochs, "epochs"), positive_int(seeds, "seeds")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be positive and finite, got {lr}")
    dev = resolve_device(device)
    data = digits() if data is None else data
    if train_size is not None:
        data = data.subset(train_size, seed=seed)
    data = data.to(dev, dtype)
    if len(data) < batch:
        raise ValueError(f"the data set has {len(data)} examples, fewer than one batch of {batch}")
    gain = 1.0 if gain_exponent is None else gain_schedule(gain_exponent)
    fixed_x, fixed_y = next(data.batches(batch, seed=seed * 13 + 1))
    rows = []

    def loss_fn(net, x, y):
        out = net(x)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(seeds), reduction="sum") / x.shape[0], out

    def snapshot(net, L, epoch):
        hidden = [f"blocks.{l}.linear.weight" for l in range(1, L)]
        loss, _ = loss_fn(net, fixed_x, fixed_y)
        gn = M.gradient_norms(net, loss, names=hidden)
        with torch.no_grad():
            W = torch.stack([dict(net.named_parameters())[k] for k in hidden])  # (L-1, S, d, d)
            phi = M.isometry_gap(W)
        for i, k in enumerate(hidden):
            for s in range(seeds):
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=i + 1, stat="phi_W", value=float(phi[i, s])))
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=i + 1, stat="grad_norm", value=float(gn[k][s])))
        return float(loss.detach()) / seeds

    for L in depths:
        net = MLP(data.num_features, width, L, out_features=data.num_classes, norm=norm, activation=activation,
                  gain=gain, init=init, bias=bias, ensemble=seeds, seed=seed * 100_003 + L, dtype=dtype, device=dev)
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        init_loss = snapshot(net, L, 0)
        rows.extend(dict(depth=L, seed=s, epoch=0, layer=-1, stat="loss", value=init_loss) for s in range(seeds))
        for epoch in range(1, epochs + 1):
            total = torch.zeros(seeds, dtype=torch.float64, device=dev)
            correct = torch.zeros(seeds, dtype=torch.float64, device=dev)
            steps = count = 0
            for xb, yb in data.batches(batch, seed=seed * 1000 + epoch):
                out = net(xb)
                correct += (out.detach().argmax(-1) == yb).sum(-1).to(torch.float64)
                count += xb.shape[0]
                per_seed = F.cross_entropy(out.reshape(-1, out.shape[-1]), yb.repeat(seeds), reduction="none")
                per_seed = per_seed.reshape(seeds, -1).mean(-1)
                if not bool(torch.isfinite(per_seed).all()):
                    raise NumericalDivergence(f"training loss is not finite at depth {L}, epoch {epoch}")
                opt.zero_grad(set_to_none=True)
                per_seed.sum().backward()
                opt.step()
                total += per_seed.detach()
                steps += 1
            for s in range(seeds):
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=-1, stat="loss", value=float(total[s] / steps)))
                rows.append(dict(depth=L, seed=s, epoch=epoch, layer=-1, stat="accuracy",
                                 value=float(correct[s] / count)))
            if epoch == epochs:
                snapshot(net, L, epoch)
    df = pd.DataFrame(rows)
    df["activation"], df["gain_exponent"] = component_name(activation), np.nan if gain_exponent is None else gain_exponent
    df["data"], df["classes"] = data.name, data.num_classes
    return df


#: claim id -> the experiment that runs its :data:`PROFILES` entry (the main arm; controls call the same function
#: with other arguments).
