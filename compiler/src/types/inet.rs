//! Internet protocol numbers (`inet_proto`) and transport services (`inet_service`).
//!
//! nft asks the host's `/etc/protocols` and `/etc/services`; we embed the well-known names
//! (IANA assignments as Debian's netbase ships them) so that a ruleset parses and lists the
//! same everywhere. Protocol names print by default (`ip protocol tcp`), numerically with
//! `-nn`; ports print as numbers unless `-S` asks for names.

use super::value::Value;
use super::{ParsedNum, PrintOpts, TypeError};

/// Protocol names and numbers; the first name of a number is the one printed.
pub static PROTOCOLS: &[(&str, u8)] = &[
    ("ip", 0),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
];

/// Words nft's grammar turns into protocol numbers even where `/etc/protocols` has another
/// name (`icmpv6`, `comp` are keywords of the language).
static PROTOCOL_KEYWORDS: &[(&str, u8)] = &[("icmpv6", 58), ("comp", 108)];

/// Look a protocol name up.
pub fn protocol_number(name: &str) -> Option<u8> {
    PROTOCOLS.iter().chain(PROTOCOL_KEYWORDS).find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The name a protocol number prints as.
pub fn protocol_name(number: u8) -> Option<&'static str> {
    PROTOCOLS.iter().find(|&&(_, v)| v == number).map(|&(n, _)| n)
}

/// Well-known service names and ports (TCP and UDP share them); the first name of a port is
/// the one `-S` prints.
pub static SERVICES: &[(&str, u16)] = &[
    ("tcpmux", 1),
    ("echo", 7),
    ("discard", 9),
    ("systat", 11),
    ("daytime", 13),
    ("netstat", 15),
    ("qotd", 17),
    ("chargen", 19),
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("time", 37),
    ("whois", 43),
    ("tacacs", 49),
    ("re-mail-ck", 50),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("iso-tsap", 102),
    ("pop3", 110),
    ("sunrpc", 111),
    ("auth", 113),
    ("nntp", 119),
    ("ntp", 123),
    ("epmap", 135),
    ("netbios-ns", 137),
    ("netbios-dgm", 138),
    ("netbios-ssn", 139),
    ("imap2", 143),
    ("imap", 143),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("xdmcp", 177),
    ("bgp", 179),
    ("smux", 199),
    ("ldap", 389),
    ("svrloc", 427),
    ("https", 443),
    ("snpp", 444),
    ("microsoft-ds", 445),
    ("kpasswd", 464),
    ("submissions", 465),
    ("isakmp", 500),
    ("exec", 512),
    ("biff", 512),
    ("login", 513),
    ("who", 513),
    ("shell", 514),
    ("syslog", 514),
    ("printer", 515),
    ("talk", 517),
    ("ntalk", 518),
    ("route", 520),
    ("uucp", 540),
    ("klogin", 543),
    ("kshell", 544),
    ("dhcpv6-client", 546),
    ("dhcpv6-server", 547),
    ("afpovertcp", 548),
    ("rtsp", 554),
    ("nntps", 563),
    ("submission", 587),
    ("ipp", 631),
    ("ldaps", 636),
    ("tinc", 655),
    ("kerberos-adm", 749),
    ("domain-s", 853),
    ("rsync", 873),
    ("ftps-data", 989),
    ("ftps", 990),
    ("telnets", 992),
    ("imaps", 993),
    ("pop3s", 995),
    ("socks", 1080),
    ("openvpn", 1194),
    ("ms-sql-s", 1433),
    ("ms-sql-m", 1434),
    ("ingreslock", 1524),
    ("l2f", 1701),
    ("l2tp", 1701),
    ("radius", 1812),
    ("radius-acct", 1813),
    ("nfs", 2049),
    ("cvspserver", 2401),
    ("mysql", 3306),
    ("ms-wbt-server", 3389),
    ("svn", 3690),
    ("sieve", 4190),
    ("ipsec-nat-t", 4500),
    ("sip", 5060),
    ("sip-tls", 5061),
    ("xmpp-client", 5222),
    ("xmpp-server", 5269),
    ("mdns", 5353),
    ("postgresql", 5432),
    ("amqp", 5672),
    ("x11", 6000),
    ("redis", 6379),
    ("ircd", 6667),
    ("http-alt", 8080),
    ("git", 9418),
    ("webmin", 10000),
];

/// Look a service name up.
pub fn service_port(name: &str) -> Option<u16> {
    SERVICES.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}

/// The name a port prints as with `-S`.
pub fn service_name(port: u16) -> Option<&'static str> {
    SERVICES.iter().find(|&&(_, p)| p == port).map(|&(n, _)| n)
}

pub(super) fn parse_proto(text: &str) -> Result<ParsedNum, TypeError> {
    if let Some(n) = super::integer::parse_number(text) {
        return if n > 255 { Err(TypeError::new("Protocol out of range")) } else { Ok(ParsedNum::Num(n)) };
    }
    protocol_number(text)
        .map(|n| ParsedNum::Num(u128::from(n)))
        .ok_or_else(|| TypeError::new("Could not resolve protocol name"))
}

pub(super) fn parse_service(text: &str) -> Result<ParsedNum, TypeError> {
    if let Some(n) = super::integer::parse_number(text) {
        return if n > 65535 { Err(TypeError::new("Service out of range")) } else { Ok(ParsedNum::Num(n)) };
    }
    service_port(text)
        .map(|p| ParsedNum::Num(u128::from(p)))
        .ok_or_else(|| TypeError::new("Could not resolve service: Servname not supported for ai_socktype"))
}

pub(super) fn print_proto(value: &Value, opts: &PrintOpts) -> String {
    match value.to_u64() {
        Some(n) if !opts.numeric_proto => match u8::try_from(n).ok().and_then(protocol_name) {
            Some(name) => name.to_string(),
            None => n.to_string(),
        },
        _ => super::integer::print_decimal(value),
    }
}

pub(super) fn print_service(value: &Value, opts: &PrintOpts) -> String {
    let port = value.to_u64().unwrap_or(0);
    if opts.service_names
        && let Some(name) = u16::try_from(port).ok().and_then(service_name)
    {
        return format!("\"{name}\"");
    }
    super::integer::print_decimal(value)
}

#[cfg(test)]
mod tests {
    use super::super::{PrintOpts, Type};
    use super::*;

    #[test]
    fn protocols_print_by_name_unless_numeric() {
        let tcp = Type::InetProto.parse("tcp").unwrap();
        assert_eq!(tcp.to_u128(), Some(6));
        assert_eq!(Type::InetProto.print(&tcp, &PrintOpts::default()), "tcp");
        let nn = PrintOpts { numeric_proto: true, ..PrintOpts::default() };
        assert_eq!(Type::InetProto.print(&tcp, &nn), "6");
        assert_eq!(Type::InetProto.parse("icmpv6").unwrap().to_u128(), Some(58));
        assert_eq!(Type::InetProto.parse("comp").unwrap().to_u128(), Some(108));
        assert_eq!(Type::InetProto.parse("256").unwrap_err().message, "Protocol out of range");
        assert!(Type::InetProto.parse("nope").is_err());
        let zero = Type::InetProto.parse("0").unwrap();
        assert_eq!(Type::InetProto.print(&zero, &PrintOpts::default()), "ip");
        let unknown = Type::InetProto.parse("200").unwrap();
        assert_eq!(Type::InetProto.print(&unknown, &PrintOpts::default()), "200");
    }

    #[test]
    fn services() {
        let p = Type::InetService.parse("https").unwrap();
        assert_eq!(p.bytes(), &[0x01, 0xbb]);
        assert_eq!(Type::InetService.print(&p, &PrintOpts::default()), "443");
        let s = PrintOpts { service_names: true, ..PrintOpts::default() };
        assert_eq!(Type::InetService.print(&p, &s), "\"https\"");
        assert_eq!(service_port("ftp-data"), Some(20));
        assert_eq!(service_port("re-mail-ck"), Some(50));
        assert!(Type::InetService.parse("no-such-service").is_err());
    }

    #[test]
    fn embedded_tables_agree_with_the_host_databases() {
        // The host's netbase files are an oracle for our embedded copies (skipped entries
        // are fine; disagreeing ones are not).
        let Ok(text) = std::fs::read_to_string("/etc/protocols") else { return };
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(num)) = (parts.next(), parts.next()) else { continue };
            let Ok(num) = num.parse::<u16>() else { continue };
            if let Some(ours) = protocol_number(name) {
                assert_eq!(u16::from(ours), num, "{name}");
                checked += 1;
            }
        }
        assert!(checked > 40, "only {checked} protocols compared");
        let Ok(text) = std::fs::read_to_string("/etc/services") else { return };
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(port)) = (parts.next(), parts.next()) else { continue };
            let Some((port, proto)) = port.split_once('/') else { continue };
            let Ok(port) = port.parse::<u16>() else { continue };
            if proto != "tcp" && proto != "udp" {
                continue;
            }
            if let Some(ours) = service_port(name) {
                assert_eq!(ours, port, "{name}");
                checked += 1;
            }
        }
        assert!(checked > 80, "only {checked} services compared");
    }
}
