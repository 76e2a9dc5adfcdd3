"""A small HTTPS client for the webmail API (http.client, stdlib only)."""

from __future__ import annotations

import http.client
import json
import urllib.parse

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, insecure_tls


class Web:
    """Requests to the `https` (or, with tls=False, `http`) listener."""

    def __init__(self, server, cookie=None, csrf=None, tls=True):
        self.server, self.cookie, self.csrf, self.tls = server, cookie, csrf, tls
        self.host, self.port = server.addr("https" if tls else "http")

    @property
    def origin(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def request(self, method, path, body=None, headers=None, query=None, raw=None):
        if self.tls:
            c = http.client.HTTPSConnection(self.host, self.port, context=insecure_tls(), timeout=IO_TIMEOUT)
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=IO_TIMEOUT)
        if query:
            path += "?" + urllib.parse.urlencode(query)
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        r.raw_body = raw
        r.body = json.loads(raw) if raw and "json" in (r.getheader("Content-Type") or "") else raw
        return r


def web_login(server, user=ALICE, password=ALICE_PASSWORD, remember=False):
    r = Web(server).request("POST", "/api/session", {"user": user, "password": password, "remember": remember})
    assert r.status == 200, r.body
    cookie = r.getheader("Set-Cookie").split(";")[0]
    return r, Web(server, cookie=cookie, csrf=r.body["csrf_token"])
