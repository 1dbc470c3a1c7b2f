//! The cloud half of the DTS informer: one round over a batch of tasks.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{BATCH, Dts, DtsTarget, TaskMemo};
use crate::aliyun::dts::{
    DescribeDtsJobsRequest, DescribePreCheckStatusRequest, DtsJobRef, DtsJobStatus, DtsJobType,
    SchemaChange, StageState,
};
use crate::aliyun::{DtsClient, Error};
use crate::api::dts_migration::{SchemaChangeItem, SchemaChangesStatus};
use crate::controllers::dts_migration::decide::Observed;
use crate::controllers::dts_migration::observe::task_view;
use crate::controllers::informer::poller::{Got, Item};
use crate::controllers::poll::elapsed;

pub struct Round {
    /// One result per item, in order.
    pub got: Vec<Got<Dts>>,
    pub calls: u32,
}

struct Reader<'a> {
    dts: &'a DtsClient,
    calls: u32,
}

impl Reader<'_> {
    /// The tasks of `ids` from one DescribeDtsJobs, each with the time its answer arrived.
    async fn list(&mut self, ids: &[&str]) -> Result<HashMap<String, DtsJobStatus>, Error> {
        self.calls += 1;
        let page = self
            .dts
            .describe_dts_jobs(&DescribeDtsJobsRequest {
                job_type: Some(DtsJobType::Migration),
                dts_job_id: Some(ids.join(",")),
                page_number: Some(1),
                page_size: Some(BATCH as u32),
                without_db_list: Some(true),
                ..DescribeDtsJobsRequest::default()
            })
            .await?;
        Ok(page
            .items
            .into_iter()
            .filter_map(|s| Some((s.dts_job_id.clone()?, s)))
            .collect())
    }

    /// A task the list did not show (e.g. configured, not bought yet), or a legacy job: its own
    /// read. None: it does not exist (any more); Err: it could not be read.
    async fn one(&mut self, target: &DtsTarget) -> Result<Option<DtsJobStatus>, Error> {
        self.calls += 1;
        let result = match target {
            DtsTarget::Legacy(id) => self.dts.describe_migration_job_status(id).await,
            DtsTarget::Job {
                job_id,
                instance_id,
                ..
            } => {
                let job = DtsJobRef {
                    dts_job_id: job_id.clone(),
                    dts_instance_id: if job_id.is_none() {
                        instance_id.clone()
                    } else {
                        None
                    },
                    synchronization_direction: None,
                };
                self.dts.describe_dts_job_detail(&job).await
            }
        };
        match result {
            Ok(status) => Ok(Some(status)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The item-by-item precheck report (reasons, repair hints) of a failed precheck, read once
    /// per failure.
    async fn precheck(
        &mut self,
        status: &mut DtsJobStatus,
        target: &DtsTarget,
        memo: &mut TaskMemo,
    ) {
        let failed = status
            .state
            .as_ref()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("PrecheckFailed"));
        let job_id = status.dts_job_id.clone().or_else(|| match target {
            DtsTarget::Job { job_id, .. } => job_id.clone(),
            DtsTarget::Legacy(_) => None,
        });
        if !failed || matches!(target, DtsTarget::Legacy(_)) {
            memo.precheck_items = None;
            return;
        }
        let Some(job_id) = job_id else { return };
        if memo.state.as_deref() != Some("PrecheckFailed") || memo.precheck_items.is_none() {
            self.calls += 1;
            if let Ok(report) = self
                .dts
                .describe_pre_check_status(&DescribePreCheckStatusRequest::precheck(job_id))
                .await
                && !report.items.is_empty()
            {
                memo.precheck_items = Some(report.items);
            }
        }
        if let Some(items) = &memo.precheck_items {
            status.precheck.get_or_insert_with(Default::default).items = items.clone();
        }
    }

    /// The DDL statements the incremental stage met, read at most every `every` while it runs
    /// and only when the spec scopes DDL. A failed read keeps the last one, whose `observedAt`
    /// says how old it is.
    async fn schema_changes(
        &mut self,
        status: &DtsJobStatus,
        target: &DtsTarget,
        memo: &mut TaskMemo,
        every: Duration,
    ) {
        let DtsTarget::Job {
            job_id: Some(job_id),
            schema_changes: true,
            ..
        } = target
        else {
            memo.schema_changes = None;
            return;
        };
        let incremental = status.data_synchronization.as_ref().is_some_and(|s| {
            s.state
                .as_ref()
                .is_some_and(|st| !matches!(st, StageState::NotStarted | StageState::Finished))
        });
        let due = memo
            .schema_changes
            .as_ref()
            .and_then(|c| c.observed_at.as_ref())
            .is_none_or(|at| elapsed(at.0, jiff::Timestamp::now()) >= every);
        if !incremental || !due {
            return;
        }
        self.calls += 1;
        if let Ok(report) = self
            .dts
            .describe_pre_check_status(&DescribePreCheckStatusRequest::schema_changes(job_id))
            .await
        {
            let arrived = jiff::Timestamp::now();
            memo.schema_changes = Some(schema_changes_status(&report.schema_changes(), arrived));
        }
    }
}

/// How often a running incremental stage's DDL statements are read (unscaled).
pub const SCHEMA_CHANGES_EVERY: Duration = Duration::from_secs(600);

/// At most this many statements in the status.
const SCHEMA_CHANGE_ITEMS: usize = 20;

/// The statements as the status shows them: the failed first, then the latest.
pub fn schema_changes_status(changes: &[SchemaChange], at: jiff::Timestamp) -> SchemaChangesStatus {
    let mut ordered: Vec<&SchemaChange> = changes.iter().filter(|c| c.failed()).collect();
    ordered.extend(changes.iter().rev().filter(|c| !c.failed()));
    SchemaChangesStatus {
        observed_at: Some(Time(at)),
        total: changes.len() as i64,
        failed: changes.iter().filter(|c| c.failed()).count() as i64,
        items: ordered
            .into_iter()
            .take(SCHEMA_CHANGE_ITEMS)
            .map(|c| SchemaChangeItem {
                table: c.table.clone(),
                statement: c.statement.as_ref().map(|s| s.chars().take(256).collect()),
                state: c
                    .state
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                message: c.message.clone(),
            })
            .collect(),
    }
}

/// Reads one batch (the client waits for the budget in turn). The list failing fails the round
/// (nothing is concluded from it); a single read failing leaves only its object without news.
pub async fn read_batch(
    dts: &DtsClient,
    items: &[Item<Dts>],
    schema_changes_every: Duration,
) -> Result<Round, Error> {
    let mut reader = Reader { dts, calls: 0 };
    let ids: Vec<&str> = items.iter().filter_map(|i| i.target.batched_id()).collect();
    let (mut listed, listed_at) = if ids.is_empty() {
        (HashMap::new(), jiff::Timestamp::now())
    } else {
        let listed = reader.list(&ids).await?;
        (listed, jiff::Timestamp::now())
    };
    let mut got = Vec::with_capacity(items.len());
    for item in items {
        let from_list = item.target.batched_id().and_then(|id| listed.remove(id));
        let (status, arrived) = match from_list {
            Some(status) => (Some(status), listed_at),
            None => match reader.one(&item.target).await {
                Ok(status) => (status, jiff::Timestamp::now()),
                Err(_) => {
                    got.push(Got::Nothing);
                    continue;
                }
            },
        };
        let mut memo = item.memo.clone();
        let Some(mut status) = status else {
            got.push(Got::Observed(Observed::Gone, memo));
            continue;
        };
        reader.precheck(&mut status, &item.target, &mut memo).await;
        reader
            .schema_changes(&status, &item.target, &mut memo, schema_changes_every)
            .await;
        memo.state = status.state.as_ref().map(|s| s.as_str().to_string());
        let mut view = task_view(&status, arrived);
        view.schema_changes = memo.schema_changes.clone();
        got.push(Got::Observed(Observed::Task(Box::new(view)), memo));
    }
    Ok(Round {
        got,
        calls: reader.calls,
    })
}
