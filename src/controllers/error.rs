//! The error every reconciler returns, split into what waiting can fix and what it cannot.

/// A reconcile failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed (transient unless it says otherwise).
    #[error("Kubernetes API: {}", kube_message(.0))]
    Kube(#[from] kube::Error),
    /// The cloud API failed; the error knows whether retrying helps. Shown without request
    /// ids and other per-request details, so that a condition or event does not change while
    /// nothing a user cares about changed (logs add the request id).
    #[error("{}", cloud_message(.0))]
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

    /// Whether polling stops until the spec or a referenced Secret changes: the spec, the
    /// credentials or the cloud's refusal says a change is needed (Kubernetes API errors are
    /// retried slowly instead: RBAC may be fixed without touching the object).
    pub fn awaits_change(&self) -> bool {
        match self {
            Error::InvalidSpec(_) | Error::Credentials(_) => true,
            // An STS token that expired or was rotated clears up with the next one.
            Error::Cloud(e) => e.is_terminal() && !e.is_invalid_security_token(),
            Error::Kube(_) | Error::Dependency(_) => false,
        }
    }

    /// The cloud request id, for logs and support tickets.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Cloud(e) => e.request_id(),
            _ => None,
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
            Error::Cloud(e) if credentials_refused(e) => "CredentialsRejected",
            Error::Cloud(e) if e.is_terminal() => "CloudRejected",
            Error::Cloud(_) => "CloudUnavailable",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Credentials(_) => "CredentialsUnavailable",
            Error::Dependency(_) => "DependencyNotReady",
        }
    }
}

/// Whether the cloud refused the credentials themselves (not a permission on one action), or
/// the role exchange (STS) failed for good.
fn credentials_refused(e: &crate::aliyun::Error) -> bool {
    if e.product() == Some("sts") && e.is_terminal() {
        return true;
    }
    let code = e.code().unwrap_or_default();
    [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
    ]
    .iter()
    .any(|c| code.starts_with(c))
}

/// A cloud error for conditions and events: stable ([`crate::aliyun::Error::summary`]), and
/// saying what to fix when the credentials were refused.
fn cloud_message(e: &crate::aliyun::Error) -> String {
    if credentials_refused(e) {
        format!(
            "{}: the cloud refused the credentials; check the AccessKey pair (or token) in the credentials Secret, or the role in spec.credentials",
            e.summary()
        )
    } else {
        e.summary()
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
