//! The assembler's state while it parses one rule: name resolution and register tracking.
//!
//! The text does not say a value's byte order, so the assembler infers it the way libnftnl's
//! printer tracks it: every expression that writes a register records the order (and length)
//! of what it wrote — `payload load` network order, `meta load mark` host order, `byteorder
//! … hton` network order — and a `cmp`, `range`, `bitwise` or set lookup reads its constant in
//! the order of the register it works on. Values whose order only their consumer knows (an
//! `immediate` before `meta set mark`, map data before `ct set zone`) are fixed up when the
//! consumer is parsed.

use crate::data::ByteOrder;
use crate::keys::Family;
use crate::program::{ChainId, ObjId, Program, SetId, TableId};
use crate::reg::{DATA_WORDS, Reg};
use crate::set::Set;
use crate::text::cursor::{Cursor, PResult};

/// Who wrote a register word, as far as byte order goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Producer {
    Unknown,
    Known(ByteOrder),
    /// An `immediate` (expression index in the rule) whose order its consumer decides.
    Expr(usize),
    /// Map data of a lookup, whose order its consumer decides.
    SetData(SetId),
}

/// A byte-order decision learnt from a consumer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fix {
    Expr(usize, ByteOrder),
    SetData(SetId, ByteOrder),
}

/// Parse state for one rule.
pub struct Asm<'p> {
    pub prog: &'p mut Program,
    pub table: TableId,
    pub family: Family,
    /// Create placeholder chains, sets and objects for unknown names (the `.payload` files
    /// reference sets and chains declared elsewhere).
    pub lenient: bool,
    /// Anonymous sets declared with this rule, bound in order to `__set%d` references.
    pub anon: Vec<SetId>,
    anon_next: usize,
    producers: [Producer; DATA_WORDS],
    lens: [u8; DATA_WORDS],
    /// Index of the expression being parsed.
    pub expr_index: usize,
    pub fixes: Vec<Fix>,
}

impl<'p> Asm<'p> {
    pub fn new(prog: &'p mut Program, table: TableId, family: Family, lenient: bool) -> Asm<'p> {
        Asm {
            prog,
            table,
            family,
            lenient,
            anon: Vec::new(),
            anon_next: 0,
            producers: [Producer::Unknown; DATA_WORDS],
            lens: [0; DATA_WORDS],
            expr_index: 0,
            fixes: Vec::new(),
        }
    }

    fn mark(&mut self, reg: Reg, len: usize, p: Producer) {
        if let Some(w) = reg.word() {
            let words = len.div_ceil(4).max(1);
            for i in w..(w + words).min(DATA_WORDS) {
                self.producers[i] = p;
                self.lens[i] = 0;
            }
            self.lens[w] = len.min(255) as u8;
        }
    }

    /// An expression wrote `len` bytes of known byte order at `reg`.
    pub fn wrote(&mut self, reg: Reg, len: usize, order: ByteOrder) {
        self.mark(reg, len, Producer::Known(order));
    }

    /// The current expression wrote a constant whose order its consumer will decide.
    pub fn wrote_pending(&mut self, reg: Reg, len: usize) {
        let idx = self.expr_index;
        self.mark(reg, len, Producer::Expr(idx));
    }

    /// A map lookup wrote its data at `reg`.
    pub fn wrote_set_data(&mut self, reg: Reg, len: usize, set: SetId) {
        self.mark(reg, len, Producer::SetData(set));
    }

    /// Copy the tracking of `len` bytes from `src` to `dst` (bitwise and friends).
    pub fn copied(&mut self, dst: Reg, src: Reg, len: usize) {
        let p = src.word().map_or(Producer::Unknown, |w| self.producers[w]);
        self.mark(dst, len, p);
    }

    /// The byte order of what `reg` holds (network when unknown).
    pub fn order(&self, reg: Reg) -> ByteOrder {
        match reg.word().map(|w| self.producers[w]) {
            Some(Producer::Known(o)) => o,
            _ => ByteOrder::Network,
        }
    }

    /// The order of the word `n` words after `reg`.
    pub fn order_at(&self, reg: Reg, n: usize) -> ByteOrder {
        match reg.word().and_then(|w| self.producers.get(w + n)) {
            Some(Producer::Known(o)) => *o,
            _ => ByteOrder::Network,
        }
    }

    /// Length of the value last written at `reg`, if known.
    pub fn len_of(&self, reg: Reg) -> Option<usize> {
        let w = reg.word()?;
        let l = self.lens[w];
        (l > 0).then_some(l as usize)
    }

    /// A consumer that needs `order` reads `reg`: settle a pending producer.
    pub fn consume(&mut self, reg: Reg, order: ByteOrder) {
        let Some(w) = reg.word() else { return };
        match self.producers[w] {
            Producer::Expr(i) => self.fixes.push(Fix::Expr(i, order)),
            Producer::SetData(s) => self.fixes.push(Fix::SetData(s, order)),
            _ => {}
        }
        self.producers[w] = Producer::Known(order);
    }

    /// An optional `keyword N` operand (`sreg_dev 1`): the register it names, consumed as
    /// `order`.
    pub fn source_operand(
        &mut self,
        c: &mut Cursor,
        keyword: &str,
        order: ByteOrder,
    ) -> PResult<Option<Reg>> {
        if !c.eat(keyword) {
            return Ok(None);
        }
        let reg = c.reg()?;
        self.consume(reg, order);
        Ok(Some(reg))
    }

    /// Resolves a set name: anonymous templates bind to this rule's anonymous sets in order.
    pub fn set_ref(&mut self, name: &str) -> PResult<SetId> {
        if name.contains('%') {
            let matching: Vec<SetId> =
                self.anon.iter().copied().filter(|s| self.prog.set_name(*s) == name).collect();
            if !matching.is_empty() {
                let id = matching[self.anon_next.min(matching.len() - 1)];
                self.anon_next += 1;
                return Ok(id);
            }
        }
        if let Some(id) = self.prog.find_set(self.table, name) {
            return Ok(id);
        }
        if self.lenient {
            return Ok(self.prog.add_set(Set::new(name, self.table, 0, Vec::new())));
        }
        Err(format!("unknown set `{name}`"))
    }

    pub fn chain_ref(&mut self, name: &str) -> PResult<ChainId> {
        if let Some(c) = self.prog.find_chain(self.table, name) {
            return Ok(c);
        }
        if self.lenient {
            return Ok(self.prog.add_chain(self.table, name, None));
        }
        Err(format!("unknown chain `{name}`"))
    }

    pub fn object_ref(&mut self, name: &str, obj_type: u32) -> PResult<ObjId> {
        if let Some(o) = self.prog.find_object(self.table, name, obj_type) {
            return Ok(o);
        }
        if self.lenient {
            let kind = crate::object::ObjectKind::Other { type_number: obj_type, args: String::new() };
            return Ok(self.prog.add_object(crate::object::Object {
                name: name.to_string(),
                table: self.table,
                kind,
            }));
        }
        Err(format!("unknown object `{name}`"))
    }

    /// A flowtable of the rule's table (lenient: a placeholder without devices).
    pub fn flowtable_ref(&mut self, name: &str) -> PResult<crate::program::FlowtableId> {
        if let Some(f) = self.prog.find_flowtable(self.table, name) {
            return Ok(f);
        }
        if self.lenient {
            return Ok(self.prog.add_flowtable(crate::flowtable::Flowtable {
                name: name.to_string(),
                table: self.table,
                priority: 0,
                devices: Vec::new(),
                counter: false,
            }));
        }
        Err(format!("unknown flowtable `{name}`"))
    }

    /// A lookup/dynset keyed by `reg`: the set's key fields take the orders of the register
    /// words they sit in, and its elements are re-read accordingly.
    pub fn key_from_reg(&mut self, set: SetId, reg: Reg) {
        let Some(s) = self.prog.sets.get(set.index()) else { return };
        let mut word = 0usize;
        let orders: Vec<ByteOrder> = s
            .key
            .iter()
            .map(|f| {
                let o = self.order_at(reg, word);
                word += (f.len as usize).div_ceil(4);
                o
            })
            .collect();
        if let Some(s) = self.prog.sets.get_mut(set.index()) {
            crate::text::elements::set_key_orders(s, &orders);
        }
    }
}
