//! Claims completeness: when a service month's claims are all in.
//!
//! A 健保組合 receives its claims from the 支払基金 in separate streams — 医科, DPC,
//! 歯科 and 調剤 — each as its own file (sometimes split over several volumes). A
//! service month is complete only when every stream the society expects has arrived
//! whole for it: a multi-volume set only with its final volume (GO `99`), a file whose
//! claims are all 月遅れ (older months) never completing the month it was billed for.
//! Staff may close a stream for a month by hand (no claims of that kind that month) and
//! reopen it, with a reason. The engine's claims-lag gate reads only complete months
//! ([`ClaimsLedger::coverage`]): a 未受診 decision taken on an incomplete month would
//! send a re-notice to someone whose visit is simply not loaded yet (SPEC "Claims lag").
//!
//! Everything here is a pure function of the recorded arrivals and manual actions;
//! storing them is the store's job, reading files the claims crate's.

use crate::calendar::{YearMonth, format_wareki_month};
use crate::visit::ClaimsCoverage;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A stream of claims files the society receives per service month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClaimStream {
    /// 医科 (出来高), `RECEIPTC.UKE`.
    Medical,
    /// DPC (入院包括), `RECEIPTD.UKE`.
    Dpc,
    /// 歯科.
    Dental,
    /// 調剤.
    Pharmacy,
}

impl ClaimStream {
    /// Every stream, in display order (the default expectation).
    pub const ALL: [ClaimStream; 4] = [
        ClaimStream::Medical,
        ClaimStream::Dpc,
        ClaimStream::Dental,
        ClaimStream::Pharmacy,
    ];
    /// Stable code (stored, and accepted by the CLI).
    pub fn code(self) -> &'static str {
        match self {
            ClaimStream::Medical => "medical",
            ClaimStream::Dpc => "dpc",
            ClaimStream::Dental => "dental",
            ClaimStream::Pharmacy => "pharmacy",
        }
    }
    /// Japanese label: 医科, DPC, 歯科, 調剤.
    pub fn label(self) -> &'static str {
        match self {
            ClaimStream::Medical => "医科",
            ClaimStream::Dpc => "DPC",
            ClaimStream::Dental => "歯科",
            ClaimStream::Pharmacy => "調剤",
        }
    }
    /// From the code or the Japanese label.
    pub fn parse(text: &str) -> Option<ClaimStream> {
        let t = text.trim();
        ClaimStream::ALL
            .into_iter()
            .find(|s| s.code().eq_ignore_ascii_case(t) || s.label().eq_ignore_ascii_case(t))
    }
    /// A list written `medical,dpc` or `医科・DPC` (commas, 、 or ・).
    pub fn parse_list(text: &str) -> Result<BTreeSet<ClaimStream>, String> {
        let mut out = BTreeSet::new();
        for part in text
            .split([',', '、', '・', ' '])
            .filter(|p| !p.trim().is_empty())
        {
            out.insert(ClaimStream::parse(part).ok_or_else(|| {
                format!("{part:?} is not a claims stream (medical, dpc, dental, pharmacy)")
            })?);
        }
        if out.is_empty() {
            return Err("at least one claims stream is expected".to_owned());
        }
        Ok(out)
    }
    /// `医科・DPC・歯科・調剤` for a set of streams.
    pub fn join_labels<'a>(streams: impl IntoIterator<Item = &'a ClaimStream>) -> String {
        streams
            .into_iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join("・")
    }
}

impl fmt::Display for ClaimStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a file lies in its multi-volume set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// 0 for a single-volume file, else the volume number (1 = first).
    pub number: u16,
    /// The file ends the set (GO マルチボリューム識別情報 `99`).
    pub final_volume: bool,
}

impl Volume {
    /// A file that is the whole set.
    pub const SINGLE: Volume = Volume {
        number: 0,
        final_volume: true,
    };
}

/// One claims file as it arrived, reduced to what completeness needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamArrival {
    /// Which stream.
    pub stream: ClaimStream,
    /// The file's regular service month (請求年月 − 1).
    pub month: YearMonth,
    /// Its place in a multi-volume set.
    pub volume: Volume,
    /// Claims of `month` itself in the file (not 月遅れ).
    pub regular_claims: u64,
    /// The day it was imported.
    pub arrived_on: Date,
    /// The file name, for messages.
    pub file: String,
}

/// A manual close or reopen of one stream for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthAction {
    /// Which stream.
    pub stream: ClaimStream,
    /// Which service month.
    pub month: YearMonth,
    /// Closed (true) or reopened (false).
    pub close: bool,
    /// Why (required).
    pub reason: String,
    /// Who.
    pub by: String,
    /// On which day.
    pub on: Date,
}

/// Why a volume cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeProblem {
    /// A later volume came before an earlier one.
    #[error(
        "{stream} {month}: volume {volume} arrived without volume {missing} (import the volumes in order)"
    )]
    MissingEarlier {
        /// Stream.
        stream: ClaimStream,
        /// Month.
        month: YearMonth,
        /// The volume offered.
        volume: u16,
        /// The first earlier volume not imported.
        missing: u16,
    },
    /// The set already ended with a final volume numbered lower.
    #[error(
        "{stream} {month}: volume {volume} is beyond the stated total of {total} (volume {total} was the final one)"
    )]
    BeyondTotal {
        /// Stream.
        stream: ClaimStream,
        /// Month.
        month: YearMonth,
        /// The volume offered.
        volume: u16,
        /// The number of the final volume already imported.
        total: u16,
    },
    /// The same volume number came in another file.
    #[error("{stream} {month}: volume {volume} was already imported from {file}")]
    Duplicate {
        /// Stream.
        stream: ClaimStream,
        /// Month.
        month: YearMonth,
        /// The volume offered.
        volume: u16,
        /// The earlier file.
        file: String,
    },
}

/// Checks that a new file may join its stream's volume set for its month: volume k
/// needs volumes 1 … k−1, may not exceed a final volume already in, and may not repeat
/// a volume number. A single-volume file is always accepted.
pub fn check_volume(existing: &[StreamArrival], new: &StreamArrival) -> Result<(), VolumeProblem> {
    let k = new.volume.number;
    if k == 0 {
        return Ok(());
    }
    let set: Vec<&StreamArrival> = existing
        .iter()
        .filter(|a| a.stream == new.stream && a.month == new.month && a.volume.number > 0)
        .collect();
    let (stream, month) = (new.stream, new.month);
    if let Some(same) = set.iter().find(|a| a.volume.number == k) {
        return Err(VolumeProblem::Duplicate {
            stream,
            month,
            volume: k,
            file: same.file.clone(),
        });
    }
    if let Some(total) = set
        .iter()
        .filter(|a| a.volume.final_volume)
        .map(|a| a.volume.number)
        .min()
        && k > total
    {
        return Err(VolumeProblem::BeyondTotal {
            stream,
            month,
            volume: k,
            total,
        });
    }
    if new.volume.final_volume
        && let Some(later) = set.iter().map(|a| a.volume.number).filter(|n| *n > k).max()
    {
        return Err(VolumeProblem::BeyondTotal {
            stream,
            month,
            volume: later,
            total: k,
        });
    }
    let have: BTreeSet<u16> = set.iter().map(|a| a.volume.number).collect();
    if let Some(missing) = (1..k).find(|n| !have.contains(n)) {
        return Err(VolumeProblem::MissingEarlier {
            stream,
            month,
            volume: k,
            missing,
        });
    }
    Ok(())
}

/// How one stream stands for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamStatus {
    /// Arrived whole (the single file, or every volume through the final one).
    Arrived {
        /// The day the set became whole.
        since: Date,
    },
    /// Closed by hand: no claims of this kind that month.
    ClosedByHand {
        /// The day it was closed.
        since: Date,
        /// Why.
        reason: String,
    },
    /// Some volumes are in, the final one is not.
    Partial {
        /// The volumes imported.
        volumes: Vec<u16>,
    },
    /// Files billed for this month arrived, but none held a claim of the month itself
    /// (only 月遅れ claims of older months).
    LateOnly,
    /// Nothing yet.
    Missing,
}

impl StreamStatus {
    /// Counts towards a complete month.
    pub fn is_in(&self) -> bool {
        matches!(
            self,
            StreamStatus::Arrived { .. } | StreamStatus::ClosedByHand { .. }
        )
    }
    /// Japanese wording for staff.
    pub fn label(&self) -> String {
        match self {
            StreamStatus::Arrived { .. } => "取込済".to_owned(),
            StreamStatus::ClosedByHand { .. } => "手動確定（請求なし）".to_owned(),
            StreamStatus::Partial { volumes } => format!(
                "分割の途中（第{}巻まで・最終巻未着）",
                volumes.iter().max().copied().unwrap_or(0)
            ),
            StreamStatus::LateOnly => "月遅れ分のみ（当月分未着）".to_owned(),
            StreamStatus::Missing => "未着".to_owned(),
        }
    }
    /// The day it counted as in, if it does.
    pub fn since(&self) -> Option<Date> {
        match self {
            StreamStatus::Arrived { since } | StreamStatus::ClosedByHand { since, .. } => {
                Some(*since)
            }
            _ => None,
        }
    }
}

/// One month as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCoverage {
    /// The service month.
    pub month: YearMonth,
    /// Each expected stream (and any other that arrived), with its status.
    pub streams: BTreeMap<ClaimStream, StreamStatus>,
    /// Every expected stream is in.
    pub complete: bool,
}

impl MonthCoverage {
    /// The expected streams that are not in yet.
    pub fn missing(&self, expected: &BTreeSet<ClaimStream>) -> Vec<ClaimStream> {
        expected
            .iter()
            .filter(|s| !self.streams.get(s).is_some_and(StreamStatus::is_in))
            .copied()
            .collect()
    }
}

/// Everything known about claims arrivals: which streams are expected, what arrived,
/// what staff closed or reopened.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClaimsLedger {
    /// The streams the society receives (its settings; all four by default).
    pub expected: BTreeSet<ClaimStream>,
    /// Files as they arrived.
    pub arrivals: Vec<StreamArrival>,
    /// Manual closes and reopens, oldest first.
    pub actions: Vec<MonthAction>,
}

impl ClaimsLedger {
    /// A ledger expecting these streams.
    pub fn new(expected: BTreeSet<ClaimStream>) -> Self {
        ClaimsLedger {
            expected,
            arrivals: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Whether the stream's files for the month form a whole set, and since when.
    fn arrived(&self, stream: ClaimStream, month: YearMonth) -> StreamStatus {
        let files: Vec<&StreamArrival> = self
            .arrivals
            .iter()
            .filter(|a| a.stream == stream && a.month == month)
            .collect();
        if files.is_empty() {
            return StreamStatus::Missing;
        }
        let mut best: Option<Date> = None;
        let mut keep = |on: Date| best = Some(best.map_or(on, |b: Date| b.min(on)));
        // A single-volume file with claims of the month.
        for a in files.iter().filter(|a| a.volume.number == 0) {
            if a.volume.final_volume && a.regular_claims > 0 {
                keep(a.arrived_on);
            }
        }
        // A multi-volume set: volumes 1 … f, f final, claims of the month in some volume.
        let volumes: BTreeMap<u16, &StreamArrival> = files
            .iter()
            .filter(|a| a.volume.number > 0)
            .map(|a| (a.volume.number, *a))
            .collect();
        if let Some(last) = volumes
            .values()
            .filter(|a| a.volume.final_volume)
            .map(|a| a.volume.number)
            .min()
        {
            let set: Vec<&&StreamArrival> = (1..=last).filter_map(|n| volumes.get(&n)).collect();
            let whole = set.len() == usize::from(last);
            let claims: u64 = set.iter().map(|a| a.regular_claims).sum();
            if whole
                && claims > 0
                && let Some(on) = set.iter().map(|a| a.arrived_on).max()
            {
                keep(on);
            }
        }
        if let Some(since) = best {
            return StreamStatus::Arrived { since };
        }
        if !volumes.is_empty() && !volumes.values().any(|a| a.volume.final_volume) {
            return StreamStatus::Partial {
                volumes: volumes.keys().copied().collect(),
            };
        }
        if volumes.values().any(|a| a.volume.final_volume) {
            // Final volume in but an earlier one missing, or no claim of the month.
            let have: Vec<u16> = volumes.keys().copied().collect();
            let last = have.iter().max().copied().unwrap_or(0);
            if have.len() < usize::from(last) {
                return StreamStatus::Partial { volumes: have };
            }
        }
        StreamStatus::LateOnly
    }

    /// The last manual action on a stream and month.
    fn last_action(&self, stream: ClaimStream, month: YearMonth) -> Option<&MonthAction> {
        self.actions
            .iter()
            .rev()
            .find(|a| a.stream == stream && a.month == month)
    }

    /// How a stream stands for a month (an arrival beats a manual close).
    pub fn status(&self, stream: ClaimStream, month: YearMonth) -> StreamStatus {
        let arrived = self.arrived(stream, month);
        if arrived.is_in() {
            return arrived;
        }
        match self.last_action(stream, month) {
            Some(a) if a.close => StreamStatus::ClosedByHand {
                since: a.on,
                reason: a.reason.clone(),
            },
            _ => arrived,
        }
    }

    /// Every expected stream is in for the month.
    pub fn is_complete(&self, month: YearMonth) -> bool {
        !self.expected.is_empty() && self.expected.iter().all(|s| self.status(*s, month).is_in())
    }

    /// The months any file or action is about, oldest first.
    pub fn months(&self) -> BTreeSet<YearMonth> {
        self.arrivals
            .iter()
            .map(|a| a.month)
            .chain(self.actions.iter().map(|a| a.month))
            .collect()
    }

    /// The complete months: what the engine's claims-lag gate may rely on.
    pub fn coverage(&self) -> ClaimsCoverage {
        ClaimsCoverage::new(self.months().into_iter().filter(|m| self.is_complete(*m)))
    }

    /// One month as staff see it.
    pub fn month(&self, month: YearMonth) -> MonthCoverage {
        let mut streams: BTreeMap<ClaimStream, StreamStatus> = self
            .expected
            .iter()
            .map(|s| (*s, self.status(*s, month)))
            .collect();
        for a in self.arrivals.iter().filter(|a| a.month == month) {
            streams
                .entry(a.stream)
                .or_insert_with(|| self.status(a.stream, month));
        }
        MonthCoverage {
            month,
            complete: self.is_complete(month),
            streams,
        }
    }

    /// Every month known, oldest first.
    pub fn table(&self) -> Vec<MonthCoverage> {
        self.months().into_iter().map(|m| self.month(m)).collect()
    }

    /// The last month through which every month is complete, counted from the first
    /// complete month: the claims staff can rely on without a gap.
    pub fn complete_through(&self) -> Option<YearMonth> {
        let months = self.months();
        let mut through = None;
        let first = months.iter().copied().find(|m| self.is_complete(*m))?;
        let last = months.iter().next_back().copied()?;
        for m in first.through(last) {
            if !self.is_complete(m) {
                break;
            }
            through = Some(m);
        }
        through
    }

    /// Whether staff may close a stream for a month by hand: it must be expected, not
    /// in already, not half-way through a volume set, and the month must be over.
    pub fn may_close(
        &self,
        stream: ClaimStream,
        month: YearMonth,
        today: Date,
    ) -> Result<(), CloseProblem> {
        if !self.expected.contains(&stream) {
            return Err(CloseProblem::NotExpected(stream));
        }
        if month.last_day() >= today {
            return Err(CloseProblem::MonthNotOver(month));
        }
        match self.status(stream, month) {
            StreamStatus::Arrived { .. } => Err(CloseProblem::AlreadyArrived(stream, month)),
            StreamStatus::ClosedByHand { .. } => Err(CloseProblem::AlreadyClosed(stream, month)),
            StreamStatus::Partial { volumes } => {
                Err(CloseProblem::VolumesPending(stream, month, volumes))
            }
            StreamStatus::LateOnly | StreamStatus::Missing => Ok(()),
        }
    }

    /// Whether staff may reopen a stream for a month: only a month they closed by hand.
    pub fn may_reopen(&self, stream: ClaimStream, month: YearMonth) -> Result<(), CloseProblem> {
        match self.status(stream, month) {
            StreamStatus::ClosedByHand { .. } => Ok(()),
            _ => Err(CloseProblem::NotClosed(stream, month)),
        }
    }

    /// The one line for the staff dashboard:
    /// 「レセプト取込済: 令和8年1月診療分まで（医科・DPC・歯科・調剤）」.
    pub fn headline(&self) -> String {
        let streams = ClaimStream::join_labels(&self.expected);
        match self.complete_through() {
            Some(m) => format!(
                "レセプト取込済: {}診療分まで（{streams}）",
                format_wareki_month(m)
            ),
            None => format!("レセプト取込済: 完了した診療月はまだありません（{streams}）"),
        }
    }

    /// The months after [`ClaimsLedger::complete_through`] that are not complete, with
    /// the streams they still wait for.
    pub fn pending(&self) -> Vec<(YearMonth, Vec<ClaimStream>)> {
        let after = self.complete_through();
        self.table()
            .into_iter()
            .filter(|m| !m.complete && after.is_none_or(|a| m.month > a))
            .map(|m| {
                let missing = m.missing(&self.expected);
                (m.month, missing)
            })
            .collect()
    }
}

/// Why a manual close or reopen is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseProblem {
    /// The society does not expect this stream.
    NotExpected(ClaimStream),
    /// The month has not ended.
    MonthNotOver(YearMonth),
    /// The stream arrived already.
    AlreadyArrived(ClaimStream, YearMonth),
    /// Closed already.
    AlreadyClosed(ClaimStream, YearMonth),
    /// A multi-volume set is half in.
    VolumesPending(ClaimStream, YearMonth, Vec<u16>),
    /// Reopen of a month not closed by hand.
    NotClosed(ClaimStream, YearMonth),
}

impl fmt::Display for CloseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = |m: &YearMonth| format_wareki_month(*m);
        match self {
            CloseProblem::NotExpected(s) => write!(
                f,
                "{s} は受け取る請求の種類に含まれていません（設定を確認してください）"
            ),
            CloseProblem::MonthNotOver(month) => {
                write!(f, "{} は終わっていないため確定できません", m(month))
            }
            CloseProblem::AlreadyArrived(s, month) => write!(f, "{}の{s}は取込済です", m(month)),
            CloseProblem::AlreadyClosed(s, month) => {
                write!(f, "{}の{s}はすでに手動で確定されています", m(month))
            }
            CloseProblem::VolumesPending(s, month, volumes) => write!(
                f,
                "{}の{s}は分割ファイルの途中です（取込済: 第{}巻）。最終巻を取り込んでください",
                m(month),
                volumes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join("・")
            ),
            CloseProblem::NotClosed(s, month) => {
                write!(f, "{}の{s}は手動で確定されていません", m(month))
            }
        }
    }
}

impl std::error::Error for CloseProblem {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(y: i16, m: i8) -> YearMonth {
        YearMonth::new(y, m).unwrap()
    }
    fn day(y: i16, m: i8, d: i8) -> Date {
        Date::constant(y, m, d)
    }
    fn arrival(
        stream: ClaimStream,
        month: YearMonth,
        volume: Volume,
        claims: u64,
    ) -> StreamArrival {
        StreamArrival {
            stream,
            month,
            volume,
            regular_claims: claims,
            arrived_on: day(2026, 1, 5),
            file: format!("{}-{}", stream.code(), volume.number),
        }
    }
    fn vol(number: u16, final_volume: bool) -> Volume {
        Volume {
            number,
            final_volume,
        }
    }
    fn all() -> ClaimsLedger {
        ClaimsLedger::new(ClaimStream::ALL.into_iter().collect())
    }

    #[test]
    fn a_month_with_only_medical_is_not_complete_when_four_streams_are_expected() {
        let mut l = all();
        l.arrivals.push(arrival(
            ClaimStream::Medical,
            ym(2025, 11),
            Volume::SINGLE,
            900,
        ));
        assert!(!l.is_complete(ym(2025, 11)));
        assert!(l.coverage().missing(day(2025, 11, 1), day(2025, 11, 30)) == vec![ym(2025, 11)]);
        for s in [ClaimStream::Dpc, ClaimStream::Dental] {
            l.arrivals.push(arrival(s, ym(2025, 11), Volume::SINGLE, 3));
        }
        assert!(!l.is_complete(ym(2025, 11)), "調剤 still missing");
        l.arrivals.push(arrival(
            ClaimStream::Pharmacy,
            ym(2025, 11),
            Volume::SINGLE,
            40,
        ));
        assert!(l.is_complete(ym(2025, 11)));
        assert!(l.coverage().covers(day(2025, 11, 1), day(2025, 11, 30)));
    }

    #[test]
    fn a_dpc_only_month_is_not_complete() {
        let mut l = all();
        l.arrivals
            .push(arrival(ClaimStream::Dpc, ym(2025, 11), Volume::SINGLE, 1));
        assert!(!l.is_complete(ym(2025, 11)));
        assert_eq!(
            l.month(ym(2025, 11)).missing(&l.expected),
            vec![
                ClaimStream::Medical,
                ClaimStream::Dental,
                ClaimStream::Pharmacy
            ]
        );
    }

    #[test]
    fn a_set_is_in_only_with_its_final_volume() {
        let mut l = ClaimsLedger::new([ClaimStream::Medical].into());
        l.arrivals.push(arrival(
            ClaimStream::Medical,
            ym(2025, 11),
            vol(1, false),
            500,
        ));
        assert_eq!(
            l.status(ClaimStream::Medical, ym(2025, 11)),
            StreamStatus::Partial { volumes: vec![1] }
        );
        assert!(!l.is_complete(ym(2025, 11)));
        let mut second = arrival(ClaimStream::Medical, ym(2025, 11), vol(2, true), 400);
        second.arrived_on = day(2026, 1, 9);
        l.arrivals.push(second);
        assert_eq!(
            l.status(ClaimStream::Medical, ym(2025, 11)),
            StreamStatus::Arrived {
                since: day(2026, 1, 9)
            }
        );
        assert!(l.is_complete(ym(2025, 11)));
    }

    #[test]
    fn a_late_only_file_never_completes_a_month() {
        let mut l = ClaimsLedger::new([ClaimStream::Medical].into());
        l.arrivals.push(arrival(
            ClaimStream::Medical,
            ym(2025, 11),
            Volume::SINGLE,
            0,
        ));
        assert_eq!(
            l.status(ClaimStream::Medical, ym(2025, 11)),
            StreamStatus::LateOnly
        );
        assert!(!l.is_complete(ym(2025, 11)));
        assert!(
            l.may_close(ClaimStream::Medical, ym(2025, 11), day(2026, 1, 20))
                .is_ok()
        );
    }

    #[test]
    fn a_month_closed_by_hand_counts_until_reopened() {
        let mut l = all();
        for s in [
            ClaimStream::Medical,
            ClaimStream::Dpc,
            ClaimStream::Pharmacy,
        ] {
            l.arrivals.push(arrival(s, ym(2025, 11), Volume::SINGLE, 5));
        }
        let today = day(2026, 1, 20);
        assert!(l.may_reopen(ClaimStream::Dental, ym(2025, 11)).is_err());
        l.may_close(ClaimStream::Dental, ym(2025, 11), today)
            .unwrap();
        let action = |close| MonthAction {
            stream: ClaimStream::Dental,
            month: ym(2025, 11),
            close,
            reason: "歯科の請求なし".into(),
            by: "staff1".into(),
            on: today,
        };
        l.actions.push(action(true));
        assert!(l.is_complete(ym(2025, 11)));
        assert_eq!(
            l.may_close(ClaimStream::Dental, ym(2025, 11), today),
            Err(CloseProblem::AlreadyClosed(
                ClaimStream::Dental,
                ym(2025, 11)
            ))
        );
        l.may_reopen(ClaimStream::Dental, ym(2025, 11)).unwrap();
        l.actions.push(action(false));
        assert!(!l.is_complete(ym(2025, 11)));
        // A file arriving later beats the manual state either way.
        l.arrivals.push(arrival(
            ClaimStream::Dental,
            ym(2025, 11),
            Volume::SINGLE,
            2,
        ));
        assert!(l.is_complete(ym(2025, 11)));
    }

    #[test]
    fn closing_is_refused_for_an_arrived_stream_an_unended_month_or_a_pending_set() {
        let mut l = ClaimsLedger::new([ClaimStream::Medical, ClaimStream::Dental].into());
        l.arrivals.push(arrival(
            ClaimStream::Medical,
            ym(2025, 11),
            vol(1, false),
            5,
        ));
        let today = day(2025, 12, 10);
        assert!(matches!(
            l.may_close(ClaimStream::Medical, ym(2025, 11), today),
            Err(CloseProblem::VolumesPending(..))
        ));
        assert_eq!(
            l.may_close(ClaimStream::Dental, ym(2025, 12), today),
            Err(CloseProblem::MonthNotOver(ym(2025, 12)))
        );
        assert_eq!(
            l.may_close(ClaimStream::Pharmacy, ym(2025, 11), today),
            Err(CloseProblem::NotExpected(ClaimStream::Pharmacy))
        );
    }

    #[test]
    fn volumes_must_come_in_order_and_not_beyond_the_final_one() {
        let m = ym(2025, 11);
        let s = ClaimStream::Medical;
        let second = arrival(s, m, vol(2, true), 1);
        assert_eq!(
            check_volume(&[], &second),
            Err(VolumeProblem::MissingEarlier {
                stream: s,
                month: m,
                volume: 2,
                missing: 1
            })
        );
        let first = arrival(s, m, vol(1, false), 1);
        check_volume(&[], &first).unwrap();
        check_volume(std::slice::from_ref(&first), &second).unwrap();
        let third = arrival(s, m, vol(3, true), 1);
        assert_eq!(
            check_volume(&[first.clone(), second.clone()], &third),
            Err(VolumeProblem::BeyondTotal {
                stream: s,
                month: m,
                volume: 3,
                total: 2
            })
        );
        assert!(matches!(
            check_volume(std::slice::from_ref(&first), &first),
            Err(VolumeProblem::Duplicate { .. })
        ));
        // Another stream's set is another set.
        check_volume(&[first], &arrival(ClaimStream::Dpc, m, vol(1, true), 1)).unwrap();
        check_volume(&[], &arrival(s, m, Volume::SINGLE, 1)).unwrap();
    }

    #[test]
    fn the_headline_names_the_last_month_without_a_gap() {
        let mut l = ClaimsLedger::new([ClaimStream::Medical, ClaimStream::Dpc].into());
        for m in [ym(2025, 10), ym(2025, 11), ym(2025, 12), ym(2026, 1)] {
            l.arrivals
                .push(arrival(ClaimStream::Medical, m, Volume::SINGLE, 9));
            if m != ym(2025, 12) {
                l.arrivals
                    .push(arrival(ClaimStream::Dpc, m, Volume::SINGLE, 1));
            }
        }
        assert_eq!(l.complete_through(), Some(ym(2025, 11)));
        assert_eq!(
            l.headline(),
            "レセプト取込済: 令和7年11月診療分まで（医科・DPC）"
        );
        assert_eq!(
            l.pending(),
            vec![(ym(2025, 12), vec![ClaimStream::Dpc])],
            "January is complete but after the gap; December waits for DPC"
        );
    }

    #[test]
    fn streams_parse_from_codes_and_labels() {
        assert_eq!(
            ClaimStream::parse_list("medical,DPC・歯科、調剤").unwrap(),
            ClaimStream::ALL.into_iter().collect()
        );
        assert!(ClaimStream::parse_list("medical,eye").is_err());
        assert!(ClaimStream::parse_list("").is_err());
    }
}
