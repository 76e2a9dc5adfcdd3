//! `GET /api/events`: Server-Sent Events for the open app, fed by the
//! store's per-account change broadcast (the one IMAP IDLE waits on). Each
//! change to one of the user's folders is an event `change` whose data is
//! the folder's name; the app then reloads that folder's list and counts.

use crate::conn::Activity;
use crate::session::User;
use crate::Ctx;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures_util::stream::{self, Stream};
use postern_store::Change;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// A comment line this often keeps proxies and the idle timer content.
pub const KEEP_ALIVE: Duration = Duration::from_secs(20);

pub async fn events(
    State(ctx): State<Ctx>,
    user: User,
    activity: Option<Extension<Activity>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = ctx.mail.subscribe();
    let guard = activity.map(|Extension(a)| a.stream());
    let state = (ctx, user.id, rx, guard);
    let stream = stream::unfold(state, |(ctx, id, mut rx, guard)| async move {
        loop {
            let change: Change = match rx.recv().await {
                Ok(c) => c,
                // Missed some: tell the app to reload whatever it shows.
                Err(RecvError::Lagged(_)) => Change {
                    user: id,
                    mailbox: postern_store::MailboxId(0),
                },
                Err(RecvError::Closed) => return None,
            };
            if change.user != id {
                continue;
            }
            let folders = ctx.mail.folders(id).await.unwrap_or_default();
            let name = folders
                .iter()
                .find(|f| f.id == change.mailbox)
                .map_or("", |f| f.name.as_str())
                .to_string();
            let event = Event::default().event("change").data(name);
            return Some((Ok(event), (ctx, id, rx, guard)));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
