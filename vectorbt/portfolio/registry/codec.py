"""Exact, valid-JSON encoding of the values users attach to runs (params, column labels, metric values).

Plain JSON loses information that matters in a backtest's parameters: tuples come back as lists, NaN and
±inf are not valid JSON at all, `np.int64(5)` and `5` are indistinguishable, and timestamps have no type.
`encode` turns a value into plain JSON data, marking every value that JSON cannot hold as itself with a
small tagged object `{"__vbtr__": kind, ...}`; `decode` turns it back into an equal value of the same type.

Supported: `None`, `bool`, `int`, `float` (NaN and ±inf included), `str` (any code point, NUL included),
`list`, `tuple`, `dict` (any keys that are themselves supported and hashable), NumPy scalars and arrays of
bool, integer, float, complex and string dtypes, `datetime.datetime`/`date`/`timedelta`, `pd.Timestamp`
(time zone kept), `pd.Timedelta`. Anything else raises `TypeError` naming the offending field.

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
"""

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from vectorbt import _typing as tp

__all__ = ["encode", "decode", "dumps", "loads", "canonical"]

TAG = "__vbtr__"
"""Key that marks a tagged value. A user dict holding this key is itself stored in the tagged form."""

_ARRAY_KINDS = "biufcU"
"""NumPy dtype kinds stored as arrays: bool, signed and unsigned int, float, complex, unicode."""


def _float(value: float) -> tp.Any:
    if math.isfinite(value):
        return value
    return {TAG: "float", "v": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _decode_float(text: str) -> float:
    return float(text)


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
    if isinstance(value, np.generic):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"{field}: NumPy scalars of dtype {value.dtype} cannot be stored")
        return {TAG: "np", "dtype": value.dtype.str if value.dtype.kind == "U" else value.dtype.name,
                "v": _np_scalar_value(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"{field}: NumPy arrays of dtype {value.dtype} cannot be stored")
        flat = [_np_scalar_value(x) for x in value.reshape(-1)]
        dtype = value.dtype.str if value.dtype.kind == "U" else value.dtype.name
        return {TAG: "ndarray", "dtype": dtype, "shape": list(value.shape), "v": flat}
    if isinstance(value, pd.Timestamp):
        if value is pd.NaT:
            return {TAG: "nat"}
        return {TAG: "timestamp", "v": value.isoformat(), "unit": value.unit}
    if value is pd.NaT:
        return {TAG: "nat"}
    if isinstance(value, pd.Timedelta):
        return {TAG: "pd_timedelta", "v": int(value.value), "unit": value.unit}
    if type(value) is dt.datetime:
        return {TAG: "datetime", "v": value.isoformat()}
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


def _hashable(value: tp.Any) -> tp.Any:
    if isinstance(value, list):
        return tuple(_hashable(x) for x in value)
    return value


def decode(data: tp.Any) -> tp.Any:
    """Invert `encode`: turn JSON data back into the value that was encoded."""
    if isinstance(data, list):
        return [decode(x) for x in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    if kind is None:
        return {k: decode(v) for k, v in data.items()}
    v = data.get("v")
    if kind == "float":
        return _decode_float(v)
    if kind == "tuple":
        return tuple(decode(x) for x in v)
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
        return pd.Timestamp(v).as_unit(data.get("unit", "ns"))
    if kind == "nat":
        return pd.NaT
    if kind == "pd_timedelta":
        return pd.Timedelta(v, unit="ns").as_unit(data.get("unit", "ns"))
    if kind == "datetime":
        return dt.datetime.fromisoformat(v)
    if kind == "date":
        return dt.date.fromisoformat(v)
    if kind == "timedelta":
        return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
    raise ValueError(f"unknown tagged value {kind!r} in stored data (written by a newer version?)")


def dumps(data: tp.Any, indent: tp.Optional[int] = None) -> bytes:
    """Serialize already-encoded data to strict JSON bytes (NaN and ±inf are refused, all text ASCII-escaped)."""
    return json.dumps(data, allow_nan=False, ensure_ascii=True, indent=indent).encode("ascii")


def loads(raw: tp.Union[bytes, str]) -> tp.Any:
    """Parse JSON bytes written by `dumps` (not decoded: call `decode` on the parts that need it)."""
    return json.loads(raw)


def canonical(value: tp.Any) -> str:
    """A stable text form of a value (sorted keys), used for hashing params and comparing them."""
    return json.dumps(encode(value), sort_keys=True, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
