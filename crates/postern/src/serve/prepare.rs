//! First start: the data directory, a commented config and a certificate
//! unique to this installation, created when missing.

use postern_config::Config;
use postern_net::certs::{CertDir, SniResolver};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Creates DIR and DIR/postern.toml (for this machine's host name) when missing.
pub fn ensure_data_dir(data_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let path = postern_config::path_in(data_dir);
    if !path.exists() {
        let text = postern_config::render_template(&system_hostname());
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("postern: created {}", path.display());
    }
    Ok(())
}

/// The machine's host name, for a first config.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".into())
}

/// A config path relative to the data directory unless absolute.
pub fn resolve(data_dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

/// The acceptor choosing each connection's certificate by SNI among the
/// default and the imported ones, and what keeps it up to date.
pub fn tls(data_dir: &Path, config: &Config) -> Result<(Option<TlsAcceptor>, CertWatch), String> {
    tls_acceptor(data_dir, config)?;
    let dir = CertDir::new(
        data_dir,
        resolve(data_dir, &config.tls.cert),
        resolve(data_dir, &config.tls.key),
    )
    .with_server_host(&config.server.hostname);
    let (table, problems) = dir.load().map_err(|e| format!("TLS: {e}"))?;
    for p in problems {
        eprintln!("postern: TLS: skipped {p}");
    }
    let resolver = Arc::new(SniResolver::new(table));
    let acceptor =
        postern_net::tls::acceptor_with(resolver.clone()).map_err(|e| format!("TLS: {e}"))?;
    let http01 = Default::default();
    let watch = CertWatch {
        dir,
        resolver,
        http01,
    };
    Ok((Some(acceptor), watch))
}

/// Re-reads the certificates when their files change (certs::watch).
pub struct CertWatch {
    dir: CertDir,
    resolver: Arc<SniResolver>,
    /// The pending HTTP-01 answers, which the `http` listener serves.
    pub http01: Arc<postern_net::certs::acme::http01::Http01>,
}

impl CertWatch {
    /// Re-reads the files on change; with `tls.acme_directory`, also obtains
    /// and renews the server's certificates (certs::acme::renew).
    pub fn spawn(
        self,
        data_dir: &Path,
        config: tokio::sync::watch::Receiver<Arc<Config>>,
        clock: Arc<dyn postern_net::clock::Clock>,
        logs: postern_logs::Logs,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        use postern_net::certs::acme::{renew::renew_every, Responders};
        let responders = Responders {
            tls: self.resolver.clone(),
            http: self.http01.clone(),
        };
        let (dir, data) = (self.dir.clone(), data_dir.to_path_buf());
        let (l, s) = (logs.clone(), stop.clone());
        tokio::spawn(renew_every(config, data, responders, dir, clock, l, s));
        tokio::spawn(postern_net::certs::watch::watch(
            self.dir,
            self.resolver,
            logs,
            stop,
        ));
    }
}

/// Loads the certificate, generating a self-signed one first when neither file exists.
pub fn tls_acceptor(data_dir: &Path, config: &Config) -> Result<Option<TlsAcceptor>, String> {
    let cert = resolve(data_dir, &config.tls.cert);
    let key = resolve(data_dir, &config.tls.key);
    if !cert.exists() && !key.exists() {
        postern_net::tls::generate_self_signed(&config.server.hostname, &cert, &key)
            .map_err(|e| e.to_string())?;
        eprintln!(
            "postern: generated a self-signed certificate for {} in {}",
            config.server.hostname,
            cert.display()
        );
    }
    postern_net::tls::acceptor(&cert, &key)
        .map(Some)
        .map_err(|e| format!("TLS: {e}"))
}
