//! Timer rounds on the simulated clock: each round refreshes the metadata of its database and
//! copies only what is new or changed; jobs without `increment` keep taking everything not
//! DONE; the source inventory grows through [`Mms::add_source_partitions`].

use std::collections::BTreeMap;

use super::{InventoryError, JobRequest, Mms, NewPartitions};
use crate::sim::clock::{SimMillis, parse_time};
use crate::sim::mms::catalog::ObjStatus;
use crate::sim::mms::task::JobStatus;
use crate::sim::scenario::Scenario;

const MINUTE: SimMillis = 60_000;
const HOUR: SimMillis = 60 * MINUTE;

fn at(text: &str) -> SimMillis {
    parse_time(text).expect("RFC 3339")
}

/// The demo's MMS at `start` with the `sales` database of `hive-prod` scanned (ten minutes
/// later); returns it and the source id.
fn scanned_demo(start: SimMillis) -> (Mms, i64) {
    let scenario = Scenario::demo();
    let mut mms = Mms::new(&scenario.mms, &scenario.region, start).unwrap();
    let sid = mms.resolve_source("hive-prod").unwrap();
    mms.start_scan(sid, Some("sales".into()), Vec::new(), start)
        .unwrap();
    mms.advance(start + 10 * MINUTE);
    (mms, sid)
}

/// A job (or timer) request over the whole `sales` database.
fn sales(name: &str) -> JobRequest {
    JobRequest {
        name: Some(name.into()),
        src_db_name: Some("sales".into()),
        ..JobRequest::default()
    }
}

/// Creates a job at `now` and lets it run for an hour of cloud time; returns the job id.
fn run_job(mms: &mut Mms, sid: i64, request: JobRequest, now: SimMillis) -> i64 {
    let creation = mms.create_job(sid, request, now).unwrap();
    mms.advance(now + HOUR);
    mms.async_tasks[&creation]
        .object_id
        .expect("the job was created")
}

fn add(mms: &mut Mms, sid: i64, table: &str, values: &[&str]) -> Result<usize, InventoryError> {
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let new = NewPartitions {
        db: "sales",
        table,
        values: &values,
        rows: Some(1000),
    };
    mms.add_source_partitions(sid, &new)
}

/// The jobs a timer created, oldest first.
fn rounds(mms: &Mms, timer: i64) -> Vec<i64> {
    mms.jobs
        .values()
        .filter(|j| j.timer_id == Some(timer))
        .map(|j| j.id)
        .collect()
}

/// Values of the partitions a job's tasks copy, sorted.
fn planned(mms: &Mms, job: i64) -> Vec<String> {
    let mut values: Vec<String> = mms
        .tasks_of(job)
        .flat_map(|t| &t.partition_ids)
        .map(|p| mms.catalog.partitions[p].value.clone())
        .collect();
    values.sort();
    values
}

/// The catalogue partitions of a table of `hive-prod`: value, status, `updated`.
fn partitions_of(mms: &Mms, sid: i64, table: &str) -> Vec<(String, ObjStatus, bool)> {
    let table = mms
        .catalog
        .tables
        .values()
        .find(|t| t.source_id == sid && t.name == table)
        .expect("scanned");
    mms.catalog
        .partitions_of(table.id)
        .map(|p| (p.value.clone(), p.status, p.updated))
        .collect()
}

#[test]
fn timer_rounds_copy_only_partitions_new_since_the_last_round() {
    let t0 = at("2025-01-01T00:00:00Z");
    let (mut mms, sid) = scanned_demo(t0);
    let full = run_job(&mut mms, sid, sales("full"), t0 + 10 * MINUTE);
    assert_eq!(mms.jobs[&full].status, JobStatus::Done);
    assert!(
        mms.catalog
            .partitions
            .values()
            .filter(|p| p.source_id == sid)
            .all(|p| p.status == ObjStatus::Done)
    );
    let timer = mms
        .create_timer(sid, sales("nightly"), "Daily", "02:00", t0 + HOUR)
        .unwrap();

    mms.advance(at("2025-01-01T03:00:00Z"));
    let first = rounds(&mms, timer);
    assert_eq!(first.len(), 1);
    assert_eq!(
        mms.tasks_of(first[0]).count(),
        0,
        "nothing new after the full job"
    );
    assert_eq!(mms.jobs[&first[0]].status, JobStatus::Done);

    let grown = add(
        &mut mms,
        sid,
        "order_items",
        &["ds=2024-07-01", "ds=2024-07-02"],
    );
    assert_eq!(grown, Ok(2));
    assert_eq!(
        partitions_of(&mms, sid, "order_items").len(),
        30,
        "the source grew, the catalogue waits for a refresh"
    );

    // Just after the second round's job creation (8 s), before its task ends.
    mms.advance(at("2025-01-02T02:00:10Z"));
    let second = rounds(&mms, timer)[1];
    assert_eq!(mms.tasks_of(second).count(), 1);
    assert_eq!(planned(&mms, second), ["ds=2024-07-01", "ds=2024-07-02"]);
    assert_eq!(mms.tasks_of(second).next().unwrap().rows, 2000);

    mms.advance(at("2025-01-02T03:00:00Z"));
    assert_eq!(mms.jobs[&second].status, JobStatus::Done);
    let order_items = partitions_of(&mms, sid, "order_items");
    assert_eq!(order_items.len(), 32);
    assert!(order_items.iter().all(|(_, s, _)| *s == ObjStatus::Done));

    mms.advance(at("2025-01-03T03:00:00Z"));
    let all = rounds(&mms, timer);
    assert_eq!(all.len(), 3);
    assert_eq!(mms.tasks_of(all[2]).count(), 0);
    assert_eq!(mms.jobs[&all[2]].status, JobStatus::Done);
    assert_eq!(mms.timer_logs.len(), 3);
}

#[test]
fn a_round_copies_changed_partitions_again_and_clears_their_flag() {
    let t0 = at("2025-01-01T00:00:00Z");
    let (mut mms, sid) = scanned_demo(t0);
    run_job(&mut mms, sid, sales("full"), t0 + 10 * MINUTE);
    let changed = mms
        .catalog
        .partitions
        .values_mut()
        .find(|p| p.source_id == sid && p.value == "ds=2024-06-05")
        .unwrap();
    // What a scan that saw new sizes leaves behind.
    changed.updated = true;
    let timer = mms
        .create_timer(sid, sales("nightly"), "Daily", "02:00", t0 + HOUR)
        .unwrap();

    mms.advance(at("2025-01-01T03:00:00Z"));
    let round = rounds(&mms, timer)[0];
    assert_eq!(planned(&mms, round), ["ds=2024-06-05"]);
    assert_eq!(mms.jobs[&round].status, JobStatus::Done);
    assert!(
        partitions_of(&mms, sid, "order_items")
            .iter()
            .all(|(_, s, updated)| *s == ObjStatus::Done && !updated)
    );
}

#[test]
fn a_job_without_increment_still_takes_every_partition_not_done() {
    let t0 = at("2025-01-01T00:00:00Z");
    let (mut mms, sid) = scanned_demo(t0);
    let june_end = JobRequest {
        tables: Some(vec!["order_items".into()]),
        partition_filters: Some(BTreeMap::from([(
            "order_items".to_string(),
            "ds >= '2024-06-21'".to_string(),
        )])),
        ..sales("june-end")
    };
    run_job(&mut mms, sid, june_end, t0 + 10 * MINUTE);
    add(
        &mut mms,
        sid,
        "order_items",
        &["ds=2024-07-01", "ds=2024-07-02"],
    )
    .unwrap();
    mms.start_scan(sid, Some("sales".into()), Vec::new(), t0 + 2 * HOUR)
        .unwrap();
    mms.advance(t0 + 3 * HOUR);

    let rest = JobRequest {
        tables: Some(vec!["order_items".into()]),
        ..sales("order-items-rest")
    };
    let creation = mms.create_job(sid, rest, t0 + 3 * HOUR).unwrap();
    mms.advance(t0 + 3 * HOUR + 10_000);
    let job = mms.async_tasks[&creation].object_id.unwrap();
    let values = planned(&mms, job);
    assert_eq!(values.len(), 22, "the 20 older not DONE and the 2 new");
    assert!(
        values
            .iter()
            .all(|v| v.as_str() < "ds=2024-06-21" || v.starts_with("ds=2024-07"))
    );
}

#[test]
fn only_full_jobs_recreate_a_partitioned_table_without_partitions() {
    let scenario = Scenario::from_yaml(
        "mms:\n  dataSources:\n    - name: lake\n      type: HIVE\n      dstProject: mc_lake\n      \
         databases:\n        - name: raw\n          tables:\n            - name: clicks\n              \
         columns: [{name: id, type: BIGINT}]\n              \
         partitionColumns: [{name: ds, type: STRING}]\n",
    )
    .unwrap();
    let t0 = at("2025-01-01T00:00:00Z");
    let mut mms = Mms::new(&scenario.mms, &scenario.region, t0).unwrap();
    let sid = mms.resolve_source("lake").unwrap();
    let raw = |name: &str, increment: bool| JobRequest {
        name: Some(name.into()),
        src_db_name: Some("raw".into()),
        increment: Some(increment),
        ..JobRequest::default()
    };
    let full = run_job(&mut mms, sid, raw("full", false), t0);
    assert_eq!(mms.tasks_of(full).count(), 1, "the schema-only task");
    let again = run_job(&mut mms, sid, raw("full-again", false), t0 + 2 * HOUR);
    assert_eq!(mms.tasks_of(again).count(), 1);
    let round = run_job(&mut mms, sid, raw("round", true), t0 + 4 * HOUR);
    assert_eq!(mms.tasks_of(round).count(), 0);
    assert_eq!(mms.jobs[&round].status, JobStatus::Done);
}

#[test]
fn the_inventory_grows_only_by_well_formed_partitions_of_known_tables() {
    let (mut mms, sid) = scanned_demo(at("2025-01-01T00:00:00Z"));
    let not_found = |r: Result<usize, _>| matches!(r, Err(InventoryError::NotFound(_)));
    let invalid = |r: Result<usize, _>| matches!(r, Err(InventoryError::Invalid(_)));
    assert!(not_found(add(&mut mms, sid, "nope", &["ds=2025-01-03"])));
    assert!(not_found(add(
        &mut mms,
        42,
        "order_items",
        &["ds=2025-01-03"]
    )));
    assert!(invalid(add(&mut mms, sid, "orders", &["ds=2025-01-03"])));
    assert!(invalid(add(&mut mms, sid, "order_items", &[])));
    assert!(invalid(add(
        &mut mms,
        sid,
        "order_items",
        &["ds=2025-01-03", "dt=2025-01-04"]
    )));
    assert!(invalid(add(&mut mms, sid, "events", &["ds=2025-01-03"])));
    assert_eq!(
        add(
            &mut mms,
            sid,
            "order_items",
            &["ds=2024-06-01", "ds=2025-01-03", "ds=2025-01-03"]
        ),
        Ok(1),
        "values the source has are not added twice"
    );
    assert_eq!(
        add(&mut mms, sid, "events", &["ds=2025-01-03/region=cn"]),
        Ok(1)
    );
}
