//! Live forwarding between TUN devices (`nftvm run`): worker threads, steering, control.
//!
//! An [`Instance`] runs `N` workers ([`worker`]); worker *k* reads queue *k* of every
//! (multi-queue) TUN device and owns a [`Pipeline`] of its own — one conntrack shard, one
//! program state — built from the same host model and program. Packets go through
//! [`crate::pipeline::drive::forward`], the pipeline step offline replay uses as well, on
//! the wall clock ([`clock::Clock`]) with Linux's conntrack timeouts.
//!
//! [`steer`] explains how packets find the worker owning their connection (symmetric hash,
//! NAT port choice that keeps replies home, a lock-free redirect table for the rest).
//!
//! Every worker runs the same [`Executable`] (one JIT module shared by all threads), with a
//! program state (counters) of its own; the limits, quotas, `numgen inc` counters and the
//! sets the rules write are shared by all workers ([`nftvm_vm::interp::shared`]: one of
//! each, as the kernel has, each behind a lock only the rules using it take), and so are
//! the connection counts of `ct count` and `-m connlimit`
//! ([`crate::pipeline::conncount::SharedCounts`]: each worker counts its own connections, a
//! rule compares the sum).
//!
//! Control requests ([`Instance::on_each`]) are closures run on every worker between two
//! packets; a reload ([`Instance::reload`]) is one of them, so each packet runs entirely on
//! the old or entirely on the new program, and conntrack (with NAT bindings) stays. The old
//! executable (and its native code) is freed when the last worker lets go of it. No lock is
//! taken on the per-packet path but those of the shared meters and sets.

pub mod clock;
pub mod ctfilter;
pub mod flow;
pub mod metrics;
pub mod redirect;
pub mod stats;
pub mod steer;
pub mod worker;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nftvm_vm::interp::SharedState;
use nftvm_vm::{Executable, VerifiedProgram};

use crate::conntrack::Event;
use crate::host::Host;
use crate::io::tun::{Tun, TunSet};
use crate::pipeline::conncount::SharedCounts;
use crate::pipeline::{Pipeline, PipelineConfig, VmEngine};
pub use stats::WorkerStats;
pub use steer::Steering;
use worker::{Command, Peer, Shared, Waker, Worker};
pub use worker::{Mode, WorkerView};

/// How long a control request waits for the workers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of an instance.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Worker threads (and queues per TUN device).
    pub workers: usize,
    pub pipeline: PipelineConfig,
    pub mode: Mode,
}

/// What `n` workers running one program share (nothing for one worker): one limit, quota
/// and `numgen inc` counter per rule, one copy of each set the rules write, and one
/// connection count per `ct count` list, whichever workers' tables hold the connections.
fn what_workers_share(n: usize) -> (Option<Arc<SharedState>>, Option<Arc<SharedCounts>>) {
    if n > 1 {
        (Some(Arc::new(SharedState::new())), Some(Arc::new(SharedCounts::new())))
    } else {
        (None, None)
    }
}

/// Where `conntrack -E` lines go: workers send to one channel, a thread fans out.
#[derive(Debug, Default)]
struct EventHub {
    subscribers: Mutex<Vec<Sender<Event>>>,
}

/// A running set of workers.
pub struct Instance {
    commands: Vec<Sender<Command>>,
    wakers: Vec<Arc<Waker>>,
    shared: Arc<Shared>,
    steering: Arc<Steering>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    hub: Arc<EventHub>,
    hub_thread: Mutex<Option<JoinHandle<()>>>,
    executable: Mutex<Executable>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("workers", &self.commands.len()).finish()
    }
}

impl Instance {
    /// Starts the workers running `executable`. `devices[i]` are the queues of interface
    /// `i` of `host` (one per worker, in worker order). Returns once every worker is in its
    /// loop.
    pub fn start(
        host: Host,
        devices: Vec<Vec<Tun>>,
        executable: Executable,
        cfg: LiveConfig,
    ) -> io::Result<Instance> {
        let n = cfg.workers.max(1);
        if devices.len() != host.ifaces().len() || devices.iter().any(|q| q.len() != n) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("need {n} queue(s) of each of the {} interfaces", host.ifaces().len()),
            ));
        }
        let mut per_worker: Vec<Vec<Tun>> = (0..n).map(|_| Vec::new()).collect();
        for queues in devices {
            for (w, q) in queues.into_iter().enumerate() {
                if let Some(list) = per_worker.get_mut(w) {
                    list.push(q);
                }
            }
        }
        let steering = Arc::new(Steering::new(n, cfg.pipeline.conntrack.seed ^ 0x5745_4552));
        let (program_state, conn_counts) = what_workers_share(n);
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            subscribers: AtomicUsize::new(0),
            failure: Mutex::new(None),
        });
        let mut inboxes = Vec::new();
        let mut peers = Vec::new();
        for _ in 0..n {
            let (tx, rx) = mpsc::sync_channel(worker::INBOX);
            peers.push(Peer { inbox: tx, waker: Arc::new(Waker::new()?) });
            inboxes.push(rx);
        }
        let peers: Arc<[Peer]> = peers.into();
        let (events_tx, events_rx) = mpsc::channel::<Event>();
        let hub = Arc::new(EventHub::default());
        let mut commands = Vec::new();
        let mut threads = Vec::new();
        let (ready_tx, ready_rx) = mpsc::channel::<usize>();
        for (index, (queues, inbox)) in per_worker.into_iter().zip(inboxes).enumerate() {
            let mut pcfg = cfg.pipeline.clone();
            let salt = (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            pcfg.seed ^= salt;
            pcfg.conntrack.seed ^= salt;
            let engine = VmEngine::from_first_packet(executable.clone()).sharing(program_state.as_ref());
            let mut pipeline = Pipeline::new(host.clone(), Box::new(engine), pcfg);
            pipeline.share_conn_counts(conn_counts.clone(), index);
            let publisher = if n > 1 {
                pipeline.conntrack_mut().set_claims(Some(steering.claims(index)));
                Some(steer::Publisher::new(steering.clone(), index))
            } else {
                None
            };
            let (cmd_tx, cmd_rx) = mpsc::channel();
            commands.push(cmd_tx);
            let queue_count = queues.len();
            let worker = Worker {
                index,
                io: TunSet::new(queues),
                pipeline,
                mode: cfg.mode,
                steering: steering.clone(),
                publisher,
                peers: peers.clone(),
                inbox,
                commands: cmd_rx,
                waker: peers
                    .get(index)
                    .map(|p| p.waker.clone())
                    .ok_or_else(|| io::Error::other("no waker"))?,
                shared: shared.clone(),
                events: events_tx.clone(),
                clock: clock::Clock::new(),
                now: 0,
                stats: WorkerStats::default(),
                dead: vec![false; queue_count],
                to_wake: vec![false; n],
                outcome: crate::pipeline::Outcome::empty(crate::io::IfaceId(0)),
            };
            let ready = ready_tx.clone();
            let thread = std::thread::Builder::new().name(format!("nftvm-w{index}")).spawn(move || {
                let _ = ready.send(index);
                worker.run();
            })?;
            threads.push(thread);
        }
        drop(events_tx);
        for _ in 0..n {
            ready_rx
                .recv_timeout(REQUEST_TIMEOUT)
                .map_err(|_| io::Error::other("a worker thread did not start"))?;
        }
        let hub_for_thread = hub.clone();
        let shared_for_hub = shared.clone();
        let hub_thread = std::thread::Builder::new()
            .name("nftvm-events".into())
            .spawn(move || fan_out(events_rx, &hub_for_thread, &shared_for_hub))?;
        Ok(Instance {
            commands,
            wakers: peers.iter().map(|p| p.waker.clone()).collect(),
            shared,
            steering,
            threads: Mutex::new(threads),
            hub,
            hub_thread: Mutex::new(Some(hub_thread)),
            executable: Mutex::new(executable),
        })
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.commands.len()
    }

    pub fn steering(&self) -> &Arc<Steering> {
        &self.steering
    }

    /// Runs `f` on every worker between two packets; the results in worker order.
    pub fn on_each<T: Send + 'static>(
        &self,
        f: impl Fn(&mut WorkerView<'_>) -> T + Send + Sync + 'static,
    ) -> Result<Vec<T>, String> {
        let f = Arc::new(f);
        let (tx, rx) = mpsc::channel();
        for (i, (cmd, waker)) in self.commands.iter().zip(&self.wakers).enumerate() {
            let f = f.clone();
            let tx = tx.clone();
            let job: Command = Box::new(move |view| {
                let _ = tx.send((i, f(view)));
            });
            cmd.send(job).map_err(|_| format!("worker {i} has stopped"))?;
            waker.wake();
        }
        drop(tx);
        let mut out: Vec<Option<T>> = (0..self.workers()).map(|_| None).collect();
        for _ in 0..self.workers() {
            let (i, v) =
                rx.recv_timeout(REQUEST_TIMEOUT).map_err(|_| "a worker did not answer".to_string())?;
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(v);
            }
        }
        out.into_iter().map(|v| v.ok_or_else(|| "a worker did not answer".to_string())).collect()
    }

    /// The program running now.
    pub fn program(&self) -> Arc<VerifiedProgram> {
        self.executable.lock().unwrap_or_else(|e| e.into_inner()).program().clone()
    }

    /// Swaps in another executable on every worker (conntrack and NAT bindings stay; rule
    /// counters and per-rule statistics start over). Returns once all workers run it; the
    /// previous executable is dropped with the last worker's reference.
    pub fn reload(&self, executable: Executable) -> Result<(), String> {
        let next = executable.clone();
        let (program_state, conn_counts) = what_workers_share(self.commands.len());
        self.on_each(move |w| {
            let now = w.pipeline.now();
            let engine = VmEngine::new(next.clone(), now).sharing(program_state.as_ref());
            w.pipeline.replace_engine(Box::new(engine));
            w.pipeline.share_conn_counts(conn_counts.clone(), w.index);
            w.stats.rules.clear();
        })?;
        *self.executable.lock().unwrap_or_else(|e| e.into_inner()) = executable;
        Ok(())
    }

    /// A stream of conntrack events from now on (ends when the instance stops).
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = mpsc::channel();
        let mut subs = self.hub.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.push(tx);
        self.shared.subscribers.store(subs.len(), Ordering::SeqCst);
        rx
    }

    /// A fatal problem a worker reported, if any.
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Stops the workers and waits for them.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for w in &self.wakers {
            w.wake();
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
        if let Some(t) = self.hub_thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// The event hub's thread: every line to every live subscriber.
fn fan_out(rx: Receiver<Event>, hub: &EventHub, shared: &Shared) {
    for event in rx {
        let mut subs = hub.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| s.send(event.clone()).is_ok());
        shared.subscribers.store(subs.len(), Ordering::SeqCst);
    }
    let mut subs = hub.subscribers.lock().unwrap_or_else(|e| e.into_inner());
    subs.clear();
    shared.subscribers.store(0, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jit(text: &str) -> Executable {
        let prog =
            nftvm_vm::text::assemble(text).map(|p| nftvm_vm::verify(p).expect("verify")).expect("assemble");
        Executable::new(Arc::new(prog), nftvm_vm::Engine::Jit).expect("jit")
    }

    #[test]
    fn a_reload_swaps_the_executable_on_every_worker_and_frees_the_old_one() {
        let old = jit("table ip t\nchain ip t f type filter hook forward priority 0 policy accept\n");
        let new = jit("table ip t\nchain ip t f type filter hook forward priority 0 policy drop\n");
        let old_code = Arc::downgrade(old.jit().expect("native code"));
        let cfg = LiveConfig { workers: 2, pipeline: PipelineConfig::default(), mode: Mode::Pipeline };
        // No devices: the workers only serve control requests.
        let instance = Instance::start(Host::default(), Vec::new(), old.clone(), cfg).expect("start");
        drop(old);
        assert!(old_code.upgrade().is_some(), "the workers run the first program");
        instance.reload(new.clone()).expect("reload");
        assert!(Arc::ptr_eq(&instance.program(), new.program()));
        let expected = new.program().clone();
        let running = instance.on_each(move |w| Arc::ptr_eq(w.pipeline.program(), &expected));
        assert_eq!(running, Ok(vec![true, true]));
        assert!(old_code.upgrade().is_none(), "the old native code is freed once no worker uses it");
        instance.stop();
    }
}
