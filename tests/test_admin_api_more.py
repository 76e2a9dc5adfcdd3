"""Admin API gaps (issue 19): one group member added or taken out, one alias
target taken off, a user's quota changed after creation — each within the
caller's domains, each seen by the mail the server then routes."""

import http.client
import imaplib
import json
import re
import urllib.parse

import pytest

from harness import ADMIN_LISTEN, ALICE, BOB, DIRECTORY_PROPAGATION, IO_TIMEOUT, insecure_tls, wait_until

LISTEN = {**ADMIN_LISTEN, "imaps": "127.0.0.1:0"}
CAROL = "carol@example.org"


def call(server, token, method, path, body=None):
    host, port = server.addr("admin")
    c = http.client.HTTPSConnection(host, port, context=insecure_tls(), timeout=IO_TIMEOUT)
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    text = r.read()
    r.body = json.loads(text) if text else None
    c.close()
    return r


def q(address):
    return urllib.parse.quote(address, safe="@")


def token_for(server, user, role):
    server.cli("user", "set", user, "--role", role)
    out = server.cli("token", "create", "--user", user).stdout
    return re.search(r"(pst_\S+)", out).group(1)


@pytest.fixture
def admin(make_server):
    server = make_server(listen=LISTEN)
    server.add_user(CAROL, "Tulip-5-Secret-Pw")
    return server, token_for(server, ALICE, "admin")


def test_group_members_are_added_and_taken_out_one_by_one(admin):
    server, tok = admin
    assert call(server, tok, "POST", "/api/v1/groups", {"address": "team@example.org", "targets": [ALICE]}).status == 201
    r = call(server, tok, "POST", f"/api/v1/groups/{q('team@example.org')}/members", {"members": [BOB, CAROL]})
    assert r.status == 200, r.body
    assert r.body == {"address": "team@example.org", "targets": [ALICE, BOB, CAROL]}
    assert call(server, tok, "DELETE", f"/api/v1/groups/{q('team@example.org')}/members/{q(BOB)}").status == 204
    assert "team@example.org: " in server.cli("group", "list").stdout
    groups = call(server, tok, "GET", "/api/v1/groups").body
    assert groups == [{"address": "team@example.org", "targets": [ALICE, CAROL]}]
    # Mail to the group now reaches Alice and Carol, not Bob.
    wait_until(lambda: not server.deliver("team-after", to="team@example.org") and server.find(CAROL, "team-after"), DIRECTORY_PROPAGATION)
    server.wait_for_message(ALICE, "team-after")
    assert not server.find(BOB, "team-after")
    gone = call(server, tok, "DELETE", f"/api/v1/groups/{q('team@example.org')}/members/{q(BOB)}")
    assert gone.status == 404 and "not a member" in gone.body["detail"]
    r = call(server, tok, "POST", f"/api/v1/groups/{q('none@example.org')}/members", {"members": [BOB]})
    assert r.status == 404
    assert call(server, tok, "POST", f"/api/v1/groups/{q('team@example.org')}/members", {"members": []}).status == 400
    r = call(server, tok, "POST", f"/api/v1/groups/{q('team@example.org')}/members", {"members": [BOB], "extra": 1})
    assert r.status == 400 and "extra" in r.body["detail"]


def test_one_alias_target_is_taken_off(admin):
    server, tok = admin
    assert call(server, tok, "POST", "/api/v1/aliases", {"address": "info@example.org", "targets": [ALICE, BOB]}).status == 201
    assert call(server, tok, "DELETE", f"/api/v1/aliases/{q('info@example.org')}/targets/{q(ALICE)}").status == 204
    assert call(server, tok, "GET", "/api/v1/aliases").body == [{"address": "info@example.org", "targets": [BOB]}]
    assert call(server, tok, "DELETE", f"/api/v1/aliases/{q('info@example.org')}/targets/{q(ALICE)}").status == 404
    # The last target taken off: the alias is gone.
    assert call(server, tok, "DELETE", f"/api/v1/aliases/{q('info@example.org')}/targets/{q(BOB)}").status == 204
    assert call(server, tok, "GET", "/api/v1/aliases").body == []


def test_a_quota_is_changed_and_enforced(admin):
    server, tok = admin
    r = call(server, tok, "PATCH", f"/api/v1/users/{q(CAROL)}", {"quota": 1000})
    assert r.status == 200 and r.body["quota"] == 1000, r.body
    assert call(server, tok, "GET", f"/api/v1/users/{q(CAROL)}").body["quota"] == 1000
    # Over quota now: a 5 kB APPEND is refused; after lifting the quota it is taken.
    host, port = server.addr("imaps")
    imap = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    imap.login(CAROL, "Tulip-5-Secret-Pw")
    big = b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n"
    typ, data = imap.append("INBOX", None, None, big)
    assert typ == "NO" and b"OVERQUOTA" in data[0], (typ, data)
    r = call(server, tok, "PATCH", f"/api/v1/users/{q(CAROL)}", {"quota": 0})
    assert r.body["quota"] == 0
    assert imap.append("INBOX", None, None, big)[0] == "OK"
    imap.logout()
    assert call(server, tok, "PATCH", f"/api/v1/users/{q(CAROL)}", {"quota": -1}).status == 400


def test_a_domain_admin_touches_only_their_domain(admin):
    server, tok = admin
    server.cli("domain", "add", "other.test")
    server.cli("group", "add", "staff@other.test", "--member", ALICE)
    server.cli("alias", "add", "sales@other.test", ALICE)
    server.add_user("dave@other.test", "Maple-5-Secret-Pw")
    dom = token_for(server, BOB, "domain-admin:example.org")
    assert call(server, dom, "POST", f"/api/v1/groups/{q('staff@other.test')}/members", {"members": [BOB]}).status == 404
    assert call(server, dom, "DELETE", f"/api/v1/groups/{q('staff@other.test')}/members/{q(ALICE)}").status == 404
    assert call(server, dom, "DELETE", f"/api/v1/aliases/{q('sales@other.test')}/targets/{q(ALICE)}").status == 404
    assert call(server, dom, "PATCH", f"/api/v1/users/{q('dave@other.test')}", {"quota": 1}).status == 404
    assert "staff@other.test: alice@example.org" in server.cli("group", "list").stdout
    assert call(server, dom, "PATCH", f"/api/v1/users/{q(CAROL)}", {"quota": 7}).body["quota"] == 7
