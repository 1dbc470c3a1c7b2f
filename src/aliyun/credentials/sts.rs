//! STS wire format (version 2015-04-01): `AssumeRole` (signed with the legacy RPC HMAC-SHA1
//! signature, as `credentials-go` sends it) and `AssumeRoleWithOIDC` (anonymous).
//!
//! Both are `POST /` with the common parameters in the query and the role parameters in an
//! `application/x-www-form-urlencoded` body (the OIDC token can be 20 000 characters long).

use serde::Deserialize;

use super::super::error::Error;
use super::super::secret::SecretString;
use super::super::signer::{rpc_v2_signature, rpc_v2_string_to_sign};
use super::super::transport::Pairs;
use super::{AccessKey, AssumeRoleOptions, OidcSettings};

/// STS API version.
pub(crate) const STS_VERSION: &str = "2015-04-01";

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// Query and form parameters of a signed `AssumeRole`. The signature covers both sets; it is
/// appended to the query as `Signature`.
pub(crate) fn assume_role_params(
    base: &AccessKey,
    options: &AssumeRoleOptions,
    session_name: &str,
    duration_seconds: u64,
    timestamp: &str,
    nonce: &str,
    method: &str,
) -> (Pairs, Pairs) {
    let mut query = vec![
        pair("Action", "AssumeRole"),
        pair("Format", "JSON"),
        pair("Version", STS_VERSION),
        pair("Timestamp", timestamp),
        pair("SignatureMethod", "HMAC-SHA1"),
        pair("SignatureVersion", "1.0"),
        pair("SignatureNonce", nonce),
        pair("AccessKeyId", base.id.clone()),
    ];
    if let Some(token) = &base.token {
        query.push(pair("SecurityToken", token.expose_secret()));
    }
    let mut form = vec![
        pair("RoleArn", options.role_arn.clone()),
        pair("RoleSessionName", session_name),
        pair("DurationSeconds", duration_seconds.to_string()),
    ];
    if let Some(policy) = &options.policy {
        form.push(pair("Policy", policy.clone()));
    }
    if let Some(external_id) = &options.external_id {
        form.push(pair("ExternalId", external_id.clone()));
    }
    let signed: Vec<(String, String)> = query.iter().chain(form.iter()).cloned().collect();
    let string_to_sign = rpc_v2_string_to_sign(method, &signed);
    query.push(pair(
        "Signature",
        rpc_v2_signature(base.secret.expose_secret(), &string_to_sign),
    ));
    (query, form)
}

/// Query and form parameters of an anonymous `AssumeRoleWithOIDC`.
pub(crate) fn oidc_params(
    settings: &OidcSettings,
    oidc_token: &str,
    session_name: &str,
    duration_seconds: u64,
    timestamp: &str,
) -> (Pairs, Pairs) {
    let query = vec![
        pair("Action", "AssumeRoleWithOIDC"),
        pair("Format", "JSON"),
        pair("Version", STS_VERSION),
        pair("Timestamp", timestamp),
    ];
    let mut form = vec![
        pair("RoleArn", settings.role_arn.clone()),
        pair("OIDCProviderArn", settings.oidc_provider_arn.clone()),
        pair("OIDCToken", oidc_token),
        pair("RoleSessionName", session_name),
        pair("DurationSeconds", duration_seconds.to_string()),
    ];
    if let Some(policy) = &settings.policy {
        form.push(pair("Policy", policy.clone()));
    }
    (query, form)
}

#[derive(Deserialize)]
struct StsBody {
    #[serde(rename = "Credentials")]
    credentials: Option<StsCredentials>,
}

#[derive(Deserialize)]
struct StsCredentials {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: String,
    #[serde(rename = "SecurityToken")]
    security_token: String,
    #[serde(rename = "Expiration")]
    expiration: String,
}

/// Reads the temporary key out of a successful STS response.
///
/// This is the one place that parses an unmasked body: the secret is the point of the exchange.
/// It goes straight into [`SecretString`]s; everything else about the response (logs, errors)
/// only ever sees the masked copy.
pub(crate) fn parse_sts_credentials(body: &[u8]) -> Result<AccessKey, Error> {
    let parsed: StsBody = serde_json::from_slice(body)
        // The serde message can quote values, and values here are secrets: position only.
        .map_err(|e| {
            Error::decode(format!(
                "STS response is not the documented JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
    let c = parsed
        .credentials
        .ok_or_else(|| Error::decode("STS response has no Credentials object"))?;
    let expiration: jiff::Timestamp = c.expiration.parse().map_err(|e| {
        Error::decode(format!(
            "STS Expiration {:?} is not a timestamp: {e}",
            c.expiration
        ))
    })?;
    if c.access_key_id.is_empty() || c.access_key_secret.is_empty() {
        return Err(Error::decode("STS response has an empty AccessKey"));
    }
    Ok(AccessKey {
        id: c.access_key_id,
        secret: SecretString::new(c.access_key_secret),
        token: Some(SecretString::new(c.security_token)).filter(|t| !t.is_empty()),
        expiration: Some(expiration.as_second()),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    const VECTORS: &str = include_str!("../../../tests/data/signature-vectors.json");

    /// The official credentials library's AssumeRole (GET, everything in the query) signs the
    /// same parameter set our POST splits into query and form: same signature.
    #[test]
    fn assume_role_signature_matches_the_credentials_library_vector() {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        let v = all["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "sts_assume_role_credentials_lib")
            .unwrap();
        let p = &v["inputs"]["params"];
        let base = AccessKey {
            id: "testid".into(),
            secret: SecretString::new("testsecret"),
            token: None,
            expiration: None,
        };
        let options = AssumeRoleOptions::new(p["RoleArn"].as_str().unwrap());
        let (query, form) = assume_role_params(
            &base,
            &options,
            p["RoleSessionName"].as_str().unwrap(),
            3600,
            p["Timestamp"].as_str().unwrap(),
            p["SignatureNonce"].as_str().unwrap(),
            "GET",
        );
        let signature = query.iter().find(|(k, _)| k == "Signature").unwrap();
        assert_eq!(signature.1, v["signature"].as_str().unwrap());
        let signed: Vec<(String, String)> = query
            .iter()
            .chain(form.iter())
            .filter(|(k, _)| k != "Signature")
            .cloned()
            .collect();
        assert_eq!(
            rpc_v2_string_to_sign("GET", &signed),
            v["string_to_sign"].as_str().unwrap()
        );
        assert!(form.iter().any(|(k, _)| k == "RoleArn"));
        assert!(!query.iter().any(|(k, _)| k == "RoleArn"));
    }

    #[test]
    fn sts_token_goes_into_the_signed_query() {
        let base = AccessKey {
            id: "STS.base".into(),
            secret: SecretString::new("s"),
            token: Some(SecretString::new("tok")),
            expiration: None,
        };
        let (query, _) = assume_role_params(
            &base,
            &AssumeRoleOptions::new("acs:ram::1:role/r"),
            "sess",
            900,
            "2025-01-15T08:30:00Z",
            "n",
            "POST",
        );
        assert!(query.contains(&("SecurityToken".into(), "tok".into())));
    }

    #[test]
    fn credentials_are_parsed_into_secrets() {
        let body = br#"{"RequestId":"r","AssumedRoleUser":{"Arn":"a"},"Credentials":{
            "AccessKeyId":"STS.NTx","AccessKeySecret":"sek","SecurityToken":"CAIS",
            "Expiration":"2025-01-15T09:30:00Z"}}"#;
        let key = parse_sts_credentials(body).unwrap();
        assert_eq!(key.id, "STS.NTx");
        assert_eq!(key.secret.expose_secret(), "sek");
        assert_eq!(key.expiration, Some(1736933400));
        assert!(parse_sts_credentials(b"{}").is_err());
        let err = parse_sts_credentials(b"not json AccessKeySecret=sek").unwrap_err();
        assert!(!err.to_string().contains("sek"));
    }
}
