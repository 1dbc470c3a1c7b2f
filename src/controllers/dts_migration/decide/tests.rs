use super::*;

/// Due now at production poll intervals.
fn poll_due(
    spec: &DtsMigrationSpec,
    status: &DtsMigrationStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    until_poll(spec, status, generation, now, 1.0).is_zero()
}
use crate::api::common::VerificationState;
use crate::api::dts_migration::{
    DataCheck, DtsDatabaseObject, DtsEndpoint, EndpointType, LagMonitorRule,
};

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn spec() -> DtsMigrationSpec {
    DtsMigrationSpec {
        region: "cn-hangzhou".into(),
        source: DtsEndpoint {
            instance_type: EndpointType::PolarDB,
            instance_id: Some("pc-1".into()),
            ..Default::default()
        },
        destination: DtsEndpoint {
            instance_type: EndpointType::MaxCompute,
            database: Some("dw".into()),
            ..Default::default()
        },
        migration_types: vec![
            MigrationType::Schema,
            MigrationType::Full,
            MigrationType::Incremental,
        ],
        objects: vec![DtsDatabaseObject {
            name: "shop".into(),
            ..Default::default()
        }],
        lag_alert_seconds: 5,
        ..Default::default()
    }
}

fn full_only() -> DtsMigrationSpec {
    let mut s = spec();
    s.migration_types = vec![MigrationType::Schema, MigrationType::Full];
    s
}

fn configured() -> DtsMigrationStatus {
    DtsMigrationStatus {
        dts_instance_id: Some("dtsabc".into()),
        dts_job_id: Some("abc".into()),
        configured_generation: Some(1),
        ..Default::default()
    }
}

fn started() -> DtsMigrationStatus {
    DtsMigrationStatus {
        started_at: Some(Time(at(-100))),
        ..configured()
    }
}

fn stage(status: &str, percent: i64) -> Option<StageView> {
    Some(StageView {
        status: status.into(),
        percent: Some(percent),
        ..Default::default()
    })
}

fn task(status: &str) -> TaskView {
    TaskView {
        status: status.into(),
        ..Default::default()
    }
}

fn replicating(lag: f64) -> TaskView {
    TaskView {
        status: "Migrating".into(),
        schema: stage("Finished", 100),
        full: stage("Finished", 100),
        incremental: stage("Catched", 95),
        lag_seconds: Some(lag),
        checkpoint: Some(1_700_000_000),
        ..Default::default()
    }
}

/// One reconcile at `now`, DTS answering at once.
fn run(spec: &DtsMigrationSpec, prev: &DtsMigrationStatus, mut t: TaskView, now: i64) -> Decision {
    t.observed_at = at(now);
    decide(spec, prev, Some(1), &Observed::Task(Box::new(t)), at(now))
}

fn cond<'a>(
    d: &'a Decision,
    t: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    conditions::find(&d.status.conditions, t).unwrap()
}

#[test]
fn a_configure_that_may_be_in_flight_is_not_sent_again_until_the_grace_ends() {
    let first = decide(
        &spec(),
        &DtsMigrationStatus::default(),
        Some(1),
        &Observed::NoTask,
        at(0),
    );
    assert_eq!(first.act, Some(Act::Configure));
    assert_eq!(first.status.create_requested_at, Some(Time(at(0))));
    // The answer never came; the task is not found (yet): wait, looking for it.
    let soon = decide(&spec(), &first.status, Some(1), &Observed::NoTask, at(30));
    assert_eq!(soon.act, None);
    assert_eq!(soon.status.phase, Some(Phase::Configuring));
    assert_eq!(soon.status.create_requested_at, Some(Time(at(0))));
    // After the grace, nothing can still be in flight: configure again.
    let later = decide(&spec(), &first.status, Some(1), &Observed::NoTask, at(61));
    assert_eq!(later.act, Some(Act::Configure));
    assert_eq!(later.status.create_requested_at, Some(Time(at(61))));
    // A purchase is recorded as an intent too.
    let configured = DtsMigrationStatus {
        dts_job_id: Some("abc".into()),
        ..first.status.clone()
    };
    let buy = run(&spec(), &configured, task("NotStarted"), 70);
    assert_eq!(buy.act, Some(Act::CreateInstance));
    assert_eq!(buy.status.purchase_requested_at, Some(Time(at(70))));
}

#[test]
fn the_dts_job_generation_configures_first_then_buys() {
    let d = decide(
        &spec(),
        &DtsMigrationStatus::default(),
        Some(1),
        &Observed::NoTask,
        at(0),
    );
    assert_eq!(d.act, Some(Act::Configure));
    assert_eq!(d.status.phase, Some(Phase::Configuring));
    assert_eq!(d.status.configured_generation, Some(1));
    // Configured (the act records the job id), not bought yet: buy it.
    let prev = DtsMigrationStatus {
        dts_job_id: Some("abc".into()),
        configured_generation: Some(1),
        ..Default::default()
    };
    let d = run(&spec(), &prev, task("NotStarted"), 5);
    assert_eq!(d.act, Some(Act::CreateInstance));
    assert_eq!(d.status.phase, Some(Phase::Creating));
    // A restart after the purchase sees the instance on the task and does not buy again.
    let mut bought = task("Prechecking");
    bought.instance_id = Some("dtsabc".into());
    let d = run(&spec(), &prev, bought, 10);
    assert_eq!(d.act, None);
    assert_eq!(d.status.dts_instance_id.as_deref(), Some("dtsabc"));
}

#[test]
fn a_task_whose_configure_answer_was_lost_is_adopted_not_configured_again() {
    let sent = DtsMigrationStatus {
        configured_generation: Some(1),
        ..Default::default()
    };
    let d = decide(
        &spec(),
        &sent,
        Some(1),
        &Observed::Adoptable("j1".into()),
        at(0),
    );
    assert_eq!(d.act, None);
    assert_eq!(d.status.dts_job_id.as_deref(), Some("j1"));
    assert_eq!(d.status.phase, Some(Phase::Configuring));
    assert_eq!(cond(&d, READY).reason, "Adopted");
    // Then it is bought like any configured task.
    let d = run(&spec(), &d.status, task("NotStarted"), 5);
    assert_eq!(d.act, Some(Act::CreateInstance));
    // A spec edit since the lost configure reconfigures the adopted task.
    let d = decide(
        &spec(),
        &sent,
        Some(2),
        &Observed::Adoptable("j1".into()),
        at(0),
    );
    assert_eq!(d.act, Some(Act::Configure));
    assert_eq!(d.status.configured_generation, Some(2));
}

#[test]
fn the_legacy_generation_buys_first_then_configures() {
    let mut s = spec();
    s.api_generation = crate::api::dts_migration::ApiGeneration::MigrationJob;
    let d = decide(
        &s,
        &DtsMigrationStatus::default(),
        Some(1),
        &Observed::NoTask,
        at(0),
    );
    assert_eq!(d.act, Some(Act::CreateInstance));
    let prev = DtsMigrationStatus {
        dts_instance_id: Some("dtsabc".into()),
        dts_job_id: Some("dtsabc".into()),
        ..Default::default()
    };
    let d = run(&s, &prev, task("NotStarted"), 5);
    assert_eq!(d.act, Some(Act::Configure));
}

#[test]
fn configures_a_not_configured_task() {
    let prev = DtsMigrationStatus {
        dts_instance_id: Some("dtsabc".into()),
        ..Default::default()
    };
    let d = run(&spec(), &prev, task("NotConfigured"), 0);
    assert_eq!(d.act, Some(Act::Configure));
    assert_eq!(d.status.configured_generation, Some(1));
    assert_eq!(d.status.phase, Some(Phase::Configuring));
}

#[test]
fn every_documented_status_maps_to_a_phase() {
    let cases: Vec<(TaskView, Phase, &str)> = vec![
        (task("NotStarted"), Phase::Prechecking, "False"),
        (task("Prechecking"), Phase::Prechecking, "False"),
        (task("PrecheckFailed"), Phase::PrecheckFailed, "False"),
        (task("PreCheckPass"), Phase::Prechecking, "False"),
        (
            TaskView {
                status: "Migrating".into(),
                schema: stage("Migrating", 40),
                ..Default::default()
            },
            Phase::MigratingSchema,
            "False",
        ),
        (
            TaskView {
                status: "Migrating".into(),
                schema: stage("Finished", 100),
                full: stage("Migrating", 30),
                incremental: stage("NotStarted", 0),
                ..Default::default()
            },
            Phase::MigratingFull,
            "False",
        ),
        (replicating(2.0), Phase::Replicating, "True"),
        (
            TaskView {
                incremental: stage("Migrating", 50),
                ..replicating(30.0)
            },
            Phase::Replicating,
            // Above spec.lagAlertSeconds (5 s): replicating, not Ready.
            "False",
        ),
        (task("Suspending"), Phase::Suspended, "False"),
        (task("Retrying"), Phase::Retrying, "False"),
        (task("MigrationFailed"), Phase::Failed, "False"),
        (task("Finished"), Phase::Stopped, "True"),
        (task("Locked"), Phase::Prechecking, "False"),
    ];
    for (t, phase, ready) in cases {
        let status = t.status.clone();
        let d = run(&spec(), &started(), t, 0);
        assert_eq!(d.status.phase, Some(phase), "{status}");
        assert_eq!(cond(&d, READY).status, ready, "{status}");
        assert_eq!(d.status.dts_status.as_deref(), Some(status.as_str()));
    }
}

#[test]
fn a_full_only_task_completes_by_itself() {
    let d = run(&full_only(), &started(), task("Finished"), 0);
    assert_eq!(d.status.phase, Some(Phase::Completed));
    assert_eq!(cond(&d, READY).reason, "Completed");
    assert_eq!(d.act, None);
    assert_eq!(d.requeue, Some(POLL_SETTLED));
}

#[test]
fn starting_the_migration_freezes_the_configuration() {
    let d = run(&spec(), &configured(), task("PreCheckPass"), 0);
    assert_eq!(d.status.started_at, Some(Time(at(0))));
    let d = run(&spec(), &configured(), task("Prechecking"), 0);
    assert_eq!(d.status.started_at, None);
}

#[test]
fn precheck_failure_lists_every_failed_item_verbatim() {
    let mut t = task("PrecheckFailed");
    t.precheck = Some(PrecheckStatus {
        status: "Failed".into(),
        percent: Some(100),
        total_items: 12,
        items: vec![
            PrecheckItem {
                name: "CHECK_SRC_BINLOG".into(),
                result: "Failed".into(),
                reason: "binary logging is off (loose_polar_log_bin=OFF)".into(),
                repair: "set loose_polar_log_bin to ON".into(),
                can_skip: Some(false),
            },
            PrecheckItem {
                name: "CHECK_PK".into(),
                result: "Warning".into(),
                reason: "table shop.audit has no primary key or unique constraint".into(),
                repair: String::new(),
                can_skip: Some(true),
            },
            PrecheckItem {
                name: "CHECK_CONN_SRC".into(),
                result: "Success".into(),
                ..Default::default()
            },
        ],
    });
    let d = run(&spec(), &configured(), t, 0);
    let items = &d.status.precheck.as_ref().unwrap().items;
    assert_eq!(
        items.len(),
        2,
        "failed and warning items are kept, successes dropped"
    );
    assert_eq!(
        items[1].reason,
        "table shop.audit has no primary key or unique constraint"
    );
    let msg = &cond(&d, READY).message;
    assert!(
        msg.contains("CHECK_SRC_BINLOG: binary logging is off")
            && msg.contains("fix: set loose_polar_log_bin to ON"),
        "{msg}"
    );
    assert!(msg.contains("spec.precheckRequestedAt"));
    assert_eq!(cond(&d, PRECHECK_PASSED).status, "False");
    assert_eq!(
        d.act, None,
        "nothing is retried until the user says the cause is fixed"
    );
}

fn warned(items: &[(&str, Option<bool>)]) -> TaskView {
    let mut t = task("PrecheckFailed");
    t.precheck = Some(PrecheckStatus {
        status: "Failed".into(),
        percent: Some(100),
        total_items: 10,
        items: items
            .iter()
            .map(|(name, can_skip)| PrecheckItem {
                name: name.to_string(),
                result: "Warning".into(),
                reason: format!("{name} warns"),
                can_skip: *can_skip,
                ..Default::default()
            })
            .collect(),
    });
    t
}

fn skipping(items: &[&str]) -> DtsMigrationSpec {
    let mut s = spec();
    s.precheck = Some(crate::api::dts_migration::PrecheckPolicy {
        skip: items.iter().map(|i| i.to_string()).collect(),
    });
    s
}

#[test]
fn a_warning_the_spec_does_not_accept_blocks_and_says_how_to_accept_it() {
    let t = warned(&[("CHECK_DEST_TABLE_EMPTY", Some(true))]);
    for s in [spec(), skipping(&["CHECK_OTHER"])] {
        let d = run(&s, &configured(), t.clone(), 0);
        assert_eq!(d.act, None);
        assert_eq!(d.status.phase, Some(Phase::PrecheckFailed));
        let msg = &cond(&d, READY).message;
        assert!(
            msg.contains("CHECK_DEST_TABLE_EMPTY: CHECK_DEST_TABLE_EMPTY warns")
                && msg.contains("adding CHECK_DEST_TABLE_EMPTY to spec.precheck.skip"),
            "{msg}"
        );
    }
}

#[test]
fn accepted_warnings_are_skipped_and_the_precheck_runs_again_once_per_generation() {
    let s = skipping(&["CHECK_DEST_TABLE_EMPTY", "CHECK_PK"]);
    let t = warned(&[("CHECK_DEST_TABLE_EMPTY", Some(true)), ("CHECK_PK", None)]);
    let d = run(&s, &configured(), t.clone(), 0);
    let skipped = PrecheckSkipped {
        items: vec!["CHECK_DEST_TABLE_EMPTY".into(), "CHECK_PK".into()],
        generation: 1,
    };
    assert_eq!(d.act, Some(Act::SkipPrecheck(skipped.clone())));
    assert_eq!(cond(&d, READY).reason, "PrecheckWarningsSkipped");
    assert_eq!(
        d.status.precheck_skipped, None,
        "recorded by the act, once DTS answered both calls"
    );
    // The act recorded it; DTS still warns after the re-run: a person decides, no loop.
    let mut after = d.status.clone();
    after.precheck_skipped = Some(skipped.clone());
    let d = run(&s, &after, t, 10);
    assert_eq!(d.act, None);
    assert!(
        cond(&d, READY).message.contains("still reports"),
        "{}",
        cond(&d, READY).message
    );
    assert_eq!(d.status.precheck_skipped, Some(skipped), "carried over");
}

#[test]
fn failures_and_unskippable_warnings_are_never_skipped() {
    let s = skipping(&["CHECK_DEST_TABLE_EMPTY", "CHECK_SRC_BINLOG"]);
    let d = run(
        &s,
        &configured(),
        warned(&[("CHECK_DEST_TABLE_EMPTY", Some(false))]),
        0,
    );
    assert_eq!(d.act, None);
    assert!(cond(&d, READY).message.contains("does not let be skipped"));
    let mut t = warned(&[("CHECK_DEST_TABLE_EMPTY", Some(true))]);
    t.precheck.as_mut().unwrap().items.push(PrecheckItem {
        name: "CHECK_SRC_BINLOG".into(),
        result: "Failed".into(),
        reason: "binary logging is off".into(),
        ..Default::default()
    });
    let d = run(&s, &configured(), t, 0);
    assert_eq!(d.act, None, "a failure is fixed, not skipped");
    let msg = &cond(&d, READY).message;
    assert!(
        msg.contains("1 precheck item(s) failed: CHECK_SRC_BINLOG")
            && msg.contains("warnings: CHECK_DEST_TABLE_EMPTY"),
        "{msg}"
    );
}

#[test]
fn a_new_precheck_request_restarts_the_precheck_once() {
    let mut s = spec();
    s.precheck_requested_at = Some("fixed-binlog".into());
    let d = run(&s, &configured(), task("PrecheckFailed"), 0);
    assert_eq!(d.act, Some(Act::Start));
    assert_eq!(
        d.status.last_precheck_requested_at.as_deref(),
        Some("fixed-binlog")
    );
    let d = run(&s, &d.status, task("PrecheckFailed"), 10);
    assert_eq!(d.act, None, "the same request is handled once");
}

#[test]
fn a_spec_edit_after_a_failed_precheck_reconfigures() {
    let d = decide(
        &spec(),
        &configured(),
        Some(2),
        &Observed::Task(Box::new(task("PrecheckFailed"))),
        at(0),
    );
    assert_eq!(d.act, Some(Act::Configure));
    assert_eq!(d.status.configured_generation, Some(2));
}

#[test]
fn a_spec_edit_after_the_start_does_not_reconfigure() {
    let d = decide(
        &spec(),
        &started(),
        Some(2),
        &Observed::Task(Box::new(replicating(1.0))),
        at(0),
    );
    assert_eq!(d.act, None);
}

#[test]
fn lag_is_sampled_in_seconds_and_bounded() {
    let mut prev = started();
    for i in 0..40 {
        let d = run(&spec(), &prev, replicating(i as f64 / 10.0), i * 10);
        prev = d.status;
    }
    assert_eq!(prev.lag_samples.len(), MAX_LAG_SAMPLES);
    assert_eq!(prev.lag_samples.last().unwrap().seconds, 3.9);
    assert_eq!(prev.lag_samples.last().unwrap().at, Time(at(390)));
    assert_eq!(prev.lag_seconds, Some(3.9));
    assert_eq!(prev.lag.as_deref(), Some("3.9s"));
    assert_eq!(prev.lag_observed_at, Some(Time(at(390))));
}

#[test]
fn a_lag_spike_flips_lag_within_threshold() {
    let d = run(&spec(), &started(), replicating(2.0), 0);
    assert_eq!(cond(&d, LAG_WITHIN_THRESHOLD).status, "True");
    assert_eq!(cond(&d, REPLICATING).status, "True");
    let d = run(&spec(), &d.status, replicating(45.0), 10);
    let c = cond(&d, LAG_WITHIN_THRESHOLD);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "LagAboveThreshold")
    );
    assert!(c.message.contains("45s >= 5s"));
    let ready = cond(&d, READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "LagAboveThreshold"),
        "replicating with lag above spec.lagAlertSeconds is not Ready"
    );
    assert!(ready.message.contains("45s >= 5s"), "{}", ready.message);
    assert_eq!(cond(&d, REPLICATING).status, "True", "still replicating");
    assert_eq!(d.status.phase, Some(Phase::Replicating));
    // Back under the threshold: Ready again.
    let d = run(&spec(), &d.status, replicating(1.0), 20);
    assert_eq!(cond(&d, READY).status, "True");
}

#[test]
fn replicating_without_a_lag_sample_is_not_ready() {
    let mut t = replicating(2.0);
    t.lag_seconds = None;
    let d = run(&spec(), &started(), t, 0);
    assert_eq!(d.status.phase, Some(Phase::Replicating));
    let ready = cond(&d, READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("Unknown", "NoSample"),
        "no measured lag, no Ready"
    );
}

#[test]
fn lag_is_unknown_when_not_replicating() {
    let d = run(&spec(), &started(), task("Prechecking"), 0);
    assert_eq!(cond(&d, LAG_WITHIN_THRESHOLD).status, "Unknown");
    assert_eq!(cond(&d, REPLICATING).status, "False");
}

#[test]
fn suspend_and_resume_only_what_we_paused() {
    let mut s = spec();
    s.suspend = true;
    let d = run(&s, &started(), replicating(1.0), 0);
    assert_eq!(d.act, Some(Act::Suspend));

    let ours = DtsMigrationStatus {
        suspended_at: Some(Time(at(0))),
        ..started()
    };
    let d = run(&s, &ours, task("Suspending"), 60);
    assert_eq!(d.act, None);
    assert_eq!(d.status.phase, Some(Phase::Suspended));
    assert!(d.status.warnings.iter().any(|w| w.contains("6 hours")));

    let d = run(&spec(), &ours, task("Suspending"), 120);
    assert_eq!(d.act, Some(Act::Start));
    assert_eq!(d.status.suspended_at, None);

    let d = run(&spec(), &started(), task("Suspending"), 120);
    assert_eq!(d.act, None, "a pause from the console is not undone by us");
    assert_eq!(cond(&d, READY).reason, "SuspendedOutsideOperator");
}

#[test]
fn a_long_pause_escalates_the_warning() {
    let mut s = spec();
    s.suspend = true;
    let ours = DtsMigrationStatus {
        suspended_at: Some(Time(at(0))),
        ..started()
    };
    let d = run(&s, &ours, task("Suspending"), 5 * 3600 + 120);
    assert!(
        d.status.warnings[0].contains("paused for 5h02m"),
        "{:?}",
        d.status.warnings
    );
}

#[test]
fn stop_is_requested_until_finished() {
    let mut s = spec();
    s.stop = true;
    let d = run(&s, &started(), replicating(1.0), 0);
    assert_eq!(d.act, Some(Act::Stop));
    let d = run(&s, &started(), task("Finished"), 10);
    assert_eq!(d.act, None);
    assert_eq!(d.status.phase, Some(Phase::Stopped));
}

#[test]
fn retrying_and_failed_tasks_carry_the_cloud_error() {
    let mut t = task("Retrying");
    t.retry = Some(RetryStatus {
        retrying: true,
        count: 3,
        elapsed_seconds: 600,
        max_seconds: 43200,
        target: Some("srcDB".into()),
        error: Some("Communications link failure".into()),
    });
    let d = run(&spec(), &started(), t, 0);
    let msg = &cond(&d, READY).message;
    assert!(
        msg.contains("Communications link failure") && msg.contains("overwrite the destination"),
        "{msg}"
    );
    assert_eq!(d.status.retry.as_ref().unwrap().count, 3);

    let mut t = task("MigrationFailed");
    t.error = Some("DTS-1001: table shop.orders does not exist".into());
    let d = run(&spec(), &started(), t, 0);
    assert!(cond(&d, READY).message.contains("DTS-1001"));
    assert_eq!(
        d.status.error_message.as_deref(),
        Some("DTS-1001: table shop.orders does not exist")
    );
}

#[test]
fn the_lag_monitor_rule_is_created_once_after_the_start() {
    let mut s = spec();
    s.lag_monitor_rule = Some(LagMonitorRule {
        delay_seconds: 30,
        phones: vec![],
    });
    let d = run(&s, &configured(), task("Prechecking"), 0);
    assert_eq!(d.act, None, "not before the task started");
    let d = run(&s, &started(), replicating(1.0), 0);
    let Some(Act::SyncMonitorRules { rules, generation }) = &d.act else {
        panic!("{:?}", d.act)
    };
    assert_eq!(*generation, 1);
    assert_eq!(rules[0].kind, MonitorRuleType::Delay);
    assert_eq!((rules[0].enabled, rules[0].delay_seconds), (true, Some(30)));
    assert_eq!(
        (rules[1].kind, rules[1].enabled),
        (MonitorRuleType::Error, false)
    );
    // The act records the generation once DTS answered; then nothing until the spec changes.
    let mut after = d.status.clone();
    after.monitor_rules_generation = Some(1);
    let d = run(&s, &after, replicating(1.0), 10);
    assert_eq!(d.act, None);
}

#[test]
fn alert_rules_follow_every_spec_change_and_a_dropped_rule_is_turned_off() {
    let mut s = spec();
    s.monitor_rules = Some(crate::api::dts_migration::MonitorRules {
        delay_seconds: Some(20),
        on_error: true,
        phones: vec!["1380000".into()],
    });
    let mut held = started();
    held.monitor_rules_generation = Some(1);
    assert_eq!(run(&s, &held, replicating(1.0), 0).act, None, "in step");
    // Generation 2 drops both alerts: they are turned off.
    let mut t = replicating(1.0);
    t.observed_at = at(5);
    let d = decide(&spec(), &held, Some(2), &Observed::Task(Box::new(t)), at(5));
    let Some(Act::SyncMonitorRules {
        rules,
        generation: 2,
    }) = &d.act
    else {
        panic!("{:?}", d.act)
    };
    assert!(rules.iter().all(|r| !r.enabled), "{rules:?}");
    // Never asked for, never sent.
    assert_eq!(run(&spec(), &started(), replicating(1.0), 0).act, None);
    // An error alert alone, with the phones for both kinds.
    let rules = alert_rules(&s);
    assert_eq!(rules[1].phones, vec!["1380000".to_string()]);
    assert!(rules[1].enabled);
}

#[test]
fn data_check_outcome_is_reported() {
    let mut s = full_only();
    s.data_check = Some(DataCheck {
        full: true,
        ..Default::default()
    });
    let table = |diff: i64| TableCheck {
        check: "Full".into(),
        database: "shop".into(),
        table: "orders".into(),
        diff_rows: diff,
        checked_rows: Some(10),
        total_rows: Some(10),
        ..TableCheck::default()
    };
    let check = |can_switch: bool, diff: i64| CheckView {
        status: "Finished".into(),
        percent: Some(100),
        can_switch: Some(can_switch),
        error: (diff > 0).then(|| format!("{diff} inconsistent row(s)")),
        tables: Some(vec![table(diff)]),
    };
    let mut t = task("Finished");
    t.full_check = Some(check(true, 0));
    let d = run(&s, &started(), t.clone(), 0);
    assert_eq!(
        d.status.verification.as_ref().unwrap().state,
        VerificationState::Passed
    );
    t.full_check = Some(check(false, 4));
    let d = run(&s, &started(), t, 0);
    let v = d.status.verification.unwrap();
    assert_eq!(v.state, VerificationState::Failed);
    assert_eq!(v.diff_count, Some(4));
    assert_eq!(v.tables[0].diff_rows, 4);
}

#[test]
fn a_sample_is_stamped_when_dts_answered_not_when_the_reconcile_began() {
    let mut t = replicating(1.0);
    // The reconcile began at 0; DTS answered 7 s later (a slow answer, a retry).
    t.observed_at = at(7);
    let d = decide(
        &spec(),
        &started(),
        Some(1),
        &Observed::Task(Box::new(t)),
        at(0),
    );
    let sample = d.status.lag_samples.last().unwrap();
    assert_eq!(sample.at, Time(at(7)));
    assert_eq!(sample.checkpoint, Some(1_700_000_000));
    assert_eq!(d.status.lag_observed_at, Some(Time(at(7))));
}

#[test]
fn lag_turns_stale_when_dts_cannot_be_read_for_longer_than_the_bound() {
    let mut s = spec();
    s.lag_stale_after_seconds = 30;
    let live = run(&s, &started(), replicating(1.0), 0).status;
    assert_eq!(stale(&s, &live, at(30)), None, "still fresh at the bound");
    let st = stale(&s, &live, at(31)).expect("stale after the bound");
    let lag = conditions::find(&st.conditions, LAG_WITHIN_THRESHOLD).unwrap();
    assert_eq!(
        (lag.status.as_str(), lag.reason.as_str()),
        ("Unknown", "LagStale")
    );
    assert_eq!(
        conditions::find(&st.conditions, READY).unwrap().status,
        "Unknown"
    );
    assert_eq!(st.lag.as_deref(), Some("stale"));
    assert_eq!(
        st.lag_seconds,
        Some(1.0),
        "the last measured number stays, with its time"
    );
    // Staying stale writes nothing new.
    assert_eq!(stale(&s, &st, at(90)).as_ref(), Some(&st));
    // The next answer measures again.
    let back = run(&s, &st, replicating(2.0), 100).status;
    assert_eq!(back.lag.as_deref(), Some("2s"));
    let lag = conditions::find(&back.conditions, LAG_WITHIN_THRESHOLD).unwrap();
    assert_eq!(lag.status, "True");
    assert_eq!(stale(&s, &back, at(101)), None);
}

#[test]
fn an_answer_without_lag_does_not_keep_an_old_number_alive() {
    let mut s = spec();
    s.lag_stale_after_seconds = 30;
    let live = run(&s, &started(), replicating(1.0), 0).status;
    let mut quiet = replicating(1.0);
    quiet.lag_seconds = None;
    let d = run(&s, &live, quiet, 45);
    assert_eq!(cond(&d, LAG_WITHIN_THRESHOLD).reason, "LagStale");
    assert_eq!(d.status.lag.as_deref(), Some("stale"));
}

#[test]
fn a_released_instance_is_reported() {
    let d = decide(&spec(), &started(), Some(1), &Observed::Gone, at(0));
    assert_eq!(cond(&d, READY).reason, "InstanceGone");
    assert_eq!(d.act, None);
}

#[test]
fn lag_formatting() {
    assert_eq!(format_lag(0.4), "0.4s");
    assert_eq!(format_lag(3.0), "3s");
    assert_eq!(format_lag(59.6), "1m00s");
    assert_eq!(format_lag(125.0), "2m05s");
}

#[test]
fn polling_keeps_lag_samples_fresh() {
    let s = spec();
    let d = run(&s, &started(), replicating(1.0), 0);
    assert!(!poll_due(&s, &d.status, Some(1), at(5)));
    assert!(poll_due(&s, &d.status, Some(1), at(10)));
    let done = run(&full_only(), &started(), task("Finished"), 0).status;
    assert!(
        !poll_due(&full_only(), &done, Some(1), at(300)),
        "finished: drift check only"
    );
    let mut stop = s.clone();
    stop.stop = true;
    assert!(
        poll_due(&stop, &d.status, Some(1), at(1)),
        "a stop request acts at once"
    );
}

#[test]
fn deciding_twice_on_the_same_facts_changes_nothing_but_new_samples() {
    let first = run(&spec(), &started(), task("Prechecking"), 0);
    let second = run(&spec(), &first.status, task("Prechecking"), 0);
    assert_eq!(first.status, second.status);
}

#[test]
fn a_decision_is_not_polled_again_at_once() {
    let s = spec();
    let cases: Vec<(DtsMigrationStatus, Observed)> = vec![
        (DtsMigrationStatus::default(), Observed::NoTask),
        (configured(), Observed::Task(Box::new(task("NotStarted")))),
        (started(), Observed::Task(Box::new(task("Prechecking")))),
        (started(), Observed::Task(Box::new(task("PrecheckFailed")))),
        (started(), Observed::Task(Box::new(replicating(1.0)))),
        (started(), Observed::Task(Box::new(task("Finished")))),
        (started(), Observed::Gone),
    ];
    for (prev, observed) in cases {
        let d = decide(&s, &prev, Some(1), &observed, at(0));
        assert!(!poll_due(&s, &d.status, Some(1), at(0)), "{observed:?}");
    }
}

fn observing() -> DtsMigrationSpec {
    DtsMigrationSpec {
        management_policy: ManagementPolicy::ObserveOnly,
        ..spec()
    }
}

#[test]
fn the_adopt_id_names_the_task_once_and_for_good() {
    let fresh = DtsMigrationStatus::default();
    let adopted = adopt(&observing(), &fresh, Some("l3m1")).unwrap();
    assert_eq!(adopted.dts_job_id.as_deref(), Some("l3m1"));
    assert_eq!(adopted.adopted_id.as_deref(), Some("l3m1"));
    assert_eq!(adopted.dts_instance_id, None, "read from the task");
    assert_eq!(
        adopt(&observing(), &adopted, Some("l3m1")).unwrap(),
        adopted
    );
    let changed = adopt(&observing(), &adopted, Some("other")).unwrap_err();
    assert!(changed.contains("changed from l3m1 to other"), "{changed}");
    // Removing the annotation later keeps following the adopted task.
    assert_eq!(adopt(&observing(), &adopted, None).unwrap(), adopted);
    let missing = adopt(&observing(), &fresh, None).unwrap_err();
    assert!(
        missing.contains("migration.aliyun-operator.dev/adopt-id"),
        "{missing}"
    );
    let own = adopt(&spec(), &configured(), Some("l3m1")).unwrap_err();
    assert!(own.contains("already made its own DTS task"), "{own}");
    assert_eq!(adopt(&spec(), &configured(), None).unwrap(), configured());
    let mut legacy = observing();
    legacy.api_generation = ApiGeneration::MigrationJob;
    let adopted = adopt(&legacy, &fresh, Some("dtsl3m1")).unwrap();
    assert_eq!(adopted.dts_instance_id.as_deref(), Some("dtsl3m1"));
}

#[test]
fn an_observed_task_is_read_and_never_changed() {
    let adopted = adopt(&observing(), &DtsMigrationStatus::default(), Some("abc")).unwrap();
    // Whatever the managed decision would send (start, buy, suspend, stop, a monitor rule).
    let mut suspend = observing();
    suspend.suspend = true;
    let mut stop = observing();
    stop.stop = true;
    let mut with_rule = observing();
    with_rule.lag_monitor_rule = Some(LagMonitorRule {
        delay_seconds: 30,
        ..Default::default()
    });
    let mut replicating = replicating(1.0);
    replicating.instance_id = Some("dtsabc".into());
    let mut unbought = task("NotStarted");
    unbought.instance_id = None;
    let mut bought = task("NotStarted");
    bought.instance_id = Some("dtsabc".into());
    for (s, t, wanted) in [
        (observing(), bought, "StartDtsJob"),
        (observing(), unbought, "CreateDtsInstance"),
        (suspend, replicating.clone(), "SuspendDtsJob"),
        (stop, replicating.clone(), "StopDtsJob"),
        (with_rule, replicating.clone(), "CreateJobMonitorRule"),
    ] {
        let mut managed = s.clone();
        managed.management_policy = ManagementPolicy::Manage;
        let would = run(&managed, &adopted, t.clone(), 0);
        assert_eq!(
            would.act.as_ref().map(|a| action(a, false)),
            Some(wanted),
            "the managed decision"
        );
        let d = run(&s, &adopted, t, 0);
        assert_eq!(d.act, None, "ObserveOnly sends no {wanted}");
        assert_eq!(d.status.purchase_requested_at, None);
        assert_eq!(d.status.suspended_at, None);
        let ready = cond(&d, READY);
        // A replicating task within its lag is Ready whatever extra the spec asks for.
        assert!(
            ready.status == "True"
                || ready
                    .message
                    .contains(&format!("ObserveOnly: the operator does not send {wanted}")),
            "{}",
            ready.message
        );
    }
    // Lag is reported as for any task.
    let d = run(&observing(), &adopted, replicating, 0);
    assert_eq!(d.status.phase, Some(Phase::Replicating));
    assert_eq!(d.status.lag_seconds, Some(1.0));
}

#[test]
fn permission_items_have_their_own_condition_with_least_privilege() {
    let d = run(&spec(), &configured(), task("Prechecking"), 0);
    let c = cond(&d, PRIVILEGES_SUFFICIENT);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("Unknown", "NotChecked")
    );
    let mut t = task("PrecheckFailed");
    t.precheck = Some(PrecheckStatus {
        status: "Failed".into(),
        percent: Some(100),
        total_items: 10,
        items: vec![
            PrecheckItem {
                name: "CHECK_AUTH_SRC".into(),
                result: "Failed".into(),
                reason: "the account dts lacks REPLICATION CLIENT".into(),
                ..Default::default()
            },
            PrecheckItem {
                name: "CHECK_SRC_BINLOG".into(),
                result: "Failed".into(),
                reason: "binary logging is off".into(),
                ..Default::default()
            },
        ],
    });
    let d = run(&spec(), &configured(), t, 0);
    let c = cond(&d, PRIVILEGES_SUFFICIENT);
    assert_eq!(c.status, "False");
    assert!(
        c.message
            .contains("CHECK_AUTH_SRC (Failed): the account dts lacks REPLICATION CLIENT")
            && !c.message.contains("CHECK_SRC_BINLOG")
            && c.message
                .contains("REPLICATION SLAVE and REPLICATION CLIENT, not SUPER"),
        "{}",
        c.message
    );
    // A finished precheck without a failing permission item: True; full-only needs no
    // replication grants.
    let mut t = task("PreCheckPass");
    t.precheck = Some(PrecheckStatus {
        status: "Finished".into(),
        percent: Some(100),
        total_items: 10,
        items: vec![],
    });
    let d = run(&full_only(), &configured(), t, 0);
    let c = cond(&d, PRIVILEGES_SUFFICIENT);
    assert_eq!(c.status, "True");
    assert!(
        c.message.contains("only with incremental migration"),
        "{}",
        c.message
    );
    // A later read without precheck details keeps what was measured.
    let again = run(&full_only(), &d.status, replicating(1.0), 10);
    assert_eq!(cond(&again, PRIVILEGES_SUFFICIENT).status, "True");
}

#[test]
fn a_decide_keeps_or_computes_every_status_field() {
    // A replicating task adopted with a handled precheck, skips, alert rules and reconcile
    // request: every field carried over has a value before, and must have one after.
    let prev = DtsMigrationStatus {
        dts_job_name: Some("shop-orders".into()),
        create_requested_at: Some(Time(at(-300))),
        purchase_requested_at: Some(Time(at(-290))),
        last_precheck_requested_at: Some("p1".into()),
        precheck_generation: Some(1),
        precheck_skipped: Some(PrecheckSkipped {
            items: vec!["CHECK_SAME_USER".into()],
            generation: 1,
        }),
        adopted_id: Some("abc".into()),
        monitor_rules_generation: Some(1),
        last_handled_reconcile_at: Some("t1".into()),
        // Read every few minutes: carried between reads.
        schema_changes: Some(crate::api::dts_migration::SchemaChangesStatus {
            total: 1,
            ..Default::default()
        }),
        ..started()
    };
    let d = run(&spec(), &prev, replicating(2.0), 0);
    // Only some observations produce these: a failure, a retry, a precheck, a data check, a
    // warning about the spec; and the next poll comes with an informer's observation.
    let observation_only = [
        "errorMessage",
        "retry",
        "precheck",
        "verification",
        "warnings",
        "nextPollAt",
        "suspendedAt",
    ];
    assert_eq!(
        crate::api::schema_check::dropped_fields("DtsMigration", &d.status, &observation_only),
        Vec::<String>::new(),
        "decide dropped these status fields (or this case cannot set them: give them one)"
    );
}
