"""The columnar table of a run's configurations (`configs_bytes`/`read_configs`) and `best()` on it: labels of
every kind round-trip exactly, and `best` from the parts ranks exactly what `best` from the records ranked
(same rows, order, columns, dtypes and values), with and without `where`, in both directions, cached and not.

Runs are built as records with made-up metrics (no backtests): `reference_best` below is `best()` as it was
before the parts, reading every record, and is what both paths must equal."""

import datetime as dt
import hashlib
import io
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from vectorbt.portfolio.registry import InMemoryStore, RunRegistry
from vectorbt.portfolio.registry.configs import (
    CONFIGS_VERSION,
    ConfigCache,
    configs_bytes,
    own_copy,
    rank_order,
    read_configs,
)
from vectorbt.portfolio.registry.errors import IntegrityError, RegistryError, RunNotFoundError, SchemaVersionError
from vectorbt.portfolio.registry.index import drop_absent_params, preview_notes
from vectorbt.portfolio.registry.integrity import part_info
from vectorbt.portfolio.registry.run import RunRecord, new_run_id
from vectorbt.portfolio.registry.spec import (
    CONFIGS,
    INTERNAL_FIELDS,
    METRIC_NAMES,
    PORTFOLIO,
    RUN_FIELDS,
    check_metric,
    default_ascending,
)
from vectorbt.portfolio.registry.stores.file_store import FileStore

# ############# Today's best(), from the records ############# #


def reference_best(reg, metric="sharpe_ratio", n=10, name=None, tags=None, where=None, ascending=None, *,
                   status=None, parent=None, finite_first=True):
    """`RunRegistry.best` as it was before the `"configs"` part: every run's record read, a DataFrame per run."""
    metric = check_metric(metric)
    if ascending is None:
        ascending = default_ascending(metric)
    runs = reg._runs(name, tags, status, parent)
    fields = runs.drop(columns=["column", "deleted_at", *INTERNAL_FIELDS, *METRIC_NAMES], errors="ignore")
    fields = fields[[c for c in fields.columns if c in RUN_FIELDS]]
    kept, sizes, labels, params_parts, metrics_parts, run_params = [], [], [], [], [], {}
    for pos, run_id in enumerate(runs.index):
        try:
            record = reg.store.read(run_id)
        except RunNotFoundError:
            continue
        except (RegistryError, OSError):
            continue
        params = record.config_params_frame()
        run_params[run_id] = list(params.columns)
        kept.append(pos)
        sizes.append(record.n_columns)
        labels.extend(tuple(c) if isinstance(c, list) else c for c in record.columns)
        params_parts.append(own_copy(params))
        metrics_parts.append(record.metrics.reset_index(drop=True))
    if kept:
        rows = np.repeat(np.asarray(kept), sizes)
        head = pd.DataFrame({"run_id": np.asarray(runs.index, dtype=object)[rows].tolist(),
                             "column": pd.Series(labels, dtype=object)})
        run_fields = fields.iloc[rows].reset_index(drop=True)
        frame = pd.concat([head, run_fields, pd.concat(params_parts, ignore_index=True),
                           pd.concat(metrics_parts, ignore_index=True)], axis=1)
    else:
        frame = pd.DataFrame(columns=["run_id", "column", *fields.columns, *METRIC_NAMES])
    frame = reg._query(frame, where)
    frame = frame.iloc[rank_order(frame[metric].to_numpy(dtype=float), ascending, finite_first)]
    if n is not None:
        frame = frame.iloc[:n]
    frame = preview_notes(frame)
    present = {p for run_id in frame["run_id"].unique() for p in run_params.get(run_id, ())}
    return drop_absent_params(frame.reset_index(drop=True), present, keep=("run_id",))


def assert_identical(got, expected):
    """Equal frames, and in object columns equal values of the same types (an `int` is not a `np.int64`)."""
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for name in got.columns:
        if got[name].dtype == object:
            types = [type(v) for v in got[name]]
            assert types == [type(v) for v in expected[name]], name
            assert [repr(v) for v in got[name]] == [repr(v) for v in expected[name]], name


# ############# Records with made-up metrics ############# #

TZ = "Europe/Paris"

LEVELS = {
    # name: (column names, labels)
    "ints": (["window"], [3, 4, 5, 7]),
    "floats_nan": (["stop"], [0.5, np.nan, 1.5, -0.0]),
    "strings": (["asset"], ["btc", "eth", "btc", "sol"]),
    "tuples": (["fast_window", "slow_window"], [(3, 5), (3, 8), (5, 8), (5, 13)]),
    "tuple_with_none_level": (["fast_window", None], [(3, "a"), (4, "b"), (5, "a")]),
    "unnamed": ([None], ["x", "y"]),
    "single": ([None], [None]),
    "group": (["group"], ["g1", "g2"]),
    "nan_and_none": (["p"], [np.nan, None, 1.0, "s"]),
    "timestamps": (["start"], [pd.Timestamp("2024-01-01", tz=TZ), pd.Timestamp("2024-02-01 10:00", tz=TZ)]),
    "naive_timestamps": (["start"], [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01").as_unit("s")]),
    "mixed_zones": (["start"], [pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz=TZ)]),
    "mixed": (["m"], [1, "a", 2.5, None, True, (1, 2)]),
    "bools": (["flag"], [True, False, True]),
    "np_scalars": (["w", "f"], [(np.int32(3), np.float32(0.5)), (np.int32(4), np.float32(1.5))]),
    "np_int64": (["w"], [np.int64(3), np.int64(9)]),
    "big_ints": (["big"], [2 ** 70, 1, -(2 ** 65)]),
    "dates": (["day"], [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]),
    "lists": (["a", "b"], [[1, "x"], [2, "y"]]),
    "three_levels": (["fast_window", "slow_window", "asset"], [(3, 5, "btc"), (3, 5, "eth"), (4, 6, "btc")]),
}


def make_record(k, labels, names, params=None, name="run", tags=(), schema=2, notes="", status=None,
                metrics=None):
    """A record of `labels` (its configurations, on column levels `names`) with seeded metrics (inf, -inf and
    NaN among them), and its parts: schema 2 has a `"configs"` part, schema 1 only the portfolio."""
    rng = np.random.default_rng(k)
    values = np.round(rng.normal(0, 1, (len(labels), len(METRIC_NAMES))), 1)  # rounded: ties happen
    if len(labels) > 2:
        values[1, METRIC_NAMES.index("sharpe_ratio")] = np.inf
        values[2, METRIC_NAMES.index("sharpe_ratio")] = np.nan
        values[0, METRIC_NAMES.index("total_return")] = -np.inf
    if metrics is not None:
        values = values[:, [METRIC_NAMES.index(m) for m in metrics]]
    portfolio = rng.bytes(32)
    record = RunRecord(run_id=new_run_id(), name=name, created_at=dt.datetime.now(dt.timezone.utc),
                       params=dict(params or {}), tags=list(tags), notes=notes, status=status,
                       columns=list(labels), column_names=list(names), settings={"freq": "1D"},
                       data_fingerprint=hashlib.sha256(f"data{k}".encode()).hexdigest(),
                       identity=hashlib.sha256(f"identity{k}".encode()).hexdigest(), schema_version=schema)
    record.metrics = pd.DataFrame(values, index=record.column_index, columns=list(metrics or METRIC_NAMES))
    parts = {PORTFOLIO: portfolio}
    if schema >= 2:
        parts[CONFIGS] = configs_bytes(record)
    record.parts = {role: part_info(data) for role, data in parts.items()}
    return record, parts


RUNS = [
    # (level set, params, name, tags)
    ("tuples", {"fee": 0.001, "asset": "btc"}, "ma", ["btc", "1d"]),
    ("ints", {"fee": 1, "flag": True}, "ma", ["eth"]),
    ("tuples", {"fee": 0.002, "asset": "eth", "stop": None}, "ma", ["btc"]),
    ("strings", {"n": np.int64(3), "weights": [0.5, 0.5], "start": pd.Timestamp("2024-01-01", tz=TZ)}, "b", []),
    ("group", {"fee": None, "level": 1.5, "cfg": {"a": (1, 2)}}, "basket", ["eth"]),
    ("single", {"fee": 0.0, "flag": False}, "one", ["btc"]),
    ("floats_nan", {"mode": "x"}, "stops", []),
    ("tuple_with_none_level", {}, "ma", ["x"]),
    ("three_levels", {"fee": 0.001}, "ma3", []),
    ("timestamps", {"fee": 2}, "t", []),
    ("bools", {}, "flags", ["x"]),
    ("np_scalars", {"n": 7}, "np", []),
]


def fill(store, runs=RUNS, schema=2, seed=0):
    """Register `runs` straight through `store`; return their records."""
    records = []
    for k, (level_set, params, name, tags) in enumerate(runs):
        names, labels = LEVELS[level_set]
        record, parts = make_record(seed + k, labels, names, params, name, tags, schema=schema,
                                    notes="n" * (250 if k == 1 else 3), status="candidate" if k % 3 == 0 else None)
        store.create(record, parts)
        records.append(record)
    return records


OWN = ["run_id", "created_at"]
"""Columns in which the two registries of `pair` differ (each run is created twice)."""


@pytest.fixture(scope="module")
def pair():
    """The same runs twice: with `"configs"` parts (schema 2) and without (schema 1, read from the records)."""
    fast, slow = InMemoryStore(), InMemoryStore()
    fill(fast, schema=2)
    fill(slow, schema=1)
    return RunRegistry(fast), RunRegistry(slow)


# ############# The part ############# #


@pytest.mark.parametrize("level_set", sorted(LEVELS))
def test_labels_round_trip_exactly(level_set):
    names, labels = LEVELS[level_set]
    record, parts = make_record(0, labels, names, params={"fee": 0.1, "when": pd.Timestamp("2024-01-01")})
    table = read_configs(parts[CONFIGS])
    got = table.labels()
    assert len(got) == len(labels) == table.n
    for a, b in zip(got, labels):
        assert type(a) is type(b) and repr(a) == repr(b)
        if isinstance(b, (tuple, list)):
            assert [type(x) for x in a] == [type(x) for x in b]
    pos = np.array([len(labels) - 1, 0])
    assert [repr(x) for x in table.labels(pos)] == [repr(labels[i]) for i in pos]
    np.testing.assert_array_equal(table.metrics, record.metrics.to_numpy())
    assert table.metric_names == list(METRIC_NAMES) and table.names == names
    assert {k: v for k, (v, _) in table.params.items()} == record.params
    # each parameter column has the dtype and values the record's frame gives it
    frame = record.config_params_frame()
    assert list(table.pieces()) == list(frame.columns)
    for name, (src, codes) in table.pieces().items():
        assert src.dtype == frame[name].dtype, name
        values = np.asarray(src)[np.zeros(table.n, int) if isinstance(codes, int) else
                                 np.arange(table.n) if codes is None else codes]
        assert [repr(v) for v in values] == [repr(v) for v in frame[name].to_numpy()], name


def test_typed_levels_and_coded_levels():
    kinds = {}
    for level_set, (names, labels) in LEVELS.items():
        _, parts = make_record(0, labels, names)
        kinds[level_set] = [level.kind for level in read_configs(parts[CONFIGS]).levels]
    assert kinds["ints"] == ["int"] and kinds["floats_nan"] == ["float"] and kinds["bools"] == ["bool"]
    assert kinds["tuples"] == ["int", "int"] and kinds["np_scalars"] == ["np", "np"]
    assert kinds["timestamps"] == ["time"] and kinds["naive_timestamps"] == ["coded"]  # two units
    for coded in ("strings", "mixed", "mixed_zones", "big_ints", "dates", "nan_and_none", "single"):
        assert kinds[coded] == ["coded"], coded
    assert kinds["three_levels"] == ["int", "int", "coded"]


def test_the_part_is_small_and_holds_no_pickle():
    labels = [(f, s) for f in range(1, 41) for s in range(1, 26)]  # 1,000 configurations
    record, parts = make_record(0, labels, ["fast_window", "slow_window"], params={"asset": "btc"})
    data = parts[CONFIGS]
    assert len(data) < record.metrics.to_numpy().nbytes + 4_000  # the metrics, 2 int8 levels, a header
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["data.npy", "meta.npy"]
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        assert {archive[k].dtype for k in archive.files} == {np.dtype(np.uint8)}


def test_unreadable_parts_raise_integrity_errors():
    _, parts = make_record(0, LEVELS["tuples"][1], LEVELS["tuples"][0])
    good = parts[CONFIGS]
    for bad in (b"", b"garbage", good[:len(good) // 2], good[:100] + bytes(50) + good[150:]):
        with pytest.raises(IntegrityError, match="configs.npz"):
            read_configs(bad, "r")
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([{"a": 1}], dtype=object), data=np.zeros(3, np.uint8))
    with pytest.raises(IntegrityError):
        read_configs(buf.getvalue())
    with np.load(io.BytesIO(good), allow_pickle=False) as archive:
        meta, blob = bytes(archive["meta"].tobytes()), archive["data"]
    newer = meta.replace(b'"version":%d,' % CONFIGS_VERSION, b'"version":%d,' % (CONFIGS_VERSION + 1))
    assert newer != meta
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(newer, np.uint8), data=blob)
    with pytest.raises(SchemaVersionError, match="upgrade"):
        read_configs(buf.getvalue())


def test_rank_order_first_n_is_the_first_n_of_the_full_order():
    rng = np.random.default_rng(1)
    for trial in range(200):
        values = rng.choice([0.0, -0.0, 1.0, 2.0, np.inf, -np.inf, np.nan, 0.5], size=rng.integers(0, 40))
        for ascending in (True, False):
            for finite_first in (True, False):
                full = rank_order(values, ascending, finite_first)
                for n in (0, 1, 3, 10, 50):
                    np.testing.assert_array_equal(rank_order(values, ascending, finite_first, n), full[:n])
    for trial in range(40):  # long enough for the candidates to be bounded by the best of blocks first
        size = int(rng.integers(1_024, 12_000))
        values = np.round(rng.normal(size=size), int(rng.integers(0, 3)))  # ties
        if trial % 2:
            special = rng.choice(size, size=int(rng.integers(1, 3 * size // 4)), replace=False)
            values[special] = rng.choice([np.inf, -np.inf, np.nan], size=len(special))
        for ascending in (True, False):
            for finite_first in (True, False):
                full = rank_order(values, ascending, finite_first)
                for n in (1, 2, 5, 11):
                    np.testing.assert_array_equal(rank_order(values, ascending, finite_first, n), full[:n])


# ############# best() from the parts equals best() from the records ############# #

WHERES = [
    None,
    "fast_window < slow_window",
    "fee > 0",
    "fee.isna()",
    "'btc' in tags and sharpe_ratio > -1",
    "name == 'ma' or window >= 4",
    "status == 'candidate'",
    "'g1' in column",
    "asset.str.startswith('b')",
    "start > '2024-01-15'",
    "notes.str.contains('nnnnn')",
    "n_columns > 2 and total_return < 0.5",
]


@pytest.mark.parametrize("where", WHERES)
def test_best_equals_best_from_the_records(pair, where):
    fast, slow = pair
    for metric, ascending, n, finite_first in (("sharpe_ratio", None, None, True), ("total_return", True, 5, True),
                                               ("total_return", False, None, False), ("max_drawdown", None, 3, True),
                                               ("sharpe_ratio", False, 0, True)):
        kwargs = dict(metric=metric, n=n, where=where, ascending=ascending, finite_first=finite_first)
        expected = reference_best(slow, **kwargs)
        assert_identical(slow.best(**kwargs), expected)  # from the records
        got = fast.best(**kwargs)  # from the parts
        assert_identical(got, reference_best(fast, **kwargs))
        assert_identical(got.drop(columns=OWN), expected.drop(columns=OWN))
        assert_identical(fast.best(**kwargs), got)  # warm: the assembled table again


@pytest.mark.parametrize("kwargs", [dict(name="ma"), dict(name=["b", "basket"]), dict(tags=["btc"]),
                                    dict(status="candidate"), dict(name="flags", where="flag"),
                                    dict(name="nothing"), dict(name="nothing", where="fee > 0")])
def test_best_of_some_runs(pair, kwargs):
    """Filtered runs: parameter columns typed over the runs kept (an int parameter stays int when the runs that
    lack it are filtered out; a None stays None), as the records typed them."""
    fast, slow = pair
    kwargs = dict(kwargs, n=None, metric="total_return")
    if kwargs.get("where") == "fee > 0":  # no runs: the where names a column the empty table lacks
        for reg in pair:
            with pytest.raises(ValueError, match="where: 'fee' is not a column"):
                reg.best(**kwargs)
        return
    expected = reference_best(slow, **kwargs)
    assert_identical(fast.best(**kwargs).drop(columns=OWN), expected.drop(columns=OWN))
    assert_identical(fast.best(**kwargs), reference_best(fast, **kwargs))


def test_run_parameters_keep_their_types_although_the_summary_table_does_not():
    """The summary table types a parameter over all runs (an int with a run lacking it becomes a float, None
    among floats becomes NaN); `best` of the runs that have it shows it as the runs hold it."""
    store = InMemoryStore()
    reg = RunRegistry(store)
    fill(store, [("ints", {"x": 1, "y": None}, "a", []), ("ints", {"y": 0.5}, "b", [])])
    table = reg.list()
    assert table["x"].dtype == float and table["y"].dtype == float  # 1 became 1.0, None became NaN
    got = reg.best(n=None, name="a")
    assert got["x"].dtype == np.int64 and got["y"].tolist() == [None] * 4
    assert_identical(got, reference_best(reg, n=None, name="a"))


def test_where_errors_are_those_of_the_whole_table(pair):
    fast, slow = pair
    for where, error in (("sharpe > 1", "did you mean 'sharpe_ratio'"), ("nope > 1 or nada < 2", "are not columns"),
                         ("fast_window << 1", "'<<'"), ("flag", "does not select rows")):
        messages = []
        for reg in (fast, slow):
            with pytest.raises(ValueError, match=error) as info:
                reg.best(where=where)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    for where in (5, "", "  "):
        with pytest.raises(TypeError, match="where"):
            fast.best(where=where)


def test_metrics_that_some_runs_lack():
    store = InMemoryStore()
    reg = RunRegistry(store)
    for k, metrics in enumerate((None, ["total_return", "sharpe_ratio"], ["sharpe_ratio"])):
        record, parts = make_record(k, [3, 4, 5], ["window"], {"k": k}, metrics=metrics)
        store.create(record, parts)
    for metric in ("sharpe_ratio", "total_return", "win_rate"):
        assert_identical(reg.best(metric, n=None), reference_best(reg, metric, n=None))


def test_file_store_and_a_fresh_registry(tmp_path):
    store = FileStore(tmp_path / "reg")
    fill(store, RUNS[:6], schema=2)
    fill(store, RUNS[6:], schema=1, seed=100)  # runs of both schemas in one registry
    for where in (None, "fast_window < slow_window", "fee >= 0.001"):
        fresh = RunRegistry(tmp_path / "reg", read_only=True)
        assert_identical(fresh.best(n=None, where=where), reference_best(fresh, n=None, where=where))


def test_a_damaged_part_falls_back_to_the_record(tmp_path):
    store = FileStore(tmp_path / "reg")
    records = fill(store, RUNS[:3], schema=2)
    expected = reference_best(RunRegistry(store), n=None)
    path = tmp_path / "reg" / "runs" / records[1].run_id / "configs.npz"
    path.write_bytes(path.read_bytes()[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_identical(RunRegistry(tmp_path / "reg").best(n=None), expected)
    path.unlink()
    assert_identical(RunRegistry(tmp_path / "reg").best(n=None), expected)


# ############# The caches ############# #


def test_the_assembled_table_follows_updates_deletes_and_new_runs():
    store = InMemoryStore()
    reg = RunRegistry(store)
    records = fill(store, RUNS[:4])
    first = reg.best(n=None, where="'btc' in tags")
    frame = reg._config_cache._frame
    assert frame is not None and frame.n == sum(r.n_columns for r in records)
    reg.update(records[1].run_id, tags=["btc"], notes="changed", status="live")  # fields shown by best
    got = reg.best(n=None, where="'btc' in tags")
    assert reg._config_cache._frame is frame  # the runs are the same: their configurations too
    assert len(got) == len(first) + records[1].n_columns and "live" in set(got["status"])
    assert_identical(got, reference_best(reg, n=None, where="'btc' in tags"))
    reg.delete(records[0].run_id)
    assert reg._config_cache._frame is None
    got = reg.best(n=None)
    assert records[0].run_id not in set(got["run_id"])
    assert_identical(got, reference_best(reg, n=None))
    fill(store, RUNS[4:6], seed=50)
    assert_identical(reg.best(n=None), reference_best(reg, n=None))
    assert reg._config_cache._frame is not frame


def test_the_cache_is_bounded():
    store = InMemoryStore()
    reg = RunRegistry(store)
    records = fill(store, RUNS[:4])  # 4 + 4 + 4 + 4 configurations
    expected = reference_best(reg, n=None)
    bounded = RunRegistry(store)
    bounded.config_cache_size = 9
    assert_identical(bounded.best(n=None), expected)
    cache = bounded._config_cache
    assert cache.n_configs <= 9 and list(cache) == [r.run_id for r in records[2:]]
    assert cache._frame is None  # more configurations than the bound: not kept
    bounded.config_cache_size = 2  # smaller than one run: the run just read is kept alone
    assert_identical(bounded.best(n=None), expected)
    assert list(cache) == [records[-1].run_id] and cache.n_configs == 4
    bounded.config_cache_size = 100
    assert_identical(bounded.best(n=3, where="fee > 0"), reference_best(reg, n=3, where="fee > 0"))
    assert cache._frame is not None and cache.n_configs == 16


def test_cache_get_and_forget():
    cache = ConfigCache(max_configs=5)
    _, parts = make_record(0, [1, 2, 3], ["w"])
    table = read_configs(parts[CONFIGS])
    reads = []
    cache.get("a", lambda run_id: reads.append(run_id) or table)
    cache.get("a", lambda run_id: reads.append(run_id) or table)
    cache.get("b", lambda run_id: reads.append(run_id) or table)
    assert reads == ["a", "b"] and list(cache) == ["b"] and cache.n_configs == 3
    cache.forget("b")
    assert len(cache) == 0 and cache.n_configs == 0


def test_best_from_the_parts_reads_no_record(pair):
    fast, _ = pair
    fresh = RunRegistry(fast.store.view(read_only=True))

    def refuse(run_id, deleted=False):
        raise AssertionError(f"record of {run_id} read")

    fresh.store.read = refuse
    assert len(fresh.best(n=None, where="fast_window < slow_window")) > 0


def with_parts(reg):
    """A copy of the runs of `reg` (registered without a `"configs"` part) in memory, each with its part."""
    store = InMemoryStore()
    for run_id in reg:
        record = reg.get(run_id)
        parts = {PORTFOLIO: reg.store.read_part(run_id, PORTFOLIO), CONFIGS: configs_bytes(record)}
        record.parts[CONFIGS] = part_info(parts[CONFIGS])
        store.create(record, parts)
    return RunRegistry(store)


def test_registered_portfolios(reg, sweep_pf, single_pf, grouped_pf):
    reg.register(sweep_pf, name="ma", params={"fee": 0.001, "asset": "btc"}, tags=["btc"])
    reg.register(single_pf, name="single", params={"fee": 0, "flag": True}, notes="x" * 300)
    reg.register(grouped_pf, name="basket", params={"asset": "multi", "stop": None}, status="candidate")
    copy = with_parts(reg)
    for where in (None, "fast_window < slow_window", "fee > 0", "'g1' in column", "'btc' in tags",
                  "group == 'g2' or flag == True", "run_id != ''"):
        for metric in ("sharpe_ratio", "max_drawdown_duration"):
            expected = reference_best(reg, metric, n=None, where=where)
            assert_identical(reg.best(metric, n=None, where=where), expected)
            assert_identical(copy.best(metric, n=None, where=where), expected)
            expected = reference_best(reg, metric, n=2, where=where)
            assert_identical(copy.best(metric, n=2, where=where), expected)
    top = copy.best("total_return", n=1, name="ma").iloc[0]
    assert reg.load(top["run_id"], column=top["column"]).total_return() == top["total_return"]


def test_returned_frames_share_nothing_mutable_with_the_cache(pair):
    fast, _ = pair
    got = fast.best(n=None, name="b")
    got.loc[0, "weights"].append(99)
    got.loc[0, "asset"] = "changed"
    again = fast.best(n=None, name="b")
    assert again.loc[0, "weights"] == [0.5, 0.5] and again.loc[0, "asset"] != "changed"


def test_an_unreadable_run_is_left_out_with_a_warning_every_time():
    store = InMemoryStore()
    reg = RunRegistry(store)
    records = fill(store, RUNS[:3])
    bad = records[1].run_id
    store._data.parts[bad][CONFIGS] = b"garbage"  # the part does not read: the record is read instead
    original = store.read  # ... and the record cannot be read either

    def read(run_id, deleted=False):
        if run_id == bad:
            raise SchemaVersionError(f"run {run_id!r} was written with schema_version 99")
        return original(run_id, deleted)

    store.read = read
    for _ in range(2):
        with pytest.warns(UserWarning, match=f"run '{bad}' cannot be read and is left out"):
            got = reg.best(n=None)
        assert bad not in set(got["run_id"]) and len(got) == records[0].n_columns + records[2].n_columns
        assert reg._config_cache._frame is None


@pytest.mark.parametrize("value", [7, (1 << 63) - 1, -(1 << 63), 1 << 63, 2.5, np.nan, -0.0, True, "btc", None,
                                   np.int32(3), np.float32(1.5), (1, 2), pd.Timestamp("2024-01-01", tz=TZ)])
def test_a_run_parameter_of_each_kind_reads_back_as_the_record_gives_it(value):
    """A run parameter of a run's own (a seed, say: nothing to share with other runs) has the dtype and value in
    `best` that the record's frame gives it, whether the part's reader builds it directly (plain ints within
    int64, floats, bools) or through pandas (the rest)."""
    fast, slow = InMemoryStore(), InMemoryStore()
    runs = [("ints", {"p": value, "q": k}, "own", []) for k in range(2)]
    fill(fast, runs, schema=2)
    fill(slow, runs, schema=1)
    got = RunRegistry(fast).best(n=None, metric="total_return")
    expected = RunRegistry(slow).best(n=None, metric="total_return")
    assert_identical(got.drop(columns=OWN), expected.drop(columns=OWN))
    assert got["q"].dtype == np.int64
