//! What the benchmarks read about a process from /proc: memory, CPU and connections.

#![allow(dead_code)]

pub mod calls;
pub mod watch;

use serde_json::{Value, json};

use crate::support::{Kubectl, Operator};

/// Reconciles the operator counted (of `kind`, or of all kinds).
pub fn reconciles(op: &Operator, kind: Option<&str>) -> u64 {
    let prefix = match kind {
        Some(kind) => format!("amo_reconcile_total{{kind=\"{kind}\""),
        None => "amo_reconcile_total{".to_string(),
    };
    op.http_get("/metrics")
        .1
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Creates `items` with 16 parallel `kubectl create` of one List each (a loader like the
/// reference harness's 16 threads).
pub fn create_in_parallel(kubectl: &Kubectl, items: &[Value]) {
    let appliers: Vec<_> = (0..16)
        .map(|w| {
            let chunk: Vec<&Value> = items.iter().skip(w).step_by(16).collect();
            let doc = json!({"apiVersion": "v1", "kind": "List", "items": chunk}).to_string();
            let k = kubectl.clone();
            std::thread::spawn(move || k.run_with_stdin(&["create", "-f", "-"], Some(&doc)))
        })
        .collect();
    for a in appliers {
        let out = a.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[derive(Default, Clone, Copy)]
pub struct Sample {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub cpu_ticks: u64,
}

pub fn sample(pid: u32) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit(')').next()?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Sample {
        rss_kb: field("VmRSS:"),
        hwm_kb: field("VmHWM:"),
        cpu_ticks: utime + stime,
    })
}

pub fn cpu_seconds(ticks: u64) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

/// Sockets of `pid` connected to the API server's port.
pub fn connections(pid: u32, port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().to_string();
                    l.strip_prefix("socket:[")
                        .map(|s| s.trim_end_matches(']').to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let port_hex = format!(":{port:04X}");
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("/proc/{pid}/net/{f}")).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 9 && cols[2].ends_with(&port_hex) && inodes.contains(cols[9])
        })
        .count()
}
