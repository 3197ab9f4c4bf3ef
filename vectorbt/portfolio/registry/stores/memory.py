"""`InMemoryStore`: a store in a Python dict, for tests, examples and throwaway notebook work.

It keeps the guarantees of `vectorbt.portfolio.registry.stores.base` inside one process: every change of a
run is atomic (made under a lock, all or nothing), readers get copies, and threads may share it. Nothing
survives the process; `RunRegistry.copy` moves runs worth keeping into a lasting store.

```pycon
>>> from vectorbt.portfolio.registry import InMemoryStore, RunRegistry
>>> reg = RunRegistry(InMemoryStore())
>>> len(reg)
0
```
"""

import copy
import threading
from datetime import datetime

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import DuplicateRunError, IntegrityError, RunNotFoundError
from vectorbt.portfolio.registry.index import SummaryIndex
from vectorbt.portfolio.registry.run import PART_FILES, RunRecord, check_run_id, is_run_id, summary_row
from vectorbt.portfolio.registry.spec import PARTS
from vectorbt.portfolio.registry.stores.base import LIVE_DETAIL, Problem, RunStore, same_identity_error

__all__ = ["InMemoryStore"]


class _Runs:
    """What several handles of one in-memory store share: the runs, the summary index and the lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.records: tp.Dict[str, RunRecord] = {}  # live and trashed; deleted_at tells which
        self.parts: tp.Dict[str, tp.Dict[str, bytes]] = {}
        self.index = SummaryIndex()


class InMemoryStore(RunStore):
    """A store that keeps runs in memory, in this process only.

    Args:
        read_only (bool): Refuse every write with `ReadOnlyError` (an empty store then, unless it is a `view`).
    """

    def __init__(self, read_only: bool = False) -> None:
        self.read_only = bool(read_only)
        self._data = _Runs()

    def view(self, read_only: bool = True) -> "InMemoryStore":
        """Another handle on the same runs, for example a read-only one for code that must not write."""
        other = InMemoryStore(read_only=read_only)
        other._data = self._data
        return other

    def __repr__(self) -> str:
        return f"InMemoryStore({len(self)} runs{', read_only=True' if self.read_only else ''})"

    # ############# Helpers ############# #

    def _get(self, run_id: str, deleted: bool) -> RunRecord:
        record = self._data.records.get(check_run_id(run_id))
        if record is None or (record.deleted_at is not None) != deleted:
            detail = ""
            if record is not None:
                detail = "it is in the trash" if record.deleted_at is not None else LIVE_DETAIL
            raise RunNotFoundError(run_id, detail, where="the trash" if deleted else "the registry")
        return record

    @staticmethod
    def _clone(record: RunRecord) -> RunRecord:
        """A copy that shares nothing mutable (parameter values may be lists, dicts or arrays)."""
        return copy.deepcopy(record)

    def _put(self, record: RunRecord) -> None:
        row = summary_row(record)  # fails on bad data before anything changes
        self._data.records[record.run_id] = record
        self._data.index.put(row)

    # ############# Writing ############# #

    def create(self, record: RunRecord, parts: tp.Mapping[str, bytes], unique_identity: bool = False) -> None:
        self.check_writable()
        run_id = check_run_id(record.run_id)
        record.check_parts(parts)
        stored = self._clone(record)
        data = {role: bytes(part) for role, part in parts.items()}
        with self._data.lock:
            if run_id in self._data.records:
                raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
            if unique_identity:
                same = [r.run_id for r in self._data.records.values()
                        if r.deleted_at is None and r.identity == record.identity]
                if same:
                    raise same_identity_error(min(same))
            self._put(stored)
            self._data.parts[run_id] = data

    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        self.check_writable()
        with self._data.lock:
            current = self._get(run_id, deleted=False)
            new = change(self._clone(current))
            if new.run_id != run_id:
                raise ValueError(f"run_id: an update cannot change it ({run_id!r} -> {new.run_id!r})")
            new = self._clone(new)
            new.metrics, new.parts = current.metrics, current.parts  # metrics and parts stay as they are
            self._put(new)
            return self._clone(new)

    def _move(self, run_id: str, deleted_at: tp.Optional[datetime]) -> RunRecord:
        """Move a run to the trash (stamping `deleted_at`) or, with `None`, back from it."""
        self.check_writable()
        with self._data.lock:
            record = self._clone(self._get(run_id, deleted=deleted_at is None))
            record.deleted_at = deleted_at
            self._put(record)
            return self._clone(record)

    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        return self._move(run_id, deleted_at)

    def restore(self, run_id: str) -> RunRecord:
        return self._move(run_id, None)

    def rewrite(self, run_id: str, build: tp.Callable[[RunRecord], tp.Tuple[RunRecord, tp.Mapping[str, bytes]]],
                deleted: bool = False) -> RunRecord:
        self.check_writable()
        with self._data.lock:  # re-entrant: `build` may read the run's parts
            current = self._get(run_id, deleted)
            record, parts = build(self._clone(current))
            if record.run_id != run_id:
                raise ValueError(f"run_id: a rewrite cannot change it ({run_id!r} -> {record.run_id!r})")
            record.check_parts(parts)
            stored = self._clone(record)
            self._put(stored)
            self._data.parts[run_id] = {role: bytes(part) for role, part in parts.items()}
            return self._clone(stored)

    def purge(self, run_id: str) -> None:
        self.check_writable()
        with self._data.lock:
            self._get(run_id, deleted=True)
            del self._data.records[run_id]
            del self._data.parts[run_id]
            self._data.index.remove(run_id)

    # ############# Reading ############# #

    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        with self._data.lock:
            return self._clone(self._get(run_id, deleted))

    def read_part(self, run_id: str, role: str, deleted: bool = False) -> bytes:
        if role not in PARTS:
            raise ValueError(f"role: {role!r} is not a part of a run; parts are {', '.join(PARTS)}")
        with self._data.lock:
            self._get(run_id, deleted)
            part = self._data.parts[run_id].get(role)
            if part is None:
                raise IntegrityError(run_id, PART_FILES[role], f"run {run_id!r} has no {role} part")
            return part

    def table(self, deleted: bool = False) -> pd.DataFrame:
        with self._data.lock:
            return self._data.index.table(deleted)

    def __len__(self) -> int:
        with self._data.lock:
            return self._data.index.live_count()

    def __contains__(self, run_id: object) -> bool:
        if not is_run_id(run_id):
            return False
        with self._data.lock:
            record = self._data.records.get(run_id)
            return record is not None and record.deleted_at is None

    # ############# Maintenance ############# #

    def rebuild_index(self) -> int:
        self.check_writable()
        with self._data.lock:
            index = SummaryIndex()
            for record in self._data.records.values():
                index.put(summary_row(record))
            self._data.index = index
            return len(index)

    def check(self) -> tp.List[Problem]:
        """Compare the summary index with the records (nothing else can go wrong in memory)."""
        with self._data.lock:
            problems = []
            for run_id in sorted(self._data.records.keys() | self._data.index.ids()):
                record = self._data.records.get(run_id)
                if record is None or self._data.index.row(run_id) != summary_row(record):
                    problems.append(Problem("index_drift", run_id, "index", "index row differs from the record"))
            return problems

    def repair(self) -> tp.List[str]:
        self.check_writable()
        if not self.check():
            return []
        return [f"rebuilt the index from the records ({self.rebuild_index()} runs)"]
