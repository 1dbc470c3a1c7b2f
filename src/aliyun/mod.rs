//! The Alibaba Cloud client: signing, credentials, transport, masking and the typed MMS and DTS
//! operations. Knows HTTP and Alibaba Cloud; nothing about Kubernetes.

pub mod signer;
