"""A DNS server on loopback for the outbound tests (Postern's
`delivery.resolver` points at it). Answers from a dict the test fills:

    dns = DnsServer(); dns.start()
    dns.mx("example.net", [(10, "mx1.example.net")])
    dns.a("mx1.example.net", "127.0.0.1")
    dns.null_mx("nomail.example")     # RFC 7505
    dns.txt("s1._domainkey.example.org", ["v=DKIM1; k=ed25519; p=..."])
    dns.srv("_imaps._tcp.example.org", 0, 1, 993, "mx.example.org")
    dns.servfail("broken.example")
    dns.txt("example.net", "v=spf1 ip4:127.0.0.1 -all")   # split into 255-byte strings
    dns.silent("slow.example")        # queries for it are never answered

Names not in the zone get NXDOMAIN; names present without the asked type get
an empty NOERROR answer (so an absent MX means "implicit MX"). UDP and TCP;
a UDP answer over 1232 bytes is sent truncated (TC) so the client asks over TCP.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading

from dnslib import AAAA, A, DNSRecord, MX, PTR, QTYPE, RCODE, RR, SRV, TXT

# RFC 8085 / DNS flag day 2020: the largest UDP answer sent whole.
MAX_UDP_ANSWER = 1232


class DnsServer:
    def __init__(self) -> None:
        self.records: dict[str, list[RR]] = {}
        self.failing: set[str] = set()
        self.silent_names: set[str] = set()
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._udp = None
        self._tcp = None

    # --- zone -----------------------------------------------------------
    def _add(self, name: str, rtype: int, rdata) -> None:
        name = name.rstrip(".").lower()
        with self.lock:
            self.records.setdefault(name, []).append(RR(name + ".", rtype, rdata=rdata, ttl=1))

    def a(self, name: str, ip: str) -> None:
        if ":" in ip:
            self._add(name, QTYPE.AAAA, AAAA(ip))
        else:
            self._add(name, QTYPE.A, A(ip))

    def mx(self, domain: str, hosts: list[tuple[int, str]]) -> None:
        for pref, host in hosts:
            self._add(domain, QTYPE.MX, MX(host.rstrip(".") + ".", pref))

    def srv(self, name: str, priority: int, weight: int, port: int, target: str) -> None:
        self._add(name, QTYPE.SRV, SRV(priority, weight, port, target.rstrip(".") + "."))

    def null_mx(self, domain: str) -> None:
        self._add(domain, QTYPE.MX, MX(".", 0))

    def txt(self, name: str, text: str | list[str]) -> None:
        """One TXT record (RFC 1035 §3.3.14): a list gives its character strings
        as they are; a text is cut into strings of 255 octets."""
        if isinstance(text, list):
            self._add(name, QTYPE.TXT, TXT([s.encode() for s in text]))
            return
        data = text.encode()
        self._add(name, QTYPE.TXT, TXT([data[i:i + 255] for i in range(0, len(data), 255)] or [b""]))

    def ptr(self, name: str, target: str) -> None:
        self._add(name, QTYPE.PTR, PTR(target.rstrip(".") + "."))

    def silent(self, name: str) -> None:
        self.silent_names.add(name.rstrip(".").lower())

    def servfail(self, name: str) -> None:
        self.failing.add(name.rstrip(".").lower())

    def clear(self, name: str) -> None:
        with self.lock:
            self.records.pop(name.rstrip(".").lower(), None)
        self.failing.discard(name.rstrip(".").lower())
        self.silent_names.discard(name.rstrip(".").lower())

    # --- answering ------------------------------------------------------
    def answer(self, data: bytes) -> bytes | None:
        try:
            q = DNSRecord.parse(data)
        except Exception:
            return None
        reply = q.reply()
        name = str(q.q.qname).rstrip(".").lower()
        qtype = q.q.qtype
        with self.lock:
            self.queries.append((name, QTYPE.get(qtype)))
            rrs = list(self.records.get(name, []))
        if name in self.silent_names:
            return None
        if name in self.failing:
            reply.header.rcode = RCODE.SERVFAIL
        elif not rrs:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            for rr in rrs:
                if rr.rtype == qtype:
                    reply.add_answer(rr)
        return reply.pack()

    # --- serving --------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serves on HOST:PORT (an ephemeral port by default); returns "HOST:PORT"."""
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                out = server.answer(data)
                if out and len(out) > MAX_UDP_ANSWER:
                    cut = DNSRecord.parse(data).reply()
                    cut.header.tc = 1
                    out = cut.pack()
                if out:
                    sock.sendto(out, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    head = self.request.recv(2)
                    (n,) = struct.unpack("!H", head)
                    data = b""
                    while len(data) < n:
                        chunk = self.request.recv(n - len(data))
                        if not chunk:
                            return
                        data += chunk
                    out = server.answer(data)
                    if out:
                        self.request.sendall(struct.pack("!H", len(out)) + out)
                except (OSError, struct.error):
                    pass

        self._udp = socketserver.ThreadingUDPServer((host, port), Udp)
        port = self._udp.server_address[1]
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        try:
            self._tcp = socketserver.ThreadingTCPServer((host, port), Tcp)
        except OSError:
            self._tcp = None
        for srv in (self._udp, self._tcp):
            if srv:
                srv.daemon_threads = True
                threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.address = f"{host}:{port}"
        return self.address

    def stop(self) -> None:
        for srv in (self._udp, self._tcp):
            if srv:
                srv.shutdown()
                srv.server_close()
