"""Where a registry lives, written as a path or a URL, and the store that opens it.

| location | store |
| --- | --- |
| a folder path, or `file:///abs/folder` | `FileStore` |
| `postgresql://user@host:port/db` (or `postgres://...`) | `PostgresStore` (the `[team]` extra) |

`None` means the default registry: `$VBT_REGISTRY_URL` if set, else the folder `$VBT_REGISTRY_DIR`, else
`~/.vectorbt/registry`.

```pycon
>>> from vectorbt.portfolio.registry.stores.location import redact
>>> redact("postgresql://alice:s3cret@db.example:5432/runs")
'postgresql://alice:***@db.example:5432/runs'
```
"""

import os
import re
from urllib.parse import unquote, urlsplit

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.stores.base import RunStore

ENV_URL = "VBT_REGISTRY_URL"
"""Environment variable with the default registry's location (a path or URL); it wins over `ENV_PATH`."""

ENV_PATH = "VBT_REGISTRY_DIR"
"""Environment variable with the default registry folder."""

DEFAULT_DIR = os.path.join("~", ".vectorbt", "registry")
"""The default registry folder when neither environment variable is set."""

POSTGRES_SCHEMES = ("postgresql", "postgres")
"""URL schemes that open a `PostgresStore`."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def default_path() -> str:
    """The default registry folder: `$VBT_REGISTRY_DIR` if set, else `~/.vectorbt/registry`."""
    return os.path.abspath(os.path.expanduser(os.environ.get(ENV_PATH) or DEFAULT_DIR))


def default_location() -> str:
    """The default registry: `$VBT_REGISTRY_URL` if set, else `default_path()`."""
    return os.environ.get(ENV_URL) or default_path()


def is_url(location: tp.Any) -> bool:
    """Whether `location` is written as a URL (`scheme://...`) rather than as a path."""
    return isinstance(location, str) and bool(_URL.match(location))


def redact(location: tp.Any) -> str:
    """`location` as text with any password replaced by `***`, for `repr`, logs and error messages."""
    text = os.fspath(location) if isinstance(location, os.PathLike) else str(location)
    if not is_url(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return text.replace(parts.netloc, f"{user}:***@{netloc[2]}", 1)


def open_store(location: tp.Union[None, tp.FileName] = None, read_only: bool = False, **options: tp.Any) -> RunStore:
    """Open the store at `location` (see the module's table); `options` go to the store's constructor.

    Raises `ValueError` for a URL scheme that no store serves, and `ImportError` naming the extra to
    install when the store's libraries are missing.
    """
    from vectorbt.portfolio.registry.stores.file_store import FileStore

    if location is None:
        location = default_location()
    if not is_url(location):
        return FileStore(location, read_only=read_only, **options)
    scheme = location.split("://", 1)[0].lower()
    if scheme == "file":
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"store: a file URL names a folder on this machine, got host {parts.netloc!r}")
        return FileStore(unquote(parts.path), read_only=read_only, **options)
    if scheme in POSTGRES_SCHEMES:
        try:
            from vectorbt.portfolio.registry.stores.postgres import PostgresStore
        except ImportError as e:
            raise ImportError(
                f"store: a PostgreSQL registry needs the team extra: pip install 'vectorbt-registry[team]' ({e})"
            ) from e
        return PostgresStore(location, read_only=read_only, **options)
    raise ValueError(
        f"store: no store serves {scheme}:// URLs ({redact(location)}); use a folder path, a file:// URL "
        f"or a {'/'.join(s + '://' for s in POSTGRES_SCHEMES)} URL"
    )
