"""A straightforward reference implementation in the authors' style, the baseline of ``speedup_vs_reference``.

Paper B's BN chain ``H_{l+1} = BN(W_l H_l)/sqrt(d)`` measured at every layer, written the way the authors' notebook
(``hadidaneshmand/batchnorm21``, ``Figures_1_2_6.ipynb``) writes it: an explicit ``d x d`` Gaussian weight drawn per
layer, a Python loop over the runs (seeds), one ``eigvalsh`` per layer for the metrics, plain lists of floats. The
arithmetic is float32 in torch (the notebook uses numpy float64; torch float32 is the faster and therefore the
stricter baseline). rcbench layout (``n x d``, rows = samples): ``H <- colnorm(H W^T)/sqrt(d)``.
"""

from __future__ import annotations

import math

import torch


def reference_bn_chain(x: torch.Tensor, depth: int, runs: int, seed: int = 0):
    """Orthogonality gap and isometry gap of layers ``0..depth`` for ``runs`` independent networks.

    Returns two lists of ``runs`` lists with ``depth + 1`` floats each.
    """
    torch.manual_seed(seed)
    n, d = x.shape
    all_v, all_iso = [], []
    for _ in range(runs):  # one network after the other
        H = x.to(torch.float32).clone()
        vs, isos = [], []
        for layer in range(depth + 1):
            G = H @ H.T
            lam = torch.linalg.eigvalsh(G)  # one eigvalsh per layer
            p = lam / lam.sum()
            vs.append(float(torch.sqrt(((p - 1.0 / n) ** 2).sum())))
            isos.append(float(torch.log(lam.mean()) - torch.log(lam.clamp_min(1e-30)).mean()))
            if layer == depth:
                break
            W = torch.randn(d, d)  # the explicit weight of this layer
            H = H @ W.T
            H = H / torch.linalg.norm(H, dim=0) / math.sqrt(d)  # BN: every feature column to unit norm
        all_v.append(vs)
        all_iso.append(isos)
    return all_v, all_iso
