//! When a DtsMigration needs DTS read (the informer does the reading), and the status it shows
//! before the first read: pure functions of (spec, status, time).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, Desired, READY};
use crate::api::dts_migration::{DtsMigrationPhase as Phase, DtsMigrationSpec, DtsMigrationStatus};
use crate::controllers::poll::keep_stamp_unless_changed;

/// Whether the spec asks for something the last observation has not answered yet: a new
/// generation, a suspend or resume, a precheck run, a stop.
pub fn request_pending(
    spec: &DtsMigrationSpec,
    status: &DtsMigrationStatus,
    generation: Option<i64>,
) -> bool {
    let suspended = status.phase == Some(Phase::Suspended);
    let precheck_request = spec.precheck_requested_at.is_some()
        && spec.precheck_requested_at != status.last_precheck_requested_at;
    let stop_request =
        spec.stop && !matches!(status.phase, Some(Phase::Stopped) | Some(Phase::Completed));
    status.observed_generation != generation
        || spec.suspend != suspended
        || precheck_request
        || stop_request
}

/// Phases in which the task does not change by itself any more: nothing is read.
pub fn settled(phase: Option<Phase>) -> bool {
    matches!(
        phase,
        Some(Phase::Completed | Phase::Stopped | Phase::Failed | Phase::Invalid)
    )
}

/// The status of an object DTS has not been read for yet, or whose call waits its turn: a new
/// object gets phase `Pending`, `observedGeneration` and `Ready=False` with `reason`; one with a
/// phase keeps everything (it is not re-evaluated without a read).
pub fn pending(
    prev: &DtsMigrationStatus,
    generation: Option<i64>,
    reason: &str,
    message: String,
    now: jiff::Timestamp,
) -> DtsMigrationStatus {
    let mut status = prev.clone();
    // Said once: a message that counted down each time would rewrite status on every requeue.
    let said = conditions::find(&prev.conditions, READY).is_some_and(|c| c.reason == reason)
        && prev.observed_generation == generation;
    if !said && matches!(prev.phase, None | Some(Phase::Pending)) {
        status.observed_generation = generation;
        status.phase = Some(Phase::Pending);
        status.conditions = conditions::merge(
            &prev.conditions,
            &[Desired::false_(READY, reason, message)],
            generation,
            now,
        );
    }
    status
}

/// Sets when the next read is planned without making that alone a status change: a read that
/// learnt nothing writes nothing.
pub fn plan_next_poll(
    prev: &DtsMigrationStatus,
    status: &mut DtsMigrationStatus,
    next_poll_at: Option<jiff::Timestamp>,
) {
    status.next_poll_at = next_poll_at.filter(|_| !settled(status.phase)).map(Time);
    keep_stamp_unless_changed(prev, status, |s| &mut s.next_poll_at);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn finished_tasks_are_not_read_until_the_spec_asks() {
        let spec = DtsMigrationSpec::default();
        let done = DtsMigrationStatus {
            observed_generation: Some(1),
            phase: Some(Phase::Completed),
            ..Default::default()
        };
        assert!(settled(done.phase));
        assert!(!request_pending(&spec, &done, Some(1)));
        assert!(request_pending(&spec, &done, Some(2)));
        let suspend = DtsMigrationSpec {
            suspend: true,
            ..Default::default()
        };
        assert!(request_pending(&suspend, &done, Some(1)));
        assert!(!settled(Some(Phase::Replicating)));
        assert!(!settled(Some(Phase::Suspended)));
    }

    #[test]
    fn a_new_object_gets_a_first_status_without_a_read() {
        let first = pending(
            &DtsMigrationStatus::default(),
            Some(1),
            "Queued",
            "ConfigureDtsJob waits".into(),
            at(0),
        );
        assert_eq!(first.phase, Some(Phase::Pending));
        assert_eq!(first.observed_generation, Some(1));
        let ready = conditions::find(&first.conditions, READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "Queued")
        );
        let running = DtsMigrationStatus {
            phase: Some(Phase::MigratingFull),
            observed_generation: Some(1),
            ..Default::default()
        };
        assert_eq!(
            pending(&running, Some(2), "Pending", "x".into(), at(1)),
            running
        );
    }

    #[test]
    fn the_next_poll_alone_changes_nothing() {
        let prev = DtsMigrationStatus {
            phase: Some(Phase::MigratingFull),
            next_poll_at: Some(Time(at(15))),
            ..Default::default()
        };
        let mut same = prev.clone();
        plan_next_poll(&prev, &mut same, Some(at(30)));
        assert_eq!(same, prev);
        let mut moved = DtsMigrationStatus {
            phase: Some(Phase::Replicating),
            ..prev.clone()
        };
        plan_next_poll(&prev, &mut moved, Some(at(30)));
        assert_eq!(moved.next_poll_at, Some(Time(at(30))));
        let mut done = DtsMigrationStatus {
            phase: Some(Phase::Completed),
            ..prev.clone()
        };
        plan_next_poll(&prev, &mut done, Some(at(30)));
        assert_eq!(done.next_poll_at, None);
    }
}
