//! Unit tests of the typed model on tricky arguments. Expected outputs are what the real
//! iptables (nft backend) printed for the same command in a network namespace, or what
//! iptables' own test data says; where a case documents a diagnostic, the message text is
//! ours but the span it points at is checked.

use super::*;
use nftvm_grammar::SourceMap;

/// Parse `iptables … -A CHAIN …` (shell quoting), load it into an empty ruleset like
/// `iptables -A` does, and give the iptables-save lines of the chain.
fn save(cmdline: &str) -> Result<Vec<String>, String> {
    let mut sm = SourceMap::new();
    let f = sm.add("<cmdline>", cmdline);
    let (_, cmd) = parse_command_line(&sm, f).map_err(|d| d.render(&sm))?;
    let (CommandKind::Append { chain } | CommandKind::Insert { chain, .. }) = &cmd.kind else {
        return Err("not -A/-I".into());
    };
    let family = Family::of_program(cmdline.split(' ').next().unwrap_or(""));
    let mut rs = Ruleset::new(family);
    rs.apply(&cmd).map_err(|d| d.render(&sm))?;
    let rules =
        rs.table(&cmd.table).and_then(|t| t.chain(&chain.text)).map(|c| c.rules.clone()).unwrap_or_default();
    Ok(rules.iter().map(|r| r.save_line(&chain.text, family)).collect())
}

fn save1(cmdline: &str) -> String {
    match save(cmdline) {
        Ok(lines) => lines.join("\n"),
        Err(e) => panic!("{cmdline}: {e}"),
    }
}

#[test]
fn getopt_long_forms_and_clusters() {
    // libipt_standard.t
    assert_eq!(
        save1(
            "iptables -A FORWARD --protocol=tcp --source=1.2.3.4 --destination=5.6.7.8/32 --in-interface=eth0 --out-interface=eth1 --jump=ACCEPT"
        ),
        "-A FORWARD -s 1.2.3.4/32 -d 5.6.7.8/32 -i eth0 -o eth1 -p tcp -j ACCEPT"
    );
    assert_eq!(
        save1("iptables -A FORWARD -ptcp -s1.2.3.4 -d5.6.7.8/32 -ieth0 -oeth1 -jACCEPT"),
        "-A FORWARD -s 1.2.3.4/32 -d 5.6.7.8/32 -i eth0 -o eth1 -p tcp -j ACCEPT"
    );
    // Real iptables: short option clusters and abbreviated long options.
    assert_eq!(save1("iptables -A INPUT -fj DROP"), "-A INPUT -f -j DROP");
    assert_eq!(
        save1("iptables -t nat -A POSTROUTING -p tcp -j SNAT --to 1.2.3.4:1000-2000 --random"),
        "-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:1000-2000 --random"
    );
    assert_eq!(
        save1("iptables -A INPUT -p tcp --tcp-flags SYN,ACK ACK --tcp-op 5 ! --sp 1:2"),
        "-A INPUT -p tcp -m tcp ! --sport 1:2 --tcp-option 5 --tcp-flags SYN,ACK ACK"
    );
}

#[test]
fn implicit_protocol_match_and_its_load_rules() {
    // libxt_tcp.t: the option may come before -p when -m names the match.
    assert_eq!(save1("iptables -A INPUT -m tcp --dport 1 -p 6"), "-A INPUT -p tcp -m tcp --dport 1");
    // Real iptables: without -m, an option before -p is unknown.
    assert!(save("iptables -A INPUT --dport 22 -p tcp").is_err());
    // Real iptables-nft: port tests become nft expressions, fine after `! -p tcp`…
    assert_eq!(save1("iptables -A INPUT ! -p tcp --dport 22"), "-A INPUT ! -p tcp -m tcp --dport 22");
    // …but an xt match without tests needs a positive `-p udp`.
    assert!(save("iptables -A INPUT ! -p udp -m udp").is_err());
    assert!(save("iptables -A INPUT -m tcp --dport 1").is_err());
}

#[test]
fn addresses() {
    // Real iptables: several addresses make several rules; short forms complete.
    assert_eq!(
        save("iptables -A INPUT -s 1.1.1.1,2.2.2.0/24 -p udp --sport 53 -j DROP").unwrap(),
        [
            "-A INPUT -s 1.1.1.1/32 -p udp -m udp --sport 53 -j DROP",
            "-A INPUT -s 2.2.2.0/24 -p udp -m udp --sport 53 -j DROP"
        ]
    );
    assert_eq!(
        save1("iptables -A INPUT -s 10.1 -d 10.1.2/255.255.255.0"),
        "-A INPUT -s 10.1.0.0/32 -d 10.1.2.0/24"
    );
    // libip6t_standard.t
    assert_eq!(save1("ip6tables -A INPUT ! -d ::"), "-A INPUT ! -d ::/128");
    assert!(save("iptables -A INPUT ! -s 1.1.1.1,2.2.2.2").is_err());
}

#[test]
fn names_prefixes_and_quoting() {
    // Real iptables: ICMP type names are matched by unambiguous prefix.
    assert_eq!(
        save1("iptables -A INPUT -p icmp --icmp-type port-unr"),
        "-A INPUT -p icmp -m icmp --icmp-type 3/3"
    );
    let e = save("iptables -A INPUT -p icmp --icmp-type echo-re").unwrap_err();
    assert!(e.contains("echo-reply") && e.contains("echo-request"), "{e}");
    // Real iptables-save quoting of a comment with quotes and backslashes.
    assert_eq!(
        save1(r#"iptables -A INPUT -m comment --comment 'it'"'"'s "quoted"\\x' -j ACCEPT"#),
        r#"-A INPUT -m comment --comment "it\'s \"quoted\"\\\\x" -j ACCEPT"#
    );
    // libxt_conntrack.t / libxt_state.t
    assert_eq!(
        save1("iptables -A INPUT -m conntrack --ctstate established,new --ctproto UDP"),
        "-A INPUT -m conntrack --ctstate NEW,ESTABLISHED --ctproto 17"
    );
}

#[test]
fn diagnostics_point_at_the_argument() {
    let mut sm = SourceMap::new();
    let f = sm.add("<cmdline>", "iptables -A INPUT -p tcp --dport 65536 -j ACCEPT");
    let e = parse_command_line(&sm, f).unwrap_err();
    let rendered = e.render(&sm);
    assert!(
        rendered.starts_with("<cmdline>:1:34-38: Error: tcp: invalid port/service `65536' specified"),
        "{rendered}"
    );
    assert!(rendered.ends_with("\n                                 ^^^^^\n"), "{rendered}");

    let f = sm.add("<cmdline>", "iptables -A INPUT -m conntrack --ctstate NEW,BOGUS");
    let e = parse_command_line(&sm, f).unwrap_err();
    assert!(e.message.contains("--ctstate") || e.message.contains("ctstate"), "{}", e.message);
    assert_eq!(sm.file(f).slice(e.span), "NEW,BOGUS");

    let f = sm.add("<cmdline>", "iptables -A INPUT -m state");
    let e = parse_command_line(&sm, f).unwrap_err();
    assert_eq!(e.message, "state: option \"--state\" must be specified");
    assert_eq!(sm.file(f).slice(e.span), "state");
}

#[test]
fn restore_file_canonical_order() {
    // Real iptables-restore + iptables-save on the same input: tables in the nft backend's
    // order, all built-in chains of a present table, user chains sorted bytewise, counters
    // zeroed without -c, empty sections not created.
    let text = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n*security\n:zeta - [0:0]\n\
                :Alpha - [0:0]\n:alpha - [0:0]\n-A zeta -j RETURN\n-A OUTPUT -j zeta\nCOMMIT\n*filter\n\
                :INPUT DROP [5:6]\nCOMMIT\n*raw\nCOMMIT\n";
    let mut sm = SourceMap::new();
    let f = sm.add("rules.v4", text);
    let (rs, diags) =
        load_restore(&sm, f, RestoreOptions { family: Family::Ipv4, counters: false, noflush: false });
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        rs.save(SaveOptions::default()),
        "*security\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:Alpha - [0:0]\n:alpha - [0:0]\n\
         :zeta - [0:0]\n-A OUTPUT -j zeta\n-A zeta -j RETURN\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n\
         :FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n\
         :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n"
    );
}

#[test]
fn restore_errors_are_per_line() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j nosuchchain\n-A INPUT -p tcp --dport 22 -j ACCEPT\n\
                -t nat -A INPUT -j ACCEPT\nCOMMIT\n";
    let mut sm = SourceMap::new();
    let f = sm.add("rules.v4", text);
    let (rs, diags) =
        load_restore(&sm, f, RestoreOptions { family: Family::Ipv4, counters: false, noflush: false });
    let lines: Vec<usize> = diags.iter().map(|d| sm.file(f).line_col(d.span.start).line).collect();
    assert_eq!(lines, [3, 5], "{diags:?}");
    assert!(rs.save(SaveOptions::default()).contains("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"));
}

#[test]
fn argv_parsing_points_into_the_echoed_line() {
    let mut sm = SourceMap::new();
    let args: Vec<String> = ["-A", "INPUT", "-m", "comment", "--comment", "a b", "-j", "NOPE!"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (f, cmd) = parse_argv(&mut sm, "<argv>", Family::Ipv4, &args).unwrap();
    assert_eq!(sm.file(f).text, "-A INPUT -m comment --comment 'a b' -j 'NOPE!'");
    assert_eq!(
        cmd.rules[0].save_line("INPUT", Family::Ipv4),
        "-A INPUT -m comment --comment \"a b\" -j NOPE!"
    );
    let bad: Vec<String> =
        ["-A", "INPUT", "-p", "tcp", "--dport", "x y"].iter().map(|s| s.to_string()).collect();
    let e = parse_argv(&mut sm, "<argv>", Family::Ipv4, &bad).unwrap_err();
    assert_eq!(sm.file(e.span.file).slice(e.span), "'x y'");
}
