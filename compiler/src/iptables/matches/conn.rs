//! Connection-level matches: `connbytes` (transferred amount), `connlabel` (label bits) and
//! `cluster` (hash-based node selection).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::ranges::parse_mint;

/// What connbytes counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConnbytesMode {
    #[default]
    Packets,
    Bytes,
    AvgPkt,
}

/// Which direction connbytes counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConnbytesDir {
    #[default]
    Original,
    Reply,
    Both,
}

/// The connbytes match. A negated range is stored swapped (`from > to`), as the kernel does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connbytes {
    pub from: u64,
    pub to: u64,
    pub mode: ConnbytesMode,
    pub dir: ConnbytesDir,
}

impl Default for Connbytes {
    fn default() -> Connbytes {
        Connbytes { from: 0, to: u64::MAX, mode: ConnbytesMode::Packets, dir: ConnbytesDir::Original }
    }
}

impl Connbytes {
    /// The range in order, and whether it is negated.
    pub fn range(&self) -> (u64, u64, bool) {
        if self.from > self.to { (self.to, self.from, true) } else { (self.from, self.to, false) }
    }
}

static CONNBYTES_OPTS: [OptSpec; 3] = [
    OptSpec::arg("connbytes", 0).inv().mand(),
    OptSpec::arg("connbytes-dir", 1).mand(),
    OptSpec::arg("connbytes-mode", 2).mand(),
];

impl Extension for Connbytes {
    fn options(&self) -> &'static [OptSpec] {
        &CONNBYTES_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => {
                let v = parse_mint(call.arg, 0, u64::MAX).map_err(|e| format!("--connbytes: {e}"))?;
                self.from = v.first().copied().unwrap_or(0);
                self.to = if v.len() == 2 { v[1] } else { u64::MAX };
                if call.invert {
                    std::mem::swap(&mut self.from, &mut self.to);
                }
            }
            1 => {
                self.dir = match call.arg {
                    "original" => ConnbytesDir::Original,
                    "reply" => ConnbytesDir::Reply,
                    "both" => ConnbytesDir::Both,
                    _ => {
                        return Err(format!(
                            "Unknown --connbytes-dir `{}': expecting original, reply or both",
                            call.arg
                        ));
                    }
                }
            }
            _ => {
                self.mode = match call.arg {
                    "packets" => ConnbytesMode::Packets,
                    "bytes" => ConnbytesMode::Bytes,
                    "avgpkt" => ConnbytesMode::AvgPkt,
                    _ => {
                        return Err(format!(
                            "Unknown --connbytes-mode `{}': expecting packets, bytes or avgpkt",
                            call.arg
                        ));
                    }
                }
            }
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let (from, to, inv) = self.range();
        out.bang(inv);
        out.push(&format!(" --connbytes {from}"));
        if to != 0 && to < u64::MAX {
            out.push(&format!(":{to}"));
        }
        out.push(match self.mode {
            ConnbytesMode::Packets => " --connbytes-mode packets",
            ConnbytesMode::Bytes => " --connbytes-mode bytes",
            ConnbytesMode::AvgPkt => " --connbytes-mode avgpkt",
        });
        out.push(match self.dir {
            ConnbytesDir::Original => " --connbytes-dir original",
            ConnbytesDir::Reply => " --connbytes-dir reply",
            ConnbytesDir::Both => " --connbytes-dir both",
        });
    }
}

/// The connlabel match (labels by number; no connlabel.conf names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connlabel {
    pub bit: u32,
    pub invert: bool,
    /// `--set`: set the label if not yet set.
    pub set: bool,
}

static CONNLABEL_OPTS: [OptSpec; 2] = [OptSpec::arg("label", 0).inv().mand(), OptSpec::flag("set", 1)];

impl Extension for Connlabel {
    fn options(&self) -> &'static [OptSpec] {
        &CONNLABEL_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 1 {
            self.set = true;
            return Ok(());
        }
        self.bit = parse_uint(call.arg, 0, u32::MAX as u64).ok_or_else(|| {
            format!(
                "label '{}' not found or invalid value (no connlabel.conf: labels are bit numbers)",
                call.arg
            )
        })? as u32;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt(self.invert, "label");
        out.push(&format!(" \"{}\"", self.bit));
        if self.set {
            out.push(" --set");
        }
    }
    fn check_load(&self, _cx: &LoadCx<'_>) -> Result<(), String> {
        if self.bit > 127 {
            return Err(format!("label bit {} out of range (0-127)", self.bit));
        }
        Ok(())
    }
}

/// `XT_CLUSTER_NODES_MAX`.
pub const CLUSTER_NODES_MAX: u64 = 32;

/// The cluster match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    pub total_nodes: u32,
    pub node_mask: u32,
    pub hash_seed: u32,
    pub invert: bool,
}

static CLUSTER_OPTS: [OptSpec; 4] = [
    OptSpec::arg("cluster-total-nodes", 0).mand(),
    OptSpec::arg("cluster-local-node", 1).excl(bit(2)).inv(),
    OptSpec::arg("cluster-local-nodemask", 2).excl(bit(1)).inv(),
    OptSpec::arg("cluster-hash-seed", 3).mand(),
];

impl Extension for Cluster {
    fn options(&self) -> &'static [OptSpec] {
        &CLUSTER_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let ranged = |min, max| {
            parse_uint(call.arg, min, max).map(|v| v as u32).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range ({min}-{max})", call.spec.name)
            })
        };
        match call.spec.id {
            0 => self.total_nodes = ranged(1, CLUSTER_NODES_MAX)?,
            1 => {
                self.node_mask = 1 << (ranged(1, CLUSTER_NODES_MAX)? - 1);
                self.invert = call.invert;
            }
            2 => {
                self.node_mask = ranged(1, CLUSTER_NODES_MAX)?;
                self.invert = call.invert;
            }
            _ => self.hash_seed = ranged(0, u32::MAX as u64)?,
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & (bit(1) | bit(2)) == 0 {
            return Err("`--cluster-local-node' or `--cluster-local-nodemask' is missing".into());
        }
        if u64::from(self.node_mask) >= (1u64 << self.total_nodes) {
            return Err("`--cluster-local-node' must be <= `--cluster-total-nodes'".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.bang(self.invert);
        out.push(&format!(
            " --cluster-local-nodemask 0x{:08x} --cluster-total-nodes {} --cluster-hash-seed 0x{:08x}",
            self.node_mask, self.total_nodes, self.hash_seed
        ));
    }
}
