"""Experiments of paper A: Daneshmand, Kohler, Bach, Hofmann, Lucchi, *Batch normalization provably avoids rank
collapse for randomly initialised deep networks* (NeurIPS 2020, arXiv 2003.01652).

Layout. The paper writes ``H_l`` as ``d x N`` (features x samples); rcbench uses ``(n, d)`` = the transpose. The
paper's BN ``diag(M M^T)^{-1/2} M`` (each *row*/feature to unit norm over the batch) is the norm ``"bn"`` here (each
*column* to unit norm over the ``n`` rows); ``W H`` is ``H @ W.T``. The soft rank ``r = tr(G)^2/||G||_F^2`` and the
numerical rank are layout-free; ``rank_tau`` counts eigenvalues of the feature Gram above ``tau`` times their mean
(:func:`rcbench.metrics.tau_rank`, divisor ``min(n, d)`` = the paper's ``d`` when ``n = d``).

Every function takes its sizes as keyword arguments and returns a tidy :class:`pandas.DataFrame` (one row per
seed x layer x setting). :data:`PROFILES` / :func:`config` give the claim's ``quick`` (CPU) and ``paper`` sizes.

Claims: A2-A7 use :func:`linear_chain` / :func:`rank_recovery` (the chains of Thm 2, Figs. 2, 3a, 3b), A8-A9
:func:`fig1_init_rank` / :func:`fig1_training` (Fig. 1), A10 :func:`rank_pretraining` (Figs. 4, 6), A11
:func:`conv_variants_rank` (Fig. 5); :func:`run_claim` runs one claim's experiments from its configuration.

Deep chains (up to ``10^6`` layers in the paper profile) are streamed: the network is built as a sequence of
:class:`rcbench.networks.MLP` chunks of at most ``chunk`` layers whose weights are drawn from seeds derived from
``(seed, width, chunk index)``, so memory stays bounded and the BN arm and its vanilla control see the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from rcbench import metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import gaussian_input, generator, positive_int, profile_config, storable, tidy
from rcbench.networks import MLP, NumericalDivergence
from rcbench.networks import init as I

__all__ = [
    "PROFILES",
    "config",
    "truncate",
    "run_claim",
    "subseed",
    "singular_value_ratio",
    "normalized_rank_tolerance",
    "normalized_layer_rank",
    "one_layer_rank",
    "linear_chain",
    "linear_chain_arms",
    "log_singular_ratio",
    "lyapunov_rates",
    "COLLAPSED_R",
    "LOG_COLLAPSED",
    "collapse_false_failure",
    "product_rank_bound",
    "slope_ratio_sd",
    "nearly_rank_one_input",
    "rank_recovery",
    "INPUT_LAWS",
    "FORMULATIONS",
    "gram_formulation_chain",
    "fig1_proxy_input",
    "fig1_data",
    "positive_weights",
    "FIG1_ARMS",
    "fig1_init_rank",
    "fig1_bn_lr",
    "fig1_training",
    "PRETRAIN_ARMS",
    "rank_pretraining",
    "SMALL_VGG",
    "VGG19",
    "CONV_VARIANTS",
    "SpatialNorm",
    "small_vgg",
    "conv_variants_rank",
]

INF = math.inf


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------
def subseed(seed: int, *tags: int) -> int:
    """A deterministic 31-bit seed derived from the master ``seed`` and integer ``tags`` (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(t) for t in tags]]).generate_state(1)[0] >> 1)


def _norm_label(norm) -> str:
    if norm is None:
        return "none"
    if isinstance(norm, str):
        return norm
    return getattr(norm, "__name__", None) or type(norm).__name__


def _widths(widths) -> list[int]:
    widths = [widths] if isinstance(widths, (int, np.integer)) else list(widths)
    if not widths:
        raise ValueError("widths is empty")
    return [positive_int(w, "width") for w in widths]


def _weights(init: str, gamma: float):
    """Initializer of the chain: ``gamma = inf`` gives ``init`` itself; finite ``gamma`` gives ``I + gamma W`` with
    ``W`` from ``init`` (paper A's ``W^(gamma)``, Thm 2 and Fig. 3)."""
    base = I.get_init(init)
    if gamma is None or (isinstance(gamma, float) and math.isinf(gamma)):
        return base
    gamma = float(gamma)
    if not (gamma >= 0 and math.isfinite(gamma)):
        raise ValueError(f"gamma must be a non-negative number or inf, got {gamma!r}")
    return I.perturbed_identity(gamma, base)


def _homogeneous(activation) -> bool:
    return activation in ("identity", "linear", "relu")


def singular_value_ratio(H: torch.Tensor) -> torch.Tensor:
    """``sigma_2(H) / sigma_1(H)`` from the singular values of ``H`` itself (not the Gram: the Gram cannot resolve
    ratios below ``sqrt(eps)``). Layout-free. Helper for claim A2 (a candidate for :mod:`rcbench.metrics`)."""
    H = M.check_representation(H)
    s = torch.linalg.svdvals(H)
    return s[..., 1] / s[..., 0]


def normalized_rank_tolerance(pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
    """Rank tolerance for ``post = norm(pre)`` when ``norm`` rescales columns (BN): ``sigma_max(post) * max(n, d) *
    eps * cond(D)``, shape ``(...)``.

    Derivation. ``pre = H W^T`` is computed in floating point: ``pre = P + E`` with ``P`` the exact product (rank
    ``<= rank(H)``) and ``||E||_2 <~ max(n, d) eps sigma_max(pre)`` (the usual matmul round-off bound, the same
    model as ``torch.linalg.matrix_rank``'s default tolerance). A column normalisation is ``post = pre D`` with
    ``D = diag(g_j)``, ``g_j = ||post_j|| / ||pre_j||`` (``1/||pre_j||`` for paper A's BN; for centred variants the
    per-column gain of absolute errors is the same ratio: centring does not enlarge ``E``'s columns but shrinks the
    signal). Hence ``post = P D + E D`` and the round-off part has ``||E D||_2 <= ||E||_2 max_j g_j <= max(n, d) eps
    sigma_max(pre) max_j g_j``. Since ``sigma_max(post) >= sigma_max(pre) min_j g_j``, this is at most ``max(n, d)
    eps sigma_max(post) cond(D)`` with ``cond(D) = max_j g_j / min_j g_j``: torch's default tolerance multiplied by
    the condition number of ``D``. Singular values of ``post`` above it are signal; the default tolerance (``cond = 1``)
    counts round-off that ``D`` amplified (seen in about 2% of exactly rank-k inputs at d = 32). Empirically (300
    master seeds x 4 ensemble seeds x k in {1, 3, 5}, d = 32) the largest round-off singular value is 0.012 of this
    tolerance, and the signal singular values are many orders above it."""
    n, d = post.shape[-2:]
    eps = torch.finfo(post.dtype).eps
    tiny = torch.finfo(post.dtype).tiny
    g = torch.linalg.vector_norm(post, dim=-2) / torch.linalg.vector_norm(pre, dim=-2).clamp_min(tiny)
    g = torch.where(g > 0, g, torch.nan)  # zero columns carry no signal and no amplified round-off
    cond = torch.nan_to_num(g.nanquantile(1.0, dim=-1) / g.nanquantile(0.0, dim=-1), nan=1.0)
    smax = torch.linalg.matrix_norm(post, ord=2)
    return smax * max(n, d) * eps * cond


def normalized_layer_rank(pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
    """Numerical rank of ``post = norm(pre)`` with :func:`normalized_rank_tolerance` (integer tensor ``(...)``)."""
    tol = normalized_rank_tolerance(pre, post)
    return (torch.linalg.svdvals(post) > tol[..., None]).sum(-1)


@torch.no_grad()
def one_layer_rank(x: torch.Tensor, *, seed: int = 0, norm="bn", init: str = "gaussian", gamma: float = INF,
                   device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """One block ``norm(x W^T)`` of :func:`linear_chain` (the same weights as ``linear_chain(depth=1, seed=seed)``)
    applied to ``x`` ``(seeds, n, d)``; returns ``(rank with the D-aware tolerance, float64 matrix_rank)`` of the
    output, each ``(seeds,)``. Used by A1 and A6's exactly-rank-one controls."""
    dev = resolve_device(device)
    x = x.to(device=dev, dtype=MEASUREMENT_DTYPE)
    S, n, d = x.shape
    net = MLP(d, d, 1, norm=norm, activation="identity", init=_weights(init, gamma), ensemble=S,
              seed=subseed(seed, d, 0), dtype=MEASUREMENT_DTYPE, device=dev)
    pre = net.blocks[0].linear(x)
    post = net(x)
    return normalized_layer_rank(pre, post), M.numerical_rank(post)


# ---------------------------------------------------------------------------------------------------------------
# the streamed chain
# ---------------------------------------------------------------------------------------------------------------
@torch.no_grad()
def _stream(
    x: torch.Tensor,
    *,
    width: int,
    depth: int,
    norm,
    activation: str,
    weights,
    layers: Sequence[int],
    on_chunk: Callable[[list[int], torch.Tensor], None],
    seed: int,
    chunk: int,
    seeds: int,
    device,
    dtype=MEASUREMENT_DTYPE,
) -> None:
    """Run ``x`` (``(seeds, n, width)``) through ``depth`` blocks ``linear -> norm -> act`` built chunk by chunk and
    call ``on_chunk(layer_ids, H)`` with the representations ``H`` (``(k, seeds, n, width)``) at the requested
    ``layers`` (0 = input) reached in each chunk. Vanilla homogeneous chains are rescaled to unit Frobenius norm per
    seed between chunks (rank quantities are scale-invariant; this only avoids under/overflow)."""
    wanted = set(int(l) for l in layers)
    h = x
    if 0 in wanted:
        on_chunk([0], h.unsqueeze(0))
    start = 0
    k = 0
    while start < depth:
        size = min(chunk, depth - start)
        net = MLP(
            width, width, size, norm=norm, activation=activation, init=weights, ensemble=seeds,
            seed=subseed(seed, width, k), dtype=dtype, device=device,
        )
        ids, hs = [], []

        def keep(l, hh, start=start, ids=ids, hs=hs):
            if l > 0 and (start + l) in wanted:
                ids.append(start + l)
                hs.append(hh)

        h = net(h, callback=keep)
        if ids:
            on_chunk(ids, torch.stack(hs))
        if norm is None and _homogeneous(activation):
            scale = torch.linalg.vector_norm(h.flatten(-2), dim=-1).clamp_min(torch.finfo(h.dtype).tiny)
            h = h / scale[:, None, None]
        start += size
        k += 1


def _chain_input(kind, n: int, d: int, seeds: int, seed: int, device) -> torch.Tensor:
    if isinstance(kind, torch.Tensor):
        x = kind.to(device=resolve_device(device), dtype=MEASUREMENT_DTYPE)
        return x.expand(seeds, n, d) if x.ndim == 2 else x
    if kind == "gaussian":
        return gaussian_input(n, d, seed=subseed(seed, d, 10**6), ensemble=seeds, device=device)
    if kind == "identity":
        return torch.eye(d, dtype=MEASUREMENT_DTYPE, device=resolve_device(device)).expand(seeds, d, d).clone()
    raise ValueError(f"unknown input kind {kind!r}; 'gaussian', 'identity' or a tensor")


def _chain_measurer(d: int, out: dict, ids_all: list):
    """``on_chunk`` callback of :func:`linear_chain`: append the requested statistics of ``H`` to ``out``."""

    def measure(ids, H):
        if not bool(torch.isfinite(H).all()):
            raise NumericalDivergence(f"non-finite representation at layer(s) {ids} (width {d})")
        ids_all.extend(ids)
        if "soft_rank" in out:
            out["soft_rank"].append(M.spectral_metrics(H @ H.transpose(-1, -2), ["soft_rank"], d=d)["soft_rank"])
        if "rank_tau05" in out:
            out["rank_tau05"].append(M.tau_rank(H, 0.5).to(MEASUREMENT_DTYPE))
        if "numerical_rank" in out:
            out["numerical_rank"].append(M.numerical_rank(H).to(MEASUREMENT_DTYPE))
        if "gram_numerical_rank" in out:  # Fig. 3a notebook: matrix_rank of the Gram M, not of H
            out["gram_numerical_rank"].append(M.numerical_rank(H @ H.transpose(-1, -2)).to(MEASUREMENT_DTYPE))
        if "sv_ratio" in out:
            out["sv_ratio"].append(singular_value_ratio(H))
        if "eig_ratio10" in out:  # Fig. 3b: lambda_10 / lambda_1 of the Gram, as (s_10/s_1)^2 from H itself (an
            # eigensolver on the Gram has an absolute floor ~n eps lambda_1: the authors' input starts near it)
            s = torch.linalg.svdvals(H)
            out["eig_ratio10"].append((s[..., 9] / s[..., 0]) ** 2)

    return measure


_CHAIN_STATS = ("soft_rank", "rank_tau05", "numerical_rank", "gram_numerical_rank", "sv_ratio", "eig_ratio10")


@storable
def linear_chain(
    *,
    widths: Sequence[int] | int,
    depth: int,
    seeds: int = 5,
    seed: int = 0,
    norm="bn",
    init: str = "gaussian",
    gamma: float = INF,
    activation: str = "identity",
    input: str | torch.Tensor = "gaussian",
    batch: int | None = None,
    burn_in: int = 0,
    sample_every: int = 1,
    extra_layers: Sequence[int] = (),
    stats: Sequence[str] = ("soft_rank", "rank_tau05", "numerical_rank"),
    chunk: int = 100,
    device="cpu",
) -> pd.DataFrame:
    """The chain ``H_{l+1} = act(norm(H_l W_l^T))`` of paper A (Thm 2's ``BN(W H)``, Fig. 2, Fig. 3a), one row per
    width x seed x measured layer.

    ``norm=None`` is the vanilla chain (paper A §1.2: ``H_{l+1} = W_l H_l``, renormalised for overflow only).
    ``init`` defaults to ``N(0, 1/d)``; BN is scale-invariant, so for BN chains this equals the paper code's
    ``N(0, 1)``, and it keeps vanilla chains finite. ``gamma`` gives the perturbed-identity weights
    ``I + gamma W`` with ``W`` from ``init`` (``inf``: ``W`` alone; use ``init="gaussian_unit"`` for the paper's
    ``W ~ N(0, 1)``). The input is an i.i.d.
    Gaussian ``(n, d)`` batch (``n = batch`` or ``d``: the paper's ``N = d``), the identity (Fig. 3a's ``M_0 = I``)
    or a given tensor. Layers measured: ``burn_in, burn_in + sample_every, ..., depth`` plus ``extra_layers`` (and
    layer 0). Statistics (``stats``): ``soft_rank`` (r), ``rank_tau05`` (``rank_tau`` at ``tau = 0.5``),
    ``numerical_rank`` (float64 ``matrix_rank`` of ``H``, as the paper's Fig. 2 code), ``gram_numerical_rank``
    (``matrix_rank`` of the Gram ``M = H H^T``, as the Fig. 3a notebook), ``sv_ratio`` (``sigma_2/sigma_1``),
    ``eig_ratio10`` (``lambda_10 / lambda_1`` of the Gram, Fig. 3b; needs ``n >= 10``).
    """
    widths = _widths(widths)
    depth = positive_int(depth, "depth")
    seeds = positive_int(seeds, "seeds")
    sample_every = positive_int(sample_every, "sample_every")
    chunk = positive_int(chunk, "chunk")
    if not 0 <= burn_in <= depth:
        raise ValueError(f"burn_in must lie in [0, depth={depth}], got {burn_in}")
    unknown = [s for s in stats if s not in _CHAIN_STATS]
    if unknown:
        raise ValueError(f"unknown statistic(s) {unknown}; available: {list(_CHAIN_STATS)}")
    layers = sorted({0, *range(burn_in, depth + 1, sample_every), *[int(l) for l in extra_layers if 0 <= l <= depth]})
    frames = _chain_arms([(norm, gamma)], widths=widths, depth=depth, seeds=seeds, seed=seed, init=init,
                         activation=activation, input=input, batch=batch, layers=layers, stats=stats, chunk=chunk,
                         device=device)  # fmt: skip
    return pd.concat(frames[0], ignore_index=True)


@storable
def linear_chain_arms(*, arms: Sequence[Sequence], widths: Sequence[int] | int, depth: int, seeds: int = 5,
                      seed: int = 0, init: str = "gaussian", activation: str = "identity",
                      input: str | torch.Tensor = "gaussian", batch: int | None = None, burn_in: int = 0,
                      sample_every: int = 1, extra_layers: Sequence[int] = (),
                      stats: Sequence[str] = ("soft_rank", "rank_tau05", "numerical_rank"), chunk: int = 100,
                      device="cpu") -> pd.DataFrame:  # fmt: skip
    """:func:`linear_chain` for several arms ``[(norm, gamma), ...]`` at once: the concatenation, in arm order, of
    ``linear_chain(norm=norm, gamma=gamma, ...)`` over the arms, bit-identical to it (the arms share the weights,
    as separate calls with the same ``seed`` do), computed with arms and seeds batched in one tensor
    (:mod:`rcbench.networks.fast_chain`) when every arm allows it."""
    arms = [(a[0], float(a[1])) for a in arms]
    if not arms or any(len(a) != 2 for a in arms):
        raise ValueError("arms must be a non-empty list of (norm, gamma) pairs")
    depth = positive_int(depth, "depth")
    if not 0 <= burn_in <= depth:
        raise ValueError(f"burn_in must lie in [0, depth={depth}], got {burn_in}")
    layers = sorted({0, *range(burn_in, depth + 1, positive_int(sample_every, "sample_every")),
                     *[int(l) for l in extra_layers if 0 <= l <= depth]})  # fmt: skip
    frames = _chain_arms(arms, widths=_widths(widths), depth=depth, seeds=positive_int(seeds, "seeds"), seed=seed,
                         init=init, activation=activation, input=input, batch=batch, layers=layers, stats=stats,
                         chunk=positive_int(chunk, "chunk"), device=device)  # fmt: skip
    return pd.concat([f for per_arm in frames for f in per_arm], ignore_index=True)


#: use :mod:`rcbench.networks.fast_chain` where it applies (same numbers; ``False`` times the module path)
FAST_CHAIN = True


def _fast_chain_supported(norm, activation, init, gamma) -> bool:
    from rcbench.networks import fast_chain

    return fast_chain.supported(norm, activation, init, gamma)


def _chain_arms(arms, *, widths, depth, seeds, seed, init, activation, input, batch, layers, stats, chunk,
                device) -> list[list[pd.DataFrame]]:  # fmt: skip
    """Per arm ``(norm, gamma)``, the per-width frames of :func:`linear_chain`. Every arm with a named stateless norm,
    a named activation and Gaussian weights runs in one batched stream (:func:`rcbench.networks.fast_chain.stream_arms`,
    bit-identical to the module path); otherwise each arm runs through :func:`_stream`."""
    from rcbench.networks import fast_chain

    unknown = [s for s in stats if s not in _CHAIN_STATS]
    if unknown:
        raise ValueError(f"unknown statistic(s) {unknown}; available: {list(_CHAIN_STATS)}")
    for norm, _ in arms:
        if isinstance(norm, str):
            from rcbench.networks.norms import get_norm

            get_norm(norm, 2, 1)  # unknown names fail here, before any work
    weights = [_weights(init, gamma) for _, gamma in arms]
    fast = FAST_CHAIN and all(_fast_chain_supported(norm, activation, init, gamma) for norm, gamma in arms)
    dev = resolve_device(device)
    frames: list[list[pd.DataFrame]] = [[] for _ in arms]
    for d in widths:
        n = d if batch is None else positive_int(batch, "batch")
        if input == "identity" and n != d:
            raise ValueError("input='identity' needs batch == width")
        x = _chain_input(input, n, d, seeds, seed, dev)
        if tuple(x.shape) != (seeds, n, d):
            raise ValueError(f"input has shape {tuple(x.shape)}, expected {(seeds, n, d)}")
        outs = [{s: [] for s in stats} for _ in arms]
        ids = [[] for _ in arms]
        measures = [_chain_measurer(d, outs[a], ids[a]) for a in range(len(arms))]
        if fast:
            A = len(arms)
            joint: dict[str, list[torch.Tensor]] = {s: [] for s in stats}
            measure_all = _chain_measurer(d, joint, [])

            def on_chunk(layer_ids, H, measure_all=measure_all, joint=joint, ids=ids, outs=outs, A=A):
                # every arm's layers in one measurement call (arm-major, each arm's block as a separate call lays
                # it out, so the same rounding), then split back per arm
                k = len(layer_ids)
                measure_all(layer_ids * A, H.transpose(0, 1).reshape(A * k, *H.shape[2:]))
                for a in range(A):
                    ids[a].extend(layer_ids)
                    for s in joint:
                        outs[a][s].append(joint[s][-1].view(A, k, *joint[s][-1].shape[1:])[a])

            fast_chain.stream_arms(x, depth=depth, init=init, gammas=[g for _, g in arms], norms=[nm for nm, _ in arms],
                                   activation=activation, layers=layers, on_chunk=on_chunk,
                                   chunk_seed=lambda k, d=d: subseed(seed, d, k), chunk=chunk,
                                   renorm=[nm is None and _homogeneous(activation) for nm, _ in arms])  # fmt: skip
        else:
            for a, (norm, _) in enumerate(arms):
                _stream(x, width=d, depth=depth, norm=norm, activation=activation, weights=weights[a], layers=layers,
                        on_chunk=measures[a], seed=seed, chunk=chunk, seeds=seeds, device=dev)  # fmt: skip
        for a, (norm, gamma) in enumerate(arms):
            values = {s: torch.cat(v) for s, v in outs[a].items()}
            df = tidy(values, seeds=list(range(seeds)), width=d, norm=_norm_label(norm), gamma=float(gamma),
                      activation=activation, init=str(init))
            df["layer"] = np.repeat(np.asarray(ids[a]), seeds)
            frames[a].append(df)
    return frames


def log_singular_ratio(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``log_sv_ratio = log(sigma_2/sigma_1)`` to a :func:`linear_chain` frame measured with ``sv_ratio``."""
    if "sv_ratio" not in df:
        raise ValueError("the frame has no sv_ratio column; run linear_chain(..., stats=('sv_ratio', ...))")
    out = df.copy()
    out["log_sv_ratio"] = np.log(out["sv_ratio"].clip(lower=np.finfo(float).tiny))
    return out


def lyapunov_rates(df: pd.DataFrame, *, start: Callable[[int], int] | int = 0) -> pd.DataFrame:
    """Per width and seed, the least-squares slope of ``log(sigma_2/sigma_1)`` against depth over layers
    ``>= start`` (a number or a function of the width); one row per width x seed with ``rate``."""
    from rcbench import stats

    df = log_singular_ratio(df)
    rows = []
    for (d, s), g in df.groupby(["width", "seed"]):
        lo = start(d) if callable(start) else start
        g = g[g.layer >= lo]
        fit = stats.slope(g.layer, g.log_sv_ratio)
        rows.append({"width": d, "seed": s, "rate": fit.slope, "r2": fit.r2, "points": fit.n})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# collapse thresholds of the vanilla chain as functions of (d, L, seeds) (A2, A3, A5; rcbench.theory.products)
# ---------------------------------------------------------------------------------------------------------------
#: "collapsed" = r < 1.10: with x = (s2/s1)^2 small, r = (1 + x)^2 / (1 + x^2) ~ 1 + 2x, so r - 1 < 0.1 means 5% of
#: the energy off the top direction, i.e. log(s2/s1) < log(0.05)/2 = -1.50 (a definition, free of the sizes)
COLLAPSED_R = 1.10
LOG_COLLAPSED = 0.5 * math.log((COLLAPSED_R - 1) / 2)
#: largest predicted false-failure rate per run of a collapse check (regime of A2)
COLLAPSE_FALSE_FAILURE = 0.005


def collapse_false_failure(widths, depth: int, seeds: int, log_threshold: float = LOG_COLLAPSED):
    """Per width the z-margin of ``log(s2/s1) < log_threshold`` at layer ``depth`` of the vanilla Gaussian chain
    (:func:`rcbench.theory.products.collapse_margin`), and the predicted probability that a run of ``seeds`` chains
    per width has at least one chain not yet collapsed: ``1 - prod_d Phi(z_d)^seeds``."""
    from scipy.stats import norm as _normal

    from rcbench.theory import products

    z = {int(d): products.collapse_margin(int(d), int(depth), log_threshold) for d in _widths(widths)}
    p = 1.0 - math.prod(float(_normal.cdf(v)) ** int(seeds) for v in z.values())
    return z, p


def product_rank_bound(d: int, depth: int, chains: int, *, n: int | None = None, alpha: float = 1e-3) -> int:
    """Largest float64 ``matrix_rank`` of the vanilla Gaussian chain ``H_depth`` (n x d) that ``chains`` chains
    should show, at family false-failure rate ``alpha``: 1 (the top direction) + the number of k >= 2 whose
    ``log(s_k/s_1)`` upper quantile (``z = Phi^-1(1 - alpha/chains)``, moments of
    :func:`rcbench.theory.products.log_singular_ratio_moments`) still exceeds matrix_rank's threshold
    ``log(max(n, d) eps)`` + 1 round-off direction: the chain's per-layer round-off (~eps s1) decays at the gap
    ~1/(2d) per layer, so its stationary floor ~eps sqrt(d / (2 gap)) ~ d eps sits at that threshold for every d
    (A4 measured rank 3 in 1.3% of d = 32 chains at L = 2000, where the true s3/s1 ~ e^-67)."""
    from scipy.stats import norm as _normal

    from rcbench.theory import products

    d = positive_int(d, "d")
    z = float(_normal.isf(alpha / positive_int(chains, "chains")))
    thr = math.log(max(n or d, d) * float(np.finfo(np.float64).eps))
    above = 0
    for k in range(2, d + 1):
        mean, var = products.log_singular_ratio_moments(d, k)
        if mean * depth + z * math.sqrt(var * depth) <= thr:
            break  # the means decrease in k and the variances are comparable: no later k is above
        above += 1
    return min(d, 2 + above)


def slope_ratio_sd(d: int, span: float) -> float:
    """Sd of (least-squares slope of log(s2/s1) over ``span`` layers) / Newman's rate, for one chain: a random walk
    of per-layer variance v has an OLS slope of variance 6 v / (5 T) over a window of T layers."""
    from rcbench.theory import products

    mean, var = products.log_singular_ratio_moments(int(d))
    return math.sqrt(6 * var / (5 * float(span))) / abs(mean)


# ---------------------------------------------------------------------------------------------------------------
# Fig. 3b: recovery from a nearly rank-one input (A6)
# ---------------------------------------------------------------------------------------------------------------
#: input laws of Fig. 3b's start ``c 1 1^T + noise G``: ``c = 1`` (rcbench's first protocol) or ``"authors"``:
#: ``c = x.x`` with ``x ~ N(0, I_d)`` drawn per seed, as ``code_fig_3_b.ipynb`` (``H = x@x.T + 1e-5 randn(d, d)``
#: with a 1-D ``x``: ``x@x.T`` is the scalar ``x.x ~ chi^2_d``, about 50 at d = 50; relative noise ~2e-7).
INPUT_LAWS = ("authors",)


def nearly_rank_one_input(n: int, d: int, *, seeds: int, seed: int = 0, c: float | str = 1.0, noise: float = 1e-5,
                          exact: bool = False, device="cpu") -> torch.Tensor:
    """Fig. 3b's start ``c 1 1^T + noise * G`` (``G`` i.i.d. N(0, 1)), shape ``(seeds, n, d)``; ``c="authors"``
    draws ``c = x.x``, ``x ~ N(0, I_d)``, per seed (the authors' code, :data:`INPUT_LAWS`). ``exact=True`` gives
    an exactly rank-one ``u v^T`` with Gaussian ``u, v`` instead (generic, and not removed by centring)."""
    g = generator(subseed(seed, n, d, 31))
    if exact:
        u = torch.randn(seeds, n, 1, generator=g, dtype=MEASUREMENT_DTYPE)
        v = torch.randn(seeds, 1, d, generator=g, dtype=MEASUREMENT_DTYPE)
        x = u @ v
    else:
        noise_g = noise * torch.randn(seeds, n, d, generator=g, dtype=MEASUREMENT_DTYPE)
        if isinstance(c, str):
            if c != "authors":
                raise ValueError(f"c must be a number or one of {INPUT_LAWS}, got {c!r}")
            xs = torch.randn(seeds, d, generator=generator(subseed(seed, n, d, 32)), dtype=MEASUREMENT_DTYPE)
            scale = (xs * xs).sum(-1)[:, None, None]
        else:
            if not (math.isfinite(float(c)) and float(c) > 0):
                raise ValueError(f"c must be a positive finite number, got {c!r}")
            scale = float(c)
        x = scale * torch.ones(seeds, n, d, dtype=MEASUREMENT_DTYPE) + noise_g
    return x.to(resolve_device(device))


@storable
def rank_recovery(*, width: int = 50, depth: int = 30, seeds: int = 5, seed: int = 0, norm="bn", gamma: float = 1.0,
                  init: str = "gaussian_unit", noise: float = 1e-5, c: float | str = 1.0, exact: bool = False,
                  formulation: str = "h", precision: str = "float64", device="cpu") -> pd.DataFrame:
    """Fig. 3b: the BN chain with ``W~ = I + gamma W`` (``W ~ N(0, 1)``; the code's ``I + 0.01 (100 W)``) from a
    nearly rank-one start ``c 1 1^T + noise G`` (``c="authors"``: the authors' ``c = x.x``; ``exact=True``: an
    exactly rank-one start), every layer: ``soft_rank``, ``numerical_rank`` and ``eig_ratio`` = ``lambda_10 /
    lambda_1`` of the Gram (the paper plots the top-10 eigenvalues on a log scale; computed as
    ``(sigma_10/sigma_1)^2`` from the singular values of ``H``, which resolves ratios down to ``eps^2``, not
    ``n eps`` as an eigensolver on the Gram would). ``norm=None``: the vanilla chain.

    ``formulation="gram"`` evolves the ``d x d`` Gram ``F = H^T H`` instead (the authors' code: ``M <- D W~ M
    W~^T D``), with the same weights, in ``precision`` ``"float64"`` or ``"longdouble"`` (numpy's extended type);
    see :func:`gram_formulation_chain` (its ``numerical_rank`` is ``matrix_rank`` of the Gram)."""
    width = positive_int(width, "width")
    if width < 10:
        raise ValueError(f"rank_recovery tracks lambda_10 and needs width >= 10, got {width}")
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")
    x = nearly_rank_one_input(width, width, seeds=seeds, seed=seed, noise=noise, c=c, exact=exact, device=device)
    if formulation == "h":
        if precision != "float64":
            raise ValueError("the H chain runs in float64 (precision='float64'); longdouble is for formulation='gram'")
        df = linear_chain(widths=width, depth=depth, seeds=seeds, seed=seed, norm=norm, init=init, gamma=gamma,
                          input=x, stats=("soft_rank", "numerical_rank", "eig_ratio10"), device=device)
    else:
        df = gram_formulation_chain(widths=width, depth=depth, seeds=seeds, seed=seed, norm=norm, init=init,
                                    gamma=gamma, input=x, stats=("soft_rank", "gram_numerical_rank", "eig_ratio10"),
                                    precision=precision, device=device)
        df = df.rename(columns={"gram_numerical_rank": "numerical_rank"})
    df = df.rename(columns={"eig_ratio10": "eig_ratio"})
    df["start"] = "exact_rank_one" if exact else "nearly_rank_one"
    df["input_law"] = str(c)
    return df


# ---------------------------------------------------------------------------------------------------------------
# the authors' formulation: the d x d Gram chain (Figs. 3a, 3b code), same weights as the H chain
# ---------------------------------------------------------------------------------------------------------------
FORMULATIONS = ("h", "gram")
_GRAM_STATS = ("soft_rank", "rank_tau05", "gram_numerical_rank", "eig_ratio10")


def _chain_weights(*, width: int, depth: int, weights, seed: int, chunk: int, seeds: int):
    """The weights ``W_l`` (``(seeds, width, width)``, float64, CPU) of :func:`_stream`'s chain, layer by layer: the
    same chunks, seeds and draws (an MLP's weight draws do not depend on its norm or activation)."""
    start, k = 0, 0
    while start < depth:
        size = min(chunk, depth - start)
        net = MLP(width, width, size, norm=None, activation="identity", init=weights, ensemble=seeds,
                  seed=subseed(seed, width, k), dtype=MEASUREMENT_DTYPE, device="cpu")
        for b in net.blocks:
            yield b.linear.weight.detach()
        start += size
        k += 1


def _gram_stats(F: np.ndarray, stats: Sequence[str]) -> dict[str, np.ndarray]:
    """Statistics of a stack of feature Grams ``F`` (``(seeds, d, d)``), measured in float64 as the authors do
    (``eigh`` / ``matrix_rank`` of the Gram)."""
    G = torch.from_numpy(np.ascontiguousarray(F, dtype=np.float64))
    G = (G + G.transpose(-1, -2)) / 2
    lam = torch.linalg.eigvalsh(G)
    lam_c = lam.clamp_min(0)
    d = G.shape[-1]
    out = {}
    if "soft_rank" in stats:
        out["soft_rank"] = (lam_c.sum(-1) ** 2 / (lam_c ** 2).sum(-1)).numpy()
    if "rank_tau05" in stats:
        out["rank_tau05"] = (lam > 0.5 * lam.sum(-1, keepdim=True) / d).sum(-1).to(torch.float64).numpy()
    if "gram_numerical_rank" in stats:
        out["gram_numerical_rank"] = torch.linalg.matrix_rank(G, hermitian=True).to(torch.float64).numpy()
    if "eig_ratio10" in stats:
        out["eig_ratio10"] = (lam[..., -10] / lam[..., -1]).clamp_min(0).numpy()
    return out


@storable
def gram_formulation_chain(
    *,
    widths: Sequence[int] | int,
    depth: int,
    seeds: int = 5,
    seed: int = 0,
    norm="bn",
    init: str = "gaussian",
    gamma: float = INF,
    input: str | torch.Tensor = "gaussian",
    burn_in: int = 0,
    sample_every: int = 1,
    extra_layers: Sequence[int] = (),
    stats: Sequence[str] = ("soft_rank", "rank_tau05", "gram_numerical_rank"),
    precision: str = "float64",
    chunk: int = 100,
    device="cpu",
) -> pd.DataFrame:
    """Paper A's chain in the authors' formulation (``code_fig_3_a/b.ipynb``): the ``d x d`` feature Gram ``F =
    H^T H`` (the paper's ``M = H H^T``) evolves as ``F <- D W F W^T D``, ``D = diag(W F W^T)^{-1/2}`` (theory BN,
    ``norm="bn"``) or ``F <- W F W^T / tr`` (``norm=None``), with **the same weights** as :func:`linear_chain`
    with the same arguments (same chunks and seeds), so any difference between the two is round-off. The arithmetic
    runs in ``precision`` (``"float64"``, or ``"longdouble"``: numpy's extended type, 80-bit on x86); the statistics
    are measured in float64 on the Gram (``eigh``/``matrix_rank`` of ``F``, as the notebooks do): ``soft_rank``,
    ``rank_tau05``, ``gram_numerical_rank``, ``eig_ratio10``. Batch = width (``n = d``, the code's ``N = d``).
    One row per width x seed x measured layer, the columns of :func:`linear_chain` plus ``formulation``,
    ``precision``. CPU only (numpy)."""
    widths = _widths(widths)
    depth = positive_int(depth, "depth")
    seeds = positive_int(seeds, "seeds")
    sample_every = positive_int(sample_every, "sample_every")
    chunk = positive_int(chunk, "chunk")
    if norm not in ("bn", None):
        raise ValueError(f"the Gram formulation implements the theory BN ('bn') or no norm (None), got {norm!r}")
    if precision not in ("float64", "longdouble"):
        raise ValueError(f"precision must be 'float64' or 'longdouble', got {precision!r}")
    unknown = [s for s in stats if s not in _GRAM_STATS]
    if unknown:
        raise ValueError(f"unknown statistic(s) {unknown} for the Gram formulation; available: {list(_GRAM_STATS)}")
    if not 0 <= burn_in <= depth:
        raise ValueError(f"burn_in must lie in [0, depth={depth}], got {burn_in}")
    dt = np.float64 if precision == "float64" else np.longdouble
    weights = _weights(init, gamma)
    layers = sorted({0, *range(burn_in, depth + 1, sample_every), *[int(l) for l in extra_layers if 0 <= l <= depth]})
    wanted = set(layers)
    frames = []
    for d in widths:
        x = _chain_input(input, d, d, seeds, seed, "cpu")
        if tuple(x.shape) != (seeds, d, d):
            raise ValueError(f"input has shape {tuple(x.shape)}, expected {(seeds, d, d)}")
        h = x.numpy().astype(dt)
        F = np.swapaxes(h, -1, -2) @ h
        rec: dict[str, list] = {s: [] for s in stats}
        ids = []

        def keep(l, F=F):
            ids.append(l)
            for k, v in _gram_stats(F, stats).items():
                rec[k].append(v)

        if 0 in wanted:
            keep(0, F)
        for l, W in enumerate(_chain_weights(width=d, depth=depth, weights=weights, seed=seed, chunk=chunk,
                                             seeds=seeds), start=1):
            Wn = W.numpy().astype(dt)
            F = Wn @ F @ np.swapaxes(Wn, -1, -2)
            if norm == "bn":
                g = 1 / np.sqrt(np.diagonal(F, axis1=-2, axis2=-1))
                F = g[..., :, None] * F * g[..., None, :]
            else:
                F = F / np.trace(F, axis1=-2, axis2=-1)[..., None, None]
            if not np.isfinite(F).all():
                raise NumericalDivergence(f"non-finite Gram at layer {l} (width {d})")
            if l in wanted:
                keep(l, F)
        values = {k: torch.from_numpy(np.stack(v)) for k, v in rec.items()}
        df = tidy(values, seeds=list(range(seeds)), width=d, norm=_norm_label(norm), gamma=float(gamma),
                  activation="identity", init=str(init), formulation="gram", precision=precision)
        df["layer"] = np.repeat(np.asarray(ids), seeds)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# Fig. 1: MLPs at initialisation (A8) and their training (A9)
# ---------------------------------------------------------------------------------------------------------------
def fig1_proxy_input(n: int = 128, *, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    """A FashionMNIST-like proxy batch ``(n, 784)``: scikit-learn's 8x8 digits scaled to [0, 1] (``x / 16``) and
    bilinearly upsampled to 28 x 28, so the input is non-negative with the paper's ``x / 255`` scale and dimension."""

    return _upsampled_digits(dtype).subset(n, seed=seed).x


def _upsampled_digits(dtype=torch.float32):
    """scikit-learn's digits as 1797 non-negative 28 x 28 images (``x / 16``, bilinear upsampling), 784 features."""
    from rcbench.data import Dataset, digits

    ds = digits(standardize=False, dtype=dtype)
    x = torch.nn.functional.interpolate(ds.x.reshape(-1, 1, 8, 8), size=(28, 28), mode="bilinear",
                                        align_corners=False).reshape(-1, 784)
    return Dataset(x, ds.y, "digits28", 10)


def fig1_data(data_root=None, *, dtype=torch.float32):
    """Fig. 1's training data: FashionMNIST (``x / 255``, 784 features) under ``data_root`` via torchvision
    (never downloads), else the upsampled-digits proxy of :func:`fig1_proxy_input` (1797 images)."""
    if data_root is None:
        return _upsampled_digits(dtype)
    from rcbench.data import Dataset, torchvision_dataset

    ds = torchvision_dataset("fashionmnist", data_root, train=True, raw_pixels=True, dtype=dtype)
    return Dataset(ds.x / 255.0, ds.y, ds.name, ds.num_classes)


def positive_weights(base: str = "torch_default"):
    """Fig. 1's "broken BN" initializer: every weight ``w`` of ``base`` replaced by ``2 |w|`` (all positive)."""
    f = I.get_init(base)

    def init(shape, generator, dtype):
        return 2.0 * f(shape, generator, dtype).abs()

    init.__name__ = f"2|{getattr(f, '__name__', base)}|"
    return init


#: Fig. 1's arms: MLP keyword arguments (widths, depth and seeds are added by the experiment).
FIG1_ARMS = {
    "vanilla": dict(norm=None, bias=True, init="torch_default"),
    "vanilla_nobias": dict(norm=None, bias=False, init="torch_default"),
    "bn": dict(norm="bn_centered_std", bias=False, init="torch_default"),
    "broken_bn": dict(norm="bn_centered_std", bias=False, init=positive_weights()),
}


def _fig1_net(arm: str, *, in_features: int, width: int, hl: int, norm_override, out_features, seeds, seed, device,
              dtype):
    if arm not in FIG1_ARMS:
        raise ValueError(f"unknown Fig. 1 arm {arm!r}; one of {sorted(FIG1_ARMS)}")
    kw = dict(FIG1_ARMS[arm])
    if arm == "bn" and norm_override is not None:
        kw["norm"] = norm_override
    return MLP(in_features, width, hl + 1, out_features=out_features, activation="relu", ensemble=seeds,
               seed=subseed(seed, hl, 1), dtype=dtype, device=device, **kw)


@storable
@torch.no_grad()
def fig1_init_rank(*, hidden_layers: Sequence[int] = (0, 4, 8, 12, 16, 32), width: int = 128, batch: int = 128,
                   seeds: int = 3, seed: int = 0,
                   arms: Sequence[str] = ("vanilla", "bn", "broken_bn", "vanilla_nobias"),
                   bn_norm=None, data_root=None, dtype=torch.float32, device="cpu") -> pd.DataFrame:
    """Fig. 1 (rank panel): numerical rank of the last hidden layer at initialisation, ``hl + 1`` hidden ReLU
    layers of width 128 (``no_of_hidden_layers = hl`` in the code), as ``torch.matrix_rank`` of ``H / ||H||_F`` in
    float32 (the paper's dtype). Vanilla: PyTorch-default ``U(+-1/sqrt(fan_in))`` weights *and biases*; BN: no
    biases, centring + unbiased std before ReLU; broken BN: weights ``2|w|``. ``bn_norm`` replaces the BN arm's
    normalisation only. Input: ``batch`` FashionMNIST images (``data_root``) or the digits proxy. Also records the
    soft rank (float64)."""
    hidden_layers = [int(h) for h in hidden_layers]
    if any(h < 0 for h in hidden_layers):
        raise ValueError(f"hidden_layers must be >= 0, got {hidden_layers}")
    unknown = [a for a in arms if a not in FIG1_ARMS]
    if unknown:
        raise ValueError(f"unknown Fig. 1 arm(s) {unknown}; one of {sorted(FIG1_ARMS)}")
    dev = resolve_device(device)
    x = fig1_data(data_root, dtype=dtype).subset(batch, seed=subseed(seed, 128)).x.to(dev)
    rows = []
    for arm in arms:
        for hl in hidden_layers:
            net = _fig1_net(arm, in_features=x.shape[1], width=width, hl=hl, norm_override=bn_norm,
                            out_features=None, seeds=seeds, seed=seed, device=dev, dtype=dtype)
            label = _norm_label(bn_norm if (arm == "bn" and bn_norm is not None) else FIG1_ARMS[arm]["norm"])
            H = net(x)
            Hn = H / torch.linalg.matrix_norm(H).clamp_min(torch.finfo(H.dtype).tiny)[:, None, None]
            rank = M.numerical_rank(Hn).cpu()
            soft = M.soft_rank(H.double()).cpu() if bool((H.abs().amax((-1, -2)) > 0).all()) else torch.ones(seeds)
            for s in range(seeds):
                rows.append({"arm": arm, "hl": hl, "seed": s, "width": width, "numerical_rank": int(rank[s]),
                             "soft_rank": float(soft[s]), "norm": label})
    return pd.DataFrame(rows)


def fig1_bn_lr(hl: int) -> float:
    """The authors' depth-dependent Adam learning rate of the Fig. 1 BN nets (``code_fig_1.py``)."""
    return 0.01 if hl < 8 else 0.05 if hl < 22 else 0.005 if hl < 30 else 0.0005


def _train_steps(net, opt, data, *, steps: int, batch: int, seed: int, seeds: int):
    g = generator(seed)
    n = len(data)
    for _ in range(steps):
        j = torch.randint(0, n, (batch,), generator=g)  # drawn uniformly with replacement, as code_fig_1.py
        x, y = data.x[j], data.y[j]
        out = net(x)
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(seeds), reduction="sum")
        opt.zero_grad(set_to_none=True)
        (loss / batch).backward()
        opt.step()


@torch.no_grad()
def _accuracy(net, data, seeds: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = net(data.x)
    acc = (out.argmax(-1) == data.y).to(torch.float64).mean(-1)
    loss = torch.nn.functional.cross_entropy(out.permute(0, 2, 1), data.y.expand(seeds, -1), reduction="none")
    return acc, loss.to(torch.float64).mean(-1)


@storable
def fig1_training(*, hidden_layers: Sequence[int] = (2, 14), steps: int = 150, batch: int = 128, width: int = 128,
                  seeds: int = 3, seed: int = 0, sgd_lr: float = 0.1, adam_lr: float | None = None,
                  eval_size: int = 1000, arms: Sequence[str] = ("vanilla_sgd", "bn_adam", "bn_sgd"), bn_norm=None,
                  data_root=None, dtype=torch.float32, device="cpu") -> pd.DataFrame:
    """Fig. 1 (accuracy panel), shortened: train the vanilla MLP with SGD and the BN MLP with Adam (the authors'
    code; ``adam_lr=None`` uses their depth schedule :func:`fig1_bn_lr`) and with SGD (the paper's legend), then
    measure the training accuracy and loss on ``eval_size`` training examples (BN with batch statistics: the
    authors' custom BN has no running statistics). One row per arm x hl x seed."""
    known = ("vanilla_sgd", "bn_adam", "bn_sgd")
    if any(a not in known for a in arms):
        raise ValueError(f"unknown arm(s) {[a for a in arms if a not in known]}; one of {known}")
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch")
    if not (sgd_lr > 0 and math.isfinite(sgd_lr)):
        raise ValueError(f"sgd_lr must be positive, got {sgd_lr}")
    dev = resolve_device(device)
    data = fig1_data(data_root, dtype=dtype).to(dev)
    evald = data.subset(min(eval_size, len(data)), seed=subseed(seed, 7))
    rows = []
    for hl in hidden_layers:
        for arm in arms:
            net = _fig1_net("vanilla" if arm == "vanilla_sgd" else "bn", in_features=data.num_features, width=width,
                            hl=int(hl), norm_override=bn_norm, out_features=data.num_classes, seeds=seeds,
                            seed=seed, device=dev, dtype=dtype)
            if arm == "bn_adam":
                lr = fig1_bn_lr(int(hl)) if adam_lr is None else float(adam_lr)
                opt = torch.optim.Adam(net.parameters(), lr=lr)
            else:
                lr = sgd_lr
                opt = torch.optim.SGD(net.parameters(), lr=lr)
            _train_steps(net, opt, data, steps=steps, batch=batch, seed=subseed(seed, hl, 2), seeds=seeds)
            acc, loss = _accuracy(net, evald, seeds)
            if not bool(torch.isfinite(loss).all()):
                raise NumericalDivergence(f"training diverged (arm {arm}, hl {hl}); not recorded as data")
            for s in range(seeds):
                rows.append({"arm": arm, "hl": int(hl), "seed": s, "lr": lr, "steps": steps, "data": data.name,
                             "train_accuracy": float(acc[s]), "train_loss": float(loss[s])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# Figs. 4 and 6: rank pre-training (A10)
# ---------------------------------------------------------------------------------------------------------------
PRETRAIN_ARMS = ("none", "low", "high", "bn", "bn_bad")


def _pretrain_net(arm: str, *, in_features: int, width: int, depth: int, classes: int, seeds: int, seed: int,
                  bn_norm, device, dtype):
    """Figs. 4/6 nets. Vanilla arms (``none``/``low``/``high``): ReLU, Xavier-normal weights, PyTorch-default biases.
    BN arms (Fig. 6): ``BatchNorm1d`` (``bn_norm`` overrides it in the ``bn`` arm only), tanh, PyTorch-default init;
    ``bn_bad`` sets *all* parameters to ``U[0, 0.1]`` (Fig. 6's "BN W~U[0,2a]")."""
    if arm in ("none", "low", "high"):
        return MLP(in_features, width, depth, out_features=classes, norm=None, activation="relu", bias=True,
                   init="xavier_normal", readout_init="xavier_normal", ensemble=seeds, seed=subseed(seed, depth, 4),
                   dtype=dtype, device=device)
    norm = bn_norm if (arm == "bn" and bn_norm is not None) else "batchnorm1d"
    net = MLP(in_features, width, depth, out_features=classes, norm=norm, activation="tanh", bias=True,
              init="torch_default", ensemble=seeds, seed=subseed(seed, depth, 5), dtype=dtype, device=device)
    if arm == "bn_bad":
        g = generator(subseed(seed, depth, 6))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) * 0.1)
    return net


def _last_hidden(net: MLP, x: torch.Tensor) -> torch.Tensor:
    return net(x, return_hidden=True)[1][-1]


@storable
def rank_pretraining(*, width: int = 64, depth: int = 12, seeds: int = 5, seed: int = 0, epochs: int = 3,
                     batch: int = 32, lr: float = 0.01, pretrain_steps: dict | None = None, pretrain_lr: float = 0.1,
                     pretrain_batch: int = 32, probe: int = 128, arms: Sequence[str] = PRETRAIN_ARMS, bn_norm=None,
                     data_root=None, dtype=torch.float64, device="cpu") -> pd.DataFrame:
    """Figs. 4 and 6: raise the soft rank of the last hidden layer by gradient descent on ``1/r(H_L)``
    (``= tr(M^2)/tr(M)^2``, Fig. 6; Fig. 4's ``||M||_F/tr M`` is ``1/sqrt(r)``, same minimisers) on one batch, then
    train every arm with plain SGD and record the training loss.

    ``pretrain_steps`` maps the vanilla arms to their number of pre-training steps (Fig. 6: no / low / high).
    Data: scikit-learn digits (standardised) by default, FashionMNIST (Fig. 6) under ``data_root``. One row per
    arm x seed: ``r_init`` (soft rank of the last hidden layer on a ``probe`` batch before pre-training),
    ``r_start`` (after pre-training, before SGD), ``train_loss`` (mean cross-entropy on the training set after
    ``epochs`` epochs), ``train_loss_curve`` endpoints per epoch as ``loss_epoch_k`` columns."""
    from rcbench.data import digits, torchvision_dataset

    steps_map = {"none": 0, "low": 5, "high": 75} if pretrain_steps is None else dict(pretrain_steps)
    unknown = [a for a in arms if a not in PRETRAIN_ARMS]
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; one of {PRETRAIN_ARMS}")
    epochs, batch = positive_int(epochs, "epochs"), positive_int(batch, "batch")
    dev = resolve_device(device)
    if data_root is None:
        data = digits(dtype=dtype)
    else:
        data = torchvision_dataset("fashionmnist", data_root, train=True, dtype=dtype)
    data = data.to(dev)
    probe_x = data.subset(min(probe, len(data)), seed=subseed(seed, 8)).x
    pre_x = data.subset(min(pretrain_batch, len(data)), seed=subseed(seed, 9)).x
    rows = []
    for arm in arms:
        net = _pretrain_net(arm, in_features=data.num_features, width=width, depth=depth, classes=data.num_classes,
                            seeds=seeds, seed=seed, bn_norm=bn_norm, device=dev, dtype=dtype)
        with torch.no_grad():
            r_init = M.soft_rank(_last_hidden(net, probe_x).double()).cpu()
        k = steps_map.get(arm, 0)
        if k:
            opt = torch.optim.SGD([p for b in net.blocks for p in b.parameters()], lr=pretrain_lr)
            for _ in range(k):
                inv_r = 1.0 / M.soft_rank(_last_hidden(net, pre_x))
                opt.zero_grad(set_to_none=True)
                inv_r.sum().backward()  # the seeds' losses are independent: their sum has per-seed gradients
                opt.step()
        with torch.no_grad():
            r_start = M.soft_rank(_last_hidden(net, probe_x).double()).cpu()
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        curve = []
        for e in range(epochs):
            for x, y in data.batches(batch, seed=subseed(seed, e, 10)):
                out = net(x)
                loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.repeat(seeds),
                                                         reduction="sum") / batch
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            curve.append(_accuracy(net, data, seeds)[1].cpu())
        acc = _accuracy(net, data, seeds)[0].cpu()
        if not all(bool(torch.isfinite(c).all()) for c in curve):
            raise NumericalDivergence(f"training diverged in arm {arm}; not recorded as data")
        for s in range(seeds):
            row = {"arm": arm, "seed": s, "pretrain_steps": k, "r_init": float(r_init[s]),
                   "r_start": float(r_start[s]),
                   "train_loss": float(curve[-1][s]), "train_accuracy": float(acc[s]), "data": data.name}
            row.update({f"loss_epoch_{e + 1}": float(c[s]) for e, c in enumerate(curve)})
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# Fig. 5: BN variants in a VGG-like convnet at initialisation (A11)
# ---------------------------------------------------------------------------------------------------------------
#: a small VGG-like configuration (VGG's 'E' pattern, 12 convolutions, narrower): channels or 'M' (max-pool)
SMALL_VGG = (16, 16, "M", 32, 32, "M", 64, 64, 64, 64, "M", 64, 64, 64, 64, "M")
#: VGG19 = configuration 'E' of the authors' ``vgg_for_cifar_w_multiple_BN_options.py``
VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")

#: Fig. 5's variants written out explicitly (the authors' code only differs from BN in eval mode): centring
#: ``x - mu_B`` and/or scaling ``x / sqrt(E_B[x^2])`` (after centring: the population std) over batch and space.
CONV_VARIANTS = {
    "full_bn": dict(center=True, scale="rms"),
    "centering_only": dict(center=True, scale=None),
    "scaling_only": dict(center=False, scale="rms"),
    "none": None,
}


class SpatialNorm(torch.nn.Module):
    """Apply a batch normalisation over batch and spatial dimensions to the channels of a seed ensemble laid out
    as ``(N, seeds * C, H, W)`` (grouped convolutions): the input is viewed as ``(seeds, N * H * W, C)`` so that any
    rcbench norm (or a user's ``factory(C)`` acting on ``(n, C)``) normalises each channel over ``N * H * W``."""

    def __init__(self, inner: torch.nn.Module, seeds: int, channels: int):
        super().__init__()
        self.inner, self.seeds, self.channels = inner, seeds, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, SC, Hh, Ww = x.shape
        S, C = self.seeds, self.channels
        z = x.reshape(N, S, C, Hh, Ww).permute(1, 0, 3, 4, 2).reshape(S, N * Hh * Ww, C)
        z = self.inner(z)
        return z.reshape(S, N, Hh, Ww, C).permute(1, 0, 4, 2, 3).reshape(N, SC, Hh, Ww)


def _conv_norm(variant, channels: int, seeds: int):
    from rcbench.networks import Normalization, get_norm

    if isinstance(variant, str) and variant in CONV_VARIANTS:
        spec = CONV_VARIANTS[variant]
        if spec is None:
            return None
        return SpatialNorm(Normalization("batch", **spec), seeds, channels)
    return SpatialNorm(get_norm(variant, channels, seeds), seeds, channels)


def small_vgg(variant="full_bn", *, cfg: Sequence = SMALL_VGG, in_channels: int = 3, seeds: int = 1, seed: int = 0,
              dtype=MEASUREMENT_DTYPE, device="cpu") -> torch.nn.Sequential:
    """VGG-like feature extractor (``conv3x3 -> norm -> ReLU``, max-pools), ``seeds`` independent networks at once
    through grouped convolutions (input ``(N, seeds * in_channels, H, W)``). Convolutions keep PyTorch's default
    init *with biases*, as the authors' Fig. 5 VGG (its He init is disabled). ``variant``: a key of
    :data:`CONV_VARIANTS` or a norm spec (a name of :data:`rcbench.networks.NORMS` or a factory ``f(C)``)."""
    if not (isinstance(variant, str) and variant in CONV_VARIANTS):
        from rcbench.networks import get_norm

        get_norm(variant, 2, 1)  # unknown names fail before any work
    layers = []
    c_in = in_channels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(subseed(seed, 11))
        for v in cfg:
            if v == "M":
                layers.append(torch.nn.MaxPool2d(2, 2))
                continue
            v = positive_int(v, "channels")
            layers.append(torch.nn.Conv2d(seeds * c_in, seeds * v, 3, padding=1, groups=seeds, dtype=dtype))
            norm = _conv_norm(variant, v, seeds)
            if norm is not None:
                layers.append(norm)
            layers.append(torch.nn.ReLU())
            c_in = v
    return torch.nn.Sequential(*layers).to(device=resolve_device(device), dtype=dtype)


def _cifar_like(n: int, data_root, seed: int, dtype) -> torch.Tensor:
    if data_root is None:  # random images in [0, 1], like CIFAR's x / 255
        return torch.rand(n, 3, 32, 32, generator=generator(subseed(seed, 12)), dtype=dtype)
    from rcbench.data import torchvision_dataset

    ds = torchvision_dataset("cifar10", data_root, train=True, raw_pixels=True, dtype=dtype).subset(n, seed=seed)
    return (ds.x / 255.0).reshape(n, 32, 32, 3).permute(0, 3, 1, 2).contiguous()


@storable
@torch.no_grad()
def conv_variants_rank(*, variants: Sequence = ("full_bn", "centering_only", "scaling_only", "none"), batch: int = 64,
                       seeds: int = 3, seed: int = 0, cfg: Sequence = SMALL_VGG, data_root=None,
                       dtype=MEASUREMENT_DTYPE, device="cpu") -> pd.DataFrame:
    """Fig. 5 at initialisation (forward only): soft rank and numerical ranks (float64 and float32) of the
    flattened last convolutional features (the penultimate representation the authors' VGG returns) of ``batch``
    CIFAR-like inputs (uniform random images; CIFAR-10 under ``data_root``). One row per variant x seed."""
    dev = resolve_device(device)
    x = _cifar_like(positive_int(batch, "batch"), data_root, seed, dtype).to(dev)
    xs = x.repeat(1, seeds, 1, 1)
    rows = []
    for variant in variants:
        net = small_vgg(variant, cfg=cfg, seeds=seeds, seed=seed, dtype=dtype, device=dev)
        f = net(xs)
        if not bool(torch.isfinite(f).all()):
            raise NumericalDivergence(f"non-finite features for variant {variant!r}")
        N, SC, Hh, Ww = f.shape
        H = f.reshape(N, seeds, SC // seeds * Hh * Ww).transpose(0, 1)  # (seeds, n, features)
        Hn = H / torch.linalg.matrix_norm(H)[:, None, None]
        soft = M.soft_rank(H).cpu()
        r64 = M.numerical_rank(Hn.double()).cpu()
        r32 = M.numerical_rank(Hn.float()).cpu()
        for s in range(seeds):
            rows.append({"variant": _norm_label(variant), "seed": s, "batch": batch, "features": H.shape[-1],
                         "soft_rank": float(soft[s]), "numerical_rank": int(r64[s]),
                         "numerical_rank_f32": int(r32[s])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# profiles and the per-claim runners (the claim tests and the profile smoke test call the same code)
# ---------------------------------------------------------------------------------------------------------------
_A_WIDTHS = (8, 16, 32, 64)

PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "A2": dict(collapse=dict(widths=(16, 32), depth=2000, seeds=10, sample_every=10,
                                 stats=("soft_rank", "numerical_rank", "sv_ratio")),
                   # r_layer = 2000 (not 500): at d = 32 log(s2/s1) drifts at -0.0164/layer with a per-seed sd of
                   # 0.181 sqrt(L) (rcbench.theory.products); r < 1.1 needs log(s2/s1) < -1.5, i.e. a z-margin of
                   # (0.0164 L - 1.5) / (0.181 sqrt L) = 1.65 at L = 500 but 3.86 at L = 2000 (_regime_a2)
                   r_layer=2000, rank_layer=2000, confidence=0.999,
                   lyapunov=dict(widths=(16, 32), depth_factor=30, seeds=10, sample_fraction=0.25,
                                 reuse_collapse=True)),
        "A3": dict(chain=dict(widths=_A_WIDTHS, depth=600, burn_in=100, sample_every=2, seeds=5,
                              init="gaussian_unit", stats=("soft_rank",)),
                   norms=("bn", "bn_centered"), gammas=(INF,),
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                stats=("soft_rank",))),
        "A4": dict(chain=dict(widths=32, depth=2000, sample_every=100, seeds=3, init="uniform_unit",
                              stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered", average_from=1000),
        "A5": dict(chain=dict(widths=_A_WIDTHS, depth=600, burn_in=100, sample_every=4, seeds=3,
                              init="gaussian_unit", input="identity",
                              stats=("soft_rank", "rank_tau05", "gram_numerical_rank")),
                   gammas=(INF, 1.0),
                   # the authors' Gram formulation on the same weights (gamma = inf; the same chain: no extra H run)
                   gram=dict(widths=_A_WIDTHS, depth=600, burn_in=100, sample_every=4, seeds=3, init="gaussian_unit",
                             input="identity"),
                   # vanilla control at L = 2000 and d <= 32 (the checked widths): rank_0.5 = 1 needs
                   # log(s2/s1) < -log(2d - 1)/2 = -2.07 at d = 32; z-margin (0.0164 L - 2.07)/(0.181 sqrt L) is 1.75
                   # at L = 600 (1/200 pilot seeds fail) and 3.79 at L = 2000 (0/200 pilot seeds fail from L = 1000)
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                input="identity", stats=("rank_tau05",))),
        # A6: 10 seeds (was 5): the geometric-mean check at the note's 5e-5 failed 0.9% of 5-seed runs (see test)
        "A6": dict(recovery=dict(width=50, depth=30, seeds=10, gamma=1.0), r_layer=30, eig_layer=20,
                   # rcbench's start 1 1^T + 1e-5 G and the authors' (c = x.x ~ chi^2_d): the paper's protocol
                   input_laws=(1.0, "authors"),
                   gram=dict(width=50, input_laws=("authors", 1.0))),
        "A7": dict(chain=dict(widths=32, depth=500, burn_in=50, sample_every=5, seeds=5, activation="relu",
                              stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered"),
        "A8": dict(init_rank=dict(hidden_layers=(0, 4, 8, 12, 16, 32), seeds=3, width=128, batch=128)),
        "A9": dict(training=dict(hidden_layers=(2, 14), steps=150, batch=128, seeds=3, sgd_lr=0.1)),
        # high = 200 pre-training steps (Fig. 6: 75): on digits at width 64, 75 steps raise r only 1.07-2.3x in the
        # lowest 10% of seeds; 200 steps cost ~2 s more (pilot, 16 x 5 seeds; see test_a10_rank_pretraining)
        # 10 seeds (was 5): power of the paired speed bound (pilot of 120 runs, see test_a10_rank_pretraining)
        "A10": dict(pretraining=dict(width=64, depth=12, seeds=10, epochs=3, batch=32, lr=0.01,
                                     pretrain_steps={"none": 0, "low": 5, "high": 200}, pretrain_lr=0.1)),
        "A11": dict(conv=dict(batch=64, seeds=3, cfg=SMALL_VGG)),
    },
    "paper": {
        "A2": dict(collapse=dict(widths=(16, 32), depth=2000, seeds=10, sample_every=10,
                                 stats=("soft_rank", "numerical_rank", "sv_ratio")),
                   r_layer=2000, rank_layer=2000, confidence=0.999,
                   lyapunov=dict(widths=(64, 128, 256, 512), depth_factor=30, seeds=5, sample_fraction=0.25)),
        "A3": dict(chain=dict(widths=(64, 128, 256, 512, 1024), depth=100_000, burn_in=10_000, sample_every=100,
                              seeds=3, init="gaussian_unit", stats=("soft_rank",)),
                   norms=("bn", "bn_centered"), gammas=(0.01, 1.0, INF),
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                stats=("soft_rank",))),
        "A4": dict(chain=dict(widths=32, depth=50_000, sample_every=1000, seeds=3, init="uniform_unit",
                              stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered", average_from=1000),
        "A5": dict(chain=dict(widths=(8, 16, 32, 64, 128, 256), depth=1_000_000, burn_in=1000, sample_every=10_000,
                              seeds=2, init="gaussian_unit", input="identity",
                              stats=("soft_rank", "rank_tau05", "numerical_rank", "gram_numerical_rank")),
                   gammas=(0.01, 1.0, INF),
                   # Gram formulation vs H chain on the same weights, at the widths of Fig. 3a, 10^4 layers (numpy)
                   gram=dict(widths=(8, 16, 32, 64, 128, 256), depth=10_000, burn_in=1000, sample_every=100, seeds=2,
                             init="gaussian_unit", input="identity"),
                   control=dict(widths=(8, 16, 32), depth=2000, burn_in=2000, seeds=5, init="gaussian",
                                input="identity", stats=("rank_tau05",))),
        "A6": dict(recovery=dict(width=(50, 200), depth=100, seeds=20, gamma=1.0), r_layer=30, eig_layer=20,
                   input_laws=(1.0, "authors"), gram=dict(width=50, input_laws=("authors", 1.0))),
        "A7": dict(chain=dict(widths=(32, 64, 128, 256, 512), depth=2000, burn_in=200, sample_every=10, seeds=3,
                              activation="relu", stats=("soft_rank", "numerical_rank")),
                   norm="bn_centered"),
        "A8": dict(init_rank=dict(hidden_layers=tuple(range(0, 33, 2)), seeds=3, width=128, batch=128)),
        "A9": dict(training=dict(hidden_layers=tuple(range(0, 33, 2)), steps=35_100, batch=128, seeds=3,
                                 sgd_lr=0.01)),
        "A10": dict(pretraining=dict(width=128, depth=30, seeds=10, epochs=15, batch=32, lr=0.01,
                                     pretrain_steps={"none": 0, "low": 5, "high": 75}, pretrain_lr=0.1)),
        "A11": dict(conv=dict(batch=128, seeds=3, cfg=VGG19)),
    },
}


def _regime_a6(cfg: dict, entry: str) -> None:
    """A6's regime: the pilot range of its response surface (claims/test_a_rank_collapse.py, ``A6_RESPONSE``):
    widths 50..200 (Fig. 3b's 50 and the note's 200), E in {10, 20}, layers within the depth, relative noise
    noise/c in [1e-8, 1e-4] (the authors' c = x.x ~ d)."""
    rc = cfg["recovery"]
    widths = _as_tuple(rc["width"])
    if any(not 50 <= w <= 200 for w in widths):
        raise ValueError(f"{entry}: widths must lie in [50, 200] (the calibrated range of Fig. 3b), got {widths}")
    if cfg["eig_layer"] not in (10, 20):
        raise ValueError(f"{entry}: eig_layer must be 10 or 20 (the response surface's layers), got {cfg['eig_layer']}")
    if max(cfg["eig_layer"], cfg["r_layer"]) > rc["depth"]:
        raise ValueError(f"{entry}: eig_layer and r_layer must be <= depth={rc['depth']}")
    noise = rc.get("noise", 1e-5)
    for c in _as_tuple(cfg.get("input_laws", (1.0,))):
        rel = [noise / w for w in widths] if c == "authors" else [noise / float(c)]
        if any(not 1e-8 <= v <= 1e-4 for v in rel):
            raise ValueError(f"{entry}: relative noise noise/c must lie in [1e-8, 1e-4], got {rel} for c={c!r}")


def _regime_a2(cfg: dict, entry: str) -> None:
    """A2's regime: the chain is deep enough that "r(H_L) < 1.10 in every seed" is predicted at a false-failure rate
    <= COLLAPSE_FALSE_FAILURE per run (:func:`collapse_false_failure`; e.g. d = 64 needs L >= 3700 at 10 seeds)."""
    col = cfg["collapse"]
    if cfg["r_layer"] > col["depth"] or cfg["rank_layer"] > col["depth"]:
        raise ValueError(f"{entry}: r_layer and rank_layer must be <= collapse.depth={col['depth']}")
    z, p = collapse_false_failure(col["widths"], cfg["r_layer"], col["seeds"])
    if p > COLLAPSE_FALSE_FAILURE:
        raise ValueError(f"{entry}: r_layer={cfg['r_layer']} is too shallow for the collapse check at widths "
                         f"{tuple(z)} and {col['seeds']} seeds: predicted false failure {p:.2g} > "
                         f"{COLLAPSE_FALSE_FAILURE:g} (z-margins {', '.join(f'{v:.2f}' for v in z.values())})")


def _regime_a4(cfg: dict, entry: str) -> None:
    """A4's regime: d = N = 32, the size of Fig. 2, at which its numbers (BN rank 9-10, vanilla 1-2) are read off."""
    widths = _as_tuple(cfg["chain"]["widths"])
    if widths != (32,):
        raise ValueError(f"{entry}: chain.widths must be 32 (Fig. 2's d = N = 32, where its ranks are read off), "
                         f"got {widths}")


#: Fig. 3a's widths, at which its plotted ranks are read off (A5)
FIG3A_WIDTHS = (8, 16, 32, 64, 128, 256)


def _regime_a5(cfg: dict, entry: str) -> None:
    """A5's regime: widths among Fig. 3a's (its values are read off at d = 8 ... 256)."""
    widths = _as_tuple(cfg["chain"]["widths"])
    if any(w not in FIG3A_WIDTHS for w in widths) or len(widths) < 2:
        raise ValueError(f"{entry}: chain.widths must be at least two of Fig. 3a's widths {FIG3A_WIDTHS}, got {widths}")


#: regime validators of the configurations (see rcbench.overrides): refused before any work when overridden
REGIMES = {"A2": _regime_a2, "A4": _regime_a4, "A5": _regime_a5, "A6": _regime_a6}


def config(claim: str, profile: str = "quick") -> dict:
    """A deep copy of claim ``claim``'s sizes in ``profile`` (``"quick"`` or ``"paper"``)."""
    return profile_config(PROFILES, claim, profile)


_TRUNCATE = {"depth": 4, "seeds": 1, "steps": 2, "epochs": 1, "burn_in": 0, "sample_every": 1, "depth_factor": 1,
             "batch": 8}


def truncate(cfg, *, depth: int = 4, seeds: int = 1, steps: int = 2, widths: int | None = None,
             hidden_layers: int = 2):
    """A copy of a profile configuration cut down to a few layers/steps/seeds (the paper profile's smoke test).
    Widths are kept (up to ``widths`` if given), so the paper's sizes are exercised."""
    limits = dict(_TRUNCATE, depth=depth, seeds=seeds, steps=steps)
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            if k in limits and isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = type(v)(min(v, limits[k])) if k != "burn_in" else 0
            elif k in ("widths", "width") and widths is not None:
                vs = [v] if isinstance(v, int) else list(v)
                vs = [w for w in vs if w <= widths] or [min(vs)]
                out[k] = vs[0] if isinstance(v, int) else tuple(vs)
            elif k == "hidden_layers":
                out[k] = tuple(v)[:hidden_layers]
            elif k == "pretrain_steps":
                out[k] = {a: min(s, steps) for a, s in v.items()}
            else:
                out[k] = truncate(v, depth=depth, seeds=seeds, steps=steps, widths=widths, hidden_layers=hidden_layers)
        return out
    return cfg


def _as_tuple(v) -> tuple:
    return (v,) if isinstance(v, (int, float, str)) or v is None else tuple(v)


def _exact_rank_one_layer(width: int, rc: dict, norm, seed: int, device) -> pd.DataFrame:
    """A6's control: one BN layer on an exactly rank-one input (:func:`rank_recovery` with ``depth=1``), plus the
    column ``normalized_rank`` = the rank with the column-scaling-aware tolerance of
    :func:`normalized_rank_tolerance` (layer 1; layer 0 keeps ``numerical_rank``)."""
    df = rank_recovery(width=width, **dict(rc, depth=1), norm=norm, exact=True, seed=seed, device=device)
    x = nearly_rank_one_input(width, width, seeds=rc.get("seeds", 5), seed=seed, noise=rc.get("noise", 1e-5),
                              exact=True, device=device)
    k, _ = one_layer_rank(x, seed=seed, norm=norm, init=rc.get("init", "gaussian_unit"), gamma=rc.get("gamma", 1.0),
                          device=device)
    df["normalized_rank"] = df["numerical_rank"]
    at1 = (df.layer == 1).to_numpy()
    df.loc[at1, "normalized_rank"] = k.cpu().numpy()[df.loc[at1, "seed"].to_numpy()].astype(float)
    return df


def run_claim(
    claim: str, cfg: dict, *, seed: int = 0, device="cpu", norm=None, data_root=None
) -> dict[str, pd.DataFrame]:
    """Run the experiments of claim ``claim`` with configuration ``cfg`` (from :func:`config`, possibly
    :func:`truncate`-d) and return its frames by name. ``norm`` substitutes the normalisation of the claim's
    *treatment* arm (never of a control); ``None`` keeps the paper's."""
    if claim == "A2":
        col = linear_chain(**cfg["collapse"], norm=None, seed=seed, device=device)
        lc = cfg["lyapunov"]
        if lc.get("reuse_collapse"):  # same widths and seeds: fit on the collapse chain's layers d .. 30 d
            keep = col.layer <= lc["depth_factor"] * col.width
            return {"vanilla_chain": col, "lyapunov_chain": col[keep].reset_index(drop=True)}
        lyap = []
        for d in _as_tuple(lc["widths"]):
            depth = max(2, lc["depth_factor"] * d)
            every = max(1, int(lc["sample_fraction"] * d))
            df = linear_chain(widths=d, depth=depth, seeds=lc["seeds"], norm=None, sample_every=every,
                              stats=("sv_ratio",), seed=seed, device=device)
            lyap.append(df)
        return {"vanilla_chain": col, "lyapunov_chain": pd.concat(lyap, ignore_index=True)}
    if claim == "A3":
        norms = (norm,) if norm is not None else cfg["norms"]
        # all norm x gamma arms in one batched call: the concatenation of the per-arm linear_chain frames, bit for bit
        bn = linear_chain_arms(**cfg["chain"], arms=[(nm, g) for nm in norms for g in cfg["gammas"]], seed=seed,
                               device=device)  # fmt: skip
        control = linear_chain(**cfg["control"], norm=None, seed=seed, device=device)
        return {"bn_chain": bn, "vanilla_chain": control}
    if claim == "A4":
        bn = linear_chain(**cfg["chain"], norm=norm if norm is not None else cfg["norm"], seed=seed, device=device)
        van = linear_chain(**cfg["chain"], norm=None, seed=seed, device=device)
        return {"bn_chain": bn, "vanilla_chain": van}
    if claim == "A5":
        bn = linear_chain_arms(**cfg["chain"], arms=[("bn", g) for g in cfg["gammas"]], seed=seed, device=device)
        control = linear_chain(**cfg["control"], norm=None, seed=seed, device=device)
        out = {"bn_chain": bn, "vanilla_chain": control}
        if cfg.get("gram"):  # the authors' d x d Gram formulation on the same weights (finding of the comparison)
            gc = dict(cfg["gram"])
            gstats = ("soft_rank", "rank_tau05", "gram_numerical_rank")
            same = {k: v for k, v in cfg["chain"].items() if k != "stats"} == gc and INF in cfg["gammas"]
            h = (bn[bn["gamma"] == INF].reset_index(drop=True) if same  # the gamma = inf arm's frame
                 else linear_chain(**gc, stats=gstats, norm="bn", seed=seed, device=device))
            g = gram_formulation_chain(**gc, stats=gstats, norm="bn", seed=seed)
            h = h.assign(formulation="h", precision="float64")[list(g.columns)]  # the statistics both measure
            out["gram_formulation"] = pd.concat([h, g], ignore_index=True)
        return out
    if claim == "A6":
        rc = dict(cfg["recovery"])
        widths = _as_tuple(rc.pop("width"))
        laws = _as_tuple(cfg.get("input_laws", (1.0,)))
        nm = norm if norm is not None else "bn"
        bn = [rank_recovery(width=w, **rc, c=c, norm=nm, seed=seed, device=device) for c in laws for w in widths]
        van = [rank_recovery(width=w, **rc, c=c, norm=None, seed=seed, device=device) for c in laws for w in widths]
        one = [_exact_rank_one_layer(w, rc, nm, seed, device) for w in widths]
        out = {"bn_recovery": pd.concat(bn, ignore_index=True), "vanilla_recovery": pd.concat(van, ignore_index=True),
               "exact_rank_one": pd.concat(one, ignore_index=True)}
        gc = cfg.get("gram")
        if gc and (norm is None or norm == "bn"):  # the authors' Gram formulation on the same weights (finding; paper's BN only)
            g = [rank_recovery(width=gc["width"], **rc, c=c, norm="bn", formulation=f, precision=p, seed=seed)
                 for c in gc["input_laws"] for f, p in (("h", "float64"), ("gram", "float64"), ("gram", "longdouble"))]
            out["gram_formulation"] = pd.concat([df.assign(formulation=f, precision=p) for df, (f, p) in
                                                 zip(g, [("h", "float64"), ("gram", "float64"),
                                                         ("gram", "longdouble")] * len(gc["input_laws"]))],
                                                ignore_index=True)
        return out
    if claim == "A7":
        bn = linear_chain(**cfg["chain"], norm=norm if norm is not None else cfg["norm"], seed=seed, device=device)
        van = linear_chain(**cfg["chain"], norm=None, seed=seed, device=device)
        return {"bn_relu_chain": bn, "vanilla_relu_chain": van}
    if claim == "A8":
        return {"init_rank": fig1_init_rank(**cfg["init_rank"], bn_norm=norm, data_root=data_root, seed=seed,
                                            device=device)}
    if claim == "A9":
        return {"training": fig1_training(**cfg["training"], bn_norm=norm, data_root=data_root, seed=seed,
                                          device=device)}
    if claim == "A10":
        return {"pretraining": rank_pretraining(**cfg["pretraining"], bn_norm=norm, data_root=data_root, seed=seed,
                                                device=device)}
    if claim == "A11":
        c = dict(cfg["conv"])
        variants = ("full_bn" if norm is None else norm, "centering_only", "scaling_only", "none")
        df = conv_variants_rank(**c, variants=variants, data_root=data_root, seed=seed, device=device)
        if norm is not None:
            df.loc[df.variant == _norm_label(norm), "variant"] = "full_bn"
            df["full_bn_norm"] = _norm_label(norm)
        return {"conv_rank": df}
    raise KeyError(f"no runner for claim {claim!r}")
