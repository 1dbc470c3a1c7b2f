//! What a Cutover reports: the go/no-go report, the plan frozen at switch start, the steps, the
//! saved previous values and the rollback. Times are the operator's clock unless a field says
//! otherwise.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Approval, Drain, Gates, MigrationRef, PostSwitch, SwitchFailurePolicy, SwitchTarget};

/// Observed state of a Cutover.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CutoverStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (completed), `GatesPassed` (go), `Switched`, `SpecAccepted` (False when the
    /// spec changed after switching started: the frozen `plan` runs), `AbortRefused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Where the cutover stands (see CutoverPhase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<CutoverPhase>,
    /// The phase the `paused` annotation interrupted (phase is `Paused` meanwhile); the cutover
    /// goes on from it once the annotation is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_from: Option<CutoverPhase>,
    /// The go/no-go report: one entry per criterion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 120))]
    pub gates: Vec<GateStatus>,
    /// `passed/total` gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates_summary: Option<String>,
    /// Highest lag of the newest fresh samples over the DtsMigrations, for display; `stale`
    /// when a newest sample is older than `gates.maxSampleAgeSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<String>,
    /// What the switch runs, copied from the spec when switching starts; later spec edits are
    /// refused (condition SpecAccepted) and this plan runs to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<CutoverPlan>,
    /// The ordered steps (the plan before switching, the record afterwards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub steps: Vec<StepStatus>,
    /// Previous values of freeze targets, saved before each freeze; the unfreeze restores them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub freeze_saved: Vec<SavedValue>,
    /// When writes to the source stopped: every freeze target read back as set (scaled
    /// workloads with no replicas left), plus `drain.settleSeconds`, rounded up to the second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<Time>,
    /// The evidence that each DtsMigration copied every write made before `frozenAt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub drained: Vec<DrainRecord>,
    /// Previous values of switched objects, saved before each patch; rollback restores them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
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
    /// When the gates passed and switching began (from then on the plan is frozen and abort
    /// becomes rollback once anything was changed).
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

/// The parts of the spec the switch runs, frozen at switch start.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CutoverPlan {
    #[schemars(length(max = 50))]
    pub migrations: Vec<MigrationRef>,
    pub gates: Gates,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub freeze: Vec<SwitchTarget>,
    pub drain: Drain,
    #[schemars(length(max = 50))]
    pub switch: Vec<SwitchTarget>,
    pub stop_replication: bool,
    pub on_switch_failure: SwitchFailurePolicy,
    pub post_switch: PostSwitch,
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
    /// Waiting for a human: a gate failed or the deadline passed (onGateFailure Pause), or a
    /// step of the switch failed (onSwitchFailure Pause).
    Paused,
    /// The final check, then stopping the application's writes (spec.freeze).
    Freezing,
    /// Waiting until replication copied every write made before the freeze.
    Draining,
    /// Stopping replication and patching the switch targets.
    Switching,
    /// Reading switched objects back.
    Verifying,
    /// Restoring the freeze targets: the application writes again, now to the new database.
    Unfreezing,
    /// Post-switch watch (spec.postSwitch).
    Watching,
    Completed,
    /// Undoing: freeze again if needed, restore switched objects, unfreeze.
    RollingBack,
    RolledBack,
    /// Stopped before the switch; nothing was switched (a freeze was undone).
    Aborted,
    /// A step failed; what was done was rolled back (see rollback) unless onSwitchFailure
    /// says Pause.
    Failed,
}

/// What kind of evidence a gate's result rests on.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Evidence {
    /// Read from a system, fresh enough to count.
    Measured,
    /// Read, but too old to count: the gate does not pass on it.
    Stale,
    /// A person's statement (e.g. a backup's `verifiedAt`).
    Attested,
    /// Not required or not configured.
    #[default]
    Waived,
}

/// Where a step of the switch stands.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum StepState {
    #[default]
    Planned,
    Running,
    Succeeded,
    Failed,
    /// Not needed (e.g. nothing was frozen, or the step was cut short by an abort).
    Skipped,
    /// Done, then undone by a rollback.
    RolledBack,
}

impl StepState {
    /// Done with, one way or another: it will not run again in this attempt.
    pub fn ended(self) -> bool {
        matches!(self, Self::Succeeded | Self::Skipped | Self::RolledBack)
    }
}

/// One go/no-go criterion.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    /// e.g. `lag/orders-dts`, `verification/orders-mms`, `backup`, `approval`, `window`.
    pub name: String,
    /// Whether the criterion is met now.
    pub passed: bool,
    /// What was observed, e.g. `3.2s at 10:00:07Z; below 5s for 62s over 7 samples`. Never a
    /// number that was not measured.
    pub observed: String,
    /// What is required, e.g. `< 5s for 60s and 3 samples`.
    pub threshold: String,
    /// What kind of evidence `observed` is.
    pub evidence: Evidence,
    /// Since when the criterion has had its current result; for a lag gate, the first sample
    /// of the current run below the threshold (or the sample that broke the last run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
    /// True when the criterion cannot pass by waiting (e.g. verification failed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Lag gates: consecutive fresh samples below the threshold in the current run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<i64>,
    /// Lag gates: the newest lag sample considered (when DTS answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sample_at: Option<Time>,
}

/// One step of the switch.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// e.g. `final-check`, `freeze/ConfigMap/app-db/READ_ONLY`, `drain/orders-dts`,
    /// `stop-replication/orders-dts`, `switch/ConfigMap/app-db/DSN`, `verify-switch`,
    /// `unfreeze/ConfigMap/app-db/READ_ONLY`, `watch`, `complete`.
    pub name: String,
    pub state: StepState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// When the step's value was set and the server's answer read back as set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<Time>,
    /// What happened.
    #[serde(default)]
    pub message: String,
}

/// A value saved before switching or freezing.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedValue {
    /// `ConfigMap/app-db/DSN`, `Secret/app-db/password`, `Service/db`, `apps/v1/Deployment/app`,
    /// `Deployment/app/replicas`.
    pub target: String,
    /// Whether the key/field existed before (rollback removes it if not). Only a value that
    /// was read is saved: one that could not be read stops the switch instead.
    pub existed: bool,
    /// The previous value, exactly (empty included), when it is not sensitive.
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

/// Why a DtsMigration counts as drained.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainRecord {
    /// The DtsMigration or MmsJob.
    pub migration: String,
    /// Every change up to this time is in the destination; at or after `frozenAt`. A
    /// DtsMigration: the DTS checkpoint of the sample (source database clock, whole seconds).
    /// A scheduled MmsJob: the time after which its final round started (operator clock).
    pub checkpoint: Time,
    /// Lag of that sample, seconds (DtsMigration only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// When DTS answered with that sample, or when the final round was seen finished
    /// (operator clock).
    pub sample_at: Time,
    /// The MMS job of the final round (MmsJob only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_job_id: Option<i64>,
}

/// Outcome of a rollback (requested, or automatic after a failed step).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackStatus {
    /// Why: `requested`, or the failure that triggered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The phase the rollback ends in: RolledBack (requested), Failed (after a failed step or
    /// post-switch check), Aborted (an abort or a drain timeout before anything was switched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_in: Option<CutoverPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// Freeze targets set again before restoring (the application had been unfrozen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refrozen: Vec<String>,
    /// Targets restored to their saved value.
    #[serde(default)]
    pub restored: Vec<String>,
    /// Freeze targets restored at the end: the application writes to the source again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfrozen: Vec<String>,
    /// Targets that could not be restored, with the reason.
    #[serde(default)]
    pub failed: Vec<String>,
    /// The last transient error, while retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What cannot come back, e.g. stopped DTS replication, writes made to MaxCompute after the
    /// switch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}
