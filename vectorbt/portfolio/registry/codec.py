"""Exact, valid-JSON encoding of the values users attach to runs (params, column labels, metric values).

Plain JSON loses information that matters in a backtest's parameters: tuples come back as lists, NaN and
±inf are not valid JSON at all, `np.int64(5)` and `5` are indistinguishable, and timestamps have no type.
`encode` turns a value into plain JSON data, marking every value that JSON cannot hold as itself with a
small tagged object `{"__vbtr__": kind, ...}`; `decode` turns it back into an equal value of the same type.

Supported: `None`, `bool`, `int`, `float` (NaN and ±inf included), `complex`, `str` (any code point, NUL included),
`list`, `tuple`, `dict` (any keys that are themselves supported and hashable), NumPy scalars and
arrays of bool, integer, float, complex and string dtypes (byte order kept; not `np.longdouble` or
`np.clongdouble`, whose extra precision JSON cannot hold), `datetime.datetime` (`fold` kept)/`date`/`timedelta`,
`pd.Timestamp`, `pd.Timedelta`. A time zone is kept as its offset and, for named zones (`zoneinfo`, `pytz`,
`dateutil`), as its name, restored as a zone of the same kind when this machine knows it. Anything else raises
`TypeError` naming the offending field.

```pycon
>>> import numpy as np
>>> from vectorbt.portfolio.registry.codec import encode, decode
>>> value = {"window": np.int64(10), "range": (1, 2), "stop": float("nan")}
>>> encode(value)
{'window': {'__vbtr__': 'np', 'dtype': 'int64', 'v': 10}, 'range': {'__vbtr__': 'tuple', 'v': [1, 2]}, \
'stop': {'__vbtr__': 'float', 'v': 'nan'}}
>>> decode(encode(value))["window"]
np.int64(10)
```

`encode_labels` encodes the column labels of a sweep over several levels level by level (a run's `run.json` of
schema 3): one tagged object `{"__vbtr__": "levels", "v": [[...], [...]]}` with a list of values per level,
which `decode` turns back into the list of tuples. Parsed, that is a few lists of (mostly shared) small values,
where a tagged object per label is thousands of dicts: reading the labels of a 10,000-configuration sweep takes
a fifth of the time.
"""

import contextlib
import datetime as dt
import gc
import json
import math
import os

import numpy as np
import pandas as pd

from vectorbt import _typing as tp

__all__ = ["encode", "encode_labels", "decode", "dumps", "loads", "canonical"]

TAG = "__vbtr__"
"""Key that marks a tagged value. A user dict holding this key is itself stored in the tagged form."""

_ARRAY_KINDS = "biufcU"
"""NumPy dtype kinds stored as arrays: bool, signed and unsigned int, float, complex, unicode."""


def _float(value: float) -> tp.Any:
    if math.isfinite(value):
        return value
    return {TAG: "float", "v": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _dtype(dtype: np.dtype) -> str:
    """The stored form of a dtype: its name where that is exact (`'int64'`, as older versions wrote), else
    `dtype.str`, which keeps the byte order (`'>i2'`) and the length of strings (`'<U5'`)."""
    if dtype.kind == "U" or np.dtype(dtype.name) != dtype:
        return dtype.str
    return dtype.name


def _check_precision(dtype: np.dtype, field: str, what: str) -> None:
    if dtype.type in _EXTENDED:
        raise TypeError(f"{field}: NumPy {what} of dtype {dtype} cannot be stored exactly (more precision than "
                        "float64 holds); convert to float64/complex128 first")


_EXTENDED = tuple({np.longdouble, np.clongdouble} - {np.float64, np.complex128})
"""Extended-precision NumPy types: JSON numbers (float64) cannot hold them exactly, so they are refused."""


def _zone(tz: tp.Any) -> tp.Optional[tp.Tuple[str, str]]:
    """(library, name) of a named time zone, or None for fixed offsets (UTC included) and unnamed zones."""
    module = type(tz).__module__
    if module == "zoneinfo" or module.startswith("zoneinfo."):
        key = getattr(tz, "key", None)
        return ("zoneinfo", key) if isinstance(key, str) and key else None
    if module.startswith("pytz"):
        zone = getattr(tz, "zone", None)
        return ("pytz", zone) if isinstance(zone, str) and zone else None
    if module.startswith("dateutil"):
        filename = getattr(tz, "_filename", None)
        if not isinstance(filename, str) or not filename or type(tz).__name__ != "tzfile":
            return None
        if "zoneinfo" + os.sep in filename:
            filename = filename.rsplit("zoneinfo" + os.sep, 1)[1]
        return None if os.path.isabs(filename) else ("dateutil", filename)
    return None


def _encode_zone(out: tp.Dict[str, tp.Any], tz: tp.Any) -> tp.Dict[str, tp.Any]:
    zone = _zone(tz) if tz is not None else None
    if zone is not None:
        out["tz"] = zone[1]
        if zone[0] != "zoneinfo":
            out["tzlib"] = zone[0]
    return out


def _decode_zone(data: tp.Dict[str, tp.Any]) -> tp.Any:
    """The named time zone stored with a timestamp, or None if there is none or this machine lacks it."""
    name = data.get("tz")
    if not isinstance(name, str):
        return None
    lib = data.get("tzlib", "zoneinfo")
    try:
        if lib == "pytz":
            import pytz

            return pytz.timezone(name)
        if lib == "dateutil":
            from dateutil import tz as dateutil_tz

            return dateutil_tz.gettz(name)
        import zoneinfo

        return zoneinfo.ZoneInfo(name)
    except (ImportError, KeyError, ValueError, OSError):  # unknown zone or library here: keep the offset
        return None


def _np_scalar_value(value: np.generic) -> tp.Any:
    if isinstance(value, np.floating):
        return _float(float(value))
    if isinstance(value, np.complexfloating):
        return [_float(float(value.real)), _float(float(value.imag))]
    return value.item()


def encode(value: tp.Any, field: str = "value") -> tp.Any:
    """Encode `value` into JSON-compatible data; raise `TypeError` naming `field` for what cannot be stored."""
    # exact type checks: subclasses (np.str_, np.float64, IntEnum, ...) are tagged below or refused
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return _float(value)
    if type(value) is complex:
        return {TAG: "complex", "v": [_float(value.real), _float(value.imag)]}
    if isinstance(value, np.generic):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"{field}: NumPy scalars of dtype {value.dtype} cannot be stored")
        _check_precision(value.dtype, field, "scalars")
        return {TAG: "np", "dtype": _dtype(value.dtype), "v": _np_scalar_value(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"{field}: NumPy arrays of dtype {value.dtype} cannot be stored")
        _check_precision(value.dtype, field, "arrays")
        flat = [_np_scalar_value(x) for x in value.reshape(-1)]
        return {TAG: "ndarray", "dtype": _dtype(value.dtype), "shape": list(value.shape), "v": flat}
    if isinstance(value, pd.Timestamp):
        if value is pd.NaT:
            return {TAG: "nat"}
        return _encode_zone({TAG: "timestamp", "v": value.isoformat(), "unit": value.unit}, value.tz)
    if value is pd.NaT:
        return {TAG: "nat"}
    if isinstance(value, pd.Timedelta):
        return {TAG: "pd_timedelta", "v": int(value.value), "unit": value.unit}
    if type(value) is dt.datetime:
        out = _encode_zone({TAG: "datetime", "v": value.isoformat()}, value.tzinfo)
        if value.fold:
            out["fold"] = 1
        return out
    if type(value) is dt.date:
        return {TAG: "date", "v": value.isoformat()}
    if type(value) is dt.timedelta:
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if type(value) is list:
        return [encode(x, f"{field}[{i}]") for i, x in enumerate(value)]
    if type(value) is tuple:
        return {TAG: "tuple", "v": [encode(x, f"{field}[{i}]") for i, x in enumerate(value)]}
    if type(value) is dict:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: encode(v, f"{field}[{k!r}]") for k, v in value.items()}
        items = []
        for k, v in value.items():
            items.append([encode(k, f"{field} key {k!r}"), encode(v, f"{field}[{k!r}]")])
        return {TAG: "dict", "v": items}
    raise TypeError(
        f"{field}: values of type {type(value).__module__}.{type(value).__qualname__} cannot be stored; "
        "use None, bool, int, float, str, list, tuple, dict, NumPy scalars or arrays, or timestamps"
    )


def encode_labels(labels: tp.Sequence[tp.Any], n_levels: int, field: str = "columns") -> tp.Any:
    """Encode a list of column labels: level by level (see the module) when there are several levels and every
    label is a tuple of one value per level, else as `encode` does.

    ```pycon
    >>> from vectorbt.portfolio.registry.codec import encode_labels, decode
    >>> encode_labels([(2, "a"), (3, "b")], 2)
    {'__vbtr__': 'levels', 'v': [[2, 3], ['a', 'b']]}
    >>> decode(encode_labels([(2, "a"), (3, "b")], 2))
    [(2, 'a'), (3, 'b')]
    ```
    """
    labels = list(labels)
    if n_levels < 2 or not labels or not all(type(x) is tuple and len(x) == n_levels for x in labels):
        return encode(labels, field)
    return {TAG: "levels", "v": [[encode(x, f"{field} level {i}") for x in level]
                                 for i, level in enumerate(zip(*labels))]}


def _decode_levels(v: tp.Any) -> tp.List[tp.Tuple[tp.Any, ...]]:
    """The labels of `encode_labels`' level-by-level form."""
    if type(v) is not list or len(v) < 2 or not all(type(level) is list for level in v):
        raise ValueError("column labels by level: expected a list of at least two lists")
    if len({len(level) for level in v}) != 1:
        raise ValueError("column labels by level: the levels differ in length")
    return list(zip(*(level if _PLAIN.issuperset(map(type, level)) else _decode_list(level) for level in v)))


def _hashable(value: tp.Any) -> tp.Any:
    if isinstance(value, list):
        return tuple(_hashable(x) for x in value)
    return value


_PLAIN = frozenset({int, str, bool, float, type(None)})
"""Types of JSON values that decode to themselves (NaN and ±inf are tagged, so a plain float is finite)."""


def decode(data: tp.Any) -> tp.Any:
    """Invert `encode`: turn JSON data back into the value that was encoded."""
    if isinstance(data, list):
        return _decode_list(data)
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    if kind is None:
        return {k: decode(v) for k, v in data.items()}
    v = data.get("v")
    if kind == "tuple":
        if _PLAIN.issuperset(map(type, v)):  # the usual label, (3, 5) or ("BTC", 10): nothing to decode
            return tuple(v)
        return tuple(decode(x) for x in v)
    if kind == "levels":
        return _decode_levels(v)
    if kind == "float":
        return float(v)
    if kind == "complex":
        return complex(decode(v[0]), decode(v[1]))
    if kind == "dict":
        return {_hashable(decode(k)): decode(x) for k, x in v}
    if kind == "np":
        dtype = np.dtype(data["dtype"])
        if dtype.kind == "c":
            return dtype.type(complex(decode(v[0]), decode(v[1])))
        return dtype.type(decode(v))
    if kind == "ndarray":
        dtype = np.dtype(data["dtype"])
        if dtype.kind == "c":
            flat = [complex(decode(x[0]), decode(x[1])) for x in v]
        else:
            flat = [decode(x) for x in v]
        return np.array(flat, dtype=dtype).reshape(data["shape"])
    if kind == "timestamp":
        ts = pd.Timestamp(v)
        zone = _decode_zone(data) if ts.tz is not None else None
        if zone is not None:
            ts = ts.tz_convert(zone)
        return ts.as_unit(data.get("unit", "ns"))
    if kind == "nat":
        return pd.NaT
    if kind == "pd_timedelta":
        return pd.Timedelta(v, unit="ns").as_unit(data.get("unit", "ns"))
    if kind == "datetime":
        value = dt.datetime.fromisoformat(v)
        zone = _decode_zone(data) if value.tzinfo is not None else None
        if zone is not None:
            value = value.astimezone(zone)  # the same instant, hence the same offset and wall time
        return value.replace(fold=1) if data.get("fold") else value
    if kind == "date":
        return dt.date.fromisoformat(v)
    if kind == "timedelta":
        return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
    raise ValueError(f"unknown tagged value {kind!r} in stored data (written by a newer version?)")


def _decode_list(data: tp.List[tp.Any]) -> tp.List[tp.Any]:
    """`decode` of each item; the labels of a sweep (a list of plain tuples, thousands of them) without a call
    per label."""
    out = []
    append = out.append
    for x in data:
        if type(x) is dict and x.get(TAG) == "tuple":
            v = x.get("v")
            if type(v) is list and _PLAIN.issuperset(map(type, v)):
                append(tuple(v))
                continue
        append(decode(x) if isinstance(x, (list, dict)) else x)
    return out


@contextlib.contextmanager
def collector_paused() -> tp.Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (if it was running): for parsing and decoding a
    large document, such as the metadata of a 10,000-configuration sweep. Its temporary dicts and lists are
    freed by reference counting as the block goes; collections that their allocations would trigger meanwhile
    scan the whole heap of the process (long in a notebook holding big frames: 0.2 s a time was seen) and find
    nothing to free."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def dumps(data: tp.Any, indent: tp.Optional[int] = None) -> bytes:
    """Serialize already-encoded data to strict JSON bytes (NaN and ±inf are refused, all text ASCII-escaped)."""
    return json.dumps(data, allow_nan=False, ensure_ascii=True, indent=indent).encode("ascii")


def loads(raw: tp.Union[bytes, str]) -> tp.Any:
    """Parse JSON bytes written by `dumps` (not decoded: call `decode` on the parts that need it)."""
    return json.loads(raw)


def canonical(value: tp.Any) -> str:
    """A stable text form of a value (sorted keys), used for hashing params and comparing them."""
    return json.dumps(encode(value), sort_keys=True, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
