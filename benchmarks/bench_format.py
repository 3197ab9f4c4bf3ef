"""Speed and size of the portfolio container (`vectorbt.portfolio.registry.portfolio_format`), side by side with
vectorbt's own `pf.dumps()`/`pf.save()`/`Portfolio.load` in one process.

Prints Markdown tables; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand.

    python benchmarks/bench_format.py              # everything (a 10,000-column sweep: about a minute)
    python benchmarks/bench_format.py --quick      # smaller sizes
    python benchmarks/bench_format.py --choices    # also the encodings that were measured and not chosen

Measured (each pair alternating, best of `--repeat` runs, after a warm-up):
1. 1,000 rows x 1,000 columns, 1,000 different closes (random signals, fees): `dump_portfolio` against
   `pf.dumps()`, `dump_portfolio` + write against `pf.save()`, bytes against `pf.save()`'s file, and
   `load_portfolio` of the file (through `file_reader`, and of its bytes read whole) against
   `vbt.Portfolio.load` of `pf.save()`'s file.
2. A 990-column `vbt.MA.run_combs` sweep over one close of 1,000 rows: bytes, dump and load.
3. One configuration of a 10,011-column `MA.run_combs` sweep, read with `file_reader` over an open file on disk,
   median and worst over 50 labels, against a full load.
4. 250 x 1: `dump_portfolio` + `check_loadable` against `pf.dumps()`, median of 1,000.
5. With `--choices`: what zlib (level 1), field-by-field storage and narrowing do to the order records, the
   logs and the close of case 1, and how long they take.
"""

import argparse
import os
import statistics
import tempfile
import time
import zlib

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import vectorbt as vbt  # noqa: E402
from vectorbt import _typing as tp  # noqa: E402

from vectorbt.portfolio.registry.portfolio_format import (  # noqa: E402
    check_loadable,
    dump_portfolio,
    file_reader,
    load_portfolio,
)


def random_portfolio(n_rows: int, n_cols: int, seed: int = 0, log: bool = False) -> "vbt.Portfolio":
    """`n_cols` different random-walk closes, random entries and exits (5 % each), fees."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n_rows, freq="D")
    columns = pd.Index(np.arange(n_cols), name="asset")
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_rows, n_cols)), axis=0)), index=index,
                         columns=columns)
    entries = pd.DataFrame(rng.random((n_rows, n_cols)) < 0.05, index=index, columns=columns)
    exits = pd.DataFrame(rng.random((n_rows, n_cols)) < 0.05, index=index, columns=columns)
    return vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, freq="1D", log=log)


def ma_sweep(n_rows: int, n_windows: int, seed: int = 0) -> "vbt.Portfolio":
    """A moving-average crossover over one close: `n_windows * (n_windows - 1) / 2` configurations."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n_rows, freq="D")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_rows))), index=index, name="close")
    fast, slow = vbt.MA.run_combs(close, window=list(range(2, 2 + n_windows)), r=2, short_names=["fast", "slow"])
    return vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), fees=0.001,
                                      freq="1D")


def side_by_side(ours: tp.Callable, theirs: tp.Callable, repeat: int) -> tp.Tuple[float, float]:
    """Best time of each, the two run alternately after one warm-up each."""
    ours()
    theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        theirs()
        t2 = time.perf_counter()
        t_ours.append(t1 - t0)
        t_theirs.append(t2 - t1)
    return min(t_ours), min(t_theirs)


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def load_file(path: str) -> "vbt.Portfolio":
    """`load_portfolio` over the open file (a `FileReader`, which reads the close into its final memory)."""
    with open(path, "rb") as f:
        return load_portfolio(file_reader(f))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms" if seconds < 0.01 else f"{seconds * 1e3:,.1f} ms"


def mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB" if n >= 1e5 else f"{n / 1e3:,.1f} KB"


def row(what: str, ours: str, theirs: str, ratio: float, goal: str = "") -> tp.List[str]:
    return [what, ours, theirs, f"{ratio:.2f}x", goal]


def bench_large(tmp: str, n_rows: int, n_cols: int, repeat: int) -> tp.List[tp.List[str]]:
    pf = random_portfolio(n_rows, n_cols)
    ours_path, theirs_path = os.path.join(tmp, "pf.vbtpf"), os.path.join(tmp, "pf.pkl")
    shape = f"{n_rows:,} x {n_cols:,}"
    t_dump, t_dumps = side_by_side(lambda: dump_portfolio(pf), pf.dumps, repeat)
    t_write, t_save = side_by_side(lambda: write(ours_path, dump_portfolio(pf)), lambda: pf.save(theirs_path), repeat)
    n_ours, n_theirs = os.path.getsize(ours_path), os.path.getsize(theirs_path)
    t_load, t_vbt_load = side_by_side(lambda: load_file(ours_path), lambda: vbt.Portfolio.load(theirs_path), repeat)
    t_bytes, t_vbt_bytes = side_by_side(lambda: load_portfolio(read(ours_path)),
                                        lambda: vbt.Portfolio.load(theirs_path), repeat)
    assert load_file(ours_path) == pf and load_portfolio(read(ours_path)) == pf
    return [
        row(f"dump, {shape} (`dump_portfolio` vs `pf.dumps()`)", ms(t_dump), ms(t_dumps), t_dump / t_dumps,
            "well under 0.5x"),
        row(f"dump + write vs `pf.save()`, {shape}", ms(t_write), ms(t_save), t_write / t_save, "well under 0.5x"),
        row(f"bytes, {shape}, {n_cols:,} different closes", mb(n_ours), mb(n_theirs), n_ours / n_theirs,
            "at most 0.5x"),
        row(f"full load from the file (`file_reader`) vs `vbt.Portfolio.load`, {shape}", ms(t_load), ms(t_vbt_load),
            t_load / t_vbt_load, "at most 0.5x"),
        row(f"full load, the file read whole first, then `load_portfolio(bytes)`, {shape}", ms(t_bytes),
            ms(t_vbt_bytes), t_bytes / t_vbt_bytes, "at most 0.5x"),
    ]


def bench_one_close(tmp: str, n_rows: int, n_windows: int, repeat: int) -> tp.List[tp.List[str]]:
    pf = ma_sweep(n_rows, n_windows)
    n_cols = pf.wrapper.shape_2d[1]
    ours_path, theirs_path = os.path.join(tmp, "sweep.vbtpf"), os.path.join(tmp, "sweep.pkl")
    write(ours_path, dump_portfolio(pf))
    pf.save(theirs_path)
    n_ours, n_theirs = os.path.getsize(ours_path), os.path.getsize(theirs_path)
    t_dump, t_dumps = side_by_side(lambda: dump_portfolio(pf), pf.dumps, repeat)
    t_load, t_vbt_load = side_by_side(lambda: load_file(ours_path), lambda: vbt.Portfolio.load(theirs_path), repeat)
    what = f"{n_cols:,}-column sweep over one close, {n_rows:,} rows"
    return [
        row(f"bytes, {what}", mb(n_ours), mb(n_theirs), n_ours / n_theirs, "at most 0.2x"),
        row(f"dump, {what}", ms(t_dump), ms(t_dumps), t_dump / t_dumps),
        row(f"full load, {what}", ms(t_load), ms(t_vbt_load), t_load / t_vbt_load),
    ]


def bench_one_configuration(tmp: str, n_rows: int, n_windows: int, n_labels: int = 50) -> tp.List[tp.List[str]]:
    pf = ma_sweep(n_rows, n_windows, seed=1)
    n_cols = pf.wrapper.shape_2d[1]
    path = os.path.join(tmp, "big.vbtpf")
    write(path, dump_portfolio(pf))
    size = os.path.getsize(path)
    rng = np.random.default_rng(2)
    labels = [pf.wrapper.columns[i] for i in rng.choice(n_cols, n_labels, replace=False)]
    asked = []

    with open(path, "rb") as f:
        reader = file_reader(f)

        def counting(offset: int, length: int) -> bytes:
            asked[-1] += length
            return reader(offset, length)

        load_portfolio(reader, column=labels[0])  # warm-up
        times = []
        for label in labels:
            asked.append(0)
            t0 = time.perf_counter()
            one = load_portfolio(counting, column=label)
            times.append(time.perf_counter() - t0)
        assert one == pf[label]
    opened = []
    for label in labels[:10]:
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            load_portfolio(file_reader(f), column=label)
        opened.append(time.perf_counter() - t0)
    t_full = min(timed(lambda: load_file(path)) for _ in range(3))
    pkl_path = os.path.join(tmp, "big.pkl")
    pf.save(pkl_path)
    t_vbt = timed(lambda: vbt.Portfolio.load(pkl_path)[labels[0]])
    median = statistics.median(times)
    what = f"one configuration of a {n_cols:,}-column sweep ({n_rows:,} rows, {mb(size)} file)"
    return [
        [f"{what}, file open, median (worst {ms(max(times))}); {mb(int(statistics.median(asked)))} read; "
         f"our full load {ms(t_full)}", ms(median), f"{ms(t_vbt)} (`Portfolio.load(file)[label]`)",
         f"{median / t_vbt:.3f}x", "well under 20 ms"],
        ["the same, opening the file each time, median of 10", ms(statistics.median(opened)), "", "", ""],
    ]


def timed(func: tp.Callable) -> float:
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def bench_small(n_runs: int) -> tp.List[tp.List[str]]:
    pf = random_portfolio(250, 1)
    pf = pf[0]  # a Series portfolio, as a single backtest is
    ours, theirs = [], []
    dump_portfolio(pf)
    pf.dumps()
    for _ in range(n_runs):
        t0 = time.perf_counter()
        check_loadable(dump_portfolio(pf))
        t1 = time.perf_counter()
        pf.dumps()
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)
    med_ours, med_theirs = statistics.median(ours), statistics.median(theirs)
    ours.sort()
    return [row(f"small (250 x 1): dump + `check_loadable` vs `pf.dumps()`, median of {n_runs:,} "
                f"(p95 {ms(ours[int(0.95 * len(ours))])}); {mb(len(dump_portfolio(pf)))} vs {mb(len(pf.dumps()))}",
                ms(med_ours), ms(med_theirs), med_ours / med_theirs, "well under 2 ms")]


def _zlib_row(name: str, arrays: tp.Sequence[np.ndarray], repeat: int = 3) -> tp.List[str]:
    raw = sum(a.nbytes for a in arrays)
    packed = [np.ascontiguousarray(a) for a in arrays]
    t = min(timed(lambda: [zlib.compress(a, 1) for a in packed]) for _ in range(repeat))
    n = sum(len(zlib.compress(a, 1)) for a in packed)
    return [name, mb(raw), mb(n), f"{n / raw:.2f}", ms(t), f"{raw / t / 1e6:,.0f} MB/s"]


def bench_choices(n_rows: int, n_cols: int) -> tp.List[tp.List[str]]:
    """Sizes and times of the encodings considered for the records and the close."""
    from vectorbt.portfolio.registry.portfolio_format import _narrow_int

    pf = random_portfolio(n_rows, n_cols)
    orders = pf.order_records
    close = np.ascontiguousarray(pf.config["close"].values.T)
    int_fields = [orders[f] for f in ("id", "col", "idx", "side")]
    narrowed = [np.ascontiguousarray(orders[f]).astype(_narrow_int(orders[f])) for f in ("idx", "side")]
    float_fields = [orders[f] for f in ("size", "price", "fees")]
    rows = [
        _zlib_row(f"order records, packed as vectorbt has them ({len(orders):,})", [orders]),
        _zlib_row("order records, integer fields, field by field (int64)", int_fields),
        _zlib_row("order records, integer fields kept (idx, side), narrowed", narrowed),
        _zlib_row("order records, float fields, field by field", float_fields),
        _zlib_row(f"close, {n_rows:,} x {n_cols:,}, column-major", [close]),
    ]
    log_pf = random_portfolio(n_rows, max(n_cols // 10, 1), log=True)
    logs = log_pf.log_records
    rows.append(_zlib_row(f"log records, packed as vectorbt has them ({len(logs):,})", [logs]))
    data = dump_portfolio(log_pf)
    spec_sizes = {key: spec["nbytes"] for key, spec in _header(data)["arrays"].items()}
    rows.append(["log records as stored (constant fields once, ids derived, integers narrowed)", mb(logs.nbytes),
                 mb(spec_sizes["log_records"]), f"{spec_sizes['log_records'] / logs.nbytes:.2f}",
                 "", ""])
    data = dump_portfolio(pf)
    spec_sizes = {key: spec["nbytes"] for key, spec in _header(data)["arrays"].items()}
    rows.append(["order records as stored (col and id derived, idx and side narrowed)", mb(orders.nbytes),
                 mb(spec_sizes["order_records"]), f"{spec_sizes['order_records'] / orders.nbytes:.2f}", "", ""])
    return rows


def _header(data: bytes) -> dict:
    from vectorbt.portfolio.registry.portfolio_container import ContainerReader

    container = ContainerReader(data, (), None)
    container.open()
    return container.header


def table(header: tp.List[str], rows: tp.List[tp.List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: tp.Optional[tp.List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--choices", action="store_true", help="also measure the encodings not chosen")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side (best is kept)")
    args = parser.parse_args(argv)
    big = (300, 300) if args.quick else (1000, 1000)
    sweep_windows = 20 if args.quick else 45  # 190 or 990 configurations
    config_windows = 46 if args.quick else 142  # 1,035 or 10,011 configurations
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_large(tmp, *big, repeat=args.repeat)
        rows += bench_one_close(tmp, 1000, sweep_windows, repeat=args.repeat)
        rows += bench_one_configuration(tmp, 1000, config_windows)
    rows += bench_small(200 if args.quick else 1000)
    print(table(["measurement", "ours", "vectorbt", "ratio", "goal"], rows))
    if args.choices:
        print()
        print(table(["what (zlib level 1)", "raw", "compressed", "ratio", "time", "speed"], bench_choices(*big)))


if __name__ == "__main__":
    main()
