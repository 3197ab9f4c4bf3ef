"""The speed goals of storage format 2, measured through the registry's public API on registered runs.

Prints a Markdown table; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand.

    python benchmarks/bench_storage2.py                 # everything (about 10 minutes and 1 GB of disk)
    python benchmarks/bench_storage2.py --only load     # one part: load, writers, best

Measured (each against vectorbt's own equivalent where there is one, in the same process):
1. `load` of a whole 1,000 x 1,000 portfolio with 1,000 different closes against `vbt.Portfolio.load` of
   `pf.save()`'s file, by a new registry object each time (and, apart, again by the same one, which keeps the
   verified part, and vectorbt's constructor alone, which both loads end with); `load(column=...)` of one
   configuration of a 10,000-column sweep (median of 50 labels).
2. A process that only registers: 20,000 small runs with no listing in between, then a fresh process's `len`
   and filtered, sorted `list`; and the first `list` in a process that has just written 2,000 runs.
3. `best()` over 1,000 registered runs x 1,000 configurations, in a fresh process and warm, with and without a
   `where` on parameters.
"""

import argparse
import json
import os
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_registry import best_of  # noqa: E402


def signals_pf(n_rows: int, columns: pd.Index, one_close: bool, seed: int = 0) -> "vbt.Portfolio":
    """Random entries and exits over `columns`: on one close broadcast to every column, or on a close each."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n_rows, freq="D")
    shape = (n_rows, 1 if one_close else len(columns))
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, shape), axis=0)), index=index)
    close = close.iloc[:, 0] if one_close else close.set_axis(columns, axis=1)
    entries = pd.DataFrame(rng.random((n_rows, len(columns))) < 0.05, index=index, columns=columns)
    exits = pd.DataFrame(rng.random((n_rows, len(columns))) < 0.05, index=index, columns=columns)
    return vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, freq="1D")


def bench_load(tmp: str) -> tp.List[tp.List[str]]:
    pf = signals_pf(1000, pd.Index(np.arange(1000), name="variant"), one_close=False)
    reg = RunRegistry(os.path.join(tmp, "load"))
    run = reg.register(pf, name="big")
    path = os.path.join(tmp, "pf.pkl")
    pf.save(path)
    reg.load(run.run_id)
    vbt.Portfolio.load(path)
    # a new registry object for each load: nothing kept from an earlier load but the page cache, as for vectorbt
    ours = best_of(lambda: RunRegistry(reg.store.root).load(run.run_id), 7)
    theirs = best_of(lambda: vbt.Portfolio.load(path), 7)
    again = best_of(lambda: reg.load(run.run_id), 7)
    config = dict(pf.config)
    construct = best_of(lambda: type(pf)(**config), 7)  # what both loads end with
    rows = [["`load` of a whole 1,000 x 1,000 portfolio vs `vbt.Portfolio.load` (best of 7; each a new registry "
             "object: the record read and decoded, the part read and hashed)", f"{ours * 1e3:.1f} ms",
             f"{theirs * 1e3:.1f} ms", f"{ours / theirs:.2f}x", "at most 0.5x"],
            ["the same run loaded again by the same registry object (record and verified part kept)",
             f"{again * 1e3:.1f} ms", f"{theirs * 1e3:.1f} ms", f"{again / theirs:.2f}x", ""],
            ["of which vectorbt's own constructor, `type(pf)(**pf.config)`, which `vbt.Portfolio.load` ends with too",
             f"{construct * 1e3:.1f} ms", f"{theirs * 1e3:.1f} ms", f"{construct / theirs:.2f}x", ""]]

    columns = pd.MultiIndex.from_product([range(2, 93), range(3, 113)], names=["fast", "slow"])[:10_000]
    sweep = signals_pf(1000, columns, one_close=True, seed=1)
    run = reg.register(sweep, name="sweep")
    labels = [columns[i] for i in np.random.default_rng(2).choice(len(columns), 50, replace=False)]
    reg.load(run.run_id, column=labels[0])
    times = []
    for label in labels:
        t0 = time.perf_counter()
        reg.load(run.run_id, column=label)
        times.append(time.perf_counter() - t0)
    cold = []
    for label in labels[:10]:  # a new registry object each time: nothing kept from before but the page cache
        fresh_reg = RunRegistry(reg.store.root)
        t0 = time.perf_counter()
        fresh_reg.load(run.run_id, column=label)
        cold.append(time.perf_counter() - t0)
    t_full = best_of(lambda: sweep[labels[0]], 1)
    rows.append([f"`load(column=...)` of one configuration of a {len(columns):,}-column sweep, median of 50 "
                 f"after a first one (worst {max(times) * 1e3:.1f} ms)", f"{statistics.median(times) * 1e3:.1f} ms",
                 f"`pf[label]` in memory {t_full * 1e3:.1f} ms", "", "at most 20 ms"])
    rows.append(["the same, the first configuration a registry object loads of that run (median of 10; the "
                 "record decoded and the whole part read and hashed)", f"{statistics.median(cold) * 1e3:.1f} ms",
                 "", "", "at most 20 ms"])
    return rows


FRESH = """
import sys, time, json
from vectorbt.portfolio.registry import RunRegistry
t0 = time.perf_counter()
reg = RunRegistry(sys.argv[1])
mode = sys.argv[2]
if mode == "len":
    out = len(reg)
elif mode == "list":
    out = reg.list(where="i > 100 and total_return > -1", sort_by="total_return", limit=10)
elif mode == "best":
    out = reg.best("sharpe_ratio", n=10)
else:
    out = reg.best("sharpe_ratio", n=10, where="fast_window < slow_window")
print(json.dumps({"op": time.perf_counter() - t0}))
"""


def fresh(path: str, mode: str) -> float:
    """Seconds of one operation in a new interpreter, from opening the registry (after the imports)."""
    out = subprocess.run([sys.executable, "-c", FRESH, path, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["op"]


def bench_writers(tmp: str, n_runs: int, n_first: int) -> tp.List[tp.List[str]]:
    rng = np.random.default_rng(3)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 250))),
                      index=pd.date_range("2020-01-01", periods=250, freq="D"))
    pf = vbt.Portfolio.from_signals(close, rng.random(250) < 0.05, rng.random(250) < 0.05, freq="1D")
    path = os.path.join(tmp, "writers")
    reg = RunRegistry(path)
    t0 = time.perf_counter()
    for i in range(n_first):
        reg.register(pf, name="w", params={"i": i})
    t1 = time.perf_counter()
    reg.list()
    t_first_list = time.perf_counter() - t1
    for i in range(n_first, n_runs):
        reg.register(pf, name="w", params={"i": i})
    t_write = time.perf_counter() - t0
    del reg
    t_len = min(fresh(path, "len") for _ in range(3))
    t_list = min(fresh(path, "list") for _ in range(3))
    return [
        [f"first `list` in the process that has just written {n_first:,} runs", f"{t_first_list * 1e3:.1f} ms", "",
         "", "under 30 ms"],
        [f"fresh process after {n_runs:,} registrations with no listing: `len(reg)`", f"{t_len * 1e3:.0f} ms", "",
         "", "under 0.5 s"],
        ["the same: `list(where=..., sort_by=..., limit=10)`", f"{t_list * 1e3:.0f} ms", "", "", "under 0.5 s"],
        [f"(writing the {n_runs:,} runs, for scale: {t_write / n_runs * 1e3:.1f} ms a run)", "", "", "", ""],
    ]


def bench_best(tmp: str, n_runs: int) -> tp.List[tp.List[str]]:
    columns = pd.MultiIndex.from_product([range(2, 42), range(10, 35)], names=["fast_window", "slow_window"])
    pf = signals_pf(100, columns, one_close=True, seed=4)
    path = os.path.join(tmp, "best")
    reg = RunRegistry(path)
    t0 = time.perf_counter()
    for i in range(n_runs):
        reg.register(pf, name="sweep", params={"asset": f"a{i % 10}", "fee": 0.001 * (i % 7), "k": i})
    t_build = time.perf_counter() - t0
    rows = []
    for mode, label in (("best", "`best(n=10)`"), ("best_where", "`best(n=10, where=\"fast_window < slow_window\")`")):
        t = min(fresh(path, mode) for _ in range(3))
        rows.append([f"{label} over {n_runs:,} registered runs x {len(columns):,} configurations, fresh process",
                     f"{t * 1e3:.0f} ms", "", "", "under 1 s"])
    warm = RunRegistry(path)
    warm.best("sharpe_ratio", n=10)
    for where, label in ((None, "`best(n=10)`"), ("fast_window < slow_window", "`best(n=10, where=...)`")):
        t = best_of(lambda: warm.best("sharpe_ratio", n=10, where=where), 5)
        rows.append([f"{label}, warm", f"{t * 1e3:.0f} ms", "", "", "under 0.2 s"])
    rows.append([f"(registering the {n_runs:,} runs, for scale: {t_build / n_runs * 1e3:.0f} ms a run)", "", "", "",
                 ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["load", "writers", "best"], action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    args = parser.parse_args()
    parts = args.only or ["load", "writers", "best"]
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        if "load" in parts:
            rows += bench_load(tmp)
        if "writers" in parts:
            rows += bench_writers(tmp, 2_000 if args.quick else 20_000, 2_000)
        if "best" in parts:
            rows += bench_best(tmp, 50 if args.quick else 1_000)
    print("| measurement | ours | vectorbt | ratio | goal |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
