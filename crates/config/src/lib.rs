//! Postern's configuration: `postern.toml` in the data directory.
//!
//! [`Config::load`] reads and validates the file (defaults when it is absent);
//! [`edit`] reads and changes single keys in place, keeping comments, the way
//! Postfix's `postconf -e` does.

mod access;
mod archive;
mod attachment;
mod auth;
mod av;
mod backup;
pub mod backup_schedule;
mod delivery;
mod dnsbl;
pub mod edit;
mod fetch;
mod greylist;
mod imap;
mod login_guard;
mod model;
mod msgauth;
mod password_policy;
mod spam;
mod template;
mod units;

pub use access::{
    Access, ListenerAccess, ADMIN_LISTENER, HTTPS_LISTENER, HTTP_LISTENER, LOOPBACK_GROUP,
    METRICS_ACCESS,
};
pub use archive::{Archive, ArchivePeriod};
pub use attachment::{Attachment, AttachmentAction};
pub use auth::{Auth, MECHANISMS};
pub use av::{Av, EngineFailure, Forward, UnscannableAction, VirusAction, MAX_AV_DEPTH};
pub use backup::Backup;
pub use delivery::{Delivery, OptDuration, Relay, RelayTls, TlsPolicy};
pub use dnsbl::{Dnsbl, ListAction, ListWhen, Uribl, MAX_LISTS};
pub use fetch::{Fetch, MIN_INTERVAL as FETCH_MIN_INTERVAL};
pub use greylist::Greylist;
pub use imap::Imap;
pub use login_guard::{Security, SecurityPolicy};
pub use model::*;
pub use msgauth::{
    DmarcAction, TempErrorAction, MAX_CHECK_TIMEOUT, MAX_DMARC_REPORT_INTERVAL,
    MIN_DMARC_REPORT_INTERVAL,
};
pub use password_policy::PolicyViolation;
pub use spam::{RejectAction, Spam};
pub use template::render_template;
pub use units::{parse_duration, parse_size, Duration, Size};

use std::path::{Path, PathBuf};

/// The config file's name inside the data directory.
pub const FILE_NAME: &str = "postern.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    #[error("invalid value for `{key}`: {message}")]
    InvalidValue { key: String, message: String },
}

/// Where the config file of a data directory lives.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

impl Config {
    /// Loads `DIR/postern.toml`, or the defaults when the file does not exist.
    pub fn load(data_dir: &Path) -> Result<Config, ConfigError> {
        let path = path_in(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                Config::parse(&text).map_err(|message| ConfigError::Invalid { path, message })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }
}
