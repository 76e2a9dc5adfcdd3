"""Hostile mail in the webmail (issue 20 item 6): a corpus of HTML that tries
to run script (script tags, event handlers, SVG animation, javascript: URLs,
mXSS nesting), to reach out (<base>, CSS @import and url(), <link>, meta
refresh, frames, remote images) or to inject through the subject, the sender
and attachment names. Each is opened in headless Chromium; nothing may
execute (no dialog opens, and the payloads' requests to a loopback trap
server never come) and no request leaves while images are blocked. Showing
images for one message then reaches the trap: the trap is a working witness."""

import pytest

from harness import ALICE, ALICE_PASSWORD, WEBMAIL_LISTEN, require_tool, token, wait_until
from webmail_browser import DESKTOP, Trap, browser, by_id, click_row, no_alert, shot, sign_in, visible

pytestmark = [require_tool("chromium", "webmail tests drive headless Chromium"), require_tool("chromedriver", "Selenium drives Chromium through chromedriver")]


def corpus(trap: str) -> list[tuple[str, str]]:
    """(name, HTML body) pairs; every request they could make goes to `trap`."""
    js = lambda tag: f"fetch('{trap}/{tag}');alert('{tag}')"  # noqa: E731
    return [
        ("script", f"<script>{js('script')}</script><script src=\"{trap}/script.js\"></script>"),
        ("handlers", f"<img src=x onerror=\"{js('onerror')}\"><body onload=\"{js('onload')}\"><div onmouseover=\"{js('hover')}\">hover</div>"
                     f"<details open ontoggle=\"{js('toggle')}\"><summary>s</summary></details><input autofocus onfocus=\"{js('focus')}\">"),
        ("svg", f"<svg onload=\"{js('svgload')}\"><animate onbegin=\"{js('onbegin')}\" attributeName=x dur=1s />"
                f"<a><animate attributeName=href values=\"javascript:{js('animhref')}\" /><text x=20 y=20>click</text></a>"
                f"<set attributeName=onmouseover to=\"{js('set')}\" /><image href=\"{trap}/svgimage.png\" /></svg>"),
        ("base", f"<base href=\"{trap}/base/\"><img src=\"relative.png\"><a href=\"page\">relative link</a>"),
        ("css", f"<style>@import url({trap}/import.css); body{{background:url({trap}/bg.png)}}</style>"
                f"<link rel=stylesheet href=\"{trap}/link.css\"><div style=\"background-image:url({trap}/inline.png)\">styled</div>"
                f"<p style=\"font-family:x;src:url({trap}/font.woff)\">font</p>"),
        ("mxss", f"<noscript><p title=\"</noscript><img src=x onerror={js('mxss1')}>\"></noscript>"
                 f"<svg></p><style><a id=\"</style><img src=1 onerror={js('mxss2')}>\"></svg>"
                 f"<math><mtext><table><mglyph><style><!--</style><img title=\"--&gt;&lt;img src=1 onerror={js('mxss3')}&gt;\">"
                 f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={js('mxss4')}>"),
        ("elsewhere", f"<meta http-equiv=refresh content=\"0;url={trap}/meta\"><iframe src=\"{trap}/iframe\"></iframe>"
                      f"<object data=\"{trap}/object\"></object><embed src=\"{trap}/embed\"><video poster=\"{trap}/poster.png\"></video>"
                      f"<a href=\"javascript:{js('jslink')}\">js link</a><form action=\"{trap}/form\"><button>go</button></form>"),
        ("images", f"<p>remote image below</p><img src=\"{trap}/remote.png\"><img srcset=\"{trap}/srcset.png 1x\">"
                   f"<table background=\"{trap}/background.png\"><tr><td>cell</td></tr></table>"),
    ]


def hostile_message(tok: str, name: str, html: str, trap: str) -> bytes:
    boundary = "bnd" + tok
    subject = f"<img src={trap}/subject onerror=alert('subject')> {name} {tok}"
    filename = f"<img src={trap}/file onerror=alert('file')>.txt"
    return (
        f"From: \"<b onmouseover=alert('from')>Mallory</b>\" <mallory@example.net>\r\n"
        f"To: <{ALICE}>\r\nSubject: {subject}\r\nMessage-ID: <{tok}@client.test>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<html><body><p>marker {name} {tok}</p>{html}</body></html>\r\n"
        f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"{filename}\"\r\n\r\n"
        f"not a script\r\n--{boundary}--\r\n"
    ).encode()


def frame_text(driver) -> str:
    """The message frame's text; "" while it is still being replaced."""
    from selenium.common.exceptions import NoSuchElementException, NoSuchFrameException, StaleElementReferenceException

    try:
        driver.switch_to.frame(by_id(driver, "html-frame"))
        if driver.execute_script("return document.readyState") != "complete":
            return ""
        return driver.find_element("tag name", "body").text
    except (StaleElementReferenceException, NoSuchElementException, NoSuchFrameException):
        return ""
    finally:
        driver.switch_to.default_content()


def open_and_wait(driver, tok, name):
    click_row(driver, f"{name} {tok}")
    wait_until(lambda: f"{name} {tok}" in by_id(driver, "subject").text, 10, what=f"{name} open")
    visible(driver, "html-frame")
    wait_until(lambda: f"marker {name} {tok}" in frame_text(driver), 10, what=f"{name} frame loaded")


@pytest.fixture
def trap():
    t = Trap()
    yield t
    t.close()


def test_hostile_mail_runs_nothing_and_loads_nothing(make_server, trap):
    server = make_server(listen=WEBMAIL_LISTEN)
    tok = token()
    items = corpus(trap.url)
    with server.smtp() as s:
        for name, html in items:
            s.sendmail("mallory@example.net", [ALICE], hostile_message(tok, name, html, trap.url))
    driver = browser(DESKTOP)
    try:
        base = "https://127.0.0.1:%d" % server.addr("https")[1]
        sign_in(driver, base, ALICE, ALICE_PASSWORD)
        for name, _ in items:
            open_and_wait(driver, tok, name)
            no_alert(driver)
            # Subject, sender and file name are shown as the text they are.
            assert by_id(driver, "subject").text == f"<img src={trap.url}/subject onerror=alert('subject')> {name} {tok}"
            assert by_id(driver, "from").text == "<b onmouseover=alert('from')>Mallory</b> <mallory@example.net>"
            link = driver.find_element("css selector", "#attachments a")
            assert link.text == f"<img src={trap.url}/file onerror=alert('file')>.txt"
            if name == "svg":
                # Pointing at and clicking what the animations would arm.
                driver.switch_to.frame(by_id(driver, "html-frame"))
                for e in driver.find_elements("css selector", "a, div, p"):
                    try:
                        e.click()
                    except Exception:
                        pass
                driver.switch_to.default_content()
                no_alert(driver)
        shot(driver, "hostile-last")
        assert not driver.find_elements("css selector", "#app-view img"), "no markup from mail reached the app page"
        assert driver.execute_script("return document.querySelectorAll('script').length") == 1
        assert trap.hits == [], f"requests reached the trap: {trap.hits}"
        # The witness: allowing images for the image message loads them.
        open_and_wait(driver, tok, "images")
        assert by_id(driver, "images-note").is_displayed()
        assert trap.hits == []
        by_id(driver, "show-images").click()
        wait_until(lambda: "/remote.png" in trap.hits, 10, what="the allowed image reaches the trap")
        no_alert(driver)
        assert not [h for h in trap.hits if h not in ("/remote.png",)], trap.hits
    finally:
        driver.quit()
