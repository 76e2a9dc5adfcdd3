//! `postern group add|del|list`. Lines of `group list`: `ADDRESS: M1, M2`
//! (just `ADDRESS:` for a group without members).

use super::say;
use crate::cli::GroupCmd;
use crate::error::Result;
use postern_directory::prelude::*;
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, cmd: GroupCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        GroupCmd::Add { address, members } => {
            store.group_add(&address, &members)?;
            let all = store
                .group_list()?
                .into_iter()
                .find(|(g, _)| *g == address)
                .map_or(members, |(_, ms)| ms);
            say(out, format_args!("group {}", line(&address, &all)))
        }
        GroupCmd::Del { address } => {
            store.group_del(&address)?;
            say(out, format_args!("group {address} deleted"))
        }
        GroupCmd::List => store
            .group_list()?
            .iter()
            .try_for_each(|(g, ms)| say(out, line(g, ms))),
    }
}

fn line(address: &str, members: &[String]) -> String {
    if members.is_empty() {
        format!("{address}:")
    } else {
        format!("{address}: {}", members.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn format() {
        assert_eq!(
            super::line("g@b.c", &["x@b.c".into(), "y@b.c".into()]),
            "g@b.c: x@b.c, y@b.c"
        );
        assert_eq!(super::line("g@b.c", &[]), "g@b.c:");
    }
}
