"""`StoreSuite`: the `RunStore` contract as pytest tests that any store can run.

A store's test module subclasses `StoreSuite` and implements `make_store`:

```python
from vectorbt.portfolio.registry.testing import StoreSuite

class TestMyStore(StoreSuite):
    def make_store(self, path, read_only=False):
        return MyStore(path, read_only=read_only)
```

`make_store(path, read_only)` opens the store kept at `path` (a folder the test gives; a store that keeps its
data elsewhere maps it to its own location, e.g. a database per path); called again with the same path, it
opens the same data. The suite checks what `vectorbt.portfolio.registry.stores.base` promises: atomic runs,
isolation, the errors of each verb, the summary table, `rebuild_index` equal to the incremental index,
`check`/`repair`, returned objects being copies, read-only handles, and threads sharing one store. Its tests
build records with `vectorbt.portfolio.registry.testing.records.make_run` (made-up metrics and bytes), so they
need neither vectorbt's simulation nor the metric kernels. Stores that several processes share also run
`vectorbt.portfolio.registry.testing.processes.MultiProcessStoreSuite`.

Every test runs under a hard timeout (`HARD_TIMEOUT` seconds): no test can hang.
"""

import contextlib
import dataclasses
import faulthandler
import os
import signal
import tempfile
import threading
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.configs import configs_bytes
from vectorbt.portfolio.registry.errors import DuplicateRunError, ReadOnlyError, RunNotFoundError
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.integrity import part_info
from vectorbt.portfolio.registry.spec import CONFIGS, FIELDS, METRIC_NAMES, PORTFOLIO
from vectorbt.portfolio.registry.stores.base import RunStore
from vectorbt.portfolio.registry.testing.records import files_of, make_run

__all__ = ["StoreSuite", "hard_timeout", "HardTimeout", "HARD_TIMEOUT", "BAD_RUN_IDS"]

HARD_TIMEOUT = 90
"""Seconds any single suite test may take before it is interrupted."""

BAD_RUN_IDS = ["../x", "", None, "x" * 5000, "20240101T000000000000Z-0000000", 17, b"id",
               "20240101T000000000000Z-deadbeef", "../../etc/passwd", "/etc", "a\x00b",
               "20240101T000000000000Z-deadbeef/..", ["x"]]
"""Unknown and malformed run ids that every verb must refuse with `RunNotFoundError`, touching nothing."""


class HardTimeout(BaseException):
    """Raised when a test exceeds its hard timeout. Not an `Exception`, so that nothing on the way (hypothesis
    shrinking a failure, a broad `except Exception`) mistakes it for an ordinary failure and carries on."""


TIMEOUT_DUMP = os.path.join(tempfile.gettempdir(), f"vbt-registry-tests-hard-timeout-{os.getpid()}.txt")
"""Where the tracebacks go if a test must be killed outright (pytest captures stderr, which would lose them)."""


@contextlib.contextmanager
def hard_timeout(seconds: float) -> tp.Iterator[None]:
    """Interrupt the block with `HardTimeout` after `seconds` (SIGALRM, main thread); as a last resort (stuck
    in C code), dump all tracebacks to `TIMEOUT_DUMP` and exit the whole process 30 s later.

    `VBT_REGISTRY_TEST_TIMEOUT_SCALE` multiplies every timeout (slow machines, debugging)."""
    seconds = seconds * float(os.environ.get("VBT_REGISTRY_TEST_TIMEOUT_SCALE", "1"))
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum: int, frame: tp.Any) -> None:
        raise HardTimeout(f"test exceeded its hard timeout of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    dump = open(TIMEOUT_DUMP, "w")
    faulthandler.dump_traceback_later(seconds + 30, exit=True, file=dump)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()
        dump.close()
        with contextlib.suppress(OSError):
            os.remove(TIMEOUT_DUMP)


class StoreSuite:
    """Tests of the `RunStore` contract. Subclasses implement `make_store` (and `state` when the store keeps its
    data elsewhere than in files below `root`)."""

    def make_store(self, path: tp.Any, read_only: bool = False) -> RunStore:
        """The store kept at `path` (created if missing unless read-only)."""
        raise NotImplementedError

    def state(self, store: RunStore) -> tp.Any:
        """A comparable picture of everything the store keeps, to prove that a call changed nothing. The
        default lists the files below `store.root` with their sizes and modification times."""
        return files_of(store.root)

    def allow_leftover_removal(self, monkeypatch: tp.Any) -> None:
        """Make `repair` remove leftovers of interrupted writes however young (stores with a grace period)."""

    # ############# Fixtures ############# #

    @pytest.fixture(autouse=True)
    def _hard_timeout(self, request: tp.Any) -> tp.Iterator[None]:
        with hard_timeout(getattr(request.function, "hard_timeout", HARD_TIMEOUT)):
            yield

    @pytest.fixture
    def store(self, tmp_path: tp.Any) -> RunStore:
        return self.make_store(tmp_path / "store")

    @pytest.fixture
    def reg(self, store: RunStore) -> RunRegistry:
        return RunRegistry(store)

    @staticmethod
    def put(store: RunStore, k: int = 0, **kwargs: tp.Any) -> tp.Tuple[tp.Any, tp.Dict[str, bytes]]:
        """Create a synthetic run (see `make_run`) in `store`; return its record and parts."""
        record, parts = make_run(k, **kwargs)
        store.create(record, parts)
        return record, parts

    # ############# Create and read ############# #

    def test_create_read_roundtrip(self, store: RunStore) -> None:
        rec, parts = self.put(store, 0, name="s", params={"a": 1, "b": (1, 2)}, tags=["x", "y"], notes="n")
        got = store.read(rec.run_id)
        assert got.to_dict() == rec.to_dict()
        pd.testing.assert_frame_equal(got.metrics, rec.metrics)
        assert store.read_part(rec.run_id, PORTFOLIO) == parts[PORTFOLIO]
        assert rec.run_id in store and len(store) == 1 and store.run_ids() == [rec.run_id]
        with pytest.raises(ValueError, match="role"):
            store.read_part(rec.run_id, "nope")

    def test_table_contents(self, store: RunStore) -> None:
        a, _ = self.put(store, 0, name="a", params={"fee": 0.1}, tags=["t1"])
        b, _ = self.put(store, 1, name="b", params={"asset": "X"}, tags=["t1", "t2"], notes="sweep", n_columns=3)
        c, _ = self.put(store, 2, name="c")
        table = store.table()
        assert list(table.index) == [a.run_id, b.run_id, c.run_id] and table.index.name == "run_id"
        fields = [f.name for f in FIELDS[1:]]
        assert list(table.columns[:len(fields)]) == fields and list(table.columns[-len(METRIC_NAMES):]) == list(
            METRIC_NAMES)
        assert list(table.columns[len(fields):-len(METRIC_NAMES)]) == ["asset", "fee", "window"]
        assert table.loc[a.run_id, "name"] == "a" and table.loc[a.run_id, "tags"] == ("t1",)
        assert table.loc[a.run_id, "fee"] == 0.1 and pd.isna(table.loc[c.run_id, "fee"])
        assert table.loc[b.run_id, "notes"] == "sweep" and table.loc[b.run_id, "n_columns"] == 3
        best = b.best_position("sharpe_ratio")
        assert table.loc[b.run_id, "column"] == b.columns[best] == table.loc[b.run_id, "window"]
        for metric in ("total_return", "sharpe_ratio", "max_drawdown"):
            assert table.loc[b.run_id, metric] == pytest.approx(b.metrics[metric].iloc[best], nan_ok=True)
            assert table.loc[a.run_id, metric] == pytest.approx(a.metrics[metric].iloc[0], nan_ok=True)
        assert table["deleted_at"].isna().all() and str(table["created_at"].dtype) == "datetime64[us, UTC]"
        assert store.table(deleted=True).empty

    def test_param_names_tell_nan_from_absent(self, store: RunStore) -> None:
        a, _ = self.put(store, 0, name="a", params={"x": float("nan"), "y": 1})
        b, _ = self.put(store, 1, name="b", params={"y": 2})
        c, _ = self.put(store, 2, name="c", n_columns=3)  # "window" is a column level: a parameter of its row
        table = store.table()
        assert pd.isna(table.loc[[a.run_id, b.run_id], "x"]).all()  # NaN and absent look alike...
        assert table.loc[a.run_id, "param_names"] == ("x", "y")  # ...param_names tells them apart
        assert table.loc[b.run_id, "param_names"] == ("y",) and table.loc[c.run_id, "param_names"] == ("window",)
        store.update(a.run_id, lambda r: dataclasses.replace(r, notes="changed"))
        assert store.table().loc[a.run_id, "param_names"] == ("x", "y")
        store.trash(a.run_id, datetime(2024, 5, 1, tzinfo=timezone.utc))
        assert store.table(deleted=True).loc[a.run_id, "param_names"] == ("x", "y")
        reg = RunRegistry(store)
        assert "x" not in reg.list().columns  # no live run has it
        assert "x" in reg.list(deleted=True).columns and "param_names" not in reg.list().columns

    def test_duplicate_create(self, store: RunStore) -> None:
        rec, parts = self.put(store, 0, name="d")
        before = self.state(store)
        with pytest.raises(DuplicateRunError):
            store.create(store.read(rec.run_id), parts)
        assert self.state(store) == before
        store.trash(rec.run_id, datetime.now(timezone.utc))
        with pytest.raises(DuplicateRunError):  # in the trash, the id is still taken
            store.create(store.read(rec.run_id, deleted=True).copy(deleted_at=None), parts)
        assert len(store) == 0 and store.run_ids(deleted=True) == [rec.run_id]

    def test_create_with_unique_identity(self, store: RunStore) -> None:
        first, parts = self.put(store, 0, name="same")
        twin, twin_parts = make_run(0, name="same")  # another run id, the same identity
        assert twin.identity == first.identity and twin.run_id != first.run_id
        before = self.state(store)
        with pytest.raises(DuplicateRunError) as e:
            store.create(twin, twin_parts, unique_identity=True)
        assert e.value.existing_run_id == first.run_id and first.run_id in str(e.value)
        assert self.state(store) == before and store.run_ids() == [first.run_id]
        other, other_parts = make_run(1, name="other")
        store.create(other, other_parts, unique_identity=True)  # another identity is welcome
        store.trash(first.run_id, datetime.now(timezone.utc))
        store.create(twin, twin_parts, unique_identity=True)  # a run in the trash does not count
        assert set(store.run_ids()) == {twin.run_id, other.run_id}
        again, again_parts = make_run(0, name="same")
        store.create(again, again_parts)  # without the flag, identities may repeat
        assert set(store.run_ids()) == {twin.run_id, other.run_id, again.run_id}

    def test_create_refuses_missing_parts_and_changes_nothing(self, store: RunStore) -> None:
        self.put(store, 0)
        rec, _ = make_run(1)
        before = self.state(store)
        with pytest.raises(ValueError, match="parts"):
            store.create(rec, {})
        assert self.state(store) == before and rec.run_id not in store and len(store) == 1

    def test_open_part_reads_ranges_of_the_part_as_it_was_opened(self, store: RunStore) -> None:
        rec, parts = self.put(store, 0)
        with store.open_part(rec.run_id, PORTFOLIO) as f:
            f.seek(3)
            head = f.read(5)
            store.trash(rec.run_id, datetime.now(timezone.utc))  # changed meanwhile: the open part reads on
            f.seek(0)
            whole = f.read()
        assert head == parts[PORTFOLIO][3:8] and whole == parts[PORTFOLIO]
        with store.open_part(rec.run_id, PORTFOLIO, deleted=True) as f:
            assert f.read() == parts[PORTFOLIO]
        with pytest.raises(RunNotFoundError):
            store.open_part(rec.run_id, PORTFOLIO)  # no live run of that id now
        with pytest.raises(ValueError, match="role"):
            store.open_part(rec.run_id, "nonsense", deleted=True)

    @pytest.mark.parametrize("bad", BAD_RUN_IDS)
    def test_unknown_and_malformed_ids(self, store: RunStore, reg: RunRegistry, bad: tp.Any) -> None:
        self.put(store, 0, name="only")
        before = self.state(store)
        now = datetime.now(timezone.utc)
        calls = [lambda: store.read(bad), lambda: store.read(bad, deleted=True),
                 lambda: store.read_part(bad, PORTFOLIO), lambda: store.open_part(bad, PORTFOLIO),
                 lambda: store.update(bad, lambda r: r),
                 lambda: store.trash(bad, now), lambda: store.restore(bad), lambda: store.purge(bad),
                 lambda: reg.get(bad), lambda: reg.load(bad), lambda: reg.delete(bad),
                 lambda: reg.update(bad, notes="x")]
        for call in calls:
            with pytest.raises(RunNotFoundError):
                call()
        assert (bad in reg) is False
        assert self.state(store) == before and len(store) == 1

    # ############# Update, trash, restore, purge ############# #

    def test_update(self, store: RunStore) -> None:
        rec, parts = self.put(store, 0, name="u", tags=["a"])
        new = store.update(rec.run_id, lambda r: r.copy(notes="changed", tags=r.tags + ["b"]))
        assert new.notes == "changed" and new.tags == ["a", "b"]
        got = store.read(rec.run_id)
        assert got.notes == "changed" and got.tags == ["a", "b"]
        pd.testing.assert_frame_equal(got.metrics, rec.metrics)
        assert store.read_part(rec.run_id, PORTFOLIO) == parts[PORTFOLIO]
        row = store.table().loc[rec.run_id]
        assert row["notes"] == "changed" and row["tags"] == ("a", "b")

    def test_update_cannot_change_run_id_and_failures_change_nothing(self, store: RunStore) -> None:
        rec, _ = self.put(store, 0, name="u")
        before = self.state(store)
        with pytest.raises(ValueError, match="run_id"):
            store.update(rec.run_id, lambda r: r.copy(run_id="20240101T000000000000Z-deadbeef"))

        def boom(r: tp.Any) -> tp.Any:
            raise RuntimeError("change failed")

        with pytest.raises(RuntimeError):
            store.update(rec.run_id, boom)
        assert self.state(store) == before
        assert store.read(rec.run_id).to_dict() == rec.to_dict()

    def test_rewrite_replaces_record_and_parts_at_once(self, store: RunStore) -> None:
        rec, parts = self.put(store, 0, name="r", tags=["a"])
        seen = []

        def build(current: tp.Any) -> tp.Any:
            seen.append(store.read_part(current.run_id, PORTFOLIO))  # build may read the run's parts
            new = current.copy(notes="rewritten")
            new.metrics = current.metrics * 2
            new_parts = {PORTFOLIO: b"a new portfolio", CONFIGS: configs_bytes(new)}
            new.parts = {role: part_info(data) for role, data in new_parts.items()}
            return new, new_parts

        new = store.rewrite(rec.run_id, build)
        assert seen == [parts[PORTFOLIO]] and new.notes == "rewritten"
        got = store.read(rec.run_id)
        assert got.to_dict() == new.to_dict() and got.tags == ["a"]
        pd.testing.assert_frame_equal(got.metrics, rec.metrics * 2)
        assert store.read_part(rec.run_id, PORTFOLIO) == b"a new portfolio"
        assert store.read_part(rec.run_id, CONFIGS) == configs_bytes(new)
        assert store.table().loc[rec.run_id, "notes"] == "rewritten" and store.run_ids() == [rec.run_id]
        store.trash(rec.run_id, datetime.now(timezone.utc))
        store.rewrite(rec.run_id, lambda r: (r.copy(notes="in the trash"), {
            PORTFOLIO: b"a new portfolio", CONFIGS: configs_bytes(r)}), deleted=True)
        assert store.read(rec.run_id, deleted=True).notes == "in the trash" and store.run_ids() == []
        with pytest.raises(RunNotFoundError):
            store.rewrite(rec.run_id, build)  # not live

    def test_metrics_that_differ_from_the_configs_part_are_refused(self, store: RunStore) -> None:
        # a run keeps one metric matrix (`RunRecord.metrics_in_configs`): a store may read it from either place
        rec, parts = make_run(0, n_columns=3)
        assert rec.metrics_in_configs
        bad = rec.copy()
        bad.metrics = rec.metrics + 1
        with pytest.raises(ValueError, match="metrics"):
            store.create(bad, parts)
        assert rec.run_id not in store and store.run_ids() == []
        store.create(rec, parts)
        before = self.state(store)

        def build(current: tp.Any) -> tp.Any:
            new = current.copy(notes="rewritten")
            new.metrics = current.metrics * 2  # the configs part still holds the old values
            return new, {PORTFOLIO: b"a new portfolio", CONFIGS: parts[CONFIGS]}

        with pytest.raises(ValueError, match="metrics"):
            store.rewrite(rec.run_id, build)
        with pytest.raises(ValueError, match="configs"):
            store.rewrite(rec.run_id, lambda r: (r, {PORTFOLIO: parts[PORTFOLIO], CONFIGS: b"not a table"}))
        assert self.state(store) == before
        pd.testing.assert_frame_equal(store.read(rec.run_id).metrics, rec.metrics)

    def test_rewrite_failures_change_nothing(self, store: RunStore) -> None:
        rec, parts = self.put(store, 0, name="r")
        before = self.state(store)

        def boom(r: tp.Any) -> tp.Any:
            raise RuntimeError("build failed")

        with pytest.raises(RuntimeError):
            store.rewrite(rec.run_id, boom)
        with pytest.raises(ValueError, match="run_id"):
            store.rewrite(rec.run_id, lambda r: (r.copy(run_id="20240101T000000000000Z-deadbeef"), parts))
        with pytest.raises(ValueError, match="parts"):  # not the parts the record lists
            store.rewrite(rec.run_id, lambda r: (r, {PORTFOLIO: b"other bytes"}))
        with pytest.raises(RunNotFoundError):
            store.rewrite("20240101T000000000000Z-deadbeef", lambda r: (r, parts))
        assert self.state(store) == before
        assert store.read(rec.run_id).to_dict() == rec.to_dict()
        assert store.read_part(rec.run_id, PORTFOLIO) == parts[PORTFOLIO]

    def test_trash_restore_purge(self, store: RunStore) -> None:
        keep, _ = self.put(store, 1, name="keep")
        rec, parts = self.put(store, 0, name="t")
        when = datetime(2024, 5, 1, tzinfo=timezone.utc)
        trashed = store.trash(rec.run_id, when)
        assert trashed.deleted_at == when
        assert rec.run_id not in store and len(store) == 1 and list(store.table().index) == [keep.run_id]
        assert list(store.table(deleted=True).index) == [rec.run_id]
        assert store.table(deleted=True).loc[rec.run_id, "deleted_at"] == pd.Timestamp(when)
        assert store.read(rec.run_id, deleted=True).deleted_at == when
        assert store.read_part(rec.run_id, PORTFOLIO, deleted=True) == parts[PORTFOLIO]
        for call in (lambda: store.read(rec.run_id), lambda: store.read_part(rec.run_id, PORTFOLIO),
                     lambda: store.update(rec.run_id, lambda r: r), lambda: store.trash(rec.run_id, when),
                     lambda: store.purge(keep.run_id), lambda: store.restore(keep.run_id)):
            with pytest.raises(RunNotFoundError):
                call()
        restored = store.restore(rec.run_id)
        assert restored.deleted_at is None and rec.run_id in store and store.table(deleted=True).empty
        assert store.read(rec.run_id).to_dict() == rec.to_dict()
        assert store.read_part(rec.run_id, PORTFOLIO) == parts[PORTFOLIO]
        store.trash(rec.run_id, when)
        store.purge(rec.run_id)
        for deleted in (False, True):
            assert rec.run_id not in store.table(deleted=deleted).index
            with pytest.raises(RunNotFoundError):
                store.read(rec.run_id, deleted=deleted)
        with pytest.raises(RunNotFoundError):
            store.restore(rec.run_id)
        assert store.read(keep.run_id).name == "keep"  # isolation: other runs untouched

    # ############# Queries ############# #

    def test_select_filters_with_a_parsed_query(self, store: RunStore) -> None:
        from vectorbt.portfolio.registry.query import parse

        a, _ = self.put(store, 0, name="a", params={"fee": 0.1})
        b, _ = self.put(store, 1, name="b", params={"fee": 0.3}, n_columns=3)
        assert list(store.select(parse("fee > 0.2")).index) == [b.run_id]
        assert list(store.select(parse("name == 'a' or n_columns > 5")).index) == [a.run_id]
        assert list(store.select(None).index) == [a.run_id, b.run_id]
        with pytest.raises(ValueError, match="nope"):
            store.select(parse("nope > 1"))

    # ############# Copies ############# #

    def test_returned_objects_are_copies(self, store: RunStore, reg: RunRegistry) -> None:
        rec, _ = self.put(store, 0, name="c", params={"lst": [1, 2], "d": {"k": [3]}, "arr": np.arange(3)},
                          tags=["a"])
        got = store.read(rec.run_id)
        got.tags.append("zzz")
        got.params["lst"].append(99)
        got.params["d"]["k"].append(99)
        got.params["arr"][0] = 99
        got.parts[PORTFOLIO]["size"] = -1
        got.metrics.iloc[0, 0] = -1.0
        got.name = "other"
        again = store.read(rec.run_id)
        assert again.to_dict() == rec.to_dict() and again.params["lst"] == [1, 2]
        pd.testing.assert_frame_equal(again.metrics, rec.metrics)
        table = store.table()
        table.loc[rec.run_id, "lst"].append(99)
        table.loc[rec.run_id, "d"]["k"].append(99)
        table.loc[rec.run_id, "arr"][0] = 99
        table.loc[rec.run_id, "name"] = "other"
        del table["notes"]
        fresh = store.table()
        assert fresh.loc[rec.run_id, "lst"] == [1, 2] and fresh.loc[rec.run_id, "d"] == {"k": [3]}
        assert fresh.loc[rec.run_id, "arr"].tolist() == [0, 1, 2]
        assert fresh.loc[rec.run_id, "name"] == "c" and "notes" in fresh.columns
        returned = reg.get(rec.run_id)
        returned.params["lst"].append(5)
        assert reg.get(rec.run_id).params["lst"] == [1, 2]
        new = store.update(rec.run_id, lambda r: r.copy(notes="x"))
        new.params["lst"].append(7)
        assert store.read(rec.run_id).params["lst"] == [1, 2]

    # ############# Read-only ############# #

    def test_read_only_refuses_writes_and_writes_nothing(self, tmp_path: tp.Any) -> None:
        path = tmp_path / "store"
        writer = self.make_store(path)
        a, a_parts = self.put(writer, 0, name="a", tags=["x"])
        b, _ = self.put(writer, 1, name="b")
        RunRegistry(writer).delete(b.run_id)
        writer.table()
        assert writer.remove_orphans() == []  # nothing left behind by complete writes
        before = self.state(writer)
        time.sleep(0.01)
        store = self.make_store(path, read_only=True)
        assert store.read_only
        ro = RunRegistry(store)
        assert list(ro.list().index) == [a.run_id] and len(ro) == 1 and a.run_id in ro
        assert list(ro.list(deleted=True).index) == [b.run_id]
        assert ro.get(a.run_id).to_dict() == a.to_dict()
        assert store.read_part(a.run_id, PORTFOLIO) == a_parts[PORTFOLIO]
        assert len(ro.best("total_return")) == 1 and ro.compare([a.run_id]).shape[1] == 1
        assert ro.check() == []
        now = datetime.now(timezone.utc)
        for call in (lambda: store.create(make_run(5)[0], make_run(5)[1]), store.check_writable,
                     lambda: store.update(a.run_id, lambda r: r), lambda: store.trash(a.run_id, now),
                     lambda: store.restore(b.run_id), lambda: store.purge(b.run_id), store.rebuild_index,
                     lambda: store.rewrite(a.run_id, lambda r: (r, a_parts)),
                     store.repair, store.remove_orphans, lambda: ro.update(a.run_id, notes="x"),
                     lambda: ro.delete(a.run_id),
                     lambda: ro.restore(b.run_id), ro.gc, ro.repair, ro.rebuild_index):
            with pytest.raises(ReadOnlyError, match="read-only"):
                call()
        assert self.state(writer) == before

    # ############# Index ############# #

    def test_rebuild_index_equals_incremental_index(self, tmp_path: tp.Any) -> None:
        path = tmp_path / "store"
        store = self.make_store(path)
        reg = RunRegistry(store)
        ids = [self.put(store, i, name=f"r{i}", params={"i": i, "lst": [i]}, tags=[f"t{i}"],
                        n_columns=3 if i == 2 else 1)[0].run_id for i in range(5)]
        reg.update(ids[0], add_tags=["extra"], notes="n")
        reg.delete(ids[1])
        reg.delete(ids[2])
        reg.restore(ids[2])
        reg.delete(ids[3], purge=True)
        live, trash = store.table(), store.table(deleted=True)
        fresh = self.make_store(path)
        pd.testing.assert_frame_equal(fresh.table(), live)
        pd.testing.assert_frame_equal(fresh.table(deleted=True), trash)
        assert store.rebuild_index() == 4
        pd.testing.assert_frame_equal(store.table(), live)
        pd.testing.assert_frame_equal(store.table(deleted=True), trash)
        pd.testing.assert_frame_equal(self.make_store(path).table(), live)
        assert store.check() == [] and reg.check() == []

    def test_check_and_repair_on_a_healthy_store(self, store: RunStore, reg: RunRegistry) -> None:
        self.put(store, 0, name="h")
        reg.list()
        before = self.state(store)
        assert store.check() == [] and reg.check() == []
        assert self.state(store) == before
        assert reg.repair() == []

    def test_check_reports_a_part_that_does_not_match(self, store: RunStore, reg: RunRegistry) -> None:
        rec, parts = make_run(0)
        rec.parts[PORTFOLIO]["sha256"] = "0" * 64  # as if the bytes had been changed after registration
        store.create(rec, parts)
        problems = reg.check()
        assert [(p.kind, p.run_id) for p in problems] == [("checksum", rec.run_id)]
        assert not problems[0].repairable

    def test_concurrent_updates_from_threads(self, store: RunStore, reg: RunRegistry) -> None:
        rec, _ = self.put(store, 0, name="thr")
        errors = []

        def work(k: int) -> None:
            try:
                for j in range(10):
                    reg.update(rec.run_id, add_tags=[f"k{k}-{j}"])
                    store.table()
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and not any(t.is_alive() for t in threads)
        expected = {f"k{k}-{j}" for k in range(4) for j in range(10)}
        assert set(store.read(rec.run_id).tags) == expected
        assert set(store.table().loc[rec.run_id, "tags"]) == expected

    # ############# select and read_parts: what list and best ask of a store ############# #

    @staticmethod
    def same_selection(got: pd.DataFrame, expected: pd.DataFrame) -> None:
        """`got` selects the rows of `expected`, in its order, with its values. A store that selects without the
        whole table may leave out parameter columns that none of the rows has, and type a parameter column by
        the rows it returns (`int64` where the whole table has `float64`)."""
        assert list(got.index) == list(expected.index)
        absent = [c for c in expected.columns if c not in got.columns]
        assert list(got.columns) == [c for c in expected.columns if c not in absent]
        assert not any(c in names for names in expected["param_names"] for c in absent)
        pd.testing.assert_frame_equal(got, expected[list(got.columns)], check_dtype=False)

    def selection_runs(self, store: RunStore) -> tp.Tuple[RunStore, tp.List[tp.Any]]:
        """Runs with names, tags, statuses, parents, parameters and metrics (NaN, ±inf and ties among them) put
        in `store` and in an `InMemoryStore`, whose `select` is `RunStore.select`'s own: the reference."""
        from vectorbt.portfolio.registry.stores.memory import InMemoryStore

        reference = InMemoryStore()
        nan, inf = float("nan"), float("inf")
        sharpe = [0.5, nan, inf, 0.5, -1.0, -inf, 2.0, 0.5]
        records = []
        for k in range(8):
            record, parts = make_run(k, name="ab"[k % 2] if k < 6 else "c", params={"fee": 0.1 * (k % 4)}
                                     if k != 3 else {"other": "x"}, tags=[["x"], ["x", "y"], [], ["y"]][k % 4],
                                     n_columns=3 if k in (2, 5) else 1,
                                     metrics={"sharpe_ratio": [sharpe[k]] * (3 if k in (2, 5) else 1)})
            if k in (1, 4):
                record = record.copy(status="candidate")
            if k >= 5:
                record = record.copy(parent=records[0].run_id)
            record.parts = {role: part_info(data) for role, data in parts.items()}
            store.create(record, parts)
            reference.create(record, parts)
            records.append(record)
        when = datetime(2024, 5, 1, tzinfo=timezone.utc)
        for target in (store, reference):
            target.trash(records[6].run_id, when)
        return reference, records

    def test_select_takes_run_filters_a_sort_and_a_limit(self, tmp_path: tp.Any) -> None:
        """`select` with filters, a query, a sort and a limit selects what `RunStore.select` (over `table`)
        selects, from a fresh handle and from one that read the table, and `list` and `best` on the store show
        what they show on the reference."""
        from vectorbt.portfolio.registry.query import parse

        path = tmp_path / "store"
        store = self.make_store(path)
        reference, records = self.selection_runs(store)
        first, hidden = records[0].run_id, ("identity", "param_names", "deleted_at")
        cases = [
            {}, {"name": ["a", "c"]}, {"tags": ["x"]}, {"tags": ["x", "y"]}, {"tags": ["nope"]},
            {"status": ["candidate", "live"]}, {"parent": first}, {"parent": "20240101T000000000000Z-deadbeef"},
            {"where": "sharpe_ratio > 0"}, {"where": "fee < 0.25 and sharpe_ratio > -2"},
            {"where": "name == 'a' or 'y' in tags"}, {"where": "other == 'x' or n_columns > 2"},
            {"where": "status.isna() and not (sharpe_ratio >= 1)"},
            {"sort_by": "sharpe_ratio", "ascending": False, "limit": 3}, {"sort_by": "sharpe_ratio"},
            {"sort_by": "n_columns", "ascending": False, "limit": 2}, {"sort_by": "created_at", "limit": 5},
            {"sort_by": "run_id", "ascending": False, "limit": 2}, {"sort_by": "name", "ascending": False},
            {"sort_by": "fee", "limit": 4}, {"ascending": False, "limit": 2}, {"limit": 0},
            {"name": ["a"], "where": "sharpe_ratio > -5", "sort_by": "total_return", "ascending": False, "limit": 1},
            {"tags": ["x"], "where": "fee >= 0", "sort_by": "sharpe_ratio", "ascending": False},
        ]
        for deleted in (False, True):
            shown = tuple(h for h in hidden if not deleted or h != "deleted_at")
            for case in cases:
                args = {k: v for k, v in case.items() if k != "where"}
                where = parse(case["where"]) if "where" in case else None
                expected = reference.select(where, deleted, **args, hidden=shown)
                for handle in (self.make_store(path, read_only=True), store):  # fresh, then warm
                    self.same_selection(handle.select(where, deleted, **args, hidden=shown), expected)
                store.table()
        assert list(store.select(parse("fee > 0.2")).index) == list(reference.select(parse("fee > 0.2")).index)
        for handle in (self.make_store(path, read_only=True), store):
            for where, sort_by in (("deleted_at.isna()", None), ("identity == ''", None), ("nope > 1", None),
                                   (None, "identity"), (None, "nope"), ("sharpe_ratio > 0", "deleted_at")):
                query = None if where is None else parse(where)
                with pytest.raises(ValueError) as expected_error:
                    reference.select(query, sort_by=sort_by, hidden=hidden)
                with pytest.raises(ValueError) as error:
                    handle.select(query, sort_by=sort_by, hidden=hidden)
                assert str(error.value) == str(expected_error.value)
        ours, theirs = RunRegistry(self.make_store(path, read_only=True)), RunRegistry(reference)
        for kwargs in ({}, {"where": "sharpe_ratio > 0", "sort_by": "total_return", "limit": 3},
                       {"tags": ["x"], "sort_by": "sharpe_ratio", "ascending": False}, {"deleted": True},
                       {"name": "b", "where": "fee > 0"}):
            pd.testing.assert_frame_equal(ours.list(**kwargs), theirs.list(**kwargs), check_dtype=False)
        for kwargs in ({"n": None}, {"n": 4, "where": "window > 3 or fee > 0.15"}, {"name": ["a"], "n": 2},
                       {"metric": "total_return", "tags": ["y"]}):
            pd.testing.assert_frame_equal(ours.best(**kwargs), theirs.best(**kwargs))

    def test_read_parts_in_order_leaving_out_what_read_part_refuses(self, store: RunStore) -> None:
        a, a_parts = self.put(store, 0, name="a")
        b, b_parts = self.put(store, 1, name="b")
        c, c_parts = self.put(store, 2, name="c", n_columns=3)
        d, d_parts = make_run(3, name="no configs")
        d.parts = {PORTFOLIO: d.parts[PORTFOLIO]}  # a run of schema 1 has no configurations table
        store.create(d, {PORTFOLIO: d_parts[PORTFOLIO]})
        store.trash(b.run_id, datetime.now(timezone.utc))
        unknown = "20240101T000000000000Z-deadbeef"
        asked = [c.run_id, "../x", a.run_id, b.run_id, unknown, d.run_id, c.run_id]
        assert list(store.read_parts(asked, CONFIGS)) == [(c.run_id, c_parts[CONFIGS]), (a.run_id, a_parts[CONFIGS]),
                                                          (c.run_id, c_parts[CONFIGS])]
        assert list(store.read_parts(asked, PORTFOLIO)) == [
            (c.run_id, c_parts[PORTFOLIO]), (a.run_id, a_parts[PORTFOLIO]), (d.run_id, d_parts[PORTFOLIO]),
            (c.run_id, c_parts[PORTFOLIO])]
        assert list(store.read_parts(asked, PORTFOLIO, deleted=True)) == [(b.run_id, b_parts[PORTFOLIO])]
        assert list(store.read_parts([], CONFIGS)) == []
        with pytest.raises(ValueError, match="role"):
            list(store.read_parts([a.run_id], "nope"))
        parts = store.read_parts([a.run_id, c.run_id, d.run_id] * 20, PORTFOLIO)
        assert next(parts) == (a.run_id, a_parts[PORTFOLIO])
        parts.close()  # a reader may stop early; the store carries on
        assert store.read(c.run_id).to_dict() == c.to_dict() and len(store) == 3
        assert len(RunRegistry(store).best(n=None)) == 5  # 1 + 3 configurations, and d's from its record
