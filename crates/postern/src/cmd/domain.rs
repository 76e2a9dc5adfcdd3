//! `postern domain add|del|list`.

use super::say;
use crate::cli::DomainCmd;
use crate::error::Result;
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
        DomainCmd::List => store.domain_list()?.iter().try_for_each(|d| say(out, d)),
    }
}
