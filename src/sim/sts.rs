//! The simulated STS (RPC, 2015-04-01): `AssumeRole` (signed, V3 or the legacy HMAC-SHA1 the
//! credential libraries use), `AssumeRoleWithOIDC` (anonymous, a JWT-shaped token) and
//! `GetCallerIdentity`. Issued `STS.` keys then sign V3 requests with `x-acs-security-token`.
//!
//! Expiry uses real seconds (`DurationSeconds` of wall-clock time), because clients compare
//! `Expiration` with their own clock to decide when to refresh.

use base64::Engine as _;
use serde_json::{Value, json};

use super::auth::{Credentials, Principal, TempCredential};
use super::clock::fmt_iso;
use super::ids::IdGen;
use super::scenario::StsSpec;
use super::wire::{ApiError, Params};

/// The STS API version.
pub const VERSION: &str = "2015-04-01";
/// Actions served.
pub const ACTIONS: &[&str] = &["AssumeRole", "AssumeRoleWithOIDC", "GetCallerIdentity"];
/// Actions that need no signature.
pub const ANONYMOUS: &[&str] = &["AssumeRoleWithOIDC"];

/// Handles an STS action. `principal` is `None` only for anonymous actions.
pub fn handle(
    action: &str,
    params: &Params,
    principal: Option<&Principal>,
    creds: &mut Credentials,
    ids: &mut IdGen,
    spec: &StsSpec,
    now_wall: i64,
) -> Result<Value, ApiError> {
    match action {
        "AssumeRole" => {
            let principal = principal.ok_or_else(|| ApiError::missing("AccessKeyId"))?;
            let arn = params.require("RoleArn")?;
            let session = params.require("RoleSessionName")?;
            check_session_name(session)?;
            let (uid, role) = role_of(arn, spec)?;
            let duration = duration(params, max_session(arn, spec))?;
            let _ = principal;
            Ok(issue(
                creds, ids, &uid, &role, arn, session, duration, now_wall, None,
            ))
        }
        "AssumeRoleWithOIDC" => {
            let arn = params.require("RoleArn")?;
            let provider = params.require("OIDCProviderArn")?;
            if !spec.oidc_providers.is_empty() && !spec.oidc_providers.iter().any(|p| p == provider)
            {
                return Err(ApiError::new(
                    404,
                    "EntityNotExist.OIDCProvider",
                    format!("The OIDC provider does not exist: {provider}."),
                ));
            }
            let token = params.require("OIDCToken")?;
            let claims = jwt_claims(token)?;
            if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
                && exp * 1000 <= now_wall
            {
                return Err(ApiError::new(
                    400,
                    "AuthenticationFail.OIDCToken.Expired",
                    "The OIDC token has expired.",
                ));
            }
            let session = params.get("RoleSessionName").unwrap_or("oidc-session");
            check_session_name(session)?;
            let (uid, role) = role_of(arn, spec)?;
            let duration = duration(params, max_session(arn, spec))?;
            let info = json!({
                "Subject": claims.get("sub").and_then(Value::as_str).unwrap_or_default(),
                "Issuer": claims.get("iss").and_then(Value::as_str).unwrap_or_default(),
                "ClientIds": match claims.get("aud") {
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                },
                "ExpirationTime": claims.get("exp").and_then(Value::as_i64).map(|e| fmt_iso(e * 1000)).unwrap_or_default(),
                "IssuanceTime": claims.get("iat").and_then(Value::as_i64).map(|e| fmt_iso(e * 1000)).unwrap_or_default(),
                "VerificationInfo": "Success",
            });
            Ok(issue(
                creds,
                ids,
                &uid,
                &role,
                arn,
                session,
                duration,
                now_wall,
                Some(info),
            ))
        }
        "GetCallerIdentity" => {
            let principal = principal.ok_or_else(|| ApiError::missing("AccessKeyId"))?;
            let uid = &principal.account_id;
            Ok(match creds.temporary(&principal.access_key_id) {
                Some(t) => {
                    let role = t.role_arn.rsplit('/').next().unwrap_or_default();
                    json!({
                        "AccountId": uid,
                        "Arn": format!("acs:ram::{uid}:assumed-role/{role}/{}", t.session_name),
                        "IdentityType": "AssumedRoleUser",
                        "PrincipalId": format!("{role}:{}", t.session_name),
                        "RoleId": role,
                        "UserId": "",
                    })
                }
                None => json!({
                    "AccountId": uid,
                    "Arn": format!("acs:ram::{uid}:root"),
                    "IdentityType": "Account",
                    "PrincipalId": uid,
                    "UserId": uid,
                    "RoleId": "",
                }),
            })
        }
        other => Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Specified api {other} is not found."),
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn issue(
    creds: &mut Credentials,
    ids: &mut IdGen,
    uid: &str,
    role: &str,
    arn: &str,
    session: &str,
    duration_secs: i64,
    now_wall: i64,
    oidc: Option<Value>,
) -> Value {
    let cred = TempCredential {
        access_key_id: ids.sts_access_key_id(),
        secret: ids.sts_secret(),
        security_token: ids.security_token(),
        account_id: uid.to_string(),
        role_arn: arn.to_string(),
        session_name: session.to_string(),
        expires_at: now_wall + duration_secs * 1000,
    };
    let mut body = json!({
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{uid}:role/{role}/{session}"),
            "AssumedRoleId": format!("{}:{session}", ids.role_id()),
        },
        "Credentials": {
            "AccessKeyId": cred.access_key_id,
            "AccessKeySecret": cred.secret,
            "SecurityToken": cred.security_token,
            "Expiration": fmt_iso(cred.expires_at),
        },
        "SourceIdentity": "",
    });
    if let Some(info) = oidc {
        body["OIDCTokenInfo"] = info;
    }
    creds.add_temporary(cred);
    body
}

fn check_session_name(name: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_because(
            "RoleSessionName",
            "2-64 characters of letters, digits, '.', '@', '-' or '_'",
        ))
    }
}

/// The account and role name of a role ARN (`acs:ram::<uid>:role/<name>`).
fn role_of(arn: &str, spec: &StsSpec) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::new(
            400,
            "InvalidParameter.RoleArn",
            format!("The parameter RoleArn is invalid: {arn}."),
        )
    };
    let rest = arn.strip_prefix("acs:ram::").ok_or_else(bad)?;
    let (uid, role) = rest.split_once(":role/").ok_or_else(bad)?;
    if uid.is_empty() || !uid.chars().all(|c| c.is_ascii_digit()) || role.is_empty() {
        return Err(bad());
    }
    if !spec.roles.is_empty() && !spec.roles.iter().any(|r| r.arn.eq_ignore_ascii_case(arn)) {
        return Err(ApiError::new(
            404,
            "EntityNotExist.Role",
            format!("The role not exists: {arn}."),
        ));
    }
    Ok((uid.to_string(), role.to_string()))
}

fn max_session(arn: &str, spec: &StsSpec) -> i64 {
    spec.roles
        .iter()
        .find(|r| r.arn.eq_ignore_ascii_case(arn))
        .map(|r| r.max_session_duration as i64)
        .unwrap_or(3600)
}

fn duration(params: &Params, max: i64) -> Result<i64, ApiError> {
    let d = params.int("DurationSeconds")?.unwrap_or(3600.min(max));
    if d < 900 || d > max {
        return Err(ApiError::new(
            400,
            "InvalidParameter.DurationSeconds",
            format!("The Min/Max value of DurationSeconds is 900/{max} seconds."),
        ));
    }
    Ok(d)
}

/// The claims of a JWT-shaped token (three base64url segments); the signature is not checked.
fn jwt_claims(token: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
    let bad = || {
        ApiError::new(
            400,
            "InvalidParameter.OIDCToken",
            "The OIDC token is not a valid JWT.",
        )
    };
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|_| bad())?;
    match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad()),
    }
}
