"""`FileStore`: the default store, a folder of run folders with a derived index beside them.

## Layout

```text
<root>/
    registry.json                  marks the folder as a registry: format name and schema_version
    runs/<run_id>/run.json         metadata: the source of truth (written last, see below)
    runs/<run_id>/portfolio.pkl    the portfolio, as `pf.dumps()` makes it
    runs/<run_id>/metrics.npy      per-configuration metrics, float64, n_columns x n_metrics
    trash/<run_id>/...             runs deleted with `RunRegistry.delete`, same layout
    index/snapshot.json            derived: summary rows of all runs, and which events they include
    index/events/<t>-<pid>-<r>.json  derived: one summary row (or removal) per change since the snapshot
    lock                           an empty file that writers of metadata lock (never the data itself)
```

## How a run is written

Its files are written (each through `atomic_write`) into a staging folder `runs/.staging-...`, which is
then renamed to `runs/<run_id>` in one step: a run folder is complete or absent, and `run.json`, the
metadata, is written last inside it. Then an event with the run's summary row goes to `index/events/`.

## The index

Listing 100,000 runs cannot read 100,000 files, so `table` answers from a derived index: the snapshot plus
the events written since. Every change (create, update, trash, restore, purge) writes one new event file;
nothing is ever appended to or edited in place, so concurrent writers need no lock to register, and a
reader never sees a half-written event. A reader keeps the table in memory and, on each call, stats three
folders and the snapshot; only what changed is read. When many events have piled up, a reader folds them
into a new snapshot (written atomically) and removes the folded events once they are old enough that no
other reader can still be relying on them.

The run folders stay the source of truth: on first use and whenever `runs/` or `trash/` changed, the reader
compares the run ids in the index with the folder names there, so a run whose event was lost in a crash
still shows, and `rebuild_index` recreates everything from the `run.json` files. `docs/design.md` explains
the choice.
"""

import contextlib
import os
import shutil
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry._io import FileLock, atomic_write, fsync_dir, is_temp_name
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    NotARegistryError,
    ReadOnlyError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.run import RunRecord, check_run_id, is_run_id, rows_to_frame, summary_row
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
SNAPSHOT_FILE = "snapshot.json"
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

_StatKey = tp.Optional[tp.Tuple[int, int, int]]


def _stat_key(path: str) -> _StatKey:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _read_json(path: str) -> tp.Any:
    with open(path, "rb") as f:
        return codec.loads(f.read())


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
            try:
                info = _read_json(marker)
            except (OSError, ValueError) as e:
                raise NotARegistryError(f"{self.root}: {MARKER_FILE} is unreadable ({e})") from e
            if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
                raise NotARegistryError(f"{self.root}: {MARKER_FILE} does not describe a {FORMAT_NAME} folder")
            version = info.get("schema_version")
            if not isinstance(version, int) or version > STORE_SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.root}: registry layout schema_version {version!r}; this version of "
                    f"vectorbt-registry reads up to {STORE_SCHEMA_VERSION}: upgrade the package"
                )
            self.read_only = read_only or not os.access(self.root, os.W_OK)
            return
        if os.path.isdir(self.root) and os.listdir(self.root):
            raise NotARegistryError(
                f"{self.root} is not a run registry: the folder is not empty and has no {MARKER_FILE}; "
                "choose an empty or new folder"
            )
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise NotARegistryError(f"{self.root} is a file, not a registry folder")
        if read_only:
            raise NotARegistryError(f"{self.root}: no registry here to open read-only")
        self.read_only = False
        os.makedirs(self.root, exist_ok=True)
        for folder in (self._runs, self._trash, self._events):
            os.makedirs(folder, exist_ok=True)
        info = {"format": FORMAT_NAME, "schema_version": STORE_SCHEMA_VERSION,
                "created_at": datetime.now(timezone.utc).isoformat()}
        atomic_write(marker, codec.dumps(info, indent=2))

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

    # ############# Writing ############# #

    def create(self, record: RunRecord, pickle: bytes) -> None:
        self._check_writable()
        run_id = check_run_id(record.run_id)
        target = self._run_dir(run_id)
        if os.path.exists(target) or os.path.exists(os.path.join(self._trash, run_id)):
            raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
        staging = os.path.join(self._runs, f"{STAGING_PREFIX}{run_id}-{os.getpid()}-{os.urandom(4).hex()}")
        os.mkdir(staging)
        try:
            atomic_write(os.path.join(staging, PICKLE_FILE), pickle, sync_dir=False)
            atomic_write(os.path.join(staging, METRICS_FILE), self._metrics_bytes(record), sync_dir=False)
            atomic_write(os.path.join(staging, META_FILE), self._meta_bytes(record), sync_dir=False)
            fsync_dir(staging)
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fsync_dir(self._runs)
        self._write_event(run_id, summary_row(record))

    @staticmethod
    def _metrics_bytes(record: RunRecord) -> bytes:
        import io

        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(record.metrics.to_numpy(dtype=np.float64)), allow_pickle=False)
        return buf.getvalue()

    @staticmethod
    def _meta_bytes(record: RunRecord) -> bytes:
        return codec.dumps(record.to_dict(), indent=1)

    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        self._check_writable()
        with self._lock:
            path = self._existing_dir(run_id, deleted=False)
            record = change(self.read(run_id))
            if record.run_id != run_id:
                raise ValueError(f"run_id: an update cannot change it ({run_id!r} -> {record.run_id!r})")
            atomic_write(os.path.join(path, META_FILE), self._meta_bytes(record))
            self._write_event(run_id, summary_row(record))
            return record

    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        self._check_writable()
        with self._lock:
            src = self._existing_dir(run_id, deleted=False)
            record = self.read(run_id)
            record.deleted_at = deleted_at
            dst = self._run_dir(run_id, deleted=True)
            if os.path.exists(dst):  # a purge that died half-way left this behind
                shutil.rmtree(dst)
            os.rename(src, dst)
            fsync_dir(self._runs)
            fsync_dir(self._trash)
            atomic_write(os.path.join(dst, META_FILE), self._meta_bytes(record))
            self._write_event(run_id, summary_row(record))
            return record

    def restore(self, run_id: str) -> RunRecord:
        self._check_writable()
        with self._lock:
            src = self._existing_dir(run_id, deleted=True)
            if os.path.exists(self._run_dir(run_id)):
                raise DuplicateRunError(f"run_id {run_id!r} is live already", run_id)
            record = self.read(run_id, deleted=True)
            record.deleted_at = None
            atomic_write(os.path.join(src, META_FILE), self._meta_bytes(record))
            os.rename(src, self._run_dir(run_id))
            fsync_dir(self._trash)
            fsync_dir(self._runs)
            self._write_event(run_id, summary_row(record))
            return record

    def purge(self, run_id: str) -> None:
        self._check_writable()
        with self._lock:
            src = self._existing_dir(run_id, deleted=True)
            # rename first (one atomic step out of sight), then remove at leisure
            doomed = os.path.join(self._trash, f"{STAGING_PREFIX}purge-{run_id}-{os.urandom(4).hex()}")
            os.rename(src, doomed)
            fsync_dir(self._trash)
            self._write_event(run_id, None)
            shutil.rmtree(doomed, ignore_errors=True)

    def _write_event(self, run_id: str, row: tp.Optional[tp.Dict[str, tp.Any]]) -> None:
        name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}.json"
        atomic_write(os.path.join(self._events, name), codec.dumps({"run_id": run_id, "row": row}))

    # ############# Reading ############# #

    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        path = self._existing_dir(run_id, deleted)
        try:
            data = _read_json(os.path.join(path, META_FILE))
            metrics = np.load(os.path.join(path, METRICS_FILE), allow_pickle=False)
        except FileNotFoundError as e:  # moved away (deleted) between the check and the read
            raise RunNotFoundError(run_id) from e
        return RunRecord.from_dict(data, metrics)

    def read_pickle(self, run_id: str, deleted: bool = False) -> bytes:
        path = self._existing_dir(run_id, deleted)
        try:
            with open(os.path.join(path, PICKLE_FILE), "rb") as f:
                return f.read()
        except FileNotFoundError as e:
            raise RunNotFoundError(run_id) from e

    def table(self, deleted: bool = False) -> pd.DataFrame:
        self._refresh()
        frame = self._frame
        if frame is None:
            frame = self._frame = rows_to_frame(list(self._rows.values()))
        mask = frame["deleted_at"].notna().to_numpy()
        return frame[mask if deleted else ~mask].copy()

    def __len__(self) -> int:
        self._refresh()
        return len(self._live)

    def __contains__(self, run_id: object) -> bool:
        if not is_run_id(run_id):
            return False
        self._refresh()
        return run_id in self._live

    # ############# The index ############# #

    def _reset_cache(self) -> None:
        self._rows: tp.Dict[str, tp.Dict[str, tp.Any]] = {}
        self._live: tp.Set[str] = set()
        self._applied: tp.Set[str] = set()
        self._folded: tp.Set[str] = set()
        self._keys: tp.Dict[str, _StatKey] = {}
        self._frame: tp.Optional[pd.DataFrame] = None

    def _current_keys(self) -> tp.Dict[str, _StatKey]:
        return {
            "snapshot": _stat_key(self._snapshot),
            "events": _stat_key(self._events),
            "runs": _stat_key(self._runs),
            "trash": _stat_key(self._trash),
        }

    def _refresh(self) -> None:
        keys = self._current_keys()
        if keys == self._keys:
            return
        changed = False
        for _ in range(20):
            if keys["snapshot"] != self._keys.get("snapshot") or not self._keys:
                self._load_snapshot()
                changed = True
            try:
                changed |= self._apply_events()
            except FileNotFoundError:  # an event was folded and removed while we read: start over
                self._keys = {}
                keys = self._current_keys()
                continue
            if _stat_key(self._snapshot) != keys["snapshot"]:
                self._keys = {}
                keys = self._current_keys()
                continue
            break
        else:  # pragma: no cover - only under a storm of compactions
            raise OSError(f"{self.root}: the index kept changing while being read; try again")
        if keys["runs"] != self._keys.get("runs") or keys["trash"] != self._keys.get("trash"):
            changed |= self._reconcile()
        if changed:
            self._frame = None
            self._live = {k for k, r in self._rows.items() if r["deleted_at"] is None}
        self._keys = keys
        if not self.read_only and len(self._applied - self._folded) >= max(
            COMPACT_MIN_EVENTS, COMPACT_FRACTION * len(self._rows)
        ):
            self._compact()

    def _load_snapshot(self) -> None:
        self._reset_cache()
        try:
            data = _read_json(self._snapshot)
        except FileNotFoundError:
            return
        except ValueError:  # damaged snapshot: it is derived, so rebuild from the run folders
            self._reconcile()
            return
        self._rows = {row["run_id"]: row for row in data["rows"]}
        self._folded = set(data["events"])
        self._applied = set(self._folded)
        self._frame = None

    def _apply_events(self) -> bool:
        try:
            names = sorted(n for n in os.listdir(self._events) if not n.startswith("."))
        except FileNotFoundError:
            return False
        changed = False
        for name in names:
            if name in self._applied:
                continue
            try:
                event = _read_json(os.path.join(self._events, name))
            except ValueError:  # not ours or damaged: the run folders still hold the truth
                self._applied.add(name)
                continue
            run_id, row = event.get("run_id"), event.get("row")
            if row is None:
                self._rows.pop(run_id, None)
            elif is_run_id(run_id):
                self._rows[run_id] = row
            self._applied.add(name)
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
        for run_id in list(self._rows):
            row = self._rows[run_id]
            where_ok = run_id in live if row["deleted_at"] is None else run_id in trashed
            if not where_ok:
                del self._rows[run_id]
                changed = True
        for run_ids, deleted in ((live, False), (trashed, True)):
            for run_id in run_ids - self._rows.keys():
                try:
                    record = self.read(run_id, deleted=deleted)
                except (RunNotFoundError, OSError, ValueError, KeyError):
                    continue  # incomplete or damaged: `check` reports it
                if deleted and record.deleted_at is None:  # trashed, metadata not yet rewritten
                    record.deleted_at = datetime.fromtimestamp(
                        os.stat(os.path.join(self._trash, run_id)).st_mtime, tz=timezone.utc
                    )
                self._rows[run_id] = summary_row(record)
                changed = True
        return changed

    def _compact(self) -> None:
        """Fold the events into a new snapshot; remove folded events old enough to be safe to remove."""
        present = {n for n in os.listdir(self._events) if not n.startswith(".")}
        self._applied &= present  # events removed by another compaction are in the snapshot they came from
        data = {"schema_version": STORE_SCHEMA_VERSION, "events": sorted(self._applied),
                "rows": list(self._rows.values())}
        try:
            atomic_write(self._snapshot, codec.dumps(data))
        except OSError:
            return  # compaction is an optimization; the events still hold everything
        self._folded = set(self._applied)
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
            self._reset_cache()
            self._reconcile()
            names = sorted(n for n in os.listdir(self._events) if not n.startswith("."))
            # everything the events say is already in the folders; fold them all
            self._applied = set(names)
            self._compact()
            self._keys = {}
            self._refresh()
            return len(self._rows)

    # ############# Maintenance ############# #

    def _leftovers(self) -> tp.Iterator[tp.Tuple[str, float]]:
        """Staging folders and temp files anywhere in the store, with their age in seconds."""
        now = time.time()
        for folder in (self.root, self._runs, self._trash, self._index, self._events):
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(folder):
                    if entry.name.startswith(STAGING_PREFIX) or is_temp_name(entry.name):
                        yield entry.path, now - entry.stat(follow_symlinks=False).st_mtime
        for folder in (self._runs, self._trash):
            for run_id in self._folder_ids(folder):
                with contextlib.suppress(FileNotFoundError):
                    for entry in os.scandir(os.path.join(folder, run_id)):
                        if is_temp_name(entry.name):
                            yield entry.path, now - entry.stat(follow_symlinks=False).st_mtime

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
            with contextlib.suppress(FileNotFoundError):
                names = os.listdir(folder)
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
        self._refresh()
        for run_id in sorted(truth.keys() | self._rows.keys()):
            mine, real = self._rows.get(run_id), truth.get(run_id)
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
