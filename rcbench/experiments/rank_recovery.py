"""Fig. 3b of paper A (claim A6): the BN chain's recovery from a nearly rank-one input, in the H formulation
(:mod:`rcbench.experiments.rank_chains`) or the authors' Gram formulation
(:mod:`rcbench.experiments.gram_formulation`)."""

from __future__ import annotations

import math

import pandas as pd
import torch

from rcbench.device import MEASUREMENT_DTYPE, resolve_device
from rcbench.experiments.common import generator, positive_int, storable
from rcbench.experiments.gram_formulation import FORMULATIONS, gram_formulation_chain
from rcbench.experiments.rank_chains import (
    linear_chain,
    paper_a_name,
    subseed,
)

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
@paper_a_name
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
