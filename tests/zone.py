"""Reading the zone-file lines Postern prints (`postern dkim generate`,
`postern dns`): NAME TTL IN TYPE RDATA, one record a line, `;` comments.
TXT data is one or more quoted strings; the others are whitespace-separated."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass


@dataclass
class Record:
    name: str        # without the trailing dot, lowercase
    ttl: int
    rtype: str
    data: list[str]  # TXT: the character strings; others: the fields

    def text(self) -> str:
        """A TXT record's strings joined (RFC 6376 §3.6.2.2, RFC 7208 §3.3)."""
        return "".join(self.data)


LINE = re.compile(r"^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$")


def records(output: str) -> list[Record]:
    out = []
    for line in output.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        m = LINE.match(line)
        assert m, f"not a zone-file record: {line!r}"
        name, ttl, rtype, rest = m.groups()
        data = shlex.split(rest) if rtype == "TXT" else rest.split()
        out.append(Record(name.rstrip(".").lower(), int(ttl), rtype, data))
    return out


def serve(dns, recs: list[Record]) -> None:
    """Puts records into a tests/dns_server.py DnsServer."""
    for r in recs:
        if r.rtype == "TXT":
            dns.txt(r.name, r.data)
        elif r.rtype == "SRV":
            prio, weight, port, target = r.data
            dns.srv(r.name, int(prio), int(weight), int(port), target)
        elif r.rtype == "MX":
            dns.mx(r.name, [(int(r.data[0]), r.data[1])])
        elif r.rtype in ("A", "AAAA"):
            dns.a(r.name, r.data[0])
        else:
            raise AssertionError(f"cannot serve {r.rtype}")
