//! Other matches: `comment`, `owner`, `rpfilter`, `socket`, `time`, `tcpmss` (libxt_comment,
//! libxt_owner, libxt_rpfilter, libxt_socket, libxt_time, libxt_tcpmss).

use super::buf::{Xl, xadd};
use super::portproto::range_text;
use super::{NoXlate, XResult};
use crate::iptables::matches::comment::Comment;
use crate::iptables::matches::misc::{Rpfilter, Socket, TcpmssMatch};
use crate::iptables::matches::owner::Owner;
use crate::iptables::matches::time::{ALL_MONTHDAYS, ALL_WEEKDAYS, MAX_DAYTIME, Time, format_date};

/// `NFT_USERDATA_MAXLEN - 1`: the quoted comment is cut to this many bytes.
const COMMENT_MAX: usize = 255;

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub fn comment(c: &Comment, xl: &mut Xl) -> XResult {
    let quoted = format!("\"{}\"", cut(&c.text, COMMENT_MAX));
    xl.set_comment(cut(&quoted, COMMENT_MAX).to_string());
    Ok(())
}

pub fn owner(o: &Owner, xl: &mut Xl) -> XResult {
    let id = |xl: &mut Xl, what: &str, inv: bool, (lo, hi): (u32, u32)| {
        xadd!(xl, "{what}{} ", if inv { " !=" } else { "" });
        xl.add(&range_text(lo, hi));
    };
    match (&o.uid, &o.gid, o.socket_exists, o.suppl_groups) {
        (Some(u), None, None, false) => id(xl, "skuid", u.invert, u.value),
        (None, Some(g), None, false) => id(xl, "skgid", g.invert, g.value),
        _ => {
            return Err(NoXlate::new(
                "owner: only a single --uid-owner or --gid-owner test has an nft translation",
            ));
        }
    }
    Ok(())
}

pub fn rpfilter(r: &Rpfilter, xl: &mut Xl) -> XResult {
    if r.accept_local {
        if r.invert {
            xl.add("fib saddr type != local ");
        } else {
            return Err(NoXlate::new("rpfilter: --accept-local has no nft translation unless inverted"));
        }
    }
    xl.add("fib saddr ");
    if r.validmark {
        xl.add(". mark ");
    }
    if !r.loose {
        xl.add(". iif ");
    }
    xadd!(xl, "oif {}0", if r.invert { "" } else { "!= " });
    Ok(())
}

pub fn socket(s: &Socket, xl: &mut Xl) -> XResult {
    if s.nowildcard && !s.transparent && !s.restore_skmark {
        xl.add("socket wildcard le 1");
        return Ok(());
    }
    if !s.nowildcard {
        xl.add("socket wildcard 0");
    }
    if s.transparent {
        xl.add("socket transparent 1");
    }
    if s.restore_skmark {
        xl.add("meta mark set socket mark");
    }
    Ok(())
}

fn hms(t: u32) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

pub fn time(t: &Time, xl: &mut Xl) -> XResult {
    if t.date_start != 0 || t.date_stop != i32::MAX as u32 {
        xl.add("meta time ");
        xadd!(xl, "\"{}\"", format_date(t.date_start).replace('T', " "));
        xadd!(xl, "-\"{}\"", format_date(t.date_stop).replace('T', " "));
    }
    if t.daytime_start != 0 || t.daytime_stop != MAX_DAYTIME {
        xadd!(xl, " meta hour \"{}\"", hms(t.daytime_start));
        xadd!(xl, "-\"{}\"", hms(t.daytime_stop));
        if t.daytime_start > t.daytime_stop {
            xl.note("iptables-translate keeps a time window that wraps around midnight as an (empty) range; nft needs two ranges");
        }
    }
    if t.monthdays != ALL_MONTHDAYS {
        return Err(NoXlate::new("time: --monthdays has no nft translation"));
    }
    if t.weekdays != ALL_WEEKDAYS {
        let days: Vec<String> =
            (1..=7).filter(|i| t.weekdays & (1 << i) != 0).map(|i| (i % 7).to_string()).collect();
        xl.add(" meta day ");
        if days.len() > 1 {
            xl.add("{");
        }
        for (i, d) in days.iter().enumerate() {
            xadd!(xl, "{}{d}", if i > 0 { ", " } else { "" });
        }
        if days.len() > 1 {
            xl.add("}");
        }
    }
    Ok(())
}

pub fn tcpmss(m: &TcpmssMatch, xl: &mut Xl) -> XResult {
    xadd!(xl, "tcp option maxseg size {}", if m.invert { "!= " } else { "" });
    xl.add(&range_text(m.range.lo, m.range.hi));
    Ok(())
}
