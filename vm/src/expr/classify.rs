//! `classify`: the first expression of every rule in a classified run (an nftvm extension,
//! no kernel counterpart). `[ classify __classify0 entry 5 ]` asks the run's classifier
//! ([`crate::classify`]) for the first entry at or after 5 whose box holds the packet:
//!
//! - entry 5 itself: the rule goes on with its next expression (what its removed matches
//!   would have let through);
//! - a later entry `i`: the rule breaks and evaluation resumes at rule `first + i` of the
//!   chain, just after that rule's own `classify` — the rules in between are skipped, as a
//!   rule-by-rule walk would have found none of them matching;
//! - none: the rule breaks and evaluation resumes at the first rule after the run.
//!
//! The expression reads the packet through the classifier's recipes and writes no register.
//! Its verifier rule here only checks the reference; the verifier checks every classifier
//! as a whole (each rule of the run starts with its `classify`, the tree is sound).

use crate::interp::Eval;
use crate::program::{ClassifierId, Program};
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classify {
    pub classifier: ClassifierId,
    /// This rule's entry in the classifier.
    pub entry: u32,
}

/// Where evaluation goes on when a `classify` breaks its rule: a rule of the same chain and
/// the expression to start it at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    pub rule: u32,
    pub expr: u32,
}

impl Classify {
    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let name = p.classifier(self.classifier).map_or("?", |c| c.name.as_str());
        let _ = write!(o, "{name} entry {}", self.entry);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Classify> {
        let name = c.next()?;
        let classifier =
            a.prog.find_classifier(name).ok_or_else(|| format!("unknown classifier `{name}`"))?;
        c.expect("entry")?;
        let entry = c.num()?;
        Ok(Classify { classifier, entry })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let cl = c.prog.classifier(self.classifier).ok_or("reference to a missing classifier")?;
        if self.entry as usize >= cl.entries.len() {
            return Err(format!("entry {} of `{}`, which has {}", self.entry, cl.name, cl.entries.len()));
        }
        Ok(())
    }

    /// Where evaluation continues: `None` for this rule's next expression.
    pub fn resume(&self, e: &mut Eval) -> Option<Resume> {
        let prog = e.prog;
        let Some(c) = prog.classifier(self.classifier) else {
            return Some(Resume { rule: u32::MAX, expr: 0 });
        };
        self.resume_at(c, c.first_match(self.classifier, e, self.entry))
    }

    /// Where evaluation continues when `c`'s first matching entry from this rule's is `found`.
    pub fn resume_at(&self, c: &crate::classify::Classifier, found: Option<u32>) -> Option<Resume> {
        match found {
            Some(i) if i == self.entry => None,
            Some(i) => Some(Resume { rule: c.first + i, expr: 1 }),
            None => Some(Resume { rule: c.end(), expr: 0 }),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if let Some(r) = self.resume(e) {
            e.resume = Some(r);
            e.brk();
        }
    }
}
