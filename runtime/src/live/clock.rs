//! The live packet clock: nanoseconds since the Unix epoch, read from the monotonic clock
//! (so conntrack timeouts are not disturbed when the wall clock is stepped) and anchored to
//! the wall clock once at start.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::conntrack::Time;

/// A monotonic clock in the pipeline's time unit.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
    wall: Time,
}

impl Clock {
    /// A clock reading the wall time now.
    pub fn new() -> Clock {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as Time);
        Clock { origin: Instant::now(), wall }
    }

    /// Now, in nanoseconds since the epoch.
    pub fn now(&self) -> Time {
        self.wall.saturating_add(self.origin.elapsed().as_nanos() as Time)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
