//! Offline replay: the packets of a pcap or pcapng capture through a [`Pipeline`], in file
//! order, each on the interface it was captured on (the pcapng interface name, or the
//! interface given for a classic pcap), with its capture timestamp as the packet clock.
//!
//! Emitted packets can be written to a pcapng file ([`OutWriter`]): one raw-IP interface
//! per out interface, named after it, the input packet's timestamp on each.

use std::io::{Read, Write};
use std::time::Duration;

use crate::host::{ARPHRD_ETHER, Host};
use crate::io::IfaceId;
use crate::io::pcap::{CaptureError, CaptureReader, CaptureRecord};
use crate::io::pcapng::PcapngWriter;
use crate::packet::LinkType;
use crate::pipeline::{Outcome, Pipeline};

/// One replayed packet.
#[derive(Debug)]
pub struct Replayed {
    /// 1-based position in the capture.
    pub index: usize,
    pub timestamp: Duration,
    pub iif: IfaceId,
    pub outcome: Outcome,
}

/// Why a replay stopped.
#[derive(Debug)]
pub enum ReplayError {
    /// The capture file is broken.
    Capture(CaptureError),
    /// A packet names an interface the host model does not have (or names none and no
    /// default was given).
    Interface { index: usize, message: String },
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Capture(e) => write!(f, "{e}"),
            ReplayError::Interface { index, message } => write!(f, "packet {index}: {message}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// The host interface a record arrived on: its pcapng interface name, else `default`
/// (`--iif`), else the host's only interface.
pub fn record_iface(
    record: &CaptureRecord,
    host: &Host,
    default: Option<IfaceId>,
) -> Result<IfaceId, String> {
    match record.interface_name.as_deref() {
        Some(name) => host
            .iface_by_name(name)
            .filter(|id| host.iface(*id).is_some() && *id != crate::host::LOOPBACK)
            .ok_or_else(|| format!("captured on interface `{name}`, which the host model does not have (declare it with --iface {name}=ADDR/PLEN)")),
        None => default.or_else(|| (host.ifaces().len() == 1).then_some(IfaceId(0))).ok_or_else(|| {
            "the capture does not name the interface (classic pcap): say which with --iif NAME".to_string()
        }),
    }
}

/// Replays every packet of `reader` through `pipeline`, calling `each` with the result.
pub fn replay<R: Read>(
    reader: &mut CaptureReader<R>,
    pipeline: &mut Pipeline,
    default_iif: Option<IfaceId>,
    mut each: impl FnMut(&Replayed, &CaptureRecord),
) -> Result<usize, ReplayError> {
    let mut index = 0;
    // One outcome whose buffers every packet reuses.
    let none = IfaceId(0);
    let mut replayed =
        Replayed { index, timestamp: Duration::ZERO, iif: none, outcome: Outcome::empty(none) };
    while let Some(record) = reader.next_record().map_err(ReplayError::Capture)? {
        index += 1;
        let iif = record_iface(&record, pipeline.host(), default_iif)
            .map_err(|message| ReplayError::Interface { index, message })?;
        if record.link_type == LinkType::Ethernet {
            pipeline.host_mut().set_hw_type(iif, ARPHRD_ETHER);
        }
        let now = u64::try_from(record.timestamp.as_nanos()).unwrap_or(u64::MAX);
        pipeline.process_into(iif, now, record.data.clone(), record.link_type, &mut replayed.outcome);
        (replayed.index, replayed.timestamp, replayed.iif) = (index, record.timestamp, iif);
        each(&replayed, &record);
    }
    Ok(index)
}

/// Writes emitted packets as pcapng, one raw-IP interface per out interface.
#[derive(Debug)]
pub struct OutWriter<W: Write> {
    writer: PcapngWriter<W>,
}

impl<W: Write> OutWriter<W> {
    pub fn new(output: W) -> Result<OutWriter<W>, CaptureError> {
        Ok(OutWriter { writer: PcapngWriter::new(output)? })
    }

    /// Writes everything `outcome` emitted, stamped `timestamp`.
    pub fn write(&mut self, host: &Host, outcome: &Outcome, timestamp: Duration) -> Result<(), CaptureError> {
        for e in &outcome.emitted {
            let iface = self.writer.interface(Some(host.name(e.oif)), LinkType::Raw)?;
            let len = u32::try_from(e.bytes.len()).unwrap_or(u32::MAX);
            self.writer.write_packet(iface, timestamp, &e.bytes, len)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<W, CaptureError> {
        self.writer.finish()
    }
}
