"""Fig. 5 of paper A (claim A11): BN variants written out explicitly in a VGG-like convnet at initialisation."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

from rcbench import metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import generator, positive_int, storable
from rcbench.experiments.rank_chains import (
    _norm_label,
    paper_a_name,
    subseed,
)
from rcbench.networks import NumericalDivergence

# ---------------------------------------------------------------------------------------------------------------
# Fig. 5: BN variants in a VGG-like convnet at initialisation (A11)
# ---------------------------------------------------------------------------------------------------------------
#: a small VGG-like configuration (VGG's 'E' pattern, 12 convolutions, narrower): channels or 'M' (max-pool)
SMALL_VGG = (16, 16, "M", 32, 32, "M", 64, 64, 64, 64, "M", 64, 64, 64, 64, "M")
#: VGG19 = configuration 'E' of the authors' ``vgg_for_cifar_w_multiple_BN_options.py``
VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")

#: Fig. 5's variants written out explicitly (the authors' code only differs from BN in eval mode): centring
#: ``x - mu_B`` and/or scaling ``x / sqrt(E_B[x^2])`` (after centring: the population std) over batch and space.
CONV_VARIANTS = {
    "full_bn": dict(center=True, scale="rms"),
    "centering_only": dict(center=True, scale=None),
    "scaling_only": dict(center=False, scale="rms"),
    "none": None,
}


class SpatialNorm(torch.nn.Module):
    """Apply a batch normalisation over batch and spatial dimensions to the channels of a seed ensemble laid out
    as ``(N, seeds * C, H, W)`` (grouped convolutions): the input is viewed as ``(seeds, N * H * W, C)`` so that any
    rcbench norm (or a user's ``factory(C)`` acting on ``(n, C)``) normalises each channel over ``N * H * W``."""

    def __init__(self, inner: torch.nn.Module, seeds: int, channels: int):
        super().__init__()
        self.inner, self.seeds, self.channels = inner, seeds, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, SC, Hh, Ww = x.shape
        S, C = self.seeds, self.channels
        z = x.reshape(N, S, C, Hh, Ww).permute(1, 0, 3, 4, 2).reshape(S, N * Hh * Ww, C)
        z = self.inner(z)
        return z.reshape(S, N, Hh, Ww, C).permute(1, 0, 4, 2, 3).reshape(N, SC, Hh, Ww)


def _conv_norm(variant, channels: int, seeds: int):
    from rcbench.networks import Normalization, get_norm

    if isinstance(variant, str) and variant in CONV_VARIANTS:
        spec = CONV_VARIANTS[variant]
        if spec is None:
            return None
        return SpatialNorm(Normalization("batch", **spec), seeds, channels)
    return SpatialNorm(get_norm(variant, channels, seeds), seeds, channels)


def small_vgg(variant="full_bn", *, cfg: Sequence = SMALL_VGG, in_channels: int = 3, seeds: int = 1, seed: int = 0,
              dtype=MEASUREMENT_DTYPE, device="cpu") -> torch.nn.Sequential:
    """VGG-like feature extractor (``conv3x3 -> norm -> ReLU``, max-pools), ``seeds`` independent networks at once
    through grouped convolutions (input ``(N, seeds * in_channels, H, W)``). Convolutions keep PyTorch's default
    init *with biases*, as the authors' Fig. 5 VGG (its He init is disabled). ``variant``: a key of
    :data:`CONV_VARIANTS` or a norm spec (a name of :data:`rcbench.networks.NORMS` or a factory ``f(C)``)."""
    if not (isinstance(variant, str) and variant in CONV_VARIANTS):
        from rcbench.networks import get_norm

        get_norm(variant, 2, 1)  # unknown names fail before any work
    layers = []
    c_in = in_channels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(subseed(seed, 11))
        for v in cfg:
            if v == "M":
                layers.append(torch.nn.MaxPool2d(2, 2))
                continue
            v = positive_int(v, "channels")
            layers.append(torch.nn.Conv2d(seeds * c_in, seeds * v, 3, padding=1, groups=seeds, dtype=dtype))
            norm = _conv_norm(variant, v, seeds)
            if norm is not None:
                layers.append(norm)
            layers.append(torch.nn.ReLU())
            c_in = v
    return torch.nn.Sequential(*layers).to(device=resolve_device(device), dtype=dtype)


def _cifar_like(n: int, data_root, seed: int, dtype) -> torch.Tensor:
    if data_root is None:  # random images in [0, 1], like CIFAR's x / 255
        return torch.rand(n, 3, 32, 32, generator=generator(subseed(seed, 12)), dtype=dtype)
    from rcbench.data import torchvision_dataset

    ds = torchvision_dataset("cifar10", data_root, train=True, raw_pixels=True, dtype=dtype).subset(n, seed=seed)
    return (ds.x / 255.0).reshape(n, 32, 32, 3).permute(0, 3, 1, 2).contiguous()


@storable
@paper_a_name
@torch.no_grad()
def conv_variants_rank(*, variants: Sequence = ("full_bn", "centering_only", "scaling_only", "none"), batch: int = 64,
                       seeds: int = 3, seed: int = 0, cfg: Sequence = SMALL_VGG, data_root=None,
                       dtype=MEASUREMENT_DTYPE, device="cpu") -> pd.DataFrame:
    """Fig. 5 at initialisation (forward only): soft rank and numerical ranks (float64 and float32) of the
    flattened last convolutional features (the penultimate representation the authors' VGG returns) of ``batch``
    CIFAR-like inputs (uniform random images; CIFAR-10 under ``data_root``). One row per variant x seed."""
    dev = resolve_device(device)
    x = _cifar_like(positive_int(batch, "batch"), data_root, seed, dtype).to(dev)
    xs = x.repeat(1, seeds, 1, 1)
    rows = []
    for variant in variants:
        net = small_vgg(variant, cfg=cfg, seeds=seeds, seed=seed, dtype=dtype, device=dev)
        f = net(xs)
        if not bool(torch.isfinite(f).all()):
            raise NumericalDivergence(f"non-finite features for variant {variant!r}")
        N, SC, Hh, Ww = f.shape
        H = f.reshape(N, seeds, SC // seeds * Hh * Ww).transpose(0, 1)  # (seeds, n, features)
        Hn = H / torch.linalg.matrix_norm(H)[:, None, None]
        soft = M.soft_rank(H).cpu()
        r64 = M.numerical_rank(Hn.double()).cpu()
        r32 = M.numerical_rank(Hn.float()).cpu()
        for s in range(seeds):
            rows.append({"variant": _norm_label(variant), "seed": s, "batch": batch, "features": H.shape[-1],
                         "soft_rank": float(soft[s]), "numerical_rank": int(r64[s]),
                         "numerical_rank_f32": int(r32[s])})
    return pd.DataFrame(rows)
