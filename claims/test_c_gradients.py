"""Claims of paper C: Meterez, Joudaki, Orabona, Immer, Rätsch, Daneshmand, *Towards training without depth limits:
batch normalization without gradient explosion* (ICLR 2024, arXiv 2310.02012).

Layout: the paper's ``X`` (``d x n``) is rcbench's ``H = X^T`` (``n x d``); the isometry gap is
:func:`rcbench.metrics.isometry_gap` of ``H`` (sample Gram, whose spectrum equals the paper's ``X X^T`` when
``n = d``). Bracketed tags in the tolerances: [C] = the project's CPU calibration (its values are in the
provenance, ``rcbench/docs/claims/C.md``), [I] = our algebra.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from rcbench import stats
from rcbench.experiments import gradients as exp
from rcbench.theory import isometry as TI

EPS = float(np.finfo(np.float64).eps)

#: Scale grid for ``rcbench audit --scales`` (claim id -> ``--set`` override dicts), chosen from the paper's regime
#: before looking at results: the theory takes n = d (Theorems 1, 3, 5) with a non-degenerate input, so widths move
#: with the batch and the input dimension stays >= the batch; Fig. 1 uses d in {50, 100}, Figs. 2, 3, 5 d = n = 100
#: and depths to 1000, so the grid goes between the CPU point (d = n = 32) and the paper's, and deeper.
SCALES: dict[str, list[dict[str, object]]] = {
    "C4": [{"widths": (32,)}, {"samples": 5000}],
    "C5": [{"widths": (24, 48)}, {"widths": (16, 32), "depth": 200}],
    "C6": [{"widths": (24,)}, {"seeds": 10}],
    "C7": [{"width": 64, "batch": 64, "in_features": 128}, {"width": 48, "batch": 32},
           {"depths": (10, 50, 100, 200, 400, 800)}],
    "C8": [{"width": 64, "batch": 64, "distinct": 32, "in_features": 128}, {"seeds": 8}],
    "C9": [{"width": 64, "batch": 64, "in_features": 128}],
    "C10": [{"width": 64, "batch": 64, "in_features": 128}, {"depths": (10, 50, 100, 200, 400)}],
}


def _cfg(claim: str, profile: str) -> dict:
    return exp.config(claim, "quick" if profile == "quick" else "paper")


def _depth_means(df, by=()):
    """Mean log gradient norm over seeds per (by..., depth): a Series indexed by (by..., depth)."""
    return df.groupby([*by, "depth"]).log_grad.mean()


def _slope(means):
    """OLS slope of the depth means against depth (Fig. 3's 'linear in depth' reading)."""
    return stats.slope(np.asarray(means.index, float), means.to_numpy()).slope


def _roundoff(df, n_col, *kappa_cols):
    """Round-off bound of phi / log I from the eigenvalues: Weyl's bound |d lam_i| <= ||dG||_2 <= n eps lam_max
    (forming the Gram and the backward-stable eigensolver) gives |d mean log lam| <= n eps kappa per matrix, so
    ``16 n eps sum(kappa)``; the factor 16 covers the constants of both steps (measured max error / (n eps kappa)
    1.7 on C1 at master seeds 0-2, 0.3 on C2)."""
    kappa = sum(df[c] for c in kappa_cols)
    return 16 * df[n_col] * EPS * kappa


def _log_floor(log_range):
    """Round-off of evaluating ``log(mean lam) - mean(log lam)`` itself: each log is exact to ``eps |log lam|``, so
    ``4 eps (1 + max |log lam|)`` (two terms, a margin of 2). Independent of the condition number; it is what is
    left for a perfectly conditioned Gram (C1's scaled copies ``c H``, ``|log c^2|`` up to ~25)."""
    return 4 * EPS * (1 + log_range)


# ----------------------------------------------------------------------------------------------------------------
# C1-C4: exact statements and the one-step Monte Carlo
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("C1")
def test_c1_isometry_gap_definition(record, profile, device, seed):
    """Eq. 5 (§3): phi >= 0, phi = 0 iff the Gram is a scaled identity, phi = inf if rank-deficient; invariant to
    scale and to orthogonal mixing of features (paper ``W X`` = rcbench ``H W^T``).

    Tolerances: round-off only, as functions of each matrix's size n, condition number kappa and log-scale:
    ``|dphi| <= 16 n eps kappa + 4 eps (1 + max|log lam|)`` (Weyl bound :func:`_roundoff` plus the evaluation
    floor :func:`_log_floor`; the random matrices have log-normal feature scales, kappa up to ~1e12; measured max
    error / bound 0.06 at master seeds 0-2). A scaled (semi-)orthogonal ``c Q`` has kappa = 1, so its phi is below
    ``16 n eps + 4 eps (1 + |log c^2|)`` (measured max phi / (n eps) = 4). Replaces the absolute constants 1e-12
    (whole set; 1e-12 + the Weyl term), 1e-10 (kappa < 1e4, a subset the Weyl bound already covers) and the
    control's 1e-6, right only at d <= 40. Negative control: a generic non-orthogonal mixing ``A`` changes phi by
    more than the round-off bound.
    """
    df = record.frame("identities", exp.isometry_gap_identities(seed=seed, device=device, **_cfg("C1", profile)))
    tol = _roundoff(df, "n", "kappa") + _log_floor(df.log_range)
    record.check("min phi over generic H", df.phi.min(), expected="> 0 (not a scaled identity)",
                 tolerance="exact (AM > GM strictly)", passed=df.phi.min() > 0)
    tol_orth = 16 * df.n * EPS + _log_floor(df.log_range)
    record.check("max phi(c Q) / round-off bound, Q (semi-)orthogonal", (df.phi_orth / tol_orth).max(),
                 expected="<= 1", tolerance="16 n eps + 4 eps (1 + max|log lam|) (kappa = 1)",
                 passed=bool((df.phi_orth <= tol_orth).all()),
                 note=f"max phi(c Q) = {df.phi_orth.max():.3g}, "
                      f"max phi / (n eps) = {(df.phi_orth / (df.n * EPS)).max():.2f}")
    well = df.kappa < 1e4
    for col, what in (("phi_scaled", "phi(cH) - phi(H)"), ("phi_mixed", "phi(H W^T) - phi(H), W Haar"),
                      ("phi_svd", "eigvalsh route - svd route")):
        err = (df[col] - df.phi).abs()
        record.check(f"max |{what}| / round-off bound", (err / tol).max(), expected="<= 1",
                     tolerance="16 n eps kappa + 4 eps (1 + max|log lam|) (Weyl + log evaluation)",
                     passed=bool((err <= tol).all()),
                     note=f"max |error| {err.max():.3g}; on kappa < 1e4 {err[well].max() if well.any() else 0:.3g}")
    record.check("rank-deficient H: phi", "all inf" if np.isinf(df.phi_rankdef).all() else "finite values",
                 expected="inf", tolerance="exact", passed=bool(np.isinf(df.phi_rankdef).all()),
                 note=f"svd route (no null tolerance): min {df.phi_rankdef_svd.min():.3g}, "
                      f"{int(np.isinf(df.phi_rankdef_svd).sum())} of {len(df)} inf")
    change = (df.phi_nonorth - df.phi).abs()
    record.check("min |phi(H A^T) - phi(H)| / round-off bound, generic A", (change / tol).min(), expected="> 1",
                 tolerance="generic A is not an isometry: the change exceeds round-off",
                 passed=bool((change > tol).all()),
                 control=True, note=f"min |change| {change.min():.3g}")
    record.verify()


@pytest.mark.claim("C2")
def test_c2_bn_never_lowers_isometry(record, profile, device, seed):
    """Joudaki et al. 2023b / Lemma 2 (Eq. 7): ``I(BN X) >= (1 + Var(r)/mean(r)^2) I(X)`` (population variance of
    the feature norms ``r``), and exactly ``I(BN X)/I(X) = AM(r^2)/GM(r^2)`` (rcbench.theory.normalization).

    Deterministic (AM-GM). Tolerance: relative round-off ``16 d eps (kappa(X) + kappa(BN X))`` per matrix (Weyl
    bound on log-eigenvalues, :func:`_roundoff`; measured max error / (d eps sum kappa) 0.30 at master seeds 0-2).
    Replaces the constants 1e-10 (inequality slack, added to the bound) and 1e-9 (identity on kappa < 1e4), right
    only at d < 40 with this input law; the error on kappa < 1e4 is recorded. Negative controls: equal
    feature norms give factor 1; rescaling the features of a BN output by non-constant ``s`` lowers I by exactly
    ``GM(s^2)/AM(s^2) < 1`` (the reverse direction, [I]).
    """
    df = record.frame("lemma", exp.bn_isometry_lemma(seed=seed, device=device, **_cfg("C2", profile)))
    tol = _roundoff(df, "d", "kappa", "kappa_bn")
    ratio = df.gain / df.lower
    record.check("min I(BN X) / ((1 + Var(r)/mean(r)^2) I(X))", ratio.min(), expected=">= 1",
                 tolerance="1 - round-off bound; [C] min 1.00106",
                 passed=bool((ratio >= 1 - tol).all()),
                 note=f"ddof=1 variance (not guaranteed): min ratio {(df.gain / df.lower_ddof1).min():.7f}")
    err = (df.gain / df.am_gm - 1).abs()
    well = (df.kappa < 1e4) & (df.kappa_bn < 1e4)
    # A trial whose round-off bound is >= 1 has no significant digit of log I(X): at Gram condition ~1/(16 d eps)
    # the smallest eigenvalue can come out <= 0, I(X) = 0 and the gain +inf (master seed 54: d = 38, kappa 7.7e14,
    # bound 1e5, 1 of 2000 trials). Such trials cannot test the identity either way; they are counted, not judged.
    resolved = tol < 1
    record.check("max |gain / (AM(r^2)/GM(r^2)) - 1| / round-off bound", (err / tol)[resolved].max(), expected="<= 1",
                 tolerance="16 d eps (kappa + kappa_bn); trials with bound >= 1 unresolved",
                 passed=bool((err[resolved] <= tol[resolved]).all()),
                 note=f"{int((~resolved).sum())} of {len(df)} trials unresolved (round-off bound >= 1); max error on "
                      f"kappa < 1e4: {err[well].max() if well.any() else 0.0:.3g}")
    eq = (df.iso_bn_equal / df.iso_equal - 1).abs()
    tol_eq = _roundoff(df, "d", "kappa_bn", "kappa_bn")
    record.check("equal feature norms: max |I(BN X)/I(X) - 1|", eq.max(), expected="0 (factor 1)",
                 tolerance="round-off bound", passed=bool((eq <= tol_eq).all()), control=True)
    rev = df.iso_rescaled / df.iso_bn
    tol_rev = _roundoff(df, "d", "kappa_bn", "kappa_rescaled")
    record.check("rescaled BN output: max |I(BN(X) s)/I(BN X) / (GM(s^2)/AM(s^2)) - 1| / bound",
                 ((rev / df.gm_am_s - 1).abs() / tol_rev).max(), expected="<= 1 and I lowered (ratio < 1)",
                 tolerance="exact identity, round-off bound",
                 passed=bool(((rev / df.gm_am_s - 1).abs() <= tol_rev).all() and (rev < 1).all()), control=True)
    record.verify()


@pytest.mark.claim("C3")
def test_c3_rotation_to_perfect_isometry(record, profile, device, seed):
    """Corollary A.3: ``W = U^T`` (``U`` = eigenvectors of ``X X^T``, rcbench ``H^T H``) makes ``BN(W X)``
    perfectly isometric.

    Tolerance: round-off, per matrix ``4 eps + d (d eps kappa)^2`` with kappa the condition number of ``H^T H``:
    the backward-stable eigensolver leaves ``U^T G U`` diagonal up to ``d eps lam_max``, i.e. the normalised
    features orthogonal up to ``delta <= d eps kappa``; phi is second order in ``delta`` (``<= d delta^2``, the
    first-order terms of ``log mean lam - mean log lam`` cancel) plus the evaluation floor of logs of numbers near
    1 (``4 eps``, :func:`_log_floor`). Measured max phi 1.25 eps (max phi / bound 0.27, master seeds 0-2).
    Replaces the constant 1e-12 (right for the calibrated kappa <~ 1e10, d <= 40). Negative control: a
    Haar-random ``W`` leaves ``phi(BN(W X))`` above the same bound."""
    df = record.frame("rotation", exp.rotation_to_isometry(seed=seed, device=device, **_cfg("C3", profile)))
    tol = _log_floor(0.0) + df.d * (df.d * EPS * df.kappa) ** 2
    record.check("max phi(BN(U^T X)) / round-off bound", (df.phi_eig / tol).max(), expected="<= 1",
                 tolerance="4 eps + d (d eps kappa)^2 (eigensolver backward error, second order)",
                 passed=bool((df.phi_eig <= tol).all()),
                 note=f"max phi {df.phi_eig.max():.3g} = {df.phi_eig.max() / EPS:.2f} eps; max bound {tol.max():.3g}")
    record.check("min phi(BN(W X)) / round-off bound, W Haar", (df.phi_haar / tol).min(), expected="> 1",
                 tolerance="a random rotation does not whiten", passed=bool((df.phi_haar > tol).all()), control=True,
                 note=f"min phi {df.phi_haar.min():.3g}")
    record.verify()


@pytest.mark.claim("C4")
def test_c4_weingarten_gain(record, profile, device, seed):
    """Theorem 3 (Eq. 8) and Corollary 4 (Eq. 9), checked by Monte Carlo over Haar ``W``:
    ``mean I(BN(W X)) >= gain * I(X)`` and ``mean phi(BN(W X)) <= phi(X) + log(1 - sum(lam-1)^2/(2d^2(d+2)))``.

    Tolerance: one-sided z at a total false-failure rate 1e-3, Bonferroni over the K cases (widths x levels):
    ``z = Phi^{-1}(1 - 1e-3/K)`` (3.76 at the quick K = 12; was the constant 4 whatever K). Equality case:
    orthogonal ``X`` gives ``I = 1`` for every ``W``, to round-off ``4 eps + d (d eps)^2`` (phi of a Gram that is
    the identity up to ``d eps``: second order plus the log-evaluation floor, see C3; was the constant 1e-12).
    Negative control [I]: Gaussian ``W ~ N(0, 1/d)`` (not left-invariant on O_d) lowers the mean isometry of
    near-isometric ``X`` (eps <= 0.3), so the bound fails without Haar weights (z below ``-z``; the control draws
    ``samples / 10`` weights, 2000 at the quick profile).
    """
    cfg = _cfg("C4", profile)
    df = record.frame("haar", exp.weingarten_gain(seed=seed, device=device, **cfg))
    cases = df[df.eps > 0]
    zc = float(scipy_stats.norm.ppf(1 - 1e-3 / len(cases)))
    z_iso = (cases.mean_iso - cases.gain * cases.iso_x) / cases.se_iso
    z_phi = (cases.phi_x + cases.phi_drop - cases.mean_phi) / cases.se_phi
    emp = cases.mean_iso / cases.iso_x
    record.check("min over cases (mean I' - gain I) / SE", z_iso.min(), expected=f">= -{zc:.2f}",
                 tolerance=f"one-sided z = Phi^-1(1 - 1e-3/{len(cases)})", passed=bool((z_iso >= -zc).all()),
                 note=f"empirical gain {emp.min():.5f}-{emp.max():.4f} vs Theorem 3 factor "
                      f"{cases.gain.min():.6f}-{cases.gain.max():.4f} ([C] 1.0007-1.22 vs 1.00002-1.022)")
    record.check("min over cases (phi + log(1 - ...) - mean phi') / SE", z_phi.min(), expected=f">= -{zc:.2f}",
                 tolerance=f"one-sided z = Phi^-1(1 - 1e-3/{len(cases)})", passed=bool((z_phi >= -zc).all()))
    eq = df[df.eps == 0]
    dev = np.maximum((1 - eq.min_iso).abs(), (1 - eq.max_iso).abs())
    tol_eq = 4 * EPS + eq.width * (eq.width * EPS) ** 2
    # measured as the raw deviation: it sits at the float64 quantum (1 eps in master seeds 0-2, 101, 102), which the
    # reseed audit counts as discrete; its ratio to the bound (0.25) would look like a hidden seed
    record.check("orthogonal X: max |1 - I(BN(W X))|", float(dev.max()),
                 expected=f"<= 4 eps + d (d eps)^2 = {float(tol_eq.min()):.3g} ... {float(tol_eq.max()):.3g}",
                 tolerance="round-off (equality)", passed=bool((dev <= tol_eq).all()))
    ctl = exp.weingarten_gain(seed=seed + 1, device=device, **{**cfg, "samples": max(cfg["samples"] // 10, 2)},
                              weights="gaussian")
    record.frame("gaussian_control", ctl)
    near = ctl[(ctl.eps > 0) & (ctl.eps <= 0.3)]
    z_ctl = (near.mean_iso - near.gain * near.iso_x) / near.se_iso
    record.check("Gaussian W, eps <= 0.3: max (mean I' - gain I) / SE", z_ctl.max(),
                 expected=f"< -{zc:.2f} (bound fails)", tolerance="the same z", passed=bool((z_ctl < -zc).all()),
                 control=True)
    record.verify()


# ----------------------------------------------------------------------------------------------------------------
# C5, C6: forward isometry gap (Theorem 1, Fig. 1)
# ----------------------------------------------------------------------------------------------------------------
#: the measured near-isometry rate of phi per layer is r ~ 2/d ([C] r d = 1.93, 1.95, 2.00, 2.04 at d = 16, 32, 50,
#: 100; Theorem 1 guarantees only ~1/(d(d+2)), Corollary 4): ``phi_L/phi_0 < exp(-_C5_RD_MIN L/d)`` asserts at least
#: 75 % of that rate (r d >= 1.5; the old per-width constants 1e-4 at d = 16 and 1e-2 at d = 32, L = 100, were this
#: bound at r d = 1.47 and 1.47, but defined only at those two widths), and the paper-scale target is
#: ``phi_0 exp(-2 L/d)`` within x3 (it reproduces the [C] calibration's 3.7e-6 at d = 50 and 5.1e-5 at d = 100,
#: Fig. 1's widths, from phi_0 = 1.886e-4, 4.022e-4, which were given at those widths only).
_C5_RD_MIN, _C5_RD = 1.5, 2.0


@pytest.mark.claim("C5", components=("norm",),
                   mutants={"batch_axis_norm": "sound: every feature to unit mean square over the batch is the "
                            "authors' sqrt(n)-scaled BN (Eq. 4 up to a constant, which phi ignores)"})
def test_c5_forward_rate(record, profile, device, seed, components):
    """Theorem 1 (Eq. 6): with Haar weights, Eq.-4 BN and a non-degenerate input (the authors' Fig. 1 input
    ``(1-f) I + f u v^T``), mean phi decays exponentially with depth, more slowly for wider nets.

    Directional in its constant (C is not given): (a) log-linear fit of mean phi, rate r > 0, R^2 > 0.95;
    (b) phi_L/phi_0 < exp(-1.5 L/d) at every width (was 1e-4 at d = 16, 1e-2 at d = 32 only; see _C5_RD_MIN),
    paper scale also mean phi_L = phi_0 exp(-2 L/d) within x3; (c) r(d1)/r(d2) within 25 % of d2/d1 (rate
    ~ 2/d, [C] 1.98 for 16/32; our observation); (d) a finite C_min(d) for the paper's statement
    ``phi_{l+1} <= phi_0 e^{-l/k}``, non-increasing in d. The authors' plotted C = 0.015 is recorded, asserted only
    at paper scale (d = 50, 100), where [C] found it holds; it fails at d <= 32 [C]. Negative controls: W_l = I
    (no rotation) leaves phi constant after the first BN [I, exact]; a degenerate input keeps phi = inf.
    """
    cfg = _cfg("C5", profile)
    norm = components.norm("bn")
    df = record.frame("phi", exp.forward_isometry(norm=norm, seed=seed, device=device, **cfg))
    mean = df.groupby(["width", "layer"]).isometry_gap.mean().unstack(0)
    rates, cmins = {}, {}
    for d in mean.columns:
        phi = mean[d]
        finite = bool(np.isfinite(phi.to_numpy()).all() and (phi > 0).all())
        record.check(f"d={d}: mean phi finite and > 0 at every layer", finite, expected=True,
                     tolerance="non-degenerate representations (a norm that makes the n = d Gram singular, e.g. "
                     "mean-centring, gives phi = inf)", passed=finite)
        if not finite:
            continue
        fit = stats.slope(phi.index, phi.to_numpy(), logy=True)
        rates[d] = -fit.slope
        record.check(f"d={d}: fitted rate r (r*d) and R^2", [rates[d], rates[d] * d, fit.r2],
                     expected="r > 0, R^2 > 0.95", tolerance="[C] r*d = 1.93 (16), 1.95 (32), 2.00 (50), 2.04 (100)",
                     passed=rates[d] > 0 and fit.r2 > 0.95)
        ratio = phi.iloc[-1] / phi.iloc[0]
        L = int(phi.index[-1])
        lim = math.exp(-_C5_RD_MIN * L / d)
        record.check(f"d={d}: phi_L/phi_0", ratio, expected=f"< exp(-1.5 L/d) = {lim:.3g}",
                     tolerance="rate >= 75% of the measured 2/d; [C] 5.2e-6 (16), 2.1e-3 (32)", passed=ratio < lim)
        if profile != "quick":
            target = float(phi.iloc[0]) * math.exp(-_C5_RD * L / d)
            record.check(f"d={d}: mean phi_{L}", phi.iloc[-1], expected=f"phi_0 exp(-2 L/d) = {target:.3g} within x3",
                         tolerance="[C] 3.7e-6 (50), 5.1e-5 (100)", passed=target / 3 <= phi.iloc[-1] <= 3 * target)
        phi0 = float(phi.iloc[0])
        bound = TI.theorem1_bound(phi.index, d, phi0)
        worst = float(np.max(phi.to_numpy() / bound))
        at_scale = d >= 50
        record.check(f"d={d}: max_l mean phi_l / authors' C=0.015 curve", worst,
                     expected="<= 1 (asserted for d >= 50 only)" if at_scale else "informational (fails for d <= 32)",
                     tolerance="[C] 1.000 at d = 50, 100; 1.4 (32), 1e6 (16)",
                     passed=(worst <= 1 + 4 * EPS) if at_scale else True)  # = 1 exactly at l = 0 (bound = phi_0)
        cmins[d] = TI.theorem1_min_constant(phi.index, phi.to_numpy(), d, phi0, shift=1)
    ds = sorted(rates)
    for d1, d2 in zip(ds, ds[1:]):
        rr = rates[d1] / rates[d2]
        record.check(f"rate ratio r({d1})/r({d2})", rr, expected=f"{d2 / d1:g} +- 25%", tolerance="[C] 1.98 for 16/32",
                     passed=0.75 * d2 / d1 <= rr <= 1.25 * d2 / d1)
    cvals = [cmins[d] for d in ds]
    record.check("C_min(d) (Theorem 1 as stated)", cvals, expected="finite, non-increasing in d",
                 tolerance="exact given the means", passed=all(math.isfinite(c) for c in cvals)
                 and all(a >= b for a, b in zip(cvals, cvals[1:])))
    # negative controls (paper's BN, no override)
    ctl = exp.forward_isometry(init=exp.IDENTITY_INIT, seed=seed, device=device, **cfg)
    record.frame("identity_weights", ctl)
    m = ctl.groupby(["width", "layer"]).isometry_gap.mean().unstack(0)
    # BN is idempotent: phi_l = phi_1 up to the evaluation round-off of phi of a near-identity Gram, 4 eps
    # (:func:`_log_floor`, |log lam| ~ 0); was the relative constant 1e-8 (1e-12 absolute at phi_1 ~ 1e-4, i.e.
    # 4500 eps, and a different absolute bound at every phi_1). Measured max 0.27 eps (master seeds 0-2, d <= 100).
    drift = float((m.iloc[1:] - m.iloc[1]).abs().max().max())
    record.check("W_l = I: max_l>=1 |phi_l - phi_1| / eps", drift / EPS, expected="<= 4 (BN is idempotent)",
                 tolerance="4 eps evaluation floor of phi near isometry", passed=drift <= _log_floor(0.0),
                 control=True, note=f"phi_1 = {', '.join(f'{v:.3g}' for v in m.iloc[1])}")
    deg = exp.forward_isometry(input="degenerate", seed=seed, device=device, **{**cfg, "seeds": 2})
    record.check("degenerate X_0: phi at every layer", "all inf" if np.isinf(deg.isometry_gap).all() else "finite",
                 expected="inf", tolerance="rank cannot be raised", passed=bool(np.isinf(deg.isometry_gap).all()),
                 control=True)
    record.verify()


@pytest.mark.claim("C6", components=("init",),
                   mutants={"orthogonal_init": "sound control: Haar weights are Theorem 1's own weights"})
def test_c6_generic_inputs(record, profile, device, seed, components):
    """Theorem 1 for a generic input: Gaussian ``X_0`` (n = d, phi_0 ~ 1) with Haar weights still reaches isometry.

    Statistic (a function of d and L, replacing the constants phi_L < 1e-6 and "phi_L >= 1e-3 in at most one seed",
    which were right at d <= 32, L = 400 only: at d = 100, L = 400 the calibration has phi = 0.066, and at d = 16
    phi reaches the float64 floor by l ~ 250, so the old geometric mean sat at eps in every master seed): the
    per-seed contraction rate in units of 1/d, ``rho_s = d log(phi_0 / phi_l*) / l*``, with ``l*`` = L or the
    first layer where phi falls below 1000 x its round-off bound near isometry (``1000 (16 d + 4) eps``, see
    C1/C3: below it round-off would be > 0.1 % of phi), so a seed that reached round-off is judged on its
    trajectory above it. Theorem 1 gives a rate ``1/k``, ``k = C d^2 (1 + d phi_0)``, with C unknown (directional);
    measured: near isometry rho ~ 2 (C5, [C] 1.93-2.04), far from it rho ~ 0.7 ([C] 0.68-0.72 at d = 32, 100),
    so the mean over a fixed depth falls with d / L (ours, 60 seeds: mean rho 1.63 / 1.63 / 1.58 at d = 16 / 24 /
    32, L = 400, minimum 1.14; d = 64: mean 0.93, min 0.46 of 6). Asserted: mean over seeds of rho_s >= 0.5 (the
    far-from-isometry rate with margin 0.7, i.e. phi_L <= phi_0 exp(-0.5 L / d) in geometric mean) and all seeds
    but at most one with rho_s >= 0.25 (half of it). Why at most one (changed after the 20-reseed audit): a square
    Gaussian input has a heavy-tailed smallest singular value, so a few seeds contract slowly; measured over 400
    seeds at d = 32, L = 400: one seed with phi_L = 0.033 (rho 0.27), none else below rho 0.55 (per-seed tail
    p ~ 1/400: "at most one of S" fails ~ S^2 p^2 / 2 < 0.1 % at S <= 10).
    Contrast, our observation and not a paper claim: Gaussian ``N(0, 1/d)`` weights with n = d lose
    isometry, mean phi > 5 by l = 50 ([C] 30-35; numerically singular, inf, here, in every master seed: a
    saturated value, which the reseed audit counts as discrete).
    """
    cfg = _cfg("C6", profile)
    init = components.init("orthogonal")
    df = record.frame("haar", exp.forward_isometry(input="gaussian", init=init, seed=seed, device=device, **cfg))
    L = cfg["depth"]
    for d, grp in df.groupby("width"):
        floor = 1000 * (16 * d + 4) * EPS
        phi = grp.pivot(index="layer", columns="seed", values="isometry_gap")
        rho, stops = [], []
        for s in phi.columns:
            p = phi[s].to_numpy()
            below = np.nonzero(~(p > floor))[0]  # NaN/inf-free by construction; a 0 (clamped) counts as below
            lstar = int(below[0]) if len(below) else L
            rho.append(d * math.log(p[0] / max(p[lstar], EPS)) / lstar if lstar > 0 else math.inf)
            stops.append(lstar)
        rho = np.asarray(rho)
        record.check(f"d={d}: mean over seeds of rho = d log(phi_0/phi_l*) / l*", float(rho.mean()),
                     expected=">= 0.5", tolerance="far-from-isometry rate ~0.7/d ([C]) with margin 0.7; ours mean "
                     "1.58-1.63 at d <= 32, 0.93 at d = 64 (L = 400)", passed=bool(rho.mean() >= 0.5),
                     note=f"l* per seed {stops} (floor {floor:.2g}); phi_{L}: geometric mean "
                          f"{float(np.exp(np.log(phi.loc[L].clip(lower=EPS)).mean())):.3g}")
        slow = int((rho < 0.25).sum())
        record.check(f"d={d}: seeds with rho < 0.25", f"{slow} of {len(rho)}", expected="<= 1",
                     tolerance="all but at most one seed contract at >= half the far rate (per-seed tail ~1/400)",
                     passed=slow <= 1, note="rho per seed " + ", ".join(f"{r:.2f}" for r in rho))
    l_ctl = min(50, L)  # Gaussian weights lose isometry within ~10 layers ([C] phi = 10 by l = 10)
    ctl = exp.forward_isometry(input="gaussian", init="gaussian", seed=seed, device=device, **{**cfg, "depth": l_ctl})
    record.frame("gaussian_weights", ctl)
    at50 = ctl[ctl.layer == l_ctl].groupby("width").isometry_gap.mean()
    record.check(f"Gaussian weights: mean phi_{l_ctl} per width", at50.tolist(), expected="> 5",
                 tolerance="[C] 30-35 (>= 6x)", passed=bool((at50 > 5).all()), control=True)
    record.verify()


# ----------------------------------------------------------------------------------------------------------------
# C7-C10: gradients at initialisation (Theorem 5, Figs. 2, 3, 5, G6)
# ----------------------------------------------------------------------------------------------------------------
def _paper_inputs(cfg, data_root, seed):
    """A real CIFAR-10 batch per seed when ``--data-root`` holds CIFAR-10 and the sizes match, else ``None``
    (i.i.d. Gaussian batches: the CPU substitute for Fig. 3's CIFAR-10 batch)."""
    if data_root is None or cfg["in_features"] != 3072:
        return None
    import torch

    from rcbench.data import load

    data = load("cifar10", data_root)
    return torch.stack([data.subset(cfg["batch"], seed=seed * 1000 + s).x for s in range(cfg["seeds"])])


def _slope_se(df, means):
    """Standard error of the OLS slope of the depth means from the seed spread: the depths are independent nets, so
    ``Var(slope) = sum_i w_i^2 s_i^2 / S_i`` with OLS weights ``w_i = (L_i - mean L) / sum (L - mean L)^2`` and
    ``s_i`` the seed SD at depth ``L_i`` (``S_i`` seeds)."""
    L = np.asarray(means.index, float)
    w = (L - L.mean()) / ((L - L.mean()) ** 2).sum()
    g = df.groupby("depth").log_grad
    var = (g.var(ddof=1) / g.count()).reindex(means.index).to_numpy()
    return float(np.sqrt(np.sum(w**2 * var)))


def _t_quantile(k: int, dof: int, false_failure: float = 1e-3) -> float:
    """Two-sided Student-t quantile for ``k`` simultaneous comparisons at a total false-failure rate (Bonferroni)."""
    return float(scipy_stats.t.ppf(1 - false_failure / (2 * k), max(dof, 1)))


def _c7_regime(cfg):
    """C7's regime (Theorem 5): a non-degenerate input batch, i.e. ``batch <= in_features`` (else the input has rank
    ``in_features < n`` and phi(X_0) = inf: that is C8's degenerate case, where gradients do explode), and
    ``batch <= width`` (else the first hidden layer, ``n x width``, is rank-deficient)."""
    n, d, k = cfg["batch"], cfg["width"], cfg["in_features"]
    if n > k or n > d:
        raise ValueError(f"C7 needs batch <= in_features and batch <= width (a non-degenerate batch, Theorem 5); "
                         f"got batch={n}, in_features={k}, width={d}")


@pytest.mark.claim("C7", components=("init",),
                   mutants={"orthogonal_init": "sound control: Haar weights are the claim's own weights"})
def test_c7_bounded_gradients_orthogonal(record, profile, device, seed, data_root, components):
    """Theorem 5 (Eq. 10) / Fig. 3: with Haar weights and BN (the code's sqrt(n)-scaled BN without mean, identity
    activation, no bias), ``log ||grad_{W_1} L||_F`` (``fc_1``) is flat in depth; Gaussian (xavier_normal) weights
    make it grow linearly (exponential explosion).

    Directional (the bound's constant is unknown), so both arms are judged against one separation slope derived
    from the Gaussian arm's mean-field explosion rate at this batch size B (:func:`rcbench.theory.isometry.
    mean_field_gradient_slope`, gradient independence, width -> infinity): ``m(B) = 0.5 log((B-1)/(B-2))``
    (0.0164 at B = 32, 0.0051 at B = 100) and ``s* = m(B) / 2``. Orthogonal: ``|slope| < s*`` and every depth
    mean within ``s* (L - L_min) + t SE(L)`` of ``mean(L_min)`` (no rise as large as a net exploding at the
    separation rate would show, beyond the seed noise of the two means at false-failure 1e-3, Bonferroni over
    depths). Gaussian (the negative control): ``slope > s*`` and ``mean(L_max) - mean(L_min) > s* (L_max -
    L_min)``. The two arms' bounds coincide, so no run passes both as flat and as exploding. Finite-width Gaussian
    nets explode faster than m(B) (ours: 0.93-1.04 m at d = n = 32, 1.15-1.27 m at 64; [C] 1.9 m at 100 over
    L <= 1000), so the control's margin is >= m/2; its noise: the slope's standard error from the seed spread
    (:func:`_slope_se`, recorded as a z-score) is ~0.002 at B = 32, 5 seeds (z ~ 4, normal false-failure ~3e-5);
    the orthogonal arm's SE is ~1e-4 (measured |slope| <= 2e-4 at d = 32, 64).
    Replaces constants tuned at d = n = 32 / 100: |slope| < 2e-3, spread < 0.5 (quick) / +-0.3 (paper) and
    Gaussian rise > 3, slope > 5e-3 (quick) / mean(1000) >= 7, slope in [0.005, 0.015] (paper). They were wrong
    off the calibrated point: the Gaussian rate shrinks like 1/(2B), so at d = n = 64 the rise over L <= 400 is
    ~3.6-4.0 (at the edge of > 3) and at B >= 250 a Gaussian net (m < 2e-3) would pass the orthogonal |slope|
    bound; the 0.015 upper end was a fit to one calibration, not a property of explosion.
    Regime: ``batch <= in_features`` and ``batch <= width`` (:func:`_c7_regime`; measured at d = n = 128 with
    64 input features, the rank-64 batch makes the orthogonal slope 0.0041: C8's degenerate case).
    No norm is declared: with orthogonal weights and the identity activation the net without any normalisation
    is itself an isometry, so every norm mutant (identity, scalar rescale, wrong axis) keeps the gradient flat
    (measured, see the mutation table): the claim does not depend on the norm in this configuration.
    """
    cfg = _cfg("C7", profile)
    _c7_regime(cfg)
    x = _paper_inputs(cfg, data_root, seed)
    init = components.init("orthogonal")
    mf = TI.mean_field_gradient_slope(cfg["batch"])
    s_star = mf / 2
    orth = record.frame("orthogonal", exp.gradient_sweep(init=init, norm="bn_rms", inputs=x, seed=seed,
                                                         device=device, **cfg))
    mo = _depth_means(orth)
    so, se_o = _slope(mo), _slope_se(orth, mo)
    L0 = mo.index[0]
    record.check("orthogonal: slope of mean log-grad per layer", so, expected=f"|slope| < s* = {s_star:.5f}",
                 tolerance="s* = m(B)/2, m(B) = 0.5 log((B-1)/(B-2)) (mean field, B = batch); [C] <= 1.1e-4 "
                 "(d=32), -4e-5 (d=100)", passed=abs(so) < s_star,
                 note="depth means " + ", ".join(f"{L}: {v:.3f}" for L, v in mo.items())
                      + f"; slope SE {se_o:.2e}, (s* - |slope|)/SE = {(s_star - abs(so)) / se_o:.1f}")
    # allowance per depth: the rise at the separation slope plus the noise of the difference of two depth means,
    # t_{1 - alpha/(2(K-1)), sum(S-1)} * sqrt(s_L^2/S + s_L0^2/S) (Bonferroni over the K-1 depths, alpha = 1e-3):
    # without it a depth next to L_min (paper grid 5, 10: s* x 5 = 0.013) would fail on seed noise alone
    g = orth.groupby("depth").log_grad
    var_mean = (g.var(ddof=1) / g.count()).reindex(mo.index)
    tq = _t_quantile(len(mo) - 1, int((g.count() - 1).sum()))
    allow = s_star * (np.asarray(mo.index, float) - L0) + tq * np.sqrt(var_mean + var_mean.iloc[0])
    excess = float(((mo - mo.iloc[0]).abs() - allow).iloc[1:].max())
    record.check(f"orthogonal: max_L |mean(L) - mean({L0})| - allowance(L)", excess, expected="< 0",
                 tolerance=f"allowance s* (L - {L0}) + t SE (t = {tq:.2f}, false-failure 1e-3); [C] +-0.07 (d=100), "
                 "spread ~0.1 (d=32)", passed=excess < 0,
                 note=f"max |mean(L) - mean({L0})| = {float((mo - mo.iloc[0]).abs().max()):.3f}")
    # "bounded" is only a statement about a gradient that carries signal: a Haar-weight net is an isometry on the
    # input's span, so log ||grad|| stays O(1) ([C] -0.04..0.07 at d = n = 32). A weight law that kills the
    # gradient (rcbench.mutants:low_rank_init: rank-one weights, log-grad -31.6, i.e. at float64 round-off) would
    # pass the flatness checks vacuously; the floor 0.5 log(eps) = -18.0 is where a float64 gradient has lost half
    # its digits, independent of the sizes.
    floor = 0.5 * math.log(np.finfo(np.float64).eps)
    lowest = float(mo.min())
    record.check("orthogonal: min over depths of mean log-grad (not vanished)", lowest,
                 expected=f"> 0.5 log(eps) = {floor:.1f}", tolerance="half the float64 digits; [C] -0.04 (d = n = 32)",
                 passed=lowest > floor)
    gauss = record.frame("gaussian", exp.gradient_sweep(init="xavier_normal", norm="bn_rms", inputs=x, seed=seed,
                                                        device=device, **cfg))
    mg = _depth_means(gauss)
    sg, se_g = _slope(mg), _slope_se(gauss, mg)
    dL = float(mg.index[-1] - mg.index[0])
    rise = float(mg.iloc[-1] - mg.iloc[0])
    note = ("depth means " + ", ".join(f"{L}: {v:.3f}" for L, v in mg.items())
            + f"; mean-field slope m(B) = {mf:.5f}, measured / m = {sg / mf:.2f}")
    record.check("Gaussian: slope per layer", sg, expected=f"> s* = {s_star:.5f}",
                 tolerance="m(B)/2; [C] 0.0157-0.0165 at B = 32 (m 0.0164), 0.0095 at B = 100 (m 0.0051)",
                 passed=sg > s_star, control=True, note=note + f"; slope SE {se_g:.2e}, z = {(sg - s_star) / se_g:.1f}")
    record.check("Gaussian: mean(L_max) - mean(L_min)", rise, expected=f"> s* (L_max - L_min) = {s_star * dL:.3f}",
                 tolerance="the rise at the separation slope; [C] 5.9-6.3 (B = 32, L <= 400), 9.44 (B = 100, "
                 "L <= 1000)", passed=rise > s_star * dL, control=True)
    record.verify()


@pytest.mark.claim("C8")
def test_c8_degenerate_batches(record, profile, device, seed):
    """Remark 1 / Fig. 2: repeated samples make orthogonal-weight gradients explode; near-degenerate batches
    (copies perturbed by eps) plateau at a level that rises as eps falls (Theorem 5's phi(X_0) dependence).

    Directional ("degenerate" is not quantified). "Explodes" and "stays bounded" are judged against C7's separation
    slope ``s* = m(B)/2`` (``m(B) = 0.5 log((B-1)/(B-2))``, the mean-field rate of a Gaussian-weight BN net at batch
    B): exact duplicates slope > s* ([C] 0.0174 at d = n = 32, s* = 0.0082) and mean(L_max) - mean(L_max/2) >
    s* (L_max - L_max/2) ([C] 7.8 vs 3.3); with an independent batch in the grid (paper profile) degenerate -
    non-degenerate at L_max > s* (L_max - L_min) ([C] 22.6 at d = n = 100, L = 1000); eps > 0: |mean(L_max) -
    mean(L_max/2)| below the same rise plus the seed noise of the two means (t at false-failure 1e-3, Bonferroni;
    [C] <= 0.4); plateau (mean of the last two depths) strictly increasing as eps falls ([C] 0.14, 0.87, 2.0, 2.9).
    Replaces constants tuned at d = 32 / 100: slope > 0.01, jump > 4, drift < 0.5, mean(1000) > 15, gap > 10,
    independent < 0.5 / < 0.3 (the explosion rate shrinks like 1/(2B), so they do not transfer). Negative control:
    an independent batch (eps = inf) stays flat (|mean(L_max) - mean(L_min)| below the separation rise plus noise).
    """
    cfg = _cfg("C8", profile)
    df = record.frame("degenerate", exp.degenerate_batches(seed=seed, device=device, **cfg))
    m = df.groupby(["eps", "depth"]).log_grad.mean().unstack(-1)
    depths = list(m.columns)
    L_max, L_min = depths[-1], depths[0]
    half = min(depths, key=lambda L: abs(L - L_max / 2))
    s_star = TI.mean_field_gradient_slope(cfg["batch"]) / 2  # C7's separation slope at this batch size
    levels = sorted(m.index)
    tq = _t_quantile(len(levels) * 2, int((df.groupby(["eps", "depth"]).log_grad.count() - 1).sum()))

    def allowance(eps, La, Lb):
        """s* |La - Lb| plus the seed noise of the difference of the two depth means (see C7)."""
        g = df[df.eps == eps].groupby("depth").log_grad
        v = g.var(ddof=1) / g.count()
        return s_star * abs(La - Lb) + tq * math.sqrt(v[La] + v[Lb])

    dup = m.loc[0.0]
    s_dup = stats.slope(np.asarray(depths, float), dup.to_numpy()).slope
    record.check("exact duplicates: slope per layer", s_dup, expected=f"> s* = {s_star:.5f}",
                 tolerance="C7's separation slope m(B)/2; [C] 0.0174 (d=32)", passed=s_dup > s_star,
                 note="depth means " + ", ".join(f"{L}: {v:.2f}" for L, v in dup.items()))
    jump = float(dup[L_max] - dup[half])
    record.check(f"exact duplicates: mean({L_max}) - mean({half})", jump,
                 expected=f"> s* ({L_max} - {half}) = {s_star * (L_max - half):.3f}", tolerance="[C] 7.8 (d=32)",
                 passed=jump > s_star * (L_max - half))
    if math.inf in m.index:
        gap = float(dup[L_max] - m.loc[math.inf][L_max])
        record.check("degenerate - non-degenerate at L_max", gap,
                     expected=f"> s* (L_max - L_min) = {s_star * (L_max - L_min):.3f}",
                     tolerance="the rise at the separation slope; [C] 22.6 vs -0.02 (d=100, L=1000)",
                     passed=gap > s_star * (L_max - L_min))
    near = [e for e in sorted(m.index, reverse=True) if 0 < e < math.inf]
    if near:
        drift = {e: float(m.loc[e][L_max] - m.loc[e][half]) for e in near}
        worst = max(abs(v) - allowance(e, L_max, half) for e, v in drift.items())
        record.check(f"eps > 0: max_eps |mean({L_max}) - mean({half})| - allowance", worst, expected="< 0",
                     tolerance=f"allowance s* ({L_max} - {half}) + t SE (t = {tq:.2f}, false-failure 1e-3); "
                     "[C] drift <= 0.4", passed=worst < 0,
                     note="drifts " + ", ".join(f"{e:g}: {v:.3f}" for e, v in drift.items()))
        plateau = [float(m.loc[e][depths[-2:]].mean()) for e in near]
        phi_in = df.groupby("eps").phi_input.mean()
        record.check("plateau level for eps = " + ", ".join(f"{e:g}" for e in near), plateau,
                     expected="strictly increasing", tolerance="[C] 0.14, 0.87, 2.0, 2.9",
                     passed=all(a < b for a, b in zip(plateau, plateau[1:])),
                     note="mean phi(X_0): " + ", ".join(f"{e:g}: {phi_in[e]:.2f}" for e in near))
    ind = m.loc[math.inf]
    flat = float(abs(ind[L_max] - ind[L_min]))
    record.check("independent batch: |mean(L_max) - mean(L_min)| - allowance", flat - allowance(math.inf, L_max, L_min),
                 expected="< 0", tolerance="allowance s* (L_max - L_min) + t SE; [C] -0.02 at L=1000 (d=100)",
                 passed=flat < allowance(math.inf, L_max, L_min), control=True, note=f"|difference| = {flat:.3f}")
    record.verify()


@pytest.mark.claim("C9")
def test_c9_mean_reduction(record, profile, device, seed):
    """§3 remark / Fig. G6: standard mean-centred BN (torch ``BatchNorm1d``) also keeps orthogonal-weight gradients
    bounded, while Gaussian weights explode. Gradients of ``fc_0`` (W_0, the mean-reduction notebook) and ``fc_1``.

    Directional. Rise = mean(L_max) - mean(L_min) of the log gradient norm, judged against C7's separation slope
    for centred BN, ``s* = m_c(B)/2``, ``m_c(B) = 0.5 log((B-2)/(B-3))`` (0.0085 at B = 32, 0.0026 at B = 100):
    orthogonal rise < s* (L_max - L_min) + t SE (seed noise of the two means, false-failure 1e-3, Bonferroni over
    the two weights); Gaussian (negative control) rise > s* (L_max - L_min); and orthogonal rise < 1/2 the Gaussian
    rise (at the separation slope a net rises half as much as one at the mean-field rate). Measured: orthogonal
    W_1 ~0.2 at d = 32, 0.00 at d = 100; W_0 0.56-0.86 at d = 32 (seed SD 0.6 at L = 400), 1.00 at d = 100 (one
    seed 1.7 -> 3.4), [C] 0.63; Gaussian 5.2-6.4 (d = 32), 8.3-9.2 (d = 100); ratio <= 0.14.
    Replaces constants tuned at d = 32 / 100: W_1 rise < 1.0, W_0 rise < 1.5, ratio < 0.25, Gaussian rise > 3.
    No norm is declared (it was): the orthogonal arm is an isometry with or without a normalisation (identity
    activation, orthogonal weights), so every norm mutant kept the verdict (mutation audit: identity, scalar
    rescale, feature axis, batch axis all passed); the claim is about torch's centred BN, which it uses.
    """
    cfg = _cfg("C9", profile)
    s_star = TI.mean_field_gradient_slope(cfg["batch"], centered=True) / 2
    orth = record.frame("orthogonal", exp.gradient_sweep(init="orthogonal", norm="batchnorm1d", weights=(0, 1),
                                                         seed=seed, device=device, **cfg))
    gauss = record.frame("gaussian", exp.gradient_sweep(init="xavier_normal", norm="batchnorm1d", weights=(0, 1),
                                                        seed=seed, device=device, **cfg))
    mo = _depth_means(orth, ["weight"]).unstack(-1)
    mg = _depth_means(gauss, ["weight"]).unstack(-1)
    depths = list(mo.columns)
    dL = float(depths[-1] - depths[0])
    tq = _t_quantile(len(mo.index), int((orth.groupby(["weight", "depth"]).log_grad.count() - 1).sum()))
    for w in mo.index:
        ro, rg = float(mo.loc[w].iloc[-1] - mo.loc[w].iloc[0]), float(mg.loc[w].iloc[-1] - mg.loc[w].iloc[0])
        g = orth[orth.weight == w].groupby("depth").log_grad
        v = g.var(ddof=1) / g.count()
        allow = s_star * dL + tq * math.sqrt(v[depths[-1]] + v[depths[0]])
        record.check(f"orthogonal W_{w}: mean(L_max) - mean(L_min)", ro, expected=f"< s* dL + t SE = {allow:.3f}",
                     tolerance="s* = m_c(B)/2; ours d=100: 1.00 (W_0), 0.00 (W_1); d=32: 0.56-0.86 (W_0), 0.2 (W_1)",
                     passed=ro < allow, note="depth means " + ", ".join(f"{L}: {v:.2f}" for L, v in mo.loc[w].items()))
        record.check(f"W_{w}: orthogonal rise / Gaussian rise", ro / rg, expected="< 0.5",
                     tolerance="half the Gaussian rise (separation); ours <= 0.14", passed=ro < 0.5 * rg)
        record.check(f"Gaussian W_{w}: mean(L_max) - mean(L_min)", rg, expected=f"> s* dL = {s_star * dL:.3f}",
                     tolerance="[C] d=32: 5.2-6.4; d=100: 8.3-9.2", passed=rg > s_star * dL, control=True)
    record.verify()


@pytest.mark.claim("C9")
@pytest.mark.xfail(strict=True, reason="beyond the paper's range: with mean-centred BN at n = d = 32 the orthogonal "
                   "W_1 log-gradient keeps growing (our calibration: 0.26 at L=400, 0.41 at 800, 1.62 at 1600), "
                   "while the paper's BN without mean stays flat (-0.07 at 1600); consistent with centring making "
                   "the n x n sample Gram singular (all-ones null vector): a one-dimensional degenerate batch in the "
                   "sense of Remark 1 / C8, where Theorem 5 is vacuous")
def test_c9_mean_reduction_at_depth(record, profile, device, seed):
    """Stress test of C9 beyond Fig. G6 (d = 100, L <= 1000): at d = n = 32, does mean reduction still not matter at
    L = 1600? Claim check, read literally ("standard BN gives the same gradients"): the rise of orthogonal W_1's
    mean log gradient from the shallowest to the deepest net is no larger with torch BN than with the paper's BN
    without mean reduction, ``rise_c - rise_rms < t SE`` (seed noise of the four depth means, one-sided Student t
    at false-failure 1e-3, Bonferroni over the two checks: t ~ 3.4 at 12 seeds). Control (passes): the paper's BN
    stays flat, ``|rise_rms| < t' SE`` (two-sided t'). Replaces the constant 0.5 (C8's plateau drift at d = 32 over
    L 400 -> 800) for both, which did not follow the number of seeds or the depths. 12 seeds (was 6): at 6 seeds
    master seed 2 measured torch BN 0.86 +- 0.25 vs 0.00 +- 0.03, z = 3.5, too little power for a strict xfail;
    at 6 seeds, master seeds 0, 1: 1.36 +- 0.18 and 1.32 +- 0.10 vs -0.08 +- 0.02 and 0.02 +- 0.06. Note the
    torch-BN growth, ~1e-3 per layer, is ~8x below C7's explosion separation slope s* at B = 32: a slow growth,
    not an explosion at the Gaussian-weight rate. Expected to fail (strict xfail)."""
    cfg = _cfg("C9_deep", profile)
    rows = {}
    dof = 0
    for norm in ("batchnorm1d", "bn_rms"):
        df = record.frame(norm, exp.gradient_sweep(init="orthogonal", norm=norm, seed=seed, device=device, **cfg))
        g = df.groupby("depth").log_grad
        m, v = g.mean(), g.var(ddof=1) / g.count()
        rows[norm] = (float(m.iloc[-1] - m.iloc[0]), float(v.iloc[-1] + v.iloc[0]))
        dof += int((g.count() - 1).sum())
    t1 = float(scipy_stats.t.ppf(1 - 1e-3 / 2, dof))  # one-sided, Bonferroni over the two checks
    t2 = _t_quantile(2, dof // 2)
    (rc, vc), (rr, vr) = rows["batchnorm1d"], rows["bn_rms"]
    L0, L1 = min(cfg["depths"]), max(cfg["depths"])
    record.check(f"bn_rms (no mean) W_1: |mean({L1}) - mean({L0})| / SE", abs(rr) / math.sqrt(vr),
                 expected=f"< t = {t2:.2f}", tolerance="seed noise, two-sided t at 1e-3 (Bonferroni 2)",
                 passed=abs(rr) < t2 * math.sqrt(vr), control=True, note=f"rise {rr:.3f} +- {math.sqrt(vr):.3f}")
    z = (rc - rr) / math.sqrt(vc + vr)
    record.check("W_1 (rise torch BN - rise bn_rms) / SE", z, expected=f"< t = {t1:.2f} (mean reduction does not "
                 "matter)", tolerance="seed noise, one-sided t at 1e-3 (Bonferroni 2); calibration rise 1.36 vs -0.07",
                 passed=z < t1, note=f"torch BN rise {rc:.3f} +- {math.sqrt(vc):.3f}, bn_rms {rr:.3f}")
    record.verify()


@pytest.mark.claim("C10", components=("activation",),
                   mutants={"linear_activation": "the shaped claim holds a fortiori for the identity (nothing to "
                            "shape: the paper's identity curve of Fig. 5 is bounded with and without the gain); the "
                            "unshaped-explosion arms use the built-in tanh and sin, not the substitute",
                            "tanh_activation": "sound: the claim's own shaped tanh",
                            "heavy_tailed_activation": "sound: shaping evaluates the activation at a small gain, "
                            "where x exp(x^2/8) = x + x^3/8 + O(x^5) is smooth and odd with sigma'(0) = 1 like "
                            "tanh (x - x^3/3): the linearisation the claim relies on is intact; its heavy tail is "
                            "never reached (shaped slope 0.0039 / 0.0021 / 0.0063 per layer at master seeds 0 / 1 / "
                            "2 vs s* = 0.0085)"})
def test_c10_activation_shaping(record, profile, device, seed, components):
    """§4-§5, Eq. 11, Fig. 5: with ``alpha_l = (l+1)^{-0.4}`` (``gain_schedule(-0.4)``; the authors' ``run.py``
    negates its ``--gain-exponent 0.4`` flag, the schedule itself decays) shaped tanh and sin BN nets (torch BN,
    bias, orthogonal) keep bounded gradients of ``fc_1``; without the gain they explode.

    Directional (axis ranges only). "Bounded" and "explodes" are judged against the separation slope of C7 for
    mean-centred BN, ``s* = m_c(B)/2`` with ``m_c(B) = 0.5 log((B-2)/(B-3))`` (the mean-field rate of a
    Gaussian-weight centred-BN net at batch B: 0.0170 at B = 32, 0.0051 at B = 100), so the bounds follow the
    configuration. Shaped (with gain): all finite, slope <= s* ([C] -0.0028 ... -0.0017 at d = 32), and no depth
    mean above mean(L_min) + s* (L - L_min) + t SE (no rise as large as at the separation slope, seed noise at
    false-failure 1e-3, Bonferroni); the level is recorded ([C] -2.25 ... -0.84 at d = 32, -2.78 ... -0.68 at
    d = 100). Sample size: with 3 seeds the shaped-tanh slope had a heavy upper tail (one of 44 audit runs at
    2.14e-3, master seed 44), so 8 seeds (pilot, master seeds 0-99: mean -1.69e-3, sd 0.52e-3, highest
    -0.03e-3). Negative control (alpha = 1, built-in sin and tanh): slope > s* ([C] 0.088 tanh, 0.13 sin at
    d = 32; d = 100: tanh 42 at L = 500, sin 26.4 at L = 200). Identity without gain stays flat: |slope| < s*.
    Replaces constants tuned at d = n = 32 / 100: shaped means in [-3, 0] / [-3.5, 0] and slope <= 2e-3,
    unshaped slope(tanh) > 0.05, slope(sin) > 0.08, |slope(identity)| < 2e-3, tanh >= 30 at L = 500 and sin >= 20
    at L = 200 (paper). The shaped nets' level (~ -1 to -3) is not asserted: it is set by the readout and the
    loss, not by the claim; their slight decline with depth (vanishing, not explosion) is recorded in the slope.
    """
    cfg = _cfg("C10", profile)
    acts = ["identity", "sin", "tanh"]
    if "activation" in components.substituted:  # a substituted activation is tested alone
        shaped = {components.substituted["activation"]: components.activation("tanh")}
    else:
        shaped = {a: a for a in acts}
    s_star = TI.mean_field_gradient_slope(cfg["batch"], centered=True) / 2
    for name, act in shaped.items():
        df = record.frame(f"gain_{name}", exp.gradient_sweep(norm="batchnorm1d", activation=act, gain_exponent=-0.4,
                                                             bias=True, seed=seed, device=device, **cfg))
        m = _depth_means(df)
        finite = bool(np.isfinite(df.log_grad).all())
        s = _slope(m) if finite else math.nan
        record.check(f"shaped {name}: slope per layer", s, expected=f"finite, <= s* = {s_star:.5f}",
                     tolerance="s* = m_c(B)/2 (centred BN); [C] -0.0028 ... -0.0017 (d=32)",
                     passed=finite and s <= s_star,
                     note="depth means " + ", ".join(f"{L}: {v:.3f}" for L, v in m.items()))
        if finite:
            g = df.groupby("depth").log_grad
            var_mean = (g.var(ddof=1) / g.count()).reindex(m.index)
            tq = _t_quantile(len(m) - 1, int((g.count() - 1).sum()))
            allow = s_star * (np.asarray(m.index, float) - m.index[0]) + tq * np.sqrt(var_mean + var_mean.iloc[0])
            excess = float(((m - m.iloc[0]) - allow).iloc[1:].max())
            record.check(f"shaped {name}: max_L mean(L) - mean(L_min) - allowance", excess, expected="< 0",
                         tolerance=f"allowance s* (L - L_min) + t SE (t = {tq:.2f}, false-failure 1e-3)",
                         passed=excess < 0)
    for name in ("identity", "sin", "tanh"):
        df = record.frame(f"nogain_{name}", exp.gradient_sweep(norm="batchnorm1d", activation=name, bias=True,
                                                               seed=seed, device=device, **cfg))
        m = _depth_means(df)
        finite = bool(np.isfinite(m).all())
        s = _slope(m) if finite else math.inf  # a non-finite log-grad (overflow) counts as exploded
        note = "depth means " + ", ".join(f"{L}: {v:.2f}" for L, v in m.items())
        if name == "identity":
            record.check("unshaped identity: slope per layer", s, expected=f"|slope| < s* = {s_star:.5f}",
                         tolerance="flat (identity needs no shaping)", passed=abs(s) < s_star, note=note)
        else:
            record.check(f"unshaped {name}: slope per layer", s, expected=f"> s* = {s_star:.5f}",
                         tolerance="[C] 0.088 (tanh), 0.13 (sin) at d = 32; 42 at L = 500 (tanh), 26.4 at L = 200 "
                         "(sin) at d = 100", passed=s > s_star, control=True, note=note)
    record.verify()


# ----------------------------------------------------------------------------------------------------------------
# C11: training (Figs. 4 and 6, scaled down)
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("C11", components=("activation",), mutants={
    "tanh_activation": "sound: the claim's own shaped tanh (audit, master seed 0: acc 0.85 / 0.79 at L 10 / 50)",
    "linear_activation": "not a removal of the claim's mechanism but its limit: shaping works by making "
    "sigma(alpha_l h) near-linear as alpha_l -> 0, and the identity is that limit, so bounded gradients, "
    "depth-independent training and near-orthogonal middle layers hold for it too (Fig. 4's identity curves are "
    "depth-independent as well; their plateau <~ 0.45 on CIFAR-10 is a linear classifier's ceiling there, a "
    "property of the task, not of depth; on digits a linear model fits the training set, so no plateau shows: "
    "acc 0.85 vs tanh 0.85 at L = 10, master seed 0). The component is killed by relu_activation, which the "
    "gain cannot linearise"})
def test_c11_depth_independent_training(record, profile, device, seed, data_root, components):
    """Figs. 4 and 6, scaled down: shaped BN MLPs (tanh(alpha_l BN(W x)), alpha_l = (l+1)^{-0.4}, torch BN with
    bias, orthogonal init, plain SGD) train at depth with nearly depth-independent accuracy; SGD keeps the middle
    layers near-orthogonal and their gradients are not negligible.

    Directional. Quick: scikit-learn digits (CIFAR-10 with ``--data-root``), width = batch = 32, depths 10 and 50,
    6 epochs, lr 0.01. Checks: loss (seed mean) falls every epoch; accuracy > 2 / classes (twice chance; was the
    constant 0.2, i.e. 10 classes only) at every depth; acc(deepest) >= acc(shallowest) - 0.1 (Fig. 4's depth
    curves within ~0.1 of each other: the paper's read-off, not a size); in the deepest net phi(W_mid) < 1e-2
    (Fig. 6's middle-layer level; [C] 1.7e-4) and ||grad W_mid|| >= 0.2 ||grad W_first|| ("not negligible",
    directional; [C] 0.31 vs 0.52). Control (note): phi(W_mid) below phi of the first and last hidden layers,
    which shows the weights moved (at orthogonal init phi(W) = 0 everywhere).
    Declared activation: what shaping needs is an activation that the small gain alpha_l makes near-linear
    (tanh, sin); ``relu_activation`` (positively homogeneous, the gain is undone by the next BN) removes it and
    fails the claim (see the marker for the linear activation, which is the mechanism's limit).
    """
    from rcbench.data import load

    cfg = _cfg("C11", profile)
    data = load("cifar10", data_root) if data_root is not None else None
    if data is not None and profile == "quick" and cfg["train_size"] is None:
        cfg["train_size"] = 2048
    act = components.activation("tanh")
    df = record.frame("training", exp.train_shaped(data=data, activation=act, gain_exponent=-0.4, seed=seed,
                                                   device=device, **cfg))
    net = df[df.layer == -1].groupby(["depth", "stat", "epoch"]).value.mean()
    depths = sorted(df.depth.unique())
    for L in depths:
        loss = net[L]["loss"].drop(0)
        record.check(f"L={L}: training loss per epoch", [round(v, 4) for v in loss.tolist()],
                     expected="strictly decreasing", tolerance="directional",
                     passed=bool(np.all(np.diff(loss.to_numpy()) < 0)))
    acc_final = {L: df[(df.depth == L) & (df.stat == "accuracy") & (df.epoch == cfg["epochs"])].value for L in depths}
    chance = 1.0 / int(df["classes"].iloc[0])
    record.check("final training accuracy (min over seeds) per depth", [float(acc_final[L].min()) for L in depths],
                 expected=f"> 2 / classes = {2 * chance:.3g} (twice chance)",
                 tolerance="directional; [C] 0.36-0.41 on the synthetic task",
                 passed=all(acc_final[L].min() > 2 * chance for L in depths))
    a_deep, a_shallow = float(acc_final[depths[-1]].mean()), float(acc_final[depths[0]].mean())
    record.check(f"acc(L={depths[-1]}) - acc(L={depths[0]})", a_deep - a_shallow, expected=">= -0.1",
                 tolerance="depth-independent within 0.1 (Fig. 4); ours on digits -0.05 ... -0.07 (master seeds 0-2)",
                 passed=a_deep >= a_shallow - 0.1)
    L = depths[-1]
    fin = df[(df.depth == L) & (df.layer > 0) & (df.epoch == cfg["epochs"])].groupby(["stat", "layer"]).value.mean()
    phi, grad = fin["phi_W"], fin["grad_norm"]
    first, mid, last = phi.index[0], phi.index[len(phi) // 2], phi.index[-1]
    record.check(f"L={L}: phi(W_mid), layer {mid}", phi[mid], expected="< 1e-2", tolerance="[C] 1.7e-4",
                 passed=phi[mid] < 1e-2)
    ratio = float(grad[mid] / grad[first])
    record.check(f"L={L}: ||grad W_mid|| / ||grad W_first||", ratio, expected=">= 0.2", tolerance="[C] 0.31/0.52",
                 passed=ratio >= 0.2, note=f"||grad W_mid|| = {grad[mid]:.3f}")
    init_phi = df[(df.depth == L) & (df.stat == "phi_W") & (df.epoch == 0)].value.max()
    record.check(f"L={L}: phi(W) first / mid / last (init max {init_phi:.1e})",
                 [float(phi[first]), float(phi[mid]), float(phi[last])],
                 expected="mid < first and mid < last", tolerance="[C] 4.6e-4 / 1.7e-4 / 8.9e-4",
                 passed=phi[mid] < phi[first] and phi[mid] < phi[last], control=True)
    record.verify()
