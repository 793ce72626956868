//! `owner`: the local socket's user, group, or mere existence (OUTPUT and POSTROUTING only).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, hooks};
use crate::iptables::ip::Inv;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint_prefix;

/// Well-known user and group names resolved without a passwd database (`root` → 0).
fn name_to_id(s: &str) -> Option<u32> {
    (s == "root").then_some(0)
}

/// `ID`, `ID-ID`, `ID:ID` or a name (0 … 4294967294).
fn parse_id_range(s: &str, opt: &str) -> Result<(u32, u32), String> {
    if let Some(id) = name_to_id(s) {
        return Ok((id, id));
    }
    let bad = || format!("Bad value for \"--{opt}\" option: \"{s}\" (expecting a name, ID or ID-ID)");
    let (from, rest) = parse_uint_prefix(s, 0, u32::MAX as u64 - 1).ok_or_else(bad)?;
    let (to, rest) = match rest.chars().next() {
        Some('-' | ':') => parse_uint_prefix(&rest[1..], 0, u32::MAX as u64 - 1).ok_or_else(bad)?,
        _ => (from, rest),
    };
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok((from as u32, to as u32))
}

/// The owner match (revision 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<Inv<(u32, u32)>>,
    pub gid: Option<Inv<(u32, u32)>>,
    pub socket_exists: Option<bool>,
    /// `--suppl-groups`: also match supplementary groups.
    pub suppl_groups: bool,
}

static OPTS: [OptSpec; 4] = [
    OptSpec::arg("uid-owner", 0).inv(),
    OptSpec::arg("gid-owner", 1).inv(),
    OptSpec::flag("socket-exists", 2).inv(),
    OptSpec::flag("suppl-groups", 3),
];

fn fmt_range((a, b): (u32, u32)) -> String {
    if a == b { a.to_string() } else { format!("{a}-{b}") }
}

impl Extension for Owner {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.uid = Some(Inv::new(parse_id_range(call.arg, "uid-owner")?, call.invert)),
            1 => self.gid = Some(Inv::new(parse_id_range(call.arg, "gid-owner")?, call.invert)),
            2 => self.socket_exists = Some(call.invert),
            _ => {
                if self.gid.is_none() {
                    return Err(
                        "Bad value for \"--suppl-groups\" option: you need to use --gid-owner first".into()
                    );
                }
                self.suppl_groups = true;
            }
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("At least one of --uid-owner, --gid-owner or --socket-exists is required".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(inv) = self.socket_exists {
            out.opt(inv, "socket-exists");
        }
        if let Some(u) = &self.uid {
            out.opt_val(u.invert, "uid-owner", fmt_range(u.value));
        }
        if let Some(g) = &self.gid {
            out.opt_val(g.invert, "gid-owner", fmt_range(g.value));
        }
        if self.suppl_groups {
            out.push(" --suppl-groups");
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(hooks::OUT | hooks::POST, "owner match")
    }
}
