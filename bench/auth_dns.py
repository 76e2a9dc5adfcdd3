"""A loopback DNS server for bench/smtp-delivery.sh's Postern side: the
sender domain's SPF (pass for 127.0.0.1) and DMARC (p=reject) records, so
every message goes through SPF, DKIM (none), ARC and DMARC with answers
from the resolver's cache. Prints its address, then serves until killed."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from dns_server import DnsServer  # noqa: E402

domain = sys.argv[1] if len(sys.argv) > 1 else "peer.test"
d = DnsServer()
address = d.start()
d.txt(domain, "v=spf1 ip4:127.0.0.1 -all")
d.txt(f"_dmarc.{domain}", "v=DMARC1; p=reject")
print(address, flush=True)
while True:
    time.sleep(3600)
