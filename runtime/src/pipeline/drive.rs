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
    while let Some(rx) = io.recv(buf)? {
        let Some(frame) = buf.get(..rx.len) else { continue };
        let (_, failed) = forward(io, pipeline, rx.iface, clock(), frame.to_vec(), each);
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
/// live workers): process it at `now`, let `observe` see the outcome (and the pipeline,
/// e.g. to drain conntrack events) before anything leaves, then send what it emitted. A
/// failed send does not stop the others.
pub fn forward(
    io: &mut dyn PacketIo,
    pipeline: &mut Pipeline,
    iif: IfaceId,
    now: Time,
    frame: Vec<u8>,
    observe: &mut dyn FnMut(&mut Pipeline, &Outcome),
) -> (Outcome, SendFailures) {
    let outcome = pipeline.process(iif, now, frame, LinkType::Raw);
    observe(pipeline, &outcome);
    let failures = send_all(io, &outcome.emitted);
    (outcome, failures)
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

    #[test]
    fn forwards_what_the_pipeline_emits() {
        let prog = nftvm_vm::text::assemble(
            "table ip t\nchain ip t f type filter hook forward priority 0 policy accept\n",
        )
        .map(|p| nftvm_vm::verify(p).expect("verify"))
        .expect("assemble");
        let host = Host::from_specs(&["a=10.0.1.1/24".into(), "b=10.0.2.1/24".into()], &[]).expect("host");
        let mut p = Pipeline::new(
            host,
            Box::new(VmEngine::interpreter(Arc::new(prog), 0)),
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
