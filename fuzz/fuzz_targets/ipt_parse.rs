//! Fuzz target: arbitrary text as an iptables-save file and as iptables command lines, through
//! everything the iptables front end does with them: parse, validate, save-print, translate
//! to nft (`iptables::xlate`), lower to the IR (`iptables::lower`), then print and compile
//! the IR. Nothing may panic or hang. Two properties are checked: the saved text of a loaded
//! ruleset loads again without errors and saves to the same text, and bytecode that codegen
//! produces passes the verifier.
//!
//! Input: byte 0 picks the family (bit 0) and how lines are fed as command lines (bit 1:
//! split on whitespace like a shell without quotes; else the grammar's command-line parser
//! with a program name in front). The rest is the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_compiler::iptables::check::check_rule;
use nftvm_compiler::iptables::lower::{Lowerer, lower_ruleset};
use nftvm_compiler::iptables::xlate::restore::translate_restore;
use nftvm_compiler::iptables::xlate::{Mode, Translator};
use nftvm_compiler::iptables::{
    Command, CommandKind, Family, RestoreOptions, SaveOptions, load_restore, parse_argv, parse_command_line,
};
use nftvm_compiler::print::{ListOpts, json, nft};
use nftvm_grammar::SourceMap;
use nftvm_grammar::diag::render_all;
use std::hint::black_box;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let family = if mode & 1 == 0 { Family::Ipv4 } else { Family::Ipv6 };
    let text = String::from_utf8_lossy(rest);
    restore_file(&text, family);
    for line in text.lines().take(16) {
        command_line(line, family, mode & 2 != 0);
    }
});

/// The text as an iptables-save file.
fn restore_file(text: &str, family: Family) {
    let mut sources = SourceMap::new();
    let file = sources.add("fuzz.rules", text);
    let (typed, diags) =
        load_restore(&sources, file, RestoreOptions { family, counters: true, noflush: false });
    black_box(render_all(&diags, &sources));
    let saved = typed.save(SaveOptions { counters: true });
    if !diags.iter().any(|d| d.is_error()) {
        // The canonical form is a fixpoint: it loads cleanly and saves to itself.
        let mut again = SourceMap::new();
        let f2 = again.add("saved.rules", saved.clone());
        let (reloaded, d2) =
            load_restore(&again, f2, RestoreOptions { family, counters: true, noflush: false });
        assert!(
            !d2.iter().any(|d| d.is_error()),
            "saved ruleset does not load:\n{saved}\n{}",
            render_all(&d2, &again)
        );
        assert_eq!(reloaded.save(SaveOptions { counters: true }), saved, "save is not a fixpoint");
    }
    let x = translate_restore(&sources, file, family);
    black_box(render_all(&x.diagnostics, &sources));
    nft_side(&x.text());
    let (ir, ldiags) = lower_ruleset(&typed);
    black_box(render_all(&ldiags, &sources));
    // What the loader refused (a jump loop, an unknown option) is listed but not compiled:
    // the commands stop there, as `iptables-restore` does.
    let refused = diags.iter().chain(&ldiags).any(|d| d.is_error());
    ir_side(&ir, !refused);
}

/// One line as the arguments of an iptables command.
fn command_line(line: &str, family: Family, split: bool) {
    let mut sources = SourceMap::new();
    let (cmd, args): (Command, Vec<String>) = if split {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        match parse_argv(&mut sources, "<command line>", family, &args) {
            Ok((_, cmd)) => (cmd, args),
            Err(d) => {
                black_box(d.render(&sources));
                return;
            }
        }
    } else {
        let tool = if family == Family::Ipv4 { "iptables" } else { "ip6tables" };
        let file = sources.add("<command line>", format!("{tool} {line}"));
        match parse_command_line(&sources, file) {
            Ok((cl, cmd)) => {
                let args = cl.args.words().iter().map(|w| w.text.clone()).collect();
                (cmd, args)
            }
            Err(d) => {
                black_box(d.render(&sources));
                return;
            }
        }
    };
    let out = Translator::new(family, Mode::CommandLine).command(&cmd, &args);
    black_box(render_all(&out.warnings, &sources));
    let chain = match &cmd.kind {
        CommandKind::Append { chain }
        | CommandKind::Insert { chain, .. }
        | CommandKind::Delete { chain }
        | CommandKind::Replace { chain, .. }
        | CommandKind::Check { chain } => chain.text.clone(),
        _ => return,
    };
    let mut lowerer = Lowerer::new(family);
    for rule in &cmd.rules {
        black_box(rule.save_line(&chain, family));
        if let Err(d) = check_rule(rule, family, &cmd.table, &chain, &Default::default()) {
            black_box(d.render(&sources));
        }
        if let Ok(r) = lowerer.rule(rule, &cmd.table, &chain) {
            black_box(format!("{r:?}"));
        }
    }
}

/// Translated nft text goes through the nft front end (no property: the translation may
/// use what nftvm does not evaluate).
fn nft_side(text: &str) {
    let mut sources = SourceMap::new();
    if let Ok(file) = nftvm_grammar::nft::parse_str(&mut sources, "xlate.nft", text) {
        if let Ok(rs) = nftvm_compiler::eval::load(&file) {
            ir_side(&rs, true);
        }
    }
}

/// Printers on an IR ruleset, and codegen when it `loaded` cleanly: generated bytecode must
/// verify.
fn ir_side(rs: &nftvm_compiler::ir::Ruleset, loaded: bool) {
    let opts = ListOpts::default_listing();
    black_box(nft::ruleset(rs, &opts));
    black_box(json::ruleset(rs, &opts));
    if !loaded {
        return;
    }
    if let Ok(c) = nftvm_compiler::codegen::compile(rs) {
        if let Err(e) = nftvm_vm::verify(c.program) {
            panic!("generated bytecode fails verification: {e}");
        }
    }
}
