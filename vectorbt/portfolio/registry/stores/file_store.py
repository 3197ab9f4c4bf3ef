"""`FileStore`: the default store, a folder of run folders with a derived index beside them.

## Layout

```text
<root>/
    registry.json                  marks the folder as a registry: format name and schema_version
    runs/<run_id>/run.json         metadata: the source of truth (see below)
    runs/<run_id>/portfolio.pkl    the portfolio: the registry's own format (`portfolio_format`; schema 1: `pf.dumps()`)
    runs/<run_id>/configs.npz      the columnar table of its configurations and their metrics (`configs`; from
                                   schema 2, from schema 4 the only copy of the metrics)
    runs/<run_id>/metrics.npy      per-configuration metrics, float64, n_columns x n_metrics (schemas 1 to 3)
    trash/<run_id>/...             runs deleted with `RunRegistry.delete`, same layout
    index/snapshot.npz             derived: the summary table of all runs, column-wise, and which events
                                   it includes (plain arrays, read with allow_pickle=False)
    index/events/<t>-<pid>-<r>.json  derived: one summary row (or removal) per change since the snapshot
    lock                           an empty file that writers of metadata lock (never the data itself)
```

## How a run is written

Its files are written into a new staging folder `runs/.staging-...` (`write_folder`: every file and the
folder fsynced, the files' fsyncs issued together), which is then renamed to `runs/<run_id>` in one step: a
run folder is complete or absent. Then an event with the run's summary row goes to `index/events/`.
The rename and the event are done under the lock file (a few milliseconds), so that the events of one run
are written in the order its changes happened; the slow part, writing the files, needs no lock.

## The index

Listing 100,000 runs cannot read 100,000 files, so `table` answers from a derived index beside the run
folders (`vectorbt.portfolio.registry.stores.file_index.FileIndex`: a snapshot plus one event file per change),
which the run folders can always rebuild. `docs/design.md` explains the choice.
"""

import contextlib
import functools
import io
import os
import shutil
import time
import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.configs.part import read_metrics
from vectorbt.portfolio.registry._io import (
    FileLock,
    atomic_write,
    commit,
    discard,
    exchange,
    fsync_dir,
    is_temp_name,
    write_folder,
    write_temp,
)
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    IntegrityError,
    NotARegistryError,
    ReadOnlyError,
    RegistryError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.index import select_rows
from vectorbt.portfolio.registry.run import (
    METRICS_FILE,
    PART_FILES,
    RECORD_FILE,
    RunRecord,
    check_run_id,
    is_run_id,
    metrics_in_configs,
    summary_row,
)
from vectorbt.portfolio.registry.spec import CONFIGS, PARTS
from vectorbt.portfolio.registry.stores.base import LIVE_DETAIL, Problem, RunStore, same_identity_error
from vectorbt.portfolio.registry.stores.file_index import EVENTS_DIR, Event, FileIndex, folder_ids
from vectorbt.portfolio.registry.stores.record_cache import RecordCache, file_identity

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query

__all__ = ["FileStore"]

FORMAT_NAME = "vectorbt-registry"
"""Value of `"format"` in `registry.json`."""

STORE_SCHEMA_VERSION = 1
"""Layout version of the folder; readers refuse a larger one."""

MARKER_FILE = "registry.json"
RUNS_DIR = "runs"
TRASH_DIR = "trash"
INDEX_DIR = "index"
LOCK_FILE = "lock"
META_FILE = RECORD_FILE
STAGING_PREFIX = ".staging-"

LEFTOVER_GRACE_SECONDS = 3600.0
"""`repair` removes staging folders and temp files older than this; younger ones may belong to a live writer."""

LAYOUT_NAMES = (RUNS_DIR, TRASH_DIR, INDEX_DIR, LOCK_FILE)
"""What the root holds besides `registry.json`."""

_VERBS = {"create": "write a new run", "update": "change the run", "trash": "move the run to the trash",
          "restore": "restore the run", "purge": "purge the run", "rebuild_index": "rebuild the index",
          "repair": "repair the registry"}


def _run_files(record: RunRecord, parts: tp.Mapping[str, bytes]) -> tp.Dict[str, bytes]:
    """The files of a run folder, by name: its parts, `run.json`, and `metrics.npy` unless the metric matrix is
    read from `configs.npz`, which holds it too (`RunRecord.metrics_in_configs`: from schema 4)."""
    files = {PART_FILES[role]: data for role, data in parts.items()}
    if not record.metrics_in_configs:
        files[METRICS_FILE] = record.metrics_bytes()
    files[META_FILE] = record.meta_bytes()
    return files


def _user_path(path: str) -> str:
    """`path` without the staging folders and temporary files of a write in progress: the folder the user
    knows (`<root>/runs` for `<root>/runs/.staging-.../.run.json....tmp`)."""
    while os.path.basename(path).startswith(STAGING_PREFIX) or is_temp_name(os.path.basename(path)):
        path = os.path.dirname(path)
    return path


def _permission_checked(verb: tp.Callable) -> tp.Callable:
    """Turn a `PermissionError` of a writing verb (a registry folder this process may not write to, although
    the registry opened writable) into a `ReadOnlyError` naming the registry, what could not be done and the
    folder or file refused, never an internal staging or temporary path."""

    @functools.wraps(verb)
    def checked(self: "FileStore", *args: tp.Any, **kwargs: tp.Any) -> tp.Any:
        try:
            return verb(self, *args, **kwargs)
        except ReadOnlyError:
            raise
        except PermissionError as e:
            where = _user_path(os.fspath(e.filename)) if e.filename else self.root
            raise ReadOnlyError(
                f"registry {self.root}: could not {_VERBS.get(verb.__name__, verb.__name__)}: permission denied "
                f"writing to {where} (this process may not write there; check the permissions of the registry's "
                "folders)"
            ) from e

    return checked


class FileStore(RunStore):
    """A registry in a folder of the local file system (or any file system with atomic rename).

    Args:
        path (str or Path): The registry folder. Created (with parents) if missing, unless read-only.
        read_only (bool): Refuse every write with `ReadOnlyError`. A registry whose folders this process
            may not write to (permissions) opens read-only by itself, with a `UserWarning` saying so; its
            `read_only_reason` and the `ReadOnlyError` of every write say why.

    Raises `NotARegistryError` for a folder that holds other things, and `SchemaVersionError` for a registry
    written by a newer version of this package.

    ```pycon
    >>> import tempfile
    >>> from vectorbt.portfolio.registry import FileStore
    >>> store = FileStore(tempfile.mkdtemp())
    >>> len(store)
    0
    ```
    """

    def __init__(self, path: tp.FileName, read_only: bool = False) -> None:
        self.root = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._runs = os.path.join(self.root, RUNS_DIR)
        self._trash = os.path.join(self.root, TRASH_DIR)
        self._index = os.path.join(self.root, INDEX_DIR)
        self._events = os.path.join(self._index, EVENTS_DIR)
        self._open(read_only)
        self._lock = FileLock(os.path.join(self.root, LOCK_FILE))
        self._records = RecordCache()  # decoded records of big runs, while their files stay the same
        self.index = FileIndex(self._index, self._runs, self._trash, self.read, lambda: not self.read_only)
        """The derived index (`vectorbt.portfolio.registry.stores.file_index.FileIndex`)."""

    def __repr__(self) -> str:
        return f"FileStore({self.root!r}{', read_only=True' if self.read_only else ''})"

    # ############# Opening ############# #

    def _open(self, read_only: bool) -> None:
        marker = os.path.join(self.root, MARKER_FILE)
        if os.path.isfile(marker):
            self._open_existing(marker, read_only)
            return
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise NotARegistryError(f"{self.root} is a file, not a registry folder")
        if os.path.isdir(self.root) and not self._is_unfinished_layout():
            if os.path.isfile(marker):  # laid out by another process meanwhile, and already in use
                self._open_existing(marker, read_only)
                return
            raise NotARegistryError(
                f"{self.root} is not a run registry: the folder is not empty and has no {MARKER_FILE}; "
                "choose an empty or new folder"
            )
        if read_only:
            raise NotARegistryError(f"{self.root}: no registry here to open read-only")
        os.makedirs(self.root, exist_ok=True)
        # Several processes may create the same new registry at once (a sweep starting its workers): the
        # first to take the lock lays it out, the others find registry.json when they get the lock.
        with FileLock(os.path.join(self.root, LOCK_FILE)):
            if os.path.isfile(marker):
                self._open_existing(marker, read_only)
                return
            if not self._is_unfinished_layout():
                raise NotARegistryError(
                    f"{self.root} is not a run registry: the folder is not empty and has no {MARKER_FILE}"
                )
            self.read_only = False
            for folder in (self._runs, self._trash, self._events):
                os.makedirs(folder, exist_ok=True)
            info = {"format": FORMAT_NAME, "schema_version": STORE_SCHEMA_VERSION,
                    "created_at": datetime.now(timezone.utc).isoformat()}
            atomic_write(marker, codec.dumps(info, indent=2))

    def _open_existing(self, marker: str, read_only: bool) -> None:
        try:
            with open(marker, "rb") as f:
                info = codec.loads(f.read())
        except (OSError, ValueError) as e:  # not JSON: not ours
            raise NotARegistryError(f"{self.root}: {MARKER_FILE} is unreadable ({e})") from e
        if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
            raise NotARegistryError(f"{self.root}: {MARKER_FILE} does not describe a {FORMAT_NAME} folder")
        version = info.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version > STORE_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.root}: registry layout schema_version {version!r}; this version of "
                f"vectorbt-registry reads up to {STORE_SCHEMA_VERSION}: upgrade the package"
            )
        self.read_only = bool(read_only)
        if not self.read_only:
            refused = [p for p in (self.root, self._runs, self._trash, self._index, self._events)
                       if os.path.isdir(p) and not os.access(p, os.W_OK)]
            if refused:
                self.read_only = True
                self.read_only_reason = (f"opened read-only because this process may not write to {refused[0]} "
                                         "(permissions)")
                warnings.warn(f"registry {self.root}: {self.read_only_reason}; pass read_only=True to open it "
                              "read-only without this warning", UserWarning, stacklevel=4)

    def _is_unfinished_layout(self) -> bool:
        """Whether the root holds nothing, or nothing but the empty beginnings of a registry that another
        process is laying out right now (or that died before writing registry.json)."""
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if is_temp_name(name) and name.startswith(f".{MARKER_FILE}."):
                continue
            if name not in LAYOUT_NAMES:
                return False
            if name == LOCK_FILE:
                if not os.path.isfile(path) or os.path.getsize(path):
                    return False
                continue
            if not os.path.isdir(path):
                return False
            inside = os.listdir(path)
            if name == INDEX_DIR and inside == [EVENTS_DIR]:
                inside = os.listdir(os.path.join(path, EVENTS_DIR))
            if inside:
                return False
        return True

    # ############# Paths ############# #

    def _run_dir(self, run_id: str, deleted: bool = False) -> str:
        return os.path.join(self._trash if deleted else self._runs, check_run_id(run_id))

    def _existing_dir(self, run_id: str, deleted: bool) -> str:
        path = self._run_dir(run_id, deleted)
        if not os.path.isfile(os.path.join(path, META_FILE)):
            if deleted:
                live = os.path.isfile(os.path.join(self._runs, run_id, META_FILE))
                raise RunNotFoundError(run_id, LIVE_DETAIL if live else "", where="the trash")
            raise RunNotFoundError(run_id, "it is in the trash" if self._in_trash(run_id) else "")
        return path

    def _in_trash(self, run_id: str) -> bool:
        return os.path.isfile(os.path.join(self._trash, run_id, META_FILE))

    def _staging_name(self, folder: str, what: str) -> str:
        return os.path.join(folder, f"{STAGING_PREFIX}{what}-{os.getpid()}-{os.urandom(4).hex()}")

    # ############# Writing ############# #

    @_permission_checked
    def create(self, record: RunRecord, parts: tp.Mapping[str, bytes], unique_identity: bool = False) -> None:
        self.check_writable()
        run_id = check_run_id(record.run_id)
        target = self._run_dir(run_id)
        if self._taken(run_id):
            raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
        if unique_identity:
            self._check_identity_free(record.identity)  # before any write; decided again under the lock
        # everything that can fail on bad data fails here, before anything is written
        record.check_parts(parts)
        files = _run_files(record, parts)
        row = summary_row(record)
        staging = self._staging_name(self._runs, run_id)
        try:
            write_folder(staging, files)
            with self._lock:
                if self._taken(run_id):
                    raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
                if unique_identity:  # under the lock, the index holds every run committed before ours
                    self._check_identity_free(record.identity)
                event = self.index.prepare_event(run_id, row, durable=False)
                try:
                    os.rename(staging, target)  # the commit point
                except BaseException:
                    discard(event.tmp)
                    raise
                try:
                    self.index.commit_event(event, self._runs)
                except BaseException:
                    # Failing after the rename: take the run back, so that a create that raises leaves
                    # nothing (no other writer can have touched the run: we hold the lock).
                    self._take_back(target, event.path)
                    raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.index.fold_if_due()

    def _check_identity_free(self, identity: str) -> None:
        """Raise `DuplicateRunError` naming the live run of that identity, if there is one."""
        live = self.index.table(False)
        same = live.index[live["identity"] == identity]
        if len(same):
            raise same_identity_error(same[0])

    @contextlib.contextmanager
    def _changing(self) -> tp.Iterator[None]:
        """The lock around a change of a run's metadata, and the index's chance to fold events after it."""
        self.check_writable()
        with self._lock:
            yield
        self.index.fold_if_due()

    def _taken(self, run_id: str) -> bool:
        return os.path.lexists(os.path.join(self._runs, run_id)) or os.path.lexists(
            os.path.join(self._trash, run_id)
        )

    def _take_back(self, target: str, event_path: str) -> None:
        """Undo the rename of a new run folder into place: move it out of sight in one step, remove it and
        its event (readers that saw it meanwhile drop it when they see `runs/` change)."""
        doomed = self._staging_name(self._runs, "undo")
        try:
            os.rename(target, doomed)
        except OSError:  # pragma: no cover - cannot even rename: the run stays, complete
            return
        with contextlib.suppress(OSError):
            os.remove(event_path)
        shutil.rmtree(doomed, ignore_errors=True)
        with contextlib.suppress(OSError):
            fsync_dir(self._runs)

    # Every change below runs under the lock and in two phases: first every file it needs is written to a
    # temporary file (this is what fails on a full disk), then renames make it visible. A failure in the
    # first phase changes nothing; renames within a folder do not fail for lack of space.

    def _prepare_meta(self, folder: str, record: RunRecord) -> tp.Tuple[str, Event]:
        """Temporary files of a record's new run.json (in `folder`) and of its event."""
        row = summary_row(record)
        meta_tmp = write_temp(os.path.join(folder, META_FILE), record.meta_bytes())
        try:
            return meta_tmp, self.index.prepare_event(record.run_id, row)
        except BaseException:
            discard(meta_tmp)
            raise

    @_permission_checked
    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        with self._changing():
            path = self._existing_dir(run_id, deleted=False)
            record = change(self.read(run_id))
            if record.run_id != run_id:
                raise ValueError(f"run_id: an update cannot change it ({run_id!r} -> {record.run_id!r})")
            meta_tmp, event = self._prepare_meta(path, record)
            try:
                commit(meta_tmp, os.path.join(path, META_FILE), sync_dir=False)  # the commit point
            except BaseException:
                discard(event.tmp)
                raise
            self.index.commit_event(event, path)
            return record

    @_permission_checked
    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        with self._changing():
            src = self._existing_dir(run_id, deleted=False)
            record = self.read(run_id)
            record.deleted_at = deleted_at
            dst = self._run_dir(run_id, deleted=True)
            meta_tmp, event = self._prepare_meta(src, record)  # the new run.json travels with the folder
            try:
                if os.path.exists(dst):  # pragma: no cover - a run cannot be live and in the trash
                    shutil.rmtree(dst)
                os.rename(src, dst)  # the commit point
            except BaseException:
                discard(meta_tmp)
                discard(event.tmp)
                raise
            try:
                # a crash before this line leaves a trashed run.json without deleted_at: readers then take
                # the folder's modification time
                commit(os.path.join(dst, os.path.basename(meta_tmp)), os.path.join(dst, META_FILE),
                       sync_dir=False)
            except BaseException:
                discard(event.tmp)
                raise
            self.index.commit_event(event, self._runs, self._trash, dst)
            return record

    @_permission_checked
    def restore(self, run_id: str) -> RunRecord:
        with self._changing():
            src = self._existing_dir(run_id, deleted=True)
            if os.path.lexists(self._run_dir(run_id)):
                raise DuplicateRunError(f"run_id {run_id!r} is live already", run_id)
            record = self.read(run_id, deleted=True)
            record.deleted_at = None
            meta_tmp, event = self._prepare_meta(src, record)
            try:
                # run.json first: a crash between the two steps leaves a run in the trash whose run.json
                # has no deleted_at, which readers treat as in the trash (never as live and deleted)
                commit(meta_tmp, os.path.join(src, META_FILE))
                os.rename(src, self._run_dir(run_id))  # the commit point
            except BaseException:
                discard(meta_tmp)
                discard(event.tmp)
                raise
            self.index.commit_event(event, self._trash, self._runs)
            return record

    @_permission_checked
    def rewrite(self, run_id: str, build: tp.Callable[[RunRecord], tp.Tuple[RunRecord, tp.Mapping[str, bytes]]],
                deleted: bool = False) -> RunRecord:
        with self._changing():
            path = self._existing_dir(run_id, deleted)
            record, parts = build(self.read(run_id, deleted))
            if record.run_id != run_id:
                raise ValueError(f"run_id: a rewrite cannot change it ({run_id!r} -> {record.run_id!r})")
            record.check_parts(parts)
            files = _run_files(record, parts)
            folder = os.path.dirname(path)
            staging = self._staging_name(folder, run_id)  # a leftover `repair` removes, whatever happens
            try:
                write_folder(staging, files)
                event = self.index.prepare_event(run_id, summary_row(record))
                try:
                    exchange(staging, path)  # the commit point: the new folder in place, the old one at staging
                except BaseException:
                    discard(event.tmp)
                    raise
                self.index.commit_event(event)
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # the old run after the swap, the new one before it
            return record

    @_permission_checked
    def purge(self, run_id: str) -> None:
        with self._changing():
            src = self._existing_dir(run_id, deleted=True)
            event = self.index.prepare_event(run_id, None)
            # rename first (one atomic step out of sight), then remove at leisure
            doomed = self._staging_name(self._trash, f"purge-{run_id}")
            try:
                os.rename(src, doomed)  # the commit point
            except BaseException:
                discard(event.tmp)
                raise
            self.index.commit_event(event, self._trash)
            shutil.rmtree(doomed, ignore_errors=True)

    # ############# Reading ############# #

    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        path = self._existing_dir(run_id, deleted)
        meta = os.path.join(path, META_FILE)
        try:
            with open(meta, "rb") as f:
                meta_id = file_identity(f)
                cached = self._records.get(run_id, path, meta_id)
                if cached is not None:
                    return cached
                raw = f.read()
        except FileNotFoundError as e:  # moved away (deleted) between the check and the read
            raise RunNotFoundError(run_id) from e
        data = RunRecord.parse_meta(run_id, raw)
        parts = data.get("parts")
        in_configs = metrics_in_configs(data["schema_version"], parts if isinstance(parts, dict) else ())
        file = PART_FILES[CONFIGS] if in_configs else METRICS_FILE
        try:
            with open(os.path.join(path, file), "rb") as f:
                metrics_id = file_identity(f)
                metrics = f.read()
        except FileNotFoundError as e:
            if not os.path.isfile(meta):
                raise RunNotFoundError(run_id) from e
            raise IntegrityError(run_id, file, "the file is missing") from e
        if in_configs:
            matrix = read_metrics(metrics, run_id)[1]
        else:
            try:
                matrix = np.load(io.BytesIO(metrics), allow_pickle=False)
            except (ValueError, EOFError, OSError) as e:
                raise IntegrityError(run_id, file, f"unreadable ({e})") from e
        record = RunRecord.from_parsed(run_id, data, matrix, file)
        return self._records.put(record, path, meta_id, os.path.join(path, file), metrics_id)

    def read_part(self, run_id: str, role: str, deleted: bool = False) -> bytes:
        with self.open_part(run_id, role, deleted) as f:
            return f.read()

    def open_part(self, run_id: str, role: str, deleted: bool = False) -> tp.BinaryIO:
        """See `RunStore.open_part`: the part's file itself, whose open descriptor keeps reading the same file
        when the run's files are replaced or moved to the trash meanwhile."""
        if role not in PARTS:
            raise ValueError(f"role: {role!r} is not a part of a run; parts are {', '.join(PARTS)}")
        path = self._existing_dir(run_id, deleted)
        name = PART_FILES[role]
        try:
            return open(os.path.join(path, name), "rb")
        except FileNotFoundError as e:
            if not os.path.isfile(os.path.join(path, META_FILE)):  # moved away meanwhile
                raise RunNotFoundError(run_id) from e
            raise IntegrityError(run_id, name, "the file is missing") from e

    def table(self, deleted: bool = False) -> pd.DataFrame:
        return self.index.table(deleted)

    def select(self, where: tp.Optional["Query"] = None, deleted: bool = False, **request: tp.Any) -> pd.DataFrame:
        """See `RunStore.select`: selected from the index's table in memory (`index.select_rows`), copying only
        the rows returned. `request`: the keyword arguments of `RunStore.select`."""
        return select_rows(self.index.frame(), where, deleted, **request)

    def __len__(self) -> int:
        return self.index.live_count()

    def __contains__(self, run_id: object) -> bool:
        return is_run_id(run_id) and self.index.is_live(run_id)

    @_permission_checked
    def rebuild_index(self) -> int:
        self.check_writable()
        with self._lock:
            return self.index.rebuild()

    # ############# Maintenance ############# #

    def _leftovers(self) -> tp.Iterator[tp.Tuple[str, float]]:
        """Staging folders and temp files anywhere in the store, with their age in seconds."""
        now = time.time()

        def entries(folder: str) -> tp.List[tp.Tuple[str, str, float]]:
            out = []
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for entry in os.scandir(folder):
                    with contextlib.suppress(FileNotFoundError):  # gone meanwhile: a writer finished
                        out.append((entry.name, entry.path, entry.stat(follow_symlinks=False).st_mtime))
            return out

        for folder in (self.root, self._runs, self._trash, self._index, self._events):
            for name, path, mtime in entries(folder):
                if name.startswith(STAGING_PREFIX) or is_temp_name(name):
                    yield path, now - mtime
        for folder in (self._runs, self._trash):
            for run_id in sorted(folder_ids(folder)):
                for name, path, mtime in entries(os.path.join(folder, run_id)):
                    if is_temp_name(name):
                        yield path, now - mtime

    def check(self) -> tp.List[Problem]:
        problems = []
        for path, age in self._leftovers():
            problems.append(Problem(
                "leftover", None, os.path.relpath(path, self.root),
                f"unfinished write, {age:.0f} s old" + ("" if age > LEFTOVER_GRACE_SECONDS else
                                                        " (may belong to a writer still at work)"),
                repairable=age > LEFTOVER_GRACE_SECONDS,
            ))
        truth = {}
        for folder, deleted in ((self._runs, False), (self._trash, True)):
            names = []
            with contextlib.suppress(FileNotFoundError):
                names = sorted(os.listdir(folder))
            for name in names:
                rel = os.path.relpath(os.path.join(folder, name), self.root)
                if name.startswith(".") or is_temp_name(name):
                    continue
                if not is_run_id(name):
                    problems.append(Problem("orphan", None, rel, "not a run folder", repairable=False))
                    continue
                try:
                    record = self.read(name, deleted=deleted)
                except RunNotFoundError:
                    problems.append(Problem("orphan", name, rel, f"folder without {META_FILE}", repairable=False))
                    continue
                except (RegistryError, OSError) as e:  # damaged, or written by a newer format
                    problems.append(Problem("unreadable", name, rel, f"{type(e).__name__}: {e}",
                                            repairable=False))
                    continue
                if deleted and record.deleted_at is None:
                    record.deleted_at = datetime.fromtimestamp(os.stat(os.path.join(folder, name)).st_mtime,
                                                               tz=timezone.utc)
                truth[name] = summary_row(record)
        try:
            self.index.read_snapshot()
        except (IntegrityError, SchemaVersionError) as e:
            problems.append(Problem("index_drift", None, os.path.relpath(self.index.snapshot_path, self.root),
                                    f"snapshot unreadable ({e})"))
        self.index.refresh(compact=False)  # an audit changes nothing, not even the derived index
        summary = self.index.summary
        for run_id in sorted(truth.keys() | summary.ids()):
            mine, real = summary.row(run_id), truth.get(run_id)
            if real is None:
                problems.append(Problem("index_drift", run_id, INDEX_DIR, "in the index but not in the folders"))
            elif mine is None:
                problems.append(Problem("index_drift", run_id, INDEX_DIR, "in the folders but not in the index"))
            elif {**mine, "deleted_at": None} != {**real, "deleted_at": None} or (
                (mine["deleted_at"] is None) != (real["deleted_at"] is None)
            ):
                problems.append(Problem("index_drift", run_id, INDEX_DIR, "index row differs from run.json"))
        return problems

    @_permission_checked
    def repair(self) -> tp.List[str]:
        self.check_writable()
        actions = []
        for path, age in list(self._leftovers()):
            if age <= LEFTOVER_GRACE_SECONDS:
                continue
            rel = os.path.relpath(path, self.root)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            actions.append(f"removed leftover {rel}")
        if any(p.kind == "index_drift" for p in self.check()):
            count = self.rebuild_index()
            actions.append(f"rebuilt the index from the run folders ({count} runs)")
        return actions
