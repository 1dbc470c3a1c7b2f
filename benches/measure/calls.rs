//! The simulator's request log, streamed: every cloud call the operator made, when, and whether
//! it was throttled.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aliyun_migration_operator::sim::AdminClient;

/// One request as the simulator logged it.
#[derive(Clone, Debug)]
pub struct Call {
    /// Real time received, Unix milliseconds.
    pub at_ms: i64,
    pub product: String,
    pub action: String,
    pub throttled: bool,
}

/// Calls seen so far (read by the benchmark while the stream runs).
#[derive(Clone)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<Call>>>,
    stop: Arc<AtomicBool>,
}

impl CallLog {
    /// Polls `/_sim/requests?since=N` every half second (the log keeps the last 10,000).
    pub fn start(admin: AdminClient) -> Self {
        let log = Self {
            calls: Arc::default(),
            stop: Arc::default(),
        };
        let (calls, stop) = (log.calls.clone(), log.stop.clone());
        std::thread::spawn(move || {
            let mut since = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(records) = crate::support::block_on(admin.requests(since)) {
                    let mut calls = calls.lock().unwrap();
                    for r in records {
                        since = since.max(r.seq);
                        let at_ms = r
                            .time
                            .parse::<jiff::Timestamp>()
                            .map(|t| t.as_millisecond())
                            .unwrap_or_default();
                        calls.push(Call {
                            at_ms,
                            product: r.product.unwrap_or_default(),
                            action: r.action.unwrap_or_default(),
                            throttled: r.code.is_some_and(|c| c.starts_with("Throttling")),
                        });
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        log
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Calls received in `[from, to)` (Unix milliseconds).
    pub fn between(&self, from: i64, to: i64) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.at_ms >= from && c.at_ms < to)
            .cloned()
            .collect()
    }

    /// Every call so far.
    pub fn all(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

/// Calls per action.
pub fn by_action(calls: &[Call]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for c in calls {
        *out.entry(format!("{}/{}", c.product, c.action))
            .or_default() += 1;
    }
    out
}

/// The most calls matching `pick` in any one-second window (sliding, by arrival).
pub fn peak_per_second(calls: &[Call], pick: impl Fn(&Call) -> bool) -> usize {
    let mut times: Vec<i64> = calls.iter().filter(|c| pick(c)).map(|c| c.at_ms).collect();
    times.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= 1000 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
