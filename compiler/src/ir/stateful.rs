//! Stateful expressions shared by rules, set declarations/elements and named objects:
//! counters, rate limits, quotas, `last` and `ct count`.

/// `counter [packets N bytes M]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// `limit rate [over] N/unit [burst M packets]` or `limit rate [over] N kbytes/second
/// [burst M bytes]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Packets or bytes per `unit`.
    pub rate: u64,
    /// The period in seconds (1, 60, 3600, 86400, 604800).
    pub unit: u64,
    /// Burst (packets, or bytes for byte limits). nft's default for packet limits is 5.
    pub burst: u32,
    /// Counts bytes instead of packets.
    pub bytes: bool,
    /// `over`: matches when the rate is exceeded.
    pub over: bool,
}

/// Names of limit periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
}

impl LimitUnit {
    pub fn seconds(self) -> u64 {
        match self {
            LimitUnit::Second => 1,
            LimitUnit::Minute => 60,
            LimitUnit::Hour => 3600,
            LimitUnit::Day => 86400,
            LimitUnit::Week => 604800,
        }
    }

    pub fn from_word(word: &str) -> Option<LimitUnit> {
        match word {
            "second" => Some(LimitUnit::Second),
            "minute" => Some(LimitUnit::Minute),
            "hour" => Some(LimitUnit::Hour),
            "day" => Some(LimitUnit::Day),
            "week" => Some(LimitUnit::Week),
            _ => None,
        }
    }

    /// The word for a period in seconds (nft prints "error" for others).
    pub fn word_of(seconds: u64) -> &'static str {
        match seconds {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            86400 => "day",
            604800 => "week",
            _ => "error",
        }
    }
}

/// `quota [over|until] N bytes [used M bytes]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    pub bytes: u64,
    pub used: u64,
    /// `over`: matches once the quota is exceeded.
    pub over: bool,
}

/// `last [used never|<time>]`: when the rule/element last matched (milliseconds ago).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Last {
    pub used: Option<u64>,
}

/// `ct count [over] N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimit {
    pub count: u32,
    pub over: bool,
}
