"""`postern av scan|update|status` (issue 17 items 1, 2, 7, 8): the integrated
engine finds EICAR with no database, decoded from MIME and unpacked from zip
and gzip; ClamAV-format databases (.hdb, .ndb, a generated .cvd) install from a
directory or an http mirror, all or nothing; `status` shows them."""

import base64
import gzip
import hashlib
import http.server
import io
import tarfile
import threading
import time
import zipfile
from email.message import EmailMessage

from harness import Postern, wait_until

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
FOUND = "Eicar-Test-Signature FOUND"


def zip_of(files: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def eicar_file() -> bytes:
    # Trailing blanks: deflate then compresses it, so the zip holding it does
    # not carry the string itself and only unpacking finds it.
    return EICAR + b" " * 200


def cvd(version: int, stime: int, files: dict[str, bytes]) -> bytes:
    """A ClamAV container: the 512-byte header, then the gzip'd tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    body = buf.getvalue()
    sigs = sum(len([l for l in d.splitlines() if l]) for d in files.values())
    md5 = hashlib.md5(body).hexdigest()
    head = f"ClamAV-VDB:07 Dec 2026 10-00 +0000:{version}:{sigs}:90:{md5}:nosig:test:{stime}"
    return head.ljust(512).encode() + body


def eml_with(attachment: bytes, filename: str, ctype=("application", "octet-stream")) -> bytes:
    m = EmailMessage()
    m["From"] = "a@example.net"
    m["To"] = "alice@example.org"
    m["Subject"] = "files"
    m.set_content("See attached.\n")
    m.add_attachment(attachment, maintype=ctype[0], subtype=ctype[1], filename=filename)
    return m.as_bytes()


def fresh(tmp_path) -> Postern:
    p = Postern(tmp_path / "p")
    p.workdir.mkdir()
    p.init()
    return p


def scan(p: Postern, *paths):
    r = p.cli("av", "scan", *[str(x) for x in paths], check=False)
    return r.returncode, r.stdout.splitlines(), r.stderr


def test_eicar_found_plain_in_mime_in_zip_in_zip_and_gzipped(tmp_path):
    p = fresh(tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    (files / "a-eicar.com").write_bytes(EICAR)
    msg = eml_with(EICAR, "eicar.com")
    assert EICAR not in msg, "the attachment is base64"
    (files / "b-attached.eml").write_bytes(msg)
    (files / "c-nested.zip").write_bytes(zip_of({"inner.zip": zip_of({"x/eicar.com": eicar_file()})}))
    (files / "d-eicar.gz").write_bytes(gzip.compress(eicar_file()))
    zipped_in_mail = eml_with(zip_of({"eicar.com": eicar_file()}), "invoice.zip", ("application", "zip"))
    (files / "e-zip-in-mail.eml").write_bytes(zipped_in_mail)
    (files / "f-clean.txt").write_bytes(b"nothing to see\n")
    (files / "g-loop").symlink_to(files)  # not followed inside a directory

    code, lines, err = scan(p, files)
    assert lines == [
        f"{files}/a-eicar.com: {FOUND}",
        f"{files}/b-attached.eml: {FOUND}",
        f"{files}/c-nested.zip: {FOUND}",
        f"{files}/d-eicar.gz: {FOUND}",
        f"{files}/e-zip-in-mail.eml: {FOUND}",
        f"{files}/f-clean.txt: OK",
    ]
    assert code == 1 and err == "postern: 5 of 6 files infected\n", (code, err)

    code, lines, err = scan(p, files / "f-clean.txt")
    assert (code, lines, err) == (0, [f"{files}/f-clean.txt: OK"], "")


def test_unscannable_archives_and_the_setting(tmp_path):
    p = fresh(tmp_path)
    # Python cannot write an encrypted zip: set the "encrypted" flag bit
    # (APPNOTE 4.4.4) in the local and central headers of a stored one.
    z = bytearray(zip_of({"secret.txt": b"data"}, zipfile.ZIP_STORED))
    for magic, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = z.find(magic)
        z[i + at] |= 1
    (tmp_path / "enc.zip").write_bytes(bytes(z))
    whole = zip_of({"a.txt": b"a" * 5000})
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "many.zip").write_bytes(zip_of({f"f{i}.txt": b"x" for i in range(10_000)}))

    code, lines, err = scan(p, tmp_path / "enc.zip", tmp_path / "cut.zip", tmp_path / "many.zip")
    assert lines[0] == f"{tmp_path}/enc.zip: UNSCANNABLE encrypted archive"
    assert lines[1].startswith(f"{tmp_path}/cut.zip: UNSCANNABLE corrupt archive ("), lines
    assert lines[2] == f"{tmp_path}/many.zip: UNSCANNABLE too many files (av.max_files)"
    assert code == 0, "delivered with a warning by default"

    p.config_set("av.unscannable", "infected")
    code, lines, err = scan(p, tmp_path / "enc.zip")
    assert code == 1 and err == "postern: 1 of 1 files infected\n"

    p.config_set("av.max_files", "20000")
    code, lines, _ = scan(p, tmp_path / "many.zip")
    assert lines == [f"{tmp_path}/many.zip: OK"]


HELLO_HDB = b"5d41402abc4b2a76b9719d911017c592:5:Local.Hello.Hash\n"
# A body signature with a gap, alternatives and a wildcard byte.
BODY_NDB = b"# local\nLocal.Body.Pattern:0:*:6576696c{2-4}(7061|7071)??6f6164\n"
CVD_HSB = hashlib.sha256(b"from the cvd").hexdigest().encode() + b":*:Cvd.Sha256.Any.Size\n"


def test_update_from_directory_then_status_and_detection(tmp_path):
    p = fresh(tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    (src / "local.hdb").write_bytes(HELLO_HDB)
    (src / "local.ndb").write_bytes(BODY_NDB)
    stime = int(time.time()) - 3 * 86400 - 3600
    (src / "daily.cvd").write_bytes(cvd(27000, stime, {"daily.hsb": CVD_HSB, "daily.ldb": b"ignored;x\n"}))
    (src / "notes.txt").write_text("not a database")

    out = p.cli("av", "update", "--from", str(src)).stdout.splitlines()
    assert out[-1] == "signatures: 4", out
    assert any(l.startswith("installed daily.cvd: version 27000, 1 signatures, built ") for l in out), out

    status = p.cli("av", "status").stdout.splitlines()
    assert status[:2] == ["engine: postern 0.1.0", "builtin: Eicar-Test-Signature"]
    daily = [l for l in status if l.startswith("daily.cvd:")][0]
    assert daily.startswith("daily.cvd: version 27000, 1 signatures, built 20") and daily.endswith("age 3d 1h"), daily
    assert [l for l in status if l.startswith("local.hdb: 1 signatures, modified ")], status
    assert [l for l in status if l.startswith("local.ndb: 1 signatures, modified ")], status
    assert status[-1] == "signatures: 4 (hash 2, body 2, allow-list 0)"
    assert not (p.data / "av" / "notes.txt").exists()

    (tmp_path / "hello.bin").write_bytes(b"hello")
    (tmp_path / "body.bin").write_bytes(b"xx evil..paXoad yy")
    (tmp_path / "near.bin").write_bytes(b"xx evil.....paXoad yy")
    (tmp_path / "cvd.bin").write_bytes(b"from the cvd")
    names = ["hello.bin", "body.bin", "near.bin", "cvd.bin"]
    code, lines, _ = scan(p, *[tmp_path / n for n in names])
    assert lines == [
        f"{tmp_path}/hello.bin: Local.Hello.Hash FOUND",
        f"{tmp_path}/body.bin: Local.Body.Pattern FOUND",
        f"{tmp_path}/near.bin: OK",
        f"{tmp_path}/cvd.bin: Cvd.Sha256.Any.Size FOUND",
    ]
    assert code == 1


def test_malformed_database_refused_with_file_and_line_old_set_kept(tmp_path):
    p = fresh(tmp_path)
    good = tmp_path / "good"
    good.mkdir()
    (good / "local.hdb").write_bytes(HELLO_HDB)
    p.cli("av", "update", "--from", str(good))
    before = p.cli("av", "status").stdout

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "extra.ndb").write_bytes(b"Ok.One:0:*:41424344\n\nBroken:0:*:4142zz\n")
    (bad / "local.hdb").write_bytes(b"")  # would replace the good one
    r = p.cli("av", "update", "--from", str(bad), check=False)
    assert r.returncode == 1
    assert r.stderr == (
        "postern: refused, the installed signatures are unchanged: "
        "extra.ndb:3: bad hex signature: 'z' is not a hex digit\n"
    ), r.stderr
    assert p.cli("av", "status").stdout == before
    assert not (p.data / "av" / "extra.ndb").exists()
    (tmp_path / "hello.bin").write_bytes(b"hello")
    assert scan(p, tmp_path / "hello.bin")[1] == [f"{tmp_path}/hello.bin: Local.Hello.Hash FOUND"]

    # A damaged container is refused too, by name.
    c = bytearray(cvd(5, 0, {"x.hdb": HELLO_HDB}))
    c[-10] ^= 0xFF
    (bad / "extra.ndb").unlink()
    (bad / "local.hdb").unlink()
    (bad / "main.cvd").write_bytes(bytes(c))
    r = p.cli("av", "update", "--from", str(bad), check=False)
    assert r.returncode == 1 and "main.cvd: MD5 " in r.stderr, r.stderr
    assert p.cli("av", "status").stdout == before


def http_mirror(tmp_path):
    """A directory served over http on loopback, as a ClamAV mirror is."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "main.cvd").write_bytes(cvd(62, int(time.time()) - 600, {"main.hdb": HELLO_HDB}))
    (mirror / "daily.cvd").write_bytes(cvd(27001, int(time.time()) - 60, {"daily.ndb": BODY_NDB}))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(mirror), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def test_update_from_http_mirror(tmp_path):
    p = fresh(tmp_path)
    server, url = http_mirror(tmp_path)
    try:
        p.config_set("av.mirror", f'"{url}"')
        out = p.cli("av", "update").stdout.splitlines()
        assert out[-1] == "signatures: 3", out
    finally:
        server.shutdown()
    status = p.cli("av", "status").stdout.splitlines()
    assert [l.split(",")[0] for l in status[2:4]] == ["daily.cvd: version 27001", "main.cvd: version 62"]
    # Built 1 and 10 minutes before the test started (a slow run may add one).
    assert status[2].endswith(("age 1m", "age 2m")) and status[3].endswith(("age 10m", "age 11m")), status


def av_events(p: Postern) -> list[str]:
    return [l for l in p.log("mail.log").splitlines() if "event=av-" in l]


def test_running_server_reloads_after_update_and_keeps_set_on_broken_file(make_server, tmp_path):
    p = make_server()
    src = tmp_path / "src"
    src.mkdir()
    (src / "local.hdb").write_bytes(HELLO_HDB)
    p.cli("av", "update", "--from", str(src))
    wait_until(lambda: any("event=av-reloaded signatures=2" in l for l in av_events(p)), what="the reload")

    # A file dropped in by hand that does not load: the server says so and
    # keeps the set it has.
    (p.data / "av" / "broken.ndb").write_bytes(b"Fine:0:*:41424344\nBad:0:EOF-x:4142\n")
    wait_until(lambda: any("event=av-reload-failed" in l for l in av_events(p)), what="the refused reload")
    failed = [l for l in av_events(p) if "event=av-reload-failed" in l][0]
    assert "broken.ndb:2: bad hex signature: bad number" in failed, failed


def test_server_fetches_from_its_mirror_at_start(make_server, tmp_path):
    server, url = http_mirror(tmp_path)
    try:
        p = make_server({"av.mirror": f'"{url}"'})
        wait_until(lambda: any("event=av-updated" in l for l in av_events(p)), what="the update from the mirror")
    finally:
        server.shutdown()
    updated = [l for l in av_events(p) if "event=av-updated" in l][0]
    assert f"from={url}" in updated and "signatures=3" in updated, updated
    assert sorted(x.name for x in (p.data / "av").iterdir()) == ["daily.cvd", "main.cvd"]
    wait_until(lambda: any("event=av-reloaded signatures=3" in l for l in av_events(p)), what="the reload")
