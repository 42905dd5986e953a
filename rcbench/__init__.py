"""rcbench: executable, falsifiable checks of the claims of four papers on signal propagation in deep random
networks with normalisation (Daneshmand et al. 2020, 2021; Meterez et al. 2024; Joudaki et al. 2023).

Flow: :mod:`rcbench.networks` -> representations -> :mod:`rcbench.metrics` -> :mod:`rcbench.experiments`
(tidy DataFrames) -> :mod:`rcbench.stats` -> the claim tests in ``claims/`` -> reports and the results store.
:mod:`rcbench.theory` holds the closed forms the claims compare with.
"""

__version__ = "0.1.0"
