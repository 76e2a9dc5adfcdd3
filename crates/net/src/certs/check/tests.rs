use super::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

struct Pki {
    ca: (CertificateParams, KeyPair),
    inter: (CertificateParams, KeyPair, String),
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params("Test Root");
    let inter_key = KeyPair::generate().unwrap();
    let inter = ca_params("Test Intermediate");
    let inter_pem = inter
        .signed_by(&inter_key, &Issuer::from_params(&ca, &ca_key))
        .unwrap()
        .pem();
    Pki {
        ca: (ca, ca_key),
        inter: (inter, inter_key, inter_pem),
    }
}

/// A leaf for `hosts` signed by the intermediate: (cert PEM, key PEM).
fn leaf(pki: &Pki, hosts: &[&str], expired: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()).unwrap();
    if expired {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    }
    let issuer = Issuer::from_params(&pki.inter.0, &pki.inter.1);
    (
        p.signed_by(&key, &issuer).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn hosts(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_leaf_with_its_intermediate_passes_for_its_names() {
    let pki = pki();
    let (cert, key) = leaf(&pki, &["mail.a.test", "imap.a.test"], false);
    let chain = format!("{cert}{}", pki.inter.2);
    let c = check(chain.as_bytes(), key.as_bytes(), &[], UnixTime::now()).unwrap();
    assert_eq!(c.hosts, hosts(&["mail.a.test", "imap.a.test"]));
    assert_eq!(c.certs.len(), 2);
    // The root may come along too.
    let root = pki.ca.0.self_signed(&pki.ca.1).unwrap().pem();
    let full = format!("{chain}{root}");
    check(
        full.as_bytes(),
        key.as_bytes(),
        &hosts(&["MAIL.a.test"]),
        UnixTime::now(),
    )
    .unwrap();
}

#[test]
fn a_leaf_without_its_intermediate_is_refused() {
    let pki = pki();
    let (cert, key) = leaf(&pki, &["mail.a.test"], false);
    let e = check(cert.as_bytes(), key.as_bytes(), &[], UnixTime::now())
        .err()
        .unwrap();
    assert!(matches!(e, CertError::Chain(_)), "{e}");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

#[test]
fn another_key_is_refused() {
    let pki = pki();
    let (cert, _) = leaf(&pki, &["mail.a.test"], false);
    let (_, other) = leaf(&pki, &["mail.a.test"], false);
    let chain = format!("{cert}{}", pki.inter.2);
    let e = check(chain.as_bytes(), other.as_bytes(), &[], UnixTime::now())
        .err()
        .unwrap();
    assert!(matches!(e, CertError::KeyMismatch(_)), "{e}");
}

#[test]
fn a_name_it_does_not_hold_or_an_expired_one_is_refused() {
    let pki = pki();
    let (cert, key) = leaf(&pki, &["mail.a.test"], false);
    let chain = format!("{cert}{}", pki.inter.2);
    let e = check(
        chain.as_bytes(),
        key.as_bytes(),
        &hosts(&["mail.b.test"]),
        UnixTime::now(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(e, CertError::HostNotCovered(ref h) if h == "mail.b.test"),
        "{e}"
    );
    let (old, key) = leaf(&pki, &["mail.a.test"], true);
    let chain = format!("{old}{}", pki.inter.2);
    let e = check(chain.as_bytes(), key.as_bytes(), &[], UnixTime::now())
        .err()
        .unwrap();
    assert!(matches!(e, CertError::Validity(_)), "{e}");
    assert!(e.to_string().contains("certificate expired"), "{e}");
}

#[test]
fn a_self_signed_certificate_is_its_own_chain() {
    let d = tempfile::tempdir().unwrap();
    let (c, k) = (d.path().join("c.pem"), d.path().join("k.pem"));
    crate::tls::generate_self_signed("mx.a.test", &c, &k).unwrap();
    let ok = check(
        &std::fs::read(&c).unwrap(),
        &std::fs::read(&k).unwrap(),
        &[],
        UnixTime::now(),
    )
    .unwrap();
    assert_eq!(ok.hosts, hosts(&["mx.a.test"]));
    let e = check(b"junk", b"junk", &[], UnixTime::now()).err().unwrap();
    assert!(matches!(e, CertError::Pem(_)), "{e}");
}

#[test]
fn installed_imports_are_listed_and_served_by_name() {
    let d = tempfile::tempdir().unwrap();
    let (c, k) = (d.path().join("tls/cert.pem"), d.path().join("tls/key.pem"));
    crate::tls::generate_self_signed("mx.a.test", &c, &k).unwrap();
    let dir = crate::certs::CertDir::new(d.path(), c, k);
    let before = dir.fingerprint();
    let pki = pki();
    let (cert, key) = leaf(&pki, &["mail.a.test"], false);
    let chain = format!("{cert}{}", pki.inter.2);
    let checked = check(chain.as_bytes(), key.as_bytes(), &[], UnixTime::now()).unwrap();
    assert_eq!(dir.install(&checked).unwrap(), "mail.a.test");
    assert_ne!(dir.fingerprint(), before);
    let list = dir.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].name.as_str(), list[0].hosts.clone()),
        ("default", hosts(&["mx.a.test"]))
    );
    assert_eq!(list[1].hosts, hosts(&["mail.a.test"]));
    assert!(
        list[1].issuer.contains("Test Intermediate"),
        "{:?}",
        list[1]
    );
    let (table, problems) = dir.load().unwrap();
    assert!(problems.is_empty());
    assert_eq!(table.lookup(Some("mail.a.test")).cert, checked.certs);
    assert_ne!(table.lookup(Some("x.a.test")).cert, checked.certs);
}

#[test]
fn a_wildcard_certificate_is_imported_for_its_wildcard() {
    let pki = pki();
    let (cert, key) = leaf(&pki, &["*.w.test"], false);
    let chain = format!("{cert}{}", pki.inter.2);
    let c = check(chain.as_bytes(), key.as_bytes(), &[], UnixTime::now()).unwrap();
    assert_eq!(c.hosts, hosts(&["*.w.test"]));
    check(
        chain.as_bytes(),
        key.as_bytes(),
        &hosts(&["imap.w.test"]),
        UnixTime::now(),
    )
    .unwrap();
    let e = check(
        chain.as_bytes(),
        key.as_bytes(),
        &hosts(&["*.v.test"]),
        UnixTime::now(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(e, CertError::HostNotCovered(ref h) if h == "*.v.test"),
        "{e}"
    );
}

#[test]
fn the_server_hosts_certificate_is_the_default_unless_one_was_imported() {
    let d = tempfile::tempdir().unwrap();
    let (c, k) = (d.path().join("tls/cert.pem"), d.path().join("tls/key.pem"));
    crate::tls::generate_self_signed("mail.a.test", &c, &k).unwrap();
    let dir = crate::certs::CertDir::new(d.path(), c, k).with_server_host("MAIL.a.test.");
    let (before, _) = dir.load().unwrap();
    let generated = before.lookup(None).cert.clone();
    let pki = pki();
    let (cert, key) = leaf(&pki, &["mail.a.test"], false);
    let chain = format!("{cert}{}", pki.inter.2);
    let acme = check(chain.as_bytes(), key.as_bytes(), &[], UnixTime::now()).unwrap();
    dir.install(&acme).unwrap();
    let (table, _) = dir.load().unwrap();
    assert_eq!(table.lookup(None).cert, acme.certs, "no SNI: the CA's one");
    assert_eq!(table.lookup(Some("other.test")).cert, acme.certs);
    // Without the server's host name (`tls list`, the CLI), nothing moves.
    let plain =
        crate::certs::CertDir::new(d.path(), dir.default_cert.clone(), dir.default_key.clone());
    assert_eq!(plain.load().unwrap().0.lookup(None).cert, generated);
    // An imported default (not the generated stand-in) stays the default.
    let (other, other_key) = leaf(&pki, &["mx.b.test"], false);
    let chain = format!("{other}{}", pki.inter.2);
    let imported = check(chain.as_bytes(), other_key.as_bytes(), &[], UnixTime::now()).unwrap();
    dir.install_default(&imported).unwrap();
    let (table, _) = dir.load().unwrap();
    assert_eq!(table.lookup(None).cert, imported.certs);
    assert_eq!(table.lookup(Some("mail.a.test")).cert, acme.certs);
}
