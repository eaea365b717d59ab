//! End-to-end tests: each starts real `hub` processes (the built binary) on free ports against
//! real stores (SQLite files; PostgreSQL and Redis on this machine) and drives them over HTTP and
//! WebSocket as clients would.

#[path = "it/harness.rs"]
mod harness;

#[path = "it/admin.rs"]
mod admin;
#[path = "it/bad_input.rs"]
mod bad_input;
#[path = "it/capacity.rs"]
mod capacity;
#[path = "it/chat.rs"]
mod chat;
#[path = "it/concurrency.rs"]
mod concurrency;
#[path = "it/desk.rs"]
mod desk;
#[path = "it/desk_hooks.rs"]
mod desk_hooks;
#[path = "it/fleet_day.rs"]
mod fleet_day;
#[path = "it/mileage.rs"]
mod mileage;
#[path = "it/namespace.rs"]
mod namespace;
#[path = "it/queue_flow.rs"]
mod queue_flow;
#[path = "it/restart.rs"]
mod restart;
#[path = "it/sensors.rs"]
mod sensors;
#[path = "it/service.rs"]
mod service;
#[path = "it/shutdown.rs"]
mod shutdown;
#[path = "it/slow_client.rs"]
mod slow_client;
#[path = "it/sockets.rs"]
mod sockets;
#[path = "it/trackers.rs"]
mod trackers;
#[path = "it/two_nodes.rs"]
mod two_nodes;
#[path = "it/windows.rs"]
mod windows;
