//! The `echoSecrets` fault: an answer that repeats the secrets a request carried, the way a
//! real service may quote a connection string in an error or a task log. It exists to prove
//! that the operator scrubs every secret it sent from every answer before reading it.
//!
//! Secrets seen: the AccessKey secret that signed the request, its security token, every
//! parameter (query, form or JSON body) whose name says password, secret or token, and the
//! passwords the same account sent earlier (a DTS precheck message may quote the password of
//! the ConfigureDtsJob before it). They are kept in memory for this fault only, never logged,
//! never in `/_sim/state`.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine as _;
use regex::Regex;
use serde_json::Value;

use crate::aliyun::signer::percent_encode;

/// Parameter names that carry a secret.
static SECRET_PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)password|secret|token").expect("static regex"));

/// Keys of free-text fields the echo is appended to in a normal answer.
static FREE_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(message|msg|errmsg|errmessage|errormessage|errormsg|failedreason|reason|repairmethod|description|action|result|checkitemdescription)$")
        .expect("static regex")
});

/// Secrets an account sent, remembered per account (most recent last, at most 16).
#[derive(Debug, Default)]
pub struct SeenSecrets(HashMap<String, Vec<String>>);

impl SeenSecrets {
    /// Remembers `values` for `account`.
    pub fn remember(&mut self, account: &str, values: &[String]) {
        let seen = self.0.entry(account.to_string()).or_default();
        for v in values {
            if !seen.contains(v) {
                seen.push(v.clone());
            }
        }
        let excess = seen.len().saturating_sub(16);
        seen.drain(..excess);
    }

    /// What `account` sent before.
    pub fn of(&self, account: &str) -> &[String] {
        self.0.get(account).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Secret values among request parameters (name says password/secret/token, value not empty).
pub fn secret_params<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    pairs
        .into_iter()
        .filter(|(k, v)| SECRET_PARAM.is_match(k) && !v.is_empty())
        .map(|(_, v)| v.to_string())
        .collect()
}

/// Secret values in a JSON request body (MMS), at any depth.
pub fn secret_fields(body: &[u8]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match child.as_str() {
                        Some(s) if SECRET_PARAM.is_match(k) && !s.is_empty() => {
                            out.push(s.to_string())
                        }
                        _ => walk(child, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        walk(&v, &mut out);
    }
    out
}

/// The text an echo carries: every secret raw, URL-encoded, base64 and JSON-escaped.
pub fn echo_text(secrets: &[String]) -> String {
    let forms: Vec<String> = secrets
        .iter()
        .map(|s| {
            let json = serde_json::to_string(s).unwrap_or_default();
            format!(
                "connection string password={s} url={} b64={} json={}",
                percent_encode(s),
                base64::engine::general_purpose::STANDARD.encode(s),
                json.trim_matches('"')
            )
        })
        .collect();
    format!("[echo: {}]", forms.join("; "))
}

/// Appends `text` to every free-text string field of `body`; returns how many it changed.
pub fn append_to_free_text(body: &mut Value, text: &str) -> usize {
    match body {
        Value::Object(map) => map
            .iter_mut()
            .map(|(k, v)| match v {
                Value::String(s) if FREE_TEXT.is_match(k) => {
                    s.push(' ');
                    s.push_str(text);
                    1
                }
                other => append_to_free_text(other, text),
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(|i| append_to_free_text(i, text)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn echo_carries_every_encoding() {
        let text = echo_text(&["a/b+c\"d".to_string()]);
        assert!(text.contains("a/b+c\"d"));
        assert!(text.contains("a%2Fb%2Bc%22d"));
        assert!(text.contains(&base64::engine::general_purpose::STANDARD.encode("a/b+c\"d")));
        assert!(text.contains("a/b+c\\\"d"));
    }

    #[test]
    fn free_text_fields_get_the_echo_and_ids_do_not() {
        let mut body = json!({"DtsJobId": "j1", "ErrorMessage": "", "PrecheckStatus":
            {"Detail": [{"CheckItem": "X", "FailedReason": "r"}]}, "data": [{"msg": "ok", "id": 1}]});
        assert_eq!(append_to_free_text(&mut body, "E"), 3);
        assert_eq!(body["DtsJobId"], "j1");
        assert_eq!(body["PrecheckStatus"]["Detail"][0]["FailedReason"], "r E");
        assert_eq!(body["data"][0]["msg"], "ok E");
    }

    #[test]
    fn secrets_are_found_by_name_and_remembered_per_account() {
        let found = secret_params([
            ("SourceEndpointPassword", "p1"),
            ("DtsJobName", "n"),
            ("SecurityToken", ""),
        ]);
        assert_eq!(found, ["p1"]);
        assert_eq!(
            secret_fields(br#"{"config":{"hive.password":"p2"},"name":"x"}"#),
            ["p2"]
        );
        let mut seen = SeenSecrets::default();
        seen.remember("a", &found);
        seen.remember("a", &found);
        assert_eq!(seen.of("a"), ["p1"]);
        assert!(seen.of("b").is_empty());
    }
}
