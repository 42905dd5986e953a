"""How the scaling step of a normalisation changes isometry (paper C, Lemma 2 / Eq. 7; paper D, T1).

Scaling the rows of ``H`` (``n x d``) to equal norm multiplies ``det(H H^T)`` by ``prod_i 1/a_i`` and the trace by
``n / sum_i a_i`` with ``a_i = ||h_i||^2``; hence the isometry of the Gram is multiplied by ``AM(a) / GM(a) >= 1``.
LN scales sample rows (sample Gram ``H H^T``); BN scales feature columns (feature Gram ``H^T H``, paper C's
``X X^T``, whose isometry equals that of the sample Gram when ``n = d``).
"""

from __future__ import annotations

import torch

__all__ = ["scaling_isometry_gain", "scaling_isometry_lower_bound"]


def scaling_isometry_gain(sq_norms: torch.Tensor) -> torch.Tensor:
    """``AM(a) / GM(a)`` of the squared norms ``a`` (last dimension) of the rows being equalised: the exact factor
    ``I(after) / I(before)``. Non-positive norms raise (the Gram is singular and the ratio undefined)."""
    if bool((sq_norms <= 0).any()):
        raise ValueError("squared norms must be positive")
    return sq_norms.mean(-1) / torch.exp(torch.log(sq_norms).mean(-1))


def scaling_isometry_lower_bound(norms: torch.Tensor) -> torch.Tensor:
    """``1 + Var(r) / mean(r)^2`` with population variance of the norms ``r`` (not squared): the lower bound on the
    gain stated by paper C's Lemma 2 and paper D's T1 (``AM(r^2)/GM(r^2) >= 1 + Var(r)/E[r]^2``)."""
    return 1.0 + norms.var(-1, unbiased=False) / norms.mean(-1) ** 2
