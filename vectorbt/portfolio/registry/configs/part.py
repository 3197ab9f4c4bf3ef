"""One run's configurations column-wise: `ConfigTable`, and the run's `"configs"` part that holds it.

`configs_bytes(record)` writes an `.npz` archive of two plain uint8 arrays, loaded with `allow_pickle=False`:
`meta`, a JSON document, and `data`, the bytes of the arrays `meta` describes (each at an 8-byte aligned
`offset`, with its `dtype` and `shape`). `meta` holds:

- `format` (`"vectorbt-registry-configs"`), `version` (`CONFIGS_VERSION`), `n` (the number of configurations);
- `names`: the names of the column levels (`record.column_names`; a named level is a per-configuration
  parameter, an unnamed one only part of the label), and `form`: how a label is made of the levels,
  `"scalar"` (one level), `"tuple"` or `"list"` (one value per level), or `"whole"` (labels that do not
  split into the levels, kept whole as one coded level);
- `levels`: per level, its `kind` and `array`. A **typed** level holds all its values in one array, when
  they are all of one kind that an array holds exactly: `"int"` (Python ints, stored in the smallest integer
  type that holds them), `"float"`, `"bool"`, `"np"` (NumPy scalars of one dtype) or `"time"`
  (`pd.Timestamp`s of one unit and time zone: int64 in that unit, plus a `sample` timestamp, `codec`-encoded,
  for the zone). Any other level is **dictionary-coded** (`"coded"`): its distinct values once, as a
  `codec`-encoded JSON text (`uniques`), and a code per configuration (uint8, uint16 or int32). A typed level
  is checked to read back as the values it was made of (types, NaN, the sign of zero, units, zones);
- `params`: the run's parameters (`record.params`), each a `codec`-encoded JSON text;
- `metric_names` and `metrics`: the metric matrix, float64, n x len(metric_names).

Reading decodes JSON per distinct value (once per process for texts that many runs share, such as a sweep's
grid or its parameters), never per configuration.

```pycon
>>> from vectorbt.portfolio.registry.configs import configs_bytes, read_configs
>>> from vectorbt.portfolio.registry.testing.records import make_run
>>> record, _ = make_run(0, n_columns=4, level="fast_window", params={"fee": 0.001})
>>> table = read_configs(configs_bytes(record))
>>> table.n, table.labels() == record.columns, [level.kind for level in table.levels]
(4, True, ['int'])
>>> table.metrics.shape, list(table.pieces())
((4, 25), ['fee', 'fast_window'])
```
"""

import functools
import io
import json
import math
import zipfile

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import IntegrityError, SchemaVersionError
from vectorbt.portfolio.registry.npz import read_npz
from vectorbt.portfolio.registry.run import PART_FILES, RunRecord
from vectorbt.portfolio.registry.spec import CONFIGS

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.stores.base import RunStore

__all__ = ["ConfigTable", "Level", "configs_bytes", "read_configs", "read_metrics", "configs_of",
           "read_run_configs", "CONFIGS_FORMAT", "CONFIGS_VERSION"]

CONFIGS_FORMAT = "vectorbt-registry-configs"
"""`format` of the part's JSON document."""

CONFIGS_VERSION = 1
"""Version of the part's layout; `read_configs` refuses a larger one with `SchemaVersionError`."""

_INTS = (np.int8, np.int16, np.int32, np.int64)
_UNITS = ("s", "ms", "us", "ns")
_CACHED_TEXT = 1 << 16
"""Encoded values (distinct level values, run parameters) up to this many characters are decoded once per
process, however many runs hold the same text (a sweep's grid repeats over its runs)."""


def _objects(values: tp.Sequence[tp.Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # one by one: tuples must stay elements, not become dimensions
        out[i] = v
    return out


def _column(values: tp.Sequence[tp.Any]) -> pd.Series:
    """`values` as `RunRecord.config_params_frame` makes a column of them (the dtype pandas infers)."""
    return pd.DataFrame({"v": list(values)})["v"]


def _identical(a: tp.Any, b: tp.Any) -> bool:
    """Whether a stored value reads back as itself: same type, same value (NaN as NaN, the sign of zero), and
    for timestamps the same unit and time zone."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pd.Timestamp):
        return a == b and a.unit == b.unit and type(a.tz) is type(b.tz) and str(a.tz) == str(b.tz)
    if isinstance(a, (float, np.floating)):
        return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)
    return bool(a == b)


class Level:
    """One column level of a run's configurations: typed (`kind` is `"int"`, `"float"`, `"bool"`, `"np"` or
    `"time"`; `values` an array of them) or dictionary-coded (`"coded"`: `uniques`, an object array of the
    distinct values, and `codes`)."""

    __slots__ = ("kind", "values", "uniques", "codes", "source")

    def __init__(self, kind: str, values: tp.Any = None, uniques: tp.Optional[np.ndarray] = None,
                 codes: tp.Optional[np.ndarray] = None, source: tp.Any = None) -> None:
        self.kind, self.values, self.uniques, self.codes = kind, values, uniques, codes
        self.source = values if source is None else source

    def __len__(self) -> int:
        return len(self.codes if self.kind == "coded" else self.values)

    def take(self, positions: tp.Optional[np.ndarray] = None) -> tp.List[tp.Any]:
        """The values at `positions` (all if None), as the run's labels hold them."""
        if self.kind == "coded":
            return list(self.uniques[self.codes if positions is None else self.codes[positions]])
        values = self.values if positions is None else self.values[positions]
        return values.tolist() if self.kind in ("int", "float", "bool") else list(values)

    def piece(self) -> tp.Tuple[tp.Any, tp.Optional[np.ndarray]]:
        """`(source, codes)`: the level as a parameter column, `source[codes]` (`source` if codes is None), where
        `source` has the dtype that `RunRecord.config_params_frame` gives the column."""
        return self.source, self.codes


class ConfigTable:
    """The configurations of one run, column-wise: what `read_configs` gives and `ConfigCache` keeps.

    `n` configurations; `names`, the names of the column levels (a named level is a per-configuration
    parameter); `levels`, one `Level` per label position; `form`, how a label is made of them (`"scalar"`,
    `"tuple"`, `"list"`, or `"whole"` for labels that do not split into levels, kept as one coded level);
    `params`, the run's parameters by name, each as `(value, source)` (see `_param`); `metrics`, float64
    n x len(`metric_names`)."""

    __slots__ = ("n", "names", "levels", "form", "params", "metrics", "metric_names", "_pieces", "_signature")

    def __init__(self, n: int, names: tp.List[tp.Optional[str]], levels: tp.List[Level], form: str,
                 params: tp.Dict[str, tp.Tuple[tp.Any, tp.Any]], metrics: np.ndarray,
                 metric_names: tp.List[str]) -> None:
        self.n, self.names, self.levels, self.form = n, names, levels, form
        self.params, self.metrics, self.metric_names = params, metrics, metric_names
        self._pieces: tp.Optional[tp.Dict[str, tp.Tuple[tp.Any, tp.Any]]] = None
        self._signature: tp.Any = None

    def __len__(self) -> int:
        return self.n

    def labels(self, positions: tp.Optional[np.ndarray] = None) -> tp.List[tp.Any]:
        """The labels at `positions` (all if None), exactly as `record.columns` holds them."""
        columns = [level.take(positions) for level in self.levels]
        if self.form in ("scalar", "whole"):
            return columns[0]
        return list(zip(*columns)) if self.form == "tuple" else [list(c) for c in zip(*columns)]

    def pieces(self) -> tp.Dict[str, tp.Tuple[tp.Any, tp.Any]]:
        """The run's parameter columns by name, in the order of `RunRecord.config_params_frame`: the run's
        `params` broadcast (`codes` 0), then the named levels, each as `(source, codes)` (see `Level.piece`)."""
        if self._pieces is None:
            pieces: tp.Dict[str, tp.Tuple[tp.Any, tp.Any]] = {}
            for name, (_, source) in self.params.items():
                pieces[name] = (source, 0)
            if self.form == "whole":  # labels that did not split: as the record splits them
                labels, several = self.levels[0].take(), len(self.names) > 1
                for k, name in enumerate(self.names):
                    if name is not None:
                        pieces[name] = (_source(_column([c[k] for c in labels] if several else labels)), None)
            else:
                for name, level in zip(self.names if self.form != "scalar" else self.names[:1], self.levels):
                    if name is not None:
                        pieces[name] = level.piece()
            self._pieces = pieces
        return self._pieces

    @property
    def signature(self) -> tp.Any:
        """What decides the columns and dtypes `pd.concat` gives this run's parameter frame among others': its
        columns, their dtypes, which of them hold only NA, and whether the run has configurations."""
        if self._signature is None:
            self._signature = (self.n > 0, tuple((name, src.dtype, _all_na(src))
                                                 for name, (src, _) in self.pieces().items()))
        return self._signature


def _all_na(src: tp.Any) -> bool:
    return bool(len(src)) and bool(pd.isna(src).all())


def _source(column: pd.Series) -> tp.Any:
    """The values of a column as an array of its dtype: NumPy's for NumPy dtypes, else pandas' own."""
    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


_PLAIN_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64), bool: np.dtype(np.bool_)}
"""The dtype pandas infers for a column of one plain Python int (within int64), float or bool: made directly,
without a DataFrame (a sweep's runs each hold parameters of their own, such as a seed)."""


def _param_source(value: tp.Any, some: bool) -> tp.Any:
    dtype = _PLAIN_DTYPES.get(type(value)) if some else None
    if dtype is not None and (dtype.kind != "i" or -(1 << 63) <= value < (1 << 63)):
        return np.array([value], dtype=dtype)
    return _source(_column([value] if some else []))


@functools.lru_cache(maxsize=4096)
def _cached_param(text: str, some: bool) -> tp.Tuple[tp.Any, tp.Any]:
    value = codec.decode(json.loads(text))
    return value, _param_source(value, some)


def _param(text: str, some: bool) -> tp.Tuple[tp.Any, tp.Any]:
    """`(value, source)` of a run parameter stored as `text`: the value, and its column's values for a run with
    `some` configurations (one value) or none (`RunRecord.config_params_frame` infers the dtype of the column
    from `[value] * n`)."""
    return (_cached_param if len(text) <= _CACHED_TEXT else _cached_param.__wrapped__)(text, some)


def _split(record: RunRecord) -> tp.Tuple[str, tp.List[tp.List[tp.Any]]]:
    labels, width = list(record.columns), len(record.column_names)
    if width > 1:
        for form, kind in (("tuple", tuple), ("list", list)):
            if all(type(c) is kind and len(c) == width for c in labels):
                return form, [list(level) for level in zip(*labels)] if labels else [[] for _ in range(width)]
        return "whole", [labels]
    return "scalar", [labels]


def _typed(values: tp.List[tp.Any]) -> tp.Optional[tp.Tuple[str, np.ndarray, tp.Dict[str, tp.Any]]]:
    """`(kind, array, info)` if all `values` are of one kind an array holds exactly, else None."""
    if not values:
        return None
    first = values[0]
    t = type(first)
    if any(type(v) is not t for v in values):
        return None
    try:
        if t is bool:
            return "bool", np.array(values, dtype=bool), {}
        if t is float:
            return "float", np.array(values, dtype=np.float64), {}
        if t is int:
            array = np.array(values, dtype=np.int64)  # OverflowError beyond int64
            lo, hi = int(array.min()), int(array.max())
            small = next(d for d in _INTS if np.iinfo(d).min <= lo and hi <= np.iinfo(d).max)
            return "int", array.astype(small), {}
        if isinstance(first, np.generic) and first.dtype.kind in "biuf" and first.dtype.itemsize <= 8:
            return "np", np.array(values, dtype=first.dtype), {}
        if t is pd.Timestamp and first.unit in _UNITS and all(v.unit == first.unit for v in values):
            index = pd.DatetimeIndex(values).as_unit(first.unit)  # ValueError for mixed time zones
            return "time", index.asi8, {"unit": first.unit, "sample": codec.encode(first)}
    except (OverflowError, ValueError, TypeError):
        pass
    return None


def _time_values(array: np.ndarray, unit: str, sample: tp.Any) -> tp.Any:
    if unit not in _UNITS:
        raise ValueError(f"unknown time unit {unit!r}")
    index = pd.DatetimeIndex(np.asarray(array, dtype=np.int64).view(f"M8[{unit}]"))
    tz = codec.decode(sample).tz
    return (index if tz is None else index.tz_localize("UTC").tz_convert(tz)).array


def _narrow_codes(codes: np.ndarray, n_uniques: int) -> np.ndarray:
    return codes.astype(np.uint8 if n_uniques <= 1 << 8 else np.uint16 if n_uniques <= 1 << 16 else np.int32)


def configs_bytes(record: RunRecord) -> bytes:
    """The `"configs"` part of a run: its configurations column-wise (see the module's documentation)."""
    form, columns = _split(record)
    chunks: tp.List[bytes] = []
    size = [0]

    def put(array: np.ndarray) -> tp.Dict[str, tp.Any]:
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        spec = {"offset": size[0], "dtype": array.dtype.str, "shape": list(array.shape)}
        raw = array.tobytes()
        pad = -len(raw) % 8
        chunks.append(raw + b"\0" * pad)
        size[0] += len(raw) + pad
        return spec

    levels = []
    for values in columns:
        typed = None if form == "whole" else _typed(values)
        if typed is not None:
            kind, array, info = typed
            stored = Level(kind, _time_values(array, info["unit"], info["sample"]) if kind == "time" else
                           array.astype(np.int64) if kind == "int" else array)
            if all(_identical(a, b) for a, b in zip(values, stored.take())):
                levels.append({"kind": kind, "array": put(array), **info})
                continue
        lookup: tp.Dict[str, int] = {}
        uniques: tp.List[tp.Any] = []
        codes = np.empty(len(values), dtype=np.int64)
        for i, value in enumerate(values):
            key = json.dumps(codec.encode(value, "columns"))
            code = lookup.get(key)
            if code is None:
                code = lookup[key] = len(uniques)
                uniques.append(value)
            codes[i] = code
        levels.append({"kind": "coded", "uniques": codec.dumps(codec.encode(uniques, "columns")).decode("ascii"),
                       "array": put(_narrow_codes(codes, len(uniques)))})
    metrics = np.asarray(record.metrics.to_numpy(dtype=np.float64)).reshape(record.n_columns, -1)
    meta = {
        "format": CONFIGS_FORMAT, "version": CONFIGS_VERSION, "n": record.n_columns,
        "names": list(record.column_names), "form": form, "levels": levels,
        "params": [[k, codec.dumps(codec.encode(v, f"params[{k!r}]")).decode("ascii")]
                   for k, v in record.params.items()],
        "metric_names": [str(m) for m in record.metrics.columns], "metrics": put(metrics),
    }
    buf = io.BytesIO()
    text = json.dumps(meta, allow_nan=False, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    np.savez(buf, meta=np.frombuffer(text, dtype=np.uint8),
             data=np.frombuffer(b"".join(chunks), dtype=np.uint8))
    return buf.getvalue()


@functools.lru_cache(maxsize=4096)
def _decode_uniques(text: str) -> tp.Tuple[np.ndarray, tp.Any]:
    """The distinct values of a coded level stored as `text`, and their column's values (`Level.piece`)."""
    values = codec.decode(json.loads(text))
    if not isinstance(values, list):
        raise ValueError("distinct values: not a list")
    return _objects(values), _source(_column(values))


def _array(blob: np.ndarray, spec: tp.Dict[str, tp.Any], kinds: str = "biuf") -> np.ndarray:
    dtype, shape = np.dtype(spec["dtype"]), tuple(int(s) for s in spec["shape"])
    if dtype.kind not in kinds:
        raise ValueError(f"unexpected dtype {dtype}")
    return np.frombuffer(blob, dtype=dtype, count=math.prod(shape), offset=int(spec["offset"])).reshape(shape)


def _read_level(blob: np.ndarray, spec: tp.Dict[str, tp.Any], n: int) -> Level:
    kind = spec["kind"]
    array = _array(blob, spec["array"])
    if array.shape != (n,):
        raise ValueError(f"a level of {array.shape} values for {n} configurations")
    if kind == "coded":
        text = spec["uniques"]
        uniques, source = (_decode_uniques if len(text) <= _CACHED_TEXT else _decode_uniques.__wrapped__)(text)
        if n and not (array.dtype.kind in "iu" and 0 <= array.min() and array.max() < len(uniques)):
            raise ValueError("codes out of range")
        return Level("coded", uniques=uniques, codes=array, source=source)
    if kind == "int" and array.dtype.kind == "i":
        return Level(kind, array.astype(np.int64))
    if (kind, array.dtype.kind) in (("float", "f"), ("bool", "b"), ("np", "b"), ("np", "i"), ("np", "u"),
                                    ("np", "f")):
        return Level(kind, array.astype(array.dtype.newbyteorder("=")))
    if kind == "time" and array.dtype.kind == "i":
        return Level(kind, _time_values(array, spec["unit"], spec["sample"]))
    raise ValueError(f"unknown level kind {kind!r} of dtype {array.dtype}")


def read_configs(data: bytes, run_id: tp.Optional[str] = None) -> ConfigTable:
    """The `ConfigTable` of a `"configs"` part written by `configs_bytes`. Never unpickles; bytes that are not
    such a part raise `IntegrityError` (naming `run_id` and the part's file), a newer layout
    `SchemaVersionError`."""
    meta, blob = _open_part(data, run_id)
    try:
        n, names, form = int(meta["n"]), list(meta["names"]), meta["form"]
        levels = [_read_level(blob, spec, n) for spec in meta["levels"]]
        width = 1 if form in ("scalar", "whole") else len(names)
        if form not in ("scalar", "tuple", "list", "whole") or len(levels) != width:
            raise ValueError(f"{len(levels)} levels for labels of the form {form!r} with {len(names)} names")
        params = {str(k): _param(str(text), n > 0) for k, text in meta["params"]}
        metric_names, metrics = _metrics(meta, blob)
        return ConfigTable(n, names, levels, form, params, metrics, metric_names)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise IntegrityError(run_id, PART_FILES[CONFIGS], f"damaged ({type(e).__name__}: {e})") from e


def read_metrics(data: bytes, run_id: tp.Optional[str] = None) -> tp.Tuple[tp.List[str], np.ndarray]:
    """`(metric names, metric matrix)` of a `"configs"` part, without decoding its levels: where a run of
    schema 4 and later keeps its metrics (`run.METRICS_IN_CONFIGS_SCHEMA_VERSION`). The matrix is a read-only
    view of `data`. Raises as `read_configs` does."""
    meta, blob = _open_part(data, run_id)
    try:
        return _metrics(meta, blob)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise IntegrityError(run_id, PART_FILES[CONFIGS], f"damaged ({type(e).__name__}: {e})") from e


def _open_part(data: bytes, run_id: tp.Optional[str]) -> tp.Tuple[tp.Dict[str, tp.Any], np.ndarray]:
    """The JSON document of a `"configs"` part and the bytes of its arrays, its format and version checked."""
    file = PART_FILES[CONFIGS]
    try:
        arrays = read_npz(data)
        meta, blob = json.loads(arrays["meta"].tobytes()), arrays["data"]
    except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise IntegrityError(run_id, file, f"unreadable ({type(e).__name__}: {e})") from e
    if not isinstance(meta, dict) or meta.get("format") != CONFIGS_FORMAT or not isinstance(meta.get("version"), int):
        raise IntegrityError(run_id, file, "not a table of configurations")
    if meta["version"] > CONFIGS_VERSION:
        raise SchemaVersionError(f"run {run_id!r}: {file} has version {meta['version']}; this version of "
                                 f"vectorbt-registry reads up to {CONFIGS_VERSION}: upgrade the package")
    return meta, blob


def _metrics(meta: tp.Dict[str, tp.Any], blob: np.ndarray) -> tp.Tuple[tp.List[str], np.ndarray]:
    n = int(meta["n"])
    metrics = _array(blob, meta["metrics"], "f").astype(np.float64, copy=False)
    metric_names = [str(m) for m in meta["metric_names"]]
    if metrics.shape != (n, len(metric_names)):
        raise ValueError(f"metrics of shape {metrics.shape} for {n} configurations of {len(metric_names)}")
    return metric_names, metrics


def configs_of(record: RunRecord) -> ConfigTable:
    """The `ConfigTable` of a record (runs without a `"configs"` part: schema 1), as its part would give it."""
    return read_configs(configs_bytes(record), record.run_id)


def read_run_configs(store: "RunStore", run_id: str, data: tp.Optional[bytes] = None) -> ConfigTable:
    """The configurations of a run of `store`: from its `"configs"` part (`data`, when fetched already), or, for
    a run without one (schema 1) or whose part cannot be read, from its record (slower: every label is decoded
    from `run.json`).

    Raises what `store.read` raises (`RunNotFoundError` for a run deleted meanwhile)."""
    if data is None:
        try:
            data = store.read_part(run_id, CONFIGS)
        except IntegrityError:  # no such part
            data = None
    if data is not None:
        try:
            return read_configs(data, run_id)
        except (IntegrityError, SchemaVersionError):  # the record holds the same, the metrics file too
            pass
    return configs_of(store.read(run_id))
