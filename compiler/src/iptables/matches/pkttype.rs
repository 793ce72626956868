//! `pkttype`: link-layer packet type (unicast, broadcast, multicast, otherhost).

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;

/// `PACKET_*` numbers and names (first name of a number is the printed one).
pub const PKTTYPES: &[(&str, u8)] = &[
    ("unicast", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("otherhost", 3),
    ("bcast", 1),
    ("mcast", 2),
    ("host", 0),
];

/// The pkttype match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkttype {
    /// `PACKET_HOST` (0), `PACKET_BROADCAST` (1), `PACKET_MULTICAST` (2), `PACKET_OTHERHOST` (3).
    pub pkttype: u8,
    pub invert: bool,
}

static OPTS: [OptSpec; 1] = [OptSpec::arg("pkt-type", 0).inv().mand()];

impl Extension for Pkttype {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.pkttype =
            PKTTYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(call.arg)).map(|&(_, v)| v).ok_or_else(
                || {
                    format!(
                        "Bad packet type '{}': expecting unicast, broadcast, multicast or otherhost",
                        call.arg
                    )
                },
            )?;
        self.invert = call.invert;
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        let name = PKTTYPES.iter().find(|(_, v)| *v == self.pkttype).map(|(n, _)| *n).unwrap_or("unicast");
        out.opt_val(self.invert, "pkt-type", name);
    }
}
