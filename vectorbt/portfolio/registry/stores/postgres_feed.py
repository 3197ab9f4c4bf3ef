"""The change feed of `PostgresStore`, the summary table each client keeps warm from it (`WarmTable`), and
selections answered from that table (`select_rows`).

## The change sequence

Every writing transaction ends by incrementing the one-row counter and stamping what it changed with the new
value (`postgres_schema.bump`). The row lock on the counter is held until commit, so the numbers are handed
out in commit order: when a client has seen change `n`, every change numbered below `n` is visible to it too.
(A `bigserial` column would number changes in the order they began; a transaction that began earlier but
commits later would then be skipped by a client that already moved past its number.) Each client keeps the
summary table in memory (`vectorbt.portfolio.registry.index.SummaryIndex`) and asks, on each call, only for
the runs changed and the runs purged since the last change it saw: one query, usually returning nothing.

## Snapshots

`vbtr_snapshots` holds the summary table of all runs as of a change, column-wise
(`vectorbt.portfolio.registry.index.snapshot_bytes`), so that a fresh client of 100,000 runs reads one value
and the changes since, not 100,000 rows. It is derived: any writable client writes a new one when many changes
piled up since the last (`SNAPSHOT_EVERY`).

## Selecting from the warm table

`select_rows` answers `RunStore.select` over the table a client holds without copying it: the filters and the
query read only the columns they name (the query through `Query.mask`, on a frame of those columns over the
rows the filters kept, so that it sees what it would see on the whole table), the sort orders only the rows
kept, and only the rows returned are copied. The rows, their order and their values are those of the base
implementation over `table()`.
"""

import copy
import threading
import warnings
import weakref

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import IntegrityError
from vectorbt.portfolio.registry.index import RUN_FIELD_SET, SummaryIndex, read_snapshot, snapshot_bytes, sort_rows
from vectorbt.portfolio.registry.spec import METRIC_NAMES

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query

__all__ = ["WarmTable", "select_rows", "SNAPSHOT_EVERY", "REBASE_ROWS"]

SNAPSHOT_EVERY = (1_000, 0.1)
"""A writable client saves a new snapshot of the summary table once it applied at least this many changes
beyond the last snapshot and at least this fraction of the runs (so that saving costs O(1) per change)."""

REBASE_ROWS = 1_000
"""A client that applied more rows than this since its table was last columnar folds them into its columnar
base (`SummaryIndex`), so that the table is not rebuilt from that many rows after each later change."""


class WarmTable:
    """The summary table of one client of a `PostgresStore`, kept up to date from the change feed.

    `store` is the client: `refresh` runs its queries through `store._run` and names it in warnings (held by a
    weak reference, so that a store nobody uses is freed, its connections closed, at once). `lock` guards the
    table: hold it while reading `index`."""

    def __init__(self, store: tp.Any) -> None:
        self._store = weakref.ref(store)
        self.lock = threading.RLock()
        self.reset()

    @property
    def store(self) -> tp.Any:
        """The client whose table this is."""
        return self._store()

    def reset(self) -> None:
        """Forget everything: the next `refresh` reads the table again (from the newest snapshot)."""
        self.index = SummaryIndex()
        self.seq = 0  # the last change seen
        self.unsaved = 0  # changes applied beyond the newest snapshot
        self.overlay = 0  # rows applied since the index was last columnar
        self.loaded = False  # whether the table was read (then kept up to date)

    def refresh(self) -> None:
        """Bring the table up to date: the runs changed and purged since the last change seen (a fresh client
        starts from the newest snapshot)."""
        fresh = self.seq == 0

        def work(cur: tp.Any) -> tp.Tuple[tp.Any, tp.List[tp.Any]]:
            snapshot = None
            if fresh:
                cur.execute("SELECT seq, data FROM vbtr_snapshots ORDER BY seq DESC LIMIT 1", binary=True)
                snapshot = cur.fetchone()
            since = self.seq if snapshot is None else snapshot[0]
            cur.execute("SELECT seq, run_id, summary FROM vbtr_runs WHERE seq > %s UNION ALL "
                        "SELECT seq, run_id, NULL FROM vbtr_purged WHERE seq > %s ORDER BY 1", (since, since),
                        binary=True)
            return snapshot, cur.fetchall()

        with self.lock:
            snapshot, changes = self.store._run("read the summary table", work, write=False)
            if snapshot is not None:
                try:
                    columns, _ = read_snapshot(bytes(snapshot[1]))
                except (ValueError, KeyError, OSError) as e:  # damaged derived data: the rows still tell
                    warnings.warn(f"{self.store!r}: summary snapshot {snapshot[0]} unreadable ({e}); reading every "
                                  "row", UserWarning, stacklevel=4)
                    self.index = SummaryIndex()
                    return self._refresh_from(0)
                self.index, self.seq, self.unsaved, self.overlay = SummaryIndex(columns), snapshot[0], 0, 0
            self.apply(changes)
            self.loaded = True
            if not self._maybe_snapshot() and self.overlay > REBASE_ROWS:
                self.index, self.overlay = SummaryIndex(self.index.to_columns()), 0

    def _refresh_from(self, seq: int) -> None:
        def work(cur: tp.Any) -> tp.List[tp.Any]:
            cur.execute("SELECT seq, run_id, summary FROM vbtr_runs WHERE seq > %s ORDER BY 1", (seq,))
            return cur.fetchall()

        self.seq = seq
        self.apply(self.store._run("read the summary table", work, write=False))
        self.loaded = True

    def apply(self, changes: tp.List[tp.Any]) -> None:
        """Apply rows of the change feed: `(seq, run_id, summary bytes)`, or `None` for a purged run."""
        for seq, run_id, summary in changes:
            if summary is None:
                self.index.remove(run_id)
            else:
                try:
                    self.index.put(codec.loads(bytes(summary)))
                except ValueError as e:
                    raise IntegrityError(run_id, "summary", f"unreadable ({e}); repair rebuilds it") from e
            self.seq = max(self.seq, seq)
        self.unsaved += len(changes)
        self.overlay += len(changes)

    def _maybe_snapshot(self) -> bool:
        """Save the table as a snapshot when enough changes piled up since the last (writable clients only);
        whether it did."""
        least, fraction = SNAPSHOT_EVERY
        if self.store.read_only or self.unsaved < max(least, fraction * len(self.index)):
            return False
        columns = self.index.to_columns()
        self.index, self.overlay = SummaryIndex(columns), 0  # columnar again: the next change rebuilds little
        data, seq = snapshot_bytes(columns, []), self.seq

        def work(cur: tp.Any) -> None:
            cur.execute("INSERT INTO vbtr_snapshots (seq, data) VALUES (%s, %s) ON CONFLICT (seq) DO NOTHING",
                        (seq, data))
            cur.execute("DELETE FROM vbtr_snapshots WHERE seq < %s", (seq,))

        self.store._run("save a snapshot of the summary table", work)
        self.unsaved = 0
        return True


# ############# Selecting ############# #


_ATOMS = (type(None), bool, int, float, str, bytes, np.generic, pd.Timestamp, pd.Timedelta)
"""Values that returned rows may share with the table (immutable)."""


def query_names(frame: pd.DataFrame, hidden: tp.AbstractSet[str]) -> tp.List[tp.Any]:
    """The names a query may use on `frame` without its `hidden` columns: the index's name, then the columns (as
    `Query.apply` lists them on such a frame)."""
    columns = [c for c in frame.columns if c not in hidden]
    name = frame.index.name
    return [name, *columns] if isinstance(name, str) and name not in columns else columns


def _own_values(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its own copy of every mutable value (parameter values may be lists, dicts or arrays)."""
    fixed = (RUN_FIELD_SET - {"column"}) | set(METRIC_NAMES)
    for column in frame.columns:
        if column in fixed or frame[column].dtype != object:
            continue
        values = frame[column].to_numpy()
        if not all(isinstance(v, _ATOMS) for v in values):
            frame[column] = pd.Series([copy.deepcopy(v) for v in values], index=frame.index, dtype=object)
    return frame


def select_rows(frame: pd.DataFrame, where: tp.Optional["Query"], deleted: bool, *,
                name: tp.Optional[tp.Sequence[str]] = None, tags: tp.Optional[tp.Sequence[str]] = None,
                status: tp.Optional[tp.Sequence[str]] = None, parent: tp.Optional[str] = None,
                sort_by: tp.Optional[str] = None, ascending: bool = True, limit: tp.Optional[int] = None,
                hidden: tp.Sequence[str] = ()) -> pd.DataFrame:
    """`RunStore.select` over `frame`, a summary table of live and trashed runs sorted by run id (left as it is):
    the selected rows, copied, with all the columns of `frame`."""
    keep = frame["deleted_at"].notna().to_numpy(dtype=bool) == bool(deleted)  # a new array: changed below
    if name is not None:
        keep &= frame["name"].isin(list(name)).to_numpy(dtype=bool)
    if status is not None:
        keep &= frame["status"].isin(list(status)).to_numpy(dtype=bool)
    if parent is not None:
        keep &= (frame["parent"] == parent).to_numpy(dtype=bool)
    positions = np.flatnonzero(keep)
    if tags is not None:
        wanted, column = set(tags), frame["tags"].to_numpy()
        positions = positions[np.fromiter((wanted.issubset(column[p]) for p in positions), dtype=bool,
                                          count=len(positions))]
    hidden_set = set(hidden)
    if where is not None:
        where.check(query_names(frame, hidden_set))
        named = [c for c in where.columns if c in frame.columns]  # the others name the index
        positions = positions[where.mask(frame[named].iloc[positions])]
    if sort_by is not None:
        shown = isinstance(sort_by, str) and sort_by in frame.columns and sort_by not in hidden_set
        if not shown and not (sort_by == frame.index.name and sort_by not in hidden_set):
            sort_rows(frame.iloc[:0].drop(columns=list(hidden)), sort_by, ascending)  # raises, naming the columns
        if shown:
            key = frame[sort_by].iloc[positions].reset_index(drop=True).to_frame()
            positions = positions[sort_rows(key, sort_by, ascending).index.to_numpy()]
        elif not ascending:  # the index: run ids, unique and sorted
            positions = positions[::-1]
    elif not ascending:
        positions = positions[::-1]
    if limit is not None:
        positions = positions[:limit]
    return _own_values(frame.iloc[positions])
