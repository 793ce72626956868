//! The server side of the control socket: access control, then one request per connection
//! (`conntrack …`, `list ruleset`, `reload`), answered in the real tools' formats.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use nftvm_compiler::print::{ListOpts, nft};
use nftvm_runtime::live::Instance;
use nftvm_runtime::live::ctfilter::{self, Action, CtCommand};

use crate::ctl::reloader::Reloader;
use nftvm::live::{self, Listing, WorkerState};

/// The longest request line read.
const MAX_REQUEST: u64 = 64 * 1024;

/// The banner conntrack-tools prints its summaries with.
const CONNTRACK: &str = "conntrack v1.4.7 (conntrack-tools)";

/// Who may use the socket besides root.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub owner: u32,
    pub group: Option<u32>,
}

impl Access {
    /// Whether the peer of `stream` may send requests.
    pub fn allows(&self, stream: &UnixStream) -> bool {
        let Ok(cred) = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        else {
            return false;
        };
        if cred.uid() == 0 || cred.uid() == self.owner {
            return true;
        }
        let Some(group) = self.group else { return false };
        cred.gid() == group || supplementary_groups(cred.pid()).contains(&group)
    }
}

/// The supplementary groups of a process (`Groups:` in `/proc/PID/status`).
fn supplementary_groups(pid: i32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| g.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default()
}

/// Everything a request may need.
pub struct Control {
    pub instance: Arc<Instance>,
    pub reloader: Arc<Reloader>,
    pub access: Access,
}

/// What a request produced: output lines and the exit code.
#[derive(Default)]
struct Reply {
    lines: Vec<String>,
    code: u8,
}

impl Reply {
    fn out(&mut self, text: impl AsRef<str>) {
        self.lines.push(format!("1 {}", text.as_ref()));
    }

    fn err(&mut self, text: impl AsRef<str>) {
        self.lines.push(format!("2 {}", text.as_ref()));
    }

    fn fail(text: impl AsRef<str>, code: u8) -> Reply {
        let mut r = Reply { code, ..Reply::default() };
        r.err(text);
        r
    }
}

impl Control {
    /// Serves one connection (on its own thread).
    pub fn serve(&self, mut stream: UnixStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        // Read the request first (bounded), so that a refusal is read by the client
        // rather than racing with its write.
        let mut line = String::new();
        let Ok(reader_stream) = stream.try_clone() else { return };
        let mut reader = BufReader::new(reader_stream.take(MAX_REQUEST));
        if reader.read_line(&mut line).is_err() {
            return;
        }
        if !self.access.allows(&stream) {
            let _ = stream
                .write_all(b"2 nftvm: permission denied (not root, the owner or in --ctl-group)\n= 2\n");
            return;
        }
        let args: Vec<String> = match serde_json::from_str(line.trim()) {
            Ok(a) => a,
            Err(e) => {
                let _ = stream.write_all(format!("2 nftvm: bad request: {e}\n= 2\n").as_bytes());
                return;
            }
        };
        let reply = match args.split_first() {
            Some((cmd, rest)) if cmd == "conntrack" => match CtCommand::parse(rest) {
                Ok(c) if c.action == Action::Events => {
                    self.stream_events(&mut stream, &c);
                    return;
                }
                Ok(c) => self.conntrack(&c),
                Err(e) => Reply::fail(format!("{CONNTRACK}: {e}"), 2),
            },
            Some((cmd, rest)) if cmd == "list" => self.list(rest),
            Some((cmd, _)) if cmd == "reload" => match self.reloader.reload() {
                Ok(()) => Reply::default(),
                Err(e) => Reply::fail(format!("nftvm reload: {e}"), 1),
            },
            _ => Reply::fail(format!("nftvm: unknown request {args:?}"), 2),
        };
        let mut text = String::new();
        for l in reply.lines {
            text.push_str(&l);
            text.push('\n');
        }
        text.push_str(&format!("= {}\n", reply.code));
        let _ = stream.write_all(text.as_bytes());
    }

    fn conntrack(&self, c: &CtCommand) -> Reply {
        let mut r = Reply::default();
        let f = c.filter.clone();
        let result = match c.action {
            Action::List => self.instance.on_each(move |w| {
                let now = w.clock();
                ctfilter::dump(w.pipeline.conntrack(), now, &f)
            }),
            Action::Delete => self.instance.on_each(move |w| {
                let now = w.clock();
                ctfilter::delete(w.pipeline.conntrack_mut(), now, &f)
            }),
            Action::Flush => self.instance.on_each(|w| {
                w.pipeline.conntrack_mut().flush();
                Vec::new()
            }),
            Action::Count => self.instance.on_each(|w| vec![w.pipeline.conntrack().len().to_string()]),
            Action::Stats => {
                self.instance.on_each(|w| vec![w.pipeline.conntrack().stats().line(w.index as u32)])
            }
            Action::Events => Ok(Vec::new()),
        };
        let per_worker = match result {
            Ok(v) => v,
            Err(e) => return Reply::fail(format!("nftvm: {e}"), 2),
        };
        let lines: Vec<String> = per_worker.into_iter().flatten().collect();
        match c.action {
            Action::Count => {
                let total: usize = lines.iter().filter_map(|l| l.parse::<usize>().ok()).sum();
                r.out(total.to_string());
            }
            Action::List => {
                for l in &lines {
                    r.out(l);
                }
                r.err(format!("{CONNTRACK}: {} flow entries have been shown.", lines.len()));
            }
            Action::Delete => {
                for l in &lines {
                    r.out(l);
                }
                r.err(format!("{CONNTRACK}: {} flow entries have been deleted.", lines.len()));
                if lines.is_empty() {
                    r.code = 1;
                }
            }
            Action::Flush => r.err(format!("{CONNTRACK}: connection tracking table has been emptied.")),
            Action::Stats => {
                for l in &lines {
                    r.out(l);
                }
            }
            Action::Events => {}
        }
        r
    }

    /// `conntrack -E`: events as they happen, until the client hangs up.
    fn stream_events(&self, stream: &mut UnixStream, c: &CtCommand) {
        let events = self.instance.subscribe();
        let _ = stream.set_read_timeout(Some(Duration::from_millis(1)));
        let mut probe = [0u8; 64];
        loop {
            match events.recv_timeout(Duration::from_millis(250)) {
                Ok(ev) => {
                    if c.filter.matches_event(&ev)
                        && stream.write_all(format!("1 {}\n", ev.line).as_bytes()).is_err()
                    {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    // The client never sends after its request: readable means it hung up.
                    if let Ok(0) = stream.read(&mut probe) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = stream.write_all(b"= 0\n");
                    return;
                }
            }
        }
    }

    /// `list ruleset|set|map … [-a] [-n] [-s]`: the running ruleset (or one set of it) with
    /// live counters and what the packet path added to sets.
    fn list(&self, args: &[String]) -> Reply {
        const USAGE: &str = "nftvm: usage: list ruleset | list set|map [FAMILY] TABLE NAME  [-a] [-n] [-s]";
        let mut opts = ListOpts::default_listing();
        let Some((listing, options)) = Listing::parse(args) else { return Reply::fail(USAGE, 2) };
        for a in options {
            match a.as_str() {
                "-a" | "--handle" => opts.handles = true,
                "-n" | "--numeric" => opts.values.numeric_proto = true,
                "-s" | "--stateless" => opts.stateless = true,
                other => return Reply::fail(format!("nftvm list: unknown option `{other}`\n{USAGE}"), 2),
            }
        }
        let live = self.reloader.current();
        let prog = live.program().clone();
        let workers = self.instance.on_each(move |w| {
            let state = w.pipeline.engine().state();
            // A worker that has not switched to the listed program yet reports nothing.
            if Arc::ptr_eq(w.pipeline.program(), &prog) {
                WorkerState::of(prog.program(), state, w.clock())
            } else {
                WorkerState::default()
            }
        });
        let workers = match workers {
            Ok(w) => w,
            Err(e) => return Reply::fail(format!("nftvm: {e}"), 2),
        };
        let Some(mut rs) = live::ruleset(&live, &workers) else {
            return Reply::fail("nftvm list: the running program was loaded as bytecode text", 1);
        };
        if !listing.select(&mut rs) {
            // nft's answer for a set that is not there.
            return Reply::fail("Error: No such file or directory", 1);
        }
        let mut r = Reply::default();
        for l in nft::ruleset(&rs, &opts).lines() {
            r.out(l);
        }
        r
    }
}
