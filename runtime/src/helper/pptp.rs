//! The PPTP helper (`nf_conntrack_pptp.c`), for IPv4 only, as the kernel registers it.
//!
//! A PPTP client (the PNS) opens a TCP control connection to the server (the PAC, port
//! 1723), starts a session on it and sets up a call; the call's data then flows as enhanced
//! GRE (version 1), each packet carrying the call ID its receiver chose. The helper reads
//! one control message per segment (the first), once traffic has gone both ways, and keeps
//! the kernel's session and call states: when the server answers an outgoing call request
//! as connected (or confirms an incoming call the client accepted), it expects a GRE
//! connection each way — keys from both call IDs — and adds the call to the
//! [GRE keymap](crate::conntrack::gre_keymap), so that the call's GRE packets, in either
//! direction, are one connection RELATED to the control connection. The first GRE packet
//! takes one expectation and removes the other. A disconnect notice from the server, or
//! the end of the control connection, ends the call: its GRE connection is killed (or its
//! expectations removed) and its keymap entries go.
//!
//! The kernel's quirks are kept: one call per control connection (a second call's
//! expectations are removed again when its keymap entries are refused), messages checked
//! for length only where the kernel has a size for them, a message out of order ignored
//! (never dropped). Its GRE connections keep the plain GRE timeouts (30 s, 180 s once
//! answered), as on Linux 6.18, where the GRE tracker resets the helper's longer ones on
//! the connection's first packet.
//!
//! Through NAT (`nf_nat_pptp`, the control connection masqueraded or otherwise translated)
//! the client's call ID is replaced, in the call request, by the control connection's
//! translated source port, and put back wherever the server's messages name it; the GRE
//! expectations take the translated ID on the server's side and the original on the
//! client's, and the call's GRE connection is translated like its master, its call ID
//! rewritten on the way to the client.

use nftvm_vm::keys::ct_status as st;

use super::mangle::{Mangled, mangle};
use super::{Helper, HelperData};
use crate::conntrack::Conntrack;
use crate::conntrack::config::secs;
use crate::conntrack::confirm::Segment;
use crate::conntrack::ctinfo::CtInfo;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::{ExpectNat, Expectation};
use crate::conntrack::gre_keymap::KeymapAdd;
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::Tuple;
use crate::nat::{Manip, NatRange};

/// `PPTP_PACKET_CONTROL`.
const CONTROL_PACKET: u16 = 1;
/// `PPTP_MAGIC_COOKIE`.
const MAGIC_COOKIE: u32 = 0x1a2b_3c4d;
/// The PPTP header (length, type, cookie) and the control header (message type, reserved).
const HEADERS: usize = 12;

/// Control message types.
mod msg {
    pub const START_SESSION_REQUEST: u16 = 1;
    pub const START_SESSION_REPLY: u16 = 2;
    pub const STOP_SESSION_REQUEST: u16 = 3;
    pub const STOP_SESSION_REPLY: u16 = 4;
    pub const ECHO_REQUEST: u16 = 5;
    pub const ECHO_REPLY: u16 = 6;
    pub const OUT_CALL_REQUEST: u16 = 7;
    pub const OUT_CALL_REPLY: u16 = 8;
    pub const IN_CALL_REQUEST: u16 = 9;
    pub const IN_CALL_REPLY: u16 = 10;
    pub const IN_CALL_CONNECT: u16 = 11;
    pub const CALL_CLEAR_REQUEST: u16 = 12;
    pub const CALL_DISCONNECT_NOTIFY: u16 = 13;
    pub const WAN_ERROR_NOTIFY: u16 = 14;
    pub const SET_LINK_INFO: u16 = 15;
}

/// The least body a message of each type must have to be read (`pptp_msg_size`, the sizes
/// of the kernel's structures; the echo messages, types 5 and 6, have none).
fn least_body(message: u16) -> usize {
    match message {
        msg::START_SESSION_REQUEST | msg::START_SESSION_REPLY => 144,
        msg::STOP_SESSION_REQUEST | msg::STOP_SESSION_REPLY | msg::CALL_CLEAR_REQUEST => 4,
        msg::OUT_CALL_REQUEST => 156,
        msg::OUT_CALL_REPLY => 20,
        msg::IN_CALL_REQUEST => 208,
        msg::IN_CALL_REPLY | msg::SET_LINK_INFO => 12,
        msg::IN_CALL_CONNECT => 16,
        msg::CALL_DISCONNECT_NOTIFY => 136,
        msg::WAN_ERROR_NOTIFY => 28,
        _ => 0,
    }
}

/// The control session's state, in the kernel's order (its tests compare them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Session {
    #[default]
    None,
    Error,
    StopRequested,
    Requested,
    Confirmed,
}

/// The call's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Call {
    #[default]
    None,
    OutRequested,
    OutConfirmed,
    InRequested,
    InReplied,
    InConfirmed,
    ClearRequested,
}

/// Per control connection: the session, the call and its two call IDs (the client's as
/// the server sees it), and through NAT the call IDs before translation (`nf_nat_pptp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PptpState {
    pub session: Session,
    pub call: Call,
    pub pac_call_id: u16,
    pub pns_call_id: u16,
    pub nat_pns_call_id: u16,
    pub nat_pac_call_id: u16,
}

/// A control message the state let through: its type and what it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub message: u16,
    pub action: Action,
}

/// What a control message asks of conntrack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// Expect the call's GRE both ways (`exp_gre`).
    ExpectGre,
    /// The call is over (`pptp_destroy_siblings`).
    EndCall,
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// The message type and body of the control message a segment's payload starts with.
fn control_message(payload: &[u8]) -> Option<(u16, &[u8])> {
    let cookie = payload.get(4..8).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))?;
    if be16(payload, 2)? != CONTROL_PACKET || cookie != MAGIC_COOKIE {
        return None;
    }
    let message = be16(payload, 8)?;
    let body = payload.get(HEADERS..)?;
    (body.len() >= least_body(message)).then_some((message, body))
}

/// One segment's payload in direction `dir` (0: from the client, the PNS): the state after
/// it and the message, if the state let it through. A message the state does not allow
/// changes nothing.
pub fn read(state: PptpState, dir: usize, payload: &[u8]) -> (PptpState, Option<Accepted>) {
    let Some((message, body)) = control_message(payload) else { return (state, None) };
    let mut s = state;
    let id = |at| be16(body, at).unwrap_or(0);
    let byte = |at: usize| body.get(at).copied().unwrap_or(0);
    let action = if dir == 0 {
        match message {
            msg::START_SESSION_REQUEST if s.session == Session::None => {
                s.session = Session::Requested;
                Action::None
            }
            msg::STOP_SESSION_REQUEST => {
                s.session = Session::StopRequested;
                Action::None
            }
            msg::OUT_CALL_REQUEST if s.session == Session::Confirmed => {
                s.call = Call::OutRequested;
                s.pns_call_id = id(0);
                Action::None
            }
            msg::IN_CALL_REPLY
                if matches!(s.call, Call::InRequested | Call::InReplied) && s.pac_call_id == id(2) =>
            {
                if byte(4) == 1 {
                    s.call = Call::InReplied;
                    s.pns_call_id = id(0);
                } else {
                    s.call = Call::None;
                }
                Action::None
            }
            msg::CALL_CLEAR_REQUEST if s.session == Session::Confirmed => {
                s.call = Call::ClearRequested;
                Action::None
            }
            msg::SET_LINK_INFO | msg::ECHO_REQUEST | msg::ECHO_REPLY => Action::None,
            _ => return (state, None),
        }
    } else {
        match message {
            msg::START_SESSION_REPLY if s.session >= Session::Requested => {
                s.session = if byte(2) == 1 { Session::Confirmed } else { Session::Error };
                Action::None
            }
            msg::STOP_SESSION_REPLY if s.session <= Session::StopRequested => {
                s.session = if byte(0) == 1 { Session::None } else { Session::Error };
                Action::None
            }
            msg::OUT_CALL_REPLY
                if s.session == Session::Confirmed
                    && matches!(s.call, Call::OutRequested | Call::OutConfirmed)
                    && s.pns_call_id == id(2) =>
            {
                if byte(4) == 1 {
                    s.call = Call::OutConfirmed;
                    s.pac_call_id = id(0);
                    Action::ExpectGre
                } else {
                    s.call = Call::None;
                    Action::None
                }
            }
            msg::IN_CALL_REQUEST if s.session == Session::Confirmed => {
                s.call = Call::InRequested;
                s.pac_call_id = id(0);
                Action::None
            }
            msg::IN_CALL_CONNECT
                if s.session == Session::Confirmed
                    && matches!(s.call, Call::InReplied | Call::InConfirmed)
                    && s.pns_call_id == id(0) =>
            {
                s.call = Call::InConfirmed;
                Action::ExpectGre
            }
            msg::CALL_DISCONNECT_NOTIFY => {
                s.call = Call::None;
                Action::EndCall
            }
            msg::WAN_ERROR_NOTIFY | msg::SET_LINK_INFO | msg::ECHO_REQUEST | msg::ECHO_REPLY => Action::None,
            _ => return (state, None),
        }
    };
    (s, Some(Accepted { message, action }))
}

/// Through NAT, where a message names the client's call ID (its offset in the message, past
/// both headers) and the ID it must carry instead (`nf_nat_pptp`'s `pptp_outbound_pkt` and
/// `pptp_inbound_pkt`); `state` is the state after the message, whose call setup from the
/// client this takes the translated ID for.
fn nat_call_id(
    state: &mut PptpState,
    dir: usize,
    message: u16,
    translated_port: u16,
) -> Option<(usize, u16)> {
    if dir == 0 {
        let offset = match message {
            msg::OUT_CALL_REQUEST => {
                state.nat_pns_call_id = state.pns_call_id;
                state.pns_call_id = translated_port;
                0
            }
            msg::IN_CALL_REPLY | msg::CALL_CLEAR_REQUEST => 0,
            _ => return None,
        };
        Some((HEADERS + offset, state.pns_call_id))
    } else {
        let offset = match message {
            msg::OUT_CALL_REPLY => 2,
            msg::IN_CALL_CONNECT
            | msg::WAN_ERROR_NOTIFY
            | msg::CALL_DISCONNECT_NOTIFY
            | msg::SET_LINK_INFO => 0,
            _ => return None,
        };
        Some((HEADERS + offset, state.nat_pns_call_id))
    }
}

impl Conntrack {
    /// The PPTP helper on one segment at the confirm point: through NAT, the segment's
    /// payload with the call ID rewritten. It never drops a segment.
    pub(crate) fn pptp_help(
        &mut self,
        id: ConnId,
        dir: usize,
        info: CtInfo,
        seg: &Segment<'_>,
        now: Time,
    ) -> Option<Mangled> {
        if !matches!(info, CtInfo::Established | CtInfo::EstablishedReply) {
            return None;
        }
        let c = self.get(id)?;
        let natted = c.status & (st::SRC_NAT | st::DST_NAT) != 0;
        let translated_port = c.tuple[1].dport();
        let (mut state, accepted) = read(self.pptp_state(id), dir, seg.payload);
        let accepted = accepted?;
        // The call setup from the client is translated before anything is expected.
        let rewrite =
            if natted { nat_call_id(&mut state, dir, accepted.message, translated_port) } else { None };
        self.set_pptp_state(id, state);
        match accepted.action {
            Action::None => {}
            Action::ExpectGre => self.expect_gre(id, natted, now),
            Action::EndCall => self.end_pptp_call(id),
        }
        let (offset, call_id) = rewrite?;
        mangle(seg.payload, offset, 2, &call_id.to_be_bytes(), seg.l3_len)
    }

    /// The connection's PPTP state.
    fn pptp_state(&self, id: ConnId) -> PptpState {
        match self.get(id).and_then(|c| c.ext.as_ref()).map(|e| &e.helper_data) {
            Some(HelperData::Pptp(s)) => *s,
            _ => PptpState::default(),
        }
    }

    fn set_pptp_state(&mut self, id: ConnId, state: PptpState) {
        if let Some(c) = self.get_mut(id) {
            c.ext_mut().helper_data = HelperData::Pptp(state);
        }
    }

    /// The GRE tuples of `master`'s call, each direction's (the client's first).
    fn pptp_call_tuples(&self, master: ConnId, state: PptpState) -> Option<[Tuple; 2]> {
        let c = self.get(master)?;
        let (pns, pac) = (state.pns_call_id, state.pac_call_id);
        let gre = |t: &Tuple, src_key, dst_key| Tuple::gre(t.src_addr(), t.dst_addr(), src_key, dst_key);
        Some([gre(&c.tuple[0], pns, pac), gre(&c.tuple[1], pac, pns)])
    }

    /// `exp_gre`: expects the call's GRE connection from either side, and maps its keys.
    /// Through NAT (`pptp_exp_gre`) the client's side expects its original call ID and the
    /// server's the translated one, each expectation keeping the ID the connection it makes
    /// is translated to.
    fn expect_gre(&mut self, master: ConnId, natted: bool, now: Time) {
        let mut state = self.pptp_state(master);
        let Some(mut tuples) = self.pptp_call_tuples(master, state) else { return };
        let Some(zone) = self.get(master).map(|c| c.zone) else { return };
        let mut nat = [None, None];
        if natted {
            state.nat_pac_call_id = state.pac_call_id;
            self.set_pptp_state(master, state);
            tuples[0].src_id = state.nat_pns_call_id;
            tuples[1].src_id = state.nat_pac_call_id;
            nat = [
                Some(ExpectNat { dir: 0, saved_port: state.pns_call_id }),
                Some(ExpectNat { dir: 1, saved_port: state.nat_pns_call_id }),
            ];
        }
        let expectation = |(tuple, nat)| Expectation {
            tuple,
            exact_src_id: true,
            any_src: false,
            zone,
            master,
            timeout: now.saturating_add(secs(Helper::Pptp.expect_timeout())),
            nat,
            serial: 0,
        };
        let [orig, reply] = [(tuples[0], nat[0]), (tuples[1], nat[1])].map(expectation);
        if self.expect_related(orig, now).is_err() {
            return;
        }
        let registered = |ct: &Conntrack, e: &Expectation| ct.expect.iter().find(|x| x.same_as(e)).copied();
        let Some(orig) = registered(self, &orig) else { return };
        if self.expect_related(reply, now).is_err() {
            self.expect.remove(&orig);
            return;
        }
        if self.gre_keymap.add(master, tuples[0], tuples[1]) == KeymapAdd::Refused {
            if let Some(reply) = registered(self, &reply) {
                self.expect.remove(&reply);
            }
            self.expect.remove(&orig);
        }
    }

    /// `pptp_expectfn`: the first GRE packet of a call took `exp` and made connection `id`;
    /// the other direction's expectation goes (the connection answers both). Through NAT
    /// (`pptp_nat_expected`) the connection is translated like its master: its source to
    /// where the master sends to, its destination to where the master comes from, the call
    /// ID each expectation kept on its side.
    pub(crate) fn pptp_expected(&mut self, id: ConnId, exp: &Expectation) {
        let Some(nat) = exp.nat else {
            if let Some(other) = exp.tuple.invert() {
                self.expect.remove_matching(&other, exp.zone);
            }
            return;
        };
        let state = self.pptp_state(exp.master);
        let Some(m) = self.get(exp.master) else { return };
        let d = 1 - (nat.dir & 1);
        let (to_src, to_dst) = (m.tuple[d].dst, m.tuple[d].src);
        // When the server's GRE came first, the kernel reads the client side's call IDs
        // from the new connection's own (empty) NAT data: zero, so that expectation stays.
        let other = if nat.dir == 0 {
            Tuple::gre(m.tuple[1].src_addr(), m.tuple[1].dst_addr(), state.pac_call_id, state.pns_call_id)
        } else {
            Tuple::gre(m.tuple[0].src_addr(), m.tuple[0].dst_addr(), 0, 0)
        };
        self.expect.remove_matching(&other, exp.zone);
        let key = |dir| (nat.dir == dir).then_some(nat.saved_port);
        let _ = self.nat_setup(id, &NatRange::exactly(to_src, key(0)), Manip::Src);
        let _ = self.nat_setup(id, &NatRange::exactly(to_dst, key(1)), Manip::Dst);
    }

    /// `pptp_destroy_siblings`: `master`'s call is over (a disconnect notice, or the control
    /// connection going away): its keymap entries go, and for each direction its GRE
    /// connection is killed, or failing one its expectation removed.
    pub(crate) fn end_pptp_call(&mut self, master: ConnId) {
        self.gre_keymap.remove(master);
        let Some(zone) = self.get(master).map(|c| c.zone) else { return };
        let state = self.pptp_state(master);
        let Some(tuples) = self.pptp_call_tuples(master, state) else { return };
        let now = self.now;
        for t in tuples {
            match self.lookup(&t, zone, now) {
                Some((sibling, _)) => self.kill(sibling, now, true),
                None => {
                    self.expect.remove_matching(&t, zone);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A control message of type `message` with `body` (zero-padded to its least size).
    fn message(message: u16, body: &[u8]) -> Vec<u8> {
        let mut m = vec![0, 0, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d];
        m.extend_from_slice(&message.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
        let mut b = body.to_vec();
        b.resize(least_body(message).max(body.len()), 0);
        m.extend_from_slice(&b);
        let len = m.len() as u16;
        m[..2].copy_from_slice(&len.to_be_bytes());
        m
    }

    fn run(steps: &[(usize, Vec<u8>)]) -> (PptpState, Vec<Action>) {
        let mut s = PptpState::default();
        let mut actions = Vec::new();
        for (dir, payload) in steps {
            let (next, a) = read(s, *dir, payload);
            s = next;
            actions.push(a.map_or(Action::None, |a| a.action));
        }
        (s, actions)
    }

    fn outgoing_call(result: u8, peer: u16) -> Vec<(usize, Vec<u8>)> {
        vec![
            (0, message(msg::START_SESSION_REQUEST, &[])),
            (1, message(msg::START_SESSION_REPLY, &[0, 1, 1])),
            (0, message(msg::OUT_CALL_REQUEST, &[0x12, 0x34])),
            (1, message(msg::OUT_CALL_REPLY, &[0x56, 0x78, (peer >> 8) as u8, peer as u8, result])),
        ]
    }

    #[test]
    fn a_connected_outgoing_call_expects_its_gre() {
        let (s, actions) = run(&outgoing_call(1, 0x1234));
        assert_eq!(actions.last(), Some(&Action::ExpectGre));
        assert_eq!(
            (s.session, s.call, s.pns_call_id, s.pac_call_id),
            (Session::Confirmed, Call::OutConfirmed, 0x1234, 0x5678)
        );
        // A refused call, or an answer to another call ID, expects nothing.
        assert_eq!(run(&outgoing_call(3, 0x1234)).1.last(), Some(&Action::None));
        assert_eq!(run(&outgoing_call(1, 0x1235)).1.last(), Some(&Action::None));
    }

    #[test]
    fn an_incoming_call_expects_its_gre_once_connected() {
        let mut steps = outgoing_call(3, 0x1234);
        steps.push((1, message(msg::IN_CALL_REQUEST, &[0x0a, 0x0b])));
        steps.push((0, message(msg::IN_CALL_REPLY, &[0x0c, 0x0d, 0x0a, 0x0b, 1])));
        steps.push((1, message(msg::IN_CALL_CONNECT, &[0x0c, 0x0d])));
        let (s, actions) = run(&steps);
        assert_eq!(actions.last(), Some(&Action::ExpectGre));
        assert_eq!((s.pns_call_id, s.pac_call_id, s.call), (0x0c0d, 0x0a0b, Call::InConfirmed));
    }

    #[test]
    fn messages_out_of_order_short_or_not_control_change_nothing() {
        // A call before the session is confirmed.
        let (s, _) = run(&[(0, message(msg::OUT_CALL_REQUEST, &[0x12, 0x34]))]);
        assert_eq!(s, PptpState::default());
        // A start request cut short of its 144 bytes, a wrong cookie.
        let mut short = message(msg::START_SESSION_REQUEST, &[]);
        short.truncate(HEADERS + 143);
        assert_eq!(read(PptpState::default(), 0, &short).0, PptpState::default());
        let mut cookie = message(msg::START_SESSION_REQUEST, &[]);
        cookie[7] ^= 1;
        assert_eq!(read(PptpState::default(), 0, &cookie).0, PptpState::default());
        // A disconnect notice ends the call whatever the state.
        let (s, a) = read(PptpState::default(), 1, &message(msg::CALL_DISCONNECT_NOTIFY, &[]));
        assert_eq!((s.call, a.map(|a| a.action)), (Call::None, Some(Action::EndCall)));
    }
}
