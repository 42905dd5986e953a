"""Batched explicit-weight chains: seeds and arms (norm x gamma) of one width in one tensor, no modules per layer.

The chain ``H_{l+1} = act(norm(H_l W~_l^T))`` with ``W~ = W`` (``gamma = inf``) or ``W~ = I + gamma W`` and ``W`` i.i.d.
``N(0, std^2)`` -- paper A's chains (Thm 2, Figs. 2, 3a) -- stepped for ``A`` arms x ``S`` seeds at once:
``h`` is ``(A, S, n, d)``, one batched product per layer. The weights are **the very numbers**
:class:`rcbench.networks.MLP` draws for ``MLP(d, d, chunk, init=..., ensemble=S, seed=chunk_seed(c))``: per chunk ``c``
of ``chunk`` layers a fresh ``torch.Generator`` seeded ``chunk_seed(c)`` and one ``(S, d, d)`` normal block per layer
in order (drawn several layers at a time when that gives the same numbers: torch's CPU normal sampler fills blocks of
16, so consecutive draws of ``S d^2`` values, a multiple of 16, equal one draw of their total). All arms share
``W`` (as separate calls with the same seed do); ``I + gamma W``, the product, the norm and the activation are the
same float64 operations as the modules', so every arm's representations are bit-identical to the module path
(``tests/test_fast_chain.py``) -- only faster: no module construction, one product for all arms and seeds, weights
drawn and formed per block of layers, representations kept only at the measured layers and handed over once per
chunk (so a measurement synchronises at most once per chunk, never per layer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from rcbench.networks.activations import get_activation
from rcbench.networks.norms import Normalization, get_norm

__all__ = ["GAUSSIAN_STD", "supported", "stream_arms"]

#: init name -> standard deviation of its entries for fan-in ``d`` (the :data:`rcbench.networks.init.INITS` laws)
GAUSSIAN_STD: dict[str, Callable[[int], float]] = {"gaussian": lambda d: 1.0 / math.sqrt(d), "gaussian_unit": lambda d: 1.0}
#: bytes of weights formed at once (per block of layers): a block stays in cache while it is formed and used
BLOCK_BYTES = 1 << 19


def _norm_ok(norm) -> bool:
    if norm is None:
        return True
    if not isinstance(norm, str):
        return False
    try:
        return isinstance(get_norm(norm, 2, 1), (Normalization, torch.nn.Identity))
    except ValueError:
        return False


def supported(norm, activation, init, gamma=math.inf) -> bool:
    """Whether :func:`stream_arms` reproduces this chain exactly: a stateless norm given by name (or ``None``), an
    activation given by name, Gaussian weights given by name, ``gamma`` a number."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        return False
    return (isinstance(init, str) and init in GAUSSIAN_STD and isinstance(activation, str) and _norm_ok(norm)
            and (math.isinf(g) or (g >= 0 and math.isfinite(g))))  # fmt: skip


def _normalize_(z: torch.Tensor, mod: Normalization, tmp: torch.Tensor, sq: torch.Tensor) -> None:
    """``z <- mod(z)`` in place, with :meth:`Normalization.forward`'s float64 operations in its order (no
    temporaries allocated: ``tmp`` has ``z``'s shape, ``sq`` the reduced shape)."""
    if mod.center:
        z.sub_(z.mean(mod.dim, keepdim=True))
    if mod.scale is None:
        return
    torch.mul(z, z, out=tmp)
    torch.sum(tmp, mod.dim, keepdim=True, out=sq)
    m = z.shape[mod.dim]
    if mod.scale == "rms":
        sq.div_(m)
    elif mod.scale == "std":
        sq.div_(m - 1)
    if mod.eps:
        sq.add_(mod.eps)  # sq + 0.0 is sq: skipped when eps = 0
    sq.sqrt_()
    z.div_(sq)


def _groups(norms: Sequence) -> list[tuple[int, int, object]]:
    """Contiguous runs of arms with the same norm: ``(start, stop, norm)``."""
    out: list[tuple[int, int, object]] = []
    for a, nm in enumerate(norms):
        if out and out[-1][2] == nm:
            out[-1] = (out[-1][0], a + 1, nm)
        else:
            out.append((a, a + 1, nm))
    return out


@torch.no_grad()
def stream_arms(
    x: torch.Tensor,
    *,
    depth: int,
    init: str,
    gammas: Sequence[float],
    norms: Sequence,
    activation: str,
    layers: Sequence[int],
    on_chunk: Callable[[list[int], torch.Tensor], None],
    chunk_seed: Callable[[int], int],
    chunk: int = 100,
    renorm: bool | Sequence[bool] = False,
    dtype: torch.dtype = torch.float64,
) -> None:
    """Run ``x`` (``(S, n, d)``, shared by the arms, or ``(A, S, n, d)``) through ``depth`` layers for the arms
    ``(norms[a], gammas[a])`` and call ``on_chunk(ids, H)`` once per chunk with ``H`` of shape ``(k, A, S, n, d)``
    at the requested ``layers`` (0 = input) reached in it. ``renorm`` (one flag, or one per arm): rescale each seed of
    the arm to unit Frobenius norm between chunks (the vanilla homogeneous chain's overflow guard, as the module path
    does)."""
    A = len(gammas)
    if len(norms) != A or A == 0:
        raise ValueError("give one norm per gamma (one arm each)")
    S, n, d = x.shape[-3:]
    h = x.to(dtype).expand(A, S, n, d).clone() if x.ndim == 3 else x.to(dtype).clone()
    dev = h.device
    std = GAUSSIAN_STD[init](d)
    finite = [not math.isinf(float(g)) for g in gammas]
    eye = torch.eye(d, dtype=dtype)
    norm_fns = [(a, b, get_norm(nm, d, S) if nm is not None else None) for a, b, nm in _groups(norms)]
    act = get_activation(activation)
    identity_act = activation in ("identity", "linear", "none")
    rescale = [bool(renorm)] * A if isinstance(renorm, bool) else [bool(r) for r in renorm]
    wanted = {int(l) for l in layers}
    if 0 in wanted:
        on_chunk([0], h.unsqueeze(0))
    z, tmp = torch.empty_like(h), torch.empty_like(h)  # the product and the norm's square, reused every layer
    sq = {-2: torch.empty(A, S, 1, d, dtype=dtype, device=dev), -1: torch.empty(A, S, n, 1, dtype=dtype, device=dev)}
    per_layer = S * d * d
    block = max(1, BLOCK_BYTES // (8 * A * per_layer)) if per_layer % 16 == 0 and per_layer >= 16 else 1
    wbuf = torch.empty(min(block, chunk, depth), A, S, d, d, dtype=dtype)
    simple = identity_act and all(fn is None or isinstance(fn, (Normalization, torch.nn.Identity)) for *_, fn in norm_fns)
    bufs, cur = [h, z], 0
    flat = [b.view(A * S, n, d) for b in bufs]
    jobs = [[(b[a0:b0], fn, tmp[a0:b0], sq[fn.dim][a0:b0]) if (a0, b0) != (0, A) else (b, fn, tmp, sq[fn.dim])
             for a0, b0, fn in norm_fns if isinstance(fn, Normalization)] for b in bufs]  # fmt: skip
    start, c = 0, 0
    while start < depth:
        size = min(chunk, depth - start)
        gen = torch.Generator().manual_seed(int(chunk_seed(c)))
        ids, hs = [], []
        done = 0
        while done < size:
            k = min(block, size - done)
            w = torch.randn((k * S, d, d), generator=gen, dtype=dtype)  # = k draws of (S, d, d)
            if std != 1.0:  # x * 1.0 is x: the pass is skipped for N(0, 1) weights
                w = w * std
            w = w.view(k, S, d, d)
            wk = wbuf[:k]
            for a, (g, f) in enumerate(zip(gammas, finite)):
                if f:  # perturbed_identity's eye + gamma * W (IEEE addition commutes: the same numbers)
                    torch.mul(w, float(g), out=wk[:, a]).add_(eye)
                else:
                    wk[:, a].copy_(w)
            wt = (wk if dev.type == "cpu" else wk.to(dev)).transpose(-1, -2)  # (k, A, S, d, d)
            if simple:  # identity activation, stateless norms: two buffers, views made once, six kernels a layer
                wt3 = wt.reshape(k, A * S, d, d)
                for j in range(k):
                    nxt = 1 - cur
                    torch.bmm(flat[cur], wt3[j], out=flat[nxt])
                    for job in jobs[nxt]:
                        _normalize_(*job)
                    cur = nxt
                    layer = start + done + j + 1
                    if layer in wanted:
                        ids.append(layer)
                        hs.append(bufs[cur].clone())
                h, z = bufs[cur], bufs[1 - cur]
                done += k
                continue
            for j in range(k):
                torch.bmm(h.view(A * S, n, d), wt[j].reshape(A * S, d, d), out=z.view(A * S, n, d))
                for a, b, fn in norm_fns:
                    if fn is None:
                        continue
                    if isinstance(fn, Normalization):
                        _normalize_(z[a:b], fn, tmp[a:b], sq[fn.dim][a:b])
                    elif a == 0 and b == A:
                        z = fn(z)
                    else:
                        z[a:b] = fn(z[a:b])
                h, z = (z, h) if identity_act else (act(z), h)
                layer = start + done + j + 1
                if layer in wanted:
                    ids.append(layer)
                    hs.append(h.clone())
            done += k
        if ids:
            on_chunk(ids, torch.stack(hs))
        if simple:
            h, z = bufs[cur], bufs[1 - cur]
        if any(rescale):  # in place: h stays one of the buffers
            for a in (a for a, r in enumerate(rescale) if r):
                scale = torch.linalg.vector_norm(h[a].flatten(-2), dim=-1).clamp_min(torch.finfo(h.dtype).tiny)
                h[a] = h[a] / scale[:, None, None]
        start += size
        c += 1
