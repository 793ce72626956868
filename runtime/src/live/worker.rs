//! One worker thread: it owns a [`Pipeline`] (a conntrack shard and a program state) and
//! one queue of every TUN device, and loops:
//!
//! 1. run the control commands queued for it (dumps, deletions, reloads),
//! 2. process packets other workers handed to it,
//! 3. read a batch from each of its queues — packets it owns go through the pipeline
//!    ([`drive::forward`], the code path `eval` uses too), others go to their owner,
//! 4. run the timers once a second ([`Pipeline::tick`]: conntrack expiry, reassembly),
//! 5. when there was nothing to do, sleep in `poll` on its queues and its wake-up eventfd.
//!
//! After each packet, before anything is sent, the conntrack events it caused are drained:
//! they update the steering redirects and feed `conntrack -E` subscribers.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::eventfd::{EfdFlags, EventFd};

use super::clock::Clock;
use super::stats::WorkerStats;
use super::steer::{Publisher, Steering};
use crate::conntrack::{Event, SECOND, Time};
use crate::io::tun::TunSet;
use crate::io::{IfaceId, MAX_PACKET, PacketIo, wait_readable};
use crate::pipeline::{Outcome, Pipeline, drive};

/// Packets read from one queue before looking at the others and at commands.
const BATCH: usize = 64;

/// Capacity of a worker's hand-off inbox.
pub const INBOX: usize = 4096;

/// How often timers run (conntrack garbage collection, reassembly timeouts).
const TICK: Time = SECOND;

/// Wakes a worker sleeping in `poll`: an eventfd, written only when the worker said it
/// is about to sleep (so a busy worker costs its peers no system call).
#[derive(Debug)]
pub struct Waker {
    fd: EventFd,
    sleeping: AtomicBool,
}

impl Waker {
    pub fn new() -> io::Result<Waker> {
        let fd = EventFd::from_value_and_flags(0, EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)?;
        Ok(Waker { fd, sleeping: AtomicBool::new(false) })
    }

    /// Wakes the worker if it sleeps (call after queueing something for it).
    pub fn wake(&self) {
        if self.sleeping.swap(false, Ordering::SeqCst) {
            let _ = self.fd.write(1);
        }
    }

    fn about_to_sleep(&self) {
        self.sleeping.store(true, Ordering::SeqCst);
    }

    fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
        let _ = self.fd.read();
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A packet passed to its owner.
#[derive(Debug)]
pub struct Handoff {
    pub iface: IfaceId,
    pub data: Vec<u8>,
}

/// What other threads may do with a worker's state between two packets.
pub struct WorkerView<'a> {
    pub index: usize,
    pub pipeline: &'a mut Pipeline,
    pub stats: &'a mut WorkerStats,
    /// The worker's clock as the request runs (the pipeline's packet clock moves with packets
    /// and at the worker's tick, so it may be up to a tick behind).
    pub now: Time,
}

impl WorkerView<'_> {
    /// The time a request sees: the worker's clock, never behind its packet clock — timeouts
    /// counted down to the request, and what expired since the last packet or tick gone, as
    /// the kernel lists them.
    pub fn clock(&self) -> Time {
        self.now.max(self.pipeline.now())
    }
}

/// A control request run on a worker thread.
pub type Command = Box<dyn FnOnce(&mut WorkerView<'_>) + Send>;

/// How a worker reaches one of its peers.
#[derive(Debug, Clone)]
pub struct Peer {
    pub inbox: SyncSender<Handoff>,
    pub waker: Arc<Waker>,
}

/// What all workers share with the instance.
#[derive(Debug)]
pub struct Shared {
    pub stop: AtomicBool,
    /// Number of `conntrack -E` subscribers; events are only passed on while it is > 0.
    pub subscribers: std::sync::atomic::AtomicUsize,
    /// First fatal problem of any worker.
    pub failure: Mutex<Option<String>>,
}

/// Forward packets without the pipeline (the no-op forwarder measurements compare with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pipeline,
    /// Route lookup and write: the same I/O, no hooks, no conntrack, no TTL.
    ForwardOnly,
}

/// A worker's state.
pub struct Worker {
    pub index: usize,
    pub io: TunSet,
    pub pipeline: Pipeline,
    pub mode: Mode,
    pub steering: Arc<Steering>,
    pub publisher: Option<Publisher>,
    pub peers: Arc<[Peer]>,
    pub inbox: Receiver<Handoff>,
    pub commands: Receiver<Command>,
    pub waker: Arc<Waker>,
    pub shared: Arc<Shared>,
    pub events: Sender<Event>,
    pub clock: Clock,
    /// The time packets are processed at: read once per batch, not per packet (conntrack
    /// timeouts count in seconds; a batch takes microseconds).
    pub now: Time,
    pub stats: WorkerStats,
    /// Queues that failed to read (a deleted device): no longer polled.
    pub dead: Vec<bool>,
    /// Peers that were handed packets during the current batch (woken once at its end).
    pub to_wake: Vec<bool>,
    /// The last packet's outcome, whose buffers the next packet reuses.
    pub outcome: Outcome,
}

impl Worker {
    /// The loop; returns when the instance stops.
    pub fn run(mut self) {
        let mut buf = vec![0u8; MAX_PACKET];
        let mut next_tick = self.clock.now() + TICK;
        while !self.shared.stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            self.now = self.clock.now();
            let mut busy = self.run_commands();
            busy |= self.drain_inbox();
            busy |= self.read_queues(&mut buf);
            self.wake_peers();
            let now = self.clock.now();
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK;
                busy = true;
            }
            if busy {
                self.stats.busy_ns += started.elapsed().as_nanos() as u64;
                continue;
            }
            self.sleep(Duration::from_nanos(next_tick.saturating_sub(now)));
        }
    }

    fn run_commands(&mut self) -> bool {
        let mut any = false;
        while let Ok(cmd) = self.commands.try_recv() {
            any = true;
            self.run_command(cmd);
        }
        any
    }

    fn run_command(&mut self, cmd: Command) {
        let now = self.clock.now();
        let mut view =
            WorkerView { index: self.index, pipeline: &mut self.pipeline, stats: &mut self.stats, now };
        cmd(&mut view);
    }

    fn drain_inbox(&mut self) -> bool {
        let mut n = 0;
        while n < BATCH * 4 {
            let Ok(h) = self.inbox.try_recv() else { break };
            self.stats.handed_in += 1;
            self.process(h.iface, h.data);
            n += 1;
        }
        n > 0
    }

    fn read_queues(&mut self, buf: &mut [u8]) -> bool {
        let mut any = false;
        for q in 0..self.io.queues().len() {
            if self.dead.get(q).copied().unwrap_or(true) {
                continue;
            }
            for _ in 0..BATCH {
                let got = match self.io.get(IfaceId(q)) {
                    Some(tun) => tun.recv(buf),
                    None => break,
                };
                match got {
                    Ok(Some(len)) => {
                        any = true;
                        let frame = buf.get(..len).unwrap_or(&[]);
                        self.received(IfaceId(q), frame);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.stats.recv_errors += 1;
                        eprintln!(
                            "nftvm run: worker {}: {e}; no longer reading interface {}",
                            self.index,
                            self.pipeline.host().name(IfaceId(q))
                        );
                        if let Some(d) = self.dead.get_mut(q) {
                            *d = true;
                        }
                        break;
                    }
                }
            }
        }
        any
    }

    /// A packet read from our queue of `iface`: ours, or someone else's.
    fn received(&mut self, iface: IfaceId, frame: &[u8]) {
        let owner = self.steering.owner(frame);
        if owner != self.index
            && let Some(peer) = self.peers.get(owner)
        {
            match peer.inbox.try_send(Handoff { iface, data: frame.to_vec() }) {
                Ok(()) => {
                    self.stats.handed_off += 1;
                    if let Some(w) = self.to_wake.get_mut(owner) {
                        *w = true;
                    }
                }
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.stats.handoff_dropped += 1,
            }
            return;
        }
        self.process(iface, frame.to_vec());
    }

    /// Wakes the peers handed packets during this batch: one wake-up per batch, not per
    /// packet.
    fn wake_peers(&mut self) {
        for (i, w) in self.to_wake.iter_mut().enumerate() {
            if std::mem::take(w)
                && let Some(peer) = self.peers.get(i)
            {
                peer.waker.wake();
            }
        }
    }

    fn process(&mut self, iface: IfaceId, frame: Vec<u8>) {
        if self.mode == Mode::ForwardOnly {
            self.forward_only(iface, &frame);
            return;
        }
        let len = frame.len();
        let now = self.now;
        let publisher = &mut self.publisher;
        let events = &self.events;
        let subscribed = self.shared.subscribers.load(Ordering::Relaxed) > 0;
        let stats = &mut self.stats;
        let out = &mut self.outcome;
        let failed = drive::forward(
            &mut self.io,
            &mut self.pipeline,
            iface,
            now,
            frame,
            out,
            &mut |p, o: &Outcome| {
                after_packet(p, publisher, events, subscribed);
                stats.record(o, len);
            },
        );
        count_sent(&mut self.stats, &self.outcome.emitted, failed);
    }

    fn forward_only(&mut self, iface: IfaceId, frame: &[u8]) {
        self.stats.packets += 1;
        self.stats.bytes += frame.len() as u64;
        let dst = crate::live::flow::destination(frame);
        let oif = dst.and_then(|d| self.pipeline.host().lookup(d)).map(|r| r.iface);
        match oif {
            Some(oif) if oif != iface => match self.io.send(oif, frame) {
                Ok(()) => {
                    self.stats.accepted += 1;
                    self.stats.sent += 1;
                    self.stats.sent_bytes += frame.len() as u64;
                }
                Err(_) => self.stats.send_errors += 1,
            },
            _ => self.stats.dropped += 1,
        }
    }

    fn tick(&mut self, now: Time) {
        if self.mode == Mode::ForwardOnly {
            return;
        }
        let emitted = self.pipeline.tick(now);
        let subscribed = self.shared.subscribers.load(Ordering::Relaxed) > 0;
        after_packet(&mut self.pipeline, &mut self.publisher, &self.events, subscribed);
        let failed = drive::send_all(&mut self.io, &emitted);
        count_sent(&mut self.stats, &emitted, failed);
        if let Some(p) = &self.publisher {
            self.stats.redirect_failed = p.failed;
        }
    }

    fn sleep(&mut self, timeout: Duration) {
        self.waker.about_to_sleep();
        // Whatever was queued before `about_to_sleep` did not write the eventfd: look once
        // more before blocking.
        if let Ok(cmd) = self.commands.try_recv() {
            self.waker.awake();
            self.run_command(cmd);
            return;
        }
        if let Ok(h) = self.inbox.try_recv() {
            self.waker.awake();
            self.now = self.clock.now();
            self.stats.handed_in += 1;
            self.process(h.iface, h.data);
            return;
        }
        if self.shared.stop.load(Ordering::SeqCst) {
            self.waker.awake();
            return;
        }
        let mut fds: Vec<BorrowedFd<'_>> = vec![self.waker.fd()];
        for (q, tun) in self.io.queues().iter().enumerate() {
            if !self.dead.get(q).copied().unwrap_or(true) {
                fds.push(tun.as_fd());
            }
        }
        if let Err(e) = wait_readable(&fds, Some(timeout)) {
            self.stats.recv_errors += 1;
            eprintln!("nftvm run: worker {}: poll: {e}", self.index);
            std::thread::sleep(Duration::from_millis(10));
        }
        self.waker.awake();
    }
}

/// Counts what was sent of `emitted` (all but the failed sends).
fn count_sent(stats: &mut WorkerStats, emitted: &[crate::pipeline::Emitted], failed: drive::SendFailures) {
    let ok = emitted.len().saturating_sub(failed.count);
    stats.sent += ok as u64;
    stats.sent_bytes += emitted.iter().map(|e| e.bytes.len() as u64).sum::<u64>();
    stats.send_errors += failed.count as u64;
}

/// After each packet or timer run, before anything is sent: conntrack events update the
/// steering redirects and go to `conntrack -E` subscribers.
fn after_packet(
    pipeline: &mut Pipeline,
    publisher: &mut Option<Publisher>,
    events: &Sender<Event>,
    subscribed: bool,
) {
    let ct = pipeline.conntrack_mut();
    let drained = ct.drain_events();
    for ev in &drained {
        if let Some(p) = publisher.as_mut() {
            p.on_event(ev);
        }
    }
    if subscribed {
        for ev in drained {
            let _ = events.send(ev);
        }
    }
    if let Some(p) = publisher.as_mut() {
        p.sync_expectations(pipeline.conntrack());
    }
}
