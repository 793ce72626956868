//! Shared actions for classified rules. The rules of a classified run usually do the same
//! thing with different constants (`meta mark set 17 accept`, `meta mark set 18 accept`, …).
//! Compiled rule by rule, every answer of the classifier jumps through a table of thousands
//! of code addresses into code that is cold by then; a 10,000-rule run is a megabyte of such
//! code. Here the rules whose actions (what follows their `classify`) have the same shape
//! share one block instead: it takes the rule's index, reads the rule's constants and source
//! id from a table, and performs the actions — the same stores, environment calls and
//! verdict the rule's own code would, so nothing but the code's size changes.
//!
//! A shape: `immediate` data of 1 to 4 bytes into a register (its value is a column of the
//! table), `meta set`/`ct set` of 1 to 4 bytes (compiled to one environment call, never a
//! helper that would need the rule), in any order, ending with an accept or drop verdict,
//! a `jump` (its chain is a column: the shared block calls the chain the table names) — or
//! with none (`meta mark set 17` alone): the rule goes on to the next one, whose own
//! `classify` asks about the packet as it is then.

use super::emit::Fx;
use super::exprs::data_word;
use crate::expr::Expr;
use crate::expr::ct::{self as ctx, CtOp};
use crate::expr::immediate::{ImmValue, Immediate};
use crate::expr::meta::{MetaOp, key_len};
use crate::keys::{CtKey, Family, MetaKey};
use crate::program::Rule;
use crate::reg::Reg;
use crate::verdict::Verdict;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, MemFlagsData, Value, condcodes::IntCC, types};

/// Most columns (immediates) a shape has.
const MAX_COLUMNS: usize = 2;
/// Most shapes per function (the dispatch compares a rule's shape with each in turn).
const MAX_SHAPES: usize = 255;

/// A rule's line of the table: all a shared block needs, in one 16-byte piece of one
/// cache line (the dispatch reads the shape, the shared block the rest, one miss in all).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(16))]
struct Row {
    /// 0, or 1 + the rule's shape.
    shape: u32,
    source: u32,
    columns: [u32; MAX_COLUMNS],
}

/// Byte offsets in a [`Row`].
const ROW_BYTES: i64 = std::mem::size_of::<Row>() as i64;
const SOURCE_AT: i32 = std::mem::offset_of!(Row, source) as i32;
const COLUMNS_AT: i32 = std::mem::offset_of!(Row, columns) as i32;

/// One step of a shape.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// `immediate` data of `len` bytes into `dreg`: the next column.
    Column { dreg: Reg, len: usize },
    /// An expression every rule of the shape has, compiled as is.
    Same(Expr),
}

#[derive(Clone, Debug, PartialEq)]
struct Shape {
    steps: Vec<Step>,
    end: End,
}

/// How a shape's rules end.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    /// Accept or drop.
    Verdict(Verdict),
    /// No verdict: on to the next rule.
    Next,
    /// A jump to the chain in the row's last column.
    Jump,
}

/// How a shared block finishes the rule it ran ([`Templates::emit`]'s `done`).
pub enum Finish {
    /// Accept or drop.
    Verdict(Verdict),
    /// On to the next rule.
    Next,
    /// Jump to this chain (an `i32` chain index), then on to the next rule.
    Jump(Value),
}

/// The table of a function's shared actions; it lives as long as its code.
#[derive(Debug, Default)]
pub struct Tables {
    /// Per rule of the function.
    rows: Box<[Row]>,
}

/// The shared actions of one function (rules `first..first + n` of a chain).
pub struct Templates {
    shapes: Vec<(Shape, Block, Value)>,
    tables: Tables,
    first: usize,
}

/// The shape of a rule's actions (`exprs[1..]`, after its `classify`) and its columns.
/// A jump to a chain beyond the program's `chains` has none (it keeps the rule's own code).
fn shape_of(rule: &Rule, family: Family, chains: usize) -> Option<(Shape, Vec<u32>)> {
    let actions = rule.exprs.get(1..)?;
    let (end, target, steps) = match actions.split_last()? {
        (Expr::Immediate(Immediate { value: ImmValue::Verdict(v), .. }), steps) => match *v {
            v @ (Verdict::Accept | Verdict::Drop) => (End::Verdict(v), None, steps),
            Verdict::Jump(t) if t.index() < chains => (End::Jump, Some(t.0), steps),
            _ => return None,
        },
        _ => (End::Next, None, actions),
    };
    let fits = |reg: Reg, len: usize| (1..=4).contains(&len) && reg.span(len).is_some();
    let mut shape = Shape { steps: Vec::new(), end };
    let mut columns = Vec::new();
    for e in steps {
        let step = match e {
            Expr::Immediate(i) => match &i.value {
                ImmValue::Data(d) if fits(i.dreg, d.len()) => {
                    columns.push(data_word(d.bytes(), 0));
                    Step::Column { dreg: i.dreg, len: d.len() }
                }
                _ => return None,
            },
            Expr::Meta(m) => match m.op {
                MetaOp::Set { sreg } if MetaKey::ALL.contains(&m.key) && fits(sreg, key_len(m.key)) => {
                    Step::Same(e.clone())
                }
                _ => return None,
            },
            Expr::Ct(c) => match c.op {
                CtOp::Set { sreg }
                    if CtKey::ALL.contains(&c.key) && fits(sreg, ctx::key_len(c.key, family)) =>
                {
                    Step::Same(e.clone())
                }
                _ => return None,
            },
            _ => return None,
        };
        shape.steps.push(step);
    }
    columns.extend(target);
    (columns.len() <= MAX_COLUMNS).then_some((shape, columns))
}

/// The shapes of `rules` (a function's) and per rule its row (shape 0: none). The
/// function's last rule keeps its own code when it goes on: what follows it is not one of
/// the function's rules.
fn assign(rules: &[Rule], family: Family, chains: usize) -> (Vec<Shape>, Vec<Row>) {
    let mut shapes: Vec<Shape> = Vec::new();
    let mut rows = vec![Row::default(); rules.len()];
    for (k, rule) in rules.iter().enumerate() {
        if !matches!(rule.exprs.first(), Some(Expr::Classify(_))) {
            continue;
        }
        let Some((shape, columns)) = shape_of(rule, family, chains) else { continue };
        if !matches!(shape.end, End::Verdict(_)) && k + 1 == rules.len() {
            continue;
        }
        let index = match shapes.iter().position(|s| *s == shape) {
            Some(i) => i,
            None if shapes.len() < MAX_SHAPES => {
                shapes.push(shape);
                shapes.len() - 1
            }
            None => continue,
        };
        if let Some(row) = rows.get_mut(k) {
            row.shape = index as u32 + 1;
            row.source = rule.source.0;
            for (c, v) in row.columns.iter_mut().zip(&columns) {
                *c = *v;
            }
        }
    }
    (shapes, rows)
}

/// Which of `rules` (a function's) have a shared block.
pub fn covered(rules: &[Rule], family: Family, chains: usize) -> Vec<bool> {
    assign(rules, family, chains).1.iter().map(|r| r.shape != 0).collect()
}

impl Templates {
    /// The shared actions of `rules` (rule `first` onwards) whose `classify` is followed by
    /// a shape; `None` when there are none.
    pub fn new(
        fx: &mut Fx,
        rules: &[Rule],
        first: usize,
        family: Family,
        chains: usize,
    ) -> Option<Templates> {
        let (shapes, rows) = assign(rules, family, chains);
        if shapes.is_empty() {
            return None;
        }
        let shapes = shapes
            .into_iter()
            .map(|shape| {
                let block = fx.new_block();
                let index = fx.b.append_block_param(block, types::I32);
                (shape, block, index)
            })
            .collect();
        let tables = Tables { rows: rows.into_boxed_slice() };
        Some(Templates { shapes, tables, first })
    }

    /// Does rule `k` (of the function) have a shared block (its answer `2 * rule + 1` is
    /// taken by [`Templates::dispatch`])?
    pub fn covers(&self, k: usize) -> bool {
        self.tables.rows.get(k).is_some_and(|r| r.shape != 0)
    }

    /// After rule `k`'s (of the function) `classify`: jumps to its shared block, if it has
    /// a shape (false when it has none: the rule's own code follows).
    pub fn jump_to(&self, fx: &mut Fx, k: usize) -> bool {
        let shape = self.tables.rows.get(k).and_then(|r| (r.shape as usize).checked_sub(1));
        let Some((_, block, _)) = shape.and_then(|s| self.shapes.get(s)) else { return false };
        let index = fx.u32(k as u32);
        fx.b.ins().jump(*block, &[BlockArg::Value(index)]);
        true
    }

    /// In the `skip` block: an answer (`2 * rule + 1`, the rule's actions) for a rule with a
    /// shape goes to its shared block; anything else on to `other`.
    pub fn dispatch(&self, fx: &mut Fx, answer: Value, other: Block) {
        let odd = fx.b.ins().band_imm_u(answer, 1);
        let past_classify = fx.b.ins().icmp_imm_u(IntCC::NotEqual, odd, 0);
        let rule = fx.b.ins().ushr_imm_u(answer, 1);
        let k = fx.b.ins().iadd_imm_s(rule, -(self.first as i64));
        let inside = fx.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, k, self.tables.rows.len() as i64);
        let both = fx.b.ins().band(inside, past_classify);
        let lookup = fx.new_block();
        fx.b.ins().brif(both, lookup, &[], other, &[]);
        fx.enter(lookup);
        let k64 = fx.b.ins().uextend(types::I64, k);
        let offset = fx.b.ins().imul_imm_u(k64, ROW_BYTES);
        let table = fx.u64(self.tables.rows.as_ptr() as u64);
        let at = fx.b.ins().iadd(table, offset);
        let s = fx.b.ins().load(types::I32, MemFlagsData::trusted().with_readonly(), at, 0);
        for (i, (_, block, _)) in self.shapes.iter().enumerate() {
            let next = fx.new_block();
            let is = fx.b.ins().icmp_imm_u(IntCC::Equal, s, i as i64 + 1);
            fx.b.ins().brif(is, *block, &[BlockArg::Value(k)], next, &[]);
            fx.enter(next);
        }
        fx.jump(other);
    }

    /// Emits every shared block: `same` compiles an expression every rule of the shape has
    /// (as the first such rule's); `done` finishes the rule, given with its source as
    /// values, as [`Finish`] says.
    pub fn emit(
        &self,
        fx: &mut Fx,
        mut same: impl FnMut(&mut Fx, &Expr),
        mut done: impl FnMut(&mut Fx, Value, Value, Finish),
    ) {
        let rows = self.tables.rows.as_ptr() as u64;
        for (shape, block, index) in &self.shapes {
            fx.enter(*block);
            let k64 = fx.b.ins().uextend(types::I64, *index);
            let offset = fx.b.ins().imul_imm_u(k64, ROW_BYTES);
            let base = fx.u64(rows);
            let row = fx.b.ins().iadd(base, offset);
            let flags = MemFlagsData::trusted().with_readonly();
            let mut column: i32 = 0;
            for step in &shape.steps {
                match step {
                    Step::Column { dreg, len } => {
                        let v = fx.b.ins().load(types::I32, flags, row, COLUMNS_AT + 4 * column);
                        column += 1;
                        if let Some(w) = dreg.span(*len).map(|s| s.start / 4) {
                            fx.set_reg_word(w, v);
                        }
                    }
                    Step::Same(e) => same(fx, e),
                }
            }
            let finish = match shape.end {
                End::Verdict(v) => Finish::Verdict(v),
                End::Next => Finish::Next,
                End::Jump => Finish::Jump(fx.b.ins().load(types::I32, flags, row, COLUMNS_AT + 4 * column)),
            };
            let source = fx.b.ins().load(types::I32, flags, row, SOURCE_AT);
            let rule = fx.b.ins().iadd_imm_u(*index, self.first as i64);
            done(fx, rule, source, finish);
        }
    }

    /// The tables, for the program to keep.
    pub fn into_tables(self) -> Tables {
        self.tables
    }
}
