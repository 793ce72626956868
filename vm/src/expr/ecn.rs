//! `target name ECN rev 0` — iptables' `-j ECN`, run as iptables-nft runs it: the kernel's
//! target (`ipt_ECN`). nft can set the IP header's ECN field, but not set or clear single
//! TCP flags (`--ecn-tcp-remove` clears ECE and CWR, for paths that drop ECN-marked SYNs).
//! As the kernel: the IP field is rewritten when it differs (header checksum fixed); the TCP
//! flags when the IP protocol is TCP (read right after the IP header, fragment or not) and
//! they differ (TCP checksum fixed); a TCP header cut short drops the packet.

use crate::interp::{Eval, csum};
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

/// One `-j ECN` (the kernel's `ipt_ECN_info`): the values to set, where given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ecn {
    /// The IP header's ECN field (0..=3).
    pub ip_ect: Option<u8>,
    /// The TCP ECE flag (0 or 1).
    pub ece: Option<u8>,
    /// The TCP CWR flag (0 or 1).
    pub cwr: Option<u8>,
}

const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

impl Ecn {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name ECN rev 0");
        for (word, v) in [("ip-ect", self.ip_ect), ("ece", self.ece), ("cwr", self.cwr)] {
            if let Some(v) = v {
                let _ = write!(o, " {word} {v}");
            }
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Ecn> {
        c.expect_all(&["name", "ECN", "rev", "0"])?;
        let mut t = Ecn::default();
        for (word, max, slot) in
            [("ip-ect", 3, &mut t.ip_ect), ("ece", 1, &mut t.ece), ("cwr", 1, &mut t.cwr)]
        {
            if c.eat(word) {
                let v: u8 = c.num()?;
                if v > max {
                    return Err(format!("ECN {word} {v} is out of range (0-{max})"));
                }
                *slot = Some(v);
            }
        }
        Ok(t)
    }

    /// The kernel registers `ECN` for IPv4 tables only.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if c.family != Family::Ip {
            return Err("target ECN runs in ip tables only".into());
        }
        Ok(())
    }

    /// The TCP flags byte after the target, or `None` when it stays.
    fn tcp_flags(&self, flags: u8) -> Option<u8> {
        let want = |set: Option<u8>, bit: u8, f: u8| match set {
            Some(1) => f | bit,
            Some(_) => f & !bit,
            None => f,
        };
        let new = want(self.cwr, CWR, want(self.ece, ECE, flags));
        (new != flags).then_some(new)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if self.rewrite(e.pkt.data, e.pkt.network_off).is_none() {
            e.regs.verdict = Verdict::Drop;
        }
    }

    /// Rewrites the packet whose IPv4 header is at `net`; `None`: a header is cut short.
    fn rewrite(&self, d: &mut [u8], net: usize) -> Option<()> {
        if let Some(ect) = self.ip_ect {
            let tos = *d.get(net + 1)?;
            let new = (tos & !3) | (ect & 3);
            if new != tos && !csum::set_byte(d, net, 1, new, net + 10) {
                return None;
            }
        }
        if (self.ece.is_none() && self.cwr.is_none()) || d.get(net + 9) != Some(&6) {
            return Some(());
        }
        let th = net + usize::from(*d.get(net)? & 0x0f) * 4;
        // The whole 20-byte TCP header must be there.
        d.get(th..th + 20)?;
        match self.tcp_flags(d[th + 13]) {
            Some(new) => csum::set_byte(d, th + 12, 1, new, th + 16).then_some(()),
            None => Some(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_flags_change_only_where_they_differ() {
        let remove = Ecn { ece: Some(0), cwr: Some(0), ..Ecn::default() };
        assert_eq!(remove.tcp_flags(0x02 | ECE | CWR), Some(0x02));
        assert_eq!(remove.tcp_flags(0x12), None);
        let set_cwr = Ecn { cwr: Some(1), ..Ecn::default() };
        assert_eq!(set_cwr.tcp_flags(0x10 | ECE), Some(0x10 | ECE | CWR));
    }
}
