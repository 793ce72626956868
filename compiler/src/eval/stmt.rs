//! Statements other than matches and assignments: counters, limits, quotas, `last`,
//! `ct count`, `log`, `reject`, NAT, `queue`, `notrack`, `dup`, `fwd`, `tproxy`, `synproxy`,
//! dynamic set updates, meters, flow offload, option stripping, object references.

use super::rule::RuleCx;
use crate::ir::stmt::log_flags;
use crate::ir::{
    ConnLimit, Counter, DynSet, DynSetOp, Expr, ExprKind, Family, Last, Limit, Log, Meter, Nat, NatKind,
    ObjRef, ObjectType, Queue, Quota, Reject, RejectKind, Stmt, StmtKind, Synproxy, Tproxy,
};
use crate::types::{ByteOrder, Type, Value};
use nftvm_grammar::Span;
use nftvm_grammar::nft::ast::{self, Atom, AtomKind, Item, ItemKind};

/// Bytes per unit word.
fn byte_unit(word: &str) -> Option<u64> {
    match word {
        "bytes" => Some(1),
        "kbytes" => Some(1024),
        "mbytes" => Some(1024 * 1024),
        _ => None,
    }
}

impl RuleCx<'_> {
    /// Statements without selector runs of their own.
    pub(super) fn other_stmt(&mut self, s: &ast::Stmt) -> Option<()> {
        let span = s.span;
        let kind = match &s.kind {
            ast::StmtKind::Counter { .. }
            | ast::StmtKind::Limit(_)
            | ast::StmtKind::Quota(_)
            | ast::StmtKind::Last { .. }
            | ast::StmtKind::CtCount { .. } => return self.stateful_stmt(s).map(|st| self.push(st)),
            ast::StmtKind::Log(opts) => StmtKind::Log(self.log(opts, span)?),
            ast::StmtKind::Reject { with } => StmtKind::Reject(self.reject(with.as_ref(), span)?),
            ast::StmtKind::Nat(n) => StmtKind::Nat(self.nat(n, span)?),
            ast::StmtKind::Queue(opts) => StmtKind::Queue(self.queue(opts, span)?),
            ast::StmtKind::Notrack => StmtKind::Notrack,
            // netdev: `dup to DEVICE` (`nft_dup_netdev`), the device a name or a map to names.
            ast::StmtKind::Dup { to, device: None } if self.family == Family::Netdev => {
                let (to, rest) = split_value(to);
                let dev = self.device_target(&to)?;
                return self
                    .then_matches(Stmt::new(StmtKind::Dup { addr: None, dev: Some(dev) }).at(span), rest);
            }
            ast::StmtKind::Dup { to, device } => {
                let addr_shape = self.addr_shape(None, to.span)?;
                let (addr, rest) = self.assigned_value(to, &addr_shape)?;
                let (dev, rest) = match device {
                    Some(d) if rest.is_empty() => {
                        let (d, rest) = split_value(d);
                        (Some(self.device_value(&d)?), rest)
                    }
                    Some(_) => return self.fail(rest[0].span, "syntax error, unexpected value"),
                    None => (None, rest),
                };
                return self.then_matches(Stmt::new(StmtKind::Dup { addr: Some(addr), dev }).at(span), rest);
            }
            ast::StmtKind::Fwd { family, to, device } => {
                let fam = family.map(|f| super::commands::family(Some(f)));
                match device {
                    Some(d) => {
                        let shape = self.addr_shape(fam, to.span)?;
                        let addr = self.value_expr(to, &shape)?;
                        let dev = self.device_value(d)?;
                        StmtKind::Fwd { family: fam.or(self.network()), addr: Some(addr), dev }
                    }
                    None => {
                        let (to, rest) = split_value(to);
                        let dev = self.device_target(&to)?;
                        let fwd = Stmt::new(StmtKind::Fwd { family: None, addr: None, dev }).at(span);
                        return self.then_matches(fwd, rest);
                    }
                }
            }
            ast::StmtKind::Tproxy { family, addr, port } => {
                StmtKind::Tproxy(self.tproxy(*family, addr.as_ref(), port.as_ref(), span)?)
            }
            ast::StmtKind::Synproxy { name, options } => match name {
                Some(n) => StmtKind::ObjRef(self.objref(ObjectType::Synproxy, n)?),
                None => StmtKind::Synproxy(self.synproxy(options)?),
            },
            ast::StmtKind::DynSet { op, set, elem } => {
                StmtKind::DynSet(Box::new(self.dynset(*op, set, elem)?))
            }
            ast::StmtKind::Meter { name, size, elem } => {
                StmtKind::Meter(self.meter(name, size.as_ref(), elem)?)
            }
            ast::StmtKind::FlowOffload { flowtable, .. } => {
                if self.table.flowtable(&flowtable.text).is_none() {
                    return self.fail(flowtable.span, super::ENOENT);
                }
                StmtKind::FlowOffload { flowtable: flowtable.text.clone() }
            }
            ast::StmtKind::Reset(e) => {
                let (pre, x) = self.lhs(e)?;
                for p in pre {
                    self.push(p);
                }
                if !matches!(x.kind, ExprKind::Exthdr(_)) {
                    return self.fail(e.span, "reset only works with tcp options");
                }
                StmtKind::OptStrip(x)
            }
            ast::StmtKind::Xt(words) => {
                StmtKind::Xt(words.iter().map(|w| w.text.clone()).collect::<Vec<_>>().join(" "))
            }
            ast::StmtKind::Match(_)
            | ast::StmtKind::Set { .. }
            | ast::StmtKind::Verdict(_)
            | ast::StmtKind::Comment(_) => return Some(()),
        };
        self.push(Stmt::new(kind).at(span));
        Some(())
    }

    /// Counter, limit, quota, last and ct count (rules, set declarations and elements).
    pub(super) fn stateful_stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
        let kind = match &s.kind {
            ast::StmtKind::Counter { name: Some(n), .. } => {
                StmtKind::ObjRef(self.objref(ObjectType::Counter, n)?)
            }
            ast::StmtKind::Counter { name: None, packets, bytes } => {
                let p = match packets {
                    Some(a) => self.u64_atom(a)?,
                    None => 0,
                };
                let b = match bytes {
                    Some(a) => self.u64_atom(a)?,
                    None => 0,
                };
                StmtKind::Counter(Counter { packets: p, bytes: b })
            }
            ast::StmtKind::Limit(ast::Limit::Named(n)) => {
                StmtKind::ObjRef(self.objref(ObjectType::Limit, n)?)
            }
            ast::StmtKind::Limit(ast::Limit::Rate { over, amount, byte_unit: bu, per, burst }) => {
                StmtKind::Limit(self.limit(*over, amount, bu.as_ref(), per, burst.as_ref())?)
            }
            ast::StmtKind::Quota(ast::Quota::Named(n)) => {
                StmtKind::ObjRef(self.objref(ObjectType::Quota, n)?)
            }
            ast::StmtKind::Quota(ast::Quota::Limit { mode, amount, unit, used }) => {
                StmtKind::Quota(self.quota(mode.as_ref(), amount, unit.as_ref(), used.as_ref())?)
            }
            ast::StmtKind::Last { used } => {
                let used = match used {
                    None => None,
                    Some(a) if a.text == "never" => None,
                    Some(a) => Some(self.time_ms(a)?),
                };
                StmtKind::Last(Last { used })
            }
            ast::StmtKind::CtCount { over, count } => {
                let n = self.u32_atom(count)?;
                StmtKind::ConnLimit(ConnLimit { count: n, over: *over })
            }
            _ => return self.fail(s.span, "statement must be stateful"),
        };
        Some(Stmt::new(kind).at(s.span))
    }

    fn u64_atom(&mut self, a: &Atom) -> Option<u64> {
        match a.number() {
            Some(n) => Some(n),
            None => self.fail(a.span, format!("expected a number, got `{}`", a.text)),
        }
    }

    /// A byte amount with its unit word.
    fn bytes(&mut self, amount: &Atom, unit: Option<&Atom>) -> Option<u64> {
        let n = self.u64_atom(amount)?;
        let mult = match unit {
            None => 1,
            Some(u) => match byte_unit(&u.text) {
                Some(m) => m,
                None => return self.fail(u.span, format!("wrong rate format, unknown unit `{}`", u.text)),
            },
        };
        match n.checked_mul(mult) {
            Some(v) => Some(v),
            None => self.fail(amount.span, "value too large"),
        }
    }

    /// `limit rate [over] N[/unit | bytes-unit/unit] [burst M unit]`.
    pub(super) fn limit(
        &mut self,
        over: bool,
        amount: &Atom,
        bu: Option<&Atom>,
        per: &Atom,
        burst: Option<&(Atom, Option<Atom>)>,
    ) -> Option<Limit> {
        let Some(unit) = crate::ir::LimitUnit::from_word(&per.text) else {
            return self.fail(per.span, format!("wrong rate format, unknown time unit `{}`", per.text));
        };
        let bytes = bu.is_some();
        let rate = if bytes { self.bytes(amount, bu)? } else { self.u64_atom(amount)? };
        if rate == 0 {
            return self.fail(amount.span, "limit rate must be > 0");
        }
        let burst = match burst {
            None => {
                if bytes {
                    0
                } else {
                    5
                }
            }
            Some((n, u)) => {
                let is_packets = u.as_ref().is_none_or(|u| u.text == "packets");
                if is_packets == bytes {
                    let at = u.as_ref().map_or(n.span, |u| u.span);
                    return self.fail(at, "burst unit does not match the rate unit");
                }
                let v = if bytes { self.bytes(n, u.as_ref())? } else { self.u64_atom(n)? };
                match u32::try_from(v) {
                    Ok(v) => v,
                    Err(_) => return self.fail(n.span, "burst too large"),
                }
            }
        };
        Some(Limit { rate, unit: unit.seconds(), burst, bytes, over })
    }

    /// `quota [over|until] N unit [used M unit]`.
    pub(super) fn quota(
        &mut self,
        mode: Option<&Atom>,
        amount: &Atom,
        unit: Option<&Atom>,
        used: Option<&(Atom, Option<Atom>)>,
    ) -> Option<Quota> {
        let over = match mode {
            None => false,
            Some(m) if m.text == "over" => true,
            Some(m) if m.text == "until" => false,
            Some(m) => return self.fail(m.span, format!("unknown quota mode `{}`", m.text)),
        };
        let bytes = self.bytes(amount, unit)?;
        let used = match used {
            Some((n, u)) => self.bytes(n, u.as_ref())?,
            None => 0,
        };
        Some(Quota { bytes, used, over })
    }

    /// `counter name "x"`, `quota name …`, also through maps.
    pub(super) fn objref(&mut self, ty: ObjectType, name: &ast::Expr) -> Option<ObjRef> {
        let shape = Expr::new(ExprKind::CatchAll, Type::String, 256 * 8, ByteOrder::Host);
        let e = match &name.kind {
            ast::ExprKind::Map { kind, key, data } => {
                let (pre, k) = self.lhs(key)?;
                for p in pre {
                    self.push(p);
                }
                let (m, rest) = self.map_lookup(*kind, k, data, Some(&shape), name.span)?;
                if let Some(r) = rest.first() {
                    return self.fail(r.span, "syntax error, unexpected value after map");
                }
                m
            }
            _ => {
                let v = self.value_expr(name, &shape)?;
                let text = v.as_value().map(|v| v.to_str_lossy()).unwrap_or_default();
                if self.table.object(ty, &text).is_none() {
                    return self.fail(name.span, format!("Could not process rule: {}", super::ENOENT));
                }
                v
            }
        };
        Some(ObjRef { ty, name: e })
    }

    /// Object references written as assignments (`ct helper set "ftp"`, `meta secmark set
    /// "s"`). None when the target is not one of those.
    pub(super) fn objref_assignment(
        &mut self,
        items: &[Item],
        value: &ast::Expr,
        span: Span,
    ) -> Option<Option<()>> {
        let words: Vec<&str> = items
            .iter()
            .map(|i| match &i.kind {
                ItemKind::Atom(a) => a.text.as_str(),
                _ => "",
            })
            .collect();
        let (ty, n) = match words.as_slice() {
            [.., "ct", "helper"] => (ObjectType::CtHelper, 2),
            [.., "ct", "timeout"] => (ObjectType::CtTimeout, 2),
            [.., "ct", "expectation"] => (ObjectType::CtExpect, 2),
            [.., "meta", "secmark"] => (ObjectType::Secmark, 2),
            ["secmark"] => (ObjectType::Secmark, 1),
            _ => return None,
        };
        // `meta secmark set ct secmark` writes a value; only names are references.
        if let Some(v) = value.as_run()
            && super::runs::starts_selector(v)
        {
            return None;
        }
        // Matches written before the target.
        let before = &items[..items.len() - n];
        if !before.is_empty() && self.trailing_owned(before).is_none() {
            return Some(None);
        }
        // `ct helper set "ftp" tcp dport 21`: the name, then more matches.
        if let ast::ExprKind::Run(v) = &value.kind
            && v.len() > 1
        {
            let first = ast::Expr { kind: ast::ExprKind::Run(vec![v[0].clone()]), span: v[0].span };
            let Some(r) = self.objref(ty, &first) else { return Some(None) };
            self.push(Stmt::new(StmtKind::ObjRef(r)).at(span));
            return Some(self.trailing_owned(&v[1..]));
        }
        let Some(r) = self.objref(ty, value) else { return Some(None) };
        self.push(Stmt::new(StmtKind::ObjRef(r)).at(span));
        Some(Some(()))
    }

    /// Pushes `stmt`, then the matches written right after its value (`dup to "eth1" udp
    /// dport 53`: nft ends the statement with its value).
    fn then_matches(&mut self, stmt: Stmt, rest: &[Item]) -> Option<()> {
        self.push(stmt);
        self.trailing_owned(rest)
    }

    fn trailing_owned(&mut self, items: &[Item]) -> Option<()> {
        if items.is_empty() {
            return Some(());
        }
        let seg = match super::runs::segment(items, false) {
            Ok(s) => s,
            Err(d) => return self.fail(d.span, d.message),
        };
        for (sel, value) in &seg.pairs {
            let st = self.pair_match(sel, value, None)?;
            self.push(st);
        }
        if let Some(t) = seg.tail {
            return self.fail(t.span, "syntax error, expected a value");
        }
        Some(())
    }

    /// `log …`.
    fn log(&mut self, opts: &[ast::LogOption], span: Span) -> Option<Log> {
        let mut log = Log::default();
        let mut grouped = false;
        for o in opts {
            match o {
                ast::LogOption::Prefix(a) => {
                    if a.text.is_empty() {
                        return self.fail(a.span, "log prefix must have a minimum length of 1 character");
                    }
                    if a.text.len() >= 128 {
                        return self.fail(a.span, "log prefix is too long");
                    }
                    log.prefix = Some(a.text.clone());
                }
                ast::LogOption::Level(a) => {
                    match crate::ir::stmt::LOG_LEVELS.iter().position(|l| *l == a.text) {
                        Some(i) => log.level = Some(i as u32),
                        None => {
                            return self.fail(a.span, format!("invalid log level `{}`", a.text));
                        }
                    }
                }
                ast::LogOption::Group(a) => {
                    grouped = true;
                    log.group = Some(self.u16_atom(a)?);
                }
                ast::LogOption::Snaplen(a) => {
                    grouped = true;
                    log.snaplen = Some(self.u32_atom(a)?);
                }
                ast::LogOption::QueueThreshold(a) => {
                    grouped = true;
                    log.queue_threshold = Some(self.u16_atom(a)?);
                }
                ast::LogOption::Flags(e) => log.flags |= self.log_flags(e)?,
            }
        }
        if grouped && log.level.is_some() {
            return self.fail(span, "level and group are mutually exclusive");
        }
        if grouped && log.flags != 0 {
            return self.fail(span, "flags and group are mutually exclusive");
        }
        if log.level == Some(8) && (log.prefix.is_some() || grouped || log.flags != 0) {
            return self.fail(span, "log level audit doesn't support any further options");
        }
        Some(log)
    }

    fn u16_atom(&mut self, a: &Atom) -> Option<u16> {
        match a.number().and_then(|n| u16::try_from(n).ok()) {
            Some(n) => Some(n),
            None => self.fail(a.span, format!("value `{}` out of range", a.text)),
        }
    }

    /// `flags tcp sequence,options`, `flags ip options`, `flags skuid`, `flags ether`,
    /// `flags all`.
    fn log_flags(&mut self, e: &ast::Expr) -> Option<u32> {
        let Some(items) = e.as_run() else { return self.fail(e.span, "invalid log flags") };
        let words: Vec<String> = items
            .iter()
            .flat_map(|i| match &i.kind {
                ItemKind::Atom(a) => vec![a.text.clone()],
                ItemKind::List(l) => l.iter().map(|a| a.text.clone()).collect(),
                _ => vec![String::new()],
            })
            .collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let f = match refs.as_slice() {
            ["all"] => log_flags::ALL,
            ["skuid"] => log_flags::UID,
            ["ether"] => log_flags::MACDECODE,
            ["ip", "options"] => log_flags::IPOPT,
            ["tcp", rest @ ..] if !rest.is_empty() => {
                let mut f = 0;
                for w in rest {
                    f |= match *w {
                        "sequence" => log_flags::TCPSEQ,
                        "options" => log_flags::TCPOPT,
                        _ => return self.fail(e.span, format!("invalid log flag `{w}`")),
                    };
                }
                f
            }
            _ => return self.fail(e.span, "invalid log flags"),
        };
        Some(f)
    }

    /// `reject [with …]`.
    fn reject(&mut self, with: Option<&ast::Expr>, span: Span) -> Option<Reject> {
        let net = self.network_known();
        if self.family == Family::Arp {
            return self.fail(span, "cannot use reject with arp");
        }
        let Some(with) = with else {
            // Default: port unreachable in the family's ICMP, or icmpx when unknown.
            let kind = match (self.family, net) {
                (Family::Ip, _) | (_, Some(Family::Ip)) => RejectKind::Icmp,
                (Family::Ip6, _) | (_, Some(Family::Ip6)) => RejectKind::Icmpv6,
                _ => RejectKind::Icmpx,
            };
            let code = match kind {
                RejectKind::Icmp => 3,
                RejectKind::Icmpv6 => 4,
                _ => 1,
            };
            return Some(Reject { kind, code, verbose: false });
        };
        let Some(items) = with.as_run() else {
            return self.fail(with.span, "syntax error after reject with");
        };
        let words: Vec<&Atom> = items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Atom(a) => Some(a),
                _ => None,
            })
            .collect();
        if words.len() != items.len() || words.is_empty() {
            return self.fail(with.span, "syntax error after reject with");
        }
        let (kind, rest) = match words[0].text.as_str() {
            "tcp" => {
                if words.len() != 2 || !matches!(words[1].text.as_str(), "reset" | "rst") {
                    return self.fail(with.span, "syntax error, expected `tcp reset`");
                }
                if let Some(t) = self.proto.get(nftvm_vm::keys::PayloadBase::Transport)
                    && t != crate::proto::Proto::Tcp
                {
                    // nft points at the `reject` keyword and the match that chose the protocol.
                    let keyword = Span { end: span.start.saturating_add(6).min(span.end), ..span };
                    let related = self
                        .stmts
                        .iter()
                        .rev()
                        .find(|s| {
                            s.as_match().is_some_and(|m| match &m.left.kind {
                                ExprKind::Meta(nftvm_vm::keys::MetaKey::L4proto) => true,
                                ExprKind::Payload(p) => p
                                    .proto
                                    .is_some_and(|pr| crate::check::hide::is_protocol_key(pr, p.field.name)),
                                _ => false,
                            })
                        })
                        .map_or(Span::default(), |s| s.span);
                    return self.fail_related(
                        keyword,
                        related,
                        "you cannot use tcp reset with this protocol",
                    );
                }
                return Some(Reject { kind: RejectKind::TcpReset, code: 0, verbose: false });
            }
            "icmp" => (RejectKind::Icmp, &words[1..]),
            "icmpv6" => (RejectKind::Icmpv6, &words[1..]),
            "icmpx" => (RejectKind::Icmpx, &words[1..]),
            other => return self.fail(words[0].span, format!("syntax error, unexpected {other}")),
        };
        let rest = match rest {
            [t, c] if t.text == "type" => std::slice::from_ref(c),
            r => r,
        };
        let [code_atom] = rest else {
            return self.fail(with.span, "missing icmp error type");
        };
        let ty = match kind {
            RejectKind::Icmp => Type::RejectIcmpCode,
            RejectKind::Icmpv6 => Type::RejectIcmpv6Code,
            _ => Type::RejectIcmpxCode,
        };
        let code = match ty.parse_as(&code_atom.text, 8, ByteOrder::Network) {
            Ok(v) => v.to_u64().unwrap_or(0) as u8,
            Err(e) => return self.fail(code_atom.span, e.message),
        };
        // Family compatibility.
        let conflict = match (kind, self.family, net) {
            (RejectKind::Icmpx, Family::Ip | Family::Ip6, _) => {
                return self.fail(with.span, "abstracted ICMP unreachable not supported");
            }
            (RejectKind::Icmp, Family::Ip6, _) | (RejectKind::Icmpv6, Family::Ip, _) => true,
            (RejectKind::Icmp, _, Some(Family::Ip6)) | (RejectKind::Icmpv6, _, Some(Family::Ip)) => true,
            _ => false,
        };
        if conflict {
            return self.fail(with.span, "conflicting protocols specified: ip vs ip6");
        }
        Some(Reject { kind, code, verbose: true })
    }

    /// The network protocol established by the rule so far (not the table's family).
    pub(super) fn network_known(&self) -> Option<Family> {
        match self.proto.get(nftvm_vm::keys::PayloadBase::Network) {
            Some(crate::proto::Proto::Ip) => Some(Family::Ip),
            Some(crate::proto::Proto::Ip6) => Some(Family::Ip6),
            _ => None,
        }
    }

    /// An address of the NAT/dup/tproxy family.
    fn addr_shape(&mut self, fam: Option<Family>, span: Span) -> Option<Expr> {
        let fam = fam.or(self.network());
        match fam {
            Some(Family::Ip) => Some(Expr::new(ExprKind::CatchAll, Type::Ipv4Addr, 32, ByteOrder::Network)),
            Some(Family::Ip6) => Some(Expr::new(ExprKind::CatchAll, Type::Ipv6Addr, 128, ByteOrder::Network)),
            _ => self.fail(span, "specify the address family (ip or ip6) in this table"),
        }
    }

    /// The device `dup to` / `fwd to` send to in a netdev table: a name, or an expression
    /// (a map) whose values are interface names, looked up as indexes when the rule is
    /// added.
    fn device_target(&mut self, e: &ast::Expr) -> Option<Expr> {
        if matches!(&e.kind, ast::ExprKind::Run(items) if items.len() == 1) {
            return self.device_value(e);
        }
        let shape = Expr::new(ExprKind::CatchAll, Type::IfIndex, 32, Type::IfIndex.order());
        let (dev, rest) = self.assigned_value(e, &shape)?;
        if let Some(r) = rest.first() {
            return self.fail(r.span, "syntax error, unexpected value");
        }
        Some(dev)
    }

    fn device_value(&mut self, e: &ast::Expr) -> Option<Expr> {
        let shape = Expr::new(ExprKind::CatchAll, Type::IfName, 128, ByteOrder::Host);
        self.value_expr(e, &shape)
    }

    /// `snat|dnat [ip|ip6] [prefix] to ADDR[:PORT] [flags]`, `masquerade`, `redirect`.
    fn nat(&mut self, n: &ast::Nat, span: Span) -> Option<Nat> {
        let kind = match n.kind {
            ast::NatKind::Snat => NatKind::Snat,
            ast::NatKind::Dnat => NatKind::Dnat,
            ast::NatKind::Masquerade => NatKind::Masquerade,
            ast::NatKind::Redirect => NatKind::Redirect,
        };
        if !matches!(self.family, Family::Ip | Family::Ip6 | Family::Inet) {
            return self.fail(span, "NAT is only supported for IPv4/IPv6");
        }
        let mut nat = Nat {
            kind,
            family: n.family.map(|f| super::commands::family(Some(f))),
            addr: None,
            port: None,
            random: false,
            fully_random: false,
            persistent: false,
            prefix: false,
            concat: false,
        };
        for m in &n.modifiers {
            match m.text.as_str() {
                "prefix" => nat.prefix = true,
                "addr" | "." | "port" => nat.concat = true,
                other => return self.fail(m.span, format!("syntax error, unexpected {other}")),
            }
        }
        for f in &n.flags {
            match f.text.as_str() {
                "random" => nat.random = true,
                "fully-random" => nat.fully_random = true,
                "persistent" => nat.persistent = true,
                other => return self.fail(f.span, format!("unknown nat flag `{other}`")),
            }
        }
        if let Some(f) = nat.family
            && !matches!(f, Family::Ip | Family::Ip6)
        {
            return self.fail(span, "NAT is only supported for IPv4/IPv6");
        }
        if let (Some(f), Family::Ip | Family::Ip6) = (nat.family, self.family)
            && f != self.family
        {
            return self.fail(span, "conflicting protocols specified: ip vs ip6");
        }
        if let Some(a) = &n.addr {
            if matches!(kind, NatKind::Masquerade | NatKind::Redirect) {
                return self.fail(a.span, "syntax error, unexpected address");
            }
            let fam = nat.family.or(self.network());
            let fam = match fam {
                Some(f) => f,
                None => {
                    let nm = kind.name();
                    return self.fail(
                        span,
                        format!(
                            "specify `{nm} ip' or '{nm} ip6' in {} table to disambiguate",
                            self.family.name()
                        ),
                    );
                }
            };
            if let Some(net) = self.network_known()
                && net != fam
            {
                let nm = kind.name();
                return self.fail(
                    span,
                    format!(
                        "conflicting protocols specified: {} vs. {}. You must specify ip or ip6 family in {nm} statement",
                        net.name(),
                        fam.name()
                    ),
                );
            }
            if self.family == Family::Inet {
                nat.family = Some(fam);
            }
            let shape = self.addr_shape(Some(fam), a.span)?;
            let addr = match &a.kind {
                ast::ExprKind::Map { kind: mk, key, data } => {
                    let (pre, k) = self.lhs(key)?;
                    for p in pre {
                        self.push(p);
                    }
                    let data_shape = if nat.concat || self.map_has_concat_data(data) {
                        nat.concat = true;
                        let port = Expr::new(ExprKind::CatchAll, Type::InetService, 16, ByteOrder::Network);
                        crate::ir::build::concat(vec![shape.clone(), port])
                    } else {
                        shape.clone()
                    };
                    let (m, rest) = self.map_lookup(*mk, k, data, Some(&data_shape), a.span)?;
                    if let Some(r) = rest.first() {
                        return self.fail(r.span, "syntax error, unexpected value after map");
                    }
                    if nat.concat {
                        nat.family = Some(fam);
                        if !self.transport_known() {
                            return self.fail(
                                m.span,
                                "transport protocol mapping is only valid after transport protocol match",
                            );
                        }
                    }
                    m
                }
                _ => {
                    let (v, rest) = self.assigned_value(a, &shape)?;
                    if let Some(r) = rest.first() {
                        return self.fail(r.span, "syntax error, unexpected value");
                    }
                    if matches!(v.kind, ExprKind::Set(_)) {
                        return self.fail(v.span, "syntax error, a NAT address cannot be a set");
                    }
                    v
                }
            };
            nat.addr = Some(addr);
        }
        if let Some(p) = &n.port {
            if nat.concat {
                return self.fail(p.span, "nat map and protocol are mutually exclusive");
            }
            let shape = Expr::new(ExprKind::CatchAll, Type::InetService, 16, ByteOrder::Network);
            let port = match &p.kind {
                ast::ExprKind::Map { kind: mk, key, data } => {
                    let (pre, k) = self.lhs(key)?;
                    for x in pre {
                        self.push(x);
                    }
                    let (m, _) = self.map_lookup(*mk, k, data, Some(&shape), p.span)?;
                    m
                }
                _ => {
                    let (v, rest) = self.assigned_value(p, &shape)?;
                    if let Some(r) = rest.first() {
                        return self.fail(r.span, "syntax error, unexpected value");
                    }
                    v
                }
            };
            if !self.transport_known()
                && !self.stmts.iter().any(|s| matches!(&s.kind, StmtKind::Match(m) if matches!(&m.left.kind, ExprKind::Meta(nftvm_vm::keys::MetaKey::L4proto))))
            {
                return self.fail(port.span, "transport protocol mapping is only valid after transport protocol match");
            }
            nat.port = Some(port);
        }
        if nat.prefix && nat.addr.is_none() {
            return self.fail(span, "prefix NAT needs an address");
        }
        Some(nat)
    }

    fn map_has_concat_data(&self, data: &ast::Expr) -> bool {
        match data.as_run().and_then(|i| i.first()).map(|i| &i.kind) {
            Some(ItemKind::Set(elems)) => elems
                .iter()
                .any(|e| e.data.as_ref().is_some_and(|d| matches!(d.kind, ast::ExprKind::Concat(_)))),
            Some(ItemKind::Atom(a)) if a.kind == AtomKind::SetRef => self.table.set(&a.text).is_some_and(
                |s| matches!(&s.data, Some(crate::ir::SetData::Value { fields, .. }) if fields.len() > 1),
            ),
            _ => false,
        }
    }

    /// `queue [flags …] [num N | to EXPR] [bypass] [fanout]`.
    fn queue(&mut self, opts: &[ast::QueueOption], _span: Span) -> Option<Queue> {
        let mut q = Queue::default();
        for o in opts {
            match o {
                ast::QueueOption::Num(e) | ast::QueueOption::To(e) => {
                    let shape = Expr::new(ExprKind::CatchAll, Type::Integer, 16, ByteOrder::Host);
                    let v = match &e.kind {
                        ast::ExprKind::Map { kind, key, data } => {
                            let (pre, k) = self.lhs(key)?;
                            for p in pre {
                                self.push(p);
                            }
                            let (m, _) = self.map_lookup(*kind, k, data, Some(&shape), e.span)?;
                            m
                        }
                        _ => match e.as_run() {
                            Some(items) if super::runs::starts_selector(items) => {
                                let (pre, x) = self.lhs(e)?;
                                for p in pre {
                                    self.push(p);
                                }
                                x
                            }
                            _ => self.value_expr(e, &shape)?,
                        },
                    };
                    if !v.is_constant() && !matches!(v.kind, ExprKind::Map(_)) {
                        if !matches!(v.ty, Type::Integer | Type::XInteger) {
                            return self.fail(
                                v.span,
                                format!(
                                    "datatype mismatch, expected integer, expression has type {}",
                                    v.ty.desc()
                                ),
                            );
                        }
                        let max = match &v.kind {
                            ExprKind::Numgen(n) => u64::from(n.modulus) + u64::from(n.offset) - 1,
                            ExprKind::Hash(h) => u64::from(h.modulus) + u64::from(h.offset) - 1,
                            _ => 0,
                        };
                        if max > 65535 {
                            return self.fail(v.span, "queue expression max value exceeds 65535");
                        }
                    }
                    q.num = Some(v);
                }
                ast::QueueOption::Flags(fs) => {
                    for f in fs {
                        match f.text.as_str() {
                            "bypass" => q.bypass = true,
                            "fanout" => q.fanout = true,
                            other => return self.fail(f.span, format!("unknown queue flag `{other}`")),
                        }
                    }
                }
                ast::QueueOption::Bypass(_) => q.bypass = true,
                ast::QueueOption::Fanout(_) => q.fanout = true,
            }
        }
        if q.fanout && q.num.as_ref().is_some_and(|n| !matches!(n.kind, ExprKind::Range { .. })) {
            let span = q.num.as_ref().map_or(_span, |n| n.span);
            return self.fail(span, "fanout requires a range to be specified");
        }
        Some(q)
    }

    /// `tproxy [ip|ip6] to [ADDR][:PORT]`.
    fn tproxy(
        &mut self,
        family: Option<ast::Family>,
        addr: Option<&ast::Expr>,
        port: Option<&ast::Expr>,
        span: Span,
    ) -> Option<Tproxy> {
        if !matches!(self.family, Family::Ip | Family::Ip6 | Family::Inet) {
            return self.fail(span, "tproxy is only supported for IPv4/IPv6/INET");
        }
        let fam = family.map(|f| super::commands::family(Some(f)));
        if let (Some(f), Family::Ip | Family::Ip6) = (fam, self.family)
            && f != self.family
        {
            return self.fail(span, "conflicting protocols specified: ip vs ip6");
        }
        if !self.transport_known() {
            return self.fail(span, "Transparent proxy support requires transport protocol match");
        }
        if let (Some(f), Some(net)) = (fam, self.network_known())
            && f != net
        {
            return self.fail(
                span,
                format!(
                    "conflicting protocols specified: {} vs. {}. You must specify ip or ip6 family in tproxy statement",
                    net.name(),
                    f.name()
                ),
            );
        }
        let a = match addr {
            Some(a) => {
                let shape = self.addr_shape(fam, a.span)?;
                let v = self.value_expr(a, &shape)?;
                if matches!(v.kind, ExprKind::Range { .. }) {
                    return self.fail(a.span, "Address ranges are not supported for tproxy.");
                }
                Some(v)
            }
            None => None,
        };
        let p = match port {
            Some(p) => {
                let shape = Expr::new(ExprKind::CatchAll, Type::InetService, 16, ByteOrder::Network);
                let (v, rest) = self.assigned_value(p, &shape)?;
                if let Some(r) = rest.first() {
                    return self.fail(r.span, "syntax error, unexpected value");
                }
                if matches!(v.kind, ExprKind::Range { .. }) {
                    return self.fail(p.span, "Port ranges are not supported for tproxy.");
                }
                Some(v)
            }
            None => None,
        };
        if a.is_none() && p.is_none() {
            return self.fail(span, "Either address or port must be specified!");
        }
        let family = if self.family == Family::Inet { fam.or(self.network_known()) } else { None };
        if self.family == Family::Inet && family.is_none() && a.is_some() {
            return self.fail(span, "Transparent proxy support requires a network protocol (ip or ip6)");
        }
        Some(Tproxy { family, addr: a, port: p })
    }

    fn synproxy(&mut self, options: &[(ast::Ident, Option<Atom>)]) -> Option<Synproxy> {
        let mut s = Synproxy::default();
        for (name, val) in options {
            match (name.name.as_str(), val) {
                ("mss", Some(v)) => s.mss = Some(self.u16_atom(v)?),
                ("wscale", Some(v)) => {
                    let n = self.u32_atom(v)?;
                    if n > 14 {
                        return self.fail(v.span, format!("Value {n} exceeds valid range 0-14"));
                    }
                    s.wscale = Some(n as u8);
                }
                ("timestamp", None) => s.timestamp = true,
                ("sack-perm", None) => s.sack_perm = true,
                _ => return self.fail(name.span, format!("unknown synproxy option `{}`", name.name)),
            }
        }
        Some(s)
    }

    /// `add|update|delete @set { key [stmts] [: data] }`.
    fn dynset(&mut self, op: ast::DynSetOp, set: &Atom, elem: &ast::SetElem) -> Option<DynSet> {
        let Some(decl) = self.table.set(&set.text) else {
            return self.fail(set.span, super::ENOENT);
        };
        let is_map = decl.is_map();
        let data_fields = match &decl.data {
            Some(crate::ir::SetData::Value { fields, .. }) => Some(fields.clone()),
            _ => None,
        };
        let key_fields = decl.key.clone();
        let shape = super::set::shape_of(&key_fields);
        let (key, rest) = self.assigned_value(&elem.key, &shape)?;
        if let Some(r) = rest.first() {
            return self.fail(r.span, "syntax error, unexpected value");
        }
        let key_bits: u32 = if key_fields.len() == 1 {
            key_fields[0].bits
        } else {
            key_fields.iter().map(|k| k.bits.div_ceil(32) * 32).sum()
        };
        if key.bits != key_bits && key_fields.len() == 1 && !key_fields[0].ty.is_string() {
            return self.fail(
                elem.key.span,
                format!(
                    "datatype mismatch, expected {}, expression has type {}",
                    key_fields[0].ty.desc(),
                    key.ty.desc()
                ),
            );
        }
        let mut stmts = Vec::new();
        let (mut timeout, mut expires) = (None, None);
        for o in elem.key_options.iter().chain(elem.data_options.iter()) {
            match o {
                ast::ElemOption::Stmt(s) => stmts.push(self.stateful_stmt(s)?),
                ast::ElemOption::Timeout(a) => timeout = Some(self.time_ms(a)?),
                ast::ElemOption::Expires(a) => expires = Some(self.time_ms(a)?),
                ast::ElemOption::Comment(_) => {}
            }
        }
        let data = match (&elem.data, is_map) {
            (Some(d), true) => {
                let fields = data_fields.unwrap_or_default();
                let shape = match fields.as_slice() {
                    [f] => Expr::new(ExprKind::CatchAll, f.ty, f.bits, f.order),
                    many => crate::ir::build::concat(
                        many.iter().map(|f| Expr::new(ExprKind::CatchAll, f.ty, f.bits, f.order)).collect(),
                    ),
                };
                let (v, rest) = self.assigned_value(d, &shape)?;
                if let Some(r) = rest.first() {
                    return self.fail(r.span, "syntax error, unexpected value");
                }
                Some(v)
            }
            (Some(d), false) => return self.fail(d.span, "set is not a map"),
            (None, true) => return self.fail(elem.span, "map has no mapping data"),
            (None, false) => None,
        };
        let op = match op {
            ast::DynSetOp::Add => DynSetOp::Add,
            ast::DynSetOp::Update => DynSetOp::Update,
            ast::DynSetOp::Delete => DynSetOp::Delete,
        };
        Some(DynSet { op, set: set.text.clone(), key, data, stmts, timeout, expires })
    }

    /// `meter name [size N] { key stmt }`.
    fn meter(&mut self, name: &ast::Ident, size: Option<&Atom>, elem: &ast::SetElem) -> Option<Meter> {
        let (pre, key) = self.lhs(&elem.key)?;
        for p in pre {
            self.push(p);
        }
        let size = match size {
            Some(a) => self.u32_atom(a)?,
            None => 0xffff,
        };
        let stmt = elem
            .key_options
            .iter()
            .find_map(|o| match o {
                ast::ElemOption::Stmt(s) => Some(s),
                _ => None,
            })
            .cloned();
        let Some(s) = stmt else { return self.fail(elem.span, "meter statement must be stateful") };
        let st = self.stateful_stmt(&s)?;
        Some(Meter { name: name.name.clone(), size, key, stmt: Box::new(st) })
    }
}

/// A zero value of a width (helpers for statements that need typed zeros).
#[allow(dead_code)]
pub(crate) fn zero(bits: u32, order: ByteOrder) -> Value {
    Value::from_uint(bits, order, 0).unwrap_or_else(|_| Value::raw_string(""))
}

/// A statement's value that is one item followed by more (`"eth1" udp dport 53`): the value
/// alone, and the items after it; anything else whole.
fn split_value(e: &ast::Expr) -> (ast::Expr, &[Item]) {
    match &e.kind {
        ast::ExprKind::Run(items) if items.len() > 1 && !super::runs::starts_selector(items) => {
            let first = ast::Expr { kind: ast::ExprKind::Run(vec![items[0].clone()]), span: items[0].span };
            (first, &items[1..])
        }
        _ => (e.clone(), &[]),
    }
}
