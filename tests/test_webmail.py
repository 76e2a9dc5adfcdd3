"""Webmail in a real browser (issue 20): headless Chromium through Selenium
against the real binary, at desktop size and at a 390x844 phone window. Sign
in, read a message delivered by SMTP, see new mail arrive live (SSE), create a
folder and move a message into it (checked by IMAP), search on the server,
log out; reply with an attachment (it reaches Bob, checked by IMAP, and Sent),
save a draft, resume it and send it; add a contact from a message, complete it
in compose, import and export vCards; reply in rich text with a dropped
attachment and a signature; send as an allowed identity, and see the server
refuse one that is not; move a message by dragging it onto a folder.
Screenshots of each page go to tests/artifacts/webmail/."""

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


# ---- contacts, completion, rich text, drag and drop, settings (issue 20 items 3-5)

DROP_FILE = """
const [target, name, text] = arguments;
const dt = new DataTransfer();
dt.items.add(new File([text], name, { type: 'text/csv' }));
for (const type of ['dragenter', 'dragover', 'drop']) {
  target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
}
"""

DRAG_ROW_TO_FOLDER = """
const [row, folder] = arguments;
const dt = new DataTransfer();
row.dispatchEvent(new DragEvent('dragstart', { bubbles: true, cancelable: true, dataTransfer: dt }));
for (const type of ['dragenter', 'dragover', 'drop']) {
  folder.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
}
row.dispatchEvent(new DragEvent('dragend', { bubbles: true, dataTransfer: dt }));
"""

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def open_panel(driver, button, panel):
    by_id(driver, button).click()
    return visible(driver, panel)


def test_a_contact_from_a_message_completes_in_compose_and_vcards_travel(webmail, driver, tmp_path):
    size = driver.size_name
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    tok = token()
    webmail.deliver(tok, sender="zed@far.test", body="Write back some time.\r\n")
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    by_id(driver, "add-contact").click()
    wait_until(lambda: by_id(driver, "status").text == "Sender added to contacts", 10)
    if size == "phone":
        by_id(driver, "back").click()
    # Edit it in the address book: a name.
    open_panel(driver, "contacts-btn", "contacts-panel")
    wait_until(lambda: "zed@far.test" in by_id(driver, "contact-list").text, 10)
    driver.find_element("css selector", "#contact-list li button").click()
    assert by_id(driver, "ct-emails").get_attribute("value") == "zed@far.test"
    by_id(driver, "ct-name").clear()
    by_id(driver, "ct-name").send_keys("Zed Faraway")
    by_id(driver, "ct-save").click()
    wait_until(lambda: by_id(driver, "ct-status").text == "Contact saved", 10)
    assert "Zed Faraway" in by_id(driver, "contact-list").text
    # Import a vCard 3.0 file with a folded line and escapes; export from the page.
    vcf = tmp_path / f"friends-{size}.vcf"
    vcf.write_bytes(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Yolanda\r\n  Escaped\\, Esq.\r\nEMAIL:yolanda@far.test\r\nORG:Far\\; Away\r\nEND:VCARD\r\n")
    by_id(driver, "vcf-file").send_keys(str(vcf))
    wait_until(lambda: by_id(driver, "ct-status").text == "Imported 1 contact(s)", 10)
    wait_until(lambda: "Yolanda Escaped, Esq." in by_id(driver, "contact-list").text, 10)
    shot(driver, f"{size}-contacts")
    exported = driver.execute_async_script("const done = arguments[0]; fetch('/api/contacts/export').then((r) => r.text()).then(done);")
    assert "FN:Yolanda Escaped\\, Esq.\r\n" in exported and "ORG:Far\\; Away\r\n" in exported and "FN:Zed Faraway\r\n" in exported
    # Compose: "zed" completes from the contacts, "bo" from the directory.
    by_id(driver, "compose").click()
    visible(driver, "composer")
    by_id(driver, "c-to").send_keys("zed")
    item = wait_until(lambda: (lambda l: l[0] if l and l[0].is_displayed() else None)(driver.find_elements("css selector", "#c-suggest li")), 10, what="a suggestion")
    assert item.text == "Zed Faraway <zed@far.test>"
    shot(driver, f"{size}-autocomplete")
    item.click()
    assert by_id(driver, "c-to").get_attribute("value") == "zed@far.test, "
    by_id(driver, "c-to").send_keys("bo")
    wait_until(lambda: [li.text for li in driver.find_elements("css selector", "#c-suggest li")] == [BOB], 10)
    from selenium.webdriver.common.keys import Keys

    by_id(driver, "c-to").send_keys(Keys.ENTER)
    assert by_id(driver, "c-to").get_attribute("value") == f"zed@far.test, {BOB}, "
    assert by_id(driver, "c-suggest").is_displayed() is False
    no_alert(driver)


def test_a_rich_reply_with_a_dropped_attachment_a_signature_and_identities(webmail, driver):
    size = driver.size_name
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    webmail.cli("alias", "add", "info@example.org", ALICE)
    tok = token()
    boundary = "b-" + tok
    import base64

    body = (f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nCan you send the figures?\r\n"
            f"--{boundary}\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"dot.png\"\r\n\r\n{base64.b64encode(PNG).decode()}\r\n--{boundary}--\r\n")
    msg = make_message(tok, sender=BOB, to=ALICE, extra_headers=f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n", body="")
    with webmail.submission(BOB, BOB_PASSWORD) as s:
        s.sendmail(BOB, [ALICE], msg.split(b"token ")[0] + body.encode())
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    # A signature, saved in the settings.
    open_panel(driver, "settings", "settings-panel")
    assert by_id(driver, "set-identities").text == f"{ALICE}, info@example.org"
    assert by_id(driver, "filters-hook").get_attribute("disabled") is not None, "the filter hook is there, disabled"
    by_id(driver, "set-signature").send_keys("Alice of Wonderland")
    by_id(driver, "set-save").click()
    wait_until(lambda: by_id(driver, "set-status").text == "Saved", 10)
    shot(driver, f"{size}-settings")
    by_id(driver, "settings").click()
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    # The image attachment is previewed inline, from this origin.
    preview = wait_until(lambda: driver.execute_script("const i = document.querySelector('#attachments img.preview'); return i && i.complete && i.naturalWidth;"), 10, what="the preview")
    assert preview == 1
    shot(driver, f"{size}-preview")
    # Reply in rich text: bold, a list; a file dropped onto the composer.
    by_id(driver, "reply").click()
    visible(driver, "composer")
    assert "-- \nAlice of Wonderland" in by_id(driver, "c-text").get_attribute("value")
    by_id(driver, "c-rich").click()
    editor = visible(driver, "c-editor")
    from selenium.webdriver.common.keys import Keys

    editor.click()
    editor.send_keys(Keys.CONTROL, Keys.HOME)
    editor.send_keys("Figures attached.")
    editor.send_keys(Keys.SHIFT, Keys.HOME)
    driver.find_element("css selector", '#c-format button[data-cmd="bold"]').click()
    editor.send_keys(Keys.END, Keys.ENTER)
    driver.find_element("css selector", '#c-format button[data-cmd="bold"]').click()  # bold off again
    driver.find_element("css selector", '#c-format button[data-cmd="insertUnorderedList"]').click()
    editor.send_keys("Q4: 42")
    name = f"figures-{size}.csv"
    driver.execute_script(DROP_FILE, by_id(driver, "composer"), name, "quarter,total\r\nQ4,42\r\n")
    wait_until(lambda: name in by_id(driver, "c-attached").text, 10)
    shot(driver, f"{size}-rich-reply")
    by_id(driver, "c-send").click()
    wait_until(lambda: by_id(driver, "status").text == "Message sent", 15, what="sent")
    got = wait_until(lambda: bob_inbox(webmail, tok), 15, what="the reply at Bob")
    m = email.message_from_bytes(got[0])
    assert m.get_content_type() == "multipart/mixed"
    alt = next(p for p in m.walk() if p.get_content_type() == "multipart/alternative")
    plain = next(p for p in alt.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    html = next(p for p in alt.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<b>Figures attached.</b>" in html and "<li>Q4: 42</li>" in html, html
    assert plain.startswith("Figures attached.") and "- Q4: 42" in plain, plain
    assert "-- \r\nAlice of Wonderland" in plain and "Alice of Wonderland" in html
    assert "> Can you send the figures?" in plain
    [f] = [p for p in m.walk() if p.get_filename()]
    assert f.get_filename() == name and f.get_payload(decode=True) == b"quarter,total\r\nQ4,42\r\n"
    # Identities: the allowed ones are offered; one the rules do not allow,
    # forced into the page, is refused by the server.
    by_id(driver, "compose").click()
    visible(driver, "composer")
    options = [o.get_attribute("value") for o in driver.find_elements("css selector", "#c-from option")]
    assert options == [ALICE, "info@example.org"]
    driver.execute_script("const o = document.createElement('option'); o.value = o.textContent = arguments[0]; document.getElementById('c-from').append(o); o.selected = true;", BOB)
    by_id(driver, "c-to").send_keys(BOB)
    by_id(driver, "c-subject").send_keys(f"spoof {tok}")
    by_id(driver, "c-send").click()
    wait_until(lambda: by_id(driver, "c-status").text.startswith("not sent: 553"), 15, what="refused")
    shot(driver, f"{size}-identity-refused")
    assert len(bob_inbox(webmail, tok)) == 1, "only the reply reached Bob"
    no_alert(driver)


def test_messages_move_by_dragging_onto_a_folder(webmail, driver):
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    tok = token()
    webmail.deliver(tok)
    host, port = webmail.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls()) as m:
        m.login(ALICE, ALICE_PASSWORD)
        m.create("Kept")
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    row = row_with(driver, tok)
    folder = wait_until(lambda: driver.find_elements("css selector", '#folders li[data-folder="Kept"]'), 10)[0]
    driver.execute_script(DRAG_ROW_TO_FOLDER, row, folder)
    wait_until(lambda: by_id(driver, "status").text == "Moved to Kept", 10)
    wait_until(lambda: imap_uids(webmail, "Kept", tok), 10, what="in Kept")
    assert imap_uids(webmail, "INBOX", tok) == []
    no_alert(driver)


def test_remote_images_always_allowed_for_one_sender(webmail, driver):
    """"Always from this sender" is remembered: the next message of that
    sender loads its remote images at once; another sender's stay blocked."""
    from webmail_browser import Trap

    trap = Trap()
    try:
        base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
        html = "MIME-Version: 1.0\r\nContent-Type: text/html\r\n"
        first, second, other = token(), token(), token()
        for tok, sender in ((first, "news@shop.test"), (second, "news@shop.test"), (other, "ads@elsewhere.test")):
            with webmail.smtp() as s:
                s.sendmail(sender, [ALICE], make_message(tok, sender=sender, extra_headers=html, body=f'<p>{tok}</p><img src="{trap.url}/{tok}.png">\r\n'))
        sign_in(driver, base, ALICE, ALICE_PASSWORD)

        def open_html(tok):
            if driver.size_name == "phone" and by_id(driver, "reader").is_displayed():
                by_id(driver, "back").click()
            click_row(driver, f"test {tok}")
            wait_until(lambda: tok in by_id(driver, "subject").text and by_id(driver, "html-frame").is_displayed(), 10)

        open_html(first)
        visible(driver, "images-note")
        assert trap.hits == [], "blocked until allowed"
        by_id(driver, "always-images").click()
        wait_until(lambda: f"/{first}.png" in trap.hits, 10, what="the first message's image")
        open_html(second)
        wait_until(lambda: f"/{second}.png" in trap.hits, 10, what="the same sender's next image, unasked")
        assert not by_id(driver, "images-note").is_displayed()
        shot(driver, f"{driver.size_name}-images-always")
        open_html(other)
        visible(driver, "images-note")
        assert f"/{other}.png" not in trap.hits, "another sender's images stay blocked"
        no_alert(driver)
    finally:
        trap.close()


def test_a_reply_goes_out_as_the_identity_the_message_was_sent_to(webmail, driver):
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    webmail.cli("alias", "add", "info@example.org", ALICE)
    tok = token()
    webmail.deliver(tok, to="info@example.org")
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    by_id(driver, "reply-all").click()
    visible(driver, "composer")
    assert by_id(driver, "c-from").get_attribute("value") == "info@example.org"
    assert by_id(driver, "c-cc").get_attribute("value") == "", "no copy to one's own alias"
    by_id(driver, "c-send").click()
    wait_until(lambda: by_id(driver, "status").text == "Message sent", 15, what="sent")
    sent = wait_until(lambda: [m for m in webmail.messages(ALICE, "Sent") if tok in m], 10)
    assert "From: <info@example.org>" in sent[0] or "From: info@example.org" in sent[0], sent[0]
    no_alert(driver)


def test_display_preferences_page_size_threads_and_plain_first(webmail, driver):
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    tok, other = token(), token()
    b = "b-" + tok
    alt = (f"--{b}\r\nContent-Type: text/plain\r\n\r\nPlain words {tok}\r\n"
           f"--{b}\r\nContent-Type: text/html\r\n\r\n<p>HTML words {tok}</p>\r\n--{b}--\r\n")
    msg = make_message(tok, extra_headers=f"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"{b}\"\r\n", body="")
    with webmail.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], msg.split(b"token ")[0] + alt.encode())
    webmail.deliver(other)
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    wait_until(lambda: by_id(driver, "page-info").text == "1/1", 10)
    open_panel(driver, "settings", "settings-panel")
    size = by_id(driver, "set-page-size")
    size.clear()
    size.send_keys("1")
    by_id(driver, "set-threads").click()
    by_id(driver, "set-html").click()
    by_id(driver, "set-save").click()
    wait_until(lambda: by_id(driver, "set-status").text == "Saved", 10)
    by_id(driver, "settings").click()
    wait_until(lambda: by_id(driver, "page-info").text == "1/2", 10, what="one message a page")
    assert by_id(driver, "threads").is_selected()
    # Kept on the server: a new sign-in has them.
    driver.refresh()
    visible(driver, "app-view")
    wait_until(lambda: by_id(driver, "page-info").text == "1/2", 10)
    if not row_texts(driver) or tok not in row_texts(driver)[0]:
        by_id(driver, "next").click()
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    assert f"Plain words {tok}" in visible(driver, "text").text
    assert not by_id(driver, "html-frame").is_displayed()
    no_alert(driver)


def test_a_rich_draft_resumes_in_rich_text(webmail, driver):
    """A draft written in rich text comes back into the editor with its
    formatting (bold, a list, a link), rebuilt from tokens, never as markup;
    sent after resuming, it is still multipart/alternative with the bold."""
    size = driver.size_name
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    from selenium.webdriver.common.keys import Keys

    tok = token()
    by_id(driver, "compose").click()
    visible(driver, "composer")
    by_id(driver, "c-to").send_keys(BOB)
    by_id(driver, "c-subject").send_keys(f"rich draft {tok}")
    by_id(driver, "c-rich").click()
    editor = visible(driver, "c-editor")
    editor.click()
    editor.send_keys("Plan <b>A</b>")
    editor.send_keys(Keys.SHIFT, Keys.HOME)
    driver.find_element("css selector", '#c-format button[data-cmd="bold"]').click()
    editor.send_keys(Keys.END, Keys.ENTER)
    driver.find_element("css selector", '#c-format button[data-cmd="bold"]').click()
    driver.find_element("css selector", '#c-format button[data-cmd="insertUnorderedList"]').click()
    editor.send_keys("step one")
    by_id(driver, "c-save").click()
    wait_until(lambda: by_id(driver, "c-status").text == "Draft saved", 10)
    by_id(driver, "c-cancel").click()
    if size == "phone":
        by_id(driver, "menu").click()
    click_folder(driver, "Drafts")
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    visible(driver, "edit-draft").click()
    editor = visible(driver, "c-editor")
    assert by_id(driver, "c-rich").is_selected(), "the draft resumes in rich text"
    bold = driver.execute_script("return [...document.querySelectorAll('#c-editor b, #c-editor strong')].map(e => e.textContent)")
    assert bold == ["Plan <b>A</b>"], bold
    items = driver.execute_script("return [...document.querySelectorAll('#c-editor li')].map(e => e.textContent)")
    assert items == ["step one"], items
    assert driver.execute_script("return document.querySelectorAll('#c-editor script, #c-editor [onerror]').length") == 0
    shot(driver, f"{size}-rich-draft-resumed")
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys(" and two")
    by_id(driver, "c-send").click()
    wait_until(lambda: by_id(driver, "status").text == "Message sent", 15, what="sent")
    got = wait_until(lambda: bob_inbox(webmail, tok), 15, what="the draft at Bob")
    m = email.message_from_bytes(got[0])
    html = next(p for p in m.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<b>Plan &lt;b&gt;A&lt;/b&gt;</b>" in html and "step one and two" in html, html
    no_alert(driver)


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing `text` (Helvetica), with a correct xref."""
    stream = f"BT /F1 18 Tf 20 70 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def test_a_pdf_attachment_opens_in_the_browsers_viewer(webmail, driver):
    """The Preview link of a PDF opens it inline in a tab of its own (the
    browser's viewer), not as a download."""
    import base64

    size = driver.size_name
    base = "https://127.0.0.1:%d" % webmail.addr("https")[1]
    tok = token()
    b = "b-" + tok
    body = (f"--{b}\r\nContent-Type: text/plain\r\n\r\nthe figures\r\n"
            f"--{b}\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"figures.pdf\"\r\n\r\n"
            f"{base64.b64encode(tiny_pdf('Quarterly figures')).decode()}\r\n--{b}--\r\n")
    msg = make_message(tok, extra_headers=f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{b}\"\r\n", body="")
    with webmail.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], msg.split(b"token ")[0] + body.encode())
    sign_in(driver, base, ALICE, ALICE_PASSWORD)
    click_row(driver, tok)
    wait_until(lambda: tok in by_id(driver, "subject").text, 10)
    app = driver.current_window_handle
    link = wait_until(lambda: driver.find_elements("css selector", "#attachments a.preview-link"), 10, what="the Preview link")[0]
    link.click()
    wait_until(lambda: len(driver.window_handles) == 2, 10, what="the PDF's tab")
    driver.switch_to.window(next(h for h in driver.window_handles if h != app))
    # Shown in the tab as a PDF document, not downloaded nor refused.
    # (Headless Chromium has no PDF viewer to draw it: its body stays empty
    # even without our CSP, so the drawing itself cannot be checked here.)
    wait_until(lambda: driver.execute_script("return document.contentType") == "application/pdf", 10, what="the PDF in its tab")
    assert driver.current_url.startswith(base + "/api/message/preview?")
    shot(driver, f"{size}-pdf-preview")
    driver.close()
    driver.switch_to.window(app)
    no_alert(driver)
