use super::*;
use crate::api::cutover::{BackupAttestation, Evidence, MaintenanceWindow};

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn sample(t: i64, lag: f64) -> LagSample {
    LagSample {
        at: Time(at(t)),
        seconds: lag,
        checkpoint: None,
    }
}

fn gates() -> Gates {
    Gates {
        max_lag_seconds: 5.0,
        stable_for_seconds: 60,
        min_samples: 3,
        max_sample_age_seconds: 30,
        ..Gates::default()
    }
}

fn dts(samples: Vec<LagSample>) -> DtsObs {
    DtsObs {
        name: "orders".into(),
        exists: true,
        phase: Some(DtsMigrationPhase::Replicating),
        lag_samples: samples,
        ..Default::default()
    }
}

#[test]
fn lag_passes_after_a_stable_window_of_fresh_samples() {
    let samples: Vec<_> = (0..=7).map(|i| sample(i * 10, 1.0)).collect();
    let g = lag_gate(&dts(samples), None, &gates(), at(75));
    assert!(g.passed, "{g:?}");
    assert_eq!(g.samples, Some(8));
    assert_eq!(g.since, Some(Time(at(0))));
    assert_eq!(g.evidence, Evidence::Measured);
}

#[test]
fn lag_waits_for_the_full_window() {
    let samples: Vec<_> = (0..=3).map(|i| sample(i * 10, 1.0)).collect();
    let g = lag_gate(&dts(samples), None, &gates(), at(35));
    assert!(!g.passed, "only 35s of a 60s window");
}

#[test]
fn a_spike_restarts_the_window() {
    let mut samples: Vec<_> = (0..=6).map(|i| sample(i * 10, 1.0)).collect();
    samples.push(sample(70, 8.0));
    samples.extend((8..=12).map(|i| sample(i * 10, 1.0)));
    let g = lag_gate(&dts(samples), None, &gates(), at(125));
    assert!(!g.passed, "the spike at 70s is inside the window");
    assert_eq!(g.since, Some(Time(at(80))));
    assert!(g.observed.contains("below 5s for 40s"), "{}", g.observed);
}

#[test]
fn a_sample_at_the_threshold_counts_as_failing() {
    let samples: Vec<_> = (0..=8)
        .map(|i| sample(i * 10, if i == 7 { 5.0 } else { 1.0 }))
        .collect();
    let g = lag_gate(&dts(samples), None, &gates(), at(85));
    assert!(!g.passed);
}

#[test]
fn a_stale_latest_sample_fails_even_after_a_long_good_run() {
    let samples: Vec<_> = (0..=10).map(|i| sample(i * 10, 1.0)).collect();
    let g = lag_gate(&dts(samples), None, &gates(), at(100 + 31));
    assert!(!g.passed);
    assert!(g.observed.contains("stale"), "{}", g.observed);
}

#[test]
fn a_gap_between_samples_restarts_the_window() {
    let mut samples: Vec<_> = (0..=5).map(|i| sample(i * 10, 1.0)).collect();
    samples.extend((0..=3).map(|i| sample(100 + i * 10, 1.0)));
    let g = lag_gate(&dts(samples), None, &gates(), at(135));
    assert!(!g.passed, "a 50s hole is no evidence");
    assert_eq!(g.since, Some(Time(at(100))));
}

#[test]
fn the_run_continues_across_evaluations_beyond_the_kept_samples() {
    let g = gates();
    let mut prev = None;
    // Feed samples a few at a time, as the DtsMigration status would show them (window of 3).
    for t in (0..=200).step_by(10) {
        let kept: Vec<_> = (0..3)
            .filter(|&k| t - k * 10 >= 0)
            .map(|k| sample(t - k * 10, 1.0))
            .collect();
        prev = Some(lag_gate(&dts(kept), prev.as_ref(), &g, at(t + 1)));
    }
    let last = prev.unwrap();
    assert!(last.passed);
    assert_eq!(last.since, Some(Time(at(0))));
    assert_eq!(last.samples, Some(21));
}

#[test]
fn not_replicating_is_waiting_and_failed_phases_fail() {
    let mut d = dts(vec![]);
    d.phase = Some(DtsMigrationPhase::MigratingFull);
    let g = lag_gate(&d, None, &gates(), at(0));
    assert!(!g.passed && !g.failed);
    d.phase = Some(DtsMigrationPhase::Failed);
    assert!(lag_gate(&d, None, &gates(), at(0)).failed);
    d.exists = false;
    assert!(
        lag_gate(&d, None, &gates(), at(0))
            .observed
            .contains("not found")
    );
}

#[test]
fn report_text_does_not_change_between_samples() {
    let samples: Vec<_> = (0..=3).map(|i| sample(i * 10, 1.0)).collect();
    let a = lag_gate(&dts(samples.clone()), None, &gates(), at(31));
    let b = lag_gate(&dts(samples), Some(&a), &gates(), at(33));
    assert_eq!(a, b, "no status churn while nothing new was observed");
}

#[test]
fn mms_verification_follows_the_verified_condition() {
    let mut m = MmsObs {
        name: "hist".into(),
        exists: true,
        phase: Some(MmsJobPhase::Running),
        verification_enabled: true,
        verified: Some(("Unknown".into(), "Pending".into(), "1 of 3 verified".into())),
        ..Default::default()
    };
    let g = mms_verification_gate(&m, None, at(0));
    assert!(!g.passed && !g.failed);
    m.verified = Some(("True".into(), "RowCountsMatch".into(), "all 3 match".into()));
    assert!(mms_verification_gate(&m, None, at(0)).passed);
    m.verified = Some((
        "False".into(),
        "RowCountMismatch".into(),
        "orders: src 10, dst 9".into(),
    ));
    let g = mms_verification_gate(&m, None, at(0));
    assert!(g.failed && g.observed.contains("orders: src 10, dst 9"));
    m.verification_enabled = false;
    assert!(mms_verification_gate(&m, None, at(0)).failed);
}

fn attested(verified_at: &str) -> Gates {
    Gates {
        backup: Some(BackupAttestation {
            verified_by: "dba@example.com".into(),
            verified_at: verified_at.into(),
            evidence: "snapshot 7731 restored".into(),
            ..BackupAttestation::default()
        }),
        ..gates()
    }
}

#[test]
fn backup_is_attested_not_measured() {
    let mut g = gates();
    let none = backup_gate(&g, None, at(0));
    assert!(!none.passed && none.evidence == Evidence::Attested);
    // at(0) is 2023-11-14T22:13:20Z: an attestation from that morning.
    g = attested("2023-11-14T08:00:00Z");
    let ok = backup_gate(&g, None, at(0));
    assert!(
        ok.passed
            && ok.observed.contains("dba@example.com")
            && ok.observed.contains("snapshot 7731"),
        "{ok:?}"
    );
    g.backup.as_mut().unwrap().verified_at = "yesterday".into();
    assert!(backup_gate(&g, None, at(0)).failed);
    g.require_backup = false;
    assert_eq!(backup_gate(&g, None, at(0)).evidence, Evidence::Waived);
}

#[test]
fn an_old_attestation_fails_with_its_threshold_by_default() {
    let g = attested("2019-03-01T10:00:00Z");
    let old = backup_gate(&g, None, at(0));
    assert!(!old.passed && old.failed, "{old:?}");
    assert!(old.observed.contains("expired"), "{}", old.observed);
    assert!(old.threshold.contains("86400"), "{}", old.threshold);
    // An explicit bound: expired after an hour.
    let mut g = attested("2023-11-14T20:00:00Z");
    g.backup.as_mut().unwrap().max_age_seconds = 3600;
    let expired = backup_gate(&g, None, at(0));
    assert!(
        expired.failed && expired.threshold.contains("3600"),
        "{expired:?}"
    );
}

#[test]
fn an_attestation_from_the_future_fails_beyond_the_clock_skew() {
    // at(0) is 2023-11-14T22:13:20Z.
    let ahead = backup_gate(&attested("2023-11-15T01:00:00Z"), None, at(0));
    assert!(
        ahead.failed && ahead.observed.contains("future"),
        "{ahead:?}"
    );
    let skewed = backup_gate(&attested("2023-11-14T22:15:00Z"), None, at(0));
    assert!(skewed.passed, "100 s ahead is clock skew: {skewed:?}");
}

#[test]
fn time_without_samples_never_counts_as_stable() {
    // Three samples of 2 s, then nothing for 18 s (reads failed): the run spans 2 s, not 20.
    let mut g = gates();
    g.stable_for_seconds = 20;
    let samples: Vec<_> = (0..3).map(|i| sample(i, 2.0)).collect();
    let gate = lag_gate(&dts(samples), None, &g, at(20));
    assert!(!gate.passed, "{gate:?}");
    assert_eq!(gate.samples, Some(3));
    assert!(
        gate.observed.contains("for 2s over 3 sample(s)"),
        "{}",
        gate.observed
    );
    assert_eq!(gate.evidence, Evidence::Measured);
}

#[test]
fn a_stale_newest_sample_is_reported_as_stale_evidence() {
    let samples: Vec<_> = (0..=10).map(|i| sample(i * 10, 1.0)).collect();
    let g = lag_gate(&dts(samples), None, &gates(), at(100 + 31));
    assert_eq!(g.evidence, Evidence::Stale);
}

#[test]
fn the_final_check_needs_a_sample_after_the_gates_passed() {
    let g = gates();
    let samples: Vec<_> = (0..=7).map(|i| sample(i * 10, 1.0)).collect();
    let passed_at = at(75);
    let before = dts(samples.clone());
    let prev = lag_gate(&before, None, &g, passed_at);
    assert!(prev.passed);
    assert_eq!(
        final_lag(&before, Some(&prev), &g, passed_at, at(80)),
        FinalLag::Wait
    );
    let FinalLag::Failed(why) = final_lag(&before, Some(&prev), &g, passed_at, at(75 + 31)) else {
        panic!("no fresh sample within maxSampleAgeSeconds must fail");
    };
    assert!(why.contains("no lag sample"), "{why}");
    let mut after = samples.clone();
    after.push(sample(80, 1.5));
    assert!(matches!(
        final_lag(&dts(after), Some(&prev), &g, passed_at, at(81)),
        FinalLag::Passed(_)
    ));
    let mut spiked = samples;
    spiked.push(sample(80, 9.0));
    assert!(matches!(
        final_lag(&dts(spiked), Some(&prev), &g, passed_at, at(81)),
        FinalLag::Failed(_)
    ));
}

#[test]
fn dts_verification_is_waived_without_a_data_check_and_fails_with_counts() {
    let mut d = dts(vec![]);
    let waived = dts_verification_gate(&d, None, at(0));
    assert!(
        waived.passed && waived.evidence == Evidence::Waived,
        "{waived:?}"
    );
    d.data_check = true;
    d.verification = Some(DtsVerificationStatus {
        state: VerificationState::Failed,
        message: Some("full check Finished, CanSwitch false: 42 inconsistent row(s)".into()),
        diff_count: Some(42),
        ..Default::default()
    });
    let failed = dts_verification_gate(&d, None, at(0));
    assert!(
        failed.failed && failed.observed.contains("42"),
        "{failed:?}"
    );
    d.verification = None;
    let pending = dts_verification_gate(&d, None, at(0));
    assert!(!pending.passed && !pending.failed);
}

#[test]
fn approval_records_who_and_when() {
    let g = approval_gate(true, None, None, at(0));
    assert!(!g.passed && g.observed.contains("approved-by"));
    let a = Approval {
        approved_by: "lead@example.com".into(),
        approved_at: Some("2026-11-22T09:00:00Z".into()),
        comment: Some("CHG-1234".into()),
    };
    let g = approval_gate(true, Some(&a), None, at(0));
    assert!(
        g.passed && g.observed == "approved by lead@example.com at 2026-11-22T09:00:00Z: CHG-1234"
    );
    assert!(approval_gate(false, None, None, at(0)).passed);
}

#[test]
fn window_gate_says_when_it_opens() {
    let mut g = gates();
    g.window = Some(MaintenanceWindow {
        start: "02:00".into(),
        duration_minutes: 60,
        days: vec![],
        time_zone: Some("UTC".into()),
    });
    // at(0) is 2023-11-14T22:13:20Z.
    let (gate, wake) = window_gate(&g, None, at(0)).unwrap();
    assert!(!gate.passed && gate.observed.contains("opens at 2023-11-15T02:00:00Z"));
    assert_eq!(wake, Some("2023-11-15T02:00:00Z".parse().unwrap()));
    assert!(window_gate(&gates(), None, at(0)).is_none());
}

#[test]
fn since_only_moves_when_the_result_flips() {
    let a = approval_gate(true, None, None, at(0));
    let b = approval_gate(true, None, Some(&a), at(50));
    assert_eq!(b.since, Some(Time(at(0))));
}

#[test]
fn a_dataworks_import_gate_passes_on_success_and_on_accepted_partial_success_only() {
    use crate::api::dataworks_migration::DataWorksMigrationPhase as P;
    let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let obs = |phase: Option<P>, accept: bool| DataWorksObs {
        name: "jobs".into(),
        exists: true,
        phase,
        message: "m".into(),
        accept_partial_success: accept,
        current: true,
    };
    let g = dataworks_import_gate(&obs(Some(P::Succeeded), false), None, now);
    assert!(g.passed && !g.failed);
    assert_eq!(g.name, "import/jobs");
    let g = dataworks_import_gate(&obs(Some(P::PartiallySucceeded), false), None, now);
    assert!(
        !g.passed && g.failed,
        "partial success fails unless accepted"
    );
    assert!(g.observed.contains("acceptPartialSuccess"));
    let g = dataworks_import_gate(&obs(Some(P::PartiallySucceeded), true), None, now);
    assert!(g.passed && !g.failed);
    let g = dataworks_import_gate(&obs(Some(P::Importing), false), None, now);
    assert!(!g.passed && !g.failed, "still importing: wait");
    let g = dataworks_import_gate(&obs(Some(P::Failed), false), None, now);
    assert!(g.failed);
    let mut stale = obs(Some(P::Succeeded), false);
    stale.current = false;
    assert!(
        !dataworks_import_gate(&stale, None, now).passed,
        "an old status does not pass"
    );
    let mut gone = obs(None, false);
    gone.exists = false;
    let g = dataworks_import_gate(&gone, None, now);
    assert!(!g.passed && !g.failed);
}
