"""The random MLP of all four papers, as a real ``torch.nn`` module running a seed ensemble at once.

One block is ``linear -> norm -> gain -> act`` (``order="norm_act"``, papers A, B, C: ``X_{l+1} = sigma(alpha_l
BN(W_l X_l))``) or ``linear -> gain -> act -> norm`` (``order="act_norm"``, paper D: ``x_{l+1} = LN(sigma(W_l
x_l))``). The weights of ``ensemble`` independent networks live in one tensor ``(seeds, out, in)`` per layer, so a
forward pass over all seeds is one batched matmul per layer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
from torch import nn

from rcbench.device import resolve_device
from rcbench.networks.activations import get_activation
from rcbench.networks.init import Initializer, get_init
from rcbench.networks.norms import get_norm

__all__ = ["EnsembleLinear", "Block", "MLP", "gain_schedule", "NumericalDivergence"]


class NumericalDivergence(FloatingPointError):
    """A forward pass produced NaN or inf; raised instead of passing non-finite numbers on as data."""


class EnsembleLinear(nn.Module):
    """``y = x W^T + b`` for ``ensemble`` independent weight matrices ``W`` of shape ``(seeds, out, in)``.

    Input ``(n, in)`` (shared by the seeds) or ``(seeds, n, in)``; output ``(seeds, n, out)``.
    """

    def __init__(self, in_features: int, out_features: int, ensemble: int = 1, bias: bool = False, **factory):
        super().__init__()
        self.in_features, self.out_features, self.ensemble = in_features, out_features, ensemble
        self.weight = nn.Parameter(torch.empty(ensemble, out_features, in_features, **factory))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, out_features, **factory)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.weight.transpose(-1, -2)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, seeds={self.ensemble}, bias={self.bias is not None}"


class Block(nn.Module):
    """One layer ``linear -> norm -> gain -> act`` or ``linear -> gain -> act -> norm`` (see module docstring)."""

    def __init__(self, linear: EnsembleLinear, norm: nn.Module, act: nn.Module, gain: float, order: str):
        super().__init__()
        self.linear, self.norm, self.act, self.gain, self.order = linear, norm, act, float(gain), order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        if self.order == "norm_act":
            z = self.norm(z)
            return self.act(z if self.gain == 1.0 else self.gain * z)
        z = self.act(z if self.gain == 1.0 else self.gain * z)
        return self.norm(z)

    def extra_repr(self) -> str:
        return f"order={self.order}, gain={self.gain:g}"


def gain_schedule(exponent: float) -> Callable[[int], float]:
    """Per-layer gain ``alpha_l = (l + 1) ** exponent``, ``l = 0 .. depth-1`` (paper C, Eq. 11, ``exponent=-0.4``).

    Note the sign: paper C's ``run.py`` negates its ``--gain-exponent`` flag; here the exponent is used as given.
    """
    return lambda l: (l + 1.0) ** exponent


class MLP(nn.Module):
    """Random MLP with normalisation, for signal-propagation experiments.

    Args:
        in_features: input dimension.
        width: hidden width, or a sequence of ``depth`` widths.
        depth: number of blocks (each ``linear -> norm -> act`` in some order); the first maps ``in_features`` to
            the first width.
        out_features: if given, a final plain linear readout (no norm, no activation), as in papers A, C and D's
            training experiments.
        norm: a name of :data:`rcbench.networks.norms.NORMS`, ``None``, or a factory ``(d) -> nn.Module``.
        activation: a name of :data:`rcbench.networks.activations.ACTIVATIONS`, a callable or a module class.
        order: ``"norm_act"`` or ``"act_norm"``.
        gain: per-layer factor before the activation: a number, a sequence of ``depth`` numbers or a function
            ``l -> alpha_l`` (see :func:`gain_schedule`).
        init: a name of :data:`rcbench.networks.init.INITS` or an initializer ``(shape, generator, dtype)``.
        bias: give the linear layers biases, initialised by ``bias_init``: ``"torch_default"`` (PyTorch's
            ``U(+-1/sqrt(fan_in))``, paper A's Fig. 1) or ``"zeros"``.
        readout_init: initializer of the readout (default ``init``).
        ensemble: number of independent networks (seeds) in the leading dimension.
        seed: seeds the ``torch.Generator`` that draws every weight; the same seed gives bit-identical weights.
        dtype, device: of the parameters (float64 on the CPU by default).

    ``forward(x)`` takes ``(n, in_features)`` or ``(ensemble, n, in_features)`` and returns ``(ensemble, n, out)``.
    """

    def __init__(
        self,
        in_features: int,
        width: int | Sequence[int],
        depth: int,
        *,
        out_features: int | None = None,
        norm: str | Callable | None = "bn",
        activation: str | Callable = "identity",
        order: str = "norm_act",
        gain: float | Sequence[float] | Callable[[int], float] = 1.0,
        init: str | Initializer = "gaussian",
        bias: bool = False,
        bias_init: str = "torch_default",
        readout_init: str | Initializer | None = None,
        ensemble: int = 1,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ):
        super().__init__()
        depth = _positive_int(depth, "depth")
        in_features = _positive_int(in_features, "in_features")
        ensemble = _positive_int(ensemble, "ensemble")
        widths = [width] * depth if isinstance(width, (numbers.Number, str)) else list(width)
        if len(widths) != depth:
            raise ValueError(f"width is a sequence of {len(widths)} widths but depth={depth}")
        widths = [_positive_int(w, "width") for w in widths]
        if out_features is not None:
            out_features = _positive_int(out_features, "out_features")
        if order not in ("norm_act", "act_norm"):
            raise ValueError(f"order must be 'norm_act' or 'act_norm', got {order!r}")
        gains = _gains(gain, depth)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        device = resolve_device(device)
        if bias_init not in ("torch_default", "zeros"):
            raise ValueError(f"bias_init must be 'torch_default' or 'zeros', got {bias_init!r}")
        init_fn = get_init(init)
        readout_fn = init_fn if readout_init is None else get_init(readout_init)
        get_activation(activation)  # fail on unknown names before building anything
        if isinstance(norm, str):
            get_norm(norm, widths[0], 1)

        self.in_features, self.widths, self.depth = in_features, widths, depth
        self.ensemble, self.seed, self.order = ensemble, seed, order
        generator = torch.Generator().manual_seed(int(seed))
        factory = {"dtype": dtype}
        blocks = []
        fan_in = in_features
        for l, w in enumerate(widths):
            lin = EnsembleLinear(fan_in, w, ensemble, bias=bias, **factory)
            _fill(lin, init_fn, bias_init, generator)
            blocks.append(Block(lin, get_norm(norm, w, ensemble), get_activation(activation), gains[l], order))
            fan_in = w
        self.blocks = nn.ModuleList(blocks)
        self.readout = None
        if out_features is not None:
            self.readout = EnsembleLinear(fan_in, out_features, ensemble, bias=bias, **factory)
            _fill(self.readout, readout_fn, bias_init, generator)
        self.to(device=device, dtype=dtype)  # also the norms' parameters and buffers

    # -----------------------------------------------------------------------------------------------------------
    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        p = self.blocks[0].linear.weight
        return check_network_input(x, self.in_features, self.ensemble, device=p.device, dtype=p.dtype)

    def forward(
        self,
        x: torch.Tensor,
        *,
        return_hidden: bool = False,
        callback: Callable[[int, torch.Tensor], None] | None = None,
    ):
        """Run the ensemble on ``x``.

        Returns the output ``(ensemble, n, out)``; with ``return_hidden=True`` also the list of the ``depth + 1``
        representations (input first, then each block's output). ``callback(l, H)`` is called with every
        representation ``l = 0 .. depth`` instead of keeping them (streaming per-layer metrics). Raises
        :class:`NumericalDivergence` if the output is not finite.
        """
        h = self._check_input(x)
        hidden = [h] if return_hidden else None
        if callback is not None:
            callback(0, h)
        for l, block in enumerate(self.blocks, start=1):
            h = block(h)
            if return_hidden:
                hidden.append(h)
            if callback is not None:
                callback(l, h)
        out = h if self.readout is None else self.readout(h)
        if not bool(torch.isfinite(out).all()):
            layer = next((l for l, hh in enumerate(hidden or []) if not bool(torch.isfinite(hh).all())), None)
            where = f" (first at layer {layer})" if layer is not None else ""
            raise NumericalDivergence(f"the forward pass produced NaN or inf{where}; not recording it as data")
        return (out, hidden) if return_hidden else out

    @torch.no_grad()
    def grams(self, x: torch.Tensor) -> torch.Tensor:
        """Sample Grams ``H_l H_l^T`` of the input and every block, stacked as ``(depth + 1, ensemble, n, n)``.

        Feed them to :func:`rcbench.metrics.spectral_metrics` for one batched ``eigvalsh`` per forward pass.
        """
        grams = []
        self.forward(x, callback=lambda l, h: grams.append(h @ h.transpose(-1, -2)))
        return torch.stack(grams)


def check_network_input(
    x: torch.Tensor, in_features: int, ensemble: int, *, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Validate a network input ``(n, in_features)`` or ``(ensemble, n, in_features)`` before any work and return
    it on ``device`` in ``dtype``, expanded to ``(ensemble, n, in_features)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 3) or x.shape[-1] != in_features:
        raise ValueError(
            f"input must have shape (n, {in_features}) or ({ensemble}, n, {in_features}), got {tuple(x.shape)}"
        )
    if x.ndim == 3 and x.shape[0] != ensemble:
        raise ValueError(f"input has {x.shape[0]} seeds in its leading dimension, the network {ensemble}")
    if x.shape[-2] == 0:
        raise ValueError("input batch is empty (n = 0)")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("input contains NaN or inf")
    x = x.to(device=device, dtype=dtype)
    return x.expand(ensemble, *x.shape[-2:]) if x.ndim == 2 else x


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _gains(gain, depth: int) -> list[float]:
    if callable(gain):
        gains = [float(gain(l)) for l in range(depth)]
    elif isinstance(gain, (int, float)):
        gains = [float(gain)] * depth
    else:
        gains = [float(g) for g in gain]
        if len(gains) != depth:
            raise ValueError(f"gain is a sequence of {len(gains)} values but depth={depth}")
    if not all(math.isfinite(g) for g in gains):
        raise ValueError("gains must be finite")
    return gains


@torch.no_grad()
def _fill(linear: EnsembleLinear, init: Initializer, bias_init: str, generator: torch.Generator) -> None:
    w = init(tuple(linear.weight.shape), generator, linear.weight.dtype)
    if tuple(w.shape) != tuple(linear.weight.shape):
        raise ValueError(f"initializer returned shape {tuple(w.shape)}, expected {tuple(linear.weight.shape)}")
    linear.weight.copy_(w)
    if linear.bias is not None:
        if bias_init == "zeros":
            linear.bias.zero_()
        else:  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            bound = 1.0 / math.sqrt(linear.in_features)
            u = torch.rand(tuple(linear.bias.shape), generator=generator, dtype=linear.bias.dtype)
            linear.bias.copy_((2 * u - 1) * bound)
