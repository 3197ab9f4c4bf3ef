"""Installs `vectorbt.portfolio.registry` into the vectorbt installed from the package index.

The repository's `vectorbt/` and `vectorbt/portfolio/` folders hold no `__init__.py`: vectorbt itself comes
from its own distribution, and this one adds only the `registry` subpackage to it.
"""

from setuptools import find_packages, setup

PACKAGES = ["vectorbt.portfolio.registry",
            *(f"vectorbt.portfolio.registry.{p}" for p in find_packages("vectorbt/portfolio/registry"))]
"""The registry and every subpackage below it (stores, query, configs, testing, ...), found rather than listed,
so that a new subpackage cannot be left out of a regular install."""

CORE = ["vectorbt>=1.2,<1.3", "google-re2>=1.1"]
"""vectorbt, and RE2 for the regular expressions of `where` (`query.patterns`): its matching takes time linear in
the text for any pattern, which Python's `re` cannot promise for a pattern sent from the web page."""

TEAM = ["psycopg[binary]>=3.1", "psycopg-pool>=3.2", "fsspec>=2023.6", "s3fs>=2023.6"]
"""A shared registry: PostgreSQL through psycopg 3 and its pool, portfolios in object storage through fsspec."""

DASK = ["dask>=2023.6", "distributed>=2023.6"]
"""Sweeps whose chunks Dask workers backtest and register."""

UI = ["dash>=2.16", "dash-ag-grid>=31"]
"""The web page (`vbt-registry ui`), served from the package, with no CDN."""

EXTRAS = {
    "team": TEAM,
    "dask": DASK,
    "ui": UI,
    # nbclient and ipykernel execute the quickstart notebook; pdoc builds the API reference; moto's server is the
    # S3-compatible server on loopback; selenium drives Debian's chromium through chromium-driver
    "test": ["pytest>=7", "hypothesis>=6", "nbclient>=0.8", "ipykernel>=6", "pdoc>=14", "moto[server]>=5",
             "selenium>=4.15", *TEAM, *DASK, *UI],
    "docs": ["pdoc>=14"],
}
"""Optional extras; the core install needs only `CORE`."""

setup(
    name="vectorbt-registry",
    version="0.1.0",
    description="A run registry for vectorbt backtests: save, list, compare, rank and reload portfolios",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=PACKAGES,
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["vbt-registry=vectorbt.portfolio.registry.cli:main"]},
)
