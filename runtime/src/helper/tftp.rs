//! The TFTP helper (`nf_conntrack_tftp.c` with `nf_nat_tftp.c`).
//!
//! A TFTP server answers a read or write request from a new port: the transfer is a new
//! UDP flow from the server's address to the client's address and port. On a read or write
//! request (opcode 1 or 2, in either direction, any packet of the connection) the helper
//! expects that flow, so its first packet is RELATED to the request. TFTP carries no
//! addresses, so nothing is rewritten; with NAT on the request the expected flow follows
//! the request's NAT back to the client's own address and port.

use nftvm_vm::keys::ct_status as st;

use super::Helper;
use crate::conntrack::Conntrack;
use crate::conntrack::config::secs;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::{ExpectNat, Expectation};
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::{Tuple, proto};

/// Read request (RRQ).
const OPCODE_READ: u16 = 1;
/// Write request (WRQ).
const OPCODE_WRITE: u16 = 2;

impl Conntrack {
    /// The TFTP helper on one packet (its UDP payload) at the confirm point; `Err(())`: the
    /// expectation could not be registered and the packet is dropped, as Linux does.
    pub(crate) fn tftp_help(&mut self, id: ConnId, payload: &[u8], now: Time) -> Result<(), ()> {
        let Some(&[hi, lo]) = payload.get(..2) else { return Ok(()) };
        if !matches!(u16::from_be_bytes([hi, lo]), OPCODE_READ | OPCODE_WRITE) {
            return Ok(());
        }
        let Some(c) = self.get(id) else { return Ok(()) };
        let reply = c.tuple[1];
        let nat = c.status & (st::SRC_NAT | st::DST_NAT) != 0;
        let exp = Expectation {
            // From the server (as it answers) to the client (as the server sees it), to
            // the client's port; any source port.
            tuple: Tuple { src_id: 0, proto: proto::UDP, ..reply },
            exact_src_id: false,
            any_src: false,
            zone: c.zone,
            master: id,
            timeout: now.saturating_add(secs(Helper::Tftp.expect_timeout())),
            nat: nat.then_some(ExpectNat { dir: 1, saved_port: c.tuple[0].src_id }),
            serial: 0,
        };
        self.expect_related(exp, now).map_err(|_| ())
    }
}
