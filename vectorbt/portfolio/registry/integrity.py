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

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import IntegrityError
from vectorbt.portfolio.registry.run import PART_FILES, RunRecord

__all__ = ["ENV_KEY", "signing_key", "sha256", "part_info", "verify", "verify_checksum"]

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
