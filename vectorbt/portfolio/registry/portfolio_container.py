"""The byte layout of the registry's portfolio container, and the checked reading of one: the prefix, the
header (a restricted pickle) and the buffers, with every offset and length checked before it is used.

`vectorbt.portfolio.registry.portfolio_format` turns portfolios into containers and back; this module knows
bytes, not portfolios (except for checking that a header names a `Portfolio` class).

```text
offset  size
0       8      MAGIC, b"\\x89VBT-PF\\n"
8       4      FORMAT_VERSION (uint32, little-endian)
12      4      flags (0)
16      8      header length H (uint64)
24      8      data length D (uint64)
32      4      CRC-32 of bytes 0-31 and of the header
36      4      reserved (0)
40      H      header: a restricted pickle (protocol 5) of a dict (see portfolio_format)
P       D      data: the buffers, each at a multiple of 64 bytes from P = 40 + H rounded up to 64
```

Every buffer is described in the header (see `portfolio_format`): its offset from `P`, its length, its dtype
and shape. Arrays carry no checksum of their own (the registry checksums the whole file); a reader checks the
container's structure (magic, version, the header's CRC, every spec, offset and length, the column offsets it
reads) and raises `IntegrityError` for anything that does not fit, and `SchemaVersionError` for a newer version.

```pycon
>>> from vectorbt.portfolio.registry.portfolio_container import MAGIC, FORMAT_VERSION, file_reader
>>> import io
>>> file_reader(io.BytesIO(MAGIC + b"..."))(0, 8) == MAGIC, FORMAT_VERSION
(True, 1)
```
"""

import struct
import threading
import zlib

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.base.array_wrapper import ArrayWrapper
from vectorbt.portfolio.base import Portfolio
from vectorbt.portfolio.registry import safe_pickle
from vectorbt.portfolio.registry.errors import IntegrityError, SchemaVersionError
from vectorbt.portfolio.registry.run import PART_FILES
from vectorbt.portfolio.registry.spec import PORTFOLIO

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "ALIGNMENT",
    "MAX_HEADER_BYTES",
    "Reader",
    "Buffers",
    "assemble",
    "file_reader",
    "FileReader",
    "ContainerReader",
    "BLOCKS",
    "column_runs",
    "decode_records",
    "plain_record_dtype",
]

FORMAT_VERSION = 1
"""Version of the container. Readers refuse a larger number with `SchemaVersionError`."""

MAGIC = b"\x89VBT-PF\n"
"""First 8 bytes of every container (a non-ASCII byte and a newline, so that text-mode mangling shows)."""

ALIGNMENT = 64
"""Every buffer starts at a multiple of this many bytes from the start of the data."""

MAX_HEADER_BYTES = 1 << 30
"""Largest header a reader accepts (a header of 10,000 columns is a few hundred kilobytes)."""

Reader = tp.Callable[[int, int], bytes]
"""`read(offset, length) -> bytes`: the bytes of a container from `offset`, `length` of them."""

_PREFIX = struct.Struct("<8sIIQQII")
_CRC_END = 32

STORED, CONST, COL, ARANGE = "stored", "const", "col", "arange"
"""How a field of a record array is kept: packed with the other stored fields; one value, in the header; its
column, from the column offsets; its position in the array (`0, 1, 2, ...`)."""

BLOCKS = ("col", "group", None)
"""How records are laid out: sorted by column, with the offset of every column; sorted by group (as the
simulators write a group with cash sharing: row by row), with the offset of every group; or neither."""

LAYOUTS = ("C", "F", "broadcast")
"""Memory orders of a matrix as given to the constructor (`broadcast`: a read-only view of one column)."""

ARRAY_KINDS = "biuf"
"""dtype kinds of stored buffers: booleans, integers, floats. Never objects."""

REBUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, AssertionError)
"""What a constructor fed with a crafted header may raise (vectorbt's checks raise `AssertionError`)."""


class Buffers:
    """The data section being built: buffers at aligned offsets."""

    def __init__(self) -> None:
        self.chunks: tp.List[tp.Any] = []
        self.size = 0

    def add(self, arr: np.ndarray) -> tp.Tuple[int, int]:
        """Append the bytes of `arr` (C order); return their offset and length."""
        flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
        pad = -self.size % ALIGNMENT
        if pad:
            self.chunks.append(bytes(pad))
            self.size += pad
        offset = self.size
        self.chunks.append(flat)
        self.size += flat.nbytes
        return offset, flat.nbytes


def _data_offset(header_len: int) -> int:
    end = _PREFIX.size + header_len
    return end + (-end % ALIGNMENT)


def assemble(header_bytes: bytes, buffers: Buffers) -> bytes:
    """The container: prefix (with the CRC), header, padding, then the data of `buffers`."""
    prefix = bytearray(_PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(header_bytes), buffers.size, 0, 0))
    struct.pack_into("<I", prefix, _CRC_END, zlib.crc32(header_bytes, zlib.crc32(prefix[:_CRC_END])))
    padding = bytes(_data_offset(len(header_bytes)) - _PREFIX.size - len(header_bytes))
    return b"".join([prefix, header_bytes, padding, *buffers.chunks])


class FileReader:
    """A `Reader` over a binary file open for reading: seek, then read, one call at a time across threads.

    Besides `reader(offset, length) -> bytes`, `reader.readinto(offset, buffer)` reads straight into a
    writable buffer (the container reads large arrays into their final memory with it)."""

    def __init__(self, file: tp.BinaryIO) -> None:
        self.file = file
        self.lock = threading.Lock()

    def __call__(self, offset: int, length: int) -> bytes:
        with self.lock:
            self.file.seek(offset)
            return self.file.read(length)

    def readinto(self, offset: int, buffer: tp.Any) -> int:
        """Read `len(buffer)` bytes from `offset` into `buffer` (fewer at the end of the file); return how many."""
        view = memoryview(buffer).cast("B")
        done = 0
        with self.lock:
            self.file.seek(offset)
            while done < len(view):
                n = self.file.readinto(view[done:])
                if not n:
                    break
                done += n
        return done


def file_reader(file: tp.BinaryIO) -> FileReader:
    """A `Reader` over a binary file open for reading (see `FileReader`).

    ```pycon
    >>> import io
    >>> from vectorbt.portfolio.registry.portfolio_container import file_reader
    >>> file_reader(io.BytesIO(b"0123456789"))(3, 4)
    b'3456'
    ```
    """
    return FileReader(file)


def plain_record_dtype(dtype: np.dtype) -> bool:
    """Whether `dtype` is one of records the container stores: scalar fields of `ARRAY_KINDS`, an integer `col`."""
    return (dtype.names is not None and "col" in dtype.names and not dtype.hasobject
            and all(dtype.fields[name][0].shape == () and dtype.fields[name][0].kind in ARRAY_KINDS
                    for name in dtype.names)
            and dtype.fields["col"][0].kind in "iu")


class ContainerReader:
    """One container being read: its source, validated prefix and header, and the reads of its buffers."""

    def __init__(self, data: tp.Union[bytes, bytearray, memoryview, Reader], trusted_classes: tp.Any,
                 run_id: tp.Optional[str]) -> None:
        self.run_id = run_id
        self.file = PART_FILES[PORTFOLIO]
        self.trusted_classes = trusted_classes
        if isinstance(data, (bytes, bytearray, memoryview)):
            self.memory: tp.Optional[memoryview] = memoryview(data).cast("B")
            self.reader: tp.Optional[Reader] = None
        elif callable(data):
            self.memory, self.reader = None, data
        else:
            raise TypeError(f"expected the container's bytes or a reader read(offset, length), got "
                            f"{type(data).__name__}")
        self.header: dict = {}
        self.version = self.header_len = self.data_offset = self.data_len = 0

    def fail(self, detail: str) -> IntegrityError:
        return IntegrityError(self.run_id, self.file, f"damaged portfolio container: {detail}")

    def read(self, offset: int, length: int) -> tp.Union[bytes, memoryview]:
        """`length` bytes from `offset`, or `IntegrityError` if the container ends before."""
        if self.memory is not None:
            if offset + length > len(self.memory):
                raise self.fail(f"{length} bytes at offset {offset} asked, the container has {len(self.memory)}")
            return self.memory[offset : offset + length]
        chunk = self.reader(offset, length)
        if not isinstance(chunk, (bytes, bytearray, memoryview)) or len(chunk) != length:
            got = len(chunk) if isinstance(chunk, (bytes, bytearray, memoryview)) else type(chunk).__name__
            raise self.fail(f"{length} bytes at offset {offset} asked, the reader gave {got} (truncated?)")
        return chunk

    def read_data(self, offset: int, length: int) -> tp.Union[bytes, memoryview]:
        return self.read(self.data_offset + offset, length)

    def read_array(self, offset: int, dtype: np.dtype, count: int) -> tp.Tuple[np.ndarray, bool]:
        """`count` items of `dtype` at `offset` of the data, and whether the array is a fresh writable one (read
        with the reader's `readinto`, see `FileReader`) rather than a read-only view of the source."""
        nbytes = count * dtype.itemsize
        readinto = getattr(self.reader, "readinto", None)
        if readinto is None or not nbytes:
            return np.frombuffer(self.read_data(offset, nbytes), dtype=dtype, count=count), False
        arr = np.empty(count, dtype=dtype)
        got = readinto(self.data_offset + offset, arr)
        if got != nbytes:
            raise self.fail(f"{nbytes} bytes at offset {self.data_offset + offset} asked, the reader gave {got} "
                            f"(truncated?)")
        return arr, True

    def open(self) -> None:
        """Read and check the prefix and the header (see the module's docstring)."""
        if self.memory is not None and len(self.memory) < _PREFIX.size:
            raise self.fail(f"{len(self.memory)} bytes, shorter than the {_PREFIX.size}-byte prefix")
        prefix = bytes(self.read(0, _PREFIX.size))
        magic, version, flags, header_len, data_len, crc, reserved = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            raise self.fail(f"not a portfolio container (starts with {magic!r})")
        if version > FORMAT_VERSION:
            raise SchemaVersionError(
                f"run {self.run_id!r}, file {self.file!r}: portfolio container version {version} is newer than the "
                f"version this package reads ({FORMAT_VERSION}); upgrade vectorbt-registry to load it")
        if version < 1 or flags != 0 or reserved != 0:
            raise self.fail(f"version {version}, flags {flags:#x}, reserved {reserved:#x}")
        if header_len > MAX_HEADER_BYTES:
            raise self.fail(f"header length {header_len} is out of range")
        self.version, self.header_len, self.data_len = version, header_len, data_len
        self.data_offset = _data_offset(header_len)
        if self.memory is not None and len(self.memory) != self.data_offset + data_len:
            raise self.fail(f"{len(self.memory)} bytes, the prefix says {self.data_offset + data_len}")
        header_bytes = self.read(_PREFIX.size, header_len)
        if zlib.crc32(header_bytes, zlib.crc32(prefix[:_CRC_END])) != crc:
            raise self.fail("the header does not match its CRC-32")
        header = safe_pickle.safe_loads(header_bytes, self.trusted_classes, self.run_id, self.file)
        self.check_header(header)
        self.header = header

    # ----- header checks ----- #

    def require(self, condition: bool, detail: str) -> None:
        if not condition:
            raise self.fail(detail)

    def check_range(self, name: str, offset: tp.Any, nbytes: tp.Any, expected: int) -> None:
        self.require(type(offset) is int and type(nbytes) is int and offset >= 0 and nbytes == expected,
                     f"{name}: {nbytes!r} bytes at {offset!r}, expected {expected} bytes")
        self.require(offset + nbytes <= self.data_len, f"{name}: bytes {offset}..{offset + nbytes} lie past the "
                                                       f"end of the data ({self.data_len} bytes)")

    def check_dtype(self, name: str, dtype: tp.Any, structured: bool = False) -> None:
        if not (isinstance(dtype, np.dtype) and not dtype.hasobject and dtype.shape == ()
                and ((dtype.names is not None) if structured else (dtype.kind in ARRAY_KINDS))):
            raise self.fail(f"{name}: unexpected dtype {dtype!r}")

    def check_header(self, header: tp.Any) -> None:
        """`IntegrityError` unless the header has the structure `dump_portfolio` writes, every buffer inside the
        data."""
        keys = {"class", "wrapper_class", "wrapper", "config", "arrays"}
        self.require(isinstance(header, dict) and set(header) == keys, "the header is not a portfolio header")
        self.require(isinstance(header["class"], type) and issubclass(header["class"], Portfolio),
                     f"class {header['class']!r} is not a Portfolio class")
        self.require(isinstance(header["wrapper_class"], type) and issubclass(header["wrapper_class"], ArrayWrapper),
                     f"wrapper class {header['wrapper_class']!r} is not an ArrayWrapper class")
        for part in ("wrapper", "config", "arrays"):
            self.require(isinstance(header[part], dict) and all(isinstance(k, str) for k in header[part]),
                         f"header part {part!r} is not a dict of settings")
        self.require({"index", "columns", "ndim"} <= set(header["wrapper"]), "the wrapper has no index or columns")
        self.require(not set(header["config"]) & set(header["arrays"]) and "wrapper" not in header["config"],
                     "a constructor argument is given twice")
        for key, spec in header["arrays"].items():
            self.require(isinstance(spec, dict) and spec.get("kind") in ("matrix", "vector", "records"),
                         f"{key}: unknown array spec")
            try:
                getattr(self, "check_" + spec["kind"])(key, spec)
            except (KeyError, TypeError, ValueError) as exc:  # a spec without its keys, or of the wrong types
                raise self.fail(f"{key}: malformed spec ({type(exc).__name__}: {exc})") from exc

    def check_matrix(self, key: str, spec: dict) -> None:
        self.check_dtype(key, spec["dtype"])
        self.check_dtype(key, spec["stored"])
        shape = spec["shape"]
        self.require(isinstance(shape, tuple) and len(shape) in (1, 2) and all(type(n) is int and n > 0
                                                                              for n in shape), f"{key}: shape")
        self.require(spec["layout"] in LAYOUTS and type(spec["once"]) is bool, f"{key}: layout")
        info = spec["pandas"]
        self.require(info is None or (isinstance(info, tuple) and len(info) == 3 and info[0] in ("frame", "series")
                                      and (info[0] == "frame") == (len(shape) == 2)), f"{key}: pandas type")
        n_kept = 1 if spec["once"] else (shape[1] if len(shape) == 2 else 1)
        self.check_range(key, spec["offset"], spec["nbytes"], shape[0] * n_kept * spec["stored"].itemsize)

    def check_vector(self, key: str, spec: dict) -> None:
        self.check_dtype(key, spec["dtype"])
        self.require(type(spec["length"]) is int and spec["length"] >= 0, f"{key}: length")
        self.check_range(key, spec["offset"], spec["nbytes"], spec["length"] * spec["dtype"].itemsize)

    def check_records(self, key: str, spec: dict) -> None:
        dtype, packed = spec["dtype"], spec["packed"]
        self.check_dtype(key, dtype, structured=True)
        if not (isinstance(packed, np.dtype) and not packed.hasobject and packed.names is not None):
            raise self.fail(f"{key}: unexpected packed dtype {packed!r}")
        if not plain_record_dtype(dtype):
            raise self.fail(f"{key}: unexpected dtype {dtype!r}")
        n, n_cols, is_sorted = spec["n"], spec["n_cols"], spec["sorted"]
        self.require(type(n) is int and n >= 0 and type(n_cols) is int and n_cols > 0 and type(is_sorted) is bool,
                     f"{key}: counts")
        fields = spec["fields"]
        self.require(isinstance(fields, tuple) and tuple(f[0] for f in fields) == dtype.names, f"{key}: fields")
        stored = []
        for name, enc, arg in fields:
            if enc == STORED:
                stored.append(name)
                self.require(packed.fields[name][0].kind in ARRAY_KINDS and packed.fields[name][0].shape == (),
                             f"{key}.{name}: stored dtype")
            elif enc == CONST:
                self.require(isinstance(arg, bytes) and len(arg) == dtype.fields[name][0].itemsize,
                             f"{key}.{name}: constant")
            else:
                self.require(enc == ARANGE or (enc == COL and name == "col" and is_sorted), f"{key}.{name}: "
                                                                                             f"encoding {enc!r}")
        self.require(tuple(stored) == packed.names, f"{key}: packed fields")
        self.check_range(key, spec["offset"], spec["nbytes"], n * packed.itemsize if packed.itemsize else 0)
        blocks, n_blocks = spec["blocks"], spec["n_blocks"]
        self.require(blocks in BLOCKS and (blocks == "col") == is_sorted and type(n_blocks) is int
                     and n_blocks == (n_cols if blocks == "col" else n_blocks if blocks == "group" else 0),
                     f"{key}: blocks")
        if blocks is None:
            self.require(spec["block_offsets"] is None, f"{key}: offsets of records without blocks")
        else:
            self.require(isinstance(spec["block_offsets"], tuple) and len(spec["block_offsets"]) == 2,
                         f"{key}: block offsets")
            self.check_range(key + " block offsets", *spec["block_offsets"], expected=(n_blocks + 1) * 8)

    # ----- rebuilding ----- #

    def wrapper(self) -> ArrayWrapper:
        try:
            wrapper = self.header["wrapper_class"](**self.header["wrapper"])
        except REBUILD_ERRORS as exc:
            raise self.fail(f"the wrapper does not rebuild ({type(exc).__name__}: {exc})") from exc
        n_rows, n_cols = wrapper.shape_2d
        for key, spec in self.header["arrays"].items():
            if spec["kind"] == "matrix":
                self.require(spec["shape"] in ((n_rows,), (n_rows, n_cols)) and (len(spec["shape"]) == 2
                                                                                 or n_cols == 1),
                             f"{key}: shape {spec['shape']} does not fit the wrapper's {(n_rows, n_cols)}")
            elif spec["kind"] == "records":
                self.require(spec["n_cols"] == n_cols, f"{key}: {spec['n_cols']} columns, the wrapper has {n_cols}")
                if spec["blocks"] == "group" and spec["n_blocks"] != wrapper.grouper.get_group_count():
                    raise self.fail(f"{key}: {spec['n_blocks']} groups, the wrapper has "
                                    f"{wrapper.grouper.get_group_count()}")
        return wrapper

    def construct(self, cls: type, kwargs: dict) -> Portfolio:
        try:
            return cls(**kwargs)
        except REBUILD_ERRORS as exc:
            raise self.fail(f"the portfolio does not rebuild ({type(exc).__name__}: {exc})") from exc

    def matrix(self, spec: dict, wrapper: ArrayWrapper) -> tp.Any:
        """The whole array, as it was given to the constructor."""
        shape, dtype, once = spec["shape"], spec["dtype"], spec["once"]
        n_rows = shape[0]
        n_cols = shape[1] if len(shape) == 2 else 1
        n_kept = 1 if once else n_cols
        flat, fresh = self.read_array(spec["offset"], spec["stored"], n_rows * n_kept)
        kept = flat.reshape(n_kept, n_rows).T
        info = spec["pandas"]
        # a fresh array in the original memory order (pandas takes it as it is, without a copy of its own),
        # or a read-only view of one column where the original was one
        layout = "F" if info is not None and spec["layout"] == "broadcast" else spec["layout"]
        if fresh and not once and len(shape) == 2 and layout == "F" and spec["stored"] == dtype:
            arr = kept  # read into its final memory
        elif len(shape) == 1:
            arr = np.array(kept[:, 0], dtype=dtype)
        elif once:
            arr = np.broadcast_to(kept.astype(dtype), (n_rows, n_cols))
            if layout != "broadcast":
                arr = np.array(arr, order=layout)
        else:
            arr = np.array(kept, dtype=dtype, order=layout)
        if info is None:
            return arr
        index = wrapper.index if info[1] is None else info[1]
        if info[0] == "series":
            return pd.Series(arr, index=index, name=info[2], copy=False)
        return pd.DataFrame(arr, index=index, columns=wrapper.columns if info[2] is None else info[2], copy=False)

    def matrix_columns(self, spec: dict, cols: np.ndarray) -> np.ndarray:
        """Columns `cols` of the array as a C-ordered `(n_rows, len(cols))` array."""
        n_rows, dtype, stored = spec["shape"][0], spec["dtype"], spec["stored"]
        col_bytes = n_rows * stored.itemsize
        if spec["once"]:
            column = np.frombuffer(self.read_data(spec["offset"], col_bytes), dtype=stored, count=n_rows)
            return np.repeat(column.astype(dtype)[:, None], len(cols), axis=1)
        pieces = []
        for start, stop in column_runs(cols):
            raw = self.read_data(spec["offset"] + start * col_bytes, (stop - start) * col_bytes)
            pieces.append(np.frombuffer(raw, dtype=stored, count=(stop - start) * n_rows).reshape(-1, n_rows))
        return np.ascontiguousarray(np.concatenate(pieces).T, dtype=dtype)

    def vector(self, spec: dict, idxs: tp.Optional[np.ndarray] = None) -> np.ndarray:
        dtype, size = spec["dtype"], spec["dtype"].itemsize
        if idxs is None:
            return np.frombuffer(self.read_data(spec["offset"], spec["nbytes"]), dtype=dtype).copy()
        pieces = [np.frombuffer(self.read_data(spec["offset"] + start * size, (stop - start) * size), dtype=dtype)
                  for start, stop in column_runs(idxs)]
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=dtype)

    def block_offsets(self, key: str, spec: dict, start: int, stop: int) -> np.ndarray:
        """Record offsets of blocks (columns or groups) `start` to `stop` (inclusive), checked."""
        raw = self.read_data(spec["block_offsets"][0] + start * 8, (stop - start + 1) * 8)
        bounds = np.frombuffer(raw, dtype=np.int64)
        self.require(bool(np.all(bounds[1:] >= bounds[:-1])) and bounds[0] >= 0 and bounds[-1] <= spec["n"]
                     and (start > 0 or bounds[0] == 0) and (stop < spec["n_blocks"] or bounds[-1] == spec["n"]),
                     f"{key}: block offsets out of order or out of range")
        return bounds

    def packed(self, spec: dict, lo: int, hi: int) -> np.ndarray:
        packed_dtype = spec["packed"]
        if not packed_dtype.itemsize:
            return np.empty(hi - lo, dtype=packed_dtype)
        size = packed_dtype.itemsize
        return np.frombuffer(self.read_data(spec["offset"] + lo * size, (hi - lo) * size), dtype=packed_dtype)

    def records(
        self,
        key: str,
        spec: dict,
        cols: tp.Optional[np.ndarray] = None,
        col_groups: tp.Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """All records, or those of columns `cols` with `col` renumbered `0, 1, ...` in the order of `cols`, as
        `Records.get_by_col_idxs` selects them. `col_groups` (the group of every column) is needed for records
        in group blocks."""
        n, blocks = spec["n"], spec["blocks"]
        if cols is None:
            col = None
            if blocks is not None:
                lens = np.diff(self.block_offsets(key, spec, 0, spec["n_blocks"]))
                col = np.repeat(np.arange(spec["n_cols"]), lens) if blocks == "col" else None
            return decode_records(spec, self.packed(spec, 0, n), np.arange(n), col)
        block_idxs = cols if blocks == "col" else np.unique(col_groups[cols]) if blocks == "group" else None
        if block_idxs is None:
            return self.gather(key, spec, decode_records(spec, self.packed(spec, 0, n), np.arange(n), None), cols)
        rows_parts, packed_parts, col_parts, position = [], [], [], 0
        for start, stop in column_runs(block_idxs):
            bounds = self.block_offsets(key, spec, start, stop)
            rows_parts.append(np.arange(bounds[0], bounds[-1]))
            packed_parts.append(self.packed(spec, int(bounds[0]), int(bounds[-1])))
            col_parts.append(np.repeat(np.arange(position, position + stop - start), np.diff(bounds)))
            position += stop - start
        rows = np.concatenate(rows_parts) if rows_parts else np.empty(0, dtype=np.int64)
        packed = np.concatenate(packed_parts) if packed_parts else np.empty(0, dtype=spec["packed"])
        if blocks == "col":
            col = np.concatenate(col_parts) if col_parts else np.empty(0, dtype=np.int64)
            return decode_records(spec, packed, rows, col)
        return self.gather(key, spec, decode_records(spec, packed, rows, None), cols)

    def gather(self, key: str, spec: dict, records: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The records of columns `cols` (in that order, each column's in their order) with `col` renumbered."""
        col = records["col"]
        self.require(len(col) == 0 or (col.min() >= 0 and col.max() < spec["n_cols"]),
                     f"{key}: column indices out of range")
        order = np.argsort(col, kind="stable")
        bounds = np.zeros(spec["n_cols"] + 1, dtype=np.int64)
        np.cumsum(np.bincount(col.astype(np.intp), minlength=spec["n_cols"]), out=bounds[1:])
        picks = [order[bounds[c] : bounds[c + 1]] for c in cols]
        selected = records[np.concatenate(picks)] if picks else records[:0]
        selected["col"] = np.repeat(np.arange(len(cols)), [len(p) for p in picks])
        return selected


def column_runs(idxs: np.ndarray) -> tp.List[tp.Tuple[int, int]]:
    """`idxs` as runs `[start, stop)` of consecutive increasing indices, in their order."""
    if len(idxs) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idxs) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(idxs)]))
    return [(int(idxs[s]), int(idxs[e - 1]) + 1) for s, e in zip(starts, ends)]


def decode_records(spec: dict, packed: np.ndarray, rows: np.ndarray, col: tp.Optional[np.ndarray]) -> np.ndarray:
    """Records of the original dtype from their packed fields, `rows` being their positions in the original array
    (for `arange` fields) and `col` their column (where `col` is not stored)."""
    dtype = spec["dtype"]
    out = np.empty(len(packed), dtype=dtype)
    if packed.dtype.names:
        out[list(packed.dtype.names)] = packed  # field by field in one call: structured assignment is by position
    for name, enc, arg in spec["fields"]:
        if enc == STORED:
            continue
        elif enc == CONST:
            out[name] = np.frombuffer(arg, dtype=dtype.fields[name][0])[0]
        elif enc == ARANGE:
            out[name] = rows
        else:
            out[name] = col
    return out
