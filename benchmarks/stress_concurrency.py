"""Stress test of concurrent writers: W processes register R small runs each into one new registry while a
reader process keeps listing; then everything is verified and the throughput printed.

Not a test (the bounded version, 4 x 50, is `MultiProcessStoreSuite.test_concurrent_writers`); run it by hand:

    python benchmarks/stress_concurrency.py                    # 8 writers x 250 runs
    python benchmarks/stress_concurrency.py --writers 4 --runs 50 --path /mnt/nfs/registry-stress

Child processes come from a forkserver that imported vectorbt and compiled a registration's numba code once
(numba's `workqueue` threading layer there, which is safe to fork); each writer then only registers.

Verified afterwards: exactly W x R runs, no duplicate ids, every run's record as its writer registered it,
every pickle's sha256, `check()` empty, and the incremental index equal to `rebuild_index()`'s. Printed:
registrations per second overall, per-registration latency (median, 95th percentile, max), and the reader's
listing latency while the writers ran. Exit status 1 if anything is wrong.
"""

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

WARM_ENV = "VBT_REGISTRY_STRESS_WARMUP"


def tiny_pf(k: int, n: int = 30):
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    rng = np.random.default_rng(k)
    close = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.001, 0.02, n))),
                      index=pd.date_range("2024-01-01", periods=n, freq="D"))
    return vbt.Portfolio.from_holding(close, freq="1D")


def _warm_up() -> None:
    import vectorbt as vbt

    from vectorbt.portfolio.registry import RunRegistry  # noqa: F401
    from vectorbt.portfolio.registry.metrics import compute_metrics

    pf = tiny_pf(0)
    compute_metrics(pf)
    vbt.Portfolio.loads(pf.dumps())


if os.environ.get(WARM_ENV) == "1" and __name__ == "stress_concurrency":  # in the forkserver only
    _warm_up()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def writer(path, w, n_runs, barrier, out):
    from vectorbt.portfolio.registry import RunRegistry

    pfs = [tiny_pf(1000 * w + i % 10) for i in range(10)]
    barrier.wait(timeout=600)
    reg = RunRegistry(path)  # every writer opens (and so creates) the new registry at once
    ids, shas, latencies = [], {}, []
    for i in range(n_runs):
        t = time.perf_counter()
        rec = reg.register(pfs[i % 10], name=f"writer{w}", params={"w": w, "i": i}, tags=[f"w{w}"])
        latencies.append(time.perf_counter() - t)
        ids.append(rec.run_id)
        shas[rec.run_id] = rec.files["portfolio.pkl"]["sha256"]
    with open(out, "w") as f:
        json.dump({"ids": ids, "shas": shas, "latencies": latencies}, f)


def reader(path, stop, out):
    from vectorbt.portfolio.registry import RunRegistry

    while True:
        try:
            reg = RunRegistry(path, read_only=True)
            break
        except Exception:  # noqa: BLE001 - the writers have not laid it out yet
            if stop.is_set():
                return
            time.sleep(0.05)
    latencies, sizes = [], []
    while not stop.is_set():
        t = time.perf_counter()
        n = len(reg.list())
        latencies.append(time.perf_counter() - t)
        sizes.append(n)
        time.sleep(0.02)
    with open(out, "w") as f:
        json.dump({"latencies": latencies, "sizes": sizes}, f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=250, help="registrations per writer")
    parser.add_argument("--path", help="registry folder (must not exist; default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the registry afterwards")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before everything is killed")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="vbt-registry-stress-")
    path = args.path or os.path.join(work, "registry")
    if os.path.exists(path):
        sys.exit(f"{path} exists: give a new folder")

    # The forkserver imports this file as the module `stress_concurrency` (preloading "__main__" does not work
    # before Python 3.12), warming up there; the children run that module's functions.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import stress_concurrency as me

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["stress_concurrency"])
    pythonpath = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    os.environ.update({WARM_ENV: "1", "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "1",
                       "PYTHONPATH": pythonpath})
    from multiprocessing import forkserver

    t0 = time.perf_counter()
    forkserver.ensure_running()
    del os.environ[WARM_ENV]

    barrier = ctx.Barrier(args.writers + 1)
    outs = [os.path.join(work, f"writer{w}.json") for w in range(args.writers)]
    procs = [ctx.Process(target=me.writer, args=(path, w, args.runs, barrier, outs[w])) for w in range(args.writers)]
    stop = ctx.Event()
    reader_out = os.path.join(work, "reader.json")
    lister = ctx.Process(target=me.reader, args=(path, stop, reader_out))
    ok = True
    try:
        for p in procs:
            p.start()
        lister.start()
        barrier.wait(timeout=600)  # all writers are up (after the forkserver's warm-up)
        start = time.perf_counter()
        print(f"forkserver warm-up and start of {args.writers} writers: {start - t0:.1f} s", flush=True)
        deadline = time.monotonic() + args.timeout
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        wall = time.perf_counter() - start
        stop.set()
        lister.join(60)
    finally:
        for p in procs + [lister]:
            if p.is_alive():
                print(f"killing {p.name}: still running", file=sys.stderr)
                p.kill()
                ok = False
    if any(p.exitcode != 0 for p in procs):
        print(f"writers failed: exit codes {[p.exitcode for p in procs]}", file=sys.stderr)
        return 1

    from vectorbt.portfolio.registry import RunRegistry

    results = [json.load(open(o)) for o in outs]
    ids = [i for r in results for i in r["ids"]]
    total = args.writers * args.runs
    latencies = [x for r in results for x in r["latencies"]]
    print(f"{args.writers} writers x {args.runs} runs = {total} registrations in {wall:.1f} s: "
          f"{total / wall:.1f} runs/s overall, {total / wall / args.writers:.2f} runs/s per writer")
    print(f"register latency: median {statistics.median(latencies) * 1e3:.0f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1e3:.0f} ms, max {max(latencies) * 1e3:.0f} ms")
    if os.path.exists(reader_out):
        rd = json.load(open(reader_out))
        if rd["latencies"]:
            print(f"concurrent list(): {len(rd['latencies'])} calls, median "
                  f"{statistics.median(rd['latencies']) * 1e3:.1f} ms, p95 "
                  f"{percentile(rd['latencies'], 0.95) * 1e3:.1f} ms; sizes never shrank: "
                  f"{all(a <= b for a, b in zip(rd['sizes'], rd['sizes'][1:]))}")
            ok &= all(a <= b for a, b in zip(rd["sizes"], rd["sizes"][1:]))

    t = time.perf_counter()
    reg = RunRegistry(path)
    problems = []
    if len(ids) != total or len(set(ids)) != total:
        problems.append(f"{len(ids)} ids, {len(set(ids))} distinct, {total} expected")
    if sorted(reg) != sorted(ids):
        problems.append(f"the registry lists {len(reg)} runs, {total} expected")
    shas = {k: v for r in results for k, v in r["shas"].items()}
    table = reg.store.table()
    for run_id in ids:
        rec = reg.get(run_id)
        w, i = rec.params["w"], rec.params["i"]
        sha = rec.files["portfolio.pkl"]["sha256"]
        if rec.name != f"writer{w}" or results[w]["ids"][i] != run_id or sha != shas[run_id]:
            problems.append(f"run {run_id} is not as registered")
    found = reg.check()
    if found:
        problems.append(f"check(): {found[:5]}")
    reg.rebuild_index()
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(reg.store.table(), table)
    except AssertionError as e:
        problems.append(f"the incremental index differs from the rebuilt one: {e}")
    print(f"verified {len(ids)} runs (records, checksums, check(), rebuild_index) in {time.perf_counter() - t:.1f} s")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {path}")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
