//! Cutover decisions: the gates, the ordered steps and rollback, as a pure function of (spec,
//! previous status, requests, what the migrations and the switch targets look like, now).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::gates::{self, DtsObs, MmsObs};
use crate::api::conditions::{self, Desired, READY};
use crate::api::cutover::{
    Approval, CutoverPhase as Phase, CutoverSpec, CutoverStatus, FailurePolicy, GateStatus,
    MigrationKind, RollbackStatus, SavedValue, StepStatus,
};
use crate::api::dts_migration::DtsMigrationPhase;

pub const GATES_PASSED: &str = "GatesPassed";
pub const SWITCHED: &str = "Switched";
pub const ROLLED_BACK: &str = "RolledBack";

pub const STEP_FINAL_LAG: &str = "final-lag-check";
pub const STEP_VERIFY: &str = "verify-switch";
pub const STEP_COMPLETE: &str = "complete";

pub const PLANNED: &str = "Planned";
pub const RUNNING: &str = "Running";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";
pub const SKIPPED: &str = "Skipped";

/// How long a DTS task may take to report `Finished` after StopDtsJob.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(600);

pub const POLL_GATING: Duration = Duration::from_secs(10);
pub const POLL_SWITCHING: Duration = Duration::from_secs(2);
pub const POLL_WAITING: Duration = Duration::from_secs(60);
pub const POLL_SETTLED: Duration = Duration::from_secs(600);

/// A migration the cutover depends on.
#[derive(Clone, Debug, PartialEq)]
pub enum MigrationObs {
    Dts(DtsObs),
    Mms(MmsObs),
}

/// One switch target as read from the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetObs {
    /// `ConfigMap/app-db/DSN`, `Secret/app-db/password`, `Service/db`, `apps/v1/Deployment/app`.
    pub target: String,
    /// The object exists.
    pub exists: bool,
    /// Whether the operator may read and patch it (and keep rollback data); the reason if not.
    pub permitted: Result<(), String>,
    /// The current value at the key or field (for a merge patch: the current values at the
    /// patch's paths, as JSON); None when the key is absent.
    pub current: Option<String>,
    /// The value the switch sets; Err when it cannot be resolved (e.g. valueFrom missing).
    pub desired: Result<String, String>,
    /// Sensitive values are never written to status (they go to the rollback Secret).
    pub sensitive: bool,
    /// For a sensitive target already saved: the previous value read back from the rollback
    /// Secret (inner None: the key did not exist before the switch).
    pub rollback_previous: Option<Option<String>>,
}

impl TargetObs {
    fn applied(&self) -> bool {
        matches!((&self.current, &self.desired), (Some(c), Ok(d)) if c == d)
    }
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// StopDtsJob for this DtsMigration.
    StopReplication { migration: String },
    /// Patch target `index`; `rollback_key` names the key in the rollback Secret holding the
    /// previous value of a sensitive target (`previous` None: the key did not exist).
    Switch {
        index: usize,
        rollback: Option<(String, Option<String>)>,
    },
    /// Restore target `index` to its saved value.
    Restore { index: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub status: CutoverStatus,
    pub act: Option<Act>,
    pub requeue: Duration,
}

pub struct Inputs<'a> {
    pub spec: &'a CutoverSpec,
    pub prev: &'a CutoverStatus,
    pub generation: Option<i64>,
    pub requests: &'a Requests,
    pub migrations: &'a [MigrationObs],
    pub targets: &'a [TargetObs],
    /// Name of the Secret (owned by the Cutover) that keeps previous sensitive values.
    pub rollback_secret: &'a str,
    pub now: jiff::Timestamp,
}

/// The key under which a sensitive target's previous value is kept in the rollback Secret.
pub fn rollback_key(index: usize) -> String {
    format!("target-{index}")
}

/// SHA-256 (first 16 hex digits) of a value, to verify a switch without storing the value.
pub fn digest(value: &str) -> String {
    crate::aliyun::signer::sha256_hex(value.as_bytes())[..16].to_string()
}

/// The ordered plan: data first, verify, flip configuration last.
pub fn plan(spec: &CutoverSpec, targets: &[TargetObs]) -> Vec<String> {
    let mut steps = vec![STEP_FINAL_LAG.to_string()];
    if spec.stop_replication {
        steps.extend(
            spec.migrations
                .iter()
                .filter(|m| m.kind == MigrationKind::DtsMigration)
                .map(|m| format!("stop-replication/{}", m.name)),
        );
    }
    steps.extend(targets.iter().map(|t| format!("switch/{}", t.target)));
    steps.push(STEP_VERIFY.to_string());
    steps.push(STEP_COMPLETE.to_string());
    steps
}

/// Evaluates every gate.
pub fn evaluate_gates(inputs: &Inputs<'_>) -> (Vec<GateStatus>, Option<jiff::Timestamp>) {
    let Inputs {
        spec,
        prev,
        requests,
        migrations,
        targets,
        now,
        ..
    } = inputs;
    let find = |name: &str| prev.gates.iter().find(|g| g.name == name);
    let mut out = Vec::new();
    for m in migrations.iter() {
        if let MigrationObs::Dts(d) = m {
            out.push(gates::lag_gate(
                d,
                find(&format!("lag/{}", d.name)),
                &spec.gates,
                *now,
            ));
        }
    }
    if spec.gates.require_verification {
        for m in migrations.iter() {
            let gate = match m {
                MigrationObs::Mms(mms) => Some(gates::mms_verification_gate(
                    mms,
                    find(&format!("verification/{}", mms.name)),
                    *now,
                )),
                MigrationObs::Dts(d) => {
                    gates::dts_verification_gate(d, find(&format!("verification/{}", d.name)), *now)
                }
            };
            out.extend(gate);
        }
    }
    out.push(gates::backup_gate(&spec.gates, find("backup"), *now));
    out.push(targets_gate(targets, find("targets"), *now));
    out.push(gates::approval_gate(
        spec.gates.require_approval,
        requests.approval.as_ref(),
        find("approval"),
        *now,
    ));
    let mut wake = None;
    if let Some((g, w)) = gates::window_gate(&spec.gates, find("window"), *now) {
        out.push(g);
        wake = w;
    }
    (out, wake)
}

fn targets_gate(
    targets: &[TargetObs],
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let problems: Vec<String> = targets
        .iter()
        .filter_map(|t| {
            if !t.exists {
                Some(format!("{}: object not found", t.target))
            } else if let Err(why) = &t.permitted {
                Some(format!("{}: {why}", t.target))
            } else if let Err(why) = &t.desired {
                Some(format!("{}: {why}", t.target))
            } else {
                None
            }
        })
        .collect();
    let passed = problems.is_empty();
    let g = GateStatus {
        name: "targets".into(),
        passed,
        observed: if passed {
            format!("{} object(s) exist and may be patched by the operator", targets.len())
        } else {
            problems.join("; ")
        },
        threshold: "every switch target exists and the operator may read and patch it (SelfSubjectAccessReview)".into(),
        evidence: gates::MEASURED.into(),
        ..GateStatus::default()
    };
    let mut g = g;
    g.since = match prev {
        Some(p) if p.passed == passed && p.since.is_some() => p.since.clone(),
        _ => Some(Time(now)),
    };
    g
}

/// Derives the next status and action.
pub fn decide(inputs: &Inputs<'_>) -> Decision {
    let Inputs {
        spec,
        prev,
        generation,
        requests,
        migrations,
        targets,
        rollback_secret,
        now,
    } = inputs;
    let now = *now;
    let mut status = CutoverStatus {
        observed_generation: *generation,
        started_at: prev.started_at.clone().or(Some(Time(now))),
        switch_started_at: prev.switch_started_at.clone(),
        completed_at: prev.completed_at.clone(),
        saved: prev.saved.clone(),
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
        evaluate_gates(inputs)
    };
    status.gates_summary = Some(format!(
        "{}/{}",
        gates.iter().filter(|g| g.passed).count(),
        gates.len()
    ));
    status.lag = max_lag(migrations);
    status.gates = gates;
    status.steps = merge_steps(&plan(spec, targets), &prev.steps);

    let prev_phase = prev.phase.unwrap_or(Phase::Pending);
    let mut machine = Machine {
        spec,
        prev,
        status,
        requests,
        migrations,
        targets,
        rollback_secret,
        now,
        act: None,
        requeue: POLL_GATING,
        ready: Desired::false_(READY, "Pending", ""),
    };
    let phase = machine.run(prev_phase, *generation, wake);
    machine.finish(phase, *generation)
}

fn max_lag(migrations: &[MigrationObs]) -> Option<String> {
    migrations
        .iter()
        .filter_map(|m| match m {
            MigrationObs::Dts(d) => d
                .lag_samples
                .iter()
                .max_by_key(|s| s.at.0)
                .map(|s| s.seconds),
            MigrationObs::Mms(_) => None,
        })
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
                    state: PLANNED.into(),
                    ..StepStatus::default()
                })
        })
        .collect()
}

struct Machine<'a> {
    spec: &'a CutoverSpec,
    prev: &'a CutoverStatus,
    status: CutoverStatus,
    requests: &'a Requests,
    migrations: &'a [MigrationObs],
    targets: &'a [TargetObs],
    rollback_secret: &'a str,
    now: jiff::Timestamp,
    act: Option<Act>,
    requeue: Duration,
    ready: Desired,
}

impl Machine<'_> {
    fn run(
        &mut self,
        phase: Phase,
        generation: Option<i64>,
        wake: Option<jiff::Timestamp>,
    ) -> Phase {
        let switched_any = self.status.saved.iter().any(|_| true);
        // Rollback and abort come first: they are what a human asks for when things look wrong.
        if self.requests.rollback && !matches!(phase, Phase::RolledBack | Phase::Aborted) {
            if switched_any {
                return self.roll_back();
            }
            if self.status.switch_started_at.is_some()
                || matches!(phase, Phase::Switching | Phase::Failed)
            {
                return self.abort("rollback requested before any object was switched");
            }
            return self.abort("rollback requested before the switch; nothing was changed");
        }
        match phase {
            Phase::RollingBack => return self.roll_back(),
            Phase::RolledBack | Phase::Aborted | Phase::Completed => return self.settled(phase),
            _ => {}
        }
        if self.requests.abort {
            if switched_any {
                self.note_refused_abort();
            } else {
                return self.abort("aborted on request before any object was switched");
            }
        }
        match phase {
            Phase::Switching | Phase::Verifying => self.switch(),
            Phase::Failed => self.settled(phase),
            Phase::Paused => {
                let resumed = self.requests.resume.is_some()
                    && self.requests.resume != self.prev.last_resume_requested_at;
                let edited = self.prev.observed_generation != generation;
                if resumed || edited {
                    self.status.last_resume_requested_at = self.requests.resume.clone();
                    self.status.reason = None;
                    // Restart the deadline: a human decided to go on.
                    self.status.started_at = Some(Time(self.now));
                    self.gate(wake)
                } else {
                    self.ready = Desired::false_(
                        READY,
                        "Paused",
                        format!(
                            "paused: {}; fix the cause, then annotate migration.aliyun-operator.dev/resume-requested-at, or abort",
                            self.status.reason.clone().unwrap_or_default()
                        ),
                    );
                    self.requeue = POLL_WAITING;
                    Phase::Paused
                }
            }
            _ => self.gate(wake),
        }
    }

    fn gate(&mut self, wake: Option<jiff::Timestamp>) -> Phase {
        if self.spec.dry_run {
            return self.dry_run();
        }
        let failed: Vec<&GateStatus> = self.status.gates.iter().filter(|g| g.failed).collect();
        if let Some(first) = failed.first() {
            let why = format!("gate {} failed: {}", first.name, first.observed);
            return self.on_failure(why);
        }
        if let Some(deadline) = self.spec.progress_deadline_seconds {
            let started = self
                .status
                .started_at
                .as_ref()
                .map(|t| t.0)
                .unwrap_or(self.now);
            if Duration::try_from(self.now.duration_since(started)).unwrap_or_default()
                > Duration::from_secs(deadline as u64)
            {
                let waiting = self.waiting_gates().join(", ");
                return self.on_failure(format!(
                    "progressDeadlineSeconds {deadline} passed while waiting for: {waiting}"
                ));
            }
        }
        let data_ready = self.data_ready();
        let approved = self.gate_passed("approval");
        let window_open = self.gate_passed("window");
        if !data_ready {
            self.ready = Desired::false_(
                READY,
                "Gating",
                format!("waiting for {}", self.waiting_gates().join(", ")),
            );
            self.requeue = POLL_GATING;
            return Phase::Gating;
        }
        if !approved {
            self.ready = Desired::false_(
                READY,
                "AwaitingApproval",
                "every gate passes; waiting for approval (spec.approval or the approved-by annotation)",
            );
            self.requeue = POLL_WAITING;
            return Phase::AwaitingApproval;
        }
        if !window_open {
            let observed = self
                .status
                .gates
                .iter()
                .find(|g| g.name == "window")
                .map(|g| g.observed.clone())
                .unwrap_or_default();
            self.ready = Desired::false_(
                READY,
                "WaitingForWindow",
                format!("every gate passes; maintenance window {observed}"),
            );
            self.requeue = wake
                .and_then(|w| Duration::try_from(w.duration_since(self.now)).ok())
                .unwrap_or(POLL_WAITING)
                .clamp(Duration::from_secs(1), Duration::from_secs(300));
            return Phase::WaitingForWindow;
        }
        self.status.switch_started_at = Some(Time(self.now));
        self.switch()
    }

    fn data_ready(&self) -> bool {
        self.status
            .gates
            .iter()
            .filter(|g| g.name != "approval" && g.name != "window")
            .all(|g| g.passed)
    }

    /// Evaluates everything and writes the plan; never acts.
    fn dry_run(&mut self) -> Phase {
        self.requeue = POLL_GATING;
        let all = self.status.gates.iter().all(|g| g.passed);
        let failed: Vec<String> = self
            .status
            .gates
            .iter()
            .filter(|g| g.failed)
            .map(|g| format!("{} ({})", g.name, g.observed))
            .collect();
        let message = if all {
            "dry run: every gate passes; the cutover would switch now (status.steps is the plan)"
                .to_string()
        } else if !failed.is_empty() {
            format!(
                "dry run: would stop on failed gate(s) {}",
                failed.join(", ")
            )
        } else {
            format!(
                "dry run: would wait for {}",
                self.waiting_gates().join(", ")
            )
        };
        self.ready = Desired::false_(READY, "DryRun", message);
        Phase::DryRun
    }

    fn gate_passed(&self, name: &str) -> bool {
        self.status
            .gates
            .iter()
            .find(|g| g.name == name)
            .is_none_or(|g| g.passed)
    }

    fn waiting_gates(&self) -> Vec<String> {
        self.status
            .gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| format!("{} ({})", g.name, g.observed))
            .collect()
    }

    fn on_failure(&mut self, why: String) -> Phase {
        self.status.reason = Some(why.clone());
        self.requeue = POLL_WAITING;
        match self.spec.on_gate_failure {
            FailurePolicy::Pause => {
                self.ready = Desired::false_(
                    READY,
                    "Paused",
                    format!(
                        "paused: {why}; fix the cause, then annotate migration.aliyun-operator.dev/resume-requested-at, or abort"
                    ),
                );
                Phase::Paused
            }
            FailurePolicy::Abort => {
                self.ready = Desired::false_(
                    READY,
                    "Aborted",
                    format!("aborted: {why}; nothing was changed"),
                );
                self.finish_steps_as(SKIPPED);
                Phase::Aborted
            }
        }
    }

    /// The DtsMigrations whose replication this cutover stopped (irreversible).
    fn stopped_replications(&self) -> Vec<String> {
        self.status
            .steps
            .iter()
            .filter(|s| s.state == SUCCEEDED)
            .filter_map(|s| s.name.strip_prefix("stop-replication/"))
            .map(str::to_string)
            .collect()
    }

    fn abort(&mut self, why: &str) -> Phase {
        let stopped = self.stopped_replications();
        let mut reason = why.to_string();
        if !stopped.is_empty() {
            reason.push_str(&format!(
                "; DTS replication of {} was already stopped and cannot be restarted (create a new DtsMigration to sync again)",
                stopped.join(", ")
            ));
        }
        self.status.reason = Some(reason.clone());
        self.finish_steps_as(SKIPPED);
        self.ready = Desired::false_(READY, "Aborted", reason);
        self.requeue = POLL_SETTLED;
        Phase::Aborted
    }

    fn note_refused_abort(&mut self) {
        self.status.reason = Some(
            "abort refused: objects were already switched; request a rollback (spec.rollback or the rollback-requested-at annotation) instead".into(),
        );
    }

    fn finish_steps_as(&mut self, state: &str) {
        for step in &mut self.status.steps {
            if step.state == PLANNED || step.state == RUNNING {
                step.state = state.to_string();
                step.finished_at = Some(Time(self.now));
            }
        }
    }

    fn step_mut(&mut self, name: &str) -> &mut StepStatus {
        self.status
            .steps
            .iter_mut()
            .find(|s| s.name == name)
            .expect("step is in the plan")
    }

    fn start_step(&mut self, name: &str, message: String) {
        let now = self.now;
        let step = self.step_mut(name);
        if step.state == PLANNED {
            step.started_at = Some(Time(now));
        }
        step.state = RUNNING.into();
        step.message = message;
    }

    fn end_step(&mut self, name: &str, state: &str, message: String) {
        let now = self.now;
        let step = self.step_mut(name);
        step.started_at.get_or_insert(Time(now));
        step.finished_at = Some(Time(now));
        step.state = state.into();
        step.message = message;
    }

    /// Runs the steps in order; at most one action per reconcile.
    fn switch(&mut self) -> Phase {
        self.requeue = POLL_SWITCHING;
        let names: Vec<String> = self.status.steps.iter().map(|s| s.name.clone()).collect();
        for name in names {
            let state = self
                .status
                .steps
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.state.clone())
                .unwrap_or_default();
            if state == SUCCEEDED || state == SKIPPED {
                continue;
            }
            if state == FAILED {
                return self.failed(format!("step {name} failed"));
            }
            if name == STEP_FINAL_LAG {
                let lag: Vec<&GateStatus> = self
                    .status
                    .gates
                    .iter()
                    .filter(|g| g.name.starts_with("lag/"))
                    .collect();
                if let Some(bad) = lag.iter().find(|g| !g.passed) {
                    let why = format!("final lag check failed: {} {}", bad.name, bad.observed);
                    let bad_name = bad.name.clone();
                    self.end_step(&name, FAILED, why.clone());
                    // Nothing changed yet: back out per policy and re-plan.
                    self.status.switch_started_at = None;
                    for step in &mut self.status.steps {
                        if step.name == STEP_FINAL_LAG {
                            step.state = PLANNED.into();
                            step.message = format!("last attempt failed: {bad_name}");
                        }
                    }
                    return self.on_failure(why);
                }
                let summary = lag
                    .iter()
                    .map(|g| format!("{}: {}", g.name, g.observed))
                    .collect::<Vec<_>>()
                    .join("; ");
                self.end_step(
                    &name,
                    SUCCEEDED,
                    if summary.is_empty() {
                        "no DtsMigration to check".into()
                    } else {
                        summary
                    },
                );
                continue;
            }
            if let Some(migration) = name.strip_prefix("stop-replication/") {
                match self.stop_replication(&name, migration, &state) {
                    Some(phase) => return phase,
                    None => continue,
                }
            }
            if let Some(target) = name.strip_prefix("switch/") {
                match self.switch_target(&name, target) {
                    Some(phase) => return phase,
                    None => continue,
                }
            }
            if name == STEP_VERIFY {
                let wrong: Vec<String> = self
                    .targets
                    .iter()
                    .filter(|t| !t.applied())
                    .map(|t| t.target.clone())
                    .collect();
                if !wrong.is_empty() {
                    self.end_step(
                        &name,
                        FAILED,
                        format!("read back differs from the value set: {}", wrong.join(", ")),
                    );
                    return self.failed(format!(
                        "post-switch verification failed for {}",
                        wrong.join(", ")
                    ));
                }
                self.end_step(
                    &name,
                    SUCCEEDED,
                    format!("{} object(s) read back as set", self.targets.len()),
                );
                continue;
            }
            if name == STEP_COMPLETE {
                self.end_step(&name, SUCCEEDED, "cutover complete".into());
                self.status.completed_at = Some(Time(self.now));
                return self.settled(Phase::Completed);
            }
        }
        self.settled(Phase::Completed)
    }

    fn stop_replication(&mut self, step: &str, migration: &str, state: &str) -> Option<Phase> {
        let dts = self.migrations.iter().find_map(|m| match m {
            MigrationObs::Dts(d) if d.name == migration => Some(d),
            _ => None,
        });
        let phase = dts.and_then(|d| d.phase);
        if matches!(
            phase,
            Some(DtsMigrationPhase::Stopped | DtsMigrationPhase::Completed)
        ) {
            self.end_step(step, SUCCEEDED, format!("DTS task of {migration} is Finished: it cannot resume and overwrite the destination"));
            return None;
        }
        if state == PLANNED {
            self.start_step(
                step,
                "StopDtsJob sent; waiting for the task to report Finished".into(),
            );
            self.act = Some(Act::StopReplication {
                migration: migration.to_string(),
            });
            self.ready = Desired::false_(
                READY,
                "Switching",
                format!("stopping DTS replication of {migration}"),
            );
            return Some(Phase::Switching);
        }
        let started = self
            .status
            .steps
            .iter()
            .find(|s| s.name == step)
            .and_then(|s| s.started_at.as_ref().map(|t| t.0))
            .unwrap_or(self.now);
        let waited = Duration::try_from(self.now.duration_since(started)).unwrap_or_default();
        if waited > STOP_TIMEOUT {
            self.end_step(
                step,
                FAILED,
                format!(
                    "the DTS task did not report Finished within {}s (phase {phase:?})",
                    STOP_TIMEOUT.as_secs()
                ),
            );
            return Some(self.failed(format!(
                "stopping replication of {migration} timed out; no application object was switched"
            )));
        }
        // Re-send the stop now and then: StopDtsJob is idempotent.
        if waited.as_secs() > 0 && waited.as_secs() % 60 < POLL_SWITCHING.as_secs() {
            self.act = Some(Act::StopReplication {
                migration: migration.to_string(),
            });
        }
        self.ready = Desired::false_(
            READY,
            "Switching",
            format!("waiting for DTS replication of {migration} to stop"),
        );
        Some(Phase::Switching)
    }

    fn switch_target(&mut self, step: &str, target: &str) -> Option<Phase> {
        let index = self.targets.iter().position(|t| t.target == target)?;
        let obs = &self.targets[index];
        let already_saved = self.status.saved.iter().any(|s| s.target == target);
        if already_saved && obs.applied() {
            self.end_step(step, SUCCEEDED, "set".into());
            return None;
        }
        let desired = match &obs.desired {
            Ok(d) => d.clone(),
            Err(why) => {
                self.end_step(step, FAILED, why.clone());
                return Some(self.failed(format!("cannot switch {target}: {why}")));
            }
        };
        if !obs.exists {
            self.end_step(step, FAILED, "object not found".into());
            return Some(self.failed(format!(
                "cannot switch {target}: the object no longer exists"
            )));
        }
        let mut rollback = None;
        if !already_saved {
            // Save the previous value before touching the object: this is the rollback path.
            let saved = if obs.sensitive {
                rollback = Some((rollback_key(index), obs.current.clone()));
                SavedValue {
                    target: target.to_string(),
                    existed: obs.current.is_some(),
                    value: None,
                    stored_in: Some(format!(
                        "Secret/{}#{}",
                        self.rollback_secret,
                        rollback_key(index)
                    )),
                    set_digest: digest(&desired),
                }
            } else {
                SavedValue {
                    target: target.to_string(),
                    existed: obs.current.is_some(),
                    value: obs.current.clone(),
                    stored_in: None,
                    set_digest: digest(&desired),
                }
            };
            self.status.saved.push(saved);
        }
        self.start_step(step, "previous value saved; patching".into());
        self.act = Some(Act::Switch { index, rollback });
        self.ready = Desired::false_(READY, "Switching", format!("switching {target}"));
        Some(Phase::Switching)
    }

    fn failed(&mut self, why: String) -> Phase {
        self.status.reason = Some(why.clone());
        self.ready = Desired::false_(
            READY,
            "Failed",
            format!(
                "{why}; {}",
                if self.status.saved.is_empty() {
                    "no application object was switched"
                } else {
                    "request a rollback (spec.rollback) to restore the switched objects"
                }
            ),
        );
        self.requeue = POLL_WAITING;
        Phase::Failed
    }

    fn roll_back(&mut self) -> Phase {
        let mut report = self.status.rollback.clone().unwrap_or_default();
        let done = |t: &str, r: &RollbackStatus| {
            r.restored
                .iter()
                .chain(r.failed.iter())
                .any(|x| x == t || x.starts_with(&format!("{t}: ")))
        };
        // Reverse order: undo the last switch first.
        let saved = self.status.saved.clone();
        for saved in saved.iter().rev() {
            if done(&saved.target, &report) {
                continue;
            }
            let Some(index) = self.targets.iter().position(|t| t.target == saved.target) else {
                report
                    .failed
                    .push(format!("{}: no longer in spec.switch", saved.target));
                continue;
            };
            let obs = &self.targets[index];
            if !obs.exists {
                report
                    .failed
                    .push(format!("{}: the object no longer exists", saved.target));
                continue;
            }
            if let Err(why) = &obs.permitted {
                report.failed.push(format!("{}: {why}", saved.target));
                continue;
            }
            let previous = if saved.stored_in.is_some() {
                obs.rollback_previous.clone()
            } else {
                Some(saved.value.clone())
            };
            let restored = match previous {
                _ if !saved.existed => obs.current.is_none(),
                Some(previous) => obs.current == previous,
                None => false,
            };
            if restored {
                report.restored.push(saved.target.clone());
                if let Some(step) = self
                    .status
                    .steps
                    .iter_mut()
                    .find(|s| s.name == format!("switch/{}", saved.target))
                {
                    step.state = "RolledBack".into();
                    step.message = "restored to the saved value".into();
                    step.finished_at = Some(Time(self.now));
                }
                continue;
            }
            self.act = Some(Act::Restore { index });
            self.status.rollback = Some(report);
            self.ready =
                Desired::false_(READY, "RollingBack", format!("restoring {}", saved.target));
            self.requeue = POLL_SWITCHING;
            return Phase::RollingBack;
        }
        let stopped = self.stopped_replications();
        if !stopped.is_empty() && report.notes.is_empty() {
            report.notes.push(format!(
                "DTS replication of {} was stopped and cannot be restarted: writes made to the target since the switch are not copied back; create a new DtsMigration (e.g. reverse direction) if the source must catch up",
                stopped.join(", ")
            ));
        }
        report.finished_at.get_or_insert(Time(self.now));
        let message = if report.failed.is_empty() {
            format!("rolled back: {} object(s) restored", report.restored.len())
        } else {
            format!(
                "rolled back with problems: restored {}, could not restore {}",
                report.restored.len(),
                report.failed.join("; ")
            )
        };
        self.status.rollback = Some(report);
        self.finish_steps_as(SKIPPED);
        self.ready = Desired::false_(READY, "RolledBack", message);
        self.requeue = POLL_SETTLED;
        Phase::RolledBack
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
            Phase::RolledBack => self.prev_ready("RolledBack"),
            Phase::Aborted => self.prev_ready("Aborted"),
            _ => self.prev_ready("Failed"),
        };
        phase
    }

    fn prev_ready(&self, reason: &str) -> Desired {
        conditions::find(&self.prev.conditions, READY)
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
        let all_passed = self.status.gates.iter().all(|g| g.passed);
        let gates_condition = if all_passed {
            Desired::true_(GATES_PASSED, "AllPassed", "every go/no-go criterion passes")
        } else {
            Desired::false_(
                GATES_PASSED,
                "NotAllPassed",
                self.status
                    .gates
                    .iter()
                    .filter(|g| !g.passed)
                    .map(|g| g.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        let switched = match phase {
            Phase::Completed => {
                Desired::true_(SWITCHED, "Switched", "every target switched and verified")
            }
            Phase::RolledBack => {
                Desired::false_(SWITCHED, "RolledBack", "switched objects were restored")
            }
            _ if !self.status.saved.is_empty() => {
                Desired::false_(SWITCHED, "InProgress", "switching")
            }
            _ => Desired::false_(SWITCHED, "NotStarted", "nothing switched"),
        };
        self.status.conditions = conditions::merge(
            &self.prev.conditions,
            &[self.ready, gates_condition, switched],
            generation,
            self.now,
        );
        Decision {
            status: self.status,
            act: self.act,
            requeue: self.requeue,
        }
    }
}

#[cfg(test)]
mod tests;
