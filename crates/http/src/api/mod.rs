//! The routes under `/api/v1`, one file per resource. Every route is in the
//! OpenAPI document ([`crate::openapi`]), which a test checks against this table.

mod config;
mod config_list;
mod dashboard;
mod delegates;
mod directory;
mod domains;
mod ipgroups;
mod logs;
mod logs_tail;
mod members;
mod queue;
mod security;
mod status;
mod tls;
mod users;

use crate::problem::ApiError;
use crate::Ctx;
use axum::routing::{delete, get, post};
use axum::Router;

pub use config::{ConfigValue, NewConfigValue};
pub use dashboard::{Dashboard, ListenerNow};
pub use delegates::NewDelegate;
pub use directory::{AddressList, NewList};
pub use domains::{Domain, DomainChange, NewDomain};
pub use ipgroups::{IpGroup, IpGroupEntries};
pub use logs::LogPage;
pub use members::NewMembers;
pub use queue::{QueuedMessage, QueuedRecipient};
pub use security::{Blocked, NewBlock};
pub use status::{Listener, Status};
pub use tls::{Certificate, NewCertificate};
pub use users::{NewUser, User, UserChange};

pub(crate) use config::{__path_get, __path_set};
pub(crate) use config_list::__path_config_all;
pub(crate) use dashboard::__path_dashboard;
pub(crate) use delegates::{__path_delegate, __path_delegates, __path_undelegate};
pub(crate) use directory::{
    __path_add_alias, __path_add_group, __path_aliases, __path_del_alias, __path_del_group,
    __path_groups,
};
pub(crate) use domains::{
    __path_add_domain, __path_change_domain, __path_del_domain, __path_domains,
};
pub(crate) use ipgroups::{__path_add, __path_ipgroups, __path_remove};
pub(crate) use logs::__path_logs;
pub(crate) use logs_tail::__path_tail;
pub(crate) use members::{__path_add_members, __path_remove_member, __path_remove_target};
pub(crate) use queue::{
    __path_delete, __path_hold, __path_list, __path_release, __path_retry, __path_show,
};
pub(crate) use security::{__path_block, __path_blocked, __path_unblock};
pub(crate) use status::__path_status;
pub(crate) use tls::{__path_certificates, __path_import_certificate};
pub(crate) use users::{
    __path_add_user, __path_change_user, __path_del_user, __path_get_user, __path_users,
};

pub fn router(ctx: Ctx) -> Router {
    use crate::session;
    Router::new()
        .route(
            "/api/v1/session",
            get(session::whoami)
                .post(session::login)
                .delete(session::logout),
        )
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/dashboard", get(dashboard::dashboard))
        .route("/api/v1/config", get(config_list::config_all))
        .route(
            "/api/v1/domains",
            get(domains::domains).post(domains::add_domain),
        )
        .route(
            "/api/v1/domains/{name}",
            delete(domains::del_domain).patch(domains::change_domain),
        )
        .route("/api/v1/users", get(users::users).post(users::add_user))
        .route(
            "/api/v1/users/{address}",
            get(users::get_user)
                .patch(users::change_user)
                .delete(users::del_user),
        )
        .route(
            "/api/v1/users/{address}/delegates",
            get(delegates::delegates).post(delegates::delegate),
        )
        .route(
            "/api/v1/users/{address}/delegates/{delegate}",
            delete(delegates::undelegate),
        )
        .route(
            "/api/v1/aliases",
            get(directory::aliases).post(directory::add_alias),
        )
        .route("/api/v1/aliases/{address}", delete(directory::del_alias))
        .route(
            "/api/v1/aliases/{address}/targets/{target}",
            delete(members::remove_target),
        )
        .route(
            "/api/v1/groups",
            get(directory::groups).post(directory::add_group),
        )
        .route("/api/v1/groups/{address}", delete(directory::del_group))
        .route(
            "/api/v1/groups/{address}/members",
            post(members::add_members),
        )
        .route(
            "/api/v1/groups/{address}/members/{member}",
            delete(members::remove_member),
        )
        .route("/api/v1/queue", get(queue::list))
        .route("/api/v1/queue/{id}", get(queue::show).delete(queue::delete))
        .route("/api/v1/queue/{id}/retry", post(queue::retry))
        .route("/api/v1/queue/{id}/hold", post(queue::hold))
        .route("/api/v1/queue/{id}/release", post(queue::release))
        .route(
            "/api/v1/security/blocked",
            get(security::blocked).post(security::block),
        )
        .route("/api/v1/security/blocked/{ip}", delete(security::unblock))
        .route("/api/v1/ipgroups", get(ipgroups::ipgroups))
        .route(
            "/api/v1/ipgroups/{name}",
            post(ipgroups::add).delete(ipgroups::remove),
        )
        .route("/api/v1/config/{key}", get(config::get).put(config::set))
        .route("/api/v1/logs/{log}", get(logs::logs))
        .route("/api/v1/logs/{log}/tail", get(logs_tail::tail))
        .route(
            "/api/v1/tls/certificates",
            get(tls::certificates).post(tls::import_certificate),
        )
        .route("/api/v1/openapi.json", get(crate::openapi::serve))
        .route("/metrics", get(crate::metrics::metrics))
        .merge(crate::console::router())
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(crate::headers::secure))
        .with_state(ctx)
}
