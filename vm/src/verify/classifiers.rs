//! The verifier's rule for classifiers ([`crate::classify`]): each is well formed (recipes
//! are loads and transforms the verifier accepts, fields fit their recipes, every box has one
//! interval per field), its run exists — rule `first + i` of its chain starts with
//! `classify` of entry `i`, and no `classify` appears anywhere else — and its tree is sound
//! and was built for this program's rules.

use super::{Check, VerifyError};
use crate::classify::{MAX_FIELDS, effects};
use crate::expr::Expr;
use crate::program::{ChainId, ClassifierId, Program};

pub(crate) fn check(p: &Program) -> Result<(), VerifyError> {
    for (i, c) in p.classifiers.iter().enumerate() {
        let err = |message: String| VerifyError {
            place: format!("classifier {}", c.name),
            rule: None,
            expr: None,
            message,
        };
        one(p, ClassifierId(i as u32)).map_err(err)?;
    }
    for (ci, chain) in p.chains.iter().enumerate() {
        for (ri, rule) in chain.rules.iter().enumerate() {
            for (ei, e) in rule.exprs.iter().enumerate() {
                let Expr::Classify(x) = e else { continue };
                let placed = p.classifier(x.classifier).is_some_and(|c| {
                    ei == 0 && c.chain == ChainId(ci as u32) && c.first as usize + x.entry as usize == ri
                });
                if !placed {
                    return Err(VerifyError {
                        place: format!("chain {}", chain.name),
                        rule: Some(ri),
                        expr: Some((ei, "classify")),
                        message: "classify outside its classifier's run".into(),
                    });
                }
            }
        }
    }
    Ok(())
}

fn one(p: &Program, id: ClassifierId) -> Result<(), String> {
    let c = p.classifier(id).ok_or("missing")?;
    let table = p.table(c.table).ok_or("belongs to a missing table")?;
    let chain = p
        .chain(c.chain)
        .filter(|ch| ch.table == c.table)
        .ok_or("its chain is missing or in another table")?;
    if p.classifiers.iter().filter(|o| o.name == c.name).count() > 1 {
        return Err("its name is not unique".into());
    }
    if c.recipes.len() > MAX_FIELDS || c.fields.len() > MAX_FIELDS {
        return Err(format!("more than {MAX_FIELDS} recipes or fields"));
    }
    for (ri, r) in c.recipes.iter().enumerate() {
        r.check().map_err(|m| format!("recipe {ri}: {m}"))?;
        let mut chk = Check::new(p, table.family, c.chain, None);
        for e in &r.exprs {
            e.check(&mut chk).map_err(|m| format!("recipe {ri}: {m}"))?;
        }
    }
    for (fi, f) in c.fields.iter().enumerate() {
        let r =
            c.recipes.get(f.recipe as usize).ok_or_else(|| format!("field {fi}: no recipe {}", f.recipe))?;
        if f.width == 0 || f.width > 4 || f.offset as usize + f.width as usize > r.len as usize {
            return Err(format!("field {fi} does not fit its recipe"));
        }
    }
    for (ei, e) in c.entries.iter().enumerate() {
        for b in &e.boxes {
            if b.len() != c.fields.len() || b.iter().any(|iv| iv.lo > iv.hi) {
                return Err(format!("entry {ei} has a malformed box"));
            }
        }
    }
    if c.end() as usize > chain.rules.len() {
        return Err("its run goes past the end of the chain".into());
    }
    for i in 0..c.entries.len() {
        let starts = chain.rules.get(c.first as usize + i).and_then(|r| r.exprs.first());
        let ok = matches!(starts, Some(Expr::Classify(x)) if x.classifier == id && x.entry as usize == i);
        if !ok {
            return Err(format!(
                "rule {} does not start with its classify (entry {i})",
                c.first as usize + i
            ));
        }
    }
    c.tree.check(c)?;
    if c.tree.flags != effects::run_flags(p, c) {
        return Err("the tree was built for other rules".into());
    }
    Ok(())
}
