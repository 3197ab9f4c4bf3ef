"""File primitives: the one atomic write helper every file write goes through, and an inter-process lock.

`atomic_write` writes to a temporary file in the destination's own folder (so that the final rename never
crosses file systems), flushes and fsyncs it, then `os.replace`s it into place: readers see the old content
or the new one, never a mix, and a crash leaves at most a temporary file whose name starts with `.` and
ends with `.tmp`, which no reader looks at and `RunRegistry.repair` removes.
"""

import contextlib
import os
import threading

from vectorbt import _typing as tp

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["atomic_write", "fsync_dir", "FileLock", "TMP_SUFFIX", "is_temp_name"]

TMP_SUFFIX = ".tmp"
"""Suffix of temporary files; with the leading `.` it marks names that readers skip."""


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of `atomic_write`'s temporary files."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def fsync_dir(path: tp.FileName) -> None:
    """fsync a folder so that entries created, renamed or removed in it survive a crash (no-op on Windows)."""
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: tp.FileName, data: bytes, sync_dir: bool = True) -> None:
    """Write `data` to `path` atomically: temp file in the same folder, fsync, `os.replace`.

    With `sync_dir`, the folder is fsynced too, so the new name itself is durable. On any error the temp
    file is removed and the error propagates; the previous content of `path`, if any, is untouched."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(
        folder, f".{name}.{os.getpid()}.{threading.get_ident()}.{os.urandom(4).hex()}{TMP_SUFFIX}"
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    if sync_dir:
        fsync_dir(folder or ".")


class FileLock:
    """An exclusive inter-process lock on a file (`fcntl.flock`), usable as a context manager.

    Re-entrant within one object. Where `fcntl` does not exist (Windows) it only serializes the threads of
    one process; `docs/design.md` says what that means for concurrent writers there."""

    def __init__(self, path: tp.FileName) -> None:
        self.path = os.fspath(path)
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: tp.Optional[int] = None

    def __enter__(self) -> "FileLock":
        self._thread_lock.acquire()
        if self._depth == 0 and fcntl is not None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                self._thread_lock.release()
                raise
            self._fd = fd
        self._depth += 1
        return self

    def __exit__(self, *exc: tp.Any) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        self._thread_lock.release()
