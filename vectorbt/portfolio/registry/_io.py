"""File primitives: the atomic write helpers every file write goes through, and an inter-process lock.

`atomic_write` writes to a temporary file in the destination's own folder (so that the final rename never
crosses file systems), flushes and fsyncs it, then `os.replace`s it into place: readers see the old content
or the new one, never a mix, and a crash leaves at most a temporary file whose name starts with `.` and
ends with `.tmp`, which no reader looks at and `RunRegistry.repair` removes. `write_temp` and `commit` are
its two halves, for changes that prepare several files before making any of them visible. `write_folder`
fills a new folder that is not yet visible (a run's staging folder): the folder's rename is then the atomic
step, so its files need no temporary names of their own.

Errors of the medium (`ENOSPC`, `EDQUOT`, `EACCES`, `EIO`) propagate as `OSError`, with the file they were
about in `filename`.
"""

import concurrent.futures
import contextlib
import ctypes
import errno
import os
import sys
import threading

from vectorbt import _typing as tp

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["atomic_write", "write_temp", "commit", "discard", "write_folder", "fsync_dir", "exchange", "FileLock",
           "TMP_SUFFIX", "is_temp_name"]

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


def _name_the_file(e: OSError, path: str) -> None:
    # "No space left on device" alone does not say where: name the file the write was for
    if e.filename is None:
        e.filename = path


def write_temp(path: tp.FileName, data: bytes, durable: bool = True) -> str:
    """The first half of `atomic_write`: write `data` to a new temporary file beside `path` and fsync it;
    return the temporary file's path. `commit` moves it into place, `discard` removes it.

    Preparing every file of a change first and only then renaming them into place keeps the part that can
    fail for lack of space or quota before the point where the change becomes visible.

    `durable=False` skips the fsync: for derived data that can be rebuilt, where a power loss may leave the
    file empty or gone (readers must then ignore it), never half of one version and half of another."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(
        folder, f".{name}.{os.getpid()}.{threading.get_ident()}.{os.urandom(4).hex()}{TMP_SUFFIX}"
    )
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            discard(tmp)
            raise
    except OSError as e:
        _name_the_file(e, path)
        raise
    return tmp


def commit(tmp: str, path: tp.FileName, sync_dir: bool = True) -> None:
    """The second half of `atomic_write`: `os.replace` the temporary file `tmp` onto `path` (and with
    `sync_dir` fsync the folder, so that the new name is durable). On failure `tmp` is removed."""
    path = os.fspath(path)
    try:
        try:
            os.replace(tmp, path)
        except BaseException:
            discard(tmp)
            raise
        if sync_dir:
            fsync_dir(os.path.dirname(path) or ".")
    except OSError as e:
        _name_the_file(e, path)
        raise


def discard(tmp: tp.Optional[str]) -> None:
    """Remove a temporary file made by `write_temp`, if it is still there."""
    if tmp is not None:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def atomic_write(path: tp.FileName, data: bytes, sync_dir: bool = True) -> None:
    """Write `data` to `path` atomically: temp file in the same folder, fsync, `os.replace`.

    With `sync_dir`, the folder is fsynced too, so the new name itself is durable. On any error the temp
    file is removed and the error propagates (an `OSError` without a file name gets `path` as its
    `filename`, so that "No space left on device" says where); the previous content of `path`, if any, is
    untouched."""
    commit(write_temp(path, data), path, sync_dir=sync_dir)


_SYNC_THREADS = 4
"""Most files `write_folder` fsyncs at once."""

_sync_pool: tp.Optional[concurrent.futures.ThreadPoolExecutor] = None
_sync_pool_lock = threading.Lock()


def _forget_sync_pool() -> None:
    # a forked child has none of its parent's threads: an inherited pool would wait for them forever
    global _sync_pool
    _sync_pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_sync_pool)


def _fsync_all(fds: tp.Sequence[int]) -> None:
    """fsync the open files `fds`, at once from several threads (the file system journals them together), and
    raise the first error."""
    global _sync_pool
    if len(fds) < 2:
        for fd in fds:
            os.fsync(fd)
        return
    with _sync_pool_lock:
        if _sync_pool is None:
            _sync_pool = concurrent.futures.ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="registry-fsync")
        pool = _sync_pool
    futures = [pool.submit(os.fsync, fd) for fd in fds]
    concurrent.futures.wait(futures)  # all finished before the caller closes any of the files
    for future in futures:
        future.result()


def write_folder(folder: tp.FileName, files: tp.Mapping[str, bytes]) -> None:
    """Create `folder` (which must not exist) with `files` (name to content) in it, every file and the folder
    itself fsynced before this returns.

    For a folder that readers do not look at until it is renamed into place (a staging folder): renaming it
    is the atomic step, so the files are written under their own names, and their fsyncs are issued together
    (one journal commit on most file systems, not one per file). On error the folder may be left partly
    written, for the caller to remove; like `atomic_write`, an `OSError` names the file it was about."""
    folder = os.fspath(folder)
    os.mkdir(folder)
    fds: tp.List[int] = []
    path = folder
    try:
        try:
            for name, data in files.items():
                path = os.path.join(folder, name)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
                fds.append(fd)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            path = folder
            _fsync_all(fds)
        finally:
            for fd in fds:
                os.close(fd)
        fsync_dir(folder)
    except OSError as e:
        _name_the_file(e, path)
        raise


_RENAME_EXCHANGE = 2
"""`renameat2`'s flag (Linux 3.15+) that swaps two paths in one step."""

_RENAME_SWAP = 2
"""`renamex_np`'s flag (macOS 10.12+) that swaps two paths in one step."""

_AT_FDCWD = -100


def _exchange_call() -> tp.Optional[tp.Callable[[bytes, bytes], int]]:
    """The C library's atomic swap of two paths, or None on platforms that have none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - Windows
        return None
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: fn(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):  # pragma: no cover - not tested here
        fn = libc.renamex_np
        fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: fn(a, b, _RENAME_SWAP)
    return None  # pragma: no cover


_EXCHANGE = _exchange_call()


def exchange(a: tp.FileName, b: tp.FileName) -> None:
    """Swap two existing paths (two folders, say) in one atomic step: a crash leaves either both as they were or
    both swapped, and a reader never finds either path missing. Then fsyncs their folder.

    Raises `OSError` with `errno.ENOTSUP` where the platform or file system cannot do it (Windows; file systems
    without `RENAME_EXCHANGE`), and the call's own `OSError` otherwise; nothing is changed then."""
    if _EXCHANGE is None:  # pragma: no cover
        raise OSError(errno.ENOTSUP, "this platform cannot swap two paths atomically", os.fspath(b))
    if _EXCHANGE(os.fsencode(a), os.fsencode(b)) != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS):  # the file system (or kernel) has no exchange
            code = errno.ENOTSUP
        raise OSError(code, os.strerror(code), os.fspath(b))
    fsync_dir(os.path.dirname(os.path.abspath(b)))


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
