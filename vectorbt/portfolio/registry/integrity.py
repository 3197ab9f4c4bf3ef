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

__all__ = ["ENV_KEY", "signing_key", "sha256", "part_info", "verify", "verify_checksum", "verified_result", "PartCache",
           "audit_parts"]

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


def part_info(data: bytes, key: tp.Optional[bytes] = None) -> tp.Dict[str, tp.Any]:
    """What a record keeps about a part: its size and sha256, and its HMAC-SHA256 with a key."""
    info: tp.Dict[str, tp.Any] = {"size": len(data), "sha256": sha256(data)}
    if key is not None:
        info["hmac_sha256"] = _hmac(key, data)
    return info


def verify_checksum(record: RunRecord, role: str, data: bytes) -> None:
    """Raise `IntegrityError` unless `data` has the size and sha256 recorded for the run's part `role`."""
    file = PART_FILES.get(role, role)
    info = record.parts.get(role)
    if not info:
        raise IntegrityError(record.run_id, file, "no checksum recorded for it")
    if len(data) != info.get("size"):
        raise IntegrityError(record.run_id, file,
                             f"size is {len(data)} bytes, {info.get('size')} were recorded (truncated?)")
    if sha256(data) != info.get("sha256"):
        raise IntegrityError(record.run_id, file, "sha256 does not match the recorded one")


def verify(record: RunRecord, role: str, data: bytes, key: tp.Optional[bytes] = None) -> None:
    """`verify_checksum`, and with a key, raise `IntegrityError` unless the part carries a matching signature."""
    verify_checksum(record, role, data)
    if key is None:
        return
    file = PART_FILES.get(role, role)
    signature = record.parts[role].get("hmac_sha256")
    if signature is None:
        raise IntegrityError(record.run_id, file,
                             "not signed, and this registry requires signatures (a signing key is set)")
    if not hmac.compare_digest(str(signature), _hmac(key, data)):
        raise IntegrityError(record.run_id, file, "signature does not match the signing key")


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
                    verify(record, role, store.read_part(run_id, role, deleted=deleted), key)
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
