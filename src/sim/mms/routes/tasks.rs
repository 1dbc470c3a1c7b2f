//! Migration tasks: list, get, retry, and their logs.

use serde_json::{Value, json};

use super::call::{Call, source_exists};
use super::listing::{like, page};
use crate::sim::mms::engine::{Mms, Task};
use crate::sim::mms::task::TaskStatus;
use crate::sim::mms::views;
use crate::sim::wire::{ApiError, Params};

/// ListMmsTasks.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let filter = TaskFilter::parse(query)?;
    let mut tasks: Vec<&Task> = mms
        .tasks
        .values()
        .filter(|t| t.source_id == id && filter.admits(mms, t))
        .collect();
    sort_tasks(&mut tasks, query)?;
    page(
        tasks.into_iter().map(|t| views::task(mms, t)).collect(),
        query,
        false,
    )
}

/// The filters of ListMmsTasks; the text ones are read from the query as they are applied.
struct TaskFilter<'q> {
    query: &'q Params,
    job_id: Option<i64>,
    /// A task status, or `FAILED` / `DOING` for any failed / working one.
    status: Option<String>,
}

impl<'q> TaskFilter<'q> {
    fn parse(query: &'q Params) -> Result<Self, ApiError> {
        let job_id = query.int("jobId")?;
        let status = query.get("status").map(str::to_ascii_uppercase);
        if let Some(s) = &status
            && TaskStatus::parse(s).is_none()
            && s != "FAILED"
            && s != "DOING"
        {
            return Err(ApiError::invalid("status"));
        }
        Ok(Self {
            query,
            job_id,
            status,
        })
    }

    fn admits(&self, mms: &Mms, t: &Task) -> bool {
        let q = self.query;
        self.job_id.is_none_or(|j| j == t.job_id)
            && q.get("jobName").is_none_or(|n| {
                mms.jobs
                    .get(&t.job_id)
                    .is_some_and(|j| like(Some(n), &j.name))
            })
            && q.get("srcDbName").is_none_or(|n| n == t.src_db_name)
            && like(q.get("srcTableName"), &t.src_table_name)
            && q.get("dstDbName").is_none_or(|n| n == t.dst_db_name)
            && like(q.get("dstTableName"), &t.dst_table_name)
            && match self.status.as_deref() {
                None => true,
                Some("FAILED") => t.status.is_failed(),
                Some("DOING") => t.status.is_doing(),
                Some(s) => t.status.as_str() == s,
            }
            && q.get("partition").is_none_or(|v| {
                t.partition_ids
                    .iter()
                    .any(|p| mms.catalog.partitions.get(p).is_some_and(|p| p.value == v))
            })
    }
}

/// Applies `sorter.startTime`, then `sorter.status`.
fn sort_tasks(tasks: &mut [&Task], query: &Params) -> Result<(), ApiError> {
    let dir = |key: &str| -> Result<Option<bool>, ApiError> {
        match query.get(key) {
            None => Ok(None),
            Some(d) if d.eq_ignore_ascii_case("asc") => Ok(Some(true)),
            Some(d) if d.eq_ignore_ascii_case("desc") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(key)),
        }
    };
    if let Some(asc) = dir("sorter.startTime")? {
        tasks.sort_by_key(|t| t.start_time.unwrap_or(i64::MAX));
        if !asc {
            tasks.reverse();
        }
    }
    if let Some(asc) = dir("sorter.status")? {
        tasks.sort_by(|a, b| a.status.as_str().cmp(b.status.as_str()));
        if !asc {
            tasks.reverse();
        }
    }
    Ok(())
}

/// GetMmsTask.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let t = mms.task(call.source_id()?, call.object_id("taskId")?)?;
    Ok(views::task(mms, t))
}

/// RetryMmsTask.
pub fn retry(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let task_id = call.object_id("taskId")?;
    mms.retry_task(call.source_id()?, task_id, call.now)?;
    Ok(json!(task_id))
}

/// ListMmsTaskLogs.
pub fn list_logs(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let task_id = call.object_id("taskId")?;
    mms.task(call.source_id()?, task_id)?;
    Ok(mms
        .logs
        .get(&task_id)
        .map(|l| l.iter().map(views::task_log).collect())
        .unwrap_or_else(|| json!([])))
}
