"""Mechanism-removing mutants (and sound controls) of the substitutable components, for ``rcbench audit --mutants``.

Each mutant is an ordinary user component in the contract of :mod:`rcbench.components`, so the claims run it
exactly as they run a user's ``--norm/--init/--activation PACKAGE.MODULE:NAME``: ``--norm rcbench.mutants:identity_norm``.

A claim that declares a component kind asserts something that kind can break: every mutant of that kind that
removes the claim's mechanism must make the claim fail (the mutant is *killed*). A mutant that keeps the verdict (a
*survivor*) is explained on the claim's marker, ``@pytest.mark.claim("A6", components=("norm",),
mutants={"batchnorm1d_norm": "sound: centred BN keeps the rank ..."})``: the claim genuinely does not depend on what
that mutant removes (a sound control, or a mechanism the claim does not use). Any other survivor is a test to
strengthen.

norm mutants (a factory ``f(num_features) -> nn.Module`` on one seed's batch ``(n, d)``):

========================  ===================================================================================
``identity_norm``         no normalisation at all
``scalar_rescale_norm``   one positive scalar for the whole batch, ``x / sqrt(mean(x^2))``: it keeps every scale-
                          invariant statistic of the unnormalised net, yet cannot overflow or underflow, so a
                          check that only catches blow-up does not kill it
``feature_axis_norm``     each sample (row) scaled to unit mean square over the features: the wrong axis for a
                          batch-normalisation claim (a layer norm without centring)
``batch_axis_norm``       each feature (column) scaled to unit mean square over the batch: the wrong axis for a
                          layer-normalisation claim (paper B's BN up to sqrt(n))
``batchnorm1d_norm``      sound control for centred-BN claims: ``torch.nn.BatchNorm1d(affine=False)``
``layernorm_norm``        sound control for LN claims: ``torch.nn.LayerNorm(elementwise_affine=False)``
========================  ===================================================================================

init mutants (``init(shape, generator, dtype) -> Tensor`` with ``shape = (seeds, out, in)``):
``gaussian_init`` (i.i.d. ``N(0, 1/fan_in)``: removes orthogonality), ``orthogonal_init`` (Haar orthogonal; sound
control for the orthogonal-weight claims), ``low_rank_init`` (rank-one ``a b^T / sqrt(fan_in)``: removes the full
rank of the weights, so the representation collapses at the first layer rather than with depth).

activation mutants (elementwise callables): ``linear_activation`` (the identity: removes the nonlinearity),
``tanh_activation`` (a sound odd nonlinearity), ``relu_activation`` (positively homogeneous: removes the
linearisation under a small pre-activation gain that activation shaping relies on), ``square_activation``
(``x^2``, even: removes the sign of the pre-activation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rcbench.networks.init import gaussian, haar_orthogonal

__all__ = ["Mutant", "MUTANTS", "mutants_of"]


class _IdentityNorm(nn.Module):
    def __init__(self, num_features: int):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _ScalarRescale(nn.Module):
    """``x / sqrt(mean(x^2))`` over the whole batch (one scalar): scale-free statistics stay those of no norm."""

    def __init__(self, num_features: int):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # scale by the max first so that squaring cannot overflow (entries up to ~1e308 stay finite)
        m = x.detach().abs().amax().clamp_min(torch.finfo(x.dtype).tiny)
        y = x / m
        return y / torch.sqrt((y * y).mean()).clamp_min(torch.finfo(x.dtype).tiny)


class _AxisRMS(nn.Module):
    def __init__(self, num_features: int, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt((x * x).mean(self.dim, keepdim=True)).clamp_min(torch.finfo(x.dtype).tiny)


def identity_norm(num_features: int) -> nn.Module:
    """No normalisation."""
    return _IdentityNorm(num_features)


def scalar_rescale_norm(num_features: int) -> nn.Module:
    """One scalar per batch: ``x / sqrt(mean(x^2))``."""
    return _ScalarRescale(num_features)


def feature_axis_norm(num_features: int) -> nn.Module:
    """Each sample (row) to unit mean square over its features (wrong axis for BN)."""
    return _AxisRMS(num_features, dim=-1)


def batch_axis_norm(num_features: int) -> nn.Module:
    """Each feature (column) to unit mean square over the batch (wrong axis for LN)."""
    return _AxisRMS(num_features, dim=-2)


def batchnorm1d_norm(num_features: int) -> nn.Module:
    """Sound control: ``torch.nn.BatchNorm1d(num_features, affine=False)`` (training-mode batch statistics)."""
    return nn.BatchNorm1d(num_features, affine=False, dtype=torch.float64)


def layernorm_norm(num_features: int) -> nn.Module:
    """Sound control: ``torch.nn.LayerNorm(num_features, elementwise_affine=False)``."""
    return nn.LayerNorm(num_features, elementwise_affine=False, dtype=torch.float64)


gaussian_init = gaussian()
gaussian_init.__doc__ = "I.i.d. N(0, 1/fan_in) weights: removes orthogonality."


def orthogonal_init(shape, generator, dtype):
    """Sound control: Haar orthogonal weights."""
    return haar_orthogonal(shape, generator, dtype)


def low_rank_init(shape, generator, dtype):
    """Rank-one Gaussian weights ``a b^T / sqrt(fan_in)`` (entries of variance ``1/fan_in``, as ``gaussian_init``):
    removes the full rank of i.i.d. weights, so every layer maps all samples onto one direction before the
    activation (the representation collapses at the first layer instead of through depth)."""
    *lead, out, fan_in = shape
    a = torch.randn(*lead, out, 1, generator=generator, dtype=dtype)
    b = torch.randn(*lead, 1, fan_in, generator=generator, dtype=dtype)
    return a * b / fan_in**0.5


def linear_activation(x: torch.Tensor) -> torch.Tensor:
    """The identity: removes the nonlinearity."""
    return x


def tanh_activation(x: torch.Tensor) -> torch.Tensor:
    """A sound odd nonlinearity."""
    return torch.tanh(x)


def square_activation(x: torch.Tensor) -> torch.Tensor:
    """``x^2``, an even nonlinearity: removes the sign of the pre-activation (``F(q) = F(-q)``). After a batch norm
    (feature columns of unit norm over the batch) each squared column is a probability vector on the batch, so the
    activation's output is dominated by one direction shared by all samples."""
    return x * x


def relu_activation(x: torch.Tensor) -> torch.Tensor:
    """ReLU: positively homogeneous, ``relu(a x) = a relu(x)`` for ``a > 0``, so a pre-activation gain ``alpha_l``
    (paper C's activation shaping, Eq. 11) only rescales the layer's output, which the next normalisation undoes:
    removes what shaping relies on, an activation that becomes linear as ``alpha -> 0``."""
    return torch.relu(x)


def heavy_tailed_activation(x: torch.Tensor) -> torch.Tensor:
    """``x exp(x^2 / 8)``: odd, finite variance (E sigma^2 = 2^{3/2}, beta_sigma = 1.16, so its Hermite constants and
    mean-field kernel are well defined) but an infinite fourth moment, which removes the concentration of the
    finite-width Gram around the mean-field kernel (the 1/sqrt(d) CLT over the features)."""
    return x * torch.exp(x * x / 8)


@dataclass(frozen=True)
class Mutant:
    """A mutant component: ``name`` in this module, its ``kind``, what it removes, and whether it is a sound control
    (expected to keep verdicts where it is a valid instance of the claim's component)."""

    name: str
    kind: str
    removes: str
    sound: bool = False

    @property
    def spec(self) -> str:
        """What ``--<kind>`` takes: ``rcbench.mutants:<name>``."""
        return f"rcbench.mutants:{self.name}"


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("identity_norm", "norm", "the normalisation"),
        Mutant("scalar_rescale_norm", "norm", "per-feature (or per-sample) scaling; keeps only a global scale"),
        Mutant("feature_axis_norm", "norm", "the batch axis of BN (normalises samples instead)"),
        Mutant("batch_axis_norm", "norm", "the feature axis of LN (normalises features over the batch instead)"),
        Mutant("batchnorm1d_norm", "norm", "nothing for centred BN (sound control)", sound=True),
        Mutant("layernorm_norm", "norm", "nothing for LN (sound control)", sound=True),
        Mutant("gaussian_init", "init", "orthogonality of the weights"),
        Mutant("orthogonal_init", "init", "nothing for orthogonal-weight claims (sound control)", sound=True),
        Mutant("linear_activation", "activation", "the nonlinearity"),
        Mutant("low_rank_init", "init", "the full rank of the weights (rank-one a b^T: collapse at the first layer)"),
        Mutant("tanh_activation", "activation", "nothing for odd-activation claims (sound control)", sound=True),
        Mutant("heavy_tailed_activation", "activation",
               "the finite fourth moment (the finite-width Gram's concentration around the mean-field kernel)"),
        Mutant("square_activation", "activation", "the sign of the pre-activation (even F = x^2; after BN a shared "
               "direction dominates its output)"),
        Mutant("relu_activation", "activation", "linearisation under a small gain (positively homogeneous: "
               "shaping alpha_l is undone by the next norm)"),
    )
}


def mutants_of(kind: str) -> list[Mutant]:
    """The mutants of one component kind, in catalogue order."""
    return [m for m in MUTANTS.values() if m.kind == kind]
