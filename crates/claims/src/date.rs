//! Claim dates: 和暦 `GYYMM` / `GYYMMDD` (era digit 1 明治 … 5 令和) and 西暦 `YYYYMM` /
//! `YYYYMMDD`, told apart by length (NOTES.md §3), parsed from raw ASCII bytes.
//!
//! The era table is the domain's (`collabo_domain::calendar`). One deliberate leniency:
//! a 和暦 date past the end of its era that still exists arithmetically (平成31年5月1日,
//! written by software not yet updated for 令和) is converted arithmetically instead of
//! refused, as NOTES.md §3 advises. A date before its era's start is still an error.
//! Not here: formatting for letters (the domain does that).

use collabo_domain::calendar::{CalendarError, Era, YearMonth, from_wareki, month_from_wareki};
use jiff::civil::Date;

/// How a claims file writes dates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum DateStyle {
    /// 和暦 `GYYMM` / `GYYMMDD` (specifications before 令和2年).
    Wareki,
    /// 西暦 `YYYYMM` / `YYYYMMDD` (令和2年 specifications onward).
    Seireki,
}

fn digits(raw: &[u8]) -> Option<u32> {
    if raw.is_empty() || raw.len() > 9 {
        return None;
    }
    let mut n: u32 = 0;
    for b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

fn era_of(digit: u32) -> Result<Era, String> {
    u8::try_from(digit)
        .map_err(|_| format!("era digit {digit}"))
        .and_then(|d| Era::from_digit(d).map_err(|e| e.to_string()))
}

/// Parses a service or billing month: 5 digits 和暦 `GYYMM`, 6 digits 西暦 `YYYYMM`.
pub fn parse_month(raw: &[u8]) -> Result<(YearMonth, DateStyle), String> {
    let n = digits(raw).ok_or_else(|| "expected digits GYYMM or YYYYMM".to_owned())?;
    match raw.len() {
        5 => {
            let era = era_of(n / 10_000)?;
            let year = (n / 100 % 100) as i16;
            let month = (n % 100) as i8;
            let ym = match month_from_wareki(era, year, month) {
                Ok(ym) => ym,
                Err(CalendarError::NotInEra { .. }) => arithmetic_month(era, year, month)?,
                Err(e) => return Err(e.to_string()),
            };
            Ok((ym, DateStyle::Wareki))
        }
        6 => {
            let year = (n / 100) as i16;
            let month = (n % 100) as i8;
            if !(1868..=2199).contains(&year) {
                return Err(format!("year {year} out of range"));
            }
            YearMonth::new(year, month)
                .map(|ym| (ym, DateStyle::Seireki))
                .ok_or_else(|| format!("month {month} is not 1–12"))
        }
        n => Err(format!(
            "{n} digits: expected 5 (和暦 GYYMM) or 6 (西暦 YYYYMM)"
        )),
    }
}

/// Parses a day: 7 digits 和暦 `GYYMMDD`, 8 digits 西暦 `YYYYMMDD`.
pub fn parse_date(raw: &[u8]) -> Result<(Date, DateStyle), String> {
    let n = digits(raw).ok_or_else(|| "expected digits GYYMMDD or YYYYMMDD".to_owned())?;
    match raw.len() {
        7 => {
            let era = era_of(n / 1_000_000)?;
            let year = (n / 10_000 % 100) as i16;
            let month = (n / 100 % 100) as i8;
            let day = (n % 100) as i8;
            let date = match from_wareki(era, year, month, day) {
                Ok(d) => d,
                Err(CalendarError::NotInEra { .. }) => arithmetic_date(era, year, month, day)?,
                Err(e) => return Err(e.to_string()),
            };
            Ok((date, DateStyle::Wareki))
        }
        8 => {
            let year = (n / 10_000) as i16;
            let month = (n / 100 % 100) as i8;
            let day = (n % 100) as i8;
            if !(1868..=2199).contains(&year) {
                return Err(format!("year {year} out of range"));
            }
            Date::new(year, month, day)
                .map(|d| (d, DateStyle::Seireki))
                .map_err(|_| format!("{year}-{month:02}-{day:02} does not exist"))
        }
        n => Err(format!(
            "{n} digits: expected 7 (和暦 GYYMMDD) or 8 (西暦 YYYYMMDD)"
        )),
    }
}

/// 平成31年5月 and later: the era ended, the month exists arithmetically.
fn arithmetic_month(era: Era, year: i16, month: i8) -> Result<YearMonth, String> {
    let refuse = || format!("{}{}年{}月 does not exist", era.name(), year, month);
    if year < 1 {
        return Err(refuse());
    }
    let ym = YearMonth::new(era.first_day().year() + year - 1, month).ok_or_else(refuse)?;
    if ym.last_day() < era.first_day() {
        return Err(refuse());
    }
    Ok(ym)
}

fn arithmetic_date(era: Era, year: i16, month: i8, day: i8) -> Result<Date, String> {
    let refuse = || {
        format!(
            "{}{}年{}月{}日 does not exist",
            era.name(),
            year,
            month,
            day
        )
    };
    if year < 1 {
        return Err(refuse());
    }
    let date = Date::new(era.first_day().year() + year - 1, month, day).map_err(|_| refuse())?;
    if date < era.first_day() {
        return Err(refuse());
    }
    Ok(date)
}

/// Writes a month in the given style.
pub fn format_month(month: YearMonth, style: DateStyle) -> String {
    match style {
        DateStyle::Seireki => format!("{:04}{:02}", month.year(), month.month()),
        DateStyle::Wareki => match collabo_domain::calendar::wareki_of(month.last_day()) {
            Ok(w) => format!("{}{:02}{:02}", w.era.digit(), w.year, month.month()),
            Err(_) => format!("{:04}{:02}", month.year(), month.month()),
        },
    }
}

/// Writes a day in the given style.
pub fn format_date(date: Date, style: DateStyle) -> String {
    match style {
        DateStyle::Seireki => format!("{:04}{:02}{:02}", date.year(), date.month(), date.day()),
        DateStyle::Wareki => match collabo_domain::calendar::wareki_of(date) {
            Ok(w) => format!(
                "{}{:02}{:02}{:02}",
                w.era.digit(),
                w.year,
                date.month(),
                date.day()
            ),
            Err(_) => format!("{:04}{:02}{:02}", date.year(), date.month(), date.day()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wareki_and_seireki_are_told_apart_by_length() {
        let (m, s) = parse_month(b"43101").unwrap();
        assert_eq!(
            (m.to_string(), s),
            ("2019-01".to_owned(), DateStyle::Wareki)
        );
        let (m, s) = parse_month(b"202110").unwrap();
        assert_eq!(
            (m.to_string(), s),
            ("2021-10".to_owned(), DateStyle::Seireki)
        );
        let (d, _) = parse_date(b"4070208").unwrap();
        assert_eq!(d, Date::constant(1995, 2, 8));
        let (d, _) = parse_date(b"3560418").unwrap();
        assert_eq!(d, Date::constant(1981, 4, 18));
        let (d, _) = parse_date(b"19911121").unwrap();
        assert_eq!(d, Date::constant(1991, 11, 21));
    }

    #[test]
    fn malformed_dates_are_refused() {
        assert!(parse_month(b"4310").is_err());
        assert!(parse_month(b"43113").is_err());
        assert!(parse_month(b"63101").is_err());
        assert!(parse_month(b"2021AB").is_err());
        assert!(parse_date(b"20210230").is_err());
        assert!(parse_date(b"430229").is_err());
        assert!(parse_date(b"").is_err());
    }

    #[test]
    fn heisei_after_its_end_is_converted_arithmetically() {
        assert_eq!(
            parse_date(b"4310501").unwrap().0,
            Date::constant(2019, 5, 1)
        );
        assert_eq!(parse_month(b"43105").unwrap().0.to_string(), "2019-05");
        // Before the era began is still wrong: 平成1年1月1日 was 昭和64年.
        assert!(parse_date(b"4010101").is_err());
    }

    #[test]
    fn formats_round_trip() {
        let d = Date::constant(2019, 4, 30);
        for style in [DateStyle::Wareki, DateStyle::Seireki] {
            assert_eq!(
                parse_date(format_date(d, style).as_bytes()).unwrap(),
                (d, style)
            );
            let m = YearMonth::of(d);
            assert_eq!(
                parse_month(format_month(m, style).as_bytes()).unwrap(),
                (m, style)
            );
        }
        assert_eq!(format_date(d, DateStyle::Wareki), "4310430");
        assert_eq!(
            format_month(YearMonth::new(2019, 5).unwrap(), DateStyle::Wareki),
            "50105"
        );
    }
}
