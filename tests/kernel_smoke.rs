//! Smoke tests of the kernel oracle harness itself, against the real kernel (as root):
//! forwarding, drops with counters, masquerade with conntrack, local ICMP echo, IPv6, and
//! `nft --debug=netlink` bytecode. If these fail, the differential suites cannot be trusted.

mod common;

use std::time::Instant;

use common::kernel::packets::{self, ACK, SYN};
use common::kernel::{
    ConntrackSettings, KernelHost, Netns, addr, kernel_bytecode, sock, try_kernel_bytecode, without_timeout,
};

/// Run one case and print how long it took (the harness must stay fast; not asserted).
fn timed<T>(name: &str, case: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = case();
    println!("kernel_smoke {name}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    result
}

const ACCEPT_ALL: &str = "table inet filter {
    chain forward { type filter hook forward priority filter; policy accept; }
}";

#[test]
fn udp_is_forwarded_with_ttl_decremented_and_a_valid_checksum() {
    timed("udp_forward", || {
        let mut host = KernelHost::router().ruleset(ACCEPT_ALL).start();
        let sent = packets::udp(sock("10.0.1.2:1234"), sock("10.0.2.2:5678"), b"hello kernel");
        let out = host.inject("tuna", &sent);
        let got = out.single();
        assert_eq!(got.iface, "tunb");
        assert_eq!(packets::ttl(&got.bytes), packets::ttl(&sent) - 1);
        packets::verify_checksums(&got.bytes).unwrap_or_else(|e| panic!("{e}: {got:?}"));
        assert_eq!(
            (packets::src(&got.bytes), packets::dst(&got.bytes)),
            (addr("10.0.1.2"), addr("10.0.2.2"))
        );
        assert_eq!(packets::ports(&got.bytes), (1234, 5678));
        assert_eq!(packets::payload(&got.bytes), b"hello kernel");
        assert_eq!(got.bytes.len(), sent.len());
        assert!(host.stray().is_empty(), "{:?}", host.stray());
    });
}

#[test]
fn a_drop_rule_emits_nothing_and_its_counter_shows_it() {
    timed("drop_counter", || {
        let mut host = KernelHost::router()
            .ruleset(
                "table ip filter {
                    chain forward {
                        type filter hook forward priority filter; policy accept;
                        udp dport 53 counter drop
                        counter
                    }
                }",
            )
            .start();
        let dropped = packets::udp(sock("10.0.1.2:1000"), sock("10.0.2.2:53"), b"q");
        for _ in 0..3 {
            let out = host.inject("tuna", &dropped);
            assert!(out.is_silent(), "a dropped packet came out: {out:?}");
        }
        let passed = host.inject("tuna", &packets::udp(sock("10.0.1.2:1000"), sock("10.0.2.2:54"), b"q"));
        assert_eq!(passed.single().iface, "tunb");

        let counters = host.counters();
        let counts: Vec<(u64, u64)> = counters.iter().map(|c| (c.packets, c.bytes)).collect();
        let len = dropped.len() as u64;
        assert_eq!(counts, [(3, 3 * len), (1, len)], "{counters:?}");
        assert!(host.ruleset().contains(&format!("udp dport 53 counter packets 3 bytes {} drop", 3 * len)));
    });
}

#[test]
fn masquerade_rewrites_the_source_and_conntrack_shows_both_tuples() {
    timed("masquerade", || {
        let mut host = KernelHost::router()
            .ruleset(
                "table ip nat {
                    chain postrouting {
                        type nat hook postrouting priority srcnat; policy accept;
                        oifname \"tunb\" masquerade
                    }
                }",
            )
            .start();
        let request = packets::udp(sock("10.0.1.2:40000"), sock("10.0.2.2:53"), b"query");
        let out = host.inject("tuna", &request);
        let natted = &out.single().bytes;
        assert_eq!(out.single().iface, "tunb");
        assert_eq!(packets::src(natted), addr("10.0.2.1"), "source not masqueraded");
        assert_eq!(packets::ports(natted), (40000, 53), "a free source port is kept");
        packets::verify_checksums(natted).unwrap();

        let entries = host.conntrack();
        let [entry] = entries.as_slice() else { panic!("expected one conntrack entry: {entries:?}") };
        assert_eq!(
            without_timeout(entry),
            format!(
                "udp      17 * src=10.0.1.2 dst=10.0.2.2 sport=40000 dport=53 packets=1 bytes={} [UNREPLIED] \
                 src=10.0.2.2 dst=10.0.2.1 sport=53 dport=40000 packets=0 bytes=0 mark=0 use=1",
                request.len()
            )
        );

        // The reply is de-masqueraded back to the client and the entry sees it.
        let reply = packets::udp(sock("10.0.2.2:53"), sock("10.0.2.1:40000"), b"answer");
        let back = host.inject("tunb", &reply);
        assert_eq!(back.single().iface, "tuna");
        assert_eq!(packets::dst(&back.single().bytes), addr("10.0.1.2"));
        packets::verify_checksums(&back.single().bytes).unwrap();
        let entries = host.conntrack();
        assert!(entries.len() == 1 && !entries[0].contains("UNREPLIED"), "{entries:?}");
        assert!(entries[0].contains(&format!("packets=1 bytes={} mark=0", reply.len())), "{entries:?}");
    });
}

#[test]
fn an_echo_request_to_the_host_is_answered_on_the_same_tun() {
    timed("icmp_echo_local", || {
        let mut host = KernelHost::router().start();
        for (client, me) in [("10.0.1.2", "10.0.1.1"), ("fd00:1::2", "fd00:1::1"), ("10.0.1.2", "10.0.2.1")] {
            let out = host.inject("tuna", &packets::icmp_echo(addr(client), addr(me), 77, 1));
            let reply = out.single();
            assert_eq!(reply.iface, "tuna", "{out:?}");
            assert_eq!((packets::src(&reply.bytes), packets::dst(&reply.bytes)), (addr(me), addr(client)));
            let (at, _) = packets::transport(&reply.bytes);
            let echo_reply = if me.contains(':') { 129 } else { 0 };
            assert_eq!(reply.bytes[at], echo_reply, "not an echo reply: {reply:?}");
            packets::verify_checksums(&reply.bytes).unwrap();
        }
    });
}

#[test]
fn ipv6_is_forwarded_with_the_hop_limit_decremented() {
    timed("ipv6_forward", || {
        let mut host = KernelHost::router().ruleset(ACCEPT_ALL).start();
        let sent = packets::udp(sock("[fd00:1::2]:1000"), sock("[fd00:2::2]:2000"), b"six");
        let out = host.inject("tuna", &sent);
        let got = out.single();
        assert_eq!(got.iface, "tunb");
        assert_eq!(packets::ttl(&got.bytes), 63);
        assert_eq!(packets::dst(&got.bytes), addr("fd00:2::2"));
        packets::verify_checksums(&got.bytes).unwrap();
        // Apart from the hop limit, IPv6 forwarding leaves the packet alone.
        let mut expected = sent.clone();
        expected[7] -= 1;
        assert_eq!(got.bytes, expected);
    });
}

#[test]
fn routes_and_tcp_state_through_the_kernel() {
    timed("route_tcp_conntrack", || {
        let mut host = KernelHost::router()
            .route("192.0.2.0/24", "tunb")
            .ruleset(
                "table inet filter {
                    chain forward {
                        type filter hook forward priority filter; policy drop;
                        ct state established,related accept
                        ct state new tcp flags syn tcp dport 80 accept
                    }
                }",
            )
            .start();
        let (client, server) = (sock("10.0.1.2:33000"), sock("192.0.2.80:80"));
        let syn = host.inject("tuna", &packets::tcp(client, server, SYN, 1000, 0, b""));
        assert_eq!(syn.single().iface, "tunb", "routed by the 192.0.2.0/24 route");
        let synack = host.inject("tunb", &packets::tcp(server, client, SYN | ACK, 5000, 1001, b""));
        assert_eq!(synack.single().iface, "tuna");
        let ack = host.inject("tuna", &packets::tcp(client, server, ACK, 1001, 5001, b""));
        assert_eq!(ack.single().iface, "tunb");
        let entries = host.conntrack_with(&["-L", "-p", "tcp"]);
        assert!(entries.len() == 1 && entries[0].contains(" ESTABLISHED "), "{entries:?}");
        // A new connection to another port is dropped by the policy.
        let other = host.inject("tuna", &packets::tcp(client, sock("192.0.2.80:81"), SYN, 1, 0, b""));
        assert!(other.is_silent(), "{other:?}");
    });
}

#[test]
fn mtu_extra_addresses_and_icmp_errors() {
    timed("mtu_icmp_errors", || {
        let mut host = KernelHost::builder()
            .iface("tuna", &["10.0.1.1/24", "10.0.9.1/24", "fd00:1::1/64"])
            .iface("tunb", &["10.0.2.1/24", "fd00:2::1/64"])
            .mtu("tunb", 1280)
            .start();
        // The second IPv4 address is the host's too.
        let echo = host.inject("tuna", &packets::icmp_echo(addr("10.0.9.2"), addr("10.0.9.1"), 1, 1));
        assert_eq!(packets::src(&echo.single().bytes), addr("10.0.9.1"));
        // Too big for tunb (DF set): "fragmentation needed" / "packet too big" back on tuna.
        let big = [0u8; 1400];
        let mut cases = vec![
            (packets::udp(sock("10.0.1.2:5"), sock("10.0.2.2:6"), &big), (3, 4)),
            (packets::udp(sock("[fd00:1::2]:5"), sock("[fd00:2::2]:6"), &big), (2, 0)),
        ];
        // TTL 1: "time exceeded", every time (the ICMP rate limits are off; by default the
        // 7th in a row would be suppressed).
        let expiring = packets::with_ttl(&packets::udp(sock("10.0.1.2:5"), sock("10.0.2.2:6"), b"x"), 1);
        cases.extend(std::iter::repeat_n((expiring, (11, 0)), 10));
        let injected: Vec<(&str, Vec<u8>)> = cases.iter().map(|(p, _)| ("tuna", p.clone())).collect();
        for (out, (_, expected)) in host.inject_all(&injected).iter().zip(&cases) {
            let error = out.single();
            assert_eq!(error.iface, "tuna", "{out:?}");
            let (at, _) = packets::transport(&error.bytes);
            assert_eq!((error.bytes[at], error.bytes[at + 1]), *expected, "{error:?}");
            packets::verify_checksums(&error.bytes).unwrap();
        }
        assert!(host.collect_for(std::time::Duration::from_millis(20)).is_empty());
    });
}

#[test]
fn conntrack_settings_reach_the_kernel() {
    const STRICT: &str = "table inet filter {
        chain forward {
            type filter hook forward priority filter; policy accept;
            ct state invalid counter drop
        }
    }";
    // A mid-stream ACK (no handshake seen): picked up with tcp_loose=1, INVALID with 0.
    let midstream = packets::tcp(sock("10.0.1.2:40000"), sock("10.0.2.2:22"), ACK, 7, 9, b"data");
    for loose in [true, false] {
        timed(&format!("tcp_loose_{loose}"), || {
            let settings = ConntrackSettings { tcp_loose: loose, ..ConntrackSettings::default() };
            let mut host = KernelHost::router().conntrack(settings).ruleset(STRICT).start();
            let out = host.inject("tuna", &midstream);
            assert_eq!(out.is_silent(), !loose, "tcp_loose={loose}: {out:?}");
            assert_eq!(host.counters()[0].packets, u64::from(!loose));
            assert_eq!(host.conntrack().len(), usize::from(loose), "{:?}", host.conntrack());
        });
    }
}

#[test]
fn kernel_bytecode_matches_nft_debug_netlink() {
    let bytecode = timed("kernel_bytecode", || {
        kernel_bytecode(
            "table ip t { chain c { type filter hook input priority filter; }; }",
            "tcp dport 22 accept",
        )
    });
    // nft 1.0.6 prints register data as 32-bit host-order words (newer nft prints bytes).
    assert_eq!(
        bytecode,
        "ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000006 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x00001600 ]
  [ immediate reg 0 accept ]"
    );
    let rejected = try_kernel_bytecode(
        "table ip t { chain c { type filter hook input priority 0; }; }",
        "tcp dport 70000",
    );
    let error = rejected.expect_err("nft accepted a port out of range");
    assert!(error.contains("Error:"), "{error}");
}

#[test]
fn a_failing_case_still_deletes_its_namespace() {
    let name = std::panic::catch_unwind(|| {
        let host = KernelHost::router().start();
        let name = host.netns().name().to_string();
        std::panic::panic_any(name);
    })
    .expect_err("the case was meant to panic");
    let name = name.downcast::<String>().expect("the panic carries the namespace name");
    assert!(!std::path::Path::new("/run/netns").join(&*name).exists(), "{name} survived the panic");
    // And a bare namespace goes away on drop too.
    let ns = Netns::new();
    let path = std::path::Path::new("/run/netns").join(ns.name());
    assert!(path.exists());
    drop(ns);
    assert!(!path.exists());
}
