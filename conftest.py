"""rcbench's own checkout: the claims plugin, the short option spelling, and the device and seed fixtures of
tests/ and benchmarks/; the thread policy.

The harness is the pytest plugin :mod:`rcbench.pytest_plugin` (auto-loaded through its ``pytest11`` entry point when
rcbench is installed; listed here as well for a bare checkout or ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``). Its options are
``--rcbench-<name>``; in this repository ``--<name>`` works too (``pytest claims --profile quick --claim C7``).
"""

import os

import pytest
import torch

from rcbench.device import disable_tf32, resolve_device

pytest_plugins = ["rcbench.pytest_plugin"]


def _plugin():
    import rcbench.pytest_plugin  # imported by pytest first (pytest_plugins), so its asserts are rewritten

    return rcbench.pytest_plugin


def pytest_addoption(parser):
    _plugin().add_aliases(parser)


def pytest_configure(config):
    # One intra-op thread unless RCBENCH_THREADS says otherwise: the suite's kernels are small (n x n Grams, n <= 100,
    # d <= 1000), and libgomp's busy-waiting threads made them 10-20x slower whenever another process shared the
    # 2-core machine (measured: paper A's claims 24 min with 2 threads vs 57 s with 1 under load).
    torch.set_num_threads(int(os.environ.get("RCBENCH_THREADS", "1")))
    disable_tf32()


@pytest.fixture(scope="session")
def device(pytestconfig) -> torch.device:
    """The torch device the run was asked to use (``--device``)."""
    return resolve_device(_plugin().option(pytestconfig, "device"))


@pytest.fixture(scope="session")
def seed(pytestconfig) -> int:
    """The master seed (``--seed``); experiments derive every other seed from it."""
    return _plugin().option(pytestconfig, "seed")
