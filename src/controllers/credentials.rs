//! Turns a resource's `spec.credentials` into cloud credentials. Secrets are read at call time
//! and handed straight to the client; their values are never logged or stored.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::error::{Error, Result};
use crate::aliyun::{Credentials, SecretString};
use crate::api::common::{
    AccessKeySecretRef, CloudCredentials, CredentialSource, DEFAULT_CREDENTIALS_SECRET,
};

/// What [`resolve`] used, enough to build the same credentials again without the Secret (see
/// `cleanup_credentials`): the AccessKey read from the Secret, or which operator identity.
#[derive(Clone)]
pub struct Captured {
    pub source: CredentialSource,
    /// For `source: Secret`: AccessKey id, secret and optional STS token.
    pub key: Option<(String, SecretString, Option<SecretString>)>,
    pub role_arn: Option<String>,
}

impl Captured {
    /// The credentials this capture stands for.
    pub fn credentials(&self) -> Result<Credentials> {
        let base = match (&self.source, &self.key) {
            (CredentialSource::Secret, Some((id, secret, token))) => {
                Credentials::static_key(id.clone(), secret.clone(), token.clone())
            }
            (source, _) => {
                let spec = CloudCredentials {
                    source: source.clone(),
                    ..CloudCredentials::default()
                };
                operator_identity(&spec)?
            }
        };
        Ok(match &self.role_arn {
            Some(arn) => base.assume_role(arn.clone()),
            None => base,
        })
    }
}

/// Credentials for a resource in `namespace`.
pub async fn resolve(
    client: &kube::Client,
    namespace: &str,
    spec: Option<&CloudCredentials>,
) -> Result<Credentials> {
    Ok(resolve_captured(client, namespace, spec).await?.0)
}

/// [`resolve`], also returning what it used.
pub async fn resolve_captured(
    client: &kube::Client,
    namespace: &str,
    spec: Option<&CloudCredentials>,
) -> Result<(Credentials, Captured)> {
    let default = CloudCredentials::default();
    let spec = spec.unwrap_or(&default);
    let mut captured = Captured {
        source: spec.source.clone(),
        key: None,
        role_arn: spec.role_arn.clone(),
    };
    let base = match spec.source {
        CredentialSource::Secret => {
            let reference = spec
                .secret_ref
                .clone()
                .unwrap_or_else(|| AccessKeySecretRef {
                    name: DEFAULT_CREDENTIALS_SECRET.to_string(),
                    ..AccessKeySecretRef::default()
                });
            let (id, secret, token) = from_secret(client, namespace, &reference).await?;
            captured.key = Some((id.clone(), secret.clone(), token.clone()));
            Credentials::static_key(id, secret, token)
        }
        _ => operator_identity(spec)?,
    };
    let credentials = match &spec.role_arn {
        Some(arn) => base.assume_role(arn.clone()),
        None => base,
    };
    Ok((credentials, captured))
}

/// RRSA or environment credentials of the operator itself.
fn operator_identity(spec: &CloudCredentials) -> Result<Credentials> {
    Ok(match spec.source {
        CredentialSource::Secret => {
            return Err(Error::Credentials(
                "internal: Secret credentials are not an operator identity".into(),
            ));
        }
        CredentialSource::Rrsa => Credentials::rrsa_from_env().map_err(|e| {
            Error::Credentials(format!(
                "spec.credentials.source is RRSA but the operator pod has no RRSA identity ({}); enable RRSA for the operator's ServiceAccount",
                e.message()
            ))
        })?,
        CredentialSource::Environment => Credentials::from_env().map_err(|e| {
            Error::Credentials(format!(
                "spec.credentials.source is Environment but {}; set them on the operator Deployment",
                e.message()
            ))
        })?,
    })
}

/// The AccessKey id, secret and optional token a Secret holds.
async fn from_secret(
    client: &kube::Client,
    namespace: &str,
    reference: &AccessKeySecretRef,
) -> Result<(String, SecretString, Option<SecretString>)> {
    let secret = read_secret(client, namespace, &reference.name).await?;
    let id = key(&secret, namespace, &reference.name, reference.id_key())?;
    let value = key(&secret, namespace, &reference.name, reference.secret_key())?;
    let token = optional_key(&secret, reference.token_key());
    Ok((
        id.expose_secret().trim().to_string(),
        SecretString::new(value.expose_secret().trim()),
        token,
    ))
}

/// Reads a Secret; a missing one is a clear, terminal condition (fixed by creating it).
pub async fn read_secret(client: &kube::Client, namespace: &str, name: &str) -> Result<Secret> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => Err(Error::Credentials(format!(
            "Secret {namespace}/{name} not found: create it (keys accessKeyId and accessKeySecret, or the keys named in the spec)"
        ))),
        Err(kube::Error::Api(status)) if status.code == 403 => Err(Error::Credentials(format!(
            "the operator may not read Secret {namespace}/{name}: grant it get on secrets in {namespace}"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One key of a Secret as a secret string.
pub fn key(secret: &Secret, namespace: &str, name: &str, key: &str) -> Result<SecretString> {
    optional_key(secret, key).ok_or_else(|| {
        Error::Credentials(format!(
            "Secret {namespace}/{name} has no non-empty key {key:?}"
        ))
    })
}

fn optional_key(secret: &Secret, key: &str) -> Option<SecretString> {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.clone().into_bytes())
        })?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.trim().is_empty()).then(|| SecretString::new(text))
}

/// Names of the Secrets a `spec.credentials` refers to (for re-reconciling when one changes).
pub fn secret_names(spec: Option<&CloudCredentials>) -> Vec<String> {
    match spec {
        None => vec![DEFAULT_CREDENTIALS_SECRET.to_string()],
        Some(c) if c.source == CredentialSource::Secret => vec![
            c.secret_ref
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_else(|| DEFAULT_CREDENTIALS_SECRET.to_string()),
        ],
        Some(_) => Vec::new(),
    }
}
