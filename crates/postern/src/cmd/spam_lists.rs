//! `postern spam whitelist|blacklist add|list|del ENTRY [--user USER]`
//! (SPEC P1, issue 16 item 1): sender addresses and `@domain`s, server-wide
//! or one user's. A running server reads them at each MAIL FROM.

use super::say;
use crate::cli::SenderListCmd;
use crate::error::Result;
use postern_store::{SenderList, Store};
use std::io::Write;

pub fn run(store: &Store, list: SenderList, cmd: SenderListCmd, out: &mut dyn Write) -> Result<()> {
    let name = list.name();
    match cmd {
        SenderListCmd::Add { entry, user } => {
            let e = store.sender_list_add(list, &entry, user.as_deref())?;
            say(out, format_args!("{name} {}added {e}", owner(&user)))
        }
        SenderListCmd::Del { entry, user } => {
            let e = store.sender_list_del(list, &entry, user.as_deref())?;
            say(out, format_args!("{name} {}removed {e}", owner(&user)))
        }
        SenderListCmd::List { user } => store
            .sender_list(list, user.as_deref())?
            .iter()
            .try_for_each(|e| say(out, e)),
    }
}

fn owner(user: &Option<String>) -> String {
    user.as_ref()
        .map(|u| format!("of {u}: "))
        .unwrap_or_default()
}
