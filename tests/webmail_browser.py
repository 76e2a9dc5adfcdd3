"""Headless Chromium (Debian `chromium` + `chromium-driver`) through Selenium for
the webmail tests, and a loopback trap HTTP server that records every request a
hostile message manages to make."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

from harness import wait_until

ARTIFACTS = Path(__file__).parent / "artifacts" / "webmail"
DESKTOP = (1280, 900)
PHONE = (390, 844)


def browser(size=DESKTOP):
    """A headless Chromium that accepts the server's self-signed certificate."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--window-size={size[0]},{size[1]}"):
        opts.add_argument(arg)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_window_size(*size)
    driver.set_page_load_timeout(30)
    return driver


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def by_id(driver, id_: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, id_)


def visible(driver, id_: str, timeout: float = 15.0):
    return wait_until(lambda: (lambda e: e if e.is_displayed() else None)(by_id(driver, id_)), timeout, what=f"#{id_} shown")


def no_alert(driver) -> None:
    """Fails if any JavaScript dialog is open."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"a dialog opened: {text!r}")


def sign_in(driver, base: str, user: str, password: str, remember: bool = False) -> None:
    driver.get(base + "/")
    visible(driver, "login-user").send_keys(user)
    by_id(driver, "login-password").send_keys(password)
    if remember:
        by_id(driver, "login-remember").click()
    by_id(driver, "login-submit").click()
    visible(driver, "app-view")
    wait_until(lambda: by_id(driver, "whoami").text == user or not by_id(driver, "whoami").is_displayed(), 15, what="signed in")


def rows(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#rows tr")


def row_with(driver, text: str, timeout: float = 15.0):
    """The list row showing `text` (the list may be redrawn meanwhile: live
    updates, a reload after an action)."""
    from selenium.common.exceptions import StaleElementReferenceException

    def find():
        try:
            for r in rows(driver):
                if text in r.text:
                    return r
        except StaleElementReferenceException:
            return None
        return None

    return wait_until(find, timeout, what=f"a row with {text!r}")


def row_texts(driver) -> list[str] | None:
    """The rows' texts; None when the list was redrawn while read."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return [r.text for r in rows(driver)]
    except StaleElementReferenceException:
        return None


def click_folder(driver, name: str, timeout: float = 15.0) -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def click():
        try:
            driver.find_element("css selector", f'#folders li[data-folder="{name}"]').click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    wait_until(click, timeout, what=f"a click on folder {name}")


def click_row(driver, text: str, css: str | None = None, timeout: float = 15.0) -> None:
    """Clicks the row showing `text` (or the element `css` inside it), again
    if the list was redrawn under the click."""
    from selenium.common.exceptions import StaleElementReferenceException

    def click():
        row = row_with(driver, text, timeout)
        try:
            (row.find_element("css selector", css) if css else row).click()
            return True
        except StaleElementReferenceException:
            return False

    wait_until(click, timeout, what=f"a click on the row with {text!r}")


class Trap:
    """An HTTP server on 127.0.0.1 that answers everything with 204 and keeps
    the path of every request."""

    def __init__(self):
        self.hits: list[str] = []
        trap = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                trap.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_OPTIONS = _any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
