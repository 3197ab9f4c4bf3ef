"""Speed of `RunRegistry.best` over a registry of 1,000 runs x 1,000 configurations (a million configurations).

Prints a Markdown table; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand.

    python benchmarks/bench_best.py                        # builds the registry in a temporary folder
    python benchmarks/bench_best.py --root /some/folder    # builds it there once, then reuses it
    python benchmarks/bench_best.py --runs 100 --configs 100   # a quick look

The registry is built straight through the store, without backtests: each run is a record with made-up
metrics on the column levels `fast_window` x `slow_window` (ints, as `MA.run_combs` makes them), run
parameters `asset` and `fee`, and its `"configs"` part (schema 2). Measured, with and without
`where="fast_window < slow_window"`:

1. `best("sharpe_ratio", n=10)` in a fresh process, timed from opening the registry (after the imports; their
   time is printed apart), best of three processes;
2. the same call again on a warm registry object (best of five, after one call);
3. for comparison, a fresh process that reads every run's record instead of its part (the path of runs of
   schema 1, which have no part).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vectorbt import _typing as tp  # noqa: E402
from vectorbt.portfolio.registry import RunRegistry  # noqa: E402
from vectorbt.portfolio.registry.configs import configs_bytes  # noqa: E402
from vectorbt.portfolio.registry.integrity import part_info  # noqa: E402
from vectorbt.portfolio.registry.run import RunRecord, new_run_id  # noqa: E402
from vectorbt.portfolio.registry.spec import CONFIGS, METRIC_NAMES, PORTFOLIO  # noqa: E402
from vectorbt.portfolio.registry.stores.file_store import FileStore  # noqa: E402

from bench_registry import best_of  # noqa: E402  (the folder of the script is on sys.path)

WHERE = "fast_window < slow_window"

FRESH = r"""
import json, sys, time
t0 = time.perf_counter()
from vectorbt.portfolio.registry import RunRegistry
from vectorbt.portfolio.registry.errors import IntegrityError
t1 = time.perf_counter()
path, where, records = sys.argv[1], sys.argv[2] or None, sys.argv[3] == "records"
reg = RunRegistry(path, read_only=True)
if records:  # as if no run had a "configs" part
    def no_part(run_id, role, deleted=False):
        raise IntegrityError(run_id, "configs.npz", "the file is missing")
    reg.store.read_part = no_part
t2 = time.perf_counter()
top = reg.best("sharpe_ratio", n=10, where=where)
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "open": t2 - t1, "best": t3 - t2, "total": t3 - t1, "rows": len(top)}))
"""


def grid(n_configs: int) -> tp.List[tp.Tuple[int, int]]:
    """`n_configs` (fast_window, slow_window) labels: the pairs of a square-ish grid, in its order."""
    side = int(np.ceil(np.sqrt(n_configs)))
    pairs = [(f, s) for f in range(2, 2 + side) for s in range(2, 2 + side)]
    return pairs[:n_configs]


def make_record(k: int, labels: tp.List[tp.Tuple[int, int]], rng: np.random.Generator) -> tp.Tuple[RunRecord,
                                                                                               tp.Dict[str, bytes]]:
    """Run `k`: a record with made-up metrics (some inf and NaN, as real sweeps have) and its two parts."""
    portfolio = rng.bytes(64)
    record = RunRecord(
        run_id=new_run_id(), name=f"strategy_{k % 7}", created_at=datetime.now(timezone.utc),
        params={"asset": ["btc", "eth", "sol"][k % 3], "fee": [0.0, 0.001, 0.002][k % 3]},
        tags=["bench", f"batch{k // 100}"], columns=list(labels), column_names=["fast_window", "slow_window"],
        settings={"freq": "1D"}, versions={"python": sys.version.split()[0]},
        data_fingerprint=hashlib.sha256(f"data{k}".encode()).hexdigest(),
        identity=hashlib.sha256(f"identity{k}".encode()).hexdigest(), schema_version=2,
    )
    values = rng.normal(0, 1, (len(labels), len(METRIC_NAMES)))
    values[rng.random(len(labels)) < 0.01, METRIC_NAMES.index("sharpe_ratio")] = np.inf
    values[rng.random(len(labels)) < 0.01, METRIC_NAMES.index("sharpe_ratio")] = np.nan
    record.metrics = pd.DataFrame(values, index=record.column_index, columns=list(METRIC_NAMES))
    parts = {PORTFOLIO: portfolio, CONFIGS: configs_bytes(record)}
    record.parts = {role: part_info(data) for role, data in parts.items()}
    return record, parts


def build(path: str, n_runs: int, n_configs: int) -> None:
    """Make the registry at `path` unless a previous call made it with these sizes."""
    marker = os.path.join(path, "bench_best.json")
    wanted = {"runs": n_runs, "configs": n_configs}
    if os.path.exists(marker):
        with open(marker) as f:
            if json.load(f) == wanted:
                return
        raise SystemExit(f"{path} holds a benchmark registry of other sizes; pass another --root")
    store = FileStore(os.path.join(path, "registry"))
    if len(store):
        raise SystemExit(f"{path}/registry is not empty and not a benchmark registry of these sizes")
    labels = grid(n_configs)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for k in range(n_runs):
        store.create(*make_record(k, labels, rng))
        if (k + 1) % 100 == 0:
            print(f"  built {k + 1:,} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    with open(marker, "w") as f:
        json.dump(wanted, f)


def folder_size(path: str, name: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files if f == name)


def fresh(path: str, where: tp.Optional[str], records: bool = False) -> tp.Dict[str, float]:
    out = subprocess.run([sys.executable, "-c", FRESH, path, where or "", "records" if records else "parts"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", help="folder of the benchmark registry (built once, then reused)")
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--configs", type=int, default=1_000, help="configurations per run")
    parser.add_argument("--no-records", action="store_true", help="skip the fresh process reading the records")
    args = parser.parse_args()
    root = args.root or tempfile.mkdtemp(prefix="bench-best-")
    t0 = time.perf_counter()
    build(root, args.runs, args.configs)
    print(f"registry: {root} ({args.runs:,} runs x {args.configs:,} configurations; ready in "
          f"{time.perf_counter() - t0:.0f} s); configs parts {folder_size(root, 'configs.npz') / 1e6:.1f} MB "
          "(with the metrics)", file=sys.stderr)
    path = os.path.join(root, "registry")
    rows = ["| measurement | time | goal |", "| --- | --- | --- |"]
    size = f"{args.runs:,} runs x {args.configs:,} configurations"
    imports = []
    for where, label in ((None, "no `where`"), (WHERE, f'`where="{WHERE}"`')):
        runs = [fresh(path, where) for _ in range(3)]
        imports += [r["imports"] for r in runs]
        t = min(r["total"] for r in runs)
        rows.append(f"| {size}: `best(n=10)`, {label}, fresh process | {t * 1e3:.0f} ms "
                    f"(best() alone {min(r['best'] for r in runs) * 1e3:.0f} ms) | under 1 s: "
                    f"{'met' if t < 1 else '**not met**'} |")
    warm = RunRegistry(path, read_only=True)
    for where, label in ((None, "no `where`"), (WHERE, f'`where="{WHERE}"`')):
        warm.best("sharpe_ratio", n=10, where=where)
        t = best_of(lambda: warm.best("sharpe_ratio", n=10, where=where), 5)
        rows.append(f"| {size}: `best(n=10)`, {label}, warm | {t * 1e3:.0f} ms | under 0.2 s: "
                    f"{'met' if t < 0.2 else '**not met**'} |")
    t = best_of(lambda: warm.best("sharpe_ratio", n=None, where=WHERE), 3)
    rows.append(f"| {size}: `best(n=None)`, `where`, warm (a frame of every row kept) | {t * 1e3:.0f} ms | |")
    if not args.no_records:
        r = fresh(path, None, records=True)
        rows.append(f"| {size}: `best(n=10)`, fresh process, every run read from its record (runs without a "
                    f"part) | {r['total'] * 1e3:.0f} ms | |")
    print("\n".join(rows))
    print(f"\nimports in the fresh processes: {min(imports):.1f} to {max(imports):.1f} s (not counted above)")


if __name__ == "__main__":
    main()
