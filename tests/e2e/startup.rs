//! Start-up and outages: every object is reconciled after a (re)start, and new objects are
//! picked up seconds after the API server comes back.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

const T: Duration = Duration::from_secs(120);

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn every_mms_job_is_reconciled_on_a_first_start_and_after_a_restart() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "start");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    // Everything exists before the operator starts: the jobs wait for the DataSource cache.
    apply_data_source(&ns, "hive", json!({"name": "hive-prod"}));
    for i in 0..6 {
        apply_mms_job(&ns, &format!("job-{i}"), json!({"tables": ["orders"]}));
    }
    let mut op = Operator::start(cluster, &ns.name, &sim, &[]);
    for i in 0..6 {
        status_i64(&ns, &format!("mmsjob/job-{i}"), "jobId", T);
    }

    op.kill9();
    for i in 6..12 {
        apply_mms_job(&ns, &format!("job-{i}"), json!({"tables": ["customers"]}));
    }
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    for i in 6..12 {
        status_i64(&ns, &format!("mmsjob/job-{i}"), "jobId", T);
    }
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_new_object_is_picked_up_seconds_after_an_api_server_outage() {
    let own = PrivateCluster::start();
    let ns = Namespace::create(&own.cluster, "outage");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(&own.cluster, &ns.name, &sim, &[]);
    // A job waiting for a DataSource that does not exist: the operator writes its status
    // without any cloud call, so the time to the first status is the time to pick it up.
    apply_mms_job(&ns, "before", json!({}));
    wait_obj(&ns.kubectl, "mmsjob/before", "reconciled", T, |o| {
        at(o, "status.phase").is_string()
    });

    own.restart_apiserver(Duration::from_secs(45));
    let created = Instant::now();
    apply_mms_job(&ns, "after", json!({}));
    wait_obj(&ns.kubectl, "mmsjob/after", "reconciled", T, |o| {
        at(o, "status.phase").is_string()
    });
    let took = created.elapsed();
    eprintln!("figures: a new object picked up {took:?} after the API server came back");
    // Seconds, not the 70–114 s it took before; the margin is for a loaded test machine.
    assert!(
        took < Duration::from_secs(20),
        "a new object waited {took:?} after the outage"
    );
}
