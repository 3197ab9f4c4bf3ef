"""`read_npz`: the arrays of an `.npz` archive, read in place, equal to what `np.load` gives, for every dtype and
shape `np.savez` writes plainly; other archives and members read by NumPy's own reader; damage refused; never an
unpickling."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vectorbt.portfolio.registry import npz
from vectorbt.portfolio.registry.npz import read_npz

DTYPES = st.sampled_from(["|b1", "|i1", "<i2", ">i4", "<i8", "|u1", "<u2", "<u8", "<f4", "<f8", ">f8", "<c16",
                          "|S5", "<U3", ">U2"])


def savez(compressed: bool = False, **arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def loaded(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def assert_same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape, name
        np.testing.assert_array_equal(got[name], want[name])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DTYPES.flatmap(lambda d: hnp.arrays(np.dtype(d), hnp.array_shapes(min_dims=0, max_dims=3,
                                                                                   min_side=0, max_side=4))),
                min_size=1, max_size=4),
       st.booleans())
def test_equal_to_np_load_for_every_plain_dtype_and_shape(arrays, compressed):
    data = savez(compressed, **{f"a{i}": a for i, a in enumerate(arrays)})
    got = read_npz(data)
    assert_same(got, loaded(data))
    if not compressed:  # stored plainly: views of the archive's bytes, which nobody may change
        assert all(not a.flags.writeable for a in got.values())


def test_stored_members_are_views_of_the_archive_and_others_are_read_by_numpy():
    plain, fortran = np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(6).reshape(2, 3))
    dates = np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[ns]")
    data = savez(plain=plain, fortran=fortran, dates=dates)
    got = read_npz(data)
    assert_same(got, loaded(data))
    assert np.shares_memory(got["plain"], np.frombuffer(data, np.uint8))
    assert got["fortran"].flags.f_contiguous and got["dates"].dtype == dates.dtype  # NumPy's reader
    assert read_npz(memoryview(data))["plain"].tolist() == plain.tolist()


def test_damage_is_refused():
    data = savez(a=np.arange(1000), b=np.ones(10))
    for flip in (400, 1500, len(data) // 2):  # inside a member's data
        bad = bytearray(data)
        bad[flip] ^= 0xFF
        with pytest.raises(ValueError, match="CRC"):
            read_npz(bytes(bad))
    for bad in (b"", b"not an archive", data[:len(data) // 2], data[:-10]):
        with pytest.raises((ValueError, zipfile.BadZipFile, OSError)):
            read_npz(bad)
    moved = bytearray(data)  # the first member's local header damaged: its data cannot be found
    moved[0:4] = b"XXXX"
    with pytest.raises(ValueError, match="local header"):
        read_npz(bytes(moved))
    buf = io.BytesIO()  # a header that claims more values than the member holds: NumPy's reader refuses it
    np.save(buf, np.arange(1000))
    short = buf.getvalue().replace(b"(1000,)", b"(1001,)")
    with pytest.raises(ValueError, match="EOF"):
        npz._array(memoryview(short))
    assert npz._array(memoryview(buf.getvalue())).tolist() == list(range(1000))


class Payload:
    ran = False

    def __reduce__(self):
        return (setattr, (Payload, "ran", True))


def test_pickled_members_are_refused_without_running():
    data = savez(meta=np.array([Payload()], dtype=object))
    Payload.ran = False
    with pytest.raises(ValueError, match="allow_pickle"):
        read_npz(data)
    with pytest.raises(ValueError, match="allow_pickle"):
        read_npz(savez(True, meta=np.array([Payload()], dtype=object)))
    assert not Payload.ran


def test_the_plain_header_is_what_np_save_writes():
    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 3), dtype="<i8"))
    assert npz._NPY_HEADER.match(buf.getvalue()[:256]) is not None
