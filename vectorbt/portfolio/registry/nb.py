"""Numba-compiled functions for extracting portfolio metrics from raw record arrays.

The functions in this module compute the headline metrics of `vectorbt.portfolio.base.Portfolio.stats`
for every column (or group of columns) straight from the raw arrays of a portfolio: the close price,
the order records with their column map, the initial cash and the grouping. No two-dimensional intermediate such as
the value, cash or return series of the whole portfolio is ever built: groups are taken a block at a time (see
`block_width_nb`), each walked row by row with scratch buffers of length `n_rows`, then the metrics that depend on
their value series are computed for the whole block, one group per SIMD lane (see `lane_returns_nb`). The entry
point, `chunk_metrics_nb`, computes a chunk of consecutive groups and releases the GIL:
`vectorbt.portfolio.registry.metrics.compute_metrics` runs chunks on several threads.

Every step follows the vectorbt function that `Portfolio.stats` goes through, with the same floating-point
operations in the same order, so that results match bit for bit wherever vectorbt sums in the same order
(and to rounding error where it sums the records of a group in another order, or where a column's orders are
not sorted by row: orders of one row that follow each other are summed before they are added to the row):

* asset flow, cash flow and free cash flow as in `vectorbt.portfolio.nb.asset_flow_nb` and
    `vectorbt.portfolio.nb.cash_flow_nb`, calling `vectorbt.portfolio.nb.get_free_cash_diff_nb` and
    `vectorbt.utils.math_.add_nb` (see `free_cash_diff_nb` and `add_flow_nb` for their shortcuts),
* position, cash, asset value, value and gross exposure as in `vectorbt.portfolio.nb.assets_nb`,
    `vectorbt.portfolio.nb.cash_nb`, `vectorbt.portfolio.nb.cash_grouped_nb`, `vectorbt.portfolio.nb.asset_value_nb`,
    `vectorbt.portfolio.nb.value_nb` and `vectorbt.portfolio.nb.gross_exposure_nb` (whose maximum, for a group of
    one column, may be a few units in the last place lower: see `single_col_series_nb`),
* returns with `vectorbt.returns.nb.get_return_nb` (see `get_return_select_nb`),
* total profit as in `vectorbt.portfolio.nb.total_profit_nb`,
* benchmark value as in `vectorbt.portfolio.nb.benchmark_value_nb` and
    `vectorbt.portfolio.nb.benchmark_value_grouped_nb` (see `lane_benchmark_return_nb`),
* maximum drawdown and its duration as the drawdown records of `vectorbt.generic.nb.get_drawdowns_nb`
    (see `drawdown_stats_1d_nb`),
* trade statistics over the trade records that `vectorbt.portfolio.nb.get_entry_trades_nb` and
    `vectorbt.portfolio.nb.get_positions_nb` build (see `trade_records_nb` and `fold_trade_records_nb`), or over
    the exit trades of `vectorbt.portfolio.nb.get_exit_trades_nb`, folded from the orders without building their
    records (see `fold_exit_trades_nb`),
* the Sharpe, Calmar, Omega and Sortino ratios as `vectorbt.returns.nb.sharpe_ratio_1d_nb`,
    `vectorbt.returns.nb.calmar_ratio_1d_nb`, `vectorbt.returns.nb.omega_ratio_1d_nb` and
    `vectorbt.returns.nb.sortino_ratio_1d_nb` compute them, fused into one function for speed
    (see `lane_return_ratios_nb`).

The output of `chunk_metrics_nb` is a 2-dim array with one row per column/group and one column
per metric, in the order of `MetricIdx`. Units are described in `vectorbt.portfolio.registry.metrics`.

## Compilation

The kernels compile on first use (and load from Numba's cache afterwards), so the code is laid out for a short
compilation as well as a fast run (see the benchmarks in `docs/benchmarks.md`):

* each entry point is compiled for one signature only (see `chunk_metrics_sig` and `input_t`): inputs are typed as
    read-only arrays of any layout, so that a C-ordered, Fortran-ordered or broadcast close, writable or not, takes
    the same machine code,
* no `parallel=True`: its parfor lowering took longer to compile than the rest of the kernel, and threads over
    a kernel that releases the GIL scale as well,
* `inline="always"` only for functions called from one place on the hot path (`row_orders_nb`, `process_order_nb`,
    `group_walk_nb`, `lane_metrics_nb`): Numba inlines them before typing, which saves compiling them on their
    own, while small helpers called from many places (`add_flow_nb`, the drawdown steps) are compiled once and
    left to LLVM to inline, instead of being typed again at every call site,
* no boolean or integer constants passed to our own functions: Numba compiles a function again for each literal
    (the trade folds are two functions, `fold_open_trade_nb` and `fold_closed_trade_nb`, not one with a flag),
* the trade records of entry trades and positions are built by a kernel of their own (`chunk_trades_nb`), so that
    the default exit trades never compile vectorbt's trade builders.

!!! note
    Degenerate input, such as a column without orders or trades, NaN prices or a zero denominator, gives NaN
    (or inf, where vectorbt gives inf) for the affected metrics rather than an error. Invalid order records
    (a size or price of zero or less, ids not ascending within a column) raise the error that `Portfolio.stats`
    raises for them (see `check_orders_nb`)."""

import numpy as np
from numba import njit, types
from numba.np.numpy_support import from_dtype

from vectorbt import _typing as tp
from vectorbt.portfolio.enums import OrderSide, TradeDirection, TradeStatus, TradesType, order_dt, trade_dt
from vectorbt.portfolio.nb import (
    get_entry_trades_nb,
    get_exit_trades_nb,
    get_positions_nb,
    get_trade_stats_nb,
)
from vectorbt.portfolio.registry import spec
from vectorbt.records.nb import col_map_nb
from vectorbt.utils.math_ import abs_tol, add_nb, is_close_nb, is_close_or_less_nb, is_less_nb, rel_tol


MetricIdxT = tp.NamedTuple("MetricIdxT", [(name, int) for name in spec.METRIC_NAMES])
MetricIdxT.__doc__ = """Column of each metric in the output of `chunk_metrics_nb`: one field per metric of
`vectorbt.portfolio.registry.spec.METRICS`, in its order."""

MetricIdx = MetricIdxT(*range(len(spec.METRIC_NAMES)))
"""Position of each metric in the output of `chunk_metrics_nb`.

A global NamedTuple of integers: Numba freezes it, so that `MetricIdx.total_return` compiles to a constant."""

n_metrics = len(MetricIdx)
"""Number of metrics computed by `chunk_metrics_nb`."""


class BufferIdxT(tp.NamedTuple):
    """Row of each series in the scratch buffers of shape `(n_buffers, n_rows)` that each chunk of groups allocates:
    the group sums that `accumulate_col_nb` adds to and `group_series_nb` reads, the per-row flows of the column
    that `accumulate_col_nb` is adding, and the close of that column (see `load_close_nb`)."""

    cash_flow_sum: int = 0
    free_cash_flow_sum: int = 1
    asset_value_sum: int = 2
    abs_asset_value_sum: int = 3
    close_norm_sum: int = 4
    col_flow: int = 5
    col_cash_flow: int = 6
    col_free_cash_flow: int = 7
    col_close: int = 8


BufferIdx = BufferIdxT()
"""Rows of the scratch buffers (see `BufferIdxT`)."""

n_buffers = len(BufferIdx)
"""Number of scratch rows of length `n_rows` that each chunk of groups needs (see `BufferIdxT`)."""


class LaneIdxT(tp.NamedTuple):
    """First index of each series in a block of lanes of shape `(n_lane_series, n_rows, width)`: one series per
    group of the block in each (see `lane_metrics_nb`)."""

    value: int = 0
    """Value series, as `group_walk_nb` writes it."""
    returns: int = 1
    """Returns of the value series (see `lane_returns_nb`)."""
    bm_close: int = 2
    """What the benchmark value is computed from, as `group_walk_nb` writes it (see `lane_benchmark_return_nb`)."""
    cum_returns: int = 3
    """Scratch space for the cumulative returns of the Calmar ratio (see `lane_return_ratios_nb`)."""


LaneIdx = LaneIdxT()
"""Series of a block of lanes (see `LaneIdxT`)."""

n_lane_series = len(LaneIdx)
"""Number of series of length `n_rows` in a block of lanes."""


class BenchmarkIdxT(tp.NamedTuple):
    """Row of each parameter of the benchmark of a lane (see `lane_benchmark_return_nb`)."""

    divisor: int = 0
    scale: int = 1


BenchmarkIdx = BenchmarkIdxT()
"""Rows of the benchmark parameters of a block of lanes (see `BenchmarkIdxT`)."""


class RatioIdxT(tp.NamedTuple):
    """Row of each return ratio in the output of `lane_return_ratios_nb`."""

    sharpe_ratio: int = 0
    calmar_ratio: int = 1
    omega_ratio: int = 2
    sortino_ratio: int = 3


RatioIdx = RatioIdxT()
"""Rows of the output of `lane_return_ratios_nb` (see `RatioIdxT`)."""

OrderState = tp.Tuple[float, float, float, float, float]
"""Running state of the orders of a column: position, debt, assets and cash of the total profit, sum of fees."""

lane_width = 16
"""Number of groups whose value series `chunk_metrics_nb` processes together, one per lane (see `lane_returns_nb`)."""

lane_memory = 16 * 2**20
"""Most bytes that the blocks of lanes of one chunk take: blocks of long series hold fewer groups (one at the least)."""


# ############# Trades ############# #


id_order_err = "id must come in ascending order per column"
"""Message of the error that vectorbt's trade builders raise when the ids of a column's orders are not ascending."""


@njit(cache=True)
def check_orders_nb(order_records: tp.RecordArray, col_lens: tp.Array1d) -> int:
    """Check orders, contiguous per column with `col_lens` orders each, as `Portfolio.stats` does.

    Returns 0 if they are valid, else a code for the error that `Portfolio.stats` raises: 1 if any id is lower than
    the previous one of its column (`id_order_err`; vectorbt's cash flow checks the ids of every column before any
    trade builder looks at sizes and prices), otherwise the first size (2, `vectorbt.portfolio.nb.size_zero_neg_err`)
    or price (3, `vectorbt.portfolio.nb.price_zero_neg_err`) of zero or less, column by column and order by order
    as the trade builders meet them. `vectorbt.portfolio.registry.metrics.compute_metrics` raises the error once
    the codes of all chunks are in."""
    first_error = 0
    oidx = 0
    for col in range(col_lens.shape[0]):
        last_id = -1
        for _ in range(col_lens[col]):
            record = order_records[oidx]
            if record["id"] < last_id:
                return 1
            last_id = record["id"]
            if first_error == 0:
                if record["size"] <= 0.0:
                    first_error = 2
                elif record["price"] <= 0.0:
                    first_error = 3
            oidx += 1
    return first_error


@njit(cache=True)
def trade_records_nb(
    order_records: tp.RecordArray,
    close: tp.Array2d,
    col_map: tp.ColMap,
    trades_type: int,
) -> tp.RecordArray:
    """Build trade records of type `trades_type` (see `vectorbt.portfolio.enums.TradesType`) from orders.

    Dispatches to `vectorbt.portfolio.nb.get_entry_trades_nb`, `vectorbt.portfolio.nb.get_exit_trades_nb`
    or, for positions, `vectorbt.portfolio.nb.get_positions_nb` over exit trades, exactly as
    `vectorbt.portfolio.base.Portfolio.get_trades` does. `close` is the raw (unfilled) close, which
    vectorbt uses to value open trades at the last row."""
    if trades_type == TradesType.EntryTrades:
        return get_entry_trades_nb(order_records, close, col_map)
    exit_trades = get_exit_trades_nb(order_records, close, col_map)
    if trades_type == TradesType.ExitTrades:
        return exit_trades
    exit_col_map = fast_col_map_nb(exit_trades["col"], close.shape[1])
    return get_positions_nb(exit_trades, exit_col_map)


class TradeAccIdxT(tp.NamedTuple):
    """Slot of each running sum and count in the trade accumulator (see `fold_closed_trade_nb`)."""

    total: int = 0
    n_open: int = 1
    open_pnl: int = 2
    n_closed: int = 3
    best: int = 4
    worst: int = 5
    n_win: int = 6
    n_loss: int = 7
    n_even: int = 8
    win_ret_sum: int = 9
    win_ret_cnt: int = 10
    loss_ret_sum: int = 11
    loss_ret_cnt: int = 12
    win_dur_sum: int = 13
    loss_dur_sum: int = 14
    win_pnl_sum: int = 15
    loss_pnl_sum: int = 16


TradeAccIdx = TradeAccIdxT()
"""Slots of the trade accumulator (see `fold_closed_trade_nb`)."""

n_trade_acc = len(TradeAccIdx)
"""Length of the trade accumulator (see `fold_closed_trade_nb`)."""


@njit(cache=True)
def reset_trade_acc_nb(acc: tp.Array1d) -> None:
    """Empty the trade accumulator `acc`: zero counts and sums, no best or worst trade yet (NaN)."""
    acc[:] = 0.0
    acc[TradeAccIdx.best] = np.nan
    acc[TradeAccIdx.worst] = np.nan


@njit(cache=True)
def fold_open_trade_nb(acc: tp.Array1d, pnl: float) -> None:
    """Fold one open trade of PnL `pnl` into the accumulator `acc`, following `vectorbt.portfolio.trades.Trades`:
    it is counted, and its PnL is summed ignoring NaN (see `fold_closed_trade_nb` for closed trades)."""
    acc[TradeAccIdx.total] += 1
    acc[TradeAccIdx.n_open] += 1
    if not np.isnan(pnl):
        acc[TradeAccIdx.open_pnl] += pnl


@njit(cache=True)
def fold_closed_trade_nb(acc: tp.Array1d, pnl: float, ret: float, duration: float) -> None:
    """Fold one closed trade into the accumulator `acc`, following `vectorbt.portfolio.trades.Trades`.

    Every statistic but the counts and the PnL of open trades (see `fold_open_trade_nb`) is over closed trades
    only (the `incl_open=False` default of `Portfolio.stats`): a trade is winning if its PnL is above zero and
    losing if below zero, and `duration` is `exit_idx - entry_idx` (see `vectorbt.generic.nb.range_duration_nb`).

    Two functions rather than one with a flag: a `True` or `False` passed from compiled code would compile it once
    per literal. Called from a few places: LLVM inlines it, Numba does not (see the module's notes on
    compilation)."""
    acc[TradeAccIdx.total] += 1
    acc[TradeAccIdx.n_closed] += 1
    if not np.isnan(ret):
        if np.isnan(acc[TradeAccIdx.best]) or ret > acc[TradeAccIdx.best]:
            acc[TradeAccIdx.best] = ret
        if np.isnan(acc[TradeAccIdx.worst]) or ret < acc[TradeAccIdx.worst]:
            acc[TradeAccIdx.worst] = ret
    if pnl > 0.0:
        acc[TradeAccIdx.n_win] += 1
        acc[TradeAccIdx.win_dur_sum] += duration
        acc[TradeAccIdx.win_pnl_sum] += pnl
        if not np.isnan(ret):
            acc[TradeAccIdx.win_ret_sum] += ret
            acc[TradeAccIdx.win_ret_cnt] += 1
    elif pnl < 0.0:
        acc[TradeAccIdx.n_loss] += 1
        acc[TradeAccIdx.loss_dur_sum] += duration
        acc[TradeAccIdx.loss_pnl_sum] += pnl
        if not np.isnan(ret):
            acc[TradeAccIdx.loss_ret_sum] += ret
            acc[TradeAccIdx.loss_ret_cnt] += 1
    elif pnl == 0.0:
        acc[TradeAccIdx.n_even] += 1


@njit(cache=True)
def fold_trade_records_nb(
    trade_records: tp.RecordArray,
    col_map: tp.ColMap,
    col_start_idxs: tp.Array1d,
    from_col: int,
    to_col: int,
    acc: tp.Array1d,
) -> None:
    """Fold the trade records of the columns `from_col` to `to_col` (exclusive) into `acc` (see `fold_closed_trade_nb`).

    `col_start_idxs` holds the position of each column's first record in `col_map`."""
    col_idxs, col_lens = col_map
    for col in range(from_col, to_col):
        for c in range(col_lens[col]):
            record = trade_records[col_idxs[col_start_idxs[col] + c]]
            if record["status"] == TradeStatus.Open:
                fold_open_trade_nb(acc, record["pnl"])
            else:
                fold_closed_trade_nb(
                    acc, record["pnl"], record["return"], float(record["exit_idx"] - record["entry_idx"])
                )


@njit(cache=True, error_model="numpy")
def fold_exit_trades_nb(
    order_records: tp.RecordArray,
    col_map: tp.ColMap,
    col_start_idx: int,
    col: int,
    n_rows: int,
    last_close: float,
    acc: tp.Array1d,
) -> None:
    """Fold the exit trades of column `col` into `acc` (see `fold_closed_trade_nb`), without building their records.

    Goes through the column's orders as `vectorbt.portfolio.nb.get_exit_trades_nb` does, with the same
    arithmetic, and gets each trade's PnL and return from `vectorbt.portfolio.nb.get_trade_stats_nb`, so that the
    trades are those of its records: a trade closes (in part) with every order against the position, a reversing
    order closes the position and opens a new one, and a position still open after the last order is valued at
    `last_close`, the raw close of the last of the `n_rows` rows.

    The orders must be valid: `chunk_metrics_nb` checks them with `check_orders_nb` before it folds any trade
    (where vectorbt's builder raises for ids not ascending or a size or price of zero or less)."""
    col_idxs, col_lens = col_map
    in_position = False
    direction = TradeDirection.Long
    entry_idx = -1
    entry_size_sum = 0.0
    entry_gross_sum = 0.0
    entry_fees_sum = 0.0
    for c in range(col_lens[col]):
        record = order_records[col_idxs[col_start_idx + c]]
        i = record["idx"]
        order_size = record["size"]
        order_price = record["price"]
        order_fees = record["fees"]
        order_side = record["side"]

        if not in_position:
            in_position = True
            entry_idx = i
            direction = TradeDirection.Long if order_side == OrderSide.Buy else TradeDirection.Short
            entry_size_sum = 0.0
            entry_gross_sum = 0.0
            entry_fees_sum = 0.0
        is_long = direction == TradeDirection.Long
        if (is_long and order_side == OrderSide.Buy) or (not is_long and order_side == OrderSide.Sell):
            # Position increased
            entry_size_sum += order_size
            entry_gross_sum += order_size * order_price
            entry_fees_sum += order_fees
        elif (is_long and order_side == OrderSide.Sell) or (not is_long and order_side == OrderSide.Buy):
            if is_close_or_less_nb(order_size, entry_size_sum):
                # Trade closed, the whole position or a part of it
                closes_position = is_close_nb(order_size, entry_size_sum)
                exit_size = entry_size_sum if closes_position else order_size
                pnl, ret = get_trade_stats_nb(
                    exit_size,
                    entry_gross_sum / entry_size_sum,
                    exit_size / entry_size_sum * entry_fees_sum,
                    order_price,
                    order_fees,
                    direction,
                )
                fold_closed_trade_nb(acc, pnl, ret, float(i - entry_idx))
                if closes_position:
                    in_position = False
                else:
                    size_fraction = (entry_size_sum - order_size) / entry_size_sum
                    entry_size_sum *= size_fraction
                    entry_gross_sum *= size_fraction
                    entry_fees_sum *= size_fraction
            else:
                # Trade reversed: the position is closed and one in the other direction opened
                exit_size = entry_size_sum
                exit_fees = exit_size / order_size * order_fees
                pnl, ret = get_trade_stats_nb(
                    exit_size,
                    entry_gross_sum / entry_size_sum,
                    exit_size / entry_size_sum * entry_fees_sum,
                    order_price,
                    exit_fees,
                    direction,
                )
                fold_closed_trade_nb(acc, pnl, ret, float(i - entry_idx))
                entry_size_sum = order_size - exit_size
                entry_gross_sum = entry_size_sum * order_price
                entry_fees_sum = order_fees - exit_fees
                entry_idx = i
                direction = TradeDirection.Short if is_long else TradeDirection.Long

    if in_position and is_less_nb(-entry_size_sum, 0):
        # Trade still open
        exit_size = entry_size_sum
        pnl, ret = get_trade_stats_nb(
            exit_size,
            entry_gross_sum / entry_size_sum,
            exit_size / entry_size_sum * entry_fees_sum,
            last_close,
            0.0,
            direction,
        )
        fold_open_trade_nb(acc, pnl)


@njit(cache=True, error_model="numpy")
def trade_stats_nb(acc: tp.Array1d, out: tp.Array1d) -> None:
    """Write the trade statistics of the trades folded into `acc` (see `fold_closed_trade_nb`) into `out`, a row of the
    output of `chunk_metrics_nb`: `profit_factor` as `Trades.profit_factor` and `expectancy` as
    `Trades.expectancy`."""
    n_closed = acc[TradeAccIdx.n_closed]
    n_win = acc[TradeAccIdx.n_win]
    n_loss = acc[TradeAccIdx.n_loss]
    win_ret_cnt = acc[TradeAccIdx.win_ret_cnt]
    loss_ret_cnt = acc[TradeAccIdx.loss_ret_cnt]
    win_pnl_sum = acc[TradeAccIdx.win_pnl_sum]
    loss_pnl_sum = acc[TradeAccIdx.loss_pnl_sum]
    out[MetricIdx.total_trades] = acc[TradeAccIdx.total]
    out[MetricIdx.total_closed_trades] = n_closed
    out[MetricIdx.total_open_trades] = acc[TradeAccIdx.n_open]
    out[MetricIdx.open_trade_pnl] = acc[TradeAccIdx.open_pnl]
    out[MetricIdx.best_trade] = acc[TradeAccIdx.best]
    out[MetricIdx.worst_trade] = acc[TradeAccIdx.worst]
    out[MetricIdx.avg_winning_trade] = acc[TradeAccIdx.win_ret_sum] / win_ret_cnt if win_ret_cnt > 0 else np.nan
    out[MetricIdx.avg_losing_trade] = acc[TradeAccIdx.loss_ret_sum] / loss_ret_cnt if loss_ret_cnt > 0 else np.nan
    out[MetricIdx.avg_winning_trade_duration] = acc[TradeAccIdx.win_dur_sum] / n_win if n_win > 0 else np.nan
    out[MetricIdx.avg_losing_trade_duration] = acc[TradeAccIdx.loss_dur_sum] / n_loss if n_loss > 0 else np.nan
    if n_closed == 0:
        out[MetricIdx.win_rate] = np.nan
        out[MetricIdx.profit_factor] = np.nan
        out[MetricIdx.expectancy] = np.nan
        return
    win_rate = n_win / n_closed
    out[MetricIdx.win_rate] = win_rate
    out[MetricIdx.profit_factor] = win_pnl_sum / np.abs(loss_pnl_sum)
    avg_win = win_pnl_sum / n_win if n_win > 0 else 0.0
    avg_loss = loss_pnl_sum / n_loss if n_loss > 0 else 0.0
    loss_rate = (n_closed - n_win - acc[TradeAccIdx.n_even]) / n_closed
    out[MetricIdx.expectancy] = win_rate * avg_win - loss_rate * np.abs(avg_loss)


# ############# Drawdowns ############# #


@njit(cache=True, error_model="numpy")
def fold_drawdown_nb(
    peak_val: float, valley_val: float, duration: float, max_dd: float, max_duration: float
) -> tp.Tuple[float, float]:
    """Fold one drawdown into the running maximum drawdown and maximum duration (both NaN until the first)."""
    dd = (valley_val - peak_val) / peak_val
    if not np.isnan(dd) and (np.isnan(max_dd) or dd < max_dd):
        max_dd = dd
    if np.isnan(max_duration) or duration > max_duration:
        max_duration = duration
    return max_dd, max_duration


DrawdownState = tp.Tuple[bool, int, float, float, float, float, int]
"""Running state of `drawdown_step_nb`: whether a drawdown is running, the row and value of its peak, its valley
value, the maximum drawdown and the maximum duration so far, and the last row with a value."""

drawdown_start = (False, -1, np.nan, np.nan, np.nan, np.nan, -1)
"""State of `drawdown_step_nb` before the first row."""


@njit(cache=True, error_model="numpy")
def drawdown_step_nb(state: DrawdownState, i: int, cur_val: float) -> DrawdownState:
    """Take the value `cur_val` of row `i` into the running drawdown state (see `drawdown_stats_1d_nb`).

    Small, so that LLVM inlines it where a walk that computes the value series takes its drawdowns as it goes."""
    if np.isnan(cur_val):
        return state
    drawdown_started, peak_idx, peak_val, valley_val, max_dd, max_duration, _ = state
    if np.isnan(peak_val) or cur_val >= peak_val:
        if drawdown_started:  # recovered
            max_dd, max_duration = fold_drawdown_nb(peak_val, valley_val, float(i - peak_idx - 1), max_dd,
                                                    max_duration)
            drawdown_started = False
            valley_val = cur_val
        peak_val = cur_val
        peak_idx = i
    else:
        valley_val = min(valley_val, cur_val) if drawdown_started else cur_val
        drawdown_started = True
    return drawdown_started, peak_idx, peak_val, valley_val, max_dd, max_duration, i


@njit(cache=True, error_model="numpy")
def drawdown_finish_nb(state: DrawdownState) -> tp.Tuple[float, float]:
    """Return the maximum drawdown and its maximum duration from the state of `drawdown_step_nb` after the last row,
    with a drawdown still running at the last value folded in."""
    drawdown_started, peak_idx, peak_val, valley_val, max_dd, max_duration, last_i = state
    if drawdown_started:
        max_dd, max_duration = fold_drawdown_nb(peak_val, valley_val, float(last_i - peak_idx), max_dd, max_duration)
    return max_dd, max_duration


@njit(cache=True, error_model="numpy")
def drawdown_stats_1d_nb(ts: tp.Array1d) -> tp.Tuple[float, float]:
    """Return the maximum drawdown and the maximum drawdown duration of a value series `ts`.

    Walks the non-NaN values as `vectorbt.generic.nb.get_drawdowns_nb` does (see `drawdown_step_nb`), but instead
    of writing a record for each drawdown folds it into the two aggregates that `Portfolio.stats` reports: the
    minimum of `(valley_val - peak_val) / peak_val` (a negative fraction, see `vectorbt.generic.nb.dd_drawdown_nb`)
    and the maximum duration (see `vectorbt.generic.nb.range_duration_nb`), where a recovered drawdown lasts
    `end_idx - start_idx` with `start_idx = peak_idx + 1` and one still running at the last non-NaN row lasts
    `end_idx - start_idx + 1`. Both are NaN if there is no drawdown."""
    state = drawdown_start
    for i in range(ts.shape[0]):
        state = drawdown_step_nb(state, i, ts[i])
    return drawdown_finish_nb(state)


# ############# Returns ############# #


@njit(cache=True, error_model="numpy")
def get_return_select_nb(input_value: float, output_value: float) -> float:
    """`vectorbt.returns.nb.get_return_nb` written with selects rather than branches, with the same result bit
    for bit: a loop over lanes that calls it can be vectorized."""
    return_value = (output_value - input_value) / input_value
    return_value = -return_value if input_value < 0 else return_value
    if_zero = 0.0 if output_value == 0 else (np.inf if output_value > 0 else (-np.inf if output_value < 0 else np.nan))
    return if_zero if input_value == 0 else return_value


@njit(cache=True, error_model="numpy")
def lane_returns_nb(values: tp.Array2d, init_value: tp.Array1d, n_lanes: int, out: tp.Array2d) -> None:
    """Write into `out[:, k]` the returns of the value series `values[:, k]` for each of the first `n_lanes` lanes,
    the first one from `init_value[k]`, as `vectorbt.returns.nb.returns_1d_nb` computes them.

    Lanes are columns of the 2-dim arrays: one value series per lane. Here and in the other `lane_*` functions, the
    inner loop runs over lanes and the outer over rows, so that each lane computes the very operations of the
    one-dimensional vectorbt function in the same order, while the CPU works on several lanes with one vector
    instruction. Loops that keep a running state per lane keep it in arrays of length `n_lanes` and keep to a
    few of them each, so that the compiler can check them for overlap and vectorize the loop."""
    n_rows = values.shape[0]
    if n_rows == 0:
        return
    for k in range(n_lanes):
        out[0, k] = get_return_select_nb(init_value[k], values[0, k])
    for i in range(1, n_rows):
        for k in range(n_lanes):
            out[i, k] = get_return_select_nb(values[i - 1, k], values[i, k])


@njit(cache=True, error_model="numpy")
def lane_benchmark_return_nb(
    close: tp.Array2d,
    divisor: tp.Array1d,
    scale: tp.Array1d,
    init_value: tp.Array1d,
    n_lanes: int,
    out: tp.Array1d,
) -> None:
    """Write into `out[k]` the total return of the benchmark value `scale[k] * (close[:, k] / divisor[k])` for each
    of the first `n_lanes` lanes (see `lane_returns_nb` for lanes).

    The NaN-ignoring product of one plus its returns (the first one from `init_value[k]`), minus one, as
    `Portfolio.stats` takes it from the returns of `Portfolio.benchmark_value`. For a single column, `close[:, k]`
    is its close, `divisor[k]` its first close and `scale[k]` its initial cash
    (`vectorbt.portfolio.nb.benchmark_value_nb`). For a group,
    `close[:, k]` is the sum of its columns' close, each normalized by its first close, `divisor[k]` is one and
    `scale[k]` is the initial cash divided evenly among the columns
    (`vectorbt.portfolio.nb.benchmark_value_grouped_nb`). `init_value[k]` is the initial cash in both cases."""
    prev_value = init_value[:n_lanes].copy()
    cumprod = np.ones(n_lanes)
    for i in range(close.shape[0]):
        for k in range(n_lanes):
            bm_value = scale[k] * (close[i, k] / divisor[k])
            return_plus_one = get_return_select_nb(prev_value[k], bm_value) + 1.0
            cumprod[k] *= 1.0 if np.isnan(return_plus_one) else return_plus_one  # times one: as if skipped
            prev_value[k] = bm_value
    for k in range(n_lanes):
        out[k] = cumprod[k] - 1.0


@njit(cache=True, error_model="numpy")
def lane_nan_sum_count_nb(
    returns: tp.Array2d, shift: float, n_lanes: int, sums: tp.Array1d, counts: tp.Array1d
) -> None:
    """Write into `sums[k]` the sum of the non-NaN values of `returns[:, k] - shift`, added in order from zero as
    `np.nanmean` does in Numba, and into `counts[k]` their number, for each of the first `n_lanes` lanes."""
    sums[:n_lanes] = 0.0
    counts[:n_lanes] = 0.0
    for i in range(returns.shape[0]):
        for k in range(n_lanes):
            adj = returns[i, k] - shift
            is_nan = np.isnan(adj)
            sums[k] += 0.0 if is_nan else adj
            counts[k] += 0.0 if is_nan else 1.0


@njit(cache=True, error_model="numpy")
def cum_max_drawdown_1d_nb(cum: tp.Array1d) -> float:
    """Minimum of `vectorbt.returns.nb.drawdown_1d_nb` over cumulative returns `cum`, as
    `vectorbt.returns.nb.calmar_ratio_1d_nb` takes it: `np.min`, which stops at the first NaN, of `cum / max_cum - 1`
    with `max_cum` the running maximum; inf if `cum` is empty.

    While the running maximum is a positive finite peak (a "segment"), `x / max_cum - 1` is monotonic in `x`, so the
    minimum over the values since the peak gives the segment's drawdown with one division when the segment ends
    rather than one per value."""
    max_cum = np.nan
    max_dd = np.inf
    in_segment = False
    segment_min = np.nan
    for i in range(cum.shape[0]):
        cur = cum[i]
        if np.isnan(max_cum) or cur > max_cum:
            if in_segment:
                dd = segment_min / max_cum - 1
                if dd < max_dd:
                    max_dd = dd
            max_cum = cur
            segment_min = cur
            in_segment = 0.0 < max_cum < np.inf
            dd = 0.0 if in_segment else cur / max_cum - 1
        elif in_segment:
            if np.isnan(cur):
                dd = np.nan
            else:
                segment_min = min(segment_min, cur)
                dd = 0.0  # the segment's drawdown is taken when it ends
        else:
            dd = cur / max_cum - 1
        if np.isnan(dd):
            return dd  # np.min stops at the first NaN
        if dd < max_dd:
            max_dd = dd
    if in_segment:
        dd = segment_min / max_cum - 1
        if dd < max_dd:
            max_dd = dd
    return max_dd


@njit(cache=True, error_model="numpy")
def lane_return_ratios_nb(
    returns: tp.Array2d,
    n_lanes: int,
    ann_factor: float,
    risk_free: float,
    required_return: float,
    ddof: int,
    cum_buffer: tp.Array2d,
    out: tp.Array2d,
) -> None:
    """Write the Sharpe, Calmar, Omega and Sortino ratios of the return series `returns[:, k]` into
    the rows of `out` (see `RatioIdx`), at `out[:, k]` for each of the first `n_lanes` lanes (see `lane_returns_nb`
    for lanes).

    Gives the same results, bit for bit, as `vectorbt.returns.nb.sharpe_ratio_1d_nb`,
    `vectorbt.returns.nb.calmar_ratio_1d_nb`, `vectorbt.returns.nb.omega_ratio_1d_nb` and
    `vectorbt.returns.nb.sortino_ratio_1d_nb` called on each lane, including their NaN and inf conventions, but
    without their temporary arrays: it accumulates the same sums in the same order (`np.nanmean`, `np.nanvar`,
    `np.sum` and `np.nanprod` in Numba add sequentially from the first element). A value that vectorbt skips is
    added as zero (or multiplied as one), which leaves a sum (a product) bit for bit as it is: a sum that starts
    from zero is never negative zero. `cum_buffer` is scratch space of the shape of `returns`. The equivalence is
    checked element by element in the test suite."""
    n = returns.shape[0]
    if ann_factor == 1:
        omega_thresh = required_return
    else:
        omega_thresh = (1 + required_return) ** (1.0 / ann_factor) - 1

    # Mean of returns above the risk-free return (Sharpe ratio)
    rf_sum = np.empty(n_lanes)
    rf_count = np.empty(n_lanes)
    lane_nan_sum_count_nb(returns, risk_free, n_lanes, rf_sum, rf_count)

    # Gains and losses against the threshold (Omega ratio)
    omega_pos = np.zeros(n_lanes)
    omega_neg = np.zeros(n_lanes)
    for i in range(n):
        for k in range(n_lanes):
            omega_adj = returns[i, k] - risk_free - omega_thresh
            gain = 0.0 if 0.0 > omega_adj else omega_adj  # max(omega_adj, 0.0), written out to vectorize
            loss = 0.0 if 0.0 < omega_adj else omega_adj  # min(omega_adj, 0.0)
            omega_nan = np.isnan(omega_adj)
            omega_pos[k] += 0.0 if omega_nan else gain
            omega_neg[k] += 0.0 if omega_nan else loss

    # Mean and downside deviation of returns above the required return (Sortino ratio)
    rr_sum = np.empty(n_lanes)
    rr_count = np.empty(n_lanes)
    lane_nan_sum_count_nb(returns, required_return, n_lanes, rr_sum, rr_count)
    downside_sum = np.zeros(n_lanes)
    for i in range(n):
        for k in range(n_lanes):
            rr_adj = returns[i, k] - required_return
            rr_neg = 0.0 if 0.0 < rr_adj else rr_adj  # min(rr_adj, 0.0)
            downside_sum[k] += 0.0 if np.isnan(rr_adj) else rr_neg * rr_neg

    # Cumulative returns (Calmar ratio)
    cumprod = np.ones(n_lanes)
    for i in range(n):
        for k in range(n_lanes):
            r = returns[i, k]
            cumprod[k] *= 1.0 if np.isnan(r) else r + 1
            cum_buffer[i, k] = cumprod[k] * 100.0

    # Maximum drawdown of cumulative returns (Calmar ratio), one lane at a time: its branches are well predicted
    max_dd = np.empty(n_lanes)
    for k in range(n_lanes):
        max_dd[k] = cum_max_drawdown_1d_nb(cum_buffer[:, k])

    # Variance of returns above the risk-free return (Sharpe ratio)
    mean = rf_sum / rf_count
    ssd = np.zeros(n_lanes)
    for i in range(n):
        for k in range(n_lanes):
            rf_adj = returns[i, k] - risk_free
            deviation = rf_adj - mean[k]
            ssd[k] += 0.0 if np.isnan(rf_adj) else deviation * deviation

    for k in range(n_lanes):
        dd_min = max_dd[k]
        if n < 2:
            sharpe = np.nan
            sortino = np.nan
        else:
            rcount = max(rf_count[k] - ddof, 0.0)
            if rcount == 0:
                std = np.nan
            else:
                std = np.sqrt(ssd[k] / rf_count[k] * rf_count[k] / rcount)
            if std == 0.0:
                sharpe = np.inf
            else:
                sharpe = mean[k] / std * np.sqrt(ann_factor)
            downside_risk = np.sqrt(downside_sum[k] / rr_count[k]) * np.sqrt(ann_factor)
            if downside_risk == 0.0:
                sortino = np.inf
            else:
                sortino = rr_sum[k] / rr_count[k] * ann_factor / downside_risk
        if ann_factor != 1 and ann_factor <= -1:
            omega = np.nan
        else:
            denom = -1.0 * omega_neg[k]
            if denom == 0.0:
                omega = np.inf
            else:
                omega = omega_pos[k] / denom
        if n == 0 or dd_min == 0.0:
            calmar = np.nan
        else:
            calmar = (cumprod[k] ** (ann_factor / n) - 1) / np.abs(dd_min)
        out[RatioIdx.sharpe_ratio, k] = sharpe
        out[RatioIdx.calmar_ratio, k] = calmar
        out[RatioIdx.omega_ratio, k] = omega
        out[RatioIdx.sortino_ratio, k] = sortino


# ############# Initial cash ############# #


@njit(cache=True)
def auto_init_cash_nb(
    target_shape: tp.Shape,
    order_records: tp.RecordArray,
    col_map: tp.ColMap,
    group_lens: tp.Array1d,
) -> tp.Array1d:
    """Initial cash per group for `vectorbt.portfolio.enums.InitCashMode.Auto`.

    Same as `Portfolio.get_init_cash` with an automatic initial cash: the absolute minimum of the
    cumulative cash flow of each group, or 1 if the cash flow never goes below zero. Align the result
    across groups (`InitCashMode.AutoAlign`) by taking its maximum."""
    n_rows = target_shape[0]
    col_idxs, col_lens = col_map
    col_start_idxs = np.cumsum(col_lens) - col_lens
    group_end_idxs = np.cumsum(group_lens)
    out = np.empty(group_lens.shape[0], dtype=np.float64)

    for group in range(group_lens.shape[0]):
        to_col = group_end_idxs[group]
        from_col = to_col - group_lens[group]
        flow_sum = np.zeros(n_rows, dtype=np.float64)
        col_flow = np.empty(n_rows, dtype=np.float64)
        for col in range(from_col, to_col):
            col_flow[:] = 0.0
            for c in range(col_lens[col]):
                record = order_records[col_idxs[col_start_idxs[col] + c]]
                size = record["size"]
                if record["side"] == OrderSide.Sell:
                    size *= -1
                i = record["idx"]
                col_flow[i] = add_nb(col_flow[i], -size * record["price"] - record["fees"])
            for i in range(n_rows):
                flow_sum[i] += col_flow[i]
        cash_min = np.inf
        cum_flow = 0.0
        for i in range(n_rows):
            cum_flow += flow_sum[i]
            if np.isnan(cum_flow):
                cash_min = np.nan  # np.min propagates NaN
                break
            if cum_flow < cash_min:
                cash_min = cum_flow
        out[group] = np.abs(cash_min) if cash_min < 0 else 1.0
    return out


# ############# Data ############# #


@njit(cache=True)
def fast_col_map_nb(col_arr: tp.Array1d, n_cols: int) -> tp.ColMap:
    """Column map of `col_arr`, the same as `vectorbt.records.nb.col_map_nb` builds.

    Records sorted by column, as a simulation without cash sharing writes them, take one pass that counts
    them and an identity index; others go through `vectorbt.records.nb.col_map_nb`."""
    col_lens = np.zeros(n_cols, dtype=np.int64)
    prev_col = -1
    for r in range(col_arr.shape[0]):
        col = col_arr[r]
        if col < prev_col:
            return col_map_nb(col_arr, n_cols)
        col_lens[col] += 1
        prev_col = col
    return np.arange(col_arr.shape[0]), col_lens


@njit(cache=True)
def take_records_nb(records: tp.RecordArray, idxs: tp.Array1d) -> tp.RecordArray:
    """`records[idxs]`, as a view without a copy when `idxs` is a run of consecutive indices."""
    n = idxs.shape[0]
    if n == 0:
        return records[:0]
    for j in range(1, n):
        if idxs[j] != idxs[0] + j:
            return records[idxs]
    return records[idxs[0] : idxs[0] + n]


@njit(cache=True)
def columns_equal_nb(a: tp.Array2d) -> bool:
    """Whether every column of `a` equals its first column, NaN equal to NaN (as `np.array_equal` with
    `equal_nan=True` against the broadcast first column), stopping at the first difference.

    Tells a sweep over one asset (close broadcast to every column) from a portfolio over several assets."""
    for i in range(a.shape[0]):
        first = a[i, 0]
        first_nan = np.isnan(first)
        for col in range(1, a.shape[1]):
            value = a[i, col]
            if value != first and not (first_nan and np.isnan(value)):
                return False
    return True


# ############# Metrics ############# #


@njit(cache=True)
def add_flow_nb(a: float, b: float) -> float:
    """`vectorbt.utils.math_.add_nb` without branches, giving the same result.

    `add_nb` returns zero where `a + b` is within its tolerances of zero and `a + b` otherwise. Where `a` and `b`
    have the same sign or one is zero, the test is `abs(a + b) <= abs_tol`. Where their signs differ, it is
    `vectorbt.utils.math_.is_close_nb` of `abs(a)` and `abs(b)`, whose difference in magnitude is exactly
    `abs(a + b)`: `abs(a + b) <= max(rel_tol * max(abs(a), abs(b)), abs_tol)`, never true if either is infinite.
    NaN fails every comparison, so it passes through. Selects rather than branches, because the signs of the
    flows of a column's orders change from one order to the next in ways that a branch predictor does not guess;
    small enough for LLVM to inline it wherever it is called."""
    out = a + b
    mixed = (a > 0.0 and b < 0.0) or (a < 0.0 and b > 0.0)
    abs_a = np.abs(a)
    abs_b = np.abs(b)
    tol = max(rel_tol * max(abs_a, abs_b), abs_tol) if mixed else abs_tol
    if np.abs(out) <= tol and not (mixed and (abs_a == np.inf or abs_b == np.inf)):
        return 0.0
    return out


@njit(cache=True, error_model="numpy")
def free_cash_diff_nb(
    position_before: float,
    position_now: float,
    debt_now: float,
    price: float,
    fees: float,
) -> tp.Tuple[float, float]:
    """Return the updated debt and the free cash flow of an order that took the position from `position_before` to
    `position_now`, as `vectorbt.portfolio.nb.get_free_cash_diff_nb` does, with `add_flow_nb` for its additions.

    vectorbt's test whether the size is close to zero reduces to `size == 0`: `add_flow_nb` returns exactly zero for
    any sum within the tolerances, and any other sum is further from zero than they are."""
    size = add_flow_nb(position_now, -position_before)
    final_cash = -size * price - fees
    if size == 0.0:
        return debt_now, 0.0
    if size > 0:
        if position_before < 0:
            if position_now < 0:
                short_size = abs(size)
            else:
                short_size = abs(position_before)
            avg_entry_price = debt_now / abs(position_before)
            debt_diff = short_size * avg_entry_price
            return add_flow_nb(debt_now, -debt_diff), add_flow_nb(2 * debt_diff, final_cash)
        return debt_now, final_cash
    if position_now < 0:
        if position_before < 0:
            short_size = abs(size)
        else:
            short_size = abs(position_now)
        short_value = short_size * price
        return debt_now + short_value, add_flow_nb(final_cash, -2 * short_value)
    return debt_now, final_cash


@njit(cache=True, inline="always")
def process_order_nb(
    record: tp.Record,
    position_now: float,
    debt_now: float,
    tp_assets: float,
    tp_cash: float,
) -> tp.Tuple[float, float, float, float, float, float, float]:
    """Process one order record of a column.

    Returns the signed size (the asset flow), the cash flow and the free cash flow of the order as in
    `vectorbt.portfolio.nb.asset_flow_nb`, `vectorbt.portfolio.nb.cash_flow_nb` and
    `vectorbt.portfolio.nb.get_free_cash_diff_nb` (see `free_cash_diff_nb`), followed by the updated position, debt, and
    assets and cash of `vectorbt.portfolio.nb.total_profit_nb`."""
    size = record["size"]
    price = record["price"]
    fees = record["fees"]
    if record["side"] == OrderSide.Buy:
        tp_assets = add_flow_nb(tp_assets, size)
        tp_cash = add_flow_nb(tp_cash, -(size * price + fees))
    else:
        tp_assets = add_flow_nb(tp_assets, -size)
        tp_cash = add_flow_nb(tp_cash, size * price - fees)
        size *= -1
    new_position_now = add_flow_nb(position_now, size)
    debt_now, free_cash_flow = free_cash_diff_nb(position_now, new_position_now, debt_now, price, fees)
    return size, -size * price - fees, free_cash_flow, new_position_now, debt_now, tp_assets, tp_cash


@njit(cache=True)
def fill_close_nb(col_close: tp.Array1d) -> None:
    """Forward- and then backward-fill the NaNs of `col_close` in place, as `Portfolio.get_filled_close` fills a
    column (`ffill().bfill()`): leading NaNs take the first valid value."""
    n_rows = col_close.shape[0]
    fill_val = np.nan
    for i in range(n_rows):
        if not np.isnan(col_close[i]):
            fill_val = col_close[i]
            break
    for i in range(n_rows):
        if np.isnan(col_close[i]):
            col_close[i] = fill_val
        else:
            fill_val = col_close[i]


@njit(cache=True)
def load_close_nb(close: tp.Array2d, col: int, fillna_close: bool, out: tp.Array1d) -> None:
    """Copy `close[:, col]` into the contiguous `out`, filled with `fill_close_nb` if `fillna_close`.

    The row walks below read the copy rather than `close`, whose columns may be strided."""
    for i in range(close.shape[0]):
        out[i] = close[i, col]
    if fillna_close:
        fill_close_nb(out)


@njit(cache=True)
def load_close_block_nb(close: tp.Array2d, from_col: int, n_lanes: int, fillna_close: bool, out: tp.Array2d) -> None:
    """Copy `close[:, from_col:from_col + n_lanes]` into `out[:, :n_lanes]`, one column per lane, each filled with
    `fill_close_nb` if `fillna_close`.

    Same values as `load_close_nb` for each column, but reads `close` a row at a time: a column of a row-major
    `close` (as vectorbt keeps it) takes a cache line per row, which neighbouring columns share."""
    if close.strides[0] > close.strides[1]:  # row-major
        for i in range(close.shape[0]):
            for k in range(n_lanes):
                out[i, k] = close[i, from_col + k]
    else:
        for k in range(n_lanes):
            for i in range(close.shape[0]):
                out[i, k] = close[i, from_col + k]
    if fillna_close:
        for k in range(n_lanes):
            fill_close_nb(out[:, k])


@njit(cache=True, inline="always")
def row_orders_nb(
    order_records: tp.RecordArray,
    col_idxs: tp.Array1d,
    col_start_idx: int,
    col_len: int,
    c: int,
    state: OrderState,
) -> tp.Tuple[int, float, float, float, OrderState]:
    """Process the orders of a column from its `c`-th order on, as long as they fall on the row of that order.

    `state` holds the position, debt, assets and cash of `process_order_nb` and the NaN-ignoring sum of fees
    so far (all zero before the first order). Returns the position of the next order to process (`col_len` if none
    is left), the row's asset flow, cash flow and free cash flow (summed from zero with
    `vectorbt.utils.math_.add_nb` in record order, as `vectorbt.portfolio.nb.asset_flow_nb` and
    `vectorbt.portfolio.nb.cash_flow_nb` scatter them), and the updated state."""
    position_now, debt_now, tp_assets, tp_cash, fees_sum = state
    i = order_records[col_idxs[col_start_idx + c]]["idx"]
    flow = 0.0
    cash_flow = 0.0
    free_cash_flow = 0.0
    while c < col_len:
        record = order_records[col_idxs[col_start_idx + c]]
        if record["idx"] != i:
            break
        if not np.isnan(record["fees"]):
            fees_sum += record["fees"]
        (
            order_flow,
            order_cash_flow,
            order_free_cash_flow,
            position_now,
            debt_now,
            tp_assets,
            tp_cash,
        ) = process_order_nb(record, position_now, debt_now, tp_assets, tp_cash)
        flow = add_flow_nb(flow, order_flow)
        cash_flow = add_flow_nb(cash_flow, order_cash_flow)
        free_cash_flow = add_flow_nb(free_cash_flow, order_free_cash_flow)
        c += 1
    return c, flow, cash_flow, free_cash_flow, (position_now, debt_now, tp_assets, tp_cash, fees_sum)


@njit(cache=True, error_model="numpy")
def fold_gross_exposure_nb(free_cash: float, abs_asset_value: float, max_gross_exposure: float) -> float:
    """Fold the gross exposure `abs_asset_value / (free_cash + abs_asset_value)` of one row, as
    `vectorbt.portfolio.nb.gross_exposure_nb` computes it, into the running maximum (NaN until the first,
    ignoring NaN exposures). Small enough for LLVM to inline it; it never divides by zero, so the error model does
    not matter."""
    if np.isnan(abs_asset_value):
        return max_gross_exposure  # NaN exposure
    denom = add_flow_nb(free_cash, abs_asset_value)
    if denom == 0 or (abs_asset_value == 0 and not np.isnan(denom)):
        gross_exposure = 0.0
    else:
        gross_exposure = abs_asset_value / denom
    if not np.isnan(gross_exposure) and (np.isnan(max_gross_exposure) or gross_exposure > max_gross_exposure):
        return gross_exposure
    return max_gross_exposure


@njit(cache=True, error_model="numpy")
def single_col_series_nb(
    col_close: tp.Array1d,
    order_records: tp.RecordArray,
    col_map: tp.ColMap,
    col_start_idx: int,
    col: int,
    init_cash: float,
    value: tp.Array1d,
) -> tp.Tuple[float, float, float, float, float]:
    """Walk the rows of a group made of the single column `col` in one pass.

    `col_close` is the column's close as `load_close_nb` copies it. Fills `value` with the value series and
    returns the total profit, the NaN-ignoring sum of fees, the maximum gross exposure, and the maximum drawdown
    and its duration as `drawdown_stats_1d_nb` gives them for `value`, taken row by row as the values come.

    Orders of the column must come in ascending `idx` order (as every simulation of vectorbt writes them).
    Gives the same results as `accumulate_col_nb` followed by `group_series_nb`, without their scratch buffers,
    except that the maximum gross exposure may be a few units in the last place below theirs: between two rows with
    orders, free cash `F` stays the same, and while it is not negative the exposure `x / (F + x)` grows with the
    absolute asset value `x`, so it is computed once, for the largest finite `x` of the stretch. The result is the
    exposure of that row; rounding (of `F + x` and of the division) can make another row's exposure larger by at
    most three units in the last place, barring overflow (`F + x` beyond the largest float)."""
    n_rows = col_close.shape[0]
    col_idxs, col_lens = col_map
    col_len = col_lens[col]

    state = (0.0, 0.0, 0.0, 0.0, 0.0)
    c = 0
    next_idx = order_records[col_idxs[col_start_idx]]["idx"] if col_len > 0 else -1

    assets = 0.0
    cash_now = add_flow_nb(init_cash, 0.0)
    free_cash_now = cash_now
    max_gross_exposure = np.nan
    max_exposed = np.nan  # the largest finite absolute asset value since free cash last changed, while not negative
    dd_state = drawdown_start
    for i in range(n_rows):
        price = col_close[i]
        if i == next_idx:
            c, flow, cash_flow, free_cash_flow, state = row_orders_nb(
                order_records, col_idxs, col_start_idx, col_len, c, state
            )
            if c < col_len:
                next_idx = order_records[col_idxs[col_start_idx + c]]["idx"]
            assets = add_flow_nb(assets, flow)
            cash_now = add_flow_nb(cash_now, cash_flow)
            max_gross_exposure = fold_gross_exposure_nb(free_cash_now, max_exposed, max_gross_exposure)
            max_exposed = np.nan
            free_cash_now = add_flow_nb(free_cash_now, free_cash_flow)
        # A row without orders adds zero flows, which leaves these values as they are: add_flow_nb has already
        # snapped them to zero if they were within its tolerance

        if assets == 0:
            asset_value = 0.0
        else:
            asset_value = price * assets
        value[i] = cash_now + asset_value
        dd_state = drawdown_step_nb(dd_state, i, value[i])

        abs_asset_value = np.abs(asset_value)
        if free_cash_now >= 0.0:
            if abs_asset_value < np.inf and not abs_asset_value <= max_exposed:  # an infinite value gives NaN
                max_exposed = abs_asset_value
        else:
            max_gross_exposure = fold_gross_exposure_nb(free_cash_now, abs_asset_value, max_gross_exposure)
    max_gross_exposure = fold_gross_exposure_nb(free_cash_now, max_exposed, max_gross_exposure)

    _, _, tp_assets, tp_cash, fees_sum = state
    total_profit = tp_cash + tp_assets * col_close[n_rows - 1] if col_len > 0 else 0.0
    max_dd, max_dd_duration = drawdown_finish_nb(dd_state)
    return total_profit, fees_sum, max_gross_exposure, max_dd, max_dd_duration


@njit(cache=True, error_model="numpy")
def accumulate_col_nb(
    col_close: tp.Array1d,
    order_records: tp.RecordArray,
    col_map: tp.ColMap,
    col_start_idx: int,
    col: int,
    first_in_group: bool,
    buffers: tp.Array2d,
) -> tp.Tuple[float, float]:
    """Add the time series of column `col` to the running sums of its group.

    `col_close` is the column's close as `load_close_nb` copies it. `buffers` has shape `(n_buffers, n_rows)`
    (see `BufferIdx`): the rows of the group sums of cash flow, free cash flow, asset value, absolute asset value
    and normalized close are overwritten if `first_in_group`, else added to (which is how
    `vectorbt.portfolio.nb.sum_grouped_nb` sums), the rows of the column's flows are scratch space.

    Orders are first scattered into per-row flows of the column in record order, as in
    `vectorbt.portfolio.nb.asset_flow_nb` and `vectorbt.portfolio.nb.cash_flow_nb` (orders that share a row and
    follow each other are summed first, see `row_orders_nb`), then the rows are walked once to derive the position
    (`vectorbt.portfolio.nb.assets_nb`), the asset value (`vectorbt.portfolio.nb.asset_value_nb`) and the
    normalized close.

    Returns the total profit of the column (see `vectorbt.portfolio.nb.total_profit_nb`) and the
    NaN-ignoring sum of its order fees."""
    n_rows = col_close.shape[0]
    col_idxs, col_lens = col_map
    col_len = col_lens[col]
    cash_flow_sum = buffers[BufferIdx.cash_flow_sum]
    free_cash_flow_sum = buffers[BufferIdx.free_cash_flow_sum]
    asset_value_sum = buffers[BufferIdx.asset_value_sum]
    abs_asset_value_sum = buffers[BufferIdx.abs_asset_value_sum]
    close_norm_sum = buffers[BufferIdx.close_norm_sum]
    col_flow = buffers[BufferIdx.col_flow]
    col_cash_flow = buffers[BufferIdx.col_cash_flow]
    col_free_cash_flow = buffers[BufferIdx.col_free_cash_flow]

    col_flow[:] = 0.0
    col_cash_flow[:] = 0.0
    col_free_cash_flow[:] = 0.0
    state = (0.0, 0.0, 0.0, 0.0, 0.0)
    c = 0
    while c < col_len:
        i = order_records[col_idxs[col_start_idx + c]]["idx"]
        c, flow, cash_flow, free_cash_flow, state = row_orders_nb(
            order_records, col_idxs, col_start_idx, col_len, c, state
        )
        col_flow[i] = add_nb(col_flow[i], flow)
        col_cash_flow[i] = add_nb(col_cash_flow[i], cash_flow)
        col_free_cash_flow[i] = add_nb(col_free_cash_flow[i], free_cash_flow)

    assets = 0.0
    first_close = col_close[0] if n_rows > 0 else np.nan
    for i in range(n_rows):
        price = col_close[i]
        assets = add_flow_nb(assets, col_flow[i])
        if assets == 0:
            asset_value = 0.0
        else:
            asset_value = price * assets
        if first_in_group:
            cash_flow_sum[i] = col_cash_flow[i]
            free_cash_flow_sum[i] = col_free_cash_flow[i]
            asset_value_sum[i] = asset_value
            abs_asset_value_sum[i] = np.abs(asset_value)
            close_norm_sum[i] = price / first_close
        else:
            cash_flow_sum[i] += col_cash_flow[i]
            free_cash_flow_sum[i] += col_free_cash_flow[i]
            asset_value_sum[i] += asset_value
            abs_asset_value_sum[i] += np.abs(asset_value)
            close_norm_sum[i] += price / first_close

    _, _, tp_assets, tp_cash, fees_sum = state
    total_profit = tp_cash + tp_assets * col_close[n_rows - 1] if col_len > 0 else 0.0
    return total_profit, fees_sum


@njit(cache=True, error_model="numpy")
def group_series_nb(buffers: tp.Array2d, init_cash: float, value: tp.Array1d) -> float:
    """Walk the rows of a group whose column sums were accumulated by `accumulate_col_nb`.

    Derives cash and free cash (`vectorbt.portfolio.nb.cash_grouped_nb`), value (`vectorbt.portfolio.nb.value_nb`)
    and gross exposure (`vectorbt.portfolio.nb.gross_exposure_nb`). Writes the value series into `value` and returns
    the maximum gross exposure."""
    n_rows = buffers.shape[1]
    cash_flow_sum = buffers[BufferIdx.cash_flow_sum]
    free_cash_flow_sum = buffers[BufferIdx.free_cash_flow_sum]
    asset_value_sum = buffers[BufferIdx.asset_value_sum]
    abs_asset_value_sum = buffers[BufferIdx.abs_asset_value_sum]

    cash_now = init_cash
    free_cash_now = init_cash
    max_gross_exposure = np.nan
    for i in range(n_rows):
        cash_now = add_flow_nb(cash_now, cash_flow_sum[i])
        free_cash_now = add_flow_nb(free_cash_now, free_cash_flow_sum[i])
        value[i] = cash_now + asset_value_sum[i]

        denom = add_flow_nb(free_cash_now, abs_asset_value_sum[i])
        if denom == 0:
            gross_exposure = 0.0
        else:
            gross_exposure = abs_asset_value_sum[i] / denom
        if not np.isnan(gross_exposure):
            if np.isnan(max_gross_exposure) or gross_exposure > max_gross_exposure:
                max_gross_exposure = gross_exposure

    return max_gross_exposure


@njit(cache=True)
def idx_sorted_nb(order_records: tp.RecordArray, col_map: tp.ColMap, col_start_idx: int, col: int) -> bool:
    """Whether the orders of column `col` come in ascending `idx` order."""
    col_idxs, col_lens = col_map
    for c in range(1, col_lens[col]):
        if order_records[col_idxs[col_start_idx + c]]["idx"] < order_records[col_idxs[col_start_idx + c - 1]]["idx"]:
            return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def group_walk_nb(
    close: tp.Array2d,
    fillna_close: bool,
    order_records: tp.RecordArray,
    order_col_map: tp.ColMap,
    order_col_start_idxs: tp.Array1d,
    trade_records: tp.RecordArray,
    trade_col_map: tp.ColMap,
    trade_col_start_idxs: tp.Array1d,
    fold_exit_trades: bool,
    from_col: int,
    to_col: int,
    init_cash: float,
    buffers: tp.Array2d,
    trade_acc: tp.Array1d,
    value: tp.Array1d,
    bm_close: tp.Array1d,
    close_loaded: bool,
    out: tp.Array1d,
) -> tp.Tuple[float, float]:
    """Walk the group made of the columns `from_col` to `to_col` (exclusive) and write into `out` every metric
    but the benchmark return and the return ratios, which `lane_metrics_nb` computes for several groups at once.

    Writes the value series of the group into `value` and what its benchmark value is computed from into
    `bm_close`, and returns the divisor and the scale of the benchmark (see `lane_benchmark_return_nb`).

    `buffers` is scratch space of shape `(n_buffers, n_rows)`. A group of one column whose orders are sorted
    by row goes through `single_col_series_nb`, reading its close from `bm_close` if `close_loaded` (see
    `load_close_block_nb`), any other group through `accumulate_col_nb` and `group_series_nb`.

    Trade statistics come from `fold_exit_trades_nb` over the orders of each column if `fold_exit_trades`, else
    from the trade records; `trade_acc` is scratch space of length `n_trade_acc` (see `fold_closed_trade_nb`).
    For the other arguments, see `chunk_metrics_nb`."""
    if to_col - from_col == 1 and idx_sorted_nb(order_records, order_col_map, order_col_start_idxs[from_col], from_col):
        if not close_loaded:
            load_close_nb(close, from_col, fillna_close, bm_close)
        total_profit, fees_paid, max_gross_exposure, max_dd, max_dd_duration = single_col_series_nb(
            bm_close,
            order_records,
            order_col_map,
            order_col_start_idxs[from_col],
            from_col,
            init_cash,
            value,
        )
        bm_divisor = bm_close[0] if bm_close.shape[0] > 0 else np.nan
        bm_scale = init_cash
    else:
        total_profit = 0.0
        fees_paid = 0.0
        for col in range(from_col, to_col):
            load_close_nb(close, col, fillna_close, buffers[BufferIdx.col_close])
            col_profit, col_fees = accumulate_col_nb(
                buffers[BufferIdx.col_close],
                order_records,
                order_col_map,
                order_col_start_idxs[col],
                col,
                col == from_col,
                buffers,
            )
            total_profit += col_profit
            fees_paid += col_fees
        max_gross_exposure = group_series_nb(buffers, init_cash, value)
        close_norm_sum = buffers[BufferIdx.close_norm_sum]
        for i in range(bm_close.shape[0]):  # a loop: no shape check, whose error message takes long to compile
            bm_close[i] = close_norm_sum[i]
        bm_divisor = 1.0
        bm_scale = init_cash / (to_col - from_col)
        max_dd, max_dd_duration = drawdown_stats_1d_nb(value)

    out[MetricIdx.start_value] = init_cash
    out[MetricIdx.end_value] = total_profit + init_cash
    out[MetricIdx.total_return] = total_profit / init_cash
    out[MetricIdx.max_gross_exposure] = max_gross_exposure
    out[MetricIdx.total_fees_paid] = fees_paid
    out[MetricIdx.max_drawdown] = max_dd
    out[MetricIdx.max_drawdown_duration] = max_dd_duration

    reset_trade_acc_nb(trade_acc)
    if fold_exit_trades:
        for col in range(from_col, to_col):
            fold_exit_trades_nb(
                order_records,
                order_col_map,
                order_col_start_idxs[col],
                col,
                close.shape[0],
                close[close.shape[0] - 1, col] if close.shape[0] > 0 else np.nan,
                trade_acc,
            )
    else:
        fold_trade_records_nb(trade_records, trade_col_map, trade_col_start_idxs, from_col, to_col, trade_acc)
    trade_stats_nb(trade_acc, out)
    return bm_divisor, bm_scale


@njit(cache=True, error_model="numpy", inline="always")
def lane_metrics_nb(
    lanes: tp.Array3d,
    init_cash: tp.Array1d,
    bm_params: tp.Array2d,
    n_lanes: int,
    ann_factor: float,
    risk_free: float,
    required_return: float,
    ddof: int,
    out: tp.Array2d,
) -> None:
    """Write the benchmark return and the return ratios of `n_lanes` groups into the rows of `out`, one per lane.

    `lanes` has shape `(n_lane_series, n_rows, width)` with `width >= n_lanes` (see `LaneIdx`):
    `lanes[LaneIdx.value, :, k]` holds the value series of lane `k` and `lanes[LaneIdx.bm_close, :, k]` what its
    benchmark value is computed from, as `group_walk_nb` writes them; the other series are scratch space.
    `init_cash` holds the initial cash of each lane, and `bm_params` the parameters of its benchmark (see
    `BenchmarkIdx`). The return series comes from `lane_returns_nb`, the benchmark return
    from `lane_benchmark_return_nb` and the ratios from `lane_return_ratios_nb`."""
    returns = lanes[LaneIdx.returns]
    lane_returns_nb(lanes[LaneIdx.value], init_cash, n_lanes, returns)
    bm_return = np.empty(n_lanes, dtype=np.float64)
    lane_benchmark_return_nb(
        lanes[LaneIdx.bm_close],
        bm_params[BenchmarkIdx.divisor],
        bm_params[BenchmarkIdx.scale],
        init_cash,
        n_lanes,
        bm_return,
    )
    ratios = np.full((len(RatioIdx), n_lanes), np.nan)
    if not np.isnan(ann_factor):
        lane_return_ratios_nb(
            returns, n_lanes, ann_factor, risk_free, required_return, ddof, lanes[LaneIdx.cum_returns], ratios
        )
    for k in range(n_lanes):
        out[k, MetricIdx.benchmark_return] = bm_return[k]
        out[k, MetricIdx.sharpe_ratio] = ratios[RatioIdx.sharpe_ratio, k]
        out[k, MetricIdx.calmar_ratio] = ratios[RatioIdx.calmar_ratio, k]
        out[k, MetricIdx.omega_ratio] = ratios[RatioIdx.omega_ratio, k]
        out[k, MetricIdx.sortino_ratio] = ratios[RatioIdx.sortino_ratio, k]


@njit(cache=True)
def block_width_nb(n_rows: int) -> int:
    """Number of groups in a full block of lanes for series of `n_rows` rows: `lane_width`, or fewer (one at the
    least) where the block would take more than `lane_memory` bytes."""
    return max(1, min(lane_width, lane_memory // (n_lane_series * 8 * max(n_rows, 1))))


@njit(cache=True, nogil=True)
def chunk_metrics_nb(
    close: tp.Array2d,
    fillna_close: bool,
    order_records: tp.RecordArray,
    order_col_map: tp.ColMap,
    order_col_start_idxs: tp.Array1d,
    trades_type: int,
    trade_records: tp.RecordArray,
    group_start_idxs: tp.Array1d,
    group_end_idxs: tp.Array1d,
    from_group: int,
    to_group: int,
    init_cash: tp.Array1d,
    ann_factor: float,
    risk_free: float,
    required_return: float,
    ddof: int,
    out: tp.Array2d,
    out_start: int,
) -> int:
    """Compute all metrics of `MetricIdx` for the groups `from_group` to `to_group` (exclusive) into the rows of
    `out`, where row `group - out_start` belongs to `group`.

    Args:
        close (array): Raw close price of shape `(n_rows, n_cols)`, NaNs included.
        fillna_close (bool): Whether to forward- and then backward-fill NaNs in `close` for valuation,
            as `Portfolio.fillna_close`. Open trades are valued at the raw close in any case.
        order_records (array): Order records of type `vectorbt.portfolio.enums.order_dt`.
        order_col_map (tuple): Column map of `order_records` (see `fast_col_map_nb`).
        order_col_start_idxs (array): Position of each column's first order in `order_col_map`.
        trades_type (int): Type of trades for trade statistics (see `vectorbt.portfolio.enums.TradesType`).
        trade_records (array): For any type but exit trades, the trade records of the chunk's columns, numbered
            from its first column on, as `chunk_trades_nb` builds them. Exit trades are folded straight from the
            orders (see `fold_exit_trades_nb`), and this is not read.
        group_start_idxs (array): First column of each group.
        group_end_idxs (array): Column after the last of each group.
        from_group (int): First group of the chunk.
        to_group (int): Group to stop before; greater than `from_group`.
        init_cash (array): Initial cash per group (per column if ungrouped).
        ann_factor (float): Annualization factor `year_freq / freq`. NaN disables the return ratios.
        risk_free (float): Per-period risk-free return (Sharpe and Omega ratios).
        required_return (float): Required annual return (Omega ratio) or per-period return (Sortino ratio),
            as in `vectorbt.returns.nb`.
        ddof (int): Delta degrees of freedom of the standard deviation in the Sharpe ratio.
        out (array): Output of shape `(n, n_metrics)`, with a row for every group of the chunk.
        out_start (int): Group of the first row of `out`.

    Returns 0, or the code of `check_orders_nb` (and nothing computed) if the chunk's orders are invalid.

    Takes the orders of the chunk's columns (see `take_records_nb`) and allocates the scratch buffers once, then
    takes the groups a block at a time (see `block_width_nb`): `group_walk_nb` walks each group of a block, then
    `lane_metrics_nb` computes what depends on their value series for the whole block. Each group's metrics depend
    on its own columns only, so any split of the groups into chunks gives the very same numbers.

    Releases the GIL, so that chunks run in parallel on Python threads; compiled for `chunk_metrics_sig` only (see
    `vectorbt.portfolio.registry.metrics`)."""
    n_rows = close.shape[0]
    order_col_idxs, order_col_lens = order_col_map
    from_col = group_start_idxs[from_group]
    to_col = group_end_idxs[to_group - 1]

    # Orders of the chunk, contiguous per column
    from_order = order_col_start_idxs[from_col]
    to_order = from_order + np.sum(order_col_lens[from_col:to_col])
    chunk_orders = take_records_nb(order_records, order_col_idxs[from_order:to_order])
    chunk_order_col_lens = order_col_lens[from_col:to_col]
    chunk_order_col_map = (np.arange(to_order - from_order), chunk_order_col_lens)
    chunk_order_col_start_idxs = np.cumsum(chunk_order_col_lens) - chunk_order_col_lens
    chunk_close = close[:, from_col:to_col]
    order_error = check_orders_nb(chunk_orders, chunk_order_col_lens)
    if order_error != 0:
        return order_error

    fold_exit_trades = trades_type == TradesType.ExitTrades  # folded straight from the orders
    chunk_trades = trade_records[:0] if fold_exit_trades else trade_records
    chunk_trade_col_map = fast_col_map_nb(chunk_trades["col"], to_col - from_col)
    chunk_trade_col_lens = chunk_trade_col_map[1]
    chunk_trade_col_start_idxs = np.cumsum(chunk_trade_col_lens) - chunk_trade_col_lens

    buffers = np.empty((n_buffers, n_rows), dtype=np.float64)
    trade_acc = np.empty(n_trade_acc, dtype=np.float64)
    width = min(block_width_nb(n_rows), to_group - from_group)
    lanes = np.empty((n_lane_series, n_rows, width), dtype=np.float64)
    bm_params = np.empty((len(BenchmarkIdx), width), dtype=np.float64)
    for block_from in range(from_group, to_group, width):
        n_lanes = min(width, to_group - block_from)
        block_from_col = group_start_idxs[block_from] - from_col
        close_loaded = True  # a block of single columns gets their close at once
        for k in range(n_lanes):
            if group_end_idxs[block_from + k] - group_start_idxs[block_from + k] != 1:
                close_loaded = False
                break
        if close_loaded:
            load_close_block_nb(chunk_close, block_from_col, n_lanes, fillna_close, lanes[LaneIdx.bm_close])
        for k in range(n_lanes):
            group = block_from + k
            bm_divisor, bm_scale = group_walk_nb(
                chunk_close,
                fillna_close,
                chunk_orders,
                chunk_order_col_map,
                chunk_order_col_start_idxs,
                chunk_trades,
                chunk_trade_col_map,
                chunk_trade_col_start_idxs,
                fold_exit_trades,
                group_start_idxs[group] - from_col,
                group_end_idxs[group] - from_col,
                init_cash[group],
                buffers,
                trade_acc,
                lanes[LaneIdx.value, :, k],
                lanes[LaneIdx.bm_close, :, k],
                close_loaded,
                out[group - out_start],
            )
            bm_params[BenchmarkIdx.divisor, k] = bm_divisor
            bm_params[BenchmarkIdx.scale, k] = bm_scale
        lane_metrics_nb(
            lanes,
            init_cash[block_from : block_from + n_lanes],
            bm_params,
            n_lanes,
            ann_factor,
            risk_free,
            required_return,
            ddof,
            out[block_from - out_start : block_from - out_start + n_lanes],
        )
    return 0


@njit(cache=True, nogil=True)
def chunk_trades_nb(
    close: tp.Array2d,
    order_records: tp.RecordArray,
    order_col_map: tp.ColMap,
    order_col_start_idxs: tp.Array1d,
    trades_type: int,
    from_col: int,
    to_col: int,
) -> tp.Tuple[int, tp.RecordArray]:
    """Build the trade records of type `trades_type` of the columns `from_col` to `to_col` (exclusive) with
    `trade_records_nb`, numbered from `from_col` on as `chunk_metrics_nb` takes them.

    Returns 0 and the records, or the code of `check_orders_nb` and no records if the orders are invalid. A kernel
    of its own, so that the default exit trades, which `chunk_metrics_nb` folds straight from the orders, never
    compile vectorbt's trade builders."""
    order_col_idxs, order_col_lens = order_col_map
    from_order = order_col_start_idxs[from_col]
    to_order = from_order + np.sum(order_col_lens[from_col:to_col])
    chunk_orders = take_records_nb(order_records, order_col_idxs[from_order:to_order])
    chunk_order_col_lens = order_col_lens[from_col:to_col]
    order_error = check_orders_nb(chunk_orders, chunk_order_col_lens)
    if order_error != 0:
        return order_error, np.empty(0, dtype=trade_dt)
    chunk_order_col_map = (np.arange(to_order - from_order), chunk_order_col_lens)
    return 0, trade_records_nb(chunk_orders, close[:, from_col:to_col], chunk_order_col_map, trades_type)


# ############# Signatures ############# #


def input_t(dtype: tp.Any, ndim: int = 1) -> types.Array:
    """Numba type of an input array of `dtype`: any layout, read-only, so that arrays of every layout (C, F,
    strided, broadcast), writable or not, take the same compiled code."""
    return types.Array(dtype, ndim, "A", readonly=True)


col_map_t = types.UniTuple(input_t(types.int64), 2)
"""Numba type of a column map (see `fast_col_map_nb`)."""

order_records_t = input_t(from_dtype(order_dt))
"""Numba type of the order records."""

trade_records_t = input_t(from_dtype(trade_dt))
"""Numba type of the trade records."""

chunk_metrics_sig = (
    input_t(types.float64, 2),  # close
    types.boolean,  # fillna_close
    order_records_t,
    col_map_t,  # order_col_map
    input_t(types.int64),  # order_col_start_idxs
    types.int64,  # trades_type
    trade_records_t,
    input_t(types.int64),  # group_start_idxs
    input_t(types.int64),  # group_end_idxs
    types.int64,  # from_group
    types.int64,  # to_group
    input_t(types.float64),  # init_cash
    types.float64,  # ann_factor
    types.float64,  # risk_free
    types.float64,  # required_return
    types.int64,  # ddof
    types.Array(types.float64, 2, "C"),  # out
    types.int64,  # out_start
)
"""The one signature `vectorbt.portfolio.registry.metrics.compute_metrics` compiles `chunk_metrics_nb` for."""

chunk_trades_sig = (
    input_t(types.float64, 2),  # close
    order_records_t,
    col_map_t,  # order_col_map
    input_t(types.int64),  # order_col_start_idxs
    types.int64,  # trades_type
    types.int64,  # from_col
    types.int64,  # to_col
)
"""The one signature of `chunk_trades_nb`."""

fast_col_map_sig = (input_t(types.int64), types.int64)
"""The one signature of `fast_col_map_nb` called from Python."""

auto_init_cash_sig = (types.UniTuple(types.int64, 2), order_records_t, col_map_t, input_t(types.int64))
"""The one signature of `auto_init_cash_nb`."""
