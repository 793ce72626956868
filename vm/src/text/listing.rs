//! `.payload` listings: blocks of `nft --debug=netlink` output, each assembled on its own
//! (sets and chains it names but does not declare become placeholders) and printed back
//! exactly as written. This is what the round-trip conformance test runs on.

use crate::keys::Family;
use crate::program::{ChainId, Program, SourceId};
use crate::text::block::{self, AnonLines};
use crate::text::cursor::PResult;

/// One assembled block.
#[derive(Clone, Debug)]
pub struct Block {
    pub program: Program,
    pub chain: ChainId,
    /// The header line's words as written (`ip test-ip4 input`, or just `ip`), if any.
    pub header: Option<Vec<String>>,
    pub sets: Vec<AnonLines>,
}

/// Splits listing text into blocks at blank lines.
pub fn split_blocks(text: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                blocks.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        blocks.push(cur);
    }
    blocks
}

/// Assembles one block leniently.
pub fn assemble_block(lines: &[&str]) -> PResult<Block> {
    let raw = block::split(lines)?;
    let mut program = Program::new();
    let (family, table, chain) = match &raw.header {
        Some(h) => {
            let f = h.first().and_then(|f| Family::from_name(f)).unwrap_or(Family::Ip);
            (f, h.get(1).cloned().unwrap_or_default(), h.get(2).cloned().unwrap_or_default())
        }
        None => (Family::Ip, String::new(), String::new()),
    };
    // Anonymous set declarations name their table; use it when the header has none.
    let table_name = if table.is_empty() {
        raw.sets.iter().find_map(|(d, _, _)| d.as_ref().map(|d| d.table.clone())).unwrap_or_default()
    } else {
        table
    };
    let t = program.add_table(family, &table_name);
    let c = program.add_chain(t, &chain, None);
    let sets = block::resolve(&mut program, &raw, t, c, true, SourceId(0))?;
    Ok(Block { program, chain: c, header: raw.header, sets })
}

/// Prints a block back.
pub fn print_block(b: &Block) -> String {
    let mut out = String::new();
    let Some(rule) = b.program.chain(b.chain).and_then(|c| c.rules.first()) else { return out };
    block::print(&b.program, b.chain, rule, Some(&b.sets), Some(&b.header), &mut out);
    out
}
