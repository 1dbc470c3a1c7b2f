//! Request authentication like the Alibaba Cloud gateways: ACS3-HMAC-SHA256 (V3, any signed
//! header list) and the legacy RPC HMAC-SHA1 signature, permanent AccessKeys and STS temporary
//! credentials, date skew and nonce replay checks.
//!
//! Dates, nonces and STS expiries are checked against the *real* wall clock: clients sign with
//! it, whatever the simulated clock says.

use std::collections::{HashMap, VecDeque};

use crate::aliyun::signer;

use super::scenario::AccountSpec;
use super::wire::{ApiError, Params};

/// Largest accepted difference between a request's date and the real clock.
pub const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The AccessKeyId that signed (permanent or `STS.`).
    pub access_key_id: String,
    /// The account (uid) that owns the resources the request acts on.
    pub account_id: String,
    /// Signed with STS temporary credentials.
    pub temporary: bool,
}

/// Temporary credentials issued by the simulated STS.
#[derive(Debug, Clone)]
pub struct TempCredential {
    pub access_key_id: String,
    pub secret: String,
    pub security_token: String,
    pub account_id: String,
    pub role_arn: String,
    pub session_name: String,
    /// Real wall-clock expiry, ms since the epoch.
    pub expires_at: i64,
}

/// The parts of an HTTP request a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Path exactly as sent (percent-encoded).
    pub raw_path: &'a str,
    /// Decoded URL query parameters (not the form body).
    pub query: &'a [(String, String)],
    /// Header names (lower case) and values, every occurrence.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Access keys, STS credentials and recently used nonces.
#[derive(Debug, Default)]
pub struct Credentials {
    accounts: HashMap<String, AccountSpec>,
    temporary: HashMap<String, TempCredential>,
    nonces: HashMap<String, i64>,
    nonce_order: VecDeque<(i64, String)>,
}

impl Credentials {
    /// A store knowing `accounts`.
    pub fn new(accounts: &[AccountSpec]) -> Self {
        Self {
            accounts: accounts
                .iter()
                .map(|a| (a.access_key_id.clone(), a.clone()))
                .collect(),
            ..Self::default()
        }
    }

    /// The secret that signs for `access_key_id` (permanent or STS), for the echo fault only.
    pub fn signing_secret(&self, access_key_id: &str) -> Option<String> {
        self.accounts
            .get(access_key_id)
            .map(|a| a.access_key_secret.clone())
            .or_else(|| self.temporary.get(access_key_id).map(|t| t.secret.clone()))
    }

    /// The AccessKey ids of the permanent accounts (never the secrets).
    pub fn account_summaries(&self) -> Vec<(String, String, bool)> {
        let mut v: Vec<_> = self
            .accounts
            .values()
            .map(|a| (a.access_key_id.clone(), a.account_id.clone(), a.active))
            .collect();
        v.sort();
        v
    }

    /// Temporary credentials currently known (expired ones included until replaced).
    pub fn temporary_count(&self) -> usize {
        self.temporary.len()
    }

    /// Temporary credentials by AccessKeyId.
    pub fn temporary(&self, access_key_id: &str) -> Option<&TempCredential> {
        self.temporary.get(access_key_id)
    }

    /// Registers temporary credentials.
    pub fn add_temporary(&mut self, cred: TempCredential) {
        self.temporary.insert(cred.access_key_id.clone(), cred);
    }

    /// Makes temporary credentials expire now (one key, or all when `None`); returns how many.
    pub fn expire_temporary(&mut self, access_key_id: Option<&str>, now_wall: i64) -> usize {
        let mut n = 0;
        for cred in self.temporary.values_mut() {
            if access_key_id.is_none_or(|id| id == cred.access_key_id) {
                cred.expires_at = cred.expires_at.min(now_wall - 1);
                n += 1;
            }
        }
        n
    }

    /// Verifies a request; `Ok(None)` when it carries no signature at all (anonymous).
    /// `rpc_params` holds the merged query and form parameters of an RPC request.
    pub fn verify(
        &mut self,
        req: &SignedRequest<'_>,
        rpc_params: Option<&Params>,
        now_wall: i64,
    ) -> Result<Option<Principal>, ApiError> {
        if let Some(auth) = req.header("authorization") {
            return self.check_v3(req, auth, now_wall).map(Some);
        }
        match rpc_params {
            Some(p) if p.get("Signature").is_some() => self.verify_v1(req, p, now_wall).map(Some),
            _ => Ok(None),
        }
    }

    fn check_v3(
        &mut self,
        req: &SignedRequest<'_>,
        auth: &str,
        now_wall: i64,
    ) -> Result<Principal, ApiError> {
        let parsed = signer::parse_authorization_v3(auth).ok_or_else(|| {
            incomplete("the Authorization header must be \"ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…\"")
        })?;
        for required in [
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        ] {
            if req.header(required).is_none() {
                return Err(incomplete(&format!("the header {required} is missing")));
            }
            if !parsed.signed_headers.iter().any(|h| h == required) {
                return Err(incomplete(&format!("the header {required} must be signed")));
            }
        }
        let token = req.header("x-acs-security-token");
        if token.is_some()
            && !parsed
                .signed_headers
                .iter()
                .any(|h| h == "x-acs-security-token")
        {
            return Err(incomplete("the header x-acs-security-token must be signed"));
        }
        let mut signed: Vec<(String, String)> = Vec::new();
        for name in &parsed.signed_headers {
            let values: Vec<&(String, String)> =
                req.headers.iter().filter(|(k, _)| k == name).collect();
            if values.is_empty() {
                return Err(incomplete(&format!(
                    "the signed header {name} is not in the request"
                )));
            }
            signed.extend(values.into_iter().cloned());
        }
        check_date(req.header("x-acs-date").unwrap_or_default(), now_wall)?;
        let hashed = req.header("x-acs-content-sha256").unwrap_or_default();
        if !hashed.eq_ignore_ascii_case(&signer::sha256_hex(req.body)) {
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                "The x-acs-content-sha256 header does not match the SHA-256 of the request body.",
            ));
        }
        let (secret, principal) = self.secret_for(&parsed.access_key_id, token, now_wall)?;
        if let Some(id) = req.header("x-acs-accesskey-id")
            && id != parsed.access_key_id
        {
            return Err(ApiError::new(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The x-acs-accesskey-id header does not match the Credential of the signature.",
            ));
        }
        let canonical = signer::canonical_request(&signer::CanonicalInput {
            method: req.method,
            canonical_uri: req.raw_path,
            query: req.query,
            headers: &signed,
            hashed_payload: hashed,
        });
        let string_to_sign = signer::string_to_sign_v3(&canonical.text);
        let expected = signer::signature_v3(&secret, &string_to_sign);
        if !signer::constant_time_eq(&expected, &parsed.signature.to_ascii_lowercase()) {
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "Specified signature is not matched with our calculation. server string to sign is:{}",
                    string_to_sign.replace('\n', "\\n")
                ),
            ));
        }
        self.use_nonce(
            &principal.access_key_id,
            req.header("x-acs-signature-nonce").unwrap_or_default(),
            now_wall,
        )?;
        Ok(principal)
    }

    fn verify_v1(
        &mut self,
        req: &SignedRequest<'_>,
        params: &Params,
        now_wall: i64,
    ) -> Result<Principal, ApiError> {
        let method = params.get("SignatureMethod").unwrap_or("HMAC-SHA1");
        if method != "HMAC-SHA1" {
            return Err(incomplete("SignatureMethod must be HMAC-SHA1"));
        }
        if let Some(v) = params.get("SignatureVersion")
            && v != "1.0"
        {
            return Err(incomplete("SignatureVersion must be 1.0"));
        }
        let access_key_id = params.require("AccessKeyId")?.to_string();
        let timestamp = params.require("Timestamp")?;
        let nonce = params.require("SignatureNonce")?.to_string();
        check_date(timestamp, now_wall)?;
        let (secret, principal) =
            self.secret_for(&access_key_id, params.get("SecurityToken"), now_wall)?;
        let signed: Vec<(String, String)> = params
            .pairs()
            .iter()
            .filter(|(k, _)| k != "Signature")
            .cloned()
            .collect();
        let string_to_sign = signer::rpc_v2_string_to_sign(req.method, &signed);
        let expected = signer::rpc_v2_signature(&secret, &string_to_sign);
        let given = params.get("Signature").unwrap_or_default();
        if !signer::constant_time_eq(&expected, given) {
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            ));
        }
        self.use_nonce(&access_key_id, &nonce, now_wall)?;
        Ok(principal)
    }

    /// The signing secret of `access_key_id` and whom it stands for, after the STS token checks.
    fn secret_for(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        now_wall: i64,
    ) -> Result<(String, Principal), ApiError> {
        if let Some(account) = self.accounts.get(access_key_id) {
            if !account.active {
                return Err(ApiError::new(
                    400,
                    "InvalidAccessKeyId.Inactive",
                    "Specified access key is disabled.",
                ));
            }
            if token.is_some() {
                return Err(ApiError::new(
                    400,
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                ));
            }
            return Ok((
                account.access_key_secret.clone(),
                Principal {
                    access_key_id: access_key_id.to_string(),
                    account_id: account.account_id.clone(),
                    temporary: false,
                },
            ));
        }
        let Some(cred) = self.temporary.get(access_key_id) else {
            return Err(ApiError::new(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ));
        };
        let Some(token) = token else {
            return Err(ApiError::new(
                400,
                "InvalidSecurityToken.Malformed",
                "Specified SecurityToken is malformed: STS credentials need x-acs-security-token.",
            ));
        };
        if !signer::constant_time_eq(token, &cred.security_token) {
            return Err(ApiError::new(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            ));
        }
        if cred.expires_at <= now_wall {
            return Err(ApiError::new(
                400,
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ));
        }
        Ok((
            cred.secret.clone(),
            Principal {
                access_key_id: access_key_id.to_string(),
                account_id: cred.account_id.clone(),
                temporary: true,
            },
        ))
    }

    fn use_nonce(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now_wall: i64,
    ) -> Result<(), ApiError> {
        while let Some((expiry, _)) = self.nonce_order.front() {
            if *expiry > now_wall {
                break;
            }
            let (_, key) = self.nonce_order.pop_front().expect("front exists");
            if self.nonces.get(&key).is_some_and(|e| *e <= now_wall) {
                self.nonces.remove(&key);
            }
        }
        let key = format!("{access_key_id}\n{nonce}");
        if self.nonces.get(&key).is_some_and(|e| *e > now_wall) {
            return Err(ApiError::new(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        let expiry = now_wall + MAX_SKEW_MS;
        self.nonces.insert(key.clone(), expiry);
        self.nonce_order.push_back((expiry, key));
        Ok(())
    }
}

fn incomplete(why: &str) -> ApiError {
    ApiError::new(
        400,
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards: {why}."),
    )
}

/// Checks an `x-acs-date` / `Timestamp` value against the real clock.
fn check_date(text: &str, now_wall: i64) -> Result<(), ApiError> {
    let parsed = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%SZ", text)
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted (expected YYYY-MM-DDThh:mm:ssZ).",
            )
        })?;
    if (parsed - now_wall).abs() > MAX_SKEW_MS {
        return Err(ApiError::new(
            400,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired: the request date {text} differs from the server time by more than 15 minutes."
            ),
        ));
    }
    Ok(())
}
