//! A local simulator of the MaxCompute MMS (ROA) and DTS (RPC) APIs, for tests and the sandbox.

/// Command-line options of `aliyun-migration-operator sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:18080")]
    pub listen: std::net::SocketAddr,
}

/// Runs the simulator until interrupted.
pub async fn run(_args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not yet available")
}
