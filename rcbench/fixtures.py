"""The ``device`` and ``seed`` session fixtures of rcbench's own test and benchmark suites, defined once.

``tests/conftest.py`` and ``benchmarks/conftest.py`` import them (``from rcbench.fixtures import device, seed``);
their values come from the harness's options (:mod:`rcbench.pytest_plugin`: ``--rcbench-device`` /
``--rcbench-seed``, spelled ``--device`` / ``--seed`` in this repository). The claims keep their own copies in
``claims/conftest.py``: the plugin recognises the claims' fixtures by the file that defines them and keeps them to
the claims when another project collects ``rcbench.claims`` (``_isolate_fixtures``), so those must stay there.
"""

from __future__ import annotations

import pytest

__all__ = ["device", "seed"]


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
