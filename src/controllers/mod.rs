//! The five reconcilers and the process that runs them: leader election, the metrics and health
//! endpoint, and graceful shutdown.

pub mod budget_args;
pub mod cleanup_credentials;
pub mod context;
pub mod credentials;
pub mod cutover;
pub mod data_source;
pub mod dataworks_migration;
pub mod decision;
pub mod dts_migration;
pub mod error;
pub mod events;
pub mod informer;
pub mod leader;
pub mod managed;
pub mod mms_job;
pub mod ownership;
pub mod poll;
pub mod prelude;
pub mod runner;
pub mod unknown_fields;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kube::api::{Api, ListParams};
use kube::{Client, CustomResourceExt};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::aliyun::{Cloud, CloudConfig};
use crate::api::{Cutover, DataSource, DataWorksMigration, DtsMigration, MmsJob};
use crate::metrics::Metrics;
use crate::server::{self, Health};
use crate::telemetry::LogFormat;
use context::{Context, Settings};

/// Command-line options of `aliyun-migration-operator run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Send every cloud call (MaxCompute, DTS, STS) to this base URL (e.g. the simulator).
    #[arg(long, env = "AMO_CLOUD_ENDPOINT")]
    pub cloud_endpoint: Option<String>,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "AMO_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the `/metrics`, `/healthz` and `/readyz` endpoint.
    #[arg(long, env = "AMO_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Run only while holding the Lease (for more than one replica).
    #[arg(long, env = "AMO_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "AMO_LEASE_NAME",
        default_value = "aliyun-migration-operator"
    )]
    pub lease_name: String,
    /// Namespace of the Lease (default: the pod's namespace, else `default`).
    #[arg(long, env = "AMO_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// How long a Lease stays valid without renewal.
    #[arg(long, env = "AMO_LEASE_DURATION_SECONDS", default_value_t = 15)]
    pub lease_duration_seconds: u64,
    /// Reconciles running at once per kind (bounded: an unbounded restart burst opens a
    /// connection per object).
    #[arg(long, env = "AMO_CONCURRENCY", default_value_t = 32)]
    pub concurrency: u16,
    /// Log format.
    #[arg(long, env = "AMO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// On SIGTERM, wait at most this long for in-flight reconciles.
    #[arg(long, env = "AMO_SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
    pub shutdown_grace_seconds: u64,
    /// Multiplies every poll interval (e.g. 0.1 against a time-scaled simulator).
    #[arg(long, env = "AMO_POLL_SCALE", default_value_t = 1.0)]
    pub poll_scale: f64,
    /// The operator's namespace, where it keeps the credentials for deleting cloud objects of
    /// resources with `deletionPolicy: Delete` (default: the pod's namespace, else
    /// `amo-system`).
    #[arg(long, env = "AMO_OPERATOR_NAMESPACE")]
    pub operator_namespace: Option<String>,
    /// Watch credential Secrets (needs RBAC list/watch on Secrets): a fixed or rotated key takes
    /// effect at once. Without it Secrets are read by name only, and a resource stalled on its
    /// credentials checks them again every minute.
    #[arg(long, env = "AMO_WATCH_SECRETS")]
    pub watch_secrets: bool,
    #[command(flatten)]
    pub budget: budget_args::BudgetArgs,
}

/// Runs the controllers until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    crate::telemetry::init(args.log_format);
    let mut config = kube::Config::infer()
        .await
        .context("connecting to the Kubernetes API (in-cluster, KUBECONFIG or ~/.kube/config)")?;
    // kube retries 429/503/504 itself, doubling up to 1,000 s: after an API server outage the
    // watches then came back minutes late. Watches have their own short backoff
    // (`runner::watch_backoff`) and a failed write fails its reconcile, which backs off.
    config.default_retry = false;
    let client = Client::try_from(config).context("building the Kubernetes client")?;
    preflight(&client, args.namespace.as_deref()).await?;

    let identity = std::env::var("POD_NAME")
        .unwrap_or_else(|_| format!("{}-{}", hostname(), std::process::id()));
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopping = stop_rx.clone();
    spawn_signal_handler(stop_tx, health.clone());

    let (addr, server) = server::serve(
        args.metrics_addr,
        metrics.clone(),
        health.clone(),
        stopped(stop_rx.clone()),
    )
    .await
    .with_context(|| format!("binding {}", args.metrics_addr))?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");

    let settings = Settings {
        poll_scale: args.poll_scale,
        namespace: args.namespace.clone(),
        concurrency: args.concurrency.max(1),
        operator_namespace: args
            .operator_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "amo-system".to_string()),
        budget: args.budget.rate_limits(),
        watch_secrets: args.watch_secrets,
    };
    let ctx = context(
        client.clone(),
        args.cloud_endpoint.clone(),
        settings,
        metrics.clone(),
        identity.clone(),
    )?;

    let result = if args.leader_elect {
        leader::run_as_candidate(&args, client, ctx, &identity, health, stop_rx).await
    } else {
        health.set_ready(true);
        metrics.set_leader(&identity, true);
        run_controllers(
            ctx,
            stop_rx,
            Duration::from_secs(args.shutdown_grace_seconds),
        )
        .await;
        Ok(())
    };
    if !*stopping.borrow() {
        // The controllers ended with nobody asking: exit non-zero so Kubernetes restarts the pod
        // rather than keep a healthy-looking process that does nothing.
        result?;
        anyhow::bail!("the controllers stopped without a shutdown request");
    }
    let _ = server.await;
    tracing::info!("stopped");
    result
}

/// Builds what every reconcile shares.
pub fn context(
    client: Client,
    cloud_endpoint: Option<String>,
    settings: Settings,
    metrics: Arc<Metrics>,
    identity: String,
) -> anyhow::Result<Arc<Context>> {
    let cloud = Cloud::new(CloudConfig {
        endpoint_override: cloud_endpoint,
        rate_limits: settings.budget.clone(),
        observer: Some(Arc::new(MetricsObserver(metrics.clone()))),
        ..CloudConfig::default()
    })
    .context("building the cloud client")?;
    let budget = cloud.clone();
    metrics.add_collector(Box::new(move |m| {
        let waiting = budget.budget_waiting();
        m.set_budget_waiting(
            waiting
                .iter()
                .map(|((product, priority), n)| (*product, priority.as_str(), *n)),
        );
    }));
    Ok(Arc::new(Context::new(
        client, cloud, metrics, settings, identity,
    )))
}

/// Runs the five controllers in this process until `stop` (the sandbox uses it).
pub async fn run_embedded(ctx: Arc<Context>, stop: watch::Receiver<bool>) {
    run_controllers(ctx, stop, Duration::from_secs(10)).await;
}

/// Fails early, with the fix, when the CRDs are not installed.
async fn preflight(client: &Client, namespace: Option<&str>) -> anyhow::Result<()> {
    async fn check<K>(client: &Client, namespace: Option<&str>) -> anyhow::Result<()>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + CustomResourceExt
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        api.list(&ListParams::default().limit(1)).await.with_context(|| {
            format!(
                "listing {}: is the CRD installed (kubectl apply -f crds/) and may this identity list it?",
                K::crd_name()
            )
        })?;
        Ok(())
    }
    check::<DataSource>(client, namespace).await?;
    check::<MmsJob>(client, namespace).await?;
    check::<DtsMigration>(client, namespace).await?;
    check::<Cutover>(client, namespace).await?;
    check::<DataWorksMigration>(client, namespace).await
}

/// Runs the five controllers until `stop`, then lets in-flight reconciles finish within `grace`.
async fn run_controllers(ctx: Arc<Context>, stop: watch::Receiver<bool>, grace: Duration) {
    // A JoinSet aborts what it still holds when dropped: aborting this task (lost leadership)
    // or giving up after `grace` ends every controller, not only this one.
    let mut tasks = JoinSet::new();
    ctx.start_informers();
    // However this ends (stop, lost leadership aborting this task), the pollers end with it.
    let _informers = InformersGuard(ctx.clone());
    tasks.spawn(data_source::run(ctx.clone(), stopped(stop.clone())));
    tasks.spawn(mms_job::run(ctx.clone(), stopped(stop.clone())));
    tasks.spawn(dts_migration::run(ctx.clone(), stopped(stop.clone())));
    tasks.spawn(cutover::run(ctx.clone(), stopped(stop.clone())));
    tasks.spawn(dataworks_migration::run(ctx.clone(), stopped(stop.clone())));
    let all = async { while tasks.join_next().await.is_some() {} };
    tokio::pin!(all);
    tokio::select! {
        _ = &mut all => return,
        _ = stopped(stop.clone()) => {}
    }
    // Background reads are not worth waiting for: what they would learn is read again at start.
    ctx.stop_informers();
    tracing::info!(
        ?grace,
        "shutting down: no new reconciles, waiting for in-flight ones"
    );
    // Done when the controllers end, or as soon as no reconcile runs: a controller whose cache
    // never finished its first list waits for it forever, with nothing in flight.
    let drained = async {
        // The stop reaches the controllers' schedulers first: no reconcile starts after this.
        tokio::task::yield_now().await;
        ctx.drained().await;
    };
    tokio::select! {
        _ = &mut all => {}
        _ = drained => tracing::debug!("no reconcile in flight"),
        _ = tokio::time::sleep(grace) => tracing::warn!(
            ?grace,
            "in-flight reconciles did not finish in time; abandoning them"
        ),
    }
}

/// Stops the background pollers when dropped.
struct InformersGuard(Arc<Context>);

impl Drop for InformersGuard {
    fn drop(&mut self) {
        self.0.stop_informers();
    }
}

/// A future that resolves once `rx` says stop.
pub async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

fn spawn_signal_handler(stop: watch::Sender<bool>, health: Arc<Health>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        tracing::info!("signal received: shutting down gracefully (send again to force)");
        health.set_stopping();
        let _ = stop.send(true);
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "operator".to_string())
}

/// Feeds cloud-call outcomes into the Prometheus metrics.
struct MetricsObserver(Arc<Metrics>);

impl crate::aliyun::CallObserver for MetricsObserver {
    fn call_finished(&self, product: &str, action: &str, outcome: &str, latency: Duration) {
        self.0.cloud_call(product, action, outcome, latency);
    }

    fn rate_limited(&self, product: &str, waited: Duration) {
        self.0.rate_limited(product, waited);
    }

    fn queued(&self, product: &str, priority: &str, _wait: Duration) {
        self.0.call_queued(product, priority);
    }
}

/// Unwraps the finalizer helper's error so metrics, events and conditions see our reasons.
pub(crate) fn finalizer_error(e: kube::runtime::finalizer::Error<error::Error>) -> error::Error {
    use kube::runtime::finalizer::Error as F;
    match e {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        F::AddFinalizer(e) | F::RemoveFinalizer(e) => error::Error::Kube(e),
        F::UnnamedObject => error::Error::InvalidSpec("object has no name".into()),
        F::InvalidFinalizer => error::Error::InvalidSpec("invalid finalizer".into()),
    }
}
