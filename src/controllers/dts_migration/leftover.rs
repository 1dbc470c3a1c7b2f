//! Finding the task a ConfigureDtsJob created when its answer never got recorded.
//!
//! ConfigureDtsJob takes no idempotency token. If the answer is lost (a timeout after the
//! service committed, or the operator killed before it wrote status), the next reconcile would
//! configure a second task. Status records `configuredGeneration` before the call is sent, so a
//! DtsMigration with that mark and no task id may have a task in DTS under its name: look for
//! it and adopt it instead of configuring another.

use crate::aliyun::DtsClient;
use crate::aliyun::dts::{DescribeDtsJobsRequest, DtsJobStatus, DtsJobType};
use crate::api::dts_migration::{ApiGeneration, DtsMigrationStatus};

use super::super::error::Result;

/// What the name search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    /// The task to adopt: the newest not-yet-bought task of exactly this name.
    pub dts_job_id: String,
    /// Other not-yet-bought tasks of the same name (the user may want to delete them).
    pub others: Vec<String>,
}

/// Whether a reconcile must search before configuring: a configure was sent (its intent is
/// recorded) but no task id ever came back.
pub fn must_search(generation: ApiGeneration, prev: &DtsMigrationStatus) -> bool {
    generation == ApiGeneration::DtsJob
        && prev.configured_generation.is_some()
        && prev.dts_job_id.is_none()
        && prev.dts_instance_id.is_none()
}

/// Searches DTS by name (the service matches fuzzily, newest first).
pub async fn search(dts: &DtsClient, job_name: &str) -> Result<Option<Leftover>> {
    let listed = dts
        .describe_dts_jobs(&DescribeDtsJobsRequest {
            job_type: Some(DtsJobType::Migration),
            query_type: Some("name".into()),
            query_value: Some(job_name.to_string()),
            page_number: Some(1),
            page_size: Some(30),
            order_column: Some("CreateTime".into()),
            order_direction: Some("DESC".into()),
            without_db_list: Some(true),
            ..DescribeDtsJobsRequest::default()
        })
        .await?;
    Ok(pick(job_name, &listed.items))
}

/// The adoptable tasks among `items`: exact name, not bought (a bought task is never ours to
/// adopt here, since the purchase happens only after the task id is recorded).
pub fn pick(job_name: &str, items: &[DtsJobStatus]) -> Option<Leftover> {
    let mut candidates: Vec<(&str, &str)> = items
        .iter()
        .filter(|j| j.name.as_deref() == Some(job_name))
        .filter(|j| j.dts_instance_id.as_deref().is_none_or(str::is_empty))
        .filter_map(|j| {
            let id = j.dts_job_id.as_deref().filter(|id| !id.is_empty())?;
            Some((j.create_time.as_deref().unwrap_or(""), id))
        })
        .collect();
    // Newest first; the same time orders by id so the choice is stable.
    candidates.sort_by(|a, b| b.cmp(a));
    let mut ids = candidates.into_iter().map(|(_, id)| id.to_string());
    let dts_job_id = ids.next()?;
    Some(Leftover {
        dts_job_id,
        others: ids.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::dts::LagUnit;
    use serde_json::json;

    /// A DescribeDtsJobs list item as the service sends it.
    fn task(name: &str, id: &str, instance: Option<&str>, created: &str) -> DtsJobStatus {
        let item = json!({
            "DtsJobName": name,
            "DtsJobId": id,
            "DtsInstanceID": instance,
            "CreateTime": created,
            "Status": "NotStarted",
        });
        DtsJobStatus::from_current(&item, LagUnit::Milliseconds, "test")
    }

    #[test]
    fn adopts_the_one_unbought_task_of_exactly_this_name() {
        let items = [
            task("shop-orders-2", "j2", None, "2026-01-01T00:00:02Z"),
            task("shop-orders", "j1", None, "2026-01-01T00:00:01Z"),
            task("shop-orders", "j0", Some("dtsi0"), "2026-01-01T00:00:03Z"),
        ];
        assert_eq!(
            pick("shop-orders", &items),
            Some(Leftover {
                dts_job_id: "j1".into(),
                others: vec![]
            })
        );
    }

    #[test]
    fn nothing_to_adopt_without_an_exact_unbought_match() {
        let items = [
            task("SHOP-ORDERS", "j1", None, "2026-01-01T00:00:01Z"),
            task("shop-orders", "j0", Some("dtsi0"), "2026-01-01T00:00:03Z"),
        ];
        assert_eq!(pick("shop-orders", &items), None);
        assert_eq!(pick("shop-orders", &[]), None);
    }

    #[test]
    fn several_matches_adopt_the_newest_and_name_the_others() {
        let items = [
            task("shop-orders", "j1", None, "2026-01-01T00:00:01Z"),
            task("shop-orders", "j3", Some(""), "2026-01-01T00:00:03Z"),
            task("shop-orders", "j2", None, "2026-01-01T00:00:02Z"),
        ];
        let found = pick("shop-orders", &items).unwrap();
        assert_eq!(found.dts_job_id, "j3");
        assert_eq!(found.others, ["j2", "j1"]);
    }

    #[test]
    fn searches_only_after_an_unanswered_configure() {
        let sent = DtsMigrationStatus {
            configured_generation: Some(1),
            ..Default::default()
        };
        assert!(must_search(ApiGeneration::DtsJob, &sent));
        assert!(!must_search(ApiGeneration::MigrationJob, &sent));
        assert!(!must_search(
            ApiGeneration::DtsJob,
            &DtsMigrationStatus::default()
        ));
        let recorded = DtsMigrationStatus {
            dts_job_id: Some("j1".into()),
            ..sent.clone()
        };
        assert!(!must_search(ApiGeneration::DtsJob, &recorded));
    }
}
