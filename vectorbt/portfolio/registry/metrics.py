"""Fast extraction of the headline metrics of a portfolio.

`compute_metrics` returns the same numbers as `vectorbt.portfolio.base.Portfolio.stats` with `agg_func=None`
for every column (or group of columns, if the portfolio is grouped), but computes all of them in one parallel
Numba pass over the raw arrays of the portfolio (see `vectorbt.portfolio.registry.nb`) instead of building
a two-dimensional pandas object per intermediate series. pandas is only used to wrap the result.

## Metrics and units

`METRIC_NAMES` lists the metrics in the order of the returned columns. Every value is a `float64`. The metrics,
their units and titles are stated once, in `vectorbt.portfolio.registry.spec.METRICS`; this table shows them
(units as in `vectorbt.portfolio.registry.spec.UNITS`):

| Metric | Unit | `Portfolio.stats` title |
| --- | --- | --- |
| `start_value`, `end_value` | money | Start Value, End Value |
| `total_return`, `benchmark_return` | fraction (0.12 is 12%) | Total Return [%], Benchmark Return [%] |
| `max_gross_exposure` | fraction | Max Gross Exposure [%] |
| `total_fees_paid` | money | Total Fees Paid |
| `max_drawdown` | fraction, **negative**, as `Portfolio.max_drawdown` | Max Drawdown [%] (positive percent) |
| `max_drawdown_duration` | duration (bars: number of periods) | Max Drawdown Duration |
| `total_trades`, `total_closed_trades`, `total_open_trades` | count | Total Trades, ... |
| `open_trade_pnl` | money | Open Trade PnL |
| `win_rate` | fraction | Win Rate [%] |
| `best_trade`, `worst_trade`, `avg_winning_trade`, `avg_losing_trade` | fraction (trade return) | Best Trade [%], ... |
| `avg_winning_trade_duration`, `avg_losing_trade_duration` | duration (bars) | Avg Winning Trade Duration, ... |
| `profit_factor` | ratio | Profit Factor |
| `expectancy` | money | Expectancy |
| `sharpe_ratio`, `calmar_ratio`, `omega_ratio`, `sortino_ratio` | ratio | Sharpe Ratio, ... |

The durations listed in `DURATION_METRICS` are the timedeltas of `Portfolio.stats` divided by the frequency
of the portfolio, so they are available even when the portfolio has no frequency.

As in `Portfolio.stats`:

* trade statistics from `win_rate` on are computed over closed trades only, using the trade type
    of the portfolio (`Portfolio.trades_type`: entry trades, exit trades or positions),
* returns are the returns of the portfolio value, not asset returns,
* NaN marks a metric that is undefined for the column, for example `win_rate` without closed trades
    or `max_drawdown` without a drawdown, and inf appears where vectorbt divides by zero
    (for example `profit_factor` without losing trades).

The four return ratios need the annualization factor `year_freq / freq`. Without a frequency of the
portfolio or a year frequency they are NaN, and `compute_metrics` warns once per call (where
`Portfolio.stats` would drop these metrics with a warning each).

## Progress

Large sweeps are computed a slice of configurations at a time behind a tqdm progress bar (see
`vectorbt.portfolio.registry.progress`): by default when someone is watching and the portfolio has at least
`progress_min_cells` cells, always with `progress=True`, never with `progress=False`. The numbers are the same
either way, since each configuration's metrics depend on its own columns only.

## Settings

`year_freq`, `risk_free` and `required_return` default to `vectorbt._settings.settings` (`returns.year_freq`,
`returns.defaults.risk_free` and `returns.defaults.required_return`), exactly as `Portfolio.stats` takes them,
and can be overridden per call. Everything else comes from the portfolio: its frequency, `fillna_close`,
`trades_type`, initial cash (including the automatic modes), cash sharing and grouping. `metric_settings`
reports the settings in effect as JSON-friendly values, so that stored metrics can be reproduced."""

import warnings

import numba
import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.base.reshape_fns import to_1d_array, to_2d_array
from vectorbt.portfolio import nb as portfolio_nb
from vectorbt.portfolio.base import Portfolio
from vectorbt.portfolio.enums import InitCashMode, TradesType
from vectorbt.portfolio.registry import nb, spec
from vectorbt.portfolio.registry.progress import interactive, progress_bar
from vectorbt.utils.datetime_ import freq_to_timedelta

__all__ = [
    "METRIC_NAMES",
    "DURATION_METRICS",
    "RATIO_METRICS",
    "compute_metrics",
    "metric_settings",
]

METRIC_NAMES: tp.Tuple[str, ...] = spec.METRIC_NAMES
"""Names of the metrics returned by `compute_metrics`, in order (`vectorbt.portfolio.registry.spec.METRIC_NAMES`,
the fields of `vectorbt.portfolio.registry.nb.MetricIdx`)."""

DURATION_METRICS: tp.Tuple[str, ...] = spec.metrics_with_unit("duration")
"""Metrics expressed as a number of bars (periods): those of unit `"duration"` in
`vectorbt.portfolio.registry.spec.METRICS`."""

RATIO_METRICS: tp.Tuple[str, ...] = ("sharpe_ratio", "calmar_ratio", "omega_ratio", "sortino_ratio")
"""Metrics that need the annualization factor, and thus both a frequency and a year frequency: the annualized
return ratios (`profit_factor` is a ratio too, but of trade PnLs). Stated here only."""

parallel_min_cells: int = 100_000
"""Smallest number of cells (rows times columns) for which `compute_metrics` runs the kernel on all Numba threads.

Below it, the kernel takes a few milliseconds on one thread (about 30 ns per cell), which is not worth waking
up and synchronizing the other threads for, especially on a busy machine."""

progress_min_cells: int = 20_000_000
"""Smallest number of cells for which `compute_metrics` shows a progress bar by default (when interactive).

20 million cells, such as 20,000 configurations of 1,000 rows, take about a third of a second on two cores."""

progress_steps: int = 50
"""Number of slices of configurations that `compute_metrics` computes one after the other when showing progress."""

_timedelta_units: tp.Tuple[tp.Tuple[pd.Timedelta, str], ...] = tuple(
    (pd.Timedelta(1, unit=unit), unit) for unit in ("D", "h", "min", "s", "ms", "us", "ns")
)


def _timedelta_to_str(td: tp.Optional[pd.Timedelta]) -> tp.Optional[str]:
    """Format a timedelta as a number and the largest unit that divides it, such as "1D", "4h" or "90min"."""
    if td is None:
        return None
    for unit_td, unit in _timedelta_units:
        if td % unit_td == pd.Timedelta(0):
            return f"{td // unit_td}{unit}"
    return str(td)


def _resolve_settings(
    pf: Portfolio,
    year_freq: tp.Optional[tp.FrequencyLike],
    risk_free: tp.Optional[float],
    required_return: tp.Optional[float],
) -> tp.Kwargs:
    """Resolve the settings that the metrics depend on, taking defaults as `Portfolio.stats` does."""
    from vectorbt._settings import settings

    returns_cfg = settings["returns"]
    if year_freq is None:
        year_freq = returns_cfg["year_freq"]
    if risk_free is None:
        risk_free = returns_cfg["defaults"]["risk_free"]
    if required_return is None:
        required_return = returns_cfg["defaults"]["required_return"]
    freq = pf.wrapper.freq
    return dict(
        freq=None if freq is None else freq_to_timedelta(freq),
        year_freq=None if year_freq is None else freq_to_timedelta(year_freq),
        risk_free=float(risk_free),
        required_return=float(required_return),
        ddof=int(returns_cfg["defaults"]["ddof"]),
        fillna_close=bool(pf.fillna_close),
        trades_type=int(pf.trades_type),
    )


def metric_settings(
    pf: Portfolio,
    year_freq: tp.Optional[tp.FrequencyLike] = None,
    risk_free: tp.Optional[float] = None,
    required_return: tp.Optional[float] = None,
) -> tp.Dict[str, tp.Any]:
    """Return the settings that `compute_metrics` would use for `pf`, as JSON-friendly values.

    Keys:

    * `freq` (str or None): frequency of the portfolio, such as "1D" or "1h"
    * `year_freq` (str or None): year frequency, such as "365D"
    * `risk_free` (float): per-period risk-free return
    * `required_return` (float): required return
    * `fillna_close` (bool): whether NaN close prices are filled for valuation
    * `trades_type` (str): "entrytrades", "exittrades" or "positions"

    Arguments are resolved exactly as in `compute_metrics`."""
    resolved = _resolve_settings(pf, year_freq, risk_free, required_return)
    return dict(
        freq=_timedelta_to_str(resolved["freq"]),
        year_freq=_timedelta_to_str(resolved["year_freq"]),
        risk_free=resolved["risk_free"],
        required_return=resolved["required_return"],
        fillna_close=resolved["fillna_close"],
        trades_type=TradesType._fields[resolved["trades_type"]].lower(),
    )


def _init_cash(pf: Portfolio, order_col_map: tp.ColMap, group_lens: tp.Array1d) -> tp.Array1d:
    """Initial cash per column/group, as `Portfolio.get_init_cash` with default arguments."""
    init_cash = pf._init_cash
    if isinstance(init_cash, int):  # an InitCashMode, as in Portfolio.get_init_cash
        out = nb.auto_init_cash_nb(pf.wrapper.shape_2d, pf.order_records, order_col_map, group_lens)
        if init_cash == InitCashMode.AutoAlign:
            out = np.full(out.shape, np.max(out))
        return out
    init_cash = to_1d_array(init_cash).astype(np.float64)
    if pf.wrapper.grouper.is_grouped():
        return portfolio_nb.init_cash_grouped_nb(init_cash, group_lens, pf.cash_sharing)
    return portfolio_nb.init_cash_nb(init_cash, group_lens, pf.cash_sharing)


def compute_metrics(
    pf: Portfolio,
    year_freq: tp.Optional[tp.FrequencyLike] = None,
    risk_free: tp.Optional[float] = None,
    required_return: tp.Optional[float] = None,
    progress: tp.Optional[bool] = None,
) -> pd.DataFrame:
    """Compute the metrics of `METRIC_NAMES` for each column/group of `pf`.

    Args:
        pf (Portfolio): Portfolio to measure.
        year_freq (any): Year frequency for annualization. Defaults to `returns.year_freq` in settings.
        risk_free (float): Per-period risk-free return for the Sharpe and Omega ratios.
            Defaults to `returns.defaults.risk_free` in settings.
        required_return (float): Required return for the Omega and Sortino ratios.
            Defaults to `returns.defaults.required_return` in settings.
        progress (bool): Show a progress bar: None (default) when interactive and `pf` has at least
            `progress_min_cells` cells, True or False to decide. See `vectorbt.portfolio.registry.progress`.

    Returns a DataFrame with one row per column of `pf.wrapper.get_columns()` (one per group if `pf` is grouped;
    a single row labeled with the name of the Series, as given by the wrapper, if `pf` is one-dimensional)
    and one `float64` column per metric. See the module docstring for units.

    Equals `pf.stats(agg_func=None, settings=dict(year_freq=..., risk_free=..., required_return=...))`
    after converting percentages to fractions, timedeltas to bars and the sign of the maximum drawdown.

    Usage:
        ```pycon
        >>> import numpy as np
        >>> import pandas as pd
        >>> import vectorbt as vbt
        >>> from vectorbt.portfolio.registry.metrics import compute_metrics

        >>> index = pd.date_range("2020-01-01", periods=5)
        >>> close = pd.Series([1.0, 2.0, 1.5, 3.0, 4.0], index=index, name="asset")
        >>> size = pd.Series([1.0, np.nan, np.nan, 0.0, np.nan], index=index, name="asset")  # all in, then out
        >>> pf = vbt.Portfolio.from_orders(close, size, size_type="targetpercent", freq="1D")

        >>> metrics = compute_metrics(pf)
        >>> metrics.loc["asset", ["total_return", "max_drawdown", "max_drawdown_duration", "win_rate"]]
        total_return             2.00
        max_drawdown            -0.25
        max_drawdown_duration    1.00
        win_rate                 1.00
        Name: asset, dtype: float64
        ```
    """
    resolved = _resolve_settings(pf, year_freq, risk_free, required_return)
    freq = resolved["freq"]
    year_freq = resolved["year_freq"]
    if freq is None or year_freq is None:
        ann_factor = np.nan
        reason = "the portfolio has no frequency" if freq is None else "year_freq is None"
        warnings.warn(f"{', '.join(RATIO_METRICS)} are NaN: {reason}", stacklevel=2)
    else:
        ann_factor = year_freq / freq

    wrapper = pf.wrapper
    n_cols = wrapper.shape_2d[1]
    close = np.asarray(to_2d_array(pf.close), dtype=np.float64)
    order_records = pf.order_records
    order_col_map = nb.fast_col_map_nb(order_records["col"], n_cols)
    group_lens = wrapper.grouper.get_group_lens()

    n_threads = numba.get_num_threads()
    chunksize = numba.get_parallel_chunksize()
    if close.size < parallel_min_cells:
        numba.set_num_threads(1)
    numba.set_parallel_chunksize(1)  # threads take chunks of groups as they go: robust to a busy machine
    try:
        init_cash = _init_cash(pf, order_col_map, group_lens)
        kernel_args = (
            close,
            resolved["fillna_close"],
            order_records,
            order_col_map,
            resolved["trades_type"],
            group_lens,
            init_cash,
            ann_factor,
            resolved["risk_free"],
            resolved["required_return"],
            resolved["ddof"],
        )
        n_groups = len(group_lens)
        if progress is None:
            progress = close.size >= progress_min_cells and interactive()
        if progress and n_groups > 1:
            n_steps = min(progress_steps, n_groups)
            bounds = [step * n_groups // n_steps for step in range(n_steps + 1)]
            out = np.empty((n_groups, nb.n_metrics), dtype=np.float64)
            desc = f"metrics of {n_groups:,} configurations"
            for from_group, to_group in progress_bar(zip(bounds[:-1], bounds[1:]), n_steps, desc, True):
                out[from_group:to_group] = nb.portfolio_metrics_nb(*kernel_args, from_group, to_group)
        else:
            out = nb.portfolio_metrics_nb(*kernel_args, 0, n_groups)  # no omitted arguments: Numba's fast dispatch
    finally:
        numba.set_num_threads(n_threads)
        numba.set_parallel_chunksize(chunksize)
    # out is ours alone: no copy (pandas copies arrays by default, about a millisecond at 10,000 configurations)
    return pd.DataFrame(out, index=wrapper.get_columns(), columns=list(METRIC_NAMES), copy=False)
