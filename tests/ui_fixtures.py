"""Fixtures of the web page's tests: one headless Chromium for the whole session (Debian's `chromium` driven
through `chromium-driver` by Selenium), app servers on free 127.0.0.1 ports, and a seeded demo registry.

Test modules import these helpers (`from ui_fixtures import get_browser, ...`) and wrap them in fixtures. Under CI
(`CI=true`) a missing browser or driver fails the tests; elsewhere it skips them, saying why.
"""

import atexit
import os
import shutil
import tempfile
import time

import pytest

CHROMIUM = os.environ.get("VBT_UI_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("VBT_UI_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20
"""Seconds a test waits for the page to show something."""

_browser = []


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI must run the browser tests: install chromium and chromium-driver)")
    pytest.skip(reason)


def in_ci() -> bool:
    """Whether the tests run in CI (`CI=true`), where what they need must be there."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_ui() -> None:
    """Skip the module unless Dash and dash-ag-grid import (the ui extra); under CI, fail instead."""
    if in_ci():
        import dash  # noqa: F401 - an ImportError fails the module under CI
        import dash_ag_grid  # noqa: F401
    else:
        pytest.importorskip("dash", reason="the ui extra (dash, dash-ag-grid) is not installed")
        pytest.importorskip("dash_ag_grid", reason="the ui extra (dash, dash-ag-grid) is not installed")


def get_browser():
    """The session's headless Chromium, started on first use and quit at exit."""
    if _browser:
        return _browser[0]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            _missing(f"{path} not found")
    profile = tempfile.mkdtemp(prefix="vbt-ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    _browser.append(driver)

    def quit_browser():
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

    atexit.register(quit_browser)
    return driver


def start_server(registry, write=False):
    """The page of `registry` served on a free 127.0.0.1 port, in a thread; returns the `UIServer`."""
    from vectorbt.portfolio.registry.ui.app import create_app
    from vectorbt.portfolio.registry.ui.server import UIServer

    return UIServer(create_app(registry, write=write), host="127.0.0.1", port=0, quiet=True).start()


def wait_for(driver, css, text=None, timeout=WAIT):
    """The first element matching `css` (whose text contains `text`, if given), once it shows."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            for el in driver.find_elements(By.CSS_SELECTOR, css):
                last = el.text
                if text is None or text in el.text:
                    if el.is_displayed() or text is not None:
                        return el
        except StaleElementReferenceException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{css!r}{' with ' + repr(text) if text else ''} did not show within {timeout} s "
                         f"(last text: {last!r}); page: {driver.find_element(By.TAG_NAME, 'body').text[:2000]!r}")


def grid_column(driver, grid_css, col_id):
    """Texts of the rendered cells of a column of the grids matching `grid_css`, top to bottom (pinned columns
    included)."""
    return driver.execute_script("""
        const [grid, col] = arguments;
        const cells = document.querySelectorAll(grid + ' .ag-row .ag-cell[col-id="' + col + '"]');
        return Array.from(cells)
            .map(c => [parseInt(c.closest('.ag-row').getAttribute('row-index')), c.innerText.trim()])
            .sort((a, b) => a[0] - b[0]).map(x => x[1]);
    """, grid_css, col_id)
