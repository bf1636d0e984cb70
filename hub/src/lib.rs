//! The yipanqi hub: consumes the region's provincial queues, translates each legacy
//! document into canonical `yipanqi/1` messages (through `yipanqi-adapters`), validates
//! them (`yipanqi-schemas`), routes them to the owning jurisdiction, stores them, and
//! delivers them with publisher confirms.
//!
//! The message's journey, file by file: `amqp/consumer.rs` → `pipeline.rs` →
//! `routing.rs` → `store/` → `amqp/publisher.rs`; `hub.rs` supervises, `api/` serves HTTP, `topology.rs`
//! declares the broker objects, and `cli/` holds the command-line tools.

pub mod access;
pub mod amqp;
pub mod cli;
pub mod clock;
pub mod config;
pub mod deadlines;
pub mod definitions;
pub mod gauges;
pub mod health;
pub mod api;
pub mod hub;
pub mod pipeline;
pub mod reports;
pub mod routing;
pub mod sharing;
pub mod store;
pub mod synthetic;
pub mod telemetry;
pub mod topology;
