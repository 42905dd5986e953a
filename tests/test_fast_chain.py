"""The batched chain (rcbench.networks.fast_chain) gives the module path's numbers bit for bit.

``linear_chain`` runs every supported configuration through :func:`rcbench.networks.fast_chain.stream_arms`;
``rank_collapse.FAST_CHAIN = False`` forces the module path (an ``MLP`` per chunk of layers). The weights are the
same draws of the same generators and every operation is the same float64 operation, so the frames must be equal
exactly -- including several arms batched in one tensor (``linear_chain_arms``) against separate calls, and chunk
boundaries (``depth`` not a multiple of ``chunk``; vanilla chains renormalised between chunks).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rcbench.experiments import rank_collapse as rc
from rcbench.experiments.common import reading_from

STATS = ("soft_rank", "rank_tau05", "numerical_rank", "sv_ratio")


def _module_path(fn, **kw):
    rc.FAST_CHAIN = False
    try:
        return fn(**kw)
    finally:
        rc.FAST_CHAIN = True


@pytest.mark.parametrize(
    "norm, gamma, init, activation, input",
    [("bn", math.inf, "gaussian_unit", "identity", "identity"), ("bn", 0.01, "gaussian_unit", "identity", "gaussian"),
     ("bn_centered", math.inf, "gaussian", "relu", "gaussian"), (None, math.inf, "gaussian", "identity", "gaussian"),
     (None, 1.0, "gaussian_unit", "identity", "identity"), ("none", 1.0, "gaussian_unit", "tanh", "gaussian")],
)  # fmt: skip
def test_fast_path_equals_module_path(seed, norm, gamma, init, activation, input):
    kw = dict(widths=[8, 12], depth=130, seeds=3, seed=seed, norm=norm, gamma=gamma, init=init, activation=activation,
              input=input, burn_in=10, sample_every=7, stats=STATS, chunk=50)  # fmt: skip
    assert rc._fast_chain_supported(norm, activation, init, gamma)
    with reading_from(None):
        pd.testing.assert_frame_equal(rc.linear_chain(**kw), _module_path(rc.linear_chain, **kw), check_exact=True)


def test_batched_arms_equal_separate_calls(seed):
    arms = [("bn", math.inf), ("bn", 1.0), ("bn_centered", 0.01), (None, math.inf)]
    kw = dict(widths=[8, 16], depth=120, seeds=2, seed=seed, init="gaussian_unit", input="gaussian", sample_every=10,
              stats=("soft_rank", "rank_tau05"), chunk=50)  # fmt: skip
    with reading_from(None):
        sep = pd.concat([_module_path(rc.linear_chain, norm=n, gamma=g, **kw) for n, g in arms], ignore_index=True)
        pd.testing.assert_frame_equal(rc.linear_chain_arms(arms=arms, **kw), sep, check_exact=True)


def test_unsupported_configurations_take_the_module_path():
    assert not rc._fast_chain_supported("bn", "identity", "uniform_unit", math.inf)  # not Gaussian
    assert not rc._fast_chain_supported("batchnorm1d", "identity", "gaussian", math.inf)  # a stateful norm
    kw = dict(widths=[8], depth=30, seeds=2, norm="bn_centered", init="uniform_unit", stats=("soft_rank",))
    with reading_from(None):
        pd.testing.assert_frame_equal(rc.linear_chain(**kw), _module_path(rc.linear_chain, **kw), check_exact=True)
