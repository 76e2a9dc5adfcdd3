"""The live tail of the logs (issue 19, console log view): GET
/api/v1/logs/{log}/tail is a text/event-stream of the lines written after it
opened (event `line`, id the byte offset after the line), filtered like the
log search, resumed after `Last-Event-ID`, and closed with an event `end`
once the session is logged out or no longer valid (a password change).
Read with urllib, as a client that is not a browser would."""

import imaplib
import time
import urllib.error
import urllib.request

import pytest

from harness import ALICE, IO_TIMEOUT, insecure_tls, wait_until
from test_admin_api import login

LISTEN = {"admin": "127.0.0.1:0", "imaps": "127.0.0.1:0"}
# Seconds a stream may take to show a new line or to end (it polls the file
# every 0.25 s and checks the session every second).
STREAM_DEADLINE = 10


@pytest.fixture
def admin(make_server):
    server = make_server(listen=LISTEN)
    server.cli("user", "set", ALICE, "--role", "admin")
    return server


def open_tail(server, cookie, path="/api/v1/logs/security/tail", last_id=None):
    host, port = server.addr("admin")
    headers = {"Accept": "text/event-stream"}
    if cookie:
        headers["Cookie"] = cookie
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    req = urllib.request.Request(f"https://{host}:{port}{path}", headers=headers)
    return urllib.request.urlopen(req, context=insecure_tls(), timeout=IO_TIMEOUT)


def next_event(stream):
    """The next event as {event, data, id} (comments skipped), None at the end of the stream."""
    event = {}
    deadline = time.monotonic() + STREAM_DEADLINE
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            return None
        line = line.decode().rstrip("\r\n")
        if not line:
            if event:
                return event
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        event[field] = event.get(field, "") + value.removeprefix(" ")
    pytest.fail("no event before the deadline")


def fail_login(server, user):
    """A failed IMAPS login: one line `event=auth-failed … user=USER` in security.log."""
    imap = imaplib.IMAP4_SSL(*server.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login(user, "wrong-password")
    imap.logout()
    wait_until(lambda: f"user={user}" in server.log("security.log"), 10, what=f"{user}'s failure in security.log")


def test_tail_streams_new_lines_filters_and_resumes(admin):
    r, api = login(admin)
    fail_login(admin, "before@example.org")
    with open_tail(admin, api.cookie) as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"] == "text/event-stream"
        fail_login(admin, "first@example.org")
        fail_login(admin, "second@example.org")
        first, second = next_event(stream), next_event(stream)
    # Only what was written after the stream opened, in order.
    assert first["event"] == "line" and "event=auth-failed" in first["data"] and "user=first@example.org" in first["data"], first
    assert "user=second@example.org" in second["data"], second
    # The id is the offset just after the line in the file.
    log = (admin.data / "logs" / "security.log").read_bytes()
    assert log[:int(first["id"])].endswith(first["data"].encode() + b"\n")
    assert int(second["id"]) > int(first["id"])

    # Reconnecting after the first event gives the second again; a filter keeps only its lines.
    with open_tail(admin, api.cookie, last_id=first["id"]) as stream:
        assert next_event(stream) == second
    with open_tail(admin, api.cookie, "/api/v1/logs/security/tail?address=third@example.org") as stream:
        fail_login(admin, "other@example.org")
        fail_login(admin, "third@example.org")
        assert "user=third@example.org" in next_event(stream)["data"]


def test_tail_refuses_without_a_session_and_for_an_unknown_log(admin):
    r, api = login(admin)
    for cookie, path, status in ((None, "/api/v1/logs/security/tail", 401),
                                 (api.cookie, "/api/v1/logs/nothing/tail", 404),
                                 (api.cookie, "/api/v1/logs/mail/tail?bogus=1", 400)):
        with pytest.raises(urllib.error.HTTPError) as e:
            open_tail(admin, cookie, path)
        assert e.value.code == status, (path, e.value.code)


def test_tail_ends_on_logout(admin):
    r, api = login(admin)
    with open_tail(admin, api.cookie) as stream:
        fail_login(admin, "seen@example.org")
        assert "user=seen@example.org" in next_event(stream)["data"]
        assert api.request("DELETE", "/api/v1/session").status == 204
        end = next_event(stream)
        assert end == {"event": "end", "data": "the session ended (logged out or expired)"}, end
        assert next_event(stream) is None  # the server closed the stream


def test_tail_ends_when_the_password_changes(admin):
    # A session begun before a password change is no longer valid (as one past its expiry).
    r, api = login(admin)
    with open_tail(admin, api.cookie) as stream:
        admin.cli("user", "passwd", ALICE, "--password-stdin", input="Another-Password-77\n")
        end = next_event(stream)
        assert end["event"] == "end" and "session ended" in end["data"], end
        assert next_event(stream) is None


# The admin listener closes a connection with no new request for 60 s
# (crates/http/src/idle.rs IDLE_TIMEOUT); a live tail is not idle.
IDLE_TIMEOUT = 60


def test_a_quiet_tail_outlives_the_idle_timeout(admin):
    r, api = login(admin)
    with open_tail(admin, api.cookie) as stream:
        # Waiting past the timeout is what is tested, not a synchronisation.
        time.sleep(IDLE_TIMEOUT + 5)
        fail_login(admin, "late@example.org")
        event = next_event(stream)
        assert event is not None, "the stream was closed as idle"
        assert "user=late@example.org" in event["data"], event
