//! The webmail routes: the app's files at `/`, its JSON API under `/api`.
//! Request bodies are JSON and bounded.
// TODO(issue 20 item 5): settings routes for filters and vacation replies
// go beside /api/settings once the filter feature exists.

use crate::mail::{actions, compose, folders, list, preview, read};
use crate::{assets, contacts, events, headers, session, settings, Ctx};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

/// Largest request body (JSON of a selection, a login): a compose with
/// attachments, when it exists, will take its own, larger limit.
pub const MAX_BODY: usize = 256 * 1024;
/// Largest compose request: attachments arrive base64 (4/3 of their size)
/// inside JSON; the submission session then holds the message to
/// `smtp.max_message_size` (50 MB by default) as for any client.
pub const MAX_COMPOSE_BODY: usize = 72 * 1024 * 1024;

pub fn app(ctx: Ctx) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/app.css", get(assets::style))
        .route(
            "/api/session",
            post(session::login)
                .get(session::whoami)
                .delete(session::logout),
        )
        .route(
            "/api/folders",
            get(folders::list)
                .post(folders::create)
                .patch(folders::rename)
                .delete(folders::delete),
        )
        .route("/api/messages", get(list::list))
        .route("/api/messages/flag", post(actions::flag))
        .route("/api/messages/move", post(actions::move_to))
        .route("/api/messages/delete", post(actions::delete))
        .route("/api/messages/spam", post(actions::spam))
        .route("/api/message", get(read::view))
        .route("/api/message/html", get(read::html))
        .route("/api/message/raw", get(read::source))
        .route("/api/message/part", get(read::part))
        .route("/api/message/preview", get(preview::preview))
        .route("/api/events", get(events::events))
        .route("/api/password", post(settings::password::change))
        .route(
            "/api/contacts",
            get(contacts::list)
                .post(contacts::add)
                .put(contacts::update)
                .delete(contacts::delete),
        )
        .route("/api/contacts/sender", post(contacts::add_sender))
        .route(
            "/api/contacts/import",
            post(contacts::import).layer(DefaultBodyLimit::max(contacts::MAX_IMPORT_BODY)),
        )
        .route("/api/contacts/export", get(contacts::export))
        .route("/api/addresses", get(contacts::suggest::addresses))
        .route(
            "/api/settings",
            get(settings::prefs::get).put(settings::prefs::put),
        )
        .route("/api/images/allow", post(settings::prefs::allow_images))
        .route(
            "/api/send",
            post(compose::send).layer(DefaultBodyLimit::max(MAX_COMPOSE_BODY)),
        )
        .route(
            "/api/draft",
            post(compose::save_draft).layer(DefaultBodyLimit::max(MAX_COMPOSE_BODY)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(ctx)
}
