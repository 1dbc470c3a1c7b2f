//! The pure half of the MMS informer: what to list, what a listed job says, and how a job and
//! its tasks become the [`JobView`] the MmsJob decision reads.

use std::collections::HashMap;

use crate::aliyun::mms::{JobTasks, MmsJob, MmsTask, MmsTaskLog, TaskStatus};
use crate::api::conditions;
use crate::api::mms_job::{FailedTask, RunningTask};
use crate::controllers::mms_job::decide::{self, JobView};

/// Log lines kept per failed task.
pub const LOG_LINES: usize = 3;
/// Jobs per ListMmsJobs page (the most the service serves).
pub const JOB_PAGE_SIZE: u32 = 100;

/// What the informer reads for one MmsJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// No job id: does a job of this name exist? (A first observation, or a create whose answer
    /// was lost.)
    Name {
        name: String,
        /// The resource's UID: only a job carrying it as its ownership marker is adoptable.
        uid: String,
    },
    /// `CreateMmsJob` answered with an async task: find the job by name in the lists, and read
    /// the async task only when the job has not shown up after `since` plus a grace period.
    Creating {
        name: String,
        async_task_id: i64,
        since: jiff::Timestamp,
    },
    /// A known job.
    Job(i64),
}

/// What a job list shows about one job: when it differs from the last look, the job's tasks
/// are read again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub status: String,
    pub stopped: bool,
    pub task_num: i64,
    pub task_done: i64,
}

impl Summary {
    pub fn of(job: &MmsJob) -> Self {
        Self {
            status: job
                .status
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            stopped: job.stopped,
            task_num: job.task_num,
            task_done: job.task_done,
        }
    }

    pub fn of_view(view: &JobView) -> Self {
        Self {
            status: view.status.clone(),
            stopped: view.stopped,
            task_num: view.task_num,
            task_done: view.task_done,
        }
    }

    /// Tasks of a running job move between states without changing the list's figures (a task
    /// that fails does not count as done), so they are re-read now and then while it runs.
    pub fn running(&self) -> bool {
        self.status.eq_ignore_ascii_case("DOING") && !self.stopped
    }
}

/// How a data source's jobs are listed this round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListPlan {
    /// Every job, page by page: cheapest when the source holds few jobs besides ours, and it
    /// answers name lookups too.
    Full,
    /// Only `DOING` and `INIT` jobs (what can still change), plus one lookup per name.
    ActiveOnly,
}

/// Pages a listing of `total` jobs takes.
pub fn pages(total: u64) -> u64 {
    total.div_ceil(JOB_PAGE_SIZE as u64).max(1)
}

/// Lists everything when that costs no more than the active lists plus the name lookups; an
/// unknown size (first round) lists everything once to learn it.
pub fn list_plan(total_jobs: Option<u64>, name_lookups: usize) -> ListPlan {
    match total_jobs {
        Some(total) if pages(total) > 2 + name_lookups as u64 => ListPlan::ActiveOnly,
        _ => ListPlan::Full,
    }
}

/// A failed task's log as status lines (`action: msg`), masked by the client already.
pub fn log_lines(logs: &[MmsTaskLog]) -> Vec<String> {
    logs.iter()
        .filter_map(|l| {
            let text = [l.action.as_deref(), l.msg.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            (!text.is_empty()).then(|| conditions::truncate(&text, 300))
        })
        .collect()
}

/// The failed tasks shown in status, in pipeline order (schema, data, verification).
pub fn shown_failed(tasks: &JobTasks) -> Vec<&MmsTask> {
    let order = |t: &&MmsTask| {
        t.status
            .as_ref()
            .and_then(|s| TaskStatus::ALL.iter().position(|x| x == s))
            .unwrap_or(usize::MAX)
    };
    let mut failed: Vec<&MmsTask> = tasks.failed.iter().collect();
    failed.sort_by_key(order);
    failed.truncate(decide::MAX_FAILED_TASKS);
    failed
}

/// The log lines of a failed task the previous view already holds (same task, same state, same
/// retry count), so the log is not read again. Verification failures are always read: their
/// mismatches come from the whole log, not the lines kept.
pub fn known_log(prev: Option<&JobView>, task: &MmsTask) -> Option<Vec<String>> {
    let status = task.status.as_ref()?;
    if *status == TaskStatus::VerificationFailed {
        return None;
    }
    let status = status.as_str();
    prev?
        .failed_tasks
        .iter()
        .find(|f| f.id == task.id && f.status == status && f.retried_times == task.retried_times)
        .map(|f| f.last_log.clone())
}

/// The view of a job whose tasks the list figures already tell, without reading them: by the
/// job status roll-up (`docs/cloud-apis.md#mms-task-state-machine-and-job-status`), a job not
/// stopped is `INIT` with nothing done only while every task waits in `INIT`, and `DONE` with
/// every task done only when all are `DONE` (verification, when enabled, comes before `DONE`).
/// Anything else needs its tasks read.
pub fn implied_view(job: &MmsJob) -> Option<JobView> {
    let summary = Summary::of(job);
    let state = match summary.status.as_str() {
        "INIT" if job.task_done == 0 => TaskStatus::Init,
        "DONE" if job.task_done == job.task_num => TaskStatus::Done,
        _ => return None,
    };
    if job.stopped || job.task_num < 0 {
        return None;
    }
    let tasks = JobTasks {
        counts: [(state, job.task_num as u64)].into_iter().collect(),
        failed: Vec::new(),
        running: Vec::new(),
        total: job.task_num as u64,
    };
    Some(job_view(job, &tasks, &HashMap::new()))
}

/// Builds the view from a job, its tasks and the full log lines of the shown failed tasks.
pub fn job_view(job: &MmsJob, tasks: &JobTasks, logs: &HashMap<i64, Vec<String>>) -> JobView {
    let mut failed_tasks = Vec::new();
    let mut mismatches = Vec::new();
    for task in shown_failed(tasks) {
        let lines = logs.get(&task.id).cloned().unwrap_or_default();
        let table = format!("{}.{}", task.src_db_name, task.src_table_name);
        let status = task
            .status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if task.status == Some(TaskStatus::VerificationFailed) {
            mismatches.extend(decide::mismatches_in_log(&table, &lines));
        }
        failed_tasks.push(FailedTask {
            id: task.id,
            table,
            status,
            retried_times: task.retried_times,
            last_log: lines[lines.len().saturating_sub(LOG_LINES)..].to_vec(),
        });
    }
    let running_tasks = tasks
        .running
        .iter()
        .take(decide::MAX_FAILED_TASKS)
        .map(|t| RunningTask {
            id: t.id,
            table: format!("{}.{}", t.src_db_name, t.src_table_name),
            status: t
                .status
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            start_time: t.start_time.clone(),
        })
        .collect();
    let summary = Summary::of(job);
    JobView {
        id: job.id,
        name: job.name.clone(),
        status: summary.status,
        stopped: job.stopped,
        task_num: job.task_num,
        task_done: job.task_done,
        task_counts: tasks
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (s.as_str().to_string(), *n as i64))
            .collect(),
        failed_tasks,
        running_tasks,
        mismatches,
    }
}

#[cfg(test)]
mod tests;
