//! `nftvm list FILE --format iptables-save`.
//!
//! A ruleset read from an iptables-save file is printed from its typed model, canonically
//! (as iptables-save prints it, without the dated comment lines). An nft ruleset is mapped
//! back the way iptables-nft reads rules (`nftvm_compiler::iptables::from_ir`): the IPv4
//! tables, then the IPv6 tables after a `# ip6tables-save` line; whatever iptables cannot
//! express is left out and listed on stderr with its place, and the exit status is 1.

use crate::cli::{CmdResult, Failure};
use crate::load::Loaded;
use nftvm_compiler::iptables::SaveOptions;
use nftvm_compiler::iptables::from_ir::from_ir;
use nftvm_grammar::diag::render_all;

pub fn print(loaded: &Loaded) -> CmdResult {
    if let Some(rs) = &loaded.iptables {
        print!("{}", rs.save(SaveOptions::default()));
        return Ok(());
    }
    let (v4, v6, notes) = from_ir(&loaded.ruleset);
    print!("{}", v4.save(SaveOptions::default()));
    let six = v6.save(SaveOptions::default());
    if !six.is_empty() {
        println!("# ip6tables-save");
        print!("{six}");
    }
    if notes.is_empty() {
        return Ok(());
    }
    Err(Failure::negative(format!(
        "{}nftvm list: {} part(s) of the ruleset have no iptables form and were left out",
        render_all(&notes, &loaded.sources),
        notes.len()
    )))
}
