"""Benchmark the first use of `compute_metrics` in a fresh process: cold (Numba's cache empty) and warm.

Numba compiles the metric kernels the first time they run and keeps the machine code in its cache
(`NUMBA_CACHE_DIR`, or `__pycache__` next to the code); later processes load it from there. This script measures
both cases, each in a fresh Python process (a subprocess of this one) with `NUMBA_CACHE_DIR` set to a new, empty
temporary folder:

1. the child imports vectorbt and the registry, builds three portfolios — a sweep of 10 configurations over one
    asset, a single column and four assets in two groups with cash sharing — and runs `pf.stats()` on each, so
    that vectorbt's own functions are compiled first (their time is printed too, as "vectorbt's first use"),
2. then it times `compute_metrics` on each of the three, in turn: the first call compiles the kernels that all
    three share, the other two should take milliseconds,
3. then, each on a portfolio of its own, the two paths that compile a kernel of their own on first use: trade
    statistics of positions (`trades_type="positions"`, the same for entry trades) and an automatic initial cash.

"Cold" is the first child on the empty folder, "warm" a second child on the folder the first one filled. Wall and
CPU times are the medians over `--repeat` pairs of children (a new folder for each pair). The child also reports
whether `compute_metrics` printed its compile notice (`metrics.compile_notice`). Prints a Markdown table:

```bash
python benchmarks/bench_cold_start.py              # three cold/warm pairs: about 4 minutes on 2 cores
python benchmarks/bench_cold_start.py --repeat 1
```
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

KINDS = ("sweep", "single", "grouped")
"""The three kinds of portfolio whose first `compute_metrics` the goal is about, in the order they run."""

EXTRA_KINDS = ("positions", "auto_cash")
"""Paths with a kernel of their own, timed after the three."""


def child() -> None:
    """Print, as one JSON line, the times of vectorbt's first use and of the first `compute_metrics` of each kind."""
    import warnings

    t_import = time.perf_counter()
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    from vectorbt.portfolio.registry import metrics

    result = {"import": time.perf_counter() - t_import}

    def prices(n: int, seed: int) -> pd.Series:
        rng = np.random.default_rng(seed)
        index = pd.date_range("2021-01-01", periods=n, freq="1D")
        return pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.0004, 0.02, n))), index=index, name="close")

    t_vbt = time.perf_counter()
    close = prices(500, 1)
    fast, slow = vbt.MA.run_combs(close, window=[5, 10, 15, 20, 25], r=2, short_names=["fast", "slow"])
    assets = pd.DataFrame({f"a{i}": prices(500, 10 + i).values for i in range(4)}, index=close.index)
    pfs = {
        "sweep": vbt.Portfolio.from_signals(
            close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), fees=0.001, freq="1D"
        ),
        "single": vbt.Portfolio.from_signals(
            close, close > close.rolling(5).mean(), close < close.rolling(5).mean(), fees=0.001, freq="1D"
        ),
        "grouped": vbt.Portfolio.from_signals(
            assets, assets > assets.rolling(4).mean(), assets < assets.rolling(4).mean(), group_by=[0, 0, 1, 1],
            cash_sharing=True, init_cash=1000, freq="1D",
        ),
        "positions": vbt.Portfolio.from_signals(
            close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), fees=0.001, freq="1D",
            trades_type="positions",
        ),
        "auto_cash": vbt.Portfolio.from_signals(
            close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), size=10.0, fees=0.001, freq="1D",
            init_cash="auto",
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pf in pfs.values():
            pf.stats(agg_func=None)
    result["vectorbt"] = time.perf_counter() - t_vbt

    for kind in KINDS + EXTRA_KINDS:
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        metrics.compute_metrics(pfs[kind])
        result[kind] = (time.perf_counter() - start_wall, time.process_time() - start_cpu)
    print(json.dumps(result), flush=True)


def run_child(cache_dir: str) -> dict:
    """Run `child` in a fresh process with `NUMBA_CACHE_DIR=cache_dir`; return its result and whether it printed
    the compile notice."""
    from vectorbt.portfolio.registry import metrics

    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child"], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["notices"] = proc.stderr.count(metrics.compile_notice)
    return result



def machine() -> str:
    """Number of CPUs, CPU model and Python, NumPy, Numba and vectorbt versions."""
    import numba
    import numpy as np
    import vectorbt as vbt

    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, NumPy {np.__version__}, "
        f"Numba {numba.__version__}, vectorbt {vbt.__version__}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="number of cold/warm pairs (default 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child()
        return

    print(f"{time.strftime('%Y-%m-%d')}, {machine()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    runs = {"cold": [], "warm": []}
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
            for which in ("cold", "warm"):
                result = run_child(cache_dir)
                runs[which].append(result)
                first = ", ".join(f"{kind} {result[kind][0]:.2f} s" for kind in KINDS + EXTRA_KINDS)
                print(
                    f"run {i + 1} {which}: vectorbt's first use {result['vectorbt']:.1f} s; compute_metrics: {first}; "
                    f"notices {result['notices']}; load {os.getloadavg()[0]:.2f}",
                    file=sys.stderr,
                    flush=True,
                )

    def med(which: str, kind: str, k: int) -> float:
        return statistics.median(r[kind][k] for r in runs[which])

    print()
    print(f"Median of {args.repeat} fresh processes each: the first `compute_metrics` of each kind, in turn")
    print()
    print("| | vectorbt's first use | sweep (10 configs) | single column | grouped, cash sharing "
          "| the three together | CPU, the three | then positions | then auto init cash | notice printed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for which in ("cold", "warm"):
        total = statistics.median(sum(r[kind][0] for kind in KINDS) for r in runs[which])
        total_cpu = statistics.median(sum(r[kind][1] for kind in KINDS) for r in runs[which])
        notices = sorted({r["notices"] for r in runs[which]})
        print(
            f"| {which} | {statistics.median(r['vectorbt'] for r in runs[which]):.1f} s "
            + "".join(f"| {med(which, kind, 0):.2f} s " for kind in KINDS)
            + f"| **{total:.2f} s** | {total_cpu:.2f} s "
            + "".join(f"| {med(which, kind, 0):.2f} s " for kind in EXTRA_KINDS)
            + f"| {'/'.join(str(n) for n in notices)} time(s) |"
        )


if __name__ == "__main__":
    main()
