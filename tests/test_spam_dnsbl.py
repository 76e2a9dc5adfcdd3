"""DNS blacklists and white/blacklists (issue 16 item 1, SPEC P1), end to
end on port 25 from 127.0.0.1 with the loopback DNS server answering the
lists: the client 127.0.0.1 is asked as 1.0.0.127.ZONE (RFC 5782 §2.1).
A DNSBL `block` refuses 554 5.7.1 naming the list at connect or RCPT,
`score` adds points (X-Spam-Status, mail.log), `log` only logs; the IP
whitelist exempts, the IP blacklist is refused; server-wide and per-user
sender blacklists and whitelists; URIBL-listed links scored or refused at
the end of DATA; a list that never answers costs a bounded time."""

from __future__ import annotations

import time

import pytest

from auth import dns  # noqa: F401  (the loopback DNS server fixture)
from harness import ALICE, BOB, Raw, header_values, make_message, token, wait_until

ZONE = "bl.example"
LISTED = "1.0.0.127." + ZONE
URI_ZONE = "uri.example"
SENDER = "someone@sender.example"


def lists_config(dns, dnsbl: str = "", uribl: str = "", **extra: str) -> dict[str, str]:
    config = {"dns.resolver": f'"{dns.address}"', "spam.dnsbl_timeout": '"2s"'}
    if dnsbl:
        config["spam.dnsbl"] = f"[{dnsbl}]"
    if uribl:
        config["spam.uribl"] = f"[{uribl}]"
    config.update(extra)
    return config


def listed(dns, name: str = LISTED, code: str = "127.0.0.2") -> None:
    dns.a(name, code)


def send(server, tok: str, sender: str = SENDER, to: str = ALICE, body: str = "Hello.\r\n", rcpt_code: int = 250):
    """One transaction; returns the reply to the end of data, or to RCPT when it is not 250."""
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo("client.test")
        c.expect(f"MAIL FROM:<{sender}>", 250)
        r = c.cmd(f"RCPT TO:<{to}>")
        if r.code != 250:
            assert r.code == rcpt_code, r
            return r
        c.expect("DATA", 354)
        raw = make_message(tok, sender, to, body)
        c.send(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        reply = c.reply()
        c.cmd("QUIT")
        return reply


def log_lines(server, name: str, *needles: str) -> list[str]:
    return [l for l in server.log(name).splitlines() if all(n in l for n in needles)]


def mail_line(server, tok_or_from: str) -> str:
    lines = [l for l in log_lines(server, "mail.log", tok_or_from) if "event=" in l]
    assert lines, server.log("mail.log")[-2000:]
    return lines[-1]


def in_folder(server, folder: str, tok: str) -> str:
    def found():
        hits = [m for m in server.messages(ALICE, folder) if tok in m]
        return hits[0] if hits else None

    return wait_until(found, what=f"{tok} in {folder}")


# ------------------------------------------------------------------ DNSBL


def test_listed_client_is_refused_at_rcpt_naming_the_list(dns, make_server):
    listed(dns)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "block"}}'))
    r = send(server, token(), rcpt_code=554)
    assert (r.code, r.lines[-1]) == (554, f"5.7.1 Client address 127.0.0.1 is listed by {ZONE}"), r
    assert log_lines(server, "security.log", "event=dnsbl-rejected", f"zone={ZONE}", "answer=127.0.0.2", f"to={ALICE}")
    assert log_lines(server, "mail.log", "event=refused", f"from={SENDER}", f"to={ALICE}", 'result="554 5.7.1"', f"dnsbl={ZONE}")
    assert (LISTED, "A") in dns.queries


def test_listed_client_is_refused_at_connect(dns, make_server):
    listed(dns)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "block", when = "connect"}}'))
    with Raw(server.addr("smtp")) as c:
        r = c.reply()
        assert (r.code, r.lines[-1]) == (554, f"5.7.1 Client address 127.0.0.1 is listed by {ZONE}"), r
        with pytest.raises(EOFError):
            c.line()
    assert log_lines(server, "security.log", "event=dnsbl-rejected", f"zone={ZONE}")
    assert log_lines(server, "mail.log", "event=refused", "client=127.0.0.1", 'result="554 5.7.1"', f"dnsbl={ZONE}")


def test_ipv6_client_is_asked_by_nibbles(dns, make_server):
    # RFC 5782 §2.4: ::1 is asked as 32 reversed nibbles under the zone.
    name = ".".join(["1"] + ["0"] * 31) + "." + ZONE
    listed(dns, name)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "block", when = "connect"}}'), listen={"smtp": "[::1]:0"})
    with Raw(server.addr("smtp")) as c:
        r = c.reply()
        assert (r.code, r.lines[-1]) == (554, f"5.7.1 Client address ::1 is listed by {ZONE}"), r
    assert (name, "A") in dns.queries


def test_txt_reason_is_given_and_cannot_inject_lines(dns, make_server):
    # RFC 5782 §2.1: the TXT record at the same name says why. A hostile
    # list's CR LF must not become a reply line of ours.
    listed(dns)
    dns.txt(LISTED, "Listed\r\n250 2.1.5 OK, see https://bl.example/q?1.0.0.127")
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "block"}}'))
    r = send(server, token(), rcpt_code=554)
    assert r.raw == [f"554 5.7.1 Client address 127.0.0.1 is listed by {ZONE}: Listed 250 2.1.5 OK, see https://bl.example/q?1.0.0.127"], r


def test_unlisted_client_and_other_codes_are_accepted(dns, make_server):
    # Listed with 127.0.0.9, but the list only counts 127.0.0.2; the other
    # list has no entry at all (NXDOMAIN).
    listed(dns, code="127.0.0.9")
    lists = f'{{zone = "{ZONE}", action = "block", returns = ["127.0.0.2"]}}, {{zone = "clean.example", action = "block"}}'
    server = make_server(config=lists_config(dns, lists))
    tok = token()
    assert send(server, tok).code == 250
    server.wait_for_message(ALICE, tok)
    assert not log_lines(server, "security.log", "event=dnsbl-")


def test_score_action_adds_points(dns, make_server):
    listed(dns)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "score", score = 6.0}}'))
    tok = token()
    assert send(server, tok).code == 250
    stored = in_folder(server, "Junk", tok)
    status = " ".join(header_values(stored, "X-Spam-Status"))
    assert f"DNSBL_{ZONE}" in status, status
    line = mail_line(server, f"from={SENDER}")
    assert f"dnsbl={ZONE}" in line and f"DNSBL_{ZONE}=+6.00" in line, line
    assert log_lines(server, "security.log", "event=dnsbl-listed", f"zone={ZONE}", "action=score")


def test_log_action_only_logs(dns, make_server):
    listed(dns)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "log"}}'))
    tok = token()
    assert send(server, tok).code == 250
    stored = server.wait_for_message(ALICE, tok)
    assert not header_values(stored, "X-Spam-Flag")
    line = mail_line(server, f"from={SENDER}")
    assert f"dnsbl={ZONE}" in line and "DNSBL_" not in line, line
    assert log_lines(server, "security.log", "event=dnsbl-listed", f"zone={ZONE}", "action=log")


def test_silent_dnsbl_costs_bounded_time(dns, make_server):
    dns.silent(LISTED)
    config = lists_config(dns, f'{{zone = "{ZONE}", action = "block"}}', **{"spam.dnsbl_timeout": '"1s"'})
    server = make_server(config=config)
    tok = token()
    started = time.monotonic()
    assert send(server, tok).code == 250
    took = time.monotonic() - started
    assert took < 3, took
    server.wait_for_message(ALICE, tok)
    assert log_lines(server, "security.log", "event=dnsbl-unanswered", f"zone={ZONE}")


def test_silent_dnsbl_at_connect_still_greets_in_bounded_time(dns, make_server):
    dns.silent(LISTED)
    lists = f'{{zone = "{ZONE}", action = "block", when = "connect"}}'
    server = make_server(config=lists_config(dns, lists, **{"spam.dnsbl_timeout": '"1s"'}))
    started = time.monotonic()
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        took = time.monotonic() - started
    assert 0.9 < took < 3, took
    wait_until(lambda: log_lines(server, "security.log", "event=dnsbl-unanswered", f"zone={ZONE}"))


# ------------------------------------------------------------------ IP groups


def test_ip_whitelist_exempts_from_dnsbl(dns, make_server):
    listed(dns)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "block"}}', **{"spam.ip_whitelist": '"friends"'}), start=False)
    server.cli("ipgroup", "add", "friends", "127.0.0.1")
    server.start()
    tok = token()
    assert send(server, tok).code == 250
    server.wait_for_message(ALICE, tok)
    assert (LISTED, "A") not in dns.queries


def test_ip_blacklist_is_refused_at_connect(dns, make_server):
    server = make_server(config=lists_config(dns, **{"spam.ip_blacklist": '"enemies"'}), start=False)
    server.cli("ipgroup", "add", "enemies", "127.0.0.0/8")
    server.start()
    with Raw(server.addr("smtp")) as c:
        r = c.reply()
        assert (r.code, r.lines[-1]) == (554, "5.7.1 Client address 127.0.0.1 is blacklisted"), r
    assert log_lines(server, "security.log", "event=ip-blacklisted", "group=enemies")
    assert log_lines(server, "mail.log", "event=refused", "client=127.0.0.1", 'result="554 5.7.1"')


# ------------------------------------------------------------------ sender lists


def test_sender_list_cli(make_server):
    server = make_server(start=False)
    assert server.cli("spam", "blacklist", "add", "Spammer@Bad.example").stdout.strip() == "blacklist added spammer@bad.example"
    server.cli("spam", "whitelist", "add", "@friends.example", "--user", ALICE)
    assert server.cli("spam", "blacklist", "list").stdout == "spammer@bad.example\n"
    assert server.cli("spam", "whitelist", "list").stdout == ""
    assert server.cli("spam", "whitelist", "list", "--user", ALICE).stdout == "@friends.example\n"
    assert server.cli("spam", "blacklist", "add", "spammer@bad.example", check=False).returncode != 0
    assert server.cli("spam", "whitelist", "add", "no-at-sign", check=False).returncode != 0
    assert server.cli("spam", "whitelist", "add", "x@y.example", "--user", "nobody@example.org", check=False).returncode != 0
    server.cli("spam", "blacklist", "del", "spammer@bad.example")
    assert server.cli("spam", "blacklist", "list").stdout == ""


def test_server_wide_sender_blacklist_refuses_at_mail_from(dns, make_server):
    server = make_server(config=lists_config(dns))
    server.cli("spam", "blacklist", "add", "@bad.example")
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo("client.test")
        r = c.expect("MAIL FROM:<anyone@BAD.example>", 554, "5.7.1")
        assert "blacklisted" in r.text, r
        c.expect("MAIL FROM:<someone@good.example>", 250)
    assert log_lines(server, "security.log", "event=sender-blacklisted", "scope=server")
    assert log_lines(server, "mail.log", "event=refused", "from=anyone@BAD.example", 'result="554 5.7.1"')


def test_user_blacklist_refuses_that_recipient_only(dns, make_server):
    server = make_server(config=lists_config(dns))
    server.cli("spam", "blacklist", "add", SENDER, "--user", ALICE)
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo("client.test")
        c.expect(f"MAIL FROM:<{SENDER}>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 550, "5.7.1")
        c.expect(f"RCPT TO:<{BOB}>", 250)
    assert log_lines(server, "security.log", "event=sender-blacklisted", "scope=user", f"to={ALICE}")
    assert log_lines(server, "mail.log", "event=refused", f"to={ALICE}", 'result="550 5.7.1"')


def test_refusals_by_the_lists_are_counted_for_the_console(dns, make_server):
    # Issue 16 item 8: blacklisted and DNSBL-blocked counts in `spam stats`.
    listed(dns)
    server = make_server(config=lists_config(dns, f'{{zone = "{ZONE}", action = "block"}}'))
    server.cli("spam", "blacklist", "add", "@bad.example")
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo("client.test")
        c.expect("MAIL FROM:<anyone@bad.example>", 554, "5.7.1")
        c.expect(f"MAIL FROM:<{SENDER}>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 554, "5.7.1")
        c.expect(f"RCPT TO:<{BOB}>", 554, "5.7.1")

    def counts():
        out = server.cli("spam", "stats").stdout
        s = dict(line.split(": ", 1) for line in out.splitlines())
        return (s.get("blacklisted"), s.get("dnsbl-blocked"))

    # Counted in memory, written every 5 s (and at shutdown).
    wait_until(lambda: counts() == ("1", "2"), 15, what="blacklisted 1, dnsbl-blocked 2 in spam stats")


def test_whitelisted_sender_passes_dnsbl_block_and_is_not_scored(dns, make_server):
    listed(dns)
    lists = f'{{zone = "{ZONE}", action = "block"}}, {{zone = "score.example", action = "score", score = 9.0}}'
    listed(dns, "1.0.0.127.score.example")
    server = make_server(config=lists_config(dns, lists))
    server.cli("spam", "whitelist", "add", "friend@good.example")
    server.cli("spam", "whitelist", "add", "@pal.example", "--user", BOB)
    tok = token()
    assert send(server, tok, sender="friend@good.example").code == 250
    stored = server.wait_for_message(ALICE, tok)
    assert not header_values(stored, "X-Spam-Flag")
    assert log_lines(server, "security.log", "event=dnsbl-exempt", "reason=\"sender whitelisted\"")
    line = mail_line(server, "from=friend@good.example")
    assert "whitelisted=yes" in line and "spam=" not in line, line
    # Bob's own whitelist lets the sender reach Bob, not Alice.
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo("client.test")
        c.expect("MAIL FROM:<x@pal.example>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 554, "5.7.1")
        c.expect(f"RCPT TO:<{BOB}>", 250)


def test_whitelist_does_not_apply_when_spf_fails(dns, make_server):
    listed(dns)
    dns.txt("forged.example", "v=spf1 ip4:192.0.2.1 -all")
    config = lists_config(dns, f'{{zone = "{ZONE}", action = "block"}}', **{"auth.spf": "true"})
    server = make_server(config=config)
    server.cli("spam", "whitelist", "add", "@forged.example")
    r = send(server, token(), sender="ceo@forged.example", rcpt_code=554)
    assert r.code == 554 and ZONE in r.text, r


# ------------------------------------------------------------------ URIBL

LINK_BODY = 'See <a href="http://www.spammy.example/offer">this</a>.\r\n'


def test_uribl_listed_link_is_scored(dns, make_server):
    listed(dns, f"spammy.example.{URI_ZONE}")
    server = make_server(config=lists_config(dns, uribl=f'{{zone = "{URI_ZONE}", action = "score", score = 6.0}}'))
    tok = token()
    assert send(server, tok, body=LINK_BODY).code == 250
    stored = in_folder(server, "Junk", tok)
    assert f"URIBL_{URI_ZONE}" in " ".join(header_values(stored, "X-Spam-Status"))
    line = mail_line(server, f"from={SENDER}")
    assert f"uribl={URI_ZONE}" in line and f"URIBL_{URI_ZONE}=+6.00" in line, line
    assert log_lines(server, "security.log", "event=uribl-listed", "domain=spammy.example")


def test_uribl_block_refuses_at_end_of_data(dns, make_server):
    listed(dns, f"spammy.example.{URI_ZONE}")
    server = make_server(config=lists_config(dns, uribl=f'{{zone = "{URI_ZONE}", action = "block"}}'))
    tok = token()
    r = send(server, tok, body=LINK_BODY)
    assert (r.code, r.lines[-1]) == (554, f"5.7.1 Message links to spammy.example listed by {URI_ZONE}"), r
    assert log_lines(server, "security.log", "event=uribl-rejected", f"from={SENDER}")
    # Nothing stored; an unlisted link goes through.
    tok2 = token()
    assert send(server, tok2, body="http://fine.example/\r\n").code == 250
    server.wait_for_message(ALICE, tok2)
    assert not server.find(ALICE, tok)


def test_spam_check_asks_the_lists_unless_offline(dns, make_server, tmp_path):
    # URIBL for the link; DNSBL for the client the Received field names
    # (5.2.0.192.ZONE for 192.0.2.5), the loopback hop above it skipped.
    listed(dns, f"spammy.example.{URI_ZONE}")
    listed(dns, f"5.2.0.192.{ZONE}")
    config = lists_config(dns, f'{{zone = "{ZONE}", action = "score", score = 2.0}}', f'{{zone = "{URI_ZONE}", action = "score", score = 6.0}}')
    server = make_server(config=config, start=False)
    msg = tmp_path / "m.eml"
    received = "Received: from localhost ([127.0.0.1]) by mx.example.org\r\nReceived: from relay.test (relay.test [192.0.2.5]) by mx2.example.org\r\n"
    msg.write_bytes(received.encode() + make_message(token(), SENDER, ALICE, LINK_BODY))
    online = server.cli("spam", "check", str(msg)).stdout
    assert f"URIBL_{URI_ZONE}=+6.00" in online and f"DNSBL_{ZONE}=+2.00" in online and "\tspam\t" in online, online
    offline = server.cli("spam", "check", "--offline", str(msg)).stdout
    assert "URIBL_" not in offline and "DNSBL_" not in offline, offline
