//! DataSource controller: adopt an MMS data source, check it, scan its metadata.
//! fetch (MMS) → decide (pure, `decide.rs`) → act (start a scan) → report (status).

pub mod decide;

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::credentials;
use super::decision;
use super::error::{Error, Result};
use super::managed::{publish, rejected, report};
use super::prelude::{Phases, Prelude, Request, prelude};
use super::runner;
use crate::aliyun::mms::{
    FetchMetadataRequest, ListDataSourcesRequest, ListDbsRequest, MmsDataSource,
};
use crate::aliyun::{MmsClient, Pacing, Priority};
use crate::api::data_source::{
    CatalogueCounts, DataSource, DataSourcePhase, DataSourceStatus, ScanStatus,
};
use decide::{Act, Candidate, Lookup, Observed, ScanView, SourceView};

/// Runs the DataSource controller until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let controller = runner::controller::<DataSource>(&ctx);
    let controller = runner::watch_secrets(controller, &ctx, |ds| {
        credentials::secret_names(ds.spec.credentials.as_ref())
    });
    runner::drive(controller, ctx, shutdown, reconcile).await;
}

const PHASES: Phases<DataSourceStatus> = Phases {
    paused: |s| s.phase = Some(DataSourcePhase::Paused),
    invalid: |s| s.phase = Some(DataSourcePhase::Error),
};

async fn reconcile(ds: Arc<DataSource>, ctx: Arc<Context>) -> Result<Action> {
    let prev = ds.status.clone().unwrap_or_default();
    let generation = ds.meta().generation;
    let now = jiff::Timestamp::now();
    let last_handled = prev.last_handled_reconcile_at.as_deref();
    let Request { forced, handled } =
        match prelude(&ctx, ds.as_ref(), last_handled, &PHASES, || {}).await? {
            Prelude::Stop(action) => return Ok(action),
            Prelude::Go(request) => request,
        };
    let wait = decide::until_poll(&ds.spec, &prev, generation, now, ctx.poll_scale());
    if !forced && !wait.is_zero() {
        return Ok(ctx.requeue_after(wait));
    }

    let ns = ds.namespace().unwrap_or_default();
    let creds = match credentials::resolve(&ctx.client, &ns, ds.spec.credentials.as_ref()).await {
        Ok(c) => c,
        Err(e @ Error::Credentials(_)) => {
            return rejected(&ctx, ds.as_ref(), e, PHASES.invalid).await;
        }
        Err(e) => return Err(e),
    };
    // A new source is a first observation; later reads are polls. Without a token the
    // reconcile requeues for its turn instead of waiting in a worker.
    let priority = if prev.phase.is_none() {
        Priority::FirstObservation
    } else {
        Priority::Poll
    };
    let mms = ctx
        .cloud
        .mms(ds.spec.region.clone(), creds)
        .with_pacing(Pacing::Requeue {
            ticket: format!("DataSource/{ns}/{}", ds.name_any()).into(),
            priority,
        });
    let observed = fetch(&mms, &ds, &prev).await?;
    let decision = decide::decide(&ds.spec, &prev, generation, &observed, now);
    let mut status = decision.status;
    status.last_handled_reconcile_at = handled;

    if let Some(Act::StartScan {
        source_id,
        trigger,
        requested_at,
    }) = decision.act
    {
        let scan = ds.spec.scan.clone().unwrap_or_default();
        let request = FetchMetadataRequest {
            db_name: scan.db_name.clone(),
            table_names: scan.table_names.clone(),
        };
        let scan_id = mms.create_fetch_metadata_job(source_id, &request).await?;
        status.last_scan = Some(ScanStatus {
            id: scan_id,
            status: "SCAN_DOING".into(),
            finished: false,
            started_at: Some(Time(now)),
            trigger: Some(trigger.as_str().to_string()),
            requested_at,
            ..ScanStatus::default()
        });
        publish(
            &ctx,
            ds.as_ref(),
            EventType::Normal,
            "ScanStarted",
            &format!("metadata scan {scan_id} started ({})", trigger.as_str()),
        )
        .await;
    }
    report(&ctx, ds.as_ref(), &status).await?;
    Ok(decision::action(&ctx, decision.requeue))
}

/// Reads the data source, the scan recorded in status, and the database list.
async fn fetch(mms: &MmsClient, ds: &DataSource, prev: &DataSourceStatus) -> Result<Observed> {
    let id = ds.spec.source_id.or(prev.source_id);
    let lookup = match id {
        Some(id) => match mms.get_data_source(id, false).await {
            Ok(source) => Lookup::Found(view(&source)),
            Err(e) if e.is_not_found() => Lookup::IdNotFound(id),
            Err(e) => return Err(e.into()),
        },
        None => {
            let name = ds.spec.name.clone().unwrap_or_default();
            let filter = ListDataSourcesRequest {
                name: Some(name.clone()),
                region: None,
                ..ListDataSourcesRequest::default()
            };
            let listed = mms.list_all_data_sources(&filter, 100).await?;
            let candidates: Vec<Candidate> = listed
                .items
                .iter()
                .map(|s| Candidate {
                    id: s.id,
                    name: s.name.clone(),
                    type_: s.source_type.clone(),
                })
                .collect();
            match decide::resolve_by_name(&name, &candidates) {
                decide::Resolution::Resolved(c) => {
                    Lookup::Found(view(&mms.get_data_source(c.id, false).await?))
                }
                decide::Resolution::NotFound => Lookup::NameNotFound,
                decide::Resolution::Ambiguous(list) => Lookup::Ambiguous(list),
            }
        }
    };
    let Lookup::Found(source) = &lookup else {
        return Ok(Observed {
            lookup,
            scan: None,
            databases: None,
        });
    };
    let scan = match prev
        .last_scan
        .as_ref()
        .filter(|s| !s.finished && Some(source.id) == prev.source_id)
    {
        Some(s) => match mms.get_fetch_metadata_job(source.id, s.id).await {
            Ok(scan) => {
                let counts = scan.result_counts();
                Some(ScanView {
                    id: scan.id,
                    status: scan
                        .status
                        .as_ref()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    percent: scan.progress_percent(),
                    databases: counts.as_ref().and_then(|c| c.databases),
                    tables: counts.as_ref().and_then(|c| c.tables),
                    partitions: counts.as_ref().and_then(|c| c.partitions),
                    error: scan.error_msg.clone(),
                    started_at: None,
                    finished_at: None,
                })
            }
            Err(e) if e.is_not_found() => Some(ScanView {
                id: s.id,
                status: "FAILED".into(),
                error: Some("the scan no longer exists".into()),
                ..ScanView::default()
            }),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let page = mms
        .list_dbs(
            source.id,
            &ListDbsRequest {
                page_num: Some(1),
                page_size: Some(decide::MAX_DATABASES as u32),
                ..ListDbsRequest::default()
            },
        )
        .await?;
    let databases = Some((
        page.items.iter().map(|d| d.name.clone()).collect(),
        page.total as i64,
    ));
    Ok(Observed {
        lookup,
        scan,
        databases,
    })
}

fn view(source: &MmsDataSource) -> SourceView {
    SourceView {
        id: source.id,
        name: source.name.clone(),
        type_: source.source_type.clone(),
        status: source
            .status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        err_msg: source.err_msg.clone(),
        agent_online: source.agent_is_online,
        dst_project: source.dst_project.clone(),
        counts: CatalogueCounts {
            databases: source.db_num,
            tables: source.table_num,
            partitions: source.partition_num,
            tables_done: source.tables_done_num,
            tables_failed: source.tables_failed_num,
            partitions_done: source.partitions_done_num,
            partitions_failed: source.partitions_failed_num,
        },
    }
}
