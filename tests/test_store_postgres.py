"""`PostgresStore`: the shared store suite on a real PostgreSQL server (portfolios in the database, and in object
storage on an S3-compatible server), plus what is specific to a database: the commit-ordered change sequence
under concurrent writers, warm clients, a server restart during writes, read-only roles, redacted credentials,
the schema version, orphaned objects, and `where` translated to SQL."""

import hashlib
import os

import pytest

from vectorbt.portfolio.registry.errors import NotARegistryError
from vectorbt.portfolio.registry.testing import MultiProcessStoreSuite, start_forkserver
from vectorbt.portfolio.registry.testing.servers import PostgresServer, find_servers_file

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
        from vectorbt.portfolio.registry.stores import postgres

        monkeypatch.setattr(postgres, "LEFTOVER_GRACE_SECONDS", 0.0)


class TestPostgresStoreS3(TestPostgresStore):
    """Portfolios in object storage (moto's S3 server), records in the database."""

    @pytest.fixture(autouse=True)
    def _servers(self, postgres_server, s3_server):
        yield

    def store_options(self, path):
        s3 = find_servers_file(path)["s3"]
        return {"artifacts": f"s3://{s3['bucket']}/{database_name(path)}",
                "artifacts_options": s3["storage_options"]}
