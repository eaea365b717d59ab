//! Starts an entity's actor on first use and hands out its address. An actor that died (a panic
//! in a handler drops it; an idle one stops itself) is started afresh on the next use, and
//! reloads its state from the store as it starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, ArbiterHandle, Context};

pub struct Registry<A: Actor<Context = Context<A>>> {
    kind: &'static str,
    arbiter: ArbiterHandle,
    actors: Mutex<HashMap<i64, Addr<A>>>,
    make: Box<dyn Fn(i64) -> A + Send + Sync>,
}

impl<A: Actor<Context = Context<A>> + Send> Registry<A> {
    /// Actors are started on `arbiter`, one thread shared by all of this kind, so that they
    /// outlive the HTTP worker that happened to ask for them first.
    pub fn new(
        kind: &'static str,
        arbiter: ArbiterHandle,
        make: impl Fn(i64) -> A + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            kind,
            arbiter,
            actors: Mutex::new(HashMap::new()),
            make: Box::new(make),
        })
    }

    pub fn get(&self, id: i64) -> Addr<A> {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = actors.get(&id) {
            if addr.connected() {
                return addr.clone();
            }
            tracing::info!(kind = self.kind, id, "actor stopped or died; starting it again");
        }
        let actor = (self.make)(id);
        let addr = A::start_in_arbiter(&self.arbiter, move |_| actor);
        actors.insert(id, addr.clone());
        addr
    }

    /// Addresses of the actors running now, for fan-out of events; forgets dead ones.
    pub fn running(&self) -> Vec<(i64, Addr<A>)> {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        actors.retain(|_, a| a.connected());
        actors.iter().map(|(k, a)| (*k, a.clone())).collect()
    }

    pub fn len(&self) -> usize {
        self.running().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
