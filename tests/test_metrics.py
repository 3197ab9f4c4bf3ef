"""Fidelity of `vectorbt.portfolio.registry.metrics` against `Portfolio.stats`, and of the Numba kernels in
`vectorbt.portfolio.registry.nb` against the vectorbt functions they stand in for."""

import doctest
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

from vectorbt.generic import nb as generic_nb
from vectorbt.portfolio import enums as portfolio_enums
from vectorbt.portfolio import nb as portfolio_nb
from vectorbt.portfolio.registry import metrics, nb, spec
from vectorbt.portfolio.registry.metrics import (
    DURATION_METRICS,
    METRIC_NAMES,
    RATIO_METRICS,
    compute_metrics,
    metric_settings,
)
from vectorbt.records import nb as records_nb
from vectorbt.returns import nb as returns_nb
from vectorbt.utils.math_ import add_nb

STATS_TITLES = {
    "start_value": "Start Value",
    "end_value": "End Value",
    "total_return": "Total Return [%]",
    "benchmark_return": "Benchmark Return [%]",
    "max_gross_exposure": "Max Gross Exposure [%]",
    "total_fees_paid": "Total Fees Paid",
    "max_drawdown": "Max Drawdown [%]",
    "max_drawdown_duration": "Max Drawdown Duration",
    "total_trades": "Total Trades",
    "total_closed_trades": "Total Closed Trades",
    "total_open_trades": "Total Open Trades",
    "open_trade_pnl": "Open Trade PnL",
    "win_rate": "Win Rate [%]",
    "best_trade": "Best Trade [%]",
    "worst_trade": "Worst Trade [%]",
    "avg_winning_trade": "Avg Winning Trade [%]",
    "avg_losing_trade": "Avg Losing Trade [%]",
    "avg_winning_trade_duration": "Avg Winning Trade Duration",
    "avg_losing_trade_duration": "Avg Losing Trade Duration",
    "profit_factor": "Profit Factor",
    "expectancy": "Expectancy",
    "sharpe_ratio": "Sharpe Ratio",
    "calmar_ratio": "Calmar Ratio",
    "omega_ratio": "Omega Ratio",
    "sortino_ratio": "Sortino Ratio",
}
PERCENT_METRICS = {
    "total_return",
    "benchmark_return",
    "max_gross_exposure",
    "win_rate",
    "best_trade",
    "worst_trade",
    "avg_winning_trade",
    "avg_losing_trade",
}
RTOL = 1e-9


# ############# Helpers ############# #


def run_stats(pf, **kwargs):
    """`pf.stats(agg_func=None)` with the same settings as `compute_metrics(pf, **kwargs)`.

    Returns one dict (title to value) per column/group. A one-column/group result comes as a Series of objects;
    it is not transposed into a frame, which could change the resolution of its timedeltas."""
    stats_settings = {k: v for k, v in kwargs.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = pf.stats(agg_func=None, settings=stats_settings)
    if isinstance(stats, pd.Series):
        return [stats.to_dict()]
    return [{title: stats[title].iloc[j] for title in stats.columns} for j in range(len(stats))]


def expected_value(pf, stats, name, j):
    """Value of metric `name` for row `j` of `stats`, converted to the units of `compute_metrics`."""
    title = STATS_TITLES[name]
    if title not in stats[j]:  # stats drops metrics it cannot compute (no freq or no year_freq)
        return np.nan
    value = stats[j][title]
    if name in DURATION_METRICS:
        if pd.isnull(value):
            return np.nan
        if pf.wrapper.freq is None:
            return float(value)
        return value / pf.wrapper.freq
    value = float(value)
    if name in PERCENT_METRICS:
        return value / 100
    if name == "max_drawdown":
        return -value / 100
    return value


def assert_close(actual, expected, what):
    if np.isnan(expected):
        assert np.isnan(actual), f"{what}: expected NaN, got {actual!r}"
    elif np.isinf(expected):
        assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"
    else:
        assert np.isfinite(actual), f"{what}: expected {expected!r}, got {actual!r}"
        assert abs(actual - expected) <= RTOL * abs(expected) or actual == expected, (
            f"{what}: expected {expected!r}, got {actual!r}"
        )


def assert_matches_stats(pf, **kwargs):
    """Compare `compute_metrics` with `pf.stats` for every metric and every column/group."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compute_metrics(pf, **kwargs)
    stats = run_stats(pf, **kwargs)
    assert list(result.columns) == list(METRIC_NAMES)
    assert (result.dtypes == np.float64).all()
    pd.testing.assert_index_equal(result.index, pf.wrapper.get_columns())
    assert len(stats) == len(result)
    for name in METRIC_NAMES:
        for j, label in enumerate(result.index):
            actual = result[name].iloc[j]
            expected = expected_value(pf, stats, name, j)
            assert_close(actual, expected, f"{name} of {label!r}")
            if name in DURATION_METRICS and pf.wrapper.freq is not None and not np.isnan(actual):
                # Durations exactly: converting bars back as stats does gives the very timedelta it reports.
                # Depending on the path, stats multiplies a scalar by freq (a Timedelta, possibly of microsecond
                # resolution) or converts a Series in nanoseconds, so accept either conversion.
                timedelta = (pf.wrapper.to_timedelta(actual), pf.wrapper.to_timedelta(pd.Series([actual]))[0])
                assert stats[j][STATS_TITLES[name]] in timedelta, f"{name} of {label!r}"
    return result


def frame(values, index, columns):
    """DataFrame over a Fortran-ordered copy of `values`.

    vectorbt compiles its signal simulation anew for every combination of array layouts, which costs seconds per
    process; building every input the same way keeps the number of combinations small."""
    return pd.DataFrame(np.asfortranarray(values), index=index, columns=columns)


def make_prices(n_rows, n_cols, seed, freq="1D", nan_gaps=False):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-01", periods=n_rows, freq=freq)
    values = 100 * np.cumprod(1 + rng.normal(0.0005, 0.02, (n_rows, n_cols)), axis=0)
    prices = frame(values, index, [f"c{i}" for i in range(n_cols)])
    if nan_gaps:
        prices.iloc[3:7, 0] = np.nan  # gap inside
        if n_cols > 1:
            prices.iloc[:4, 1] = np.nan  # leading NaNs
        if n_cols > 2:
            prices.iloc[-3:, 2] = np.nan  # trailing NaNs: open trades are valued at NaN
    return prices


def make_signals(prices, seed, prob=0.15, no_trade_col=None):
    rng = np.random.default_rng(seed + 1)
    entries = frame(rng.random(prices.shape) < prob, prices.index, prices.columns)
    exits = frame(rng.random(prices.shape) < prob, prices.index, prices.columns)
    if no_trade_col is not None:
        entries.iloc[:, no_trade_col] = False
        exits.iloc[:, no_trade_col] = False
    return entries, exits


# ############# Battery against Portfolio.stats ############# #


SIGNAL_CASES = {
    "long_fees_slippage": dict(fees=0.002, slippage=0.001),
    "short_only": dict(direction="shortonly", fees=0.001),
    "both_directions": dict(direction="both", fees=0.001, fixed_fees=0.05, slippage=0.002),
    "accumulate_both": dict(direction="both", accumulate=True, size=10.0, fees=0.001),
    "fixed_size_partial": dict(size=0.5, size_type="percent", fees=0.001),
    "positions": dict(direction="both", accumulate=True, size=5.0, trades_type="positions"),
    "entry_trades": dict(accumulate=True, size=5.0, trades_type="entrytrades", fees=0.003),
    "no_fillna_close": dict(fillna_close=False, fees=0.001),
    "grouped_cash_sharing": dict(group_by=[0, 0, 1, 1, 1], cash_sharing=True, fees=0.001, size=20.0),
    "grouped_cash_sharing_both": dict(
        group_by=["a", "a", "a", "b", "b"], cash_sharing=True, direction="both", size=15.0, fees=0.002
    ),
    "grouped_no_cash_sharing": dict(group_by=[0, 0, 1, 1, 1], fees=0.001),
    "grouped_one_column_groups": dict(group_by=[0, 1, 1, 2, 2], init_cash=250.0),
    "init_cash_auto": dict(init_cash="auto", size=1.0, direction="both"),
    "init_cash_autoalign_grouped": dict(init_cash="autoalign", size=1.0, group_by=[0, 0, 1, 1, 1]),
}


@pytest.fixture(scope="module")
def daily_prices():
    return make_prices(150, 5, seed=11, nan_gaps=True)


@pytest.mark.parametrize("case", list(SIGNAL_CASES))
def test_from_signals_matches_stats(daily_prices, case):
    entries, exits = make_signals(daily_prices, seed=11, no_trade_col=4)
    pf = vbt.Portfolio.from_signals(daily_prices, entries, exits, freq="1D", **SIGNAL_CASES[case])
    assert_matches_stats(pf)


def test_open_trades_and_empty_column(daily_prices):
    entries, exits = make_signals(daily_prices, seed=11, no_trade_col=4)
    exits.iloc[-40:] = False  # every traded column ends with an open trade
    pf = vbt.Portfolio.from_signals(daily_prices, entries, exits, fees=0.001, freq="1D")
    result = assert_matches_stats(pf)
    assert (result["total_open_trades"].iloc[:4] == 1).all()
    assert result.loc["c4", "total_trades"] == 0
    assert np.isnan(result.loc["c4", "win_rate"])


@pytest.mark.parametrize("freq", ["1D", "1h"])
@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(year_freq="252 days", risk_free=0.0002, required_return=0.08)],
    ids=["defaults", "custom"],
)
def test_freq_and_return_settings(freq, kwargs):
    prices = make_prices(200, 3, seed=5, freq=freq)
    entries, exits = make_signals(prices, seed=5)
    pf = vbt.Portfolio.from_signals(prices, entries, exits, direction="both", fees=0.001, freq=freq)
    assert_matches_stats(pf, **kwargs)


def test_global_settings_are_the_defaults():
    prices = make_prices(120, 2, seed=8)
    entries, exits = make_signals(prices, seed=8)
    pf = vbt.Portfolio.from_signals(prices, entries, exits, freq="1D")
    returns_cfg = vbt.settings["returns"]
    old = (returns_cfg["year_freq"], returns_cfg["defaults"]["risk_free"], returns_cfg["defaults"]["required_return"])
    try:
        returns_cfg["year_freq"] = "260 days"
        returns_cfg["defaults"]["risk_free"] = 0.0001
        returns_cfg["defaults"]["required_return"] = 0.05
        assert_matches_stats(pf)
        assert metric_settings(pf) == dict(
            freq="1D",
            year_freq="260D",
            risk_free=0.0001,
            required_return=0.05,
            fillna_close=True,
            trades_type="exittrades",
        )
    finally:
        returns_cfg["year_freq"] = old[0]
        returns_cfg["defaults"]["risk_free"] = old[1]
        returns_cfg["defaults"]["required_return"] = old[2]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(fees=0.001, slippage=0.002),
        dict(fees=0.01, fixed_fees=0.1, trades_type="positions"),
        dict(trades_type="entrytrades", fillna_close=False),
        dict(group_by=[0, 0, 1, 1], cash_sharing=True, fees=0.001),
        dict(group_by=[0, 0, 1, 1], fees=0.001),
        dict(init_cash=[10.0, 100.0, 1000.0, 1e6], fees=0.001),
        dict(group_by=[0, 1, 1, 1], cash_sharing=True, init_cash=[30.0, 500.0]),
        dict(group_by=[0, 0, 1, 1], init_cash=[10.0, 20.0, 300.0, 400.0]),
        dict(group_by=True, cash_sharing=True, size_type="targetpercent"),
        dict(init_cash=np.inf, fees=0.001),
        dict(init_cash=np.inf, group_by=[0, 0, 1, 1], fees=0.001),
    ],
    ids=[
        "fees",
        "positions",
        "entry_trades_no_fill",
        "grouped_cash_sharing",
        "grouped",
        "init_cash_per_column",
        "init_cash_per_group",
        "init_cash_per_column_grouped",
        "single_group_cash_sharing",
        "init_cash_inf",
        "init_cash_inf_grouped",
    ],
)
def test_from_orders_matches_stats(kwargs):
    prices = make_prices(120, 4, seed=3, freq="1h", nan_gaps=True)
    rng = np.random.default_rng(3)
    size = pd.DataFrame(
        np.round(rng.normal(0, 1, prices.shape), 2) * (rng.random(prices.shape) < 0.25),
        index=prices.index,
        columns=prices.columns,
    )
    pf = vbt.Portfolio.from_orders(prices, size, freq="1h", **kwargs)
    assert_matches_stats(pf)


def test_single_column():
    # from_orders: vectorbt caches its compiled order simulation, not the signal simulation
    prices = make_prices(100, 1, seed=2)["c0"].rename("asset")
    size = pd.Series(np.nan, index=prices.index, name="asset")
    size.iloc[[5, 30, 61, 80]] = [1.0, 0.0, -0.5, 0.0]
    pf = vbt.Portfolio.from_orders(prices, size, size_type="targetpercent", fees=0.001, freq="1D")
    assert pf.wrapper.ndim == 1
    result = assert_matches_stats(pf)
    assert list(result.index) == ["asset"]
    assert result.loc["asset", "total_trades"] == 2  # one long and one short trade

    pf = vbt.Portfolio.from_orders(prices.rename(None), size.rename(None), size_type="targetpercent", freq="1D")
    result = assert_matches_stats(pf)
    assert list(result.index) == [0]


def test_without_freq_ratios_are_nan_and_warn_once():
    prices = make_prices(80, 3, seed=4).reset_index(drop=True)
    entries, exits = make_signals(prices, seed=4)
    pf = vbt.Portfolio.from_signals(prices, entries, exits, fees=0.001)
    assert pf.wrapper.freq is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compute_metrics(pf)
    assert len(caught) == 1
    assert "no frequency" in str(caught[0].message)
    assert result[list(RATIO_METRICS)].isna().all().all()
    assert_matches_stats(pf)  # durations are plain bars on both sides
    assert metric_settings(pf)["freq"] is None


def test_without_year_freq_ratios_are_nan():
    prices = make_prices(80, 2, seed=6)
    entries, exits = make_signals(prices, seed=6)
    pf = vbt.Portfolio.from_signals(prices, entries, exits, freq="1D")
    returns_cfg = vbt.settings["returns"]
    old = returns_cfg["year_freq"]
    try:
        returns_cfg["year_freq"] = None
        with pytest.warns(UserWarning, match="year_freq is None"):
            result = compute_metrics(pf)
        assert result[list(RATIO_METRICS)].isna().all().all()
        assert metric_settings(pf)["year_freq"] is None
        assert_matches_stats(pf)
    finally:
        returns_cfg["year_freq"] = old


def test_metric_settings():
    prices = make_prices(50, 2, seed=1, freq="4h")
    entries, exits = make_signals(prices, seed=1)
    pf = vbt.Portfolio.from_signals(
        prices, entries, exits, freq="4h", fillna_close=False, trades_type="positions"
    )
    assert metric_settings(pf, year_freq="252D", risk_free=0.01, required_return=0.1) == dict(
        freq="4h",
        year_freq="252D",
        risk_free=0.01,
        required_return=0.1,
        fillna_close=False,
        trades_type="positions",
    )
    assert metric_settings(pf)["year_freq"] == "365D"
    assert metrics._timedelta_to_str(pd.Timedelta("90min")) == "90min"
    assert metrics._timedelta_to_str(pd.Timedelta("1.5s")) == "1500ms"


def test_names():
    assert len(METRIC_NAMES) == 25 == nb.n_metrics
    assert METRIC_NAMES[0] == "start_value" and METRIC_NAMES[-1] == "sortino_ratio"
    assert set(DURATION_METRICS) <= set(METRIC_NAMES)
    assert set(RATIO_METRICS) <= set(METRIC_NAMES)
    assert list(STATS_TITLES) == list(METRIC_NAMES)
    assert METRIC_NAMES == spec.METRIC_NAMES == nb.MetricIdxT._fields
    assert tuple(nb.MetricIdx) == tuple(range(nb.n_metrics))
    assert {m.name: m.title for m in spec.METRICS} == STATS_TITLES
    assert DURATION_METRICS == spec.metrics_with_unit("duration")
    assert set(RATIO_METRICS) <= set(spec.metrics_with_unit("ratio"))


def test_docstring_table_matches_spec():
    """The module docstring's table of metrics shows every metric once, with the unit and title of the spec."""
    rows = [line for line in metrics.__doc__.splitlines() if line.startswith("| `")]
    seen = []
    for row in rows:
        names_cell, unit_cell, title_cell = [cell.strip() for cell in row.strip("|").split("|")]
        names = [name.strip(" `") for name in names_cell.split(",")]
        for name in names:
            assert unit_cell.split()[0].strip(",") == spec.metric(name).unit, row
        assert title_cell.startswith(spec.metric(names[0]).title), row
        seen.extend(names)
    assert sorted(seen) == sorted(METRIC_NAMES) and len(seen) == len(set(seen))


def test_docstring_example():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(metrics.compute_metrics, "compute_metrics", globs={}):
        for example in test.examples:  # the Markdown fence that closes the example is not output
            example.want = example.want.replace("```\n", "")
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


# ############# Property-based tests ############# #


@st.composite
def portfolios(draw):
    n_rows = draw(st.integers(3, 60))
    n_cols = draw(st.integers(1, 4))
    returns = draw(hnp.arrays(np.float64, (n_rows, n_cols), elements=st.floats(-0.2, 0.25)))
    prices = 10 * np.cumprod(1 + returns, axis=0)
    if draw(st.booleans()):
        prices[draw(hnp.arrays(np.bool_, (n_rows, n_cols)))] = np.nan
    freq = draw(st.sampled_from(["1D", "1h", None]))
    index = pd.date_range("2020-01-01", periods=n_rows, freq=freq or "1D")
    if freq is None:
        index = pd.RangeIndex(n_rows)
    prices = frame(prices, index, [f"c{i}" for i in range(n_cols)])
    grouping = draw(st.sampled_from(["none", "grouped", "cash_sharing"]))
    kwargs = dict(
        freq=freq,
        fees=draw(st.sampled_from([0.0, 0.001, 0.01])),
        slippage=draw(st.sampled_from([0.0, 0.005])),
        fillna_close=draw(st.booleans()),
        trades_type=draw(st.sampled_from(["exittrades", "entrytrades", "positions"])),
    )
    if grouping != "none" and n_cols > 1:
        # Two groups: one group would be yet another signature for vectorbt to compile (see `frame`)
        middle = draw(st.lists(st.integers(0, 1), min_size=n_cols - 2, max_size=n_cols - 2))
        kwargs["group_by"] = [0] + sorted(middle) + [1]
        kwargs["cash_sharing"] = grouping == "cash_sharing"
    if n_cols > 1 and draw(st.booleans()):  # one column would be a new signature for vectorbt to compile
        entries = frame(draw(hnp.arrays(np.bool_, (n_rows, n_cols))), index, prices.columns)
        exits = frame(draw(hnp.arrays(np.bool_, (n_rows, n_cols))), index, prices.columns)
        direction = draw(st.sampled_from(["longonly", "shortonly", "both"]))
        accumulate = draw(st.booleans())
        size = draw(st.sampled_from([np.inf, 3.0])) if not accumulate else 3.0
        return vbt.Portfolio.from_signals(
            prices, entries, exits, direction=direction, accumulate=accumulate, size=size, **kwargs
        )
    sizes = draw(
        hnp.arrays(np.float64, (n_rows, n_cols), elements=st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.5, -0.5, np.inf]))
    )
    sizes = frame(sizes, index, prices.columns)
    return vbt.Portfolio.from_orders(prices, sizes, **kwargs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pf=portfolios(), year_freq=st.sampled_from([None, "252 days"]), risk_free=st.sampled_from([None, 0.001]))
def test_property_matches_stats(pf, year_freq, risk_free):
    assert_matches_stats(pf, year_freq=year_freq, risk_free=risk_free, required_return=0.05)


@njit
def _vbt_ratios_nb(returns, ann_factor, risk_free, required_return, ddof):
    return (
        returns_nb.sharpe_ratio_1d_nb(returns, ann_factor, risk_free, ddof),
        returns_nb.calmar_ratio_1d_nb(returns, ann_factor),
        returns_nb.omega_ratio_1d_nb(returns, ann_factor, risk_free, required_return),
        returns_nb.sortino_ratio_1d_nb(returns, ann_factor, required_return),
    )


special_returns = st.sampled_from([0.0, -0.0, -1.0, 1e-300, np.nan, np.inf, -np.inf, 0.01])


@settings(max_examples=300, deadline=None)
@given(
    returns=hnp.arrays(np.float64, st.integers(1, 40), elements=st.one_of(st.floats(-1.5, 2.0), special_returns)),
    ann_factor=st.sampled_from([365.0, 252.0, 8760.0, 1.0, 0.5, -2.0]),
    risk_free=st.sampled_from([0.0, 0.0001, -0.01]),
    required_return=st.sampled_from([0.0, 0.05, -0.5]),
    ddof=st.sampled_from([0, 1, 2]),
)
def test_return_ratios_equal_vectorbt_bit_for_bit(returns, ann_factor, risk_free, required_return, ddof):
    with np.errstate(all="ignore"):
        expected = _vbt_ratios_nb(returns, ann_factor, risk_free, required_return, ddof)
    lane = returns.reshape((-1, 1))  # one lane
    actual = np.empty((4, 1))
    nb.lane_return_ratios_nb(lane, 1, ann_factor, risk_free, required_return, ddof, np.empty_like(lane), actual)
    for name, a, e in zip(RATIO_METRICS, actual[:, 0], expected):
        assert (np.isnan(a) and np.isnan(e)) or a == e, (name, a, e)


@njit
def _vbt_lane_nb(values, init_value, divisor, scale, ann_factor, risk_free, required_return, ddof):
    """What vectorbt gives for each lane: returns, benchmark return and the four ratios."""
    n_rows, n_lanes = values.shape
    returns = np.empty((n_rows, n_lanes))
    bm_return = np.empty(n_lanes)
    ratios = np.empty((4, n_lanes))
    for k in range(n_lanes):
        returns[:, k] = returns_nb.returns_1d_nb(values[:, k], init_value[k])
        bm_returns = returns_nb.returns_1d_nb(scale[k] * (values[:, k] / divisor[k]), init_value[k])
        bm_return[k] = np.nanprod(bm_returns + 1) - 1
        ratios[0, k] = returns_nb.sharpe_ratio_1d_nb(returns[:, k], ann_factor, risk_free, ddof)
        ratios[1, k] = returns_nb.calmar_ratio_1d_nb(returns[:, k], ann_factor)
        ratios[2, k] = returns_nb.omega_ratio_1d_nb(returns[:, k], ann_factor, risk_free, required_return)
        ratios[3, k] = returns_nb.sortino_ratio_1d_nb(returns[:, k], ann_factor, required_return)
    return returns, bm_return, ratios


special_values = st.sampled_from([0.0, -0.0, -1.0, 1e-300, np.nan, np.inf, -np.inf, 100.0])


@settings(max_examples=150, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(1, 2 * nb.lane_width + 3)),  # vectorbt raises on no rows
        elements=st.one_of(st.floats(-50.0, 200.0), special_values),
    ),
    pad=st.integers(0, 3),
    ann_factor=st.sampled_from([365.0, 1.0, -2.0]),
    risk_free=st.sampled_from([0.0, 0.0001]),
    required_return=st.sampled_from([0.0, 0.05]),
    ddof=st.sampled_from([0, 1]),
)
def test_lanes_equal_vectorbt_bit_for_bit(values, pad, ann_factor, risk_free, required_return, ddof):
    """Every lane of a block, full or partial, gets what vectorbt gives its column alone."""
    n_rows, n_lanes = values.shape
    width = n_lanes + pad  # lanes past n_lanes hold garbage that must neither be read nor written
    rng = np.random.default_rng(n_rows * 100 + n_lanes)
    block = np.full((n_rows, width), np.nan)
    block[:, :n_lanes] = values
    init_value = rng.choice([100.0, 0.0, -5.0, 1.0], width)
    divisor = rng.choice([1.0, 3.0, 0.0], width)
    scale = rng.choice([1.0, 50.0], width)
    with np.errstate(all="ignore"):
        returns, bm_return, ratios = _vbt_lane_nb(
            values, init_value[:n_lanes], divisor[:n_lanes], scale[:n_lanes], ann_factor, risk_free, required_return,
            ddof,
        )
    lane_returns = np.full((n_rows, width), -9.0)
    nb.lane_returns_nb(block, init_value, n_lanes, lane_returns)
    lane_bm = np.full(width, -9.0)
    nb.lane_benchmark_return_nb(block, divisor, scale, init_value, n_lanes, lane_bm)
    lane_ratios = np.full((4, width), -9.0)
    returns_block = np.full((n_rows, width), np.inf)
    returns_block[:, :n_lanes] = returns
    nb.lane_return_ratios_nb(
        returns_block, n_lanes, ann_factor, risk_free, required_return, ddof, np.empty_like(returns_block), lane_ratios
    )
    assert np.array_equal(lane_returns[:, :n_lanes], returns, equal_nan=True)
    assert np.array_equal(lane_bm[:n_lanes], bm_return, equal_nan=True)
    assert np.array_equal(lane_ratios[:, :n_lanes], ratios, equal_nan=True)
    assert (lane_returns[:, n_lanes:] == -9.0).all() and (lane_bm[n_lanes:] == -9.0).all()
    assert (lane_ratios[:, n_lanes:] == -9.0).all()


@njit
def _vbt_drawdown_stats_nb(ts):
    records = generic_nb.get_drawdowns_nb(ts.reshape((ts.shape[0], 1)))
    if len(records) == 0:
        return np.nan, np.nan
    drawdown = generic_nb.dd_drawdown_nb(records["peak_val"], records["valley_val"])
    duration = generic_nb.range_duration_nb(records["start_idx"], records["end_idx"], records["status"])
    return np.nanmin(drawdown), float(np.max(duration))


@settings(max_examples=300, deadline=None)
@given(
    ts=hnp.arrays(
        np.float64,
        st.integers(0, 40),
        elements=st.one_of(st.floats(-5, 100), st.sampled_from([np.nan, 0.0, 1.0, 2.0])),
    )
)
def test_drawdown_stats_equal_vectorbt_records(ts):
    with np.errstate(all="ignore"):
        expected = _vbt_drawdown_stats_nb(ts)
        actual = nb.drawdown_stats_1d_nb(ts)
    for a, e in zip(actual, expected):
        assert (np.isnan(a) and np.isnan(e)) or a == e, (a, e)


finite_or_special = st.one_of(
    st.floats(-1e3, 1e3),
    st.floats(-1e-11, 1e-11),
    st.sampled_from([0.0, -0.0, 1e-12, -1e-12, 5e-13, np.nan, np.inf, -np.inf]),
)


@settings(max_examples=500, deadline=None)
@given(a=finite_or_special, b=finite_or_special)
def test_add_flow_equals_add_nb(a, b):
    expected = add_nb(a, b)
    actual = nb.add_flow_nb(a, b)
    assert (np.isnan(actual) and np.isnan(expected)) or actual == expected, (a, b, actual, expected)
    for b in (-a + 1e-13, -a * (1 + 1e-10), -a * (1 + 1e-8)):  # near-cancellation, within and beyond rel_tol
        expected = add_nb(a, b)
        actual = nb.add_flow_nb(a, b)
        assert (np.isnan(actual) and np.isnan(expected)) or actual == expected, (a, b, actual, expected)


# ############# Progress on large sweeps ############# #


def _sweep(n_cols, group_by=None):
    prices = make_prices(120, n_cols, seed=21, nan_gaps=True)
    entries, exits = make_signals(prices, seed=21)
    return vbt.Portfolio.from_signals(
        prices, entries, exits, fees=0.001, freq="1D", group_by=group_by, cash_sharing=group_by is not None
    )


@pytest.mark.parametrize("grouped", [False, True], ids=["columns", "cash_sharing_groups"])
def test_progress_bar_computes_the_same_metrics_slice_by_slice(grouped, capsys, monkeypatch):
    group_by = np.arange(60) // 4 if grouped else None
    pf = _sweep(60, group_by)
    monkeypatch.setattr(metrics, "progress_steps", 7)  # slices of uneven size, none empty
    whole = compute_metrics(pf, progress=False)
    assert "configurations" not in capsys.readouterr().err
    sliced = compute_metrics(pf, progress=True)
    n_configs = 15 if grouped else 60
    assert f"metrics of {n_configs} configurations" in capsys.readouterr().err
    pd.testing.assert_frame_equal(sliced, whole, check_exact=True)
    assert_matches_stats(pf)


def _kernel_inputs(pf):
    """What `compute_metrics` hands `chunk_metrics_nb`: the orders' column map, group bounds and initial cash."""
    n_cols = pf.wrapper.shape_2d[1]
    order_col_map = nb.fast_col_map_nb(pf.order_records["col"], n_cols)
    group_lens = pf.wrapper.grouper.get_group_lens()
    group_end_idxs = np.cumsum(group_lens)
    return dict(
        close=np.asarray(pf.close.values, dtype=np.float64),
        order_col_map=order_col_map,
        order_col_start_idxs=np.cumsum(order_col_map[1]) - order_col_map[1],
        group_lens=group_lens,
        group_start_idxs=group_end_idxs - group_lens,
        group_end_idxs=group_end_idxs,
        init_cash=metrics._init_cash(pf, order_col_map, group_lens),
    )


def test_blocks_of_groups_of_every_size_match_stats():
    """More groups than one block of lanes holds, single columns and groups of several mixed within blocks,
    whatever the chunks: one chunk of several blocks, the last one partial, gives the very same numbers."""
    sizes = [1, 3, 1, 1, 2, 5, 1, 1, 1, 4, 1, 2, 1, 1, 1, 1, 3, 1, 2, 1, 1]
    assert len(sizes) > nb.lane_width
    group_by = np.repeat(np.arange(len(sizes)), sizes)
    prices = make_prices(90, len(group_by), seed=31, nan_gaps=True)
    entries, exits = make_signals(prices, seed=31, no_trade_col=5)
    for cash_sharing in (False, True):
        pf = vbt.Portfolio.from_signals(
            prices, entries, exits, direction="both", fees=0.001, size=10.0, freq="1D", group_by=group_by,
            cash_sharing=cash_sharing,
        )
        whole = assert_matches_stats(pf).to_numpy()
        inputs = _kernel_inputs(pf)
        ratio_settings = (365.0, 0.0, 0.0, 1)  # compute_metrics' defaults: daily data, 365-day years
        for from_group, to_group in [(0, len(sizes)), (3, len(sizes) - 2)]:
            out = np.full((to_group - from_group, nb.n_metrics), -1.0)
            nb.chunk_metrics_nb(
                inputs["close"], True, pf.order_records, inputs["order_col_map"], inputs["order_col_start_idxs"],
                int(pf.trades_type), np.empty(0, dtype=portfolio_enums.trade_dt), inputs["group_start_idxs"],
                inputs["group_end_idxs"], from_group, to_group,
                inputs["init_cash"], *ratio_settings, out, from_group,
            )
            assert np.array_equal(out, whole[from_group:to_group], equal_nan=True), (cash_sharing, from_group)


def test_chunks_of_whole_blocks_match_stats():
    """Enough columns for every chunk to hold whole blocks of lanes."""
    n_cols = 12 * nb.lane_width + 5
    assert -(-n_cols // nb.lane_width) >= metrics.min_chunks
    prices = make_prices(60, n_cols, seed=37, nan_gaps=True)
    entries, exits = make_signals(prices, seed=37, no_trade_col=7)
    pf = vbt.Portfolio.from_signals(prices, entries, exits, fees=0.001, freq="1D")
    assert_matches_stats(pf)


def test_progress_bar_default_follows_size_and_environment(capsys, monkeypatch):
    pf = _sweep(12)
    cells = 120 * 12
    monkeypatch.setenv("VBT_REGISTRY_PROGRESS", "1")  # as if someone is watching
    monkeypatch.setattr(metrics, "progress_min_cells", cells)
    compute_metrics(pf)
    assert "metrics of 12 configurations" in capsys.readouterr().err
    monkeypatch.setattr(metrics, "progress_min_cells", cells + 1)  # too small to bother
    compute_metrics(pf)
    assert "configurations" not in capsys.readouterr().err
    monkeypatch.setattr(metrics, "progress_min_cells", cells)
    monkeypatch.setenv("VBT_REGISTRY_PROGRESS", "0")  # nobody watching, or turned off
    compute_metrics(pf)
    assert "configurations" not in capsys.readouterr().err


def test_register_shows_metric_progress_when_asked(tmp_path, capsys):
    from vectorbt.portfolio.registry import RunRegistry

    pf = _sweep(20)
    reg = RunRegistry(tmp_path / "runs")
    rec = reg.register(pf, name="sweep", progress=True)
    assert "metrics of 20 configurations" in capsys.readouterr().err
    quiet = reg.register(pf, name="sweep", progress=False)
    assert "configurations" not in capsys.readouterr().err
    pd.testing.assert_frame_equal(rec.metrics, quiet.metrics, check_exact=True)
    stored = reg.get(rec.run_id).metrics
    pd.testing.assert_frame_equal(stored, compute_metrics(pf, progress=False), check_exact=True, check_index_type=False)


@pytest.mark.parametrize(
    "cols",
    [[], [0, 0, 1, 3, 3, 3], [2, 0, 1, 0, 3, 2], [0, 1, 1, 0], [3, 3]],
    ids=["empty", "sorted", "unsorted", "sorted_then_not", "only_last"],
)
def test_fast_col_map_equals_vectorbt(cols):
    col_arr = np.array(cols, dtype=np.int64)
    expected = records_nb.col_map_nb(col_arr, 4)
    actual = nb.fast_col_map_nb(col_arr, 4)
    np.testing.assert_array_equal(actual[0], expected[0])
    np.testing.assert_array_equal(actual[1], expected[1])


@pytest.mark.parametrize(
    "idxs, is_view",
    [([], True), ([2, 3, 4], True), ([5], True), ([1, 3, 4], False), ([4, 3], False), ([0, 1, 1], False)],
)
def test_take_records_copies_only_when_it_must(idxs, is_view):
    records = np.zeros(6, dtype=[("id", np.int64), ("value", np.float64)])
    records["id"] = np.arange(6)
    idxs = np.array(idxs, dtype=np.int64)
    taken = nb.take_records_nb(records, idxs)
    np.testing.assert_array_equal(taken["id"], records["id"][idxs])
    assert np.shares_memory(taken, records) == (is_view and len(idxs) > 0)


def test_single_column_walk_agrees_with_the_group_walk():
    """The one-column fast path takes the gross exposure once per stretch between orders: it is the exposure of one
    row, at most a few units in the last place below the row-by-row maximum of the group path. Its drawdowns, taken
    row by row, are those of the group path's value series."""
    prices = make_prices(300, 12, seed=41, nan_gaps=True)
    rng = np.random.default_rng(41)
    sizes = rng.choice([0.0, 0.0, 0.0, 0.0, 0.3, -0.3, 0.8, -1.0, np.nan], prices.shape)
    pf = vbt.Portfolio.from_orders(
        prices, frame(sizes, prices.index, prices.columns), size_type="targetpercent", direction="both", fees=0.001,
        freq="1D",
    )
    col_map = nb.fast_col_map_nb(pf.order_records["col"], prices.shape[1])
    col_start_idxs = np.cumsum(col_map[1]) - col_map[1]
    n_rows = prices.shape[0]
    exposures = []
    filled_close = np.asarray(pf.get_filled_close(), dtype=np.float64)
    raw_close = np.asarray(pf.close, dtype=np.float64)  # NaN prices: NaN asset values, skipped
    for close, col in [(close, col) for close in (filled_close, raw_close) for col in range(prices.shape[1])]:
        col_close = np.ascontiguousarray(close[:, col])
        single_value = np.empty(n_rows)
        single = nb.single_col_series_nb(
            col_close, pf.order_records, col_map, col_start_idxs[col], col, 100.0, single_value
        )
        buffers = np.empty((nb.n_buffers, n_rows))
        group_value = np.empty(n_rows)
        profit, fees = nb.accumulate_col_nb(
            col_close, pf.order_records, col_map, col_start_idxs[col], col, True, buffers
        )
        group_exposure = nb.group_series_nb(buffers, 100.0, group_value)
        np.testing.assert_array_equal(single_value, group_value)
        np.testing.assert_array_equal(single[:2], (profit, fees))  # NaN profit where the last close is NaN
        np.testing.assert_array_equal(single[3:], nb.drawdown_stats_1d_nb(group_value))  # taken as values come
        assert single[2] <= group_exposure and group_exposure - single[2] <= 4 * np.spacing(group_exposure), col
        exposures.append(group_exposure)
    assert len(set(exposures)) > 3  # partly invested, all in and short columns, not one repeated value


def test_long_series_take_narrower_blocks():
    assert nb.block_width_nb(1000) == nb.lane_width
    assert nb.block_width_nb(0) == nb.lane_width
    assert nb.block_width_nb(10**8) == 1
    n_rows = nb.lane_memory // (4 * 8 * 3)  # blocks of three lanes
    assert nb.block_width_nb(n_rows) == 3
    prices = make_prices(n_rows, 7, seed=43)
    entries, exits = make_signals(prices, seed=43, prob=0.001)
    pf = vbt.Portfolio.from_signals(prices, entries, exits, fees=0.001, freq="1h")
    assert_matches_stats(pf)


# ############# Order and trade shortcuts ############# #


positions = st.one_of(
    st.floats(-1e3, 1e3),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-12, -1e-12, 5e-13, 1.0 + 1e-10, -(1.0 + 1e-10), np.nan, np.inf]),
)


@settings(max_examples=500, deadline=None)
@given(
    position_before=positions,
    position_now=positions,
    debt=st.one_of(st.floats(0, 1e4), st.sampled_from([0.0, np.nan])),
    price=st.one_of(st.floats(1e-3, 1e3), st.sampled_from([np.nan, np.inf])),
    fees=st.one_of(st.floats(0, 10), st.sampled_from([0.0, np.nan])),
)
def test_free_cash_diff_equals_vectorbt(position_before, position_now, debt, price, fees):
    with np.errstate(all="ignore"):
        expected = portfolio_nb.get_free_cash_diff_nb(position_before, position_now, debt, price, fees)
        actual = nb.free_cash_diff_nb(position_before, position_now, debt, price, fees)
    for a, e in zip(actual, expected):
        assert (np.isnan(a) and np.isnan(e)) or a == e, (actual, expected)


@st.composite
def order_columns(draw):
    """Order records of a few columns that open, add to, reduce, close and reverse positions, with sizes at and
    within the tolerances of the position, and a raw last close that may be NaN."""
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 30))
    records = []
    for col in range(n_cols):
        idx = 0
        for _ in range(draw(st.integers(0, 12))):
            idx = min(n_rows - 1, idx + draw(st.integers(0, 3)))
            size = draw(st.one_of(st.floats(0.01, 10.0), st.sampled_from([1.0, 2.0, 1.0 + 1e-10, 1.0 - 1e-10, 3.0])))
            price = draw(st.one_of(st.floats(0.5, 50.0), st.sampled_from([1.0, 10.0])))
            fees = draw(st.sampled_from([0.0, 0.01, 0.5, np.nan]))
            records.append((len(records), col, size, price, fees, draw(st.integers(0, 1)), idx))
    order_records = np.array(
        [(i, col, idx, size, price, fees, side) for i, col, size, price, fees, side, idx in records],
        dtype=portfolio_enums.order_dt,
    )
    close = draw(hnp.arrays(np.float64, (n_rows, n_cols), elements=st.one_of(st.floats(0.5, 50.0), st.just(np.nan))))
    return order_records, close


def _trade_acc(fold, *args):
    acc = np.empty(nb.n_trade_acc)
    nb.reset_trade_acc_nb(acc)
    fold(*args, acc)
    return acc


@settings(max_examples=300, deadline=None)
@given(orders=order_columns())
def test_exit_trades_fold_equals_vectorbt_records(orders):
    """Folding exit trades straight from the orders gives the very sums and counts that folding vectorbt's exit
    trade records gives, and so the same trade statistics."""
    order_records, close = orders
    n_rows, n_cols = close.shape
    col_map = nb.fast_col_map_nb(order_records["col"], n_cols)
    col_start_idxs = np.cumsum(col_map[1]) - col_map[1]
    with np.errstate(all="ignore"):
        trades = portfolio_nb.get_exit_trades_nb(order_records, close, col_map)
        trade_col_map = nb.fast_col_map_nb(trades["col"], n_cols)
        trade_col_start_idxs = np.cumsum(trade_col_map[1]) - trade_col_map[1]
        for col in range(n_cols):
            expected = _trade_acc(nb.fold_trade_records_nb, trades, trade_col_map, trade_col_start_idxs, col, col + 1)
            actual = _trade_acc(
                nb.fold_exit_trades_nb, order_records, col_map, col_start_idxs[col], col, n_rows, close[-1, col]
            )
            assert np.array_equal(actual, expected, equal_nan=True), (col, actual, expected)
            assert actual[nb.TradeAccIdx.total] == trade_col_map[1][col]
            stats_expected = np.full(nb.n_metrics, -1.0)
            stats_actual = np.full(nb.n_metrics, -1.0)
            nb.trade_stats_nb(expected, stats_expected)
            nb.trade_stats_nb(actual, stats_actual)
            assert np.array_equal(stats_actual, stats_expected, equal_nan=True)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("id", [1, 0], nb.id_order_err),
        ("size", [1.0, 0.0], portfolio_nb.size_zero_neg_err),
        ("price", [1.0, -2.0], portfolio_nb.price_zero_neg_err),
    ],
)
@pytest.mark.parametrize("trades_type", ["exittrades", "entrytrades", "positions"])
def test_invalid_orders_raise_as_in_vectorbt(field, value, message, trades_type):
    """The order check finds what vectorbt's exit trade builder raises for, and `compute_metrics` raises vectorbt's
    error for every trade type, from a parallel kernel too, where it is checked outside the threads."""
    n_cols = 6
    order_records = np.array(
        [(2 * col + i, col, i, 1.0, 10.0, 0.0, i) for col in range(n_cols) for i in (0, 1)],
        dtype=portfolio_enums.order_dt,
    )
    order_records[field][6:8] = value  # orders of the fourth column
    close = np.full((3, n_cols), 10.0)
    col_map = nb.fast_col_map_nb(order_records["col"], n_cols)
    with pytest.raises(ValueError, match=message):
        portfolio_nb.get_exit_trades_nb(order_records, close, col_map)
    assert nb.check_orders_nb(order_records, col_map[1]) > 0  # the fold of exit trades is never reached
    prices = make_prices(3, n_cols, seed=2)
    log_records = np.empty(0, dtype=portfolio_enums.log_dt)
    wrapper = vbt.ArrayWrapper(prices.index, prices.columns, 2, freq="1D")
    pf = vbt.Portfolio(
        wrapper, prices, order_records, log_records, np.full(n_cols, 100.0), False, trades_type=trades_type
    )
    with pytest.raises(ValueError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stats warns about the metrics that raise, then raises
        pf.stats(agg_func=None)
    for min_cells in (10**9, 0):  # one thread, then as many as there are
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(metrics, "parallel_min_cells", min_cells)
            with pytest.raises(ValueError, match=message):
                compute_metrics(pf)
    valid = order_records.copy()
    valid[field][6:8] = valid[field][:2]
    assert nb.check_orders_nb(valid, col_map[1]) == 0


@pytest.mark.parametrize(
    "faults",
    [
        {1: ("size", [1.0, 0.0]), 3: ("id", [7, 6])},  # a size error in an earlier column
        {1: ("price", [1.0, -1.0]), 3: ("id", [7, 6])},  # a price error in an earlier column
        {3: ("size", [0.0, 1.0]), 4: ("id", [9, 8])},  # size error first in its chunk
    ],
    ids=["size_then_id", "price_then_id", "same_order"],
)
def test_an_id_error_anywhere_is_raised_first_as_in_stats(faults):
    """`Portfolio.stats` checks the ids of every column (in its cash flow) before any size or price: so do we,
    on one thread and several."""
    n_cols = 6
    order_records = np.array(
        [(2 * col + i, col, i, 1.0, 10.0, 0.0, i) for col in range(n_cols) for i in (0, 1)],
        dtype=portfolio_enums.order_dt,
    )
    for col, (field, value) in faults.items():
        order_records[field][2 * col : 2 * col + 2] = value
    prices = make_prices(3, n_cols, seed=2)
    log_records = np.empty(0, dtype=portfolio_enums.log_dt)
    wrapper = vbt.ArrayWrapper(prices.index, prices.columns, 2, freq="1D")
    pf = vbt.Portfolio(wrapper, prices, order_records, log_records, np.full(n_cols, 100.0), False)
    with pytest.raises(ValueError, match=nb.id_order_err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.stats(agg_func=None)
    assert nb.check_orders_nb(order_records, np.full(n_cols, 2)) == 1
    for min_cells in (10**9, 0):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(metrics, "parallel_min_cells", min_cells)
            with pytest.raises(ValueError, match=nb.id_order_err):
                compute_metrics(pf)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("fillna_close", [False, True])
def test_block_load_equals_column_load(order, fillna_close):
    close = np.array(make_prices(40, 9, seed=3, nan_gaps=True), order=order)
    close[:5, 2] = np.nan  # leading NaNs take the first valid value
    close[:, 4] = np.nan  # stays NaN
    for from_col, n_lanes in [(0, 9), (2, 5), (8, 1)]:
        block = np.full((40, 16), -1.0)
        nb.load_close_block_nb(close, from_col, n_lanes, fillna_close, block)
        for k in range(n_lanes):
            column = np.empty(40)
            nb.load_close_nb(close, from_col + k, fillna_close, column)
            assert np.array_equal(block[:, k], column, equal_nan=True)
        assert np.all(block[:, n_lanes:] == -1.0)
    expected = pd.DataFrame(close).ffill().bfill().to_numpy() if fillna_close else close
    nb.load_close_block_nb(close, 0, 9, fillna_close, block)
    assert np.array_equal(block[:, :9], expected, equal_nan=True)


# ############# First use ############# #


def test_compile_notice_only_when_compiling_takes_long(capsys, monkeypatch):
    """The notice comes once per compilation that outlasts `compile_notice_delay`, never for kernels already
    compiled (or loaded from Numba's cache) in the process."""
    compiled = set()

    def fake_kernel(name):
        time.sleep(0.4 if name.startswith("slow") else 0.0)
        compiled.add(name)

    monkeypatch.setattr(metrics, "_compiled", compiled)
    monkeypatch.setattr(metrics, "_kernel", fake_kernel)
    monkeypatch.setattr(metrics, "compile_notice_delay", 0.2)
    metrics._compile_kernels(["fast_nb"])
    assert capsys.readouterr().err == ""
    metrics._compile_kernels(["slow_a_nb", "slow_b_nb"])
    assert capsys.readouterr().err == metrics.compile_notice + "\n"
    metrics._compile_kernels(["slow_a_nb", "fast_nb"])
    assert capsys.readouterr().err == ""


_FIRST_USE_SCRIPT = """
import numpy as np, pandas as pd, vectorbt as vbt
from vectorbt.portfolio.enums import log_dt, order_dt
from vectorbt.portfolio.registry import metrics, nb

def portfolio(close, group_by=None, cash_sharing=False):
    # orders written straight into records: no simulation for vectorbt to compile
    n_rows, n_cols = close.shape
    orders = [(0, col, i, 1.0, close.iloc[i, col], 0.1, i % 2) for col in range(n_cols) for i in range(3, n_rows, 7)]
    records = np.array([(k,) + o[1:] for k, o in enumerate(orders)], dtype=order_dt)
    wrapper = vbt.ArrayWrapper(close.index, close.columns, 2, freq="1D", group_by=group_by)
    n_groups = len(wrapper.grouper.get_group_lens())
    return vbt.Portfolio(wrapper, close, records, np.empty(0, dtype=log_dt), np.full(n_groups, 1000.0),
                         cash_sharing)

rng = np.random.default_rng(0)
index = pd.date_range("2021-01-01", periods=60)
values = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 4)), axis=0))
sweep = pd.DataFrame(np.broadcast_to(values[:, :1], (60, 4)), index=index)  # read-only, one asset
single = pd.DataFrame(np.ascontiguousarray(values[:, 1:2]), index=index)  # C- and F-ordered at once
assets = pd.DataFrame(values, index=index, columns=list("abcd"))
for close, group_by in [(sweep, None), (single, None), (assets, [0, 0, 1, 1])]:
    metrics.compute_metrics(portfolio(close, group_by, group_by is not None))
print(len(nb.chunk_metrics_nb.signatures), len(nb.fast_col_map_nb.signatures))
"""


@pytest.mark.slow
def test_first_use_says_it_compiles_once_and_later_processes_do_not(tmp_path):
    """On an empty Numba cache, the first `compute_metrics` of a process prints the notice once, and compiles each
    kernel once for a sweep, a single column and groups with cash sharing; a second process loads the kernels from
    the cache, quietly."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    script = tmp_path / "first_use.py"
    script.write_text(_FIRST_USE_SCRIPT)
    for run, notices in (("cold", 1), ("warm", 0)):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.count(metrics.compile_notice) == notices, (run, proc.stderr)
        assert proc.stdout.split() == ["1", "1"], run  # one signature per kernel, whatever the layout of close
        if run == "warm":
            assert time.perf_counter() - start < 30
