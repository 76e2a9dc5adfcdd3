//! Sign-in (issue 20 item 2): `POST /api/session` with the mail password,
//! `GET` (who am I, and the CSRF token for a reloaded page), `DELETE` (log
//! out). The session is a random 256-bit id in a `__Host-` cookie
//! (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain; HttpOnly,
//! SameSite=Strict), kept server-side as a digest: a new id at every login,
//! gone at logout and when the password changes. Failed logins go to
//! security.log and the brute-force guard exactly as an IMAP login's do.

use crate::conn::Peer;
use crate::error::{blocking, WebError, WebResult};
use crate::Ctx;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use postern_config::SecurityPolicy;
use postern_directory::prelude::*;
use postern_store::{Secret, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie; `__Host-` binds it to this host, Secure, Path=/.
/// Not the admin console's cookie: the two sessions are separate.
pub const COOKIE: &str = "__Host-postern-webmail";
/// The header a state change carries the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session without "remember me": until the browser closes, at most this.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 3600;
/// A "remember me" session, kept across browser restarts.
pub const REMEMBER_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// The signed-in user of a request.
pub struct User {
    pub id: UserId,
    pub address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub user: String,
    pub password: String,
    #[serde(default)]
    pub remember: bool,
}

#[derive(Serialize)]
pub struct Whoami {
    pub user: String,
    pub csrf_token: String,
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name`, if sent.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The Set-Cookie value; `max_age` None makes a browser-session cookie.
pub fn set_cookie(value: &str, max_age: Option<i64>) -> String {
    let base = format!("{COOKIE}={value}; Secure; HttpOnly; SameSite=Strict; Path=/");
    match max_age {
        Some(secs) => format!("{base}; Max-Age={secs}"),
        None => base,
    }
}

/// `Origin`, when sent, must be this server (RFC 6454 §7), over the
/// scheme the request came on; the host is `Host`, or HTTP/2's :authority.
fn check_origin(headers: &HeaderMap, uri: &Uri, tls: bool) -> WebResult<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let scheme = if tls { "https" } else { "http" };
    match (origin.to_str().ok(), host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(&format!("{scheme}://{h}")) => Ok(()),
        _ => Err(WebError::Csrf("cross-origin request refused".into())),
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<Ctx> for User {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> WebResult<User> {
        let id = cookie(&parts.headers, COOKIE).ok_or(WebError::Unauthenticated)?;
        let (store, d, now) = (ctx.store.clone(), digest(id), ctx.clock.now());
        let session = blocking(move || store.webmail_session_get(&d, now))
            .await?
            .ok_or(WebError::Unauthenticated)?;
        if !is_safe(&parts.method) {
            let tls = parts.extensions.get::<Peer>().is_none_or(|p| p.tls);
            check_origin(&parts.headers, &parts.uri, tls)?;
            let sent = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes());
            if !sent.is_some_and(|s| bool::from(s.ct_eq(session.csrf.as_bytes()))) {
                return Err(WebError::Csrf(format!("missing or wrong {CSRF_HEADER}")));
            }
        }
        Ok(User {
            id: session.user,
            address: session.address,
        })
    }
}

/// Counts and logs a failed login, waits the failure delay; the 401.
pub(crate) async fn failed(peer: &Peer, user: &str, reason: &str) -> WebError {
    if let Some(security) = &peer.security {
        let fields = [("user", user), ("reason", reason)];
        security.security_log("auth-failed", peer.listener, peer.ip, &fields);
        let guard = security.failed_login(peer.listener, peer.ip, user);
        tokio::join!(
            guard,
            tokio::time::sleep(postern_net::auth::AUTH_FAILURE_DELAY)
        );
    }
    WebError::Unauthenticated
}

/// With `security.policy` other than "none", a password is taken only over
/// TLS (as IMAP's LOGINDISABLED before STARTTLS), exempt clients aside.
fn password_allowed(ctx: &Ctx, peer: &Peer) -> bool {
    let config = ctx.config.borrow();
    let s = &config.security;
    let exempt = !s.policy_exempt.is_empty()
        && peer
            .security
            .as_ref()
            .is_some_and(|sec| sec.in_group(&s.policy_exempt, peer.ip));
    peer.tls || s.policy == SecurityPolicy::None || exempt
}

pub async fn login(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    uri: Uri,
    Json(login): Json<Login>,
) -> WebResult<Response> {
    check_origin(&headers, &uri, peer.tls)?;
    if !password_allowed(&ctx, &peer) {
        return Err(WebError::InsecureLogin);
    }
    let (store, user) = (ctx.store.clone(), login.user.clone());
    let password = Secret::new(login.password);
    let found = blocking(move || store.authenticate(&user, &password)).await?;
    let Some(info) = found else {
        return Err(failed(&peer, &login.user, "invalid credentials").await);
    };
    let lifetime = if login.remember {
        REMEMBER_LIFETIME_SECS
    } else {
        SESSION_LIFETIME_SECS
    };
    // A fresh id at every login (no fixation): a cookie sent along is ignored.
    let (id, csrf) = (random_secret(), random_secret());
    let expires = ctx.clock.now() + lifetime;
    let (store, d, who, c) = (
        ctx.store.clone(),
        digest(&id),
        info.address.clone(),
        csrf.clone(),
    );
    blocking(move || store.webmail_session_create(&d, &who, &c, expires)).await?;
    let fields = [("user", info.address.as_str())];
    if let Some(security) = &peer.security {
        security.security_log("webmail-login", peer.listener, peer.ip, &fields);
    }
    let body = Whoami {
        user: info.address,
        csrf_token: csrf,
    };
    let cookie = set_cookie(&id, login.remember.then_some(lifetime));
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

pub async fn whoami(
    State(ctx): State<Ctx>,
    user: User,
    headers: HeaderMap,
) -> WebResult<Json<Whoami>> {
    let id = cookie(&headers, COOKIE).ok_or(WebError::Unauthenticated)?;
    let (store, d, now) = (ctx.store.clone(), digest(id), ctx.clock.now());
    let session = blocking(move || store.webmail_session_get(&d, now))
        .await?
        .ok_or(WebError::Unauthenticated)?;
    Ok(Json(Whoami {
        user: user.address,
        csrf_token: session.csrf,
    }))
}

pub async fn logout(
    State(ctx): State<Ctx>,
    _user: User,
    headers: HeaderMap,
) -> WebResult<Response> {
    if let Some(id) = cookie(&headers, COOKIE) {
        let (store, d) = (ctx.store.clone(), digest(id));
        blocking(move || store.webmail_session_delete(&d)).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie("", Some(0)))],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_only_secure_httponly_strict() {
        let c = set_cookie("abc", None);
        assert_eq!(
            c,
            "__Host-postern-webmail=abc; Secure; HttpOnly; SameSite=Strict; Path=/"
        );
        assert!(set_cookie("abc", Some(REMEMBER_LIFETIME_SECS)).ends_with("; Max-Age=2592000"));
    }

    #[test]
    fn origin_must_be_this_host_and_scheme() {
        let path: Uri = "/api/session".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "mx.test:8443".parse().unwrap());
        assert!(check_origin(&h, &path, true).is_ok());
        h.insert(header::ORIGIN, "https://mx.test:8443".parse().unwrap());
        assert!(check_origin(&h, &path, true).is_ok());
        assert!(
            check_origin(&h, &path, false).is_err(),
            "http origin on an https page"
        );
        h.insert(header::ORIGIN, "https://evil.test".parse().unwrap());
        assert!(check_origin(&h, &path, true).is_err());
        // HTTP/2: no Host header, the authority in the request line.
        let h2: Uri = "https://mx.test:8443/api/session".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, "https://mx.test:8443".parse().unwrap());
        assert!(check_origin(&h, &h2, true).is_ok());
        assert!(check_origin(&h, &path, true).is_err(), "no host at all");
    }

    #[test]
    fn ids_are_256_bits_and_differ() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
