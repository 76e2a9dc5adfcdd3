use super::*;
use crate::dns::Zone;
use crate::pipeline::tests::lookups;
use std::net::Ipv6Addr;

fn list(zone: &str, action: ListAction, returns: &[&str]) -> Dnsbl {
    Dnsbl {
        zone: zone.into(),
        action,
        score: 2.5,
        when: ListWhen::Rcpt,
        returns: returns.iter().map(|r| r.parse().unwrap()).collect(),
    }
}

#[test]
fn ipv4_query_reverses_octets() {
    // RFC 5782 §2.1's own example.
    let ip: IpAddr = "192.168.42.23".parse().unwrap();
    assert_eq!(
        query_name(ip, "dnsbl.example.net."),
        "23.42.168.192.dnsbl.example.net"
    );
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    assert_eq!(query_name(mapped, "zen.example"), "1.0.0.127.zen.example");
}

#[test]
fn ipv6_query_reverses_nibbles() {
    // RFC 5782 §2.4's example: 2001:db8:1:2:3:4:567:89ab.
    let ip = IpAddr::V6("2001:db8:1:2:3:4:567:89ab".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        query_name(ip, "ugly.example.com"),
        "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
    );
}

#[test]
fn only_127_answers_in_returns_are_listings() {
    let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    assert_eq!(listing_answer(&[a("127.0.0.2")], &[]), Some(a("127.0.0.2")));
    // RFC 5782 §2.3: other answers are the list's errors (e.g. a wildcard).
    assert_eq!(listing_answer(&[a("192.0.2.1")], &[]), None);
    assert_eq!(listing_answer(&[a("127.0.0.10")], &[a("127.0.0.2")]), None);
    assert_eq!(
        listing_answer(&[a("127.0.0.10"), a("127.0.0.2")], &[a("127.0.0.2")]),
        Some(a("127.0.0.2"))
    );
}

#[test]
fn txt_reasons_cannot_inject_reply_lines() {
    assert_eq!(
        safe_reason("Listed\r\n250 OK\tsee  https://bl.example/?ip=1").as_deref(),
        Some("Listed 250 OK see https://bl.example/?ip=1")
    );
    assert_eq!(safe_reason("\u{7}\r\n"), None);
    let long = safe_reason(&"x".repeat(MAX_REASON + 1)).unwrap();
    assert_eq!(long.len(), MAX_REASON);
    assert_eq!(safe_reason("é listed").as_deref(), Some("listed"));
}

#[tokio::test]
async fn listed_unlisted_and_silent_zones() {
    let zone = Zone::default();
    zone.a("1.0.0.127.block.example", &["127.0.0.2".parse().unwrap()]);
    zone.a(
        "1.0.0.127.other-code.example",
        &["127.0.0.9".parse().unwrap()],
    );
    let lists = [
        list("block.example", ListAction::Block, &[]),
        list("other-code.example", ListAction::Score, &["127.0.0.2"]),
        // Not in the zone: asked of a server that never answers.
        list("silent.example", ListAction::Score, &[]),
    ];
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let started = std::time::Instant::now();
    let got = check_client(&lookups(zone), ip, &lists, Duration::from_millis(200)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got.zones(), "block.example");
    assert_eq!(
        got.block(Some(ListWhen::Rcpt)).unwrap().answer,
        "127.0.0.2".parse::<Ipv4Addr>().unwrap()
    );
    assert!(got.block(Some(ListWhen::Connect)).is_none());
    assert_eq!(got.unanswered.len(), 1, "{got:?}");
    assert_eq!(got.unanswered[0].0, "silent.example");
    assert!(got.tests("DNSBL").is_empty());
}

#[tokio::test]
async fn score_listings_become_tests_once_per_zone() {
    let zone = Zone::default();
    for d in ["bad.example", "worse.example"] {
        zone.a(&format!("{d}.uri.example"), &["127.0.0.2".parse().unwrap()]);
    }
    zone.a("fine.example.uri.example", &[]);
    let lists = [Uribl {
        zone: "uri.example".into(),
        action: ListAction::Score,
        score: 4.0,
        returns: vec![],
    }];
    let domains: Vec<String> = ["bad.example", "fine.example", "worse.example"]
        .map(String::from)
        .to_vec();
    let got = check_domains(&lookups(zone), &domains, &lists, Duration::from_secs(1)).await;
    assert_eq!(got.hits.len(), 2);
    assert_eq!(got.hits[0].item, "bad.example");
    let tests = got.tests("URIBL");
    assert_eq!(tests.len(), 1);
    assert_eq!(
        (tests[0].name.as_str(), tests[0].points),
        ("URIBL_uri.example", 4.0)
    );
}
