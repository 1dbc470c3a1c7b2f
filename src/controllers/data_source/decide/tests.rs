use super::*;
use crate::api::conditions;

/// Due now at production poll intervals.
fn poll_due(
    spec: &DataSourceSpec,
    status: &DataSourceStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    until_poll(spec, status, generation, now, 1.0).is_zero()
}
use crate::api::data_source::ScanSpec;

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn cand(id: i64, name: &str) -> Candidate {
    Candidate {
        id,
        name: name.into(),
        type_: "HIVE".into(),
    }
}

fn spec(scan: Option<ScanSpec>) -> DataSourceSpec {
    DataSourceSpec {
        region: "cn-hangzhou".into(),
        name: Some("hive-prod".into()),
        expected_type: Some(SourceType::Hive),
        scan,
        ..Default::default()
    }
}

fn source() -> SourceView {
    SourceView {
        id: 7,
        name: "hive-prod".into(),
        type_: "HIVE".into(),
        status: "STARTED".into(),
        agent_online: Some(true),
        ..Default::default()
    }
}

fn found() -> Observed {
    Observed {
        lookup: Lookup::Found(source()),
        scan: None,
        databases: Some((vec!["sales".into(), "hr".into()], 2)),
    }
}

fn ready(status: &DataSourceStatus) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    conditions::find(&status.conditions, READY).expect("Ready condition")
}

#[test]
fn exactly_one_exact_match_is_adopted_even_among_partial_matches() {
    let found = resolve_by_name(
        "hive-prod",
        &[cand(1, "hive-prod"), cand(2, "hive-prod-archive")],
    );
    assert_eq!(found, Resolution::Resolved(cand(1, "hive-prod")));
}

#[test]
fn empty_result_is_not_found() {
    assert_eq!(resolve_by_name("x", &[]), Resolution::NotFound);
}

#[test]
fn several_exact_matches_are_ambiguous() {
    let list = [cand(1, "bq"), cand(2, "bq")];
    assert_eq!(
        resolve_by_name("bq", &list),
        Resolution::Ambiguous(list.to_vec())
    );
}

#[test]
fn only_partial_matches_are_ambiguous_not_guessed() {
    let list = [cand(1, "hive-prod-archive")];
    assert_eq!(
        resolve_by_name("hive-prod", &list),
        Resolution::Ambiguous(list.to_vec())
    );
}

#[test]
fn matching_is_exact_not_case_folded() {
    let list = [cand(1, "Hive-Prod")];
    assert_eq!(
        resolve_by_name("hive-prod", &list),
        Resolution::Ambiguous(list.to_vec())
    );
}

#[test]
fn ambiguous_lists_every_candidate_with_name_id_type() {
    let observed = Observed {
        lookup: Lookup::Ambiguous(vec![cand(1, "bq"), cand(2, "bq")]),
        scan: None,
        databases: None,
    };
    let d = decide(
        &spec(None),
        &DataSourceStatus::default(),
        Some(1),
        &observed,
        at(0),
    );
    assert_eq!(d.status.phase, Some(DataSourcePhase::Ambiguous));
    let r = ready(&d.status);
    assert_eq!(
        (r.status.as_str(), r.reason.as_str()),
        ("False", "Ambiguous")
    );
    assert!(
        r.message.contains("bq (id 1, HIVE)") && r.message.contains("bq (id 2, HIVE)"),
        "{}",
        r.message
    );
    assert!(r.message.contains("spec.sourceId"));
    assert_eq!(d.act, None);
    assert_eq!(d.status.source_id, None);
}

#[test]
fn not_found_points_to_the_console() {
    let observed = Observed {
        lookup: Lookup::NameNotFound,
        scan: None,
        databases: None,
    };
    let d = decide(
        &spec(None),
        &DataSourceStatus::default(),
        Some(1),
        &observed,
        at(0),
    );
    assert_eq!(d.status.phase, Some(DataSourcePhase::NotFound));
    assert!(ready(&d.status).message.contains("mma/datasource"));
    assert_eq!(d.requeue, Some(RESOLVE_RETRY));
}

#[test]
fn adopted_source_without_scans_is_ready() {
    let d = decide(
        &spec(None),
        &DataSourceStatus::default(),
        Some(1),
        &found(),
        at(0),
    );
    assert_eq!(d.status.phase, Some(DataSourcePhase::Ready));
    assert_eq!(ready(&d.status).status, "True");
    assert_eq!(d.status.source_id, Some(7));
    assert_eq!(d.status.databases, ["sales", "hr"]);
    assert_eq!(d.act, None);
}

#[test]
fn wrong_type_is_reported_with_the_fix() {
    let mut s = spec(None);
    s.expected_type = Some(SourceType::BigQuery);
    let d = decide(&s, &DataSourceStatus::default(), Some(1), &found(), at(0));
    assert_eq!(d.status.phase, Some(DataSourcePhase::Error));
    let r = ready(&d.status);
    assert_eq!(r.reason, "TypeMismatch");
    assert!(r.message.contains("spec.expectedType is BigQuery"));
}

#[test]
fn stopped_source_and_offline_agent_are_not_ready() {
    let mut observed = found();
    if let Lookup::Found(v) = &mut observed.lookup {
        v.status = "START_FAILED".into();
        v.err_msg = Some("cannot reach metastore".into());
    }
    let d = decide(
        &spec(None),
        &DataSourceStatus::default(),
        Some(1),
        &observed,
        at(0),
    );
    assert_eq!(ready(&d.status).reason, "SourceNotStarted");
    assert!(ready(&d.status).message.contains("cannot reach metastore"));

    let mut observed = found();
    if let Lookup::Found(v) = &mut observed.lookup {
        v.agent_online = Some(false);
    }
    let d = decide(
        &spec(None),
        &DataSourceStatus::default(),
        Some(1),
        &observed,
        at(0),
    );
    assert_eq!(ready(&d.status).reason, "AgentOffline");
}

#[test]
fn on_create_scan_starts_once_and_gates_readiness() {
    let s = spec(Some(ScanSpec {
        on_create: true,
        ..Default::default()
    }));
    let d = decide(&s, &DataSourceStatus::default(), Some(1), &found(), at(0));
    assert_eq!(
        d.act,
        Some(Act::StartScan {
            source_id: 7,
            trigger: ScanTrigger::OnCreate,
            requested_at: None
        })
    );
    assert_eq!(d.status.phase, Some(DataSourcePhase::Scanning));
    assert_eq!(ready(&d.status).status, "False");

    // The scan was started (the controller records it) and is running.
    let mut prev = d.status.clone();
    prev.last_scan = Some(ScanStatus {
        id: 11,
        status: "SCAN_DOING".into(),
        trigger: Some("OnCreate".into()),
        ..Default::default()
    });
    let mut running = found();
    running.scan = Some(ScanView {
        id: 11,
        status: "SCAN_DOING".into(),
        percent: Some(40.0),
        ..Default::default()
    });
    let d = decide(&s, &prev, Some(1), &running, at(10));
    assert_eq!(d.act, None, "no second scan while one runs");
    assert_eq!(d.requeue, Some(SCAN_POLL));
    assert_eq!(ready(&d.status).reason, "Scanning");

    // It finishes: counts land in status, Ready turns True, no further scan.
    let mut done = found();
    done.scan = Some(ScanView {
        id: 11,
        status: "DONE".into(),
        percent: Some(100.0),
        databases: Some(2),
        tables: Some(9),
        partitions: Some(40),
        ..Default::default()
    });
    let d = decide(&s, &d.status, Some(1), &done, at(70));
    assert_eq!(d.act, None);
    assert_eq!(d.status.phase, Some(DataSourcePhase::Ready));
    let scan = d.status.last_scan.as_ref().unwrap();
    assert!(scan.finished && !scan.failed);
    assert_eq!(
        (scan.tables, scan.trigger.as_deref()),
        (Some(9), Some("OnCreate"))
    );
    assert_eq!(scan.finished_at, Some(Time(at(70))));
    let scanned = conditions::find(&d.status.conditions, SCANNED).unwrap();
    assert!(scanned.message.contains("9 tables"));
}

#[test]
fn requested_scan_runs_once_per_new_value() {
    let s = spec(Some(ScanSpec {
        requested_at: Some("2026-11-22T10:00:00Z".into()),
        ..Default::default()
    }));
    let d = decide(&s, &DataSourceStatus::default(), Some(2), &found(), at(0));
    assert_eq!(
        d.act,
        Some(Act::StartScan {
            source_id: 7,
            trigger: ScanTrigger::Requested,
            requested_at: Some("2026-11-22T10:00:00Z".into())
        })
    );
    let mut handled = d.status.clone();
    handled.last_scan = Some(ScanStatus {
        id: 12,
        status: "DONE".into(),
        finished: true,
        requested_at: Some("2026-11-22T10:00:00Z".into()),
        finished_at: Some(Time(at(5))),
        ..Default::default()
    });
    let d = decide(&s, &handled, Some(2), &found(), at(10));
    assert_eq!(d.act, None, "the same request is not served twice");
}

#[test]
fn interval_scans_follow_the_last_finished_scan() {
    let s = spec(Some(ScanSpec {
        interval_seconds: Some(3600),
        ..Default::default()
    }));
    let mut prev = DataSourceStatus {
        last_scan: Some(ScanStatus {
            id: 3,
            status: "DONE".into(),
            finished: true,
            finished_at: Some(Time(at(0))),
            ..Default::default()
        }),
        ..Default::default()
    };
    let d = decide(&s, &prev, Some(1), &found(), at(1800));
    assert_eq!(d.act, None);
    assert_eq!(
        d.requeue,
        Some(Duration::from_secs(600)),
        "drift check comes first"
    );
    prev = d.status;
    let d = decide(&s, &prev, Some(1), &found(), at(3300));
    assert_eq!(
        d.requeue,
        Some(Duration::from_secs(300)),
        "wake up when the interval scan is due"
    );
    let d = decide(&s, &prev, Some(1), &found(), at(3600));
    assert!(matches!(
        d.act,
        Some(Act::StartScan {
            trigger: ScanTrigger::Interval,
            ..
        })
    ));
}

#[test]
fn failed_first_scan_is_reported_and_not_retried_blindly() {
    let s = spec(Some(ScanSpec {
        on_create: true,
        ..Default::default()
    }));
    let prev = DataSourceStatus {
        last_scan: Some(ScanStatus {
            id: 4,
            status: "SCAN_DOING".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut observed = found();
    observed.scan = Some(ScanView {
        id: 4,
        status: "SCAN_FAILED".into(),
        error: Some("metastore timeout".into()),
        ..Default::default()
    });
    let d = decide(&s, &prev, Some(1), &observed, at(30));
    assert_eq!(d.act, None);
    assert_eq!(ready(&d.status).reason, "ScanFailed");
    let scanned = conditions::find(&d.status.conditions, SCANNED).unwrap();
    assert!(
        scanned.message.contains("metastore timeout") && scanned.message.contains("requestedAt")
    );
}

#[test]
fn deciding_twice_on_the_same_facts_changes_nothing() {
    let s = spec(None);
    let first = decide(&s, &DataSourceStatus::default(), Some(1), &found(), at(0));
    let second = decide(&s, &first.status, Some(1), &found(), at(0));
    assert_eq!(first.status, second.status);
}

#[test]
fn polls_only_when_due() {
    let s = spec(None);
    let d = decide(&s, &DataSourceStatus::default(), Some(1), &found(), at(0));
    assert!(
        !poll_due(&s, &d.status, Some(1), at(60)),
        "settled: wait for the drift interval"
    );
    assert!(poll_due(&s, &d.status, Some(1), at(600)));
    assert!(
        poll_due(&s, &d.status, Some(2), at(60)),
        "a spec change polls at once"
    );
    let mut requested = s.clone();
    requested.scan = Some(ScanSpec {
        requested_at: Some("now".into()),
        ..Default::default()
    });
    assert!(
        poll_due(&requested, &d.status, Some(1), at(60)),
        "a scan request polls at once"
    );
    assert!(poll_due(&s, &DataSourceStatus::default(), Some(1), at(0)));
}

#[test]
fn a_decision_is_not_polled_again_at_once() {
    let s = spec(Some(ScanSpec {
        on_create: true,
        ..Default::default()
    }));
    for observed in [
        found(),
        Observed {
            lookup: Lookup::NameNotFound,
            scan: None,
            databases: None,
        },
        Observed {
            lookup: Lookup::Ambiguous(vec![cand(1, "a"), cand(2, "a")]),
            scan: None,
            databases: None,
        },
        Observed {
            lookup: Lookup::IdNotFound(3),
            scan: None,
            databases: None,
        },
    ] {
        let d = decide(&s, &DataSourceStatus::default(), Some(1), &observed, at(0));
        assert!(!poll_due(&s, &d.status, Some(1), at(0)), "{observed:?}");
    }
}

#[test]
fn a_decide_keeps_or_computes_every_status_field() {
    // A ready source with a scan running and a handled reconcile request: every field of the
    // status has a value.
    let s = spec(Some(ScanSpec {
        on_create: true,
        ..Default::default()
    }));
    let prev = DataSourceStatus {
        last_scan: Some(ScanStatus {
            id: 11,
            status: "SCAN_DOING".into(),
            trigger: Some("OnCreate".into()),
            ..Default::default()
        }),
        last_handled_reconcile_at: Some("t1".into()),
        ..Default::default()
    };
    let mut observed = found();
    if let Lookup::Found(view) = &mut observed.lookup {
        view.dst_project = Some("mc_sales".into());
    }
    observed.scan = Some(ScanView {
        id: 11,
        status: "SCAN_DOING".into(),
        percent: Some(40.0),
        ..Default::default()
    });
    let d = decide(&s, &prev, Some(1), &observed, at(0));
    assert_eq!(
        crate::api::schema_check::dropped_fields("DataSource", &d.status, &[]),
        Vec::<String>::new(),
        "decide dropped these status fields (or this case cannot set them: give them one)"
    );
}
