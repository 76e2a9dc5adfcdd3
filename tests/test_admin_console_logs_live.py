"""The console's log view follows the log live through the server-sent events
of /api/v1/logs/{log}/tail (no more polling every 2 s): a failed IMAP login
appears on top as it is written, and when the session stops being valid the
stream's `end` event turns Live off with the reason. Screenshot to
tests/artifacts/console/."""

import imaplib

import pytest

from harness import ALICE, IO_TIMEOUT, insecure_tls, wait_until
from test_admin_console import UI_TIMEOUT, Console, admin, browser, needs_browser  # noqa: F401 (fixtures)


@needs_browser
def test_console_live_log_view_follows_the_stream_and_stops_with_the_session(admin, browser):
    from selenium.webdriver.support.ui import Select

    c = Console(browser, admin)
    c.login()
    c.open("logs", r"Logs")
    Select(c.find("#log-filter select")).select_by_value("security")
    c.find("#live").click()
    wait_until(lambda: c.find("#live-state").text == "following", UI_TIMEOUT, what="the stream open")
    imap = imaplib.IMAP4_SSL(*admin.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("live-probe@example.org", "wrong-password")
    imap.logout()
    top = wait_until(lambda: (lambda li: li and "live-probe@example.org" in li[0].text and li[0])(
        browser.find_elements(c.By.CSS_SELECTOR, "#log-lines li")), UI_TIMEOUT, what="the failed login on top")
    assert "event=auth-failed" in top.text
    c.shot("logs-live")
    # A password change ends the session: the server ends the stream and says why.
    admin.cli("user", "passwd", ALICE, "--password-stdin", input="Another-Password-77\n")
    wait_until(lambda: "session ended" in c.find("#live-state").text, UI_TIMEOUT, what="the end of the live view")
    assert not c.find("#live").is_selected()
    c.no_alert()
