//! `postern token create|list|revoke` and `user set --role` (issue 19 item
//! 2): who may use the admin API, and the tokens scripts log in with.

use super::say;
use crate::cli::TokenCmd;
use crate::error::{CliError, Result};
use postern_directory::admin_access::Role;
use postern_directory::prelude::*;
use postern_store::Store;
use std::io::Write;

pub fn run(store: &Store, cmd: TokenCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        TokenCmd::Create { user, expires } => {
            let expires = expires.as_deref().map(expiry).transpose()?;
            let (token, digest) = postern_http::token::new_token();
            let id = store.token_create(&digest, &user, expires)?;
            // Shown this once; only its digest is kept.
            say(out, format_args!("token {id} for {user}: {token}"))
        }
        TokenCmd::List => {
            for t in store.token_list()? {
                let when = |t: Option<i64>| t.map_or("-".into(), postern_net::security::rfc3339);
                say(
                    out,
                    format_args!(
                        "{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.user,
                        postern_net::security::rfc3339(t.created),
                        when(t.expires),
                        when(t.last_used)
                    ),
                )?;
            }
            Ok(())
        }
        TokenCmd::Revoke { id } => {
            store.token_revoke(id)?;
            say(out, format_args!("token {id} revoked"))
        }
    }
}

/// Unix time `text` (e.g. `90d`) from now.
fn expiry(text: &str) -> Result<i64> {
    let d = humantime::parse_duration(text)
        .map_err(|e| CliError::Invalid(format!("--expires {text}: {e}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok(now.saturating_add(d.as_secs() as i64))
}

/// `user set ADDR --role ROLE|none`.
pub fn set_role(store: &Store, address: &str, text: &str, out: &mut dyn Write) -> Result<()> {
    let role = match text {
        "none" => None,
        t => Some(Role::parse(t)?),
    };
    store.role_set(address, role.as_ref())?;
    let shown = role.map_or("none".into(), |r| r.to_text());
    say(out, format_args!("user {address}: role {shown}"))
}
