//! Starts an entity's actor on first use and hands out its address. An actor that died (a panic
//! in a handler drops it; an idle one stops itself) is started afresh on the next use, and
//! reloads its state from the store as it starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, ArbiterHandle, Context};

/// The map is swept of stopped actors whenever its size reaches a multiple of this.
const SWEEP_EVERY: usize = 1024;

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
        // Entities come and go (a conversation per chat): forget stopped actors now and then,
        // so the map does not grow with every id ever seen.
        if actors.len().is_multiple_of(SWEEP_EVERY) {
            actors.retain(|_, a| a.connected());
        }
        addr
    }

    /// Addresses of the actors running now, for fan-out of events; forgets dead ones.
    pub fn running(&self) -> Vec<(i64, Addr<A>)> {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        actors.retain(|_, a| a.connected());
        actors.iter().map(|(k, a)| (*k, a.clone())).collect()
    }

    #[cfg(test)]
    fn get_existing_connected(&self, id: i64) -> bool {
        let actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        actors.get(&id).is_some_and(|a| a.connected())
    }

    pub fn len(&self) -> usize {
        self.running().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::{Handler, Message};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Stands in for an entity actor: counts how often it loaded its state.
    struct Probe {
        loads: Arc<AtomicUsize>,
    }

    impl Actor for Probe {
        type Context = Context<Self>;
        fn started(&mut self, _: &mut Context<Self>) {
            self.loads.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Message)]
    #[rtype(result = "usize")]
    struct Ping;

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Explode;

    impl Handler<Ping> for Probe {
        type Result = usize;
        fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> usize {
            self.loads.load(Ordering::SeqCst)
        }
    }

    impl Handler<Explode> for Probe {
        type Result = ();
        fn handle(&mut self, _: Explode, _: &mut Context<Self>) {
            panic!("a bug in a handler");
        }
    }

    impl Handler<Stop> for Probe {
        type Result = ();
        fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
            actix::ActorContext::stop(ctx);
        }
    }

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Stop;

    fn registry(loads: &Arc<AtomicUsize>) -> Arc<Registry<Probe>> {
        let loads = loads.clone();
        let arbiter = actix::Arbiter::new();
        Registry::new("probe", arbiter.handle(), move |_| Probe { loads: loads.clone() })
    }

    #[actix::test]
    async fn starts_once_and_reuses() {
        let loads = Arc::new(AtomicUsize::new(0));
        let reg = registry(&loads);
        assert_eq!(reg.get(7).send(Ping).await.ok(), Some(1));
        assert_eq!(reg.get(7).send(Ping).await.ok(), Some(1), "same actor on second use");
        assert_eq!(reg.get(8).send(Ping).await.ok(), Some(2), "one actor per entity");
        assert_eq!(reg.len(), 2);
    }

    #[actix::test]
    async fn restarts_after_a_panic_and_reloads() {
        let loads = Arc::new(AtomicUsize::new(0));
        let reg = registry(&loads);
        assert_eq!(reg.get(1).send(Ping).await.ok(), Some(1));
        assert!(reg.get(1).send(Explode).await.is_err(), "the panicking actor dies");
        // The dead actor's mailbox closes as its thread unwinds the task.
        for _ in 0..50 {
            if !reg.get_existing_connected(1) {
                break;
            }
            actix::clock::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            reg.get(1).send(Ping).await.ok(),
            Some(2),
            "a fresh actor, state loaded again"
        );
    }

    #[actix::test]
    async fn a_stopped_actor_is_started_again_on_next_use() {
        let loads = Arc::new(AtomicUsize::new(0));
        let reg = registry(&loads);
        reg.get(3).send(Stop).await.ok();
        for _ in 0..50 {
            if !reg.get_existing_connected(3) {
                break;
            }
            actix::clock::sleep(Duration::from_millis(10)).await;
        }
        assert!(reg.is_empty(), "stopped actors are forgotten");
        assert_eq!(reg.get(3).send(Ping).await.ok(), Some(2));
    }
}
