"""The change feed of `PostgresStore` and the summary table each client keeps warm from it (`WarmTable`).

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

A client that holds the table answers `RunStore.select` from it in memory
(`vectorbt.portfolio.registry.index.select_rows`, as `FileStore` does), copying only the rows returned.
"""

import threading
import warnings
import weakref

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import IntegrityError
from vectorbt.portfolio.registry.index import SummaryIndex, read_snapshot, snapshot_bytes

__all__ = ["WarmTable", "SNAPSHOT_EVERY", "REBASE_ROWS"]

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
