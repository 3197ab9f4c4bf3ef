"""`PostgresStore`: a registry in a PostgreSQL database, shared by a team and by the workers of a sweep.

```python
from vectorbt.portfolio.registry import RunRegistry

reg = RunRegistry("postgresql://alice@db.example:5432/runs")            # portfolios in the database
reg = RunRegistry(PostgresStore("postgresql://alice@db.example/runs",
                                artifacts="s3://team-bucket/registry"))  # portfolios in object storage
```

Needs psycopg 3 (and fsspec, s3fs for object storage): the `team` extra. Nothing of them is imported before a
store is opened.

The store is split by role over the modules beside this one:

- `postgres_schema`: the tables (described there), their version, the values of a run's row, the pool of
  connections and the counter that numbers changes in commit order;
- `postgres_feed`: the change feed, the snapshots of the summary table, and the table each client keeps warm
  from them (`WarmTable`), with selections answered from it;
- `postgres_sql`: `where`, the run filters and the sort in SQL, and selections answered in SQL;
- `postgres_objects`: portfolios in object storage, and the objects that no run refers to.

## Reading

`table`, `len` and `in` bring the client's summary table up to date (one query for what changed since its last
call) and answer from it. `select` (what `RunRegistry.list` shows) answers from that table when the client holds
it, reading only the columns that the filters, the query and the sort name, and copying only the rows returned.
A client that has not read the table asks the server instead, which filters, sorts and cuts in SQL where the
query translates (`postgres_sql.fresh_select`); the client reads the table when SQL cannot narrow the rows
enough. `read_parts` fetches the parts of many runs in one query, streamed by a thread while the caller reads
them (`best` reads the configurations of every run it ranks so).

## Writing

Writers retry serialization failures and deadlocks with a bounded, jittered backoff (`RETRIES`). A run is one
transaction: visible completely or not at all. In object-storage mode the transaction locks the row of the
portfolio's object (named by its sha256, `vectorbt.portfolio.registry.stores.artifacts`), uploads it unless it
is there already (another run shares it), and only then commits the run. An upload whose writer died before
the commit leaves an object that no row knows: `check` reports it as a leftover; `repair` and `RunRegistry.gc`
(`remove_orphans`) remove it once it is older than `LEFTOVER_GRACE_SECONDS`, under the object's row lock, so
that an object whose run another client is writing is never taken for one (see `postgres_objects`). A purge
removes objects that no other run shares, after its commit, each under its row's lock (a purge cut short
leaves the row marked, which `check` reports and `repair` and `gc` finish).

A lost connection or a server restart raises `ConnectionError` (an `OSError`) naming the store with its password
hidden; the transaction is rolled back by the server, and the next call connects again.

`create(record, parts, unique_identity=True)` refuses, atomically across clients, a run whose identity equals a
live run's (`DuplicateRunError` naming it): an advisory lock on the identity serializes such creations, and a
partial unique index on the identities of the runs created so stands behind it.
"""

import queue
import random
import sys
import threading
import time
import warnings
from datetime import datetime

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import DuplicateRunError, IntegrityError, ReadOnlyError, RegistryError
from vectorbt.portfolio.registry.errors import RunNotFoundError, SchemaVersionError
from vectorbt.portfolio.registry.index import select_rows
from vectorbt.portfolio.registry.run import PART_FILES, RunRecord, check_run_id, is_run_id, summary_row
from vectorbt.portfolio.registry.spec import PARTS
from vectorbt.portfolio.registry.stores.base import LIVE_DETAIL, Problem, RunStore, same_identity_error
from vectorbt.portfolio.registry.stores.location import redact
from vectorbt.portfolio.registry.stores.postgres_feed import WarmTable
from vectorbt.portfolio.registry.stores.postgres_objects import (
    _OBJECT_ROWS,
    ARTIFACT_ROLES,
    LEFTOVER_GRACE_SECONDS,
    ObjectParts,
)
from vectorbt.portfolio.registry.stores.postgres_schema import (
    STORE_SCHEMA_VERSION,
    Connections,
    bump,
    create_schema,
    insert_sql,
    live_identity,
    row_values,
)
from vectorbt.portfolio.registry.stores.postgres_sql import fresh_select

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query

__all__ = ["PostgresStore", "STORE_SCHEMA_VERSION", "RETRIES", "LEFTOVER_GRACE_SECONDS", "ARTIFACT_ROLES"]

RETRIES = 8
"""How many times a transaction that failed on a serialization failure or a deadlock is tried again."""

BACKOFF = (0.005, 0.5)
"""First and longest wait between tries, in seconds (doubling, with jitter)."""

PREFETCH = 16
"""How many parts `read_parts` holds, fetched, ahead of its reader."""

_END = object()


class PostgresStore(ObjectParts, RunStore):
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
        self._conns = Connections(url, pool_size, connect_timeout)
        self._table = WarmTable(self)
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

    _bump = staticmethod(bump)
    """The last step of every writing transaction (`postgres_schema.bump`: the change number, and the commit)."""

    # ############# Opening ############# #

    def _open(self) -> None:
        version, artifacts, writable = self._run(
            "open the registry", lambda cur: create_schema(cur, self.read_only, repr(self)), write=False)
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

    @staticmethod
    def _insert_sql() -> str:
        return insert_sql()

    def create(self, record: RunRecord, parts: tp.Mapping[str, bytes], unique_identity: bool = False) -> None:
        """See `RunStore.create`. With `unique_identity`, refuse the run (`DuplicateRunError` naming the existing
        run's id as `existing_run_id`) when a live run has the same `record.identity`, atomically across all
        clients of the database."""
        from psycopg import errors

        self.check_writable()
        run_id = check_run_id(record.run_id)
        record.check_parts(parts)
        values = row_values(record)  # fails on bad data before anything is written
        metrics = record.metrics_bytes()
        stored = self._stage(parts)
        sql = self._insert_sql()

        def work(cur: tp.Any) -> None:
            if unique_identity:
                cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (record.identity,))
                existing = live_identity(cur, values["identity"])
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
            existing = self._run("look up a run", lambda cur: live_identity(cur, values["identity"]),
                                 write=False)
            raise same_identity_error(existing or run_id) from e

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
        values = row_values(record)
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
            values = row_values(record)
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

        def work(cur: tp.Any) -> tp.Any:
            cur.execute("SELECT r.deleted, p.data, p.object, p.role IS NOT NULL FROM vbtr_runs r LEFT JOIN "
                        "vbtr_parts p ON p.run_id = r.run_id AND p.role = %s WHERE r.run_id = %s", (role, run_id),
                        binary=True)
            return cur.fetchone()

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

    def read_parts(self, run_ids: tp.Sequence[str], role: str,
                   deleted: bool = False) -> tp.Iterator[tp.Tuple[str, bytes]]:
        """See `RunStore.read_parts`: one query for all of them, streamed by a thread that holds at most
        `PREFETCH` parts ahead of the reader, so that the server sends while the reader works."""
        if role not in PARTS:
            raise ValueError(f"role: {role!r} is not a part of a run; parts are {', '.join(PARTS)}")
        ids = [r for r in run_ids if is_run_id(r)]
        if not ids:
            return
        rows: "queue.Queue[tp.Any]" = queue.Queue(maxsize=PREFETCH)
        stop = threading.Event()

        def put(item: tp.Any) -> bool:
            while not stop.is_set():
                try:
                    rows.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work(cur: tp.Any) -> None:
            for run_id, data in cur.stream(
                    "SELECT q.run_id, p.data FROM unnest(%s::text[]) WITH ORDINALITY AS q(run_id, i) "
                    "JOIN vbtr_runs r ON r.run_id = q.run_id AND r.deleted = %s "
                    "JOIN vbtr_parts p ON p.run_id = q.run_id AND p.role = %s ORDER BY q.i",
                    (ids, bool(deleted), role), binary=True):
                if not put((run_id, None if data is None else bytes(data))):  # None: the part is an object
                    break

        def fetch() -> None:
            try:
                self._run("read parts", work, write=False)
            except BaseException as e:  # noqa: BLE001 - handed to the reader, who raises it
                put(e)
            else:
                put(_END)

        thread = threading.Thread(target=fetch, name="vbtr-read-parts", daemon=True)
        thread.start()
        try:
            while True:
                item = rows.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                run_id, data = item
                if data is None:  # in object storage: read here, as read_part reads it
                    yield from super().read_parts([run_id], role, deleted=deleted)
                else:
                    yield run_id, data
        finally:
            stop.set()
            thread.join()

    def table(self, deleted: bool = False) -> pd.DataFrame:
        with self._table.lock:
            self._table.refresh()
            return self._table.index.table(deleted)

    def select(self, where: tp.Optional["Query"] = None, deleted: bool = False, **request: tp.Any) -> pd.DataFrame:
        """See `RunStore.select`. A client that holds the summary table (it listed before) brings it up to date
        and selects from it in memory (`index.select_rows`); a fresh one asks the server, which filters,
        sorts and cuts in SQL where it can (`postgres_sql.fresh_select`), and reads the table when SQL cannot
        narrow the rows enough. Over rows selected in SQL, parameter columns that none of them has are left out,
        and a parameter column's dtype is what those rows give (see `postgres_sql`); rows, order and values are
        those `FileStore` selects. `request`: the keyword arguments of `RunStore.select`."""
        with self._table.lock:
            loaded = self._table.loaded
        if not loaded:
            found = fresh_select(self._run, where, deleted, **request)
            if found is not None:
                return found
        with self._table.lock:
            self._table.refresh()
            return select_rows(self._table.index.frame(), where, deleted, **request)

    def __len__(self) -> int:
        with self._table.lock:
            self._table.refresh()
            return self._table.index.live_count()

    def __contains__(self, run_id: object) -> bool:
        if not is_run_id(run_id):
            return False
        with self._table.lock:
            self._table.refresh()
            return run_id in self._table.index and not self._table.index.is_deleted(run_id)

    @property
    def last_change(self) -> int:
        """The number of the last change this client has seen (see `postgres_feed`, "The change sequence")."""
        return self._table.seq

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
        with self._table.lock:
            self._table.reset()
        return count

    def check(self) -> tp.List[Problem]:
        def work(cur: tp.Any) -> tp.Tuple[tp.List[tp.Any], tp.List[tp.Any]]:
            cur.execute("SELECT run_id, deleted, meta, metrics, summary FROM vbtr_runs ORDER BY run_id")
            runs = cur.fetchall()
            cur.execute(_OBJECT_ROWS)
            return runs, cur.fetchall()

        runs, object_rows = self._run("check the registry", work, write=False)
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
        return problems + self._object_problems(object_rows)

    def repair(self) -> tp.List[str]:
        self.check_writable()
        problems = self.check()
        actions = [line for _, line, _ in self._remove_leftovers(problems)]
        if any(p.kind == "index_drift" for p in problems):
            actions.append(f"rebuilt the summary rows from the records ({self.rebuild_index()} runs)")
        return actions
