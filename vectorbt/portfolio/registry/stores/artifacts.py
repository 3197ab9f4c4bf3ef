"""`ArtifactStore`: parts of runs as content-addressed objects in object storage, through fsspec.

A store that keeps its records elsewhere (`PostgresStore`) puts large parts (portfolios) here, under

```text
<url>/objects/<sha256[:2]>/<sha256>    the bytes of a part, named by their own sha256
```

Objects are never changed in place: the same bytes always have the same name, so two runs with the same
portfolio share one object, and an object whose size is not that of its name's bytes (a write cut short on a
file system) is written again. Whether an object is still needed is the database's business (who references
it); this module only writes, reads, lists and removes objects.

Any fsspec URL works: `s3://bucket/prefix` (s3fs), `file:///shared/disk/prefix`, `memory://...`. Options of
the file system (credentials, `endpoint_url`, ...) go in `options` and are never shown: `repr` and errors name
the URL only, with any password in it redacted.
"""

import hashlib
import time
from datetime import datetime

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.stores.location import redact

__all__ = ["ArtifactStore", "object_key"]


def object_key(data: bytes) -> str:
    """The name of `data` below the store's root: `objects/<sha256[:2]>/<sha256>`."""
    digest = hashlib.sha256(data).hexdigest()
    return f"objects/{digest[:2]}/{digest}"


def _mtime(info: tp.Dict[str, tp.Any]) -> tp.Optional[float]:
    """Modification time (seconds since the epoch) of a listed object, whatever the file system calls it."""
    for name in ("LastModified", "mtime", "last_modified", "created", "modified"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
    return None


class ArtifactStore:
    """Content-addressed objects below an fsspec URL.

    Args:
        url (str): Where the objects live, e.g. `"s3://bucket/prefix"` or `"file:///mnt/shared/runs"`.
        options (dict): Options of the file system (`fsspec.core.url_to_fs`): credentials, endpoint, ...

    Opening asks the medium whether the root exists, so that a wrong endpoint or credentials fail here, and a
    client's first write does not pay for connecting. Errors of the medium raise `OSError` (fsspec's own, or
    `FileNotFoundError` for a missing object). Needs fsspec (and s3fs for `s3://`): the `team` extra."""

    def __init__(self, url: str, options: tp.Optional[tp.Dict[str, tp.Any]] = None) -> None:
        import fsspec

        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url, **dict(options or {}))
        self.root = root.rstrip("/")
        self.fs.exists(self.root)  # connects now (an S3 client takes a while), not in the middle of a write

    def __repr__(self) -> str:
        return f"ArtifactStore({redact(self.url)!r})"

    def path(self, key: str) -> str:
        """The file system path of `key`."""
        return f"{self.root}/{key}"

    def size(self, key: str) -> tp.Optional[int]:
        """Size in bytes of the object `key`, or None if there is none (asked of the medium, never a cache)."""
        path = self.path(key)
        self.fs.invalidate_cache(path)
        try:
            return int(self.fs.info(path)["size"])
        except FileNotFoundError:
            return None

    def put(self, data: bytes) -> str:
        """Store `data` (unless an object of its name and size is there already); return its key."""
        key = object_key(data)
        if self.size(key) != len(data):
            path = self.path(key)
            parent = path.rsplit("/", 1)[0]
            self.fs.makedirs(parent, exist_ok=True)
            self.fs.pipe_file(path, data)
        return key

    def ensure(self, key: str, data: bytes) -> None:
        """Make sure the object `key` holds `data` (written again if it is missing or cut short)."""
        if self.size(key) != len(data):
            self.fs.makedirs(self.path(key).rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(self.path(key), data)

    def get(self, key: str) -> bytes:
        """The bytes of object `key`; `FileNotFoundError` if it is missing."""
        return self.fs.cat_file(self.path(key))

    def remove(self, key: str) -> None:
        """Remove object `key` (nothing happens if it is missing)."""
        path = self.path(key)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass
        self.fs.invalidate_cache(path)

    def list(self) -> tp.Dict[str, float]:
        """Every object below `objects/`: key -> age in seconds (0 if the medium does not say)."""
        base = self.path("objects")
        self.fs.invalidate_cache(base)
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        now = time.time()
        out = {}
        prefix = self.root + "/"
        for path, info in found.items():
            if info.get("type", "file") != "file":
                continue
            name = path[len(prefix):] if path.startswith(prefix) else path
            mtime = _mtime(info)
            out[name] = 0.0 if mtime is None else max(0.0, now - mtime)
        return out
