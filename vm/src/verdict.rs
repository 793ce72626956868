//! Verdicts: what the verdict register holds (`NF_ACCEPT`, `NFT_JUMP`, …).

use crate::program::ChainId;

/// A verdict as the kernel's `struct nft_verdict` holds it. `Continue` means "go on with the
/// next expression" and `Break` "this rule did not match" (both internal, as in nf_tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Verdict {
    #[default]
    Continue,
    Break,
    Accept,
    Drop,
    Stolen,
    /// `NF_QUEUE` with the queue number and the bypass flag (`queue` expression); an
    /// immediate `queue` verdict is queue 0 without bypass.
    Queue {
        num: u16,
        bypass: bool,
    },
    Repeat,
    Stop,
    Return,
    Jump(ChainId),
    Goto(ChainId),
}

impl Verdict {
    /// The name `nft --debug=netlink` prints (the chain follows as `-> name`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Continue => "continue",
            Verdict::Break => "break",
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
            Verdict::Stolen => "stolen",
            Verdict::Queue { .. } => "queue",
            Verdict::Repeat => "repeat",
            Verdict::Stop => "stop",
            Verdict::Return => "return",
            Verdict::Jump(_) => "jump",
            Verdict::Goto(_) => "goto",
        }
    }

    /// The verdict named `name` (not jump/goto, which need a chain).
    pub fn from_simple_name(name: &str) -> Option<Verdict> {
        Some(match name {
            "continue" => Verdict::Continue,
            "break" => Verdict::Break,
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
            "stolen" => Verdict::Stolen,
            "queue" => Verdict::Queue { num: 0, bypass: false },
            "repeat" => Verdict::Repeat,
            "stop" => Verdict::Stop,
            "return" => Verdict::Return,
            _ => return None,
        })
    }

    /// The chain a jump or goto names.
    pub fn target(self) -> Option<ChainId> {
        match self {
            Verdict::Jump(c) | Verdict::Goto(c) => Some(c),
            _ => None,
        }
    }

    /// Does this verdict end the packet's traversal of the hook (accept, drop, queue, stolen)?
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Verdict::Accept
                | Verdict::Drop
                | Verdict::Stolen
                | Verdict::Queue { .. }
                | Verdict::Repeat
                | Verdict::Stop
        )
    }
}
