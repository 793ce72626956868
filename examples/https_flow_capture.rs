//! Writes a capture of one established https flow's data packets, client → host
//! (198.18.0.9:51000 → 192.0.2.10:443, ACK with 64-byte payloads): the input of the
//! "established-flow packet" measure on the 30-rule host firewall —
//!
//! ```text
//! cargo run --release --example https_flow_capture /tmp/https.pcap
//! nftvm bench benches/data/host-firewall-30.nft --pcap /tmp/https.pcap --ct-state established
//! ```
//!
//! `cargo run --example https_flow_capture OUT [PACKETS]` (default 1000 packets); the output
//! is the same on every run.

use std::time::Duration;

use nftvm_runtime::io::pcap::{PcapWriter, Precision};
use nftvm_runtime::packet::{LinkType, PacketBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: https_flow_capture OUT [PACKETS]")?;
    let count: u32 = match args.next() {
        Some(n) => n.parse().map_err(|_| format!("PACKETS must be a number, not `{n}`"))?,
        None => 1000,
    };
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, Precision::Micro)?;
    for i in 0..count {
        let p = PacketBuilder::ipv4([198, 18, 0, 9], [192, 0, 2, 10])
            .ident(i as u16)
            .tcp(51000, 443)
            .flags(0x10)
            .seq(1001 + 64 * i)
            .ack(5001)
            .window(64240)
            .payload(&[0u8; 64])
            .build();
        let t = Duration::from_secs(1_735_689_600) + Duration::from_micros(100 * u64::from(i));
        w.write_packet(t, &p, p.len() as u32)?;
    }
    std::fs::write(&out, w.finish()?)?;
    println!("wrote {count} packets to {out}");
    Ok(())
}
