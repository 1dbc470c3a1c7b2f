//! The DTS informer: for each account and region, rounds read up to 30 tasks at once with one
//! DescribeDtsJobs (its items carry status, stage progress, precheck items and `Delay`), and
//! read one task's detail only when the list does not show it or a field lives only there (the
//! item-by-item precheck report, once per failed precheck). Legacy migration jobs are read one
//! by one. A lag sample comes only from an answer with a delay, stamped with that answer's
//! arrival on the operator's clock.

mod read;

use super::Account;
use super::poller::{self, Item, Poller, Round};
use crate::aliyun::dts::PrecheckItem;
use crate::aliyun::{DtsClient, Error, Pacing, Priority};
use crate::api::dts_migration::{DtsMigration, SchemaChangesStatus};
use crate::controllers::dts_migration::decide::Observed;

/// Tasks per DescribeDtsJobs (the documented largest page).
pub const BATCH: usize = 30;

/// What to read for a DtsMigration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtsTarget {
    /// The DtsJob generation: the task id and, once bought, the instance id.
    Job {
        job_id: Option<String>,
        instance_id: Option<String>,
        /// Read the DDL statements the incremental stage meets (the spec lists
        /// `ddlOperations`).
        schema_changes: bool,
    },
    /// The legacy generation: the migration job (instance) id.
    Legacy(String),
}

impl DtsTarget {
    fn batched_id(&self) -> Option<&str> {
        match self {
            DtsTarget::Job {
                job_id: Some(id), ..
            } => Some(id),
            _ => None,
        }
    }
}

/// What the informer remembers of a task between rounds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskMemo {
    /// The task state of the last read.
    pub state: Option<String>,
    /// The item-by-item report of the current failed precheck (read once per failure).
    pub precheck_items: Option<Vec<PrecheckItem>>,
    /// The last read of the incremental stage's DDL statements.
    pub schema_changes: Option<SchemaChangesStatus>,
}

/// The DTS [`Poller`].
pub struct Dts {
    /// How often a running incremental stage's DDL statements are read (when the spec scopes
    /// DDL); [`read::SCHEMA_CHANGES_EVERY`] times the poll scale.
    pub schema_changes_every: std::time::Duration,
}

pub use read::SCHEMA_CHANGES_EVERY;

pub type DtsInformer = super::Informer<Dts>;
pub type Track = poller::Track<Dts>;

impl Poller for Dts {
    type Kind = DtsMigration;
    type Client = DtsClient;
    type Target = DtsTarget;
    type Observed = Observed;
    type Memo = TaskMemo;
    type AccountMemo = ();

    const PRODUCT: &'static str = "dts";
    const MAX_BATCH: usize = BATCH;

    fn account(client: &DtsClient) -> Account {
        Account {
            identity: client.credentials().short_id(),
            region: client.region().to_string(),
        }
    }

    fn waiting(client: &DtsClient, priority: Priority) -> DtsClient {
        client.clone().with_pacing(Pacing::Wait(priority))
    }

    /// Tasks with an id share one DescribeDtsJobs; anything else is read alone.
    fn joins(first: &DtsTarget, other: &DtsTarget) -> bool {
        match (first.batched_id(), other.batched_id()) {
            (Some(_), Some(_)) => true,
            _ => first == other,
        }
    }

    async fn read(
        &self,
        client: DtsClient,
        items: Vec<Item<Self>>,
        memo: (),
    ) -> Result<Round<Self>, Error> {
        let round = read::read_batch(&client, &items, self.schema_changes_every).await?;
        Ok(Round {
            got: round.got,
            calls: round.calls,
            memo,
        })
    }

    /// An answer with a delay is a lag sample, news even when the figures repeat; otherwise
    /// only a change is (the arrival time alone is not).
    fn is_news(old: Option<&Observed>, new: &Observed) -> bool {
        match (old, new) {
            (_, Observed::Task(task)) if task.lag_seconds.is_some() => true,
            (Some(Observed::Task(old)), Observed::Task(task)) => {
                let mut same = (**old).clone();
                same.observed_at = task.observed_at;
                same != **task
            }
            (old, new) => old != Some(new),
        }
    }
}

#[cfg(test)]
mod tests;
