//! SMTP server sessions.
