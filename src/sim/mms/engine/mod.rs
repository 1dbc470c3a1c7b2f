//! The MMS service state and its discrete-event engine: metadata scans, async tasks, jobs and
//! their tasks, timers, and planned failures. Time only moves through [`Mms::advance`], which
//! applies every event due up to the given simulated time in order, so the outcome depends
//! only on the scenario, the seed and the sequence of calls.

mod async_tasks;
mod events;
mod execution;
mod failures;
mod inventory;
mod job_creation;
mod jobs;
mod planning;
mod sources;
mod summary;
mod tasks;
mod timers;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use super::catalog::{Catalog, DataSource};
use crate::sim::clock::SimMillis;
use crate::sim::scenario::{MmsSpec, MmsTimings};

pub use async_tasks::{AsyncKind, AsyncStatus, AsyncTask, AsyncWork};
pub use failures::FailureRule;
pub use inventory::{InventoryError, NewPartitions};
pub use jobs::{Job, JobRequest};
pub use tasks::{Task, TaskLog};
pub use timers::{Timer, TimerLog, next_fire};

/// The whole MMS service.
#[derive(Debug)]
pub struct Mms {
    pub timings: MmsTimings,
    pub sources: BTreeMap<i64, DataSource>,
    pub catalog: Catalog,
    pub async_tasks: BTreeMap<i64, AsyncTask>,
    pub jobs: BTreeMap<i64, Job>,
    pub tasks: BTreeMap<i64, Task>,
    pub logs: BTreeMap<i64, Vec<TaskLog>>,
    pub timers: BTreeMap<i64, Timer>,
    pub timer_logs: Vec<TimerLog>,
    pub failures: Vec<FailureRule>,
    next_source: i64,
    next_async: i64,
    next_job: i64,
    next_task: i64,
    next_log: i64,
    next_timer: i64,
    next_failure: u64,
}

impl Mms {
    /// The service as the scenario describes it at `now`.
    pub fn new(spec: &MmsSpec, region: &str, now: SimMillis) -> anyhow::Result<Self> {
        let mut mms = Self {
            timings: spec.timings.clone(),
            sources: BTreeMap::new(),
            catalog: Catalog::new(),
            async_tasks: BTreeMap::new(),
            jobs: BTreeMap::new(),
            tasks: BTreeMap::new(),
            logs: BTreeMap::new(),
            timers: BTreeMap::new(),
            timer_logs: Vec::new(),
            failures: Vec::new(),
            next_source: 2_000_001,
            next_async: 1_000_001,
            next_job: 1,
            next_task: 1_001,
            next_log: 1,
            next_timer: 1,
            next_failure: 1,
        };
        mms.timings.max_running_tasks = mms.timings.max_running_tasks.max(1);
        mms.timings.partitions_per_task = mms.timings.partitions_per_task.max(1);
        for ds in &spec.data_sources {
            mms.seed_source(ds, region, now)?;
        }
        for f in &spec.failures {
            mms.add_failure(f)?;
        }
        Ok(mms)
    }

    /// Resolves a data source given by name or id (text).
    pub fn resolve_source(&self, name_or_id: &str) -> Option<i64> {
        if let Ok(id) = name_or_id.parse::<i64>()
            && self.sources.contains_key(&id)
        {
            return Some(id);
        }
        self.sources
            .values()
            .find(|s| s.name == name_or_id)
            .map(|s| s.id)
    }
}
