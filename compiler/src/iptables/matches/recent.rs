//! `recent`: per-address lists of recently seen packets (set/check/update/remove).

use crate::iptables::Family;
use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{Addr, parse_host};
use crate::iptables::values::num::parse_uint;

/// What recent does with the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecentOp {
    #[default]
    Set,
    Rcheck,
    Update,
    Remove,
}

/// The recent match (revision 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recent {
    pub op: RecentOp,
    pub invert: bool,
    pub seconds: u32,
    pub reap: bool,
    pub hitcount: u32,
    pub rttl: bool,
    pub name: String,
    /// `true`: the list holds source addresses (`--rsource`), else destinations.
    pub source: bool,
    pub mask: Addr,
}

impl Recent {
    pub fn new(f: Family) -> Recent {
        Recent {
            op: RecentOp::Set,
            invert: false,
            seconds: 0,
            reap: false,
            hitcount: 0,
            rttl: false,
            name: "DEFAULT".into(),
            source: true,
            mask: Addr::prefix_mask(f, f.addr_bits()),
        }
    }
}

const O_SET: u8 = 0;
const O_RCHECK: u8 = 1;
const O_UPDATE: u8 = 2;
const O_REMOVE: u8 = 3;
const O_SECONDS: u8 = 4;
const O_REAP: u8 = 5;
const O_HITCOUNT: u8 = 6;
const O_RTTL: u8 = 7;
const O_NAME: u8 = 8;
const O_RSOURCE: u8 = 9;
const O_RDEST: u8 = 10;
const O_MASK: u8 = 11;
const ANY_OP: u64 = bit(O_SET) | bit(O_RCHECK) | bit(O_UPDATE) | bit(O_REMOVE);

static OPTS: [OptSpec; 12] = [
    OptSpec::flag("set", O_SET).excl(ANY_OP).inv(),
    OptSpec::flag("rcheck", O_RCHECK).excl(ANY_OP).inv(),
    OptSpec::flag("update", O_UPDATE).excl(ANY_OP).inv(),
    OptSpec::flag("remove", O_REMOVE).excl(ANY_OP).inv(),
    OptSpec::arg("seconds", O_SECONDS),
    OptSpec::flag("reap", O_REAP).also(bit(O_SECONDS)),
    OptSpec::arg("hitcount", O_HITCOUNT),
    OptSpec::flag("rttl", O_RTTL).excl(bit(O_SET) | bit(O_REMOVE)),
    OptSpec::arg("name", O_NAME),
    OptSpec::flag("rsource", O_RSOURCE),
    OptSpec::flag("rdest", O_RDEST),
    OptSpec::arg("mask", O_MASK),
];

impl Extension for Recent {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let u32v = |min: u64| {
            parse_uint(call.arg, min, u32::MAX as u64).map(|v| v as u32).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range ({min}-4294967295)", call.spec.name)
            })
        };
        match call.spec.id {
            O_SET | O_RCHECK | O_UPDATE | O_REMOVE => {
                self.op = match call.spec.id {
                    O_SET => RecentOp::Set,
                    O_RCHECK => RecentOp::Rcheck,
                    O_UPDATE => RecentOp::Update,
                    _ => RecentOp::Remove,
                };
                self.invert |= call.invert;
            }
            O_SECONDS => self.seconds = u32v(1)?,
            O_REAP => self.reap = true,
            O_HITCOUNT => self.hitcount = u32v(0)?,
            O_RTTL => self.rttl = true,
            O_NAME => {
                if call.arg.len() >= 200 {
                    return Err("name too long (at most 199 bytes)".into());
                }
                self.name = call.arg.to_string();
            }
            O_RSOURCE => self.source = true,
            O_RDEST => self.source = false,
            _ => self.mask = parse_host(call.arg, call.family())?,
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & ANY_OP == 0 {
            return Err("you must specify one of `--set', `--rcheck' `--update' or `--remove'".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.bang(self.invert);
        out.push(match self.op {
            RecentOp::Set => " --set",
            RecentOp::Rcheck => " --rcheck",
            RecentOp::Update => " --update",
            RecentOp::Remove => " --remove",
        });
        if self.seconds != 0 {
            out.push(&format!(" --seconds {}", self.seconds));
        }
        if self.reap {
            out.push(" --reap");
        }
        if self.hitcount != 0 {
            out.push(&format!(" --hitcount {}", self.hitcount));
        }
        if self.rttl {
            out.push(" --rttl");
        }
        out.push(&format!(" --name {} --mask {}", self.name, self.mask));
        out.push(if self.source { " --rsource" } else { " --rdest" });
    }
    fn check_load(&self, _cx: &crate::iptables::ext::LoadCx<'_>) -> Result<(), String> {
        // xt_recent: the hit count must fit the per-entry history (ip_pkt_list_tot, 255 at most).
        if self.hitcount > 255 {
            return Err(format!("hitcount ({}) is larger than allowed maximum (255)", self.hitcount));
        }
        Ok(())
    }
}
