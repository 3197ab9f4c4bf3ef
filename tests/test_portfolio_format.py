"""The portfolio container (`portfolio_format`, `portfolio_container`) and the restricted unpickler
(`safe_pickle`): what comes back equals what went in, one configuration loads alone from a few byte ranges,
planted pickles are refused before anything runs, and damaged containers raise `IntegrityError`."""

import datetime
import io
import pickle
import struct
import sys
import zoneinfo

import numpy as np
import pandas as pd
import pytest
import pytz
import vectorbt as vbt
from numba import njit
from vectorbt.portfolio import nb as pf_nb

from vectorbt.portfolio.registry.errors import IntegrityError, SchemaVersionError
from vectorbt.portfolio.registry.portfolio_container import MAGIC, Buffers, assemble
from vectorbt.portfolio.registry.portfolio_format import (
    FORMAT_VERSION,
    check_loadable,
    dump_checked,
    dump_portfolio,
    file_reader,
    load_portfolio,
)
from vectorbt.portfolio.registry.safe_pickle import SAFE_GLOBALS, UnsafeGlobalError, safe_dumps, safe_loads


class MyPortfolio(vbt.Portfolio):
    """A user's subclass: its class is not in the allow-list."""

    def my_metric(self):
        return self.total_return() * 2


@njit
def order_func_nb(c, size):
    return pf_nb.order_nb(size=size[c.i, c.col], price=c.close[c.i, c.col], fees=0.001)


class CountingReader:
    """A reader over bytes that counts what it was asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.asked = 0
        self.calls = 0

    def __call__(self, offset: int, length: int) -> bytes:
        self.asked += length
        self.calls += 1
        return self.data[offset : offset + length]


def prices(n_rows=120, n_cols=4, seed=3, index=None):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-01", periods=n_rows, freq="D", name="date") if index is None else index
    values = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_rows, n_cols)), axis=0))
    return pd.DataFrame(values, index=index, columns=pd.Index([f"a{i}" for i in range(n_cols)], name="asset"))


def ma_signals(close, window=4):
    return close > close.rolling(window).mean(), close < close.rolling(window).mean()


def orders_size(close, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.choice([-1.0, 0.0, 0.0, 1.0], size=close.shape), index=close.index, columns=close.columns)


# ############# Portfolios of every kind ############# #


def _from_signals():
    close = prices()
    return vbt.Portfolio.from_signals(close, *ma_signals(close), fees=0.001, freq="1D")


def _from_orders():
    close = prices()
    return vbt.Portfolio.from_orders(close, orders_size(close), fees=0.002, freq="1D")


def _from_order_func():
    close = prices()
    return vbt.Portfolio.from_order_func(close, order_func_nb, orders_size(close).values, freq="1D")


def _from_holding():
    return vbt.Portfolio.from_holding(prices(), freq="1D")


def _grouped_cash_sharing():
    close = prices()
    return vbt.Portfolio.from_orders(close, orders_size(close), group_by=[0, 0, 1, 1], cash_sharing=True,
                                     call_seq="auto", attach_call_seq=True, init_cash=500.0, freq="1D")


def _grouped_without_cash_sharing():
    close = prices()
    return vbt.Portfolio.from_signals(close, *ma_signals(close), group_by=pd.Index(["x", "x", "y", "y"], name="g"),
                                      freq="1D")


def _nan_gaps():
    close = prices()
    close.iloc[10:20, 1] = np.nan
    close.iloc[50, :] = np.nan
    close.iloc[:5, 3] = np.nan
    return vbt.Portfolio.from_orders(close, orders_size(close), fees=0.001, freq="1D")


def _multiindex_columns():
    close = prices(n_cols=1).iloc[:, 0]
    fast, slow = vbt.MA.run_combs(close, window=[3, 5, 8, 13], r=2, short_names=["fast", "slow"])
    return vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), freq="1D")


def _tz_aware():
    index = pd.date_range("2021-03-20", periods=120, freq="h", tz=zoneinfo.ZoneInfo("Europe/Berlin"), name="t")
    close = prices(index=index)
    return vbt.Portfolio.from_signals(close, *ma_signals(close), freq="1h")


def _tz_pytz():
    index = pd.date_range("2021-03-20", periods=120, freq="D", tz=pytz.timezone("US/Eastern"))
    close = prices(index=index)
    return vbt.Portfolio.from_orders(close, orders_size(close), freq="1D")


def _series():
    close = prices(n_cols=1).iloc[:, 0].rename("close")
    return vbt.Portfolio.from_signals(close, *ma_signals(close), fees=0.001, freq="1D")


def _with_logs():
    close = prices()
    return vbt.Portfolio.from_orders(close, orders_size(close), log=True, freq="1D")


def _init_cash_auto():
    close = prices()
    return vbt.Portfolio.from_orders(close, orders_size(close), init_cash="auto", freq="1D")


def _init_cash_autoalign():
    close = prices()
    return vbt.Portfolio.from_orders(close, orders_size(close), init_cash="autoalign", group_by=[0, 0, 1, 1],
                                     cash_sharing=True, freq="1D")


def _integer_columns_no_freq():
    close = prices()
    close.columns = pd.RangeIndex(4)
    close.index = pd.RangeIndex(len(close))
    return vbt.Portfolio.from_orders(close, orders_size(close), trades_type="entrytrades", fillna_close=False)


def _no_orders():
    close = prices()
    no = pd.DataFrame(False, index=close.index, columns=close.columns)
    return vbt.Portfolio.from_signals(close, no, no, freq="1D")


def _one_order():
    close = prices()
    size = pd.DataFrame(0.0, index=close.index, columns=close.columns)
    size.iloc[3, 2] = 1.0
    return vbt.Portfolio.from_orders(close, size, freq="1D")


KINDS = {
    "no_orders": _no_orders,
    "one_order": _one_order,
    "from_signals": _from_signals,
    "from_orders": _from_orders,
    "from_order_func": _from_order_func,
    "from_holding": _from_holding,
    "grouped_cash_sharing": _grouped_cash_sharing,
    "grouped_without_cash_sharing": _grouped_without_cash_sharing,
    "nan_gaps": _nan_gaps,
    "multiindex_columns": _multiindex_columns,
    "tz_aware": _tz_aware,
    "tz_pytz": _tz_pytz,
    "series": _series,
    "with_logs": _with_logs,
    "init_cash_auto": _init_cash_auto,
    "init_cash_autoalign": _init_cash_autoalign,
    "integer_columns_no_freq": _integer_columns_no_freq,
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def kind_pf(request):
    return request.param, KINDS[request.param]()


def records_equal(a, b):
    """Field by field, bit for bit (the padding bytes of aligned record dtypes are not part of the records)."""
    return a.dtype == b.dtype and len(a) == len(b) and all(a[n].tobytes() == b[n].tobytes() for n in a.dtype.names)


def assert_same_portfolio(loaded, pf):
    """Everything a portfolio is made of, and what vectorbt computes from it, is equal."""
    assert type(loaded) is type(pf)
    pd.testing.assert_index_equal(loaded.wrapper.index, pf.wrapper.index, exact=True)
    pd.testing.assert_index_equal(loaded.wrapper.columns, pf.wrapper.columns, exact=True)
    assert loaded.wrapper.freq == pf.wrapper.freq and loaded.wrapper.ndim == pf.wrapper.ndim
    assert loaded.wrapper.grouper.is_grouped() == pf.wrapper.grouper.is_grouped()
    if pf.wrapper.grouper.is_grouped():
        pd.testing.assert_index_equal(loaded.wrapper.get_columns(), pf.wrapper.get_columns())
        assert np.array_equal(loaded.wrapper.grouper.get_group_lens(), pf.wrapper.grouper.get_group_lens())
    assert loaded.wrapper == pf.wrapper and loaded.config["wrapper"] == pf.config["wrapper"]
    if isinstance(pf.close, pd.Series):
        pd.testing.assert_series_equal(loaded.close, pf.close, check_exact=True)
    else:
        pd.testing.assert_frame_equal(loaded.close, pf.close, check_exact=True)
    assert type(loaded.config["close"]) is type(pf.config["close"])
    for key in ("order_records", "log_records"):
        assert loaded.config[key].dtype == pf.config[key].dtype
        assert records_equal(loaded.config[key], pf.config[key]), key
    init_cash = pf.config["init_cash"]
    assert type(loaded.config["init_cash"]) is type(init_cash)
    assert np.array_equal(loaded.config["init_cash"], init_cash)
    if pf.config["call_seq"] is None:
        assert loaded.config["call_seq"] is None
    else:
        assert loaded.config["call_seq"].dtype == pf.config["call_seq"].dtype
        assert np.array_equal(loaded.config["call_seq"], pf.config["call_seq"])
    for key in ("cash_sharing", "fillna_close", "trades_type", "engine"):
        assert loaded.config[key] == pf.config[key], key
    assert loaded == pf
    stats_kwargs = {} if pf.wrapper.get_ndim() == 1 else {"agg_func": None}
    pd.testing.assert_frame_equal(loaded.trades.records_readable, pf.trades.records_readable)
    pd.testing.assert_frame_equal(loaded.positions.records_readable, pf.positions.records_readable)
    loaded_stats, stats = loaded.stats(**stats_kwargs), pf.stats(**stats_kwargs)
    if isinstance(stats, pd.Series):
        pd.testing.assert_series_equal(loaded_stats, stats)
    else:
        pd.testing.assert_frame_equal(loaded_stats, stats)


# ############# Round trips ############# #


def test_round_trip_of_every_kind(kind_pf):
    name, pf = kind_pf
    data = dump_portfolio(pf)
    assert data[:8] == MAGIC
    info = check_loadable(data)
    assert info.cls is type(pf) and info.shape == pf.wrapper.shape_2d and info.nbytes == len(data)
    assert info.n_orders == len(pf.order_records) and info.n_logs == len(pf.log_records)
    assert_same_portfolio(load_portfolio(data), pf)
    assert_same_portfolio(load_portfolio(file_reader(io.BytesIO(data))), pf)


def test_fixtures_round_trip(sweep_pf, single_pf, grouped_pf):
    for pf in (sweep_pf, single_pf, grouped_pf):
        assert_same_portfolio(load_portfolio(dump_portfolio(pf)), pf)


def test_loaded_arrays_are_fresh_and_writable(grouped_pf):
    data = bytearray(dump_portfolio(grouped_pf))
    loaded = load_portfolio(data)
    for key in ("order_records", "log_records", "init_cash"):
        assert loaded.config[key].flags.writeable and not np.shares_memory(loaded.config[key], np.asarray(data))
    data[:] = bytes(len(data))  # the loaded portfolio does not see its source change
    assert loaded == grouped_pf


def test_memory_order_and_broadcast_close_are_kept():
    close = prices()
    size = orders_size(close)
    c_close = np.ascontiguousarray(close.values)
    pf_c = vbt.Portfolio(vbt.base.array_wrapper.ArrayWrapper.from_obj(close, freq="1D"), c_close,
                         vbt.Portfolio.from_orders(close, size).order_records, np.empty(0, pf_nb.log_dt),
                         np.full(4, 100.0), False)
    loaded = load_portfolio(dump_portfolio(pf_c))
    assert loaded.config["close"].flags.c_contiguous and np.array_equal(loaded.config["close"], c_close)
    one = np.broadcast_to(close.values[:, :1], close.shape)
    pf_b = pf_c.replace(close=one)
    loaded = load_portfolio(dump_portfolio(pf_b))
    assert loaded.config["close"].strides == one.strides and np.array_equal(loaded.config["close"], one)
    assert load_portfolio(dump_portfolio(pf_b), column="a2") == pf_b["a2"]


def test_unsorted_records_keep_their_order_and_load_by_column(grouped_pf):
    rng = np.random.default_rng(0)
    shuffled = grouped_pf.order_records[rng.permutation(len(grouped_pf.order_records))]
    pf = grouped_pf.replace(order_records=shuffled)
    data = dump_portfolio(pf)
    loaded = load_portfolio(data)
    assert records_equal(loaded.config["order_records"], shuffled)
    for group in ("g1", "g2"):
        assert load_portfolio(data, column=group) == pf[group]


def test_subclass_needs_trusted_classes():
    close = prices()
    pf = MyPortfolio.from_signals(close, *ma_signals(close), freq="1D")
    with pytest.raises(ValueError, match=r"MyPortfolio is not in the allow-list .*trusted_classes=\[MyPortfolio\]"):
        dump_portfolio(pf)
    data = dump_portfolio(pf, trusted_classes=[MyPortfolio])
    with pytest.raises(UnsafeGlobalError, match="MyPortfolio") as exc_info:
        load_portfolio(data, run_id="r1")
    assert isinstance(exc_info.value, IntegrityError) and exc_info.value.run_id == "r1"
    assert exc_info.value.file == "portfolio.pkl"
    with pytest.raises(IntegrityError):
        check_loadable(data)
    loaded = load_portfolio(data, trusted_classes=[MyPortfolio])
    assert_same_portfolio(loaded, pf)
    assert loaded.my_metric().equals(pf.my_metric())
    by_name = f"{MyPortfolio.__module__}.{MyPortfolio.__qualname__}"
    assert check_loadable(data, trusted_classes=[by_name]).cls is MyPortfolio
    assert load_portfolio(data, trusted_classes=by_name, column="a1") == pf["a1"]
    with pytest.raises(IntegrityError):  # trusted for that call only
        load_portfolio(data)


def test_dump_checked_is_dump_portfolio_checked_whole(single_pf, sweep_pf, grouped_pf):
    for p in (single_pf, sweep_pf, grouped_pf):
        assert dump_checked(p) == dump_portfolio(p)
    close = prices()
    sub = MyPortfolio.from_signals(close, *ma_signals(close), freq="1D")
    with pytest.raises(ValueError, match=r"MyPortfolio is not in the allow-list .*trusted_classes=\[MyPortfolio\]"):
        dump_checked(sub, run_id="r1")
    data = dump_checked(sub, trusted_classes=[MyPortfolio])
    assert data == dump_portfolio(sub, trusted_classes=[MyPortfolio])
    assert_same_portfolio(load_portfolio(data, trusted_classes=[MyPortfolio]), sub)


def test_order_function_is_not_needed_to_load():
    pf = _from_order_func()
    data = dump_portfolio(pf)
    assert b"order_func_nb" not in data
    assert_same_portfolio(load_portfolio(data), pf)


def test_dump_refuses_what_is_not_a_portfolio():
    with pytest.raises(TypeError):
        dump_portfolio(pd.Series([1.0]))


def test_settings_that_cannot_be_pickled_raise_value_error(single_pf):
    pf = single_pf.replace(engine=lambda: None)
    with pytest.raises(ValueError, match="cannot be stored|allow-list"):
        dump_portfolio(pf)


# ############# One configuration at a time ############# #


def test_column_loads_equal_indexing_of_every_kind(kind_pf):
    name, pf = kind_pf
    if pf.wrapper.get_ndim() == 1:
        return  # nothing to select
    data = dump_portfolio(pf)
    labels = list(pf.wrapper.get_columns())
    for label in labels:
        assert load_portfolio(data, column=label) == pf[label], (name, label)
    assert load_portfolio(data, column=labels[::-1][:2]) == pf[labels[::-1][:2]]


def test_column_loads_of_fixtures(sweep_pf, grouped_pf):
    for pf in (sweep_pf, grouped_pf):
        data = dump_portfolio(pf)
        for label in pf.wrapper.get_columns():
            one = load_portfolio(data, column=label)
            assert one == pf[label]
            pd.testing.assert_series_equal(one.stats(), pf[label].stats())
    assert isinstance(sweep_pf.wrapper.columns[0], tuple)
    assert load_portfolio(dump_portfolio(sweep_pf), column=(3, 8)) == sweep_pf[(3, 8)]
    assert load_portfolio(dump_portfolio(sweep_pf), column=5) == sweep_pf[5]  # a first-level value: 3 columns


def test_column_load_of_a_missing_label_raises_key_error(sweep_pf):
    with pytest.raises(KeyError):
        load_portfolio(dump_portfolio(sweep_pf), column=(99, 100))


def test_column_load_of_a_series_portfolio_fails_as_indexing_does(single_pf):
    with pytest.raises(Exception) as expected:
        single_pf["close"]
    with pytest.raises(type(expected.value)):
        load_portfolio(dump_portfolio(single_pf), column="close")


def test_column_load_reads_a_small_fraction():
    close = prices(n_rows=500, n_cols=200, seed=5)
    pf = vbt.Portfolio.from_signals(close, *ma_signals(close), fees=0.001, log=True, freq="1D")
    data = dump_portfolio(pf)
    reader = CountingReader(data)
    assert load_portfolio(reader, column="a117") == pf["a117"]
    assert reader.asked < 0.02 * len(data) and reader.calls <= 12, (reader.asked, len(data), reader.calls)

    sweep = _sweep_one_close(n_rows=500, windows=range(2, 22))  # 190 configurations, close stored once
    data = dump_portfolio(sweep)
    reader = CountingReader(data)
    label = sweep.wrapper.columns[77]
    assert load_portfolio(reader, column=label) == sweep[label]
    assert reader.asked < 0.1 * len(data), (reader.asked, len(data))

    grouped = vbt.Portfolio.from_orders(close, orders_size(close), group_by=np.arange(200) // 4, cash_sharing=True,
                                        call_seq="auto", attach_call_seq=True, freq="1D")
    data = dump_portfolio(grouped)
    reader = CountingReader(data)
    assert load_portfolio(reader, column=31) == grouped[31]
    assert reader.asked < 0.05 * len(data), (reader.asked, len(data))


def test_column_load_from_a_file(tmp_path, sweep_pf):
    path = tmp_path / "pf.bin"
    path.write_bytes(dump_portfolio(sweep_pf))
    with open(path, "rb") as f:
        assert load_portfolio(file_reader(f), column=(5, 13)) == sweep_pf[(5, 13)]


# ############# Sizes ############# #


def _sweep_one_close(n_rows=500, windows=range(2, 47)):
    close = prices(n_rows=n_rows, n_cols=1).iloc[:, 0]
    fast, slow = vbt.MA.run_combs(close, window=list(windows), r=2, short_names=["fast", "slow"])
    return vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), fees=0.001,
                                      freq="1D")


def test_sweep_over_one_close_stores_the_close_once():
    pf = _sweep_one_close()
    assert pf.wrapper.shape_2d == (500, 990)
    data = dump_portfolio(pf)
    assert len(data) <= 0.2 * len(pf.dumps()), (len(data), len(pf.dumps()))
    assert len(data) < pf.close.values.nbytes / 4
    assert_same_portfolio(load_portfolio(data), pf)


def test_different_closes_take_at_most_half_of_dumps():
    close = prices(n_rows=300, n_cols=300, seed=9)
    pf = vbt.Portfolio.from_signals(close, *ma_signals(close), fees=0.001, freq="1D")
    assert len(dump_portfolio(pf)) <= 0.5 * len(pf.dumps())


# ############# The restricted unpickler ############# #


SAFE_OBJECTS = [
    pd.RangeIndex(5, name="r"),
    pd.Index([1, 2, 3]),
    pd.Index([1.5, np.nan]),
    pd.Index(["a", "b"], name="s"),
    pd.Index(["a", 1, (2, 3)], dtype=object),
    pd.Index([True, False]),
    pd.Index([1, None], dtype="Int64"),
    pd.date_range("2020-01-01", periods=3, name="d"),
    pd.date_range("2020-01-01", periods=3, freq="h", tz="UTC"),
    pd.date_range("2020-01-01", periods=3, tz=zoneinfo.ZoneInfo("America/New_York")),
    pd.date_range("2020-01-01", periods=3, tz=pytz.timezone("Asia/Tokyo")),
    pd.date_range("2020-01-01", periods=3, tz=datetime.timezone(datetime.timedelta(hours=-3))),
    pd.DatetimeIndex(["2020-01-01", None]),
    pd.timedelta_range("1D", periods=3),
    pd.period_range("2020-01", periods=3, freq="M"),
    pd.CategoricalIndex(["a", "b", "a"]),
    pd.interval_range(0, 3),
    pd.MultiIndex.from_tuples([(1, "a"), (2, "b")], names=["p", "q"]),
    pd.Timestamp("2020-01-01", tz="Europe/Paris"),
    pd.Timedelta("1D"),
    pd.NaT,
    pd.offsets.Day(),
    pd.offsets.BusinessDay(2),
    pd.offsets.MonthEnd(),
    pd.DateOffset(months=1),
    np.float64(1.5),
    np.dtype([("a", "<i8"), ("b", "<f8")], align=True),
    np.arange(4).reshape(2, 2),
    {"set": {1, 2}, "frozenset": frozenset([3]), "slice": slice(1, None, 2), "complex": 1 + 2j, "range": range(3)},
    datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
]


@pytest.mark.parametrize("obj", SAFE_OBJECTS, ids=lambda o: type(o).__name__)
def test_allowed_objects_round_trip(obj):
    plain = [pickle.dumps(obj, protocol=protocol) for protocol in (4, 5)]
    # ZoneInfo pickles itself through getattr, which is refused; safe_dumps writes ZoneInfo(key) instead
    for data in [safe_dumps(obj)] + [data for data in plain if b"zoneinfo" not in data]:
        back = safe_loads(data)
        if isinstance(obj, pd.Index):
            pd.testing.assert_index_equal(back, obj, exact=True)
            assert back.freq == obj.freq if hasattr(obj, "freq") else True
        elif isinstance(obj, np.ndarray):
            assert np.array_equal(back, obj)
        elif obj is pd.NaT:
            assert back is pd.NaT
        else:
            assert back == obj


def test_protocol_2_names_are_read_as_python_3_names():
    value = {"set": {1, 2}, "frozenset": frozenset([3]), "slice": slice(1, None, 2), "complex": 1 + 2j}
    data = pickle.dumps(value, protocol=2)
    assert b"__builtin__" in data and safe_loads(data) == value


def test_allow_list_names_no_dangerous_global():
    names = {f"{m}.{n}" for m, n in SAFE_GLOBALS}
    for bad in ("builtins.eval", "builtins.exec", "builtins.getattr", "builtins.__import__", "builtins.open",
                "os.system", "posix.system", "subprocess.Popen", "importlib.import_module", "pickle.loads",
                "functools.partial", "copyreg._reconstructor", "_codecs.encode", "numpy.load"):
        assert bad not in names


def _touch_command(path):
    return f"touch {path}"


class _SystemPayload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return os.system, (_touch_command(self.path),)


class _EvalPayload:
    def __init__(self, path, func):
        self.path, self.func = path, func

    def __reduce__(self):
        return self.func, (f"open({str(self.path)!r}, 'w').close()",)


def _payloads(path):
    """Pickles that create `path` when unpickled by `pickle.loads`."""
    p = str(path)
    cmd = _touch_command(p).encode()
    out = {
        "os.system REDUCE, protocol 0": pickle.dumps(_SystemPayload(p), protocol=0),
        "os.system REDUCE, protocol 2": pickle.dumps(_SystemPayload(p), protocol=2),
        "os.system STACK_GLOBAL, protocol 5": pickle.dumps(_SystemPayload(p), protocol=5),
        "builtins.eval": pickle.dumps(_EvalPayload(p, eval), protocol=4),
        "builtins.exec": pickle.dumps(_EvalPayload(p, exec), protocol=3),
        "getattr chain": b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n(S'os'\ntRS'system'\ntR(S'"
                         + cmd + b"'\ntR.",
        "INST opcode": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "posix.system GLOBAL": b"cposix\nsystem\n(S'" + cmd + b"'\ntR.",
        "nt.system GLOBAL": b"cnt\nsystem\n(S'" + cmd + b"'\ntR.",
        "subprocess.Popen": b"csubprocess\nPopen\n((S'touch'\nS'" + p.encode() + b"'\nltR.",
        "importlib.import_module": b"cimportlib\nimport_module\n(S'os'\ntR.",
        "pickle.loads nested": b"cpickle\nloads\n(C" + bytes([len(pickle.dumps(_SystemPayload(p), protocol=0))])
                               + pickle.dumps(_SystemPayload(p), protocol=0) + b"tR.",
        "functools.partial": b"\x80\x04cfunctools\npartial\ncos\nsystem\nS'" + cmd + b"'\n\x86R)R.",
        "made-up module": b"\x80\x04\x8c\x0fevil_format_mod\x94\x8c\x07Payload\x94\x93)R.",
    }
    return out


def _forged(header_bytes: bytes) -> bytes:
    """A container whose header is `header_bytes`, with a matching CRC (as anyone can compute)."""
    return assemble(header_bytes, Buffers())


@pytest.fixture
def planted_module(tmp_path, monkeypatch):
    """A module on sys.path that creates a file when imported: refusals must happen before any import."""
    marker = tmp_path / "imported"
    (tmp_path / "evil_format_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Payload:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("evil_format_mod", None)


def test_planted_pickles_are_refused_before_anything_runs(tmp_path, planted_module):
    marker = tmp_path / "pwned"
    payloads = _payloads(marker)
    assert len(payloads) >= 12
    for name, payload in payloads.items():
        for data in (payload, _forged(payload)):
            load = safe_loads if data is payload else load_portfolio
            with pytest.raises(IntegrityError) as exc_info:
                load(data, run_id="20260101T000000000000Z-00000000")
            assert isinstance(exc_info.value, UnsafeGlobalError), (name, exc_info.value)
            assert "allow-list" in str(exc_info.value)
            assert exc_info.value.file == "portfolio.pkl" and exc_info.value.run_id.startswith("2026")
            if data is not payload:
                with pytest.raises(UnsafeGlobalError):
                    check_loadable(data)
        assert not marker.exists(), name
        assert not planted_module.exists(), name


def test_payload_hidden_where_a_legitimate_object_would_be(tmp_path, sweep_pf):
    marker = tmp_path / "pwned"
    data = dump_portfolio(sweep_pf)
    header_len = struct.unpack_from("<Q", data, 16)[0]
    header = safe_loads(data[40 : 40 + header_len])
    places = [("wrapper", "freq"), ("wrapper", "index"), ("config", "engine")]
    for part, key in places:
        for protocol in (0, 2, 4, 5):  # protocols 0 to 2 are refused earlier: their bytes need _codecs.encode
            forged_header = dict(header, **{part: dict(header[part], **{key: _SystemPayload(str(marker))})})
            forged = assemble(pickle.dumps(forged_header, protocol=protocol), Buffers())
            with pytest.raises(UnsafeGlobalError, match="system" if protocol > 2 else "system|_codecs"):
                load_portfolio(forged)
    forged_header = dict(header, **{"class": _EvalPayload(str(marker), eval)})
    with pytest.raises(UnsafeGlobalError, match="builtins.eval"):
        load_portfolio(assemble(pickle.dumps(forged_header), Buffers()))
    assert not marker.exists()


def test_zoneinfo_is_written_without_getattr():
    zone = zoneinfo.ZoneInfo("Europe/Berlin")
    with pytest.raises(UnsafeGlobalError, match="builtins.getattr"):
        safe_loads(pickle.dumps(zone))
    assert safe_loads(safe_dumps(zone)) is zone


def test_out_of_band_buffers_and_garbage_are_integrity_errors():
    with pytest.raises(IntegrityError):
        safe_loads(pickle.dumps(pickle.PickleBuffer(b"abc"), protocol=5, buffer_callback=lambda b: False))
    with pytest.raises(IntegrityError):
        safe_loads(b"\x80\x05garbage")
    with pytest.raises(IntegrityError, match="not a portfolio header"):
        load_portfolio(_forged(safe_dumps([1, 2, 3])))


# ############# Damaged containers ############# #


@pytest.fixture(scope="module")
def small_data():
    close = prices(n_rows=60, n_cols=3)
    return dump_portfolio(vbt.Portfolio.from_orders(close, orders_size(close), log=True, freq="1D"))


def _damaged_loads(data):
    """Every way of reading `data`, each of which must raise `IntegrityError`."""
    return [lambda: load_portfolio(data), lambda: check_loadable(data),
            lambda: load_portfolio(CountingReader(data)), lambda: load_portfolio(data, column="a1"),
            lambda: load_portfolio(file_reader(io.BytesIO(data))),
            lambda: check_loadable(file_reader(io.BytesIO(data)))]


def test_truncated_containers(small_data):
    header_len = struct.unpack_from("<Q", small_data, 16)[0]
    for cut in (0, 7, 8, 39, 40, 40 + header_len // 2, 40 + header_len, len(small_data) - 1):
        for load in _damaged_loads(small_data[:cut]):
            with pytest.raises(IntegrityError):
                load()
    longer = small_data + b"\x00"  # a reader cannot tell (it does not know the size), the bytes can
    for load in (lambda: load_portfolio(longer), lambda: check_loadable(longer)):
        with pytest.raises(IntegrityError):
            load()


def test_bad_magic_header_length_and_header_bytes(small_data):
    flips = [0, 3, 16, 17, 19, 23, 24, 29, 32, 45, 60, 100]
    for position in flips:
        damaged = bytearray(small_data)
        damaged[position] ^= 0x10
        for load in _damaged_loads(bytes(damaged)):
            with pytest.raises(IntegrityError):
                load()


def test_newer_version_is_refused(small_data):
    newer = bytearray(small_data)
    struct.pack_into("<I", newer, 8, FORMAT_VERSION + 1)
    with pytest.raises(SchemaVersionError, match="newer"):
        load_portfolio(bytes(newer))
    with pytest.raises(SchemaVersionError):
        check_loadable(bytes(newer))


def _reforged(data: bytes, change) -> bytes:
    """`data` with its header changed by `change(header)` and re-sealed with a valid CRC (the data kept)."""
    header_len = struct.unpack_from("<Q", data, 16)[0]
    header = safe_loads(data[40 : 40 + header_len])
    change(header)
    data_offset = 40 + header_len + (-(40 + header_len) % 64)
    buffers = Buffers()
    buffers.chunks, buffers.size = [data[data_offset:]], len(data) - data_offset
    return assemble(safe_dumps(header), buffers)


def test_offsets_and_lengths_that_do_not_fit(small_data):
    def set_spec(key, field, value):
        return lambda header: header["arrays"][key].__setitem__(field, value)

    changes = [
        set_spec("close", "offset", 10**9),
        set_spec("close", "nbytes", 8),
        set_spec("close", "shape", (61, 3)),
        set_spec("close", "dtype", np.dtype(object)),
        set_spec("order_records", "offset", 10**9),
        set_spec("order_records", "n", 10**6),
        set_spec("order_records", "block_offsets", (10**9, 32)),
        set_spec("order_records", "blocks", "group"),
        set_spec("order_records", "fields", ()),
        set_spec("log_records", "packed", np.dtype([("x", "O")])),
        set_spec("init_cash", "length", 4),
        lambda header: header["arrays"]["close"].pop("layout"),
        lambda header: header["wrapper"].__setitem__("index", "not an index"),
        lambda header: header.__setitem__("class", dict),
    ]
    assert load_portfolio(_reforged(small_data, lambda header: None)) is not None
    for change in changes:
        for load in _damaged_loads(_reforged(small_data, change))[:2]:
            with pytest.raises(IntegrityError):
                load()


def test_damaged_column_offsets_in_the_data(small_data):
    info_data = bytearray(small_data)
    header_len = struct.unpack_from("<Q", small_data, 16)[0]
    header = safe_loads(small_data[40 : 40 + header_len])
    data_offset = 40 + header_len + (-(40 + header_len) % 64)
    offset = data_offset + header["arrays"]["order_records"]["block_offsets"][0]
    struct.pack_into("<q", info_data, offset + 8, 10**6)
    for load in _damaged_loads(bytes(info_data)):
        with pytest.raises(IntegrityError, match="block offsets"):
            load()


def test_random_damage_never_raises_anything_else(small_data):
    rng = np.random.default_rng(0)
    header_end = 40 + struct.unpack_from("<Q", small_data, 16)[0]
    for position in rng.integers(0, len(small_data), 300):
        damaged = bytearray(small_data)
        damaged[position] ^= 1 << int(rng.integers(8))
        try:
            load_portfolio(bytes(damaged))
        except (IntegrityError, SchemaVersionError):
            continue
        assert position >= header_end  # only damage inside the arrays' data can go unnoticed


def test_a_reader_that_returns_short_or_wrong_results(small_data):
    with pytest.raises(IntegrityError, match="truncated"):
        load_portfolio(lambda offset, length: small_data[offset : offset + length][:-1])
    with pytest.raises(IntegrityError):
        load_portfolio(lambda offset, length: None)
    with pytest.raises(TypeError):
        load_portfolio(12345)
