//! 5-fold cross-validation over a corpus directory laid out as
//! `DIR/spam/*` and `DIR/ham/*` (the training half written by
//! /work/shared/corpus/spam-train.sh), in process, to tune the tokenizer and
//! the model quickly; bench/spam.sh measures the real CLI.
//!
//! usage: cargo run --release -p postern-spam --example cv -- DIR [TAG_SCORE]

use postern_spam::{check::check_tokens, header, Class, Classifier, Tokens};
use std::path::Path;

struct Msg {
    name: String,
    spam: bool,
    tokens: Tokens,
    fields: Vec<(String, String)>,
}

fn load(dir: &Path, spam: bool, out: &mut Vec<Msg>) {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        let mut raw = std::fs::read(&p).unwrap();
        // The corpus files start with an mbox envelope line, as `spam check` drops it.
        if raw.starts_with(b"From ") {
            let nl = raw
                .iter()
                .position(|&b| b == b'\n')
                .map_or(raw.len(), |n| n + 1);
            raw.drain(..nl);
        }
        let head = &raw[..header::header_end(&raw)];
        out.push(Msg {
            name: p.display().to_string(),
            spam,
            tokens: Tokens::from_message(&raw),
            fields: header::fields(head),
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let tag: f64 = args.get(2).map_or(5.0, |s| s.parse().unwrap());
    let mut msgs = Vec::new();
    load(&dir.join("spam"), true, &mut msgs);
    load(&dir.join("ham"), false, &mut msgs);
    let mut scored: Vec<(bool, f64, f64)> = Vec::new();
    let names = [
        "MISSING_DATE",
        "MISSING_MID",
        "REPLYTO_DIFFERS",
        "SUBJ_ALL_CAPS",
        "HTML_ONLY",
    ];
    let mut without: Vec<Vec<(bool, f64, f64)>> = vec![Vec::new(); names.len()];
    for fold in 0..5 {
        let mut c = Classifier::default();
        for (i, m) in msgs.iter().enumerate() {
            if i % 5 != fold {
                c.train(if m.spam { Class::Spam } else { Class::Ham }, &m.tokens);
            }
        }
        for (i, m) in msgs.iter().enumerate() {
            if i % 5 == fold {
                let r = check_tokens(&c, &m.tokens, &m.fields);
                let bayes_only = r
                    .tests
                    .iter()
                    .filter(|t| t.name.starts_with("BAYES"))
                    .map(|t| t.points)
                    .sum();
                for (k, name) in names.iter().enumerate() {
                    let minus: f64 = r
                        .tests
                        .iter()
                        .filter(|t| t.name == *name)
                        .map(|t| t.points)
                        .sum();
                    without[k].push((m.spam, r.score - minus, 0.0));
                }
                scored.push((m.spam, r.score, bayes_only));
                if std::env::var("CV_SHOW").is_ok() && (m.spam != (r.score >= tag)) {
                    println!("{}\t{:.2}\t{}", m.name, r.score, r.tests_line());
                }
            }
        }
    }
    report("all tests", &scored, tag, |s| s.1);
    report("bayes only", &scored, tag, |s| s.2);
    for (k, name) in names.iter().enumerate() {
        report(&format!("all but {name}"), &without[k], tag, |s| s.1);
    }
    if std::env::var("CV_CURVE").is_ok() {
        for p in [0.3, 0.4, 0.45, 0.48, 0.5, 0.52, 0.55, 0.6, 0.7, 0.8, 0.9] {
            let t = postern_spam::check::bayes_points(p);
            report(&format!("p>={p}"), &scored, t, |s| s.2);
        }
    }
}

fn report(what: &str, scored: &[(bool, f64, f64)], tag: f64, f: impl Fn(&(bool, f64, f64)) -> f64) {
    let spam = scored.iter().filter(|s| s.0).count() as f64;
    let ham = scored.len() as f64 - spam;
    let tp = scored.iter().filter(|s| s.0 && f(s) >= tag).count() as f64;
    let fp = scored.iter().filter(|s| !s.0 && f(s) >= tag).count() as f64;
    println!(
        "{what}: at {tag}: recall {:.2}% fp {:.2}% ({fp} of {ham})",
        100.0 * tp / spam,
        100.0 * fp / ham
    );
    // The best recall with FP <= 0.5 %, over thresholds.
    let mut hs: Vec<f64> = scored.iter().filter(|s| !s.0).map(&f).collect();
    hs.sort_by(|a, b| b.total_cmp(a));
    let allowed = (ham * 0.005).floor() as usize;
    let t = hs[allowed] + 1e-9;
    let tp = scored.iter().filter(|s| s.0 && f(s) >= t).count() as f64;
    println!(
        "{what}: best at fp<=0.5%: threshold {t:.3} recall {:.2}%",
        100.0 * tp / spam
    );
}
