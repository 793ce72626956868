//! `match name recent` — iptables' `-m recent`, run as iptables-nft runs it: the kernel's
//! `xt_recent` match inside an nf_tables rule (`[ match name recent rev 1 ]` in `nft
//! --debug=netlink`; see [`super::xt`]). It remembers packets' source (or destination) addresses in named
//! lists ([`crate::interp::recent`]) and matches on what it remembers: `set` (remember,
//! always matches), `rcheck` (remembered, optionally `hitcount` times within `seconds`,
//! optionally with the same TTL), `update` (`rcheck`, and remember again when it matches),
//! `remove` (forget; matches when there was something to forget). `!` inverts.
//!
//! The TTL is the one the packet arrived with: a forwarded packet's, seen after the
//! forward hook lowered it, counts one more (as the kernel's "TTL as seen before
//! forwarding").

use crate::interp::Eval;
use crate::keys::{Family, Hook, MetaKey};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult, cursor::write_hex_bytes};
use crate::verify::Check;
use std::fmt::Write;

/// What the rule does with its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RecentCmd {
    #[default]
    Set,
    Check,
    Update,
    Remove,
}

impl RecentCmd {
    fn name(self) -> &'static str {
        match self {
            RecentCmd::Set => "set",
            RecentCmd::Check => "rcheck",
            RecentCmd::Update => "update",
            RecentCmd::Remove => "remove",
        }
    }
}

/// One `-m recent` match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Recent {
    /// The list's name (`--name`, default `DEFAULT`).
    pub list: String,
    pub cmd: RecentCmd,
    /// `--seconds`: only times this recent count (0: any).
    pub seconds: u32,
    /// `--hitcount`: at least this many times (0: one).
    pub hitcount: u32,
    /// `--reap`: forget the least recently updated address when it is older than `seconds`.
    pub reap: bool,
    /// `--rttl`: the packet's TTL must be the remembered one.
    pub ttl: bool,
    /// `--rdest`: remember destinations (else sources).
    pub dest: bool,
    /// `--mask`, over 16 bytes (IPv4 in the first four).
    pub mask: [u8; 16],
    pub invert: bool,
}

impl Recent {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name recent rev 1 list {} {}", self.list, self.cmd.name());
        if self.seconds != 0 {
            let _ = write!(o, " seconds {}", self.seconds);
        }
        if self.hitcount != 0 {
            let _ = write!(o, " hitcount {}", self.hitcount);
        }
        for (on, word) in
            [(self.reap, "reap"), (self.ttl, "rttl"), (self.dest, "rdest"), (self.invert, "invert")]
        {
            if on {
                let _ = write!(o, " {word}");
            }
        }
        o.push_str(" mask ");
        write_hex_bytes(o, &self.mask);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Recent> {
        c.expect_all(&["name", "recent", "rev", "1", "list"])?;
        let list = c.next()?.to_string();
        let cmd = match c.next()? {
            "set" => RecentCmd::Set,
            "rcheck" => RecentCmd::Check,
            "update" => RecentCmd::Update,
            "remove" => RecentCmd::Remove,
            w => return Err(format!("expected set, rcheck, update or remove, found `{w}`")),
        };
        let mut r = Recent { list, cmd, ..Recent::default() };
        if c.eat("seconds") {
            r.seconds = c.num()?;
        }
        if c.eat("hitcount") {
            r.hitcount = c.num()?;
        }
        r.reap = c.eat("reap");
        r.ttl = c.eat("rttl");
        r.dest = c.eat("rdest");
        r.invert = c.eat("invert");
        c.expect("mask")?;
        r.mask =
            c.hex_bytes("a 16-byte mask")?.try_into().map_err(|_| "the mask has 16 bytes".to_string())?;
        Ok(r)
    }

    /// The kernel's load-time rules (`recent_mt_check`).
    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.list.is_empty() || self.list.len() >= 200 {
            return Err("recent: the list name must have 1 to 199 characters".into());
        }
        let plain = matches!(self.cmd, RecentCmd::Set | RecentCmd::Remove);
        if plain && (self.seconds != 0 || self.hitcount != 0 || self.reap || self.ttl) {
            return Err("recent: set and remove take no seconds, hitcount, reap or rttl".into());
        }
        if self.reap && self.seconds == 0 {
            return Err("recent: reap needs seconds".into());
        }
        if self.hitcount >= 256 {
            return Err("recent: hitcount is at most 255".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let family = e.pkt.nfproto;
        let ttl_at = if family == Family::Ip { 8 } else { 7 };
        let (Some(bytes), Some(&ttl)) =
            (e.pkt.address(self.dest), e.pkt.data.get(e.pkt.network_off + ttl_at))
        else {
            return e.brk();
        };
        let mut addr = [0u8; 16];
        addr[..bytes.len()].copy_from_slice(bytes);
        // A forwarded packet (an output device, no local socket) is seen with the TTL it
        // arrived with.
        let mut iif = [0u8; 4];
        let forwarded =
            matches!(e.pkt.hook, Hook::Forward | Hook::Postrouting) && e.env.meta_get(MetaKey::Iif, &mut iif);
        let ttl = if forwarded { ttl.wrapping_add(1) } else { ttl };
        let now = e.now();
        if !e.state.recent.apply(self, family, addr, ttl, now) {
            e.brk();
        }
    }
}
