//! Migration jobs: create, list, get, and the start/stop/retry/delete commands.

use serde_json::{Value, json};

use super::call::{Call, source_exists};
use super::listing::{like, page};
use crate::sim::clock::SimMillis;
use crate::sim::mms::engine::{Job, Mms};
use crate::sim::mms::task::JobStatus;
use crate::sim::mms::views;
use crate::sim::wire::{ApiError, Params, parse_bool};

/// CreateMmsJob.
pub fn create(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let request = call.job_request()?;
    let async_id = mms.create_job(id, request, call.now)?;
    Ok(json!({"asyncTaskId": async_id}))
}

/// ListMmsJobs.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let filter = JobFilter::parse(query)?;
    let mut jobs: Vec<&Job> = mms
        .jobs
        .values()
        .filter(|j| j.source_id == id && filter.admits(mms, j))
        .collect();
    // Newest first, like the console; `sorter.status` orders by status text.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    match query.get("sorter.status") {
        Some(d) if d.eq_ignore_ascii_case("asc") => {
            jobs.sort_by(|a, b| a.status.as_str().cmp(b.status.as_str()))
        }
        Some(d) if d.eq_ignore_ascii_case("desc") => {
            jobs.sort_by(|a, b| b.status.as_str().cmp(a.status.as_str()))
        }
        Some(_) => return Err(ApiError::invalid("sorter.status")),
        None => {}
    }
    page(
        jobs.into_iter().map(|j| views::job(mms, j)).collect(),
        query,
        false,
    )
}

/// The filters of ListMmsJobs; the text ones are read from the query as they are applied.
struct JobFilter<'q> {
    query: &'q Params,
    status: Option<JobStatus>,
    stopped: Option<bool>,
    timer_id: Option<i64>,
}

impl<'q> JobFilter<'q> {
    fn parse(query: &'q Params) -> Result<Self, ApiError> {
        let status = match query.get("status") {
            Some(s) => Some(JobStatus::parse(s).ok_or_else(|| ApiError::invalid("status"))?),
            None => None,
        };
        let stopped = query
            .get("stopped")
            .map(|s| parse_bool(s).ok_or_else(|| ApiError::invalid("stopped")))
            .transpose()?;
        Ok(Self {
            query,
            status,
            stopped,
            timer_id: query.int("timerId")?,
        })
    }

    fn admits(&self, mms: &Mms, j: &Job) -> bool {
        let q = self.query;
        like(q.get("name"), &j.name)
            && q.get("srcDbName").is_none_or(|n| n == j.src_db_name)
            && q.get("dstDbName").is_none_or(|n| n == j.dst_db_name)
            && q.get("srcTableName")
                .is_none_or(|n| mms.tasks_of(j.id).any(|t| t.src_table_name == n))
            && q.get("dstTableName")
                .is_none_or(|n| mms.tasks_of(j.id).any(|t| t.dst_table_name == n))
            && self.status.is_none_or(|s| s == j.status)
            && self.stopped.is_none_or(|s| s == j.stopped)
            && self.timer_id.is_none_or(|t| Some(t) == j.timer_id)
    }
}

/// GetMmsJob.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let job = mms.job(call.source_id()?, call.object_id("jobId")?)?;
    Ok(views::job(mms, job))
}

/// StartMmsJob.
pub fn start(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    command(mms, call, Mms::start_job)
}

/// StopMmsJob.
pub fn stop(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    command(mms, call, Mms::stop_job)
}

/// RetryMmsJob.
pub fn retry(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    command(mms, call, Mms::retry_job)
}

/// DeleteMmsJob.
pub fn delete(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    command(mms, call, Mms::delete_job)
}

type JobCommand = fn(&mut Mms, i64, i64, SimMillis) -> Result<(), ApiError>;

/// Runs a command on the job of the path; the answer is the job id.
fn command(mms: &mut Mms, call: &Call<'_>, run: JobCommand) -> Result<Value, ApiError> {
    let job_id = call.object_id("jobId")?;
    let source = call.source_id()?;
    run(mms, source, job_id, call.now)?;
    Ok(json!(job_id))
}
