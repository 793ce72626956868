//! Driving a pipeline from a [`PacketIo`] (live TUN devices, in-memory queues): receive
//! what is available, process each packet on the given clock, send what came out. The
//! live `run` loop is this plus waiting, timers ([`Pipeline::tick`]) and control.

use std::io;

use super::{Outcome, Pipeline};
use crate::conntrack::Time;
use crate::io::{IfaceId, MAX_PACKET, PacketIo};
use crate::packet::LinkType;

/// Processes every packet `io` has ready, stamping each with `clock()`, and sends what each
/// emitted; `each` sees every outcome (for logging, counters, traces) before its packets are
/// sent. Returns how many packets were processed; the first failed send ends it with that
/// error.
pub fn pump(
    io: &mut dyn PacketIo,
    pipeline: &mut Pipeline,
    buf: &mut Vec<u8>,
    clock: &mut dyn FnMut() -> Time,
    each: &mut dyn FnMut(&mut Pipeline, &Outcome),
) -> io::Result<usize> {
    if buf.len() < MAX_PACKET {
        buf.resize(MAX_PACKET, 0);
    }
    let mut n = 0;
    let mut out = Outcome::empty(IfaceId(0));
    while let Some(rx) = io.recv(buf)? {
        let Some(frame) = buf.get(..rx.len) else { continue };
        let failed = forward(io, pipeline, rx.iface, clock(), frame.to_vec(), &mut out, each);
        if let Some(e) = failed.first {
            return Err(e);
        }
        n += 1;
    }
    Ok(n)
}

/// Sends that failed while forwarding one packet.
#[derive(Debug, Default)]
pub struct SendFailures {
    /// How many emitted packets could not be sent.
    pub count: usize,
    /// The first error.
    pub first: Option<io::Error>,
}

/// One received packet through the pipeline — the step every driver shares (`pump`, the
/// live workers): process it at `now` into `out` (whose buffers the driver keeps from packet
/// to packet), let `observe` see the outcome (and the pipeline, e.g. to drain conntrack
/// events) before anything leaves, then send what it emitted. A failed send does not stop
/// the others.
pub fn forward(
    io: &mut dyn PacketIo,
    pipeline: &mut Pipeline,
    iif: IfaceId,
    now: Time,
    frame: Vec<u8>,
    out: &mut Outcome,
    observe: &mut dyn FnMut(&mut Pipeline, &Outcome),
) -> SendFailures {
    pipeline.process_into(iif, now, frame, LinkType::Raw, out);
    observe(pipeline, out);
    send_all(io, &out.emitted)
}

/// Sends emitted packets out of their interfaces, counting failures.
pub fn send_all(io: &mut dyn PacketIo, emitted: &[super::Emitted]) -> SendFailures {
    let mut failures = SendFailures::default();
    for e in emitted {
        if let Err(err) = io.send(e.oif, &e.bytes) {
            failures.count += 1;
            failures.first.get_or_insert(err);
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::host::Host;
    use crate::io::MemoryIo;
    use crate::packet::PacketBuilder;
    use crate::pipeline::{PipelineConfig, VmEngine};

    /// A router between 10.0.1.0/24 (`a`) and 10.0.2.0/24 (`b`) running `text`.
    fn router(text: &str, cfg: PipelineConfig) -> Pipeline {
        let prog =
            nftvm_vm::text::assemble(text).map(|p| nftvm_vm::verify(p).expect("verify")).expect("assemble");
        let host = Host::from_specs(&["a=10.0.1.1/24".into(), "b=10.0.2.1/24".into()], &[]).expect("host");
        Pipeline::new(host, Box::new(VmEngine::interpreter(Arc::new(prog), 0)), cfg)
    }

    #[test]
    fn an_outcome_reused_for_the_next_packet_holds_what_a_fresh_one_would() {
        let text = "table ip t\nchain ip t f type filter hook forward priority 0 policy accept\n\
                    ip t f\n  [ payload load 2b @ transport header + 2 => reg 1 ]\n  [ cmp eq reg 1 0x0009 ]\n  \
                    [ immediate reg 0 drop ]\n";
        let cfg = PipelineConfig { trace: true, ..PipelineConfig::default() };
        let (mut fresh, mut reusing) = (router(text, cfg.clone()), router(text, cfg));
        let udp = |dport: u16, ttl: u8| {
            PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).ttl(ttl).udp(1000, dport).payload(b"x").build()
        };
        // Forwarded; dropped by the rule; expired (an ICMP error generated); forwarded.
        let packets = [udp(53, 64), udp(9, 64), udp(53, 1), udp(53, 64)];
        let mut out = Outcome::empty(IfaceId(7));
        let mut seen = Vec::new();
        for (i, pkt) in packets.into_iter().enumerate() {
            let now = (i as u64 + 1) * 1_000_000_000;
            let want = fresh.process(IfaceId(0), now, pkt.clone(), LinkType::Raw);
            reusing.process_into(IfaceId(0), now, pkt, LinkType::Raw, &mut out);
            assert_eq!(out, want, "packet {i}");
            seen.push((want.emitted.len(), want.generated.len(), want.packet.fate.verdict_name()));
        }
        assert_eq!(seen, [(1, 0, "accept"), (0, 0, "drop"), (1, 1, "drop"), (1, 0, "accept")]);
    }

    #[test]
    fn forwards_what_the_pipeline_emits() {
        let mut p = router(
            "table ip t\nchain ip t f type filter hook forward priority 0 policy accept\n",
            PipelineConfig::default(),
        );
        let mut io = MemoryIo::new();
        let pkt = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).udp(1, 2).payload(b"x").build();
        io.push(IfaceId(0), Duration::from_secs(1), pkt);
        let mut buf = Vec::new();
        let mut seen = 0;
        let n = pump(&mut io, &mut p, &mut buf, &mut || 1, &mut |_, _| seen += 1).expect("pump");
        assert_eq!((n, seen), (1, 1));
        assert_eq!(io.sent().len(), 1);
        assert_eq!(io.sent()[0].0, IfaceId(1));
        assert_eq!(io.sent()[0].1[8], 63);
    }
}
