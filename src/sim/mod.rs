//! A local, stateful, fault-injectable simulator of the Alibaba Cloud APIs the operator drives:
//! MaxCompute MMS (ROA, `/api/v1/mms/…`), DTS (RPC, 2020-01-01 and the legacy migration-job
//! actions) and STS (RPC, 2015-04-01), all on one port, with the real wire shapes, signature
//! checks and error bodies. See `src/sim/README.md` for the full description.
//!
//! Default credentials for local use (also printed, without the secret, at start-up):
//! AccessKeyId [`scenario::DEFAULT_ACCESS_KEY_ID`] (`LTAI5tSimulatorLocal0001`), secret
//! [`scenario::DEFAULT_ACCESS_KEY_SECRET`] (`SimLocalSecret0001NotARealKey0`).
//!
//! In-process use:
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use aliyun_migration_operator::sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::demo()).await?;
//! let admin = sim.admin();
//! println!("{} at {}", admin.state().await?["scenario"], sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dataworks;
pub mod dts;
pub mod echo;
pub mod faults;
pub mod ids;
pub mod mms;
pub mod ratelimit;
pub mod reqlog;
pub mod scenario;
pub mod server;
pub mod sts;
pub mod wire;
pub mod world;

use std::io::Write as _;
use std::path::PathBuf;

pub use admin::AdminClient;
pub use config::SimConfig;
pub use server::{SimHandle, Simulator};

/// Command-line options of `aliyun-migration-operator sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on (loopback by default); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:18080")]
    pub listen: std::net::SocketAddr,
    /// Scenario file (YAML); the embedded demo scenario (config/sim/demo.yaml) by default.
    #[arg(long, env = "AMO_SIM_SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Cloud seconds per real second (the scenario's `timeScale`, 60 in the demo, by default;
    /// 1 runs at cloud pace, 0 freezes the clock until `/_sim/clock/advance`).
    #[arg(long, env = "AMO_SIM_TIME_SCALE")]
    pub time_scale: Option<f64>,
    /// Seed of every random choice (ids, fault rates, jitter); the scenario's `seed` by default.
    #[arg(long, env = "AMO_SIM_SEED")]
    pub seed: Option<u64>,
    /// AccessKeyId allowed to sign requests (repeatable, paired in order with --access-key-secret).
    #[arg(long, env = "AMO_SIM_ACCESS_KEY_ID", value_delimiter = ',')]
    pub access_key_id: Vec<String>,
    /// AccessKey secret of the matching --access-key-id.
    #[arg(
        long,
        env = "AMO_SIM_ACCESS_KEY_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub access_key_secret: Vec<String>,
}

/// Runs the simulator until SIGINT or SIGTERM.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let config = SimConfig::from_args(&args)?;
    let handle = Simulator::start(config.clone()).await?;
    // Handlers before the address is printed: whoever reads it may send SIGTERM at once, and
    // before the handler exists that signal kills the process with a failure status.
    let shutdown = shutdown_signal();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "scenario {} at time scale {} (seed {})",
        config.scenario.name.as_deref().unwrap_or("unnamed"),
        config.time_scale,
        config.seed
    )?;
    for account in &config.accounts {
        writeln!(
            out,
            "access key {} (account {}; secret not shown)",
            account.access_key_id, account.account_id
        )?;
    }
    writeln!(out, "listening on {}", handle.base_url())?;
    out.flush()?;
    drop(out);
    shutdown.await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

/// SIGTERM or SIGINT, with both handlers installed when this returns (not at the first poll).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
