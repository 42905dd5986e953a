"""Paper A's chains (Daneshmand et al. 2020): the streamed linear/BN chain ``H_(l+1) = act(norm(H_l W_l^T))`` of
Thm 2 and Figs. 2, 3a, its rank helpers, and the collapse thresholds of the vanilla chain as functions of
``(d, L, seeds)`` (from :mod:`rcbench.theory.products`).

Deep chains (up to ``10^6`` layers in the paper profile) are streamed: the network is built as a sequence of
:class:`rcbench.networks.MLP` chunks of at most ``chunk`` layers whose weights are drawn from seeds derived from
``(seed, width, chunk index)``, so memory stays bounded and the BN arm and its vanilla control see the same weights.
Every name here is re-exported by :mod:`rcbench.experiments.rank_collapse` (the claims' entry point), and the
experiment functions keep the store / command-line name ``rank_collapse:<function>`` (:func:`paper_a_name`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from rcbench import metrics as M
from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import gaussian_input, positive_int, storable, tidy
from rcbench.networks import MLP, NumericalDivergence
from rcbench.networks import init as I

INF = math.inf
#: use :mod:`rcbench.networks.fast_chain` where it applies (same numbers; ``False`` times the module path, an MLP per
#: chunk of layers); ``rank_collapse.FAST_CHAIN = False`` sets this flag too
FAST_CHAIN = True


def paper_a_name(fn: Callable) -> Callable:
    """Keep ``fn``'s experiment name ``rank_collapse:<name>`` (results stores, ``rcbench sweep``, the cost model) now
    that paper A's experiments live in several modules: applied under :func:`storable`."""
    fn.__module__ = "rcbench.experiments.rank_collapse"
    return fn


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
@paper_a_name
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
@paper_a_name
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
