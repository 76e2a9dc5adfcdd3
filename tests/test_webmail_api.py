"""Webmail's listeners and sign-in without a browser (issue 20 items 1, 2, 6):
http only redirects to https unless the client is exempt, sessions live in a
__Host- cookie and end at logout and at a password change, failed logins go
to security.log and the brute-force guard as IMAP's do, state changes need the
CSRF token and a same Origin, and a message's HTML and attachments come with
the headers that keep them inert."""

import http.client
import ssl
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, WEBMAIL_LISTEN, make_message, token, wait_until
from webmail_api import Web, web_login

APP_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"


@pytest.fixture
def webmail(make_server):
    return make_server(listen=WEBMAIL_LISTEN)


def test_http_answers_only_with_a_redirect_to_https(webmail):
    plain = Web(webmail, tls=False)
    _, https_port = webmail.addr("https")
    for method, path in (("GET", "/"), ("GET", "/api/folders?x=1"), ("POST", "/api/session")):
        r = plain.request(method, path, body={} if method == "POST" else None)
        assert r.status == 308, (method, path, r.status)
        assert r.getheader("Location") == f"https://127.0.0.1:{https_port}{path}"
        assert b"<html" not in r.raw_body and "Set-Cookie" not in dict(r.getheaders())


def test_an_exempt_client_gets_webmail_over_http_but_no_login_in_the_clear(make_server):
    server = make_server(config={"access.http.exempt": '"loopback"'}, listen=WEBMAIL_LISTEN)
    plain = Web(server, tls=False)
    page = plain.request("GET", "/")
    assert page.status == 200 and b'<script src="/app.js" defer></script>' in page.raw_body
    r = plain.request("POST", "/api/session", {"user": ALICE, "password": ALICE_PASSWORD}, headers={"Origin": plain.origin})
    assert r.status == 403 and "https" in r.body["error"], r.body
    assert "Set-Cookie" not in dict(r.getheaders())


def test_sign_in_sets_a_host_cookie_with_a_new_id_each_time(webmail):
    r1, api = web_login(webmail)
    cookie = r1.getheader("Set-Cookie")
    assert cookie.startswith("__Host-postern-webmail=")
    attrs = cookie.split("; ")
    for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in attrs, cookie
    assert not any(a.startswith(("Max-Age", "Expires", "Domain")) for a in attrs), "no remember me: a browser-session cookie"
    assert r1.getheader("Content-Security-Policy") == APP_CSP
    assert r1.getheader("X-Frame-Options") == "DENY"
    assert r1.body["user"] == ALICE and len(r1.body["csrf_token"]) == 43
    # Signing in again, even with the old cookie sent along, makes a new session.
    r2 = Web(webmail, cookie=api.cookie).request("POST", "/api/session", {"user": ALICE, "password": ALICE_PASSWORD})
    assert r2.status == 200
    assert r2.getheader("Set-Cookie").split(";")[0] != api.cookie
    me = api.request("GET", "/api/session")
    assert me.status == 200 and me.body == {"user": ALICE, "csrf_token": api.csrf}


def test_remember_me_keeps_the_cookie_for_thirty_days(webmail):
    r, _ = web_login(webmail, remember=True)
    assert "Max-Age=2592000" in r.getheader("Set-Cookie").split("; ")


def test_logout_and_a_password_change_end_the_session(webmail):
    _, api = web_login(webmail)
    assert api.request("GET", "/api/folders").status == 200
    out = api.request("DELETE", "/api/session")
    assert out.status == 204 and "Max-Age=0" in out.getheader("Set-Cookie")
    assert api.request("GET", "/api/folders").status == 401
    _, api = web_login(webmail)
    webmail.cli("user", "passwd", ALICE, "--password-stdin", input="Another-9-Secret\n")
    assert api.request("GET", "/api/folders").status == 401


def test_state_changes_need_the_csrf_token_and_a_same_origin(webmail):
    _, api = web_login(webmail)
    body = {"name": "Projects"}
    assert Web(webmail, cookie=api.cookie).request("POST", "/api/folders", body).status == 403
    assert Web(webmail, cookie=api.cookie, csrf="x" * 43).request("POST", "/api/folders", body).status == 403
    evil = api.request("POST", "/api/folders", body, headers={"Origin": "https://evil.test"})
    assert evil.status == 403
    assert api.request("POST", "/api/folders", body, headers={"Origin": api.origin}).status == 201
    names = [f["name"] for f in api.request("GET", "/api/folders").body]
    assert "Projects" in names


def test_wrong_passwords_are_logged_and_block_the_address(make_server):
    server = make_server(config={"security.login_failures": "2", "security.login_window": "60s", "security.block_for": "300s"}, listen=WEBMAIL_LISTEN)
    web = Web(server)
    for _ in range(2):
        r = web.request("POST", "/api/session", {"user": ALICE, "password": "wrong-guess"})
        assert r.status == 401
    log = wait_until(lambda: "event=blocked" in server.log("security.log") and server.log("security.log"), 5)
    failed = [l for l in log.splitlines() if "auth-failed" in l]
    assert len(failed) == 2
    assert all("service=https" in l and ALICE in l and "127.0.0.1" in l and "invalid credentials" in l for l in failed), failed
    assert "wrong-guess" not in log
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
        web.request("GET", "/")


def test_html_is_sanitised_and_framed_and_attachments_download(webmail):
    tok = token()
    boundary = "b-" + tok
    body = (
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p onclick=alert(1)>Hello {tok}</p><script>alert(2)</script><img src=\"http://127.0.0.1:9/x.png\">\r\n"
        f"--{boundary}\r\nContent-Type: text/html; name=\"x.html\"\r\n"
        f"Content-Disposition: attachment; filename=\"<b>x\\\".html\"\r\n\r\n<script>alert(3)</script>\r\n"
        f"--{boundary}--\r\n"
    )
    msg = make_message(tok, extra_headers=f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n", body="")
    msg = msg.split(b"token ")[0] + body.encode()
    with webmail.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], msg)
    _, api = web_login(webmail)
    page = wait_until(lambda: (lambda p: p if p.body["messages"] else None)(api.request("GET", "/api/messages", query={"folder": "INBOX"})), 10)
    uid = page.body["messages"][0]["uid"]
    view = api.request("GET", "/api/message", query={"folder": "INBOX", "uid": uid}).body
    assert view["has_html"] and view["blocked_images"] == 1
    assert view["attachments"][0]["name"] == '<b>x".html'
    html = api.request("GET", "/api/message/html", query={"folder": "INBOX", "uid": uid})
    assert html.getheader("Content-Security-Policy").startswith("default-src 'none'; img-src data: cid:;")
    assert "script-src 'none'" in html.getheader("Content-Security-Policy")
    text = html.raw_body.decode()
    assert f"<p>Hello {tok}</p>" in text
    assert "script" not in text.replace("<!doctype", "") and "onclick" not in text and "127.0.0.1:9" not in text
    part = api.request("GET", "/api/message/part", query={"folder": "INBOX", "uid": uid, "n": 0})
    assert part.status == 200
    assert part.getheader("Content-Disposition").startswith("attachment; filename=\"_b_x_.html\"; filename*=UTF-8''%3Cb%3Ex%22.html")
    assert part.getheader("Content-Type") == "application/octet-stream"
    assert part.getheader("X-Content-Type-Options") == "nosniff"
    assert part.raw_body == b"<script>alert(3)</script>"
    raw = api.request("GET", "/api/message/raw", query={"folder": "INBOX", "uid": uid})
    assert raw.getheader("Content-Type") == "text/plain; charset=utf-8" and tok.encode() in raw.raw_body


def test_sending_goes_through_the_submission_path(make_server):
    """What webmail sends meets the submission session's rules: here its size
    limit (552 comes back as the error), and it works under security.policy
    "encrypted" (the in-process session counts as encrypted); what passes
    reaches the recipient and a copy lands in Sent."""
    server = make_server(config={"smtp.max_message_size": '"20K"', "security.policy": '"encrypted"'}, listen=WEBMAIL_LISTEN)
    _, api = web_login(server)
    tok = token()
    big = api.request("POST", "/api/send", {"to": BOB, "subject": f"big {tok}", "text": "x" * 30000})
    assert big.status == 400 and big.body["error"].startswith("not sent: 552"), big.body
    ok = api.request("POST", "/api/send", {"to": BOB, "subject": f"small {tok}", "text": "hello"})
    assert ok.status == 200, ok.body
    got = server.wait_for_message(BOB, f"small {tok}")
    assert "From: <alice@example.org>" in got or "From: alice@example.org" in got, got
    sent = server.messages(ALICE, "Sent")
    assert [m for m in sent if f"small {tok}" in m] and not [m for m in sent if f"big {tok}" in m]
    assert "user=alice@example.org" in server.log("mail.log")


def test_a_password_change_meets_the_policy_and_ends_every_session(webmail):
    _, api = web_login(webmail)
    _, other = web_login(webmail)
    weak = api.request("POST", "/api/password", {"current": ALICE_PASSWORD, "new": "short"})
    assert weak.status == 400 and "auth.password_min_length" in weak.body["error"], weak.body
    wrong = api.request("POST", "/api/password", {"current": "not-it", "new": "Brand-New-Pass-9"})
    assert wrong.status == 400 and wrong.body["error"] == "the current password is wrong"
    log = wait_until(lambda: "wrong current password" in webmail.log("security.log") and webmail.log("security.log"), 5)
    assert "event=auth-failed" in log and "service=https" in log
    assert api.request("GET", "/api/folders").status == 200, "a refused change keeps the session"
    done = api.request("POST", "/api/password", {"current": ALICE_PASSWORD, "new": "Brand-New-Pass-9"})
    assert done.status == 204 and "Max-Age=0" in done.getheader("Set-Cookie")
    assert api.request("GET", "/api/folders").status == 401
    assert other.request("GET", "/api/folders").status == 401, "other sessions end too"
    assert Web(webmail).request("POST", "/api/session", {"user": ALICE, "password": ALICE_PASSWORD}).status == 401
    web_login(webmail, password="Brand-New-Pass-9")


def uid_of(api, folder, tok):
    page = api.request("GET", "/api/messages", query={"folder": folder, "q": tok}).body
    return [m["uid"] for m in page["messages"]]


def test_spam_not_spam_and_delete_move_and_teach_like_imap(webmail):
    tok = token()
    webmail.deliver(tok)
    _, api = web_login(webmail)
    [uid] = wait_until(lambda: uid_of(api, "INBOX", tok), 10)
    assert api.request("POST", "/api/messages/spam", {"folder": "INBOX", "uids": [uid], "spam": True}).status == 204
    assert uid_of(api, "INBOX", tok) == []
    [junk_uid] = uid_of(api, "Junk", tok)
    log = wait_until(lambda: "service=webmail" in webmail.log("mail.log") and webmail.log("mail.log"), 5)
    assert "event=spam-learned service=webmail user=alice@example.org class=spam messages=1" in log, log
    assert api.request("POST", "/api/messages/spam", {"folder": "Junk", "uids": [junk_uid], "spam": False}).status == 204
    [uid] = uid_of(api, "INBOX", tok)
    assert "class=ham messages=1" in webmail.log("mail.log")
    # Delete moves to Trash; deleting there removes it for good.
    assert api.request("POST", "/api/messages/delete", {"folder": "INBOX", "uids": [uid]}).status == 204
    [trash_uid] = uid_of(api, "Trash", tok)
    assert api.request("POST", "/api/messages/delete", {"folder": "Trash", "uids": [trash_uid]}).status == 204
    assert uid_of(api, "Trash", tok) == [] and uid_of(api, "INBOX", tok) == []
    too_many = api.request("POST", "/api/messages/delete", {"folder": "INBOX", "uids": list(range(1, 1002))})
    assert too_many.status == 400 and "1000" in too_many.body["error"]


def test_threads_by_references(webmail):
    a, x, b = token(), token(), token()
    with webmail.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], make_message(a))
        s.sendmail("sender@example.net", [ALICE], make_message(x))
        reply = f"In-Reply-To: <{a}@client.test>\r\nReferences: <{a}@client.test>\r\n"
        s.sendmail("sender@example.net", [ALICE], make_message(b, extra_headers=reply))
    _, api = web_login(webmail)
    wait_until(lambda: api.request("GET", "/api/messages", query={"folder": "INBOX"}).body["total"] == 3, 10)

    def listed(**q):
        page = api.request("GET", "/api/messages", query={"folder": "INBOX", **q}).body
        return [(m["subject"].split()[-1], m["depth"]) for m in page["messages"]]

    assert listed() == [(b, 0), (x, 0), (a, 0)], "by arrival, newest first"
    assert listed(thread=1) == [(a, 0), (b, 1), (x, 0)], "the reply under its thread, the thread by its latest"
    assert listed(thread=1, order="asc") == [(x, 0), (a, 0), (b, 1)]


# ---- contacts, completion, settings, identities, previews (issue 20 items 3-5)

MAX_VCARD_BYTES = 1024 * 1024  # crates/webmail/src/contacts/vcard.rs
MAX_VCARD_CARDS = 2000

VCARD_3 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carol\r\n  Example\r\nN:Example;Carol;;;\r\n"
    "EMAIL;TYPE=INTERNET:carol@example.net\r\nTEL;TYPE=work:+1 555 0100\r\n"
    "ORG:Acme\\, Inc.\r\nNOTE:Likes tea\\nand\\; cake\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\nVERSION:4.0\nFN:Dan\nEMAIL:dan@example.com\nEND:VCARD\n"
)


def contacts(api):
    r = api.request("GET", "/api/contacts")
    assert r.status == 200, r.body
    return r.body


def import_vcard(api, data: bytes):
    return api.request("POST", "/api/contacts/import", headers={"Content-Type": "text/vcard"}, raw=data)


def test_vcard_import_export_and_its_limits(webmail):
    _, api = web_login(webmail)
    r = import_vcard(api, VCARD_3.encode())
    assert r.status == 200 and r.body == {"imported": 2}, r.body
    book = {c["name"]: c for c in contacts(api)}
    carol = book["Carol Example"]
    assert carol["emails"] == ["carol@example.net"] and carol["phones"] == ["+1 555 0100"]
    assert carol["org"] == "Acme, Inc." and carol["note"] == "Likes tea\nand; cake"
    assert (carol["family"], carol["given"]) == ("Example", "Carol")
    # Export: vCard 4.0 by default, escaped, lines folded at 75 octets.
    api.request("PUT", "/api/contacts", {**carol, "note": "n" * 200})
    out = api.request("GET", "/api/contacts/export")
    assert out.status == 200 and out.getheader("Content-Type") == "text/vcard; charset=utf-8"
    text = out.raw_body.decode()
    assert text.count("BEGIN:VCARD") == 2 and "VERSION:4.0\r\n" in text
    assert "ORG:Acme\\, Inc.\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), text
    assert "\r\n n" in text, "the long note is folded"
    v3 = api.request("GET", "/api/contacts/export", query={"version": "3.0"}).raw_body.decode()
    assert "VERSION:3.0\r\n" in v3
    # What was exported imports again (into Bob's book: nobody else's).
    _, bob = web_login(webmail, user=BOB, password=BOB_PASSWORD)
    assert import_vcard(bob, out.raw_body).body == {"imported": 2}
    assert sorted(c["name"] for c in contacts(bob)) == ["Carol Example", "Dan"]
    assert contacts(bob)[0]["note"] == "n" * 200
    # Limits: one byte over the size, one card over the count; a malformed
    # card is named by its line; a refused file imports nothing.
    card = "BEGIN:VCARD\nFN:A\nX-PAD:"  # an unknown property: read past
    end = "\nEND:VCARD\n"
    pad = MAX_VCARD_BYTES - len(card) - len(end)
    exact = (card + "x" * pad + end).encode()
    assert len(exact) == MAX_VCARD_BYTES
    over = import_vcard(api, (card + "x" * (pad + 1) + end).encode())
    assert over.status == 400 and str(MAX_VCARD_BYTES) in over.body["error"], over.body
    assert import_vcard(api, exact).status == 200
    one = "BEGIN:VCARD\nFN:A\nEND:VCARD\n"
    many = import_vcard(api, (one * (MAX_VCARD_CARDS + 1)).encode())
    assert many.status == 400 and str(MAX_VCARD_CARDS) in many.body["error"], many.body
    before = len(contacts(api))
    bad = import_vcard(api, b"BEGIN:VCARD\nFN:Ok\nEND:VCARD\nBEGIN:VCARD\nVERSION:4.0\nFN:Broken\nno colon here\nEND:VCARD\n")
    assert bad.status == 400 and bad.body["error"] == "line 7: not a vCard property (NAME:value)", bad.body
    unclosed = import_vcard(api, b"BEGIN:VCARD\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\n")
    assert unclosed.body["error"] == "line 4: BEGIN:VCARD without END:VCARD", unclosed.body
    assert len(contacts(api)) == before
    big = import_vcard(api, b"x" * (MAX_VCARD_BYTES + 128 * 1024))
    assert big.status == 413


def test_contacts_add_edit_delete_and_add_the_sender(webmail):
    _, api = web_login(webmail)
    r = api.request("POST", "/api/contacts", {"name": "Eve", "emails": ["eve@example.net"]})
    assert r.status == 201
    eid = r.body["id"]
    assert api.request("PUT", "/api/contacts", {"id": eid, "name": "Eve Q", "emails": ["eve@example.net"], "org": "Q"}).status == 204
    [eve] = contacts(api)
    assert (eve["name"], eve["org"]) == ("Eve Q", "Q")
    bad = api.request("POST", "/api/contacts", {"name": "x", "emails": ["not an address"]})
    assert bad.status == 400
    # Bob cannot see, change or delete Alice's contact.
    _, bob = web_login(webmail, user=BOB, password=BOB_PASSWORD)
    assert contacts(bob) == []
    assert bob.request("PUT", "/api/contacts", {"id": eid, "name": "mine"}).status == 404
    assert bob.request("DELETE", "/api/contacts", query={"id": eid}).status == 404
    # The sender of a message, parsed on the server: added once.
    tok = token()
    with webmail.smtp() as s:
        s.sendmail("frank@example.net", [ALICE], make_message(tok, sender="frank@example.net", extra_headers="").replace(b"From: <frank@example.net>", b'From: "Frank F." <frank@example.net>'))
    [uid] = wait_until(lambda: uid_of(api, "INBOX", tok), 10)
    first = api.request("POST", "/api/contacts/sender", {"folder": "INBOX", "uid": uid})
    again = api.request("POST", "/api/contacts/sender", {"folder": "INBOX", "uid": uid})
    assert (first.status, again.status) == (201, 200) and first.body == again.body
    names = {c["name"]: c["emails"] for c in contacts(api)}
    assert names["Frank F."] == ["frank@example.net"]
    assert api.request("DELETE", "/api/contacts", query={"id": eid}).status == 204
    assert "Eve Q" not in {c["name"] for c in contacts(api)}
    # No CSRF token: refused.
    assert Web(webmail, cookie=api.cookie).request("POST", "/api/contacts", {"name": "x"}).status == 403


def test_autocompletion_offers_own_contacts_and_own_domain_only(webmail):
    webmail.cli("domain", "add", "other.test")
    webmail.cli("user", "add", "albert@other.test", "--password-stdin", input="Kestrel-5-Secret-x\n")
    webmail.cli("alias", "add", "all@other.test", "albert@other.test")
    webmail.cli("alias", "add", "alerts@example.org", ALICE)
    _, api = web_login(webmail)
    _, bob = web_login(webmail, user=BOB, password=BOB_PASSWORD)
    assert bob.request("POST", "/api/contacts", {"name": "Alvin Private", "emails": ["alvin@secret.test"]}).status == 201
    assert api.request("POST", "/api/contacts", {"name": "Alma Far", "emails": ["alma@far.test"]}).status == 201

    def complete(who, q):
        r = who.request("GET", "/api/addresses", query={"q": q})
        assert r.status == 200, r.body
        return [(s["address"], s["source"]) for s in r.body]

    got = complete(api, "al")
    assert got[0] == ("alma@far.test", "contact"), got
    addrs = [a for a, _ in got]
    assert "alice@example.org" in addrs and "alerts@example.org" in addrs, got
    assert not [a for a in addrs if a.endswith("other.test") or a.endswith("secret.test")], got
    # The other domain's user completes nothing of example.org, nor Alice's book.
    r, albert = web_login(webmail, user="albert@other.test", password="Kestrel-5-Secret-x")
    theirs = complete(albert, "al")
    assert theirs and all(a.endswith("@other.test") for a, _ in theirs), theirs
    assert complete(api, "%") == [] and complete(api, "_") == [], "LIKE wildcards are literal"
    assert api.request("GET", "/api/addresses", query={"q": "x" * 101}).status == 400
    assert len(complete(api, "x" * 100)) == 0
    assert api.request("GET", "/api/addresses", query={"q": " "}).status == 400


def test_settings_keep_prefs_and_list_the_allowed_identities(webmail):
    webmail.cli("alias", "add", "info@example.org", ALICE)
    _, api = web_login(webmail)
    s = api.request("GET", "/api/settings").body
    assert s["identities"] == [ALICE, "info@example.org"]
    assert s["prefs"] == {"signature": "", "page_size": 50, "threads": False, "prefer_html": True}
    assert s["filters"] is False and s["max_message_size"] == 50 << 20
    prefs = {"signature": "Alice\nWonderland", "page_size": 2, "threads": True, "prefer_html": False}
    assert api.request("PUT", "/api/settings", prefs).status == 204
    assert api.request("GET", "/api/settings").body["prefs"] == prefs
    assert api.request("PUT", "/api/settings", {**prefs, "page_size": 201}).status == 400
    assert api.request("PUT", "/api/settings", {**prefs, "signature": "x" * 2001}).status == 400
    for _ in range(3):
        webmail.deliver(token())
    page = wait_until(lambda: (lambda b: b if b["total"] == 3 else None)(api.request("GET", "/api/messages", query={"folder": "INBOX", "size": 2}).body), 10)
    assert (len(page["messages"]), page["pages"]) == (2, 2)
    assert api.request("GET", "/api/messages", query={"folder": "INBOX", "size": 201}).status == 400


def test_the_server_enforces_the_identity_chosen_in_compose(webmail):
    webmail.cli("alias", "add", "info@example.org", ALICE)
    _, api = web_login(webmail)
    tok = token()
    ok = api.request("POST", "/api/send", {"from": "info@example.org", "to": BOB, "subject": f"as info {tok}", "text": "hi"})
    assert ok.status == 200, ok.body
    got = webmail.wait_for_message(BOB, f"as info {tok}")
    assert "From: <info@example.org>" in got or "From: info@example.org" in got, got
    # Bob's address is not Alice's to use: the submission session refuses it.
    no = api.request("POST", "/api/send", {"from": BOB, "to": BOB, "subject": f"as bob {tok}", "text": "hi"})
    assert no.status == 400 and no.body["error"].startswith("not sent: 553"), no.body
    assert "event=spoofing-refused" in webmail.log("security.log")
    assert not [m for m in webmail.messages(ALICE, "Sent") if f"as bob {tok}" in m]


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_previews_are_images_and_pdfs_by_their_bytes_only(webmail):
    tok = token()
    b = "b-" + tok

    def part(name, ctype, data):
        import base64
        return (f"--{b}\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\n"
                f"Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{base64.b64encode(data).decode()}\r\n")

    body = (f"--{b}\r\nContent-Type: text/plain\r\n\r\nsee\r\n" + part("dot.png", "image/png", PNG)
            + part("doc.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")
            + part("fake.png", "image/png", b"<html><script>alert(1)</script>")
            + part("x.svg", "image/svg+xml", b"<svg onload=alert(1)/>") + f"--{b}--\r\n")
    msg = make_message(tok, extra_headers=f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{b}\"\r\n", body="")
    msg = msg.split(b"token ")[0] + body.encode()
    with webmail.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], msg)
    _, api = web_login(webmail)
    [uid] = wait_until(lambda: uid_of(api, "INBOX", tok), 10)
    view = api.request("GET", "/api/message", query={"folder": "INBOX", "uid": uid}).body
    assert [(a["name"], a["preview"]) for a in view["attachments"]] == [("dot.png", "image"), ("doc.pdf", "pdf"), ("fake.png", ""), ("x.svg", "")]
    img = api.request("GET", "/api/message/preview", query={"folder": "INBOX", "uid": uid, "n": 0})
    assert img.status == 200 and img.raw_body == PNG
    assert img.getheader("Content-Type") == "image/png" and img.getheader("X-Content-Type-Options") == "nosniff"
    assert img.getheader("Content-Security-Policy") == "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    pdf = api.request("GET", "/api/message/preview", query={"folder": "INBOX", "uid": uid, "n": 1})
    assert pdf.getheader("Content-Type") == "application/pdf" and pdf.getheader("Content-Disposition") == "inline"
    assert "default-src 'none'" in pdf.getheader("Content-Security-Policy")
    for n in (2, 3):
        r = api.request("GET", "/api/message/preview", query={"folder": "INBOX", "uid": uid, "n": n})
        assert r.status == 400 and b"alert" not in r.raw_body


def test_always_showing_a_senders_images_is_remembered(webmail):
    tok = token()
    html = "MIME-Version: 1.0\r\nContent-Type: text/html\r\n"
    with webmail.smtp() as s:
        s.sendmail("news@shop.test", [ALICE], make_message(tok, sender="news@shop.test", extra_headers=html, body='<p>x</p><img src="https://shop.test/p.gif">\r\n'))
    _, api = web_login(webmail)
    [uid] = wait_until(lambda: uid_of(api, "INBOX", tok), 10)
    q = {"folder": "INBOX", "uid": uid}
    assert api.request("GET", "/api/message", query=q).body["images_allowed"] is False
    assert api.request("POST", "/api/images/allow", q).status == 204
    assert api.request("GET", "/api/message", query=q).body["images_allowed"] is True
    _, bob = web_login(webmail, user=BOB, password=BOB_PASSWORD)
    assert bob.request("POST", "/api/images/allow", q).status == 404, "Alice's message is not Bob's"
