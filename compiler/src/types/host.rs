//! Host-side identifiers: TC class ids (`meta priority 1:1234`), interface indexes
//! (`iif "lo"`), users and groups (`meta skuid "root"`).
//!
//! nft asks the running host (`if_nametoindex`, `getpwnam`); a compiler must not, so we know
//! what every Linux host agrees on: `lo` is interface 1, and the base users and groups of a
//! stock Debian system (base-passwd). Anything else must be given as a number — or, for
//! interfaces, be one of the host's that the caller names with [`with_interfaces`] (the
//! host model `eval` and `run` load a ruleset for).

use std::cell::RefCell;

use super::value::Value;
use super::{PrintOpts, Type, TypeError};

const TC_H_ROOT: u32 = 0xffff_ffff;
const TC_H_UNSPEC: u32 = 0;

/// `root`, `none`, `major:minor` (hex) or a plain number.
pub(super) fn parse_classid(text: &str) -> Result<u128, TypeError> {
    let err = || TypeError::new("Could not parse TC classid");
    match text {
        "root" => return Ok(u128::from(TC_H_ROOT)),
        "none" => return Ok(u128::from(TC_H_UNSPEC)),
        _ => {}
    }
    if let Some((major, minor)) = text.split_once(':') {
        let major = u32::from_str_radix(major, 16).map_err(|_| err())?;
        let minor = if minor.is_empty() { 0 } else { u32::from_str_radix(minor, 16).map_err(|_| err())? };
        if major > 0xffff || minor > 0xffff {
            return Err(err());
        }
        return Ok(u128::from(major << 16 | minor));
    }
    super::integer::parse_number(text).filter(|n| *n <= u128::from(u32::MAX)).ok_or_else(err)
}

pub(super) fn print_classid(value: &Value) -> String {
    match value.to_u64().and_then(|n| u32::try_from(n).ok()) {
        Some(TC_H_ROOT) => "root".to_string(),
        Some(TC_H_UNSPEC) => "none".to_string(),
        Some(h) => format!("{:x}:{:x}", h >> 16, h & 0xffff),
        None => super::integer::print_hex(value, 0),
    }
}

/// Interfaces every host has, by index.
static INTERFACES: &[(&str, u32)] = &[("lo", 1)];

thread_local! {
    /// The interfaces of the host a ruleset is being loaded for (see [`with_interfaces`]).
    static HOST_INTERFACES: RefCell<Vec<(String, u32)>> = const { RefCell::new(Vec::new()) };
}

/// Puts the previous interface list back when a [`with_interfaces`] scope ends (also on
/// unwinding).
struct Restore(Vec<(String, u32)>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.0);
        HOST_INTERFACES.with(|h| *h.borrow_mut() = previous);
    }
}

/// Runs `f` (loading, evaluating, generating code for a ruleset) with the interfaces of
/// the host the ruleset is for known by name and index, as nft resolves `iif "eth0"` on
/// the running host when it adds the rule. `lo` is always interface 1. The names are
/// known on this thread until `f` returns.
pub fn with_interfaces<R>(interfaces: &[(String, u32)], f: impl FnOnce() -> R) -> R {
    let previous = HOST_INTERFACES.with(|h| std::mem::replace(&mut *h.borrow_mut(), interfaces.to_vec()));
    let _restore = Restore(previous);
    f()
}

fn host_interface_index(name: &str) -> Option<u32> {
    HOST_INTERFACES.with(|h| h.borrow().iter().find(|(n, _)| n == name).map(|(_, i)| *i))
}

fn host_interface_name(index: u64) -> Option<String> {
    HOST_INTERFACES.with(|h| h.borrow().iter().find(|(_, i)| u64::from(*i) == index).map(|(n, _)| n.clone()))
}

pub(super) fn parse_ifindex(text: &str) -> Result<u128, TypeError> {
    if let Some(&(_, idx)) = INTERFACES.iter().find(|(n, _)| *n == text) {
        return Ok(u128::from(idx));
    }
    if let Some(idx) = host_interface_index(text) {
        return Ok(u128::from(idx));
    }
    text.parse::<u32>()
        .ok()
        .filter(|n| *n <= i32::MAX as u32)
        .map(u128::from)
        .ok_or_else(|| TypeError::new("Interface does not exist"))
}

pub(super) fn print_ifindex(value: &Value) -> String {
    let idx = value.to_u64().unwrap_or(0);
    match INTERFACES.iter().find(|&&(_, i)| u64::from(i) == idx) {
        Some((name, _)) => format!("\"{name}\""),
        None => host_interface_name(idx).map_or_else(|| idx.to_string(), |name| format!("\"{name}\"")),
    }
}

/// Users of a stock Debian system (base-passwd).
pub static USERS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("nobody", 65534),
];

/// Groups of a stock Debian system (base-passwd).
pub static GROUPS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

fn table_for(ty: Type) -> &'static [(&'static str, u32)] {
    if ty == Type::Gid { GROUPS } else { USERS }
}

pub(super) fn parse_uid(ty: Type, text: &str) -> Result<u128, TypeError> {
    if let Some(&(_, id)) = table_for(ty).iter().find(|(n, _)| *n == text) {
        return Ok(u128::from(id));
    }
    let missing = if ty == Type::Gid { "Group does not exist" } else { "User does not exist" };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TypeError::new(missing));
    }
    match text.parse::<u32>() {
        Ok(n) => Ok(u128::from(n)),
        Err(_) => Err(TypeError::new("Value too large")),
    }
}

pub(super) fn print_uid(ty: Type, value: &Value, opts: &PrintOpts) -> String {
    let id = value.to_u64().unwrap_or(0);
    if opts.guid_names
        && let Some((name, _)) = table_for(ty).iter().find(|&&(_, i)| u64::from(i) == id)
    {
        return format!("\"{name}\"");
    }
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classids() {
        let o = PrintOpts::default();
        for (text, printed) in [
            ("root", "root"),
            ("none", "none"),
            ("1:1234", "1:1234"),
            ("bcad:dadc", "bcad:dadc"),
            ("aabb:0", "aabb:0"),
            ("2271560481", "8765:4321"),
        ] {
            let v = Type::ClassId.parse(text).unwrap();
            assert_eq!(Type::ClassId.print(&v, &o), printed);
        }
        assert!(Type::ClassId.parse("xyz:1").is_err());
        assert!(Type::ClassId.parse("10000:1").is_err());
    }

    #[test]
    fn interfaces_and_users() {
        let o = PrintOpts::default();
        let lo = Type::IfIndex.parse("lo").unwrap();
        assert_eq!(Type::IfIndex.print(&lo, &o), "\"lo\"");
        assert_eq!(Type::IfIndex.parse("eth99").unwrap_err().message, "Interface does not exist");
        let host = [("eth99".to_string(), 7)];
        let seven = super::with_interfaces(&host, || Type::IfIndex.parse("eth99")).expect("a host interface");
        assert_eq!(seven.to_u64(), Some(7));
        assert!(Type::IfIndex.parse("eth99").is_err(), "known only inside the scope");
        assert_eq!(Type::Uid.parse("bin").unwrap().to_u128(), Some(2));
        assert_eq!(Type::Gid.parse("daemon").unwrap().to_u128(), Some(1));
        assert_eq!(Type::Uid.parse("nosuchuser").unwrap_err().message, "User does not exist");
        assert_eq!(Type::Gid.parse("99999999999").unwrap_err().message, "Value too large");
        let named = PrintOpts { guid_names: true, ..o };
        assert_eq!(Type::Uid.print(&Type::Uid.parse("0").unwrap(), &named), "\"root\"");
    }

    #[test]
    fn base_accounts_agree_with_the_host() {
        // /etc/passwd and /etc/group of this machine are an oracle for the base accounts.
        for (path, table) in [("/etc/passwd", USERS), ("/etc/group", GROUPS)] {
            let Ok(text) = std::fs::read_to_string(path) else { continue };
            for line in text.lines() {
                let f: Vec<&str> = line.split(':').collect();
                let (Some(name), Some(id)) = (f.first(), f.get(2)) else { continue };
                if let (Some(&(_, ours)), Ok(id)) = (table.iter().find(|(n, _)| n == name), id.parse::<u32>())
                {
                    assert_eq!(ours, id, "{path}: {name}");
                }
            }
        }
    }
}
