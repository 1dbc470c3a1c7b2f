//! Benchmark with the cloud: the operator (release build) against the real local kube-apiserver
//! and the simulator, with N objects in one account (4 MmsJobs : 1 DtsMigration; the MmsJobs on
//! 20 DataSources; every other DtsMigration replicates after its full load), created at once.
//!
//! `cargo bench --bench cloud` runs N = 250; `AMO_BENCH_SIZES=250,1000,2500` runs more.
//! `AMO_BENCH_TIME_SCALE` sets the simulator's time scale (default 1: cloud time is real time;
//! a one-table MMS job takes ~71 s, 6 at a time per data source; a full-only DTS task ~2.5 min). It prints, per N: time to a first status for all
//! objects and to all settled phases (finished, or replicating); cloud calls per minute by action in steady state and per
//! object (live, with everything created and running; and frozen, the cloud clock stopped so
//! only polls remain); calls once everything finished (the replicating ones deleted first); peak calls per second per account
//! against the limits; throttled responses; RSS steady and peak; CPU-seconds per idle minute;
//! the restart with everything present and in flight; SIGTERM → exit. Results also go to
//! `target/bench/cloud.json`.

#[path = "../tests/support/mod.rs"]
mod support;

mod measure;

use std::time::{Duration, Instant};

use measure::calls::{CallLog, by_action, now_ms, peak_per_second};
use measure::watch::{Follow, follow};
use measure::{cpu_seconds, sample};
use serde_json::{Value, json};
use support::*;

const SOURCES: usize = 20;
const MMS_TERMINAL: &[&str] = &["Succeeded", "Failed"];
/// Settled DTS phases: finished, or replicating for the migrations with an incremental stage
/// (they never finish by themselves; they are deleted before the idle minute).
const DTS_SETTLED: &[&str] = &["Completed", "Failed", "Stopped", "Replicating"];
/// The operator's default budget (flags) and the simulator's limits (its scenario below).
const MMS_CEILING: u32 = 8;
const DTS_CEILING: u32 = 8;
const DTS_DETAIL_CEILING: u32 = 25;
const SIM_PER_ACTION: u32 = 30;
const SIM_DTS_DETAIL: u32 = 40;

/// 20 scanned Hive sources with `tables` small tables each; the DTS source of the demo.
fn scenario(time_scale: f64, tables: usize) -> String {
    let mut yaml = format!(
        "name: bench\nregion: cn-hangzhou\ntimeScale: {time_scale}\nseed: 1\n\
         rateLimits:\n  perAccountDefault: {SIM_PER_ACTION}\n\
         mms:\n  dataSources:\n"
    );
    for s in 0..SOURCES {
        yaml.push_str(&format!(
            "    - name: src-{s:02}\n      type: HIVE\n      region: cn-hangzhou\n      dstProject: mc_bench\n      databases:\n        - name: sales\n          tables:\n"
        ));
        for t in 0..tables {
            yaml.push_str(&format!(
                "            - {{name: t{t:04}, numRows: 1000, size: 1048576, columns: [{{name: id, type: BIGINT}}]}}\n"
            ));
        }
    }
    yaml.push_str(
        "dts:\n  sources:\n    - instanceId: pc-bp1simdemo0polardb\n      databases:\n        - name: shop\n          tables:\n            - {name: orders, rows: 100000}\n",
    );
    yaml
}

/// Waits for `done`, reading the followed lists whole every 30 s in case a watch missed a line,
/// and saying where things stand every minute.
fn wait_until(what: &str, limit: Duration, follows: &[&Follow], mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    let (mut resynced, mut said) = (Instant::now(), Instant::now());
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        if resynced.elapsed() > Duration::from_secs(30) {
            follows.iter().for_each(|f| _ = f.resync());
            resynced = Instant::now();
        }
        if said.elapsed() > Duration::from_secs(60) {
            let phases: Vec<_> = follows.iter().map(|f| f.phases()).collect();
            eprintln!(
                "waiting for {what} ({:.0} s): {phases:?}",
                start.elapsed().as_secs_f64()
            );
            said = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every other DtsMigration replicates after its full load: the steady state of DTS is
/// incremental replication, polled for lag.
fn replicates(i: usize) -> bool {
    i % 2 == 1
}

fn job_name(i: usize) -> String {
    format!("job-{i:05}")
}

fn dts_name(i: usize) -> String {
    format!("dts-{i:05}")
}

/// Creates the objects with 16 parallel `kubectl create` of one List each.
fn create(ns: &Namespace, mms_jobs: usize, migrations: usize) {
    let per_source = mms_jobs.div_ceil(SOURCES);
    let mut items: Vec<Value> = (0..mms_jobs)
        .map(|i| {
            json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "MmsJob",
                   "metadata": {"name": job_name(i)},
                   "spec": {"dataSourceRef": {"name": format!("src-{:02}", i % SOURCES)},
                            "srcDbName": "sales", "tables": [format!("t{:04}", i / SOURCES % per_source.max(1))]}})
        })
        .collect();
    items.extend((0..migrations).map(|i| {
        let types = if replicates(i) {
            json!(["Schema", "Full", "Incremental"])
        } else {
            json!(["Schema", "Full"])
        };
        json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "DtsMigration",
               "metadata": {"name": dts_name(i)},
               "spec": {"region": "cn-hangzhou",
                        "source": {"instanceType": "PolarDB", "instanceId": "pc-bp1simdemo0polardb",
                                   "database": "shop", "credentialsSecretRef": {"name": "polardb"}},
                        "destination": {"instanceType": "MaxCompute", "database": "sales_dw",
                                        "credentialsSecretRef": {"name": "maxcompute"}},
                        "migrationTypes": types,
                        "objects": [{"name": "shop", "tables": [{"name": "orders"}]}]}})
    }));
    measure::create_in_parallel(&ns.kubectl, &items);
}

/// Peak RSS and CPU of a process, sampled every second until stopped.
struct Sampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak_rss = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(s) = sample(pid) {
                    peak_rss = peak_rss.max(s.rss_kb);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            peak_rss
        });
        Self { stop, thread }
    }

    fn peak_rss_kb(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn mb(kb: u64) -> f64 {
    (kb as f64 / 1024.0 * 10.0).round() / 10.0
}

fn sigterm_exit(op: &mut Operator) -> f64 {
    let start = Instant::now();
    op.signal(libc::SIGTERM);
    op.wait_exit(Duration::from_secs(30))
        .expect("the operator exits after SIGTERM");
    start.elapsed().as_secs_f64()
}

fn run(cluster: &Cluster, objects: usize, time_scale: f64) -> Value {
    let migrations = objects / 5;
    let mms_jobs = objects - migrations;
    let ns = Namespace::create(cluster, &format!("cloud{objects}"));
    let file = std::env::temp_dir().join(format!("amo-bench-scenario-{objects}.yaml"));
    std::fs::write(&file, scenario(time_scale, mms_jobs.div_ceil(SOURCES))).unwrap();
    let sim = Sim::start(&["--scenario", &path_str(&file)]);
    dts_secrets(&ns, "bench-Db-Passw0rd");
    let op_args: Vec<String> = std::env::var("AMO_BENCH_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .chain(["--poll-scale".into(), "1.0".into()])
        .collect();
    let op_args: Vec<&str> = op_args.iter().map(String::as_str).collect();
    let mut op = Operator::start_logging(cluster, &ns.name, &sim, &op_args, "info");
    let pid = op.proc.pid();
    for s in 0..SOURCES {
        let name = format!("src-{s:02}");
        ns.kubectl.apply(
            &object(
                "DataSource",
                &name,
                json!({"region": "cn-hangzhou", "name": name, "expectedType": "Hive"}),
            )
            .to_string(),
        );
    }
    ns.kubectl.ok(&[
        "wait",
        "--for=condition=Ready",
        "datasource",
        "--all",
        "--timeout=300s",
    ]);
    let calls = CallLog::start(sim.admin.clone());
    let jobs = follow(
        &cluster.kubeconfig,
        &ns.name,
        "mmsjobs",
        ".status.jobId",
        MMS_TERMINAL,
        (0..mms_jobs).map(job_name),
    );
    let dts = follow(
        &cluster.kubeconfig,
        &ns.name,
        "dtsmigrations",
        ".status.dtsJobId",
        DTS_SETTLED,
        (0..migrations).map(dts_name),
    );
    std::thread::sleep(Duration::from_secs(2));
    let before = sample(pid).unwrap();
    let sampler = Sampler::start(pid);
    let load_started_ms = now_ms();
    let t0 = Instant::now();
    create(&ns, mms_jobs, migrations);
    let created = t0.elapsed();

    let limit = Duration::from_secs(3600);
    let both = [&jobs, &dts];
    wait_until("a first status for every object", limit, &both, || {
        jobs.with_status() == mms_jobs && dts.with_status() == migrations
    });
    let first_all = jobs
        .last(mms_jobs, |s| s.first_status)
        .max(dts.last(migrations, |s| s.first_status))
        .unwrap()
        - t0;
    wait_until(
        "every cloud object created (or finished)",
        limit,
        &both,
        || jobs.in_cloud_or_done() == mms_jobs && dts.in_cloud_or_done() == migrations,
    );
    let all_created = t0.elapsed();
    let created_calls = calls.between(load_started_ms, now_ms());
    let mut latencies = jobs.first_status_latencies();
    latencies.extend(dts.first_status_latencies());
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| -> Value {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(json!(null), |v| json!(v))
    };

    // Steady state, live: everything exists in the cloud and runs; what the operator calls per
    // minute, by action and per object it follows.
    let active_live = mms_jobs + migrations - jobs.terminal() - dts.terminal();
    let (l0, live_cpu0) = (now_ms(), sample(pid).unwrap().cpu_ticks);
    std::thread::sleep(Duration::from_secs(60));
    let live = calls.between(l0, now_ms());
    let live_cpu = cpu_seconds(sample(pid).unwrap().cpu_ticks - live_cpu0);

    // Steady state, frozen: the cloud clock stops, so nothing changes; what is still called is
    // the bare cost of following the objects.
    block_on(sim.admin.set_scale(0.0)).unwrap();
    let paused = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let replicating = dts.in_phase("Replicating");
    let (active_jobs, active_dts) = (
        mms_jobs - jobs.terminal(),
        migrations - dts.terminal() + replicating,
    );
    let active = active_jobs + active_dts;
    let s0 = now_ms();
    std::thread::sleep(Duration::from_secs(60));
    let steady = calls.between(s0, now_ms());
    let steady_rss_kb = sample(pid).unwrap().rss_kb;

    // Restart with everything present and in flight (clock still stopped): its peak, how long
    // until every object was reconciled, and what it calls meanwhile.
    let load_peak_kb = sampler.peak_rss_kb();
    let exit_in_flight = sigterm_exit(&mut op);
    let r0 = now_ms();
    let restart = Instant::now();
    let mut op2 = Operator::start_logging(cluster, &ns.name, &sim, &op_args, "info");
    let pid2 = op2.proc.pid();
    // Settled: every object reconciled once, and the kinds that are not polled (MmsJobs and
    // DataSources; replicating DtsMigrations are read every 10 s for lag) quiet for 5 s.
    let mut last = (0, Instant::now());
    let reconciled = loop {
        let quiet = measure::reconciles(&op2, Some("MmsJob"))
            + measure::reconciles(&op2, Some("DataSource"));
        let n = measure::reconciles(&op2, None);
        if quiet != last.0 {
            last = (quiet, Instant::now());
        } else if n >= (objects + SOURCES) as u64 && last.1.elapsed() > Duration::from_secs(5) {
            break last.1 - restart;
        }
        assert!(
            restart.elapsed() < Duration::from_secs(600),
            "restart did not settle"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let restart_hwm = sample(pid2).unwrap().hwm_kb;
    let restart_calls = calls.between(r0, now_ms()).len();
    block_on(sim.admin.set_scale(time_scale)).unwrap();
    let pause = paused.elapsed();

    wait_until("every object in a terminal phase", limit, &both, || {
        jobs.terminal() == mms_jobs && dts.terminal() == migrations
    });
    let last_terminal = jobs
        .last(mms_jobs, |s| s.terminal)
        .max(dts.last(migrations, |s| s.terminal))
        .unwrap();
    // The cloud clock stood still while paused: that time does not count.
    let terminal_all = if last_terminal > paused {
        last_terminal - t0 - pause
    } else {
        last_terminal - t0
    };
    let load_calls = calls.all();

    // The replicating migrations go (their tasks and instances released), so that everything
    // left has finished: calls, CPU and memory over an idle minute.
    let replicating_names: Vec<String> = (0..migrations)
        .filter(|&i| replicates(i))
        .map(|i| format!("dtsmigration/{}", dts_name(i)))
        .collect();
    let deleted = Instant::now();
    for names in replicating_names.chunks(100) {
        let mut args = vec!["delete", "--wait=false"];
        args.extend(names.iter().map(String::as_str));
        ns.kubectl.ok(&args);
    }
    for names in replicating_names.chunks(100) {
        let mut args = vec!["wait", "--for=delete", "--timeout=900s"];
        args.extend(names.iter().map(String::as_str));
        ns.kubectl.ok(&args);
    }
    let deletion = deleted.elapsed();
    // Everything finished: calls, CPU and memory over an idle minute.
    std::thread::sleep(Duration::from_secs(15));
    let (i0, idle0) = (now_ms(), sample(pid2).unwrap());
    std::thread::sleep(Duration::from_secs(60));
    let idle1 = sample(pid2).unwrap();
    let idle = calls.between(i0, now_ms());
    let idle_calls = idle.len();
    jobs.stop();
    dts.stop();
    let exit_idle = sigterm_exit(&mut op2);
    calls.stop();

    let minute = |n: usize| n as f64;
    let per_interval = |objects: usize, calls_per_minute: usize, interval_seconds: f64| -> Value {
        if calls_per_minute == 0 {
            return json!(null);
        }
        json!(objects as f64 / (calls_per_minute as f64 * interval_seconds / 60.0))
    };
    let per_action = |calls: &[measure::calls::Call]| -> serde_json::Map<String, Value> {
        by_action(calls)
            .into_iter()
            .map(|(a, n)| (a, json!(n)))
            .collect()
    };
    let (live_by_action, steady_by_action) = (per_action(&live), per_action(&steady));
    let is = |product: &'static str| move |c: &measure::calls::Call| c.product == product;
    let creation = json!({
        // Per object, from its creationTimestamp (whole seconds) to its first status.
        "first_status_after_creation_seconds": {
            "objects": latencies.len(), "p50": quantile(0.5), "p99": quantile(0.99), "max": quantile(1.0),
        },
        "calls_until_all_created_by_action": per_action(&created_calls),
        // The budget's lower bound for the creates alone: CreateMmsJob at the MMS ceiling;
        // ConfigureDtsJob and CreateDtsInstance at the DTS ceiling.
        "create_bound_seconds": {
            "mms": created_calls.iter().filter(|c| c.action == "CreateMmsJob").count() as f64 / MMS_CEILING as f64,
            "dts": created_calls.iter().filter(|c| c.action == "ConfigureDtsJob" || c.action == "CreateDtsInstance").count() as f64 / DTS_CEILING as f64,
        },
    });
    let mut result = json!({
        "objects": objects,
        "mms_jobs": mms_jobs,
        "dts_migrations": migrations,
        "sim_time_scale": time_scale,
        "create_seconds": created.as_secs_f64(),
        "first_status_all_seconds": first_all.as_secs_f64(),
        "cloud_objects_all_created_seconds": all_created.as_secs_f64(),
        "terminal_all_seconds": terminal_all.as_secs_f64(),
        "calls_total_until_terminal": load_calls.iter().filter(|c| c.at_ms >= load_started_ms).count(),
        "live_active_objects": active_live,
        "live_calls_per_minute": minute(live.len()),
        "live_calls_per_minute_by_action": live_by_action,
        "live_calls_per_object_per_minute": live.len() as f64 / active_live.max(1) as f64,
        "live_cpu_seconds_per_minute": live_cpu,
        "frozen_active_objects": active,
        "frozen_replicating_dts_migrations": replicating,
        "replicating_deleted_seconds": deletion.as_secs_f64(),
        "frozen_calls_per_minute": minute(steady.len()),
        "frozen_calls_per_minute_by_action": steady_by_action,
        "frozen_calls_per_object_per_minute": steady.len() as f64 / active.max(1) as f64,
        // The target's unit: objects followed per call in one nominal poll interval (MMS
        // running 30 s, DTS replicating 10 s), per product; at least 25 wanted.
        "frozen_objects_per_call_per_interval": {
            "mms": per_interval(active_jobs, steady.iter().filter(|c| c.product == "MMS").count(), 30.0),
            // DTS: the replicating half, polled every 10 s for lag.
            "dts": per_interval(active_dts, steady.iter().filter(|c| c.product == "DTS").count(), 10.0),
            "all_objects_present": per_interval(objects, steady.len(), 30.0),
        },
        "finished_calls_per_minute": idle_calls,
        // DataSources are not finished objects: their periodic re-read is what remains.
        "finished_calls_per_minute_by_action": per_action(&idle),
        "peak_calls_per_second": {
            "mms": peak_per_second(&load_calls, is("MMS")),
            "dts_without_detail": peak_per_second(&load_calls, |c| c.product == "DTS" && c.action != "DescribeDtsJobDetail"),
            "dts_detail": peak_per_second(&load_calls, |c| c.action == "DescribeDtsJobDetail"),
            "any_one_action": by_action(&load_calls).keys().map(|a| {
                let a = a.split('/').nth(1).unwrap_or_default().to_string();
                peak_per_second(&load_calls, |c| c.action == a)
            }).max().unwrap_or(0),
        },
        "limits": {
            "client_mms_per_second": MMS_CEILING, "client_dts_per_second": DTS_CEILING,
            "client_dts_detail_per_second": DTS_DETAIL_CEILING,
            "sim_per_account_per_action": SIM_PER_ACTION, "sim_dts_detail_per_account": SIM_DTS_DETAIL,
        },
        "throttled_responses": load_calls.iter().filter(|c| c.throttled).count(),
        "rss_before_load_mb": mb(before.rss_kb),
        "rss_peak_during_load_mb": mb(load_peak_kb),
        "rss_steady_in_flight_mb": mb(steady_rss_kb),
        "rss_idle_mb": mb(idle1.rss_kb),
        "idle_cpu_seconds_per_minute": cpu_seconds(idle1.cpu_ticks - idle0.cpu_ticks),
        "sigterm_exit_seconds_in_flight": exit_in_flight,
        "restart_settled_seconds": reconciled.as_secs_f64(),
        "restart_peak_rss_mb": mb(restart_hwm),
        "restart_calls": restart_calls,
        "sigterm_exit_seconds_idle": exit_idle,
        // Objects whose terminal phase only a whole-list read showed: the watches missed them.
        "watch_missed": jobs.missed.load(std::sync::atomic::Ordering::Relaxed) + dts.missed.load(std::sync::atomic::Ordering::Relaxed),
        "mms_phases": format!("{:?}", jobs.phases()),
        "dts_phases": format!("{:?}", dts.phases()),
    });
    if let (Some(all), Value::Object(creation)) = (result.as_object_mut(), creation) {
        all.extend(creation);
    }
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    result
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("cloud benchmark: run with `cargo bench --bench cloud`");
        return;
    }
    let sizes: Vec<usize> = std::env::var("AMO_BENCH_SIZES")
        .unwrap_or_else(|_| "250".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let time_scale: f64 = std::env::var("AMO_BENCH_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let cluster = cluster();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let results: Vec<Value> = sizes.iter().map(|n| run(cluster, *n, time_scale)).collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("cloud.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .unwrap();
}
