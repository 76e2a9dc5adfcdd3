//! The spam classifier's view of arbitrary message bytes. Checked: tokenizing
//! and checking never panic; tokens are sorted, distinct and at most
//! MAX_TOKENS; the same bytes give the same tokens; an untrained classifier
//! scores 0 points unless GTUBE is present.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_spam::{check, tokenize::MAX_TOKENS, Classifier, Tokens};

fuzz_target!(|data: &[u8]| {
    let t = Tokens::from_message(data);
    assert!(t.len() <= MAX_TOKENS);
    assert!(t.hashes().windows(2).all(|w| w[0] < w[1]));
    assert_eq!(t, Tokens::from_message(data));
    let r = check(&Classifier::default(), data);
    assert!(r.score.is_finite());
    if !t.gtube() {
        assert!(r.tests.iter().all(|x| !x.name.starts_with("BAYES") && x.name != "GTUBE"));
    }
});
