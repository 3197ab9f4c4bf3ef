"""What the processes of `vectorbt.portfolio.registry.testing.processes.MultiProcessStoreSuite` run: tiny
portfolios, the warmed-up `forkserver` the children come from, the children themselves (writers, a reader,
crash victims) and the logs through which they tell the test what they did.

Child processes come from a `forkserver` whose server process has imported vectorbt and compiled what a
registration needs once (`start_forkserver`): a fresh interpreter per child would pay vectorbt's import and
numba's compilation every time, and forking the test process itself is unsafe once numba's thread pool runs.
The store to use in a child is named by the test class (module and name), which the child imports: the
folder of the test module is put on the server's `PYTHONPATH`.

Each child logs what it does to a file, one whole line per `os.write` (`say`), so that the lines survive a
SIGKILL and the test reads only complete ones (`read_lines`).
"""

import hashlib
import importlib
import json
import multiprocessing as mp
import os
import random
import threading
import time

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.registry import RunRegistry

__all__ = ["start_forkserver", "tiny_pf", "tiny_sweep_pf", "pickle_sha", "store_factory", "say", "read_lines",
           "kill_when_ready", "join_all", "writer_worker", "same_run_worker", "reader_worker", "crash_child",
           "migrate_child"]

WARMUP_ENV = "VBT_REGISTRY_TEST_WARMUP"
"""Set in the forkserver's environment only: importing this module there warms up vectorbt and numba."""

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


def check_warm() -> None:
    """Children must come warm from the forkserver; compiling in each of them would take minutes."""
    assert _WARMED, ("this child process was not forked from a warmed-up forkserver (preloading "
                     f"{__name__!r} failed there?): it would compile vectorbt's numba code itself")


if os.environ.get(WARMUP_ENV) == "1" and mp.parent_process() is None:
    _warm_up()


_forkserver_lock = threading.Lock()


def start_forkserver(test_dir: tp.Optional[str] = None) -> tp.Any:
    """Start (once) the forkserver whose children run the multi-process tests; return the context.

    The server imports this module with `WARMUP_ENV` set, which compiles vectorbt's and the registry's numba
    code there, once; `test_dir` (the folder of the test modules, which children import) goes on its
    `PYTHONPATH`. Numba's `workqueue` threading layer is used in it: unlike GNU OpenMP, it is safe to fork after
    use. Calling this early (at collection) lets the warm-up overlap with other tests."""
    ctx = mp.get_context("forkserver")
    if mp.parent_process() is not None or os.environ.get(WARMUP_ENV):
        return ctx
    from multiprocessing import forkserver

    with _forkserver_lock:
        if getattr(forkserver._forkserver, "_forkserver_pid", None) is None:
            ctx.set_forkserver_preload([__name__])
            # the server ignores the sys.path it is given (Python < 3.12): PYTHONPATH makes test modules importable
            pythonpath = os.pathsep.join(p for p in (test_dir, os.environ.get("PYTHONPATH")) if p)
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


def say(fd: int, *words) -> None:
    """Append one line to a log file in one `write` (whole lines, even if the writer is killed)."""
    os.write(fd, (" ".join(str(w) for w in words) + "\n").encode())


def read_lines(path) -> list:
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
    check_warm()
    barrier.wait(timeout=120)
    reg = RunRegistry(store_factory(spec)(path))  # all writers create the new registry at once
    fd = os.open(progress_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    ids, unseen, shas = [], [], {}
    for i in range(n_runs):
        rec = reg.register(tiny_pf(1000 * worker + i), name=f"writer{worker}", params={"worker": worker, "i": i},
                           tags=[f"w{worker}"])
        ids.append(rec.run_id)
        shas[rec.run_id] = rec.files["portfolio.pkl"]["sha256"]
        say(fd, "registered", rec.run_id)
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
    say(fd, "purging", doomed)
    reg.store.purge(doomed)
    barrier.wait(timeout=120)
    with open(result_path, "w") as f:
        json.dump({"ids": ids, "shas": shas, "unseen": unseen, "target": target, "purged": [doomed],
                   "trashed": [trashed], "restored": [restored]}, f)


def same_run_worker(spec, path, n_rounds, barrier, result_path):
    """Identity test, one of several processes that register the same runs at the same moments: round `r`
    registers the same portfolio with `if_exists="skip"`, the last round with `if_exists="error"`."""
    from vectorbt.portfolio.registry.errors import DuplicateRunError

    check_warm()
    reg = RunRegistry(store_factory(spec)(path))
    got = []
    for r in range(n_rounds):
        if_exists = "error" if r == n_rounds - 1 else "skip"
        barrier.wait(timeout=120)
        try:
            got.append(reg.register(tiny_pf(500 + r), name="retried", params={"r": r}, if_exists=if_exists).run_id)
        except DuplicateRunError as e:
            got.append(["refused", e.existing_run_id])
    with open(result_path, "w") as f:
        json.dump(got, f)


def reader_worker(spec, path, stop, progress_paths, result_path):
    """Concurrent-writers test, the reader: keeps listing while the writers write; every run a writer logged
    as registered before a listing started must be in that listing (live or in the trash)."""
    check_warm()
    deadline = time.monotonic() + 150
    while True:  # the writers create the registry: wait for it
        try:
            reg = RunRegistry(store_factory(spec)(path, read_only=True))
            break
        except Exception:  # noqa: BLE001 - not laid out yet
            assert time.monotonic() < deadline, "no registry appeared"
            time.sleep(0.05)

    def logged(kind):
        return {words[1] for p in progress_paths for words in read_lines(p) if words[0] == kind}

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


def slow_down_fsync(rng: random.Random, most: float) -> None:
    """Make every `os.fsync` of this (child) process sleep up to `most` seconds first, so that a kill is likely to
    land in the middle of a write."""
    real_fsync = os.fsync

    def slow_fsync(fd):
        time.sleep(rng.uniform(0, most))
        real_fsync(fd)

    os.fsync = slow_fsync


def crash_child(spec, path, log_path, seed, live, trashed):
    """Crash test, the victim: registers runs, tags, deletes and restores them until it is killed. Each
    operation is logged before it starts (`begin`) and after it returned (`done`); writes are slowed down
    (a sleep before every fsync) so that the kills land in the middle of them."""
    check_warm()
    rng = random.Random(seed)
    slow_down_fsync(rng, 0.006)
    reg = RunRegistry(store_factory(spec)(path))
    pf = tiny_pf(seed)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    live, trashed = list(live), list(trashed)
    say(fd, "ready")
    for i in range(10_000):
        r = rng.random()
        if r < 0.6 or not live:
            say(fd, "begin", "register")
            rec = reg.register(pf, name="crash", params={"seed": seed, "i": i}, tags=["crash"])
            say(fd, "done", "register", rec.run_id, rec.files["portfolio.pkl"]["sha256"], seed, i)
            live.append(rec.run_id)
        elif r < 0.8:
            run_id, tag = rng.choice(live), f"s{seed}-{i}"
            say(fd, "begin", "tag", run_id, tag)
            reg.update(run_id, add_tags=[tag])
            say(fd, "done", "tag", run_id, tag)
        else:  # delete a live run, or restore one from the trash
            op, src, dst = ("delete", live, trashed) if r < 0.92 or not trashed else ("restore", trashed, live)
            run_id = rng.choice(src)
            say(fd, "begin", op, run_id)
            reg.delete(run_id) if op == "delete" else reg.restore(run_id)
            say(fd, "done", op, run_id)
            src.remove(run_id)
            dst.append(run_id)


def migrate_child(spec, path, log_path, seed):
    """Migration crash test, the victim: migrates the registry (its fsyncs slowed down, so that kills land in the
    middle of a run's rewrite) until it is killed or done, logging `step` each time a run's rewrite returned."""
    check_warm()
    slow_down_fsync(random.Random(seed), 0.01)
    store = store_factory(spec)(path)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    rewrite = store.rewrite

    def logged_rewrite(run_id, *args, **kwargs):
        out = rewrite(run_id, *args, **kwargs)
        say(fd, "step", run_id)
        return out

    store.rewrite = logged_rewrite
    reg = RunRegistry(store)
    say(fd, "ready")
    report = reg.migrate()
    say(fd, "done", len(report.migrated), len(report.failed))


def kill_when_ready(proc, log_path: str, delay: float, steps: int = 0):
    """Start the child `proc`, wait until it logs `ready` and then `steps` lines `step ...` (60 s at most; or
    until it exits), let it work `delay` seconds more, then kill it with SIGKILL; return it, joined. Waiting for
    steps rather than for a time lands the kill after the same amount of work on a fast machine and a slow one."""
    proc.start()
    try:
        deadline = time.monotonic() + 60

        def ready() -> bool:
            lines = read_lines(log_path)
            return ["ready"] in lines and sum(w[0] == "step" for w in lines if w) >= steps

        while not ready():
            if steps and not proc.is_alive():
                break  # done before that many steps: nothing to kill
            assert proc.is_alive(), f"child died before it was ready (exit code {proc.exitcode})"
            assert time.monotonic() < deadline, "child not ready after 60 s"
            time.sleep(0.002)
        time.sleep(delay)
    finally:
        proc.kill()  # SIGKILL
        proc.join(10)
    return proc


def join_all(procs, timeout: float) -> None:
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
