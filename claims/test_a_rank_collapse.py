"""Claims of paper A: Daneshmand, Kohler, Bach, Hofmann, Lucchi, *Batch normalization provably avoids rank
collapse for randomly initialised deep networks* (NeurIPS 2020, arXiv 2003.01652).

Layout: the paper's ``H`` is ``d x N``; rcbench's is ``(n, d)`` (the transpose). The paper's BN ``diag(M M^T)^{-1/2}
M`` is the norm ``"bn"`` (each feature column to unit norm over the batch). Experiments: :mod:`rcbench.experiments.
rank_collapse` (each test calls ``exp.run_claim`` with the profile's sizes, so the paper profile runs the same code).
Tolerances are derived next to each check: from a closed form (the random walk of products of Gaussian matrices,
:mod:`rcbench.theory.products`), from rcbench's calibration runs ([C] in the legend), from read-offs of the figures
in the authors' notebooks ([R]) or from the seed spread at a stated false-failure rate.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats as sst

from rcbench import metrics, stats
from rcbench.experiments import rank_collapse as exp
from rcbench.theory import products

# Scale grid of the statistical claims (``rcbench audit --scales``; each dict is a set of ``--set`` overrides of the
# claim's quick configuration). Chosen from the paper's regime before looking at results: the widths of Figs. 2, 3a
# and 3b (d = N, 8..256, d = 50 and 200 for Fig. 3b), more seeds (a false-failure rate stated per run must hold
# with the seed count it is derived for), deeper chains (Thm 2 and Figs. 2/3a are depth averages, L up to 10^6),
# the paper's gamma values (0.01, 1, inf) where the claim is stated for every gamma, the authors' input law of
# Fig. 3b, and Fig. 1/5's batch sizes. Kept to points that run in well under a minute each on one core.
SCALES: dict[str, list[dict[str, object]]] = {
    # A2 at d = 64 needs a deeper chain: the regime's collapse margin (z = 3.81 at L = 4000, 0.07% per run)
    "A2": [{"collapse.widths": (8, 16)}, {"collapse.seeds": 20},
           {"collapse.widths": (32, 64), "collapse.depth": 4000, "r_layer": 4000, "rank_layer": 4000}],
    "A3": [{"chain.widths": (16, 32, 64, 128), "chain.depth": 1200, "chain.burn_in": 200},
           {"chain.seeds": 10}, {"gammas": (1.0,)}],
    "A4": [{"chain.depth": 5000}, {"chain.seeds": 6}],
    "A5": [{"chain.seeds": 5}, {"chain.depth": 1200, "chain.burn_in": 200}, {"gammas": (1.0,)}],
    "A6": [{"recovery.width": 100}, {"recovery.width": 200}, {"recovery.seeds": 20}, {"input_laws": ("authors",)},
           {"recovery.depth": 100}],
    "A7": [{"chain.widths": 64}, {"chain.widths": 16}, {"chain.depth": 1000}],
    "A8": [{"init_rank.seeds": 6}],
    "A10": [{"pretraining.seeds": 20}],
    "A11": [{"conv.batch": 32}, {"conv.batch": 128}, {"conv.seeds": 6}],
}


def _cfg(claim, profile):
    return exp.config(claim, "quick" if profile == "quick" else "paper")


def _record_frames(record, frames):
    for name, df in frames.items():
        record.frame(name, df)


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


# ---------------------------------------------------------------------------------------------------------------
# A1: deterministic inequalities
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A1")
@pytest.mark.parametrize("tau", [0.0, 0.25, 0.5, 0.9])
def test_a1_rank_inequalities(record, seed, tau):
    """1 <= r <= rank <= min(n, d) and rank_tau >= (1 - tau)^2 r (paper A, Thm 2's first inequality), and a linear
    BN layer (``D W``) cannot raise the rank of an exactly rank-k input.

    Deterministic: the slack 1e-9 is float64 round-off only. Negative control: without the (1 - tau)^2 factor the
    bound is false (a spike plus a floor: lam = 1 and 99 x 0.009 at d = 100 gives rank_0.9 = 1 < r = 3.55).
    """
    worst_lower, worst_upper, worst_tau = float("inf"), -float("inf"), float("inf")
    for H in _random_spectra(seed):
        r, rank = metrics.soft_rank(H).item(), metrics.numerical_rank(H).item()
        worst_lower = min(worst_lower, r - 1)
        worst_upper = max(worst_upper, r - rank, rank - min(H.shape))
        worst_tau = min(worst_tau, metrics.tau_rank(H, tau).item() - (1 - tau) ** 2 * r)
    record.check("min (r - 1)", worst_lower, expected=">= -1e-9", tolerance="float64 round-off",
                 passed=worst_lower >= -1e-9)
    record.check("max (r - rank, rank - min(n,d))", worst_upper, expected="<= 1e-9", tolerance="float64 round-off",
                 passed=worst_upper <= 1e-9)
    record.check("min (rank_tau - (1-tau)^2 r)", worst_tau, expected=">= -1e-9", tolerance="float64 round-off",
                 passed=worst_tau >= -1e-9)
    if tau == 0.0:
        # one linear BN layer on exactly rank-k inputs (k = 1, 3, 5): rank(BN(H W^T)) <= k. One layer only: over many
        # layers BN amplifies float round-off (~1e-16) like any other tiny direction (see A6).
        # Rank tolerance (derived in exp.normalized_rank_tolerance): H W^T carries round-off ||E|| <~ max(n,d) eps
        # sigma_max(H W^T); BN = right-multiplication by D = diag(1/||col_j||) amplifies it to at most
        # max(n,d) eps sigma_max(BN(H W^T)) cond(D), cond(D) = max_j ||col_j|| / min_j ||col_j||. torch's default
        # tolerance (cond(D) = 1) counts an amplified round-off direction in ~2% of inputs; with cond(D) the largest
        # round-off singular value is 0.012 x the tolerance (3600 pilot matrices), the exact rank is recovered. The
        # default-tolerance count is recorded as a report.
        worst, worst_default = -1, -1
        for k in (1, 3, 5):
            x = exp.nearly_rank_one_input(32, 32, seeds=4, seed=seed, exact=True)
            if k > 1:
                g = exp.generator(exp.subseed(seed, k))
                x = torch.randn(4, 32, k, generator=g, dtype=torch.float64) @ torch.randn(4, k, 32, generator=g,
                                                                                         dtype=torch.float64)
            rk, rk_default = exp.one_layer_rank(x, seed=seed, norm="bn")
            worst = max(worst, int(rk.max()) - k)
            worst_default = max(worst_default, int(rk_default.max()) - k)
        record.check("max rank(BN(H W^T)) - rank(H), exactly rank-k inputs", worst, expected="<= 0",
                     tolerance="exact; rank tolerance sigma_max max(n,d) eps cond(D) (round-off amplified by BN's "
                     "column scaling D)", passed=worst <= 0)
        record.check("(report) same with torch's default matrix_rank tolerance", worst_default, expected="report",
                     tolerance="report only (BN-amplified round-off can add a direction)", passed=True)
    # negative control: the bound without (1 - tau)^2
    lam = torch.tensor([1.0] + [0.009] * 99, dtype=torch.float64)
    H = torch.diag(lam.sqrt())
    r, rank09 = metrics.soft_rank(H).item(), metrics.tau_rank(H, 0.9).item()
    record.check("spike+floor: rank_0.9 < r (bound without (1-tau)^2 fails)", [rank09, r], expected="1 < 3.55",
                 tolerance="exact", passed=rank09 < r and abs(r - 3.55) < 0.01, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A2: vanilla linear nets collapse
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A2")
def test_a2_vanilla_linear_collapse(record, profile, device, seed):
    """Vanilla linear nets ``H_{l+1} = H_l W_l^T`` collapse to rank one with depth (abstract, §1; Fig. 2).

    Checks, each a function of (d, L, seeds) through the random walk of ``log(s2/s1)`` (:mod:`rcbench.theory.
    products`: per-layer mean ``-(psi(d/2) - psi((d-1)/2))/2``, Newman 1986, and variance ``(psi'(d/2) +
    psi'((d-1)/2))/4`` from the independent chi factors of the QR recursion; checked by simulation to 2%):
    (i) r(H_L) < 1.10 in every seed and width. 1.10 is the definition of "collapsed" (r - 1 ~ 2 (s2/s1)^2: 5% of the
    energy off the top direction, log(s2/s1) < -1.50), free of the sizes; what depends on them is the margin
    z = (1.50 - gap L) / (sd sqrt L) and the predicted false failure ``1 - prod_d Phi(z_d)^S``, recorded with the
    check: quick profile (d = 16, 32, L = 2000, 10 seeds) z = 5.74, 3.86, 0.056% per run; SCALES widths (8, 16)
    z = 8.64, 5.74, 5e-8; 20 seeds 0.11%. A configuration predicted above 0.5% per run is refused (regime; d = 64
    at L = 2000 is 5%). Was: "margin 4.5 sd at L = 2000, d = 32" from a pilot per-layer sd 0.155, below the
    closed form 0.181 (simulated 0.184): the true margin is 3.86 sd.
    (ii) float64 ``matrix_rank(H_L)`` <= K(d, L, S): 1 + the directions k >= 2 whose log(s_k/s_1) upper quantile
    (family rate 0.1%) is still above matrix_rank's threshold log(d eps) + 1 round-off direction at that threshold
    (:func:`rcbench.experiments.rank_collapse.product_rank_bound`): K = 3 at d = 16, 32 (was the constant 3, [C]
    1-2), 2 at d = 8, 5 at d = 64 (L = 2000).
    (iii) Mechanism (external theory, Newman 1986): the per-seed slope of log(sigma_2/sigma_1) over layers d..30d;
    the Student-t interval of the seed mean must contain Newman's rate at confidence 99.9% per width, Bonferroni
    over the widths (family 0.2% under normality; at 99% per width the audit saw one miss by 0.0003). The pooled
    ratio slope/theory over the S x W chains must lie within 3.09 SE (two-sided 0.2%), SE = sqrt(sum_d sd_d^2 / S)
    / W with sd_d = sqrt(6 v_d / (5 T_d)) / gap_d, the OLS-slope sd of a random walk over T_d = 29 d layers
    (:func:`rcbench.experiments.rank_collapse.slope_ratio_sd`, 0.39 / 0.40 at d = 16 / 32): +-0.271 at the quick
    profile (was +-0.25 = 3.1 SE with the pilot sd 0.36; the closed form is 0.39-0.40), +-0.192 at 20 seeds,
    +-0.261 at widths (8, 16). The rate is not one of the paper's claims.
    Negative control: the Gaussian input itself is far from rank one: r(H_0) >= 0.3 d (Marchenko-Pastur: r ->
    n d / (n + d) = d/2 at n = d; [C] 8.4 at d = 16, 16.1 at d = 32); the BN chain at the same depth keeps
    r >= 0.6 sqrt(d) (A3).
    """
    cfg = _cfg("A2", profile)
    frames = exp.run_claim("A2", cfg, seed=seed, device=device)
    _record_frames(record, frames)
    col = frames["vanilla_chain"]
    seeds = int(col.seed.nunique())
    widths = sorted(int(w) for w in col.width.unique())
    r_l = col[col.layer == cfg["r_layer"]]
    rmax = float(r_l.soft_rank.max())
    z, p_fail = exp.collapse_false_failure(widths, cfg["r_layer"], seeds)
    record.check(f"max over seeds and d of r(H_{cfg['r_layer']})", rmax, expected=f"< {exp.COLLAPSED_R:g}",
                 tolerance=f"'collapsed' = r < {exp.COLLAPSED_R:g} (5% energy off the top direction); margin z = "
                 + ", ".join(f"{v:.2f} (d={d})" for d, v in z.items())
                 + f" at L = {cfg['r_layer']}, {seeds} seeds: predicted false failure {p_fail:.2g} per run",
                 passed=rmax < exp.COLLAPSED_R)
    rk = col[col.layer == cfg["rank_layer"]]
    batch = cfg["collapse"].get("batch")
    for d, g in rk.groupby("width"):
        K = exp.product_rank_bound(int(d), int(cfg["rank_layer"]), seeds * len(widths), n=batch)
        rkmax = int(g.numerical_rank.max())
        record.check(f"d={d}: max float64 matrix_rank(H_{cfg['rank_layer']})", rkmax, expected=f"<= {K}",
                     tolerance="1 + directions above log(max(n,d) eps) at the 0.1% upper quantile of log(s_k/s_1) "
                     "+ 1 round-off direction (product_rank_bound; [C] 1-2 at d = 16, 32)", passed=rkmax <= K)
    rates = exp.lyapunov_rates(frames["lyapunov_chain"], start=lambda d: d)
    ratios = []
    conf = cfg.get("confidence", 0.999)
    nw = rates.width.nunique()
    lyap = frames["lyapunov_chain"]
    sd2 = []
    for d, g in rates.groupby("width"):
        theory = products.log_singular_ratio_rate(int(d))
        ci = stats.mean_interval(g.rate, confidence=conf)
        ratios.extend((g.rate / theory).tolist())
        span = float(lyap[lyap.width == d].layer.max()) - int(d)
        sd2.append(exp.slope_ratio_sd(int(d), span) ** 2 / len(g))
        record.check(f"d={d}: mean slope of log(s2/s1) vs depth ({100 * conf:g}% CI)", [ci.estimate, ci.low, ci.high],
                     expected=theory, tolerance=f"{100 * conf:g}% t-interval over seeds contains Newman's rate "
                     f"(Bonferroni over {nw} widths: family false-failure {100 * nw * (1 - conf):.2g}%)",
                     passed=ci.contains(theory))
    pooled = float(np.mean(ratios))
    se = math.sqrt(sum(sd2)) / len(sd2)
    tol = float(sst.norm.isf(0.001)) * se
    record.check("pooled slope / Newman rate", pooled, expected=f"1 +- {tol:.3f}",
                 tolerance=f"3.09 SE (two-sided 0.2%), SE {se:.4f} from the random-walk OLS-slope sd "
                 "sqrt(6 v / (5 T)) / gap per chain (slope_ratio_sd)", passed=abs(pooled - 1) <= tol,
                 note=f"measured per-chain sd of slope/theory {float(np.std(ratios, ddof=1)):.3f}")
    r0 = col[col.layer == 0].groupby("width").soft_rank.min()
    ok = bool(all(r0[d] >= 0.3 * d for d in r0.index))
    record.check("input r(H_0) (min over seeds) per d", r0.round(2).to_dict(), expected=">= 0.3 d (about d/2)",
                 tolerance="Marchenko-Pastur r -> n d/(n + d) = d/2 at n = d; [C] 8.4 at d = 16, 16.1 at d = 32",
                 passed=ok, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A3: Theorem 2, depth-averaged soft rank Omega(sqrt d)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A3", components=("norm",), mutants={
    "batch_axis_norm": "sound: per-feature RMS over the batch is the theory BN up to sqrt(n) (r is scale-invariant)",
    "batchnorm1d_norm": "sound: centred BN; the claim is run with and without centring ([C]: centring does not change "
                        "the r(H) scaling of the linear chain; paper B [F] says the same)"})
def test_a3_bn_soft_rank_sqrt_d(record, profile, device, seed, components):
    """Thm 2 (formal Thm 14): the depth-averaged soft rank of the BN linear chain is Omega(sqrt d).

    Operationalisation (the theorem is asymptotic and has no constant): time-average r over layers after a burn-in,
    per width; the log-log slope of the seed-averaged r against d must lie in [0.45, 0.70] ("exponent >= 1/2 minus
    slack"; the upper end is a sanity check; [C] 0.548-0.570 per seed) **and** min_d r/sqrt(d) >= 0.6 ([C]
    0.77-0.89). Run without and with centring (the paper's theory BN has none; the follow-up says it does not matter),
    or with the user's ``--norm`` only. The paper profile adds gamma in {0.01, 1, inf} (``I + gamma W``) and checks
    that r/sqrt(d) does not depend on gamma within +-15%. Negative control: the vanilla chain (same weights up to
    scale, same seeds) has r(H_2000) < 1.1 for d <= 32 (A2). At L = 500 (before the out-of-sample audit, seeds
    21-40) it failed 3 of 20 runs (max r 1.105-1.162): A2's random walk puts L = 500 at a 1.65-sd margin per seed
    at d = 32 and L = 2000 at 3.86 sd (0 of 200 pilot seeds), which A2 already uses; this control now runs A2's
    depth, and records the margin and predicted false failure at its (d, L, seeds) (0.028% per run at 5 seeds).
    """
    cfg = _cfg("A3", profile)
    if "norm" in components.substituted:
        cfg["norms"] = (components.norm("bn"),)
    frames = exp.run_claim("A3", cfg, seed=seed, device=device)
    _record_frames(record, frames)
    bn = frames["bn_chain"]
    burn = cfg["chain"]["burn_in"]
    avg = bn[bn.layer >= burn].groupby(["norm", "gamma", "width", "seed"]).soft_rank.mean().reset_index()
    for (nm, gamma), g in avg.groupby(["norm", "gamma"]):
        m = g.groupby("width").soft_rank.mean()
        fit = stats.slope(m.index, m.values, logx=True, logy=True)
        per_seed = [stats.slope(s.width, s.soft_rank, logx=True, logy=True).slope for _, s in g.groupby("seed")]
        record.check(f"{nm}, gamma={gamma:g}: log-log slope of depth-averaged r vs d", fit.slope,
                     expected="[0.45, 0.70]", tolerance=f"[C] 0.548-0.570; per-seed slopes here "
                     f"{min(per_seed):.3f}-{max(per_seed):.3f}", passed=0.45 <= fit.slope <= 0.70)
        ratio = g.soft_rank / np.sqrt(g.width)
        record.check(f"{nm}, gamma={gamma:g}: min over d and seeds of r/sqrt(d)", float(ratio.min()),
                     expected=">= 0.6", tolerance="[C] 0.77-0.89; constant bounded away from 0",
                     passed=float(ratio.min()) >= 0.6)
    if avg.gamma.nunique() > 1:
        c = (avg.assign(c=avg.soft_rank / np.sqrt(avg.width)).groupby(["norm", "gamma", "width"]).c.mean()
             .groupby(["norm", "width"]).agg(lambda v: v.max() / v.min() - 1))
        record.check("max relative spread of r/sqrt(d) across gamma", float(c.max()), expected="<= 0.15",
                     tolerance="Fig. 3a [R]: the three gamma curves nearly coincide; +-15% ([C] about 11% "
                     "between gamma = 0.1 and 1)",
                     passed=float(c.max()) <= 0.15)
    van = frames["vanilla_chain"]
    last = van[van.layer == van.layer.max()]
    vmax = float(last.soft_rank.max())
    # A2's collapse margin at the control's (d, L, seeds): z = 8.64, 5.74, 3.86 at d = 8, 16, 32, L = 2000;
    # predicted false failure 0.028% per run at 5 seeds
    L = int(van.layer.max())
    z, p_fail = exp.collapse_false_failure(sorted(int(w) for w in last.width.unique()), L, int(last.seed.nunique()))
    record.check(f"vanilla chain r(H_{L}) max over seeds, d <= 32", vmax, expected=f"< {exp.COLLAPSED_R:g}",
                 tolerance=f"A2's collapse margin z = {min(z.values()):.2f} (smallest over d): predicted false "
                 f"failure {p_fail:.2g} per run", passed=vmax < exp.COLLAPSED_R, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A4: Fig. 2, numerical rank at equal depth
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A4", components=("norm",), mutants={
    "batchnorm1d_norm": "sound: Fig. 2's BN is centring + population std = BatchNorm1d(affine=False) up to its eps",
    "batch_axis_norm": "sound for the linear chain: BN without centring (the theory's BN); centring does not change "
                       "the linear chain's rank ([C]: BN numerical rank 11 at L = 1000 with or without it)"})
def test_a4_fig2_numerical_rank(record, profile, device, seed, components):
    """Fig. 2 (linear panel): with BN (centring + population std, the authors' code), d = N = 32, U[-sqrt3, sqrt3]
    weights, the float64 ``matrix_rank`` stays at about 9-10 over 50,000 layers, while the vanilla net collapses to 1
    (sometimes 2).

    Checks: BN ``matrix_rank`` averaged over layers 1000..L in [7, 15] for every seed (paper 9-10 [R], [C] 11 at
    L = 1000; +-2 read-off and seed spread plus a margin) and the depth-averaged r >= 0.6 sqrt(32) = 3.4 (A3's
    constant). Negative control (no normalisation, same weights): ``matrix_rank(H_L) <= 2`` in the median over seeds
    and r(H_L) < 1.1 in every seed.

    Why the median (changed after the 20-reseed audit, in which 1 of 20 runs had one chain at rank 3): the float64
    ``matrix_rank`` of a collapsed product cannot resolve ``s_3 / s_1`` below its threshold ``32 eps`` (log -32.6);
    the true ``log(s_3/s_1)`` drifts at ``-(psi(16) - psi(15))/2 = -0.033`` per layer (-67 +- ~9 at L = 2000), but the
    round-off injected in the last ~1/0.033 = 30 layers keeps the computed ``s_3`` at that floor. Measured over 300
    chains (quick profile, L = 2000): rank 1/2/3 in 144/152/4, so p(3) = 1.3% per chain and the old "every seed"
    rule fails 1 - (1 - p)^3 = 4% of runs; the median of 3 seeds fails when two chains do, 3 p^2 = 5e-4.
    """
    cfg = _cfg("A4", profile)
    norm = components.norm(cfg["norm"])
    frames = exp.run_claim("A4", cfg, seed=seed, device=device, norm=norm)
    _record_frames(record, frames)
    bn, van = frames["bn_chain"], frames["vanilla_chain"]
    late = bn[bn.layer >= cfg["average_from"]]
    ranks = late.groupby("seed").numerical_rank.mean()
    record.check("BN: matrix_rank averaged over layers >= 1000, per seed", ranks.round(2).tolist(), expected="[7, 15]",
                 tolerance="paper 9-10 [R]; [C] 11 at L = 1000", passed=bool(ranks.between(7, 15).all()))
    r = late.groupby("seed").soft_rank.mean()
    d = int(np.max(cfg["chain"]["widths"]))  # d = N = 32 in the paper; 0.6 sqrt(d) is A3's size-free constant
    record.check("BN: depth-averaged r, min over seeds", float(r.min()), expected=f">= {0.6 * math.sqrt(d):.2f}",
                 tolerance="0.6 sqrt(d) (A3)", passed=float(r.min()) >= 0.6 * math.sqrt(d))
    last = van[van.layer == van.layer.max()]
    vranks = last.numerical_rank.astype(int)
    record.check(f"vanilla: matrix_rank(H_{int(van.layer.max())}) median over seeds (all seeds)",
                 f"{int(vranks.median())} ({vranks.tolist()})", expected="<= 2",
                 tolerance="paper 1 (sometimes 2) [R]; median over seeds: a float64 round-off floor makes 3 in "
                 "1.3% of chains (audit 2026-11)", passed=int(vranks.median()) <= 2, control=True)
    record.check("vanilla: r(H_L) max over seeds", float(last.soft_rank.max()), expected="< 1.1",
                 tolerance="[C] (A2)", passed=float(last.soft_rank.max()) < 1.1, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A5: Fig. 3a values
# ---------------------------------------------------------------------------------------------------------------
FIG3A = {8: 2.8, 16: 4.6, 32: 7.2, 64: 11.1, 128: 16.8, 256: 25.1}  # [R] read off log2 axes (+-0.05 in log2)


_A5_CACHE: dict = {}


def _a5_frames(profile, seed, device):
    """A5's frames, computed once per (profile, seed, device) and shared by its two tests (same chain)."""
    key = (profile, seed, str(device))
    if key not in _A5_CACHE:
        _A5_CACHE.clear()
        _A5_CACHE[key] = exp.run_claim("A5", _cfg("A5", profile), seed=seed, device=device)
    return _A5_CACHE[key]


def _fig3a(frames, cfg, stat):
    bn = frames["bn_chain"]
    late = bn[bn.layer >= cfg["chain"]["burn_in"]]
    return late.groupby(["gamma", "width"])[stat].mean()


@pytest.mark.claim("A5")
def test_a5_fig3a_rank_tau(record, profile, device, seed):
    """Fig. 3a: the BN chain (no centring, ``M_0 = I``, N = d, ``I + gamma W``) has rank about 2.8, 4.6, 7.2, 11.1
    (16.8, 25.1) for d = 8 ... 64 (128, 256) for every gamma; log-log slope about 0.62.

    Which statistic the figure plots is unclear (finding A5, ``rcbench/docs/findings.md``): the notebook computes
    ``matrix_rank`` of M, but the plotted values match rank_tau at tau = 0.5 averaged over layers ([C] 2.81, 4.45,
    7.17, 10.96). This test asserts the paper's numbers with rank_0.5 (the reconstructed statistic); the notebook's
    statistic is tested (and fails) in
    :func:`test_a5_fig3a_notebook_statistic`. Tolerance: +-15% per width (read-off +-3.5% plus seed spread of the
    time average, about 2% [C]); slope 0.62 +- 0.08. Negative control: the vanilla chain has rank_0.5 = 1 at L = 600
    in every seed for d <= 32, now at L = 2000 (at L = 600 the collapse at d = 32 is only a 2-sd event per seed:
    1 of 200 pilot seeds fails, the audit saw 2 of 10 runs fail; rank_0.5 = 1 needs log(s2/s1) < -log(2d - 1)/2
    = -2.07 at d = 32, A2's walk (drift -0.0164/layer, sd 0.181 sqrt(L)) gives 3.79 sd at L = 2000, 0.04% per run
    at 5 seeds; 0 of 200 pilot seeds fail from L = 1000; the margin is recorded with the check).
    """
    cfg = _cfg("A5", profile)
    frames = _a5_frames(profile, seed, device)
    _record_frames(record, frames)
    rt = _fig3a(frames, cfg, "rank_tau05")
    for gamma, g in rt.groupby(level="gamma"):
        g = g.droplevel("gamma")
        for d, v in g.items():
            rel = v / FIG3A[d] - 1
            record.check(f"gamma={gamma:g}, d={d}: depth-averaged rank_0.5", float(v), expected=FIG3A[d],
                         tolerance="+-15% (read-off + seed spread)", passed=abs(rel) <= 0.15)
        fit = stats.slope(g.index, g.values, logx=True, logy=True)
        record.check(f"gamma={gamma:g}: log-log slope of rank_0.5 vs d", fit.slope, expected="0.62 +- 0.08",
                     tolerance="[R] 0.62-0.63 over d = 8..256", passed=abs(fit.slope - 0.62) <= 0.08)
    for stat in ("gram_numerical_rank", "soft_rank"):
        v = _fig3a(frames, cfg, stat)
        record.check(f"(report) depth-averaged {stat} by (gamma, d)", {f"{k[0]:g},{k[1]}": round(float(x), 2)
                     for k, x in v.items()}, expected="not the plotted statistic", tolerance="report only",
                     passed=True)
    if "gram_formulation" in frames:
        _a5_gram_finding(record, frames["gram_formulation"], cfg["gram"]["burn_in"])
    van = frames["vanilla_chain"]
    small = van[(van.layer == van.layer.max()) & (van.width <= 32)]
    # rank_0.5 >= 2 iff lambda_2 > 0.5 (lambda_1 + lambda_2)/d, i.e. (s2/s1)^2 > 1/(2d - 1): the threshold
    # log(s2/s1) < -log(2d - 1)/2 is a function of d (-2.07 at d = 32), its margin at layer L that of A2's walk:
    # z = 8.65, 5.72, 3.79 at d = 8, 16, 32, L = 2000 (0.04% per run at 5 seeds)
    L = int(van.layer.max())
    zs = {int(d): exp.collapse_false_failure((int(d),), L, int(small.seed.nunique()),
                                             log_threshold=-0.5 * math.log(2 * int(d) - 1))
          for d in sorted(small.width.unique())}
    p_fail = 1 - math.prod(1 - p for _, p in zs.values())
    record.check(f"vanilla: rank_0.5(H_{L}) max over seeds, d <= 32", int(small.rank_tau05.max()),
                 expected="== 1", tolerance=f"collapse margin z = {min(z[int(d)] for d, (z, _) in zs.items()):.2f} "
                 f"(smallest over d) of log(s2/s1) < -log(2d-1)/2: predicted false failure {p_fail:.2g} per run",
                 passed=int(small.rank_tau05.max()) == 1, control=True)
    record.verify()


def _a5_gram_finding(record, gf, burn):
    """Finding (recorded, not asserted): the authors' code evolves the d x d Gram M (``M <- D W M W^T D``) instead
    of H. Same weights, float64: the plotted statistic (rank_0.5) and r are unchanged (relative difference ~1e-7,
    round-off of the eigenvalues), but the notebook's ``matrix_rank(M)`` counts more directions in the Gram chain:
    each layer adds round-off ~eps ||M|| to M, at the level of matrix_rank's threshold ``d eps lambda_max``, while
    the H chain forms its Gram once from an accurate H (its round-off is ~eps relative in H, eps^2 in M). Measured
    (quick profile, master seed 0, 3 seeds, 600 layers): +0.12, +0.09, +0.06, +0.003 ranks at d = 8, 16, 32, 64
    (+3.0%, +1.4%, +0.5%, +0.02%). The longdouble Gram is run in A6 (it matches the H chain there); finding
    A5-gram in ``rcbench/docs/findings.md``."""
    late = gf[gf.layer >= burn]
    piv = late.pivot_table(index=["width", "seed", "layer"], columns="formulation",
                           values=["gram_numerical_rank", "rank_tau05", "soft_rank"])
    drank = (piv["gram_numerical_rank"]["gram"] - piv["gram_numerical_rank"]["h"]).groupby(level="width").mean()
    dtau = (piv["rank_tau05"]["gram"] != piv["rank_tau05"]["h"]).groupby(level="width").mean()
    dr = ((piv["soft_rank"]["gram"] / piv["soft_rank"]["h"] - 1).abs()).groupby(level="width").max()
    record.check("(finding) Gram formulation - H chain: depth-averaged matrix_rank(M), same weights, float64",
                 {int(k): round(float(v), 4) for k, v in drank.items()}, expected="recorded",
                 tolerance="finding: the Gram chain's round-off (~eps ||M|| per layer) sits at matrix_rank's "
                 "threshold d eps lambda_max and adds directions; the plotted rank_0.5 is unaffected", passed=True,
                 note=f"fraction of layers where rank_0.5 differs: {dtau.round(4).to_dict()}; max |r_gram/r_H - 1|: "
                      f"{dr.map(lambda v: float(f'{v:.2g}')).to_dict()}")


@pytest.mark.claim("A5")
@pytest.mark.xfail(strict=True, reason=(
    "Fig. 3a's notebook computes matrix_rank of the Gram M; its depth average (gamma = inf, 3 seeds, quick profile) "
    "is 4.1, 6.6, 10.6, 17.4 for d = 8, 16, 32, 64 ([C] calibration: 4.14, 6.29, 10.2, 15.5; float64 matrix_rank of H "
    "is higher still: 4.3, 7.5, 12.5, 21.5) versus the plotted 2.8, 4.6, 7.2, 11.1 (+46% to +57%): the published "
    "curve is not the numerical rank (rank_0.5 matches within 4%, see test_a5_fig3a_rank_tau)"))
def test_a5_fig3a_notebook_statistic(record, profile, device, seed):
    """The statistic the authors' notebook computes (``matrix_rank`` of the d x d Gram M) against Fig. 3a's plotted
    values, +-15% per width. Expected to fail: the plot does not show this statistic (finding A5, ``rcbench/docs/findings.md``)."""
    cfg = _cfg("A5", profile)
    frames = _a5_frames(profile, seed, device)
    _record_frames(record, frames)
    v = _fig3a(frames, cfg, "gram_numerical_rank").xs(math.inf, level="gamma")
    for d, x in v.items():
        record.check(f"d={d}: depth-averaged matrix_rank(M)", float(x), expected=FIG3A[d], tolerance="+-15%",
                     passed=abs(x / FIG3A[d] - 1) <= 0.15)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A6: Fig. 3b, recovery from a nearly rank-one input
# ---------------------------------------------------------------------------------------------------------------
# A6's response surface (pilot, quick code, 5 master seeds x 20 seeds per (d, input law), input laws c = 0.1, 1, 10,
# 1000 and the authors' x.x, i.e. relative noise 1e-4 .. 1e-8): per seed, log10(lambda_10/lambda_1) at layer E is
# linear in its value at layer 0, l_E = a + b l_0 + residual (per-law residual means within +-0.15, so the line
# holds over the four decades of input scale), with a residual sd that grows as the start gets smaller:
# sd = s0 + s1 l_0 (fitted to the five laws' sds; e.g. E = 20, d = 50: 0.45 at c = 1, 0.60 for the authors' law).
# b < 1: recovery is faster the smaller the start (it slows once r leaves 1), and faster at larger d (b falls
# 0.50 -> 0.24 at E = 20 from d = 50 to 200). Keyed by E, then d: (a, b, s0, s1). E = 30 is left out: at d = 200
# the chain has reached its stationary level by then and the line fails (residual sd x1.7, min -8 sd).
A6_RESPONSE = {
    10: {50: (2.699, 0.687, 0.257, -0.0230), 100: (3.012, 0.564, -0.013, -0.0402), 200: (2.896, 0.453, -0.210, -0.0525)},
    20: {50: (1.895, 0.501, 0.223, -0.0230), 100: (2.269, 0.366, -0.063, -0.0343), 200: (1.722, 0.237, -0.324, -0.0474)},
}


def _a6_expected_log_ratio(l0, d: int, E: int):
    """Per-seed expected log10(lambda_10/lambda_1) at layer E given its value l0 at layer 0 (arrays), and the
    residual sd per seed, interpolated linearly in log d between the pilot widths 50, 100, 200."""
    tab = A6_RESPONSE[E]
    ws = sorted(tab)
    x = np.log(ws)
    a, b, s0, s1 = (float(np.interp(np.log(d), x, [tab[w][i] for w in ws])) for i in range(4))
    l0 = np.asarray(l0, dtype=float)
    return a + b * l0, np.maximum(s0 + s1 * l0, 0.1)


def _a6_vanilla_bound(E: int, d: int) -> float:
    """log10 of the largest growth of lambda_10/lambda_1 over E layers that products of Gaussian matrices allow.

    Start = a rank-one signal plus small Gaussian noise N. Without a norm, layer E holds ``u (P v)^T + N P^T`` with
    P the product of E weights: the signal grows like a typical vector, the top of N P^T like the spectral edge of a
    product of E + 1 Ginibre matrices, whose squared top singular value is (m + 1)^(m+1)/m^m (m = E + 1 factors; 4
    for N alone) in the large-d limit (free probability). Hence lambda_10/lambda_1 can grow by at most
    B(E) = ((E+2)^(E+2)/(E+1)^(E+1))/4 (14.6 at E = 20), and less at finite d, where the Lyapunov gap
    psi(d/2) - psi((d-9)/2) ~ 9/d per layer contracts it. Fluctuations: the signal's norm is a product of
    chi^2_d/d factors, log sd sqrt(2E/d) (pilot, 100 seeds per d: log10 sd 0.42/0.28/0.20 at d = 50/100/200,
    predicted 0.39/0.27/0.19). Bound = B(E) exp(4 sqrt(2E/d)). Pilot max growth (log10): -0.13, 0.41, 0.74 at
    d = 50, 100, 200 against bounds 2.72, 2.26, 1.94. The old control "the ratio does not grow" holds only where
    9E/d outweighs the edge growth: at d = 200 the vanilla ratio grows (mean x2.1, max x5.5; the paper-profile
    failure "measured 5.213, expected <= 1"), so it was not a property of products without BN at that width."""
    B = math.log((E + 2) ** (E + 2) / (E + 1) ** (E + 1) / 4)
    return (B + 4 * math.sqrt(2 * E / d)) / math.log(10)


@pytest.mark.claim("A6", components=("norm",), mutants={
    "batch_axis_norm": "sound: per-feature scaling over the batch is the theory BN up to sqrt(n) (scale-invariant)",
    "batchnorm1d_norm": "Fig. 3b's start is c 1 1^T + noise: centring over the batch removes the rank-one part c 1 1^T "
                        "exactly, so the centred BN's output is full rank at once (recovery for a different reason); "
                        "the exactly-rank-one control (generic u v^T) still stays rank one"})
def test_a6_fig3b_rank_recovery(record, profile, device, seed, components):
    """Fig. 3b: the BN chain (``W~ = I + W``, W ~ N(0, 1), d = N = 50) started at ``c 1 1^T + 1e-5 noise`` recovers
    rank: the small eigenvalues lambda_2..lambda_10 rise from ~1e-12 (relative) to 1e-4..1e-2 within 10-20 layers.

    Input laws: rcbench's c = 1 and the authors' ``c = x.x`` (x ~ N(0, I_d), ~50 at d = 50: relative noise ~2e-7;
    ``code_fig_3_b.ipynb``), both run (the paper's protocol is the authors' law). Checks per width and law:
    r(H_0) < 1.01; r(H_30) >= 3.5 in every seed; lambda_10/lambda_1 at layer E = 20 against the response surface
    :data:`A6_RESPONSE` given its own value at layer 0.

    Why the eigenvalue check is a function of the input law and d (was: geometric mean >= 5e-5, every seed >= 3e-6,
    calibrated at c = 1, d = 50, 10 seeds). lambda_10/lambda_1 at layer 0 is ~(noise/c)^2 (1e-11.4 at c = 1,
    1e-14.8 for the authors' law), and the level reached at layer 20 depends on it: at the authors' law the old
    bounds fail (geometric mean 10^-5.4 < 5e-5) although the chain recovers as fast as at c = 1. Per seed, l_20 =
    log10 ratio at 20 is linear in l_0 (see A6_RESPONSE; 2500 pilot seeds). The checks: (i) the mean over the S
    seeds of (l_20 - a - b l_0) >= -3.2 sd/sqrt(S) (one-sided normal 0.07%; at c = 1, d = 50, S = 10 close to the
    old 5e-5 bound); (ii) every seed's residual / sd >= -z_S, z_S = Phi^-1(1 - 0.001/S) (3.72 at S = 10, 3.89 at
    S = 20). Out-of-sample check (master seeds 200-299 x both laws = 200 runs, 2000 seeds, d = 50): (i) failed 0
    (lowest -2.64 of its -3.2); with z_S = Phi^-1(1 - 0.005/S) = 3.29, (ii) failed 4 of 200 runs (2%: the per-seed
    tail is ~4x a normal's beyond -3.3), hence 0.001/S: 0 of 2000 seeds below -3.72 (lowest -3.57), an estimated
    ~0.4% per run. r(H_30) >= 3.5 failed 1 of those 200 runs (0.5%). The surface holds for d in [50, 200],
    E in {10, 20} and relative noise 1e-8..1e-4 (the regime the experiments module enforces).
    r(H_30) >= 3.5 is the directional "rank recovered" bound (vanilla stays at 1.00): pilot minima over 100 seeds
    3.99 (authors' law), 4.26 (c = 1) at d = 50 and larger at d = 100, 200 (r grows with d); at relative noise 1e-8
    (c = 1000) the d = 50 minimum is 3.24 (3.44 in a second pilot of 100 seeds; 3.73 at 1e-7), so the bound needs
    relative noise >= 1e-7 below d = 100 (the paper's 2e-7; the regime refuses less); at 1e-8 the minimum is 4.75 at
    d = 100 and 6.66 at d = 200.
    Negative control (BN removed, same input and weights): r(H_30) < 1.01, and lambda_10/lambda_1 grows over E
    layers no more than products of Gaussian matrices allow (:func:`_a6_vanilla_bound`, derived; it replaces "does
    not grow", which fails at d = 200 in the paper profile for a reason that has nothing to do with BN). Mechanism:
    an exactly rank-one input stays rank one through a BN layer (A1; rank counted with the tolerance ``sigma_max
    max(n,d) eps cond(D)``, :func:`rcbench.experiments.rank_collapse.normalized_rank_tolerance`). Over 30 layers BN
    also amplifies float64 round-off of an exactly rank-one input (1e-16) like the 1e-5 noise, about 10 layers
    later, so "an exactly rank-one start stays rank one over 30 layers" does not hold numerically (the frame
    ``exact_rank_one`` keeps one layer). Finding (recorded): the authors' Gram formulation, see
    :func:`_a6_gram_finding`.
    """
    cfg = _cfg("A6", profile)
    norm = components.norm("bn")
    frames = exp.run_claim("A6", cfg, seed=seed, device=device, norm=norm)
    _record_frames(record, frames)
    bn, van, one = frames["bn_recovery"], frames["vanilla_recovery"], frames["exact_rank_one"]
    L, E = cfg["r_layer"], cfg["eig_layer"]
    for (law, w), g in bn.groupby(["input_law", "width"]):
        tag = f"d={w}, c={law}"
        r0 = float(g[g.layer == 0].soft_rank.max())
        record.check(f"{tag}: r(H_0) max over seeds", r0, expected="< 1.01", tolerance="nearly rank one by design",
                     passed=r0 < 1.01)
        rL = g[g.layer == L].soft_rank
        record.check(f"{tag}: r(H_{L}) min over seeds", float(rL.min()), expected=">= 3.5",
                     tolerance="directional; pilot min 3.99 (authors' law) / 4.26 (c = 1) over 100 seeds at d = 50, "
                     "larger at d >= 100", passed=float(rL.min()) >= 3.5)
        e0 = np.log10(g[g.layer == 0].set_index("seed").eig_ratio.clip(lower=1e-300))
        eE = np.log10(g[g.layer == E].set_index("seed").eig_ratio.clip(lower=1e-300))
        mu, sd = _a6_expected_log_ratio(e0.to_numpy(), int(w), int(E))
        res = eE.to_numpy() - mu
        S = len(res)
        zg, zs = 3.2, float(sst.norm.isf(0.001 / S))
        gm_bound = -zg * float(np.sqrt((sd ** 2).mean())) / math.sqrt(S)
        record.check(f"{tag}: log10 lambda_10/lambda_1 at layer {E} minus the response a + b l_0, mean over seeds",
                     float(res.mean()), expected=f">= {gm_bound:.3f}",
                     tolerance=f"-3.2 sd/sqrt(S), sd {float(sd.mean()):.3f} (pilot response surface, A6_RESPONSE)",
                     passed=float(res.mean()) >= gm_bound,
                     note=f"mean log10 ratio: layer 0 {e0.mean():.2f}, layer {E} {eE.mean():.2f}")
        zmin = float((res / sd).min())
        record.check(f"{tag}: same residual / sd, min over seeds", zmin, expected=f">= {-zs:.2f}",
                     tolerance=f"Phi^-1(1 - 0.001/S), S = {S}: 0.1% per run if normal, ~0.4% with the measured "
                     "tail (docstring)", passed=zmin >= -zs)
        rec = g[g.soft_rank >= 3].groupby("seed").layer.min()
        record.check(f"{tag}: (report) depth at which r first reaches 3", rec.describe().round(1).to_dict(),
                     expected="10-20 layers (Fig. 3b)", tolerance="report only", passed=True)
    for (law, w), g in van.groupby(["input_law", "width"]):
        tag = f"d={w}, c={law}"
        rL = float(g[g.layer == L].soft_rank.max())
        record.check(f"{tag}: vanilla r(H_{L}) max over seeds", rL, expected="< 1.01", tolerance="no amplification",
                     passed=rL < 1.01, control=True)
        e0 = g[g.layer == 0].set_index("seed").eig_ratio
        eE = g[g.layer == E].set_index("seed").eig_ratio
        grow = float(np.log10(eE / e0).max())
        vb = _a6_vanilla_bound(int(E), int(w))
        record.check(f"{tag}: vanilla log10 growth of lambda_10/lambda_1 over layers 0..{E}, max over seeds", grow,
                     expected=f"<= {vb:.3f}", tolerance="Ginibre-product edge growth B(E) exp(4 sqrt(2E/d)) "
                     "(derived, see _a6_vanilla_bound)", passed=grow <= vb, control=True)
    # rank with the tolerance sigma_max max(n,d) eps cond(D) (A1; derivation in exp.normalized_rank_tolerance): torch's
    # default tolerance ignores that BN's column scaling D multiplies the float64 round-off of H W^T by up to
    # cond(D), and counts a spurious second direction in some seeds (recorded as a report).
    k = int(one[one.layer == 1].normalized_rank.max())
    record.check("exactly rank-one input: rank after one BN layer (tolerance x cond(D))", k, expected="== 1",
                 tolerance="exact (A1); round-off tolerance scaled by BN's column-norm ratio", passed=k == 1,
                 control=True)
    k0 = int(one[one.layer == 1].numerical_rank.max())
    record.check("(report) same with torch's default matrix_rank tolerance", k0, expected="report",
                 tolerance="report only", passed=True)
    if "gram_formulation" in frames:
        _a6_gram_finding(record, frames["gram_formulation"], L, E)
    record.verify()


def _a6_gram_finding(record, gf, L, E):
    """Finding (recorded, not asserted): the authors' code evolves the d x d Gram M and reads its eigenvalues with
    ``eigh``. Same weights, float64. The Gram's entries carry round-off ~eps ||M|| per layer, i.e. a floor ~d eps
    (~1e-14) on lambda/lambda_1, while the H chain resolves ratios down to eps^2. On the authors' input the start
    sits at 10^-14.8, at that floor, so the Gram chain's small eigenvalues are partly round-off; at c = 1 (10^-11.4)
    the two formulations agree. numpy longdouble (64-bit mantissa) evolution of the Gram is the reference."""
    piv = gf.pivot_table(index=["input_law", "seed", "layer"], columns=["formulation", "precision"],
                         values=["eig_ratio", "soft_rank"])
    for law in gf.input_law.unique():
        p = piv.xs(law, level="input_law")
        out = {}
        for lay in (0, E, L):
            q = p.xs(lay, level="layer")
            le = np.log10(q["eig_ratio"].clip(lower=1e-300))
            out[lay] = {"log10 ratio gram64 - H": round(float((le[("gram", "float64")] - le[("h", "float64")]).abs()
                                                              .max()), 4),
                        "log10 ratio gramLD - H": round(float((le[("gram", "longdouble")] - le[("h", "float64")])
                                                              .abs().max()), 4),
                        "r gram64/H - 1": float(f"{(q['soft_rank'][('gram', 'float64')] / q['soft_rank'][('h', 'float64')] - 1).abs().max():.2g}"),
                        "r gramLD/H - 1": float(f"{(q['soft_rank'][('gram', 'longdouble')] / q['soft_rank'][('h', 'float64')] - 1).abs().max():.2g}")}
        record.check(f"(finding) c={law}: Gram formulation vs H chain, same weights, max over seeds at layers 0/{E}/{L}",
                     out, expected="recorded", tolerance="finding: the float64 Gram's round-off floor ~d eps on "
                     "lambda/lambda_1; longdouble Gram = reference", passed=True)


# ---------------------------------------------------------------------------------------------------------------
# A7: ReLU
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A7", components=("norm",), mutants={
    "batchnorm1d_norm": "sound: the claim's BN is centring + population std = BatchNorm1d(affine=False)"})
def test_a7_relu_rank(record, profile, device, seed, components):
    """Abstract/§1 (empirical, no theorem): the rank robustness of BN carries over to ReLU nets.

    BN (centred, population std; Fig. 2's BN) followed by ReLU, d = N = 32, L = 500, r measured after the ReLU.
    Checks: depth-averaged r >= 3.5 in every seed ([C] 4.5-6.1) and float64 ``matrix_rank`` = d (full) at every
    measured layer. No sqrt(d) scaling is asserted for ReLU ([C] slope only 0.39-0.42). Note: the paper's Fig. 2
    "ReLU" panel code uses tanh; this test follows the paper's text (ReLU). Negative control: vanilla ReLU (same
    weights) r(H_500) < 1.1.

    Finding (scale audit, ``--set A7.chain.widths=16``, master seed 0): at d = 16 the depth-averaged r passes
    (3.91 >= 2.67) but the full-rank check fails: matrix_rank is 15 of 16 in 2 of the 455 measured (layer, seed)
    pairs (every 5th layer of 50..500, 5 seeds): a ReLU layer occasionally drops one direction at this width.
    "Full rank at every layer" was our calibration at d = 32, not a statement of the paper (which has no theorem for
    ReLU), and not a function of the configuration: the chance that every one of P measured pairs is full rank falls
    with P. The test judges the median pair (full rank at every width) and records the minimum and the number of
    deficient pairs (finding A7-width).

    Finding (paper profile, d = 32..512, L = 2000, burn-in 200, 3 seeds): the depth-averaged r does not keep growing
    with width: min over seeds 5.35, 6.38, 6.62, 5.78, 4.75 at d = 32, 64, 128, 256, 512 (full matrix_rank at every
    width). The claim (rank far above the vanilla collapse to 1) holds at every width; a d^0.39 growth extrapolated
    from d <= 64 does not.
    """
    cfg = _cfg("A7", profile)
    norm = components.norm(cfg["norm"])
    frames = exp.run_claim("A7", cfg, seed=seed, device=device, norm=norm)
    _record_frames(record, frames)
    bn, van = frames["bn_relu_chain"], frames["vanilla_relu_chain"]
    burn = cfg["chain"]["burn_in"]
    for w, g in bn.groupby("width"):
        late = g[g.layer >= burn]
        r = late.groupby("seed").soft_rank.mean()
        # Calibrated at d = 32: [C] 4.5-6.1, bound 3.5. Below d = 32 the bound shrinks with the measured growth
        # d^0.39 ([C], 5 seeds, d = 8..64; r <= rank <= d caps it): 2.0 at d = 8, 2.67 at d = 16. Above d = 32 it
        # stays 3.5: the paper states no growth for ReLU (directional claim), and the growth does not continue --
        # an earlier bound 3.5 (d/32)^0.39 at every width, extrapolated from d <= 64, failed the paper profile
        # (L = 2000, burn-in 200, 3 seeds): min r 5.35, 6.38, 6.62, 5.78, 4.75 at d = 32, 64, 128, 256, 512 against
        # 3.5, 4.59, 6.01, 7.88, 10.3. Finding: r peaks near d = 128 and falls beyond it at this depth (recorded per width).
        rb = 3.5 * min(1.0, (w / 32) ** 0.39)
        record.check(f"d={w}: depth-averaged r after ReLU, min over seeds", float(r.min()), expected=f">= {rb:.3g}",
                     tolerance="3.5 min(1, (d/32)^0.39): [C] 4.5-6.1 at d = 32; no growth asserted above d = 32",
                     passed=float(r.min()) >= rb)
        # Full rank is judged on the typical layer: the median over the measured (layer, seed) pairs. "Full rank at
        # every pair" was a statement about the extreme of the per-layer rank law: if a ReLU layer drops a direction
        # with probability p(d) per pair, all of P pairs are full rank with probability (1 - p)^P, which goes to 0
        # with the number of layers x seeds measured at any width (d = 16: 2 of 455 pairs at rank 15; d >= 32: none
        # of 455). The minimum and the count of deficient pairs are recorded (finding A7-width).
        ranks = late.numerical_rank
        med = float(ranks.median())
        record.check(f"d={w}: median matrix_rank over layers and seeds", med, expected=f"== {w}",
                     tolerance="full rank of the typical layer [C]", passed=med == w)
        record.check(f"d={w}: min matrix_rank over layers and seeds (recorded)", int(ranks.min()),
                     expected=f"{w} in most pairs", tolerance="informational: rare one-direction drops",
                     passed=True, note=f"{int((ranks < w).sum())} of {len(ranks)} (layer, seed) pairs below {w}")
    last = van[van.layer == van.layer.max()]
    record.check(f"vanilla ReLU r(H_{int(van.layer.max())}) max over seeds and d", float(last.soft_rank.max()),
                 expected="< 1.1", tolerance="[C]", passed=float(last.soft_rank.max()) < 1.1, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A8: Fig. 1 at initialisation
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A8", components=("norm",), mutants={
    "batchnorm1d_norm": "sound: Fig. 1's BN is centring + unbiased std, BatchNorm1d(affine=False) up to n/(n-1) "
                        "and eps (rank is scale-invariant)"})
def test_a8_fig1_rank_at_init(record, profile, device, seed, data_root, components):
    """Fig. 1 (rank panel, at initialisation): the last-hidden-layer rank of the vanilla MLP (width 128, PyTorch
    default init for weights *and biases*, ReLU) collapses with depth; the BN MLP keeps 128.

    Float32 ``matrix_rank`` of H/||H||_F (the paper's dtype), batch 128, hl + 1 hidden layers, 3 seeds. Input: 128
    FashionMNIST images with ``--data-root``, else the digits proxy (non-negative, 784 pixels in [0, 1]).
    Checks: vanilla rank >= 50 at hl <= 4 (paper ~125/100/68 at hl 0/2/4 [R]); at hl = 12 <= 5 (paper ~3 [R]; this
    proxy gives 3-4; the calibration's "<= 3 at hl >= 12" [C] came from another proxy where hl 12 gave 1);
    <= 2 at hl >= 14
    (paper ~1); BN rank >= 120 at every hl (paper 128). Negative control: "broken BN" (weights 2|w|, all positive)
    has rank <= 3 at hl >= 8 ([C] 1). Mechanism check ([C]): without biases the vanilla rank stays >= 50 up to
    hl 32 (the collapse at width 128 comes from bias-dominated signal decay, not only from matrix products).
    """
    cfg = _cfg("A8", profile)
    norm = components.norm("bn_centered_std")
    frames = exp.run_claim("A8", cfg, seed=seed, device=device, norm=norm, data_root=data_root)
    _record_frames(record, frames)
    df = frames["init_rank"]
    tab = df.groupby(["arm", "hl"]).numerical_rank
    lo, hi = tab.min(), tab.max()
    record.check("(report) rank by arm and hl, min over seeds", {f"{a},{h}": int(v) for (a, h), v in lo.items()},
                 expected="paper: vanilla 125,100,68,55,33,14,3,1 at hl 0..14; BN 128", tolerance="report only",
                 passed=True)
    van_lo, van_hi = lo["vanilla"], hi["vanilla"]
    # full rank = min(width, batch) (128 = 128 in the paper and both profiles); the bounds are Fig. 1's read-offs as
    # fractions of it: BN >= 120/128 (paper 128), vanilla at hl <= 4 >= 50/128 (paper ~68/128). The collapse depths
    # (<= 5 at hl 12, <= 2 at hl >= 14) do not scale with the width: the signal shrinks by ~sqrt(6) per layer
    # against the biases ([C]), whatever the width.
    full = min(int(df.width.iloc[0]), int(cfg["init_rank"].get("batch", 128)))
    lo_van, lo_bn = 50 / 128 * full, 120 / 128 * full
    sel = van_lo[van_lo.index <= 4]
    record.check("vanilla rank at hl <= 4, min", int(sel.min()), expected=f">= {lo_van:g}",
                 tolerance="50/128 of full rank; paper ~68/128 at hl 4 [R]", passed=int(sel.min()) >= lo_van)
    if 12 in van_hi.index:
        record.check("vanilla rank at hl = 12, max", int(van_hi[12]), expected="<= 5", tolerance="paper ~3 [R]",
                     passed=int(van_hi[12]) <= 5)
    deep = van_hi[van_hi.index >= 14]
    if len(deep):
        record.check("vanilla rank at hl >= 14, max", int(deep.max()), expected="<= 2", tolerance="paper ~1 [R]",
                     passed=int(deep.max()) <= 2)
    record.check("BN rank at every hl, min", int(lo["bn"].min()), expected=f">= {lo_bn:g}",
                 tolerance="120/128 of full rank; paper 128 [R]", passed=int(lo["bn"].min()) >= lo_bn)
    bb = hi["broken_bn"][hi["broken_bn"].index >= 8]
    if len(bb):
        record.check("broken BN (2|w|) rank at hl >= 8, max", int(bb.max()), expected="<= 3", tolerance="[C] 1",
                     passed=int(bb.max()) <= 3, control=True)
    nb = int(lo["vanilla_nobias"].min())
    record.check("vanilla without biases: rank at every hl, min", nb, expected=f">= {lo_van:g}",
                 tolerance="50/128 of full rank; [C] 55-99 of 128", passed=nb >= lo_van, note="mechanism check")
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A9: Fig. 1 training
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A9", components=("norm",), mutants={
    "batchnorm1d_norm": "sound: A9's BN is Fig. 1's (centring + unbiased std), BatchNorm1d(affine=False) up to a "
                        "scale sqrt(n/(n-1)) (1.004 at batch 128) and eps; audit (seed 0): hl 14 gap 0.884, BN-SGD "
                        "min 0.996"})
def test_a9_fig1_training(record, profile, device, seed, data_root, components):
    """Fig. 1 (accuracy panel), directional at CPU scale: vanilla MLPs stop learning beyond ~10 layers, BN MLPs
    train at every depth.

    Quick profile: hl in {2, 14}, 150 SGD steps of batch 128 (drawn with replacement, as the code) on the digits
    proxy (FashionMNIST with ``--data-root``), 3 seeds, accuracy on 1000 training examples. The BN net is trained
    with Adam and the authors' depth-dependent learning rate (``code_fig_1.py``; the paper's legend says SGD) and also
    with SGD. The step budget is <1% of the paper's 35,100, so SGD uses lr 0.1 instead of 0.01 for both the vanilla
    and the BN-SGD arm (generous to the vanilla arm; the paper profile uses 0.01 and the full budget).
    Checks (directional; thresholds from Fig. 1's read-offs [R], vanilla ~0.10 beyond 12 layers and BN >= 0.93,
    checked against 3 pilot seeds: vanilla 0.85-0.88 at hl 2, 0.09-0.10 at hl 14; BN >= 0.96): at hl >= 14,
    acc_BN(Adam) - acc_vanilla >= 0.3 (seed means) and BN beats
    vanilla in every seed; vanilla <= 0.2 in every seed. At hl <= 8 (control: the task is learnable) both vanilla
    and BN >= 0.6 in every seed. BN-SGD >= 0.6 at every hl is recorded too (the paper's legend).
    """
    cfg = _cfg("A9", profile)
    norm = components.norm("bn_centered_std")
    frames = exp.run_claim("A9", cfg, seed=seed, device=device, norm=norm, data_root=data_root)
    _record_frames(record, frames)
    df = frames["training"]
    acc = df.pivot_table(index=["hl", "seed"], columns="arm", values="train_accuracy")
    for hl, g in acc.groupby(level="hl"):
        if hl >= 14:
            gap = float(g.bn_adam.mean() - g.vanilla_sgd.mean())
            record.check(f"hl={hl}: mean acc BN(Adam) - vanilla", gap, expected=">= 0.3",
                         tolerance="directional; paper ~0.97 vs 0.10", passed=gap >= 0.3)
            record.check(f"hl={hl}: BN(Adam) > vanilla in every seed", (g.bn_adam - g.vanilla_sgd).round(3).tolist(),
                         expected="all > 0", tolerance="directional", passed=bool((g.bn_adam > g.vanilla_sgd).all()))
            record.check(f"hl={hl}: vanilla acc max over seeds", float(g.vanilla_sgd.max()), expected="<= 0.2",
                         tolerance="chance is 0.1; paper ~0.10", passed=float(g.vanilla_sgd.max()) <= 0.2)
        if hl <= 8:
            m = float(min(g.vanilla_sgd.min(), g.bn_adam.min()))
            record.check(f"hl={hl}: min acc of vanilla and BN(Adam)", m, expected=">= 0.6",
                         tolerance="the task is learnable at this depth", passed=m >= 0.6, control=True)
        if "bn_sgd" in g:
            record.check(f"hl={hl}: BN(SGD) acc min over seeds", float(g.bn_sgd.min()), expected=">= 0.6",
                         tolerance="paper's legend: SGD w/ BN", passed=float(g.bn_sgd.min()) >= 0.6)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A10: rank pre-training
# ---------------------------------------------------------------------------------------------------------------
# A10 survives these normaliser mutants: the BN arms are Fig. 6's high-rank reference arm and A10 asserts that the
# rank, not the kind of normaliser, predicts speed; each keeps the tanh net at unit scale, and identity_norm (audit,
# master seed 0: default-init arm r 1.0, loss 2.30) is killed. The --norm substitutes the default-init "bn" arm only:
# the all-positive "bn_bad" arm is a control and keeps BatchNorm1d (hence its r 1.27, loss 2.30 under every mutant).
# Re-checked (mutation audit of this session, master seed 0, A9 and A10 x 6 norm mutants: score 12/12, the numbers
# below reproduced to the digit). No stronger check is available without asserting something the paper does not say:
# a whole-batch scalar rescale of the same tanh net trains as fast as BN here (loss 0.34 vs BatchNorm1d 0.42).
@pytest.mark.claim("A10", components=("norm",), mutants={
    "scalar_rescale_norm": "keeps the BN arm's rank and speed (audit, master seed 0: default-init r 6.6, loss 0.34; "
    "all-positive init r 1.27, loss 2.30; rho -0.9): the rank, not the normaliser, predicts speed",
    "feature_axis_norm": "keeps the BN arm's rank and speed (audit, master seed 0: default-init r 6.8, loss 0.34; "
    "all-positive init r 1.27, loss 2.30; rho -0.9): the rank, not the normaliser, predicts speed",
    "batch_axis_norm": "keeps the BN arm's rank and speed (audit, master seed 0: default-init r 9.7, loss 0.35; "
    "all-positive init r 1.27, loss 2.30; rho -0.9): the rank, not the normaliser, predicts speed",
    "batchnorm1d_norm": "keeps the BN arm's rank and speed (audit, master seed 0: default-init r 11.3, loss 0.42; "
    "all-positive init r 1.27, loss 2.30; rho -0.9): the rank, not the normaliser, predicts speed",
    "layernorm_norm": "keeps the BN arm's rank and speed (audit, master seed 0: default-init r 6.5, loss 0.35; "
    "all-positive init r 1.27, loss 2.30; rho -0.9): the rank, not the normaliser, predicts speed"})
def test_a10_rank_pretraining(record, profile, device, seed, data_root, components):
    """Figs. 4 and 6 (directional): raising the soft rank of a vanilla net by pre-training speeds up SGD, and the
    rank predicts optimisation speed.

    Quick profile: digits (standardised), MLP width 64, 12 ReLU layers, Xavier-normal weights with PyTorch-default
    biases; pre-training = gradient descent (lr 0.1, one batch of 32) on 1/r of the last hidden layer for 5 ("low")
    or 200 ("high"; Fig. 6 and the paper profile: 75) steps; then 3 epochs of SGD (lr 0.01, batch 32); 10 seeds. BN arms (Fig. 6):
    BatchNorm1d + tanh, default init ("bn") and all parameters U[0, 0.1] ("bn_bad").
    Pre-training protocol per profile (``pretrain_layers``): quick = the last-layer shortcut ("last": 1/r of H_12,
    every block updated), fine at depth 12 because H_12 is not collapsed at init (r ~ 1.5-3 on digits, and its
    gradient moves it: the 800-net pilot below, none with gain <= 1); paper = Fig. 6's notebook schedule ("every4":
    1/r of layers 4, 8, ..., 28 in turn, each stage 5 / 75 steps updating all earlier blocks), because the 30-layer
    vanilla net is rank one from layer ~20 at init and the shortcut's gradient (~1e-6) moves nothing (the earlier
    paper run: gain 1.0000000127).
    Checks: (i) with the last-layer protocol, pre-training raises r(last hidden) at least 2x on average over seeds
    and raises it in every seed (derivation from 800 pilot nets below); under Fig. 6's schedule the last hidden
    layer (H_30) is two layers past the last stage, neither pre-trained nor plotted by the paper, and its ratio is
    recorded, not asserted (paper profile: 1.073, finding A10-paper); (i-b) the rank Fig. 6 plots, its "lower bound
    on rank" 1/mean_l(1/r(H_l)) over the notebook's layers (1, 5, 10, ..., 25, 29 at depth 30; 1, 5, 10, 11 at
    depth 12), is higher after high pre-training than without, paired over seeds at level 5%; (ii) the training
    loss after 3 epochs is lower with high pre-training than without, paired over seeds at level 5% (derivation
    below); (iii) Spearman rho between the arms' mean r(last hidden) at the start of SGD and their mean final
    loss <= -0.5 (5 arms), and (iii-b) the same with Fig. 6's statistic. Negative control: BN with the
    all-positive init loses both rank and speed: its loss exceeds the default-init BN's in every seed.
    """
    cfg = _cfg("A10", profile)
    norm = components.norm("batchnorm1d")
    frames = exp.run_claim("A10", cfg, seed=seed, device=device, norm=norm, data_root=data_root)
    _record_frames(record, frames)
    df = frames["pretraining"]
    hi = df[df.arm == "high"].set_index("seed")
    none = df[df.arm == "none"].set_index("seed")
    gain = hi.r_start / hi.r_init
    # (i-b) (first: the paper's statistic heads the record) Fig. 6's own rank statistic, the "lower bound on rank" it
    # plots: the harmonic mean 1/mean_l(1/r(H_l)) over the notebook's layers (1, 5, 10, ..., 25, 29 at depth 30;
    # rank_training.fig6_layers), at the start of SGD. The paper gives no number: the claim is the direction (more
    # pre-training, higher rank). The vanilla arms share their init (same seed), so none's value is high's value
    # before pre-training and the comparison is paired: the one-sided 95% Student-t lower confidence bound over
    # seeds of log(HM_high / HM_none) must exceed 0 (level 5% for a net without a gain, as (ii)); the seed-mean
    # ratio and the low arm are recorded.
    f6 = str(hi.fig6_layers.iloc[0])
    lg = np.log((hi.r_fig6_start / none.r_fig6_start).to_numpy())
    lcb6 = stats.lower_confidence_bound(lg, confidence=0.95)
    record.check(f"Fig. 6 statistic (harmonic mean of r over layers {f6}): paired log(high / none), one-sided 95% "
                 "lower confidence bound", lcb6, expected="> 0",
                 tolerance="direction (no number in the paper); t bound over seeds, level 5%", passed=lcb6 > 0,
                 note=f"ratio high / none: mean {np.exp(lg).mean():.4f}, min {np.exp(lg).min():.4f}, "
                      f"{int((lg > 0).sum())}/{len(lg)} seeds > 1")
    # Tolerance. The seed-mean gain >= 2 is the claim (pilot below: lowest 5-seed mean 3.13 of 160; 10 seeds now). "Raises r in
    # every seed" is checked as its direction, min over the seeds > 1. Pilot (session 3, current code): master seeds
    # 0..159 x 5 seeds = 800 nets, quick profile, high = 200 steps: per-net gain log mean 1.62, log sd 0.46, but a
    # heavier lower tail than log-normal: 0.1% / 0.2% / 1% quantiles 1.08 / 1.10 / 1.27, smallest 1.064, none <= 1;
    # min over 5 seeds < 1.3 in 10 of 160 runs (6%), < 1.2 in 4, <= 1 in 0. With 10 seeds per run (for (ii)) the
    # per-run rate is 10x the per-net rate, 0 of 800 observed (a 0.2% per-net rate would give 2%: watched in audits).
    # The earlier bound 1.3 was wrong: it came from a log-normal fit to 16 master seeds (80 nets), which cannot see
    # a 0.2% per-net quantile; it failed CI at master seed 0 (min 1.266) and the audit at seed 27 (1.239).
    gmin = 1.0
    # (i) is asserted where the pre-trained layer is the last hidden layer (protocol "last", the quick profile). Under
    # Fig. 6's schedule (paper profile) the last stage is layer 28 and H_30 is two un-pre-trained layers past it: the
    # paper neither pre-trains nor plots H_30 there, so r(H_30) is recorded (finding A10-paper) and the rank claim
    # is judged on Fig. 6's own statistic, (i-b) above.
    last_layer = str(hi.pretrain_layers.iloc[0]) == "last"
    why = ("" if last_layer else f"recorded, not asserted: protocol {hi.pretrain_layers.iloc[0]} does not pre-train "
           f"the last hidden layer (finding A10-paper); ")
    record.check("high pre-training: r after / r before, mean over seeds", float(gain.mean()),
                 expected=">= 2" if last_layer else "recorded",
                 tolerance=why + "r of the last hidden layer; pilot (160 x 5 seeds, protocol last): lowest 5-seed "
                 "mean 3.13",
                 passed=float(gain.mean()) >= 2 or not last_layer)
    record.check("high pre-training: r after / r before, min over seeds", float(gain.min()),
                 expected=f"> {gmin:g}" if last_layer else "recorded",
                 tolerance=why + "direction in every seed; pilot 800 nets (protocol last): smallest 1.064, none <= 1",
                 passed=float(gain.min()) > gmin or not last_layer)
    f6means = df.groupby("arm").r_fig6_start.mean()
    record.check("Fig. 6 statistic at the start of SGD, mean over seeds by arm (info)",
                 {a: round(float(v), 4) for a, v in f6means.items()}, expected="recorded",
                 tolerance="Fig. 6 shows none < low < high; not asserted for low", passed=True)
    layer_cols = {int(c.rsplit("_", 1)[1]): c for c in hi.columns if c.startswith("r_start_layer_")}
    by_layer = {arm: {l: round(float(t[layer_cols[l]].mean()), 4) for l in sorted(layer_cols)}
                for arm, t in (("high", hi), ("none", none))}
    record.check("high pre-training: r(H_l) at the start of SGD, mean over seeds (info)", by_layer["high"],
                 expected="recorded", tolerance="Fig. 6's layers, the last stage and the last hidden layer",
                 passed=True, note=f"before pre-training (none arm): {by_layer['none']}")
    # (ii) Speed, paired over seeds (same init seed, same batch order): the one-sided 95% Student-t lower confidence
    # bound of the per-seed loss difference none - high must exceed 0 (stats.lower_confidence_bound, as in D20).
    # Derivation (pilot, master seeds 200-319 x 10 seeds, quick profile): difference mean 0.027, sd 0.029; a single
    # seed reverses in 5.2% of nets, in clusters (losses per 10-seed run: 0: 74, 1: 35, 2: 7, 3: 3, 4: 1 of 120),
    # so the old per-seed criterion ">= 4 of 5 seeds win" failed ~5% of runs (audit: master seeds 52, 59 of 41-60)
    # and ">= 8 of 10" 3.3%. The paired bound with 10 seeds failed 1 of 120 pilot runs (~1%; with 5 seeds 24 of 120:
    # too little power), hence 10 seeds. The count of winning seeds is recorded, not asserted.
    diff = (none.train_loss - hi.train_loss).to_numpy()
    lcb = stats.lower_confidence_bound(diff, confidence=0.95)
    record.check("paired final loss none - high: one-sided 95% lower confidence bound", lcb, expected="> 0",
                 tolerance="t bound over seeds, level 5%; pilot: fails ~1% of 10-seed runs", passed=lcb > 0,
                 note=f"mean loss none {none.train_loss.mean():.4f}, high {hi.train_loss.mean():.4f}")
    wins = int((diff > 0).sum())
    record.check("seeds where high pre-training ends with a lower loss than none (info)", f"{wins}/{len(diff)}",
                 expected="recorded", tolerance="not asserted: single seeds reverse in ~5% (see above)", passed=True)
    means = df.groupby("arm")[["r_start", "train_loss"]].mean()
    # with 5 arms rho is a multiple of 0.1; round off float error so that rho = -0.5 exactly counts as -0.5
    rho = round(float(sst.spearmanr(means.r_start, means.train_loss).statistic), 9)
    record.check("Spearman rho(arm mean r at start of SGD, final loss)", rho, expected="<= -0.5",
                 tolerance="directional, 5 arms; r of the last hidden layer", passed=rho <= -0.5,
                 note=str(means.round(3).to_dict()))
    # (iii-b) the same with Fig. 6's statistic, the rank the paper says predicts speed
    rho6 = round(float(sst.spearmanr(f6means.loc[means.index], means.train_loss).statistic), 9)
    record.check("Spearman rho(arm mean Fig. 6 statistic at start of SGD, final loss)", rho6, expected="<= -0.5",
                 tolerance="directional, 5 arms", passed=rho6 <= -0.5)
    bad = df[df.arm == "bn_bad"].set_index("seed")
    good = df[df.arm == "bn"].set_index("seed")
    record.check("BN all-positive init: final loss > default BN in every seed",
                 (bad.train_loss - good.train_loss).round(3).tolist(), expected="all > 0",
                 tolerance="directional", passed=bool((bad.train_loss > good.train_loss).all()), control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# A11: Fig. 5, BN variants in a convnet
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("A11", components=("norm",), mutants={
    "batchnorm1d_norm": "sound: torch's BatchNorm1d(affine=False) over batch and space is full BN",
    "batch_axis_norm": "per-channel scaling over batch and space, x / sqrt(E[x^2]), is Fig. 5's scaling-only "
                       "variant, which the claim says keeps the rank (pilot r 1.30-1.45 >= 1.1)"})
def test_a11_conv_bn_variants(record, profile, device, seed, data_root, components):
    """Fig. 5 (directional; expectation [I]): in a VGG-like convnet, full BN and scaling-only keep the rank of the
    penultimate (last convolutional) features far above no normalisation.

    Forward only at initialisation (PyTorch-default conv init with biases, as the authors' VGG), a small VGG-like
    net of 12 conv layers (VGG19 in the paper profile), 64 uniform random 32x32 RGB images (CIFAR-10 with
    ``--data-root``), 3 seeds. The variants are written out explicitly over batch and space (the authors' code only
    differs from BN in eval mode): full BN (centre + population std), centring only, scaling only (x/sqrt(E[x^2])),
    none. Statistic: float32 ``matrix_rank`` of the normalised features (Fig. 1's convention; in float64 the
    unnormalised net's residual signal, ~6^(-L/2) of the bias, is still resolved). Checks: full BN and scaling-only
    rank >= 0.9 * batch in every seed, and their soft rank r (float64, the paper's rank measure of Thm 2) >= 1.1
    in every seed. Centring only: report. Negative control (no normalisation): rank <= 3.

    Why r and why 1.1. The float32 rank alone cannot fail for a net that merely keeps its scale: a whole-batch
    scalar rescale after every conv (``rcbench.mutants:scalar_rescale_norm``) stops the bias from swamping the
    signal, so its float32 rank is full (64/64), yet its features are one direction plus 1-3% of energy (r 1.01-
    1.03): collapsed in the sense of the paper. r - 1 measures the energy outside the dominant (batch-mean)
    direction: with a fraction q of the energy off it, r ~ 1/((1-q)^2 + q^2/r_rest) ~ 1 + 2q. Per-channel batch
    normalisation re-centres/re-scales every channel before each ReLU, so q is kept at every depth (stationary, as
    A3's chain): pilot (master seeds 0, 1 x 3 nets, SMALL_VGG, batch 64) full BN r 1.66-1.74, scaling only 1.30-
    1.45, BatchNorm1d as full BN; without it the off-mean energy decays with depth (the signal shrinks ~sqrt(6) per
    layer against the biases): none r - 1 < 1e-6, scalar rescale 0.010-0.029, per-sample norm (feature axis)
    0.009-0.024, LayerNorm 0.007-0.017. 1.1 is the geometric midpoint of the two classes' extremes (0.03 and 0.30,
    3x margin to each); depth only widens the gap (the collapsed class decays, the normalised class is stationary),
    so it holds a fortiori for VGG19 (the paper profile records both classes' r).
    """
    cfg = _cfg("A11", profile)
    norm = components.norm("full_bn")
    frames = exp.run_claim("A11", cfg, seed=seed, device=device, norm=norm, data_root=data_root)
    _record_frames(record, frames)
    df = frames["conv_rank"]
    batch = int(df.batch.iloc[0])
    lo = df.groupby("variant").numerical_rank_f32.min()
    hi = df.groupby("variant").numerical_rank_f32.max()
    for v in ("full_bn", "scaling_only"):
        record.check(f"{v}: float32 rank of last conv features, min over seeds", int(lo[v]),
                     expected=f">= {0.9 * batch:g}", tolerance="0.9 x batch (directional: 'far above none')",
                     passed=int(lo[v]) >= 0.9 * batch)
    rmin = df.groupby("variant").soft_rank.min()
    for v in ("full_bn", "scaling_only"):
        record.check(f"{v}: soft rank r of last conv features, min over seeds", float(rmin[v]), expected=">= 1.1",
                     tolerance="off-mean energy kept (r - 1 ~ 2q): pilot BN class r >= 1.30, collapsed class "
                     "(none, scalar rescale, per-sample norm, LN) r <= 1.03; 1.1 = geometric midpoint",
                     passed=float(rmin[v]) >= 1.1)
    record.check("centring only: float32 rank, min over seeds", int(lo["centering_only"]), expected="report",
                 tolerance="report only (unverified in the paper)", passed=True)
    record.check("(report) soft rank by variant (mean)", df.groupby("variant").soft_rank.mean().round(4).to_dict(),
                 expected="report", tolerance="report only", passed=True)
    record.check("no normalisation: float32 rank, max over seeds", int(hi["none"]), expected="<= 3",
                 tolerance="collapse (directional)", passed=int(hi["none"]) <= 3, control=True)
    record.verify()
