//! Interpreter cost of a linear chain of N rules (`ip saddr X tcp dport Y accept`, none
//! matching but the last), one TCP packet. The JIT bench will sit next to it.

use criterion::{Criterion, criterion_group, criterion_main};
use nftvm_vm::interp::{NullEnv, PacketCtx, ProgramState, run_chain};
use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, text, verify};
use std::hint::black_box;

const PACKET: &str = "4500002800010000400666cd0a0000010a0000020400001600000001000000005002721025b90000";

fn linear(n: usize) -> String {
    let mut t = String::from("table ip t\nchain ip t in type filter hook input priority 0 policy drop\n");
    for i in 0..n {
        let (addr, port) =
            if i + 1 == n { (0x0a00_0001u32, 22u16) } else { (0xc0a8_0000 + i as u32, 1000 + i as u16) };
        t += &format!(
            "\nip t in\n  [ payload load 4b @ network header + 12 => reg 1 ]\n  [ cmp eq reg 1 0x{addr:08x} ]\n  \
             [ meta load l4proto => reg 1 ]\n  [ cmp eq reg 1 0x06 ]\n  \
             [ payload load 2b @ transport header + 2 => reg 1 ]\n  [ cmp eq reg 1 0x{port:04x} ]\n  \
             [ immediate reg 0 accept ]\n"
        );
    }
    t
}

fn bench(c: &mut Criterion) {
    let bytes: Vec<u8> =
        (0..PACKET.len()).step_by(2).map(|i| u8::from_str_radix(&PACKET[i..i + 2], 16).unwrap()).collect();
    for n in [100usize, 1000] {
        let prog = verify(text::assemble(&linear(n)).unwrap()).unwrap();
        let mut state = ProgramState::new(&prog, 0);
        let mut buf = bytes.clone();
        c.bench_function(&format!("interp linear {n} rules"), |b| {
            b.iter(|| {
                let mut pkt = PacketCtx::from_ip(&mut buf, Hook::Input);
                let r = run_chain(&prog, &mut state, ChainId(0), &mut pkt, &mut NullEnv);
                black_box(r.verdict)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
