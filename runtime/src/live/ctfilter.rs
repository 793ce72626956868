//! The `conntrack` tool's command line, as far as nftvm serves it: the action (`-L`, `-E`,
//! `-D`, `-F`, `-C`, `-S`) and the filters that select entries (`-p`, `-s`, `-d`, `-r`,
//! `-q`, `--sport`, `--dport`, `--reply-port-src`, `--reply-port-dst`, `--state`, `-m`,
//! `--zone`, `-f`, `--src-nat`, `--dst-nat`, `--any-nat`, `--id`, `-e` for events), with
//! conntrack-tools' option names and meanings. Also the per-shard dump and delete that the
//! workers run with a filter.

use std::net::IpAddr;

use nftvm_vm::keys::ct_status as st;

use crate::conntrack::format;
use crate::conntrack::tuple::{addr_bits, proto};
use crate::conntrack::{Conn, Conntrack, Event, EventKind, L3, Time, Tuple};

/// What the command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    List,
    Events,
    Delete,
    Flush,
    Count,
    Stats,
}

/// Entry selection (every given criterion must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtFilter {
    pub family: Option<L3>,
    pub proto: Option<u8>,
    pub orig_src: Option<IpAddr>,
    pub orig_dst: Option<IpAddr>,
    pub reply_src: Option<IpAddr>,
    pub reply_dst: Option<IpAddr>,
    pub orig_sport: Option<u16>,
    pub orig_dport: Option<u16>,
    pub reply_sport: Option<u16>,
    pub reply_dport: Option<u16>,
    /// TCP state name (`ESTABLISHED`, `TIME_WAIT` …), upper case.
    pub state: Option<String>,
    /// Mark value and mask.
    pub mark: Option<(u32, u32)>,
    pub zone: Option<u16>,
    pub id: Option<u32>,
    pub src_nat: bool,
    pub dst_nat: bool,
    pub any_nat: bool,
    /// `-e NEW,UPDATE,DESTROY` (events only; empty = all).
    pub event_kinds: Vec<EventKind>,
}

/// A parsed `conntrack` command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtCommand {
    pub action: Action,
    pub filter: CtFilter,
}

fn protocol(name: &str) -> Result<u8, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "tcp" => proto::TCP,
        "udp" => proto::UDP,
        "udplite" => proto::UDPLITE,
        "icmp" => proto::ICMP,
        "icmpv6" | "ipv6-icmp" => proto::ICMPV6,
        "sctp" => proto::SCTP,
        "gre" => proto::GRE,
        "dccp" => 33,
        other => other.parse().map_err(|_| format!("unknown protocol `{name}`"))?,
    })
}

fn number<T: std::str::FromStr>(opt: &str, v: &str) -> Result<T, String> {
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok().and_then(|n| n.to_string().parse().ok()),
        None => v.parse().ok(),
    };
    parsed.ok_or_else(|| format!("{opt}: bad value `{v}`"))
}

impl CtCommand {
    /// Parses conntrack's arguments (without the program name).
    pub fn parse(args: &[String]) -> Result<CtCommand, String> {
        let mut action = None;
        let mut f = CtFilter::default();
        let mut it = args.iter();
        let set = |action: &mut Option<Action>, a: Action| -> Result<(), String> {
            match action {
                Some(b) if *b != a => Err("only one command may be given (-L, -E, -D, -F, -C, -S)".into()),
                _ => {
                    *action = Some(a);
                    Ok(())
                }
            }
        };
        while let Some(arg) = it.next() {
            let mut value = |name: &str| -> Result<String, String> {
                it.next().cloned().ok_or_else(|| format!("option `{name}' requires an argument"))
            };
            let addr = |s: String, name: &str| -> Result<IpAddr, String> {
                s.parse().map_err(|_| format!("{name}: bad address `{s}`"))
            };
            match arg.as_str() {
                "-L" | "--dump" => set(&mut action, Action::List)?,
                "-E" | "--event" => set(&mut action, Action::Events)?,
                "-D" | "--delete" => set(&mut action, Action::Delete)?,
                "-F" | "--flush" => set(&mut action, Action::Flush)?,
                "-C" | "--count" => set(&mut action, Action::Count)?,
                "-S" | "--stats" => set(&mut action, Action::Stats)?,
                "conntrack" | "table" => {}
                "-p" | "--proto" => f.proto = Some(protocol(&value(arg)?)?),
                "-s" | "--src" | "--orig-src" => f.orig_src = Some(addr(value(arg)?, arg)?),
                "-d" | "--dst" | "--orig-dst" => f.orig_dst = Some(addr(value(arg)?, arg)?),
                "-r" | "--reply-src" => f.reply_src = Some(addr(value(arg)?, arg)?),
                "-q" | "--reply-dst" => f.reply_dst = Some(addr(value(arg)?, arg)?),
                "--sport" | "--orig-port-src" => f.orig_sport = Some(number(arg, &value(arg)?)?),
                "--dport" | "--orig-port-dst" => f.orig_dport = Some(number(arg, &value(arg)?)?),
                "--reply-port-src" => f.reply_sport = Some(number(arg, &value(arg)?)?),
                "--reply-port-dst" => f.reply_dport = Some(number(arg, &value(arg)?)?),
                "--state" => f.state = Some(value(arg)?.to_ascii_uppercase()),
                "-m" | "--mark" => {
                    let v = value(arg)?;
                    let (m, mask) = match v.split_once('/') {
                        Some((m, mask)) => (number(arg, m)?, number(arg, mask)?),
                        None => (number(arg, &v)?, u32::MAX),
                    };
                    f.mark = Some((m, mask));
                }
                "-w" | "--zone" => f.zone = Some(number(arg, &value(arg)?)?),
                "-i" | "--id" => f.id = Some(number(arg, &value(arg)?)?),
                "-f" | "--family" => {
                    f.family = Some(match value(arg)?.as_str() {
                        "ipv4" => L3::Ipv4,
                        "ipv6" => L3::Ipv6,
                        other => return Err(format!("unknown family `{other}` (ipv4, ipv6)")),
                    })
                }
                "-n" | "--src-nat" => f.src_nat = true,
                "-g" | "--dst-nat" => f.dst_nat = true,
                "-j" | "--any-nat" => f.any_nat = true,
                "-e" | "--event-mask" => {
                    for kind in value(arg)?.split(',') {
                        f.event_kinds.push(match kind.to_ascii_uppercase().as_str() {
                            "NEW" => EventKind::New,
                            "UPDATE" => EventKind::Update,
                            "DESTROY" => EventKind::Destroy,
                            "ALL" => continue,
                            other => return Err(format!("unknown event type `{other}`")),
                        });
                    }
                }
                other => return Err(format!("unknown option `{other}'")),
            }
        }
        let action = action.ok_or("no command given (-L, -E, -D, -F, -C or -S)")?;
        Ok(CtCommand { action, filter: f })
    }
}

fn addr_matches(want: Option<IpAddr>, t: &Tuple, src: bool) -> bool {
    want.is_none_or(|a| L3::of(a) == t.l3 && addr_bits(a) == if src { t.src } else { t.dst })
}

fn port_matches(want: Option<u16>, t: &Tuple, src: bool) -> bool {
    want.is_none_or(|p| !t.is_icmp() && p == if src { t.src_id } else { t.dst_id })
}

impl CtFilter {
    fn matches_parts(&self, orig: &Tuple, reply: &Tuple, status: u32, mark: u32, zone: u16, id: u32) -> bool {
        self.family.is_none_or(|f| f == orig.l3)
            && self.proto.is_none_or(|p| p == orig.proto)
            && addr_matches(self.orig_src, orig, true)
            && addr_matches(self.orig_dst, orig, false)
            && addr_matches(self.reply_src, reply, true)
            && addr_matches(self.reply_dst, reply, false)
            && port_matches(self.orig_sport, orig, true)
            && port_matches(self.orig_dport, orig, false)
            && port_matches(self.reply_sport, reply, true)
            && port_matches(self.reply_dport, reply, false)
            && self.mark.is_none_or(|(m, mask)| mark & mask == m)
            && self.zone.is_none_or(|z| z == zone)
            && self.id.is_none_or(|i| i == id)
            && (!self.src_nat || status & st::SRC_NAT != 0)
            && (!self.dst_nat || status & st::DST_NAT != 0)
            && (!self.any_nat || status & (st::SRC_NAT | st::DST_NAT) != 0)
    }

    /// Does an entry pass the filter?
    pub fn matches(&self, c: &Conn) -> bool {
        self.matches_parts(c.original(), c.reply(), c.status, c.mark, c.zone, c.id)
            && self.state.as_deref().is_none_or(|s| c.tcp_state().is_some_and(|t| t.name() == s))
    }

    /// Does an event pass the filter (`-e` included)?
    pub fn matches_event(&self, e: &Event) -> bool {
        (self.event_kinds.is_empty() || self.event_kinds.contains(&e.kind))
            && self.matches_parts(&e.original, &e.reply, e.status, e.mark, e.zone, e.id)
            && self.state.as_deref().is_none_or(|s| e.line.contains(&format!(" {s} ")))
    }
}

/// `conntrack -L` lines of the entries of `ct` that pass `f`.
pub fn dump(ct: &Conntrack, now: Time, f: &CtFilter) -> Vec<String> {
    let mut children: hashbrown::HashMap<crate::conntrack::ConnId, usize> = hashbrown::HashMap::default();
    for (_, c) in ct.iter() {
        if let Some(m) = c.master() {
            *children.entry(m).or_default() += 1;
        }
    }
    ct.iter()
        .filter(|(_, c)| !c.expired(now) && f.matches(c))
        .map(|(id, c)| {
            format::conn_line_use(c, now, ct.format_options(), 1 + children.get(&id).copied().unwrap_or(0))
        })
        .collect()
}

/// `conntrack -D`: deletes the entries that pass `f`; their lines as `-L` shows them.
pub fn delete(ct: &mut Conntrack, now: Time, f: &CtFilter) -> Vec<String> {
    let victims: Vec<_> =
        ct.iter().filter(|(_, c)| !c.expired(now) && f.matches(c)).map(|(id, _)| id).collect();
    let mut lines = Vec::new();
    for id in victims {
        if let Some(c) = ct.get(id) {
            lines.push(format::conn_line(c, now, ct.format_options()));
        }
        ct.delete(id);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_actions_and_filters_like_conntrack() {
        let c = CtCommand::parse(&args("-L -p tcp --dport 8080 --src-nat -s 10.0.1.2")).unwrap();
        assert_eq!(c.action, Action::List);
        assert_eq!(c.filter.proto, Some(6));
        assert_eq!(c.filter.orig_dport, Some(8080));
        assert!(c.filter.src_nat);
        assert_eq!(c.filter.orig_src, Some("10.0.1.2".parse().unwrap()));
        assert_eq!(CtCommand::parse(&args("-E -e NEW,DESTROY")).unwrap().filter.event_kinds.len(), 2);
        assert_eq!(CtCommand::parse(&args("-m 0x10/0xff -C")).unwrap().filter.mark, Some((16, 255)));
        assert!(CtCommand::parse(&args("-L -D")).is_err());
        assert!(CtCommand::parse(&args("-p")).is_err());
        assert!(CtCommand::parse(&args("--bogus")).is_err());
        assert!(CtCommand::parse(&args("-p tcp")).is_err());
    }
}
