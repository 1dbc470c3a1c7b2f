//! Running like a cluster add-on: two replicas with leader election, take-over when the leader
//! dies, graceful shutdown on SIGTERM (lease released), and the metrics and health endpoints.

mod support;

use std::time::{Duration, Instant};

use support::*;

fn lease_holder(ns: &Namespace, lease: &str) -> Option<String> {
    ns.kubectl
        .in_namespace("amo-system")
        .get_json(&format!("lease/{lease}"))
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
        .filter(|h| !h.is_empty())
}

fn leader_line(op: &Operator) -> bool {
    op.proc.log_text().contains("became leader")
}

/// A replica standing for the namespace's own Lease (in `amo-system`, 6 s).
fn candidate(cluster: &Cluster, ns: &Namespace, sim: &Sim) -> Operator {
    let lease = lease_name(ns);
    let args = [
        "--leader-elect",
        "--lease-name",
        &lease,
        "--lease-namespace",
        "amo-system",
        "--lease-duration-seconds",
        "6",
    ];
    Operator::start(cluster, &ns.name, sim, &args)
}

fn lease_name(ns: &Namespace) -> String {
    format!("amo-{}", ns.name)
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn two_replicas_elect_one_leader_which_hands_over_on_death_and_on_sigterm() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "addon-le");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let lease = lease_name(&ns);
    let mut a = candidate(cluster, &ns, &sim);
    let mut b = candidate(cluster, &ns, &sim);
    wait_for("a leader", Duration::from_secs(30), || {
        (leader_line(&a) || leader_line(&b)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        leader_line(&a) ^ leader_line(&b),
        "exactly one replica leads"
    );
    let (leader, follower) = if leader_line(&a) {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert_eq!(
        follower.http_get("/readyz").0,
        200,
        "a follower is ready too"
    );
    assert!(
        leader
            .http_get("/metrics")
            .1
            .contains("amo_leader{instance=")
    );
    assert!(lease_holder(&ns, &lease).is_some());

    // Only the leader reconciles.
    ns.kubectl.apply(
        r#"{"apiVersion":"migration.aliyun-operator.dev/v1alpha1","kind":"DataSource","metadata":{"name":"hive"},
            "spec":{"region":"cn-hangzhou","name":"hive-prod"}}"#,
    );
    ns.kubectl.wait_condition("datasource/hive", "Ready", 60);
    assert!(
        follower
            .http_get("/metrics")
            .1
            .lines()
            .all(|l| !l.starts_with("amo_reconcile_total")),
        "the follower did not reconcile"
    );

    // The leader dies without a word: the follower takes over within the lease duration.
    let killed = Instant::now();
    leader.kill9();
    wait_for("the follower to take over", Duration::from_secs(20), || {
        leader_line(follower).then_some(())
    });
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(6 + 5), "take-over took {took:?}");
    ns.kubectl.ok(&[
        "annotate",
        "--overwrite",
        "datasource/hive",
        "migration.aliyun-operator.dev/reconcile-requested-at=t1",
    ]);
    wait_obj(
        &ns.kubectl,
        "datasource/hive",
        "the new leader reconciles",
        Duration::from_secs(30),
        |o| at(o, "status.lastHandledReconcileAt") == "t1",
    );

    // SIGTERM: stop taking work, finish, release the lease, exit 0.
    follower.signal(libc::SIGTERM);
    let status = follower
        .wait_exit(Duration::from_secs(15))
        .expect("exits within the grace period");
    assert!(status.success(), "{status:?}");
    let log = follower.proc.log_text();
    assert!(log.contains("released the lease"), "{}", tail(&log, 20));
    wait_for("the lease to be free", Duration::from_secs(10), || {
        lease_holder(&ns, &lease).is_none().then_some(())
    });
}

/// An RFC 3339 time in the Lease's microsecond format, `offset_secs` from now.
fn micro_time(offset_secs: i64) -> String {
    let t = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + offset_secs)
        .expect("a valid time");
    t.strftime("%Y-%m-%dT%H:%M:%S.000000Z").to_string()
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_leader_that_loses_its_lease_stops_at_once_and_stands_again() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "addon-lost");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let lease = lease_name(&ns);
    let op = candidate(cluster, &ns, &sim);
    wait_for("leadership", Duration::from_secs(30), || {
        leader_line(&op).then_some(())
    });
    ns.kubectl.apply(
        r#"{"apiVersion":"migration.aliyun-operator.dev/v1alpha1","kind":"DataSource","metadata":{"name":"hive"},
            "spec":{"region":"cn-hangzhou","name":"hive-prod"}}"#,
    );
    ns.kubectl.wait_condition("datasource/hive", "Ready", 60);
    let leases = ns.kubectl.in_namespace("amo-system");
    let take = |holder: &str, renewed: String, secs: u32| {
        leases.ok(&[
            "patch",
            &format!("lease/{lease}"),
            "--type=merge",
            "-p",
            &format!(
                r#"{{"spec":{{"holderIdentity":"{holder}","renewTime":"{renewed}","leaseDurationSeconds":{secs}}}}}"#
            ),
        ]);
    };

    // Another replica takes the lease (as after a partition): this one stops reconciling at
    // once, and stays up as a candidate rather than idling as a zombie.
    let taken = Instant::now();
    take("intruder", micro_time(0), 3600);
    op.proc
        .wait_for_log("lost leadership", Duration::from_secs(10));
    let took = taken.elapsed();
    assert!(took < Duration::from_secs(6), "stepping down took {took:?}");
    assert!(
        op.http_get("/metrics")
            .1
            .lines()
            .any(|l| l.starts_with("amo_leader{") && l.ends_with(" 0")),
        "the leader gauge drops"
    );
    assert_eq!(op.http_get("/readyz").0, 200, "a candidate stays ready");
    ns.kubectl.ok(&[
        "annotate",
        "--overwrite",
        "datasource/hive",
        "migration.aliyun-operator.dev/reconcile-requested-at=while-not-leader",
    ]);
    std::thread::sleep(Duration::from_secs(4));
    let ds = ns.kubectl.get_json("datasource/hive").expect("datasource");
    assert_ne!(
        at(&ds, "status.lastHandledReconcileAt"),
        "while-not-leader",
        "a replica that lost the lease does not reconcile"
    );

    // The intruder's lease runs out: this replica takes it back and catches up.
    take("intruder", micro_time(-60), 6);
    wait_for("leadership again", Duration::from_secs(30), || {
        (op.proc.log_text().matches("became leader").count() >= 2).then_some(())
    });
    wait_obj(
        &ns.kubectl,
        "datasource/hive",
        "the returning leader reconciles",
        Duration::from_secs(30),
        |o| at(o, "status.lastHandledReconcileAt") == "while-not-leader",
    );
    assert_eq!(
        lease_holder(&ns, &lease)
            .as_deref()
            .map(|h| h != "intruder"),
        Some(true)
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn metrics_and_health_are_served_during_a_run() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "addon-metrics");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "metrics-db-pass");
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    assert_eq!(op.http_get("/healthz").0, 200);
    assert_eq!(op.http_get("/readyz").0, 200);
    apply_dts_migration(&ns, "orders", r#","objects":[{"name":"shop"}]"#);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    std::thread::sleep(Duration::from_secs(2));
    let (code, text) = op.http_get("/metrics");
    assert_eq!(code, 200);
    for needle in [
        r#"amo_reconcile_total{kind="DtsMigration",outcome="ok"}"#,
        r#"amo_reconcile_duration_seconds_bucket"#,
        r#"amo_cloud_calls_total{product="dts",action="DescribeDtsJobs",outcome="ok"}"#,
        r#"amo_cloud_call_duration_seconds_bucket"#,
        &format!(
            r#"amo_resource_phase{{kind="DtsMigration",namespace="{}",name="orders",phase="Replicating"}} 1"#,
            ns.name
        ),
        &format!(
            r#"amo_dts_lag_seconds{{namespace="{}",name="orders"}}"#,
            ns.name
        ),
        &format!(
            r#"amo_resource_progress_ratio{{kind="DtsMigration",namespace="{}",name="orders"}} 1"#,
            ns.name
        ),
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    assert!(!text.contains("metrics-db-pass") && !text.contains(SIM_ACCESS_KEY_SECRET));
}
