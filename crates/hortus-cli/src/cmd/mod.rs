//! One module per subcommand.

pub mod babeld_seqno;
pub mod check;
pub mod diff;
pub mod endpoints;
pub mod failover;
pub mod forwarder_client;
pub mod graph;
pub mod keys;
pub mod lab;
pub mod plan;
pub mod ports;
pub mod reconcile;
pub mod render;
pub mod status;
