//! `postern domain add|del|set|list`.

use super::{say, size_limit};
use crate::cli::DomainCmd;
use crate::error::Result;
use postern_directory::prelude::*;
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, cmd: DomainCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        DomainCmd::Add { domain } => {
            store.domain_add(&domain)?;
            say(out, format_args!("domain {domain} added"))
        }
        DomainCmd::Del { domain } => {
            store.domain_del(&domain)?;
            say(out, format_args!("domain {domain} deleted"))
        }
        DomainCmd::Set {
            domain,
            max_message_size,
            dmarc_rua,
        } => {
            if let Some(size) = max_message_size {
                let limit = size_limit::parse(&size)?;
                store.domain_set_max_message_size(&domain, limit)?;
                let shown = size_limit::describe(limit);
                say(
                    out,
                    format_args!("domain {domain}: max message size {shown}"),
                )?;
            }
            match dmarc_rua.as_deref() {
                None => Ok(()),
                Some(rua) => set_dmarc_rua(store, &domain, rua, out),
            }
        }
        DomainCmd::List => {
            let limits = store.domain_max_message_sizes()?;
            store.domain_list()?.iter().try_for_each(|d| {
                let column = size_limit::column(limits.get(d).copied());
                say(out, format_args!("{d}{column}"))
            })
        }
    }
}

/// `--dmarc-rua ADDRESS|none`: where the domain's DMARC reports go.
fn set_dmarc_rua(store: &Store, domain: &str, rua: &str, out: &mut dyn Write) -> Result<()> {
    let rua = (!rua.eq_ignore_ascii_case("none")).then_some(rua);
    store.domain_set_dmarc_rua(domain, rua)?;
    match rua {
        Some(a) => say(out, format_args!("domain {domain}: DMARC reports to {a}")),
        None => say(out, format_args!("domain {domain}: no DMARC reports")),
    }
}
