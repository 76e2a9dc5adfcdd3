"""The admin console in a browser (issue 19 item 4): headless Chromium through
Selenium logs in, adds a domain and a user (seen by `postern user list`),
retries a queued message, watches a failed IMAP login appear in the log view,
and shows hostile text as text. The console's security headers and its static
paths (no traversal) are checked over plain HTTPS. Screenshots of every page
go to tests/artifacts/console/ (gitignored)."""

import http.client
import imaplib
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, insecure_tls, require_tool, tool_missing_is_a_failure, wait_until

ADMIN = {"admin": "127.0.0.1:0", "imaps": "127.0.0.1:0"}
ARTIFACTS = Path(__file__).parent / "artifacts" / "console"
CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
XSS = "<img src=x onerror=alert(1)>"
# Seconds the browser waits for the page to show a change.
UI_TIMEOUT = 20



def needs_browser(test):
    """Debian's chromium and chromium-driver (scripts/test installs both)."""
    test = require_tool("chromium", "the console's browser tests run Debian's chromium")(test)
    return require_tool("chromedriver", "Selenium drives chromium through Debian's chromium-driver")(test)


def get(server, path):
    host, port = server.addr("admin")
    c = http.client.HTTPSConnection(host, port, context=insecure_tls(), timeout=IO_TIMEOUT)
    c.request("GET", path)
    r = c.getresponse()
    r.body = r.read()
    c.close()
    return r


@pytest.fixture
def admin(make_server):
    server = make_server(listen=ADMIN)
    server.cli("user", "set", ALICE, "--role", "admin")
    return server


@pytest.fixture
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        if tool_missing_is_a_failure():
            pytest.fail("selenium is missing under CI=true (scripts/test installs it)")
        pytest.skip("selenium is not installed (pip install selenium; scripts/test does)")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download a driver
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--ignore-certificate-errors", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(IO_TIMEOUT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


class Console:
    """The console in the browser, at one server."""

    def __init__(self, driver, server):
        from selenium.webdriver.common.by import By

        self.d, self.server, self.By = driver, server, By
        host, port = server.addr("admin")
        self.base = f"https://{host}:{port}/"

    def find(self, css):
        return wait_until(lambda: self.d.find_elements(self.By.CSS_SELECTOR, css), UI_TIMEOUT, what=css)[0]

    def text(self):
        return self.d.find_element(self.By.TAG_NAME, "main").text

    def wait_text(self, pattern, what=None):
        return wait_until(lambda: re.search(pattern, self.text()), UI_TIMEOUT, what=what or pattern)

    def fill(self, form_css, **values):
        for name, value in values.items():
            field = self.find(f"{form_css} [name='{name}']")
            field.clear()
            field.send_keys(value)
        self.find(f"{form_css} button[type=submit]").click()

    def login(self, user=ALICE, password=ALICE_PASSWORD, landing="#card-queue"):
        self.d.get(self.base)
        self.find("#login-form")
        self.shot("login")
        self.fill("#login-form", user=user, password=password)
        self.find(landing)

    def open(self, page, ready):
        self.find(f"#nav-{page}").click()
        self.wait_text(ready)

    def shot(self, name):
        self.d.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def no_alert(self):
        from selenium.common.exceptions import NoAlertPresentException

        try:
            text = self.d.switch_to.alert.text
        except NoAlertPresentException:
            return
        pytest.fail(f"an alert fired: {text!r}")


def test_console_pages_carry_the_security_headers(admin):
    for path in ("/", "/console/js/main.js", "/console/app.css", "/console/js/pages/users.js"):
        r = get(admin, path)
        assert r.status == 200, path
        assert r.getheader("Content-Security-Policy") == CSP, path
        assert r.getheader("Strict-Transport-Security").startswith("max-age="), path
        assert r.getheader("X-Content-Type-Options") == "nosniff", path
        assert r.getheader("Referrer-Policy") == "no-referrer", path
        assert r.getheader("Access-Control-Allow-Origin") is None, path
    assert get(admin, "/").getheader("Content-Type") == "text/html; charset=utf-8"
    assert get(admin, "/console/js/main.js").getheader("Content-Type") == "text/javascript; charset=utf-8"
    # No inline script or style for the CSP to refuse.
    page = get(admin, "/").body.decode()
    assert "<script>" not in page and "style=" not in page and not re.search(r"\son\w+=", page)


def test_console_static_paths_do_not_traverse(admin):
    assert get(admin, "/console/js/main.js").status == 200
    for path in ("/console/../Cargo.toml", "/console/js/../app.css", "/console/%2e%2e/Cargo.toml",
                 "/console/%2E%2E/%2E%2E/etc/passwd", "/console/js%2fmain.js", "/console/js%2Fpages%2Fusers.js",
                 "/console/..%2f..%2fCargo.toml", "/console/%2e%2e%2fapp.css", "/../etc/passwd",
                 "/%2e%2e/etc/passwd", "/console/", "/console/nothing.js", "/index.html"):
        r = get(admin, path)
        assert r.status == 404, (path, r.status, r.body[:200])
        assert b"[package]" not in r.body and b"root:" not in r.body


@needs_browser
def test_console_adds_a_domain_and_a_user_and_shows_hostile_names_as_text(admin, browser):
    c = Console(browser, admin)
    c.login()
    c.wait_text(r"Messages per hour")
    c.find("#traffic-chart")
    c.shot("dashboard")

    c.open("domains", r"Domains")
    c.fill("main form", name="console.test")
    c.wait_text(r"console\.test")
    assert "console.test" in admin.cli("domain", "list").stdout
    c.shot("domains")

    c.open("users", r"Users")
    c.fill("main form", address="carol@console.test", name=XSS, password="Osprey-3-Password-x", quota="10M")
    c.wait_text(r"carol@console\.test")
    assert re.search(r"^carol@console\.test\t", admin.cli("user", "list").stdout, re.M)
    # The name is shown as the text typed, and no element was made from it.
    cells = [e.text for e in browser.find_elements(c.By.CSS_SELECTOR, "main td")]
    assert XSS in cells, cells
    assert browser.find_elements(c.By.CSS_SELECTOR, "main img") == []
    c.no_alert()
    c.shot("users")

    # Edit quota and role; the API's refusal of a weak password shows by its field.
    carol = [r for r in browser.find_elements(c.By.CSS_SELECTOR, "main tbody tr") if "carol@" in r.text][0]
    carol.find_element(c.By.XPATH, ".//button[text()='Edit']").click()
    c.fill("#user-editor form", quota="20M", role="auditor")
    c.wait_text(r"20\.0 MiB")
    assert re.search(r"carol@console\.test.*auditor", c.text())

    c.open("aliases", r"Aliases")
    c.fill("main form", address="info@console.test", targets="carol@console.test")
    c.wait_text(r"info@console\.test")
    c.shot("aliases")
    c.open("groups", r"Groups")
    c.fill("main form", address="team@console.test", targets="carol@console.test")
    c.wait_text(r"team@console\.test")
    c.shot("groups")
    c.open("ipgroups", r"IP groups")
    c.fill("main form", name="office", entries="192.0.2.0/24")
    c.wait_text(r"office\s+192\.0\.2\.0/24")
    c.shot("ipgroups")

    c.open("security", r"Policy and options")
    c.wait_text(r"security\.policy")
    c.fill("main form", ip="192.0.2.7", duration="1h")
    c.wait_text(r"192\.0\.2\.7 .*manual")
    assert "192.0.2.7" in admin.cli("security", "blocked").stdout
    c.shot("security")
    c.find("main td button.danger").click()
    c.wait_text(r"Confirm unblock")
    c.find("main td button.danger").click()
    wait_until(lambda: "192.0.2.7" not in c.text(), UI_TIMEOUT, what="the block gone from the page")
    assert "192.0.2.7" not in admin.cli("security", "blocked").stdout
    c.open("settings", r"Settings")
    c.find("#config-filter").send_keys("security.policy")
    row = c.find("tr[data-key='security.policy']")
    field = row.find_element(c.By.CSS_SELECTOR, "input")
    field.clear()
    field.send_keys("bogus")
    row.find_element(c.By.TAG_NAME, "button").click()
    note = row.find_element(c.By.CSS_SELECTOR, "[data-for='security.policy']")
    wait_until(lambda: "security.policy" in note.text, UI_TIMEOUT, what="the refusal beside the field")
    assert admin.cli("config", "get", "security.policy").stdout.strip() == "secure-auth"
    c.shot("settings")
    c.no_alert()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@needs_browser
def test_console_retries_a_queued_message(make_server, browser):
    relay = f'"smtp://127.0.0.1:{closed_port()}"'
    server = make_server(listen=ADMIN, config={"delivery.relay": relay, "delivery.allow_private": "true",
                                               "delivery.retry": '["1h"]'})
    server.cli("user", "set", ALICE, "--role", "admin")
    with server.submission() as s:
        s.sendmail(ALICE, ["far@example.net"], f"From: {ALICE}\r\nTo: far@example.net\r\nSubject: q\r\n\r\nHi.\r\n")
    wait_until(lambda: len(re.findall(r"event=outbound .*result=deferred", server.log("mail.log"))) == 1, 30,
               what="the first failed attempt")
    c = Console(browser, server)
    c.login()
    c.open("queue", r"Queue \(1\)")
    c.wait_text(r"far@example\.net: \w+, 1 attempt\b")
    c.find("button.retry").click()

    def tried_again():
        from selenium.common.exceptions import StaleElementReferenceException

        try:  # the page redraws itself after each click
            c.find("#queue-refresh").click()
            return re.search(r"far@example\.net: \w+, 2 attempts", c.text())
        except StaleElementReferenceException:
            return None

    wait_until(tried_again, 30, interval=0.5, what="the second attempt in the queue page")
    assert len(re.findall(r"event=outbound .*result=deferred", server.log("mail.log"))) == 2
    c.find("button.show").click()
    c.find("#queue-details")
    assert "Connection refused" in c.find("#queue-details").text
    c.shot("queue")
    # Hold and release from the page, as `postern queue list` sees them.
    c.find("button.hold").click()
    c.find("button.release")
    assert "[held]" in server.cli("queue", "list").stdout
    c.find("button.release").click()
    c.find("button.hold")
    assert "[held]" not in server.cli("queue", "list").stdout
    # The dashboard's chart counts the message in (its bar for this hour).
    c.open("dashboard", r"Messages per hour")
    c.wait_text(r"■ in 1 ■ out 0")
    assert c.find("#traffic-chart rect.in[data-count='1']")
    c.shot("dashboard-traffic")
    # Delete asks once more, then the message is gone.
    c.open("queue", r"Queue \(1\)")
    c.find("button.danger").click()
    c.wait_text(r"Confirm delete")
    c.find("button.danger").click()
    c.wait_text(r"Queue \(0\)")
    assert "far@example.net" not in server.cli("queue", "list").stdout


@needs_browser
def test_console_log_view_shows_a_failed_login(admin, browser):
    c = Console(browser, admin)
    c.login()
    c.open("logs", r"Logs")
    from selenium.webdriver.support.ui import Select

    Select(c.find("#log-filter select")).select_by_value("security")
    c.find("#live").click()
    bad_user = "<img src=x onerror=alert(2)>@example.org"
    imap = imaplib.IMAP4_SSL(*admin.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login(f'"{bad_user}"', "wrong-password")  # imaplib does not quote the user
    imap.logout()
    line = c.wait_text(r".*event=auth-failed.*service=imaps.*", what="the failed login in the live log view").group(0)
    assert "<img src=x onerror=alert(2)>" in line
    assert browser.find_elements(c.By.CSS_SELECTOR, "main img") == []
    c.no_alert()
    c.shot("logs")
    c.open("dashboard", r"failed logins")
    c.wait_text(r"1\nfailed logins \(24 h\)")


def test_dashboard_config_and_quota_api(admin):
    from test_admin_api import Api, token

    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    admin.deliver("console-dashboard")
    wait_until(lambda: "event=accepted" in admin.log("mail.log"), 10, what="the message in mail.log")
    imap = imaplib.IMAP4_SSL(*admin.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login(ALICE, "wrong-password")
    imap.logout()
    wait_until(lambda: "event=auth-failed" in admin.log("security.log"), 10, what="the failed login")
    d = api.request("GET", "/api/v1/dashboard").body
    assert len(d["hours"]) == len(d["received"]) == len(d["sent"]) == 24
    assert d["received"][-1] == 1 and sum(d["received"]) == 1 and sum(d["sent"]) == 0
    assert d["failed_logins"] == 1 and d["blocked"] == 0 and d["queue_size"] == 0
    assert d["disk_bytes"] > 0
    mine = [l for l in d["listeners"] if l["name"] == "admin"]
    assert mine and mine[0]["connections"] >= 1, d["listeners"]

    config = {c["key"]: c["value"] for c in api.request("GET", "/api/v1/config").body}
    assert config["security.policy"] == "secure-auth"
    assert config["smtp.greeting_delay"] == api.request("GET", "/api/v1/config/smtp.greeting_delay").body["value"]

    r = api.request("PATCH", f"/api/v1/users/{ALICE}", {"quota": 2097152})
    assert r.status == 200 and r.body["quota"] == 2097152, r.body
    assert re.search(rf"^{re.escape(ALICE)}\t[^\t]*\t2(\.0)? ?Mi?B?\t", admin.cli("user", "list").stdout, re.M | re.I), \
        admin.cli("user", "list").stdout
    assert api.request("PATCH", f"/api/v1/users/{ALICE}", {"quota": -1}).status == 400

    # A domain admin sees neither the server's dashboard nor its settings.
    admin.cli("user", "set", "bob@example.org", "--role", "domain-admin:example.org")
    _, bob = token(admin, "bob@example.org")
    for path in ("/api/v1/dashboard", "/api/v1/config"):
        assert Api(admin, token=bob).request("GET", path).status == 403, path


@needs_browser
def test_console_shows_a_domain_admin_only_their_pages(admin, browser):
    admin.cli("user", "set", BOB, "--role", "domain-admin:example.org")
    c = Console(browser, admin)
    c.login(BOB, BOB_PASSWORD, landing="#nav-users")
    c.wait_text(r"alice@example\.org")
    nav = [a.text for a in browser.find_elements(c.By.CSS_SELECTOR, "#nav a")]
    assert nav == ["Users", "Aliases", "Groups"], nav
    assert browser.current_url.endswith("#/users")
    assert "domain-admin:example.org" in c.find("#who").text
    c.find("#logout").click()
    c.find("#login-form")
    # The session is over on the server too: the API no longer knows this browser.
    browser.get(c.base + "api/v1/session")
    assert "unauthenticated" in browser.page_source
