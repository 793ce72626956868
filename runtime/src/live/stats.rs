//! What one worker counts: packets by fate, bytes, hand-offs, I/O errors, time spent busy,
//! and packets/bytes per rule (every rule whose verdict or statement applied). A worker
//! owns its counters (plain integers, no atomics); readers get a copy through the worker's
//! command channel, between two packets.

use crate::pipeline::{Fate, Outcome};

/// Counters of one worker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Packets this worker ran through the pipeline (its own and handed-off ones).
    pub packets: u64,
    pub bytes: u64,
    /// Fates, as `eval --json`'s `verdict` reports them (plus held and stolen).
    pub accepted: u64,
    pub dropped: u64,
    pub held: u64,
    pub stolen: u64,
    /// Packets delivered to the host itself (input hook).
    pub local: u64,
    /// Packets written to the TUN devices.
    pub sent: u64,
    pub sent_bytes: u64,
    pub send_errors: u64,
    pub recv_errors: u64,
    /// Packets read here but owned by another worker, passed on.
    pub handed_off: u64,
    /// Packets received from other workers.
    pub handed_in: u64,
    /// Hand-offs lost because the owner's inbox was full.
    pub handoff_dropped: u64,
    /// Redirect-table inserts that found no room.
    pub redirect_failed: u64,
    /// Nanoseconds spent handling packets and timers (not waiting).
    pub busy_ns: u64,
    /// Packets and bytes per rule, indexed by the rule's `SourceId` (reset on reload).
    pub rules: Vec<(u64, u64)>,
}

impl WorkerStats {
    /// Counts one processed packet of `len` bytes.
    pub fn record(&mut self, outcome: &Outcome, len: usize) {
        let len = len as u64;
        self.packets += 1;
        self.bytes += len;
        match outcome.packet.fate {
            Fate::Accepted => self.accepted += 1,
            Fate::Dropped(_) => self.dropped += 1,
            Fate::Held => self.held += 1,
            Fate::Stolen => self.stolen += 1,
        }
        if outcome.packet.local {
            self.local += 1;
        }
        for hit in &outcome.packet.rules {
            let i = hit.source.0 as usize;
            if i >= self.rules.len() {
                // Rule ids are dense and small (one per rule of the loaded program).
                self.rules.resize(i.saturating_add(1).min(1 << 20), (0, 0));
            }
            if let Some(r) = self.rules.get_mut(i) {
                r.0 += 1;
                r.1 += len;
            }
        }
    }

    /// Adds another worker's counters (for totals).
    pub fn add(&mut self, o: &WorkerStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.accepted += o.accepted;
        self.dropped += o.dropped;
        self.held += o.held;
        self.stolen += o.stolen;
        self.local += o.local;
        self.sent += o.sent;
        self.sent_bytes += o.sent_bytes;
        self.send_errors += o.send_errors;
        self.recv_errors += o.recv_errors;
        self.handed_off += o.handed_off;
        self.handed_in += o.handed_in;
        self.handoff_dropped += o.handoff_dropped;
        self.redirect_failed += o.redirect_failed;
        self.busy_ns += o.busy_ns;
        if self.rules.len() < o.rules.len() {
            self.rules.resize(o.rules.len(), (0, 0));
        }
        for (a, b) in self.rules.iter_mut().zip(&o.rules) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}
