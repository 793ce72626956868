//! Tracker settings: the `net.netfilter.nf_conntrack_*` sysctls with Linux's defaults.
//!
//! Timeouts are in seconds, as the sysctls give them (verified against a 6.18 kernel's
//! `sysctl net.netfilter` and `nf_conntrack_proto_*.c`).

use super::packet::{SECOND, Time};
use super::tcp::TcpState;

/// Per-state TCP timeouts (`nf_conntrack_tcp_timeout_*`), in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpTimeouts {
    pub syn_sent: u32,
    pub syn_recv: u32,
    pub established: u32,
    pub fin_wait: u32,
    pub close_wait: u32,
    pub last_ack: u32,
    pub time_wait: u32,
    pub close: u32,
    pub syn_sent2: u32,
    /// `nf_conntrack_tcp_timeout_max_retrans` (TCP_CONNTRACK_RETRANS).
    pub retrans: u32,
    /// `nf_conntrack_tcp_timeout_unacknowledged` (TCP_CONNTRACK_UNACK).
    pub unack: u32,
}

impl Default for TcpTimeouts {
    fn default() -> Self {
        TcpTimeouts {
            syn_sent: 120,
            syn_recv: 60,
            established: 432_000,
            fin_wait: 120,
            close_wait: 60,
            last_ack: 30,
            time_wait: 120,
            close: 10,
            syn_sent2: 120,
            retrans: 300,
            unack: 300,
        }
    }
}

impl TcpTimeouts {
    /// The timeout of a state, in seconds.
    pub fn of(&self, state: TcpState) -> u32 {
        match state {
            // NONE has no timeout of its own in the kernel's table (it is never a resting
            // state); use SYN_SENT's, which is what a timeout policy's "unspec" maps to.
            TcpState::None | TcpState::SynSent => self.syn_sent,
            TcpState::SynRecv => self.syn_recv,
            TcpState::Established => self.established,
            TcpState::FinWait => self.fin_wait,
            TcpState::CloseWait => self.close_wait,
            TcpState::LastAck => self.last_ack,
            TcpState::TimeWait => self.time_wait,
            TcpState::Close => self.close,
            TcpState::SynSent2 => self.syn_sent2,
        }
    }
}

/// All protocol timeouts, in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: TcpTimeouts,
    /// `nf_conntrack_udp_timeout` (unreplied, and replied within the first 2 s).
    pub udp: u32,
    /// `nf_conntrack_udp_timeout_stream`.
    pub udp_stream: u32,
    pub icmp: u32,
    pub icmpv6: u32,
    /// `nf_conntrack_generic_timeout`.
    pub generic: u32,
    pub gre: u32,
    pub gre_stream: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: TcpTimeouts::default(),
            udp: 30,
            udp_stream: 120,
            icmp: 30,
            icmpv6: 30,
            generic: 600,
            gre: 30,
            gre_stream: 180,
        }
    }
}

/// Seconds to packet-clock time.
pub fn secs(s: u32) -> Time {
    Time::from(s) * SECOND
}

/// The tracker's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `nf_conntrack_max`: entries (confirmed and pending) before early drop / refusal.
    /// 0 means unlimited, as in Linux.
    pub max: usize,
    /// `nf_conntrack_tcp_loose`: pick up connections from the middle (default on).
    pub tcp_loose: bool,
    /// `nf_conntrack_tcp_be_liberal`: only out-of-window RSTs are INVALID (default off).
    pub tcp_be_liberal: bool,
    /// `nf_conntrack_tcp_max_retrans`.
    pub tcp_max_retrans: u8,
    /// `nf_conntrack_tcp_ignore_invalid_rst`.
    pub tcp_ignore_invalid_rst: bool,
    /// `nf_conntrack_acct`. Linux's default is off; nftvm keeps accounting on so that
    /// `ct packets`/`ct bytes` and the `packets=… bytes=…` columns work out of the box.
    pub acct: bool,
    /// Record `[NEW]`/`[UPDATE]`/`[DESTROY]` events for `conntrack -E`.
    pub events: bool,
    /// `nf_conntrack_expect_max`.
    pub expect_max: usize,
    pub timeouts: Timeouts,
    /// Seed of the table's keyed hash and of NAT's port choice.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max: 262_144,
            tcp_loose: true,
            tcp_be_liberal: false,
            tcp_max_retrans: 3,
            tcp_ignore_invalid_rst: false,
            acct: true,
            events: false,
            expect_max: 4096,
            timeouts: Timeouts::default(),
            seed: 0x6e66_7476_6d21_c0de,
        }
    }
}
