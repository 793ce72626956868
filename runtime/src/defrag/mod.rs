//! IP reassembly and refragmentation, as Linux does them around netfilter.
//!
//! With conntrack in use, fragments are reassembled before the conntrack hook
//! (`nf_defrag_ipv4` / `nf_defrag_ipv6` at priority −400): the fragments are held
//! ("stolen") until the datagram is complete, then the whole packet goes through the rest
//! of the hooks. A forwarded reassembled packet is cut up again on output; Linux keeps the
//! original fragments and re-emits them with their original sizes whenever they still fit
//! ([`fragment`]). Without conntrack, IPv4 packets for the host are reassembled before the
//! input hook (`ip_local_deliver`); IPv6 ones after it, by the stack.
//!
//! The queue rules are the kernel's (`ip_frag_queue`, `nf_ct_frag6_queue`,
//! `inet_frag_queue_insert`): a fragment inside one already queued is a duplicate and is
//! dropped; one that partly overlaps another kills the whole queue (RFC 5722); a last
//! fragment that disagrees with the known length, or data beyond it, is corruption; IPv4
//! non-last fragments are trimmed to a multiple of 8 bytes, IPv6 ones that are not
//! multiples of 8 make the queue die and the packet pass unreassembled; an empty fragment
//! is an error. Queues expire 30 s (IPv4) / 60 s (IPv6, `nf_conntrack_frag6_timeout`) after
//! their first fragment, on the packet clock. Memory is bounded by `high_thresh` (4 MiB as
//! `ipfrag_high_thresh`), counted as fragment bytes plus a fixed per-fragment overhead
//! (the kernel counts socket-buffer truesize, which is close to but not exactly that).
//!
//! [`fragment`]: fn@fragment

mod fragment;
mod queue;

pub use fragment::{Fragmented, fragment};
pub use queue::{Defrag, DefragConfig, Expired, Gather, User};

/// What reassembly leaves on the packet for refragmentation (`frag_list` plus
/// `IPCB(skb)->frag_max_size` / `IP6CB(skb)->frag_max_size`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FragLayout {
    /// Payload bytes of each original fragment (the fragmentable part), in offset order.
    pub sizes: Vec<usize>,
    /// `frag_max_size`: IPv4 the largest fragment's length (header included); IPv6 the
    /// fixed header plus the largest payload length.
    pub max_size: usize,
    /// IPv4: the largest fragment had DF set (`IPSKB_FRAG_PMTU`): the reassembled packet
    /// carries DF and must be refragmented with it.
    pub pmtu_df: bool,
    /// The identification of the original fragments.
    pub ident: u32,
}
