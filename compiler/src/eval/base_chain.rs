//! Chain declarations: `type filter hook input device "lo" priority filter + 10; policy drop;
//! comment "…"` — chain types, hooks per family, named priorities, policies and devices,
//! with the checks nft and the kernel make when a base chain is registered.

use super::{EOPNOTSUPP, Evaluator};
use crate::ir::chain::{std_prio_compat, std_priorities};
use crate::ir::{BaseChain, ChainType, Family, Hook, Policy};
use nftvm_grammar::Span;
use nftvm_grammar::nft::ast;

/// What a chain body declares (besides rules).
#[derive(Default)]
pub(super) struct ChainSpec {
    pub base: Option<BaseChain>,
    pub policy: Policy,
    pub policy_given: bool,
    pub comment: Option<String>,
}

/// The hook a word names in a family (None: the family does not have it).
pub(crate) fn hook_for(family: Family, word: &str) -> Option<Hook> {
    let hook = match word {
        "prerouting" => Hook::Prerouting,
        "input" => Hook::Input,
        "forward" => Hook::Forward,
        "output" => Hook::Output,
        "postrouting" => Hook::Postrouting,
        "ingress" => Hook::Ingress,
        "egress" => Hook::Egress,
        _ => return None,
    };
    let ok = match family {
        Family::Ip | Family::Ip6 | Family::Bridge => {
            matches!(hook, Hook::Prerouting | Hook::Input | Hook::Forward | Hook::Output | Hook::Postrouting)
        }
        Family::Inet => hook != Hook::Egress,
        Family::Arp => matches!(hook, Hook::Input | Hook::Forward | Hook::Output),
        Family::Netdev => matches!(hook, Hook::Ingress | Hook::Egress),
    };
    ok.then_some(hook)
}

/// Whether the kernel registers a chain of this type at this hook in this family.
pub(crate) fn chain_type_allowed(family: Family, chain_type: ChainType, hook: Hook) -> bool {
    match chain_type {
        ChainType::Filter => true,
        ChainType::Nat => {
            matches!(family, Family::Ip | Family::Ip6 | Family::Inet)
                && matches!(hook, Hook::Prerouting | Hook::Input | Hook::Output | Hook::Postrouting)
        }
        ChainType::Route => matches!(family, Family::Ip | Family::Ip6 | Family::Inet) && hook == Hook::Output,
    }
}

impl Evaluator {
    /// Read a chain body's declarations. None after an error.
    pub(super) fn chain_spec(&mut self, family: Family, body: &ast::ChainBody) -> Option<ChainSpec> {
        let mut spec = ChainSpec::default();
        let mut ok = true;
        let mut policy_span = None;
        let mut devices: Option<(Vec<String>, Span)> = None;
        let mut offload = false;
        for item in &body.items {
            match item {
                ast::ChainItem::Hook(h) => match self.base_chain(family, h) {
                    Some((b, devs)) => {
                        if let Some(d) = devs {
                            devices = Some(d);
                        }
                        spec.base = Some(b);
                    }
                    None => ok = false,
                },
                ast::ChainItem::Policy { policy, span } => {
                    match policy.text.as_str() {
                        "accept" => spec.policy = Policy::Accept,
                        "drop" => spec.policy = Policy::Drop,
                        other => {
                            self.error(policy.span, format!("invalid policy expression {other}"));
                            ok = false;
                        }
                    }
                    spec.policy_given = true;
                    policy_span = Some(*span);
                }
                ast::ChainItem::Devices { devices: d, span } => match self.device_list(d) {
                    Some(list) => devices = Some((list, *span)),
                    None => ok = false,
                },
                ast::ChainItem::Comment { text, .. } => spec.comment = Some(text.text.clone()),
                ast::ChainItem::Flags { flags, .. } => {
                    for f in flags {
                        if f.text == "offload" {
                            offload = true;
                        } else {
                            self.error(f.span, format!("unknown chain flag {}", f.text));
                            ok = false;
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(b) = &mut spec.base {
            b.policy = spec.policy;
            b.offload = offload;
            if let Some((devs, span)) = devices {
                if family == Family::Netdev || (family == Family::Inet && b.hook == Hook::Ingress) {
                    b.devices = devs;
                } else {
                    self.error(span, "This chain type cannot be bound to device");
                    ok = false;
                }
            }
        } else if let Some(span) = policy_span {
            if spec.policy_given {
                // A policy on a regular chain: the kernel refuses it.
                self.error(span, format!("Could not process rule: {EOPNOTSUPP}"));
                ok = false;
            }
        } else if let Some((_, span)) = devices {
            self.error(span, "This chain type cannot be bound to device");
            ok = false;
        }
        ok.then_some(spec)
    }

    /// `type T hook H [device D] priority P`.
    #[allow(clippy::type_complexity)]
    fn base_chain(
        &mut self,
        family: Family,
        h: &ast::BaseChain,
    ) -> Option<(BaseChain, Option<(Vec<String>, Span)>)> {
        let Some(chain_type) = ChainType::from_name(&h.chain_type.name) else {
            self.error(h.chain_type.span, format!("unknown chain type {}", h.chain_type.name));
            return None;
        };
        let Some(hook) = hook_for(family, &h.hook.name) else {
            if matches!(
                h.hook.name.as_str(),
                "prerouting" | "input" | "forward" | "output" | "postrouting" | "ingress" | "egress"
            ) {
                self.error(h.hook.span, format!("The {} family does not support this hook", family.name()));
            } else {
                self.error(h.hook.span, "unknown chain hook");
            }
            return None;
        };
        if !chain_type_allowed(family, chain_type, hook) {
            self.error(h.span, format!("Could not process rule: {EOPNOTSUPP}"));
            return None;
        }
        let priority = match &h.priority {
            Some(p) => self.priority(family, hook, p)?,
            None => {
                if family == Family::Netdev || chain_type != ChainType::Filter {
                    self.error(h.span, "missing priority");
                    return None;
                }
                0
            }
        };
        if chain_type == ChainType::Nat && priority <= -200 {
            self.error(h.span, format!("Could not process rule: {EOPNOTSUPP}"));
            return None;
        }
        let devices = match &h.devices {
            Some(d) => Some((self.device_list(d)?, d.span)),
            None => None,
        };
        let base = BaseChain {
            chain_type,
            hook,
            priority,
            policy: Policy::Accept,
            devices: Vec::new(),
            offload: false,
            span: h.span,
        };
        Some((base, devices))
    }

    /// `priority N`, `priority -N`, `priority filter`, `priority mangle - 5`.
    pub(super) fn priority(&mut self, family: Family, hook: Hook, p: &ast::Priority) -> Option<i32> {
        let base = if let Some(n) = p.base.number() {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            let n = if p.negative { -n } else { n };
            match i32::try_from(n) {
                Ok(v) => v,
                Err(_) => {
                    self.error(p.base.span, "priority out of range");
                    return None;
                }
            }
        } else {
            let name = p.base.text.as_str();
            match std_priorities(family).iter().find(|(n, _)| *n == name) {
                Some(&(_, v)) if std_prio_compat(v, family, hook) => v,
                _ => {
                    let what = if p.base.kind == ast::AtomKind::Quoted { "string" } else { "symbol" };
                    self.error(p.span, format!("invalid priority expression {what} in this context."));
                    return None;
                }
            }
        };
        let Some((plus, off)) = &p.offset else { return Some(base) };
        let Some(n) = off.number().and_then(|n| i32::try_from(n).ok()) else {
            self.error(off.span, "priority offset out of range");
            return None;
        };
        let v = if *plus { base.checked_add(n) } else { base.checked_sub(n) };
        match v {
            Some(v) => Some(v),
            None => {
                self.error(off.span, "priority out of range");
                None
            }
        }
    }

    /// `device "lo"`, `devices = { "eth0", eth1 }`.
    pub(super) fn device_list(&mut self, e: &ast::Expr) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let Some(items) = e.as_run() else {
            self.error(e.span, "expected a device name or a set of device names");
            return None;
        };
        for item in items {
            match &item.kind {
                ast::ItemKind::Atom(a) => out.push(a.text.clone()),
                ast::ItemKind::Set(elems) => {
                    for el in elems {
                        match el.key.as_run() {
                            Some([ast::Item { kind: ast::ItemKind::Atom(a), .. }]) => {
                                out.push(a.text.clone())
                            }
                            _ => {
                                self.error(el.span, "expected a device name");
                                return None;
                            }
                        }
                    }
                }
                _ => {
                    self.error(item.span, "expected a device name");
                    return None;
                }
            }
        }
        for d in &out {
            if d.is_empty() || d.len() >= 16 {
                self.error(e.span, format!("Invalid device name \"{d}\""));
                return None;
            }
        }
        Some(out)
    }
}
