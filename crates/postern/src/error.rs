//! The CLI's error: every failure a command can meet, each with a message an
//! admin can act on (the underlying crates' messages already name the object).

use postern_config::ConfigError;
use postern_net::tls::TlsError;
use postern_store::StoreError;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A mistake on the command line or in its input.
    #[error("{0}")]
    Invalid(String),
    /// `serve` stopped with an error.
    #[error("{0}")]
    Serve(String),
}

impl CliError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A failed write of the command's output.
    pub fn stdout(source: std::io::Error) -> Self {
        CliError::Io {
            path: "<stdout>".into(),
            source,
        }
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
