//! The one call made before a message for other domains is queued (the SMTP
//! session, the DSN builder): find the signing domain's keys in the store,
//! sign, return the fields to send before the message. Blocking (SQLite and
//! a read of the body): call it from `spawn_blocking`.

use crate::origin::Origin;
use crate::sign::{self, Key};
use crate::DkimError;
use postern_directory::prelude::*;
use postern_directory::DkimPrivateKey;
use postern_store::Store;
use std::io::Read;

/// A header block longer than this is signed as it is, but only the fields
/// within it are chosen for `h=` (the session keeps no more either).
pub const MAX_HEADER_SCAN: usize = 1024 * 1024;

/// What signing did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Signed {
    /// DKIM-Signature fields, CRLF-terminated; empty when nothing signed.
    pub fields: Vec<u8>,
    /// The signing domain and its selectors, for the mail log.
    pub domain: String,
    pub selectors: Vec<String>,
}

/// Signs `message` with the keys of the first of `origin`'s candidate
/// domains that has any; unsigned (empty) when none has.
pub fn sign_message(
    store: &Store,
    origin: &Origin,
    message: &mut impl Read,
) -> Result<Signed, DkimError> {
    let Some((domain, stored)) = signing_keys(store, origin)? else {
        return Ok(Signed::default());
    };
    let start = sign::read_header(message, MAX_HEADER_SCAN)?;
    let fields = sign::fields_to_sign(&start);
    let keys = stored
        .iter()
        .map(|k| Key::open(&domain, k, &fields))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = sign::sign(&keys, &start, message)?;
    Ok(Signed {
        fields,
        selectors: stored.into_iter().map(|k| k.selector).collect(),
        domain,
    })
}

/// Signs a message the server writes itself (DSNs, antivirus notices) as
/// From `address` (MAILER-DAEMON@host, postmaster@host): by that domain,
/// or the nearest parent with keys.
pub fn sign_own(store: &Store, address: &str, message: &[u8]) -> Result<Signed, DkimError> {
    let origin = Origin {
        from: Some(address.to_string()),
        from_checked: true,
        forwarded_by: None,
    };
    sign_message(store, &origin, &mut &message[..])
}

fn signing_keys(
    store: &Store,
    origin: &Origin,
) -> Result<Option<(String, Vec<DkimPrivateKey>)>, DkimError> {
    for domain in origin.candidates() {
        let keys = store.dkim_signing_keys(&domain)?;
        if !keys.is_empty() {
            return Ok(Some((domain, keys)));
        }
    }
    Ok(None)
}
