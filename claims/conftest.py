"""The fixtures of the claim tests. The harness itself (options, validation, selection, recording) is the pytest
plugin :mod:`rcbench.pytest_plugin`, loaded through its ``pytest11`` entry point (or the repository's top-level
``conftest.py``); this folder ships in the wheel as the package ``rcbench.claims``, so the checkout and an installed
rcbench run the same files:

* ``pytest claims --profile quick --claim C7`` in the checkout (the short option spelling of the repository),
* ``pytest --pyargs rcbench.claims --rcbench-claim C7`` anywhere rcbench is installed,
* ``rcbench run --claim C7``.

Options (:data:`rcbench.pytest_plugin.OPTIONS`): ``profile``, ``device``, ``seed``, ``paper``, ``claim``,
``data-root``, ``results-dir``, ``results`` (a results store, :class:`rcbench.sweep.StoreSource`; a call the store
lacks errors its test and is listed in ``<results-dir>/requests.json``), ``set`` (:mod:`rcbench.overrides`), and
``norm``/``init``/``activation`` (the user's component, substituted in the claims that declare it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rcbench import pytest_plugin as harness


@pytest.fixture(scope="session")
def profile(pytestconfig) -> str:
    """``"quick"`` or ``"paper"``: which sizes the experiments use."""
    return harness.option(pytestconfig, "profile")


@pytest.fixture(scope="session")
def device(pytestconfig):
    """The torch device the run was asked to use (``--rcbench-device``)."""
    return harness.fixture_device(pytestconfig)


@pytest.fixture(scope="session")
def seed(pytestconfig) -> int:
    """The master seed (``--rcbench-seed``); experiments derive every other seed from it."""
    return harness.option(pytestconfig, "seed")


@pytest.fixture(scope="session")
def data_root(pytestconfig) -> Path | None:
    """Root of torchvision's data sets, or ``None`` (then training claims use data shipped with scikit-learn)."""
    root = harness.option(pytestconfig, "data-root")
    return Path(root).expanduser() if root else None


@pytest.fixture
def components(request) -> harness.Components:
    """Norm, init and activation for this claim, honouring ``--rcbench-norm``/``-init``/``-activation``."""
    return harness.components_for(request)


@pytest.fixture
def record(request):
    """The recorder of this claim test (:class:`rcbench.records.ClaimRecorder`); call ``record.verify()`` at the
    end of the test."""
    yield from harness.make_recorder(request)
