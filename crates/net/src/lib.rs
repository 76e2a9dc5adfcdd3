//! Networking shared by every Postern service: TLS material and acceptors,
//! streams that start plain and may turn into TLS (STARTTLS/STLS), and
//! listener binding with errors an admin can act on.

pub mod auth;
pub mod bruteforce;
pub mod certs;
pub mod client_key;
pub mod clock;
pub mod conn;
pub mod cross_protocol;
pub mod dns;
pub mod ipgroup;
pub mod listen;
pub mod metrics;
pub mod policy;
pub mod quickack;
pub mod sasl;
pub mod security;
pub mod stream;
pub mod tls;
pub mod tls_client;

pub use client_key::{client_key, ClientKey};
pub use conn::{Conn, Line};
pub use quickack::QuickAck;
pub use stream::MaybeTls;
