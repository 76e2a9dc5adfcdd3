//! `postern tls csr|import|list` (issue 19 item 6, SPEC X6): a key and a
//! signing request for a CA, the signed chain checked and stored per host
//! name, and what is installed. A running server serves an import to new
//! connections within a second (postern_net::certs::watch).

use super::say;
use crate::cli::TlsCmd;
use crate::error::{CliError, Result};
use crate::serve::prepare::resolve;
use postern_config::Config;
use postern_net::certs::{self, csr, CertDir, CertError};
use std::io::Write;
use std::path::Path;
use tokio_rustls::rustls::pki_types::UnixTime;

impl From<CertError> for CliError {
    fn from(e: CertError) -> Self {
        CliError::Invalid(e.to_string())
    }
}

pub fn cert_dir(data: &Path, config: &Config) -> CertDir {
    CertDir::new(
        data,
        resolve(data, &config.tls.cert),
        resolve(data, &config.tls.key),
    )
}

pub fn run(data: &Path, config: &Config, cmd: TlsCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        TlsCmd::Csr { host, rsa } => request(data, &host, rsa, out),
        TlsCmd::Import {
            cert,
            key,
            host,
            default,
        } => {
            let read = |p: &Path| std::fs::read(p).map_err(|e| CliError::io(p, e));
            let checked = certs::check(&read(&cert)?, &read(&key)?, &host, now())?;
            let dir = cert_dir(data, config);
            let name = match default {
                true => dir
                    .install_default(&checked)
                    .map(|_| "default".to_string())?,
                false => dir.install(&checked)?,
            };
            say(
                out,
                format_args!("imported {name}: {}", checked.hosts.join(" ")),
            )
        }
        TlsCmd::List => {
            for c in cert_dir(data, config).list()? {
                let until = postern_net::security::rfc3339(c.not_after);
                let hosts = c.hosts.join(",");
                say(
                    out,
                    format_args!("{}\t{hosts}\t{until}\t{}\t{}", c.name, c.subject, c.issuer),
                )?;
            }
            Ok(())
        }
    }
}

fn now() -> UnixTime {
    UnixTime::now()
}

/// Writes DATA/tls/requests/HOST.key (0600) and HOST.csr; prints the CSR.
fn request(data: &Path, hosts: &[String], rsa: Option<usize>, out: &mut dyn Write) -> Result<()> {
    let kind = rsa.map_or(csr::KeyKind::EcdsaP256, csr::KeyKind::Rsa);
    let r = csr::request(hosts, kind)?;
    let dir = data.join("tls/requests");
    std::fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir, e))?;
    let base = hosts[0].replace('*', "_wildcard");
    let (key, req) = (
        dir.join(format!("{base}.key")),
        dir.join(format!("{base}.csr")),
    );
    certs::dir::write(&key, r.key_pem.as_bytes(), 0o600)?;
    certs::dir::write(&req, r.csr_pem.as_bytes(), 0o644)?;
    say(out, format_args!("key: {}", key.display()))?;
    say(out, format_args!("csr: {}", req.display()))?;
    write!(out, "{}", r.csr_pem).map_err(CliError::stdout)
}
