//! `postern user add|passwd|del|list`. Lines of `user list`:
//! `ADDRESS<TAB>NAME<TAB>QUOTA<TAB>USED`, sizes human readable, quota `unlimited` when 0.

use super::{password, say};
use crate::cli::UserCmd;
use crate::error::{CliError, Result};
use postern_config::{parse_size, Size};
use postern_store::{Store, UserInfo};
use std::io::{BufRead, Write};

pub fn run(
    store: &Store,
    cmd: UserCmd,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        UserCmd::Add {
            address,
            name,
            quota,
            ..
        } => {
            let quota = parse_quota(quota.as_deref())?;
            let password = password::read(stdin)?;
            store.user_add(&address, &password, &name, quota)?;
            say(out, format_args!("user {address} added"))
        }
        UserCmd::Passwd { address, .. } => {
            let password = password::read(stdin)?;
            store.user_passwd(&address, &password)?;
            say(out, format_args!("password of {address} changed"))
        }
        UserCmd::Del { address } => {
            store.user_del(&address)?;
            say(out, format_args!("user {address} deleted"))
        }
        UserCmd::List => store
            .user_list()?
            .iter()
            .try_for_each(|u| say(out, line(u))),
    }
}

/// `--quota`: a size such as 500M; absent or 0 is unlimited (0).
fn parse_quota(text: Option<&str>) -> Result<u64> {
    text.map_or(Ok(0), |t| {
        parse_size(t).map_err(|e| CliError::Invalid(format!("--quota: {e}")))
    })
}

fn line(u: &UserInfo) -> String {
    let quota = if u.quota == 0 {
        "unlimited".to_string()
    } else {
        Size(u.quota).to_string()
    };
    format!("{}\t{}\t{}\t{}", u.address, u.name, quota, Size(u.used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::UserId;

    #[test]
    fn quota() {
        assert_eq!(parse_quota(None).unwrap(), 0);
        assert_eq!(parse_quota(Some("0")).unwrap(), 0);
        assert_eq!(parse_quota(Some("500M")).unwrap(), 500 << 20);
        assert!(parse_quota(Some("lots"))
            .unwrap_err()
            .to_string()
            .starts_with("--quota: "));
    }

    #[test]
    fn list_line() {
        let mut u = UserInfo {
            id: UserId(1),
            address: "a@b.c".into(),
            name: "A B".into(),
            quota: 0,
            used: 0,
            enabled: true,
        };
        assert_eq!(line(&u), "a@b.c\tA B\tunlimited\t0");
        (u.quota, u.used) = (500 << 20, 2048);
        assert_eq!(line(&u), "a@b.c\tA B\t500M\t2K");
    }
}
