"""Hypothesis profiles: ``ci`` (derandomized, bounded) is loaded when the ``CI`` environment variable is set."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def device(pytestconfig):
    """The torch device the run was asked to use (``--device``)."""
    from rcbench.pytest_plugin import fixture_device

    return fixture_device(pytestconfig)


@pytest.fixture(scope="session")
def seed(pytestconfig) -> int:
    """The master seed (``--seed``); experiments derive every other seed from it."""
    from rcbench.pytest_plugin import option

    return option(pytestconfig, "seed")
