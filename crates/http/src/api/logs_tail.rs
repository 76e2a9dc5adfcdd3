//! `GET /api/v1/logs/{mail|security}/tail`: the log's new lines as
//! Server-Sent Events (HTML Living Standard §9.2), for the console's live
//! view instead of polling. Each line is an event `line` whose id is the
//! byte offset after it, so a client reconnecting with `Last-Event-ID` goes
//! on where it stopped; without one it starts at the end of the log. The
//! caller's credentials are checked again every [`RECHECK`]: once the session
//! is logged out or expired (or the role is gone) an event `end` says why and
//! the stream closes, as it does when the server stops. The file is followed
//! by [`crate::logtail`] (bounded memory).

use crate::idle::Activity;
use crate::logread::Filter;
use crate::logtail::{Follower, Line};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, Request, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;
use utoipa::IntoParams;

/// How often the file is looked at for new lines.
pub const POLL: Duration = Duration::from_millis(250);
/// How often the caller's session or token is checked again.
pub const RECHECK: Duration = Duration::from_secs(1);
/// A comment this often keeps proxies from closing a quiet stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TailQuery {
    /// A client (or blocked) address as logged.
    ip: Option<String>,
    /// A mail address the line mentions.
    address: Option<String>,
    /// Text the line contains.
    text: Option<String>,
}

/// One open tail: where it is in the file and who asked.
struct Tail {
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    path: PathBuf,
    filter: Filter,
    follower: Follower,
    pending: VecDeque<Line>,
    checked: Instant,
    ended: bool,
    activity: Option<Activity>,
}

#[utoipa::path(get, path = "/api/v1/logs/{log}/tail", tag = "logs",
    params(("log" = String, Path, description = "mail or security"), TailQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "the id of the last event seen: go on after it")),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "events `line` (data: the line, id: the offset after it); `end` (data: why) before the stream closes"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn tail(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(log): Path<String>,
    query: Result<Query<TailQuery>, QueryRejection>,
    headers: HeaderMap,
    uri: Uri,
    activity: Option<Extension<Activity>>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    caller.require_server_wide()?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let path = super::logs::log_path(&ctx, &log)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    let len = std::fs::metadata(&path).map_or(0, |m| m.len());
    let tail = Tail {
        ctx,
        headers,
        uri,
        path,
        filter: Filter {
            ip: q.ip,
            address: q.address,
            text: q.text,
            ..Filter::default()
        },
        follower: Follower::at(resume.filter(|&r| r <= len).unwrap_or(len)),
        pending: VecDeque::new(),
        checked: Instant::now(),
        ended: false,
        activity: activity.map(|Extension(a)| a),
    };
    let events = stream::unfold(tail, |t| async move { t.next().await });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

impl Tail {
    /// The next event, or None once the stream is over.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Tail)> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(line) = self.pending.pop_front() {
                let event = Event::default()
                    .event("line")
                    .id(line.end.to_string())
                    .data(line.text);
                return Some((Ok(event), self));
            }
            if let Some(why) = self.over().await {
                self.ended = true;
                return Some((Ok(Event::default().event("end").data(why)), self));
            }
            // A live stream is activity: the connection is not idle.
            if let Some(a) = &self.activity {
                a.request();
            }
            let lines = self.read().await;
            let filter = &self.filter;
            self.pending
                .extend(lines.into_iter().filter(|l| filter.matches(&l.text)));
            if self.pending.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    }

    /// Why the stream must end now, if it must.
    async fn over(&mut self) -> Option<String> {
        if *self.ctx.shutdown.borrow() {
            return Some("the server is stopping".into());
        }
        if self.checked.elapsed() < RECHECK {
            return None;
        }
        self.checked = Instant::now();
        let mut parts = Request::get(self.uri.clone()).body(()).ok()?.into_parts().0;
        parts.headers = self.headers.clone();
        let allowed = match Caller::from_request_parts(&mut parts, &self.ctx).await {
            Ok(caller) => caller.require_server_wide(),
            Err(e) => Err(e),
        };
        match allowed {
            Ok(()) => None,
            Err(ApiError::Unauthenticated) => {
                Some("the session ended (logged out or expired)".into())
            }
            Err(ApiError::Forbidden(why)) => Some(why),
            // The store failed for a moment: asked again at the next check.
            Err(_) => None,
        }
    }

    /// The lines completed since the last read (none when the file is missing).
    async fn read(&mut self) -> Vec<Line> {
        let path = self.path.clone();
        let pos = self.follower.pos();
        let mut follower = std::mem::replace(&mut self.follower, Follower::at(pos));
        let read = tokio::task::spawn_blocking(move || {
            let lines = read_new(&path, &mut follower).unwrap_or_default();
            (follower, lines)
        })
        .await;
        match read {
            Ok((follower, lines)) => {
                self.follower = follower;
                lines
            }
            Err(_) => Vec::new(),
        }
    }
}

fn read_new(path: &std::path::Path, follower: &mut Follower) -> std::io::Result<Vec<Line>> {
    let mut f = std::fs::File::open(path)?;
    let n = follower.next_read(f.metadata()?.len());
    if n == 0 {
        return Ok(Vec::new());
    }
    f.seek(SeekFrom::Start(follower.pos()))?;
    let mut buf = Vec::with_capacity(n as usize);
    f.take(n).read_to_end(&mut buf)?;
    Ok(follower.feed(&buf))
}
