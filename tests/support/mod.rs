//! Shared harness of the end-to-end tests: the real local API server (hack/kube-local.sh), the
//! simulator and the operator as processes, `kubectl` as the client.
//!
//! Every process started here dies with the test process (PR_SET_PDEATHSIG) and is killed on
//! drop, so an interrupted run leaves nothing listening.

#![allow(dead_code)]

pub mod cutover;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_aliyun-migration-operator");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The API server the tests talk to.
pub struct Cluster {
    pub kubeconfig: PathBuf,
    /// Same server, authenticated as the operator's ServiceAccount (RBAC applies).
    pub operator_kubeconfig: PathBuf,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The shared cluster: the one `hack/test.sh` started (`AMO_E2E_KUBECONFIG`), or one started
/// for this test binary and stopped by a watchdog when the binary exits.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let kubeconfig = match std::env::var_os("AMO_E2E_KUBECONFIG") {
            Some(path) => PathBuf::from(path),
            None => start_own_cluster(),
        };
        let operator_kubeconfig = kubeconfig.with_file_name("kubeconfig-operator");
        assert!(
            operator_kubeconfig.exists(),
            "{} missing",
            operator_kubeconfig.display()
        );
        let cluster = Cluster {
            kubeconfig,
            operator_kubeconfig,
        };
        install_cluster_prerequisites(&cluster);
        cluster
    })
}

/// A cluster of one test's own (for tests that stop the API server): started on creation,
/// stopped on drop.
pub struct PrivateCluster {
    pub cluster: Cluster,
    pub dir: PathBuf,
    /// API servers this test started again (reaped on drop, after `kube-local.sh down`).
    restarted: std::sync::Mutex<Vec<Child>>,
}

impl PrivateCluster {
    pub fn start() -> Self {
        let dir = kube_local_up("amo-e2e-own-");
        let cluster = Cluster {
            kubeconfig: dir.join("kubeconfig"),
            operator_kubeconfig: dir.join("kubeconfig-operator"),
        };
        install_cluster_prerequisites(&cluster);
        Self {
            cluster,
            dir,
            restarted: std::sync::Mutex::default(),
        }
    }

    /// Kills the API server (etcd keeps the data), waits `outage`, starts it again with the
    /// same flags and port, and returns once it answers `/readyz`.
    pub fn restart_apiserver(&self, outage: Duration) {
        let pid_file = self.dir.join("apiserver.pid");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("apiserver.pid")
            .trim()
            .parse()
            .expect("a pid");
        let args: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
            .expect("the API server runs")
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        // A crash, not a drain: connections are reset, as in an outage.
        // SAFETY: signalling a process this test's cluster started.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        wait_for("the API server to stop", Duration::from_secs(30), || {
            (!Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")))
            .then_some(())
        });
        std::thread::sleep(outage);
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("apiserver.log"))
            .expect("apiserver.log");
        let child = Command::new("setsid")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("restart the API server");
        std::fs::write(&pid_file, format!("{}\n", child.id())).expect("write apiserver.pid");
        self.restarted.lock().unwrap().push(child);
        let k = Kubectl::admin(&self.cluster);
        wait_for(
            "the API server to be ready",
            Duration::from_secs(60),
            || {
                k.run(&["get", "--raw", "/readyz"])
                    .status
                    .success()
                    .then_some(())
            },
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("hack/kube-local.sh"))
            .arg("down")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for mut child in self.restarted.lock().unwrap().drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `hack/kube-local.sh up` in a new temp dir named `prefix…`; returns the dir.
fn kube_local_up(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
        .keep();
    let out = Command::new(repo().join("hack/kube-local.sh"))
        .arg("up")
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("run hack/kube-local.sh");
    assert!(out.status.success(), "hack/kube-local.sh up failed");
    dir
}

fn start_own_cluster() -> PathBuf {
    let dir = kube_local_up("amo-e2e-");
    let script = repo().join("hack/kube-local.sh");
    // Stop the servers when this test process goes away, however it ends.
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; exec {script} down {dir}",
        pid = std::process::id(),
        script = script.display(),
        dir = dir.display()
    );
    // `setsid -f` detaches the watchdog and returns at once.
    let started = Command::new("setsid")
        .args(["-f", "bash", "-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the cluster watchdog");
    assert!(started.success(), "cluster watchdog did not start");
    dir.join("kubeconfig")
}

/// The README's CRD install line, exactly: `kubectl apply --server-side -f crds/`.
pub const CRD_INSTALL: &[&str] = &["apply", "--server-side", "-f", "crds/"];

/// CRDs (the README's way) and the operator's RBAC, applied once per cluster (idempotent).
fn install_cluster_prerequisites(cluster: &Cluster) {
    let k = Kubectl::admin(cluster);
    k.ok_in(&repo(), CRD_INSTALL);
    for crd in [
        "datasources",
        "mmsjobs",
        "dtsmigrations",
        "cutovers",
        "dataworksmigrations",
    ] {
        k.ok(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{crd}.migration.aliyun-operator.dev"),
        ]);
    }
    let rbac = repo().join("config/rbac");
    if rbac.exists() {
        k.ok(&["apply", "-k", &rbac.to_string_lossy()]);
    }
}

/// `kubectl` bound to one kubeconfig (and optionally a namespace).
#[derive(Clone)]
pub struct Kubectl {
    kubeconfig: PathBuf,
    namespace: Option<String>,
}

impl Kubectl {
    pub fn admin(cluster: &Cluster) -> Self {
        Self {
            kubeconfig: cluster.kubeconfig.clone(),
            namespace: None,
        }
    }

    pub fn in_namespace(&self, ns: &str) -> Self {
        Self {
            kubeconfig: self.kubeconfig.clone(),
            namespace: Some(ns.to_string()),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl is installed");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("kubectl finished")
    }

    /// Runs in `dir` (for relative paths such as `crds/`) and asserts success; returns stdout.
    pub fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .command(args)
            .current_dir(dir)
            .output()
            .expect("kubectl ran");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", &self.kubeconfig);
        if let Some(ns) = &self.namespace {
            cmd.args(["-n", ns]);
        }
        cmd.args(args);
        cmd
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl wait --for=condition=<condition>` on `resource`, asserting it comes in time.
    pub fn wait_condition(&self, resource: &str, condition: &str, timeout_secs: u64) {
        self.ok(&[
            "wait",
            &format!("--for=condition={condition}"),
            resource,
            &format!("--timeout={timeout_secs}s"),
        ]);
    }

    /// `kubectl apply -f -` of a YAML/JSON document.
    pub fn apply(&self, manifest: &str) -> String {
        let out = self.run_with_stdin(&["apply", "-f", "-"], Some(manifest));
        assert!(
            out.status.success(),
            "apply failed: {}\n{manifest}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The object as JSON, or None when it does not exist.
    pub fn get_json(&self, resource: &str) -> Option<Value> {
        let out = self.run(&["get", resource, "-o", "json"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }
}

/// A namespace for one test.
pub struct Namespace {
    pub name: String,
    pub kubectl: Kubectl,
}

impl Namespace {
    pub fn create(cluster: &Cluster, prefix: &str) -> Self {
        let name = format!("{prefix}-{}", unique_suffix());
        let admin = Kubectl::admin(cluster);
        admin.ok(&["create", "namespace", &name]);
        Self {
            kubectl: admin.in_namespace(&name),
            name,
        }
    }
}

impl Namespace {
    /// A namespace with exactly this name (tests that need names related to each other).
    pub fn create_named(cluster: &Cluster, name: &str) -> Self {
        let admin = Kubectl::admin(cluster);
        admin.ok(&["create", "namespace", name]);
        Self {
            kubectl: admin.in_namespace(name),
            name: name.to_string(),
        }
    }

    /// A fresh name for [`Namespace::create_named`].
    pub fn fresh_name(prefix: &str) -> String {
        format!("{prefix}-{}", unique_suffix())
    }
}

pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A child process killed on drop and when the test process dies.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub name: String,
}

impl Proc {
    /// Spawns `cmd` with stdout+stderr to a log file.
    pub fn spawn(name: &str, mut cmd: Command) -> Self {
        let log = std::env::temp_dir().join(format!("amo-{name}-{}.log", unique_suffix()));
        let file = std::fs::File::create(&log).expect("log file");
        cmd.stdout(file.try_clone().expect("dup log"))
            .stderr(file)
            .stdin(Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the child when
        // the parent dies.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Self {
            child,
            log,
            name: name.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until a log line contains `needle`; returns that line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log_text().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "{}: no log line with {needle:?} within {timeout:?}:\n{}",
                self.name,
                tail(&self.log_text(), 40)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to our own child by pid.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for exit with a bound; returns the exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `f` until it returns Some, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `f` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Reads a JSON path like `status.phase` out of a value.
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |cur, key| cur.get(key).unwrap_or(&Value::Null))
}

/// The condition of `type_` on an object, if any.
pub fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Reads lines from a child's stdout until one contains `needle` (for "listening on" banners).
pub fn read_banner(child: &mut Child, needle: &str, timeout: Duration) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(&needle) {
                let _ = tx.send(line);
                break;
            }
        }
    });
    rx.recv_timeout(timeout)
        .unwrap_or_else(|_| panic!("no banner line within {timeout:?}"))
}

// ---------- simulator and operator processes ----------

/// A tokio runtime for the async admin client of the simulator.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
    .block_on(f)
}

/// The simulator's documented local account (the planted credential of the tests).
pub const SIM_ACCESS_KEY_ID: &str = "LTAI5tSimulatorLocal0001";
pub const SIM_ACCESS_KEY_SECRET: &str = "SimLocalSecret0001NotARealKey0";

/// `aliyun-migration-operator sim` on a free loopback port.
pub struct Sim {
    pub proc: Proc,
    pub url: String,
    pub admin: aliyun_migration_operator::sim::AdminClient,
}

impl Sim {
    pub fn start(extra: &[&str]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(["sim", "--listen", "127.0.0.1:0"]).args(extra);
        let proc = Proc::spawn("sim", cmd);
        let line = proc.wait_for_log("listening on ", Duration::from_secs(20));
        let url = line
            .split("listening on ")
            .nth(1)
            .expect("url after the banner")
            .trim()
            .to_string();
        let admin = aliyun_migration_operator::sim::AdminClient::new(&url);
        Self { proc, url, admin }
    }
}

/// `aliyun-migration-operator run` scoped to one namespace, as the operator's ServiceAccount.
pub struct Operator {
    pub proc: Proc,
    pub metrics: String,
}

impl Operator {
    pub fn start(cluster: &Cluster, ns: &str, sim: &Sim, extra: &[&str]) -> Self {
        Self::start_logging(
            cluster,
            ns,
            sim,
            extra,
            "info,aliyun_migration_operator=debug,kube_runtime=warn,kube_client=warn",
        )
    }

    /// Like [`Operator::start`] with a `RUST_LOG` filter of the caller's (the benchmark runs with
    /// the production level, not the tests' debug one).
    pub fn start_logging(
        cluster: &Cluster,
        ns: &str,
        sim: &Sim,
        extra: &[&str],
        log: &str,
    ) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.env("KUBECONFIG", &cluster.operator_kubeconfig)
            .env("RUST_LOG", log)
            .args([
                "run",
                "--namespace",
                ns,
                "--cloud-endpoint",
                &sim.url,
                "--metrics-addr",
                "127.0.0.1:0",
                "--shutdown-grace-seconds",
                "5",
            ])
            .args(extra);
        // Against the time-scaled simulator, poll ten times as often unless told otherwise.
        if !extra.contains(&"--poll-scale") {
            cmd.args(["--poll-scale", "0.1"]);
        }
        let proc = Proc::spawn("operator", cmd);
        let line = proc.wait_for_log("serving /metrics", Duration::from_secs(30));
        // Text (`addr=127.0.0.1:P`) or JSON (`"addr":"127.0.0.1:P"`) log lines.
        let addr = line
            .split("addr=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .or_else(|| line.split(r#""addr":""#).nth(1)?.split('"').next())
            .expect("metrics address in the start-up line")
            .to_string();
        Self {
            proc,
            metrics: format!("http://{addr}"),
        }
    }

    pub fn kill9(&mut self) {
        self.proc.kill9();
    }

    pub fn signal(&self, signal: i32) {
        self.proc.signal(signal);
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.proc.wait_exit(timeout)
    }

    /// GET on the operator's HTTP endpoint.
    pub fn http_get(&self, path: &str) -> (u16, String) {
        let (code, _, body) = self.http_get_accept(path, None);
        (code, body)
    }

    /// GET with an optional `Accept` header: status, `Content-Type` and body.
    pub fn http_get_accept(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let url = format!("{}{path}", self.metrics);
        block_on(async {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let mut request = client.get(&url);
            if let Some(accept) = accept {
                request = request.header("Accept", accept);
            }
            match request.send().await {
                Ok(r) => {
                    let code = r.status().as_u16();
                    let content_type = r
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    (code, content_type, r.text().await.unwrap_or_default())
                }
                Err(_) => (0, String::new(), String::new()),
            }
        })
    }
}

/// Waits until the simulator has received `action` (the test slowed it with `slow_next`), then
/// kills the operator with SIGKILL while that call is in flight.
pub fn kill_while_in_flight(op: &mut Operator, sim: &Sim, action: &str) {
    wait_for(
        &format!("{action} received"),
        Duration::from_secs(120),
        || (!block_on(sim.admin.requests_for(action)).unwrap().is_empty()).then_some(()),
    );
    op.kill9();
    std::thread::sleep(Duration::from_secs(3));
}

/// Creates the credentials Secret pointing at the simulator's account.
pub fn cloud_secret(ns: &Namespace) {
    ns.kubectl.ok(&[
        "create",
        "secret",
        "generic",
        "alibaba-cloud-credentials",
        &format!("--from-literal=accessKeyId={SIM_ACCESS_KEY_ID}"),
        &format!("--from-literal=accessKeySecret={SIM_ACCESS_KEY_SECRET}"),
    ]);
}

/// Creates the cloud Secret plus the `polardb` (source) and `maxcompute` (destination) endpoint
/// Secrets a PolarDB → MaxCompute DtsMigration refers to; `db_password` is planted for leak checks.
pub fn dts_secrets(ns: &Namespace, db_password: &str) {
    cloud_secret(ns);
    ns.kubectl.ok(&[
        "create",
        "secret",
        "generic",
        "polardb",
        "--from-literal=username=dts_reader",
        &format!("--from-literal=password={db_password}"),
    ]);
    ns.kubectl.ok(&[
        "create",
        "secret",
        "generic",
        "maxcompute",
        &format!("--from-literal=accessKeyId={SIM_ACCESS_KEY_ID}"),
        &format!("--from-literal=accessKeySecret={SIM_ACCESS_KEY_SECRET}"),
    ]);
}

/// The API version of the operator's kinds.
pub const API_VERSION: &str = "migration.aliyun-operator.dev/v1alpha1";

/// An object of one of the operator's kinds: `kind` named `name` with `spec`.
pub fn object(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// `base` with the members of `extra` added; a member of `extra` replaces the one of `base` of
/// the same name (as a member repeated later in JSON text did). Panics unless both are objects.
pub fn with_members(mut base: Value, extra: Value) -> Value {
    let Value::Object(members) = extra else {
        panic!("with_members: not a JSON object: {extra}");
    };
    base.as_object_mut()
        .unwrap_or_else(|| panic!("with_members: base is not a JSON object"))
        .extend(members);
    base
}

/// Applies a PolarDB (simulator instance) → MaxCompute DtsMigration; the members of `extra` are
/// added to the spec and must name the `objects`.
pub fn apply_dts_migration(ns: &Namespace, name: &str, extra: Value) {
    let spec = json!({
        "region": "cn-hangzhou",
        "source": {"instanceType": "PolarDB", "instanceId": "pc-bp1simdemo0polardb", "database": "shop",
                   "credentialsSecretRef": {"name": "polardb"}},
        "destination": {"instanceType": "MaxCompute", "database": "sales_dw",
                        "credentialsSecretRef": {"name": "maxcompute"}},
        "migrationTypes": ["Schema", "Full", "Incremental"],
    });
    ns.kubectl
        .apply(&object("DtsMigration", name, with_members(spec, extra)).to_string());
}

/// The DTS job id of the DtsMigration `name`, once set.
pub fn dts_job_id(ns: &Namespace, name: &str, timeout: Duration) -> String {
    let m = wait_obj(
        &ns.kubectl,
        &format!("dtsmigration/{name}"),
        "a DTS job id",
        timeout,
        |o| at(o, "status.dtsJobId").is_string(),
    );
    at(&m, "status.dtsJobId").as_str().unwrap().to_string()
}

/// A timestamp field (RFC 3339 text).
pub fn time_of(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

/// Waits until `resource` satisfies `pred`, returning the object.
pub fn wait_obj(
    k: &Kubectl,
    resource: &str,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(obj) = k.get_json(resource) {
            if pred(&obj) {
                return obj;
            }
            last = obj;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {resource}: {what}; last status:\n{}",
                serde_json::to_string_pretty(&last["status"]).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Whether condition `type_` has `status`.
pub fn has_condition(obj: &Value, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == status)
}

/// Asserts none of `secrets` appears in the namespace's custom resources (spec and status),
/// its events, or the given process logs.
/// Asserts that the simulator's request log has `read` among its calls and no call that
/// changes anything (everything but Get* and List*): what ObserveOnly promises.
pub fn assert_only_reads(sim: &Sim, read: &str) {
    let requests = block_on(sim.admin.requests(0)).unwrap();
    let writes: Vec<String> = requests
        .iter()
        .filter_map(|r| r.action.clone())
        .filter(|a| !(a.starts_with("Get") || a.starts_with("List")))
        .collect();
    assert!(
        requests.iter().any(|r| r.action.as_deref() == Some(read)),
        "{read} was not called"
    );
    assert!(writes.is_empty(), "ObserveOnly sent {writes:?}");
}

pub fn assert_no_leak(ns: &Namespace, secrets: &[&str], procs: &[&Proc]) {
    let resources = ns.kubectl.ok(&[
        "get",
        "datasources,mmsjobs,dtsmigrations,cutovers,dataworksmigrations",
        "-o",
        "yaml",
    ]);
    let events = ns
        .kubectl
        .ok(&["get", "events.events.k8s.io", "-o", "yaml"]);
    let core_events = ns.kubectl.ok(&["get", "events", "-o", "yaml"]);
    for secret in secrets {
        assert!(
            !resources.contains(secret),
            "a credential leaked into a resource"
        );
        assert!(
            !events.contains(secret) && !core_events.contains(secret),
            "a credential leaked into an event"
        );
        for p in procs {
            assert!(
                !p.log_text().contains(secret),
                "a credential leaked into the {} log",
                p.name
            );
        }
    }
}

/// Applies a DataSource adopting the simulator's Hive source `hive-prod` (plus the members of
/// `spec_extra`).
pub fn apply_data_source(ns: &Namespace, name: &str, spec_extra: Value) {
    let spec = json!({"region": "cn-hangzhou", "expectedType": "Hive", "scan": {"onCreate": true}});
    ns.kubectl
        .apply(&object("DataSource", name, with_members(spec, spec_extra)).to_string());
}

/// Applies an MmsJob of the `sales` database from the DataSource `hive` (plus the members of
/// `spec_extra`).
pub fn apply_mms_job(ns: &Namespace, name: &str, spec_extra: Value) {
    let spec = json!({"dataSourceRef": {"name": "hive"}, "srcDbName": "sales"});
    ns.kubectl
        .apply(&object("MmsJob", name, with_members(spec, spec_extra)).to_string());
}

/// The DataSource `hive` (MMS source `hive-prod`), Ready.
pub fn ready_hive_source(ns: &Namespace) {
    apply_data_source(ns, "hive", json!({"name": "hive-prod"}));
    ns.kubectl.wait_condition("datasource/hive", "Ready", 120);
}

/// An integer field of an object's status, once set.
pub fn status_i64(ns: &Namespace, resource: &str, field: &str, timeout: Duration) -> i64 {
    let obj = wait_obj(&ns.kubectl, resource, field, timeout, |o| {
        at(o, &format!("status.{field}")).is_i64()
    });
    at(&obj, &format!("status.{field}")).as_i64().unwrap()
}

/// A string field of an object's status, once set.
pub fn status_str(ns: &Namespace, resource: &str, field: &str, timeout: Duration) -> String {
    let obj = wait_obj(&ns.kubectl, resource, field, timeout, |o| {
        at(o, &format!("status.{field}")).is_string()
    });
    at(&obj, &format!("status.{field}"))
        .as_str()
        .unwrap()
        .to_string()
}

/// A secret as it may appear once encoded: raw, URL-encoded (RFC 3986 and form style),
/// base64 (standard and URL-safe) and JSON-escaped.
pub fn secret_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let json = serde_json::to_string(secret).unwrap();
    let mut forms = vec![
        secret.to_string(),
        aliyun_migration_operator::aliyun::signer::percent_encode(secret),
        form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        json.trim_matches('"').to_string(),
    ];
    forms.sort();
    forms.dedup();
    forms
}

/// Where any form of `secrets` occurs: the namespace's custom resources, its events, and the
/// given process logs; one `place: count × form` line per finding.
pub fn leaks(ns: &Namespace, secrets: &[&str], procs: &[&Proc]) -> Vec<String> {
    let mut places = vec![
        (
            "resources".to_string(),
            ns.kubectl.ok(&[
                "get",
                "datasources,mmsjobs,dtsmigrations,cutovers",
                "-o",
                "json",
            ]),
        ),
        (
            "events".to_string(),
            ns.kubectl
                .ok(&["get", "events.events.k8s.io", "-o", "json"]),
        ),
        (
            "core events".to_string(),
            ns.kubectl.ok(&["get", "events", "-o", "json"]),
        ),
    ];
    places.extend(
        procs
            .iter()
            .map(|p| (format!("{} log", p.name), p.log_text())),
    );
    let mut found = Vec::new();
    for secret in secrets {
        for form in secret_forms(secret) {
            for (place, text) in &places {
                let n = text.matches(form.as_str()).count();
                if n > 0 {
                    found.push(format!("{place}: {n} × a form of a planted secret"));
                }
            }
        }
    }
    found
}

/// MmsJobs `gone` (`deletionPolicy: Delete`, table orders) and `kept` (`Retain`, table
/// customers) of the DataSource `hive`.
pub fn apply_gone_and_kept_mms_jobs(ns: &Namespace) {
    apply_mms_job(
        ns,
        "gone",
        json!({"tables": ["orders"], "deletionPolicy": "Delete"}),
    );
    apply_mms_job(
        ns,
        "kept",
        json!({"tables": ["customers"], "deletionPolicy": "Retain"}),
    );
}
