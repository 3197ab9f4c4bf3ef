"""Portfolios of `PostgresStore` in object storage: which parts go there, how an object is written and removed,
and what `check`, `repair` and `gc` do about objects that no run refers to.

## The protocol

Every object has a row in `vbtr_objects` (named by the object's sha256,
`vectorbt.portfolio.registry.stores.artifacts`), and the row's lock guards the object:

- A writer first inserts the row (or takes it, when another run shares the object) in the transaction of its
  run, then uploads the object unless it is there, and only then commits the run with its parts: a run is
  visible completely or not at all.
- An object is removed only by a transaction that holds its row's lock and sees no part referring to it (a
  purge marks the rows of the objects it leaves unreferenced as `doomed` and removes them after its commit).
  A writer that wants such an object waits for that lock and then uploads the object again.
- An object without a row was uploaded by a writer that died before its commit (its transaction rolled back,
  taking the row with it). To remove it, a client inserts its row itself. While the writer's transaction is
  running, that insert waits for it (PostgreSQL waits for the in-progress insert of the same key), so an
  object whose run is being written is never taken for an orphan: when the writer commits, the row exists and
  the object is left alone. A wait longer than `LOCK_TIMEOUT` leaves the object alone too.

`check` reports objects and rows that no part refers to as leftovers; `repair` and `RunRegistry.gc`
(`remove_orphans`) remove them once they are older than `LEFTOVER_GRACE_SECONDS`, a margin on top of the lock
protocol (for clocks of the object store and the database that disagree, and so that a client never waits
on the lock of an upload in progress).
"""

import hashlib

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.spec import PORTFOLIO
from vectorbt.portfolio.registry.stores.base import Problem

__all__ = ["ObjectParts", "ARTIFACT_ROLES", "LEFTOVER_GRACE_SECONDS", "LOCK_TIMEOUT"]

ARTIFACT_ROLES = (PORTFOLIO,)
"""Parts that go to object storage when the store has one (`configs`, which `best` ranks, stays in the
database)."""

LEFTOVER_GRACE_SECONDS = 3600.0
"""`repair` and `gc` remove unreferenced objects older than this; younger ones may belong to a writer at work."""

LOCK_TIMEOUT = "5s"
"""Longest wait for the lock of an object's row when removing the object (`lock_timeout`)."""

_OBJECT_ROWS = ("SELECT o.key, o.doomed, EXISTS (SELECT 1 FROM vbtr_parts p WHERE p.object = o.key), "
                "extract(epoch FROM now() - o.created_at) FROM vbtr_objects o ORDER BY o.key")
"""Every object row: key, doomed, whether a part refers to it, age in seconds."""


class ObjectParts:
    """The object-storage side of `PostgresStore` (a mixin: it uses the store's `_run` and `_objects`)."""

    _artifacts_url: tp.Optional[str]

    def _run(self, what: str, work: tp.Callable[[tp.Any], tp.Any], write: bool = True) -> tp.Any:
        raise NotImplementedError  # pragma: no cover - PostgresStore's

    def _objects(self) -> tp.Any:
        raise NotImplementedError  # pragma: no cover - PostgresStore's

    # ############# Writing ############# #

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
        insert its parts, for `bump` to send."""
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

    # ############# Removing ############# #

    def _release(self, key: str, orphan: bool = False) -> bool:
        """Remove object `key` if no part refers to it, under its row's lock (a writer that wants it waits, and
        writes it again); with `orphan`, an object that has no row at all, whose row this inserts (waiting for
        a writer inserting it meanwhile). Whether it was removed: not when the lock is not had within
        `LOCK_TIMEOUT`."""
        from psycopg import errors

        def work(cur: tp.Any) -> bool:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
            try:
                with cur.connection.transaction():  # a savepoint: a wait cut short leaves everything as it is
                    if orphan:
                        cur.execute("INSERT INTO vbtr_objects (key, size, doomed) VALUES (%s, 0, true) "
                                    "ON CONFLICT (key) DO NOTHING RETURNING key", (key,))
                    else:
                        cur.execute("SELECT key FROM vbtr_objects WHERE key = %s AND doomed FOR UPDATE", (key,))
                    locked = cur.fetchone() is not None
            except errors.LockNotAvailable:
                return False
            if not locked:
                return False
            cur.execute("SELECT 1 FROM vbtr_parts WHERE object = %s LIMIT 1", (key,))
            if cur.fetchone() is not None:
                cur.execute("UPDATE vbtr_objects SET doomed = false WHERE key = %s", (key,))
                return False
            self._objects().remove(key)
            cur.execute("DELETE FROM vbtr_objects WHERE key = %s", (key,))
            return True

        return self._run("remove an object", work)

    def _object_problems(self, rows: tp.Sequence[tp.Any]) -> tp.List[Problem]:
        """What `check` says about objects: rows of `_OBJECT_ROWS` that no part refers to, then objects of the
        object storage without a row (listed after the rows were read)."""
        problems = []
        for key, doomed, referenced, age in rows:
            if not referenced:
                problems.append(Problem("leftover", None, key, "object row that no part refers to (a purge cut "
                                        "short, or a write in progress)",
                                        repairable=doomed or age > LEFTOVER_GRACE_SECONDS))
        objects = self._objects()
        if objects is not None:
            known = {k for k, *_ in rows}
            for key, age in sorted(objects.list().items()):
                if key not in known:
                    problems.append(Problem(
                        "leftover", None, key,
                        f"object that no run refers to (its writer died before the run was stored), {age:.0f} s old"
                        + ("" if age > LEFTOVER_GRACE_SECONDS else " (may belong to a writer still at work)"),
                        repairable=age > LEFTOVER_GRACE_SECONDS))
        return problems

    def _remove_leftovers(self, problems: tp.Sequence[Problem]) -> tp.List[tp.Tuple[str, str, bool]]:
        """Remove the repairable leftovers among `problems` (each under its row's lock): per action, the key,
        a line saying what was done, and whether an object was removed."""
        actions = []
        for p in problems:
            if p.kind != "leftover" or not p.repairable:
                continue
            if p.detail.startswith("object row"):
                self._run("mark an object", lambda cur, key=p.path: cur.execute(
                    "UPDATE vbtr_objects o SET doomed = true WHERE key = %s AND NOT EXISTS "
                    "(SELECT 1 FROM vbtr_parts p WHERE p.object = o.key)", (key,)))
                if self._objects() is not None and self._release(p.path):
                    actions.append((p.path, f"removed unreferenced object {p.path}", True))
                elif self._objects() is None:
                    self._run("forget an object", lambda cur, key=p.path: cur.execute(
                        "DELETE FROM vbtr_objects o WHERE key = %s AND doomed AND NOT EXISTS "
                        "(SELECT 1 FROM vbtr_parts p WHERE p.object = o.key)", (key,)))
                    actions.append((p.path, f"forgot the row of unreferenced object {p.path}", False))
            elif self._release(p.path, orphan=True):
                actions.append((p.path, f"removed leftover object {p.path}", True))
        return actions

    def remove_orphans(self) -> tp.List[str]:
        """Remove the objects that no run refers to (their writer died after uploading, or a purge was cut short)
        and that are older than `LEFTOVER_GRACE_SECONDS`; return their keys. `RunRegistry.gc` calls it.

        Never removes an object of a live run, nor one whose run is being written by another client: besides
        the age, each object is removed under the lock of its row, which a writer holds from before its upload
        to its commit (see the module's documentation). Raises `ReadOnlyError`."""
        self.check_writable()  # type: ignore[attr-defined]
        rows = self._run("list the objects", lambda cur: cur.execute(_OBJECT_ROWS).fetchall(), write=False)
        return [key for key, _, removed in self._remove_leftovers(self._object_problems(rows)) if removed]
