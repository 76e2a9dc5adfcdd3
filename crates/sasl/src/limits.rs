//! Every length and count this crate accepts from a client is bounded here.
//! Each limit has a test that crosses it (see the mechanism files).

/// Longest client message accepted at any step, in bytes (after base64).
pub const MAX_MESSAGE_LEN: usize = 8192;

/// Longest authentication or authorisation identity, in bytes.
/// RFC 4616 §2 asks servers to accept at least 255 octets.
pub const MAX_NAME_LEN: usize = 255;

/// Longest plaintext password (PLAIN, LOGIN), in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Longest client nonce (SCRAM c-nonce, DIGEST-MD5 cnonce), in bytes.
pub const MAX_NONCE_LEN: usize = 256;

/// RFC 2831 §2.1.2: "The size of a digest-response is less than 4096 bytes".
pub const MAX_DIGEST_RESPONSE_LEN: usize = 4096;

/// Longest NTLM NtChallengeResponse (NTProofStr + blob with AV pairs).
pub const MAX_NTLM_RESPONSE_LEN: usize = 2048;

/// Longest NTLM domain or workstation field, in bytes on the wire.
pub const MAX_NTLM_FIELD_LEN: usize = 512;

/// Client messages one exchange accepts (LOGIN's two, or SCRAM's two plus
/// the empty acknowledgement of a server-final sent as a challenge).
pub const MAX_STEPS: usize = 3;

/// RFC 7677 §4: the iteration count SHOULD be at least 4096.
pub const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// Smallest and largest iteration counts [`crate::ScramKeys`] accepts.
pub const MIN_SCRAM_ITERATIONS: u32 = 4096;
pub const MAX_SCRAM_ITERATIONS: u32 = 10_000_000;

/// Salt length for new SCRAM keys and for the fake salts of unknown users.
pub const SCRAM_SALT_LEN: usize = 16;

/// Longest salt accepted from storage.
pub const MAX_SCRAM_SALT_LEN: usize = 128;

/// Longest DIGEST-MD5 directive value other than names (nonce, cnonce,
/// nc, digest-uri, qop, realm), in bytes.
pub const MAX_DIRECTIVE_LEN: usize = 256;

/// Most directives one DIGEST-MD5 message may carry.
pub const MAX_DIRECTIVES: usize = 32;
