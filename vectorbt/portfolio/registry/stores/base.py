"""The store interface: a handful of verbs that persist and retrieve `RunRecord`s and the parts stored beside them.

A store decides nothing: `RunRegistry` validates input, makes ids and timestamps, computes metrics and
checksums, and hands the store finished records. A store keeps them safe and finds them again.

## What a store keeps

Per run: its `RunRecord` (metadata and the metric matrix) and its *parts*, opaque bytes named by role
(`vectorbt.portfolio.registry.spec.PARTS`: `"portfolio"`, the pickled portfolio). The record carries each
part's size and checksums (`RunRecord.parts`); verifying a part against them is the facade's job. How a store
lays records and parts out (files, rows, objects) is its own business: nothing outside a store uses its names.

Beside the runs, a store keeps a *summary table*, one row per run (`vectorbt.portfolio.registry.run.summary_row`:
the run fields, its best configuration's parameters and metrics), served as a DataFrame whose columns are
described by `vectorbt.portfolio.registry.spec.FIELDS`, then one column per parameter (sorted by name), then
one per metric. The table is derived: `rebuild_index` recreates it from the runs.

## Contract

Every store, whatever it keeps its data in, guarantees:

- **Atomic runs.** After `create` returns, the run is fully stored; if `create` fails or the process dies
  in it, no reader ever sees the run, not even partly. `update`, `trash`, `restore` and `purge` are
  likewise all-or-nothing for the reader.
- **Isolation of runs.** A write to one run never changes another run's data.
- **Errors.** Each verb documents what it raises. In short: unknown or malformed run ids raise
  `RunNotFoundError` (before any path, key or query is built from them); an id that exists already raises
  `DuplicateRunError`; writes to a read-only store raise `ReadOnlyError`; stored data that cannot be read
  raises `IntegrityError` naming the run and the part; data of a newer format raises `SchemaVersionError`;
  failures of the medium propagate as `OSError`.
- **Listing is cheap.** `table` and `select` answer from a derived index, without reading parts and without
  parsing every run's metadata on each call.
- **Concurrency.** Several threads may use one store object at once. A store shared between processes
  (a folder, a database) also guarantees that `create` never conflicts, that concurrent `update`s of the same
  run are serialized so that none is lost, and that a reader sees every run created before its call started.
- **Returned objects are copies.** Changing a returned record or table changes nothing stored.

`vectorbt.portfolio.registry.testing` states these guarantees as a test suite that any store can run, inside
this repository or outside it.
"""

import io
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import DuplicateRunError, IntegrityError, ReadOnlyError, RunNotFoundError
from vectorbt.portfolio.registry.index import sort_rows
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import PARTS

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query

__all__ = ["RunStore", "Problem", "PROBLEM_KINDS", "LIVE_DETAIL"]

LIVE_DETAIL = "it is live; only deleted runs can be restored or purged"
"""`RunNotFoundError.detail` of `restore` and `purge` for a run that is live, not in the trash."""

PROBLEM_KINDS = ("leftover", "orphan", "index_drift", "unreadable", "checksum")
"""Kinds of `Problem` that `RunStore.check` and `RunRegistry.check` report."""


@dataclass(frozen=True)
class Problem:
    """One finding of `RunStore.check`: what kind, which run (if any), where, and what is wrong."""

    kind: str
    """One of `PROBLEM_KINDS`: `"leftover"` (an interrupted write), `"orphan"` (data that belongs to no run),
    `"index_drift"` (the derived index disagrees with the runs), `"unreadable"`, `"checksum"`."""

    run_id: tp.Optional[str]
    """The run concerned, or `None` for data that belongs to no run."""

    path: str
    """Location of the problem inside the store (relative to its root, or a key)."""

    detail: str
    """Human-readable description."""

    repairable: bool = True
    """Whether `repair` can fix it without losing data."""


def same_identity_error(existing_run_id: str) -> DuplicateRunError:
    """The error of a run refused because the live run `existing_run_id` has the same identity (what
    `RunStore.create(..., unique_identity=True)` raises, and `register(if_exists="error")`)."""
    return DuplicateRunError(f"run {existing_run_id!r} has the same identity (name, params, data, code and "
                             "settings); pass if_exists='new' to register it again", existing_run_id)


class RunStore(ABC):
    """Abstract base class of run stores. See the module docstring for the contract."""

    read_only: bool = False
    """Whether writes are refused with `ReadOnlyError`."""

    read_only_reason: tp.Optional[str] = None
    """Why the store is read-only when nobody asked for it (e.g. `FileStore` on a folder this process may not
    write to); None otherwise. `check_writable` says it."""

    def check_writable(self) -> None:
        """Raise `ReadOnlyError` (saying why) if this store refuses writes. Every writing verb calls it first."""
        if self.read_only:
            raise ReadOnlyError(f"{self!r} is read-only: {self.read_only_reason or 'cannot write to it'}")

    # ############# Writing ############# #

    @abstractmethod
    def create(self, record: RunRecord, parts: tp.Mapping[str, bytes], unique_identity: bool = False) -> None:
        """Store a new run: its record (metrics included) and its parts by role (`{"portfolio": bytes}`).

        With `unique_identity`, the run is stored only if no live run has the same `record.identity`, decided
        atomically with the write across every client of the store (`register(if_exists="skip")` relies on it,
        so that a task retried on another machine registers its result once).

        Returns nothing. Raises `DuplicateRunError` if a run with that id exists, live or in the trash, or with
        `unique_identity` if a live run has that identity (its `existing_run_id` names that run);
        `RunNotFoundError` for a malformed id; `ReadOnlyError`; `OSError` when the medium fails, in which case
        nothing of the run is stored."""

    @abstractmethod
    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        """Replace a live run's metadata by `change(current_record)`, atomically with respect to other
        updates of the same run (read, change and write happen under one lock); return the new record.

        Metrics and parts are left as they are. Raises `RunNotFoundError` if no live run has that id,
        `ValueError` if the change alters the run id, whatever `change` raises (nothing is stored then),
        `ReadOnlyError`, `IntegrityError` if the stored record cannot be read."""

    @abstractmethod
    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        """Move a live run to the trash, stamping `deleted_at`; return its record.

        Raises `RunNotFoundError` if no live run has that id, `ReadOnlyError`."""

    @abstractmethod
    def restore(self, run_id: str) -> RunRecord:
        """Move a run back from the trash, clearing `deleted_at`; return its record.

        Raises `RunNotFoundError` if the trash holds no run with that id (`where="the trash"`, and the detail
        `LIVE_DETAIL` when the run is live), `ReadOnlyError`."""

    @abstractmethod
    def purge(self, run_id: str) -> None:
        """Remove a run in the trash for good. Raises `RunNotFoundError` if the trash holds no such run,
        `ReadOnlyError`."""

    @abstractmethod
    def rewrite(self, run_id: str, build: tp.Callable[[RunRecord], tp.Tuple[RunRecord, tp.Mapping[str, bytes]]],
                deleted: bool = False) -> RunRecord:
        """Replace a run's record and all its parts at once (a format migration); return the new record.

        `build(current_record)` returns the new record (the same run id) and its parts by role; it is called
        with the run held against other changes (as `update` holds it), so that nothing changed meanwhile is
        lost, and it may read the run's parts. Afterwards the run has exactly the new record, metrics and
        parts; after a crash at any moment it is entirely as before or entirely new, never a mix. Applies to a
        live run, or with `deleted=True` to a run in the trash (which stays there).

        Raises `RunNotFoundError` if there is no such run, `ValueError` if the new record changes the run id or
        its parts do not match it (`RunRecord.check_parts`), whatever `build` raises (nothing is changed then),
        `ReadOnlyError`, and `OSError` when the medium fails or cannot swap atomically (nothing is changed)."""

    # ############# Reading ############# #

    @abstractmethod
    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        """The record of a live run (or, with `deleted=True`, of a run in the trash), metrics included.

        Raises `RunNotFoundError` if there is no such run (or the id is malformed), `IntegrityError` if its
        stored metadata or metrics cannot be read, `SchemaVersionError` if a newer format wrote them."""

    @abstractmethod
    def read_part(self, run_id: str, role: str, deleted: bool = False) -> bytes:
        """The bytes of one part of a run (`role` from `spec.PARTS`, e.g. `"portfolio"`), as stored.

        Verifying them against the record's checksums is the caller's job. Raises `RunNotFoundError` if there
        is no such run, `IntegrityError` if the run exists but the part is missing, `ValueError` for a role
        that is not in `spec.PARTS`."""

    def open_part(self, run_id: str, role: str, deleted: bool = False) -> tp.BinaryIO:
        """A binary file object over one part of a run, open for reading and seeking, so that a caller can read
        byte ranges of it (a load of one configuration of a big sweep reads a few pieces of its portfolio).
        The caller closes it (it is a context manager). What it reads is the part as it was when opened, even if
        the run is changed or deleted meanwhile.

        This implementation reads the whole part (`read_part`) into memory; a store that can serve ranges (a
        file, an object store) overrides it. Raises what `read_part` raises."""
        return io.BytesIO(self.read_part(run_id, role, deleted))

    @abstractmethod
    def table(self, deleted: bool = False) -> pd.DataFrame:
        """The summary table: one row per live run (or per run in the trash), indexed by `run_id` and sorted
        by it (oldest first); see the module docstring for its columns. A fresh copy on every call."""

    def select(
        self,
        where: tp.Optional["Query"] = None,
        deleted: bool = False,
        *,
        name: tp.Optional[tp.Sequence[str]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        status: tp.Optional[tp.Sequence[str]] = None,
        parent: tp.Optional[str] = None,
        sort_by: tp.Optional[str] = None,
        ascending: bool = True,
        limit: tp.Optional[int] = None,
        hidden: tp.Sequence[str] = (),
    ) -> pd.DataFrame:
        """Rows of `table(deleted)`: those the filters and the parsed query `where` keep, sorted, the first `limit`.

        What `RunRegistry.list` shows is this selection. The caller validates its arguments (names and tags as
        lists of strings, `limit` a count); the store only selects:

        - `name`, `status`: keep the runs whose name (status) is one of these; `tags`: the runs carrying all of
          these tags; `parent`: the runs whose parent is this run id. `None` keeps every run.
        - `where`: keep the rows the query selects (`Query.apply`), evaluated over the rows the filters kept, on
          the table's columns except `hidden` (the index, `run_id`, included). A query naming a column that is
          not there raises the `ValueError` of `Query.check`, listing the columns that are.
        - `sort_by`: a column (not `hidden`) or `"run_id"`, sorted as `index.sort_rows` sorts (NaN last, ties in
          their order, oldest run first); `None` sorts by run id. `ascending` gives the order. An unknown column
          raises the `ValueError` of `sort_rows`.
        - `limit`: keep the first `limit` rows (all if `None`).

        Returns those rows with every column of the table, `hidden` ones included (the caller shows what it
        wants), as a fresh copy. Without arguments: `table(deleted)`.

        This implementation does it all in pandas over `table(deleted)`. A store that can select where it keeps
        the data (a database) overrides it; its rows, their order and their values must equal these. Such a
        store, selecting without the whole table, may leave out parameter columns that none of the rows returned
        has (`RunRegistry.list` drops them anyway), and may type a parameter column by the rows returned (`int64`
        where the whole table, with a run that lacks the parameter, has `float64`); `StoreSuite` checks so."""
        frame = self.table(deleted=deleted)
        keep = np.ones(len(frame), dtype=bool)
        if name is not None:
            keep &= frame["name"].isin(list(name)).to_numpy(dtype=bool)
        if tags is not None:
            wanted = set(tags)
            keep &= np.fromiter((wanted.issubset(t) for t in frame["tags"]), dtype=bool, count=len(frame))
        if status is not None:
            keep &= frame["status"].isin(list(status)).to_numpy(dtype=bool)
        if parent is not None:
            keep &= (frame["parent"] == parent).to_numpy(dtype=bool)
        if not keep.all():
            frame = frame[keep]
        shown = frame.drop(columns=list(hidden)) if hidden else frame
        if where is not None:
            shown = where.apply(shown)
        if sort_by is not None:
            shown = sort_rows(shown, sort_by, ascending)
        elif not ascending:
            shown = shown.sort_index(ascending=False)
        if limit is not None:
            shown = shown.iloc[:limit]
        return frame.loc[shown.index] if hidden else shown

    def read_parts(self, run_ids: tp.Sequence[str], role: str,
                   deleted: bool = False) -> tp.Iterator[tp.Tuple[str, bytes]]:
        """The parts `role` of many runs: `(run_id, bytes)` for each of `run_ids` that is live (or, with
        `deleted`, in the trash) and has that part, in the order given, each as `read_part` returns it. Runs that
        do not qualify (unknown or malformed ids, a run in the other place, no such part) are left out:
        `read_part` says why. `RunRegistry.best` reads the `"configs"` parts of all the runs it ranks so.

        A generator: parts are read as it is consumed, and a consumer may stop early. This implementation calls
        `read_part` run by run; a store that can fetch many parts at once (a database, in one query) overrides
        it. Raises `ValueError` for a role that is not in `spec.PARTS`, and what the medium raises (`OSError`)."""
        if role not in PARTS:
            raise ValueError(f"role: {role!r} is not a part of a run; parts are {', '.join(PARTS)}")
        for run_id in run_ids:
            try:
                data = self.read_part(run_id, role, deleted=deleted)
            except (RunNotFoundError, IntegrityError):
                continue
            yield run_id, data

    # ############# Maintenance ############# #

    @abstractmethod
    def rebuild_index(self) -> int:
        """Rebuild the derived index from the runs themselves; return how many runs (live and in the trash) it
        holds. Raises `ReadOnlyError`."""

    @abstractmethod
    def check(self) -> tp.List[Problem]:
        """Audit the store's structure without changing anything; return what is wrong (empty if nothing).

        Never raises for damaged runs: they are reported as problems."""

    @abstractmethod
    def repair(self) -> tp.List[str]:
        """Fix what `check` reports as repairable, never touching a damaged run; return a line per action
        taken. Raises `ReadOnlyError`."""

    def remove_orphans(self) -> tp.List[str]:
        """Remove stored data that no run refers to any more and that no writer can still be committing (a store
        that keeps parts apart from its records: objects whose writer died after uploading them); return what
        was removed. `RunRegistry.gc` calls it after purging. This implementation has nothing to remove: a
        store whose runs are whole units (a folder, a dict entry) leaves no orphans that `repair` would not.
        Raises `ReadOnlyError`."""
        self.check_writable()
        return []

    # ############# Conveniences built on the verbs ############# #

    def run_ids(self, deleted: bool = False) -> tp.List[str]:
        """Ids of the live runs (or of the runs in the trash), oldest first."""
        return sorted(self.table(deleted=deleted).index)

    def __len__(self) -> int:
        return len(self.table())

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.table().index
