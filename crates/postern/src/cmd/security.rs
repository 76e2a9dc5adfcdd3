//! `postern security blocked|unblock IP|block IP [--for D]` (SPEC X7): the
//! addresses the brute-force guard or an admin blocked, read from, set and
//! lifted in the store while the server runs (it re-reads them every second).
//! An IPv6 address stands for its /64, the unit clients are counted by.
//! Lines of `security blocked`: `IP<TAB>SINCE<TAB>UNTIL<TAB>FAILURES<TAB>REASON`,
//! times in RFC 3339 UTC.

use super::say;
use crate::cli::SecurityCmd;
use crate::error::{CliError, Result};
use postern_directory::ipgroups::Block;
use postern_directory::prelude::*;
use postern_net::security::{rfc3339, MANUAL_BLOCK};
use postern_net::ClientKey;
use postern_store::Store;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(data: &Path, store: &Store, cmd: SecurityCmd, out: &mut dyn Write) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match cmd {
        SecurityCmd::Blocked => {
            let blocks = store.block_list(now)?;
            if blocks.is_empty() {
                return say(out, "no blocked addresses");
            }
            blocks.iter().try_for_each(|b| say(out, line(b)))
        }
        SecurityCmd::Unblock { ip } => {
            // An IPv6 address names its /64, the unit blocks are kept by.
            let addr = ip
                .parse::<ClientKey>()
                .map_err(|e| CliError::Invalid(e.to_string()))?
                .to_string();
            // Rows written before blocks were kept by /64 hold the address.
            let legacy = ip.trim().parse::<std::net::IpAddr>().ok();
            let legacy = legacy.map(|a| a.to_canonical().to_string());
            let lifted = store.block_del(&addr, now)?
                | legacy.is_some_and(|a| a != addr && store.block_del(&a, now).unwrap_or(false));
            if !lifted {
                return Err(CliError::Invalid(format!("{addr} is not blocked")));
            }
            log_unblock(data, &addr);
            say(out, format_args!("{addr} unblocked"))
        }
        SecurityCmd::Block { ip, duration } => {
            let block = manual_block(data, &ip, duration.as_deref(), now)?;
            store.block_put(&block)?;
            log_block(data, &block);
            say(
                out,
                format_args!("{} blocked until {}", block.ip, rfc3339(block.until)),
            )
        }
    }
}

/// The block `security block` writes: for `duration`, or the configured
/// `security.block_for`.
fn manual_block(data: &Path, ip: &str, duration: Option<&str>, now: i64) -> Result<Block> {
    let key = ip
        .parse::<ClientKey>()
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let secs = match duration {
        Some(d) => postern_config::parse_duration(d).map_err(CliError::Invalid)?,
        None => postern_config::Config::load(data)?.security.block_for.0,
    }
    .as_secs();
    if secs == 0 {
        return Err(CliError::Invalid("a block lasts at least 1s".into()));
    }
    let until = i64::try_from(secs)
        .ok()
        .and_then(|s| now.checked_add(s))
        .ok_or_else(|| CliError::Invalid(format!("{secs}s is too long")))?;
    Ok(Block {
        ip: key.to_string(),
        since: now,
        until,
        failures: 0,
        reason: MANUAL_BLOCK.into(),
    })
}

fn line(b: &Block) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        b.ip,
        rfc3339(b.since),
        rfc3339(b.until),
        b.failures,
        b.reason
    )
}

/// The security log's line for an unblock or block (SPEC X10); a log that
/// cannot be opened does not undo it.
fn security_log(data: &Path, fields: &[(&str, &str)]) {
    let json = postern_config::Config::load(data).is_ok_and(|c| c.log.json);
    if let Ok(logs) = postern_logs::Logs::open(data, json) {
        logs.security(fields);
    }
}

fn log_unblock(data: &Path, ip: &str) {
    security_log(
        data,
        &[
            ("event", "unblocked"),
            ("service", "cli"),
            ("client", ip),
            ("reason", "lifted by admin"),
        ],
    );
}

fn log_block(data: &Path, b: &Block) {
    security_log(
        data,
        &[
            ("event", "blocked"),
            ("service", "cli"),
            ("client", &b.ip),
            ("until", &rfc3339(b.until)),
            ("reason", MANUAL_BLOCK),
        ],
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn manual_block_duration_and_key() {
        let d = tempfile::tempdir().unwrap();
        let b = super::manual_block(d.path(), "2001:db8:1:2::9", Some("2h"), 1_000).unwrap();
        assert_eq!(
            (b.ip.as_str(), b.until, b.reason.as_str()),
            ("2001:db8:1:2::/64", 8_200, "manual")
        );
        let b = super::manual_block(d.path(), "::ffff:192.0.2.1", None, 0).unwrap();
        assert_eq!(
            (b.ip.as_str(), b.until),
            ("192.0.2.1", 300),
            "default block_for"
        );
        assert!(super::manual_block(d.path(), "192.0.2.1", Some("1d"), 0).is_ok());
        for (ip, d2) in [
            ("nowhere", None),
            ("192.0.2.1", Some("soon")),
            ("192.0.2.1", Some("0s")),
        ] {
            assert!(
                super::manual_block(d.path(), ip, d2, 0).is_err(),
                "{ip} {d2:?}"
            );
        }
    }

    #[test]
    fn blocked_line() {
        let b = postern_directory::ipgroups::Block {
            ip: "192.0.2.1".into(),
            since: 0,
            until: 300,
            failures: 10,
            reason: "10 failed logins within 60s".into(),
        };
        assert_eq!(
            super::line(&b),
            "192.0.2.1\t1970-01-01T00:00:00Z\t1970-01-01T00:05:00Z\t10\t10 failed logins within 60s"
        );
    }
}
