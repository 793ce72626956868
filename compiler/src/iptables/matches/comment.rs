//! `comment`: a free-text annotation (at most 255 bytes).

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;

/// The comment match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
}

/// `XT_MAX_COMMENT_LEN - 1`.
pub const MAX_COMMENT_LEN: usize = 255;

static OPTS: [OptSpec; 1] = [OptSpec::arg("comment", 0).mand()];

impl Extension for Comment {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.arg.len() > MAX_COMMENT_LEN {
            return Err(format!(
                "comment is {} bytes long, at most {MAX_COMMENT_LEN} are allowed",
                call.arg.len()
            ));
        }
        self.text = call.arg.to_string();
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_str(false, "comment", &self.text);
    }
}
