//! Before the switch: the go/no-go report, waiting for approval and the window, the dry run,
//! pauses, aborts and the start of switching.

use crate::api::cutover::StepState;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    Inputs, Machine, MigrationObs, POLL_GATING, POLL_SETTLED, POLL_WAITING, TargetObs, elapsed,
};
use crate::api::conditions::{Desired, READY};
use crate::api::cutover::{
    CutoverPhase as Phase, CutoverPlan, Evidence, FailurePolicy, GateStatus,
};
use crate::controllers::cutover::gates;

/// Evaluates every gate against the plan.
pub fn evaluate_gates(
    inputs: &Inputs<'_>,
    plan: &CutoverPlan,
) -> (Vec<GateStatus>, Option<jiff::Timestamp>) {
    let Inputs {
        prev,
        requests,
        migrations,
        freeze,
        targets,
        now,
        ..
    } = inputs;
    let find = |name: &str| prev.gates.iter().find(|g| g.name == name);
    let mut out = Vec::new();
    for m in migrations.iter() {
        match m {
            MigrationObs::Dts(d) => out.push(gates::lag_gate(
                d,
                find(&format!("lag/{}", d.name)),
                &plan.gates,
                *now,
            )),
            MigrationObs::Mms(j) if j.schedule.is_some() => out.push(gates::mms_freshness_gate(
                j,
                find(&format!("lag/{}", j.name)),
                *now,
            )),
            _ => {}
        }
    }
    for m in migrations.iter() {
        if let MigrationObs::DataWorks(dw) = m {
            out.push(gates::dataworks_import_gate(
                dw,
                find(&format!("import/{}", dw.name)),
                *now,
            ));
        }
    }
    if plan.gates.require_verification {
        for m in migrations.iter() {
            out.push(match m {
                MigrationObs::DataWorks(_) => continue,
                MigrationObs::Mms(mms) => gates::mms_verification_gate(
                    mms,
                    find(&format!("verification/{}", mms.name)),
                    *now,
                ),
                MigrationObs::Dts(d) => {
                    gates::dts_verification_gate(d, find(&format!("verification/{}", d.name)), *now)
                }
            });
        }
    }
    out.push(gates::backup_gate(&plan.gates, find("backup"), *now));
    out.push(targets_gate(freeze, targets, find("targets"), *now));
    if plan.freeze.is_empty() {
        out.push(gates::no_freeze_gate(find("freeze"), *now));
    }
    out.push(gates::approval_gate(
        plan.gates.require_approval,
        requests.approval.as_ref(),
        find("approval"),
        *now,
    ));
    let mut wake = None;
    if let Some((g, w)) = gates::window_gate(&plan.gates, find("window"), *now) {
        out.push(g);
        wake = w;
    }
    (out, wake)
}

/// Every freeze and switch target can be read, resolved and changed, and the operator holds
/// every permission the switch and its rollback need, before anything changes.
fn targets_gate(
    freeze: &[TargetObs],
    targets: &[TargetObs],
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let all: Vec<&TargetObs> = freeze.iter().chain(targets.iter()).collect();
    let mut problems: Vec<String> = all
        .iter()
        .filter_map(|t| {
            if let Err(why) = &t.permitted {
                Some(format!("{}: {why}", t.target))
            } else if let super::Read::Unknown(why) = &t.current {
                Some(format!("{}: {why}", t.target))
            } else if let Err(why) = &t.desired {
                Some(format!("{}: {why}", t.target))
            } else {
                None
            }
        })
        .collect();
    for (i, t) in all.iter().enumerate() {
        if all[..i].iter().any(|o| o.target == t.target) {
            problems.push(format!(
                "{} is listed twice (in spec.freeze or spec.switch): each object key may be set once",
                t.target
            ));
        }
    }
    let passed = problems.is_empty();
    GateStatus {
        name: "targets".into(),
        passed,
        observed: if passed {
            format!(
                "{} freeze and {} switch target(s) read; the operator may change them and keep their previous values for rollback",
                freeze.len(),
                targets.len()
            )
        } else {
            problems.join("; ")
        },
        threshold: "every target exists and is readable, and the operator may read and patch it and write its previous value to the rollback Secret (SelfSubjectAccessReview)".into(),
        evidence: Evidence::Measured,
        since: match prev {
            Some(p) if p.passed == passed && p.since.is_some() => p.since.clone(),
            _ => Some(Time(now)),
        },
        ..GateStatus::default()
    }
}

impl Machine<'_, '_> {
    pub(super) fn gate(&mut self, wake: Option<jiff::Timestamp>) -> Phase {
        if self.inputs.spec.dry_run {
            return self.dry_run();
        }
        let failed: Vec<&GateStatus> = self.status.gates.iter().filter(|g| g.failed).collect();
        if let Some(first) = failed.first() {
            let why = format!("gate {} failed: {}", first.name, first.observed);
            return self.on_gate_failure(why);
        }
        if let Some(deadline) = self.inputs.spec.progress_deadline_seconds {
            let started = self
                .status
                .started_at
                .as_ref()
                .map(|t| t.0)
                .unwrap_or(self.now());
            if elapsed(started, self.now()) > Duration::from_secs(deadline as u64) {
                let waiting = self.waiting_gates().join(", ");
                return self.on_gate_failure(format!(
                    "progressDeadlineSeconds {deadline} passed while waiting for: {waiting}"
                ));
            }
        }
        if !self.data_ready() {
            self.ready = Desired::false_(
                READY,
                "Gating",
                format!("waiting for {}", self.waiting_gates().join(", ")),
            );
            self.requeue = POLL_GATING;
            return Phase::Gating;
        }
        if !self.gate_passed("approval") {
            self.ready = Desired::false_(
                READY,
                "AwaitingApproval",
                "every gate passes; waiting for approval (spec.approval or the approved-by annotation)",
            );
            self.requeue = POLL_WAITING;
            return Phase::AwaitingApproval;
        }
        if !self.gate_passed("window") {
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
                .and_then(|w| Duration::try_from(w.duration_since(self.now())).ok())
                .unwrap_or(POLL_WAITING)
                .clamp(Duration::from_secs(1), Duration::from_secs(300));
            return Phase::WaitingForWindow;
        }
        // Go: from here on the plan is frozen in status.
        self.status.switch_started_at = Some(Time(self.now()));
        self.status.plan = Some(self.plan.clone());
        self.status.reason = None;
        self.sequence()
    }

    fn data_ready(&self) -> bool {
        self.status
            .gates
            .iter()
            .filter(|g| g.name != "approval" && g.name != "window")
            .all(|g| g.passed)
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

    /// A failed gate (or the final check, or the deadline) before anything changed.
    pub(super) fn on_gate_failure(&mut self, why: String) -> Phase {
        self.status.reason = Some(why.clone());
        self.requeue = POLL_WAITING;
        match self.inputs.spec.on_gate_failure {
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
                self.finish_steps_as(StepState::Skipped);
                Phase::Aborted
            }
        }
    }

    /// Paused: before the switch (a gate), or during it (a step, onSwitchFailure Pause).
    pub(super) fn paused(&mut self, wake: Option<jiff::Timestamp>) -> Phase {
        let resumed = self.inputs.requests.resume.is_some()
            && self.inputs.requests.resume != self.inputs.prev.last_resume_requested_at;
        let during_switch = self.status.switch_started_at.is_some();
        let edited = self.inputs.prev.observed_generation != self.inputs.generation;
        if resumed || (edited && !during_switch) {
            self.status.last_resume_requested_at = self.inputs.requests.resume.clone();
            self.status.reason = None;
            if during_switch {
                // Try the failed step again.
                for step in &mut self.status.steps {
                    if step.state == StepState::Failed {
                        step.state = StepState::Planned;
                        step.applied_at = None;
                        step.finished_at = None;
                        step.message = format!("retrying after resume: {}", step.message);
                    }
                }
                return self.sequence();
            }
            // Restart the deadline: a human decided to go on.
            self.status.started_at = Some(Time(self.now()));
            return self.gate(wake);
        }
        self.ready = Desired::false_(
            READY,
            "Paused",
            format!(
                "paused: {}; {}",
                self.status.reason.clone().unwrap_or_default(),
                if during_switch {
                    "nothing more is done until a human decides: annotate migration.aliyun-operator.dev/resume-requested-at to retry the failed step, or request a rollback (spec.rollback)"
                } else {
                    "fix the cause, then annotate migration.aliyun-operator.dev/resume-requested-at, or abort"
                }
            ),
        );
        self.requeue = POLL_WAITING;
        Phase::Paused
    }

    /// The DtsMigrations whose replication this cutover stopped (irreversible).
    pub(super) fn stopped_replications(&self) -> Vec<String> {
        self.status
            .steps
            .iter()
            .filter(|s| s.state == StepState::Succeeded || s.state == StepState::RolledBack)
            .filter_map(|s| s.name.strip_prefix("stop-replication/"))
            .map(str::to_string)
            .collect()
    }

    /// Whether anything was changed: a value saved (and maybe set), or replication stopped.
    pub(super) fn changed_anything(&self) -> bool {
        !self.status.saved.is_empty()
            || !self.status.freeze_saved.is_empty()
            || !self.stopped_replications().is_empty()
    }

    /// Whether the switch proper began: a switch target was saved or replication stopped.
    pub(super) fn switched_any(&self) -> bool {
        !self.status.saved.is_empty() || !self.stopped_replications().is_empty()
    }

    /// Stops with nothing changed.
    pub(super) fn abort(&mut self, why: &str) -> Phase {
        self.status.reason = Some(why.to_string());
        self.status.plan = None;
        self.finish_steps_as(StepState::Skipped);
        self.ready = Desired::false_(READY, "Aborted", why.to_string());
        self.requeue = POLL_SETTLED;
        Phase::Aborted
    }

    /// An abort request: honoured while nothing is switched (a freeze is undone first).
    pub(super) fn on_abort_request(&mut self) -> Option<Phase> {
        if self.switched_any() {
            self.abort_refused = Some(
                "abort refused: objects were already switched or replication stopped; request a rollback (spec.rollback or the rollback-requested-at annotation) instead".into(),
            );
            return None;
        }
        if !self.status.freeze_saved.is_empty() {
            return Some(self.start_rollback(
                "aborted on request during the freeze; nothing was switched".into(),
                Phase::Aborted,
            ));
        }
        Some(self.abort("aborted on request before any object was changed"))
    }

    /// A rollback request; None when it does not apply in this phase.
    pub(super) fn on_rollback_request(&mut self, phase: Phase) -> Option<Phase> {
        let done = self
            .status
            .rollback
            .as_ref()
            .is_some_and(|r| r.finished_at.is_some());
        if matches!(phase, Phase::RolledBack | Phase::Aborted) || done {
            return None;
        }
        if phase == Phase::RollingBack {
            return Some(self.roll_back());
        }
        if self.changed_anything() {
            return Some(self.start_rollback("requested".into(), Phase::RolledBack));
        }
        Some(self.abort("rollback requested before anything was changed; nothing to restore"))
    }
}
