//! DataSource decisions: a pure function of (spec, previous status, what the service showed,
//! now).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{Desired, READY, Status};
use crate::api::data_source::{
    CatalogueCounts, DataSourcePhase, DataSourceSpec, DataSourceStatus, ScanStatus, SourceType,
};
use crate::controllers::poll::{elapsed, remaining};

pub const RESOLVED: &str = "Resolved";
pub const SCANNED: &str = "Scanned";

/// How often a settled DataSource is re-read from the service.
pub const DRIFT_INTERVAL: Duration = Duration::from_secs(600);
/// How often a running scan is polled: 10 s, short next to the one to three minutes a scan
/// takes.
pub const SCAN_POLL: Duration = Duration::from_secs(10);
/// How often a name that did not resolve is looked up again.
pub const RESOLVE_RETRY: Duration = Duration::from_secs(60);
/// At most this many database names go into status.
pub const MAX_DATABASES: usize = 50;

/// A data source as listed by the service (name lookups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    pub type_: String,
}

/// Outcome of resolving a name. MMS filters names by substring (`LIKE`), so a lookup may list
/// several data sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Resolved(Candidate),
    NotFound,
    /// Several exact matches, or only partial ones: nothing is guessed.
    Ambiguous(Vec<Candidate>),
}

/// Exactly one exact match is used; an empty result is NotFound; anything else is ambiguous.
pub fn resolve_by_name(name: &str, candidates: &[Candidate]) -> Resolution {
    let exact: Vec<&Candidate> = candidates.iter().filter(|c| c.name == name).collect();
    match (exact.as_slice(), candidates.is_empty()) {
        ([one], _) => Resolution::Resolved((*one).clone()),
        (_, true) => Resolution::NotFound,
        _ => Resolution::Ambiguous(candidates.to_vec()),
    }
}

/// The data source as `GetMmsDataSource` shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceView {
    pub id: i64,
    pub name: String,
    pub type_: String,
    pub status: String,
    pub err_msg: Option<String>,
    pub agent_online: Option<bool>,
    pub dst_project: Option<String>,
    pub counts: CatalogueCounts,
}

/// A metadata scan as `GetMmsFetchMetadataJob` shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanView {
    pub id: i64,
    pub status: String,
    /// 0–100.
    pub percent: Option<f64>,
    pub databases: Option<i64>,
    pub tables: Option<i64>,
    pub partitions: Option<i64>,
    pub error: Option<String>,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
}

impl ScanView {
    /// The scan status enum is not documented (SCAN_DOING seen; DONE/FAILED in list views):
    /// anything that reads as done, failed or finished ends the scan.
    pub fn finished(&self) -> bool {
        self.failed() || {
            let s = self.status.to_ascii_uppercase();
            s.ends_with("DONE") || s.ends_with("SUCCESS") || s.ends_with("FINISHED")
        }
    }

    pub fn failed(&self) -> bool {
        let s = self.status.to_ascii_uppercase();
        s.ends_with("FAILED") || s.ends_with("FAIL") || s.ends_with("ERROR")
    }
}

/// What the service showed this time.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    Found(SourceView),
    /// The id (spec or resolved) does not exist.
    IdNotFound(i64),
    NameNotFound,
    Ambiguous(Vec<Candidate>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub lookup: Lookup,
    /// The scan recorded in status, re-read.
    pub scan: Option<ScanView>,
    /// Database names (first page) and the total.
    pub databases: Option<(Vec<String>, i64)>,
}

/// Why a scan starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanTrigger {
    OnCreate,
    Requested,
    Interval,
}

impl ScanTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanTrigger::OnCreate => "OnCreate",
            ScanTrigger::Requested => "Requested",
            ScanTrigger::Interval => "Interval",
        }
    }
}

/// The one action a reconcile may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    StartScan {
        source_id: i64,
        trigger: ScanTrigger,
        requested_at: Option<String>,
    },
}

pub type Decision = crate::controllers::decision::Decision<DataSourceStatus, Act>;
type Outcome = crate::controllers::decision::Outcome<DataSourcePhase, Act>;

/// How long until the service must be read again (zero: now); `scale` is the operator's poll
/// scale.
pub fn until_poll(
    spec: &DataSourceSpec,
    status: &DataSourceStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
    scale: f64,
) -> Duration {
    if status.observed_generation != generation || scan_request_pending(spec, status) {
        return Duration::ZERO;
    }
    let interval = if status.last_scan.as_ref().is_some_and(|s| !s.finished) {
        SCAN_POLL
    } else {
        DRIFT_INTERVAL.min(next_interval_scan_in(spec, status, now).unwrap_or(DRIFT_INTERVAL))
    };
    remaining(status.last_polled_at.as_ref(), interval, now, scale)
}

fn scan_request_pending(spec: &DataSourceSpec, status: &DataSourceStatus) -> bool {
    let requested = spec.scan.as_ref().and_then(|s| s.requested_at.as_ref());
    requested.is_some()
        && requested
            != status
                .last_scan
                .as_ref()
                .and_then(|s| s.requested_at.as_ref())
}

/// Time until the interval scan is due (None without an interval or a finished scan).
fn next_interval_scan_in(
    spec: &DataSourceSpec,
    status: &DataSourceStatus,
    now: jiff::Timestamp,
) -> Option<Duration> {
    let interval = Duration::from_secs(spec.scan.as_ref()?.interval_seconds?.max(300) as u64);
    let last = status.last_scan.as_ref()?;
    let finished = last.finished_at.as_ref()?.0;
    Some(interval.saturating_sub(elapsed(finished, now)))
}

/// Which scan, if any, should start now.
pub fn scan_to_start(
    spec: &DataSourceSpec,
    status: &DataSourceStatus,
    now: jiff::Timestamp,
) -> Option<(ScanTrigger, Option<String>)> {
    let scan = spec.scan.as_ref()?;
    if status.last_scan.as_ref().is_some_and(|s| !s.finished) {
        return None;
    }
    if scan_request_pending(spec, status) {
        return Some((ScanTrigger::Requested, scan.requested_at.clone()));
    }
    if scan.on_create && status.last_scan.is_none() {
        return Some((ScanTrigger::OnCreate, None));
    }
    if next_interval_scan_in(spec, status, now) == Some(Duration::ZERO) {
        return Some((ScanTrigger::Interval, None));
    }
    None
}

/// Derives the next status and the action from what was observed.
pub fn decide(
    spec: &DataSourceSpec,
    prev: &DataSourceStatus,
    generation: Option<i64>,
    observed: &Observed,
    now: jiff::Timestamp,
) -> Decision {
    derive(spec, prev, generation, observed, now)
        .keeping_stamp(prev, |s| &mut s.last_polled_at)
        .checked("DataSource")
}

fn derive(
    spec: &DataSourceSpec,
    prev: &DataSourceStatus,
    generation: Option<i64>,
    observed: &Observed,
    now: jiff::Timestamp,
) -> Decision {
    let mut status = DataSourceStatus {
        observed_generation: generation,
        last_polled_at: Some(Time(now)),
        last_handled_reconcile_at: prev.last_handled_reconcile_at.clone(),
        last_scan: prev.last_scan.clone(),
        databases: prev.databases.clone(),
        databases_total: prev.databases_total,
        ..DataSourceStatus::default()
    };
    let source = match &observed.lookup {
        Lookup::Found(view) => view,
        Lookup::IdNotFound(id) => {
            let reason = format!(
                "MMS data source {id} does not exist in {}: check spec.sourceId, or create the data source in the MaxCompute console",
                spec.region
            );
            return unresolved(DataSourcePhase::NotFound, "NotFound", reason).into_decision(
                without_scan(status),
                &prev.conditions,
                generation,
                now,
            );
        }
        Lookup::NameNotFound => {
            let name = spec.name.as_deref().unwrap_or_default();
            let reason = format!(
                "no MMS data source named {name:?} in {}: create it in the MaxCompute console (https://maxcompute.console.aliyun.com/{}/mma/datasource) or fix spec.name",
                spec.region, spec.region
            );
            return unresolved(DataSourcePhase::NotFound, "NotFound", reason).into_decision(
                without_scan(status),
                &prev.conditions,
                generation,
                now,
            );
        }
        Lookup::Ambiguous(candidates) => {
            let list = candidates
                .iter()
                .map(|c| format!("{} (id {}, {})", c.name, c.id, c.type_))
                .collect::<Vec<_>>()
                .join(", ");
            let name = spec.name.as_deref().unwrap_or_default();
            let reason = format!(
                "{name:?} does not name exactly one data source; candidates: {list}. Set spec.sourceId to the one to adopt"
            );
            return unresolved(DataSourcePhase::Ambiguous, "Ambiguous", reason).into_decision(
                without_scan(status),
                &prev.conditions,
                generation,
                now,
            );
        }
    };

    status.source_id = Some(source.id);
    status.source_name = Some(source.name.clone());
    status.r#type = Some(source.type_.clone());
    status.source_status = Some(source.status.clone());
    status.agent_online = source.agent_online;
    status.dst_project = source.dst_project.clone();
    status.counts = Some(source.counts.clone());

    if let Some(scan) = &observed.scan {
        status.last_scan = Some(merge_scan(prev.last_scan.as_ref(), scan, now));
    }
    if let Some((names, total)) = &observed.databases {
        status.databases = names.iter().take(MAX_DATABASES).cloned().collect();
        status.databases_total = Some(*total);
    }

    let mut act = None;
    if let Some((trigger, requested_at)) = scan_to_start(spec, &status, now) {
        act = Some(Act::StartScan {
            source_id: source.id,
            trigger,
            requested_at,
        });
    }

    let resolved = Desired::true_(
        RESOLVED,
        "Resolved",
        format!("adopted MMS data source {} ({})", source.id, source.name),
    );
    let scanned = scanned_condition(status.last_scan.as_ref(), act.is_some());
    let (phase, ready) = readiness(spec, source, status.last_scan.as_ref(), act.as_ref());
    let requeue = if act.is_some() || status.last_scan.as_ref().is_some_and(|s| !s.finished) {
        SCAN_POLL
    } else {
        DRIFT_INTERVAL.min(next_interval_scan_in(spec, &status, now).unwrap_or(DRIFT_INTERVAL))
    };
    Outcome {
        phase,
        ready,
        conditions: vec![resolved, scanned],
        act,
        requeue: Some(requeue),
    }
    .into_decision(status, &prev.conditions, generation, now)
}

/// The data source could not be resolved: nothing to scan, and its previous scan and
/// databases are no longer this resource's.
fn unresolved(phase: DataSourcePhase, reason: &str, message: String) -> Outcome {
    Outcome {
        phase,
        ready: Desired::false_(READY, reason, message.clone()),
        conditions: vec![Desired::false_(RESOLVED, reason, message)],
        act: None,
        requeue: Some(RESOLVE_RETRY),
    }
}

fn without_scan(status: DataSourceStatus) -> DataSourceStatus {
    DataSourceStatus {
        last_scan: None,
        databases: Vec::new(),
        databases_total: None,
        ..status
    }
}

fn merge_scan(prev: Option<&ScanStatus>, view: &ScanView, now: jiff::Timestamp) -> ScanStatus {
    let same = prev.filter(|p| p.id == view.id);
    let finished = view.finished();
    ScanStatus {
        id: view.id,
        status: view.status.clone(),
        finished,
        failed: view.failed(),
        percent: view.percent,
        started_at: view
            .started_at
            .map(Time)
            .or_else(|| same.and_then(|p| p.started_at.clone())),
        finished_at: if finished {
            view.finished_at
                .map(Time)
                .or_else(|| same.and_then(|p| p.finished_at.clone()))
                .or(Some(Time(now)))
        } else {
            None
        },
        trigger: same.and_then(|p| p.trigger.clone()),
        requested_at: same.and_then(|p| p.requested_at.clone()),
        databases: view.databases,
        tables: view.tables,
        partitions: view.partitions,
        error: view.error.clone(),
    }
}

fn scanned_condition(scan: Option<&ScanStatus>, starting: bool) -> Desired {
    match scan {
        _ if starting => Desired::unknown(SCANNED, "Scanning", "a metadata scan is starting"),
        None => Desired::unknown(
            SCANNED,
            "NeverScanned",
            "no metadata scan was run by the operator",
        ),
        Some(s) if !s.finished => Desired::unknown(
            SCANNED,
            "Scanning",
            format!(
                "metadata scan {} is running ({:.0}%)",
                s.id,
                s.percent.unwrap_or(0.0)
            ),
        ),
        Some(s) if s.failed => Desired::false_(
            SCANNED,
            "ScanFailed",
            format!(
                "metadata scan {} failed: {}; request another with spec.scan.requestedAt",
                s.id,
                s.error.as_deref().unwrap_or("no reason given")
            ),
        ),
        Some(s) => Desired::true_(
            SCANNED,
            "Scanned",
            format!(
                "metadata scan {} found {} databases, {} tables, {} partitions",
                s.id,
                s.databases.unwrap_or(0),
                s.tables.unwrap_or(0),
                s.partitions.unwrap_or(0)
            ),
        ),
    }
}

fn readiness(
    spec: &DataSourceSpec,
    source: &SourceView,
    scan: Option<&ScanStatus>,
    act: Option<&Act>,
) -> (DataSourcePhase, Desired) {
    if let Some(expected) = spec.expected_type
        && !expected.matches(&source.type_)
    {
        return (
            DataSourcePhase::Error,
            Desired::false_(
                READY,
                "TypeMismatch",
                format!(
                    "data source {} is of type {} but spec.expectedType is {}: fix spec.expectedType or adopt another source",
                    source.id,
                    source.type_,
                    expected.as_str()
                ),
            ),
        );
    }
    match source.status.to_ascii_uppercase().as_str() {
        "STARTED" | "" => {}
        "STARTING" | "STOPPING" => {
            return (
                DataSourcePhase::Resolving,
                Desired::false_(
                    READY,
                    "SourceStarting",
                    format!("data source is {}", source.status),
                ),
            );
        }
        other => {
            let why = source
                .err_msg
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return (
                DataSourcePhase::Error,
                Desired::false_(
                    READY,
                    "SourceNotStarted",
                    format!("data source is {other}{why}; start it in the MaxCompute console"),
                ),
            );
        }
    }
    if SourceType::Hive.matches(&source.type_) && source.agent_online == Some(false) {
        return (
            DataSourcePhase::Error,
            Desired::false_(
                READY,
                "AgentOffline",
                "the MMS agent of this Hive data source is offline: migrations cannot run until it reconnects",
            ),
        );
    }
    let first_scan_pending = spec.scan.as_ref().is_some_and(|s| s.on_create)
        && !scan.is_some_and(|s| s.finished && !s.failed);
    let scanning = act.is_some() || scan.is_some_and(|s| !s.finished);
    if first_scan_pending {
        let message = if scanning {
            "waiting for the first metadata scan"
        } else {
            "the first metadata scan failed; request another with spec.scan.requestedAt"
        };
        let reason = if scanning { "Scanning" } else { "ScanFailed" };
        return (
            if scanning {
                DataSourcePhase::Scanning
            } else {
                DataSourcePhase::Error
            },
            Desired::false_(READY, reason, message),
        );
    }
    (
        if scanning {
            DataSourcePhase::Scanning
        } else {
            DataSourcePhase::Ready
        },
        Desired::new(
            READY,
            Status::True,
            "Ready",
            format!(
                "MMS data source {} ({}, {}) is usable",
                source.id, source.name, source.type_
            ),
        ),
    )
}

#[cfg(test)]
mod tests;
