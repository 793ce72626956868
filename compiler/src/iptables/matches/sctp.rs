//! `sctp`: ports and chunk types (with chunk flags).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::ip::Inv;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::ranges::{PortRange, ServiceProto, parse_port_range};

/// SCTP chunk names, numbers and the flag letters each chunk type has (8 positions, most
/// significant bit first, `-` for none), in iptables' table order.
pub const SCTP_CHUNKS: &[(&str, u8, &str)] = &[
    ("DATA", 0, "----IUBE"),
    ("INIT", 1, "--------"),
    ("INIT_ACK", 2, "--------"),
    ("SACK", 3, "--------"),
    ("HEARTBEAT", 4, "--------"),
    ("HEARTBEAT_ACK", 5, "--------"),
    ("ABORT", 6, "-------T"),
    ("SHUTDOWN", 7, "--------"),
    ("SHUTDOWN_ACK", 8, "--------"),
    ("ERROR", 9, "--------"),
    ("COOKIE_ECHO", 10, "--------"),
    ("COOKIE_ACK", 11, "--------"),
    ("ECN_ECNE", 12, "--------"),
    ("ECN_CWR", 13, "--------"),
    ("SHUTDOWN_COMPLETE", 14, "-------T"),
    ("I_DATA", 64, "----IUBE"),
    ("RE_CONFIG", 130, "--------"),
    ("PAD", 132, "--------"),
    ("ASCONF", 193, "--------"),
    ("ASCONF_ACK", 128, "--------"),
    ("FORWARD_TSN", 192, "--------"),
    ("I_FORWARD_TSN", 194, "--------"),
];

/// How the chunk set is compared, and a flag test on one chunk type: the kernel match's own
/// (`-m sctp` runs as xt_sctp, [`nftvm_vm::expr::sctpmatch`]).
pub use nftvm_vm::expr::sctpmatch::{ChunkFlags, ChunkMode as ChunkMatch};

/// `--chunk-types MODE LIST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctpChunks {
    pub mode: ChunkMatch,
    /// Chunk types in the set (`ALL` is all 256, `NONE` empty).
    pub types: Vec<u8>,
    pub all: bool,
    pub flags: Vec<ChunkFlags>,
}

/// The sctp match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sctp {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
    pub chunks: Option<Inv<SctpChunks>>,
}

static OPTS: [OptSpec; 5] = [
    OptSpec::arg("source-port", 0).inv(),
    OptSpec::arg("sport", 0).inv(),
    OptSpec::arg("destination-port", 1).inv(),
    OptSpec::arg("dport", 1).inv(),
    OptSpec::arg("chunk-types", 2).inv(),
];

fn parse_chunks(mode: &str, list: &str) -> Result<SctpChunks, String> {
    let mode = if mode.eq_ignore_ascii_case("ANY") {
        ChunkMatch::Any
    } else if mode.eq_ignore_ascii_case("ALL") {
        ChunkMatch::All
    } else if mode.eq_ignore_ascii_case("ONLY") {
        ChunkMatch::Only
    } else {
        return Err("Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"".into());
    };
    let mut out = SctpChunks { mode, types: vec![], all: false, flags: vec![] };
    if list.eq_ignore_ascii_case("ALL") {
        out.all = true;
        return Ok(out);
    }
    if list.eq_ignore_ascii_case("NONE") {
        return Ok(out);
    }
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (name, flags) = match item.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        let (_, num, valid) = SCTP_CHUNKS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("Unknown sctp chunk `{name}'"))?;
        if !out.types.contains(num) {
            out.types.push(*num);
        }
        for c in flags.unwrap_or("").chars() {
            let pos = valid
                .find(c.to_ascii_uppercase())
                .filter(|_| c != '-')
                .ok_or_else(|| format!("Invalid flags for chunk type {name}"))?;
            let bit = 1u8 << (7 - pos);
            let entry = match out.flags.iter_mut().find(|f| f.chunk_type == *num) {
                Some(e) => e,
                None => {
                    out.flags.push(ChunkFlags { chunk_type: *num, value: 0, mask: 0 });
                    out.flags.last_mut().ok_or("flag table")?
                }
            };
            entry.mask |= bit;
            if c.is_ascii_uppercase() {
                entry.value |= bit;
            }
        }
    }
    out.types.sort_unstable();
    Ok(out)
}

fn chunk_name(t: u8) -> String {
    SCTP_CHUNKS
        .iter()
        .find(|(_, n, _)| *n == t)
        .map_or_else(|| t.to_string(), |(name, _, _)| name.to_string())
}

fn format_chunks(c: &SctpChunks) -> String {
    let mode = match c.mode {
        ChunkMatch::Any => "any",
        ChunkMatch::All => "all",
        ChunkMatch::Only => "only",
    };
    if c.all {
        return format!("{mode} ALL");
    }
    if c.types.is_empty() {
        return format!("{mode} NONE");
    }
    let items: Vec<String> = c
        .types
        .iter()
        .map(|&t| {
            let mut s = chunk_name(t);
            if let Some(f) = c.flags.iter().find(|f| f.chunk_type == t) {
                let valid = SCTP_CHUNKS.iter().find(|(_, n, _)| *n == t).map_or("--------", |(_, _, v)| v);
                s.push(':');
                for i in (0..8).rev() {
                    if f.mask & (1 << i) != 0 {
                        let ch = valid.as_bytes()[7 - i] as char;
                        s.push(if f.value & (1 << i) != 0 { ch } else { ch.to_ascii_lowercase() });
                    }
                }
            }
            s
        })
        .collect();
    format!("{mode} {}", items.join(","))
}

impl Extension for Sctp {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.sport = Some(Inv::new(parse_port_range(call.arg, ServiceProto::Sctp)?, call.invert)),
            1 => self.dport = Some(Inv::new(parse_port_range(call.arg, ServiceProto::Sctp)?, call.invert)),
            _ => {
                let list = call.take_word().ok_or("--chunk-types requires two args: MODE CHUNKS")?;
                self.chunks = Some(Inv::new(parse_chunks(call.arg, list)?, call.invert));
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        if let Some(p) = &self.sport {
            out.opt_val(p.invert, "sport", p.value);
        }
        if let Some(p) = &self.dport {
            out.opt_val(p.invert, "dport", p.value);
        }
        if let Some(c) = &self.chunks {
            out.opt_val(c.invert, "chunk-types", format_chunks(&c.value));
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[132], "sctp match")
    }
}
