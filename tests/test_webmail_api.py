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

from harness import ALICE, ALICE_PASSWORD, BOB, WEBMAIL_LISTEN, make_message, token, wait_until
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
