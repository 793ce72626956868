//! Driving a pipeline from a [`PacketIo`] (live TUN devices, in-memory queues): receive
//! what is available, process each packet on the given clock, send what came out. The
//! live `run` loop is this plus waiting, timers ([`Pipeline::tick`]) and control.

use std::io;

use super::{Outcome, Pipeline};
use crate::conntrack::Time;
use crate::io::{MAX_PACKET, PacketIo};
use crate::packet::LinkType;

/// Processes every packet `io` has ready, stamping each with `clock()`, and sends what each
/// emitted; `each` sees every outcome (for logging, counters, traces). Returns how many
/// packets were processed.
pub fn pump(
    io: &mut dyn PacketIo,
    pipeline: &mut Pipeline,
    buf: &mut Vec<u8>,
    clock: &mut dyn FnMut() -> Time,
    each: &mut dyn FnMut(&Outcome),
) -> io::Result<usize> {
    if buf.len() < MAX_PACKET {
        buf.resize(MAX_PACKET, 0);
    }
    let mut n = 0;
    while let Some(rx) = io.recv(buf)? {
        let Some(frame) = buf.get(..rx.len) else { continue };
        let outcome = pipeline.process(rx.iface, clock(), frame.to_vec(), LinkType::Raw);
        for e in &outcome.emitted {
            io.send(e.oif, &e.bytes)?;
        }
        each(&outcome);
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::host::Host;
    use crate::io::{IfaceId, MemoryIo};
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
        let n = pump(&mut io, &mut p, &mut buf, &mut || 1, &mut |_| seen += 1).expect("pump");
        assert_eq!((n, seen), (1, 1));
        assert_eq!(io.sent().len(), 1);
        assert_eq!(io.sent()[0].0, IfaceId(1));
        assert_eq!(io.sent()[0].1[8], 63);
    }
}
