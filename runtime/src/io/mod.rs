//! Packet I/O: pcap and pcapng files (offline replay and output) and live TUN devices.
//!
//! Every packet source and sink the runtime drives implements [`PacketIo`]: live TUN devices
//! ([`tun::TunSet`]), capture replay, and [`MemoryIo`] for tests. The pipeline only ever sees
//! raw IP packets (no link-layer header), the interface they arrived on and a timestamp.
//!
//! # The contract in one loop
//!
//! ```
//! use nftvm_runtime::io::{IfaceId, MemoryIo, PacketIo, Readiness, MAX_PACKET};
//! use std::time::Duration;
//!
//! let mut io = MemoryIo::new();
//! io.push(IfaceId(0), Duration::from_secs(1), vec![0x45, 0, 0, 20]);
//! let mut buf = vec![0u8; MAX_PACKET];
//! loop {
//!     match io.wait(Some(Duration::from_millis(100))).unwrap() {
//!         Readiness::Finished => break,
//!         Readiness::TimedOut => continue, // run timers (conntrack expiry) here
//!         Readiness::Ready => {}
//!     }
//!     while let Some(rx) = io.recv(&mut buf).unwrap() {
//!         let packet = &buf[..rx.len];
//!         io.send(IfaceId(1), packet).unwrap(); // forward it
//!     }
//! }
//! assert_eq!(io.sent().len(), 1);
//! ```
//!
//! Multi-queue: a [`PacketIo`] is one receive queue of every interface it serves; a worker
//! thread owns one (they are `Send`), and all workers agree on the [`IfaceId`] numbering.

pub mod pcap;
pub mod pcapng;
pub mod tun;

use std::collections::VecDeque;
use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// A receive buffer of this size holds any IPv4 or IPv6 packet (without jumbograms).
pub const MAX_PACKET: usize = 65_535;

/// An interface as the runtime numbers it: the position of the interface in the host model
/// (and in the [`PacketIo`] serving it). Not the kernel's ifindex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfaceId(pub usize);

/// What [`PacketIo::recv`] stored in the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The interface the packet arrived on.
    pub iface: IfaceId,
    /// The packet is `buf[..len]`.
    pub len: usize,
    /// When it arrived, since the Unix epoch: the capture timestamp on replay, the wall clock
    /// when live. This is the packet clock conntrack timeouts run on.
    pub timestamp: Duration,
}

/// The answer of [`PacketIo::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// A packet may be available: call [`PacketIo::recv`] until it returns `None`.
    Ready,
    /// The timeout passed with nothing to read (live sources only).
    TimedOut,
    /// There will never be anything more to read (end of a capture).
    Finished,
}

/// A source and sink of raw IP packets on numbered interfaces. See the module doc for the
/// loop every user writes.
pub trait PacketIo: Send {
    /// Receive one packet into `buf` without blocking. `Ok(None)`: nothing to read now.
    /// A packet longer than `buf` is truncated (use [`MAX_PACKET`]).
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>>;

    /// Send one whole packet out of `iface`.
    fn send(&mut self, iface: IfaceId, packet: &[u8]) -> io::Result<()>;

    /// Block until a packet may be read, `timeout` passes (`None`: no limit), or the source
    /// is finished. The default polls [`PacketIo::poll_fds`]; sources without descriptors
    /// must override it.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Readiness> {
        let fds = self.poll_fds();
        if wait_readable(&fds, timeout)? { Ok(Readiness::Ready) } else { Ok(Readiness::TimedOut) }
    }

    /// The descriptors that become readable when a packet arrives, for callers that poll
    /// them together with their own (control socket, signals). Empty: not pollable.
    fn poll_fds(&self) -> Vec<BorrowedFd<'_>> {
        Vec::new()
    }
}

/// Poll `fds` for input; `true` when at least one is readable before `timeout`.
pub fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<bool> {
    let timeout = match timeout {
        None => PollTimeout::NONE,
        // Round up so that a sub-millisecond wait still sleeps instead of spinning.
        Some(t) => {
            PollTimeout::try_from(t.saturating_add(Duration::from_nanos(999_999))).unwrap_or(PollTimeout::MAX)
        }
    };
    let mut pollfds: Vec<PollFd<'_>> = fds.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
    loop {
        match poll(&mut pollfds, timeout) {
            Ok(n) => return Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// An in-memory [`PacketIo`]: queued packets in, sent packets recorded. For tests.
#[derive(Debug, Default)]
pub struct MemoryIo {
    incoming: VecDeque<(IfaceId, Duration, Vec<u8>)>,
    sent: Vec<(IfaceId, Vec<u8>)>,
}

impl MemoryIo {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue a packet to be received on `iface` at `timestamp`.
    pub fn push(&mut self, iface: IfaceId, timestamp: Duration, packet: Vec<u8>) {
        self.incoming.push_back((iface, timestamp, packet));
    }

    /// Everything sent so far, in order.
    pub fn sent(&self) -> &[(IfaceId, Vec<u8>)] {
        &self.sent
    }
}

impl PacketIo for MemoryIo {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let Some((iface, timestamp, packet)) = self.incoming.pop_front() else { return Ok(None) };
        let len = packet.len().min(buf.len());
        buf[..len].copy_from_slice(&packet[..len]);
        Ok(Some(Received { iface, len, timestamp }))
    }

    fn send(&mut self, iface: IfaceId, packet: &[u8]) -> io::Result<()> {
        self.sent.push((iface, packet.to_vec()));
        Ok(())
    }

    fn wait(&mut self, _timeout: Option<Duration>) -> io::Result<Readiness> {
        Ok(if self.incoming.is_empty() { Readiness::Finished } else { Readiness::Ready })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_io_truncates_to_the_buffer_and_finishes_when_empty() {
        let mut io = MemoryIo::new();
        io.push(IfaceId(2), Duration::from_millis(5), vec![1, 2, 3, 4]);
        let mut buf = [0u8; 3];
        assert_eq!(io.wait(None).unwrap(), Readiness::Ready);
        let rx = io.recv(&mut buf).unwrap().unwrap();
        assert_eq!(rx, Received { iface: IfaceId(2), len: 3, timestamp: Duration::from_millis(5) });
        assert_eq!(buf, [1, 2, 3]);
        assert_eq!(io.recv(&mut buf).unwrap(), None);
        assert_eq!(io.wait(None).unwrap(), Readiness::Finished);
    }
}
