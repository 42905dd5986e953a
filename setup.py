"""Packages of the distribution (the rest of the metadata is in pyproject.toml).

``rcbench*`` as found, plus the repository's top-level ``claims/`` shipped as ``rcbench.claims`` (pyproject.toml
cannot add a mapped package to a ``find`` result), so that an installed rcbench runs the same claim files as the
checkout: ``rcbench run`` from any directory, ``pytest --pyargs rcbench.claims`` in another project.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["rcbench", "rcbench.*"]) + ["rcbench.claims"],
    package_dir={"rcbench.claims": "claims"},
)
