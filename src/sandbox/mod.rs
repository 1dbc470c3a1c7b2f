//! `aliyun-migration-operator sandbox`: everything on one machine, for a first look.

/// Command-line options of `aliyun-migration-operator sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Exit 0 once the sample Cutover completes (non-zero if it fails or time runs out).
    #[arg(long)]
    pub until_complete: bool,
}

/// Runs the sandbox.
pub async fn run(_args: SandboxArgs) -> anyhow::Result<()> {
    anyhow::bail!("the sandbox is not yet available")
}
