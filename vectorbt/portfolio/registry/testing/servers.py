"""Real servers for store tests, started by the tests: PostgreSQL (`PostgresServer`) and an S3-compatible object
store (`S3Server`, moto's server), both on 127.0.0.1 and on free ports, in temporary folders.

```python
from vectorbt.portfolio.registry.testing.servers import PostgresServer, S3Server

with PostgresServer() as pg, S3Server() as s3:
    url = pg.create_database("runs")  # postgresql://postgres:***@127.0.0.1:<port>/runs
    options = s3.storage_options      # for fsspec/s3fs: key, secret, endpoint
```

`PostgresServer` runs the Debian `postgresql` package's binaries (`initdb`, `pg_ctl`; `PG_BINDIR` or the newest
`/usr/lib/postgresql/<n>/bin`). The server refuses to run as root, so as root they run as the `postgres` user
(`runuser`), in a temporary folder owned by it. Host connections need a password (generated per server), so
that tests see real credentials to keep out of reprs and errors. `fsync=off`: test data need not survive a
crash of the machine. `VBT_REGISTRY_TEST_POSTGRES_URL` points the tests at an external server instead (a role
that may create databases and roles); `restart` then is not available.

`require(what, reason)` skips a test for a missing component, except under CI (`CI=true`), where the test fails:
there a missing server is a broken setup, never a reason to pass.
"""

import contextlib
import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import quote, urlsplit, urlunsplit

from vectorbt import _typing as tp

__all__ = ["PostgresServer", "S3Server", "require", "in_ci", "free_port", "ENV_POSTGRES_URL", "SERVERS_FILE",
           "write_servers_file", "find_servers_file"]

ENV_POSTGRES_URL = "VBT_REGISTRY_TEST_POSTGRES_URL"
"""An external PostgreSQL server for the tests (its URL, with a role that may create databases and roles)."""

SERVERS_FILE = "vbt-test-servers.json"
"""Name of the file, in pytest's base temporary folder, that tells test processes (and the child processes of
multi-process tests, which do not share the parent's fixtures) where the session's servers listen."""


def in_ci() -> bool:
    """Whether the tests run in CI (`CI` set to something true), where missing components fail tests."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(ok: bool, reason: str) -> None:
    """Skip the calling test with `reason` unless `ok`; under CI, fail it instead."""
    if ok:
        return
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing component fails the tests, it never skips them)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindir() -> tp.Optional[str]:
    configured = os.environ.get("PG_BINDIR")
    if configured:
        return configured if os.path.isfile(os.path.join(configured, "pg_ctl")) else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
                   if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


class PostgresServer:
    """A PostgreSQL server of its own in a temporary folder (or an external one, see the module docstring).

    `start()` (or `with`) starts it; `url(database)` is the URL of a database as the superuser `postgres` (with
    its password); `create_database(name)` makes a fresh database and returns its URL; `create_role` makes a
    login role; `restart()` stops and starts the server (connections break, as in a real restart); `stop()`
    stops it and removes its folder."""

    def __init__(self, external_url: tp.Optional[str] = None) -> None:
        self.external_url = external_url if external_url is not None else os.environ.get(ENV_POSTGRES_URL)
        self.bindir = None if self.external_url else _bindir()
        self.base: tp.Optional[str] = None
        self.port: tp.Optional[int] = None
        self.password = secrets.token_hex(12)
        self.host = "127.0.0.1"
        self.user = "postgres"

    @staticmethod
    def available() -> tp.Tuple[bool, str]:
        """Whether a server can be had here, and if not, why."""
        if os.environ.get(ENV_POSTGRES_URL):
            return True, ""
        if _bindir() is None:
            return False, "PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BINDIR)"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return False, "running as root without runuser: cannot start PostgreSQL as the postgres user"
        return True, ""

    # ############# Running the server ############# #

    def _as_owner(self, args: tp.List[str], **kwargs: tp.Any) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)

    def _check(self, out: subprocess.CompletedProcess, what: str) -> None:
        if out.returncode != 0:
            log = ""
            if self.base and os.path.isfile(os.path.join(self.base, "log")):
                with open(os.path.join(self.base, "log")) as f:
                    log = f.read()[-2000:]
            raise RuntimeError(f"PostgreSQL: {what} failed ({out.returncode}): {out.stderr.strip()} {log}")

    def start(self) -> "PostgresServer":
        if self.external_url:
            parts = urlsplit(self.external_url)
            self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 5432
            self.user, self.password = parts.username or "postgres", parts.password or ""
            return self
        if self.bindir is None:
            raise RuntimeError(self.available()[1])
        self.base = tempfile.mkdtemp(prefix="vbt-pg-")
        os.chmod(self.base, 0o700)
        pwfile = os.path.join(self.base, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password)
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        out = self._as_owner([os.path.join(self.bindir, "initdb"), "-D", os.path.join(self.base, "data"), "-U",
                              "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
                              "-E", "UTF8", "--no-sync"])
        self._check(out, "initdb")
        os.remove(pwfile)
        self.port = free_port()
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str) -> None:
        data = os.path.join(self.base, "data")
        args = [os.path.join(self.bindir, "pg_ctl"), "-D", data, "-w", "-t", "60"]
        if action in ("start", "restart"):
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                       "-c shared_buffers=64MB")
            args += ["-l", os.path.join(self.base, "log"), "-o", options]
        if action in ("stop", "restart"):
            args += ["-m", "fast"]
        self._check(self._as_owner(args + [action]), f"pg_ctl {action}")

    def restart(self) -> None:
        """Stop the server (fast: open connections are cut) and start it again on the same port."""
        if self.external_url:
            raise RuntimeError("restart: not possible with an external server")
        self._pg_ctl("restart")

    def stop(self) -> None:
        if self.base is None:
            return
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._pg_ctl("stop")
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc: tp.Any) -> None:
        self.stop()

    # ############# Databases and roles ############# #

    def url(self, database: str = "postgres", user: tp.Optional[str] = None,
            password: tp.Optional[str] = None) -> str:
        """The URL of `database` as `user` (default: the superuser, with its password)."""
        user = self.user if user is None else user
        password = self.password if password is None and user == self.user else password
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return urlunsplit(("postgresql", f"{auth}@{self.host}:{self.port}", f"/{database}", "", ""))

    def execute(self, sql: str, params: tp.Sequence[tp.Any] = (), database: str = "postgres") -> tp.List[tp.Any]:
        """Run one statement as the superuser (autocommit); return its rows, if any."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: tp.Optional[str] = None) -> str:
        """Create a new, empty database (`name`, or a random one); return its URL. Several processes may create
        the same name at once: all get its URL."""
        import psycopg
        from psycopg import errors, sql

        name = name or f"vbt_{secrets.token_hex(8)}"
        for attempt in range(50):
            try:
                with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                break
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                break
            except errors.ObjectInUse:  # the template is being copied by a concurrent CREATE DATABASE
                time.sleep(0.05 * (attempt + 1))
        return self.url(name)

    def create_role(self, name: str, password: str, database: str, read_only: bool = True) -> str:
        """Create a login role with `password` that may read (`read_only`) or read and write the registry's
        tables in `database`; return the URL of `database` as that role."""
        from psycopg import sql

        role = sql.Identifier(name)
        self.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(password)).as_string())
        grants = "SELECT" if read_only else "SELECT, INSERT, UPDATE, DELETE"
        self.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role).as_string(), database=database)
        self.execute(sql.SQL("GRANT " + grants + " ON ALL TABLES IN SCHEMA public TO {}").format(role).as_string(),
                     database=database)
        return self.url(database, user=name, password=password)


class S3Server:
    """moto's S3-compatible server on 127.0.0.1 in a thread of this process (`start`/`stop`, or `with`).

    `storage_options` are the fsspec/s3fs options that reach it (made-up credentials); `make_bucket(name)`
    creates a bucket; `reset()` forgets every bucket and object."""

    def __init__(self) -> None:
        self.port: tp.Optional[int] = None
        self._server: tp.Any = None

    @staticmethod
    def available() -> tp.Tuple[bool, str]:
        try:
            import moto.server  # noqa: F401
            import s3fs  # noqa: F401
        except ImportError as e:
            return False, f"the S3 test server needs moto[server] and s3fs ({e})"
        return True, ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def storage_options(self) -> tp.Dict[str, tp.Any]:
        return {"key": "testing", "secret": "testing-secret", "client_kwargs": {"endpoint_url": self.endpoint}}

    def start(self) -> "S3Server":
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

        for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing-secret"),
                           ("AWS_DEFAULT_REGION", "us-east-1")):
            os.environ.setdefault(key, value)
        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def make_bucket(self, name: str) -> str:
        """Create bucket `name` (if missing); return `s3://name`."""
        import s3fs

        fs = s3fs.S3FileSystem(**self.storage_options)
        if not fs.exists(name):
            fs.mkdir(name)
        return f"s3://{name}"

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc: tp.Any) -> None:
        self.stop()


def write_servers_file(folder: str, info: tp.Dict[str, tp.Any]) -> str:
    """Write `info` (where the servers listen) as `SERVERS_FILE` into `folder` (pytest's base temporary
    folder); return its path."""
    path = os.path.join(folder, SERVERS_FILE)
    with open(path, "w") as f:
        json.dump(info, f)
    os.chmod(path, 0o600)
    return path


def find_servers_file(path: tp.Any) -> tp.Optional[tp.Dict[str, tp.Any]]:
    """The `SERVERS_FILE` in `path` or the nearest folder above it (a test's `tmp_path` is below the base
    folder), read; None if there is none."""
    folder = os.path.abspath(os.fspath(path))
    while True:
        candidate = os.path.join(folder, SERVERS_FILE)
        if os.path.isfile(candidate):
            with open(candidate) as f:
                return json.load(f)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


# ############# pytest fixtures (import them into a conftest.py) ############# #


def _record(tmp_path_factory: tp.Any, name: str, value: tp.Dict[str, tp.Any]) -> None:
    base = str(tmp_path_factory.getbasetemp())
    info = find_servers_file(base) or {}
    info[name] = value
    write_servers_file(base, info)


def _fixtures() -> tp.Tuple[tp.Any, tp.Any]:
    import pytest

    @pytest.fixture(scope="session")
    def postgres_server(tmp_path_factory: tp.Any) -> tp.Iterator[PostgresServer]:
        """A PostgreSQL server for the session (see `PostgresServer`); its admin URL is also written to the
        `SERVERS_FILE` of pytest's base folder, for child processes."""
        ok, why = PostgresServer.available()
        require(ok, why)
        server = PostgresServer().start()
        _record(tmp_path_factory, "postgres", {"url": server.url()})
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture(scope="session")
    def s3_server(tmp_path_factory: tp.Any) -> tp.Iterator[S3Server]:
        """An S3-compatible server for the session (moto's, see `S3Server`), with the bucket `vbt-tests`."""
        ok, why = S3Server.available()
        require(ok, why)
        server = S3Server().start()
        server.make_bucket("vbt-tests")
        _record(tmp_path_factory, "s3", {"storage_options": server.storage_options, "bucket": "vbt-tests"})
        try:
            yield server
        finally:
            server.stop()

    return postgres_server, s3_server


try:
    postgres_server, s3_server = _fixtures()
except ImportError:  # pragma: no cover - no pytest: the servers still work, the fixtures do not exist
    pass
