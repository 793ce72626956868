//! Small matches with one or two options: `cgroup`, `cpu`, `quota`, `statistic`,
//! `rpfilter`, `socket`, `realm`, `devgroup`, `nfacct`, `osf`, `tcpmss`.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit, hooks};
use crate::iptables::ip::Inv;
use crate::iptables::matches::mark::parse_mark_mask;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::ranges::{PortRange, parse_range16};

fn uint(call: &OptCall<'_>, min: u64, max: u64) -> Result<u64, String> {
    parse_uint(call.arg, min, max).ok_or_else(|| {
        format!("bad value for option \"--{}\", or out of range ({min}-{max})", call.spec.name)
    })
}

/// The cgroup match (revision 2): cgroup v1 class id and/or cgroup v2 path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cgroup {
    pub path: Option<Inv<String>>,
    pub classid: Option<Inv<u32>>,
}

static CGROUP_OPTS: [OptSpec; 2] = [OptSpec::arg("path", 0).inv(), OptSpec::arg("cgroup", 1).inv()];

impl Extension for Cgroup {
    fn options(&self) -> &'static [OptSpec] {
        &CGROUP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 0 {
            self.path =
                Some(Inv::new(crate::iptables::targets::log::truncate_bytes(call.arg, 4095), call.invert));
        } else {
            self.classid = Some(Inv::new(uint(call, 0, u32::MAX as u64)? as u32, call.invert));
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(p) = &self.path {
            out.opt_str(p.invert, "path", &p.value);
        }
        if let Some(c) = &self.classid {
            out.opt_val(c.invert, "cgroup", c.value);
        }
    }
    fn check_load(&self, _cx: &LoadCx<'_>) -> Result<(), String> {
        match (&self.path, &self.classid) {
            (Some(_), Some(_)) => Err("--path and --cgroup cannot be combined".into()),
            (None, None) => Err("one of --path or --cgroup is required".into()),
            _ => Ok(()),
        }
    }
}

/// The cpu match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    pub cpu: u32,
    pub invert: bool,
}

static CPU_OPTS: [OptSpec; 1] = [OptSpec::arg("cpu", 0).inv().mand()];

impl Extension for Cpu {
    fn options(&self) -> &'static [OptSpec] {
        &CPU_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.cpu = uint(call, 0, u32::MAX as u64)? as u32;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "cpu", self.cpu);
    }
}

/// The quota match (bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    pub quota: u64,
    pub invert: bool,
}

static QUOTA_OPTS: [OptSpec; 1] = [OptSpec::arg("quota", 0).inv().mand()];

impl Extension for Quota {
    fn options(&self) -> &'static [OptSpec] {
        &QUOTA_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.quota = uint(call, 0, u64::MAX)?;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "quota", self.quota);
    }
}

/// Statistic mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StatisticMode {
    #[default]
    Random,
    Nth,
}

/// The statistic match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statistic {
    pub mode: StatisticMode,
    pub invert: bool,
    /// Random: probability scaled by 2^31 (`lround(0x80000000 * p)`).
    pub probability: u32,
    /// Nth: every `every` packets (the kernel stores `every - 1`).
    pub every: u32,
    pub packet: u32,
}

static STAT_OPTS: [OptSpec; 4] = [
    OptSpec::arg("mode", 0).mand(),
    OptSpec::arg("probability", 1).inv().excl(bit(2) | bit(3)),
    OptSpec::arg("every", 2).inv().excl(bit(1)).also(bit(3)),
    OptSpec::arg("packet", 3).excl(bit(1)).also(bit(2)),
];

impl Extension for Statistic {
    fn options(&self) -> &'static [OptSpec] {
        &STAT_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.invert |= call.invert;
        match call.spec.id {
            0 => {
                self.mode = match call.arg {
                    "random" => StatisticMode::Random,
                    "nth" => StatisticMode::Nth,
                    _ => return Err(format!("Bad mode \"{}\": expecting random or nth", call.arg)),
                }
            }
            1 => {
                let p: f64 = call
                    .arg
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=1.0).contains(p))
                    .ok_or("bad value for option \"--probability\", or out of range (0-1)")?;
                self.probability = (2147483648.0 * p).round() as u32;
            }
            2 => self.every = uint(call, 1, u32::MAX as u64)? as u32,
            _ => self.packet = uint(call, 0, u32::MAX as u64)? as u32,
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if self.mode == StatisticMode::Random && seen & bit(1) == 0 {
            return Err("--probability must be specified when using random mode".into());
        }
        if self.mode == StatisticMode::Nth && seen & (bit(2) | bit(3)) == 0 {
            return Err("--every and --packet must be specified when using nth mode".into());
        }
        if self.packet > self.every.saturating_sub(1) {
            return Err("the --packet p must be 0 <= p <= n-1".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let bang = if self.invert { " !" } else { "" };
        match self.mode {
            StatisticMode::Random => out.push(&format!(
                " --mode random{bang} --probability {:.11}",
                f64::from(self.probability) / 2147483648.0
            )),
            StatisticMode::Nth => {
                out.push(&format!(" --mode nth{bang} --every {} --packet {}", self.every, self.packet))
            }
        }
    }
}

/// The rpfilter match (reverse path filter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rpfilter {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

static RPF_OPTS: [OptSpec; 4] = [
    OptSpec::flag("loose", 0),
    OptSpec::flag("validmark", 1),
    OptSpec::flag("accept-local", 2),
    OptSpec::flag("invert", 3),
];

impl Extension for Rpfilter {
    fn options(&self) -> &'static [OptSpec] {
        &RPF_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.loose = true,
            1 => self.validmark = true,
            2 => self.accept_local = true,
            _ => self.invert = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        for (on, n) in [
            (self.loose, "loose"),
            (self.validmark, "validmark"),
            (self.accept_local, "accept-local"),
            (self.invert, "invert"),
        ] {
            if on {
                out.opt(false, n);
            }
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["raw", "mangle"], "rpfilter")?;
        cx.require_hooks(hooks::PRE, "rpfilter")
    }
}

/// The socket match (revision 3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Socket {
    pub transparent: bool,
    pub nowildcard: bool,
    pub restore_skmark: bool,
}

static SOCKET_OPTS: [OptSpec; 3] =
    [OptSpec::flag("transparent", 0), OptSpec::flag("nowildcard", 1), OptSpec::flag("restore-skmark", 2)];

impl Extension for Socket {
    fn options(&self) -> &'static [OptSpec] {
        &SOCKET_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.transparent = true,
            1 => self.nowildcard = true,
            _ => self.restore_skmark = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        for (on, n) in [
            (self.transparent, "transparent"),
            (self.nowildcard, "nowildcard"),
            (self.restore_skmark, "restore-skmark"),
        ] {
            if on {
                out.opt(false, n);
            }
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(hooks::PRE | hooks::IN, "socket match")
    }
}

/// `value[/mask]` print of realm and devgroup (`xtables_print_val_mask` without names).
fn val_mask(v: u32, m: u32) -> String {
    if m == u32::MAX { format!("0x{v:x}") } else { format!("0x{v:x}/0x{m:x}") }
}

/// The realm match (IPv4 routing realm).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Realm {
    pub id: u32,
    pub mask: u32,
    pub invert: bool,
}

static REALM_OPTS: [OptSpec; 1] = [OptSpec::arg("realm", 0).inv().mand()];

impl Extension for Realm {
    fn options(&self) -> &'static [OptSpec] {
        &REALM_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        (self.id, self.mask) = parse_mark_mask(call.arg)?;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "realm", val_mask(self.id, self.mask));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(hooks::POST | hooks::FWD | hooks::OUT | hooks::IN, "realm match")
    }
}

/// The devgroup match (interface groups).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Devgroup {
    /// `(group, mask)` and negation.
    pub src: Option<Inv<(u32, u32)>>,
    pub dst: Option<Inv<(u32, u32)>>,
}

static DEVGROUP_OPTS: [OptSpec; 2] = [OptSpec::arg("src-group", 0).inv(), OptSpec::arg("dst-group", 1).inv()];

impl Extension for Devgroup {
    fn options(&self) -> &'static [OptSpec] {
        &DEVGROUP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let v = Some(Inv::new(parse_mark_mask(call.arg)?, call.invert));
        if call.spec.id == 0 {
            self.src = v;
        } else {
            self.dst = v;
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("You must specify either '--src-group' or '--dst-group'".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(s) = &self.src {
            out.opt_val(s.invert, "src-group", val_mask(s.value.0, s.value.1));
        }
        if let Some(d) = &self.dst {
            out.opt_val(d.invert, "dst-group", val_mask(d.value.0, d.value.1));
        }
    }
}

/// The nfacct match: count into a named nfacct object (which must exist).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nfacct {
    pub name: String,
}

static NFACCT_OPTS: [OptSpec; 1] = [OptSpec::arg("nfacct-name", 0).mand()];

impl Extension for Nfacct {
    fn options(&self) -> &'static [OptSpec] {
        &NFACCT_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.arg.contains('\n') {
            return Err("Newlines not allowed in --nfacct-name".into());
        }
        self.name = crate::iptables::targets::log::truncate_bytes(call.arg, 31);
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(" --nfacct-name ");
        out.string(&self.name);
    }
    fn check_load(&self, _cx: &LoadCx<'_>) -> Result<(), String> {
        Err(format!("nfacct object `{}' does not exist (nftvm keeps no nfacct objects)", self.name))
    }
}

/// The osf match (passive OS fingerprinting of TCP SYNs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Osf {
    pub genre: String,
    pub invert: bool,
    pub ttl: Option<u32>,
    pub log: Option<u32>,
}

static OSF_OPTS: [OptSpec; 3] =
    [OptSpec::arg("genre", 0).inv().mand(), OptSpec::arg("ttl", 1), OptSpec::arg("log", 2)];

impl Extension for Osf {
    fn options(&self) -> &'static [OptSpec] {
        &OSF_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => {
                self.genre = crate::iptables::targets::log::truncate_bytes(call.arg, 31);
                self.invert = call.invert;
            }
            1 => self.ttl = Some(uint(call, 0, 2)? as u32),
            _ => self.log = Some(uint(call, 0, 2)? as u32),
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "genre", &self.genre);
        if let Some(t) = self.ttl {
            out.push(&format!(" --ttl {t}"));
        }
        if let Some(l) = self.log {
            out.push(&format!(" --log {l}"));
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[6], "osf match")
    }
}

/// The tcpmss match (MSS option value range).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpmssMatch {
    pub range: PortRange,
    pub invert: bool,
}

static TCPMSS_OPTS: [OptSpec; 1] = [OptSpec::arg("mss", 0).inv().mand()];

impl Extension for TcpmssMatch {
    fn options(&self) -> &'static [OptSpec] {
        &TCPMSS_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.range = parse_range16(call.arg).map_err(|e| format!("--mss: {e}"))?;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "mss", self.range);
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[6], "tcpmss match")
    }
}
