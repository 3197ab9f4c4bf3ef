"""The store interface: a handful of verbs that persist and retrieve `RunRecord`s and portfolio pickles.

A store decides nothing: `RunRegistry` validates input, makes ids and timestamps, computes metrics and
checksums, and hands the store finished records. A store keeps them safe and finds them again.

## Contract

Every store, whatever it keeps its data in, guarantees:

- **Atomic runs.** After `create` returns, the run is fully stored; if `create` fails or the process dies
  in it, no reader ever sees the run, not even partly. `update`, `trash`, `restore` and `purge` are
  likewise all-or-nothing for the reader.
- **Isolation of runs.** A write to one run never changes another run's data.
- **Errors.** Unknown or malformed run ids raise `RunNotFoundError` (before any path is built from them);
  writes to a read-only store raise `ReadOnlyError`; other failures of the medium propagate as `OSError`.
- **Listing is cheap.** `table` answers from a derived index, without reading pickles and without parsing
  every run's metadata on each call; `rebuild_index` recreates the index from the runs themselves.
  `params_present` tells a parameter that is NaN from one a run lacks (both show as NaN in the table); its
  default reads the records, and a store with an index answers from it.
- **Concurrency.** Several processes may use one store at once. `create` never conflicts; concurrent
  `update`s of the same run are serialized, none is lost. A reader sees every run created
  before its call started.
- **Returned objects are copies.** Changing a returned record or table changes nothing stored.

The shared test suite (`tests/store_suite.py`) states these guarantees as tests that every store passes.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import ReadOnlyError, RunNotFoundError
from vectorbt.portfolio.registry.run import RunRecord

__all__ = ["RunStore", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One finding of `RunStore.check`: what kind, which run (if any), where, and what is wrong."""

    kind: str
    """One of `"leftover"`, `"orphan"`, `"index_drift"`, `"unreadable"`, `"checksum"`."""

    run_id: tp.Optional[str]
    """The run concerned, or `None` for files that belong to no run."""

    path: str
    """Location of the problem inside the store (relative to its root)."""

    detail: str
    """Human-readable description."""

    repairable: bool = True
    """Whether `repair` can fix it without losing data."""


class RunStore(ABC):
    """Abstract base class of run stores. See the module docstring for the contract."""

    read_only: bool = False
    """Whether writes are refused with `ReadOnlyError`."""

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self!r} is read-only: cannot write to it")

    # ############# Writing ############# #

    @abstractmethod
    def create(self, record: RunRecord, pickle: bytes) -> None:
        """Store a new run: its record (metrics included) and its portfolio pickle.

        Raises `DuplicateRunError` if a run with that id exists, live or in the trash."""

    @abstractmethod
    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        """Replace a live run's metadata by `change(current_record)`, atomically with respect to other
        updates of the same run (read, change and write happen under one lock); return the new record.

        Metrics and pickle are left as they are."""

    @abstractmethod
    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        """Move a live run to the trash, stamping `deleted_at`; return its record."""

    @abstractmethod
    def restore(self, run_id: str) -> RunRecord:
        """Move a run back from the trash, clearing `deleted_at`; return its record."""

    @abstractmethod
    def purge(self, run_id: str) -> None:
        """Remove a run in the trash for good."""

    # ############# Reading ############# #

    @abstractmethod
    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        """The record of a live run (or, with `deleted=True`, of a run in the trash)."""

    @abstractmethod
    def read_pickle(self, run_id: str, deleted: bool = False) -> bytes:
        """The raw bytes of a run's portfolio pickle. Verifying them is the caller's job."""

    @abstractmethod
    def table(self, deleted: bool = False) -> pd.DataFrame:
        """The summary table: one row per live run (or per run in the trash), as `run.rows_to_frame` builds."""

    def params_present(self, run_ids: tp.Sequence[str], names: tp.Iterable[str], deleted: bool = False) -> tp.Set[str]:
        """Which of the parameters `names` at least one of the runs `run_ids` has in its summary row, whatever
        the value (NaN included). The table shows NaN both for a parameter that a run lacks and for one whose
        value is NaN; this tells them apart.

        This implementation reads the runs' records, one by one until it has found every name, which costs a
        read per run when a name is absent from all of them: a store with an index should answer from it. A run
        that cannot be read (deleted since the table was read, or damaged) is skipped rather than failing the
        listing that asks."""
        wanted = set(names)
        found: tp.Set[str] = set()
        for run_id in run_ids:
            try:
                record = self.read(run_id, deleted=deleted)
            except (RunNotFoundError, ValueError, OSError):  # IntegrityError and SchemaVersionError are ValueErrors
                continue
            found |= wanted & ({*record.params, *record.column_names} - {None})
            if found == wanted:
                break
        return found

    # ############# Maintenance ############# #

    @abstractmethod
    def rebuild_index(self) -> int:
        """Rebuild the derived index from the runs themselves; return how many runs it holds."""

    @abstractmethod
    def check(self) -> tp.List[Problem]:
        """Audit the store's structure without changing anything."""

    @abstractmethod
    def repair(self) -> tp.List[str]:
        """Fix what `check` reports as repairable; return a line per action taken."""

    # ############# Conveniences built on the verbs ############# #

    def run_ids(self, deleted: bool = False) -> tp.List[str]:
        """Ids of the live runs (or of the runs in the trash), oldest first."""
        return sorted(self.table(deleted=deleted).index)

    def __len__(self) -> int:
        return len(self.table())

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.table().index
