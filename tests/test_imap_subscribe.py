"""IMAP subscriptions (issue 3, RFC 3501 §6.3.6–6.3.9, RFC 5258): LSUB and
LIST (SUBSCRIBED) report exactly the subscribed names; a parent reached only
through a subscribed child is \\Noselect in LSUB %; a subscription outlives its
folder and may name one that does not exist. Raw sockets against the real binary."""

import pytest

from test_imap import IMAP_LISTEN
from test_imap_sync import ok, raw


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def listed(lines, cmd="LSUB"):
    """{name: attributes} of the untagged LIST/LSUB lines."""
    out = {}
    for l in lines[:-1]:
        if l.startswith(f"* {cmd} ("):
            attrs, rest = l[len(cmd) + 4 :].split(")", 1)
            out[rest.split(" ", 2)[2].strip('"')] = attrs
    return out


def test_lsub_lists_exactly_the_subscriptions(imap_server):
    r = raw(imap_server)
    for name in ["T", "T/a", "T/b/x", "T/c/c"]:
        ok(r.cmd("c", f"CREATE {name}"))
    for name in ["T/a", "T/b/x", "T/c/c"]:
        ok(r.cmd("s", f"SUBSCRIBE {name}"))
    got = listed(ok(r.cmd("l", 'LSUB "" T/%')))
    # RFC 3501 §6.3.9: unsubscribed parents reached through "%" are \Noselect.
    assert got == {"T/a": "\\HasNoChildren", "T/b": "\\Noselect", "T/c": "\\Noselect"}, got
    got = listed(ok(r.cmd("l", 'LSUB "" *')))
    assert {"T/a", "T/b/x", "T/c/c"} <= set(got) and "T" not in got and "T/b" not in got, got
    ok(r.cmd("u", "UNSUBSCRIBE T/c/c"))
    assert "T/c" not in listed(ok(r.cmd("l", 'LSUB "" T/%')))
    assert r.cmd("u2", "UNSUBSCRIBE T/c/c")[-1].startswith("u2 NO"), "not subscribed"


def test_create_does_not_subscribe_and_delete_keeps_the_subscription(imap_server):
    r = raw(imap_server)
    ok(r.cmd("c", "CREATE Old"))
    assert "Old" not in listed(ok(r.cmd("l", 'LSUB "" *')))
    ok(r.cmd("s", "SUBSCRIBE Old"))
    ok(r.cmd("d", "DELETE Old"))
    assert "Old" in listed(ok(r.cmd("l", 'LSUB "" *'))), "RFC 3501 §6.3.6"
    # A name with no folder may be subscribed; LIST (SUBSCRIBED) says \NonExistent.
    ok(r.cmd("s2", "SUBSCRIBE Future/Plans"))
    got = listed(ok(r.cmd("l", 'LIST (SUBSCRIBED) "" *')), "LIST")
    assert "\\NonExistent" in got["Old"] and "\\Subscribed" in got["Old"], got
    assert "\\NonExistent" in got["Future/Plans"], got
    assert "\\Subscribed" in got["INBOX"], "the default folders start subscribed"
    assert "Old" not in listed(ok(r.cmd("p", 'LIST "" *')), "LIST"), "plain LIST: folders only"


def test_list_subscribed_recursivematch_and_renames(imap_server):
    r = raw(imap_server)
    for name in ["P/a", "P/b", "Q/q"]:
        ok(r.cmd("c", f"CREATE {name}"))
    ok(r.cmd("s", "SUBSCRIBE P/a"))
    ok(r.cmd("s", "SUBSCRIBE Q/q"))
    lines = ok(r.cmd("l", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" %'))
    assert '* LIST (\\HasChildren) "/" "P" ("CHILDINFO" ("SUBSCRIBED"))' in lines, lines
    # RFC 5258 §3: no CHILDINFO for a parent whose chosen child matches the pattern itself.
    lines = ok(r.cmd("l", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" P*'))
    assert not any('"P"' in l for l in lines), lines
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" "P/a"' in lines, lines
    got = listed(ok(r.cmd("l", 'LIST "" P/% RETURN (SUBSCRIBED)')), "LIST")
    assert "\\Subscribed" in got["P/a"] and "\\Subscribed" not in got["P/b"], got
    # RENAME carries the subscriptions of the folder and its children.
    ok(r.cmd("r", "RENAME Q R"))
    got = listed(ok(r.cmd("l", 'LSUB "" *')))
    assert "R/q" in got and "Q/q" not in got, got
