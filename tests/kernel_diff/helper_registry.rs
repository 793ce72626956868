//! The conntrack helpers a `ct helper` object or iptables' `-j CT --helper` may name,
//! against the kernel: for every helper nftvm's table lists
//! (`nftvm_compiler::eval::ct_helpers`), over TCP and UDP, in ip, ip6 and inet tables (inet
//! also with each `l3proto`), the real `nft` loads the object or the kernel refuses it, and
//! the family it lists is compared with nftvm's; and `iptables-restore` /
//! `ip6tables-restore` load a raw-table `-j CT --helper` rule or not, as nftvm does. A name
//! the kernel does not have is refused there and accepted by nftvm, which cannot see
//! helpers registered from userspace — the one deliberate difference, checked as such.

use nftvm::compiler::eval::ct_helpers::KERNEL_HELPERS;
use nftvm::compiler::ipset::Ipsets;
use nftvm::compiler::print::{ListOpts, nft};
use nftvm::load::Syntax;

use crate::common::kernel::Netns;

/// The object's `l3proto` line as listed, or `Err` when it does not load.
fn listed_family(listing: &str) -> String {
    listing.lines().map(str::trim).find(|l| l.starts_with("l3proto")).unwrap_or("-").to_string()
}

fn kernel(netns: &Netns, text: &str) -> Result<String, String> {
    netns.try_nft_load(text)?;
    let listing = netns.run("nft", &["list", "ruleset"]);
    netns.run("nft", &["flush", "ruleset"]);
    Ok(listed_family(&listing))
}

fn nftvm(text: &str, syntax: Syntax) -> Result<String, String> {
    let loaded =
        nftvm::load::load_text("helper", text, Some(syntax), &Ipsets::default()).map_err(|e| e.message)?;
    Ok(listed_family(&nft::ruleset(&loaded.ruleset, &ListOpts::default_listing())))
}

/// Do the kernel and nftvm agree on `text` (a userspace helper's name may differ)?
fn agree(k: &Result<String, String>, v: &Result<String, String>, name: &str, iptables: bool) -> bool {
    match (k, v) {
        // iptables-nft's listing is not nft's object: loading or not is what counts.
        (Ok(a), Ok(b)) => iptables || a == b,
        (Err(_), Err(_)) => true,
        // A userspace helper's name: the kernel has none, nftvm accepts it.
        (Err(_), Ok(_)) => name == USERSPACE,
        (Ok(_), Err(_)) => false,
    }
}

/// A helper only conntrackd registers.
const USERSPACE: &str = "ssdp";

/// `(cases, agreeing)`; prints each disagreement.
pub fn compare() -> (usize, usize) {
    let netns = Netns::new();
    let mut names: Vec<&str> = KERNEL_HELPERS.iter().map(|h| h.0).collect();
    names.dedup();
    let mut cases = 0;
    let mut agreeing = 0;
    for (family, l3) in
        [("ip", ""), ("ip6", ""), ("inet", ""), ("inet", "ip"), ("inet", "ip6"), ("inet", "inet")]
    {
        for name in names.iter().copied().chain([USERSPACE]) {
            for proto in ["tcp", "udp"] {
                let l3 = if l3.is_empty() { String::new() } else { format!(" l3proto {l3};") };
                let text = format!(
                    "table {family} t {{\n ct helper h {{ type \"{name}\" protocol {proto};{l3} }}\n}}\n"
                );
                let (k, v) = (kernel(&netns, &text), nftvm(&text, Syntax::Nft));
                cases += 1;
                if agree(&k, &v, name, false) {
                    agreeing += 1;
                } else {
                    println!("ct helper {name} {proto} in {family}{l3}: kernel {k:?}, nftvm {v:?}");
                }
            }
        }
    }
    for (tool, syntax) in [("iptables-restore", Syntax::Iptables), ("ip6tables-restore", Syntax::Ip6tables)] {
        for name in names.iter().copied().chain([USERSPACE]) {
            for proto in ["tcp", "udp"] {
                let text = format!("*raw\n-A PREROUTING -p {proto} -j CT --helper {name}\nCOMMIT\n");
                let k = netns.try_run_with_input(tool, &[], &text).map(|_| String::new());
                let v = nftvm(&text, syntax);
                cases += 1;
                if agree(&k, &v, name, true) {
                    agreeing += 1;
                } else {
                    println!("{tool} -p {proto} -j CT --helper {name}: kernel {k:?}, nftvm {v:?}");
                }
            }
        }
    }
    (cases, agreeing)
}
