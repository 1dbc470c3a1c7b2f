//! Rollback: freeze again if the application was already unfrozen, restore every switched
//! target to its saved value (in reverse order, empty values included, absent keys removed),
//! then restore the freeze targets. Requested, it ends RolledBack; after a failed step Failed;
//! after an abort or a drain timeout (nothing switched) Aborted.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    Act, List, Machine, POLL_SETTLED, POLL_SWITCHING, Purpose, ROLLBACK_TIMEOUT, Read, elapsed,
};
use crate::api::conditions::{Desired, READY};
use crate::api::cutover::{CutoverPhase as Phase, RollbackStatus, StepState};

/// What one target needs in the rollback.
enum Todo {
    Done,
    Failed(String),
    Set(Option<String>),
    Wait(String),
}

impl Machine<'_, '_> {
    /// Starts (or continues) a rollback ending in `ends_in`.
    pub(super) fn start_rollback(&mut self, reason: String, ends_in: Phase) -> Phase {
        if self
            .status
            .rollback
            .as_ref()
            .is_none_or(|r| r.finished_at.is_some())
        {
            self.status.rollback = Some(RollbackStatus {
                reason: Some(reason),
                ends_in: Some(ends_in),
                started_at: Some(Time(self.now())),
                ..RollbackStatus::default()
            });
        }
        self.roll_back()
    }

    fn report(&mut self) -> &mut RollbackStatus {
        self.status.rollback.get_or_insert_with(|| RollbackStatus {
            reason: Some("requested".into()),
            ends_in: Some(Phase::RolledBack),
            ..RollbackStatus::default()
        })
    }

    fn settled_before(&self, label: &str) -> bool {
        self.status.rollback.as_ref().is_some_and(|r| {
            r.failed
                .iter()
                .any(|f| f.starts_with(&format!("{label}: ")))
        })
    }

    /// Whether the application was unfrozen after the switch (so it may have written to the
    /// new database, and must be frozen again before restoring).
    fn unfrozen_after_switch(&self) -> bool {
        self.status
            .steps
            .iter()
            .any(|s| s.name.starts_with("unfreeze/") && s.state == StepState::Succeeded)
    }

    fn timed_out(&self) -> bool {
        self.status
            .rollback
            .as_ref()
            .and_then(|r| r.started_at.as_ref())
            .is_some_and(|t| elapsed(t.0, self.now()) > ROLLBACK_TIMEOUT)
    }

    pub(super) fn roll_back(&mut self) -> Phase {
        self.requeue = POLL_SWITCHING;
        self.report();
        // 1. Freeze again, when the application writes to the new database by now.
        if self.unfrozen_after_switch() {
            for index in 0..self.inputs.freeze.len() {
                let obs = self.inputs.freeze[index].clone();
                if self.listed(&obs.target, |r| &r.refrozen) {
                    continue;
                }
                let todo = if obs.applied() {
                    if obs.settled == Some(false) && !self.timed_out() {
                        Todo::Wait(format!(
                            "{} set again; waiting for its replicas to stop",
                            obs.target
                        ))
                    } else {
                        Todo::Done
                    }
                } else {
                    match &obs.desired {
                        Ok(d) => Todo::Set(Some(d.clone())),
                        Err(why) => Todo::Failed(why.clone()),
                    }
                };
                if let Some(p) =
                    self.apply(List::Freeze, index, &obs.target, todo, Purpose::Refreeze)
                {
                    return p;
                }
            }
        }
        // 2. Restore the switched targets, last switched first.
        if let Some(p) = self.restore_all(List::Switch) {
            return p;
        }
        // 3. Unfreeze: the application writes to the source again.
        if let Some(p) = self.restore_all(List::Freeze) {
            return p;
        }
        self.finish_rollback()
    }

    /// Restores every saved target of `list` (last saved first); Some(phase) while one is
    /// being set.
    fn restore_all(&mut self, list: List) -> Option<Phase> {
        let (saved, purpose, step) = match list {
            List::Switch => (self.status.saved.clone(), Purpose::Restore, "switch"),
            List::Freeze => (
                self.status.freeze_saved.clone(),
                Purpose::Unfreeze,
                "freeze",
            ),
        };
        for saved in saved.iter().rev() {
            let done = match list {
                List::Switch => self.listed(&saved.target, |r| &r.restored),
                List::Freeze => self.listed(&saved.target, |r| &r.unfrozen),
            };
            if done {
                continue;
            }
            let observed = match list {
                List::Switch => self.inputs.targets,
                List::Freeze => self.inputs.freeze,
            };
            let Some(index) = observed.iter().position(|t| t.target == saved.target) else {
                let label = saved.target.clone();
                self.report()
                    .failed
                    .push(format!("{label}: no longer in the plan"));
                continue;
            };
            let obs = observed[index].clone();
            // Never set (saved, then its step failed): nothing to undo, unless the rollback
            // froze it again.
            let refrozen = list == List::Freeze && self.listed(&saved.target, |r| &r.refrozen);
            if self.untouched(&format!("{step}/{}", saved.target), &obs) && !refrozen {
                continue;
            }
            let todo = self.restore_todo(saved, &obs);
            if let Some(p) = self.apply(list, index, &saved.target, todo, purpose.clone()) {
                return Some(p);
            }
        }
        None
    }

    fn listed(&self, label: &str, pick: impl Fn(&RollbackStatus) -> &Vec<String>) -> bool {
        self.status
            .rollback
            .as_ref()
            .is_some_and(|r| pick(r).iter().any(|x| x == label))
            || self.settled_before(label)
    }

    /// A target whose step never set it (saved, then the step failed) and that does not read
    /// as set: there is nothing to undo.
    fn untouched(&self, step: &str, obs: &super::TargetObs) -> bool {
        let set = self.step(step).is_some_and(|s| {
            s.applied_at.is_some()
                || s.state == StepState::Succeeded
                || s.state == StepState::RolledBack
        });
        !set && !obs.applied()
    }

    fn restore_todo(
        &self,
        saved: &crate::api::cutover::SavedValue,
        obs: &super::TargetObs,
    ) -> Todo {
        let previous = match self.previous_value(saved, obs) {
            Ok(p) => p,
            Err(why) => return Todo::Failed(why),
        };
        match &obs.current {
            Read::Unknown(why) => Todo::Failed(format!("could not be read ({why})")),
            current if current.is(previous.as_deref()) => Todo::Done,
            _ => Todo::Set(previous),
        }
    }

    /// Records a target as done or failed, or asks for it to be set; Some(phase) while waiting.
    fn apply(
        &mut self,
        list: List,
        index: usize,
        label: &str,
        todo: Todo,
        purpose: Purpose,
    ) -> Option<Phase> {
        let todo = match todo {
            Todo::Set(_) | Todo::Wait(_) if self.timed_out() => Todo::Failed(format!(
                "not restored within {}s: {}",
                ROLLBACK_TIMEOUT.as_secs(),
                self.status
                    .rollback
                    .as_ref()
                    .and_then(|r| r.last_error.clone())
                    .unwrap_or_else(|| "no answer".into())
            )),
            other => other,
        };
        match todo {
            Todo::Done => {
                super::outcome::mark_done(&mut self.status, &purpose, label, self.inputs.now);
                None
            }
            Todo::Failed(why) => {
                self.report().failed.push(format!("{label}: {why}"));
                None
            }
            Todo::Wait(message) => {
                self.ready = Desired::false_(READY, "RollingBack", message);
                Some(Phase::RollingBack)
            }
            Todo::Set(value) => {
                self.act = Some(Act::Set {
                    list,
                    index,
                    value,
                    purpose: purpose.clone(),
                });
                let what = match purpose {
                    Purpose::Refreeze => "freezing again",
                    Purpose::Unfreeze => "unfreezing",
                    _ => "restoring",
                };
                self.ready = Desired::false_(READY, "RollingBack", format!("{what} {label}"));
                Some(Phase::RollingBack)
            }
        }
    }

    fn finish_rollback(&mut self) -> Phase {
        let stopped = self.stopped_replications();
        let unfrozen_after_switch = self.unfrozen_after_switch();
        let now = self.now();
        let report = self.report();
        if report.notes.is_empty() {
            if !stopped.is_empty() {
                report.notes.push(format!(
                    "DTS replication of {} was stopped and cannot be restarted; create a new DtsMigration if the source must be migrated again",
                    stopped.join(", ")
                ));
            }
            if unfrozen_after_switch {
                report.notes.push(
                    "writes the application made to the new database (MaxCompute) after the switch are not copied back to the source: DTS cannot use MaxCompute as a source".into(),
                );
            }
        }
        report.finished_at.get_or_insert(Time(now));
        let report = report.clone();
        let ends_in = report.ends_in.unwrap_or(Phase::RolledBack);
        let mut message = format!(
            "restored {}{}{}",
            list_or_none(&report.restored),
            if report.unfrozen.is_empty() {
                String::new()
            } else {
                format!("; unfrozen {}", report.unfrozen.join(", "))
            },
            if report.failed.is_empty() {
                String::new()
            } else {
                format!("; could not restore {}", report.failed.join("; "))
            }
        );
        let reason = report.reason.clone().unwrap_or_default();
        message = match ends_in {
            Phase::Failed => format!("{reason}; rolled back: {message}"),
            Phase::Aborted => format!("aborted: {reason}; {message}"),
            _ => format!("rolled back: {message}"),
        };
        self.status.reason = Some(reason);
        for step in &mut self.status.steps {
            if step.state == StepState::Planned || step.state == StepState::Running {
                step.state = StepState::Skipped;
                step.finished_at = Some(Time(now));
            }
        }
        self.ready = Desired::false_(READY, format!("{ends_in:?}"), message);
        self.requeue = POLL_SETTLED;
        ends_in
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}
