"""Tests of `vectorbt.portfolio.registry.plotting`: the figures' data, checked against values computed
independently from the reloaded portfolios and the stored metrics."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

WINDOWS = [5, 10, 15, 20]
DELAYS = [0, 1, 3]
DROPPED = (3, 5, 10)  # a configuration left out of the 3-level sweep: its cell has 2 configurations, not 3


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A registry with four runs: the same 2-level MA sweep twice (different names and initial cash), a 3-level
    sweep (signal delay × fast × slow, one configuration dropped) and a single-column run (unnamed column).

    Every `from_signals` call has the argument types of `demo_portfolio`, so that numba compiles the simulation
    once: a new type (a 2-D fee array, an integer `init_cash`, a 1-D close) costs ~15 s of compiling each."""
    import vectorbt as vbt
    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.demo import demo_portfolio, demo_prices

    close = demo_prices(n=150, seed=11)
    reg = RunRegistry(tmp_path_factory.mktemp("plotting") / "registry")
    small = reg.register(demo_portfolio(close, windows=WINDOWS), name="ma_small", tags=["ma", "small"])

    fast, slow = vbt.MA.run_combs(close, window=WINDOWS, r=2, short_names=["fast", "slow"])
    entries, exits = fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)
    big = reg.register(vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, freq="1D", init_cash=10_000.0),
                       name="ma_big", tags=["ma"])

    entries3 = pd.concat({d: entries.shift(d, fill_value=False) for d in DELAYS}, axis=1, names=["delay"])
    exits3 = pd.concat({d: exits.shift(d, fill_value=False) for d in DELAYS}, axis=1, names=["delay"])
    pf3 = vbt.Portfolio.from_signals(close, entries3.drop(columns=[DROPPED]), exits3.drop(columns=[DROPPED]),
                                     fees=0.001, freq="1D")
    fees = reg.register(pf3, name="ma_delay", params={"asset": "demo"})

    mean = close.rolling(5).mean()
    plain = vbt.Portfolio.from_signals(close, pd.DataFrame({"above": close > mean, "below": close < mean}),
                                       pd.DataFrame({"above": close < mean, "below": close > mean}),
                                       fees=0.001, freq="1D")
    single = reg.register(plain["above"], name="ma_small")  # a 1-D portfolio
    return dict(reg=reg, small=small.run_id, big=big.run_id, fees=fees.run_id, single=single.run_id)


def _value(reg, run_id, label):
    pf = reg.load(run_id)
    return (pf if pf.wrapper.ndim == 1 else pf[label]).value()


def _best_labels(reg, run_id, metric, n):
    return list(reg.best(metric, n=n, where=f"run_id == '{run_id}'")["column"])


def _check_curves(fig, reg, run_id, label, i, drawdowns=True, normalize=True):
    """Trace i (and i + 1 with drawdowns) shows the curve of (run_id, label); compare with independent numbers."""
    from vectorbt.portfolio.registry.plotting import label_text

    value = _value(reg, run_id, label)
    record = reg.get(run_id)
    name = f"{record.name} [{run_id[-8:]}] {label_text(label)}"
    v = value.to_numpy(dtype=float)
    eq = fig.data[i]
    assert eq.name == name and eq.mode == "lines"
    assert pd.DatetimeIndex(eq.x).equals(pd.DatetimeIndex(value.index))
    np.testing.assert_allclose(np.asarray(eq.y, dtype=float), v / v[0] if normalize else v, rtol=1e-12)
    if drawdowns:
        dd = fig.data[i + 1]
        assert dd.name == name and dd.showlegend is False and dd.legendgroup == eq.legendgroup
        assert dd.line.color == eq.line.color
        assert (eq.yaxis, dd.yaxis) == ("y", "y2")
        expected = v / np.maximum.accumulate(v) - 1
        np.testing.assert_allclose(np.asarray(dd.y, dtype=float), expected, rtol=1e-12, atol=1e-15)
        assert (expected <= 0).all() and expected.min() < 0


# ############# plot_runs ############# #


def test_plot_runs_default_is_best_config_per_run(world):
    from vectorbt.portfolio.registry.plotting import plot_runs

    reg, small, big = world["reg"], world["small"], world["big"]
    fig = plot_runs(reg, [small, big])
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 4
    for i, run_id in ((0, small), (2, big)):
        (label,) = _best_labels(reg, run_id, "sharpe_ratio", 1)
        assert label == reg.get(run_id).columns[reg.get(run_id).best_position("sharpe_ratio")]
        _check_curves(fig, reg, run_id, label, i)
    # same signals and proportional fees: normalized curves coincide although capital differs 100-fold
    np.testing.assert_allclose(np.asarray(fig.data[0].y), np.asarray(fig.data[2].y), rtol=1e-9)
    assert fig.data[0].line.color != fig.data[2].line.color
    assert fig.layout.yaxis.title.text == "Value (normalized)"
    assert fig.layout.yaxis2.title.text == "Drawdown"
    assert fig.layout.yaxis2.tickformat == ".0%"
    assert fig.layout.xaxis.matches == "x2"  # shared x axis


def test_plot_runs_top_n_ranked_as_best(world):
    from vectorbt.portfolio.registry.plotting import plot_runs

    reg, small, fees = world["reg"], world["small"], world["fees"]
    fig = plot_runs(reg, [small, fees], top=3, metric="total_return")
    assert len(fig.data) == 12
    for k, (run_id, label) in enumerate([(small, lb) for lb in _best_labels(reg, small, "total_return", 3)]
                                        + [(fees, lb) for lb in _best_labels(reg, fees, "total_return", 3)]):
        _check_curves(fig, reg, run_id, label, 2 * k)
    # an ascending metric: the cheapest configurations first
    fig = plot_runs(reg, fees, top=2, metric="total_fees_paid", drawdowns=False)
    labels = _best_labels(reg, fees, "total_fees_paid", 2)
    paid = reg.get(fees).metrics["total_fees_paid"]
    assert paid.loc[labels[0]] == paid.min()
    assert [t.name.split("] ")[1] for t in fig.data] == [f"({', '.join(map(str, lb))})" for lb in labels]
    # top larger than the run: all its configurations
    assert len(plot_runs(reg, [world["single"]], top=5).data) == 2


def test_plot_runs_column_label_dict_and_single(world):
    from vectorbt.portfolio.registry.plotting import plot_runs

    reg, small, big, fees, single = world["reg"], world["small"], world["big"], world["fees"], world["single"]
    fig = plot_runs(reg, [small, big], column=(10, 20))
    assert len(fig.data) == 4 and fig.data[0].name.endswith("(10, 20)")
    _check_curves(fig, reg, small, (10, 20), 0)
    _check_curves(fig, reg, big, (10, 20), 2)

    fig = plot_runs(reg, [fees, small, single], column={fees: (1, 5, 15)}, top=2)
    assert len(fig.data) == 2 * (1 + 2 + 1)
    assert fig.data[0].name == f"ma_delay [{fees[-8:]}] (1, 5, 15)"
    _check_curves(fig, reg, fees, (1, 5, 15), 0)
    for k, label in enumerate(_best_labels(reg, small, "sharpe_ratio", 2)):
        _check_curves(fig, reg, small, label, 2 + 2 * k)
    _check_curves(fig, reg, single, "above", 6)
    assert fig.data[6].name == f"ma_small [{single[-8:]}] above"
    assert len({t.line.color for t in fig.data[::2]}) == 4


def test_plot_runs_options(world):
    from vectorbt.portfolio.registry.plotting import plot_runs

    reg, small, big = world["reg"], world["small"], world["big"]
    fig = plot_runs(reg, [small, big, small], column=(5, 15), normalize=False, drawdowns=False,
                    title="two runs", height=900)
    assert len(fig.data) == 2  # repeated run dropped
    _check_curves(fig, reg, small, (5, 15), 0, drawdowns=False, normalize=False)
    _check_curves(fig, reg, big, (5, 15), 1, drawdowns=False, normalize=False)
    assert fig.data[1].y[0] == 10_000 and fig.data[0].y[0] == 100
    assert fig.layout.yaxis.title.text == "Value"
    assert "yaxis2" not in fig.layout.to_plotly_json()
    assert fig.layout.title.text == "two runs" and fig.layout.height == 900


def test_plot_runs_errors(world):
    from vectorbt.portfolio.registry import RunNotFoundError
    from vectorbt.portfolio.registry.plotting import plot_runs

    reg, small = world["reg"], world["small"]
    with pytest.raises(RunNotFoundError):
        plot_runs(reg, [small, "20200101T000000000000Z-00000000"])
    with pytest.raises(RunNotFoundError):
        plot_runs(reg, ["../../etc"])
    with pytest.raises(KeyError, match=r"\(5, 6\) is not a configuration"):
        plot_runs(reg, [small], column=(5, 6))
    with pytest.raises(ValueError, match="'nope' is not a metric"):
        plot_runs(reg, [small], metric="nope")
    with pytest.raises(ValueError, match="top"):
        plot_runs(reg, [small], top=0)
    with pytest.raises(ValueError, match="column, top"):
        plot_runs(reg, [small], column=(5, 10), top=2)
    with pytest.raises(ValueError, match="not among run_ids"):
        plot_runs(reg, [small], column={world["big"]: (5, 10)})
    with pytest.raises(TypeError, match="run_ids"):
        plot_runs(reg, [])


# ############# heatmap ############# #


def _expected_cells(record, x, y, metric, func):
    """Independent pivot: for each (y value, x value), func over the metric of the configurations in it."""
    metrics = record.metrics[metric]
    params = record.column_params
    xs, ys = sorted(set(params[x])), sorted(set(params[y]))
    z = np.full((len(ys), len(xs)), np.nan)
    counts = np.zeros((len(ys), len(xs)), dtype=int)
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            mask = ((params[x] == xv) & (params[y] == yv)).to_numpy()
            values = metrics.to_numpy(dtype=float)[mask]
            counts[i, j] = mask.sum()
            if mask.any() and not np.isnan(values).all():
                z[i, j] = func(values)
    return xs, ys, z, counts


def test_heatmap_two_levels(world):
    from vectorbt.portfolio.registry.plotting import heatmap

    reg, small = world["reg"], world["small"]
    fig = heatmap(reg, small, x="fast_window", y="slow_window", metric="total_return")
    assert isinstance(fig, go.Figure) and len(fig.data) == 1
    trace = fig.data[0]
    assert trace.type == "heatmap"
    xs, ys, z, counts = _expected_cells(reg.get(small), "fast_window", "slow_window", "total_return", np.nanmax)
    assert list(trace.x) == xs == [5, 10, 15]
    assert list(trace.y) == ys == [10, 15, 20]
    np.testing.assert_array_equal(np.asarray(trace.z, dtype=float), z)
    assert np.isnan(np.asarray(trace.z, dtype=float)[0, 1])  # fast 10, slow 10: not in the sweep, a gap
    assert np.isnan(z).sum() == 3
    np.testing.assert_array_equal(np.asarray(trace.customdata), counts)
    assert fig.layout.xaxis.title.text == "fast_window" and fig.layout.yaxis.title.text == "slow_window"
    assert fig.layout.xaxis.type == "category"
    assert trace.colorbar.title.text == "total_return"
    assert "over" not in trace.hovertemplate  # nothing reduced
    # swapped axes: the transpose
    swapped = heatmap(reg, small, x="slow_window", y="fast_window", metric="total_return", title="t")
    np.testing.assert_array_equal(np.asarray(swapped.data[0].z, dtype=float), z.T)
    assert swapped.layout.title.text == "t"


@pytest.mark.parametrize("reduce, func", [("max", np.nanmax), ("min", np.nanmin), ("mean", np.nanmean),
                                          ("median", np.nanmedian)])
def test_heatmap_reduce_rules(world, reduce, func):
    from vectorbt.portfolio.registry.plotting import heatmap

    reg, fees = world["reg"], world["fees"]
    record = reg.get(fees)
    fig = heatmap(reg, fees, "fast_window", "slow_window", metric="sharpe_ratio", reduce=reduce)
    xs, ys, z, counts = _expected_cells(record, "fast_window", "slow_window", "sharpe_ratio", func)
    trace = fig.data[0]
    assert list(trace.x) == xs and list(trace.y) == ys
    np.testing.assert_allclose(np.asarray(trace.z, dtype=float), z, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(trace.customdata), counts)
    assert counts[0, 0] == 2 and counts.max() == 3  # (5, 10) lost its delay=3 configuration
    assert f"{reduce} over %{{customdata}} configurations (delay)" in trace.hovertemplate


def test_heatmap_best_follows_metric_order(world):
    from vectorbt.portfolio.registry.plotting import heatmap

    reg, fees = world["reg"], world["fees"]
    record = reg.get(fees)
    # sharpe_ratio ranks descending: best is max
    best = heatmap(reg, fees, "fast_window", "slow_window").data[0]
    np.testing.assert_array_equal(np.asarray(best.z, dtype=float),
                                  _expected_cells(record, "fast_window", "slow_window", "sharpe_ratio", np.nanmax)[2])
    # total_fees_paid ranks ascending: best is min, which differs from max here
    best = np.asarray(heatmap(reg, fees, "fast_window", "slow_window", metric="total_fees_paid").data[0].z, float)
    lowest = _expected_cells(record, "fast_window", "slow_window", "total_fees_paid", np.nanmin)[2]
    highest = _expected_cells(record, "fast_window", "slow_window", "total_fees_paid", np.nanmax)[2]
    np.testing.assert_array_equal(best, lowest)
    present = ~np.isnan(best)
    assert (best[present] <= highest[present]).all() and (best[present] < highest[present]).any()
    # the outer level on an axis, reducing over slow_window
    fig = heatmap(reg, fees, x="delay", y="fast_window", metric="total_return", reduce="mean")
    xs, ys, z, counts = _expected_cells(record, "delay", "fast_window", "total_return", np.nanmean)
    assert list(fig.data[0].x) == xs == DELAYS and list(fig.data[0].y) == ys == [5, 10, 15]
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), z, rtol=1e-12)
    assert fig.layout.xaxis.title.text == "delay" and fig.data[0].colorbar.title.text == "total_return"


def test_heatmap_errors(world):
    from vectorbt.portfolio.registry import RunNotFoundError
    from vectorbt.portfolio.registry.plotting import heatmap

    reg, fees = world["reg"], world["fees"]
    with pytest.raises(ValueError, match=r"'nope' is not a per-conf.*available: delay, fast_window, slow_window"):
        heatmap(reg, fees, "nope", "slow_window")
    with pytest.raises(ValueError, match=r"'asset', 'bar' are not per-configuration"):  # run params are constant
        heatmap(reg, fees, "asset", "bar")
    with pytest.raises(ValueError, match="both are 'delay'"):
        heatmap(reg, fees, "delay", "delay")
    with pytest.raises(ValueError, match="reduce: 'sum'"):
        heatmap(reg, fees, "delay", "fast_window", reduce="sum")
    with pytest.raises(ValueError, match="'nope' is not a metric"):
        heatmap(reg, fees, "delay", "fast_window", metric="nope")
    with pytest.raises(ValueError, match="available: none"):
        heatmap(reg, world["single"], "fast_window", "slow_window")
    with pytest.raises(RunNotFoundError):
        heatmap(reg, "20200101T000000000000Z-00000000", "fast_window", "slow_window")


# ############# plot_metrics ############# #


def _points(trace):
    """(run_id, label text) -> (x, y, customdata row) of each point of a trace."""
    return {(c[0], c[2]): (x, y, list(c)) for x, y, c in zip(trace.x, trace.y, trace.customdata)}


def test_plot_metrics_one_trace_per_run(world):
    from vectorbt.portfolio.registry.plotting import label_text, plot_metrics

    reg = world["reg"]
    fig = plot_metrics(reg)
    run_ids = sorted(world[k] for k in ("small", "big", "fees", "single"))
    assert [t.name for t in fig.data] == [f"{reg.get(r).name} [{r[-8:]}]" for r in run_ids]
    for trace, run_id in zip(fig.data, run_ids):
        record = reg.get(run_id)
        assert trace.mode == "markers"
        points = _points(trace)
        assert sorted(points) == sorted((run_id, label_text(c)) for c in record.columns)
        for i, label in enumerate(record.columns):
            x, y, custom = points[(run_id, label_text(label))]
            np.testing.assert_equal([x, y], [record.metrics["max_drawdown"].iloc[i],
                                             record.metrics["total_return"].iloc[i]])
            assert custom[1] == record.name
        ys = np.asarray(trace.y, dtype=float)
        assert (np.diff(ys[~np.isnan(ys)]) <= 0).all()  # ranked by y, the better first
    assert fig.layout.xaxis.title.text == "max_drawdown" and fig.layout.yaxis.title.text == "total_return"
    assert fig.layout.xaxis.tickformat == ".1%" and fig.layout.yaxis.tickformat == ".1%"
    # hover: run id, name, configuration label and params
    fees = world["fees"]
    trace = fig.data[run_ids.index(fees)]
    assert len(trace.x) == 3 * 6 - 1
    assert _points(trace)[(fees, "(1, 5, 15)")][2] == [
        fees, "ma_delay", "(1, 5, 15)", "asset=demo, delay=1, fast_window=5, slow_window=15"]
    for part in ("customdata[0]", "customdata[1]", "customdata[2]", "customdata[3]", "max_drawdown: %{x}"):
        assert part in trace.hovertemplate
    assert _points(fig.data[run_ids.index(world["single"])])[(world["single"], "above")][2][3] == ""


def test_plot_metrics_color_by_name_and_filters(world):
    from vectorbt.portfolio.registry.plotting import plot_metrics

    reg = world["reg"]
    fig = plot_metrics(reg, x="sharpe_ratio", y="max_drawdown_duration", color="name", width=500)
    assert [t.name for t in fig.data] == ["ma_big", "ma_delay", "ma_small"]
    assert [len(t.x) for t in fig.data] == [6, 17, 6 + 1]
    assert {c[0] for c in fig.data[2].customdata} == {world["small"], world["single"]}
    assert fig.layout.xaxis.tickformat is None and fig.layout.width == 500
    ys = np.asarray(fig.data[1].y, dtype=float)
    assert (np.diff(ys[~np.isnan(ys)]) >= 0).all()  # an ascending metric: the smaller first

    fig = plot_metrics(reg, name="ma_delay", where="delay == 0", x="total_return", y="sharpe_ratio")
    assert len(fig.data) == 1 and len(fig.data[0].x) == 6
    assert all("delay=0," in c[3] for c in fig.data[0].customdata)
    expected = reg.best("sharpe_ratio", n=None, name="ma_delay", where="delay == 0")
    np.testing.assert_array_equal(np.asarray(fig.data[0].y, dtype=float), expected["sharpe_ratio"].to_numpy(float))
    np.testing.assert_array_equal(np.asarray(fig.data[0].x, dtype=float), expected["total_return"].to_numpy(float))

    assert [t.name.split(" ")[0] for t in plot_metrics(reg, tags=["small"]).data] == ["ma_small"]
    top = plot_metrics(reg, y="total_return", n=5)
    assert sum(len(t.x) for t in top.data) == 5
    best5 = reg.best("total_return", n=5)
    assert sorted(c[0] + str(c[2]) for t in top.data for c in t.customdata) == sorted(
        r + ("(" + ", ".join(map(str, c)) + ")" if isinstance(c, tuple) else str(c))
        for r, c in zip(best5["run_id"], best5["column"]))

    empty = plot_metrics(reg, name="nothing")
    assert len(empty.data) == 0 and empty.layout.xaxis.title.text == "max_drawdown"


def test_plot_metrics_axes_in_percent_for_fractions_only(world):
    from vectorbt.portfolio.registry.plotting import FRACTION_METRICS, plot_metrics
    from vectorbt.portfolio.registry.spec import METRICS

    assert FRACTION_METRICS == tuple(m.name for m in METRICS if m.unit == "fraction")
    for m in METRICS:
        fig = plot_metrics(world["reg"], x=m.name, y="sharpe_ratio", n=3)
        assert fig.layout.xaxis.tickformat == (".1%" if m.unit == "fraction" else None), m.name
        assert fig.layout.yaxis.tickformat is None


def test_plot_metrics_errors(world):
    from vectorbt.portfolio.registry.plotting import plot_metrics

    reg = world["reg"]
    with pytest.raises(ValueError, match="x: 'nope' is not a metric"):
        plot_metrics(reg, x="nope")
    with pytest.raises(ValueError, match="y: 'delay' is not a metric"):
        plot_metrics(reg, y="delay")
    with pytest.raises(ValueError, match="color: 'tag'"):
        plot_metrics(reg, color="tag")
    with pytest.raises(ValueError, match="where"):
        plot_metrics(reg, where="no_such_column > 1")
