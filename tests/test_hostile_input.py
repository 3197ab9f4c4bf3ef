"""Hostile and odd input, property-based: names, tags, notes and params of every kind the codec supports
(and many it does not), and run ids from outside that try to reach paths outside the registry.

Everything accepted must come back exactly (type-exact: tuples stay tuples, `np.int64` stays `np.int64`, NaN
stays NaN, -0.0 stays -0.0); everything rejected must raise `TypeError`/`ValueError` naming the field and
leave the registry as it was (same runs, same files). One small portfolio is built per module and registered
again and again; examples are bounded (`max_examples` ~50, no deadline) to keep the module fast.
"""

import datetime as dt
import fractions
import math
import os
import shutil
from collections import OrderedDict, namedtuple
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vectorbt.portfolio.registry.testing import files_of, hard_timeout, tiny_pf
from vectorbt.portfolio.registry import RunNotFoundError, RunRegistry
from vectorbt.portfolio.registry.metrics import METRIC_NAMES
from vectorbt.portfolio.registry.spec import RUN_FIELDS

SETTINGS = settings(max_examples=50, deadline=None, database=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _timeout():
    with hard_timeout(120):
        yield


@pytest.fixture(scope="module")
def pf():
    return tiny_pf(0)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def reg(base, pf):
    """A registry with one run, shared by the tests that must leave it unchanged."""
    reg = RunRegistry(base / "shared")
    reg.register(pf, name="resident", params={"p": 1}, tags=["t"])
    return reg


_counter = iter(range(10 ** 9))


def fresh(base) -> RunRegistry:
    """A new, empty registry: examples that register get their own, so that each stays small and fast."""
    return RunRegistry(base / f"r{next(_counter)}")


# ############# Exact comparison ############# #


def _same_float(a, b) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same(a, b) -> bool:
    """Equal and of the same type, all the way down (NaN equals NaN; -0.0 differs from 0.0)."""
    if type(a) is not type(b):
        return False
    if a is pd.NaT or b is pd.NaT:
        return a is b
    if isinstance(a, (float, np.floating)):
        return _same_float(float(a), float(b)) and (not isinstance(a, np.floating) or a.dtype == b.dtype)
    if isinstance(a, (complex, np.complexfloating)):
        return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return np.array_equal(a, b, equal_nan=True)
        return np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb)
                                        for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, pd.Timestamp):
        return a == b and a.tzinfo == b.tzinfo and a.unit == b.unit
    if isinstance(a, dt.datetime):
        return a == b and a.tzinfo == b.tzinfo and a.utcoffset() == b.utcoffset()
    return a == b


# ############# Strategies ############# #

ANY_CHAR = st.characters(exclude_categories=())  # lone surrogates, NUL, controls, private use, everything
SPECIAL_TEXT = st.sampled_from([
    "", " ", "\t\n", "../", "../../etc/passwd", "/", "\\", "..\\..\\windows", "C:\\Windows\\system32", "\x00",
    "a\x00b", "/etc/passwd", "con", "nul", "\ud800", "\udfff", "a\ud800b", "💥" * 3, "\u202e", "%s%n", "{0}",
    "'; DROP TABLE runs; --", "__vbtr__", "nan", "null", "true",
])
LONG_TEXT = st.builds(lambda s, n: s * n, st.text(ANY_CHAR, min_size=1, max_size=4), st.integers(1_000, 30_000))
TEXT = st.one_of(st.text(ANY_CHAR, max_size=30), SPECIAL_TEXT, LONG_TEXT)
NON_BLANK = TEXT.filter(lambda s: s.strip())

FIXED_TZ = st.one_of(st.none(), st.just(dt.timezone.utc),
                     st.builds(lambda m: dt.timezone(dt.timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60)))
DATETIMES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=FIXED_TZ)
TIMESTAMPS = st.builds(
    lambda d, ns, unit: (pd.Timestamp(d) + pd.Timedelta(ns, "ns")).as_unit(unit),
    DATETIMES, st.integers(0, 999), st.sampled_from(["s", "ms", "us", "ns"]))

NATIVE = "="  # byte order: the codec stores native-order dtypes only (see test_byte_order_round_trips)
NP_DTYPES = st.one_of(hnp.boolean_dtypes(), hnp.integer_dtypes(endianness=NATIVE),
                      hnp.unsigned_integer_dtypes(endianness=NATIVE),
                      hnp.floating_dtypes(sizes=(16, 32, 64), endianness=NATIVE),
                      hnp.complex_number_dtypes(sizes=(64, 128), endianness=NATIVE),
                      hnp.unicode_string_dtypes(max_len=5, endianness=NATIVE))
NP_SCALARS = NP_DTYPES.flatmap(lambda d: hnp.from_dtype(d).map(d.type))
NP_ARRAYS = NP_DTYPES.flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                                        max_side=3)))

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2 ** 200), max_value=2 ** 200),
    st.floats(), st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324]),
    TEXT, NP_SCALARS, DATETIMES, st.dates(), st.timedeltas(), TIMESTAMPS,
    st.builds(lambda n: pd.Timedelta(n, "ns"), st.integers(-10 ** 15, 10 ** 15)), st.just(pd.NaT),
)
KEYS = st.one_of(  # hashable, and of kinds the codec stores: keys of nested dicts need not be strings
    TEXT, st.integers(), st.floats(), st.booleans(), st.none(), st.sampled_from(["__vbtr__", "v", "dtype"]),
    st.tuples(st.integers(), TEXT), NP_SCALARS.filter(lambda x: not isinstance(x, np.floating) or not np.isnan(x)),
    DATETIMES, TIMESTAMPS,
)
VALUES = st.recursive(
    st.one_of(SCALARS, NP_ARRAYS),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
PARAM_NAMES = NON_BLANK.filter(lambda k: k not in RUN_FIELDS and k not in METRIC_NAMES)
PARAMS = st.dictionaries(PARAM_NAMES, VALUES, max_size=4)
TAGS = st.lists(NON_BLANK, max_size=5)

Point = namedtuple("Point", "x y")


class MyInt(int):
    pass


class MyStr(str):
    pass


UNSUPPORTED = st.sampled_from([
    {1, 2}, frozenset({1}), b"bytes", bytearray(b"x"), object(), np.datetime64("2020-01-01"),
    np.timedelta64(1, "D"), np.array([1, "a"], dtype=object), np.array([np.datetime64("2020-01-01")]),
    dt.time(12, 0), pd.Period("2020-01"), Decimal("1.1"), fractions.Fraction(1, 3), Point(1, 2),
    OrderedDict(a=1), MyInt(3), MyStr("s"), np.zeros(2, dtype=[("a", "i4")]), range(3), print, Ellipsis,
    pd.Series([1, 2]), pd.DataFrame({"a": [1]}), pd.Index([1]), np.void(b"\x00"),
])
MAYBE_BAD_VALUES = st.recursive(
    st.one_of(SCALARS, UNSUPPORTED),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(st.one_of(KEYS, st.sampled_from([frozenset({1}), b"k"])), inner,
                                            max_size=3)),
    max_leaves=6,
)
MAYBE_BAD_PARAMS = st.dictionaries(
    st.one_of(PARAM_NAMES, st.sampled_from(["", " ", "name", "run_id", "tags", "sharpe_ratio", "total_return"]),
              st.integers(), st.none(), st.tuples(st.integers())),
    MAYBE_BAD_VALUES, max_size=4)


def dedup(tags):
    out = []
    for t in tags:
        if t not in out:
            out.append(t)
    return out


def snapshot(reg):
    """What must not change when input is refused: the runs, and every file with its size and mtime."""
    reg.list()  # let the index settle (a compaction may be due) before looking
    return len(reg), sorted(reg), files_of(reg.store.root)


# ############# Accepted input round-trips exactly ############# #


@SETTINGS
@given(name=NON_BLANK, tags=TAGS, notes=TEXT, params=PARAMS, status=st.one_of(st.none(), NON_BLANK))
def test_accepted_metadata_round_trips_exactly(base, pf, name, tags, notes, params, status):
    reg = fresh(base)
    rec = reg.register(pf, name=name, params=params, tags=tags, notes=notes, status=status)
    for got in (rec, reg.get(rec.run_id), RunRegistry(reg.store.root).get(rec.run_id)):
        assert same(got.name, name) and same(got.notes, notes) and same(got.status, status)
        assert same(got.tags, dedup(tags))
        assert same(got.params, params), (got.params, params)
    row = reg.store.table().loc[rec.run_id]
    assert same(row["name"], name) and same(row["notes"], notes) and same(row["tags"], tuple(dedup(tags)))
    assert same(row["status"], status)


@SETTINGS
@given(name=NON_BLANK, tags=TAGS, notes=TEXT, add=TAGS, status=TEXT)
def test_accepted_updates_round_trip_exactly(reg, pf, name, tags, notes, add, status):
    run_id = sorted(reg)[0]
    reg.update(run_id, name=name, notes=notes, tags=tags, add_tags=add, status=status)
    expected_tags = dedup(dedup(tags) + [t for t in dedup(add) if t not in tags])
    for got in (reg.get(run_id), RunRegistry(reg.store.root).get(run_id)):
        assert same(got.name, name) and same(got.notes, notes) and same(got.tags, expected_tags)
        assert same(got.status, status or None)
    row = reg.store.table().loc[run_id]
    assert same(row["name"], name) and same(row["notes"], notes) and same(row["tags"], tuple(expected_tags))


@pytest.mark.parametrize("value", [
    (1, (2, (3,))), [np.int8(-1), np.uint64(2 ** 64 - 1), np.float16(0.1), np.complex64(1 - 2j)],
    1 + 2j, complex(float("nan"), -math.inf),
    {"nested": {(1, "a"): [float("nan"), -0.0], None: {True: "t"}, 2.5: np.arange(4).reshape(2, 2)}},
    {"__vbtr__": "tuple", "v": [1]}, np.array(3.5), np.array([], dtype="<U3").reshape(0, 2),
    np.array([[1 + 1j, np.nan]], dtype=np.complex128), pd.Timestamp("2024-06-01 12:00:00.000000001", tz="UTC"),
    pd.Timestamp("2024-06-01", tz=dt.timezone(dt.timedelta(hours=-5))).as_unit("s"),
    dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))), dt.date(1, 1, 1),
    dt.timedelta(days=-1, microseconds=1), pd.Timedelta(1, "ns"), pd.NaT, 2 ** 300, -(2 ** 300), "\ud800\x00",
])
def test_accepted_values_examples(base, pf, value):
    reg = fresh(base)
    rec = reg.register(pf, name="examples", params={"v": value, "in_list": [value], "in_tuple": (value,)})
    got = reg.get(rec.run_id).params
    assert same(got["v"], value) and same(got["in_list"], [value]) and same(got["in_tuple"], (value,))


def test_iana_time_zone_round_trips(base, pf):
    reg = fresh(base)
    ts = pd.Timestamp("2024-01-15 12:00", tz="Europe/Paris")
    d = dt.datetime(2024, 1, 15, 12, tzinfo=ZoneInfo("America/New_York"))
    got = reg.get(reg.register(pf, name="tz", params={"ts": ts, "d": d}).run_id).params
    assert got["ts"] == ts and got["ts"].utcoffset() == ts.utcoffset()  # this much holds
    assert got["d"] == d and got["d"].utcoffset() == d.utcoffset()
    assert str(got["ts"].tz) == "Europe/Paris" and got["d"].tzinfo == d.tzinfo  # this does not


def test_longdouble_round_trips_or_is_refused(base, pf):
    reg = fresh(base)
    value = np.longdouble(1) / np.longdouble(3)
    if np.finfo(np.longdouble).eps == np.finfo(np.float64).eps:
        pytest.skip("longdouble is float64 on this platform")
    try:
        rec = reg.register(pf, name="ld", params={"v": value})
    except (TypeError, ValueError):
        return  # refusing it would be fine too
    assert reg.get(rec.run_id).params["v"] == value


def test_datetime_fold_round_trips(base, pf):
    reg = fresh(base)
    d = dt.datetime(2024, 10, 27, 2, 30, fold=1)
    assert reg.get(reg.register(pf, name="fold", params={"d": d}).run_id).params["d"].fold == 1


def test_byte_order_round_trips(base, pf):
    reg = fresh(base)
    value = np.arange(3, dtype=">i4" if np.little_endian else "<i4")
    assert reg.get(reg.register(pf, name="bo", params={"v": value}).run_id).params["v"].dtype == value.dtype


# ############# Rejected input changes nothing ############# #

NOT_STR = UNSUPPORTED.filter(lambda x: not isinstance(x, str))
BAD_NAMES = st.one_of(st.sampled_from(["", " ", "\t\n", "\u2028", "\x1f"]), st.none(), st.integers(), st.binary(),
                      st.lists(TEXT, max_size=2), NOT_STR)
BAD_TAGS = st.one_of(
    st.integers(), st.binary(), st.dictionaries(TEXT, TEXT, min_size=1, max_size=2), UNSUPPORTED.filter(
        lambda x: not isinstance(x, (set, frozenset, tuple, str))),
    st.lists(st.one_of(st.integers(), st.none(), st.binary(), st.sampled_from(["", " ", "\n"])), min_size=1,
             max_size=3).flatmap(lambda bad: st.lists(NON_BLANK, max_size=2).map(lambda good: good + bad)),
)
BAD_NOTES = st.one_of(st.none(), st.integers(), st.binary(), st.lists(TEXT, max_size=2), NOT_STR)
BAD_PARAMS = st.one_of(
    st.sampled_from([[("a", 1)], "a=1", 5, (1, 2), {1, 2}]),
    st.dictionaries(st.sampled_from(["", " ", "name", "run_id", "column", "deleted_at", "sharpe_ratio",
                                     "max_drawdown"]), VALUES, min_size=1, max_size=1),
    st.dictionaries(st.one_of(st.integers(), st.none(), st.tuples(TEXT), st.binary()), VALUES, min_size=1,
                    max_size=2),
    st.tuples(PARAM_NAMES, UNSUPPORTED, st.integers(0, 3)).map(
        lambda t: {t[0]: [[t[1]]] if t[2] == 0 else ({"k": t[1]} if t[2] == 1 else ((t[1],) if t[2] == 2 else t[1]))}),
)


@SETTINGS
@given(field=st.sampled_from(["name", "tags", "notes", "params", "status"]), data=st.data())
def test_rejected_input_raises_naming_the_field_and_changes_nothing(reg, pf, field, data):
    bad = data.draw({"name": BAD_NAMES, "tags": BAD_TAGS, "notes": BAD_NOTES, "params": BAD_PARAMS,
                     "status": BAD_NAMES.filter(lambda x: x is not None)}[field])
    kwargs = {"name": "ok", "params": {"p": 1}, "tags": ["t"], "notes": "", "status": None, field: bad}
    before = snapshot(reg)
    with pytest.raises((TypeError, ValueError)) as e:
        reg.register(pf, **kwargs)
    assert field in str(e.value).split(":")[0], str(e.value)
    assert snapshot(reg) == before
    if bad is None or (field == "status" and isinstance(bad, str)):
        return  # update(x=None) leaves x as it is; update(status="") clears the status
    if field in ("name", "tags", "notes", "status") and reg.list().shape[0]:
        run_id = sorted(reg)[0]
        record = reg.get(run_id).to_dict()
        before = snapshot(reg)
        with pytest.raises((TypeError, ValueError)) as e:
            reg.update(run_id, **{field: bad})
        assert field in str(e.value).split(":")[0], str(e.value)
        assert snapshot(reg) == before and reg.get(run_id).to_dict() == record


@SETTINGS
@given(params=MAYBE_BAD_PARAMS)
def test_any_params_are_stored_exactly_or_refused(base, pf, params):
    reg = fresh(base)
    before = snapshot(reg)
    try:
        rec = reg.register(pf, name="maybe", params=params)
    except (TypeError, ValueError) as e:
        assert str(e).startswith("params"), str(e)
        assert snapshot(reg) == before
        return
    assert same(reg.get(rec.run_id).params, params)


# ############# Run ids from outside ############# #


@pytest.fixture(scope="module")
def bait(reg, pf, tmp_path_factory):
    """A real run, and a copy of its folder outside the registry, where a path built from a hostile id could
    find it: ids must never reach either."""
    rec = reg.register(pf, name="bait")
    outside = tmp_path_factory.mktemp("outside")
    shutil.copytree(os.path.join(reg.store.root, "runs", rec.run_id), outside / "evil")
    shutil.copytree(os.path.join(reg.store.root, "runs", rec.run_id), outside / rec.run_id)
    return rec, outside


def hostile_ids(rec, outside):
    rid = rec.run_id
    return st.one_of(
        st.text(ANY_CHAR, max_size=40), st.binary(max_size=40), st.integers(), st.floats(), st.none(),
        st.lists(st.text(max_size=3), max_size=2), st.tuples(st.text(max_size=3)),
        st.sampled_from([
            "", ".", "..", "../", "../..", "../../etc", "/etc/passwd", "~", "~root", "\\\\server\\share",
            str(outside), str(outside / "evil"), str(outside / rid), f"../../{outside.name}/evil",
            f"../{rid}", f"{rid}/..", f"{rid}/", f"/{rid}", f"./{rid}", f"{rid}\n", f"{rid}\x00", f"\x00{rid}",
            f"{rid}/../{rid}", f"runs/{rid}", f"trash/{rid}", rid.upper(), rid + "0", rid[:-1],
            rid.replace("T", "t"), rid.replace("2", "\uff12"), rid.replace("0", "\u0660"), " " + rid, rid + " ",
            rid.encode(), [rid], (rid,), {rid: 1}.keys(), "x" * 100_000, "20240101T000000000000Z-deadbeef",
        ]),
    )


@given(data=st.data())
@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_hostile_run_ids_never_reach_a_path(reg, pf, bait, data):
    rec, outside = bait
    run_id = data.draw(hostile_ids(rec, outside))
    assume(run_id != rec.run_id)
    outside_before = files_of(outside)
    before = snapshot(reg)
    for call in (lambda: reg.get(run_id), lambda: reg.load(run_id), lambda: reg.delete(run_id),
                 lambda: reg.delete(run_id, purge=True), lambda: reg.update(run_id, notes="pwned"),
                 lambda: reg.restore(run_id), lambda: reg.compare([run_id]),
                 lambda: reg.store.read(run_id), lambda: reg.store.read_part(run_id, "portfolio", deleted=True),
                 lambda: reg.store.purge(run_id)):
        with pytest.raises(RunNotFoundError):
            call()
    assert (run_id in reg) is False
    assert snapshot(reg) == before and files_of(outside) == outside_before
    assert reg.get(rec.run_id).name == "bait"


LABEL_ITEMS = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none(),
                        st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5).map(np.int64),
                        st.tuples(st.integers(), st.floats()))


@given(st.lists(st.one_of(st.tuples(LABEL_ITEMS, LABEL_ITEMS), st.tuples(LABEL_ITEMS), LABEL_ITEMS,
                          st.lists(LABEL_ITEMS, max_size=3)), max_size=30))
@settings(max_examples=200, deadline=None)
def test_column_labels_round_trip_through_json_exactly(labels):
    """A sweep's labels go through `codec` as run.json keeps them, the plain tuples by a shortcut: what comes
    back has the same values of the same types, item by item (NaN as NaN, the sign of zero, NumPy scalars)."""
    from vectorbt.portfolio.registry import codec

    got = codec.decode(codec.loads(codec.dumps(codec.encode(labels, "columns"))))
    assert _same(got, labels)


def _same(a, b):
    """Equal values of the same types, item by item (NaN as NaN, the sign of zero, NumPy scalars)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (float, np.floating)) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, (float, np.floating)):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), st.one_of(
    st.lists(st.tuples(*[LABEL_ITEMS] * k), max_size=30),  # a sweep's labels: by level when k > 1
    st.lists(st.one_of(st.tuples(*[LABEL_ITEMS] * k), LABEL_ITEMS), max_size=30)))))
@settings(max_examples=200, deadline=None)
def test_column_labels_round_trip_level_by_level(case):
    """Schema 3 keeps the labels of a sweep over several levels level by level (`codec.encode_labels`); labels of
    one level, or that are not all tuples of one value per level, as `encode` does. Either way what comes back
    is what went in, and a record of schema 3 reads its labels back the same."""
    from vectorbt.portfolio.registry import codec
    from vectorbt.portfolio.registry.run import RunRecord

    n_levels, labels = case
    encoded = codec.encode_labels(labels, n_levels)
    by_level = n_levels > 1 and bool(labels) and all(type(x) is tuple and len(x) == n_levels for x in labels)
    assert (isinstance(encoded, dict) and encoded.get(codec.TAG) == "levels") is by_level
    assert _same(codec.decode(codec.loads(codec.dumps(encoded))), labels)
    names = [f"level{i}" for i in range(n_levels)] if by_level else [None]
    try:
        record = RunRecord(run_id="20240101T000000000000Z-00000000", name="x",
                           created_at=dt.datetime.now(dt.timezone.utc), columns=labels, column_names=names)
        record.metrics = pd.DataFrame(np.zeros((len(labels), 1)), index=record.column_index, columns=["total_return"])
    except (TypeError, ValueError):  # labels that pandas cannot make an index of: no portfolio has them
        return
    back = RunRecord.from_dict(codec.loads(codec.dumps(record.to_dict())), record.metrics.to_numpy())
    assert _same(back.columns, labels)


@pytest.mark.parametrize("levels", [[], [[1, 2]], [[1, 2], [3]], [[1], "a"], "ab", None, [[1], [2], [3, 4]]])
def test_damaged_labels_by_level_are_refused(levels):
    """run.json is data from the disk: labels by level that are not lists of equal length are refused."""
    from vectorbt.portfolio.registry import codec

    with pytest.raises(ValueError, match="column labels by level"):
        codec.decode({codec.TAG: "levels", "v": levels})


def test_decoding_a_record_pauses_the_garbage_collector_and_always_restores_it():
    """`RunRecord.from_bytes` parses with the cyclic collector paused (a large sweep's metadata would trigger
    full collections of the process's heap), and leaves it as it found it: running or not, and when the bytes
    do not parse."""
    import gc

    from vectorbt.portfolio.registry import IntegrityError, codec
    from vectorbt.portfolio.registry.run import RunRecord

    seen = []
    with codec.collector_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled()
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            with pytest.raises(IntegrityError, match="not valid JSON"):
                RunRecord.from_bytes("20240101T000000000000Z-00000000", b"{not json", b"")
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
