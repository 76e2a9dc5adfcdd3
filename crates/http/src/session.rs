//! `POST /api/v1/session` (log in with the user's password), `GET` (who am
//! I), `DELETE` (log out). A session is a random 256-bit id in the
//! `__Host-` cookie (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain), kept
//! server-side as a digest with its expiry and CSRF token. A failed login
//! goes to security.log and the brute-force guard, like an IMAP login.

use crate::auth::{check_origin, cookie, digest};
use crate::body::Json;
use crate::conn::Peer;
use crate::problem::{blocking, ApiError, ApiResult};
use crate::roles::Caller;
use crate::token::random_secret;
use crate::Ctx;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use postern_directory::prelude::*;
use postern_store::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The session cookie's name; `__Host-` binds it to this host, Secure, Path=/.
pub const COOKIE: &str = "__Host-postern-session";
/// How long a session lasts from login.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 3600;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub user: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Whoami {
    pub user: String,
    /// `admin`, `auditor` or `domain-admin:DOMAIN[,DOMAIN]`.
    pub role: String,
    /// Send it back in `X-CSRF-Token` on every state change (login only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

fn set_cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}")
}

/// Counts and logs a failed login, waits the failure delay; the 401.
async fn failed(peer: &Peer, user: &str, reason: &str) -> ApiError {
    if let Some(security) = &peer.security {
        let fields = [("user", user), ("reason", reason)];
        security.security_log("auth-failed", peer.listener, peer.ip, &fields);
        let guard = security.failed_login(peer.listener, peer.ip, user);
        tokio::join!(
            guard,
            tokio::time::sleep(postern_net::auth::AUTH_FAILURE_DELAY)
        );
    }
    ApiError::Unauthenticated
}

#[utoipa::path(post, path = "/api/v1/session", request_body = Login, tag = "session",
    responses((status = 200, body = Whoami), (status = 401, body = crate::problem::Problem)))]
pub async fn login(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    uri: Uri,
    Json(login): Json<Login>,
) -> ApiResult<Response> {
    check_origin(&headers, &uri)?;
    let (store, user) = (ctx.store.clone(), login.user.clone());
    let password = Secret::new(login.password);
    let found = blocking(move || store.authenticate(&user, &password)).await?;
    let Some(info) = found else {
        return Err(failed(&peer, &login.user, "invalid credentials").await);
    };
    let (store, who) = (ctx.store.clone(), info.address.clone());
    let Some(role) = blocking(move || store.role_of(&who)).await? else {
        return Err(ApiError::Forbidden(format!(
            "{} has no administrative role",
            info.address
        )));
    };
    let (id, csrf) = (random_secret(), random_secret());
    let expires = ctx.clock.now() + SESSION_LIFETIME_SECS;
    let (store, d, who, c) = (
        ctx.store.clone(),
        digest(&id),
        info.address.clone(),
        csrf.clone(),
    );
    blocking(move || store.session_create(&d, &who, &c, expires)).await?;
    let body = Whoami {
        user: info.address,
        role: role.to_text(),
        csrf_token: Some(csrf),
    };
    let cookie = set_cookie(&id, SESSION_LIFETIME_SECS);
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
}

#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = Whoami), (status = 401, body = crate::problem::Problem)))]
pub async fn whoami(caller: Caller) -> axum::Json<Whoami> {
    axum::Json(Whoami {
        user: caller.user,
        role: caller.role.to_text(),
        csrf_token: None,
    })
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204), (status = 401, body = crate::problem::Problem)))]
pub async fn logout(
    State(ctx): State<Ctx>,
    _caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if headers.get(header::AUTHORIZATION).is_none() {
        if let Some(id) = cookie(&headers, COOKIE) {
            let (store, d) = (ctx.store.clone(), digest(id));
            blocking(move || store.session_delete(&d)).await?;
        }
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie("", 0))],
    )
        .into_response())
}
