"""`FileIndex`: the derived index of a `FileStore`, kept beside its run folders.

```text
<root>/index/snapshot.npz               the summary table of all runs, column-wise (`index.snapshot_bytes`),
                                        and the names of the events folded into it
<root>/index/events/<ns>-<pid>-<r>.json one summary row (or a removal) per change since
```

Every change of the store (create, update, trash, restore, purge) writes one new event file; nothing is ever
appended to or edited in place, so a reader never sees a half-written event. A reader keeps the table in
memory (`vectorbt.portfolio.registry.index.SummaryIndex`) and, on each call, stats the snapshot and three
folders; only what changed is read. When many events have piled up, a writable reader folds them into a new
snapshot (written atomically) and removes the folded events once they are old enough that no other reader can
still rely on them.

The run folders stay the source of truth: on first use, after loading a snapshot and whenever `runs/` or
`trash/` changed, the index is compared with the folder names (*reconciliation*), so a run whose event was
lost in a crash still shows, and `rebuild` recreates everything from the runs' metadata. A folder whose
modification time is too recent to be trusted (file systems with coarse timestamps can change a folder twice
within one tick) is looked at again on the next call. `docs/design.md` explains the choice.
"""

import contextlib
import os
import re
import threading
import time
import zipfile
from datetime import datetime, timezone

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry._io import atomic_write, commit, fsync_dir, write_temp
from vectorbt.portfolio.registry.errors import IntegrityError, RegistryError, SchemaVersionError
from vectorbt.portfolio.registry.index import SummaryIndex, read_snapshot, snapshot_bytes
from vectorbt.portfolio.registry.progress import progress_bar
from vectorbt.portfolio.registry.run import RunRecord, is_run_id, summary_row

__all__ = ["FileIndex", "EVENTS_DIR", "SNAPSHOT_FILE", "folder_ids"]

EVENTS_DIR = "events"
SNAPSHOT_FILE = "snapshot.npz"

COMPACT_MIN_EVENTS = 256
"""A reader folds events into a new snapshot once there are at least this many unfolded ones..."""

COMPACT_FRACTION = 0.1
"""...and they are at least this fraction of the runs (so that compaction costs O(1) per change)..."""

COMPACT_MAX_EVENTS = 2_000
"""...or at least this many, however many runs there are (so that a fresh reader never has many to read)."""

WRITER_REFRESH_EVENTS = 64
"""A process that writes looks at the other writers' events (and folds them all into a snapshot when enough
have piled up) every this many changes of its own, even if it never lists: a fresh reader then reads at most
about `COMPACT_MAX_EVENTS` plus this many per concurrent writer."""

EVENT_GRACE_SECONDS = 120.0
"""Folded events are removed only once older than this, so that a reader that read the previous snapshot
just before the new one replaced it still finds them (and otherwise restarts its read)."""

RACY_SECONDS = 3.0
"""A folder modified less than this before it was looked at may change again without its modification time
changing (coarse file system clocks: one tick can be several milliseconds, 2 s on FAT), so a reader looks at
it again on its next call instead of trusting the cached listing."""

EVENT_NAME = re.compile(r"\A[0-9]{20}-[0-9]+-[0-9a-f]{8}\.json\Z")
"""Names of event files: nanosecond time, writer pid, random part. Other names in `index/events/` are ignored."""

_StatKey = tp.Optional[tp.Tuple[int, int, int]]


class Event(tp.NamedTuple):
    """An event written to a temporary file, to be made visible by `FileIndex.commit_event`."""

    tmp: str
    path: str
    run_id: str
    row: tp.Optional[tp.Dict[str, tp.Any]]
    durable: bool = True

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
    """Whether an index row (from an event) has the shape `summary_row` gives it."""
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


def _folder_names(folder: str) -> tp.Set[str]:
    try:
        return set(os.listdir(folder))
    except FileNotFoundError:
        return set()


def folder_ids(folder: str) -> tp.Set[str]:
    """The names in `folder` that are run ids (none if it does not exist)."""
    return {n for n in _folder_names(folder) if is_run_id(n)}


class FileIndex:
    """The summary table of a `FileStore`: a snapshot plus event files, reconciled with the run folders.

    Args:
        index_dir (str): The `index/` folder (it holds `snapshot.npz` and `events/`).
        runs_dir, trash_dir (str): The folders of the live runs and of the trash: the source of truth.
        read_record (callable): `read_record(run_id, deleted)` reads a run's record from its folder, raising
            the registry's own errors (`RegistryError`) or `OSError` for a run it cannot read.
        writable (callable): Whether the store may write (compaction is skipped when it may not).
    """

    def __init__(self, index_dir: str, runs_dir: str, trash_dir: str,
                 read_record: tp.Callable[[str, bool], RunRecord], writable: tp.Callable[[], bool]) -> None:
        self.events_dir = os.path.join(index_dir, EVENTS_DIR)
        self.snapshot_path = os.path.join(index_dir, SNAPSHOT_FILE)
        self._runs = runs_dir
        self._trash = trash_dir
        self._read_record = read_record
        self._writable = writable
        self._reset()

    # ############# Announcing changes ############# #

    def prepare_event(self, run_id: str, row: tp.Optional[tp.Dict[str, tp.Any]], durable: bool = True) -> Event:
        """Write the event announcing a change to a temporary file; return it, to be committed.

        The store calls it with its lock held, so that the events of one run are named in the order of its
        changes. `durable=False` is for the event of a new run: if a power loss takes it, the run's folder
        is found anyway when the index is reconciled with `runs/`, so it needs no fsync (an update's event
        does: the folders alone do not show that a row changed)."""
        path = os.path.join(self.events_dir, _event_name())
        data = codec.dumps({"run_id": run_id, "row": row})
        return Event(write_temp(path, data, durable=durable), path, run_id, row, durable)

    def commit_event(self, event: Event, *changed_folders: str) -> None:
        """Make a prepared event visible right after the change it announces (so that a crash in between is
        unlikely), then fsync the folders the change renamed things in and the events folder.

        The change is applied to this index's table at once, without reading the event back."""
        commit(event.tmp, event.path, sync_dir=False)
        for folder in (*changed_folders, *([self.events_dir] if event.durable else [])):
            fsync_dir(folder)
        self._own_writes += 1
        if self._keys:  # loaded: keep it current (an index never loaded reads everything when first asked)
            name = os.path.basename(event.path)
            self._applied.add(name)
            self._apply(name, event.run_id, event.row)
            self._own_applied = True

    def fold_if_due(self) -> None:
        """Called by the store after a change, outside its lock: every `WRITER_REFRESH_EVENTS` changes of its
        own, look at the others' changes and fold all events into a new snapshot when enough have piled up, so
        that a process that only writes still keeps the events few."""
        if self._own_writes >= WRITER_REFRESH_EVENTS and self._writable():
            self._own_writes = 0
            self.refresh()

    # ############# Reading ############# #

    @property
    def summary(self) -> SummaryIndex:
        """The current summary rows (after `refresh`)."""
        return self._summary

    def table(self, deleted: bool = False) -> pd.DataFrame:
        """The live rows (or those in the trash), refreshed, as a copy (see `SummaryIndex.table`)."""
        return self._decoded(lambda summary: summary.table(deleted))

    def frame(self) -> pd.DataFrame:
        """The whole table, live and trashed runs, refreshed: `SummaryIndex.frame`, shared (not to be changed)."""
        return self._decoded(SummaryIndex.frame)

    def _decoded(self, read: tp.Callable[[SummaryIndex], pd.DataFrame]) -> pd.DataFrame:
        self.refresh()
        try:
            return read(self._summary)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError):
            # a row that the index files hold cannot be decoded (they are data written by other processes,
            # possibly damaged or foreign): the index is derived, so rebuild it in memory from the run folders;
            # `check` compares the two and `repair` rewrites the files
            self._summary = SummaryIndex()
            self._reconcile()
            return read(self._summary)

    def live_count(self) -> int:
        self.refresh()
        return self._summary.live_count()

    def is_live(self, run_id: str) -> bool:
        self.refresh()
        return run_id in self._summary and not self._summary.is_deleted(run_id)

    # ############# Keeping the table current ############# #

    def _reset(self) -> None:
        self._summary = SummaryIndex()
        self._applied: tp.Set[str] = set()
        self._folded: tp.Set[str] = set()
        self._latest: tp.Dict[str, str] = {}  # run id -> name of the newest event applied to its row
        self._keys: tp.Dict[str, _StatKey] = {}
        self._own_writes = getattr(self, "_own_writes", 0)  # changes this process made since it last looked
        self._own_applied = False  # whether own changes were applied to the table since it was loaded

    def _current_keys(self) -> tp.Dict[str, _StatKey]:
        return {
            "snapshot": _stat_key(self.snapshot_path),
            "events": _stat_key(self.events_dir),
            "runs": _stat_key(self._runs),
            "trash": _stat_key(self._trash),
        }

    def refresh(self, compact: bool = True) -> None:
        """Bring the table up to date with the snapshot, the events and the run folders (a few `stat`s when
        nothing changed). With `compact`, fold the events into a new snapshot when enough have piled up."""
        looked_at = time.time_ns()
        keys = self._current_keys()
        if keys == self._keys:
            return
        reloaded = new_events = False
        for _ in range(20):
            if keys["snapshot"] != self._keys.get("snapshot") or not self._keys:
                self._load_snapshot()
                reloaded = True
            try:
                new_events |= self._apply_events()
            except FileNotFoundError:  # an event was folded and removed while we read: start over
                self._keys = {}
                looked_at = time.time_ns()
                keys = self._current_keys()
                continue
            if _stat_key(self.snapshot_path) != keys["snapshot"]:
                self._keys = {}
                looked_at = time.time_ns()
                keys = self._current_keys()
                continue
            break
        else:  # pragma: no cover - only under a storm of compactions
            raise OSError(f"{self.snapshot_path}: the index kept changing while being read; try again")
        # A snapshot written by another reader may predate what this one had reconciled: reconcile again.
        if reloaded or keys["runs"] != self._keys.get("runs") or keys["trash"] != self._keys.get("trash"):
            self._reconcile()
        self._keys = _trusted(keys, looked_at)
        # compact only when this call found new events or this process made changes: a call that merely looks
        # again (a racy folder, or right after `check`) changes no file
        due = max(COMPACT_MIN_EVENTS, min(COMPACT_MAX_EVENTS, COMPACT_FRACTION * len(self._summary)))
        fresh = new_events or self._own_applied
        if compact and fresh and self._writable() and len(self._applied - self._folded) >= due:
            self._compact()

    def read_snapshot(self) -> tp.Optional[tp.Tuple[SummaryIndex, tp.Set[str]]]:
        """(summary index, folded event names) of the snapshot; `None` if there is none. Raises
        `IntegrityError` if it is damaged, `SchemaVersionError` if a newer format wrote it (it is derived:
        readers then rebuild it from the run folders)."""
        try:
            with open(self.snapshot_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        try:
            columns, events = read_snapshot(data)
            summary = SummaryIndex(columns)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, EOFError, OSError,
                zipfile.BadZipFile) as e:  # the bytes of a damaged or foreign file: say so in our terms
            raise IntegrityError("", SNAPSHOT_FILE, f"{type(e).__name__}: {e}") from e
        if not all(is_run_id(run_id) for run_id in columns["run_id"]):
            raise IntegrityError("", SNAPSHOT_FILE, "a malformed run id")
        return summary, {str(n) for n in events}

    def _load_snapshot(self) -> None:
        self._reset()
        try:
            snapshot = self.read_snapshot()
        except (IntegrityError, SchemaVersionError):  # it is derived: rebuild from the run folders
            self._reconcile()
            return
        if snapshot is not None:
            self._summary, self._folded = snapshot
            self._applied = set(self._folded)

    def _event_names(self) -> tp.List[str]:
        try:
            return sorted(n for n in os.listdir(self.events_dir) if EVENT_NAME.match(n))
        except FileNotFoundError:
            return []

    def _apply_events(self) -> bool:
        changed = False
        for name in self._event_names():
            if name in self._applied:
                continue
            with open(os.path.join(self.events_dir, name), "rb") as f:
                raw = f.read()
            try:
                event = codec.loads(raw)
            except ValueError:  # not ours or damaged: the run folders still hold the truth
                event = None
            self._applied.add(name)
            if not isinstance(event, dict) or not is_run_id(event.get("run_id")):
                continue
            run_id, row = event["run_id"], event.get("row")
            if row is not None and not _valid_row(row, run_id):
                continue
            changed |= self._apply(name, run_id, row)
        return changed

    def _apply(self, name: str, run_id: str, row: tp.Optional[tp.Dict[str, tp.Any]]) -> bool:
        """Apply the event `name` to the row of `run_id`, unless a newer event of that run was applied already
        (this process's own change, applied when it was made, is newer than another's change it had not read
        yet: the events of one run are named in the order of its changes)."""
        if self._latest.get(run_id, "") > name:
            return False
        self._latest[run_id] = name
        if row is None:
            self._summary.remove(run_id)
        else:
            self._summary.put(row)
        return True

    def _reconcile(self) -> bool:
        """Make the index agree with the run folders: add runs it lacks, drop runs that are gone.

        Set differences of the folders' names and the index's ids: only names the index does not know are
        checked to be run ids (those it knows were checked when they came in)."""
        live, trashed = _folder_names(self._runs), _folder_names(self._trash)
        known = self._summary.ids()
        known_trashed = self._summary.deleted_ids()
        gone = ((known - known_trashed) - live) | (known_trashed - trashed)
        for run_id in sorted(gone):
            self._summary.remove(run_id)
        known -= gone
        changed = bool(gone)
        for names, deleted in ((live, False), (trashed, True)):
            missing = sorted(n for n in names - known if is_run_id(n))
            # a bar only when there is much to read (a rebuild, a first look at a copied registry)
            for run_id in progress_bar(missing, len(missing), "indexing runs", None if len(missing) > 1000 else False):
                row = self.true_row(run_id, deleted)
                if row is not None:
                    self._summary.put(row)
                    known.add(run_id)
                    changed = True
        return changed

    def true_row(self, run_id: str, deleted: bool) -> tp.Optional[tp.Dict[str, tp.Any]]:
        """The summary row of a run as its folder says, or `None` if it cannot be read (incomplete, damaged,
        gone meanwhile: `check` reports such runs). A run in the trash whose metadata was not rewritten yet
        (a crash right after the move) takes the folder's modification time as its deletion time."""
        try:
            record = self._read_record(run_id, deleted)
        except (RegistryError, OSError):
            return None
        if deleted and record.deleted_at is None:
            try:
                mtime = os.stat(os.path.join(self._trash, run_id)).st_mtime
            except FileNotFoundError:  # restored or purged meanwhile
                return None
            record.deleted_at = datetime.fromtimestamp(mtime, tz=timezone.utc)
        return summary_row(record)

    def _compact(self, raise_errors: bool = False) -> None:
        """Fold the events into a new snapshot; remove folded events old enough to be safe to remove."""
        present = set(self._event_names())
        self._applied &= present  # events removed by another compaction are in the snapshot they came from
        columns = self._summary.to_columns()
        try:
            atomic_write(self.snapshot_path, snapshot_bytes(columns, sorted(self._applied)))
        except OSError:
            if raise_errors:
                raise
            return  # compaction is an optimization; the events still hold everything
        self._folded = set(self._applied)
        self._own_applied = False
        self._summary = SummaryIndex(columns)  # the merged table as the new base: later frames build faster
        self._keys["snapshot"] = _stat_key(self.snapshot_path)
        cutoff = time.time_ns() - int(EVENT_GRACE_SECONDS * 1e9)
        for name in sorted(self._folded):
            if int(name.split("-", 1)[0]) >= cutoff:
                break
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.events_dir, name))

    def rebuild(self) -> int:
        """Rebuild the index from the run folders and write it as a new snapshot; return the number of runs.
        The store calls it with its lock held."""
        # List the events before reading the folders: every change an event announces was made in the
        # folders before its event was written, so the folders read next hold it; fold them all.
        names = self._event_names()
        self._reset()
        self._reconcile()
        self._applied = set(names)
        self._compact(raise_errors=True)
        self._keys = {}
        self.refresh()
        return len(self._summary)
