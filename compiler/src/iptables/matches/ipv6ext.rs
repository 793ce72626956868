//! IPv6 extension header matches: `frag`, `rt`, `hbh`, `dst`, `mh`, `ipv6header`, `srh`
//! and `eui64`.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, hooks};
use crate::iptables::ip::Inv;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{AddrMask, parse_host_mask};
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::protocols::{chain_proto_name, etc_protocol, etc_protocol_name};
use crate::iptables::values::ranges::{Range64, parse_range64};

fn u32_arg(call: &OptCall<'_>) -> Result<u32, String> {
    parse_uint(call.arg, 0, u32::MAX as u64).map(|v| v as u32).ok_or_else(|| {
        format!("bad value for option \"--{}\", or out of range (0-4294967295)", call.spec.name)
    })
}

fn range32(call: &OptCall<'_>) -> Result<Range64, String> {
    parse_range64(call.arg, 0, u32::MAX as u64).map_err(|e| format!("--{}: {e}", call.spec.name))
}

const FULL32: Range64 = Range64 { lo: 0, hi: u32::MAX as u64 };

/// The frag match (fragment header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frag {
    pub id: Inv<Range64>,
    pub len: Option<Inv<u32>>,
    pub res: bool,
    pub first: bool,
    /// `--fragmore` (more fragments follow).
    pub more: bool,
    /// `--fraglast`.
    pub last: bool,
}

impl Default for Frag {
    fn default() -> Frag {
        Frag { id: Inv::new(FULL32, false), len: None, res: false, first: false, more: false, last: false }
    }
}

static FRAG_OPTS: [OptSpec; 6] = [
    OptSpec::arg("fragid", 0).inv(),
    OptSpec::arg("fraglen", 1).inv(),
    OptSpec::flag("fragres", 2),
    OptSpec::flag("fragfirst", 3),
    OptSpec::flag("fragmore", 4).excl(1 << 5),
    OptSpec::flag("fraglast", 5).excl(1 << 4),
];

impl Extension for Frag {
    fn options(&self) -> &'static [OptSpec] {
        &FRAG_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.id = Inv::new(range32(call)?, call.invert),
            1 => self.len = Some(Inv::new(u32_arg(call)?, call.invert)),
            2 => self.res = true,
            3 => self.first = true,
            4 => self.more = true,
            _ => self.last = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if self.id.value != FULL32 || self.id.invert {
            out.opt_val(self.id.invert, "fragid", self.id.value);
        }
        if let Some(l) = &self.len {
            out.opt_val(l.invert, "fraglen", l.value);
        }
        for (on, name) in [
            (self.res, "fragres"),
            (self.first, "fragfirst"),
            (self.more, "fragmore"),
            (self.last, "fraglast"),
        ] {
            if on {
                out.opt(false, name);
            }
        }
    }
}

/// The rt match (routing header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rt {
    pub rt_type: Option<Inv<u32>>,
    pub segsleft: Inv<Range64>,
    pub len: Option<Inv<u32>>,
    /// `--rt-0-res`.
    pub res0: bool,
    /// `--rt-0-addrs`.
    pub addrs: Vec<std::net::Ipv6Addr>,
    /// `--rt-0-not-strict`.
    pub not_strict: bool,
}

impl Default for Rt {
    fn default() -> Rt {
        Rt {
            rt_type: None,
            segsleft: Inv::new(FULL32, false),
            len: None,
            res0: false,
            addrs: vec![],
            not_strict: false,
        }
    }
}

static RT_OPTS: [OptSpec; 6] = [
    OptSpec::arg("rt-type", 0).inv(),
    OptSpec::arg("rt-segsleft", 1).inv(),
    OptSpec::arg("rt-len", 2).inv(),
    OptSpec::flag("rt-0-res", 3),
    OptSpec::arg("rt-0-addrs", 4),
    OptSpec::flag("rt-0-not-strict", 5),
];

impl Extension for Rt {
    fn options(&self) -> &'static [OptSpec] {
        &RT_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let type0 = matches!(self.rt_type, Some(Inv { value: 0, invert: false }));
        match call.spec.id {
            0 => self.rt_type = Some(Inv::new(u32_arg(call)?, call.invert)),
            1 => self.segsleft = Inv::new(range32(call)?, call.invert),
            2 => self.len = Some(Inv::new(u32_arg(call)?, call.invert)),
            3 => {
                if !type0 {
                    return Err("`--rt-type 0' required before `--rt-0-res'".into());
                }
                self.res0 = true;
            }
            4 => {
                if !type0 {
                    return Err("`--rt-type 0' required before `--rt-0-addrs'".into());
                }
                let addrs: Result<Vec<_>, _> =
                    call.arg.split(',').map(|a| a.parse::<std::net::Ipv6Addr>()).collect();
                self.addrs = addrs.map_err(|_| format!("bad address list \"{}\"", call.arg))?;
                if self.addrs.len() > 16 {
                    return Err("too many addresses specified (at most 16)".into());
                }
            }
            _ => {
                if self.addrs.is_empty() {
                    return Err("`--rt-0-addr ...' required before `--rt-0-not-strict'".into());
                }
                self.not_strict = true;
            }
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(t) = &self.rt_type {
            out.opt_val(t.invert, "rt-type", t.value);
        }
        if self.segsleft.value != FULL32 || self.segsleft.invert {
            out.opt_val(self.segsleft.invert, "rt-segsleft", self.segsleft.value);
        }
        if let Some(l) = &self.len {
            out.opt_val(l.invert, "rt-len", l.value);
        }
        if self.res0 {
            out.push(" --rt-0-res");
        }
        if !self.addrs.is_empty() {
            let list: Vec<String> = self.addrs.iter().map(crate::iptables::values::addr::ntop6).collect();
            out.push(&format!(" --rt-0-addrs {}", list.join(",")));
        }
        if self.not_strict {
            out.push(" --rt-0-not-strict");
        }
    }
}

/// One `TYPE[:LEN]` of `--hbh-opts` / `--dst-opts` (`len` `None`: any length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OptSel {
    pub opt_type: u8,
    pub len: Option<u8>,
}

/// The hbh and dst matches (hop-by-hop / destination options headers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opts {
    /// `false`: hbh, `true`: dst (names the options).
    pub dst: bool,
    pub len: Option<Inv<u32>>,
    pub opts: Option<Vec<OptSel>>,
}

static HBH_OPTS: [OptSpec; 2] = [OptSpec::arg("hbh-len", 0).inv(), OptSpec::arg("hbh-opts", 1)];
static DST_OPTS: [OptSpec; 2] = [OptSpec::arg("dst-len", 0).inv(), OptSpec::arg("dst-opts", 1)];

fn parse_opt_list(s: &str) -> Result<Vec<OptSel>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        if out.len() == 16 {
            return Err("too many options specified (at most 16)".into());
        }
        let num = |x: &str, what: &str| {
            parse_uint(x, 0, u32::MAX as u64)
                .map(|v| (v & 0xff) as u8)
                .ok_or_else(|| format!("error parsing {what} `{x}'"))
        };
        let sel = match item.split_once(':') {
            Some((t, l)) => {
                let t = num(t, "opt")?;
                if t == 0 {
                    return Err("PAD0 has not got length".into());
                }
                OptSel { opt_type: t, len: Some(num(l, "length")?) }
            }
            None => OptSel { opt_type: num(item, "opt")?, len: None },
        };
        out.push(sel);
    }
    Ok(out)
}

impl Extension for Opts {
    fn options(&self) -> &'static [OptSpec] {
        if self.dst { &DST_OPTS } else { &HBH_OPTS }
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 0 {
            self.len = Some(Inv::new(u32_arg(call)?, call.invert));
        } else {
            self.opts = Some(parse_opt_list(call.arg)?);
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let p = if self.dst { "dst" } else { "hbh" };
        if let Some(l) = &self.len {
            out.opt_val(l.invert, &format!("{p}-len"), l.value);
        }
        if let Some(opts) = &self.opts {
            let list: Vec<String> = opts
                .iter()
                .map(|o| match o.len {
                    Some(l) if l != 0xff => format!("{}:{l}", o.opt_type),
                    _ => o.opt_type.to_string(),
                })
                .collect();
            out.push(&format!(" --{p}-opts {}", list.join(",")));
        }
    }
}

/// Mobility header type names (first of a number is canonical).
pub const MH_TYPES: &[(&str, u8)] = &[
    ("binding-refresh-request", 0),
    ("brr", 0),
    ("home-test-init", 1),
    ("hoti", 1),
    ("careof-test-init", 2),
    ("coti", 2),
    ("home-test", 3),
    ("hot", 3),
    ("careof-test", 4),
    ("cot", 4),
    ("binding-update", 5),
    ("bu", 5),
    ("binding-acknowledgement", 6),
    ("ba", 6),
    ("binding-error", 7),
    ("be", 7),
];

fn mh_type(s: &str) -> Result<u8, String> {
    let mut found: Option<u8> = None;
    for (name, t) in MH_TYPES {
        if crate::iptables::values::names::is_ci_prefix(s, name) && (found.is_none() || name.len() == s.len())
        {
            found = Some(*t);
        }
    }
    if let Some(t) = found {
        return Ok(t);
    }
    parse_uint(s, 0, 255).map(|v| v as u8).ok_or_else(|| format!("Invalid MH type `{s}'"))
}

/// The mh match (mobility header type range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mh {
    pub types: Inv<(u8, u8)>,
}

impl Default for Mh {
    fn default() -> Mh {
        Mh { types: Inv::new((0, 255), false) }
    }
}

static MH_OPTS: [OptSpec; 1] = [OptSpec::arg("mh-type", 0).inv()];

impl Extension for Mh {
    fn options(&self) -> &'static [OptSpec] {
        &MH_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let r = match call.arg.split_once(':') {
            None => {
                let t = mh_type(call.arg)?;
                (t, t)
            }
            Some((a, b)) => {
                let lo = if a.is_empty() { 0 } else { mh_type(a)? };
                let hi = if b.is_empty() { 255 } else { mh_type(b)? };
                if lo > hi {
                    return Err("Invalid MH type range (min > max)".into());
                }
                (lo, hi)
            }
        };
        self.types = Inv::new(r, call.invert);
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let (lo, hi) = self.types.value;
        if lo == 0 && hi == 255 && !self.types.invert {
            return;
        }
        let v = if lo == hi { lo.to_string() } else { format!("{lo}:{hi}") };
        out.opt_val(self.types.invert, "mh-type", v);
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[135], "mh match")
    }
}

/// ipv6header names, protocol numbers and mask bits.
const HEADER_NAMES: &[(&str, u8)] = &[
    ("hop-by-hop", 0),
    ("protocol", 255),
    ("hop", 0),
    ("dst", 60),
    ("route", 43),
    ("frag", 44),
    ("auth", 51),
    ("esp", 50),
    ("none", 59),
    ("prot", 255),
    ("0", 0),
    ("60", 60),
    ("43", 43),
    ("44", 44),
    ("51", 51),
    ("50", 50),
    ("59", 59),
    ("255", 255),
];
/// Header protocol number → bit in the mask, in print order.
pub const HEADER_BITS: &[(u8, u8)] =
    &[(0, 128), (60, 64), (43, 32), (44, 16), (51, 8), (50, 4), (59, 2), (255, 1)];

/// The ipv6header match: which extension headers the packet has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipv6header {
    /// Bits of [`HEADER_BITS`].
    pub headers: u8,
    pub invert: bool,
    /// `--soft`: match if all of these headers are present, others allowed (instead of
    /// exactly these; the kernel decides so, see `nftvm_vm::expr::ipv6header`).
    pub soft: bool,
}

static IPV6HEADER_OPTS: [OptSpec; 2] = [OptSpec::arg("header", 0).inv().mand(), OptSpec::flag("soft", 1)];

impl Extension for Ipv6header {
    fn options(&self) -> &'static [OptSpec] {
        &IPV6HEADER_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 1 {
            self.soft = true;
            return Ok(());
        }
        let mut mask = 0u8;
        for name in call.arg.split(',').filter(|s| !s.is_empty()) {
            let proto = etc_protocol(name)
                .or_else(|| HEADER_NAMES.iter().find(|(n, _)| *n == name).map(|&(_, p)| p))
                .ok_or_else(|| format!("unknown header `{name}' specified"))?;
            let bit = HEADER_BITS
                .iter()
                .find(|(p, _)| *p == proto)
                .map(|&(_, b)| b)
                .ok_or_else(|| format!("unknown header `{proto}' specified"))?;
            mask |= bit;
        }
        if mask == 0 {
            return Err("cannot parse header names".into());
        }
        self.headers = mask;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let names: Vec<String> = HEADER_BITS
            .iter()
            .filter(|(_, b)| self.headers & b != 0)
            .map(|&(p, _)| {
                let by_number = if p != 0 { etc_protocol_name(p) } else { None };
                by_number
                    .or_else(|| HEADER_NAMES.iter().find(|(_, n)| *n == p).map(|(n, _)| *n))
                    .or_else(|| chain_proto_name(p))
                    .map_or_else(|| p.to_string(), str::to_string)
            })
            .collect();
        let list = if names.is_empty() { "NONE".to_string() } else { names.join(",") };
        out.opt_val(self.invert, "header", list);
        if self.soft {
            out.push(" --soft");
        }
    }
}

/// The eui64 match (source address built from the MAC address); no options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eui64;

impl Extension for Eui64 {
    fn options(&self) -> &'static [OptSpec] {
        &[]
    }
    fn parse(&mut self, _call: &mut OptCall<'_>) -> Result<(), String> {
        Ok(())
    }
    fn save(&self, _out: &mut SaveBuf) {}
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(hooks::PRE | hooks::IN | hooks::FWD, "eui64 match")
    }
}

/// Comparison of an srh field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SrhCmp {
    Eq,
    Gt,
    Lt,
}

/// The srh match (segment routing header); each field may be tested once per comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Srh {
    pub next_hdr: Option<Inv<u8>>,
    pub hdr_len: Vec<(SrhCmp, Inv<u8>)>,
    pub segs_left: Vec<(SrhCmp, Inv<u8>)>,
    pub last_entry: Vec<(SrhCmp, Inv<u8>)>,
    pub tag: Option<Inv<u16>>,
    pub psid: Option<Inv<AddrMask>>,
    pub nsid: Option<Inv<AddrMask>>,
    pub lsid: Option<Inv<AddrMask>>,
}

static SRH_OPTS: [OptSpec; 14] = [
    OptSpec::arg("srh-next-hdr", 0).inv(),
    OptSpec::arg("srh-hdr-len-eq", 1).inv(),
    OptSpec::arg("srh-hdr-len-gt", 2).inv(),
    OptSpec::arg("srh-hdr-len-lt", 3).inv(),
    OptSpec::arg("srh-segs-left-eq", 4).inv(),
    OptSpec::arg("srh-segs-left-gt", 5).inv(),
    OptSpec::arg("srh-segs-left-lt", 6).inv(),
    OptSpec::arg("srh-last-entry-eq", 7).inv(),
    OptSpec::arg("srh-last-entry-gt", 8).inv(),
    OptSpec::arg("srh-last-entry-lt", 9).inv(),
    OptSpec::arg("srh-tag", 10).inv(),
    OptSpec::arg("srh-psid", 11).inv(),
    OptSpec::arg("srh-nsid", 12).inv(),
    OptSpec::arg("srh-lsid", 13).inv(),
];

impl Extension for Srh {
    fn options(&self) -> &'static [OptSpec] {
        &SRH_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let id = call.spec.id;
        let inv = call.invert;
        let u8v = || {
            parse_uint(call.arg, 0, 255).map(|v| v as u8).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range (0-255)", call.spec.name)
            })
        };
        let cmp = |i: u8| match (i - 1) % 3 {
            0 => SrhCmp::Eq,
            1 => SrhCmp::Gt,
            _ => SrhCmp::Lt,
        };
        match id {
            0 => self.next_hdr = Some(Inv::new(u8v()?, inv)),
            1..=3 => self.hdr_len.push((cmp(id), Inv::new(u8v()?, inv))),
            4..=6 => self.segs_left.push((cmp(id), Inv::new(u8v()?, inv))),
            7..=9 => self.last_entry.push((cmp(id), Inv::new(u8v()?, inv))),
            10 => {
                let v = parse_uint(call.arg, 0, 65535)
                    .ok_or("bad value for option \"--srh-tag\", or out of range (0-65535)")?;
                self.tag = Some(Inv::new(v as u16, inv));
            }
            _ => {
                let hm = Some(Inv::new(parse_host_mask(call.arg, call.family())?, inv));
                match id {
                    11 => self.psid = hm,
                    12 => self.nsid = hm,
                    _ => self.lsid = hm,
                }
            }
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(v) = &self.next_hdr {
            out.opt_val(v.invert, "srh-next-hdr", v.value);
        }
        for (field, list) in
            [("hdr-len", &self.hdr_len), ("segs-left", &self.segs_left), ("last-entry", &self.last_entry)]
        {
            for want in [SrhCmp::Eq, SrhCmp::Gt, SrhCmp::Lt] {
                if let Some((_, v)) = list.iter().find(|(c, _)| *c == want) {
                    let op = match want {
                        SrhCmp::Eq => "eq",
                        SrhCmp::Gt => "gt",
                        SrhCmp::Lt => "lt",
                    };
                    out.opt_val(v.invert, &format!("srh-{field}-{op}"), v.value);
                }
            }
        }
        if let Some(v) = &self.tag {
            out.opt_val(v.invert, "srh-tag", v.value);
        }
        for (name, sid) in [("srh-psid", &self.psid), ("srh-nsid", &self.nsid), ("srh-lsid", &self.lsid)] {
            if let Some(s) = sid {
                out.opt_val(
                    s.invert,
                    name,
                    format!("{}/{}", s.value.addr, s.value.prefix_len().unwrap_or(128)),
                );
            }
        }
    }
}
