//! The SANE helper (`nf_conntrack_sane.c`): network scanners (`saned`, TCP port 6566).
//!
//! A scan starts with the client's `SANE_NET_START` request on the control connection; the
//! server's answer names a port, and the client then opens a data connection to the
//! server on that port. The helper reads segments once traffic has gone both ways: a
//! client segment that is exactly one 8-byte request marks whether it was a
//! `SANE_NET_START` (RPC code 7); the next server segment with data, if it answers one —
//! at least 8 bytes: a status of 0 (`SANE_STATUS_GOOD`), a zero half-word, the port — makes
//! the helper expect a TCP connection from the client's address to the server's, on that
//! port, from any source port. There is no NAT helper for SANE: nothing is rewritten, and
//! the expected connection is not NATed like its master (the NAT chains see it as any new
//! connection).

use super::{Helper, HelperData};
use crate::conntrack::Conntrack;
use crate::conntrack::config::secs;
use crate::conntrack::ctinfo::CtInfo;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::Expectation;
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::{Tuple, proto};

/// The RPC code of `SANE_NET_START`.
const NET_START: u32 = 7;
/// A request: RPC code and handle, two big-endian words.
const REQUEST_LEN: usize = 8;
/// The part of a `SANE_NET_START` reply the helper reads: status, a zero half-word, port.
const REPLY_LEN: usize = 8;

/// Per-connection state: was the client's last request a `SANE_NET_START`?
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaneState {
    pub start_requested: bool,
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// What a segment in direction `dir` (0: the client's) does, given the state: the state
/// after it, and the port to expect a connection to, if it announces one.
pub fn read(state: SaneState, dir: usize, payload: &[u8]) -> (SaneState, Option<u16>) {
    if dir == 0 {
        if payload.len() != REQUEST_LEN {
            return (state, None);
        }
        return (SaneState { start_requested: word(payload, 0) == Some(NET_START) }, None);
    }
    if !state.start_requested {
        return (state, None);
    }
    // The reply to SANE_NET_START, good or not.
    let after = SaneState { start_requested: false };
    let (Some(status), Some(rest)) = (word(payload, 0), word(payload, 4)) else { return (after, None) };
    if payload.len() < REPLY_LEN || status != 0 || rest >> 16 != 0 {
        return (after, None);
    }
    (after, Some(rest as u16))
}

impl Conntrack {
    /// The SANE helper on one segment's payload at the confirm point; `Err(())`: the
    /// expectation could not be registered and the packet is dropped, as Linux does.
    pub(crate) fn sane_help(
        &mut self,
        id: ConnId,
        dir: usize,
        info: CtInfo,
        payload: &[u8],
        now: Time,
    ) -> Result<(), ()> {
        // Until there has been traffic both ways, don't look in packets.
        if !matches!(info, CtInfo::Established | CtInfo::EstablishedReply) || payload.is_empty() {
            return Ok(());
        }
        let Some(c) = self.get_mut(id) else { return Ok(()) };
        let state = match c.ext.as_ref().map(|e| &e.helper_data) {
            Some(HelperData::Sane(s)) => *s,
            _ => SaneState::default(),
        };
        let (state, port) = read(state, dir, payload);
        c.ext_mut().helper_data = HelperData::Sane(state);
        let Some(port) = port else { return Ok(()) };
        let original = c.tuple[0];
        let exp = Expectation {
            // From the client to the server, as the client addressed it, on the port.
            tuple: Tuple { src_id: 0, dst_id: port, proto: proto::TCP, ..original },
            exact_src_id: false,
            any_src: false,
            zone: c.zone,
            master: id,
            timeout: now.saturating_add(secs(Helper::Sane.expect_timeout())),
            nat: None,
            serial: 0,
        };
        self.expect_related(exp, now).map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: [u8; 8] = [0, 0, 0, 7, 0, 0, 0, 1];
    const GOOD_REPLY: [u8; 12] = [0, 0, 0, 0, 0, 0, 0x1b, 0x58, 0, 0, 0, 0];

    #[test]
    fn a_good_reply_to_net_start_announces_its_port() {
        let (s, p) = read(SaneState::default(), 0, &START);
        assert_eq!((s.start_requested, p), (true, None));
        let (s, p) = read(s, 1, &GOOD_REPLY);
        assert_eq!((s.start_requested, p), (false, Some(7000)));
        // Only the first reply counts.
        assert_eq!(read(s, 1, &GOOD_REPLY).1, None);
    }

    #[test]
    fn other_requests_and_bad_replies_announce_nothing() {
        let requested = SaneState { start_requested: true };
        // Another RPC code resets the state; a request of another length leaves it.
        assert!(!read(requested, 0, &[0, 0, 0, 8, 0, 0, 0, 1]).0.start_requested);
        assert!(read(requested, 0, &[0, 0, 0, 8, 0, 0, 0, 1, 0]).0.start_requested);
        assert!(!read(SaneState::default(), 0, &START[..7]).0.start_requested);
        // A failed status, a non-zero half-word, a short reply: nothing, and the request is
        // answered.
        for bad in
            [&[0, 0, 0, 1, 0, 0, 0x1b, 0x58][..], &[0, 0, 0, 0, 0, 1, 0x1b, 0x58], &[0, 0, 0, 0, 0, 0, 0x1b]]
        {
            assert_eq!(read(requested, 1, bad), (SaneState::default(), None), "{bad:?}");
        }
        // A server segment with no request pending.
        assert_eq!(read(SaneState::default(), 1, &GOOD_REPLY).1, None);
    }
}
