//! The control socket of `nftvm run`: where it lives, who may use it, and its protocol.
//!
//! **Address.** By default the abstract Unix socket `@nftvm` — abstract names belong to the
//! network namespace, so `ip netns exec fw nftvm conntrack -L` reaches the instance running
//! in `fw` and nothing else. `--ctl @NAME` picks another abstract name, `--ctl PATH` a
//! filesystem socket (removed again on exit).
//!
//! **Access.** The server reads the peer's credentials (`SO_PEERCRED`): root, the user
//! running nftvm, and members of `--ctl-group` (primary or supplementary group) are served;
//! anyone else gets "permission denied". A filesystem socket is also created with mode 0660
//! and the group, so that the file system agrees.
//!
//! **Protocol.** The client sends one line: its argument vector as a JSON array
//! (`["conntrack","-L","-p","tcp"]`). The server answers with lines `1 TEXT` (for the
//! client's stdout), `2 TEXT` (stderr), and finally `= CODE`, the client's exit code. A
//! stream (`conntrack -E`) sends `1` lines until the client hangs up or the instance stops.

pub mod client;
pub mod reloader;
pub mod server;

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::PathBuf;

/// The default abstract name.
pub const DEFAULT_NAME: &str = "nftvm";

/// Where the control socket is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtlAddr {
    Abstract(String),
    Path(PathBuf),
}

impl CtlAddr {
    /// `--ctl` value: `@NAME` is abstract, anything else a path; none is `@nftvm`.
    pub fn parse(opt: Option<&str>) -> CtlAddr {
        match opt {
            None => CtlAddr::Abstract(DEFAULT_NAME.into()),
            Some(s) => match s.strip_prefix('@') {
                Some(name) => CtlAddr::Abstract(name.into()),
                None => CtlAddr::Path(PathBuf::from(s)),
            },
        }
    }

    fn socket_addr(&self) -> io::Result<SocketAddr> {
        match self {
            CtlAddr::Abstract(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            CtlAddr::Path(p) => SocketAddr::from_pathname(p),
        }
    }

    /// Connects as a client.
    pub fn connect(&self) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&self.socket_addr()?)
    }

    /// Binds the server's socket. A stale socket file (nobody listening) is replaced; a
    /// live one is an error.
    pub fn bind(&self) -> io::Result<UnixListener> {
        if let CtlAddr::Path(p) = self
            && p.exists()
        {
            if self.connect().is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{}: another instance is listening there", p.display()),
                ));
            }
            std::fs::remove_file(p)?;
        }
        UnixListener::bind_addr(&self.socket_addr()?).map_err(|e| {
            if e.kind() == io::ErrorKind::AddrInUse {
                io::Error::new(
                    e.kind(),
                    format!("control socket {self} is in use (another nftvm run here? use --ctl)"),
                )
            } else {
                e
            }
        })
    }
}

impl std::fmt::Display for CtlAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CtlAddr::Abstract(n) => write!(f, "@{n}"),
            CtlAddr::Path(p) => write!(f, "{}", p.display()),
        }
    }
}
