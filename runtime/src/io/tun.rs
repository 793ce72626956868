//! Live TUN devices (`/dev/net/tun`, `IFF_TUN | IFF_NO_PI`): raw IP packets in and out.
//!
//! A [`Tun`] is one queue (one file descriptor) of one TUN device. Opening it creates the
//! device (or attaches to an existing one of that name); the device lives until its last
//! queue is closed. Everything after opening goes through the descriptor: a device renamed
//! or moved to another network namespace (`ip link set dev X netns Y`) keeps working, because
//! reads and writes never look the device up by name or index again. Only the configuration
//! helpers ([`Tun::set_up`], [`Tun::add_address`], …) use the name, in the namespace of the
//! calling thread, and are meant for right after opening.
//!
//! ```no_run
//! use nftvm_runtime::io::tun::Tun;
//! # fn main() -> std::io::Result<()> {
//! let tun = Tun::open("tuna")?;
//! tun.quiet_ipv6()?; // no link-local address, DAD or router solicitations
//! tun.set_mtu(1500)?;
//! tun.add_address("10.0.1.1".parse().unwrap(), 24)?;
//! tun.add_address("fd00:1::1".parse().unwrap(), 64)?;
//! tun.set_up()?;
//! tun.wait_ipv6_ready(std::time::Duration::from_secs(1))?;
//! # Ok(()) }
//! ```
//!
//! [`TunSet`] serves several devices (one queue of each) as a [`PacketIo`]. With
//! [`Tun::open_queues`] (`IFF_MULTI_QUEUE`) each worker thread gets its own `TunSet` made of
//! queue *k* of every device; the kernel spreads flows over the queues by hash.
//!
//! This module holds the runtime's only `unsafe`: the ioctl calls, each in a minimal block.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::libc;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use nix::sys::stat::Mode;

use super::{IfaceId, PacketIo, Received};

/// Longest interface name the kernel accepts (IFNAMSIZ minus the terminating NUL).
pub const MAX_NAME_LEN: usize = 15;

/// One queue of a TUN device: a non-blocking descriptor that reads and writes whole IP
/// packets (no packet-information header).
#[derive(Debug)]
pub struct Tun {
    fd: OwnedFd,
    name: String,
}

impl Tun {
    /// Open (create, or attach to) the TUN device `name` with one queue. An empty name, or a
    /// pattern such as `"tun%d"`, lets the kernel choose a free name; see [`Tun::name`].
    pub fn open(name: &str) -> io::Result<Tun> {
        Self::open_with_flags(name, 0)
    }

    /// Open `queues` queues of one multi-queue device (`IFF_MULTI_QUEUE`); a name pattern is
    /// resolved by the first queue and the others attach to the same device.
    pub fn open_queues(name: &str, queues: usize) -> io::Result<Vec<Tun>> {
        if queues == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a TUN device needs at least one queue"));
        }
        let first = Self::open_with_flags(name, libc::IFF_MULTI_QUEUE)?;
        let mut all = Vec::with_capacity(queues);
        for _ in 1..queues {
            all.push(Self::open_with_flags(&first.name, libc::IFF_MULTI_QUEUE)?);
        }
        all.insert(0, first);
        Ok(all)
    }

    fn open_with_flags(name: &str, extra_flags: libc::c_int) -> io::Result<Tun> {
        let fd = open("/dev/net/tun", OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| annotate(e, "open /dev/net/tun"))?;
        let mut req = IfReq::named(name)?;
        let flags = libc::IFF_TUN | libc::IFF_NO_PI | extra_flags;
        req.set_short(i16::try_from(flags).unwrap_or(i16::MAX));
        sys::tun_set_iff(fd.as_fd(), &mut req).map_err(|e| annotate(e, &format!("TUNSETIFF {name:?}")))?;
        Ok(Tun { fd, name: req.name()? })
    }

    /// The device name the kernel gave this queue when it was opened. A later rename or
    /// namespace move is not reflected here (and does not matter for reading and writing).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Read one packet without blocking: `Ok(Some(len))`, or `Ok(None)` when the queue is
    /// empty. A packet longer than `buf` is truncated by the kernel (use
    /// [`super::MAX_PACKET`]).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match nix::unistd::read(self.fd.as_fd(), buf) {
                Ok(len) => return Ok(Some(len)),
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(annotate(e, &format!("read from {}", self.name))),
            }
        }
    }

    /// Write one whole IP packet: the kernel receives it on this device. Fails with `EIO`
    /// while the device is down and `EINVAL` for something that is not IPv4 or IPv6.
    pub fn send(&self, packet: &[u8]) -> io::Result<()> {
        loop {
            match nix::unistd::write(self.fd.as_fd(), packet) {
                Ok(len) if len == packet.len() => return Ok(()),
                Ok(len) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("short write to {}: {len} of {} bytes", self.name, packet.len()),
                    ));
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(annotate(e, &format!("write to {}", self.name))),
            }
        }
    }

    /// Make the device persistent (`TUNSETPERSIST`): it then outlives its queues, until it is
    /// deleted (`ip link del`) or its network namespace goes away. Closing a persistent device's
    /// last queue is cheap, where unregistering a device waits for RCU grace periods (tens of
    /// milliseconds); a namespace deleted with its devices unregisters them in one batch, in
    /// the background.
    pub fn set_persistent(&self, persistent: bool) -> io::Result<()> {
        sys::set_persist(self.fd.as_fd(), persistent)
            .map_err(|e| annotate(e, &format!("TUNSETPERSIST {}", self.name)))
    }

    /// Bring the device up (`SIOCSIFFLAGS` with `IFF_UP`).
    pub fn set_up(&self) -> io::Result<()> {
        let sock = config_socket(AddressFamily::Inet)?;
        let mut req = IfReq::named(&self.name)?;
        sys::get_flags(sock.as_fd(), &mut req)
            .map_err(|e| annotate(e, &format!("SIOCGIFFLAGS {}", self.name)))?;
        let up = i16::try_from(libc::IFF_UP).unwrap_or(1);
        req.set_short(req.short() | up);
        sys::set_flags(sock.as_fd(), &req).map_err(|e| annotate(e, &format!("SIOCSIFFLAGS {}", self.name)))
    }

    /// Set the MTU (`SIOCSIFMTU`).
    pub fn set_mtu(&self, mtu: u32) -> io::Result<()> {
        let sock = config_socket(AddressFamily::Inet)?;
        let mut req = IfReq::named(&self.name)?;
        let mtu =
            i32::try_from(mtu).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "MTU too large"))?;
        req.set_int(mtu);
        sys::set_mtu(sock.as_fd(), &req).map_err(|e| annotate(e, &format!("SIOCSIFMTU {}", self.name)))
    }

    /// Assign a local address with its prefix length; the kernel adds the connected route.
    /// IPv4 goes through `SIOCSIFADDR` + `SIOCSIFNETMASK`, so each device holds one IPv4
    /// address (a second call replaces it); IPv6 (`in6_ifreq`) addresses accumulate.
    pub fn add_address(&self, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
        match addr {
            IpAddr::V4(v4) => self.set_ipv4(v4, prefix_len),
            IpAddr::V6(v6) => self.add_ipv6(v6, prefix_len),
        }
    }

    fn set_ipv4(&self, addr: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        if prefix_len > 32 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad IPv4 prefix length {prefix_len}"),
            ));
        }
        let sock = config_socket(AddressFamily::Inet)?;
        let mut req = IfReq::named(&self.name)?;
        req.set_ipv4(addr);
        sys::set_addr(sock.as_fd(), &req)
            .map_err(|e| annotate(e, &format!("SIOCSIFADDR {addr} on {}", self.name)))?;
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
        req.set_ipv4(Ipv4Addr::from(mask));
        sys::set_netmask(sock.as_fd(), &req)
            .map_err(|e| annotate(e, &format!("SIOCSIFNETMASK /{prefix_len} on {}", self.name)))
    }

    fn add_ipv6(&self, addr: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        if prefix_len > 128 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad IPv6 prefix length {prefix_len}"),
            ));
        }
        let sock = config_socket(AddressFamily::Inet6)?;
        let mut req = IfReq::named(&self.name)?;
        sys::get_index(sock.as_fd(), &mut req)
            .map_err(|e| annotate(e, &format!("SIOCGIFINDEX {}", self.name)))?;
        let req6 = In6IfReq { addr: addr.octets(), prefix_len: u32::from(prefix_len), ifindex: req.int() };
        sys::add_addr6(sock.as_fd(), &req6)
            .map_err(|e| annotate(e, &format!("SIOCSIFADDR {addr} on {}", self.name)))
    }

    /// Keep the kernel's IPv6 autoconfiguration quiet on this device: no link-local address,
    /// no duplicate address detection, no router solicitations or advertisements accepted.
    /// Call it before [`Tun::set_up`]. (MLD reports for the all-routers group still appear
    /// when forwarding is on.) A kernel without IPv6 is not an error.
    pub fn quiet_ipv6(&self) -> io::Result<()> {
        if self.name.contains('/') || self.name.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("odd device name {:?}", self.name),
            ));
        }
        let dir = format!("/proc/sys/net/ipv6/conf/{}", self.name);
        let settings = [
            ("addr_gen_mode", "1"),
            ("accept_dad", "0"),
            ("dad_transmits", "0"),
            ("router_solicitations", "0"),
            ("accept_ra", "0"),
        ];
        for (key, value) in settings {
            match fs::write(format!("{dir}/{key}"), value) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("{dir}/{key}: {e}"))),
            }
        }
        Ok(())
    }
}

impl Tun {
    /// Wait until the kernel has finished duplicate address detection on every IPv6 address
    /// of this device. Addresses assigned by [`Tun::add_address`] are *tentative* (packets to
    /// them are dropped) until the kernel's address-configuration work has run, shortly after
    /// [`Tun::set_up`], even when DAD itself is off; call this before sending traffic to them.
    pub fn wait_ipv6_ready(&self, timeout: Duration) -> io::Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            // thread-self: the namespace of this thread, which may differ from the process's.
            let table = match fs::read_to_string("/proc/thread-self/net/if_inet6") {
                Ok(table) => table,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            if !has_tentative_address(&table, &self.name) {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("IPv6 addresses of {} still tentative after {timeout:?}", self.name),
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Whether `/proc/net/if_inet6` (`ADDR IFINDEX PLEN SCOPE FLAGS NAME` in hex) lists a
/// tentative (`IFA_F_TENTATIVE`, 0x40) address on `device`.
fn has_tentative_address(table: &str, device: &str) -> bool {
    const IFA_F_TENTATIVE: u32 = 0x40;
    table.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        matches!(fields.as_slice(), [_, _, _, _, flags, name] if *name == device
            && u32::from_str_radix(flags, 16).is_ok_and(|f| f & IFA_F_TENTATIVE != 0))
    })
}

impl AsFd for Tun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Run `f` on a short-lived thread that has joined the network namespace `netns` (an open
/// `/run/netns/NAME` or `/proc/PID/ns/net`), and return its result. TUN devices opened there
/// are created in that namespace (a `/dev/net/tun` descriptor belongs to the namespace of the
/// thread that opened it), and the configuration helpers act there too; the returned [`Tun`]s
/// keep working from any thread. The caller's own namespace is untouched.
pub fn in_netns<T: Send>(netns: BorrowedFd<'_>, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| annotate(e, "setns"))?;
            f()
        });
        worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Several TUN queues served as one [`PacketIo`]: [`IfaceId`]`(i)` is the `i`-th queue given
/// to [`TunSet::new`]. Received packets are stamped with the wall clock.
#[derive(Debug)]
pub struct TunSet {
    queues: Vec<Tun>,
    next: usize,
}

impl TunSet {
    /// Serve these queues, numbered in this order.
    pub fn new(queues: Vec<Tun>) -> Self {
        TunSet { queues, next: 0 }
    }

    /// The queue serving `iface`.
    pub fn get(&self, iface: IfaceId) -> Option<&Tun> {
        self.queues.get(iface.0)
    }

    /// All queues, in [`IfaceId`] order.
    pub fn queues(&self) -> &[Tun] {
        &self.queues
    }
}

impl PacketIo for TunSet {
    /// Round-robin over the queues, starting after the one that delivered last, so that a
    /// busy device cannot starve the others.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let count = self.queues.len();
        for step in 0..count {
            let index = (self.next + step) % count;
            let Some(tun) = self.queues.get(index) else { continue };
            if let Some(len) = tun.recv(buf)? {
                self.next = (index + 1) % count;
                let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
                return Ok(Some(Received { iface: IfaceId(index), len, timestamp }));
            }
        }
        Ok(None)
    }

    fn send(&mut self, iface: IfaceId, packet: &[u8]) -> io::Result<()> {
        let tun = self.queues.get(iface.0).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no TUN queue for interface {}", iface.0))
        })?;
        tun.send(packet)
    }

    fn poll_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.queues.iter().map(|tun| tun.as_fd()).collect()
    }
}

/// A datagram socket of `family`, the handle the interface-configuration ioctls act through
/// (in the calling thread's network namespace).
fn config_socket(family: AddressFamily) -> io::Result<OwnedFd> {
    socket(family, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| annotate(e, "socket for interface configuration"))
}

fn annotate(errno: Errno, what: &str) -> io::Error {
    let err = io::Error::from(errno);
    io::Error::new(err.kind(), format!("{what}: {err}"))
}

/// `struct ifreq`: a NUL-terminated name and a 24-byte union, here kept as bytes so that
/// filling and reading it needs no `unsafe`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug)]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn named(name: &str) -> io::Result<IfReq> {
        let bytes = name.as_bytes();
        if bytes.len() > MAX_NAME_LEN || bytes.contains(&0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {name:?}")));
        }
        let mut req = IfReq { name: [0; 16], data: [0; 24] };
        req.name[..bytes.len()].copy_from_slice(bytes);
        Ok(req)
    }

    fn name(&self) -> io::Result<String> {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(self.name.len());
        String::from_utf8(self.name[..len].to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "interface name is not UTF-8"))
    }

    fn set_short(&mut self, value: i16) {
        self.data[..2].copy_from_slice(&value.to_ne_bytes());
    }

    fn short(&self) -> i16 {
        i16::from_ne_bytes([self.data[0], self.data[1]])
    }

    fn set_int(&mut self, value: i32) {
        self.data[..4].copy_from_slice(&value.to_ne_bytes());
    }

    fn int(&self) -> i32 {
        i32::from_ne_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
    }

    /// A `struct sockaddr_in` with port 0.
    fn set_ipv4(&mut self, addr: Ipv4Addr) {
        self.data = [0; 24];
        let family = u16::try_from(libc::AF_INET).unwrap_or(2);
        self.data[..2].copy_from_slice(&family.to_ne_bytes());
        self.data[4..8].copy_from_slice(&addr.octets());
    }
}

/// `struct in6_ifreq`: address, prefix length, ifindex.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct In6IfReq {
    addr: [u8; 16],
    prefix_len: u32,
    ifindex: i32,
}

/// The ioctls, each wrapped in a safe function over a borrowed descriptor and a request
/// struct that is owned, initialized and large enough for what the kernel copies.
mod sys {
    use std::os::fd::{AsRawFd, BorrowedFd};

    use nix::libc;

    use super::{IfReq, In6IfReq};

    nix::ioctl_readwrite_bad!(tunsetiff, libc::TUNSETIFF, IfReq);
    nix::ioctl_write_int_bad!(tunsetpersist, libc::TUNSETPERSIST);
    nix::ioctl_readwrite_bad!(siocgifflags, libc::SIOCGIFFLAGS, IfReq);
    nix::ioctl_write_ptr_bad!(siocsifflags, libc::SIOCSIFFLAGS, IfReq);
    nix::ioctl_write_ptr_bad!(siocsifmtu, libc::SIOCSIFMTU, IfReq);
    nix::ioctl_write_ptr_bad!(siocsifaddr, libc::SIOCSIFADDR, IfReq);
    nix::ioctl_write_ptr_bad!(siocsifnetmask, libc::SIOCSIFNETMASK, IfReq);
    nix::ioctl_readwrite_bad!(siocgifindex, libc::SIOCGIFINDEX, IfReq);
    nix::ioctl_write_ptr_bad!(siocsifaddr6, libc::SIOCSIFADDR, In6IfReq);

    #[allow(unsafe_code)]
    pub(super) fn tun_set_iff(fd: BorrowedFd<'_>, req: &mut IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is an open /dev/net/tun descriptor; TUNSETIFF reads and writes back one
        // `struct ifreq` (40 bytes), which `req` is: an exclusive, initialized reference.
        unsafe { tunsetiff(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn set_persist(fd: BorrowedFd<'_>, persistent: bool) -> nix::Result<()> {
        // SAFETY: `fd` is an attached /dev/net/tun descriptor; TUNSETPERSIST takes its argument
        // by value and touches no memory of ours.
        unsafe { tunsetpersist(fd.as_raw_fd(), libc::c_int::from(persistent)) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn get_flags(fd: BorrowedFd<'_>, req: &mut IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is a socket; SIOCGIFFLAGS fills the flags of the `ifreq` behind `req`.
        unsafe { siocgifflags(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn set_flags(fd: BorrowedFd<'_>, req: &IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is a socket; SIOCSIFFLAGS only reads the initialized `ifreq`.
        unsafe { siocsifflags(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn set_mtu(fd: BorrowedFd<'_>, req: &IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is a socket; SIOCSIFMTU only reads the initialized `ifreq`.
        unsafe { siocsifmtu(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn set_addr(fd: BorrowedFd<'_>, req: &IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is an AF_INET socket; SIOCSIFADDR only reads the initialized `ifreq`.
        unsafe { siocsifaddr(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn set_netmask(fd: BorrowedFd<'_>, req: &IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is an AF_INET socket; SIOCSIFNETMASK only reads the initialized `ifreq`.
        unsafe { siocsifnetmask(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn get_index(fd: BorrowedFd<'_>, req: &mut IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is a socket; SIOCGIFINDEX writes the index into the `ifreq` behind `req`.
        unsafe { siocgifindex(fd.as_raw_fd(), req) }.map(drop)
    }

    #[allow(unsafe_code)]
    pub(super) fn add_addr6(fd: BorrowedFd<'_>, req: &In6IfReq) -> nix::Result<()> {
        // SAFETY: `fd` is an AF_INET6 socket; SIOCSIFADDR there reads one initialized
        // `struct in6_ifreq` (24 bytes, same layout as `In6IfReq`).
        unsafe { siocsifaddr6(fd.as_raw_fd(), req) }.map(drop)
    }
}

const _: () = assert!(std::mem::size_of::<IfReq>() == 40 && std::mem::size_of::<In6IfReq>() == 24);

/// These tests need root and `ip` (iproute2); each runs in a private network namespace of its
/// own thread, so nothing touches the host's interfaces.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{MAX_PACKET, Readiness};
    use std::process::Command;

    fn private_netns() {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET) failed: the TUN tests must run as root");
    }

    /// Run `ip ARGS` (in this thread's namespace) and return its stdout; panic on failure.
    fn ip(args: &str) -> String {
        let out = Command::new("ip")
            .args(args.split_whitespace())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `ip` (install iproute2): {e}"));
        assert!(out.status.success(), "ip {args}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A named namespace for the move test, deleted on drop.
    struct NamedNetns(String);

    impl Drop for NamedNetns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }

    fn checksum(data: &[u8], initial: u32) -> u16 {
        let mut sum = initial;
        for chunk in data.chunks(2) {
            sum += u32::from(u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    fn icmp_echo_v4(src: [u8; 4], dst: [u8; 4], id: u16) -> Vec<u8> {
        let mut icmp = vec![8, 0, 0, 0];
        icmp.extend_from_slice(&id.to_be_bytes());
        icmp.extend_from_slice(&[0, 1, b'n', b'f', b't', b'v']);
        let c = checksum(&icmp, 0);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let total = (20 + icmp.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 1, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let c = checksum(&ip, 0);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&icmp);
        ip
    }

    fn pseudo_sum_v6(src: &[u8], dst: &[u8], len: usize, next: u8) -> u32 {
        let mut bytes = src.to_vec();
        bytes.extend_from_slice(dst);
        bytes.extend_from_slice(&(len as u32).to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, next]);
        u32::from(!checksum(&bytes, 0))
    }

    fn icmp_echo_v6(src: Ipv6Addr, dst: Ipv6Addr, id: u16) -> Vec<u8> {
        let mut icmp = vec![128, 0, 0, 0];
        icmp.extend_from_slice(&id.to_be_bytes());
        icmp.extend_from_slice(&[0, 1, b'n', b'f', b't', b'v']);
        let c = checksum(&icmp, pseudo_sum_v6(&src.octets(), &dst.octets(), icmp.len(), 58));
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
        ip.extend_from_slice(&[58, 64]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        ip.extend_from_slice(&icmp);
        ip
    }

    /// Wait up to a second for the next packet on `tun` that is not the kernel's MLD noise.
    fn next_packet(tun: &Tun) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_PACKET];
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while std::time::Instant::now() < deadline {
            crate::io::wait_readable(&[tun.as_fd()], Some(Duration::from_millis(50))).unwrap();
            while let Some(len) = tun.recv(&mut buf).unwrap() {
                let packet = buf[..len].to_vec();
                // Router solicitations and MLD reports (behind a hop-by-hop header).
                let icmp6_type = match packet[6] {
                    58 => packet.get(40),
                    0 if packet.get(40) == Some(&58) => packet.get(48),
                    _ => None,
                };
                let noise = packet[0] >> 4 == 6 && icmp6_type.is_some_and(|t| (130..=143).contains(t));
                if !noise {
                    return packet;
                }
            }
        }
        panic!("no packet came out of {} within a second", tun.name());
    }

    fn configured(name: &str, v4: &str, v6: &str) -> Tun {
        let tun = Tun::open(name).unwrap();
        tun.quiet_ipv6().unwrap();
        tun.add_address(v4.parse().unwrap(), 24).unwrap();
        tun.add_address(v6.parse().unwrap(), 64).unwrap();
        tun.set_up().unwrap();
        tun.wait_ipv6_ready(Duration::from_secs(2)).unwrap();
        tun
    }

    fn assert_echo_reply_v4(reply: &[u8], from: [u8; 4], to: [u8; 4], id: u16) {
        assert_eq!(reply[0], 0x45, "not IPv4: {reply:02x?}");
        assert_eq!(&reply[12..16], &from);
        assert_eq!(&reply[16..20], &to);
        assert_eq!(checksum(&reply[..20], 0), 0, "bad IPv4 header checksum");
        assert_eq!(reply[20], 0, "not an echo reply");
        assert_eq!(&reply[24..26], &id.to_be_bytes());
        assert_eq!(checksum(&reply[20..], 0), 0, "bad ICMP checksum");
    }

    #[test]
    fn open_lets_the_kernel_name_the_device_and_drop_removes_it() {
        private_netns();
        let tun = Tun::open("").unwrap();
        assert!(tun.name().starts_with("tun"), "{}", tun.name());
        let details = ip(&format!("-d link show dev {}", tun.name()));
        assert!(details.contains("tun type tun pi off"), "{details}");
        let name = tun.name().to_string();
        drop(tun);
        let gone = Command::new("ip").args(["link", "show", "dev", &name]).output().unwrap();
        assert!(!gone.status.success(), "{name} outlived its only queue");
        assert!(Tun::open("much-too-long-name").is_err());
    }

    #[test]
    fn a_persistent_device_outlives_its_queue() {
        private_netns();
        let tun = Tun::open("nvpersist").unwrap();
        tun.set_persistent(true).unwrap();
        drop(tun);
        assert!(ip("-d link show dev nvpersist").contains("persist on"));
        // It can be attached to again, and made transient so that closing removes it.
        let tun = Tun::open("nvpersist").unwrap();
        tun.set_persistent(false).unwrap();
        drop(tun);
        let gone = Command::new("ip").args(["link", "show", "dev", "nvpersist"]).output().unwrap();
        assert!(!gone.status.success(), "a transient device outlived its queue");
    }

    #[test]
    fn configuration_matches_what_ip_reports() {
        private_netns();
        let tun = Tun::open("nvcfg").unwrap();
        tun.quiet_ipv6().unwrap();
        tun.set_mtu(1400).unwrap();
        tun.add_address("10.77.1.1".parse().unwrap(), 24).unwrap();
        tun.add_address("fd77:1::1".parse().unwrap(), 64).unwrap();
        tun.add_address("fd77:2::1".parse().unwrap(), 80).unwrap();
        tun.set_up().unwrap();
        let link = ip("-o link show dev nvcfg");
        assert!(link.contains("mtu 1400") && link.contains(",UP"), "{link}");
        let addrs = ip("-o addr show dev nvcfg");
        for expected in ["inet 10.77.1.1/24", "inet6 fd77:1::1/64", "inet6 fd77:2::1/80"] {
            assert!(addrs.contains(expected), "{expected} missing from {addrs}");
        }
        assert!(!addrs.contains("fe80"), "quiet_ipv6 left a link-local address: {addrs}");
        let routes = ip("route show dev nvcfg") + &ip("-6 route show dev nvcfg");
        for expected in ["10.77.1.0/24", "fd77:1::/64", "fd77:2::/80"] {
            assert!(routes.contains(expected), "{expected} missing from {routes}");
        }
    }

    #[test]
    fn the_kernel_answers_echo_requests_written_to_the_device() {
        private_netns();
        ip("link set dev lo up"); // local delivery needs it, as on any real host
        let tun = configured("nvecho", "10.77.2.1", "fd77:2::1");
        tun.send(&icmp_echo_v4([10, 77, 2, 9], [10, 77, 2, 1], 0x1234)).unwrap();
        assert_echo_reply_v4(&next_packet(&tun), [10, 77, 2, 1], [10, 77, 2, 9], 0x1234);

        let (peer, me): (Ipv6Addr, Ipv6Addr) = ("fd77:2::9".parse().unwrap(), "fd77:2::1".parse().unwrap());
        tun.send(&icmp_echo_v6(peer, me, 0x4321)).unwrap();
        let reply = next_packet(&tun);
        assert_eq!(reply[0] >> 4, 6);
        assert_eq!(reply[6], 58);
        assert_eq!(&reply[8..24], &me.octets());
        assert_eq!(&reply[24..40], &peer.octets());
        assert_eq!(reply[40], 129, "not an echo reply");
        assert_eq!(
            checksum(&reply[40..], pseudo_sum_v6(&reply[8..24], &reply[24..40], reply.len() - 40, 58)),
            0
        );
    }

    #[test]
    fn the_descriptor_keeps_working_after_a_move_to_another_namespace() {
        private_netns();
        let tun = Tun::open("").unwrap();
        let ns = NamedNetns(format!("nftvm-tun-move-{}", std::process::id()));
        ip(&format!("netns add {}", ns.0));
        ip(&format!("link set dev {} netns {}", tun.name(), ns.0));
        // Renamed and configured over there; our name for it is now stale.
        ip(&format!("-n {} link set dev {} name moved", ns.0, tun.name()));
        ip(&format!("-n {} addr add 10.77.3.1/24 dev moved", ns.0));
        ip(&format!("-n {} link set dev moved up", ns.0));
        ip(&format!("-n {} link set dev lo up", ns.0));
        tun.send(&icmp_echo_v4([10, 77, 3, 9], [10, 77, 3, 1], 7)).unwrap();
        assert_echo_reply_v4(&next_packet(&tun), [10, 77, 3, 1], [10, 77, 3, 9], 7);
    }

    #[test]
    fn devices_opened_in_another_namespace_live_there() {
        private_netns();
        let ns = NamedNetns(format!("nftvm-tun-in-{}", std::process::id()));
        ip(&format!("netns add {}", ns.0));
        let handle = fs::File::open(format!("/run/netns/{}", ns.0)).unwrap();
        let tun = in_netns(handle.as_fd(), || {
            let tun = Tun::open("nvinns")?;
            tun.quiet_ipv6()?;
            tun.add_address("10.77.7.1".parse().unwrap(), 24)?;
            tun.add_address("fd77:7::1".parse().unwrap(), 64)?;
            tun.set_up()?;
            tun.wait_ipv6_ready(Duration::from_secs(2))?;
            Ok(tun)
        })
        .unwrap();
        let here = Command::new("ip").args(["link", "show", "dev", "nvinns"]).output().unwrap();
        assert!(!here.status.success(), "the device appeared in the caller's namespace");
        let there = ip(&format!("-n {} -o addr show dev nvinns", ns.0));
        assert!(there.contains("10.77.7.1/24") && there.contains("fd77:7::1/64"), "{there}");
        ip(&format!("-n {} link set dev lo up", ns.0));
        tun.send(&icmp_echo_v4([10, 77, 7, 9], [10, 77, 7, 1], 5)).unwrap();
        assert_echo_reply_v4(&next_packet(&tun), [10, 77, 7, 1], [10, 77, 7, 9], 5);
    }

    #[test]
    fn multi_queue_devices_share_one_interface() {
        private_netns();
        let queues = Tun::open_queues("nvmq", 3).unwrap();
        assert!(queues.iter().all(|q| q.name() == "nvmq"));
        let details = ip("-d link show dev nvmq");
        assert!(details.contains("multi_queue numqueues 3"), "{details}");
        assert!(Tun::open_queues("nvmq2", 0).is_err());
        for q in &queues {
            q.quiet_ipv6().unwrap();
        }
        queues[0].add_address("10.77.4.1".parse().unwrap(), 24).unwrap();
        queues[0].set_up().unwrap();
        // Requests go in on queue 2; the reply leaves on whichever queue the kernel picks.
        let mut set = TunSet::new(queues);
        set.get(IfaceId(2)).unwrap().send(&icmp_echo_v4([10, 77, 4, 9], [10, 77, 4, 1], 9)).unwrap();
        let mut buf = vec![0u8; MAX_PACKET];
        assert_eq!(set.wait(Some(Duration::from_secs(1))).unwrap(), Readiness::Ready);
        let rx = set.recv(&mut buf).unwrap().expect("readable but nothing received");
        assert!(rx.iface.0 < 3);
        assert_echo_reply_v4(&buf[..rx.len], [10, 77, 4, 1], [10, 77, 4, 9], 9);
    }

    #[test]
    fn a_tun_set_forwards_between_devices_as_packet_io() {
        private_netns();
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        let mut set = TunSet::new(vec![
            configured("nvfa", "10.77.5.1", "fd77:5::1"),
            configured("nvfb", "10.77.6.1", "fd77:6::1"),
        ]);
        let request = icmp_echo_v4([10, 77, 5, 9], [10, 77, 6, 9], 11);
        set.send(IfaceId(0), &request).unwrap();
        let mut buf = vec![0u8; MAX_PACKET];
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let forwarded = loop {
            assert!(std::time::Instant::now() < deadline, "nothing forwarded within a second");
            set.wait(Some(Duration::from_millis(50))).unwrap();
            if let Some(rx) = set.recv(&mut buf).unwrap()
                && buf[0] >> 4 == 4
            {
                break (rx, buf[..rx.len].to_vec());
            }
        };
        assert_eq!(forwarded.0.iface, IfaceId(1));
        assert_eq!(forwarded.1[8], 63, "TTL not decremented");
        assert_eq!(checksum(&forwarded.1[..20], 0), 0);
        assert!(set.send(IfaceId(7), &request).is_err());
    }
}
