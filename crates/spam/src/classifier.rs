//! The learning classifier (SPEC P7): per-token counts of spam and ham
//! messages, Robinson's per-token probability with a prior, and Fisher's
//! chi-square combining over the most significant tokens (as SpamBayes).
//! Incremental: one message at a time, in either direction.

use crate::chi2::combine;
use crate::tokenize::Tokens;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Robinson's s: how much the prior weighs against a token's own evidence.
const PRIOR_STRENGTH: f64 = 0.2;
/// Robinson's x: the probability assumed for a token never seen.
const PRIOR_PROB: f64 = 0.5;
/// Tokens whose probability is closer to 0.5 than this are ignored.
const MIN_STRENGTH: f64 = 0.1;
/// At most this many tokens (the farthest from 0.5) are combined.
pub const MAX_DISCRIMINATORS: usize = 20;
/// Below this many trained messages of either class the score is 0.5: not
/// enough evidence to say anything.
pub const MIN_TRAINED: u64 = 5;

/// What a message is, for training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Spam,
    Ham,
}

/// How many trained messages of each class contained a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub spam: u32,
    pub ham: u32,
}

/// Token hashes are already uniform: no need to hash them again.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type TokenMap = HashMap<u64, TokenCounts, BuildHasherDefault<IdentityHasher>>;

/// The model: message counts per class and token counts.
#[derive(Default)]
pub struct Classifier {
    tokens: TokenMap,
    spam_messages: u64,
    ham_messages: u64,
}

impl Classifier {
    /// A model from stored counts.
    pub fn from_counts(
        spam_messages: u64,
        ham_messages: u64,
        tokens: impl IntoIterator<Item = (u64, TokenCounts)>,
    ) -> Classifier {
        Classifier {
            tokens: tokens.into_iter().collect(),
            spam_messages,
            ham_messages,
        }
    }

    /// Learns one message.
    pub fn train(&mut self, class: Class, tokens: &Tokens) {
        match class {
            Class::Spam => self.spam_messages += 1,
            Class::Ham => self.ham_messages += 1,
        }
        for h in tokens.hashes() {
            let c = self.tokens.entry(*h).or_default();
            match class {
                Class::Spam => c.spam = c.spam.saturating_add(1),
                Class::Ham => c.ham = c.ham.saturating_add(1),
            }
        }
    }

    /// The probability that a message with these tokens is spam, in [0, 1].
    pub fn score(&self, tokens: &Tokens) -> f64 {
        self.score_clues(tokens).0
    }

    /// The probability, and how many tokens it rests on (0: no evidence,
    /// the probability is 0.5).
    pub fn score_clues(&self, tokens: &Tokens) -> (f64, usize) {
        if self.spam_messages < MIN_TRAINED || self.ham_messages < MIN_TRAINED {
            return (0.5, 0);
        }
        let mut clues: Vec<(f64, f64)> = tokens
            .hashes()
            .iter()
            .filter_map(|h| self.tokens.get(h))
            .map(|c| self.token_prob(*c))
            .map(|p| ((p - 0.5).abs(), p))
            .filter(|(strength, _)| *strength >= MIN_STRENGTH)
            .collect();
        if clues.len() > MAX_DISCRIMINATORS {
            clues.select_nth_unstable_by(MAX_DISCRIMINATORS, |a, b| b.0.total_cmp(&a.0));
            clues.truncate(MAX_DISCRIMINATORS);
        }
        let probs: Vec<f64> = clues.iter().map(|(_, p)| *p).collect();
        (combine(&probs), probs.len())
    }

    /// Robinson's f(w): the token's spam probability, drawn towards
    /// [`PRIOR_PROB`] when it has been seen in few messages.
    fn token_prob(&self, c: TokenCounts) -> f64 {
        let spam_ratio = f64::from(c.spam) / self.spam_messages as f64;
        let ham_ratio = f64::from(c.ham) / self.ham_messages as f64;
        let p = spam_ratio / (spam_ratio + ham_ratio);
        let n = f64::from(c.spam) + f64::from(c.ham);
        let f = (PRIOR_STRENGTH * PRIOR_PROB + n * p) / (PRIOR_STRENGTH + n);
        f.clamp(1e-6, 1.0 - 1e-6)
    }

    pub fn messages(&self, class: Class) -> u64 {
        match class {
            Class::Spam => self.spam_messages,
            Class::Ham => self.ham_messages,
        }
    }

    /// Distinct tokens known.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Every token and its counts (to persist).
    pub fn counts(&self) -> impl Iterator<Item = (u64, TokenCounts)> + '_ {
        self.tokens.iter().map(|(h, c)| (*h, *c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trained() -> Classifier {
        let mut c = Classifier::default();
        for i in 0..MIN_TRAINED {
            let n = i.to_string();
            c.train(Class::Spam, &Tokens::from_words(["viagra", "winner", &n]));
            c.train(Class::Ham, &Tokens::from_words(["meeting", "agenda", &n]));
        }
        c
    }

    #[test]
    fn learns_both_ways() {
        let c = trained();
        assert!(c.score(&Tokens::from_words(["viagra", "winner"])) > 0.9);
        assert!(c.score(&Tokens::from_words(["meeting", "agenda"])) < 0.1);
        assert_eq!(c.score(&Tokens::from_words(["unknown"])), 0.5);
        assert_eq!(c.messages(Class::Spam), MIN_TRAINED);
    }

    #[test]
    fn neutral_below_min_trained() {
        let mut c = Classifier::default();
        for _ in 0..MIN_TRAINED - 1 {
            c.train(Class::Spam, &Tokens::from_words(["viagra"]));
            c.train(Class::Ham, &Tokens::from_words(["meeting"]));
        }
        assert_eq!(c.score(&Tokens::from_words(["viagra"])), 0.5);
        c.train(Class::Spam, &Tokens::from_words(["viagra"]));
        c.train(Class::Ham, &Tokens::from_words(["meeting"]));
        assert!(c.score(&Tokens::from_words(["viagra"])) > 0.5);
    }

    #[test]
    fn counts_round_trip() {
        let c = trained();
        let again =
            Classifier::from_counts(c.messages(Class::Spam), c.messages(Class::Ham), c.counts());
        let t = Tokens::from_words(["viagra", "agenda", "3"]);
        assert_eq!(c.score(&t), again.score(&t));
        assert_eq!(again.token_count(), c.token_count());
    }

    #[test]
    fn at_most_max_discriminators_combine() {
        let mut c = Classifier::default();
        let words: Vec<String> = (0..MAX_DISCRIMINATORS * 2)
            .map(|i| format!("w{i}"))
            .collect();
        let t = Tokens::from_words(words.iter().map(String::as_str));
        for _ in 0..MIN_TRAINED {
            c.train(Class::Spam, &t);
            c.train(Class::Ham, &Tokens::from_words(["other"]));
        }
        assert!(c.score(&t) > 0.99);
    }
}
