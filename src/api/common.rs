//! Types and constants shared by the four kinds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of every kind served by this operator.
pub const GROUP: &str = "migration.aliyun-operator.dev";
/// The one served version.
pub const VERSION: &str = "v1alpha1";
/// Field manager used for server-side apply of status and for events.
pub const MANAGER: &str = "aliyun-migration-operator";
/// Finalizer that guards cloud clean-up (MmsJob, DtsMigration) and rollback bookkeeping (Cutover).
pub const FINALIZER: &str = "migration.aliyun-operator.dev/cleanup";

/// Annotations that steer reconciliation without touching `spec` (so Git stays the owner of spec).
pub mod annotations {
    /// `"true"`: stop reconciling this object; status says so (`Ready=Unknown`, reason `Paused`).
    pub const PAUSED: &str = "migration.aliyun-operator.dev/paused";
    /// Any new value: reconcile now; the handled value is echoed in `status.lastHandledReconcileAt`.
    pub const RECONCILE_REQUESTED_AT: &str = "migration.aliyun-operator.dev/reconcile-requested-at";
    /// Take over an existing cloud object by id instead of creating one.
    pub const ADOPT_ID: &str = "migration.aliyun-operator.dev/adopt-id";
    /// MmsJob with `spec.schedule`: follow this existing MMS timer instead of creating one.
    pub const ADOPT_TIMER_ID: &str = "migration.aliyun-operator.dev/adopt-timer-id";
    /// MmsJob with `spec.schedule`: any new value runs one round now (TriggerMmsTimer); the
    /// handled value is echoed in `status.rounds.request.requestedAt`. A Cutover sets it after
    /// its freeze.
    pub const ROUND_REQUESTED_AT: &str = "migration.aliyun-operator.dev/round-requested-at";
    /// Cutover: who approves the switch (alternative to `spec.approval`).
    pub const APPROVED_BY: &str = "migration.aliyun-operator.dev/approved-by";
    /// Cutover: request a rollback of switched objects (any non-empty value).
    pub const ROLLBACK_REQUESTED_AT: &str = "migration.aliyun-operator.dev/rollback-requested-at";
    /// Cutover: request an abort before the switch (any non-empty value).
    pub const ABORT_REQUESTED_AT: &str = "migration.aliyun-operator.dev/abort-requested-at";
    /// Cutover: resume a cutover paused by a gate failure or deadline (any new value).
    pub const RESUME_REQUESTED_AT: &str = "migration.aliyun-operator.dev/resume-requested-at";
}

/// Name of the Secret used for cloud credentials when a resource sets no `spec.credentials`.
pub const DEFAULT_CREDENTIALS_SECRET: &str = "alibaba-cloud-credentials";

/// Where the operator obtains Alibaba Cloud credentials for a resource.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CredentialSource {
    /// An AccessKey pair (and optional STS token) from a Secret in the resource's namespace.
    #[default]
    Secret,
    /// RAM Roles for Service Accounts on ACK: the pod's projected OIDC token is exchanged with
    /// STS `AssumeRoleWithOIDC` (`ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE` in the operator's environment).
    #[serde(rename = "RRSA")]
    Rrsa,
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and optional
    /// `ALIBABA_CLOUD_SECURITY_TOKEN` in the operator's environment.
    Environment,
}

/// Credentials for the Alibaba Cloud APIs (MaxCompute MMS, DTS). Never inline: only references.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudCredentials {
    /// Where the credentials come from. Default `Secret`.
    #[serde(default)]
    pub source: CredentialSource,
    /// For `source: Secret`: the Secret in this namespace holding the AccessKey pair. When
    /// omitted, the Secret `alibaba-cloud-credentials` in this namespace is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AccessKeySecretRef>,
    /// Optional RAM role ARN to assume (STS `AssumeRole`) with the base credentials, e.g.
    /// `acs:ram::1234567890:role/mms-operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^acs:ram::[0-9]+:role/.+$"), length(max = 128))]
    pub role_arn: Option<String>,
}

/// A Secret holding an AccessKey pair; the key names inside the Secret can be overridden.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeySecretRef {
    /// Name of the Secret (same namespace as the resource).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key holding the AccessKey ID. Default `accessKeyId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub access_key_id_key: Option<String>,
    /// Key holding the AccessKey secret. Default `accessKeySecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub access_key_secret_key: Option<String>,
    /// Key holding an STS security token, if the pair is temporary. Default `securityToken`
    /// (read only when present in the Secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub security_token_key: Option<String>,
}

impl AccessKeySecretRef {
    pub fn id_key(&self) -> &str {
        self.access_key_id_key.as_deref().unwrap_or("accessKeyId")
    }
    pub fn secret_key(&self) -> &str {
        self.access_key_secret_key
            .as_deref()
            .unwrap_or("accessKeySecret")
    }
    pub fn token_key(&self) -> &str {
        self.security_token_key
            .as_deref()
            .unwrap_or("securityToken")
    }
}

/// One key of a Secret in the resource's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret (same namespace as the resource).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// What happens to the cloud object when the Kubernetes resource is deleted.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Leave the cloud object as it is (default: deleting a manifest never destroys data or a
    /// running replication by accident).
    #[default]
    Retain,
    /// Delete the cloud object (MMS job) or release it (DTS instance) before the resource goes.
    Delete,
}

/// How much of the cloud object the operator may change.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, change, stop and (by `deletionPolicy`) delete it.
    #[default]
    Manage,
    /// Only read it: status, lag and verification of an object made elsewhere (the console),
    /// named by the `migration.aliyun-operator.dev/adopt-id` annotation. No call that changes
    /// anything is ever sent; deleting the resource leaves the cloud object alone.
    ObserveOnly,
}

/// Where a verification of migrated data stands.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum VerificationState {
    /// Not finished, or not read yet.
    #[default]
    Pending,
    /// Every check finished and found no difference.
    Passed,
    /// A check found a difference or could not run.
    Failed,
}

impl std::fmt::Display for VerificationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pending => "Pending",
            Self::Passed => "Passed",
            Self::Failed => "Failed",
        })
    }
}

/// A reference to another resource of this operator in the same namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectRef {
    /// Name of the referenced resource (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Alibaba Cloud region id pattern, e.g. `cn-hangzhou`, `ap-southeast-1`.
pub const REGION_PATTERN: &str = r"^[a-z]{2,}(-[a-z0-9]+)+$";
