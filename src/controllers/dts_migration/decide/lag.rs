//! Lag samples and the `LagWithinThreshold` condition. A sample is evidence only while it is
//! fresh: once the newest is older than `spec.lagStaleAfterSeconds` the condition is Unknown
//! (`LagStale`), whether DTS answered without a lag or could not be read at all.

use super::{LAG_WITHIN_THRESHOLD, MAX_LAG_SAMPLES, TaskView};
use crate::api::conditions::{self, Desired, READY, Status};
use crate::api::dts_migration::{
    DtsMigrationPhase as Phase, DtsMigrationSpec, DtsMigrationStatus, LagSample,
};
use crate::controllers::poll::elapsed;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Reason of the lag condition (and of Ready) once the newest sample is too old.
pub const LAG_STALE: &str = "LagStale";
/// `status.lag` once the newest sample is too old.
pub const STALE: &str = "stale";

/// Records a lag sample when DTS gave one, stamped when DTS answered.
pub(super) fn record_lag(status: &mut DtsMigrationStatus, task: &TaskView) {
    let Some(lag) = task.lag_seconds else {
        return;
    };
    let at = Time(task.observed_at);
    status.lag_seconds = Some(lag);
    status.lag_observed_at = Some(at.clone());
    status.lag = Some(format_lag(lag));
    status.lag_samples.push(LagSample {
        at,
        seconds: lag,
        checkpoint: task.checkpoint,
    });
    let excess = status.lag_samples.len().saturating_sub(MAX_LAG_SAMPLES);
    status.lag_samples.drain(..excess);
}

/// `3s`, `1m05s`, `0.4s`.
pub fn format_lag(seconds: f64) -> String {
    let whole = seconds.round() as i64;
    if seconds < 10.0 && seconds.fract() != 0.0 {
        format!("{seconds:.1}s")
    } else if whole < 60 {
        format!("{whole}s")
    } else {
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

fn stale_after(spec: &DtsMigrationSpec) -> std::time::Duration {
    std::time::Duration::from_secs(spec.lag_stale_after_seconds.max(1) as u64)
}

pub(super) fn lag_condition(
    spec: &DtsMigrationSpec,
    status: &DtsMigrationStatus,
    replicating: bool,
    now: jiff::Timestamp,
) -> Desired {
    let threshold = spec.lag_alert_seconds as f64;
    match (
        replicating,
        status.lag_seconds,
        status.lag_observed_at.as_ref(),
    ) {
        (false, _, _) => Desired::unknown(
            LAG_WITHIN_THRESHOLD,
            "NotReplicating",
            "lag is measured during incremental replication",
        ),
        (true, None, _) | (true, _, None) => {
            Desired::unknown(LAG_WITHIN_THRESHOLD, "NoSample", "DTS reported no lag yet")
        }
        (true, Some(lag), Some(at)) if elapsed(at.0, now) > stale_after(spec) => Desired::unknown(
            LAG_WITHIN_THRESHOLD,
            LAG_STALE,
            format!(
                "the newest lag sample ({} at {}) is older than {}s (spec.lagStaleAfterSeconds): lag is unknown",
                format_lag(lag),
                at.0,
                spec.lag_stale_after_seconds
            ),
        ),
        (true, Some(lag), _) if lag < threshold => Desired::true_(
            LAG_WITHIN_THRESHOLD,
            "LagBelowThreshold",
            format!("lag {} < {}s", format_lag(lag), spec.lag_alert_seconds),
        ),
        (true, Some(lag), _) => Desired::false_(
            LAG_WITHIN_THRESHOLD,
            "LagAboveThreshold",
            format!(
                "lag {} >= {}s (spec.lagAlertSeconds)",
                format_lag(lag),
                spec.lag_alert_seconds
            ),
        ),
    }
}

/// Ready of a replicating task from its lag condition: True only within the threshold.
pub(super) fn replicating_ready(lag: &Desired) -> Desired {
    match lag.status {
        Status::True => Desired::true_(
            READY,
            "Replicating",
            format!("replicating; {}", lag.message),
        ),
        Status::False => Desired::false_(
            READY,
            lag.reason.clone(),
            format!("replicating, but {}", lag.message),
        ),
        Status::Unknown => Desired::unknown(
            READY,
            lag.reason.clone(),
            format!("replicating; {}", lag.message),
        ),
    }
}

/// Ready while the lag is stale: nothing says replication is fine any more.
pub(super) fn stale_ready(lag: &Desired) -> Desired {
    Desired::unknown(READY, LAG_STALE, lag.message.clone())
}

/// After a failed read of DTS: the status with the lag marked stale once the newest sample is
/// older than `lagStaleAfterSeconds`; None while it is still fresh (or not replicating).
pub fn stale(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    now: jiff::Timestamp,
) -> Option<DtsMigrationStatus> {
    if prev.phase != Some(Phase::Replicating) {
        return None;
    }
    let lag = lag_condition(spec, prev, true, now);
    if lag.reason != LAG_STALE {
        return None;
    }
    let mut status = prev.clone();
    status.lag = Some(STALE.to_string());
    let ready = stale_ready(&lag);
    status.conditions = conditions::merge(
        &prev.conditions,
        &[lag, ready],
        prev.observed_generation,
        now,
    );
    Some(status)
}
