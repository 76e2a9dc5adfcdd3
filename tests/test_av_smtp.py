"""The antivirus stage at the end of DATA/BDAT (issue 17 items 4, 5, 9):
EICAR as a plain body, as a base64 attachment, in a zip, in a zip in a zip
and gzip'd is refused `554 5.7.1 Virus found: Eicar-Test-Signature` and
nothing is stored; `av.action = "discard"` answers 250 and stores nothing;
`"replace"` delivers the message with the infected part replaced by a text
warning, seen over IMAP; an encrypted zip is delivered with an
X-Postern-Virus-Scan header, or refused with `av.unscannable = "infected"`.
Each verdict is in mail.log (`virus=NAME`) and counted (`postern spam stats`)."""

from __future__ import annotations

import email
import gzip
import imaplib
import io
import smtplib
import zipfile
from email.message import EmailMessage

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, header_values, insecure_tls, make_message, token, wait_until

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
NAME = "Eicar-Test-Signature"
REFUSAL = f"Virus found: {NAME}"
IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def eicar_file() -> bytes:
    # Trailing blanks: deflate then compresses it, so only unpacking finds it.
    return EICAR + b" " * 200


def encrypted_zip() -> bytes:
    # Python cannot write an encrypted zip: set the "encrypted" flag bit
    # (APPNOTE 4.4.4) in the local and central headers of a stored one.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("secret.txt", b"data")
    data = bytearray(buf.getvalue())
    for magic, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.find(magic) + at] |= 1
    return bytes(data)


def with_attachment(tok: str, sender: str, filename: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, ALICE, f"test {tok}"
    m.set_content(f"token {tok}\nsee the attachment\n")
    main, sub = ctype.split("/")
    m.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return m.as_bytes().replace(b"\n", b"\r\n")


def infected_messages(tok: str, sender: str) -> dict[str, bytes]:
    return {
        "plain body": make_message(tok, sender, ALICE, EICAR + b"\r\n"),
        "base64 attachment": with_attachment(tok, sender, "eicar.com", EICAR),
        "zip": with_attachment(tok, sender, "a.zip", zip_of({"eicar.com": eicar_file()}), "application/zip"),
        "zip in a zip": with_attachment(
            tok, sender, "outer.zip", zip_of({"inner.zip": zip_of({"eicar.com": eicar_file()})}), "application/zip"
        ),
        "gzip": with_attachment(tok, sender, "eicar.com.gz", gzip.compress(eicar_file()), "application/gzip"),
    }


def stats(server) -> dict[str, int]:
    out = server.cli("spam", "stats").stdout
    pairs = (line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return {k: int(v) for k, v in pairs if v.isdigit()}


def imap_fetch(server, tok: str, user: str = ALICE, password: str = ALICE_PASSWORD) -> list[bytes]:
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT) as c:
        c.login(user, password)
        c.select("INBOX", readonly=True)
        _, data = c.search(None, "SUBJECT", tok)
        out = []
        for n in data[0].split():
            _, parts = c.fetch(n, "(BODY.PEEK[])")
            out.append(parts[0][1])
        return out


def test_eicar_in_every_form_is_refused_554(make_server):
    server = make_server()
    sender = f"{token()}@outside.example"
    tok = token()
    for form, raw in infected_messages(tok, sender).items():
        with server.smtp() as s:
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail(sender, [ALICE], raw)
        assert (e.value.smtp_code, e.value.smtp_error.decode()) == (554, f"5.7.1 {REFUSAL}"), form
    assert server.find(ALICE, tok) == []
    lines = [l for l in server.log("mail.log").splitlines() if f"from={sender}" in l]
    assert len(lines) == 5 and all("event=refused" in l and f"virus={NAME}" in l for l in lines), lines
    assert "event=virus-rejected" in server.log("security.log")
    wait_until(lambda: stats(server).get("virus-found") == 5, what="virus-found counted 5 times")


def test_clean_mail_and_disabled_scanning_deliver_and_forged_warnings_go(make_server):
    server = make_server(config={"av.enabled": "false"})
    tok = token()
    with server.smtp() as s:
        s.sendmail("a@outside.example", [ALICE], make_message(tok, "a@outside.example", ALICE, EICAR + b"\r\n"))
    server.wait_for_message(ALICE, tok)
    server.config_set("av.enabled", "true")
    server.stop()
    server.start()
    clean = token()
    with server.smtp() as s:
        forged = b"X-Postern-Virus-Scan: clean (forged)\r\n" + with_attachment(clean, "a@outside.example", "a.zip", zip_of({"a.txt": b"hi"}))
        s.sendmail("a@outside.example", [ALICE], forged)
    stored = server.wait_for_message(ALICE, clean)
    assert header_values(stored, "X-Postern-Virus-Scan") == [], "only the server's own warning may be seen"
    assert header_values(stored, "Subject") == [f"test {clean}"]


def test_discard_answers_250_and_keeps_nothing(make_server):
    server = make_server(config={"av.action": '"discard"'})
    tok, sender = token(), f"{token()}@outside.example"
    with server.smtp() as s:
        assert s.sendmail(sender, [ALICE], infected_messages(tok, sender)["zip"]) == {}
    line = wait_until(lambda: [l for l in server.log("mail.log").splitlines() if f"from={sender}" in l], what="mail.log line")[0]
    assert "event=discarded" in line and f"virus={NAME}" in line, line
    assert server.find(ALICE, tok) == []


def test_replace_delivers_the_warning_in_place_of_the_part(make_server):
    server = make_server(config={"av.action": '"replace"'}, listen=IMAP_LISTEN)
    tok, sender = token(), f"{token()}@outside.example"
    raw = with_attachment(tok, sender, "outer.zip", zip_of({"inner.zip": zip_of({"eicar.com": eicar_file()})}), "application/zip")
    with server.smtp() as s:
        s.sendmail(sender, [ALICE], raw)
    fetched = wait_until(lambda: imap_fetch(server, tok), what="the replaced message over IMAP")
    assert len(fetched) == 1
    msg = email.message_from_bytes(fetched[0])
    assert msg["Subject"] == f"test {tok}" and msg["From"] == sender
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in leaves] == ["text/plain", "text/plain"]
    assert f"token {tok}" in leaves[0].get_payload(decode=True).decode()
    warning = leaves[1].get_payload(decode=True).decode()
    assert f"Virus found: {NAME} in outer.zip > inner.zip > eicar.com" in warning, warning
    assert b"EICAR" not in fetched[0] and b"outer.zip" not in fetched[0].split(b"\r\n\r\n", 1)[1].split(b"Virus found")[0]


def test_replace_of_a_plain_body(make_server):
    server = make_server(config={"av.action": '"replace"'})
    tok, sender = token(), f"{token()}@outside.example"
    with server.smtp() as s:
        s.sendmail(sender, [ALICE], make_message(tok, sender, ALICE, EICAR + b"\r\n"))
    stored = server.wait_for_message(ALICE, tok)
    assert "EICAR" not in stored and f"Virus found: {NAME}" in stored
    assert header_values(stored, "Subject") == [f"test {tok}"]


def test_encrypted_zip_is_delivered_with_a_warning_or_refused(make_server):
    server = make_server()
    tok, sender = token(), f"{token()}@outside.example"
    with server.smtp() as s:
        s.sendmail(sender, [ALICE], with_attachment(tok, sender, "secret.zip", encrypted_zip(), "application/zip"))
    stored = server.wait_for_message(ALICE, tok)
    assert header_values(stored, "X-Postern-Virus-Scan") == ["unscannable (encrypted archive)"]
    line = [l for l in server.log("mail.log").splitlines() if f"from={sender}" in l][-1]
    assert "event=accepted" in line and "unscannable=" in line, line

    server.config_set("av.unscannable", '"infected"')
    server.stop()
    server.start()
    tok2 = token()
    with server.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail(sender, [ALICE], with_attachment(tok2, sender, "secret.zip", encrypted_zip(), "application/zip"))
    assert (e.value.smtp_code, e.value.smtp_error.decode()) == (554, "5.7.1 Virus found: Unscannable (encrypted archive)")
    wait_until(lambda: stats(server).get("av-unscannable") == 2, what="av-unscannable counted twice")


def test_quarantine_list_release_delete(make_server):
    server = make_server(config={"av.quarantine": "true"}, listen=IMAP_LISTEN)
    sender = f"{token()}@outside.example"
    toks = [token(), token()]
    for tok in toks:
        with server.smtp() as s:
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail(sender, [ALICE], infected_messages(tok, sender)["zip"])
        assert e.value.smtp_code == 554
    listed = server.cli("av", "quarantine", "list").stdout.splitlines()
    assert len(listed) == 2, listed
    rows = [l.split("\t") for l in listed]
    assert [(r[3], r[4], r[5]) for r in rows] == [(sender, ALICE, NAME)] * 2
    first, second = rows[0][0], rows[1][0]
    line = [l for l in server.log("mail.log").splitlines() if f"from={sender}" in l][0]
    assert f"quarantine={first}" in line, line
    # Nothing delivered while quarantined.
    assert server.find(ALICE, toks[0]) == []

    out = server.cli("av", "quarantine", "release", first).stdout
    assert out.startswith(f"released {first}: queued as "), out
    fetched = wait_until(lambda: imap_fetch(server, toks[0]), what="the released message over IMAP")
    msg = email.message_from_bytes(fetched[0])
    [zipped] = [p for p in msg.walk() if p.get_filename() == "a.zip"]
    with zipfile.ZipFile(io.BytesIO(zipped.get_payload(decode=True))) as z:
        assert z.read("eicar.com").startswith(EICAR), "released as received"

    assert server.cli("av", "quarantine", "delete", second).stdout == f"deleted {second}\n"
    assert server.cli("av", "quarantine", "list").stdout == ""
    gone = server.cli("av", "quarantine", "release", second, check=False)
    assert gone.returncode != 0 and f"quarantined message {second}" in gone.stderr


@pytest.mark.parametrize("forward", ["original", "filtered"])
def test_admin_is_notified_with_the_message_attached(make_server, forward):
    action = "reject" if forward == "original" else "replace"
    server = make_server(config={"av.notify_admin": f'"{BOB}"', "av.forward": f'"{forward}"', "av.action": f'"{action}"'}, listen=IMAP_LISTEN)
    tok, sender = token(), f"{token()}@outside.example"
    with server.smtp() as s:
        try:
            s.sendmail(sender, [ALICE], infected_messages(tok, sender)["zip"])
        except smtplib.SMTPDataError as e:
            assert (e.smtp_code, action) == (554, "reject")
    # The notice's Subject names the virus; the attached message carries tok.
    fetched = wait_until(lambda: imap_fetch(server, NAME, BOB, BOB_PASSWORD), what="the notice in the admin's INBOX")
    notice = email.message_from_bytes(fetched[0])
    assert notice["Subject"] == f"Virus found: {NAME}" and notice["Auto-Submitted"] == "auto-generated"
    text = notice.get_payload()[0].get_payload(decode=True).decode()
    assert f"From: {sender}" in text and f"To: {ALICE}" in text, text
    [attached] = [p for p in notice.walk() if p.get_content_type() == "message/rfc822"]
    inner = attached.get_payload()[0]
    assert inner["Subject"] == f"test {tok}"
    names = [p.get_filename() for p in inner.walk()]
    if forward == "original":
        assert "a.zip" in names
    else:
        assert "a.zip" not in names and f"Virus found: {NAME}" in inner.as_string()


def test_bdat_is_scanned_like_data(make_server):
    server = make_server()
    tok = token()
    raw = with_attachment(tok, "a@outside.example", "a.zip", zip_of({"eicar.com": eicar_file()}), "application/zip")
    half = len(raw) // 2
    with server.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@outside.example>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 250)
        c.send(f"BDAT {half}\r\n".encode() + raw[:half])
        assert c.reply().code == 250
        c.send(f"BDAT {len(raw) - half} LAST\r\n".encode() + raw[half:])
        r = c.reply()
    assert (r.code, r.text) == (554, f"5.7.1 {REFUSAL}")
    assert server.find(ALICE, tok) == []


def test_quarantine_is_encrypted_at_rest_when_the_store_is(make_server, tmp_path, monkeypatch):
    server = make_server(start=False, config={"av.quarantine": "true"})
    passphrase = "correct horse battery staple"
    server.cli("encryption", "enable", input=passphrase + "\n")
    secret = tmp_path / "passphrase"
    secret.write_text(passphrase + "\n")
    secret.chmod(0o600)
    monkeypatch.setenv("POSTERN_PASSPHRASE_FILE", str(secret))
    server.start()
    tok, sender = token(), f"{token()}@outside.example"
    marker = ("mk" + token()).encode()
    raw = with_attachment(tok, sender, "a.zip", zip_of({"eicar.com": eicar_file(), "note.txt": marker}), "application/zip")
    raw = raw.replace(b"see the attachment", b"see the attachment " + marker)
    with server.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError):
            s.sendmail(sender, [ALICE], raw)
    [row] = server.cli("av", "quarantine", "list").stdout.splitlines()
    hits = [str(p) for p in server.data.rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert hits == [], "the quarantined message is on disk in the clear"
    server.cli("av", "quarantine", "release", row.split("\t")[0])
    assert marker.decode() in server.wait_for_message(ALICE, tok)
