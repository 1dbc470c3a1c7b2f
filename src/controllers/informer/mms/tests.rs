//! The MMS informer against the in-process simulator (frozen clock): what one round costs.

use std::time::Duration;

use futures::StreamExt;

use std::sync::Arc;

use super::*;
use crate::aliyun::mms::{CreateMmsJobRequest, ListDataSourcesRequest};
use crate::aliyun::{Cloud, CloudConfig, Credentials, RateLimits, SecretString};
use crate::controllers::informer::{ObjKey, Observation};
use crate::metrics::Metrics;
use crate::sim::scenario::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET};
use crate::sim::{SimConfig, SimHandle, Simulator};

const JOBS: usize = 30;

async fn sim() -> SimHandle {
    let mut config = SimConfig::demo().with_time_scale(0.0);
    config.scenario.rate_limits.per_account_default = 100_000;
    Simulator::start(config).await.expect("simulator starts")
}

fn client(sim: &SimHandle) -> MmsClient {
    let cloud = Cloud::new(CloudConfig {
        endpoint_override: Some(sim.base_url()),
        rate_limits: RateLimits::unlimited(),
        ..CloudConfig::default()
    })
    .unwrap();
    let creds = Credentials::static_key(
        DEFAULT_ACCESS_KEY_ID,
        SecretString::new(DEFAULT_ACCESS_KEY_SECRET),
        None,
    );
    cloud.mms("cn-hangzhou", creds)
}

/// The UID the test's job `name` is marked with.
fn uid_of(name: &str) -> String {
    format!("uid-{name}")
}

/// A scanned source with `JOBS` jobs created in MMS (each with its ownership marker).
async fn source_with_jobs(sim: &SimHandle, mms: &MmsClient) -> (i64, Vec<String>) {
    let filter = ListDataSourcesRequest {
        name: Some("hive-prod-archive".into()),
        ..Default::default()
    };
    let source = mms.list_data_sources(&filter).await.unwrap().items[0].id;
    let names: Vec<String> = (0..JOBS).map(|i| format!("ns-job-{i}")).collect();
    for name in &names {
        let req = CreateMmsJobRequest {
            name: name.clone(),
            src_db_name: "sales_2019".into(),
            tables: vec!["orders".into()],
            others: Some(
                serde_json::json!({ crate::controllers::ownership::OWNER_KEY: uid_of(name) }),
            ),
            ..Default::default()
        };
        mms.create_job(source, &req).await.unwrap();
    }
    // The async tasks create the jobs.
    sim.admin().advance(30.0).await.unwrap();
    (source, names)
}

fn track(mms: &MmsClient, source_id: i64, job: Target) -> Track {
    track_every(mms, source_id, job, Duration::from_millis(100))
}

fn track_every(mms: &MmsClient, source_id: i64, job: Target, interval: Duration) -> Track {
    Track {
        client: mms.clone(),
        target: MmsTarget { source_id, job },
        interval,
        memo: JobMemo::default(),
        poll_now: false,
    }
}

fn informer(rate: f64) -> MmsInformer {
    informer_refreshing(rate, super::TASK_REFRESH_POLLS)
}

fn informer_refreshing(rate: f64, task_refresh_polls: u32) -> MmsInformer {
    MmsInformer::new(
        Mms {
            create_grace: Duration::from_secs(20),
            task_refresh_polls,
        },
        Arc::new(Metrics::new()),
        rate,
    )
}

async fn calls(sim: &SimHandle, action: &str) -> usize {
    sim.admin().requests_for(action).await.unwrap().len()
}

async fn triggered(
    rx: &mut futures::channel::mpsc::UnboundedReceiver<kube::runtime::reflector::ObjectRef<MmsJob>>,
    n: usize,
) {
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(10), rx.next())
            .await
            .expect("a trigger")
            .expect("the channel stays open");
    }
}

#[tokio::test]
async fn one_list_serves_many_jobs_and_tasks_are_read_once_per_change() {
    let sim = sim().await;
    let mms = client(&sim);
    let (source_id, names) = source_with_jobs(&sim, &mms).await;
    // An unlimited budget: intervals stay nominal. A second apart, so that the counts below
    // are of one round even on a loaded machine; no periodic task re-read, which a slow
    // machine's longer sleeps would otherwise reach.
    let informer = informer_refreshing(f64::INFINITY, u32::MAX);
    let every = Duration::from_secs(1);
    let track =
        |mms: &MmsClient, source_id: i64, job: Target| track_every(mms, source_id, job, every);
    let mut rx = informer.subscribe();
    sim.admin().clear_requests().await.unwrap();
    let keys: Vec<ObjKey> = names.iter().map(|n| ("ns".into(), n.clone())).collect();

    // First observations by name: one listing answers all of them.
    for (key, name) in keys.iter().zip(&names) {
        assert_eq!(
            informer.track(
                key,
                track(
                    &mms,
                    source_id,
                    Target::Name {
                        name: name.clone(),
                        uid: uid_of(name),
                    }
                )
            ),
            None
        );
    }
    triggered(&mut rx, JOBS).await;
    let mut ids = Vec::new();
    for (key, name) in keys.iter().zip(&names) {
        match informer.track(
            key,
            track(
                &mms,
                source_id,
                Target::Name {
                    name: name.clone(),
                    uid: uid_of(name),
                },
            ),
        ) {
            Some(Observation {
                observed: Observed::Adoptable(id),
                ..
            }) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(calls(&sim, "ListMmsJobs").await, 1);

    // The jobs themselves: the same one list, plus one task read per job that runs (not one
    // per state); a waiting job's figures tell its tasks (all INIT) without a read.
    let running = mms
        .list_all_jobs(source_id, &Default::default(), 100)
        .await
        .unwrap()
        .items
        .iter()
        .filter(|j| plan::implied_view(j).is_none())
        .count();
    assert!(
        running > 0 && running < JOBS,
        "{running} of {JOBS} jobs run"
    );
    sim.admin().clear_requests().await.unwrap();
    for (key, id) in keys.iter().zip(&ids) {
        informer.track(key, track(&mms, source_id, Target::Job(*id)));
    }
    triggered(&mut rx, JOBS).await;
    for (key, id) in keys.iter().zip(&ids) {
        let observed = informer
            .track(key, track(&mms, source_id, Target::Job(*id)))
            .unwrap()
            .observed;
        let Observed::Job(view) = observed else {
            panic!("{observed:?}")
        };
        assert_eq!(view.id, *id);
        assert_eq!(view.task_counts.values().sum::<i64>(), view.task_num);
    }
    assert_eq!(calls(&sim, "ListMmsTasks").await, running);
    assert_eq!(calls(&sim, "ListMmsJobs").await, 1);
    let lists = calls(&sim, "ListMmsJobs").await;

    // Nothing moved (frozen clock): later rounds list, and read no task.
    tokio::time::sleep(every * 2 + every / 2).await;
    assert!(calls(&sim, "ListMmsJobs").await > lists);
    assert_eq!(
        calls(&sim, "ListMmsTasks").await,
        running,
        "no change, no task read"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(100), rx.next())
            .await
            .is_err(),
        "no change, no reconcile"
    );

    // Untracked (finished) objects cost nothing.
    for key in &keys {
        informer.untrack(key);
    }
    tokio::time::sleep(every + every / 5).await;
    let settled = sim.admin().requests(0).await.unwrap().len();
    tokio::time::sleep(every * 2).await;
    assert_eq!(sim.admin().requests(0).await.unwrap().len(), settled);
    informer.stop();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_deleted_job_is_gone_and_a_new_target_forgets_the_old_observation() {
    let sim = sim().await;
    let mms = client(&sim);
    let (source_id, names) = source_with_jobs(&sim, &mms).await;
    let all = mms
        .list_all_jobs(source_id, &Default::default(), 100)
        .await
        .unwrap()
        .items;
    let id_of = |name: &str| all.iter().find(|j| j.name == name).unwrap().id;
    let (kept, deleted) = (id_of(&names[0]), id_of(&names[1]));
    mms.delete_job(source_id, deleted).await.unwrap();
    let informer = informer(8.0);
    let mut rx = informer.subscribe();
    let (a, b): (ObjKey, ObjKey) = (("ns".into(), "a".into()), ("ns".into(), "b".into()));
    informer.track(&a, track(&mms, source_id, Target::Job(kept)));
    informer.track(&b, track(&mms, source_id, Target::Job(deleted)));
    triggered(&mut rx, 2).await;
    let observed = |key| informer.track(key, track(&mms, source_id, Target::Job(0)));
    assert!(matches!(
        informer.track(&b, track(&mms, source_id, Target::Job(deleted))),
        Some(Observation {
            observed: Observed::Gone(id),
            ..
        }) if id == deleted
    ));
    // Re-targeting forgets what was seen for the old target.
    assert_eq!(observed(&a), None);
    informer.stop();
    sim.shutdown().await;
}
