//! Terse constructors for programmatic producers (the iptables front end, tests, the
//! optimizer). They build well-typed IR; run [`crate::check`] afterwards to insert protocol
//! dependencies, fix link-layer offsets and validate, exactly as for nft input.
//!
//! ```
//! use nftvm_compiler::ir::{build as b, Chain, ChainType, Hook, Rule, Stmt, Verdict};
//! use nftvm_compiler::proto::Proto;
//! let dport = b::payload(Proto::Tcp, "dport").unwrap();
//! let rule = Rule::new(vec![
//!     Stmt::eq(dport.clone(), dport.number(22).unwrap()),
//!     Stmt::counter(),
//!     Stmt::verdict(Verdict::Accept),
//! ]);
//! let mut input = Chain::base("INPUT", ChainType::Filter, Hook::Input, 0);
//! input.rules.push(rule);
//! ```

use super::chain::{BaseChain, Chain, ChainType, Policy};
use super::expr::{BinOp, Expr, ExprKind, MapLookup};
use super::load::{Ct, Exthdr, Fib, Numgen, Payload};
use super::set::{SetElem, SetLit};
use super::stateful::Counter;
use super::stmt::{Match, MatchOp, Stmt, StmtKind, Verdict};
use super::{CtDir, CtKey, Family, Hook, MetaKey, Span};
use crate::proto::selector::Selector;
use crate::proto::{self, Proto};
use crate::types::{ByteOrder, Type, TypeError, Value, ValueError};

/// `proto field` (`tcp dport`, `ip saddr`); None for an unknown field. Link-layer offsets
/// assume no stacked headers (the checker adjusts them).
pub fn payload(proto: Proto, field: &str) -> Option<Expr> {
    let f = *proto.desc().field(field)?;
    Some(payload_field(proto, f))
}

/// A payload expression for a template field.
pub fn payload_field(proto: Proto, field: proto::Field) -> Expr {
    let p = Payload {
        proto: Some(proto),
        field,
        base: proto.base(),
        offset: field.offset,
        len: field.len,
        inner: None,
    };
    Expr::new(ExprKind::Payload(p), field.ty, field.len, field.order)
}

/// `meta <key>`.
pub fn meta(key: MetaKey) -> Expr {
    let m = proto::meta::info(key);
    Expr::new(ExprKind::Meta(key), m.ty, m.bits, m.order)
}

/// `ct [dir] <key>`; `network` gives `ct saddr`/`ct daddr` their address family.
pub fn ct(key: CtKey, dir: Option<CtDir>, network: Option<Family>) -> Option<Expr> {
    let info = proto::ct::info(key);
    let (ty, bits) = match info.ty {
        Some(t) => (t, info.bits),
        None => proto::ct::address_type(network?)?,
    };
    Some(Expr::new(ExprKind::Ct(Ct { key, dir }), ty, bits, info.order))
}

/// The IR expression a resolved selector reads. `network` is the rule's network protocol
/// (needed by `ct saddr`, `rt nexthop`); errors say what is missing.
pub fn from_selector(sel: &Selector, network: Option<Family>) -> Result<Expr, String> {
    let expr = match sel {
        Selector::Payload { proto, field } => payload_field(*proto, *field),
        Selector::Inner { tunnel, inner } => {
            let mut e = from_selector(inner, network)?;
            if let ExprKind::Payload(p) = &mut e.kind {
                p.inner = Some(*tunnel);
                if p.base == nftvm_vm::keys::PayloadBase::Link {
                    p.base = nftvm_vm::keys::PayloadBase::Inner;
                }
            }
            e
        }
        Selector::Meta(m) => Expr::new(ExprKind::Meta(m.key), m.ty, m.bits, m.order),
        Selector::Ct { key, dir } => {
            let (ty, bits) = match key.ty {
                Some(t) => (t, key.bits),
                None => match network.and_then(proto::ct::address_type) {
                    Some(tb) => tb,
                    None => {
                        return Err(format!(
                            "cannot determine ct {} type: specify the network protocol (ct {} ip {})",
                            key.token,
                            dir.map(|d| d.name()).unwrap_or("original"),
                            key.token
                        ));
                    }
                },
            };
            Expr::new(ExprKind::Ct(Ct { key: key.key, dir: *dir }), ty, bits, key.order)
        }
        Selector::Exthdr { op, header, kind, field, index } => {
            let (ty, bits, order) = sel.value_type().unwrap_or((Type::Boolean, 1, ByteOrder::Host));
            let x = Exthdr { op: *op, header, kind: *kind, field: *field, index: *index };
            Expr::new(ExprKind::Exthdr(x), ty, bits, order)
        }
        Selector::Rt { key, family } => {
            let mut k = key.key;
            let fam = family.or(network);
            if k == proto::rt::RtKey::Nexthop4 && fam == Some(Family::Ip6) {
                k = proto::rt::RtKey::Nexthop6;
            }
            let (ty, bits) = match k {
                proto::rt::RtKey::Nexthop4 => (Type::Ipv4Addr, 32),
                proto::rt::RtKey::Nexthop6 => (Type::Ipv6Addr, 128),
                _ => (key.ty, key.bits),
            };
            Expr::new(ExprKind::Rt(k), ty, bits, key.order)
        }
        Selector::Fib { flags, result } => {
            let (ty, bits, order) = result.value_type();
            let mut f = *flags;
            if *result == proto::fib::FibResult::Check {
                f |= proto::fib::flags::PRESENT;
            }
            Expr::new(ExprKind::Fib(Fib { flags: f, result: *result }), ty, bits, order)
        }
        Selector::Socket { key, level } => Expr::new(
            ExprKind::Socket { key: key.key, level: level.unwrap_or(0) },
            key.ty,
            key.bits,
            key.order,
        ),
        Selector::Osf { ttl, version } => {
            let (ty, bits, order) = proto::osf::TYPE;
            Expr::new(ExprKind::Osf { ttl: *ttl, version: *version }, ty, bits, order)
        }
        Selector::Numgen(mode) => {
            let (ty, bits, order) = proto::misc::RESULT;
            Expr::new(ExprKind::Numgen(Numgen { mode: *mode, modulus: 0, offset: 0 }), ty, bits, order)
        }
        Selector::Hash(kind) => {
            let (ty, bits, order) = proto::misc::RESULT;
            let h = super::load::Hash { kind: *kind, expr: None, modulus: 0, seed: None, offset: 0 };
            Expr::new(ExprKind::Hash(h), ty, bits, order)
        }
        Selector::Ipsec { dir, spnum, key } => {
            let (ty, bits, order) = key.value_type();
            Expr::new(ExprKind::Ipsec { dir: *dir, spnum: *spnum, key: *key }, ty, bits, order)
        }
        Selector::Raw { base, field } => {
            let p = Payload {
                proto: None,
                field: *field,
                base: *base,
                offset: field.offset,
                len: field.len,
                inner: None,
            };
            Expr::new(ExprKind::Payload(p), field.ty, field.len, field.order)
        }
        Selector::Tunnel(k) => {
            let (ty, bits, order) = sel.value_type().unwrap_or((Type::Integer, 32, ByteOrder::Host));
            Expr::new(ExprKind::Tunnel(*k), ty, bits, order)
        }
    };
    Ok(expr)
}

impl Expr {
    /// A constant of this expression's type, width and byte order.
    pub fn number(&self, n: u128) -> Result<Expr, ValueError> {
        let v = Value::from_uint(self.bits, self.order, n)?;
        Ok(Expr::new(ExprKind::Value(v), self.ty, self.bits, self.order))
    }

    /// A constant parsed from text with this expression's type (`"ssh"`, `"10.0.0.1"`,
    /// `"established"`).
    pub fn parse(&self, text: &str) -> Result<Expr, TypeError> {
        let v = self.ty.parse_as(text, self.bits, self.order)?;
        Ok(Expr::new(ExprKind::Value(v), self.ty, self.bits, self.order))
    }

    /// A constant holding `value` (which must have this expression's width).
    pub fn constant(&self, value: Value) -> Expr {
        Expr::new(ExprKind::Value(value), self.ty, self.bits, self.order)
    }

    /// `value/len` typed like this expression.
    pub fn prefix(&self, value: Value, len: u32) -> Expr {
        Expr::new(ExprKind::Prefix { value, len }, self.ty, self.bits, self.order)
    }

    /// `low-high` typed like this expression.
    pub fn range(&self, low: Value, high: Value) -> Expr {
        Expr::new(ExprKind::Range { low, high }, self.ty, self.bits, self.order)
    }

    /// An anonymous set of these keys, typed like this expression.
    pub fn set_of(&self, keys: Vec<Expr>) -> Expr {
        let interval =
            keys.iter().any(|k| matches!(k.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. }));
        let elems = keys.into_iter().map(SetElem::new).collect();
        Expr::new(ExprKind::Set(Box::new(SetLit { elems, interval })), self.ty, self.bits, self.order)
    }

    /// `self <op> rhs` (the result has this expression's type).
    pub fn binary(self, op: BinOp, rhs: Expr) -> Expr {
        let (ty, bits, order) = (self.ty, self.bits, self.order);
        Expr::new(ExprKind::Binary { op, lhs: Box::new(self), rhs: Box::new(rhs) }, ty, bits, order)
    }

    /// `self map|vmap <map>`; `data` gives the result's type.
    pub fn map(self, map: Expr, data_ty: Type, data_bits: u32, data_order: ByteOrder) -> Expr {
        Expr::new(ExprKind::Map(Box::new(MapLookup { key: self, map })), data_ty, data_bits, data_order)
    }

    /// A verdict constant (vmap data).
    pub fn verdict(v: Verdict) -> Expr {
        Expr::new(ExprKind::Verdict(v), Type::Verdict, 32, ByteOrder::Host)
    }
}

/// `a . b . c`.
pub fn concat(parts: Vec<Expr>) -> Expr {
    let bits = Expr::concat_bits(&parts);
    Expr::new(ExprKind::Concat(parts), Type::Invalid, bits, ByteOrder::Network)
}

/// An IPv4 or IPv6 address constant.
pub fn addr(text: &str) -> Result<Expr, TypeError> {
    let ty = if text.contains(':') { Type::Ipv6Addr } else { Type::Ipv4Addr };
    let v = ty.parse(text)?;
    Ok(Expr::new(ExprKind::Value(v), ty, ty.bits(), ty.order()))
}

impl Stmt {
    /// `left op right`.
    pub fn matches(left: Expr, op: MatchOp, right: Expr) -> Stmt {
        Stmt::new(StmtKind::Match(Match { left, op, right }))
    }

    /// `left == right` (`left { set }` for sets).
    pub fn eq(left: Expr, right: Expr) -> Stmt {
        Stmt::matches(left, MatchOp::Eq, right)
    }

    /// `left != right`.
    pub fn ne(left: Expr, right: Expr) -> Stmt {
        Stmt::matches(left, MatchOp::Ne, right)
    }

    pub fn verdict(v: Verdict) -> Stmt {
        Stmt::new(StmtKind::Verdict(v))
    }

    /// `counter` (zeroed).
    pub fn counter() -> Stmt {
        Stmt::new(StmtKind::Counter(Counter::default()))
    }

    /// The same statement flagged implicit (hidden from listings).
    pub fn implicit(mut self) -> Stmt {
        self.implicit = true;
        self
    }
}

impl Chain {
    /// A base chain with policy accept and no devices.
    pub fn base(name: impl Into<String>, chain_type: ChainType, hook: Hook, priority: i32) -> Chain {
        let mut c = Chain::new(name);
        c.base = Some(BaseChain {
            chain_type,
            hook,
            priority,
            policy: Policy::Accept,
            devices: Vec::new(),
            offload: false,
            span: Span::default(),
        });
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_typed_expressions() {
        let dport = payload(Proto::Tcp, "dport").unwrap();
        assert_eq!((dport.ty, dport.bits, dport.order), (Type::InetService, 16, ByteOrder::Network));
        let v = dport.parse("ssh").unwrap();
        assert_eq!(v.as_value().unwrap().bytes(), &[0, 22]);
        let mark = meta(MetaKey::Mark);
        assert_eq!(mark.number(1).unwrap().as_value().unwrap().bytes(), &[1, 0, 0, 0]);
        assert!(ct(CtKey::Src, Some(CtDir::Original), None).is_none());
        assert_eq!(ct(CtKey::Src, Some(CtDir::Original), Some(Family::Ip6)).unwrap().bits, 128);
        let c = concat(vec![payload(Proto::Ip, "saddr").unwrap(), dport]);
        assert_eq!(c.bits, 64);
    }
}
