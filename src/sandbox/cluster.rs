//! The sandbox's local API server, started with the project's own `hack/kube-local.sh`
//! (embedded, so the sandbox works from any directory).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context as _;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

const SCRIPT: &str = include_str!("../../hack/kube-local.sh");
/// The Go modules the script builds kube-apiserver, kubectl and etcd from, at the paths it
/// expects next to itself.
const BUILD_MODULES: [(&str, &str); 4] = [
    (
        "kube-build/kubernetes/go.mod",
        include_str!("../../hack/kube-build/kubernetes/go.mod"),
    ),
    (
        "kube-build/kubernetes/go.sum",
        include_str!("../../hack/kube-build/kubernetes/go.sum"),
    ),
    (
        "kube-build/etcd/go.mod",
        include_str!("../../hack/kube-build/etcd/go.mod"),
    ),
    (
        "kube-build/etcd/go.sum",
        include_str!("../../hack/kube-build/etcd/go.sum"),
    ),
];

/// `$AMO_CACHE_DIR`, else `~/.cache/aliyun-migration-operator`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("AMO_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp"));
            home.join(".cache").join("aliyun-migration-operator")
        })
}

/// A running etcd + kube-apiserver on loopback.
pub struct Cluster {
    script: PathBuf,
    dir: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    /// Starts a fresh server under `work/cluster` (stopping one a previous sandbox left).
    pub async fn up(work: &Path) -> anyhow::Result<Self> {
        let script = work.join("kube-local.sh");
        std::fs::write(&script, SCRIPT)?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        for (path, text) in BUILD_MODULES {
            let path = work.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)?;
        }
        let dir = work.join("cluster");
        if dir.exists() {
            let _ = run(&script, "down", &dir).await;
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        println!(
            "  starting a local Kubernetes API server (the first run builds kube-apiserver, kubectl and etcd from Go modules: ~6 min)"
        );
        let status = tokio::process::Command::new(&script)
            .arg("up")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .await
            .context("running hack/kube-local.sh")?;
        anyhow::ensure!(
            status.success(),
            "the local API server did not start (see the messages above)"
        );
        Ok(Self {
            kubeconfig: dir.join("kubeconfig"),
            script,
            dir,
        })
    }

    /// A client for the admin kubeconfig.
    pub async fn client(&self) -> anyhow::Result<Client> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(Client::try_from(config)?)
    }

    /// Stops the server; the data directory goes with it.
    pub async fn down(&self) {
        if let Err(e) = run(&self.script, "down", &self.dir).await {
            eprintln!("stopping the local API server failed: {e}");
        }
    }
}

async fn run(script: &Path, verb: &str, dir: &Path) -> anyhow::Result<()> {
    let status = tokio::process::Command::new(script)
        .arg(verb)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await?;
    anyhow::ensure!(status.success(), "kube-local.sh {verb} failed");
    Ok(())
}
