//! The cloud half of the MMS informer: one round of reads for the tracked jobs of one data
//! source. Lists first, then detail reads only for jobs whose listed figures changed (or that
//! the lists do not show).

use std::collections::HashMap;
use std::time::Duration;

use crate::aliyun::mms::{JobStatus, ListJobsRequest, MmsJob, TASK_PAGE_SIZE};
use crate::aliyun::{Error, MmsClient};
use crate::controllers::mms_job::decide::{AsyncTaskView, JobView, Observed};
use crate::controllers::ownership::{self, Owner};

use super::plan::{self, JOB_PAGE_SIZE, ListPlan, Summary, Target};

/// One tracked MmsJob of the source, with what the informer knew of it.
#[derive(Clone, Debug)]
pub struct Want {
    pub target: Target,
    pub summary: Option<Summary>,
    pub view: Option<JobView>,
    /// Read the tasks even when the listed figures did not change.
    pub refresh_tasks: bool,
}

/// What a round learnt about one object.
// One per tracked job per round, consumed at once: boxing the large variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Got {
    /// A new observation.
    Observed(Observed, Option<Summary>),
    /// The list shows the same figures as last time: the previous observation still holds.
    Unchanged,
    /// Nothing to say yet (a job being created that is not visible yet), or it could not be
    /// read: the object keeps what it had (could-not-read is never absent).
    Nothing,
}

/// The outcome of a round for one source.
#[derive(Debug, Default)]
pub struct Round {
    /// One result per want, in order.
    pub got: Vec<Got>,
    /// Calls made (for the cost estimate).
    pub calls: u32,
    /// Jobs in the source, when the round listed them all.
    pub total_jobs: Option<u64>,
}

struct Reader<'a> {
    mms: &'a MmsClient,
    source_id: i64,
    calls: u32,
}

impl Reader<'_> {
    async fn list(&mut self, filter: ListJobsRequest) -> Result<(Vec<MmsJob>, u64), Error> {
        let mut jobs = Vec::new();
        let mut page_num = 1;
        loop {
            let req = ListJobsRequest {
                page_num: Some(page_num),
                page_size: Some(JOB_PAGE_SIZE),
                ..filter.clone()
            };
            self.calls += 1;
            let page = self.mms.list_jobs(self.source_id, &req).await?;
            let got = page.items.len();
            jobs.extend(page.items);
            if got < JOB_PAGE_SIZE as usize || jobs.len() as u64 >= page.total {
                return Ok((jobs, page.total));
            }
            page_num += 1;
        }
    }

    /// The job and its tasks as a view; the logs of failed tasks are read only when the previous
    /// view does not hold them already.
    async fn view(&mut self, job: &MmsJob, prev: Option<&JobView>) -> Result<JobView, Error> {
        let tasks = self.mms.job_tasks(self.source_id, job.id).await?;
        self.calls += tasks.total.div_ceil(TASK_PAGE_SIZE as u64).max(1) as u32;
        let mut logs = HashMap::new();
        for task in plan::shown_failed(&tasks) {
            let lines = match plan::known_log(prev, task) {
                Some(lines) => lines,
                None => {
                    self.calls += 1;
                    // A log that cannot be read leaves the lines empty, not the job unread.
                    match self.mms.list_task_logs(self.source_id, task.id).await {
                        Ok(logs) => plan::log_lines(&logs),
                        Err(_) => Vec::new(),
                    }
                }
            };
            logs.insert(task.id, lines);
        }
        Ok(plan::job_view(job, &tasks, &logs))
    }
}

/// Reads one source's tracked jobs (the client waits for the budget in turn). A list that fails
/// fails the round (nothing is concluded from a partial list); a detail read that fails only
/// leaves its object without news.
pub async fn read_source(
    mms: &MmsClient,
    source_id: i64,
    wants: &[Want],
    list_plan: ListPlan,
    create_grace: Duration,
    now: jiff::Timestamp,
) -> Result<Round, Error> {
    let mut reader = Reader {
        mms,
        source_id,
        calls: 0,
    };
    let mut round = Round::default();
    let mut listed: HashMap<i64, MmsJob> = HashMap::new();
    let mut by_name: HashMap<String, i64> = HashMap::new();
    let complete = list_plan == ListPlan::Full;
    let mut remember = |jobs: Vec<MmsJob>, by_name: &mut HashMap<String, i64>| {
        for job in jobs {
            by_name.entry(job.name.clone()).or_insert(job.id);
            listed.insert(job.id, job);
        }
    };
    if complete {
        let (jobs, total) = reader.list(ListJobsRequest::default()).await?;
        round.total_jobs = Some(total);
        remember(jobs, &mut by_name);
    } else {
        for status in [JobStatus::Doing, JobStatus::Init] {
            let filter = ListJobsRequest {
                status: Some(status),
                ..ListJobsRequest::default()
            };
            remember(reader.list(filter).await?.0, &mut by_name);
        }
    }
    for want in wants {
        let got = match &want.target {
            Target::Name { name, uid } => {
                let found = match by_name.get(name) {
                    Some(id) => listed.get(id).cloned(),
                    None if complete => None,
                    None => {
                        // The name filter matches substrings: keep the exact match only.
                        let filter = ListJobsRequest {
                            name: Some(name.clone()),
                            ..ListJobsRequest::default()
                        };
                        let (jobs, _) = reader.list(filter).await?;
                        jobs.into_iter().find(|j| &j.name == name)
                    }
                };
                match found {
                    None => Got::Observed(Observed::NoJob, None),
                    Some(job) => {
                        // List items may come without their configuration: read the job for
                        // its ownership marker.
                        let config = match job.config {
                            Some(config) => Some(config),
                            None => {
                                reader.calls += 1;
                                match mms.get_job(source_id, job.id).await {
                                    Ok(full) => full.config,
                                    Err(_) => {
                                        round.got.push(Got::Nothing);
                                        continue;
                                    }
                                }
                            }
                        };
                        let holder = config.as_ref().and_then(|c| c.others.as_ref());
                        let observed = match ownership::owner(holder, uid) {
                            Owner::Us => Observed::Adoptable(job.id),
                            Owner::Other(owner) => Observed::NameTaken {
                                id: job.id,
                                owner: Some(owner),
                            },
                            Owner::Unmarked => Observed::NameTaken {
                                id: job.id,
                                owner: None,
                            },
                        };
                        Got::Observed(observed, None)
                    }
                }
            }
            Target::Creating {
                name,
                async_task_id,
                since,
            } => match by_name.get(name) {
                Some(id) => Got::Observed(Observed::Created(*id), None),
                None if crate::controllers::poll::elapsed(*since, now) < create_grace => {
                    Got::Nothing
                }
                None => {
                    reader.calls += 1;
                    match mms.get_async_task(source_id, *async_task_id).await {
                        Ok(task) => Got::Observed(
                            Observed::Creating(AsyncTaskView {
                                id: task.id,
                                status: task
                                    .status
                                    .as_ref()
                                    .map(|s| s.as_str().to_string())
                                    .unwrap_or_default(),
                                running: task.running,
                                object_id: task.created_job_id(),
                                error: task.error_msg.clone(),
                            }),
                            None,
                        ),
                        // The async task is gone: look for the job by name instead.
                        Err(e) if e.is_not_found() => Got::Observed(Observed::NoJob, None),
                        Err(_) => Got::Nothing,
                    }
                }
            },
            Target::Job(id) => {
                let job = match listed.get(id) {
                    Some(job) => Some(job.clone()),
                    None => {
                        // Not in the lists: finished, stopped long ago or deleted. Only a read of
                        // the job itself tells which (a list can skip an item that moves).
                        reader.calls += 1;
                        match mms.get_job(source_id, *id).await {
                            Ok(job) => Some(job),
                            Err(e) if e.is_not_found() => None,
                            Err(_) => {
                                round.got.push(Got::Nothing);
                                continue;
                            }
                        }
                    }
                };
                match job {
                    None => Got::Observed(Observed::Gone(*id), None),
                    Some(job) => {
                        let summary = Summary::of(&job);
                        if want.view.is_some()
                            && want.summary.as_ref() == Some(&summary)
                            && !want.refresh_tasks
                        {
                            Got::Unchanged
                        } else if let Some(view) = plan::implied_view(&job) {
                            Got::Observed(Observed::Job(view), Some(summary))
                        } else {
                            match reader.view(&job, want.view.as_ref()).await {
                                Ok(view) => Got::Observed(Observed::Job(view), Some(summary)),
                                Err(_) => Got::Nothing,
                            }
                        }
                    }
                }
            }
        };
        round.got.push(got);
    }
    round.calls = reader.calls;
    Ok(round)
}
