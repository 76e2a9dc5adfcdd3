//! `postern fetch add|list|del|run`: the remote POP3 accounts the server
//! fetches into local users (SPEC M7, issue 21 item 5). The password comes
//! from stdin and is sealed with the server key. `run` asks the running
//! server (the one place messages are delivered) and waits for its answer.

use super::{password, say};
use crate::error::{CliError, Result};
use crate::serve::pidfile;
use clap::{Args, Subcommand};
use postern_store::fetch_accounts::{FetchAccount, FetchTls, NewFetchAccount};
use postern_store::Store;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long `fetch run` waits for the server to finish the runs it asked for.
const RUN_WAIT: Duration = Duration::from_secs(600);
/// How often it looks.
const RUN_POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Subcommand)]
pub enum FetchCmd {
    /// Fetch a remote POP3 mailbox into ADDR's INBOX (the password: first line of stdin).
    Add(AddArgs),
    /// List accounts: ID, USER, SERVER, TLS, REMOTE-USER, OPTIONS, LAST-RUN, LAST-RESULT (tab-separated).
    List,
    /// Delete an account (and its record of what was fetched).
    Del { id: i64 },
    /// Fetch now (one account, or all), through the running server; prints each result.
    Run { id: Option<i64> },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The local user the mail goes to (in domain-mailbox mode: the owner).
    pub address: String,
    #[arg(long)]
    pub host: String,
    /// Default: 995 with implicit TLS, else 110.
    #[arg(long)]
    pub port: Option<u16>,
    /// The remote user name.
    #[arg(long)]
    pub user: String,
    #[command(flatten)]
    pub password: crate::cli::PasswordSource,
    #[arg(
        long,
        value_name = "implicit|starttls|none",
        default_value = "implicit"
    )]
    pub tls: String,
    /// Accept a certificate that does not verify (self-signed test servers).
    #[arg(long)]
    pub insecure: bool,
    /// Extra CA certificates (PEM) to verify the remote's certificate with.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Log in with APOP (RFC 1939 §7) instead of USER/PASS.
    #[arg(long)]
    pub apop: bool,
    /// Leave messages on the server (each fetched once, by its UIDL).
    #[arg(long)]
    pub keep: bool,
    /// With --keep: delete a message DAYS after it was fetched.
    #[arg(long, value_name = "DAYS", requires = "keep")]
    pub delete_after: Option<u32>,
    /// Fetch every DURATION (e.g. 5m) instead of `fetch.interval`.
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Sort each message to the local users its Delivered-To, X-Original-To,
    /// To and Cc name; what names none goes to --fallback.
    #[arg(long, requires = "fallback")]
    pub domain_mailbox: bool,
    #[arg(long, value_name = "ADDR", requires = "domain_mailbox")]
    pub fallback: Option<String>,
}

pub fn run(data: &Path, store: &Store, cmd: FetchCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        FetchCmd::Add(args) => add(store, &args, &mut std::io::stdin().lock(), out),
        FetchCmd::List => {
            for a in store.fetch_accounts()? {
                say(out, row(&a))?;
            }
            Ok(())
        }
        FetchCmd::Del { id } => {
            store.fetch_del(id)?;
            say(out, format!("deleted fetch account {id}"))
        }
        FetchCmd::Run { id } => run_now(data, store, id, out),
    }
}

fn add(
    store: &Store,
    a: &AddArgs,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
) -> Result<()> {
    let tls = FetchTls::parse(&a.tls)
        .ok_or_else(|| CliError::Invalid(format!("--tls {}: implicit, starttls or none", a.tls)))?;
    let interval = match &a.interval {
        None => None,
        Some(d) => {
            let d = postern_config::parse_duration(d).map_err(CliError::Invalid)?;
            if d < postern_config::FETCH_MIN_INTERVAL {
                return Err(CliError::Invalid("--interval: at least 1m".into()));
            }
            Some(d.as_secs())
        }
    };
    // The server reads it later, from its own working directory.
    let ca_file = match &a.ca_file {
        Some(p) => Some(
            std::fs::canonicalize(p)
                .map_err(|e| CliError::io(p, e))?
                .display()
                .to_string(),
        ),
        None => None,
    };
    let password = password::read(stdin)?;
    let port = a
        .port
        .unwrap_or(if tls == FetchTls::Implicit { 995 } else { 110 });
    let id = store.fetch_add(&NewFetchAccount {
        owner: &a.address,
        host: &a.host,
        port,
        tls,
        tls_verify: !a.insecure,
        ca_file: ca_file.as_deref(),
        username: &a.user,
        password: password.expose().as_bytes(),
        apop: a.apop,
        keep: a.keep,
        delete_after_days: a.delete_after,
        interval_secs: interval,
        fallback: a.fallback.as_deref(),
    })?;
    if tls == FetchTls::None && !a.apop {
        eprintln!("postern: warning: with --tls none the password crosses the network in the clear (USER/PASS)");
    }
    say(out, format!("added fetch account {id}"))
}

fn row(a: &FetchAccount) -> String {
    let mut opts = vec![if a.apop { "apop" } else { "user-pass" }];
    let after = a.delete_after_days.map(|d| format!("delete-after={d}d"));
    let every = a.interval_secs.map(|s| format!("interval={s}s"));
    let fallback = a
        .fallback
        .as_ref()
        .map(|f| format!("domain-mailbox fallback={f}"));
    opts.push(if a.keep { "keep" } else { "delete" });
    if !a.tls_verify {
        opts.push("insecure");
    }
    let extra = [after, every, fallback].into_iter().flatten();
    let opts: Vec<String> = opts.into_iter().map(String::from).chain(extra).collect();
    let last = a
        .last_run
        .map_or("never".to_string(), postern_net::security::rfc3339);
    format!(
        "{}\t{}\t{}:{}\t{}\t{}\t{}\t{}\t{}",
        a.id,
        a.owner,
        a.host,
        a.port,
        a.tls.as_str(),
        a.username,
        opts.join(","),
        last,
        a.last_result.as_deref().unwrap_or("-")
    )
}

/// Asks the running server for a run and prints `ID USER RESULT` per account.
fn run_now(data: &Path, store: &Store, id: Option<i64>, out: &mut dyn Write) -> Result<()> {
    pidfile::running_pid(data).map_err(|e| {
        CliError::Invalid(format!(
            "{e}: fetching is done by the server (`postern serve`)"
        ))
    })?;
    let asked = store.fetch_request_run(id)?;
    let deadline = Instant::now() + RUN_WAIT;
    let mut failed = false;
    for a in asked {
        let done = loop {
            match store.fetch_account(a.id)? {
                Some(now) if now.run_done >= a.run_requested => break now,
                Some(_) if Instant::now() < deadline => std::thread::sleep(RUN_POLL),
                Some(_) => {
                    return Err(CliError::Invalid(format!(
                        "fetch account {}: the server did not finish within {}s",
                        a.id,
                        RUN_WAIT.as_secs()
                    )))
                }
                None => {
                    return Err(CliError::Invalid(format!(
                        "fetch account {} was deleted",
                        a.id
                    )))
                }
            }
        };
        let result = done.last_result.unwrap_or_default();
        failed |= !result.starts_with("ok");
        say(out, format!("{}\t{}\t{}", done.id, done.owner, result))?;
    }
    match failed {
        true => Err(CliError::Invalid("a fetch failed".into())),
        false => Ok(()),
    }
}
