"""Screenshots of the web page's views for docs/guide.md ("Web page"), taken by the tests' headless Chromium
(tests/ui_fixtures.py) from the demo registry of `vectorbt.portfolio.registry.ui.demo`.

    python docs/img/ui/make_screenshots.py        # writes runs.png, run.png, sweep.png, compare.png, leaderboard.png

Run it after changing how a view looks, and commit the pictures.
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))

from ui_fixtures import get_browser, start_server, wait_for  # noqa: E402

WIDTH = 1400


def shot(driver, name: str, max_height: int = 2400) -> None:
    """Save the whole page (up to `max_height` pixels) as `name`.png."""
    for _ in range(3):  # plotly redraws at the new size, which may change the page's height
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(WIDTH, min(max_height, max(900, height + 140)))
        time.sleep(1.0)
    path = os.path.join(HERE, name + ".png")
    driver.save_screenshot(path)
    driver.set_window_size(WIDTH, 1000)
    print("wrote", os.path.relpath(path, ROOT))


def main() -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    from vectorbt.portfolio.registry import RunRegistry
    from vectorbt.portfolio.registry.ui.demo import demo_registry

    with tempfile.TemporaryDirectory() as tmp:
        _, ids = demo_registry(os.path.join(tmp, "registry"))
        server = start_server(RunRegistry(os.path.join(tmp, "registry"), read_only=True))
        driver = get_browser()
        driver.set_window_size(WIDTH, 1000)
        try:
            driver.get(server.url + "/?cols=run_id,name,created_at,tags,status,n_columns,column,asset,"
                                    "sharpe_ratio,total_return,max_drawdown")
            wait_for(driver, ".vbt-count", "3 runs")
            wait_for(driver, '.ag-cell[col-id="name"]', "ma_stop")
            shot(driver, "runs", 900)

            driver.get(server.url + f"/run/{ids['sweep']}")
            wait_for(driver, "#config-equity .main-svg")
            wait_for(driver, '.ag-cell[col-id="column"] a')
            shot(driver, "run")

            driver.get(server.url + f"/sweep/{ids['sweep']}")
            drag = wait_for(driver, "#sweep-heatmap .nsewdrag")
            w, h = drag.size["width"], drag.size["height"]
            ActionChains(driver).move_to_element_with_offset(drag, int(-w / 2 + w * 1.5 / 3),
                                                             int(h / 2 - h * 2.5 / 4)).click().perform()
            wait_for(driver, "#sweep-config #config-equity .main-svg")
            shot(driver, "sweep", 3200)

            driver.get(server.url + f"/compare?runs={ids['sweep']},{ids['other']},{ids['single']}")
            wait_for(driver, "#compare-equity .main-svg")
            shot(driver, "compare", 3000)

            driver.get(server.url + "/leaderboard?metric=total_return&n=20")
            wait_for(driver, '.ag-cell[col-id="name"]', "ma_stop")
            shot(driver, "leaderboard", 900)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
