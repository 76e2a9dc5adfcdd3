"""An auditor in the console (issue 19 item 2: `auditor` is read-only): every
page shows its data, none offers a form or a button that changes something
(add, edit, delete, block, retry, hold, import, save); the log filter and
the queue's Show stay. Screenshots go to tests/artifacts/console/."""

import re

from harness import ALICE, BOB, BOB_PASSWORD, wait_until
from test_admin_console import ADMIN, UI_TIMEOUT, Console, browser, closed_port, needs_browser  # noqa: F401 (fixtures)

# Page → text that shows its data has been drawn.
PAGES = {
    "dashboard": r"Messages per hour",
    "domains": r"example\.org",
    "users": r"alice@example\.org",
    "aliases": r"Aliases",
    "groups": r"Groups",
    "ipgroups": r"IP groups",
    "security": r"Policy and options",
    "certs": r"default",
    "queue": r"far@example\.net",
    "logs": r"Logs",
    "settings": r"delivery\.relay",
}
# What changes something, on any page.
EDIT_CONTROLS = ("form:not(#log-filter), button.danger, button.retry, button.hold, button.release, "
                 "button.primary:not(#log-filter button), input.config-value, #cert-import, textarea")


def controls(c):
    return [f"{e.tag_name}#{e.get_attribute('id')}.{e.get_attribute('class')}: {e.text}"
            for e in c.d.find_elements(c.By.CSS_SELECTOR, f"main {EDIT_CONTROLS}")]


@needs_browser
def test_an_auditor_sees_every_page_read_only(make_server, browser):
    relay = f'"smtp://127.0.0.1:{closed_port()}"'
    server = make_server(listen=ADMIN, config={"delivery.relay": relay, "delivery.allow_private": "true",
                                               "delivery.retry": '["1h"]'})
    server.cli("user", "set", BOB, "--role", "auditor")
    with server.submission() as s:
        s.sendmail(ALICE, ["far@example.net"], f"From: {ALICE}\r\nTo: far@example.net\r\nSubject: q\r\n\r\nHi.\r\n")
    wait_until(lambda: "result=deferred" in server.log("mail.log"), 30, what="the message queued")
    c = Console(browser, server)
    c.login(BOB, BOB_PASSWORD)
    assert "auditor" in c.find("#who").text
    nav = [a.text for a in browser.find_elements(c.By.CSS_SELECTOR, "#nav a")]
    assert len(nav) == len(PAGES), nav
    for page, ready in PAGES.items():
        c.open(page, ready)
        assert controls(c) == [], (page, controls(c))
        c.shot(f"auditor-{page}")
    # What only reads stays: the queue's Show, the config values as text, the log filter.
    c.open("queue", PAGES["queue"])
    c.find("button.show").click()
    c.find("#queue-details")
    c.open("settings", PAGES["settings"])
    assert re.search(r"delivery\.relay\s+\"?smtp://127\.0\.0\.1", c.text()), c.text()[:500]
    c.open("logs", PAGES["logs"])
    c.find("#log-filter button[type=submit]")
    # An admin still gets the forms (the same pages, another role).
    c.find("#logout").click()
    c.find("#login-form")
    server.cli("user", "set", BOB, "--role", "admin")
    c.login(BOB, BOB_PASSWORD)
    c.open("domains", PAGES["domains"])
    wait_until(lambda: controls(c), UI_TIMEOUT, what="the admin's add-domain form")
