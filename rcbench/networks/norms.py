"""Normalisation layers of the four papers, vectorised over leading (seed) dimensions.

All built-in layers act on ``(..., n, d)``: batch normalisation over the samples (dim ``-2``, one statistic per
feature column), layer normalisation over the features (dim ``-1``, one statistic per sample row).

===================  ==========================================================================================
name                 layer
===================  ==========================================================================================
``bn``               paper BN ``diag(M M^T)^{-1/2} M`` (papers A, B, C, Eq. 4 of C): every feature column scaled
                     to unit Euclidean norm over the batch; no centring, no ``1/n``, no epsilon, no affine
``bn_rms``           the same scaled to unit second moment (``norm / sqrt(n)``; paper C's code default)
``bn_centered``      centring, then division by the population std (paper A, Fig. 2)
``bn_centered_std``  centring, then division by the unbiased std (paper A, Fig. 1 ``normalize_center``)
``batchnorm1d``      ``torch.nn.BatchNorm1d`` (affine, centring, eps 1e-5), one per seed
``ln``               layer norm without affine: centre each sample, scale to mean square 1 (paper D)
``ln_nocenter``      layer norm scaling only, no centring (paper D's ablation; RMS norm without epsilon)
``rms``              RMS norm: ``x / sqrt(mean(x^2) + eps)`` over the features, no affine
``layernorm``        ``torch.nn.LayerNorm`` (affine, eps 1e-5)
``none``             identity
===================  ==========================================================================================

A user's normalisation is a factory ``factory(num_features) -> nn.Module`` (an ``nn.Module`` class qualifies) whose
module maps a batch ``(n, d)`` to ``(n, d)``, like ``torch.nn.BatchNorm1d``. The builder makes one instance per
seed and applies it to that seed's batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["Normalization", "TorchBatchNorm", "PerSeed", "NORMS", "get_norm"]


class Normalization(nn.Module):
    """Centring and/or scaling over one axis of ``(..., n, d)``.

    Args:
        over: ``"batch"`` (each feature column over the ``n`` samples: BN) or ``"features"`` (each sample row over
            the ``d`` features: LN).
        center: subtract the mean over that axis first.
        scale: ``"norm"`` (unit Euclidean norm), ``"rms"`` (unit mean square; after centring, the population std),
            ``"std"`` (unbiased std, ``torch.std``), or ``None``.
        eps: added under the square root (0 reproduces the papers' layers exactly).
    """

    def __init__(self, over: str = "batch", center: bool = False, scale: str | None = "norm", eps: float = 0.0):
        super().__init__()
        if over not in ("batch", "features"):
            raise ValueError(f"over must be 'batch' or 'features', got {over!r}")
        if scale not in ("norm", "rms", "std", None):
            raise ValueError(f"scale must be 'norm', 'rms', 'std' or None, got {scale!r}")
        self.over, self.center, self.scale, self.eps = over, center, scale, float(eps)
        self.dim = -2 if over == "batch" else -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.center:
            x = x - x.mean(self.dim, keepdim=True)
        if self.scale is None:
            return x
        sq = (x * x).sum(self.dim, keepdim=True)
        m = x.shape[self.dim]
        if self.scale == "rms":
            sq = sq / m
        elif self.scale == "std":
            sq = sq / (m - 1)
        return x / torch.sqrt(sq + self.eps)

    def extra_repr(self) -> str:
        return f"over={self.over}, center={self.center}, scale={self.scale}, eps={self.eps}"


class PerSeed(nn.Module):
    """Apply one instance of a 2-D ``(n, d)`` module per seed to an input ``(seeds, n, d)`` (or ``(n, d)``).

    Used for ``torch.nn`` layers and users' layers that do not know about the leading seed dimension.
    """

    def __init__(self, factory: Callable[[int], nn.Module], num_features: int, ensemble: int = 1):
        super().__init__()
        self.members = nn.ModuleList(factory(num_features) for _ in range(ensemble))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            if len(self.members) != 1:
                raise ValueError(f"input (n, d) given to an ensemble of {len(self.members)} seeds")
            return self.members[0](x)
        if x.ndim != 3 or x.shape[0] != len(self.members):
            raise ValueError(f"expected input (seeds={len(self.members)}, n, d), got {tuple(x.shape)}")
        return torch.stack([m(xi) for m, xi in zip(self.members, x.unbind(0))])


class TorchBatchNorm(nn.Module):
    """``torch.nn.BatchNorm1d`` for a seed ensemble without a Python loop: the seeds' features are laid side by
    side as ``seeds * d`` channels of one ``BatchNorm1d``, which normalises each channel over the batch."""

    def __init__(self, num_features: int, ensemble: int = 1, **kwargs):
        super().__init__()
        self.num_features, self.ensemble = num_features, ensemble
        self.bn = nn.BatchNorm1d(num_features * ensemble, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return self.bn(x)
        s, n, d = x.shape
        y = self.bn(x.permute(1, 0, 2).reshape(n, s * d))
        return y.reshape(n, s, d).permute(1, 0, 2)


#: name -> ``(num_features, ensemble) -> nn.Module``.
NORMS: dict[str, Callable[[int, int], nn.Module]] = {
    "bn": lambda d, s: Normalization("batch", center=False, scale="norm"),
    "bn_rms": lambda d, s: Normalization("batch", center=False, scale="rms"),
    "bn_centered": lambda d, s: Normalization("batch", center=True, scale="rms"),
    "bn_centered_std": lambda d, s: Normalization("batch", center=True, scale="std"),
    "batchnorm1d": lambda d, s: TorchBatchNorm(d, s),
    "ln": lambda d, s: Normalization("features", center=True, scale="rms"),
    "ln_nocenter": lambda d, s: Normalization("features", center=False, scale="rms"),
    "rms": lambda d, s: Normalization("features", center=False, scale="rms", eps=1e-6),
    "layernorm": lambda d, s: PerSeed(nn.LayerNorm, d, s) if s > 1 else nn.LayerNorm(d),
    "none": lambda d, s: nn.Identity(),
}
NORMS["identity"] = NORMS["none"]


def get_norm(spec: str | Callable | None, num_features: int, ensemble: int = 1) -> nn.Module:
    """Build the normalisation layer for ``num_features`` features and ``ensemble`` seeds.

    ``spec`` is a name of :data:`NORMS` (case-insensitive), ``None`` (no normalisation) or a user factory
    ``factory(num_features) -> nn.Module`` acting on ``(n, d)`` batches (wrapped in :class:`PerSeed`).
    ``torch.nn.BatchNorm1d`` itself is mapped to the loop-free :class:`TorchBatchNorm`.
    """
    if spec is None:
        return nn.Identity()
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        if key not in NORMS:
            raise ValueError(f"unknown norm {spec!r}; known names: {sorted(NORMS)} (or pass a factory(d) -> module)")
        return NORMS[key](num_features, ensemble)
    if spec is nn.BatchNorm1d:
        return TorchBatchNorm(num_features, ensemble)
    if callable(spec):
        return PerSeed(spec, num_features, ensemble)
    raise TypeError(f"norm must be a name, None or a factory(num_features) -> nn.Module, got {spec!r}")
