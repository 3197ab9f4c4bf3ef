"""`PostgresStore`: a registry in a PostgreSQL database, shared by a team and by the workers of a sweep.

```python
from vectorbt.portfolio.registry import RunRegistry

reg = RunRegistry("postgresql://alice@db.example:5432/runs")            # portfolios in the database
reg = RunRegistry(PostgresStore("postgresql://alice@db.example/runs",
                                artifacts="s3://team-bucket/registry"))  # portfolios in object storage
```

Needs psycopg 3 (and fsspec, s3fs for object storage): the `team` extra. Nothing of them is imported before a
store is opened.

## Tables

The schema is created on first use (under an advisory lock, so several clients may open a new database at
once) and versioned in `vbtr_info` (`STORE_SCHEMA_VERSION`; a newer one is refused with `SchemaVersionError`).

- `vbtr_runs`, one row per run (live or in the trash): the record (`meta`, `metrics`, as a `FileStore` keeps
  them), its summary row (`summary`) and, for queries, the summary's fields as columns: `name`, `created_at`,
  `tags` (`text[]`), ..., `params` (`jsonb`), one `double precision` column per metric (`m_<metric>`); `seq`,
  the change that last touched it.
- `vbtr_parts`, one row per part of a run: `size`, `sha256` and either the bytes (`data`) or the key of an
  object (`object`).
- `vbtr_objects`, one row per object in object storage: an object is removed only under the lock of its row,
  when no part refers to it.
- `vbtr_purged`, one row per purged run: the change that removed it.
- `vbtr_counter`, one row: the number of the last change.
- `vbtr_snapshots`: the summary table of all runs as of a change, column-wise
  (`vectorbt.portfolio.registry.index.snapshot_bytes`), so that a fresh client of 100,000 runs reads one value and
  the changes since, not 100,000 rows. Derived: any writable client writes a new one when many changes piled up
  since the last (`SNAPSHOT_EVERY`).

## The change sequence

Every writing transaction ends by incrementing the one-row counter and stamping what it changed with the new
value. The row lock on the counter is held until commit, so the numbers are handed out in commit order: when a
client has seen change `n`, every change numbered below `n` is visible to it too. (A `bigserial` column would
number changes in the order they began; a transaction that began earlier but commits later would then be
skipped by a client that already moved past its number.) Each client keeps the summary table in memory
(`vectorbt.portfolio.registry.index.SummaryIndex`) and asks, on each call, only for the runs changed and the
runs purged since the last change it saw: one query, usually returning nothing.

## Writing

Writers retry serialization failures and deadlocks with a bounded, jittered backoff (`RETRIES`). A run is one
transaction: visible completely or not at all. In object-storage mode the transaction locks the row of the
portfolio's object (named by its sha256, `vectorbt.portfolio.registry.stores.artifacts`), uploads it unless it
is there already (another run shares it), and only then commits the run. An upload whose writer died before
the commit leaves an object that no row knows: `check` reports it as a leftover, `repair` removes it once it is
older than `LEFTOVER_GRACE_SECONDS`. A purge removes objects that
no other run shares, after its commit, each under its row's lock (a purge cut short leaves the row marked,
which `check` reports and `repair` finishes).

A lost connection or a server restart raises `ConnectionError` (an `OSError`) naming the store with its password
hidden; the transaction is rolled back by the server, and the next call connects again.

`create(record, parts, unique_identity=True)` refuses, atomically across clients, a run whose identity equals a
live run's (`DuplicateRunError` naming it): an advisory lock on the identity serializes such creations, and a
partial unique index on the identities of the runs created so stands behind it.
"""

import contextlib
import hashlib
import json
import os
import random
import re
import sys
import threading
import time
import warnings
from datetime import datetime, timezone

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    IntegrityError,
    NotARegistryError,
    ReadOnlyError,
    RegistryError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.index import SummaryIndex, read_snapshot, snapshot_bytes
from vectorbt.portfolio.registry.run import PART_FILES, RunRecord, check_run_id, is_run_id, summary_row
from vectorbt.portfolio.registry.spec import CONFIGS, METRIC_NAMES, PARTS, PORTFOLIO
from vectorbt.portfolio.registry.stores.base import LIVE_DETAIL, Problem, RunStore, same_identity_error
from vectorbt.portfolio.registry.stores.location import redact
from vectorbt.portfolio.registry.stores.postgres_sql import set_metric_columns

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query

__all__ = ["PostgresStore", "STORE_SCHEMA_VERSION", "RETRIES", "LEFTOVER_GRACE_SECONDS"]

STORE_SCHEMA_VERSION = 1
"""Version of the tables; a client refuses a database whose `vbtr_info` says more."""

RETRIES = 8
"""How many times a transaction that failed on a serialization failure or a deadlock is tried again."""

BACKOFF = (0.005, 0.5)
"""First and longest wait between tries, in seconds (doubling, with jitter)."""

LEFTOVER_GRACE_SECONDS = 3600.0
"""`repair` removes unreferenced objects older than this; younger ones may belong to a writer at work."""

ARTIFACT_ROLES = (PORTFOLIO,)
"""Parts that go to object storage when the store has one (`configs`, which `best` ranks, stays in the
database)."""

SNAPSHOT_EVERY = (1_000, 0.1)
"""A writable client saves a new snapshot of the summary table once it applied at least this many changes
beyond the last snapshot and at least this fraction of the runs (so that saving costs O(1) per change)."""

REBASE_ROWS = 1_000
"""A client that read more rows than this in one call folds them into its columnar base (`SummaryIndex`), so
that the table is not rebuilt from that many rows after each later change."""

PREFETCH = 64
"""How many runs' `configs` parts one query fetches when `best` reads them run by run."""

_PREFETCH_SECONDS = 2.0
_SCHEMA_LOCK = 0x76627472_0001
"""Advisory lock key under which the schema is created."""

_IDENT = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
METRIC_COLUMNS = {m: f"m_{m}" for m in METRIC_NAMES}
"""The column of `vbtr_runs` that holds each metric of the run's summary row."""
assert all(_IDENT.match(c) for c in METRIC_COLUMNS.values())
set_metric_columns(METRIC_COLUMNS)

_TEXT_COLUMNS = ("name", "notes", "status", "parent", "identity")

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


def _sql_text(value: tp.Optional[str]) -> tp.Optional[str]:
    """Text for a query column: PostgreSQL text cannot hold NUL (the exact value is in `summary`)."""
    return None if value is None else value.replace("\x00", "\ufffd")


def _row_values(record: RunRecord) -> tp.Dict[str, tp.Any]:
    """The values of `_ROW_COLUMNS` for a record (raises on data the summary row refuses, before any write)."""
    from psycopg.types.json import Jsonb

    row = summary_row(record)
    metrics = codec.decode(row["metrics"])
    params = json.dumps(row["params"], ensure_ascii=True).replace("\\u0000", "\\ufffd")
    values = {
        "deleted": record.deleted_at is not None,
        "meta": record.meta_bytes(),
        "summary": codec.dumps(row),
        "name": _sql_text(record.name),
        "created_at": record.created_at,
        "deleted_at": record.deleted_at,
        "tags": [_sql_text(t) for t in record.tags],
        "notes": _sql_text(record.notes),
        "status": _sql_text(record.status),
        "parent": _sql_text(record.parent),
        "n_columns": record.n_columns,
        "identity": _sql_text(record.identity),
        "params": Jsonb(json.loads(params)),
    }
    values.update({column: float(metrics.get(m, float("nan"))) for m, column in METRIC_COLUMNS.items()})
    return values


class _Connections:
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


class PostgresStore(RunStore):
    """A registry in a PostgreSQL database (see the module docstring for its tables and guarantees).

    Args:
        url (str): `postgresql://user[:password]@host[:port]/database` (libpq's URL; `postgres://` too). The
            password is never shown: `repr`, errors and logs name the URL with `***` in its place.
        read_only (bool): Refuse every write with `ReadOnlyError`; a database role that may only read works
            so. A writable store whose role lacks the privilege to write opens read-only by itself, with a
            `UserWarning` saying so.
        artifacts (str): An fsspec URL (`s3://bucket/prefix`, `file:///shared/prefix`, ...) where portfolios go
            instead of into the database. Clients that open the store without it use the URL the first writer
            recorded (when it holds no password), with default options.
        artifacts_options (dict): Options of that file system (credentials, `client_kwargs`, ...); never shown.
        pool_size (int): Most idle connections kept for reuse.
        connect_timeout (float): Seconds to wait for the server when connecting.

    Raises `ConnectionError` when the server cannot be reached, `NotARegistryError` when a read-only store
    finds no registry in the database, `SchemaVersionError` for tables of a newer version.
    """

    def __init__(self, url: str, read_only: bool = False, artifacts: tp.Optional[str] = None,
                 artifacts_options: tp.Optional[tp.Dict[str, tp.Any]] = None, pool_size: int = 4,
                 connect_timeout: float = 10.0) -> None:
        import psycopg  # noqa: F401 - ImportError here names the missing extra (see stores.location)

        if not isinstance(url, str) or not url.split("://", 1)[0].lower() in ("postgresql", "postgres"):
            raise ValueError(f"url: expected a postgresql:// URL, got {redact(url)!r}")
        self.url = url
        self.read_only = bool(read_only)
        self._conns = _Connections(url, pool_size, connect_timeout)
        self._lock = threading.RLock()
        self._index = SummaryIndex()
        self._seq = 0
        self._unsaved = 0  # changes applied beyond the newest snapshot
        self._loaded = False  # whether the summary table was read (then kept up to date)
        self._prefetched: tp.Dict[str, tp.Tuple[bytes, float]] = {}
        self._artifacts_url = artifacts
        self._artifacts_options = dict(artifacts_options or {})
        self._artifacts: tp.Any = None
        if artifacts is not None:
            from vectorbt.portfolio.registry.stores.artifacts import ArtifactStore

            self._artifacts = ArtifactStore(artifacts, self._artifacts_options)
        self._open()

    def __repr__(self) -> str:
        extra = f", artifacts={redact(self._artifacts_url)!r}" if self._artifacts_url else ""
        return f"PostgresStore({redact(self.url)!r}{extra}{', read_only=True' if self.read_only else ''})"

    def close(self) -> None:
        """Close the idle connections (the store stays usable: it connects again when asked)."""
        self._conns.close()

    def __del__(self, _finalizing: tp.Callable[[], bool] = sys.is_finalizing) -> None:
        conns = getattr(self, "_conns", None)
        if conns is not None and not _finalizing():  # at exit, the process's sockets close anyway
            conns.close()

    # ############# Transactions ############# #

    def _error(self, what: str, e: BaseException) -> ConnectionError:
        text = redact(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
        return ConnectionError(f"{self!r}: {what}: lost the connection to the server ({type(e).__name__}: "
                               f"{text}); the server rolled the transaction back, or, if the connection broke at "
                               "its commit, the change is there completely. The next call connects again.")

    def _run(self, what: str, work: tp.Callable[[tp.Any], tp.Any], write: bool = True) -> tp.Any:
        """`work(cursor)` in one transaction, tried again (at most `RETRIES` times, with a growing, jittered wait)
        after a serialization failure or a deadlock. Connection failures raise `ConnectionError`."""
        import psycopg
        from psycopg import errors
        from psycopg.pq import TransactionStatus

        delay = BACKOFF[0]
        for attempt in range(RETRIES + 1):
            try:
                with self._conns.connection() as conn:
                    try:
                        with conn.cursor() as cur:
                            result = work(cur)
                        if conn.info.transaction_status != TransactionStatus.IDLE:  # `_bump` commits itself
                            conn.commit()
                        return result
                    except BaseException:
                        if not conn.closed and not conn.broken:
                            conn.rollback()
                        raise
            except (errors.SerializationFailure, errors.DeadlockDetected):
                if attempt == RETRIES:
                    raise
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, BACKOFF[1])
            except errors.InsufficientPrivilege as e:
                if not write:
                    raise
                raise ReadOnlyError(f"{self!r} is read-only for this database role: could not {what} "
                                    f"({redact(str(e).strip())})") from e
            except psycopg.OperationalError as e:
                raise self._error(what, e) from e
            except psycopg.InterfaceError as e:
                raise self._error(what, e) from e
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _bump(cur: tp.Any, table: str, run_id: str,
              before: tp.Sequence[tp.Tuple[str, tp.Tuple[tp.Any, ...]]] = ()) -> None:
        """Take the next change number and stamp the row of `run_id` in `table` with it, and commit: the last
        step of every writing transaction. The counter's row lock is held until the commit, so the numbers are
        handed out in commit order; the statement and the commit go to the server together (a pipeline), so
        that a writer holds the lock for one round trip, however busy its machine. Statements `before` (whose
        results nobody reads) go in the same pipeline, ahead of it."""
        conn = cur.connection
        with conn.pipeline():
            for sql, params in before:
                cur.execute(sql, params)
            cur.execute(f"WITH c AS (UPDATE vbtr_counter SET value = value + 1 WHERE id = 1 RETURNING value) "
                        f"UPDATE {table} SET seq = c.value FROM c WHERE run_id = %s", (run_id,))
            conn.commit()

    # ############# Opening ############# #

    def _open(self) -> None:
        def work(cur: tp.Any) -> tp.Tuple[tp.Optional[str], tp.Optional[str], bool]:
            # pg_class read with a fresh snapshot (to_regclass may answer from a stale catalog cache)
            exists = ("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'vbtr_info' "
                      "AND relnamespace = current_schema()::regnamespace)")
            cur.execute(exists)
            if not cur.fetchone()[0]:
                if self.read_only:
                    raise NotARegistryError(f"{self!r}: no registry in this database to open read-only")
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
            if not self.read_only:
                cur.execute("SELECT has_table_privilege('vbtr_runs', 'INSERT') AND "
                            "has_table_privilege('vbtr_counter', 'UPDATE')")
                writable = bool(cur.fetchone()[0])
            return info.get("schema_version"), info.get("artifacts"), writable

        version, artifacts, writable = self._run("open the registry", work, write=False)
        if not (isinstance(version, str) and version.isdigit()) or int(version) > STORE_SCHEMA_VERSION:
            raise SchemaVersionError(f"{self!r}: registry tables of schema_version {version!r}; this version of "
                                     f"vectorbt-registry reads up to {STORE_SCHEMA_VERSION}: upgrade the package")
        if not self.read_only and not writable:
            self.read_only = True
            self.read_only_reason = "opened read-only because this database role may not write the registry's tables"
            warnings.warn(f"{self!r}: {self.read_only_reason}; pass read_only=True to open it read-only without "
                          "this warning", UserWarning, stacklevel=3)
        if self._artifacts_url is not None and artifacts is None and not self.read_only:
            public = redact(self._artifacts_url)
            if public == self._artifacts_url:
                self._run("record the object storage", lambda cur: cur.execute(
                    "INSERT INTO vbtr_info VALUES ('artifacts', %s) ON CONFLICT (key) DO NOTHING", (public,)))
        elif self._artifacts_url is None and artifacts is not None:
            self._artifacts_url = artifacts  # opened lazily, when a part in object storage is read

    def _objects(self) -> tp.Any:
        """The object storage, opened on first use from the URL the registry recorded if none was given."""
        if self._artifacts is None:
            if self._artifacts_url is None:
                return None
            from vectorbt.portfolio.registry.stores.artifacts import ArtifactStore

            self._artifacts = ArtifactStore(self._artifacts_url, self._artifacts_options)
        return self._artifacts

    # ############# Writing ############# #

    def _insert_sql(self) -> str:
        columns = ("run_id", "exclusive", "seq", "metrics", *_ROW_COLUMNS)
        return (f"INSERT INTO vbtr_runs ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
                "ON CONFLICT (run_id) DO NOTHING RETURNING run_id")

    def _lock_object(self, cur: tp.Any, key: str, data: bytes) -> None:
        """Take the row lock of object `key` (creating its row), then make sure the object holds `data`, uploading
        it unless it is there (a purge that removed it before we got the lock has committed by now). The upload
        happens before the run's row commits; if the writer dies first, the object is a leftover."""
        cur.execute("INSERT INTO vbtr_objects (key, size) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET doomed = false RETURNING key", (key, len(data)))
        self._objects().ensure(key, data)

    def _stage(self, parts: tp.Mapping[str, bytes]) -> tp.Dict[str, tp.Tuple[bytes, tp.Optional[str]]]:
        """`role -> (bytes, object key or None)`: which parts go to object storage, and under which names."""
        from vectorbt.portfolio.registry.stores.artifacts import object_key

        to_objects = self._artifacts_url is not None
        return {role: (bytes(data), object_key(data) if to_objects and role in ARTIFACT_ROLES else None)
                for role, data in parts.items()}

    def _insert_parts(self, cur: tp.Any, run_id: str, stored: tp.Dict[str, tp.Tuple[bytes, tp.Optional[str]]]
                      ) -> tp.List[tp.Tuple[str, tp.Tuple[tp.Any, ...]]]:
        """Lock and upload the objects of `stored` (in one order for every writer); return the statements that
        insert its parts, for `_bump` to send."""
        statements = []
        for role in sorted(stored):
            data, key = stored[role]
            if key is not None:
                self._lock_object(cur, key, data)
            statements.append(("INSERT INTO vbtr_parts (run_id, role, size, sha256, data, object) "
                               "VALUES (%s, %s, %s, %s, %s, %s)",
                               (run_id, role, len(data), hashlib.sha256(data).hexdigest(),
                                data if key is None else None, key)))
        return statements

    @staticmethod
    def _doom_unshared(cur: tp.Any, keys: tp.Sequence[str]) -> tp.List[str]:
        """Mark the objects of `keys` that no part refers to any more; they are removed after the commit."""
        doomed = []
        for key in sorted(keys):
            cur.execute("UPDATE vbtr_objects o SET doomed = true WHERE key = %s AND NOT EXISTS "
                        "(SELECT 1 FROM vbtr_parts p WHERE p.object = o.key) RETURNING key", (key,))
            doomed += [k for (k,) in cur.fetchall()]
        return doomed

    def create(self, record: RunRecord, parts: tp.Mapping[str, bytes], unique_identity: bool = False) -> None:
        """See `RunStore.create`. With `unique_identity`, refuse the run (`DuplicateRunError` naming the existing
        run's id as `existing_run_id`) when a live run has the same `record.identity`, atomically across all
        clients of the database."""
        from psycopg import errors

        self.check_writable()
        run_id = check_run_id(record.run_id)
        record.check_parts(parts)
        values = _row_values(record)  # fails on bad data before anything is written
        metrics = record.metrics_bytes()
        stored = self._stage(parts)
        sql = self._insert_sql()

        def work(cur: tp.Any) -> None:
            if unique_identity:
                cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (record.identity,))
                existing = self._live_identity(cur, values["identity"])
                if existing is not None:
                    raise same_identity_error(existing)
            cur.execute(sql, (run_id, bool(unique_identity), 0, metrics, *values.values()))
            if cur.fetchone() is None:
                raise DuplicateRunError(f"run_id {run_id!r} exists already", run_id)
            inserts = self._insert_parts(cur, run_id, stored)
            self._bump(cur, "vbtr_runs", run_id, [*inserts, ("DELETE FROM vbtr_purged WHERE run_id = %s", (run_id,))])

        try:
            self._run("write a new run", work)
        except errors.UniqueViolation as e:  # two exclusive creations: the advisory lock makes this rare
            existing = self._run("look up a run", lambda cur: self._live_identity(cur, values["identity"]),
                                 write=False)
            raise same_identity_error(existing or run_id) from e

    @staticmethod
    def _live_identity(cur: tp.Any, identity: str) -> tp.Optional[str]:
        cur.execute("SELECT run_id FROM vbtr_runs WHERE identity = %s AND NOT deleted ORDER BY run_id LIMIT 1",
                    (identity,))
        found = cur.fetchone()
        return None if found is None else found[0]

    def _locked(self, cur: tp.Any, run_id: str, deleted: bool) -> RunRecord:
        """The record of a run, its row locked until commit; `RunNotFoundError` unless it is live (or, with
        `deleted`, in the trash)."""
        cur.execute("SELECT meta, metrics, deleted FROM vbtr_runs WHERE run_id = %s FOR UPDATE", (run_id,),
                    binary=True)
        found = cur.fetchone()
        if found is None or found[2] != deleted:
            self._not_found(run_id, deleted, None if found is None else found[2])
        return RunRecord.from_bytes(run_id, bytes(found[0]), bytes(found[1]))

    @staticmethod
    def _not_found(run_id: str, deleted: bool, is_deleted: tp.Optional[bool]) -> tp.NoReturn:
        if deleted:
            raise RunNotFoundError(run_id, LIVE_DETAIL if is_deleted is False else "", where="the trash")
        raise RunNotFoundError(run_id, "it is in the trash" if is_deleted else "")

    def _write(self, cur: tp.Any, record: RunRecord, bump: bool = True) -> None:
        values = _row_values(record)
        sets = ", ".join(f"{c} = %s" for c in values)
        cur.execute(f"UPDATE vbtr_runs SET {sets} WHERE run_id = %s", (*values.values(), record.run_id))
        if bump:
            self._bump(cur, "vbtr_runs", record.run_id)

    def update(self, run_id: str, change: tp.Callable[[RunRecord], RunRecord]) -> RunRecord:
        self.check_writable()
        check_run_id(run_id)

        def work(cur: tp.Any) -> RunRecord:
            current = self._locked(cur, run_id, deleted=False)
            new = change(current.copy())
            if new.run_id != run_id:
                raise ValueError(f"run_id: an update cannot change it ({run_id!r} -> {new.run_id!r})")
            new = new.copy(metrics=current.metrics, parts=current.parts)  # metrics and parts stay as they are
            self._write(cur, new)
            return new.copy()

        return self._run("change the run", work)

    def trash(self, run_id: str, deleted_at: datetime) -> RunRecord:
        self.check_writable()
        check_run_id(run_id)

        def work(cur: tp.Any) -> RunRecord:
            record = self._locked(cur, run_id, deleted=False)
            record.deleted_at = deleted_at
            self._write(cur, record)
            return record

        return self._run("move the run to the trash", work)

    def restore(self, run_id: str) -> RunRecord:
        self.check_writable()
        check_run_id(run_id)

        def work(cur: tp.Any) -> RunRecord:
            record = self._locked(cur, run_id, deleted=True)
            record.deleted_at = None
            # a run created with a unique identity gives that up if another live run has taken the identity
            cur.execute("UPDATE vbtr_runs r SET exclusive = false WHERE run_id = %s AND exclusive AND EXISTS "
                        "(SELECT 1 FROM vbtr_runs o WHERE o.identity = r.identity AND NOT o.deleted "
                        "AND o.exclusive AND o.run_id <> r.run_id)", (run_id,))
            self._write(cur, record)
            return record

        return self._run("restore the run", work)

    def rewrite(self, run_id: str, build: tp.Callable[[RunRecord], tp.Tuple[RunRecord, tp.Mapping[str, bytes]]],
                deleted: bool = False) -> RunRecord:
        """See `RunStore.rewrite`: record, metrics and parts replaced in one transaction, the run's row locked
        while `build` runs (which may read the run's parts: reads do not wait for that lock)."""
        self.check_writable()
        check_run_id(run_id)

        def work(cur: tp.Any) -> tp.Tuple[RunRecord, tp.List[str]]:
            current = self._locked(cur, run_id, deleted=deleted)
            record, parts = build(current.copy())
            if record.run_id != run_id:
                raise ValueError(f"run_id: a rewrite cannot change it ({run_id!r} -> {record.run_id!r})")
            record.check_parts(parts)
            record = record.copy(deleted_at=current.deleted_at) if deleted else record.copy(deleted_at=None)
            values = _row_values(record)
            stored = self._stage(parts)
            cur.execute("SELECT object FROM vbtr_parts WHERE run_id = %s AND object IS NOT NULL", (run_id,))
            old = [k for (k,) in cur.fetchall()]
            cur.execute("DELETE FROM vbtr_parts WHERE run_id = %s", (run_id,))
            for sql, params in self._insert_parts(cur, run_id, stored):
                cur.execute(sql, params)
            sets = ", ".join(f"{c} = %s" for c in values)
            cur.execute(f"UPDATE vbtr_runs SET metrics = %s, {sets} WHERE run_id = %s",
                        (record.metrics_bytes(), *values.values(), run_id))
            doomed = self._doom_unshared(cur, old)
            self._bump(cur, "vbtr_runs", run_id)
            return record.copy(), doomed

        record, doomed = self._run("rewrite the run", work)
        for key in doomed:
            self._release(key)
        return record

    def purge(self, run_id: str) -> None:
        self.check_writable()
        check_run_id(run_id)

        def work(cur: tp.Any) -> tp.List[str]:
            self._locked(cur, run_id, deleted=True)
            cur.execute("SELECT object FROM vbtr_parts WHERE run_id = %s AND object IS NOT NULL ORDER BY object",
                        (run_id,))
            keys = [k for (k,) in cur.fetchall()]
            cur.execute("DELETE FROM vbtr_runs WHERE run_id = %s", (run_id,))
            doomed = self._doom_unshared(cur, keys)
            cur.execute("INSERT INTO vbtr_purged (run_id, seq) VALUES (%s, 0) ON CONFLICT (run_id) DO NOTHING",
                        (run_id,))
            self._bump(cur, "vbtr_purged", run_id)
            return doomed

        for key in self._run("purge the run", work):
            self._release(key)

    def _release(self, key: str, orphan: bool = False) -> bool:
        """Remove object `key` if no part refers to it, under its row's lock (a writer that wants it waits, and
        writes it again); with `orphan`, an object that has no row at all. Whether it was removed."""

        def work(cur: tp.Any) -> bool:
            if orphan:
                cur.execute("INSERT INTO vbtr_objects (key, size, doomed) VALUES (%s, 0, true) "
                            "ON CONFLICT (key) DO NOTHING RETURNING key", (key,))
            else:
                cur.execute("SELECT key FROM vbtr_objects WHERE key = %s AND doomed FOR UPDATE", (key,))
            if cur.fetchone() is None:
                return False
            cur.execute("SELECT 1 FROM vbtr_parts WHERE object = %s LIMIT 1", (key,))
            if cur.fetchone() is not None:
                cur.execute("UPDATE vbtr_objects SET doomed = false WHERE key = %s", (key,))
                return False
            self._objects().remove(key)
            cur.execute("DELETE FROM vbtr_objects WHERE key = %s", (key,))
            return True

        return self._run("remove an object", work)

    # ############# Reading ############# #

    def read(self, run_id: str, deleted: bool = False) -> RunRecord:
        check_run_id(run_id)

        def work(cur: tp.Any) -> tp.Any:
            cur.execute("SELECT meta, metrics, deleted FROM vbtr_runs WHERE run_id = %s", (run_id,), binary=True)
            return cur.fetchone()

        found = self._run("read a run", work, write=False)
        if found is None or found[2] != deleted:
            self._not_found(run_id, deleted, None if found is None else found[2])
        return RunRecord.from_bytes(run_id, bytes(found[0]), bytes(found[1]))

    def read_part(self, run_id: str, role: str, deleted: bool = False) -> bytes:
        if role not in PARTS:
            raise ValueError(f"role: {role!r} is not a part of a run; parts are {', '.join(PARTS)}")
        check_run_id(run_id)
        if role == CONFIGS and not deleted:
            with self._lock:
                cached = self._prefetched.pop(run_id, None)
            if cached is not None and time.monotonic() - cached[1] < _PREFETCH_SECONDS:
                return cached[0]

        def work(cur: tp.Any) -> tp.Any:
            cur.execute("SELECT r.deleted, p.data, p.object, p.role IS NOT NULL FROM vbtr_runs r LEFT JOIN "
                        "vbtr_parts p ON p.run_id = r.run_id AND p.role = %s WHERE r.run_id = %s", (role, run_id),
                        binary=True)
            found = cur.fetchone()
            if role == CONFIGS and not deleted and found is not None and not found[0]:
                self._prefetch(cur, run_id)
            return found

        found = self._run("read a part", work, write=False)
        if found is None or found[0] != deleted:
            self._not_found(run_id, deleted, None if found is None else found[0])
        if not found[3]:
            raise IntegrityError(run_id, PART_FILES[role], f"run {run_id!r} has no {role} part")
        if found[1] is not None:
            return bytes(found[1])
        objects = self._objects()
        if objects is None:
            raise IntegrityError(run_id, PART_FILES[role], f"the part is the object {found[2]} of an object "
                                 "storage this store was not opened with: pass artifacts=...")
        try:
            return objects.get(found[2])
        except FileNotFoundError as e:
            raise IntegrityError(run_id, PART_FILES[role], f"object {found[2]} is missing from "
                                 f"{redact(self._artifacts_url)}") from e

    def _prefetch(self, cur: tp.Any, run_id: str) -> None:
        """Keep the `configs` parts of the next live runs for a moment: `best` reads them run by run, in order."""
        cur.execute("SELECT p.run_id, p.data FROM vbtr_parts p JOIN vbtr_runs r ON r.run_id = p.run_id "
                    "WHERE p.role = %s AND NOT r.deleted AND p.run_id > %s AND p.data IS NOT NULL "
                    "ORDER BY p.run_id LIMIT %s", (CONFIGS, run_id, PREFETCH), binary=True)
        now = time.monotonic()
        fetched = {r: (bytes(d), now) for r, d in cur.fetchall()}
        with self._lock:
            self._prefetched = {k: v for k, v in self._prefetched.items() if now - v[1] < _PREFETCH_SECONDS}
            self._prefetched.update(fetched)

    def _refresh(self) -> None:
        """Bring the summary table up to date: the runs changed and purged since the last change seen (a fresh
        client starts from the newest snapshot)."""
        fresh = self._seq == 0

        def work(cur: tp.Any) -> tp.Tuple[tp.Any, tp.List[tp.Any]]:
            snapshot = None
            if fresh:
                cur.execute("SELECT seq, data FROM vbtr_snapshots ORDER BY seq DESC LIMIT 1", binary=True)
                snapshot = cur.fetchone()
            since = self._seq if snapshot is None else snapshot[0]
            cur.execute("SELECT seq, run_id, summary FROM vbtr_runs WHERE seq > %s UNION ALL "
                        "SELECT seq, run_id, NULL FROM vbtr_purged WHERE seq > %s ORDER BY 1", (since, since),
                        binary=True)
            return snapshot, cur.fetchall()

        with self._lock:
            snapshot, changes = self._run("read the summary table", work, write=False)
            if snapshot is not None:
                try:
                    columns, _ = read_snapshot(bytes(snapshot[1]))
                except (ValueError, KeyError, OSError) as e:  # damaged derived data: the rows still tell
                    warnings.warn(f"{self!r}: summary snapshot {snapshot[0]} unreadable ({e}); reading every row",
                                  UserWarning, stacklevel=4)
                    self._index = SummaryIndex()
                    return self._refresh_from(0)
                self._index, self._seq, self._unsaved = SummaryIndex(columns), snapshot[0], 0
            self._apply(changes)
            self._loaded = True
            if not self._maybe_snapshot() and len(changes) > REBASE_ROWS:
                self._index = SummaryIndex(self._index.to_columns())

    def _refresh_from(self, seq: int) -> None:
        def work(cur: tp.Any) -> tp.List[tp.Any]:
            cur.execute("SELECT seq, run_id, summary FROM vbtr_runs WHERE seq > %s ORDER BY 1", (seq,))
            return cur.fetchall()

        self._seq = seq
        self._apply(self._run("read the summary table", work, write=False))

    def _apply(self, changes: tp.List[tp.Any]) -> None:
        for seq, run_id, summary in changes:
            if summary is None:
                self._index.remove(run_id)
            else:
                try:
                    self._index.put(codec.loads(bytes(summary)))
                except ValueError as e:
                    raise IntegrityError(run_id, "summary", f"unreadable ({e}); repair rebuilds it") from e
            self._seq = max(self._seq, seq)
        self._unsaved += len(changes)

    def _maybe_snapshot(self) -> bool:
        """Save the table as a snapshot when enough changes piled up since the last (writable clients only);
        whether it did."""
        least, fraction = SNAPSHOT_EVERY
        if self.read_only or self._unsaved < max(least, fraction * len(self._index)):
            return False
        columns = self._index.to_columns()
        self._index = SummaryIndex(columns)  # columnar again: the next change rebuilds little
        data, seq = snapshot_bytes(columns, []), self._seq

        def work(cur: tp.Any) -> None:
            cur.execute("INSERT INTO vbtr_snapshots (seq, data) VALUES (%s, %s) ON CONFLICT (seq) DO NOTHING",
                        (seq, data))
            cur.execute("DELETE FROM vbtr_snapshots WHERE seq < %s", (seq,))

        self._run("save a snapshot of the summary table", work)
        self._unsaved = 0
        return True

    def table(self, deleted: bool = False) -> pd.DataFrame:
        with self._lock:
            self._refresh()
            return self._index.table(deleted)

    def select(self, where: tp.Optional["Query"] = None, deleted: bool = False) -> pd.DataFrame:
        """The rows of `table(deleted)` that `where` keeps. A client that holds the table (it listed before)
        filters it in memory; a fresh one lets the database narrow the rows first, with what of `where`
        translates to SQL (`vectorbt.portfolio.registry.stores.postgres_sql`), fetches only those, and
        evaluates the whole query over them in pandas. The rows are those `FileStore` selects; parameter
        columns that none of them has are all-NaN object columns."""
        if where is None:
            return self.table(deleted)
        with self._lock:
            if self._loaded:
                return super().select(where, deleted)
        return self._select_fresh(where, deleted)

    def _select_fresh(self, where: "Query", deleted: bool) -> pd.DataFrame:
        from vectorbt.portfolio.registry.index import FRAME_FIELDS, RUN_FIELD_SET, rows_to_frame
        from vectorbt.portfolio.registry.stores.postgres_sql import translate

        condition = translate(where.root)

        def work(cur: tp.Any) -> tp.Tuple[tp.List[str], tp.List[tp.Any]]:
            cur.execute("SELECT DISTINCT jsonb_object_keys(params) FROM vbtr_runs")
            names = sorted(k for (k,) in cur.fetchall())
            sql = "SELECT summary FROM vbtr_runs WHERE deleted = %s"
            params: tp.Tuple[tp.Any, ...] = (deleted,)
            if condition is not None:
                sql, params = f"{sql} AND ({condition.sql})", params + condition.params
            cur.execute(sql + " ORDER BY run_id", params)
            return names, cur.fetchall()

        names, rows = self._run("select runs", work, write=False)
        frame = rows_to_frame([codec.loads(bytes(summary)) for (summary,) in rows])
        params = [n for n in names if n not in RUN_FIELD_SET and n not in METRIC_NAMES]
        for name in params:
            if name not in frame.columns:
                frame[name] = pd.Series(float("nan"), index=frame.index, dtype=object)
        frame = frame[[*frame.columns[:FRAME_FIELDS], *params, *METRIC_NAMES]]
        return where.apply(frame)

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return self._index.live_count()

    def __contains__(self, run_id: object) -> bool:
        if not is_run_id(run_id):
            return False
        with self._lock:
            self._refresh()
            return run_id in self._index and not self._index.is_deleted(run_id)

    @property
    def last_change(self) -> int:
        """The number of the last change this client has seen (see "The change sequence")."""
        return self._seq

    # ############# Maintenance ############# #

    def rebuild_index(self) -> int:
        """Recompute every run's summary row and query columns from its record; return the number of runs."""
        self.check_writable()

        def work(cur: tp.Any) -> int:
            cur.execute("DELETE FROM vbtr_snapshots")
            cur.execute("SELECT run_id FROM vbtr_runs ORDER BY run_id FOR UPDATE")
            ids = [r for (r,) in cur.fetchall()]
            for run_id in ids:
                cur.execute("SELECT meta, metrics FROM vbtr_runs WHERE run_id = %s", (run_id,))
                meta, metrics = cur.fetchone()
                self._write(cur, RunRecord.from_bytes(run_id, bytes(meta), bytes(metrics)), bump=False)
            # one change for all: every client reads every row again
            cur.execute("WITH c AS (UPDATE vbtr_counter SET value = value + 1 WHERE id = 1 RETURNING value) "
                        "UPDATE vbtr_runs SET seq = c.value FROM c")
            return len(ids)

        count = self._run("rebuild the index", work)
        with self._lock:
            self._index, self._seq, self._unsaved, self._loaded = SummaryIndex(), 0, 0, False
        return count

    def check(self) -> tp.List[Problem]:
        def work(cur: tp.Any) -> tp.Tuple[tp.List[tp.Any], tp.List[tp.Any], tp.Set[str]]:
            cur.execute("SELECT run_id, deleted, meta, metrics, summary FROM vbtr_runs ORDER BY run_id")
            runs = cur.fetchall()
            cur.execute("SELECT o.key, o.doomed, EXISTS (SELECT 1 FROM vbtr_parts p WHERE p.object = o.key), "
                        "extract(epoch FROM now() - o.created_at) FROM vbtr_objects o ORDER BY o.key")
            rows = cur.fetchall()
            return runs, rows, {k for k, *_ in rows}

        runs, object_rows, known = self._run("check the registry", work, write=False)
        problems = []
        for run_id, deleted, meta, metrics, summary in runs:
            try:
                record = RunRecord.from_bytes(run_id, bytes(meta), bytes(metrics))
            except (RegistryError, OSError) as e:
                problems.append(Problem("unreadable", run_id, f"vbtr_runs/{run_id}", f"{type(e).__name__}: {e}",
                                        repairable=False))
                continue
            try:
                mine = codec.loads(bytes(summary))
            except ValueError:
                mine = None
            if mine != summary_row(record) or (record.deleted_at is not None) != deleted:
                problems.append(Problem("index_drift", run_id, f"vbtr_runs/{run_id}",
                                        "summary row differs from the record"))
        for key, doomed, referenced, age in object_rows:
            if not referenced:
                problems.append(Problem("leftover", None, key, "object row that no part refers to (a purge cut "
                                        "short, or a write in progress)",
                                        repairable=doomed or age > LEFTOVER_GRACE_SECONDS))
        objects = self._objects()
        if objects is not None:
            for key, age in sorted(objects.list().items()):
                if key not in known:
                    problems.append(Problem(
                        "leftover", None, key,
                        f"object that no run refers to (its writer died before the run was stored), {age:.0f} s old"
                        + ("" if age > LEFTOVER_GRACE_SECONDS else " (may belong to a writer still at work)"),
                        repairable=age > LEFTOVER_GRACE_SECONDS))
        return problems

    def repair(self) -> tp.List[str]:
        self.check_writable()
        actions = []
        problems = self.check()
        for p in problems:
            if p.kind != "leftover" or not p.repairable:
                continue
            if p.detail.startswith("object row"):
                self._run("mark an object", lambda cur, key=p.path: cur.execute(
                    "UPDATE vbtr_objects o SET doomed = true WHERE key = %s AND NOT EXISTS "
                    "(SELECT 1 FROM vbtr_parts p WHERE p.object = o.key)", (key,)))
                if self._objects() is not None and self._release(p.path):
                    actions.append(f"removed unreferenced object {p.path}")
                elif self._objects() is None:
                    self._run("forget an object", lambda cur, key=p.path: cur.execute(
                        "DELETE FROM vbtr_objects o WHERE key = %s AND doomed AND NOT EXISTS "
                        "(SELECT 1 FROM vbtr_parts p WHERE p.object = o.key)", (key,)))
                    actions.append(f"forgot the row of unreferenced object {p.path}")
            elif self._release(p.path, orphan=True):
                actions.append(f"removed leftover object {p.path}")
        if any(p.kind == "index_drift" for p in problems):
            actions.append(f"rebuilt the summary rows from the records ({self.rebuild_index()} runs)")
        return actions
