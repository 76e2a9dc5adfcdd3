//! Settings (issue 20 item 5): password, preferences and identities.
// TODO(issue 20 item 5): vacation replies and simple filters once the
// filter feature exists: their routes go beside these in routes.rs, and
// `Settings::filters` turns the app's disabled section on.

pub mod password;
pub mod prefs;
