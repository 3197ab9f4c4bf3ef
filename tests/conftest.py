"""Shared fixtures: small portfolios built once per session, and a fresh registry per test."""

import os
import tempfile

# numba compiles on first use and caches next to the code by default; keep the cache in a writable place
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def close():
    """120 daily bars of a seeded random walk."""
    from vectorbt.portfolio.registry.demo import demo_prices

    return demo_prices(n=120, seed=7)


@pytest.fixture(scope="session")
def sweep_pf(close):
    """A moving-average sweep: 6 configurations with column levels fast_window and slow_window."""
    from vectorbt.portfolio.registry.demo import demo_portfolio

    return demo_portfolio(close, windows=[3, 5, 8, 13])


@pytest.fixture(scope="session")
def single_pf(close):
    """One column, from a Series of prices."""
    import vectorbt as vbt

    return vbt.Portfolio.from_signals(close, close > close.rolling(5).mean(), close < close.rolling(5).mean(),
                                      fees=0.001, freq="1D")


@pytest.fixture(scope="session")
def grouped_pf(close):
    """Four assets in two groups with cash sharing: two configurations (the groups)."""
    import vectorbt as vbt

    rng = np.random.default_rng(3)
    prices = pd.DataFrame({f"a{i}": close.values * np.exp(np.cumsum(rng.normal(0, 0.01, len(close))))
                           for i in range(4)}, index=close.index)
    prices.columns.name = "asset"
    entries = prices > prices.rolling(4).mean()
    exits = prices < prices.rolling(4).mean()
    return vbt.Portfolio.from_signals(prices, entries, exits, group_by=pd.Index(["g1", "g1", "g2", "g2"],
                                      name="group"), cash_sharing=True, init_cash=1000, freq="1D")


@pytest.fixture
def reg(tmp_path):
    """An empty registry in a fresh folder."""
    from vectorbt.portfolio.registry import RunRegistry

    return RunRegistry(tmp_path / "registry")


# Real servers for the team-registry tests (PostgreSQL, an S3-compatible store), each started once per session by
# the first test that asks for it (see vectorbt.portfolio.registry.testing.servers).
from vectorbt.portfolio.registry.testing.servers import postgres_server, s3_server  # noqa: E402,F401
