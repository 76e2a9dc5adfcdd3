//! Outbound message authentication (issue 15, SPEC P8): DKIM keys
//! (RFC 6376 RSA, RFC 8463 Ed25519), signing mail that leaves for other
//! domains, and the DNS records a domain publishes.
//!
//! - [`arc`]: the ARC set a forwarding domain adds (RFC 8617 §5.1).
//! - [`keys`]: making a key pair and the TXT record of its public key.
//! - [`sign`]: the signer over a message read once (relaxed/relaxed, From
//!   over-signed), one DKIM-Signature per key of the signing domain.
//! - [`origin`]: which local domain signs a message.
//! - [`records`]: the DNS records a domain publishes, and checking them.
//! - [`outbound`]: the one call the SMTP session and the DSN builder make,
//!   with the keys the store keeps.

pub mod arc;
pub mod keys;
pub mod origin;
pub mod outbound;
pub mod records;
pub mod sign;

pub use keys::{Algorithm, GeneratedKey};
pub use origin::Origin;

/// What can go wrong making keys or signing.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("store: {0}")]
    Store(#[from] postern_store::StoreError),
    #[error("reading the message: {0}")]
    Io(#[from] std::io::Error),
    /// A stored key that does not parse as its algorithm's.
    #[error("DKIM key {selector} of {domain}: {reason}")]
    Key {
        domain: String,
        selector: String,
        reason: String,
    },
    #[error("signing: {0}")]
    Sign(String),
    #[error("making a key: {0}")]
    Generate(String),
}

#[cfg(test)]
mod tests;
