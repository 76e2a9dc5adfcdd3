//! Address syntax the directory checks before it stores a name.

use postern_store::StoreError;

/// Splits `local@domain`, lowercasing the domain. `None` if there is no `@` or either side is empty.
pub fn split_address(address: &str) -> Option<(&str, String)> {
    let at = address.rfind('@')?;
    let (local, domain) = (&address[..at], &address[at + 1..]);
    if domain.is_empty() {
        return None;
    }
    Some((local, domain.to_ascii_lowercase()))
}

pub(crate) fn valid_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

pub(crate) fn valid_mailbox(address: &str) -> bool {
    match split_address(address) {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !local.contains(|c: char| {
                    c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c)
                })
                && valid_domain(&domain)
        }
        None => false,
    }
}

/// Refuses the first of `addresses` that is not a mailbox address, naming its role.
pub(crate) fn all_mailboxes(addresses: &[String], role: &str) -> Result<(), StoreError> {
    match addresses.iter().find(|a| !valid_mailbox(a)) {
        Some(a) => Err(StoreError::Invalid(format!(
            "{role} `{a}` is not an address"
        ))),
        None => Ok(()),
    }
}
