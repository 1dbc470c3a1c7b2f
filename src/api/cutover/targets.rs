//! What a Cutover patches: switch and freeze targets.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One object to patch (a switch or a freeze target). Set exactly one of the five kinds.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.configMapKey), has(self.secretKey), has(self.service), has(self.mergePatch), has(self.scale)].filter(x, x).size() == 1").message("set exactly one of configMapKey, secretKey, service, mergePatch, scale"))]
#[serde(rename_all = "camelCase")]
pub struct SwitchTarget {
    /// Set one key of a ConfigMap, e.g. the application's DSN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key: Option<ConfigMapKeySwitch>,
    /// Set one key of a Secret from a key of another Secret (values are never inline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<SecretKeySwitch>,
    /// Point a Service of type ExternalName at another host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSwitch>,
    /// JSON merge patch of any namespaced object (not Secrets: use secretKey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_patch: Option<MergePatchSwitch>,
    /// Set the replicas of a Deployment or StatefulSet (through its scale subresource), e.g.
    /// scale the writer to 0 in `freeze`. As a freeze target it is in place once the workload
    /// controller has seen the change and no more replicas than asked are left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleTarget>,
}

/// Replicas of a workload.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTarget {
    /// Deployment or StatefulSet (apps/v1).
    pub kind: WorkloadKind,
    /// Name (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Replicas to set. Default 0.
    #[serde(default)]
    #[schemars(range(min = 0, max = 10000))]
    pub replicas: i32,
}

/// Workloads a scale target can address.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum WorkloadKind {
    #[default]
    Deployment,
    StatefulSet,
}

/// ConfigMap key switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeySwitch {
    /// ConfigMap name (same namespace).
    pub name: String,
    /// Key to set.
    pub key: String,
    /// New value.
    pub value: String,
}

/// Secret key switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySwitch {
    /// Secret to change (same namespace).
    pub name: String,
    /// Key to set.
    pub key: String,
    /// Where the new value comes from.
    pub value_from: crate::api::common::SecretKeyRef,
}

/// Service switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSwitch {
    /// Service name (same namespace, type ExternalName).
    pub name: String,
    /// New `spec.externalName`.
    #[schemars(length(min = 1, max = 253))]
    pub external_name: String,
}

/// Merge-patch switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("self.kind != 'Secret'").message("use secretKey to switch Secret values"))]
#[serde(rename_all = "camelCase")]
pub struct MergePatchSwitch {
    /// e.g. `apps/v1`.
    pub api_version: String,
    /// e.g. `Deployment`.
    pub kind: String,
    /// Object name (same namespace).
    pub name: String,
    /// The JSON merge patch to apply, as JSON or YAML text, e.g.
    /// `{"spec":{"template":{"metadata":{"annotations":{"db":"maxcompute"}}}}}`. Kept as text so
    /// the size stays bounded (the switch list is compared by CEL after switching starts).
    #[schemars(length(min = 2, max = 16384))]
    pub patch: String,
}
