//! Credentials kept for deleting cloud objects after the namespace's Secrets are gone.
//!
//! `deletionPolicy: Delete` needs the API credentials when the resource goes. When a whole
//! namespace is deleted, its Secrets (which have no finalizer) are gone long before the
//! operator's finalizers run, and a DataSource (which an MmsJob takes its region and
//! credentials from) may be gone too. So once a resource with `deletionPolicy: Delete` owns a
//! cloud object, the operator keeps what it needs to reach that object — region and API
//! credentials (never database passwords) — in a Secret `amo-cleanup-<uid>` in its own
//! namespace, updated when the referenced credentials change and deleted once the cloud object
//! is deleted (or the policy becomes `Retain`). Deletion uses the live Secret when it is
//! there, this copy when it is not.
//!
//! If neither exists (the copy could not be written, e.g. the operator lacks the Role in its
//! namespace), deletion keeps retrying with backoff and says why in Warning events; after
//! [`GIVE_UP_AFTER`] the finalizer is released with a Warning event naming the cloud object
//! left behind, so that a namespace deletion always finishes.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams};

use kube::Resource;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::context::Context;
use super::credentials::Captured;
use super::error::{Error, Result};
use super::managed::publish;
use crate::aliyun::{Credentials, SecretString};
use crate::api::common::{CredentialSource, MANAGER};

/// How long a deletion waits for credentials before it lets the resource go without deleting
/// the cloud object.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 60);

const LABEL: &str = "migration.aliyun-operator.dev/cleanup-for";
const RESOURCE: &str = "migration.aliyun-operator.dev/resource";

/// The resource a copy is kept for.
pub struct Owner<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
}

fn secret_name(uid: &str) -> String {
    format!("amo-cleanup-{uid}")
}

fn api(ctx: &Context) -> Api<Secret> {
    Api::namespaced(ctx.client.clone(), &ctx.settings.operator_namespace)
}

/// Keeps (or refreshes) the copy for `owner`. Best effort: a failure is logged and returns
/// false; deletion then needs the live Secret.
pub async fn remember(
    ctx: &Context,
    owner: &Owner<'_>,
    region: &str,
    captured: &Captured,
    fingerprint: u128,
) -> bool {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (fingerprint, region).hash(&mut h);
    let version = h.finish();
    if ctx.captured(owner.uid) == Some(version) {
        return true;
    }
    let mut data = BTreeMap::from([
        ("region".to_string(), bytes(region)),
        ("source".to_string(), bytes(source_name(&captured.source))),
    ]);
    if let Some((id, secret, token)) = &captured.key {
        data.insert("accessKeyId".into(), bytes(id));
        data.insert("accessKeySecret".into(), bytes(secret.expose_secret()));
        if let Some(token) = token {
            data.insert("securityToken".into(), bytes(token.expose_secret()));
        }
    }
    if let Some(arn) = &captured.role_arn {
        data.insert("roleArn".into(), bytes(arn));
    }
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(owner.uid)),
            labels: Some(BTreeMap::from([
                ("app.kubernetes.io/managed-by".into(), MANAGER.into()),
                (LABEL.into(), owner.uid.into()),
            ])),
            annotations: Some(BTreeMap::from([(
                RESOURCE.into(),
                format!("{} {}/{}", owner.kind, owner.namespace, owner.name),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(data),
        type_: Some("Opaque".into()),
        ..Secret::default()
    };
    let mut value = serde_json::to_value(&secret).unwrap_or_default();
    value["apiVersion"] = "v1".into();
    value["kind"] = "Secret".into();
    match api(ctx)
        .patch(
            &secret_name(owner.uid),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(value),
        )
        .await
    {
        Ok(_) => {
            ctx.set_captured(owner.uid, Some(version));
            true
        }
        Err(e) => {
            tracing::warn!(
                kind = owner.kind,
                name = owner.name,
                error = %super::error::Error::Kube(e),
                "could not keep the credentials for deleting the cloud object (grant the operator's Role in its namespace); deletion will need the referenced Secret"
            );
            false
        }
    }
}

/// The region and credentials kept for `uid`, if any.
pub async fn recall(ctx: &Context, uid: &str) -> Result<Option<(String, Credentials)>> {
    let Some(secret) = api(ctx).get_opt(&secret_name(uid)).await? else {
        return Ok(None);
    };
    let data = secret.data.unwrap_or_default();
    let text = |k: &str| {
        data.get(k)
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
            .filter(|v| !v.is_empty())
    };
    let source = match text("source").as_deref() {
        Some("RRSA") => CredentialSource::Rrsa,
        Some("Environment") => CredentialSource::Environment,
        _ => CredentialSource::Secret,
    };
    let key = match (text("accessKeyId"), text("accessKeySecret")) {
        (Some(id), Some(secret)) => Some((
            id,
            SecretString::new(secret),
            text("securityToken").map(SecretString::new),
        )),
        _ => None,
    };
    let captured = Captured {
        source,
        key,
        role_arn: text("roleArn"),
    };
    let Some(region) = text("region") else {
        return Ok(None);
    };
    Ok(Some((region, captured.credentials()?)))
}

/// Drops the copy for `uid` (the cloud object is gone, or the policy is `Retain`).
pub async fn forget(ctx: &Context, uid: &str) {
    match api(ctx)
        .delete(&secret_name(uid), &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => {
            tracing::warn!(uid, error = %super::error::Error::Kube(e), "could not delete the kept credentials");
            return;
        }
    }
    ctx.set_captured(uid, None);
}

/// A deletion that cannot reach the cloud: retried with backoff, and given up (the finalizer
/// released, the cloud object named in a Warning event) after `GIVE_UP_AFTER`, so a namespace
/// deletion always ends.
pub async fn let_go_or_wait<K>(ctx: &Context, obj: &K, what: &str) -> Result<Action>
where
    K: super::managed::Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let since = obj.meta().deletion_timestamp.as_ref().map(|t| t.0);
    if gave_up(since.as_ref(), jiff::Timestamp::now()) {
        publish(
            ctx,
            obj,
            EventType::Warning,
            "LeftInPlace",
            &format!(
                "deletionPolicy Delete could not be honoured within {} minutes: {what}; the cloud object is left in place, delete it in the console",
                GIVE_UP_AFTER.as_secs() / 60
            ),
        )
        .await;
        if let Some(uid) = obj.meta().uid.as_deref() {
            forget(ctx, uid).await;
        }
        return Ok(Action::await_change());
    }
    Err(Error::Dependency(format!(
        "cannot delete {what}; restore the Secret, or set deletionPolicy Retain to let go (given up after {} minutes)",
        GIVE_UP_AFTER.as_secs() / 60
    )))
}

/// Whether a deletion that started at `since` has waited for credentials long enough.
pub fn gave_up(since: Option<&jiff::Timestamp>, now: jiff::Timestamp) -> bool {
    since.is_some_and(|t| super::poll::elapsed(*t, now) >= GIVE_UP_AFTER)
}

fn bytes(text: &str) -> ByteString {
    ByteString(text.as_bytes().to_vec())
}

fn source_name(source: &CredentialSource) -> &'static str {
    match source {
        CredentialSource::Secret => "Secret",
        CredentialSource::Rrsa => "RRSA",
        CredentialSource::Environment => "Environment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_gives_up_only_after_the_grace() {
        let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let later = |s: i64| jiff::Timestamp::from_second(1_700_000_000 + s).unwrap();
        assert!(!gave_up(Some(&t0), later(60)));
        assert!(!gave_up(None, later(100_000)));
        assert!(gave_up(Some(&t0), later(15 * 60)));
    }
}
