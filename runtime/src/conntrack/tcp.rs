//! TCP connection tracking: the state machine and window tracking of Linux's
//! `nf_conntrack_proto_tcp.c` (transition tables, `tcp_in_window`, `tcp_new`,
//! `tcp_error`, RST/SYN/challenge-ACK special cases, per-state timeouts).
//!
//! The code follows the kernel's decisions step by step so that the same packets get the
//! same verdicts; it is our own code, written from reading the kernel's behaviour.

use super::config::{Config, TcpTimeouts};
use super::packet::{TcpInfo, tcp_flags as f};
use crate::packet::tcp::{TcpOption, TcpOptionIter};

/// The TCP conntrack states, in kernel order (`enum tcp_conntrack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum TcpState {
    #[default]
    None = 0,
    SynSent = 1,
    SynRecv = 2,
    Established = 3,
    FinWait = 4,
    CloseWait = 5,
    LastAck = 6,
    TimeWait = 7,
    Close = 8,
    SynSent2 = 9,
}

impl TcpState {
    pub const ALL: [TcpState; 10] = [
        TcpState::None,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::SynSent2,
    ];

    /// The name `conntrack -L` prints.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }
}

/// Which of SYN / SYN-ACK / FIN / ACK / RST / none a segment is (`get_conntrack_index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum SegIndex {
    Syn = 0,
    SynAck = 1,
    Fin = 2,
    Ack = 3,
    Rst = 4,
    #[default]
    None = 5,
}

impl SegIndex {
    pub fn of(flags: u8) -> SegIndex {
        if flags & f::RST != 0 {
            SegIndex::Rst
        } else if flags & f::SYN != 0 {
            if flags & f::ACK != 0 { SegIndex::SynAck } else { SegIndex::Syn }
        } else if flags & f::FIN != 0 {
            SegIndex::Fin
        } else if flags & f::ACK != 0 {
            SegIndex::Ack
        } else {
            SegIndex::None
        }
    }
}

/// A cell of the transition table: a next state, INVALID (`sIV`) or IGNORE (`sIG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    To(TcpState),
    Invalid,
    Ignore,
}

use Next::{Ignore as IG, Invalid as IV};
const NO: Next = Next::To(TcpState::None);
const SS: Next = Next::To(TcpState::SynSent);
const SR: Next = Next::To(TcpState::SynRecv);
const ES: Next = Next::To(TcpState::Established);
const FW: Next = Next::To(TcpState::FinWait);
const CW: Next = Next::To(TcpState::CloseWait);
const LA: Next = Next::To(TcpState::LastAck);
const TW: Next = Next::To(TcpState::TimeWait);
const CL: Next = Next::To(TcpState::Close);
const S2: Next = Next::To(TcpState::SynSent2);

/// `[direction][segment index][current state]`, columns in state order
/// NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE,
/// SYN_SENT2 (the kernel's `tcp_conntracks`).
const TRANSITIONS: [[[Next; 10]; 6]; 2] = [
    [
        /* syn    */ [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
        /* synack */ [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR],
        /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        /* ack    */ [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV],
        /* rst    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
    ],
    [
        /* syn    */ [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2],
        /* synack */ [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
        /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        /* ack    */ [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
        /* rst    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
    ],
];

// NO is only used to keep the table's vocabulary complete.
const _: Next = NO;

/// The table lookup: what a segment of kind `index` in direction `dir` (0 original, 1 reply)
/// does to a connection in `state`.
pub fn transition(dir: usize, index: SegIndex, state: TcpState) -> Next {
    TRANSITIONS[dir & 1][index as usize][state as usize]
}

/// Per-direction flags (`IP_CT_TCP_FLAG_*`).
pub mod peer_flags {
    pub const WINDOW_SCALE: u8 = 0x01;
    pub const SACK_PERM: u8 = 0x02;
    pub const CLOSE_INIT: u8 = 0x04;
    pub const BE_LIBERAL: u8 = 0x08;
    pub const DATA_UNACKNOWLEDGED: u8 = 0x10;
    pub const MAXACK_SET: u8 = 0x20;
    /// In `last_flags` only.
    pub const EXP_CHALLENGE_ACK: u8 = 0x40;
    /// In `last_flags` only.
    pub const SIMULTANEOUS_OPEN: u8 = 0x80;
}
use peer_flags as pf;

/// What conntrack knows of one side's sequence space (`struct ip_ct_tcp_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpPeer {
    /// Highest `seq + len` sent.
    pub td_end: u32,
    /// Highest `ack + window` the other side advertised.
    pub td_maxend: u32,
    /// Largest window seen (scaled).
    pub td_maxwin: u32,
    /// Highest ACK sent.
    pub td_maxack: u32,
    pub td_scale: u8,
    pub flags: u8,
}

impl TcpPeer {
    fn reset(&mut self) {
        *self = TcpPeer { flags: self.flags & pf::BE_LIBERAL, ..TcpPeer::default() };
    }
}

/// Per-connection TCP tracking state (`struct ip_ct_tcp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpConn {
    pub seen: [TcpPeer; 2],
    pub state: TcpState,
    pub last_dir: u8,
    pub retrans: u8,
    pub last_index: SegIndex,
    pub last_seq: u32,
    pub last_ack: u32,
    pub last_end: u32,
    pub last_win: u16,
    pub last_wscale: u8,
    pub last_flags: u8,
}

/// `a` is before `b` in sequence space.
pub fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a` is after `b` in sequence space.
pub fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

const MAXACKWINCONST: u32 = 66000;

fn max_ack_window(sender: &TcpPeer) -> u32 {
    sender.td_maxwin.max(MAXACKWINCONST)
}

/// `seq + payload length + SYN + FIN` (`segment_seq_plus_len`).
pub fn segment_end(seg: &TcpInfo<'_>) -> u32 {
    seg.seq
        .wrapping_add(seg.payload_len())
        .wrapping_add(u32::from(seg.has(f::SYN)))
        .wrapping_add(u32::from(seg.has(f::FIN)))
}

const MAX_WSCALE: u8 = 14;

/// Reads window scale and SACK-permitted into `peer` (`tcp_options`).
fn parse_options(options: &[u8], peer: &mut TcpPeer) {
    if options.is_empty() {
        return;
    }
    peer.td_scale = 0;
    peer.flags &= pf::BE_LIBERAL;
    for option in TcpOptionIter::new(options).map_while(Result::ok) {
        match option {
            TcpOption::SackPermitted => peer.flags |= pf::SACK_PERM,
            TcpOption::WindowScale(shift) => {
                peer.td_scale = shift.min(MAX_WSCALE);
                peer.flags |= pf::WINDOW_SCALE;
            }
            _ => {}
        }
    }
}

/// Raises `sack` to the highest right edge of the blocks of the first SACK option (`tcp_sack`).
fn parse_sack(options: &[u8], sack: &mut u32) {
    // Fast path: timestamp only (NOP, NOP, TIMESTAMP, 10).
    if options.len() == 12 && options[..4] == [1, 1, 8, 10] {
        return;
    }
    let first_sack = TcpOptionIter::new(options).map_while(Result::ok).find_map(|option| match option {
        TcpOption::Sack(blocks) => Some(blocks),
        _ => None,
    });
    for block in first_sack.unwrap_or_default().chunks_exact(8) {
        let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
        if after(right, *sack) {
            *sack = right;
        }
    }
}

/// Flag combinations `tcp_error` accepts (PSH, ECE and CWR masked out).
fn valid_flags(flags: u8) -> bool {
    let t = flags & !(f::ECE | f::CWR | f::PSH);
    matches!(
        t,
        f::SYN
            | 0x22 // SYN|URG
            | 0x12 // SYN|ACK
            | f::RST
            | 0x14 // RST|ACK
            | 0x11 // FIN|ACK
            | 0x31 // FIN|ACK|URG
            | f::ACK
            | 0x30 // ACK|URG
    )
}

/// `tcp_error`: a truncated header, a bad checksum or an impossible flag combination makes
/// the packet INVALID before any state is looked at.
pub fn is_malformed(seg: &TcpInfo<'_>, checksum_ok: bool) -> bool {
    let hdr = u32::from(seg.doff) * 4;
    hdr < 20 || seg.l4_len < hdr || !checksum_ok || !valid_flags(seg.flags)
}

/// What `tcp_in_window` concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Accept,
    Ignore,
    Invalid,
}

/// The connection-level facts the TCP tracker reads but does not own.
#[derive(Clone, Copy, Debug)]
pub struct TcpContext {
    pub seen_reply: bool,
    pub assured: bool,
    pub fixed_timeout: bool,
    /// Seconds until the entry expires now (for the out-of-window FIN/RST shortening).
    pub expires_in_secs: u64,
}

/// The outcome of one segment on an existing (or just created) connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpVerdict {
    /// Valid: the state may have changed.
    Accept {
        /// New timeout in seconds, with accounting; `None` when the kernel neither refreshes
        /// nor counts (a retransmitted SYN).
        refresh: Option<u32>,
        state_changed: bool,
        /// The connection became ASSURED.
        assured: bool,
        /// Delete the connection after accounting (an RST answering an unreplied flow).
        kill: bool,
    },
    /// Let through without touching the connection (the kernel's `sIG` paths and
    /// window-ignored segments): no refresh, no accounting, but the ctinfo stands.
    Ignore,
    /// INVALID: the packet gets no conntrack. `shorten_to` is a new timeout (seconds) for
    /// an assured connection whose FIN/RST were both out of window.
    Invalid { shorten_to: Option<u32> },
    /// A SYN reopening a closed connection: delete it and track the packet afresh.
    Reopen,
}

impl TcpConn {
    /// `tcp_new`: initialise tracking from the first segment of an unconfirmed connection.
    /// Returns false if the segment cannot start a connection (INVALID).
    pub fn start(seg: &TcpInfo<'_>, cfg: &Config) -> Option<TcpConn> {
        let index = SegIndex::of(seg.flags);
        let mut conn = TcpConn::default();
        let peer = &mut conn.seen[0];
        match transition(0, index, TcpState::None) {
            Next::To(TcpState::SynSent) => {
                peer.td_end = segment_end(seg);
                peer.td_maxwin = u32::from(seg.window).max(1);
                peer.td_maxend = peer.td_end;
                parse_options(seg.options, peer);
            }
            Next::To(_) if cfg.tcp_loose => {
                peer.td_end = segment_end(seg);
                peer.td_maxwin = u32::from(seg.window).max(1);
                peer.td_maxend = peer.td_end.wrapping_add(peer.td_maxwin);
                conn.seen[0].flags = pf::SACK_PERM | pf::BE_LIBERAL;
                conn.seen[1].flags = pf::SACK_PERM | pf::BE_LIBERAL;
            }
            _ => return None,
        }
        conn.last_index = SegIndex::None;
        Some(conn)
    }

    /// `nf_conntrack_tcp_established`.
    fn established(&self, ctx: &TcpContext) -> bool {
        self.state == TcpState::Established && ctx.assured
    }

    /// `tcp_can_early_drop`: closing states.
    pub fn closing(&self) -> bool {
        matches!(
            self.state,
            TcpState::FinWait
                | TcpState::LastAck
                | TcpState::TimeWait
                | TcpState::Close
                | TcpState::CloseWait
        )
    }

    /// `nf_conntrack_tcp_packet` after `tcp_error`/`tcp_new`: run one segment in direction
    /// `dir` (0 original, 1 reply) through the state machine and window tracking.
    /// `seq_offset(dir, seq)` is the NAT sequence adjustment of direction `dir`.
    pub fn packet(
        &mut self,
        dir: usize,
        seg: &TcpInfo<'_>,
        ctx: &TcpContext,
        cfg: &Config,
        seq_offset: impl Fn(usize, u32) -> i32,
    ) -> TcpVerdict {
        let dir = dir & 1;
        let mut old_state = self.state;
        let index = SegIndex::of(seg.flags);
        let mut next = transition(dir, index, old_state);
        let mut skip_window = false;

        // SYN_SENT after TIME_WAIT/CLOSE: a reopening, or else treated like sIG.
        if next == SS && old_state >= TcpState::TimeWait {
            let close_init = (self.seen[dir].flags | self.seen[1 - dir].flags) & pf::CLOSE_INIT != 0;
            if close_init || (usize::from(self.last_dir) == dir && self.last_index == SegIndex::Rst) {
                return TcpVerdict::Reopen;
            }
            next = IG;
        }

        let mut new_state = match next {
            Next::Ignore => match self.ignored(dir, index, seg, old_state) {
                Some(resync) => {
                    old_state = TcpState::SynSent;
                    resync
                }
                None => return TcpVerdict::Ignore,
            },
            Next::Invalid => return TcpVerdict::Invalid { shorten_to: None },
            Next::To(s) => s,
        };

        match new_state {
            TcpState::TimeWait
                if old_state == TcpState::LastAck
                    && index == SegIndex::Ack
                    && usize::from(self.last_dir) != dir
                    && self.last_index == SegIndex::Syn
                    && self.last_flags & pf::EXP_CHALLENGE_ACK != 0 =>
            {
                // An RFC 5961 challenge ACK, not the last ACK.
                self.last_flags &= !pf::EXP_CHALLENGE_ACK;
                return TcpVerdict::Ignore;
            }
            TcpState::SynSent2 => self.last_flags |= pf::SIMULTANEOUS_OPEN,
            TcpState::SynRecv
                if dir == 1 && index == SegIndex::Ack && self.last_flags & pf::SIMULTANEOUS_OPEN != 0 =>
            {
                new_state = TcpState::Established;
            }
            TcpState::Close if index == SegIndex::Rst => {
                let Ok(check) = self.rst_check(dir, seg, ctx, cfg, old_state) else {
                    return TcpVerdict::Invalid { shorten_to: None };
                };
                if check.keep_state {
                    new_state = old_state;
                }
                skip_window = check.skip_window;
            }
            _ => {}
        }

        if !skip_window {
            match self.in_window(dir, index, seg, cfg, &seq_offset) {
                Window::Accept => {}
                Window::Ignore => return TcpVerdict::Ignore,
                Window::Invalid => {
                    return TcpVerdict::Invalid { shorten_to: self.handle_invalid(dir, index, ctx, cfg) };
                }
            }
        }

        // From here on the segment is in window.
        self.last_index = index;
        self.last_dir = dir as u8;
        self.state = new_state;
        if old_state != new_state && new_state == TcpState::FinWait {
            self.seen[dir].flags |= pf::CLOSE_INIT;
        }

        let t = &cfg.timeouts.tcp;
        let mut timeout = self.timeout_for(new_state, index, t, cfg);
        let state_changed = old_state != new_state;

        if !ctx.seen_reply {
            if seg.has(f::RST) {
                return TcpVerdict::Accept {
                    refresh: Some(timeout),
                    state_changed,
                    assured: false,
                    kill: true,
                };
            }
            if index == SegIndex::Syn && old_state == TcpState::SynSent {
                // No refresh on SYN retransmits: port reuse could keep the entry forever.
                return TcpVerdict::Accept { refresh: None, state_changed, assured: false, kill: false };
            }
            if new_state == TcpState::Established && timeout > t.unack {
                timeout = t.unack;
            }
            return TcpVerdict::Accept { refresh: Some(timeout), state_changed, assured: false, kill: false };
        }
        let assured = !ctx.assured
            && matches!(old_state, TcpState::SynRecv | TcpState::Established)
            && new_state == TcpState::Established;
        TcpVerdict::Accept { refresh: Some(timeout), state_changed, assured, kill: false }
    }

    /// The timeout chosen for the new state (retransmissions, RST, unacknowledged data and
    /// zero windows shorten it).
    fn timeout_for(&self, state: TcpState, index: SegIndex, t: &TcpTimeouts, cfg: &Config) -> u32 {
        let base = t.of(state);
        if self.retrans >= cfg.tcp_max_retrans && base > t.retrans {
            t.retrans
        } else if index == SegIndex::Rst {
            t.close
        } else if (self.seen[0].flags | self.seen[1].flags) & pf::DATA_UNACKNOWLEDGED != 0 && base > t.unack {
            t.unack
        } else if self.last_win == 0 && base > t.retrans {
            t.retrans
        } else {
            base
        }
    }

    /// The `sIG` branch: annotate the ignored segment so that a later SYN-ACK (or RST) can
    /// resynchronise. Returns `Some(SYN_RECV)` when this SYN-ACK answers a SYN ignored
    /// earlier, in which case tracking continues from SYN_SENT with the annotated values.
    fn ignored(
        &mut self,
        dir: usize,
        index: SegIndex,
        seg: &TcpInfo<'_>,
        old_state: TcpState,
    ) -> Option<TcpState> {
        let last_dir = usize::from(self.last_dir) & 1;
        if index == SegIndex::SynAck
            && self.last_index == SegIndex::Syn
            && last_dir != dir
            && seg.ack == self.last_end
        {
            let peer = &mut self.seen[last_dir];
            peer.td_end = self.last_end;
            peer.td_maxend = self.last_end;
            peer.td_maxwin = u32::from(self.last_win).max(1);
            peer.td_scale = self.last_wscale;
            self.last_flags &= !pf::EXP_CHALLENGE_ACK;
            peer.flags = self.last_flags;
            self.seen[dir].reset();
            return Some(TcpState::SynRecv);
        }
        self.last_index = index;
        self.last_dir = dir as u8;
        self.last_seq = seg.seq;
        self.last_end = segment_end(seg);
        self.last_win = seg.window;

        if index == SegIndex::Syn && dir == 0 {
            let mut seen = TcpPeer::default();
            self.last_flags = 0;
            self.last_wscale = 0;
            parse_options(seg.options, &mut seen);
            if seen.flags & pf::WINDOW_SCALE != 0 {
                self.last_flags |= pf::WINDOW_SCALE;
                self.last_wscale = seen.td_scale;
            }
            if seen.flags & pf::SACK_PERM != 0 {
                self.last_flags |= pf::SACK_PERM;
            }
            if old_state == TcpState::LastAck {
                self.last_flags |= pf::EXP_CHALLENGE_ACK;
            }
        }
        if old_state == TcpState::SynSent && index == SegIndex::Ack && dir == 1 {
            self.last_ack = seg.ack;
        }
        None
    }

    /// The checks an RST leading to CLOSE goes through before (or instead of) the window
    /// check. `Err(())` means INVALID.
    fn rst_check(
        &self,
        dir: usize,
        seg: &TcpInfo<'_>,
        ctx: &TcpContext,
        cfg: &Config,
        old_state: TcpState,
    ) -> Result<RstCheck, ()> {
        let window = RstCheck { keep_state: false, skip_window: false };
        if self.closing() {
            // The tuple may have been reused already: skip validation.
            return Ok(RstCheck { keep_state: false, skip_window: true });
        }
        let other = &self.seen[1 - dir];
        let mut keep_state = false;
        if other.flags & pf::MAXACK_SET != 0 && self.last_index != SegIndex::Syn {
            let seq = seg.seq;
            if seq == 0 && !self.established(ctx) {
                return Ok(window);
            }
            if before(seq, other.td_maxack) && !cfg.tcp_ignore_invalid_rst {
                return Err(());
            }
            if !self.established(ctx) || seq == other.td_maxack {
                return Ok(window);
            }
            let train =
                self.last_index == SegIndex::Ack && usize::from(self.last_dir) == dir && seq == self.last_end;
            if train {
                return Ok(window);
            }
            // The sequence number does not match exactly: keep the state so that a
            // challenge ACK can follow.
            keep_state = true;
        }
        let answers_let_through = ((ctx.seen_reply && self.last_index == SegIndex::Syn)
            || (!ctx.assured && self.last_index == SegIndex::Ack))
            && seg.ack == self.last_end;
        let answers_challenge = old_state == TcpState::SynSent
            && self.last_index == SegIndex::Ack
            && self.last_dir == 1
            && seg.seq == self.last_ack;
        Ok(RstCheck { keep_state, skip_window: answers_let_through || answers_challenge })
    }

    /// `tcp_in_window`.
    fn in_window(
        &mut self,
        dir: usize,
        index: SegIndex,
        seg: &TcpInfo<'_>,
        cfg: &Config,
        seq_offset: &impl Fn(usize, u32) -> i32,
    ) -> Window {
        let state = self.state;
        let (first, second) = self.seen.split_at_mut(1);
        let (sender, receiver) =
            if dir == 0 { (&mut first[0], &mut second[0]) } else { (&mut second[0], &mut first[0]) };

        let has_ack = seg.has(f::ACK);
        let has_syn = seg.has(f::SYN);
        let mut seq = seg.seq;
        let mut ack = seg.ack;
        let mut sack = ack;
        let win_raw = seg.window;
        let mut win = u32::from(win_raw);
        let mut end = segment_end(seg);

        if receiver.flags & pf::SACK_PERM != 0 {
            parse_sack(seg.options, &mut sack);
        }
        // NAT sequence mangling of the other direction.
        let receiver_offset = seq_offset(1 - dir, ack.wrapping_sub(1));
        ack = ack.wrapping_sub(receiver_offset as u32);
        sack = sack.wrapping_sub(receiver_offset as u32);

        if sender.td_maxwin == 0 {
            if has_syn {
                init_sender(sender, receiver, seg, end, win, dir);
                if !has_ack {
                    // Simultaneous open.
                    return Window::Accept;
                }
            } else {
                // Mid-stream: use what the packet shows.
                sender.td_end = end;
                let swin = win << sender.td_scale;
                sender.td_maxwin = swin.max(1);
                sender.td_maxend = end.wrapping_add(sender.td_maxwin);
                if receiver.td_maxwin == 0 {
                    receiver.td_end = sack;
                    receiver.td_maxend = sack;
                } else if sack == receiver.td_end.wrapping_add(1) {
                    // Likely a reply to a keepalive.
                    receiver.td_end = receiver.td_end.wrapping_add(1);
                }
            }
        } else if has_syn
            && after(end, sender.td_end)
            && matches!(state, TcpState::SynSent | TcpState::SynRecv)
        {
            // A new SYN (or SYN-ACK) re-initialises this direction.
            init_sender(sender, receiver, seg, end, win, dir);
            if dir == 1 && !has_ack {
                return Window::Accept;
            }
        }

        if !has_ack || (seg.flags & (f::ACK | f::RST) == (f::ACK | f::RST) && ack == 0) {
            ack = receiver.td_end;
            sack = receiver.td_end;
        }

        if seg.has(f::RST) && seq == 0 && state == TcpState::SynSent {
            // RST answering a SYN.
            seq = sender.td_end;
            end = sender.td_end;
        }

        let liberal = sender.flags & pf::BE_LIBERAL != 0 || cfg.tcp_be_liberal;
        let verdict = |v: Window| if liberal { Window::Accept } else { v };

        let seq_ok = before(seq, sender.td_maxend.wrapping_add(1));
        if !seq_ok {
            let overshot = end.wrapping_sub(sender.td_maxend).wrapping_add(1);
            let ack_ok = after(sack, receiver.td_end.wrapping_sub(max_ack_window(sender)).wrapping_sub(1));
            let in_recv_win = receiver.td_maxwin != 0
                && after(end, sender.td_end.wrapping_sub(receiver.td_maxwin).wrapping_sub(1));
            if in_recv_win
                && ack_ok
                && overshot <= receiver.td_maxwin
                && before(sack, receiver.td_end.wrapping_add(1))
            {
                // A sender exceeding the receive window a little: track the data anyway.
                sender.td_end = end;
                sender.flags |= pf::DATA_UNACKNOWLEDGED;
                return verdict(Window::Ignore);
            }
            return verdict(Window::Invalid);
        }
        if !before(sack, receiver.td_end.wrapping_add(1)) {
            // ACK for data not seen yet.
            return verdict(Window::Invalid);
        }
        let in_recv_win = receiver.td_maxwin == 0
            || after(end, sender.td_end.wrapping_sub(receiver.td_maxwin).wrapping_sub(1));
        if !in_recv_win {
            // Already acknowledged data retransmitted.
            return verdict(Window::Ignore);
        }
        if !after(sack, receiver.td_end.wrapping_sub(max_ack_window(sender)).wrapping_sub(1)) {
            // Overly delayed ACK.
            return verdict(Window::Ignore);
        }

        if !has_syn {
            win <<= sender.td_scale;
        }
        let swin = win.wrapping_add(sack.wrapping_sub(ack));
        if sender.td_maxwin < swin {
            sender.td_maxwin = swin;
        }
        if after(end, sender.td_end) {
            sender.td_end = end;
            sender.flags |= pf::DATA_UNACKNOWLEDGED;
        }
        if has_ack {
            if sender.flags & pf::MAXACK_SET == 0 {
                sender.td_maxack = ack;
                sender.flags |= pf::MAXACK_SET;
            } else if after(ack, sender.td_maxack) {
                sender.td_maxack = ack;
            }
        }

        if receiver.td_maxwin != 0 && after(end, sender.td_maxend) {
            receiver.td_maxwin = receiver.td_maxwin.wrapping_add(end.wrapping_sub(sender.td_maxend));
        }
        if after(sack.wrapping_add(win), receiver.td_maxend.wrapping_sub(1)) {
            receiver.td_maxend = sack.wrapping_add(win);
            if win == 0 {
                receiver.td_maxend = receiver.td_maxend.wrapping_add(1);
            }
        }
        if ack == receiver.td_end {
            receiver.flags &= !pf::DATA_UNACKNOWLEDGED;
        }

        if index == SegIndex::Ack {
            if usize::from(self.last_dir) == dir
                && self.last_seq == seq
                && self.last_ack == ack
                && self.last_end == end
                && self.last_win == win_raw
            {
                self.retrans = self.retrans.saturating_add(1);
            } else {
                self.last_dir = dir as u8;
                self.last_seq = seq;
                self.last_ack = ack;
                self.last_end = end;
                self.last_win = win_raw;
                self.retrans = 0;
            }
        }
        Window::Accept
    }

    /// `nf_tcp_handle_invalid`: an assured connection whose FIN/RST went out of window in
    /// both directions has its timeout shortened to the unacknowledged-data timeout.
    fn handle_invalid(&mut self, dir: usize, index: SegIndex, ctx: &TcpContext, cfg: &Config) -> Option<u32> {
        if !ctx.assured || ctx.fixed_timeout {
            return None;
        }
        if !matches!(index, SegIndex::Rst | SegIndex::Fin) {
            return None;
        }
        if usize::from(self.last_dir) != dir && matches!(self.last_index, SegIndex::Fin | SegIndex::Rst) {
            if ctx.expires_in_secs < 120 {
                return None;
            }
            let unack = cfg.timeouts.tcp.unack;
            return (ctx.expires_in_secs > u64::from(unack)).then_some(unack);
        }
        self.last_index = index;
        self.last_dir = dir as u8;
        None
    }
}

/// The outcome of the RST pre-checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RstCheck {
    /// Keep the current state instead of CLOSE.
    keep_state: bool,
    /// Accept without the window check.
    skip_window: bool,
}

/// `tcp_init_sender`: a SYN (or SYN-ACK) initialises its direction.
fn init_sender(
    sender: &mut TcpPeer,
    receiver: &mut TcpPeer,
    seg: &TcpInfo<'_>,
    end: u32,
    win: u32,
    dir: usize,
) {
    sender.td_end = end;
    sender.td_maxend = end;
    sender.td_maxwin = win.max(1);
    parse_options(seg.options, sender);
    // RFC 1323: window scaling only if both sides offered it.
    if dir == 1 && !(sender.flags & pf::WINDOW_SCALE != 0 && receiver.flags & pf::WINDOW_SCALE != 0) {
        sender.td_scale = 0;
        receiver.td_scale = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_parsing_reads_wscale_and_sack_perm() {
        // MSS, SACK_PERM, TS, NOP, WSCALE 7
        let opts = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
        let mut p = TcpPeer::default();
        parse_options(&opts, &mut p);
        assert_eq!(p.td_scale, 7);
        assert_eq!(p.flags, pf::WINDOW_SCALE | pf::SACK_PERM);
        // A scale above 14 is clamped (RFC 1323).
        let mut p = TcpPeer::default();
        parse_options(&[3, 3, 20], &mut p);
        assert_eq!(p.td_scale, 14);
        // A partial option stops parsing without panicking.
        let mut p = TcpPeer::default();
        parse_options(&[3, 9, 1], &mut p);
        assert_eq!(p.flags, 0);
    }

    #[test]
    fn sack_takes_highest_right_edge() {
        let mut sack = 1000;
        let opts = [1, 1, 5, 18, 0, 0, 3, 232, 0, 0, 7, 208, 0, 0, 0, 100, 0, 0, 0, 200];
        parse_sack(&opts, &mut sack);
        assert_eq!(sack, 2000);
    }

    #[test]
    fn flag_validity_matches_tcp_error() {
        for ok in [f::SYN, f::SYN | f::ACK, f::ACK | f::PSH, f::FIN | f::ACK, f::RST, f::RST | f::ACK] {
            assert!(valid_flags(ok), "{ok:#x}");
        }
        for bad in
            [0, f::FIN, f::SYN | f::FIN, f::SYN | f::RST, f::FIN | f::PSH | f::URG, f::FIN | f::RST | f::ACK]
        {
            assert!(!valid_flags(bad), "{bad:#x}");
        }
    }
}
