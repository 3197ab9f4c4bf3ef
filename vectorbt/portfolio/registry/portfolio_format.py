"""The registry's portfolio container: a portfolio as one self-contained byte string, rebuilt without running
any code the bytes name, and readable one configuration at a time.

`pf.dumps()` pickles a portfolio with dill, and loading it runs whatever the file holds. The container
instead keeps what `Portfolio.__init__` takes: the class, its wrapper's config, the settings, and the arrays
as raw buffers; loading calls the class's constructor with them. Nothing is pickled but the header, which
is read by `vectorbt.portfolio.registry.safe_pickle` (its allow-list, plus the caller's `trusted_classes`).

```pycon
>>> import numpy as np, pandas as pd, vectorbt as vbt
>>> from vectorbt.portfolio.registry.portfolio_format import dump_portfolio, load_portfolio, check_loadable
>>> close = pd.DataFrame({"a": [1.0, 2.0, 3.0, 2.0], "b": [4.0, 3.0, 5.0, 6.0]},
...                      index=pd.date_range("2020-01-01", periods=4))
>>> pf = vbt.Portfolio.from_orders(close, size=[[1, -1], [0, 0], [-1, 1], [0, 0]], freq="1D")
>>> data = dump_portfolio(pf)
>>> check_loadable(data).shape
(4, 2)
>>> load_portfolio(data) == pf
True
>>> load_portfolio(data, column="b") == pf["b"]
True
```

## What is stored

A container (its bytes: see `vectorbt.portfolio.registry.portfolio_container`) is a fixed prefix, a header and
the data. The header holds `class` (the portfolio's class), `wrapper_class` and `wrapper` (its `config`: index,
columns, freq, grouping, ...), `config` (every constructor argument that is not stored as an array:
`cash_sharing`, `fillna_close`, `trades_type`, `engine`, an `InitCashMode` init cash, a subclass's own
settings) and `arrays`, which says where each array argument is in the data and how it is encoded:

- **matrix** (`close`, `call_seq`): column-major, column `j` being one contiguous range; stored once and
  broadcast back when all its columns are equal (a sweep over one asset); integers in the narrowest
  integer type that holds them; restored in its original memory order, type (array, Series, DataFrame) and
  dtype.
- **vector** (an array `init_cash`): raw.
- **records** (`order_records`, `log_records`): kept in their order; when sorted by column (as vectorbt's
  simulators make them), with the start offset of every column (`n_cols + 1` int64), so that a column's
  records are one contiguous range, and their `col` field is not stored. Of the other fields, one that holds
  one value throughout is stored once in the header, an integer field equal to `0, 1, 2, ...` (record ids)
  not at all, and the rest are packed row by row, integers narrowed. Records not sorted by column but by
  group (a group with cash sharing is simulated row by row) keep their `col` field and come with the start
  offset of every group: a one-column load reads its group's range and gathers the column's records from
  it. Records in neither order are read whole by a one-column load, which gathers.

A one-column load (`load_portfolio(data, column=...)`) rebuilds the wrapper from the header, indexes it as
`Portfolio.indexing_func` does and reads only the byte ranges of the selected columns (groups): a few
kilobytes besides the header, whatever the size of the sweep.

Nothing is compressed. Measured at 1,000 x 1,000 (47,722 orders): zlib level 1 takes vectorbt's order
records to 0.46 of their size in 27 ms (half the time of `pf.dumps()` itself), while deriving `col` and `id`
and narrowing `idx` and `side` takes them to 0.48 for nothing; on what is left, zlib saves 0.07 MB of
integers in 1.4 ms, a fifth of the floats at 60 MB/s and 7 % of the prices at 50 MB/s (160 ms). Log
records would shrink to 0.21 instead of 0.45, at 230 MB/s: too slow for the dump goal of a portfolio with
logs. The figures are in `docs/benchmarks.md` (`benchmarks/bench_format.py --choices`).
"""

import pickle

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.base.array_wrapper import ArrayWrapper
from vectorbt.portfolio.base import Portfolio
from vectorbt.portfolio.registry import safe_pickle
from vectorbt.portfolio.registry.nb import columns_equal_nb
from vectorbt.portfolio.registry.portfolio_container import (
    ARANGE,
    ARRAY_KINDS,
    COL,
    CONST,
    FORMAT_VERSION,
    MAGIC,
    STORED,
    Buffers,
    ContainerReader,
    FileReader,
    Reader,
    assemble,
    file_reader,
    plain_record_dtype,
)

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "Reader",
    "ContainerInfo",
    "dump_portfolio",
    "dump_checked",
    "load_portfolio",
    "check_loadable",
    "file_reader",
    "FileReader",
]

_MATRIX_KEYS = ("close", "call_seq")
_RECORD_KEYS = ("order_records", "log_records")
_PICKLE_ERRORS = (pickle.PicklingError, AttributeError, TypeError)
"""What pickling raises for what cannot be pickled (local classes and functions, open files, ...)."""


class ContainerInfo(tp.NamedTuple):
    """What `check_loadable` found: the container's version, the portfolio's class and shape (rows, columns,
    ungrouped), its number of order and log records, and the header's and the container's size in bytes."""

    version: int
    cls: type
    shape: tp.Tuple[int, int]
    n_orders: int
    n_logs: int
    header_nbytes: int
    nbytes: int


# ############# Writing ############# #


def _narrow_int(values: np.ndarray) -> np.dtype:
    """The narrowest integer dtype of the same signedness that holds every value of an integer array."""
    dtype = values.dtype
    if values.size == 0:
        return dtype
    lo, hi = values.min(), values.max()
    for candidate in (np.int8, np.int16, np.int32) if dtype.kind == "i" else (np.uint8, np.uint16, np.uint32):
        info = np.iinfo(candidate)
        if np.dtype(candidate).itemsize < dtype.itemsize and info.min <= lo and hi <= info.max:
            return np.dtype(candidate)
    return dtype


def _columns_equal(a: np.ndarray) -> bool:
    if a.dtype.kind == "b":
        a = a.view(np.uint8)
    return bool(columns_equal_nb(a))


def _encode_matrix(value: tp.Any, wrapper: ArrayWrapper, out: Buffers) -> tp.Optional[dict]:
    """Spec of a per-column 2-D array (see the module's docstring), or None for what is not one."""
    pandas_info = None
    if isinstance(value, pd.DataFrame):
        index = None if value.index is wrapper.index else value.index
        columns = None if value.columns is wrapper.columns else value.columns
        pandas_info, arr = ("frame", index, columns), value.values
    elif isinstance(value, pd.Series):
        pandas_info, arr = ("series", None if value.index is wrapper.index else value.index, value.name), value.values
    elif isinstance(value, np.ndarray):
        arr = value
    else:
        return None
    n_rows, n_cols = wrapper.shape_2d
    if arr.dtype.kind not in ARRAY_KINDS or arr.shape not in ((n_rows,), (n_rows, n_cols)) or n_rows == 0:
        return None
    if arr.ndim == 1 and n_cols != 1:
        return None
    a2 = arr.reshape(n_rows, 1) if arr.ndim == 1 else arr
    if n_cols > 1 and a2.strides[1] == 0:
        layout, once = "broadcast", True
    else:
        layout = "F" if a2.flags.f_contiguous and not a2.flags.c_contiguous else "C"
        once = n_cols > 1 and _columns_equal(a2)
    kept = a2[:, :1] if once else a2
    stored = _narrow_int(kept) if arr.dtype.kind in "iu" else arr.dtype
    offset, nbytes = out.add(kept.T.astype(stored, order="C", copy=False))
    return {"kind": "matrix", "dtype": arr.dtype, "stored": stored, "shape": arr.shape, "once": once,
            "layout": layout, "pandas": pandas_info, "offset": offset, "nbytes": nbytes}


def _encode_vector(value: tp.Any, out: Buffers) -> tp.Optional[dict]:
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in ARRAY_KINDS:
        return None
    offset, nbytes = out.add(value)
    return {"kind": "vector", "dtype": value.dtype, "length": len(value), "offset": offset, "nbytes": nbytes}


def _is_const(values: np.ndarray) -> bool:
    """Whether every value equals the first, bit for bit (NaN included)."""
    size = values.dtype.itemsize
    if values.size == 0 or size not in (1, 2, 4, 8):
        return False
    bits = values.view(f"u{size}")
    return bool(bits[0] == bits[-1] and np.all(bits == bits[0]))


def _is_arange(values: np.ndarray) -> bool:
    n = len(values)
    return n > 0 and values[0] == 0 and values[-1] == n - 1 and bool(np.all(values == np.arange(n)))


def _encode_records(value: tp.Any, key: str, wrapper: ArrayWrapper, out: Buffers) -> tp.Optional[dict]:
    """Spec of an array of records (see the module's docstring), or None for what is not one."""
    if not isinstance(value, np.ndarray) or value.ndim != 1 or not plain_record_dtype(value.dtype):
        return None
    n, n_cols = len(value), wrapper.shape_2d[1]
    col = value["col"]
    if n and (col.min() < 0 or col.max() >= n_cols):
        raise ValueError(f"{key}: column indices must lie in 0..{n_cols - 1}, found {col.min()}..{col.max()}")
    is_sorted = n < 2 or bool(np.all(col[1:] >= col[:-1]))
    blocks, block_of = ("col", col) if is_sorted else (None, None)
    if not is_sorted and wrapper.grouper.is_grouped():
        col_groups = wrapper.grouper.get_groups()
        groups = col_groups[col]
        if bool(np.all(groups[1:] >= groups[:-1])):
            blocks, block_of = "group", groups
    n_blocks = n_cols if blocks == "col" else wrapper.grouper.get_group_count() if blocks == "group" else 0
    fields, packed_fields = [], []
    for name in value.dtype.names:
        values = value[name]
        if name == "col" and is_sorted:
            fields.append((name, COL, None))
        elif _is_const(values):
            fields.append((name, CONST, values[:1].tobytes()))
        elif values.dtype.kind in "iu" and _is_arange(values):
            fields.append((name, ARANGE, None))
        else:
            fields.append((name, STORED, None))
            packed_fields.append((name, _narrow_int(values) if values.dtype.kind in "iu" else values.dtype))
    packed_dtype = np.dtype(packed_fields)
    offset, nbytes = 0, 0
    if packed_dtype.itemsize and n:
        packed = np.empty(n, dtype=packed_dtype)
        for name, _ in packed_fields:
            packed[name] = value[name]
        offset, nbytes = out.add(packed)
    block_offsets = None
    if blocks is not None:
        bounds = np.zeros(n_blocks + 1, dtype=np.int64)
        np.cumsum(np.bincount(block_of.astype(np.intp), minlength=n_blocks), out=bounds[1:])
        block_offsets = out.add(bounds)
    return {"kind": "records", "dtype": value.dtype, "n": n, "n_cols": n_cols, "sorted": is_sorted,
            "blocks": blocks, "n_blocks": n_blocks, "block_offsets": block_offsets, "packed": packed_dtype,
            "fields": tuple(fields), "offset": offset, "nbytes": nbytes}


def _class_name(global_name: str) -> str:
    return global_name.rsplit(".", 1)[-1]


def _dump(pf: Portfolio) -> tp.Tuple[bytes, Buffers]:
    """The header's pickle and the data's buffers of `pf` (`dump_portfolio` without its check)."""
    if not isinstance(pf, Portfolio):
        raise TypeError(f"dump_portfolio: expected a vectorbt Portfolio, got {type(pf).__name__}")
    wrapper = pf.config["wrapper"]  # as given: `pf.wrapper` of a cash-sharing portfolio is a modified copy
    out = Buffers()
    arrays, config = {}, {}
    for key, value in pf.config.items():
        if key == "wrapper":
            continue
        spec = None
        if key in _MATRIX_KEYS:
            spec = _encode_matrix(value, wrapper, out)
        elif key in _RECORD_KEYS:
            spec = _encode_records(value, key, wrapper, out)
        elif key == "init_cash":
            spec = _encode_vector(value, out)
        if spec is None:
            config[key] = value
        else:
            arrays[key] = spec
    header = {"class": type(pf), "wrapper_class": type(wrapper), "wrapper": dict(wrapper.config),
              "config": config, "arrays": arrays}
    try:
        return safe_pickle.safe_dumps(header), out
    except _PICKLE_ERRORS as exc:
        raise ValueError(f"dump_portfolio: the portfolio's settings cannot be stored: {exc}") from exc


def _untrusted(exc: safe_pickle.UnsafeGlobalError) -> ValueError:
    return ValueError(f"dump_portfolio: {exc.global_name} is not in the allow-list of safe classes; pass "
                      f"trusted_classes=[{_class_name(exc.global_name)}] to store it; loading it needs the same")


def dump_portfolio(pf: Portfolio, trusted_classes: tp.Iterable[tp.Union[type, str]] = ()) -> bytes:
    """The portfolio `pf` as a container (see the module's docstring).

    The per-column arrays, the records and an array `init_cash` go into the data as raw buffers; every other
    constructor argument, the wrapper's config and the class go into the header, which must load under the
    rules of `vectorbt.portfolio.registry.safe_pickle`: a global outside `SAFE_GLOBALS` (a `Portfolio`
    subclass of your own, say) raises `ValueError` unless it is in `trusted_classes` (classes or
    `"module.QualName"` strings), and loading the container needs the same `trusted_classes`.

    Raises `TypeError` if `pf` is not a `Portfolio`, and `ValueError` for a portfolio that cannot be stored
    (a global outside the allow-list, something that cannot be pickled, records whose column indices do not
    fit the wrapper). `dump_checked` checks the whole container as well."""
    header_bytes, out = _dump(pf)
    try:
        safe_pickle.safe_loads(header_bytes, trusted_classes)
    except safe_pickle.UnsafeGlobalError as exc:
        raise _untrusted(exc) from exc
    return assemble(header_bytes, out)


def dump_checked(pf: Portfolio, trusted_classes: tp.Iterable[tp.Union[type, str]] = (),
                 run_id: tp.Optional[str] = None) -> bytes:
    """`dump_portfolio`, and `check_loadable` of the result: what `RunRegistry.register` and `migrate` store.
    The header is read back once, by the check.

    Raises as `dump_portfolio` does (`ValueError` naming `trusted_classes` for a global outside the allow-list),
    and `IntegrityError` (naming `run_id`) for a container that would not load."""
    header_bytes, out = _dump(pf)
    data = assemble(header_bytes, out)
    try:
        check_loadable(data, trusted_classes, run_id)
    except safe_pickle.UnsafeGlobalError as exc:
        raise _untrusted(exc) from exc
    return data


# ############# Reading ############# #


def _can_load_columns(cls: type, header: dict) -> bool:
    """Whether a configuration can be read on its own: `Portfolio.indexing_func` is the class's, and every array
    it slices is stored as such."""
    arrays, config = header["arrays"], header["config"]
    if cls.indexing_func is not Portfolio.indexing_func or cls.wrapper is not Portfolio.wrapper:
        return False
    if "close" not in arrays:
        return False
    if any(key not in arrays for key in _RECORD_KEYS):
        return False
    if config.get("call_seq") is not None:
        return False
    init_cash = config.get("init_cash")
    return "init_cash" in arrays or (isinstance(init_cash, int) and "init_cash" in config)


class _WrapperOwner:
    """What `Portfolio.wrapper` reads of a portfolio."""

    def __init__(self, wrapper: ArrayWrapper, cash_sharing: bool) -> None:
        self._wrapper = wrapper
        self.cash_sharing = cash_sharing


def _load_columns(container: ContainerReader, column: tp.Any) -> Portfolio:
    """What `pf[column]` of the stored portfolio returns, reading only what it needs (see
    `Portfolio.indexing_func`)."""
    header = container.header
    cls, arrays = header["class"], header["arrays"]
    kwargs = dict(header["config"])
    # the portfolio's `wrapper` property (modified for cash sharing) is what `indexing_func` indexes
    wrapper = Portfolio.wrapper.fget(_WrapperOwner(container.wrapper(), kwargs.get("cash_sharing")))
    new_wrapper, _, group_idxs, col_idxs = wrapper.indexing_func_meta(
        lambda x: x.__getitem__(column), column_only_select=True
    )
    cols = np.atleast_1d(np.asarray(col_idxs, dtype=np.int64))
    col_groups = wrapper.grouper.get_groups()
    if "init_cash" in arrays:
        idxs = group_idxs if kwargs.get("cash_sharing") else col_idxs
        flat_idxs = np.atleast_1d(np.asarray(idxs, dtype=np.int64))
        if flat_idxs.size and flat_idxs.max() >= arrays["init_cash"]["length"]:
            return _load_full(container)[column]  # as vectorbt indexes it (and fails)
        init_cash = container.vector(arrays["init_cash"], flat_idxs)
        kwargs["init_cash"] = init_cash if np.ndim(idxs) else init_cash[0]
    close = container.matrix_columns(arrays["close"], cols)
    kwargs["close"] = new_wrapper.wrap(close if np.ndim(col_idxs) else close[:, 0], group_by=False)
    for key in _RECORD_KEYS:
        kwargs[key] = container.records(key, arrays[key], cols, col_groups)
    if "call_seq" in arrays:
        call_seq = container.matrix_columns(arrays["call_seq"], cols)
        kwargs["call_seq"] = call_seq if np.ndim(col_idxs) else call_seq[:, 0]
    kwargs["wrapper"] = new_wrapper
    return container.construct(cls, kwargs)


def _load_full(container: ContainerReader) -> Portfolio:
    header = container.header
    wrapper = container.wrapper()
    kwargs = dict(header["config"], wrapper=wrapper)
    for key, spec in header["arrays"].items():
        if spec["kind"] == "matrix":
            kwargs[key] = container.matrix(spec, wrapper)
        elif spec["kind"] == "vector":
            kwargs[key] = container.vector(spec)
        else:
            kwargs[key] = container.records(key, spec)
    return container.construct(header["class"], kwargs)


def load_portfolio(
    data: tp.Union[bytes, bytearray, memoryview, Reader],
    trusted_classes: tp.Iterable[tp.Union[type, str]] = (),
    column: tp.Any = None,
    run_id: tp.Optional[str] = None,
) -> Portfolio:
    """Rebuild the portfolio of a container made by `dump_portfolio`.

    `data` is the container's bytes, or a `Reader` `read(offset, length) -> bytes` over them, so that a store
    can serve byte ranges of a file (`file_reader` makes one over an open file; a reader that also has
    `readinto(offset, buffer)`, as `FileReader` does, gets the close read straight into its final memory).
    With `column=None`, the whole portfolio; with a column label (a group label for a grouped portfolio, a
    tuple for MultiIndex columns, or anything `pf[...]` takes), what `pf[column]` of the stored portfolio
    returns, reading only what that configuration needs: the header, its slice of the order and log records,
    its close, its init cash and its call sequence. (A class with its own `indexing_func`, or a portfolio whose
    arrays are kept in the header, is loaded whole and then indexed.)

    The header is read with `vectorbt.portfolio.registry.safe_pickle` (the allow-list plus `trusted_classes`).
    Raises `IntegrityError` (naming `run_id` and the portfolio's file) for a global outside the list
    (`safe_pickle.UnsafeGlobalError`) and for a damaged container (wrong magic, a header that does not match
    its CRC, an offset or a length that does not fit, a truncated read), `SchemaVersionError` for a container
    of a newer version, and whatever `pf[column]` raises for a label that is not there (`KeyError`)."""
    container = ContainerReader(data, trusted_classes, run_id)
    container.open()
    if column is None:
        return _load_full(container)
    if not _can_load_columns(container.header["class"], container.header):
        return _load_full(container)[column]
    return _load_columns(container, column)


def check_loadable(
    data: tp.Union[bytes, bytearray, memoryview, Reader],
    trusted_classes: tp.Iterable[tp.Union[type, str]] = (),
    run_id: tp.Optional[str] = None,
) -> ContainerInfo:
    """Make sure that `data` loads with `load_portfolio` under these `trusted_classes`, without loading its arrays:
    checks the prefix and the header's CRC, reads the header with the restricted unpickler, checks every
    buffer's place and size against the data, rebuilds the wrapper, checks the column offsets of the records
    and that the container does not end early. Returns what it found (`ContainerInfo`).

    Raises as `load_portfolio` does (`IntegrityError`, `SchemaVersionError`)."""
    container = ContainerReader(data, trusted_classes, run_id)
    container.open()
    wrapper = container.wrapper()
    if container.memory is None and container.data_len:
        container.read_data(container.data_len - 1, 1)
    counts = {}
    for key in _RECORD_KEYS:
        spec = container.header["arrays"].get(key)
        if spec is not None and spec["blocks"] is not None:
            container.block_offsets(key, spec, 0, spec["n_blocks"])
        value = container.header["config"].get(key)
        counts[key] = spec["n"] if spec is not None else len(value) if isinstance(value, np.ndarray) else 0
    return ContainerInfo(
        version=container.version,
        cls=container.header["class"],
        shape=wrapper.shape_2d,
        n_orders=counts["order_records"],
        n_logs=counts["log_records"],
        header_nbytes=container.header_len,
        nbytes=container.data_offset + container.data_len,
    )
