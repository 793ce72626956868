//! `ct expectation` objects (`nft_ct_expect_obj_eval`): a rule announces, on a connection's
//! first packet, that the peer will open a connection of a given protocol to a given port,
//! so that connection is RELATED — a helper written in the ruleset.

use nftvm_vm::object::CtExpect;

use super::Conntrack;
use super::entry::ConnId;
use super::expect::Expectation;
use super::packet::Time;
use super::tuple::Tuple;

/// What evaluating the object does to the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectObject {
    /// Registered; the rule goes on.
    Expected,
    /// The rule stops here (`NFT_BREAK`): a confirmed connection that never could expect,
    /// or one with `size` expectations pending.
    Break,
    /// The expectation could not be registered (another master expects the same, or the
    /// table is full): the packet is dropped.
    Drop,
}

impl Conntrack {
    /// Evaluates `e` for a packet of connection `id` travelling in direction `dir` (0:
    /// original): expects a connection from the other side (the reply tuple's source) to
    /// its own address (the reply tuple's destination) on `e.dport`, any source port.
    pub fn expect_object(&mut self, id: ConnId, dir: usize, e: &CtExpect) -> ExpectObject {
        let now = self.now;
        let Some(c) = self.get_mut(id) else { return ExpectObject::Break };
        if !c.ext.as_ref().is_some_and(|x| x.help) {
            // Only a connection's first packet may give it the means to expect.
            if c.confirmed() {
                return ExpectObject::Break;
            }
            c.ext_mut().help = true;
        }
        let pending = self.expect.iter().filter(|x| x.master == id && x.timeout > now).count();
        if pending >= usize::from(e.size) {
            return ExpectObject::Break;
        }
        let Some(c) = self.get(id) else { return ExpectObject::Break };
        let other = c.tuple[1 - dir.min(1)];
        let exp = Expectation {
            tuple: Tuple { src_id: 0, dst_id: e.dport, proto: e.l4proto, ..other },
            exact_src_id: false,
            any_src: false,
            zone: c.zone,
            master: id,
            timeout: now.saturating_add(Time::from(e.timeout_ms).saturating_mul(1_000_000)),
            // As Linux 6.18 (the kernel the tests run against): the expected connection
            // does not follow the master's NAT.
            nat: None,
            serial: 0,
        };
        match self.expect_related(exp, now) {
            Ok(()) => ExpectObject::Expected,
            Err(_) => ExpectObject::Drop,
        }
    }
}
