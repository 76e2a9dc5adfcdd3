//! `postern security blocked|unblock IP` (SPEC X7): the addresses the
//! brute-force guard blocked, read from and lifted in the store while the
//! server runs (it re-reads them every second). Lines of `security blocked`:
//! `IP<TAB>SINCE<TAB>UNTIL<TAB>FAILURES<TAB>REASON`, times in RFC 3339 UTC.

use super::say;
use crate::cli::SecurityCmd;
use crate::error::{CliError, Result};
use postern_net::security::rfc3339;
use postern_net::ClientKey;
use postern_store::ipgroups::Block;
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
            if !store.block_del(&addr, now)? {
                return Err(CliError::Invalid(format!("{addr} is not blocked")));
            }
            log_unblock(data, &addr);
            say(out, format_args!("{addr} unblocked"))
        }
    }
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

/// The security log's line for the unblock (SPEC X10); a log that cannot be
/// opened does not undo it.
fn log_unblock(data: &Path, ip: &str) {
    let json = postern_config::Config::load(data).is_ok_and(|c| c.log.json);
    if let Ok(logs) = postern_logs::Logs::open(data, json) {
        logs.security(&[
            ("event", "unblocked"),
            ("service", "cli"),
            ("client", ip),
            ("reason", "lifted by admin"),
        ]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocked_line() {
        let b = postern_store::ipgroups::Block {
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
