//! `postern spam train|check|stats` (SPEC P7, issue 16 items 6 and 7).
//! `train` tokenizes every message, adds the counts to the store in one
//! transaction; `check` loads the model once and scores messages on every
//! core, printing `PATH\tSCORE\tspam|ham\tTESTS` in the order given.

use super::say;
use super::spam_sources::each_message;
use crate::cli::SpamCmd;
use crate::error::Result;
use postern_config::Config;
use postern_spam::{check, Class, Classifier, Report, Tokens};
use postern_store::{SenderList, SpamTraining, Store};
use std::io::Write;

/// Messages scored together (read, then scored in parallel, then printed).
const CHECK_BATCH: usize = 512;

pub fn run(store: &Store, config: &Config, cmd: SpamCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        SpamCmd::Train { class, paths } => {
            let class = if class.spam { Class::Spam } else { Class::Ham };
            train(store, class, &paths, out)
        }
        SpamCmd::Check { offline, paths } => check_paths(store, config, offline, &paths, out),
        SpamCmd::Whitelist { cmd } => super::spam_lists::run(store, SenderList::White, cmd, out),
        SpamCmd::Blacklist { cmd } => super::spam_lists::run(store, SenderList::Black, cmd, out),
        SpamCmd::Stats => {
            let (spam, ham, tokens) = store.spam_stats()?;
            say(out, format_args!("spam: {spam}"))?;
            say(out, format_args!("ham: {ham}"))?;
            say(out, format_args!("tokens: {tokens}"))
        }
    }
}

fn train(
    store: &Store,
    class: Class,
    paths: &[std::path::PathBuf],
    out: &mut dyn Write,
) -> Result<()> {
    // The counts of this batch alone, added to the stored ones at the end.
    let mut batch = Classifier::default();
    for path in paths {
        each_message(path, &mut |_, raw| {
            batch.train(class, &Tokens::from_message(&raw));
            Ok(())
        })?;
    }
    let t = SpamTraining {
        spam_messages: batch.messages(Class::Spam),
        ham_messages: batch.messages(Class::Ham),
        tokens: batch.counts().map(|(h, c)| (h, c.spam, c.ham)).collect(),
    };
    store.spam_train(&t)?;
    let n = batch.messages(class);
    let what = if class == Class::Spam { "spam" } else { "ham" };
    say(out, format_args!("trained {n} {what} messages"))
}

pub(crate) fn load(store: &Store) -> Result<Classifier> {
    let m = store.spam_model()?;
    let tokens = m.tokens.into_iter().map(|(h, spam, ham)| {
        let counts = postern_spam::TokenCounts { spam, ham };
        (h, counts)
    });
    Ok(Classifier::from_counts(
        m.spam_messages,
        m.ham_messages,
        tokens,
    ))
}

fn check_paths(
    store: &Store,
    config: &Config,
    offline: bool,
    paths: &[std::path::PathBuf],
    out: &mut dyn Write,
) -> Result<()> {
    let classifier = load(store)?;
    let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
    for path in paths {
        each_message(path, &mut |name, raw| {
            batch.push((name, raw));
            if batch.len() >= CHECK_BATCH {
                flush(&classifier, config, offline, &mut batch, out)?;
            }
            Ok(())
        })?;
    }
    flush(&classifier, config, offline, &mut batch, out)
}

/// Scores a batch on every core and prints it in order.
fn flush(
    classifier: &Classifier,
    config: &Config,
    offline: bool,
    batch: &mut Vec<(String, Vec<u8>)>,
    out: &mut dyn Write,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = batch.len().div_ceil(threads).max(1);
    let mut reports: Vec<Report> = std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .map(|c| {
                s.spawn(move || {
                    let r: Vec<Report> = c.iter().map(|(_, raw)| check(classifier, raw)).collect();
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<Report>>()
    });
    if !offline {
        let raws: Vec<&[u8]> = batch.iter().map(|(_, raw)| raw.as_slice()).collect();
        super::spam_dns::add_dns_tests(config, &raws, &mut reports)?;
    }
    for ((name, _), r) in batch.iter().zip(&reports) {
        let verdict = if r.score >= config.spam.tag_score {
            "spam"
        } else {
            "ham"
        };
        let line = format!("{name}\t{:.2}\t{verdict}\t{}", r.score, r.tests_line());
        say(out, line)?;
    }
    batch.clear();
    Ok(())
}
