//! The Kubernetes objects a Cutover switches: read their current value, check the operator may
//! touch them, set the new value, restore the saved one. Only objects named in `spec.switch`
//! are ever read or patched.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use super::decide::TargetObs;
use crate::aliyun::mask::is_secret_key;
use crate::api::common::MANAGER;
use crate::api::cutover::SwitchTarget;
use crate::controllers::error::{Error, Result};

/// The stable label of a target, used in steps, saved values and gates.
pub fn label(t: &SwitchTarget) -> String {
    if let Some(c) = &t.config_map_key {
        format!("ConfigMap/{}/{}", c.name, c.key)
    } else if let Some(s) = &t.secret_key {
        format!("Secret/{}/{}", s.name, s.key)
    } else if let Some(s) = &t.service {
        format!("Service/{}", s.name)
    } else if let Some(m) = &t.merge_patch {
        format!("{}/{}/{}", m.api_version, m.kind, m.name)
    } else {
        "invalid".to_string()
    }
}

/// Checks the operator's permissions on a target, then reads it. Without permission nothing is
/// read: the targets gate reports what to grant.
pub async fn observe(
    client: &kube::Client,
    ns: &str,
    t: &SwitchTarget,
    rollback: Option<&Secret>,
    rollback_key: &str,
) -> Result<TargetObs> {
    let mut obs = TargetObs {
        target: label(t),
        // Unknown until read; assumed present so a permission problem is what gets reported.
        exists: true,
        permitted: Ok(()),
        current: None,
        desired: Err("not resolved".into()),
        sensitive: false,
        rollback_previous: None,
    };
    if let Some(c) = &t.config_map_key {
        obs.desired = Ok(c.value.clone());
        // A ConfigMap key named like a credential is treated as one.
        obs.sensitive = is_secret_key(&c.key);
        obs.permitted = allowed(client, ns, "", "configmaps", &c.name, &["get", "patch"]).await?;
        if obs.permitted.is_ok() {
            let found = Api::<ConfigMap>::namespaced(client.clone(), ns)
                .get_opt(&c.name)
                .await?;
            obs.exists = found.is_some();
            obs.current = found.and_then(|cm| cm.data.and_then(|d| d.get(&c.key).cloned()));
        }
    } else if let Some(s) = &t.secret_key {
        obs.sensitive = true;
        obs.permitted = allowed(client, ns, "", "secrets", &s.name, &["get", "patch"]).await?;
        if obs.permitted.is_ok() {
            obs.permitted =
                allowed(client, ns, "", "secrets", &s.value_from.name, &["get"]).await?;
        }
        if obs.permitted.is_ok() {
            let api: Api<Secret> = Api::namespaced(client.clone(), ns);
            let found = api.get_opt(&s.name).await?;
            obs.exists = found.is_some();
            obs.current = found.as_ref().and_then(|sec| secret_value(sec, &s.key));
            obs.desired = match api.get_opt(&s.value_from.name).await? {
                Some(from) => secret_value(&from, &s.value_from.key).ok_or_else(|| {
                    format!(
                        "Secret {}/{} has no key {:?}",
                        ns, s.value_from.name, s.value_from.key
                    )
                }),
                None => Err(format!(
                    "Secret {}/{} (valueFrom) not found",
                    ns, s.value_from.name
                )),
            };
        }
    } else if let Some(s) = &t.service {
        obs.desired = Ok(s.external_name.clone());
        obs.permitted = allowed(client, ns, "", "services", &s.name, &["get", "patch"]).await?;
        if obs.permitted.is_ok() {
            let found = Api::<Service>::namespaced(client.clone(), ns)
                .get_opt(&s.name)
                .await?;
            obs.exists = found.is_some();
            if let Some(svc) = &found {
                let spec = svc.spec.clone().unwrap_or_default();
                if spec.type_.as_deref() != Some("ExternalName") {
                    obs.permitted = Err(format!(
                        "Service {} is of type {}, not ExternalName",
                        s.name,
                        spec.type_.unwrap_or_default()
                    ));
                }
                obs.current = spec.external_name;
            }
        }
    } else if let Some(m) = &t.merge_patch {
        let patch = parse_patch(&m.patch).map_err(Error::InvalidSpec)?;
        obs.desired = Ok(canonical(&patch));
        obs.sensitive = has_secret_key(&patch);
        match resource(client, &m.api_version, &m.kind).await {
            Ok(ar) => {
                obs.permitted = allowed(
                    client,
                    ns,
                    &ar.group,
                    &ar.plural,
                    &m.name,
                    &["get", "patch"],
                )
                .await?;
                if obs.permitted.is_ok() {
                    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
                    let found = api.get_opt(&m.name).await?;
                    obs.exists = found.is_some();
                    if let Some(object) = found {
                        let value = serde_json::to_value(&object).unwrap_or(Value::Null);
                        obs.current = Some(canonical(&project(&value, &patch)));
                    }
                }
            }
            Err(e) => obs.permitted = Err(e),
        }
    }
    if obs.sensitive && obs.permitted.is_ok() {
        obs.permitted = allowed(client, ns, "", "secrets", "", &["create"])
            .await?
            .map_err(|e| format!("{e} (needed to keep the previous value for rollback)"));
    }
    if let Some(secret) = rollback {
        obs.rollback_previous = Some(secret_value(secret, rollback_key));
    }
    Ok(obs)
}

/// Sets the target to `value`.
pub async fn set(
    client: &kube::Client,
    ns: &str,
    t: &SwitchTarget,
    value: Option<&str>,
) -> Result<()> {
    let params = PatchParams::default();
    if let Some(c) = &t.config_map_key {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        api.patch(
            &c.name,
            &params,
            &Patch::Merge(json!({"data": {&c.key: value}})),
        )
        .await?;
    } else if let Some(s) = &t.secret_key {
        let api: Api<Secret> = Api::namespaced(client.clone(), ns);
        let encoded = value.map(|v| base64_encode(v.as_bytes()));
        api.patch(
            &s.name,
            &params,
            &Patch::Merge(json!({"data": {&s.key: encoded}})),
        )
        .await?;
    } else if let Some(s) = &t.service {
        let api: Api<Service> = Api::namespaced(client.clone(), ns);
        api.patch(
            &s.name,
            &params,
            &Patch::Merge(json!({"spec": {"externalName": value}})),
        )
        .await?;
    } else if let Some(m) = &t.merge_patch {
        let ar = resource(client, &m.api_version, &m.kind)
            .await
            .map_err(Error::Dependency)?;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        // For a merge patch the "value" is the patch itself (set) or the saved projection
        // (restore); nulls in it delete fields that did not exist before.
        let patch = parse_patch(value.unwrap_or("{}")).map_err(Error::InvalidSpec)?;
        api.patch(&m.name, &params, &Patch::Merge(patch)).await?;
    }
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|b| String::from_utf8(b.0.clone()).ok())
}

/// Keeps the previous value of a sensitive target in the Cutover's rollback Secret.
pub async fn store_rollback_value(
    client: &kube::Client,
    ns: &str,
    secret_name: &str,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    key: &str,
    previous: Option<&str>,
) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let Some(previous) = previous else {
        // Nothing existed before: status records `existed: false`; rollback removes the key.
        return Ok(());
    };
    match api.get_opt(secret_name).await? {
        Some(_) => {
            api.patch(
                secret_name,
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {key: base64_encode(previous.as_bytes())}})),
            )
            .await?;
        }
        None => {
            let secret = Secret {
                metadata: kube::api::ObjectMeta {
                    name: Some(secret_name.to_string()),
                    namespace: Some(ns.to_string()),
                    owner_references: Some(vec![owner.clone()]),
                    labels: Some(BTreeMap::from([(
                        "app.kubernetes.io/managed-by".to_string(),
                        MANAGER.to_string(),
                    )])),
                    ..Default::default()
                },
                type_: Some("Opaque".into()),
                data: Some(BTreeMap::from([(
                    key.to_string(),
                    ByteString(previous.as_bytes().to_vec()),
                )])),
                ..Default::default()
            };
            api.create(&PostParams::default(), &secret).await?;
        }
    }
    Ok(())
}

/// Asks the API server whether the operator may do `verbs` on one object.
async fn allowed(
    client: &kube::Client,
    ns: &str,
    group: &str,
    resource: &str,
    name: &str,
    verbs: &[&str],
) -> Result<Result<(), String>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    for verb in verbs {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(ns.to_string()),
                    verb: Some(verb.to_string()),
                    group: Some(group.to_string()),
                    resource: Some(resource.to_string()),
                    name: (!name.is_empty()).then(|| name.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api.create(&PostParams::default(), &review).await?;
        if !answer.status.is_some_and(|s| s.allowed) {
            let what = if name.is_empty() {
                format!("{resource} in {ns}")
            } else {
                format!("{resource}/{name} in {ns}")
            };
            return Ok(Err(format!(
                "forbidden: the operator may not {verb} {what}; grant it with a Role (see docs/rbac.md)"
            )));
        }
    }
    Ok(Ok(()))
}

async fn resource(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
) -> std::result::Result<ApiResource, String> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, kind);
    kube::discovery::pinned_kind(client, &gvk)
        .await
        .map(|(ar, _)| ar)
        .map_err(|e| format!("{api_version} {kind} is not served by this cluster: {e}"))
}

/// Parses a merge patch given as JSON or YAML text; it must be an object.
pub fn parse_patch(text: &str) -> std::result::Result<Value, String> {
    let value: Value = serde_json::from_str(text)
        .or_else(|_| serde_saphyr::from_str(text).map_err(|e| e.to_string()))
        .map_err(|e| format!("spec.switch mergePatch.patch is neither JSON nor YAML: {e}"))?;
    if !value.is_object() {
        return Err("spec.switch mergePatch.patch must be an object".into());
    }
    Ok(value)
}

/// Compact JSON with sorted keys, so equal values compare equal as text.
pub fn canonical(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The current values of `object` at the paths the patch sets, in the patch's shape (null where
/// absent). Applying it as a merge patch restores exactly those paths.
pub fn project(object: &Value, patch: &Value) -> Value {
    match (object, patch) {
        (Value::Object(obj), Value::Object(p)) => Value::Object(
            p.iter()
                .map(|(k, pv)| {
                    let current = obj.get(k).unwrap_or(&Value::Null);
                    let v = if pv.is_object() && current.is_object() {
                        project(current, pv)
                    } else if pv.is_object() {
                        // The patch creates an object that is not there: remove it on restore.
                        Value::Null
                    } else {
                        current.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn has_secret_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| is_secret_key(k) || has_secret_key(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_has_the_patch_shape_with_current_values() {
        let object = json!({"spec": {"replicas": 3, "template": {"metadata": {"annotations": {"db": "polardb"}}}}});
        let patch = json!({"spec": {"template": {"metadata": {"annotations": {"db": "maxcompute", "new": "x"}}}}});
        let p = project(&object, &patch);
        assert_eq!(
            p,
            json!({"spec": {"template": {"metadata": {"annotations": {"db": "polardb", "new": null}}}}})
        );
    }

    #[test]
    fn an_applied_patch_projects_to_itself() {
        let patch = json!({"data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}});
        let object =
            json!({"data": {"a": "1", "b": "2"}, "metadata": {"labels": {"x": "y"}, "name": "n"}});
        assert_eq!(canonical(&project(&object, &patch)), canonical(&patch));
    }

    #[test]
    fn missing_objects_project_to_null_for_removal() {
        let patch = json!({"metadata": {"annotations": {"k": "v"}}});
        assert_eq!(
            project(&json!({"metadata": {}}), &patch),
            json!({"metadata": {"annotations": null}})
        );
    }

    #[test]
    fn patches_parse_from_json_or_yaml() {
        assert_eq!(parse_patch(r#"{"a":1}"#).unwrap(), json!({"a": 1}));
        assert_eq!(
            parse_patch("a:\n  b: c\n").unwrap(),
            json!({"a": {"b": "c"}})
        );
        assert!(parse_patch("[1,2]").is_err());
    }

    #[test]
    fn credential_looking_keys_are_sensitive() {
        assert!(has_secret_key(&json!({"data": {"DB_PASSWORD": "x"}})));
        assert!(!has_secret_key(&json!({"data": {"DSN_HOST": "x"}})));
    }
}
