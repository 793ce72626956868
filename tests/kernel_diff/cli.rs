//! The same scenario through the command line: `nftvm eval rules.nft --engine E --pcap
//! IN.pcapng --json --conntrack-dump` with the scenario's host model, checked against the
//! library run on the same engine (same emitted packets per input packet, same final
//! conntrack table).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nftvm_runtime::io::pcapng::PcapngWriter;
use nftvm_runtime::packet::LinkType;

use super::harness::{Emitted, Scenario};
use crate::common::kernel::without_timeout;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs the CLI on the scenario; `lib` is what the library emitted per step, `ct` its
/// normalized conntrack table.
pub fn check(
    sc: &Scenario,
    engine: nftvm::vm::Engine,
    packets: &[(&'static str, Vec<u8>, u64)],
    lib: &[Emitted],
    ct: &[String],
) -> Result<(), String> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "nftvm-kd-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let prog_path = dir.join("rules.nft");
    std::fs::write(&prog_path, &sc.ruleset).map_err(|e| e.to_string())?;
    let sets_path = dir.join("sets.ipset");
    if let Some(sets) = &sc.ipsets {
        std::fs::write(&sets_path, sets).map_err(|e| e.to_string())?;
    }
    let pcap_path = dir.join("in.pcapng");
    let mut w = PcapngWriter::new(Vec::new()).map_err(|e| e.to_string())?;
    for (iface, p, time) in packets {
        let idx = w.interface(Some(iface), LinkType::Raw).map_err(|e| e.to_string())?;
        w.write_packet(idx, Duration::from_nanos(*time), p, p.len() as u32).map_err(|e| e.to_string())?;
    }
    std::fs::write(&pcap_path, w.finish().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nftvm"));
    cmd.arg("eval").arg(&prog_path).arg("--pcap").arg(&pcap_path).args(["--json", "--conntrack-dump"]);
    cmd.args(["--engine", engine.name()]);
    if sc.ipsets.is_some() {
        cmd.arg("--ipset").arg(&sets_path);
    }
    for (name, addrs) in &sc.ifaces {
        for a in addrs {
            cmd.arg("--iface").arg(format!("{name}={a}"));
        }
    }
    for (p, dev) in &sc.routes {
        cmd.arg("--route").arg(format!("{p}={dev}"));
    }
    for (dev, mtu) in &sc.mtu {
        cmd.arg("--mtu").arg(format!("{dev}={mtu}"));
    }
    cmd.args(["--tcp-loose", if sc.settings.tcp_loose { "1" } else { "0" }]);
    cmd.args(["--tcp-be-liberal", if sc.settings.tcp_be_liberal { "1" } else { "0" }]);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(format!("exit {}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut jsons = Vec::new();
    let mut ct_lines = Vec::new();
    for line in stdout.lines() {
        if line.starts_with('{') {
            jsons.push(
                serde_json::from_str::<serde_json::Value>(line)
                    .map_err(|e| format!("bad JSON {line}: {e}"))?,
            );
        } else if !line.is_empty() {
            ct_lines.push(line.to_string());
        }
    }
    if jsons.len() != packets.len() {
        return Err(format!("{} JSON lines for {} packets", jsons.len(), packets.len()));
    }
    for (i, (j, want)) in jsons.iter().zip(lib).enumerate() {
        let got: Vec<(String, String)> = j["emitted"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (e["oif"].as_str().unwrap_or("").to_string(), e["out"].as_str().unwrap_or("").to_string())
            })
            .collect();
        let want: Vec<(String, String)> = want.iter().map(|(i, b, _)| (i.clone(), hex(b))).collect();
        if got != want {
            return Err(format!("packet {}: CLI emitted {got:?}, library {want:?}", i + 1));
        }
        if j["packet"].as_u64() != Some(i as u64 + 1) || j["iif"].as_str() != Some(packets[i].0) {
            return Err(format!("packet {}: bad packet/iif in {j}", i + 1));
        }
    }
    let mut got_ct: Vec<String> = ct_lines.iter().map(|l| without_timeout(l)).collect();
    got_ct.sort();
    let lib_ct: Vec<String> = ct.to_vec();
    if got_ct != lib_ct {
        return Err(format!("CLI conntrack dump {got_ct:#?} differs from the library's {lib_ct:#?}"));
    }
    Ok(())
}
