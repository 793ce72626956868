//! What a load expression reads: packet headers ([`Payload`], [`Exthdr`]), packet and
//! connection metadata (`meta`, [`Ct`], `rt`, [`Fib`], `socket`, `osf`, `ipsec`, `tunnel`)
//! and generated numbers ([`Numgen`], [`struct@Hash`]). The expression kinds themselves are in
//! [`super::expr::ExprKind`]; the parameter structs live here.

use super::expr::Expr;
use crate::proto::exthdr::{ExtDesc, ExthdrOp};
use crate::proto::misc::{HashKind, NumgenType};
use crate::proto::{Field, Proto};
use nftvm_vm::keys::{CtDir, CtKey, PayloadBase};

/// A header field: `tcp dport`, `ip saddr`, `vlan id`, raw `@th,16,16`, inner `vxlan ip saddr`.
///
/// Two identities: `proto` and `field` say *what* it is (printing, dependency rules); `base`,
/// `offset` and `len` say *where* it is (codegen). `offset` is in bits from the start of
/// `base` and already includes stacked link-layer headers (`ether type` after `vlan id` is
/// at bit 96 + 32·n … as nft computes it). Sub-byte fields (`ip dscp`, `ip6 flowlabel`) have
/// offsets and lengths that are not multiples of 8: codegen loads the covering bytes
/// ([`Payload::load_span`]) and masks/shifts.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    /// The protocol whose header holds the field; `None` for a raw payload (`@nh,8,8`).
    pub proto: Option<Proto>,
    /// The template field (name `""` for raw payloads).
    pub field: Field,
    /// Header the offset counts from.
    pub base: PayloadBase,
    /// Offset in bits from `base`.
    pub offset: u32,
    /// Length in bits.
    pub len: u32,
    /// For matches inside a tunnel (`vxlan ip saddr`, `gre ip protocol`): the tunnel protocol;
    /// `base`/`offset` then count inside the encapsulated packet.
    pub inner: Option<Proto>,
}

impl Payload {
    /// Byte offset and byte count of the smallest load covering the field.
    pub fn load_span(&self) -> (u32, u32) {
        let start = self.offset / 8;
        let end = (self.offset + self.len).div_ceil(8);
        (start, end - start)
    }

    /// True if the field does not start and end on byte boundaries.
    pub fn is_bitfield(&self) -> bool {
        !self.offset.is_multiple_of(8) || !self.len.is_multiple_of(8)
    }

    /// The printed selector (`tcp dport`, `@nh,8,8`, `vxlan ip saddr`).
    pub fn name(&self) -> String {
        let inner = match self.proto {
            Some(p) => format!("{} {}", p.name(), self.field.name),
            None => {
                let b = crate::proto::selector::RAW_BASES
                    .iter()
                    .find(|(_, pb)| *pb == self.base)
                    .map(|(w, _)| *w)
                    .unwrap_or("ll");
                format!("@{b},{},{}", self.offset, self.len)
            }
        };
        match self.inner {
            Some(t) => format!("{} {inner}", t.name()),
            None => inner,
        }
    }
}

/// An extension header, IPv4/TCP/DCCP option or SCTP chunk field (`exthdr` expression):
/// `frag more-fragments`, `tcp option maxseg size`, `ip option rr ptr`, `sctp chunk data tsn`.
/// With `field: None` it tests presence (`tcp option sack-perm exists`), yielding a boolean.
#[derive(Clone, Debug, PartialEq)]
pub struct Exthdr {
    pub op: ExthdrOp,
    /// The header/option/chunk description (names and fields).
    pub header: &'static ExtDesc,
    /// Header type / option kind / chunk type searched for.
    pub kind: u32,
    pub field: Option<Field>,
    /// `srh sid[2]`, `rt0 addr[1]`.
    pub index: Option<u32>,
}

impl Exthdr {
    /// Offset and length in bits inside the header (0/8 for presence tests).
    pub fn location(&self) -> (u32, u32) {
        match &self.field {
            Some(f) => (f.offset, f.len),
            None => (0, 8),
        }
    }
}

/// `ct [original|reply] <key>`. For `ct saddr`/`ct daddr` the expression's width (32 or 128)
/// says which family the address belongs to; `CtKey::SrcIp`… are the explicit
/// `ct original ip saddr` forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ct {
    pub key: CtKey,
    pub dir: Option<CtDir>,
}

/// `fib <flags> <result>`; `flags` are `proto::fib::flags::*` (PRESENT set for `check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fib {
    pub flags: u32,
    pub result: crate::proto::fib::FibResult,
}

/// `numgen inc|random mod N [offset M]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Numgen {
    pub mode: NumgenType,
    pub modulus: u32,
    pub offset: u32,
}

/// `jhash <expr> mod N [seed S] [offset M]` / `symhash mod N [offset M]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hash {
    pub kind: HashKind,
    /// What `jhash` hashes (None for `symhash`).
    pub expr: Option<Box<Expr>>,
    pub modulus: u32,
    /// `seed` when written (`jhash` only).
    pub seed: Option<u32>,
    pub offset: u32,
}
