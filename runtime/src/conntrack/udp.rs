//! UDP and UDP-Lite tracking (`nf_conntrack_proto_udp.c`): header sanity checks and the
//! unreplied / replied / stream timeouts.
//!
//! UDP: 30 s until a reply is seen and also for replies within the first 2 s of the flow;
//! a packet more than 2 s after the first one, once a reply has been seen, moves the flow
//! to the 120 s stream timeout and makes it ASSURED. UDP-Lite has no 2 s rule.

use super::config::{Timeouts, secs};
use super::packet::{SECOND, Time, UdpInfo};

/// `udp_error`: a header whose length field is wrong or a bad checksum is INVALID.
pub fn udp_is_malformed(u: &UdpInfo, checksum_ok: bool) -> bool {
    let len = u32::from(u.len_field);
    if u.l4_len < 8 || len > u.l4_len || len < 8 {
        return true;
    }
    // A zero checksum means "none" and is never wrong.
    u.checksum != 0 && !checksum_ok
}

/// `udplite_error`: bad checksum coverage, a missing checksum or a bad checksum.
pub fn udplite_is_malformed(u: &UdpInfo, checksum_ok: bool) -> bool {
    if u.l4_len < 8 {
        return true;
    }
    let cscov = u32::from(u.len_field);
    if cscov != 0 && (cscov < 8 || cscov > u.l4_len) {
        return true;
    }
    u.checksum == 0 || !checksum_ok
}

/// How a UDP packet refreshes its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRefresh {
    /// New timeout from now.
    pub timeout: Time,
    /// The flow becomes ASSURED now.
    pub assure: bool,
}

/// When the "stream" period starts for a connection first seen at `first_seen`.
pub fn stream_start(first_seen: Time) -> Time {
    first_seen.saturating_add(2 * SECOND)
}

/// `nf_conntrack_udp_packet`.
pub fn udp_refresh(seen_reply: bool, assured: bool, stream_ts: Time, now: Time, t: &Timeouts) -> UdpRefresh {
    if !seen_reply {
        return UdpRefresh { timeout: secs(t.udp), assure: false };
    }
    if now > stream_ts {
        UdpRefresh { timeout: secs(t.udp_stream), assure: !assured }
    } else {
        UdpRefresh { timeout: secs(t.udp), assure: false }
    }
}

/// `nf_conntrack_udplite_packet`.
pub fn udplite_refresh(seen_reply: bool, assured: bool, t: &Timeouts) -> UdpRefresh {
    if seen_reply {
        UdpRefresh { timeout: secs(t.udp_stream), assure: !assured }
    } else {
        UdpRefresh { timeout: secs(t.udp), assure: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_field_is_checked_like_udp_error() {
        let ok = UdpInfo { sport: 1, dport: 2, len_field: 13, checksum: 0, l4_len: 13 };
        assert!(!udp_is_malformed(&ok, false), "zero checksum is never wrong");
        assert!(udp_is_malformed(&UdpInfo { len_field: 14, ..ok }, true));
        assert!(udp_is_malformed(&UdpInfo { len_field: 7, ..ok }, true));
        assert!(udp_is_malformed(&UdpInfo { checksum: 1, ..ok }, false));
        assert!(udplite_is_malformed(&UdpInfo { len_field: 0, checksum: 0, ..ok }, true));
        assert!(!udplite_is_malformed(&UdpInfo { len_field: 0, checksum: 9, ..ok }, true));
    }
}
