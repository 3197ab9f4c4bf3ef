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

## First use and threads

The kernels are compiled by Numba the first time they run, which takes about ten seconds on a two-core machine,
and loaded from Numba's cache by later processes, in a few hundredths of a second. While the first call is still
compiling after `compile_notice_delay` seconds, it says so once on stderr (`compile_notice`). Each kernel is
compiled for one signature only, whatever the layout of the portfolio's arrays (see `_kernel`), and the trade
records of entry trades and positions and the automatic initial cash compile kernels of their own, on their own
first use.

From `parallel_min_cells` cells on, chunks of configurations run on `numba.get_num_threads()` Python threads: the
kernel releases the GIL, so the threads run in parallel without Numba's `parallel=True`, whose compilation took
longer than the rest of the kernel.

## Settings

`year_freq`, `risk_free` and `required_return` default to `vectorbt._settings.settings` (`returns.year_freq`,
`returns.defaults.risk_free` and `returns.defaults.required_return`), exactly as `Portfolio.stats` takes them,
and can be overridden per call. Everything else comes from the portfolio: its frequency, `fillna_close`,
`trades_type`, initial cash (including the automatic modes), cash sharing and grouping. `metric_settings`
reports the settings in effect as JSON-friendly values, so that stored metrics can be reproduced."""

import sys
import threading
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
"""Smallest number of cells (rows times columns) for which `compute_metrics` runs the kernel on several threads
(as many as `numba.get_num_threads()`).

Below it, the kernel takes a few milliseconds on one thread (about 30 ns per cell), which is not worth starting
and synchronizing other threads for, especially on a busy machine."""

max_chunks: int = 128
"""Maximum number of chunks of groups that `compute_metrics` distributes among threads."""

min_chunks: int = 8
"""Number of chunks below which `compute_metrics` does not go on several threads to fill whole blocks of lanes (as
long as there are as many groups), so that threads still share the work evenly."""

compile_notice_delay: float = 2.0
"""Seconds after which a first use that is still compiling the kernels says so on stderr (see `compile_notice`)."""

compile_notice: str = "vectorbt-registry: compiling the metric kernels on first use (about 10 s; later runs are fast)"
"""What `compute_metrics` prints on stderr, once, when compiling its kernels takes longer than
`compile_notice_delay`: on the first use after installing or upgrading, when Numba's cache does not hold them yet.
Later processes load them from the cache in well under a second."""

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


_compiled: tp.Set[str] = set()
"""Names of the kernels of `vectorbt.portfolio.registry.nb` that `_kernel` has compiled (or loaded from Numba's
cache) in this process."""

_compile_lock = threading.Lock()


def _kernel(name: str) -> tp.Any:
    """The kernel `name` of `vectorbt.portfolio.registry.nb`, compiled for its one signature (`nb.<name>_sig`, without
    the `_nb` suffix), after which Numba compiles it for nothing else.

    Its inputs are typed as read-only arrays of any layout (see `vectorbt.portfolio.registry.nb.input_t`), so that
    the close of a sweep (often Fortran-ordered and read-only), of a single column (contiguous either way) and of
    a portfolio loaded from a pickle (writable) all run the same machine code: one compilation instead of one
    per layout, each of which would take as long as the first."""
    kernel = getattr(nb, name)
    if name not in _compiled:
        with _compile_lock:
            if name not in _compiled:
                kernel.compile(getattr(nb, name[: -len("_nb")] + "_sig"))
                kernel.disable_compile()  # other layouts convert to the compiled signature's
                _compiled.add(name)
    return kernel


def _print_compile_notice() -> None:
    print(compile_notice, file=sys.stderr, flush=True)


def _compile_kernels(names: tp.Sequence[str]) -> None:
    """Compile the kernels `names` not compiled in this process yet (see `_kernel`), printing `compile_notice`
    once if that takes longer than `compile_notice_delay` (that is, when they are not in Numba's cache yet)."""
    missing = [name for name in names if name not in _compiled]
    if not missing:
        return
    timer = threading.Timer(compile_notice_delay, _print_compile_notice)
    timer.daemon = True
    timer.start()
    try:
        for name in missing:
            _kernel(name)
    finally:
        timer.cancel()


def _init_cash(pf: Portfolio, order_col_map: tp.ColMap, group_lens: tp.Array1d) -> tp.Array1d:
    """Initial cash per column/group, as `Portfolio.get_init_cash` with default arguments."""
    init_cash = pf._init_cash
    if isinstance(init_cash, int):  # an InitCashMode, as in Portfolio.get_init_cash
        out = _kernel("auto_init_cash_nb")(pf.wrapper.shape_2d, pf.order_records, order_col_map, group_lens)
        if init_cash == InitCashMode.AutoAlign:
            out = np.full(out.shape, np.max(out))
        return out
    init_cash = to_1d_array(init_cash).astype(np.float64)
    # vectorbt's init_cash_grouped_nb and init_cash_nb, called only where they do more than return init_cash
    if pf.wrapper.grouper.is_grouped():
        if pf.cash_sharing:
            return init_cash
        return portfolio_nb.init_cash_grouped_nb(init_cash, group_lens, pf.cash_sharing)
    if not pf.cash_sharing:
        return init_cash
    return portfolio_nb.init_cash_nb(init_cash, group_lens, pf.cash_sharing)


def _run_chunks(task: tp.Callable[[int], None], n_chunks: int, n_threads: int) -> None:
    """Call `task(chunk)` for every chunk of `range(n_chunks)` on `n_threads` threads (this one among them), each
    taking the next chunk when it is done with one, so that a thread slowed down by a busy machine holds none back.

    The kernels release the GIL (`nogil=True`), so the threads run them in parallel. Threads are started for the
    call and joined before it returns; an error in any of them is raised here."""
    n_threads = min(n_threads, n_chunks)
    if n_threads <= 1:
        for chunk in range(n_chunks):
            task(chunk)
        return
    chunks = iter(range(n_chunks))
    lock = threading.Lock()
    errors = []

    def work() -> None:
        try:
            while True:
                with lock:
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                task(chunk)
        except BaseException as e:  # raised in the calling thread below
            errors.append(e)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(n_threads - 1)]
    for thread in threads:
        thread.start()
    work()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _raise_order_error(codes: tp.Sequence[int]) -> None:
    """Raise the error that `Portfolio.stats` raises for the codes of `vectorbt.portfolio.registry.nb.check_orders_nb`
    of the chunks, in order: an id error anywhere first (vectorbt's cash flow checks the ids of every column before
    any trade builder looks at sizes and prices), then the first invalid size or price."""
    if 1 in codes:
        raise ValueError(nb.id_order_err)
    for code in codes:
        if code == 2:
            raise ValueError(portfolio_nb.size_zero_neg_err)
        if code == 3:
            raise ValueError(portfolio_nb.price_zero_neg_err)


def _group_metrics(
    kernel_args: tp.Tuple,
    group_start_idxs: tp.Array1d,
    group_end_idxs: tp.Array1d,
    from_group: int,
    to_group: int,
    n_threads: int,
    out: tp.Array2d,
) -> None:
    """Compute the metrics of the groups `from_group` to `to_group` (exclusive) into the rows of `out`, one per
    group, with `vectorbt.portfolio.registry.nb.chunk_metrics_nb` on chunks of consecutive groups.

    On one thread, all groups make one chunk. On several, enough chunks to fill blocks of lanes (see
    `vectorbt.portfolio.registry.nb.block_width_nb`), but no fewer than `min_chunks` and no more than `max_chunks`
    (and no more than there are groups); when there are more blocks than chunks, chunks hold whole blocks, so that
    only the very last block is partial. Each group's metrics depend on its own columns only: the numbers are the
    same however the groups are chunked. Besides the output, memory use is proportional to the chunks in flight:
    their orders, trade records and scratch buffers (see `vectorbt.portfolio.registry.nb.lane_memory`).

    Invalid orders raise the `ValueError` that `Portfolio.stats` raises (see `_raise_order_error`)."""
    close, fillna_close, order_records, order_col_map, order_col_start_idxs, trades_type = kernel_args[:6]
    other_args = kernel_args[6:]  # init_cash and the settings of the return ratios
    n_groups = to_group - from_group
    if n_groups == 0:
        return
    width = nb.block_width_nb(close.shape[0])
    n_blocks = -(-n_groups // width)
    n_chunks = 1 if n_threads <= 1 else min(n_groups, max(min_chunks, n_blocks), max_chunks)
    codes = [0] * n_chunks
    chunk_metrics = _kernel("chunk_metrics_nb")
    chunk_trades = None if trades_type == TradesType.ExitTrades else _kernel("chunk_trades_nb")
    no_trades = np.empty(0, dtype=nb.trade_dt)

    def task(chunk: int) -> None:
        if n_chunks <= n_blocks:  # whole blocks in every chunk
            chunk_from = min(chunk * n_blocks // n_chunks * width, n_groups)
            chunk_to = min((chunk + 1) * n_blocks // n_chunks * width, n_groups)
        else:
            chunk_from = chunk * n_groups // n_chunks
            chunk_to = (chunk + 1) * n_groups // n_chunks
        if chunk_from == chunk_to:
            return
        chunk_from += from_group
        chunk_to += from_group
        trades = no_trades
        if chunk_trades is not None:
            codes[chunk], trades = chunk_trades(
                close,
                order_records,
                order_col_map,
                order_col_start_idxs,
                trades_type,
                group_start_idxs[chunk_from],
                group_end_idxs[chunk_to - 1],
            )
            if codes[chunk] != 0:
                return
        codes[chunk] = chunk_metrics(
            close,
            fillna_close,
            order_records,
            order_col_map,
            order_col_start_idxs,
            trades_type,
            trades,
            group_start_idxs,
            group_end_idxs,
            chunk_from,
            chunk_to,
            *other_args,
            out,
            from_group,
        )

    _run_chunks(task, n_chunks, n_threads)
    _raise_order_error(codes)


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
    order_records = np.asarray(pf.order_records)
    if order_records.dtype != nb.order_dt:
        order_records = order_records.astype(nb.order_dt)
    trades_type = resolved["trades_type"]
    kernels = ["fast_col_map_nb", "chunk_metrics_nb"]
    if trades_type != TradesType.ExitTrades:
        kernels.append("chunk_trades_nb")
    if isinstance(pf._init_cash, int):
        kernels.append("auto_init_cash_nb")
    _compile_kernels(kernels)

    order_col_map = _kernel("fast_col_map_nb")(order_records["col"], n_cols)
    order_col_start_idxs = np.cumsum(order_col_map[1]) - order_col_map[1]
    group_lens = wrapper.grouper.get_group_lens()
    group_end_idxs = np.cumsum(group_lens)
    group_start_idxs = group_end_idxs - group_lens
    init_cash = _init_cash(pf, order_col_map, group_lens)
    kernel_args = (
        close,
        resolved["fillna_close"],
        order_records,
        order_col_map,
        order_col_start_idxs,
        trades_type,
        init_cash,
        ann_factor,
        resolved["risk_free"],
        resolved["required_return"],
        resolved["ddof"],
    )
    n_threads = 1 if close.size < parallel_min_cells else numba.get_num_threads()
    n_groups = len(group_lens)
    out = np.empty((n_groups, nb.n_metrics), dtype=np.float64)
    if progress is None:
        progress = close.size >= progress_min_cells and interactive()
    if progress and n_groups > 1:
        n_steps = min(progress_steps, n_groups)
        bounds = [step * n_groups // n_steps for step in range(n_steps + 1)]
        desc = f"metrics of {n_groups:,} configurations"
        for from_group, to_group in progress_bar(zip(bounds[:-1], bounds[1:]), n_steps, desc, True):
            _group_metrics(kernel_args, group_start_idxs, group_end_idxs, from_group, to_group, n_threads,
                           out[from_group:to_group])
    else:
        _group_metrics(kernel_args, group_start_idxs, group_end_idxs, 0, n_groups, n_threads, out)
    # out is ours alone: no copy (pandas copies arrays by default, about a millisecond at 10,000 configurations)
    return pd.DataFrame(out, index=wrapper.get_columns(), columns=list(METRIC_NAMES), copy=False)
