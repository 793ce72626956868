//! The hook pipeline: what happens to a packet between the wire and the wire, as in Linux's
//! IPv4/IPv6 receive, forward and output paths with netfilter. One code path serves
//! offline replay (`nftvm eval`) and live TUN forwarding (`nftvm run`).
//!
//! ```text
//!  received ─► prerouting ─► routing ─┬─► input ─► (host: echo reply, reset, ICMP error …)
//!                                      └─► forward ─► postrouting ─► (fragment) ─► wire
//!  host-generated ─► output ─► routing ─► postrouting ─► wire
//! ```
//!
//! * Each hook runs its entries in the kernel's order ([`hooks::HookPlan`]): the program's
//!   base chains of the packet's family (and `inet`), interleaved by priority with
//!   defragmentation (−400), conntrack (−200), NAT (−100 / 100) and confirmation (last).
//!   `accept` ends only the chain it is in; `drop` (and `reject`, a queue without listener)
//!   ends the packet; nat chains run only for a connection's first packet, later packets
//!   get the binding stored in their conntrack entry.
//! * Forwarding checks and decrements the TTL / hop limit before the forward hook (TTL ≤ 1:
//!   ICMP time exceeded back to the sender), checks the MTU (DF / IPv6: "fragmentation
//!   needed" / "packet too big"), and fragments on output what does not fit or what was
//!   reassembled (at its original fragment boundaries).
//! * Packets for the host go through input; the host model then answers as a host without
//!   listening sockets does ([`LocalStack`]): echo replies, TCP resets, ICMP port/protocol
//!   unreachable. Replies, ICMP errors and `reject` answers go through output and
//!   postrouting like any locally generated packet (with the conntrack attachment Linux
//!   gives `reject` answers, so NAT is undone on them).
//!
//! Use: build a [`Pipeline`] from a [`Host`], an [`Engine`] and a [`PipelineConfig`], then
//! call [`Pipeline::process`] for each received packet; send [`Outcome::emitted`] out of
//! its interfaces. Call [`Pipeline::tick`] now and then when live (timers).

pub mod conncount;
mod conntrack_glue;
pub mod drive;
mod dup;
pub mod engine;
pub mod env;
pub mod hooks;
pub mod l4;
pub mod log;
mod offload;
pub mod outcome;
mod paths;
pub mod reply;
mod run;
pub mod skb;
pub mod trace;

use std::sync::Arc;

use nftvm_vm::VerifiedProgram;

pub use engine::{Engine, VmEngine};
pub use hooks::{Entry, HookPlan};
pub use outcome::{EmitKind, Emitted, Fate, Generated, Outcome, PacketReport, RuleHit, TraceEvent};
pub use skb::Skb;

use crate::conntrack::{self, Conntrack, Time};
use crate::defrag::{Defrag, DefragConfig};
use crate::host::Host;
use crate::io::IfaceId;
use crate::packet::LinkType;

/// How the host answers packets delivered to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalStack {
    /// Like a Linux host with no listening sockets (what the kernel oracle is): echo
    /// replies, TCP resets, ICMP port / protocol unreachable.
    ClosedHost,
    /// Echo replies only; everything else is consumed silently after the input hook.
    EchoOnly,
}

/// Settings of a pipeline.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub conntrack: conntrack::Config,
    pub defrag: DefragConfig,
    pub local_stack: LocalStack,
    /// Record [`TraceEvent`]s in outcomes.
    pub trace: bool,
    /// Seed of the pipeline's random numbers (`numgen random`, `meta random`).
    pub seed: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            conntrack: conntrack::Config::default(),
            defrag: DefragConfig::default(),
            local_stack: LocalStack::ClosedHost,
            trace: false,
            seed: 0x6e66_7476_6d5f_7069,
        }
    }
}

/// The host: its interfaces and routes, the loaded program, conntrack, reassembly queues.
pub struct Pipeline {
    host: Host,
    plan: HookPlan,
    prog: Arc<VerifiedProgram>,
    engine: Box<dyn Engine>,
    ct: Conntrack,
    defrag: Defrag,
    cfg: PipelineConfig,
    rng: u64,
    connlimit: conncount::ConnLists,
    /// Connections offloaded to flowtables, and when their idle timeouts are next checked.
    flows: crate::flowtable::Flows,
    next_flow_gc: Time,
    /// ICMP redirect rate limiting per source (`inet_peer`): redirects sent, last sent.
    redirects: std::collections::HashMap<std::net::IpAddr, (u32, Time)>,
    next_trace_id: u32,
    next_ip_id: u16,
    now: Time,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("engine", &self.engine.name())
            .field("conntrack", &self.ct.len())
            .field("now", &self.now)
            .finish()
    }
}

impl Pipeline {
    /// A host running `engine`'s program.
    pub fn new(host: Host, engine: Box<dyn Engine>, cfg: PipelineConfig) -> Pipeline {
        let prog = engine.program().clone();
        let plan = HookPlan::new(prog.program());
        Pipeline {
            ct: Conntrack::new(cfg.conntrack.clone()),
            defrag: Defrag::new(cfg.defrag.clone()),
            rng: cfg.seed,
            host,
            plan,
            prog,
            engine,
            cfg,
            connlimit: conncount::ConnLists::default(),
            flows: crate::flowtable::Flows::default(),
            next_flow_gc: 0,
            redirects: std::collections::HashMap::new(),
            next_trace_id: 0,
            next_ip_id: 1,
            now: 0,
        }
    }

    /// Loads another program (a reload): conntrack, NAT bindings and reassembly queues
    /// stay; the new engine brings its own program state (counters, sets); offloaded flows
    /// return to the slow path (a reload replaces the flowtables, as `nft -f` does); the
    /// connection counts start over, unshared (the new rules' `ct count` lists are new, as
    /// the kernel's are: an established connection is not counted again).
    pub fn replace_engine(&mut self, engine: Box<dyn Engine>) {
        // The old program's flowtables go with it, and their flows back to the slow path.
        self.flush_flows();
        self.connlimit = conncount::ConnLists::default();
        self.prog = engine.program().clone();
        self.plan = HookPlan::new(self.prog.program());
        self.engine = engine;
    }

    /// Reloads with `prog` on the engine kind running now: a new executable (a new JIT
    /// module; the old one is freed once nothing holds it) and fresh program state at the
    /// packet clock, while conntrack, NAT bindings and reassembly queues stay.
    pub fn reload(&mut self, prog: Arc<VerifiedProgram>) -> Result<(), nftvm_vm::jit::JitError> {
        let engine = VmEngine::build(prog, self.engine.kind(), self.now)?;
        self.replace_engine(Box::new(engine));
        Ok(())
    }

    /// Counts connections (`ct count`, `-m connlimit`) together with the other pipelines
    /// sharing `counts`, as worker `worker` among them (see [`conncount`]); `None`: alone.
    /// The counts so far start over.
    pub fn share_conn_counts(&mut self, counts: Option<Arc<conncount::SharedCounts>>, worker: usize) {
        self.connlimit.share(counts, worker);
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The host model, to adjust before replaying (hardware types, MTUs).
    pub fn host_mut(&mut self) -> &mut Host {
        &mut self.host
    }

    pub fn conntrack(&self) -> &Conntrack {
        &self.ct
    }

    pub fn conntrack_mut(&mut self) -> &mut Conntrack {
        &mut self.ct
    }

    pub fn engine(&self) -> &dyn Engine {
        self.engine.as_ref()
    }

    pub fn program(&self) -> &Arc<VerifiedProgram> {
        &self.prog
    }

    pub fn plan(&self) -> &HookPlan {
        &self.plan
    }

    /// The packet clock: the latest time seen.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Switches trace recording on or off.
    pub fn set_trace(&mut self, on: bool) {
        self.cfg.trace = on;
    }

    /// One packet received on `iif` at `now` (ns on the packet clock); `frame` is framed as
    /// `link` says. Returns everything that came of it.
    pub fn process(&mut self, iif: IfaceId, now: Time, frame: Vec<u8>, link: LinkType) -> Outcome {
        let mut out = Outcome::empty(iif);
        self.process_into(iif, now, frame, link, &mut out);
        out
    }

    /// [`Pipeline::process`] into `out`, reusing its buffers (its previous contents are
    /// replaced): a driver that handles packets one after the other keeps one `Outcome` and
    /// allocates no report buffers per packet.
    pub fn process_into(
        &mut self,
        iif: IfaceId,
        now: Time,
        frame: Vec<u8>,
        link: LinkType,
        out: &mut Outcome,
    ) {
        self.now = self.now.max(now);
        let mut run = run::Run::reusing(self.cfg.trace, out);
        self.expire(&mut run);
        let id = self.trace_id();
        let mut report = std::mem::take(&mut out.packet);
        report.reset(id, None);
        match Skb::arrived(frame, link, iif) {
            Ok(skb) => self.input_path(skb, &mut report, &mut run),
            Err(e) => paths::not_ip(&mut report, &mut run, &e),
        }
        out.iif = iif;
        out.packet = report;
        run.hand_over(out);
    }

    /// Runs timers up to `now` (reassembly timeouts, conntrack garbage collection) and
    /// returns what the host sent because of them.
    pub fn tick(&mut self, now: Time) -> Vec<Emitted> {
        self.now = self.now.max(now);
        let mut run = run::Run::new(false);
        self.expire(&mut run);
        self.ct.gc(self.now, 0);
        self.connlimit.collect_all(&self.ct, self.now);
        // (Collected above, a list that counts nothing is gone from `connlimit`.)
        let lists = &self.connlimit;
        self.engine.collect_sets(self.now, &mut |list| !lists.holds(list));
        run.emitted
    }

    fn trace_id(&mut self) -> u32 {
        self.next_trace_id = self.next_trace_id.wrapping_add(1);
        self.next_trace_id
    }

    fn ip_id(&mut self) -> u16 {
        let id = self.next_ip_id;
        self.next_ip_id = self.next_ip_id.wrapping_add(1).max(1);
        id
    }

    /// Reassembly timeouts: an IPv4 datagram for the host whose first fragment arrived gets
    /// "fragment reassembly time exceeded".
    fn expire(&mut self, run: &mut run::Run) {
        self.expire_flows();
        for e in self.defrag.expire(self.now) {
            let Some(first) = e.first else { continue };
            if e.ipv6 {
                continue;
            }
            let Some(dst) = first.get(16..20).map(|b| std::net::IpAddr::from([b[0], b[1], b[2], b[3]]))
            else {
                continue;
            };
            if self.host.is_local(dst) {
                self.send_icmp_error(&first, 11, 1, 0, true, None, None, run);
            }
        }
    }
}
