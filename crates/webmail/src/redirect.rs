//! The `http` listener (SPEC S8): every request is answered with a
//! permanent redirect to the same path on https, so nothing (least of all a
//! password) travels in the clear; clients in the IP group
//! `access.http.exempt` get webmail itself instead.

use crate::conn::Peer;
use crate::Ctx;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// True when the client is in `access.http.exempt`.
pub fn exempt(ctx: &Ctx, peer: &Peer) -> bool {
    let group = ctx
        .config
        .borrow()
        .access
        .get(postern_config::HTTP_LISTENER)
        .exempt;
    match &peer.security {
        Some(security) if !group.is_empty() => security.in_group(&group, peer.ip),
        _ => false,
    }
}

pub fn router(ctx: Ctx) -> Router {
    Router::new().fallback(redirect).with_state(ctx)
}

/// The https URL for `host` (port dropped: the https listener's own port
/// when it is not 443) and the request's path and query.
pub fn target(host: &str, https_port: Option<u16>, uri: &Uri) -> String {
    let name = host_name(host);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    match https_port {
        Some(443) | None => format!("https://{name}{path}"),
        Some(port) => format!("https://{name}:{port}{path}"),
    }
}

/// `host` without its port: `[v6]:80` → `[v6]`, `name:80` → `name`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The port the https listener is bound to, else the configured one.
fn https_port(ctx: &Ctx) -> Option<u16> {
    if let Some(port) = ctx.https_port.get() {
        return Some(*port);
    }
    let config = ctx.config.borrow();
    let addrs = config
        .listeners
        .get(postern_config::HTTPS_LISTENER)
        .addrs()
        .ok()?;
    addrs.first().map(|a| a.port())
}

async fn redirect(
    axum::extract::State(ctx): axum::extract::State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| valid_host(h))
        .map(str::to_string)
        .unwrap_or_else(|| ctx.config.borrow().server.hostname.clone());
    let location = target(&host, https_port(&ctx), &uri);
    // RFC 9110 §15.4.9: 308 keeps the method, so a POST is not turned into a GET.
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
        "webmail is served over https\n",
    )
        .into_response()
}

/// A Host header that is a name or address with an optional port, nothing
/// that could inject into the Location header.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_keeps_host_and_path_and_uses_the_https_port() {
        let uri: Uri = "/inbox?x=1".parse().unwrap();
        assert_eq!(
            target("mx.test:80", Some(443), &uri),
            "https://mx.test/inbox?x=1"
        );
        assert_eq!(
            target("mx.test", Some(8443), &uri),
            "https://mx.test:8443/inbox?x=1"
        );
        assert_eq!(
            target("[::1]:80", Some(443), &uri),
            "https://[::1]/inbox?x=1"
        );
        assert_eq!(target("[::1]", None, &uri), "https://[::1]/inbox?x=1");
    }

    #[test]
    fn hosts_that_could_inject_are_not_used() {
        assert!(valid_host("mx.test:80"));
        assert!(!valid_host("mx.test\r\nSet-Cookie: x=1"));
        assert!(!valid_host("evil.test/path"));
        assert!(!valid_host(""));
    }
}
