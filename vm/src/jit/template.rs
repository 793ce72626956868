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

/// A row's first word: `shape | (source - source base) << SOURCE_SHIFT` (shape 0: none,
/// else 1 + its index); its columns follow. A row is as narrow as the function's shapes
/// allow — one word when no shape has a column, two for one, four for two (a power of two,
/// so no row straddles a cache line): the table is read at a random row per packet, and a
/// 10,000-rule run's table of 16-byte rows (≈ 150 KB) stayed in the cache less than one of
/// 8-byte rows does (ClassBench fw1_10K: 6 % fewer ns per packet).
const SHAPE_BITS: u32 = 0xff;
const SOURCE_SHIFT: u32 = 8;
/// A rule whose source is further than this above the smallest source of the function's
/// rules with a shape keeps its own code.
const MAX_SOURCE_DELTA: u32 = u32::MAX >> SOURCE_SHIFT;

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

/// The table of a function's shared actions (see [`SHAPE_BITS`] for its rows); it lives as
/// long as its code.
#[derive(Debug, Default)]
pub struct Tables {
    /// `words_per_row` words per rule of the function.
    words: Box<[u32]>,
    words_per_row: usize,
    /// What a row's source offset is added to.
    source_base: u32,
}

impl Tables {
    fn row_bytes(&self) -> i64 {
        4 * self.words_per_row as i64
    }

    /// Rule `k`'s shape index (`None`: it has none).
    fn shape(&self, k: usize) -> Option<usize> {
        let w = self.words.get(k * self.words_per_row)?;
        ((w & SHAPE_BITS) as usize).checked_sub(1)
    }

    /// The address of rule `k`'s row (`k` an `i64` below the function's rule count).
    fn row_address(&self, fx: &mut Fx, k: Value) -> Value {
        let offset = fx.b.ins().imul_imm_u(k, self.row_bytes());
        let table = fx.u64(self.words.as_ptr() as u64);
        fx.b.ins().iadd(table, offset)
    }

    fn rows(&self) -> usize {
        self.words.len() / self.words_per_row.max(1)
    }
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

/// The shapes of `rules` (a function's) and their table (shape 0: none). The function's
/// last rule keeps its own code when it goes on: what follows it is not one of the
/// function's rules.
fn assign(rules: &[Rule], family: Family, chains: usize) -> (Vec<Shape>, Tables) {
    let mut shapes: Vec<Shape> = Vec::new();
    let mut rows: Vec<Option<(usize, u32, Vec<u32>)>> = vec![None; rules.len()];
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
            *row = Some((index, rule.source.0, columns));
        }
    }
    let source_base = rows.iter().flatten().map(|r| r.1).min().unwrap_or(0);
    let columns = rows.iter().flatten().map(|r| r.2.len()).max().unwrap_or(0);
    let words_per_row = (1 + columns).next_power_of_two();
    let mut words = vec![0u32; rules.len() * words_per_row];
    for (row, r) in words.chunks_exact_mut(words_per_row).zip(&rows) {
        let Some((index, source, columns)) = r else { continue };
        let Some(delta) = source.checked_sub(source_base).filter(|d| *d <= MAX_SOURCE_DELTA) else {
            continue;
        };
        if let Some((head, tail)) = row.split_first_mut() {
            *head = (*index as u32 + 1) | delta << SOURCE_SHIFT;
            tail.iter_mut().zip(columns).for_each(|(w, c)| *w = *c);
        }
    }
    (shapes, Tables { words: words.into_boxed_slice(), words_per_row, source_base })
}

/// Which of `rules` (a function's) have a shared block.
pub fn covered(rules: &[Rule], family: Family, chains: usize) -> Vec<bool> {
    let tables = assign(rules, family, chains).1;
    (0..rules.len()).map(|k| tables.shape(k).is_some()).collect()
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
        let (shapes, tables) = assign(rules, family, chains);
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
        Some(Templates { shapes, tables, first })
    }

    /// Does rule `k` (of the function) have a shared block (its answer `2 * rule + 1` is
    /// taken by [`Templates::dispatch`])?
    pub fn covers(&self, k: usize) -> bool {
        self.tables.shape(k).is_some()
    }

    /// After rule `k`'s (of the function) `classify`: jumps to its shared block, if it has
    /// a shape (false when it has none: the rule's own code follows).
    pub fn jump_to(&self, fx: &mut Fx, k: usize) -> bool {
        let Some((_, block, _)) = self.tables.shape(k).and_then(|s| self.shapes.get(s)) else { return false };
        let index = fx.u32(k as u32);
        fx.b.ins().jump(*block, &[BlockArg::Value(index)]);
        true
    }

    /// Starts reading the row of rule `rule` (`i32`, the chain's index; any value) ahead of
    /// [`Templates::dispatch`], which needs it once the query has answered: rows are read at
    /// random, one per packet, from a table too large to stay in the cache, and the query's
    /// later parts run meanwhile. The load's value is not used; it stays in the code because
    /// it is not marked as one that cannot trap (its address, clamped into the table, never
    /// does).
    pub fn fetch_row(&self, fx: &mut Fx, rule: Value) {
        let Some(last) = self.tables.rows().checked_sub(1) else { return };
        let k = fx.b.ins().iadd_imm_s(rule, -(self.first as i64));
        let k = fx.b.ins().uextend(types::I64, k);
        let last = fx.u64(last as u64);
        let k = fx.b.ins().umin(k, last);
        let at = self.tables.row_address(fx, k);
        fx.b.ins().load(types::I32, MemFlagsData::new().with_aligned(), at, 0);
    }

    /// In the `skip` block: an answer (`2 * rule + 1`, the rule's actions) for a rule with a
    /// shape goes to its shared block; anything else on to `other`.
    pub fn dispatch(&self, fx: &mut Fx, answer: Value, other: Block) {
        let odd = fx.b.ins().band_imm_u(answer, 1);
        let past_classify = fx.b.ins().icmp_imm_u(IntCC::NotEqual, odd, 0);
        let rule = fx.b.ins().ushr_imm_u(answer, 1);
        let k = fx.b.ins().iadd_imm_s(rule, -(self.first as i64));
        let inside = fx.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, k, self.tables.rows() as i64);
        let both = fx.b.ins().band(inside, past_classify);
        let lookup = fx.new_block();
        fx.b.ins().brif(both, lookup, &[], other, &[]);
        fx.enter(lookup);
        let k64 = fx.b.ins().uextend(types::I64, k);
        let at = self.tables.row_address(fx, k64);
        let head = fx.b.ins().load(types::I32, MemFlagsData::trusted().with_readonly(), at, 0);
        let s = fx.b.ins().band_imm_u(head, i64::from(SHAPE_BITS));
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
        for (shape, block, index) in &self.shapes {
            fx.enter(*block);
            let k64 = fx.b.ins().uextend(types::I64, *index);
            let row = self.tables.row_address(fx, k64);
            let flags = MemFlagsData::trusted().with_readonly();
            let mut column: i32 = 1;
            for step in &shape.steps {
                match step {
                    Step::Column { dreg, len } => {
                        let v = fx.b.ins().load(types::I32, flags, row, 4 * column);
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
                End::Jump => Finish::Jump(fx.b.ins().load(types::I32, flags, row, 4 * column)),
            };
            let head = fx.b.ins().load(types::I32, flags, row, 0);
            let delta = fx.b.ins().ushr_imm_u(head, i64::from(SOURCE_SHIFT));
            let source = fx.b.ins().iadd_imm_u(delta, i64::from(self.tables.source_base));
            let rule = fx.b.ins().iadd_imm_u(*index, self.first as i64);
            done(fx, rule, source, finish);
        }
    }

    /// The tables, for the program to keep.
    pub fn into_tables(self) -> Tables {
        self.tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Executable};
    use crate::interp::{NullEnv, PacketCtx, RunOptions, RunResult};
    use crate::keys::Hook;
    use crate::program::{ChainId, Program, SourceId};
    use std::sync::Arc;

    /// A classified run on the source address 10.0.0.k: rules 0, 1 and 3 set the mark to
    /// 1 + k and accept (one column), rule 2 drops (none); the rules' sources as given.
    fn program(sources: [u32; 4]) -> Program {
        let mut text = String::from(
            "table ip f\nchain ip f c type filter hook input priority 0 policy accept\n\
             classifier ip f __classify0 chain c first 0\n\
             \trecipe 4 [ payload load 4b @ network header + 12 => reg 1 ]\n\
             \tfield 0 recipe 0 bytes 0-3\n",
        );
        for k in 0..4 {
            text.push_str(&format!("\tentry {k} f0 0x{:08x}\n", 0x0a00_0000 + k));
        }
        text.push('\n');
        for k in 0..4 {
            let actions = match k {
                2 => "  [ immediate reg 0 drop ]\n".to_string(),
                _ => format!(
                    "  [ immediate reg 1 0x{:08x} ]\n  [ meta set mark with reg 1 ]\n  [ immediate reg 0 accept ]\n",
                    k + 1
                ),
            };
            text.push_str(&format!("ip f c\n  [ classify __classify0 entry {k} ]\n{actions}\n"));
        }
        let mut prog = crate::text::program::assemble(&text).expect("assembles");
        for (rule, source) in prog.chains[0].rules.iter_mut().zip(sources) {
            rule.source = SourceId(source);
        }
        prog
    }

    #[test]
    fn rows_are_as_narrow_as_the_shapes_and_keep_each_rules_shape_and_source() {
        let sources = [7, 6 + MAX_SOURCE_DELTA, 8, 6];
        let prog = program(sources);
        let rules = &prog.chains[0].rules;
        let (shapes, tables) = assign(rules, Family::Ip, prog.chains.len());
        assert_eq!(shapes.len(), 2);
        // One column at most: two words a row.
        assert_eq!(tables.words_per_row, 2);
        assert_eq!(tables.source_base, 6);
        for (k, source) in sources.iter().enumerate() {
            let head = tables.words[k * tables.words_per_row];
            assert_eq!((head >> SOURCE_SHIFT) + tables.source_base, *source, "rule {k}");
        }
        assert_eq!(tables.words[1], 1, "rule 0's mark");
        // The same shape for rules 0, 1 and 3; the drop has its own.
        let shape: Vec<_> = (0..4).map(|k| tables.shape(k)).collect();
        assert_eq!(shape[0], shape[1]);
        assert_eq!(shape[0], shape[3]);
        assert!(shape[2].is_some() && shape[2] != shape[0]);
    }

    #[test]
    fn a_source_too_far_from_the_others_keeps_its_rules_own_code() {
        let prog = program([7, 8 + MAX_SOURCE_DELTA, 8, 9]);
        let covered = covered(&prog.chains[0].rules, Family::Ip, prog.chains.len());
        assert_eq!(covered, [true, false, true, true]);
    }

    #[test]
    fn the_deciding_rules_source_is_each_rules_own_on_both_engines() {
        for sources in [[7, 7 + MAX_SOURCE_DELTA, 8, 6], [7, 8 + MAX_SOURCE_DELTA, 8, 9], [u32::MAX, 0, 1, 2]]
        {
            let prog = Arc::new(crate::verify::verify(program(sources)).expect("verifies"));
            for engine in Engine::ALL {
                let exe = Executable::new(prog.clone(), engine).expect("compiles");
                let mut state = exe.new_state(0);
                for (k, opts) in (0..4u8).flat_map(|k| [(k, RunOptions::VERDICT), (k, RunOptions::TRACED)]) {
                    let mut data = [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, k, 10, 0, 0, 100];
                    let mut pkt = PacketCtx::from_ip(&mut data, Hook::Input);
                    let mut r = RunResult::default();
                    exe.run_chain_into(&mut state, ChainId(0), &mut pkt, &mut NullEnv, opts, &mut r);
                    let decided = r.decided_by.expect("a rule decides");
                    let want = (usize::from(k), SourceId(sources[usize::from(k)]));
                    assert_eq!((decided.rule, decided.source), want, "{engine:?} {sources:?} {opts:?}");
                }
            }
        }
    }
}
