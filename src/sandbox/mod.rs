//! `aliyun-migration-operator sandbox`: a local API server, the simulator, the controllers and
//! the sample resources, with live progress, on one machine. The first thing a newcomer runs.

mod cluster;
mod progress;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::api::common::MANAGER;
use crate::api::cutover::{Cutover, CutoverPhase};
use crate::controllers::context::Settings;
use crate::metrics::Metrics;
use crate::sim::{SimConfig, Simulator};

/// Namespace the sample resources go to.
pub const NAMESPACE: &str = "sandbox";

/// The samples shipped in `config/samples/`, applied in order.
const SAMPLES: [(&str, &str); 5] = [
    (
        "01-datasource.yaml",
        include_str!("../../config/samples/01-datasource.yaml"),
    ),
    (
        "02-mmsjob.yaml",
        include_str!("../../config/samples/02-mmsjob.yaml"),
    ),
    (
        "03-dtsmigration.yaml",
        include_str!("../../config/samples/03-dtsmigration.yaml"),
    ),
    (
        "04-dataworksmigration.yaml",
        include_str!("../../config/samples/04-dataworksmigration.yaml"),
    ),
    (
        "05-cutover.yaml",
        include_str!("../../config/samples/05-cutover.yaml"),
    ),
];

/// Command-line options of `aliyun-migration-operator sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Exit 0 once the sample Cutover completes (non-zero if it fails or time runs out).
    #[arg(long)]
    pub until_complete: bool,
    /// Give up after this many seconds (with --until-complete).
    #[arg(long, default_value_t = 900)]
    pub timeout_seconds: u64,
    /// Working directory (cluster data, kubeconfig, operator log); default
    /// `~/.cache/aliyun-migration-operator/sandbox`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs the sandbox until the Cutover completes (with --until-complete) or Ctrl-C.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| cluster::cache_dir().join("sandbox"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let log = dir.join("operator.log");
    init_file_logging(&log)?;
    println!(
        "aliyun-migration-operator sandbox (work dir {})",
        dir.display()
    );

    let cluster = cluster::Cluster::up(&dir).await?;
    let outcome = run_in(&args, &cluster, &log).await;
    println!("stopping the local API server");
    cluster.down().await;
    match outcome {
        Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn run_in(
    args: &SandboxArgs,
    cluster: &cluster::Cluster,
    log: &std::path::Path,
) -> anyhow::Result<()> {
    let client = cluster.client().await?;
    println!("  export KUBECONFIG={}", cluster.kubeconfig.display());
    install_crds(&client).await?;

    let sim = Simulator::start(SimConfig::demo())
        .await
        .context("starting the simulator")?;
    println!(
        "  simulator on {} (MaxCompute MMS, DTS, STS; cloud time x{})",
        sim.base_url(),
        SimConfig::demo().time_scale
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let settings = Settings {
        poll_scale: 0.1,
        namespace: Some(NAMESPACE.to_string()),
        concurrency: 4,
        operator_namespace: NAMESPACE.to_string(),
        ..Settings::default()
    };
    let ctx = crate::controllers::context(
        client.clone(),
        Some(sim.base_url()),
        settings,
        Arc::new(Metrics::new()),
        "sandbox".to_string(),
    )?;
    let controllers = tokio::spawn(crate::controllers::run_embedded(ctx, stop_rx));
    apply_samples(&client).await?;
    println!(
        "  controllers running (log: {}); samples applied to namespace {NAMESPACE}",
        log.display()
    );
    println!("  try: kubectl get migration -n {NAMESPACE}\n");

    let outcome = watch_progress(args, &client).await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), controllers).await;
    sim.shutdown().await;
    outcome
}

/// Logs go to a file so the terminal shows progress only.
fn init_file_logging(path: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,kube_runtime=warn,kube_client=warn")
            }),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}

async fn install_crds(client: &Client) -> anyhow::Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, crd) in crate::api::crds() {
        let name = crd.name_any();
        // What the README tells users to run: `kubectl apply --server-side -f crds/`.
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("installing CRD {name}"))?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for (_, crd) in crate::api::crds() {
        let name = crd.name_any();
        loop {
            let established = api
                .get(&name)
                .await?
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "CRD {name} did not become Established"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// Credentials Secrets pointing at the simulator's documented local account, then the samples
/// (with a shorter stable window so the demo completes in minutes).
async fn apply_samples(client: &Client) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            NAMESPACE,
            &PatchParams::apply(MANAGER),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
            ),
        )
        .await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let account = crate::sim::scenario::DEFAULT_ACCESS_KEY_ID;
    let secret = crate::sim::scenario::DEFAULT_ACCESS_KEY_SECRET;
    for (name, data) in [
        (
            "alibaba-cloud-credentials",
            json!({"accessKeyId": account, "accessKeySecret": secret}),
        ),
        (
            "maxcompute-writer",
            json!({"accessKeyId": account, "accessKeySecret": secret}),
        ),
        (
            "orders-polardb-account",
            json!({"username": "dts_reader", "password": "sandbox-only-password"}),
        ),
    ] {
        secrets
            .patch(
                name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "type": "Opaque",
                    "stringData": data,
                })),
            )
            .await?;
    }
    for (file, text) in SAMPLES {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).with_context(|| format!("parsing {file}"))?;
        for mut doc in docs.into_iter().filter(|d| d.is_object()) {
            if doc["kind"] == "Cutover" {
                demo_cutover(&mut doc["spec"]);
            }
            apply_document(client, doc)
                .await
                .with_context(|| format!("applying {file}"))?;
        }
    }
    Ok(())
}

/// The sample Cutover at demo pace: a shorter stable window and post-switch watch, a backup
/// attested just now (the sample's date is a placeholder), and a drain that accepts the
/// simulator's replication lag, which never goes below its 1.2 s floor.
fn demo_cutover(spec: &mut Value) {
    spec["gates"]["stableForSeconds"] = json!(20);
    let verified = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    spec["gates"]["backup"]["verifiedAt"] = json!(verified);
    spec["drain"]["maxLagSeconds"] = json!(2);
    spec["postSwitch"]["watchSeconds"] = json!(20);
}

async fn apply_document(client: &Client, doc: Value) -> anyhow::Result<()> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = doc["kind"].as_str().unwrap_or_default().to_string();
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, &kind);
    let (resource, _): (ApiResource, _) = kube::discovery::pinned_kind(client, &gvk).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&doc),
    )
    .await?;
    Ok(())
}

async fn watch_progress(args: &SandboxArgs, client: &Client) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout_seconds);
    let cutovers: Api<Cutover> = Api::namespaced(client.clone(), NAMESPACE);
    let mut screen = progress::Screen::new();
    let mut announced = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let table = progress::snapshot(client, NAMESPACE)
            .await
            .unwrap_or_else(|e| format!("(reading status failed: {e})\n"));
        screen.show(started.elapsed(), &table);
        let phase = cutovers
            .get_opt("orders-cutover")
            .await?
            .and_then(|c| c.status)
            .and_then(|s| s.phase);
        match phase {
            Some(CutoverPhase::Completed) if args.until_complete => {
                println!("\nthe cutover completed: the application now points at MaxCompute");
                return Ok(());
            }
            Some(CutoverPhase::Completed) if !announced => {
                announced = true;
                println!("\nthe cutover completed; inspect with kubectl, Ctrl-C stops the sandbox");
            }
            Some(p @ (CutoverPhase::Failed | CutoverPhase::Aborted | CutoverPhase::RolledBack)) => {
                anyhow::bail!(
                    "the sample cutover ended in phase {p:?}; see kubectl describe cutover -n {NAMESPACE}"
                );
            }
            _ => {}
        }
        if args.until_complete && Instant::now() > deadline {
            anyhow::bail!(
                "the cutover did not complete within {}s",
                args.timeout_seconds
            );
        }
        tokio::select! {
            _ = &mut ctrl_c => {
                println!("\ninterrupted");
                return Ok(());
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
