//! Fuzz target: arbitrary text through the bytecode assembler, the input of `nftvm compile
//! --syntax bytecode`: assemble, verify, and for a program that assembles, its disassembly
//! must assemble again and disassemble to the same text (the text form is a fixpoint).
//! Nothing may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_vm::text::{assemble, disassemble};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(prog) = assemble(&text) else { return };
    let once = disassemble(&prog);
    let again = assemble(&once).unwrap_or_else(|e| panic!("the disassembly does not assemble: {e}\n{once}"));
    assert_eq!(disassemble(&again), once, "the text form is not a fixpoint");
    let _ = nftvm_vm::verify(prog);
});
