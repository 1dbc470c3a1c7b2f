//! Follows one kind with `kubectl get --watch` (one watch, as the reference harness did, not
//! lists that would load the API server more than the operator does): when each object first
//! had a phase, when it reached a terminal one, and whether its cloud object exists.

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub first_status: Option<Instant>,
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
/// object.
pub fn follow(
    kubeconfig: &std::path::Path,
    ns: &str,
    resource: &str,
    id_path: &str,
    terminal: &'static [&'static str],
) -> Follow {
    let follow = Follow::default();
    let seen = follow.seen.clone();
    let stop = follow.stop.clone();
    let child = follow.child.clone();
    let (kubeconfig, ns, resource) = (
        kubeconfig.to_path_buf(),
        ns.to_string(),
        resource.to_string(),
    );
    let template =
        format!("jsonpath={{.metadata.name}}={{.status.phase}}={{{id_path}}}{{\"\\n\"}}");
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let mut kubectl = Command::new("kubectl")
                .env("KUBECONFIG", &kubeconfig)
                .args(["-n", &ns, "get", &resource, "--watch", "-o", &template])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("kubectl is installed");
            let stdout = kubectl.stdout.take().expect("piped stdout");
            *child.lock().unwrap() = Some(kubectl);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                record(&seen, &line, terminal);
            }
            if let Some(mut done) = child.lock().unwrap().take() {
                let _ = done.wait();
            }
        }
    });
    follow
}

fn record(seen: &Mutex<HashMap<String, Seen>>, line: &str, terminal: &[&str]) {
    let mut parts = line.splitn(3, '=');
    let (Some(name), Some(phase), id) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let now = Instant::now();
    let mut seen = seen.lock().unwrap();
    let s = seen.entry(name.to_string()).or_default();
    if !phase.is_empty() {
        s.first_status.get_or_insert(now);
        s.phase = phase.to_string();
        if terminal.contains(&phase) {
            s.terminal.get_or_insert(now);
        }
    }
    s.in_cloud |= id.is_some_and(|i| !i.is_empty());
}
