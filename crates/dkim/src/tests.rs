//! Keys made, stored sealed, opened and used to sign; the signatures checked
//! by mail-auth's verifier against the TXT records `keys` makes (the
//! end-to-end tests check them with dkimpy and OpenDKIM too).

use crate::keys::{self, Algorithm};
use crate::origin::Origin;
use crate::outbound::sign_message;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, ResolverCache, Txt};
use postern_directory::prelude::*;
use postern_directory::NewDkimKey;
use postern_store::Store;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

const MESSAGE: &str = "Received: from client by mx.example.org\r\n\
From: Alice <alice@example.org>\r\n\
To: bob@remote.test\r\n\
Subject: Hello  there\r\n\
Date: Mon, 7 Dec 2026 00:00:00 +0000\r\n\
Message-ID: <1@example.org>\r\n\
\r\n\
Body line one.  \r\n\
\r\n\
\r\n";

/// The published records, as the verifier's DNS.
#[derive(Default)]
struct Records(Mutex<HashMap<Box<str>, Txt>>);

impl ResolverCache<Box<str>, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }
    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }
    fn insert(&self, key: Box<str>, value: Txt, _: Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

fn store_with_keys(algorithms: &[(&str, Algorithm)]) -> (tempfile::TempDir, Store, Records) {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    store.domain_add("example.org").unwrap();
    let records = Records::default();
    for (selector, algorithm) in algorithms {
        let k = keys::generate(*algorithm).unwrap();
        store
            .dkim_key_add(&NewDkimKey {
                domain: "example.org",
                selector,
                algorithm: algorithm.name(),
                public_key: &k.public_key,
                private_key: &k.private_key,
            })
            .unwrap();
        let txt = keys::txt_record(*algorithm, &k.public_key);
        let name = format!("{}.", keys::record_name(selector, "example.org"));
        let key = DomainKey::parse(txt.as_bytes()).unwrap();
        records.insert(name.into(), key.into(), Instant::now());
    }
    (d, store, records)
}

fn alice() -> Origin {
    Origin {
        from: Some("alice@example.org".into()),
        from_checked: true,
        forwarded_by: None,
    }
}

async fn verify(records: &Records, signed: &[u8]) -> Vec<DkimResult> {
    let message = AuthenticatedMessage::parse(signed).unwrap();
    let resolver = MessageAuthenticator::new_cloudflare().unwrap();
    let params = mail_auth::Parameters::new(&message).with_txt_cache(records);
    let out = resolver.verify_dkim(params).await;
    out.iter().map(|o| o.result().clone()).collect()
}

fn signed(prepend: &[u8]) -> Vec<u8> {
    [prepend, MESSAGE.as_bytes()].concat()
}

#[tokio::test]
async fn dual_signature_rsa_and_ed25519_both_verify() {
    let (_d, store, records) =
        store_with_keys(&[("rsa1", Algorithm::Rsa), ("ed1", Algorithm::Ed25519)]);
    let s = sign_message(&store, &alice(), &mut MESSAGE.as_bytes()).unwrap();
    assert_eq!(s.domain, "example.org");
    assert_eq!(s.selectors, ["ed1", "rsa1"]);
    let text = String::from_utf8(s.fields.clone()).unwrap();
    assert_eq!(text.matches("DKIM-Signature:").count(), 2, "{text}");
    assert!(text.contains("a=ed25519-sha256; s=ed1; d=example.org; c=relaxed/relaxed"));
    assert!(text.contains("a=rsa-sha256; s=rsa1; d=example.org; c=relaxed/relaxed"));
    assert_eq!(
        verify(&records, &signed(&s.fields)).await,
        [DkimResult::Pass, DkimResult::Pass]
    );
}

#[tokio::test]
async fn from_is_over_signed_so_an_added_from_breaks_the_signature() {
    let (_d, store, records) = store_with_keys(&[("ed1", Algorithm::Ed25519)]);
    let s = sign_message(&store, &alice(), &mut MESSAGE.as_bytes()).unwrap();
    let h: String = String::from_utf8(s.fields.clone())
        .unwrap()
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(h.split(':').filter(|f| *f == "From").count(), 2, "{h}");
    let mut forged = s.fields.clone();
    forged.extend_from_slice(b"From: ceo@example.org\r\n");
    forged.extend_from_slice(MESSAGE.as_bytes());
    assert!(matches!(
        verify(&records, &forged).await[..],
        [DkimResult::Fail(_)]
    ));
    // Relaxed body canonicalization: trailing blank lines and spaces do not matter.
    let relaxed = relaxed_body(signed(&s.fields));
    assert_eq!(verify(&records, &relaxed).await, [DkimResult::Pass]);
}

/// The body with its trailing spaces and empty lines changed, as relays may.
fn relaxed_body(signed: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(signed).unwrap();
    text.replace("Body line one.  \r\n\r\n\r\n", "Body line one. \r\n")
        .into_bytes()
}

#[tokio::test]
async fn a_domain_without_keys_is_not_signed() {
    let (_d, store, _) = store_with_keys(&[]);
    let s = sign_message(&store, &alice(), &mut MESSAGE.as_bytes()).unwrap();
    assert!(s.fields.is_empty() && s.domain.is_empty());
    let (_d, store, _) = store_with_keys(&[("ed1", Algorithm::Ed25519)]);
    let outside = Origin {
        from: Some("alice@example.org".into()),
        from_checked: false,
        forwarded_by: None,
    };
    let s = sign_message(&store, &outside, &mut MESSAGE.as_bytes()).unwrap();
    assert!(s.fields.is_empty(), "an unchecked From never signs");
}

#[tokio::test]
async fn a_host_name_under_the_domain_signs_with_the_domain() {
    let (_d, store, records) = store_with_keys(&[("ed1", Algorithm::Ed25519)]);
    let dsn = Origin {
        from: Some("MAILER-DAEMON@mx.example.org".into()),
        from_checked: true,
        forwarded_by: None,
    };
    let s = sign_message(&store, &dsn, &mut MESSAGE.as_bytes()).unwrap();
    assert_eq!(s.domain, "example.org");
    assert_eq!(
        verify(&records, &signed(&s.fields)).await,
        [DkimResult::Pass]
    );
}

#[tokio::test]
async fn a_header_block_beyond_the_scan_limit_still_signs_what_was_seen() {
    let (_d, store, records) = store_with_keys(&[("ed1", Algorithm::Ed25519)]);
    let pad = "X-Pad: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n";
    let lines = crate::outbound::MAX_HEADER_SCAN / pad.len() + 1;
    let message = format!(
        "From: alice@example.org\r\n{}Subject: late\r\n\r\nbody\r\n",
        pad.repeat(lines)
    );
    let s = sign_message(&store, &alice(), &mut message.as_bytes()).unwrap();
    let text = String::from_utf8(s.fields.clone()).unwrap();
    assert!(
        !text.contains("Subject"),
        "Subject lies past the scan: {text}"
    );
    let signed = [s.fields, message.into_bytes()].concat();
    assert_eq!(verify(&records, &signed).await, [DkimResult::Pass]);
}

/// Signing cost per message, for the report:
/// `cargo test --release -p postern-dkim -- --ignored --nocapture signing_cost`.
#[tokio::test]
#[ignore]
async fn signing_cost() {
    let (_d, store, _) = store_with_keys(&[("rsa1", Algorithm::Rsa), ("ed1", Algorithm::Ed25519)]);
    let body = "A line of a typical message body, seventy-odd characters long.....\r\n".repeat(150);
    let message = format!("{MESSAGE}{body}");
    for (label, keys) in [("rsa+ed25519", 2), ("none", 0)] {
        let origin = match keys {
            0 => Origin::default(),
            _ => alice(),
        };
        let n = 500;
        let start = Instant::now();
        for _ in 0..n {
            sign_message(&store, &origin, &mut message.as_bytes()).unwrap();
        }
        let each = start.elapsed() / n;
        println!("{label}: {each:?} per {}-octet message", message.len());
    }
}
