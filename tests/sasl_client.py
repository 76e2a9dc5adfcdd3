"""Client sides of the SASL mechanisms the standard library lacks, written
from the RFCs for the end-to-end tests: SCRAM (RFC 5802/7677), DIGEST-MD5
(RFC 2831, qop=auth) and NTLMv2 ([MS-NLMP] §3.3.2), plus the drivers that
run one exchange over SMTP (smtplib), IMAP (imaplib) and POP3 (poplib).

Each mechanism object answers `respond(challenge: bytes) -> bytes`, called
with None for the initial response (SASL-IR) and then with each decoded
challenge; `done` says the server's final data was verified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------- SCRAM


class Scram:
    """RFC 5802 §3 without channel binding (gs2 header "n,,")."""

    initial = True

    def __init__(self, hash_name: str, user: str, password: str):
        self.hash = hash_name
        self.password = password.encode()
        name = user.replace("=", "=3D").replace(",", "=2C")
        self.nonce = b64(os.urandom(18))
        self.bare = f"n={name},r={self.nonce}"
        self.server_signature = None
        self.done = False

    def respond(self, challenge: bytes | None) -> bytes:
        if challenge is None:
            return ("n,," + self.bare).encode()
        if challenge.startswith(b"v="):
            assert hmac.compare_digest(base64.b64decode(challenge[2:]), self.server_signature), "server signature"
            self.done = True
            return b""
        return self._final(challenge.decode())

    def _final(self, server_first: str) -> bytes:
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        assert attrs["r"].startswith(self.nonce) and attrs["r"] != self.nonce, server_first
        salted = hashlib.pbkdf2_hmac(self.hash, self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        mac = lambda key, msg: hmac.new(key, msg.encode() if isinstance(msg, str) else msg, self.hash).digest()
        client_key = mac(salted, "Client Key")
        stored_key = hashlib.new(self.hash, client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.bare},{server_first},{without_proof}"
        proof = bytes(a ^ b for a, b in zip(client_key, mac(stored_key, auth_message)))
        self.server_signature = mac(mac(salted, "Server Key"), auth_message)
        return f"{without_proof},p={b64(proof)}".encode()


# ---------------------------------------------------------------- CRAM-MD5


class CramMd5:
    """RFC 2195 §2: user SP hex(HMAC-MD5(password, challenge))."""

    initial = False

    def __init__(self, user: str, password: str):
        self.user, self.password, self.done = user, password.encode(), False

    def respond(self, challenge: bytes | None) -> bytes:
        digest = hmac.new(self.password, challenge, "md5").hexdigest()
        self.done = True
        return f"{self.user} {digest}".encode()


# ---------------------------------------------------------------- DIGEST-MD5


def _directives(text: str) -> dict[str, str]:
    """key=value or key="quoted value", comma-separated (RFC 2831 §7.1)."""
    out, i = {}, 0
    while i < len(text):
        eq = text.index("=", i)
        key = text[i:eq].strip().lower()
        i = eq + 1
        if text[i] == '"':
            j, value = i + 1, ""
            while text[j] != '"':
                if text[j] == "\\":
                    j += 1
                value += text[j]
                j += 1
            i = j + 1
        else:
            j = text.find(",", i)
            j = len(text) if j < 0 else j
            value = text[i:j].strip()
            i = j
        out[key] = value
        i = text.find(",", i)
        i = len(text) if i < 0 else i + 1
    return out


class DigestMd5:
    """RFC 2831 §2.1.2, qop=auth, charset=utf-8."""

    initial = False

    def __init__(self, user: str, password: str, service: str, host: str):
        self.user, self.password, self.uri = user, password, f"{service}/{host}"
        self.rspauth = None
        self.done = False

    def _response(self, d: dict, cnonce: str, method: str) -> str:
        md5 = lambda b: hashlib.md5(b).digest()
        hexmd5 = lambda b: hashlib.md5(b).hexdigest()
        secret = md5(f"{self.user}:{d['realm']}:{self.password}".encode())
        ha1 = hexmd5(secret + f":{d['nonce']}:{cnonce}".encode())
        ha2 = hexmd5(f"{method}:{self.uri}".encode())
        return hexmd5(f"{ha1}:{d['nonce']}:00000001:{cnonce}:auth:{ha2}".encode())

    def respond(self, challenge: bytes | None) -> bytes:
        text = challenge.decode()
        if text.startswith("rspauth="):
            assert text[len("rspauth="):] == self.rspauth, "rspauth"
            self.done = True
            return b""
        d = _directives(text)
        cnonce = b64(os.urandom(12))
        self.rspauth = self._response(d, cnonce, "")
        return (
            f'charset=utf-8,username="{self.user}",realm="{d["realm"]}",nonce="{d["nonce"]}",'
            f'nc=00000001,cnonce="{cnonce}",digest-uri="{self.uri}",qop=auth,'
            f"response={self._response(d, cnonce, 'AUTHENTICATE')}"
        ).encode()


# ---------------------------------------------------------------- NTLM


def md4(data: bytes) -> bytes:
    """RFC 1320 (hashlib's md4 is often missing under OpenSSL 3)."""
    f = lambda x, y, z: (x & y) | (~x & z)
    g = lambda x, y, z: (x & y) | (x & z) | (y & z)
    h = lambda x, y, z: x ^ y ^ z
    rotl = lambda v, s: ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF
    msg = data + b"\x80" + b"\0" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    rounds = [
        (f, 0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [3, 7, 11, 19]),
        (g, 0x5A827999, [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15], [3, 5, 9, 13]),
        (h, 0x6ED9EBA1, [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15], [3, 9, 11, 15]),
    ]
    for block in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[block:block + 64])
        a, b, c, d = state
        for fn, k, order, shifts in rounds:
            for i, idx in enumerate(order):
                a = rotl((a + fn(b, c, d) + x[idx] + k) & 0xFFFFFFFF, shifts[i % 4])
                a, b, c, d = d, a, b, c
        state = [(s + v) & 0xFFFFFFFF for s, v in zip(state, (a, b, c, d))]
    return struct.pack("<4I", *state)


assert md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"  # RFC 1320 A.5

FLAGS = 0x1 | 0x2 | 0x4 | 0x200 | 0x8000 | 0x80000 | 0x20000000


def _buffer(length: int, offset: int) -> bytes:
    return struct.pack("<HHI", length, length, offset)


class Ntlm:
    """NEGOTIATE, then AUTHENTICATE with NTLMv2 and LMv2 responses."""

    initial = True

    def __init__(self, user: str, password: str, domain: str = "WORKGROUP"):
        self.user, self.password, self.domain = user, password, domain
        self.done = False

    def respond(self, challenge: bytes | None) -> bytes:
        if not challenge:
            return b"NTLMSSP\0" + struct.pack("<II", 1, FLAGS) + _buffer(0, 32) + _buffer(0, 32)
        self.done = True
        return self._authenticate(challenge)

    def _authenticate(self, challenge: bytes) -> bytes:
        assert challenge[:8] == b"NTLMSSP\0" and struct.unpack_from("<I", challenge, 8)[0] == 2
        server_challenge = challenge[24:32]
        ti_len, _, ti_off = struct.unpack_from("<HHI", challenge, 40)
        target_info = challenge[ti_off:ti_off + ti_len]
        utf16 = lambda s: s.encode("utf-16-le")
        nt_hash = md4(utf16(self.password))
        ntowf = hmac.new(nt_hash, utf16(self.user.upper() + self.domain), "md5").digest()
        client_challenge = os.urandom(8)
        filetime = (int.from_bytes(os.urandom(2), "little") + 13_000_000_000) * 10_000_000
        temp = b"\x01\x01" + b"\0" * 6 + struct.pack("<Q", filetime) + client_challenge + b"\0" * 4 + target_info + b"\0" * 4
        proof = hmac.new(ntowf, server_challenge + temp, "md5").digest()
        lm = hmac.new(ntowf, server_challenge + client_challenge, "md5").digest() + client_challenge
        payload = [utf16(self.domain), utf16(self.user), utf16("CLIENT"), lm, proof + temp]
        offsets, at = [], 72
        for p in payload:
            offsets.append(at)
            at += len(p)
        d, u, w, l, n = zip(offsets, (len(p) for p in payload))
        head = b"NTLMSSP\0" + struct.pack("<I", 3)
        head += _buffer(l[1], l[0]) + _buffer(n[1], n[0]) + _buffer(d[1], d[0]) + _buffer(u[1], u[0]) + _buffer(w[1], w[0])
        head += _buffer(0, at) + struct.pack("<I", FLAGS & ~0x2) + b"\0" * 8
        return head + b"".join(payload)


# ---------------------------------------------------------------- drivers


def smtp_auth(s, mechanism: str, client) -> tuple[int, bytes]:
    """AUTH over an smtplib.SMTP; returns the final reply. SASL-IR when the
    mechanism speaks first (RFC 4954 §4)."""
    if client.initial:
        code, resp = s.docmd("AUTH", f"{mechanism} {b64(client.respond(None))}")
    else:
        code, resp = s.docmd("AUTH", mechanism)
    while code == 334:
        code, resp = s.docmd(b64(client.respond(base64.b64decode(resp))))
    return code, resp


def imap_auth(c, mechanism: str, client):
    """AUTHENTICATE over an imaplib.IMAP4 (no SASL-IR: imaplib waits for "+")."""
    first = [client.initial]

    def answer(challenge: bytes) -> bytes:
        if first[0] and not challenge:
            first[0] = False
            return client.respond(None)
        first[0] = False
        return client.respond(challenge)

    return c.authenticate(mechanism, answer)


def pop3_auth(p, mechanism: str, client) -> bytes:
    """AUTH over a poplib.POP3 (RFC 5034); raises poplib.error_proto on -ERR."""
    if client.initial:
        resp = p._shortcmd(f"AUTH {mechanism} {b64(client.respond(None))}")
    else:
        resp = p._shortcmd(f"AUTH {mechanism}")
    while resp.startswith(b"+ ") or resp == b"+":
        resp = p._shortcmd(b64(client.respond(base64.b64decode(resp[2:]))))
    return resp
