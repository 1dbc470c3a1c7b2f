//! Cutover gates pass only on fresh, measured evidence (issue 14, class A): a gap in the lag
//! samples resets the stable window, the final check waits for a sample taken after the gates
//! passed, a failed DTS data check fails verification with its real counts, and a backup
//! attestation that is too old or dated in the future fails.

use std::time::Duration;

use serde_json::json;

use crate::support::cutover::*;
use crate::support::*;

fn app_db(ns: &Namespace) {
    config_map(ns, "app-db", json!({"DSN": SOURCE_DSN}));
}

/// Stops the DtsMigration's reads of DTS for `seconds` (both calls its poll may use).
fn fail_dts_reads(sim: &Sim, seconds: f64) {
    for action in ["DescribeDtsJobs", "DescribeDtsJobDetail"] {
        block_on(
            sim.admin
                .fail_for(action, seconds, "ServiceUnavailable", 503),
        )
        .unwrap();
    }
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_gap_in_the_lag_samples_restarts_the_stable_window() {
    let Stage {
        ns,
        sim,
        op: _op,
        job: id,
    } = stage("cut-gap", Sim::start(&[]), json!({}));
    app_db(&ns);
    block_on(sim.admin.set_lag(&id, 2.0)).unwrap();
    apply_cutover(
        &ns,
        "gap",
        json!({"gates": {"stableForSeconds": 20, "minSamples": 3, "maxSampleAgeSeconds": 30},
               "switch": switch_dsn()}),
    );
    // Three samples of 2 s, then the reads fail for 18 s while the real lag is 9 s.
    wait_obj(&ns.kubectl, "cutover/gap", "3 lag samples", T, |o| {
        gate(o, "lag/orders").is_some_and(|g| g["samples"].as_i64().unwrap_or(0) >= 3)
    });
    fail_dts_reads(&sim, 18.0);
    block_on(sim.admin.set_lag(&id, 9.0)).unwrap();
    let started = std::time::Instant::now();
    // Time alone never makes the window: the run of samples is 2 s long, not 20.
    while started.elapsed() < Duration::from_secs(24) {
        let c = ns.kubectl.get_json("cutover/gap").unwrap();
        let lag = gate(&c, "lag/orders").unwrap();
        assert_eq!(
            lag["passed"], false,
            "passed on time without samples: {lag}"
        );
        assert_eq!(stop_calls(&sim), 0, "StopDtsJob sent");
        std::thread::sleep(Duration::from_millis(500));
    }
    // The first sample after the gap shows the real lag and restarts the window.
    let c = wait_obj(&ns.kubectl, "cutover/gap", "the 9 s sample", T, |o| {
        gate(o, "lag/orders").is_some_and(|g| {
            g["observed"]
                .as_str()
                .unwrap_or_default()
                .contains("at or above")
        })
    });
    assert_eq!(phase(&c), "Gating");
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn the_final_check_needs_a_sample_taken_after_the_gates_passed() {
    let Stage {
        ns, sim, op: _op, ..
    } = stage("cut-final", Sim::start(&[]), json!({}));
    app_db(&ns);
    apply_cutover(
        &ns,
        "final",
        json!({"gates": {"requireApproval": true, "maxSampleAgeSeconds": 10}, "switch": switch_dsn()}),
    );
    wait_phase(&ns, "final", "AwaitingApproval", T);
    // The gates pass on the samples so far; from now on DTS cannot be read.
    fail_dts_reads(&sim, 90.0);
    ns.kubectl.ok(&[
        "annotate",
        "cutover/final",
        "migration.aliyun-operator.dev/approved-by=release-manager@example.com",
    ]);
    let c = wait_obj(
        &ns.kubectl,
        "cutover/final",
        "paused without a fresh sample",
        Duration::from_secs(60),
        |o| phase(o) == "Paused" || stop_calls(&sim) > 0,
    );
    assert_eq!(
        stop_calls(&sim),
        0,
        "replication stopped without a fresh sample"
    );
    assert_eq!(phase(&c), "Paused");
    let reason = at(&c, "status.reason").as_str().unwrap_or_default();
    assert!(reason.contains("no lag sample"), "{reason}");
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_failed_dts_data_check_fails_verification_with_its_counts() {
    let Stage {
        ns,
        sim,
        op: _op,
        job: id,
    } = stage(
        "cut-check",
        Sim::start(&[]),
        json!({"dataCheck": {"full": true}}),
    );
    block_on(sim.admin.set_check_diff(&id, "orders", 42)).unwrap();
    app_db(&ns);
    apply_cutover(
        &ns,
        "checked",
        json!({"gates": {"requireVerification": true}, "switch": switch_dsn()}),
    );
    let m = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "the data check result",
        T,
        // The diff may land after DTS finished its check: wait for the answer that carries it
        // (a Passed from before it must give way).
        |o| {
            at(o, "status.verification.fullCheck.status")
                .as_str()
                .is_some_and(|s| s == "Finished")
                && at(o, "status.verification.fullCheck.canSwitch") == false
        },
    );
    let v = at(&m, "status.verification").clone();
    assert_eq!(v["state"], "Failed", "{v}");
    assert_eq!(v["diffCount"], 42, "{v}");
    assert_eq!(v["fullCheck"]["canSwitch"], false, "{v}");
    let orders = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "orders")
        .cloned()
        .unwrap();
    assert_eq!(orders["diffRows"], 42);
    assert_eq!(orders["checkedRows"], 1_800_000);
    // The Cutover stops on the failed gate and never switches.
    let c = wait_phase(&ns, "checked", "Paused", T);
    let g = gate(&c, "verification/orders").unwrap();
    assert_eq!(g["failed"], true, "{g}");
    assert!(g["observed"].as_str().unwrap().contains("42"), "{g}");
    assert_eq!(stop_calls(&sim), 0);
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn old_future_and_expired_backup_attestations_fail() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cut-backup");
    let sim = Sim::start(&[]);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    app_db(&ns);
    let at_offset = |hours: i64| {
        jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(hours))
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let attest = |verified_at: String, max_age: Option<i64>| {
        let mut b = json!({"verifiedBy": "dba@example.com", "verifiedAt": verified_at, "evidence": "restored"});
        if let Some(m) = max_age {
            b["maxAgeSeconds"] = json!(m);
        }
        json!({"dryRun": true, "gates": {"backup": b}, "switch": switch_dsn()})
    };
    apply_cutover(
        &ns,
        "from-2019",
        attest("2019-03-01T10:00:00Z".into(), None),
    );
    apply_cutover(&ns, "from-the-future", attest(at_offset(3), None));
    apply_cutover(&ns, "expired", attest(at_offset(-2), Some(3600)));
    apply_cutover(&ns, "fresh", attest(at_offset(-2), None));
    let backup = |name: &str| {
        let c = wait_obj(
            &ns.kubectl,
            &format!("cutover/{name}"),
            "a backup gate",
            T,
            |o| gate(o, "backup").is_some(),
        );
        gate(&c, "backup").unwrap()
    };
    let old = backup("from-2019");
    assert_eq!(
        (old["passed"].clone(), old["failed"].clone()),
        (json!(false), json!(true)),
        "{old}"
    );
    assert!(
        old["threshold"].as_str().unwrap().contains("86400"),
        "{old}"
    );
    let future = backup("from-the-future");
    assert_eq!(future["failed"], true, "{future}");
    assert!(
        future["observed"].as_str().unwrap().contains("future"),
        "{future}"
    );
    let expired = backup("expired");
    assert_eq!(expired["failed"], true, "{expired}");
    assert!(
        expired["threshold"].as_str().unwrap().contains("3600"),
        "{expired}"
    );
    let fresh = backup("fresh");
    assert_eq!(fresh["passed"], true, "{fresh}");
    assert_eq!(fresh["evidence"], "Attested");
    // A dry run says it would stop on the failed gate.
    let c = wait_obj(
        &ns.kubectl,
        "cutover/from-2019",
        "dry run verdict",
        T,
        |o| {
            condition(o, "Ready").is_some_and(|c| {
                c["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("would stop on failed gate(s) backup")
            })
        },
    );
    assert_eq!(phase(&c), "DryRun");
}
