"""rcbench's own checkout: the claims plugin, the short option spelling, the thread policy.

The harness is the pytest plugin :mod:`rcbench.pytest_plugin` (auto-loaded through its ``pytest11`` entry point when
rcbench is installed; listed here as well for a bare checkout or ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``). Its options are
``--rcbench-<name>``; in this repository ``--<name>`` works too (``pytest claims --profile quick --claim C7``).
The ``device`` and ``seed`` fixtures of tests/ and benchmarks/ are in their conftest files
(:func:`rcbench.pytest_plugin.fixture_device`).

When another project collects the claims of an editable install (``pytest --pyargs rcbench.claims``), pytest loads
this file as well: it then adds no option that the project already has and leaves the project's session alone.
"""

import os
from pathlib import Path

pytest_plugins = ["rcbench.pytest_plugin"]


def _plugin():
    import rcbench.pytest_plugin  # imported by pytest first (pytest_plugins)

    return rcbench.pytest_plugin


def pytest_addoption(parser):
    _plugin().add_aliases(parser, skip_existing=True)


def pytest_configure(config):
    if Path(str(config.rootpath)).resolve() != Path(__file__).resolve().parent:
        return  # another project's session
    import torch

    from rcbench.device import disable_tf32

    # One intra-op thread unless RCBENCH_THREADS says otherwise: the suite's kernels are small (n x n Grams, n <= 100,
    # d <= 1000), and libgomp's busy-waiting threads made them 10-20x slower whenever another process shared the
    # 2-core machine (measured: paper A's claims 24 min with 2 threads vs 57 s with 1 under load).
    torch.set_num_threads(int(os.environ.get("RCBENCH_THREADS", "1")))
    disable_tf32()
