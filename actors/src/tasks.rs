//! The owner of every long-lived task: it restarts a task that ends or panics (logging the
//! panic and counting it for `/metrics`), and at shutdown it tells them all to stop and waits for
//! them, within a grace period. A task stops taking work when its token is cancelled, finishes
//! what it holds, and returns; what is still running when the grace is over dies with the
//! process, which loses nothing acknowledged (work is stored before it is acknowledged).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a task that ended or panicked waits before it is started again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Tasks(Arc<Inner>);

struct Inner {
    stop: CancellationToken,
    tracker: TaskTracker,
    figures: Mutex<BTreeMap<&'static str, TaskFigures>>,
    /// Tasks whose next run panics at once: a drill of the restart path (`panic_once`).
    drills: Mutex<Vec<String>>,
}

/// What `/metrics` shows of one supervised task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskFigures {
    /// Times it was started again after it ended or panicked.
    pub restarts: u64,
    /// Times it panicked.
    pub panics: u64,
    pub running: bool,
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new(CancellationToken::new())
    }
}

impl Tasks {
    /// Tasks stopped by `stop` (cancelled at shutdown).
    pub fn new(stop: CancellationToken) -> Self {
        Self(Arc::new(Inner {
            stop,
            tracker: TaskTracker::new(),
            figures: Mutex::default(),
            drills: Mutex::default(),
        }))
    }

    /// Makes the next run of the task `name` panic as it starts: a drill that shows a panic is
    /// caught, logged, counted and followed by a restart (the tests use it; an operator may too).
    pub fn panic_once(&self, name: &str) {
        if let Ok(mut d) = self.0.drills.lock() {
            d.push(name.to_string());
        }
    }

    fn drill(&self, name: &str) -> bool {
        let Ok(mut d) = self.0.drills.lock() else { return false };
        let before = d.len();
        d.retain(|n| n != name);
        d.len() != before
    }

    /// The token every task watches: cancelled when the hub stops taking work.
    pub fn token(&self) -> CancellationToken {
        self.0.stop.clone()
    }

    pub fn stopping(&self) -> bool {
        self.0.stop.is_cancelled()
    }

    /// Runs `make()` until the hub stops, starting it again whenever it ends or panics before.
    pub fn supervise<F, Fut>(&self, name: &'static str, make: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let tasks = self.clone();
        self.figure(name, |f| f.running = true);
        self.0.tracker.spawn(async move {
            loop {
                let (run, drill) = (make(), tasks.drill(name));
                let outcome = tokio::spawn(async move {
                    if drill {
                        panic!("drill: {name} panics once");
                    }
                    run.await
                })
                .await;
                if tasks.stopping() {
                    break;
                }
                tasks.ended_early(name, outcome, true);
                tasks.figure(name, |f| f.restarts += 1);
                tokio::select! {
                    _ = tasks.0.stop.cancelled() => break,
                    _ = tokio::time::sleep(RESTART_AFTER) => {}
                }
            }
            tasks.figure(name, |f| f.running = false);
        });
    }

    /// Runs `fut`, which cannot be started twice (a protocol library's own loop), until the hub
    /// stops: if it ends or panics before, that is logged and counted, and the node's health
    /// shows it down (`/metrics`: not running).
    pub fn watch<Fut>(&self, name: &'static str, fut: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let tasks = self.clone();
        self.figure(name, |f| f.running = true);
        self.0.tracker.spawn(async move {
            let outcome = tokio::spawn(fut).await;
            if !tasks.stopping() {
                tasks.ended_early(name, outcome, false);
            }
            tasks.figure(name, |f| f.running = false);
        });
    }

    /// Runs one piece of work (a call, an SMTP session) that shutdown waits for, within the grace.
    pub fn spawn<Fut>(&self, fut: Fut) -> tokio::task::JoinHandle<Fut::Output>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.0.tracker.spawn(fut)
    }

    /// Stops taking work and waits up to `grace` for every task to finish. Answers how many were
    /// still running when the grace ran out.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.0.stop.cancel();
        self.0.tracker.close();
        if tokio::time::timeout(grace, self.0.tracker.wait()).await.is_err() {
            let left = self.0.tracker.len();
            tracing::warn!(
                tasks = left,
                grace_secs = grace.as_secs(),
                "tasks still running when the grace ran out"
            );
            return left;
        }
        0
    }

    /// Every supervised task's figures, by name.
    pub fn figures(&self) -> Vec<(&'static str, TaskFigures)> {
        self.0
            .figures
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }

    /// Logs a task that ended before the hub stopped, and counts it when it panicked.
    fn ended_early(&self, name: &'static str, outcome: Result<(), tokio::task::JoinError>, restarting: bool) {
        let then = if restarting {
            "starting it again"
        } else {
            "it cannot be started again"
        };
        match outcome {
            Ok(()) if restarting => tracing::warn!(task = name, "task ended; {then}"),
            Ok(()) => tracing::error!(task = name, "task ended; {then}"),
            Err(e) => {
                let panicked = e.is_panic();
                let why = if panicked {
                    panic_message(e.into_panic())
                } else {
                    e.to_string()
                };
                tracing::error!(task = name, panic = %why, "task panicked; {then}");
                self.figure(name, |f| f.panics += u64::from(panicked));
            }
        }
    }

    fn figure(&self, name: &'static str, change: impl FnOnce(&mut TaskFigures)) {
        if let Ok(mut m) = self.0.figures.lock() {
            change(m.entry(name).or_default());
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_task_that_panics_is_started_again_and_counted() {
        let tasks = Tasks::default();
        let runs = Arc::new(AtomicU32::new(0));
        let seen = runs.clone();
        tasks.supervise("flaky", move || {
            let runs = seen.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                std::future::pending::<()>().await;
            }
        });
        for _ in 0..300 {
            if runs.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2, "started again after the panic");
        let figures = tasks.figures();
        assert_eq!(
            figures,
            vec![(
                "flaky",
                TaskFigures {
                    restarts: 1,
                    panics: 1,
                    running: true
                }
            )]
        );
        // A task waiting on nothing but its token is stopped; shutdown waits for it.
        let stop = tasks.token();
        tasks.supervise("polite", move || {
            let stop = stop.clone();
            async move { stop.cancelled().await }
        });
        // "flaky" ignores the token: the grace runs out with it still running.
        assert_eq!(tasks.shutdown(Duration::from_millis(200)).await, 1);
        assert!(!tasks.figures().iter().any(|(n, f)| *n == "polite" && f.running));
    }
}
