//! The pipeline end to end over a zone of test records: verdicts, headers,
//! limits. Messages are signed here with ed25519 (RFC 8463).

use super::*;
use crate::context::Client;
use crate::dns::Zone;
use base64::Engine;
use mail_auth::common::crypto::{Ed25519Key, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::DkimSigner;
use mail_auth::dmarc::Dmarc;
use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use mail_auth::hickory_resolver::name_server::TokioConnectionProvider;
use mail_auth::hickory_resolver::TokioResolver;
use mail_auth::spf::Spf;
use postern_config::{Auth, DmarcAction};
use std::net::SocketAddr;
use std::time::Duration;

/// A resolver asking `addr` once, quickly.
fn resolver(addr: SocketAddr) -> TokioResolver {
    let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
    let mut b = TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], group),
        TokioConnectionProvider::default(),
    );
    b.options_mut().timeout = Duration::from_millis(300);
    b.options_mut().attempts = 1;
    b.build()
}

/// Lookups answered from `zone`; anything else goes to a port nobody answers on.
pub(crate) fn lookups(zone: Zone) -> Lookups {
    Lookups::with_zone(resolver("127.0.0.1:9".parse().unwrap()), zone)
}

const IP: &str = "192.0.2.7";

struct Signer {
    key: Ed25519Key,
    public: String,
}

fn signer() -> Signer {
    let der = Ed25519Key::generate_pkcs8().unwrap();
    let key = Ed25519Key::from_pkcs8_der(&der).unwrap();
    let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
    Signer { key, public }
}

impl Signer {
    fn publish(&self, zone: &Zone, domain: &str, selector: &str) {
        let rec = format!("v=DKIM1; k=ed25519; p={}", self.public);
        zone.txt(
            &format!("{selector}._domainkey.{domain}"),
            DomainKey::parse(rec.as_bytes()),
        );
    }

    fn sign(&self, domain: &str, msg: &[u8]) -> Vec<u8> {
        let sig = DkimSigner::from_key(clone_key(&self.key))
            .domain(domain)
            .selector("s1")
            .headers(["From", "To", "Subject"])
            .sign(msg)
            .unwrap();
        [sig.to_header().as_bytes(), msg].concat()
    }
}

fn clone_key(k: &Ed25519Key) -> impl SigningKey<Hasher = mail_auth::common::crypto::Sha256> + '_ {
    struct Borrowed<'a>(&'a Ed25519Key);
    impl SigningKey for Borrowed<'_> {
        type Hasher = mail_auth::common::crypto::Sha256;
        fn sign(
            &self,
            input: impl mail_auth::common::headers::Writable,
        ) -> mail_auth::Result<Vec<u8>> {
            self.0.sign(input)
        }
        fn algorithm(&self) -> mail_auth::common::crypto::Algorithm {
            self.0.algorithm()
        }
    }
    Borrowed(k)
}

fn message(from: &str, body: &str) -> Vec<u8> {
    format!("From: <{from}>\r\nTo: <a@example.org>\r\nSubject: hi\r\n\r\n{body}").into_bytes()
}

fn dmarc(zone: &Zone, domain: &str, record: &str) {
    zone.txt(&format!("_dmarc.{domain}"), Dmarc::parse(record.as_bytes()));
}

fn spf(zone: &Zone, domain: &str, record: &str) {
    zone.txt(domain, Spf::parse(record.as_bytes()));
}

fn client() -> Client {
    Client {
        ip: IP.parse().unwrap(),
        helo: "mail.sender.example".into(),
        exempt: false,
    }
}

async fn run(l: &Lookups, auth: &Auth, mail_from: &str, raw: &[u8]) -> Verdict {
    let mut ctx = Context::new(client(), mail_from, raw, None);
    let s = Settings {
        auth,
        hostname: "mx.test",
    };
    verdict(&mut ctx, l, &s).await
}

/// A zone where sender.example signs, publishes p=reject, and allows IP by SPF;
/// other.example has nothing.
fn world() -> (Zone, Signer) {
    let zone = Zone::default();
    let k = signer();
    k.publish(&zone, "sender.example", "s1");
    dmarc(&zone, "sender.example", "v=DMARC1; p=reject");
    spf(&zone, "sender.example", &format!("v=spf1 ip4:{IP} -all"));
    spf(&zone, "mail.sender.example", "v=spf1 a -all");
    zone.a("mail.sender.example", &[IP.parse().unwrap()]);
    spf(&zone, "bounce.example", &format!("v=spf1 ip4:{IP} -all"));
    for n in [
        "_dmarc.other.example",
        "other.example",
        "_dmarc.bounce.example",
    ] {
        zone.txt::<Spf>(
            n,
            Err(mail_auth::Error::DnsRecordNotFound(
                mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain,
            )),
        );
    }
    (zone, k)
}

#[tokio::test]
async fn aligned_dkim_passes_dmarc() {
    let (zone, k) = world();
    let raw = k.sign("sender.example", &message("a@sender.example", "hello\r\n"));
    let l = lookups(zone);
    let v = run(&l, &Auth::default(), "bounce@bounce.example", &raw).await;
    assert_eq!(v.action, Action::Accept);
    assert!(
        v.add_headers
            .starts_with("Authentication-Results: mx.test;\r\n\t"),
        "{}",
        v.add_headers
    );
    assert!(
        v.add_headers
            .contains("dkim=pass header.d=sender.example header.s=s1"),
        "{}",
        v.add_headers
    );
    assert!(
        v.add_headers
            .contains("spf=pass smtp.mailfrom=bounce@bounce.example"),
        "{}",
        v.add_headers
    );
    assert!(
        v.add_headers
            .contains("dmarc=pass (p=reject dis=none) header.from=sender.example"),
        "{}",
        v.add_headers
    );
}

#[tokio::test]
async fn unaligned_failure_is_rejected() {
    let (zone, k) = world();
    // Signed by another domain, SPF for a domain that is not the From's.
    k.publish(&zone, "other.example", "s1");
    let raw = k.sign("other.example", &message("a@sender.example", "hello\r\n"));
    let l = lookups(zone);
    let v = run(&l, &Auth::default(), "bounce@bounce.example", &raw).await;
    let Action::Reject(r) = &v.action else {
        panic!("{v:?}")
    };
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
    assert!(
        v.add_headers.contains("dmarc=fail (p=reject dis=reject)"),
        "{}",
        v.add_headers
    );
    assert!(v.reason.unwrap().contains("sender.example"));
}

#[tokio::test]
async fn tampered_body_fails_dkim() {
    let (zone, k) = world();
    let mut raw = k.sign("sender.example", &message("a@sender.example", "hello\r\n"));
    raw.extend_from_slice(b"appended\r\n");
    let l = lookups(zone);
    let v = run(&l, &Auth::default(), "a@other.example", &raw).await;
    assert_eq!(v.results.dkim[0].result, AuthResult::Fail);
    assert!(matches!(v.action, Action::Reject(_)));
}

#[tokio::test]
async fn quarantine_pct_override_arc_and_switch() {
    let (zone, _k) = world();
    dmarc(&zone, "q.example", "v=DMARC1; p=quarantine");
    dmarc(&zone, "pct.example", "v=DMARC1; p=reject; pct=0");
    let l = lookups(zone);
    let auth = Auth::default();
    let v = run(&l, &auth, "", &message("a@q.example", "x\r\n")).await;
    assert_eq!(v.action, Action::Junk);
    // pct=0: outside the percentage, reject becomes quarantine (RFC 7489 §6.6.4).
    let v = run(&l, &auth, "", &message("a@pct.example", "x\r\n")).await;
    assert_eq!(v.action, Action::Junk);
    assert_eq!(v.results.dmarc.unwrap().disposition, "quarantine(pct)");
    let mut over = Auth::default();
    over.dmarc_overrides
        .insert("sender.example".into(), DmarcAction::None);
    let v = run(
        &l,
        &over,
        "a@other.example",
        &message("a@sender.example", "x\r\n"),
    )
    .await;
    assert_eq!(v.action, Action::Accept);
    let off = Auth {
        dmarc_enforce: false,
        ..Auth::default()
    };
    let v = run(
        &l,
        &off,
        "a@other.example",
        &message("a@sender.example", "x\r\n"),
    )
    .await;
    assert_eq!(v.action, Action::Accept);
    assert!(v.add_headers.contains("dis=off"), "{}", v.add_headers);
}

#[tokio::test]
async fn subdomains_get_sp_from_the_organisational_domain() {
    let (zone, _k) = world();
    dmarc(&zone, "org.example", "v=DMARC1; p=reject; sp=quarantine");
    zone.txt::<Dmarc>(
        "_dmarc.sub.org.example",
        Err(mail_auth::Error::DnsRecordNotFound(
            mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain,
        )),
    );
    let l = lookups(zone);
    let v = run(
        &l,
        &Auth::default(),
        "",
        &message("a@sub.org.example", "x\r\n"),
    )
    .await;
    assert_eq!(v.action, Action::Junk);
    assert_eq!(v.results.dmarc.unwrap().policy, "quarantine");
}

#[tokio::test]
async fn signature_limit_is_crossed() {
    let (zone, k) = world();
    let mut raw = message("a@sender.example", "hello\r\n");
    for _ in 0..100 {
        raw = k.sign("sender.example", &raw);
    }
    let l = lookups(zone);
    let started = std::time::Instant::now();
    let v = run(&l, &Auth::default(), "", &raw).await;
    assert_eq!(v.results.dkim.len(), crate::dkim::MAX_SIGNATURES);
    assert_eq!(v.results.dkim_skipped, 100 - crate::dkim::MAX_SIGNATURES);
    assert!(v
        .add_headers
        .contains("dkim=neutral (90 more signatures not verified)"));
    assert_eq!(v.action, Action::Accept);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn length_tag_never_passes() {
    let (zone, k) = world();
    let msg = message("a@sender.example", "hello\r\n");
    let sig = DkimSigner::from_key(clone_key(&k.key))
        .domain("sender.example")
        .selector("s1")
        .headers(["From", "To", "Subject"])
        .body_length(true)
        .sign(&msg)
        .unwrap();
    let mut raw = [sig.to_header().as_bytes(), &msg].concat();
    raw.extend_from_slice(b"unsigned appended text\r\n");
    let l = lookups(zone);
    let v = run(&l, &Auth::default(), "a@other.example", &raw).await;
    assert_eq!(v.results.dkim[0].result, AuthResult::Policy);
    assert!(matches!(v.action, Action::Reject(_)));
}

#[tokio::test]
async fn malformed_records_and_signatures_give_clear_results() {
    let (zone, _k) = world();
    dmarc(&zone, "bad.example", "v=DMARC1; p=everything");
    let l = lookups(zone);
    let raw = [
        &b"DKIM-Signature: v=1; a=rsa-sha256; d=; b=!!!\r\n"[..],
        &message("a@bad.example", "x\r\n"),
    ]
    .concat();
    let v = run(&l, &Auth::default(), "", &raw).await;
    assert_eq!(v.results.dkim[0].result, AuthResult::PermError);
    assert_eq!(
        v.results.dmarc.as_ref().unwrap().result,
        AuthResult::PermError
    );
    assert_eq!(v.action, Action::Accept);
}

#[tokio::test]
async fn exempt_clients_are_not_checked_but_forgeries_go() {
    let (zone, _k) = world();
    let l = lookups(zone);
    let raw = [
        &b"Authentication-Results: mx.test; dmarc=pass\r\n"[..],
        &message("a@sender.example", "x\r\n"),
    ]
    .concat();
    let mut ctx = Context::new(
        Client {
            exempt: true,
            ..client()
        },
        "",
        &raw,
        None,
    );
    let auth = Auth::default();
    let v = verdict(
        &mut ctx,
        &l,
        &Settings {
            auth: &auth,
            hostname: "mx.test",
        },
    )
    .await;
    assert_eq!(v.action, Action::Accept);
    assert_eq!(v.add_headers, "");
    assert_eq!(v.rewrite(&raw), message("a@sender.example", "x\r\n"));
}

#[tokio::test]
async fn silent_dns_is_a_temperror_within_the_deadline() {
    // A server that reads queries and never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let l = Lookups::with_zone(resolver(silent.local_addr().unwrap()), Zone::default());
    let auth = Auth {
        check_timeout: postern_config::Duration(Duration::from_millis(500)),
        dmarc_temperror: postern_config::TempErrorAction::Defer,
        ..Auth::default()
    };
    let started = std::time::Instant::now();
    let v = run(
        &l,
        &auth,
        "a@slow.example",
        &message("a@slow.example", "x\r\n"),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let Action::Defer(r) = &v.action else {
        panic!("{v:?}")
    };
    assert_eq!((r.code, r.enhanced), (451, "4.7.5"));
    assert_eq!(v.results.spf.unwrap().mail_from, AuthResult::TempError);
}

#[tokio::test]
async fn from_domain_limit_is_crossed() {
    let (zone, _k) = world();
    for i in 0..6 {
        zone.txt::<Dmarc>(
            &format!("_dmarc.f{i}.example"),
            Err(mail_auth::Error::DnsRecordNotFound(
                mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain,
            )),
        );
    }
    let l = lookups(zone);
    // Several From: domains are all checked, the strictest verdict wins (RFC 7489 §6.6.1)...
    let froms = |n: usize| {
        let mut list: Vec<String> = (0..n).map(|i| format!("a@f{i}.example")).collect();
        list.push("b@sender.example".into());
        let head = format!("From: {}\r\nSubject: s\r\n\r\nx\r\n", list.join(", "));
        head.into_bytes()
    };
    let limit = crate::dmarc::MAX_FROM_DOMAINS;
    let v = run(&l, &Auth::default(), "a@other.example", &froms(limit - 1)).await;
    assert!(matches!(v.action, Action::Reject(_)), "{v:?}");
    // ...up to the limit: beyond it the message is refused (none is left unchecked).
    let v = run(&l, &Auth::default(), "a@other.example", &froms(limit)).await;
    let Action::Reject(r) = &v.action else {
        panic!("{v:?}")
    };
    assert!(r.text.contains("6 author domains"), "{}", r.text);
    assert_eq!(v.results.dmarc.unwrap().result, AuthResult::PermError);
}

/// CPU time of this thread (Linux schedstat, nanoseconds).
fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    s.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The CPU the whole pipeline adds per message (SPF, one ed25519 DKIM
/// signature, ARC, DMARC, the header), answers from the zone. A measurement,
/// not a check: `cargo test --release -p postern-filter -- --ignored --nocapture pipeline_cpu`.
#[tokio::test(flavor = "current_thread")]
#[ignore]
async fn pipeline_cpu_per_message() {
    let (zone, k) = world();
    let body = "x".repeat(78) + "\r\n";
    let raw = k.sign(
        "sender.example",
        &message("a@sender.example", &body.repeat(64)),
    );
    let l = lookups(zone);
    let auth = Auth::default();
    for _ in 0..100 {
        run(&l, &auth, "bounce@sender.example", &raw).await;
    }
    let n = 2000;
    let start = thread_cpu_ns();
    for _ in 0..n {
        let v = run(&l, &auth, "bounce@sender.example", &raw).await;
        assert_eq!(v.results.dkim[0].result, AuthResult::Pass);
        assert_eq!(v.results.dmarc.unwrap().result, AuthResult::Pass);
    }
    let per = (thread_cpu_ns() - start) as f64 / n as f64 / 1e6;
    println!(
        "pipeline CPU per message ({} bytes): {per:.3} ms",
        raw.len()
    );
}
