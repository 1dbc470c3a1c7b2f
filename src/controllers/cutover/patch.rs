//! The patch a Cutover sends to set one target, built in full without I/O: which object, the
//! merge patch, and what the server's answer must read back as. `targets::send` only sends it
//! and compares.

use serde_json::{Value, json};

use super::targets::{label, parse_patch};
use crate::api::cutover::{SwitchTarget, WorkloadKind};

/// The object a set patches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    ConfigMap {
        name: String,
        key: String,
    },
    Secret {
        name: String,
        key: String,
    },
    Service(String),
    /// Any namespaced kind, found by discovery when sent.
    Other {
        api_version: String,
        kind: String,
        name: String,
    },
    /// The scale subresource of a workload.
    Scale(WorkloadKind, String),
}

/// What must read back in the server's answer.
#[derive(Clone, PartialEq, Eq)]
pub enum Expect {
    /// This value at the patched field (None: the key removed).
    Field(Option<String>),
    /// Every path the merge patch sets, as set.
    Projection,
}

/// One set, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct TargetPatch {
    pub object: Object,
    /// The JSON merge patch (for a scale, of the Scale subresource).
    pub patch: Value,
    pub expect: Expect,
    /// The target's label, for messages.
    pub label: String,
}

impl std::fmt::Debug for TargetPatch {
    // Values may be credentials: only the object is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TargetPatch({:?})", self.object)
    }
}

/// The patch that sets target `t` to `value` (None: remove the key). A value the target
/// cannot take (replicas that are not a number, a merge patch that is not an object) is an
/// answer: the step fails with that message.
pub fn build(t: &SwitchTarget, value: Option<&str>) -> Result<TargetPatch, String> {
    let label = label(t);
    let field = |object, patch| TargetPatch {
        object,
        patch,
        expect: Expect::Field(value.map(str::to_string)),
        label: label.clone(),
    };
    if let Some(c) = &t.config_map_key {
        Ok(field(
            Object::ConfigMap {
                name: c.name.clone(),
                key: c.key.clone(),
            },
            json!({"data": {&c.key: value}}),
        ))
    } else if let Some(s) = &t.secret_key {
        // `value` is already base64: the bytes go through unchanged.
        Ok(field(
            Object::Secret {
                name: s.name.clone(),
                key: s.key.clone(),
            },
            json!({"data": {&s.key: value}}),
        ))
    } else if let Some(s) = &t.service {
        Ok(field(
            Object::Service(s.name.clone()),
            json!({"spec": {"externalName": value}}),
        ))
    } else if let Some(m) = &t.merge_patch {
        // For a merge patch the "value" is the patch itself (set) or the saved projection
        // (restore); nulls in it delete fields that did not exist before.
        Ok(TargetPatch {
            object: Object::Other {
                api_version: m.api_version.clone(),
                kind: m.kind.clone(),
                name: m.name.clone(),
            },
            patch: parse_patch(value.unwrap_or("{}"))?,
            expect: Expect::Projection,
            label,
        })
    } else if let Some(s) = &t.scale {
        let replicas: i32 = value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{label}: replicas must be a number"))?;
        Ok(field(
            Object::Scale(s.kind, s.name.clone()),
            json!({"spec": {"replicas": replicas}}),
        ))
    } else {
        Err(format!("{label}: no target kind set"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cutover::{ConfigMapKeySwitch, MergePatchSwitch, ScaleTarget, SecretKeySwitch};

    #[test]
    fn each_target_kind_gets_its_patch_and_what_must_read_back() {
        let cm = SwitchTarget {
            config_map_key: Some(ConfigMapKeySwitch {
                name: "app".into(),
                key: "DB_HOST".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = build(&cm, Some("new.db")).unwrap();
        assert_eq!(
            p.object,
            Object::ConfigMap {
                name: "app".into(),
                key: "DB_HOST".into()
            }
        );
        assert_eq!(p.patch, json!({"data": {"DB_HOST": "new.db"}}));
        assert!(p.expect == Expect::Field(Some("new.db".into())));
        // Removing the key: a null in the merge patch, and nothing must read back.
        let p = build(&cm, None).unwrap();
        assert_eq!(p.patch, json!({"data": {"DB_HOST": null}}));
        assert!(p.expect == Expect::Field(None));

        let secret = SwitchTarget {
            secret_key: Some(SecretKeySwitch {
                name: "app-db".into(),
                key: "password".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = build(&secret, Some("UGw0bnRlZA==")).unwrap();
        assert_eq!(p.patch, json!({"data": {"password": "UGw0bnRlZA=="}}));
        assert!(
            !format!("{p:?}").contains("UGw0bnRlZA"),
            "values never show"
        );

        let scale = SwitchTarget {
            scale: Some(ScaleTarget {
                kind: WorkloadKind::Deployment,
                name: "writer".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = build(&scale, Some("0")).unwrap();
        assert_eq!(
            p.object,
            Object::Scale(WorkloadKind::Deployment, "writer".into())
        );
        assert_eq!(p.patch, json!({"spec": {"replicas": 0}}));
        assert_eq!(
            build(&scale, Some("two")).unwrap_err(),
            "Deployment/writer/replicas: replicas must be a number"
        );

        let merge = SwitchTarget {
            merge_patch: Some(MergePatchSwitch {
                api_version: "gateway.networking.k8s.io/v1".into(),
                kind: "HTTPRoute".into(),
                name: "shop".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = build(&merge, Some("spec:\n  hostnames: [new]\n")).unwrap();
        assert_eq!(p.patch, json!({"spec": {"hostnames": ["new"]}}));
        assert!(p.expect == Expect::Projection);
        assert!(
            build(&merge, Some("[1, 2]")).is_err(),
            "a merge patch is an object"
        );
        assert!(build(&SwitchTarget::default(), Some("x")).is_err());
    }
}
