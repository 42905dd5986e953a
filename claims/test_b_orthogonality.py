"""Claims B1-B5 and B7-B20 of paper B: Daneshmand, Joudaki, Bach, *Batch normalization orthogonalizes
representations in deep random networks* (NeurIPS 2021, arXiv 2106.03970).

The chain is ``H_{l+1} = BN(H_l W_l^T) / sqrt(d)`` (Eq. 1 transposed to rcbench's ``n x d`` layout), ``V`` the
orthogonality gap of Eq. (2) on the ``n x n`` sample Gram, ``V_hat = 1/n - sigma_n^2`` the Lyapunov function of
Eq. (11). Experiments: :mod:`rcbench.experiments.orthogonality`; closed forms: :mod:`rcbench.theory.orthogonality`.
The chain claims (B2, B12-B17, B19, B20) declare the ``norm`` component: the mechanism is BN, and ``--norm X``
reruns them with X in its place (both samplers -- the shared exact Gram-chain sampler
:class:`rcbench.networks.gram_chain.GramChain` and the literal :class:`rcbench.networks.MLP` -- accept any norm).
The exact identities and one-step lemmas (B1, B3-B5, B7-B11, B18) are statements about paper BN itself.
Numbers quoted as [C] are our own CPU calibration runs (float64, fixed seeds; summarised per claim in
``rcbench/docs/claims/B.md``), [T] the third-party reproduction (``t0m1ab/CS3A_TDL_project``).
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import rcbench.metrics as M
from rcbench import stats
from rcbench.experiments import orthogonality as exp
from rcbench.theory import orthogonality as T

Z_1E3 = 3.29  # two-sided normal quantile at a false-failure rate of 1e-3 per check
Z_ONE_SIDED_1E3 = 3.09  # one-sided normal quantile at 1e-3


def _bonferroni_z(m: int, alpha: float = 1e-3) -> float:
    """Two-sided normal quantile at level ``alpha`` shared by ``m`` z-scores: ``Phi^-1(1 - alpha / (2 m))``."""
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / (2 * max(1, m))))


# Scale grid of the statistical claims (``rcbench audit --scales``; each dict is a set of ``--set`` overrides of the
# claim's quick configuration), chosen from the paper's regime before looking at results: the widths of Figs. 2a/2b
# (d = 16 .. 512, and 2048 as in our paper-scale profile), the batch sizes our paper-scale profiles
# use (n in {2, 4, 8}), fewer layers averaged (Fig. 2b's 500-layer average is a protocol choice), fewer and more
# runs (tolerances from the seed spread must follow the run count), the reproduction's near-collinear input law next
# to the authors' degenerate one, and the n = 2 widths where Theorem 1 and App. B.1 are non-vacuous (d >= 36 n^4).
# Kept to points that run in well under a minute each on one core.
SCALES: dict[str, list[dict[str, object]]] = {
    "B8": [{"widths": (32, 128, 512)}, {"draws": 500}, {"ns": (2, 4)}],
    "B9": [{"widths": (32, 128, 512)}, {"draws": 500}],
    "B10": [{"widths": (32, 128, 512)}, {"draws": 500}, {"ns": (2, 4)}],
    "B11": [{"widths": (32, 128, 512)}, {"draws": 500}, {"ns": (2, 4)}],
    "B12": [{"widths": (32, 128)}, {"widths": (64, 2048), "runs": 10}, {"depth": 80}, {"runs": 10}],
    "B13": [{"depth": 200}, {"runs": 8}, {"widths": (16, 32, 64, 128, 256, 512, 1024, 2048)},
            {"n": 8, "widths": (32, 64, 128, 256, 512)}, {"input": "collinear"}],
    "B14": [{"ns": (4,), "widths": (64, 256, 1024)}, {"runs": 5}, {"ns": (8,), "depth": 200}],
    "B15": [{"widths": (2**11, 2**13)}, {"runs": 8}, {"depth": 100}, {"aniso_cos": 0.3, "aniso_widths": (2**15,)}],
    "B16": [{"width": 2**12}, {"runs": 10}, {"ns": (2, 4)}],
    "B17": [{"widths": (2**11, 2**13)}, {"runs": 5}, {"depth": 100}],
    "B19": [{"widths": (64, 256, 1024)}, {"runs": 8}, {"n": 8, "widths": (64, 256, 1024, 4096)}],
    "B20": [{"widths": (64, 128)}, {"runs": 10}],
}

#: the survivor every scale-invariant chain claim explains: ``batch_axis_norm`` scales each feature column to unit
#: mean square over the batch, i.e. it is paper B's BN (unit-norm columns) times sqrt(n), and V, V_hat,
#: sigma_min^2 and c are functions of the trace-one sample Gram, which a global factor does not change
BATCH_AXIS_IS_PAPER_BN = {
    "batch_axis_norm": "sound: unit mean-square feature columns are paper B's BN times sqrt(n); every statistic of "
                       "this claim is a function of the trace-one sample Gram, so the global factor changes nothing",
}


def _cfg(claim: str, profile: str) -> dict:
    return exp.config(claim, "quick" if profile == "quick" else "paper")


# ---------------------------------------------------------------------------------------------------------------
# B1-B3: exact identities
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B1")
def test_b1_gap_identities(record, profile, seed):
    """V = 0 for orthogonal equal-norm samples, V = sqrt(1 - 1/n) for rank one, invariance to H -> cH and
    H -> H O (O orthogonal d x d; the paper's left multiplication W H), and V^2 = sum sigma^4 - 1/n at ||H||_F = 1
    (§3.2 Eq. 2; proof of Lemma 4). Exact: tolerance 1e-10 is float64 round-off (V is a norm of O(1) entries).

    Negative control: the gap computed on the wrong (d x d feature) Gram differs whenever d != n ([C] 0.52 vs
    0.19 at n = 4, d = 64). For a Gaussian n x d H with d >> n the feature-side gap is at least sqrt(1/n - 1/d)
    (n equal singular values among d), the sample-side gap is O(sqrt(n/d)): at n = 4 and d = d_max of the
    configuration they must differ by more than half of sqrt(1/n - 1/d) (0.24 at d = 64)."""
    cfg = _cfg("B1", profile)
    df = record.frame("identities", exp.gap_identities(seed=seed, **cfg))
    for name in ("orthogonal", "rank_one", "scale", "rotation", "sigma4", "theory"):
        e = float(df[name].max())
        record.check(f"max |deviation| ({name})", e, expected="<= 1e-10", tolerance="float64 round-off",
                     passed=e <= 1e-10)
    # negative control: feature-side gap at n = 4, d = 64
    sel = df[(df.n == 4) & (df.d >= 32)]
    nc, dc = 4, int(cfg["d_max"])
    H = torch.randn(nc, dc, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    right, wrong = M.orthogonality_gap(H).item(), M.orthogonality_gap(H.T).item()
    sep = 0.5 * math.sqrt(1 / nc - 1 / dc)
    record.check(f"V(sample Gram) vs V(feature Gram), Gaussian H, n={nc}, d={dc}", [round(right, 4), round(wrong, 4)],
                 expected=f"differ by > {sep:.3f} ([C] 0.19 vs 0.52 at d=64)", tolerance="control: sqrt(1/n-1/d)/2",
                 passed=abs(wrong - right) > sep,
                 control=True, note=f"{len(sel)} random H with n=4, d>=32: min |V_feature - V| = "
                                    f"{float((sel.V_feature - sel.V).abs().min()) if len(sel) else float('nan'):.3f}")
    record.verify()


@pytest.mark.claim("B2", components=("norm",))
def test_b2_norm_preservation(record, profile, device, seed, components):
    """||H_l||_F = 1 after every BN layer (App. A.2 Eq. 10): each BN'd column has unit norm, so ||BN(M)||_F^2 = d
    and the 1/sqrt(d) factor gives 1. Literal MLP (materialised W). Exact: 1e-12 (float64 round-off of a sum of d
    unit squares).

    The mechanism is asserted first: ||H_l||_F^2 is one constant at every layer >= 1, run and width (relative spread
    <= 1e-12), whatever the input and the weights; then its value, 1, which is Eq. (10)'s unit-norm convention
    (a per-feature normalisation to unit mean square, e.g. ``batch_axis_norm`` = paper BN x sqrt(n), keeps the
    constant but makes it n: it is killed by the value check only, for the convention).

    Negative controls: without the 1/sqrt(d) factor ||H||_F^2 = d exactly; a vanilla layer (no BN) does not
    preserve the norm (relative drift > 5% somewhere over the layers and runs: L Gaussian N(0, 1/d) layers change
    ||H||_F^2 by a factor with log-sd ~ sqrt(2 L / (n d)) per run, 0.2-0.4 at the profiles' sizes)."""
    cfg = _cfg("B2", profile)
    norm = components.norm("bn")
    df = record.frame("bn_literal", exp.bn_chain(sampler="literal", norm=norm, device=device, seed=seed, **cfg))
    f = df[df.layer >= 1].frob2
    spread = float((f.max() - f.min()) / f.mean())
    record.check("max_{l>=1} ||H_l||_F^2 spread / mean (layers, runs, widths)", spread,
                 expected="<= 1e-12 (fixed norm)", tolerance="float64 round-off", passed=spread <= 1e-12)
    dev = float((f - 1.0).abs().max())
    record.check("max_{l>=1} | ||H_l||_F^2 - 1 |", dev, expected="<= 1e-12", tolerance="float64 round-off",
                 passed=dev <= 1e-12)
    nog = exp.bn_chain(sampler="literal", norm=norm, gain=1.0, device=device, seed=seed, **cfg)
    rel = float(((nog[nog.layer >= 1].frob2 / nog[nog.layer >= 1].width) - 1.0).abs().max())
    record.check("without 1/sqrt(d): max | ||H||_F^2 / d - 1 |", rel, expected="<= 1e-12 (||H||_F^2 = d)",
                 tolerance="float64 round-off", passed=rel <= 1e-12, control=True)
    van = exp.bn_chain(sampler="literal", norm="none", device=device, seed=seed, **cfg)
    f0 = van[van.layer == 0].set_index(["width", "seed"]).frob2
    drift = float((van.set_index(["width", "seed"]).frob2 / f0 - 1.0).abs().max())
    record.check("vanilla: max relative drift of ||H_l||_F^2", drift, expected="> 0.05", tolerance="control",
                 passed=drift > 0.05, control=True)
    record.verify()


@pytest.mark.claim("B3")
def test_b3_lemma4(record, profile, seed):
    """Lemma 4 (App. A.3): V <= 2n V_hat for ||H||_F = 1; the tight constant is sqrt(n(n-1)). Random H with
    random per-sample scales (four decades) and near-rank-one spectra, 2 <= n <= 16, n <= d <= 64. Exact: slack
    1e-9 relative (round-off of V_hat = 1/n - sigma_n^2 near rank one).

    Negative control: the extremal family (sigma_1 large, sigma_2 = ... = sigma_n) attains V = sqrt(n(n-1)) V_hat,
    so the constant 0.99 sqrt(n(n-1)) must fail on it (max ratio > 0.99)."""
    cfg = _cfg("B3", profile)
    df = record.frame("lemma4", exp.lemma4_table(seed=seed, **cfg))
    rnd, ext = df[df.family == "random"], df[df.family == "extremal"]
    r2n, rt = float(df.ratio_2n.max()), float(df.ratio_tight.max())
    record.check("max V / (2n V_hat)", r2n, expected="<= 1 ([C] 0.48)", tolerance="1e-9 round-off",
                 passed=r2n <= 1 + 1e-9)
    record.check("max V / (sqrt(n(n-1)) V_hat)", rt, expected="<= 1 ([C] 1.000)", tolerance="1e-9 round-off",
                 passed=rt <= 1 + 1e-9)
    record.check("random family: max V / (sqrt(n(n-1)) V_hat)", float(rnd.ratio_tight.max()), expected="<= 1",
                 tolerance="informational", passed=True, note="how close generic H come to the tight constant")
    emin = float(ext.ratio_tight.min())
    record.check("extremal family: min V / (sqrt(n(n-1)) V_hat)", emin, expected="> 0.99 (0.99 sqrt(n(n-1)) fails)",
                 tolerance="attained exactly up to round-off", passed=emin > 0.99, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B4-B5: Lemma 8 by quadrature, near-isotropy contraction
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B4")
def test_b4_lemma8_quadrature(record, profile, seed):
    """Lemma 8 with Sawa's integral (Lemma 9), App. B-C: (a) sum_i p_i = 1, (b) argmin p = argmin sigma,
    (c) 1/n - p_n <= (1 - 2n sigma_n^2/(n+2))(1/n - sigma_n^2) <= (1 - 2 sigma_n^2/3) V_hat, on random spectra on
    the simplex (n = 2 .. 11). Quadrature: trapezoid rule in log t (geometric convergence, ~1e-15), cross-checked
    here against adaptive quad_vec on 20 spectra (<= 1e-10) and in tests/ against the n = 2 closed form
    sqrt(s_2)/(sqrt(s_1)+sqrt(s_2)); tolerance 1e-8.

    Negative control: the middle bound is tight near isotropy (sigma^2 = 1/n + eps, ||eps|| = 1e-3): 0.95 x the
    bound is violated, i.e. left/middle > 0.95 for n = 2, 4, 8 ([C] 0.999). The quadrature is also checked
    against Monte Carlo (largest deviation <= 5 standard errors)."""
    cfg = _cfg("B4", profile)
    df = record.frame("lemma8", exp.lemma8_table(count=cfg["count"], n_max=cfg["n_max"], seed=seed))
    qd = float(df.quad_dev.max())
    record.check("max |p_trapezoid - p_quad_vec| (20 spectra)", qd, expected="<= 1e-10", tolerance="quadrature",
                 passed=qd <= 1e-10)
    e_sum = float((df.sum_p - 1).abs().max())
    record.check("max |sum p - 1|", e_sum, expected="<= 1e-8", tolerance="quadrature accuracy", passed=e_sum <= 1e-8)
    record.check("fraction argmin p == argmin sigma", float(df.argmin_match.mean()), expected="1.0",
                 tolerance="exact", passed=bool(df.argmin_match.all()))
    v1, v2 = float((df.left - df.middle).max()), float((df.middle - df.right).max())
    record.check("max (1/n - p_n) - middle", v1, expected="<= 1e-8 ([C] -1e-9)", tolerance="quadrature accuracy",
                 passed=v1 <= 1e-8)
    record.check("max middle - (1 - 2 sigma_n^2/3) V_hat", v2, expected="<= 1e-8", tolerance="quadrature accuracy",
                 passed=v2 <= 1e-8)
    iso = record.frame("near_isotropy", exp.near_isotropy_table(ns=cfg["isotropy_ns"], eps_norm=cfg["eps_norm"], seed=seed,
                                                                 mc_draws=cfg["mc_draws"]))
    tight = (iso.left / iso.middle).round(4).tolist()
    record.check("near isotropy: (1/n - p_n) / middle for n = 2, 4, 8", tight, expected="> 0.95 ([C] 0.999)",
                 tolerance="0.95 x bound must fail", passed=bool((iso.left > 0.95 * iso.middle).all()), control=True)
    z = (iso.mc_max_dev / iso.mc_max_se).round(2).tolist()
    record.check("Monte Carlo p vs quadrature: max |dev| / SE", z, expected="<= 5",
                 tolerance="5 standard errors of the largest-SE entry", passed=bool((iso.mc_max_dev <= 5 *
                                                                                       iso.mc_max_se).all()))
    record.verify()


@pytest.mark.claim("B5")
def test_b5_near_isotropy_contraction(record, profile, seed):
    """Near isotropy the d -> infinity Gram map contracts V by n/(n+2) per layer (our derivation from App. C.2 and
    Lemma 8; not stated in the paper): the linear response <p - 1/n, eps>/||eps||^2 at ||eps|| = 1e-3 must be
    within +-2% of n/(n+2) (the second-order term is O(||eps||) = 0.1%), and the iterated map from
    sigma^2 = (0.4, 0.3, 0.2, 0.1) has V ratios converging to 2/3 (last step within +-2%).

    Negative control: the +-2% band excludes both "no contraction" (ratio 1) and the theorem's worst-case factor
    1 - 2/(3n) (0.833 for n = 4): the measured ratio is outside +-2% of each."""
    cfg = _cfg("B5", profile)
    iso = record.frame("linear_response", exp.near_isotropy_table(ns=cfg["ns"], eps_norm=cfg["eps_norm"], seed=seed))
    rel = (iso.ratio / iso.predicted - 1).abs()
    record.check("linear response / (n/(n+2)) - 1, n = 2, 4, 8", (iso.ratio / iso.predicted - 1).round(5).tolist(),
                 expected="|.| <= 0.02 ([C] 0.5 / 0.667 / 0.80)", tolerance="+-2%", passed=bool((rel <= 0.02).all()))
    mf = record.frame("mean_field", exp.mean_field_table(start=cfg["start"], steps=cfg["steps"]))
    last = float(mf.ratio.iloc[-1])
    record.check("iterated map: last V ratio (n = 4)", last, expected="2/3 +- 2% ([C] 0.668)", tolerance="+-2%",
                 passed=abs(last / T.contraction_factor(4) - 1) <= 0.02)
    r4 = float(iso.loc[iso.n == 4, "ratio"].iloc[0])
    far = all(abs(r4 / alt - 1) > 0.02 for alt in (1.0, T.worst_case_rate(4)))
    record.check("n = 4 ratio vs alternatives 1 and 1 - 2/(3n)", [round(r4, 4), 1.0, round(T.worst_case_rate(4), 4)],
                 expected="outside +-2% of both", tolerance="control", passed=far, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B7: full whitening
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B7")
def test_b7_full_whitening(record, profile, device, seed):
    """Full whitening (M M^T)^{+1/2} M in place of diagonal BN (remark after Theorem 1; pseudo-inverse since
    d > n) makes every singular value 1, so V = 0 after every layer. Exact: 1e-8 (SVD round-off).

    Negative control: diagonal BN on the same input and weights leaves V > 0, at the floor level (~1.16/sqrt(d),
    B14): the run-mean V at the last layer must exceed half the floor prediction floor_level(n, d) (the formula is
    within 10% and the run mean at one layer of ``runs`` runs has a relative sd ~0.5/sqrt(runs); half the floor is
    also 1e6 x the whitening tolerance). Was a fixed 0.05, right only at d <= ~130."""
    cfg = _cfg("B7", profile)
    df = record.frame("whitening", exp.whitening_chain(device=device, seed=seed, **cfg))
    w = df[(df.norm == "whitening") & (df.layer >= 1)]
    vmax = float(w.orthogonality_gap.max())
    record.check("max_{l>=1} V (full whitening)", vmax, expected="<= 1e-8", tolerance="SVD round-off",
                 passed=vmax <= 1e-8)
    b = df[(df.norm == "bn") & (df.layer == df.layer.max())]
    vb = float(b.orthogonality_gap.mean())
    fl = T.floor_level(cfg["n"], cfg["width"])
    record.check("diagonal BN: mean V at the last layer", vb,
                 expected=f"> floor/2 = {fl / 2:.3f} (floor prediction {fl:.3f})",
                 tolerance="control", passed=vb > fl / 2, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B8-B11: one step of the chain (Lemmas 6, 7, Theorem 5)
# ---------------------------------------------------------------------------------------------------------------
def _one_step(record, profile, device, seed, claim):
    cfg = _cfg(claim, profile)
    df = exp.one_step(device=device, seed=seed, **cfg)
    summary = exp.one_step_summary(df)
    record.frame("one_step_summary", summary)
    return summary


@pytest.mark.claim("B8")
def test_b8_lemma6_concentration(record, profile, device, seed):
    """Lemma 6 (App. B): E_W ||C' - E_W C'||_F^2 <= 1/d with E_W C' = U diag(p) U^T (p by quadrature, exact, so the
    Monte Carlo mean does not bias the deviation). Fixed H (near-collinear, random, near-orthogonal), n in {4, 8},
    d in {16, 64, 256}, 2000 draws. Tolerance (one-sided): d x mean <= 1 + 3.09 d SE in every configuration (the
    bound holds unless the Monte Carlo mean exceeds it significantly at level 1e-3; the former fixed 1.1 was 10%
    slack, ~10 SE at 2000 draws but < 1 SE at a few dozen). E_W C' = U diag(p) U^T: every entry of the Monte Carlo
    mean within the Bonferroni z of level 1e-3 over the m = sum n(n+1)/2 distinct entries of all configurations
    (:func:`_bonferroni_z`: 4.85 for the quick profile's m = 414; the former fixed 5 was this at m ~ 900).

    Negative control (noise present): in every configuration the deviation is significantly positive (mean - 3.09 SE
    > 0; a sampler that lost the weight noise gives exactly 0). The former fixed >= 0.05/d (ours 0.07-0.09/d for the
    near-collinear H at n = 4, 8) failed the scale grid at n = 2 (0.0485/d): its size depends on n and on H."""
    s = _one_step(record, profile, device, seed, "B8")
    top = float(s.dev2_times_d.max())
    excess = float((s.dev2_times_d - 1 - Z_ONE_SIDED_1E3 * s.width * s.dev2_se).max())
    record.check("max d * E||C - EC||_F^2", top, expected="<= 1 + 3.09 d SE ([C] 0.15-0.88)",
                 tolerance=f"one-sided 1e-3; max excess over the bound {excess:.4f}", passed=excess <= 0)
    z, zmax = float(s.mean_z_max.max()), _bonferroni_z(int((s.n * (s.n + 1) // 2).sum()))
    record.check("E_W C = U diag(p) U^T: max z-score of the MC mean", z, expected=f"<= {zmax:.2f}",
                 tolerance="Bonferroni over the distinct entries, level 1e-3", passed=z <= zmax)
    low = float(s.dev2_times_d.min())
    lcb = float(((s.dev2 - Z_ONE_SIDED_1E3 * s.dev2_se) * s.width).min())
    record.check("min d * E||C - EC||_F^2", low, expected="> 0 at level 1e-3 (mean - 3.09 SE > 0)",
                 tolerance=f"noise present; smallest lower bound {lcb:.4f}", passed=lcb > 0, control=True)
    record.verify()


@pytest.mark.claim("B9")
def test_b9_lemma7(record, profile, device, seed):
    """Lemma 7 (App. B): E_W[(V_hat' - (1/n - p_n))^2] <= 1/d, same draws as B8; one-sided: d x mean <= 1 + 3.09 d SE
    in every configuration (level 1e-3; was a fixed 10% slack).

    Power check: the bound is not trivially satisfied: in some configuration d * E[...] exceeds 0.1, so a bound
    ten times stronger (0.1/d), or a noiseless sampler's 0, would be contradicted."""
    s = _one_step(record, profile, device, seed, "B9")
    top = float(s.lemma7_times_d.max())
    excess = float((s.lemma7_times_d - 1 - Z_ONE_SIDED_1E3 * s.width * s.lemma7_se).max())
    record.check("max d * E[(V_hat' - (1/n - p_n))^2]", top, expected="<= 1 + 3.09 d SE",
                 tolerance=f"one-sided 1e-3; max excess over the bound {excess:.4f}", passed=excess <= 0)
    record.check("power: max d * E[...] ", top, expected="> 0.1", tolerance="control", passed=top > 0.1, control=True)
    record.verify()


@pytest.mark.claim("B10")
def test_b10_theorem5_drift(record, profile, device, seed):
    """Theorem 5 (App. B, no A1): E[V_hat' | H] <= (1 - 2 sigma_n^2/3) V_hat + 1/sqrt(d). One-sided: the Monte
    Carlo mean plus 3 standard errors must be below the right side in every configuration ([C] margins >= 0.045;
    e.g. n = 4, d = 64, random H: 0.225 vs 0.366 in our calibration's H).

    Negative control: the drift bound without its noise term is false (B11's mechanism): for the near-orthogonal
    H at the smallest n and width of the configuration (n = 4, d = 16) the mean exceeds (1 - 2 sigma_n^2/3) V_hat."""
    s = _one_step(record, profile, device, seed, "B10")
    margin = s.thm5_rhs - (s.vhat_next + 3 * s.vhat_next_se)
    record.check("min [rhs - (mean V_hat' + 3 SE)] over configurations", float(margin.min()), expected=">= 0",
                 tolerance="3 SE one-sided", passed=bool((margin >= 0).all()))
    n0, d0 = int(s.n.min()), int(s.width.min())
    row = s[(s.n == n0) & (s.width == d0) & (s.kind == "orthogonal")].iloc[0]
    record.check(f"no-noise drift bound at n={n0}, d={d0}, near-orthogonal H: [mean V_hat', bound]",
                 [round(float(row.vhat_next), 4), round(float(row.drift_no_noise), 4)],
                 expected="mean > bound (bound false)",
                 tolerance="3 SE", passed=row.vhat_next - 3 * row.vhat_next_se > row.drift_no_noise, control=True)
    record.verify()


@pytest.mark.claim("B11")
def test_b11_noise_term_needed(record, profile, device, seed):
    """Near isotropy the 1/sqrt(d) term of Theorem 5 is needed: for a near-orthogonal H (smallest n and width of
    the configuration: n = 4, d = 16) weight noise pushes V_hat up: mean(V_hat') - 3 SE > (1 - 2 sigma_n^2/3) V_hat
    ([C] 0.132 vs 0.044).

    Negative control: the push is a finite-width effect; the excess mean(V_hat') - (1 - 2 sigma_n^2/3) V_hat scales
    like 1/sqrt(d) (measured 0.126, 0.066, 0.034 at d = 16, 64, 256), so at the largest width it must be below
    2 sqrt(d_min / d_max) x the excess at the smallest (a factor-2 margin on the law; 1/2 for 16 -> 256, as the
    former fixed check). Needs d_max >= 4 d_min to say more than "decreases"."""
    s = _one_step(record, profile, device, seed, "B11")
    n0 = int(s.n.min())
    orth = s[(s.n == n0) & (s.kind == "orthogonal")].set_index("width")
    dmin, dmax = int(orth.index.min()), int(orth.index.max())
    row = orth.loc[dmin]
    record.check(f"n={n0}, d={dmin} near-orthogonal: [mean V_hat', (1 - 2 sigma_n^2/3) V_hat]",
                 [round(float(row.vhat_next), 4), round(float(row.drift_no_noise), 4)],
                 expected="mean - 3 SE > bound ([C] 0.132 "
                 "vs 0.044)", tolerance="3 SE", passed=row.vhat_next - 3 * row.vhat_next_se > row.drift_no_noise)
    excess = orth.vhat_next - orth.drift_no_noise
    factor = min(1.0, 2 * math.sqrt(dmin / dmax))
    record.check(f"excess at d = {orth.index.tolist()}", excess.round(4).tolist(),
                 expected=f"excess({dmax}) < {factor:.3f} x excess({dmin})", tolerance="control: 1/sqrt(d) scaling",
                 passed=excess.loc[dmax] < factor * excess.loc[dmin], control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B12-B14: Figs. 2a/2b and the floor level
# ---------------------------------------------------------------------------------------------------------------
#: where the mean log V of the plateau lies relative to log floor_level(n, d): the floor formula's accuracy (B14's
#: +-10%, +-0.1 in log) and the Jensen gap E[log V] - log E[V] of the floor's fluctuations (between -0.25 and 0 for a
#: relative sd of V up to 0.7; [C] -0.055 at d = 32, -0.07 at d = 512): [-0.35, +0.10] ([C] plateaus -1.64 / -3.04
#: lie 0.06 / 0.07 below log floor; the former fixed bands [-1.90, -1.40] (d = 32) and [-3.30, -2.80] (d = 512)
#: were these numbers at two widths, and left every other width unchecked)
PLATEAU_LOG_BAND = (-0.35, 0.10)
#: the difference of two plateaus' Jensen gaps ([C] 0.015; at most 0.1 with both gaps in [-0.1, 0])
JENSEN_DIFF = 0.10


@pytest.mark.claim("B12", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b12_fig2a_decay_then_floor(record, profile, device, seed, components):
    """Fig. 2a: log V falls linearly with depth, then plateaus at a width-dependent floor. Authors' protocol
    (``Figures_1_2_6.ipynb``): n = 4, d in {32, 512}, 50 layers, 20 runs, input e_0, 1e-6 e_i; exact Gram sampler.

    Checks, each a function of the configuration (the paper gives the shape only):
    (a) authors' input: mean log V at layer 1 = log V_max +- 0.02 (the 1e-6 samples are ~1e-3 of the first after one
    layer: the d -> infinity map gives V_1 = V_max to 1e-5; 0.02 covers one layer's noise, [C] -0.144).
    (b) plateau (layers plateau_from..depth) mean log V within log floor_level(n, d) + [-0.35, +0.10] at every width
    (:data:`PLATEAU_LOG_BAND`), after the regime check that the d -> infinity transient is below a tenth of the floor
    at plateau_from.
    (c) "falls linearly": at every width whose floor is at least two e-folds below V_max (room for a linear
    descent), the steepest 5-layer slope of the run-mean log V lies between the d -> infinity map's steepest slope
    from this input (noise only slows the descent; -0.48 for the authors' input at n = 4) - 3.29 SE and Theorem 1's
    best certified rate log(1 - 2/(3n)) (-0.182 at n = 4); SE from the per-run slopes over the same window. [C]
    -0.30 at d = 512; the former band [-0.50, -0.20] at one width.
    (d) flat plateau: the run-mean log V drifts over the plateau window by less than the resolution of the plateau
    bands (0.1, :data:`JENSEN_DIFF`): |slope| <= 0.1 / (depth - plateau_from) + 3.29 SE (per-run slopes); 0.01 at
    the quick profile, as the former fixed bound. (At d = 32 a slow drift of ~-0.0025 per layer remains at layers
    25-50, 1.4 SE: a bare 3.29 SE test would fail ~3% of seeds.)
    (e) plateau(d_min) - plateau(d_max) = 0.5 log(d_max / d_min) (the d^{-1/2} law) within 2 x the floor model's
    spread + the Jensen-gap difference (0.1) + 3.29 SE ([C] 1.40 vs 1.386 at 32/512; was a fixed +-0.20).

    Literal check: the literal Eq. (1) (materialised W, a real MLP) must give the same plateau as the sampler (both
    are exact in law) within 3.29 combined standard errors (the former extra +0.05 was slack).

    Negative control: the vanilla chain on the same degenerate input stays at log V_max = -0.1438 at the last layer
    (+-0.01: the small samples shrink further), for every width."""
    cfg = _cfg("B12", profile)
    norm = components.norm("bn")
    n, widths, depth, start = cfg["n"], tuple(cfg["widths"]), cfg["depth"], cfg["plateau_from"]
    keys = ("n", "widths", "depth", "runs", "input", "sampler")
    df = record.frame("bn_chain", exp.bn_chain(norm=norm, device=device, seed=seed, **{k: cfg[k] for k in keys}))
    curve = exp.run_mean(df, log=True)
    logvmax = math.log(T.v_max(n))
    spec = exp.input_spectrum(cfg["input"], n, min(widths), seed=seed)
    v_inf = T.mean_field_gaps(spec)
    if cfg["input"] == "authors":
        l1 = curve.loc[1]
        record.check("mean log V at layer 1", l1.round(4).tolist(), expected=f"log V_max = {logvmax:.4f} +- 0.02",
                     tolerance="one layer's noise; d->inf map V_1 = V_max",
                     passed=bool(((l1 - logvmax).abs() <= 0.02).all()))
    tail_inf = float(v_inf[start]) if start < v_inf.size else 0.0
    fmin = T.floor_level(n, max(widths))
    record.check(f"regime: d->inf transient at layer {start} < floor(d_max)/10", tail_inf,
                 expected=f"< {fmin / 10:.2e}", tolerance="plateau window past the transient",
                 passed=tail_inf < fmin / 10 and depth - start >= 5,
                 deterministic=cfg["input"] != "random")  # the d->inf map from a fixed input: no draw
    plat = exp.plateau(df, start, depth, log=True)
    lo_b, hi_b = PLATEAU_LOG_BAND
    for d in widths:
        lf = math.log(T.floor_level(n, d))
        record.check(f"plateau mean log V, d={d}", float(plat.loc[d]), expected=f"[{lf + lo_b:.3f}, {lf + hi_b:.3f}]",
                     tolerance="log floor_level + [-0.35, +0.10]", passed=lf + lo_b <= plat.loc[d] <= lf + hi_b)
    steep_inf = exp.steepest_window_slope(pd.Series(np.log(np.maximum(v_inf[1:], 1e-300))[:depth],
                                                    index=np.arange(1, min(depth, v_inf.size - 1) + 1)), 5)
    rate = math.log(T.worst_case_rate(n))
    logs = df.assign(_l=np.log(df.orthogonality_gap))
    for d in widths:
        if T.floor_level(n, d) > T.v_max(n) * math.exp(-2):
            continue
        steep, at = _steepest_with_window(curve[d], 5)
        w = logs[(logs.width == d) & logs.layer.between(at, at + 4)].pivot(index="layer", columns="seed", values="_l")
        per = np.array([np.polyfit(w.index.to_numpy(float), w[c].to_numpy(), 1)[0] for c in w.columns])
        se = float(per.std(ddof=1) / math.sqrt(per.size))
        record.check(f"steepest 5-layer slope of mean log V, d={d} (layers {at}-{at + 4})", steep,
                     expected=f"[{steep_inf - Z_1E3 * se:.3f}, {rate:.3f}]",
                     tolerance="d->inf steepest - 3.29 SE .. log(1 - 2/(3n)); [C] -0.30 at d=512",
                     passed=steep_inf - Z_1E3 * se <= steep <= rate)
    tails = {}
    for d in widths:
        t = logs[(logs.width == d) & (logs.layer >= start)].pivot(index="layer", columns="seed", values="_l")
        per = np.array([np.polyfit(t.index.to_numpy(float), t[c].to_numpy(), 1)[0] for c in t.columns])
        se = float(per.std(ddof=1) / math.sqrt(per.size))
        tails[d] = t.mean(axis=0)
        tol = JENSEN_DIFF / (depth - start) + Z_1E3 * se
        record.check(f"slope of mean log V over layers {start}-{depth}, d={d}", float(per.mean()),
                     expected=f"|.| <= {tol:.4f}", tolerance="drift over the window < 0.1 + 3.29 SE (per-run slopes)",
                     passed=abs(per.mean()) <= tol)
    dmin, dmax = min(widths), max(widths)
    if dmax > dmin:
        diff = float(plat.loc[dmin] - plat.loc[dmax])
        se = math.sqrt(tails[dmin].var() / tails[dmin].size + tails[dmax].var() / tails[dmax].size)
        tol = 2 * T.FLOOR_MODEL_SPREAD + JENSEN_DIFF + Z_1E3 * se
        want = 0.5 * math.log(dmax / dmin)
        record.check(f"plateau({dmin}) - plateau({dmax})", diff, expected=f"{want:.3f} +- {tol:.3f}",
                     tolerance="0.5 log(d_max/d_min) (d^-1/2); model spread + Jensen + 3.29 SE",
                     passed=abs(diff - want) <= tol)
    # literal Eq. (1) with materialised weights
    lit = record.frame("literal", exp.bn_chain(n=n, widths=cfg["literal_widths"], depth=depth,
                                               runs=cfg["literal_runs"], input=cfg["input"], sampler="literal",
                                               norm=norm, device=device, seed=seed))
    for d in cfg["literal_widths"]:
        a = np.log(lit[(lit.width == d) & (lit.layer >= start)].groupby("seed").orthogonality_gap.mean())
        sub = df[df.width == d] if d in widths else exp.bn_chain(
            n=n, widths=(d,), depth=depth, runs=cfg["runs"], input=cfg["input"], norm=norm, device=device, seed=seed)
        b = np.log(sub[sub.layer >= start].groupby("seed").orthogonality_gap.mean())
        se = math.sqrt(a.var() / len(a) + b.var() / len(b))
        record.check(f"literal vs sampler plateau log(mean V), d={d}",
                     [round(float(a.mean()), 4), round(float(b.mean()), 4)],
                     expected="equal", tolerance=f"3.29 SE = {Z_1E3 * se:.3f}",
                     passed=abs(a.mean() - b.mean()) <= Z_1E3 * se)
    van = exp.bn_chain(n=n, widths=widths, depth=depth, runs=cfg["control_runs"],
                       input=cfg["input"], norm="none", device=device, seed=seed)
    last = exp.run_mean(van, log=True).loc[depth]
    record.check("vanilla mean log V at the last layer", last.round(4).tolist(), expected=f"{logvmax:.4f} +- 0.01",
                 tolerance="control ([C] -0.1438)", passed=bool(((last - logvmax).abs() <= 0.01).all()), control=True,
                 deterministic=True)  # collapsed to rank one: log V = log V_max(n) to the 4 decimals, whatever the seed
    record.verify()


def _steepest_with_window(curve: pd.Series, window: int) -> tuple[float, int]:
    """The most negative least-squares slope of ``curve`` over ``window`` consecutive layers, and its first layer."""
    x, y = curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float)
    best, at = math.inf, int(x[0])
    for i in range(len(x) - window + 1):
        sl = np.polyfit(x[i:i + window], y[i:i + window], 1)[0]
        if sl < best:
            best, at = float(sl), int(x[i])
    return best, at


#: Fig. 2b as published (authors' ``Figures_1_2_6.ipynb``): n = 4, d = 16 .. 512, V averaged over layers 1-500 of
#: the authors' input; the paper prints the slope as -0.46 (two decimals: the value lies in [-0.47, -0.455], whether
#: truncated or rounded).
FIG2B = {"n": 4, "d_min": 16, "d_max": 512, "depth": 500, "input": "authors", "slope": -0.46,
         "precision": (-0.47, -0.455)}


def _slope_tolerance(per_run: np.ndarray, widths, model_factor: float = 1.0) -> tuple[float, float, float]:
    """Tolerance of a fitted log-log width slope: ``Z_1E3 * SE + model_factor * T.slope_model_error(widths)``, with
    ``SE = sd(per-run slopes) / sqrt(runs)`` (the run-mean slope's Monte Carlo error: it shrinks with the number of
    runs and the number of layers averaged, and with the spread of the widths) and the floor model's error
    propagated into the slope over these widths. Returns ``(tol, se, model)``."""
    se = float(np.std(per_run, ddof=1) / math.sqrt(per_run.size)) if per_run.size > 1 else math.inf
    model = model_factor * T.slope_model_error(widths)
    return Z_1E3 * se + model, se, model


@pytest.mark.claim("B13", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b13_fig2b_width_slope(record, profile, device, seed, components):
    """Fig. 2b: the floor scales like d^{-1/2}; the paper reports slope -0.46 of log(layer-averaged V) against
    log d. Authors' protocol: n = 4, d = 16 .. 512, 500 layers (V averaged over layers 1-500), 20 runs, authors'
    input.

    What the protocol measures: the 500-layer average includes the transient from V_max (a fixed ~4 units of V over
    the first ~15 layers) on top of the floor 1.16/sqrt(d), so its slope is -1/2 flattened by an amount that
    depends on the layers averaged and on the widths. The expected slope of the configuration is
    :func:`rcbench.theory.orthogonality.width_slope_prediction` (the d -> infinity transient from the input's
    spectrum and the floor added in quadrature): -0.4667 at the paper's protocol ([C] -0.468), -0.4288 at
    d = 16 .. 8192 (measured -0.4237), -0.37 at 100 layers. Tolerance: 3.29 SE of the run-mean slope (SE from the
    spread of the per-run slopes / sqrt(runs); false-failure rate 1e-3) + the floor model's error propagated into
    the slope over these widths (:func:`rcbench.theory.orthogonality.slope_model_error`: 0.015 at 6 widths, 0.009
    at 10). The former fixed -0.468 +- 0.03 was the calibrated value at d <= 512 and failed at paper size
    (widths to 8192: -0.4237), where the protocol's expected slope is -0.429.

    The paper's number is judged on the paper's range: the slope over the widths 16 <= d <= 512 of the same runs,
    at the paper's protocol (n = 4, 500 layers, authors' input), must lie in the paper's [-0.47, -0.455] within
    3.29 SE. Widths beyond 512 (the paper profile) are recorded as a finding: the protocol's slope flattens there
    as predicted, while the floor law itself (next check) stays at -1/2.

    With Gaussian input and a burn-in (the transient removed) the slope is -1/2 (the predicted slope of the floor)
    within the same kind of tolerance ([C] -0.508; [T] -0.50 +- 0.01).

    Negative control: the fit separates -1/2 from the abstract's "inversely proportional to width" (slope -1): the
    V slope's 95% interval excludes -1, and the same runs give slope -1 for mean V^2 ([C] -1.02; tolerance 3.29 SE
    + twice the floor model's slope error, V^2 doubling relative errors)."""
    cfg = _cfg("B13", profile)
    norm = components.norm("bn")
    n, widths, depth = cfg["n"], tuple(cfg["widths"]), cfg["depth"]
    df = exp.bn_chain(n=n, widths=widths, depth=depth, runs=cfg["runs"], input=cfg["input"],
                      norm=norm, device=device, seed=seed)
    record.frame("authors_layer_mean", df[df.layer >= 1].groupby(["width", "seed"]).orthogonality_gap.mean()
                 .reset_index())
    fit, per_run = exp.width_slope(df, start=1)
    spec = exp.input_spectrum(cfg["input"], n, min(widths), seed=seed)
    pred = T.width_slope_prediction(spec, widths, 1, depth)
    tol, se, model = _slope_tolerance(per_run, widths)
    record.check(f"slope log(mean V) vs log d, {cfg['input']} input, layers 1-{depth}, d={min(widths)}..{max(widths)}",
                 fit.slope, expected=f"{pred:.4f} +- {tol:.4f} (protocol prediction)",
                 tolerance=f"3.29 SE ({se:.4f}) + floor-model slope error ({model:.4f})",
                 passed=abs(fit.slope - pred) <= tol, note=f"per-run {per_run.mean():.4f} +- {per_run.std():.4f}")
    paper_protocol = n == FIG2B["n"] and depth == FIG2B["depth"] and cfg["input"] == FIG2B["input"]
    in_range = tuple(d for d in widths if FIG2B["d_min"] <= d <= FIG2B["d_max"])
    if paper_protocol and len(in_range) >= 3:
        fp, pp = exp.width_slope(df[df.width.isin(in_range)], start=1)
        se_p = float(np.std(pp, ddof=1) / math.sqrt(pp.size))
        lo, hi = FIG2B["precision"]
        record.check(f"paper's range d={min(in_range)}..{max(in_range)}: slope (paper {FIG2B['slope']})", fp.slope,
                     expected=f"[{lo}, {hi}] +- {Z_1E3 * se_p:.4f}", tolerance="paper's two decimals + 3.29 SE",
                     passed=lo - Z_1E3 * se_p <= fp.slope <= hi + Z_1E3 * se_p,
                     note=f"protocol prediction {T.width_slope_prediction(spec, in_range, 1, depth):.4f}")
    else:
        record.check("paper's range and protocol (n=4, 500 layers, authors' input, d in 16..512)", None,
                     expected="not applicable", tolerance="configuration differs from Fig. 2b", passed=True,
                     note=f"n={n}, depth={depth}, input={cfg['input']}, widths in range {list(in_range)}")
    beyond = [d for d in widths if d > FIG2B["d_max"]]
    if beyond:
        record.check(f"finding: protocol slope over d={min(widths)}..{max(widths)} (beyond Fig. 2b's 16..512)",
                     fit.slope, expected=f"flatter than -1/2 as predicted ({pred:.4f})",
                     tolerance="recorded finding, not a failure", passed=True,
                     note="the 500-layer average includes the transient, whose share grows like sqrt(d)/L; "
                          "the floor itself keeps slope -1/2 (burn-in check)")
    rnd = exp.bn_chain(n=n, widths=widths, depth=cfg["random_depth"], runs=cfg["random_runs"],
                       input="random", norm=norm, device=device, seed=seed)
    record.frame("random_layer_mean", rnd[rnd.layer >= cfg["burn_in"]].groupby(["width", "seed"])
                 .orthogonality_gap.mean().reset_index())
    fr, pr = exp.width_slope(rnd, start=cfg["burn_in"])
    pred_r = T.width_slope_prediction(exp.input_spectrum("random", n, min(widths), seed=seed), widths,
                                      cfg["burn_in"], cfg["random_depth"])
    tol_r, se_r, model_r = _slope_tolerance(pr, widths)
    record.check("slope, Gaussian input after burn-in", fr.slope, expected=f"{pred_r:.4f} +- {tol_r:.4f} (-1/2)",
                 tolerance=f"3.29 SE ({se_r:.4f}) + floor-model slope error ({model_r:.4f}); [C] -0.508",
                 passed=abs(fr.slope - pred_r) <= tol_r, note=f"per-run {pr.mean():.4f} +- {pr.std():.4f}")
    record.check("slope in the claim-level band (informational)", fr.slope, expected="[-0.56, -0.40]",
                 tolerance="informational; the derived checks above decide", passed=True)
    f2, p2 = exp.width_slope(rnd, start=cfg["burn_in"], power=2)
    tol2, _, _ = _slope_tolerance(p2, widths, model_factor=2.0)
    record.check("V slope 95% CI excludes -1", [round(fr.slope_low, 4), round(fr.slope_high, 4)],
                 expected="-1 outside", tolerance="t interval", passed=not (fr.slope_low <= -1 <= fr.slope_high),
                 control=True)
    record.check("slope of mean V^2 vs log d", f2.slope, expected=f"-1 +- {tol2:.4f} ([C] -1.02)",
                 tolerance="control: 3.29 SE + 2 x floor-model slope error", passed=abs(f2.slope + 1) <= tol2,
                 control=True)
    record.verify()


@pytest.mark.claim("B14", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b14_floor_level(record, profile, device, seed, components):
    """Floor level (beyond the paper; our derivation from the noise variance (1 - 1/n)/d and the contraction
    n/(n+2)): E[V_inf] ~= sqrt((n-1)(n+2)^2 / (4n(n+1)d)) = 1.16/sqrt(d) for n = 4. Gaussian input, burn-in, then
    the mean over runs and layers; tolerance: the formula's accuracy, 10% for n >= 4 and d >= 8n ([C]: n = 4 within
    2-4%, n = 8 within 2%; 20% for n = 2, [C] 12% high), plus 3.29 relative standard errors of the measured floor
    (per-run plateau means over runs; ~0.5% at the quick profile, so it matters only with few runs or layers).

    Negative control: with Theorem 5's worst-case contraction 1 - 2/(3n) in place of n/(n+2), the prediction is
    outside the tolerance at every width (35% high for n = 4), asserted for the n where the two predictions differ by
    more than twice the formula's accuracy (n >= 4: 26% at n = 4, 33% at n = 8); at n = 2 they differ by 14% < 2 x 20%
    and the control is recorded as not discriminating (the paper profile's n = 2 failed it: 0.75-0.77, inside
    1 +- 0.23)."""
    cfg = _cfg("B14", profile)
    for n in cfg["ns"]:
        widths = tuple(d for d in cfg["widths"] if d >= 8 * n)
        df = exp.bn_chain(n=n, widths=widths, depth=cfg["depth"], runs=cfg["runs"], input="random",
                          norm=components.norm("bn"), device=device, seed=seed)
        plat = exp.plateau(df, cfg["burn_in"])
        d = plat.index.to_numpy()
        ratio = plat.to_numpy() / T.floor_level(n, d)
        record.frame(f"floor_n{n}", plat.rename("mean_V").reset_index().assign(n=n, ratio=ratio))
        per_run = df[df.layer >= cfg["burn_in"]].groupby(["width", "seed"]).orthogonality_gap.mean().groupby("width")
        rel_se = (per_run.std(ddof=1) / np.sqrt(per_run.count()) / per_run.mean()).reindex(plat.index).to_numpy()
        tol = (0.10 if n >= 4 else 0.20) + Z_1E3 * float(rel_se.max())
        record.check(f"n={n}: measured / predicted floor, d={[int(v) for v in d]}", np.round(ratio, 4).tolist(),
                     expected=f"1 +- {tol:.3f}", tolerance="model accuracy + 3.29 relative SE; [C] within 2-4%",
                     passed=bool((np.abs(ratio - 1) <= tol).all()))
        wrong = plat.to_numpy() / T.floor_level(n, d, contraction=T.worst_case_rate(n))
        # the two predictions differ by the factor sqrt((1 - rho_w^2) / (1 - rho^2)) (0.74 at n = 4, 0.67 at n = 8,
        # 0.86 at n = 2); the control discriminates only where that gap exceeds twice the formula's accuracy
        sep = abs(float(T.floor_level(n, 1.0) / T.floor_level(n, 1.0, contraction=T.worst_case_rate(n))) - 1)
        model = 0.10 if n >= 4 else 0.20
        if sep > 2 * model:
            record.check(f"n={n}: measured / prediction with rho = 1 - 2/(3n)", np.round(wrong, 4).tolist(),
                         expected=f"outside 1 +- {tol:.3f}", tolerance="control",
                         passed=bool((np.abs(wrong - 1) > tol).all()), control=True)
        else:
            record.check(f"n={n}: measured / prediction with rho = 1 - 2/(3n) (not discriminating)",
                         np.round(wrong, 4).tolist(), expected="informational", tolerance="no control at this n",
                         passed=True, control=True,
                         note=f"the two contractions' predictions differ by {sep:.0%}, less than twice the formula's "
                              f"accuracy at n={n} ({model:.0%}): the control cannot separate them here")
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B15-B17: Theorem 1 and App. B.1 where they can fail
# ---------------------------------------------------------------------------------------------------------------
def _b15_runs(cfg, device, seed, norm="bn"):
    main = exp.bn_chain(n=cfg["n"], widths=cfg["widths"], depth=cfg["depth"], runs=cfg["runs"], input=cfg["input"],
                        norm=norm, device=device, seed=seed)
    info = exp.bn_chain(n=cfg["info_n"], widths=cfg["info_widths"], depth=cfg["depth"], runs=cfg["info_runs"],
                        input=cfg["input"], norm=norm, device=device, seed=seed)
    return main, info


def _b15_anisotropic_arm(record, cfg, device, seed, norm):
    """Theorem 1 on an input far from isotropic, where the claim's own statistic separates a chain that
    orthogonalises from one that does not (the Gaussian input of the main arm is already near isotropy at these
    widths, V(H_0) ~ sqrt(n/d), so a chain without BN also stays below the bound there)."""
    n, c, depth, runs = cfg["n"], float(cfg["aniso_cos"]), cfg["depth"], cfg["runs"]
    widths = tuple(cfg["aniso_widths"])
    power = {d: T.theorem1_unorthogonalised_margin(n, d, depth, c, runs) for d in widths}
    record.check(f"anisotropic arm (cos {c}): bound at layer {depth - 1} with alpha_low < V(H_0), per width",
                 [[int(d), round(p["bound"], 4), round(p["v0"], 4)] for d, p in power.items()],
                 expected="bound < V_0 at every width (an unorthogonalised chain must violate it)",
                 tolerance="regime check: alpha_low = alpha_0 exp(-z s sqrt(L)) (running min of runs random walks, "
                           "level 1e-3)",
                 passed=all(p["live"] for p in power.values()), deterministic=True,
                 note=f"alpha_0 = (1 - cos)/n = {(1 - c) / n:.3f}; alpha_low "
                      f"{[round(p['alpha_low'], 3) for p in power.values()]}")
    df = exp.bn_chain(n=n, widths=widths, depth=depth, runs=runs, input="equicorrelated", eps=c, norm=norm,
                      device=device, seed=seed)
    alpha = df[df.layer >= 1].groupby("width").sigma_min2.min()
    if not bool((alpha > 0).all()):
        record.check("anisotropic arm: alpha > 0 at every width", alpha.tolist(), expected="> 0",
                     tolerance="A1 (the chain lost rank)", passed=False)
        return
    tab = record.frame("theorem1_anisotropic", exp.theorem1_table(df))
    per_w = tab.groupby("width").agg(alpha=("alpha", "first"), max_ratio=("ratio", "max"),
                                     last_V=("mean_V_next", "last"), last_bound=("bound", "last"))
    record.check(f"anisotropic input (V_0 = {c * T.v_max(n):.3f}): max_l mean V(H_(l+1)) / bound, per width",
                 per_w.max_ratio.round(4).tolist(), expected="<= 1",
                 tolerance="one-sided (BN: ~0.09; a chain that keeps V_0 exceeds 1 where the regime check holds)",
                 passed=bool((tab.ratio <= 1).all()),
                 note=f"alpha {per_w.alpha.round(3).tolist()}, last-layer mean V {per_w.last_V.round(4).tolist()} "
                      f"vs bound {per_w.last_bound.round(4).tolist()}")


@pytest.mark.claim("B15", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b15_theorem1(record, profile, device, seed, components):
    """Theorem 1 (Eq. 3): E[V(H_{l+1})] <= 2(1 - 2 alpha/3)^l + 3n/(alpha sqrt(d)), alpha the proof's reading of
    A1 (alpha = min over runs and layers >= 1 of sigma_min^2: the proof in App. B replaces Theorem 5's factor
    1 - (2/3) sigma_n^2 by 1 - 2 alpha/3, so alpha bounds sigma_min^2, not sigma_min). Run where the bound can fail:
    n = 2, d = 2^10 .. 2^14 (quick; paper 2^12 .. 2^18), Gaussian input, 60 layers, 20 runs; there the floor term
    is 0.1-0.4 < V_max = 0.707. Assertion: run-mean V below the bound at every layer (one-sided; the measured
    ratio is ~0.07, far below 1, so Monte Carlo error (~5% of the mean) cannot flip it).

    Power check (no mechanism control exists: a vanilla chain gives alpha -> 0 and an infinite bound): the same
    data must violate the bound with its floor term divided by D = 10 x 3n / (alpha c_n), c_n = sqrt(d) x
    floor_level(n, d) (1.16 for n = 4), i.e. with the floor term replaced by a tenth of the predicted floor. Both the
    measured E[V] and the floor term scale like d^{-1/2}, so the ratio mean / bound ~ alpha c_n / (3n) is the same at
    every width but falls with n (0.04 at n = 2, 0.005 at n = 8): the former fixed D = 200 was live for n <= 4 only.
    Anisotropic arm (the test a missing normalisation fails): the same n, depth and runs from the equicorrelated
    input (unit-norm samples with pairwise cosine aniso_cos = 1/2, which maximises V_0 / floor term ~ c (1 - c):
    V(H_0) = c sqrt(1 - 1/n) = 0.354, sigma_min^2 = (1 - c)/n = 0.25, so A1 holds from layer 0) at d = 2^14, 2^16
    (quick; paper to 2^18). The claim's own statistic, run-mean V <= Theorem 1's bound at every layer, must hold
    there too (BN: max ratio ~0.09). A chain that does not orthogonalise (no norm, a whole-batch rescaling, a
    per-sample norm) keeps V ~ V_0 while the bound falls to 3n/(alpha sqrt(d)) with its own alpha: it violates the
    bound wherever that is below V_0. The regime check asserts this from the configuration alone
    (:func:`rcbench.theory.orthogonality.theorem1_unorthogonalised_margin`: alpha_low = alpha_0 exp(-z s sqrt(L)),
    the running minimum over the runs of the random walk of log sigma_min^2 with per-layer sd s = 2 (1 - alpha_0)
    / sqrt(d) at n = 2, z = Phi^-1(1 - 1e-3 / (2 runs)) = 4.06 for 20 runs; bound 0.272 < 0.354 at 2^14, 0.113 at
    2^16; measured alpha of the unnormalised chain 0.193 / 0.227, ratios 1.53 / 3.40). Before this arm, the
    unnormalised mutants were killed only by the regime check of the main arm.

    Informational: in the paper's own regime (n = 4, d <= 1024) the bound is vacuous (floor term > sqrt(1 - 1/n))."""
    cfg = _cfg("B15", profile)
    main, info = _b15_runs(cfg, device, seed, components.norm("bn"))
    alpha = main[main.layer >= 1].groupby("width").sigma_min2.min()
    record.check("A1: alpha = min sigma_min(H_l)^2 > 0 at every width", alpha.tolist(), expected="> 0",
                 tolerance="Theorem 1's assumption (a norm that loses rank, e.g. centred BN: rank n-1, breaks it)",
                 passed=bool((alpha > 0).all()), note="sigma_min^2 is 0 below the Gram's round-off level")
    _b15_anisotropic_arm(record, cfg, device, seed, components.norm("bn"))
    if not bool((alpha > 0).all()):
        record.verify()
    tab = record.frame("theorem1_n2", exp.theorem1_table(main))
    per_w = tab.groupby("width").agg(alpha=("alpha", "first"), floor=("floor_term", "first"),
                                     max_ratio=("ratio", "max"))
    record.check("n=2: max_l mean V(H_{l+1}) / bound, per width", per_w.max_ratio.round(4).tolist(),
                 expected="<= 1", tolerance="one-sided (ratio ~0.07)", passed=bool((tab.ratio <= 1).all()),
                 note=f"alpha {per_w.alpha.round(3).tolist()}, floor terms {per_w.floor.round(3).tolist()}")
    nonvac = bool((per_w.floor < T.v_max(cfg["n"])).all())
    record.check("n=2: floor term < V_max (bound can fail)", per_w.floor.round(3).tolist(),
                 expected=f"< {T.v_max(cfg['n']):.3f}", tolerance="regime check", passed=nonvac)
    c_n = T.floor_level(cfg["n"], 1.0)
    strong = {int(d): float(exp.theorem1_table(g, floor_divisor=30 * cfg["n"] / (float(per_w.alpha.loc[d]) * c_n))
                            .ratio.max()) for d, g in main.groupby("width")}
    record.check("power: max ratio with the floor term replaced by floor_level / 10, per width",
                 [round(v, 3) for v in strong.values()], expected="> 1", tolerance="control",
                 passed=all(v > 1 for v in strong.values()), control=True)
    it = record.frame("theorem1_n4", exp.theorem1_table(info))
    pw = it.groupby("width").agg(alpha=("alpha", "first"), floor=("floor_term", "first"), max_ratio=("ratio", "max"),
                                 vacuous=("vacuous", "first"))
    small = pw[pw.index <= 1024]
    record.check("n=4 (paper regime): bound vacuous for d <= 1024", pw.vacuous.tolist(),
                 expected="True for d <= 1024 (information)", tolerance="informational; not the test",
                 passed=bool(small.vacuous.all()),
                 note=f"widths {pw.index.tolist()}, alpha {pw.alpha.round(3).tolist()}, max ratio "
                      f"{pw.max_ratio.round(4).tolist()} ([C] 0.009-0.024)")
    record.verify()


@pytest.mark.claim("B16", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b16_transient_rate(record, profile, device, seed, components):
    """The transient decays at least as fast as Theorem 1/5's best certified rate 1 - 2/(3n) per layer: the fitted
    slope of log(run-mean V) over the transient window (run-mean V between 3 x the floor level and V_max/2) must
    satisfy slope_high (95% upper end) <= log(1 - 2/(3n)). Near-rank-one input (e_0 + 1e-3 e_i), n in
    {2, 4, 8, 16}, d = 2^13 (quick) / 2^16 (paper), 5 runs ([C] -0.69, -0.44, -0.25, -0.18 against -0.41, -0.18,
    -0.09, -0.04).

    Negative control: the vanilla chain on the same input does not decay: its slope over the same layers is above
    log(1 - 2/(3n))."""
    cfg = _cfg("B16", profile)
    rows = []
    for n in cfg["ns"]:
        bn = exp.bn_chain(n=n, widths=(cfg["width"],), depth=cfg["depth"], runs=cfg["runs"], input=cfg["input"],
                          norm=components.norm("bn"), device=device, seed=seed)
        fit, layers = exp.transient_slope(bn, n=n, width=cfg["width"])
        bound = math.log(T.worst_case_rate(n))
        ok = fit is not None and fit.slope_high <= bound
        record.check(f"n={n}: transient log-slope (layers {layers.min() if layers.size else '-'}-"
                     f"{layers.max() if layers.size else '-'})", None if fit is None else round(fit.slope, 4),
                     expected=f"<= log(1 - 2/(3n)) = {bound:.4f}",
                     tolerance="one-sided, 95% upper end" + ("" if fit is None else f" {fit.slope_high:.4f}"),
                     passed=ok, note=f"near-isotropy limit log(n/(n+2)) = {math.log(T.contraction_factor(n)):.4f}")
        van = exp.bn_chain(n=n, widths=(cfg["width"],), depth=cfg["depth"], runs=cfg["runs"], input=cfg["input"],
                           norm="none", device=device, seed=seed)
        lay = layers if layers.size >= 3 else np.arange(1, cfg["depth"] + 1)
        vc = van.groupby("layer").orthogonality_gap.mean().loc[lay]
        vs = stats.slope(lay, vc.to_numpy(), logy=True).slope
        record.check(f"n={n}: vanilla slope over the same layers", vs, expected=f"> {bound:.4f} (no decay)",
                     tolerance="control", passed=vs > bound, control=True)
        rows.append({"n": n, "bn_slope": None if fit is None else fit.slope, "vanilla_slope": vs, "bound": bound})
    record.frame("slopes", pd.DataFrame(rows))
    record.verify()


@pytest.mark.claim("B17", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b17_averaged_bound(record, profile, device, seed, components):
    """App. B.1 (no A1): E[(1/l) sum_{k=1}^l V_hat_k (1/n - V_hat_k)] <= 3 E[V_hat(H_0)]/(2l) + 3/(2 sqrt(d)) (with
    Theorem 5's +1/sqrt(d); the text's +2/sqrt(d) would only loosen it). Run where it can fail: the left side is at
    most 1/(4n^2) = 1/16, so n = 2 and d >= 36 n^4 = 576: d = 2^10 .. 2^14 (quick), near-collinear input, l up to
    200. One-sided at every l (measured ratio <= ~0.25).

    Power check: the data must violate the right side divided by 50."""
    cfg = _cfg("B17", profile)
    df = exp.bn_chain(norm=components.norm("bn"), device=device, seed=seed, **cfg)
    tab = record.frame("averaged_bound", exp.averaged_bound_table(df))
    mx = tab.groupby("width").ratio.max()
    record.check("max_l lhs / rhs, per width", mx.round(4).tolist(), expected="<= 1", tolerance="one-sided",
                 passed=bool((tab.ratio <= 1).all()))
    strong = exp.averaged_bound_table(df, divisor=50).groupby("width").ratio.max()
    record.check("power: max_l lhs / (rhs / 50), per width", strong.round(3).tolist(), expected="> 1",
                 tolerance="control", passed=bool((strong > 1).all()), control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# B18-B20: Wasserstein coupling and Gaussianity
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("B18")
def test_b18_coupling_inequalities(record, profile, device, seed):
    """Lemma 2 via its explicit coupling (§4.1, App. D): c = sum_i (sigma_i(H/||H||_F) - 1/sqrt(n))^2 <= n V^2 per
    sample (since (s - a)^2 <= (s^2 - a^2)^2 / a^2 with a = 1/sqrt(n)), and n E[V^2] <= 2n E[V] (V <= 1), along the
    B15 runs (n = 2 and n = 4). Exact: round-off 1e-12.

    Control (mechanism removed): the vanilla chain's coupling cost grows with depth (n = info_n = 4 at the smallest
    info width, d = 64, Gaussian input, run-mean c at the last layer > 2 x at layer 1: the vanilla chain tends to
    rank one, c -> (1 - 1/sqrt(n))^2 + (n-1)/n, from c ~ n/d at a Gaussian input; meaningful while depth >~ d/2)."""
    cfg = _cfg("B18", profile)
    main, info = _b15_runs(cfg, device, seed)
    worst1, worst2 = -math.inf, -math.inf
    for df in (main, info):
        worst1 = max(worst1, float((df.coupling_w2_bound - df.n * df.orthogonality_gap**2).max()))
        g = df.assign(v2=df.orthogonality_gap**2).groupby(["width", "layer"])
        m = g.agg(v2=("v2", "mean"), v=("orthogonality_gap", "mean"), n=("n", "first"))
        worst2 = max(worst2, float((m.n * m.v2 - 2 * m.n * m.v).max()))
    record.check("max (c - n V^2) per sample", worst1, expected="<= 1e-12", tolerance="round-off",
                 passed=worst1 <= 1e-12)
    record.check("max (n E[V^2] - 2n E[V])", worst2, expected="<= 1e-12", tolerance="round-off", passed=worst2 <= 1e-12)
    n_c, d_c = cfg["info_n"], min(cfg["info_widths"])
    van = exp.bn_chain(n=n_c, widths=(d_c,), depth=cfg["depth"], runs=cfg["info_runs"], input="random", norm="none",
                       device=device, seed=seed)
    c = van.groupby("layer").coupling_w2_bound.mean()
    record.frame("vanilla_coupling", c.rename("mean_c").reset_index())
    record.check(f"vanilla n={n_c}, d={d_c}: mean c at layer 1 and last",
                 [round(float(c.loc[1]), 4), round(float(c.iloc[-1]), 4)],
                 expected="last > 2 x first (grows)", tolerance="control", passed=c.iloc[-1] > 2 * c.loc[1],
                 control=True)
    record.verify()


@pytest.mark.claim("B19", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b19_w2_radius_shrinks(record, profile, device, seed, components):
    """Corollary 3 / Table 1: the Gaussian-approximation radius shrinks with width, W_2^2 <~ d^{-1/2}. The explicit
    coupling cost c (an upper bound on W_2^2, Lemma 2), averaged over layers 30-60 and runs, against d in
    {64, 256, 1024, 4096} (n = 4, the B15 information runs): one-sided, the slope's 95% upper end <= -0.5 (the
    paper's claim). Also asserted, the coupling's own law: slope -1 (c ~ n V^2 and E[V^2] ~ 1/d; [C] -1.00: the
    corollary is valid but loose, W_2 ~ d^{-1/2}) within 3.29 SE (per-run slopes) + the floor model's slope error
    doubled for a squared quantity (was a fixed +-0.1 labelled informational).

    Negative control: without BN (vanilla chain from a near-rank-one input) c stays at the rank-one value
    (1 - 1/sqrt(n))^2 + (n-1)/n = 1 at every width (+-2%), slope > -0.5; the shrinkage comes from the BN layers."""
    cfg = _cfg("B19", profile)
    keys = ("n", "widths", "depth", "runs", "input")
    df = exp.bn_chain(norm=components.norm("bn"), device=device, seed=seed, **{k: cfg[k] for k in keys})
    plat = exp.plateau(df, cfg["plateau_from"], column="coupling_w2_bound")
    record.frame("plateau_c", plat.rename("mean_c").reset_index())
    fit = stats.slope(plat.index.to_numpy(), plat.to_numpy(), logx=True, logy=True)
    record.check("log-log slope of plateau c vs d", fit.slope, expected="95% upper end <= -0.5 (Cor. 3)",
                 tolerance=f"one-sided, upper end {fit.slope_high:.4f}", passed=fit.slope_high <= -0.5)
    per = df[df.layer >= cfg["plateau_from"]].groupby(["width", "seed"]).coupling_w2_bound.mean().unstack("seed")
    x = np.log(per.index.to_numpy(float))
    ps = np.array([np.polyfit(x, np.log(per[c].to_numpy()), 1)[0] for c in per.columns])
    tol, se, model = _slope_tolerance(ps, per.index.to_numpy(float), model_factor=2.0)
    record.check("slope of plateau c vs log d: the coupling's own law", fit.slope,
                 expected=f"-1 +- {tol:.3f} ([C] -1.00)",
                 tolerance=f"3.29 SE ({se:.4f}) + 2 x floor-model slope error ({model:.4f}); was a fixed +-0.1",
                 passed=abs(fit.slope + 1) <= tol,
                 note="c <= n V^2 and E[V^2] ~ floor^2 ~ 1/d: W_2 ~ d^{-1/2}, faster than Cor. 3's d^{-1/4}")
    van = exp.bn_chain(n=cfg["n"], widths=cfg["widths"], depth=cfg["depth"], runs=cfg["control_runs"],
                       input="collinear", norm="none", device=device, seed=seed)
    cv = exp.plateau(van, cfg["plateau_from"], column="coupling_w2_bound")
    ref = T.coupling_rank_one(cfg["n"])
    vs = stats.slope(cv.index.to_numpy(), cv.to_numpy(), logx=True, logy=True).slope
    record.check("vanilla near-rank-one: c / rank-one value, per width", (cv / ref).round(4).tolist(),
                 expected="1 +- 0.02, slope > -0.5", tolerance="control",
                 passed=bool(((cv / ref - 1).abs() <= 0.02).all()) and vs > -0.5, control=True)
    record.verify()


@pytest.mark.claim("B20", components=("norm",), mutants=BATCH_AXIS_IS_PAPER_BN)
def test_b20_gaussian_after_linear(record, profile, device, seed, components):
    """§4.1 / Table 1: after >= 30 BN layers the representation after the linear layer looks Gaussian: the d
    columns of sqrt(nd) (H_l/||H_l||_F) W_l^T are compared with a fresh N(0, I_n) sample by the unbiased energy
    distance (zero in expectation for equal laws), layers 30-39, literal MLP, n = 4, d in {64, 256}.

    Assertion (§4.1 / Table 1 read as "BN statistic << vanilla statistic"): the BN mean energy distance is below a
    quarter of the vanilla one at every width (measured ratios 0.00-0.10).
    Informational, not asserted: the BN statistic's z-score against 0 and its 95% upper confidence bound per width.
    The BN chain's departure from Gaussianity (a covariance n G_l != I of size ~ n V ~ d^{-1/2}, B19) gives an
    expected energy distance of ~0.005 at d = 64 and ~0.001 at d = 256, at or below one standard error here, so
    neither "exactly Gaussian" (z <= 3 fails a few % of seeds) nor "decreasing in d" (the UCBs cross in ~10% of
    seeds) can be asserted at a tolerable false-failure rate with this statistic.
    Negative control: the vanilla chain (no norm, same weights) is detectably non-Gaussian (lower 95% confidence
    bound of its mean > 0) at every width."""
    cfg = _cfg("B20", profile)
    df = record.frame("energy", exp.gaussianity(norm=components.norm("bn"), device=device, seed=seed, **cfg))
    widths = sorted(df.width.unique())
    ucb, zs, ok_ratio, ok_van, summary = [], [], True, True, []
    for d in widths:
        b = df[(df.width == d) & (df.arm == "bn")].energy.to_numpy()
        v = df[(df.width == d) & (df.arm == "vanilla")].energy.to_numpy()
        zs.append(round(float(b.mean() / (b.std(ddof=1) / math.sqrt(b.size))), 2))
        ok_ratio &= bool(b.mean() < 0.25 * v.mean())
        ok_van &= bool(stats.lower_confidence_bound(v) > 0)
        ucb.append(stats.upper_confidence_bound(b))
        summary.append([int(d), round(float(b.mean()), 5), round(float(v.mean()), 5)])
    record.check("[d, BN mean energy, vanilla mean energy]", summary, expected="BN mean < vanilla mean / 4",
                 tolerance="effect size (<<)", passed=ok_ratio)
    record.check("BN z-score against 0, per width", zs, expected="~0-1.5 (informational)",
                 tolerance="informational, not asserted", passed=True)
    record.check("BN 95% upper confidence bound per width", np.round(ucb, 5).tolist(),
                 expected="decreasing in d (informational)", tolerance="informational, not asserted", passed=True,
                 note="decreasing" if bool(np.all(np.diff(ucb) < 0)) else "not decreasing in this run")
    record.check("vanilla: lower confidence bound > 0 at every width", summary, expected="> 0", tolerance="control",
                 passed=ok_van, control=True)
    record.verify()
