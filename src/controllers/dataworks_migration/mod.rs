//! DataWorksMigration controller: export, upload, import, re-import.
//! fetch (DataWorks) → decide (pure, `decide.rs`) → act (send the one finished request,
//! publish one event) → report.

pub mod decide;
mod fetch;
mod package;

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::credentials;
use super::decision;
use super::error::{Error, Result};
use super::managed::{publish, rejected, report};
use super::prelude::{Phases, Prelude, Request, prelude};
use super::runner;
use crate::aliyun::DataWorksClient;
use crate::api::common::FINALIZER;
use crate::api::dataworks_migration::{
    DataWorksMigration, DataWorksMigrationPhase, DataWorksMigrationStatus,
};
use decide::{Act, Answer, Identity, Inputs};

/// Runs the DataWorksMigration controller until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let controller = runner::controller::<DataWorksMigration>(&ctx);
    let controller = runner::watch_secrets(controller, &ctx, secret_names);
    runner::drive(controller, ctx, shutdown, reconcile).await;
}

/// Every Secret a DataWorksMigration reads: API credentials and a package URL.
fn secret_names(m: &DataWorksMigration) -> Vec<String> {
    let mut names = credentials::secret_names(m.spec.credentials.as_ref());
    if let Some(r) = m
        .spec
        .source
        .upload
        .as_ref()
        .and_then(|u| u.url_secret_ref.as_ref())
    {
        names.push(r.name.clone());
    }
    names
}

async fn reconcile(m: Arc<DataWorksMigration>, ctx: Arc<Context>) -> Result<Action> {
    let api: Api<DataWorksMigration> =
        Api::namespaced(ctx.client.clone(), &m.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, m, |event| async {
        match event {
            Finalizer::Apply(m) => apply(m, ctx.clone()).await,
            Finalizer::Cleanup(m) => cleanup(m, ctx.clone()).await,
        }
    })
    .await
    .map_err(super::finalizer_error)
}

fn identity(m: &DataWorksMigration) -> Identity {
    Identity {
        namespace: m.namespace().unwrap_or_default(),
        name: m.name_any(),
        uid: m.meta().uid.clone().unwrap_or_else(|| m.name_any()),
    }
}

async fn client(ctx: &Context, m: &DataWorksMigration) -> Result<DataWorksClient> {
    let ns = m.namespace().unwrap_or_default();
    let creds = credentials::resolve(&ctx.client, &ns, m.spec.credentials.as_ref()).await?;
    Ok(ctx.cloud.dataworks(m.spec.region.clone(), creds))
}

const PHASES: Phases<DataWorksMigrationStatus> = Phases {
    paused: |s| s.phase = Some(DataWorksMigrationPhase::Paused),
    invalid: |s| s.phase = Some(DataWorksMigrationPhase::Invalid),
};

async fn apply(m: Arc<DataWorksMigration>, ctx: Arc<Context>) -> Result<Action> {
    let prev = m.status.clone().unwrap_or_default();
    let generation = m.meta().generation;
    let now = jiff::Timestamp::now();
    let last_handled = prev.last_handled_reconcile_at.as_deref();
    let Request { forced, handled } =
        match prelude(&ctx, m.as_ref(), last_handled, &PHASES, || {}).await? {
            Prelude::Stop(action) => return Ok(action),
            Prelude::Go(request) => request,
        };
    let wait = decide::until_poll(&m.spec, &prev, generation, now, ctx.poll_scale());
    match wait {
        // Terminal: nothing to poll until the object changes.
        None if !forced => return Ok(Action::await_change()),
        Some(w) if !forced && !w.is_zero() => return Ok(ctx.requeue_after(w)),
        _ => {}
    }
    let dw = match client(&ctx, &m).await {
        Ok(c) => c,
        Err(e @ Error::Credentials(_)) => {
            return rejected(&ctx, m.as_ref(), e, |s| {
                s.phase.get_or_insert(DataWorksMigrationPhase::Importing);
            })
            .await;
        }
        Err(e) => return Err(e),
    };
    let identity = identity(&m);
    let observed = fetch::observe(&dw, &prev, &identity).await?;
    let decision = decide::decide(&Inputs {
        spec: &m.spec,
        prev: &prev,
        generation,
        observed: &observed,
        identity: &identity,
        now,
    });
    let mut status = decision.status;
    status.last_handled_reconcile_at = handled;
    if let Some(act) = &decision.act {
        // The intent first (create requested, re-import sent): a restart knows what was sent.
        report(&ctx, m.as_ref(), &status).await?;
        let answer = send(&ctx, &dw, &m, act).await?;
        decide::record(&mut status, act, &answer, jiff::Timestamp::now());
        publish_act(&ctx, &m, act, &answer).await;
    }
    report(&ctx, m.as_ref(), &status).await?;
    Ok(decision::action(&ctx, decision.requeue))
}

/// Sends the decided request. A create the cloud refuses for good is an answer (the spec must
/// change); anything else that fails is the reconcile's error (retried with backoff).
async fn send(
    ctx: &Context,
    dw: &DataWorksClient,
    m: &DataWorksMigration,
    act: &Act,
) -> Result<Answer> {
    let refused = |e: crate::aliyun::Error| -> Result<Answer> {
        if e.is_terminal() {
            Ok(Answer::CreateRefused(e.to_string()))
        } else {
            Err(e.into())
        }
    };
    match act {
        Act::CreateExport(req) => match dw.create_export_migration(req).await {
            Ok(id) => Ok(Answer::Created(id)),
            Err(e) => refused(e),
        },
        Act::CreateImport(req) => match dw.create_import_migration(req).await {
            Ok(id) => Ok(Answer::Created(id)),
            Err(e) => refused(e),
        },
        Act::StartExport {
            project_id,
            migration_id,
        }
        | Act::StartImport {
            project_id,
            migration_id,
            ..
        } => match dw.start_migration(*project_id, *migration_id).await {
            Ok(true) => Ok(Answer::Started),
            Ok(false) => Ok(Answer::StartRefused(
                "StartMigration answered Data: false".into(),
            )),
            Err(e) if !e.is_retryable() => Ok(Answer::StartRefused(e.to_string())),
            Err(e) => Err(e.into()),
        },
        Act::Upload(origin) => {
            let bytes = package::read(ctx, dw, m, origin).await?;
            let grant = dw.authorize_file_upload().await?;
            let package_file = dw.upload_package(&grant, &bytes).await?;
            Ok(Answer::Uploaded {
                package_file,
                bytes: bytes.len() as i64,
            })
        }
    }
}

/// One event per action (phase changes get theirs from `report`). Never a URL's query.
async fn publish_act(ctx: &Context, m: &DataWorksMigration, act: &Act, answer: &Answer) {
    let (kind, reason, note) = match (act, answer) {
        (Act::CreateExport(r), Answer::Created(id)) => (
            EventType::Normal,
            "ExportCreated",
            format!(
                "created export task {id} ({}) in workspace {}",
                r.name, r.project_id
            ),
        ),
        (Act::CreateImport(r), Answer::Created(id)) => (
            EventType::Normal,
            "ImportCreated",
            format!(
                "created import task {id} ({}) in workspace {}",
                r.name, r.project_id
            ),
        ),
        (Act::StartExport { migration_id, .. }, Answer::Started) => (
            EventType::Normal,
            "ExportStarted",
            format!("started export task {migration_id}"),
        ),
        (
            Act::StartImport {
                migration_id,
                reimport: false,
                ..
            },
            Answer::Started,
        ) => (
            EventType::Normal,
            "ImportStarted",
            format!("started import task {migration_id}"),
        ),
        (
            Act::StartImport {
                migration_id,
                reimport: true,
                ..
            },
            Answer::Started,
        ) => (
            EventType::Normal,
            "Reimporting",
            format!("re-import of task {migration_id} requested (StartMigration)"),
        ),
        (_, Answer::StartRefused(why)) => (
            EventType::Warning,
            "StartRefused",
            format!("StartMigration did not start the task: {why}"),
        ),
        (_, Answer::CreateRefused(why)) => (
            EventType::Warning,
            "CreateRefused",
            format!("DataWorks refused to create the task: {why}"),
        ),
        (
            Act::Upload(_),
            Answer::Uploaded {
                package_file,
                bytes,
            },
        ) => (
            EventType::Normal,
            "Uploaded",
            format!("uploaded the package ({bytes} bytes) to {package_file}"),
        ),
        _ => return,
    };
    publish(ctx, m, kind, reason, &note).await;
}

/// Deletion: the DataWorks API cannot delete migration tasks (console-only), so they stay.
async fn cleanup(m: Arc<DataWorksMigration>, ctx: Arc<Context>) -> Result<Action> {
    ctx.metrics.forget(
        "DataWorksMigration",
        &m.namespace().unwrap_or_default(),
        &m.name_any(),
    );
    let status: DataWorksMigrationStatus = m.status.clone().unwrap_or_default();
    if status.export.is_some() || status.import.is_some() {
        publish(
            &ctx,
            m.as_ref(),
            EventType::Normal,
            "Retained",
            "the DataWorks migration tasks stay: the API has no delete operation (deleting is console-only)",
        )
        .await;
    }
    Ok(Action::await_change())
}
