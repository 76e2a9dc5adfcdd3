//! Settings (issue 20 item 5). Only the password so far.
// TODO(issue 20 item 5): identities (as smtp.sender_identity allows),
// signature, display preferences; vacation replies and simple filters once
// the filter feature exists: their routes go beside this one in routes.rs.

pub mod password;
