use proptest::prelude::*;

use super::world::*;
use super::*;
use crate::api::conditions;
use crate::api::cutover::{Evidence, MaintenanceWindow, StepState, SwitchFailurePolicy};
use crate::api::dts_migration::DtsMigrationPhase;

const DSN: &str = "ConfigMap/app-db/DSN";
const FLAG: &str = "ConfigMap/app-flags/READ_ONLY";

fn completed(w: &World) -> bool {
    w.phase() == Phase::Completed
}

fn names(w: &World) -> Vec<String> {
    w.status.steps.iter().map(|s| s.name.clone()).collect()
}

fn condition<'a>(
    w: &'a World,
    t: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    conditions::find(&w.status.conditions, t)
}

#[test]
fn a_full_cutover_freezes_drains_switches_verifies_and_unfreezes_in_order() {
    let spec = frozen_spec();
    let mut w = World::new();
    let phases = w.run(&spec, 0, 200, 5, completed);
    assert_eq!(w.phase(), Phase::Completed, "{:?}", w.status);
    assert_eq!(
        names(&w),
        [
            "final-check",
            "freeze/ConfigMap/app-flags/READ_ONLY",
            "drain/orders",
            "drain/history",
            "stop-replication/orders",
            "switch/ConfigMap/app-db/DSN",
            "verify-switch",
            "unfreeze/ConfigMap/app-flags/READ_ONLY",
            "complete"
        ]
    );
    // The MmsJob has no schedule: it was complete before the freeze, and its drain says so.
    assert!(w.status.steps.iter().all(|s| s.state
        == if s.name == "drain/history" {
            StepState::Skipped
        } else {
            StepState::Succeeded
        }));
    for p in [
        Phase::Gating,
        Phase::Freezing,
        Phase::Draining,
        Phase::Switching,
        Phase::Completed,
    ] {
        assert!(phases.contains(&p), "{phases:?}");
    }
    assert_eq!(w.value(DSN).as_deref(), Some("maxcompute://dw"));
    assert_eq!(w.value(FLAG).as_deref(), Some("false"), "unfrozen");
    // frozenAt: the freeze read back, plus the settle time; the drain's proof is after it.
    let frozen = w.status.frozen_at.clone().unwrap().0;
    let drained = &w.status.drained[0];
    assert!(drained.checkpoint.0 >= frozen);
    assert!(drained.sample_at.0 > frozen);
    let stop = w
        .acts
        .iter()
        .position(|a| matches!(a, Act::StopReplication { .. }))
        .unwrap();
    let freeze = w
        .acts
        .iter()
        .position(
            |a| matches!(a, Act::Set { purpose: Purpose::Step(s), .. } if s.starts_with("freeze/")),
        )
        .unwrap();
    assert!(freeze < stop, "writes stop before replication does");
    assert_eq!(condition(&w, READY).unwrap().status, "True");
    assert_eq!(condition(&w, SPEC_ACCEPTED).unwrap().status, "True");
}

#[test]
fn an_observed_migration_is_gated_on_but_its_replication_is_never_stopped() {
    let spec = frozen_spec();
    let mut w = World::new();
    w.dts.observe_only = true;
    w.run(&spec, 0, 200, 5, completed);
    assert_eq!(w.phase(), Phase::Completed, "{:?}", w.status);
    assert!(
        !w.acts
            .iter()
            .any(|a| matches!(a, Act::StopReplication { .. })),
        "{:?}",
        w.acts
    );
    let stop = w
        .status
        .steps
        .iter()
        .find(|s| s.name == "stop-replication/orders")
        .unwrap();
    assert_eq!(stop.state, StepState::Skipped);
    assert!(stop.message.contains("NOT stopped"), "{}", stop.message);
}

#[test]
fn the_drain_waits_for_the_checkpoint_to_reach_frozen_at() {
    let spec = frozen_spec();
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, |w| w.status.frozen_at.is_some());
    let frozen = w.status.frozen_at.clone().unwrap().0;
    // DTS falls behind: samples keep coming but the checkpoint stays before frozenAt.
    w.lag = 30.0;
    let t0 = frozen.as_second() - 1_700_000_000;
    for t in t0..t0 + 20 {
        w.sample(t);
        w.step(&spec, t);
        assert_ne!(w.phase(), Phase::Switching, "switched before the drain");
    }
    assert_eq!(w.phase(), Phase::Draining);
    assert!(
        !w.acts
            .iter()
            .any(|a| matches!(a, Act::StopReplication { .. }))
    );
    // It catches up: the drain passes and the switch goes on.
    w.lag = 0.5;
    w.run(&spec, t0 + 20, t0 + 80, 1, completed);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn a_drain_timeout_unfreezes_at_once_and_aborts_with_nothing_switched() {
    let spec = frozen_spec();
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, |w| w.phase() == Phase::Draining);
    w.lag = 30.0;
    let phases = w.run(&spec, 100, 400, 1, |w| {
        matches!(w.phase(), Phase::Aborted | Phase::Completed)
    });
    assert_eq!(w.phase(), Phase::Aborted, "{phases:?}");
    assert_eq!(w.value(FLAG).as_deref(), Some("false"), "unfrozen");
    assert_eq!(
        w.value(DSN).as_deref(),
        Some("mysql://old"),
        "nothing switched"
    );
    assert!(
        !w.acts
            .iter()
            .any(|a| matches!(a, Act::StopReplication { .. }))
    );
    let reason = w.status.reason.clone().unwrap();
    assert!(reason.contains("drain.timeoutSeconds 60"), "{reason}");
    assert_eq!(w.status.rollback.as_ref().unwrap().unfrozen, [FLAG]);
}

#[test]
fn the_final_check_waits_for_a_sample_taken_after_the_gates_passed() {
    let spec = spec();
    let mut w = World::new();
    // Gates pass on samples up to 40.
    w.run(&spec, 0, 41, 5, |w| w.status.switch_started_at.is_some());
    w.dts_down = true;
    assert_eq!(w.phase(), Phase::Freezing, "{:?}", w.status.phase);
    let started = w.status.switch_started_at.clone().unwrap().0;
    // No DTS answer for 30 s (> maxSampleAgeSeconds 20): the final check fails, nothing changed.
    let t0 = started.as_second() - 1_700_000_000;
    for t in t0..t0 + 25 {
        let d = w.step(&spec, t);
        assert!(
            !matches!(
                d.act,
                Some(Act::StopReplication { .. }) | Some(Act::Set { .. })
            ),
            "acted without a fresh sample"
        );
    }
    assert_eq!(w.phase(), Phase::Paused);
    assert!(w.status.reason.clone().unwrap().contains("no lag sample"));
    assert_eq!(w.status.plan, None, "the plan is no longer frozen");
    assert!(
        w.acts.iter().any(|a| matches!(a, Act::Sample { .. })),
        "it asked for a sample"
    );
}

#[test]
fn the_final_check_passes_on_a_fresh_sample() {
    let spec = spec();
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
    let step = w
        .status
        .steps
        .iter()
        .find(|s| s.name == STEP_FINAL_CHECK)
        .unwrap();
    assert!(step.message.contains("lag/orders"), "{}", step.message);
}

#[test]
fn a_lag_spike_during_gating_resets_the_stable_window() {
    let spec = spec();
    let mut w = World::new();
    for t in (0..25).step_by(5) {
        w.sample(t);
        w.step(&spec, t);
    }
    w.lag = 9.0;
    w.sample(25);
    w.step(&spec, 25);
    w.lag = 1.0;
    for t in (30..55).step_by(5) {
        w.sample(t);
        w.step(&spec, t);
        assert_eq!(w.phase(), Phase::Gating, "at {t}");
    }
    let lag = w
        .status
        .gates
        .iter()
        .find(|g| g.name == "lag/orders")
        .unwrap();
    assert_eq!(lag.since, Some(Time(at(30))));
}

#[test]
fn approval_is_awaited_when_required_and_recorded() {
    let mut spec = spec();
    spec.gates.require_approval = true;
    let mut w = World::new();
    w.run(&spec, 0, 100, 5, |w| w.phase() == Phase::AwaitingApproval);
    assert_eq!(w.phase(), Phase::AwaitingApproval);
    assert!(w.acts.is_empty(), "nothing happens before approval");
    w.requests.approval = Some(crate::api::cutover::Approval {
        approved_by: "lead@example.com".into(),
        approved_at: None,
        comment: None,
    });
    w.run(&spec, 100, 300, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
    assert_eq!(
        w.status.approval.as_ref().unwrap().approved_by,
        "lead@example.com"
    );
}

#[test]
fn a_closed_window_waits_and_wakes_up_when_it_opens() {
    let mut spec = spec();
    // at(0) is 2023-11-14T22:13:20Z; the window opens at 22:20.
    spec.gates.window = Some(MaintenanceWindow {
        start: "22:20".into(),
        duration_minutes: 30,
        days: vec![],
        time_zone: Some("UTC".into()),
    });
    let mut w = World::new();
    w.run(&spec, 0, 100, 5, |_| false);
    w.sample(100);
    let d = w.step(&spec, 100);
    assert_eq!(w.phase(), Phase::WaitingForWindow);
    let requeue = d.requeue.expect("a Cutover is always looked at again");
    assert!(requeue <= Duration::from_secs(300) && requeue >= Duration::from_secs(1));
    w.run(&spec, 400, 700, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn abort_before_the_switch_changes_nothing() {
    let spec = spec();
    let mut w = World::new();
    w.step(&spec, 0);
    w.requests.abort = true;
    w.step(&spec, 1);
    assert_eq!(w.phase(), Phase::Aborted);
    assert!(w.acts.is_empty());
    assert!(condition(&w, ABORT_REFUSED).is_none());
}

#[test]
fn abort_during_the_freeze_unfreezes_and_aborts() {
    let spec = frozen_spec();
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, |w| w.phase() == Phase::Draining);
    assert_eq!(w.value(FLAG).as_deref(), Some("true"));
    w.requests.abort = true;
    w.run(&spec, 200, 260, 5, |w| w.phase() == Phase::Aborted);
    assert_eq!(w.phase(), Phase::Aborted);
    assert_eq!(w.value(FLAG).as_deref(), Some("false"));
    assert_eq!(w.value(DSN).as_deref(), Some("mysql://old"));
}

#[test]
fn an_abort_after_completion_is_refused_in_a_condition() {
    let spec = spec();
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, completed);
    w.requests.abort = true;
    w.step(&spec, 300);
    assert_eq!(w.phase(), Phase::Completed);
    let refused = condition(&w, ABORT_REFUSED).unwrap();
    assert_eq!(refused.status, "True");
    assert!(refused.message.contains("rollback"), "{}", refused.message);
    // Withdrawn, the condition goes.
    w.requests.abort = false;
    w.step(&spec, 301);
    assert!(condition(&w, ABORT_REFUSED).is_none());
}

#[test]
fn rollback_after_completion_freezes_restores_and_unfreezes() {
    let spec = frozen_spec();
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, completed);
    let refrozen_seen = std::cell::Cell::new(false);
    w.requests.rollback = true;
    let mut t = 300;
    while w.phase() != Phase::RolledBack && t < 400 {
        w.step(&spec, t);
        if w.value(FLAG).as_deref() == Some("true")
            && w.value(DSN).as_deref() == Some("mysql://old")
        {
            refrozen_seen.set(true);
        }
        t += 1;
    }
    assert_eq!(w.phase(), Phase::RolledBack);
    assert!(
        refrozen_seen.get(),
        "the DSN was restored while the app was frozen"
    );
    assert_eq!(w.value(DSN).as_deref(), Some("mysql://old"));
    assert_eq!(w.value(FLAG).as_deref(), Some("false"));
    let r = w.status.rollback.clone().unwrap();
    assert_eq!(r.refrozen, [FLAG]);
    assert_eq!(r.restored, [DSN]);
    assert_eq!(r.unfrozen, [FLAG]);
    assert!(r.notes.iter().any(|n| n.contains("cannot be restarted")));
    assert!(r.notes.iter().any(|n| n.contains("not copied back")));
    assert_eq!(
        w.step_state("switch/ConfigMap/app-db/DSN"),
        StepState::RolledBack
    );
}

#[test]
fn a_rejected_set_rolls_back_what_was_done_and_fails() {
    let mut spec = frozen_spec();
    spec.switch.push(key("app-db", "ENGINE", "maxcompute"));
    let mut w = World::new();
    w.reject.insert(
        "ConfigMap/app-db/ENGINE".into(),
        "ConfigMap \"app-db\" is invalid (422)".into(),
    );
    w.run(&spec, 0, 300, 5, |w| w.phase() == Phase::Failed);
    assert_eq!(w.phase(), Phase::Failed);
    assert_eq!(
        w.step_state("switch/ConfigMap/app-db/ENGINE"),
        StepState::Failed
    );
    assert_eq!(
        w.step_state("switch/ConfigMap/app-db/DSN"),
        StepState::RolledBack
    );
    assert_eq!(w.value(DSN).as_deref(), Some("mysql://old"));
    assert_eq!(
        w.value(FLAG).as_deref(),
        Some("false"),
        "unfrozen after the rollback"
    );
    let ready = condition(&w, READY).unwrap();
    assert!(
        ready.message.contains(DSN) && ready.message.contains("422"),
        "{}",
        ready.message
    );
    // Settled: no more actions.
    let acts = w.acts.len();
    w.run(&spec, 300, 320, 5, |_| false);
    assert_eq!(w.acts.len(), acts);
}

#[test]
fn on_switch_failure_pause_leaves_things_for_a_human() {
    let mut spec = spec();
    spec.on_switch_failure = SwitchFailurePolicy::Pause;
    spec.switch.push(key("app-db", "ENGINE", "maxcompute"));
    let mut w = World::new();
    w.reject
        .insert("ConfigMap/app-db/ENGINE".into(), "invalid (422)".into());
    w.run(&spec, 0, 300, 5, |w| w.phase() == Phase::Paused);
    assert_eq!(w.phase(), Phase::Paused);
    assert_eq!(
        w.value(DSN).as_deref(),
        Some("maxcompute://dw"),
        "left as it is"
    );
    // Resume retries the failed step; the server takes it this time.
    w.reject.clear();
    w.requests.resume = Some("now".into());
    w.run(&spec, 300, 400, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
    assert_eq!(
        w.value("ConfigMap/app-db/ENGINE").as_deref(),
        Some("maxcompute")
    );
}

#[test]
fn a_value_that_cannot_be_read_is_never_saved_as_absent() {
    let mut spec = spec();
    spec.switch.push(key("app-flags", "ENGINE", "maxcompute"));
    let mut w = World::new();
    w.values
        .insert("ConfigMap/app-flags/ENGINE".into(), Some("polardb".into()));
    w.run(&spec, 0, 300, 5, |w| {
        w.status.saved.iter().any(|s| s.target == DSN)
    });
    w.unreadable.insert("ConfigMap/app-flags/ENGINE".into());
    w.run(&spec, 300, 500, 5, |w| w.phase() == Phase::Failed);
    assert_eq!(w.phase(), Phase::Failed);
    assert!(
        !w.status
            .saved
            .iter()
            .any(|s| s.target == "ConfigMap/app-flags/ENGINE")
    );
    assert_eq!(
        w.value("ConfigMap/app-flags/ENGINE").as_deref(),
        Some("polardb")
    );
    assert_eq!(w.value(DSN).as_deref(), Some("mysql://old"));
}

#[test]
fn a_saved_value_that_does_not_read_back_exactly_is_never_overwritten() {
    let mut spec = spec();
    spec.switch = vec![key("app-db", "OPTIONS", "tls=true")];
    let mut w = World::new();
    w.values
        .insert("ConfigMap/app-db/OPTIONS".into(), Some(String::new()));
    w.lossy_status = true;
    w.run(&spec, 0, 300, 5, |w| {
        matches!(w.phase(), Phase::Failed | Phase::Completed)
    });
    assert_eq!(w.phase(), Phase::Failed);
    assert_eq!(w.value("ConfigMap/app-db/OPTIONS").as_deref(), Some(""));
}

#[test]
fn sensitive_values_are_kept_in_the_secret_before_anything_is_set() {
    let mut spec = spec();
    spec.switch = vec![key("app-db", "DB_PASSWORD", "new-pass")];
    let mut w = World::new();
    w.values.insert(
        "ConfigMap/app-db/DB_PASSWORD".into(),
        Some("old-pass".into()),
    );
    w.run(&spec, 0, 300, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
    let saved = &w.status.saved[0];
    assert_eq!(saved.value, None);
    assert_eq!(
        saved.set_digest, "",
        "not even a hash of a credential in status"
    );
    assert_eq!(
        saved.stored_in.as_deref(),
        Some("Secret/cut-rollback#target-0")
    );
    let keep = w
        .acts
        .iter()
        .position(|a| matches!(a, Act::Keep { .. }))
        .unwrap();
    let set = w
        .acts
        .iter()
        .position(|a| matches!(a, Act::Set { .. }))
        .unwrap();
    assert!(keep < set);
    // (The new value is inline in the spec, so the frozen plan carries it; the previous one
    // never reaches status.)
    let status = serde_json::to_string(&w.status).unwrap();
    assert!(!status.contains("old-pass"));
    assert!(
        !format!("{:?}", w.acts).contains("pass"),
        "acts never print values"
    );
    w.requests.rollback = true;
    w.run(&spec, 300, 400, 5, |w| w.phase() == Phase::RolledBack);
    assert_eq!(
        w.value("ConfigMap/app-db/DB_PASSWORD").as_deref(),
        Some("old-pass")
    );
}

#[test]
fn a_spec_edit_after_switching_started_is_refused_and_the_frozen_plan_runs() {
    let spec = spec();
    let mut w = World::new();
    w.run(&spec, 0, 300, 5, |w| w.phase() == Phase::Switching);
    let mut edited = spec.clone();
    edited.stop_replication = false;
    edited.switch[0] = key("app-db", "DSN", "something-else");
    w.generation = 2;
    w.run(&edited, 300, 500, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
    assert_eq!(w.value(DSN).as_deref(), Some("maxcompute://dw"));
    assert_eq!(
        w.step_state("stop-replication/orders"),
        StepState::Succeeded
    );
    let refused = condition(&w, SPEC_ACCEPTED).unwrap();
    assert_eq!(refused.status, "False");
    assert!(refused.message.contains("switch") && refused.message.contains("stopReplication"));
    assert_eq!(refused.observed_generation, Some(2));
}

#[test]
fn a_value_changed_back_during_the_watch_rolls_back() {
    let mut spec = frozen_spec();
    spec.post_switch.watch_seconds = 60;
    let mut w = World::new();
    w.run(&spec, 0, 300, 5, |w| w.phase() == Phase::Watching);
    assert_eq!(w.phase(), Phase::Watching);
    // Someone (an old deploy pipeline?) writes the old DSN back.
    w.values.insert(DSN.into(), Some("mysql://other".into()));
    w.run(&spec, 300, 400, 5, |w| w.phase() == Phase::Failed);
    assert_eq!(w.phase(), Phase::Failed);
    assert!(
        w.status
            .reason
            .clone()
            .unwrap()
            .contains("post-switch check failed")
    );
    assert_eq!(w.value(DSN).as_deref(), Some("mysql://old"));
    assert_eq!(w.value(FLAG).as_deref(), Some("false"));
    assert_eq!(w.status.rollback.as_ref().unwrap().refrozen, [FLAG]);
}

#[test]
fn a_failed_migration_during_the_watch_pauses_when_asked_to() {
    let mut spec = spec();
    spec.post_switch.watch_seconds = 60;
    spec.on_switch_failure = SwitchFailurePolicy::Pause;
    spec.stop_replication = false;
    let mut w = World::new();
    w.run(&spec, 0, 300, 5, |w| w.phase() == Phase::Watching);
    w.dts.phase = Some(DtsMigrationPhase::Retrying);
    w.run(&spec, 300, 320, 5, |w| w.phase() == Phase::Paused);
    assert_eq!(w.phase(), Phase::Paused);
    assert_eq!(w.value(DSN).as_deref(), Some("maxcompute://dw"));
}

#[test]
fn the_watch_completes_when_nothing_fails() {
    let mut spec = spec();
    spec.post_switch.watch_seconds = 30;
    let mut w = World::new();
    let phases = w.run(&spec, 0, 400, 5, completed);
    assert!(phases.contains(&Phase::Watching), "{phases:?}");
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn dry_run_plans_the_freeze_and_drain_but_never_acts() {
    let mut spec = frozen_spec();
    spec.dry_run = true;
    let mut w = World::new();
    w.run(&spec, 0, 200, 5, |_| false);
    assert_eq!(w.phase(), Phase::DryRun);
    assert!(w.acts.is_empty());
    let steps = names(&w);
    assert!(steps.contains(&"freeze/ConfigMap/app-flags/READ_ONLY".to_string()));
    assert!(steps.contains(&"drain/orders".to_string()));
    assert!(w.status.steps.iter().all(|s| s.state == StepState::Planned));
}

#[test]
fn without_a_freeze_the_report_says_writes_may_be_lost() {
    let mut w = World::new();
    w.step(&spec(), 0);
    let g = w.status.gates.iter().find(|g| g.name == "freeze").unwrap();
    assert!(g.passed && g.evidence == Evidence::Waived && g.observed.contains("may be lost"));
    let mut w = World::new();
    w.step(&frozen_spec(), 0);
    assert!(!w.status.gates.iter().any(|g| g.name == "freeze"));
}

#[test]
fn a_failed_gate_pauses_and_resumes_on_request() {
    let spec = spec();
    let mut w = World::new();
    w.mms.verified = Some(("False".into(), "Mismatch".into(), "orders differ".into()));
    w.step(&spec, 0);
    assert_eq!(w.phase(), Phase::Paused);
    w.mms.verified = Some(("True".into(), "RowCountsMatch".into(), "ok".into()));
    w.step(&spec, 10);
    assert_eq!(w.phase(), Phase::Paused, "waits for a human");
    w.requests.resume = Some("t1".into());
    w.run(&spec, 20, 200, 5, completed);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn deciding_twice_on_the_same_facts_changes_nothing() {
    let spec = frozen_spec();
    let mut w = World::new();
    w.run(&spec, 0, 33, 5, |_| false);
    let before = w.status.clone();
    let mut again = w.clone();
    again.status = before.clone();
    let a = again.clone().step(&spec, 33);
    let b = {
        let mut x = again.clone();
        x.status = before.clone();
        x.step(&spec, 33)
    };
    assert_eq!(a.status, b.status);
}

proptest! {
    // Every previous value, empty and odd ones included, comes back exactly after a switch and
    // a rollback; an absent key is removed again.
    #[test]
    fn previous_values_round_trip_exactly(previous in proptest::option::of(".{0,12}")) {
        let mut spec = spec();
        spec.switch = vec![key("app-db", "OPTIONS", "tls=true")];
        let mut w = World::new();
        w.values.insert("ConfigMap/app-db/OPTIONS".into(), previous.clone());
        w.run(&spec, 0, 200, 5, completed);
        prop_assert_eq!(w.phase(), Phase::Completed);
        // The status as JSON (what the API server stores) loses nothing either.
        let json = serde_json::to_value(&w.status).unwrap();
        let back: CutoverStatus = serde_json::from_value(json).unwrap();
        prop_assert_eq!(&back, &w.status);
        w.requests.rollback = true;
        w.run(&spec, 200, 300, 5, |w| w.phase() == Phase::RolledBack);
        prop_assert_eq!(w.phase(), Phase::RolledBack);
        prop_assert_eq!(w.values.get("ConfigMap/app-db/OPTIONS").cloned().flatten(), previous);
    }
}

fn scheduled(w: &mut World) {
    use crate::api::mms_schedule::{MmsRound, MmsSchedule, RoundsStatus, ScheduleType};
    w.mms.phase = Some(crate::api::mms_job::MmsJobPhase::Scheduled);
    w.mms.schedule = Some(MmsSchedule {
        schedule_type: ScheduleType::Hourly,
        value: "05".into(),
        freshness_threshold_seconds: Some(3_600),
    });
    let first = MmsRound {
        job_id: 10,
        name: "history".into(),
        started_after: Some(Time(at(-600))),
        seen_at: Time(at(-300)),
        finished_by: Some(Time(at(-300))),
        status: "DONE".into(),
        verification: Some(crate::api::common::VerificationState::Passed),
        failure: None,
        triggered: false,
    };
    w.mms.rounds = Some(RoundsStatus {
        timer_id: Some(5),
        recent: vec![first.clone()],
        last_successful: Some(first),
        ..Default::default()
    });
}

#[test]
fn a_scheduled_mms_job_drains_with_one_final_round_started_after_the_freeze() {
    let spec = frozen_spec();
    let mut w = World::new();
    scheduled(&mut w);
    w.run(&spec, 0, 300, 5, completed);
    assert_eq!(w.phase(), Phase::Completed, "{:?}", w.status);
    let lag = w
        .status
        .gates
        .iter()
        .find(|g| g.name == "lag/history")
        .unwrap();
    assert!(lag.passed, "{lag:?}");
    let frozen = w.status.frozen_at.clone().unwrap().0;
    let asked: Vec<&Act> = w
        .acts
        .iter()
        .filter(|a| matches!(a, Act::FinalRound { .. }))
        .collect();
    assert_eq!(asked.len(), 1, "one round per freeze: {asked:?}");
    let Act::FinalRound { value, .. } = asked[0] else {
        unreachable!()
    };
    assert_eq!(*value, frozen.to_string());
    let drained = w
        .status
        .drained
        .iter()
        .find(|d| d.migration == "history")
        .unwrap();
    assert_eq!(drained.round_job_id, Some(101));
    assert!(drained.checkpoint.0 >= frozen);
    assert_eq!(drained.lag_seconds, None, "no lag was measured for a round");
    assert_eq!(w.value(DSN).as_deref(), Some("maxcompute://dw"));
}

#[test]
fn a_failed_final_round_unfreezes_and_switches_nothing() {
    let spec = frozen_spec();
    let mut w = World::new();
    scheduled(&mut w);
    w.final_round = Some("FAILED");
    w.run(&spec, 0, 300, 5, |w| {
        matches!(w.phase(), Phase::Aborted | Phase::Completed)
    });
    assert_eq!(w.phase(), Phase::Aborted);
    assert_eq!(
        w.value(DSN).as_deref(),
        Some("mysql://old"),
        "nothing switched"
    );
    assert_eq!(w.value(FLAG).as_deref(), Some("false"), "unfrozen");
    let reason = w.status.reason.clone().unwrap();
    assert!(reason.contains("DATA_FAILED"), "{reason}");
}

#[test]
fn a_final_round_that_never_shows_times_out_into_an_abort() {
    let spec = frozen_spec();
    let mut w = World::new();
    scheduled(&mut w);
    w.final_round = None;
    w.run(&spec, 0, 400, 5, |w| {
        matches!(w.phase(), Phase::Aborted | Phase::Completed)
    });
    assert_eq!(w.phase(), Phase::Aborted);
    assert_eq!(w.value(DSN).as_deref(), Some("mysql://old"));
}

#[test]
fn stale_mms_data_holds_the_cutover_before_the_freeze() {
    let spec = frozen_spec();
    let mut w = World::new();
    scheduled(&mut w);
    if let Some(r) = w.mms.rounds.as_mut() {
        r.last_successful.as_mut().unwrap().started_after = Some(Time(at(-7_200)));
    }
    w.run(&spec, 0, 120, 5, |_| false);
    assert_eq!(w.phase(), Phase::Gating);
    let lag = w
        .status
        .gates
        .iter()
        .find(|g| g.name == "lag/history")
        .unwrap();
    assert!(!lag.passed && lag.observed.contains("old"), "{lag:?}");
    assert!(w.status.frozen_at.is_none());
}
