//! Freeze and drain (issue 14, class C): the application's writes stop before replication
//! does, every write made before the freeze reaches the destination before the switch, a drain
//! that does not finish unfreezes and aborts, a rollback freezes again, a post-switch watch
//! undoes a switch that does not hold, and a dry run shows it all.
//!
//! These tests run the simulator at the real clock's speed (tests/data/realtime-sim.yaml), so
//! that DTS checkpoints (the simulated source's time) compare with the operator's `frozenAt`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cutover::*;
use crate::support::*;

fn realtime_sim() -> Sim {
    let scenario = repo().join("tests/data/realtime-sim.yaml");
    Sim::start(&["--scenario", &path_str(&scenario), "--time-scale", "1"])
}

const READ_ONLY: &str = "READ_ONLY";

/// The application's configuration: where it writes, and whether it may.
fn app(ns: &Namespace) {
    config_map(ns, "app-db", json!({"DSN": SOURCE_DSN}));
    config_map(ns, "app-flags", json!({READ_ONLY: "false"}));
}

fn freeze_flag() -> Value {
    json!({"configMapKey": {"name": "app-flags", "key": READ_ONLY, "value": "true"}})
}

/// What the simulated application did.
struct Written {
    writes: usize,
    /// Real time of the last write (Unix ms).
    last_millis: Option<i64>,
}

/// The application: while its DSN points at the source and READ_ONLY is not "true", it commits
/// a transaction on the source about every 50 ms.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Written>,
}

impl Writer {
    fn start(ns: &Namespace, sim: &Sim, job: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let kubectl = ns.kubectl.clone();
        let admin = aliyun_migration_operator::sim::AdminClient::new(&sim.url);
        let job = job.to_string();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut written = Written {
                writes: 0,
                last_millis: None,
            };
            while !flag.load(Ordering::Relaxed) {
                let out = kubectl.run(&[
                    "get",
                    "configmap",
                    "app-db",
                    "app-flags",
                    "-o",
                    "jsonpath={.items[0].data.DSN} {.items[1].data.READ_ONLY}",
                ]);
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                let mut parts = text.split_whitespace();
                let (dsn, read_only) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                if dsn == SOURCE_DSN
                    && read_only != "true"
                    && block_on(admin.commit_writes(&job, 1)).is_ok()
                {
                    written.writes += 1;
                    written.last_millis = Some(jiff::Timestamp::now().as_millisecond());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            written
        });
        Self { stop, handle }
    }

    fn finish(self) -> Written {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("the writer thread")
    }
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn every_write_made_before_the_freeze_is_replicated_before_the_switch() {
    let Stage {
        ns,
        sim,
        op: _op,
        job: id,
    } = stage("cut-drain", realtime_sim(), json!({}));
    app(&ns);
    let writer = Writer::start(&ns, &sim, &id);
    apply_cutover(
        &ns,
        "drained",
        json!({"freeze": [freeze_flag()], "drain": {"settleSeconds": 2, "timeoutSeconds": 120},
               "switch": switch_dsn()}),
    );
    let c = wait_phase(&ns, "drained", "Completed", T);
    let written = writer.finish();
    let job = block_on(sim.admin.dts_job(&id)).unwrap();
    let frozen_at = time_of(at(&c, "status.frozenAt"));
    let drained = at(&c, "status.drained").as_array().unwrap()[0].clone();
    let checkpoint = time_of(&drained["checkpoint"]);
    eprintln!(
        "writes {} (sim: committed {}, replicated {}, lost {}); last write at {:?} ms; frozenAt {frozen_at}; drain checkpoint {checkpoint}, lag {}s, sample at {}",
        written.writes,
        job.writes.committed,
        job.writes.replicated,
        job.writes.lost,
        written.last_millis,
        drained["lagSeconds"],
        drained["sampleAt"]
    );
    assert!(
        written.writes > 5,
        "the application wrote before the freeze"
    );
    assert_eq!(job.writes.committed, written.writes);
    assert!(job.writes.stopped, "replication was stopped");
    assert_eq!(job.writes.lost, 0, "every write reached the destination");
    assert_eq!(job.writes.replicated, job.writes.committed);
    // The last write came before frozenAt, and the drain's checkpoint is at or after it.
    assert!(job.writes.last_commit_millis.unwrap() <= frozen_at.as_millisecond());
    assert!(checkpoint >= frozen_at);
    // Replication stopped only after the drain.
    let drain = step(&c, "drain/orders").unwrap();
    let stop = &block_on(sim.admin.requests_for("StopDtsJob")).unwrap()[0];
    assert!(time_of(&json!(stop.time)) >= time_of(&drain["finishedAt"]));
    // The application writes again, now to the new database.
    let flags = data_of(&ns, "app-flags");
    assert_eq!(flags[READ_ONLY], "false");
    assert_eq!(data_of(&ns, "app-db")["DSN"], TARGET_DSN);
    let names: Vec<&str> = at(&c, "status.steps")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "final-check",
            "freeze/ConfigMap/app-flags/READ_ONLY",
            "drain/orders",
            "stop-replication/orders",
            "switch/ConfigMap/app-db/DSN",
            "verify-switch",
            "unfreeze/ConfigMap/app-flags/READ_ONLY",
            "complete"
        ]
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn without_a_freeze_writes_after_the_stop_are_lost_and_the_report_says_so() {
    let Stage {
        ns,
        sim,
        op: _op,
        job: id,
    } = stage("cut-nofreeze", realtime_sim(), json!({}));
    app(&ns);
    let writer = Writer::start(&ns, &sim, &id);
    apply_cutover(&ns, "unfrozen", json!({"switch": switch_dsn()}));
    let c = wait_phase(&ns, "unfrozen", "Completed", T);
    let written = writer.finish();
    let job = block_on(sim.admin.dts_job(&id)).unwrap();
    eprintln!(
        "without freeze: writes {}, lost {}",
        written.writes, job.writes.lost
    );
    assert!(job.writes.lost > 0, "{:?}", job.writes);
    let g = gate(&c, "freeze").unwrap();
    assert_eq!(g["evidence"], "Waived");
    assert!(g["observed"].as_str().unwrap().contains("may be lost"));
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_drain_that_does_not_finish_unfreezes_at_once_and_aborts() {
    let Stage {
        ns,
        sim,
        op: _op,
        job: id,
    } = stage("cut-draintimeout", realtime_sim(), json!({}));
    app(&ns);
    apply_cutover(
        &ns,
        "stuck",
        // The settle time keeps the drain from passing before the test holds the lag up.
        json!({"freeze": [freeze_flag()], "drain": {"settleSeconds": 5, "timeoutSeconds": 20},
               "switch": switch_dsn()}),
    );
    wait_phase(&ns, "stuck", "Draining", T);
    // Replication falls 60 s behind: the checkpoint never reaches frozenAt in time.
    block_on(sim.admin.set_lag(&id, 60.0)).unwrap();
    let c = wait_obj(&ns.kubectl, "cutover/stuck", "an end", T, |o| {
        matches!(phase(o), "Aborted" | "Completed" | "Failed")
    });
    assert_eq!(phase(&c), "Aborted", "{}", at(&c, "status"));
    assert_eq!(data_of(&ns, "app-flags")[READ_ONLY], "false", "unfrozen");
    assert_eq!(
        data_of(&ns, "app-db")["DSN"],
        SOURCE_DSN,
        "nothing switched"
    );
    assert_eq!(stop_calls(&sim), 0, "replication still runs");
    let reason = at(&c, "status.reason").as_str().unwrap();
    assert!(reason.contains("drain.timeoutSeconds 20"), "{reason}");
    assert_eq!(
        at(&c, "status.rollback.unfrozen"),
        &json!(["ConfigMap/app-flags/READ_ONLY"])
    );
}

/// Plays the workload controller: the Deployment's status follows its spec.
fn fake_controller(ns: &Namespace, name: &str) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let kubectl = ns.kubectl.clone();
    let name = name.to_string();
    let handle = std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            if let Some(d) = kubectl.get_json(&format!("deployment/{name}")) {
                let generation = d["metadata"]["generation"].as_i64().unwrap_or(0);
                let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
                if d["status"]["observedGeneration"].as_i64() != Some(generation)
                    || d["status"]["replicas"].as_i64().unwrap_or(0) != replicas
                {
                    kubectl.run(&[
                        "patch",
                        &format!("deployment/{name}"),
                        "--subresource=status",
                        "--type=merge",
                        "-p",
                        &json!({"status": {"observedGeneration": generation, "replicas": replicas}})
                            .to_string(),
                    ]);
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    (stop, handle)
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_rollback_after_the_switch_freezes_again_restores_and_unfreezes() {
    let Stage {
        ns,
        sim: _sim,
        op: _op,
        ..
    } = stage("cut-refreeze", realtime_sim(), json!({}));
    app(&ns);
    ns.kubectl.apply(
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "writer"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "writer"}},
                         "template": {"metadata": {"labels": {"app": "writer"}},
                                      "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}})
        .to_string(),
    );
    grant(
        &ns,
        "writer-scale",
        json!([
            {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["writer"], "verbs": ["get"]},
            {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["writer"], "verbs": ["patch"]}
        ]),
    );
    let (stop, controller) = fake_controller(&ns, "writer");
    apply_cutover(
        &ns,
        "reversible",
        json!({"freeze": [{"scale": {"kind": "Deployment", "name": "writer", "replicas": 0}}, freeze_flag()],
               "drain": {"settleSeconds": 1}, "switch": switch_dsn()}),
    );
    let c = wait_phase(&ns, "reversible", "Completed", T);
    let saved = at(&c, "status.freezeSaved").as_array().unwrap().clone();
    assert!(
        saved
            .iter()
            .any(|s| s["target"] == "Deployment/writer/replicas" && s["value"] == "2")
    );
    let replicas = |ns: &Namespace| {
        ns.kubectl.get_json("deployment/writer").unwrap()["spec"]["replicas"].clone()
    };
    assert_eq!(replicas(&ns), 2, "unfrozen after the switch");
    ns.kubectl.ok(&[
        "annotate",
        "cutover/reversible",
        "migration.aliyun-operator.dev/rollback-requested-at=now",
    ]);
    let c = wait_phase(&ns, "reversible", "RolledBack", T);
    stop.store(true, Ordering::Relaxed);
    controller.join().unwrap();
    let r = at(&c, "status.rollback").clone();
    assert_eq!(
        r["refrozen"],
        json!([
            "Deployment/writer/replicas",
            "ConfigMap/app-flags/READ_ONLY"
        ])
    );
    assert_eq!(r["restored"], json!(["ConfigMap/app-db/DSN"]));
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
    assert_eq!(data_of(&ns, "app-flags")[READ_ONLY], "false");
    assert_eq!(replicas(&ns), 2);
    let notes = r["notes"].to_string();
    assert!(notes.contains("not copied back"), "{notes}");
    assert!(notes.contains("cannot be restarted"), "{notes}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_switch_that_does_not_hold_during_the_watch_is_rolled_back() {
    let Stage {
        ns,
        sim: _sim,
        op: _op,
        ..
    } = stage("cut-watch", realtime_sim(), json!({}));
    app(&ns);
    apply_cutover(
        &ns,
        "watched",
        json!({"freeze": [freeze_flag()], "drain": {"settleSeconds": 1},
               "postSwitch": {"watchSeconds": 120}, "switch": switch_dsn()}),
    );
    wait_phase(&ns, "watched", "Watching", T);
    // An old deploy pipeline writes the source DSN back.
    ns.kubectl.ok(&[
        "patch",
        "configmap/app-db",
        "--type=merge",
        "-p",
        &json!({"data": {"DSN": "mysql://someone-else"}}).to_string(),
    ]);
    let c = wait_obj(&ns.kubectl, "cutover/watched", "an end", T, |o| {
        matches!(phase(o), "Failed" | "Completed" | "Paused")
    });
    assert_eq!(phase(&c), "Failed", "{}", at(&c, "status"));
    let reason = at(&c, "status.reason").as_str().unwrap();
    assert!(reason.contains("post-switch check failed"), "{reason}");
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
    assert_eq!(data_of(&ns, "app-flags")[READ_ONLY], "false");
    assert_eq!(
        at(&c, "status.rollback.refrozen"),
        &json!(["ConfigMap/app-flags/READ_ONLY"])
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_dry_run_shows_the_freeze_and_drain_steps() {
    let Stage {
        ns, sim, op: _op, ..
    } = stage("cut-dryfreeze", realtime_sim(), json!({}));
    app(&ns);
    apply_cutover(
        &ns,
        "rehearsal",
        json!({"dryRun": true, "freeze": [freeze_flag()], "switch": switch_dsn()}),
    );
    let c = wait_obj(
        &ns.kubectl,
        "cutover/rehearsal",
        "the dry run verdict",
        T,
        |o| {
            condition(o, "Ready").is_some_and(|c| {
                c["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("would switch now")
            })
        },
    );
    let steps = at(&c, "status.steps").as_array().unwrap().clone();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"freeze/ConfigMap/app-flags/READ_ONLY"),
        "{names:?}"
    );
    assert!(names.contains(&"drain/orders"), "{names:?}");
    assert!(
        names.contains(&"unfreeze/ConfigMap/app-flags/READ_ONLY"),
        "{names:?}"
    );
    assert!(steps.iter().all(|s| s["state"] == "Planned"));
    assert_eq!(data_of(&ns, "app-flags")[READ_ONLY], "false");
    assert_eq!(stop_calls(&sim), 0);
}
