"""Webmail in a real browser (issue 20): headless Chromium through Selenium
against the real binary, at desktop size and at a 390x844 phone window. Sign
in, read a message delivered by SMTP, see new mail arrive live (SSE), create a
folder and move a message into it (checked by IMAP), search on the server,
log out; reply with an attachment (it reaches Bob, checked by IMAP, and Sent),
save a draft, resume it and send it. Screenshots of each page go to tests/artifacts/webmail/."""

import email
import email.utils
import imaplib

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, WEBMAIL_LISTEN, insecure_tls, make_message, require_tool, token, wait_until
from webmail_browser import DESKTOP, PHONE, browser, by_id, click_folder, click_row, no_alert, row_texts, row_with, shot, sign_in, visible

pytestmark = [require_tool("chromium", "webmail tests drive headless Chromium"), require_tool("chromedriver", "Selenium drives Chromium through chromedriver")]


@pytest.fixture
def webmail(make_server):
    return make_server(listen={**WEBMAIL_LISTEN, "imaps": "127.0.0.1:0"})


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def driver(request):
    d = browser(request.param)
    d.size_name = request.node.callspec.id
    yield d
    d.quit()


def imap_uids(server, folder, tok):
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls()) as m:
        m.login(ALICE, ALICE_PASSWORD)
        m.select(f'"{folder}"')
        _, data = m.uid("SEARCH", "SUBJECT", tok)
        return data[0].split()


def test_read_move_search_and_log_out(webmail, driver):
    size = driver.size_name
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    first, second = token(), token()
    webmail.deliver(first, body="The walrus said hello.\r\n")
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    shot(driver, f"{size}-inbox")
    assert "unseen" in row_with(driver, first).get_attribute("class")
    # Reading: the plain text, with the sender and subject as text.
    click_row(driver, first)
    visible(driver, "reader")
    wait_until(lambda: first in by_id(driver, "subject").text, 10)
    assert "The walrus said hello." in by_id(driver, "text").text
    assert by_id(driver, "from").text == "sender@example.net"
    shot(driver, f"{size}-message")
    # Opening marked it read: IMAP sees \Seen.
    host, port = webmail.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls()) as m:
        m.login(ALICE, ALICE_PASSWORD)
        m.select("INBOX")
        _, data = m.uid("SEARCH", "SEEN", "SUBJECT", first)
        assert data[0].split(), "opened message is \\Seen"
    if size == "phone":
        by_id(driver, "back").click()
        wait_until(lambda: not by_id(driver, "reader").is_displayed(), 10)
    # New mail shows up in the open folder without a reload (SSE).
    webmail.deliver(second, body="Penguins are elsewhere.\r\n")
    row_with(driver, second, timeout=15)
    # A new folder, and the first message moved into it.
    if size == "phone":
        by_id(driver, "menu").click()
    by_id(driver, "folder-name").send_keys("Projects")
    by_id(driver, "create-folder").click()
    wait_until(lambda: "Projects" in driver.execute_script("return [...document.querySelectorAll('#folders li')].map((l) => l.dataset.folder)"), 10)
    if size == "phone":
        by_id(driver, "menu").click()
    click_row(driver, first, ".select")
    from selenium.webdriver.support.ui import Select

    Select(by_id(driver, "move-target")).select_by_value("Projects")
    by_id(driver, "move").click()
    wait_until(lambda: (lambda t: t is not None and all(first not in x for x in t))(row_texts(driver)), 10, what="moved out of the list")
    assert len(imap_uids(webmail, "Projects", first)) == 1
    assert imap_uids(webmail, "INBOX", first) == []
    # Search runs on the server: the body text finds the second message only.
    by_id(driver, "search").send_keys("penguins\n")
    wait_until(lambda: "penguins" in by_id(driver, "folder-title").text, 10)
    found = wait_until(lambda: row_texts(driver), 10)
    assert len(found) == 1 and second in found[0], found
    shot(driver, f"{size}-search")
    # Log out: the session is gone, a reload shows the sign-in form.
    by_id(driver, "logout").click()
    visible(driver, "login-form")
    driver.refresh()
    visible(driver, "login-form")
    assert driver.get_cookie("__Host-postern-webmail") is None
    shot(driver, f"{size}-signed-out")
    no_alert(driver)


def test_list_and_open_timings_are_reported(webmail, driver):
    """Not a timed assertion: prints how long the first page and a message
    took in the browser (issue 20 item 8 asks for figures, not a gate)."""
    if driver.size_name == "phone":
        pytest.skip("measured once, at desktop size")
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    tok = token()
    webmail.deliver(tok)
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    click_row(driver, tok)
    wait_until(lambda: by_id(driver, "reader").is_displayed() and tok in by_id(driver, "subject").text, 10)
    body = driver.find_element("tag name", "body")
    print(f"webmail timings: list {body.get_attribute('data-list-ms')} ms, open {body.get_attribute('data-open-ms')} ms")


def bob_inbox(server, tok):
    """Bob's messages whose subject has `tok`, as raw bytes (IMAP)."""
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls()) as m:
        m.login(BOB, BOB_PASSWORD)
        m.select("INBOX")
        _, data = m.uid("SEARCH", "SUBJECT", tok)
        out = []
        for uid in data[0].split():
            _, parts = m.uid("FETCH", uid, "(BODY.PEEK[])")
            out.append(parts[0][1])
        return out


def test_reply_with_an_attachment_and_a_resumed_draft(webmail, driver, tmp_path):
    size = driver.size_name
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    tok = token()
    with webmail.submission(BOB, BOB_PASSWORD) as s:
        s.sendmail(BOB, [ALICE], make_message(tok, sender=BOB, to=ALICE, body="Can you send the figures?\r\n"))
    attachment = tmp_path / f"figures-{size}.csv"
    attachment.write_bytes(b"quarter,total\r\nQ4,42\r\n")
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    # Reply: the original quoted, the file attached through the picker.
    by_id(driver, "reply").click()
    visible(driver, "composer")
    assert by_id(driver, "c-to").get_attribute("value") == BOB
    assert by_id(driver, "c-subject").get_attribute("value") == f"Re: test {tok}"
    assert "> Can you send the figures?" in by_id(driver, "c-text").get_attribute("value")
    by_id(driver, "c-text").send_keys("Here they are.")
    by_id(driver, "c-files").send_keys(str(attachment))
    wait_until(lambda: attachment.name in by_id(driver, "c-attached").text, 10)
    shot(driver, f"{size}-reply")
    by_id(driver, "c-send").click()
    wait_until(lambda: by_id(driver, "status").text == "Message sent", 15, what="sent")
    got = wait_until(lambda: bob_inbox(webmail, tok), 15, what="the reply in Bob's INBOX")
    msg = email.message_from_bytes(got[0])
    assert msg["Subject"] == f"Re: test {tok}" and email.utils.parseaddr(msg["From"])[1] == ALICE
    assert msg["In-Reply-To"] == f"<{tok}@client.test>"
    files = [p for p in msg.walk() if p.get_filename()]
    assert [f.get_filename() for f in files] == [attachment.name]
    assert files[0].get_payload(decode=True) == attachment.read_bytes()
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain" and not p.get_filename()).get_payload(decode=True).decode()
    assert "Here they are." in text and "> Can you send the figures?" in text
    assert len(imap_uids(webmail, "Sent", tok)) == 1, "a copy in Sent"
    # A draft: saved, found in Drafts, resumed, saved again (replacing it), sent.
    draft_tok = token()
    by_id(driver, "compose").click()
    visible(driver, "composer")
    by_id(driver, "c-to").send_keys(BOB)
    by_id(driver, "c-subject").send_keys(f"draft {draft_tok}")
    by_id(driver, "c-text").send_keys("First thoughts.")
    by_id(driver, "c-save").click()
    wait_until(lambda: by_id(driver, "c-status").text == "Draft saved", 10)
    by_id(driver, "c-cancel").click()
    assert len(imap_uids(webmail, "Drafts", draft_tok)) == 1
    if size == "phone":
        by_id(driver, "menu").click()
    click_folder(driver, "Drafts")
    click_row(driver, draft_tok)
    wait_until(lambda: draft_tok in by_id(driver, "subject").text, 10)
    visible(driver, "edit-draft").click()
    visible(driver, "composer")
    assert by_id(driver, "c-to").get_attribute("value") == BOB
    assert by_id(driver, "c-text").get_attribute("value").strip() == "First thoughts."
    by_id(driver, "c-text").send_keys(" Second thoughts.")
    by_id(driver, "c-save").click()
    wait_until(lambda: by_id(driver, "c-status").text == "Draft saved", 10)
    assert len(imap_uids(webmail, "Drafts", draft_tok)) == 1, "the new version replaced the old"
    shot(driver, f"{size}-draft")
    by_id(driver, "c-send").click()
    wait_until(lambda: by_id(driver, "status").text == "Message sent", 15, what="draft sent")
    sent = wait_until(lambda: bob_inbox(webmail, draft_tok), 15, what="the draft at Bob")
    assert b"First thoughts. Second thoughts." in sent[0]
    assert imap_uids(webmail, "Drafts", draft_tok) == [], "sending removed the draft"
    no_alert(driver)


def test_password_change_from_the_settings(webmail, driver):
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    by_id(driver, "settings").click()
    visible(driver, "pw-current").send_keys(ALICE_PASSWORD)
    by_id(driver, "pw-new").send_keys("short")
    by_id(driver, "pw-submit").click()
    wait_until(lambda: "password too short" in by_id(driver, "pw-status").text, 10)
    shot(driver, f"{driver.size_name}-password")
    by_id(driver, "pw-new").clear()
    by_id(driver, "pw-new").send_keys("Brand-New-Pass-9")
    by_id(driver, "pw-submit").click()
    visible(driver, "login-form")
    assert by_id(driver, "login-error").text == "Password changed: sign in with the new one"
    driver.refresh()
    visible(driver, "login-form")
    sign_in(driver, base, ALICE, "Brand-New-Pass-9")
    no_alert(driver)
