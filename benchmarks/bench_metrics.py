"""Benchmark `compute_metrics` against `Portfolio.stats(agg_func=None)`.

Builds portfolios of 1,000 rows and 100, 1,000 and 10,000 columns (random entry and exit signals,
`from_signals` with fees, daily frequency), warms both paths up, then measures side by side in this process:

* wall time: median of several runs, each on a fresh copy of the portfolio (`Portfolio.replace`, not timed),
    because vectorbt caches intermediate results per instance; runs of the two alternate,
* CPU time of the same runs (all threads of this process): on a shared machine it is less sensitive than
    wall time to what other processes do,
* peak memory traced by `tracemalloc` during one run (allocations made through Python and NumPy),
* peak resident memory added during one run, measured in a fresh process (Linux only): it also counts memory
    that Numba allocates outside of `tracemalloc`'s view.

Prints a Markdown table. Run with `--quick` for 100 and 1,000 columns only, or `--columns 10000` for one size:

```bash
NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/bench_metrics.py --quick
```
"""

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import vectorbt as vbt
from vectorbt import _typing as tp

from vectorbt.portfolio.registry.metrics import compute_metrics

N_ROWS = 1000


def make_portfolio(n_cols: int, seed: int = 42) -> vbt.Portfolio:
    """Random entries and exits (5% of bars each) on random-walk prices, with fees."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2000-01-01", periods=N_ROWS, freq="1D")
    close = pd.DataFrame(100 * np.cumprod(1 + rng.normal(0.0002, 0.01, (N_ROWS, n_cols)), axis=0), index=index)
    entries = pd.DataFrame(rng.random((N_ROWS, n_cols)) < 0.05, index=index)
    exits = pd.DataFrame(rng.random((N_ROWS, n_cols)) < 0.05, index=index)
    return vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, freq="1D")


def run_metrics(pf: vbt.Portfolio) -> None:
    compute_metrics(pf)


def run_stats(pf: vbt.Portfolio) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.stats(agg_func=None)


def time_once(func, pf: vbt.Portfolio) -> tp.Tuple[float, float]:
    """Wall time and CPU time of one run of `func` on a fresh copy of `pf`."""
    fresh = pf.replace()
    gc.collect()
    start_wall = time.perf_counter()
    start_cpu = time.process_time()
    func(fresh)
    cpu = time.process_time() - start_cpu
    return time.perf_counter() - start_wall, cpu


def time_side_by_side(pf: vbt.Portfolio, repeat_metrics: int, repeat_stats: int) -> tp.Tuple[float, ...]:
    """Median wall and CPU times of `run_metrics` and `run_stats`, each on a fresh copy of `pf`.

    The runs alternate (metrics, stats, metrics, ...) rather than coming one batch after the other, so that a
    slower or faster spell of a shared machine weighs on both sides alike."""
    metrics_times, stats_times = [], []
    for round_ in range(max(repeat_metrics, repeat_stats)):
        if round_ < repeat_metrics:
            metrics_times.append(time_once(run_metrics, pf))
        if round_ < repeat_stats:
            stats_times.append(time_once(run_stats, pf))
    return (
        statistics.median(t[0] for t in metrics_times),
        statistics.median(t[1] for t in metrics_times),
        statistics.median(t[0] for t in stats_times),
        statistics.median(t[1] for t in stats_times),
    )


def traced_peak(func, pf: vbt.Portfolio) -> int:
    """Peak bytes traced by `tracemalloc` during one run on a fresh copy of `pf`."""
    fresh = pf.replace()
    gc.collect()
    tracemalloc.start()
    try:
        func(fresh)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_peak(which: str, n_cols: int) -> float:
    """Peak resident memory added by one run of `which` ("metrics" or "stats"), in bytes, NaN where unsupported.

    Runs in a fresh Python process (see `rss_child`), so that memory kept by the allocator from earlier runs
    does not hide the peak. Linux only: reads the peak resident set size from `/proc/self/status`."""
    if not os.path.exists("/proc/self/clear_refs"):
        return np.nan
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--rss-child", which, str(n_cols)],
        capture_output=True,
        text=True,
    )
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return np.nan


def rss_child(which: str, n_cols: int) -> None:
    """Print the peak resident memory added by one run of `which` on a portfolio of `n_cols` columns, in bytes.

    Warms up on a small portfolio first, so that loading compiled code does not count, then resets the peak
    resident set size of this process to the current one."""
    func = run_metrics if which == "metrics" else run_stats
    func(make_portfolio(20))
    pf = make_portfolio(n_cols)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        print("nan")
        return
    before = _rss_kib("VmRSS")
    func(pf)
    print((_rss_kib("VmHWM") - before) * 1024)


def fmt_bytes(n: float) -> str:
    if np.isnan(n):
        return "n/a"
    return f"{n / 2 ** 20:,.1f} MiB"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only 100 and 1,000 columns")
    parser.add_argument("--columns", nargs="+", type=int, metavar="N", help="these numbers of columns only")
    parser.add_argument("--rss-child", nargs=2, metavar=("WHICH", "N_COLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return
    sizes = args.columns or ([100, 1000] if args.quick else [100, 1000, 10000])

    print(f"vectorbt {vbt.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    warm = make_portfolio(20)
    run_metrics(warm.replace())
    run_stats(warm.replace())

    rows = []
    for n_cols in sizes:
        pf = make_portfolio(n_cols)
        run_metrics(pf.replace())  # warm-up at this size
        run_stats(pf.replace())
        repeat_stats = 5
        t_metrics, cpu_metrics, t_stats, cpu_stats = time_side_by_side(pf, 7, repeat_stats)
        mem_metrics = traced_peak(run_metrics, pf)
        mem_stats = traced_peak(run_stats, pf)
        rss_metrics = rss_peak("metrics", n_cols)
        rss_stats = rss_peak("stats", n_cols)
        rows.append(
            (n_cols, t_metrics, t_stats, cpu_metrics, cpu_stats, mem_metrics, mem_stats, rss_metrics, rss_stats)
        )
        print(
            f"{n_cols:>6} columns: compute_metrics {t_metrics * 1e3:.1f} ms, stats {t_stats * 1e3:.1f} ms, "
            f"{t_stats / t_metrics:.1f}x (CPU {cpu_stats / cpu_metrics:.1f}x), load {os.getloadavg()[0]:.2f}",
            file=sys.stderr,
            flush=True,
        )

    print()
    print(f"{N_ROWS:,} rows, from_signals with fees, freq='1D'; median over fresh copies")
    print()
    print(
        "| columns | compute_metrics | pf.stats | speed-up | CPU: metrics | CPU: stats | CPU speed-up "
        "| tracemalloc peak: metrics | tracemalloc peak: stats | peak RSS added: metrics | peak RSS added: stats |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n_cols, t_metrics, t_stats, cpu_metrics, cpu_stats, mem_metrics, mem_stats, rss_metrics, rss_stats in rows:
        print(
            f"| {n_cols:,} | {t_metrics * 1e3:,.1f} ms | {t_stats * 1e3:,.1f} ms | {t_stats / t_metrics:,.1f}x "
            f"| {cpu_metrics * 1e3:,.1f} ms | {cpu_stats * 1e3:,.1f} ms | {cpu_stats / cpu_metrics:,.1f}x "
            f"| {fmt_bytes(mem_metrics)} | {fmt_bytes(mem_stats)} | {fmt_bytes(rss_metrics)} | {fmt_bytes(rss_stats)} |"
        )


if __name__ == "__main__":
    main()
