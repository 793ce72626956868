//! Running one hook: its entries in order, base chains through the engine with the
//! runtime's environment, and what a chain's verdict means for the packet
//! (`nf_hook_slow`'s loop).

use nftvm_vm::ChainId;
use nftvm_vm::Verdict;
use nftvm_vm::interp::PacketCtx;
use nftvm_vm::keys::{Family, Hook};

use super::Pipeline;
use super::env::{Effects, RuntimeEnv};
use super::hooks::{DeviceEntry, Entry};
use super::outcome::{Emitted, Outcome, PacketReport, RuleHit, TraceEvent};
use super::skb::Skb;
use crate::io::IfaceId;

/// What one input packet's processing accumulates.
pub(crate) struct Run {
    pub trace: bool,
    pub events: Vec<TraceEvent>,
    pub emitted: Vec<Emitted>,
    pub generated: Vec<PacketReport>,
    pub reassembled: bool,
    /// Nesting of host-generated packets (a bound against loops).
    pub depth: u32,
    /// A `dup` copy is being sent: the statement does not copy again.
    pub duplicating: bool,
}

impl Run {
    pub fn new(trace: bool) -> Run {
        Run {
            trace,
            events: Vec::new(),
            emitted: Vec::new(),
            generated: Vec::new(),
            reassembled: false,
            depth: 0,
            duplicating: false,
        }
    }

    /// A run that fills the (emptied) buffers of an earlier outcome; [`Run::hand_over`]
    /// puts them back.
    pub fn reusing(trace: bool, out: &mut Outcome) -> Run {
        fn emptied<T>(v: &mut Vec<T>) -> Vec<T> {
            v.clear();
            std::mem::take(v)
        }
        Run {
            trace,
            events: emptied(&mut out.trace),
            emitted: emptied(&mut out.emitted),
            generated: emptied(&mut out.generated),
            reassembled: false,
            depth: 0,
            duplicating: false,
        }
    }

    /// Moves what the run produced into `out`.
    pub fn hand_over(self, out: &mut Outcome) {
        out.trace = self.events;
        out.emitted = self.emitted;
        out.generated = self.generated;
        out.reassembled = self.reassembled;
    }

    pub fn note(&mut self, id: u32, text: String) {
        if self.trace {
            self.events.push(TraceEvent::Note { id, text });
        }
    }
}

/// How a hook ended for the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HookResult {
    /// Went through every entry.
    Accept,
    Drop(String),
    /// Held for reassembly.
    Held,
    Stolen,
    /// Forwarded by a flowtable's fast path (already sent).
    Offloaded,
}

/// What an entry tells the hook loop.
pub(crate) enum Step {
    Next,
    Repeat,
    /// `NF_STOP`: accepted, the rest of the hook is skipped.
    Stop,
    End(HookResult),
}

/// Verdicts a chain may hand back, as the hook loop reads them.
fn step_of(v: Verdict, chain: &str) -> Step {
    match v {
        Verdict::Drop => Step::End(HookResult::Drop(format!("dropped by chain {chain}"))),
        Verdict::Queue { bypass: true, .. } => Step::Next,
        Verdict::Queue { .. } => Step::End(HookResult::Drop(format!("queued by chain {chain}, no listener"))),
        Verdict::Stolen => Step::End(HookResult::Stolen),
        Verdict::Repeat => Step::Repeat,
        Verdict::Stop => Step::Stop,
        _ => Step::Next,
    }
}

/// Walks a hook's `count` entries as `nf_hook_slow` does: `step(i)` runs entry `i`; a
/// repeat runs it again (at most 16 times in a row), a stop accepts at once.
fn walk(count: usize, mut step: impl FnMut(usize) -> Step) -> HookResult {
    let mut i = 0;
    let mut repeats = 0;
    while i < count {
        match step(i) {
            Step::Next => {
                i += 1;
                repeats = 0;
            }
            Step::Repeat => {
                repeats += 1;
                if repeats > 16 {
                    return HookResult::Drop("repeat loop".into());
                }
            }
            Step::Stop => return HookResult::Accept,
            Step::End(r) => return r,
        }
    }
    HookResult::Accept
}

impl Pipeline {
    /// Runs every entry of `hook` for `skb`.
    pub(crate) fn run_hook(
        &mut self,
        hook: Hook,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> HookResult {
        report.path.push(hook);
        let family = skb.family();
        let count = self.plan.entries(family, hook).len();
        walk(count, |i| {
            let Some(&(_, entry)) = self.plan.entries(family, hook).get(i) else { return Step::Next };
            match entry {
                Entry::Chain(c) => {
                    let v = self.run_base_chain(c, hook, skb, report, run);
                    step_of(v, self.prog.chain_name(c))
                }
                Entry::Defrag => self.defrag_entry(skb, report, run),
                Entry::Conntrack => self.conntrack_entry(hook, skb, report, run),
                Entry::Nat(manip) => self.nat_entry(hook, manip, skb, report, run),
                Entry::Confirm => self.confirm_entry(skb, report, run),
            }
        })
    }

    /// The ingress hook of the packet's device (`nf_hook_ingress`, before the IP layer sees
    /// the packet and before conntrack): the netdev and inet ingress chains bound to it.
    pub(crate) fn ingress_hook(
        &mut self,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> HookResult {
        let Some(iif) = skb.meta.iif else { return HookResult::Accept };
        self.device_hook(Hook::Ingress, iif, skb, report, run)
    }

    /// The egress hook of device `oif` (`nf_hook_egress`, as the device transmits): its
    /// netdev egress chains. The hook's state has no input device (`meta iif` is 0 there).
    pub(crate) fn egress_hook(
        &mut self,
        oif: IfaceId,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> HookResult {
        let iif = skb.meta.iif.take();
        let r = self.device_hook(Hook::Egress, oif, skb, report, run);
        skb.meta.iif = iif;
        r
    }

    /// Runs the entries of a device hook in order: its chains and, at ingress, the fast
    /// path of the flowtables serving the device.
    fn device_hook(
        &mut self,
        hook: Hook,
        dev: IfaceId,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> HookResult {
        // Counted, then looked up by position: a device has a chain or two per hook, and
        // nothing is allocated per packet.
        let count = self.plan.device_entries(hook, self.host.name(dev)).count();
        if count == 0 {
            return HookResult::Accept;
        }
        report.path.push(hook);
        walk(count, |i| {
            let entry = self.plan.device_entries(hook, self.host.name(dev)).nth(i);
            match entry {
                // An inet chain at ingress first validates the IP header and finds the
                // transport header as ip/ip6 chains do (`nft_do_chain_inet_ingress`); a packet
                // that fails (no `meta l4proto`) is dropped before its rules.
                Some(DeviceEntry::Chain(c))
                    if hook == Hook::Ingress
                        && skb.info.l4proto.is_none()
                        && self.prog.program().chain_family(c) == Some(Family::Inet) =>
                {
                    let why = format!(
                        "dropped by chain {}: its IP header does not validate",
                        self.prog.chain_name(c)
                    );
                    Step::End(HookResult::Drop(why))
                }
                Some(DeviceEntry::Chain(c)) => {
                    let v = self.run_base_chain(c, hook, skb, report, run);
                    step_of(v, self.prog.chain_name(c))
                }
                Some(DeviceEntry::Flowtable(ft)) => self.flowtable_entry(ft, dev, skb, report, run),
                None => Step::Next,
            }
        })
    }

    /// Runs one base chain for the packet; returns its verdict after carrying out what the
    /// rules requested (reject answers, log lines).
    pub(crate) fn run_base_chain(
        &mut self,
        chain: ChainId,
        hook: Hook,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> Verdict {
        let id = report.trace_id;
        let family = skb.family();
        // A netdev chain sees the packet as the device does (`meta nfproto` netdev); the IP
        // header is validated and the transport header found as for ip chains.
        let nfproto = match self.prog.program().chain_family(chain) {
            Some(Family::Netdev) => Family::Netdev,
            _ => family,
        };
        if run.trace {
            let summary = super::trace::summary(skb, &self.host, hook);
            run.events.push(TraceEvent::Packet { id, hook, family, chain, summary });
        }
        let view = if self.plan.logs { skb.ip().to_vec() } else { Vec::new() };
        let addresses_before = skb.meta.csum_complete.and_then(|_| skb.ipv6_address_sum());
        let mut effects = Effects::default();
        let result = {
            let Skb { data, meta, info, .. } = skb;
            let info: &crate::packet::PacketInfo = info;
            let mut pctx = PacketCtx {
                data: data.as_mut_slice(),
                link_off: info.link_offset(),
                network_off: info.nhoff,
                transport_off: info.transport_offset(),
                l4proto: info.l4proto.unwrap_or(0),
                nfproto,
                protocol: info.ethertype(),
                hook,
            };
            let mut env = RuntimeEnv {
                host: &self.host,
                prog: self.prog.program(),
                hook,
                now: self.now,
                info,
                view: &view,
                meta,
                ct: &mut self.ct,
                effects: &mut effects,
                rng: &mut self.rng,
                connlimit: &mut self.connlimit,
                flows: &mut self.flows,
            };
            self.engine.run_chain(chain, &mut pctx, &mut env)
        };
        for t in &result.trace {
            report.rules.push(RuleHit {
                hook,
                chain: t.rule.chain,
                rule: t.rule.rule,
                source: t.rule.source,
                verdict: t.verdict,
            });
            if run.trace {
                run.events.push(TraceEvent::Rule {
                    id,
                    chain: t.rule.chain,
                    rule: t.rule.rule,
                    source: t.rule.source,
                    verdict: t.verdict,
                });
            }
        }
        if run.trace {
            if result.decided_by.is_none() {
                run.events.push(TraceEvent::Policy { id, chain, verdict: result.verdict });
            }
            for line in effects.logs.drain(..) {
                run.events.push(TraceEvent::Log { id, line });
            }
            for text in effects.notes.drain(..) {
                run.events.push(TraceEvent::Note { id, text });
            }
        }
        let verdict = result.verdict;
        if let Some(before) = addresses_before {
            skb.note_pseudo_header_write(before);
        }
        let grown = !effects.mss_inserts.is_empty();
        for req in &effects.mss_inserts {
            req.apply(&mut skb.data, skb.info.nhoff);
        }
        if (self.plan.writes_packet || grown) && skb.redissect().is_err() {
            run.note(id, "packet no longer parses after a payload write: drop".into());
            return Verdict::Drop;
        }
        self.send_dups(effects.dups, hook, run);
        for f in effects.forwards {
            self.send_forward(f, skb, report, run);
        }
        for req in effects.rejects {
            self.send_reject(req, hook, skb, run);
        }
        for req in effects.icmp_errors {
            self.send_target_error(req, hook, skb, run);
        }
        verdict
    }
}
