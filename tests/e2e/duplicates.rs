//! No duplicate cloud objects and no second purchase: kill -9 inside committed creating calls,
//! and two operators running side by side without leader election.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// DTS tasks per name and purchases, from the simulator.
fn dts_census(sim: &Sim) -> (BTreeMap<String, Vec<(String, bool)>>, i64) {
    let mut by_name: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for t in block_on(sim.admin.dts_jobs()).unwrap() {
        by_name
            .entry(t.name.clone().unwrap_or_default())
            .or_default()
            .push((t.dts_job_id.clone(), t.dts_instance_id.is_some()));
    }
    let state = block_on(sim.admin.state()).unwrap();
    (by_name, state["dts"]["purchases"].as_i64().unwrap_or(-1))
}

/// MMS jobs per name.
fn mms_census(sim: &Sim) -> BTreeMap<String, usize> {
    let mut by_name = BTreeMap::new();
    for j in block_on(sim.admin.mms_jobs()).unwrap() {
        *by_name.entry(j.name.clone()).or_default() += 1;
    }
    by_name
}

/// The cloud name each resource recorded.
fn recorded_names(ns: &Namespace, kind: &str, field: &str) -> Vec<String> {
    let list: Value = serde_json::from_str(&ns.kubectl.ok(&["get", kind, "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            at(o, &format!("status.{field}"))
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn assert_one_task_and_one_purchase_each(ns: &Namespace, sim: &Sim, migrations: usize) {
    let (by_name, purchases) = dts_census(sim);
    let duplicated: Vec<_> = by_name.iter().filter(|(_, t)| t.len() > 1).collect();
    let tasks: usize = by_name.values().map(Vec::len).sum();
    eprintln!(
        "figures: {migrations} DtsMigrations: {tasks} DTS tasks under {} names, {} names duplicated, {purchases} purchases",
        by_name.len(),
        duplicated.len()
    );
    assert!(
        duplicated.is_empty(),
        "duplicate DTS tasks: {duplicated:#?}"
    );
    assert_eq!(
        by_name.len(),
        migrations,
        "one task per DtsMigration: {by_name:#?}"
    );
    assert!(
        by_name.values().flatten().all(|(_, bought)| *bought),
        "no unbought leftover: {by_name:#?}"
    );
    assert_eq!(
        purchases, migrations as i64,
        "one purchase per DtsMigration"
    );
    let names = recorded_names(ns, "dtsmigrations", "dtsJobName");
    assert!(names.iter().all(|n| by_name.contains_key(n)), "{names:?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn two_operators_without_leader_election_make_one_task_and_one_purchase_each() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "twoops");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "Two-Ops-Passw0rd");
    let _one = Operator::start(cluster, &ns.name, &sim, &[]);
    let _two = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    for i in 0..8 {
        apply_dts_migration(
            &ns,
            &format!("m{i}"),
            json!({"objects": [{"name": "shop"}]}),
        );
    }
    for i in 0..4 {
        apply_mms_job(&ns, &format!("j{i}"), json!({"tables": ["orders"]}));
    }
    for i in 0..8 {
        ns.kubectl
            .wait_condition(&format!("dtsmigration/m{i}"), "Replicating", 300);
    }
    for i in 0..4 {
        ns.kubectl
            .wait_condition(&format!("mmsjob/j{i}"), "Ready", 300);
    }
    assert_one_task_and_one_purchase_each(&ns, &sim, 8);
    let jobs = mms_census(&sim);
    eprintln!(
        "figures: two operators: 4 MmsJobs: {} MMS jobs under {} names",
        jobs.values().sum::<usize>(),
        jobs.len()
    );
    assert!(
        jobs.values().all(|n| *n == 1),
        "duplicate MMS jobs: {jobs:#?}"
    );
    assert_eq!(jobs.len(), 4, "{jobs:#?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_purchase_whose_answer_is_lost_is_repeated_with_its_client_token() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "token");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "Client-Token-Passw0rd");
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    // The purchase takes effect, then the connection closes without an answer. Only a
    // ClientToken lets the client repeat it at once: the service answers the first instance.
    block_on(sim.admin.lose_response_next("CreateDtsInstance", 1)).unwrap();
    apply_dts_migration(&ns, "orders", json!({"objects": [{"name": "shop"}]}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    let calls = block_on(sim.admin.requests_for("CreateDtsInstance")).unwrap();
    let lost = calls.iter().filter(|r| r.fault.is_some()).count();
    let replays = calls
        .iter()
        .filter(|r| r.note.as_deref().is_some_and(|n| n.contains("ClientToken")))
        .count();
    eprintln!(
        "figures: lost purchase: {} CreateDtsInstance calls, {lost} lost, {replays} answered by ClientToken",
        calls.len()
    );
    assert_eq!(lost, 1, "{calls:#?}");
    assert!(
        replays >= 1,
        "the repeat carried no ClientToken: {calls:#?}"
    );
    assert_one_task_and_one_purchase_each(&ns, &sim, 1);
}

/// The creating call of object `i`: DTS objects alternate between the configure and the
/// purchase, MMS objects create their job.
fn creating_call(i: usize) -> &'static str {
    match i % 3 {
        0 => "ConfigureDtsJob",
        1 => "CreateDtsInstance",
        _ => "CreateMmsJob",
    }
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn kills_inside_committed_creating_calls_never_duplicate_anything() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "kills");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "Kill-Storm-Passw0rd");
    let mut op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    let (mut kills, mut inside) = (0, 0);
    let (mut dts, mut mms) = (Vec::new(), Vec::new());
    for i in 0..12 {
        let action = creating_call(i);
        let seen = block_on(sim.admin.requests_for(action)).unwrap().len();
        // The call commits, then its answer is held back while the operator dies.
        block_on(sim.admin.delay_answer_next(action, 1, 6000)).unwrap();
        // Realistic names: long enough that `<namespace>-<name>` cut to DTS's 32 characters
        // used to be the same for all of them.
        if action == "CreateMmsJob" {
            let name = format!("sales-history-to-maxcompute-{i}");
            apply_mms_job(&ns, &name, json!({"tables": ["orders"]}));
            mms.push(name);
        } else {
            let name = format!("orders-to-maxcompute-{i}");
            apply_dts_migration(&ns, &name, json!({"objects": [{"name": "shop"}]}));
            dts.push(name);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let committed = loop {
            let log = block_on(sim.admin.requests_for(action)).unwrap();
            if log.len() > seen {
                break log.last().unwrap().fault.as_deref() == Some("delay-answer:6000ms");
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        op.kill9();
        kills += 1;
        inside += usize::from(committed);
        block_on(sim.admin.clear_faults()).unwrap();
        op = Operator::start(cluster, &ns.name, &sim, &[]);
    }
    eprintln!("figures: {kills} kills, {inside} inside a committed creating call");
    assert!(
        inside >= 10,
        "{inside} of {kills} kills hit a committed call"
    );
    for name in &dts {
        ns.kubectl
            .wait_condition(&format!("dtsmigration/{name}"), "Replicating", 300);
    }
    for name in &mms {
        ns.kubectl
            .wait_condition(&format!("mmsjob/{name}"), "Ready", 300);
    }
    assert_one_task_and_one_purchase_each(&ns, &sim, dts.len());
    let jobs = mms_census(&sim);
    assert!(
        jobs.values().all(|n| *n == 1),
        "duplicate MMS jobs: {jobs:#?}"
    );
    assert_eq!(jobs.len(), mms.len(), "{jobs:#?}");
}
