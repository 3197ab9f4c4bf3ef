"""The demo behind `vbt-registry demo`: backtest a moving-average sweep on generated prices, register it in a
registry, and print the leaderboard.

It needs no data download: prices are a seeded geometric random walk, so the demo gives the same numbers on
every machine.

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> from vectorbt.portfolio.registry.demo import run_demo
>>> board = run_demo(RunRegistry(tempfile.mkdtemp()), windows=range(5, 12), verbose=False)
>>> len(board)
10
```
"""

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.run import RunRecord

__all__ = ["demo_prices", "demo_portfolio", "run_demo"]


def demo_prices(n: int = 1000, seed: int = 42, start: str = "2021-01-01", freq: str = "1D") -> pd.Series:
    """A seeded geometric random walk of `n` bars: stand-in prices for examples and tests."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.02, n)
    index = pd.date_range(start, periods=n, freq=freq, name="date")
    return pd.Series(100.0 * np.exp(np.cumsum(returns)), index=index, name="close")


def demo_portfolio(
    close: tp.Optional[pd.Series] = None,
    windows: tp.Iterable[int] = range(5, 51, 5),
    fees: float = 0.001,
) -> tp.Any:
    """A moving-average crossover sweep: one column per (fast, slow) pair of `windows` with fast < slow."""
    import vectorbt as vbt

    if close is None:
        close = demo_prices()
    fast, slow = vbt.MA.run_combs(close, window=list(windows), r=2, short_names=["fast", "slow"])
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    return vbt.Portfolio.from_signals(close, entries, exits, fees=fees, freq="1D")


def run_demo(
    registry: tp.Optional[RunRegistry] = None,
    windows: tp.Iterable[int] = range(5, 51, 5),
    n: int = 10,
    verbose: bool = True,
) -> pd.DataFrame:
    """Backtest the sweep, register it as one run, and return (and print) the top `n` configurations."""
    if registry is None:
        registry = RunRegistry()
    pf = demo_portfolio(windows=windows)
    record: RunRecord = registry.register(
        pf,
        name="ma_cross_demo",
        params={"asset": "demo-random-walk", "fees": 0.001},
        tags=["demo", "1d"],
        notes="Moving-average crossover sweep on seeded random-walk prices.",
    )
    board = registry.best("sharpe_ratio", n=n, name="ma_cross_demo", where=f"run_id == '{record.run_id}'")
    if verbose:
        shown = board[["column", "fast_window", "slow_window", "total_return", "sharpe_ratio", "max_drawdown",
                       "total_trades"]]
        print(f"Registered run {record.run_id} ({record.n_columns} configurations) in {registry.store!r}")
        print(f"Runs in the registry: {len(registry)}")
        print(f"Top {len(board)} configurations by sharpe_ratio:")
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            print(shown.to_string(index=False))
    return board
