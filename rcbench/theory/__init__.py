"""Closed forms and deterministic predictions the claims compare with, one module per topic:

* :mod:`rcbench.theory.normalization` — the AM/GM identity of normalisation's scaling step (papers C, D).
* :mod:`rcbench.theory.hermite` — Hermite coefficients, beta_0 / beta_sigma, dual kernels and their mean-field
  recursion (paper D).
* :mod:`rcbench.theory.products` — products of random matrices: Newman's Lyapunov spectrum (paper A).
* :mod:`rcbench.theory.orthogonality` — paper B's near-isotropy contraction, floor and lemma constants.
* :mod:`rcbench.theory.isometry` — paper C's Weingarten gain and forward-rate bounds.
"""
