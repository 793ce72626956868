//! `match name policy rev 0` — iptables' `-m policy`, run as iptables-nft runs it: the
//! kernel's match (`xt_policy`). It tests the IPsec policy a packet was decapsulated by
//! (`--dir in`: the packet's security path) or will be encapsulated by (`--dir out`: the
//! transformations of its route), element by element (`--next`). nftvm has no IPsec, so no
//! packet has a security path or a route with transformations, and the kernel's answer for
//! such a packet is the whole answer: `--pol none` matches, `--pol ipsec` does not, whatever
//! the elements say. The elements are kept for the listing. (`--dir in --pol ipsec|none`
//! without elements is lowered to `meta secpath`, as nft writes it.)

use super::xt::Tests;
use crate::interp::Eval;
use crate::keys::Hook;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;
use std::net::IpAddr;

/// The tests of one element (bits of its [`Tests`], in `xt_policy_spec`'s order).
pub mod test_bits {
    pub const SADDR: u16 = 1 << 0;
    pub const DADDR: u16 = 1 << 1;
    pub const PROTO: u16 = 1 << 2;
    pub const MODE: u16 = 1 << 3;
    pub const SPI: u16 = 1 << 4;
    pub const REQID: u16 = 1 << 5;
    /// Every test.
    pub const ALL: u16 = 0x3f;
}

/// Most elements (`XT_POLICY_MAX_ELEM`).
pub const MAX_ELEMS: usize = 4;

/// One policy element (the kernel's `xt_policy_elem`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PolicyElem {
    pub tests: Tests,
    /// `--tunnel-src` / `--tunnel-dst`: address and mask.
    pub saddr: Option<(IpAddr, IpAddr)>,
    pub daddr: Option<(IpAddr, IpAddr)>,
    /// `--proto`: 50 (esp), 51 (ah) or 108 (ipcomp).
    pub proto: u8,
    /// `--mode`: 0 transport, 1 tunnel.
    pub mode: u8,
    pub spi: u32,
    pub reqid: u32,
}

/// One `-m policy` match (the kernel's `xt_policy_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Policy {
    /// `--dir in` (else `out`).
    pub dir_in: bool,
    /// `--pol none` (else `ipsec`).
    pub none: bool,
    pub strict: bool,
    pub elems: Vec<PolicyElem>,
}

fn addr_text(o: &mut String, word: &str, a: Option<(IpAddr, IpAddr)>) {
    match a {
        Some((a, m)) => {
            let _ = write!(o, " {word} {a} mask {m}");
        }
        None => {
            let _ = write!(o, " {word} - mask -");
        }
    }
}

fn parse_addr(c: &mut Cursor, word: &str) -> PResult<Option<(IpAddr, IpAddr)>> {
    let one = |c: &mut Cursor, word: &str| -> PResult<Option<IpAddr>> {
        c.expect(word)?;
        let n = c.next()?;
        if n == "-" {
            return Ok(None);
        }
        n.parse().map(Some).map_err(|_| format!("bad {word} `{n}`"))
    };
    match (one(c, word)?, one(c, "mask")?) {
        (Some(a), Some(m)) if a.is_ipv4() == m.is_ipv4() => Ok(Some((a, m))),
        (None, None) => Ok(None),
        _ => Err(format!("policy: {word} needs an address and a mask of its family")),
    }
}

impl PolicyElem {
    fn print(&self, o: &mut String) {
        o.push_str(" elem ");
        self.tests.print(o, 2);
        addr_text(o, "src", self.saddr);
        addr_text(o, "dst", self.daddr);
        let _ =
            write!(o, " proto {} mode {} spi 0x{:x} reqid {}", self.proto, self.mode, self.spi, self.reqid);
    }

    fn parse(c: &mut Cursor) -> PResult<PolicyElem> {
        c.expect("elem")?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        let saddr = parse_addr(c, "src")?;
        let daddr = parse_addr(c, "dst")?;
        let proto = c.keyed_num::<u8>("proto")?;
        let mode = c.keyed_num::<u8>("mode")?;
        if mode > 1 {
            return Err(format!("policy: mode {mode} (0 transport, 1 tunnel)"));
        }
        c.expect("spi")?;
        let spi = u32::try_from(c.hex()?).map_err(|_| "policy: spi above 32 bits".to_string())?;
        let reqid = c.keyed_num::<u32>("reqid")?;
        Ok(PolicyElem { tests, saddr, daddr, proto, mode, spi, reqid })
    }
}

impl Policy {
    /// The kernel's answer for a packet without IPsec.
    pub fn matches_without_ipsec(&self) -> bool {
        self.none
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name policy rev 0 dir ");
        o.push_str(if self.dir_in { "in" } else { "out" });
        o.push_str(if self.none { " pol none" } else { " pol ipsec" });
        if self.strict {
            o.push_str(" strict");
        }
        for e in &self.elems {
            e.print(o);
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Policy> {
        c.expect_all(&["name", "policy", "rev", "0", "dir"])?;
        let dir_in = match c.next()? {
            "in" => true,
            "out" => false,
            other => return Err(format!("policy: dir `{other}` (in or out)")),
        };
        c.expect("pol")?;
        let none = match c.next()? {
            "none" => true,
            "ipsec" => false,
            other => return Err(format!("policy: pol `{other}` (none or ipsec)")),
        };
        let strict = c.eat("strict");
        let mut elems = Vec::new();
        while c.peek() == Some("elem") {
            elems.push(PolicyElem::parse(c)?);
        }
        Ok(Policy { dir_in, none, strict, elems })
    }

    /// `policy_mt_check`: an input policy only where packets are received (prerouting,
    /// input, forward), an output policy only where they are sent (forward, output,
    /// postrouting); at most [`MAX_ELEMS`] elements, of known tests.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.elems.len() > MAX_ELEMS {
            return Err(format!("policy: more than {MAX_ELEMS} elements"));
        }
        if self.elems.iter().any(|e| !e.tests.within(test_bits::ALL)) {
            return Err("policy: unknown test bits".into());
        }
        let (hooks, what): (&[Hook], _) = if self.dir_in {
            (&[Hook::Prerouting, Hook::Input, Hook::Forward], "an input policy (`--dir in`)")
        } else {
            (&[Hook::Forward, Hook::Output, Hook::Postrouting], "an output policy (`--dir out`)")
        };
        c.require_base(&[], hooks, what)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if !self.matches_without_ipsec() {
            e.brk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_ipsec_only_policy_none_matches() {
        let elem = PolicyElem {
            tests: Tests { made: test_bits::PROTO, inverted: test_bits::PROTO },
            ..Default::default()
        };
        let ipsec = Policy { dir_in: true, none: false, strict: true, elems: vec![elem] };
        assert!(!ipsec.matches_without_ipsec(), "--pol ipsec, even with an inverted element");
        let none = Policy { dir_in: false, none: true, strict: false, elems: Vec::new() };
        assert!(none.matches_without_ipsec(), "--pol none");
    }
}
