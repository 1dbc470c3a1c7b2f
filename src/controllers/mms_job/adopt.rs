//! Taking over an MMS job made elsewhere (the console, a script) through the adopt-id
//! annotation: which job to follow, and whether its scope is the one the spec describes. A job
//! that migrates something else must not feed a Cutover gate under this spec's name.

use std::collections::BTreeSet;
use std::fmt::Debug;

use crate::aliyun::mms::{CreateMmsJobRequest, MmsJob};
use crate::api::common::ManagementPolicy;
use crate::api::common::annotations::ADOPT_ID;
use crate::api::mms_job::{MmsJobSpec, MmsJobStatus};

use super::decide::{JobIdentity, job_request};

/// What the annotation asks of this reconcile.
#[derive(Debug, Clone, PartialEq)]
pub enum Adoption {
    /// Nothing to adopt, or adopted already.
    Keep,
    /// Read this job and check its scope before following it.
    Check(i64),
}

/// What the annotation and the management policy make of the previous status. `Err`: why the
/// spec or the annotation must change.
pub fn resolve(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    adopt_id: Option<&str>,
) -> Result<Adoption, String> {
    let Some(text) = adopt_id else {
        if spec.management_policy == ManagementPolicy::ObserveOnly && prev.adopted_id.is_none() {
            return Err(format!(
                "managementPolicy ObserveOnly follows an existing MMS job: name it with the annotation {ADOPT_ID}"
            ));
        }
        return Ok(Adoption::Keep);
    };
    let id: i64 = text.trim().parse().map_err(|_| {
        format!("the {ADOPT_ID} annotation {text:?} is not an MMS job id (a number)")
    })?;
    match prev.adopted_id {
        Some(adopted) if adopted == id => Ok(Adoption::Keep),
        Some(adopted) => Err(format!(
            "the adopt-id annotation changed from {adopted} to {id}: a resource follows one job for good; put it back, or create another MmsJob for {id}"
        )),
        None if prev.job_id.is_some()
            || prev.async_task_id.is_some()
            || prev.create_requested_at.is_some() =>
        {
            Err(format!(
                "this MmsJob already made its own MMS job; the adopt-id annotation ({id}) applies only to a new MmsJob"
            ))
        }
        None => Ok(Adoption::Check(id)),
    }
}

/// The status after a successful check: the job is followed, under its own name, as if this
/// resource had made it.
pub fn adopted(prev: &MmsJobStatus, id: i64, name: &str) -> MmsJobStatus {
    MmsJobStatus {
        adopted_id: Some(id),
        job_id: Some(id),
        job_name: Some(name.to_string()),
        ..prev.clone()
    }
}

/// How the job's scope differs from the spec's, as one sentence per field; `None`: the same.
/// A job whose configuration MMS does not return cannot be checked, and is not taken.
pub fn scope_difference(spec: &MmsJobSpec, job: &MmsJob) -> Option<String> {
    let Some(config) = &job.config else {
        return Some(format!(
            "GetMmsJob returned no configuration for job {}: its scope cannot be checked",
            job.id
        ));
    };
    let want: CreateMmsJobRequest = job_request(
        spec,
        JobIdentity {
            name: &job.name,
            owner_uid: "",
        },
    );
    let mut diffs = Vec::new();
    differ(&mut diffs, "srcDbName", &want.src_db_name, &job.src_db_name);
    if want.dst_db_name.is_some() {
        differ(&mut diffs, "dstDbName", &want.dst_db_name, &job.dst_db_name);
    }
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    differ(
        &mut diffs,
        "tables",
        &set(&want.tables),
        &set(&config.tables),
    );
    differ(
        &mut diffs,
        "tableWhiteList",
        &set(&want.table_white_list),
        &set(&config.table_white_list),
    );
    differ(
        &mut diffs,
        "tableBlackList",
        &set(&want.table_black_list),
        &set(&config.table_black_list),
    );
    let ids = |v: &[i64]| v.iter().copied().collect::<BTreeSet<_>>();
    differ(
        &mut diffs,
        "partitions",
        &ids(&want.partitions),
        &ids(&config.partitions),
    );
    differ(
        &mut diffs,
        "partitionFilters",
        &want.partition_filters,
        &config.partition_filters,
    );
    differ(
        &mut diffs,
        "tableMapping",
        &want.table_mapping,
        &config.table_mapping,
    );
    differ(
        &mut diffs,
        "columnMapping",
        &want.column_mapping,
        &config.column_mapping,
    );
    // A job that does not verify cannot give the evidence a spec that asks for it expects.
    if let Some(verifies) = config.enable_verification {
        differ(
            &mut diffs,
            "enableVerification",
            &spec.enable_verification,
            &verifies,
        );
    }
    if let Some(increment) = config.increment {
        differ(&mut diffs, "increment", &spec.increment, &increment);
    }
    (!diffs.is_empty()).then(|| {
        format!(
            "MMS job {} does not migrate what this spec describes: {}; make the spec describe the job, or adopt another one",
            job.id,
            diffs.join("; ")
        )
    })
}

fn differ<T: PartialEq + Debug>(diffs: &mut Vec<String>, field: &str, spec: &T, job: &T) {
    if spec != job {
        diffs.push(format!(
            "{field} is {spec:?} in the spec, {job:?} in the job"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::mms::MmsJobConfig;

    fn spec() -> MmsJobSpec {
        MmsJobSpec {
            src_db_name: "sales".into(),
            tables: vec!["orders".into(), "customers".into()],
            enable_verification: true,
            ..Default::default()
        }
    }

    fn job() -> MmsJob {
        MmsJob {
            id: 7,
            name: "console-made".into(),
            src_db_name: "sales".into(),
            config: Some(MmsJobConfig {
                tables: vec!["customers".into(), "orders".into()],
                enable_verification: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_same_scope_in_another_order_is_the_same() {
        assert_eq!(scope_difference(&spec(), &job()), None);
    }

    #[test]
    fn a_difference_names_the_field_and_both_values() {
        let mut other = job();
        other.config.as_mut().unwrap().tables = vec!["orders".into()];
        other.config.as_mut().unwrap().enable_verification = Some(false);
        let why = scope_difference(&spec(), &other).unwrap();
        assert!(
            why.starts_with("MMS job 7 does not migrate what this spec describes"),
            "{why}"
        );
        assert!(
            why.contains(r#"tables is {"customers", "orders"} in the spec, {"orders"} in the job"#),
            "{why}"
        );
        assert!(
            why.contains("enableVerification is true in the spec, false in the job"),
            "{why}"
        );
        let mut unread = job();
        unread.config = None;
        assert!(
            scope_difference(&spec(), &unread)
                .unwrap()
                .contains("cannot be checked")
        );
    }

    #[test]
    fn the_annotation_is_checked_once_and_then_kept() {
        let prev = MmsJobStatus::default();
        assert_eq!(resolve(&spec(), &prev, None), Ok(Adoption::Keep));
        assert_eq!(resolve(&spec(), &prev, Some("7")), Ok(Adoption::Check(7)));
        let taken = adopted(&prev, 7, "console-made");
        assert_eq!((taken.adopted_id, taken.job_id), (Some(7), Some(7)));
        assert_eq!(taken.job_name.as_deref(), Some("console-made"));
        assert_eq!(resolve(&spec(), &taken, Some("7")), Ok(Adoption::Keep));
        assert!(
            resolve(&spec(), &taken, Some("8"))
                .unwrap_err()
                .contains("changed from 7 to 8")
        );
        assert!(
            resolve(&spec(), &prev, Some("seven"))
                .unwrap_err()
                .contains("not an MMS job id")
        );
        let own = MmsJobStatus {
            job_id: Some(3),
            ..Default::default()
        };
        assert!(
            resolve(&spec(), &own, Some("7"))
                .unwrap_err()
                .contains("already made its own")
        );
    }

    #[test]
    fn observe_only_needs_a_job_to_observe() {
        let observe = MmsJobSpec {
            management_policy: ManagementPolicy::ObserveOnly,
            ..spec()
        };
        let why = resolve(&observe, &MmsJobStatus::default(), None).unwrap_err();
        assert!(
            why.contains("ObserveOnly follows an existing MMS job"),
            "{why}"
        );
        assert_eq!(
            resolve(&observe, &adopted(&MmsJobStatus::default(), 7, "c"), None),
            Ok(Adoption::Keep),
            "adopted earlier: the annotation's removal does not drop the job"
        );
    }
}
