//! The error every reconciler returns, split into what waiting can fix and what it cannot.

/// A reconcile failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed (transient unless it says otherwise).
    #[error("Kubernetes API: {}", kube_message(.0))]
    Kube(#[from] kube::Error),
    /// The cloud API failed; the error knows whether retrying helps.
    #[error("{0}")]
    Cloud(#[from] crate::aliyun::Error),
    /// The spec cannot be acted on; the message says what to change.
    #[error("{0}")]
    InvalidSpec(String),
    /// Credentials (Secret missing, key missing, RRSA not configured) — fixed outside the spec.
    #[error("{0}")]
    Credentials(String),
    /// A referenced object is not there or not ready yet.
    #[error("{0}")]
    Dependency(String),
}

impl Error {
    /// Whether waiting and retrying can fix it. Terminal errors are reported in status and
    /// retried slowly (a Secret may be created later), never in a hot loop.
    pub fn is_terminal(&self) -> bool {
        match self {
            Error::Kube(kube::Error::Api(status)) => {
                matches!(status.code, 400 | 403 | 404 | 422)
            }
            Error::Kube(_) => false,
            Error::Cloud(e) => e.is_terminal(),
            Error::InvalidSpec(_) | Error::Credentials(_) => true,
            Error::Dependency(_) => false,
        }
    }

    /// Whether the cloud asked us to slow down.
    pub fn is_throttling(&self) -> bool {
        matches!(self, Error::Cloud(e) if e.is_throttling())
    }

    /// A stable PascalCase reason for conditions, events and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(status)) if status.code == 403 => "KubeForbidden",
            Error::Kube(kube::Error::Api(status)) if status.code == 409 => "KubeConflict",
            Error::Kube(_) => "KubeError",
            Error::Cloud(e) if e.is_throttling() => "CloudThrottled",
            Error::Cloud(e) if e.is_terminal() => "CloudRejected",
            Error::Cloud(_) => "CloudUnavailable",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Credentials(_) => "CredentialsUnavailable",
            Error::Dependency(_) => "DependencyNotReady",
        }
    }
}

/// The API server's own message (the full status debug output is noise in events and logs).
fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
