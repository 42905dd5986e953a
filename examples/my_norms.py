"""Example normalisation layers to run the papers' claims on: ``rcbench run --norm examples.my_norms:BatchRMSNorm``.

The contract (:mod:`rcbench.components`): ``--norm PACKAGE.MODULE:NAME`` names a factory ``f(num_features) ->
nn.Module`` (an ``nn.Module`` class qualifies) whose module maps one seed's batch ``(n, d)`` — ``n`` samples, ``d``
features — to ``(n, d)``. rcbench builds one instance per layer and seed and substitutes it for the paper's
normalisation in every claim that declares ``components=("norm",)`` (see ``rcbench list``).

* :class:`BatchRMSNorm` — each feature scaled to unit mean square over the batch. The paper's BN
  ``diag(M M^T)^{-1/2} M`` up to the constant ``sqrt(n)``: the scale-invariant statistics (soft rank, orthogonality
  gap, isometry) are unchanged, so it should keep the rank-collapse and orthogonalisation guarantees.
* :class:`BatchNormNoCentering` — ``torch.nn.BatchNorm1d``'s division by the batch standard deviation, without
  subtracting the mean first. Each feature is still scaled by a positive number, but not to equal norms, so whether
  it keeps the guarantees is an empirical question: this is what the claims answer.
* :class:`NoNorm` — the identity: the counter-example. The claims whose mechanism is the normalisation must fail
  with it (rcbench's own mutation test).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BatchRMSNorm", "BatchNormNoCentering", "NoNorm"]


class BatchRMSNorm(nn.Module):
    """``x / sqrt(mean_batch(x^2) + eps)`` per feature (no centring, no affine)."""

    def __init__(self, num_features: int, eps: float = 1e-12):
        super().__init__()
        self.num_features, self.eps = num_features, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt(x.pow(2).mean(dim=0, keepdim=True) + self.eps)


class BatchNormNoCentering(nn.Module):
    """``x / sqrt(var_batch(x) + eps)`` per feature: BatchNorm1d's scaling without its centring (no affine)."""

    def __init__(self, num_features: int, eps: float = 1e-12):
        super().__init__()
        self.num_features, self.eps = num_features, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt(x.var(dim=0, unbiased=False, keepdim=True) + self.eps)


class NoNorm(nn.Module):
    """The identity (ignores ``num_features``): removes the normalisation's mechanism."""

    def __init__(self, num_features: int):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
