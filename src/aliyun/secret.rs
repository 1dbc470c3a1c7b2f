//! A string that never prints itself.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

/// What every secret prints as, and what the masking function writes over secret values.
pub const REDACTED: &str = "********";

/// A secret value (AccessKey secret, STS token, database password).
///
/// `Debug` and `Display` print `********`; the value is reachable only through
/// [`SecretString::expose_secret`], so every use of the plaintext is greppable. The buffer is
/// zeroed when the last clone is dropped. There is deliberately no `Serialize` impl.
#[derive(Clone)]
pub struct SecretString(Arc<Zeroizing<String>>);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(value.into())))
    }

    /// The plaintext. Call it only where the value leaves the process for its intended
    /// recipient (a signature key, a request parameter the API requires).
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl PartialEq for SecretString {
    /// Constant-time, so comparing secrets does not leak their prefix through timing.
    fn eq(&self, other: &Self) -> bool {
        super::signer::constant_time_eq(self.expose_secret(), other.expose_secret())
    }
}

impl Eq for SecretString {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = SecretString::new("LTAI5tPlantedSecretValue");
        assert_eq!(format!("{secret}"), REDACTED);
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(format!("{secret:#?}"), REDACTED);
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            key: SecretString,
        }
        let shown = format!(
            "{:?}",
            Holder {
                key: secret.clone()
            }
        );
        assert!(!shown.contains("Planted"), "{shown}");
        assert_eq!(secret.expose_secret(), "LTAI5tPlantedSecretValue");
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(SecretString::from("a"), SecretString::from("a".to_string()));
        assert_ne!(SecretString::from("a"), SecretString::from("b"));
        assert!(SecretString::from("").is_empty());
    }
}
