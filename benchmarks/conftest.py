"""Benchmark harness (pytest-benchmark).

``pytest benchmarks --benchmark-enable --benchmark-json=benchmarks/results/cpu-2core.json`` times every group at
full size; the default ``pytest`` run (``--benchmark-disable`` in ``addopts``) executes each benchmark once at a small
size as a smoke test (the ``full`` fixture is False then). Derived numbers -- ``speedup_vs_reference``,
``matmul_throughput_ratio``, ``cost_exponent_d`` -- are measured inside one test, side by side and interleaved (so
that load from other processes hits both sides alike), and stored in that benchmark's ``extra_info``; the
environment (device, dtype, torch version, threads, float32 matmul precision) goes into ``machine_info`` and into
every ``extra_info``. The thread count follows the suite's policy (top-level ``conftest.py``: 1 intra-op thread
unless ``RCBENCH_THREADS=k``).
"""

from __future__ import annotations

import pytest
import torch
from _bench import benchmarking_enabled

from rcbench import fixtures
from rcbench.device import MEASUREMENT_DTYPE, environment

#: the shared session fixtures (defined once, in rcbench.fixtures; options --device / --seed)
device, seed = fixtures.device, fixtures.seed


def pytest_benchmark_update_machine_info(config, machine_info):
    env = environment(config.getoption("--device"), MEASUREMENT_DTYPE)
    machine_info["rcbench_environment"] = env
    machine_info["torch_version"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    machine_info["torch_config"] = torch.__config__.parallel_info().splitlines()[:6]


@pytest.fixture(scope="session")
def full(pytestconfig) -> bool:
    """True when benchmarks are timed (full sizes); False in the default smoke run (tiny sizes, one execution)."""
    return benchmarking_enabled(pytestconfig)


@pytest.fixture
def bench(benchmark, device, full):
    """The ``benchmark`` fixture with the environment recorded in ``extra_info``."""
    benchmark.extra_info.update(
        device=str(device),
        dtype=str(MEASUREMENT_DTYPE).replace("torch.", ""),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        float32_matmul_precision=torch.get_float32_matmul_precision(),
        full_size=full,
    )
    return benchmark
