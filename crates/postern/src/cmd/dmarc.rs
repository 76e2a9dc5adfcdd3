//! `postern dmarc report [--now]` (issue 15, item 12): sends the DMARC
//! aggregate reports that are due — those of reporting periods that have
//! ended; with `--now` also the running period's — as the server's task
//! does (for tests and cron). The running server's queue picks them up
//! within a second. One line per destination:
//! `sent DOMAIN to ADDRESS rows=N messages=M id=ID` or
//! `skipped DOMAIN to ADDRESS: REASON`; `no reports due` when none.

use super::say;
use crate::cli::DmarcCmd;
use crate::error::{CliError, Result};
use crate::serve::dmarc_reports::send_now;
use postern_config::Config;
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, config: &Config, cmd: DmarcCmd, out: &mut dyn Write) -> Result<()> {
    let DmarcCmd::Report { now: all } = cmd;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let resolver = postern_net::dns::SharedResolver::default();
    let outcomes = super::block_on(send_now(store, &resolver, config, now, all))?
        .map_err(CliError::Invalid)?;
    if outcomes.is_empty() {
        return say(out, "no reports due");
    }
    for o in outcomes {
        match &o.result {
            Ok(id) => say(
                out,
                format_args!(
                    "sent {} to {} rows={} messages={} id={id}",
                    o.policy_domain, o.to, o.rows, o.messages
                ),
            )?,
            Err(why) => say(
                out,
                format_args!("skipped {} to {}: {why}", o.policy_domain, o.to),
            )?,
        }
    }
    Ok(())
}
