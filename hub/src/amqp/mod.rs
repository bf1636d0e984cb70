//! The broker side of the hub: the reconnecting connection, the per-province consumers
//! and the confirming publisher. Topology lives in `topology.rs`.

pub mod connection;
pub mod consumer;
pub mod publisher;
