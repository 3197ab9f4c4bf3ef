"""Speed of the registry's own work, measured side by side with vectorbt's equivalent where one exists.

Prints a Markdown table; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand.

    python benchmarks/bench_registry.py            # everything (builds a 100,000-run registry: a few minutes)
    python benchmarks/bench_registry.py --quick    # smaller sizes, for a quick look

Measured:
1. `reg.register(pf)` of a 1,000-row x 1,000-column portfolio against `pf.save()` of the same portfolio.
2. Registering 1,000 small single-column portfolios: median and 95th percentile per run.
3. A registry of 100,000 runs: `list(where=..., sort_by=..., limit=10)` and `len(reg)` in a fresh process
   (timed from opening the registry, after imports) and in a warm registry object.
4. `best(...)` over 100 runs x 1,000 configurations in a fresh process.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import vectorbt as vbt  # noqa: E402
from vectorbt import _typing as tp  # noqa: E402

from vectorbt.portfolio.registry import RunRegistry  # noqa: E402
from vectorbt.portfolio.registry.run import new_run_id  # noqa: E402


def sweep(n_rows: int, n_cols: int, seed: int = 0) -> "vbt.Portfolio":
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n_rows, freq="D")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_rows))), index=index)
    columns = pd.Index(np.arange(n_cols), name="variant")
    entries = pd.DataFrame(rng.random((n_rows, n_cols)) < 0.05, index=index, columns=columns)
    exits = pd.DataFrame(rng.random((n_rows, n_cols)) < 0.05, index=index, columns=columns)
    return vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, freq="1D")


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_register_vs_save(n_cols: int, repeat: int) -> tp.List[str]:
    pf = sweep(1000, n_cols)
    with tempfile.TemporaryDirectory() as tmp:
        reg = RunRegistry(os.path.join(tmp, "reg"))
        reg.register(pf, name="warm-up")
        path = os.path.join(tmp, "pf.pkl")
        pf.save(path)
        t_save = best_of(lambda: pf.save(path), repeat)
        t_reg = best_of(lambda: reg.register(pf, name="bench"), repeat)
    return [f"register vs pf.save, 1,000 x {n_cols:,}", f"{t_reg * 1e3:.0f} ms", f"{t_save * 1e3:.0f} ms",
            f"{t_reg / t_save:.2f}x"]


def bench_small(n_runs: int) -> tp.List[str]:
    pf = sweep(250, 1)
    with tempfile.TemporaryDirectory() as tmp:
        reg = RunRegistry(os.path.join(tmp, "reg"))
        reg.register(pf, name="warm-up")
        path = os.path.join(tmp, "pf.pkl")
        times, saves = [], []
        for i in range(n_runs):
            t0 = time.perf_counter()
            reg.register(pf, name="small", params={"i": i})
            t1 = time.perf_counter()
            pf.save(path)
            t2 = time.perf_counter()
            times.append(t1 - t0)
            saves.append(t2 - t1)
    times.sort()
    median, save = statistics.median(times), statistics.median(saves)
    return [f"register {n_runs:,} small portfolios (250 x 1), per run: median, p95 / pf.save median",
            f"{median * 1e3:.1f} ms, p95 {times[int(0.95 * len(times))] * 1e3:.1f} ms", f"{save * 1e3:.1f} ms",
            f"{median / save:.2f}x"]


def fill_registry(path: str, n_runs: int, n_cols: int = 1) -> RunRegistry:
    """Create a registry of `n_runs` runs quickly, for measuring reads.

    One run is registered for real; the others are copies of its record under new ids, with varied names,
    tags, params and metrics, written as the store lays them out (run folder with run.json, metrics and the
    configurations table of those metrics, hard links to copies of the template's portfolio) but without
    fsync, and their summary rows folded into the index snapshot directly. Registering 100,000 runs one by one
    takes most of an hour here; what is measured below (reading the index) does not depend on how the files
    were written."""
    from vectorbt.portfolio.registry import codec
    from vectorbt.portfolio.registry.configs import configs_bytes
    from vectorbt.portfolio.registry.index import rows_to_columns, snapshot_bytes
    from vectorbt.portfolio.registry.integrity import part_info
    from vectorbt.portfolio.registry.run import summary_row

    reg = RunRegistry(path)
    template = reg.register(sweep(100, n_cols), name="template", params={"fast": 1, "slow": 2})
    runs = os.path.join(reg.store.root, "runs")
    src = os.path.join(runs, template.run_id)
    rng = np.random.default_rng(1)
    names = ["ma_cross", "rsi", "bbands", "macd"]
    rows = [summary_row(template)]
    for i in range(n_runs - 1):
        rec = template.copy(
            run_id=new_run_id(), name=names[i % 4], tags=[names[i % 4], f"batch{i % 10}"],
            params={"fast": int(rng.integers(2, 50)), "slow": int(rng.integers(50, 200))},
        )
        rec.metrics = rec.metrics * rng.uniform(0.5, 1.5)
        folder = os.path.join(runs, rec.run_id)
        os.mkdir(folder)
        if i % 50_000 == 0:  # a file takes at most 65,000 hard links on ext4: start from a fresh copy
            shutil.copyfile(os.path.join(src, "portfolio.pkl"), os.path.join(folder, "portfolio.pkl"))
            source = os.path.join(folder, "portfolio.pkl")
        else:
            os.link(source, os.path.join(folder, "portfolio.pkl"))
        configs = configs_bytes(rec)  # the configurations and their metrics (the only copy), as register writes them
        rec.parts["configs"] = part_info(configs)
        with open(os.path.join(folder, "configs.npz"), "wb") as f:
            f.write(configs)
        with open(os.path.join(folder, "run.json"), "wb") as f:
            f.write(codec.dumps(rec.to_dict(), indent=1))
        rows.append(summary_row(rec))
    events = sorted(os.listdir(os.path.join(reg.store.root, "index", "events")))
    rows.sort(key=lambda r: r["run_id"])
    with open(os.path.join(reg.store.root, "index", "snapshot.npz"), "wb") as f:
        f.write(snapshot_bytes(rows_to_columns(rows), events))
    return RunRegistry(path)


FRESH = """
import sys, time, json
t0 = time.perf_counter()
from vectorbt.portfolio.registry import RunRegistry
t1 = time.perf_counter()
reg = RunRegistry(sys.argv[1])
mode = sys.argv[2]
if mode == "list":
    out = reg.list(where="sharpe_ratio > 0 and fast < 20", sort_by="total_return", limit=10)
elif mode == "len":
    out = len(reg)
else:
    out = reg.best("sharpe_ratio", n=10, where="variant > 10")
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "op": t2 - t1}))
"""


def fresh(path: str, mode: str) -> float:
    import json

    out = subprocess.run([sys.executable, "-c", FRESH, path, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["op"]


def bench_many_runs(n_runs: int) -> tp.List[tp.List[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "reg")
        t0 = time.perf_counter()
        fill_registry(path, n_runs)
        build = time.perf_counter() - t0
        reg = RunRegistry(path)
        len(reg)  # first read: compacts the events into a snapshot
        t_fresh_list = min(fresh(path, "list") for _ in range(3))
        t_fresh_len = min(fresh(path, "len") for _ in range(3))
        warm = RunRegistry(path)
        warm.list()
        t_warm_list = best_of(lambda: warm.list(where="sharpe_ratio > 0 and fast < 20", sort_by="total_return",
                                                limit=10), 5)
        t_warm_len = best_of(lambda: len(warm), 5)
    label = f"{n_runs:,} runs"
    return [
        [f"{label}: list(where, sort_by, limit=10), fresh process", f"{t_fresh_list * 1e3:.0f} ms", "", ""],
        [f"{label}: list(where, sort_by, limit=10), warm", f"{t_warm_list * 1e3:.1f} ms", "", ""],
        [f"{label}: len(reg), fresh process", f"{t_fresh_len * 1e3:.0f} ms", "", ""],
        [f"{label}: len(reg), warm", f"{t_warm_len * 1e3:.2f} ms", "", ""],
        [f"{label}: building the registry (set-up, fsync off)", f"{build:.0f} s", "", ""],
    ]


def bench_best(n_runs: int, n_cols: int) -> tp.List[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "reg")
        fill_registry(path, n_runs, n_cols=n_cols)
        len(RunRegistry(path))
        t = min(fresh(path, "best") for _ in range(3))
    return [f"best over {n_runs} runs x {n_cols:,} configurations, fresh process", f"{t * 1e3:.0f} ms", "", ""]



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--writes-only", action="store_true", help="only the register measurements")
    args = parser.parse_args()
    rows = [
        bench_register_vs_save(100 if args.quick else 1000, 3),
        bench_small(100 if args.quick else 1000),
    ]
    if not args.writes_only:
        rows += [
            *bench_many_runs(5_000 if args.quick else 100_000),
            bench_best(20 if args.quick else 100, 100 if args.quick else 1000),
        ]
    print("| measurement | ours | vectorbt | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
