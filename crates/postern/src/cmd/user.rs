//! `postern user add|passwd|del|set|list` (and the delegation commands, in
//! delegation.rs). Lines of `user list`:
//! `ADDRESS<TAB>NAME<TAB>QUOTA<TAB>USED<TAB>MECHANISMS`, sizes human readable,
//! quota `unlimited` when 0, MECHANISMS the comma-separated mechanisms the
//! user has secrets for (SPEC X5; `-` for none: PLAIN and LOGIN need none),
//! then `<TAB>max-message-size=SIZE` when the user has a limit of their own.
//!
//! A new password must pass the policy in `[auth]` (SPEC D7); the secrets
//! of the mechanisms enabled there are made with it.

use super::{delegation, password, say, size_limit};
use crate::cli::UserCmd;
use crate::error::{CliError, Result};
use postern_config::{parse_size, Config, Size};
use postern_directory::prelude::*;
use postern_directory::{SecretSpec, UserInfo};
use postern_sasl::Mechanism;
use postern_store::{Secret, Store};
use std::io::{BufRead, Write};

pub fn run(
    store: &Store,
    config: &Config,
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
            let password = new_password(config, &address, stdin)?;
            store.user_add_with(&address, &password, &name, quota, &spec(config))?;
            say(out, format_args!("user {address} added"))
        }
        UserCmd::Passwd { address, .. } => {
            let password = new_password(config, &address, stdin)?;
            store.user_passwd_with(&address, &password, &spec(config))?;
            say(out, format_args!("password of {address} changed"))
        }
        UserCmd::Del { address } => {
            store.user_del(&address)?;
            say(out, format_args!("user {address} deleted"))
        }
        UserCmd::Set {
            address,
            max_message_size,
            role,
        } => {
            if let Some(role) = role {
                super::token::set_role(store, &address, &role, out)?;
            }
            let Some(max_message_size) = max_message_size else {
                return Ok(());
            };
            let limit = size_limit::parse(&max_message_size)?;
            store.user_set_max_message_size(&address, limit)?;
            let shown = size_limit::describe(limit);
            say(
                out,
                format_args!("user {address}: max message size {shown}"),
            )
        }
        UserCmd::List => list(store, out),
        UserCmd::Delegate { owner, delegate } => {
            delegation::delegate(store, &owner, &delegate, out)
        }
        UserCmd::Undelegate { owner, delegate } => {
            delegation::undelegate(store, &owner, &delegate, out)
        }
        UserCmd::Delegations { owner } => delegation::list(store, owner.as_deref(), out),
    }
}

fn list(store: &Store, out: &mut dyn Write) -> Result<()> {
    let mechanisms = store.user_mechanisms()?;
    let limits = store.user_max_message_sizes()?;
    store.user_list()?.iter().try_for_each(|u| {
        let names = mechanisms.get(&u.id).map(Vec::as_slice).unwrap_or_default();
        let limit = size_limit::column(limits.get(&u.id).copied());
        say(
            out,
            format_args!("{}\t{}{limit}", line(u), mechanism_column(names)),
        )
    })
}

/// Reads the password and checks it against the policy (SPEC D7).
fn new_password(config: &Config, address: &str, stdin: &mut dyn BufRead) -> Result<Secret<String>> {
    let password = password::read(stdin)?;
    config
        .auth
        .check_password(address, password.expose())
        .map_err(|e| CliError::Invalid(format!("{e}; {address} unchanged")))?;
    Ok(password)
}

/// What to make when a password is set: the enabled mechanisms' secrets.
pub fn spec(config: &Config) -> SecretSpec {
    let names = config.auth.enabled_mechanisms();
    SecretSpec {
        mechanisms: names
            .iter()
            .filter_map(|n| Mechanism::from_name(n).ok())
            .collect(),
        apop: config.auth.apop,
        scram_iterations: config.auth.scram_iterations,
        realm: config.server.hostname.clone(),
    }
}

fn mechanism_column(names: &[String]) -> String {
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
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

    #[test]
    fn mechanisms_column() {
        assert_eq!(mechanism_column(&[]), "-");
        let names = ["SCRAM-SHA-256".to_string(), "CRAM-MD5".to_string()];
        assert_eq!(mechanism_column(&names), "SCRAM-SHA-256,CRAM-MD5");
    }

    #[test]
    fn spec_follows_the_config() {
        let mut c = Config::default();
        c.server.hostname = "mx.test".into();
        c.auth.mechanisms = vec!["cram-md5".into(), "PLAIN".into()];
        c.auth.apop = true;
        let s = spec(&c);
        assert_eq!(s.mechanisms, [Mechanism::CramMd5, Mechanism::Plain]);
        assert!(s.apop);
        assert_eq!((s.realm.as_str(), s.scram_iterations), ("mx.test", 4096));
    }

    #[test]
    fn weak_passwords_are_refused_with_the_rule() {
        let c = Config::default();
        let e = new_password(&c, "alice@example.org", &mut &b"short\n"[..]).unwrap_err();
        assert!(e.to_string().contains("auth.password_min_length"), "{e}");
        let ok = new_password(&c, "alice@example.org", &mut &b"Wonderland-7-Tea\n"[..]);
        assert_eq!(ok.unwrap().expose(), "Wonderland-7-Tea");
    }
}
