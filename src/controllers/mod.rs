//! The four reconcilers and the process that runs them.

pub mod cutover;
pub mod data_source;
pub mod dts_migration;
pub mod mms_job;

/// Command-line options of `aliyun-migration-operator run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Send every cloud call (MaxCompute, DTS, STS) to this base URL (e.g. the simulator).
    #[arg(long, env = "AMO_CLOUD_ENDPOINT")]
    pub cloud_endpoint: Option<String>,
}

/// Runs the controllers until SIGTERM/SIGINT.
pub async fn run(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("the controllers are not yet available")
}
