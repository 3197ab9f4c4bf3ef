"""Speed of the web page, measured through the app's own endpoints over HTTP (the Dash callbacks the browser
calls, on a `UIServer` on 127.0.0.1), as the browser would send them.

Prints a Markdown table; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand.

    python benchmarks/bench_ui.py                    # builds a 100,000-run registry and a 10,000-config sweep
    python benchmarks/bench_ui.py --runs PATH        # reuse a registry of many runs (bench_registry.fill_registry)
    python benchmarks/bench_ui.py --quick            # 10,000 runs, a 1,000-configuration sweep

Measured (goals of issue #15):
1. Runs view with 100,000 runs: the first page (the view drawn and its first block of 100 rows) in a fresh
   process, from opening the registry; then a filter (`where`) and a sort, each a new block (< 1 s, < 0.5 s).
2. Sweep view of a 10,000-configuration run: the page (heatmap, metric against a parameter, parallel
   coordinates) and the heatmap alone after moving the slider (< 1 s).
3. One configuration of that sweep: equity, underwater curve and trades (its panel and the trades grid's first
   block, < 0.5 s); then its `stats()`, which the page asks for next.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

import numpy as np  # noqa: E402

from vectorbt import _typing as tp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def post(url: str, body: tp.Dict[str, tp.Any]) -> tp.Dict[str, tp.Any]:
    """POST a callback request to the app; return its JSON answer (raise on an HTTP error)."""
    import urllib.request

    request = urllib.request.Request(url + "/_dash-update-component", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def draw(url: str, pathname: str, search: str = "") -> tp.Dict[str, tp.Any]:
    """The router's callback: the view for a path and query string."""
    return post(url, {
        "output": "..page.children...page-error.children...drawn.data..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "page-error", "property": "children"},
                    {"id": "drawn", "property": "data"}],
        "inputs": [{"id": "url", "property": "pathname", "value": pathname},
                   {"id": "url", "property": "search", "value": search}],
        "state": [{"id": "drawn", "property": "data", "value": None}],
        "changedPropIds": ["url.pathname"],
    })


def rows(url: str, source: str, key: str, start: int = 0, end: int = 100,
         sort: tp.Sequence[tp.Tuple[str, str]] = ()) -> tp.Dict[str, tp.Any]:
    """A block of a server-side grid, as the grid asks for it."""
    grid = {"role": "grid", "source": source, "key": key}
    count = {"role": "count", "source": source, "key": key}
    grid_json = json.dumps(grid, sort_keys=True, separators=(",", ":"))
    return post(url, {
        "output": '..{"key":["MATCH"],"role":"grid","source":["MATCH"]}.getRowsResponse...'
                  '{"key":["MATCH"],"role":"count","source":["MATCH"]}.children..',
        "outputs": [{"id": grid, "property": "getRowsResponse"}, {"id": count, "property": "children"}],
        "inputs": [{"id": grid, "property": "getRowsRequest",
                    "value": {"startRow": start, "endRow": end, "filterModel": {},
                              "sortModel": [{"colId": c, "sort": s} for c, s in sort]}}],
        "changedPropIds": [grid_json + ".getRowsRequest"],
    })


def _loader(url: str, request_role: str, output_role: str, run_id: str, position: int) -> tp.Dict[str, tp.Any]:
    """A callback that loads something of one configuration: the page's store `{"role": request_role, ...}`
    holding the configuration triggers it, and it fills `{"role": output_role, ...}`."""
    key = f"{run_id}:{position}"
    req = {"role": request_role, "key": key}
    return post(url, {
        "output": '{"key":["MATCH"],"role":"' + output_role + '"}.children',
        "outputs": {"id": {"role": output_role, "key": key}, "property": "children"},
        "inputs": [{"id": req, "property": "data", "value": {"run_id": run_id, "position": position}}],
        "changedPropIds": [json.dumps(req, sort_keys=True, separators=(",", ":")) + ".data"],
    })


def config_panel(url: str, run_id: str, position: int) -> tp.Dict[str, tp.Any]:
    """The callback that loads one configuration: equity, underwater curve and the number of trades."""
    return _loader(url, "config-req", "config-panel", run_id, position)


def stats_panel(url: str, run_id: str, position: int) -> tp.Dict[str, tp.Any]:
    """The callback that computes one configuration's `stats()` (asked for after its panel is drawn)."""
    return _loader(url, "stats-req", "stats", run_id, position)


def equity_and_trades(url: str, run_id: str, position: int) -> tp.Dict[str, tp.Any]:
    """One configuration as the page shows it first: its panel (equity, underwater curve, number of trades),
    then the first block of its trades grid."""
    answer = config_panel(url, run_id, position)
    assert "config-equity" in json.dumps(answer), "the configuration did not load"
    block = rows(url, "trades", f"{run_id}:{position}")
    assert '"rowCount"' in json.dumps(block), block
    return answer


def timed(fn: tp.Callable[[], tp.Any], repeat: int = 1) -> tp.Tuple[float, tp.Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


FRESH = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from bench_ui import draw, rows
from vectorbt.portfolio.registry import RunRegistry
from vectorbt.portfolio.registry.ui.app import create_app
from vectorbt.portfolio.registry.ui.server import UIServer
t0 = time.perf_counter()
server = UIServer(create_app(RunRegistry(sys.argv[1], read_only=True)), port=0, quiet=True).start()
t1 = time.perf_counter()
page = draw(server.url, "/")
block = rows(server.url, "runs", "")
t2 = time.perf_counter()
assert '"rowCount": 0' not in json.dumps(block) and '"rowCount"' in json.dumps(block), block
print(json.dumps({"app": t1 - t0, "first_page": t2 - t1, "total": t2 - t0}))
"""


def fresh_first_page(path: str) -> tp.Dict[str, float]:
    out = subprocess.run([sys.executable, "-c", FRESH, path, HERE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def big_sweep(path: str, quick: bool) -> str:
    """Register a sweep of 10,000 configurations (25 x 20 x 20; 1,000 with --quick) on 1,000 bars."""
    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.demo import demo_prices
    from vectorbt.portfolio.registry.ui.demo import three_param_sweep

    fast, slow, stop = (range(2, 12), range(30, 130, 10), np.linspace(0.02, 0.2, 10)) if quick else \
        (range(2, 27), range(30, 130, 5), np.linspace(0.01, 0.2, 20))
    pf = three_param_sweep(demo_prices(n=1000, seed=3), fast=list(fast), slow=list(slow),
                           stop=[round(float(s), 4) for s in stop])
    return RunRegistry(path).register(pf, name="big_sweep", progress=False).run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", help="a registry of many runs to reuse (else one is built)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()

    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.ui.app import create_app
    from vectorbt.portfolio.registry.ui.server import UIServer

    n_runs = 10_000 if args.quick else 100_000
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        path = args.runs
        if path is None:
            sys.path.insert(0, HERE)
            from bench_registry import fill_registry

            path = os.path.join(tmp, "runs")
            t0 = time.perf_counter()
            fill_registry(path, n_runs)
            print(f"built {n_runs:,} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        n_runs = len(RunRegistry(path, read_only=True))
        fresh = min((fresh_first_page(path) for _ in range(3)), key=lambda d: d["first_page"])
        table.append([f"runs view, {n_runs:,} runs: first page (view + first 100 rows), fresh process",
                      f"{fresh['first_page'] * 1e3:.0f} ms", "under 1 s"])
        table.append([f"runs view, {n_runs:,} runs: opening the registry and making the app, fresh process",
                      f"{fresh['app'] * 1e3:.0f} ms", ""])
        server = UIServer(create_app(RunRegistry(path, read_only=True)), port=0, quiet=True).start()
        try:
            draw(server.url, "/")
            rows(server.url, "runs", "")
            time.sleep(5)  # the app's warm-up (in a thread, a second after the first view) is done
            filters = ["sharpe_ratio > 0 and fast < 20", "total_return > 0.01", "'batch3' in tags",
                       "name == 'rsi' and slow > 100", "max_drawdown > -0.03 or sharpe_ratio > 0.5"]
            times = [timed(lambda: rows(server.url, "runs", "?" + urlencode({"where": w})))[0] for w in filters]
            table.append([f"runs view, {n_runs:,} runs: a `where` filter, first 100 rows (slowest of {len(filters)} "
                          f"filters; median {statistics.median(times) * 1e3:.0f} ms)", f"{max(times) * 1e3:.0f} ms",
                          "under 0.5 s"])
            columns = ["total_return", "max_drawdown", "name", "created_at", "tags", "column"]
            times = [timed(lambda: rows(server.url, "runs", "", sort=[(c, "desc")]))[0] for c in columns]
            slowest = columns[int(np.argmax(times))]
            table.append([f"runs view, {n_runs:,} runs: sort by a column, first 100 rows (slowest of "
                          f"{', '.join(columns)}: {slowest}; median {statistics.median(times) * 1e3:.0f} ms)",
                          f"{max(times) * 1e3:.0f} ms", "under 0.5 s"])
            t_scroll, _ = timed(lambda: rows(server.url, "runs", "", 50_000, 50_100, [("total_return", "desc")]), 5)
            table.append([f"runs view, {n_runs:,} runs: scrolling to rows 50,000-50,100 of a sorted table",
                          f"{t_scroll * 1e3:.0f} ms", ""])
        finally:
            server.stop()

        sweep_path = os.path.join(tmp, "sweep")
        t0 = time.perf_counter()
        run_id = big_sweep(sweep_path, args.quick)
        print(f"registered the sweep in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        reg = RunRegistry(sweep_path, read_only=True)
        n_configs = reg.get(run_id).n_columns
        server = UIServer(create_app(reg), port=0, quiet=True).start()
        try:
            t_first, _ = timed(lambda: draw(server.url, f"/sweep/{run_id}"), 1)
            time.sleep(5)  # the warm-up is done, as it is while one looks at the page
            t_page, _ = timed(lambda: draw(server.url, f"/sweep/{run_id}"), 3)
            slider = [timed(lambda: draw(server.url, f"/sweep/{run_id}", f"?at={at}"))[0] for at in range(1, 6)]
            t_slider = max(slider)
            table.append([f"sweep view, {n_configs:,} configurations: the page (heatmap, metric by parameter, "
                          "parallel coordinates of every configuration), first time", f"{t_first * 1e3:.0f} ms",
                          "under 1 s"])
            table.append([f"sweep view, {n_configs:,} configurations: the page again", f"{t_page * 1e3:.0f} ms", ""])
            table.append([f"sweep view, {n_configs:,} configurations: moving the slider (the page for another slice; "
                          f"slowest of {len(slider)})", f"{t_slider * 1e3:.0f} ms", "under 1 s"])
            t_first_config, _ = timed(lambda: equity_and_trades(server.url, run_id, 0))
            times, stats_times = [], []
            for position in range(7, n_configs, max(1, n_configs // 5)):
                times.append(timed(lambda: equity_and_trades(server.url, run_id, position))[0])
                stats_times.append(timed(lambda: stats_panel(server.url, run_id, position))[0])
            table.append([f"one configuration of the {n_configs:,}-configuration sweep: equity, underwater and "
                          f"trades (the panel and the trades grid's first block; slowest of {len(times)}; median "
                          f"{statistics.median(times) * 1e3:.0f} ms)", f"{max(times) * 1e3:.0f} ms", "under 0.5 s"])
            table.append([f"its `stats()`, the request that follows (slowest of {len(stats_times)}; median "
                          f"{statistics.median(stats_times) * 1e3:.0f} ms)", f"{max(stats_times) * 1e3:.0f} ms", ""])
            table.append(["the first configuration opened after start (equity and trades)",
                          f"{t_first_config * 1e3:.0f} ms", ""])
        finally:
            server.stop()
    print("| measurement | time | goal |")
    print("| --- | --- | --- |")
    for row in table:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
