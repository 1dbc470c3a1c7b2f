//! The DTS data verification outcome, from the data checks the spec configures. Passed needs
//! measured evidence: each configured check finished (full) or running (incremental), CanSwitch
//! not false, no error message, and per-table results read with no differing row. Anything
//! short of that is Pending; any inconsistency or failure is Failed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{CheckView, TaskView};
use crate::api::common::VerificationState;
use crate::api::dts_migration::{
    DataCheckResult, DtsMigrationSpec, DtsVerificationStatus, TableCheck,
};

/// Tables listed in status at most.
const MAX_TABLES: usize = 50;

#[derive(Debug, PartialEq)]
enum Verdict {
    Pending(String),
    Passed,
    Failed(String),
}

/// One check: its verdict, what DTS reported, and its differing tables when known.
struct Judged {
    verdict: Verdict,
    result: Option<DataCheckResult>,
    /// Differing or failed tables; empty when none or not known.
    bad: Vec<TableCheck>,
}

fn differing(tables: &[TableCheck]) -> Vec<TableCheck> {
    tables
        .iter()
        .filter(|t| t.diff_rows > 0 || t.error.is_some())
        .cloned()
        .collect()
}

fn rows_text(bad: &[TableCheck], tables_checked: Option<i64>) -> String {
    let rows: i64 = bad.iter().map(|t| t.diff_rows).sum();
    let at_least = bad.iter().any(|t| t.diff_rows_at_least);
    format!(
        "{}{rows} differing row(s) in {} of {} table(s): {}",
        if at_least { "at least " } else { "" },
        bad.len(),
        tables_checked.map_or("?".to_string(), |n| n.to_string()),
        bad.iter()
            .take(5)
            .map(|t| match (&t.error, t.checked_rows) {
                (Some(e), _) => format!("{}.{} ({e})", t.database, t.table),
                (None, Some(c)) => {
                    format!("{}.{} {} of {c} checked", t.database, t.table, t.diff_rows)
                }
                (None, None) => format!("{}.{} {}", t.database, t.table, t.diff_rows),
            })
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Judges one check. Per-table results come from this read, or, when they were not read again,
/// from `prev` if its status is the same.
fn judge(
    name: &str,
    view: Option<&CheckView>,
    prev: Option<(DataCheckResult, Vec<TableCheck>)>,
) -> Judged {
    let Some(view) = view else {
        return Judged {
            verdict: Verdict::Pending(format!("DTS reports no {name} check yet")),
            result: None,
            bad: Vec::new(),
        };
    };
    let mut result = DataCheckResult {
        status: view.status.clone(),
        percent: view.percent,
        can_switch: view.can_switch,
        error: view.error.clone(),
        ..DataCheckResult::default()
    };
    let mut bad = Vec::new();
    if let Some(tables) = &view.tables {
        result.tables_checked = Some(tables.len() as i64);
        result.rows_checked = tables
            .iter()
            .map(|t| t.checked_rows)
            .sum::<Option<i64>>()
            .filter(|_| !tables.is_empty());
        result.diff_rows = Some(tables.iter().map(|t| t.diff_rows).sum());
        bad = differing(tables);
    } else if let Some((p, listed)) =
        prev.filter(|(p, _)| p.status == view.status && p.tables_checked.is_some())
    {
        result.tables_checked = p.tables_checked;
        result.rows_checked = p.rows_checked;
        result.diff_rows = p.diff_rows;
        bad = listed;
    }
    let known = result.tables_checked.is_some();
    let status = view.status.as_str();
    let full = name == "full";
    let mut problems = Vec::new();
    if matches!(status, "Failed" | "Inconsistency") {
        problems.push(format!("{name} check {status}"));
    } else if full && status == "Finished" && view.can_switch == Some(false) {
        problems.push(format!("{name} check {status}, CanSwitch false"));
    } else if view.error.is_some() && status != "NotStarted" {
        problems.push(format!("{name} check {status}"));
    }
    if let (Some(e), false) = (&view.error, problems.is_empty()) {
        problems[0].push_str(&format!(": {e}"));
    }
    if !bad.is_empty() {
        problems.push(rows_text(&bad, result.tables_checked));
    }
    let verdict = if !problems.is_empty() {
        Verdict::Failed(problems.join("; "))
    } else if full && status != "Finished" || !full && status == "NotStarted" {
        Verdict::Pending(format!(
            "{name} check {status}{}",
            view.percent.map(|p| format!(" ({p}%)")).unwrap_or_default()
        ))
    } else if !known {
        Verdict::Pending(format!(
            "{name} check {status}; per-table results not read yet"
        ))
    } else {
        Verdict::Passed
    };
    Judged {
        verdict,
        result: Some(result),
        bad,
    }
}

fn previous(
    prev: Option<&DtsVerificationStatus>,
    pick: impl Fn(&DtsVerificationStatus) -> Option<&DataCheckResult>,
    check: &str,
) -> Option<(DataCheckResult, Vec<TableCheck>)> {
    let p = prev?;
    let result = pick(p)?.clone();
    let tables = p
        .tables
        .iter()
        .filter(|t| t.check == check)
        .cloned()
        .collect();
    Some((result, tables))
}

/// The verification outcome; None when the spec configures no data check.
pub(super) fn verification(
    spec: &DtsMigrationSpec,
    task: &TaskView,
    now: jiff::Timestamp,
    prev: Option<&DtsVerificationStatus>,
) -> Option<DtsVerificationStatus> {
    let configured = spec
        .data_check
        .as_ref()
        .filter(|c| c.full || c.incremental)?;
    let full = configured.full.then(|| {
        judge(
            "full",
            task.full_check.as_ref(),
            previous(prev, |p| p.full_check.as_ref(), "Full"),
        )
    });
    let inc = configured.incremental.then(|| {
        judge(
            "incremental",
            task.incremental_check.as_ref(),
            previous(prev, |p| p.incremental_check.as_ref(), "Incremental"),
        )
    });
    let judged: Vec<&Judged> = full.iter().chain(inc.iter()).collect();
    let reasons = |pick: fn(&Verdict) -> Option<&str>| -> Vec<&str> {
        judged.iter().filter_map(|j| pick(&j.verdict)).collect()
    };
    let failed = reasons(|v| match v {
        Verdict::Failed(why) => Some(why),
        _ => None,
    });
    let pending = reasons(|v| match v {
        Verdict::Pending(why) => Some(why),
        _ => None,
    });
    let results: Vec<&DataCheckResult> = judged.iter().filter_map(|j| j.result.as_ref()).collect();
    let (state, message) = if !failed.is_empty() {
        (VerificationState::Failed, failed.join("; "))
    } else if !pending.is_empty() {
        (VerificationState::Pending, pending.join("; "))
    } else {
        (
            VerificationState::Passed,
            results
                .iter()
                .map(|r| {
                    format!(
                        "no differing row in {} table(s)",
                        r.tables_checked.unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    let diff_count = if results.len() == judged.len() {
        results.iter().map(|r| r.diff_rows).sum::<Option<i64>>()
    } else {
        None
    };
    let mut tables: Vec<TableCheck> = judged.iter().flat_map(|j| j.bad.clone()).collect();
    tables.sort_by_key(|t| std::cmp::Reverse(t.diff_rows));
    tables.truncate(MAX_TABLES);
    let mut out = DtsVerificationStatus {
        state,
        message: Some(message),
        diff_count,
        full_check: full.and_then(|j| j.result),
        incremental_check: inc.and_then(|j| j.result),
        tables,
        checked_at: None,
    };
    out.checked_at = prev
        .filter(|p| p.state == out.state && p.diff_count == out.diff_count)
        .and_then(|p| p.checked_at.clone())
        .or(Some(Time(now)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dts_migration::DataCheck;

    fn spec(full: bool, incremental: bool) -> DtsMigrationSpec {
        DtsMigrationSpec {
            data_check: Some(DataCheck {
                full,
                incremental,
                full_check_ratio: None,
            }),
            ..DtsMigrationSpec::default()
        }
    }

    fn table(name: &str, diff: i64) -> TableCheck {
        TableCheck {
            check: "Full".into(),
            database: "shop".into(),
            table: name.into(),
            diff_rows: diff,
            checked_rows: Some(1000),
            total_rows: Some(1000),
            ..TableCheck::default()
        }
    }

    fn finished(
        can_switch: bool,
        error: Option<&str>,
        tables: Option<Vec<TableCheck>>,
    ) -> TaskView {
        TaskView {
            full_check: Some(CheckView {
                status: "Finished".into(),
                percent: Some(100),
                can_switch: Some(can_switch),
                error: error.map(str::to_string),
                tables,
            }),
            ..TaskView::default()
        }
    }

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn can_switch_false_fails_even_without_table_results() {
        let v = verification(
            &spec(true, false),
            &finished(false, Some("42 inconsistent row(s)"), None),
            now(),
            None,
        )
        .unwrap();
        assert_eq!(v.state, VerificationState::Failed);
        assert!(v.message.unwrap().contains("CanSwitch false"));
        assert_eq!(v.diff_count, None, "not measured, not shown");
    }

    #[test]
    fn differing_rows_are_counted_per_table() {
        let tables = vec![table("orders", 42), table("products", 0)];
        let v = verification(
            &spec(true, false),
            &finished(false, Some("42 inconsistent row(s)"), Some(tables)),
            now(),
            None,
        )
        .unwrap();
        assert_eq!(v.state, VerificationState::Failed);
        assert_eq!(v.diff_count, Some(42));
        assert_eq!(v.tables.len(), 1);
        assert_eq!(v.tables[0].table, "orders");
        let full = v.full_check.unwrap();
        assert_eq!(full.tables_checked, Some(2));
        assert_eq!(full.rows_checked, Some(2000));
        assert_eq!(full.can_switch, Some(false));
    }

    #[test]
    fn passing_needs_the_per_table_results() {
        let unread = verification(&spec(true, false), &finished(true, None, None), now(), None);
        assert_eq!(unread.unwrap().state, VerificationState::Pending);
        let read = verification(
            &spec(true, false),
            &finished(true, None, Some(vec![table("orders", 0)])),
            now(),
            None,
        )
        .unwrap();
        assert_eq!(read.state, VerificationState::Passed);
        assert_eq!(read.diff_count, Some(0));
        // Not read again next time (same status): the earlier results still count.
        let again = verification(
            &spec(true, false),
            &finished(true, None, None),
            now(),
            Some(&read),
        )
        .unwrap();
        assert_eq!(again.state, VerificationState::Passed);
    }

    #[test]
    fn an_incremental_inconsistency_fails_although_the_full_check_passed() {
        let mut task = finished(true, None, Some(vec![table("orders", 0)]));
        task.incremental_check = Some(CheckView {
            status: "Checking".into(),
            error: Some("7 inconsistent row(s)".into()),
            tables: Some(vec![TableCheck {
                check: "Incremental".into(),
                ..table("orders", 7)
            }]),
            ..CheckView::default()
        });
        let v = verification(&spec(true, true), &task, now(), None).unwrap();
        assert_eq!(v.state, VerificationState::Failed);
        assert_eq!(v.diff_count, Some(7));
        assert_eq!(v.incremental_check.unwrap().status, "Checking");
    }

    #[test]
    fn a_running_full_check_is_pending_and_no_check_configured_is_none() {
        let mut task = finished(true, None, None);
        task.full_check.as_mut().unwrap().status = "Checking".into();
        let v = verification(&spec(true, false), &task, now(), None).unwrap();
        assert_eq!(v.state, VerificationState::Pending);
        assert!(verification(&spec(false, false), &task, now(), None).is_none());
    }

    #[test]
    fn more_than_300_differing_rows_is_reported_as_at_least() {
        let mut t = table("orders", 300);
        t.diff_rows_at_least = true;
        let v = verification(
            &spec(true, false),
            &finished(false, None, Some(vec![t])),
            now(),
            None,
        )
        .unwrap();
        assert!(v.message.unwrap().contains("at least 300"));
    }
}
