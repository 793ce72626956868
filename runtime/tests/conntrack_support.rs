//! Shared helpers of the conntrack/NAT/FTP tests (included with `#[path]`): a two-host
//! TCP conversation driven through a [`Conntrack`], with sequence numbers kept per side.
#![allow(dead_code)]

use std::net::IpAddr;

use nftvm_runtime::conntrack::packet::tcp_flags as f;
use nftvm_runtime::conntrack::{
    Config, Conn, Conntrack, L4Payload, PacketInfo, SECOND, Segment, TcpState, Time, Tracked, Tuple, builder,
};

pub const ACK: u8 = f::ACK;
pub const SYN: u8 = f::SYN;
pub const FIN: u8 = f::FIN;
pub const RST: u8 = f::RST;
pub const PSH: u8 = f::PSH;

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Seconds as packet-clock time.
pub fn at(secs: u64) -> Time {
    secs * SECOND
}

/// A TCP conversation between a client (original direction, index 0) and a server.
pub struct Flow {
    pub ct: Conntrack,
    pub addr: [IpAddr; 2],
    pub port: [u16; 2],
    /// Next sequence number of each side.
    pub seq: [u32; 2],
    pub window: u16,
    pub now: Time,
}

impl Flow {
    pub fn new(cfg: Config) -> Flow {
        Flow {
            ct: Conntrack::new(cfg),
            addr: [ip("10.0.0.1"), ip("192.0.2.80")],
            port: [40000, 80],
            seq: [1000, 500_000],
            window: 64_000,
            now: at(1),
        }
    }

    /// The original tuple (client → server).
    pub fn tuple(&self) -> Tuple {
        Tuple::ports(self.addr[0], self.addr[1], 6, self.port[0], self.port[1])
    }

    /// A segment from side `dir` with explicit numbers.
    pub fn packet(&self, dir: usize, flags: u8, seq: u32, ack: u32, payload: u32) -> PacketInfo<'static> {
        builder::tcp(
            self.addr[dir],
            self.addr[1 - dir],
            self.port[dir],
            self.port[1 - dir],
            flags,
            seq,
            ack,
            self.window,
            payload,
            &[],
            self.now,
        )
    }

    /// Tracks a packet and, unless it is INVALID, lets it through (confirm point).
    pub fn run(&mut self, pkt: &PacketInfo<'_>) -> Tracked {
        let t = self.ct.track(pkt).expect("table not full");
        self.ct.finish(&t, None).expect("confirm");
        t
    }

    /// Side `dir` sends `flags` with `payload` bytes at its next sequence number,
    /// acknowledging everything the other side sent.
    pub fn send(&mut self, dir: usize, flags: u8, payload: u32) -> Tracked {
        let ack = if flags & ACK != 0 { self.seq[1 - dir] } else { 0 };
        let pkt = self.packet(dir, flags, self.seq[dir], ack, payload);
        let t = self.run(&pkt);
        self.seq[dir] = self.seq[dir]
            .wrapping_add(payload)
            .wrapping_add(u32::from(flags & SYN != 0))
            .wrapping_add(u32::from(flags & FIN != 0));
        t
    }

    /// The connection of the original tuple, if any (looked up in either direction).
    pub fn conn(&self) -> Option<&Conn> {
        let (id, _) = self.ct.find(&self.tuple(), 0)?;
        self.ct.get(id)
    }

    pub fn state(&self) -> Option<TcpState> {
        self.conn().and_then(|c| c.tcp_state())
    }

    /// Runs a segment carrying payload bytes through tracking and the confirm point.
    pub fn finish_with(&mut self, t: &Tracked, seg: &Segment<'_>) {
        let _ = self.ct.finish(t, Some(&L4Payload::Tcp(*seg)));
    }
}
