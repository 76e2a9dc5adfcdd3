use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn group(entries: &[&str]) -> IpGroup {
    IpGroup::parse(entries.iter().copied()).unwrap()
}

#[test]
fn hosts_v4_and_v6() {
    let g = group(&["192.0.2.7", "2001:db8::7"]);
    assert!(g.contains(ip("192.0.2.7")));
    assert!(!g.contains(ip("192.0.2.8")));
    assert!(g.contains(ip("2001:db8::7")));
    assert!(!g.contains(ip("2001:db8::8")));
}

#[test]
fn networks_cidr_and_mask() {
    let g = group(&["10.0.0.0/8", "192.168.1.0/255.255.255.0", "2001:db8::/32"]);
    assert!(g.contains(ip("10.255.0.1")));
    assert!(!g.contains(ip("11.0.0.1")));
    assert!(g.contains(ip("192.168.1.200")));
    assert!(!g.contains(ip("192.168.2.1")));
    assert!(g.contains(ip("2001:db8:ffff::1")));
    assert!(!g.contains(ip("2001:db9::1")));
    // Families never match each other.
    assert!(!group(&["0.0.0.0/0"]).contains(ip("::1")));
    assert!(group(&["::/0"]).contains(ip("::1")));
    assert!(!group(&["::/0"]).contains(ip("127.0.0.1")));
}

#[test]
fn mapped_v6_is_its_v4_address() {
    let g = group(&["127.0.0.0/8"]);
    assert!(g.contains(ip("::ffff:127.0.0.1")));
    assert_eq!(
        "::ffff:192.0.2.1".parse::<Entry>().unwrap().to_string(),
        "192.0.2.1"
    );
}

#[test]
fn ranges_are_inclusive() {
    let g = group(&["192.0.2.10-192.0.2.20", "2001:db8::10 - 2001:db8::20"]);
    for (a, want) in [
        ("192.0.2.9", false),
        ("192.0.2.10", true),
        ("192.0.2.20", true),
        ("192.0.2.21", false),
        ("2001:db8::15", true),
        ("2001:db8::21", false),
    ] {
        assert_eq!(g.contains(ip(a)), want, "{a}");
    }
}

#[test]
fn exclusions_win_whatever_the_order() {
    for entries in [["!10.0.0.5", "10.0.0.0/24"], ["10.0.0.0/24", "!10.0.0.5"]] {
        let g = group(&entries);
        assert!(g.contains(ip("10.0.0.4")));
        assert!(!g.contains(ip("10.0.0.5")));
    }
    let g = group(&["10.0.0.0/8", "!10.1.0.0/16", "!10.2.0.1-10.2.0.9"]);
    assert!(!g.contains(ip("10.1.2.3")));
    assert!(!g.contains(ip("10.2.0.5")));
    assert!(g.contains(ip("10.2.0.10")));
    // Only exclusions: nobody is in.
    assert!(!group(&["!10.0.0.5"]).contains(ip("10.0.0.6")));
    assert!(!IpGroup::default().contains(ip("127.0.0.1")));
}

#[test]
fn canonical_spelling() {
    for (given, shown) in [
        (" 10.0.0.0/255.0.0.0 ", "10.0.0.0/8"),
        ("! 10.0.0.5", "!10.0.0.5"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("1.2.3.4 - 1.2.3.9", "1.2.3.4-1.2.3.9"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::/0", "::/0"),
        ("10.0.0.5/32", "10.0.0.5/32"),
    ] {
        assert_eq!(given.parse::<Entry>().unwrap().to_string(), shown);
    }
}

#[test]
fn bad_entries_are_explained() {
    let err = |s: &str| s.parse::<Entry>().unwrap_err();
    assert_eq!(err(""), EntryError::Empty);
    assert_eq!(err("!"), EntryError::Empty);
    assert!(matches!(err("10.0.0.256"), EntryError::Address(_)));
    assert!(matches!(err("example.org"), EntryError::Address(_)));
    assert!(matches!(err("10.0.0.0/33"), EntryError::Prefix(_)));
    assert!(matches!(err("2001:db8::/129"), EntryError::Prefix(_)));
    assert!(matches!(err("10.0.0.0/255.0.255.0"), EntryError::Prefix(_)));
    assert!(matches!(err("2001:db8::/ffff::"), EntryError::Prefix(_)));
    assert!(matches!(err("10.0.0.0/"), EntryError::Prefix(_)));
    assert_eq!(
        err("10.0.0.5/8").to_string(),
        "`10.0.0.5/8` has host bits set; did you mean 10.0.0.0/8?"
    );
    assert!(matches!(err("10.0.0.9-10.0.0.1"), EntryError::Range(_)));
    assert!(matches!(err("10.0.0.1-::1"), EntryError::Range(_)));
    assert!(matches!(err("10.0.0.1-"), EntryError::Address(_)));
    assert!(IpGroup::parse(["10.0.0.1", "nope"]).is_err());
}

#[test]
fn group_names() {
    for good in ["office", "LAN-2", "relay_hosts", "a.b"] {
        check_name(good).unwrap();
    }
    for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
}
