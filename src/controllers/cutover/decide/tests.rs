use super::*;
use crate::api::cutover::{
    BackupAttestation, ConfigMapKeySwitch, Gates, MaintenanceWindow, MigrationRef, SwitchTarget,
};
use crate::api::dts_migration::LagSample;
use crate::api::mms_job::MmsJobPhase;
use proptest::prelude::*;

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn spec() -> CutoverSpec {
    CutoverSpec {
        migrations: vec![
            MigrationRef {
                kind: MigrationKind::DtsMigration,
                name: "orders".into(),
            },
            MigrationRef {
                kind: MigrationKind::MmsJob,
                name: "history".into(),
            },
        ],
        gates: Gates {
            max_lag_seconds: 5.0,
            stable_for_seconds: 30,
            min_samples: 3,
            max_sample_age_seconds: 20,
            backup: Some(BackupAttestation {
                verified_by: "dba@example.com".into(),
                verified_at: "2023-11-14T00:00:00Z".into(),
                evidence: "restore tested".into(),
                max_age_seconds: None,
            }),
            ..Gates::default()
        },
        switch: vec![SwitchTarget {
            config_map_key: Some(ConfigMapKeySwitch {
                name: "app-db".into(),
                key: "DSN".into(),
                value: "maxcompute://dw".into(),
            }),
            ..Default::default()
        }],
        stop_replication: true,
        ..Default::default()
    }
}

/// A small world the decisions act on: the DTS migration, the MMS job and one ConfigMap key.
#[derive(Clone)]
struct World {
    dts: DtsObs,
    mms: MmsObs,
    targets: Vec<TargetObs>,
    status: CutoverStatus,
    requests: Requests,
    acts: Vec<Act>,
    stop_calls: usize,
}

fn target(name: &str, current: &str, desired: &str) -> TargetObs {
    TargetObs {
        target: format!("ConfigMap/{name}/DSN"),
        exists: true,
        permitted: Ok(()),
        current: Some(current.into()),
        desired: Ok(desired.into()),
        sensitive: false,
        rollback_previous: None,
    }
}

impl World {
    fn new() -> Self {
        Self {
            dts: DtsObs {
                name: "orders".into(),
                exists: true,
                phase: Some(DtsMigrationPhase::Replicating),
                ..Default::default()
            },
            mms: MmsObs {
                name: "history".into(),
                exists: true,
                phase: Some(MmsJobPhase::Succeeded),
                verification_enabled: true,
                verified: Some(("True".into(), "RowCountsMatch".into(), "all match".into())),
            },
            targets: vec![target("app-db", "mysql://old", "maxcompute://dw")],
            status: CutoverStatus::default(),
            requests: Requests::default(),
            acts: Vec::new(),
            stop_calls: 0,
        }
    }

    fn lag(&mut self, t: i64, seconds: f64) {
        self.dts.lag_samples.push(LagSample {
            at: Time(at(t)),
            seconds,
        });
        let excess = self.dts.lag_samples.len().saturating_sub(30);
        self.dts.lag_samples.drain(..excess);
    }

    /// One reconcile at time `t`; applies the action like the controller would.
    fn step(&mut self, spec: &CutoverSpec, t: i64) -> Decision {
        let migrations = vec![
            MigrationObs::Dts(self.dts.clone()),
            MigrationObs::Mms(self.mms.clone()),
        ];
        let d = decide(&Inputs {
            spec,
            prev: &self.status,
            generation: Some(1),
            requests: &self.requests,
            migrations: &migrations,
            targets: &self.targets,
            rollback_secret: "cut-rollback",
            now: at(t),
        });
        self.status = d.status.clone();
        if let Some(act) = &d.act {
            self.acts.push(act.clone());
            match act {
                Act::StopReplication { .. } => {
                    self.stop_calls += 1;
                    self.dts.phase = Some(DtsMigrationPhase::Stopped);
                }
                Act::Switch { index, .. } => {
                    let desired = self.targets[*index].desired.clone().unwrap();
                    self.targets[*index].current = Some(desired);
                }
                Act::Restore { index } => {
                    let saved = self
                        .status
                        .saved
                        .iter()
                        .find(|s| s.target == self.targets[*index].target)
                        .unwrap();
                    self.targets[*index].current = if saved.existed {
                        saved
                            .value
                            .clone()
                            .or_else(|| self.targets[*index].rollback_previous.clone().flatten())
                    } else {
                        None
                    };
                }
            }
        }
        d
    }

    fn phase(&self) -> Phase {
        self.status.phase.unwrap()
    }
}

fn run_until(
    world: &mut World,
    spec: &CutoverSpec,
    from: i64,
    to: i64,
    lag: impl Fn(i64) -> f64,
) -> Vec<(i64, Phase)> {
    let mut phases = Vec::new();
    for t in (from..to).step_by(5) {
        if world.dts.phase == Some(DtsMigrationPhase::Replicating) && t % 10 == 0 {
            world.lag(t, lag(t));
        }
        world.step(spec, t);
        phases.push((t, world.phase()));
    }
    phases
}

#[test]
fn a_full_cutover_runs_every_step_in_order() {
    let s = spec();
    let mut w = World::new();
    run_until(&mut w, &s, 0, 120, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed, "{:#?}", w.status);
    let names: Vec<&str> = w.status.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "final-lag-check",
            "stop-replication/orders",
            "switch/ConfigMap/app-db/DSN",
            "verify-switch",
            "complete"
        ]
    );
    assert!(
        w.status.steps.iter().all(|s| s.state == SUCCEEDED),
        "{:#?}",
        w.status.steps
    );
    assert_eq!(w.targets[0].current.as_deref(), Some("maxcompute://dw"));
    // Replication stops before the first object is switched.
    assert!(matches!(w.acts[0], Act::StopReplication { .. }));
    assert!(matches!(
        w.acts[1],
        Act::Switch {
            index: 0,
            rollback: None
        }
    ));
    assert_eq!(w.status.saved[0].value.as_deref(), Some("mysql://old"));
    assert_eq!(w.status.saved[0].set_digest, digest("maxcompute://dw"));
    assert!(conditions::is_true(&w.status.conditions, READY, None));
    assert!(conditions::is_true(&w.status.conditions, SWITCHED, None));
    assert!(w.status.gates.iter().all(|g| g.passed));
    let backup = w.status.gates.iter().find(|g| g.name == "backup").unwrap();
    assert_eq!(backup.evidence, "Attested");
    let lag = w
        .status
        .gates
        .iter()
        .find(|g| g.name == "lag/orders")
        .unwrap();
    assert_eq!(lag.evidence, "Measured");
}

#[test]
fn a_lag_spike_during_gating_resets_the_stable_window() {
    let s = spec();
    let mut w = World::new();
    // Lag is fine, spikes at 30 s, fine again.
    let phases = run_until(&mut w, &s, 0, 200, |t| if t == 30 { 9.0 } else { 1.0 });
    let switched_at = phases
        .iter()
        .find(|(_, p)| *p != Phase::Gating)
        .map(|(t, _)| *t)
        .unwrap();
    // The spike at 30 s must be at least stableFor (30 s) and 3 samples old before the switch.
    assert!(switched_at >= 60, "switched at {switched_at}");
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn approval_is_awaited_when_required_and_recorded() {
    let mut s = spec();
    s.gates.require_approval = true;
    let mut w = World::new();
    run_until(&mut w, &s, 0, 100, |_| 1.0);
    assert_eq!(w.phase(), Phase::AwaitingApproval);
    assert!(w.acts.is_empty(), "nothing happens before approval");
    w.requests.approval = Some(Approval {
        approved_by: "lead@example.com".into(),
        approved_at: None,
        comment: None,
    });
    run_until(&mut w, &s, 100, 140, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
    assert_eq!(
        w.status.approval.as_ref().unwrap().approved_by,
        "lead@example.com"
    );
}

#[test]
fn a_closed_window_waits_and_wakes_up_when_it_opens() {
    let mut s = spec();
    // at(0) = 2023-11-14T22:13:20Z; window opens 23:00 UTC.
    s.gates.window = Some(MaintenanceWindow {
        start: "23:00".into(),
        duration_minutes: 30,
        days: vec![],
        time_zone: None,
    });
    let mut w = World::new();
    run_until(&mut w, &s, 0, 100, |_| 1.0);
    assert_eq!(w.phase(), Phase::WaitingForWindow);
    let d = w.step(&s, 100);
    assert!(d.requeue <= Duration::from_secs(300));
    assert!(
        conditions::find(&w.status.conditions, READY)
            .unwrap()
            .message
            .contains("opens at 2023-11-14T23:00:00Z")
    );
    // Inside the window (23:05 = 2980 s later).
    run_until(&mut w, &s, 2980, 3040, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn abort_before_the_switch_changes_nothing() {
    let s = spec();
    let mut w = World::new();
    run_until(&mut w, &s, 0, 20, |_| 1.0);
    assert_eq!(w.phase(), Phase::Gating);
    w.requests.abort = true;
    run_until(&mut w, &s, 20, 100, |_| 1.0);
    assert_eq!(w.phase(), Phase::Aborted);
    assert!(w.acts.is_empty());
    assert_eq!(w.targets[0].current.as_deref(), Some("mysql://old"));
    assert!(w.status.steps.iter().all(|s| s.state == SKIPPED));
}

#[test]
fn abort_after_the_switch_is_refused_in_favour_of_rollback() {
    let s = spec();
    let mut w = World::new();
    run_until(&mut w, &s, 0, 120, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
    w.requests.abort = true;
    w.step(&s, 130);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn rollback_restores_exact_previous_values_in_reverse_order() {
    let mut s = spec();
    s.switch.push(SwitchTarget {
        config_map_key: Some(ConfigMapKeySwitch {
            name: "reports".into(),
            key: "DSN".into(),
            value: "maxcompute://reports".into(),
        }),
        ..Default::default()
    });
    let mut w = World::new();
    w.targets.push(TargetObs {
        current: None,
        ..target("reports", "", "maxcompute://reports")
    });
    run_until(&mut w, &s, 0, 150, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
    assert_eq!(
        w.targets[1].current.as_deref(),
        Some("maxcompute://reports")
    );
    w.requests.rollback = true;
    let before = w.acts.len();
    run_until(&mut w, &s, 150, 200, |_| 1.0);
    assert_eq!(w.phase(), Phase::RolledBack);
    assert_eq!(
        &w.acts[before..],
        [Act::Restore { index: 1 }, Act::Restore { index: 0 }]
    );
    assert_eq!(w.targets[0].current.as_deref(), Some("mysql://old"));
    assert_eq!(
        w.targets[1].current, None,
        "a key that did not exist is removed again"
    );
    let report = w.status.rollback.as_ref().unwrap();
    assert_eq!(
        report.restored,
        ["ConfigMap/reports/DSN", "ConfigMap/app-db/DSN"]
    );
    assert!(report.failed.is_empty());
    assert!(report.notes[0].contains("cannot be restarted"));
}

#[test]
fn rollback_reports_what_it_could_not_restore() {
    let s = spec();
    let mut w = World::new();
    run_until(&mut w, &s, 0, 120, |_| 1.0);
    w.targets[0].exists = false;
    w.requests.rollback = true;
    w.step(&s, 130);
    assert_eq!(w.phase(), Phase::RolledBack);
    let report = w.status.rollback.as_ref().unwrap();
    assert_eq!(
        report.failed,
        ["ConfigMap/app-db/DSN: the object no longer exists"]
    );
    assert!(
        conditions::find(&w.status.conditions, READY)
            .unwrap()
            .message
            .contains("could not restore")
    );
}

#[test]
fn dry_run_evaluates_and_plans_but_never_acts() {
    let mut s = spec();
    s.dry_run = true;
    let mut w = World::new();
    run_until(&mut w, &s, 0, 200, |_| 1.0);
    assert_eq!(w.phase(), Phase::DryRun);
    assert!(w.acts.is_empty());
    assert!(w.status.steps.iter().all(|s| s.state == PLANNED));
    assert_eq!(w.status.steps.len(), 5);
    assert!(
        conditions::find(&w.status.conditions, READY)
            .unwrap()
            .message
            .contains("would switch now")
    );
    // Turning the dry run off proceeds.
    s.dry_run = false;
    run_until(&mut w, &s, 200, 260, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn a_failed_gate_pauses_and_resumes_on_request() {
    let s = spec();
    let mut w = World::new();
    w.mms.verified = Some((
        "False".into(),
        "RowCountMismatch".into(),
        "orders: src 10, dst 9".into(),
    ));
    run_until(&mut w, &s, 0, 50, |_| 1.0);
    assert_eq!(w.phase(), Phase::Paused);
    assert!(
        w.status
            .reason
            .as_ref()
            .unwrap()
            .contains("verification/history")
    );
    // Fixing the data alone does not resume: a human decides.
    w.mms.verified = Some(("True".into(), "RowCountsMatch".into(), "ok".into()));
    run_until(&mut w, &s, 50, 80, |_| 1.0);
    assert_eq!(w.phase(), Phase::Paused);
    w.requests.resume = Some("r1".into());
    run_until(&mut w, &s, 80, 160, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
}

#[test]
fn a_failed_gate_aborts_when_asked_to() {
    let mut s = spec();
    s.on_gate_failure = FailurePolicy::Abort;
    let mut w = World::new();
    w.dts.phase = Some(DtsMigrationPhase::Failed);
    w.step(&s, 0);
    assert_eq!(w.phase(), Phase::Aborted);
    assert!(w.acts.is_empty());
}

#[test]
fn the_progress_deadline_applies_the_failure_policy() {
    let mut s = spec();
    s.progress_deadline_seconds = Some(60);
    let mut w = World::new();
    run_until(&mut w, &s, 0, 100, |_| 9.0);
    assert_eq!(w.phase(), Phase::Paused);
    assert!(
        w.status
            .reason
            .as_ref()
            .unwrap()
            .contains("progressDeadlineSeconds 60")
    );
}

#[test]
fn missing_permissions_keep_the_cutover_gating() {
    let s = spec();
    let mut w = World::new();
    w.targets[0].permitted = Err("forbidden: patch configmaps/app-db".into());
    run_until(&mut w, &s, 0, 100, |_| 1.0);
    assert_eq!(w.phase(), Phase::Gating);
    let g = w.status.gates.iter().find(|g| g.name == "targets").unwrap();
    assert!(!g.passed && g.observed.contains("forbidden"));
}

#[test]
fn sensitive_previous_values_never_reach_status() {
    let s = spec();
    let mut w = World::new();
    w.targets[0].sensitive = true;
    w.targets[0].current = Some("old-password".into());
    run_until(&mut w, &s, 0, 120, |_| 1.0);
    assert_eq!(w.phase(), Phase::Completed);
    let saved = &w.status.saved[0];
    assert_eq!(saved.value, None);
    assert_eq!(
        saved.stored_in.as_deref(),
        Some("Secret/cut-rollback#target-0")
    );
    assert!(w.acts.contains(&Act::Switch {
        index: 0,
        rollback: Some(("target-0".into(), Some("old-password".into())))
    }));
    let json = serde_json::to_string(&w.status).unwrap();
    assert!(!json.contains("old-password"));
    // Rollback compares against what the rollback Secret holds.
    w.targets[0].rollback_previous = Some(Some("old-password".into()));
    w.requests.rollback = true;
    run_until(&mut w, &s, 120, 140, |_| 1.0);
    assert_eq!(w.phase(), Phase::RolledBack);
    assert_eq!(w.targets[0].current.as_deref(), Some("old-password"));
}

#[test]
fn a_stuck_stop_fails_before_any_object_is_switched() {
    let s = spec();
    let mut w = World::new();
    // The DTS task never reports Finished.
    for t in (0..100).step_by(5) {
        if t % 10 == 0 {
            w.lag(t, 1.0);
        }
        w.step(&s, t);
        w.dts.phase = Some(DtsMigrationPhase::Replicating);
    }
    assert_eq!(w.phase(), Phase::Switching);
    for t in (100..800).step_by(5) {
        w.step(&s, t);
        w.dts.phase = Some(DtsMigrationPhase::Replicating);
    }
    assert_eq!(w.phase(), Phase::Failed);
    assert!(w.status.saved.is_empty());
    assert_eq!(w.targets[0].current.as_deref(), Some("mysql://old"));
    assert!(w.stop_calls >= 2, "the stop is re-sent while waiting");
}

#[test]
fn deciding_twice_on_the_same_facts_changes_nothing() {
    let s = spec();
    let mut w = World::new();
    run_until(&mut w, &s, 0, 20, |_| 1.0);
    let before = w.status.clone();
    w.step(&s, 20);
    let mut after = w.status.clone();
    after.steps.clone_from(&before.steps);
    assert_eq!(before.gates, w.status.gates);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For random lag curves (with gaps), the switch never happens while any lag sample in the
    /// stable window is at or above the threshold, or while the latest sample is stale.
    #[test]
    fn never_switches_on_high_or_stale_lag(
        lags in prop::collection::vec(prop_oneof![4 => 0.0f64..4.9, 1 => 5.0f64..60.0], 10..60),
        gaps in prop::collection::vec(prop_oneof![9 => Just(10i64), 1 => 15i64..60], 60),
        stable in 10i64..60,
        min_samples in 1i64..5,
    ) {
        let mut s = spec();
        s.gates.stable_for_seconds = stable;
        s.gates.min_samples = min_samples;
        s.gates.max_sample_age_seconds = 20;
        let mut w = World::new();
        let mut t = 0;
        for (i, lag) in lags.iter().enumerate() {
            t += gaps[i];
            w.lag(t, *lag);
            for probe in [t, t + 5, t + 25] {
                let before = w.status.clone();
                let d = w.step(&s, probe);
                let started_switch = matches!(d.act, Some(Act::StopReplication { .. }))
                    && before.switch_started_at.is_none();
                if started_switch {
                    let now = at(probe);
                    let window_start = now.checked_sub(jiff::SignedDuration::from_secs(stable)).unwrap();
                    let samples: Vec<_> = w.dts.lag_samples.iter().filter(|x| x.at.0 <= now).collect();
                    let latest = samples.iter().map(|x| x.at.0).max().unwrap();
                    prop_assert!(now.duration_since(latest).as_secs() <= 20, "stale latest sample");
                    for x in samples.iter().filter(|x| x.at.0 >= window_start) {
                        prop_assert!(x.seconds < 5.0, "sample {} at {} inside the window", x.seconds, x.at.0);
                    }
                }
            }
            if w.dts.phase != Some(DtsMigrationPhase::Replicating) {
                break;
            }
        }
    }
}
