//! `postern status`: the summary `GET /metrics` gives (issue 19 item 5), from
//! the running server when it answers, else what the data directory holds
//! (queue, blocks, antispam counters; no connections or per-process counts).

use super::{say, status_fetch};
use crate::error::Result;
use postern_http::metrics::{render, Summary};
use postern_store::Store;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub fn run(data: &Path, store: &Store, out: &mut dyn Write) -> Result<()> {
    let (server, text) = match status_fetch::fetch(data) {
        Ok((pid, text)) => (format!("running (pid {pid})"), text),
        Err(why) => {
            let now = postern_net::clock::Clock::now(&postern_net::clock::SystemClock);
            (
                format!("not answering: {why}"),
                render(&Summary::from_store(store, now)?),
            )
        }
    };
    let samples = parse(&text);
    say(out, format_args!("server: {server}"))?;
    for line in summary_lines(&samples) {
        say(out, line)?;
    }
    Ok(())
}

/// `name{labels}` → value, for every sample line of the text format.
pub fn parse(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// The samples whose name is `name`, by their labels (`{…}` or empty).
fn family<'a>(s: &'a BTreeMap<String, f64>, name: &str) -> Vec<(&'a str, f64)> {
    s.iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(name)?;
            (rest.is_empty() || rest.starts_with('{')).then_some((rest, *v))
        })
        .collect()
}

/// `{service="imap"}` → `imap`.
fn label(labels: &str) -> &str {
    labels
        .split_once('"')
        .and_then(|(_, r)| r.split_once('"'))
        .map_or(labels, |(v, _)| v)
}

fn summary_lines(s: &BTreeMap<String, f64>) -> Vec<String> {
    let one = |n: &str| s.get(n).copied().unwrap_or(0.0) as u64;
    let mut lines = Vec::new();
    if s.contains_key("postern_uptime_seconds") {
        lines.push(format!("uptime: {}s", one("postern_uptime_seconds")));
        let conns: Vec<String> = family(s, "postern_connections")
            .iter()
            .map(|(l, v)| format!("{} {}", label(l), *v as u64))
            .collect();
        lines.push(format!("connections: {}", conns.join(", ")));
        lines.push(format!(
            "messages: received {}, delivered {}, deferred {}, bounced {}",
            one("postern_messages_received_total"),
            one("postern_messages_delivered_total"),
            one("postern_messages_deferred_total"),
            one("postern_messages_bounced_total"),
        ));
        lines.push(format!(
            "auth failures: {}",
            one("postern_auth_failures_total")
        ));
        lines.extend(latency_lines(s));
    }
    lines.push(format!(
        "queue: {} messages, oldest {}s",
        one("postern_queue_messages"),
        one("postern_queue_oldest_age_seconds")
    ));
    lines.push(format!(
        "blocked addresses: {}",
        one("postern_blocked_addresses")
    ));
    let spam: Vec<String> = family(s, "postern_spam_total")
        .iter()
        .map(|(l, v)| format!("{} {}", label(l), *v as u64))
        .collect();
    lines.push(format!("spam: {}", spam.join(", ")));
    lines
}

/// `latency smtp: 12 commands, mean 0.4 ms` per protocol.
fn latency_lines(s: &BTreeMap<String, f64>) -> Vec<String> {
    let name = "postern_command_duration_seconds";
    family(s, &format!("{name}_count"))
        .iter()
        .map(|(labels, count)| {
            let sum = s
                .get(&format!("{name}_sum{labels}"))
                .copied()
                .unwrap_or(0.0);
            let mean = if *count > 0.0 { sum / count * 1e3 } else { 0.0 };
            format!(
                "latency {}: {} commands, mean {mean:.2} ms",
                label(labels),
                *count as u64
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_the_metrics_text() {
        let text = "# HELP x\npostern_uptime_seconds 7\npostern_connections{service=\"imap\"} 2\n\
            postern_messages_received_total 3\npostern_queue_messages 1\n\
            postern_command_duration_seconds_sum{protocol=\"smtp\"} 0.004\n\
            postern_command_duration_seconds_count{protocol=\"smtp\"} 2\n\
            postern_spam_total{counter=\"tagged\"} 5\n";
        let lines = summary_lines(&parse(text));
        assert!(
            lines.contains(&"connections: imap 2".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"messages: received 3, delivered 0, deferred 0, bounced 0".into()));
        assert!(lines.contains(&"latency smtp: 2 commands, mean 2.00 ms".into()));
        assert!(lines.contains(&"queue: 1 messages, oldest 0s".into()));
        assert!(lines.contains(&"spam: tagged 5".into()));
    }

    #[test]
    fn without_a_server_no_live_lines() {
        let lines = summary_lines(&parse("postern_queue_messages 0\n"));
        assert!(!lines.iter().any(|l| l.starts_with("connections")));
        assert_eq!(lines[0], "queue: 0 messages, oldest 0s");
    }
}
