//! `postern dkim generate|list|del` (SPEC P8). `generate` prints, on
//! stdout, a zone-file comment and the TXT record to publish; the private
//! key never leaves the store, where it is sealed with the server key.

use super::say;
use crate::cli::DkimCmd;
use crate::error::{CliError, Result};
use postern_directory::prelude::*;
use postern_directory::NewDkimKey;
use postern_dkim::keys::{self, Algorithm};
use postern_net::security::rfc3339;
use postern_store::{Store, StoreError};
use std::io::Write;

pub fn run(store: &Store, cmd: DkimCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        DkimCmd::Generate {
            domain,
            selector,
            algorithm,
        } => generate(store, &domain, selector, &algorithm, out),
        DkimCmd::List => store.dkim_keys(None)?.iter().try_for_each(|k| {
            let line = [
                k.domain.as_str(),
                &k.selector,
                &k.algorithm,
                &rfc3339(k.created),
            ];
            say(out, line.join("\t"))
        }),
        DkimCmd::Del { domain, selector } => {
            store.dkim_key_del(&domain, &selector)?;
            say(
                out,
                format_args!(
                    "DKIM key {selector} of {domain} deleted; mail is no longer signed with it"
                ),
            )
        }
    }
}

fn generate(
    store: &Store,
    domain: &str,
    selector: Option<String>,
    algorithm: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let algorithm = Algorithm::parse(algorithm).ok_or_else(|| {
        CliError::Invalid(format!(
            "unknown DKIM algorithm `{algorithm}`: rsa or ed25519"
        ))
    })?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let selector = selector.unwrap_or_else(|| default_selector(algorithm));
    // Refused before the (slow) key generation: unknown domain, selector taken.
    if !store.is_local_domain(&domain)? {
        return Err(StoreError::Invalid(format!(
            "domain {domain} is not a local domain: add it first with `postern domain add {domain}`"
        ))
        .into());
    }
    let taken = store.dkim_keys(Some(&domain))?;
    if taken
        .iter()
        .any(|k| k.selector.eq_ignore_ascii_case(&selector))
    {
        return Err(StoreError::Exists(format!("DKIM selector {selector} of {domain}")).into());
    }
    let key = keys::generate(algorithm).map_err(|e| CliError::Invalid(e.to_string()))?;
    store.dkim_key_add(&NewDkimKey {
        domain: &domain,
        selector: &selector,
        algorithm: algorithm.name(),
        public_key: &key.public_key,
        private_key: &key.private_key,
    })?;
    say(
        out,
        format_args!(
            "; DKIM key {selector} of {domain} ({}): publish this record; mail is signed with it from now on",
            algorithm.name()
        ),
    )?;
    say(
        out,
        txt_line(&selector, &domain, algorithm, &key.public_key),
    )
}

/// The key's TXT record in zone-file form, on one line.
pub fn txt_line(selector: &str, domain: &str, algorithm: Algorithm, public_key: &[u8]) -> String {
    let text = keys::txt_record(algorithm, public_key);
    format!(
        "{}. {} IN TXT {}",
        keys::record_name(selector, domain),
        postern_dkim::records::TTL,
        keys::zone_strings(&text)
    )
}

/// The algorithm and this month (UTC): `rsa202612`. A key made each month
/// or so for rotation gets a new name without thinking.
fn default_selector(algorithm: Algorithm) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{}{:04}{:02}",
        algorithm.name(),
        now.year(),
        u8::from(now.month())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_selector_is_algorithm_and_month() {
        let s = default_selector(Algorithm::Ed25519);
        assert!(
            s.starts_with("ed25519") && s.len() == "ed25519".len() + 6,
            "{s}"
        );
        assert!(s["ed25519".len()..].chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn txt_line_is_a_zone_file_record() {
        let line = txt_line("s1", "example.org", Algorithm::Ed25519, &[0; 32]);
        assert_eq!(
            line,
            "s1._domainkey.example.org. 3600 IN TXT \"v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""
        );
    }
}
