//! One rule, in the order iptables-nft builds it: addresses, interfaces, protocol, fragment
//! flag, matches, counter, action.

use super::expr::{addr_match, cmp, num, sel, string};
use super::{LResult, Lowerer, ir_family, matches, targets};
use crate::iptables::Family as IptFamily;
use crate::iptables::ip::{Iface, Inv, IpPart};
use crate::iptables::rule::{Action, Rule, Verdict as IptVerdict};
use crate::ir::{self, BinOp, Counter, Family, Stmt, StmtKind, Verdict};
use crate::types::Value;
use nftvm_grammar::Span;

/// What a match or target lowering sees.
pub struct Mcx<'a> {
    pub lw: &'a mut Lowerer,
    /// The IR family (`ip`/`ip6`).
    pub fam: Family,
    pub ipt: IptFamily,
    pub ip: &'a IpPart,
    pub table: &'a str,
    pub chain: &'a str,
    /// Set by `-m comment`.
    pub comment: Option<String>,
    /// Constructs dropped because they have no effect in nftvm (reported as warnings).
    pub notes: Vec<String>,
}

impl Mcx<'_> {
    /// The layer-4 protocol the rule is restricted to (`-p tcp`), if any.
    pub fn proto(&self) -> Option<u8> {
        self.ip.positive_proto()
    }

    /// `ip`/`ip6` as the first word of network-header selectors.
    pub fn ip_word(&self) -> &'static str {
        if self.fam == Family::Ip6 { "ip6" } else { "ip" }
    }
}

/// All statements at one place.
pub fn at(stmts: Vec<Stmt>, span: Span) -> Vec<Stmt> {
    stmts.into_iter().map(|s| place(s, span)).collect()
}

fn place(mut s: Stmt, span: Span) -> Stmt {
    s.span = span;
    if let StmtKind::Match(m) = &mut s.kind {
        m.left.span = span;
        m.right.span = span;
    }
    s
}

pub fn lower_rule(lw: &mut Lowerer, r: &Rule, table: &str, chain: &str) -> LResult<ir::Rule> {
    let ipt = lw.family;
    let fam = ir_family(ipt);
    let mut stmts = Vec::new();
    let ip = &r.ip;
    let ipw = if fam == Family::Ip6 { "ip6" } else { "ip" };
    for (which, a) in [("saddr", &ip.src), ("daddr", &ip.dst)] {
        if let Some(a) = a
            && (a.invert || !a.value.is_any() || !a.value.addr.is_zero())
        {
            stmts.push(place(addr_match(sel(&format!("{ipw} {which}"), fam)?, a)?, r.span));
        }
    }
    for (meta, iface) in [("iifname", &ip.iniface), ("oifname", &ip.outiface)] {
        if let Some(i) = iface
            && let Some(s) = iface_match(meta, i, fam)?
        {
            stmts.push(place(s, r.span));
        }
    }
    if let Some(p) = ip.proto {
        let left = match ipt {
            IptFamily::Ipv4 => sel("ip protocol", fam)?,
            IptFamily::Ipv6 => sel("meta l4proto", fam)?,
        };
        let right = num(&left, u128::from(p.value))?;
        stmts.push(place(cmp(left, p.invert, right), r.span));
    }
    if let Some(inv) = ip.frag {
        // Second and further fragments: (frag-off & 0x1fff) != 0.
        let fo = sel("ip frag-off", fam)?;
        let mask = num(&fo, 0x1fff)?;
        let zero = num(&fo, 0)?;
        stmts.push(place(cmp(fo.binary(BinOp::And, mask), !inv, zero), r.span));
    }
    let mut cx = Mcx { lw, fam, ipt, ip, table, chain, comment: None, notes: Vec::new() };
    for m in &r.matches {
        let lowered = matches::lower_match(m, &mut cx).map_err(|e| e.at(m.span))?;
        stmts.extend(at(lowered, m.span));
        for n in cx.notes.drain(..) {
            cx.lw.warnings.push(nftvm_grammar::Diagnostic::warning(m.span, n));
        }
    }
    let counters = r.counters.unwrap_or_default();
    stmts.push(place(
        Stmt::new(StmtKind::Counter(Counter { packets: counters.packets, bytes: counters.bytes })),
        r.span,
    ));
    match &r.action {
        None => {}
        Some(Action::Verdict(v, span)) => {
            let s = match v {
                IptVerdict::Accept => Stmt::verdict(Verdict::Accept),
                IptVerdict::Drop => Stmt::verdict(Verdict::Drop),
                IptVerdict::Return => Stmt::verdict(Verdict::Return),
                IptVerdict::Queue => Stmt::new(StmtKind::Queue(ir::Queue::default())),
            };
            stmts.push(place(s, *span));
        }
        Some(Action::Jump(n)) => stmts.push(place(Stmt::verdict(Verdict::Jump(n.text.clone())), n.span)),
        Some(Action::Goto(n)) => stmts.push(place(Stmt::verdict(Verdict::Goto(n.text.clone())), n.span)),
        Some(Action::Target { name, t, span }) => {
            let lowered = targets::lower_target(name, t, &mut cx).map_err(|e| e.at(*span))?;
            stmts.extend(at(lowered, *span));
            for n in cx.notes.drain(..) {
                cx.lw.warnings.push(nftvm_grammar::Diagnostic::warning(*span, n));
            }
        }
    }
    let comment = cx.comment.take();
    Ok(ir::Rule { stmts, comment, span: r.span, handle: 0 })
}

/// `iifname "eth0"`, `iifname "eth*"` (a prefix for `eth+`), nothing for `+`, and a test
/// that never matches for `! -i +`.
fn iface_match(meta: &str, i: &Inv<Iface>, fam: Family) -> LResult<Option<Stmt>> {
    let left = sel(meta, fam)?;
    let name = &i.value.0;
    if name.is_empty() {
        return Ok(None);
    }
    match i.value.prefix() {
        Some(head) => {
            if head.is_empty() && !i.invert {
                return Ok(None);
            }
            let v = Value::padded_string(head, (left.bits / 8) as usize)
                .map_err(|e| super::Unsupported::new(format!("interface {name}: {e:?}")))?;
            let right = left.prefix(v, (head.len() * 8) as u32);
            Ok(Some(cmp(left, i.invert, right)))
        }
        None => {
            let right = string(&left, name)?;
            Ok(Some(cmp(left, i.invert, right)))
        }
    }
}
