//! Load benchmark: the operator against the real local kube-apiserver with N objects, measured
//! the way the kube-rs reference controller was measured on the same 2-vCPU machine
//! (controller-rs: all 2,500 with status in 11–15 s, 2.1–2.8 CPU-s, 38–40 MB peak RSS during
//! load, 0.01–0.03 CPU-s per idle minute, restart burst 122–134 MB over 2,501 connections).
//!
//! `cargo bench --bench load` (N from `AMO_BENCH_OBJECTS`, default 2500). Objects are MmsJobs
//! waiting for a DataSource that does not exist: the reconcile path (finalizer, DataSource read,
//! status by server-side apply, events) without cloud calls, so the apiserver and the operator
//! are what is measured. Results are printed and written to `target/bench/load.json`.

#[path = "../tests/support/mod.rs"]
mod support;

mod measure;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use measure::{connections, cpu_seconds, sample};
use serde_json::{Value, json};
use support::*;

/// The chart's default log level, so logging costs what it costs in production.
const LOG: &str = "info";

/// Watches MmsJobs with kubectl (one watch, like the reference harness, instead of listing all
/// objects over and over, which would load the apiserver more than the operator does) and
/// reports when `n` distinct objects have shown a status phase.
fn watch_statuses(
    cluster: &Cluster,
    ns: &str,
    n: usize,
) -> (std::process::Child, std::sync::mpsc::Receiver<Instant>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new("kubectl")
        .env("KUBECONFIG", &cluster.kubeconfig)
        .args(["-n", ns, "get", "mmsjobs", "--watch", "-o"])
        .arg("jsonpath={.metadata.name}={.status.phase}{\"\\n\"}")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl is installed");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = std::collections::HashSet::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some((name, phase)) = line.split_once('=')
                && !phase.is_empty()
            {
                seen.insert(name.to_string());
                if seen.len() == n {
                    let _ = tx.send(Instant::now());
                }
            }
        }
    });
    (child, rx)
}

fn reconciles(op: &Operator) -> u64 {
    measure::reconciles(op, Some("MmsJob"))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("load benchmark: run with `cargo bench --bench load`");
        return;
    }
    let n: usize = std::env::var("AMO_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2500);
    let cluster = cluster();
    let ns = Namespace::create(cluster, "bench");
    let sim = Sim::start(&[]);
    let kubeconfig: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&cluster.kubeconfig).unwrap()).unwrap();
    let server = kubeconfig["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_string();
    let port: u16 = server
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();

    // Production polling and defaults; AMO_BENCH_ARGS adds operator flags (e.g. --concurrency 8).
    let extra = std::env::var("AMO_BENCH_ARGS").unwrap_or_default();
    let cmd_args: Vec<&str> = ["--poll-scale", "1.0"]
        .into_iter()
        .chain(extra.split_whitespace())
        .collect();
    let op = Operator::start_logging(cluster, &ns.name, &sim, &cmd_args, LOG);
    let pid = op.proc.pid();
    let apiserver: Option<u32> = cluster
        .kubeconfig
        .parent()
        .and_then(|d| std::fs::read_to_string(d.join("apiserver.pid")).ok())
        .and_then(|p| p.trim().parse().ok());
    let api_cpu = || apiserver.and_then(sample).map_or(0, |s| s.cpu_ticks);
    std::thread::sleep(Duration::from_secs(10));
    let idle0 = sample(pid).unwrap();

    // Sampler: peak RSS and CPU over time.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak_window_cpu = 0.0f64;
            let mut last = sample(pid).unwrap_or_default();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                if let Some(s) = sample(pid) {
                    peak_window_cpu = peak_window_cpu
                        .max(cpu_seconds(s.cpu_ticks.saturating_sub(last.cpu_ticks)));
                    last = s;
                }
            }
            peak_window_cpu
        })
    };

    let (mut watch, statuses) = watch_statuses(cluster, &ns.name, n);
    std::thread::sleep(Duration::from_secs(1));
    // Create N objects with 16 parallel kubectl appliers of 1/16 each.
    let started = Instant::now();
    let api_before = api_cpu();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "MmsJob",
                   "metadata": {"name": format!("job-{i:05}")},
                   "spec": {"dataSourceRef": {"name": "absent"}, "srcDbName": "sales", "tables": ["t"]}})
        })
        .collect();
    measure::create_in_parallel(&ns.kubectl, &items);
    let created = started.elapsed();
    let before_load = idle0;
    let all_done = statuses
        .recv_timeout(Duration::from_secs(900))
        .expect("every object to have status within 15 minutes");
    let _ = watch.kill();
    let all_status = all_done - started;
    std::thread::sleep(Duration::from_secs(5));
    let after_load = sample(pid).unwrap();
    let api_load = api_cpu().saturating_sub(api_before);
    let load_reconciles = reconciles(&op);

    // Idle with N objects cached.
    std::thread::sleep(Duration::from_secs(60));
    let after_idle = sample(pid).unwrap();
    stop.store(true, Ordering::Relaxed);
    let peak_cpu = sampler.join().unwrap();

    // Restart with N objects present.
    let mut op = op;
    op.signal(libc::SIGTERM);
    op.wait_exit(Duration::from_secs(30));
    let restart = Instant::now();
    let op2 = Operator::start_logging(cluster, &ns.name, &sim, &cmd_args, LOG);
    let pid2 = op2.proc.pid();
    let mut max_conn = 0;
    let mut restart_done = None;
    while restart.elapsed() < Duration::from_secs(300) {
        max_conn = max_conn.max(connections(pid2, port));
        if restart_done.is_none() && reconciles(&op2) >= n as u64 {
            restart_done = Some(restart.elapsed());
        }
        if restart_done.is_some()
            && restart.elapsed() > restart_done.unwrap() + Duration::from_secs(5)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let after_restart = sample(pid2).unwrap();

    let result = json!({
        "objects": n,
        "operator_args": cmd_args,
        "create_seconds": created.as_secs_f64(),
        "all_with_status_seconds": all_status.as_secs_f64(),
        "reconciles_during_load": load_reconciles,
        "cpu_seconds_during_load": cpu_seconds(after_load.cpu_ticks - before_load.cpu_ticks),
        "peak_cpu_cores_1s": peak_cpu,
        "apiserver_cpu_seconds_during_load": apiserver.map(|_| cpu_seconds(api_load)),
        "idle0_rss_mb": before_load.rss_kb as f64 / 1024.0,
        "load_hwm_mb": after_load.hwm_kb as f64 / 1024.0,
        "idle_rss_mb_with_objects": after_idle.rss_kb as f64 / 1024.0,
        "idle_cpu_seconds_per_minute": cpu_seconds(after_idle.cpu_ticks - after_load.cpu_ticks),
        "restart_all_reconciled_seconds": restart_done.map(|d| d.as_secs_f64()),
        "restart_hwm_mb": after_restart.hwm_kb as f64 / 1024.0,
        "restart_max_apiserver_connections": max_conn,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("load.json"),
        serde_json::to_string_pretty(&result).unwrap(),
    )
    .unwrap();
    drop(op2);
}
