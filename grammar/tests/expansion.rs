//! `define`/`$var` and `include` expansion, and the shape of the tree the compiler reads.

use nftvm_grammar::nft::ast::*;
use nftvm_grammar::{SourceMap, diag::render_all, nft};
use std::path::PathBuf;

fn parse(text: &str) -> File {
    let mut sm = SourceMap::new();
    nft::parse_str(&mut sm, "rules.nft", text).unwrap_or_else(|d| panic!("{}", render_all(&d, &sm)))
}

/// The rules of the first chain of the first table, as statement lists.
fn rules(file: &File) -> Vec<&Rule> {
    let mut out = vec![];
    for c in &file.commands {
        match c {
            Command::Table { body: Some(b), .. } => {
                for item in &b.items {
                    if let TableItem::Chain { body, .. } = item {
                        out.extend(body.items.iter().filter_map(|i| match i {
                            ChainItem::Rule(r) => Some(r),
                            _ => None,
                        }));
                    }
                }
            }
            Command::Rule { rule: Some(r), .. } => out.push(r),
            _ => {}
        }
    }
    out
}

/// The texts of a run's items, for compact assertions (`[a, b]` for lists and sets).
fn run_texts(e: &Expr) -> Vec<String> {
    e.as_run()
        .unwrap_or_else(|| panic!("not a run: {e:?}"))
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Atom(a) => a.text.clone(),
            ItemKind::List(v) => {
                format!("[{}]", v.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(","))
            }
            ItemKind::Range(a, b) => format!("{}-{}", a.text, b.text),
            ItemKind::Mask(a, b) => format!("{}/{}", a[0].text, b[0].text),
            ItemKind::Set(e) => format!("{{{}}}", e.len()),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn variables_expand_in_place() {
    let file = parse(
        "define ports = { 22, 80 }\n\
         define lan = 10.0.0.0/8\n\
         define lo = 1000\n\
         define hi = 2000\n\
         define target = other\n\
         table ip t {\n\
         \tchain c {\n\
         \t\ttcp dport $ports ip saddr $lan tcp sport $lo - $hi jump $target\n\
         \t}\n\
         }\n",
    );
    let r = rules(&file);
    let StmtKind::Match(m) = &r[0].stmts[0].kind else { panic!() };
    assert_eq!(
        run_texts(&m.lhs),
        ["tcp", "dport", "{2}", "ip", "saddr", "10.0.0.0/8", "tcp", "sport", "1000-2000"]
    );
    let StmtKind::Verdict(Verdict { kind: VerdictKind::Jump(JumpTarget::Chain(a)), .. }) =
        &r[0].stmts[1].kind
    else {
        panic!()
    };
    assert_eq!(a.text, "other");
}

#[test]
fn redefine_and_undefine() {
    let mut sm = SourceMap::new();
    let text = "define x = 1\nredefine x = 2\nadd rule ip t c meta mark $x\nundefine x\nadd rule ip t c meta mark $x\n";
    let err = nft::parse_str(&mut sm, "r.nft", text).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].message, "unknown identifier 'x'");
    let file = parse("define x = 1\nredefine x = 2\nadd rule ip t c meta mark $x\n");
    let StmtKind::Match(m) = &rules(&file)[0].stmts[0].kind else { panic!() };
    assert_eq!(run_texts(&m.lhs), ["meta", "mark", "2"]);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nftvm-grammar-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).expect("temp dir");
    dir
}

#[test]
fn includes_are_relative_to_the_including_file_and_glob() {
    let dir = temp_dir("include");
    std::fs::write(dir.join("defs.nft"), "define web = { 80, 443 }\n").unwrap();
    std::fs::write(dir.join("conf.d/20-b.nft"), "add rule ip t c tcp dport 2 accept\n").unwrap();
    std::fs::write(dir.join("conf.d/10-a.nft"), "add rule ip t c tcp dport 1 accept\n").unwrap();
    std::fs::write(dir.join("conf.d/readme.txt"), "not nft\n").unwrap();
    std::fs::write(dir.join("chain-rules.nft"), "tcp dport $web accept\ndefine inner = 7\n").unwrap();
    std::fs::write(
        dir.join("main.nft"),
        "include \"defs.nft\"\n\
         include \"conf.d/*.nft\"\n\
         include \"nothing-here/*.nft\"\n\
         table ip t {\n\tchain c {\n\t\tinclude \"chain-rules.nft\"\n\t\tmeta mark $inner\n\t}\n}\n",
    )
    .unwrap();
    let mut sm = SourceMap::new();
    let file =
        nft::load_file(&mut sm, &dir.join("main.nft")).unwrap_or_else(|d| panic!("{}", render_all(&d, &sm)));
    let r = rules(&file);
    let texts: Vec<Vec<String>> = r
        .iter()
        .map(|r| match &r.stmts[0].kind {
            StmtKind::Match(m) => run_texts(&m.lhs),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        texts,
        [
            vec!["tcp", "dport", "1"],
            vec!["tcp", "dport", "2"],
            vec!["tcp", "dport", "{2}"],
            vec!["meta", "mark", "7"]
        ]
    );
    // Diagnostics name the included file.
    std::fs::write(dir.join("bad.nft"), "add rule ip t c tcp dport }\n").unwrap();
    std::fs::write(dir.join("main2.nft"), "include \"bad.nft\"\n").unwrap();
    let mut sm = SourceMap::new();
    let err = nft::load_file(&mut sm, &dir.join("main2.nft")).unwrap_err();
    assert!(
        render_all(&err, &sm)
            .starts_with(&format!("{}:1:27-27: Error: syntax error", dir.join("bad.nft").display()))
    );
    // A file including itself stops at the depth limit with a diagnostic.
    std::fs::write(dir.join("loop.nft"), "include \"loop.nft\"\n").unwrap();
    let mut sm = SourceMap::new();
    let err = nft::load_file(&mut sm, &dir.join("loop.nft")).unwrap_err();
    assert_eq!(err[0].message, "Include nested too deeply, max 16 levels");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn statement_structure() {
    let file = parse(
        "add rule ip t c ct state established,related tcp dport != 22 counter packets 1 bytes 2 \
         log prefix \"x\" level warn snat ip to 10.0.0.1-10.0.0.9:80-90 random,persistent\n\
         add rule ip t c @ih,58,6 set 0 @ih,86,6 set 1 ip saddr . tcp dport vmap { 10.0.0.1 . 22 : accept, * : jump x }\n\
         add rule ip t c limit rate over 1 kbytes / second burst 5 packets quota until 10 mbytes used 1 mbytes\n",
    );
    let r = rules(&file);
    let kinds: Vec<&StmtKind> = r[0].stmts.iter().map(|s| &s.kind).collect();
    let StmtKind::Match(m) = kinds[0] else { panic!() };
    assert_eq!(run_texts(&m.lhs), ["ct", "state", "[established,related]", "tcp", "dport"]);
    assert_eq!(m.op.map(|o| o.0), Some(RelOp::Ne));
    assert_eq!(run_texts(m.rhs.as_ref().unwrap()), ["22"]);
    assert!(
        matches!(kinds[1], StmtKind::Counter { packets: Some(p), bytes: Some(b), .. } if p.text == "1" && b.text == "2")
    );
    assert!(matches!(kinds[2], StmtKind::Log(o) if o.len() == 2));
    let StmtKind::Nat(n) = kinds[3] else { panic!() };
    assert_eq!((n.kind, n.family), (NatKind::Snat, Some(Family::Ip)));
    assert_eq!(run_texts(n.addr.as_ref().unwrap()), ["10.0.0.1-10.0.0.9"]);
    assert_eq!(run_texts(n.port.as_ref().unwrap()), ["80-90"]);
    assert_eq!(n.flags.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(), ["random", "persistent"]);

    // `x set 1 y set 2 <match>`: each `set` splits the previous value after its first item.
    let kinds: Vec<&StmtKind> = r[1].stmts.iter().map(|s| &s.kind).collect();
    let StmtKind::Set { target, value } = kinds[0] else { panic!() };
    assert_eq!((run_texts(target), run_texts(value)), (vec!["ih,58,6".to_string()], vec!["0".to_string()]));
    let StmtKind::Set { target, value } = kinds[1] else { panic!() };
    assert_eq!(run_texts(target), ["ih,86,6"]);
    let ExprKind::Map { kind: MapKind::Vmap, key, data } = &value.kind else { panic!("{value:?}") };
    let ExprKind::Concat(parts) = &key.kind else { panic!("{key:?}") };
    assert_eq!(run_texts(&parts[0]), ["1", "ip", "saddr"]);
    assert_eq!(run_texts(data), ["{2}"]);

    let kinds: Vec<&StmtKind> = r[2].stmts.iter().map(|s| &s.kind).collect();
    let StmtKind::Limit(Limit::Rate {
        over: true,
        amount,
        byte_unit: Some(u),
        per,
        burst: Some((b, Some(bu))),
    }) = kinds[0]
    else {
        panic!("{:?}", kinds[0])
    };
    assert_eq!(
        [&amount.text, &u.text, &per.text, &b.text, &bu.text],
        ["1", "kbytes", "second", "5", "packets"]
    );
    assert!(
        matches!(kinds[1], StmtKind::Quota(Quota::Limit { mode: Some(m), used: Some(_), .. }) if m.text == "until")
    );
}

#[test]
fn declarations() {
    let file = parse(
        "table inet filter {\n\
         \tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { eth0, eth1 }\n\t}\n\
         \tct helper ftp {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto ip\n\t}\n\
         \tmap m {\n\t\ttype ipv4_addr . inet_service : verdict\n\t\tflags interval,timeout\n\
         \t\telements = { 10.0.0.1 . 22 timeout 30s comment \"a\" : accept,\n\t\t\t     10.0.0.2 . 80 : drop }\n\t}\n\
         \tchain input {\n\t\ttype filter hook input priority filter + 10; policy drop;\n\t\tcomment \"in\"\n\t}\n\
         }\n\
         add chain netdev t c { type filter hook ingress devices = { \"lo\" } priority -150; }\n\
         delete rule inet filter input handle 5\n\
         flush ruleset\n",
    );
    let Command::Table { verb: Verb::Block, body: Some(body), spec, .. } = &file.commands[0] else {
        panic!()
    };
    assert_eq!(
        (spec.family, spec.table.as_ref().map(|t| t.name.as_str())),
        (Some(Family::Inet), Some("filter"))
    );
    assert!(matches!(&body.items[0], TableItem::Flowtable { body, .. } if body.props.len() == 2));
    assert!(matches!(&body.items[1], TableItem::Object { kind, .. } if kind.words.len() == 2));
    let TableItem::Set { kind: SetKind::Map, body: set, .. } = &body.items[2] else { panic!() };
    assert!(
        matches!(&set.props[0], SetProp::Type { key, data: Some(d), .. } if key.len() == 2 && d.len() == 1)
    );
    let SetProp::Elements { elements, .. } = &set.props[2] else { panic!() };
    let [Item { kind: ItemKind::Set(elems), .. }] = elements.as_run().unwrap() else { panic!() };
    assert_eq!(elems.len(), 2);
    assert!(matches!(&elems[0].key_options[..], [ElemOption::Timeout(_), ElemOption::Comment(_)]));
    let TableItem::Chain { body: chain, .. } = &body.items[3] else { panic!() };
    let ChainItem::Hook(h) = &chain.items[0] else { panic!() };
    assert!(
        matches!(&h.priority, Some(Priority { base, offset: Some((true, o)), .. }) if base.text == "filter" && o.text == "10")
    );
    assert!(matches!(&chain.items[1], ChainItem::Policy { policy, .. } if policy.text == "drop"));
    assert!(matches!(&chain.items[2], ChainItem::Comment { .. }));
    let Command::Chain { verb: Verb::Add, body: Some(b), .. } = &file.commands[1] else { panic!() };
    assert!(matches!(
        &b.items[0],
        ChainItem::Hook(BaseChain { devices: Some(_), priority: Some(Priority { negative: true, .. }), .. })
    ));
    assert!(matches!(
        &file.commands[2],
        Command::Rule { verb: Verb::Delete, locator: Some(RuleLocator::Handle(_)), rule: None, .. }
    ));
    assert!(matches!(&file.commands[3], Command::FlushRuleset { family: None, .. }));
}
