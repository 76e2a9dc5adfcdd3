"""Attacks on the framing of the SMTP stream: SMTP smuggling (only CRLF.CRLF
ends the data) and STARTTLS command injection (CVE-2011-0411 style)."""

import pytest

from harness import ALICE, BOB, make_message, token

# End-of-data look-alikes that some servers honour and others do not; a message
# carrying one could smuggle a second, forged message past the first server.
FAKE_ENDS = {
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "crlf-dot-cr": b"\r\n.\r",
    "cr-dot-crlf": b"\r.\r\n",
}


def read_replies_until_eof(r):
    replies = []
    while True:
        try:
            replies.append(r.reply())
        except EOFError:
            return replies


@pytest.mark.parametrize("fake_end", FAKE_ENDS.values(), ids=FAKE_ENDS.keys())
def test_smuggled_message_stays_inside_the_first(server, fake_end):
    outer, inner = token(), token()
    smuggled = (
        b"MAIL FROM:<ceo@example.org>\r\n"
        + f"RCPT TO:<{BOB}>\r\n".encode()
        + b"DATA\r\n"
        + f"From: <ceo@example.org>\r\nSubject: smuggled {inner}\r\n\r\nsmuggled body {inner}\r\n".encode()
    )
    body = b"first part\r\nlast line before the trick" + fake_end + smuggled
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@example.net>", 250)
        r.expect(f"RCPT TO:<{ALICE}>", 250)
        r.expect("DATA", 354)
        # The real end of data, then QUIT, all in one write.
        r.send(make_message(outer, body=body) + b".\r\nQUIT\r\n")
        replies = read_replies_until_eof(r)
    codes = [x.code for x in replies]
    assert codes == [250, 221], f"the server answered the smuggled commands: {replies}"
    msg = server.wait_for_message(ALICE, outer)
    assert f"smuggled body {inner}" in msg, "the smuggled text is not in the delivered message"
    assert server.find(BOB, inner) == [], "a smuggled message was delivered to bob"
    assert len(server.find(ALICE, inner)) == 1


@pytest.mark.parametrize("port", ["smtp", "submission"])
def test_commands_pipelined_after_starttls_are_discarded(server, port):
    with server.raw(port) as r:
        r.ehlo()
        # An attacker in the middle appends a command to the client's STARTTLS.
        r.send(b"STARTTLS\r\nEHLO injected.test\r\n")
        reply = r.reply()
        assert reply.code == 220, reply
        assert r.buf == b"", f"plain-text bytes after the STARTTLS reply: {r.buf!r}"
        r.wrap()
        # The client has said nothing inside TLS yet; the server must not answer anything.
        stray = r.silent_for(1.0)
        assert stray == b"", f"server answered the injected command: {stray!r}"
        ehlo = r.ehlo()
        assert ehlo.code == 250
        noop = r.cmd("NOOP")
        assert noop.code == 250 and len(noop.raw) == 1, f"replies out of step after STARTTLS: {noop}"
