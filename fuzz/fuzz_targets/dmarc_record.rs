//! A DMARC TXT record from DNS as we read it (mail-auth's parser, then our
//! policy_published) and on into a report: the row, its rua destinations,
//! and the report XML. Never panics; the policy words, alignment modes and
//! pct are in their ranges; every destination is a mailto: address; the
//! XML has exactly one record, and nothing from the record can open a tag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_filter::{AuthResult, DmarcOutcome, Results};
use postern_reports::send::{destinations, MAX_DESTINATIONS};
use postern_reports::xml::{report, Metadata};
use postern_store::StoredDmarcRow;

fuzz_target!(|data: &[u8]| {
    let Some(p) = postern_filter::fuzzing::dmarc_record(data, "example.net") else {
        return;
    };
    assert!(["none", "quarantine", "reject"].contains(&p.p), "{}", p.p);
    assert!(["none", "quarantine", "reject"].contains(&p.sp), "{}", p.sp);
    assert!(matches!(p.adkim, 'r' | 's') && matches!(p.aspf, 'r' | 's'));
    assert!(p.rua.iter().all(|(u, _)| u.starts_with("mailto:")));
    let results = Results {
        dmarc: Some(DmarcOutcome {
            result: AuthResult::Fail,
            from_domain: "example.net".into(),
            policy: p.p,
            disposition: p.p.into(),
        }),
        dmarc_published: Some(p.clone()),
        ..Results::default()
    };
    let ip = "192.0.2.1".parse().unwrap();
    let Some(row) = postern_reports::row_of(&results, ip, "a@example.net") else {
        assert!(p.rua.is_empty(), "a record with rua= is reported");
        return;
    };
    let dest = destinations(&row.rua);
    assert!(dest.len() <= MAX_DESTINATIONS);
    assert!(dest
        .iter()
        .all(|(a, _)| a.contains('@') && !a.contains('\n')));
    let stored = StoredDmarcRow {
        id: 1,
        period_start: 0,
        period_end: 86_400,
        count: 1,
        row,
    };
    let meta = Metadata {
        org: "mx.example.org",
        email: "postmaster@mx.example.org",
        report_id: "0.example.net",
        begin: 0,
        end: 86_400,
    };
    let xml = report(&meta, &[stored]);
    assert_eq!(xml.matches("<record>").count(), 1);
    assert_eq!(xml.matches('<').count(), xml.matches('>').count());
});
