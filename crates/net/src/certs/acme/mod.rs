//! ACME (RFC 8555): the server's host names get a certificate from
//! `tls.acme_directory`, stored and served like an import. With TLS-ALPN-01
//! (RFC 8737, the default) the challenge is answered during the CA's
//! handshake on the https or admin listener (ALPN `acme-tls/1`), which the CA
//! reaches on port 443 (RFC 8737 §3); with HTTP-01 (RFC 8555 §8.3) by the
//! `http` listener on port 80 ([`http01`]). [`renew`] decides when; this
//! file obtains one.

pub mod challenge;
pub mod http01;
pub mod renew;

use super::{CertDir, CertError, SniResolver};
use http01::Http01;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use postern_config::AcmeChallenge;
use rustls::pki_types::UnixTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long one order may take from creation to the certificate.
pub const ORDER_TIMEOUT: Duration = Duration::from_secs(120);
/// Orders tried when the CA cannot be reached or drops a request (not when
/// it refuses), and the wait between them.
pub const TRANSPORT_ATTEMPTS: u32 = 3;
pub const TRANSPORT_RETRY: Duration = Duration::from_secs(2);

/// What the config says about ACME.
#[derive(Clone, Debug)]
pub struct Settings {
    pub directory: String,
    /// `mailto:` URIs.
    pub contact: Vec<String>,
    pub hosts: Vec<String>,
    /// A PEM root trusted for the directory's HTTPS instead of the system's (a test CA).
    pub ca_file: Option<PathBuf>,
    /// Where the account's key and URL are kept (one file per directory URL).
    pub account_file: PathBuf,
    /// The challenge answered.
    pub challenge: AcmeChallenge,
}

/// Where challenges are answered: TLS-ALPN-01 certificates by the TLS
/// resolver, HTTP-01 key authorizations by the `http` listener.
#[derive(Clone, Debug)]
pub struct Responders {
    pub tls: Arc<SniResolver>,
    pub http: Arc<Http01>,
}

impl Responders {
    fn clear(&self) {
        self.tls.clear_challenges();
        self.http.clear();
    }
}

fn acme(e: instant_acme::Error) -> CertError {
    use instant_acme::Error as E;
    match e {
        E::Other(_) | E::Hyper(_) | E::Http(_) => CertError::AcmeTransport(e.to_string()),
        e => CertError::Acme(e.to_string()),
    }
}

/// Orders, answers and installs a certificate for `s.hosts`; its name. A
/// request lost on the way is tried again a few times; a refusal is final.
pub async fn obtain(s: &Settings, to: &Responders, dir: &CertDir) -> Result<String, CertError> {
    let mut attempt = 1;
    loop {
        match obtain_once(s, to, dir).await {
            Err(CertError::AcmeTransport(_)) if attempt < TRANSPORT_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(TRANSPORT_RETRY).await;
            }
            r => return r,
        }
    }
}

async fn obtain_once(s: &Settings, to: &Responders, dir: &CertDir) -> Result<String, CertError> {
    let account = account(s).await?;
    let ids: Vec<Identifier> = s.hosts.iter().map(|h| Identifier::Dns(h.clone())).collect();
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .map_err(acme)?;
    let result = tokio::time::timeout(ORDER_TIMEOUT, async {
        answer(&mut order, s.challenge, to).await?;
        let retry = RetryPolicy::new().timeout(ORDER_TIMEOUT);
        match order.poll_ready(&retry).await.map_err(acme)? {
            OrderStatus::Ready => {}
            other => {
                return Err(CertError::Acme(format!(
                    "the order is {other:?}: the CA could not validate the challenge"
                )))
            }
        }
        let (csr, key_pem) = challenge::request(&s.hosts)?;
        order.finalize_csr(&csr).await.map_err(acme)?;
        let chain = order.poll_certificate(&retry).await.map_err(acme)?;
        let checked = super::check(
            chain.as_bytes(),
            key_pem.as_bytes(),
            &s.hosts,
            UnixTime::now(),
        )?;
        dir.install(&checked)
    })
    .await
    .unwrap_or_else(|_| Err(CertError::Acme("the order timed out".into())));
    to.clear();
    result
}

/// Puts up the answer to each pending authorization's challenge of `kind`
/// and tells the CA.
async fn answer(
    order: &mut instant_acme::Order,
    kind: AcmeChallenge,
    to: &Responders,
) -> Result<(), CertError> {
    let (wanted, name) = match kind {
        AcmeChallenge::TlsAlpn01 => (ChallengeType::TlsAlpn01, "tls-alpn-01"),
        AcmeChallenge::Http01 => (ChallengeType::Http01, "http-01"),
    };
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.map_err(acme)?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut ch = authz
            .challenge(wanted.clone())
            .ok_or_else(|| CertError::Acme(format!("the CA offers no {name} challenge")))?;
        let key_authorization = ch.key_authorization();
        match kind {
            AcmeChallenge::TlsAlpn01 => {
                let host = ch.identifier().to_string();
                let digest = key_authorization.digest();
                let cert = challenge::certificate(&host, digest.as_ref())?;
                to.tls.set_challenge(&host, cert);
            }
            // RFC 8555 §8.3: the body is the key authorization itself.
            AcmeChallenge::Http01 => to.http.set(&ch.token, key_authorization.as_str()),
        }
        ch.set_ready().await.map_err(acme)?;
    }
    Ok(())
}

/// The stored account, or a new one (then stored, mode 0600).
async fn account(s: &Settings) -> Result<Account, CertError> {
    let builder = || match &s.ca_file {
        Some(ca) => Account::builder_with_root(ca).map_err(acme),
        None => Account::builder().map_err(acme),
    };
    if let Ok(text) = std::fs::read(&s.account_file) {
        if let Ok(creds) = serde_json::from_slice::<AccountCredentials>(&text) {
            return builder()?.from_credentials(creds).await.map_err(acme);
        }
    }
    let contact: Vec<&str> = s.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, creds) = builder()?
        .create(&new, s.directory.clone(), None)
        .await
        .map_err(acme)?;
    let json = serde_json::to_vec(&creds).map_err(|e| CertError::Acme(e.to_string()))?;
    if let Some(parent) = s.account_file.parent() {
        std::fs::create_dir_all(parent).map_err(super::io_err(parent))?;
    }
    super::dir::write(&s.account_file, &json, 0o600)?;
    Ok(account)
}
