//! `match name hbh rev 0` and `match name dst rev 0` — ip6tables' `-m hbh` and `-m dst`, run
//! as iptables-nft runs them: the kernel's match (`ip6t_hbh`, which serves both). It finds
//! the packet's hop-by-hop (or destination) options header as `ipv6_find_hdr` does and tests
//! its total length in bytes (`!` allowed) and, strictly in order, the options it starts with:
//! each one's type and, unless any length is allowed, its length byte (a Pad1 option is one
//! byte). A header cut short while the chain is walked, or whose length runs past the
//! packet, drops the packet (the kernel's hotdrop); a header whose options end before the
//! list does does not match.

use crate::interp::{Eval, headers};
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// Most options a match lists (`IP6T_OPTS_OPTSNR`).
pub const MAX_OPTS: usize = 16;
/// An option length that accepts any length.
pub const ANY_LEN: u8 = 0xff;

/// One `-m hbh` / `-m dst` match (the kernel's `ip6t_opts`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct OptsMatch {
    /// The destination options header (`dst`), else hop-by-hop (`hbh`).
    pub dst: bool,
    /// The header's total length in bytes to test, and whether the test is inverted.
    pub len: Option<(u32, bool)>,
    /// Per listed option its type and length ([`ANY_LEN`]: any); `None`: no option test.
    pub opts: Option<Vec<(u8, u8)>>,
}

impl OptsMatch {
    pub fn name(&self) -> &'static str {
        if self.dst { "dst" } else { "hbh" }
    }

    /// The answer for the packet `ip` (from its network header): `None` drops it.
    fn holds(&self, ip: &[u8]) -> Option<bool> {
        let target = if self.dst { 60 } else { 0 };
        let Some(at) = headers::ipv6_find_hdr(ip, 0, target).ok()? else { return Some(false) };
        let &units = ip.get(at + 1)?;
        let mut hdrlen = (usize::from(units) + 1) * 8;
        if ip.len() - at < hdrlen {
            return None;
        }
        let len_ok = self.len.is_none_or(|(want, invert)| (want as usize == hdrlen) ^ invert);
        let Some(opts) = &self.opts else { return Some(len_ok) };
        let (mut ptr, n) = (at + 2, opts.len());
        hdrlen -= 2;
        for (i, &(kind, want_len)) in opts.iter().enumerate() {
            let Some(&t) = ip.get(ptr).filter(|_| hdrlen >= 1) else { return Some(false) };
            if t != kind {
                return Some(false);
            }
            let optlen = if t == 0 {
                1
            } else {
                let Some(&l) = ip.get(ptr + 1).filter(|_| hdrlen >= 2) else { return Some(false) };
                if want_len != ANY_LEN && want_len != l {
                    return Some(false);
                }
                usize::from(l) + 2
            };
            let past = optlen <= ip.len() && ptr > ip.len() - optlen || hdrlen < optlen;
            if past && i + 1 < n {
                return Some(false);
            }
            ptr += optlen;
            hdrlen = hdrlen.wrapping_sub(optlen);
        }
        Some(len_ok)
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name {} rev 0", self.name());
        if let Some((len, invert)) = self.len {
            let _ = write!(o, " len {}{len}", if invert { "!" } else { "" });
        }
        if let Some(opts) = &self.opts {
            let list: Vec<String> = opts.iter().map(|(t, l)| format!("{t}:{l}")).collect();
            let _ = write!(o, " opts {}", list.join(","));
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<OptsMatch> {
        c.expect("name")?;
        let dst = match c.next()? {
            "hbh" => false,
            "dst" => true,
            other => return Err(format!("expected hbh or dst, found `{other}`")),
        };
        c.expect_all(&["rev", "0"])?;
        let mut m = OptsMatch { dst, ..OptsMatch::default() };
        if c.eat("len") {
            let v = c.next()?;
            let (invert, n) = match v.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, v),
            };
            m.len = Some((n.parse().map_err(|_| format!("bad length `{v}`"))?, invert));
        }
        if c.eat("opts") {
            let list = c.next()?;
            let opts = list
                .split(',')
                .map(|item| {
                    let bad = || format!("expected TYPE:LEN, found `{item}`");
                    let (t, l) = item.split_once(':').ok_or_else(bad)?;
                    Ok((t.parse().map_err(|_| bad())?, l.parse().map_err(|_| bad())?))
                })
                .collect::<Result<Vec<(u8, u8)>, String>>()?;
            if opts.len() > MAX_OPTS {
                return Err(format!("more than {MAX_OPTS} options"));
            }
            m.opts = Some(opts);
        }
        Ok(m)
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        match &self.opts {
            Some(o) if o.len() > MAX_OPTS => Err(format!("{}: more than {MAX_OPTS} options", self.name())),
            _ => Ok(()),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if e.pkt.nfproto != Family::Ip6 {
            return e.brk();
        }
        let ip = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
        let answer = self.holds(ip);
        e.match_answer(answer);
    }
}
