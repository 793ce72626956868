//! `exthdr`: IPv6 extension headers, TCP options, IPv4 options and SCTP chunks — find one
//! by type and load bytes of it, test its presence, rewrite a TCP option or reset it to NOPs
//! (nft_exthdr.c).

use crate::data::ByteOrder;
use crate::interp::{Eval, csum, headers};
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_EXTHDR_OP_*`.
pub mod op {
    pub const IPV6: u8 = 0;
    pub const TCPOPT: u8 = 1;
    pub const IPV4: u8 = 2;
    pub const SCTP: u8 = 3;
    pub const DCCP: u8 = 4;
}

/// The TCP option kind of the maximum segment size.
pub const TCPOPT_MSS: u8 = 2;

/// `NFT_EXTHDR_F_PRESENT`.
pub const F_PRESENT: u32 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Exthdr {
    pub op: u8,
    /// Header / option / chunk type.
    pub kind: u8,
    pub offset: u32,
    pub len: u8,
    pub flags: u32,
    pub action: ExthdrAction,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExthdrAction {
    Load {
        dreg: Reg,
    },
    Write {
        sreg: Reg,
    },
    /// Replace the TCP option with NOPs.
    Reset,
}

fn op_name(op: u8) -> &'static str {
    match op {
        op::IPV6 => " ipv6",
        op::TCPOPT => " tcpopt",
        op::IPV4 => " ipv4",
        _ => "",
    }
}

impl Exthdr {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let opn = op_name(self.op);
        let _ = match self.action {
            ExthdrAction::Load { dreg } => write!(
                o,
                "load{opn} {}b @ {} + {}{} => reg {dreg}",
                self.len,
                self.kind,
                self.offset,
                if self.flags & F_PRESENT != 0 { " present" } else { "" }
            ),
            ExthdrAction::Write { sreg } => {
                write!(o, "write{opn} reg {sreg} => {}b @ {} + {}", self.len, self.kind, self.offset)
            }
            ExthdrAction::Reset => write!(o, "reset tcpopt {}", self.kind),
        };
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Exthdr> {
        let verb = c.next()?;
        let op = match c.peek() {
            Some("ipv6") => op::IPV6,
            Some("tcpopt") => op::TCPOPT,
            Some("ipv4") => op::IPV4,
            _ => op::SCTP,
        };
        if op != op::SCTP {
            c.next()?;
        }
        let mut x = Exthdr { op, kind: 0, offset: 0, len: 0, flags: 0, action: ExthdrAction::Reset };
        match verb {
            "reset" => {
                x.kind = c.num()?;
            }
            "load" => {
                parse_loc(c, &mut x)?;
                if c.eat("present") {
                    x.flags |= F_PRESENT;
                }
                c.expect("=>")?;
                let dreg = c.kw_reg()?;
                let order = if x.flags & F_PRESENT != 0 { ByteOrder::Host } else { ByteOrder::Network };
                a.wrote(dreg, x.len as usize, order);
                x.action = ExthdrAction::Load { dreg };
            }
            "write" => {
                let sreg = c.kw_reg()?;
                c.expect("=>")?;
                parse_loc(c, &mut x)?;
                a.consume(sreg, ByteOrder::Network);
                x.action = ExthdrAction::Write { sreg };
            }
            t => return Err(format!("expected load, write or reset, found `{t}`")),
        }
        Ok(x)
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.op > op::DCCP {
            return Err(format!("unknown exthdr op {}", self.op));
        }
        match self.action {
            ExthdrAction::Load { dreg } => c.write(dreg, self.len.max(1) as usize),
            ExthdrAction::Write { sreg } => {
                if self.op != op::TCPOPT {
                    return Err("exthdr write is only supported for TCP options".into());
                }
                if !matches!(self.len, 1 | 2 | 4) {
                    return Err(format!("exthdr write of {} bytes (must be 1, 2 or 4)", self.len));
                }
                c.read(sreg, self.len as usize)
            }
            ExthdrAction::Reset => {
                if self.op != op::TCPOPT {
                    return Err("exthdr reset is only supported for TCP options".into());
                }
                Ok(())
            }
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let found = match self.op {
            op::IPV6 => self.find_ipv6(e),
            op::TCPOPT => find_tcp_option(e, self.kind),
            op::IPV4 => find_ipv4_option(e, self.kind),
            op::SCTP => find_sctp_chunk(e, self.kind),
            _ => None,
        };
        match self.action {
            ExthdrAction::Load { dreg } => self.load(e, dreg, found),
            ExthdrAction::Write { sreg } => self.write(e, sreg, found),
            ExthdrAction::Reset => reset(e, found),
        }
    }

    fn find_ipv6(&self, e: &Eval) -> Option<Found> {
        if e.pkt.nfproto != crate::keys::Family::Ip6 {
            return None;
        }
        let at = headers::ipv6_find_ext(e.pkt.data, e.pkt.network_off, self.kind)?;
        Some(Found { at, len: usize::MAX })
    }

    fn load(&self, e: &mut Eval, dreg: Reg, found: Option<Found>) {
        let len = self.len as usize;
        if self.flags & F_PRESENT != 0 {
            let v = found.is_some() as u8;
            let mut b = [0u8; 4];
            b[0] = v;
            if !e.regs.store(dreg, &b[..len.clamp(1, 4)]) {
                e.brk();
            }
            return;
        }
        let Some(f) = found else { return e.brk() };
        // The field must lie inside the header/option/chunk, and that inside the packet.
        let whole = f.len != usize::MAX && f.at.saturating_add(f.len) > e.pkt.data.len();
        if self.offset as usize + len > f.len || whole {
            return e.brk();
        }
        let Some(src) = e.pkt.bytes(f.at + self.offset as usize, len) else { return e.brk() };
        let mut buf = [0u8; 64];
        buf[..len].copy_from_slice(src);
        if !e.regs.store(dreg, &buf[..len]) {
            e.brk();
        }
    }

    fn write(&self, e: &mut Eval, sreg: Reg, found: Option<Found>) {
        let len = self.len as usize;
        let Some(f) = found else { return e.brk() };
        if self.offset as usize + len > f.len {
            return e.brk();
        }
        let Some(src) = e.regs.get(sreg, len) else { return e.brk() };
        let mut new = [0u8; 4];
        new[..len].copy_from_slice(src);
        let at = f.at + self.offset as usize;
        let Some(old) = e.pkt.bytes(at, len) else { return e.brk() };
        // An MSS is only ever lowered: raising it can stall the connection
        // (`nft_exthdr_tcp_set_eval`).
        if self.op == op::TCPOPT && self.kind == TCPOPT_MSS && len == 2 && old <= &new[..2] {
            return;
        }
        let (fsum, tsum) = aligned_sums(at, old, &new[..len]);
        if let Some(th) = e.pkt.transport_off {
            csum::replace_at(e.pkt.data, th + 16, fsum, tsum);
        }
        if let Some(d) = e.pkt.bytes_mut(at, len) {
            d.copy_from_slice(&new[..len]);
        }
    }
}

/// Checksum contributions of replacing `old` by `new` at packet offset `at`, aligned to the
/// 16-bit words of the header (a field at an odd offset is the low half of its word).
fn aligned_sums(at: usize, old: &[u8], new: &[u8]) -> (u32, u32) {
    if at.is_multiple_of(2) {
        return (csum::partial(old), csum::partial(new));
    }
    let mut o = [0u8; 6];
    let mut n = [0u8; 6];
    o[1..1 + old.len()].copy_from_slice(old);
    n[1..1 + new.len()].copy_from_slice(new);
    let l = (1 + old.len()).div_ceil(2) * 2;
    (csum::partial(&o[..l]), csum::partial(&n[..l]))
}

fn reset(e: &mut Eval, found: Option<Found>) {
    let Some(f) = found else { return };
    let Some(old) = e.pkt.bytes(f.at, f.len) else { return };
    let old: Vec<u8> = old.to_vec();
    let new = vec![1u8; old.len()];
    let (fsum, tsum) = aligned_sums(f.at, &old, &new);
    if let Some(th) = e.pkt.transport_off {
        csum::replace_at(e.pkt.data, th + 16, fsum, tsum);
    }
    if let Some(d) = e.pkt.bytes_mut(f.at, f.len) {
        d.fill(1);
    }
}

/// A located header/option/chunk: absolute offset and length (`usize::MAX`: not limited).
#[derive(Clone, Copy, Debug)]
struct Found {
    at: usize,
    len: usize,
}

/// The length of the TCP option at `i` of header `opts`, as the kernel walks options: an
/// end-of-list or no-op, or an option whose length byte is 0 or missing, counts one byte
/// (so a walk always moves on).
pub(crate) fn tcp_optlen(opts: &[u8], i: usize) -> usize {
    match (opts.get(i), opts.get(i + 1)) {
        (Some(&k), Some(&l)) if k > 1 && l != 0 => usize::from(l),
        _ => 1,
    }
}

fn find_tcp_option(e: &Eval, kind: u8) -> Option<Found> {
    if e.pkt.l4proto != 6 {
        return None;
    }
    let th = e.pkt.transport_off?;
    let hdr_len = (*e.pkt.data.get(th + 12)? >> 4) as usize * 4;
    if hdr_len < 20 {
        return None;
    }
    let opts = e.pkt.bytes(th, hdr_len)?;
    let mut i = 20;
    while i < hdr_len {
        let optlen = tcp_optlen(opts, i);
        if opts[i] == kind {
            if i + optlen > hdr_len {
                return None;
            }
            return Some(Found { at: th + i, len: optlen });
        }
        i += optlen;
    }
    None
}

fn find_ipv4_option(e: &Eval, kind: u8) -> Option<Found> {
    if e.pkt.nfproto != crate::keys::Family::Ip {
        return None;
    }
    let nh = e.pkt.network_off;
    let ihl = (*e.pkt.data.get(nh)? & 0x0f) as usize * 4;
    let hdr = e.pkt.bytes(nh, ihl)?;
    let mut i = 20;
    while i < ihl {
        let k = hdr[i];
        if k == 0 {
            return None;
        }
        let optlen = if k == 1 { 1 } else { *hdr.get(i + 1)? as usize };
        if optlen == 0 || i + optlen > ihl {
            return None;
        }
        if k == kind {
            return Some(Found { at: nh + i, len: optlen });
        }
        i += optlen;
    }
    None
}

fn find_sctp_chunk(e: &Eval, kind: u8) -> Option<Found> {
    if e.pkt.l4proto != 132 {
        return None;
    }
    let mut off = e.pkt.transport_off? + 12;
    while off < e.pkt.data.len() {
        let ch = e.pkt.bytes(off, 4)?;
        let clen = u16::from_be_bytes([ch[2], ch[3]]) as usize;
        if clen == 0 {
            return None;
        }
        if ch[0] == kind {
            return Some(Found { at: off, len: clen });
        }
        off += clen.div_ceil(4) * 4;
    }
    None
}

fn parse_loc(c: &mut Cursor, x: &mut Exthdr) -> PResult<()> {
    x.len = c.num_suffix("b")?;
    c.expect("@")?;
    x.kind = c.num()?;
    c.expect("+")?;
    x.offset = c.num()?;
    Ok(())
}
