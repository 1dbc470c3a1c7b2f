//! The MMS part of the admin API's `/_sim/state`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{AsyncStatus, Mms};
use crate::sim::clock::fmt_mms;

impl Mms {
    /// Counts used by `/_sim/state`.
    pub fn summary(&self) -> Value {
        let mut sources = Vec::new();
        for s in self.sources.values() {
            let jobs: Vec<Value> = self
                .jobs
                .values()
                .filter(|j| j.source_id == s.id)
                .map(|j| {
                    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
                    for t in self.tasks_of(j.id) {
                        *by_status.entry(t.status.as_str()).or_default() += 1;
                    }
                    json!({"id": j.id, "name": j.name, "status": j.status.as_str(), "stopped": j.stopped,
                           "taskNum": by_status.values().sum::<usize>(), "tasksByStatus": by_status})
                })
                .collect();
            let scan = s.scan_id.and_then(|id| self.async_tasks.get(&id)).map(|a| {
                json!({"id": a.id, "status": a.status.as_str(), "createTime": fmt_mms(a.create_time)})
            });
            sources.push(json!({
                "id": s.id, "name": s.name, "type": s.kind, "status": s.status,
                "dbs": self.catalog.dbs.values().filter(|d| d.source_id == s.id).count(),
                "tables": self.catalog.tables.values().filter(|t| t.source_id == s.id).count(),
                "partitions": self.catalog.partitions.values().filter(|p| p.source_id == s.id).count(),
                "lastScan": scan,
                "jobs": jobs,
            }));
        }
        json!({
            "sources": sources,
            "jobs": self.jobs.len(),
            "tasks": self.tasks.len(),
            "runningTasks": self.tasks.values().filter(|t| t.running()).count(),
            "pendingAsyncTasks": self.async_tasks.values().filter(|a| a.status == AsyncStatus::Doing).count(),
            "timers": self.timers.len(),
            "failureRules": self.failures,
        })
    }
}
