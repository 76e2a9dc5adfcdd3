//! Certificates per host name (issue 19 item 6, SPEC X6): imported chains
//! under `DATA/tls/hosts/NAME/`, each served to clients that ask for one of
//! its host names by SNI (RFC 6066 §3), the installation's own certificate
//! (`tls.cert`, `tls.key`) to everyone else. An import is checked before it
//! is stored ([`check`]); the running server re-reads the directory when it
//! changes ([`watch`]) and uses the new certificates for new connections.

pub mod acme;
pub mod check;
pub mod csr;
pub mod dir;
pub mod resolver;
pub mod watch;

pub use check::{check, Checked};
pub use dir::{CertDir, Installed};
pub use resolver::SniResolver;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Pem(String),
    #[error("the private key does not belong to the certificate ({0})")]
    KeyMismatch(String),
    #[error("the chain is incomplete or does not verify ({0}): put the host's certificate first, then each intermediate certificate in order")]
    Chain(String),
    #[error("the certificate is not valid now ({0})")]
    Validity(String),
    #[error("the certificate is not valid for {0}")]
    HostNotCovered(String),
    #[error("{0}")]
    Invalid(String),
    #[error("ACME: {0}")]
    Acme(String),
    #[error("ACME server unreachable: {0}")]
    AcmeTransport(String),
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
    move |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    }
}
