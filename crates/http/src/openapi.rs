//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! types (utoipa), so it cannot drift from the code; served at
//! `/api/v1/openapi.json` without authentication.

use crate::api::*;
use crate::problem::Problem;
use crate::session::{__path_login, __path_logout, __path_whoami, Login, Whoami};
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Postern admin API", description = "Administration of a Postern mail server (issue 19)."),
    paths(login, whoami, logout, status, domains, add_domain, del_domain, users, add_user, get_user,
        change_user, del_user, aliases, add_alias, del_alias, groups, add_group, del_group,
        list, show, retry, hold, release, delete, blocked, block, unblock,
        ipgroups, add, remove, get, set, logs, tail,
        delegates, delegate, undelegate, change_domain, dashboard, config_all,
        certificates, import_certificate, add_members, remove_member, remove_target),
    components(schemas(Problem, Login, Whoami, Status, Listener, Domain, NewDomain, User, NewUser,
        UserChange, AddressList, NewList, QueuedMessage, QueuedRecipient, Blocked, NewBlock, IpGroup, IpGroupEntries, ConfigValue, NewConfigValue, LogPage, NewDelegate, DomainChange, Dashboard, ListenerNow, Certificate, NewCertificate, NewMembers)),
    modifiers(&Auth),
    security(("bearer" = []), ("session" = []))
)]
struct Doc;

struct Auth;

impl Modify for Auth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        c.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let cookie = ApiKey::Cookie(ApiKeyValue::new(crate::session::COOKIE));
        c.add_security_scheme("session", SecurityScheme::ApiKey(cookie));
    }
}

/// The document as JSON.
pub fn document() -> String {
    let mut doc = Doc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.to_pretty_json().unwrap_or_default()
}

pub async fn serve() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
}
