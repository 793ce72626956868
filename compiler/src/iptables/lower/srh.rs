//! `-m srh`: the kernel's xt match itself (ip6t_srh, revision 1), as iptables-nft loads it —
//! nft has no expression for a Segment Routing Header's fields or segments. Both engines run
//! it.

use super::LResult;
use super::rule::Mcx;
use crate::iptables::ip::Inv;
use crate::iptables::matches::ipv6ext::{Srh, SrhCmp};
use crate::iptables::values::addr::AddrMask;
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::srh::{Sid, SrhMatch, test_bits};
use nftvm_vm::expr::xt::XtMatch;

/// The tests of one field's comparisons (`bits`: its `==`, `>` and `<`); the value they share
/// is the last one given (libip6t_srh stores each option's value in the same place).
fn comparisons(m: &mut SrhMatch, list: &[(SrhCmp, Inv<u8>)], [eq, gt, lt]: [u16; 3]) -> u8 {
    for (cmp, v) in list {
        let which = match cmp {
            SrhCmp::Eq => eq,
            SrhCmp::Gt => gt,
            SrhCmp::Lt => lt,
        };
        m.tests.make(which, v.invert);
    }
    list.last().map_or(0, |(_, v)| v.value)
}

/// The test of one segment (`which`), if given: its address and mask.
fn segment(m: &mut SrhMatch, given: Option<&Inv<AddrMask>>, which: u16) -> Sid {
    let Some(v) = given else { return Sid::default() };
    m.tests.make(which, v.invert);
    let mut sid = Sid::default();
    sid.addr.iter_mut().zip(v.value.addr.octets()).for_each(|(d, b)| *d = b);
    sid.mask.iter_mut().zip(v.value.mask.octets()).for_each(|(d, b)| *d = b);
    sid
}

pub fn srh(s: &Srh, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut m = SrhMatch::default();
    if let Some(v) = &s.next_hdr {
        m.next_hdr = v.value;
        m.tests.make(test_bits::NEXT_HDR, v.invert);
    }
    m.hdr_len = comparisons(&mut m, &s.hdr_len, [test_bits::LEN_EQ, test_bits::LEN_GT, test_bits::LEN_LT]);
    m.segs_left =
        comparisons(&mut m, &s.segs_left, [test_bits::SEGS_EQ, test_bits::SEGS_GT, test_bits::SEGS_LT]);
    m.last_entry =
        comparisons(&mut m, &s.last_entry, [test_bits::LAST_EQ, test_bits::LAST_GT, test_bits::LAST_LT]);
    if let Some(v) = &s.tag {
        m.tag = v.value;
        m.tests.make(test_bits::TAG, v.invert);
    }
    m.psid = segment(&mut m, s.psid.as_ref(), test_bits::PSID);
    m.nsid = segment(&mut m, s.nsid.as_ref(), test_bits::NSID);
    m.lsid = segment(&mut m, s.lsid.as_ref(), test_bits::LSID);
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Srh(m)))])
}
