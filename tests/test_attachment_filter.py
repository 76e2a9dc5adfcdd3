"""The attachment filter (issue 17 item 6): ordered rules in the database
(`postern attachment rule add|list|del`), the first matching rule wins, names
ignoring case and double extensions, names inside archives. A blocked
attachment is replaced by a text part (seen over IMAP) or the message refused
554 5.7.1 (`attachment.action = "reject"`); the running server picks up rule
changes without a restart; mail.log says `attachment=blocked:NAME` and
`postern spam stats` counts `attachment-blocked`."""

from __future__ import annotations

import email
import imaplib
import io
import smtplib
import zipfile
from email.message import EmailMessage

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, IO_TIMEOUT, insecure_tls, token, wait_until

IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}
MZ = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode."


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def message(tok: str, attachments: list[tuple[str, bytes, str]], sender: str = "a@outside.example", to: str = ALICE) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, f"test {tok}"
    m.set_content(f"token {tok}\n")
    for name, data, ctype in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes().replace(b"\n", b"\r\n")


def send(server, raw: bytes) -> None:
    with server.smtp() as s:
        s.sendmail("a@outside.example", [ALICE], raw)


def refusal(server, raw: bytes) -> tuple[int, str]:
    with server.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@outside.example", [ALICE], raw)
    return e.value.smtp_code, e.value.smtp_error.decode()


def imap_leaves(server, tok: str):
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT) as c:
        c.login(ALICE, ALICE_PASSWORD)
        c.select("INBOX", readonly=True)
        _, data = c.search(None, "SUBJECT", tok)
        if not data[0]:
            return None
        _, parts = c.fetch(data[0].split()[0], "(BODY.PEEK[])")
        msg = email.message_from_bytes(parts[0][1])
        return [(p.get_content_type(), p.get_filename(), p.get_payload(decode=True)) for p in msg.walk() if not p.is_multipart()]


def test_rule_commands_number_list_and_delete(make_server):
    server = make_server(start=False)
    assert server.cli("attachment", "rule", "add", "--name", "*.EXE", "--block").stdout == 'added attachment rule 1: --name "*.exe" --block\n'
    server.cli("attachment", "rule", "add", "--type", "image/*", "--allow")
    server.cli("attachment", "rule", "add", "--name", "*.js", "--block")
    server.cli("attachment", "rule", "del", "2")
    assert server.cli("attachment", "rule", "list").stdout == '1: --name "*.exe" --block\n2: --name "*.js" --block\n'
    bad = server.cli("attachment", "rule", "add", "--type", "exe", "--block", check=False)
    assert bad.returncode != 0 and "not a MIME type" in bad.stderr
    gone = server.cli("attachment", "rule", "del", "7", check=False)
    assert gone.returncode != 0 and "attachment rule 7" in gone.stderr


def test_exe_inside_a_zip_is_replaced_by_a_text_part(make_server):
    server = make_server(start=False)
    server.cli("attachment", "rule", "add", "--name", "*.exe", "--block")
    server.start(IMAP_LISTEN)
    tok = token()
    send(server, message(tok, [("photos.zip", zip_of({"readme.txt": b"hi", "setup.exe": MZ}), "application/zip"), ("notes.txt", b"kept", "text/plain")]))
    leaves = wait_until(lambda: imap_leaves(server, tok), what="the filtered message over IMAP")
    assert [(t, n) for t, n, _ in leaves] == [("text/plain", None), ("text/plain", None), ("text/plain", "notes.txt")]
    assert b"Blocked: setup.exe" in leaves[1][2]
    assert leaves[2][2] == b"kept"
    line = [l for l in server.log("mail.log").splitlines() if "event=accepted" in l][-1]
    assert "attachment=blocked:setup.exe" in line, line


def test_double_extension_refused_with_reject_and_first_rule_wins(make_server):
    server = make_server(start=False, config={"attachment.action": '"reject"'})
    server.cli("attachment", "rule", "add", "--name", "trusted.exe", "--allow")
    server.cli("attachment", "rule", "add", "--name", "*.exe", "--block")
    server.start()
    code, text = refusal(server, message(token(), [("invoice.pdf.exe", MZ, "application/octet-stream")]))
    assert (code, text) == (554, "5.7.1 Attachment blocked: invoice.pdf.exe")
    tok = token()
    send(server, message(tok, [("TRUSTED.EXE", MZ, "application/octet-stream")]))
    server.wait_for_message(ALICE, tok)
    assert "event=attachment-rejected" in server.log("security.log")


def test_the_running_server_picks_up_rule_changes(make_server):
    server = make_server()
    tok = token()
    send(server, message(tok, [("tool.exe", MZ, "application/octet-stream")]))
    assert "tool.exe" in server.wait_for_message(ALICE, tok)
    server.config_set("attachment.action", '"reject"')
    server.cli("attachment", "rule", "add", "--type", "application/octet-stream", "--block")

    def blocked():
        try:
            send(server, message(token(), [("tool.exe", MZ, "application/octet-stream")]))
        except smtplib.SMTPDataError as e:
            return (e.smtp_code, e.smtp_error.decode())
        return None

    assert wait_until(blocked, what="the new rule in force") == (554, "5.7.1 Attachment blocked: tool.exe")

    def counted():
        out = server.cli("spam", "stats").stdout
        return "attachment-blocked: 1\n" in out or None

    wait_until(counted, what="attachment-blocked counted")


def test_authenticated_sender_is_warned_and_the_admin_gets_a_copy(make_server):
    server = make_server(start=False, config={"attachment.warn_sender": "true", "attachment.notify_admin": f'"{BOB}"', "attachment.forward": '"original"'})
    server.cli("attachment", "rule", "add", "--name", "*.exe", "--block")
    server.start()
    tok = token()
    with server.submission() as s:
        s.sendmail(ALICE, [BOB], message(tok, [("setup.exe", MZ, "application/octet-stream")], sender=ALICE, to=BOB))
    warned = wait_until(lambda: [m for m in server.messages(ALICE) if "Attachment blocked: setup.exe" in m], what="the sender's warning")
    assert "Your message to bob@example.org contained an attachment this server does not accept: setup.exe" in warned[0]
    # Bob gets the filtered message and, as admin, the notice with the original.
    copies = wait_until(lambda: (lambda ms: ms if len(ms) == 2 else None)(server.find(BOB, tok)), what="bob's two messages")
    notice = [m for m in copies if "Subject: Attachment blocked: setup.exe" in m]
    assert len(notice) == 1 and 'filename="setup.exe"' in notice[0]

    # From outside (not authenticated): no warning goes back (no backscatter).
    before = len(server.messages(ALICE))
    tok2 = token()
    send(server, message(tok2, [("setup.exe", MZ, "application/octet-stream")]))
    server.wait_for_message(ALICE, tok2)
    assert "queued" not in server.cli("queue", "list").stdout
    assert len(server.messages(ALICE)) == before + 1
