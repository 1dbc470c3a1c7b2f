//! Cloud names that cannot collide across namespaces, and adoption only of cloud objects that
//! carry this resource's ownership marker: one team's resource never adopts, reports on, or
//! deletes another team's MMS job or DTS task.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

const T: Duration = Duration::from_secs(180);

/// Two namespaces `<a>` and `<a>-x`, each with the cloud Secret and its own operator.
fn two_teams(cluster: &Cluster, sim: &Sim) -> (Namespace, Namespace, Operator, Operator) {
    let a = Namespace::fresh_name("iso");
    let ns_a = Namespace::create_named(cluster, &a);
    let ns_ax = Namespace::create_named(cluster, &format!("{a}-x"));
    for ns in [&ns_a, &ns_ax] {
        dts_secrets(ns, "Iso-DB-Passw0rd");
    }
    let op_a = Operator::start(cluster, &ns_a.name, sim, &[]);
    let op_ax = Operator::start(cluster, &ns_ax.name, sim, &[]);
    (ns_a, ns_ax, op_a, op_ax)
}

fn mms_job_ids(sim: &Sim) -> Vec<i64> {
    block_on(sim.admin.mms_jobs())
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect()
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn mms_jobs_of_two_namespaces_never_share_or_delete_each_others_job() {
    let cluster = cluster();
    let sim = Sim::start(&[]);
    let (ns_a, ns_ax, _op_a, _op_ax) = two_teams(cluster, &sim);
    ready_hive_source(&ns_a);
    ready_hive_source(&ns_ax);

    // `<a>/x-y` and `<a>-x/y` both used to mean the MMS job `<a>-x-y`.
    apply_mms_job(
        &ns_a,
        "x-y",
        json!({"tables": ["orders"], "deletionPolicy": "Delete"}),
    );
    let first = status_i64(&ns_a, "mmsjob/x-y", "jobId", T);
    ns_a.kubectl.wait_condition("mmsjob/x-y", "Ready", 180);
    apply_mms_job(
        &ns_ax,
        "y",
        json!({"tables": ["customers"], "deletionPolicy": "Delete"}),
    );
    let second = status_i64(&ns_ax, "mmsjob/y", "jobId", T);
    let mut adoptions = usize::from(first == second);
    assert_ne!(
        first, second,
        "{}/y adopted the MMS job of {}/x-y",
        ns_ax.name, ns_a.name
    );

    // The same explicit name in both namespaces: the second is refused, never adopted.
    apply_mms_job(
        &ns_a,
        "named",
        json!({"jobName": "shared-name", "tables": ["orders"]}),
    );
    let named = status_i64(&ns_a, "mmsjob/named", "jobId", T);
    apply_mms_job(
        &ns_ax,
        "named",
        json!({"jobName": "shared-name", "tables": ["orders"], "deletionPolicy": "Delete"}),
    );
    let refused = wait_obj(
        &ns_ax.kubectl,
        "mmsjob/named",
        "refused: the name belongs to another resource",
        T,
        |o| {
            condition(o, "Ready")
                .is_some_and(|c| c["status"] == "False" && c["reason"] == "JobNameTaken")
                || at(o, "status.jobId").is_i64()
        },
    );
    adoptions += usize::from(!at(&refused, "status.jobId").is_null());
    eprintln!("figures: MMS: cross-namespace adoptions: {adoptions} of 2 chances");
    assert!(
        at(&refused, "status.jobId").is_null(),
        "adopted another namespace's job: {}",
        refused["status"]
    );
    let message = condition(&refused, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("spec.jobName"), "{message}");

    // Deleting the second namespace's `Delete` resources leaves the first namespace's jobs.
    ns_ax
        .kubectl
        .ok(&["delete", "mmsjob/y", "mmsjob/named", "--timeout=90s"]);
    let left = mms_job_ids(&sim);
    assert!(left.contains(&first) && left.contains(&named), "{left:?}");
    assert!(!left.contains(&second), "its own job is deleted: {left:?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_dts_task_of_the_same_name_in_another_namespace_is_never_adopted() {
    let cluster = cluster();
    let sim = Sim::start(&[]);
    let (ns_a, ns_ax, _op_a, _op_ax) = two_teams(cluster, &sim);
    let spec = json!({"jobName": "orders-shared", "objects": [{"name": "shop"}]});

    // The first team's task stays unbought for a while.
    block_on(
        sim.admin
            .fail_next("CreateDtsInstance", 1000, "InternalError", 500),
    )
    .unwrap();
    apply_dts_migration(&ns_a, "orders", spec.clone());
    let first = status_str(&ns_a, "dtsmigration/orders", "dtsJobId", T);

    // The second team's configure never reaches DTS, and its operator cannot know that: it
    // looks for the task under its name and finds the first team's.
    block_on(sim.admin.drop_next("ConfigureDtsJob", 1)).unwrap();
    apply_dts_migration(&ns_ax, "orders", spec);
    let second = status_str(
        &ns_ax,
        "dtsmigration/orders",
        "dtsJobId",
        Duration::from_secs(240),
    );
    eprintln!(
        "figures: DTS: cross-namespace adoptions: {} of 1 chance",
        usize::from(first == second)
    );
    assert_ne!(
        first, second,
        "{}/orders adopted the DTS task of {}/orders",
        ns_ax.name, ns_a.name
    );

    block_on(sim.admin.clear_faults()).unwrap();
    for ns in [&ns_a, &ns_ax] {
        ns.kubectl
            .wait_condition("dtsmigration/orders", "Replicating", 240);
    }
    let tasks = block_on(sim.admin.dts_jobs()).unwrap();
    let named: Vec<_> = tasks
        .iter()
        .filter(|t| t.name.as_deref() == Some("orders-shared"))
        .collect();
    assert_eq!(named.len(), 2, "one task per team: {tasks:#?}");
    assert!(named.iter().all(|t| t.dts_instance_id.is_some()));
}
