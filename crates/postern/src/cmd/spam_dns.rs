//! `postern spam check` without `--offline` (issue 16 item 7): each
//! message's links are asked of the `[[spam.uribl]]` lists, and the client
//! address its Received fields name (postern_filter::received: a heuristic)
//! of the `[[spam.dnsbl]]` lists, through the server's resolver
//! (`dns.resolver`) within `spam.dnsbl_timeout`, as at the end of DATA.
//! `score` listings join the report (`DNSBL_zone`, `URIBL_zone`); `block`
//! and `log` listings show with 0 points: the command reports, it refuses
//! nothing.

use crate::error::{CliError, Result};
use postern_config::{Config, ListAction};
use postern_filter::dnsbl::{check_client, check_domains, Listing};
use postern_filter::links::link_domains;
use postern_filter::received::received_client_ip;
use postern_filter::Lookups;
use postern_spam::{Report, Test};

/// Adds the DNS list tests to each report (one per message of `raws`).
pub fn add_dns_tests(config: &Config, raws: &[&[u8]], reports: &mut [Report]) -> Result<()> {
    let spam = &config.spam;
    if (spam.uribl.is_empty() && spam.dnsbl.is_empty()) || raws.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot start the DNS client: {e}")))?;
    let server = config.dns_resolver().map_err(CliError::Invalid)?;
    let found = runtime.block_on(async {
        let shared = postern_net::dns::SharedResolver::default();
        let lookups = Lookups::new(shared.get(server).map_err(CliError::Invalid)?);
        let mut set = tokio::task::JoinSet::new();
        for (i, raw) in raws.iter().enumerate() {
            let (lookups, config) = (lookups.clone(), config.clone());
            let (ip, domains) = (received_client_ip(raw), link_domains(raw));
            set.spawn(async move { (i, ask(&lookups, &config, ip, &domains).await) });
        }
        let mut out = vec![Vec::new(); raws.len()];
        while let Some(done) = set.join_next().await {
            let (i, tests) = done.map_err(|e| CliError::Invalid(e.to_string()))?;
            out[i] = tests;
        }
        Ok::<_, CliError>(out)
    })?;
    for (report, tests) in reports.iter_mut().zip(found) {
        report.tests.extend(tests);
        report.score = report.tests.iter().map(|t| t.points).sum();
    }
    Ok(())
}

/// One message's DNSBL (when its client is known) and URIBL tests.
async fn ask(
    lookups: &Lookups,
    config: &Config,
    ip: Option<std::net::IpAddr>,
    domains: &[String],
) -> Vec<Test> {
    let (spam, timeout) = (&config.spam, config.spam.dnsbl_timeout.0);
    let client = match ip {
        Some(ip) if !spam.dnsbl.is_empty() => check_client(lookups, ip, &spam.dnsbl, timeout).await,
        _ => Listing::default(),
    };
    let links = match spam.uribl.is_empty() {
        false => check_domains(lookups, domains, &spam.uribl, timeout).await,
        true => Listing::default(),
    };
    let mut tests = tests_of(&client, "DNSBL");
    tests.extend(tests_of(&links, "URIBL"));
    tests
}

/// `score` listings with their points, the others with 0, once per zone.
fn tests_of(listing: &Listing, prefix: &str) -> Vec<Test> {
    let mut tests = listing.tests(prefix);
    for h in listing
        .hits
        .iter()
        .filter(|h| h.action != ListAction::Score)
    {
        let name = format!("{prefix}_{}", h.zone);
        if !tests.iter().any(|t| t.name == name) {
            tests.push(Test { name, points: 0.0 });
        }
    }
    tests
}
