"""Options shared by tests/, claims/ and benchmarks/: the device and the master seed."""

import pytest
import torch

from rcbench.device import disable_tf32, resolve_device


def pytest_addoption(parser):
    group = parser.getgroup("rcbench")
    group.addoption("--device", default="cpu", help="torch device for networks: cpu (default), cuda, cuda:k or auto")
    group.addoption("--seed", type=int, default=0, help="master seed of every experiment (default 0)")


def pytest_configure(config):
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
