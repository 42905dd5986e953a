"""Experiments: plain functions from a configuration to a tidy pandas DataFrame (one row per seed x layer x
setting), built only from :mod:`rcbench.networks`, :mod:`rcbench.metrics`, :mod:`rcbench.theory` and
:mod:`rcbench.stats`. One module per paper; :mod:`rcbench.experiments.common` holds what they share."""


def experiment_name(module: str, function: str) -> str:
    """The name of an experiment function in a results store and on the command line: ``"module:function"``, with
    ``module`` relative to this package (``"orthogonality:bn_chain"``) or, outside it, the full dotted path. Kept free
    of torch so that ``rcbench sweep`` starts without importing it."""
    prefix = __name__ + "."
    return f"{module[len(prefix):] if module.startswith(prefix) else module}:{function}"
