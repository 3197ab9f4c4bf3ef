"""Checksums and signatures of a run's stored parts: what `register` records and what `load`, `check`,
`export`, `import_` and `copy` verify before trusting a part.

Each part's entry in `RunRecord.parts` holds its `size` and `sha256`, and with a signing key an
`hmac_sha256`. `verify` checks all three (the signature only when the verifying side has a key) and raises
`IntegrityError` naming the run and the part's file, before anything is unpickled.

```pycon
>>> from vectorbt.portfolio.registry.integrity import part_info
>>> info = part_info(b"abc", key=b"secret")
>>> info["size"], info["sha256"][:8], "hmac_sha256" in info
(3, 'ba7816bf', True)
```
"""

import hashlib
import hmac
import os
import threading
from collections import OrderedDict

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import IntegrityError
from vectorbt.portfolio.registry.run import PART_FILES, RunRecord

__all__ = ["ENV_KEY", "signing_key", "sha256", "part_info", "verify", "verify_checksum", "verify_chunks",
           "chunk_digests", "ChunkedReader", "CHUNK_BYTES", "CHUNKED_BYTES", "load_check", "verified_result",
           "PartCache", "audit_parts"]

ENV_KEY = "VBT_REGISTRY_KEY"
"""Environment variable holding the secret key that signs and verifies pickles (see `RunRegistry`)."""


def signing_key(key: tp.Union[None, str, bytes]) -> tp.Optional[bytes]:
    """The signing key to use: `key`, else `$VBT_REGISTRY_KEY`, else None; `TypeError` for anything but a
    non-empty str or bytes."""
    key = key if key is not None else os.environ.get(ENV_KEY) or None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if key is not None and (not isinstance(key, bytes) or not key):
        raise TypeError("signing_key: expected a non-empty str or bytes")
    return key


def sha256(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


CHUNK_BYTES = 1 << 20
"""Size of the pieces whose sha256 a large part's entry also lists (`chunk_sha256`; the last piece may be
shorter)."""

CHUNKED_BYTES = 4 << 20
"""Parts at least this large get `chunk_sha256`, so that loading one configuration of a big sweep verifies the
pieces it reads (`ChunkedReader`) instead of hashing the whole part."""


def chunk_digests(data: tp.Union[bytes, memoryview]) -> tp.List[str]:
    """Hex sha256 of each `CHUNK_BYTES` piece of `data`, in order."""
    view = memoryview(data).cast("B")
    return [hashlib.sha256(view[i : i + CHUNK_BYTES]).hexdigest() for i in range(0, len(view), CHUNK_BYTES)]


def part_info(data: bytes, key: tp.Optional[bytes] = None) -> tp.Dict[str, tp.Any]:
    """What a record keeps about a part: its size and sha256, its HMAC-SHA256 with a key, and for a part of at
    least `CHUNKED_BYTES` the sha256 of each of its `CHUNK_BYTES` pieces (computed in a second thread beside the
    whole part's: hashlib releases the GIL)."""
    info: tp.Dict[str, tp.Any] = {"size": len(data)}
    chunks: tp.List[tp.List[str]] = []
    thread = None
    if len(data) >= CHUNKED_BYTES:
        thread = threading.Thread(target=lambda: chunks.append(chunk_digests(data)), name="chunk-sha256")
        thread.start()
    info["sha256"] = sha256(data)
    if key is not None:
        info["hmac_sha256"] = _hmac(key, data)
    if thread is not None:
        thread.join()
        info["chunk_sha256"] = chunks[0]
    return info


def _check_size(record: RunRecord, role: str, data: bytes) -> None:
    file = PART_FILES.get(role, role)
    info = record.parts.get(role)
    if not info:
        raise IntegrityError(record.run_id, file, "no checksum recorded for it")
    if len(data) != info.get("size"):
        raise IntegrityError(record.run_id, file,
                             f"size is {len(data)} bytes, {info.get('size')} were recorded (truncated?)")


def verify_checksum(record: RunRecord, role: str, data: bytes) -> None:
    """Raise `IntegrityError` unless `data` has the size and sha256 recorded for the run's part `role`."""
    _check_size(record, role, data)
    if sha256(data) != record.parts[role].get("sha256"):
        raise IntegrityError(record.run_id, PART_FILES.get(role, role), "sha256 does not match the recorded one")


def verify_chunks(record: RunRecord, role: str, data: bytes) -> None:
    """Raise `IntegrityError` unless the `chunk_sha256` recorded for the part `role` (if any) are those of `data`
    (whose whole sha256 `verify_checksum` checks): a record whose pieces disagree with its part would fail
    loads of one configuration only. `check` runs this; loads need not (they hash what they read)."""
    pieces = (record.parts.get(role) or {}).get("chunk_sha256")
    if pieces is not None and pieces != chunk_digests(data):
        raise IntegrityError(record.run_id, PART_FILES.get(role, role), "the sha256 of its pieces do not match the "
                             "recorded ones")


class ChunkedReader:
    """A `portfolio_container.Reader` over a part with `chunk_sha256`, which returns only bytes of pieces it
    has verified: each piece a read touches is read whole from `source` (a reader of the stored part) and
    checked against the record the first time, then kept. `size` is the stored part's length, which must be
    the recorded one. A piece that does not match raises `IntegrityError`, as `verify_checksum` would.

    Without a signing key this protects a load of one configuration as a whole-part check protects a whole
    load: against accidents. With a key, `RunRegistry.load` verifies the whole part and its signature
    instead (the pieces' digests are not signed)."""

    def __init__(self, record: RunRecord, role: str, source: tp.Callable[[int, int], bytes], size: int) -> None:
        info = record.parts[role]
        self.run_id, self.file = record.run_id, PART_FILES.get(role, role)
        self.digests: tp.List[str] = list(info["chunk_sha256"])
        self.size = int(info["size"])
        if size != self.size:
            raise IntegrityError(self.run_id, self.file, f"size is {size} bytes, {self.size} were recorded "
                                 f"(truncated?)")
        if len(self.digests) != -(-self.size // CHUNK_BYTES):
            raise IntegrityError(self.run_id, self.file, f"{len(self.digests)} pieces recorded for {self.size} "
                                 f"bytes")
        self.source = source
        self.pieces: tp.Dict[int, bytes] = {}
        self.lock = threading.Lock()

    @staticmethod
    def applies(record: RunRecord, role: str, key: tp.Optional[bytes]) -> bool:
        """Whether a load without `key` can check the part `role` of `record` piece by piece."""
        return key is None and "chunk_sha256" in (record.parts.get(role) or {})

    def _piece(self, i: int) -> bytes:
        with self.lock:
            piece = self.pieces.get(i)
            if piece is None:
                start = i * CHUNK_BYTES
                piece = self.source(start, min(CHUNK_BYTES, self.size - start))
                if hashlib.sha256(piece).hexdigest() != self.digests[i]:
                    raise IntegrityError(self.run_id, self.file, f"sha256 of the piece at offset {start} does not "
                                         f"match the recorded one")
                self.pieces[i] = piece
            return piece

    def __call__(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            return b""  # the container reports the short read as damage
        first, last = offset // CHUNK_BYTES, (offset + max(length, 1) - 1) // CHUNK_BYTES
        pieces = [self._piece(i) for i in range(first, last + 1)]
        start = offset - first * CHUNK_BYTES
        if len(pieces) == 1:
            return pieces[0][start : start + length]
        return b"".join(pieces)[start : start + length]


def _recorded_signature(record: RunRecord, role: str) -> str:
    """The HMAC recorded for the part `role`; `IntegrityError` if the part is not signed."""
    signature = record.parts[role].get("hmac_sha256")
    if signature is None:
        raise IntegrityError(record.run_id, PART_FILES.get(role, role),
                             "not signed, and this registry requires signatures (a signing key is set)")
    return str(signature)


def _check_signature(record: RunRecord, role: str, data: bytes, signature: str, key: bytes) -> None:
    if not hmac.compare_digest(signature, _hmac(key, data)):
        raise IntegrityError(record.run_id, PART_FILES.get(role, role), "signature does not match the signing key")


def verify(record: RunRecord, role: str, data: bytes, key: tp.Optional[bytes] = None) -> None:
    """`verify_checksum`, and with a key, raise `IntegrityError` unless the part carries a matching signature."""
    verify_checksum(record, role, data)
    if key is not None:
        _check_signature(record, role, data, _recorded_signature(record, role), key)


def load_check(record: RunRecord, role: str, data: bytes, key: tp.Optional[bytes] = None) -> tp.Callable[[], None]:
    """What a load verifies of `data` as the run's part `role`: the size, and with a key that a signature is
    recorded, at once; the rest as the returned step, which raises `IntegrityError` as `verify` would (and which
    `verified_result` runs beside the parsing).

    Without a key the step checks the sha256. With one it checks only the HMAC-SHA256, one pass over the bytes
    instead of `verify`'s two: a changed byte fails the signature as it fails the sha256, and on a mismatch the
    sha256 is computed too, so that damage is reported as damage. `verify` (what `check`, `export` and the
    migration use) also checks that the recorded sha256 is the bytes' own."""
    _check_size(record, role, data)
    if key is None:
        return lambda: verify_checksum(record, role, data)
    signature = _recorded_signature(record, role)

    def signed() -> None:
        try:
            _check_signature(record, role, data, signature, key)
        except IntegrityError:
            verify_checksum(record, role, data)  # damage is reported as damage
            raise

    return signed


PARALLEL_VERIFY_BYTES = 1 << 20
"""Parts at least this large are verified in a second thread while they are parsed (`verified_result`)."""


def verified_result(check: tp.Callable[[], None], work: tp.Callable[[], tp.Any], nbytes: int) -> tp.Any:
    """`work()`'s result, returned only once `check()` (the verification of the bytes `work` parses) has passed.

    For `nbytes` of at least `PARALLEL_VERIFY_BYTES` the check runs in a second thread while `work` runs
    (hashlib releases the GIL, so a large sha256 and the parsing overlap); below that, one after the other,
    check first. Whatever `work` made is dropped when the check fails: its `IntegrityError` is what is raised,
    also when `work` failed on the same damaged bytes. `work` must only parse (never run code from the bytes):
    the restricted unpickler of format 2 is what makes that so."""
    if nbytes < PARALLEL_VERIFY_BYTES:
        check()
        return work()
    failure: tp.List[BaseException] = []

    def run_check() -> None:
        try:
            check()
        except BaseException as e:  # handed to the caller's thread below, never lost
            failure.append(e)

    thread = threading.Thread(target=run_check, name="verify-part", daemon=True)
    thread.start()
    try:
        result = work()
    except BaseException:
        thread.join()
        if failure:
            raise failure[0] from None
        raise
    thread.join()
    if failure:
        raise failure[0]
    return result


class PartCache:
    """Parts already read and verified in this process, by run id and checksum, the most recently used first,
    up to `max_bytes` in all (0 keeps nothing). A part is found only under the sha256 (and signature) that its
    record names now, so a run rewritten or re-signed since is read again."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._parts: "OrderedDict[tp.Tuple[str, str, str, tp.Optional[str]], bytes]" = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(record: RunRecord, role: str) -> tp.Tuple[str, str, str, tp.Optional[str]]:
        info = record.parts.get(role) or {}
        return record.run_id, role, str(info.get("sha256")), info.get("hmac_sha256")

    def get(self, record: RunRecord, role: str) -> tp.Optional[bytes]:
        """The verified bytes of that part of `record`, or None."""
        key = self.key(record, role)
        with self._lock:
            data = self._parts.get(key)
            if data is not None:
                self._parts.move_to_end(key)
            return data

    def put(self, record: RunRecord, role: str, data: bytes) -> None:
        """Keep `data`, which was just verified against `record`, if it fits."""
        if len(data) > self.max_bytes:
            return
        key = self.key(record, role)
        with self._lock:
            if key in self._parts:
                return
            self._parts[key] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, dropped = self._parts.popitem(last=False)
                self._size -= len(dropped)

    def forget(self, run_id: str) -> None:
        """Drop every part of run `run_id`."""
        with self._lock:
            for key in [k for k in self._parts if k[0] == run_id]:
                self._size -= len(self._parts.pop(key))


def audit_parts(store: tp.Any, key: tp.Optional[bytes], unreadable: tp.Set[str] = frozenset(),
                progress: tp.Optional[bool] = None) -> tp.List[tp.Any]:
    """Verify every part of every run of `store` (live and in the trash) against its record, with `key` also
    its signature; return a `Problem` per run found wrong (`RunRegistry.check` with `checksums`).

    A part that is missing or does not match is a `"checksum"` problem; a run whose record cannot be read an
    `"unreadable"` one, unless its id is in `unreadable` (the store's own check reported it already). Runs
    deleted, restored or purged meanwhile are skipped. Never raises for a damaged run."""
    from vectorbt.portfolio.registry.errors import RegistryError, RunNotFoundError
    from vectorbt.portfolio.registry.progress import progress_bar
    from vectorbt.portfolio.registry.stores.base import Problem

    problems = []
    for deleted in (False, True):
        ids = store.table(deleted=deleted).index
        for run_id in progress_bar(ids, len(ids), "verifying pickles", progress):
            try:
                record = store.read(run_id, deleted=deleted)
                for role in record.parts:  # the portfolio, and the configurations table of schema 2
                    data = store.read_part(run_id, role, deleted=deleted)
                    verify(record, role, data, key)
                    verify_chunks(record, role, data)
            except RunNotFoundError:  # deleted, restored or purged meanwhile
                continue
            except IntegrityError as e:
                if e.file in PART_FILES.values():  # a part is missing or does not match
                    problems.append(Problem("checksum", run_id, f"{run_id}/{e.file}", str(e), False))
                elif run_id not in unreadable:
                    problems.append(Problem("unreadable", run_id, f"{run_id}/{e.file}", str(e), False))
            except (RegistryError, OSError) as e:  # a newer format, an I/O error
                if run_id not in unreadable:  # the store's own check may have reported it already
                    problems.append(Problem("unreadable", run_id, run_id, f"{type(e).__name__}: {e}", False))
    return problems
