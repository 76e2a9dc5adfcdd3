//! Who is calling: a bearer token (`Authorization: Bearer pst_…`; cookies
//! are then ignored) or the session cookie. Cookie sessions must prove a
//! state change is theirs: `Origin`, when sent, must be this server, and
//! `X-CSRF-Token` must carry the token the login returned. Auditors may
//! only read.

use crate::problem::{blocking, ApiError};
use crate::roles::Caller;
use crate::session::COOKIE;
use crate::Ctx;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, Uri};
use postern_directory::admin_access::Role;
use postern_directory::prelude::*;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The header a cookie session's state changes carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// SHA-256 of a session id or token: what the store keeps.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// True for methods that change nothing (RFC 9110 §9.2.1).
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Origin`, when present, must name this server: `https://` and the Host
/// the request was sent to (RFC 6454 §7; HTTP/2 carries it as :authority).
pub fn check_origin(headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    match (origin.to_str().ok(), host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(&format!("https://{h}")) => Ok(()),
        _ => Err(ApiError::Csrf("cross-origin request refused".into())),
    }
}

fn bearer(headers: &HeaderMap) -> Option<Result<&str, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthenticated);
    Some(token)
}

async fn user_of(ctx: &Ctx, parts: &Parts) -> Result<String, ApiError> {
    let now = ctx.clock.now();
    let store = ctx.store.clone();
    if let Some(token) = bearer(&parts.headers) {
        let d = digest(token?);
        let user = blocking(move || store.token_user(&d, now)).await?;
        return user.ok_or(ApiError::Unauthenticated);
    }
    let id = cookie(&parts.headers, COOKIE).ok_or(ApiError::Unauthenticated)?;
    let d = digest(id);
    let session = blocking(move || store.session_get(&d, now))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !is_safe(&parts.method) {
        check_origin(&parts.headers, &parts.uri)?;
        let sent = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes());
        if !sent.is_some_and(|s| bool::from(s.ct_eq(session.csrf.as_bytes()))) {
            return Err(ApiError::Csrf(format!("missing or wrong {CSRF_HEADER}")));
        }
    }
    Ok(session.user)
}

impl FromRequestParts<Ctx> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let user = user_of(ctx, parts).await?;
        let store = ctx.store.clone();
        let who = user.clone();
        let role = blocking(move || store.role_of(&who))
            .await?
            .ok_or_else(|| ApiError::Forbidden(format!("{user} has no administrative role")))?;
        // Logging out is not a change an auditor needs leave for.
        let logout = parts.uri.path() == "/api/v1/session";
        if role == Role::Auditor && !is_safe(&parts.method) && !logout {
            return Err(ApiError::Forbidden("an auditor may only read".into()));
        }
        Ok(Caller { user, role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().method("POST").uri("/api/v1/domains");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn check_origin_of(p: &Parts) -> Result<(), ApiError> {
        check_origin(&p.headers, &p.uri)
    }

    #[test]
    fn origin_must_be_this_host() {
        assert!(check_origin_of(&parts(&[("host", "mx.test:4040")])).is_ok());
        let same = parts(&[("host", "mx.test:4040"), ("origin", "https://mx.test:4040")]);
        assert!(check_origin_of(&same).is_ok());
        for other in ["https://evil.test", "http://mx.test:4040", "null"] {
            let p = parts(&[("host", "mx.test:4040"), ("origin", other)]);
            assert!(
                matches!(check_origin_of(&p), Err(ApiError::Csrf(_))),
                "{other}"
            );
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let p = parts(&[("cookie", "a=1; __Host-postern-session=xyz; b=2")]);
        assert_eq!(cookie(&p.headers, COOKIE), Some("xyz"));
        assert_eq!(cookie(&p.headers, "c"), None);
    }
}
