//! `conntrack -L` and `conntrack -E` lines, exactly as conntrack-tools prints them
//! (libnetfilter_conntrack's default output: field order, padding, which attributes the
//! kernel sends for a dump versus an event).
//!
//! Checked against conntrack v1.4.7 on Linux 6.18 in a network namespace:
//! ```text
//! tcp      6 431999 ESTABLISHED src=10.9.0.1 dst=10.9.0.2 sport=34470 dport=8080 packets=4 bytes=221 src=10.9.0.2 dst=10.9.0.1 sport=8080 dport=34470 packets=3 bytes=169 [ASSURED] mark=0 use=1
//!     [NEW] tcp      6 120 SYN_SENT src=10.9.0.1 dst=10.9.0.2 sport=34470 dport=8080 [UNREPLIED] src=10.9.0.2 dst=10.9.0.1 sport=8080 dport=34470
//! ```

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nftvm_vm::keys::ct_status as st;

use super::entry::Conn;
use super::events::{EventKind, ev};
use super::packet::Time;
use super::tuple::{L3, proto_name};

/// Output options (the tool's `-o` flags and the kernel's accounting sysctl).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// Print `packets=… bytes=…` (accounting on).
    pub acct: bool,
    /// `-o extended`: prefix the layer-3 protocol (`ipv4     2 `).
    pub extended: bool,
    /// `-o id`: append `id=…`.
    pub id: bool,
    /// Connection label names by bit (`/etc/xtables/connlabel.conf`); labels are only
    /// printed when a map is given, as conntrack-tools does.
    pub label_names: Option<Vec<(u8, String)>>,
}

fn l3_name(l3: L3) -> &'static str {
    match l3 {
        L3::Ipv4 => "ipv4",
        L3::Ipv6 => "ipv6",
    }
}

fn push_counters(out: &mut String, conn: &Conn, dir: usize) {
    let c = conn.counters[dir];
    let _ = write!(out, "packets={} bytes={} ", c.packets, c.bytes);
}

fn push_labels(out: &mut String, conn: &Conn, opts: &FormatOptions) {
    let Some(names) = &opts.label_names else { return };
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, name)| *bit < 128 && conn.labels >> bit & 1 == 1 && !name.is_empty())
        .map(|(_, name)| name.as_str())
        .collect();
    if conn.labels != 0 {
        let _ = write!(out, "labels={} ", set.join(","));
    }
}

/// The common head: protocol, timeout, TCP state.
fn push_head(out: &mut String, conn: &Conn, timeout: Option<u64>, state: bool, opts: &FormatOptions) {
    let t = conn.original();
    if opts.extended {
        let _ = write!(out, "{:<8} {} ", l3_name(t.l3), t.l3.nfproto());
    }
    let _ = write!(out, "{:<8} {} ", proto_name(t.proto), t.proto);
    if let Some(secs) = timeout {
        let _ = write!(out, "{secs} ");
    }
    if state && let Some(s) = conn.tcp_state() {
        let _ = write!(out, "{} ", s.name());
    }
}

/// The tuples with their counters and status flags.
fn push_tuples(out: &mut String, conn: &Conn, counters: bool) {
    let _ = write!(out, "{} ", conn.original());
    if counters {
        push_counters(out, conn, 0);
    }
    if !conn.has(st::SEEN_REPLY) {
        out.push_str("[UNREPLIED] ");
    }
    let _ = write!(out, "{} ", conn.reply());
    if counters {
        push_counters(out, conn, 1);
    }
    // An offloaded entry shows that instead of being assured.
    if conn.has(st::HW_OFFLOAD) {
        out.push_str("[HW_OFFLOAD] ");
    } else if conn.has(st::OFFLOAD) {
        out.push_str("[OFFLOAD] ");
    } else if conn.has(st::ASSURED) {
        out.push_str("[ASSURED] ");
    }
}

/// One `conntrack -L` line for `conn` at time `now` (reference count 1).
pub fn conn_line(conn: &Conn, now: Time, opts: &FormatOptions) -> String {
    conn_line_use(conn, now, opts, 1)
}

/// One `conntrack -L` line with the entry's reference count (`use=`): 1 for the table,
/// plus one per connection that has it as master (an FTP control connection whose data
/// connection exists shows `use=2`, as checked against Linux 6.18).
pub fn conn_line_use(conn: &Conn, now: Time, opts: &FormatOptions, uses: usize) -> String {
    let mut out = String::with_capacity(200);
    push_head(&mut out, conn, Some(conn.remaining_secs(now)), true, opts);
    push_tuples(&mut out, conn, opts.acct);
    let _ = write!(out, "mark={} ", conn.mark);
    if conn.zone != 0 {
        let _ = write!(out, "zone={} ", conn.zone);
    }
    if let Some(h) = conn.helper {
        let _ = write!(out, "helper={} ", h.name());
    }
    let _ = write!(out, "use={uses} ");
    if opts.id {
        let _ = write!(out, "id={} ", conn.id);
    }
    push_labels(&mut out, conn, opts);
    out.pop();
    out
}

/// One `conntrack -E` line for the events `mask` delivered for `conn` at `now`.
pub fn event_line(conn: &Conn, mask: u16, now: Time, opts: &FormatOptions) -> String {
    let kind = EventKind::of(mask);
    let destroy = kind == EventKind::Destroy;
    let mut out = String::with_capacity(200);
    let _ = write!(out, "{:>9} ", kind.tag());
    let remaining = conn.remaining_secs(now);
    let timeout = if destroy && remaining == 0 { None } else { Some(remaining) };
    push_head(&mut out, conn, timeout, destroy || mask & ev::PROTOINFO != 0, opts);
    push_tuples(&mut out, conn, destroy && opts.acct);
    if conn.mark != 0 || mask & ev::MARK != 0 {
        let _ = write!(out, "mark={} ", conn.mark);
    }
    if conn.zone != 0 {
        let _ = write!(out, "zone={} ", conn.zone);
    }
    if !destroy && let Some(h) = conn.helper {
        let _ = write!(out, "helper={} ", h.name());
    }
    if opts.id {
        let _ = write!(out, "id={} ", conn.id);
    }
    if mask & ev::LABEL != 0 {
        push_labels(&mut out, conn, opts);
    }
    out.pop();
    out
}

/// One `conntrack -L expect` line, as conntrack-tools 1.4.7 prints it on Linux 6.18:
/// `299 proto=6 src=… dst=… sport=0 dport=51210 mask-src=255.255.255.255
/// mask-dst=255.255.255.255 sport=0 dport=65535 master-src=… master-dst=… sport=… dport=…
/// class=0 helper=ftp` (no `helper=` for a master without one: a `ct expectation` object's).
pub fn expect_line(
    exp: &super::expect::Expectation,
    master: &Conn,
    helper: Option<&str>,
    now: Time,
) -> String {
    let t = &exp.tuple;
    let secs = exp.timeout.saturating_sub(now) / super::packet::SECOND;
    let (ones, zeros) = match t.l3 {
        L3::Ipv4 => (IpAddr::V4(Ipv4Addr::BROADCAST), IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        L3::Ipv6 => (IpAddr::V6(Ipv6Addr::from(u128::MAX)), IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
    };
    // A wildcard source (IRC's DCC) is listed as the kernel keeps it: address and mask zero.
    let mask_src = if exp.any_src { zeros } else { ones };
    let m = master.original();
    // A GRE expectation (PPTP's) names both keys, and its mask both in full.
    let (ids, mask_ids) = if t.proto == super::tuple::proto::GRE {
        (
            format!("srckey=0x{:x} dstkey=0x{:x}", t.src_id, t.dst_id),
            "srckey=0xffff dstkey=0xffff".to_string(),
        )
    } else {
        let src = if exp.exact_src_id { t.src_id } else { 0 };
        let mask = if exp.exact_src_id { 65535 } else { 0 };
        (format!("sport={src} dport={}", t.dst_id), format!("sport={mask} dport=65535"))
    };
    format!(
        "{secs} proto={} src={} dst={} {ids} mask-src={mask_src} mask-dst={ones} {mask_ids} \
         master-src={} master-dst={} sport={} dport={} class=0{}",
        t.proto,
        t.src_addr(),
        t.dst_addr(),
        m.src_addr(),
        m.dst_addr(),
        m.sport(),
        m.dport(),
        helper.map_or(String::new(), |h| format!(" helper={h}")),
    )
}
