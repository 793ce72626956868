//! Other targets: `AUDIT`, `TRACE`, `SECMARK`, `CONNSECMARK`, `NFQUEUE`, `SYNPROXY`, `TEE`,
//! `TPROXY`, `IDLETIMER`, `LED`, `RATEEST`, `DNPT`/`SNPT`, `SET`.

use crate::iptables::Family;
use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit, hooks};
use crate::iptables::matches::mark::parse_mark_mask;
use crate::iptables::matches::set::{format_set_dims, parse_set_dims};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{Addr, parse_host, parse_host_mask};
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::ranges::{parse_port_gai, parse_range16};

fn uint(call: &OptCall<'_>, min: u64, max: u64) -> Result<u64, String> {
    parse_uint(call.arg, min, max).ok_or_else(|| {
        format!("bad value for option \"--{}\", or out of range ({min}-{max})", call.spec.name)
    })
}

/// What AUDIT records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AuditType {
    #[default]
    Accept,
    Drop,
    Reject,
}

/// The AUDIT target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    pub kind: AuditType,
}

static AUDIT_OPTS: [OptSpec; 1] = [OptSpec::arg("type", 0).mand()];

impl Extension for Audit {
    fn options(&self) -> &'static [OptSpec] {
        &AUDIT_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let a = call.arg;
        self.kind = if a.eq_ignore_ascii_case("accept") {
            AuditType::Accept
        } else if a.eq_ignore_ascii_case("drop") {
            AuditType::Drop
        } else if a.eq_ignore_ascii_case("reject") {
            AuditType::Reject
        } else {
            return Err(format!("Bad action type value \"{a}\": expecting accept, drop or reject"));
        };
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(match self.kind {
            AuditType::Accept => " --type accept",
            AuditType::Drop => " --type drop",
            AuditType::Reject => " --type reject",
        });
    }
}

/// The TRACE target (no options; raw table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace;

impl Extension for Trace {
    fn options(&self) -> &'static [OptSpec] {
        &[]
    }
    fn parse(&mut self, _call: &mut OptCall<'_>) -> Result<(), String> {
        Ok(())
    }
    fn save(&self, _out: &mut SaveBuf) {}
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["raw"], "TRACE")
    }
}

/// The SECMARK target (`--selctx CONTEXT`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secmark {
    pub selctx: String,
}

static SECMARK_OPTS: [OptSpec; 1] = [OptSpec::arg("selctx", 0).mand()];

impl Extension for Secmark {
    fn options(&self) -> &'static [OptSpec] {
        &SECMARK_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.selctx = crate::iptables::targets::log::truncate_bytes(call.arg, 255);
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --selctx {}", self.selctx));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle", "security"], "SECMARK")
    }
}

/// The CONNSECMARK target: `true` = `--save`, `false` = `--restore`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connsecmark {
    pub save: bool,
}

static CONNSECMARK_OPTS: [OptSpec; 2] =
    [OptSpec::flag("save", 0).excl(bit(1)), OptSpec::flag("restore", 1).excl(bit(0))];

impl Extension for Connsecmark {
    fn options(&self) -> &'static [OptSpec] {
        &CONNSECMARK_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.save = call.spec.id == 0;
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("parameter required: --save or --restore".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(if self.save { " --save" } else { " --restore" });
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle", "security"], "CONNSECMARK")
    }
}

/// The NFQUEUE target (revision 3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nfqueue {
    pub queue_num: u16,
    /// Number of queues (`--queue-balance a:b` → `b - a + 1`); 0/1 = single queue.
    pub queues_total: u16,
    pub bypass: bool,
    pub cpu_fanout: bool,
}

static NFQUEUE_OPTS: [OptSpec; 4] = [
    OptSpec::arg("queue-num", 0).excl(bit(1)),
    OptSpec::arg("queue-balance", 1).excl(bit(0)),
    OptSpec::flag("queue-bypass", 2),
    OptSpec::flag("queue-cpu-fanout", 3).also(bit(1)),
];

impl Extension for Nfqueue {
    fn options(&self) -> &'static [OptSpec] {
        &NFQUEUE_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.queue_num = uint(call, 0, 65535)? as u16,
            1 => {
                let v = crate::iptables::values::ranges::parse_mint(call.arg, 0, 65534)
                    .map_err(|e| format!("--queue-balance: {e}"))?;
                if v.len() != 2 {
                    return Err(format!("Bad range \"{}\": expecting FROM:TO", call.arg));
                }
                if v[0] >= v[1] {
                    return Err(format!("{} should be less than {}", v[0], v[1]));
                }
                self.queue_num = v[0] as u16;
                self.queues_total = (v[1] - v[0] + 1) as u16;
            }
            2 => self.bypass = true,
            _ => self.cpu_fanout = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if self.queues_total > 1 {
            let last = u32::from(self.queue_num) + u32::from(self.queues_total) - 1;
            out.push(&format!(" --queue-balance {}:{last}", self.queue_num));
        } else {
            out.push(&format!(" --queue-num {}", self.queue_num));
        }
        if self.bypass {
            out.push(" --queue-bypass");
        }
        if self.cpu_fanout {
            out.push(" --queue-cpu-fanout");
        }
    }
}

/// The SYNPROXY target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Synproxy {
    pub sack_perm: bool,
    pub timestamp: bool,
    pub wscale: Option<u32>,
    pub mss: Option<u32>,
    pub ecn: bool,
}

static SYNPROXY_OPTS: [OptSpec; 5] = [
    OptSpec::flag("sack-perm", 0),
    OptSpec::flag("timestamp", 1),
    OptSpec::arg("wscale", 2),
    OptSpec::arg("mss", 3),
    OptSpec::flag("ecn", 4),
];

impl Extension for Synproxy {
    fn options(&self) -> &'static [OptSpec] {
        &SYNPROXY_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.sack_perm = true,
            1 => self.timestamp = true,
            2 => self.wscale = Some(uint(call, 0, u32::MAX as u64)? as u32),
            3 => self.mss = Some(uint(call, 0, u32::MAX as u64)? as u32),
            _ => self.ecn = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if self.sack_perm {
            out.push(" --sack-perm");
        }
        if self.timestamp {
            out.push(" --timestamp");
        }
        if let Some(w) = self.wscale {
            out.push(&format!(" --wscale {w}"));
        }
        if let Some(m) = self.mss {
            out.push(&format!(" --mss {m}"));
        }
        if self.ecn {
            out.push(" --ecn");
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[6], "SYNPROXY")?;
        cx.require_hooks(hooks::IN | hooks::FWD, "SYNPROXY")
    }
}

/// The TEE target: clone the packet to a gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tee {
    pub gateway: Addr,
    pub oif: Option<String>,
}

impl Tee {
    pub fn new(f: Family) -> Tee {
        Tee { gateway: Addr::zero(f), oif: None }
    }
}

static TEE_OPTS: [OptSpec; 2] = [OptSpec::arg("gateway", 0).mand(), OptSpec::arg("oif", 1)];

impl Extension for Tee {
    fn options(&self) -> &'static [OptSpec] {
        &TEE_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 0 {
            self.gateway = parse_host(call.arg, call.family())?;
        } else {
            self.oif = Some(crate::iptables::targets::log::truncate_bytes(call.arg, 15));
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --gateway {}", self.gateway));
        if let Some(o) = &self.oif {
            out.push(&format!(" --oif {o}"));
        }
    }
}

/// The TPROXY target (revision 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tproxy {
    pub port: u16,
    pub addr: Addr,
    pub mark: u32,
    pub mask: u32,
}

impl Tproxy {
    pub fn new(f: Family) -> Tproxy {
        Tproxy { port: 0, addr: Addr::zero(f), mark: 0, mask: 0 }
    }
}

static TPROXY_OPTS: [OptSpec; 3] =
    [OptSpec::arg("on-port", 0).mand(), OptSpec::arg("on-ip", 1), OptSpec::arg("tproxy-mark", 2)];

impl Extension for Tproxy {
    fn options(&self) -> &'static [OptSpec] {
        &TPROXY_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.port = parse_port_gai(call.arg)?,
            1 => self.addr = parse_host(call.arg, call.family())?,
            _ => (self.mark, self.mask) = parse_mark_mask(call.arg)?,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(
            " --on-port {} --on-ip {} --tproxy-mark 0x{:x}/0x{:x}",
            self.port, self.addr, self.mark, self.mask
        ));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], "TPROXY")?;
        cx.require_hooks(hooks::PRE, "TPROXY")?;
        cx.require_proto(&[6, 17], "TPROXY")
    }
}

/// The IDLETIMER target (revision 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Idletimer {
    pub timeout: u32,
    pub label: String,
    pub alarm: bool,
}

static IDLETIMER_OPTS: [OptSpec; 3] =
    [OptSpec::arg("timeout", 0).mand(), OptSpec::arg("label", 1).mand(), OptSpec::flag("alarm", 2)];

impl Extension for Idletimer {
    fn options(&self) -> &'static [OptSpec] {
        &IDLETIMER_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.timeout = uint(call, 0, u32::MAX as u64)? as u32,
            1 => self.label = crate::iptables::targets::log::truncate_bytes(call.arg, 27),
            _ => self.alarm = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --timeout {} --label {}", self.timeout, self.label));
        if self.alarm {
            out.push(" --alarm");
        }
    }
}

/// The LED target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Led {
    pub trigger_id: String,
    /// Milliseconds; `None` = infinite (`inf`).
    pub delay: Option<u32>,
    pub always_blink: bool,
}

static LED_OPTS: [OptSpec; 3] = [
    OptSpec::arg("led-trigger-id", 0).mand(),
    OptSpec::arg("led-delay", 1),
    OptSpec::flag("led-always-blink", 2),
];

impl Extension for Led {
    fn options(&self) -> &'static [OptSpec] {
        &LED_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => {
                if call.arg.len() > 16 {
                    return Err("Argument must have a maximum length of 16 characters".into());
                }
                self.trigger_id = call.arg.to_string();
                if self.delay.is_none() {
                    self.delay = Some(0);
                }
            }
            1 => {
                self.delay = if call.arg.len() >= 3 && call.arg.as_bytes()[..3].eq_ignore_ascii_case(b"inf") {
                    None
                } else {
                    Some(
                        parse_uint(call.arg, 0, u32::MAX as u64)
                            .ok_or("Delay value must be within range 0..4294967295")?
                            as u32,
                    )
                }
            }
            _ => self.always_blink = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let mut id = String::new();
        for c in self.trigger_id.chars() {
            if c == '"' || c == '\\' {
                id.push('\\');
            }
            id.push(c);
        }
        out.push(&format!(" --led-trigger-id \"{id}\""));
        match self.delay {
            Some(0) => {}
            Some(d) => out.push(&format!(" --led-delay {d}")),
            None => out.push(" --led-delay inf"),
        }
        if self.always_blink {
            out.push(" --led-always-blink");
        }
    }
}

/// `TIME_UNITS_PER_SEC` of RATEEST.
const TIME_UNITS: f64 = 1_000_000.0;

fn rateest_time(s: &str) -> Option<u32> {
    let num_len = s
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '+' || *c == '-')))
        .count();
    let t: f64 = s[..num_len].parse().ok()?;
    let unit = &s[num_len..];
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" => 1.0,
        "s" | "sec" | "secs" => TIME_UNITS,
        "ms" | "msec" | "msecs" => TIME_UNITS / 1000.0,
        "us" | "usec" | "usecs" => 1.0,
        _ => return None,
    };
    Some((t * mult) as u32)
}

fn rateest_print_time(t: u32) -> String {
    let f = f64::from(t);
    if f >= TIME_UNITS {
        format!("{:.1}s", f / TIME_UNITS)
    } else if f >= TIME_UNITS / 1000.0 {
        format!("{:.1}ms", f / (TIME_UNITS / 1000.0))
    } else {
        format!("{t}us")
    }
}

/// The RATEEST target: a named rate estimator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rateest {
    pub name: String,
    /// Kernel encoding: interval is `2^(interval+2)/4` seconds.
    pub interval: i8,
    pub ewma_log: u8,
    interval_us: u32,
    ewma_us: u32,
}

static RATEEST_OPTS: [OptSpec; 3] = [
    OptSpec::arg("rateest-name", 0).mand(),
    OptSpec::arg("rateest-interval", 1).mand(),
    OptSpec::arg("rateest-ewmalog", 2).mand(),
];

impl Extension for Rateest {
    fn options(&self) -> &'static [OptSpec] {
        &RATEEST_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.name = crate::iptables::targets::log::truncate_bytes(call.arg, 15),
            1 => {
                self.interval_us =
                    rateest_time(call.arg).ok_or_else(|| format!("bad interval value \"{}\"", call.arg))?
            }
            _ => {
                self.ewma_us =
                    rateest_time(call.arg).ok_or_else(|| format!("bad ewmalog value \"{}\"", call.arg))?
            }
        }
        Ok(())
    }
    fn finish(&mut self, _seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        let mut i = 0i32;
        while i <= 5 {
            if f64::from(self.interval_us) <= f64::from(1u32 << i) * (TIME_UNITS / 4.0) {
                break;
            }
            i += 1;
        }
        if i > 5 {
            return Err("interval value is too large".into());
        }
        self.interval = (i - 2) as i8;
        let mut e = 1u32;
        while e < 32 {
            let w = 1.0 - 1.0 / f64::from(1u32 << e);
            if f64::from(self.interval_us) / (-w.ln()) > f64::from(self.ewma_us) {
                break;
            }
            e += 1;
        }
        e -= 1;
        if e == 0 || e >= 31 {
            return Err("ewmalog value is out of range".into());
        }
        self.ewma_log = e as u8;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let interval = ((TIME_UNITS as u64) << (self.interval + 2).max(0)) / 4;
        let ewma = interval * (1u64 << self.ewma_log);
        out.push(&format!(
            " --rateest-name {} --rateest-interval {} --rateest-ewmalog {}",
            self.name,
            rateest_print_time(interval as u32),
            rateest_print_time(ewma as u32)
        ));
    }
}

/// DNPT / SNPT (IPv6 prefix translation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Npt {
    /// `true` = DNPT.
    pub destination: bool,
    pub src_pfx: Option<(Addr, u8)>,
    pub dst_pfx: Option<(Addr, u8)>,
}

static NPT_OPTS: [OptSpec; 2] = [OptSpec::arg("src-pfx", 0).mand(), OptSpec::arg("dst-pfx", 1).mand()];

impl Extension for Npt {
    fn options(&self) -> &'static [OptSpec] {
        &NPT_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let hm = parse_host_mask(call.arg, call.family())?;
        let v = Some((hm.addr, hm.prefix_len().unwrap_or(u8::MAX)));
        if call.spec.id == 0 {
            self.src_pfx = v;
        } else {
            self.dst_pfx = v;
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        for (name, p) in [("src-pfx", &self.src_pfx), ("dst-pfx", &self.dst_pfx)] {
            if let Some((a, l)) = p
                && (!a.is_zero() || *l != 0)
            {
                out.push(&format!(" --{name} {a}/{l}"));
            }
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        let name = if self.destination { "DNPT" } else { "SNPT" };
        cx.require_table(&["mangle"], name)?;
        let allowed = if self.destination { hooks::PRE | hooks::OUT } else { hooks::IN | hooks::POST };
        cx.require_hooks(allowed, name)?;
        for (a, l) in [self.src_pfx, self.dst_pfx].into_iter().flatten() {
            if l > 64 {
                return Err(format!("{name}: prefix /{l} is longer than 64 bits"));
            }
            if a.and(&Addr::prefix_mask(Family::Ipv6, l)) != a {
                return Err(format!("{name}: prefix {a}/{l} has host bits set"));
            }
        }
        Ok(())
    }
}

/// The SET target: add to / delete from ipsets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetTarget {
    pub add: Option<(String, Vec<bool>)>,
    pub del: Option<(String, Vec<bool>)>,
    pub exist: bool,
    pub timeout: Option<u32>,
}

static SET_OPTS: [OptSpec; 4] = [
    OptSpec::arg("add-set", 0),
    OptSpec::arg("del-set", 1),
    OptSpec::flag("exist", 2),
    OptSpec::arg("timeout", 3),
];

impl Extension for SetTarget {
    fn options(&self) -> &'static [OptSpec] {
        &SET_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 | 1 => {
                let dims = call
                    .take_word()
                    .ok_or_else(|| format!("--{} requires two args: NAME FLAGS", call.spec.name))?;
                let v = Some((call.arg.to_string(), parse_set_dims(dims)?));
                if call.spec.id == 0 {
                    self.add = v;
                } else {
                    self.del = v;
                }
            }
            2 => self.exist = true,
            _ => self.timeout = Some(uint(call, 0, u32::MAX as u64)? as u32),
        }
        Ok(())
    }
    fn finish(&mut self, _seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if self.add.is_none() && self.del.is_none() {
            return Err("You must specify either `--add-set' or `--del-set'".into());
        }
        if self.timeout.is_some() && self.add.is_none() {
            return Err("Option `--timeout' can be used with `--add-set' only".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some((n, d)) = &self.add {
            out.push(&format!(" --add-set {n} {}", format_set_dims(d)));
        }
        if let Some((n, d)) = &self.del {
            out.push(&format!(" --del-set {n} {}", format_set_dims(d)));
        }
        if self.exist {
            out.push(" --exist");
        }
        if let Some(t) = self.timeout {
            out.push(&format!(" --timeout {t}"));
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        for (name, _) in self.add.iter().chain(&self.del) {
            crate::iptables::matches::set::check_exists(name, cx)?;
        }
        Ok(())
    }
}

/// Helper for HMARK prefix options.
fn plen(call: &OptCall<'_>) -> Result<u8, String> {
    let f = call.family();
    match parse_uint(call.arg, 0, u64::from(f.addr_bits())) {
        Some(v) => Ok(v as u8),
        None => crate::iptables::values::addr::parse_mask(call.arg, f)
            .and_then(|m| m.mask_to_prefix_len())
            .ok_or_else(|| {
                format!(
                    "bad value for option \"--{}\": neither a valid network mask nor a valid CIDR",
                    call.spec.name
                )
            }),
    }
}

/// The HMARK target: mark = hash(tuple) % mod + offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hmark {
    pub src_prefix: Option<u8>,
    pub dst_prefix: Option<u8>,
    pub sport_mask: Option<u16>,
    pub dport_mask: Option<u16>,
    pub spi_mask: Option<u32>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub spi: Option<u32>,
    pub proto_mask: Option<u16>,
    pub rnd: Option<u32>,
    pub modulus: Option<u32>,
    pub offset: Option<u32>,
    pub ct: bool,
}

impl Hmark {
    /// Is the field of option `id` (a mask the tuple may set) already given?
    fn given(&self, id: u8) -> bool {
        match id {
            0 => self.src_prefix.is_some(),
            1 => self.dst_prefix.is_some(),
            3 => self.spi_mask.is_some(),
            6 => self.sport_mask.is_some(),
            7 => self.dport_mask.is_some(),
            _ => self.proto_mask.is_some(),
        }
    }
}

static HMARK_OPTS: [OptSpec; 13] = [
    OptSpec::arg("hmark-tuple", 13),
    OptSpec::arg("hmark-src-prefix", 0),
    OptSpec::arg("hmark-dst-prefix", 1),
    OptSpec::arg("hmark-sport-mask", 6),
    OptSpec::arg("hmark-dport-mask", 7),
    OptSpec::arg("hmark-spi-mask", 3),
    OptSpec::arg("hmark-sport", 4),
    OptSpec::arg("hmark-dport", 5),
    OptSpec::arg("hmark-spi", 2),
    OptSpec::arg("hmark-proto-mask", 8),
    OptSpec::arg("hmark-rnd", 9),
    OptSpec::arg("hmark-mod", 10).mand(),
    OptSpec::arg("hmark-offset", 11),
];

impl Extension for Hmark {
    fn options(&self) -> &'static [OptSpec] {
        &HMARK_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let u16v = || uint(call, 0, 65535).map(|v| v as u16);
        let u32v = || uint(call, 0, u32::MAX as u64).map(|v| v as u32);
        match call.spec.id {
            13 => {
                for tok in call.arg.split(',') {
                    let t = tok.to_ascii_lowercase();
                    let p = |n: &str| !t.is_empty() && n.starts_with(t.as_str());
                    if p("ct") {
                        self.ct = true;
                    } else if p("src") {
                        self.src_prefix = Some(call.family().addr_bits());
                    } else if p("dst") {
                        self.dst_prefix = Some(call.family().addr_bits());
                    } else if p("sport") {
                        self.sport_mask = Some(0xffff);
                    } else if p("dport") {
                        self.dport_mask = Some(0xffff);
                    } else if p("proto") {
                        self.proto_mask = Some(0xff);
                    } else if p("spi") {
                        self.spi_mask = Some(u32::MAX);
                    } else {
                        return Err(format!(
                            "Bad type \"{tok}\": expecting ct, src, dst, sport, dport, proto or spi"
                        ));
                    }
                }
            }
            // A field the tuple already named counts as given (libxt_HMARK marks the option
            // seen), so its own option is refused as a second use.
            0 | 1 | 3 | 6 | 7 | 8 if self.given(call.spec.id) => {
                return Err(format!("option \"--{}\" can only be used once.", call.spec.name));
            }
            0 => self.src_prefix = Some(plen(call)?),
            1 => self.dst_prefix = Some(plen(call)?),
            6 => self.sport_mask = Some(u16v()?),
            7 => self.dport_mask = Some(u16v()?),
            3 => self.spi_mask = Some(u32v()?),
            4 => self.sport = Some(u16v()?),
            5 => self.dport = Some(u16v()?),
            2 => self.spi = Some(u32v()?),
            8 => self.proto_mask = Some(u16v()?),
            9 => self.rnd = Some(u32v()?),
            10 => self.modulus = Some(uint(call, 1, u32::MAX as u64)? as u32),
            _ => self.offset = Some(u32v()?),
        }
        Ok(())
    }
    fn finish(&mut self, _seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if self.rnd.is_none() {
            return Err("--hmark-rnd is mandatory".into());
        }
        if self.spi_mask.is_some() && (self.sport_mask.is_some() || self.dport_mask.is_some()) {
            return Err("you cannot use --hmark-spi-mask and --hmark-?port-mask at the same time".into());
        }
        let pkt = self.src_prefix.is_some()
            || self.dst_prefix.is_some()
            || self.spi_mask.is_some()
            || self.sport_mask.is_some()
            || self.dport_mask.is_some()
            || self.proto_mask.is_some()
            || self.sport.is_some()
            || self.dport.is_some()
            || self.spi.is_some();
        if !pkt && !self.ct {
            return Err("you have to specify --hmark-tuple at least".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(p) = self.src_prefix {
            out.push(&format!(" --hmark-src-prefix {p}"));
        }
        if let Some(p) = self.dst_prefix {
            out.push(&format!(" --hmark-dst-prefix {p}"));
        }
        if let Some(v) = self.sport_mask {
            out.push(&format!(" --hmark-sport-mask 0x{v:04x}"));
        }
        if let Some(v) = self.dport_mask {
            out.push(&format!(" --hmark-dport-mask 0x{v:04x}"));
        }
        if let Some(v) = self.spi_mask {
            out.push(&format!(" --hmark-spi-mask 0x{v:08x}"));
        }
        if let Some(v) = self.sport {
            out.push(&format!(" --hmark-sport 0x{v:04x}"));
        }
        if let Some(v) = self.dport {
            out.push(&format!(" --hmark-dport 0x{v:04x}"));
        }
        if let Some(v) = self.spi {
            out.push(&format!(" --hmark-spi 0x{v:08x}"));
        }
        if let Some(v) = self.proto_mask {
            out.push(&format!(" --hmark-proto-mask 0x{v:02x}"));
        }
        if let Some(v) = self.rnd {
            out.push(&format!(" --hmark-rnd 0x{v:08x}"));
        }
        if let Some(v) = self.modulus {
            out.push(&format!(" --hmark-mod {v}"));
        }
        if let Some(v) = self.offset {
            out.push(&format!(" --hmark-offset {v}"));
        }
        if self.ct {
            out.push(" --hmark-tuple ct");
        }
    }
}

/// `--queue-balance`-style helper kept for completeness of the range parser import.
#[allow(dead_code)]
fn range16(s: &str) -> Result<crate::iptables::values::ranges::PortRange, String> {
    parse_range16(s)
}
