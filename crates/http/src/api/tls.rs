//! `/api/v1/tls/certificates`: the certificates the server serves by SNI
//! (issue 19 item 6), as `postern tls list|import`: an import is checked
//! (key matches, chain complete, valid for its names) before it is stored,
//! and the running server serves it to new connections within a second.
//! Admins import; auditors read; domain admins neither.

use crate::body::Json;
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::State;
use axum::http::StatusCode;
use postern_net::certs::{self, CertDir, CertError, Installed};
use postern_net::security::rfc3339;
use rustls::pki_types::UnixTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Certificate {
    /// `default`, or the name it is stored under (its first host name).
    pub name: String,
    pub hosts: Vec<String>,
    pub subject: String,
    pub issuer: String,
    /// RFC 3339 UTC.
    pub not_after: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificate {
    /// PEM: the host's certificate first, then each intermediate.
    pub cert: String,
    /// PEM private key (PKCS #8, PKCS #1 or SEC1).
    pub key: String,
    /// The names to serve it for; default: every DNS name it holds.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Make it the default certificate (`tls.cert`, `tls.key`), served to
    /// clients that ask for no name or an unknown one, as `tls import --default`.
    #[serde(default)]
    pub default: bool,
}

fn cert_dir(ctx: &Ctx) -> CertDir {
    let config = ctx.config.borrow().clone();
    let at = |p: &str| match std::path::Path::new(p) {
        p if p.is_absolute() => p.to_path_buf(),
        p => ctx.data_dir.join(p),
    };
    CertDir::new(&ctx.data_dir, at(&config.tls.cert), at(&config.tls.key))
}

fn shown(c: Installed) -> Certificate {
    Certificate {
        name: c.name,
        hosts: c.hosts,
        subject: c.subject,
        issuer: c.issuer,
        not_after: rfc3339(c.not_after),
    }
}

fn refused(e: CertError) -> ApiError {
    match e {
        CertError::Io { .. } => ApiError::Internal(e.to_string()),
        e => ApiError::BadRequest(e.to_string()),
    }
}

#[utoipa::path(get, path = "/api/v1/tls/certificates", tag = "tls",
    responses((status = 200, body = [Certificate]), (status = 403, body = Problem)))]
pub async fn certificates(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<Certificate>>> {
    caller.require_server_wide()?;
    let dir = cert_dir(&ctx);
    let all = blocking(move || Ok(dir.list())).await?.map_err(refused)?;
    Ok(axum::Json(all.into_iter().map(shown).collect()))
}

#[utoipa::path(post, path = "/api/v1/tls/certificates", tag = "tls", request_body = NewCertificate,
    responses((status = 201, body = Certificate), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn import_certificate(
    State(ctx): State<Ctx>,
    caller: Caller,
    Json(new): Json<NewCertificate>,
) -> ApiResult<(StatusCode, axum::Json<Certificate>)> {
    caller.require_admin()?;
    let dir = cert_dir(&ctx);
    let installed = blocking(move || {
        Ok((|| {
            let checked = certs::check(
                new.cert.as_bytes(),
                new.key.as_bytes(),
                &new.hosts,
                UnixTime::now(),
            )?;
            let name = match new.default {
                true => dir
                    .install_default(&checked)
                    .map(|_| "default".to_string())?,
                false => dir.install(&checked)?,
            };
            let list = dir.list()?;
            Ok::<_, CertError>(list.into_iter().find(|c| c.name == name))
        })())
    })
    .await?
    .map_err(refused)?
    .ok_or_else(|| ApiError::Internal("the import is not listed".into()))?;
    Ok((StatusCode::CREATED, axum::Json(shown(installed))))
}
