//! Secrets (API keys, verification tokens) and the scrubbing of text that may contain them.
//!
//! A [`Secret`] never prints its value: `Debug` and `Display` show a mask. Code that must
//! send the value (an HTTP header) asks for it with [`Secret::expose`], which is easy to
//! grep for. [`Redactor`] is the last line of defence: every message that leaves the
//! process through the printer passes through it, so a key echoed back by a server in an
//! error body still never reaches a terminal, a log or a file.

use std::fmt;

/// A value that must never be printed, logged or written to disk.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that must send it (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A mask that shows only the length class and the last two characters, enough for
    /// an operator to tell two tokens apart in a plan without revealing either.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 8 {
            return "********".to_owned();
        }
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("********{tail}")
    }

    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// Fingerprints of secret values that are safe to commit: an HMAC keyed with a secret
/// that is never stored (the destination API key), so a fingerprint in `state.json`
/// cannot be turned back into a low-entropy token by guessing.
#[derive(Clone)]
pub struct SecretHasher {
    key: Secret,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher(********)")
    }
}

impl SecretHasher {
    pub fn new(key: &Secret) -> Self {
        Self { key: key.clone() }
    }

    /// 16 hex digits of HMAC-SHA256(key, value).
    pub fn digest(&self, value: &str) -> String {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(value.as_bytes());
        let bytes = mac.finalize().into_bytes();
        bytes[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// Replaces every known secret in a text with a mask.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Self {
        let mut secrets: Vec<Secret> = secrets
            .into_iter()
            // Very short values would mask ordinary words; real keys and tokens are longer.
            .filter(|secret| secret.len() >= 4)
            .collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), "********");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("sbx_live_key_123456");
        assert!(!format!("{secret:?}").contains("123456"));
        assert!(!format!("{secret}").contains("123456"));
        assert_eq!(secret.masked(), "********56");
    }

    #[test]
    fn secret_digests_depend_on_the_key() {
        let one = SecretHasher::new(&Secret::new("key-one"));
        let two = SecretHasher::new(&Secret::new("key-two"));
        assert_eq!(one.digest("token"), one.digest("token"));
        assert_ne!(one.digest("token"), one.digest("other"));
        assert_ne!(one.digest("token"), two.digest("token"));
        assert_eq!(one.digest("token").len(), 16);
    }

    #[test]
    fn redactor_masks_every_occurrence_longest_first() {
        let redactor = Redactor::new([Secret::new("abcd1234"), Secret::new("abcd1234zz")]);
        assert_eq!(
            redactor.redact("key=abcd1234zz and abcd1234"),
            "key=******** and ********"
        );
    }
}
