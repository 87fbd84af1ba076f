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

/// The clock of `collabo serve --date DAY`: every instant falls on `day` (Japan time),
/// so today is that day for everything the portal does and records, as for every other
/// command given `--date`. Time of day runs from the real time of day at start (so
/// sessions, locks and throttling age normally) and stops at the day's last second
/// rather than pass into the next day.
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

/// The instant of a clock on `day` started at real `started`, at real `now`.
fn on_fixed_day(
    day: collabo_domain::Date,
    started: jiff::Timestamp,
    now: jiff::Timestamp,
) -> jiff::Timestamp {
    let shifted = collabo_domain::calendar::on_day(day, started);
    let elapsed = now.duration_since(started);
    let at = shifted.checked_add(elapsed).unwrap_or(shifted);
    let last = day
        .tomorrow()
        .ok()
        .and_then(start_of_japan_day)
        .and_then(|t| t.checked_sub(jiff::SignedDuration::from_millis(1)).ok());
    match last {
        Some(last) if at > last => last,
        _ => at,
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> jiff::Timestamp {
        on_fixed_day(self.day, self.started, SystemClock.now())
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
    fn the_day_of_serve_date_never_passes_however_long_the_portal_runs() {
        let day: collabo_domain::Date = "2027-01-05".parse().unwrap();
        let started: jiff::Timestamp = "2026-12-04T13:00:00Z".parse().unwrap(); // 22:00 JST
        let at = |hours: i64| {
            on_fixed_day(
                day,
                started,
                started + jiff::SignedDuration::from_hours(hours),
            )
        };
        assert_eq!(japan_date(at(0)).to_string(), "2027-01-05");
        assert_eq!(
            at(1).duration_since(at(0)),
            jiff::SignedDuration::from_hours(1)
        );
        // Past midnight and a day later it is still that day, at its last instant.
        for hours in [3, 30, 24 * 40] {
            assert_eq!(japan_date(at(hours)).to_string(), "2027-01-05", "{hours} h");
        }
        assert!(at(30) >= at(3), "never runs backwards");
    }

    #[test]
    fn a_shifted_clock_keeps_the_wall_clock_for_totp() {
        let clock = ShiftedClock::new("2020-01-15".parse().unwrap());
        assert_eq!(japan_date(clock.now()).to_string(), "2020-01-15");
        let drift = clock.wall().duration_since(SystemClock.now()).abs();
        assert!(drift.as_secs() < 5, "{drift:?}");
    }
}
