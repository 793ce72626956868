//! Command-line plumbing shared by every subcommand: the error type that carries an exit
//! code, and small helpers over `lexopt`.
//!
//! Exit codes follow the contract in the README: 0 success, 1 a negative answer (a ruleset
//! with errors for `check`, "different" for `diff`), 2 bad usage or an internal error.

use std::fmt;
use std::process::ExitCode;

/// A failed command: what to print on stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Bad command line (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 2 }
    }

    /// The command ran and the answer is "no" (exit 1); `message` is already rendered.
    pub fn negative(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 1 }
    }

    /// I/O or other runtime error (exit 2).
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 2 }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<lexopt::Error> for Failure {
    fn from(e: lexopt::Error) -> Failure {
        Failure::usage(e.to_string())
    }
}

pub type CmdResult = Result<(), Failure>;

/// The value of an option as UTF-8, naming the option in the error.
pub fn value_str(parser: &mut lexopt::Parser, option: &str) -> Result<String, Failure> {
    let value = parser.value()?;
    value.into_string().map_err(|v| Failure::usage(format!("{option}: not valid UTF-8: {v:?}")))
}

/// `--action NAME` of the ClassBench commands (`command` names them in the error).
pub fn classbench_action(
    parser: &mut lexopt::Parser,
    command: &str,
) -> Result<nftvm::classbench::Action, Failure> {
    let v = value_str(parser, "--action")?;
    nftvm::classbench::Action::from_name(&v).ok_or_else(|| {
        Failure::usage(format!(
            "nftvm {command}: --action takes mark-accept, accept-drop, jump or mark, not `{v}`"
        ))
    })
}

/// `--ipset FILE` (repeatable): the file's sets join `into`; a bad file is a failure with
/// the file's diagnostics. The file's path.
pub fn ipset_value(
    parser: &mut lexopt::Parser,
    into: &mut nftvm_compiler::ipset::Ipsets,
) -> Result<std::path::PathBuf, Failure> {
    let path = std::path::PathBuf::from(parser.value()?);
    let sets = nftvm::load::load_ipsets(&path).map_err(|e| Failure::runtime(e.message))?;
    into.merge(sets).map_err(|m| Failure::usage(format!("--ipset {}: {m}", path.display())))?;
    Ok(path)
}

/// Error for an argument the subcommand does not know.
pub fn unexpected(arg: lexopt::Arg<'_>, command: &str) -> Failure {
    let what = match arg {
        lexopt::Arg::Short(c) => format!("option '-{c}'"),
        lexopt::Arg::Long(l) => format!("option '--{l}'"),
        lexopt::Arg::Value(v) => format!("argument '{}'", v.to_string_lossy()),
    };
    Failure::usage(format!("nftvm {command}: unexpected {what} (try 'nftvm {command} --help')"))
}

/// `-O0`, `-O1`, `-O2` (`-O` alone is `-O2`): the level, read after the `-O`.
pub fn opt_level(
    parser: &mut lexopt::Parser,
    opts: &mut nftvm_compiler::opt::Options,
) -> Result<(), Failure> {
    let level = match parser.optional_value() {
        Some(v) => v.into_string().map_err(|v| Failure::usage(format!("-O: not valid UTF-8: {v:?}")))?,
        None => String::new(),
    };
    opts.set_level(&format!("-O{level}")).map_err(Failure::usage)
}

/// `--no-opt NAME[,NAME…]`: passes turned off.
pub fn no_opt(parser: &mut lexopt::Parser, opts: &mut nftvm_compiler::opt::Options) -> Result<(), Failure> {
    let names = value_str(parser, "--no-opt")?;
    opts.disable(&names).map_err(|e| Failure::usage(format!("--no-opt: {e}")))
}

/// The help lines of the optimizer options; `default` names the default level.
pub fn optimizer_help(default: &str) -> String {
    format!(
        "  -O0|-O1|-O2                optimization level (default {default}); -O1: fold constant tests, drop\n\
         \x20                            dead rules, merge adjacent rules into sets and maps; -O2: also\n\
         \x20                            classify long runs of rules (the `classify` expression)\n\
         \x20 --no-opt NAME[,NAME]       turn passes off: fold, dead, merge, classify"
    )
}

/// A `0|1` option such as `--tcp-loose` (a sysctl's value) of `nftvm COMMAND`.
pub fn flag01(parser: &mut lexopt::Parser, command: &str, name: &str) -> Result<bool, Failure> {
    match value_str(parser, name)?.as_str() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(Failure::usage(format!("nftvm {command}: {name} takes 0 or 1, not `{other}`"))),
    }
}
