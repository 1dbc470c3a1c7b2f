use std::path::PathBuf;

use clap::{Parser, Subcommand};

use aliyun_migration_operator::api;
#[cfg(feature = "sim")]
use aliyun_migration_operator::sim;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (read before `main`, hence a symbol). glibc's malloc kept the high-water
/// mark of a burst for as long as the process lived (74.6 MiB after creating 2,500 objects, with
/// 47 MiB live); here a background thread hands freed pages back within a second or so, and two
/// arenas are plenty for a process that mostly waits on the network.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &u8 =
    &b"background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

/// Kubernetes operator that runs data migrations into Alibaba Cloud MaxCompute.
#[derive(Parser, Debug)]
#[command(name = "aliyun-migration-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controllers against the cluster of the usual kubeconfig resolution.
    Run(aliyun_migration_operator::controllers::RunArgs),
    /// Print every CRD as multi-document YAML (or write one file per kind).
    Crds {
        /// Write `<plural>.yaml` files into this directory instead of printing.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Run the local Alibaba Cloud simulator (MMS and DTS on one port).
    #[cfg(feature = "sim")]
    Sim(sim::SimArgs),
    /// Local API server + simulator + controllers + sample resources, with live progress.
    #[cfg(feature = "sim")]
    Sandbox(aliyun_migration_operator::sandbox::SandboxArgs),
}

fn main() -> anyhow::Result<()> {
    // kube uses rustls with ring and reqwest brings no provider of its own: install one for the
    // whole process before any TLS client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Crds { out_dir } => write_crds(out_dir),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let result = runtime.block_on(async move {
                match command {
                    Command::Run(args) => aliyun_migration_operator::controllers::run(args).await,
                    #[cfg(feature = "sim")]
                    Command::Sim(args) => sim::run(args).await,
                    #[cfg(feature = "sim")]
                    Command::Sandbox(args) => aliyun_migration_operator::sandbox::run(args).await,
                    Command::Crds { .. } => unreachable!("handled above"),
                }
            });
            // Work still parked in the runtime (a DNS lookup, an abandoned call) must not hold
            // the exit: what mattered has finished or been given up above.
            runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            result
        }
    }
}

fn write_crds(out_dir: Option<PathBuf>) -> anyhow::Result<()> {
    match out_dir {
        None => print!("{}", api::all_crds_yaml()),
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            for (file, crd) in api::crds() {
                std::fs::write(dir.join(file), api::crd_yaml(&crd))?;
            }
        }
    }
    Ok(())
}
