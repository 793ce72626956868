//! `match name helper rev 0` — iptables' `-m helper`, run as iptables-nft runs it: the
//! kernel's match (`xt_helper`). It reads the helper of the connection's *master* (an FTP
//! data connection's is `ftp`; the control connection itself has no master), and matches
//! when the name given begins with that helper's name (`ftp-21` matches `ftp`, `ft` does
//! not) — any helper at all for an empty name. With `!` the answer flips, so a packet
//! without a connection, a master or a master's helper matches `! --helper`. Like the
//! kernel's match, it turns connection tracking on for the family (`nf_ct_netns_get`).

use crate::interp::Eval;
use crate::keys::CtKey;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult, cursor::write_hex_bytes};
use crate::verify::Check;
use std::fmt::Write;

/// Longest name the match keeps (`xt_helper_info.name` less its terminator).
pub const MAX_NAME: usize = 29;
/// Bytes of a helper's name as `ct helper` loads it (`NF_CT_HELPER_NAME_LEN`).
const HELPER_NAME: usize = super::ct_template::MAX_NAME + 1;

/// One `-m helper` match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct XtHelper {
    /// `--helper NAME` (may be empty).
    pub name: String,
    /// `! --helper`.
    pub invert: bool,
}

impl XtHelper {
    /// The match's answer given the master's helper (`None`: no connection, no master, or a
    /// master without a helper).
    pub fn matches(&self, master_helper: Option<&[u8]>) -> bool {
        let Some(h) = master_helper else { return self.invert };
        let hit = self.name.is_empty() || self.name.as_bytes().starts_with(h);
        hit != self.invert
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name helper rev 0 invert {} helper ", u8::from(self.invert));
        if self.name.is_empty() {
            o.push('-');
        } else {
            write_hex_bytes(o, self.name.as_bytes());
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<XtHelper> {
        c.expect_all(&["name", "helper", "rev", "0"])?;
        let invert = match c.keyed_num::<u8>("invert")? {
            0 => false,
            1 => true,
            n => return Err(format!("helper: invert is 0 or 1, not {n}")),
        };
        c.expect("helper")?;
        let name = if c.eat("-") { Vec::new() } else { c.hex_bytes("the helper name")? };
        let name = String::from_utf8(name).map_err(|_| "helper: the name is not UTF-8".to_string())?;
        Ok(XtHelper { name, invert })
    }

    /// The kernel keeps at most [`MAX_NAME`] bytes and no NUL inside.
    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.name.len() > MAX_NAME || self.name.contains('\0') {
            return Err(format!("helper: a name of at most {MAX_NAME} bytes without NUL"));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let mut buf = [0u8; HELPER_NAME];
        let master = e.env.ct_get(CtKey::Helper, None, &mut buf).then(|| {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(HELPER_NAME);
            &buf[..end]
        });
        if !self.matches(master) {
            e.brk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, invert: bool) -> XtHelper {
        XtHelper { name: name.into(), invert }
    }

    #[test]
    fn the_name_given_must_begin_with_the_masters_helper() {
        assert!(m("ftp", false).matches(Some(b"ftp")));
        assert!(m("ftp-21", false).matches(Some(b"ftp")));
        assert!(!m("ft", false).matches(Some(b"ftp")));
        assert!(!m("tftp", false).matches(Some(b"ftp")));
        assert!(m("snmp_trap", false).matches(Some(b"snmp")));
        assert!(m("", false).matches(Some(b"irc")), "an empty name: any helper");
        assert!(!m("", false).matches(None));
    }

    #[test]
    fn inverted_it_also_takes_packets_without_a_masters_helper() {
        assert!(m("ftp", true).matches(None));
        assert!(m("", true).matches(None));
        assert!(!m("ftp", true).matches(Some(b"ftp")));
        assert!(m("ft", true).matches(Some(b"ftp")));
        assert!(!m("", true).matches(Some(b"ftp")));
    }
}
