//! The one way from a ruleset file to something an engine runs: read it (nft,
//! iptables-save or ip6tables-save through [`crate::load`], or the VM's bytecode text), check
//! it into the IR, generate and verify the bytecode, and keep the way back from each rule
//! to its source (`file:line` and the rule's text) for `--json` and `--trace`.
//!
//! Every subcommand that runs a ruleset (`eval`, `run`, `bench`) starts here:
//!
//! ```no_run
//! use nftvm::program::{self, Options};
//! use nftvm::runtime::host::Host;
//! use nftvm::vm::Engine;
//! # fn main() -> Result<(), nftvm::load::LoadError> {
//! let host = Host::from_specs(&["eth0=192.0.2.10/24".into()], &[]).expect("host model");
//! // Detect the syntax; `iif "eth0"` resolves to eth0's index in this host model.
//! let loaded = program::load("rules.nft".as_ref(), &Options::for_host(&host))?;
//! let exec = loaded.executable(Engine::Jit)?; // or Engine::Interp
//! let rule0 = loaded.location(nftvm::vm::SourceId(0)); // Some("rules.nft:4")
//! # let _ = (exec, rule0); Ok(()) }
//! ```
//!
//! Failures are [`LoadError`]s whose message is already rendered the way nft reports
//! errors (`file:line:col: Error: …` with the source line and carets).

use std::path::Path;
use std::sync::Arc;

use nftvm_compiler::codegen::{CodegenError, Origins};
use nftvm_compiler::ir::Ruleset;
use nftvm_compiler::opt;
use nftvm_compiler::types::with_interfaces;
use nftvm_grammar::SourceMap;
use nftvm_grammar::diag::Diagnostic;
use nftvm_runtime::host::Host;
use nftvm_vm::{Engine, Executable, SourceId, VerifiedProgram};

use crate::load::{self, LoadError, Syntax};

/// What a ruleset file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An nft ruleset (`nft -f`).
    Nft,
    /// An iptables-save file (IPv4).
    Iptables,
    /// An ip6tables-save file.
    Ip6tables,
    /// The VM's bytecode text (`nft --debug=netlink` layout, see `nftvm_vm::text`), for
    /// tests and hand-written programs; conventionally a `.nftvm` file.
    Bytecode,
}

impl Format {
    /// The values `--syntax` takes: `nft`, `iptables`, `ip6tables`, `bytecode`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "bytecode" => Some(Format::Bytecode),
            other => Syntax::from_name(other).map(Format::from),
        }
    }

    /// Guess from the file name and text: `.nftvm` is bytecode, anything else a ruleset
    /// whose syntax [`Syntax::detect`] decides.
    pub fn detect(name: &str, text: &str) -> Format {
        if Path::new(name).extension().is_some_and(|e| e == "nftvm") {
            Format::Bytecode
        } else {
            Syntax::detect(text).into()
        }
    }

    /// The ruleset syntax, `None` for bytecode.
    pub fn syntax(self) -> Option<Syntax> {
        match self {
            Format::Nft => Some(Syntax::Nft),
            Format::Iptables => Some(Syntax::Iptables),
            Format::Ip6tables => Some(Syntax::Ip6tables),
            Format::Bytecode => None,
        }
    }
}

impl From<Syntax> for Format {
    fn from(s: Syntax) -> Format {
        match s {
            Syntax::Nft => Format::Nft,
            Syntax::Iptables => Format::Iptables,
            Syntax::Ip6tables => Format::Ip6tables,
        }
    }
}

/// Where one rule of the program came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSource {
    /// `file:line` of the rule.
    pub location: Option<String>,
    /// The rule as written (nft text; for iptables input the `-A …` line).
    pub text: Option<String>,
}

/// A compiled, verified ruleset and the way back from its rules to the source.
#[derive(Clone, Debug)]
pub struct LoadedProgram {
    program: Arc<VerifiedProgram>,
    format: Format,
    /// Indexed by [`SourceId`].
    rules: Vec<RuleSource>,
    /// The checked IR the bytecode was generated from and each rule's place in it; `None`
    /// for bytecode text.
    ir: Option<Arc<(Ruleset, Origins)>>,
}

impl LoadedProgram {
    /// The verified bytecode, shareable between engines and threads.
    pub fn program(&self) -> &Arc<VerifiedProgram> {
        &self.program
    }

    /// What the input was written in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// `file:line` of the rule with this id.
    pub fn location(&self, id: SourceId) -> Option<&str> {
        self.rules.get(id.index())?.location.as_deref()
    }

    /// The source text of the rule with this id.
    pub fn text(&self, id: SourceId) -> Option<&str> {
        self.rules.get(id.index())?.text.as_deref()
    }

    /// Every rule's source, indexed by [`SourceId`].
    pub fn rules(&self) -> &[RuleSource] {
        &self.rules
    }

    /// A name for every rule, indexed by [`SourceId`]: its `file:line`, else `rule#N`.
    pub fn labels(&self) -> Vec<String> {
        let label = |(i, r): (usize, &RuleSource)| r.location.clone().unwrap_or_else(|| format!("rule#{i}"));
        self.rules.iter().enumerate().map(label).collect()
    }

    /// The checked IR (what `nft list ruleset` prints) and where each [`SourceId`] sits in
    /// it; `None` when the input was bytecode text.
    pub fn ir(&self) -> Option<(&Ruleset, &Origins)> {
        self.ir.as_deref().map(|(rs, o)| (rs, o))
    }

    /// The program prepared for `engine` (compiled to native code for the JIT).
    pub fn executable(&self, engine: Engine) -> Result<Executable, LoadError> {
        Executable::new(Arc::clone(&self.program), engine).map_err(|e| LoadError {
            message: format!("Error: the {engine} engine cannot run this ruleset: {e}\n"),
            invalid_input: false,
        })
    }
}

/// How to read a ruleset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// What the input is written in; `None` detects it ([`Format::detect`]).
    pub format: Option<Format>,
    /// The host the ruleset will run on. nft resolves interface names in `iif "eth0"`,
    /// `oif`, `fwd to` … to indexes on the running host when it adds a rule; nftvm resolves
    /// them against this host model (`lo` is always 1). Without it only `lo` and numbers
    /// are interfaces.
    pub host: Option<&'a Host>,
    /// The ipsets iptables rules may name (`-m set`), from `--ipset FILE`.
    pub ipsets: Option<&'a nftvm_compiler::ipset::Ipsets>,
}

impl<'a> Options<'a> {
    /// Detect the format; resolve interfaces on `host`.
    pub fn for_host(host: &'a Host) -> Options<'a> {
        Options { format: None, host: Some(host), ipsets: None }
    }
}

/// Reads and compiles the ruleset file at `path`, unoptimized (`-O0`: the bytecode nft
/// would send).
pub fn load(path: &Path, opts: &Options<'_>) -> Result<LoadedProgram, LoadError> {
    load_optimized(path, opts, &opt::Options::default())
}

/// [`load`] with the optimizer's passes `optimize` chooses (a bytecode file is run as
/// written).
///
/// [`load`]: fn@load
pub fn load_optimized(
    path: &Path,
    opts: &Options<'_>,
    optimize: &opt::Options,
) -> Result<LoadedProgram, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        message: format!("Error: Could not open file \"{}\": {e}\n", path.display()),
        invalid_input: false,
    })?;
    load_text_optimized(&path.to_string_lossy(), &text, opts, optimize)
}

/// Compiles ruleset `text`; `name` is what locations and diagnostics call the file (and,
/// when the format is detected, its extension can say "bytecode").
pub fn load_text(name: &str, text: &str, opts: &Options<'_>) -> Result<LoadedProgram, LoadError> {
    load_text_optimized(name, text, opts, &opt::Options::default())
}

/// [`load_text`] with the optimizer's passes `optimize` chooses.
pub fn load_text_optimized(
    name: &str,
    text: &str,
    opts: &Options<'_>,
    optimize: &opt::Options,
) -> Result<LoadedProgram, LoadError> {
    let format = opts.format.unwrap_or_else(|| Format::detect(name, text));
    let Some(syntax) = format.syntax() else { return assemble(name, text) };
    let interfaces: Vec<(String, u32)> =
        opts.host.map(|h| h.ifaces().iter().map(|i| (i.name.clone(), i.index)).collect()).unwrap_or_default();
    with_interfaces(&interfaces, || {
        let none = nftvm_compiler::ipset::Ipsets::default();
        let loaded = load::load_text(name, text, Some(syntax), opts.ipsets.unwrap_or(&none))?;
        compile(loaded, format, optimize)
    })
}

/// Compiles a ruleset [`load`](crate::load::load) has read and checked.
fn compile(
    mut loaded: load::Loaded,
    format: Format,
    optimize: &opt::Options,
) -> Result<LoadedProgram, LoadError> {
    let ruleset = std::mem::take(&mut loaded.ruleset);
    let optimized = opt::compile_owned(ruleset, Some(&loaded.sources), optimize)
        .map_err(|e| codegen_error(&e, &loaded.sources))?;
    let compiled = optimized.compiled;
    let mut rules = vec![RuleSource::default(); compiled.origins.len()];
    for chain in &compiled.program.chains {
        for rule in &chain.rules {
            if let Some(slot) = rules.get_mut(rule.source.index()) {
                slot.text = rule.comment.clone();
            }
        }
    }
    for (id, slot) in rules.iter_mut().enumerate() {
        let id = SourceId(id as u32);
        slot.location = compiled.origins.location(id, &loaded.sources).map(|l| l.to_string());
    }
    let program = nftvm_vm::verify(compiled.program).map_err(|e| LoadError {
        message: format!("Internal error: the generated bytecode fails verification: {e}\n"),
        invalid_input: false,
    })?;
    let ir = Some(Arc::new((optimized.ruleset, compiled.origins)));
    Ok(LoadedProgram { program: Arc::new(program), format, rules, ir })
}

/// A codegen failure as nft reports errors: at the rule's place when it is known.
pub fn codegen_error(e: &CodegenError, sources: &SourceMap) -> LoadError {
    match e {
        CodegenError::Lower { span, .. } if sources.files().any(|(f, _)| f == span.file) => LoadError {
            message: Diagnostic::error(*span, e.to_string()).render(sources),
            invalid_input: true,
        },
        CodegenError::Lower { .. } => LoadError { message: format!("Error: {e}\n"), invalid_input: true },
        CodegenError::Verify(_) => {
            LoadError { message: format!("Internal error: {e}\n"), invalid_input: false }
        }
    }
}

/// Bytecode text: assembled and verified; rule locations are the lines of the rule blocks.
fn assemble(name: &str, text: &str) -> Result<LoadedProgram, LoadError> {
    let program = nftvm_vm::text::assemble(text).map_err(|e| LoadError {
        message: format!("{name}:{}: Error: {}\n", e.line, e.message),
        invalid_input: true,
    })?;
    let lines = bytecode_rule_lines(text);
    let mut rules: Vec<RuleSource> =
        lines.iter().map(|l| RuleSource { location: Some(format!("{name}:{l}")), text: None }).collect();
    for chain in &program.chains {
        for rule in &chain.rules {
            if let Some(slot) = rules.get_mut(rule.source.index()) {
                slot.text = rule.comment.clone();
            }
        }
    }
    let program = nftvm_vm::verify(program).map_err(|e| LoadError {
        message: format!("{name}: Error: the bytecode fails verification: {e}\n"),
        invalid_input: true,
    })?;
    Ok(LoadedProgram { program: Arc::new(program), format: Format::Bytecode, rules, ir: None })
}

/// The 1-based line of each rule block of a bytecode text (its first line), in the order
/// the assembler numbers the rules.
fn bytecode_rule_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut block_first: Option<usize> = None;
    let mut block_has_rule = false;
    let mut in_set_elements = false;
    for (i, line) in text.lines().enumerate() {
        if in_set_elements && line.starts_with('\t') {
            continue;
        }
        in_set_elements = false;
        let word = line.split_whitespace().next().unwrap_or("");
        let is_decl = !line.starts_with(char::is_whitespace)
            && matches!(word, "table" | "chain" | "set" | "object")
            && !block_has_rule;
        if line.trim().is_empty() || is_decl {
            if let (Some(l), true) = (block_first, block_has_rule) {
                out.push(l);
            }
            block_first = None;
            block_has_rule = false;
            in_set_elements = is_decl;
            continue;
        }
        if !line.starts_with('#') && !block_has_rule {
            block_has_rule = true;
            block_first = Some(i + 1);
        }
    }
    if let (Some(l), true) = (block_first, block_has_rule) {
        out.push(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport 22 accept\n\t\tct state established accept\n\t}\n}\n";

    #[test]
    fn nft_rules_map_back_to_their_lines_and_text() {
        let p = load_text("rules.nft", RULES, &Options::default()).expect("compiles");
        assert_eq!(p.format(), Format::Nft);
        assert_eq!(p.rules().len(), 2);
        assert_eq!(p.location(SourceId(0)), Some("rules.nft:4"));
        assert_eq!(p.location(SourceId(1)), Some("rules.nft:5"));
        assert_eq!(p.text(SourceId(0)), Some("tcp dport 22 accept"));
        assert_eq!(p.location(SourceId(7)), None);
        assert_eq!(p.labels(), ["rules.nft:4", "rules.nft:5"]);
        let (ir, origins) = p.ir().expect("compiled from nft");
        assert_eq!(ir.tables.len(), 1);
        assert_eq!(origins.get(SourceId(1)).map(|o| o.index), Some(1));
        for engine in Engine::ALL {
            assert_eq!(p.executable(engine).expect("runs").engine(), engine);
        }
    }

    #[test]
    fn errors_are_rendered_like_nft() {
        let bad = RULES.replace("tcp dport 22", "tcp dport frobnicate");
        let e = load_text("rules.nft", &bad, &Options::default()).expect_err("unknown service");
        assert!(e.invalid_input);
        assert!(e.message.starts_with("rules.nft:4:"), "{}", e.message);
        assert!(e.message.contains('^'), "{}", e.message);
    }

    #[test]
    fn bytecode_text_loads_by_extension() {
        let nft = load_text("rules.nft", RULES, &Options::default()).expect("compiles");
        let text = nftvm_vm::text::disassemble(nft.program().program());
        let p = load_text("rules.nftvm", &text, &Options::default()).expect("assembles");
        assert_eq!(p.format(), Format::Bytecode);
        assert_eq!(p.program().program().chains, nft.program().program().chains);
        assert_eq!(p.text(SourceId(0)), Some("tcp dport 22 accept"));
        let line: usize =
            p.location(SourceId(1)).and_then(|l| l.rsplit(':').next()?.parse().ok()).unwrap_or(0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.get(line.wrapping_sub(1)), Some(&"inet filter input"), "{text}");
        assert_eq!(lines.get(line.wrapping_sub(2)), Some(&"# ct state established accept"), "{text}");
    }

    #[test]
    fn interface_names_resolve_on_the_given_host() {
        let rules = RULES.replace("tcp dport 22", "iif \"eth1\" tcp dport 22");
        let e = load_text("rules.nft", &rules, &Options::default()).expect_err("no such interface");
        assert!(e.message.contains("Interface does not exist"), "{}", e.message);
        let host =
            Host::from_specs(&["eth0=10.0.0.1/24".into(), "eth1=10.0.1.1/24".into()], &[]).expect("host");
        let p = load_text("rules.nft", &rules, &Options::for_host(&host)).expect("eth1 is interface 3");
        let text = nftvm_vm::text::disassemble(p.program().program());
        assert!(text.contains("[ meta load iif => reg 1 ]\n  [ cmp eq reg 1 0x00000003 ]"), "{text}");
    }

    #[test]
    fn iptables_save_is_detected_and_compiled() {
        let save = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
        let p = load_text("rules.save", save, &Options::default()).expect("compiles");
        assert_eq!(p.format(), Format::Iptables);
        assert_eq!(p.location(SourceId(0)), Some("rules.save:3"));
    }
}
