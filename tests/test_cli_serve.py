"""`postern serve` as an admin runs it: first start, busy ports, stopping."""

import signal
import socket
import subprocess
import time

import pytest

from harness import DOMAIN, HOSTNAME, Postern, wait_until


@pytest.mark.parametrize("service", ["smtp", "submission"])
def test_busy_port_is_reported_with_service_and_address(tmp_path, service):
    p = Postern(tmp_path)
    p.init()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listen = dict(Postern.LISTEN)
        listen[service] = f"127.0.0.1:{port}"
        args = [p.bin, "--data", str(p.data), "serve"]
        for name, addr in listen.items():
            args += ["--listen", f"{name}={addr}"]
        run = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert run.returncode != 0, f"serve started although {service}'s port was taken:\n{run.stdout}"
    assert service in run.stderr, run.stderr
    assert f"127.0.0.1:{port}" in run.stderr, run.stderr


def test_first_start_creates_data_dir_config_and_unique_certificate(tmp_path):
    certs = []
    for n in range(2):
        p = Postern(tmp_path / f"fresh{n}")
        p.workdir.mkdir()
        assert not p.data.exists()
        p.start()
        try:
            with p.raw() as r:
                r.ehlo()
                r.starttls()
                r.ehlo()
        finally:
            assert p.stop() == 0
        assert (p.data / "postern.toml").is_file()
        cert = p.data / "tls" / "cert.pem"
        assert cert.is_file()
        assert "BEGIN CERTIFICATE" in cert.read_text()
        certs.append(cert.read_bytes())
    assert certs[0] != certs[1], "two installations got the same certificate"


def test_sigterm_stops_the_server_cleanly(server):
    started = time.monotonic()
    code = server.stop(timeout=15)
    assert code == 0, f"exit status {code} after SIGTERM (-15: killed by the signal itself, no handler yet; -9: had to be killed)"
    assert time.monotonic() - started < 5, "an unused server took more than 5s to stop"


def test_sigterm_closes_idle_sessions_with_421(server):
    """RFC 5321 §3.8: a server that shuts down SHOULD send 421; an idle client
    (or a slow spammer) must not hold `systemctl stop` up."""
    with server.raw() as r:
        r.ehlo()
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        lines = r.lines_until_eof(15)
        waited = time.monotonic() - started
    assert any(l.startswith("421") for l in lines) and waited < 5, f"idle client got {lines}, {waited:.1f}s after SIGTERM"
    assert server.stop(timeout=15) == 0


def test_greeting_uses_the_configured_hostname(make_server):
    server = make_server(start=False)
    server.config_set("server.hostname", "mail.renamed.test")
    server.start()
    with server.raw(greet=False) as r:
        greeting = r.reply()
    assert greeting.raw[0].startswith("220 mail.renamed.test"), greeting
    assert HOSTNAME not in greeting.raw[0]


def test_config_set_reaches_the_running_server(server):
    """`postern config set` while serving: new sessions use the new value
    within about a second, without a restart (issue contract)."""
    server.config_set("smtp.max_recipients", "2")
    started = time.monotonic()

    def third_recipient_refused():
        with server.smtp() as s:
            s.ehlo()
            s.mail("x@remote.test")
            codes = [s.rcpt(f"alice@{DOMAIN}")[0] for _ in range(3)]
            return codes == [250, 250, 452]

    wait_until(third_recipient_refused, timeout=15, what="max_recipients=2 in effect")
    assert time.monotonic() - started < 2.5
    assert server.proc.poll() is None


def test_reload_applies_the_config_now(make_server):
    """`postern reload` checks the file and signals the server (issue 6: settings take effect on reload)."""
    server = make_server()
    assert (server.data / "postern.pid").read_text().strip() == str(server.pid)
    server.config_set("smtp.max_recipients", "2")
    p = server.cli("reload")
    assert "reloads" in p.stdout

    def third_recipient_refused():
        with server.smtp() as s:
            s.ehlo()
            s.mail("x@remote.example")
            return [s.rcpt(f"alice@{DOMAIN}")[0] for _ in range(3)] == [250, 250, 452]

    wait_until(third_recipient_refused, timeout=15, what="max_recipients=2 after reload")
    # A broken file is refused before anything is signalled; the server keeps running.
    (server.data / "postern.toml").write_text("[smtp]\nmax_recipients = 0\n")
    p = server.cli("reload", check=False)
    assert p.returncode != 0 and "max_recipients" in p.stderr
    with server.smtp() as s:
        assert s.noop()[0] == 250
    server.stop()
    assert not (server.data / "postern.pid").exists()
    (server.data / "postern.toml").write_text("[smtp]\nmax_recipients = 5\n")
    p = server.cli("reload", check=False)
    assert p.returncode != 0 and "no server runs" in p.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refuses_connections(addr) -> bool:
    try:
        socket.create_connection(addr, timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_listener_addresses_take_effect_at_the_next_start(make_server):
    """README: changes reach a running server within a second or two, but
    listener addresses only at the next start."""
    server = make_server(start=False)
    first, second = ("127.0.0.1", free_port()), ("127.0.0.1", free_port())
    server.config_set("listeners.smtp", f'"127.0.0.1:{first[1]}"')
    server.start({"smtp": None})  # from postern.toml
    assert server.addr("smtp") == first
    # Change the address, and a setting the running server does take up (the
    # SIZE it announces), to know when it has read the new config.
    server.config_set("listeners.smtp", f'"127.0.0.1:{second[1]}"')
    server.config_set("smtp.max_message_size", "10M")

    def new_size_announced():
        with server.smtp() as s:
            s.ehlo()
            return s.esmtp_features["size"] == str(10 * 1024 * 1024)

    wait_until(new_size_announced, 10, what="the running server to read the changed config")
    assert server.addr("smtp") == first and refuses_connections(second), "the running server moved its listener"
    server.stop()
    server.start({"smtp": None})
    assert server.addr("smtp") == second
    with server.raw() as r:
        r.ehlo()
    assert refuses_connections(first)
