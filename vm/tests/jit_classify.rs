//! The native query against the interpreter's, on trees deep enough to matter: random
//! classifiers of a few hundred entries over addresses and ports (many wide nodes, per-key
//! trees, several parts), every rule ending the chain so the JIT runs the tree's query in
//! native code, and packets drawn inside the entries' boxes (or anywhere, or cut short so a
//! field is absent; some trees filter a part on the port a short packet lacks). Both engines
//! must decide every packet by the same rule.
//!
//! `jit_diff` and the filetests reach only small trees; the ClassBench traces
//! (`opt_classbench`, in the root crate) reach deep ones through the compiler. This test keeps
//! the engine-level check in this crate: a wrong path through a wide node fails it.

use nftvm_testkit::Rng;
use nftvm_vm::interp::{NullEnv, PacketCtx};
use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, Engine, Executable, text, verify};
use std::sync::Arc;

/// Field widths in bytes: source and destination address, source and destination port.
const WIDTHS: [u32; 4] = [4, 4, 2, 2];
/// Address blocks the entries' prefixes come from (so boxes overlap and nest).
const BLOCKS: [u32; 5] = [0x0a00_0000, 0x0a01_0000, 0xc0a8_0000, 0xac10_0000, 0x5e00_0000];

/// One entry's box: per field an inclusive range, `None` for any value (absent included).
type Box4 = [Option<(u32, u32)>; 4];

/// An address prefix, or any address one time in `wild`.
fn address(r: &mut Rng, wild: u64) -> Option<(u32, u32)> {
    if r.chance(wild) {
        return None;
    }
    let base = *r.pick(&BLOCKS) | (r.next_u64() as u32 & 0xffff);
    let len = *r.pick(&[8u32, 16, 20, 24, 24, 28, 32, 32]);
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    Some((base & mask, base | !mask))
}

fn port(r: &mut Rng) -> Option<(u32, u32)> {
    match r.below(4) {
        0 => None,
        1 => {
            let lo = r.below(2048) as u32;
            Some((lo, lo + r.below(4096) as u32))
        }
        _ => service(r),
    }
}

/// One of a few well-known ports.
fn service(r: &mut Rng) -> Option<(u32, u32)> {
    let p = (*r.pick(&[22u32, 53, 80, 443, 1024, 8080, 65535]) + r.below(3) as u32).min(65535);
    Some((p, p))
}

/// A box; with `wild` below 20, addresses are often open and the destination port is one
/// service (so the port is the sparse key of the entries wide in both addresses).
fn entry_box(r: &mut Rng, wild: u64) -> Box4 {
    let dport = if wild < 20 { service(r) } else { port(r) };
    [address(r, wild), address(r, wild), port(r), dport]
}

/// The program: one classifier over the four fields, rule `i` asks for entry `i`, sets
/// `meta mark` to `i + 1` and accepts.
fn program_text(boxes: &[Box4]) -> String {
    let mut t = String::from(
        "table ip f\n\
         chain ip f c type filter hook input priority 0 policy drop\n\
         classifier ip f __classify0 chain c first 0\n\
         \trecipe 4 [ payload load 4b @ network header + 12 => reg 1 ]\n\
         \trecipe 4 [ payload load 4b @ network header + 16 => reg 1 ]\n\
         \trecipe 2 [ payload load 2b @ transport header + 0 => reg 1 ]\n\
         \trecipe 2 [ payload load 2b @ transport header + 2 => reg 1 ]\n",
    );
    for (f, w) in WIDTHS.iter().enumerate() {
        t.push_str(&format!("\tfield {f} recipe {f} bytes 0-{}\n", w - 1));
    }
    for (i, b) in boxes.iter().enumerate() {
        let mut line = format!("\tentry {i}");
        for (f, iv) in b.iter().enumerate() {
            let digits = 2 * WIDTHS[f] as usize;
            match iv {
                Some((lo, hi)) if lo == hi => line.push_str(&format!(" f{f} 0x{lo:0digits$x}")),
                Some((lo, hi)) => line.push_str(&format!(" f{f} 0x{lo:0digits$x}-0x{hi:0digits$x}")),
                None => {}
            }
        }
        if b.iter().all(Option::is_none) {
            line.push_str(" *");
        }
        t.push_str(&line);
        t.push('\n');
    }
    for i in 0..boxes.len() {
        t.push_str(&format!(
            "\nip f c\n  [ classify __classify0 entry {i} ]\n  [ immediate reg 1 0x{:08x} ]\n  \
             [ meta set mark with reg 1 ]\n  [ immediate reg 0 accept ]\n",
            i + 1
        ));
    }
    t
}

/// An IPv4/TCP packet with these field values, cut after the IP header when `short` (its
/// ports are then absent).
fn packet(values: [u32; 4], short: bool) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    p.extend(values[0].to_be_bytes());
    p.extend(values[1].to_be_bytes());
    if !short {
        p.extend((values[2] as u16).to_be_bytes());
        p.extend((values[3] as u16).to_be_bytes());
        p.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0x72, 0x10, 0, 0, 0, 0]);
    }
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}

/// Field values inside `b` (or anywhere, for a field it does not test), near its edges often.
fn inside(r: &mut Rng, b: &Box4) -> [u32; 4] {
    let mut v = [0u32; 4];
    for (f, iv) in b.iter().enumerate() {
        let max = if WIDTHS[f] == 4 { u32::MAX } else { 65535 };
        let (lo, hi) = iv.unwrap_or((0, max));
        v[f] = match r.below(4) {
            0 => lo,
            1 => hi,
            _ => lo + (r.next_u64() % (u64::from(hi - lo) + 1)) as u32,
        };
    }
    v
}

/// Random classifiers tried.
const SEEDS: u64 = 16;

/// Does a part of the program's classifier filter on a port byte (fields 2 and 3)?
fn port_keyed_filter(prog: &nftvm_vm::Program) -> bool {
    let native = prog.classifiers.first().and_then(|c| c.tree.native());
    native.is_some_and(|t| t.parts.iter().filter_map(|p| p.filter).any(|f| f.hi.0 >= 2 || f.lo.0 >= 2))
}

#[test]
fn native_queries_decide_like_the_interpreter_on_deep_trees() {
    let (mut packets, mut decided, mut deep, mut port_keyed) = (0usize, 0usize, 0usize, 0usize);
    for seed in 0..SEEDS {
        let mut r = Rng::new(0xc1a5_5000 + seed);
        let n = 150 + r.below(350);
        // The last seeds leave half the addresses open and give every entry one destination
        // port: the port becomes a part's filter key, which a short packet lacks.
        let wild = if seed < 12 { 20 } else { 2 };
        let boxes: Vec<Box4> = (0..n).map(|_| entry_box(&mut r, wild)).collect();
        let text = program_text(&boxes);
        let prog = text::assemble(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let prog = Arc::new(verify(prog).unwrap_or_else(|e| panic!("seed {seed}: {e}")));
        let stats = prog.classifiers.first().map(|c| c.tree.stats).unwrap_or_default();
        deep += usize::from(stats.wides >= 8);
        port_keyed += usize::from(port_keyed_filter(&prog));
        let interp = Executable::new(Arc::clone(&prog), Engine::Interp).expect("interpreter");
        let jit = Executable::new(Arc::clone(&prog), Engine::Jit).expect("jit");
        let (mut s_interp, mut s_jit) = (interp.new_state(0), jit.new_state(0));
        for k in 0..400 {
            let values = match r.below(8) {
                0 => [r.next_u64() as u32, r.next_u64() as u32, r.below(65536) as u32, r.below(65536) as u32],
                _ => {
                    let b = boxes[r.below(n)];
                    inside(&mut r, &b)
                }
            };
            let short = r.chance(5);
            let run = |exe: &Executable, state: &mut _| {
                let mut bytes = packet(values, short);
                let mut pkt = PacketCtx::from_ip(&mut bytes, Hook::Input);
                exe.run_chain(state, ChainId(0), &mut pkt, &mut NullEnv)
            };
            let (a, b) = (run(&interp, &mut s_interp), run(&jit, &mut s_jit));
            assert_eq!(
                (a.verdict, a.decided_by),
                (b.verdict, b.decided_by),
                "seed {seed}, packet {k}: values {values:08x?}, short {short}: the engines differ"
            );
            packets += 1;
            decided += usize::from(a.decided_by.is_some());
        }
    }
    println!(
        "jit_classify: {packets} packets, {decided} decided by a rule, {deep} of {SEEDS} trees with 8+ wide \
         nodes, {port_keyed} with a part filter keyed on a port"
    );
    assert!(deep >= 6, "only {deep} trees are deep");
    assert!(port_keyed >= 2, "only {port_keyed} trees filter a part on a port");
    assert!(decided * 2 >= packets, "only {decided} of {packets} packets matched a rule");
}
