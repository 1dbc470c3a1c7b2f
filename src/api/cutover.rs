//! `Cutover`: the gated, ordered and reversible switch of an application to the new database.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Switches an application from the source to the target database only when every gate says
/// go: replication lag below a threshold for a sustained window, verification passed, a
/// verified backup attested, approval given and the maintenance window open. Steps run in the
/// order data first, verify, flip configuration last, and every switched object can be rolled
/// back to its saved value.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "migration.aliyun-operator.dev",
    version = "v1alpha1",
    kind = "Cutover",
    namespaced,
    doc = "Gated, ordered and reversible switch of an application to the migrated database.",
    status = "CutoverStatus",
    shortname = "cuto",
    category = "migration",
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Gates", type_ = "string", json_path = ".status.gatesSummary"),
    printcolumn(name = "Lag", type_ = "string", json_path = ".status.lag"),
    printcolumn(name = "Reason", type_ = "string", priority = 1, json_path = r#".status.conditions[?(@.type=="Ready")].reason"#),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(oldSelf.status) || !has(oldSelf.status.switchStartedAt) || (self.spec.switch == oldSelf.spec.switch && self.spec.migrations == oldSelf.spec.migrations)").message("spec.switch and spec.migrations cannot change once switching has started (status.switchStartedAt); roll back and create a new Cutover instead"),
)]
#[serde(rename_all = "camelCase")]
pub struct CutoverSpec {
    /// The migrations that must be in place: DtsMigrations are gated on lag (and stopped before
    /// the switch), MmsJobs on verification.
    #[schemars(length(min = 1, max = 50))]
    pub migrations: Vec<MigrationRef>,
    /// Go/no-go criteria.
    #[serde(default)]
    pub gates: Gates,
    /// Kubernetes objects to patch, in order, so that the application uses the new database.
    #[schemars(length(min = 1, max = 50))]
    pub switch: Vec<SwitchTarget>,
    /// Stop DTS replication (StopDtsJob) of every referenced DtsMigration before switching, so
    /// that no failed task can resume later and overwrite the destination. Default true.
    #[serde(default = "yes")]
    pub stop_replication: bool,
    /// Evaluate every gate and write the ordered plan to status without acting.
    #[serde(default)]
    pub dry_run: bool,
    /// What a failed gate (not merely one still waiting) does: `Pause` (wait for a human,
    /// default) or `Abort`.
    #[serde(default)]
    pub on_gate_failure: FailurePolicy,
    /// Give up waiting for the gates after this many seconds from the start, applying
    /// `onGateFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub progress_deadline_seconds: Option<i64>,
    /// Approval of the switch (when `gates.requireApproval`). The annotation
    /// `migration.aliyun-operator.dev/approved-by` works too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// `true` before the switch: stop the cutover with nothing changed.
    #[serde(default)]
    pub abort: bool,
    /// `true` after the switch: restore every switched object to its saved value.
    #[serde(default)]
    pub rollback: bool,
}

fn yes() -> bool {
    true
}

/// A migration the cutover depends on.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationRef {
    /// DtsMigration or MmsJob.
    pub kind: MigrationKind,
    /// Name in the same namespace.
    pub name: String,
}

/// Kinds a Cutover can depend on.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MigrationKind {
    DtsMigration,
    MmsJob,
}

/// What to do on a failed gate or an exceeded deadline.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum FailurePolicy {
    /// Stop in phase Paused until a human resumes (annotation resume-requested-at) or aborts.
    #[default]
    Pause,
    /// Stop in phase Aborted; nothing was changed.
    Abort,
}

/// The go/no-go criteria.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Gates {
    /// Replication lag of every DtsMigration must stay below this many seconds. Default 5.
    #[serde(default = "default_max_lag")]
    #[x_kube(validation = Rule::new("self > 0.0").message("maxLagSeconds must be positive"))]
    pub max_lag_seconds: f64,
    /// ... for at least this many seconds of consecutive fresh samples. Default 60.
    #[serde(default = "default_stable_for")]
    #[schemars(range(min = 0))]
    pub stable_for_seconds: i64,
    /// ... and at least this many consecutive samples. Default 3.
    #[serde(default = "default_min_samples")]
    #[schemars(range(min = 1, max = 30))]
    pub min_samples: i64,
    /// A lag sample older than this many seconds is stale and counts as failing. Default 60.
    #[serde(default = "default_max_sample_age")]
    #[schemars(range(min = 1))]
    pub max_sample_age_seconds: i64,
    /// Require every MmsJob to be Verified and every DtsMigration with data verification
    /// configured to have passed it. Default true.
    #[serde(default = "yes")]
    pub require_verification: bool,
    /// Require a verified-backup attestation (`backup`). Default true: without a tested
    /// backup there is no rollback path for data.
    #[serde(default = "yes")]
    pub require_backup: bool,
    /// Attestation that a backup of the source was taken and verified (restored) by a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupAttestation>,
    /// Require an approval (`spec.approval` or the approved-by annotation). Default false.
    #[serde(default)]
    pub require_approval: bool,
    /// Only switch inside this maintenance window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<MaintenanceWindow>,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            max_lag_seconds: default_max_lag(),
            stable_for_seconds: default_stable_for(),
            min_samples: default_min_samples(),
            max_sample_age_seconds: default_max_sample_age(),
            require_verification: true,
            require_backup: true,
            backup: None,
            require_approval: false,
            window: None,
        }
    }
}

fn default_max_lag() -> f64 {
    5.0
}
fn default_stable_for() -> i64 {
    60
}
fn default_min_samples() -> i64 {
    3
}
fn default_max_sample_age() -> i64 {
    60
}

/// A person's statement that the backup exists and was verified.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupAttestation {
    /// Who verified the backup.
    #[schemars(length(min = 1))]
    pub verified_by: String,
    /// When (RFC 3339), e.g. `2026-11-20T10:00:00Z`.
    pub verified_at: String,
    /// What proves it, e.g. `snapshot rds-snap-123 restored to staging, row counts match`.
    #[schemars(length(min = 1))]
    pub evidence: String,
    /// The attestation stops counting when older than this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_age_seconds: Option<i64>,
}

/// Approval of the switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// Who approves.
    #[schemars(length(min = 1))]
    pub approved_by: String,
    /// When (free text, e.g. RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// Why, ticket number, etc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A recurring maintenance window.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceWindow {
    /// Start time of day, `HH:MM` (24 h), in `timeZone`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: String,
    /// Length of the window in minutes.
    #[schemars(range(min = 1, max = 10080))]
    pub duration_minutes: i64,
    /// Days on which the window opens; empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Weekday>,
    /// IANA time zone, e.g. `Asia/Shanghai`. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Days of the week.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// One object to patch. Set exactly one of the four kinds.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.configMapKey), has(self.secretKey), has(self.service), has(self.mergePatch)].filter(x, x).size() == 1").message("set exactly one of configMapKey, secretKey, service, mergePatch"))]
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
    pub value_from: super::common::SecretKeyRef,
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

/// Observed state of a Cutover.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CutoverStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (completed), `GatesPassed` (go), `Switched`, `RolledBack`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Where the cutover stands (see CutoverPhase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<CutoverPhase>,
    /// The go/no-go report: one entry per criterion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateStatus>,
    /// `passed/total` gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates_summary: Option<String>,
    /// Highest current lag over the DtsMigrations, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<String>,
    /// The ordered steps (the plan before switching, the record afterwards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepStatus>,
    /// Previous values of switched objects, saved before each patch; rollback restores them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saved: Vec<SavedValue>,
    /// Outcome of a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackStatus>,
    /// Who approved and when (from spec.approval or the annotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// When the cutover first reconciled (progress deadline counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When switching began (after this, spec.switch is frozen and abort becomes rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_started_at: Option<Time>,
    /// When the cutover completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// Why the cutover is paused, aborted or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last resume-requested-at annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resume_requested_at: Option<String>,
    /// The last `reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Cutover phases.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CutoverPhase {
    Pending,
    /// Waiting for every gate to pass.
    Gating,
    /// Gates pass; waiting for approval.
    AwaitingApproval,
    /// Gates pass; waiting for the maintenance window.
    WaitingForWindow,
    /// Dry run: gates evaluated, plan written, nothing done.
    DryRun,
    /// A gate failed or the deadline passed with onGateFailure Pause; waiting for a human.
    Paused,
    /// Stopping replication and patching objects.
    Switching,
    /// Reading switched objects back.
    Verifying,
    Completed,
    RollingBack,
    RolledBack,
    /// Stopped before the switch; nothing was changed.
    Aborted,
    /// A step failed; see steps and roll back.
    Failed,
}

/// One go/no-go criterion.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    /// e.g. `lag/orders-dts`, `verification/orders-mms`, `backup`, `approval`, `window`.
    pub name: String,
    /// Whether the criterion is met now.
    pub passed: bool,
    /// What was observed, e.g. `3.2s over 7 samples in 75s`.
    pub observed: String,
    /// What is required, e.g. `< 5s for 60s and 3 samples`.
    pub threshold: String,
    /// `Measured` (read from a system) or `Attested` (a person's statement).
    pub evidence: String,
    /// Since when the criterion has had its current result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
    /// True when the criterion cannot pass by waiting (e.g. verification failed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Lag gates: consecutive fresh samples below the threshold in the current run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<i64>,
    /// Lag gates: the newest lag sample considered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sample_at: Option<Time>,
}

/// One step of the switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// e.g. `final-lag-check`, `stop-replication/orders-dts`, `switch/ConfigMap/app-db/DSN`.
    pub name: String,
    /// Planned, Running, Succeeded, Failed, Skipped, RolledBack.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// What happened.
    #[serde(default)]
    pub message: String,
}

/// A value saved before switching.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedValue {
    /// `ConfigMap/app-db/DSN`, `Secret/app-db/password`, `Service/db`, `apps/v1/Deployment/app`.
    pub target: String,
    /// Whether the key/field existed before the switch (rollback removes it if not).
    pub existed: bool,
    /// The previous value, when it is not sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For sensitive values: the Secret (owned by this Cutover) and key holding the previous
    /// value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_in: Option<String>,
    /// SHA-256 (first 16 hex digits) of the value that was set, to verify the switch.
    #[serde(default)]
    pub set_digest: String,
}

/// Outcome of a rollback.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackStatus {
    /// Targets restored to their saved value.
    #[serde(default)]
    pub restored: Vec<String>,
    /// Targets that could not be restored, with the reason.
    #[serde(default)]
    pub failed: Vec<String>,
    /// Notes, e.g. that stopped DTS replication cannot be restarted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}
