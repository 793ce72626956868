//! Prometheus metrics (`--metrics ADDR:PORT`): the text exposition format (version 0.0.4)
//! served over plain HTTP/1.0 by a std TCP listener on its own thread. A scrape asks every
//! worker for a copy of its counters (between two packets) and renders:
//!
//! - per rule: packets and bytes of every rule whose verdict or statement applied,
//!   labelled with the rule's source location;
//! - per verdict: packets accepted, dropped, held for reassembly, stolen;
//! - conntrack: entries, inserts, drops, early drops, invalid packets, failed inserts;
//! - per worker: packets, bytes, busy seconds (its load), hand-offs, I/O errors.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::{Instance, WorkerStats};
use crate::conntrack::Stats;

/// What one worker reports for a scrape.
#[derive(Clone, Debug, Default)]
pub struct WorkerSample {
    pub stats: WorkerStats,
    pub conntrack_entries: usize,
    pub conntrack: Stats,
}

/// Collects a sample from every worker.
pub fn sample(instance: &Instance) -> Result<Vec<WorkerSample>, String> {
    instance.on_each(|w| WorkerSample {
        stats: w.stats.clone(),
        conntrack_entries: w.pipeline.conntrack().len(),
        conntrack: w.pipeline.conntrack().stats(),
    })
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A per-worker metric: name, type, help, value.
type PerWorker = (&'static str, &'static str, &'static str, fn(&WorkerSample) -> f64);
/// A per-shard conntrack counter: name, help, value.
type PerShard = (&'static str, &'static str, fn(&Stats) -> u64);

/// The exposition text for `samples`; `rules[i]` names rule `SourceId(i)`.
pub fn render(samples: &[WorkerSample], rules: &[String], redirects: usize) -> String {
    let mut out = String::new();
    let mut total = WorkerStats::default();
    for s in samples {
        total.add(&s.stats);
    }
    family(
        &mut out,
        "nftvm_rule_packets_total",
        "counter",
        "Packets a rule applied to (verdict or statement).",
    );
    for (i, (p, _)) in total.rules.iter().enumerate() {
        let name = rules.get(i).cloned().unwrap_or_else(|| format!("rule#{i}"));
        let _ = writeln!(out, "nftvm_rule_packets_total{{rule=\"{}\"}} {p}", escape(&name));
    }
    family(&mut out, "nftvm_rule_bytes_total", "counter", "Bytes of the packets a rule applied to.");
    for (i, (_, b)) in total.rules.iter().enumerate() {
        let name = rules.get(i).cloned().unwrap_or_else(|| format!("rule#{i}"));
        let _ = writeln!(out, "nftvm_rule_bytes_total{{rule=\"{}\"}} {b}", escape(&name));
    }
    family(&mut out, "nftvm_verdict_packets_total", "counter", "Received packets by final fate.");
    for (verdict, n) in
        [("accept", total.accepted), ("drop", total.dropped), ("held", total.held), ("stolen", total.stolen)]
    {
        let _ = writeln!(out, "nftvm_verdict_packets_total{{verdict=\"{verdict}\"}} {n}");
    }
    family(&mut out, "nftvm_local_packets_total", "counter", "Packets delivered to nftvm's own addresses.");
    let _ = writeln!(out, "nftvm_local_packets_total {}", total.local);

    let per_worker: [PerWorker; 11] = [
        ("nftvm_worker_packets_total", "counter", "Packets a worker ran through the pipeline.", |s| {
            s.stats.packets as f64
        }),
        ("nftvm_worker_bytes_total", "counter", "Bytes a worker ran through the pipeline.", |s| {
            s.stats.bytes as f64
        }),
        ("nftvm_worker_busy_seconds_total", "counter", "Time a worker spent working (not waiting).", |s| {
            s.stats.busy_ns as f64 / 1e9
        }),
        (
            "nftvm_worker_handoffs_out_total",
            "counter",
            "Packets read by a worker and passed to their owner.",
            |s| s.stats.handed_off as f64,
        ),
        ("nftvm_worker_handoffs_in_total", "counter", "Packets a worker received from other workers.", |s| {
            s.stats.handed_in as f64
        }),
        ("nftvm_worker_handoff_drops_total", "counter", "Hand-offs lost to a full inbox.", |s| {
            s.stats.handoff_dropped as f64
        }),
        ("nftvm_worker_sent_packets_total", "counter", "Packets written to the TUN devices.", |s| {
            s.stats.sent as f64
        }),
        ("nftvm_worker_send_errors_total", "counter", "Failed writes to the TUN devices.", |s| {
            s.stats.send_errors as f64
        }),
        ("nftvm_worker_recv_errors_total", "counter", "Failed reads from the TUN devices.", |s| {
            s.stats.recv_errors as f64
        }),
        ("nftvm_conntrack_entries", "gauge", "Connections in a worker's conntrack shard.", |s| {
            s.conntrack_entries as f64
        }),
        ("nftvm_steering_redirect_failures_total", "counter", "Redirects that found no room.", |s| {
            s.stats.redirect_failed as f64
        }),
    ];
    for (name, kind, help, get) in per_worker {
        family(&mut out, name, kind, help);
        for (w, s) in samples.iter().enumerate() {
            let _ = writeln!(out, "{name}{{worker=\"{w}\"}} {}", get(s));
        }
    }
    let ct: [PerShard; 5] = [
        ("nftvm_conntrack_inserts_total", "Connections confirmed into the table.", |s| s.confirmed),
        ("nftvm_conntrack_drops_total", "Packets dropped because the table was full.", |s| s.drop),
        ("nftvm_conntrack_early_drops_total", "Connections evicted to make room.", |s| s.early_drop),
        ("nftvm_conntrack_invalid_total", "Packets conntrack found invalid.", |s| s.invalid),
        ("nftvm_conntrack_insert_failed_total", "Confirmations that clashed.", |s| s.insert_failed),
    ];
    for (name, help, get) in ct {
        family(&mut out, name, "counter", help);
        for (w, s) in samples.iter().enumerate() {
            let _ = writeln!(out, "{name}{{worker=\"{w}\"}} {}", get(&s.conntrack));
        }
    }
    family(
        &mut out,
        "nftvm_steering_redirects",
        "gauge",
        "Flows and expectations steered by the redirect table.",
    );
    let _ = writeln!(out, "nftvm_steering_redirects {redirects}");
    out
}

/// The rule labels of the running program, supplied by whoever loaded it.
pub type RuleLabels = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// Serves `GET /metrics` (any path, in fact) on `listener` until the instance is gone.
pub fn serve(listener: TcpListener, instance: std::sync::Weak<Instance>, labels: RuleLabels) {
    for conn in listener.incoming() {
        let Some(instance) = instance.upgrade() else { return };
        let Ok(stream) = conn else { continue };
        let body = match sample(&instance) {
            Ok(samples) => Ok(render(&samples, &labels(), instance.steering().redirects())),
            Err(e) => Err(e),
        };
        drop(instance);
        let _ = respond(stream, body);
    }
}

fn respond(mut stream: TcpStream, body: Result<String, String>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    // Read the request head (and ignore it).
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        if line == "\r\n" || line == "\n" {
            break;
        }
        line.clear();
    }
    let (status, ctype, body) = match body {
        Ok(b) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", b),
        Err(e) => ("503 Service Unavailable", "text/plain; charset=utf-8", e + "\n"),
    };
    write!(
        stream,
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_exposition_lines() {
        let mut a = WorkerSample::default();
        a.stats.packets = 3;
        a.stats.accepted = 2;
        a.stats.dropped = 1;
        a.stats.rules = vec![(2, 120), (1, 60)];
        a.conntrack_entries = 1;
        let text = render(&[a.clone(), a], &["fw.nft:3".into(), "fw \"x\".nft:4".into()], 0);
        assert!(text.contains("nftvm_rule_packets_total{rule=\"fw.nft:3\"} 4"), "{text}");
        assert!(text.contains("nftvm_rule_bytes_total{rule=\"fw \\\"x\\\".nft:4\"} 120"), "{text}");
        assert!(text.contains("nftvm_verdict_packets_total{verdict=\"drop\"} 2"));
        assert!(text.contains("nftvm_worker_packets_total{worker=\"1\"} 3"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
