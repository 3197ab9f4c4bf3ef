"""The web page in a real headless Chromium, read-only: the runs view (filter, sort, sort again, a bad query),
a run and its configurations, the sweep heatmap (slider, click), comparing two runs, a refused portfolio, and
nothing to change. One app server for the module, on a seeded demo registry; the browser is the session's
(ui_fixtures). Each test asserts what the page shows."""

import os
import time

import pytest

from ui_fixtures import require_ui  # noqa: E402

require_ui()

from ui_fixtures import get_browser, grid_column, start_server, wait_for  # noqa: E402

RUNS_GRID = ".ag-root-wrapper"


@pytest.fixture
def browser():
    """The session's headless Chromium."""
    return get_browser()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo registry plus a run whose portfolio file is damaged, served read-only."""
    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.demo import demo_prices
    from vectorbt.portfolio.registry.ui.demo import demo_registry, three_param_sweep

    path = tmp_path_factory.mktemp("ui-browser") / "registry"
    reg, ids = demo_registry(path, n_bars=250)
    damaged = reg.register(three_param_sweep(demo_prices(n=100, seed=5), fast=(3,), slow=(10,), stop=(0.05,)),
                           name="damaged", tags=["broken"])
    pkl = os.path.join(reg.store.root, "runs", damaged.run_id, "portfolio.pkl")
    with open(pkl, "r+b") as f:
        f.seek(64)
        b = f.read(1)
        f.seek(64)
        f.write(bytes([b[0] ^ 0xFF]))
    ids["damaged"] = damaged.run_id
    reader = RunRegistry(path, read_only=True)
    server = start_server(reader, write=False)
    yield server, reader, ids
    server.stop()


def _open(driver, url, css="#page"):
    driver.get(url)
    return wait_for(driver, css)


def _type(driver, css, text):
    """Replace the text of a box, check that the box holds it, and press Enter (the page is redrawn from the URL
    it then writes)."""
    from selenium.common.exceptions import (
        ElementNotInteractableException,
        NoSuchElementException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for _ in range(50):
        try:
            box = driver.find_element(By.CSS_SELECTOR, css)
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys(text or Keys.BACKSPACE)
            if (box.get_attribute("value") or "") != (text or ""):
                time.sleep(0.2)  # the box was drawn again while the keys arrived: type it again
                continue
            box.send_keys(Keys.ENTER)
            return
        except (StaleElementReferenceException, NoSuchElementException, ElementNotInteractableException):
            # the view is being drawn again
            time.sleep(0.2)
    raise AssertionError(f"could not type into {css!r}")


def _wait_column(driver, col_id, expected, grid=RUNS_GRID, timeout=20):
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = grid_column(driver, grid, col_id)
        if seen == expected:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"column {col_id!r} shows {seen!r}, expected {expected!r}")


def test_runs_view_filters_with_a_query(browser, site):
    server, reg, ids = site
    _open(browser, server.url + "/")
    wait_for(browser, ".vbt-count", "4 runs")
    _type(browser, "#runs-where", "n_columns > 1 and asset == 'demo-a'")
    wait_for(browser, ".vbt-count", "1 runs")
    _wait_column(browser, "run_id", [ids["sweep"]])
    assert "where=n_columns" in browser.current_url  # the filter is in the URL: the view can be bookmarked
    browser.get(browser.current_url)
    wait_for(browser, ".vbt-count", "1 runs")
    _wait_column(browser, "run_id", [ids["sweep"]])
    _type(browser, "#runs-where", "")
    wait_for(browser, ".vbt-count", "4 runs")
    _type(browser, "#runs-tags", "demo, 1d")
    wait_for(browser, ".vbt-count", "2 runs")
    assert sorted(grid_column(browser, RUNS_GRID, "run_id")) == sorted([ids["sweep"], ids["other"]])


def test_runs_view_sorts_and_sorts_again(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    _open(browser, server.url + "/")
    wait_for(browser, ".vbt-count", "4 runs")
    header = browser.find_element(By.CSS_SELECTOR, '.ag-header-cell[col-id="n_columns"] .ag-header-cell-label')
    header.click()
    _wait_column(browser, "n_columns", ["1", "1", "12", "24"])
    header = browser.find_element(By.CSS_SELECTOR, '.ag-header-cell[col-id="n_columns"] .ag-header-cell-label')
    header.click()
    _wait_column(browser, "n_columns", ["24", "12", "1", "1"])
    assert grid_column(browser, RUNS_GRID, "run_id")[:2] == [ids["sweep"], ids["other"]]
    # the sort is in the URL: opened again, the view comes sorted the same way
    deadline = time.monotonic() + 10
    while "sort=n_columns%3Adesc" not in browser.current_url and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "sort=n_columns%3Adesc" in browser.current_url
    browser.get(browser.current_url)
    _wait_column(browser, "n_columns", ["24", "12", "1", "1"])
    sorted_header = browser.find_element(By.CSS_SELECTOR, '.ag-header-cell[col-id="n_columns"]')
    assert sorted_header.get_attribute("aria-sort") == "descending"


def test_bad_query_shows_its_error_beside_the_box(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    _open(browser, server.url + "/")
    wait_for(browser, ".vbt-count", "4 runs")
    _type(browser, "#runs-where", "sharpe > 1")
    error = wait_for(browser, "#runs-where-error", "is not a column")
    assert error.text.startswith("where: 'sharpe' is not a column")
    _type(browser, "#runs-where", "total_return.to_csv('x')")
    assert "not part of the language" in wait_for(browser, "#runs-where-error", "to_csv").text
    # the page still works: the box, the nav and the grid are there, and a good query brings rows back
    assert browser.find_element(By.CSS_SELECTOR, ".vbt-nav").is_displayed()
    _type(browser, "#runs-where", "n_columns == 12")
    wait_for(browser, ".vbt-count", "1 runs")
    assert browser.find_element(By.ID, "runs-where-error").text == ""
    _wait_column(browser, "run_id", [ids["other"]])


def test_run_view_shows_metadata_and_switches_configuration(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    record = reg.get(ids["sweep"])
    best = record.columns[_best(record)]
    _open(browser, server.url + f"/run/{ids['sweep']}")
    wait_for(browser, "#run-fields", "candidate")
    assert ids["single"] in wait_for(browser, "#run-lineage").text  # the child, as a link
    wait_for(browser, "#config-title", _label(best))
    wait_for(browser, "#config-equity .main-svg")
    wait_for(browser, "#config-trades-title", "Trades:")
    assert "Total Return [%]" in wait_for(browser, "#config-stats").text
    # the configurations table, best first; click another configuration's label
    wait_for(browser, ".vbt-count", "24 configurations")
    target = (3, 15, 0.05)
    link = wait_for(browser, '.ag-cell[col-id="column"] a', _label(target))
    link.click()
    title = wait_for(browser, "#config-title", _label(target))
    assert "config=" in browser.current_url
    pos = record.columns.index(list(target)) if list(target) in record.columns else record.columns.index(target)
    pf = reg.load(ids["sweep"], column=target)
    assert f"position {pos}" in browser.find_element(By.ID, "config-params").text
    assert f"Trades: {len(pf.trades.records_readable)}" in browser.find_element(By.ID, "config-trades-title").text
    assert title.is_displayed()
    parent = _open(browser, server.url + f"/run/{ids['single']}", "#run-lineage")
    assert ids["sweep"] in parent.text


def _label(label):
    from vectorbt.portfolio.registry.plotting import label_text

    return label_text(label)


def _best(record):
    from vectorbt.portfolio.registry.configs import rank_order

    return int(rank_order(record.metrics["sharpe_ratio"].to_numpy(dtype=float), False)[0])


def test_sweep_heatmap_slider_and_click(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    server, reg, ids = site
    _open(browser, server.url + f"/sweep/{ids['sweep']}")
    wait_for(browser, "#sweep-slice-value", "sl_stop = 0.05")
    wait_for(browser, "#sweep-heatmap .gtitle", "sl_stop = 0.05")
    handle = browser.find_element(By.CSS_SELECTOR, "#sweep-at [role='slider']")
    handle.send_keys(Keys.ARROW_RIGHT)
    wait_for(browser, "#sweep-heatmap .gtitle", "sl_stop = 0.1")
    assert "at=1" in browser.current_url
    # click the cell fast_window=5, slow_window=20 (category axes: the cell's number on each)
    _click_at(browser, "#sweep-heatmap", 1, 2)
    title = wait_for(browser, "#sweep-config #config-title", "(5, 20, 0.1)")
    assert title.text == "Clicked configuration (5, 20, 0.1)"
    wait_for(browser, "#sweep-config #config-equity .main-svg")
    pf = reg.load(ids["sweep"], column=(5, 20, 0.1))
    wait_for(browser, "#sweep-config #config-trades-title", f"Trades: {len(pf.trades.records_readable)}")


def _click_at(browser, graph, x, y):
    """Click the point `(x, y)` (data coordinates) of the plotly figure `graph` (a CSS selector)."""
    from selenium.webdriver.common.action_chains import ActionChains

    drag = wait_for(browser, f"{graph} .nsewdrag")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", drag)
    px, py = browser.execute_script("""
        const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
        return [gd._fullLayout.xaxis.l2p(arguments[1]), gd._fullLayout.yaxis.l2p(arguments[2])];
    """, graph, x, y)
    w, h = drag.size["width"], drag.size["height"]
    ActionChains(browser).move_to_element_with_offset(drag, int(px - w / 2), int(py - h / 2)).click().perform()


def test_sweep_parallel_coordinates_click_a_line(browser, site):
    """Click the line of the worst configuration half-way between the last parameter's axis and the metric's:
    that configuration opens, its equity and trades below."""
    import numpy as np

    from vectorbt.portfolio.registry.ui.data import UIBackend

    server, reg, ids = site
    view = UIBackend(reg).parallel(ids["sweep"])
    row = int(np.nanargmin(view.values))
    label = reg.get(ids["sweep"]).columns[int(view.positions[row])]
    a, b = view.y[row, -2], view.y[row, -1]
    _open(browser, server.url + f"/sweep/{ids['sweep']}")
    wait_for(browser, "#sweep-parcoords .main-svg")
    _click_at(browser, "#sweep-parcoords", len(view.axes) - 1.5, (a + b) / 2)
    title = wait_for(browser, "#sweep-config #config-title", _label(label))
    assert title.text == f"Clicked configuration {_label(label)}"
    wait_for(browser, "#sweep-config #config-equity .main-svg")
    pf = reg.load(ids["sweep"], column=label)
    wait_for(browser, "#sweep-config #config-trades-title", f"Trades: {len(pf.trades.records_readable)}")


def test_compare_two_runs(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    _open(browser, server.url + "/?tags=1d")
    wait_for(browser, ".vbt-count", "2 runs")
    _wait_column(browser, "run_id", [ids["other"], ids["sweep"]])
    for box in browser.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-row .ag-checkbox-input, "
                                                      ".ag-pinned-left-cols-container .ag-row .ag-checkbox-input"):
        box.click()
    browser.find_element(By.ID, "runs-compare").click()
    wait_for(browser, "h2", "Compare 2 configurations")
    assert "/compare?runs=" in browser.current_url
    params = wait_for(browser, "#compare-params").text
    assert "asset: demo-b | demo-a" in params or "asset: demo-a | demo-b" in params
    table = browser.find_element(By.ID, "compare-table")
    differing = [r.find_element(By.TAG_NAME, "th").text for r in table.find_elements(By.CSS_SELECTOR, "tr.vbt-differs")]
    same = [r.find_element(By.TAG_NAME, "th").text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
            if "vbt-differs" not in (r.get_attribute("class") or "")]
    assert "param.asset" in differing and "data_fingerprint" in differing and "name" in same
    wait_for(browser, "#compare-equity .main-svg")
    traces = browser.execute_script("return document.getElementById('compare-equity')"
                                    ".querySelectorAll('.scatterlayer .trace').length")
    assert traces == 4  # two equity curves and their two drawdowns


def test_refused_portfolio_is_shown_as_an_error(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    _open(browser, server.url + f"/run/{ids['damaged']}")
    error = wait_for(browser, "#config-loaded .vbt-error", "IntegrityError")
    assert "sha256" in error.text or "size" in error.text
    assert not browser.find_elements(By.ID, "config-equity")
    assert "damaged" in browser.find_element(By.ID, "run-title").text  # the rest of the page is there


def test_read_only_page_has_nothing_to_change(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    _open(browser, server.url + f"/run/{ids['single']}")
    wait_for(browser, ".vbt-info", "Read-only")
    wait_for(browser, "#config-title")
    for control in ("edit-save", "edit-notes", "edit-tags", "edit-status", "edit-delete", "edit-restore"):
        assert not browser.find_elements(By.ID, control), control
    assert not browser.find_elements(By.CSS_SELECTOR, "textarea")
    assert "read-only" in browser.find_element(By.ID, "mode").text
    # a direct request to the callback a write app would have: refused, and nothing changed
    status = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/_dash-update-component', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({output: '..edit-message.children...run-notes.children..',
                                    outputs: [{id: 'edit-message', property: 'children'},
                                              {id: 'run-notes', property: 'children'}],
                                    inputs: [{id: 'edit-save', property: 'n_clicks', value: 1}],
                                    state: [{id: 'edit-tags', property: 'value', value: 'x'},
                                            {id: 'edit-notes', property: 'value', value: 'changed'},
                                            {id: 'edit-status', property: 'value', value: ''},
                                            {id: 'url', property: 'pathname', value: location.pathname}],
                                    changedPropIds: ['edit-save.n_clicks']})})
          .then(r => done(r.status)).catch(e => done(String(e)));
    """)
    assert status != 200
    assert reg.get(ids["single"]).notes == "The chosen configuration, alone."


def test_errors_show_on_the_page_never_a_blank_screen(browser, site):
    server, reg, ids = site
    _open(browser, server.url + "/run/..%2F..%2Fetc%2Fpasswd")
    assert "not a valid run id" in wait_for(browser, ".vbt-error", "RunNotFoundError").text
    _open(browser, server.url + "/etc/passwd")
    assert "No view at '/etc/passwd'" in wait_for(browser, "#page", "Not found").text
    _open(browser, server.url + "/run/20000101T000000000000Z-00000000")
    assert "no such run" in wait_for(browser, ".vbt-error", "RunNotFoundError").text
    _open(browser, server.url + f"/sweep/{ids['sweep']}?x=nope")
    assert "not a parameter" in wait_for(browser, ".vbt-error", "nope").text
    _open(browser, server.url + "/leaderboard?metric=sharpe")
    assert "is not a metric" in wait_for(browser, ".vbt-error", "sharpe").text


def test_leaderboard_rows_link_to_their_configuration(browser, site):
    from vectorbt.portfolio.registry.plotting import label_text

    server, reg, ids = site
    best = reg.best("total_return", n=3, where="sl_stop == 0.1")
    _open(browser, server.url + "/leaderboard?metric=total_return&n=3&where=sl_stop+%3D%3D+0.1")
    wait_for(browser, "#board-count", "3 configurations, best total_return first")
    assert _wait_column(browser, "column", [label_text(c) for c in best["column"]], grid="#board-grid")
    link = wait_for(browser, '#board-grid .ag-cell[col-id="column"] a', label_text(best["column"].iloc[0]))
    link.click()
    wait_for(browser, "#config-title", label_text(best["column"].iloc[0]))
    assert f"/run/{best['run_id'].iloc[0]}?config=" in browser.current_url


@pytest.fixture(scope="module")
def busy_site(tmp_path_factory):
    """A run of one configuration with 6,001 trades, served read-only."""
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    from vectorbt.portfolio.registry import RunRegistry

    index = pd.date_range("2020-01-01", periods=12_002, freq="h")
    close = pd.Series(100 + np.sin(np.arange(len(index)) / 7.0), index=index)
    entries = pd.Series(np.arange(len(index)) % 2 == 0, index=index)
    reg = RunRegistry(tmp_path_factory.mktemp("ui-busy") / "registry")
    run_id = reg.register(vbt.Portfolio.from_signals(close, entries, ~entries, freq="1h"), name="busy").run_id
    server = start_server(reg)
    yield server, run_id
    server.stop()


def test_every_trade_is_reachable(browser, busy_site):
    """The trades list holds every trade: scrolled to its end, the grid shows the last one (ids 0 to 6,000)."""
    server, run_id = busy_site
    _open(browser, server.url + f"/run/{run_id}")
    wait_for(browser, "#config-trades-title", "Trades: 6,001")
    grid = "#config-loaded .ag-root-wrapper"
    _until_column(browser, grid, lambda ids: ids[:3] == ["0", "1", "2"])
    scroll = "const v = document.querySelector(arguments[0] + ' .ag-body-viewport'); v.scrollTop = v.scrollHeight;"
    browser.execute_script(scroll, grid)
    shown = _until_column(browser, grid, lambda ids: bool(ids) and ids[-1] == "6000", scroll)
    loaded = [int(i) for i in shown if i]  # rows of a block still on its way are blank
    assert loaded == list(range(loaded[0], 6001))


def _until_column(browser, grid, check, script=None, timeout=20):
    """The ids of the trades grid's rendered rows, once `check` accepts them (running `script` meanwhile)."""
    deadline = time.monotonic() + timeout
    ids = None
    while time.monotonic() < deadline:
        ids = grid_column(browser, grid, "Exit Trade Id")
        if check(ids):
            return ids
        if script:
            browser.execute_script(script, grid)
        time.sleep(0.2)
    raise AssertionError(f"the trades grid shows {ids!r}")
