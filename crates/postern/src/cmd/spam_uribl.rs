//! `postern spam check` without `--offline` (issue 16 item 7): each
//! message's links are asked of the `[[spam.uribl]]` lists through the
//! server's resolver (`dns.resolver`), as at the end of DATA, and the
//! `score` listings join the report (`URIBL_zone`). A `block` listing
//! scores nothing here: the command reports, it refuses nothing; it shows
//! as `URIBL_zone=+0.00`. (DNSBLs need the client's address, which a file
//! does not give reliably.)

use crate::error::{CliError, Result};
use postern_config::{Config, ListAction};
use postern_filter::dnsbl::check_domains;
use postern_filter::links::link_domains;
use postern_filter::Lookups;
use postern_spam::{Report, Test};

/// Adds the URIBL tests to each report (one per message of `raws`).
pub fn add_uribl(config: &Config, raws: &[&[u8]], reports: &mut [Report]) -> Result<()> {
    let lists = &config.spam.uribl;
    if lists.is_empty() || raws.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot start the DNS client: {e}")))?;
    let server = config.dns_resolver().map_err(CliError::Invalid)?;
    let timeout = config.spam.dnsbl_timeout.0;
    let found = runtime.block_on(async {
        let shared = postern_net::dns::SharedResolver::default();
        let lookups = Lookups::new(shared.get(server).map_err(CliError::Invalid)?);
        let mut set = tokio::task::JoinSet::new();
        for (i, raw) in raws.iter().enumerate() {
            let (lookups, lists, domains) = (lookups.clone(), lists.clone(), link_domains(raw));
            set.spawn(async move { (i, check_domains(&lookups, &domains, &lists, timeout).await) });
        }
        let mut out = vec![Default::default(); raws.len()];
        while let Some(done) = set.join_next().await {
            let (i, listing) = done.map_err(|e| CliError::Invalid(e.to_string()))?;
            out[i] = listing;
        }
        Ok::<_, CliError>(out)
    })?;
    for (report, listing) in reports.iter_mut().zip(found) {
        let mut tests = listing.tests("URIBL");
        for h in listing
            .hits
            .iter()
            .filter(|h| h.action != ListAction::Score)
        {
            let name = format!("URIBL_{}", h.zone);
            if !tests.iter().any(|t| t.name == name) {
                tests.push(Test { name, points: 0.0 });
            }
        }
        report.tests.extend(tests);
        report.score = report.tests.iter().map(|t| t.points).sum();
    }
    Ok(())
}
