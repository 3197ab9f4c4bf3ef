"""`MultiProcessStoreSuite`: the guarantees of a store that several processes share, as pytest tests.

Stores that processes share (a folder, a database) run these, which include all of `StoreSuite`:

```python
from vectorbt.portfolio.registry.testing import MultiProcessStoreSuite

class TestMyStore(MultiProcessStoreSuite):
    def make_store(self, path, read_only=False):
        return MyStore(path, read_only=read_only)
```

Concurrent writers and a reader (`test_concurrent_writers`), and processes killed with SIGKILL in the middle of
writes (`test_crash_with_sigkill`), through the public `RunRegistry` API with real (tiny) portfolios.

Child processes, the forkserver they come from and their logs are in
`vectorbt.portfolio.registry.testing.children`.
"""

import json
import os
import random
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.run import SCHEMA_VERSION
from vectorbt.portfolio.registry.spec import PORTFOLIO
from vectorbt.portfolio.registry.testing.children import (
    crash_child,
    join_all,
    kill_when_ready,
    migrate_child,
    pickle_sha,
    reader_worker,
    read_lines,
    same_run_worker,
    start_forkserver,
    tiny_pf,
    tiny_sweep_pf,
    writer_worker,
)
from vectorbt.portfolio.registry.testing.suite import StoreSuite

__all__ = ["MultiProcessStoreSuite", "start_forkserver", "tiny_pf", "tiny_sweep_pf"]

N_WRITERS, RUNS_PER_WRITER, TAGS_PER_WRITER = 4, 50, 10
"""Size of the concurrent-writers test (kept small for CI; `benchmarks/stress_concurrency.py` goes bigger)."""

N_KILLS = 24
"""How many times the crash test kills a writing child with SIGKILL."""

N_MIGRATE_RUNS, N_MIGRATE_KILLS = 16, 12
"""Runs of schema 1 in the migration crash test, and at most how many times it kills the migrating child."""


# ############# The suite ############# #


class MultiProcessStoreSuite(StoreSuite):
    """`StoreSuite` plus the tests of several processes sharing one store. Subclasses implement `make_store`."""

    def store_spec(self) -> tp.Tuple[str, str]:
        """How a child process finds `make_store`: this test class's module and name."""
        return type(self).__module__, type(self).__qualname__

    def _forkserver(self) -> tp.Any:
        return start_forkserver(os.path.dirname(os.path.abspath(sys.modules[type(self).__module__].__file__)))

    # ############# Several processes ############# #

    @pytest.mark.slow
    def test_concurrent_writers(self, tmp_path: tp.Any) -> None:
        """4 processes register 50 runs each into a registry they all create at once, listing as they go,
        then all add tags to the same run and delete, restore and purge some of their runs, while another
        process keeps listing. Afterwards everything is exactly as expected."""
        ctx = self._forkserver()
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
            join_all(procs + [reader], timeout=60)
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
    def test_if_exists_is_exact_across_processes(self, tmp_path: tp.Any) -> None:
        """4 processes register the same run at the same moment, 6 times over: with `if_exists="skip"` each
        time exactly one run is stored and every process gets its record; with `"error"` one process stores it
        and the others are refused, naming that run."""
        ctx = self._forkserver()
        path, spec, n_rounds = str(tmp_path / "store"), self.store_spec(), 6
        RunRegistry(self.make_store(path))  # laid out before the race, which is about runs, not layout
        barrier = ctx.Barrier(N_WRITERS)
        results = [str(tmp_path / f"same{w}.json") for w in range(N_WRITERS)]
        procs = [ctx.Process(target=same_run_worker, args=(spec, path, n_rounds, barrier, results[w]))
                 for w in range(N_WRITERS)]
        try:
            for p in procs:
                p.start()
            join_all(procs, timeout=180)
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
        got = [json.load(open(r)) for r in results]
        reg = RunRegistry(self.make_store(path))
        table = reg.list()
        assert len(table) == n_rounds
        for r in range(n_rounds):
            (stored,) = [run_id for run_id in table.index if reg.get(run_id).params == {"r": r}]
            answers = [g[r] for g in got]
            if r < n_rounds - 1:
                assert answers == [stored] * N_WRITERS
            else:
                assert sorted(map(str, answers)).count(stored) == 1
                assert sorted(a[1] for a in answers if isinstance(a, list)) == [stored] * (N_WRITERS - 1)

    test_if_exists_is_exact_across_processes.hard_timeout = 240

    @pytest.mark.slow
    def test_crash_with_sigkill(self, tmp_path: tp.Any, monkeypatch: tp.Any) -> None:
        """A child that registers, tags, deletes and restores runs is killed with SIGKILL at random moments
        (its fsyncs are slowed down, so most kills land in the middle of a write), then restarted, over and
        over. Afterwards: every run is complete and as the child last left it, leftovers are invisible,
        `check` reports them without changing anything, and `repair` cleans them up."""
        ctx = self._forkserver()
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
            proc = kill_when_ready(ctx.Process(target=crash_child, args=(spec, path, log, 100 + cycle, live,
                                                                          trashed)), log, rng.uniform(0.02, 0.6))
            assert proc.exitcode == -signal.SIGKILL, f"the child ended by itself (exit code {proc.exitcode})"
            pending = None
            for words in read_lines(log)[1:]:
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
            assert pickle_sha(store.read_part(run_id, PORTFOLIO, deleted=deleted)) == m["sha"]
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
            blob = store.read_part(run_id, PORTFOLIO, deleted=run_id in trash.index)
            assert pickle_sha(blob) == rec.files["portfolio.pkl"]["sha256"]
        for run_id in table.index:
            reg.load(run_id)
        assert set(reg) == set(table.index) and len(reg) == len(table)
        assert len(reg.best("total_return", n=None)) == len(table)

        # check reports what the kills left behind, and changes nothing
        reg.list()
        before = self.state(store)
        problems = reg.check()
        assert self.state(store) == before
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

    @pytest.mark.slow
    def test_crash_during_migrate(self, tmp_path: tp.Any, monkeypatch: tp.Any) -> None:
        """A child migrating runs of schema 1 is killed with SIGKILL at random moments, then restarted, until
        the migration is done. After every kill each run is either old or new, never a mix: the same metadata
        and metrics, a portfolio matching its record, loading as before. At the end every run is of schema 2,
        `check` reports at most leftovers and `repair` cleans them up."""
        from vectorbt.portfolio.registry.integrity import verify
        from vectorbt.portfolio.registry.testing.records import make_v1_run

        ctx = self._forkserver()
        path, spec = str(tmp_path / "store"), self.store_spec()
        store = self.make_store(path)
        reg = RunRegistry(store)
        pfs = [tiny_pf(k) for k in range(N_MIGRATE_RUNS - 1)] + [tiny_sweep_pf()]
        expected = {}  # run_id -> (metadata, metrics, total returns, in the trash)
        for k, pf in enumerate(pfs):
            rec = make_v1_run(store, pf, name=f"old{k}", params={"k": k}, tags=["v1"])
            expected[rec.run_id] = [dict(rec.to_dict(), columns=rec.columns), rec.metrics,
                                    np.atleast_1d(pf.total_return()), False]
        doomed = sorted(expected)[1]
        reg.delete(doomed)
        expected[doomed][3] = True

        def kept(record: tp.Any) -> tp.Dict[str, tp.Any]:
            data = record.to_dict()
            for key in ("schema_version", "parts", "files", "trusted_classes", "deleted_at"):
                data.pop(key, None)
            data["columns"] = record.columns  # as values: the current schema may spell them differently
            return data

        def check_runs() -> tp.Dict[int, int]:
            """Every run old or new and complete; return how many runs each schema has."""
            now = RunRegistry(self.make_store(path))
            schemas = {1: 0, SCHEMA_VERSION: 0}
            assert set(now) == {r for r, e in expected.items() if not e[3]}
            for run_id, (meta, metrics, returns, deleted) in expected.items():
                rec = now.store.read(run_id, deleted=deleted)
                assert kept(rec) == {k: v for k, v in meta.items() if k not in (
                    "schema_version", "parts", "files", "trusted_classes", "deleted_at")}, run_id
                pd.testing.assert_frame_equal(rec.metrics, metrics)
                for role in rec.parts:
                    verify(rec, role, now.store.read_part(run_id, role, deleted=deleted))
                schemas[rec.schema_version] += 1
                if not deleted:
                    np.testing.assert_allclose(np.atleast_1d(now.load(run_id).total_return()), returns, rtol=1e-12)
            assert len(now.best("total_return", n=None)) == sum(len(e[2]) for e in expected.values() if not e[3])
            return schemas

        rng = random.Random(99)
        kills, started, progress = 0, time.monotonic(), []
        old = len(expected)
        for cycle in range(N_MIGRATE_KILLS):
            log = str(tmp_path / f"migrate{cycle}")
            # killed after some runs were rewritten and a moment more: in the middle of the next one's rewrite,
            # however fast the machine (the child logs each rewrite that returned)
            steps = rng.randint(1, max(1, old - 2)) if old > 1 else 0
            proc = kill_when_ready(ctx.Process(target=migrate_child, args=(spec, path, log, 500 + cycle)), log,
                                   rng.uniform(0.0, 0.03), steps=steps)
            done = any(w[0] == "done" for w in read_lines(log))
            kills += proc.exitcode == -signal.SIGKILL and not done
            schemas = check_runs()
            progress.append(schemas[SCHEMA_VERSION])
            old = schemas[1]
            if old == 0:
                break
        elapsed = time.monotonic() - started
        assert kills >= 2, f"only {kills} kills landed during the migration ({elapsed:.1f} s)"
        assert any(0 < n < len(expected) for n in progress), f"no kill landed in the middle: {progress}"
        report = RunRegistry(self.make_store(path)).migrate()  # finishes what the kills left
        assert report.ok and len(report.migrated) + len(report.current) == len(expected)
        assert check_runs() == {1: 0, SCHEMA_VERSION: len(expected)}
        store = self.make_store(path)
        reg = RunRegistry(store)
        problems = reg.check()
        assert {p.kind for p in problems} <= {"leftover", "index_drift"}, problems
        self.allow_leftover_removal(monkeypatch)
        reg.repair()
        assert reg.check() == []
        print(f"migrate crash test: {kills} kills in {elapsed:.1f} s, runs of schema 2 after each: {progress}; "
              f"check found {len(problems)} leftovers")

    test_crash_during_migrate.hard_timeout = 240


