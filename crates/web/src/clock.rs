//! Where "now" comes from. The portal reads the system clock only in [`SystemClock`];
//! tests use [`FixedClock`] and move it forward (lockout expiry, throttling delays,
//! TOTP windows).
//!
//! Two instants: [`Clock::now`] is the portal's time (shifted to another day by
//! `collabo serve --date`), used for sessions, locks, throttling and every record;
//! [`Clock::wall`] is the real time the user's authenticator app also reads, used only
//! to check TOTP codes.

use std::sync::Mutex;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// Now, as the portal counts it.
    fn now(&self) -> jiff::Timestamp;
    /// The wall-clock time (for TOTP codes); the same as [`Clock::now`] unless the
    /// clock is shifted.
    fn wall(&self) -> jiff::Timestamp {
        self.now()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place the portal reads the clock.
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// The real clock moved to another calendar day (`collabo serve --date`): time runs,
/// but every instant falls on `day` (then the days after it).
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    day: collabo_domain::Date,
    started: jiff::Timestamp,
}

impl ShiftedClock {
    /// A clock whose today is `day` now.
    pub fn new(day: collabo_domain::Date) -> ShiftedClock {
        ShiftedClock {
            day,
            started: SystemClock.now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> jiff::Timestamp {
        let shifted = collabo_domain::calendar::on_day(self.day, self.started);
        let elapsed = SystemClock.now().duration_since(self.started);
        shifted.checked_add(elapsed).unwrap_or(shifted)
    }
    fn wall(&self) -> jiff::Timestamp {
        SystemClock.now()
    }
}

/// A clock that stands still until moved (tests).
#[derive(Debug)]
pub struct FixedClock(Mutex<jiff::Timestamp>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: jiff::Timestamp) -> FixedClock {
        FixedClock(Mutex::new(at))
    }
    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        if let Ok(mut t) = self.0.lock()
            && let Ok(next) = t.checked_add(jiff::SignedDuration::from_secs(seconds))
        {
            *t = next;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// The calendar day in Japan (UTC+9, no daylight saving) of an instant.
pub fn japan_date(at: jiff::Timestamp) -> collabo_domain::Date {
    collabo_domain::calendar::japan_date(at)
}

/// Midnight in Japan at the start of `date` (a date-range filter's bound).
pub fn start_of_japan_day(date: collabo_domain::Date) -> Option<jiff::Timestamp> {
    jiff::tz::offset(9).to_timestamp(date.at(0, 0, 0, 0)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_keeps_the_wall_clock_for_totp() {
        let clock = ShiftedClock::new("2020-01-15".parse().unwrap());
        assert_eq!(japan_date(clock.now()).to_string(), "2020-01-15");
        let drift = clock.wall().duration_since(SystemClock.now()).abs();
        assert!(drift.as_secs() < 5, "{drift:?}");
    }
}
