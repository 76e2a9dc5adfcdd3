//! `postern init --hostname HOST --domain DOMAIN`: a new installation. Never
//! overwrites: an existing postern.toml, certificate or key stops it.

use super::say;
use crate::cli::InitArgs;
use crate::error::{CliError, Result};
use postern_config::{path_in, render_template, Config};
use postern_directory::prelude::*;
use postern_store::{Store, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(data: &Path, args: &InitArgs, out: &mut dyn Write) -> Result<()> {
    let text = render_template(&args.hostname);
    let config = checked_config(&text, &args.hostname)?;
    let (cert, key) = (
        resolve(data, &config.tls.cert),
        resolve(data, &config.tls.key),
    );
    for path in [path_in(data), cert.clone(), key.clone()] {
        refuse_existing(&path)?;
    }
    create_private_dir(data)?;
    let store = Store::open(data)?;
    say(out, format_args!("created store in {}", data.display()))?;
    add_domain(&store, &args.domain, out)?;
    generate_tls(&args.hostname, &cert, &key, out)?;
    write_new(&path_in(data), &text)?;
    say(out, format_args!("created {}", path_in(data).display()))
}

/// A fresh key and self-signed certificate, never reused from anywhere.
fn generate_tls(hostname: &str, cert: &Path, key: &Path, out: &mut dyn Write) -> Result<()> {
    for dir in [cert.parent(), key.parent()].into_iter().flatten() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    }
    postern_net::tls::generate_self_signed(hostname, cert, key)?;
    say(
        out,
        format_args!(
            "created self-signed certificate for {hostname}: {}",
            cert.display()
        ),
    )?;
    say(out, format_args!("created private key: {}", key.display()))
}

/// The rendered template must parse and keep the hostname exactly (no quoting tricks).
fn checked_config(text: &str, hostname: &str) -> Result<Config> {
    let bad = |why: String| CliError::Invalid(format!("--hostname `{hostname}`: {why}"));
    let config = Config::parse(text).map_err(bad)?;
    if config.server.hostname != hostname
        || !hostname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(bad("not a host name (letters, digits, '.' and '-')".into()));
    }
    Ok(config)
}

/// A path from the config: relative to the data directory unless absolute.
fn resolve(data: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data.join(p)
    }
}

/// Creates the data directory readable by its owner only (it holds mail and the TLS key).
fn create_private_dir(data: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if data.is_dir() {
        return Ok(());
    }
    if let Some(parent) = data.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| CliError::io(parent, e))?;
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(data)
        .map_err(|e| CliError::io(data, e))
}

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(CliError::Invalid(format!(
            "{} already exists: not overwriting it",
            path.display()
        )));
    }
    Ok(())
}

/// A domain already present (a store created before) is kept, not an error.
fn add_domain(store: &Store, domain: &str, out: &mut dyn Write) -> Result<()> {
    match store.domain_add(domain) {
        Ok(()) => say(out, format_args!("added domain {domain}")),
        Err(StoreError::Exists(_)) => say(out, format_args!("domain {domain} already present")),
        Err(e) => Err(e.into()),
    }
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    let io = |e| CliError::io(path, e);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_checked() {
        let ok = |h: &str| checked_config(&render_template(h), h);
        assert_eq!(
            ok("mx.example.org").unwrap().server.hostname,
            "mx.example.org"
        );
        assert!(ok("mx example").is_err());
        assert!(ok("x\" # ").is_err());
        assert!(ok("").is_err());
    }

    #[test]
    fn paths_resolve() {
        assert_eq!(
            resolve(Path::new("/d"), "tls/cert.pem"),
            PathBuf::from("/d/tls/cert.pem")
        );
        assert_eq!(
            resolve(Path::new("/d"), "/etc/c.pem"),
            PathBuf::from("/etc/c.pem")
        );
    }
}
