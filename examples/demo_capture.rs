//! Writes `examples/host-firewall.pcapng`, the capture of the README demo: a few packets
//! reaching a host on `eth0` (192.0.2.10, 2001:db8::10) — an ssh connection attempt from
//! the admin network, pings, a web request, and probes the firewall rejects.
//!
//! `cargo run --example demo_capture [OUT]`; the output is the same on every run.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use nftvm_runtime::io::pcapng::PcapngWriter;
use nftvm_runtime::packet::{LinkType, PacketBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "examples/host-firewall.pcapng".to_string());
    let host = Ipv4Addr::new(192, 0, 2, 10);
    let admin = Ipv4Addr::new(192, 0, 2, 50);
    let outsider = Ipv4Addr::new(198, 51, 100, 7);
    let host6: Ipv6Addr = "2001:db8::10".parse()?;
    let peer6: Ipv6Addr = "2001:db8:1::7".parse()?;
    let syn = |src: Ipv4Addr, sport: u16, dport: u16, id: u16| {
        PacketBuilder::ipv4(src, host)
            .ident(id)
            .dont_frag()
            .tcp(sport, dport)
            .flags(0x02)
            .seq(1000)
            .window(64240)
            .mss(1460)
            .build()
    };
    let packets: Vec<Vec<u8>> = vec![
        // The admin opens ssh (accepted and logged; nothing listens: the host resets).
        syn(admin, 51000, 22, 1),
        // An outsider pings, twice (new, then established).
        PacketBuilder::ipv4(outsider, host).ident(2).icmp_echo_request(77, 1).payload(b"hello?").build(),
        PacketBuilder::ipv4(outsider, host).ident(3).icmp_echo_request(77, 2).payload(b"hello?").build(),
        // The outsider tries the web port (accepted) and ssh (rejected: not from admin).
        syn(outsider, 40000, 443, 4),
        syn(outsider, 40001, 22, 5),
        // A UDP probe (rejected) and a stray ACK for no connection (picked up mid-stream).
        PacketBuilder::ipv4(outsider, host).ident(6).udp(40002, 161).payload(b"public").build(),
        PacketBuilder::ipv4(outsider, host).ident(7).tcp(40003, 8080).flags(0x10).seq(5).ack(9).build(),
        // IPv6: a ping and a telnet attempt.
        PacketBuilder::ipv6(peer6, host6).icmp_echo_request(5, 1).payload(b"six").build(),
        PacketBuilder::ipv6(peer6, host6).tcp(40004, 23).flags(0x02).seq(1).build(),
    ];
    let mut w = PcapngWriter::new(Vec::new())?;
    let eth0 = w.add_interface(Some("eth0"), LinkType::Raw)?;
    for (i, p) in packets.iter().enumerate() {
        let t = Duration::from_secs(1_735_689_600) + Duration::from_millis(250 * i as u64);
        w.write_packet(eth0, t, p, p.len() as u32)?;
    }
    std::fs::write(&out, w.finish()?)?;
    println!("wrote {} packets to {out}", packets.len());
    Ok(())
}
