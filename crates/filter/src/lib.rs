//! The verdict pipeline (DESIGN.md `filter`): after the end of DATA/BDAT a
//! message's [`Verdict`] is computed by ordered [`Stage`]s over one
//! [`Context`] (client, envelope, the header block parsed once, the raw
//! message), each stage pure apart from its DNS lookups ([`Lookups`], which
//! tests fill with their own answers). The verdict is pure data; the SMTP
//! session applies it in one place. Antispam and antivirus stages are added
//! to [`pipeline::STAGES`] later and read the same context: no second pass.
//!
//! The stages so far authenticate the message (issue 15): SPF (RFC 7208),
//! DKIM (RFC 6376, 8463, 8301), ARC (RFC 8617) and DMARC (RFC 7489), built on
//! mail-auth; their results become one Authentication-Results header (RFC 8601).

mod arc;
mod context;
mod dkim;
mod dmarc;
mod dns;
pub mod dnsbl;
#[doc(hidden)]
pub mod fuzzing;
pub mod greylist;
mod header;
pub mod links;
mod orgdomain;
pub mod pipeline;
pub mod received;
mod results;
pub mod spam;
pub mod spam_rules;
mod spf;
mod verdict;

pub use arc::verify_chain as verify_arc_chain;
pub use context::{Client, Context};
pub use dns::{Lookups, Zone};
pub use header::{claims_authserv_id, own_headers};
pub use orgdomain::org_domain;
pub use pipeline::{verdict, Settings, Stage};
pub use results::{
    ArcOutcome, AuthResult, DkimOutcome, DmarcOutcome, Published, Results, SpfOutcome,
};
pub use spam::SpamOutcome;
pub use spf::check_spf;
pub use verdict::{Action, Reply, Verdict};
