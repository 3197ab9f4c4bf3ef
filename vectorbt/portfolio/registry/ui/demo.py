"""A small demo registry for the web page: a sweep over three parameters, a single-configuration run derived
from it, and a second sweep on other prices; what the tests drive and the guide's screenshots show.

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry.ui.demo import demo_registry
>>> reg, ids = demo_registry(tempfile.mkdtemp())
>>> sorted(ids), reg.get(ids["sweep"]).n_columns
(['other', 'single', 'sweep'], 24)
```
"""

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.demo import demo_prices

__all__ = ["three_param_sweep", "demo_registry"]


def three_param_sweep(close: pd.Series, fast: tp.Sequence[int] = (3, 5, 8), slow: tp.Sequence[int] = (10, 15, 20, 30),
                      stop: tp.Sequence[float] = (0.05, 0.1), fees: float = 0.001) -> tp.Any:
    """A moving-average crossover with a stop loss, one column per `(fast_window, slow_window, sl_stop)`:
    `len(fast) * len(slow) * len(stop)` configurations (24 by default)."""
    import vectorbt as vbt

    columns = pd.MultiIndex.from_product([list(fast), list(slow), list(stop)],
                                         names=["fast_window", "slow_window", "sl_stop"])
    fast_ma = pd.DataFrame({f: close.rolling(f).mean() for f in fast})
    slow_ma = pd.DataFrame({s: close.rolling(s).mean() for s in slow})
    above = pd.DataFrame({c: fast_ma[c[0]] > slow_ma[c[1]] for c in columns}, index=close.index)
    above.columns = columns
    entries = above & ~above.shift(1, fill_value=False)
    exits = ~above & above.shift(1, fill_value=False)
    sl = np.array([c[2] for c in columns], dtype=float)
    return vbt.Portfolio.from_signals(close, entries, exits, sl_stop=sl[None, :], fees=fees, freq="1D")


def demo_registry(path: tp.Any, n_bars: int = 400) -> tp.Tuple[tp.Any, tp.Dict[str, str]]:
    """A registry at `path` with three runs; returns it and their ids by role (`"sweep"`: 24 configurations
    over `fast_window`, `slow_window`, `sl_stop`; `"single"`: one configuration, its child; `"other"`: the
    sweep on other prices, 12 configurations)."""
    from vectorbt.portfolio.registry import RunRegistry

    reg = RunRegistry(path)
    close = demo_prices(n=n_bars, seed=11)
    sweep = reg.register(three_param_sweep(close), name="ma_stop", params={"asset": "demo-a"}, tags=["demo", "1d"],
                         notes="Moving-average crossover with a stop loss, 3 x 4 x 2 configurations.",
                         status="candidate")
    best = reg.load(sweep.run_id, column=(5, 20, 0.1))
    single = reg.register(best, name="ma_stop_oos", params={"asset": "demo-a"},
                          tags=["demo", "oos"], parent=sweep.run_id, notes="The chosen configuration, alone.")
    other = reg.register(three_param_sweep(demo_prices(n=n_bars, seed=12), fast=(3, 8), slow=(10, 20, 30)),
                         name="ma_stop", params={"asset": "demo-b"}, tags=["demo", "1d"], status="rejected")
    return reg, {"sweep": sweep.run_id, "single": single.run_id, "other": other.run_id}
