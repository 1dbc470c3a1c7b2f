//! Request signing: ACS3-HMAC-SHA256 ("V3", used for MaxCompute ROA and DTS RPC calls) and the
//! legacy RPC HMAC-SHA1 signature (still used by STS `AssumeRole` in the credential libraries).
//!
//! Pure functions over strings, shared by the client (to sign) and the simulator (to verify).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The V3 algorithm name, first token of the `Authorization` header.
pub const ALGORITHM_V3: &str = "ACS3-HMAC-SHA256";
/// SHA-256 of an empty body, the payload hash of every request without a body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` is escaped (space → `%20`, `*` → `%2A`).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a value the way every Alibaba Cloud signature expects.
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The canonical query string: parameters sorted by key (byte order), values percent-encoded,
/// keys left as they are (the SDKs do not encode them; they are plain ASCII).
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What the V3 canonical request is built from.
#[derive(Debug, Clone)]
pub struct CanonicalInput<'a> {
    /// HTTP method, any case.
    pub method: &'a str,
    /// Path exactly as sent (already percent-encoded); `/` for RPC.
    pub canonical_uri: &'a str,
    /// Query parameters (unencoded values).
    pub query: &'a [(String, String)],
    /// Headers to sign: name (any case) and value.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body (`x-acs-content-sha256`).
    pub hashed_payload: &'a str,
}

/// A built canonical request and the `SignedHeaders` list it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    pub text: String,
    pub signed_headers: String,
}

/// Builds the V3 canonical request. Header names are lower-cased, values trimmed, headers sorted
/// by name, and repeated names joined with `,`.
pub fn canonical_request(input: &CanonicalInput<'_>) -> CanonicalRequest {
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.sort();
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let canonical_headers: String = merged.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = merged
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let uri = if input.canonical_uri.is_empty() {
        "/"
    } else {
        input.canonical_uri
    };
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method.to_ascii_uppercase(),
        uri,
        canonical_query(input.query),
        canonical_headers,
        signed_headers,
        input.hashed_payload
    );
    CanonicalRequest {
        text,
        signed_headers,
    }
}

/// `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
pub fn string_to_sign_v3(canonical_request: &str) -> String {
    format!(
        "{ALGORITHM_V3}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lower-case hex HMAC-SHA256 keyed with the raw AccessKey secret.
pub fn signature_v3(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub fn authorization_v3(access_key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM_V3} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    )
}

/// Signs in one go: returns the `Authorization` header value.
pub fn sign_v3(input: &CanonicalInput<'_>, access_key_id: &str, access_key_secret: &str) -> String {
    let canonical = canonical_request(input);
    let signature = signature_v3(access_key_secret, &string_to_sign_v3(&canonical.text));
    authorization_v3(access_key_id, &canonical.signed_headers, &signature)
}

/// A parsed V3 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key_id: String,
    /// Lower-case header names in the order given.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...`; `None` when the
/// header is not a well-formed V3 authorization.
pub fn parse_authorization_v3(header: &str) -> Option<ParsedAuthorization> {
    let rest = header.strip_prefix(ALGORITHM_V3)?.strip_prefix(' ')?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(value.to_string()),
            "SignedHeaders" => signed = Some(value.to_string()),
            "Signature" => signature = Some(value.to_string()),
            _ => return None,
        }
    }
    let signed_headers: Vec<String> = signed?
        .split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let (access_key_id, signature) = (credential?, signature?);
    if access_key_id.is_empty() || signature.is_empty() || signed_headers.is_empty() {
        return None;
    }
    Some(ParsedAuthorization {
        access_key_id,
        signed_headers,
        signature,
    })
}

/// Legacy RPC string to sign: `METHOD&%2F&percentEncode(canonical query)` over every query and
/// form-body parameter except `Signature`.
pub fn rpc_v2_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    sorted.sort();
    let query = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(&query)
    )
}

/// Legacy RPC signature: base64 HMAC-SHA1 keyed with `secret + "&"`.
pub fn rpc_v2_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let key = format!("{access_key_secret}&");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Constant-time comparison for signatures (the simulator verifies with it).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
