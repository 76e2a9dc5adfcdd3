//! ARC sealing (RFC 8617 §5.1): the forwarding domain adds one ARC set —
//! ARC-Authentication-Results (what we found when the message came in),
//! ARC-Message-Signature and ARC-Seal — so the next hop can see that the
//! message passed authentication here even when forwarding breaks SPF.
//! The verification of the incoming chain (cv=) is the caller's: it needs DNS.

use crate::keys::Algorithm;
use crate::sign::fields_to_sign;
use crate::DkimError;
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::Canonicalization;
use mail_auth::{ArcOutput, AuthenticatedMessage, AuthenticationResults};
use postern_directory::prelude::*;
use postern_directory::DkimPrivateKey;
use postern_store::Store;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer};

/// RFC 8617 §4.2.1: i= runs from 1 to 50; a chain at its end cannot be extended.
pub const MAX_ARC_INSTANCE: u32 = 50;

/// The sealing key of `domain`: its first RSA key. RFC 8617 §4.1.3 (by way of
/// RFC 6376) allows rsa-sha256 only, so an Ed25519-only domain does not seal.
pub fn sealing_key(store: &Store, domain: &str) -> Result<Option<DkimPrivateKey>, DkimError> {
    let keys = store.dkim_signing_keys(domain)?;
    Ok(keys
        .into_iter()
        .find(|k| Algorithm::parse(&k.algorithm) == Some(Algorithm::Rsa)))
}

/// One ARC set for `message`, CRLF-terminated fields to put on top of it.
/// `results` is our Authentication-Results value after the authserv-id
/// (`"mx.example.org; spf=pass …"`, one line); `chain` is the incoming
/// chain as verified (cv=none when empty, pass or fail after it).
pub fn seal(
    domain: &str,
    key: &DkimPrivateKey,
    message: &AuthenticatedMessage<'_>,
    results: &str,
    chain: &ArcOutput<'_>,
) -> Result<Vec<u8>, DkimError> {
    let bad = |reason: String| DkimError::Key {
        domain: domain.to_string(),
        selector: key.selector.clone(),
        reason,
    };
    if chain.sets().len() as u32 >= MAX_ARC_INSTANCE {
        return Err(DkimError::Sign(format!(
            "the ARC chain already has {MAX_ARC_INSTANCE} sets (RFC 8617 §4.2.1)"
        )));
    }
    let der = key.private_key.expose();
    let der = PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der.as_slice()));
    let rsa = RsaKey::<Sha256>::from_key_der(der).map_err(|e| bad(e.to_string()))?;
    let header_end = (message.body_offset as usize).min(message.raw_message.len());
    let fields = fields_to_sign(&message.raw_message[..header_end]);
    // mail-auth writes the "hostname" verbatim after "i=N; ": the whole value, unfolded.
    let value = one_line(results);
    let aar = AuthenticationResults::new(&value);
    let set = ArcSealer::from_key(rsa)
        .domain(domain)
        .selector(&key.selector)
        .headers(fields)
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
        .seal(message, &aar, chain)
        .map_err(|e| DkimError::Sign(e.to_string()))?;
    Ok(set.to_header().into_bytes())
}

/// A header value unfolded, each run of white space one space (RFC 6376
/// §3.4.2 relaxed canonicalisation leaves it as it is: what is signed is what is sent).
fn one_line(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{generate, txt_record};
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
    use mail_auth::hickory_resolver::name_server::TokioConnectionProvider;
    use mail_auth::hickory_resolver::TokioResolver;
    use postern_filter::{verify_arc_chain, Lookups, Zone};

    /// Lookups answered from a zone holding the key; nothing else is asked.
    fn lookups(record: &str) -> Lookups {
        let zone = Zone::default();
        zone.txt(
            "s1._domainkey.example.org",
            DomainKey::parse(record.as_bytes()),
        );
        let group = NameServerConfigGroup::from_ips_clear(&["127.0.0.1".parse().unwrap()], 9, true);
        let resolver = TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], group),
            TokioConnectionProvider::default(),
        )
        .build();
        Lookups::with_zone(resolver, zone)
    }

    async fn seal_once(
        lookups: &Lookups,
        key: &DkimPrivateKey,
        msg: &[u8],
    ) -> Result<Vec<u8>, DkimError> {
        let parsed = AuthenticatedMessage::parse(msg).unwrap();
        verify_arc_chain(lookups, &parsed, |chain| {
            let cv = chain.result().clone();
            assert!(
                matches!(
                    cv,
                    mail_auth::DkimResult::Pass | mail_auth::DkimResult::None
                ),
                "{cv:?}"
            );
            seal(
                "example.org",
                key,
                &parsed,
                "mx.example.org; arc=pass",
                chain,
            )
        })
        .await
    }

    #[tokio::test]
    async fn a_chain_of_fifty_sets_is_not_extended() {
        let g = generate(Algorithm::Rsa).unwrap();
        let key = DkimPrivateKey {
            selector: "s1".into(),
            algorithm: "rsa".into(),
            private_key: postern_store::Secret::new(g.private_key.to_vec()),
        };
        let lookups = lookups(&txt_record(Algorithm::Rsa, &g.public_key));
        let mut msg =
            b"From: a@example.org\r\nTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n".to_vec();
        for _ in 0..MAX_ARC_INSTANCE {
            let set = seal_once(&lookups, &key, &msg).await.unwrap();
            msg = [set, msg].concat();
        }
        let err = seal_once(&lookups, &key, &msg).await.unwrap_err();
        assert!(err.to_string().contains("already has 50 sets"), "{err}");
    }

    #[test]
    fn results_are_unfolded_to_single_spaces() {
        assert_eq!(
            super::one_line("mx.example.org;\r\n\tspf=pass  smtp.mailfrom=a@b;\r\n dkim=none "),
            "mx.example.org; spf=pass smtp.mailfrom=a@b; dkim=none"
        );
    }
}
