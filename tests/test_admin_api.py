"""The admin listener and its REST API (issue 19 items 1-3): HTTPS on
loopback, sessions in a __Host- cookie with a CSRF token, API tokens from the
CLI, roles, problem+json errors, limits on bodies, the OpenAPI document."""

import http.client
import imaplib
import json
import re
import socket
import ssl
import subprocess
import time

import pytest

from harness import ADMIN_LISTEN, ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, insecure_tls, wait_until

ADMIN = {**ADMIN_LISTEN, "imaps": "127.0.0.1:0"}


class Api:
    """One HTTPS connection to the admin listener with optional credentials."""

    def __init__(self, server, token=None, cookie=None, csrf=None):
        self.server, self.token, self.cookie, self.csrf = server, token, cookie, csrf
        self.host, self.port = server.addr("admin")

    def request(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPSConnection(self.host, self.port, context=insecure_tls(), timeout=IO_TIMEOUT)
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        r.body = json.loads(text) if text and "json" in (r.getheader("Content-Type") or "") else text
        return r


def login(server, user=ALICE, password=ALICE_PASSWORD):
    r = Api(server).request("POST", "/api/v1/session", {"user": user, "password": password})
    assert r.status == 200, r.body
    cookie = r.getheader("Set-Cookie").split(";")[0]
    return r, Api(server, cookie=cookie, csrf=r.body["csrf_token"])


def token(server, user):
    out = server.cli("token", "create", "--user", user).stdout
    m = re.search(r"token (\d+) for \S+: (pst_\S+)", out)
    assert m, out
    return int(m.group(1)), m.group(2)


@pytest.fixture
def admin(make_server):
    server = make_server(listen=ADMIN)
    server.cli("user", "set", ALICE, "--role", "admin")
    return server


def test_login_sets_a_host_cookie_and_logout_ends_it(admin):
    r, api = login(admin)
    cookie = r.getheader("Set-Cookie")
    assert cookie.startswith("__Host-postern-session=")
    for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie.split("; "), cookie
    assert r.body["user"] == ALICE and r.body["role"] == "admin" and len(r.body["csrf_token"]) >= 43
    # Every answer carries the security headers and never a CORS one.
    assert r.getheader("Content-Security-Policy") == "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    assert r.getheader("Strict-Transport-Security").startswith("max-age=")
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    assert r.getheader("Referrer-Policy") == "no-referrer"
    me = api.request("GET", "/api/v1/session", headers={"Origin": "https://evil.test"})
    assert me.status == 200 and me.body["user"] == ALICE
    assert not [h for h, _ in me.getheaders() if h.lower().startswith("access-control-")]
    assert api.request("DELETE", "/api/v1/session").status == 204
    gone = api.request("GET", "/api/v1/session")
    assert gone.status == 401
    assert gone.getheader("Content-Type") == "application/problem+json"
    assert set(gone.body) == {"type", "title", "status", "detail"} and gone.body["status"] == 401


def test_a_password_change_ends_the_session(admin):
    _, api = login(admin)
    assert api.request("GET", "/api/v1/users").status == 200
    admin.cli("user", "passwd", ALICE, "--password-stdin", input="Another-9-Secret\n")
    assert api.request("GET", "/api/v1/users").status == 401


def test_wrong_passwords_are_logged_and_block_the_address(make_server):
    server = make_server(config={"security.login_failures": "2", "security.login_window": "60s", "security.block_for": "300s"}, listen=ADMIN)
    api = Api(server)
    for _ in range(2):
        r = api.request("POST", "/api/v1/session", {"user": ALICE, "password": "wrong-guess"})
        assert r.status == 401 and r.body["status"] == 401
    log = wait_until(lambda: "event=blocked" in server.log("security.log") and server.log("security.log"), 5)
    failed = [l for l in log.splitlines() if "auth-failed" in l]
    assert len(failed) == 2
    assert all("service=admin" in l and ALICE in l and "127.0.0.1" in l and "invalid credentials" in l for l in failed), failed
    assert "wrong-guess" not in log
    # Blocked: the next connection is closed after the handshake.
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
        api.request("GET", "/api/v1/session")


def test_tokens_from_the_cli_work_until_revoked(admin):
    tid, tok = token(admin, ALICE)
    api = Api(admin, token=tok, cookie="__Host-postern-session=bogus")
    # A bearer token needs no CSRF token and ignores cookies.
    r = api.request("POST", "/api/v1/domains", {"name": "new.test"})
    assert r.status == 201, r.body
    assert "new.test" in admin.cli("domain", "list").stdout
    listed = admin.cli("token", "list").stdout
    assert re.search(rf"^{tid}\t{ALICE}\t\S+\t-\t\d{{4}}-", listed, re.M), listed
    assert "pst_" not in listed
    admin.cli("token", "revoke", str(tid))
    assert api.request("GET", "/api/v1/domains").status == 401
    assert Api(admin, token="pst_" + "A" * 43).request("GET", "/api/v1/domains").status == 401


def test_an_expired_token_is_refused(admin):
    _, tok = token(admin, ALICE)
    out = admin.cli("token", "create", "--user", ALICE, "--expires", "1s").stdout
    short = re.search(r"(pst_\S+)", out).group(1)
    assert Api(admin, token=tok).request("GET", "/api/v1/status").status == 200
    wait_until(lambda: Api(admin, token=short).request("GET", "/api/v1/status").status == 401, 5)


def test_a_domain_admin_sees_only_their_domains(admin):
    admin.cli("domain", "add", "other.test")
    admin.cli("user", "add", "carol@other.test", "--password-stdin", input="Kestrel-5-Secret-x\n")
    admin.cli("user", "set", BOB, "--role", "domain-admin:example.org")
    _, tok = token(admin, BOB)
    bob = Api(admin, token=tok)
    users = [u["address"] for u in bob.request("GET", "/api/v1/users").body]
    assert ALICE in users and "carol@other.test" not in users
    assert [d["name"] for d in bob.request("GET", "/api/v1/domains").body] == ["example.org"]
    for method, path, body in [
        ("GET", "/api/v1/users/carol@other.test", None),
        ("PATCH", "/api/v1/users/carol@other.test", {"password": "Stolen-1-Password"}),
        ("DELETE", "/api/v1/users/carol@other.test", None),
        ("POST", "/api/v1/users", {"address": "eve@other.test", "password": "Heron-2-Password-x"}),
        ("POST", "/api/v1/aliases", {"address": "x@other.test", "targets": [BOB]}),
    ]:
        r = bob.request(method, path, body)
        assert r.status == 404, (method, path, r.status, r.body)
    # The same answer as for a user that does not exist anywhere.
    assert bob.request("GET", "/api/v1/users/nobody@example.org").status == 404
    assert bob.request("POST", "/api/v1/domains", {"name": "mine.test"}).status == 403
    assert bob.request("PATCH", f"/api/v1/users/{BOB}", {"role": "admin"}).status == 403
    r = bob.request("POST", "/api/v1/aliases", {"address": "team@example.org", "targets": [BOB]})
    assert r.status == 201, r.body
    assert "carol@other.test" in admin.cli("user", "list").stdout


def test_an_auditor_reads_but_cannot_write(admin):
    admin.cli("user", "set", BOB, "--role", "auditor")
    _, tok = token(admin, BOB)
    bob = Api(admin, token=tok)
    assert bob.request("GET", "/api/v1/users").status == 200
    assert bob.request("GET", "/api/v1/status").status == 200
    r = bob.request("POST", "/api/v1/domains", {"name": "x.test"})
    assert r.status == 403 and "auditor" in r.body["detail"]
    assert bob.request("DELETE", f"/api/v1/users/{ALICE}").status == 403
    admin.cli("user", "set", BOB, "--role", "none")
    assert bob.request("GET", "/api/v1/users").status == 403


def test_csrf_is_refused_for_cookie_sessions(admin):
    _, api = login(admin)
    no_token = Api(admin, cookie=api.cookie)
    r = no_token.request("POST", "/api/v1/domains", {"name": "a.test"})
    assert r.status == 403 and "x-csrf-token" in r.body["detail"]
    r = api.request("POST", "/api/v1/domains", {"name": "a.test"}, headers={"Origin": "https://evil.test"})
    assert r.status == 403 and "cross-origin" in r.body["detail"]
    # A cross-site form post and a text/plain fetch need no preflight: refused.
    form = no_token.request("POST", "/api/v1/domains", raw=b"name=a.test", headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.test"})
    assert form.status in (403, 415)
    plain = api.request("POST", "/api/v1/domains", raw=b'{"name": "a.test"}', headers={"Content-Type": "text/plain"})
    assert plain.status == 415
    assert "a.test" not in admin.cli("domain", "list").stdout
    origin = f"https://{api.host}:{api.port}"
    r = api.request("POST", "/api/v1/domains", {"name": "a.test"}, headers={"Origin": origin})
    assert r.status == 201, r.body


def test_bad_bodies_are_refused(admin):
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    big = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'
    r = api.request("POST", "/api/v1/domains", raw=big, headers={"Content-Type": "application/json"})
    assert r.status == 413 and r.body["status"] == 413
    deep = b"[" * 200 + b"]" * 200
    r = api.request("POST", "/api/v1/domains", raw=deep, headers={"Content-Type": "application/json"})
    assert r.status == 400 and "recursion limit" in r.body["detail"]
    r = api.request("POST", "/api/v1/domains", {"name": "b.test", "colour": "red"})
    assert r.status == 400 and "unknown field `colour`" in r.body["detail"], r.body
    r = api.request("POST", "/api/v1/users", {"address": "weak@example.org", "password": "x"})
    assert r.status == 400
    assert api.request("GET", "/api/v1/../../etc/passwd").status == 404
    assert api.request("GET", "/api/v1/%2e%2e/%2e%2e/etc/passwd").status == 404


def test_a_user_made_by_the_api_is_a_mail_user(admin):
    _, api = login(admin)
    r = api.request("POST", "/api/v1/users", {"address": "dave@example.org", "password": "Osprey-3-Password-x", "quota": 1048576})
    assert r.status == 201, r.body
    assert r.body["quota"] == 1048576 and r.body["role"] is None
    assert re.search(r"^dave@example\.org\t", admin.cli("user", "list").stdout, re.M)
    imap = imaplib.IMAP4_SSL(*admin.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    assert imap.login("dave@example.org", "Osprey-3-Password-x")[0] == "OK"
    imap.logout()
    r = api.request("PATCH", "/api/v1/users/dave@example.org", {"role": "domain-admin:example.org", "max_message_size": 2048})
    assert r.status == 200 and r.body["role"] == "domain-admin:example.org", r.body
    assert "max-message-size=2" in admin.cli("user", "list").stdout
    assert api.request("DELETE", "/api/v1/users/dave@example.org").status == 204
    assert "dave@" not in admin.cli("user", "list").stdout
    status = api.request("GET", "/api/v1/status").body
    assert status["queue_size"] == 0 and {"name": "admin", "address": f"127.0.0.1:{api.port}"} in status["listeners"]


def test_openapi_validates_and_every_route_answers(admin):
    from openapi_spec_validator import validate

    r = Api(admin).request("GET", "/api/v1/openapi.json")
    assert r.status == 200
    doc = r.body
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    api = Api(admin)
    seen = 0
    for path, item in doc["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x@example.org", path)
        for method in item:
            r = api.request(method.upper(), concrete)
            # Without credentials: 401, or 415 for the login's missing body; never 404/405.
            assert r.status in (401, 415), (method, path, r.status, r.body)
            seen += 1
    assert seen >= 18
    assert api.request("GET", "/api/v1/nothing").status == 404


@pytest.mark.needs_tool("curl", "curl speaks HTTP/2 (Python's standard library does not)")
def test_http2_is_offered(admin):
    _, tok = token(admin, ALICE)
    host, port = admin.addr("admin")
    out = subprocess.run(
        ["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "-H", f"Authorization: Bearer {tok}", f"https://{host}:{port}/api/v1/status"],
        capture_output=True, text=True, timeout=30,
    ).stdout
    assert out == "2 200", out


def test_clients_outside_the_allowed_group_are_closed(make_server):
    server = make_server(config={"access.admin.allow": '"office"'}, listen=ADMIN)
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
        Api(server).request("GET", "/api/v1/openapi.json")
    log = wait_until(lambda: "connection-refused" in server.log("security.log") and server.log("security.log"), 5)
    assert "service=admin" in log


def test_slow_connections_are_capped_and_cut(make_server):
    server = make_server(config={"access.admin.max_per_ip": "3"}, listen=ADMIN)
    host, port = server.addr("admin")

    def tls_conn():
        raw = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        return insecure_tls().wrap_socket(raw)

    # One sends nothing, two trickle in a request that never ends.
    slow = [tls_conn() for _ in range(3)]
    for s in slow[1:]:
        s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")
    # Over the per-IP cap: closed right after the handshake.
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
        Api(server).request("GET", "/api/v1/openapi.json")
    log = wait_until(lambda: "address has 3 connections" in server.log("security.log") and server.log("security.log"), 5)
    assert "service=admin" in log
    # Each slow one is cut after the header timeout (10 s), freeing its place.
    start = time.monotonic()
    for s in slow:
        s.settimeout(20)
        try:
            while s.recv(1024):
                pass
        except (ConnectionError, ssl.SSLError):
            pass
        s.close()
    assert time.monotonic() - start < 15
    assert Api(server).request("GET", "/api/v1/openapi.json").status == 200


def test_the_queue_is_listed_held_released_retried_and_deleted(admin):
    with admin.submission() as s:
        s.sendmail(ALICE, ["far@example.net"], f"From: {ALICE}\r\nTo: far@example.net\r\nSubject: q\r\n\r\nHi.\r\n")
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    queued = wait_until(lambda: api.request("GET", "/api/v1/queue").body, 5)
    assert len(queued) == 1 and queued[0]["sender"] == ALICE
    qid = queued[0]["id"]
    assert [r["address"] for r in queued[0]["recipients"]] == ["far@example.net"]
    assert api.request("POST", f"/api/v1/queue/{qid}/hold").status == 204
    assert api.request("GET", f"/api/v1/queue/{qid}").body["held"] is True
    assert api.request("POST", f"/api/v1/queue/{qid}/release").status == 204
    assert api.request("GET", f"/api/v1/queue/{qid}").body["held"] is False
    assert api.request("POST", f"/api/v1/queue/{qid}/retry").status == 204
    admin.cli("user", "set", BOB, "--role", "domain-admin:example.org")
    _, bob_tok = token(admin, BOB)
    assert Api(admin, token=bob_tok).request("GET", "/api/v1/queue").status == 403
    admin.cli("user", "set", BOB, "--role", "auditor")
    assert Api(admin, token=bob_tok).request("GET", "/api/v1/queue").status == 200
    assert Api(admin, token=bob_tok).request("DELETE", f"/api/v1/queue/{qid}").status == 403
    assert api.request("DELETE", f"/api/v1/queue/{qid}").status == 204
    assert api.request("GET", f"/api/v1/queue/{qid}").status == 404
    assert api.request("POST", f"/api/v1/queue/{qid}/retry").status == 404
    assert qid not in admin.cli("queue", "list").stdout


def test_blocks_are_listed_set_and_lifted(admin):
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    assert api.request("GET", "/api/v1/security/blocked").body == []
    r = api.request("POST", "/api/v1/security/blocked", {"ip": "192.0.2.7", "duration": "1h"})
    assert r.status == 201, r.body
    assert re.search(r"^192\.0\.2\.7\t.*\tmanual$", admin.cli("security", "blocked").stdout, re.M)
    [b] = api.request("GET", "/api/v1/security/blocked").body
    assert b["ip"] == "192.0.2.7" and b["reason"] == "manual"
    log = wait_until(lambda: "event=blocked" in admin.log("security.log") and admin.log("security.log"), 5)
    assert "blocked=192.0.2.7" in log and f"by={ALICE}" in log
    assert api.request("POST", "/api/v1/security/blocked", {"ip": "not-an-ip"}).status == 400
    admin.cli("user", "set", BOB, "--role", "domain-admin:example.org")
    _, bob_tok = token(admin, BOB)
    assert Api(admin, token=bob_tok).request("GET", "/api/v1/security/blocked").status == 403
    assert api.request("DELETE", "/api/v1/security/blocked/192.0.2.7").status == 204
    assert "192.0.2.7" not in admin.cli("security", "blocked").stdout
    assert api.request("DELETE", "/api/v1/security/blocked/192.0.2.7").status == 404


def test_ip_groups_are_kept_canonical(admin):
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    r = api.request("POST", "/api/v1/ipgroups/office", {"entries": ["10.0.0.0/255.0.0.0", "192.0.2.1"]})
    assert r.status == 200 and r.body == {"name": "office", "entries": ["10.0.0.0/8", "192.0.2.1"]}, r.body
    assert "office: 10.0.0.0/8, 192.0.2.1" in admin.cli("ipgroup", "list").stdout
    r = api.request("POST", "/api/v1/ipgroups/office", {"entries": ["10.0.0.300"]})
    assert r.status == 400 and "10.0.0.300" in r.body["detail"], r.body
    assert api.request("GET", "/api/v1/ipgroups").body == [{"name": "office", "entries": ["10.0.0.0/8", "192.0.2.1"]}]
    r = api.request("DELETE", "/api/v1/ipgroups/office", {"entries": ["10.0.0.0/8", "192.0.2.1"]})
    assert r.status == 200 and r.body["entries"] == []
    assert "office" not in admin.cli("ipgroup", "list").stdout


def test_config_keys_are_read_and_set_with_validation(admin):
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    r = api.request("GET", "/api/v1/config/smtp.max_message_size")
    assert r.status == 200 and r.body["key"] == "smtp.max_message_size", r.body
    r = api.request("PUT", "/api/v1/config/smtp.max_message_size", {"value": "25M"})
    assert r.status == 200 and r.body["value"] == admin.cli("config", "get", "smtp.max_message_size").stdout.strip(), r.body
    r = api.request("PUT", "/api/v1/config/smtp.max_message_size", {"value": "lots"})
    assert r.status == 400 and "smtp.max_message_size" in r.body["detail"], r.body
    r = api.request("PUT", "/api/v1/config/smtp.no_such_key", {"value": "1"})
    assert r.status in (400, 404) and "no_such_key" in r.body["detail"], r.body
    admin.cli("user", "set", BOB, "--role", "auditor")
    _, bob_tok = token(admin, BOB)
    bob = Api(admin, token=bob_tok)
    assert bob.request("GET", "/api/v1/config/smtp.max_message_size").status == 200
    assert bob.request("PUT", "/api/v1/config/smtp.max_message_size", {"value": "1M"}).status == 403


def test_logs_are_read_newest_first_filtered_and_paged(admin):
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert api.request("POST", "/api/v1/security/blocked", {"ip": ip, "duration": "1h"}).status == 201
    wait_until(lambda: admin.log("security.log").count("event=blocked") == 3, 5)
    r = api.request("GET", "/api/v1/logs/security?text=event%3Dblocked")
    assert r.status == 200, r.body
    assert [re.search(r"blocked=(\S+)", l).group(1) for l in r.body["lines"]] == ["192.0.2.3", "192.0.2.2", "192.0.2.1"]
    assert r.body["next"] is None
    first = api.request("GET", "/api/v1/logs/security?text=event%3Dblocked&limit=2").body
    assert len(first["lines"]) == 2 and first["next"] is not None
    rest = api.request("GET", f"/api/v1/logs/security?text=event%3Dblocked&limit=2&before={first['next']}").body
    assert [re.search(r"blocked=(\S+)", l).group(1) for l in rest["lines"]] == ["192.0.2.1"]
    only = api.request("GET", "/api/v1/logs/security?ip=192.0.2.2").body["lines"]
    assert len(only) == 1 and "blocked=192.0.2.2" in only[0]
    assert api.request("GET", f"/api/v1/logs/security?address={ALICE.upper()}").body["lines"]
    assert api.request("GET", "/api/v1/logs/security?since=2999-01-01T00:00:00Z").body["lines"] == []
    r = api.request("GET", "/api/v1/logs/security?colour=red")
    assert r.status == 400 and "colour" in r.body["detail"], r.body
    assert api.request("GET", "/api/v1/logs/security?limit=0").status == 400
    assert api.request("GET", "/api/v1/logs/other").status == 404
    assert api.request("GET", "/api/v1/logs/mail").status == 200


def test_delegations_within_the_callers_domains(admin):
    admin.cli("domain", "add", "other.test")
    admin.cli("user", "add", "carol@other.test", "--password-stdin", input="Kestrel-5-Secret-x\n")
    admin.cli("user", "set", BOB, "--role", "domain-admin:example.org")
    _, tok = token(admin, BOB)
    bob = Api(admin, token=tok)
    r = bob.request("POST", f"/api/v1/users/{ALICE}/delegates", {"delegate": BOB})
    assert r.status == 201, r.body
    assert f"{ALICE} -> {BOB}" in admin.cli("user", "delegations").stdout
    assert bob.request("GET", f"/api/v1/users/{ALICE}/delegates").body == [BOB]
    assert bob.request("POST", f"/api/v1/users/{ALICE}/delegates", {"delegate": "carol@other.test"}).status == 404
    assert bob.request("GET", "/api/v1/users/carol@other.test/delegates").status == 404
    assert bob.request("DELETE", f"/api/v1/users/{ALICE}/delegates/{BOB}").status == 204
    assert BOB not in admin.cli("user", "delegations").stdout


def test_domain_settings(admin):
    _, tok = token(admin, ALICE)
    api = Api(admin, token=tok)
    r = api.request("PATCH", "/api/v1/domains/example.org", {"max_message_size": 1048576, "dmarc_rua": ALICE})
    assert r.status == 204, r.body
    assert "max-message-size=1" in admin.cli("domain", "list").stdout
    assert f"rua=mailto:{ALICE}" in admin.cli("dns", "example.org").stdout
    r = api.request("PATCH", "/api/v1/domains/example.org", {"max_message_size": None})
    assert r.status == 204 and "max-message-size" not in admin.cli("domain", "list").stdout
    r = api.request("PATCH", "/api/v1/domains/example.org", {"dmarc_rua": "someone@far.example"})
    assert r.status == 400, r.body
    assert api.request("PATCH", "/api/v1/domains/nowhere.test", {"max_message_size": 1}).status == 404
