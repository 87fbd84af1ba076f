//! Calendar rules: month arithmetic with clamping, 翌々月末, fiscal years (April–March),
//! service months, and 和暦 (Japanese era) formatting and parsing.
//!
//! The era table is written by hand because no crates.io 和暦 crate is worth a
//! dependency (see shared/CRATES.md §5); it was checked day by day against
//! `icu_calendar`'s Japanese calendar from 1873 to 2035.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Errors of calendar arithmetic and 和暦 parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// A date outside the range the system handles (1868–2199).
    #[error("date out of range")]
    OutOfRange,
    /// An era digit that is not 1–5.
    #[error("unknown era digit {0} (expected 1 明治 … 5 令和)")]
    UnknownEra(u8),
    /// A year number past the end of its era, or a date before its start.
    #[error("{era}{year}年{month}月{day}日 does not exist")]
    NotInEra {
        /// Era name.
        era: &'static str,
        /// Era year.
        year: i16,
        /// Month.
        month: i8,
        /// Day.
        day: i8,
    },
    /// Text that is not a date in the expected shape.
    #[error("not a date: {0:?}")]
    Malformed(String),
}

/// Adds calendar months, clamping to the last day of a shorter month
/// (31 January + 1 month = 28/29 February).
pub fn add_months(date: Date, months: i32) -> Result<Date, CalendarError> {
    date.checked_add(months.months())
        .map_err(|_| CalendarError::OutOfRange)
}

/// The last day of the month `months` after `date`'s month.
/// `end_of_month_after(2026-06-05, 2)` is 2026-08-31 (翌々月末).
pub fn end_of_month_after(date: Date, months: i32) -> Result<Date, CalendarError> {
    Ok(add_months(date.first_of_month(), months)?.last_of_month())
}

/// 翌々月末: the deadline for a cancer-screening referral list, the last day of the
/// second month after the screening month.
pub fn yokuyokugetsumatsu(screening: Date) -> Result<Date, CalendarError> {
    end_of_month_after(screening, 2)
}

/// The 要精密検査 lists due next on `today`: the `n` screening months whose 翌々月末 has
/// not passed, the earliest first, each with its deadline (on 2026-11-24: 令和8年9月
/// 実施分 → 11月30日, 10月実施分 → 12月31日, …).
pub fn referral_deadlines_from(today: Date, n: usize) -> Vec<(YearMonth, Date)> {
    let mut month = YearMonth::of(add_months(today.first_of_month(), -2).unwrap_or(today));
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match yokuyokugetsumatsu(month.first_day()) {
            Ok(due) if due >= today => out.push((month, due)),
            Ok(_) => {}
            Err(_) => break,
        }
        month = month.next();
    }
    out
}

/// A fiscal year (年度), April to March, named by the calendar year it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FiscalYear(i16);

impl FiscalYear {
    /// The fiscal year starting in April of `year`.
    pub const fn new(year: i16) -> Self {
        FiscalYear(year)
    }
    /// The fiscal year a date falls in (2027-03-31 is in FY2026).
    pub fn of(date: Date) -> Self {
        if date.month() >= 4 {
            FiscalYear(date.year())
        } else {
            FiscalYear(date.year() - 1)
        }
    }
    /// The calendar year it starts in.
    pub fn year(self) -> i16 {
        self.0
    }
    /// 1 April of the fiscal year.
    pub fn first_day(self) -> Date {
        Date::constant(self.0, 4, 1)
    }
    /// 31 March of the following calendar year.
    pub fn last_day(self) -> Date {
        Date::constant(self.0 + 1, 3, 31)
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}", self.0)
    }
}

/// A calendar month, such as a claims service month (診療年月).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct YearMonth {
    year: i16,
    month: i8,
}

impl YearMonth {
    /// A month; `None` when `month` is not 1–12.
    pub fn new(year: i16, month: i8) -> Option<Self> {
        (1..=12)
            .contains(&month)
            .then_some(YearMonth { year, month })
    }
    /// The month a date falls in.
    pub fn of(date: Date) -> Self {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }
    /// Year.
    pub fn year(self) -> i16 {
        self.year
    }
    /// Month 1–12.
    pub fn month(self) -> i8 {
        self.month
    }
    /// First day.
    pub fn first_day(self) -> Date {
        Date::constant(self.year, self.month, 1)
    }
    /// Last day.
    pub fn last_day(self) -> Date {
        self.first_day().last_of_month()
    }
    /// The following month.
    pub fn next(self) -> Self {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
    /// Every month from `self` to `last`, both included (empty when `last` is earlier).
    pub fn through(self, last: YearMonth) -> impl Iterator<Item = YearMonth> {
        let mut next = Some(self);
        std::iter::from_fn(move || {
            let current = next?;
            if current > last {
                return None;
            }
            next = Some(current.next());
            Some(current)
        })
    }
    /// Parses `YYYY-MM` or `YYYYMM`.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
        let bad = || CalendarError::Malformed(text.to_owned());
        if digits.len() != 6 {
            return Err(bad());
        }
        let year: i16 = digits[..4].parse().map_err(|_| bad())?;
        let month: i8 = digits[4..].parse().map_err(|_| bad())?;
        YearMonth::new(year, month).ok_or_else(bad)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A Japanese era (元号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 明治, era digit 1.
    Meiji,
    /// 大正, era digit 2.
    Taisho,
    /// 昭和, era digit 3.
    Showa,
    /// 平成, era digit 4.
    Heisei,
    /// 令和, era digit 5.
    Reiwa,
}

/// One row of the era table: era, digit used in claims files, name, first day.
type EraRow = (Era, u8, &'static str, (i16, i8, i8));

/// The era table.
const ERAS: [EraRow; 5] = [
    (Era::Meiji, 1, "明治", (1868, 1, 25)),
    (Era::Taisho, 2, "大正", (1912, 7, 30)),
    (Era::Showa, 3, "昭和", (1926, 12, 25)),
    (Era::Heisei, 4, "平成", (1989, 1, 8)),
    (Era::Reiwa, 5, "令和", (2019, 5, 1)),
];

impl Era {
    fn index(self) -> usize {
        ERAS.iter().position(|e| e.0 == self).unwrap_or(0)
    }
    /// The era's name (令和).
    pub fn name(self) -> &'static str {
        ERAS[self.index()].2
    }
    /// The digit claims files use (1 明治 … 5 令和).
    pub fn digit(self) -> u8 {
        ERAS[self.index()].1
    }
    /// The era of a claims-file digit.
    pub fn from_digit(digit: u8) -> Result<Era, CalendarError> {
        ERAS.iter()
            .find(|e| e.1 == digit)
            .map(|e| e.0)
            .ok_or(CalendarError::UnknownEra(digit))
    }
    /// The era's first day.
    pub fn first_day(self) -> Date {
        let (y, m, d) = ERAS[self.index()].3;
        Date::constant(y, m, d)
    }
    /// The day after the era's last day, if it has ended.
    fn end_exclusive(self) -> Option<Date> {
        ERAS.get(self.index() + 1).map(|e| {
            let (y, m, d) = e.3;
            Date::constant(y, m, d)
        })
    }
}

/// A date told in 和暦: era and era year (1 = 元年).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wareki {
    /// The era.
    pub era: Era,
    /// The year within the era; 1 is 元年.
    pub year: i16,
}

/// The era and era year of a date (from 1868-01-25 on).
pub fn wareki_of(date: Date) -> Result<Wareki, CalendarError> {
    let era = ERAS
        .iter()
        .rev()
        .find(|e| {
            let (y, m, d) = e.3;
            date >= Date::constant(y, m, d)
        })
        .map(|e| e.0)
        .ok_or(CalendarError::OutOfRange)?;
    Ok(Wareki {
        era,
        year: date.year() - era.first_day().year() + 1,
    })
}

/// Formats a date as on a letter: `令和8年11月24日`, with `元年` for year 1.
pub fn format_wareki(date: Date) -> Result<String, CalendarError> {
    let w = wareki_of(date)?;
    let year = if w.year == 1 {
        "元".to_owned()
    } else {
        w.year.to_string()
    };
    Ok(format!(
        "{}{}年{}月{}日",
        w.era.name(),
        year,
        date.month(),
        date.day()
    ))
}

/// Formats a service month as staff read it: `令和8年1月` (the era of its first day).
pub fn format_wareki_month(month: YearMonth) -> String {
    match wareki_of(month.first_day()) {
        Ok(w) if w.year == 1 => format!("{}元年{}月", w.era.name(), month.month()),
        Ok(w) => format!("{}{}年{}月", w.era.name(), w.year, month.month()),
        Err(_) => month.to_string(),
    }
}

/// The date of an era year, month and day; rejects dates outside the era
/// (平成31年5月1日 does not exist: it is 令和元年5月1日).
pub fn from_wareki(era: Era, year: i16, month: i8, day: i8) -> Result<Date, CalendarError> {
    let not_in_era = || CalendarError::NotInEra {
        era: era.name(),
        year,
        month,
        day,
    };
    if year < 1 {
        return Err(not_in_era());
    }
    let gregorian = era.first_day().year() + year - 1;
    let date = Date::new(gregorian, month, day).map_err(|_| not_in_era())?;
    if date < era.first_day() || era.end_exclusive().is_some_and(|end| date >= end) {
        return Err(not_in_era());
    }
    Ok(date)
}

/// The month of an era year and month (claims' `GYYMM`); valid when any day of the
/// month lies in the era (平成31年4月 and 令和元年5月 are both valid, 平成31年5月 is not).
pub fn month_from_wareki(era: Era, year: i16, month: i8) -> Result<YearMonth, CalendarError> {
    let not_in_era = || CalendarError::NotInEra {
        era: era.name(),
        year,
        month,
        day: 1,
    };
    if year < 1 || !(1..=12).contains(&month) {
        return Err(not_in_era());
    }
    let ym = YearMonth::new(era.first_day().year() + year - 1, month).ok_or_else(not_in_era)?;
    if ym.last_day() < era.first_day()
        || era.end_exclusive().is_some_and(|end| ym.first_day() >= end)
    {
        return Err(not_in_era());
    }
    Ok(ym)
}

/// Parses letter-style 和暦 (`令和8年11月24日`, `令和元年5月1日`, full-width digits allowed).
pub fn parse_wareki(text: &str) -> Result<Date, CalendarError> {
    let malformed = || CalendarError::Malformed(text.to_owned());
    let normalised: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect();
    let (era, rest) = ERAS
        .iter()
        .find_map(|e| normalised.strip_prefix(e.2).map(|rest| (e.0, rest)))
        .ok_or_else(malformed)?;
    let (year, rest) = rest.split_once('年').ok_or_else(malformed)?;
    let year: i16 = if year == "元" {
        1
    } else {
        year.parse().map_err(|_| malformed())?
    };
    let (month, rest) = rest.split_once('月').ok_or_else(malformed)?;
    let day = rest.strip_suffix('日').ok_or_else(malformed)?;
    from_wareki(
        era,
        year,
        month.parse().map_err(|_| malformed())?,
        day.parse().map_err(|_| malformed())?,
    )
}

/// Age under 年齢計算ニ関スル法律: the age increases on the day before the birthday.
pub fn age_on(birth: Date, on: Date) -> i16 {
    let Ok(next_day) = on.tomorrow() else {
        return 0;
    };
    let mut age = next_day.year() - birth.year();
    if (next_day.month(), next_day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0)
}

/// The calendar day in Japan (UTC+9, no daylight saving) of an instant: the society's
/// "today".
pub fn japan_date(at: jiff::Timestamp) -> Date {
    jiff::tz::offset(9).to_datetime(at).date()
}

/// Noon in Japan on `date`: the instant used for a day given without a time (a
/// replayed day of the demo, a test).
pub fn japan_noon(date: Date) -> jiff::Timestamp {
    jiff::tz::offset(9)
        .to_timestamp(date.at(12, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The instant `now` moved by whole days so that its Japanese calendar day is `day`
/// (the time of day is kept): how `--date` makes every timestamp of a command fall on
/// the day it names.
pub fn on_day(day: Date, now: jiff::Timestamp) -> jiff::Timestamp {
    let days = (day - japan_date(now)).get_days();
    now.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days)))
        .unwrap_or(now)
}

/// Parses ISO `YYYY-MM-DD`, `YYYYMMDD` or `YYYY/MM/DD`.
pub fn parse_iso(text: &str) -> Result<Date, CalendarError> {
    let malformed = || CalendarError::Malformed(text.to_owned());
    let t = text.trim();
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    if let Some((y, rest)) = t.split_once(['-', '/']) {
        let (m, d) = rest.split_once(['-', '/']).ok_or_else(malformed)?;
        return Date::new(
            y.parse().map_err(|_| malformed())?,
            m.parse().map_err(|_| malformed())?,
            d.parse().map_err(|_| malformed())?,
        )
        .map_err(|_| malformed());
    }
    if digits.len() == 8 && digits.len() == t.len() {
        return Date::new(
            digits[..4].parse().map_err(|_| malformed())?,
            digits[4..6].parse().map_err(|_| malformed())?,
            digits[6..].parse().map_err(|_| malformed())?,
        )
        .map_err(|_| malformed());
    }
    Err(malformed())
}

/// Full-width digits and date punctuation (０-９, ．／－) to ASCII, trimmed.
fn half_width_date(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | '．' | '／' | '－' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            '\u{2212}' | '\u{30FC}' => '-',
            _ => c,
        })
        .collect()
}

/// The era of an abbreviation as office Excel writes it (`H` 平成, `S` 昭和, `R` 令和,
/// `T` 大正, `M` 明治; either case).
fn era_of_letter(letter: char) -> Option<Era> {
    match letter.to_ascii_uppercase() {
        'M' => Some(Era::Meiji),
        'T' => Some(Era::Taisho),
        'S' => Some(Era::Showa),
        'H' => Some(Era::Heisei),
        'R' => Some(Era::Reiwa),
        _ => None,
    }
}

/// Parses an abbreviated 和暦 date: `H4.7.17`, `S35.12.27`, `R8.2.2`, `H04.07.17`,
/// `R8/2/2`, `R8-2-2`, also with the era's name (`平成4.7.17`).
pub fn parse_wareki_short(text: &str) -> Result<Date, CalendarError> {
    let malformed = || CalendarError::Malformed(text.to_owned());
    let t = half_width_date(text);
    let mut chars = t.chars();
    let first = chars.next().ok_or_else(malformed)?;
    let (era, rest) = match era_of_letter(first) {
        Some(era) => (era, chars.as_str()),
        None => ERAS
            .iter()
            .find_map(|e| t.strip_prefix(e.2).map(|rest| (e.0, rest)))
            .ok_or_else(malformed)?,
    };
    let parts: Vec<&str> = rest.split(['.', '/', '-']).collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(malformed());
    };
    let number = |s: &str| -> Result<i16, CalendarError> {
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        s.parse().map_err(|_| malformed())
    };
    let year = if *year == "元" { 1 } else { number(year)? };
    from_wareki(
        era,
        year,
        i8::try_from(number(month)?).map_err(|_| malformed())?,
        i8::try_from(number(day)?).map_err(|_| malformed())?,
    )
}

/// The day an Excel date serial names (days since 1899-12-30, the 1900 date system;
/// a time of day after the decimal point is dropped). Only serials of 1900-03-01 to
/// 2199-12-31 are taken for dates, so a stray number is not read as one.
pub fn from_excel_serial(serial: f64) -> Result<Date, CalendarError> {
    // 61 is 1900-03-01: below it Excel counts its fictitious 1900-02-29.
    if !(61.0..=109_574.0).contains(&serial) {
        return Err(CalendarError::OutOfRange);
    }
    Date::constant(1899, 12, 30)
        .checked_add(jiff::Span::new().days(serial.floor() as i64))
        .map_err(|_| CalendarError::OutOfRange)
}

/// Parses a date as a list or register cell gives it: ISO (`2026-06-05`, `20260605`,
/// `2026/6/5`), letter-style 和暦 (`令和8年6月5日`), abbreviated 和暦 (`R8.6.5`,
/// `H04.07.17`), any of them in full-width digits, or an Excel date serial (`46178`,
/// what a date cell shows once its format is lost). Every reader of lists and
/// registers uses this one function.
pub fn parse_cell_date(text: &str) -> Result<Date, CalendarError> {
    let t = half_width_date(text);
    if t.is_empty() {
        return Err(CalendarError::Malformed(text.to_owned()));
    }
    if let Ok(d) = parse_iso(&t) {
        return Ok(d);
    }
    let starts_with_era = t.chars().next().is_some_and(|c| era_of_letter(c).is_some())
        || ERAS.iter().any(|e| t.starts_with(e.2));
    if starts_with_era {
        if t.contains('年') {
            return parse_wareki(&t);
        }
        return parse_wareki_short(&t);
    }
    // An Excel serial: 2 to 6 digits, perhaps with a fraction (a time of day).
    let (whole, fraction) = t.split_once('.').unwrap_or((&t, "0"));
    if (2..=6).contains(&whole.len())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && let Ok(serial) = t.parse::<f64>()
    {
        return from_excel_serial(serial);
    }
    Err(CalendarError::Malformed(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::constant(y, m, day)
    }

    #[test]
    fn a_shifted_instant_falls_on_the_day_given_and_keeps_its_time() {
        let now: jiff::Timestamp = "2026-12-03T11:47:00Z".parse().unwrap();
        let then = on_day(d(2025, 7, 15), now);
        assert_eq!(japan_date(then), d(2025, 7, 15));
        assert_eq!(
            then.as_second().rem_euclid(86_400),
            now.as_second().rem_euclid(86_400)
        );
    }

    #[test]
    fn january_31_plus_one_month_is_end_of_february() {
        assert_eq!(add_months(d(2026, 1, 31), 1), Ok(d(2026, 2, 28)));
        assert_eq!(add_months(d(2028, 1, 31), 1), Ok(d(2028, 2, 29)));
        assert_eq!(add_months(d(2025, 10, 31), 4), Ok(d(2026, 2, 28)));
    }

    #[test]
    fn yokuyokugetsumatsu_of_june_5_is_august_31() {
        assert_eq!(yokuyokugetsumatsu(d(2026, 6, 5)), Ok(d(2026, 8, 31)));
        assert_eq!(yokuyokugetsumatsu(d(2026, 12, 1)), Ok(d(2027, 2, 28)));
        assert_eq!(yokuyokugetsumatsu(d(2027, 12, 31)), Ok(d(2028, 2, 29)));
    }

    #[test]
    fn fiscal_year_runs_april_to_march() {
        let next = referral_deadlines_from(d(2026, 11, 24), 3);
        assert_eq!(
            next,
            [
                (YearMonth::new(2026, 9).unwrap(), d(2026, 11, 30)),
                (YearMonth::new(2026, 10).unwrap(), d(2026, 12, 31)),
                (YearMonth::new(2026, 11).unwrap(), d(2027, 1, 31)),
            ]
        );
        assert_eq!(
            referral_deadlines_from(d(2026, 12, 1), 1),
            [(YearMonth::new(2026, 10).unwrap(), d(2026, 12, 31))],
            "on the 1st the month before last is past"
        );
        assert_eq!(FiscalYear::of(d(2027, 3, 31)), FiscalYear::new(2026));
        assert_eq!(FiscalYear::of(d(2026, 4, 1)), FiscalYear::new(2026));
        assert_eq!(FiscalYear::new(2026).last_day(), d(2027, 3, 31));
    }

    #[test]
    fn a_service_month_reads_in_wareki() {
        let ym = |y, m| YearMonth::new(y, m).unwrap();
        assert_eq!(format_wareki_month(ym(2026, 1)), "令和8年1月");
        assert_eq!(format_wareki_month(ym(2019, 5)), "令和元年5月");
        assert_eq!(format_wareki_month(ym(2019, 4)), "平成31年4月");
    }

    #[test]
    fn era_boundaries_and_gannen() {
        assert_eq!(
            format_wareki(d(2026, 11, 24)).as_deref(),
            Ok("令和8年11月24日")
        );
        assert_eq!(
            format_wareki(d(2019, 5, 1)).as_deref(),
            Ok("令和元年5月1日")
        );
        assert_eq!(
            format_wareki(d(2019, 4, 30)).as_deref(),
            Ok("平成31年4月30日")
        );
        assert_eq!(
            format_wareki(d(1989, 1, 7)).as_deref(),
            Ok("昭和64年1月7日")
        );
        assert_eq!(
            format_wareki(d(1989, 1, 8)).as_deref(),
            Ok("平成元年1月8日")
        );
        assert_eq!(
            format_wareki(d(1926, 12, 24)).as_deref(),
            Ok("大正15年12月24日")
        );
        assert_eq!(
            format_wareki(d(1912, 7, 29)).as_deref(),
            Ok("明治45年7月29日")
        );
        assert_eq!(
            format_wareki(d(1912, 7, 30)).as_deref(),
            Ok("大正元年7月30日")
        );
    }

    #[test]
    fn heisei_31_may_does_not_exist() {
        assert!(from_wareki(Era::Heisei, 31, 5, 1).is_err());
        assert_eq!(from_wareki(Era::Reiwa, 1, 5, 1), Ok(d(2019, 5, 1)));
        assert!(month_from_wareki(Era::Heisei, 31, 5).is_err());
        assert!(month_from_wareki(Era::Heisei, 31, 4).is_ok());
        assert!(parse_wareki("平成31年5月1日").is_err());
        assert_eq!(parse_wareki("令和元年5月1日"), Ok(d(2019, 5, 1)));
        assert_eq!(parse_wareki("令和８年１１月２４日"), Ok(d(2026, 11, 24)));
    }

    #[test]
    fn legal_age_increases_the_day_before_the_birthday() {
        assert_eq!(age_on(d(1985, 4, 1), d(2026, 3, 31)), 41);
        assert_eq!(age_on(d(1985, 4, 2), d(2026, 3, 31)), 40);
    }

    #[test]
    fn months_through() {
        let months: Vec<_> = YearMonth::parse("2026-11")
            .unwrap()
            .through(YearMonth::parse("202602").unwrap())
            .collect();
        assert!(months.is_empty());
        let months: Vec<_> = YearMonth::parse("2026-11")
            .unwrap()
            .through(YearMonth::parse("202702").unwrap())
            .map(|m| m.to_string())
            .collect();
        assert_eq!(months, ["2026-11", "2026-12", "2027-01", "2027-02"]);
    }

    #[test]
    fn abbreviated_wareki_as_office_excel_writes_it() {
        assert_eq!(parse_cell_date("H4.7.17"), Ok(d(1992, 7, 17)));
        assert_eq!(parse_cell_date("S35.12.27"), Ok(d(1960, 12, 27)));
        assert_eq!(parse_cell_date("R8.2.2"), Ok(d(2026, 2, 2)));
        assert_eq!(parse_cell_date("H04.07.17"), Ok(d(1992, 7, 17)));
        assert_eq!(parse_cell_date("h4/7/17"), Ok(d(1992, 7, 17)));
        assert_eq!(parse_cell_date("Ｈ４．７．１７"), Ok(d(1992, 7, 17)));
        assert_eq!(parse_cell_date("T15.12.24"), Ok(d(1926, 12, 24)));
        assert_eq!(parse_cell_date("M45.7.29"), Ok(d(1912, 7, 29)));
        assert_eq!(parse_cell_date("平成4.7.17"), Ok(d(1992, 7, 17)));
        assert_eq!(parse_cell_date("R元.5.1"), Ok(d(2019, 5, 1)));
        assert_eq!(parse_cell_date("令和８年２月２日"), Ok(d(2026, 2, 2)));
        assert_eq!(parse_cell_date("２０２６－０２－０２"), Ok(d(2026, 2, 2)));
    }

    #[test]
    fn an_abbreviated_date_outside_its_era_or_malformed_is_refused() {
        assert!(parse_cell_date("H31.5.1").is_err());
        assert!(parse_cell_date("R8.13.1").is_err());
        assert!(parse_cell_date("H4.7").is_err());
        assert!(parse_cell_date("X4.7.17").is_err());
        assert!(parse_cell_date("H4.7.17.1").is_err());
        assert!(parse_cell_date("").is_err());
    }

    #[test]
    fn an_excel_serial_is_a_day_since_1899_12_30() {
        assert_eq!(parse_cell_date("46055"), Ok(d(2026, 2, 2)));
        assert_eq!(parse_cell_date("33802"), Ok(d(1992, 7, 17)));
        assert_eq!(parse_cell_date("46055.5"), Ok(d(2026, 2, 2)));
        assert_eq!(from_excel_serial(61.0), Ok(d(1900, 3, 1)));
        assert!(parse_cell_date("7").is_err());
        assert!(parse_cell_date("1234567").is_err());
    }

    proptest::proptest! {
        #[test]
        fn wareki_round_trips(days in 0i32..60_000) {
            let date = d(1873, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            let text = format_wareki(date).unwrap();
            proptest::prop_assert_eq!(parse_wareki(&text), Ok(date));
        }

        #[test]
        fn deadline_is_a_month_end_after_the_screening(days in 0i32..20_000) {
            let date = d(2000, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            let due = yokuyokugetsumatsu(date).unwrap();
            proptest::prop_assert_eq!(due, due.last_of_month());
            proptest::prop_assert!(due > date);
            proptest::prop_assert!(due <= add_months(date, 3).unwrap().last_of_month());
        }
    }
}
