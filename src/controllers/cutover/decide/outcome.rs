//! The pure half of acting: what an action's outcome changes in status. The controller writes
//! status again after each action, so a step is marked done (or failed) once, by the answer
//! that proved it, and never re-done in a loop.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{Act, Purpose};
use crate::api::cutover::{CutoverStatus, RollbackStatus, StepState};

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; for a set, the server's answer reads back as set.
    Done,
    /// Failed in a way retrying cannot fix (the message says why; values are scrubbed).
    Failed(String),
    /// Failed for now; the controller retries with backoff.
    Retry(String),
}

/// Records the outcome of `act` (with `label` the target it addressed, when any).
pub fn record(
    status: &mut CutoverStatus,
    act: &Act,
    label: Option<&str>,
    outcome: &Outcome,
    now: jiff::Timestamp,
) {
    let step_name = match act {
        Act::StopReplication { step, .. } | Act::Keep { step, .. } => Some(step.as_str()),
        Act::Set {
            purpose: Purpose::Step(step),
            ..
        } => Some(step.as_str()),
        Act::Set { .. } | Act::Sample { .. } | Act::FinalRound { .. } => None,
    };
    if let Some(name) = step_name {
        let Some(step) = status.steps.iter_mut().find(|s| s.name == name) else {
            return;
        };
        match outcome {
            Outcome::Done => {
                if matches!(act, Act::Set { .. }) {
                    step.applied_at = Some(Time(now));
                    step.message = "set; the server's answer reads back as set".into();
                }
            }
            Outcome::Failed(why) => {
                step.state = StepState::Failed;
                step.finished_at = Some(Time(now));
                step.message = why.clone();
            }
            Outcome::Retry(why) => {
                step.state = StepState::Running;
                step.message = format!("retrying: {why}");
            }
        }
        return;
    }
    let (Act::Set { purpose, .. }, Some(label)) = (act, label) else {
        return;
    };
    match outcome {
        Outcome::Done => mark_done(status, purpose, label, now),
        Outcome::Failed(why) => rollback(status).failed.push(format!("{label}: {why}")),
        Outcome::Retry(why) => rollback(status).last_error = Some(why.clone()),
    }
}

fn rollback(status: &mut CutoverStatus) -> &mut RollbackStatus {
    status.rollback.get_or_insert_with(RollbackStatus::default)
}

/// A rollback target is done: list it, and mark the step it undid.
pub(super) fn mark_done(
    status: &mut CutoverStatus,
    purpose: &Purpose,
    label: &str,
    now: jiff::Timestamp,
) {
    let (list, step) = {
        let r = rollback(status);
        match purpose {
            Purpose::Refreeze => (&mut r.refrozen, None),
            Purpose::Restore => (&mut r.restored, Some(format!("switch/{label}"))),
            Purpose::Unfreeze => (&mut r.unfrozen, Some(format!("freeze/{label}"))),
            Purpose::Step(_) => return,
        }
    };
    if !list.iter().any(|x| x == label) {
        list.push(label.to_string());
    }
    if let Some(name) = step
        && let Some(s) = status.steps.iter_mut().find(|s| s.name == name)
        && s.state != StepState::Failed
    {
        s.state = StepState::RolledBack;
        s.message = "restored to the saved value".into();
        s.finished_at = Some(Time(now));
    }
}
