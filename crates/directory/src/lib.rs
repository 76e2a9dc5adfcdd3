//! The Postern directory: who is who. Domains, users and their passwords,
//! aliases (catch-all included), groups, the expansion of a recipient
//! address, delegation, sender identity, administrative roles and sessions,
//! IP groups, the secrets of the SASL mechanisms, size limits and quotas.
//!
//! # On the store's database
//!
//! The directory's tables live in the store's SQLite database, under the
//! store's migrations, behind the store's write lock and reader pool
//! (`postern_store::shared_db`). So the directory sits *above* the store:
//! it depends on `postern-store`, and the store knows nothing of it. The
//! store reads `users` only as the owners of mailboxes (id, quota, bytes
//! used) for its own commit path; recipients are expanded here, before the
//! commit, and arrive at the store as user ids. Creating or deleting a user
//! asks the store to open or close the account's mailboxes inside the
//! directory's transaction (`shared_db::open_account`, `close_account`).
//!
//! Each area is a trait implemented for [`postern_store::Store`], so a
//! caller holding a `Store` writes `store.user_add(…)` as before, with
//! `use postern_directory::prelude::*;`. Errors stay [`StoreError`]s: the
//! same `NotFound`, `Exists` and `Invalid` the callers already map.
//!
//! # What moved here from the store, and why
//!
//! - domains, users, aliases, groups, resolution (`domains.rs`, `users.rs`,
//!   `aliases.rs`, `groups.rs`, `resolve.rs`, address syntax `address.rs`);
//! - password hashing (`password.rs`) and the mechanism secrets
//!   (`mech_secrets.rs`, opened for a login in `sasl_users.rs`): made from
//!   a user's password, sealed with the server key through the store
//!   (`Store::seal`);
//! - delegation and sender identity (`delegation.rs`, `identity.rs`);
//! - size limits and quotas as settings (`size_limits.rs`, `user_quota.rs`;
//!   the store still enforces the quota when it commits);
//! - roles, admin sessions and API tokens (`admin_access.rs`) and webmail
//!   sessions (`webmail_sessions.rs`): bound to a user and to the digest of
//!   their password hash, which is directory data;
//! - IP groups and the brute-force guard's blocks (`ipgroups.rs`): shared
//!   by the server and the CLI through the database, as before;
//! - what goes with a domain: its DKIM keys (`dkim_keys.rs`) and DMARC
//!   report address (`dmarc_rua.rs`); and SRS (`srs.rs`), which turns a
//!   local address back into the sender it stands for during expansion.
//!
//! What stayed in the store: the `Secret` wrapper (the store's at-rest
//! encryption holds keys in it too), the server key file and sealing
//! (the store seals its own fetch-account passwords with it), quota
//! enforcement and usage, and every migration.

mod address;
pub mod admin_access;
mod aliases;
mod db;
pub mod delegation;
pub mod dkim_keys;
mod dmarc_rua;
mod domains;
mod groups;
mod identity;
pub mod ipgroups;
pub mod mech_secrets;
mod password;
mod resolve;
mod sasl_users;
pub mod size_limits;
pub mod srs;
mod suggest;
mod user_quota;
mod users;
pub mod webmail_sessions;

pub use address::split_address;
pub use admin_access::AdminAccess;
pub use aliases::Aliases;
pub use delegation::{Delegation, Delegations};
pub use dkim_keys::{DkimKey, DkimKeys, DkimPrivateKey, NewDkimKey};
pub use dmarc_rua::DmarcRua;
pub use domains::Domains;
pub use groups::Groups;
pub use identity::Identity;
pub use ipgroups::IpGroups;
pub use mech_secrets::SecretSpec;
pub use password::{hash_password, verify_password};
pub use resolve::{Expansion, Resolve, MAX_EXPANSION_DEPTH, MAX_EXPANSION_SIZE};
pub use sasl_users::{MechSecrets, SaslUser};
pub use size_limits::SizeLimits;
pub use srs::Srs;
pub use suggest::Suggest;
pub use user_quota::Quotas;
pub use users::{UserInfo, Users};
pub use webmail_sessions::{WebmailSession, WebmailSessions};

/// Every directory trait, for `use postern_directory::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AdminAccess, Aliases, Delegations, DkimKeys, DmarcRua, Domains, Groups, Identity, IpGroups,
        MechSecrets, Quotas, Resolve, SizeLimits, Srs, Suggest, Users, WebmailSessions,
    };
}

#[cfg(test)]
mod tests;
