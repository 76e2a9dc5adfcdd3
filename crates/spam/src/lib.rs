//! Postern's learning spam classifier (SPEC P7, issue 16 items 6 and 7).
//!
//! Pure and synchronous: a message's bytes become [`Tokens`] once
//! ([`Tokens::from_message`]); a [`Classifier`] scores them (a probability of
//! spam) and learns from them ([`Classifier::train`]); [`check`] adds cheap
//! offline header tests and GTUBE and turns everything into SpamAssassin-like
//! points. The model is plain token counts, loaded once by the caller from
//! the store and shared read-only (`Arc<Classifier>`); training yields the
//! same counts to add to the store.
//!
//! Bounds on hostile input: MIME nesting ([`mime::MAX_MIME_DEPTH`]), parts
//! ([`mime::MAX_PARTS`]), bytes scanned ([`tokenize::MAX_TEXT_BYTES`]) and
//! tokens per message ([`tokenize::MAX_TOKENS`]).

pub mod check;
mod chi2;
mod classifier;
pub mod header;
pub mod heuristics;
pub mod mime;
pub mod rules;
pub mod tokenize;

pub use check::{check, check_with_rules, Report, Test, GTUBE};
pub use classifier::{Class, Classifier, TokenCounts};
pub use tokenize::Tokens;
