"""Haar sampling (:func:`rcbench.networks.init.haar_orthogonal`: batched QR of a Gaussian with the sign fix).

Exact checks: orthonormal columns (tall) or rows (wide), to round-off. Distributional checks against known laws:

* a fixed entry: for Q Haar on O(d) (or a row/column of a Haar Stiefel matrix) the first column is uniform on the
  sphere, so ``Q_11^2 ~ Beta(1/2, (d-1)/2)`` and the sign of ``Q_11`` is symmetric: the CDF of ``Q_11`` is
  ``1/2 + sign(x) Beta_cdf(x^2) / 2``. One-sample KS test.
* the trace: ``E tr Q = 0`` and ``E (tr Q)^2 = 1`` exactly for d >= 2; ``E (tr Q)^4 = 3`` for d >= 4 (Diaconis and
  Shahshahani 1994), so the sample mean of ``(tr Q)^2`` over N draws has sd ``sqrt(2/N)``.
* the determinant is +1 or -1 with probability 1/2 each (Haar on O(d), not SO(d)).

False-failure rate: the four statistical checks of this file each reject at ``p < 2.5e-4`` (family 1e-3, Bonferroni);
the seeds are fixed. The negative control (plain QR without the sign fix) must be rejected at the same level.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from rcbench.networks.init import haar_orthogonal

F64 = torch.float64
ALPHA = 1e-3 / 4


def _draw(shape, seed=0):
    return haar_orthogonal(shape, torch.Generator().manual_seed(seed), F64)


@pytest.mark.parametrize("shape", [(5, 7, 7), (3, 12, 4), (3, 4, 12), (1, 1)])
def test_orthonormal(shape):
    q = _draw(shape)
    assert q.shape == shape and q.dtype == F64
    small = min(shape[-2:])
    gram = q.transpose(-1, -2) @ q if shape[-2] >= shape[-1] else q @ q.transpose(-1, -2)
    eye = torch.eye(small, dtype=F64).expand_as(gram)
    torch.testing.assert_close(gram, eye, rtol=0, atol=1e-13)


def _entry_cdf(d):
    beta = stats.beta(0.5, (d - 1) / 2)
    return lambda x: 0.5 + np.sign(x) * beta.cdf(np.asarray(x) ** 2) / 2


@pytest.mark.parametrize("shape", [(4000, 6, 6), (4000, 3, 9)])
def test_fixed_entry_law(shape):
    """Q_11 of Haar O(6), and of a 3 x 9 matrix with orthonormal rows (its first row is uniform on S^8)."""
    q = _draw(shape, seed=1)
    d = max(shape[-2:])
    p = stats.kstest(q[:, 0, 0].numpy(), _entry_cdf(d)).pvalue
    assert p > ALPHA, f"KS p = {p:.2e}"


def test_trace_moments_and_determinant_signs():
    N, d = 4000, 8
    q = _draw((N, d, d), seed=2)
    tr = torch.diagonal(q, dim1=-2, dim2=-1).sum(-1).numpy()
    z = stats.norm.isf(ALPHA / 2)
    assert abs(tr.mean()) < z * math.sqrt(1 / N)  # Var(tr Q) = 1
    assert abs((tr**2).mean() - 1) < z * math.sqrt(2 / N)  # Var((tr Q)^2) = E tr^4 - 1 = 2
    det = torch.linalg.det(q).numpy()
    np.testing.assert_allclose(np.abs(det), 1, atol=1e-10)
    assert stats.binomtest(int((det > 0).sum()), N).pvalue > ALPHA


def test_control_qr_without_sign_fix_is_rejected():
    """Plain Householder QR (LAPACK's R has a sign convention) is not Haar: the entry test must reject it."""
    a = torch.randn(4000, 6, 6, generator=torch.Generator().manual_seed(1), dtype=F64)
    q, _ = torch.linalg.qr(a)
    p = stats.kstest(q[:, 0, 0].numpy(), _entry_cdf(6)).pvalue
    assert p < ALPHA
