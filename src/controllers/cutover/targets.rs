//! The Kubernetes objects a Cutover freezes and switches: read their current value, check the
//! operator may do everything the switch and its rollback need, set a value and check the
//! server's answer, keep a sensitive previous value in the rollback Secret. Only objects the
//! plan names are ever read or patched.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, ValidationDirective};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use super::decide::{Read, TargetObs};
use super::patch::{Expect, Object, TargetPatch};
use super::permissions::{Need, allowed};
use crate::aliyun::mask::is_secret_key;
use crate::api::common::MANAGER;
use crate::api::cutover::{SwitchTarget, WorkloadKind};
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
    } else if let Some(s) = &t.scale {
        format!("{:?}/{}/replicas", s.kind, s.name)
    } else {
        "invalid".to_string()
    }
}

/// The Cutover's rollback Secret, as read this reconcile.
// One per reconcile: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum RollbackSecret {
    Absent,
    Present(Secret),
    /// Could not be read (forbidden, ...), and why.
    Unknown(String),
}

/// Why setting a value did not work.
#[derive(Debug)]
pub enum SetError {
    /// The server refused, or did not keep, the value: retrying cannot help.
    Rejected(String),
    /// Retry later.
    Transient(Error),
}

impl From<kube::Error> for SetError {
    fn from(e: kube::Error) -> Self {
        match &e {
            kube::Error::Api(s)
                if matches!(s.code, 400 | 403 | 404 | 405 | 410 | 413 | 415 | 422) =>
            {
                SetError::Rejected(format!("{} ({})", s.message, s.code))
            }
            _ => SetError::Transient(Error::Kube(e)),
        }
    }
}

impl From<Error> for SetError {
    fn from(e: Error) -> Self {
        SetError::Transient(e)
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A Secret key's value as the decisions see it: base64 of the bytes, so any value (binary
/// included) compares and restores exactly.
fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| base64_encode(&b.0))
}

/// The bytes the rollback Secret keeps for a previous `value` of target `t`.
pub fn kept_bytes(t: &SwitchTarget, value: &str) -> Vec<u8> {
    match &t.secret_key {
        Some(_) => base64_decode(value).unwrap_or_default(),
        None => value.as_bytes().to_vec(),
    }
}

/// What the rollback Secret keeps under `key` for target `t`.
fn kept(t: &SwitchTarget, rollback: &RollbackSecret, key: &str) -> Read {
    match rollback {
        RollbackSecret::Absent => Read::Absent,
        RollbackSecret::Unknown(why) => Read::Unknown(why.clone()),
        RollbackSecret::Present(secret) => match secret.data.as_ref().and_then(|d| d.get(key)) {
            None => Read::Absent,
            Some(bytes) if t.secret_key.is_some() => Read::Value(base64_encode(&bytes.0)),
            Some(bytes) => String::from_utf8(bytes.0.clone())
                .map(Read::Value)
                .unwrap_or_else(|_| Read::Unknown("the kept value is not UTF-8".into())),
        },
    }
}

/// 404 → None; 403 → the reason; other errors → Err.
async fn read<K>(api: &Api<K>, name: &str) -> Result<std::result::Result<Option<K>, String>>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.get_opt(name).await {
        Ok(found) => Ok(Ok(found)),
        Err(kube::Error::Api(s)) if s.code == 403 => Ok(Err(format!("{} (403)", s.message))),
        Err(e) => Err(e.into()),
    }
}

/// Reads one target after checking every permission its switch and rollback need. Without
/// permission nothing is read: the value is Unknown and the targets gate says what to grant.
pub async fn observe(
    client: &kube::Client,
    ns: &str,
    t: &SwitchTarget,
    rollback: &RollbackSecret,
    rollback_name: &str,
    key: &str,
) -> Result<TargetObs> {
    let mut obs = TargetObs {
        target: label(t),
        permitted: Ok(()),
        current: Read::Unknown("not read".into()),
        desired: Err("not resolved".into()),
        sensitive: false,
        kept: Read::Absent,
        settled: None,
    };
    let mut needs: Vec<Need> = Vec::new();
    if let Some(c) = &t.config_map_key {
        obs.desired = Ok(c.value.clone());
        // A ConfigMap key named like a credential is treated as one.
        obs.sensitive = is_secret_key(&c.key);
        needs.push(Need::object("", "configmaps", &c.name, &["get", "patch"]));
    } else if let Some(s) = &t.secret_key {
        obs.sensitive = true;
        needs.push(Need::object("", "secrets", &s.name, &["get", "patch"]));
        needs.push(Need::object("", "secrets", &s.value_from.name, &["get"]));
    } else if let Some(s) = &t.service {
        obs.desired = Ok(s.external_name.clone());
        needs.push(Need::object("", "services", &s.name, &["get", "patch"]));
    } else if let Some(m) = &t.merge_patch {
        let patch = parse_patch(&m.patch).map_err(Error::InvalidSpec)?;
        obs.desired = Ok(canonical(&patch));
        obs.sensitive = has_secret_key(&patch);
        match resource(client, &m.api_version, &m.kind).await {
            Ok(ar) => needs.push(Need::object(
                &ar.group,
                &ar.plural,
                &m.name,
                &["get", "patch"],
            )),
            Err(e) => obs.permitted = Err(e),
        }
    } else if let Some(s) = &t.scale {
        obs.desired = Ok(s.replicas.to_string());
        let plural = workload_plural(s.kind);
        needs.push(Need::object("apps", plural, &s.name, &["get"]));
        needs.push(Need::subresource(
            "apps",
            plural,
            "scale",
            &s.name,
            &["patch"],
        ));
    }
    if obs.sensitive {
        // Keeping the previous value: create the rollback Secret (once), then write and read it.
        if matches!(rollback, RollbackSecret::Absent) {
            needs.push(Need::namespace("", "secrets", &["create"]));
        }
        needs.push(Need::object(
            "",
            "secrets",
            rollback_name,
            &["get", "patch"],
        ));
    }
    if obs.permitted.is_ok() {
        obs.permitted = allowed(client, ns, &needs).await?.map_err(|e| {
            if e.contains(rollback_name) || e.contains("create secrets") {
                format!("{e} (needed to keep the previous value for rollback)")
            } else {
                e
            }
        });
    }
    if let Err(why) = &obs.permitted {
        obs.current = Read::Unknown(why.clone());
        return Ok(obs);
    }
    read_current(client, ns, t, &mut obs).await?;
    if obs.sensitive {
        obs.kept = kept(t, rollback, key);
    }
    Ok(obs)
}

fn workload_plural(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "deployments",
        WorkloadKind::StatefulSet => "statefulsets",
    }
}

fn missing(kind: &str, ns: &str, name: &str) -> Read {
    Read::Unknown(format!("{kind} {ns}/{name} not found"))
}

async fn read_current(
    client: &kube::Client,
    ns: &str,
    t: &SwitchTarget,
    obs: &mut TargetObs,
) -> Result<()> {
    if let Some(c) = &t.config_map_key {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        obs.current = match read(&api, &c.name).await? {
            Err(why) => Read::Unknown(why),
            Ok(None) => missing("ConfigMap", ns, &c.name),
            Ok(Some(cm)) => match cm.data.and_then(|d| d.get(&c.key).cloned()) {
                Some(v) => Read::Value(v),
                None => Read::Absent,
            },
        };
    } else if let Some(s) = &t.secret_key {
        let api: Api<Secret> = Api::namespaced(client.clone(), ns);
        obs.current = match read(&api, &s.name).await? {
            Err(why) => Read::Unknown(why),
            Ok(None) => missing("Secret", ns, &s.name),
            Ok(Some(sec)) => secret_value(&sec, &s.key).map_or(Read::Absent, Read::Value),
        };
        obs.desired = match read(&api, &s.value_from.name).await? {
            Err(why) => Err(why),
            Ok(Some(from)) => secret_value(&from, &s.value_from.key).ok_or_else(|| {
                format!(
                    "Secret {}/{} has no key {:?}",
                    ns, s.value_from.name, s.value_from.key
                )
            }),
            Ok(None) => Err(format!(
                "Secret {}/{} (valueFrom) not found",
                ns, s.value_from.name
            )),
        };
    } else if let Some(s) = &t.service {
        let api: Api<Service> = Api::namespaced(client.clone(), ns);
        obs.current = match read(&api, &s.name).await? {
            Err(why) => Read::Unknown(why),
            Ok(None) => missing("Service", ns, &s.name),
            Ok(Some(svc)) => {
                let spec = svc.spec.unwrap_or_default();
                if spec.type_.as_deref() != Some("ExternalName") {
                    obs.permitted = Err(format!(
                        "Service {} is of type {}, not ExternalName",
                        s.name,
                        spec.type_.unwrap_or_default()
                    ));
                }
                spec.external_name.map_or(Read::Absent, Read::Value)
            }
        };
    } else if let Some(m) = &t.merge_patch {
        let patch = parse_patch(&m.patch).map_err(Error::InvalidSpec)?;
        let ar = resource(client, &m.api_version, &m.kind)
            .await
            .map_err(Error::Dependency)?;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        obs.current = match read(&api, &m.name).await? {
            Err(why) => Read::Unknown(why),
            Ok(None) => missing(&m.kind, ns, &m.name),
            Ok(Some(object)) => {
                let value = serde_json::to_value(&object).unwrap_or(Value::Null);
                Read::Value(canonical(&project(&value, &patch)))
            }
        };
    } else if let Some(s) = &t.scale {
        let (current, settled) = match s.kind {
            WorkloadKind::Deployment => {
                let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
                workload(
                    read(&api, &s.name).await?,
                    ns,
                    "Deployment",
                    &s.name,
                    s.replicas,
                    |d| {
                        let st = d.status.clone().unwrap_or_default();
                        (
                            d.spec.as_ref().and_then(|x| x.replicas),
                            st.observed_generation,
                            st.replicas,
                            st.terminating_replicas,
                        )
                    },
                )
            }
            WorkloadKind::StatefulSet => {
                let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
                workload(
                    read(&api, &s.name).await?,
                    ns,
                    "StatefulSet",
                    &s.name,
                    s.replicas,
                    |d| {
                        let st = d.status.clone().unwrap_or_default();
                        (
                            d.spec.as_ref().and_then(|x| x.replicas),
                            st.observed_generation,
                            Some(st.replicas),
                            None,
                        )
                    },
                )
            }
        };
        obs.current = current;
        obs.settled = settled;
    }
    Ok(())
}

/// A workload's replicas, and whether it settled at `wanted` or below: its controller saw the
/// latest spec and no more pods than asked are left (terminating ones included where the
/// server reports them).
fn workload<K: kube::Resource>(
    found: std::result::Result<Option<K>, String>,
    ns: &str,
    kind: &str,
    name: &str,
    wanted: i32,
    facts: impl Fn(&K) -> (Option<i32>, Option<i64>, Option<i32>, Option<i32>),
) -> (Read, Option<bool>) {
    match found {
        Err(why) => (Read::Unknown(why), None),
        Ok(None) => (missing(kind, ns, name), None),
        Ok(Some(w)) => {
            let (spec, observed, running, terminating) = facts(&w);
            let generation = w.meta().generation;
            let seen = match (observed, generation) {
                (Some(o), Some(g)) => o >= g,
                _ => false,
            };
            let settled = seen && running.unwrap_or(0) <= wanted && terminating.unwrap_or(0) == 0;
            // The API server defaults replicas to 1.
            (Read::Value(spec.unwrap_or(1).to_string()), Some(settled))
        }
    }
}

fn strict() -> PatchParams {
    PatchParams {
        field_validation: Some(ValidationDirective::Strict),
        ..PatchParams::default()
    }
}

/// What the server kept, compared with what was sent.
fn kept_as_sent(
    label: &str,
    sent: Option<&str>,
    answer: Option<String>,
) -> std::result::Result<(), SetError> {
    if answer.as_deref() == sent {
        Ok(())
    } else {
        Err(SetError::Rejected(format!(
            "the server's answer does not read back as set for {label}: the value was not kept (a webhook or defaulting changed it?)"
        )))
    }
}

/// Sends a built patch and checks that the server's answer reads back as set. Unknown fields
/// are refused (strict field validation), never silently dropped.
pub async fn send(
    client: &kube::Client,
    ns: &str,
    p: &TargetPatch,
) -> std::result::Result<(), SetError> {
    let patch = Patch::Merge(&p.patch);
    let answer: Option<String> = match &p.object {
        Object::ConfigMap { name, key } => {
            let cm = Api::<ConfigMap>::namespaced(client.clone(), ns)
                .patch(name, &strict(), &patch)
                .await?;
            cm.data.and_then(|d| d.get(key).cloned())
        }
        Object::Secret { name, key } => {
            let sec = Api::<Secret>::namespaced(client.clone(), ns)
                .patch(name, &strict(), &patch)
                .await?;
            secret_value(&sec, key)
        }
        Object::Service(name) => {
            let svc = Api::<Service>::namespaced(client.clone(), ns)
                .patch(name, &strict(), &patch)
                .await?;
            svc.spec.and_then(|x| x.external_name)
        }
        Object::Other {
            api_version,
            kind,
            name,
        } => {
            let ar = resource(client, api_version, kind)
                .await
                .map_err(|e| SetError::Transient(Error::Dependency(e)))?;
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            let answer = api.patch(name, &strict(), &patch).await?;
            let answer = serde_json::to_value(&answer).unwrap_or(Value::Null);
            let kept = project(&answer, &p.patch);
            return if kept == p.patch {
                Ok(())
            } else {
                Err(SetError::Rejected(format!(
                    "the server did not keep {} of the merge patch on {}",
                    differing_paths(&p.patch, &kept, "").join(", "),
                    p.label
                )))
            };
        }
        Object::Scale(kind, name) => {
            let scale = match kind {
                WorkloadKind::Deployment => {
                    Api::<Deployment>::namespaced(client.clone(), ns)
                        .patch_scale(name, &PatchParams::default(), &patch)
                        .await?
                }
                WorkloadKind::StatefulSet => {
                    Api::<StatefulSet>::namespaced(client.clone(), ns)
                        .patch_scale(name, &PatchParams::default(), &patch)
                        .await?
                }
            };
            // ScaleSpec.replicas is omitted when 0 (omitempty).
            Some(scale.spec.and_then(|x| x.replicas).unwrap_or(0).to_string())
        }
    };
    let Expect::Field(sent) = &p.expect else {
        return Ok(());
    };
    kept_as_sent(&p.label, sent.as_deref(), answer)
}

/// Keeps `bytes` under `key` in the Cutover's rollback Secret (created owned by the Cutover).
pub async fn keep(
    client: &kube::Client,
    ns: &str,
    secret_name: &str,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    key: &str,
    bytes: &[u8],
) -> std::result::Result<(), SetError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    match api.get_opt(secret_name).await? {
        Some(_) => {
            api.patch(
                secret_name,
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {key: base64_encode(bytes)}})),
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
                    ByteString(bytes.to_vec()),
                )])),
                ..Default::default()
            };
            match api.create(&PostParams::default(), &secret).await {
                // Created meanwhile by another step's keep: write into it next time.
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Err(SetError::Transient(Error::Dependency(format!(
                        "the rollback Secret {secret_name} was created meanwhile; retrying"
                    ))));
                }
                other => {
                    other?;
                }
            }
        }
    }
    Ok(())
}

/// Replaces every occurrence of `values` (and of their base64 and decoded forms) in `text`:
/// an API server's message may echo what was sent.
pub fn scrub(text: &str, values: &[&str]) -> String {
    let mut out = text.to_string();
    for v in values.iter().filter(|v| v.len() >= 3) {
        let mut forms = vec![v.to_string(), base64_encode(v.as_bytes())];
        if let Some(decoded) = base64_decode(v).and_then(|b| String::from_utf8(b).ok()) {
            forms.push(decoded);
        }
        for f in forms.iter().filter(|f| f.len() >= 3) {
            out = out.replace(f.as_str(), "********");
        }
    }
    out
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

/// The paths where `kept` differs from `sent` (names only: values may be sensitive).
fn differing_paths(sent: &Value, kept: &Value, prefix: &str) -> Vec<String> {
    match (sent, kept) {
        (Value::Object(s), Value::Object(k)) => s
            .iter()
            .flat_map(|(key, sv)| {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                differing_paths(sv, k.get(key).unwrap_or(&Value::Null), &path)
            })
            .collect(),
        (s, k) if s == k => Vec::new(),
        _ => vec![if prefix.is_empty() {
            "the object".into()
        } else {
            prefix.to_string()
        }],
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
    fn a_dropped_field_is_named_not_its_value() {
        let patch = json!({"data": {"k": "new"}, "notAField": "secret-ish"});
        let answer = json!({"data": {"k": "new"}, "metadata": {"name": "x"}});
        let kept = project(&answer, &patch);
        assert_ne!(kept, patch);
        assert_eq!(differing_paths(&patch, &kept, ""), ["notAField"]);
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

    #[test]
    fn secret_values_round_trip_byte_for_byte() {
        let t = SwitchTarget {
            secret_key: Some(Default::default()),
            ..Default::default()
        };
        let binary = [0u8, 159, 146, 150, b'x'];
        let value = base64_encode(&binary);
        assert_eq!(kept_bytes(&t, &value), binary);
        let mut data = BTreeMap::new();
        data.insert("target-0".to_string(), ByteString(binary.to_vec()));
        let secret = Secret {
            data: Some(data),
            ..Default::default()
        };
        assert_eq!(
            kept(&t, &RollbackSecret::Present(secret), "target-0"),
            Read::Value(value)
        );
        let plain = SwitchTarget::default();
        assert_eq!(kept_bytes(&plain, ""), Vec::<u8>::new());
    }

    #[test]
    fn scrubbing_hides_values_in_every_form() {
        let secret = "s3cr3t-pass";
        let b64 = base64_encode(secret.as_bytes());
        let text = format!("invalid value \"{secret}\" and {b64}");
        let out = scrub(&text, &[&b64]);
        assert!(!out.contains(secret) && !out.contains(&b64), "{out}");
    }
}
