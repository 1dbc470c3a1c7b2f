//! Deleting a whole namespace: its Secrets (and DataSources) go first, yet the MmsJob and the
//! DtsMigration with `deletionPolicy: Delete` still delete their cloud objects, those with
//! `Retain` leave theirs, and the namespace is gone within minutes.
//!
//! Needs the namespace controller (`AMO_KUBE_CONTROLLERS=namespace hack/kube-local.sh up`,
//! which `hack/test.sh e2e` does): kube-controller-manager of the same release, only that
//! controller.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

const T: Duration = Duration::from_secs(180);

/// Fails clearly when the cluster has no namespace controller (a deleted namespace would
/// never go away, whatever the operator does).
fn require_namespace_controller(cluster: &Cluster) {
    let env = cluster.kubeconfig.with_file_name("kube-local.env");
    let text = std::fs::read_to_string(&env).unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.starts_with("AMO_KUBE_CONTROLLERS=") && l.contains("namespace")),
        "{} has no namespace controller: start it with AMO_KUBE_CONTROLLERS=namespace hack/kube-local.sh up (hack/test.sh does)",
        env.display()
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn deleting_a_namespace_honours_each_deletion_policy_and_finishes() {
    let cluster = cluster();
    require_namespace_controller(cluster);
    let ns = Namespace::create(cluster, "nsdel");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "Nsdel-DB-Passw0rd");
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    apply_gone_and_kept_mms_jobs(&ns);
    apply_dts_migration(
        &ns,
        "gone",
        json!({"objects": [{"name": "shop"}], "deletionPolicy": "Delete"}),
    );
    apply_dts_migration(
        &ns,
        "kept",
        json!({"objects": [{"name": "shop"}], "deletionPolicy": "Retain"}),
    );
    let mms_gone = status_i64(&ns, "mmsjob/gone", "jobId", T);
    let mms_kept = status_i64(&ns, "mmsjob/kept", "jobId", T);
    let dts_gone = status_str(&ns, "dtsmigration/gone", "dtsInstanceId", T);
    let dts_kept = status_str(&ns, "dtsmigration/kept", "dtsInstanceId", T);

    let started = Instant::now();
    Kubectl::admin(cluster).ok(&["delete", "namespace", &ns.name, "--wait=false"]);
    wait_for("the namespace to be gone", Duration::from_secs(300), || {
        (!Kubectl::admin(cluster)
            .run(&["get", "namespace", &ns.name])
            .status
            .success())
        .then_some(())
    });
    let took = started.elapsed();
    eprintln!("figures: namespace {} deleted in {took:?}", ns.name);

    let mms: Vec<i64> = block_on(sim.admin.mms_jobs())
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert!(!mms.contains(&mms_gone), "Delete: the MMS job is deleted");
    assert!(mms.contains(&mms_kept), "Retain: the MMS job stays");
    assert!(
        block_on(sim.admin.dts_job(&dts_gone)).is_err(),
        "Delete: the DTS instance is released"
    );
    assert!(
        block_on(sim.admin.dts_job(&dts_kept)).is_ok(),
        "Retain: the DTS instance stays"
    );
    // What was kept for the deletion is gone with it (other tests' copies may remain).
    let kept: serde_json::Value = serde_json::from_str(&Kubectl::admin(cluster).ok(&[
        "get",
        "secrets",
        "-n",
        "amo-system",
        "-o",
        "json",
    ]))
    .unwrap();
    let ours: Vec<&serde_json::Value> = kept["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["metadata"]["annotations"]["migration.aliyun-operator.dev/resource"]
                .as_str()
                .is_some_and(|r| r.contains(&format!(" {}/", ns.name)))
        })
        .collect();
    assert!(ours.is_empty(), "kept credentials left: {ours:?}");
    assert!(took < Duration::from_secs(120), "took {took:?}");
}
