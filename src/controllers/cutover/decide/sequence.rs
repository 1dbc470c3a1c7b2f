//! The switch, step by step: final check → freeze → drain → stop replication → switch → verify
//! → unfreeze → watch → complete. At most one action per reconcile; a step that needs nothing
//! done lets the next one run in the same pass.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::plan::StepKind;
use super::{
    Act, List, Machine, MigrationObs, POLL_SWITCHING, POLL_WATCHING, Purpose, Read,
    SAMPLE_NUDGE_AFTER, STEP_TIMEOUT, STOP_TIMEOUT, digest, elapsed, freeze_key, rollback_key,
};
use crate::api::conditions::{Desired, READY};
use crate::api::cutover::{
    CutoverPhase as Phase, DrainRecord, SavedValue, StepState, SwitchFailurePolicy,
};
use crate::api::dts_migration::DtsMigrationPhase;
use crate::api::mms_job::MmsJobPhase;
use crate::controllers::cutover::gates::{self, FinalLag};

/// The phase a step belongs to.
fn phase_of(kind: &StepKind<'_>) -> Phase {
    match kind {
        StepKind::FinalCheck | StepKind::Freeze(_) => Phase::Freezing,
        StepKind::Drain(_) => Phase::Draining,
        StepKind::Stop(_) | StepKind::Switch(_) => Phase::Switching,
        StepKind::Verify => Phase::Verifying,
        StepKind::Unfreeze(_) => Phase::Unfreezing,
        StepKind::Watch => Phase::Watching,
        StepKind::Complete => Phase::Completed,
    }
}

/// Whole seconds, rounded up: a time in status has whole seconds, and `frozenAt` must not move
/// earlier by being written.
fn ceil_second(t: jiff::Timestamp) -> jiff::Timestamp {
    let s = t.as_second() + i64::from(t.subsec_nanosecond() > 0);
    jiff::Timestamp::from_second(s).unwrap_or(t)
}

impl Machine<'_, '_> {
    /// Runs the steps in order.
    pub(super) fn sequence(&mut self) -> Phase {
        self.requeue = POLL_SWITCHING;
        let names: Vec<String> = self.status.steps.iter().map(|s| s.name.clone()).collect();
        for name in names {
            let state = self.step(&name).map(|s| s.state).unwrap_or_default();
            if state.ended() {
                continue;
            }
            if state == StepState::Failed {
                return self.step_failed(&name);
            }
            let Some(kind) = StepKind::of(&name) else {
                continue;
            };
            let phase = phase_of(&kind);
            let waiting = match kind {
                StepKind::FinalCheck => self.final_check(&name),
                StepKind::Freeze(_) => self.set_step(&name, List::Freeze, phase),
                StepKind::Drain(m) => self.drain(&name, m),
                StepKind::Stop(m) => self.stop_replication(&name, m, state),
                StepKind::Switch(_) => self.set_step(&name, List::Switch, phase),
                StepKind::Verify => self.verify(&name),
                StepKind::Unfreeze(_) => self.unfreeze(&name),
                StepKind::Watch => self.watch(&name),
                StepKind::Complete => {
                    self.end_step(&name, StepState::Succeeded, "cutover complete");
                    self.status.completed_at = Some(Time(self.now()));
                    return self.settled(Phase::Completed);
                }
            };
            if let Some(p) = waiting {
                return p;
            }
        }
        self.settled(Phase::Completed)
    }

    pub(super) fn waiting(&mut self, phase: Phase, reason: &str, message: String) -> Option<Phase> {
        self.ready = Desired::false_(READY, reason, message);
        Some(phase)
    }

    /// Before `frozenAt` (the freeze's settle time) a drain waits: `Some` is what the step
    /// returns meanwhile.
    pub(super) fn still_settling(&mut self, frozen_at: jiff::Timestamp) -> Option<Option<Phase>> {
        let now = self.now();
        if now >= frozen_at {
            return None;
        }
        self.requeue = elapsed(now, frozen_at).max(Duration::from_secs(1));
        Some(self.waiting(
            Phase::Draining,
            "Draining",
            format!("writes stopped; settling until frozenAt {frozen_at}"),
        ))
    }

    /// When the first freeze step started (`now` before any did): the drain timeout counts
    /// from there.
    pub(super) fn freeze_started(&self, now: jiff::Timestamp) -> jiff::Timestamp {
        self.status
            .steps
            .iter()
            .filter(|s| s.name.starts_with("freeze/"))
            .filter_map(|s| s.started_at.as_ref().map(|t| t.0))
            .min()
            .unwrap_or(now)
    }

    /// Fails the step; the next pass applies onSwitchFailure.
    pub(super) fn fail_step(&mut self, name: &str, why: String) -> Option<Phase> {
        self.end_step(name, StepState::Failed, why);
        Some(self.step_failed(name))
    }

    /// A failed step: pause or roll back (onSwitchFailure).
    pub(super) fn step_failed(&mut self, name: &str) -> Phase {
        let why = self
            .step(name)
            .map(|s| s.message.clone())
            .unwrap_or_default();
        let reason = format!("step {name} failed: {why}");
        match self.plan.on_switch_failure {
            SwitchFailurePolicy::Pause => {
                self.status.reason = Some(reason);
                self.paused(None)
            }
            SwitchFailurePolicy::RollBack => self.start_rollback(reason, Phase::Failed),
        }
    }

    /// Nudges the DtsMigrations whose newest sample is older than [`SAMPLE_NUDGE_AFTER`].
    fn nudge(&mut self, names: &[&str]) {
        let now = self.now();
        let stale: Vec<String> = self
            .inputs
            .migrations
            .iter()
            .filter_map(|m| match m {
                MigrationObs::Dts(d) if names.contains(&d.name.as_str()) => Some(d),
                _ => None,
            })
            .filter(|d| {
                d.lag_samples
                    .iter()
                    .map(|s| s.at.0)
                    .max()
                    .is_none_or(|at| elapsed(at, now) > SAMPLE_NUDGE_AFTER)
            })
            .map(|d| d.name.clone())
            .collect();
        if !stale.is_empty() && self.act.is_none() {
            self.act = Some(Act::Sample { migrations: stale });
        }
    }

    /// Right before the freeze: every DtsMigration's lag, on a sample taken after the gates
    /// passed; every MmsJob complete when writes are to be frozen.
    fn final_check(&mut self, name: &str) -> Option<Phase> {
        self.start_step(name, "checking lag on samples taken after the gates passed");
        let after = self
            .status
            .switch_started_at
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(self.now());
        let mut waiting = Vec::new();
        let mut passed = Vec::new();
        for m in self.inputs.migrations {
            match m {
                MigrationObs::Dts(d) => {
                    let prev = self
                        .status
                        .gates
                        .iter()
                        .find(|g| g.name == format!("lag/{}", d.name));
                    match gates::final_lag(d, prev, &self.plan.gates, after, self.now()) {
                        FinalLag::Passed(text) => passed.push(format!("lag/{}: {text}", d.name)),
                        FinalLag::Wait => waiting.push(d.name.clone()),
                        FinalLag::Failed(text) => {
                            return self.final_check_failed(name, text);
                        }
                    }
                }
                MigrationObs::Mms(j)
                    if !self.plan.freeze.is_empty()
                        && j.schedule.is_none()
                        && j.phase != Some(MmsJobPhase::Succeeded) =>
                {
                    return self.final_check_failed(
                        name,
                        format!(
                            "MmsJob {} is {:?}: without spec.schedule its data must be complete before the freeze",
                            j.name, j.phase
                        ),
                    );
                }
                MigrationObs::Mms(j)
                    if !self.plan.freeze.is_empty()
                        && j.schedule.is_some()
                        && j.phase != Some(MmsJobPhase::Scheduled) =>
                {
                    return self.final_check_failed(
                        name,
                        format!(
                            "MmsJob {} is {:?}: a final round after the freeze needs its timer running (phase Scheduled)",
                            j.name, j.phase
                        ),
                    );
                }
                MigrationObs::Mms(_) | MigrationObs::DataWorks(_) => {}
            }
        }
        if !waiting.is_empty() {
            let names: Vec<&str> = waiting.iter().map(String::as_str).collect();
            self.nudge(&names);
            return self.waiting(
                Phase::Freezing,
                "FinalCheck",
                format!(
                    "waiting for a lag sample of {} taken after the gates passed",
                    waiting.join(", ")
                ),
            );
        }
        self.end_step(
            name,
            StepState::Succeeded,
            if passed.is_empty() {
                "no DtsMigration to check".to_string()
            } else {
                passed.join("; ")
            },
        );
        None
    }

    /// Nothing changed yet: back out per onGateFailure and plan again.
    fn final_check_failed(&mut self, name: &str, why: String) -> Option<Phase> {
        self.end_step(name, StepState::Failed, why.clone());
        self.status.switch_started_at = None;
        self.status.plan = None;
        let step = self.step_mut(name);
        step.state = StepState::Planned;
        step.message = format!("last attempt failed: {why}");
        Some(self.on_gate_failure(format!("final check failed: {why}")))
    }

    /// A freeze or switch step: save the previous value, let it be read back, then set the new
    /// one and check the server's answer; a freeze of a workload also waits for its replicas
    /// to go.
    fn set_step(&mut self, name: &str, list: List, phase: Phase) -> Option<Phase> {
        let (obs_list, key_of): (&[super::TargetObs], fn(usize) -> String) = match list {
            List::Freeze => (self.inputs.freeze, freeze_key),
            List::Switch => (self.inputs.targets, rollback_key),
        };
        let label = name.split_once('/').map(|(_, l)| l).unwrap_or_default();
        let Some(index) = obs_list.iter().position(|t| t.target == label) else {
            return self.fail_step(name, format!("{label} is not in the plan's targets"));
        };
        let obs = obs_list[index].clone();
        if let Some(started) = self.step(name).and_then(|s| s.started_at.clone())
            && self
                .step(name)
                .is_some_and(|s| s.state == StepState::Running)
            && elapsed(started.0, self.now()) > STEP_TIMEOUT
        {
            let last = self
                .step(name)
                .map(|s| s.message.clone())
                .unwrap_or_default();
            return self.fail_step(
                name,
                format!("not done within {}s: {last}", STEP_TIMEOUT.as_secs()),
            );
        }
        if self.step(name).is_some_and(|s| s.applied_at.is_some()) {
            return self.after_set(name, list, &obs, phase);
        }
        let current = match &obs.current {
            Read::Unknown(why) => {
                return self.fail_step(
                    name,
                    format!("the previous value could not be read ({why}): nothing is overwritten"),
                );
            }
            known => known.known().flatten().map(str::to_string),
        };
        let desired = match &obs.desired {
            Ok(d) => d.clone(),
            Err(why) => return self.fail_step(name, why.clone()),
        };
        let saved = self.saved(list).iter().find(|s| s.target == label).cloned();
        let Some(entry) = saved else {
            // Save the previous value before touching the object: this is the rollback path.
            // The new value is set only on a later pass, once the save reads back.
            let stored_in = obs
                .sensitive
                .then(|| format!("Secret/{}#{}", self.inputs.rollback_secret, key_of(index)));
            let entry = SavedValue {
                target: label.to_string(),
                existed: current.is_some(),
                value: if obs.sensitive { None } else { current.clone() },
                stored_in,
                set_digest: if obs.sensitive {
                    String::new()
                } else {
                    digest(&desired)
                },
            };
            self.saved_mut(list).push(entry);
            self.start_step(name, "saving the previous value");
            if obs.sensitive {
                self.keep(list, index, key_of(index), current, name);
            }
            return self.waiting(
                phase,
                &format!("{phase:?}"),
                format!("saving the previous value of {label}"),
            );
        };
        if obs.applied() {
            // Set before the answer was recorded (e.g. a restart): check it like an answer.
            self.step_mut(name).applied_at = Some(Time(self.now()));
            return self.after_set(name, list, &obs, phase);
        }
        // The saved value, as the server keeps it, must be exactly the object's value: a save
        // that lost something (or an object changed since) is never overwritten.
        let matches =
            entry.existed == current.is_some() && (obs.sensitive || entry.value == current);
        if !matches {
            return self.fail_step(
                name,
                "the saved previous value does not read back as the object's value (lost when saved, or the object changed since): nothing is overwritten".into(),
            );
        }
        if obs.sensitive && entry.existed {
            match &obs.kept {
                Read::Value(v) if Some(v) == current.as_ref() => {}
                Read::Value(_) => {
                    return self.fail_step(
                        name,
                        format!(
                            "the rollback Secret {} holds another value for {label} than the object: nothing is overwritten",
                            self.inputs.rollback_secret
                        ),
                    );
                }
                _ => {
                    // Not kept yet (or the last try failed): keep it again.
                    self.keep(list, index, key_of(index), current, name);
                    return self.waiting(
                        phase,
                        &format!("{phase:?}"),
                        format!("keeping the previous value of {label} in the rollback Secret"),
                    );
                }
            }
        }
        self.start_step(name, "previous value saved; setting the new one");
        self.act = Some(Act::Set {
            list,
            index,
            value: Some(desired),
            purpose: Purpose::Step(name.to_string()),
        });
        self.waiting(phase, &format!("{phase:?}"), format!("setting {label}"))
    }

    /// After the server answered a set as kept: the object must still read back as set (and a
    /// frozen workload must have no replicas left).
    fn after_set(
        &mut self,
        name: &str,
        list: List,
        obs: &super::TargetObs,
        phase: Phase,
    ) -> Option<Phase> {
        if !obs.applied() {
            return self.fail_step(
                name,
                format!(
                    "{} was changed again after it was set (another controller or a person?): it no longer reads back as set",
                    obs.target
                ),
            );
        }
        if list == List::Freeze && obs.settled == Some(false) {
            return self.waiting(
                phase,
                "Freezing",
                format!(
                    "{} is set; waiting for its replicas to stop and its controller to see the change",
                    obs.target
                ),
            );
        }
        self.end_step(name, StepState::Succeeded, "set and read back as set");
        if list == List::Freeze && self.all_done("freeze/") && self.status.frozen_at.is_none() {
            let settle = Duration::from_secs(self.plan.drain.settle_seconds.max(0) as u64);
            let at = self
                .now()
                .checked_add(settle)
                .map(ceil_second)
                .unwrap_or(self.now());
            self.status.frozen_at = Some(Time(at));
        }
        None
    }

    /// Keeps a sensitive previous value (when there is one) in the rollback Secret.
    fn keep(&mut self, list: List, index: usize, key: String, value: Option<String>, step: &str) {
        if let Some(value) = value {
            self.act = Some(Act::Keep {
                list,
                index,
                key,
                value,
                step: step.to_string(),
            });
        }
    }

    fn all_done(&self, prefix: &str) -> bool {
        self.status
            .steps
            .iter()
            .filter(|s| s.name.starts_with(prefix))
            .all(|s| s.state == StepState::Succeeded)
    }

    fn saved(&self, list: List) -> &Vec<SavedValue> {
        match list {
            List::Freeze => &self.status.freeze_saved,
            List::Switch => &self.status.saved,
        }
    }

    fn saved_mut(&mut self, list: List) -> &mut Vec<SavedValue> {
        match list {
            List::Freeze => &mut self.status.freeze_saved,
            List::Switch => &mut self.status.saved,
        }
    }

    /// After the freeze: the DtsMigration has replicated every write made before `frozenAt`
    /// (its checkpoint is at or after it) and its lag is at most `drain.maxLagSeconds`, on a
    /// sample taken after `frozenAt`. Past `drain.timeoutSeconds` the freeze is undone.
    fn drain(&mut self, name: &str, migration: &str) -> Option<Phase> {
        let mms = self.inputs.migrations.iter().find_map(|m| match m {
            MigrationObs::Mms(j) if j.name == migration => Some(j.clone()),
            _ => None,
        });
        if let Some(job) = mms {
            return self.drain_mms(name, &job);
        }
        let Some(frozen_at) = self.status.frozen_at.as_ref().map(|t| t.0) else {
            return self.fail_step(
                name,
                "no frozenAt recorded: the freeze did not finish".into(),
            );
        };
        let now = self.now();
        let freeze_started = self.freeze_started(now);
        let timeout = Duration::from_secs(self.plan.drain.timeout_seconds.max(1) as u64);
        self.start_step(
            name,
            format!("waiting for the checkpoint to reach frozenAt {frozen_at}"),
        );
        if let Some(wait) = self.still_settling(frozen_at) {
            return wait;
        }
        let dts = self.inputs.migrations.iter().find_map(|m| match m {
            MigrationObs::Dts(d) if d.name == migration => Some(d),
            _ => None,
        });
        let max_lag = self.plan.drain.max_lag_seconds;
        let proof = dts.and_then(|d| {
            d.lag_samples
                .iter()
                .filter(|s| s.at.0.as_second() > frozen_at.as_second())
                .filter(|s| s.checkpoint.is_some_and(|c| c >= frozen_at.as_second()))
                .filter(|s| s.seconds <= max_lag)
                .max_by_key(|s| s.at.0)
        });
        if let Some(sample) = proof {
            let checkpoint = sample.checkpoint.unwrap_or_default();
            let record = DrainRecord {
                migration: migration.to_string(),
                checkpoint: Time(jiff::Timestamp::from_second(checkpoint).unwrap_or(frozen_at)),
                lag_seconds: Some(sample.seconds),
                sample_at: sample.at.clone(),
                round_job_id: None,
            };
            let message = format!(
                "checkpoint {} >= frozenAt {frozen_at}, lag {}s (sample at {})",
                record.checkpoint.0, sample.seconds, sample.at.0
            );
            self.status.drained.retain(|r| r.migration != migration);
            self.status.drained.push(record);
            self.end_step(name, StepState::Succeeded, message);
            return None;
        }
        let newest = dts.and_then(|d| d.lag_samples.iter().max_by_key(|s| s.at.0));
        let seen = newest
            .map(|s| {
                format!(
                    "newest sample at {}: checkpoint {}, lag {}s",
                    s.at.0,
                    s.checkpoint
                        .and_then(|c| jiff::Timestamp::from_second(c).ok())
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    s.seconds
                )
            })
            .unwrap_or_else(|| "no lag sample".into());
        if elapsed(freeze_started, now) > timeout {
            let why = format!(
                "drain of {migration} did not finish within drain.timeoutSeconds {} ({seen}; needed checkpoint >= frozenAt {frozen_at} and lag <= {max_lag}s); the freeze is undone and nothing was switched",
                timeout.as_secs()
            );
            self.end_step(name, StepState::Failed, why.clone());
            return Some(self.start_rollback(why, Phase::Aborted));
        }
        self.nudge(&[migration]);
        self.waiting(
            Phase::Draining,
            "Draining",
            format!("draining {migration}: {seen}; needs checkpoint >= frozenAt {frozen_at}"),
        )
    }

    fn stop_replication(&mut self, name: &str, migration: &str, state: StepState) -> Option<Phase> {
        let dts = self.inputs.migrations.iter().find_map(|m| match m {
            MigrationObs::Dts(d) if d.name == migration => Some(d),
            _ => None,
        });
        let phase = dts.and_then(|d| d.phase);
        if dts.is_some_and(|d| d.observe_only) {
            self.end_step(
                name,
                StepState::Skipped,
                format!("{migration} is ObserveOnly: its replication was NOT stopped (the operator never changes an observed task); stop it in the DTS console before the old database takes writes again"),
            );
            return None;
        }
        if matches!(
            phase,
            Some(DtsMigrationPhase::Stopped | DtsMigrationPhase::Completed)
        ) {
            self.end_step(
                name,
                StepState::Succeeded,
                format!("DTS task of {migration} is Finished: it cannot resume and overwrite the destination"),
            );
            return None;
        }
        let stop = Act::StopReplication {
            migration: migration.to_string(),
            step: name.to_string(),
        };
        if state == StepState::Planned {
            self.start_step(
                name,
                "StopDtsJob sent; waiting for the task to report Finished",
            );
            self.act = Some(stop);
            return self.waiting(
                Phase::Switching,
                "Switching",
                format!("stopping DTS replication of {migration}"),
            );
        }
        let started = self
            .step(name)
            .and_then(|s| s.started_at.as_ref().map(|t| t.0))
            .unwrap_or(self.now());
        let waited = elapsed(started, self.now());
        if waited > STOP_TIMEOUT {
            return self.fail_step(
                name,
                format!(
                    "the DTS task did not report Finished within {}s (phase {phase:?})",
                    STOP_TIMEOUT.as_secs()
                ),
            );
        }
        // Send the stop again now and then (StopDtsJob is idempotent), and ask for a fresh read.
        if waited.as_secs() > 0 && waited.as_secs() % 60 < POLL_SWITCHING.as_secs() {
            self.act = Some(stop);
        } else {
            self.nudge(&[migration]);
        }
        self.waiting(
            Phase::Switching,
            "Switching",
            format!("waiting for DTS replication of {migration} to stop"),
        )
    }

    fn verify(&mut self, name: &str) -> Option<Phase> {
        let wrong: Vec<String> = self
            .inputs
            .targets
            .iter()
            .filter(|t| !t.applied())
            .map(|t| match &t.current {
                Read::Unknown(why) => format!("{} (could not read: {why})", t.target),
                _ => t.target.clone(),
            })
            .collect();
        if !wrong.is_empty() {
            return self.fail_step(
                name,
                format!("read back differs from the value set: {}", wrong.join(", ")),
            );
        }
        self.end_step(
            name,
            StepState::Succeeded,
            format!("{} object(s) read back as set", self.inputs.targets.len()),
        );
        None
    }

    /// Restores a freeze target: the application writes again, now to the new database.
    fn unfreeze(&mut self, name: &str) -> Option<Phase> {
        let label = name.trim_start_matches("unfreeze/");
        let Some(index) = self.inputs.freeze.iter().position(|t| t.target == label) else {
            return self.fail_step(name, format!("{label} is not in the plan's freeze targets"));
        };
        let obs = self.inputs.freeze[index].clone();
        let Some(saved) = self
            .status
            .freeze_saved
            .iter()
            .find(|s| s.target == label)
            .cloned()
        else {
            self.end_step(name, StepState::Skipped, "never frozen");
            return None;
        };
        let previous = match self.previous_value(&saved, &obs) {
            Ok(p) => p,
            Err(why) => return self.fail_step(name, why),
        };
        if obs.current.is(previous.as_deref()) {
            self.end_step(
                name,
                StepState::Succeeded,
                "restored to its value before the freeze",
            );
            return None;
        }
        if self.step(name).is_some_and(|s| s.applied_at.is_some()) {
            return self.fail_step(
                name,
                format!("{label} was changed again after it was restored"),
            );
        }
        if let Read::Unknown(why) = &obs.current {
            return self.fail_step(name, format!("{label} could not be read: {why}"));
        }
        self.start_step(name, "restoring the value before the freeze");
        self.act = Some(Act::Set {
            list: List::Freeze,
            index,
            value: previous,
            purpose: Purpose::Step(name.to_string()),
        });
        self.waiting(
            Phase::Unfreezing,
            "Unfreezing",
            format!("restoring {label}"),
        )
    }

    /// The previous value of a saved target (None: it did not exist).
    pub(super) fn previous_value(
        &self,
        saved: &SavedValue,
        obs: &super::TargetObs,
    ) -> Result<Option<String>, String> {
        if !saved.existed {
            return Ok(None);
        }
        if saved.stored_in.is_none() {
            // Existed but no value: lost when saved; never guess (that would delete the key).
            return saved.value.clone().map(Some).ok_or_else(|| {
                format!(
                    "the saved value of {} was lost (status kept no value): restore it by hand",
                    saved.target
                )
            });
        }
        match &obs.kept {
            Read::Value(v) => Ok(Some(v.clone())),
            Read::Absent => Err(format!(
                "the saved value of {} is missing from Secret {}: restore it by hand",
                saved.target, self.inputs.rollback_secret
            )),
            Read::Unknown(why) => Err(format!(
                "the saved value of {} could not be read from Secret {} ({why})",
                saved.target, self.inputs.rollback_secret
            )),
        }
    }

    /// Post-switch watch: every switched object still reads back as set and no migration
    /// failed, for `postSwitch.watchSeconds`.
    fn watch(&mut self, name: &str) -> Option<Phase> {
        if self
            .step(name)
            .is_some_and(|s| s.started_at.is_none() || s.state != StepState::Running)
        {
            self.start_step(name, "watching");
        }
        let started = self
            .step(name)
            .and_then(|s| s.started_at.as_ref().map(|t| t.0))
            .unwrap_or(self.now());
        let window = Duration::from_secs(self.plan.post_switch.watch_seconds.max(0) as u64);
        let mut problems: Vec<String> = self
            .inputs
            .targets
            .iter()
            .filter(|t| !t.applied())
            .map(|t| format!("{} no longer reads back as set", t.target))
            .collect();
        for m in self.inputs.migrations {
            match m {
                MigrationObs::Dts(d) if !d.exists => {
                    problems.push(format!("DtsMigration {} is gone", d.name))
                }
                MigrationObs::Dts(d)
                    if matches!(
                        d.phase,
                        Some(DtsMigrationPhase::Failed | DtsMigrationPhase::Retrying)
                    ) =>
                {
                    problems.push(format!("DtsMigration {} is {:?}", d.name, d.phase))
                }
                MigrationObs::Mms(j) if !j.exists || j.phase == Some(MmsJobPhase::Failed) => {
                    problems.push(format!("MmsJob {} is {:?}", j.name, j.phase))
                }
                MigrationObs::DataWorks(w) if !w.exists => {
                    problems.push(format!("DataWorksMigration {} is gone", w.name))
                }
                _ => {}
            }
        }
        if !problems.is_empty() {
            return self.fail_step(
                name,
                format!("post-switch check failed: {}", problems.join("; ")),
            );
        }
        let until = started.checked_add(window).unwrap_or(started);
        if self.now() >= until {
            self.end_step(
                name,
                StepState::Succeeded,
                format!(
                    "every switched object read back as set and no migration failed for {}s",
                    window.as_secs()
                ),
            );
            return None;
        }
        self.requeue = elapsed(self.now(), until)
            .min(POLL_WATCHING)
            .max(Duration::from_secs(1));
        self.waiting(
            Phase::Watching,
            "Watching",
            format!("switched; watching until {until}"),
        )
    }
}
