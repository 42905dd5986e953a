"""rcbench's paper claims as pytest tests (the repository's top-level ``claims/``, installed as ``rcbench.claims``):
``pytest --pyargs rcbench.claims`` (see :mod:`rcbench.pytest_plugin`)."""
