//! `postern spam train|check|stats` (SPEC P7, issue 16 items 6 and 7).
//! `train` tokenizes every message, adds the counts to the store in one
//! transaction; `check` loads the model once and scores messages on every
//! core, printing `PATH\tSCORE\tspam|ham\tTESTS` in the order given.

use super::say;
use super::spam_sources::each_message;
use crate::cli::SpamCmd;
use crate::error::Result;
use postern_config::Config;
use postern_spam::rules::{Decision, Rule};
use postern_spam::{check_with_rules, Class, Classifier, Report, Tokens};
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
        SpamCmd::Rule(cmd) => super::spam_rule::run(store, cmd, out),
        SpamCmd::Whitelist { cmd } => super::spam_lists::run(store, SenderList::White, cmd, out),
        SpamCmd::Blacklist { cmd } => super::spam_lists::run(store, SenderList::Black, cmd, out),
        SpamCmd::Stats => {
            let (spam, ham, tokens) = store.spam_stats()?;
            say(out, format_args!("spam: {spam}"))?;
            say(out, format_args!("ham: {ham}"))?;
            say(out, format_args!("tokens: {tokens}"))?;
            stats_counters(store, out)
        }
    }
}

/// The antispam counters (issue 16 item 8) and greylisting's table sizes;
/// the running server writes its counts every few seconds.
fn stats_counters(store: &Store, out: &mut dyn Write) -> Result<()> {
    for (name, n) in store.counters()? {
        say(out, format_args!("{name}: {n}"))?;
    }
    let (waiting, whitelisted) = store.greylist_sizes()?;
    say(out, format_args!("greylist-waiting: {waiting}"))?;
    say(out, format_args!("greylist-whitelisted: {whitelisted}"))
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
    let rules = super::spam_rule::load_all(store)?;
    let model = (&classifier, rules.as_slice());
    let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
    for path in paths {
        each_message(path, &mut |name, raw| {
            batch.push((name, raw));
            if batch.len() >= CHECK_BATCH {
                flush(model, config, offline, &mut batch, out)?;
            }
            Ok(())
        })?;
    }
    flush(model, config, offline, &mut batch, out)
}

/// A message's report and what the rules decided.
type Scored = (Report, Option<Decision>);

/// Scores a batch on every core and prints it in order.
fn flush(
    (classifier, rules): (&Classifier, &[Rule]),
    config: &Config,
    offline: bool,
    batch: &mut Vec<(String, Vec<u8>)>,
    out: &mut dyn Write,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = batch.len().div_ceil(threads).max(1);
    let mut reports: Vec<Scored> = std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .map(|c| {
                s.spawn(move || {
                    let r: Vec<Scored> = c
                        .iter()
                        .map(|(_, raw)| check_with_rules(classifier, rules, raw))
                        .collect();
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<Scored>>()
    });
    if !offline {
        // The DNS lists' points join unless a rule already decided.
        let undecided: Vec<usize> = (0..reports.len())
            .filter(|&i| reports[i].1.is_none())
            .collect();
        let raws: Vec<&[u8]> = undecided.iter().map(|&i| batch[i].1.as_slice()).collect();
        let mut listed: Vec<Report> = undecided.iter().map(|&i| reports[i].0.clone()).collect();
        super::spam_dns::add_dns_tests(config, &raws, &mut listed)?;
        for (i, r) in undecided.into_iter().zip(listed) {
            reports[i].0 = r;
        }
    }
    for ((name, _), (r, decision)) in batch.iter().zip(&reports) {
        // A rule's `reject` is spam and its `accept` ham, whatever the points.
        let verdict = match decision {
            Some(Decision::Reject) => "spam",
            Some(Decision::Accept) => "ham",
            None if r.score >= config.spam.tag_score => "spam",
            None => "ham",
        };
        let line = format!("{name}\t{:.2}\t{verdict}\t{}", r.score, r.tests_line());
        say(out, line)?;
    }
    batch.clear();
    Ok(())
}
