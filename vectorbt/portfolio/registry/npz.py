"""Reading the `.npz` archives the registry writes (a run's `"configs"` part) in place.

`np.load` of an archive copies every member out of it, chunk by chunk, and parses each member's header with
`ast.literal_eval`: for the thousand `"configs"` parts that `RunRegistry.best` reads in a fresh process that is
most of its time, and the copies are fresh memory, which a virtual machine may have to fault in page by page.
`read_npz` gives the arrays of an archive written by `np.savez` (members stored, not compressed) as read-only
views of the archive's own bytes, after checking each member's CRC-32, as `np.load` does. A member whose header
is not the plain one `np.save` writes for a plain dtype is read by NumPy's own reader, and an archive that is
not stored plainly (compressed, say) by `np.load`; both with `allow_pickle=False`. Nothing is ever unpickled.

```pycon
>>> import io
>>> import numpy as np
>>> from vectorbt.portfolio.registry.npz import read_npz
>>> buf = io.BytesIO()
>>> np.savez(buf, a=np.arange(3), b=np.array([[1.5, 2.5]]))
>>> arrays = read_npz(buf.getvalue())
>>> arrays["a"].tolist(), arrays["b"].shape, arrays["a"].flags.writeable
([0, 1, 2], (1, 2), False)
```
"""

import io
import math
import re
import struct
import zipfile
import zlib

import numpy as np

from vectorbt import _typing as tp

__all__ = ["read_npz"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
"""A zip member's local file header (PKWARE's APPNOTE, 4.3.7): its last two fields are the lengths of the name
and of the extra field that come between the header and the member's data."""

_LOCAL_MAGIC = b"PK\x03\x04"

_NPY_HEADER = re.compile(rb"\A\x93NUMPY\x01\x00..\{'descr': '([<>|][biufcSU]\d+)', 'fortran_order': False, "
                         rb"'shape': \(((?:\d+, )*\d*,?)\), \} *\n", re.DOTALL)
"""The header `np.save` writes (format 1.0) for a C-ordered array of a plain dtype: booleans, numbers, strings."""


def _member(view: memoryview, info: zipfile.ZipInfo) -> memoryview:
    """The bytes of a stored member, in place, checked against its CRC-32."""
    start = info.header_offset
    head = view[start:start + _LOCAL_HEADER.size]
    if len(head) != _LOCAL_HEADER.size:
        raise ValueError(f"member {info.filename!r}: truncated")
    fields = _LOCAL_HEADER.unpack(head)
    if fields[0] != _LOCAL_MAGIC:
        raise ValueError(f"member {info.filename!r}: no local header")
    start += _LOCAL_HEADER.size + fields[-2] + fields[-1]
    body = view[start:start + info.file_size]
    if len(body) != info.file_size:
        raise ValueError(f"member {info.filename!r}: truncated")
    if zlib.crc32(body) != info.CRC:
        raise ValueError(f"member {info.filename!r}: bad CRC-32")
    return body


def _array(body: memoryview) -> np.ndarray:
    """The array of a `.npy` member: a read-only view of `body` for the plain header, else NumPy's reading."""
    found = _NPY_HEADER.match(body[:256])
    if found is not None:
        length = 10 + int.from_bytes(body[8:10], "little")
        dtype = np.dtype(found.group(1).decode("ascii"))
        shape = tuple(int(s) for s in found.group(2).split(b",") if s.strip())
        count = math.prod(shape)
        if found.end() == length and len(body) == length + count * dtype.itemsize:
            return np.frombuffer(body, dtype=dtype, count=count, offset=length).reshape(shape)
    return np.lib.format.read_array(io.BytesIO(body), allow_pickle=False)


def read_npz(data: tp.Union[bytes, memoryview]) -> tp.Dict[str, np.ndarray]:
    """The arrays of the `.npz` archive `data` by name (the member's name without `.npy`), as read-only views of
    `data` where the archive stores them plainly (see the module's documentation).

    Raises `ValueError` (a bad CRC, a truncated member, a pickled array), `zipfile.BadZipFile` or `OSError` for
    bytes that are not such an archive."""
    data = data if isinstance(data, bytes) else bytes(data)  # io.BytesIO shares bytes, copies other buffers
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    if any(info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 for info in infos):
        with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
            return {name: loaded[name] for name in loaded.files}
    view, out = memoryview(data), {}
    for info in infos:
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        out[name] = _array(_member(view, info))
    return out
