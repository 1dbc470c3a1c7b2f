//! SelfSubjectAccessReviews: may the operator do what a target's switch and rollback need?

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

use crate::controllers::error::Result;

/// Verbs needed on one object (or on a resource in the namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub group: String,
    pub resource: String,
    pub subresource: Option<String>,
    /// Empty: any object of the resource (e.g. `create`).
    pub name: String,
    pub verbs: Vec<String>,
}

impl Need {
    pub fn object(group: &str, resource: &str, name: &str, verbs: &[&str]) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
            subresource: None,
            name: name.into(),
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
        }
    }

    pub fn subresource(
        group: &str,
        resource: &str,
        subresource: &str,
        name: &str,
        verbs: &[&str],
    ) -> Self {
        Self {
            subresource: Some(subresource.into()),
            ..Self::object(group, resource, name, verbs)
        }
    }

    pub fn namespace(group: &str, resource: &str, verbs: &[&str]) -> Self {
        Self::object(group, resource, "", verbs)
    }

    fn what(&self, ns: &str) -> String {
        let resource = match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        };
        if self.name.is_empty() {
            format!("{resource} in {ns}")
        } else {
            format!("{resource} {} in {ns}", self.name)
        }
    }
}

/// Asks the API server about every need; the first refusal, worded as what to grant.
pub async fn allowed(
    client: &kube::Client,
    ns: &str,
    needs: &[Need],
) -> Result<std::result::Result<(), String>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    for need in needs {
        for verb in &need.verbs {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        namespace: Some(ns.to_string()),
                        verb: Some(verb.clone()),
                        group: Some(need.group.clone()),
                        resource: Some(need.resource.clone()),
                        subresource: need.subresource.clone(),
                        name: (!need.name.is_empty()).then(|| need.name.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let answer = api.create(&PostParams::default(), &review).await?;
            if !answer.status.is_some_and(|s| s.allowed) {
                return Ok(Err(format!(
                    "forbidden: the operator may not {verb} {}; grant it with a Role (see docs/rbac.md)",
                    need.what(ns)
                )));
            }
        }
    }
    Ok(Ok(()))
}
