//! Fuzz target: arbitrary text through the bytecode assembler (`nftvm_vm::text`, the
//! language of the VM's filetests): assemble, then verify. The assembler is lenient where
//! the verifier reports with the place (an element that does not fit its set's key, …); for
//! a program that verifies, its disassembly must assemble again and disassemble to the same
//! text (the text form is a fixpoint). Nothing may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_vm::text::{assemble, disassemble};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(prog) = assemble(&text) else { return };
    let Ok(verified) = nftvm_vm::verify(prog) else { return };
    let once = disassemble(verified.program());
    let again = assemble(&once).unwrap_or_else(|e| panic!("the disassembly does not assemble: {e}\n{once}"));
    assert_eq!(disassemble(&again), once, "the text form is not a fixpoint");
});
