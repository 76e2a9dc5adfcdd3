//! `postern dns DOMAIN [--check]` (issue 15, item 10): the records a local
//! domain publishes, from the store (DKIM keys, the DMARC report address)
//! and the config (host name, listeners, delivery source and relay), made by
//! postern-dkim's `records`. `--check` asks DNS through the server's resolver
//! (`dns.resolver`, its alias `delivery.resolver`, else the system's) and prints
//! one line per record: ok, missing, differs (with what was found), failed.

use super::say;
use crate::cli::DnsArgs;
use crate::error::{CliError, Result};
use postern_config::{Config, SERVICES};
use postern_directory::prelude::*;
use postern_dkim::records::{self, Answer, Check, Data, DomainFacts, Record};
use postern_dkim::Algorithm;
use postern_queue::dns::{Dns, DnsError};
use postern_store::{Store, StoreError};
use std::io::Write;

pub fn run(store: &Store, config: &Config, args: &DnsArgs, out: &mut dyn Write) -> Result<()> {
    let facts = facts(store, config, &args.domain)?;
    let recs = records::domain_records(&facts);
    if !args.check {
        say(
            out,
            format_args!(
                "; DNS records for {}: publish them in its zone; `postern dns {} --check` compares",
                facts.domain, facts.domain
            ),
        )?;
        for r in &recs {
            if let Some(c) = &r.comment {
                say(out, format_args!("; {c}"))?;
            }
            say(out, r.zone_line())?;
        }
        return Ok(());
    }
    let resolver = config.dns_resolver().map_err(CliError::Invalid)?;
    let checks = lookup_all(resolver, &recs)?;
    let (mut differ, mut failed) = (0, 0);
    for (r, c) in recs.iter().zip(&checks) {
        say(out, format_args!("{:<8} {}", c.label(), r.zone_line()))?;
        match c {
            Check::Ok => {}
            Check::Missing => differ += 1,
            Check::Differs(found) => {
                differ += 1;
                say(out, format_args!("         found: {found}"))?
            }
            Check::Failed(why) => {
                failed += 1;
                say(out, format_args!("         {why}"))?
            }
        }
    }
    match (differ, failed) {
        (0, 0) => Ok(()),
        _ => Err(CliError::Invalid(format!(
            "{} records of {}: {differ} missing or different, {failed} not looked up",
            recs.len(),
            facts.domain
        ))),
    }
}

/// What the records are made from; the domain must be local.
fn facts(store: &Store, config: &Config, domain: &str) -> Result<DomainFacts> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if !store.is_local_domain(&domain)? {
        return Err(StoreError::Invalid(format!("domain {domain} is not a local domain")).into());
    }
    let dkim = store
        .dkim_keys(Some(&domain))?
        .into_iter()
        .filter_map(|k| Some((k.selector, Algorithm::parse(&k.algorithm)?, k.public_key)))
        .collect();
    let mut services = Vec::new();
    for (name, _) in SERVICES {
        let addrs = config
            .listeners
            .get(name)
            .addrs()
            .map_err(|e| CliError::Invalid(format!("listeners.{name}: {e}")))?;
        if let Some(a) = addrs.first() {
            services.push((name.to_string(), a.port()));
        }
    }
    Ok(DomainFacts {
        dmarc_rua: store.domain_dmarc_rua(&domain)?,
        domain,
        hostname: config.server.hostname.clone(),
        dkim,
        services,
        source_address: config.delivery.source_address,
        relay: config.delivery.relay().map(|r| r.host),
    })
}

/// Looks every record up, all at once (a dead resolver costs one timeout, not nine).
fn lookup_all(resolver: Option<std::net::SocketAddr>, recs: &[Record]) -> Result<Vec<Check>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Invalid(format!("cannot start the DNS client: {e}")))?;
    runtime.block_on(async {
        let shared = postern_net::dns::SharedResolver::default();
        let dns = Dns::new(shared.get(resolver).map_err(CliError::Invalid)?);
        let mut set = tokio::task::JoinSet::new();
        for (i, r) in recs.iter().enumerate() {
            let (dns, r) = (dns.clone(), r.clone());
            set.spawn(async move { (i, records::check(&r, &lookup(&dns, &r).await)) });
        }
        let mut out = vec![Check::Missing; recs.len()];
        while let Some(done) = set.join_next().await {
            let (i, check) = done.map_err(|e| CliError::Invalid(e.to_string()))?;
            out[i] = check;
        }
        Ok(out)
    })
}

async fn lookup(dns: &Dns, r: &Record) -> Answer {
    let answer = match r.data {
        Data::Mx { .. } => dns.mx(&r.name).await.map(|mx| match mx {
            postern_queue::dns::MxAnswer::Records(v) => Answer::Mx(v),
            postern_queue::dns::MxAnswer::None => Answer::Nothing,
        }),
        Data::Txt(_) => dns.txt(&r.name).await.map(Answer::Txt),
        Data::Srv { .. } => dns.srv(&r.name).await.map(Answer::Srv),
    };
    match answer {
        Ok(Answer::Mx(v)) if v.is_empty() => Answer::Nothing,
        Ok(Answer::Txt(v)) if v.is_empty() => Answer::Nothing,
        Ok(Answer::Srv(v)) if v.is_empty() => Answer::Nothing,
        Ok(a) => a,
        Err(DnsError::NoSuchDomain(_)) => Answer::Nothing,
        Err(e) => Answer::Failed(e.to_string()),
    }
}
