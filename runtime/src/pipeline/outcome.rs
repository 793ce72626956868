//! What the pipeline reports for one input packet: its fate, the hooks it crossed, the rules
//! that applied, everything the host emitted because of it (the packet itself, fragments of
//! it, ICMP errors, resets, echo replies) and, when tracing, the trace events.

use nftvm_vm::keys::{Family, Hook};
use nftvm_vm::{ChainId, SourceId, Verdict};

use crate::conntrack::CtInfo;
use crate::io::IfaceId;

/// Why the host generated a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generated {
    /// An ICMP/ICMPv6 echo reply from the host model.
    EchoReply,
    /// An ICMP/ICMPv6 error (`type`, `code`): time exceeded, unreachable, too big, or a
    /// `reject`.
    IcmpError { kind: u8, code: u8 },
    /// A TCP reset (`reject with tcp reset`, or a closed local port).
    TcpReset,
    /// A copy of a packet the `dup` statement sent (`nf_dup_ipv4`, `nf_dup_ipv6`,
    /// `nf_dup_netdev`).
    Dup,
}

impl Generated {
    /// A short name for reports (`echo-reply`, `icmp-error`, `tcp-reset`, `dup`).
    pub fn name(self) -> &'static str {
        match self {
            Generated::EchoReply => "echo-reply",
            Generated::IcmpError { .. } => "icmp-error",
            Generated::TcpReset => "tcp-reset",
            Generated::Dup => "dup",
        }
    }

    /// Is it a copy of a packet the host got (its header fields, the IPv4 identification
    /// included, are the original's) rather than one the host wrote?
    pub fn is_copy(self) -> bool {
        self == Generated::Dup
    }
}

/// The final fate of a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Sent out of an interface, or delivered to the host.
    Accepted,
    /// Dropped: by a rule (`drop`, `reject`, a queue without listener) or by the host (no
    /// route, TTL expired, a malformed header, conntrack refusing it …).
    Dropped(String),
    /// Held by reassembly until the other fragments arrive.
    Held,
    /// Taken over by a statement (`fwd`, `dup`… ) or by a host mechanism: nothing more
    /// happens to it here.
    Stolen,
}

impl Fate {
    /// `accept` or `drop`, as `eval --json` reports it (held and stolen packets are not
    /// dropped).
    pub fn verdict_name(&self) -> &'static str {
        match self {
            Fate::Dropped(_) => "drop",
            _ => "accept",
        }
    }
}

/// A rule that ran to its end (matched), in the order they ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleHit {
    pub hook: Hook,
    pub chain: ChainId,
    /// Position in the chain.
    pub rule: usize,
    pub source: SourceId,
    /// The verdict it set (None: it only ran statements, e.g. `counter`).
    pub verdict: Option<Verdict>,
}

/// How an emitted packet came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitKind {
    /// The packet itself, forwarded (or sent, if the host generated it).
    Packet,
    /// One fragment of it (refragmented on output).
    Fragment,
}

/// One packet sent out of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emitted {
    pub oif: IfaceId,
    /// The IP packet as it leaves.
    pub bytes: Vec<u8>,
    pub kind: EmitKind,
    /// Set when the host generated it (the packet or its fragments).
    pub generated: Option<Generated>,
}

/// What happened to one packet (the input packet or one the host generated because of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketReport {
    /// Trace id of this packet.
    pub trace_id: u32,
    /// The hooks it went through, in order.
    pub path: Vec<Hook>,
    pub fate: Fate,
    /// The interface it was sent out of.
    pub oif: Option<IfaceId>,
    /// Delivered to the host itself.
    pub local: bool,
    /// The conntrack state it had in the filter hooks (None: conntrack is not in use).
    pub ct_state: Option<CtInfo>,
    pub rules: Vec<RuleHit>,
    /// For generated packets: why.
    pub generated: Option<Generated>,
}

impl Default for PacketReport {
    fn default() -> PacketReport {
        PacketReport::new(0, None)
    }
}

impl PacketReport {
    /// Makes this the fresh report of packet `trace_id`, keeping its buffers.
    pub(crate) fn reset(&mut self, trace_id: u32, generated: Option<Generated>) {
        let (mut path, mut rules) = (std::mem::take(&mut self.path), std::mem::take(&mut self.rules));
        path.clear();
        rules.clear();
        *self = PacketReport { path, rules, ..PacketReport::new(trace_id, generated) };
    }

    pub(crate) fn new(trace_id: u32, generated: Option<Generated>) -> PacketReport {
        PacketReport {
            trace_id,
            path: Vec::new(),
            fate: Fate::Accepted,
            oif: None,
            local: false,
            ct_state: None,
            rules: Vec::new(),
            generated,
        }
    }
}

/// One event of `--trace`, in the order things happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A packet enters a base chain (`… packet: …` in `nft monitor trace`).
    Packet { id: u32, hook: Hook, family: Family, chain: ChainId, summary: String },
    /// A rule ran to its end, with the verdict it set.
    Rule { id: u32, chain: ChainId, rule: usize, source: SourceId, verdict: Option<Verdict> },
    /// A base chain ended by its policy.
    Policy { id: u32, chain: ChainId, verdict: Verdict },
    /// A `log` statement.
    Log { id: u32, line: String },
    /// What the host itself did (conntrack, NAT, routing, reassembly …).
    Note { id: u32, text: String },
}

/// Everything that came of one input packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The interface it arrived on.
    pub iif: IfaceId,
    /// The input packet (for the packet completing a reassembly: the reassembled one).
    pub packet: PacketReport,
    /// Packets the host generated because of it, in order.
    pub generated: Vec<PacketReport>,
    /// Everything sent, in order.
    pub emitted: Vec<Emitted>,
    /// Trace events (empty unless tracing).
    pub trace: Vec<TraceEvent>,
    /// Fragments were reassembled into the packet reported.
    pub reassembled: bool,
}

impl Outcome {
    /// An outcome with nothing in it yet (for [`super::Pipeline::process_into`] to fill).
    pub fn empty(iif: IfaceId) -> Outcome {
        Outcome {
            iif,
            packet: PacketReport::default(),
            generated: Vec::new(),
            emitted: Vec::new(),
            trace: Vec::new(),
            reassembled: false,
        }
    }

    /// The bytes of the input packet as it left (its first fragment if it was
    /// fragmented), if it left.
    pub fn out(&self) -> Option<&[u8]> {
        self.emitted.iter().find(|e| e.generated.is_none()).map(|e| e.bytes.as_slice())
    }
}
