"""The web page started with write=True (`vbt-registry ui --write`), in the session's headless Chromium: edit a
run's notes, tags and status and see them in the API; a refused edit shows the registry's own error; move a
run to the trash and restore it. One app server for the module, on its own seeded registry."""

import time

import pytest

from ui_fixtures import require_ui  # noqa: E402

require_ui()

from ui_fixtures import get_browser, start_server, wait_for  # noqa: E402


@pytest.fixture
def browser():
    """The session's headless Chromium."""
    return get_browser()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from vectorbt.portfolio.registry.ui.demo import demo_registry

    reg, ids = demo_registry(tmp_path_factory.mktemp("ui-write") / "registry", n_bars=150)
    server = start_server(reg, write=True)
    yield server, reg, ids
    server.stop()


def _replace(driver, css, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, css)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)


def _until(check, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_edit_notes_tags_and_status_and_see_them_in_the_api(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    browser.get(server.url + f"/run/{ids['sweep']}")
    wait_for(browser, "#edit-notes")
    assert "read-write" in browser.find_element(By.ID, "mode").text
    _replace(browser, "#edit-notes", "Looks robust around fast 5, slow 20.\nCheck on 2025 data.")
    _replace(browser, "#edit-tags", "demo, 1d, robust")
    _replace(browser, "#edit-status", "live")
    browser.find_element(By.ID, "edit-save").click()
    wait_for(browser, "#edit-message", "Saved")
    wait_for(browser, "#run-notes", "Looks robust around fast 5, slow 20.")
    record = reg.get(ids["sweep"])
    assert record.notes == "Looks robust around fast 5, slow 20.\nCheck on 2025 data."
    assert record.tags == ["demo", "1d", "robust"] and record.status == "live"
    browser.get(server.url + f"/run/{ids['sweep']}")  # drawn again from the registry
    assert "live" in wait_for(browser, "#run-fields", "robust").text


def test_a_refused_edit_shows_the_registry_error(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    before = reg.get(ids["other"])
    browser.get(server.url + f"/run/{ids['other']}")
    wait_for(browser, "#edit-notes")
    _replace(browser, "#edit-tags", "demo, , 1d")  # a blank tag: the registry refuses it, and says which
    _replace(browser, "#edit-notes", "not saved")
    browser.find_element(By.ID, "edit-save").click()
    assert "tags[1]: must not be empty" in wait_for(browser, "#edit-message .vbt-error", "ValueError").text
    after = reg.get(ids["other"])
    assert (after.tags, after.notes, after.updated_at) == (before.tags, before.notes, before.updated_at)


def test_move_to_the_trash_and_restore(browser, site):
    from selenium.webdriver.common.by import By

    server, reg, ids = site
    browser.get(server.url + f"/run/{ids['single']}")
    wait_for(browser, "#edit-delete").click()
    wait_for(browser, "#edit-message", "Moved to the trash")
    assert _until(lambda: ids["single"] not in reg)
    assert ids["single"] in reg.list(deleted=True).index
    browser.get(server.url + "/?trash=1")
    wait_for(browser, ".vbt-count", "1 runs in the trash")
    browser.get(server.url + f"/run/{ids['single']}")
    wait_for(browser, ".vbt-info", "in the trash")
    browser.find_element(By.ID, "edit-restore").click()
    wait_for(browser, "#edit-message", "Restored")
    assert ids["single"] in reg
    assert reg.get(ids["single"]).parent == ids["sweep"]
