//! Every TCP state transition: for each state, each direction and each kind of segment,
//! a conversation is driven into the state and one in-window segment is sent.
//!
//! The expected results are the kernel's `tcp_conntracks` table in
//! `net/netfilter/nf_conntrack_proto_tcp.c` (Linux 6.x), copied here cell by cell from
//! the source, with the code paths that override a cell spelled out where they apply
//! (reopening from TIME_WAIT/CLOSE, an RST on a connection that never saw a reply).

#[path = "conntrack_support.rs"]
mod support;

use nftvm_runtime::conntrack::{Config, CtInfo, TcpState};
use support::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    To(TcpState),
    Iv,
    Ig,
}
use Cell::{Ig, Iv};
use TcpState as S;

const NO: Cell = Cell::To(S::None);
const SS: Cell = Cell::To(S::SynSent);
const SR: Cell = Cell::To(S::SynRecv);
const ES: Cell = Cell::To(S::Established);
const FW: Cell = Cell::To(S::FinWait);
const CW: Cell = Cell::To(S::CloseWait);
const LA: Cell = Cell::To(S::LastAck);
const TW: Cell = Cell::To(S::TimeWait);
const CL: Cell = Cell::To(S::Close);
const S2: Cell = Cell::To(S::SynSent2);

/// Columns: sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2.
const KERNEL_ORIGINAL: [[Cell; 10]; 6] = [
    /* syn    */ [SS, SS, Ig, Ig, Ig, Ig, Ig, SS, SS, S2],
    /* synack */ [Iv, Iv, SR, Iv, Iv, Iv, Iv, Iv, Iv, SR],
    /* fin    */ [Iv, Iv, FW, FW, LA, LA, LA, TW, CL, Iv],
    /* ack    */ [ES, Iv, ES, ES, CW, CW, TW, TW, CL, Iv],
    /* rst    */ [Iv, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    /* none   */ [Iv, Iv, Iv, Iv, Iv, Iv, Iv, Iv, Iv, Iv],
];
const KERNEL_REPLY: [[Cell; 10]; 6] = [
    /* syn    */ [Iv, S2, Iv, Iv, Iv, Iv, Iv, SS, Iv, S2],
    /* synack */ [Iv, SR, Ig, Ig, Ig, Ig, Ig, Ig, Ig, SR],
    /* fin    */ [Iv, Iv, FW, FW, LA, LA, LA, TW, CL, Iv],
    /* ack    */ [Iv, Ig, SR, ES, CW, CW, TW, TW, CL, Ig],
    /* rst    */ [Iv, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    /* none   */ [Iv, Iv, Iv, Iv, Iv, Iv, Iv, Iv, Iv, Iv],
];

/// The flag bytes of the six segment kinds (FIN needs ACK: a bare FIN is an invalid flag
/// combination for `tcp_error`).
const KINDS: [(&str, u8); 6] =
    [("syn", SYN), ("synack", SYN | ACK), ("fin", FIN | ACK), ("ack", ACK), ("rst", RST), ("none", 0)];
const _: Cell = NO;

/// Drives a fresh conversation into `state`.
fn flow_in(state: TcpState) -> Flow {
    let mut f = Flow::new(Config::default());
    let steps: &[(usize, u8)] = match state {
        S::None => &[],
        S::SynSent => &[(0, SYN)],
        S::SynRecv => &[(0, SYN), (1, SYN | ACK)],
        S::Established => &[(0, SYN), (1, SYN | ACK), (0, ACK)],
        S::FinWait => &[(0, SYN), (1, SYN | ACK), (0, ACK), (0, FIN | ACK)],
        S::CloseWait => &[(0, SYN), (1, SYN | ACK), (0, ACK), (0, FIN | ACK), (1, ACK)],
        S::LastAck => &[(0, SYN), (1, SYN | ACK), (0, ACK), (0, FIN | ACK), (1, ACK), (1, FIN | ACK)],
        S::TimeWait => {
            &[(0, SYN), (1, SYN | ACK), (0, ACK), (0, FIN | ACK), (1, ACK), (1, FIN | ACK), (0, ACK)]
        }
        S::Close => &[(0, SYN), (1, SYN | ACK), (0, ACK), (0, RST)],
        S::SynSent2 => &[(0, SYN), (1, SYN)],
    };
    for &(dir, flags) in steps {
        let t = f.send(dir, flags, 0);
        assert_ne!(t.info, CtInfo::Invalid, "setting up {state:?}: {flags:#x} from {dir}");
    }
    assert_eq!(f.state(), if state == S::None { None } else { Some(state) }, "setup of {state:?}");
    f
}

#[test]
fn every_cell_of_the_transition_tables() {
    let mut failures = Vec::new();
    for (dir, table) in [(0usize, &KERNEL_ORIGINAL), (1usize, &KERNEL_REPLY)] {
        for (k, &(kind, flags)) in KINDS.iter().enumerate() {
            for state in TcpState::ALL {
                if state == S::None && dir == 1 {
                    // A connection's first packet is its original direction by definition.
                    continue;
                }
                let expected = table[k][state as usize];
                let mut f = flow_in(state);
                let seen_reply = !matches!(state, S::None | S::SynSent);
                let t = f.send(dir, flags, 0);
                let cell = format!("{} {kind} in {state:?}", ["original", "reply"][dir]);
                let ok = match expected {
                    Iv => t.info == CtInfo::Invalid && f.state() == Some(state).filter(|s| *s != S::None),
                    Ig => t.info != CtInfo::Invalid && f.state() == Some(state),
                    Cell::To(S::SynSent) if matches!(state, S::TimeWait | S::Close) => {
                        // Reopening (CLOSE_INIT is set after the FINs, or the last packet
                        // was an RST from this side): the old entry is killed and the SYN
                        // starts a new connection whose original direction is its sender.
                        let fresh = builder_tuple(&f, dir);
                        let reopened = f.ct.find(&fresh, 0).and_then(|(id, d)| {
                            let c = f.ct.get(id)?;
                            (d == 0).then_some(c.tcp_state())
                        });
                        t.info == CtInfo::New && reopened == Some(Some(S::SynSent))
                    }
                    Cell::To(S::Close) if !seen_reply => {
                        // "If only reply is a RST, we can consider ourselves not to have an
                        // established connection": the entry is deleted.
                        t.info != CtInfo::Invalid && f.conn().is_none()
                    }
                    Cell::To(next) => t.info != CtInfo::Invalid && f.state() == Some(next),
                };
                if !ok {
                    failures.push(format!(
                        "{cell}: expected {expected:?}, got {:?} / state {:?}",
                        t.info,
                        f.state()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

/// The tuple of a connection started by side `dir`.
fn builder_tuple(f: &Flow, dir: usize) -> nftvm_runtime::conntrack::Tuple {
    nftvm_runtime::conntrack::Tuple::ports(f.addr[dir], f.addr[1 - dir], 6, f.port[dir], f.port[1 - dir])
}

#[test]
fn loose_off_refuses_mid_stream_pickup() {
    let mut f = Flow::new(Config { tcp_loose: false, ..Config::default() });
    assert_eq!(f.send(0, ACK, 100).info, CtInfo::Invalid);
    assert!(f.conn().is_none());
    let mut f = Flow::new(Config::default());
    assert_eq!(f.send(0, ACK, 100).info, CtInfo::New);
    assert_eq!(f.state(), Some(S::Established));
}
