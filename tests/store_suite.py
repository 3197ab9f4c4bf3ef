"""The `RunStore` contract as a test suite that every store must pass.

A store's test module subclasses `StoreSuite` and implements `make_store`:

```python
class TestMyStore(StoreSuite):
    def make_store(self, path, read_only=False):
        return MyStore(path, read_only=read_only)
```

The suite checks what `vectorbt/portfolio/registry/stores/base.py` promises: atomic runs, isolation, errors
(`RunNotFoundError` for unknown and malformed ids, `DuplicateRunError`, `ReadOnlyError`), cheap listing with
`rebuild_index` equal to the incremental index, `check`/`repair`, returned objects being copies, and, with
several processes, concurrent writers and readers, and processes killed with SIGKILL in the middle of writes.

Child processes come from a `forkserver` whose server process has imported vectorbt and compiled what a
registration needs once (`start_forkserver`): a fresh interpreter per child would pay vectorbt's import and
numba's compilation every time, and forking the test process itself is unsafe once numba's thread pool runs.
The store to use in a child is named by the test class (module and name), which the child imports.

Every test here runs under a hard timeout (`HARD_TIMEOUT` seconds, more for the multi-process ones): no
test can hang.
"""

import contextlib
import faulthandler
import hashlib
import importlib
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

HARD_TIMEOUT = 90
"""Seconds any single suite test may take before it is interrupted."""

WARMUP_ENV = "VBT_REGISTRY_TEST_WARMUP"
"""Set in the forkserver's environment only: importing this module there warms up vectorbt and numba."""

N_WRITERS, RUNS_PER_WRITER, TAGS_PER_WRITER = 4, 50, 10
"""Size of the concurrent-writers test (kept small for CI; `benchmarks/stress_concurrency.py` goes bigger)."""

N_KILLS = 24
"""How many times the crash test kills a writing child with SIGKILL."""


# ############# Helpers that also run in child processes ############# #


def tiny_pf(k: int = 0, n: int = 20):
    """A one-column portfolio of `n` daily bars; `k` varies the prices, so that pickles differ."""
    import vectorbt as vbt

    rng = np.random.default_rng(k)
    close = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.001, 0.02, n))),
                      index=pd.date_range("2024-01-01", periods=n, freq="D"))
    return vbt.Portfolio.from_holding(close, freq="1D")


def tiny_sweep_pf(n: int = 20):
    """A three-configuration portfolio with a named column level `window` (a per-configuration parameter)."""
    import vectorbt as vbt

    rng = np.random.default_rng(11)
    close = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.001, 0.02, n))),
                      index=pd.date_range("2024-01-01", periods=n, freq="D"))
    frame = pd.concat([close * (1 + 0.01 * w) for w in (3, 5, 8)], axis=1)
    frame.columns = pd.Index([3, 5, 8], name="window")
    return vbt.Portfolio.from_holding(frame, freq="1D")


def files_of(path) -> dict:
    """Every file and folder below `path` with its size and mtime: to prove that nothing changed."""
    out = {}
    for folder, dirs, names in os.walk(path):
        for name in dirs + names:
            full = os.path.join(folder, name)
            st = os.lstat(full)
            out[os.path.relpath(full, path)] = (st.st_size if name in names else None, st.st_mtime_ns)
    return out


def pickle_sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def store_factory(spec):
    """The `make_store` of the test class named by `spec` = (module, qualified name)."""
    module, qualname = spec
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj().make_store


_WARMED = False
"""Whether `_warm_up` ran in this process (or in the forkserver it was forked from)."""


def _warm_up() -> None:
    """Import vectorbt and compile everything a registration runs (forkserver only: children inherit it)."""
    global _WARMED
    import vectorbt as vbt  # noqa: F401

    from vectorbt.portfolio.registry import RunRegistry  # noqa: F401
    from vectorbt.portfolio.registry.metrics import compute_metrics

    pf = tiny_pf(0)
    compute_metrics(pf)
    vbt.Portfolio.loads(pf.dumps())
    _WARMED = True


def _check_warm() -> None:
    """Children must come warm from the forkserver; compiling in each of them would take minutes."""
    assert _WARMED, ("this child process was not forked from a warmed-up forkserver (preloading "
                     f"{__name__!r} failed there?): it would compile vectorbt's numba code itself")


if os.environ.get(WARMUP_ENV) == "1" and mp.parent_process() is None:
    _warm_up()


_forkserver_lock = threading.Lock()


def start_forkserver():
    """Start (once) the forkserver whose children run the multi-process tests; return the context.

    The server imports this module with `WARMUP_ENV` set, which compiles vectorbt's and the registry's numba
    code there, once. Numba's `workqueue` threading layer is used in it: unlike GNU OpenMP, it is safe to
    fork after use. Calling this early (at collection) lets the warm-up overlap with other tests."""
    ctx = mp.get_context("forkserver")
    if mp.parent_process() is not None or os.environ.get(WARMUP_ENV):
        return ctx
    from multiprocessing import forkserver

    with _forkserver_lock:
        if getattr(forkserver._forkserver, "_forkserver_pid", None) is None:
            here = os.path.dirname(os.path.abspath(__file__))
            if here not in sys.path:
                sys.path.insert(0, here)
            ctx.set_forkserver_preload([__name__])
            # the server ignores the sys.path it is given (Python < 3.12): PYTHONPATH makes this module importable
            pythonpath = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
            saved = {k: os.environ.get(k)
                     for k in (WARMUP_ENV, "NUMBA_THREADING_LAYER", "NUMBA_NUM_THREADS", "PYTHONPATH")}
            os.environ.update({WARMUP_ENV: "1", "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "1",
                               "PYTHONPATH": pythonpath})
            try:
                forkserver.ensure_running()
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
    return ctx


class HardTimeout(BaseException):
    """Raised when a test exceeds its hard timeout. Not an `Exception`, so that nothing on the way (hypothesis
    shrinking a failure, a broad `except Exception`) mistakes it for an ordinary failure and carries on."""


TIMEOUT_DUMP = os.path.join(tempfile.gettempdir(), f"vbt-registry-tests-hard-timeout-{os.getpid()}.txt")
"""Where the tracebacks go if a test must be killed outright (pytest captures stderr, which would lose them)."""


@contextlib.contextmanager
def hard_timeout(seconds: float):
    """Interrupt the block with `HardTimeout` after `seconds` (SIGALRM, main thread); as a last resort (stuck
    in C code), dump all tracebacks to `TIMEOUT_DUMP` and exit the whole process 30 s later.

    `VBT_REGISTRY_TEST_TIMEOUT_SCALE` multiplies every timeout (slow machines, debugging)."""
    seconds = seconds * float(os.environ.get("VBT_REGISTRY_TEST_TIMEOUT_SCALE", "1"))
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
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


def _say(fd: int, *words) -> None:
    """Append one line to a log file in one `write` (whole lines, even if the writer is killed)."""
    os.write(fd, (" ".join(str(w) for w in words) + "\n").encode())


def _read_lines(path) -> list:
    """Complete lines of a log (a line without its newline was being written when the writer died)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode()
    except FileNotFoundError:
        return []
    return [line.split() for line in text.split("\n")[:-1]]


def writer_worker(spec, path, worker, n_runs, n_tags, barrier, progress_path, result_path):
    """Concurrent-writers test, one writer: register `n_runs` runs (listing now and then), then add `n_tags`
    tags to the oldest run, which every writer does at the same time, and delete, restore, purge a few."""
    _check_warm()
    from vectorbt.portfolio.registry import RunRegistry

    barrier.wait(timeout=120)
    reg = RunRegistry(store_factory(spec)(path))  # all writers create the new registry at once
    fd = os.open(progress_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    ids, unseen, shas = [], [], {}
    for i in range(n_runs):
        rec = reg.register(tiny_pf(1000 * worker + i), name=f"writer{worker}", params={"worker": worker, "i": i},
                           tags=[f"w{worker}"])
        ids.append(rec.run_id)
        shas[rec.run_id] = rec.files["portfolio.pkl"]["sha256"]
        _say(fd, "registered", rec.run_id)
        if i % 10 == 9:  # a listing in the middle of everyone's writes sees at least our own runs
            listed = set(reg.list().index)
            unseen += [r for r in ids if r not in listed]
            assert len(reg) >= len(ids)
    barrier.wait(timeout=120)
    target = min(reg)  # the oldest run: the same for every writer, as all runs exist by now
    for j in range(n_tags):
        reg.update(target, add_tags=[f"t{worker}-{j}"])
    doomed, trashed, restored = ids[-3], ids[-1], ids[-2]
    for run_id in (doomed, trashed, restored):
        reg.delete(run_id)
    reg.restore(restored)
    _say(fd, "purging", doomed)
    reg.store.purge(doomed)
    barrier.wait(timeout=120)
    with open(result_path, "w") as f:
        json.dump({"ids": ids, "shas": shas, "unseen": unseen, "target": target, "purged": [doomed],
                   "trashed": [trashed], "restored": [restored]}, f)


def reader_worker(spec, path, stop, progress_paths, result_path):
    """Concurrent-writers test, the reader: keeps listing while the writers write; every run a writer logged
    as registered before a listing started must be in that listing (live or in the trash)."""
    _check_warm()
    from vectorbt.portfolio.registry import RunRegistry

    deadline = time.monotonic() + 150
    while True:  # the writers create the registry: wait for it
        try:
            reg = RunRegistry(store_factory(spec)(path, read_only=True))
            break
        except Exception:  # noqa: BLE001 - not laid out yet
            assert time.monotonic() < deadline, "no registry appeared"
            time.sleep(0.05)

    def logged(kind):
        return {words[1] for p in progress_paths for words in _read_lines(p) if words[0] == kind}

    listings, violations = 0, []
    while not stop.is_set() and time.monotonic() < deadline:
        registered = logged("registered")
        # live, trash, live again: a run deleted or restored meanwhile is in one of them (each call is
        # consistent in itself, the three together are not one view)
        tables = [reg.store.table(), reg.store.table(deleted=True), reg.store.table()]
        seen = set().union(*(t.index for t in tables))
        missing = registered - seen - logged("purging")
        if missing:
            violations.append(sorted(missing))
        assert all(t.index.is_unique for t in tables)
        assert tables[0]["deleted_at"].isna().all() and tables[1]["deleted_at"].notna().all()
        listings += 1
        if listings % 5 == 0:
            reg.best("total_return", n=3)
        time.sleep(0.01)
    with open(result_path, "w") as f:
        json.dump({"listings": listings, "violations": violations}, f)


def crash_child(spec, path, log_path, seed, live, trashed):
    """Crash test, the victim: registers runs, tags, deletes and restores them until it is killed. Each
    operation is logged before it starts (`begin`) and after it returned (`done`); writes are slowed down
    (a sleep before every fsync) so that the kills land in the middle of them."""
    _check_warm()
    from vectorbt.portfolio.registry import RunRegistry

    rng = random.Random(seed)
    real_fsync = os.fsync

    def slow_fsync(fd):
        time.sleep(rng.uniform(0, 0.006))
        real_fsync(fd)

    os.fsync = slow_fsync
    reg = RunRegistry(store_factory(spec)(path))
    pf = tiny_pf(seed)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    live, trashed = list(live), list(trashed)
    _say(fd, "ready")
    for i in range(10_000):
        r = rng.random()
        if r < 0.6 or not live:
            _say(fd, "begin", "register")
            rec = reg.register(pf, name="crash", params={"seed": seed, "i": i}, tags=["crash"])
            _say(fd, "done", "register", rec.run_id, rec.files["portfolio.pkl"]["sha256"], seed, i)
            live.append(rec.run_id)
        elif r < 0.8:
            run_id, tag = rng.choice(live), f"s{seed}-{i}"
            _say(fd, "begin", "tag", run_id, tag)
            reg.update(run_id, add_tags=[tag])
            _say(fd, "done", "tag", run_id, tag)
        elif r < 0.92 or not trashed:
            run_id = rng.choice(live)
            _say(fd, "begin", "delete", run_id)
            reg.delete(run_id)
            _say(fd, "done", "delete", run_id)
            live.remove(run_id)
            trashed.append(run_id)
        else:
            run_id = rng.choice(trashed)
            _say(fd, "begin", "restore", run_id)
            reg.restore(run_id)
            _say(fd, "done", "restore", run_id)
            trashed.remove(run_id)
            live.append(run_id)


def _join_all(procs, timeout: float) -> None:
    """Wait for the processes; kill them all and fail if they take longer than `timeout` or fail."""
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
        p.join(10)
    assert not alive, f"{len(alive)} child processes still running after {timeout} s: killed"
    codes = [p.exitcode for p in procs]
    assert all(c == 0 for c in codes), f"child processes failed: exit codes {codes}"


# ############# The suite ############# #


class StoreSuite:
    """Tests of the `RunStore` contract. Subclasses implement `make_store`."""

    def make_store(self, path, read_only=False):
        """A store kept in the folder `path` (created if missing unless read-only)."""
        raise NotImplementedError

    def store_spec(self):
        """How a child process finds `make_store`: this test class's module and name."""
        return type(self).__module__, type(self).__qualname__

    def allow_leftover_removal(self, monkeypatch) -> None:
        """Make `repair` remove leftovers of interrupted writes however young (stores with a grace period)."""

    # ############# Fixtures ############# #

    @pytest.fixture(autouse=True)
    def _hard_timeout(self, request):
        with hard_timeout(getattr(request.function, "hard_timeout", HARD_TIMEOUT)):
            yield

    @pytest.fixture(scope="class")
    @classmethod
    def pf(cls):
        return tiny_pf(0)

    @pytest.fixture(scope="class")
    @classmethod
    def pf2(cls):
        return tiny_pf(1)

    @pytest.fixture(scope="class")
    @classmethod
    def sweep_pf(cls):
        return tiny_sweep_pf()

    @pytest.fixture
    def store(self, tmp_path):
        return self.make_store(tmp_path / "store")

    @pytest.fixture
    def reg(self, store):
        from vectorbt.portfolio.registry import RunRegistry

        return RunRegistry(store)

    # ############# Create and read ############# #

    def test_create_read_roundtrip(self, store, reg, pf):
        rec = reg.register(pf, name="s", params={"a": 1, "b": (1, 2)}, tags=["x", "y"], notes="n")
        got = store.read(rec.run_id)
        assert got.to_dict() == rec.to_dict()
        pd.testing.assert_frame_equal(got.metrics, rec.metrics)
        blob = store.read_pickle(rec.run_id)
        info = rec.files["portfolio.pkl"]
        assert pickle_sha(blob) == info["sha256"] and len(blob) == info["size"]
        assert blob == pf.dumps()
        assert rec.run_id in store and len(store) == 1 and store.run_ids() == [rec.run_id]

    def test_table_contents(self, store, reg, pf, pf2, sweep_pf):
        a = reg.register(pf, name="a", params={"fee": 0.1}, tags=["t1"])
        b = reg.register(sweep_pf, name="b", params={"asset": "X"}, tags=["t1", "t2"], notes="sweep")
        c = reg.register(pf2, name="c")
        table = store.table()
        assert list(table.index) == [a.run_id, b.run_id, c.run_id] and table.index.name == "run_id"
        assert table.loc[a.run_id, "name"] == "a" and table.loc[a.run_id, "tags"] == ("t1",)
        assert table.loc[a.run_id, "fee"] == 0.1 and pd.isna(table.loc[c.run_id, "fee"])
        assert table.loc[b.run_id, "notes"] == "sweep" and table.loc[b.run_id, "n_columns"] == 3
        best = b.best_position("sharpe_ratio")
        assert table.loc[b.run_id, "column"] == b.columns[best] == table.loc[b.run_id, "window"]
        for metric in ("total_return", "sharpe_ratio", "max_drawdown"):
            assert table.loc[b.run_id, metric] == pytest.approx(b.metrics[metric].iloc[best], nan_ok=True)
            assert table.loc[a.run_id, metric] == pytest.approx(a.metrics[metric].iloc[0], nan_ok=True)
        assert table["deleted_at"].isna().all()
        assert store.table(deleted=True).empty

    def test_params_present_tells_nan_from_absent(self, store, reg, pf, pf2, sweep_pf):
        import dataclasses

        a = reg.register(pf, name="a", params={"x": float("nan"), "y": 1})
        b = reg.register(pf2, name="b", params={"y": 2})
        c = reg.register(sweep_pf, name="c")  # "window" is a column level: a parameter of its row too
        names = ["x", "y", "window", "nope"]
        assert pd.isna(store.table().loc[[a.run_id, b.run_id], "x"]).all()  # NaN and absent look alike
        assert store.params_present([a.run_id], names) == {"x", "y"}
        assert store.params_present([b.run_id, c.run_id], names) == {"y", "window"}
        assert store.params_present([b.run_id], ["x", "nope"]) == set()
        assert store.params_present([], names) == set()
        store.update(a.run_id, lambda r: dataclasses.replace(r, notes="changed"))
        assert store.params_present([a.run_id, b.run_id], ["x"]) == {"x"}
        store.trash(a.run_id, datetime(2024, 5, 1, tzinfo=timezone.utc))
        assert store.params_present([a.run_id], ["x", "y"], deleted=True) == {"x", "y"}

    def test_duplicate_create(self, store, reg, pf):
        from vectorbt.portfolio.registry import DuplicateRunError

        rec = reg.register(pf, name="d")
        blob = store.read_pickle(rec.run_id)
        before = files_of(store_root(store))
        with pytest.raises(DuplicateRunError):
            store.create(store.read(rec.run_id), blob)
        store.trash(rec.run_id, datetime.now(timezone.utc))
        with pytest.raises(DuplicateRunError):  # in the trash, the id is still taken
            store.create(store.read(rec.run_id, deleted=True).copy(deleted_at=None), blob)
        assert len(store) == 0 and store.run_ids(deleted=True) == [rec.run_id]
        assert not [p for p in files_of(store_root(store)) if p not in before and "staging" in p]

    @pytest.mark.parametrize("bad", ["../x", "", None, "x" * 5000, "20240101T000000000000Z-0000000", 17, b"id",
                                     "20240101T000000000000Z-deadbeef", "../../etc/passwd", "/etc", "a\x00b",
                                     "20240101T000000000000Z-deadbeef/..", ["x"]])
    def test_unknown_and_malformed_ids(self, store, reg, pf, bad):
        from vectorbt.portfolio.registry import RunNotFoundError

        reg.register(pf, name="only")
        before = files_of(store_root(store))
        now = datetime.now(timezone.utc)
        calls = [lambda: store.read(bad), lambda: store.read(bad, deleted=True), lambda: store.read_pickle(bad),
                 lambda: store.update(bad, lambda r: r), lambda: store.trash(bad, now),
                 lambda: store.restore(bad), lambda: store.purge(bad),
                 lambda: reg.get(bad), lambda: reg.load(bad), lambda: reg.delete(bad),
                 lambda: reg.update(bad, notes="x")]
        for call in calls:
            with pytest.raises(RunNotFoundError):
                call()
        assert (bad in reg) is False
        assert files_of(store_root(store)) == before and len(store) == 1

    # ############# Update, trash, restore, purge ############# #

    def test_update(self, store, reg, pf):
        rec = reg.register(pf, name="u", tags=["a"])
        new = store.update(rec.run_id, lambda r: r.copy(notes="changed", tags=r.tags + ["b"]))
        assert new.notes == "changed" and new.tags == ["a", "b"]
        got = store.read(rec.run_id)
        assert got.notes == "changed" and got.tags == ["a", "b"]
        pd.testing.assert_frame_equal(got.metrics, rec.metrics)
        assert store.read_pickle(rec.run_id) == pf.dumps()
        row = store.table().loc[rec.run_id]
        assert row["notes"] == "changed" and row["tags"] == ("a", "b")

    def test_update_cannot_change_run_id_and_failures_change_nothing(self, store, reg, pf):
        rec = reg.register(pf, name="u")
        before = files_of(store_root(store))
        with pytest.raises(ValueError, match="run_id"):
            store.update(rec.run_id, lambda r: r.copy(run_id="20240101T000000000000Z-deadbeef"))

        def boom(r):
            raise RuntimeError("change failed")

        with pytest.raises(RuntimeError):
            store.update(rec.run_id, boom)
        assert files_of(store_root(store)) == before
        assert store.read(rec.run_id).to_dict() == rec.to_dict()

    def test_trash_restore_purge(self, store, reg, pf, pf2):
        from vectorbt.portfolio.registry import RunNotFoundError

        keep = reg.register(pf2, name="keep")
        rec = reg.register(pf, name="t")
        when = datetime(2024, 5, 1, tzinfo=timezone.utc)
        trashed = store.trash(rec.run_id, when)
        assert trashed.deleted_at == when
        assert rec.run_id not in store and len(store) == 1 and list(store.table().index) == [keep.run_id]
        assert list(store.table(deleted=True).index) == [rec.run_id]
        assert store.table(deleted=True).loc[rec.run_id, "deleted_at"] == pd.Timestamp(when)
        assert store.read(rec.run_id, deleted=True).deleted_at == when
        for call in (lambda: store.read(rec.run_id), lambda: store.read_pickle(rec.run_id),
                     lambda: store.update(rec.run_id, lambda r: r), lambda: store.trash(rec.run_id, when),
                     lambda: store.purge(keep.run_id), lambda: store.restore(keep.run_id)):
            with pytest.raises(RunNotFoundError):
                call()
        restored = store.restore(rec.run_id)
        assert restored.deleted_at is None and rec.run_id in store and store.table(deleted=True).empty
        assert store.read(rec.run_id).to_dict() == rec.to_dict()
        assert store.read_pickle(rec.run_id) == pf.dumps()
        store.trash(rec.run_id, when)
        store.purge(rec.run_id)
        for deleted in (False, True):
            assert rec.run_id not in store.table(deleted=deleted).index
            with pytest.raises(RunNotFoundError):
                store.read(rec.run_id, deleted=deleted)
        with pytest.raises(RunNotFoundError):
            store.restore(rec.run_id)
        assert store.read(keep.run_id).name == "keep"  # isolation: other runs untouched

    # ############# Copies ############# #

    def test_returned_objects_are_copies(self, store, reg, pf):
        rec = reg.register(pf, name="c", params={"lst": [1, 2], "d": {"k": [3]}, "arr": np.arange(3)}, tags=["a"])
        got = store.read(rec.run_id)
        got.tags.append("zzz")
        got.params["lst"].append(99)
        got.params["d"]["k"].append(99)
        got.params["arr"][0] = 99
        got.metrics.iloc[0, 0] = -1.0
        got.name = "other"
        again = store.read(rec.run_id)
        assert again.to_dict() == rec.to_dict() and again.params["lst"] == [1, 2]
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

    # ############# Read-only ############# #

    def test_read_only_refuses_writes_and_writes_nothing(self, tmp_path, pf, pf2):
        from vectorbt.portfolio.registry import ReadOnlyError, RunRegistry

        path = tmp_path / "store"
        writer = RunRegistry(self.make_store(path))
        a = writer.register(pf, name="a", tags=["x"])
        b = writer.register(pf2, name="b")
        writer.delete(b.run_id)
        writer.list()
        before = files_of(path)
        time.sleep(0.01)
        store = self.make_store(path, read_only=True)
        assert store.read_only
        ro = RunRegistry(store)
        assert list(ro.list().index) == [a.run_id] and len(ro) == 1 and a.run_id in ro
        assert list(ro.list(deleted=True).index) == [b.run_id]
        assert ro.get(a.run_id).to_dict() == a.to_dict()
        assert ro.load(a.run_id).total_return() == pytest.approx(pf.total_return())
        assert len(ro.best("total_return")) == 1 and ro.compare([a.run_id]).shape[1] == 1
        assert ro.check() == []
        now = datetime.now(timezone.utc)
        for call in (lambda: store.create(a, b""), lambda: store.update(a.run_id, lambda r: r),
                     lambda: store.trash(a.run_id, now), lambda: store.restore(b.run_id),
                     lambda: store.purge(b.run_id), store.rebuild_index, store.repair,
                     lambda: ro.register(pf, name="x"), lambda: ro.update(a.run_id, notes="x"),
                     lambda: ro.delete(a.run_id), lambda: ro.restore(b.run_id), ro.gc, ro.repair, ro.rebuild_index):
            with pytest.raises(ReadOnlyError, match="read-only"):
                call()
        assert files_of(path) == before

    # ############# Index ############# #

    def test_rebuild_index_equals_incremental_index(self, tmp_path, pf, pf2, sweep_pf):
        from vectorbt.portfolio.registry import RunRegistry

        path = tmp_path / "store"
        store = self.make_store(path)
        reg = RunRegistry(store)
        ids = [reg.register(p, name=f"r{i}", params={"i": i, "lst": [i]}, tags=[f"t{i}"]).run_id
               for i, p in enumerate([pf, pf2, sweep_pf, pf, pf2])]
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

    def test_check_and_repair_on_a_healthy_store(self, store, reg, pf):
        reg.register(pf, name="h")
        reg.list()
        before = files_of(store_root(store))
        assert store.check() == [] and reg.check() == []
        assert files_of(store_root(store)) == before
        assert reg.repair() == []

    def test_concurrent_updates_from_threads(self, store, reg, pf):
        rec = reg.register(pf, name="thr")
        errors = []

        def work(k):
            try:
                for j in range(10):
                    reg.update(rec.run_id, add_tags=[f"k{k}-{j}"])
                    store.table()
            except Exception as e:  # noqa: BLE001
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

    # ############# Several processes ############# #

    @pytest.mark.slow
    def test_concurrent_writers(self, tmp_path):
        """4 processes register 50 runs each into a registry they all create at once, listing as they go,
        then all add tags to the same run and delete, restore and purge some of their runs, while another
        process keeps listing. Afterwards everything is exactly as expected."""
        from vectorbt.portfolio.registry import RunRegistry

        ctx = start_forkserver()
        path = str(tmp_path / "store")
        spec = self.store_spec()
        barrier = ctx.Barrier(N_WRITERS + 1)
        progress = [str(tmp_path / f"progress{w}") for w in range(N_WRITERS)]
        results = [str(tmp_path / f"result{w}.json") for w in range(N_WRITERS)]
        procs = [ctx.Process(target=writer_worker, args=(spec, path, w, RUNS_PER_WRITER, TAGS_PER_WRITER, barrier,
                                                          progress[w], results[w]))
                 for w in range(N_WRITERS)]
        stop = ctx.Event()
        reader = ctx.Process(target=reader_worker, args=(spec, path, stop, progress, str(tmp_path / "reader.json")))
        try:
            for p in procs:
                p.start()
            reader.start()
            barrier.wait(timeout=120)  # everybody started: go
            barrier.wait(timeout=150)  # registrations done
            barrier.wait(timeout=60)  # updates done
            stop.set()
            _join_all(procs + [reader], timeout=60)
        finally:
            for p in procs + [reader]:
                if p.is_alive():
                    p.kill()
        out = [json.load(open(r)) for r in results]
        reader_out = json.load(open(tmp_path / "reader.json"))
        assert reader_out["listings"] > 0 and reader_out["violations"] == []
        assert all(o["unseen"] == [] for o in out)

        all_ids = [i for o in out for i in o["ids"]]
        assert len(all_ids) == len(set(all_ids)) == N_WRITERS * RUNS_PER_WRITER  # no duplicate ids
        purged = {i for o in out for i in o["purged"]}
        trashed = {i for o in out for i in o["trashed"]}
        live = set(all_ids) - purged - trashed
        store = self.make_store(path)
        reg = RunRegistry(store)
        assert set(reg) == live and len(reg) == len(live)
        assert set(reg.list(deleted=True).index) == trashed
        targets = {o["target"] for o in out}
        assert len(targets) == 1
        target = targets.pop()
        tags = reg.get(target).tags
        expected_tags = {f"t{w}-{j}" for w in range(N_WRITERS) for j in range(TAGS_PER_WRITER)}
        assert expected_tags <= set(tags) and len(tags) == len(set(tags))  # no tag lost
        assert set(reg.list().loc[target, "tags"]) == set(tags)
        shas = {k: v for o in out for k, v in o["shas"].items()}
        for run_id in sorted(live):
            rec = reg.get(run_id)
            assert rec.files["portfolio.pkl"]["sha256"] == shas[run_id]
            w, i = rec.params["worker"], rec.params["i"]
            assert rec.name == f"writer{w}" and out[w]["ids"][i] == run_id
        for run_id in sorted(live):
            reg.load(run_id)  # verifies size and sha256 before unpickling
        assert reg.check() == []
        live_table, trash_table = store.table(), store.table(deleted=True)
        assert store.rebuild_index() == len(live) + len(trashed)
        pd.testing.assert_frame_equal(store.table(), live_table)
        pd.testing.assert_frame_equal(store.table(deleted=True), trash_table)

    test_concurrent_writers.hard_timeout = 300

    @pytest.mark.slow
    def test_crash_with_sigkill(self, tmp_path, monkeypatch):
        """A child that registers, tags, deletes and restores runs is killed with SIGKILL at random moments
        (its fsyncs are slowed down, so most kills land in the middle of a write), then restarted, over and
        over. Afterwards: every run is complete and as the child last left it, leftovers are invisible,
        `check` reports them without changing anything, and `repair` cleans them up."""
        from vectorbt.portfolio.registry import RunRegistry

        ctx = start_forkserver()
        path = str(tmp_path / "store")
        spec = self.store_spec()
        self.make_store(path)
        rng = random.Random(1234)
        live, trashed = [], []
        model = {}  # run_id -> {"sha", "seed", "i", "tags": [..], "deleted": bool}
        uncertain = {}  # run_id -> the operation that was under way on it when its writer was killed
        extra_allowed = 0
        started = time.monotonic()
        for cycle in range(N_KILLS):
            log = str(tmp_path / f"log{cycle}")
            proc = ctx.Process(target=crash_child, args=(spec, path, log, 100 + cycle, live, trashed))
            proc.start()
            try:
                deadline = time.monotonic() + 60
                while not any(w == ["ready"] for w in _read_lines(log)):
                    assert proc.is_alive(), f"crash child died before it was ready (exit code {proc.exitcode})"
                    assert time.monotonic() < deadline, "crash child not ready after 60 s"
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.02, 0.6))
            finally:
                proc.kill()  # SIGKILL
                proc.join(10)
            assert proc.exitcode == -signal.SIGKILL, f"the child ended by itself (exit code {proc.exitcode})"
            pending = None
            for words in _read_lines(log)[1:]:
                if words[0] == "begin":
                    pending = words[1:]
                    continue
                pending = None
                op = words[1]
                if op == "register":
                    run_id, sha, seed, i = words[2], words[3], int(words[4]), int(words[5])
                    model[run_id] = {"sha": sha, "seed": seed, "i": i, "tags": ["crash"], "deleted": False}
                    live.append(run_id)
                elif op == "tag":
                    model[words[2]]["tags"].append(words[3])
                elif op == "delete":
                    model[words[2]]["deleted"] = True
                    live.remove(words[2])
                    trashed.append(words[2])
                elif op == "restore":
                    model[words[2]]["deleted"] = False
                    trashed.remove(words[2])
                    live.append(words[2])
            if pending is not None:
                if pending[0] == "register":
                    extra_allowed += 1
                else:  # the run may or may not have changed: leave it alone from now on
                    run_id = pending[1]
                    uncertain[run_id] = pending
                    for group in (live, trashed):
                        if run_id in group:
                            group.remove(run_id)
        elapsed = time.monotonic() - started
        assert len(model) >= 10, f"only {len(model)} runs completed in {N_KILLS} cycles ({elapsed:.0f} s)"

        store = self.make_store(path)
        reg = RunRegistry(store)
        table, trash = store.table(), store.table(deleted=True)
        listed = set(table.index) | set(trash.index)
        # every run that completed is there, in the state the child last left it
        for run_id, m in model.items():
            assert run_id in listed, f"completed run {run_id} lost"
            pending = uncertain.get(run_id)
            deleted = run_id in trash.index
            rec = store.read(run_id, deleted=deleted)
            assert rec.files["portfolio.pkl"]["sha256"] == m["sha"]
            assert pickle_sha(store.read_pickle(run_id, deleted=deleted)) == m["sha"]
            assert rec.params == {"seed": m["seed"], "i": m["i"]} and rec.name == "crash"
            if pending is None:
                assert deleted == m["deleted"] and rec.tags == m["tags"], run_id
            elif pending[0] == "tag":
                assert deleted == m["deleted"] and rec.tags in (m["tags"], m["tags"] + [pending[2]]), run_id
            else:  # a delete or restore under way: either side, metadata intact
                assert rec.tags == m["tags"], run_id
        # runs whose registration was under way: complete or absent
        extra = listed - set(model)
        assert len(extra) <= extra_allowed
        for run_id in extra:
            rec = store.read(run_id, deleted=run_id in trash.index)
            assert rec.name == "crash"
            blob = store.read_pickle(run_id, deleted=run_id in trash.index)
            assert pickle_sha(blob) == rec.files["portfolio.pkl"]["sha256"]
        for run_id in table.index:
            reg.load(run_id)
        assert set(reg) == set(table.index) and len(reg) == len(table)
        assert len(reg.best("total_return", n=None)) == len(table)

        # check reports what the kills left behind, and changes nothing
        reg.list()
        before = files_of(path)
        problems = reg.check()
        assert files_of(path) == before
        assert {p.kind for p in problems} <= {"leftover", "index_drift"}, problems
        self.allow_leftover_removal(monkeypatch)
        actions = reg.repair()
        kinds = {k: [p.kind for p in problems].count(k) for k in {p.kind for p in problems}}
        print(f"crash test: {N_KILLS} kills in {elapsed:.1f} s, {len(model)} runs completed, {len(extra)} of "
              f"{extra_allowed} interrupted registrations landed, {len(uncertain)} runs with an interrupted "
              f"change; check found {kinds}; repair took {len(actions)} actions")
        assert len(actions) >= len([p for p in problems if p.kind == "leftover"])
        assert all(isinstance(a, str) and a for a in actions)
        assert reg.check() == []
        pd.testing.assert_frame_equal(store.table(), self.make_store(path).table())
        for run_id, m in model.items():  # the listing agrees with the runs again
            if run_id not in uncertain:
                row = (store.table(deleted=True) if m["deleted"] else store.table()).loc[run_id]
                assert list(row["tags"]) == m["tags"]

    test_crash_with_sigkill.hard_timeout = 240


def store_root(store) -> str:
    """The folder a store keeps its data in."""
    return getattr(store, "root", None) or store.path
