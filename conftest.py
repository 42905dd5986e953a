"""Options shared by tests/, claims/ and benchmarks/: the device and the master seed; the thread policy."""

import os

import pytest
import torch

from rcbench.device import disable_tf32, resolve_device


def pytest_addoption(parser):
    group = parser.getgroup("rcbench")
    group.addoption("--device", default="cpu", help="torch device for networks: cpu (default), cuda, cuda:k or auto")
    group.addoption("--seed", type=int, default=0, help="master seed of every experiment (default 0)")


def pytest_configure(config):
    # One intra-op thread unless RCBENCH_THREADS says otherwise: the suite's kernels are small (n x n Grams, n <= 100,
    # d <= 1000), and libgomp's busy-waiting threads made them 10-20x slower whenever another process shared the
    # 2-core machine (measured: paper A's claims 24 min with 2 threads vs 57 s with 1 under load).
    torch.set_num_threads(int(os.environ.get("RCBENCH_THREADS", "1")))
    disable_tf32()
    resolve_device(config.getoption("--device"))  # unknown or unavailable devices fail before collection


@pytest.fixture(scope="session")
def device(pytestconfig) -> torch.device:
    """The torch device the run was asked to use (``--device``)."""
    return resolve_device(pytestconfig.getoption("--device"))


@pytest.fixture(scope="session")
def seed(pytestconfig) -> int:
    """The master seed (``--seed``); experiments derive every other seed from it."""
    return pytestconfig.getoption("--seed")
