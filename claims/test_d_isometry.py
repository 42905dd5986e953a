"""Claims of paper D: Joudaki, Daneshmand, Bach, *On the impact of activation and normalization in obtaining
isometric embeddings at initialization* (NeurIPS 2023, arXiv 2305.18399). Provenance per claim: ``rcbench/docs/claims/D.md``.

Layout: paper D writes a batch as ``n x d`` (samples x features), like rcbench; nothing is transposed. Constants:
``beta_0 = c_1^2 / (E sigma^2 - c_0^2)`` and ``beta_sigma = 2 - beta_0`` (the code's beta); Theorem A2's rate is
``alpha = 1 / beta_sigma``. Rates are tested through the potential gamma and the mean-field trajectory, never
through "gap rate = 1/beta_sigma" (not robust to input conditioning, the project's calibration [C]). The general bound
``gap <= 2 n gamma`` is false (T3 of rcbench/docs/claims/D.md) and is not asserted anywhere.
"""

import math

import numpy as np
import pytest

from rcbench import stats
from rcbench.experiments import isometry as exp
from rcbench.theory import finite_width as FW
from rcbench.theory import hermite as H

EPS = float(np.finfo(np.float64).eps)

#: Scale grid for ``rcbench audit --scales`` (claim id -> ``--set`` override dicts), chosen from the paper's regime
#: before looking at results: mean-field claims need n << d (the figures use n = 10 with d = 1000-5000, the paper
#: profile d = 2000), so widths go to 500 and 2000 and the batch to 20; inputs of another conditioning
#: (degeneracy 10 instead of 100) where the claim is stated for a general input; more depth where a ratio is read
#: at the last layer; the exact claims at larger matrices (their round-off bounds scale with n, d, kappa).
SCALES: dict[str, list[dict[str, object]]] = {
    "D2": [{"max_n": 40}],
    "D3": [{"max_d": 40}],
    "D4": [{"samples": 200_000}],
    "D7": [{"n": 32}],
    "D9": [{"d": 2000}, {"d": 500}, {"n": 20}],
    "D10": [{"d": 2000}, {"d": 500}, {"seeds": 4}],
    "D11": [{"d": 2000}, {"d": 500}],
    "D12": [{"d": 2000}, {"depth": 30}],
    "D13": [{"d": 2000}, {"degeneracy": 10.0}],
    "D14": [{"d": 2000}, {"degeneracy": 10.0}],
    "D15": [{"d": 2000}, {"depth": 15}],
    "D17": [{"widths": (100, 500, 1000, 2000)}, {"n": 20}],
    "D18": [{"widths": (100, 500)}, {"seeds": 20}],
    "D19": [{"width": 2000}, {"batch": 16}],
}


def _cfg(claim, profile):
    return exp.config(claim, "quick" if profile == "quick" else "paper")


def _gap_table(df, value="gap"):
    """layer x (activation, seed) table of a trace frame."""
    return df.pivot_table(index="layer", columns=["activation", "seed"], values=value)


# ---------------------------------------------------------------------------------------------------------------
# D1-D3: isometry and the normalisation identity (exact)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("D1")
def test_d1_isometry_basics(record, profile, seed):
    """T0: 0 <= I <= 1, I(cM) = I(M), I(U M U^T) = I(M), I(c I) = 1, I(singular) = 0 with gap +inf.

    Exact (AM-GM); tolerance 1e-10 is float64 round-off of eigvalsh on n <= 20 matrices with spread-out spectra.
    Negative control: a non-scalar M has I < 1 strictly (the maximum over random M stays below 1 - 1e-6).
    """
    df = record.frame("isometry_basics", exp.isometry_basics(seed=seed, **_cfg("D1", profile)))
    rng = float(max(-df.isometry.min(), (df.isometry - 1).max()))
    inv = float(max((df.scaled - df.isometry).abs().max(), (df.rotated - df.isometry).abs().max()))
    ident = float(max((df.identity - 1).abs().max(), (df.identity_times_c - 1).abs().max()))
    record.check("max violation of 0 <= I <= 1", rng, expected="<= 1e-10", tolerance="round-off", passed=rng <= 1e-10)
    record.check("max |I(cM) - I(M)|, |I(UMU^T) - I(M)|", inv, expected="<= 1e-10", tolerance="round-off",
                 passed=inv <= 1e-10)
    record.check("max |I(c I_n) - 1|", ident, expected="<= 1e-10", tolerance="round-off", passed=ident <= 1e-10)
    sing = float(df.singular.max())
    record.check("max I(rank-deficient M)", sing, expected="0 (gap = inf)", tolerance="exact",
                 passed=sing == 0.0 and bool(np.isinf(df.singular_gap).all()))
    top = float(df.isometry.max())
    record.check("max I over random non-scalar M", top, expected="< 1 - 1e-6", tolerance="AM-GM strict",
                 passed=top < 1 - 1e-6, control=True)
    record.verify()


@pytest.mark.claim("D2")
def test_d2_ln_scaling_am_gm(record, profile, seed):
    """T1 (exact form our reconstruction, [I]): scaling the rows to equal norm multiplies I by
    AM(a)/GM(a) >= 1 + Var(r)/E[r]^2 (a = squared row norms, population variance).

    Tolerances (float64 round-off, per trial): relative error ``<= n d eps kappa`` with ``kappa`` the larger condition
    number of ``G`` and ``G_hat``. Derivation: forming ``G = X X^T`` perturbs it by at most ``d eps ||X||^2`` entrywise
    (at most ``n d eps lambda_max`` in norm), so ``log lambda_min`` (and the mean of ``log lambda`` in ``I``) moves
    by at most ``n d eps kappa``. Replaces fixed 1e-9 / 1e-12 bounds after the 20-reseed audit: the equal-norms
    control failed once (1.8e-12 > 1e-12) and, over 40 seeds x 2000 trials, the identity's relative error reached
    3e-8 (trials with ``d = n``, ``kappa`` to 1.6e10); the ratio error / (n d eps kappa) is at most 0.23 there.
    Negative controls: rows with equal norms give equality (gain 1); the centring step alone is not monotone (the
    project's calibration [C]: 33 of 2000 trials lowered I; measured here far more), so the same check on it fails.
    """
    df = record.frame("scaling_identity", exp.scaling_identity(seed=seed, **_cfg("D2", profile)))
    tol = df.n * df.d * EPS * np.maximum(df.cond, df.cond_scaled)
    rel = (df.iso_scaled - df.iso * df.gain).abs() / df.iso_scaled
    record.check("max over trials of |I(G_hat) - I(G) AM/GM| / I(G_hat) / (n d eps kappa)", float((rel / tol).max()),
                 expected="<= 1", tolerance="round-off n d eps kappa (derivation above)", passed=bool((rel <= tol).all()))
    worst = float((df.iso_scaled - df.bound * df.iso * (1 - tol)).min())
    record.check("min I(G_hat) - (1 + Var r / E[r]^2) I(G) (1 - n d eps kappa)", worst, expected=">= 0",
                 tolerance="round-off n d eps kappa", passed=worst >= 0)
    eq_tol = df.n * df.d * EPS * df.cond_scaled
    eq = (df.iso_equal_norms_scaled - df.iso_equal_norms).abs() / df.iso_equal_norms
    record.check("equal norms: max |I(scaled) - I| / I / (n d eps kappa)", float((eq / eq_tol).max()),
                 expected="<= 1", tolerance="equality case, round-off n d eps kappa", passed=bool((eq <= eq_tol).all()),
                 control=True)
    lowered = int((df.iso_centred < df.iso * (1 - 1e-9)).sum())
    record.check("trials in which centring alone lowered I", lowered, expected="> 0 (calibration [C]: 33/2000)",
                 tolerance="centring is not monotone", passed=lowered > 0, control=True)
    record.verify()


@pytest.mark.claim("D3", components=("norm",),
                   mutants={"batch_axis_norm": "sound: every feature column to unit mean square over the batch is "
                            "the paper's column scaling up to the constant sqrt(n), which I is invariant to"})
def test_d3_bn_column_scaling(record, profile, seed, components):
    """T1, BN analogue [I]: scaling the feature columns to equal norm (paper BN) never lowers the isometry of the
    feature Gram C = H^T H (n > d), and exactly I(C_BN) = I(C) AM/GM(squared column norms) >= I(C).

    The norm under test is ``components.norm("bn")`` (the user's ``--norm`` when given). Tolerances are round-off,
    per trial: relative ``n d eps kappa`` with ``kappa`` the larger condition number of C before and after (the
    derivation of D2: forming C perturbs it by <= n eps ||H||^2 entrywise, so log lam_min and the mean of log lam
    move by <= n d eps kappa); they replace the absolute 1e-12 and relative 1e-9, which held at d <= 20 only
    because kappa stays small there. Checks: the identity (a norm that is not column scaling, e.g. none, a scalar
    rescale, row scaling or centring, changes I by another factor: the identity fails); the inequality; applying
    the norm twice changes nothing (equality case: the columns already have equal norms)."""
    norm = components.norm("bn")
    df = record.frame("column_scaling", exp.column_scaling(seed=seed, norm=norm, **_cfg("D3", profile)))
    tol = df.n * df.d * EPS * np.maximum(df.cond, df.cond_bn)
    rel = (df.iso_bn - df.iso * df.gain).abs() / df.iso_bn
    record.check("max |I(C_BN) - I(C) AM/GM| / I(C_BN) / (n d eps kappa)", float((rel / tol).max()), expected="<= 1",
                 tolerance="round-off n d eps kappa", passed=bool((rel <= tol).all()),
                 note=f"max relative error {float(rel.max()):.2e}; AM/GM gain {float(df.gain.min()):.3f}-"
                      f"{float(df.gain.max()):.3g}")
    worst = float((df.iso_bn - df.iso * (1 - tol)).min())
    record.check("min I(C_BN) - I(C) (1 - n d eps kappa)", worst, expected=">= 0", tolerance="round-off",
                 passed=worst >= 0)
    eq = (df.iso_bn_again - df.iso_bn).abs() / df.iso_bn
    eq_tol = df.n * df.d * EPS * df.cond_bn
    record.check("BN twice: max |I - I| / I / (n d eps kappa)", float((eq / eq_tol).max()), expected="<= 1",
                 tolerance="equality case, round-off", passed=bool((eq <= eq_tol).all()), control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# D4-D7, D16: Hermite constants, Mehler, Theorem A2, mean field (exact)
# ---------------------------------------------------------------------------------------------------------------
#: the table of activation constants (5 decimals; rcbench/docs/claims/D.md, D4): c0, c1, E sigma^2, beta_0, beta_sigma
_TABLE = {
    "identity": (0, 1, 1, 1, 1),
    "relu": (0.39894, 0.5, 0.5, 0.73347, 1.26653),
    "leaky_relu": (0.39495, 0.505, 0.50005, 0.74122, 1.25878),
    "tanh": (0, 0.60571, 0.39429, 0.93047, 1.06953),
    "sigmoid": (0.5, 0.20662, 0.29338, 0.98417, 1.01583),
    "selu": (0, 0.98523, 1.0, 0.97068, 1.02932),
    "elu": (0.16052, 0.76158, 0.64495, 0.93673, 1.06327),
    "silu": (0.20662, 0.5, 0.35578, 0.79851, 1.20149),
    "gelu": (0.28209, 0.5, 0.42522, 0.72329, 1.27671),
    "sin": (0, 0.60653, 0.43233, 0.85092, 1.14908),
    "exp": (math.exp(0.5), math.exp(0.5), math.exp(2), 0.58198, 1.41802),
    "he2": (0, 0, 1, 0, 2),
    "he3": (0, 0, 1, 0, 2),
}


def _mc_z(k: int, false_failure: float = 1e-3) -> float:
    """Two-sided normal quantile for ``k`` simultaneous Monte-Carlo checks at a total false-failure rate
    (Bonferroni): ``Phi^{-1}(1 - false_failure / (2 k))``; 3.59 for k = 3 at 1e-3."""
    from scipy.stats import norm

    return float(norm.ppf(1 - false_failure / (2 * k)))


def _mc_note(r, legends) -> str:
    text = f"{r.activation}: {r.beta_sigma_mc:.4f} vs {r.beta_sigma:.4f} (sd {r.sd:.4f})"
    if r.activation in legends:
        text += f", legend {legends[r.activation]} at {abs(legends[r.activation] - r.beta_sigma) / r.sd:.1f} sd"
    return text


#: D4 declares no component: it asserts closed forms and the paper's table for the named activations, which a user's
#: activation has neither of; the former user-activation arm (quadrature vs a Monte-Carlo estimate of the same
#: integral, beta_sigma in [1, 2]) holds for every elementwise activation with finite fourth moment: a check of
#: rcbench's quadrature, not of the claim (no activation mutant could kill it; linear and tanh survived)
@pytest.mark.claim("D4")
def test_d4_hermite_constants(record, profile, seed):
    """§1.4-1.5, §3: c0, c1, E sigma^2, beta_0, beta_sigma by quadrature against closed forms (+-1e-6: quadrature
    accuracy, in fact ~1e-14) and the 5-decimal table of activation constants (+-1e-4 covers the rounding).
    Monte-Carlo variant (the authors' ``compute_beta``; ``samples`` from the profile, 2e6 as the authors): one
    draw of ``X`` from the master seed per run; per activation |beta_MC - beta_quadrature| <= z sd, ``sd`` the
    estimator's delta-method standard deviation from quadrature moments
    (:func:`rcbench.theory.hermite.monte_carlo_beta_sd`: sigmoid 0.0035, relu 0.0013, tanh 0.0009 at 2e6; over 60
    seeds the empirical SDs were 0.0034 / 0.0012 / 0.0008) and ``z = Phi^{-1}(1 - 1e-3 / (2k))`` (k activations,
    Bonferroni: false-failure 1e-3 per run; z = 3.59 for k = 3). Replaces the fixed 0.005, which assumed a
    standard error ~1e-3 and so failed sigmoid in 10 of 60 seeds (sd 0.0035); it also drew with seed 0 whatever
    the master seed. The authors' legend values (1.264 / 1.070 / 1.012) are recorded against the same bound.
    Negative controls: identity has beta_0 = beta_sigma = 1 (no contraction); coefficients in the unnormalised
    basis (the authors' ``hermit_coefs``, missing sqrt(k!)) break Parseval sum c_k^2 = E sigma^2.
    No component is declared (see the comment above the marker)."""
    cfg = _cfg("D4", profile)
    df = record.frame("activation_table", exp.activation_table())
    t = df.set_index("activation")
    closed = {
        "relu beta_0 = pi/(2(pi-1))": (t.loc["relu", "beta0"], math.pi / (2 * (math.pi - 1))),
        "exp beta_0 = 1/(e-1)": (t.loc["exp", "beta0"], 1 / (math.e - 1)),
        "sin beta_0 = 1/sinh 1": (t.loc["sin", "beta0"], 1 / math.sinh(1)),
        "relu c0 = 1/sqrt(2 pi)": (t.loc["relu", "c0"], 1 / math.sqrt(2 * math.pi)),
        "sin c1 = e^{-1/2}": (t.loc["sin", "c1"], math.exp(-0.5)),
        "exp E sigma^2 = e^2": (t.loc["exp", "second_moment"], math.exp(2)),
        "leaky_relu(0.01) beta_0": (t.loc["leaky_relu", "beta0"], 0.505**2 / (0.50005 - 0.99**2 / (2 * math.pi))),
    }
    for name, (v, ref) in closed.items():
        record.check(name, v, expected=ref, tolerance="1e-6 (quadrature)", passed=abs(v - ref) <= 1e-6,
                     deterministic=True)  # quadrature: no random draw
    worst = 0.0
    for act, row in _TABLE.items():
        got = t.loc[act, ["c0", "c1", "second_moment", "beta0", "beta_sigma"]].to_numpy(float)
        worst = max(worst, float(np.max(np.abs(got - np.array(row, float)))))
    record.check("max |quadrature - §3 table| over 13 activations x 5 constants", worst, expected="<= 1e-4",
                 tolerance="5-decimal rounding of the table", passed=worst <= 1e-4, deterministic=True)
    coef = float((t.coef_c1 - t.c1).abs().max() + (t.coef_c0 - t.c0).abs().max())
    record.check("Hermite c0, c1 vs direct moments", coef, expected="<= 1e-10", tolerance="same quadrature",
                 passed=coef <= 1e-10, deterministic=True)
    smooth = ["identity", "tanh", "sigmoid", "gelu", "silu", "sin", "exp", "he2", "he3"]
    pars = float((t.loc[smooth, "parseval"] - t.loc[smooth, "second_moment"]).abs().max())
    record.check("Parseval sum_{k<=60} c_k^2 = E sigma^2 (smooth activations)", pars, expected="<= 1e-8",
                 tolerance="series tail of analytic sigma", passed=pars <= 1e-8, deterministic=True)
    mc = exp.monte_carlo_beta(cfg["activations"], samples=cfg["samples"], seed=seed)
    record.frame("monte_carlo_beta", mc)
    z = _mc_z(len(mc))
    zs = ((mc.beta_sigma_mc - mc.beta_sigma).abs() / mc.sd)
    legends = {"relu": 1.264, "tanh": 1.070, "sigmoid": 1.012}
    record.check(f"Monte Carlo ({cfg['samples']:.0e}) beta_sigma vs quadrature: max_sigma |diff| / sd",
                 float(zs.max()), expected=f"<= z = {z:.2f}",
                 tolerance="sd by the delta method; z at false-failure 1e-3 per run (Bonferroni over activations)",
                 passed=bool((zs <= z).all()),
                 note="; ".join(_mc_note(r, legends) for r in mc.itertuples()))
    record.check("identity beta_0, beta_sigma", [t.loc["identity", "beta0"], t.loc["identity", "beta_sigma"]],
                 expected=[1, 1], tolerance="1e-12: no contraction",
                 passed=abs(t.loc["identity", "beta_sigma"] - 1) <= 1e-12, control=True, deterministic=True)
    un = float((t.loc["relu", "parseval_unnormalised"] - t.loc["relu", "second_moment"]))
    record.check("unnormalised basis: sum c_k^2 - E sigma^2 (relu)", un, expected="<= -0.01",
                 tolerance="missing sqrt(k!) breaks Parseval", passed=un <= -0.01, control=True,
                 deterministic=True)
    record.verify()


@pytest.mark.claim("D5")
def test_d5_mehler_dual_kernel(record):
    """Lemma A8 (Mehler): kappa(rho) = sum_k c_k^2 rho^k, checked against an independent 2-D quadrature of
    E[sigma(X) sigma(Y)] (arc-cosine closed form for ReLU): <= 1e-6 for smooth sigma, <= 1e-3 for ReLU (series
    truncated at K = 60; the measured error is ~3e-8 at |rho| <= 0.9). After LN (T2): kappa_hat(0) = 0,
    kappa_hat(1) = 1, kappa_hat'(0) = beta_0 (central difference, h = 1e-6: error ~1e-10).
    Negative control: without centring the map kappa/kappa(1) has value c0^2/E sigma^2 = 1/pi at 0 for ReLU."""
    df = record.frame("mehler", exp.mehler_check())
    pts = df[df.rho.notna()]
    smooth = pts[pts.activation != "relu"]
    e_s, e_r = float(smooth.relative_error.max()), float(pts[pts.activation == "relu"].error.max())
    record.check("max |series - quadrature| / max(|kappa|, Var sigma), smooth", e_s, expected="<= 1e-6",
                 tolerance="quadrature accuracy", passed=e_s <= 1e-6)
    record.check("max |series(K=60) - arc-cosine|, relu", e_r, expected="<= 1e-3", tolerance="series tail",
                 passed=e_r <= 1e-3)
    ends = df[df.rho.isna()]
    e0 = float(ends.kappa_hat_0.abs().max())
    e1 = float((ends.kappa_hat_1 - 1).abs().max())
    es = float((ends.slope_0 - ends.beta0).abs().max())
    record.check("max |kappa_hat(0)|", e0, expected="<= 1e-12", tolerance="round-off", passed=e0 <= 1e-12)
    record.check("max |kappa_hat(1) - 1|", e1, expected="<= 1e-12", tolerance="round-off", passed=e1 <= 1e-12)
    record.check("max |kappa_hat'(0) - beta_0|", es, expected="<= 1e-6", tolerance="finite difference",
                 passed=es <= 1e-6)
    relu = ends[ends.activation == "relu"].iloc[0]
    record.check("relu uncentred map at 0", relu.uncentred_0, expected=1 / math.pi, tolerance="1e-9; not 0",
                 passed=abs(relu.uncentred_0 - 1 / math.pi) <= 1e-9, control=True)
    record.verify()


@pytest.mark.claim("D6")
def test_d6_theorem_a2_contraction(record, profile):
    """Theorem A2 (restated in [F]): Psi(kappa_hat(rho)) <= Psi(rho) / beta_sigma on (-1, 1), Psi = |rho|/(1-|rho|).

    Exact: max ratio over a grid <= alpha + 1e-9 (round-off). The ratio next to rho = 0 equals beta_0 (1e-3: the
    grid point 1e-4 gives O(1e-4) deviations). Orbits from rho_0 = 0.9 to 5 decimals (values of the project's calibration).
    Negative controls: the tighter rate beta_0 fails for ReLU (max ratio 0.7434 > 0.7335); identity: ratio = 1.
    """
    df = record.frame("contraction_grid", exp.contraction_grid(**_cfg("D6", profile)))
    nonlin = df[df.activation != "identity"]
    slack = float((nonlin.max_ratio - nonlin.alpha).max())
    record.check("max_sigma (max_rho ratio - 1/beta_sigma)", slack, expected="<= 1e-9", tolerance="round-off",
                 passed=slack <= 1e-9)
    near = float((nonlin.ratio_near_0 - nonlin.beta0).abs().max())
    record.check("max |ratio near 0 - beta_0|", near, expected="<= 1e-3", tolerance="grid spacing", passed=near <= 1e-3)
    orbits = {("relu", 10): 0.30161, ("tanh", 10): 0.68794, ("sin", 10): 0.42785, ("he2", 5): 0.03434}
    for (act, k), ref in orbits.items():
        v = float(exp.orbit(act, 0.9, k)[-1])
        record.check(f"{act}: rho_{k} from 0.9", v, expected=ref, tolerance="5e-6 (5 decimals)",
                     passed=abs(v - ref) <= 5e-6)
    relu = df.set_index("activation").loc["relu"]
    record.check("relu max ratio > beta_0 (the local rate is not a global bound)", relu.max_ratio,
                 expected=f"> {relu.beta0:.4f}", tolerance="0.7434 vs 0.7335", passed=relu.max_ratio > relu.beta0 + 5e-3,
                 control=True)
    ident = df.set_index("activation").loc["identity"]
    record.check("identity: min ratio", ident.min_ratio, expected=1.0, tolerance="1e-12: no contraction",
                 passed=abs(ident.min_ratio - 1) <= 1e-12, control=True)
    record.verify()


@pytest.mark.claim("D7")
def test_d7_mean_field_gram_bound(record, profile, seed):
    """T3, Gram form [I]: in the mean field gamma(G^l) <= gamma(G^0) beta_sigma^{-l} and the gap never increases
    (relu, tanh, sigmoid, sin, exp; degeneracy-10 input, n = 10, L = 30). Exact (the recursion is deterministic):
    relative slack 1e-9 on the bound, 1e-12 on monotonicity.
    Negative control: the uncentred map kappa/kappa(1) for ReLU has an attracting correlation > 0: gamma grows and
    the bound fails."""
    cfg = _cfg("D7", profile)
    acts = ("relu", "tanh", "sigmoid", "sin", "exp")
    df = record.frame("mean_field", exp.mean_field_gram(acts, seed=seed, **cfg))
    ratio = float((df.mf_gamma / df.bound).max())
    record.check("max gamma(G^l) / (gamma(G^0) beta_sigma^-l)", ratio, expected="<= 1 + 1e-9", tolerance="round-off",
                 passed=ratio <= 1 + 1e-9)
    inc = float(df.sort_values("layer").groupby(["activation", "seed"]).mf_gap.apply(lambda s: s.diff().max()).max())
    record.check("max increase of the MF gap between layers", inc, expected="<= 1e-12", tolerance="round-off",
                 passed=inc <= 1e-12)
    ctrl = exp.mean_field_gram(("relu",), seed=seed, centred=False, **cfg)
    record.frame("mean_field_uncentred", ctrl)
    last = ctrl[ctrl.layer == ctrl.layer.max()]
    cr = float((last.mf_gamma / last.bound).min())
    record.check("uncentred relu: min gamma(G^L) / bound", cr, expected="> 1", tolerance="no decay (our derivation [I])",
                 passed=cr > 1, control=True)
    record.verify()


#: D16 declares no component: its user arm split activations into positively homogeneous ones (beta_sigma constant in
#: g: an identity of homogeneous functions) and the rest (beta_sigma moves with g: true of every non-homogeneous
#: activation tried), so no activation could fail it (linear and tanh survived); the claim is about relu and tanh
@pytest.mark.claim("D16")
def test_d16_gain_dependence(record):
    """§3 gain table (code-only, probably not in the paper): beta_sigma of sigma(g x) is constant in g for ReLU
    (positively homogeneous, 1e-6), strictly increasing for tanh with 1.0158 / 1.0695 / 1.1623 at g = 0.5 / 1 / 2
    (+-1e-4: table rounding), and sigmoid(2x) has tanh's beta (sigmoid(2x) = (1 + tanh x)/2; 1e-6).
    Negative control: the ReLU arm (no gain dependence) against tanh's spread.
    No component is declared (see the comment above the marker)."""
    df = record.frame("gain_table", exp.gain_table())
    t = df.set_index(["activation", "gain"]).beta_sigma
    relu = t.loc["relu"].to_numpy()
    spread = float(relu.max() - relu.min())
    record.check("relu: max - min beta_sigma over g in {0.5,1,2,3}", spread, expected="<= 1e-6",
                 tolerance="homogeneity", passed=spread <= 1e-6, control=True)
    tanh = [float(t.loc[("tanh", g)]) for g in (0.5, 1.0, 2.0)]
    ref = [1.0158, 1.0695, 1.1623]
    record.check("tanh beta_sigma at g = 0.5, 1, 2", tanh, expected=ref, tolerance="1e-4",
                 passed=all(abs(a - b) <= 1e-4 for a, b in zip(tanh, ref)))
    inc = float(np.diff(t.loc["tanh"].to_numpy()).min())
    record.check("tanh: min increment in g", inc, expected="> 0", tolerance="strict", passed=inc > 0)
    s2 = float(t.loc[("sigmoid(2x)", 1.0)])
    record.check("sigmoid(2x) - tanh beta_sigma", s2 - tanh[1], expected=0, tolerance="1e-6",
                 passed=abs(s2 - tanh[1]) <= 1e-6)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# D8-D15: finite-width LN-MLPs
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("D8", components=("activation",))
def test_d8_ln_scaling_never_raises_gap(record, profile, device, seed, components):
    """T1 at finite width: in every block of LN(sigma(W x)), LN's scaling step never raises the gap
    (gap after LN <= gap after centring + 1e-9: the exact AM/GM identity, round-off only), and the drop equals
    log AM/GM of the centred rows' squared norms (1e-9). Explicit N(0, 1/d) weights, d = 512, L = 20, 3 seeds.
    Negative control: without the normalisation, the block's linear + activation part raises the gap at some
    layers (e.g. ReLU: uncentred sigma(W x) sits at ~0.2 while the post-LN gap is ~0.01), so monotonicity is LN's
    doing, not the network's. The training part (the sawtooth of D20's nets, at init and after training) is
    :func:`test_d8_ln_keeps_raising_isometry_in_training`."""
    cfg = _cfg("D8", profile)
    act = components.activation(None)
    if act is not None:
        cfg["activations"] = (act,)
    df = record.frame("ln_steps", exp.ln_steps(device=device, seed=seed, **cfg))
    worst = float((df.gap_ln - df.gap_centred).max())
    record.check("max_{layer,seed} gap(after LN) - gap(after centring)", worst, expected="<= 1e-9",
                 tolerance="exact identity, round-off", passed=worst <= 1e-9)
    ident = float(((df.gap_centred - df.gap_ln) - df.log_gain).abs().max())
    record.check("max |drop - log AM/GM|", ident, expected="<= 1e-9", tolerance="round-off", passed=ident <= 1e-9)
    rises = int((df.gap_act > df.gap_in + 1e-9).sum())
    record.check("layers where linear+activation raised the gap (no norm)", rises, expected="> 0",
                 tolerance="the unnormalised map is not monotone", passed=rises > 0, control=True)
    record.verify()


#: odd activations: their outputs are nearly centred rows of nearly equal norm, so LN is nearly the identity on the
#: Gram and its step is judged apart (test_d8_tanh_ln_step_in_training)
_ODD_ACTIVATIONS = ("tanh",)


def _sublayer_checks(record, df, sublayer, *, control=False):
    """Per activation and epoch: the fraction of (layer, probe, seed) where ``sublayer`` raised the isometry."""
    for (a, e), g in df[df.sublayer == sublayer].groupby(["activation", "epoch"]):
        drop = (g.gap_before - g.gap).to_numpy()
        frac = float((drop >= 0).mean())
        if control:
            record.check(f"{a}, epoch {e}: fraction of fc layers x probes x seeds with I(after fc) >= I(before)",
                         frac, expected="< 0.95", tolerance="the criterion must separate: fc does not raise isometry",
                         passed=frac < 0.95, control=True, note=f"median gap drop {np.median(drop):.3g}")
        else:
            record.check(f"{a}, epoch {e}: fraction of LN layers x probes x seeds with I(after LN) >= I(before LN)",
                         frac, expected=">= 0.95",
                         tolerance="the test plan's criterion: exact for LN's scaling step (T1); 5% for centring and affine",
                         passed=frac >= 0.95,
                         note=f"gap drop at LN: min {drop.min():.3g}, median {np.median(drop):.3g}, max {drop.max():.3g}")


@pytest.mark.claim("D8", components=("activation",), mutants={
    "linear_activation": "T1 holds for any input to LN, so for fc -> identity -> LN too: LN steps raising I "
                         "(audit, master seed 0) 1.0 / 0.975 at epochs 0 / 5 (>= 0.95), exact T1 checks <= 1e-9; "
                         "marginal (median drop 0.0033 vs ReLU 0.31), as for the odd tanh, which is killed",
    "heavy_tailed_activation": "T1 holds for any input to LN, heavy-tailed ones too: audit (master seed 0) exact T1 "
                               "checks <= 1e-9, LN steps raising I 1.0 / 1.0 at epochs 0 / 5; D8 does not rely on "
                               "the concentration this mutant removes (D9 does, and the mutant kills it: median / "
                               "p90 relative error 0.21 / 0.83 vs 0.15 / 0.35)",
    "square_activation": "T1 holds for any input to LN, so for the even x^2 too (the sign it removes is no part of "
                         "T1): audit (master seed 0) init part max gap(after LN) - gap(after centring) -2.6e-3 "
                         "(<= 1e-9), |drop - log AM/GM| 2.5e-15, LN steps raising I 1.0 / 1.0 at epochs 0 / 5 "
                         "(>= 0.95), fc control 0 / 0 (< 0.95)",
    "relu_activation": "sound: one of the claim's own activations (relu is in both D8 profiles); audit (master "
                       "seed 0) max gap(after LN) - gap(after centring) -5.1e-4, |drop - log AM/GM| 9.5e-15, LN "
                       "steps raising I 1.0 / 1.0 at epochs 0 / 5, fc control 0 / 0"})
def test_d8_ln_keeps_raising_isometry_in_training(record, profile, device, seed, data_root, components):
    """D8, training part (``isometry_init_train.pdf``): in D20's nets (``fc -> act -> nn.LayerNorm`` x 10, SGD), the
    isometry I(G) of a probe batch is a sawtooth over the sub-layers, and every LN step raises it, at init and after
    training. Criterion (the test plan's): I(after LN) >= I(before LN) in >= 95% of LN layers x probe batches x seeds,
    at epoch 0 and after the last epoch; T1 makes LN's scaling step exact, the 5% allows for its centring and its
    learnable affine. Quick profile: digits, width 256, batch 64, 5 epochs, 2 seeds, 4 probe batches of 32 (digits'
    largest full-rank batch; 64 images leave the identity net's Gram singular); relu and sigmoid (tanh, odd: see
    :func:`test_d8_tanh_ln_step_in_training`). Pilot (master seeds 0, 1): 100% for both at both epochs, the
    smallest drop of the gap at an LN step 0.28 (relu, median 0.31) and 1.62 (sigmoid, median 1.71), so a false
    failure needs a drop to move by more than its whole size; the threshold is the test plan's, not tuned.
    Negative control: the same criterion applied to the fc sub-layers fails (the gap rises at every fc step in
    the pilot: fraction 0), so the check separates a step that raises isometry from one that does not."""
    cfg = _cfg("D8.train", profile)
    act = components.activation(None)
    acts = cfg.pop("activations")
    cfg["activations"] = (act,) if act is not None else tuple(a for a in acts if a not in _ODD_ACTIVATIONS)
    df = record.frame("sublayer_gaps", exp.sublayer_isometry_training(device=device, seed=seed, data_root=data_root,
                                                                        **cfg))
    _sublayer_checks(record, df, "norm")
    _sublayer_checks(record, df, "fc", control=True)
    record.verify()


@pytest.mark.claim("D8")
@pytest.mark.xfail(strict=True, reason="tanh: an LN step moves the isometry gap by -0.0019..+0.0044 (median "
                   "+0.0004..+0.0008; relu 0.28-0.34, sigmoid 1.6-1.8), and raises I in only 61-81% of LN layers x "
                   "probes x seeds at epochs 0 and 5 (quick profile, master seeds 0, 1; width 1000 with probes of 100: "
                   "72-75%, moves -0.0004..+0.0011), not >= 95%: LN maintains tanh's isometry rather than raising "
                   "it. Tanh's outputs are nearly centred rows of nearly equal norm, so LN is nearly the identity on "
                   "the Gram and its centring, which T1 does not cover, decides the sign; tanh's isometry rises at "
                   "the activation step instead (100% of act steps)")
def test_d8_tanh_ln_step_in_training(record, profile, device, seed, data_root):
    """The test plan's D8 criterion for tanh, kept as a strict xfail (see reason). Same nets and probes as
    :func:`test_d8_ln_keeps_raising_isometry_in_training`."""
    cfg = {**_cfg("D8.train", profile), "activations": _ODD_ACTIVATIONS}
    df = record.frame("sublayer_gaps_tanh", exp.sublayer_isometry_training(device=device, seed=seed,
                                                                             data_root=data_root, **cfg))
    acts = df[df.sublayer == "act"]
    up = float(((acts.gap_before - acts.gap) >= 0).mean())
    record.check("tanh: fraction of act steps that raise I (info)", up, expected="recorded",
                 tolerance="where tanh's isometry rises instead", passed=True)
    _sublayer_checks(record, df, "norm")
    record.verify()


@pytest.mark.claim("D9", components=("activation",),
                   mutants={"linear_activation": "D9 asserts that the finite-width net tracks the mean field, which "
                            "holds for the identity too (its MF gap is constant and the finite-width gap stays "
                            "within the tolerance): the nonlinearity is no mechanism of D9",
                            "tanh_activation": "sound: one of the claim's own activations",
                            "relu_activation": "sound: one of the claim's own activations (audit, master seed 0: "
                            "median / p90 relative error 0.050 / 0.207 vs 0.15 / 0.35)",
                            "square_activation": "D9's mechanism is the concentration of the finite-width Gram "
                            "around the mean-field kernel (the CLT over the d features), which needs a finite "
                            "fourth moment of sigma(X) (x^2: E X^8 = 105), not the sign x^2 removes; its mean-field "
                            "trajectory is computed from x^2's own kernel, so the net tracks it: median / p90 "
                            "relative error 0.069 / 0.261, 0.047 / 0.327, 0.039 / 0.263 at master seeds 0 / 1 / 2 "
                            "vs 0.15 / 0.35 (heavy_tailed_activation, infinite fourth moment, is killed)"})
def test_d9_finite_width_tracks_mean_field(record, profile, device, seed, components):
    """T2 + T3: a finite-width LN-MLP (d = 1000, n = 10, L = 20) follows the mean-field gap trajectory from the
    same input. Statistic: relative error |gap - gap_MF| / gap_MF on layers with gap_MF > 0.1, pooled over
    relu/tanh/sigmoid and 4 seeds: median <= 0.15, 90th percentile <= 0.35 at d = 1000, both scaled by
    sqrt(1000/d) at other widths (finite-width fluctuations ~ 1/sqrt(d)) (the test plan's thresholds; the project's calibration [C]
    per-activation median 0.06-0.07, p90 0.16-0.27). Our calibration (gram-chain sampler, 8 x 3 seeds per
    activation): per-activation median 0.02-0.13, p90 0.07-0.34; pooled over activations and 4 seeds it is
    tighter (see report). Negative control: a ReLU net against tanh's MF trajectory (wrong kernel) has median
    relative error ~0.83 ([C] 0.119 vs 0.683 at l = 10); required: above the claim's own median bound
    0.15 sqrt(1000/d) (the control shows the criterion fails a wrong kernel; the former 0.5 was a constant). The
    wrong-kernel error is a mean-field quantity (relu's MF trajectory against tanh's, recorded in the note), so
    it does not shrink with d while the bound does: the control separates more, not less, at larger widths."""
    cfg = _cfg("D9", profile)
    act = components.activation(None)
    if act is not None:
        cfg["activations"] = (act,)
    df = record.frame("trace", exp.ln_trace(device=device, seed=seed, **cfg))
    sel = df[df.mf_gap > 0.1]
    rel = (sel.gap - sel.mf_gap).abs() / sel.mf_gap
    med, p90 = float(rel.median()), float(rel.quantile(0.9))
    # the test plan's bounds are for d = 1000; the finite-width error of the Gram entries (hence of the gap) scales like
    # 1/sqrt(d) (CLT over the d features), so both bounds scale by sqrt(1000/d): at d = 2000 the median bound is
    # 0.106 (the test plan's paper-scale criterion 0.08 was calibrated on layers with MF gap > 0.05, [C] 0.04-0.06)
    scale = math.sqrt(1000 / cfg["d"])
    b_med, b_p90 = 0.15 * scale, 0.35 * scale
    for a, r in rel.groupby(sel.activation):
        record.check(f"{a}: median / p90 relative error (info)", [float(r.median()), float(r.quantile(0.9))],
                     expected="calibration [C]: 0.06-0.07 / 0.16-0.27", tolerance="recorded", passed=True)
    record.check("pooled median relative error (MF gap > 0.1)", med, expected=f"<= 0.15 sqrt(1000/d) = {b_med:.3f}",
                 tolerance="2x the project's calibration [C] median at d = 1000, scaled 1/sqrt(d)", passed=med <= b_med)
    record.check("pooled 90th percentile", p90, expected=f"<= 0.35 sqrt(1000/d) = {b_p90:.3f}",
                 tolerance="1.3x the project's calibration [C] p90 at d = 1000, scaled 1/sqrt(d)", passed=p90 <= b_p90)
    if "relu" in cfg["activations"] and "tanh" in cfg["activations"]:
        r = df[df.activation == "relu"].set_index(["layer", "seed"]).gap
        m = df[df.activation == "tanh"].set_index(["layer", "seed"]).mf_gap
        wrong = ((r - m).abs() / m)[m > 0.1]
        mr = df[df.activation == "relu"].set_index(["layer", "seed"]).mf_gap
        pred = float(((mr - m).abs() / m)[m > 0.1].median())
        record.check("relu net vs tanh MF: median relative error", float(wrong.median()), expected=f"> {b_med:.3f}",
                     tolerance="wrong kernel: fails the claim's own median bound 0.15 sqrt(1000/d)",
                     passed=float(wrong.median()) > b_med, control=True,
                     note=f"mean-field prediction (relu MF vs tanh MF, no finite-width noise) {pred:.3f}; [C] 0.83; "
                          "the former threshold 0.5 was a constant between the two")
    record.verify()


_ORDER = ("exp", "relu", "sin", "tanh", "sigmoid")


@pytest.mark.claim("D10")
def test_d10_potential_rate_ordering(record, profile, device, seed):
    """T3, T4: the potential gamma contracts at a per-layer rate <= 1/beta_sigma, ordering the activations
    exp < relu < sin < tanh < sigmoid. Rate = exp(slope) of a least-squares fit of log gamma over layers
    0 <= l <= 15 with gamma > 1, all seeds pooled (d = 1000, n = 10, degeneracy 10: this reproduces the test plan's MF
    rates relu 0.732, tanh 0.861, sigmoid 0.968, sin 0.773, exp 0.624).
    Checks: fitted finite-width rate <= alpha + 0.03 (test plan); MF rate <= alpha (theorem, exact up to the fit);
    strict ordering of the finite-width and of the MF rates; finite vs MF rate within +-0.03 for relu, sin, tanh,
    sigmoid (project's calibration [C] largest deviation 0.016). exp's finite-width rate deviates more (its heavy-tailed features
    bias the max-pair potential at d = 1000); that part is the strict-xfail sibling test below. Changed after the
    reseed audits (84 runs): exp's finite-width rate (median 0.711, range 0.654-0.789; alpha = 0.705) exceeded
    alpha + 0.03 in 20 runs and relu's finite rate in 12, so the finite-width checks here cover relu, sin, tanh,
    sigmoid only (0 of 88 runs out of order) and exp's finite-width rate is judged in the sibling.
    Negative control: identity activation: rate ~ 1 (no contraction): its MF rate is exactly 1 (kappa_hat(rho) =
    rho), so its finite-width rate must exceed 1 - tol with tol = :func:`_d10_finite_tol` (0.03 sqrt(1000/d)
    sqrt(max(1, 4/seeds)), the same fit tolerance the contracting activations get above alpha): 0.97 at d = 1000
    (the former constant), 0.979 at d = 2000, 0.958 at d = 500."""
    cfg = _cfg("D10", profile)
    df = record.frame("trace", exp.ln_trace(device=device, seed=seed, **cfg))
    tol0 = _d10_finite_tol(cfg["d"], cfg["seeds"])  # 0.03 at d = 1000 (test plan), scaled with d and seeds
    rates, mf = {}, {}
    for act in cfg["activations"]:
        g = df[df.activation == act]
        rates[act], fit = exp.fit_potential_rate(g, "gamma", start_layer=0)
        mf[act], _ = exp.fit_potential_rate(g, "mf_gamma", start_layer=0)
        alpha = H.contraction_rate(act)
        if act == "exp":  # judged in the strict-xfail sibling below (fails 20 of 84 runs here)
            record.check("exp: fitted rate (finite d)", rates[act], expected="informational",
                         tolerance=f"alpha = {alpha:.4f}; see test_d10_exp_finite_width_rate_matches_mean_field",
                         passed=True)
        else:
            record.check(f"{act}: fitted rate (finite d) <= alpha + tol", rates[act],
                         expected=f"<= {alpha + tol0:.4f}",
                         tolerance=f"alpha = {alpha:.4f}; tol = 0.03 sqrt(1000/d) sqrt(max(1, 4/seeds)) = {tol0:.4f}",
                         passed=rates[act] <= alpha + tol0)
        record.check(f"{act}: MF rate <= alpha", mf[act], expected=f"<= {alpha:.4f}", tolerance="1e-3 (fit)",
                     passed=mf[act] <= alpha + 1e-3)
        if act != "exp":
            # relu: finite-width bias +0.017 on average (9 calibration runs at d = 1000, 8 seeds: 0.003-0.028), 1%
            # one-sided prediction bound mean + t_{0.99,8} s sqrt(1 + 1/9) = 0.017 + 2.9 * 0.009 * 1.05 ~ 0.045 ->
            # 0.05 = 5/3 of the test plan's 0.03; the others keep the test plan's 0.03 (calibrated |diff| <= 0.015); both
            # scaled with d and seeds as _d10_finite_tol
            tol = tol0 * (5 / 3 if act == "relu" else 1.0)
            record.check(f"{act}: |finite - MF rate|", abs(rates[act] - mf[act]), expected=f"<= {tol:.4f}",
                         tolerance="calibration [C] max 0.016; relu from our seed spread", passed=abs(rates[act] - mf[act]) <= tol)
    order = [a for a in _ORDER if a in rates]
    fin_order = [a for a in order if a != "exp"]
    fin, mfo = [rates[a] for a in fin_order], [mf[a] for a in order]
    record.check(f"finite-width rates ordered {' < '.join(fin_order)}", fin, expected="increasing",
                 tolerance="strict order (smallest gap over 88 runs: 0.014, relu < sin)", passed=all(np.diff(fin) > 0))
    record.check("MF rates in the same order", mfo, expected="increasing", tolerance="strict order",
                 passed=all(np.diff(mfo) > 0))
    ctrl = exp.ln_trace(("identity",), device=device, seed=seed, **{k: v for k, v in cfg.items() if k != "activations"})
    record.frame("trace_identity", ctrl)
    r_id, _ = exp.fit_potential_rate(ctrl, "gamma", start_layer=0)
    record.check("identity: fitted potential rate", r_id, expected=f"> {1 - tol0:.4f}",
                 tolerance="no contraction: MF rate 1 minus the finite-width fit tolerance (_d10_finite_tol)",
                 passed=r_id > 1 - tol0, control=True)
    record.verify()


@pytest.mark.claim("D10")
@pytest.mark.xfail(strict=True, reason="exp at d = 1000: fitted finite-width potential rate 0.69-0.72 vs MF "
                   "0.625-0.64 (difference 0.04-0.08 over our seeds), not within the test plan's +-0.03 ([C] 0.640 vs "
                   "0.624); over 84 runs of 8 seeds the finite rate (median 0.711) exceeded alpha + 0.03 = 0.735 in "
                   "20 and relu's in 12; exp's heavy-tailed features bias the max-pair potential upwards at finite "
                   "width")
def test_d10_exp_finite_width_rate_matches_mean_field(record, profile, device, seed):
    """The test plan's finite-vs-MF rate agreement (+-0.03) for exp, kept as a strict xfail (see reason)."""
    # twice the profile's seeds (16 at quick): the calibrated difference 0.086 +- 0.03 (8 seeds) shrinks its spread
    # so the strict xfail is stable
    base = _cfg("D10", profile)
    cfg = {**base, "activations": ("exp",), "seeds": 2 * base["seeds"]}
    tol = _d10_finite_tol(cfg["d"], cfg["seeds"])
    df = record.frame("trace_exp", exp.ln_trace(device=device, seed=seed, **cfg))
    r, _ = exp.fit_potential_rate(df, "gamma", start_layer=0)
    m, _ = exp.fit_potential_rate(df, "mf_gamma", start_layer=0)
    record.check("exp: |finite - MF rate|", abs(r - m), expected=f"<= {tol:.4f}",
                 tolerance="calibration [C] 0.03 at d = 1000, scaled (_d10_finite_tol)", passed=abs(r - m) <= tol)
    alpha = H.contraction_rate("exp")
    record.check("exp: fitted rate (finite d) <= alpha + tol", r, expected=f"<= {alpha + tol:.4f}",
                 tolerance=f"alpha = {alpha:.4f}; _d10_finite_tol", passed=r <= alpha + tol)
    record.verify()


def _d10_finite_tol(d: int, seeds: int) -> float:
    """Tolerance of a finite-width fitted potential rate against its mean-field value / the bound: the test plan's 0.03
    at d = 1000 with 4 seeds ([C] largest deviation 0.016), scaled like the finite-width fluctuation of the Gram
    entries, 1/sqrt(d), and like the fit's seed noise, 1/sqrt(seeds) below 4 seeds: 0.03 sqrt(1000/d)
    sqrt(max(1, 4/seeds)). At d = 2000 it gives 0.021, the test plan's paper-scale criterion (+-0.02 at d in
    {2000, 5000})."""
    return 0.03 * math.sqrt(1000 / d) * math.sqrt(max(1.0, 4 / seeds))


def _d10_rates(df, acts):
    """Per activation: (finite-width rate, MF rate) of the potential (nan if fewer than 3 layers have gamma > 1)."""
    out = {}
    for act in acts:
        g = df[df.activation == act]
        pair = []
        for col in ("gamma", "mf_gamma"):
            try:
                pair.append(exp.fit_potential_rate(g, col, start_layer=0)[0])
            except ValueError:
                pair.append(math.nan)
        out[act] = tuple(pair)
    return out


def _beta_order_violations(rates: dict, betas: dict) -> list[str]:
    """Pairs (a, b) with beta_sigma(a) > beta_sigma(b) (by more than 1e-6: he2 and he3 tie at 2) whose rates are not
    ordered rate(a) < rate(b)."""
    bad = []
    for a in rates:
        for b in rates:
            if betas[a] > betas[b] + 1e-6 and not rates[a] < rates[b]:
                bad.append(f"{a} (beta {betas[a]:.4f}, rate {rates[a]:.4f}) vs {b} (beta {betas[b]:.4f}, "
                           f"rate {rates[b]:.4f})")
    return bad


@pytest.mark.claim("D10")
def test_d10_bound_for_every_named_activation(record, profile, device, seed):
    """T3 beyond the paper's five examples: for every nonlinear activation rcbench can name
    (:data:`rcbench.experiments.isometry.ALL_NAMED_NONLINEAR`: relu, leaky_relu, gelu, silu, elu, selu, tanh,
    sigmoid, sin, exp, he2, he3; beta_sigma by quadrature), the potential's mean-field rate is <= 1/beta_sigma
    (Theorem A2; 1e-3 for the fit) and the finite-width rate <= 1/beta_sigma + :func:`_d10_finite_tol` (exp
    excepted: its finite-width rate is judged in the strict-xfail sibling of the main test). Whether the rates
    follow the beta_sigma order over all of them is :func:`test_d10_rates_follow_beta_order_beyond_examples`.
    The table (beta_sigma, alpha, finite and MF rates) is recorded as the frame ``rates_all``."""
    import pandas as pd

    cfg = _cfg("D10.all", profile)
    df = exp.ln_trace(device=device, seed=seed, **cfg)
    rates = _d10_rates(df, cfg["activations"])
    tol = _d10_finite_tol(cfg["d"], cfg["seeds"])
    table = pd.DataFrame([{"activation": a, "beta_sigma": H.beta_sigma(a), "alpha": H.contraction_rate(a),
                           "rate_finite": r, "rate_mf": m} for a, (r, m) in rates.items()])
    record.frame("rates_all", table.sort_values("beta_sigma", ascending=False))
    mf_slack = float((table.rate_mf - table.alpha).max())
    record.check("max over named activations of MF rate - 1/beta_sigma", mf_slack, expected="<= 1e-3",
                 tolerance="Theorem A2 (exact in the mean field); 1e-3 for the least-squares fit",
                 passed=bool(np.isfinite(table.rate_mf).all()) and mf_slack <= 1e-3,
                 note="; ".join(f"{r.activation}: {r.rate_mf:.4f} <= {r.alpha:.4f}" for r in table.itertuples()))
    fin = table[table.activation != "exp"]
    fin_slack = float((fin.rate_finite - fin.alpha).max())
    record.check("max over named activations (exp apart) of finite-width rate - 1/beta_sigma", fin_slack,
                 expected=f"<= {tol:.4f}", tolerance="0.03 sqrt(1000/d) sqrt(max(1, 4/seeds)) (see _d10_finite_tol)",
                 passed=bool(np.isfinite(fin.rate_finite).all()) and fin_slack <= tol,
                 note="; ".join(f"{r.activation}: {r.rate_finite:.4f}" for r in fin.itertuples()))
    record.verify()


@pytest.mark.claim("D10")
@pytest.mark.xfail(strict=True, reason="beyond the paper's five examples the rates do not follow the beta_sigma "
                   "order: mean-field potential rates (d = 1000 input, degeneracy 10, master seeds 0, 1) gelu "
                   "0.759 vs relu 0.732 and leaky_relu 0.737 although beta_sigma(gelu) = 1.2767 > 1.2665 > 1.2588, "
                   "and silu 0.821-0.824 vs sin 0.773-0.775 although beta_sigma(silu) = 1.2015 > 1.1491; the "
                   "finite-width rates invert the same pairs (gelu 0.771-0.780 vs relu 0.739-0.757, silu "
                   "0.828-0.833 vs sin 0.775-0.782). 1/beta_sigma is Theorem A2's worst-case rate (it holds for "
                   "every activation, see the bound test); the measured rate depends on the whole kernel, not only "
                   "on kappa_hat'(0) = beta_0. The paper's five examples (exp, relu, sin, tanh, sigmoid) are "
                   "ordered, and so are all other pairs")
def test_d10_rates_follow_beta_order_beyond_examples(record, profile, device, seed):
    """The ordering part of D10 over every activation rcbench can name: for every pair with beta_sigma(a) >
    beta_sigma(b) (ties, he2 = he3 = 2, excepted), MF rate(a) < MF rate(b) (deterministic given the input; the
    finite-width order is recorded). A finding: expected to fail (strict xfail, see reason)."""
    cfg = _cfg("D10.all", profile)
    df = exp.ln_trace(device=device, seed=seed, **cfg)
    rates = _d10_rates(df, cfg["activations"])
    betas = {a: H.beta_sigma(a) for a in rates}
    bad_mf = _beta_order_violations({a: m for a, (_, m) in rates.items()}, betas)
    bad_fin = _beta_order_violations({a: r for a, (r, _) in rates.items()}, betas)
    record.check("finite-width rate order violations (info)", len(bad_fin), expected="recorded",
                 tolerance="fit noise can swap close pairs", passed=True, note="; ".join(bad_fin) or "none")
    record.check("pairs with beta_sigma(a) > beta_sigma(b) but MF rate(a) >= rate(b)", len(bad_mf), expected=0,
                 tolerance="deterministic (mean field)", passed=not bad_mf, note="; ".join(bad_mf) or "none")
    record.verify()


def _d11_margin(d: int, depth: int, seeds: int) -> float:
    """Relative slack of D11's statistic (max over layers of the median over seeds of gamma / bound) above 1.

    The finite-width potential random-walks multiplicatively around the mean field: each layer adds a relative
    error ~ 1/sqrt(d) (CLT over the d features), so after L layers its relative spread grows like sqrt(L/d), and
    the median over k seeds divides it by sqrt(k). Calibrated point (d = 1000, L = 20, 15 seeds): 0.15, the
    former constant = 8.5 master-seed sd of the statistic in the 15-seed pilot (sigmoid, 40 master seeds: mean
    1.006, sd 0.017, max 1.060; heavy-tailed, hence not the 1% normal quantile 1.046):
    ``0.15 sqrt((1000/d) (L/20) (15/k))``. Quick 0.150; SCALES d = 2000 0.106, d = 500 0.212; paper (d = 2000,
    L = 30, 15 seeds) 0.130."""
    return 0.15 * math.sqrt((1000 / d) * (depth / 20) * (15 / seeds))


@pytest.mark.claim("D11")
def test_d11_potential_bound_with_noise_floor(record, profile, device, seed):
    """T3, finite-width form [I]: gamma(G^l) <= gamma(G^1) alpha^{l-1} + floor_l for relu, tanh, sigmoid, sin
    (d = 1000, L = 20, 15 seeds), floor_l the finite-width noise floor of the potential
    (:func:`rcbench.theory.finite_width.potential_floor`: the 99% quantile of the largest of the n(n-1)/2 correlation
    errors accumulated over the l - 1 blocks since layer 1, ``Phi^{-1}(1 - 0.01/(n(n-1))) sqrt((1 - beta_0^{2(l-1)})
    / (d (1 - beta_0^2)))``; 3.69 sqrt(1/d) times 1.47 (relu) ... 5.6 (sigmoid) at stationarity, n = 10).
    Replaces the fixed floor 4/sqrt(d), which was the median-level stationary floor of relu only (measured median
    of sqrt(d) gamma at l = 30-40: relu 4.2, sin 5.5, he2 2.7 at d = 1000, predicted 2.54 x 1.47 / 1.90 / 1.0):
    sin's stationary floor is above it, so the old check failed in the floor regime (depth >= 30).
    Statistic: max over layers of the median over seeds of the ratio; <= 1 + :func:`_d11_margin` (0.15 at the
    quick profile). The max over single seeds is heavy-tailed for sigmoid (up to 2.0: its potential barely
    contracts and random-walks multiplicatively), so single seeds are recorded, not asserted.
    Sample size (reliability audit): with 3 seeds the sigmoid statistic failed 3 of 10 alternate master seeds;
    15 seeds (cost ~0.1 s) give the pilot of :func:`_d11_margin`.
    He3 and exp are excluded (heavy tails: their features' fourth moments make the correlation error larger than
    1/sqrt(d); ratio ~3.2 for He3 in the project's calibration).
    Negative control: ReLU with LN but no centring: gamma does not decay, ratio >> 1 (calibrated 176-286): the
    required "> 10" is the contracting prediction's ratio (<= 1 + margin) times an order of magnitude; the uncentred
    map has an attracting correlation > 0, so gamma grows without bound in d and L."""
    cfg = _cfg("D11", profile)
    df = exp.ln_trace(device=device, seed=seed, mean_field=False, **cfg)
    r = record.frame("ratio", exp.potential_floor_ratio(df))
    tol = 1 + _d11_margin(cfg["d"], cfg["depth"], cfg["seeds"])
    for act, g in r.groupby("activation"):
        med = float(g[g.layer >= 2].groupby("layer").ratio.median().max())  # l = 1: the bound is gamma_1 itself
        record.check(f"{act}: max_(l>=2) median_seeds gamma / (gamma_1 alpha^(l-1) + floor_l)", med,
                     expected=f"<= {tol:.3f}",
                     tolerance="1 + 0.15 sqrt((1000/d)(L/20)(15/seeds)); floor_l derived (see docstring)",
                     passed=med <= tol,
                     note=f"max over single seeds {float(g.ratio.max()):.3f}; floor at l = {cfg['depth']}: "
                          f"{float(g[g.layer == cfg['depth']].floor.iloc[0]):.4f}")
    ctrl = exp.ln_trace(("relu",), device=device, seed=seed, mean_field=False, norm="ln_nocenter",
                        **{k: v for k, v in cfg.items() if k != "activations"})
    cr = exp.potential_floor_ratio(ctrl)
    cm = float(cr.groupby("layer").ratio.median().max())
    record.check("relu without centring: same statistic", cm, expected=f"> 10 x {tol:.3f}",
                 tolerance="no decay: an order of magnitude above the contracting bound", passed=cm > 10 * tol,
                 control=True)
    record.verify()


def _z(false_failure: float, k: int = 1) -> float:
    """One-sided normal quantile at a total false-failure rate over ``k`` simultaneous checks (Bonferroni)."""
    from scipy.stats import norm

    return float(norm.ppf(1 - false_failure / k))


def _contracted_prediction(df, act: str, start: int, L: int) -> float:
    """Predicted ``gap(L) / gap(start)`` of a contracting LN net: the mean-field gap at ``L`` plus the finite-width
    floor (:func:`rcbench.theory.finite_width.gap_floor`, ``(n - 1) / (2 d (1 - beta_0^2))``), over the mean-field
    gap at ``start`` (seed means of the frame's ``mf_gap``)."""
    g = df[df.activation == act]
    mf = g.groupby("layer").mf_gap.mean()
    floor = FW.gap_floor(int(g.d.iloc[0]), int(g.n.iloc[0]), H.beta0(act))
    return float((mf.loc[L] + floor) / mf.loc[start])


@pytest.mark.claim("D12")
def test_d12_linear_activation_no_isometry_bias(record, profile, device, seed):
    """T4 (directional): a linear activation gives no bias towards isometry. Finite width (identity + LN,
    d = 1000, L = 20, 3 seeds): seed-mean gap(L) / seed-mean gap(1) >= the no-bias lower bound
    ``1 + (drift - z s / sqrt(k)) / gap(1)``: a finite identity net's gap rises by the Wishart drift
    ``(n - 1)(L - 1)/(2d)`` (:func:`rcbench.theory.finite_width.linear_gap_drift`) with per-seed sd
    ``s = 1.07 sqrt((L - 1)/d)`` (:func:`~rcbench.theory.finite_width.linear_gap_sd`, measured over 40 seeds at
    d = 500-2000), z = 3.09 (false failure 1e-3). Replaces the fixed 0.9 (the project's calibration [C]
    1.54 -> 1.60); at gap(1) = 1.45 the formula gives 0.894 at the quick profile (0.84-0.90 at master seeds 0-2,
    gap(1) 1.0-1.5), 0.911 at d = 2000, 0.886 at L = 30, 0.965 at the paper profile (d = 2000, L = 30, 10 seeds). Mean field: the gap is constant to 1e-12 (kappa_hat(rho) = rho).
    Positive arm (control): ReLU in the same setting contracts: max_seed gap(L)/gap(1) <= the geometric midpoint
    ``sqrt(r_relu r_id)`` (:func:`~rcbench.theory.finite_width.geometric_midpoint`) of its predicted ratio
    ``r_relu = (gap_MF(L) + gap_floor(d, n, beta_0)) / gap_MF(1)`` and the identity's ``r_id = 1 + drift/gap(1)``,
    the boundary equally far on the log scale from both predictions (0.096-0.126 at master seeds 0-2: the former
    constant 0.1; measured 0.017-0.022)."""
    cfg = _cfg("D12", profile)
    df = record.frame("trace", exp.ln_trace(("identity", "relu"), device=device, seed=seed, **cfg))
    L, d, n, k = cfg["depth"], cfg["d"], cfg["n"], cfg["seeds"]
    p = _gap_table(df)
    ident, relu = p["identity"], p["relu"]
    g1 = float(ident.loc[1].mean())
    drift = FW.linear_gap_drift(d, n, L - 1)
    bound = 1 + (drift - _z(1e-3) * FW.linear_gap_sd(d, L - 1) / math.sqrt(k)) / g1
    ratio = float(ident.loc[L].mean() / g1)
    record.check(f"identity: mean gap({L}) / mean gap(1)", ratio, expected=f">= {bound:.3f}",
                 tolerance="1 + (drift - 3.09 s / sqrt(seeds)) / gap(1) (Wishart drift, measured s)",
                 passed=ratio >= bound, note=f"per seed {np.round((ident.loc[L] / ident.loc[1]).to_numpy(), 3)}; "
                                             f"predicted mean 1 + drift/gap(1) = {1 + drift / g1:.3f}")
    mfd = float(df[df.activation == "identity"].groupby("seed").mf_gap.agg(lambda s: s.max() - s.min()).max())
    record.check("identity MF gap: max - min over layers", mfd, expected="<= 1e-12", tolerance="round-off",
                 passed=mfd <= 1e-12)
    cut = FW.geometric_midpoint(_contracted_prediction(df, "relu", 1, L), 1 + drift / g1)
    rr = float((relu.loc[L] / relu.loc[1]).max())
    record.check(f"relu: max_seed gap({L}) / gap(1)", rr, expected=f"<= {cut:.4f}",
                 tolerance="geometric midpoint of the relu (MF + floor) and identity predictions", passed=rr <= cut,
                 control=True)
    record.verify()


def _no_gain_bound(p, act, L, d, k, acts):
    """Per-seed lower bound on gap(L)/gap(1) of an arm that gains no isometry (LN without centring after the
    activation): ``1 - z c sqrt((L - 1)/d) / gap(1)`` (:func:`rcbench.theory.finite_width.no_gain_lower_bound`,
    ``c`` = :data:`~rcbench.theory.finite_width.UNCENTRED_GAP_SD_CONSTANT`, z at false failure 1e-3 over
    ``k`` seeds x ``acts`` arms), with the smallest seed's gap(1)."""
    return FW.no_gain_lower_bound(float(p[act].loc[1].min()), d, L - 1, constant=FW.UNCENTRED_GAP_SD_CONSTANT,
                                  z=_z(1e-3, k * acts))


def _no_gain_check(record, statistic, ratio, lo, cut, *, control):
    """Record the no-gain check ``ratio >= lo``, or, where it cannot discriminate, record it as such: the bound is
    informative only if it lies above ``cut``, the ratio the contracting arm of the same test is held below (the
    geometric midpoint of its (MF + floor) prediction and 1); at ``lo <= cut`` a net that does gain isometry down
    to that boundary passes the no-gain check as well, and at ``lo <= 0`` the check is empty (every ratio passes).
    That happens when the smallest gap(1) is below ``z c sqrt((L - 1)/d)`` (e.g. a degeneracy-10 input, gap(1)
    ~1.0-1.5 vs 1.76 at d = 1000, L = 30, 4 seeds): the uncentred nets' seed spread is then larger than the whole
    gap, and a seed-level no-gain bound has nothing left to assert."""
    if lo > cut:
        record.check(statistic, ratio, expected=f">= {lo:.3f}",
                     tolerance="no-gain bound 1 - z c sqrt((L-1)/d) / gap(1)", passed=ratio >= lo, control=control)
    else:
        record.check(f"{statistic} (not discriminating)", ratio, expected="informational",
                     tolerance="no check at this configuration", passed=True, control=control,
                     note=f"no-gain bound {lo:.3f} <= {cut:.4f}, the contracting arm's boundary"
                          f"{' (the bound is <= 0: empty)' if lo <= 0 else ''}: the uncentred nets' seed spread "
                          f"z c sqrt((L-1)/d) exceeds (1 - {cut:.4f}) x the smallest gap(1), so a net that gains "
                          "isometry would pass too (see _no_gain_check)")


@pytest.mark.claim("D13", components=("norm",),
                   mutants={"layernorm_norm": "sound: torch's LayerNorm centres and scales each sample as LN"})
def test_d13_centring_is_necessary(record, profile, device, seed, components):
    """T2 (directional): LN must centre after the activation. ReLU, degeneracy 100, d = 1000, L = 30, 4 seeds.

    Without centring (``ln_nocenter``) relu and exp gain no isometry: per seed gap(L)/gap(1) >= the no-gain bound
    ``1 - z c sqrt((L - 1)/d) / gap(1)`` (:func:`_no_gain_bound`: c = 2.92, the measured per-seed spread constant
    of uncentred nets, 40 seeds; z = 3.54 for 1e-3 over 4 seeds x 2 arms): 0.46-0.60 at master seeds 0-2 (smallest gap(1) 3.3-4.3;
    the null value 1 is conservative: the arm drifts up, relu mean 1.22, min 1.04 over 40 seeds). The former
    constant 0.8 was not derived; at 4 seeds it sat 2.5 (exp) to 3.5 (relu) per-seed sd below 1.
    With centring (the norm under test) relu contracts: max_seed gap(L)/gap(1) <= the geometric midpoint
    ``sqrt(r)`` of its prediction ``r = (gap_MF(L) + gap_floor(d, n, beta_0)) / gap_MF(1)`` and the no-change
    value 1 (0.059 at the quick profile: the former 0.05; measured 0.0022-0.0073 over 40 seeds).
    Sigmoid without centring diverges: min_seed gap(10)/gap(0) > the geometric midpoint of 1 and the uncentred
    mean-field prediction gap_MF(10)/gap_MF(0) (kappa/kappa(1): 21.5 / 5.49 = 3.9, midpoint 1.98: the former 2;
    measured 3.7-5.1 over 40 seeds); layer 10 (or L if smaller) because the Gram turns singular (+inf) by l = 30.
    The no-centring arm is the negative control of the centring arm and vice versa. The norm under test
    (``--norm``) plays LN in the centring arm: a norm that does not centre each sample after the activation (none,
    a scalar rescale, row scaling without centring, per-feature batch scaling) leaves the gap high and fails it.
    Where the no-gain bound is not above the centring arm's boundary (at degeneracy 10 it is negative: smallest
    gap(1) ~1.0-1.5 < z c sqrt((L - 1)/d) = 1.76), the no-centring checks are recorded as not discriminating, with
    the reason (:func:`_no_gain_check`), instead of passing vacuously."""
    cfg = _cfg("D13", profile)
    L, d, k = cfg["depth"], cfg["d"], cfg["seeds"]
    centring = components.norm("ln")  # the norm under test plays LN (the centring arm)
    a = exp.ln_trace(("relu", "exp", "sigmoid"), device=device, seed=seed, mf_centred=False, norm="ln_nocenter",
                     **cfg)
    b = exp.ln_trace(("relu",), device=device, seed=seed, norm=centring, **cfg)
    record.frame("no_centring", a)
    record.frame("centring", b)
    pa, pb = _gap_table(a), _gap_table(b)
    cut = FW.geometric_midpoint(_contracted_prediction(b, "relu", 1, L), 1.0)
    for act in ("relu", "exp"):
        lo = _no_gain_bound(pa, act, L, d, k, 2)
        r = float((pa[act].loc[L] / pa[act].loc[1]).min())
        _no_gain_check(record, f"{act} without centring: min_seed gap({L}) / gap(1)", r, lo, cut,
                       control=act == "relu")
    r = float((pb["relu"].loc[L] / pb["relu"].loc[1]).max())
    record.check(f"relu with centring: max_seed gap({L}) / gap(1)", r, expected=f"<= {cut:.4f}",
                 tolerance="geometric midpoint of the (MF + floor) prediction and 1", passed=r <= cut)
    ls = min(10, L)
    mf = a[a.activation == "sigmoid"].groupby("layer").mf_gap.mean()
    cut_s = FW.geometric_midpoint(float(mf.loc[ls] / mf.loc[0]), 1.0)
    s = float((pa["sigmoid"].loc[ls] / pa["sigmoid"].loc[0]).min())
    record.check(f"sigmoid without centring: min_seed gap({ls}) / gap(0)", s, expected=f"> {cut_s:.3f}",
                 tolerance="geometric midpoint of 1 and the uncentred MF prediction", passed=s > cut_s)
    record.verify()


@pytest.mark.claim("D14")
def test_d14_order_matters(record, profile, device, seed):
    """T2 (directional): LN(sigma(W x)) drives a ReLU net to isometry, sigma(LN(W x)) does not (pre-activation LN
    does not centre the activation). Degeneracy 100, d = 1000, L = 30, 4 seeds. sigma(LN(.)): per seed
    gap(L)/gap(1) >= the no-gain bound of D13 (:func:`_no_gain_bound`, the same uncentred-net spread constant;
    0.49-0.61 at master seeds 0-2, former constant 0.8; [C] 4.57 -> 5.38, calibrated min 1.14). LN(sigma(.)): max_seed
    gap(L)/gap(1) <= the geometric midpoint of the (MF + floor) prediction and 1 (D13; 0.059 at the quick profile,
    former 0.05; calibrated max 0.0066). Each arm is the other's negative control. At a configuration where the
    no-gain bound is not above that boundary (degeneracy 10: negative), the sigma(LN(.)) check is recorded as not
    discriminating (:func:`_no_gain_check`)."""
    cfg = _cfg("D14", profile)
    L, d, k = cfg["depth"], cfg["d"], cfg["seeds"]
    a = exp.ln_trace(("relu",), device=device, seed=seed, mean_field=False, order="norm_act", **cfg)
    b = exp.ln_trace(("relu",), device=device, seed=seed, order="act_norm", **cfg)
    record.frame("norm_act", a)
    record.frame("act_norm", b)
    pa, pb = _gap_table(a), _gap_table(b)
    lo = _no_gain_bound(pa, "relu", L, d, k, 1)
    cut = FW.geometric_midpoint(_contracted_prediction(b, "relu", 1, L), 1.0)
    ra = float((pa["relu"].loc[L] / pa["relu"].loc[1]).min())
    rb = float((pb["relu"].loc[L] / pb["relu"].loc[1]).max())
    _no_gain_check(record, f"sigma(LN(Wx)): min_seed gap({L}) / gap(1)", ra, lo, cut, control=True)
    record.check(f"LN(sigma(Wx)): max_seed gap({L}) / gap(1)", rb, expected=f"<= {cut:.4f}",
                 tolerance="geometric midpoint of the (MF + floor) prediction and 1", passed=rb <= cut)
    record.verify()


@pytest.mark.claim("D15")
def test_d15_pure_hermite_fastest(record, profile, device, seed):
    """T4 (directional): He2 and He3 (c1 = 0, beta_sigma = 2) contract fastest. d = 1000, L = 10, 3 seeds,
    degeneracy 10. Statistic: seed-mean gap(5) / seed-mean gap(0) per activation, against its prediction
    ``r_a = (gap_MF(5) + gap_floor(d, n, beta_0, 5)) / gap_MF(0)`` (mean field from the same inputs plus the
    finite-width floor accumulated over 5 blocks, :func:`rcbench.theory.finite_width.gap_floor`). Each fast arm is
    separated from ReLU (the slower control, beta_sigma = 1.27) at the geometric midpoint of the two predictions
    (:func:`~rcbench.theory.finite_width.geometric_midpoint`): he2 <= sqrt(r_he2 r_relu) (0.091-0.099 at master seeds
    0-2; the former constant 0.08; measured 0.022-0.040), he3 <= sqrt(r_he3 r_relu) (0.030-0.033, former 0.05;
    measured <= 0.004), relu >= sqrt(r_he2 r_relu) (the same boundary from the other side; former 0.15; measured
    0.26-0.35); per seed He3 < He2 < ReLU at l = 5.
    Layer 5 does not depend on the size: He2's mean-field gap falls super-exponentially (kappa_hat(rho) = rho^2:
    1.68 -> 0.39 -> 0.030 -> 2e-5 at l = 0, 3, 5, 7 from this input) independently of d; at l = 5 it is still
    above the width-d floor (n - 1)/(2d) (0.0045 at d = 1000) for d > (n - 1)/(2 x 0.030) = 150, so the three
    arms are resolved there; later layers only compare floors."""
    cfg = _cfg("D15", profile)
    ls = min(5, cfg["depth"])
    df = record.frame("trace", exp.ln_trace(("he2", "he3", "relu"), device=device, seed=seed, **cfg))
    p = _gap_table(df)
    ratio = {a: float(p[a].loc[ls].mean() / p[a].loc[0].mean()) for a in ("he2", "he3", "relu")}
    pred = {}
    for a in ratio:
        g = df[df.activation == a]
        mf = g.groupby("layer").mf_gap.mean()
        pred[a] = float((mf.loc[ls] + FW.gap_floor(cfg["d"], cfg["n"], H.beta0(a), ls)) / mf.loc[0])
    cut2 = FW.geometric_midpoint(pred["he2"], pred["relu"])
    cut3 = FW.geometric_midpoint(pred["he3"], pred["relu"])
    note = "; ".join(f"{a} predicted {v:.4f}" for a, v in pred.items())
    record.check(f"he2: mean gap({ls}) / mean gap(0)", ratio["he2"], expected=f"<= {cut2:.4f}",
                 tolerance="geometric midpoint of the he2 and relu predictions", passed=ratio["he2"] <= cut2,
                 note=note)
    record.check(f"he3: mean gap({ls}) / mean gap(0)", ratio["he3"], expected=f"<= {cut3:.4f}",
                 tolerance="geometric midpoint of the he3 and relu predictions", passed=ratio["he3"] <= cut3)
    order = bool(((p["he3"].loc[ls] < p["he2"].loc[ls]) & (p["he2"].loc[ls] < p["relu"].loc[ls])).all())
    record.check(f"every seed: gap_{ls}(he3) < gap_{ls}(he2) < gap_{ls}(relu)", order, expected=True,
                 tolerance="directional", passed=order)
    record.check(f"relu: mean gap({ls}) / mean gap(0)", ratio["relu"], expected=f">= {cut2:.4f}",
                 tolerance="the he2 / relu boundary from the other side", passed=ratio["relu"] >= cut2, control=True)
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# D17, D18: finite-width floor, mean-field vs LN scaling
# ---------------------------------------------------------------------------------------------------------------
#: measured second-order coefficient ``a`` of the relu gap floor, ``gap_floor(d) (1 + a n / (10 d))``: plateaus
#: (l = 30-40, 20 seeds, n = 10) 0.1137 / 0.0195 / 0.00988 / 0.00508 vs the leading order 0.0974 / 0.0195 / 0.00974 /
#: 0.00487 at d = 100 / 500 / 1000 / 2000 give a = 16.7 from d = 100 (1.7 n: assumed proportional to n like the
#: leading term's n - 1)
_D17_SECOND_ORDER = 16.7


def _d17_band(widths, n: int, window: int, seeds: int, beta0: float) -> tuple[float, float]:
    """Expected log-log slope of the relu plateau against d, and its half-width at false failure 1e-3.

    Leading order the plateau is ``(n - 1)/(2 d (1 - beta_0^2))`` (slope -1); the second-order excess
    ``(1 + a n/(10 d))`` bends it (expected slope = -1 + the least-squares slope of ``log(1 + a n/(10 d))`` on
    ``log d``). Noise: each width's plateau averages ``window`` layers x ``seeds`` of a scaled chi-square with
    ``m = n(n-1)/2`` degrees of freedom, correlated over layers (tau = (1 + beta_0^2)/(1 - beta_0^2)), so its log has
    sd ``sqrt(2 tau / (m window seeds))`` and the slope ``that / sqrt(S_xx)``; half-width = |bend| + 3.29 sd (two
    sided 1e-3). Quick (widths 100, 500, 1000; n = 10; 11 layers; 4 seeds): expected -1.063, band
    [-1.239, -0.886] (the former [-1.2, -0.8]); over 12 master seeds the slope was -1.08 +- 0.038."""
    x = np.log(np.asarray(widths, float))
    sxx = float(((x - x.mean()) ** 2).sum())
    bend_y = np.log1p(_D17_SECOND_ORDER * n / 10 / np.asarray(widths, float))
    bend = float(((x - x.mean()) * bend_y).sum() / sxx)
    m, b2 = n * (n - 1) / 2, beta0**2
    sd = math.sqrt(2 * (1 + b2) / (1 - b2) / (m * window * seeds)) / math.sqrt(sxx)
    return -1.0 + bend, abs(bend) + 3.29 * sd


@pytest.mark.claim("D17")
def test_d17_floor_scales_like_one_over_d(record, profile, device, seed):
    """Our observation, not a paper claim: the post-LN gap floor of a ReLU net (centring by c0, LN scaling, n = 10,
    degeneracy 10) scales like 1/d: leading order ``(n - 1)/(2 d (1 - beta_0^2))``
    (:func:`rcbench.theory.finite_width.gap_floor`). Plateau = mean gap over layers L - 10 .. L and seeds; the
    log-log slope over d in {100, 500, 1000} lies in the band of :func:`_d17_band` around -1 (the former fixed
    [-1.2, -0.8]; [C] 0.106, 0.021, 0.011 -> -0.98). Negative control: the mean-field recursion has no floor
    (ReLU MF gap at l = 30 < 1e-3, i.e. below a tenth of the smallest width's floor prediction at d = 1000)."""
    cfg = _cfg("D17", profile)
    L = cfg["depth"]
    df = record.frame("floor", exp.mf_vs_finite(scalings=("layer",), device=device, seed=seed, **cfg))
    late = df[df.layer >= L - 10].groupby("d").gap.mean()
    fit = stats.slope(late.index.to_numpy(float), late.to_numpy(), logx=True, logy=True)
    centre, half = _d17_band(cfg["widths"], cfg["n"], 11, cfg["seeds"], H.beta0("relu"))
    lo, hi = centre - half, centre + half
    record.check("log-log slope of the post-LN plateau vs d", fit.slope, expected=f"[{lo:.3f}, {hi:.3f}]",
                 tolerance="expected slope (second order included) +- (bend + 3.29 sd), see _d17_band",
                 passed=lo <= fit.slope <= hi,
                 note=f"plateaus {dict(zip(late.index.tolist(), np.round(late.to_numpy(), 4).tolist()))}; "
                      f"leading-order floors {[round(FW.gap_floor(w, cfg['n'], H.beta0('relu')), 4) for w in cfg['widths']]}")
    mf = exp.mean_field_gram(("relu",), n=cfg["n"], d=max(cfg["widths"]), depth=L,
                             degeneracy=cfg["degeneracy"], seeds=2, seed=seed)
    v = float(mf[mf.layer == L].mf_gap.max())
    cut = 0.1 * FW.gap_floor(max(cfg["widths"]), cfg["n"], H.beta0("relu"))
    record.check("relu MF gap at the last layer", v, expected=f"< {cut:.2e}",
                 tolerance="no floor in the mean field: a tenth of the widest net's floor", passed=v < cut,
                 control=True)
    record.verify()


def _d18_drift_bound(n: int, window: int, seeds: int, widths: int, false_failure: float = 1e-3):
    """Upper bound on D18's LN drift ratio (late / mid plateau average) of a net at its floor, and its parts
    ``(bound, sd, z)``: ``1 + z sd`` with ``sd`` = :func:`rcbench.theory.finite_width.plateau_ratio_sd` (relu's
    beta_0) and ``z`` the one-sided normal quantile at ``false_failure`` over ``widths`` checks (Bonferroni). Expected
    ratio 1 at stationarity (see the D18 docstring). Quick and paper (n = 10, window 5, 10 seeds, 3 widths):
    1 + 3.40 x 0.0769 = 1.262."""
    sd = FW.plateau_ratio_sd(n, H.beta0("relu"), window, seeds)
    z = _z(false_failure, widths)
    return 1.0 + z * sd, sd, z


@pytest.mark.claim("D18")
def test_d18_ln_scaling_stabilises_mean_field(record, profile, device, seed):
    """T6 (directional, ``mf_vs_finite.pdf``): ReLU, centring by c0, scaling by LN vs by the constant
    sqrt(E sigma^2 - c0^2), d in {100, 500, 1000}, L = 30, 10 seeds. Statistic on seed-mean curves: the drift
    ratio mean gap(l = L-4..L) / mean gap(l = L-14..L-10). LN holds at its floor: <= :func:`_d18_drift_bound`;
    constant (MF) scaling drifts up: > the same bound at every width, i.e. more than the LN arm may drift (the two
    arms' bounds coincide, so no run can pass both as "holds" and as "drifts"; calibration [C] gap(30) >= 3x, 7x the
    minimum); at d = 1000 LN gap(30) < MF gap(30) ([C] 0.011 vs 0.107).
    The bound (derived; the former constant 1.3 was calibrated, LN ratios 0.67-0.90): an LN net holding at its floor
    has an expected ratio <= 1 (the floor ``(n - 1)/(2 d (1 - beta_0^2))`` is stationary from l ~ 10 on, since
    beta_0^{2l} < 2e-3, and the mean-field gap still above it in the earlier window only lowers the ratio); its
    noise is that of two plateau averages of ``window = 5`` layers x ``seeds`` each, relative sd
    ``sqrt(4 tau / (m window seeds))`` (:func:`rcbench.theory.finite_width.plateau_ratio_sd`: one layer's floor is a
    scaled chi-square with m = n(n-1)/2 degrees of freedom, autocorrelated over layers like beta_0^{2k}, tau =
    (1 + beta_0^2)/(1 - beta_0^2)); bound = 1 + z sd, z one-sided at false failure 1e-3 over the widths
    (Bonferroni; z = 3.40 for 3 widths): 1 + 3.40 x 0.0769 = 1.262 at n = 10, 10 seeds (quick and paper).
    Validation (200 seeds at master seed 1000 in 20 groups of 10): LN ratio mean +- sd 0.774 +- 0.110 / 0.747 +-
    0.073 / 0.696 +- 0.081 at d = 100 / 500 / 1000, max 1.066: the mean is below 1 (the earlier window still
    carries the mean-field tail and the c0-centred floor settling), the absolute sd 0.95-1.43x the model's 0.077
    (c0 centring is not exact row centring, which the chi-square model assumes), so the bound sits >= 4.4 measured
    sd above the measured mean at every width.
    Changed after the reseed audits: with 4 seeds and the former, calibrated (not derived) MF bound 1.5, 9 of 82
    runs failed (MF ratio down to 0.95 at d = 100); with 10 seeds (the paper profile's) over 38 runs the MF ratio
    stayed >= 1.45 and the LN ratio <= 0.98.
    Deviation from the test plan's form "gap(30) <= 1.3 min_l gap" (recorded in the check's note): the minimum of a
    noisy plateau is biased low, and that form failed at d = 500 with 1.31 in our run, although the LN curve is
    flat there; the drift ratio compares averages instead. The MF-scaling arm is the negative control."""
    cfg = _cfg("D18", profile)
    df = record.frame("mf_vs_finite", exp.mf_vs_finite(device=device, seed=seed, **cfg))
    m = df.groupby(["d", "scaling", "layer"]).gap.mean()
    L = cfg["depth"]
    late, mid = list(range(L - 4, L + 1)), list(range(L - 14, L - 9))
    bound, sd, z = _d18_drift_bound(cfg["n"], len(late), cfg["seeds"], len(cfg["widths"]))
    tol_text = f"1 + z sd = 1 + {z:.2f} x {sd:.4f} (floor-plateau noise, see _d18_drift_bound)"
    for d in cfg["widths"]:
        ln, mf = m.loc[(d, "layer")], m.loc[(d, "constant")]
        rl = float(ln.loc[late].mean() / ln.loc[mid].mean())
        rm = float(mf.loc[late].mean() / mf.loc[mid].mean())
        record.check(f"d={d}, LN scaling: mean gap(l={late[0]}..{L}) / mean gap(l={mid[0]}..{mid[-1]})", rl,
                     expected=f"<= {bound:.3f}", tolerance=f"holds at the floor: {tol_text}", passed=rl <= bound,
                     note=f"test plan's form gap({L})/min_l gap = {float(ln.loc[L] / ln.loc[1:].min()):.3f}")
        record.check(f"d={d}, MF scaling: same drift ratio", rm, expected=f"> {bound:.3f}",
                     tolerance="drifts more than LN may (the LN bound); 10-seed runs 1.45-4.2", passed=rm > bound,
                     control=True)
        if d >= 1000:
            record.check(f"d={d}: LN gap({L}) < MF gap({L})", [float(ln.loc[L]), float(mf.loc[L])],
                         expected="LN < MF", tolerance="[C] 0.011 vs 0.107", passed=float(ln.loc[L]) < float(mf.loc[L]))
    record.verify()


# ---------------------------------------------------------------------------------------------------------------
# D19, D20: real data
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.claim("D19")
def test_d19_real_image_batch_gap_after_ln(record, profile, device, seed, data_root):
    """``isogap_vs_theory.pdf``: the authors' torch MLP (``norm -> fc -> act`` blocks, ``nn.LayerNorm``, biases)
    at init on a real image batch; the gap after every LN stays below beta_sigma^{-l} gap(0) + slack_l (the
    finite-width floor, below; the test plan's + 0.05 was a constant) and gap(10) is ordered ReLU < Tanh < Sigmoid.
    Default data: scikit-learn digits, batch 32 (full rank), width 1000, 10 blocks, 3 seeds (each its own batch and
    weights); with ``--data-root`` CIFAR-10 (paper profile: batch 100, width 5000, 10 reruns;
    paper values at l = 10: ReLU 0.03, Tanh 0.27, Sigmoid 0.70).

    Slack (derived; replaces the test plan's +0.05, which was not calibrated and did not depend on the sizes):
    beta_sigma^{-l} gap(0) is the mean-field curve the figure plots, and a finite net's post-LN gap exceeds its
    mean-field value by the finite-width floor accumulated over l blocks, ``gap_floor(width, batch, beta_0, l) =
    (n - 1)(1 - beta_0^{2l}) / (2 d (1 - beta_0^2))`` (:func:`rcbench.theory.finite_width.gap_floor`, n = batch,
    d = width); one layer's floor is a scaled chi-square with m = n(n - 1)/2 degrees of freedom (relative sd
    sqrt(2/m)), so slack_l = floor_l (1 + z sqrt(2/m)), z one-sided at false failure 1e-3 over the L x seeds values
    (Bonferroni). Quick (width 1000, batch 32, 3 seeds): relu 0.019 (l = 1) .. 0.042 (l = 10), tanh 0.019 .. 0.11,
    sigmoid 0.019 .. 0.17; paper (width 5000, batch 100): relu 0.011 .. 0.023. Former calibration: over 3 x 3 seeds
    on digits the maximum over layers 1..10 and seeds of gap(l) - beta_sigma^{-l} gap(0) was -0.044/-0.033/-0.036
    (ReLU), -0.152/-0.116/-0.130 (Tanh), -0.047/-0.030/-0.030 (Sigmoid): the bound holds even without slack.
    Measured digits values at l = 10 (seed means): ReLU 0.045, Tanh 0.26, Sigmoid 0.68; gap(0) 0.90-0.98 (paper
    CIFAR 0.93).
    Negative control: identity activation (beta_sigma = 1): no contraction; its gap rises by the Wishart drift
    ``(n - 1) L / (2 d)`` (:func:`~rcbench.theory.finite_width.linear_gap_drift`, 0.155 at the quick profile) with
    per-seed sd ``1.07 sqrt(L / d)`` (:func:`~rcbench.theory.finite_width.linear_gap_sd`, constant measured at
    n = 10), so min_seed gap(L)/gap(0) >= 1 + (drift - z sd)/gap(0) (D12's no-bias bound, z at 1e-3 over the seeds;
    0.767-0.783 at master seeds 0-2 of the quick profile, ~0.91 at the paper's; the former constant 0.9; measured
    1.11-1.14, predicted mean 1 + drift/gap(0) = 1.16-1.17)."""
    cfg = _cfg("D19", profile)
    if data_root is None and cfg["batch"] > 32:
        pytest.skip(f"D19 at batch {cfg['batch']} needs CIFAR-10 (--data-root): the shipped substitute, scikit-learn "
                    "digits (64 pixels, rank 53 over 64 images), gives a full-rank batch only up to 32 images")
    df = record.frame("gap_after_ln", exp.image_batch_trace(device=device, seed=seed, data_root=data_root, **cfg))
    L, n, d, k = cfg["depth"], cfg["batch"], cfg["width"], cfg["seeds"]
    m = n * (n - 1) / 2
    zf = _z(1e-3, L * k)
    p = _gap_table(df)
    # slack_l per row (the judged bound is theory + slack; kept in the frame for the figure), nan for the identity
    judged = ("relu", "tanh", "sigmoid")
    df["slack"] = [FW.gap_floor(d, n, H.beta0(a), int(l)) * (1 + zf * math.sqrt(2 / m)) if a in judged else math.nan
                   for a, l in zip(df.activation.astype(str), df.layer)]
    df["excess"] = df.gap - df.theory - df.slack
    for act in judged:
        g = df[(df.activation == act) & (df.layer >= 1)]
        slack = g.slack.to_numpy()
        ex = float(g.excess.max())
        record.check(f"{act}: max_(l>=1, seed) gap(l) - beta_sigma^-l gap(0) - slack_l", ex, expected="<= 0",
                     tolerance="slack_l = gap_floor(width, batch, beta_0, l)(1 + z sqrt(2/m)), see docstring",
                     passed=ex <= 0,
                     note=f"without slack {float((g.gap - g.theory).max()):.4f}; slack {float(slack.min()):.4f}-"
                          f"{float(slack.max()):.4f}; seed-mean gap({L}) = {float(p[act].loc[L].mean()):.4f}")
    order = bool(((p["relu"].loc[L] < p["tanh"].loc[L]) & (p["tanh"].loc[L] < p["sigmoid"].loc[L])).all())
    record.check(f"every seed: gap_{L}(relu) < gap_{L}(tanh) < gap_{L}(sigmoid)", order, expected=True,
                 tolerance="directional; paper 0.03 < 0.27 < 0.70", passed=order)
    if "identity" in p.columns.get_level_values(0):
        g0 = float(p["identity"].loc[0].min())
        drift = FW.linear_gap_drift(d, n, L)
        lo = 1 + (drift - _z(1e-3, k) * FW.linear_gap_sd(d, L)) / g0
        r = float((p["identity"].loc[L] / p["identity"].loc[0]).min())
        record.check(f"identity: min_seed gap({L}) / gap(0)", r, expected=f">= {lo:.3f}",
                     tolerance="no contraction: 1 + (drift - z sd)/gap(0) (Wishart drift, D12)", passed=r >= lo,
                     control=True, note=f"predicted mean 1 + drift/gap(0) = {1 + drift / g0:.3f}")
    record.verify()


@pytest.mark.claim("D20")
def test_d20_training_speed_ordered_by_beta(record, profile, device, seed, data_root):
    """T5 (``beta0_train_loss.pdf``, directional): training speed is ordered by beta_sigma, ReLU (1.27) fastest,
    Sigmoid (1.016) slowest. LN-MLP ``[width] x 10`` (``fc -> act -> nn.LayerNorm``, linear readout), SGD lr 0.01
    without momentum, cross-entropy; quick profile: digits, width 256, batch 64, 5 epochs, 6 seeds; paper profile:
    width 1000, batch 512, 10 epochs, seeds from its design effect size (below), on digits unless ``--data-root``
    gives CIFAR-10 (the paper's setting: CIFAR-10, 5 reruns; losses at epoch 9 ReLU 0.25, Tanh 1.28, Sigmoid 1.96).
    Checks (directional, paired over seeds): the per-seed final-loss differences tanh - relu and sigmoid - tanh
    (same init seed, same batch order: paired) have a one-sided 95% Student-t lower confidence bound
    (``stats.lower_confidence_bound``) above 0, i.e. the ordering holds in the mean at level 5%. Deviation from the
    the test plan's criterion (non-overlapping mean +- std bands; now recorded, not asserted): the bands measure the
    between-seed spread of the loss level, which is common to the arms and cancels in the paired difference; with
    a ReLU/Tanh margin of ~0.01 and band std ~0.005 they overlapped in 1 of 10 audit master seeds (seed 10: means
    0.0438 / 0.0533 / 0.0912). "Every seed relu < tanh" is also recorded, not asserted: the per-seed difference
    has mean ~0.0097, sd ~0.0040 (quick pilot below), i.e. P(one seed reversed) ~ 0.7% under normality, ~4% for 6
    seeds (paper configuration: delta ~1, P(one seed reversed) ~16%).
    Sample size (derived from the configuration, :func:`rcbench.experiments.isometry.paired_t_seeds`): the bound is
    > 0 iff the paired t statistic exceeds t_{0.95, k-1}; with true effect size delta (mean / sd of one seed's
    difference) the statistic is noncentral t with k - 1 degrees of freedom and noncentrality delta sqrt(k), so k is
    the smallest number of seeds with P(T_{k-1, delta sqrt k} > t_{0.95, k-1}) >= 1 - 1e-3 (false failure 1e-3 per
    run, the D11-D18 rate). Inputs: level 0.05, false failure 1e-3 and delta of the profile's configuration
    (:data:`~rcbench.experiments.isometry.D20_PILOT_EFFECT`, the smaller of the two orderings' effects, tanh - relu),
    measured in a pilot at master seeds the checks do not use. Quick (digits, width 256, batch 64, 5 epochs): pilot
    over master seeds 100-102 x 6 seeds (18 differences, OMP 1 thread) tanh - relu 0.0026-0.0184, mean 0.0097, sd
    0.0040 (delta 2.45); sigmoid - tanh 0.034-0.045, mean 0.038, sd 0.003 -> k = 6 (power 0.9996). Paper (width
    1000, batch 512, 10 epochs, digits): pilot at master seed 100 x 12 seeds (12 differences, OMP 1 thread, 8 min)
    tanh - relu -0.0023..0.0067, mean 0.0035, sd 0.0024, 11/12 positive (delta 1.47) -> k = 12 (power 0.9991;
    sensitivity: at delta 1.0 the power at 12 seeds is 0.945, at 1.32, the pooled estimate with the first paper
    run's 5 seeds, 0.996).
    Changed: the paper profile had the quick profile's design carried over (5 seeds, chosen for delta 2.45), although
    its configuration's effect is ~2.5x smaller: at the first paper run (master seed 0, 5 seeds: differences
    0.0003, 0.0063, 0.0008, 0.0017, 0.0023, delta 0.96, 5/5 positive) the bound was -1.2e-5, i.e. the check had power
    ~0.55 there, not a finding about the claim. The exact one-sided sign-test p over seeds and the run's own effect
    size are recorded (info) next to the bound.
    Deviation (stated in the experiment): no activation on the
    logits. Finding: on digits the *early* ordering is reversed (epoch 1: Sigmoid 0.73 < Tanh 0.86 < ReLU 1.43),
    so "speed" holds only for the final loss; recorded, not asserted.
    Negative control: the slow arm, Sigmoid, has the highest final loss in every seed (margin over Tanh ~0.038,
    ~12 sd of the per-seed difference)."""
    cfg = _cfg("D20", profile)
    df = record.frame("train_loss", exp.train_loss_curves(device=device, seed=seed, data_root=data_root, **cfg))
    last = df[df.epoch == df.epoch.max()].pivot_table(index="seed", columns="activation", values="loss")
    m, s = last.mean(), last.std(ddof=1)
    order = ("relu", "tanh", "sigmoid")
    from scipy import stats as st

    k = len(last)
    for a, b in zip(order[:-1], order[1:]):
        diff = (last[b] - last[a]).to_numpy()
        lcb = stats.lower_confidence_bound(diff, confidence=0.95)
        pos = int((diff > 0).sum())
        sign_p = float(st.binom.sf(pos - 1, k, 0.5))  # exact one-sided P(>= pos positive of k | no ordering)
        record.check(f"paired final loss {b} - {a}: one-sided 95% lower confidence bound", lcb, expected="> 0",
                     tolerance="t bound over seeds, level 5%; seeds from the design effect size (see docstring)",
                     passed=lcb > 0,
                     note=f"per-seed differences {np.round(diff, 4).tolist()}; mean {diff.mean():.4f}; effect size "
                          f"{diff.mean() / diff.std(ddof=1):.2f}; {pos}/{k} positive, exact sign-test p {sign_p:.2g}")
    design = exp.D20_PILOT_EFFECT.get(profile)
    if design is not None:
        need = exp.paired_t_seeds(design)
        power = float(st.nct.sf(st.t.ppf(0.95, k - 1), k - 1, design * math.sqrt(k)))
        record.check("design: seeds vs paired_t_seeds(pilot effect size) (info)", k, expected=f"{need} (recorded)",
                     tolerance="false failure 1e-3 at the pilot's effect size; not asserted (--set may change it)",
                     passed=True, note=f"pilot effect size {design}; power of the tanh - relu bound at {k} seeds "
                                       f"{power:.4f}")
    bands = all(m[a] + s[a] < m[b] - s[b] for a, b in zip(order[:-1], order[1:]))
    record.check("final loss mean +- std: relu < tanh < sigmoid, bands disjoint (info)",
                 [round(float(m[a]), 4) for a in order], expected="recorded",
                 tolerance="the test plan's heuristic; not asserted (see docstring)", passed=True,
                 note=f"std {[round(float(s[a]), 4) for a in order]}; disjoint={bands}; paper CIFAR 0.25/1.28/1.96")
    n_ord = int(((last["relu"] < last["tanh"]) & (last["tanh"] < last["sigmoid"])).sum())
    record.check("seeds with relu < tanh < sigmoid (info)", f"{n_ord}/{len(last)}", expected="recorded",
                 tolerance="not asserted: P(one seed reversed) ~0.7% at quick, ~16% at paper (see docstring)",
                 passed=True)
    slow = bool((last["sigmoid"] > last[["relu", "tanh"]].max(axis=1)).all())
    record.check("every seed: sigmoid (beta_sigma 1.016) has the highest final loss", slow, expected=True,
                 tolerance="the test plan's slow arm", passed=slow, control=True)
    e1 = df[df.epoch == 1].groupby("activation").loss.mean()
    record.check("epoch-1 mean loss relu / tanh / sigmoid (info)", [round(float(e1[a]), 4) for a in order],
                 expected="recorded", tolerance="not asserted: on digits the early ordering is reversed",
                 passed=True)
    record.verify()
