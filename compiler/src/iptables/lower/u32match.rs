//! `-m u32`: the kernel's xt match itself, as iptables-nft loads it (nft's payload
//! expressions cannot follow `@` offsets read from the packet). Both engines run it
//! (`match name u32` in the bytecode).

use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::u32bpf::{U32, U32Op};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::u32match::{Step, U32Match, U32Test};
use nftvm_vm::expr::xt::XtMatch;

pub fn u32(m: &U32, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut tests = Vec::new();
    for t in &m.tests {
        let Some(&(None, start)) = t.location.first() else {
            return Err(Unsupported::new("internal: a u32 location starts with a number"));
        };
        let steps = t.location[1..]
            .iter()
            .map(|&(op, n)| match op {
                Some(U32Op::And) => Ok(Step::And(n)),
                Some(U32Op::LeftShift) => Ok(Step::Shl(n)),
                Some(U32Op::RightShift) => Ok(Step::Shr(n)),
                Some(U32Op::At) => Ok(Step::At(n)),
                None => Err(Unsupported::new("internal: a u32 step without its operator")),
            })
            .collect::<LResult<Vec<Step>>>()?;
        tests.push(U32Test { start, steps, ranges: t.values.clone() });
    }
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::U32(U32Match { tests, invert: m.invert })))])
}
