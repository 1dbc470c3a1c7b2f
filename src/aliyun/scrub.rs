//! Scrubbing of the secrets a request carried out of its answer.
//!
//! Masking ([`super::mask`]) recognises secrets by where they sit (a `password` key) or what
//! they look like (`LTAI…`). A service may also repeat what it was sent in free text: a
//! precheck message quoting the connection string, a task log line, an error that echoes a
//! parameter. The client knows every secret it sent in a request (endpoint passwords, the
//! AccessKey secret that signed it, the security token), so every answer is scrubbed of those
//! values, and of their usual encodings (URL-encoded, base64, JSON-escaped), before anything
//! else reads it.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::credentials::AccessKey;
use super::mask::{MASK, is_access_key_id, is_secret_key};
use super::secret::SecretString;
use super::signer::percent_encode;
use super::transport::{ApiRequest, Body};

/// Secrets shorter than this are not scrubbed: replacing a few characters everywhere would
/// corrupt ids and text, and Alibaba Cloud's own password rules ask for at least 8.
pub const MIN_SCRUBBED_LEN: usize = 6;

/// Parameters that look secret by name but are not credentials.
const NOT_SECRET: &[&str] = &["ClientToken"];

/// At most this many distinct secrets are remembered (oldest forgotten first): far more than
/// the accounts and endpoint passwords one operator uses, and a bound on memory and matching.
const REMEMBERED: usize = 4096;

/// Every secret value this process has sent in a request, and a scrubber for all of them.
///
/// A secret sent once may come back in a later, unrelated answer (a precheck message of a
/// `DescribeDtsJobs` quoting the password of an earlier `ConfigureDtsJob`), so answers are
/// scrubbed of everything sent so far, not only of what their own request carried. The values
/// stay in memory (zeroed when forgotten), are never printed, and leave only in requests.
#[derive(Default)]
pub(crate) struct SentSecrets {
    inner: Mutex<Sent>,
}

#[derive(Default)]
struct Sent {
    values: Vec<SecretString>,
    scrubber: Arc<Scrubber>,
}

impl SentSecrets {
    /// Remembers what `req`, signed with `key`, carries; returns a scrubber for everything
    /// sent so far.
    pub fn remember_request(&self, req: &ApiRequest, key: &AccessKey) -> Arc<Scrubber> {
        self.remember(request_secrets(req, key))
    }

    /// Remembers `secrets`; returns a scrubber for everything sent so far.
    pub fn remember(&self, secrets: Vec<String>) -> Arc<Scrubber> {
        let mut sent = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        for secret in secrets {
            if secret.chars().count() >= MIN_SCRUBBED_LEN
                && !sent.values.iter().any(|v| v.expose_secret() == secret)
            {
                sent.values.push(SecretString::new(secret));
                changed = true;
            }
        }
        let excess = sent.values.len().saturating_sub(REMEMBERED);
        if changed {
            sent.values.drain(..excess);
            let scrubber = Scrubber::new(sent.values.iter().map(SecretString::expose_secret));
            sent.scrubber = Arc::new(scrubber);
        }
        sent.scrubber.clone()
    }
}

/// Finds every encoded form of a set of secrets in text and replaces it with `********`.
#[derive(Debug, Default)]
pub(crate) struct Scrubber {
    /// One alternation of all forms, longest first (a literal set: matched in one pass).
    forms: Option<Regex>,
}

impl Scrubber {
    /// A scrubber for `secrets` (and their encodings).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut forms: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SCRUBBED_LEN)
            .flat_map(encodings)
            .filter(|f| f.chars().count() >= MIN_SCRUBBED_LEN)
            .collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        let pattern = forms
            .iter()
            .map(|f| regex::escape(f))
            .collect::<Vec<_>>()
            .join("|");
        let forms = (!forms.is_empty())
            .then(|| {
                RegexBuilder::new(&pattern)
                    .size_limit(256 << 20)
                    .build()
                    .ok()
            })
            .flatten();
        Self { forms }
    }

    /// `text` without any form of the secrets; `None` when there was none.
    pub fn text(&self, text: &str) -> Option<String> {
        match self.forms.as_ref()?.replace_all(text, MASK) {
            Cow::Owned(clean) => Some(clean),
            Cow::Borrowed(_) => None,
        }
    }

    /// Scrubs every string (and object key) inside `value`.
    pub fn value(&self, value: &mut Value) {
        if self.forms.is_none() {
            return;
        }
        match value {
            Value::String(s) => {
                if let Some(clean) = self.text(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Value::Object(map) => {
                let dirty: Vec<String> = map
                    .keys()
                    .filter(|k| self.text(k).is_some())
                    .cloned()
                    .collect();
                for key in dirty {
                    if let Some(v) = map.remove(&key) {
                        map.insert(self.text(&key).unwrap_or(key), v);
                    }
                }
                map.values_mut().for_each(|v| self.value(v));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The secrets `req` carries: parameters (query, form or JSON body) whose name says secret,
/// values that are AccessKey ids, and the key that signs it.
pub(crate) fn request_secrets(req: &ApiRequest, key: &AccessKey) -> Vec<String> {
    let mut sent: Vec<String> = secret_pairs(&req.query);
    match &req.body {
        Body::Form(fields) => sent.extend(secret_pairs(fields)),
        Body::Json(bytes) => {
            if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
                secret_fields(&v, &mut sent);
            }
        }
        Body::Empty => {}
    }
    sent.push(key.secret.expose_secret().to_string());
    sent.extend(key.token.iter().map(|t| t.expose_secret().to_string()));
    sent
}

/// Raw, URL-encoded (RFC 3986 with either hex case, and form style), base64 (standard and
/// URL-safe, with and without padding) and JSON-escaped (with and without `\/`).
fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let percent = percent_encode(secret);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len().saturating_sub(1).max(1)].to_string();
    vec![
        secret.to_string(),
        lower_hex_escapes(&percent),
        percent.clone(),
        form_urlencoded::byte_serialize(bytes).collect(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        json.replace('/', "\\/"),
        json,
    ]
    .into_iter()
    .filter(|f| !f.is_empty())
    .collect()
}

/// `%2F` → `%2f`: the hex digits of each escape in lower case, nothing else.
fn lower_hex_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut hex_left = 0;
    for c in percent.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            if c == '%' {
                hex_left = 2;
            }
            out.push(c);
        }
    }
    out
}

/// Values of `pairs` whose name says secret (but not [`NOT_SECRET`]) or that are AccessKey ids.
pub(crate) fn secret_pairs(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| {
            (is_secret_key(k) && !NOT_SECRET.contains(&k.as_str())) || is_access_key_id(v)
        })
        .map(|(_, v)| v.clone())
        .collect()
}

fn secret_fields(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v.as_str() {
                    Some(s) if is_secret_key(k) || is_access_key_id(s) => out.push(s.into()),
                    _ => secret_fields(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| secret_fields(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
