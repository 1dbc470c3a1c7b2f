//! Events about the operator's objects. Warnings go through kube's `Recorder`, which folds a
//! repeated one (the same error, again and again) into one event with a count. Normal events
//! (phase changes, steps done) are created as they are: kube's recorder keeps every event it
//! sent, whole, for six minutes, and only forgets them when it sends the next one. After a
//! creation burst of 2,500 objects that was thousands of full events held in memory for
//! folding that never happens, since a phase change does not repeat.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

pub struct Events {
    client: Client,
    reporter: Reporter,
    warnings: Recorder,
}

impl Events {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self {
            warnings: Recorder::new(client.clone(), reporter.clone()),
            client,
            reporter,
        }
    }

    /// Sends `event` about `regarding`.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        if event.type_ == EventType::Warning {
            return self.warnings.publish(event, regarding).await;
        }
        let ns = regarding.namespace.as_deref().unwrap_or("default");
        Api::<K8sEvent>::namespaced(self.client.clone(), ns)
            .create(
                &PostParams::default(),
                &normal(event, regarding, &self.reporter, jiff::Timestamp::now()),
            )
            .await
            .map(drop)
    }
}

/// The events.k8s.io/v1 Event, spelled as kube's recorder spells a first occurrence.
fn normal(
    event: &Event,
    regarding: &ObjectReference,
    reporter: &Reporter,
    now: jiff::Timestamp,
) -> K8sEvent {
    K8sEvent {
        action: Some(event.action.clone()),
        reason: Some(event.reason.clone()),
        note: event.note.clone(),
        type_: Some("Normal".into()),
        event_time: Some(MicroTime(now)),
        regarding: Some(regarding.clone()),
        related: event.secondary.clone(),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(
            reporter
                .instance
                .clone()
                .unwrap_or_else(|| reporter.controller.clone()),
        ),
        metadata: ObjectMeta {
            namespace: regarding.namespace.clone(),
            name: Some(format!(
                "{}.{:x}",
                regarding.name.as_deref().unwrap_or(&reporter.controller),
                now.as_nanosecond()
            )),
            ..ObjectMeta::default()
        },
        ..K8sEvent::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_event_is_spelled_like_the_recorder_spells_it() {
        let regarding = ObjectReference {
            kind: Some("MmsJob".into()),
            name: Some("orders".into()),
            namespace: Some("sales".into()),
            ..ObjectReference::default()
        };
        let reporter = Reporter {
            controller: "aliyun-migration-operator".into(),
            instance: Some("pod-1".into()),
        };
        let event = Event {
            type_: EventType::Normal,
            reason: "Running".into(),
            note: Some("job 42 runs".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let e = normal(&event, &regarding, &reporter, now);
        assert_eq!(e.metadata.namespace.as_deref(), Some("sales"));
        assert_eq!(
            e.metadata.name,
            Some(format!("orders.{:x}", now.as_nanosecond()))
        );
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        assert_eq!(
            (e.reason.as_deref(), e.action.as_deref(), e.note.as_deref()),
            (Some("Running"), Some("Reconcile"), Some("job 42 runs"))
        );
        assert_eq!(e.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(e.regarding, Some(regarding));
        assert!(e.series.is_none() && e.deprecated_count.is_none());
    }
}
