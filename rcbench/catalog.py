"""The claim catalogue: every paper claim rcbench checks, by id (from the project's paper notes).

Each claim has a paper letter, a one-line statement, its source in the paper and its kind (exact, statistical,
training; directional where the paper gives no number). ``claims/`` holds one test per id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Claim", "PAPERS", "CLAIMS", "get_claim"]


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    source: str
    kind: str


#: paper letter -> citation.
PAPERS: dict[str, str] = {
    'A': 'Daneshmand, Kohler, Bach, Hofmann, Lucchi 2020 — BN provably avoids rank collapse (arXiv 2003.01652)',
    'B': 'Daneshmand, Joudaki, Bach 2021 — BN orthogonalizes representations (arXiv 2106.03970)',
    'C': 'Meterez, Joudaki, Orabona, Immer, Rätsch, Daneshmand 2024 — BN without gradient explosion (arXiv 2310.02012)',
    'D': 'Joudaki, Daneshmand, Bach 2023 — isometric embeddings at initialization (arXiv 2305.18399)',
}

#: claim id -> :class:`Claim`, in catalogue order.
CLAIMS: dict[str, Claim] = {c.id: c for c in (
    Claim('A1', 'A', 'Deterministic rank inequalities: 1 ≤ r ≤ rank ≤ min(n, d); rank_τ ≥ (1−τ)²·r; a linear BN layer cannot raise rank', 'Thm 2 (first inequality, via Cauchy–Schwarz); definitions reconstructed [I]', 'exact'),
    Claim('A2', 'A', 'Vanilla linear nets collapse to rank one with depth', 'abstract, §1 (theorem number unverified); Fig. 2', 'statistical'),
    Claim('A3', 'A', 'BN linear chain: depth-averaged soft rank is Ω(√d)', 'Thm 2 (formal Thm 14)', 'statistical. Asymptotic, no constant in the paper; the test is an operationalisation'),
    Claim('A4', 'A', 'At equal depth BN keeps numerical rank ≈ 9–10 while the vanilla net collapses to 1', 'Fig. 2 (linear panel)', 'statistical'),
    Claim('A5', 'A', 'Fig. 3a values: BN-chain rank ≈ 2.8, 4.6, 7.2, 11.1, 16.8, 25.1 for d = 8 … 256 (log–log slope ≈ 0.62), for every γ', 'Fig. 3a', 'statistical; **xfail-able** until the plotted statistic is confirmed'),
    Claim('A6', 'A', 'BN recovers rank from a nearly rank-one input', 'Fig. 3b', 'statistical'),
    Claim('A7', 'A', 'Rank robustness carries over to ReLU nets', 'abstract/§1 (empirical only, no theorem); Fig. 2 "ReLU" panel (tanh in code)', 'statistical; directional in the paper, thresholds from [C]'),
    Claim('A8', 'A', "Fig. 1 at initialisation: the vanilla MLP's last-hidden-layer rank collapses with depth, the BN MLP keeps 128", 'Fig. 1 (rank panel)', 'statistical (forward only)'),
    Claim('A9', 'A', 'Fig. 1 training: vanilla MLPs stop learning beyond ~10 layers, BN MLPs train at every depth up to 32', 'Fig. 1 (accuracy panel)', 'training; **directional** at CPU scale (plot read-offs give numbers at paper scale)'),
    Claim('A10', 'A', 'Raising the rank by pre-training speeds up SGD; the rank predicts optimisation speed', 'Figs. 4 and 6; abstract (v1)', 'training; **directional** (no numbers in the paper or the code outputs)'),
    Claim('A11', 'A', 'BN variants (Fig. 5): full BN and scaling-only keep the rank far above no normalisation', 'Fig. 5', 'statistical; **directional** (expectation is [I]; centring-only unverified)'),
    Claim('B1', 'B', 'V identities: V = 0 for orthogonal, equal-norm samples; V = √(1 − 1/n) for rank one; V invariant to H → cH and H → H·O (O orthogonal, d×d); V² = Σσ_i⁴ − 1/n when ‖H‖_F = 1', '§3.2 Eq. (2); proof of Lemma 4', 'exact'),
    Claim('B2', 'B', 'Norm preservation: ‖H_ℓ‖_F = 1 after every BN layer', 'App. A.2 Eq. (10)', 'exact'),
    Claim('B3', 'B', 'Lemma 4: V ≤ 2n·V̂; the tight constant is √(n(n−1))', 'App. A.3 Lemma 4', 'exact'),
    Claim('B4', 'B', "Lemma 8 with Sawa's integral (Lemma 9): (a) Σp_i = 1; (b) argmin p = argmin σ; (c) 1/n − p_n ≤ (1 − 2nσ_n²/(n+2))(1/n − σ_n²) ≤ (1 − (2/3)σ_n²)·V̂", 'App. B–C, Lemmas 8–9', 'exact (numerical quadrature)'),
    Claim('B5', 'B', 'Near-isotropy contraction: V shrinks by a factor n/(n+2) per layer as d → ∞ (0.667 for n = 4)', 'derived [I] from App. C.2 and Lemma 8; **not stated in the paper**', 'exact (numerical)'),
    Claim('B6', 'B', 'One iterative-orthogonalisation layer (Eq. 6, V′ orthogonal) strictly lowers the gap', 'App. E; §5.2 Eq. (6)', 'exact (strict inequality)'),
    Claim('B7', 'B', 'Full whitening, (M Mᵀ)^{+1/2} M in place of diag-BN, gives V = 0', 'remark after Thm 1', 'exact'),
    Claim('B8', 'B', 'Lemma 6: E_W‖C − E_W C‖_F² ≤ 1/d; E_W C = U diag(p) Uᵀ', 'App. B Lemma 6', 'statistical (one-step Monte Carlo)'),
    Claim('B9', 'B', 'Lemma 7: E_W[(V̂′ − (1/n − p_n))²] ≤ 1/d', 'App. B Lemma 7', 'statistical'),
    Claim('B10', 'B', 'Theorem 5 (one-step drift, no A₁): E[V̂′ | H] ≤ (1 − (2/3)σ_n²)·V̂ + 1/√d', 'App. B Thm 5', 'statistical, one-sided'),
    Claim('B11', 'B', 'Near isotropy the 1/√d term is needed: noise pushes V̂ up (the floor mechanism)', 'App. B Thm 5', 'statistical'),
    Claim('B12', 'B', 'log V falls linearly with depth, then plateaus at a width-dependent floor', 'Fig. 2a; Thm 1', 'statistical; the paper gives the shape only, bands come from [C]/[T]'),
    Claim('B13', 'B', 'Floor ∝ d^{-1/2}: slope of log(layer-averaged V) against log d is −0.46', 'Fig. 2b; Thm 1', 'statistical'),
    Claim('B14', 'B', 'Floor level E[V_∞] ≈ √((n−1)(n+2)²/(4n(n+1)d)), i.e. 1.16/√d for n = 4', '**beyond the paper** [I]: noise variance (1 − 1/n)/d and contraction n/(n+2)', 'statistical; informational'),
    Claim('B15', 'B', 'Theorem 1 is not violated: E[V(H_{ℓ+1})] ≤ 2(1 − 2α/3)^ℓ + 3n/(α√d)', 'Thm 1, Eq. (3)', 'statistical, one-sided'),
    Claim('B16', 'B', "The transient decays at least as fast as the theorem's best rate, 1 − 2/(3n) per layer", 'Thm 1 / Thm 5 rate', 'statistical, one-sided'),
    Claim('B17', 'B', 'Averaged statement without A₁: E[(1/ℓ)Σ_k V̂(H_k)(1/n − V̂(H_k))] ≤ 3E[V̂(H_0)]/(2ℓ) + 3/(2√d)', 'App. B.1', 'statistical, one-sided (run where it can fail)'),
    Claim('B18', 'B', 'Lemma 2 via the explicit coupling: c_ℓ = E Σ_i(σ_i(H_ℓ) − 1/√n)² ≤ n·E[V²] ≤ 2n·E[V] (c_ℓ bounds W₂²)', '§4.1 Lemma 2; App. D', 'exact inequalities (the first holds per sample)'),
    Claim('B19', 'B', 'The Gaussian-approximation radius shrinks with width: W₂² ≲ d^{-1/2}, i.e. W₂ = O(d^{-1/4})', 'Cor. 3; Table 1', 'statistical'),
    Claim('B20', 'B', 'Representations after the linear layer look Gaussian', '§4.1; Table 1', 'statistical; optional'),
    Claim('B21', 'B', 'BN decorrelates two highly correlated samples; vanilla aligns two orthogonal ones', 'Fig. 1', 'statistical; **directional** (no numbers in the paper)'),
    Claim('B22', 'B', 'Vanilla linear chain: the gap grows with depth towards rank one', '§3.2 (no theorem; cites products of random matrices)', 'statistical; **directional**'),
    Claim('B23', 'B', 'Conjecture F.1: for Q_{ℓ+1} = BN(W_ℓF(Q_ℓ)), E[L(Q_ℓ)] = O(1/√d) after burn-in', 'App. F.1; Fig. 6', 'statistical; **directional** (conjecture; no slope given)'),
    Claim('B24', 'B', 'F.2: for odd activations (tanh, sin) V itself has a d^{-1/2} floor, as in Thm 1', 'App. F.2', 'statistical; **directional**'),
    Claim('B25', 'B', 'For non-odd activations V is the wrong metric: it does not vanish with width', 'App. F (our reading [I])', 'statistical; **not a paper claim**'),
    Claim('B26', 'B', 'With standard BN and ReLU the gap falls to a depth-independent level; without BN it grows', 'Fig. 5 (App. F)', 'statistical; **directional**'),
    Claim('B27', 'B', 'The initial gap of a vanilla ReLU MLP (Xavier) rises with depth', 'Fig. 3a (gap curve)', 'statistical (no training); **directional**'),
    Claim('B28', 'B', 'Iterative orthogonalisation keeps the initial gap low at every depth', '§5.2 Eq. (6); App. E', 'statistical (no training)'),
    Claim('B29', 'B', 'Training slows with depth: training loss after 30 epochs rises with depth', 'Fig. 3a', 'training; **directional**'),
    Claim('B30', 'B', 'SGD orthogonalises: the gap shrinks during training', 'Fig. 3b', 'training; **directional**'),
    Claim('B31', 'B', 'The orthogonal init alleviates the slowdown with depth, without BN', 'Fig. 4', 'training; **directional** (the paper gives no speed-up number)'),
    Claim('B32', 'B', 'ConvNets: the orthogonal init is slower than Xavier at 20 conv layers and faster at 80', 'Fig. 7; Table 3 (App. G)', 'training; **directional**'),
    Claim('C1', 'C', 'Isometry gap φ ≥ 0, = 0 iff the Gram is a scaled identity, = ∞ if rank-deficient; invariant to scale and to orthogonal mixing of features.', 'Eq. 5 (§3)', 'exact'),
    Claim('C2', 'C', 'BN never lowers isometry: I(BN X) ≥ (1 + Var(r)/mean(r)²)·I(X), r = feature norms; exactly I(BN X)/I(X) = AM(r²)/GM(r²).', 'Joudaki et al. 2023b lemma; Lemma 2, Eq. 7', 'exact'),
    Claim('C3', 'C', 'Some orthogonal W makes BN(WX) perfectly isometric (W = Uᵀ, U = eigenvectors of X Xᵀ).', 'Cor. A.3', 'exact'),
    Claim('C4', 'C', 'One rotation + BN step raises expected isometry by at least (1 − Σ(λ−1)²/(2d²(d+2)))^{−1}; expected φ drops by at least the matching log term.', 'Thm 3 (Eq. 8), Cor. 4 (Eq. 9)', 'statistical (Monte Carlo of an exact expectation)'),
    Claim('C5', 'C', "Linear BN MLP with Haar weights and non-degenerate input: E φ(X_ℓ) decays exponentially in depth, more slowly for wider nets. **Directional in its constant:** the bound's C is not given.", 'Thm 1 (Eq. 6), Fig. 1', 'statistical'),
    Claim('C6', 'C', 'Generic Gaussian input, Haar weights: φ still goes to 0. Contrast (our observation, **not a paper claim**): Gaussian weights with n = d lose isometry.', 'Thm 1 (generic inputs)', 'statistical'),
    Claim('C7', 'C', "Orthogonal weights + BN: log‖∇_{W_1}L‖_F is bounded (flat) in depth for non-degenerate input; Gaussian weights make it grow linearly in depth (exponential explosion). **Directional:** the bound's constant is unknown; Fig. 3 gives only axis read-offs.", 'Thm 5 (Eq. 10), Fig. 3', 'statistical'),
    Claim('C8', 'C', 'Degenerate batches (repeated samples) make gradients explode even with orthogonal weights; near-degenerate batches plateau at a level that rises as they approach degeneracy. **Directional:** "degenerate" is not quantified in the paper.', "Remark 1, Fig. 2; Thm 5's φ(X_0) dependence", 'statistical'),
    Claim('C9', 'C', 'Mean reduction does not matter: standard mean-centred BN also keeps orthogonal-weight gradients bounded while Gaussian weights explode. **Directional.**', '§3 remark; Fig. G6 (appendix, not available)', 'statistical'),
    Claim('C10', 'C', 'Activation shaping: with gains α_ℓ = (ℓ+1)^{−0.4}, tanh and sin BN nets keep bounded gradients; without the gain they explode. **Directional:** the paper gives only axis ranges.', '§4–§5, Eq. 11, Fig. 5', 'statistical'),
    Claim('C11', 'C', 'Shaped BN MLPs train at large depth with largely depth-independent accuracy, and SGD keeps the middle layers near-orthogonal with non-negligible gradients. **Directional.**', 'Fig. 4, Fig. 6', 'training'),
    Claim('D1', 'D', 'I(M) ∈ [0, 1]; = 1 iff M ∝ I; = 0 iff M singular; invariant to scale and orthogonal conjugation.', 'T0; README definition', 'exact'),
    Claim('D2', 'D', "LN's scaling step multiplies isometry by AM(a)/GM(a) ≥ 1 (a_i = squared row norms), hence I(Ĝ) ≥ (1 + Var(r)/E[r]²)·I(G).", "T1 (exact form reconstructed [I]; the paper's own statement not available)", 'exact'),
    Claim('D3', 'D', 'BN analogue: scaling features (columns) to equal norm never lowers the isometry of C = HᵀH.', 'T1, BN analogue [I]', 'exact'),
    Claim('D4', 'D', 'Hermite constants c₀, c₁, Eσ², β₀, β_σ = 2 − β₀, α = 1/β_σ match the closed forms and the table of activation constants (provenance of D4).', "Hermite convention per [F]; authors' README; figure legends", 'exact (quadrature); Monte-Carlo variant statistical'),
    Claim('D5', 'D', "Mehler: κ(ρ) = Σ c_k² ρ^k; LN after σ gives κ̂ with κ̂(0) = 0, κ̂(1) = 1, κ̂'(0) = β₀.", 'Lemma A8, §5.2 / Thm 4 (per [F])', 'exact'),
    Claim('D6', 'D', 'Theorem A2: Ψ(κ̂(ρ)) ≤ Ψ(ρ)/β_σ for all ρ ∈ (−1, 1), Ψ(ρ) = |ρ|/(1 − |ρ|); contraction iff σ is non-linear', 'Thm A2 (per [F])', 'exact'),
    Claim('D7', 'D', 'Mean field: the Gram potential obeys γ(G^ℓ) ≤ γ(G⁰)·β_σ^{−ℓ} and the gap never increases with depth.', 'T3, Gram form [I]; `gamma_vs_theory` theory curve', 'exact (mean-field recursion)'),
    Claim('D8', 'D', "At finite width, LN's scaling step never raises the gap at any layer; during training, LN layers keep raising isometry (sawtooth).", 'T1; `isometry_init_train` figures', 'exact (CPU profile); training (paper scale)'),
    Claim('D9', 'D', 'A finite-width LN-MLP tracks the mean-field gap trajectory.', 'T2 + T3', 'statistical'),
    Claim('D10', 'D', 'The potential contracts at rate ≤ 1/β_σ, ordering activations exp < relu < sin < tanh < sigmoid.', 'T3, T4', 'statistical'),
    Claim('D11', 'D', 'At finite width the potential follows the contraction bound up to a finite-width noise floor of order 1/√d (closed form in rcbench.theory.finite_width).', 'T3, finite-width form [I]', 'statistical'),
    Claim('D12', 'D', 'A linear activation gives no bias towards isometry. **Directional.**', 'T4; `ln_hermite_poly` (He₁)', 'statistical (+ exact MF)'),
    Claim('D13', 'D', 'LN must centre after the activation: without centring ReLU/exp gain no isometry and sigmoid diverges; with centring the gap collapses. **Directional.**', 'T2 (per [F]); `with_without_centering`', 'statistical'),
    Claim('D14', 'D', 'Order matters: LN(σ(Wx)) drives ReLU nets to isometry, σ(LN(Wx)) does not. **Directional.**', 'T2; `activation_first_order`', 'statistical'),
    Claim('D15', 'D', 'Pure higher Hermite activations (He₂, He₃: c₁ = 0, β_σ = 2) contract fastest (super-exponentially in the mean field). **Directional.**', 'T4; `ln_hermite_poly`', 'statistical'),
    Claim('D16', 'D', "Weight gain g changes β_σ for tanh (increasing in g) but not for ReLU (positively homogeneous); sigmoid(2x) has tanh's β. Code-only, probably not in the paper.", "authors' gain table; notebook section on gain", 'exact (quadrature)'),
    Claim('D17', 'D', 'The finite-width floor of the post-LN gap scales like 1/d. Our observation, **not a paper claim**.', '[R] figure floors; [C]; related to T6', 'statistical'),
    Claim('D18', 'D', 'LN keeps the finite-width gap at its floor, while constant (mean-field) scaling drifts upward with depth. **Directional.**', 'T6; `mf_vs_finite`', 'statistical'),
    Claim('D19', 'D', 'A torch LN-MLP (norm → fc → act blocks) at init on a real image batch: the gap after each LN stays below β_σ^{−ℓ}·gap(0) plus the finite-width floor, and gap(10) is ordered ReLU < Tanh < Sigmoid.', '`isogap_vs_theory`', 'statistical'),
    Claim('D20', 'D', 'Training speed is ordered by β_σ: ReLU fastest, Sigmoid slowest. **Directional.**', 'T5; `beta0_train_loss`', 'training'),
)}


def get_claim(claim_id: str) -> Claim:
    """The catalogue entry of ``claim_id`` (for example ``"B13"``); a clear error for an unknown id."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim id {claim_id!r}; ids run A1-A11, B1-B32, C1-C11, D1-D20") from None
