//! One iptables invocation (a command line, or a line of an iptables-restore file) from its
//! words to a typed [`Command`].
//!
//! This follows iptables' own `do_parse` step by step, because what is accepted depends on
//! it: options are scanned with getopt over a table that grows as `-m`/`-j` load extensions;
//! an option nobody knows makes iptables load the match named by `-p` and retry; `!` is a
//! word of its own that negates the next option; extension options go to the target first,
//! then to the most recently loaded instance of their match; after the scan every extension
//! runs its final check, and the rule-level checks follow (commands vs options, `-i`/`-o`
//! vs built-in chains, the nat table and `DROP`).

use crate::iptables::Family;
use crate::iptables::ext::{ArgKind, Extension, OptCall, OptSpec, ParseCx, bit, generic_final_check};
use crate::iptables::getopt::{Event, Getopt, LongOpt, OptArg};
use crate::iptables::ip::{Iface, Inv, IpPart};
use crate::iptables::matches::{self, Match};
use crate::iptables::rule::{Action, Counters, MatchEntry, Name, Rule, Verdict};
use crate::iptables::targets::{self, Target};
use crate::iptables::values::addr::{AddrMask, parse_addr_mask_list};
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::protocols::{CHAIN_PROTOS, chain_proto_name, etc_protocol};
use nftvm_grammar::iptables::ast::Word;
use nftvm_grammar::{Diagnostic, Span};

/// Longest chain / target name (`XT_EXTENSION_MAXNAMELEN - 1`).
pub const MAX_NAME_LEN: usize = 28;
/// Interface names are shorter than `IFNAMSIZ` (16).
pub const IFNAMSIZ: usize = 16;

/// Which iptables command a line or command line gives.
#[derive(Clone, Debug, PartialEq)]
pub enum CommandKind {
    /// `-A CHAIN rule`.
    Append { chain: Name },
    /// `-I CHAIN [N] rule` (N is 1-based; 1 when omitted).
    Insert { chain: Name, position: u32 },
    /// `-D CHAIN rule`.
    Delete { chain: Name },
    /// `-D CHAIN N[:M]`.
    DeleteNum { chain: Name, first: u32, last: Option<u32> },
    /// `-R CHAIN N rule`.
    Replace { chain: Name, position: u32 },
    /// `-C CHAIN rule`.
    Check { chain: Name },
    /// `-L [CHAIN [N]]` / `-S [CHAIN [N]]`.
    List { chain: Option<Name>, rules_format: bool },
    /// `-F [CHAIN]`.
    Flush { chain: Option<Name> },
    /// `-Z [CHAIN [N]]`.
    Zero { chain: Option<Name>, position: Option<u32> },
    /// `-N CHAIN`.
    NewChain { chain: Name },
    /// `-X [CHAIN]`.
    DeleteChain { chain: Option<Name> },
    /// `-E OLD NEW`.
    RenameChain { chain: Name, new_name: Name },
    /// `-P CHAIN POLICY`.
    Policy { chain: Name, policy: Name },
    /// A restore line for the other family (`-6 …` in iptables-restore): ignored.
    Ignored,
}

/// A parsed, validated invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    /// `filter` unless `-t` says otherwise (or the restore section does).
    pub table: String,
    /// The rule(s) of -A/-I/-D/-R/-C. Several when `-s`/`-d` list several addresses (iptables
    /// makes one rule per combination); empty for commands without a rule.
    pub rules: Vec<Rule>,
    pub span: Span,
}

/// Where the words come from.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    pub family: Family,
    /// Inside an iptables-restore table section: the table is given and `-t` is refused.
    pub restore_table: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    Base(char),
    Ext { kind: usize, spec: usize },
}

/// Long options of iptables itself (`original_opts`).
const BASE_LONG: &[(&str, ArgKind, char)] = &[
    ("append", ArgKind::Required, 'A'),
    ("delete", ArgKind::Required, 'D'),
    ("check", ArgKind::Required, 'C'),
    ("insert", ArgKind::Required, 'I'),
    ("replace", ArgKind::Required, 'R'),
    ("list", ArgKind::Optional, 'L'),
    ("list-rules", ArgKind::Optional, 'S'),
    ("flush", ArgKind::Optional, 'F'),
    ("zero", ArgKind::Optional, 'Z'),
    ("new-chain", ArgKind::Required, 'N'),
    ("delete-chain", ArgKind::Optional, 'X'),
    ("rename-chain", ArgKind::Required, 'E'),
    ("policy", ArgKind::Required, 'P'),
    ("source", ArgKind::Required, 's'),
    ("destination", ArgKind::Required, 'd'),
    ("src", ArgKind::Required, 's'),
    ("dst", ArgKind::Required, 'd'),
    ("protocol", ArgKind::Required, 'p'),
    ("in-interface", ArgKind::Required, 'i'),
    ("jump", ArgKind::Required, 'j'),
    ("table", ArgKind::Required, 't'),
    ("match", ArgKind::Required, 'm'),
    ("numeric", ArgKind::None, 'n'),
    ("out-interface", ArgKind::Required, 'o'),
    ("verbose", ArgKind::None, 'v'),
    ("wait", ArgKind::Optional, 'w'),
    ("wait-interval", ArgKind::Optional, 'W'),
    ("exact", ArgKind::None, 'x'),
    ("fragments", ArgKind::None, 'f'),
    ("version", ArgKind::None, 'V'),
    ("help", ArgKind::Optional, 'h'),
    ("line-numbers", ArgKind::None, '0'),
    ("modprobe", ArgKind::Required, 'M'),
    ("set-counters", ArgKind::Required, 'c'),
    ("goto", ArgKind::Required, 'g'),
    ("ipv4", ArgKind::None, '4'),
    ("ipv6", ArgKind::None, '6'),
];

/// The short options of `IPT_OPTSTRING`.
fn short_kind(c: char) -> Option<ArgKind> {
    Some(match c {
        'A' | 'C' | 'D' | 'E' | 'I' | 'M' | 'N' | 'P' | 'R' | 'c' | 'd' | 'i' | 'j' | 'o' | 'p' | 's'
        | 't' | 'g' | 'm' => ArgKind::Required,
        'F' | 'L' | 'S' | 'X' | 'Z' | 'W' | 'h' | 'w' => ArgKind::Optional,
        'V' | 'v' | '4' | '6' | 'f' | 'n' | 'x' => ArgKind::None,
        _ => return None,
    })
}

/// Rule-level options (`OPT_*`), for "multiple … not allowed" and command compatibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleOpt {
    Numeric,
    Source,
    Destination,
    Protocol,
    Jump,
    Verbose,
    Expanded,
    InIface,
    OutIface,
    LineNumbers,
    Counters,
    Fragment,
}

impl RuleOpt {
    fn name(self) -> &'static str {
        match self {
            RuleOpt::Numeric => "--numeric",
            RuleOpt::Source => "--source",
            RuleOpt::Destination => "--destination",
            RuleOpt::Protocol => "--protocol",
            RuleOpt::Jump => "--jump",
            RuleOpt::Verbose => "--verbose",
            RuleOpt::Expanded => "--exact",
            RuleOpt::InIface => "--in-interface",
            RuleOpt::OutIface => "--out-interface",
            RuleOpt::LineNumbers => "--line-numbers",
            RuleOpt::Counters => "--set-counters",
            RuleOpt::Fragment => "--fragments",
        }
    }

    fn invertible(self) -> bool {
        matches!(
            self,
            RuleOpt::Source
                | RuleOpt::Destination
                | RuleOpt::Protocol
                | RuleOpt::InIface
                | RuleOpt::OutIface
                | RuleOpt::Fragment
        )
    }
}

/// One loaded extension kind (its options are in the getopt table once).
struct Kind {
    name: &'static str,
    is_target: bool,
    specs: &'static [OptSpec],
}

/// One loaded match instance.
struct MatchSlot {
    kind: usize,
    name: &'static str,
    m: Match,
    seen: u64,
    span: Span,
    implicit: bool,
}

struct TargetSlot {
    kind: Option<usize>,
    name: &'static str,
    t: Target,
    seen: u64,
    span: Span,
}

/// The parser state (`iptables_command_state` + `xtables_args`).
struct State<'w> {
    family: Family,
    restore: bool,
    table: String,
    table_set: bool,
    command: Option<(char, Span)>,
    kind: Option<CommandKind>,
    options: Vec<RuleOpt>,
    src: Option<(OptArg, bool)>,
    dst: Option<(OptArg, bool)>,
    ip: IpPart,
    protocol_name: Option<String>,
    proto_used: bool,
    kinds: Vec<Kind>,
    matches: Vec<MatchSlot>,
    target: Option<TargetSlot>,
    jump: Option<Action>,
    goto: bool,
    counters: Option<Counters>,
    words: &'w [&'w Word],
}

fn err(span: Span, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(span, msg)
}

/// Parse one invocation's words (without the program name).
pub fn parse_words(words: &[&Word], whole: Span, opts: &ParseOptions) -> Result<Command, Diagnostic> {
    let mut st = State {
        family: opts.family,
        restore: opts.restore_table.is_some(),
        table: opts.restore_table.clone().unwrap_or_else(|| "filter".into()),
        table_set: false,
        command: None,
        kind: None,
        options: Vec::new(),
        src: None,
        dst: None,
        ip: IpPart::default(),
        protocol_name: None,
        proto_used: false,
        kinds: Vec::new(),
        matches: Vec::new(),
        target: None,
        jump: None,
        goto: false,
        counters: None,
        words,
    };
    let mut g = Getopt::new(words);
    let mut invert: Option<Span> = None;
    loop {
        let long = st.long_table();
        let ev = g.next(&short_kind, &long);
        match ev {
            Event::Done => break,
            Event::NonOption { word } => {
                let w = words[word];
                if w.text == "!" {
                    if invert.is_some() {
                        return Err(err(w.span, "multiple consecutive ! not allowed"));
                    }
                    invert = Some(w.span);
                    continue;
                }
                return Err(err(w.span, format!("Bad argument `{}': expecting an option", w.text)));
            }
            Event::Short { ch, arg, word } => {
                if st.base_option(ch, arg, word, invert, &mut g)? == Flow::Stop {
                    return Ok(st.ignored(whole));
                }
            }
            Event::Long { code: Code::Base(ch), arg, word, .. } => {
                if st.base_option(ch, arg, word, invert, &mut g)? == Flow::Stop {
                    return Ok(st.ignored(whole));
                }
            }
            Event::Long { code: Code::Ext { kind, spec }, arg, word, .. } => {
                let consumed = st.ext_option(kind, spec, arg, word, invert.is_some(), g.optind)?;
                g.optind += consumed;
            }
            Event::Unknown { text, word } => {
                if st.load_proto(words[word].span)? {
                    g.rewind_to(word);
                    continue;
                }
                return Err(err(words[word].span, format!("unknown option \"{text}\"")));
            }
            Event::MissingArg { name, word } => {
                return Err(err(words[word].span, format!("option \"{name}\" requires an argument")));
            }
            Event::Ambiguous { text, candidates, word } => {
                return Err(err(
                    words[word].span,
                    format!("option '{text}' is ambiguous; possibilities: --{}", candidates.join(" --")),
                ));
            }
            Event::UnexpectedArg { name, word } => {
                return Err(err(words[word].span, format!("option '--{name}' doesn't allow an argument")));
            }
        }
        invert = None;
    }
    st.finish(whole, invert, &g)
}

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    /// `-4`/`-6` for the other family in a restore file: ignore the line.
    Stop,
}

impl<'w> State<'w> {
    fn ignored(&self, whole: Span) -> Command {
        Command { kind: CommandKind::Ignored, table: self.table.clone(), rules: vec![], span: whole }
    }

    /// The getopt long table: iptables' options first, then extension options, the most
    /// recently loaded extension first.
    fn long_table(&self) -> Vec<LongOpt<Code>> {
        let mut out: Vec<LongOpt<Code>> =
            BASE_LONG.iter().map(|&(name, arg, ch)| LongOpt { name, arg, code: Code::Base(ch) }).collect();
        for (ki, kind) in self.kinds.iter().enumerate().rev() {
            for (si, spec) in kind.specs.iter().enumerate() {
                out.push(LongOpt { name: spec.name, arg: spec.arg, code: Code::Ext { kind: ki, spec: si } });
            }
        }
        out
    }

    fn word_span(&self, word: usize) -> Span {
        self.words.get(word).map(|w| w.span).unwrap_or_default()
    }

    fn set_option(&mut self, opt: RuleOpt, invert: Option<Span>, span: Span) -> Result<(), Diagnostic> {
        if self.options.contains(&opt) {
            return Err(err(span, format!("multiple {} options not allowed", opt.name())));
        }
        self.options.push(opt);
        if invert.is_some() && !opt.invertible() {
            return Err(err(span, format!("cannot have ! before {}", opt.name())));
        }
        Ok(())
    }

    fn add_command(
        &mut self,
        ch: char,
        span: Span,
        invert: Option<Span>,
        others: &[char],
    ) -> Result<(), Diagnostic> {
        if let Some(b) = invert {
            return Err(err(b, "unexpected '!' flag before a command"));
        }
        if let Some((prev, _)) = self.command
            && !others.contains(&prev)
        {
            return Err(err(span, format!("Cannot use -{ch} with -{prev}")));
        }
        self.command = Some((ch, span));
        Ok(())
    }

    fn chain_name(arg: &OptArg) -> Name {
        Name { text: arg.text.clone(), span: arg.span }
    }

    /// The next word as an optional extra argument (`xs_has_arg`).
    fn extra_name(&self, g: &mut Getopt<'_>) -> Option<Name> {
        g.take_plain().map(|i| Name { text: self.words[i].text.clone(), span: self.words[i].span })
    }

    fn base_option(
        &mut self,
        ch: char,
        arg: Option<OptArg>,
        word: usize,
        invert: Option<Span>,
        g: &mut Getopt<'_>,
    ) -> Result<Flow, Diagnostic> {
        let span = self.word_span(word);
        let req = |arg: &Option<OptArg>| -> Result<OptArg, Diagnostic> {
            arg.clone().ok_or_else(|| err(span, format!("option \"-{ch}\" requires an argument")))
        };
        match ch {
            'A' | 'C' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = Self::chain_name(&req(&arg)?);
                self.kind = Some(if ch == 'A' {
                    CommandKind::Append { chain }
                } else {
                    CommandKind::Check { chain }
                });
            }
            'D' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = Self::chain_name(&req(&arg)?);
                self.kind = Some(match self.extra_name(g) {
                    Some(n) => {
                        let (first, last) = parse_rule_range(&n)?;
                        CommandKind::DeleteNum { chain, first, last }
                    }
                    None => CommandKind::Delete { chain },
                });
            }
            'R' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = Self::chain_name(&req(&arg)?);
                let n = self.extra_name(g).ok_or_else(|| err(span, "-R requires a rule number"))?;
                self.kind = Some(CommandKind::Replace { chain, position: parse_rule_number(&n)? });
            }
            'I' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = Self::chain_name(&req(&arg)?);
                let position = match self.extra_name(g) {
                    Some(n) => parse_rule_number(&n)?,
                    None => 1,
                };
                self.kind = Some(CommandKind::Insert { chain, position });
            }
            'L' | 'S' => {
                self.add_command(ch, span, invert, &['Z'])?;
                let chain = arg.as_ref().map(Self::chain_name).or_else(|| self.extra_name(g));
                if let Some(n) = self.extra_name(g) {
                    parse_rule_number(&n)?;
                }
                self.kind = Some(CommandKind::List { chain, rules_format: ch == 'S' });
            }
            'F' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = arg.as_ref().map(Self::chain_name).or_else(|| self.extra_name(g));
                self.kind = Some(CommandKind::Flush { chain });
            }
            'Z' => {
                self.add_command(ch, span, invert, &['L', 'S'])?;
                let chain = arg.as_ref().map(Self::chain_name).or_else(|| self.extra_name(g));
                let position = match self.extra_name(g) {
                    Some(n) => Some(parse_rule_number(&n)?),
                    None => None,
                };
                if !matches!(self.kind, Some(CommandKind::List { .. })) {
                    self.kind = Some(CommandKind::Zero { chain, position });
                }
            }
            'N' => {
                let a = req(&arg)?;
                assert_valid_chain_name(&a, self.family)?;
                self.add_command(ch, span, invert, &[])?;
                self.kind = Some(CommandKind::NewChain { chain: Self::chain_name(&a) });
            }
            'X' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = arg.as_ref().map(Self::chain_name).or_else(|| self.extra_name(g));
                self.kind = Some(CommandKind::DeleteChain { chain });
            }
            'E' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = Self::chain_name(&req(&arg)?);
                let new_name = self
                    .extra_name(g)
                    .ok_or_else(|| err(span, "-E requires old-chain-name and new-chain-name"))?;
                assert_valid_chain_name(
                    &OptArg { text: new_name.text.clone(), span: new_name.span, word: 0 },
                    self.family,
                )?;
                self.kind = Some(CommandKind::RenameChain { chain, new_name });
            }
            'P' => {
                self.add_command(ch, span, invert, &[])?;
                let chain = Self::chain_name(&req(&arg)?);
                let policy =
                    self.extra_name(g).ok_or_else(|| err(span, "-P requires a chain and a policy"))?;
                self.kind = Some(CommandKind::Policy { chain, policy });
            }
            'h' => return Err(err(span, "help is not available here")),
            'V' => return Err(err(span, "version is not available here")),
            'p' => {
                let a = req(&arg)?;
                self.set_option(RuleOpt::Protocol, invert, span)?;
                let name = a.text.to_ascii_lowercase();
                let num = parse_protocol(&name).ok_or_else(|| {
                    err(
                        a.span,
                        format!(
                            "unknown protocol \"{}\" specified: expecting a name or a number 0-255",
                            a.text
                        ),
                    )
                })?;
                if num == 0 && invert.is_some() {
                    return Err(err(a.span, "rule would never match protocol"));
                }
                self.ip.proto = (num != 0).then_some(Inv::new(num, invert.is_some()));
                self.protocol_name = Some(name);
            }
            's' | 'd' => {
                let a = req(&arg)?;
                let opt = if ch == 's' { RuleOpt::Source } else { RuleOpt::Destination };
                self.set_option(opt, invert, span)?;
                let v = Some((a, invert.is_some()));
                if ch == 's' {
                    self.src = v;
                } else {
                    self.dst = v;
                }
            }
            'g' => {
                let a = req(&arg)?;
                self.set_option(RuleOpt::Jump, invert, span)?;
                check_target_name(&a)?;
                self.goto = true;
                self.jump = Some(Action::Goto(Self::chain_name(&a)));
            }
            'j' => {
                let a = req(&arg)?;
                self.set_option(RuleOpt::Jump, invert, span)?;
                check_target_name(&a)?;
                if a.text != "CONTINUE" {
                    self.load_target(&a)?;
                }
            }
            'i' | 'o' => {
                let a = req(&arg)?;
                if a.text.is_empty() {
                    return Err(err(a.span, "Empty interface is likely to be undesired"));
                }
                let opt = if ch == 'i' { RuleOpt::InIface } else { RuleOpt::OutIface };
                self.set_option(opt, invert, span)?;
                if a.text.len() >= IFNAMSIZ {
                    return Err(err(
                        a.span,
                        format!("interface name `{}' must be shorter than {IFNAMSIZ} characters", a.text),
                    ));
                }
                let v = Some(Inv::new(Iface(a.text.clone()), invert.is_some()));
                if ch == 'i' {
                    self.ip.iniface = v;
                } else {
                    self.ip.outiface = v;
                }
            }
            'f' => {
                if self.family == Family::Ipv6 {
                    return Err(err(span, "`-f' is not supported in IPv6, use -m frag instead"));
                }
                self.set_option(RuleOpt::Fragment, invert, span)?;
                self.ip.frag = Some(invert.is_some());
            }
            'v' => {
                if !self.options.contains(&RuleOpt::Verbose) {
                    self.set_option(RuleOpt::Verbose, invert, span)?;
                }
            }
            'm' => {
                if let Some(b) = invert {
                    return Err(err(b, "unexpected ! flag before --match"));
                }
                let a = req(&arg)?;
                self.load_match(&a.text, a.span, false)?;
            }
            'n' => self.set_option(RuleOpt::Numeric, invert, span)?,
            'x' => self.set_option(RuleOpt::Expanded, invert, span)?,
            '0' => self.set_option(RuleOpt::LineNumbers, invert, span)?,
            't' => {
                if let Some(b) = invert {
                    return Err(err(b, "unexpected ! flag before --table"));
                }
                let a = req(&arg)?;
                if self.restore {
                    return Err(err(span, "The -t option cannot be used in iptables-restore"));
                }
                self.table = a.text.clone();
                self.table_set = true;
            }
            'w' | 'W' => {
                if self.restore {
                    return Err(err(span, format!("You cannot use `-{ch}' from iptables-restore")));
                }
                if ch == 'w' {
                    if let Some(a) = &arg {
                        parse_uint(&a.text, 0, u32::MAX as u64)
                            .ok_or_else(|| err(a.span, "wait seconds not numeric"))?;
                    } else if let Some(i) = g.take_plain() {
                        let w = self.words[i];
                        parse_uint(&w.text, 0, u32::MAX as u64)
                            .ok_or_else(|| err(w.span, "wait seconds not numeric"))?;
                    }
                } else if arg.is_none() {
                    g.take_plain();
                }
            }
            'M' => {}
            'c' => {
                let a = req(&arg)?;
                self.set_option(RuleOpt::Counters, invert, span)?;
                let (p, b) = match a.text.split_once(',') {
                    Some((p, b)) => (p.to_string(), Some((b.to_string(), a.span))),
                    None => (a.text.clone(), self.extra_name(g).map(|n| (n.text, n.span))),
                };
                let (b, bspan) =
                    b.ok_or_else(|| err(a.span, "--set-counters requires packet and byte counter"))?;
                let packets = scan_counter(&p)
                    .ok_or_else(|| err(a.span, "--set-counters packet counter not numeric"))?;
                let bytes =
                    scan_counter(&b).ok_or_else(|| err(bspan, "--set-counters byte counter not numeric"))?;
                self.counters = Some(Counters { packets, bytes });
            }
            '4' | '6' => {
                let theirs = if ch == '4' { Family::Ipv4 } else { Family::Ipv6 };
                if theirs != self.family {
                    if self.restore {
                        return Ok(Flow::Stop);
                    }
                    return Err(err(span, format!("-{ch} is not supported by this tool")));
                }
            }
            other => return Err(err(span, format!("unknown option \"-{other}\""))),
        }
        Ok(Flow::Continue)
    }

    /// Register an extension kind once (its options join the getopt table).
    fn kind_index(&mut self, name: &'static str, is_target: bool, specs: &'static [OptSpec]) -> usize {
        if let Some(i) = self.kinds.iter().position(|k| k.name == name && k.is_target == is_target) {
            return i;
        }
        self.kinds.push(Kind { name, is_target, specs });
        self.kinds.len() - 1
    }

    fn load_match(&mut self, name: &str, span: Span, implicit: bool) -> Result<(), Diagnostic> {
        if name.len() > MAX_NAME_LEN {
            return Err(err(span, format!("Invalid match name \"{name}\" ({MAX_NAME_LEN} chars max)")));
        }
        let def = matches::lookup(name, self.family).ok_or_else(|| {
            err(span, format!("Couldn't load match `{name}': no such {} extension", self.family.tool_name()))
        })?;
        let m = (def.new)(self.family);
        let kind = self.kind_index(def.name, false, m.ext().options());
        self.matches.push(MatchSlot { kind, name: def.name, m, seen: 0, span, implicit });
        Ok(())
    }

    fn load_target(&mut self, a: &OptArg) -> Result<(), Diagnostic> {
        if let Some(v) = Verdict::from_name(&a.text) {
            self.jump = Some(Action::Verdict(v, a.span));
            return Ok(());
        }
        match targets::lookup(&a.text, self.family) {
            Some(def) => {
                let t = (def.new)(self.family);
                let specs = t.ext().options();
                let kind = (!specs.is_empty()).then(|| self.kind_index(def.name, true, specs));
                self.target = Some(TargetSlot { kind, name: def.name, t, seen: 0, span: a.span });
                self.jump = None;
            }
            None => {
                self.jump = Some(Action::Jump(Self::chain_name(a)));
            }
        }
        Ok(())
    }

    /// iptables' implicit protocol match: `-p tcp --dport 22` loads `tcp` on the first
    /// option nobody knows.
    fn load_proto(&mut self, span: Span) -> Result<bool, Diagnostic> {
        let Some(pname) = self.protocol_name.clone() else { return Ok(false) };
        if self.proto_used {
            return Ok(false);
        }
        self.proto_used = true;
        let name = match parse_uint(&pname, 0, 255) {
            Some(n) => match chain_proto_name(n as u8) {
                Some(name) => name.to_string(),
                None => return Ok(false),
            },
            None => pname,
        };
        if matches::lookup(&name, self.family).is_none() {
            return Ok(false);
        }
        self.load_match(&name, span, true)?;
        Ok(true)
    }

    /// `command_default`: hand an extension option to the target or to the newest instance
    /// of its match. Returns how many extra words the extension consumed.
    fn ext_option(
        &mut self,
        kind: usize,
        spec_index: usize,
        arg: Option<OptArg>,
        word: usize,
        invert: bool,
        optind: usize,
    ) -> Result<usize, Diagnostic> {
        let opt_span = self.word_span(word);
        let spec: &'static OptSpec = &self.kinds[kind].specs[spec_index];
        let ext_name = self.kinds[kind].name;
        let arg_span = arg.as_ref().map_or(opt_span, |a| a.span);
        let words = self.words;
        let following: &[&Word] = words.get(optind..).unwrap_or(&[]);
        let cx = ParseCx { family: self.family, table: &self.table, ip: &self.ip };
        let (ext, seen): (&mut dyn Extension, &mut u64) = if self.kinds[kind].is_target {
            match &mut self.target {
                Some(t) if t.kind == Some(kind) => (t.t.ext_mut(), &mut t.seen),
                _ => return Err(err(opt_span, format!("option \"--{}\" needs -j {ext_name}", spec.name))),
            }
        } else {
            match self.matches.iter_mut().rev().find(|m| m.kind == kind) {
                Some(m) => (m.m.ext_mut(), &mut m.seen),
                None => return Err(err(opt_span, format!("option \"--{}\" needs -m {ext_name}", spec.name))),
            }
        };
        let label = ext_name;
        let once = !spec.multi || spec.excl & bit(spec.id) != 0;
        if once && *seen & bit(spec.id) != 0 {
            return Err(err(opt_span, format!("{label}: option \"--{}\" can only be used once", spec.name)));
        }
        if invert && !spec.invert {
            return Err(err(opt_span, format!("{label}: option \"--{}\" cannot be inverted", spec.name)));
        }
        let text = arg.as_ref().map_or("", |a| a.text.as_str());
        let mut call = OptCall { spec, arg: text, invert, cx, following, consumed: 0 };
        ext.parse(&mut call).map_err(|m| err(arg_span, format!("{label}: {m}")))?;
        *seen |= bit(spec.id);
        Ok(call.consumed)
    }

    fn finish(mut self, whole: Span, invert: Option<Span>, g: &Getopt<'_>) -> Result<Command, Diagnostic> {
        let is_drop = matches!(self.jump, Some(Action::Verdict(Verdict::Drop, _)));
        let policy_drop =
            matches!(&self.kind, Some(CommandKind::Policy { policy, .. }) if policy.text == "DROP");
        if self.table == "nat" && (is_drop || policy_drop) {
            return Err(err(
                whole,
                "The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited",
            ));
        }
        let cx_family = self.family;
        for slot in &mut self.matches {
            let label = slot.name;
            let cx = ParseCx { family: cx_family, table: &self.table, ip: &self.ip };
            generic_final_check(label, slot.m.ext().options(), slot.seen).map_err(|m| err(slot.span, m))?;
            slot.m.ext_mut().finish(slot.seen, &cx).map_err(|m| err(slot.span, format!("{label}: {m}")))?;
        }
        if let Some(t) = &mut self.target {
            let label = t.name;
            let cx = ParseCx { family: cx_family, table: &self.table, ip: &self.ip };
            generic_final_check(label, t.t.ext().options(), t.seen).map_err(|m| err(t.span, m))?;
            t.t.ext_mut().finish(t.seen, &cx).map_err(|m| err(t.span, format!("{label}: {m}")))?;
        }
        if let Some(w) = g.remaining().first() {
            return Err(err(w.span, "unknown arguments found on commandline"));
        }
        let Some(kind) = self.kind.take() else {
            return Err(err(
                whole,
                "no command specified: expecting -A, -I, -D, -R, -N, -P, -F, -X, -Z, -E, -L or -S",
            ));
        };
        if let Some(b) = invert {
            return Err(err(b, "nothing appropriate following !"));
        }
        let has_rule = matches!(
            kind,
            CommandKind::Append { .. }
                | CommandKind::Insert { .. }
                | CommandKind::Delete { .. }
                | CommandKind::Replace { .. }
                | CommandKind::Check { .. }
        );
        self.check_options_vs_command(&kind, has_rule, whole)?;
        let chain = command_chain(&kind);
        if let Some(c) = chain {
            if c.text.len() > MAX_NAME_LEN {
                return Err(err(
                    c.span,
                    format!("chain name `{}' too long (must be under {} chars)", c.text, MAX_NAME_LEN + 1),
                ));
            }
            if has_rule {
                if matches!(c.text.as_str(), "PREROUTING" | "INPUT") && self.ip.outiface.is_some() {
                    return Err(err(c.span, format!("Can't use --out-interface with {}", c.text)));
                }
                if matches!(c.text.as_str(), "POSTROUTING" | "OUTPUT") && self.ip.iniface.is_some() {
                    return Err(err(c.span, format!("Can't use --in-interface with {}", c.text)));
                }
            }
        }
        let table = self.table.clone();
        let rules = if has_rule { self.build_rules(whole)? } else { Vec::new() };
        Ok(Command { kind, table, rules, span: whole })
    }

    fn check_options_vs_command(
        &self,
        kind: &CommandKind,
        has_rule: bool,
        whole: Span,
    ) -> Result<(), Diagnostic> {
        let listing = matches!(kind, CommandKind::List { .. });
        for opt in &self.options {
            let ok = match opt {
                RuleOpt::Numeric | RuleOpt::Expanded | RuleOpt::LineNumbers => listing,
                RuleOpt::Verbose => true,
                RuleOpt::Counters => matches!(
                    kind,
                    CommandKind::Insert { .. }
                        | CommandKind::Replace { .. }
                        | CommandKind::Append { .. }
                        | CommandKind::Policy { .. }
                ),
                _ => has_rule,
            };
            if !ok {
                return Err(err(whole, format!("Illegal option `{}' with this command", opt.name())));
            }
        }
        if !has_rule && (!self.matches.is_empty() || self.target.is_some()) {
            return Err(err(whole, "Illegal option `--match'/`--jump' with this command"));
        }
        Ok(())
    }

    fn addresses(&self, which: &Option<(OptArg, bool)>) -> Result<(Vec<AddrMask>, bool), Diagnostic> {
        match which {
            None => Ok((vec![AddrMask { addr: zero(self.family), mask: zero(self.family) }], false)),
            Some((a, inv)) => {
                let list = parse_addr_mask_list(&a.text, self.family).map_err(|m| err(a.span, m))?;
                if *inv && list.len() > 1 {
                    return Err(err(
                        a.span,
                        "! not allowed with multiple source or destination IP addresses",
                    ));
                }
                Ok((list, *inv))
            }
        }
    }

    fn build_rules(self, whole: Span) -> Result<Vec<Rule>, Diagnostic> {
        let (srcs, sinv) = self.addresses(&self.src)?;
        let (dsts, dinv) = self.addresses(&self.dst)?;
        let matches: Vec<MatchEntry> = self
            .matches
            .into_iter()
            .map(|s| MatchEntry { name: s.name, m: s.m, span: s.span, implicit: s.implicit })
            .collect();
        let action = match self.target {
            Some(t) => Some(Action::Target { name: t.name, t: t.t, span: t.span }),
            None => self.jump,
        };
        let mut rules = Vec::new();
        for s in &srcs {
            for d in &dsts {
                let mut ip = self.ip.clone();
                ip.src = (sinv || !s.is_any()).then_some(Inv::new(*s, sinv));
                ip.dst = (dinv || !d.is_any()).then_some(Inv::new(*d, dinv));
                rules.push(Rule {
                    ip,
                    matches: matches.clone(),
                    action: action.clone(),
                    counters: self.counters,
                    span: whole,
                });
            }
        }
        Ok(rules)
    }
}

fn zero(f: Family) -> crate::iptables::values::addr::Addr {
    crate::iptables::values::addr::Addr::zero(f)
}

/// The chain a command names.
pub fn command_chain(kind: &CommandKind) -> Option<&Name> {
    match kind {
        CommandKind::Append { chain }
        | CommandKind::Insert { chain, .. }
        | CommandKind::Delete { chain }
        | CommandKind::DeleteNum { chain, .. }
        | CommandKind::Replace { chain, .. }
        | CommandKind::Check { chain }
        | CommandKind::NewChain { chain }
        | CommandKind::RenameChain { chain, .. }
        | CommandKind::Policy { chain, .. } => Some(chain),
        CommandKind::List { chain, .. }
        | CommandKind::Flush { chain }
        | CommandKind::Zero { chain, .. }
        | CommandKind::DeleteChain { chain } => chain.as_ref(),
        CommandKind::Ignored => None,
    }
}

/// `xtables_parse_protocol`: a number, iptables' own names, then `/etc/protocols`.
pub fn parse_protocol(name: &str) -> Option<u8> {
    if let Some(n) = parse_uint(name, 0, 255) {
        return Some(n as u8);
    }
    CHAIN_PROTOS.iter().find(|(n, _)| *n == name).map(|&(_, p)| p).or_else(|| etc_protocol(name))
}

/// `sscanf("%llu")`: leading blanks, optional sign (a `-` wraps around), decimal digits.
fn scan_counter(s: &str) -> Option<u64> {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    let v: u64 = digits[..end].parse().unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

fn parse_rule_number(n: &Name) -> Result<u32, Diagnostic> {
    parse_uint(&n.text, 1, i32::MAX as u64)
        .map(|v| v as u32)
        .ok_or_else(|| err(n.span, format!("Invalid rule number `{}'", n.text)))
}

fn parse_rule_range(n: &Name) -> Result<(u32, Option<u32>), Diagnostic> {
    let bad = || err(n.span, format!("Invalid rule number `{}'", n.text));
    let dec = |s: &str| s.parse::<u32>().ok().filter(|&v| v != 0);
    match n.text.split_once(':') {
        None => Ok((dec(&n.text).ok_or_else(bad)?, None)),
        Some((a, b)) => Err(err(
            n.span,
            format!(
                "Rule ranges are not supported (`{}'{})",
                n.text,
                if dec(a).is_some() && (b.is_empty() || dec(b).is_some()) {
                    ""
                } else {
                    ", and not a valid range"
                }
            ),
        )),
    }
}

fn check_target_name(a: &OptArg) -> Result<(), Diagnostic> {
    if a.text.is_empty() {
        return Err(err(a.span, "Invalid target name (too short)"));
    }
    if a.text.len() > MAX_NAME_LEN {
        return Err(err(a.span, format!("Invalid target name `{}' ({MAX_NAME_LEN} chars max)", a.text)));
    }
    if a.text.chars().any(char::is_whitespace) {
        return Err(err(a.span, format!("Invalid target name `{}'", a.text)));
    }
    Ok(())
}

/// `assert_valid_chain_name` (for -N and -E, and chain declarations in restore files).
pub fn assert_valid_chain_name(a: &OptArg, family: Family) -> Result<(), Diagnostic> {
    if a.text.len() > MAX_NAME_LEN {
        return Err(err(
            a.span,
            format!("chain name `{}' too long (must be under {} chars)", a.text, MAX_NAME_LEN + 1),
        ));
    }
    if let Some(c) = a.text.chars().next().filter(|c| *c == '-' || *c == '!') {
        return Err(err(a.span, format!("chain name not allowed to start with `{c}'")));
    }
    if targets::lookup(&a.text, family).is_some() || Verdict::from_name(&a.text).is_some() {
        return Err(err(a.span, "chain name may not clash with target name"));
    }
    if a.text.chars().any(char::is_whitespace) {
        return Err(err(a.span, format!("Invalid chain name `{}'", a.text)));
    }
    Ok(())
}
