//! Cloud-side informers: per account (credential identity), region and product, one background
//! poller reads what the operator tracks in batches (list pages instead of a read per object) and
//! fans the results out to the objects. Reconciles read the cached observations and never poll
//! themselves; a changed observation triggers the object's reconcile.
//!
//! The pollers are background tasks: they wait for the account's budget in turn, at the priority
//! of what they read (first observations before periodic polls), behind the mutating calls
//! reconciles send.

pub mod dts;
mod follow;
pub mod mms;
mod poller;
mod rounds;
pub mod schedule;

pub use follow::Informer;
pub use poller::{Observation, Poller, Track};

use std::sync::Mutex;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kube::Resource;
use kube::runtime::reflector::ObjectRef;

/// Namespace and name of a tracked object.
pub type ObjKey = (String, String);

/// One budget and one poller: a credential identity in a region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Account {
    pub identity: u64,
    pub region: String,
}

impl Account {
    /// A metric label that tells accounts apart without naming them (the identity is already a
    /// hash; half of it is plenty).
    pub fn label(&self) -> String {
        format!("{:08x}", self.identity >> 32)
    }
}

/// Reconcile requests from an informer to its kind's controller.
pub struct Triggers<K: Resource<DynamicType = ()>> {
    tx: Mutex<Option<UnboundedSender<ObjectRef<K>>>>,
}

impl<K: Resource<DynamicType = ()>> Default for Triggers<K> {
    fn default() -> Self {
        Self {
            tx: Mutex::new(None),
        }
    }
}

impl<K: Resource<DynamicType = ()>> Triggers<K> {
    /// A fresh stream for a controller that starts (again, after a lost leadership).
    pub fn subscribe(&self) -> UnboundedReceiver<ObjectRef<K>> {
        let (tx, rx) = unbounded();
        *self.tx.lock().expect("trigger lock") = Some(tx);
        rx
    }

    /// Asks for a reconcile of `key`; dropped when no controller listens.
    pub fn send(&self, key: &ObjKey) {
        if let Some(tx) = self.tx.lock().expect("trigger lock").as_ref() {
            let _ = tx.unbounded_send(ObjectRef::new(&key.1).within(&key.0));
        }
    }
}
