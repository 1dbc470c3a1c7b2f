use super::*;
use crate::controllers::dts_migration::decide::TaskView;

fn job(id: &str) -> DtsTarget {
    DtsTarget::Job {
        job_id: Some(id.into()),
        instance_id: None,
        schema_changes: false,
    }
}

fn task(status: &str, lag: Option<f64>, at: i64) -> Observed {
    Observed::Task(Box::new(TaskView {
        status: status.into(),
        lag_seconds: lag,
        observed_at: jiff::Timestamp::from_second(1_700_000_000 + at).unwrap(),
        ..TaskView::default()
    }))
}

#[test]
fn tasks_with_an_id_share_a_list_and_the_rest_are_read_alone() {
    assert!(Dts::joins(&job("a"), &job("b")));
    let unbought = DtsTarget::Job {
        job_id: None,
        instance_id: Some("dtsx".into()),
        schema_changes: false,
    };
    let legacy = DtsTarget::Legacy("dtsy".into());
    assert!(!Dts::joins(&job("a"), &unbought));
    assert!(!Dts::joins(&legacy, &job("a")));
    assert!(!Dts::joins(&legacy, &DtsTarget::Legacy("dtsz".into())));
    assert!(Dts::joins(&legacy, &legacy.clone()));
    assert_eq!(BATCH, 30, "the documented largest DescribeDtsJobs page");
}

#[test]
fn every_answer_with_a_delay_is_a_sample_and_otherwise_only_changes_are_news() {
    let old = task("Migrating", Some(3.0), 0);
    assert!(
        Dts::is_news(Some(&old), &task("Migrating", Some(3.0), 10)),
        "the same delay again is a new sample"
    );
    let full = task("Migrating", None, 0);
    assert!(
        !Dts::is_news(Some(&full), &task("Migrating", None, 10)),
        "a later arrival of the same figures is not news"
    );
    assert!(Dts::is_news(Some(&full), &task("Finished", None, 10)));
    assert!(Dts::is_news(None, &full));
    assert!(Dts::is_news(Some(&full), &Observed::Gone));
}
