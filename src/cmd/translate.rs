//! `nftvm iptables-translate ARGS…`, `ip6tables-translate ARGS…` and
//! `iptables-restore-translate -f FILE` (`ip6…`): iptables → nft text, as the iptables tools
//! of the same names print it (see `nftvm_compiler::iptables::xlate`).
//!
//! Untranslatable rules are commented out in the output, exactly as the real tools do, and
//! each one is also reported on stderr with its place and the reason. `--side-by-side`
//! prints every source line (`file:line`) next to what it became, for reviewing a migration.
//!
//! The restore header and footer carry the date like the real tool's (`ctime`, but in UTC;
//! `SOURCE_DATE_EPOCH` overrides the clock for reproducible output).

use crate::cli::{CmdResult, Failure};
use nftvm_compiler::iptables::xlate::restore::{RestoreXlate, ctime_utc, translate_restore};
use nftvm_compiler::iptables::xlate::{Mode, Translator};
use nftvm_compiler::iptables::{Family, parse_argv};
use nftvm_grammar::diag::render_all;
use nftvm_grammar::{Diagnostic, SourceMap};
use std::ffi::OsString;
use std::fmt::Write as _;

/// `nftvm iptables-translate ARGS…`.
pub fn run(family: Family, args: Vec<OsString>) -> CmdResult {
    let prog = format!("{}-translate", family.tool_name());
    let args: Vec<String> = args
        .into_iter()
        .map(|a| {
            a.into_string().map_err(|a| Failure::usage(format!("{prog}: argument not valid UTF-8: {a:?}")))
        })
        .collect::<Result<_, _>>()?;
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: nftvm {prog} IPTABLES-ARGS…   (e.g. -A INPUT -p tcp --dport 22 -j ACCEPT)");
        return if args.is_empty() { Err(Failure::usage("")) } else { Ok(()) };
    }
    let mut sources = SourceMap::new();
    let (_, cmd) = parse_argv(&mut sources, "<command line>", family, &args)
        .map_err(|d| Failure::usage(d.render(&sources)))?;
    let out = Translator::new(family, Mode::CommandLine).command(&cmd, &args);
    print!("{}", out.text);
    eprint!("{}", render_all(&out.warnings, &sources));
    if out.ok { Ok(()) } else { Err(Failure::negative("Translation not (fully) implemented")) }
}

/// Options of the restore translators.
struct RestoreArgs {
    file: String,
    side_by_side: bool,
}

fn restore_args(prog: &str, args: Vec<OsString>) -> Result<RestoreArgs, Failure> {
    use lexopt::Arg::{Long, Short, Value};
    let mut p = lexopt::Parser::from_args(args);
    let (mut file, mut side_by_side) = (None, false);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("file") => file = Some(crate::cli::value_str(&mut p, "--file")?),
            Long("side-by-side") => side_by_side = true,
            Short('h') | Long("help") => {
                println!("usage: nftvm {prog} -f FILE [--side-by-side]");
                return Err(Failure { message: String::new(), code: 0 });
            }
            Value(v) if file.is_none() => {
                file = Some(
                    v.into_string().map_err(|v| Failure::usage(format!("{prog}: bad file name {v:?}")))?,
                )
            }
            other => return Err(crate::cli::unexpected(other, prog)),
        }
    }
    let file = file.ok_or_else(|| Failure::usage(format!("{prog}: missing file name (-f FILE)")))?;
    Ok(RestoreArgs { file, side_by_side })
}

/// The time printed in the header and footer.
fn now() -> u64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()) {
        return t;
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `nftvm iptables-restore-translate -f FILE [--side-by-side]`.
pub fn run_restore(family: Family, args: Vec<OsString>) -> CmdResult {
    let prog = format!("{}-restore-translate", family.tool_name());
    let opts = match restore_args(&prog, args) {
        Err(f) if f.code == 0 => return Ok(()),
        other => other?,
    };
    let text = std::fs::read_to_string(&opts.file)
        .map_err(|e| Failure::runtime(format!("{prog}: cannot open file {}: {e}", opts.file)))?;
    let mut sources = SourceMap::new();
    let id = sources.add(opts.file.clone(), text);
    let out = translate_restore(&sources, id, family);
    if opts.side_by_side {
        print!("{}", side_by_side(&sources, &out));
    } else {
        let date = ctime_utc(now());
        print!(
            "# Translated by {prog} v{} on {date}\n{}# Completed on {date}\n",
            env!("CARGO_PKG_VERSION"),
            out.text()
        );
    }
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        out.diagnostics.iter().cloned().partition(Diagnostic::is_error);
    eprint!("{}", render_all(&warnings, &sources));
    if errors.is_empty() { Ok(()) } else { Err(Failure::negative(render_all(&errors, &sources))) }
}

/// Every source line that made output, at `file:line` (file name without directories), beside its nft lines; `!` marks
/// lines that have no translation (their output is the commented-out rule).
pub fn side_by_side(sources: &SourceMap, out: &RestoreXlate) -> String {
    const LEFT_MAX: usize = 72;
    let rows: Vec<(String, String, &str, bool)> = out
        .lines
        .iter()
        .map(|l| {
            let loc = sources.location(l.span);
            let file = sources.file(l.span.file);
            let src = file.line_text(loc.line).trim_end().to_string();
            let name = loc.file.rsplit('/').next().unwrap_or(&loc.file);
            (format!("{name}:{}", loc.line), src, l.output.as_str(), l.ok)
        })
        .collect();
    let locw = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let srcw = rows.iter().map(|r| r.1.chars().count()).filter(|&w| w <= LEFT_MAX).max().unwrap_or(0);
    let mut s = String::new();
    for (loc, src, output, ok) in rows {
        let bar = if ok { '|' } else { '!' };
        let mut lines = output.lines();
        let first = lines.next().unwrap_or("");
        let _ = writeln!(s, "{loc:<locw$}  {src:<srcw$}  {bar} {first}");
        for more in lines {
            let _ = writeln!(s, "{:<locw$}  {:<srcw$}  {bar} {more}", "", "");
        }
    }
    s
}
