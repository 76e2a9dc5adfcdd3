"""How fast webmail shows a large folder (issue 20 item 8): the first page
of an N-message INBOX (default 10,000) and the opening of one message, timed
over the API (median of 10 requests each) and in headless Chromium (the
app's own fetch-and-draw times, body[data-list-ms] and body[data-open-ms]).

Usage: python3 bench/webmail_bench.py [N] (POSTERN_BIN: the binary to run;
a debug build is slower than a release one). Needs chromium, chromedriver
and selenium as tests/test_webmail.py does. Prints the figures."""

from __future__ import annotations

import imaplib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from harness import ALICE, ALICE_PASSWORD, NO_DNS, WEBMAIL_LISTEN, Postern, insecure_tls, make_message  # noqa: E402
from webmail_api import web_login  # noqa: E402
from webmail_browser import browser, by_id, click_row, sign_in  # noqa: E402


def fill(server, n):
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls()) as m:
        m.login(ALICE, ALICE_PASSWORD)
        for i in range(n):
            m.append("INBOX", None, None, make_message(f"bench{i:06d}", body="Some text for the list.\r\n" * 20))


def median_ms(fn, runs=10):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        server = Postern(Path(tmp))
        server.init()
        server.add_user(ALICE, ALICE_PASSWORD)
        server.config_set("delivery.resolver", f'"{NO_DNS}"')
        server.start({**WEBMAIL_LISTEN, "imaps": "127.0.0.1:0"})
        try:
            t0 = time.perf_counter()
            fill(server, n)
            print(f"filled INBOX with {n} messages in {time.perf_counter() - t0:.1f} s")
            _, api = web_login(server)
            page = api.request("GET", "/api/messages", query={"folder": "INBOX"})
            assert page.status == 200 and page.body["total"] == n, page.body
            uid = page.body["messages"][0]["uid"]
            list_ms = median_ms(lambda: api.request("GET", "/api/messages", query={"folder": "INBOX"}))
            open_ms = median_ms(lambda: api.request("GET", "/api/message", query={"folder": "INBOX", "uid": uid}))
            folders_ms = median_ms(lambda: api.request("GET", "/api/folders"))
            print(f"API (median of 10, new HTTPS connection each): first page {list_ms:.0f} ms, folders {folders_ms:.0f} ms, open {open_ms:.0f} ms")
            d = browser()
            try:
                sign_in(d, "https://127.0.0.1:%d" % server.addr("https")[1], ALICE, ALICE_PASSWORD)
                body = d.find_element("tag name", "body")
                first = page.body["messages"][0]["subject"]
                click_row(d, first)
                from harness import wait_until

                wait_until(lambda: first in by_id(d, "subject").text, 30)
                print(f"browser: first page {body.get_attribute('data-list-ms')} ms, message open {body.get_attribute('data-open-ms')} ms")
            finally:
                d.quit()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
