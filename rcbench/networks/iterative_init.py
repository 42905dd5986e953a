"""Paper B's iterative orthogonalisation initialisation (Daneshmand, Joudaki, Bach 2021, §5.2 Eq. (6), App. E, G).

A *data-dependent* initialisation: every square layer is set, bottom to top, from the representation that the
already-initialised layers below it produce on an *init batch* of ``N >= d`` samples.

Paper (layout ``d x N``, one column per sample): ``H = U Sigma V^T`` and
``W = V' Sigma^{-1/2} U^T / ||Sigma^{1/2}||_F`` with ``V'`` a ``d x d`` orthogonal matrix "obtained by slicing" ``V``.

rcbench layout (``H`` of shape ``(N, d)``, row = sample): ``torch.linalg.svd(H) = P diag(s) Qh`` (``P`` is ``N x d``,
``Qh`` is ``d x d``), i.e. the paper's ``U = Qh^T`` and ``V = P``. The ``nn.Linear`` weight is

    ``W = V' diag(s)^{e} Qh / c``,   layer output ``H W^T = P diag(s)^{1+e} V'^T / c``,

with ``e = -1/2`` (paper) and ``V'`` built from the slice ``P[:d, :d]``. The output's singular values are
``s^{1+e} / c``: with ``e = -1/2`` and ``c = ||Sigma^{1/2}||_F = sqrt(sum s)`` they are ``sqrt(s_i / sum_j s_j)``, which
makes the gap strictly smaller unless ``H`` is already orthogonal (App. E, B6).

Variants (:data:`VARIANTS`), because the paper, the authors' code and a reproduction differ (provenance of B6 and B31 in ``rcbench/docs/claims/B.md``):

``paper``         ``e = -1/2``; ``V' = `` the orthogonal factor of ``QR(P[:d, :d])`` (sign-fixed) — a d x d slice of
                  a matrix with orthonormal columns is not itself orthogonal, App. E needs an orthogonal ``V'``;
                  ``c = sqrt(sum s)`` (equal to ``||H W^T||_F``, so ``||H W^T||_F = 1``).
``paper_literal`` ``e = -1/2`` with the un-orthogonalised slice ``V' = P[:d, :d]``; ``c = ||H W^T||_F``.
``code``          the authors' MLP code (``Figures_3_4.ipynb``): ``w = u[:d,:d] @ diag(1/s) @ v.T``, i.e.
                  ``e = -1`` (Sigma^{-1}, not Sigma^{-1/2}) with the literal slice, then divided by ``||H W^T||_F``.
``reproduction``  ``t0m1ab/CS3A_TDL_project``'s transposition bug: ``torch.svd`` returns ``V``, not ``V^T``, and it
                  is used untransposed, i.e. ``Qh^T`` in place of ``Qh``; ``e = -1/2``, literal slice. Does **not**
                  orthogonalise (kept as a regression control).

For convolutions (App. G, authors' ``Figure_7.ipynb``) the same construction runs on the im2col matrix of the layer
input (rows = every (image, position) patch, columns = ``C_in * k * k``) and keeps the top ``C_out`` singular
directions: ``W = V'[:C_out, :C_out] diag(s[:C_out])^{e} Qh[:C_out, :]``, divided by the norm of the conv output.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "VARIANTS",
    "orthogonalizing_weight",
    "iterative_orthogonal_init_",
    "iterative_orthogonal_init_conv_",
    "resolve_variant",
]

#: name -> (exponent, slice, transpose_bug, scale); see the module docstring.
VARIANTS: dict[str, dict] = {
    "paper": {"exponent": -0.5, "slice": "qr", "transpose_bug": False, "scale": "sigma"},
    "paper_literal": {"exponent": -0.5, "slice": "literal", "transpose_bug": False, "scale": "output"},
    "code": {"exponent": -1.0, "slice": "literal", "transpose_bug": False, "scale": "output"},
    "reproduction": {"exponent": -0.5, "slice": "literal", "transpose_bug": True, "scale": "output"},
}
_SLICES = ("qr", "literal", "identity")
_SCALES = ("sigma", "output", None)


def resolve_variant(variant: str | None = "paper", **overrides) -> dict:
    """Options of a named variant with ``overrides`` (``exponent``, ``slice``, ``transpose_bug``, ``scale``) applied."""
    if variant is None:
        opts = dict(VARIANTS["paper"])
    else:
        if variant not in VARIANTS:
            raise ValueError(f"unknown iterative-init variant {variant!r}; one of {sorted(VARIANTS)}")
        opts = dict(VARIANTS[variant])
    unknown = set(overrides) - set(opts)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; valid: {sorted(opts)}")
    opts.update({k: v for k, v in overrides.items() if v is not None or k == "scale"})
    if opts["slice"] not in _SLICES:
        raise ValueError(f"slice must be one of {_SLICES}, got {opts['slice']!r}")
    if opts["scale"] not in _SCALES:
        raise ValueError(f"scale must be one of {_SCALES}, got {opts['scale']!r}")
    if not math.isfinite(float(opts["exponent"])):
        raise ValueError(f"exponent must be finite, got {opts['exponent']}")
    return opts


def _orthogonal_factor(a: torch.Tensor) -> torch.Tensor:
    """Orthogonal factor of ``QR(a)`` with the sign fix ``diag(R) > 0`` (so that an orthogonal ``a`` is returned)."""
    q, r = torch.linalg.qr(a)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return q * signs.unsqueeze(-2)


def orthogonalizing_weight(
    H: torch.Tensor,
    out_features: int | None = None,
    *,
    variant: str = "paper",
    exponent: float | None = None,
    slice: str | None = None,
    transpose_bug: bool | None = None,
    scale: str | None = "default",
    pinv: bool = False,
) -> torch.Tensor:
    """Eq. (6) weight ``(..., out, d)`` from a layer input ``H`` of shape ``(..., N, d)`` with ``N >= d``.

    ``out_features`` (default ``d``) keeps the top ``out`` singular directions (convolutions, App. G). ``variant``
    names the defaults (:data:`VARIANTS`); ``exponent``, ``slice`` (``"qr"``, ``"literal"``, ``"identity"``),
    ``transpose_bug`` and ``scale`` (``"sigma"``: divide by ``sqrt(sum s)``; ``"output"``: by ``||H W^T||_F``;
    ``None``: no scaling) override them. Batched over leading dimensions (seeds). Raises ``ValueError`` for
    ``N < d``, non-finite input or a rank-deficient ``H`` (``Sigma^{-1/2}`` does not exist) unless ``pinv=True``:
    then singular values at round-off level (``<= s_max * max(N, d) * eps``; e.g. dead ReLU units, whose feature
    column is zero on the whole init batch) get weight 0 (pseudo-inverse), a departure from Eq. (6), which assumes
    a full-rank init batch. With ``scale="output"`` and ``pinv=True``, a weight whose output ``H W^T`` vanishes (to
    round-off) on the batch is set to 0 (a dead layer) rather than divided by zero; without ``pinv`` it raises.
    """
    overrides = {"exponent": exponent, "slice": slice, "transpose_bug": transpose_bug}
    if scale != "default":
        overrides["scale"] = scale
    opts = resolve_variant(variant, **overrides)
    if not isinstance(H, torch.Tensor) or H.ndim < 2:
        raise ValueError("H must be a tensor of shape (..., N, d)")
    N, d = H.shape[-2:]
    out = d if out_features is None else int(out_features)
    if N < d:
        raise ValueError(f"the iterative init needs an init batch at least as large as the width: N={N} < d={d}")
    if not 1 <= out <= d:
        raise ValueError(f"out_features must lie in [1, d={d}], got {out}")
    if not bool(torch.isfinite(H).all()):
        raise ValueError("the init batch representation contains NaN or inf")
    P, s, Qh = torch.linalg.svd(H, full_matrices=False)  # H = P diag(s) Qh
    s_top = s[..., :out]
    null = s_top <= s[..., :1] * max(N, d) * torch.finfo(s.dtype).eps
    if bool(null.any()) and not pinv:
        raise ValueError("the init batch representation is rank deficient: Sigma^{-1/2} does not exist (use a larger "
                         "or more diverse init batch, or pinv=True)")
    dead = null.all(-1)  # the representation is identically zero (a dead ReLU network): its pseudo-inverse is 0
    if bool(dead.any()):
        s = torch.where(dead.unsqueeze(-1), torch.ones_like(s), s)
    if opts["slice"] == "identity":
        Vp = torch.eye(out, dtype=H.dtype, device=H.device).expand(*H.shape[:-2], out, out)
    else:
        Vp = P[..., :out, :out]
        if opts["slice"] == "qr":
            Vp = _orthogonal_factor(Vp)
    right = (Qh.transpose(-1, -2) if opts["transpose_bug"] else Qh)[..., :out, :]
    safe = s_top.clamp_min(torch.finfo(s.dtype).tiny)
    power = torch.where(null, torch.zeros_like(s_top), safe.pow(float(opts["exponent"])))
    W = (Vp * power.unsqueeze(-2)) @ right
    if opts["scale"] == "sigma":
        W = W / s.sum(-1).sqrt()[..., None, None]
    elif opts["scale"] == "output":
        norm = torch.linalg.matrix_norm(H @ W.transpose(-1, -2))
        # The output H W^T can vanish although H does not: with ``pinv`` a rank-deficient H keeps only its live
        # directions, and a variant whose right factor is not H's (the reproduction's transposed Qh) may map them to
        # zero (seen: a rank-one H of a deep ReLU net), or a literal slice P[:d, :d] can be zero (the first d samples
        # dead). Dividing by ||H W^T||_F would then be 0/0 (or blow round-off up to unit norm). Below the round-off
        # of the product (||H||_2 ||Sigma^e||_2 max(N, d) eps, as ||W||_F <= ||Sigma^e||_2 for the orthonormal or
        # sliced factors) the output counts as zero; the pseudo-inverse of a zero scale is 0, so such a layer gets
        # W = 0, i.e. the network is dead from here on (as for an all-zero H), instead of NaN weights.
        floor = s[..., 0] * torch.linalg.vector_norm(power, dim=-1) * max(N, d) * torch.finfo(s.dtype).eps
        vanished = (norm <= floor) & ~dead
        if bool(vanished.any()) and not pinv:
            raise ValueError("the Eq. (6) weight maps the init batch to zero, so it cannot be scaled to unit output "
                             "norm (use pinv=True to set such a layer to zero)")
        ok = ~(dead | vanished)
        W = torch.where(ok[..., None, None], W / torch.where(ok, norm, torch.ones_like(norm))[..., None, None],
                        torch.zeros_like(W))
    return W


@torch.no_grad()
def iterative_orthogonal_init_(
    net: nn.Module, x: torch.Tensor, *, layers=None, variant: str = "paper", zero_bias: bool = True, **options
) -> nn.Module:
    """Re-initialise the square blocks of an rcbench :class:`~rcbench.networks.MLP` in place, bottom to top (Eq. 6).

    ``x`` is the init batch ``(N, in)`` or ``(seeds, N, in)`` with ``N >=`` width. ``layers`` selects block indices
    (default: every block with ``in == out``, as the authors' code, which leaves the input layer and the readout at
    their initial values). ``options`` are passed to :func:`orthogonalizing_weight`. Biases of the re-initialised
    blocks are zeroed (the paper's layers have none). Returns ``net``.
    """
    blocks = list(net.blocks)
    if layers is None:
        layers = [l for l, b in enumerate(blocks) if b.linear.in_features == b.linear.out_features]
    layers = sorted(set(int(l) for l in layers))
    bad = [l for l in layers
           if not 0 <= l < len(blocks) or blocks[l].linear.in_features != blocks[l].linear.out_features]
    if bad:
        raise ValueError(f"layers {bad} are not square blocks of this network (0..{len(blocks) - 1})")
    resolve_variant(variant, **{k: v for k, v in options.items() if k != "pinv" and (k != "scale" or v != "default")})
    w0 = blocks[0].linear.weight
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3) or x.shape[-1] != blocks[0].linear.in_features:
        raise ValueError(f"init batch must be (N, {blocks[0].linear.in_features}) or (seeds, N, in)")
    if layers and x.shape[-2] < max(blocks[l].linear.in_features for l in layers):
        raise ValueError(f"init batch of N={x.shape[-2]} samples is smaller than the width; Eq. (6) needs N >= d")
    h = x.to(device=w0.device, dtype=w0.dtype)
    h = h.expand(w0.shape[0], *h.shape[-2:]) if h.ndim == 2 else h
    todo = set(layers)
    for l, block in enumerate(blocks):
        if not todo:
            break
        if l in todo:
            # the SVD in float64 whatever the network's dtype (float32 round-off would blow up Sigma^{-1/2})
            block.linear.weight.copy_(orthogonalizing_weight(h.double(), variant=variant, **options))
            if block.linear.bias is not None and zero_bias:
                block.linear.bias.zero_()
            todo.discard(l)
        h = block(h)
    return net


@torch.no_grad()
def iterative_orthogonal_init_conv_(
    layers: nn.Sequential, x: torch.Tensor, *, variant: str = "paper", **options
) -> nn.Sequential:
    """App. G: re-initialise every ``nn.Conv2d`` with ``in_channels == out_channels`` of ``layers`` bottom to top from
    the im2col matrix of its input on the image batch ``x`` ``(B, C, H, W)`` (authors' ``novel_initialization``).

    The conv output is scaled to unit Frobenius norm over the batch (``scale="output"``, as the authors' code).
    """
    opts = dict(options)
    opts.setdefault("scale", "output")
    h = x
    for unit in layers:
        if isinstance(unit, nn.Conv2d) and unit.in_channels == unit.out_channels and unit.groups == 1:
            pad = unit.padding if isinstance(unit.padding, tuple) else (unit.padding,) * 2
            patches = nn.functional.unfold(h, unit.kernel_size, dilation=unit.dilation, padding=pad, stride=unit.stride)
            patches = patches.transpose(1, 2).reshape(-1, patches.shape[1])  # (B * positions, C * k * k)
            scale = opts.pop("scale")
            w = orthogonalizing_weight(patches, unit.out_channels, variant=variant, scale=None, **opts)
            opts["scale"] = scale
            unit.weight.copy_(w.reshape(unit.weight.shape))
            if unit.bias is not None:
                unit.bias.zero_()
            if scale is not None:
                norm = torch.linalg.vector_norm(unit(h))
                # a conv output that vanishes on the batch (dead units, pinv) gets weight 0 instead of 0/0 = NaN
                unit.weight.div_(norm) if norm > 0 else unit.weight.zero_()
        h = unit(h)
    return layers
