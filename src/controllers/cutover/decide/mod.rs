//! Cutover decisions: the gates, the ordered steps (freeze → drain → stop replication → switch
//! → verify → unfreeze → watch) and rollback, as a pure function of (spec, previous status,
//! requests, what the migrations and the targets look like, now). `record` is the pure half of
//! acting: it turns an action's outcome into status.

mod drain_mms;
mod gating;
mod outcome;
mod plan;
mod rollback;
mod sequence;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod world;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::gates::{DataWorksObs, DtsObs, MmsObs};
use crate::api::conditions::{self, Desired, READY};
use crate::api::cutover::{
    Approval, CutoverPhase as Phase, CutoverPlan, CutoverSpec, CutoverStatus, StepState, StepStatus,
};

pub use gating::evaluate_gates;
pub use outcome::{Outcome, record};
pub use plan::{freeze_key, plan_for, rollback_key, step_names};

pub const GATES_PASSED: &str = "GatesPassed";
pub const SWITCHED: &str = "Switched";
pub const SPEC_ACCEPTED: &str = "SpecAccepted";
pub const ABORT_REFUSED: &str = "AbortRefused";

pub const STEP_FINAL_CHECK: &str = "final-check";
pub const STEP_VERIFY: &str = "verify-switch";
pub const STEP_WATCH: &str = "watch";
pub const STEP_COMPLETE: &str = "complete";

/// How long a DTS task may take to report `Finished` after StopDtsJob.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(600);
/// How long one freeze, switch or unfreeze step may keep retrying before it fails.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a rollback retries a target before recording it as not restored.
pub const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(600);
/// A DtsMigration whose newest sample is older than this is asked to read DTS now while the
/// cutover waits for a fresh sample (final check, drain).
pub const SAMPLE_NUDGE_AFTER: Duration = Duration::from_secs(2);
/// Skew allowed between the operator's clock and a person's `verifiedAt`.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

pub const POLL_GATING: Duration = Duration::from_secs(10);
pub const POLL_SWITCHING: Duration = Duration::from_secs(2);
pub const POLL_WATCHING: Duration = Duration::from_secs(5);
pub const POLL_WAITING: Duration = Duration::from_secs(60);
pub const POLL_SETTLED: Duration = Duration::from_secs(600);

/// A migration the cutover depends on.
// At most 50 per Cutover, built once per reconcile: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum MigrationObs {
    Dts(DtsObs),
    Mms(MmsObs),
    DataWorks(DataWorksObs),
}

/// What reading a value gave. "Could not read" is never "absent".
#[derive(Clone, PartialEq, Eq)]
pub enum Read {
    Value(String),
    Absent,
    /// Could not be read, and why.
    Unknown(String),
}

impl std::fmt::Debug for Read {
    // Values may be credentials: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Read::Value(v) => write!(f, "Value(<{} bytes>)", v.len()),
            Read::Absent => f.write_str("Absent"),
            Read::Unknown(why) => write!(f, "Unknown({why})"),
        }
    }
}

impl Read {
    /// The value as an option (None: absent); None outside when unknown.
    pub fn known(&self) -> Option<Option<&str>> {
        match self {
            Read::Value(v) => Some(Some(v)),
            Read::Absent => Some(None),
            Read::Unknown(_) => None,
        }
    }

    /// Whether this is exactly `value` (None: absent).
    pub fn is(&self, value: Option<&str>) -> bool {
        self.known() == Some(value)
    }
}

/// One switch or freeze target as read from the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetObs {
    /// `ConfigMap/app-db/DSN`, `Secret/app-db/password`, `Service/db`, `apps/v1/Deployment/app`,
    /// `Deployment/app/replicas`.
    pub target: String,
    /// Whether the operator may do everything the switch and its rollback need (read, patch,
    /// keep the previous value in the rollback Secret); the reason if not.
    pub permitted: Result<(), String>,
    /// The current value at the key or field (merge patch: the values at the patch's paths, as
    /// JSON; Secret: base64 of the bytes).
    pub current: Read,
    /// The value the switch or freeze sets; Err when it cannot be resolved.
    pub desired: Result<String, String>,
    /// Sensitive values never reach status: they are kept in the rollback Secret.
    pub sensitive: bool,
    /// Sensitive targets: the previous value kept in the rollback Secret under the target's key.
    pub kept: Read,
    /// Scale targets: whether no more replicas than asked are left and the workload's controller
    /// has seen the change; None for other kinds.
    pub settled: Option<bool>,
}

impl TargetObs {
    /// Reads back as the value the switch sets.
    pub fn applied(&self) -> bool {
        matches!((&self.current, &self.desired), (Read::Value(c), Ok(d)) if c == d)
    }
}

/// The two lists of targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Freeze,
    Switch,
}

/// Why a target is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The step of this name (freeze/…, switch/…, unfreeze/…).
    Step(String),
    /// Rollback: freeze again before restoring.
    Refreeze,
    /// Rollback: restore a switched target.
    Restore,
    /// Rollback: restore a freeze target.
    Unfreeze,
}

/// Requests from spec fields and annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    pub approval: Option<Approval>,
    pub abort: bool,
    pub rollback: bool,
    pub resume: Option<String>,
}

/// The action a reconcile takes (status is written first, so every action is on record).
#[derive(Clone, PartialEq, Eq)]
pub enum Act {
    /// StopDtsJob for this DtsMigration.
    StopReplication { migration: String, step: String },
    /// Ask these DtsMigrations to read DTS now (a fresh lag sample is awaited).
    Sample { migrations: Vec<String> },
    /// Ask a scheduled MmsJob for one round now (its round-requested-at annotation set to
    /// `value`, the same for every retry of one freeze, so that one round is run).
    FinalRound { migration: String, value: String },
    /// Keep the previous value of a sensitive target in the rollback Secret under `key`.
    Keep {
        list: List,
        index: usize,
        key: String,
        value: String,
        step: String,
    },
    /// Set a target to `value` (None: remove the key) and check that the server's answer reads
    /// back as set.
    Set {
        list: List,
        index: usize,
        value: Option<String>,
        purpose: Purpose,
    },
}

impl std::fmt::Debug for Act {
    // Values may be credentials: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Act::StopReplication { migration, .. } => write!(f, "StopReplication({migration})"),
            Act::Sample { migrations } => write!(f, "Sample({migrations:?})"),
            Act::FinalRound { migration, value } => write!(f, "FinalRound({migration}, {value})"),
            Act::Keep {
                list, index, key, ..
            } => write!(f, "Keep({list:?}[{index}] as {key})"),
            Act::Set {
                list,
                index,
                purpose,
                ..
            } => write!(f, "Set({list:?}[{index}], {purpose:?})"),
        }
    }
}

pub type Decision = crate::controllers::decision::Decision<CutoverStatus, Act>;

pub struct Inputs<'a> {
    pub spec: &'a CutoverSpec,
    pub prev: &'a CutoverStatus,
    pub generation: Option<i64>,
    pub requests: &'a Requests,
    pub migrations: &'a [MigrationObs],
    /// The freeze targets of the plan, in order.
    pub freeze: &'a [TargetObs],
    /// The switch targets of the plan, in order.
    pub targets: &'a [TargetObs],
    /// Name of the Secret (owned by the Cutover) that keeps previous sensitive values.
    pub rollback_secret: &'a str,
    pub now: jiff::Timestamp,
}

/// SHA-256 (first 16 hex digits) of a value, to verify a switch without storing the value.
pub fn digest(value: &str) -> String {
    crate::aliyun::signer::sha256_hex(value.as_bytes())[..16].to_string()
}

pub(crate) fn elapsed(from: jiff::Timestamp, to: jiff::Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or_default()
}

/// Derives the next status and action.
pub fn decide(inputs: &Inputs<'_>) -> Decision {
    let Inputs {
        spec,
        prev,
        generation,
        requests,
        migrations,
        now,
        ..
    } = inputs;
    let now = *now;
    let plan = plan_for(spec, prev);
    let mut status = CutoverStatus {
        observed_generation: *generation,
        started_at: prev.started_at.clone().or(Some(Time(now))),
        switch_started_at: prev.switch_started_at.clone(),
        plan: prev
            .plan
            .clone()
            .filter(|_| prev.switch_started_at.is_some()),
        completed_at: prev.completed_at.clone(),
        saved: prev.saved.clone(),
        freeze_saved: prev.freeze_saved.clone(),
        frozen_at: prev.frozen_at.clone(),
        drained: prev.drained.clone(),
        rollback: prev.rollback.clone(),
        reason: prev.reason.clone(),
        last_resume_requested_at: prev.last_resume_requested_at.clone(),
        last_handled_reconcile_at: prev.last_handled_reconcile_at.clone(),
        approval: requests.approval.clone(),
        ..CutoverStatus::default()
    };
    let (gates, wake) = if prev.switch_started_at.is_some() {
        // The go/no-go report is frozen at the decision: it is the record of why we switched.
        (prev.gates.clone(), None)
    } else {
        evaluate_gates(inputs, &plan)
    };
    status.gates_summary = Some(format!(
        "{}/{}",
        gates.iter().filter(|g| g.passed).count(),
        gates.len()
    ));
    status.lag = display_lag(migrations, &plan, now);
    status.gates = gates;
    status.steps = merge_steps(&step_names(&plan), &prev.steps);

    let prev_phase = prev.phase.unwrap_or(Phase::Pending);
    let mut machine = Machine {
        inputs,
        plan,
        status,
        act: None,
        requeue: POLL_GATING,
        ready: Desired::false_(READY, "Pending", "evaluating the gates"),
        abort_refused: None,
    };
    let phase = machine.run(prev_phase, wake);
    machine.finish(phase, *generation).checked("Cutover")
}

/// The highest lag of the DtsMigrations' newest samples; `stale` when one is older than the
/// plan's `maxSampleAgeSeconds` (an old number is not shown as current).
fn display_lag(
    migrations: &[MigrationObs],
    plan: &CutoverPlan,
    now: jiff::Timestamp,
) -> Option<String> {
    let max_age = Duration::from_secs(plan.gates.max_sample_age_seconds.max(1) as u64);
    let newest: Vec<_> = migrations
        .iter()
        .filter_map(|m| match m {
            MigrationObs::Dts(d) => d.lag_samples.iter().max_by_key(|s| s.at.0),
            MigrationObs::Mms(_) | MigrationObs::DataWorks(_) => None,
        })
        .collect();
    if newest.iter().any(|s| elapsed(s.at.0, now) > max_age) {
        return Some("stale".into());
    }
    newest
        .iter()
        .map(|s| s.seconds)
        .reduce(f64::max)
        .map(crate::controllers::dts_migration::decide::format_lag)
}

/// Keeps the recorded state of steps that are still in the plan, adds new ones as Planned.
fn merge_steps(plan: &[String], prev: &[StepStatus]) -> Vec<StepStatus> {
    plan.iter()
        .map(|name| {
            prev.iter()
                .find(|s| &s.name == name)
                .cloned()
                .unwrap_or_else(|| StepStatus {
                    name: name.clone(),
                    state: StepState::Planned,
                    ..StepStatus::default()
                })
        })
        .collect()
}

/// The state of one decision being made.
struct Machine<'a, 'i> {
    inputs: &'a Inputs<'i>,
    /// The plan in force: frozen in status once switching started, else the spec's.
    plan: CutoverPlan,
    status: CutoverStatus,
    act: Option<Act>,
    requeue: Duration,
    ready: Desired,
    /// Set when an abort was asked for and cannot be honoured (the reason).
    abort_refused: Option<String>,
}

impl Machine<'_, '_> {
    fn now(&self) -> jiff::Timestamp {
        self.inputs.now
    }

    fn run(&mut self, phase: Phase, wake: Option<jiff::Timestamp>) -> Phase {
        let requests = self.inputs.requests;
        // Rollback and abort come first: they are what a human asks for when things look wrong.
        if requests.rollback
            && let Some(p) = self.on_rollback_request(phase)
        {
            return p;
        }
        match phase {
            Phase::RollingBack => return self.roll_back(),
            Phase::RolledBack | Phase::Aborted | Phase::Completed | Phase::Failed => {
                if requests.abort && phase != Phase::Aborted {
                    self.abort_refused = Some(format!(
                        "abort was requested but the cutover is {phase:?}: abort only stops a cutover before anything is switched; {}",
                        if phase == Phase::Completed {
                            "request a rollback (spec.rollback or the rollback-requested-at annotation) to restore the switched objects"
                        } else {
                            "there is nothing left to abort"
                        }
                    ));
                }
                return self.settled(phase);
            }
            _ => {}
        }
        if requests.abort
            && let Some(p) = self.on_abort_request()
        {
            return p;
        }
        match phase {
            Phase::Freezing
            | Phase::Draining
            | Phase::Switching
            | Phase::Verifying
            | Phase::Unfreezing
            | Phase::Watching => self.sequence(),
            Phase::Paused => self.paused(wake),
            _ => self.gate(wake),
        }
    }

    fn step(&self, name: &str) -> Option<&StepStatus> {
        self.status.steps.iter().find(|s| s.name == name)
    }

    fn step_mut(&mut self, name: &str) -> &mut StepStatus {
        self.status
            .steps
            .iter_mut()
            .find(|s| s.name == name)
            .expect("step is in the plan")
    }

    fn start_step(&mut self, name: &str, message: impl Into<String>) {
        let now = self.now();
        let step = self.step_mut(name);
        if step.state == StepState::Planned || step.started_at.is_none() {
            step.started_at = Some(Time(now));
        }
        step.state = StepState::Running;
        step.message = message.into();
    }

    fn end_step(&mut self, name: &str, state: StepState, message: impl Into<String>) {
        let now = self.now();
        let step = self.step_mut(name);
        step.started_at.get_or_insert(Time(now));
        step.finished_at = Some(Time(now));
        step.state = state;
        step.message = message.into();
    }

    fn finish_steps_as(&mut self, state: StepState) {
        let now = self.now();
        for step in &mut self.status.steps {
            if step.state == StepState::Planned || step.state == StepState::Running {
                step.state = state;
                step.finished_at = Some(Time(now));
            }
        }
    }

    fn settled(&mut self, phase: Phase) -> Phase {
        self.requeue = POLL_SETTLED;
        self.ready = match phase {
            Phase::Completed => Desired::true_(
                READY,
                "Completed",
                format!(
                    "switched {} object(s); rollback stays available (spec.rollback)",
                    self.status.saved.len()
                ),
            ),
            _ => self.prev_ready(&format!("{phase:?}")),
        };
        phase
    }

    fn prev_ready(&self, reason: &str) -> Desired {
        conditions::find(&self.inputs.prev.conditions, READY)
            .filter(|c| c.reason != "Pending")
            .map(|c| Desired::false_(READY, c.reason.clone(), c.message.clone()))
            .unwrap_or_else(|| {
                Desired::false_(
                    READY,
                    reason,
                    self.status.reason.clone().unwrap_or_default(),
                )
            })
    }

    fn finish(mut self, phase: Phase, generation: Option<i64>) -> Decision {
        self.status.phase = Some(phase);
        let failing: Vec<String> = self
            .status
            .gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.name.clone())
            .collect();
        let gates_condition = if failing.is_empty() {
            Desired::true_(GATES_PASSED, "AllPassed", "every go/no-go criterion passes")
        } else {
            Desired::false_(GATES_PASSED, "NotAllPassed", failing.join(", "))
        };
        let switched = match phase {
            Phase::Completed => {
                Desired::true_(SWITCHED, "Switched", "every target switched and verified")
            }
            Phase::RolledBack | Phase::Failed | Phase::Aborted
                if self
                    .status
                    .rollback
                    .as_ref()
                    .is_some_and(|r| r.finished_at.is_some()) =>
            {
                Desired::false_(SWITCHED, "RolledBack", "what was changed was restored")
            }
            _ if !self.status.saved.is_empty() => {
                Desired::false_(SWITCHED, "InProgress", "switching")
            }
            _ => Desired::false_(SWITCHED, "NotStarted", "nothing switched"),
        };
        let accepted = self.spec_accepted();
        let mut desired = vec![self.ready, gates_condition, switched, accepted];
        if let Some(why) = &self.abort_refused {
            desired.push(Desired::true_(ABORT_REFUSED, "TooLateToAbort", why.clone()));
        }
        let mut conditions = conditions::merge(
            &self.inputs.prev.conditions,
            &desired,
            generation,
            self.inputs.now,
        );
        if self.abort_refused.is_none() {
            conditions.retain(|c| c.type_ != ABORT_REFUSED);
        }
        self.status.conditions = conditions;
        Decision {
            status: self.status,
            act: self.act,
            requeue: Some(self.requeue),
        }
    }

    /// SpecAccepted: once switching started the plan in status runs; a changed spec is refused.
    fn spec_accepted(&self) -> Desired {
        let Some(frozen) = self.status.plan.as_ref() else {
            return Desired::true_(SPEC_ACCEPTED, "Accepted", "the spec is in force");
        };
        let changed = plan::changed_fields(frozen, self.inputs.spec);
        if changed.is_empty() {
            Desired::true_(
                SPEC_ACCEPTED,
                "Accepted",
                "the spec matches the plan frozen when switching started (status.plan)",
            )
        } else {
            Desired::false_(
                SPEC_ACCEPTED,
                "FrozenDuringSwitch",
                format!(
                    "spec.{} changed after switching started; the edit is ignored and the plan frozen at switch start (status.plan) runs to its end: roll back and create a new Cutover to change it",
                    changed.join(", spec.")
                ),
            )
        }
    }
}
