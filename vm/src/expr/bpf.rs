//! `match name bpf rev 1` — iptables' `-m bpf --bytecode`, run as iptables-nft runs it: the
//! kernel's match (`xt_bpf`) runs a classic BPF filter (what `nfbpf_compile` or
//! `tcpdump -ddd` on raw IP writes) over the packet from its network header; a non-zero
//! return matches. The filter is checked as the kernel checks one (`bpf_check_classic`:
//! known opcodes, jumps forward inside the program, no division by a zero constant, no shift
//! of 32 or more, scratch memory written before it is read, a return last) and run as the
//! kernel runs it: a load past the packet's end, or a division by a zero register, ends it
//! with 0. Loads at negative offsets read from the network header (`SKF_NET_OFF`);
//! ancillary data (`SKF_AD_OFF`) and link-layer loads are not supported and refused.

use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Most instructions xt_bpf takes (`XT_BPF_MAX_NUM_INSTR`).
pub const MAX_INSNS: usize = 64;
/// Words of scratch memory (`BPF_MEMWORDS`).
const MEMWORDS: usize = 16;
/// `SKF_NET_OFF`, `SKF_AD_OFF` and `SKF_LL_OFF` as offsets.
const NET_OFF: i64 = -0x10_0000;
const AD_OFF: i64 = -0x1000;

/// Instruction classes, sizes, modes, operations and sources (`linux/bpf_common.h`).
mod op {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;
    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;
}

/// Is `code` an instruction the kernel's classic BPF takes?
fn known(code: u16) -> bool {
    use op::*;
    let (class, size, mode) = (code & 0x07, code & 0x18, code & 0xe0);
    if code > 0xff {
        return false;
    }
    match class {
        LD => match mode {
            ABS | IND => matches!(size, W | H | B),
            IMM | MEM | LEN => size == W,
            _ => false,
        },
        LDX => matches!((mode, size), (IMM | MEM | LEN, W) | (MSH, B)),
        ST | STX => code == class,
        ALU => {
            let (operation, source) = (code & 0xf0, code & 0x08);
            code & 0x07 == ALU
                && match operation {
                    NEG => source == K,
                    ADD | SUB | MUL | DIV | OR | AND | LSH | RSH | MOD | XOR => true,
                    _ => false,
                }
        }
        JMP => match code & 0xf0 {
            JA => code == JMP,
            JEQ | JGT | JGE | JSET => code & 0x07 == JMP,
            _ => false,
        },
        RET => code == RET | K || code == RET | A,
        MISC => code == MISC | TAX || code == MISC | TXA,
        _ => false,
    }
}

/// One `-m bpf --bytecode` match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BpfMatch {
    pub program: Vec<Insn>,
}

/// Reads `size` bytes (4, 2 or 1) of the packet `ip` at `offset` (from the network header;
/// negative: `SKF_NET_OFF`-relative), big-endian; `None` past its end.
fn load(ip: &[u8], offset: i64, size: usize) -> Option<u32> {
    let at = if offset >= 0 {
        offset
    } else if offset >= NET_OFF {
        offset - NET_OFF
    } else {
        return None;
    };
    let at = usize::try_from(at).ok()?;
    let bytes = ip.get(at..at.checked_add(size)?)?;
    Some(bytes.iter().fold(0u32, |v, b| v << 8 | u32::from(*b)))
}

impl BpfMatch {
    /// Runs the filter over `ip` (the packet from its network header): its return value, 0
    /// when a load runs past the packet or a register divides by zero.
    pub fn run(&self, ip: &[u8]) -> u32 {
        use op::*;
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEMWORDS];
        let mut pc = 0usize;
        // Jumps only go forward (checked), so every step moves `pc` on.
        while let Some(i) = self.program.get(pc) {
            pc += 1;
            let k = i.k;
            let size = match i.code & 0x18 {
                W => 4,
                H => 2,
                _ => 1,
            };
            match i.code & 0x07 {
                LD => {
                    a = match i.code & 0xe0 {
                        mode @ (ABS | IND) => {
                            // IND adds X to the offset.
                            let index = if mode == IND { x as i32 } else { 0 };
                            let Some(v) = load(ip, i64::from((k as i32).wrapping_add(index)), size) else {
                                return 0;
                            };
                            v
                        }
                        MEM => mem[k as usize % MEMWORDS],
                        LEN => ip.len() as u32,
                        _ => k,
                    }
                }
                LDX => {
                    x = match i.code & 0xe0 {
                        MEM => mem[k as usize % MEMWORDS],
                        LEN => ip.len() as u32,
                        MSH => match load(ip, i64::from(k as i32), 1) {
                            Some(v) => (v & 0xf) << 2,
                            None => return 0,
                        },
                        _ => k,
                    }
                }
                ST => mem[k as usize % MEMWORDS] = a,
                STX => mem[k as usize % MEMWORDS] = x,
                ALU => {
                    let v = if i.code & 0x08 == X { x } else { k };
                    a = match i.code & 0xf0 {
                        ADD => a.wrapping_add(v),
                        SUB => a.wrapping_sub(v),
                        MUL => a.wrapping_mul(v),
                        DIV | MOD if v == 0 => return 0,
                        DIV => a / v,
                        MOD => a % v,
                        OR => a | v,
                        AND => a & v,
                        LSH => a << (v & 31),
                        RSH => a >> (v & 31),
                        NEG => a.wrapping_neg(),
                        _ => a ^ v,
                    }
                }
                JMP => {
                    let v = if i.code & 0x08 == X { x } else { k };
                    let taken = match i.code & 0xf0 {
                        JA => {
                            pc += k as usize;
                            continue;
                        }
                        JEQ => a == v,
                        JGT => a > v,
                        JGE => a >= v,
                        JSET => a & v != 0,
                        _ => false,
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                RET => return if i.code & 0x18 == A { a } else { k },
                _ => {
                    if i.code & 0xf8 == TXA {
                        a = x;
                    } else {
                        x = a;
                    }
                }
            }
        }
        0
    }

    /// The kernel's `bpf_check_classic`, and what nftvm does not run (ancillary and
    /// link-layer loads).
    pub fn validate(&self) -> Result<(), String> {
        use op::*;
        let n = self.program.len();
        if n == 0 || n > MAX_INSNS {
            return Err(format!("bpf: {n} instructions (1 to {MAX_INSNS})"));
        }
        if self.program.last().is_none_or(|i| i.code & 0x07 != RET) {
            return Err("bpf: the program does not end with a return".into());
        }
        // Scratch words written on every path to each instruction (bit per word).
        let mut written = vec![u16::MAX; n + 1];
        written[0] = 0;
        for (pc, i) in self.program.iter().enumerate() {
            let at =
                |what: &str| format!("bpf: instruction {pc} ({}:{}:{}:{}) {what}", i.code, i.jt, i.jf, i.k);
            if !known(i.code) {
                return Err(at("is not a classic BPF instruction"));
            }
            let (class, mode) = (i.code & 0x07, i.code & 0xe0);
            let mut have = written[pc];
            let reads_mem = matches!(class, LD | LDX) && mode == MEM;
            if (reads_mem || matches!(class, ST | STX)) && i.k as usize >= MEMWORDS {
                return Err(at("names scratch memory past word 15"));
            }
            if reads_mem && have & (1 << i.k) == 0 {
                return Err(at("reads scratch memory before it is written"));
            }
            if matches!(class, ST | STX) {
                have |= 1 << i.k;
            }
            if class == LD && mode == ABS && i64::from(i.k as i32) < 0 && i64::from(i.k as i32) >= AD_OFF {
                return Err(at("loads ancillary data, which nftvm does not provide"));
            }
            if matches!(class, LD | LDX) && matches!(mode, ABS | MSH) && i64::from(i.k as i32) < NET_OFF {
                return Err(at("loads from the link-layer header, which nftvm does not provide"));
            }
            if class == ALU && i.code & 0x08 == K {
                match i.code & 0xf0 {
                    DIV | MOD if i.k == 0 => return Err(at("divides by zero")),
                    LSH | RSH if i.k >= 32 => return Err(at("shifts by 32 or more")),
                    _ => {}
                }
            }
            let next: Vec<usize> = match class {
                RET => Vec::new(),
                JMP if i.code & 0xf0 == JA => vec![pc + 1 + i.k as usize],
                JMP => vec![pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf)],
                _ => vec![pc + 1],
            };
            for t in next {
                if t >= n {
                    return Err(at("jumps past the program's end"));
                }
                written[t] &= have;
            }
        }
        Ok(())
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name bpf rev 1 program ");
        let insns: Vec<String> =
            self.program.iter().map(|i| format!("{}:{}:{}:{}", i.code, i.jt, i.jf, i.k)).collect();
        o.push_str(&insns.join(","));
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<BpfMatch> {
        c.expect_all(&["name", "bpf", "rev", "1", "program"])?;
        let text = c.next()?;
        let program = text
            .split(',')
            .map(|insn| {
                let bad = || format!("expected CODE:JT:JF:K, found `{insn}`");
                let mut f = insn.split(':');
                let mut next = || f.next().ok_or_else(bad);
                let i = Insn {
                    code: next()?.parse().map_err(|_| bad())?,
                    jt: next()?.parse().map_err(|_| bad())?,
                    jf: next()?.parse().map_err(|_| bad())?,
                    k: next()?.parse().map_err(|_| bad())?,
                };
                match f.next() {
                    Some(_) => Err(bad()),
                    None => Ok(i),
                }
            })
            .collect::<Result<Vec<Insn>, String>>()?;
        Ok(BpfMatch { program })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        self.validate()
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let ip = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
        if self.run(ip) == 0 {
            e.brk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> BpfMatch {
        // `N,code jt jf k,…` as iptables takes it.
        let program = text
            .split(',')
            .skip(1)
            .map(|i| {
                let v: Vec<u32> = i.split_whitespace().map(|w| w.parse().expect("number")).collect();
                Insn { code: v[0] as u16, jt: v[1] as u8, jf: v[2] as u8, k: v[3] }
            })
            .collect();
        BpfMatch { program }
    }

    /// `tcpdump -ddd` on raw IP for `udp dst port 53` (IPv4 with its fragment test and
    /// header length, or IPv6): a DNS query matches, other ports and TCP do not, and a packet
    /// cut short before the port ends the program with 0.
    #[test]
    fn a_tcpdump_program_runs_on_raw_ip() {
        let f = program(
            "19,48 0 0 0,84 0 0 240,21 0 4 96,48 0 0 6,21 0 13 17,40 0 0 42,21 10 11 53,48 0 0 0,84 0 0 240,21 0 8 64,48 0 0 9,21 0 6 17,40 0 0 6,69 4 0 8191,177 0 0 0,72 0 0 2,21 0 1 53,6 0 0 65535,6 0 0 0",
        );
        f.validate().expect("a valid program");
        let udp = |dport: u16, proto: u8| {
            let mut p = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
            p.extend_from_slice(&[0x9c, 0x40]);
            p.extend_from_slice(&dport.to_be_bytes());
            p.extend_from_slice(&[0, 8, 0, 0]);
            p
        };
        assert_eq!(f.run(&udp(53, 17)), 65535);
        assert_eq!(f.run(&udp(54, 17)), 0);
        assert_eq!(f.run(&udp(53, 6)), 0);
        assert_eq!(f.run(&udp(53, 17)[..21]), 0, "cut short before the port");
    }

    /// What the kernel's checker refuses is refused.
    #[test]
    fn the_checker_refuses_what_the_kernel_refuses() {
        for (text, what) in [
            ("1,21 0 0 1", "does not end with a return"),
            ("2,21 1 0 1,6 0 0 0", "past the program's end"),
            ("2,5 0 0 1,6 0 0 0", "past the program's end"),
            ("2,52 0 0 0,6 0 0 0", "divides by zero"),
            ("2,100 0 0 32,6 0 0 0", "shifts by 32"),
            ("2,96 0 0 3,22 0 0 0", "before it is written"),
            ("2,32 0 0 4294963200,22 0 0 0", "ancillary"),
            ("2,255 0 0 0,6 0 0 0", "not a classic BPF instruction"),
        ] {
            let e = program(text).validate().expect_err(text);
            assert!(e.contains(what), "{text}: {e}");
        }
        // Written on one path only is not written.
        let e = program("5,21 0 1 0,2 0 0 3,96 0 0 3,22 0 0 0,6 0 0 0").validate().expect_err("one path");
        assert!(e.contains("before it is written"), "{e}");
        program("4,2 0 0 3,96 0 0 3,22 0 0 0,6 0 0 0").validate().expect("written first");
    }
}
