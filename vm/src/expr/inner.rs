//! `inner`: evaluate a payload or meta expression on the packet inside a tunnel (VXLAN,
//! GENEVE, GRE, GRETAP) (nft_inner.c). The tunnel header follows the outer transport
//! header; `flags` say which inner headers to parse (hdrsize, link, network, transport).

use crate::expr::Expr;
use crate::expr::payload::PayloadOp;
use crate::interp::Eval;
use crate::keys::{MetaKey, PayloadBase};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_INNER_*` flags.
pub mod flags {
    pub const HDRSIZE: u32 = 1;
    pub const LL: u32 = 2;
    pub const NH: u32 = 4;
    pub const TH: u32 = 8;
}

/// `NFT_INNER_GENEVE`: its options length adds to the header size.
pub const TYPE_GENEVE: u32 = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct Inner {
    pub kind: u32,
    pub hdrsize: u32,
    pub flags: u32,
    pub expr: Box<Expr>,
}

/// Offsets of the inner packet's headers.
#[derive(Clone, Copy, Debug, Default)]
struct InnerOffsets {
    tun: Option<usize>,
    ll: Option<usize>,
    nh: Option<usize>,
    th: Option<usize>,
    protocol: u16,
    l4proto: u8,
}

impl Inner {
    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let _ = write!(o, "type {} hdrsize {} flags {:x} [ ", self.kind, self.hdrsize, self.flags);
        let mut body = String::new();
        self.expr.print_body(p, &mut body);
        o.push_str(self.expr.name());
        if !body.is_empty() {
            o.push(' ');
            o.push_str(&body);
        }
        o.push_str(" ]");
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Inner> {
        c.expect("type")?;
        let kind = c.num()?;
        c.expect("hdrsize")?;
        let hdrsize = c.num()?;
        c.expect("flags")?;
        let flags = c.bare_hex()? as u32;
        let raw = c.raw();
        let open = raw.find('[').ok_or("expected `[` before the inner expression")?;
        let close = raw.rfind(']').ok_or("expected `]` after the inner expression")?;
        let nested = raw.get(open + 1..close).ok_or("bad inner expression")?.trim();
        let (name, body) = nested.split_once(' ').unwrap_or((nested, ""));
        let expr = Expr::parse(name, body, a)?;
        c.rest();
        Ok(Inner { kind, hdrsize, flags, expr: Box::new(expr) })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match &*self.expr {
            Expr::Payload(p) if matches!(p.op, PayloadOp::Load { .. }) => self.expr.check(c),
            Expr::Meta(_) => self.expr.check(c),
            _ => Err("inner supports only payload loads and meta".into()),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(off) = self.parse_inner(e) else { return e.brk() };
        match &*self.expr {
            Expr::Payload(p) => {
                let PayloadOp::Load { dreg } = p.op else { return e.brk() };
                let base = match p.base {
                    PayloadBase::Link => off.ll,
                    PayloadBase::Network => off.nh,
                    PayloadBase::Transport => off.th,
                    PayloadBase::Tunnel => off.tun,
                    PayloadBase::Inner => None,
                };
                let Some(b) = base else { return e.brk() };
                let len = p.len as usize;
                let Some(src) = e.pkt.bytes(b + p.offset as usize, len) else { return e.brk() };
                let mut buf = [0u8; 64];
                buf[..len].copy_from_slice(src);
                if !e.regs.store(dreg, &buf[..len]) {
                    e.brk();
                }
            }
            Expr::Meta(m) => {
                let crate::expr::meta::MetaOp::Load { dreg } = m.op else { return e.brk() };
                let ok = match m.key {
                    MetaKey::Protocol => e.regs.store(dreg, &off.protocol.to_be_bytes()),
                    MetaKey::L4proto if off.th.is_some() => e.regs.store(dreg, &[off.l4proto]),
                    _ => false,
                };
                if !ok {
                    e.brk();
                }
            }
            _ => e.brk(),
        }
    }

    fn parse_inner(&self, e: &Eval) -> Option<InnerOffsets> {
        let th = e.pkt.transport_off?;
        let mut off = match e.pkt.l4proto {
            17 => th + 8,
            47 => th + 4,
            _ => return None,
        };
        let mut r = InnerOffsets::default();
        let data = &*e.pkt.data;
        if self.flags & flags::HDRSIZE != 0 {
            r.tun = Some(off);
            off += self.hdrsize as usize;
            if self.kind == TYPE_GENEVE {
                let optlen = (*data.get(r.tun?)? & 0x3f) as usize * 4;
                off += optlen;
            }
        }
        if self.flags & (flags::LL | flags::NH) != 0 {
            if self.flags & flags::LL != 0 {
                r.ll = Some(off);
                let et = data.get(off + 12..off + 14)?;
                r.protocol = u16::from_be_bytes([et[0], et[1]]);
                off += 14;
            }
            let v = *data.get(off)? >> 4;
            r.nh = Some(off);
            let (th, l4) = match v {
                4 => {
                    if self.flags & flags::LL == 0 {
                        r.protocol = 0x0800;
                    }
                    crate::interp::headers::ipv4_transport(data, off)
                }
                6 => {
                    if self.flags & flags::LL == 0 {
                        r.protocol = 0x86dd;
                    }
                    crate::interp::headers::ipv6_transport(data, off)
                }
                _ => return None,
            };
            if self.flags & flags::TH != 0 {
                r.th = th;
                r.l4proto = l4;
            }
        } else if self.flags & flags::TH != 0 {
            r.th = Some(off);
        }
        Some(r)
    }
}
