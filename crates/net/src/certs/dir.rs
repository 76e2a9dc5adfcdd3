//! Where certificates live: the default in `tls.cert` / `tls.key`, each
//! imported one in `DATA/tls/hosts/NAME/` (`cert.pem` the chain, `key.pem`
//! mode 0600, `hosts` one served name a line). An import is written into a
//! temporary directory, fsync'd and renamed into place, so the server never
//! reads half an import.

use super::check::{certified, parse_certs, parse_key, Checked};
use super::resolver::Table;
use super::{io_err, CertError};
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The directory of imported certificates under the data directory.
pub const HOSTS_DIR: &str = "tls/hosts";

#[derive(Clone, Debug)]
pub struct CertDir {
    pub hosts_dir: PathBuf,
    pub default_cert: PathBuf,
    pub default_key: PathBuf,
    /// `server.hostname`: while the default is the generated self-signed
    /// one, a certificate installed for this name is served in its place.
    pub server_host: Option<String>,
}

/// One certificate as `tls list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// `default`, or the directory's name.
    pub name: String,
    pub hosts: Vec<String>,
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_after: i64,
}

impl CertDir {
    pub fn new(data_dir: &Path, default_cert: PathBuf, default_key: PathBuf) -> CertDir {
        CertDir {
            hosts_dir: data_dir.join(HOSTS_DIR),
            default_cert,
            default_key,
            server_host: None,
        }
    }

    /// Serves the certificate installed for `host` (an ACME one, say) to
    /// clients that send no SNI, unless a default was imported.
    pub fn with_server_host(mut self, host: &str) -> CertDir {
        self.server_host = Some(host.trim_end_matches('.').to_ascii_lowercase());
        self
    }

    /// Stores a checked import under its first host name, replacing one of that name.
    pub fn install(&self, c: &Checked) -> Result<String, CertError> {
        let name = c.hosts[0].replace('*', "_wildcard");
        std::fs::create_dir_all(&self.hosts_dir).map_err(io_err(&self.hosts_dir))?;
        let tmp = self.hosts_dir.join(format!(".tmp-{name}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
        write(&tmp.join("cert.pem"), pem_chain(&c.certs).as_bytes(), 0o644)?;
        write(&tmp.join("key.pem"), pem_key(&c.key).as_bytes(), 0o600)?;
        write(
            &tmp.join("hosts"),
            format!("{}\n", c.hosts.join("\n")).as_bytes(),
            0o644,
        )?;
        let dest = self.hosts_dir.join(&name);
        let old = self.hosts_dir.join(format!(".old-{name}"));
        let _ = std::fs::remove_dir_all(&old);
        if dest.exists() {
            std::fs::rename(&dest, &old).map_err(io_err(&dest))?;
        }
        std::fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
        let _ = std::fs::remove_dir_all(&old);
        sync_dir(&self.hosts_dir)?;
        Ok(name)
    }

    /// Makes a checked import the default certificate (`tls.cert`, `tls.key`):
    /// each file written aside, fsync'd and renamed over the old one, the key first.
    pub fn install_default(&self, c: &Checked) -> Result<(), CertError> {
        for (path, text, mode) in [
            (&self.default_key, pem_key(&c.key), 0o600),
            (&self.default_cert, pem_chain(&c.certs), 0o644),
        ] {
            let tmp = path.with_extension("pem.tmp");
            write(&tmp, text.as_bytes(), mode)?;
            std::fs::rename(&tmp, path).map_err(io_err(path))?;
        }
        Ok(())
    }

    /// The imported certificates' directories, by name (hidden ones are in flight).
    fn entries(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&self.hosts_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(n, p)| !n.starts_with('.') && p.is_dir())
            .collect();
        out.sort();
        out
    }

    /// Everything the resolver serves, read from disk. A broken import is
    /// skipped (and reported), so it cannot take the others down.
    pub fn load(&self) -> Result<(Table, Vec<String>), CertError> {
        let (certs, key) = read_pair(&self.default_cert, &self.default_key)?;
        let generated = is_generated(&certs[0]);
        let default = Arc::new(certified(certs, &key)?);
        let (mut by_host, mut problems) = (HashMap::new(), Vec::new());
        for (name, path) in self.entries() {
            match read_entry(&path) {
                Ok((hosts, certified)) => {
                    let certified = Arc::new(certified);
                    for h in hosts {
                        by_host.insert(h, certified.clone());
                    }
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
        let mut table = Table { by_host, default };
        if let (true, Some(host)) = (generated, &self.server_host) {
            table.default = table.lookup(Some(host));
        }
        Ok((table, problems))
    }

    /// The default first, then each import.
    pub fn list(&self) -> Result<Vec<Installed>, CertError> {
        let (certs, _) = read_pair(&self.default_cert, &self.default_key)?;
        let mut out = vec![describe("default", dns_names(&certs[0])?, &certs[0])?];
        for (name, path) in self.entries() {
            let certs = parse_certs(&read(&path.join("cert.pem"))?)?;
            out.push(describe(&name, read_hosts(&path)?, &certs[0])?);
        }
        Ok(out)
    }

    /// Changes whenever a file the resolver reads changes (names and mtimes).
    pub fn fingerprint(&self) -> Vec<(PathBuf, Option<SystemTime>)> {
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut files = vec![self.default_cert.clone(), self.default_key.clone()];
        for (_, dir) in self.entries() {
            files.extend(["cert.pem", "key.pem", "hosts"].map(|f| dir.join(f)));
        }
        files
            .into_iter()
            .map(|f| (mtime(&f), f))
            .map(|(m, f)| (f, m))
            .collect()
    }
}

fn read_entry(dir: &Path) -> Result<(Vec<String>, rustls::sign::CertifiedKey), CertError> {
    let (certs, key) = read_pair(&dir.join("cert.pem"), &dir.join("key.pem"))?;
    Ok((read_hosts(dir)?, certified(certs, &key)?))
}

fn read_hosts(dir: &Path) -> Result<Vec<String>, CertError> {
    let text = String::from_utf8_lossy(&read(&dir.join("hosts"))?).into_owned();
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_ascii_lowercase)
        .collect())
}

fn read_pair(
    cert: &Path,
    key: &Path,
) -> Result<
    (
        Vec<CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    CertError,
> {
    Ok((parse_certs(&read(cert)?)?, parse_key(&read(key)?)?))
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(io_err(path))
}

/// True for the stand-in `tls::generate_self_signed` made (its own issuer,
/// organization [`crate::tls::SELF_SIGNED_ORG`]): no default was imported.
fn is_generated(leaf: &CertificateDer<'_>) -> bool {
    let Ok((_, x)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
        return false;
    };
    let ours = x
        .subject()
        .iter_organization()
        .any(|o| o.as_str() == Ok(crate::tls::SELF_SIGNED_ORG));
    ours && x.subject() == x.issuer()
}

fn describe(
    name: &str,
    hosts: Vec<String>,
    leaf: &CertificateDer<'_>,
) -> Result<Installed, CertError> {
    let (_, x) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| CertError::Pem(format!("{name}: cannot parse the certificate: {e}")))?;
    Ok(Installed {
        name: name.into(),
        hosts,
        subject: x.subject().to_string(),
        issuer: x.issuer().to_string(),
        not_after: x.validity().not_after.timestamp(),
    })
}

/// The DNS names of the leaf's subjectAltName, lower case.
pub fn dns_names(leaf: &CertificateDer<'_>) -> Result<Vec<String>, CertError> {
    use x509_parser::extensions::GeneralName;
    let (_, x) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| CertError::Pem(format!("cannot parse the certificate: {e}")))?;
    let san = x
        .subject_alternative_name()
        .map_err(|e| CertError::Pem(format!("bad subjectAltName: {e}")))?;
    Ok(san
        .map(|s| {
            s.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

fn pem_chain(certs: &[CertificateDer<'_>]) -> String {
    certs
        .iter()
        .map(|c| pem("CERTIFICATE", c.as_ref()))
        .collect()
}

fn pem_key(key: &rustls::pki_types::PrivateKeyDer<'_>) -> String {
    use rustls::pki_types::PrivateKeyDer as K;
    let label = match key {
        K::Pkcs1(_) => "RSA PRIVATE KEY",
        K::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    pem(label, key.secret_der())
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        body.join("\n")
    )
}

/// Writes `bytes` to `path` with `mode` (on creation) and fsyncs it.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io_err(path))
}

fn sync_dir(dir: &Path) -> Result<(), CertError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}
