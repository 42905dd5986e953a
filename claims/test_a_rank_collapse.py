"""Claims of paper A: Daneshmand, Kohler, Bach, Hofmann, Lucchi, *Batch normalization provably avoids rank
collapse for randomly initialised deep networks* (NeurIPS 2020, arXiv 2003.01652)."""

import pytest
import torch

from rcbench import metrics


def _random_spectra(seed: int):
    """200 matrices of various shapes and spectra: flat, power-law, nearly rank one, exactly low rank."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(200):
        n, d = (int(v) for v in torch.randint(2, 40, (2,), generator=g))
        k = min(n, d)
        u, _ = torch.linalg.qr(torch.randn(n, k, generator=g, dtype=torch.float64))
        v, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))
        kind = i % 4
        if kind == 0:
            s = torch.rand(k, generator=g, dtype=torch.float64) + 0.5
        elif kind == 1:
            s = torch.arange(1, k + 1, dtype=torch.float64) ** -1.5
        elif kind == 2:
            s = torch.full((k,), 1e-4, dtype=torch.float64)
            s[0] = 1.0
        else:
            s = torch.rand(k, generator=g, dtype=torch.float64)
            s[max(1, k // 2):] = 0.0
        out.append(u @ torch.diag(s) @ v.T)
    return out


@pytest.mark.claim("A1")
@pytest.mark.parametrize("tau", [0.0, 0.25, 0.5, 0.9])
def test_a1_rank_inequalities(record, seed, tau):
    """1 <= r <= rank <= min(n, d) and rank_tau >= (1 - tau)^2 r (paper A, Thm 2's first inequality).

    Deterministic: the slack 1e-9 is float64 round-off only. Negative control: without the (1 - tau)^2 factor the
    bound is false (a spike plus a floor: lam = 1 and 99 x 0.009 at d = 100 gives rank_0.9 = 1 < r = 3.55).
    """
    worst_lower, worst_upper, worst_tau = float("inf"), -float("inf"), float("inf")
    for H in _random_spectra(seed):
        r, rank = metrics.soft_rank(H).item(), metrics.numerical_rank(H).item()
        worst_lower = min(worst_lower, r - 1)
        worst_upper = max(worst_upper, r - rank, rank - min(H.shape))
        worst_tau = min(worst_tau, metrics.tau_rank(H, tau).item() - (1 - tau) ** 2 * r)
    record.check("min (r - 1)", worst_lower, expected=">= -1e-9", tolerance="float64 round-off", passed=worst_lower >= -1e-9)
    record.check("max (r - rank, rank - min(n,d))", worst_upper, expected="<= 1e-9", tolerance="float64 round-off",
                 passed=worst_upper <= 1e-9)
    record.check("min (rank_tau - (1-tau)^2 r)", worst_tau, expected=">= -1e-9", tolerance="float64 round-off",
                 passed=worst_tau >= -1e-9)
    # negative control: the bound without (1 - tau)^2
    lam = torch.tensor([1.0] + [0.009] * 99, dtype=torch.float64)
    H = torch.diag(lam.sqrt())
    r, rank09 = metrics.soft_rank(H).item(), metrics.tau_rank(H, 0.9).item()
    record.check("spike+floor: rank_0.9 < r (bound without (1-tau)^2 fails)", [rank09, r], expected="1 < 3.55",
                 tolerance="exact", passed=rank09 < r and abs(r - 3.55) < 0.01, control=True)
    record.verify()
