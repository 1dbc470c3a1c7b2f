//! The sandbox's live view: one line per resource with phase, progress, lag and gates.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::api::conditions::{READY, find};
use crate::api::cutover::StepState;
use crate::api::{Cutover, DataSource, DataWorksMigration, DtsMigration, MmsJob};

/// Redraws in place on a terminal; prints only changes otherwise (logs, CI).
pub struct Screen {
    tty: bool,
    last: String,
}

impl Screen {
    pub fn new() -> Self {
        Self {
            tty: std::io::stdout().is_terminal(),
            last: String::new(),
        }
    }

    pub fn show(&mut self, elapsed: Duration, table: &str) {
        let mut out = std::io::stdout().lock();
        if self.tty {
            let _ = write!(out, "\x1b[2J\x1b[H[{:>4}s]\n{table}", elapsed.as_secs());
        } else if table != self.last {
            let _ = write!(out, "[{:>4}s]\n{table}", elapsed.as_secs());
        }
        let _ = out.flush();
        self.last = table.to_string();
    }
}

fn ready(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> &str {
    find(conditions, READY)
        .map(|c| c.status.as_str())
        .unwrap_or("-")
}

fn reason(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> String {
    find(conditions, READY)
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

/// One line per resource in `ns`.
pub async fn snapshot(client: &Client, ns: &str) -> anyhow::Result<String> {
    let lp = ListParams::default();
    let mut lines = vec![format!(
        "{:<13} {:<22} {:<6} {:<21} {}",
        "KIND", "NAME", "READY", "PHASE", "DETAIL"
    )];
    for ds in Api::<DataSource>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
    {
        let s = ds.status.clone().unwrap_or_default();
        let detail = match (&s.counts, &s.last_scan) {
            (Some(c), _) if c.tables > 0 => {
                format!("{} databases, {} tables", c.databases, c.tables)
            }
            (_, Some(scan)) if !scan.finished => {
                format!("scanning ({:.0}%)", scan.percent.unwrap_or(0.0))
            }
            _ => reason(&s.conditions),
        };
        lines.push(row(
            "DataSource",
            &ds.name_any(),
            ready(&s.conditions),
            s.phase.map(|p| format!("{p:?}")),
            detail,
        ));
    }
    for job in Api::<MmsJob>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
    {
        let s = job.status.clone().unwrap_or_default();
        let verified = find(&s.conditions, "Verified")
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        let detail = format!(
            "{} verification: {verified}",
            s.progress.clone().unwrap_or_else(|| "-".into())
        );
        lines.push(row(
            "MmsJob",
            &job.name_any(),
            ready(&s.conditions),
            s.phase.map(|p| format!("{p:?}")),
            detail,
        ));
    }
    for m in Api::<DtsMigration>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
    {
        let s = m.status.clone().unwrap_or_default();
        let detail = match (&s.lag, s.stages.as_ref().and_then(|st| st.full.as_ref())) {
            (Some(lag), _) => format!("lag {lag}"),
            (None, Some(full)) => format!("full load {}%", full.percent.unwrap_or(0)),
            _ => reason(&s.conditions),
        };
        lines.push(row(
            "DtsMigration",
            &m.name_any(),
            ready(&s.conditions),
            s.phase.map(|p| format!("{p:?}")),
            detail,
        ));
    }
    for w in Api::<DataWorksMigration>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
    {
        let s = w.status.clone().unwrap_or_default();
        let task = s.import.as_ref().or(s.export.as_ref());
        let detail = match task {
            Some(t) => format!(
                "{} task {} {}",
                if s.import.is_some() {
                    "import"
                } else {
                    "export"
                },
                t.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                t.status
                    .and_then(|st| serde_json::to_value(st).ok())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "creating".into())
            ),
            None => reason(&s.conditions),
        };
        lines.push(row(
            "DataWorks",
            &w.name_any(),
            ready(&s.conditions),
            s.phase.map(|p| format!("{p:?}")),
            detail,
        ));
    }
    for c in Api::<Cutover>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
    {
        let s = c.status.clone().unwrap_or_default();
        let waiting: Vec<String> = s
            .gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.name.clone())
            .collect();
        // Writes stopped at frozenAt; the drain proves replication caught up with them.
        let frozen = s
            .frozen_at
            .as_ref()
            .filter(|_| {
                s.steps
                    .iter()
                    .any(|st| st.name.starts_with("drain/") && st.state == StepState::Running)
            })
            .map(|t| format!(" (writes frozen at {})", t.0))
            .unwrap_or_default();
        let drained = s
            .drained
            .iter()
            .map(|d| format!("; {} drained to checkpoint {}", d.migration, d.checkpoint.0))
            .collect::<String>();
        let running = s
            .steps
            .iter()
            .find(|st| st.state == StepState::Running)
            .map(|st| format!("step {}{frozen}{drained}", st.name));
        let detail = running.unwrap_or_else(|| {
            format!(
                "gates {}{}",
                s.gates_summary.clone().unwrap_or_else(|| "-".into()),
                if waiting.is_empty() {
                    String::new()
                } else {
                    format!(" waiting: {}", waiting.join(", "))
                }
            )
        });
        lines.push(row(
            "Cutover",
            &c.name_any(),
            ready(&s.conditions),
            s.phase.map(|p| format!("{p:?}")),
            detail,
        ));
    }
    Ok(lines.join("\n") + "\n")
}

fn row(kind: &str, name: &str, ready: &str, phase: Option<String>, detail: String) -> String {
    format!(
        "{kind:<13} {name:<22} {ready:<6} {:<21} {detail}",
        phase.unwrap_or_else(|| "-".into())
    )
}
