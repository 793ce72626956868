//! `set`: membership of address/port tuples in an ipset. The set must exist when the rule is
//! loaded: nftvm knows the sets of the ipset file given with `--ipset FILE`
//! ([`crate::ipset`]).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;

/// Does set `name` exist for a rule of `cx`'s family? iptables refuses a set of addresses
/// of the other family (the `set` match and the `SET` target alike).
pub fn check_exists(name: &str, cx: &LoadCx<'_>) -> Result<(), String> {
    let Some(set) = cx.ipsets.get(name) else {
        return Err(format!("Set {name} doesn't exist (give the ipset file with --ipset FILE)"));
    };
    let v6 = set.family == crate::ipset::AddrFamily::V6;
    if set.has_addresses() && v6 != (cx.family == crate::iptables::Family::Ipv6) {
        let fam = if v6 { "IPv6" } else { "IPv4" };
        return Err(format!("The protocol family of set {name} is {fam}, which is not applicable."));
    }
    Ok(())
}

/// Which packet fields form the lookup key, in order (`src` / `dst`), up to 6.
pub fn parse_set_dims(s: &str) -> Result<Vec<bool>, String> {
    let mut out = Vec::new();
    for d in s.split(',') {
        match d {
            "src" => out.push(true),
            "dst" => out.push(false),
            _ => {
                return Err(format!(
                    "You must specify (the comma separated list of) 'src' or 'dst', got \"{d}\""
                ));
            }
        }
    }
    if out.len() > 6 {
        return Err("Can't be more src/dst options than 6".into());
    }
    Ok(out)
}

/// Rendering of a dimension list (`src,dst`).
pub fn format_set_dims(d: &[bool]) -> String {
    d.iter().map(|&s| if s { "src" } else { "dst" }).collect::<Vec<_>>().join(",")
}

/// Counter comparisons of revision 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CounterCmp {
    Eq,
    Ne,
    Lt,
    Gt,
}

/// The set match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetMatch {
    pub name: String,
    /// `true` = src for each dimension.
    pub dims: Vec<bool>,
    pub invert: bool,
    pub return_nomatch: bool,
    /// `! --update-counters`.
    pub no_update_counters: bool,
    /// `! --update-subcounters`.
    pub no_update_subcounters: bool,
    pub packets: Option<(CounterCmp, u64)>,
    pub bytes: Option<(CounterCmp, u64)>,
}

static OPTS: [OptSpec; 11] = [
    OptSpec::arg("match-set", 0).inv(),
    OptSpec::arg("set", 0).inv(),
    OptSpec::flag("return-nomatch", 1),
    OptSpec::flag("update-counters", 2).inv(),
    OptSpec::flag("update-subcounters", 3).inv(),
    OptSpec::arg("packets-eq", 4).inv(),
    OptSpec::arg("packets-lt", 4),
    OptSpec::arg("packets-gt", 4),
    OptSpec::arg("bytes-eq", 5).inv(),
    OptSpec::arg("bytes-lt", 5),
    OptSpec::arg("bytes-gt", 5),
];

fn counter(call: &OptCall<'_>) -> Result<(CounterCmp, u64), String> {
    let v = crate::iptables::values::num::parse_uint(call.arg, 0, u64::MAX)
        .ok_or_else(|| format!("bad value for option \"--{}\"", call.spec.name))?;
    let cmp = match (call.spec.name.rsplit('-').next(), call.invert) {
        (Some("eq"), false) => CounterCmp::Eq,
        (Some("eq"), true) => CounterCmp::Ne,
        (Some("lt"), _) => CounterCmp::Lt,
        _ => CounterCmp::Gt,
    };
    Ok((cmp, v))
}

impl Extension for SetMatch {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => {
                if call.arg.len() >= 32 {
                    return Err(format!("setname `{}' too long, max 31 characters", call.arg));
                }
                let dims = call.take_word().ok_or("--match-set requires two args: NAME FLAGS")?;
                self.name = call.arg.to_string();
                self.dims = parse_set_dims(dims)?;
                self.invert = call.invert;
            }
            1 => self.return_nomatch = true,
            2 => self.no_update_counters = call.invert,
            3 => self.no_update_subcounters = call.invert,
            4 => self.packets = Some(counter(call)?),
            _ => self.bytes = Some(counter(call)?),
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &crate::iptables::ext::ParseCx<'_>) -> Result<(), String> {
        if seen & 1 == 0 {
            return Err("You must specify `--match-set' with proper arguments".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt(self.invert, "match-set");
        out.push(&format!(" {} {}", self.name, format_set_dims(&self.dims)));
        if self.return_nomatch {
            out.push(" --return-nomatch");
        }
        if self.no_update_counters {
            out.push(" ! --update-counters");
        }
        if self.no_update_subcounters {
            out.push(" ! --update-subcounters");
        }
        for (what, c) in [("packets", self.packets), ("bytes", self.bytes)] {
            if let Some((cmp, v)) = c {
                let (bang, op) = match cmp {
                    CounterCmp::Eq => ("", "eq"),
                    CounterCmp::Ne => (" !", "eq"),
                    CounterCmp::Lt => ("", "lt"),
                    CounterCmp::Gt => ("", "gt"),
                };
                out.push(&format!("{bang} --{what}-{op} {v}"));
            }
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        check_exists(&self.name, cx)
    }
}
