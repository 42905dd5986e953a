"""Experiments: plain functions from a configuration to a tidy pandas DataFrame (one row per seed x layer x
setting), built only from :mod:`rcbench.networks`, :mod:`rcbench.metrics`, :mod:`rcbench.theory` and
:mod:`rcbench.stats`. One module per paper; :mod:`rcbench.experiments.common` holds what they share."""
