//! Migration jobs once created: lookup, stop, start, retry, delete, and the job status rolled
//! up from its tasks.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Mms, Task};
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::ObjStatus;
use crate::sim::mms::task::{self, JobStatus, TaskStatus};
use crate::sim::wire::ApiError;

/// The body of CreateMmsJob / CreateMmsTimer (camelCase JSON, every field optional).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRequest {
    pub name: Option<String>,
    pub src_db_name: Option<String>,
    pub src_schema_name: Option<String>,
    pub source_name: Option<String>,
    pub dst_db_name: Option<String>,
    pub dst_schema_name: Option<String>,
    pub tables: Option<Vec<String>>,
    pub partitions: Option<Vec<i64>>,
    pub partition_filters: Option<BTreeMap<String, String>>,
    pub table_black_list: Option<Vec<String>>,
    pub table_white_list: Option<Vec<String>>,
    pub table_mapping: Option<BTreeMap<String, String>>,
    pub column_mapping: Option<BTreeMap<String, String>>,
    pub enable_schema_migration: Option<bool>,
    pub enable_data_migration: Option<bool>,
    pub enable_verification: Option<bool>,
    pub increment: Option<bool>,
    pub schema_only: Option<bool>,
    pub eta: Option<String>,
    pub task_type: Option<String>,
    pub others: Option<Value>,
    #[serde(skip)]
    pub timer_id: Option<i64>,
}

impl JobRequest {
    pub(super) fn plan_flags(&self) -> (bool, bool, bool) {
        let schema_only = self.schema_only.unwrap_or(false);
        (
            self.enable_schema_migration.unwrap_or(true),
            self.enable_data_migration.unwrap_or(true) && !schema_only,
            self.enable_verification.unwrap_or(false) && !schema_only,
        )
    }
}

/// A migration job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub name: String,
    pub src_db_name: String,
    pub dst_db_name: String,
    pub dst_schema_name: Option<String>,
    /// `Database`, `Tables` or `Partitions`.
    pub kind: &'static str,
    pub status: JobStatus,
    pub stopped: bool,
    pub create_time: SimMillis,
    pub request: JobRequest,
    pub timer_id: Option<i64>,
}

impl Mms {
    /// The job of `source_id` with `job_id`.
    pub fn job(&self, source_id: i64, job_id: i64) -> Result<&Job, ApiError> {
        self.jobs
            .get(&job_id)
            .filter(|j| j.source_id == source_id)
            .ok_or_else(|| ApiError::not_found("JobNotFound", format!("Migration job {job_id}")))
    }

    /// Tasks of a job, in id order.
    pub fn tasks_of(&self, job_id: i64) -> impl Iterator<Item = &Task> {
        self.tasks.values().filter(move |t| t.job_id == job_id)
    }

    /// StopMmsJob: running tasks are killed and marked stopped; queued ones stay put.
    pub fn stop_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.job(source_id, job_id)?;
        let ids: Vec<i64> = self.tasks_of(job_id).map(|t| t.id).collect();
        for id in ids {
            let task = self.tasks.get_mut(&id).expect("listed");
            if task.status == TaskStatus::Done || task.status.is_failed() {
                continue;
            }
            let was_running = task.running();
            task.step_due = None;
            task.queued = false;
            task.stopped = true;
            if was_running {
                self.set_objects(id, Some(ObjStatus::Doing), ObjStatus::Init);
                self.log(id, "stop task", "task stopped by StopMmsJob", now);
            }
        }
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.stopped = true;
        }
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    /// StartMmsJob: resumes a job stopped by StopMmsJob.
    pub fn start_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        if !self.job(source_id, job_id)?.stopped {
            return Err(ApiError::new(
                400,
                "InvalidJobStatus",
                format!(
                    "Migration job {job_id} is not stopped; jobs start automatically when created."
                ),
            ));
        }
        self.resume_stopped(job_id);
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    fn resume_stopped(&mut self, job_id: i64) {
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.stopped = false;
        }
        for task in self
            .tasks
            .values_mut()
            .filter(|t| t.job_id == job_id && t.stopped)
        {
            task.stopped = false;
            task.queued = task.status != TaskStatus::Done && !task.status.is_failed();
        }
    }

    /// RetryMmsJob: re-queues the failed tasks (and resumes stopped ones). No failed task: no-op.
    pub fn retry_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.job(source_id, job_id)?;
        self.resume_stopped(job_id);
        let failed: Vec<i64> = self
            .tasks_of(job_id)
            .filter(|t| t.status.is_failed())
            .map(|t| t.id)
            .collect();
        for id in failed {
            self.requeue_failed(id, now);
        }
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    /// DeleteMmsJob: kills running tasks, resets their objects and removes the job.
    pub fn delete_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.job(source_id, job_id)?;
        let ids: Vec<i64> = self.tasks_of(job_id).map(|t| t.id).collect();
        for id in ids {
            self.set_objects(id, Some(ObjStatus::Doing), ObjStatus::Init);
            self.tasks.remove(&id);
            self.logs.remove(&id);
        }
        self.jobs.remove(&job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    pub(super) fn refresh_job(&mut self, job_id: i64) {
        let states: Vec<(TaskStatus, bool)> = self
            .tasks_of(job_id)
            .map(|t| (t.status, t.stopped))
            .collect();
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.status = task::aggregate(&states, job.status);
        }
    }
}
