//! Recipes: how a classifier reads one value from the packet, and the field values of one
//! packet.
//!
//! A recipe is a short list of bytecode expressions — one load (`payload`, `meta`, `ct`)
//! into `reg 1`, then optionally `bitwise` and `byteorder` on `reg 1` — copied from the rules
//! the classifier replaces. Running them is the definition of the value; payload loads and
//! the metadata the VM derives itself are read directly (the same bytes), everything else
//! runs the expressions' own interpreter code on a saved register file, so a classifier
//! never changes the registers.

use super::{ABSENT, Classifier, MAX_FIELDS};
use crate::expr::Expr;
use crate::expr::bitwise::BitwiseOp;
use crate::expr::ct::CtOp;
use crate::expr::meta::MetaOp;
use crate::expr::payload::PayloadOp;
use crate::interp::Eval;
use crate::keys::{CtKey, MetaKey, PayloadBase};
use crate::reg::Reg;
use crate::verdict::Verdict;

/// Longest recipe value (an IPv6 address, an interface name).
pub const MAX_LEN: usize = 16;

/// How to read one value (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    pub exprs: Vec<Expr>,
    /// Bytes of the value at `reg 1` (1..=16).
    pub len: u8,
}

/// Metadata keys a classifier may read: values that depend only on the packet and its
/// context, read without side effects.
pub fn meta_key_ok(k: MetaKey) -> bool {
    use MetaKey::*;
    matches!(
        k,
        Len | Protocol
            | Priority
            | Mark
            | Iif
            | Oif
            | IifName
            | OifName
            | IifType
            | OifType
            | SkUid
            | SkGid
            | Secmark
            | Nfproto
            | L4proto
            | PktType
            | IifGroup
            | OifGroup
            | Cgroup
            | IifKind
            | OifKind
            | Sdif
            | SdifName
    )
}

/// Conntrack keys a classifier may read.
pub fn ct_key_ok(k: CtKey) -> bool {
    use CtKey::*;
    matches!(
        k,
        State
            | Direction
            | Status
            | Mark
            | Secmark
            | L3Protocol
            | Src
            | Dst
            | Protocol
            | ProtoSrc
            | ProtoDst
            | Zone
            | SrcIp
            | DstIp
            | SrcIp6
            | DstIp6
    )
}

impl Recipe {
    /// Is this a well-formed recipe: one allowed load into `reg 1` of `len` bytes, then only
    /// `bitwise` mask/xor or shifts and `byteorder` on `reg 1`? (The verifier's rule.)
    pub fn check(&self) -> Result<(), String> {
        let len = self.len as usize;
        if len == 0 || len > MAX_LEN {
            return Err(format!("recipe value of {len} bytes (1 to {MAX_LEN})"));
        }
        let (first, rest) = self.exprs.split_first().ok_or("empty recipe")?;
        let loaded = match first {
            Expr::Payload(p) => match p.op {
                PayloadOp::Load { dreg } if dreg == Reg::R1 => p.len as usize,
                _ => return Err("a recipe payload expression must load into reg 1".into()),
            },
            Expr::Meta(m) => match m.op {
                MetaOp::Load { dreg } if dreg == Reg::R1 && meta_key_ok(m.key) => {
                    crate::expr::meta::key_len(m.key)
                }
                _ => return Err(format!("meta {} cannot be classified", m.key)),
            },
            Expr::Ct(c) => match c.op {
                CtOp::Load { dreg } if dreg == Reg::R1 && ct_key_ok(c.key) => len,
                _ => return Err(format!("ct {} cannot be classified", c.key)),
            },
            _ => return Err(format!("a recipe starts with a load, not `{}`", first.name())),
        };
        if loaded < len {
            return Err(format!("recipe reads {len} bytes of a {loaded}-byte load"));
        }
        for x in rest {
            let ok = match x {
                Expr::Bitwise(b) => {
                    b.sreg == Reg::R1
                        && b.dreg == Reg::R1
                        && matches!(
                            b.op,
                            BitwiseOp::MaskXor { .. } | BitwiseOp::Lshift(_) | BitwiseOp::Rshift(_)
                        )
                }
                Expr::Byteorder(b) => b.sreg == Reg::R1 && b.dreg == Reg::R1,
                _ => false,
            };
            if !ok {
                return Err(format!("`{}` in a recipe", x.name()));
            }
        }
        Ok(())
    }

    /// Reads the value into `out` by running the expressions on a scratch copy of the
    /// registers; false when a load breaks (the value is absent). ([`plan`] reads the
    /// common cases straight from the packet instead.)
    pub fn read(&self, e: &mut Eval, out: &mut [u8; MAX_LEN]) -> bool {
        let len = (self.len as usize).min(MAX_LEN);
        let saved = e.regs.clone();
        e.regs.verdict = Verdict::Continue;
        for x in &self.exprs {
            x.eval(e);
            if e.regs.verdict != Verdict::Continue {
                break;
            }
        }
        let ok = e.regs.verdict == Verdict::Continue
            && match e.regs.get(Reg::R1, len) {
                Some(b) => {
                    out[..len].copy_from_slice(b);
                    true
                }
                None => false,
            };
        e.regs = saved;
        ok
    }
}

/// The big-endian number in `bytes` (at most 8).
pub fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// How [`read_fields`] reads one field: straight from the packet where its recipe is a
/// plain payload load or metadata the VM derives itself (the very bytes the recipe would
/// give), else by running the recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRead {
    /// Bytes `start + at .. start + at + width` after `base`, present when the recipe's
    /// whole load (`start .. start + len`) is in the packet.
    Payload { base: PayloadBase, start: u32, len: u8, at: u8, width: u8 },
    /// `meta l4proto` (the transport protocol the VM found; recipe `recipe` outside IP).
    L4proto { recipe: u8 },
    /// `meta nfproto`.
    Nfproto,
    /// Bytes `at .. at + width` of what recipe `recipe` computes.
    Recipe { recipe: u8, at: u8, width: u8 },
}

/// The way each of `c`'s fields is read.
pub fn plan(c: &Classifier) -> Vec<FieldRead> {
    c.fields
        .iter()
        .map(|f| {
            let fallback = FieldRead::Recipe { recipe: f.recipe, at: f.offset, width: f.width };
            let Some(r) = c.recipes.get(f.recipe as usize) else { return fallback };
            let inside = f.offset as usize + f.width as usize <= r.len as usize && (1..=4).contains(&f.width);
            match r.exprs.as_slice() {
                [Expr::Payload(p)] if inside && matches!(p.op, PayloadOp::Load { .. }) => {
                    FieldRead::Payload {
                        base: p.base,
                        start: p.offset,
                        len: p.len,
                        at: f.offset,
                        width: f.width,
                    }
                }
                [Expr::Meta(m)] if inside && r.len == 1 && m.key == MetaKey::L4proto => {
                    FieldRead::L4proto { recipe: f.recipe }
                }
                [Expr::Meta(m)] if inside && r.len == 1 && m.key == MetaKey::Nfproto => FieldRead::Nfproto,
                _ => fallback,
            }
        })
        .collect()
}

/// The big-endian number in `bytes` (1 to 4 bytes).
fn be_word(bytes: &[u8]) -> u64 {
    match *bytes {
        [a] => u64::from(a),
        [a, b] => u64::from(u16::from_be_bytes([a, b])),
        [a, b, c, d] => u64::from(u32::from_be_bytes([a, b, c, d])),
        _ => be(bytes),
    }
}

/// Every field's value for the packet under evaluation ([`ABSENT`] where the load breaks),
/// read as `plan` ([`plan`]) says.
pub fn read_fields(c: &Classifier, plan: &[FieldRead], e: &mut Eval, out: &mut [u64; MAX_FIELDS]) {
    // The last recipe run (fields of one recipe are usually adjacent).
    let mut ran: Option<(u8, bool, [u8; MAX_LEN])> = None;
    for (read, slot) in plan.iter().zip(out.iter_mut()) {
        *slot = match *read {
            FieldRead::Payload { base, start, len, at, width } => {
                let value = e.pkt.base_offset(base).and_then(|b| {
                    let off = b.checked_add(start as usize)?;
                    e.pkt.bytes(off, len as usize)?.get(at as usize..at as usize + width as usize)
                });
                value.map_or(ABSENT, be_word)
            }
            FieldRead::L4proto { .. } if e.pkt.l4proto_known() => u64::from(e.pkt.l4proto),
            FieldRead::Nfproto => u64::from(e.pkt.nfproto.number()),
            FieldRead::L4proto { recipe } => run_recipe(c, e, &mut ran, recipe, 0, 1),
            FieldRead::Recipe { recipe, at, width } => run_recipe(c, e, &mut ran, recipe, at, width),
        };
    }
}

/// Bytes `at .. at + width` of recipe `recipe`'s value, running it unless `ran` holds it.
fn run_recipe(
    c: &Classifier,
    e: &mut Eval,
    ran: &mut Option<(u8, bool, [u8; MAX_LEN])>,
    recipe: u8,
    at: u8,
    width: u8,
) -> u64 {
    if ran.is_none_or(|(r, _, _)| r != recipe) {
        let mut buf = [0u8; MAX_LEN];
        let ok = c.recipes.get(recipe as usize).is_some_and(|r| r.read(e, &mut buf));
        *ran = Some((recipe, ok, buf));
    }
    match ran {
        Some((_, true, buf)) => buf.get(at as usize..at as usize + width as usize).map_or(ABSENT, be),
        _ => ABSENT,
    }
}
