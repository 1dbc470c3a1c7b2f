//! Credentials: where the AccessKey that signs a call comes from.
//!
//! A [`Credentials`] is a cheap description (static key, RRSA/OIDC, role chaining); turning it
//! into a usable key happens inside [`Cloud`](super::Cloud), which caches STS results keyed by
//! [`Credentials::fingerprint`] (a hash of the base identity and role, never the secret itself),
//! so that a controller may rebuild `Credentials` from its Secret on every reconcile and still
//! reuse the STS session obtained earlier.
//!
//! Providers:
//! * [`Credentials::static_key`] — an AccessKey pair (optionally with an STS token) handed in by
//!   the caller, e.g. read from a Kubernetes Secret.
//! * [`Credentials::from_env`] — `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`,
//!   optional `ALIBABA_CLOUD_SECURITY_TOKEN`.
//! * [`Credentials::rrsa_from_env`] — RRSA on ACK: STS `AssumeRoleWithOIDC` with the pod's
//!   projected service-account token; the token file is re-read on every exchange.
//! * [`Credentials::assume_role`] — STS `AssumeRole` on top of any of the above. The request is
//!   signed with the legacy RPC HMAC-SHA1 signature, exactly as `credentials-go` does
//!   (POST, common parameters in the query, role parameters in a form body).

mod cache;
mod provider;
mod sts;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::error::Error;
use super::secret::SecretString;

pub(crate) use cache::Cached;
pub(crate) use cache::CredentialCache;
pub(crate) use sts::{assume_role_params, oidc_params, parse_sts_credentials};

/// Environment variable names (the official SDKs' spelling).
pub mod env {
    /// AccessKey id.
    pub const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
    /// AccessKey secret.
    pub const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
    /// STS security token (makes the pair temporary credentials).
    pub const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
    /// RAM role to assume (RRSA).
    pub const ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
    /// OIDC identity provider of the cluster (RRSA).
    pub const OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
    /// Projected service-account token file (RRSA).
    pub const OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
    /// Session name for STS exchanges.
    pub const ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
    /// Explicit STS host (injected by the ACK pod-identity webhook).
    pub const STS_ENDPOINT: &str = "ALIBABA_CLOUD_STS_ENDPOINT";
    /// Region of the STS endpoint.
    pub const STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
    /// `true` → use `sts-vpc.<region>.aliyuncs.com`.
    pub const VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
}

/// Where STS is reached for an exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StsLocation {
    /// Explicit host (or base URL); wins over the region.
    pub endpoint: Option<String>,
    /// Region of the regional STS endpoint; without it the central `sts.aliyuncs.com` is used.
    pub region: Option<String>,
    /// Use the VPC endpoint `sts-vpc.<region>.aliyuncs.com`.
    pub vpc: bool,
}

/// RRSA / `AssumeRoleWithOIDC` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The RAM role to assume.
    pub role_arn: String,
    /// The cluster's OIDC provider.
    pub oidc_provider_arn: String,
    /// The projected service-account token; re-read on every exchange (kubelet rotates it).
    pub token_file: PathBuf,
    /// `RoleSessionName`; default `aliyun-migration-operator-<unix ms>`.
    pub session_name: Option<String>,
    /// Requested lifetime; default [`CloudConfig::sts_duration`](super::CloudConfig).
    pub duration: Option<Duration>,
    /// Optional inline policy that narrows the role.
    pub policy: Option<String>,
    /// Where STS is.
    pub sts: StsLocation,
}

/// `AssumeRole` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleOptions {
    /// The RAM role to assume, `acs:ram::<uid>:role/<name>`.
    pub role_arn: String,
    /// `RoleSessionName`; default `aliyun-migration-operator-<unix ms>`.
    pub session_name: Option<String>,
    /// Requested lifetime; default [`CloudConfig::sts_duration`](super::CloudConfig).
    pub duration: Option<Duration>,
    /// `ExternalId` required by the role's trust policy, if any.
    pub external_id: Option<String>,
    /// Optional inline policy that narrows the role.
    pub policy: Option<String>,
    /// Where STS is.
    pub sts: StsLocation,
}

impl AssumeRoleOptions {
    /// Defaults for a role.
    pub fn new(role_arn: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            session_name: None,
            duration: None,
            external_id: None,
            policy: None,
            sts: StsLocation::default(),
        }
    }
}

pub(crate) enum Source {
    Static {
        access_key_id: String,
        secret: SecretString,
        token: Option<SecretString>,
    },
    Oidc(OidcSettings),
    AssumeRole {
        base: Credentials,
        options: AssumeRoleOptions,
    },
}

/// A description of where credentials come from. Cheap to clone; `Debug` shows only the kind
/// and the fingerprint.
#[derive(Clone)]
pub struct Credentials {
    source: Arc<Source>,
    fingerprint: u128,
}

/// A usable AccessKey, as resolved for one call.
#[derive(Clone)]
pub(crate) struct AccessKey {
    pub id: String,
    pub secret: SecretString,
    pub token: Option<SecretString>,
    /// Unix seconds; `None` for long-term keys.
    pub expiration: Option<i64>,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &super::mask::mask_text(&self.id))
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

fn hash_parts(parts: &[&[u8]]) -> u128 {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so that ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

fn opt_bytes(s: &Option<String>) -> &[u8] {
    s.as_deref().unwrap_or("").as_bytes()
}

impl Credentials {
    fn from_source(source: Source) -> Self {
        let fingerprint = match &source {
            Source::Static {
                access_key_id,
                secret,
                token,
            } => hash_parts(&[
                b"static",
                access_key_id.as_bytes(),
                secret.expose_secret().as_bytes(),
                token
                    .as_ref()
                    .map(|t| t.expose_secret())
                    .unwrap_or("")
                    .as_bytes(),
            ]),
            Source::Oidc(s) => hash_parts(&[
                b"oidc",
                s.role_arn.as_bytes(),
                s.oidc_provider_arn.as_bytes(),
                s.token_file.to_string_lossy().as_bytes(),
                opt_bytes(&s.policy),
            ]),
            Source::AssumeRole { base, options } => hash_parts(&[
                b"assume-role",
                &base.fingerprint.to_be_bytes(),
                options.role_arn.as_bytes(),
                opt_bytes(&options.external_id),
                opt_bytes(&options.policy),
            ]),
        };
        Self {
            source: Arc::new(source),
            fingerprint,
        }
    }

    /// A static AccessKey pair, optionally with an STS token (then it cannot be refreshed).
    pub fn static_key(
        access_key_id: impl Into<String>,
        access_key_secret: SecretString,
        security_token: Option<SecretString>,
    ) -> Self {
        Self::from_source(Source::Static {
            access_key_id: access_key_id.into(),
            secret: access_key_secret,
            token: security_token.filter(|t| !t.is_empty()),
        })
    }

    /// The AccessKey from `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` (+ `_SECURITY_TOKEN`).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with an explicit variable lookup (for tests and callers that
    /// read configuration elsewhere).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (Some(id), Some(secret)) = (get(env::ACCESS_KEY_ID), get(env::ACCESS_KEY_SECRET))
        else {
            return Err(Error::credentials(format!(
                "{} and {} must both be set",
                env::ACCESS_KEY_ID,
                env::ACCESS_KEY_SECRET
            )));
        };
        Ok(Self::static_key(
            id.trim(),
            SecretString::new(secret.trim()),
            get(env::SECURITY_TOKEN).map(|t| SecretString::new(t.trim())),
        ))
    }

    /// RRSA: `AssumeRoleWithOIDC` with `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`
    /// and `ALIBABA_CLOUD_OIDC_TOKEN_FILE`; honours `ALIBABA_CLOUD_ROLE_SESSION_NAME`,
    /// `ALIBABA_CLOUD_STS_ENDPOINT`, `ALIBABA_CLOUD_STS_REGION` and
    /// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED`.
    pub fn rrsa_from_env() -> Result<Self, Error> {
        Self::rrsa_from_env_with(|name| std::env::var(name).ok())
    }

    /// [`rrsa_from_env`](Self::rrsa_from_env) with an explicit variable lookup.
    pub fn rrsa_from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (Some(role_arn), Some(provider), Some(token_file)) = (
            get(env::ROLE_ARN),
            get(env::OIDC_PROVIDER_ARN),
            get(env::OIDC_TOKEN_FILE),
        ) else {
            return Err(Error::credentials(format!(
                "RRSA needs {}, {} and {}",
                env::ROLE_ARN,
                env::OIDC_PROVIDER_ARN,
                env::OIDC_TOKEN_FILE
            )));
        };
        Ok(Self::oidc(OidcSettings {
            role_arn,
            oidc_provider_arn: provider,
            token_file: PathBuf::from(token_file),
            session_name: get(env::ROLE_SESSION_NAME),
            duration: None,
            policy: None,
            sts: StsLocation {
                endpoint: get(env::STS_ENDPOINT),
                region: get(env::STS_REGION),
                vpc: get(env::VPC_ENDPOINT_ENABLED).is_some_and(|v| v.eq_ignore_ascii_case("true")),
            },
        }))
    }

    /// `AssumeRoleWithOIDC` with explicit settings.
    pub fn oidc(settings: OidcSettings) -> Self {
        Self::from_source(Source::Oidc(settings))
    }

    /// These credentials, used to assume a RAM role (STS `AssumeRole`).
    pub fn assume_role(&self, role_arn: impl Into<String>) -> Self {
        self.assume_role_with(AssumeRoleOptions::new(role_arn))
    }

    /// These credentials, used to assume a RAM role with explicit options.
    pub fn assume_role_with(&self, options: AssumeRoleOptions) -> Self {
        Self::from_source(Source::AssumeRole {
            base: self.clone(),
            options,
        })
    }

    /// A hash of the identity (and role chain): stable across instances built from the same
    /// inputs, never revealing the secret. Used as cache and rate-limit key.
    pub fn fingerprint(&self) -> u128 {
        self.fingerprint
    }

    /// The first 8 bytes of the fingerprint, for rate-limit keys and logs.
    pub(crate) fn short_id(&self) -> u64 {
        (self.fingerprint >> 64) as u64
    }

    /// `static`, `static-sts`, `oidc` or `assume-role`.
    pub fn kind(&self) -> &'static str {
        match &*self.source {
            Source::Static { token: None, .. } => "static",
            Source::Static { token: Some(_), .. } => "static-sts",
            Source::Oidc(_) => "oidc",
            Source::AssumeRole { .. } => "assume-role",
        }
    }

    /// Whether a fresh key can be obtained when the current one is rejected (STS exchanges can;
    /// a static key or a handed-in STS token cannot).
    pub fn is_refreshable(&self) -> bool {
        !matches!(&*self.source, Source::Static { .. })
    }

    pub(crate) fn source(&self) -> &Source {
        &self.source
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials({}, fingerprint {:016x})",
            self.kind(),
            self.short_id()
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_provider_reads_the_sdk_variables() {
        let c = Credentials::from_env_with(lookup(&[
            (env::ACCESS_KEY_ID, "LTAIid"),
            (env::ACCESS_KEY_SECRET, "sec"),
            (env::SECURITY_TOKEN, "tok"),
        ]))
        .unwrap();
        assert_eq!(c.kind(), "static-sts");
        assert!(!c.is_refreshable());
        let err = Credentials::from_env_with(lookup(&[(env::ACCESS_KEY_ID, "x")])).unwrap_err();
        assert_eq!(err.kind(), crate::aliyun::ErrorKind::Credentials);
    }

    #[test]
    fn rrsa_provider_reads_the_webhook_variables() {
        let c = Credentials::rrsa_from_env_with(lookup(&[
            (env::ROLE_ARN, "acs:ram::1:role/r"),
            (
                env::OIDC_PROVIDER_ARN,
                "acs:ram::1:oidc-provider/ack-rrsa-c",
            ),
            (
                env::OIDC_TOKEN_FILE,
                "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token",
            ),
            (env::STS_ENDPOINT, "sts-vpc.cn-hangzhou.aliyuncs.com"),
            (env::STS_REGION, "cn-hangzhou"),
            (env::VPC_ENDPOINT_ENABLED, "true"),
        ]))
        .unwrap();
        let Source::Oidc(s) = c.source() else {
            panic!("not oidc")
        };
        assert_eq!(
            s.sts.endpoint.as_deref(),
            Some("sts-vpc.cn-hangzhou.aliyuncs.com")
        );
        assert!(s.sts.vpc);
        assert!(c.is_refreshable());
        assert!(Credentials::rrsa_from_env_with(lookup(&[(env::ROLE_ARN, "r")])).is_err());
    }

    #[test]
    fn fingerprints_are_stable_distinct_and_secret_free() {
        let a = Credentials::static_key("LTAIa", SecretString::new("s1"), None);
        let a2 = Credentials::static_key("LTAIa", SecretString::new("s1"), None);
        let b = Credentials::static_key("LTAIa", SecretString::new("s2"), None);
        assert_eq!(a.fingerprint(), a2.fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.assume_role("acs:ram::1:role/x").fingerprint(),
            a2.assume_role("acs:ram::1:role/x").fingerprint()
        );
        assert_ne!(
            a.assume_role("acs:ram::1:role/x").fingerprint(),
            a.assume_role("acs:ram::1:role/y").fingerprint()
        );
        let shown = format!("{a:?}");
        assert!(!shown.contains("LTAIa") && !shown.contains("s1"), "{shown}");
    }
}
