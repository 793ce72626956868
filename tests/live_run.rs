//! `nftvm run` with real traffic between real network stacks (root; fails, never skips,
//! where it cannot run).
//!
//! Topology, built per test with throwaway namespaces: `nftvm run` starts in `fw` with two
//! TUN devices; the test moves `tuna` into `client` and `tunb` into `server`. The client
//! routes everything via tuna; the server knows only its own subnet, so replies reach the
//! client only through nftvm's masquerade.
//!
//! ```text
//!  client 10.0.1.2 fd00:1::2 ─tuna─ [ nftvm 10.0.1.1 | 10.0.2.1 ] ─tunb─ server 10.0.2.2 fd00:2::2
//! ```
//!
//! The clients and servers are Python (`tests/data/live/*.py`, Debian's python3 and
//! python3-pyftpdlib); `.ci/run` installs them.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::kernel::Netns;

const PYTHON: &str = "/usr/bin/python3";

/// The ruleset of the issue: new TCP connections to 8080 (and FTP with its helper),
/// established/related traffic, masquerade towards the server, drop the rest.
const RULESET: &str = r#"table inet fw {
	ct helper ftp-standard {
		type "ftp" protocol tcp;
	}

	set clients {
		type ipv4_addr . inet_service
		flags dynamic
		counter
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state new tcp dport 8080 update @clients { ip saddr . tcp dport }
		ct state new tcp dport 8080 counter accept
		ct state new tcp dport 21 ct helper set "ftp-standard" accept
	}

	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "tunb" masquerade
	}
}
"#;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/live").join(name)
}

/// A child process killed when dropped.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdin: Option<ChildStdin>,
}

impl Proc {
    /// `program args…` inside `ns`, stdout read line by line.
    fn spawn(ns: &Netns, program: &str, args: &[&str]) -> Proc {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), program])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        Proc { child, lines, stdin }
    }

    /// The next stdout line within `timeout`.
    fn line(&self, timeout: Duration, what: &str) -> String {
        self.lines
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("no output from {what} within {timeout:?}"))
    }

    /// Waits for a line containing `needle`; returns it.
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(l) => seen.push(l),
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} within {timeout:?}; got {seen:#?}");
    }

    fn send_line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{text}").and_then(|()| stdin.flush()).expect("writing to a child");
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Panics (these tests fail rather than skip) unless the clients and servers the tests
/// drive are installed, naming the Debian package that provides what is missing.
fn require_live_tools() {
    let checks: [(&str, &[&str], &str); 3] = [
        (PYTHON, &["-c", "import pyftpdlib"], "python3 and python3-pyftpdlib"),
        ("ping", &["-V"], "iputils-ping"),
        ("setpriv", &["--version"], "util-linux"),
    ];
    for (program, args, package) in checks {
        let ok = Command::new(program).args(args).output().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "live tests: `{program} {}` fails: install the Debian package(s) {package}",
            args.join(" ")
        );
    }
}

/// Runs `program args…` in `ns` to completion: (exit code, stdout, stderr).
fn run_in(ns: &Netns, program: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), program])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The three namespaces with nftvm running in `fw` and the devices moved.
struct Topology {
    // Field order is drop order: nftvm and the helpers go before the namespaces.
    nftvm: Proc,
    helpers: Vec<Proc>,
    dir: PathBuf,
    fw: Netns,
    client: Netns,
    server: Netns,
}

impl Topology {
    /// nftvm with `workers` workers on `engine` (`interp` or `jit`), running `ruleset`.
    fn start(workers: usize, engine: &str, ruleset: &str) -> Topology {
        Topology::launch(ruleset, &["--workers", &workers.to_string(), "--engine", engine])
    }

    /// nftvm running `ruleset` with the extra options `args`.
    fn launch(ruleset: &str, args: &[&str]) -> Topology {
        require_live_tools();
        let (fw, client, server) = (Netns::new(), Netns::new(), Netns::new());
        for ns in [&fw, &client, &server] {
            ns.ip_batch("link set dev lo up\n");
        }
        let dir = std::env::temp_dir().join(format!("nftvm-live-{}", fw.name()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let rules = dir.join("fw.nft");
        std::fs::write(&rules, ruleset).expect("writing the ruleset");
        let mut run_args = vec![
            "run",
            rules.to_str().expect("utf-8 path"),
            "--tun",
            "tuna=10.0.1.1/24",
            "--tun",
            "tuna=fd00:1::1/64",
            "--tun",
            "tunb=10.0.2.1/24",
            "--tun",
            "tunb=fd00:2::1/64",
            "--metrics",
            "127.0.0.1:9469",
        ];
        run_args.extend_from_slice(args);
        let nftvm = Proc::spawn(&fw, env!("CARGO_BIN_EXE_nftvm"), &run_args);
        assert_eq!(nftvm.line(Duration::from_secs(20), "nftvm run"), "ready tuna tunb");
        fw.ip_batch(&format!(
            "link set tuna netns {}\nlink set tunb netns {}\n",
            client.name(),
            server.name()
        ));
        client.sysctl(&[("net.ipv6.conf.tuna.accept_dad".into(), "0".into())]);
        server.sysctl(&[("net.ipv6.conf.tunb.accept_dad".into(), "0".into())]);
        client.ip_batch(
            "addr add 10.0.1.2/24 dev tuna\naddr add fd00:1::2/64 dev tuna nodad\nlink set tuna up\n\
             route add default dev tuna\nroute add ::/0 dev tuna\n",
        );
        server.ip_batch(
            "addr add 10.0.2.2/24 dev tunb\naddr add fd00:2::2/64 dev tunb nodad\nlink set tunb up\n",
        );
        Topology { nftvm, helpers: Vec::new(), dir, fw, client, server }
    }

    fn ruleset_path(&self) -> PathBuf {
        self.dir.join("fw.nft")
    }

    /// `nftvm ARGS` in `fw` (talking to the instance over its control socket).
    fn nftvm(&self, args: &[&str]) -> (i32, String, String) {
        run_in(&self.fw, env!("CARGO_BIN_EXE_nftvm"), args)
    }

    fn echo_server(&mut self, ports: &[&str]) {
        let mut args = vec![data("echo_server.py").to_string_lossy().into_owned()];
        args.extend(ports.iter().map(|p| p.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = Proc::spawn(&self.server, PYTHON, &refs);
        p.wait_for("listening", Duration::from_secs(10));
        self.helpers.push(p);
    }

    /// One connection from the client: "ok first" or "fail: …".
    fn connect_once(&self, addr: &str, port: &str) -> String {
        let (_, out, err) =
            run_in(&self.client, PYTHON, &[data("tcp_client.py").to_str().unwrap(), "once", addr, port]);
        format!("{}{err}", out.trim())
    }

    fn hold(&self, addr: &str, port: &str) -> Proc {
        let p =
            Proc::spawn(&self.client, PYTHON, &[data("tcp_client.py").to_str().unwrap(), "hold", addr, port]);
        assert_eq!(p.line(Duration::from_secs(10), "tcp_client hold"), "ok first", "{addr} port {port}");
        p
    }

    fn alive(&mut self) -> bool {
        self.nftvm.child.try_wait().expect("try_wait").is_none()
    }

    fn metrics(&self) -> String {
        let (code, out, err) = run_in(
            &self.fw,
            PYTHON,
            &[
                "-c",
                "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9469/metrics').read().decode())",
            ],
        );
        assert_eq!(code, 0, "metrics: {err}");
        out
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Retries `f` until it returns true or `timeout` passes.
/// The `packets` count on the listing's line that contains `needle`.
fn counted_packets(listing: &str, needle: &str) -> u64 {
    let line =
        listing.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no `{needle}` in {listing}"));
    let count = line.split_whitespace().skip_while(|w| *w != "packets").nth(1);
    count.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no packet count in `{line}`"))
}

fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The full TCP scenario for one worker count and engine.
fn tcp_scenario(workers: usize, engine: &str, reload_by_signal: bool) {
    let mut t = Topology::start(workers, engine, RULESET);
    t.echo_server(&["8080", "9090"]);
    for addr in ["10.0.2.2", "fd00:2::2"] {
        assert_eq!(t.connect_once(addr, "8080"), "ok first", "{addr}:8080 through nftvm");
        let refused = t.connect_once(addr, "9090");
        assert!(refused.starts_with("fail"), "{addr}:9090 must be dropped, got {refused}");
    }

    // Long-lived connections, visible in the table with both tuples.
    let mut held_v4 = t.hold("10.0.2.2", "8080");
    let mut held_v6 = t.hold("fd00:2::2", "8080");
    let (code, list, summary) =
        t.nftvm(&["conntrack", "-L", "-p", "tcp", "--dport", "8080", "--state", "ESTABLISHED"]);
    assert_eq!(code, 0, "{summary}");
    let v4 =
        list.lines().find(|l| l.contains("src=10.0.1.2 dst=10.0.2.2 ")).unwrap_or_else(|| panic!("{list}"));
    assert!(v4.starts_with("tcp      6 "), "{v4}");
    assert!(v4.contains(" ESTABLISHED src=10.0.1.2 dst=10.0.2.2 sport="), "{v4}");
    assert!(v4.contains(" dport=8080 packets="), "{v4}");
    assert!(
        v4.contains(" src=10.0.2.2 dst=10.0.2.1 sport=8080 dport="),
        "reply tuple after masquerade: {v4}"
    );
    assert!(v4.ends_with("[ASSURED] mark=0 use=1"), "{v4}");
    let v6 =
        list.lines().find(|l| l.contains("src=fd00:1::2 dst=fd00:2::2 ")).unwrap_or_else(|| panic!("{list}"));
    assert!(
        v6.contains(" src=fd00:2::2 dst=fd00:2::1 sport=8080 dport=") && v6.contains("[ASSURED]"),
        "{v6}"
    );
    assert!(
        summary.contains("conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown."),
        "{summary}"
    );
    let (_, nat, _) = t.nftvm(&["conntrack", "-L", "--src-nat", "-p", "tcp", "--state", "ESTABLISHED"]);
    assert_eq!(nat.lines().filter(|l| l.contains("dport=8080")).count(), 2, "{nat}");
    let (_, none, _) = t.nftvm(&["conntrack", "-L", "--dst-nat", "-p", "tcp"]);
    assert!(none.trim().is_empty(), "{none}");
    let (_, count, _) = t.nftvm(&["conntrack", "-C"]);
    assert!(count.trim().parse::<usize>().is_ok_and(|n| n >= 2), "{count}");
    let (_, stats, _) = t.nftvm(&["conntrack", "-S"]);
    assert_eq!(stats.lines().filter(|l| l.starts_with("cpu=")).count(), workers, "{stats}");

    // Events: a new connection shows up as [NEW] … [UPDATE] in conntrack -E's format.
    let events = Proc::spawn(&t.fw, env!("CARGO_BIN_EXE_nftvm"), &["conntrack", "-E", "-p", "tcp"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(t.connect_once("10.0.2.2", "8080"), "ok first");
    let new = events.wait_for("[NEW]", Duration::from_secs(5));
    assert!(new.starts_with("    [NEW] tcp      6 120 SYN_SENT src=10.0.1.2 dst=10.0.2.2 sport="), "{new}");
    assert!(new.contains("[UNREPLIED] src=10.0.2.2 dst=10.0.2.1 sport=8080"), "{new}");
    events.wait_for("[UPDATE] tcp      6 ", Duration::from_secs(5));
    drop(events);

    // Reload: 9090 instead of 8080 for new connections; established ones keep working.
    std::fs::write(t.ruleset_path(), RULESET.replace("tcp dport 8080", "tcp dport 9090")).unwrap();
    if reload_by_signal {
        nix::sys::signal::kill(t.nftvm.pid(), nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    } else {
        let (code, _, err) = t.nftvm(&["reload"]);
        assert_eq!(code, 0, "nftvm reload: {err}");
    }
    assert!(
        eventually(Duration::from_secs(5), || t.connect_once("10.0.2.2", "9090") == "ok first"),
        "new connections to 9090 after the reload"
    );
    for addr in ["10.0.2.2", "fd00:2::2"] {
        assert!(t.connect_once(addr, "8080").starts_with("fail"), "{addr}:8080 after the reload");
        assert_eq!(t.connect_once(addr, "9090"), "ok first", "{addr}:9090 after the reload");
    }
    held_v4.send_line("after-reload");
    assert_eq!(held_v4.line(Duration::from_secs(5), "held v4"), "ok after-reload");
    held_v6.send_line("after-reload");
    assert_eq!(held_v6.line(Duration::from_secs(5), "held v6"), "ok after-reload");

    // The listing shows the running ruleset with live counters.
    let (code, listing, err) = t.nftvm(&["list", "ruleset"]);
    assert_eq!(code, 0, "{err}");
    let packets = counted_packets(&listing, "tcp dport 9090 counter packets");
    assert!(packets >= 3, "three new connections to 9090 were counted: {listing}");
    // … and what the packet path added to sets (the IPv4 client's new connections to 9090,
    // each counted by the set's own `counter`, added up over the workers).
    let packets = counted_packets(&listing, "10.0.1.2 . 9090 counter packets");
    assert!(packets >= 2, "two new IPv4 connections to 9090 were counted: {listing}");
    // One set alone, as `nft list set` prints it; a set that is not there, as nft says.
    let (code, one, err) = t.nftvm(&["list", "set", "inet", "fw", "clients"]);
    assert_eq!(code, 0, "{err}");
    assert!(one.starts_with("table inet fw {\n\tset clients {\n"), "{one}");
    assert!(one.contains("10.0.1.2 . 9090 counter packets") && !one.contains("chain"), "{one}");
    let (code, _, err) = t.nftvm(&["list", "set", "inet", "fw", "nonesuch"]);
    assert_eq!((code, err.trim()), (1, "Error: No such file or directory"));

    // A ruleset that does not compile is reported; the running one stays.
    std::fs::write(t.ruleset_path(), "table inet fw { chain forward { type filter hook forward priority 0; tcp dport nonsense accept; } }\n").unwrap();
    let (code, _, err) = t.nftvm(&["reload"]);
    assert_eq!(code, 1, "a broken reload must fail");
    assert!(err.contains("fw.nft"), "the error names the file: {err}");
    assert_eq!(t.connect_once("fd00:2::2", "9090"), "ok first", "the old ruleset still runs");
    held_v4.send_line("after-failed-reload");
    assert_eq!(held_v4.line(Duration::from_secs(5), "held v4"), "ok after-failed-reload");

    // Metrics.
    let m = t.metrics();
    assert!(m.contains("nftvm_rule_packets_total{rule=\""), "{m}");
    assert!(m.contains("nftvm_verdict_packets_total{verdict=\"drop\"}"), "{m}");
    assert!(m.contains(&format!("nftvm_worker_busy_seconds_total{{worker=\"{}\"}}", workers - 1)), "{m}");
    assert!(m.contains("nftvm_conntrack_entries{worker=\"0\"}"), "{m}");

    // -D deletes what it matches and says so; -F empties the table.
    let (code, deleted, err) = t.nftvm(&["conntrack", "-D", "-p", "tcp", "--dport", "9090"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        deleted.lines().count() >= 1 && err.contains("flow entries have been deleted."),
        "{deleted}{err}"
    );
    let (code, _, err) = t.nftvm(&["conntrack", "-F"]);
    assert_eq!(
        (code, err.trim()),
        (0, "conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.")
    );

    // SIGTERM stops it cleanly.
    nix::sys::signal::kill(t.nftvm.pid(), nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let stopped = eventually(Duration::from_secs(5), || !t.alive());
    assert!(stopped, "nftvm did not stop on SIGTERM");
    let status = t.nftvm.child.wait().expect("wait");
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn tcp_through_masquerade_with_one_worker_on_the_interpreter() {
    tcp_scenario(1, "interp", true);
}

#[test]
fn tcp_through_masquerade_with_two_workers_on_the_jit() {
    tcp_scenario(2, "jit", false);
}

/// A ruleset of the live tests' shape: `sets` declared, the forward chain's `rules` (policy
/// drop), masquerade towards the server.
fn forwarding(sets: &str, rules: &str) -> String {
    format!(
        "table inet fw {{\n{sets}\tchain forward {{\n\t\ttype filter hook forward priority filter; policy drop;\n\
         {rules}\t}}\n\n\tchain post {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\toifname \"tunb\" masquerade\n\t}}\n}}\n"
    )
}

/// The kernel has one token bucket per `limit`, whatever CPU a packet is on: with two
/// workers, eight connections in a row (their flows spread over both) get two through, not
/// two per worker.
#[test]
fn two_workers_share_a_rules_limit() {
    // New connections to 8080 under a limit of two a minute, the rest dropped.
    let rules = "\t\tct state established,related accept\n\
                 \t\tct state new tcp dport 8080 limit rate 2/minute burst 2 packets accept\n";
    let mut t = Topology::start(2, "jit", &forwarding("", rules));
    t.echo_server(&["8080"]);
    let results: Vec<String> = (0..8).map(|_| t.connect_once("10.0.2.2", "8080")).collect();
    let through = results.iter().filter(|r| r.as_str() == "ok first").count();
    assert_eq!(through, 2, "{results:?}");
    assert!(results.iter().all(|r| r == "ok first" || r.starts_with("fail")), "{results:?}");
    assert!(t.alive());
}

/// The kernel counts a `ct count` over every CPU's connections: with two workers, two
/// connections held open (their flows on either worker or both) leave no room under
/// `ct count over 2` — a rule's, or a per-source set element's — whichever worker a new
/// flow lands on; once one of them closes, a new one gets through.
#[test]
fn two_workers_count_connections_together() {
    let per_source_set = "\tset per_source {\n\t\ttype ipv4_addr\n\t\tsize 64\n\t\tflags dynamic\n\t}\n\n";
    for (sets, count) in
        [("", "ct count over 2 drop"), (per_source_set, "add @per_source { ip saddr ct count over 2 } drop")]
    {
        let rules = format!(
            "\t\tct state established,related accept\n\
             \t\tct state new tcp dport 8080 {count}\n\
             \t\tct state new tcp dport 8080 accept\n"
        );
        let mut t = Topology::start(2, "jit", &forwarding(sets, &rules));
        t.echo_server(&["8080"]);
        let first = t.hold("10.0.2.2", "8080");
        let _second = t.hold("10.0.2.2", "8080");
        let more: Vec<String> = (0..6).map(|_| t.connect_once("10.0.2.2", "8080")).collect();
        assert!(more.iter().all(|r| r.starts_with("fail")), "{count}: two held, none more: {more:?}");
        drop(first);
        assert!(
            eventually(Duration::from_secs(15), || t.connect_once("10.0.2.2", "8080") == "ok first"),
            "{count}: one closed, one more gets through"
        );
        assert!(t.alive());
    }
}

/// The kernel has one copy of a set: with two workers, an address one worker adds to
/// `@blocked` is dropped on every flow after it, whichever worker handles the flow.
#[test]
fn two_workers_share_the_sets_their_rules_write() {
    // A knock on 9090 puts the client's address in `@blocked`, whose addresses are dropped.
    let sets = "\tset blocked {\n\t\ttype ipv4_addr\n\t\tflags dynamic\n\t}\n\n";
    let rules = "\t\tip saddr @blocked drop\n\
                 \t\tct state established,related accept\n\
                 \t\ttcp dport 9090 add @blocked { ip saddr } drop\n\
                 \t\tct state new tcp dport 8080 accept\n";
    let mut t = Topology::start(2, "jit", &forwarding(sets, rules));
    t.echo_server(&["8080", "9090"]);
    for _ in 0..2 {
        assert_eq!(t.connect_once("10.0.2.2", "8080"), "ok first", "before the knock");
    }
    let knock = t.connect_once("10.0.2.2", "9090");
    assert!(knock.starts_with("fail"), "the knock is dropped: {knock}");
    let after: Vec<String> = (0..6).map(|_| t.connect_once("10.0.2.2", "8080")).collect();
    assert!(after.iter().all(|r| r.starts_with("fail")), "blocked on every worker: {after:?}");
    let (code, listing, err) = t.nftvm(&["list", "set", "inet", "fw", "blocked"]);
    assert_eq!(code, 0, "{err}");
    assert!(listing.contains("elements = { 10.0.1.2 }"), "{listing}");
    assert!(t.alive());
}

#[test]
fn ftp_passive_and_active_through_the_nat() {
    for workers in [1, 2] {
        let mut t = Topology::start(workers, "jit", RULESET);
        let root = t.dir.join("ftp");
        std::fs::create_dir_all(&root).unwrap();
        let blob: Vec<u8> = (0..250_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        std::fs::write(root.join("blob.bin"), &blob).unwrap();
        let (_, expected, _) = run_in(
            &t.client,
            PYTHON,
            &[
                "-c",
                &format!(
                    "import hashlib;print(len(open('{0}','rb').read()), hashlib.sha256(open('{0}','rb').read()).hexdigest())",
                    root.join("blob.bin").display()
                ),
            ],
        );
        let server = Proc::spawn(
            &t.server,
            PYTHON,
            &[data("ftp_server.py").to_str().unwrap(), root.to_str().unwrap()],
        );
        server.wait_for("listening", Duration::from_secs(10));
        t.helpers.push(server);
        for addr in ["10.0.2.2", "fd00:2::2"] {
            for mode in ["passive", "active"] {
                let (_, got, err) = run_in(
                    &t.client,
                    PYTHON,
                    &[data("ftp_client.py").to_str().unwrap(), addr, mode, "blob.bin"],
                );
                assert_eq!(
                    got.trim(),
                    expected.trim(),
                    "FTP {mode} from {addr} with {workers} worker(s): {err}"
                );
            }
        }
        let (_, list, _) = t.nftvm(&["conntrack", "-L", "-p", "tcp"]);
        assert!(list.lines().any(|l| l.contains("dport=21 ") && l.contains("helper=ftp")), "{list}");
        assert!(t.alive());
    }
}

/// `--forward-only` (the no-op forwarder benches/live/measure.sh compares with) routes
/// packets without the ruleset: no filtering, no NAT.
#[test]
fn the_no_op_forwarder_forwards_without_filtering_or_nat() {
    let mut t = Topology::launch(RULESET, &["--forward-only", "--workers", "2"]);
    t.echo_server(&["8080", "9090"]);
    // Without masquerade the server needs a route back.
    t.server.ip_batch("route add 10.0.1.0/24 dev tunb\nroute add fd00:1::/64 dev tunb\n");
    for addr in ["10.0.2.2", "fd00:2::2"] {
        for port in ["8080", "9090"] {
            assert_eq!(t.connect_once(addr, port), "ok first", "{addr}:{port} through the no-op forwarder");
        }
    }
    let (_, count, err) = t.nftvm(&["conntrack", "-C"]);
    assert_eq!(count.trim(), "0", "no connection tracking: {err}");
    assert!(t.alive());
}

#[test]
fn a_flood_of_malformed_packets_does_not_crash_it() {
    let mut t = Topology::start(2, "jit", RULESET);
    t.echo_server(&["8080"]);
    let flood = data("flood.py");
    let (code, out, err) = run_in(&t.client, PYTHON, &[flood.to_str().unwrap(), "tuna", "30000", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_in(&t.server, PYTHON, &[flood.to_str().unwrap(), "tunb", "30000", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(t.alive(), "nftvm died under the flood");
    // Still forwarding, answering and listening.
    assert!(eventually(Duration::from_secs(10), || t.connect_once("10.0.2.2", "8080") == "ok first"));
    assert_eq!(t.connect_once("fd00:2::2", "8080"), "ok first");
    let (code, out, err) = run_in(&t.client, "ping", &["-c", "1", "-W", "2", "10.0.1.1"]);
    assert_eq!(code, 0, "ping after the flood: {out}{err}");
    let (code, _, err) = t.nftvm(&["conntrack", "-C"]);
    assert_eq!(code, 0, "{err}");
    let m = t.metrics();
    assert!(m.contains("nftvm_verdict_packets_total{verdict=\"drop\"}"), "{m}");
    assert!(t.alive());
}

#[test]
fn only_root_the_owner_or_the_control_group_may_use_the_control_socket() {
    require_live_tools();
    let fw = Netns::new();
    let dir = std::env::temp_dir().join(format!("nftvm-live-{}", fw.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("fw.nft");
    std::fs::write(&rules, RULESET).unwrap();
    // A copy any user can execute (the build tree's permissions are not ours to assume).
    let binary = dir.join("nftvm");
    // Copied by `cp`, not by this process: a writable descriptor of ours would be inherited
    // by children other test threads fork meanwhile, and exec would fail with ETXTBSY.
    let copied = Command::new("cp").arg(env!("CARGO_BIN_EXE_nftvm")).arg(&binary).status();
    assert!(copied.is_ok_and(|s| s.success()), "copying the nftvm binary to {}", binary.display());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let nftvm = Proc::spawn(
        &fw,
        binary.to_str().unwrap(),
        &["run", rules.to_str().unwrap(), "--tun", "tunc=10.0.9.1/24", "--ctl-group", "4242"],
    );
    assert_eq!(nftvm.line(Duration::from_secs(20), "nftvm run"), "ready tunc");
    let as_user = |groups: &str| {
        let mut args = vec!["--reuid=65534", "--regid=65534"];
        if groups.is_empty() {
            args.push("--clear-groups");
        } else {
            args.push(groups);
        }
        args.extend([binary.to_str().unwrap(), "conntrack", "-C"]);
        run_in(&fw, "setpriv", &args)
    };
    let (code, out, _) = run_in(&fw, binary.to_str().unwrap(), &["conntrack", "-C"]);
    assert_eq!((code, out.trim()), (0, "0"), "root is served");
    let (code, _, err) = as_user("");
    assert_eq!(code, 2, "an unprivileged user must be refused");
    assert!(err.contains("permission denied"), "{err}");
    let (code, out, err) = as_user("--groups=4242");
    assert_eq!((code, out.trim()), (0, "0"), "a member of --ctl-group is served: {err}");
    drop(nftvm);
    let _ = std::fs::remove_dir_all(&dir);
}
