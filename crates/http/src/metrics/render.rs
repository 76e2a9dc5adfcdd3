//! The Prometheus text exposition format (version 0.0.4): `# HELP` and
//! `# TYPE` before each family, one sample per line, label values escaped,
//! histograms as cumulative `_bucket{le=…}`, `_sum` and `_count`.

use super::summary::{Live, Summary};
use postern_net::metrics::{Event, BUCKETS_MICROS};
use std::fmt::Write;

/// The media type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let o = &mut out;
    family(
        o,
        "postern_queue_messages",
        "gauge",
        "Messages in the outbound queue.",
    );
    sample(o, "postern_queue_messages", &[], s.queue_messages);
    family(
        o,
        "postern_queue_oldest_age_seconds",
        "gauge",
        "Age of the oldest queued message.",
    );
    sample(
        o,
        "postern_queue_oldest_age_seconds",
        &[],
        s.queue_oldest_seconds,
    );
    family(
        o,
        "postern_blocked_addresses",
        "gauge",
        "Client addresses blocked now.",
    );
    sample(o, "postern_blocked_addresses", &[], s.blocked);
    family(
        o,
        "postern_spam_total",
        "counter",
        "Antispam decisions since the data directory was made.",
    );
    for (name, n) in &s.spam {
        sample(o, "postern_spam_total", &[("counter", name)], *n);
    }
    if let Some(live) = &s.live {
        render_live(o, live);
    }
    out
}

fn render_live(o: &mut String, live: &Live) {
    family(
        o,
        "postern_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    );
    sample(o, "postern_uptime_seconds", &[], live.uptime_seconds);
    family(
        o,
        "postern_connections",
        "gauge",
        "Connections open now per listener.",
    );
    for (name, n) in &live.connections {
        sample(o, "postern_connections", &[("service", name)], *n as u64);
    }
    for (event, n) in &live.events {
        let (name, help) = event_family(*event);
        family(o, name, "counter", help);
        sample(o, name, &[], *n);
    }
    let name = "postern_command_duration_seconds";
    family(
        o,
        name,
        "histogram",
        "Time from a command's arrival to its reply, per protocol.",
    );
    for (protocol, h) in &live.commands {
        let p = protocol.name();
        for (bound, n) in BUCKETS_MICROS.iter().zip(&h.cumulative) {
            let le = seconds(*bound);
            sample(
                o,
                &format!("{name}_bucket"),
                &[("protocol", p), ("le", &le)],
                *n,
            );
        }
        sample(
            o,
            &format!("{name}_bucket"),
            &[("protocol", p), ("le", "+Inf")],
            h.count,
        );
        let sum = seconds(h.sum_micros);
        let _ = writeln!(o, "{name}_sum{{protocol=\"{p}\"}} {sum}");
        sample(o, &format!("{name}_count"), &[("protocol", p)], h.count);
    }
}

/// Each event's metric name (`_total`: a counter) and help text.
pub fn event_family(e: Event) -> (&'static str, &'static str) {
    match e {
        Event::Received => (
            "postern_messages_received_total",
            "Messages accepted by SMTP.",
        ),
        Event::Delivered => (
            "postern_messages_delivered_total",
            "Recipients delivered to a local mailbox or accepted by the next hop.",
        ),
        Event::Deferred => (
            "postern_messages_deferred_total",
            "Outbound attempts failed temporarily, per recipient.",
        ),
        Event::Bounced => (
            "postern_messages_bounced_total",
            "Recipients given up on and bounced.",
        ),
        Event::AuthFailure => (
            "postern_auth_failures_total",
            "Failed logins on every protocol.",
        ),
    }
}

fn seconds(micros: u64) -> String {
    format!("{}", micros as f64 / 1e6)
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(o: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    o.push_str(name);
    if !labels.is_empty() {
        let pairs: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = write!(o, "{{{}}}", pairs.join(","));
    }
    let _ = writeln!(o, " {value}");
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::metrics::{Histogram, Protocol};
    use std::time::Duration;

    fn summary() -> Summary {
        let h = Histogram::new();
        h.observe(Duration::from_micros(300));
        Summary {
            queue_messages: 2,
            queue_oldest_seconds: 90,
            blocked: 1,
            spam: vec![("tagged".into(), 4)],
            live: Some(Live {
                uptime_seconds: 5,
                connections: vec![("imap".into(), 3)],
                events: vec![(Event::Received, 7)],
                commands: vec![(Protocol::Smtp, h.snapshot())],
            }),
        }
    }

    #[test]
    fn every_family_is_typed_and_histograms_end_with_inf() {
        let text = render(&summary());
        assert!(text.contains("# TYPE postern_command_duration_seconds histogram\n"));
        assert!(text.contains(
            "postern_command_duration_seconds_bucket{protocol=\"smtp\",le=\"0.00025\"} 0\n"
        ));
        assert!(text.contains(
            "postern_command_duration_seconds_bucket{protocol=\"smtp\",le=\"0.0005\"} 1\n"
        ));
        assert!(text.contains(
            "postern_command_duration_seconds_bucket{protocol=\"smtp\",le=\"+Inf\"} 1\n"
        ));
        assert!(text.contains("postern_command_duration_seconds_sum{protocol=\"smtp\"} 0.0003\n"));
        assert!(text.contains("postern_connections{service=\"imap\"} 3\n"));
        assert!(text.contains("postern_messages_received_total 7\n"));
        assert!(text.contains("postern_queue_oldest_age_seconds 90\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let base = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {base} "))
                    || text.contains(&format!("# TYPE {name} ")),
                "{line}"
            );
        }
    }

    #[test]
    fn without_a_server_only_the_stores_facts() {
        let mut s = summary();
        s.live = None;
        let text = render(&s);
        assert!(!text.contains("postern_connections"));
        assert!(text.contains("postern_spam_total{counter=\"tagged\"} 4\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
