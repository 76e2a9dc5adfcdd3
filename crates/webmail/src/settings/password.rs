//! `POST /api/password`: the user changes their password. The current one
//! must be given (a wrong one counts as a failed login: security.log and the
//! brute-force guard), the new one must meet the password policy (SPEC D7,
//! `auth.password_*`, as `postern user passwd` checks it), and the mechanism
//! secrets are made anew as the CLI makes them. Every session of the user,
//! this one included, ends with the old password.

use crate::conn::Peer;
use crate::error::{blocking, WebError, WebResult};
use crate::session::{failed, set_cookie, User};
use crate::Ctx;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use postern_directory::prelude::*;
use postern_store::Secret;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub current: String,
    pub new: String,
}

pub async fn change(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    user: User,
    Json(c): Json<Change>,
) -> WebResult<Response> {
    let (policy, spec) = {
        let config = ctx.config.borrow();
        (config.auth.clone(), (ctx.secret_spec)(&config))
    };
    policy
        .check_password(&user.address, &c.new)
        .map_err(|e| WebError::Invalid(e.to_string()))?;
    let (store, who) = (ctx.store.clone(), user.address.clone());
    let current = Secret::new(c.current);
    let ok = blocking(move || store.authenticate(&who, &current)).await?;
    if ok.is_none() {
        // Counted as a failed login; answered 400, not 401: the session stays.
        failed(&peer, &user.address, "wrong current password").await;
        return Err(WebError::Invalid("the current password is wrong".into()));
    }
    let (store, who) = (ctx.store.clone(), user.address.clone());
    let new = Secret::new(c.new);
    blocking(move || store.user_passwd_with(&who, &new, &spec)).await?;
    if let Some(security) = &peer.security {
        let fields = [("user", user.address.as_str())];
        security.security_log("password-changed", peer.listener, peer.ip, &fields);
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie("", Some(0)))],
    )
        .into_response())
}
