"""The web page without a browser: its data layer (`ui.data`), its rules (bind address, read-only unless told,
no access outside the registry, refused portfolios as errors) and its app's endpoints through Flask's test
client. The browser tests are in test_ui_browser.py and test_ui_write.py."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from ui_fixtures import require_ui  # noqa: E402

require_ui()

from vectorbt.portfolio.registry.errors import ReadOnlyError, RunNotFoundError  # noqa: E402
from vectorbt.portfolio.registry.ui.data import (  # noqa: E402
    RunsQuery,
    UIBackend,
    cell_value,
    downsample,
    json_value,
)
from vectorbt.portfolio.registry.ui.demo import demo_registry  # noqa: E402
from vectorbt.portfolio.registry.ui.server import UIBindWarning, UIServer, check_host, is_loopback  # noqa: E402

SAVE_OUTPUT = "..edit-message.children...run-notes.children.."
"""The write app's callback that saves tags, notes and status (as Dash names it in `callback_map`)."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo registry (3 runs) and its run ids by role."""
    return demo_registry(tmp_path_factory.mktemp("ui") / "registry", n_bars=200)


@pytest.fixture
def fresh_demo(tmp_path):
    return demo_registry(tmp_path / "registry", n_bars=120)


# ############# Data layer ############# #


def test_runs_page_filters_sorts_and_pages_on_the_server(demo):
    reg, ids = demo
    backend = UIBackend(reg)
    page = backend.runs_page(RunsQuery(where="n_columns > 1"), 0, 100)
    assert page.count == 2
    assert {r["run_id"] for r in page.rows} == {ids["sweep"], ids["other"]}
    page = backend.runs_page(RunsQuery(), 0, 100, sort=[("n_columns", True)])
    assert [r["n_columns"] for r in page.rows] == [1, 12, 24]
    page = backend.runs_page(RunsQuery(), 0, 100, sort=[("n_columns", False)])
    assert [r["n_columns"] for r in page.rows] == [24, 12, 1]
    page = backend.runs_page(RunsQuery(), 1, 2, sort=[("n_columns", False)])
    assert page.count == 3 and [r["n_columns"] for r in page.rows] == [12]
    assert backend.runs_page(RunsQuery(name="ma_stop_oos"), 0, 10).count == 1
    assert backend.runs_page(RunsQuery(tags="demo, oos"), 0, 10).rows[0]["run_id"] == ids["single"]
    assert backend.runs_page(RunsQuery(status="candidate,rejected"), 0, 10).count == 2
    assert backend.runs_page(RunsQuery(since="2000-01-01", until="2999-12-31"), 0, 10).count == 3
    assert backend.runs_page(RunsQuery(until="2000-01-01"), 0, 10).count == 0


def test_sort_puts_missing_values_last_both_ways(demo):
    reg, ids = demo
    backend = UIBackend(reg)
    for ascending in (True, False):
        statuses = [r["status"] for r in backend.runs_page(RunsQuery(), 0, 10, [("status", ascending)]).rows]
        assert statuses == (["candidate", "rejected", None] if ascending else ["rejected", "candidate", None])
    tags = [r["tags"] for r in backend.runs_page(RunsQuery(), 0, 10, [("tags", True)]).rows]
    assert tags == sorted(tags)


def test_bad_where_and_bad_dates_say_what_is_wrong(demo):
    reg, _ = demo
    backend = UIBackend(reg)
    assert backend.check_where("n_columns > 1") is None
    assert backend.check_where("sharpe > 1").startswith("where: 'sharpe' is not a column")
    assert "where:" in backend.check_where("__import__('os').system('true')")
    with pytest.raises(ValueError, match="since: 'yesterday-ish' is not a date"):
        backend.runs_page(RunsQuery(since="yesterday-ish"), 0, 10)
    with pytest.raises(ValueError, match="sort: no column 'nope'"):
        backend.runs_page(RunsQuery(), 0, 10, [("nope", True)])


def test_a_where_from_the_page_cannot_make_the_server_backtrack(fresh_demo):
    """Patterns that take Python's re hours over a long note answer at once (RE2); one RE2 does not accept is
    refused with a message, as the page shows it."""
    import time

    reg, ids = fresh_demo
    run_id = next(iter(ids.values()))
    reg.update(run_id, notes="checked " + "a" * 100_000)
    backend = UIBackend(reg)
    for where, count in [("notes.str.contains('.*.*.*.*.*.*x')", 0), ("notes.str.contains('(a+)+$')", 1),
                         ("notes.str.contains('[a-z ]+!', case=False)", 0)]:
        assert backend.check_where(where) is None
        start = time.perf_counter()
        assert backend.runs_page(RunsQuery(where=where), 0, 10).count == count
        assert time.perf_counter() - start < 10.0, where
    assert "RE2 accepts" in backend.check_where("notes.str.contains('(a)\\\\1')")


def test_configuration_view_loads_one_configuration(demo):
    reg, ids = demo
    backend = UIBackend(reg)
    pos = backend.position_of(ids["sweep"], (5, 20, 0.1))
    view = backend.config_view(ids["sweep"], pos)
    pf = reg.load(ids["sweep"], column=(5, 20, 0.1))
    assert view.label == (5, 20, 0.1)
    np.testing.assert_allclose(view.value, pf.value().to_numpy())
    pd.testing.assert_frame_equal(view.trades, pf.trades.records_readable)
    assert np.nanmin(view.drawdown) == pytest.approx(pf.value().div(pf.value().cummax()).sub(1).min())
    assert backend.stats(ids["sweep"], pos)["Total Return [%]"] == pytest.approx(pf.total_return() * 100)
    with pytest.raises(ValueError, match="config: 99 is not a configuration"):
        backend.config_view(ids["sweep"], 99)


def test_sweep_slices_reduces_and_points_at_the_best_configuration(demo):
    reg, ids = demo
    backend = UIBackend(reg)
    record = reg.get(ids["sweep"])
    view = backend.sweep(ids["sweep"], "fast_window", "slow_window", "total_return", "best", "sl_stop", 0.1)
    assert view.x_values == [3, 5, 8] and view.y_values == [10, 15, 20, 30]
    assert (view.counts == 1).all()
    pos = view.positions[view.y_values.index(20), view.x_values.index(5)]
    assert record.columns[pos] == (5, 20, 0.1)
    assert view.z[2, 1] == pytest.approx(record.metrics["total_return"].iloc[pos])
    reduced = backend.sweep(ids["sweep"], "fast_window", "slow_window", "total_return", "mean")
    assert (reduced.counts == 2).all()
    cell = record.metrics["total_return"][[c[0] == 3 and c[1] == 10 for c in record.columns]]
    assert reduced.z[0, 0] == pytest.approx(cell.mean())
    best = record.columns[reduced.positions[0, 0]]
    assert best[:2] == (3, 10) and record.metrics["total_return"].iloc[reduced.positions[0, 0]] == cell.max()
    xs, values, positions = backend.by_param(ids["sweep"], "sl_stop", "total_return", "max")
    assert xs == [0.05, 0.1] and values[1] == pytest.approx(record.metrics["total_return"][
        [c[2] == 0.1 for c in record.columns]].max())
    with pytest.raises(ValueError, match="'nope': not a parameter of run"):
        backend.sweep(ids["sweep"], "nope", "slow_window")


def test_parallel_coordinates_targets_open_the_line_clicked(demo):
    """Each line's point on the metric axis opens that line's configuration; a point shared by several lines
    (a parameter's value, a stretch between two parameters) opens the best of them."""
    reg, ids = demo
    backend = UIBackend(reg)
    record = reg.get(ids["sweep"])
    view = backend.parallel(ids["sweep"], "total_return")
    assert view.axes == ["fast_window", "slow_window", "sl_stop", "total_return"]
    assert sorted(view.positions) == list(range(record.n_columns))
    values = record.metrics["total_return"].to_numpy()
    assert list(view.values) == sorted(values, reverse=True)  # best first
    targets = view.targets
    on_metric = targets[targets[:, 0] == 3]
    for row in range(len(view.positions)):
        hit = on_metric[np.isclose(on_metric[:, 1], view.y[row, 3])]
        same = np.flatnonzero(view.y[:, 3] == view.y[row, 3])  # equal results share a point: the first opens
        assert len(hit) == 1 and int(hit[0, 2]) == view.positions[same[0]]
    assert len(on_metric) == len(np.unique(view.y[:, 3]))
    heights = dict(zip([3, 5, 8], np.unique(view.y[:, 0])))
    for fast, height in heights.items():
        hit = targets[(targets[:, 0] == 0) & np.isclose(targets[:, 1], height)]
        same = [p for p, c in enumerate(record.columns) if c[0] == fast]
        assert len(hit) == 1 and int(hit[0, 2]) == max(same, key=lambda p: values[p])
    midway = targets[np.isclose(targets[:, 0], 0.5)]  # between fast_window and slow_window
    assert len(midway) == 12  # one per pair of values (3 x 4)
    for x, y, position in midway:
        fast, slow = record.columns[int(position)][:2]
        pair = [p for p, c in enumerate(record.columns) if c[:2] == (fast, slow)]
        assert int(position) == max(pair, key=lambda p: values[p])
    assert backend.parallel(ids["sweep"], "total_return") is view  # kept: a click is found among its targets


def test_parallel_coordinates_click_opens_the_configuration(demo):
    from vectorbt.portfolio.registry.ui.figures import parcoords_figure
    from vectorbt.portfolio.registry.ui.views.sweep import clicked_position

    reg, ids = demo
    backend = UIBackend(reg)
    view = backend.parallel(ids["sweep"])
    fig = parcoords_figure(view)
    assert fig.data[0].name == "configurations" and len(fig.data[0].x) == len(view.targets)
    number = int(np.flatnonzero(view.targets[:, 0] == 3)[-1])
    point = {"curveNumber": 0, "pointNumber": number, "x": 3.0, "y": float(view.targets[number, 1])}
    assert clicked_position(backend, ids["sweep"], "", point, "sweep-parcoords") == int(view.targets[number, 2])
    assert clicked_position(backend, ids["sweep"], "", dict(point, curveNumber=5), "sweep-parcoords") is None
    assert clicked_position(backend, ids["sweep"], "", dict(point, pointNumber=10 ** 6), "sweep-parcoords") is None


def test_compare_table_marks_what_differs(demo):
    reg, ids = demo
    backend = UIBackend(reg)
    table = backend.compare_table([(ids["sweep"], 0), (ids["other"], 0)])
    assert bool(table.loc["param.asset", "differs"]) and not bool(table.loc["name", "differs"])
    assert not bool(table.loc["param.fast_window", "differs"])  # both (3, 10, 0.05)
    curves = backend.curves([(ids["sweep"], 0), (ids["other"], 0)], max_points=50)
    assert len(curves) == 2 and all(len(c[1]) <= 52 and c[2][0] == pytest.approx(1.0) for c in curves)


def _many_trades(n_bars):
    """A portfolio that enters on every even bar and exits on the next: `n_bars // 2` trades."""
    import vectorbt as vbt

    index = pd.date_range("2020-01-01", periods=n_bars, freq="h")
    close = pd.Series(100 + np.sin(np.arange(n_bars) / 7.0), index=index)
    entries = pd.Series(np.arange(n_bars) % 2 == 0, index=index)
    return vbt.Portfolio.from_signals(close, entries, ~entries, freq="1h")


def test_trades_list_has_every_trade(tmp_path):
    from vectorbt.portfolio.registry import RunRegistry

    reg = RunRegistry(tmp_path / "registry")
    run_id = reg.register(_many_trades(12_002), name="busy").run_id
    backend = UIBackend(reg)
    view = backend.config_view(run_id, 0)
    assert len(view.trades) == 6_001
    last = backend.trades_page(run_id, 0, 5_950, 6_100)
    assert last.count == 6_001 and len(last.rows) == 51
    assert last.rows[-1]["Exit Trade Id"] == 6_000 and last.rows[-1]["row_key"] == "6000"
    newest = backend.trades_page(run_id, 0, 0, 3, sort=[("Entry Timestamp", False)])
    assert [r["Exit Trade Id"] for r in newest.rows] == [6_000, 5_999, 5_998]


WRITER = """
import sys
from vectorbt.portfolio.registry import RunRegistry
from vectorbt.portfolio.registry.demo import demo_portfolio
reg = RunRegistry(sys.argv[1])
action, run_id = sys.argv[2], sys.argv[3]
if action == "register":
    print(reg.register(demo_portfolio(windows=[5, 10]), name="from_elsewhere", progress=False).run_id)
elif action == "update":
    reg.update(run_id, notes="edited elsewhere", status="live")
else:
    reg.delete(run_id)
"""


def _elsewhere(path, action, run_id=""):
    out = subprocess.run([sys.executable, "-c", WRITER, str(path), action, run_id], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_runs_table_shows_changes_from_another_process_at_once(fresh_demo):
    """A run registered, edited or deleted by another process shows on the next first block (a filter, a sort,
    the page opened again), not after a while; scrolling keeps the rows of that first block."""
    from vectorbt.portfolio.registry import RunRegistry

    reg, ids = fresh_demo
    reader = RunRegistry(reg.store.root, read_only=True)
    backend = UIBackend(reader)
    assert backend.runs_page(RunsQuery(), 0, 100).count == 3
    new_id = _elsewhere(reg.store.root, "register")
    page = backend.runs_page(RunsQuery(), 0, 100)
    assert page.count == 4 and page.rows[0]["run_id"] == new_id  # newest first
    assert backend.runs_page(RunsQuery(where="name == 'from_elsewhere'"), 0, 100).count == 1
    _elsewhere(reg.store.root, "update", ids["single"])
    rows = {r["run_id"]: r for r in backend.runs_page(RunsQuery(), 0, 100, [("name", True)]).rows}
    assert (rows[ids["single"]]["notes"], rows[ids["single"]]["status"]) == ("edited elsewhere", "live")
    assert backend.runs_page(RunsQuery(status="live"), 0, 100).count == 1
    _elsewhere(reg.store.root, "delete", new_id)
    assert backend.runs_page(RunsQuery(), 1, 100).count == 4  # a later block: the rows of the first block
    assert new_id not in {r["run_id"] for r in backend.runs_page(RunsQuery(), 0, 100).rows}
    assert backend.runs_page(RunsQuery(deleted=True), 0, 100).rows[0]["run_id"] == new_id


def test_runs_table_of_an_in_memory_store_is_current(tmp_path):
    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.demo import demo_portfolio
    from vectorbt.portfolio.registry.stores.memory import InMemoryStore

    store = InMemoryStore()
    reg = RunRegistry(store)
    backend = UIBackend(RunRegistry(store.view()))
    first = reg.register(demo_portfolio(windows=[5, 10]), name="a", progress=False)
    assert backend.runs_page(RunsQuery(), 0, 10).count == 1
    reg.update(first.run_id, tags=["x"])
    assert backend.runs_page(RunsQuery(tags="x"), 0, 10).count == 1


def test_runs_view_filters_as_list_does(demo):
    """The runs view filters the store's table itself (faster than `list`, which sorts and cuts it whole): the
    same rows, in the same order, with the same values."""
    reg, ids = demo
    backend = UIBackend(reg)
    for kwargs, query in [({}, RunsQuery()), ({"where": "n_columns > 1"}, RunsQuery(where="n_columns > 1")),
                          ({"tags": ["demo", "1d"]}, RunsQuery(tags="demo, 1d")),
                          ({"name": ["ma_stop", "ma_stop_oos"], "status": ["candidate"]},
                           RunsQuery(name="ma_stop, ma_stop_oos", status="candidate"))]:
        listed = reg.list(**kwargs)
        page = backend.runs_page(query, 0, 100)
        assert [r["run_id"] for r in page.rows] == list(listed.index), kwargs
        for row, (run_id, expected) in zip(page.rows, listed.iterrows()):
            assert {k: row[k] for k in expected.index} == {k: cell_value(v) for k, v in expected.items()}
    assert backend.runs_columns() == ["run_id", *reg.list().columns]


def test_downsample_keeps_ends_and_extremes():
    x = pd.date_range("2020-01-01", periods=10_000, freq="min")
    y = np.sin(np.arange(10_000) / 50.0)
    y[1234], y[8765] = 5.0, -5.0
    xs, ys = downsample(x, y, max_points=200)
    assert len(ys) <= 202 and xs[0] == x[0] and xs[-1] == x[-1]
    assert ys.max() == 5.0 and ys.min() == -5.0 and (np.diff(xs.asi8) > 0).all()


def test_json_values_of_cells():
    assert json_value(float("nan")) is None and json_value(float("inf")) == "inf"
    assert json_value(("a", "b")) == "a, b" and json_value((5, 10)) == "(5, 10)"
    assert json_value(pd.Timestamp("2026-12-02 01:02:03", tz="UTC")) == "2026-12-02 01:02:03+00:00"


def test_leaderboard_links_to_the_configuration(demo):
    reg, ids = demo
    board = UIBackend(reg).leaderboard("total_return", n=5, where="sl_stop == 0.1")
    best = reg.best("total_return", n=5, where="sl_stop == 0.1")
    assert list(board["run_id"]) == list(best["run_id"])
    for run_id, label, pos in zip(board["run_id"], board["column"], board["position"]):
        assert tuple(reg.get(run_id).columns[pos]) == tuple(label)


# ############# Rules ############# #


def test_writes_are_refused_unless_write_is_on(fresh_demo):
    reg, ids = fresh_demo
    backend = UIBackend(reg)
    for call in (lambda: backend.update(ids["single"], notes="x"), lambda: backend.delete(ids["single"]),
                 lambda: backend.restore(ids["single"])):
        with pytest.raises(ReadOnlyError, match="--write"):
            call()
    assert reg.get(ids["single"]).notes == "The chosen configuration, alone."
    assert ids["single"] in reg
    writer = UIBackend(reg, write=True)
    writer.update(ids["single"], notes="edited", tags=["a"], status="live")
    assert (reg.get(ids["single"]).notes, reg.get(ids["single"]).tags) == ("edited", ["a"])
    from vectorbt.portfolio.registry.validation import MAX_NOTES_CHARS

    with pytest.raises(ValueError, match="notes: .* more than the limit"):  # the registry's own validation
        writer.update(ids["single"], notes="x" * (MAX_NOTES_CHARS + 1))


def test_run_ids_from_the_browser_never_reach_a_path(demo):
    reg, _ = demo
    backend = UIBackend(reg)
    for bad in ("../../etc/passwd", "..", "/etc/passwd", "20261202T000000000000Z-0000000g", "x" * 5000):
        with pytest.raises(RunNotFoundError, match="not a valid run id"):
            backend.record(bad)
        with pytest.raises(RunNotFoundError):
            backend.configs_page(bad)
        with pytest.raises(RunNotFoundError):
            backend.config_view(bad, 0)


def test_bind_address_warns_unless_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")
    for host in ("0.0.0.0", "::", "10.0.0.5"):
        with pytest.warns(UIBindWarning, match="other machines"):
            check_host(host)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_host("127.0.0.1") == "127.0.0.1"
    with pytest.raises(TypeError, match="host"):
        check_host("")


def test_server_binds_to_loopback_by_default(demo):
    from vectorbt.portfolio.registry.ui.app import create_app

    app = create_app(demo[0])
    server = UIServer(app, port=0)
    try:
        assert server.host == "127.0.0.1" and server._server.server_address[0] == "127.0.0.1"
        server.start()
        import urllib.request

        with urllib.request.urlopen(server.url + "/", timeout=10) as response:
            assert response.status == 200 and b"_dash-config" in response.read()
    finally:
        server.stop()


def _save_request(run_id: str, notes: str) -> dict:
    return {
        "output": SAVE_OUTPUT,
        "outputs": [{"id": "edit-message", "property": "children"}, {"id": "run-notes", "property": "children"}],
        "inputs": [{"id": "edit-save", "property": "n_clicks", "value": 1}],
        "state": [{"id": "edit-tags", "property": "value", "value": "demo"},
                  {"id": "edit-notes", "property": "value", "value": notes},
                  {"id": "edit-status", "property": "value", "value": ""},
                  {"id": "url", "property": "pathname", "value": f"/run/{run_id}"}],
        "changedPropIds": ["edit-save.n_clicks"],
    }


def test_read_only_app_refuses_a_direct_request_to_the_save_callback(fresh_demo):
    """The request that saves notes in a write app changes nothing in a read-only one."""
    from vectorbt.portfolio.registry.ui.app import create_app

    reg, ids = fresh_demo
    before = reg.get(ids["single"]).notes
    client = create_app(reg, write=False).server.test_client()
    response = client.post("/_dash-update-component", json=_save_request(ids["single"], "changed by a request"))
    assert response.status_code != 200
    assert reg.get(ids["single"]).notes == before
    # the same request does change the notes in an app started with write=True: the request is the right one
    client = create_app(reg, write=True).server.test_client()
    response = client.post("/_dash-update-component", json=_save_request(ids["single"], "changed by a request"))
    assert response.status_code == 200, response.data
    assert reg.get(ids["single"]).notes == "changed by a request"
    assert "Saved" in json.dumps(response.get_json())


def test_no_request_reads_outside_the_registry(demo, tmp_path):
    from vectorbt.portfolio.registry.ui.app import create_app

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    client = create_app(demo[0]).server.test_client()
    rel = os.path.relpath(secret, os.path.dirname(os.path.abspath(__file__)))
    for url in ("/assets/../../" + rel, "/assets/" + str(secret), "/_dash-component-suites/dash/../../../" + rel,
                "/_dash-component-suites/dash/" + "%2e%2e/" * 12 + str(secret).lstrip("/"),
                "/run/..%2F..%2F" + rel, "/" + str(secret)):
        response = client.get(url)
        assert b"TOP-SECRET-CONTENT" not in response.data, url
    request = {"output": "..page.children...page-error.children...drawn.data..",
               "outputs": [{"id": "page", "property": "children"}, {"id": "page-error", "property": "children"},
                           {"id": "drawn", "property": "data"}],
               "inputs": [{"id": "url", "property": "pathname", "value": "/run/../../" + str(secret)},
                          {"id": "url", "property": "search", "value": ""}],
               "state": [{"id": "drawn", "property": "data", "value": None}],
               "changedPropIds": ["url.pathname"]}
    response = client.post("/_dash-update-component", json=request)
    assert response.status_code == 200
    body = json.dumps(response.get_json())
    assert "TOP-SECRET-CONTENT" not in body and "Not found" in body


def test_refused_portfolio_is_an_error_on_the_page(fresh_demo):
    """A portfolio whose bytes do not match their checksum is never loaded; the page shows the registry's error."""
    from vectorbt.portfolio.registry.ui.app import create_app

    reg, ids = fresh_demo
    path = os.path.join(reg.store.root, "runs", ids["single"], "portfolio.pkl")
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    client = create_app(reg).server.test_client()
    request = {"output": '{"key":["MATCH"],"role":"config-panel"}.children',
               "outputs": {"id": {"role": "config-panel", "key": f"{ids['single']}:0"}, "property": "children"},
               "inputs": [{"id": {"role": "config-req", "key": f"{ids['single']}:0"}, "property": "data",
                           "value": {"run_id": ids["single"], "position": 0}}],
               "changedPropIds": [json.dumps({"key": f"{ids['single']}:0", "role": "config-req"},
                                             separators=(",", ":")) + ".data"]}
    response = client.post("/_dash-update-component", json=request)
    assert response.status_code == 200, response.data
    body = json.dumps(response.get_json())
    assert "IntegrityError" in body and "vbt-error" in body and "config-equity" not in body


def test_ui_package_imports_without_dash_and_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['dash'] = None; sys.modules['dash_ag_grid'] = None\n"
        "import vectorbt.portfolio.registry.ui as ui\n"
        "try:\n    ui.create_app(None)\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert 'pip install "vectorbt-registry[ui]"' in out.stdout


def test_app_serves_its_scripts_from_the_packages(demo):
    """No CDN: every script and stylesheet of the page is a path on the app itself."""
    import re

    from vectorbt.portfolio.registry.ui.app import create_app

    client = create_app(demo[0]).server.test_client()
    html = client.get("/").data.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for src in sources:
        assert client.get(src).status_code == 200, src
    layout = client.get("/_dash-layout").data.decode()
    assert "http://" not in layout and "https://" not in layout


# ############# Entry points: vbt-registry ui and RunRegistry.ui ############# #


def test_cli_ui_serves_the_page_read_only_on_loopback(demo, tmp_path):
    import urllib.request

    reg, ids = demo
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "vectorbt.portfolio.registry", "--registry", reg.store.root,
                             "ui", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(tmp_path), env=env)
    try:
        line = proc.stdout.readline()
        assert "Registry web page (read-only) at http://127.0.0.1:" in line, (line, proc.stderr.read()
                                                                                 if proc.poll() is not None else "")
        url = line.split(" at ", 1)[1].split()[0].rstrip("/")
        with urllib.request.urlopen(url + "/_dash-layout", timeout=30) as response:
            assert "read-only" in response.read().decode()
        request = urllib.request.Request(url + "/_dash-update-component", method="POST",
                                         data=json.dumps(_save_request(ids["single"], "via the CLI")).encode(),
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=30)
        assert reg.get(ids["single"]).notes != "via the CLI"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cli_ui_options():
    from vectorbt.portfolio.registry.cli import build_parser

    args = build_parser().parse_args(["ui"])
    assert (args.host, args.port, args.write) == ("127.0.0.1", 8050, False)
    assert args.command_spec.reads_only(args)
    args = build_parser().parse_args(["ui", "--host", "::1", "--port", "9000", "--write"])
    assert (args.host, args.port, args.write) == ("::1", 9000, True) and not args.command_spec.reads_only(args)


def test_registry_ui_serves_in_the_background(fresh_demo):
    import urllib.request

    reg, ids = fresh_demo
    server = reg.ui(port=0, block=False, quiet=True)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/_dash-layout", timeout=30) as response:
            assert "read-only" in response.read().decode()
    finally:
        server.stop()
    with pytest.warns(UIBindWarning):
        with pytest.raises(OSError):
            reg.ui(host="192.0.2.1", port=0, block=False, quiet=True)  # TEST-NET-1: warned, then not bindable


def test_markdown_links_escape_the_registry_text():
    from vectorbt.portfolio.registry.ui.views.common import md_link

    link = md_link("x](javascript:alert(1)) [y", "/run/r")
    assert link.endswith("](/run/r)") and link.count("](") == 1 and "javascript:alert\\(1\\)" in link


def test_sort_in_the_query_string_round_trips():
    from vectorbt.portfolio.registry.ui.views.common import sort_of, sort_text, without

    model = [{"colId": "total_return", "sort": "desc"}, {"colId": "name", "sort": "asc"}]
    assert sort_text(model) == "total_return:desc,name:asc"
    assert sort_of(sort_text(model)) == [("total_return", "desc"), ("name", "asc")]
    assert sort_of("name") == [("name", "asc")] and sort_of("") == []
    assert without("?where=a+%3E+1&sort=name%3Aasc", "sort") == "?where=a+%3E+1"
