"""Installs `vectorbt.portfolio.registry` into the vectorbt installed from the package index.

The repository's `vectorbt/` and `vectorbt/portfolio/` folders hold no `__init__.py`: vectorbt itself comes
from its own distribution, and this one adds only the `registry` subpackage to it.
"""

from setuptools import find_packages, setup

PACKAGES = ["vectorbt.portfolio.registry",
            *(f"vectorbt.portfolio.registry.{p}" for p in find_packages("vectorbt/portfolio/registry"))]
"""The registry and every subpackage below it (stores, query, configs, testing, ...), found rather than listed,
so that a new subpackage cannot be left out of a regular install."""

setup(
    name="vectorbt-registry",
    version="0.1.0",
    description="A run registry for vectorbt backtests: save, list, compare, rank and reload portfolios",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=PACKAGES,
    install_requires=["vectorbt>=1.2,<1.3"],
    extras_require={
        # nbclient and ipykernel execute the quickstart notebook in the tests; pdoc builds the API reference
        "test": ["pytest>=7", "hypothesis>=6", "nbclient>=0.8", "ipykernel>=6", "pdoc>=14"],
        "docs": ["pdoc>=14"],
    },
    entry_points={"console_scripts": ["vbt-registry=vectorbt.portfolio.registry.cli:main"]},
)
