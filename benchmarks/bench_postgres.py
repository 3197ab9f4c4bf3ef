"""Speed of `PostgresStore`, side by side with `FileStore` on the same machine, in one run.

Prints a Markdown table; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand. It starts
its own PostgreSQL server (`vectorbt.portfolio.registry.testing.servers.PostgresServer`: the Debian package's
binaries, `fsync=off` as in the tests, on 127.0.0.1), so it measures the store, not a disk.

    python benchmarks/bench_postgres.py            # everything (builds a 100,000-run registry of each kind)
    python benchmarks/bench_postgres.py --quick    # smaller sizes, for a quick look

Measured:
1. `reg.register(pf)` of a small portfolio (250 x 1): median per run, FileStore and PostgreSQL.
2. 8 processes x 250 registrations at once: runs per second, and that nothing was lost.
3. 100,000 runs: `list(where=..., sort_by=..., limit=10)` in a fresh process (timed from opening the
   registry, after imports), with a `where` on a parameter (`fast`, which SQL leaves to pandas) and with one
   that translates to SQL whole; and in a warm client right after another client registered 100 more runs
   (5 rounds: median, and the range).
4. `best(...)` over 1,000 runs x 1,000 configurations in a fresh process, with and without a `where` on a
   parameter.

The machine's load average is printed before and after: on a shared machine, read the figures with it.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


from vectorbt import _typing as tp  # noqa: E402
from vectorbt.portfolio.registry import RunRegistry  # noqa: E402
from vectorbt.portfolio.registry.testing import make_run  # noqa: E402
from vectorbt.portfolio.registry.testing.servers import PostgresServer  # noqa: E402

from bench_registry import FRESH, fill_registry, sweep  # noqa: E402

WHERE = "sharpe_ratio > 0 and fast < 20"
SQL_WHERE = "sharpe_ratio > 0 and n_columns == 1"
"""A `where` that translates to SQL whole: a fresh PostgreSQL client lets the server filter, sort and cut."""
ROUNDS = 5


def fresh(location: str, mode: str, repeat: int = 3) -> float:
    """Best of `repeat` fresh processes: the time of one `list`/`best` from opening the registry."""
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", FRESH, location, mode], capture_output=True, text=True,
                             check=True)
        times.append(json.loads(out.stdout.strip().splitlines()[-1])["op"])
    return min(times)


def add_configs(files: RunRegistry) -> None:
    """Give the runs `fill_registry` made (copies of one record with other metrics) their own `configs` part,
    as `register` writes it, so that `best` reads it instead of rebuilding it from each run's metadata."""
    from vectorbt.portfolio.registry.configs import configs_bytes

    for run_id in files.store.run_ids():
        with open(os.path.join(files.store.root, "runs", run_id, "configs.npz"), "wb") as f:
            f.write(configs_bytes(files.store.read(run_id)))


def bulk_copy(files: RunRegistry, url: str, artifacts: tp.Optional[str] = None, configs: bool = True) -> RunRegistry:
    """The runs of a folder registry in a new PostgreSQL registry, inserted in one transaction (registering
    100,000 runs one by one takes most of an hour; what is measured, reading, does not depend on it). Without
    `configs`, the runs' configuration tables are left out (`list` does not read them)."""
    from vectorbt.portfolio.registry.stores.postgres import PostgresStore
    from vectorbt.portfolio.registry.stores.postgres_schema import row_values

    store = PostgresStore(url, artifacts=artifacts)
    ids = files.store.run_ids()
    runs, parts, objects = [], [], {}
    for run_id in ids:
        record = files.store.read(run_id)
        blobs = {role: files.store.read_part(run_id, role) for role in record.parts if configs or role != "configs"}
        staged = store._stage(blobs)
        values = row_values(record)
        runs.append((run_id, False, 0, record.metrics_bytes(), *values.values()))
        for role, (data, key) in staged.items():
            if key is not None and key not in objects:
                objects[key] = data
            parts.append((run_id, role, len(data), hashlib.sha256(data).hexdigest(), None if key else data, key))

    def work(cur: tp.Any) -> None:
        for key, data in objects.items():
            store._lock_object(cur, key, data)
        cur.executemany(store._insert_sql().replace(" RETURNING run_id", ""), runs)
        cur.executemany("INSERT INTO vbtr_parts (run_id, role, size, sha256, data, object) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", parts)
        cur.execute("WITH c AS (UPDATE vbtr_counter SET value = value + 1 RETURNING value) "
                    "UPDATE vbtr_runs SET seq = c.value FROM c")

    store._run("bulk insert", work)
    return RunRegistry(store)


def bench_small(server: PostgresServer, n_runs: int) -> tp.List[tp.List[str]]:
    pf = sweep(250, 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        stores = {"FileStore": RunRegistry(os.path.join(tmp, "reg")),
                  "PostgresStore": RunRegistry(server.create_database("small")),
                  "PostgresStore, portfolio in object storage (file://)":
                      RunRegistry(_open(server.create_database("small_objects"), f"file://{tmp}/objects"))}
        medians = {}
        for label, reg in stores.items():
            reg.register(pf, name="warm-up")
            times = []
            for i in range(n_runs):
                t0 = time.perf_counter()
                reg.register(pf, name="small", params={"i": i})
                times.append(time.perf_counter() - t0)
            times.sort()
            medians[label] = statistics.median(times)
            rows.append([f"register a small portfolio (250 x 1), median of {n_runs}: {label}",
                         f"{medians[label] * 1e3:.1f} ms (p95 {times[int(0.95 * len(times))] * 1e3:.1f} ms)"])
    base = medians["FileStore"]
    for row, label in zip(rows, medians):
        row.append(f"{medians[label] / base:.2f}x")
    return rows


def _open(url: str, artifacts: tp.Optional[str] = None) -> tp.Any:
    from vectorbt.portfolio.registry.stores.postgres import PostgresStore

    return PostgresStore(url, artifacts=artifacts)


def _writer(location: str, worker: int, n_runs: int, barrier: tp.Any, out: str) -> None:
    from vectorbt.portfolio.registry.testing import tiny_pf

    reg = RunRegistry(location)
    pf = tiny_pf(worker)
    reg.register(pf, name="warm-up")
    barrier.wait(timeout=300)
    t0 = time.perf_counter()
    ids = [reg.register(pf, name=f"w{worker}", params={"i": i}).run_id for i in range(n_runs)]
    with open(out, "w") as f:
        json.dump({"ids": ids, "seconds": time.perf_counter() - t0}, f)


def bench_writers(server: PostgresServer, n_writers: int, n_runs: int) -> tp.List[tp.List[str]]:
    from vectorbt.portfolio.registry.testing import start_forkserver

    ctx = start_forkserver(os.path.dirname(os.path.abspath(__file__)))
    rows, rates = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, location in (("FileStore", os.path.join(tmp, "reg")),
                                ("PostgresStore", server.create_database("writers"))):
            RunRegistry(location)
            barrier = ctx.Barrier(n_writers + 1)
            outs = [os.path.join(tmp, f"{label}-{w}.json") for w in range(n_writers)]
            procs = [ctx.Process(target=_writer, args=(location, w, n_runs, barrier, outs[w]))
                     for w in range(n_writers)]
            for p in procs:
                p.start()
            barrier.wait(timeout=300)
            t0 = time.perf_counter()
            for p in procs:
                p.join(900)
            elapsed = time.perf_counter() - t0
            ids = [i for o in outs for i in json.load(open(o))["ids"]]
            stored = set(RunRegistry(location).list(name=[f"w{w}" for w in range(n_writers)]).index)
            lost = len(set(ids) - stored)
            rates[label] = len(ids) / elapsed
            rows.append([f"{n_writers} processes x {n_runs} registrations at once: {label}",
                         f"{rates[label]:.0f} runs/s ({len(ids):,} in {elapsed:.1f} s, {lost} lost)"])
    for row, label in zip(rows, rates):
        row.append(f"{rates[label] / rates['FileStore']:.2f}x")
    return rows


def bench_many_runs(server: PostgresServer, n_runs: int) -> tp.List[tp.List[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = fill_registry(os.path.join(tmp, "reg"), n_runs)
        len(files)
        url = server.create_database("many")
        t0 = time.perf_counter()
        bulk_copy(files, url, artifacts=f"file://{tmp}/objects", configs=False)
        build = time.perf_counter() - t0
        RunRegistry(url).list()  # the first reader saves a snapshot of the summary table
        results = {}
        for label, location in (("FileStore", files.store.root), ("PostgresStore", url)):
            t_fresh, t_sql = fresh(location, "list"), fresh(location, "list-sql")
            warm, other = RunRegistry(location), RunRegistry(location)
            warm.list()
            times = []
            for r in range(ROUNDS):
                for k in range(100):  # another client registers 100 more runs
                    other.store.create(*make_run(k, name="more", params={"fast": k % 40, "slow": 100}))
                t0 = time.perf_counter()
                top = warm.list(where=WHERE, sort_by="total_return", limit=10)
                times.append(time.perf_counter() - t0)
                assert len(top) == 10
            assert len(warm) == n_runs + 100 * ROUNDS
            results[label] = (t_fresh, t_sql, statistics.median(times), min(times), max(times))
        for i, what in enumerate(("fresh process", f"fresh process, where={SQL_WHERE!r} (whole in SQL)")):
            f, p = results["FileStore"][i], results["PostgresStore"][i]
            rows.append([f"{n_runs:,} runs: list(where, sort_by, limit=10), {what}",
                         f"{p * 1e3:.0f} ms", f"{f * 1e3:.0f} ms", f"{p / f:.2f}x"])
        (f, f_low, f_high), (p, p_low, p_high) = results["FileStore"][2:], results["PostgresStore"][2:]
        rows.append([f"{n_runs:,} runs: the same, warm client, after another client registered 100 more "
                     f"(median of {ROUNDS}, range)", f"{p * 1e3:.0f} ms ({p_low * 1e3:.0f} to {p_high * 1e3:.0f})",
                     f"{f * 1e3:.0f} ms ({f_low * 1e3:.0f} to {f_high * 1e3:.0f})", f"{p / f:.2f}x"])
        rows.append([f"{n_runs:,} runs: building the PostgreSQL registry (one transaction, set-up)", f"{build:.0f} s",
                     "", ""])
    return rows


def bench_best(server: PostgresServer, n_runs: int, n_cols: int) -> tp.List[tp.List[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = fill_registry(os.path.join(tmp, "reg"), n_runs, n_cols=n_cols)
        add_configs(files)
        len(files)
        url = server.create_database("best")
        bulk_copy(files, url)
        RunRegistry(url).list()
        for where, mode in (("", "best-all"), (" and where on a parameter (variant > 10)", "best")):
            f, p = fresh(files.store.root, mode), fresh(url, mode)
            rows.append([f"best over {n_runs:,} runs x {n_cols:,} configurations, fresh process{where}",
                         f"{p * 1e3:.0f} ms", f"{f * 1e3:.0f} ms", f"{p / f:.2f}x"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    import bench_registry

    bench_registry.FRESH = FRESH.replace('else:\n    out = reg.best', 'elif mode == "best-all":\n'
                                         '    out = reg.best("sharpe_ratio", n=10)\n'
                                         'elif mode == "list-sql":\n'
                                         f'    out = reg.list(where={SQL_WHERE!r}, sort_by="total_return", limit=10)\n'
                                         'else:\n    out = reg.best')
    globals()["FRESH"] = bench_registry.FRESH
    print(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    with PostgresServer() as server:
        small = bench_small(server, 50 if args.quick else 300)
        writers = bench_writers(server, 8, 25 if args.quick else 250)
        many = bench_many_runs(server, 5_000 if args.quick else 100_000)
        best = bench_best(server, 100 if args.quick else 1_000, 100 if args.quick else 1_000)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    print("| measurement | ours | ratio to FileStore |")
    print("| --- | --- | --- |")
    for row in small + writers:
        print("| " + " | ".join(row) + " |")
    print()
    print("| measurement | PostgresStore | FileStore | ratio |")
    print("| --- | --- | --- | --- |")
    for row in many + best:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
