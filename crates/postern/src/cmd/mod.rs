//! Runs a parsed command. Each command family lives in its own file; this one
//! finds the data directory and opens the store for the families that need it.

mod alias;
mod archive;
pub(crate) mod attachment_rule;
mod av;
mod av_quarantine;
mod av_scan;
mod backup;
mod config;
mod delegation;
mod dkim;
mod dmarc;
mod dns;
mod domain;
mod encryption;
mod export;
pub(crate) mod fetch;
mod group;
mod import;
mod init;
mod ipgroup;
mod password;
mod queue;
mod reload;
mod security;
mod serve;
mod size_limit;
pub(crate) mod spam;
mod spam_dns;
mod spam_lists;
pub(crate) mod spam_rule;
mod spam_sources;
mod status;
mod status_fetch;
pub(crate) mod tls;
mod token;
pub(crate) mod user;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Result};
use postern_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `cli`, writing its normal output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    // `backup verify DEST` reads a backup alone: no data directory needed.
    if let Command::Backup(args) = &cli.command {
        if let Some(crate::cli::BackupCmd::Verify { dest }) = &args.cmd {
            return backup::verify(dest, out);
        }
    }
    let data = data_dir(cli.data)?;
    if let Some(key_file) = cli.key_file {
        postern_store::crypt::set_key_file(key_file);
    }
    match cli.command {
        Command::Encryption(cmd) => encryption::run(existing(&data)?, cmd, out),
        Command::Init(args) => init::run(&data, &args, out),
        Command::Serve(args) => serve::run(&data, &args),
        Command::Reload => reload::run(existing(&data)?, out),
        Command::Domain(cmd) => domain::run(&open_store(&data)?, cmd, out),
        Command::User(cmd) => {
            let store = open_store(&data)?;
            let config = postern_config::Config::load(&data)?;
            user::run(&store, &config, cmd, &mut std::io::stdin().lock(), out)
        }
        Command::Alias(cmd) => alias::run(&open_store(&data)?, cmd, out),
        Command::Group(cmd) => group::run(&open_store(&data)?, cmd, out),
        Command::Export(args) => export::run(&open_store(&data)?, &args, out),
        Command::Backup(args) => backup::run(&open_store(&data)?, &args, out),
        Command::Restore(args) => backup::restore(&data, &args, out),
        Command::Import(args) => import::run(&open_store(&data)?, &args, out),
        Command::Config(cmd) => config::run(existing(&data)?, cmd, out),
        Command::Queue(cmd) => queue::run(&open_store(&data)?, &data, cmd, out),
        Command::Ipgroup(cmd) => ipgroup::run(&open_store(&data)?, cmd, out),
        Command::Security(cmd) => security::run(&data, &open_store(&data)?, cmd, out),
        Command::Dkim(cmd) => dkim::run(&open_store(&data)?, cmd, out),
        Command::Dns(args) => {
            let config = postern_config::Config::load(existing(&data)?)?;
            dns::run(&open_store(&data)?, &config, &args, out)
        }
        Command::Token(cmd) => token::run(&open_store(&data)?, cmd, out),
        Command::Spam(cmd) => {
            let store = open_store(&data)?;
            let config = postern_config::Config::load(&data)?;
            spam::run(&store, &config, cmd, out)
        }
        Command::Dmarc(cmd) => {
            let config = postern_config::Config::load(&data)?;
            dmarc::run(&open_store(&data)?, &config, cmd, out)
        }
        Command::Status => status::run(&data, &open_store(&data)?, out),
        Command::Tls(cmd) => {
            let config = postern_config::Config::load(existing(&data)?)?;
            tls::run(&data, &config, cmd, out)
        }
        Command::Archive(cmd) => {
            let config = postern_config::Config::load(existing(&data)?)?;
            archive::run(&open_store(&data)?, &config, cmd, out)
        }
        Command::Av(cmd) => {
            let config = postern_config::Config::load(existing(&data)?)?;
            av::run(&data, &config, cmd, out)
        }
        Command::Fetch(cmd) => fetch::run(&data, &open_store(&data)?, cmd, out),
        Command::Attachment(crate::cli::AttachmentCmd::Rule(cmd)) => {
            attachment_rule::run(&open_store(&data)?, cmd, out)
        }
    }
}

/// Runs a command's store work on a runtime of its own: the store's async
/// interface runs its blocking work on the runtime's pool.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            path: "the runtime".into(),
            source,
        })?;
    Ok(rt.block_on(f))
}

fn data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(dir) if !dir.as_os_str().is_empty() => Ok(dir),
        _ => Err(CliError::Invalid(
            "no data directory: give --data DIR or set POSTERN_DATA".into(),
        )),
    }
}

/// The data directory, which must exist: a mistyped path must not quietly start a new installation.
fn existing(dir: &Path) -> Result<&Path> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(CliError::Invalid(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::Invalid(format!(
            "data directory {} does not exist: create it with `postern --data {} init`",
            dir.display(),
            dir.display()
        ))),
        Err(e) => Err(CliError::io(dir, e)),
    }
}

fn open_store(dir: &Path) -> Result<Store> {
    Ok(Store::open(existing(dir)?)?)
}

/// Writes one line of output.
fn say(out: &mut dyn Write, line: impl std::fmt::Display) -> Result<()> {
    writeln!(out, "{line}").map_err(CliError::stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_required() {
        assert!(data_dir(None)
            .unwrap_err()
            .to_string()
            .contains("--data DIR"));
        assert!(data_dir(Some(PathBuf::new())).is_err());
        assert_eq!(data_dir(Some("/x".into())).unwrap(), PathBuf::from("/x"));
    }

    #[test]
    fn missing_data_dir_refused() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        assert!(existing(&missing)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(!missing.exists(), "nothing created");
        assert!(existing(d.path()).is_ok());
    }
}
