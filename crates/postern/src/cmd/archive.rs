//! `postern archive search|show|purge` (SPEC M8, issue 21 item 4): the
//! journal archive from the command line (the store's archive.rs).
//!
//! `search` prints one line per matching entry, oldest first, fields
//! separated by tabs: ID, TIME (RFC 3339, UTC), DIRECTION (in|out|local),
//! FROM, RECIPIENTS (comma-separated, Bcc included), SUBJECT. `--text` is
//! a case-insensitive substring of the archived copy as stored (header
//! fields and body, not decoded). `show ID` writes the archived copy as
//! auditors read it: `X-Postern-Archive-*` fields, then the message.
//! `purge [--now TIME]` removes the entries older than `archive.retention`
//! as of TIME (default: now), as the server does every hour.

use super::say;
use crate::cli::ArchiveCmd;
use crate::error::{CliError, Result};
use postern_config::Config;
use postern_store::archive::{ArchiveEntry, ArchiveQuery};
use postern_store::Store;
use std::io::Write;
use time::format_description::well_known::Rfc3339;

/// The longest Subject printed by `search`, in characters.
const MAX_SUBJECT: usize = 200;

pub fn run(store: &Store, config: &Config, cmd: ArchiveCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        ArchiveCmd::Search {
            from,
            to,
            since,
            before,
            text,
        } => {
            let q = ArchiveQuery {
                from,
                to,
                since: since.as_deref().map(parse_time).transpose()?,
                before: before.as_deref().map(parse_time).transpose()?,
                period: None,
                after_id: None,
            };
            search(store, &q, text.as_deref(), out)
        }
        ArchiveCmd::Show { id } => {
            let copy = store
                .archive_entry(id)?
                .map(|e| store.archive_message(&e))
                .transpose()?
                .flatten()
                .ok_or_else(|| CliError::Invalid(format!("no archive entry {id}")))?;
            out.write_all(&copy).map_err(CliError::stdout)
        }
        ArchiveCmd::Purge { now } => {
            let now = match now.as_deref() {
                Some(t) => parse_time(t)?,
                None => time::OffsetDateTime::now_utc().unix_timestamp(),
            };
            let n = crate::serve::archive::purge_at(store, config, now)?;
            say(out, format_args!("purged {n} entries"))
        }
    }
}

fn search(store: &Store, q: &ArchiveQuery, text: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let needle = text.map(|t| t.to_lowercase().into_bytes());
    for e in store.archive_entries(q)? {
        let Some(copy) = store.archive_message(&e)? else {
            continue;
        };
        if let Some(n) = &needle {
            if !contains_ci(&copy, n) {
                continue;
            }
        }
        say(out, line(&e, &subject(&copy)))?;
    }
    Ok(())
}

fn line(e: &ArchiveEntry, subject: &str) -> String {
    let when = time::OffsetDateTime::from_unix_timestamp(e.received)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    format!(
        "{}\t{when}\t{}\t{}\t{}\t{subject}",
        e.id,
        e.direction,
        e.sender,
        e.recipients.join(",")
    )
}

fn contains_ci(hay: &[u8], lower_needle: &[u8]) -> bool {
    lower_needle.is_empty()
        || hay
            .windows(lower_needle.len())
            .any(|w| w.eq_ignore_ascii_case(lower_needle))
}

/// The message's Subject, unfolded (RFC 5322 §2.2.3), as stored.
fn subject(copy: &[u8]) -> String {
    let text = String::from_utf8_lossy(copy);
    let mut found: Option<String> = None;
    for l in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if l.is_empty() {
            break;
        }
        match &mut found {
            Some(s) if l.starts_with([' ', '\t']) => s.push_str(l),
            Some(_) => break,
            None if l
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("subject:")) =>
            {
                found = Some(l[8..].trim_start().to_string())
            }
            None => {}
        }
    }
    let s = found.unwrap_or_default().replace(['\t', '\r'], " ");
    s.chars().take(MAX_SUBJECT).collect()
}

/// `2026-12-07` (midnight UTC), `2026-12-07T10:00:00Z` (RFC 3339 in UTC),
/// or Unix seconds.
fn parse_time(text: &str) -> Result<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    parse_utc(text.trim()).ok_or_else(|| {
        CliError::Invalid(format!(
            "`{text}` is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or Unix seconds)"
        ))
    })
}

fn parse_utc(text: &str) -> Option<i64> {
    let (day, clock) = match text.split_once(['T', 't', ' ']) {
        Some((d, c)) => (d, Some(c.strip_suffix(['Z', 'z'])?)),
        None => (text, None),
    };
    let num = |s: &str| s.parse::<u32>().ok();
    let mut d = day.splitn(3, '-');
    let (y, m, dd) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(y as i32, month, u8::try_from(dd).ok()?).ok()?;
    let t = match clock {
        None => time::Time::MIDNIGHT,
        Some(c) => {
            let mut p = c.splitn(3, ':');
            let mut n8 = || p.next()?.parse::<u8>().ok();
            let (h, mi, s) = (n8()?, n8()?, n8()?);
            time::Time::from_hms(h, mi, s).ok()?
        }
    };
    Some(date.with_time(t).assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_days_rfc3339_or_seconds() {
        assert_eq!(parse_time("2026-12-07").unwrap(), 1_796_601_600);
        assert_eq!(parse_time("2026-12-07T00:00:10Z").unwrap(), 1_796_601_610);
        assert_eq!(parse_time("42").unwrap(), 42);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-13-01").is_err());
    }

    #[test]
    fn the_subject_is_unfolded_and_the_body_ignored() {
        let m = b"X-A: 1\r\nSubject: two\r\n  lines\r\nFrom: a\r\n\r\nSubject: no\r\n";
        assert_eq!(subject(m), "two  lines");
        assert_eq!(subject(b"From: a\r\n\r\nSubject: no\r\n"), "");
    }
}
