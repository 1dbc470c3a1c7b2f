//! Follows one kind with `kubectl get --watch` (one watch, as the reference harness did, not
//! lists that would load the API server more than the operator does): when each object first
//! had a phase, when it reached a terminal one, and whether its cloud object exists. A watch can
//! miss or mangle a line (kubectl restarted by the API server, a line cut at exit), so only the
//! expected names count, and `resync` reads the whole list once when a wait has gone quiet.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub first_status: Option<Instant>,
    /// Wall clock of the first status, and the object's creationTimestamp (whole seconds).
    pub first_status_at: Option<jiff::Timestamp>,
    pub created: Option<jiff::Timestamp>,
    pub terminal: Option<Instant>,
    /// The status names a cloud id (job id, DTS job id).
    pub in_cloud: bool,
    pub phase: String,
}

/// What the watch saw, per object name.
#[derive(Clone, Default)]
pub struct Follow {
    pub seen: Arc<Mutex<HashMap<String, Seen>>>,
    stop: Arc<AtomicBool>,
    child: Arc<Mutex<Option<Child>>>,
    source: Arc<Source>,
    /// Objects whose terminal phase only a resync showed: the watch missed it.
    pub missed: Arc<AtomicUsize>,
}

/// What is followed, and which names count.
#[derive(Default)]
struct Source {
    kubeconfig: std::path::PathBuf,
    ns: String,
    resource: String,
    /// One object's line: `name=phase=id`.
    line: String,
    terminal: &'static [&'static str],
    names: HashSet<String>,
}

impl Source {
    fn kubectl(&self, watch: bool) -> Command {
        // The watch prints each object by itself; the plain get prints one List.
        let template = if watch {
            format!("jsonpath={}", self.line)
        } else {
            format!("jsonpath={{range .items[*]}}{}{{end}}", self.line)
        };
        let mut kubectl = Command::new("kubectl");
        kubectl
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["-n", &self.ns, "get", &self.resource, "-o", &template])
            .stderr(Stdio::null());
        if watch {
            kubectl.arg("--watch");
        }
        kubectl
    }
}

impl Follow {
    /// Ends the watch.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(child) = self.child.lock().unwrap().as_mut() {
            let _ = child.kill();
        }
    }

    /// Objects with a first status.
    pub fn with_status(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.values().filter(|s| s.first_status.is_some()).count()
    }

    /// Objects in a terminal phase now.
    pub fn terminal(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.values().filter(|s| s.terminal.is_some()).count()
    }

    /// Objects in `phase` now.
    pub fn in_phase(&self, phase: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.values().filter(|s| s.phase == phase).count()
    }

    /// Objects whose cloud object exists, or that are terminal.
    pub fn in_cloud_or_done(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.values()
            .filter(|s| s.in_cloud || s.terminal.is_some())
            .count()
    }

    /// The latest of the per-object instants `pick` returns (None while one is missing).
    pub fn last(&self, n: usize, pick: impl Fn(&Seen) -> Option<Instant>) -> Option<Instant> {
        let seen = self.seen.lock().unwrap();
        if seen.len() < n {
            return None;
        }
        seen.values()
            .map(&pick)
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    /// Reads the whole list once and records it; returns how many objects it found terminal that
    /// the watch had not (also counted in `missed`).
    pub fn resync(&self) -> usize {
        let Ok(out) = self.source.kubectl(false).output() else {
            return 0;
        };
        let before = self.terminal();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            record(&self.seen, line, &self.source);
        }
        let found = self.terminal() - before;
        self.missed.fetch_add(found, Ordering::Relaxed);
        found
    }

    /// Per object, seconds from its creationTimestamp to its first status (to the second).
    pub fn first_status_latencies(&self) -> Vec<f64> {
        let seen = self.seen.lock().unwrap();
        seen.values()
            .filter_map(|s| {
                (s.first_status_at? - s.created?)
                    .total(jiff::Unit::Second)
                    .ok()
            })
            .collect()
    }

    /// Phases and how many objects are in each.
    pub fn phases(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for s in self.seen.lock().unwrap().values() {
            *out.entry(s.phase.clone()).or_default() += 1;
        }
        out
    }
}

/// Follows `kubectl -n ns get <resource> --watch`, started again whenever the API server ends
/// the watch; `id_path` is the status field naming the cloud object; phases in `terminal` end an
/// object; lines for other names than `names` are ignored.
pub fn follow(
    kubeconfig: &std::path::Path,
    ns: &str,
    resource: &str,
    id_path: &str,
    terminal: &'static [&'static str],
    names: impl IntoIterator<Item = String>,
) -> Follow {
    let source = Arc::new(Source {
        kubeconfig: kubeconfig.to_path_buf(),
        ns: ns.to_string(),
        resource: resource.to_string(),
        line: format!(
            "{{.metadata.name}}={{.status.phase}}={{.metadata.creationTimestamp}}={{{id_path}}}{{\"\\n\"}}"
        ),
        terminal,
        names: names.into_iter().collect(),
    });
    let follow = Follow {
        source: source.clone(),
        ..Follow::default()
    };
    let seen = follow.seen.clone();
    let stop = follow.stop.clone();
    let child = follow.child.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let mut kubectl = source
                .kubectl(true)
                .stdout(Stdio::piped())
                .spawn()
                .expect("kubectl is installed");
            let stdout = kubectl.stdout.take().expect("piped stdout");
            *child.lock().unwrap() = Some(kubectl);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                record(&seen, &line, &source);
            }
            if let Some(mut done) = child.lock().unwrap().take() {
                let _ = done.wait();
            }
        }
    });
    follow
}

fn record(seen: &Mutex<HashMap<String, Seen>>, line: &str, source: &Source) {
    let mut parts = line.splitn(4, '=');
    let (Some(name), Some(phase), created, id) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    if !source.names.contains(name) {
        return;
    }
    let now = Instant::now();
    let mut seen = seen.lock().unwrap();
    let s = seen.entry(name.to_string()).or_default();
    if !phase.is_empty() {
        s.first_status.get_or_insert(now);
        s.first_status_at.get_or_insert_with(jiff::Timestamp::now);
        s.phase = phase.to_string();
        if source.terminal.contains(&phase) {
            s.terminal.get_or_insert(now);
        }
    }
    s.in_cloud |= id.is_some_and(|i| !i.is_empty());
    if s.created.is_none() {
        s.created = created.and_then(|c| c.parse().ok());
    }
}
