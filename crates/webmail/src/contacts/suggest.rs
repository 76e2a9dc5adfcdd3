//! Address completion in compose (issue 20 item 3):
//! `GET /api/addresses?q=TEXT` offers the user's own contacts first, then
//! the users and aliases of the user's own domain — never another domain's
//! (the store picks the domain from the signed-in user, not the request).

use crate::error::{blocking, WebError, WebResult};
use crate::session::User;
use crate::{book, Ctx};
use axum::extract::{Query, State};
use axum::Json;
use postern_directory::prelude::*;
use serde::{Deserialize, Serialize};

/// Suggestions returned for one query.
pub const MAX_SUGGESTIONS: usize = 10;
/// Shortest and longest text completed.
pub const MIN_QUERY_CHARS: usize = 1;
pub const MAX_QUERY_CHARS: usize = 100;

#[derive(Deserialize)]
pub struct Q {
    pub q: String,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub name: String,
    pub address: String,
    /// "contact" or "directory".
    pub source: &'static str,
}

/// Contacts' then the directory's (name, address) pairs, each address once, at most
/// [`MAX_SUGGESTIONS`].
fn merge(contacts: Vec<(String, String)>, directory: Vec<(String, String)>) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    let tagged = contacts
        .into_iter()
        .map(|c| (c, "contact"))
        .chain(directory.into_iter().map(|d| (d, "directory")));
    for ((name, address), source) in tagged {
        if out.len() == MAX_SUGGESTIONS {
            break;
        }
        if !out.iter().any(|s| s.address.eq_ignore_ascii_case(&address)) {
            out.push(Suggestion {
                name,
                address,
                source,
            });
        }
    }
    out
}

pub async fn addresses(
    State(ctx): State<Ctx>,
    user: User,
    Query(q): Query<Q>,
) -> WebResult<Json<Vec<Suggestion>>> {
    let text = q.q.trim().to_string();
    let n = text.chars().count();
    if !(MIN_QUERY_CHARS..=MAX_QUERY_CHARS).contains(&n) {
        return Err(WebError::Invalid(format!(
            "complete {MIN_QUERY_CHARS} to {MAX_QUERY_CHARS} characters"
        )));
    }
    let lower = text.to_lowercase();
    let contacts = book(&ctx)
        .contacts_matching(user.id, text.clone(), MAX_SUGGESTIONS)
        .await?;
    let mut contact_addrs = Vec::new();
    for c in contacts {
        // A name that matches offers every address; else the matching ones.
        let all = c.name.to_lowercase().contains(&lower);
        for e in c.emails {
            if all || e.to_lowercase().contains(&lower) {
                contact_addrs.push((c.name.clone(), e));
            }
        }
    }
    let store = ctx.store.clone();
    let directory = blocking(move || store.directory_matching(user.id, &text, MAX_SUGGESTIONS))
        .await?
        .into_iter()
        .map(|(address, name)| (name, address))
        .collect();
    Ok(Json(merge(contact_addrs, directory)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_come_first_and_each_address_once() {
        let c = vec![("Bob B".to_string(), "bob@example.org".to_string())];
        let d = vec![
            ("".to_string(), "BOB@example.org".to_string()),
            ("Bea".to_string(), "bea@example.org".to_string()),
        ];
        let got = merge(c, d);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].source, got[1].source), ("contact", "directory"));
        let many: Vec<(String, String)> = (0..MAX_SUGGESTIONS + 5)
            .map(|i| (String::new(), format!("u{i}@example.org")))
            .collect();
        assert_eq!(merge(many, vec![]).len(), MAX_SUGGESTIONS);
    }
}
