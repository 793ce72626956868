//! `target name CT rev 2 helper NAME` — iptables' `-j CT --helper NAME`, run as iptables-nft
//! runs it: the kernel's target (`xt_CT`). In the raw table, before connection tracking has
//! looked at the packet, it gives the packet a template connection carrying the helper; the
//! connection the packet then starts takes the helper from it (`init_conntrack`). This is
//! how the helpers are assigned since the kernel stopped assigning them by port: `iptables
//! -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper ftp`. nft's `ct helper set` acts on
//! the connection instead, so before conntrack it does nothing — the two are not the same
//! statement. (`--notrack` and `--zone` are nft's `notrack` and `ct zone set`, which do act
//! before conntrack.) A packet that already has its conntrack decision is left alone.

use crate::interp::Eval;
use crate::keys::Hook;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

/// Longest helper name (`NF_CT_HELPER_NAME_LEN` less its terminator).
pub const MAX_NAME: usize = 15;
/// The helpers nftvm's runtime runs (`nftvm_runtime::helper::Helper`; a runtime test
/// keeps the two lists the same). Any other attaches nothing.
pub const RUN_HELPERS: [&str; 9] =
    ["ftp", "tftp", "irc", "sane", "amanda", "netbios-ns", "snmp", "snmp_trap", "pptp"];

/// One `-j CT --helper` target (the part of the kernel's `xt_ct_target_info_v1` nftvm runs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct CtTemplate {
    /// The helper (`ftp`, `tftp`, `irc`, `sane`, `amanda`) the packet's new connection gets; empty for a template
    /// with none (`-j CT --ctevents …`: event masks nftvm has no listener for).
    pub helper: String,
}

impl CtTemplate {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name CT rev 2");
        if !self.helper.is_empty() {
            o.push_str(" helper ");
            o.push_str(&self.helper);
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<CtTemplate> {
        c.expect_all(&["name", "CT", "rev", "2"])?;
        if !c.eat("helper") {
            return Ok(CtTemplate::default());
        }
        let helper = c.next()?;
        if helper.is_empty() || helper.len() > MAX_NAME || !helper.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("CT: bad helper name `{helper}`"));
        }
        Ok(CtTemplate { helper: helper.to_string() })
    }

    /// `xt_ct_tg_check`: the raw table only, whose hooks are prerouting and output.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        c.require_base(&[], &[Hook::Prerouting, Hook::Output], "target CT")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if !self.helper.is_empty() {
            e.env.ct_template_helper(&self.helper);
        }
    }
}
