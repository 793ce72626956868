//! The verifier rejects malformed programs with errors that name the place.

use nftvm_vm::expr::Expr;
use nftvm_vm::expr::immediate::{ImmValue, Immediate};
use nftvm_vm::{ChainId, Data, Program, Reg, Verdict, text, verify};

fn program(rules: &str) -> Program {
    let head = "table ip t\n\
        chain ip t in type filter hook input priority 0 policy accept\n\
        chain ip t a\nchain ip t b\n\
        set ip t s flags 0x0 key 16n\n\
        set ip t v flags 0x8 key 4n data verdict\n\
        set ip t m flags 0x8 key 4n data 4h\n";
    text::assemble(&format!("{head}\n{rules}")).expect("assembles")
}

fn err(rules: &str) -> String {
    match verify(program(rules)) {
        Ok(_) => panic!("verifier accepted:\n{rules}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn well_formed_program_passes() {
    let p = program(
        "ip t in\n  [ payload load 4b @ network header + 12 => reg 1 ]\n  [ lookup reg 1 set v dreg 0 ]\n\n\
         ip t in\n  [ immediate reg 0 jump -> a ]\n\n\
         ip t a\n  [ immediate reg 0 goto -> b ]\n",
    );
    verify(p).expect("valid");
}

#[test]
fn read_before_write() {
    let e = err("ip t in\n  [ cmp eq reg 1 0x01 ]\n");
    assert!(e.contains("chain ip t in") && e.contains("rule 0") && e.contains("expression 0 (cmp)"), "{e}");
    assert!(e.contains("before it is written"), "{e}");
    // a 4-byte write does not cover an 8-byte read
    let e = err("ip t in\n  [ meta load mark => reg 1 ]\n  [ cmp eq reg 1 0x00000001 0x00000002 ]\n");
    assert!(e.contains("expression 1 (cmp)"), "{e}");
}

#[test]
fn loads_must_fit_the_register_file() {
    let e = err("ip t in\n  [ payload load 8b @ network header + 0 => reg 23 ]\n");
    assert!(e.contains("overflow the register file"), "{e}");
    let e = err("ip t in\n  [ payload load 4b @ network header + 0 => reg 5 ]\n");
    assert!(e.contains("is not a register"), "{e}");
    let e = err("ip t in\n  [ payload load 4b @ network header + 0 => reg 0 ]\n");
    assert!(e.contains("verdict register"), "{e}");
    // a 16-byte set key read from reg 4 fits (bytes 48..64), from reg 20 it does not
    verify(program(
        "ip t in\n  [ payload load 16b @ network header + 8 => reg 4 ]\n  [ lookup reg 4 set s ]\n",
    ))
    .expect("fits");
    let e = err("ip t in\n  [ payload load 4b @ network header + 8 => reg 20 ]\n  [ lookup reg 20 set s ]\n");
    assert!(e.contains("expression 1 (lookup)"), "{e}");
}

#[test]
fn set_references_must_match() {
    let e = err("ip t in\n  [ meta load mark => reg 1 ]\n  [ lookup reg 1 set m dreg 0 ]\n");
    assert!(e.contains("verdict") || e.contains("data"), "{e}");
    let e = err("ip t in\n  [ meta load mark => reg 1 ]\n  [ lookup reg 1 set v dreg 2 ]\n");
    assert!(e.contains("verdict written to data register"), "{e}");
    // a missing set (built directly: the assembler would refuse the name)
    let mut p = program("ip t in\n  [ meta load mark => reg 1 ]\n  [ lookup reg 1 set m dreg 1 ]\n");
    if let Some(Expr::Lookup(l)) = p.chains[0].rules[0].exprs.get_mut(1) {
        l.set = nftvm_vm::SetId(42);
    }
    let e = verify(p).unwrap_err().to_string();
    assert!(e.contains("missing set"), "{e}");
}

#[test]
fn jump_targets_must_exist_and_not_be_base_chains() {
    let mut p = program("ip t in\n  [ immediate reg 0 jump -> a ]\n");
    p.chains[0].rules[0].exprs[0] = Expr::Immediate(Immediate::verdict(Verdict::Jump(ChainId(77))));
    let e = verify(p).unwrap_err().to_string();
    assert!(e.contains("missing chain"), "{e}");
    let mut p = program("ip t in\n  [ immediate reg 0 jump -> a ]\n");
    p.chains[0].rules[0].exprs[0] = Expr::Immediate(Immediate::verdict(Verdict::Goto(ChainId(0))));
    let e = verify(p).unwrap_err().to_string();
    assert!(e.contains("base chain"), "{e}");
    // data into the verdict register
    let mut p = program("ip t in\n  [ immediate reg 0 accept ]\n");
    p.chains[0].rules[0].exprs[0] =
        Expr::Immediate(Immediate { dreg: Reg(0), value: ImmValue::Data(Data::host_u32(1)) });
    assert!(verify(p).is_err());
}

#[test]
fn jump_loops_are_rejected() {
    let e = err(
        "ip t in\n  [ immediate reg 0 jump -> a ]\n\nip t a\n  [ immediate reg 0 jump -> b ]\n\nip t b\n  [ immediate reg 0 goto -> a ]\n",
    );
    assert!(e.contains("jump loop"), "{e}");
    // a loop through a verdict map element, reached from the base chain
    let p = text::assemble(
        "table ip t\nchain ip t in type filter hook input priority 0 policy accept\nchain ip t a\n\
         set ip t v flags 0x8 key 4n data verdict\n\telement 00000001 : jump -> a\n\n\
         ip t in\n  [ immediate reg 0 jump -> a ]\n\n\
         ip t a\n  [ meta load mark => reg 1 ]\n  [ lookup reg 1 set v dreg 0 ]\n",
    )
    .unwrap();
    assert!(verify(p).unwrap_err().to_string().contains("jump loop"));
}

/// The kernel loads a loop no base chain reaches (it checks what its hooks can run); so does
/// the verifier, but neither engine runs such a chain: it acts as a missing one.
#[test]
fn loops_no_base_chain_reaches_load_but_do_not_run() {
    use nftvm_vm::interp::{NullEnv, PacketCtx};
    use nftvm_vm::keys::Hook;
    use nftvm_vm::{Engine, Executable};
    let p = program(
        "ip t in\n  [ immediate reg 0 jump -> b ]\n\n\
         ip t a\n  [ immediate reg 0 goto -> a ]\n\n\
         ip t b\n  [ immediate reg 0 drop ]\n",
    );
    let v = std::sync::Arc::new(verify(p).expect("a loop no base chain reaches loads"));
    let (a, b) = (ChainId(1), ChainId(2));
    assert!(!v.runnable(a) && v.runnable(b) && v.runnable(ChainId(0)));
    for engine in Engine::ALL {
        let exe = Executable::new(v.clone(), engine).expect("engine");
        let mut state = exe.new_state(0);
        let mut bytes = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let mut pkt = PacketCtx::from_ip(&mut bytes, Hook::Input);
        let r = exe.run_chain(&mut state, a, &mut pkt, &mut NullEnv);
        assert_eq!((r.verdict, r.decided_by), (Verdict::Accept, None), "{engine}: the looping chain");
        let r = exe.run_chain(&mut state, ChainId(0), &mut pkt, &mut NullEnv);
        assert_eq!(r.verdict, Verdict::Drop, "{engine}: the base chain runs");
    }
}

#[test]
fn jump_depth_is_limited_as_in_the_kernel() {
    let build = |depth: usize| {
        let mut t =
            String::from("table ip t\nchain ip t in type filter hook input priority 0 policy accept\n");
        for i in 0..depth {
            t += &format!("chain ip t c{i}\n");
        }
        t += "\nip t in\n  [ immediate reg 0 jump -> c0 ]\n";
        for i in 0..depth.saturating_sub(1) {
            t += &format!("\nip t c{i}\n  [ immediate reg 0 jump -> c{} ]\n", i + 1);
        }
        text::assemble(&t).unwrap()
    };
    verify(build(15)).expect("15 nested jumps are fine");
    let e = verify(build(16)).unwrap_err().to_string();
    assert!(e.contains("deep"), "{e}");
}

#[test]
fn context_rules() {
    let e = err("ip t in\n  [ immediate reg 1 0x0a000001 ]\n  [ nat snat ip addr_min reg 1 ]\n");
    assert!(e.contains("not allowed in a filter chain"), "{e}");
    let e = err("ip t in\n  [ meta load l4proto => reg 1 ]\n  [ meta set l4proto with reg 1 ]\n");
    assert!(e.contains("cannot be set"), "{e}");
    let e = err("ip t in\n  [ meta load mark => reg 1 ]\n  [ byteorder reg 1 = hton(reg 1, 3, 3) ]\n");
    assert!(e.contains("unit size"), "{e}");
}

#[test]
fn set_elements_must_fit_the_declaration() {
    let p =
        text::assemble("table ip t\nset ip t s flags 0x0 key 4n\n\telement 0a000001	element 0001\n").unwrap();
    let e = verify(p).unwrap_err().to_string();
    assert!(e.contains("set s") && e.contains("element 1"), "{e}");
}

#[test]
fn flow_offload_runs_in_the_forward_hook_only() {
    let head = "table ip t\ntable ip u\n\
        chain ip t fwd type filter hook forward priority 0 policy accept\n\
        chain ip t in type filter hook input priority 0 policy accept\n\
        flowtable ip t ft hook ingress priority 0 device eth0\n\
        flowtable ip u other hook ingress priority 0 device eth0\n\n";
    let ok =
        text::assemble(&format!("{head}ip t fwd\n  [ flow_offload flowtable ft ]\n")).expect("assembles");
    // The declaration survives disassembly and reassembly.
    let again = text::assemble(&text::disassemble(&ok)).expect("reassembles");
    assert_eq!(again.flowtables, ok.flowtables);
    verify(ok).expect("valid in forward");
    let p = text::assemble(&format!("{head}ip t in\n  [ flow_offload flowtable ft ]\n")).expect("assembles");
    let e = verify(p).expect_err("input hook").to_string();
    assert!(e.contains("flow offload is not allowed in the input hook"), "{e}");
    // Another table's flowtable cannot be named, and an unknown one is an assembler error.
    let mut p =
        text::assemble(&format!("{head}ip t fwd\n  [ flow_offload flowtable ft ]\n")).expect("assembles");
    if let Some(Expr::FlowOffload(f)) = p.chains[0].rules[0].exprs.first_mut() {
        f.flowtable = nftvm_vm::FlowtableId(1);
    }
    let e = verify(p).expect_err("other table").to_string();
    assert!(e.contains("belongs to another table"), "{e}");
    let e =
        text::assemble(&format!("{head}ip t fwd\n  [ flow_offload flowtable nope ]\n")).expect_err("unknown");
    assert!(e.to_string().contains("unknown flowtable `nope`"), "{e}");
}

/// A set needs a key: one declared without (`key` missing, or an anonymous set of a rule
/// block that has no elements and is never looked up) is refused, naming the set. The
/// `vm_asm` fuzz target found both: their disassembly (`key ` and nothing) did not assemble.
#[test]
fn a_set_needs_a_key() {
    let p = text::assemble("table ip t\nset ip t s flags 0x0\n").expect("the assembler is lenient");
    let e = verify(p).expect_err("no key").to_string();
    assert!(e.contains("set s") && e.contains("has no key"), "{e}");
}

/// `physdev_mt_check`: an output port test needs `--physdev-is-bridged` (not inverted) in
/// the output hook, where locally generated packets are not known to leave by a bridge; a
/// match must make some test.
#[test]
fn physdev_output_port_tests_need_bridged_traffic_in_the_output_hook() {
    let head = "table ip t\n\
        chain ip t out type filter hook output priority 0 policy accept\n\
        chain ip t post type filter hook postrouting priority 0 policy accept\n\n";
    let rule = |chain: &str, tests: &str, invert: &str| {
        text::assemble(&format!(
            "{head}ip t {chain}\n  [ match name physdev rev 0 tests {tests} invert {invert} in - out eth1 ]\n"
        ))
        .expect("assembles")
    };
    verify(rule("post", "0x02", "0x00")).expect("an output port test in postrouting");
    verify(rule("out", "0x06", "0x00")).expect("with --physdev-is-bridged in output");
    let e = verify(rule("out", "0x12", "0x00")).expect_err("output hook").to_string();
    assert!(e.contains("is not allowed in the output hook"), "{e}");
    let e = verify(rule("out", "0x06", "0x04")).expect_err("! --physdev-is-bridged").to_string();
    assert!(e.contains("is not allowed in the output hook"), "{e}");
    let e = verify(rule("post", "0x00", "0x00")).expect_err("no test").to_string();
    assert!(e.contains("no test"), "{e}");
}

/// `policy_mt_check`: an input policy is tested where packets are received (prerouting,
/// input, forward), an output policy where they are sent (forward, output, postrouting).
#[test]
fn ipsec_policy_directions_follow_the_hook() {
    let head = "table ip t\n\
        chain ip t in type filter hook input priority 0 policy accept\n\
        chain ip t fwd type filter hook forward priority 0 policy accept\n\
        chain ip t post type filter hook postrouting priority 0 policy accept\n\n";
    let rule = |chain: &str, dir: &str| {
        text::assemble(&format!("{head}ip t {chain}\n  [ match name policy rev 0 dir {dir} pol none ]\n"))
            .expect("assembles")
    };
    for (chain, dir) in [("in", "in"), ("fwd", "in"), ("fwd", "out"), ("post", "out")] {
        verify(rule(chain, dir)).unwrap_or_else(|e| panic!("{dir} in {chain}: {e}"));
    }
    let e = verify(rule("in", "out")).expect_err("output policy in input").to_string();
    assert!(e.contains("output policy (`--dir out`) is not allowed in the input hook"), "{e}");
    let e = verify(rule("post", "in")).expect_err("input policy in postrouting").to_string();
    assert!(e.contains("input policy (`--dir in`) is not allowed in the postrouting hook"), "{e}");
}
