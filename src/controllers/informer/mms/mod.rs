//! The MMS informer: for each account and region, rounds per data source list its jobs
//! (ListMmsJobs pages with status and task figures), read a job's tasks (ListMmsTasks, one read
//! for all states) only when its listed figures changed, and hand every MmsJob the observation
//! its reconcile decides on. Finished jobs are not tracked: they cost no calls.

pub mod plan;
mod read;

use std::collections::HashMap;
use std::time::Duration;

use super::Account;
use super::poller::{self, Got, Item, Poller, Round};
use crate::aliyun::{Error, MmsClient, Pacing, Priority};
use crate::api::mms_job::MmsJob;
use crate::controllers::mms_job::decide::{JobView, Observed};
pub use plan::Target;
use plan::{Summary, list_plan};

/// Re-read a running job's tasks after this many polls that showed the same list figures.
pub const TASK_REFRESH_POLLS: u32 = 4;

/// What to read for an MmsJob, and in which data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MmsTarget {
    pub source_id: i64,
    pub job: Target,
}

/// What the informer remembers of a job between rounds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobMemo {
    /// The list figures of the last read.
    pub summary: Option<Summary>,
    /// The last full view (its failed tasks' logs are not read again).
    pub view: Option<JobView>,
    pub polls_since_tasks: u32,
}

impl JobMemo {
    /// Starts from what status shows: after a restart, unchanged tasks are not read again.
    pub fn known(view: Option<JobView>) -> Self {
        Self {
            summary: view.as_ref().map(Summary::of_view),
            view,
            polls_since_tasks: 0,
        }
    }
}

/// The MMS [`Poller`].
pub struct Mms {
    /// How long a created job may stay invisible before its async task is read.
    pub create_grace: Duration,
    /// Re-read a running job's tasks after this many polls that showed the same list figures
    /// (normally [`TASK_REFRESH_POLLS`]).
    pub task_refresh_polls: u32,
}

pub type MmsInformer = super::Informer<Mms>;
pub type Track = poller::Track<Mms>;

impl Poller for Mms {
    type Kind = MmsJob;
    type Client = MmsClient;
    type Target = MmsTarget;
    type Observed = Observed;
    type Memo = JobMemo;
    /// Jobs per data source, as the last complete listing counted them.
    type AccountMemo = HashMap<i64, u64>;

    const PRODUCT: &'static str = "mms";
    const MAX_BATCH: usize = usize::MAX;

    fn account(client: &MmsClient) -> Account {
        Account {
            identity: client.credentials().short_id(),
            region: client.region().to_string(),
        }
    }

    fn waiting(client: &MmsClient, priority: Priority) -> MmsClient {
        client.clone().with_pacing(Pacing::Wait(priority))
    }

    /// One list serves every job of a data source.
    fn joins(first: &MmsTarget, other: &MmsTarget) -> bool {
        first.source_id == other.source_id
    }

    async fn read(
        &self,
        client: MmsClient,
        items: Vec<Item<Self>>,
        mut totals: HashMap<i64, u64>,
    ) -> Result<Round<Self>, Error> {
        let source_id = items.first().map_or(0, |i| i.target.source_id);
        let wants: Vec<read::Want> = items
            .iter()
            .map(|i| read::Want {
                target: i.target.job.clone(),
                summary: i.memo.summary.clone(),
                view: i.memo.view.clone(),
                refresh_tasks: i.memo.summary.as_ref().is_some_and(Summary::running)
                    && i.memo.polls_since_tasks >= self.task_refresh_polls,
            })
            .collect();
        let names = wants
            .iter()
            .filter(|w| matches!(w.target, Target::Name { .. }))
            .count();
        let plan = list_plan(totals.get(&source_id).copied(), names);
        let round = read::read_source(
            &client,
            source_id,
            &wants,
            plan,
            self.create_grace,
            jiff::Timestamp::now(),
        )
        .await?;
        if let Some(total) = round.total_jobs {
            totals.insert(source_id, total);
        }
        let got = items
            .iter()
            .zip(round.got)
            .map(|(item, got)| learnt(item, got))
            .collect();
        Ok(Round {
            got,
            calls: round.calls,
            memo: totals,
        })
    }
}

/// A read's result as what the object observes and the informer remembers.
fn learnt(item: &Item<Mms>, got: read::Got) -> Got<Mms> {
    let mut memo = item.memo.clone();
    match got {
        read::Got::Observed(Observed::Job(view), summary) => {
            memo.summary = summary;
            memo.view = Some(view.clone());
            memo.polls_since_tasks = 0;
            Got::Observed(Observed::Job(view), memo)
        }
        read::Got::Observed(observed, _) => Got::Observed(observed, memo),
        read::Got::Unchanged => {
            memo.polls_since_tasks += 1;
            match (&memo.view, item.observed) {
                // Confirms what status showed (after a restart).
                (Some(view), false) => Got::Observed(Observed::Job(view.clone()), memo),
                _ => Got::Unchanged(memo),
            }
        }
        read::Got::Nothing => Got::Nothing,
    }
}

#[cfg(test)]
mod tests;
