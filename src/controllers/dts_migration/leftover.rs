//! Finding the task a ConfigureDtsJob created when its answer never got recorded.
//!
//! ConfigureDtsJob takes no idempotency token. If the answer is lost (a timeout after the
//! service committed, the operator killed before it wrote status, or a second operator that
//! sent it), the next reconcile would configure a second task. Status records the intent
//! (`createRequestedAt`) before the call is sent, so a DtsMigration with an intent and no task
//! id may have a task in DTS under its name: look for it and adopt it instead of configuring
//! another — but only a task that carries this resource's ownership marker; a task of the same
//! name from another namespace (or the console) is never adopted, deleted or reported as ours.

use crate::aliyun::DtsClient;
use crate::aliyun::dts::{DescribeDtsJobsRequest, DtsJobStatus, DtsJobType};
use crate::api::dts_migration::{ApiGeneration, DtsMigrationStatus};
use crate::controllers::ownership::{self, Owner};

use super::super::error::Result;

/// Our tasks the name search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    /// The task to adopt: the newest bought task of ours, else the newest unbought one.
    pub dts_job_id: String,
    /// Other unbought tasks of ours: configured twice, never bought; safe to delete.
    pub unbought: Vec<String>,
    /// Other bought tasks of ours: reported, never released without the user.
    pub bought: Vec<String>,
}

/// Whether a reconcile must search before configuring: a configure was sent (its intent is
/// recorded) but no task id ever came back.
pub fn must_search(generation: ApiGeneration, prev: &DtsMigrationStatus) -> bool {
    generation == ApiGeneration::DtsJob
        && (prev.create_requested_at.is_some() || prev.configured_generation.is_some())
        && prev.dts_job_id.is_none()
        && prev.dts_instance_id.is_none()
}

/// Searches DTS by name (the service matches fuzzily, newest first) for tasks of `uid`.
pub async fn search(dts: &DtsClient, job_name: &str, uid: &str) -> Result<Option<Leftover>> {
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
    Ok(pick(job_name, uid, &listed.items))
}

/// Our tasks among `items`: exact name and our ownership marker.
pub fn pick(job_name: &str, uid: &str, items: &[DtsJobStatus]) -> Option<Leftover> {
    let mut ours: Vec<(bool, &str, &str)> = items
        .iter()
        .filter(|j| j.name.as_deref() == Some(job_name))
        .filter(|j| ownership::owner(j.reserved.as_ref(), uid) == Owner::Us)
        .filter_map(|j| {
            let id = j.dts_job_id.as_deref().filter(|id| !id.is_empty())?;
            let bought = j.dts_instance_id.as_deref().is_some_and(|i| !i.is_empty());
            Some((bought, j.create_time.as_deref().unwrap_or(""), id))
        })
        .collect();
    // Bought first, then newest; the same time orders by id so the choice is stable.
    ours.sort_by(|a, b| b.cmp(a));
    let (_, _, adopt) = *ours.first()?;
    let others = &ours[1..];
    let ids = |bought: bool| {
        others
            .iter()
            .filter(|(b, _, _)| *b == bought)
            .map(|(_, _, id)| id.to_string())
            .collect()
    };
    Some(Leftover {
        dts_job_id: adopt.to_string(),
        unbought: ids(false),
        bought: ids(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::dts::LagUnit;
    use serde_json::json;

    /// A DescribeDtsJobs list item as the service sends it, with `owner`'s marker.
    fn task(
        name: &str,
        id: &str,
        instance: Option<&str>,
        created: &str,
        owner: &str,
    ) -> DtsJobStatus {
        let item = json!({
            "DtsJobName": name,
            "DtsJobId": id,
            "DtsInstanceID": instance,
            "CreateTime": created,
            "Status": "NotStarted",
            "Reserved": json!({ownership::OWNER_KEY: owner, "targetTableMode": "2"}).to_string(),
        });
        DtsJobStatus::from_current(&item, LagUnit::Milliseconds, "test")
    }

    #[test]
    fn adopts_the_one_task_of_exactly_this_name_and_owner() {
        let items = [
            task("shop-orders-2", "j2", None, "2026-01-01T00:00:02Z", "me"),
            task("shop-orders", "j1", None, "2026-01-01T00:00:01Z", "me"),
            task("SHOP-ORDERS", "j3", None, "2026-01-01T00:00:03Z", "me"),
        ];
        assert_eq!(
            pick("shop-orders", "me", &items),
            Some(Leftover {
                dts_job_id: "j1".into(),
                unbought: vec![],
                bought: vec![],
            })
        );
    }

    #[test]
    fn a_task_of_another_owner_is_never_ours() {
        let items = [
            task("shop-orders", "j1", None, "2026-01-01T00:00:01Z", "them"),
            task(
                "shop-orders",
                "j0",
                Some("dtsj0"),
                "2026-01-01T00:00:03Z",
                "them",
            ),
        ];
        assert_eq!(pick("shop-orders", "me", &items), None);
        assert_eq!(pick("shop-orders", "me", &[]), None);
        let unmarked = DtsJobStatus::from_current(
            &json!({"DtsJobName": "shop-orders", "DtsJobId": "j9", "Status": "NotStarted"}),
            LagUnit::Milliseconds,
            "test",
        );
        assert_eq!(pick("shop-orders", "me", &[unmarked]), None);
    }

    #[test]
    fn a_bought_task_wins_and_the_rest_are_sorted_out() {
        let items = [
            task("shop-orders", "j1", None, "2026-01-01T00:00:01Z", "me"),
            task("shop-orders", "j3", Some(""), "2026-01-01T00:00:03Z", "me"),
            task(
                "shop-orders",
                "j2",
                Some("dtsj2"),
                "2026-01-01T00:00:02Z",
                "me",
            ),
            task(
                "shop-orders",
                "j4",
                Some("dtsj4"),
                "2026-01-01T00:00:00Z",
                "me",
            ),
            task("shop-orders", "j5", None, "2026-01-01T00:00:05Z", "them"),
        ];
        let found = pick("shop-orders", "me", &items).unwrap();
        assert_eq!(found.dts_job_id, "j2");
        assert_eq!(found.unbought, ["j3", "j1"]);
        assert_eq!(found.bought, ["j4"]);
    }

    #[test]
    fn searches_only_after_an_unanswered_configure() {
        let sent = DtsMigrationStatus {
            create_requested_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                jiff::Timestamp::UNIX_EPOCH,
            )),
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
