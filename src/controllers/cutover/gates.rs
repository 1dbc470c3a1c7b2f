//! The go/no-go criteria, each a pure function of what was observed and the time.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::decide::MAX_CLOCK_SKEW;
use super::window::{self, WindowState};
use crate::api::common::VerificationState;
use crate::api::cutover::{Approval, Evidence, GateStatus, Gates};
use crate::api::dataworks_migration::DataWorksMigrationPhase;
use crate::api::dts_migration::{DtsMigrationPhase, DtsVerificationStatus, LagSample};
use crate::api::mms_job::MmsJobPhase;

/// A DtsMigration as the Cutover sees it (from its status).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DtsObs {
    pub name: String,
    pub exists: bool,
    pub phase: Option<DtsMigrationPhase>,
    /// Its Ready message, for the report.
    pub message: String,
    pub lag_samples: Vec<LagSample>,
    /// Whether the DtsMigration has DTS data verification (full or incremental) configured.
    pub data_check: bool,
    pub verification: Option<DtsVerificationStatus>,
    /// `managementPolicy: ObserveOnly`: the operator never changes its task (not even to stop
    /// replication at the switch).
    pub observe_only: bool,
}

/// An MmsJob as the Cutover sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MmsObs {
    pub name: String,
    pub exists: bool,
    pub phase: Option<MmsJobPhase>,
    pub verification_enabled: bool,
    /// The `Verified` condition: (status, reason, message), current for the job's generation.
    pub verified: Option<(String, String, String)>,
    /// `spec.schedule`: rounds after the first job; freshness stands in for lag, and the drain
    /// runs a final round after the freeze.
    pub schedule: Option<crate::api::mms_schedule::MmsSchedule>,
    /// `status.rounds`.
    pub rounds: Option<crate::api::mms_schedule::RoundsStatus>,
    /// `managementPolicy: ObserveOnly`: no round is triggered; a scheduled one must serve.
    pub observe_only: bool,
}

/// A DataWorksMigration as the Cutover sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataWorksObs {
    pub name: String,
    pub exists: bool,
    pub phase: Option<DataWorksMigrationPhase>,
    /// Its Ready message, for the report.
    pub message: String,
    /// The Cutover's migration entry accepts PartiallySucceeded.
    pub accept_partial_success: bool,
    /// Whether its status describes its current generation.
    pub current: bool,
}

fn secs(d: Duration) -> i64 {
    d.as_secs() as i64
}

fn since(from: jiff::Timestamp, now: jiff::Timestamp) -> Duration {
    Duration::try_from(now.duration_since(from)).unwrap_or_default()
}

/// Keeps `since` when the result did not change.
fn keep_since(mut gate: GateStatus, prev: Option<&GateStatus>, now: jiff::Timestamp) -> GateStatus {
    gate.since = match prev {
        Some(p) if p.passed == gate.passed && p.failed == gate.failed && p.since.is_some() => {
            p.since.clone()
        }
        _ => Some(Time(now)),
    };
    gate
}

fn gate(
    name: String,
    passed: bool,
    observed: String,
    threshold: String,
    evidence: Evidence,
) -> GateStatus {
    GateStatus {
        name,
        passed,
        observed,
        threshold,
        evidence,
        ..GateStatus::default()
    }
}

/// Replication lag of one DtsMigration. The current run is made of consecutive fresh samples
/// below the threshold, each within `maxSampleAgeSeconds` of the one before it: a sample at or
/// above the threshold, or a gap, starts it again. The gate passes when the newest sample is
/// fresh and the run spans `stableForSeconds` **between its first and newest sample** (time
/// without samples never counts) with at least `minSamples` samples.
pub fn lag_gate(
    dts: &DtsObs,
    prev: Option<&GateStatus>,
    gates: &Gates,
    now: jiff::Timestamp,
) -> GateStatus {
    let name = format!("lag/{}", dts.name);
    let max = gates.max_lag_seconds;
    let stable = Duration::from_secs(gates.stable_for_seconds.max(0) as u64);
    let max_age = Duration::from_secs(gates.max_sample_age_seconds.max(1) as u64);
    let threshold = format!(
        "< {max}s on {} consecutive samples spanning {}s, each within {}s of the one before, the newest younger than {}s",
        gates.min_samples,
        secs(stable),
        secs(max_age),
        secs(max_age)
    );
    let waiting = |observed: String, failed: bool| {
        let mut g = gate(
            name.clone(),
            false,
            observed,
            threshold.clone(),
            Evidence::Measured,
        );
        g.failed = failed;
        keep_since(g, prev, now)
    };
    if !dts.exists {
        return waiting(format!("DtsMigration {} not found", dts.name), false);
    }
    match dts.phase {
        Some(DtsMigrationPhase::Replicating) => {}
        Some(
            p @ (DtsMigrationPhase::Failed
            | DtsMigrationPhase::PrecheckFailed
            | DtsMigrationPhase::Invalid
            | DtsMigrationPhase::Stopped
            | DtsMigrationPhase::Completed),
        ) => {
            return waiting(
                format!("phase {p:?}, not replicating: {}", dts.message),
                true,
            );
        }
        p => {
            let phase = p
                .map(|p| format!("{p:?}"))
                .unwrap_or_else(|| "unknown".into());
            return waiting(format!("phase {phase}, not replicating yet"), false);
        }
    }

    let mut samples: Vec<&LagSample> = dts.lag_samples.iter().collect();
    samples.sort_by_key(|s| s.at.0);
    // Continue from where the previous evaluation stopped, so runs longer than the samples a
    // DtsMigration keeps are still recognised.
    let carried = prev.filter(|p| p.last_sample_at.is_some());
    let mut count = carried.and_then(|p| p.samples).unwrap_or(0);
    let mut mark = carried.and_then(|p| p.since.as_ref().map(|t| t.0));
    let mut last_at = carried.and_then(|p| p.last_sample_at.as_ref().map(|t| t.0));
    let seen_until = last_at;
    for sample in samples
        .iter()
        .filter(|s| seen_until.is_none_or(|l| s.at.0 > l))
    {
        let gap_ok = last_at.is_none_or(|l| since(l, sample.at.0) <= max_age);
        if sample.seconds >= max {
            // `mark` then records when the run was broken.
            count = 0;
            mark = Some(sample.at.0);
        } else if !gap_ok || count == 0 {
            count = 1;
            mark = Some(sample.at.0);
        } else {
            count += 1;
        }
        last_at = Some(sample.at.0);
    }
    let run_start = (count > 0).then_some(mark).flatten();
    let latest = samples.last();
    let fresh = last_at.is_some_and(|l| since(l, now) <= max_age);
    let spanned = match (run_start, last_at) {
        (Some(r), Some(l)) => since(r, l),
        _ => Duration::ZERO,
    };
    let passed = fresh && count >= gates.min_samples && spanned >= stable;
    // Texts depend on samples only (not on `now`), so status is rewritten when facts change.
    let observed = match latest {
        None => "no lag sample yet".to_string(),
        Some(l) if !fresh => format!(
            "newest sample {}s at {} is older than {}s: stale, lag unknown",
            l.seconds,
            l.at.0,
            secs(max_age)
        ),
        Some(l) if run_start.is_none() => {
            format!("{}s at {}: at or above {max}s", l.seconds, l.at.0)
        }
        Some(l) => format!(
            "{}s at {}; below {max}s for {}s over {count} sample(s) from {} to {}",
            l.seconds,
            l.at.0,
            secs(spanned),
            run_start.map(|r| r.to_string()).unwrap_or_default(),
            last_at.map(|r| r.to_string()).unwrap_or_default()
        ),
    };
    GateStatus {
        name,
        passed,
        observed,
        threshold,
        evidence: if latest.is_some() && !fresh {
            Evidence::Stale
        } else {
            Evidence::Measured
        },
        // For a lag gate `since` is when the current run below the threshold began (or when the
        // last run was broken).
        since: mark
            .map(Time)
            .or_else(|| prev.and_then(|p| p.since.clone()))
            .or(Some(Time(now))),
        failed: false,
        samples: Some(count),
        last_sample_at: last_at.map(Time),
    }
}

/// The final check's verdict on one DtsMigration.
#[derive(Debug, PartialEq)]
pub enum FinalLag {
    /// The lag gate passes on a sample taken after the gates passed.
    Passed(String),
    /// No such sample yet.
    Wait,
    /// The lag gate fails on it, or none came within `maxSampleAgeSeconds`.
    Failed(String),
}

/// Right before the freeze: the lag gate again, on a sample DTS answered after `after` (when
/// the gates passed; both in whole seconds, as status keeps them).
pub fn final_lag(
    dts: &DtsObs,
    prev: Option<&GateStatus>,
    gates: &Gates,
    after: jiff::Timestamp,
    now: jiff::Timestamp,
) -> FinalLag {
    let newest = dts.lag_samples.iter().map(|s| s.at.0).max();
    let fresh_after = newest.is_some_and(|at| at.as_second() > after.as_second());
    let max_age = Duration::from_secs(gates.max_sample_age_seconds.max(1) as u64);
    if !fresh_after {
        if since(after, now) > max_age {
            return FinalLag::Failed(format!(
                "no lag sample of {} after the gates passed at {after} within maxSampleAgeSeconds {}s (newest: {})",
                dts.name,
                secs(max_age),
                newest
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "none".into())
            ));
        }
        return FinalLag::Wait;
    }
    let g = lag_gate(dts, prev, gates, now);
    if g.passed {
        FinalLag::Passed(g.observed)
    } else {
        FinalLag::Failed(format!("lag/{}: {}", dts.name, g.observed))
    }
}

/// A Cutover without `spec.freeze`: the report says what that costs.
pub fn no_freeze_gate(prev: Option<&GateStatus>, now: jiff::Timestamp) -> GateStatus {
    let g = gate(
        "freeze".into(),
        true,
        "no spec.freeze: the application keeps writing to the source until the switch; writes after the final lag check are not drained and may be lost".into(),
        "writes stopped and drained before the switch (spec.freeze)".into(),
        Evidence::Waived,
    );
    keep_since(g, prev, now)
}

/// A scheduled MmsJob's lag gate: the age of its data (now minus the start of its last
/// successful round, an upper bound measured on the operator's clock) within the MmsJob's
/// `schedule.freshnessThresholdSeconds`.
pub fn mms_freshness_gate(
    mms: &MmsObs,
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let name = format!("lag/{}", mms.name);
    let threshold_s = mms.schedule.as_ref().map_or(0, |s| s.threshold_seconds());
    let threshold = format!(
        "data at most {threshold_s}s old (the MmsJob's schedule.freshnessThresholdSeconds): now minus the start of its last successful round"
    );
    let result = |passed: bool, failed: bool, observed: String, evidence: Evidence| {
        let mut g = gate(name.clone(), passed, observed, threshold.clone(), evidence);
        g.failed = failed;
        keep_since(g, prev, now)
    };
    if !mms.exists {
        return result(
            false,
            false,
            format!("MmsJob {} not found", mms.name),
            Evidence::Measured,
        );
    }
    if matches!(mms.phase, Some(MmsJobPhase::Invalid)) {
        return result(
            false,
            true,
            "the MmsJob is Invalid".into(),
            Evidence::Measured,
        );
    }
    let last = mms.rounds.as_ref().and_then(|r| r.last_successful.as_ref());
    let Some(last) = last else {
        return result(
            false,
            false,
            "no successful round yet".into(),
            Evidence::Measured,
        );
    };
    let Some(started) = last.started_after.as_ref().map(|t| t.0) else {
        return result(
            false,
            false,
            format!(
                "job {} succeeded but its start is unknown: waiting for a round with a measured start",
                last.job_id
            ),
            Evidence::Stale,
        );
    };
    let age = secs(since(started, now));
    let observed = format!("{age}s old: job {} started after {started}", last.job_id);
    if age <= threshold_s {
        result(true, false, observed, Evidence::Measured)
    } else {
        result(false, false, observed, Evidence::Stale)
    }
}

/// MMS verification: the MmsJob's `Verified` condition.
pub fn mms_verification_gate(
    mms: &MmsObs,
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let name = format!("verification/{}", mms.name);
    let threshold = "Verified=True (row counts of source and target match)".to_string();
    let result = |passed: bool, failed: bool, observed: String| {
        let mut g = gate(
            name.clone(),
            passed,
            observed,
            threshold.clone(),
            Evidence::Measured,
        );
        g.failed = failed;
        keep_since(g, prev, now)
    };
    if !mms.exists {
        return result(false, false, format!("MmsJob {} not found", mms.name));
    }
    if !mms.verification_enabled {
        return result(false, true, "verification is disabled on the MmsJob (spec.enableVerification: false); enable it or set gates.requireVerification: false".into());
    }
    match &mms.verified {
        Some((s, _, msg)) if s == "True" => result(true, false, msg.clone()),
        Some((s, reason, msg)) if s == "False" => result(false, true, format!("{reason}: {msg}")),
        _ if mms.phase == Some(MmsJobPhase::Failed) => {
            result(false, true, "the MMS job failed".into())
        }
        Some((_, _, msg)) => result(false, false, format!("pending: {msg}")),
        None => result(false, false, "not verified yet".into()),
    }
}

/// A DataWorksMigration's import: passes on Succeeded (and on PartiallySucceeded only when the
/// migration entry says `acceptPartialSuccess`), fails on Failed, Invalid and an unaccepted
/// PartiallySucceeded, waits otherwise.
pub fn dataworks_import_gate(
    dw: &DataWorksObs,
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let name = format!("import/{}", dw.name);
    let threshold = if dw.accept_partial_success {
        "the DataWorks import Succeeded or PartiallySucceeded (acceptPartialSuccess)"
    } else {
        "the DataWorks import Succeeded (PartiallySucceeded fails unless acceptPartialSuccess)"
    }
    .to_string();
    let result = |passed: bool, failed: bool, observed: String| {
        let mut g = gate(
            name.clone(),
            passed,
            observed,
            threshold.clone(),
            Evidence::Measured,
        );
        g.failed = failed;
        keep_since(g, prev, now)
    };
    if !dw.exists {
        return result(
            false,
            false,
            format!("DataWorksMigration {} not found", dw.name),
        );
    }
    if !dw.current {
        return result(
            false,
            false,
            "its status does not describe its current spec yet".into(),
        );
    }
    let text = |what: &str| {
        if dw.message.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", dw.message)
        }
    };
    match dw.phase {
        Some(DataWorksMigrationPhase::Succeeded) => result(true, false, text("Succeeded")),
        Some(DataWorksMigrationPhase::PartiallySucceeded) if dw.accept_partial_success => {
            result(true, false, text("PartiallySucceeded, accepted"))
        }
        Some(DataWorksMigrationPhase::PartiallySucceeded) => result(
            false,
            true,
            text(
                "PartiallySucceeded (set acceptPartialSuccess on the migration entry to accept it)",
            ),
        ),
        Some(p @ (DataWorksMigrationPhase::Failed | DataWorksMigrationPhase::Invalid)) => {
            result(false, true, text(&format!("{p:?}")))
        }
        p => result(
            false,
            false,
            format!(
                "phase {}, not imported yet",
                p.map(|p| format!("{p:?}"))
                    .unwrap_or_else(|| "unknown".into())
            ),
        ),
    }
}

/// DTS data verification: measured when the DtsMigration configures a data check, waived (and
/// said so) when it does not.
pub fn dts_verification_gate(
    dts: &DtsObs,
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let name = format!("verification/{}", dts.name);
    let threshold = "every configured DTS data check finished (full) or running (incremental) with CanSwitch not false, no error and no differing row in any table".to_string();
    if !dts.data_check {
        let g = gate(
            name,
            true,
            "no DTS data check configured on the DtsMigration (spec.dataCheck): nothing was measured".into(),
            threshold,
            Evidence::Waived,
        );
        return keep_since(g, prev, now);
    }
    let text = |v: &DtsVerificationStatus| v.message.clone().unwrap_or_else(|| v.state.to_string());
    let (passed, failed, observed) = match &dts.verification {
        Some(v) if v.state == VerificationState::Passed => (true, false, text(v)),
        Some(v) if v.state == VerificationState::Failed => (false, true, text(v)),
        Some(v) => (false, false, format!("pending: {}", text(v))),
        None => (false, false, "not reported yet".to_string()),
    };
    let mut g = gate(name, passed, observed, threshold, Evidence::Measured);
    g.failed = failed;
    keep_since(g, prev, now)
}

/// A person's attestation that a verified backup exists: fresh (younger than `maxAgeSeconds`,
/// default 24 h) and not dated in the future beyond the clock skew allowed.
pub fn backup_gate(gates: &Gates, prev: Option<&GateStatus>, now: jiff::Timestamp) -> GateStatus {
    let name = "backup".to_string();
    if !gates.require_backup {
        let g = gate(
            name,
            true,
            "not required (gates.requireBackup: false)".into(),
            "none".into(),
            Evidence::Waived,
        );
        return keep_since(g, prev, now);
    }
    let Some(b) = &gates.backup else {
        let g = gate(
            name,
            false,
            "no attestation in spec.gates.backup".into(),
            "a verified-backup attestation (who, when, evidence)".into(),
            Evidence::Attested,
        );
        return keep_since(g, prev, now);
    };
    let max_age = b.max_age_seconds.max(1);
    let skew = MAX_CLOCK_SKEW.as_secs();
    let threshold = format!(
        "a verified-backup attestation (who, when, evidence) at most {max_age}s old (maxAgeSeconds) and not more than {skew}s in the future"
    );
    let failed = |observed: String| {
        let mut g = gate(
            name.clone(),
            false,
            observed,
            threshold.clone(),
            Evidence::Attested,
        );
        g.failed = true;
        g
    };
    let g = match b.verified_at.parse::<jiff::Timestamp>() {
        Err(_) => failed(format!(
            "verifiedAt {:?} is not an RFC 3339 time",
            b.verified_at
        )),
        Ok(at) if at > now && since(now, at) > MAX_CLOCK_SKEW => failed(format!(
            "verifiedAt {} is in the future (more than {skew}s ahead of the operator's clock): correct the attestation",
            b.verified_at
        )),
        Ok(at) if since(at, now) > Duration::from_secs(max_age as u64) => failed(format!(
            "attested by {} at {}: expired, older than maxAgeSeconds {max_age}; verify a backup again and update the attestation",
            b.verified_by, b.verified_at
        )),
        Ok(_) => gate(
            name,
            true,
            format!(
                "attested by {} at {}: {}",
                b.verified_by, b.verified_at, b.evidence
            ),
            threshold,
            Evidence::Attested,
        ),
    };
    keep_since(g, prev, now)
}

/// Approval, from spec.approval or the approved-by annotation.
pub fn approval_gate(
    required: bool,
    approval: Option<&Approval>,
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> GateStatus {
    let name = "approval".to_string();
    let g = match (required, approval) {
        (false, _) => gate(name, true, "not required (gates.requireApproval: false)".into(), "none".into(), Evidence::Waived),
        (true, None) => gate(
            name,
            false,
            "not approved yet: set spec.approval or annotate migration.aliyun-operator.dev/approved-by".into(),
            "an approval".into(),
            Evidence::Attested,
        ),
        (true, Some(a)) => gate(
            name,
            true,
            format!(
                "approved by {}{}{}",
                a.approved_by,
                a.approved_at.as_deref().map(|t| format!(" at {t}")).unwrap_or_default(),
                a.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
            ),
            "an approval".into(),
            Evidence::Attested,
        ),
    };
    keep_since(g, prev, now)
}

/// The maintenance window; None when the spec has none.
pub fn window_gate(
    gates: &Gates,
    prev: Option<&GateStatus>,
    now: jiff::Timestamp,
) -> Option<(GateStatus, Option<jiff::Timestamp>)> {
    let w = gates.window.as_ref()?;
    let threshold = format!(
        "inside {} for {} min{}{}",
        w.start,
        w.duration_minutes,
        if w.days.is_empty() {
            String::new()
        } else {
            format!(" on {:?}", w.days)
        },
        w.time_zone
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_else(|| " (UTC)".into())
    );
    let (g, wake) = match window::evaluate(w, now) {
        Ok(WindowState::Open { closes_at }) => (
            gate(
                "window".into(),
                true,
                format!("open until {closes_at}"),
                threshold,
                Evidence::Measured,
            ),
            Some(closes_at),
        ),
        Ok(WindowState::Closed { opens_at }) => (
            gate(
                "window".into(),
                false,
                opens_at
                    .map(|t| format!("closed; opens at {t}"))
                    .unwrap_or_else(|| "closed; never opens".into()),
                threshold,
                Evidence::Measured,
            ),
            opens_at,
        ),
        Err(e) => {
            let mut g = gate("window".into(), false, e.0, threshold, Evidence::Measured);
            g.failed = true;
            (g, None)
        }
    };
    Some((keep_since(g, prev, now), wake))
}

#[cfg(test)]
mod tests;
