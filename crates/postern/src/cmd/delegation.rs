//! `postern user delegate|undelegate|delegations` (SPEC X8): OWNER lets
//! DELEGATE send as OWNER's own address. Lines of `user delegations`:
//! `OWNER -> DELEGATE`.

use super::say;
use crate::error::Result;
use postern_directory::prelude::*;
use postern_store::Store;
use std::io::Write;

pub fn delegate(store: &Store, owner: &str, delegate: &str, out: &mut dyn Write) -> Result<()> {
    store.delegate(owner, delegate)?;
    say(out, format_args!("{delegate} may now send as {owner}"))
}

pub fn undelegate(store: &Store, owner: &str, delegate: &str, out: &mut dyn Write) -> Result<()> {
    store.undelegate(owner, delegate)?;
    say(
        out,
        format_args!("{delegate} may no longer send as {owner}"),
    )
}

pub fn list(store: &Store, owner: Option<&str>, out: &mut dyn Write) -> Result<()> {
    store
        .delegations(owner)?
        .iter()
        .try_for_each(|d| say(out, format_args!("{} -> {}", d.owner, d.delegate)))
}
