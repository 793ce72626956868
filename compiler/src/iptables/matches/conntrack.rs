//! `conntrack` (connection tracking state, status, tuple, expiry, direction) and its older
//! subset `state` (`--state`).

use crate::iptables::Family;
use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx};
use crate::iptables::ip::Inv;
use crate::iptables::parse::parse_protocol;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{AddrMask, parse_host_mask};
use crate::iptables::values::names::is_ci_prefix;
use crate::iptables::values::ranges::{PortRange, Range64, parse_port_range_gai, parse_range64};

/// Conntrack states as the xt_conntrack/xt_state ABI numbers them (these are *not* nft's
/// `ct state` bits: UNTRACKED is 1<<8 here, 1<<6 in nft; SNAT/DNAT are ct status in nft).
pub mod ct_state {
    pub const INVALID: u16 = 1 << 0;
    pub const ESTABLISHED: u16 = 1 << 1;
    pub const RELATED: u16 = 1 << 2;
    pub const NEW: u16 = 1 << 3;
    pub const SNAT: u16 = 1 << 6;
    pub const DNAT: u16 = 1 << 7;
    pub const UNTRACKED: u16 = 1 << 8;
}

/// Parse order (first prefix match wins) and print order differ: both as iptables has them.
const STATE_PARSE: &[(&str, u16)] = &[
    ("INVALID", ct_state::INVALID),
    ("NEW", ct_state::NEW),
    ("ESTABLISHED", ct_state::ESTABLISHED),
    ("RELATED", ct_state::RELATED),
    ("UNTRACKED", ct_state::UNTRACKED),
    ("SNAT", ct_state::SNAT),
    ("DNAT", ct_state::DNAT),
];
const STATE_PRINT: &[(&str, u16)] = &[
    ("INVALID", ct_state::INVALID),
    ("NEW", ct_state::NEW),
    ("RELATED", ct_state::RELATED),
    ("ESTABLISHED", ct_state::ESTABLISHED),
    ("UNTRACKED", ct_state::UNTRACKED),
    ("SNAT", ct_state::SNAT),
    ("DNAT", ct_state::DNAT),
];

/// Conntrack status bits (`IPS_*`, same numbers as the kernel and nft).
pub mod ct_status {
    pub const EXPECTED: u16 = 1 << 0;
    pub const SEEN_REPLY: u16 = 1 << 1;
    pub const ASSURED: u16 = 1 << 2;
    pub const CONFIRMED: u16 = 1 << 3;
}
const STATUS_PARSE: &[(&str, u16)] = &[
    ("NONE", 0),
    ("EXPECTED", ct_status::EXPECTED),
    ("SEEN_REPLY", ct_status::SEEN_REPLY),
    ("ASSURED", ct_status::ASSURED),
    ("CONFIRMED", ct_status::CONFIRMED),
];

/// `A,B,…` where each token is a case-insensitive prefix of a name (`strncasecmp`).
fn parse_prefix_list(arg: &str, table: &[(&str, u16)], what: &str, with_states: bool) -> Result<u16, String> {
    let mut mask = 0;
    let tokens: Vec<&str> = arg.split(',').collect();
    for (i, tok) in tokens.iter().enumerate() {
        if tok.is_empty() && i + 1 == tokens.len() && i > 0 && with_states {
            return Err(format!(
                "\"--{what}\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED"
            ));
        }
        let bit = table.iter().find(|(name, _)| is_ci_prefix(tok, name)).map(|&(_, b)| b);
        match bit {
            Some(b) => mask |= b,
            None => {
                let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                return Err(format!("Bad {what} \"{tok}\": expecting {}", names.join(", ")));
            }
        }
    }
    Ok(mask)
}

/// `INVALID,NEW,…` in iptables' print order.
pub fn format_states(mask: u16) -> String {
    STATE_PRINT.iter().filter(|(_, b)| mask & b != 0).map(|(n, _)| *n).collect::<Vec<_>>().join(",")
}

/// `EXPECTED,…` or `NONE`.
pub fn format_status(mask: u16) -> String {
    let names: Vec<&str> =
        STATUS_PARSE.iter().filter(|(_, b)| *b != 0 && mask & b != 0).map(|(n, _)| *n).collect();
    if names.is_empty() { "NONE".into() } else { names.join(",") }
}

/// Direction of the packet relative to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtDir {
    Original,
    Reply,
}

/// The conntrack match; each `Some` field is one option given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conntrack {
    /// `--ctstate` ([`ct_state`] bits).
    pub state: Option<Inv<u16>>,
    /// `--ctproto` (never 0).
    pub proto: Option<Inv<u8>>,
    /// `--ctorigsrc` etc.: address and mask; the address is kept as written, not masked.
    pub orig_src: Option<Inv<AddrMask>>,
    pub orig_dst: Option<Inv<AddrMask>>,
    pub repl_src: Option<Inv<AddrMask>>,
    pub repl_dst: Option<Inv<AddrMask>>,
    pub orig_src_port: Option<Inv<PortRange>>,
    pub orig_dst_port: Option<Inv<PortRange>>,
    pub repl_src_port: Option<Inv<PortRange>>,
    pub repl_dst_port: Option<Inv<PortRange>>,
    /// `--ctstatus` ([`ct_status`] bits; 0 is `NONE`).
    pub status: Option<Inv<u16>>,
    /// `--ctexpire` in seconds.
    pub expire: Option<Inv<Range64>>,
    pub dir: Option<CtDir>,
}

const O_STATE: u8 = 0;
const O_PROTO: u8 = 1;
const O_ORIGSRC: u8 = 2;
const O_ORIGDST: u8 = 3;
const O_REPLSRC: u8 = 4;
const O_REPLDST: u8 = 5;
const O_ORIGSRCPORT: u8 = 6;
const O_ORIGDSTPORT: u8 = 7;
const O_REPLSRCPORT: u8 = 8;
const O_REPLDSTPORT: u8 = 9;
const O_STATUS: u8 = 10;
const O_EXPIRE: u8 = 11;
const O_DIR: u8 = 12;

static CONNTRACK_OPTS: [OptSpec; 13] = [
    OptSpec::arg("ctstate", O_STATE).inv(),
    OptSpec::arg("ctproto", O_PROTO).inv(),
    OptSpec::arg("ctorigsrc", O_ORIGSRC).inv(),
    OptSpec::arg("ctorigdst", O_ORIGDST).inv(),
    OptSpec::arg("ctreplsrc", O_REPLSRC).inv(),
    OptSpec::arg("ctrepldst", O_REPLDST).inv(),
    OptSpec::arg("ctstatus", O_STATUS).inv(),
    OptSpec::arg("ctexpire", O_EXPIRE).inv(),
    OptSpec::arg("ctorigsrcport", O_ORIGSRCPORT).inv(),
    OptSpec::arg("ctorigdstport", O_ORIGDSTPORT).inv(),
    OptSpec::arg("ctreplsrcport", O_REPLSRCPORT).inv(),
    OptSpec::arg("ctrepldstport", O_REPLDSTPORT).inv(),
    OptSpec::arg("ctdir", O_DIR),
];

fn save_addr(out: &mut SaveBuf, name: &str, a: &Option<Inv<AddrMask>>) {
    if let Some(a) = a {
        out.opt_val(a.invert, name, a.value.numeric_form());
    }
}

fn save_port(out: &mut SaveBuf, name: &str, p: &Option<Inv<PortRange>>) {
    if let Some(p) = p {
        out.opt_val(p.invert, name, p.value);
    }
}

impl Extension for Conntrack {
    fn options(&self) -> &'static [OptSpec] {
        &CONNTRACK_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let inv = call.invert;
        let fam: Family = call.family();
        let a = call.arg;
        match call.spec.id {
            O_STATE => self.state = Some(Inv::new(parse_prefix_list(a, STATE_PARSE, "ctstate", true)?, inv)),
            O_PROTO => {
                let p = parse_protocol(a).ok_or_else(|| format!("unknown protocol \"{a}\" specified"))?;
                if p == 0 {
                    return Err(if inv {
                        "condition would always match protocol".into()
                    } else {
                        "rule would never match protocol".into()
                    });
                }
                self.proto = Some(Inv::new(p, inv));
            }
            O_ORIGSRC => self.orig_src = Some(Inv::new(parse_host_mask(a, fam)?, inv)),
            O_ORIGDST => self.orig_dst = Some(Inv::new(parse_host_mask(a, fam)?, inv)),
            O_REPLSRC => self.repl_src = Some(Inv::new(parse_host_mask(a, fam)?, inv)),
            O_REPLDST => self.repl_dst = Some(Inv::new(parse_host_mask(a, fam)?, inv)),
            O_ORIGSRCPORT => self.orig_src_port = Some(Inv::new(parse_port_range_gai(a)?, inv)),
            O_ORIGDSTPORT => self.orig_dst_port = Some(Inv::new(parse_port_range_gai(a)?, inv)),
            O_REPLSRCPORT => self.repl_src_port = Some(Inv::new(parse_port_range_gai(a)?, inv)),
            O_REPLDSTPORT => self.repl_dst_port = Some(Inv::new(parse_port_range_gai(a)?, inv)),
            O_STATUS => {
                self.status = Some(Inv::new(parse_prefix_list(a, STATUS_PARSE, "ctstatus", false)?, inv))
            }
            O_EXPIRE => self.expire = Some(Inv::new(parse_range64(a, 0, u32::MAX as u64)?, inv)),
            _ => {
                self.dir = Some(if a.eq_ignore_ascii_case("ORIGINAL") {
                    CtDir::Original
                } else if a.eq_ignore_ascii_case("REPLY") {
                    CtDir::Reply
                } else {
                    return Err(format!(
                        "Bad value for \"--ctdir\" option: \"{a}\", expecting ORIGINAL or REPLY"
                    ));
                });
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("At least one option is required".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        if let Some(s) = &self.state {
            out.opt_val(s.invert, "ctstate", format_states(s.value));
        }
        if let Some(p) = &self.proto {
            out.opt_val(p.invert, "ctproto", p.value);
        }
        save_addr(out, "ctorigsrc", &self.orig_src);
        save_addr(out, "ctorigdst", &self.orig_dst);
        save_addr(out, "ctreplsrc", &self.repl_src);
        save_addr(out, "ctrepldst", &self.repl_dst);
        save_port(out, "ctorigsrcport", &self.orig_src_port);
        save_port(out, "ctorigdstport", &self.orig_dst_port);
        save_port(out, "ctreplsrcport", &self.repl_src_port);
        save_port(out, "ctrepldstport", &self.repl_dst_port);
        if let Some(s) = &self.status {
            out.opt_val(s.invert, "ctstatus", format_status(s.value));
        }
        if let Some(e) = &self.expire {
            out.opt_val(e.invert, "ctexpire", e.value);
        }
        match self.dir {
            Some(CtDir::Original) => out.push(" --ctdir ORIGINAL"),
            Some(CtDir::Reply) => out.push(" --ctdir REPLY"),
            None => {}
        }
    }
}

/// The state match: `[!] --state STATES` (a conntrack state test).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// [`ct_state`] bits (no SNAT/DNAT here).
    pub states: Inv<u16>,
}

static STATE_OPTS: [OptSpec; 1] = [OptSpec::arg("state", 0).inv().mand()];

impl Extension for State {
    fn options(&self) -> &'static [OptSpec] {
        &STATE_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let mask = parse_prefix_list(call.arg, &STATE_PARSE[..5], "state", true)?;
        self.states = Inv::new(mask, call.invert);
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.states.invert, "state", format_states(self.states.value));
    }
}
