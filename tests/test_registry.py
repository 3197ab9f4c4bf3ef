"""The public API of `RunRegistry`: register, get, load, list, best, compare, update, delete, collection protocol."""

import math
import os

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from vectorbt.portfolio.registry import (
    METRIC_NAMES,
    FileStore,
    ReadOnlyError,
    RunNotFoundError,
    RunRecord,
    RunRegistry,
)
from vectorbt.portfolio.registry.run import LIST_METRIC, is_run_id


def files_of(path):
    """Every file below `path` with its size and mtime: to prove that nothing changed."""
    out = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            st = os.stat(full)
            out[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns)
    return out


# ############# register / get ############# #


def test_register_sweep_keeps_everything(reg, sweep_pf):
    rec = reg.register(sweep_pf, name="ma_cross", params={"fee": 0.001, "asset": "X"}, tags=["btc", "1d"],
                       notes="first try")
    assert isinstance(rec, RunRecord) and is_run_id(rec.run_id)
    assert rec.name == "ma_cross" and rec.tags == ["btc", "1d"] and rec.notes == "first try"
    assert rec.params == {"fee": 0.001, "asset": "X"}
    assert rec.created_at.tzinfo is not None and rec.created_at.utcoffset().total_seconds() == 0
    assert rec.n_columns == 6
    assert rec.column_names == ["fast_window", "slow_window"]
    assert [tuple(c) for c in rec.columns] == list(sweep_pf.wrapper.columns)
    assert list(rec.metrics.columns) == list(METRIC_NAMES)
    np.testing.assert_allclose(rec.metrics["total_return"].to_numpy(), sweep_pf.total_return().to_numpy())
    np.testing.assert_allclose(rec.metrics["max_drawdown"].to_numpy(), sweep_pf.max_drawdown().to_numpy())
    assert rec.settings["freq"] is not None and "year_freq" in rec.settings
    assert set(rec.versions) == {"python", "vectorbt", "numpy", "pandas", "numba"}
    assert len(rec.data_fingerprint) == 64
    info = rec.files["portfolio.pkl"]
    assert info["size"] > 0 and len(info["sha256"]) == 64
    params = rec.column_params
    assert list(params.columns) == ["fee", "asset", "fast_window", "slow_window"]
    assert params["fast_window"].tolist() == [c[0] for c in sweep_pf.wrapper.columns]

    got = reg.get(rec.run_id)
    assert got.to_dict() == rec.to_dict()
    pd.testing.assert_frame_equal(got.metrics, rec.metrics)


def test_data_fingerprint_identifies_prices(reg, sweep_pf, single_pf, close):
    a = reg.register(sweep_pf, name="a")
    b = reg.register(single_pf, name="b")
    assert a.data_fingerprint == b.data_fingerprint  # same prices, broadcast or not
    other = vbt.Portfolio.from_holding(close * 1.01, freq="1D")
    assert reg.register(other, name="c").data_fingerprint != a.data_fingerprint


@pytest.mark.parametrize("change", [None, "last_row", "nan_in_one", "nan_in_all", "first_column"])
def test_data_fingerprint_tells_one_asset_from_several(reg, close, change):
    from vectorbt.portfolio.registry.provenance import data_fingerprint

    prices = pd.concat([close] * 3, axis=1, keys=["a", "b", "c"])
    if change == "last_row":
        prices.iloc[-1, 2] += 1e-9
    elif change == "nan_in_one":
        prices.iloc[5, 1] = np.nan
    elif change == "nan_in_all":
        prices.iloc[5, :] = np.nan  # still one asset: NaN equals NaN
    elif change == "first_column":
        prices.iloc[0, 0] *= 2
    one_asset = change in (None, "nan_in_all")
    pf = vbt.Portfolio.from_holding(prices, freq="1D")
    single = vbt.Portfolio.from_holding(prices["a"], freq="1D")
    assert (data_fingerprint(pf) == data_fingerprint(single)) is one_asset


def test_register_single_and_grouped(reg, single_pf, grouped_pf):
    one = reg.register(single_pf, name="single")
    assert one.n_columns == 1 and not one.grouped
    assert one.metrics["total_return"].iloc[0] == pytest.approx(single_pf.total_return())

    grp = reg.register(grouped_pf, name="grouped")
    assert grp.grouped and grp.n_columns == 2 and grp.columns == ["g1", "g2"]
    assert grp.column_names == ["group"]
    stats = grouped_pf.stats(agg_func=None)
    np.testing.assert_allclose(grp.metrics["total_return"].to_numpy(),
                               stats["Total Return [%]"].to_numpy() / 100, rtol=1e-9)
    assert grp.column_params["group"].tolist() == ["g1", "g2"]


def test_get_unknown_and_malformed_ids(reg, single_pf):
    reg.register(single_pf, name="x")
    for bad in ["20200101T000000000000Z-00000000", "../x", "", None, 5, "a/b", "x" * 5000]:
        with pytest.raises(RunNotFoundError) as info:
            reg.get(bad)
        assert isinstance(info.value, KeyError)
        assert bad not in reg
    with pytest.raises(RunNotFoundError):
        reg.load("../../etc/passwd")


# ############# load ############# #


def test_load_equals_original(reg, sweep_pf):
    rec = reg.register(sweep_pf, name="ma")
    pf = reg.load(rec.run_id)
    assert isinstance(pf, vbt.Portfolio)
    pd.testing.assert_series_equal(pf.total_return(), sweep_pf.total_return())
    np.testing.assert_array_equal(pf.orders.values, sweep_pf.orders.values)
    np.testing.assert_array_equal(pf.trades.values, sweep_pf.trades.values)


def test_load_one_column(reg, sweep_pf):
    rec = reg.register(sweep_pf, name="ma")
    for label in [(3, 5), [8, 13]]:
        part = reg.load(rec.run_id, column=label)
        expected = sweep_pf[tuple(label)]
        assert part.wrapper.ndim == 1
        assert part.total_return() == pytest.approx(expected.total_return(), rel=1e-12)
        np.testing.assert_array_equal(part.orders.values, expected.orders.values)
    with pytest.raises(KeyError, match="column"):
        reg.load(rec.run_id, column=(99, 100))


def test_load_group_and_single(reg, grouped_pf, single_pf):
    rec = reg.register(grouped_pf, name="g")
    part = reg.load(rec.run_id, column="g2")
    assert part.total_return() == pytest.approx(grouped_pf["g2"].total_return(), rel=1e-12)
    one = reg.register(single_pf, name="s")
    assert reg.load(one.run_id, column=one.columns[0]).total_return() == pytest.approx(single_pf.total_return())


# ############# list ############# #


@pytest.fixture
def three_runs(reg, sweep_pf, single_pf, grouped_pf):
    a = reg.register(sweep_pf, name="ma_cross", params={"fee": 0.001}, tags=["btc", "1d"])
    b = reg.register(single_pf, name="sma5", params={"fast": 5, "slow": 20}, tags=["btc"])
    c = reg.register(grouped_pf, name="basket", params={"fast": 4}, tags=["eth", "1d"], notes="groups")
    return a, b, c


def test_list_columns_and_order(reg, three_runs):
    a, b, c = three_runs
    table = reg.list()
    assert list(table.index) == [c.run_id, b.run_id, a.run_id]  # newest first
    assert table.index.name == "run_id"
    for col in ["name", "created_at", "tags", "notes", "status", "parent", "n_columns", "column"]:
        assert col in table.columns
    assert "deleted_at" not in table.columns
    assert set(METRIC_NAMES) <= set(table.columns)
    assert {"fee", "fast", "slow", "fast_window", "slow_window", "group"} <= set(table.columns)
    assert table.loc[b.run_id, "fast"] == 5 and table.loc[c.run_id, "notes"] == "groups"
    assert table.loc[a.run_id, "tags"] == ("btc", "1d")
    assert str(table["created_at"].dtype).startswith("datetime64") and table["created_at"].dt.tz is not None
    assert list(reg.list(ascending=True).index) == [a.run_id, b.run_id, c.run_id]


def test_list_sweep_row_is_best_configuration(reg, three_runs, sweep_pf):
    a = three_runs[0]
    row = reg.list().loc[a.run_id]
    sharpe = sweep_pf.sharpe_ratio()
    best_label = sharpe.idxmax()
    assert LIST_METRIC == "sharpe_ratio"
    assert row["column"] == best_label
    assert (row["fast_window"], row["slow_window"]) == best_label
    assert row["sharpe_ratio"] == pytest.approx(sharpe.max(), rel=1e-9)
    assert row["n_columns"] == 6


def test_list_filters(reg, three_runs):
    a, b, c = three_runs
    assert set(reg.list(name="sma5").index) == {b.run_id}
    assert set(reg.list(name=["sma5", "basket"]).index) == {b.run_id, c.run_id}
    assert set(reg.list(tags=["btc"]).index) == {a.run_id, b.run_id}
    assert set(reg.list(tags=["btc", "1d"]).index) == {a.run_id}
    assert set(reg.list(tags="eth").index) == {c.run_id}
    assert set(reg.list(where="fast < 5").index) == {c.run_id}
    assert set(reg.list(where="fee > 0 and n_columns == 6").index) == {a.run_id}
    assert reg.list(name="nothing").empty
    narrowed = reg.list(name="sma5")
    assert "fast_window" not in narrowed.columns and "fee" not in narrowed.columns  # no empty param columns


def test_list_sort_and_limit(reg, three_runs):
    table = reg.list(sort_by="total_return")
    values = table["total_return"].to_numpy()
    assert np.all(values[:-1] >= values[1:])
    asc = reg.list(sort_by="total_return", ascending=True, limit=2)
    assert len(asc) == 2 and asc["total_return"].iloc[0] == values.min()
    assert reg.list(limit=0).empty


def test_list_sort_puts_nan_last(reg, close, single_pf):
    no_trades = vbt.Portfolio.from_signals(close, close < 0, close < 0, freq="1D")
    empty = reg.register(no_trades, name="flat")
    reg.register(single_pf, name="s")
    for ascending in (True, False):
        assert reg.list(sort_by="win_rate", ascending=ascending).index[-1] == empty.run_id


def test_list_bad_queries(reg, three_runs):
    with pytest.raises(ValueError, match="where"):
        reg.list(where="no_such_column > 1")
    with pytest.raises(ValueError, match="where"):
        reg.list(where="fast <")
    with pytest.raises(ValueError, match="sort_by"):
        reg.list(sort_by="nope")
    with pytest.raises(ValueError, match="limit"):
        reg.list(limit=-1)
    with pytest.raises(TypeError, match="tags"):
        reg.list(tags=[1])


def test_list_empty_registry(reg):
    table = reg.list()
    assert table.empty and set(METRIC_NAMES) <= set(table.columns)
    assert len(reg) == 0 and list(reg) == []
    assert reg.best().empty


# ############# best ############# #


def test_best_ranks_configurations_across_runs(reg, sweep_pf, grouped_pf):
    a = reg.register(sweep_pf, name="ma", params={"fee": 0.001})
    b = reg.register(grouped_pf, name="basket")
    top = reg.best("total_return", n=None)
    assert len(top) == 8
    assert list(top.columns[:2]) == ["run_id", "column"]
    values = top["total_return"].to_numpy()
    assert np.all(values[:-1] >= values[1:])
    expected = sorted(list(sweep_pf.total_return().to_numpy()) + list(grouped_pf.total_return().to_numpy()),
                      reverse=True)
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    row = top[top["run_id"] == a.run_id].iloc[0]
    assert row["fee"] == 0.001 and row["name"] == "ma"
    assert row["column"] == (row["fast_window"], row["slow_window"])
    assert reg.load(row["run_id"], column=row["column"]).total_return() == pytest.approx(row["total_return"])
    assert set(top[top["run_id"] == b.run_id]["column"]) == {"g1", "g2"}
    assert len(reg.best("total_return", n=3)) == 3


def test_best_keeps_a_bounded_cache_of_configurations(reg, sweep_pf, single_pf):
    runs = [reg.register(sweep_pf, name="ma", params={"i": i}).run_id for i in range(3)]  # 6 configurations each
    one = reg.register(single_pf, name="one").run_id
    expected = reg.best("total_return", n=None)  # unbounded: every run cached
    assert set(reg._config_cache) == {*runs, one} and reg._config_cache.n_configs == 19

    bounded = type(reg)(reg.store)
    bounded.config_cache_size = 13
    pd.testing.assert_frame_equal(bounded.best("total_return", n=None), expected)
    assert bounded._config_cache.n_configs <= 13
    assert list(bounded._config_cache) == [runs[1], runs[2], one]  # the most recently read runs stay
    bounded.config_cache_size = 2  # smaller than one run: the run just read is kept alone
    pd.testing.assert_frame_equal(bounded.best("total_return", n=None), expected)
    assert list(bounded._config_cache) == [one] and bounded._config_cache.n_configs == 1
    bounded.delete(one)
    assert not bounded._config_cache and bounded._config_cache.n_configs == 0


def test_best_default_directions(reg, sweep_pf):
    reg.register(sweep_pf, name="ma")
    dd = reg.best("max_drawdown", n=None)["max_drawdown"].dropna().to_numpy()
    assert np.all(dd <= 0) and np.all(dd[:-1] >= dd[1:])  # closest to zero first
    for metric in ("max_drawdown_duration", "total_fees_paid"):
        values = reg.best(metric, n=None)[metric].dropna().to_numpy()
        assert np.all(values[:-1] <= values[1:])
    values = reg.best("total_fees_paid", n=None, ascending=False)["total_fees_paid"].to_numpy()
    assert np.all(values[:-1] >= values[1:])


def test_best_filters(reg, sweep_pf, single_pf):
    a = reg.register(sweep_pf, name="ma", tags=["x"])
    reg.register(single_pf, name="s", tags=["y"])
    assert set(reg.best(n=None, tags=["x"])["run_id"]) == {a.run_id}
    assert set(reg.best(n=None, name="ma")["run_id"]) == {a.run_id}
    fast3 = reg.best("total_return", n=None, where="fast_window == 3")
    assert len(fast3) == 3 and set(fast3["fast_window"]) == {3}
    with pytest.raises(ValueError, match="metric"):
        reg.best("sharpe")


# ############# compare ############# #


def test_compare_side_by_side(reg, three_runs):
    a, b, c = three_runs
    side = reg.compare([b.run_id, a.run_id])
    assert list(side.columns) == [b.run_id, a.run_id]
    assert side.loc["name", b.run_id] == "sma5" and side.loc["name", a.run_id] == "ma_cross"
    assert side.loc["fast", b.run_id] == 5
    assert side.loc["total_return", b.run_id] == pytest.approx(b.metrics["total_return"].iloc[0])
    assert side.loc["data_fingerprint", a.run_id] == a.data_fingerprint
    assert side.loc["settings.freq", a.run_id] == a.settings["freq"]
    assert "versions.vectorbt" in side.index
    with pytest.raises(RunNotFoundError):
        reg.compare([a.run_id, "20200101T000000000000Z-00000000"])
    with pytest.raises(TypeError):
        reg.compare(a.run_id)


# ############# update / delete ############# #


def test_update(reg, single_pf):
    rec = reg.register(single_pf, name="s", tags=["a"], notes="n")
    new = reg.update(rec.run_id, name="s2", tags=["b", "c"], notes="better")
    assert (new.name, new.tags, new.notes) == ("s2", ["b", "c"], "better")
    assert new.updated_at is not None
    got = reg.get(rec.run_id)
    assert (got.name, got.tags, got.notes) == ("s2", ["b", "c"], "better")
    assert got.created_at == rec.created_at and got.params == rec.params
    row = reg.list().loc[rec.run_id]
    assert row["name"] == "s2" and row["tags"] == ("b", "c")
    reg.update(rec.run_id, add_tags=["d", "b"], remove_tags=["c"])
    assert reg.get(rec.run_id).tags == ["b", "d"]
    reg.update(rec.run_id, status="candidate")
    assert reg.list(status="candidate").index.tolist() == [rec.run_id]
    with pytest.raises(ValueError, match="name"):
        reg.update(rec.run_id, name="  ")
    with pytest.raises(RunNotFoundError):
        reg.update("20200101T000000000000Z-00000000", notes="x")
    assert reg.get(rec.run_id).name == "s2"


def test_delete_restore_gc(reg, sweep_pf, single_pf):
    a = reg.register(sweep_pf, name="a")
    b = reg.register(single_pf, name="b")
    reg.delete(a.run_id)
    assert a.run_id not in reg and len(reg) == 1 and list(reg) == [b.run_id]
    for call in (reg.get, reg.load):
        with pytest.raises(RunNotFoundError, match="trash"):
            call(a.run_id)
    assert a.run_id not in reg.list().index
    assert set(reg.best(n=None)["run_id"]) == {b.run_id}
    with pytest.warns(UserWarning, match="trash"):
        assert list(reg.compare([a.run_id, b.run_id]).columns) == [b.run_id]
    with pytest.raises(RunNotFoundError), pytest.warns(UserWarning):
        reg.compare([a.run_id])
    trash = reg.list(deleted=True)
    assert trash.index.tolist() == [a.run_id] and trash["deleted_at"].notna().all()

    reg.restore(a.run_id)
    assert a.run_id in reg and len(reg) == 2
    assert reg.get(a.run_id).deleted_at is None
    assert reg.load(a.run_id).total_return().equals(sweep_pf.total_return())

    reg.delete(a.run_id)
    assert reg.gc(older_than="1d") == []
    assert reg.gc() == [a.run_id]
    assert reg.list(deleted=True).empty
    with pytest.raises(RunNotFoundError):
        reg.restore(a.run_id)
    reg.delete(b.run_id, purge=True)
    assert len(reg) == 0 and reg.list(deleted=True).empty
    with pytest.raises(RunNotFoundError):
        reg.delete(b.run_id)


# ############# bad input ############# #


@pytest.mark.parametrize(
    "kwargs, error, field",
    [
        (dict(pf="not a portfolio"), TypeError, "pf"),
        (dict(name=""), ValueError, "name"),
        (dict(name="   "), ValueError, "name"),
        (dict(name=3), TypeError, "name"),
        (dict(tags=[""]), ValueError, r"tags\[0\]"),
        (dict(tags=["ok", 5]), TypeError, r"tags\[1\]"),
        (dict(tags=5), TypeError, "tags"),
        (dict(notes=None), TypeError, "notes"),
        (dict(params=[1, 2]), TypeError, "params"),
        (dict(params={"f": object()}), TypeError, r"params\['f'\]"),
        (dict(params={"f": {"deep": [1, {2, 3}]}}), TypeError, r"params\['f'\]\['deep'\]\[1\]"),
        (dict(params={1: 2}), TypeError, "params"),
        (dict(params={"sharpe_ratio": 1}), ValueError, "sharpe_ratio"),
        (dict(params={"name": 1}), ValueError, "run field"),
        (dict(params={"fast_window": 1}), ValueError, "fast_window"),
        (dict(parent="20200101T000000000000Z-00000000"), RunNotFoundError, "parent"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(reg, sweep_pf, kwargs, error, field):
    reg.register(sweep_pf, name="keep")
    before = files_of(reg.store.root)
    args = dict(pf=sweep_pf, name="x")
    args.update(kwargs)
    with pytest.raises(error, match=field):
        reg.register(args.pop("pf"), **args)
    assert files_of(reg.store.root) == before
    assert len(reg) == 1


def test_faithful_params(reg, single_pf):
    params = {
        "n": np.int64(5),
        "f": np.float32(0.5),
        "b": np.bool_(True),
        "t": (1, (2, 3)),
        "when": pd.Timestamp("2024-01-02 03:04:05", tz="UTC"),
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": -math.inf,
        "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
        "nested": {"a": [1, {"b": None}], 2: "int key"},
    }
    rec = reg.register(single_pf, name="p", params=params)
    raw = open(os.path.join(reg.store.root, "runs", rec.run_id, "run.json"), encoding="ascii").read()
    assert "NaN" not in raw and "Infinity" not in raw
    got = RunRegistry(reg.store.root).get(rec.run_id).params
    assert type(got["n"]) is np.int64 and got["n"] == 5
    assert type(got["f"]) is np.float32 and type(got["b"]) is np.bool_
    assert got["t"] == (1, (2, 3)) and type(got["t"][1]) is tuple
    assert got["when"] == params["when"] and str(got["when"].tz) == "UTC"
    assert math.isnan(got["nan"]) and got["inf"] == math.inf and got["ninf"] == -math.inf
    assert got["arr"].dtype == np.int32 and np.array_equal(got["arr"], params["arr"])
    assert got["nested"] == {"a": [1, {"b": None}], 2: "int key"}


# ############# collection protocol, stores, pf.register ############# #


def test_len_contains_iter(reg, single_pf):
    ids = [reg.register(single_pf, name=f"r{i}").run_id for i in range(3)]
    assert len(reg) == 3 and list(reg) == sorted(ids) == ids
    assert all(i in reg for i in ids) and "nope" not in reg and None not in reg


def test_registry_from_store_and_path_share_data(tmp_path, single_pf):
    store = FileStore(tmp_path / "r")
    a = RunRegistry(store)
    rec = a.register(single_pf, name="s")
    b = RunRegistry(str(tmp_path / "r"))
    assert rec.run_id in b and b.list().index.tolist() == [rec.run_id]
    with pytest.raises(TypeError, match="store"):
        RunRegistry(42)


def test_read_only_registry(tmp_path, single_pf):
    RunRegistry(tmp_path / "r").register(single_pf, name="s")
    ro = RunRegistry(tmp_path / "r", read_only=True)
    assert ro.read_only and len(ro) == 1
    rid = ro.list().index[0]
    assert ro.load(rid).total_return() == pytest.approx(single_pf.total_return())
    with pytest.raises(ReadOnlyError, match="read-only"):
        ro.register(single_pf, name="t")
    with pytest.raises(ReadOnlyError):
        ro.update(rid, notes="x")
    with pytest.raises(ReadOnlyError):
        ro.delete(rid)


def test_portfolio_register(tmp_path, single_pf, monkeypatch):
    reg = RunRegistry(tmp_path / "explicit")
    rec = single_pf.register(name="via_pf", params={"w": 5}, tags=["t"], registry=reg)
    assert reg.get(rec.run_id).params == {"w": 5}
    monkeypatch.setenv("VBT_REGISTRY_DIR", str(tmp_path / "default"))
    rec2 = single_pf.register(name="default_one")
    assert rec2.run_id in RunRegistry()
    assert RunRegistry().store.root == str(tmp_path / "default")
    rec3 = single_pf.register(name="by_path", registry=str(tmp_path / "other"))
    assert rec3.run_id in RunRegistry(tmp_path / "other")


def test_returned_records_are_copies(reg, single_pf):
    rec = reg.register(single_pf, name="s", params={"a": [1]}, tags=["x"])
    rec.tags.append("y")
    rec.params["a"].append(2)
    rec.metrics.iloc[0, 0] = -1.0
    got = reg.get(rec.run_id)
    assert got.tags == ["x"] and got.params == {"a": [1]} and got.metrics.iloc[0, 0] != -1.0


def test_list_and_compare_keep_a_parameter_that_is_nan_on_every_listed_run(reg, single_pf):
    a = reg.register(single_pf, name="a", params={"stop": float("nan"), "fee": 0.001})
    b = reg.register(single_pf, name="b", params={"stop": float("nan")})
    reg.register(single_pf, name="c", params={"other": 1})
    listed = reg.list(name=["a", "b"])
    assert "stop" in listed.columns and listed["stop"].isna().all()  # NaN on every row, but a parameter
    assert "fee" in listed.columns and "other" not in listed.columns  # absent from these runs: dropped
    assert "stop" not in reg.list(name="c").columns
    assert "stop" in reg.list(where="name != 'c'", limit=1).columns
    side = reg.compare([a.run_id, b.run_id])
    assert "stop" in side.index and "other" not in side.index
    reg.delete(b.run_id)
    assert "stop" in reg.list(deleted=True).columns
