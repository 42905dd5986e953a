"""Hypothesis profiles: ``ci`` (derandomized, bounded) is loaded when the ``CI`` environment variable is set.
The ``device`` and ``seed`` fixtures are shared with benchmarks/ (:mod:`rcbench.fixtures`)."""

import os

from hypothesis import HealthCheck, settings

from rcbench import fixtures

#: the shared session fixtures (defined once, in rcbench.fixtures; options --device / --seed)
device, seed = fixtures.device, fixtures.seed

settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
