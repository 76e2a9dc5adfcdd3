use super::*;

fn facts() -> DomainFacts {
    DomainFacts {
        domain: "Example.org".into(),
        hostname: "mx.example.org".into(),
        dkim: vec![("ed1".into(), Algorithm::Ed25519, vec![0; 32])],
        dmarc_rua: Some("dmarc@example.org".into()),
        services: vec![
            ("smtp".into(), 25),
            ("submission".into(), 587),
            ("imaps".into(), 993),
        ],
        source_address: None,
        relay: None,
    }
}

fn lines(f: &DomainFacts) -> Vec<String> {
    domain_records(f).iter().map(Record::zone_line).collect()
}

#[test]
fn every_record_of_a_domain() {
    assert_eq!(
        lines(&facts()),
        [
            "example.org. 3600 IN MX 10 mx.example.org.",
            "example.org. 3600 IN TXT \"v=spf1 mx -all\"",
            "ed1._domainkey.example.org. 3600 IN TXT \"v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
            "_dmarc.example.org. 3600 IN TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.org\"",
            "_submission._tcp.example.org. 3600 IN SRV 10 1 587 mx.example.org.",
            "_imaps._tcp.example.org. 3600 IN SRV 0 1 993 mx.example.org.",
        ]
    );
}

#[test]
fn without_keys_dmarc_only_watches_and_rua_elsewhere_needs_its_authorisation() {
    let mut f = facts();
    f.dkim.clear();
    f.dmarc_rua = Some("reports@example.net".into());
    f.source_address = Some("192.0.2.25".parse().unwrap());
    let l = lines(&f);
    assert!(l.contains(&"example.org. 3600 IN TXT \"v=spf1 mx ip4:192.0.2.25 -all\"".to_string()));
    assert!(l.contains(
        &"_dmarc.example.org. 3600 IN TXT \"v=DMARC1; p=none; rua=mailto:reports@example.net\""
            .into()
    ));
    assert!(
        l.contains(&"example.org._report._dmarc.example.net. 3600 IN TXT \"v=DMARC1\"".to_string())
    );
    f.dmarc_rua = None;
    assert!(lines(&f).contains(&"_dmarc.example.org. 3600 IN TXT \"v=DMARC1; p=none\"".to_string()));
}

#[test]
fn checks() {
    let recs = domain_records(&facts());
    let (mx, spf, dkim, srv) = (&recs[0], &recs[1], &recs[2], &recs[4]);
    assert_eq!(
        check(mx, &Answer::Mx(vec![(5, "MX.example.org.".into())])),
        Check::Ok
    );
    assert_eq!(
        check(mx, &Answer::Mx(vec![(10, "other.example".into())])),
        Check::Differs("10 other.example".into())
    );
    assert_eq!(check(mx, &Answer::Nothing), Check::Missing);
    let spf_found = Answer::Txt(vec![
        "google-site-verification=x".into(),
        "v=spf1  mx -all".into(),
    ]);
    assert_eq!(check(spf, &spf_found), Check::Ok);
    assert_eq!(
        check(spf, &Answer::Txt(vec!["v=spf1 a ~all".into()])),
        Check::Differs("\"v=spf1 a ~all\"".into())
    );
    assert_eq!(
        check(spf, &Answer::Txt(vec!["unrelated".into()])),
        Check::Missing
    );
    let Data::Txt(key) = &dkim.data else { panic!() };
    let split = key.replacen("p=AAAA", "p=AA AA", 1);
    assert_eq!(check(dkim, &Answer::Txt(vec![split])), Check::Ok);
    let other_key = key.replace("AAAA=", "AAAB=");
    assert!(matches!(
        check(dkim, &Answer::Txt(vec![other_key])),
        Check::Differs(_)
    ));
    assert_eq!(
        check(
            srv,
            &Answer::Srv(vec![(0, 0, 587, "mx.example.org".into())])
        ),
        Check::Ok
    );
    assert!(matches!(
        check(
            srv,
            &Answer::Srv(vec![(0, 0, 2587, "mx.example.org".into())])
        ),
        Check::Differs(_)
    ));
    assert_eq!(
        check(srv, &Answer::Failed("timeout".into())),
        Check::Failed("timeout".into())
    );
}
