"""Paper A's MLP experiments: Fig. 1 at initialisation (A8) and in training (A9), rank pre-training of Figs. 4
and 6 (A10)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

from rcbench import metrics as M
from rcbench.device import resolve_device
from rcbench.experiments.common import generator, positive_int, storable
from rcbench.experiments.rank_chains import (
    _norm_label,
    paper_a_name,
    subseed,
)
from rcbench.networks import MLP, NumericalDivergence
from rcbench.networks import init as I


# ---------------------------------------------------------------------------------------------------------------
# Fig. 1: MLPs at initialisation (A8) and their training (A9)
# ---------------------------------------------------------------------------------------------------------------
def fig1_proxy_input(n: int = 128, *, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    """A FashionMNIST-like proxy batch ``(n, 784)``: scikit-learn's 8x8 digits scaled to [0, 1] (``x / 16``) and
    bilinearly upsampled to 28 x 28, so the input is non-negative with the paper's ``x / 255`` scale and dimension."""

    return _upsampled_digits(dtype).subset(n, seed=seed).x


def _upsampled_digits(dtype=torch.float32):
    """scikit-learn's digits as 1797 non-negative 28 x 28 images (``x / 16``, bilinear upsampling), 784 features."""
    from rcbench.data import Dataset, digits

    ds = digits(standardize=False, dtype=dtype)
    x = torch.nn.functional.interpolate(ds.x.reshape(-1, 1, 8, 8), size=(28, 28), mode="bilinear",
                                        align_corners=False).reshape(-1, 784)
    return Dataset(x, ds.y, "digits28", 10)


def fig1_data(data_root=None, *, dtype=torch.float32):
    """Fig. 1's training data: FashionMNIST (``x / 255``, 784 features) under ``data_root`` via torchvision
    (never downloads), else the upsampled-digits proxy of :func:`fig1_proxy_input` (1797 images)."""
    if data_root is None:
        return _upsampled_digits(dtype)
    from rcbench.data import Dataset, torchvision_dataset

    ds = torchvision_dataset("fashionmnist", data_root, train=True, raw_pixels=True, dtype=dtype)
    return Dataset(ds.x / 255.0, ds.y, ds.name, ds.num_classes)


def positive_weights(base: str = "torch_default"):
    """Fig. 1's "broken BN" initializer: every weight ``w`` of ``base`` replaced by ``2 |w|`` (all positive)."""
    f = I.get_init(base)

    def init(shape, generator, dtype):
        return 2.0 * f(shape, generator, dtype).abs()

    init.__name__ = f"2|{getattr(f, '__name__', base)}|"
    return init


#: Fig. 1's arms: MLP keyword arguments (widths, depth and seeds are added by the experiment).
FIG1_ARMS = {
    "vanilla": dict(norm=None, bias=True, init="torch_default"),
    "vanilla_nobias": dict(norm=None, bias=False, init="torch_default"),
    "bn": dict(norm="bn_centered_std", bias=False, init="torch_default"),
    "broken_bn": dict(norm="bn_centered_std", bias=False, init=positive_weights()),
}


def _fig1_net(arm: str, *, in_features: int, width: int, hl: int, norm_override, out_features, seeds, seed, device,
              dtype):
    if arm not in FIG1_ARMS:
        raise ValueError(f"unknown Fig. 1 arm {arm!r}; one of {sorted(FIG1_ARMS)}")
    kw = dict(FIG1_ARMS[arm])
    if arm == "bn" and norm_override is not None:
        kw["norm"] = norm_override
    return MLP(in_features, width, hl + 1, out_features=out_features, activation="relu", ensemble=seeds,
               seed=subseed(seed, hl, 1), dtype=dtype, device=device, **kw)


@storable
@paper_a_name
@torch.no_grad()
def fig1_init_rank(*, hidden_layers: Sequence[int] = (0, 4, 8, 12, 16, 32), width: int = 128, batch: int = 128,
                   seeds: int = 3, seed: int = 0,
                   arms: Sequence[str] = ("vanilla", "bn", "broken_bn", "vanilla_nobias"),
                   bn_norm=None, data_root=None, dtype=torch.float32, device="cpu") -> pd.DataFrame:
    """Fig. 1 (rank panel): numerical rank of the last hidden layer at initialisation, ``hl + 1`` hidden ReLU
    layers of width 128 (``no_of_hidden_layers = hl`` in the code), as ``torch.matrix_rank`` of ``H / ||H||_F`` in
    float32 (the paper's dtype). Vanilla: PyTorch-default ``U(+-1/sqrt(fan_in))`` weights *and biases*; BN: no
    biases, centring + unbiased std before ReLU; broken BN: weights ``2|w|``. ``bn_norm`` replaces the BN arm's
    normalisation only. Input: ``batch`` FashionMNIST images (``data_root``) or the digits proxy. Also records the
    soft rank (float64)."""
    hidden_layers = [int(h) for h in hidden_layers]
    if any(h < 0 for h in hidden_layers):
        raise ValueError(f"hidden_layers must be >= 0, got {hidden_layers}")
    unknown = [a for a in arms if a not in FIG1_ARMS]
    if unknown:
        raise ValueError(f"unknown Fig. 1 arm(s) {unknown}; one of {sorted(FIG1_ARMS)}")
    dev = resolve_device(device)
    x = fig1_data(data_root, dtype=dtype).subset(batch, seed=subseed(seed, 128)).x.to(dev)
    rows = []
    for arm in arms:
        for hl in hidden_layers:
            net = _fig1_net(arm, in_features=x.shape[1], width=width, hl=hl, norm_override=bn_norm,
                            out_features=None, seeds=seeds, seed=seed, device=dev, dtype=dtype)
            label = _norm_label(bn_norm if (arm == "bn" and bn_norm is not None) else FIG1_ARMS[arm]["norm"])
            H = net(x)
            Hn = H / torch.linalg.matrix_norm(H).clamp_min(torch.finfo(H.dtype).tiny)[:, None, None]
            rank = M.numerical_rank(Hn).cpu()
            soft = M.soft_rank(H.double()).cpu() if bool((H.abs().amax((-1, -2)) > 0).all()) else torch.ones(seeds)
            for s in range(seeds):
                rows.append({"arm": arm, "hl": hl, "seed": s, "width": width, "numerical_rank": int(rank[s]),
                             "soft_rank": float(soft[s]), "norm": label})
    return pd.DataFrame(rows)


def fig1_bn_lr(hl: int) -> float:
    """The authors' depth-dependent Adam learning rate of the Fig. 1 BN nets (``code_fig_1.py``)."""
    return 0.01 if hl < 8 else 0.05 if hl < 22 else 0.005 if hl < 30 else 0.0005


def _train_steps(net, opt, data, *, steps: int, batch: int, seed: int, seeds: int):
    g = generator(seed)
    n = len(data)
    for _ in range(steps):
        j = torch.randint(0, n, (batch,), generator=g)  # drawn uniformly with replacement, as code_fig_1.py
        x, y = data.x[j], data.y[j]
        out = net(x)
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(seeds), reduction="sum")
        opt.zero_grad(set_to_none=True)
        (loss / batch).backward()
        opt.step()


@torch.no_grad()
def _accuracy(net, data, seeds: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = net(data.x)
    acc = (out.argmax(-1) == data.y).to(torch.float64).mean(-1)
    loss = torch.nn.functional.cross_entropy(out.permute(0, 2, 1), data.y.expand(seeds, -1), reduction="none")
    return acc, loss.to(torch.float64).mean(-1)


@storable
@paper_a_name
def fig1_training(*, hidden_layers: Sequence[int] = (2, 14), steps: int = 150, batch: int = 128, width: int = 128,
                  seeds: int = 3, seed: int = 0, sgd_lr: float = 0.1, adam_lr: float | None = None,
                  eval_size: int = 1000, arms: Sequence[str] = ("vanilla_sgd", "bn_adam", "bn_sgd"), bn_norm=None,
                  data_root=None, dtype=torch.float32, device="cpu") -> pd.DataFrame:
    """Fig. 1 (accuracy panel), shortened: train the vanilla MLP with SGD and the BN MLP with Adam (the authors'
    code; ``adam_lr=None`` uses their depth schedule :func:`fig1_bn_lr`) and with SGD (the paper's legend), then
    measure the training accuracy and loss on ``eval_size`` training examples (BN with batch statistics: the
    authors' custom BN has no running statistics). One row per arm x hl x seed."""
    known = ("vanilla_sgd", "bn_adam", "bn_sgd")
    if any(a not in known for a in arms):
        raise ValueError(f"unknown arm(s) {[a for a in arms if a not in known]}; one of {known}")
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch")
    if not (sgd_lr > 0 and math.isfinite(sgd_lr)):
        raise ValueError(f"sgd_lr must be positive, got {sgd_lr}")
    dev = resolve_device(device)
    data = fig1_data(data_root, dtype=dtype).to(dev)
    evald = data.subset(min(eval_size, len(data)), seed=subseed(seed, 7))
    rows = []
    for hl in hidden_layers:
        for arm in arms:
            net = _fig1_net("vanilla" if arm == "vanilla_sgd" else "bn", in_features=data.num_features, width=width,
                            hl=int(hl), norm_override=bn_norm, out_features=data.num_classes, seeds=seeds,
                            seed=seed, device=dev, dtype=dtype)
            if arm == "bn_adam":
                lr = fig1_bn_lr(int(hl)) if adam_lr is None else float(adam_lr)
                opt = torch.optim.Adam(net.parameters(), lr=lr)
            else:
                lr = sgd_lr
                opt = torch.optim.SGD(net.parameters(), lr=lr)
            _train_steps(net, opt, data, steps=steps, batch=batch, seed=subseed(seed, hl, 2), seeds=seeds)
            acc, loss = _accuracy(net, evald, seeds)
            if not bool(torch.isfinite(loss).all()):
                raise NumericalDivergence(f"training diverged (arm {arm}, hl {hl}); not recorded as data")
            for s in range(seeds):
                rows.append({"arm": arm, "hl": int(hl), "seed": s, "lr": lr, "steps": steps, "data": data.name,
                             "train_accuracy": float(acc[s]), "train_loss": float(loss[s])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# Figs. 4 and 6: rank pre-training (A10)
# ---------------------------------------------------------------------------------------------------------------
PRETRAIN_ARMS = ("none", "low", "high", "bn", "bn_bad")


def _pretrain_net(arm: str, *, in_features: int, width: int, depth: int, classes: int, seeds: int, seed: int,
                  bn_norm, device, dtype):
    """Figs. 4/6 nets. Vanilla arms (``none``/``low``/``high``): ReLU, Xavier-normal weights, PyTorch-default biases.
    BN arms (Fig. 6): ``BatchNorm1d`` (``bn_norm`` overrides it in the ``bn`` arm only), tanh, PyTorch-default init;
    ``bn_bad`` sets *all* parameters to ``U[0, 0.1]`` (Fig. 6's "BN W~U[0,2a]")."""
    if arm in ("none", "low", "high"):
        return MLP(in_features, width, depth, out_features=classes, norm=None, activation="relu", bias=True,
                   init="xavier_normal", readout_init="xavier_normal", ensemble=seeds, seed=subseed(seed, depth, 4),
                   dtype=dtype, device=device)
    norm = bn_norm if (arm == "bn" and bn_norm is not None) else "batchnorm1d"
    net = MLP(in_features, width, depth, out_features=classes, norm=norm, activation="tanh", bias=True,
              init="torch_default", ensemble=seeds, seed=subseed(seed, depth, 5), dtype=dtype, device=device)
    if arm == "bn_bad":
        g = generator(subseed(seed, depth, 6))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) * 0.1)
    return net


def _last_hidden(net: MLP, x: torch.Tensor) -> torch.Tensor:
    return net(x, return_hidden=True)[1][-1]


def pretrain_stages(spec: str | Sequence[int], depth: int) -> tuple[int, ...] | None:
    """The pre-training stages of :func:`rank_pretraining`: ``None`` for ``"last"`` (the last hidden layer only,
    every block updated), else the 1-based hidden layers ``l`` whose ``1/r(H_l)`` is minimised in turn.
    ``"every<k>"`` gives ``k, 2k, ...`` below ``depth`` (Fig. 6: ``"every4"`` at depth 30 is 4, 8, ..., 28; at
    ``depth <= k`` the single stage ``depth``); a
    sequence (or a comma-separated string such as ``"4,8,12"``) gives its layers, sorted, each in ``1..depth``."""
    depth = positive_int(depth, "depth")
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s == "last":
            return None
        if s.startswith("every"):
            try:
                k = int(s[len("every"):])
            except ValueError:
                k = 0
            if k < 1:
                raise ValueError(f"pretrain_layers {spec!r}: 'every<k>' needs an integer k >= 1, e.g. 'every4'")
            return tuple(range(k, depth, k)) or (depth,)  # a net of depth <= k: one stage, its last layer
        try:
            spec = [int(v) for v in s.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"pretrain_layers must be 'last', 'every<k>' or layer indices such as '4,8,12', "
                             f"got {spec!r}") from None
    layers = sorted({int(v) for v in spec})
    if not layers or any(not 1 <= l <= depth for l in layers):
        raise ValueError(f"pretrain_layers: hidden-layer indices must lie in 1..{depth}, got {list(spec)}")
    return tuple(layers)


def fig6_layers(depth: int) -> tuple[int, ...]:
    """The hidden layers of Fig. 6's "lower bound on rank" (``code_fig_6.ipynb``: ``getlayerloss`` at layers 1, 5,
    10, 15, 20, 25, 29 of the 30-layer net, the same layer index as its pre-training stages 4, 8, ..., 28): layer 1,
    the multiples of 5 below ``depth - 1``, and ``depth - 1`` (depth 30: 1, 5, ..., 25, 29; depth 12: 1, 5, 10,
    11), 1-based hidden layers of rcbench's MLP, clipped to ``1..depth``."""
    depth = positive_int(depth, "depth")
    layers = {1, *range(5, depth - 1, 5), depth - 1}
    return tuple(sorted(l for l in layers if 1 <= l <= depth)) or (depth,)


@torch.no_grad()
def _layer_ranks(net: MLP, x: torch.Tensor, layers: Sequence[int]) -> dict[int, torch.Tensor]:
    """Soft rank ``r(H_l)`` (float64, per seed) of the 1-based hidden layers ``layers`` on the batch ``x``."""
    hidden = net(x, return_hidden=True)[1]
    return {int(l): M.soft_rank(hidden[int(l)].double()).cpu() for l in layers}


def _harmonic(ranks: dict[int, torch.Tensor], layers: Sequence[int]) -> torch.Tensor:
    """Fig. 6's statistic ``1 / mean_l (1 / r(H_l))`` (the notebook averages ``tr(M^2)/tr(M)^2 = 1/r`` over the
    layers and plots its inverse): the harmonic mean of ``r`` over ``layers``, per seed."""
    return 1.0 / torch.stack([1.0 / ranks[int(l)] for l in layers]).mean(0)


def _pretrain_layerwise(net: MLP, x: torch.Tensor, stages: Sequence[int], *, steps: int, lr: float) -> None:
    """Fig. 6's notebook schedule: for each layer ``l`` of ``stages`` in turn, ``steps`` plain gradient steps on
    ``1/r(H_l)`` (summed over the ensemble: independent per-seed gradients), updating blocks ``1..l``."""
    for l in stages:
        blocks = net.blocks[:l]
        opt = torch.optim.SGD([p for b in blocks for p in b.parameters()], lr=lr)
        for _ in range(steps):
            h = net._check_input(x)
            for b in blocks:
                h = b(h)
            inv_r = 1.0 / M.soft_rank(h)
            if not bool(torch.isfinite(inv_r).all()):
                raise NumericalDivergence(f"rank pre-training diverged at layer {l}; not recorded as data")
            opt.zero_grad(set_to_none=True)
            inv_r.sum().backward()
            opt.step()


@storable
@paper_a_name
def rank_pretraining(*, width: int = 64, depth: int = 12, seeds: int = 5, seed: int = 0, epochs: int = 3,
                     batch: int = 32, lr: float = 0.01, pretrain_steps: dict | None = None, pretrain_lr: float = 0.1,
                     pretrain_batch: int = 32, probe: int = 128, arms: Sequence[str] = PRETRAIN_ARMS, bn_norm=None,
                     pretrain_layers: str | Sequence[int] = "last", data_root=None, dtype=torch.float64,
                     device="cpu") -> pd.DataFrame:
    """Figs. 4 and 6: raise the soft rank of the last hidden layer by gradient descent on ``1/r(H_L)``
    (``= tr(M^2)/tr(M)^2``, Fig. 6; Fig. 4's ``||M||_F/tr M`` is ``1/sqrt(r)``, same minimisers) on one batch, then
    train every arm with plain SGD and record the training loss.

    ``pretrain_steps`` maps the vanilla arms to their number of pre-training steps (Fig. 6: no / low / high).
    ``pretrain_layers`` chooses whose rank is raised (:func:`pretrain_stages`): ``"last"`` (the default) minimises
    ``1/r`` of the last hidden layer for ``pretrain_steps[arm]`` steps, updating every block; ``"every<k>"`` (Fig. 6's
    notebook: ``"every4"``, layers 4, 8, ..., 28 of 30) or a sequence of 1-based hidden-layer indices runs one stage
    per layer ``l``, in increasing order, each of ``pretrain_steps[arm]`` gradient steps (lr ``pretrain_lr``, the same
    pre-training batch) on ``1/r(H_l)``, updating the blocks ``1..l`` (all layers before ``H_l``). The step count is
    read as *per stage*: the notebook's "low" has 5 steps and there are 7 stages, so a total of 5 cannot visit every
    stage; 5 / 75 steps per stage (35 / 525 in all) is the only reading in which each of Fig. 6's stages runs.
    Why stages matter: a deep vanilla ReLU net is rank one far before its last layer (30 x 128, Xavier-normal,
    PyTorch biases: r(H_l) ~ 1.7-2.2 at l = 4, ~1.0001 at l = 20), and the gradient of ``1/r(H_30)`` is then ~1e-6,
    so the last-layer shortcut moves nothing there; starting at layer 4, where the rank and its gradient live,
    raises every later layer's rank in turn. No stage draws any random number (the batch is the one of ``"last"``).
    Data: scikit-learn digits (standardised) by default, FashionMNIST (Fig. 6) under ``data_root``. One row per
    arm x seed: ``r_init`` (soft rank of the last hidden layer on a ``probe`` batch before pre-training),
    ``r_start`` (after pre-training, before SGD), ``train_loss`` (mean cross-entropy on the training set after
    ``epochs`` epochs), ``train_loss_curve`` endpoints per epoch as ``loss_epoch_k`` columns; ``pretrain_layers``
    (``"last"`` or the stages' layers, e.g. ``"4,8,12"``) and ``pretrain_total_steps`` (steps x stages).
    Fig. 6's own rank statistic ("lower bound on rank", :func:`fig6_layers`): ``r_fig6_init`` / ``r_fig6_start``,
    the harmonic mean ``1/mean_l(1/r(H_l))`` over the layers ``fig6_layers`` on the probe batch before / after
    pre-training (the notebook reads it on its last training batch of 32, at width 128 a cap of 32 on r; the probe
    of 128 removes that cap), and ``r_start_layer_<l>`` (r(H_l) after pre-training) for Fig. 6's layers, the last
    stage and the last hidden layer. The notebook's layer-l quantity is the pre-activation of the next linear layer
    (``layers[l](relu(...))``) in both its pre-training loss and its plot; rcbench reads the block output H_l in
    both, so the plotted layers correspond to the pre-trained ones as in the notebook."""
    from rcbench.data import digits, torchvision_dataset

    steps_map = {"none": 0, "low": 5, "high": 75} if pretrain_steps is None else dict(pretrain_steps)
    unknown = [a for a in arms if a not in PRETRAIN_ARMS]
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; one of {PRETRAIN_ARMS}")
    epochs, batch = positive_int(epochs, "epochs"), positive_int(batch, "batch")
    stages = pretrain_stages(pretrain_layers, depth)
    stage_label = "last" if stages is None else ",".join(map(str, stages))
    f6 = fig6_layers(depth)
    # layers whose r at the start of SGD is recorded: Fig. 6's, the last stage's and the last hidden layer
    shown = sorted({*f6, depth, *((stages[-1],) if stages else ())})
    dev = resolve_device(device)
    if data_root is None:
        data = digits(dtype=dtype)
    else:
        data = torchvision_dataset("fashionmnist", data_root, train=True, dtype=dtype)
    data = data.to(dev)
    probe_x = data.subset(min(probe, len(data)), seed=subseed(seed, 8)).x
    pre_x = data.subset(min(pretrain_batch, len(data)), seed=subseed(seed, 9)).x
    rows = []
    for arm in arms:
        net = _pretrain_net(arm, in_features=data.num_features, width=width, depth=depth, classes=data.num_classes,
                            seeds=seeds, seed=seed, bn_norm=bn_norm, device=dev, dtype=dtype)
        r_layers_init = _layer_ranks(net, probe_x, (*f6, depth))  # one forward pass: Fig. 6's layers and the last
        r_init = r_layers_init[depth]
        k = steps_map.get(arm, 0)
        if k and stages is not None:
            _pretrain_layerwise(net, pre_x, stages, steps=k, lr=pretrain_lr)
        elif k:
            opt = torch.optim.SGD([p for b in net.blocks for p in b.parameters()], lr=pretrain_lr)
            for _ in range(k):
                inv_r = 1.0 / M.soft_rank(_last_hidden(net, pre_x))
                opt.zero_grad(set_to_none=True)
                inv_r.sum().backward()  # the seeds' losses are independent: their sum has per-seed gradients
                opt.step()
        r_layers = _layer_ranks(net, probe_x, shown)  # shown includes the last hidden layer
        r_start = r_layers[depth]
        r_fig6_init, r_fig6_start = _harmonic(r_layers_init, f6), _harmonic(r_layers, f6)
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        curve = []
        for e in range(epochs):
            for x, y in data.batches(batch, seed=subseed(seed, e, 10)):
                out = net(x)
                loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(seeds),
                                                         reduction="sum") / batch
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            curve.append(_accuracy(net, data, seeds)[1].cpu())
        acc = _accuracy(net, data, seeds)[0].cpu()
        if not all(bool(torch.isfinite(c).all()) for c in curve):
            raise NumericalDivergence(f"training diverged in arm {arm}; not recorded as data")
        for s in range(seeds):
            row = {"arm": arm, "seed": s, "pretrain_steps": k, "r_init": float(r_init[s]),
                   "r_start": float(r_start[s]),
                   "train_loss": float(curve[-1][s]), "train_accuracy": float(acc[s]), "data": data.name,
                   "pretrain_layers": stage_label, "pretrain_total_steps": k * (1 if stages is None else len(stages)),
                   "r_fig6_init": float(r_fig6_init[s]), "r_fig6_start": float(r_fig6_start[s]),
                   "fig6_layers": ",".join(map(str, f6))}
            row.update({f"r_start_layer_{l}": float(v[s]) for l, v in r_layers.items()})
            row.update({f"loss_epoch_{e + 1}": float(c[s]) for e, c in enumerate(curve)})
            rows.append(row)
    return pd.DataFrame(rows)
