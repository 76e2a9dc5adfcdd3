"""The console's Certificates page (issue 19 item 6 in the browser): headless
Chromium imports a chain picked from a file with its key pasted, sees it
listed, and `openssl s_client -servername` on the admin listener gets it
without a restart; a key of another certificate and a chain without its
intermediate are refused, the server's reason shown beside the form and
nothing stored; an import marked Default is served to clients asking for no
name. Screenshots go to tests/artifacts/console/."""

import re

from harness import HOSTNAME, wait_until
from test_admin_console import UI_TIMEOUT, Console, admin, browser, needs_browser  # noqa: F401 (fixtures)
from test_tls_certs import Pki, served_cn, write

HOST = "mail.console.test"


def import_cert(c, chain_file=None, chain=None, key="", hosts="", default=False):
    """Fills the import form: the chain from a file or pasted, the key pasted."""
    if chain_file:
        c.find("#cert-import [name='cert-file']").send_keys(chain_file)
        wait_until(lambda: c.find("#cert-cert").get_attribute("value").startswith("-----BEGIN CERTIFICATE-----"),
                   UI_TIMEOUT, what="the picked file in the text area")
    else:
        c.find("#cert-cert").clear()
        c.find("#cert-cert").send_keys(chain)
    c.find("#cert-key").clear()
    c.find("#cert-key").send_keys(key)
    c.find("#cert-hosts").clear()
    c.find("#cert-hosts").send_keys(hosts)
    if c.find("#cert-default").is_selected() != default:
        c.find("#cert-default").click()
    c.find("#cert-import button[type=submit]").click()


def refusal(c, pattern):
    return wait_until(lambda: re.search(pattern, c.find("#cert-error").text), UI_TIMEOUT,
                      what=f"{pattern!r} beside the form")


def listed(c):
    """The rows of the list, each a list of cell texts ([] while it redraws)."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return [[td.text for td in tr.find_elements(c.By.TAG_NAME, "td")]
                for tr in c.d.find_elements(c.By.CSS_SELECTOR, "#cert-list tbody tr")]
    except StaleElementReferenceException:
        return []


@needs_browser
def test_console_imports_a_certificate_served_at_once_and_shows_refusals(admin, browser, tmp_path):
    pki = Pki()
    c = Console(browser, admin)
    c.login()
    c.open("certs", r"Certificates")
    wait_until(lambda: listed(c), UI_TIMEOUT, what="the certificate list")
    assert [r[:2] for r in listed(c)] == [["default", HOSTNAME]]
    assert served_cn(admin, "admin", HOST) == HOSTNAME

    # A key of another certificate: refused beside the form, nothing stored.
    chain, key, leaf = pki.host(HOST)
    _, other_key, _ = pki.host(HOST)
    import_cert(c, chain=chain, key=other_key)
    refusal(c, r"the private key does not belong to the certificate")
    c.shot("certs-mismatch")
    # The leaf without its intermediate: the chain is incomplete.
    import_cert(c, chain=leaf, key=key)
    refusal(c, r"the chain is incomplete or does not verify.*UnknownIssuer")
    assert admin.cli("tls", "list").stdout.count("\n") == 1  # only the default
    assert len(listed(c)) == 1

    # The chain picked from a file, the key pasted: listed and served by SNI.
    import_cert(c, chain_file=write(tmp_path, "chain.pem", chain), key=key)
    refusal(c, rf"imported {re.escape(HOST)}: {re.escape(HOST)}")
    assert "field-error" not in c.find("#cert-error").get_attribute("class")
    wait_until(lambda: len(listed(c)) == 2, UI_TIMEOUT, what="the import in the list")
    name, hosts, not_after, subject, issuer = listed(c)[1]
    assert (name, hosts, subject, issuer) == (HOST, HOST, f"CN={HOST}", "CN=Test Intermediate")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", not_after), not_after
    wait_until(lambda: served_cn(admin, "admin", HOST) == HOST, 10, what="the import served on the admin listener")
    assert served_cn(admin, "admin", None) == HOSTNAME
    c.shot("certs")

    # Marked Default: served to clients asking for no name.
    chain, key, _ = pki.host("mx.console.test", "other.console.test")
    import_cert(c, chain=chain, key=key, default=True)
    refusal(c, r"^imported default: mx\.console\.test other\.console\.test$")
    wait_until(lambda: [r[:2] for r in listed(c)[:1]] == [["default", "mx.console.test, other.console.test"]], UI_TIMEOUT, what="the new default listed")
    assert c.find("#cert-list strong.default-cert").text == "default"
    wait_until(lambda: served_cn(admin, "admin", None) == "mx.console.test", 10, what="the new default served")
    assert served_cn(admin, "admin", HOST) == HOST
    c.no_alert()
