//! Reader for nftables' `tests/py` test data (`*.t` and `*.t.payload*`), shared by every
//! runner that replays it (parsing, listing, bytecode).
//!
//! A `.t` file lists base chains (`:name;config`), the tables to run in
//! (`*family;table;chain[,chain]`), set/map declarations (`!name type … ;ok`), elements
//! (`?name e1, e2;ok`), stateful objects (`%name type counter;ok`) and rule cases
//! (`rule;ok`, `rule;ok;expected listing`, `rule;fail`). `#` lines are comments; lines that
//! start with `- ` are known-broken cases (kept, marked `disabled`). The `to_command` helpers
//! build the nft commands nftables' own runner sends for each line.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The families' directories in the order nftables' runner walks them.
pub const DIRS: &[&str] = &["any", "arp", "bridge", "inet", "ip", "ip6", "netdev"];

/// Expected outcome of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    Fail,
}

impl Expect {
    fn parse(s: &str) -> Option<Expect> {
        match s.trim() {
            "ok" => Some(Expect::Ok),
            "fail" => Some(Expect::Fail),
            _ => None,
        }
    }
}

/// A `:name;config` base-chain declaration.
#[derive(Clone, Debug)]
pub struct ChainDecl {
    pub line: usize,
    pub name: String,
    /// `type filter hook input priority 0` (may be empty for a regular chain).
    pub config: String,
}

/// A `*family;table;chains` line: the table a file's cases run in.
#[derive(Clone, Debug)]
pub struct TableCtx {
    pub line: usize,
    pub family: String,
    pub table: String,
    pub chains: Vec<String>,
    /// Why the reference kernel refuses every rule of this context although the file (older
    /// than the kernel) expects them to load ([`REFUSED_BY_NEWER_KERNELS`]).
    pub refused: Option<&'static str>,
}

/// Table contexts whose rules Linux 6.18 — the kernel nftvm follows and the `kernel_diff`
/// suite runs — refuses with EOPNOTSUPP, though the py tests, recorded on older kernels,
/// mark them `ok`: `(file under tests-py, family, why)`. A runner expects them refused.
pub const REFUSED_BY_NEWER_KERNELS: &[(&str, &str, &str)] = &[(
    "inet/osf.t",
    "ip6",
    "nft_osf is restricted to IPv4 (\"netfilter: nft_osf: restrict it to ipv4\", 2026)",
)];

impl TableCtx {
    /// `family table`, as the commands name it.
    pub fn spec(&self) -> String {
        format!("{} {}", self.family, self.table)
    }
}

/// One test line of a `.t` file (besides chains and tables).
#[derive(Clone, Debug)]
pub enum Case {
    /// `rule;ok[;expected]` or `rule;fail`.
    Rule { line: usize, rule: String, expect: Expect, listing: Option<String>, disabled: bool },
    /// `!name type …;ok`.
    Set { line: usize, name: String, spec: SetSpec, expect: Expect },
    /// `?name elements;ok`.
    Elements { line: usize, set: String, elements: String, expect: Expect },
    /// `%name type kind spec;ok`.
    Object { line: usize, name: String, kind: String, spec: String, expect: Expect },
}

impl Case {
    pub fn expect(&self) -> &Expect {
        match self {
            Case::Rule { expect, .. }
            | Case::Set { expect, .. }
            | Case::Elements { expect, .. }
            | Case::Object { expect, .. } => expect,
        }
    }

    pub fn line(&self) -> usize {
        match self {
            Case::Rule { line, .. }
            | Case::Set { line, .. }
            | Case::Elements { line, .. }
            | Case::Object { line, .. } => *line,
        }
    }

    /// The nft command nftables' runner sends for this case in `table`, for a rule in `chain`
    /// (`None` for declarations).
    pub fn to_command(&self, table: &TableCtx, chain: &str) -> String {
        match self {
            Case::Rule { rule, .. } => format!("add rule {} {} {}", table.spec(), chain, rule),
            Case::Set { name, spec, .. } => spec.to_command(&table.spec(), name),
            Case::Elements { set, elements, .. } => {
                format!("add element {} {} {{ {} }}", table.spec(), set, elements)
            }
            Case::Object { name, kind, spec, .. } => {
                format!("add {} {} {} {}", kind, table.spec(), name, spec).trim_end().to_string()
            }
        }
    }
}

/// A set or map declaration: `type` or `typeof`, key, optional data, timeout and flags.
#[derive(Clone, Debug)]
pub struct SetSpec {
    /// `type` or `typeof`.
    pub keyword: String,
    pub key: String,
    pub data: Option<String>,
    pub timeout: Option<String>,
    pub flags: Option<String>,
}

impl SetSpec {
    fn parse(text: &str) -> Option<(String, SetSpec)> {
        let mut words = text.split_whitespace();
        let name = words.next()?.to_string();
        let keyword = words.next()?.to_string();
        let (mut key, mut data, mut timeout, mut flags) = (vec![], None::<Vec<&str>>, None, None);
        while let Some(w) = words.next() {
            match w {
                "timeout" => timeout = words.next().map(str::to_string),
                "flags" => flags = words.next().map(str::to_string),
                ":" => data = Some(vec![]),
                _ => match data.as_mut() {
                    Some(d) => d.push(w),
                    None => key.push(w),
                },
            }
        }
        let spec = SetSpec { keyword, key: key.join(" "), data: data.map(|d| d.join(" ")), timeout, flags };
        Some((name, spec))
    }

    /// `add set|map <table> <name> { type K [: D]; [timeout T;] [flags F; ]}`.
    pub fn to_command(&self, table: &str, name: &str) -> String {
        let kind = if self.data.is_some() { "map" } else { "set" };
        let mut body = format!("{} {}", self.keyword, self.key);
        if let Some(d) = &self.data {
            body.push_str(" : ");
            body.push_str(d);
        }
        body.push(';');
        if let Some(t) = &self.timeout {
            body.push_str(&format!(" timeout {t};"));
        }
        if let Some(f) = &self.flags {
            body.push_str(&format!(" flags {f};"));
        }
        format!("add {kind} {table} {name} {{ {body} }}")
    }
}

/// A parsed `.t` file.
#[derive(Clone, Debug)]
pub struct TestFile {
    pub path: PathBuf,
    pub chains: Vec<ChainDecl>,
    pub tables: Vec<TableCtx>,
    pub cases: Vec<Case>,
}

impl TestFile {
    pub fn chain(&self, name: &str) -> Option<&ChainDecl> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// `add chain <table> <name> { config; }` for every chain a table context uses.
    pub fn chain_commands(&self, table: &TableCtx) -> Vec<String> {
        table
            .chains
            .iter()
            .filter_map(|c| self.chain(c))
            .map(|c| {
                if c.config.is_empty() {
                    format!("add chain {} {}", table.spec(), c.name)
                } else {
                    format!("add chain {} {} {{ {}; }}", table.spec(), c.name, c.config)
                }
            })
            .collect()
    }
}

/// Read one `.t` file.
pub fn read_t(path: &Path) -> std::io::Result<TestFile> {
    let text = std::fs::read_to_string(path)?;
    let mut file = TestFile { path: path.to_path_buf(), chains: vec![], tables: vec![], cases: vec![] };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end();
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix(':') {
            let (name, config) = rest.split_once(';').unwrap_or((rest, ""));
            file.chains.push(ChainDecl { line, name: name.to_string(), config: config.to_string() });
        } else if let Some(rest) = l.strip_prefix('*') {
            let mut parts = rest.split(';');
            let family = parts.next().unwrap_or("").to_string();
            let table = parts.next().unwrap_or("").to_string();
            let chains = parts.next().unwrap_or("").split(',').map(str::to_string).collect();
            let refused = REFUSED_BY_NEWER_KERNELS
                .iter()
                .find(|(f, fam, _)| path.ends_with(f) && *fam == family)
                .map(|(_, _, why)| *why);
            file.tables.push(TableCtx { line, family, table, chains, refused });
        } else if let Some(rest) = l.strip_prefix('!') {
            let (decl, res) = rest.rsplit_once(';').unwrap_or((rest, ""));
            if let (Some((name, spec)), Some(expect)) = (SetSpec::parse(decl), Expect::parse(res)) {
                file.cases.push(Case::Set { line, name, spec, expect });
            }
        } else if let Some(rest) = l.strip_prefix('?') {
            let (decl, res) = rest.rsplit_once(';').unwrap_or((rest, ""));
            let (set, elements) = decl.split_once(' ').unwrap_or((decl, ""));
            if let Some(expect) = Expect::parse(res) {
                file.cases.push(Case::Elements {
                    line,
                    set: set.to_string(),
                    elements: elements.trim().to_string(),
                    expect,
                });
            }
        } else if let Some(rest) = l.strip_prefix('%') {
            // The object spec may hold `;` inside braces: the result follows the last `}`.
            let (decl, res) = match rest.rfind('}') {
                Some(b) => (&rest[..=b], rest[b + 1..].trim_start_matches(';')),
                None => rest.rsplit_once(';').unwrap_or((rest, "")),
            };
            let mut words = decl.split_whitespace();
            let name = words.next().unwrap_or("").to_string();
            let _type = words.next();
            let mut kind = words.next().unwrap_or("").to_string();
            let rest_words: Vec<&str> = words.collect();
            let mut spec_words = rest_words.as_slice();
            if kind == "ct"
                && let Some((first, tail)) = rest_words.split_first()
            {
                kind = format!("ct {first}");
                spec_words = tail;
            }
            if let Some(expect) = Expect::parse(res) {
                file.cases.push(Case::Object { line, name, kind, spec: spec_words.join(" "), expect });
            }
        } else {
            let (disabled, body) = match l.strip_prefix('-') {
                Some(b) => (true, b.trim_start()),
                None => (false, l),
            };
            let fields: Vec<&str> = body.split(';').collect();
            if fields.len() < 2 || fields.len() > 3 {
                continue;
            }
            let Some(expect) = Expect::parse(fields[1]) else { continue };
            let listing = fields.get(2).map(|s| s.to_string());
            file.cases.push(Case::Rule { line, rule: fields[0].to_string(), expect, listing, disabled });
        }
    }
    Ok(file)
}

/// All `.t` files under `tests_py` in the given family directories, sorted.
pub fn t_files(tests_py: &Path, dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = vec![];
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(tests_py.join(d)) {
            let mut v: Vec<PathBuf> =
                rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "t")).collect();
            v.sort();
            out.extend(v);
        }
    }
    out
}

/// Apply one nft command to `rs`, as `nft` would; Err with the rendered diagnostics when it
/// is rejected.
pub fn apply(rs: &mut nftvm_compiler::ir::Ruleset, cmd: &str) -> Result<(), String> {
    use nftvm_grammar::{SourceMap, diag::render_all};
    let mut sm = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sm, "<cmdline>", cmd).map_err(|d| render_all(&d, &sm))?;
    let diags = nftvm_compiler::eval::apply(rs, &file);
    if diags.iter().any(|d| d.is_error()) { Err(render_all(&diags, &sm)) } else { Ok(()) }
}

/// One block of a `.t.payload*` file: the rule it belongs to and its lines.
#[derive(Clone, Debug)]
pub struct PayloadBlock {
    pub rule: String,
    /// `__set%d …` declarations and tab-separated `element …` lines before the chain line.
    pub set_lines: Vec<String>,
    /// The `family table chain` line.
    pub chain_line: Option<String>,
    /// The `  [ … ]` expression lines, trimmed.
    pub exprs: Vec<String>,
}

/// Read a `.t.payload` (or `.t.payload.<family>`) file into blocks.
pub fn read_payload(path: &Path) -> std::io::Result<Vec<PayloadBlock>> {
    let text = std::fs::read_to_string(path)?;
    let mut blocks = vec![];
    let mut cur: Option<PayloadBlock> = None;
    for l in text.lines() {
        if let Some(rule) = l.strip_prefix("# ") {
            blocks.extend(cur.take());
            cur = Some(PayloadBlock {
                rule: rule.trim().to_string(),
                set_lines: vec![],
                chain_line: None,
                exprs: vec![],
            });
            continue;
        }
        let Some(b) = cur.as_mut() else { continue };
        let t = l.trim();
        if t.is_empty() {
            blocks.extend(cur.take());
        } else if t.starts_with('[') {
            b.exprs.push(t.to_string());
        } else if b.chain_line.is_none()
            && !t.starts_with("__set")
            && !t.starts_with("__map")
            && !t.starts_with("element")
        {
            b.chain_line = Some(t.to_string());
        } else {
            b.set_lines.push(l.to_string());
        }
    }
    blocks.extend(cur);
    Ok(blocks)
}
