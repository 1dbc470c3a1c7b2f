//! Migration tasks and their logs: lookup, retry, and the catalogue objects a task moves.

use super::Mms;
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::ObjStatus;
use crate::sim::mms::task::{self, Plan, TaskStatus};
use crate::sim::wire::ApiError;

/// A migration task: one table, or one group of partitions of a table.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: i64,
    pub job_id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub src_db_name: String,
    pub src_table_name: String,
    pub dst_db_name: String,
    pub dst_schema_name: Option<String>,
    pub dst_table_name: String,
    pub engine: &'static str,
    pub status: TaskStatus,
    pub stopped: bool,
    /// Waiting for a free slot on its data source.
    pub queued: bool,
    pub retried_times: i32,
    pub create_time: SimMillis,
    pub start_time: Option<SimMillis>,
    pub end_time: Option<SimMillis>,
    pub partition_ids: Vec<i64>,
    pub plan: Plan,
    /// When the current step ends (only while running).
    pub step_due: Option<SimMillis>,
    pub rows: i64,
    pub bytes: i64,
}

impl Task {
    /// Whether the task occupies a slot.
    pub fn running(&self) -> bool {
        self.step_due.is_some()
    }
}

/// A task log entry.
#[derive(Debug, Clone)]
pub struct TaskLog {
    pub id: i64,
    pub task_id: i64,
    pub source_id: i64,
    pub status: TaskStatus,
    pub action: String,
    pub msg: String,
    pub create_time: SimMillis,
}

impl Mms {
    /// The task of `source_id` with `task_id`.
    pub fn task(&self, source_id: i64, task_id: i64) -> Result<&Task, ApiError> {
        self.tasks
            .get(&task_id)
            .filter(|t| t.source_id == source_id)
            .ok_or_else(|| ApiError::not_found("TaskNotFound", format!("Migration task {task_id}")))
    }

    /// RetryMmsTask: re-queues one failed task.
    pub fn retry_task(
        &mut self,
        source_id: i64,
        task_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        let task = self.task(source_id, task_id)?;
        if !task.status.is_failed() {
            return Err(ApiError::new(
                400,
                "InvalidTaskStatus",
                format!(
                    "Migration task {task_id} is {}; only failed tasks can be retried.",
                    task.status.as_str()
                ),
            ));
        }
        let job_id = task.job_id;
        self.requeue_failed(task_id, now);
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.stopped = false;
        }
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    pub(super) fn requeue_failed(&mut self, task_id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&task_id) else {
            return;
        };
        let Some(point) = task::retry_point(task.status) else {
            return;
        };
        task.status = point;
        task.retried_times += 1;
        task.queued = true;
        task.stopped = false;
        task.end_time = None;
        self.set_objects(task_id, Some(ObjStatus::Failed), ObjStatus::Init);
        self.log(task_id, "retry task", "task re-queued for retry", now);
    }

    /// Sets the migration status of the task's partitions (or non-partitioned table) to `to`,
    /// only where the current status is `from` when given; then rolls up.
    pub(super) fn set_objects(&mut self, task_id: i64, from: Option<ObjStatus>, to: ObjStatus) {
        let Some(task) = self.tasks.get(&task_id) else {
            return;
        };
        let (source_id, table_id) = (task.source_id, task.table_id);
        if task.partition_ids.is_empty() {
            if let Some(t) = self.catalog.tables.get_mut(&table_id)
                && !t.has_partitions()
                && from.is_none_or(|f| f == t.status)
            {
                t.status = to;
            }
        } else {
            for pid in task.partition_ids.clone() {
                if let Some(p) = self.catalog.partitions.get_mut(&pid)
                    && from.is_none_or(|f| f == p.status)
                {
                    p.status = to;
                }
            }
        }
        self.catalog.refresh_source(source_id);
    }

    pub(super) fn clear_updated(&mut self, task_id: i64) {
        let Some(task) = self.tasks.get(&task_id) else {
            return;
        };
        for pid in &task.partition_ids {
            if let Some(p) = self.catalog.partitions.get_mut(pid) {
                p.updated = false;
            }
        }
        if let Some(t) = self.catalog.tables.get_mut(&task.table_id)
            && !t.has_partitions()
        {
            t.updated = false;
        }
    }

    pub(super) fn log(&mut self, task_id: i64, action: &str, msg: &str, now: SimMillis) {
        let Some(task) = self.tasks.get(&task_id) else {
            return;
        };
        let entry = TaskLog {
            id: self.next_log,
            task_id,
            source_id: task.source_id,
            status: task.status,
            action: action.to_string(),
            msg: msg.to_string(),
            create_time: now,
        };
        self.next_log += 1;
        self.logs.entry(task_id).or_default().push(entry);
    }
}
