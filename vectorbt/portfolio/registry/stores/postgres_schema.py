"""The tables of `PostgresStore` and the connections to them: the schema, its version, the values of a run's row,
a small pool of connections, and the one-row counter that numbers changes in commit order.

## Tables

The schema is created on first use (under an advisory lock, so several clients may open a new database at
once) and versioned in `vbtr_info` (`STORE_SCHEMA_VERSION`; a newer one is refused with `SchemaVersionError`).

- `vbtr_runs`, one row per run (live or in the trash): the record (`meta`, `metrics`, as a `FileStore` keeps
  them), its summary row (`summary`) and, for queries, the summary's fields as columns: `name`, `created_at`,
  `tags` (`text[]`), ..., `params` (`jsonb`), one `double precision` column per metric (`m_<metric>`); `seq`,
  the change that last touched it.
- `vbtr_parts`, one row per part of a run: `size`, `sha256` and either the bytes (`data`) or the key of an
  object (`object`).
- `vbtr_objects`, one row per object in object storage: an object is written, and removed, only under the lock
  of its row (`vectorbt.portfolio.registry.stores.postgres_objects`).
- `vbtr_purged`, one row per purged run: the change that removed it.
- `vbtr_counter`, one row: the number of the last change (`bump`).
- `vbtr_snapshots`: the summary table of all runs as of a change, column-wise
  (`vectorbt.portfolio.registry.index.snapshot_bytes`; see `vectorbt.portfolio.registry.stores.postgres_feed`).

Text columns cannot hold NUL in PostgreSQL: the query columns have it replaced (`sql_text`); the exact values
are in `meta` and `summary`, and the SQL translation of queries never relies on a column that differs.
"""

import contextlib
import json
import os
import re
import threading
import time
from datetime import datetime, timezone

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import NotARegistryError
from vectorbt.portfolio.registry.run import RunRecord, summary_row
from vectorbt.portfolio.registry.spec import METRIC_NAMES
from vectorbt.portfolio.registry.stores.postgres_sql import set_metric_columns

__all__ = ["STORE_SCHEMA_VERSION", "METRIC_COLUMNS", "Connections", "create_schema", "row_values", "insert_sql",
           "bump", "live_identity"]

STORE_SCHEMA_VERSION = 1
"""Version of the tables; a client refuses a database whose `vbtr_info` says more."""

_SCHEMA_LOCK = 0x76627472_0001
"""Advisory lock key under which the schema is created."""

_IDENT = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
METRIC_COLUMNS = {m: f"m_{m}" for m in METRIC_NAMES}
"""The column of `vbtr_runs` that holds each metric of the run's summary row."""
assert all(_IDENT.match(c) for c in METRIC_COLUMNS.values())
set_metric_columns(METRIC_COLUMNS)

_DDL = [
    "CREATE TABLE vbtr_info (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE vbtr_counter (id int PRIMARY KEY CHECK (id = 1), value bigint NOT NULL)",
    "INSERT INTO vbtr_counter VALUES (1, 0)",
    "CREATE TABLE vbtr_runs (run_id text PRIMARY KEY, deleted boolean NOT NULL, exclusive boolean NOT NULL, "
    "seq bigint NOT NULL, meta bytea NOT NULL, metrics bytea NOT NULL, summary bytea NOT NULL, "
    "name text NOT NULL, created_at timestamptz NOT NULL, deleted_at timestamptz, tags text[] NOT NULL, "
    "notes text NOT NULL, status text, parent text, n_columns integer NOT NULL, identity text NOT NULL, "
    "params jsonb NOT NULL, "
    + ", ".join(f"{c} double precision" for c in METRIC_COLUMNS.values()) + ")",
    "CREATE INDEX vbtr_runs_seq ON vbtr_runs (seq)",
    "CREATE INDEX vbtr_runs_identity ON vbtr_runs (identity) WHERE NOT deleted",
    "CREATE UNIQUE INDEX vbtr_runs_exclusive_identity ON vbtr_runs (identity) WHERE exclusive AND NOT deleted",
    "CREATE INDEX vbtr_runs_name ON vbtr_runs (name)",
    "CREATE TABLE vbtr_parts (run_id text NOT NULL REFERENCES vbtr_runs ON DELETE CASCADE, role text NOT NULL, "
    "size bigint NOT NULL, sha256 text NOT NULL, data bytea, object text, PRIMARY KEY (run_id, role), "
    "CHECK ((data IS NULL) <> (object IS NULL)))",
    # parts are portfolios and metric matrices that hardly compress: kept out of line uncompressed, so that
    # neither writing nor reading them spends time in the server's compressor
    "ALTER TABLE vbtr_parts ALTER COLUMN data SET STORAGE EXTERNAL",
    "CREATE INDEX vbtr_parts_object ON vbtr_parts (object) WHERE object IS NOT NULL",
    "CREATE TABLE vbtr_objects (key text PRIMARY KEY, size bigint NOT NULL, doomed boolean NOT NULL DEFAULT false, "
    "created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE vbtr_purged (run_id text PRIMARY KEY, seq bigint NOT NULL)",
    "CREATE INDEX vbtr_purged_seq ON vbtr_purged (seq)",
    "CREATE TABLE vbtr_snapshots (seq bigint PRIMARY KEY, data bytea NOT NULL, "
    "created_at timestamptz NOT NULL DEFAULT now())",
]

_ROW_COLUMNS = ("deleted", "meta", "summary", "name", "created_at", "deleted_at", "tags", "notes", "status",
                "parent", "n_columns", "identity", "params", *METRIC_COLUMNS.values())
"""Columns of `vbtr_runs` written from a record (besides `run_id`, `exclusive`, `seq` and `metrics`)."""


def create_schema(cur: tp.Any, read_only: bool, store: str) -> tp.Tuple[tp.Optional[str], tp.Optional[str], bool]:
    """In an open transaction: create the tables unless they exist (`NotARegistryError` naming `store` if
    `read_only`); return the schema version recorded, the object storage recorded (or None) and whether this
    role may write the tables."""
    # pg_class read with a fresh snapshot (to_regclass may answer from a stale catalog cache)
    exists = ("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'vbtr_info' "
              "AND relnamespace = current_schema()::regnamespace)")
    cur.execute(exists)
    if not cur.fetchone()[0]:
        if read_only:
            raise NotARegistryError(f"{store}: no registry in this database to open read-only")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(exists)  # created meanwhile by another client, who held the lock
        if not cur.fetchone()[0]:
            for statement in _DDL:
                cur.execute(statement)
            cur.execute("INSERT INTO vbtr_info VALUES ('format', 'vectorbt-registry'), "
                        "('schema_version', %s), ('created_at', %s)",
                        (str(STORE_SCHEMA_VERSION), datetime.now(timezone.utc).isoformat()))
    cur.execute("SELECT key, value FROM vbtr_info WHERE key IN ('schema_version', 'artifacts')")
    info = dict(cur.fetchall())
    writable = True
    if not read_only:
        cur.execute("SELECT has_table_privilege('vbtr_runs', 'INSERT') AND "
                    "has_table_privilege('vbtr_counter', 'UPDATE')")
        writable = bool(cur.fetchone()[0])
    return info.get("schema_version"), info.get("artifacts"), writable


def sql_text(value: tp.Optional[str]) -> tp.Optional[str]:
    """Text for a query column: PostgreSQL text cannot hold NUL (the exact value is in `summary`)."""
    return None if value is None else value.replace("\x00", "\ufffd")


def row_values(record: RunRecord) -> tp.Dict[str, tp.Any]:
    """The values of the row columns for a record (raises on data the summary row refuses, before any write)."""
    from psycopg.types.json import Jsonb

    row = summary_row(record)
    metrics = codec.decode(row["metrics"])
    params = json.dumps(row["params"], ensure_ascii=True).replace("\\u0000", "\\ufffd")
    values = {
        "deleted": record.deleted_at is not None,
        "meta": record.meta_bytes(),
        "summary": codec.dumps(row),
        "name": sql_text(record.name),
        "created_at": record.created_at,
        "deleted_at": record.deleted_at,
        "tags": [sql_text(t) for t in record.tags],
        "notes": sql_text(record.notes),
        "status": sql_text(record.status),
        "parent": sql_text(record.parent),
        "n_columns": record.n_columns,
        "identity": sql_text(record.identity),
        "params": Jsonb(json.loads(params)),
    }
    values.update({column: float(metrics.get(m, float("nan"))) for m, column in METRIC_COLUMNS.items()})
    return values


def insert_sql() -> str:
    """The statement that inserts a run's row: `run_id, exclusive, seq, metrics`, then `row_values`; it returns
    the run id unless the id is taken."""
    columns = ("run_id", "exclusive", "seq", "metrics", *_ROW_COLUMNS)
    return (f"INSERT INTO vbtr_runs ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            "ON CONFLICT (run_id) DO NOTHING RETURNING run_id")


def bump(cur: tp.Any, table: str, run_id: str, before: tp.Sequence[tp.Tuple[str, tp.Tuple[tp.Any, ...]]] = ()) -> None:
    """Take the next change number and stamp the row of `run_id` in `table` with it, and commit: the last step of
    every writing transaction. The counter's row lock is held until the commit, so the numbers are handed out
    in commit order; the statement and the commit go to the server together (a pipeline), so that a writer
    holds the lock for one round trip, however busy its machine. Statements `before` (whose results nobody
    reads) go in the same pipeline, ahead of it."""
    conn = cur.connection
    with conn.pipeline():
        for sql, params in before:
            cur.execute(sql, params)
        cur.execute(f"WITH c AS (UPDATE vbtr_counter SET value = value + 1 WHERE id = 1 RETURNING value) "
                    f"UPDATE {table} SET seq = c.value FROM c WHERE run_id = %s", (run_id,))
        conn.commit()


def live_identity(cur: tp.Any, identity: str) -> tp.Optional[str]:
    """The oldest live run with this identity, or None."""
    cur.execute("SELECT run_id FROM vbtr_runs WHERE identity = %s AND NOT deleted ORDER BY run_id LIMIT 1",
                (identity,))
    found = cur.fetchone()
    return None if found is None else found[0]


class Connections:
    """A small pool of connections to one database: idle ones are reused (after a ping when they have been idle
    for a while, so that a restarted server is noticed before a transaction starts), broken ones dropped. A
    pool belongs to the process that made it: a forked child opens its own."""

    PING_AFTER = 1.0

    def __init__(self, url: str, size: int, connect_timeout: float) -> None:
        self.url, self.size, self.connect_timeout = url, size, connect_timeout
        self._idle: tp.List[tp.Tuple[tp.Any, float]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _connect(self) -> tp.Any:
        import psycopg

        return psycopg.connect(self.url, connect_timeout=max(1, int(self.connect_timeout)),
                               application_name="vectorbt-registry")

    @contextlib.contextmanager
    def connection(self) -> tp.Iterator[tp.Any]:
        import psycopg

        conn = None
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's sockets are not ours
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                candidate, since = self._idle.pop()
                if candidate.closed or candidate.broken:
                    continue
                if time.monotonic() - since > self.PING_AFTER:
                    try:
                        candidate.execute("SELECT 1")
                        candidate.rollback()
                    except psycopg.OperationalError:
                        candidate.close()
                        continue
                conn = candidate
                break
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            if conn.closed or conn.broken:
                conn.close()
            else:
                with self._lock:
                    if len(self._idle) < self.size and self._pid == os.getpid():
                        self._idle.append((conn, time.monotonic()))
                        conn = None
                if conn is not None:
                    conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        if self._pid == os.getpid():
            for conn, _ in idle:
                conn.close()
