//! The spam stage over hand-made messages: classes at the thresholds, the
//! headers and subject tag, the authentication points, forged fields removed.

use super::*;
use crate::context::Client;
use crate::results::{DmarcOutcome, SpfOutcome};
use postern_spam::{Class as Trained, Tokens};

fn ctx(raw: &[u8]) -> Context<'_> {
    let client = Client {
        ip: "192.0.2.7".parse().unwrap(),
        helo: "client.example".into(),
        exempt: false,
    };
    Context::new(client, "a@example.net", raw, None)
}

fn accepted() -> Verdict {
    Verdict {
        action: Action::Accept,
        add_headers: String::new(),
        remove: vec![],
        results: Results::default(),
        reason: None,
    }
}

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn message(subject: &str, body: &str) -> String {
    format!("X-Spam-Flag: NO\r\nSubject: {subject}\r\nDate: Mon, 7 Dec 2026 01:00:00 +0000\r\nMessage-ID: <a@example.net>\r\nFrom: a@example.net\r\n\r\n{body}\r\n")
}

#[test]
fn untrained_model_leaves_normal_mail_alone() {
    let raw = message("lunch", "see you at noon");
    let out = score(
        raw.as_bytes(),
        &Results::default(),
        &Classifier::default(),
        &Spam::default(),
    );
    assert_eq!(out.class, Class::Ham, "{out:?}");
    assert_eq!(out.report.score, 0.0, "no BAYES points without evidence");
    let c = ctx(raw.as_bytes());
    let mut v = accepted();
    v.add_spam(&c, &out, &Spam::default());
    assert_eq!(v, accepted());
}

#[test]
fn gtube_is_tagged_into_junk_with_subject_and_headers() {
    let raw = message("hello", GTUBE);
    let cfg = Spam {
        reject_score: 2000.0,
        ..Spam::default()
    };
    let out = score(
        raw.as_bytes(),
        &Results::default(),
        &Classifier::default(),
        &cfg,
    );
    assert_eq!(out.class, Class::Spam);
    let c = ctx(raw.as_bytes());
    let mut v = accepted();
    v.remove_fields(forged_headers(&c));
    v.add_spam(&c, &out, &cfg);
    assert_eq!(v.action, Action::Junk);
    let stored = String::from_utf8(v.rewrite(raw.as_bytes())).unwrap();
    assert!(
        stored.starts_with(
            "X-Spam-Flag: YES\r\nX-Spam-Score: 1000.0\r\nX-Spam-Status: Yes, score=1000.0 required=5.0\r\n\ttests=GTUBE\r\nSubject: **SPAM** hello\r\nDate:"
        ),
        "{stored}"
    );
    assert!(!stored.contains("X-Spam-Flag: NO"), "forged field removed");
    assert_eq!(stored.matches("Subject:").count(), 1);
}

#[test]
fn reject_score_is_crossed_at_the_threshold() {
    let raw = message("hello", GTUBE);
    let at = Spam {
        reject_score: 1000.0,
        ..Spam::default()
    };
    let classifier = Classifier::default();
    let out = score(raw.as_bytes(), &Results::default(), &classifier, &at);
    assert_eq!(out.class, Class::Reject);
    let mut v = accepted();
    v.add_spam(&ctx(raw.as_bytes()), &out, &at);
    let Action::Reject(r) = &v.action else {
        panic!("{v:?}")
    };
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
    let above = Spam {
        reject_score: 1000.01,
        ..Spam::default()
    };
    let out = score(raw.as_bytes(), &Results::default(), &classifier, &above);
    assert_eq!(out.class, Class::Spam);
    let discard = Spam {
        reject_action: RejectAction::Discard,
        ..at
    };
    let mut v = accepted();
    v.add_spam(&ctx(raw.as_bytes()), &out_of(&raw, &discard), &discard);
    assert_eq!(v.action, Action::Discard);
}

fn out_of(raw: &str, cfg: &Spam) -> SpamOutcome {
    score(
        raw.as_bytes(),
        &Results::default(),
        &Classifier::default(),
        cfg,
    )
}

#[test]
fn authentication_failures_add_points() {
    let results = Results {
        spf: Some(SpfOutcome {
            helo: AuthResult::None,
            helo_name: String::new(),
            mail_from: AuthResult::Fail,
            mail_from_identity: "a@example.net".into(),
            mail_from_domain: "example.net".into(),
        }),
        dmarc: Some(DmarcOutcome {
            result: AuthResult::Fail,
            from_domain: "example.net".into(),
            policy: "none",
            disposition: "none".into(),
        }),
        ..Results::default()
    };
    let raw = message("hi", "text");
    let out = score(
        raw.as_bytes(),
        &results,
        &Classifier::default(),
        &Spam::default(),
    );
    assert_eq!(out.report.score, SPF_FAIL + DMARC_FAIL);
    assert_eq!(out.class, Class::Spam, "5 points: the tag score");
    assert_eq!(
        out.log_fields()[1].1,
        "SPF_FAIL=+2.00,DMARC_FAIL=+3.00".to_string()
    );
}

#[test]
fn trained_model_tags_similar_spam() {
    let mut c = Classifier::default();
    for i in 0..10 {
        let spam = format!("cheap pills viagra casino winner prize {i}");
        let ham = format!("meeting agenda minutes project review {i}");
        c.train(
            Trained::Spam,
            &Tokens::from_message(message("x", &spam).as_bytes()),
        );
        c.train(
            Trained::Ham,
            &Tokens::from_message(message("x", &ham).as_bytes()),
        );
    }
    let raw = message("x", "casino winner viagra pills");
    // Certain spam is worth 5 + 16 * 0.52 = 13.3 points: over the default
    // reject_score, so the tag is seen with it raised.
    let cfg = Spam {
        reject_score: 20.0,
        ..Spam::default()
    };
    let out = score(raw.as_bytes(), &Results::default(), &c, &cfg);
    assert_eq!(out.class, Class::Spam, "{out:?}");
    let ham = message("x", "project meeting agenda");
    let out = score(ham.as_bytes(), &Results::default(), &c, &Spam::default());
    assert_eq!(out.class, Class::Ham, "{out:?}");
}

#[test]
fn a_dmarc_refusal_stands() {
    let raw = message("hello", GTUBE);
    let out = out_of(&raw, &Spam::default());
    let mut v = accepted();
    v.action = Action::Defer(Reply {
        code: 451,
        enhanced: "4.7.5",
        text: "later".into(),
    });
    v.add_spam(&ctx(raw.as_bytes()), &out, &Spam::default());
    assert!(matches!(v.action, Action::Defer(_)));
}
