"""`PostgresStore`: the shared store suite on a real PostgreSQL server (portfolios in the database, and in object
storage on an S3-compatible server), plus what is specific to a database: the commit-ordered change sequence
under concurrent writers, warm clients, a server restart during writes, read-only roles, redacted credentials,
the schema version, orphaned objects, and `where` translated to SQL."""

import hashlib
import os
import secrets
import time
from datetime import datetime, timezone

import pytest

from vectorbt.portfolio.registry.errors import NotARegistryError
from vectorbt.portfolio.registry.testing import MultiProcessStoreSuite, hard_timeout, start_forkserver
from vectorbt.portfolio.registry.testing.servers import PostgresServer, find_servers_file, free_port, require

start_forkserver(os.path.dirname(os.path.abspath(__file__)))


def database_name(path) -> str:
    """The database of the store kept "at" `path`: the same in every process that opens it."""
    return "t_" + hashlib.sha256(os.path.abspath(os.fspath(path)).encode()).hexdigest()[:24]


def open_database(path, read_only=False):
    """The URL of the database for `path`, created unless `read_only` (then `NotARegistryError` if missing)."""
    info = find_servers_file(path)
    assert info and "postgres" in info, "no PostgreSQL server recorded for this test session"
    server = PostgresServer(external_url=info["postgres"]["url"]).start()
    name = database_name(path)
    if read_only:
        if not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
            raise NotARegistryError(f"no registry database for {path}")
        return server.url(name)
    return server.create_database(name)


def database_state(store):
    """Every row of the registry's tables and every object: what a call that must change nothing leaves alone."""
    def work(cur):
        out = {}
        for table, order in (("vbtr_runs", "run_id"), ("vbtr_parts", "run_id, role"), ("vbtr_objects", "key"),
                             ("vbtr_purged", "run_id"), ("vbtr_counter", "id"), ("vbtr_info", "key")):
            cur.execute(f"SELECT * FROM {table} ORDER BY {order}")
            # as text: NaN metrics compare equal so
            out[table] = [repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                          for row in cur.fetchall()]
        return out

    state = store._run("read the state", work, write=False)
    objects = store._objects()
    if objects is not None:
        state["objects"] = sorted(objects.list())
    return state


class TestPostgresStore(MultiProcessStoreSuite):
    """Portfolios as bytea in the database."""

    @pytest.fixture(autouse=True)
    def _servers(self, postgres_server):
        yield

    def store_options(self, path):
        return {}

    def make_store(self, path, read_only=False):
        from vectorbt.portfolio.registry.stores.postgres import PostgresStore

        return PostgresStore(open_database(path, read_only), read_only=read_only, **self.store_options(path))

    def state(self, store):
        return database_state(store)

    def allow_leftover_removal(self, monkeypatch):
        from vectorbt.portfolio.registry.stores import postgres_objects

        monkeypatch.setattr(postgres_objects, "LEFTOVER_GRACE_SECONDS", 0.0)


class TestPostgresStoreS3(TestPostgresStore):
    """Portfolios in object storage (moto's S3 server), records in the database."""

    @pytest.fixture(autouse=True)
    def _servers(self, postgres_server, s3_server):
        yield

    def store_options(self, path):
        s3 = find_servers_file(path)["s3"]
        return {"artifacts": f"s3://{s3['bucket']}/{database_name(path)}",
                "artifacts_options": s3["storage_options"]}


# ############# What is specific to a database ############# #


@pytest.fixture
def pg_url(postgres_server):
    """A fresh database on the session's server."""
    return postgres_server.create_database()


def _open(url, **kwargs):
    from vectorbt.portfolio.registry.stores.postgres import PostgresStore

    return PostgresStore(url, **kwargs)


POLLS_PER_THIRD = 3
"""The commit-order test's writers wait, after each third of their runs, until the polling client has polled this
many more times: so polls fall between writes on a fast machine and a slow one alike."""


def _poll_writer(url, worker, n_runs, barrier, log_path, polls):
    """Commit-order test, one of 8 writers: create runs, change some, trash and restore some; each change is
    slowed down at random just before its change number is taken, so that transactions overlap and commit out
    of the order in which they began. After each third of its runs it waits for the poller (`polls`, the count
    of finished polls, shared with the test), at most 60 s."""
    import random
    import time

    from vectorbt.portfolio.registry.stores import postgres
    from vectorbt.portfolio.registry.testing import make_run

    rng = random.Random(worker)
    real_bump = postgres.PostgresStore._bump

    def slow_bump(cur, table, run_id, before=()):
        time.sleep(rng.uniform(0, 0.004))
        return real_bump(cur, table, run_id, before)

    postgres.PostgresStore._bump = staticmethod(slow_bump)
    store = postgres.PostgresStore(url)
    barrier.wait(timeout=60)
    ids, live = [], []
    with open(log_path, "w") as log:
        for i in range(n_runs):
            third = 3 * i // n_runs
            if 3 * (i - 1) // n_runs < third:  # the first run of a new third
                deadline = time.monotonic() + 60
                while polls.value < third * POLLS_PER_THIRD and time.monotonic() < deadline:
                    time.sleep(0.002)
            record, parts = make_run(1000 * worker + i, name=f"w{worker}", params={"i": i})
            store.create(record, parts)
            ids.append(record.run_id)
            log.write(f"created {record.run_id}\n")
            log.flush()
            live.append(record.run_id)
            if i % 3 == 0:
                store.update(rng.choice(live), lambda r: r.copy(notes=f"by {worker} at {i}"))
            if i % 7 == 6:
                victim = rng.choice(live)
                store.trash(victim, datetime.now(timezone.utc))
                live.remove(victim)
                if rng.random() < 0.5:
                    store.restore(victim)
                    live.append(victim)
    store.close()


@pytest.mark.slow
def test_a_polling_client_misses_nothing_under_8_writers(pg_url, tmp_path):
    """8 processes write at once while a client in this process polls `table()` as fast as it can, asking each
    time only for the changes since its last call. Every run a writer had created before a poll started is in
    that poll, and at the end the warm client's table equals a fresh client's, row for row (updates, trashes and
    restores included): no change was skipped because its transaction committed after a later one's."""
    import multiprocessing as mp

    n_writers, n_runs = 8, 30
    warm = _open(pg_url)  # lays out the schema before the writers start
    ctx = mp.get_context("forkserver")
    barrier = ctx.Barrier(n_writers + 1)
    shared_polls = ctx.Value("i", 0)
    logs = [str(tmp_path / f"log{w}") for w in range(n_writers)]
    procs = [ctx.Process(target=_poll_writer, args=(pg_url, w, n_runs, barrier, logs[w], shared_polls))
             for w in range(n_writers)]
    with hard_timeout(180):
        for p in procs:
            p.start()
        barrier.wait(timeout=60)
        polls, missing = 0, []
        while any(p.is_alive() for p in procs):
            created = set()
            for log in logs:
                if os.path.exists(log):
                    with open(log) as f:
                        created |= {line.split()[1] for line in f.read().splitlines() if line.startswith("created")}
            # live, trash, live: a run trashed or restored between two calls is in one of them
            seen = set(warm.table().index) | set(warm.table(deleted=True).index) | set(warm.table().index)
            missing += sorted(created - seen)
            polls += 1
            shared_polls.value = polls
        for p in procs:
            p.join(30)
    assert [p.exitcode for p in procs] == [0] * n_writers
    # the writers waited for 2 x POLLS_PER_THIRD polls between their thirds: polls fell between their writes
    assert polls >= 2 * POLLS_PER_THIRD and missing == []
    fresh = _open(pg_url)
    import pandas as pd

    pd.testing.assert_frame_equal(warm.table(), fresh.table())
    pd.testing.assert_frame_equal(warm.table(deleted=True), fresh.table(deleted=True))
    assert len(warm) + len(warm.table(deleted=True)) == n_writers * n_runs
    assert warm.last_change == fresh.last_change


def test_warm_client_fetches_only_what_changed(pg_url, monkeypatch):
    from vectorbt.portfolio.registry.index import SummaryIndex
    from vectorbt.portfolio.registry.stores import postgres_feed
    from vectorbt.portfolio.registry.testing import make_run

    monkeypatch.setattr(postgres_feed, "REBASE_ROWS", 5)  # the first read (20 rows) is folded into a columnar base

    writer, reader = _open(pg_url), _open(pg_url)
    ids = []
    for k in range(20):
        record, parts = make_run(k, name=f"r{k}")
        writer.create(record, parts)
        ids.append(record.run_id)
    assert len(reader.table()) == 20
    put, removed = [], []
    real_put, real_remove = SummaryIndex.put, SummaryIndex.remove
    monkeypatch.setattr(SummaryIndex, "put", lambda self, row: put.append(row["run_id"]) or real_put(self, row))
    monkeypatch.setattr(SummaryIndex, "remove", lambda self, r: removed.append(r) or real_remove(self, r))
    assert len(reader.table()) == 20 and put == []  # nothing changed: nothing fetched
    writer.update(ids[3], lambda r: r.copy(notes="changed"))
    writer.trash(ids[5], datetime.now(timezone.utc))
    writer.trash(ids[6], datetime.now(timezone.utc))
    writer.purge(ids[6])
    record, parts = make_run(99, name="new")
    writer.create(record, parts)
    table = reader.table()
    assert sorted(put) == sorted([ids[3], ids[5], record.run_id]) and removed == [ids[6]]
    assert table.loc[ids[3], "notes"] == "changed" and ids[5] not in table.index and record.run_id in table.index
    assert list(reader.table(deleted=True).index) == [ids[5]]
    writer.restore(ids[5])
    assert ids[5] in reader and ids[6] not in reader and len(reader) == 20


def test_server_restart_during_writes(tmp_path):
    """The server restarts (pg_ctl restart: every connection cut) while a thread registers runs: the calls cut
    short raise `ConnectionError` naming the store without its password, no run is left half-written, and the
    next calls connect again by themselves."""
    import threading

    from vectorbt.portfolio.registry.testing import make_run

    ok, why = PostgresServer.available()
    if not ok or os.environ.get("VBT_REGISTRY_TEST_POSTGRES_URL"):
        require(False, why or "an external server cannot be restarted by the tests")
    with hard_timeout(120), PostgresServer() as server:
        url = server.create_database("restart")
        store = _open(url)
        done, failed, stop = [], [], threading.Event()

        def write():
            k = 0
            while not stop.is_set():
                record, parts = make_run(k, name=f"r{k}")
                k += 1
                try:
                    store.create(record, parts)
                    done.append(record.run_id)
                except ConnectionError as e:
                    failed.append((record.run_id, str(e)))
                    time.sleep(0.05)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            time.sleep(0.5)
            server.restart()
            time.sleep(0.5)
            server.restart()
            time.sleep(1.0)
        finally:
            stop.set()
            thread.join(30)
        assert failed, "no write was cut by the restarts"
        assert all(server.password not in text and "***" in text and "connects again" in text
                   for _, text in failed)
        assert len(done) > 10 and done[-1] in store  # writes went on after the restarts
        fresh = _open(url)
        table = fresh.table()
        assert set(done) <= set(table.index)
        for run_id, _ in failed:  # cut short: absent, or (cut at its commit) complete
            if run_id in table.index:
                record = fresh.read(run_id)
                assert fresh.read_part(run_id, "portfolio") and record.n_columns == 1
        assert fresh.check() == []
        store.close()
        fresh.close()


def test_read_only_role(postgres_server, pg_url):
    """A role that may only SELECT opens the registry with `read_only=True` and reads everything; opened without
    it, the store notices the missing privilege and opens read-only with a warning."""
    from vectorbt.portfolio.registry import ReadOnlyError, RunRegistry
    from vectorbt.portfolio.registry.testing import make_run

    writer = _open(pg_url)
    record, parts = make_run(0, name="shared", n_columns=3)
    writer.create(record, parts)
    name = "reader_" + secrets.token_hex(4)
    password = secrets.token_hex(8)
    database = pg_url.rsplit("/", 1)[1]
    ro_url = postgres_server.create_role(name, password, database, read_only=True)
    reg = RunRegistry(ro_url, read_only=True)
    assert reg.read_only and list(reg) == [record.run_id]
    assert reg.get(record.run_id).to_dict() == record.to_dict()
    assert reg.store.read_part(record.run_id, "portfolio") == parts["portfolio"]
    assert len(reg.best("total_return", n=None)) == 3 and reg.check() == []
    with pytest.raises(ReadOnlyError, match="read-only"):
        reg.update(record.run_id, notes="x")
    assert password not in repr(reg) and "***" in repr(reg)
    with pytest.warns(UserWarning, match="may not write"):
        store = _open(ro_url)
    assert store.read_only and store.read_only_reason
    with pytest.raises(ReadOnlyError):
        store.create(*make_run(1))


def test_credentials_never_show(postgres_server, pg_url, caplog):
    import logging

    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.testing import make_run

    caplog.set_level(logging.DEBUG)
    password = postgres_server.password
    reg = RunRegistry(pg_url)
    record, parts = make_run(0, name="secret?")
    reg.store.create(record, parts)
    reg.list()
    texts = [repr(reg), repr(reg.store), str(reg.store)]
    wrong_port = pg_url.replace(f":{postgres_server.port}/", f":{free_port()}/")
    with pytest.raises(ConnectionError) as e:
        _open(wrong_port, connect_timeout=2)
    texts.append(str(e.value))
    wrong_password = pg_url.replace(password, "not-" + password)
    with pytest.raises(ConnectionError) as e:
        _open(wrong_password)
    texts.append(str(e.value))
    texts += [r.getMessage() for r in caplog.records]
    assert all(password not in t for t in texts) and "***" in texts[0]
    assert password not in str(database_state(reg.store))  # nor in any stored row


def test_newer_schema_is_refused(postgres_server, pg_url):
    from vectorbt.portfolio.registry import SchemaVersionError

    _open(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    postgres_server.execute("UPDATE vbtr_info SET value = '99' WHERE key = 'schema_version'", database=database)
    for read_only in (False, True):
        with pytest.raises(SchemaVersionError, match="schema_version '99'.*upgrade"):
            _open(pg_url, read_only=read_only)
    with pytest.raises(NotARegistryError, match="read-only"):
        _open(postgres_server.create_database(), read_only=True)


def test_schema_created_by_many_clients_at_once(pg_url):
    import threading

    stores, errors = [], []

    def open_one():
        try:
            stores.append(_open(pg_url))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(stores) == 8 and all(len(s) == 0 for s in stores)


def test_orphaned_objects_are_found_and_removed(pg_url, tmp_path, monkeypatch):
    """Object storage on a shared folder (`file://`): an upload whose writer died before its run was stored is
    a leftover for `check` (not repairable while young), which `repair` removes once old enough; purging a run
    removes its object unless another run shares it."""
    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.stores import postgres_objects
    from vectorbt.portfolio.registry.testing import make_run

    store = _open(pg_url, artifacts=f"file://{tmp_path}/objects")
    reg = RunRegistry(store)
    a, a_parts = make_run(0, name="a")
    b, b_parts = make_run(1, name="b")
    b_parts["portfolio"] = a_parts["portfolio"]  # the same portfolio bytes: one object for both runs
    b.parts["portfolio"] = dict(a.parts["portfolio"])
    store.create(a, a_parts)
    store.create(b, b_parts)
    assert len(store._objects().list()) == 1
    orphan = store._objects().put(b"uploaded by a writer that died")
    problems = store.check()
    assert [(p.kind, p.path, p.repairable) for p in problems] == [("leftover", orphan, False)]
    assert reg.repair() == [] and orphan in store._objects().list()
    monkeypatch.setattr(postgres_objects, "LEFTOVER_GRACE_SECONDS", 0.0)
    assert reg.repair() == [f"removed leftover object {orphan}"] and store.check() == []
    reg.delete(a.run_id, purge=True)
    assert len(store._objects().list()) == 1
    assert store.read_part(b.run_id, "portfolio") == a_parts["portfolio"]
    reg.delete(b.run_id, purge=True)
    assert store._objects().list() == {} and reg.check() == []
    other = _open(pg_url)  # opened without artifacts=: uses the URL the registry recorded
    c, c_parts = make_run(2, name="c")
    store.create(c, c_parts)
    assert other.read_part(c.run_id, "portfolio") == c_parts["portfolio"]


def test_fresh_clients_start_from_a_snapshot(pg_url, monkeypatch):
    """A writable client saves the summary table as a snapshot once enough changes piled up; a fresh client reads
    it and the changes since (updates, trashes and purges after it included), and gets the same table."""
    import pandas as pd

    from vectorbt.portfolio.registry.stores import postgres_feed
    from vectorbt.portfolio.registry.testing import make_run

    monkeypatch.setattr(postgres_feed, "SNAPSHOT_EVERY", (10, 0.0))
    writer = _open(pg_url)
    ids = []
    for k in range(25):
        record, parts = make_run(k, name=f"r{k}", params={"k": k})
        writer.create(record, parts)
        ids.append(record.run_id)
        writer.table()
    snapshots = writer._run("count", lambda cur: cur.execute("SELECT seq FROM vbtr_snapshots").fetchall(), False)
    assert len(snapshots) == 1 and 10 <= snapshots[0][0] <= 25
    writer.update(ids[0], lambda r: r.copy(notes="after"))
    writer.trash(ids[1], datetime.now(timezone.utc))
    writer.trash(ids[24], datetime.now(timezone.utc))
    writer.purge(ids[24])
    read_rows = []
    real_apply = postgres_feed.WarmTable.apply
    monkeypatch.setattr(postgres_feed.WarmTable, "apply",
                        lambda self, changes: read_rows.append(len(changes)) or real_apply(self, changes))
    fresh = _open(pg_url, read_only=True)
    table = fresh.table()
    assert read_rows[0] < 25  # not every row: the snapshot, and what changed after it
    pd.testing.assert_frame_equal(table, writer.table())
    pd.testing.assert_frame_equal(fresh.table(deleted=True), writer.table(deleted=True))
    assert table.loc[ids[0], "notes"] == "after" and ids[24] not in table.index and ids[1] not in table.index


# ############# where in SQL ############# #


@pytest.fixture(scope="module")
def same_runs(tmp_path_factory, postgres_server, sweep_pf, single_pf, grouped_pf):
    """The runs of test_query's battery in a FileStore and, copied with their ids, in a PostgreSQL database."""
    import numpy as np

    from vectorbt.portfolio.registry import RunRegistry

    files = RunRegistry(tmp_path_factory.mktemp("sql") / "registry")
    files.register(sweep_pf, name="ma", params={"fee": 0.001, "asset": "btc", "stop loss": 0.05, "fees%": 0.1},
                   tags=["btc", "1d"])
    files.register(single_pf, name="single", params={"fee": 0.0, "flag": True, "n": 7}, tags=["eth"],
                   notes="hello")
    files.register(grouped_pf, name="basket", params={"asset": "multi", "flag": False, "n": 2, "stop loss": 0.2},
                   tags=["btc", "eth"], status="candidate")
    files.register(single_pf, name="single_b", params={"fee": 0.002, "n": np.int64(3), "level": 1.5}, tags=[],
                   status="rejected")
    gone = files.register(single_pf, name="gone", params={"fee": 0.5}, tags=["old"])
    files.delete(gone.run_id)
    url = postgres_server.create_database()
    db = RunRegistry(url)
    RunRegistry.copy(files, db, progress=False)
    db.store.create(files.store.read(gone.run_id, deleted=True),
                    {role: files.store.read_part(gone.run_id, role, deleted=True) for role in gone.parts})
    return files.store, url


def _battery():
    from test_query import LEGITIMATE

    extra = ["sharpe_ratio != 0.5", "n_columns in [2, 6]", "'btc' in tags and not 'eth' in tags",
             "status == 'candidate' or parent.notna()", "created_at > '2000-01-01' and sharpe_ratio.notna()",
             "deleted_at.isna()", "name == 'ma' and fee > 0.0005", "total_trades in (1, 2.0, nan)",
             "not (name == 'ma')", "status != 'rejected' and fee == 0"]
    return LEGITIMATE + extra


@pytest.mark.parametrize("where", _battery())
def test_where_in_sql_selects_what_filestore_selects(same_runs, where):
    """A fresh client narrows the rows in SQL and evaluates the rest in pandas; a warm one filters its table.
    Both select exactly the rows FileStore selects, with the same values."""
    import pandas as pd

    from vectorbt.portfolio.registry.query import parse

    files, url = same_runs
    query = parse(where)
    for deleted in (False, True):
        expected = files.select(query, deleted=deleted)
        fresh = _open(url, read_only=True)
        got = fresh.select(query, deleted=deleted)
        assert list(got.index) == list(expected.index), where
        # over rows selected in SQL, parameter columns that none of them has are left out (list drops them too)
        absent = [c for c in expected.columns if c not in got.columns]
        assert list(got.columns) == [c for c in expected.columns if c not in absent]
        assert not any(c in names for names in expected["param_names"] for c in absent)
        pd.testing.assert_frame_equal(got, expected[got.columns], check_dtype=False)
        fresh.table()
        pd.testing.assert_frame_equal(fresh.select(query, deleted=deleted), expected)  # warm: exact
        fresh.close()


def test_where_translation():
    """What becomes SQL, exact or not, and that literals are only ever parameters."""
    from vectorbt.portfolio.registry.query import parse
    from vectorbt.portfolio.registry.stores import postgres  # noqa: F401 - registers the metric columns
    from vectorbt.portfolio.registry.stores.postgres_sql import translate

    c = translate(parse("sharpe_ratio > 1 and 'btc' in tags").root)
    assert c.exact and c.params == (1, "btc") and "m_sharpe_ratio" in c.sql and "btc" not in c.sql
    c = translate(parse("sharpe_ratio > 1 and fee < 2").root)  # a parameter: left to pandas
    assert not c.exact and c.params == (1,)
    assert translate(parse("fee < 2 or sharpe_ratio > 1").root) is None
    assert translate(parse("not (sharpe_ratio > 1 and fee < 2)").root) is None
    c = translate(parse("name == \"x'); DROP TABLE vbtr_runs; --\"").root)
    assert c.params == ("x'); DROP TABLE vbtr_runs; --",) and "DROP" not in c.sql
    assert translate(parse("name.str.contains('a')").root) is None



_LISTS = [  # list(**kwargs), whether a fresh client answers it in SQL, and how many rows it then decodes
    ({"where": "sharpe_ratio > -10", "sort_by": "total_return", "limit": 2}, True, 2),
    ({"where": "'btc' in tags", "sort_by": "sharpe_ratio", "ascending": True, "limit": 1}, True, 1),
    ({"name": ["single", "single_b"], "sort_by": "created_at", "ascending": False}, True, 2),
    ({"status": "candidate"}, True, 1),
    ({"limit": 2}, True, 2),
    ({"tags": ["btc"], "where": "fee > 0.0005 or n > 2"}, True, 2),  # narrowed by the tag, the rest in pandas
    ({"where": "n_columns >= 1 and fee < 0.01", "sort_by": "fee", "limit": 3}, True, 4),  # sorted in pandas
    ({"sort_by": "name", "limit": 2}, False, None),  # text sorts by collation in SQL: every row is needed
    ({"deleted": True, "sort_by": "deleted_at"}, False, None),  # nothing narrows the rows
]


@pytest.mark.parametrize("kwargs, in_sql, decoded_rows", _LISTS)
def test_a_fresh_client_lists_in_sql(same_runs, monkeypatch, kwargs, in_sql, decoded_rows):
    """`list` on a client that has not read the summary table: the server filters, sorts and cuts where the
    query translates (the client decodes the rows it shows, never the whole table), narrows where it does not,
    and the client reads the table when nothing narrows the rows; `list` shows what it shows on `FileStore`."""
    import pandas as pd

    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.stores import postgres_sql

    files, url = same_runs
    decoded = []
    real = postgres_sql.rows_to_frame
    monkeypatch.setattr(postgres_sql, "rows_to_frame", lambda rows: decoded.append(len(rows)) or real(rows))
    reg = RunRegistry(_open(url, read_only=True))
    pd.testing.assert_frame_equal(reg.list(**kwargs), RunRegistry(files).list(**kwargs), check_dtype=False)
    assert reg.store._table.loaded is not in_sql
    assert decoded == ([decoded_rows] if in_sql else [])


def test_a_fresh_client_reads_the_table_when_sql_cannot_narrow_enough(pg_url, monkeypatch):
    """Past `FRESH_ROWS` rows, or with nothing that narrows them, a fresh client reads the summary table (from
    its snapshot) instead of decoding rows one by one; it answers the same."""
    import pandas as pd

    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.stores import postgres_sql
    from vectorbt.portfolio.registry.testing import make_run

    monkeypatch.setattr(postgres_sql, "FRESH_ROWS", 3)
    writer = _open(pg_url)
    for k in range(6):
        writer.create(*make_run(k, name="ab"[k % 2], params={"fast": k}))
    for kwargs, loads in (({"name": "a", "sort_by": "sharpe_ratio", "limit": 2}, False), ({"name": "a"}, False),
                          ({"where": "fast < 5"}, True), ({"where": "sharpe_ratio > -99"}, True),
                          ({"sort_by": "fast", "limit": 1}, True), ({}, True)):
        reg = RunRegistry(_open(pg_url, read_only=True))
        pd.testing.assert_frame_equal(reg.list(**kwargs), RunRegistry(writer).list(**kwargs), check_dtype=False)
        assert reg.store._table.loaded == loads, kwargs


# ############# gc and objects that no run refers to ############# #


def _die_after_upload(store):
    """Make `store`'s `create` upload its portfolio and then fail before its run commits (as a writer that died
    there: its transaction rolled back, its object left behind)."""
    real = store._insert_parts

    def upload_then_die(cur, run_id, stored):
        real(cur, run_id, stored)
        raise RuntimeError("the writer died after its upload")

    store._insert_parts = upload_then_die


def test_gc_removes_objects_that_no_run_refers_to(pg_url, tmp_path, monkeypatch):
    """A writer died after uploading: `check` finds its object; `gc` leaves it while young (its run may be
    being written) and removes it once older than the grace, never the object of a live run; it also finishes
    a purge cut short."""
    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.stores import postgres_objects
    from vectorbt.portfolio.registry.stores.artifacts import object_key
    from vectorbt.portfolio.registry.testing import make_run

    artifacts = f"file://{tmp_path}/objects"
    store = _open(pg_url, artifacts=artifacts)
    reg = RunRegistry(store)
    live, live_parts = make_run(0, name="live")
    store.create(live, live_parts)
    kept = object_key(live_parts["portfolio"])
    dying = _open(pg_url, artifacts=artifacts)
    _die_after_upload(dying)
    dead, dead_parts = make_run(1, name="dead")
    with pytest.raises(RuntimeError, match="died"):
        dying.create(dead, dead_parts)
    orphan = object_key(dead_parts["portfolio"])
    assert dead.run_id not in store and set(store._objects().list()) == {kept, orphan}
    assert [(p.kind, p.path, p.repairable) for p in store.check()] == [("leftover", orphan, False)]
    assert reg.gc() == [] and set(store._objects().list()) == {kept, orphan}  # young: left alone
    monkeypatch.setattr(postgres_objects, "LEFTOVER_GRACE_SECONDS", 0.0)
    assert reg.gc() == [] and set(store._objects().list()) == {kept}
    assert store.check() == [] and reg.check() == []
    assert store.read_part(live.run_id, "portfolio") == live_parts["portfolio"]
    gone, gone_parts = make_run(2, name="gone")
    store.create(gone, gone_parts)
    reg.delete(gone.run_id)
    with monkeypatch.context() as m:  # the purge commits, and its client dies before removing the object
        m.setattr(postgres_objects.ObjectParts, "_release", lambda self, key, orphan=False: False)
        assert reg.gc() == [gone.run_id]
    assert [(p.kind, p.path) for p in store.check()] == [("leftover", object_key(gone_parts["portfolio"]))]
    assert reg.gc() == [] and store.check() == [] and set(store._objects().list()) == {kept}
    assert store.read_part(live.run_id, "portfolio") == live_parts["portfolio"]


def test_gc_never_removes_the_object_of_a_run_being_written(pg_url, tmp_path, monkeypatch):
    """With no grace at all, `gc` runs over and over while another client registers runs whose uploads wait a
    while before their commit: each object it finds before its run commits is left alone (the writer holds the
    object's row lock from before its upload to its commit), so every run reads back whole. The object of a
    writer that died is removed."""
    import threading

    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.stores import postgres_objects
    from vectorbt.portfolio.registry.testing import make_run

    monkeypatch.setattr(postgres_objects, "LEFTOVER_GRACE_SECONDS", 0.0)
    artifacts = f"file://{tmp_path}/objects"
    collector, writer = RunRegistry(_open(pg_url, artifacts=artifacts)), _open(pg_url, artifacts=artifacts)
    objects, real_ensure = writer._objects(), writer._objects().ensure
    uploaded = threading.Event()

    def slow_ensure(key, data):
        real_ensure(key, data)
        uploaded.set()
        time.sleep(0.3)  # uploaded, not yet committed

    objects.ensure = slow_ensure
    skipped, real_release = [], postgres_objects.ObjectParts._release

    def release(self, key, orphan=False):
        removed = real_release(self, key, orphan)
        if not removed:
            skipped.append(key)
        return removed

    monkeypatch.setattr(postgres_objects.ObjectParts, "_release", release)
    written, errors = [], []

    def write():
        try:
            for k in range(6):
                record, parts = make_run(10 + k, name="w")
                writer.create(record, parts)
                written.append((record.run_id, parts["portfolio"]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=write)
    thread.start()
    assert uploaded.wait(30)
    removed = []
    while thread.is_alive():
        removed += collector.store.remove_orphans()
    thread.join()
    assert errors == [] and removed == [] and skipped  # objects in flight were found, and left alone
    reader = _open(pg_url, artifacts=artifacts)
    assert [reader.read_part(run_id, "portfolio") for run_id, _ in written] == [p for _, p in written]
    assert collector.check() == []
    dying = _open(pg_url, artifacts=artifacts)
    _die_after_upload(dying)
    with pytest.raises(RuntimeError):
        dying.create(*make_run(99, name="dead"))
    assert collector.gc() == [] and len(reader._objects().list()) == len(written) and collector.check() == []
