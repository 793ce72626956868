//! Expressions: constants, loads, operators, sets and maps — each with its nft datatype,
//! width and byte order.

use super::load::{Ct, Exthdr, Fib, Hash, Numgen, Payload};
use super::set::SetLit;
use super::stmt::Verdict;
use super::{MetaKey, Span};
use crate::proto::Proto;
use crate::proto::rt::RtKey;
use crate::proto::selector::TunnelKey;
use crate::proto::socket::SocketKey;
use crate::proto::xfrm::{XfrmDir, XfrmKey};
use crate::types::{ByteOrder, Type, Value};

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// nft datatype (`Type::Invalid` for concatenations, whose members carry the types).
    pub ty: Type,
    /// Width in bits of what the expression yields (a load's field width, a constant's width;
    /// for strings the field width, e.g. 128 for `iifname`).
    pub bits: u32,
    /// Byte order of the yielded value in a register.
    pub order: ByteOrder,
    pub span: Span,
}

/// What an expression is.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    // ---- constants (right-hand sides, set elements, statement arguments) ----
    /// A constant of the expression's type and width.
    Value(Value),
    /// The top `len` bits of `value` (`10.0.0.0/8`); for string types the first `len / 8`
    /// bytes (`"eth*"` is `Prefix { value: "eth" padded, len: 24 }`).
    Prefix {
        value: Value,
        len: u32,
    },
    /// `low-high`, inclusive (`80-90`, `10.0.0.1-10.0.0.9`).
    Range {
        low: Value,
        high: Value,
    },
    /// The catch-all set element `*`.
    CatchAll,
    /// A verdict as a value (verdict-map data).
    Verdict(Verdict),

    // ---- loads ----
    Payload(Payload),
    Exthdr(Exthdr),
    Meta(MetaKey),
    /// `meta protocol` / `meta l4proto` of the packet inside a tunnel: only ever a guard the
    /// compiler inserts before a field of that packet (nft's inner dependencies), listed
    /// hidden; `inner` in bytecode.
    InnerMeta {
        tunnel: Proto,
        key: MetaKey,
    },
    Ct(Ct),
    Rt(RtKey),
    Fib(Fib),
    /// `socket <key> [level N]`.
    Socket {
        key: SocketKey,
        level: u32,
    },
    /// `osf [ttl loose|skip] name|version`; `ttl` is the NF_OSF_TTL_* mode.
    Osf {
        ttl: u8,
        version: bool,
    },
    Numgen(Numgen),
    Hash(Hash),
    /// `ipsec in|out [spnum N] <key>`.
    Ipsec {
        dir: XfrmDir,
        spnum: u32,
        key: XfrmKey,
    },
    /// `tunnel path|id`.
    Tunnel(TunnelKey),

    // ---- composites ----
    /// `lhs & rhs`, `|`, `^`, `<<`, `>>` (the right operand of shifts is a plain number).
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a . b . c`: members in order; each member is padded to 32-bit words in registers.
    Concat(Vec<Expr>),
    /// An anonymous set (or map/vmap data) written inline.
    Set(Box<SetLit>),
    /// `@name`: a named set or map of the same table.
    SetRef(String),
    /// `key map { … }` / `key vmap @m`: the expression's type is the map's data type
    /// (`Type::Verdict` for verdict maps).
    Map(Box<MapLookup>),
}

/// `key map|vmap data`.
#[derive(Clone, Debug, PartialEq)]
pub struct MapLookup {
    pub key: Expr,
    /// An [`ExprKind::Set`] with data in every element, or an [`ExprKind::SetRef`] to a map.
    pub map: Expr,
}

/// Binary operators (`expr_binop_precedence` order: shifts bind tightest, then `&`, `^`, `|`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

impl BinOp {
    /// The symbol nft prints.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }

    /// Precedence as nft prints parentheses (lower binds tighter).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Shl | BinOp::Shr => 1,
            BinOp::And => 2,
            BinOp::Xor => 3,
            BinOp::Or => 4,
        }
    }
}

impl Expr {
    /// An expression of the given kind and type.
    pub fn new(kind: ExprKind, ty: Type, bits: u32, order: ByteOrder) -> Expr {
        Expr { kind, ty, bits, order, span: Span::default() }
    }

    /// The same expression with a source span.
    pub fn at(mut self, span: Span) -> Expr {
        self.span = span;
        self
    }

    /// The same set key as `other` by value, wherever each was written (spans ignored, a
    /// concatenation member by member).
    pub fn same_key(&self, other: &Expr) -> bool {
        match (&self.kind, &other.kind) {
            (ExprKind::Concat(x), ExprKind::Concat(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.same_key(q))
            }
            (x, y) => x == y,
        }
    }

    /// True for constants (values, prefixes, ranges, catch-all, verdicts, and concatenations
    /// or sets made of them).
    pub fn is_constant(&self) -> bool {
        match &self.kind {
            ExprKind::Value(_)
            | ExprKind::Prefix { .. }
            | ExprKind::Range { .. }
            | ExprKind::CatchAll
            | ExprKind::Verdict(_)
            | ExprKind::Set(_)
            | ExprKind::SetRef(_) => true,
            ExprKind::Concat(parts) => parts.iter().all(Expr::is_constant),
            _ => false,
        }
    }

    /// True for expressions that read the packet or its state (a match's left side).
    pub fn is_load(&self) -> bool {
        matches!(
            self.kind,
            ExprKind::Payload(_)
                | ExprKind::Exthdr(_)
                | ExprKind::Meta(_)
                | ExprKind::InnerMeta { .. }
                | ExprKind::Ct(_)
                | ExprKind::Rt(_)
                | ExprKind::Fib(_)
                | ExprKind::Socket { .. }
                | ExprKind::Osf { .. }
                | ExprKind::Numgen(_)
                | ExprKind::Hash(_)
                | ExprKind::Ipsec { .. }
                | ExprKind::Tunnel(_)
        )
    }

    /// The constant, when this is a plain value.
    pub fn as_value(&self) -> Option<&Value> {
        match &self.kind {
            ExprKind::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The payload, when this is a payload load.
    pub fn as_payload(&self) -> Option<&Payload> {
        match &self.kind {
            ExprKind::Payload(p) => Some(p),
            _ => None,
        }
    }

    /// Register width of a concatenation of members of these widths (each padded to 32 bits).
    pub fn concat_bits(members: &[Expr]) -> u32 {
        members.iter().map(|m| m.bits.div_ceil(32) * 32).sum()
    }

    /// Visit this expression and every sub-expression (pre-order).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            ExprKind::Concat(parts) => parts.iter().for_each(|p| p.walk(f)),
            ExprKind::Set(s) => {
                for e in &s.elems {
                    e.key.walk(f);
                    if let Some(d) = &e.data {
                        d.walk(f);
                    }
                }
            }
            ExprKind::Map(m) => {
                m.key.walk(f);
                m.map.walk(f);
            }
            ExprKind::Hash(h) => {
                if let Some(e) = &h.expr {
                    e.walk(f);
                }
            }
            _ => {}
        }
    }
}
