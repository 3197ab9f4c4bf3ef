"""`FileStore`: the default store, a folder of run folders with a derived index beside them.

## Layout

```text
<root>/
    registry.json                  marks the folder as a registry: format name and schema_version
    runs/<run_id>/run.json         metadata: the source of truth (written last, see below)
    runs/<run_id>/portfolio.pkl    the portfolio, as `pf.dumps()` makes it
    runs/<run_id>/metrics.npy      per-configuration metrics, float64, n_columns x n_metrics
    trash/<run_id>/...             runs deleted with `RunRegistry.delete`, same layout
    index/snapshot.npz             derived: the summary table of all runs, column-wise, and which events
                                   it includes (plain arrays, read with allow_pickle=False)
    index/events/<t>-<pid>-<r>.json  derived: one summary row (or removal) per change since the snapshot
    lock                           an empty file that writers of metadata lock (never the data itself)
```

## How a run is written

Its files are written (each through `atomic_write`) into a staging folder `runs/.staging-...`, which is
then renamed to `runs/<run_id>` in one step: a run folder is complete or absent, and `run.json`, the
metadata, is written last inside it. Then an event with the run's summary row goes to `index/events/`.
The rename and the event are done under the lock file (a few milliseconds), so that the events of one run
are written in the order its changes happened; the slow part, writing the files, needs no lock.

## The index

Listing 100,000 runs cannot read 100,000 files, so `table` answers from a derived index: the snapshot plus
the events written since. Every change (create, update, trash, restore, purge) writes one new event file;
nothing is ever appended to or edited in place, so a reader never sees a half-written event, and the lock
is held only while an event is written. A reader keeps the table in memory and, on each call, stats three
folders and the snapshot; only what changed is read. When many events have piled up, a reader folds them
into a new snapshot (written atomically) and removes the folded events once they are old enough that no
other reader can still be relying on them.

The run folders stay the source of truth: on first use, after loading a snapshot and whenever `runs/` or
`trash/` changed, the reader compares the run ids in the index with the folder names there, so a run whose
event was lost in a crash still shows, and `rebuild_index` recreates everything from the `run.json` files.
A folder whose modification time is too recent to be trusted (file systems with coarse timestamps can
change a folder twice within one tick) is looked at again on the next call. `docs/design.md` explains the
choice.
"""

import contextlib
import copy
import os
import re
import shutil
import threading
import time
import zipfile
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry._io import (
    FileLock,
    atomic_write,
    commit,
    discard,
    fsync_dir,
    is_temp_name,
    write_temp,
)
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    IntegrityError,
    NotARegistryError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.index import SummaryIndex, read_snapshot, snapshot_bytes
from vectorbt.portfolio.registry.metrics import METRIC_NAMES
from vectorbt.portfolio.registry.progress import progress_bar
from vectorbt.portfolio.registry.run import (
    RUN_FIELDS,
    RunRecord,
    check_run_id,
    is_run_id,
    summary_row,
)
from vectorbt.portfolio.registry.stores.base import Problem, RunStore

__all__ = ["FileStore"]

FORMAT_NAME = "vectorbt-registry"
"""Value of `"format"` in `registry.json`."""

STORE_SCHEMA_VERSION = 1
"""Layout version of the folder; readers refuse a larger one."""

MARKER_FILE = "registry.json"
RUNS_DIR = "runs"
TRASH_DIR = "trash"
INDEX_DIR = "index"
EVENTS_DIR = "events"
SNAPSHOT_FILE = "snapshot.npz"
LOCK_FILE = "lock"
META_FILE = "run.json"
PICKLE_FILE = "portfolio.pkl"
METRICS_FILE = "metrics.npy"
STAGING_PREFIX = ".staging-"

COMPACT_MIN_EVENTS = 256
"""A reader folds events into a new snapshot once there are at least this many unfolded ones..."""

COMPACT_FRACTION = 0.1
"""...and they are at least this fraction of the runs (so that compaction costs O(1) per change)."""

EVENT_GRACE_SECONDS = 120.0
"""Folded events are removed only once older than this, so that a reader that read the previous snapshot
just before the new one replaced it still finds them (and otherwise restarts its read)."""

LEFTOVER_GRACE_SECONDS = 3600.0
"""`repair` removes staging folders and temp files older than this; younger ones may belong to a live writer."""

RACY_SECONDS = 3.0
"""A folder modified less than this before it was looked at may change again without its modification time
changing (coarse file system clocks: one tick can be several milliseconds, 2 s on FAT), so a reader looks at
it again on its next call instead of trusting the cached listing."""

EVENT_NAME = re.compile(r"\A[0-9]{20}-[0-9]+-[0-9a-f]{8}\.json\Z")
"""Names of event files: nanosecond time, writer pid, random part. Other names in `index/events/` are ignored."""

LAYOUT_NAMES = (RUNS_DIR, TRASH_DIR, INDEX_DIR, LOCK_FILE)
"""What the root holds besides `registry.json`."""

_StatKey = tp.Optional[tp.Tuple[int, int, int]]

_event_lock = threading.Lock()
_last_event_ns = [0]


def _event_name() -> str:
    """A new event file name; names sort in the order they were made (strictly, within a process)."""
    with _event_lock:
        ns = max(time.time_ns(), _last_event_ns[0] + 1)
        _last_event_ns[0] = ns
    return f"{ns:020d}-{os.getpid()}-{os.urandom(4).hex()}.json"


def _stat_key(path: str) -> _StatKey:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _read_json(path: str) -> tp.Any:
    with open(path, "rb") as f:
        return codec.loads(f.read())


def _trusted(keys: tp.Dict[str, _StatKey], looked_at: int) -> tp.Dict[str, _StatKey]:
    """The stat keys to remember: a folder changed within `RACY_SECONDS` before `looked_at` may change again
    without its key changing, so it is remembered as unknown and looked at again next time."""
    out = dict(keys)
    for name in ("events", "runs", "trash"):
        key = keys[name]
        if key is not None and looked_at - key[1] < RACY_SECONDS * 1e9:
            out[name] = (key[0], -1, -1)
    return out


def _valid_row(row: tp.Any, run_id: tp.Any) -> bool:
    """Whether an index row (from the snapshot or an event) has the shape `summary_row` gives it."""
    return (
        isinstance(row, dict)
        and is_run_id(run_id)
        and row.get("run_id") == run_id
        and isinstance(row.get("params"), dict)
        and isinstance(row.get("metrics"), dict)
        and type(row.get("n_columns")) is int
        and isinstance(row.get("created_at"), str)
        and (row.get("deleted_at") is None or isinstance(row.get("deleted_at"), str))
    )


def _mutable_columns(frame: pd.DataFrame) -> tp.List[tp.Any]:
    """Columns of the summary table that hold mutable objects (lists, dicts, arrays as parameter values)."""
    fixed = set(RUN_FIELDS) - {"column"} | set(METRIC_NAMES)
    out = []
    for col in frame.columns:
        if col in fixed or frame[col].dtype != object:
            continue
        if any(isinstance(v, (list, dict, set, np.ndarray)) or (isinstance(v, tuple) and not _immutable(v))
               for v in frame[col]):
            out.append(col)
    return out


def _immutable(value: tp.Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return not isinstance(value, (list, dict, set, np.ndarray))


class FileStore(RunStore):
    """A registry in a folder of the local file system (or any file system with atomic rename).

    Args:
        path (str or Path): The registry folder. Created (with parents) if missing, unless read-only.
        read_only (bool): Refuse every write with `ReadOnlyError`. A folder the process cannot write to is
            opened read-only by itself.

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
        self.root = os.path.abspath(os.fspath(path))
        self._runs = os.path.join(self.root, RUNS_DIR)
        self._trash = os.path.join(self.root, TRASH_DIR)
        self._index = os.path.join(self.root, INDEX_DIR)
        self._events = os.path.join(self._index, EVENTS_DIR)
        self._snapshot = os.path.join(self._index, SNAPSHOT_FILE)
        self._open(read_only)
        self._lock = FileLock(os.path.join(self.root, LOCK_FILE))
        self._reset_cache()

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
            info = _read_json(marker)
        except (OSError, ValueError) as e:
            raise NotARegistryError(f"{self.root}: {MARKER_FILE} is unreadable ({e})") from e
        if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
            raise NotARegistryError(f"{self.root}: {MARKER_FILE} does not describe a {FORMAT_NAME} folder")
        version = info.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version > STORE_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.root}: registry layout schema_version {version!r}; this version of "
                f"vectorbt-registry reads up to {STORE_SCHEMA_VERSION}: upgrade the package"
            )
        self.read_only = bool(read_only) or not os.access(self.root, os.W_OK)

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
            raise RunNotFoundError(run_id, "it is in the trash" if not deleted and self._in_trash(run_id) else "")
        return path

    def _in_trash(self, run_id: str) -> bool:
        return os.path.isfile(os.path.join(self._trash, run_id, META_FILE))

    def _staging_name(self, folder: str, what: str) -> str:
        return os.path.join(folder, f"{STAGING_PREFIX}{what}-{os.getpid()}-{os.urandom(4).hex()}")

    # ############# Writing ############# #

    def create(self, record: RunRecord, pickle: bytes) -> None:
        self._check_writable()
        run_id = check_run_id(record.run_id)
        target = self._run_dir(run_id)
        if self._taken(run_id):
            raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
        # everything that can fail on bad data fails here, before anything is written
        files = {PICKLE_FILE: pickle, METRICS_FILE: record.metrics_bytes(),
                 META_FILE: record.meta_bytes()}
        row = summary_row(record)
        staging = self._staging_name(self._runs, run_id)
        os.mkdir(staging)
        try:
            for name, data in files.items():  # run.json last
                atomic_write(os.path.join(staging, name), data, sync_dir=False)
            fsync_dir(staging)
            with self._lock:
                if self._taken(run_id):
                    raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
                event = self._prepare_event(run_id, row)
                try:
                    os.rename(staging, target)  # the commit point
                except BaseException:
                    discard(event[0])
                    raise
                try:
                    self._commit_event(event, self._runs)
                except BaseException:
                    # Failing after the rename: take the run back, so that a create that raises leaves
                    # nothing (no other writer can have touched the run: we hold the lock).
                    self._take_back(target, event[1])
                    raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

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

    def _prepare_event(self, run_id: str, row: tp.Optional[tp.Dict[str, tp.Any]]) -> tp.Tuple[str, str]:
        """Write the event announcing a change to a temporary file; return (temp path, final path).

        Called with the lock held, so that the events of one run are named in the order of its changes."""
        path = os.path.join(self._events, _event_name())
        return write_temp(path, codec.dumps({"run_id": run_id, "row": row})), path

    def _commit_event(self, event: tp.Tuple[str, str], *changed_folders: str) -> None:
        """Make a prepared event visible right after the change it announces (so that a crash in between is
        unlikely), then fsync the folders the change renamed things in and the events folder."""
        commit(*event, sync_dir=False)
        for folder in (*changed_folders, self._events):
            fsync_dir(folder)

    def _prepare_meta(self, folder: str, record: RunRecord) -> tp.Tuple[str, tp.Tuple[str, str]]:
        """Temporary files of a record's new run.json (in `folder`) and of its event."""
        row = summary_row(record)
        meta_tmp = write_temp(os.path.join(folder, META_FILE), record.meta_bytes())
        try:
            return meta_tmp, self._prepare_event(record.run_id, row)
        except BaseException:
            discard(meta_tmp)
            raise

    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        self._check_writable()
        with self._lock:
            path = self._existing_dir(run_id, deleted=False)
            record = change(self.read(run_id))
            if record.run_id != run_id:
                raise ValueError(f"run_id: an update cannot change it ({run_id!r} -> {record.run_id!r})")
            meta_tmp, event = self._prepare_meta(path, record)
            try:
                commit(meta_tmp, os.path.join(path, META_FILE), sync_dir=False)  # the commit point
            except BaseException:
                discard(event[0])
                raise
            self._commit_event(event, path)
            return record

    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        self._check_writable()
        with self._lock:
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
                discard(event[0])
                raise
            try:
                # a crash before this line leaves a trashed run.json without deleted_at: readers then take
                # the folder's modification time
                commit(os.path.join(dst, os.path.basename(meta_tmp)), os.path.join(dst, META_FILE),
                       sync_dir=False)
            except BaseException:
                discard(event[0])
                raise
            self._commit_event(event, self._runs, self._trash, dst)
            return record

    def restore(self, run_id: str) -> RunRecord:
        self._check_writable()
        with self._lock:
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
                discard(event[0])
                raise
            self._commit_event(event, self._trash, self._runs)
            return record

    def purge(self, run_id: str) -> None:
        self._check_writable()
        with self._lock:
            src = self._existing_dir(run_id, deleted=True)
            event = self._prepare_event(run_id, None)
            # rename first (one atomic step out of sight), then remove at leisure
            doomed = self._staging_name(self._trash, f"purge-{run_id}")
            try:
                os.rename(src, doomed)  # the commit point
            except BaseException:
                discard(event[0])
                raise
            self._commit_event(event, self._trash)
            shutil.rmtree(doomed, ignore_errors=True)

    # ############# Reading ############# #

    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        path = self._existing_dir(run_id, deleted)
        meta = os.path.join(path, META_FILE)
        try:
            with open(meta, "rb") as f:
                raw = f.read()
        except FileNotFoundError as e:  # moved away (deleted) between the check and the read
            raise RunNotFoundError(run_id) from e
        try:
            data = codec.loads(raw)
        except ValueError as e:
            raise IntegrityError(run_id, META_FILE, f"not valid JSON ({e})") from e
        if not isinstance(data, dict):
            raise IntegrityError(run_id, META_FILE, "not a run's metadata")
        if data.get("run_id") != run_id:
            raise IntegrityError(run_id, META_FILE, f"holds the metadata of run {data.get('run_id')!r}")
        try:
            metrics = np.load(os.path.join(path, METRICS_FILE), allow_pickle=False)
        except FileNotFoundError as e:
            if not os.path.isfile(meta):
                raise RunNotFoundError(run_id) from e
            raise IntegrityError(run_id, METRICS_FILE, "the file is missing") from e
        except (ValueError, EOFError, OSError) as e:
            raise IntegrityError(run_id, METRICS_FILE, f"unreadable ({e})") from e
        try:
            return RunRecord.from_dict(data, metrics)
        except SchemaVersionError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise IntegrityError(run_id, META_FILE, f"damaged ({type(e).__name__}: {e})") from e

    def read_pickle(self, run_id: str, deleted: bool = False) -> bytes:
        path = self._existing_dir(run_id, deleted)
        try:
            with open(os.path.join(path, PICKLE_FILE), "rb") as f:
                return f.read()
        except FileNotFoundError as e:
            if not os.path.isfile(os.path.join(path, META_FILE)):  # moved away meanwhile
                raise RunNotFoundError(run_id) from e
            raise IntegrityError(run_id, PICKLE_FILE, "the file is missing") from e

    def params_present(self, run_ids: tp.Sequence[str], names: tp.Iterable[str], deleted: bool = False) -> tp.Set[str]:
        self._refresh()
        return self._summary.params_present(run_ids, names)

    def table(self, deleted: bool = False) -> pd.DataFrame:
        self._refresh()
        if self._frame is None:
            try:
                frame = self._summary.frame()
            except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError):
                # a row the index files hold cannot be shown: the index is derived, rebuild it (in memory)
                # from the run folders; `check` compares the two and `repair` rewrites the files
                self._summary = SummaryIndex()
                self._reconcile()
                frame = self._summary.frame()
            self._frame = frame
            self._mutable_columns = _mutable_columns(frame)
        frame = self._frame
        mask = frame["deleted_at"].notna().to_numpy()
        out = frame[mask if deleted else ~mask].copy()
        # `copy` copies the arrays, not the Python objects in object columns: copy lists, dicts and arrays
        # (parameter values) too, so that changing a returned table never changes the cached one
        for col in self._mutable_columns:
            out[col] = pd.Series([copy.deepcopy(v) for v in out[col]], index=out.index, dtype=object)
        return out

    def __len__(self) -> int:
        self._refresh()
        return self._summary.live_count()

    def __contains__(self, run_id: object) -> bool:
        if not is_run_id(run_id):
            return False
        self._refresh()
        return run_id in self._summary and not self._summary.is_deleted(run_id)

    # ############# The index ############# #

    def _reset_cache(self) -> None:
        self._summary = SummaryIndex()
        self._applied: tp.Set[str] = set()
        self._folded: tp.Set[str] = set()
        self._keys: tp.Dict[str, _StatKey] = {}
        self._frame: tp.Optional[pd.DataFrame] = None
        self._mutable_columns: tp.List[tp.Any] = []

    def _current_keys(self) -> tp.Dict[str, _StatKey]:
        return {
            "snapshot": _stat_key(self._snapshot),
            "events": _stat_key(self._events),
            "runs": _stat_key(self._runs),
            "trash": _stat_key(self._trash),
        }

    def _refresh(self, compact: bool = True) -> None:
        looked_at = time.time_ns()
        keys = self._current_keys()
        if keys == self._keys:
            return
        changed = reloaded = new_events = False
        for _ in range(20):
            if keys["snapshot"] != self._keys.get("snapshot") or not self._keys:
                self._load_snapshot()
                changed = reloaded = True
            try:
                new_events |= self._apply_events()
                changed |= new_events
            except FileNotFoundError:  # an event was folded and removed while we read: start over
                self._keys = {}
                looked_at = time.time_ns()
                keys = self._current_keys()
                continue
            if _stat_key(self._snapshot) != keys["snapshot"]:
                self._keys = {}
                looked_at = time.time_ns()
                keys = self._current_keys()
                continue
            break
        else:  # pragma: no cover - only under a storm of compactions
            raise OSError(f"{self.root}: the index kept changing while being read; try again")
        # A snapshot written by another reader may predate what this one had reconciled: reconcile again.
        if reloaded or keys["runs"] != self._keys.get("runs") or keys["trash"] != self._keys.get("trash"):
            changed |= self._reconcile()
        if changed:
            self._frame = None
        self._keys = _trusted(keys, looked_at)
        # compact only when this call found new events: a call that merely looks again (a racy folder, or
        # right after `check`) changes no file
        if compact and new_events and not self.read_only and len(self._applied - self._folded) >= max(
            COMPACT_MIN_EVENTS, COMPACT_FRACTION * len(self._summary)
        ):
            self._compact()

    def _read_snapshot(self) -> tp.Optional[tp.Tuple[SummaryIndex, tp.Set[str]]]:
        """(summary index, folded event names) of the snapshot; `None` if there is none; `ValueError` if it
        is damaged or of a newer format (it is derived: readers then rebuild it from the run folders)."""
        try:
            with open(self._snapshot, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        try:
            columns, events = read_snapshot(data)
            summary = SummaryIndex(columns)
            if not all(is_run_id(run_id) for run_id in columns["run_id"]):
                raise ValueError("a malformed run id")
        except (SchemaVersionError, KeyError, TypeError, AttributeError, IndexError, EOFError, OSError,
                zipfile.BadZipFile) as e:
            raise ValueError(f"{type(e).__name__}: {e}") from e
        return summary, {str(n) for n in events}

    def _load_snapshot(self) -> None:
        self._reset_cache()
        try:
            snapshot = self._read_snapshot()
        except ValueError:  # damaged snapshot: it is derived, so rebuild from the run folders
            self._reconcile()
            return
        if snapshot is None:
            return
        self._summary, self._folded = snapshot
        self._applied = set(self._folded)
        self._frame = None

    def _event_names(self) -> tp.List[str]:
        try:
            return sorted(n for n in os.listdir(self._events) if EVENT_NAME.match(n))
        except FileNotFoundError:
            return []

    def _apply_events(self) -> bool:
        changed = False
        for name in self._event_names():
            if name in self._applied:
                continue
            try:
                event = _read_json(os.path.join(self._events, name))
            except ValueError:  # not ours or damaged: the run folders still hold the truth
                event = None
            self._applied.add(name)
            if not isinstance(event, dict) or not is_run_id(event.get("run_id")):
                continue
            run_id, row = event["run_id"], event.get("row")
            if row is None:
                self._summary.remove(run_id)
            elif _valid_row(row, run_id):
                self._summary.put(row)
            else:
                continue
            changed = True
        return changed

    def _folder_ids(self, folder: str) -> tp.Set[str]:
        try:
            return {n for n in os.listdir(folder) if is_run_id(n)}
        except FileNotFoundError:
            return set()

    def _reconcile(self) -> bool:
        """Make the index agree with the run folders: add runs it lacks, drop runs that are gone."""
        live, trashed = self._folder_ids(self._runs), self._folder_ids(self._trash)
        changed = False
        known = self._summary.ids()
        for run_id in known:
            where_ok = run_id in trashed if self._summary.is_deleted(run_id) else run_id in live
            if not where_ok:
                self._summary.remove(run_id)
                changed = True
        for run_ids, deleted in ((live, False), (trashed, True)):
            missing = sorted(run_ids - self._summary.ids())
            # a bar only when there is much to read (a rebuild, a first look at a copied registry)
            for run_id in progress_bar(missing, len(missing), "indexing runs", None if len(missing) > 1000 else False):
                try:
                    record = self.read(run_id, deleted=deleted)
                except (RunNotFoundError, OSError, ValueError, KeyError):
                    continue  # incomplete or damaged: `check` reports it
                if deleted and record.deleted_at is None:  # trashed, metadata not yet rewritten
                    try:
                        mtime = os.stat(os.path.join(self._trash, run_id)).st_mtime
                    except FileNotFoundError:  # restored or purged meanwhile
                        continue
                    record.deleted_at = datetime.fromtimestamp(mtime, tz=timezone.utc)
                self._summary.put(summary_row(record))
                changed = True
        return changed

    def _compact(self, raise_errors: bool = False) -> None:
        """Fold the events into a new snapshot; remove folded events old enough to be safe to remove."""
        present = set(self._event_names())
        self._applied &= present  # events removed by another compaction are in the snapshot they came from
        columns = self._summary.to_columns()
        try:
            atomic_write(self._snapshot, snapshot_bytes(columns, sorted(self._applied)))
        except OSError:
            if raise_errors:
                raise
            return  # compaction is an optimization; the events still hold everything
        self._folded = set(self._applied)
        self._summary = SummaryIndex(columns)  # the merged table as the new base: later frames build faster
        self._frame = None
        self._keys["snapshot"] = _stat_key(self._snapshot)
        cutoff = time.time_ns() - int(EVENT_GRACE_SECONDS * 1e9)
        for name in sorted(self._folded):
            if int(name.split("-", 1)[0]) >= cutoff:
                break
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self._events, name))

    def rebuild_index(self) -> int:
        self._check_writable()
        with self._lock:
            # List the events before reading the folders: every change an event announces was made in the
            # folders before its event was written, so the folders read next hold it; fold them all.
            names = self._event_names()
            self._reset_cache()
            self._reconcile()
            self._applied = set(names)
            self._compact(raise_errors=True)
            self._keys = {}
            self._refresh()
            return len(self._summary)

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
            for run_id in sorted(self._folder_ids(folder)):
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
                except (OSError, ValueError, KeyError) as e:
                    problems.append(Problem("unreadable", name, rel, f"{type(e).__name__}: {e}",
                                            repairable=False))
                    continue
                if deleted and record.deleted_at is None:
                    record.deleted_at = datetime.fromtimestamp(os.stat(os.path.join(folder, name)).st_mtime,
                                                               tz=timezone.utc)
                truth[name] = summary_row(record)
        try:
            self._read_snapshot()
        except ValueError as e:
            problems.append(Problem("index_drift", None, os.path.relpath(self._snapshot, self.root),
                                    f"snapshot unreadable ({e})"))
        self._refresh(compact=False)  # an audit changes nothing, not even the derived index
        for run_id in sorted(truth.keys() | self._summary.ids()):
            mine, real = self._summary.row(run_id), truth.get(run_id)
            if real is None:
                problems.append(Problem("index_drift", run_id, INDEX_DIR, "in the index but not in the folders"))
            elif mine is None:
                problems.append(Problem("index_drift", run_id, INDEX_DIR, "in the folders but not in the index"))
            elif {**mine, "deleted_at": None} != {**real, "deleted_at": None} or (
                (mine["deleted_at"] is None) != (real["deleted_at"] is None)
            ):
                problems.append(Problem("index_drift", run_id, INDEX_DIR, "index row differs from run.json"))
        return problems

    def repair(self) -> tp.List[str]:
        self._check_writable()
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
