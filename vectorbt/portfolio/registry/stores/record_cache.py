"""Decoded records of big runs, kept by `FileStore.read` between reads while their files stay the same.

Decoding the labels of a 10,000-configuration sweep from its `run.json` takes tens of milliseconds, a small
record a fraction of one: records of at least `MIN_COLUMNS` configurations are kept (at most `MAX_RUNS`, the
most recently read first), keyed by their run folder and the identity of `run.json` and of the file their
metrics were read from (`metrics.npy`, or `configs.npz` from schema 4): device, inode, size, modification and
change times. Every write of the store replaces a file, which gives it a new inode, so a changed run is never
served from here; bytes changed in place behind the store's back change the times. Records handed out are
private copies.
"""

import copy
import os
import threading
from collections import OrderedDict

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.run import RunRecord

__all__ = ["RecordCache", "file_identity", "MIN_COLUMNS", "MAX_RUNS"]

MIN_COLUMNS = 256
"""Records of runs with at least this many configurations are kept."""

MAX_RUNS = 16
"""Most records kept."""

FileId = tp.Tuple[int, ...]


def file_identity(f: tp.Any) -> FileId:
    """What tells an open file from any other version of it (see the module's docstring)."""
    st = os.fstat(f.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def private_copy(record: RunRecord) -> RunRecord:
    """A copy that shares nothing a caller could change: containers copied deeply, the labels as a new list (of
    the same labels when they are immutable values, as they usually are: deep copies otherwise)."""
    out = record.copy()
    for name in ("params", "settings", "versions", "provenance", "parts"):
        setattr(out, name, copy.deepcopy(getattr(record, name)))
    mutable = any(issubclass(kind, (list, dict)) for kind in set(map(type, record.columns)))  # one test a type
    out.columns = copy.deepcopy(record.columns) if mutable else list(record.columns)
    out.column_names = list(record.column_names)
    return out


class RecordCache:
    """The kept records of one store, safe to use from several threads."""

    def __init__(self) -> None:
        self._records: "OrderedDict[str, tp.Tuple[tp.Tuple[str, FileId, str, FileId], RunRecord]]" = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, run_id: object) -> bool:
        with self._lock:
            return run_id in self._records

    def get(self, run_id: str, folder: str, meta_id: FileId) -> tp.Optional[RunRecord]:
        """A private copy of the record decoded from the run folder `folder` whose `run.json` has the identity
        `meta_id` now, if the file its metrics were read from is the one decoded too; else None."""
        with self._lock:
            entry = self._records.get(run_id)
        if entry is None or entry[0][:2] != (folder, meta_id):
            return None
        metrics_path, metrics_id = entry[0][2:]
        try:
            with open(metrics_path, "rb") as f:
                if file_identity(f) != metrics_id:
                    return None
        except FileNotFoundError:
            return None
        with self._lock:
            if run_id in self._records:
                self._records.move_to_end(run_id)
        return private_copy(entry[1])

    def put(self, record: RunRecord, folder: str, meta_id: FileId, metrics_path: str, metrics_id: FileId) -> RunRecord:
        """Keep `record`, just decoded from the `run.json` of identity `meta_id` and the metrics of the file at
        `metrics_path` (of identity `metrics_id`), if it is big enough; return what the caller may hand out: a
        private copy when kept, `record` itself otherwise."""
        if record.n_columns < MIN_COLUMNS:
            return record
        with self._lock:
            self._records[record.run_id] = ((folder, meta_id, metrics_path, metrics_id), record)
            self._records.move_to_end(record.run_id)
            while len(self._records) > MAX_RUNS:
                self._records.popitem(last=False)
        return private_copy(record)
