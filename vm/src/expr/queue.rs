//! `queue`: hand the packet to a userspace queue (nft_queue.c). The verdict is NF_QUEUE
//! with the queue number; the runtime decides what queueing means.

use crate::data::ByteOrder;
use crate::expr::numgen::scale;
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

pub const FLAG_BYPASS: u16 = 0x1;
pub const FLAG_CPU_FANOUT: u16 = 0x2;

#[derive(Clone, Debug, PartialEq)]
pub enum QueueTarget {
    /// Queues `num` .. `num + total - 1`.
    Num { num: u16, total: u16 },
    /// Queue number from a register (host-order u32).
    Reg(Reg),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    pub target: QueueTarget,
    pub flags: Option<u16>,
}

impl Queue {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let mut parts = Vec::new();
        match self.target {
            QueueTarget::Num { num, total } => {
                let last = num as u32 + total as u32 - 1;
                if total > 1 && last != num as u32 {
                    parts.push(format!("num {num}-{last}"));
                } else {
                    parts.push(format!("num {num}"));
                }
            }
            QueueTarget::Reg(r) => parts.push(format!("sreg_qnum {r}")),
        }
        let f = self.flags.unwrap_or(0);
        if f & FLAG_BYPASS != 0 {
            parts.push("bypass".into());
        }
        if f & FLAG_CPU_FANOUT != 0 {
            parts.push("fanout".into());
        }
        let _ = write!(o, "{}", parts.join(" "));
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Queue> {
        let target = match c.next()? {
            "num" => {
                let t = c.next()?;
                let (lo, hi) = t.split_once('-').unwrap_or((t, t));
                let num: u16 = lo.parse().map_err(|_| format!("bad queue number `{t}`"))?;
                let hi: u16 = hi.parse().map_err(|_| format!("bad queue number `{t}`"))?;
                if hi < num {
                    return Err(format!("bad queue range `{t}`"));
                }
                QueueTarget::Num { num, total: hi - num + 1 }
            }
            "sreg_qnum" => {
                let r = c.reg()?;
                a.consume(r, ByteOrder::Host);
                QueueTarget::Reg(r)
            }
            t => return Err(format!("expected `num` or `sreg_qnum`, found `{t}`")),
        };
        let mut flags = None;
        while let Some(t) = c.peek() {
            let bit = match t {
                "bypass" => FLAG_BYPASS,
                "fanout" => FLAG_CPU_FANOUT,
                _ => return Err(format!("unknown queue flag `{t}`")),
            };
            c.next()?;
            flags = Some(flags.unwrap_or(0) | bit);
        }
        Ok(Queue { target, flags })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self.target {
            QueueTarget::Num { total: 0, .. } => Err("queue range is empty".into()),
            QueueTarget::Reg(r) => c.read(r, 4),
            _ => Ok(()),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let flags = self.flags.unwrap_or(0);
        let num = match self.target {
            QueueTarget::Num { num, total } if total > 1 => {
                if flags & FLAG_CPU_FANOUT != 0 {
                    num
                } else {
                    num + scale(e.env.symhash(), total as u32) as u16
                }
            }
            QueueTarget::Num { num, .. } => num,
            QueueTarget::Reg(r) => match e.regs.load_u32(r) {
                Some(v) => v as u16,
                None => return e.brk(),
            },
        };
        e.regs.verdict = Verdict::Queue { num, bypass: flags & FLAG_BYPASS != 0 };
    }
}
