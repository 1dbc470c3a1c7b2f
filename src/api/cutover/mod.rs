//! `Cutover`: the gated, ordered and reversible switch of an application to the new database.
//!
//! Clocks: every time in status (`frozenAt`, step and gate times, `switchStartedAt`) and every
//! seconds field of the spec is measured on the operator's clock, except DTS checkpoints, which
//! are the source database's time as DTS reports it (see `drain`).

mod status;
mod targets;

pub use status::*;
pub use targets::*;

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
    validation = Rule::new(super::cel::immutable_once_set("switchStartedAt", &["switch", "migrations", "freeze"])).message("spec.switch, spec.freeze and spec.migrations cannot change once switching has started (status.switchStartedAt); roll back and create a new Cutover instead"),
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
    /// How the application's writes to the source are stopped before the switch, in order:
    /// scale the writer to 0 (`scale`), set a read-only flag (`configMapKey`), ... Each previous
    /// value is saved; after the switch (or on an abort, a drain timeout or a rollback) every
    /// target gets its previous value back. Empty: writes are not stopped, and what the
    /// application writes between the last lag sample and the switch is not copied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub freeze: Vec<SwitchTarget>,
    /// Waiting, after the freeze, until replication has copied every write made before it.
    #[serde(default)]
    pub drain: Drain,
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
    /// What a failed step of the switch (a patch the server rejects or does not keep, a value
    /// that cannot be read or saved, a stop that fails) or a failed post-switch check does:
    /// `RollBack` (default: undo what was done, unfreeze, end in Failed) or `Pause` (leave
    /// everything as it is, the application frozen, for a human to resume or roll back).
    #[serde(default)]
    pub on_switch_failure: SwitchFailurePolicy,
    /// Checks after the switch.
    #[serde(default)]
    pub post_switch: PostSwitch,
    /// Give up waiting for the gates after this many seconds (operator clock) from the start,
    /// applying `onGateFailure`.
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

/// What to do when a step of the switch fails.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SwitchFailurePolicy {
    /// Undo every step done (restore switched objects, unfreeze) and end in phase Failed.
    #[default]
    RollBack,
    /// Stop in phase Paused as things are; resume (annotation resume-requested-at) retries the
    /// failed step, a rollback request undoes the switch.
    Pause,
}

/// The drain: after the freeze, replication must catch up with every write made before it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drain {
    /// Seconds (operator clock) from the start of the freeze within which every DtsMigration
    /// must be drained. When they pass, the freeze is undone at once (the application writes
    /// to the source again), nothing is switched, and the cutover ends Aborted. Default 300.
    #[serde(default = "default_drain_timeout")]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_seconds: i64,
    /// Highest lag (seconds, as DTS reports it) of the sample that proves a DtsMigration is
    /// drained. Default 1.
    #[serde(default = "default_drain_lag")]
    #[schemars(range(min = 0.0, max = 3600.0))]
    pub max_lag_seconds: f64,
    /// Seconds (operator clock) added to the moment every freeze target read back as set (and
    /// scaled workloads reported no replicas left) to give `frozenAt`: the time the application
    /// needs to notice a read-only flag and finish its transactions, and room for skew between
    /// the operator's clock and the source database's, whose time DTS checkpoints carry. A
    /// DtsMigration is drained once its checkpoint is at or after `frozenAt`. Default 5.
    #[serde(default = "default_settle")]
    #[schemars(range(min = 0, max = 3600))]
    pub settle_seconds: i64,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            timeout_seconds: default_drain_timeout(),
            max_lag_seconds: default_drain_lag(),
            settle_seconds: default_settle(),
        }
    }
}

fn default_drain_timeout() -> i64 {
    300
}
fn default_drain_lag() -> f64 {
    1.0
}
fn default_settle() -> i64 {
    5
}

/// Checks after the switch (anchor: Argo Rollouts background analysis).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostSwitch {
    /// For this many seconds (operator clock) after the unfreeze, keep checking that every
    /// switched object still reads back as set and that no migration failed; a failure applies
    /// `onSwitchFailure`. Default 0: no watch.
    #[serde(default)]
    #[schemars(range(min = 0, max = 86400))]
    pub watch_seconds: i64,
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
    /// Replication lag of every DtsMigration must stay below this many seconds (as DTS reports
    /// it). Default 5.
    #[serde(default = "default_max_lag")]
    #[x_kube(validation = Rule::new("self > 0.0").message("maxLagSeconds must be positive"))]
    pub max_lag_seconds: f64,
    /// ... for at least this many seconds of consecutive fresh samples: the time from the first
    /// to the newest sample of the run, stamped when DTS answered (operator clock). Time without
    /// samples never counts. Default 60.
    #[serde(default = "default_stable_for")]
    #[schemars(range(min = 0))]
    pub stable_for_seconds: i64,
    /// ... and at least this many consecutive samples. Default 3.
    #[serde(default = "default_min_samples")]
    #[schemars(range(min = 1, max = 30))]
    pub min_samples: i64,
    /// Seconds (operator clock): a sample further than this from the one before it starts a new
    /// run (a gap), and a newest sample older than this is stale (the gate cannot pass). The
    /// final check before the freeze waits at most this long for a sample taken after the gates
    /// passed. Default 30 (three DtsMigration polls).
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
    30
}

/// A person's statement that the backup exists and was verified.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupAttestation {
    /// Who verified the backup.
    #[schemars(length(min = 1))]
    pub verified_by: String,
    /// When (RFC 3339), e.g. `2026-11-20T10:00:00Z`. Compared with the operator's clock: a time
    /// more than 300 s ahead of it is refused.
    #[schemars(length(max = 64))]
    pub verified_at: String,
    /// What proves it, e.g. `snapshot rds-snap-123 restored to staging, row counts match`.
    #[schemars(length(min = 1))]
    pub evidence: String,
    /// The attestation fails when older than this many seconds (operator clock). Default
    /// 86400 (24 h).
    #[serde(default = "default_backup_max_age")]
    #[schemars(range(min = 1))]
    pub max_age_seconds: i64,
}

fn default_backup_max_age() -> i64 {
    86400
}

impl Default for BackupAttestation {
    fn default() -> Self {
        Self {
            verified_by: String::new(),
            verified_at: String::new(),
            evidence: String::new(),
            max_age_seconds: default_backup_max_age(),
        }
    }
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
