//! A synthetic society for the demo, tests and benchmarks: deterministic from a seed,
//! with distributions near Japanese national figures (本人 aged 18–70 are about 55 % of
//! the register, the rest their spouses and children under the same 記号番号; HbA1c,
//! blood pressure, lipids, smoking about 25 % of men and 7 % of women, cancer 要精密検査
//! rates per screening type, 資格喪失 and joiners), written as the files an employer or the society
//! really hands over: the register CSV, MHLW checkup archives per employer and month,
//! 要精密検査 lists in Shift_JIS CSV, and UKE claims per service month that arrive two
//! months later (a few 月遅れ) in the four streams a 健保組合 receives — 医科 (where all
//! visit evidence is), and small DPC, 歯科 and 調剤 files of unrelated visits, so that
//! every month is complete with the default expected streams. Visit behaviour: some
//! people visit soon after a notice, some later, some never; treated diabetics visit
//! monthly.
//!
//! Everything is made up: names are random combinations of common names, addresses are
//! in fictitious towns.

pub mod names;

use collabo_checkup::{ArchiveHeader, ArchiveWriter, CheckupRecord};
use collabo_claims::claim::ClaimIdentity;
use collabo_claims::writer::{ClaimSpec, Filler, GroupSpec, UkeWriter, WriterOptions};
use collabo_claims::{ClaimFileKind, GroupMap};
use collabo_domain::Date;
use collabo_domain::calendar::{FiscalYear, YearMonth, add_months, yokuyokugetsumatsu};
use collabo_domain::checkup::{
    Checkup, CheckupSource, DrawTiming, Item, Observation, ObservedValue, Questionnaire,
    SmokingAnswer, UrineGrade,
};
use collabo_domain::employer::{Agreement, AgreementStatus, Employer};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::member::{Address, Member, Relationship, Sex};
use collabo_domain::programme::ProgrammeCode;
use collabo_domain::referral::CancerType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors writing the society's files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A format writer failed.
    #[error("{0}")]
    Format(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_owned(),
        source,
    }
}

/// How big and which year.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Members (insured and dependants).
    pub members: u32,
    /// Employers.
    pub employers: u32,
    /// Seed.
    pub seed: u64,
    /// The first fiscal year replayed.
    pub fiscal_year: FiscalYear,
    /// Consecutive fiscal years generated from `fiscal_year` on (at least 1).
    pub years: u32,
    /// 保険者番号.
    pub insurer: String,
    /// Probability per member and month of an unrelated doctor's visit (a claim).
    pub background_visits: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            members: 3000,
            employers: 8,
            seed: 42,
            fiscal_year: FiscalYear::new(2025),
            years: 1,
            insurer: "06139999".into(),
            background_visits: 0.15,
        }
    }
}

/// A checkup and when it is handed over.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthCheckup {
    /// Index into [`Society::members`].
    pub member: usize,
    /// The checkup.
    pub checkup: Checkup,
    /// The day the employer (or the dock) submits it.
    pub submitted_on: Date,
}

/// A 要精密検査 row and when it is handed over.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthReferral {
    /// Member index.
    pub member: usize,
    /// Screening.
    pub cancer: CancerType,
    /// 検診実施日.
    pub screening_date: Date,
    /// The day the list reaches the society.
    pub submitted_on: Date,
    /// The employer attests consent.
    pub consent: bool,
}

/// A claim to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthClaim {
    /// Member index.
    pub member: usize,
    /// 診療年月.
    pub month: YearMonth,
    /// Service days.
    pub days: Vec<i8>,
    /// Groups it evidences.
    pub groups: Vec<GroupSpec>,
    /// 医療機関コード (10 digits).
    pub institution: String,
    /// The month its file arrives (service month + 2, or later for 月遅れ).
    pub arrives: YearMonth,
    /// Which stream's file it is in (医科, DPC, 歯科, 調剤).
    pub kind: ClaimFileKind,
}

/// The whole synthetic society.
#[derive(Debug, Clone)]
pub struct Society {
    /// Settings used.
    pub config: SynthConfig,
    /// Employers.
    pub employers: Vec<Employer>,
    /// Memoranda (覚書) for programme C.
    pub agreements: Vec<Agreement>,
    /// Register.
    pub members: Vec<Member>,
    /// Checkups.
    pub checkups: Vec<SynthCheckup>,
    /// Cancer referrals.
    pub referrals: Vec<SynthReferral>,
    /// Claims.
    pub claims: Vec<SynthClaim>,
    /// Opt-outs (member index, effective date).
    pub opt_outs: Vec<(usize, Date)>,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, list: &'a [T]) -> &'a T {
    &list[rng.random_range(0..list.len())]
}

fn day_in(rng: &mut ChaCha8Rng, from: Date, to: Date) -> Date {
    let span = (to - from).get_days().max(0);
    from.checked_add(jiff::Span::new().days(rng.random_range(0..=span)))
        .unwrap_or(from)
}

fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    Normal::new(mean, sd).map(|n| n.sample(rng)).unwrap_or(mean)
}

fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    LogNormal::new(median.ln(), sigma)
        .map(|n| n.sample(rng))
        .unwrap_or(median)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn parse_ok<T, E>(r: Result<T, E>, what: &str) -> Result<T, SynthError> {
    r.map_err(|_| SynthError::Format(format!("synthetic {what} did not parse")))
}

/// Chronic conditions a person is treated for (monthly claims).
#[derive(Debug, Clone, Copy, Default)]
struct Chronic {
    hypertension: bool,
    dyslipidemia: bool,
    diabetes: bool,
}

/// The effects planted in a society of several years, so that the reports can be
/// checked against a known truth. The generator plants them by the rule the engine
/// follows with the default settings (every current smoker at a checkup gets the S
/// notice; HbA1c ≥ 6.5 without a lifestyle-disease visit gets the D notice).
pub mod planted {
    /// Share of the smokers at a checkup (all notified) who have quit at their next one.
    pub const QUIT_RATE_NOTIFIED: f64 = 0.20;
    /// Share of the smokers at a checkup (all notified) who start 禁煙治療
    /// (ニコチン依存症管理料) 2–4 months after it.
    pub const CESSATION_TREATMENT: f64 = 0.08;
    /// Share of the non-smokers at a checkup who smoke at their next one.
    pub const RELAPSE_RATE: f64 = 0.03;
    /// Diabetes visits within 1–3 months of the checkup among the untreated, at HbA1c
    /// 6.5 without the notice: `VISIT_BASE + VISIT_SLOPE × (HbA1c − 6.5)` (from 5.8 up).
    pub const VISIT_BASE: f64 = 0.20;
    /// See [`VISIT_BASE`].
    pub const VISIT_SLOPE: f64 = 0.10;
    /// The notice's jump of that visit share at the threshold (D notified only).
    pub const VISIT_JUMP: f64 = 0.15;
    /// Mean HbA1c change at the next checkup of those who visited after the D notice.
    pub const HBA1C_CHANGE_TREATED: f64 = -0.5;
    /// Mean HbA1c change at the next checkup of the untreated.
    pub const HBA1C_CHANGE_UNTREATED: f64 = 0.03;
}

/// What a person carries from one year's checkup to the next.
#[derive(Debug, Clone, Copy, Default)]
struct Carry {
    /// Smoked at the last checkup.
    smokes: Option<bool>,
    /// HbA1c at the last checkup.
    hba1c: Option<f64>,
    /// Started diabetes care after that checkup.
    treated: bool,
    /// In diabetes care (started after some checkup), monthly claims to the end.
    in_care: bool,
    /// Opted out already.
    opted_out: bool,
}

impl Society {
    /// Generates a society.
    pub fn generate(config: &SynthConfig) -> Result<Society, SynthError> {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let fy = config.fiscal_year;
        let insurer = parse_ok(InsurerNumber::parse(&config.insurer), "insurer")?;
        let n_employers = config.employers.max(1) as usize;

        // Employers: sizes roughly Zipf-like, the first is the largest.
        let weights: Vec<f64> = (1..=n_employers).map(|i| 1.0 / i as f64).collect();
        let total_weight: f64 = weights.iter().sum();
        let mut employers = Vec::new();
        for i in 0..n_employers {
            let code = parse_ok(EmployerCode::parse(&format!("{}", 1001 + i)), "employer")?;
            let name = format!("株式会社{}", names::COMPANIES[i % names::COMPANIES.len()]);
            let name = if i >= names::COMPANIES.len() {
                format!("{name}{}", i / names::COMPANIES.len() + 1)
            } else {
                name
            };
            employers.push(Employer {
                code,
                name,
                contact: format!("kenko{}@example.jp", 1001 + i),
            });
        }
        // Memoranda for C: even-numbered employers signed (some mid-year), one applied only.
        let mut agreements = Vec::new();
        for (i, e) in employers.iter().enumerate() {
            let (status, signed) = match i % 4 {
                0 => (AgreementStatus::Signed, Some(fy.first_day())),
                1 => (
                    AgreementStatus::Signed,
                    Some(Date::constant(fy.year(), 7, 1)),
                ),
                2 => (AgreementStatus::Applied, None),
                _ => continue,
            };
            agreements.push(Agreement {
                employer: e.code.clone(),
                programme: ProgrammeCode::C,
                status,
                signed_on: signed,
                ended_on: None,
            });
        }

        // Members.
        let mut members = Vec::with_capacity(config.members as usize);
        let mut next_number: Vec<u32> = vec![1; n_employers];
        let mut chronic = Vec::with_capacity(config.members as usize);
        let ref_date = fy.first_day();
        while members.len() < config.members as usize {
            let mut roll = rng.random::<f64>() * total_weight;
            let mut e = 0;
            while e + 1 < n_employers && roll > weights[e] {
                roll -= weights[e];
                e += 1;
            }
            let number = next_number[e];
            next_number[e] += 1;
            // Just under half of the 本人 have dependants (a spouse and children, or children
            // only): 1, 2 or 3 of them, so that about 55 % of the register is 本人.
            let family = if rng.random::<f64>() < 0.48 {
                let roll = rng.random::<f64>();
                if roll < 0.5 {
                    1
                } else if roll < 0.8 {
                    2
                } else {
                    3u8
                }
            } else {
                0
            };
            let symbol = Symbol::parse(employers[e].code.as_str())
                .map_err(|_| SynthError::Format("symbol".into()))?;
            let card = parse_ok(CardNumber::parse(&number.to_string()), "number")?;
            // The 本人 of this 記号番号: the family shares their surname, address and coverage.
            let mut head: Option<Member> = None;
            for branch in 0..=family {
                if members.len() >= config.members as usize {
                    break;
                }
                let key = MemberKey {
                    insurer: insurer.clone(),
                    symbol: symbol.clone(),
                    number: card.clone(),
                    branch: parse_ok(Branch::parse(&format!("{branch:02}")), "branch")?,
                };
                let member = match &head {
                    None => insured_person(&mut rng, key, &employers[e].code, fy, config.years)?,
                    Some(insured) => {
                        // The first dependant is a spouse seven times in ten; the others are children.
                        let spouse = branch == 1 && rng.random::<f64>() < 0.7;
                        dependant(&mut rng, key, insured, spouse, fy)
                    }
                };
                let age = collabo_domain::calendar::age_on(member.birth_date, ref_date);
                let older = age >= 40;
                chronic.push(Chronic {
                    hypertension: older && rng.random::<f64>() < 0.12 + f64::from(age - 40) * 0.006,
                    dyslipidemia: older && rng.random::<f64>() < 0.10,
                    diabetes: older && rng.random::<f64>() < 0.05,
                });
                if head.is_none() {
                    head = Some(member.clone());
                }
                members.push(member);
            }
        }

        let mut society = Society {
            config: config.clone(),
            employers,
            agreements,
            members,
            checkups: Vec::new(),
            referrals: Vec::new(),
            claims: Vec::new(),
            opt_outs: Vec::new(),
        };
        society.generate_year(&mut rng, &chronic)?;
        Ok(society)
    }

    fn generate_year(
        &mut self,
        rng: &mut ChaCha8Rng,
        chronic: &[Chronic],
    ) -> Result<(), SynthError> {
        let first_fy = self.config.fiscal_year;
        let last_fy = FiscalYear::new(first_fy.year() + self.config.years.max(1) as i16 - 1);
        let first_claims_month = YearMonth::of(
            add_months(first_fy.first_day(), -12).map_err(|e| SynthError::Format(e.to_string()))?,
        );
        let last_claims_month = YearMonth::of(
            add_months(last_fy.last_day(), -2).map_err(|e| SynthError::Format(e.to_string()))?,
        );
        let signed: BTreeMap<&EmployerCode, Date> = self
            .agreements
            .iter()
            .filter(|a| a.status == AgreementStatus::Signed)
            .filter_map(|a| a.signed_on.map(|d| (&a.employer, d)))
            .collect();
        let has_c: Vec<&EmployerCode> = self.agreements.iter().map(|a| &a.employer).collect();
        let mut claims = Vec::new();
        let institution =
            |rng: &mut ChaCha8Rng| format!("131{:07}", rng.random_range(1..400u32) * 13);
        let mut carry = vec![Carry::default(); self.members.len()];

        for (idx, m) in self.members.iter().enumerate() {
            let c = chronic[idx];
            // Chronic care: a claim every month or two, all year, for the whole window.
            for month in first_claims_month.through(last_claims_month) {
                if m.qualified_until.is_some_and(|d| d <= month.first_day())
                    || m.qualified_from > month.last_day()
                {
                    continue;
                }
                let mut groups = Vec::new();
                if c.hypertension && rng.random::<f64>() < 0.8 {
                    groups.push(GroupSpec::condition("hypertension"));
                }
                if c.dyslipidemia && rng.random::<f64>() < 0.6 {
                    groups.push(GroupSpec::condition("dyslipidemia"));
                }
                if c.diabetes && rng.random::<f64>() < 0.9 {
                    groups.push(GroupSpec::condition("diabetes"));
                    groups.push(GroupSpec::procedure("diabetes_care"));
                    groups.push(GroupSpec::drug("diabetes_drug"));
                }
                let background = rng.random::<f64>() < self.config.background_visits;
                if !groups.is_empty() || background {
                    claims.push(SynthClaim {
                        member: idx,
                        month,
                        days: vec![rng.random_range(1..=28)],
                        groups,
                        institution: institution(rng),
                        arrives: month,
                        kind: ClaimFileKind::Medical,
                    });
                }
            }
        }
        for year in first_fy.year()..=last_fy.year() {
            let fy = FiscalYear::new(year);
            for (idx, m) in self.members.iter().enumerate() {
                let age = collabo_domain::calendar::age_on(m.birth_date, fy.last_day());
                let insured_in_year = m
                    .qualified_until
                    .is_none_or(|d| d > Date::constant(fy.year(), 9, 1))
                    && m.qualified_from < Date::constant(fy.year(), 12, 1);
                let employee = m.relationship == Relationship::Insured;
                let c = chronic[idx];
                if !insured_in_year {
                    continue;
                }
                // Checkup: employees by the employer (spring to autumn), dependants 40+ at a dock.
                let takes_checkup = if employee {
                    rng.random::<f64>() < 0.88
                } else {
                    age >= 40 && rng.random::<f64>() < 0.45
                };
                if takes_checkup {
                    let from = Date::constant(fy.year(), 4, 10).max(m.qualified_from);
                    let exam = if rng.random::<f64>() < 0.7 {
                        day_in(rng, from, Date::constant(fy.year(), 7, 31).max(from))
                    } else {
                        day_in(
                            rng,
                            from.max(Date::constant(fy.year(), 8, 1)),
                            Date::constant(fy.year(), 11, 30),
                        )
                    };
                    if m.is_insured_on(exam) {
                        let checkup = synth_checkup(rng, m, exam, age, c, employee, carry[idx]);
                        let hba1c = checkup.number(Item::HbA1c).unwrap_or(0.0);
                        carry[idx].smokes = checkup
                            .questionnaire
                            .smoking
                            .map(|a| a == SmokingAnswer::Smokes);
                        carry[idx].hba1c = Some(hba1c);
                        carry[idx].treated = false;
                        // 禁煙治療 after the S notice, drawn from a generator of its own so
                        // that every other draw (and every planted figure) stays as it was.
                        if carry[idx].smokes == Some(true) {
                            let mut own = ChaCha8Rng::seed_from_u64(
                                self.config.seed ^ 0xC0FF_EE00 ^ ((idx as u64) << 16) ^ year as u64,
                            );
                            if own.random::<f64>() < planted::CESSATION_TREATMENT {
                                let first = YearMonth::of(
                                    add_months(exam, own.random_range(2..=4)).unwrap_or(exam),
                                );
                                for month in [first, first.next()] {
                                    claims.push(SynthClaim {
                                        member: idx,
                                        month,
                                        days: vec![own.random_range(1..=28)],
                                        groups: vec![GroupSpec::procedure("smoking_cessation")],
                                        institution: format!(
                                            "131{:07}",
                                            own.random_range(1..400u32) * 13
                                        ),
                                        arrives: month,
                                        kind: ClaimFileKind::Medical,
                                    });
                                }
                            }
                        }
                        let submitted_on = first_of_next_month(exam, 1)
                            .checked_add(jiff::Span::new().days(9))
                            .unwrap_or(exam);
                        self.checkups.push(SynthCheckup {
                            member: idx,
                            checkup,
                            submitted_on,
                        });
                        // Diabetes care among the untreated from HbA1c 5.8 up: a share
                        // rising with HbA1c start within 1–3 months, plus the notice's
                        // planted jump for those the D rule notifies (no lifestyle-disease
                        // care); some notified start much later (9–11 months), the rest never.
                        if hba1c >= 5.8 && !c.diabetes && !carry[idx].in_care {
                            let notified = hba1c >= 6.5 && !c.hypertension && !c.dyslipidemia;
                            let soon = planted::VISIT_BASE
                                + planted::VISIT_SLOPE * (hba1c - 6.5)
                                + if notified { planted::VISIT_JUMP } else { 0.0 };
                            let roll = rng.random::<f64>();
                            let start = if roll < soon {
                                Some(rng.random_range(1..=3))
                            } else if hba1c >= 6.5 && roll < soon + 0.15 {
                                Some(rng.random_range(9..=11))
                            } else {
                                None
                            };
                            if let Some(after) = start {
                                carry[idx].treated = true;
                                carry[idx].in_care = true;
                                let first = YearMonth::of(add_months(exam, after).unwrap_or(exam));
                                for (k, month) in
                                    first.through(last_claims_month.next().next()).enumerate()
                                {
                                    if k > 0 && rng.random::<f64>() < 0.3 {
                                        continue;
                                    }
                                    claims.push(SynthClaim {
                                        member: idx,
                                        month,
                                        days: vec![rng.random_range(1..=28)],
                                        groups: vec![
                                            GroupSpec::condition("diabetes"),
                                            GroupSpec::procedure("diabetes_care"),
                                        ],
                                        institution: institution(rng),
                                        arrives: month,
                                        kind: ClaimFileKind::Medical,
                                    });
                                }
                            }
                        }
                        // Cancer screenings on the checkup day, for employers with a memorandum (signed or not).
                        if employee
                            && has_c.contains(&&m.employer)
                            && age >= 35
                            && rng.random::<f64>() < 0.7
                        {
                            let mut types = vec![
                                (CancerType::Lung, 0.025),
                                (CancerType::Stomach, 0.06),
                                (CancerType::Colorectal, 0.065),
                            ];
                            if m.sex == Sex::Female {
                                types.push((CancerType::Breast, 0.08));
                                types.push((CancerType::Cervical, 0.025));
                            }
                            for (cancer, rate) in types {
                                if rng.random::<f64>() >= rate {
                                    continue;
                                }
                                let roll = rng.random::<f64>();
                                let months_after = if roll < 0.85 {
                                    rng.random_range(1..=2)
                                } else {
                                    3
                                };
                                let submitted_on = first_of_next_month(exam, months_after)
                                    .checked_add(jiff::Span::new().days(9))
                                    .unwrap_or(exam);
                                let consent = rng.random::<f64>() < 0.92;
                                self.referrals.push(SynthReferral {
                                    member: idx,
                                    cancer,
                                    screening_date: exam,
                                    submitted_on,
                                    consent,
                                });
                                let _ = signed.get(&m.employer);
                                // Detailed exam: most within 1–3 months, some after the re-notice, some never.
                                let roll = rng.random::<f64>();
                                let after = if roll < 0.55 {
                                    Some(rng.random_range(1..=3))
                                } else if roll < 0.7 {
                                    Some(rng.random_range(6..=8))
                                } else {
                                    None
                                };
                                if let Some(after) = after {
                                    let month =
                                        YearMonth::of(add_months(exam, after).unwrap_or(exam));
                                    let site = cancer.code();
                                    claims.push(SynthClaim {
                                        member: idx,
                                        month,
                                        days: vec![rng.random_range(1..=28)],
                                        groups: vec![
                                            GroupSpec::procedure(&format!("{site}_exam")),
                                            GroupSpec::condition(&format!("finding_{site}"))
                                                .suspected(),
                                        ],
                                        institution: institution(rng),
                                        arrives: month,
                                        kind: ClaimFileKind::Medical,
                                    });
                                }
                            }
                        }
                    }
                }
                if !carry[idx].opted_out && rng.random::<f64>() < 0.005 {
                    carry[idx].opted_out = true;
                    self.opt_outs.push((
                        idx,
                        day_in(
                            rng,
                            Date::constant(fy.year(), 6, 1),
                            Date::constant(fy.year() + 1, 2, 1),
                        ),
                    ));
                }
            }
        }
        // Claims reach the society two months after the service month; 3 % arrive a month later (月遅れ).
        for claim in &mut claims {
            let lag = if rng.random::<f64>() < 0.03 { 3 } else { 2 };
            claim.arrives = YearMonth::of(
                add_months(claim.month.first_day(), lag).unwrap_or(claim.month.first_day()),
            );
        }
        claims.retain(|c| c.month <= last_claims_month.next().next());
        claims.extend(self.other_streams(first_claims_month, last_claims_month));
        self.claims = claims;
        Ok(())
    }

    /// Small DPC, 歯科 and 調剤 files of unrelated visits (no evidence groups), every
    /// service month, each with at least one claim of its own month, so a month is
    /// complete only when all four streams have arrived. A generator of its own keeps
    /// the 医科 claims (and everything the demo's figures rest on) as they were.
    fn other_streams(&self, first: YearMonth, last: YearMonth) -> Vec<SynthClaim> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0x5EED_0F57_2EA5);
        let mut out = Vec::new();
        let streams = [
            (ClaimFileKind::Dpc, 0.002, "131"),
            (ClaimFileKind::Dental, 0.04, "133"),
            (ClaimFileKind::Pharmacy, 0.06, "134"),
        ];
        for month in first.through(last) {
            let insured: Vec<usize> = self
                .members
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    m.qualified_from <= month.first_day()
                        && m.qualified_until.is_none_or(|d| d > month.last_day())
                })
                .map(|(i, _)| i)
                .collect();
            if insured.is_empty() {
                continue;
            }
            for (kind, rate, prefix) in streams {
                let mut chosen: Vec<usize> = insured
                    .iter()
                    .copied()
                    .filter(|_| rng.random::<f64>() < rate)
                    .collect();
                let forced = *pick(&mut rng, &insured);
                chosen.retain(|i| *i != forced);
                for (n, member) in std::iter::once(forced).chain(chosen).enumerate() {
                    // The first claim of each stream and month arrives on time, so the
                    // month is complete; the others are 3 % 月遅れ like the 医科 ones.
                    let lag = if n > 0 && rng.random::<f64>() < 0.03 {
                        3
                    } else {
                        2
                    };
                    out.push(SynthClaim {
                        member,
                        month,
                        days: vec![rng.random_range(1..=28)],
                        groups: Vec::new(),
                        institution: format!("{prefix}{:07}", rng.random_range(1..400u32) * 17),
                        arrives: YearMonth::of(
                            add_months(month.first_day(), lag).unwrap_or(month.first_day()),
                        ),
                        kind,
                    });
                }
            }
        }
        out
    }

    /// Writes the society's files under `dir` (see the crate docs); returns the list of
    /// files by arrival month.
    pub fn write(
        &self,
        dir: &Path,
        map: &GroupMap,
    ) -> Result<BTreeMap<YearMonth, Vec<PathBuf>>, SynthError> {
        let mut files: BTreeMap<YearMonth, Vec<PathBuf>> = BTreeMap::new();
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let fy = self.config.fiscal_year;

        // The register at the start of the year; later changes (loss of coverage) are in it already.
        let register = dir.join("members.csv");
        let mut w =
            csv::Writer::from_path(&register).map_err(|e| SynthError::Format(e.to_string()))?;
        let csv_err = |e: csv::Error| SynthError::Format(e.to_string());
        w.write_record([
            "保険者番号",
            "記号",
            "番号",
            "枝番",
            "氏名",
            "氏名カナ",
            "性別",
            "生年月日",
            "郵便番号",
            "住所",
            "住所2",
            "事業所記号",
            "本人家族",
            "資格取得日",
            "資格喪失日",
        ])
        .map_err(csv_err)?;
        for m in &self.members {
            w.write_record([
                m.key.insurer.as_str(),
                m.key.symbol.as_str(),
                m.key.number.as_str(),
                m.key.branch.as_str(),
                &m.name_kanji,
                &m.name_kana,
                m.sex.code(),
                &m.birth_date.to_string(),
                &m.address.postal_code,
                &m.address.line1,
                &m.address.line2,
                m.employer.as_str(),
                m.relationship.label(),
                &m.qualified_from.to_string(),
                &m.qualified_until.map(|d| d.to_string()).unwrap_or_default(),
            ])
            .map_err(csv_err)?;
        }
        w.flush().map_err(io(&register))?;

        let society = dir.join("society.json");
        let json = serde_json::json!({
            "insurer": self.config.insurer,
            "fiscal_year": fy.year(),
            "employers": self.employers,
            "agreements": self.agreements,
        });
        std::fs::write(
            &society,
            serde_json::to_vec_pretty(&json).unwrap_or_default(),
        )
        .map_err(io(&society))?;

        // Checkups: one MHLW archive per submitter and submission month.
        let mut by_submission: BTreeMap<(Date, Option<EmployerCode>), Vec<&SynthCheckup>> =
            BTreeMap::new();
        for c in &self.checkups {
            by_submission
                .entry((c.submitted_on, c.checkup.submitted_by.clone()))
                .or_default()
                .push(c);
        }
        let insurer = parse_ok(InsurerNumber::parse(&self.config.insurer), "insurer")?;
        for ((on, employer), list) in by_submission {
            let month = YearMonth::of(on);
            let folder = dir.join("checkups").join(month.to_string());
            std::fs::create_dir_all(&folder).map_err(io(&folder))?;
            let sender = match &employer {
                // Employers send as "9" + the establishment code padded to 9 digits.
                Some(e) => format!("9{:0>9}", e.as_str()),
                None => "1310000017".to_owned(),
            };
            let header = ArchiveHeader::new(&sender, insurer.clone(), on);
            let path = folder.join(header.file_name());
            let mut writer = ArchiveWriter::create(&path, header)
                .map_err(|e| SynthError::Format(e.to_string()))?;
            for c in list {
                let record = CheckupRecord::from_checkup(&c.checkup, &self.members[c.member]);
                writer
                    .write(&record)
                    .map_err(|e| SynthError::Format(e.to_string()))?;
            }
            writer
                .finish()
                .map_err(|e| SynthError::Format(e.to_string()))?;
            files.entry(month).or_default().push(path);
        }

        // 要精密検査 lists: one Shift_JIS CSV per employer and submission day.
        let mut lists: BTreeMap<(Date, EmployerCode), Vec<&SynthReferral>> = BTreeMap::new();
        for r in &self.referrals {
            lists
                .entry((r.submitted_on, self.members[r.member].employer.clone()))
                .or_default()
                .push(r);
        }
        for ((on, employer), rows) in lists {
            let month = YearMonth::of(on);
            let folder = dir.join("referrals").join(month.to_string());
            std::fs::create_dir_all(&folder).map_err(io(&folder))?;
            let path = folder.join(format!(
                "{}_要精密検査者_{}.csv",
                employer.as_str(),
                on.strftime("%Y%m%d")
            ));
            let mut text =
                String::from("記号,番号,枝番,氏名,生年月日,がん検診の種類,検診実施年月日,同意\r\n");
            for r in rows {
                let m = &self.members[r.member];
                text.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\r\n",
                    m.key.symbol,
                    m.key.number,
                    m.key.branch,
                    m.name_kanji,
                    m.birth_date.strftime("%Y/%m/%d"),
                    r.cancer.label(),
                    r.screening_date.strftime("%Y/%m/%d"),
                    u8::from(r.consent)
                ));
            }
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
            if unmappable {
                return Err(SynthError::Format(format!(
                    "{}: text not representable in Shift_JIS",
                    path.display()
                )));
            }
            std::fs::write(&path, &bytes).map_err(io(&path))?;
            files.entry(month).or_default().push(path);
        }

        // Claims: one UKE file per stream, arrival month and service month.
        let mut by_file: BTreeMap<(YearMonth, YearMonth, ClaimFileKind), Vec<&SynthClaim>> =
            BTreeMap::new();
        for c in &self.claims {
            by_file
                .entry((c.arrives, c.month, c.kind))
                .or_default()
                .push(c);
        }
        for ((arrives, month, kind), list) in by_file {
            let folder = dir.join("claims").join(arrives.to_string());
            std::fs::create_dir_all(&folder).map_err(io(&folder))?;
            let stem = match kind {
                ClaimFileKind::Dpc => "RECEIPTD",
                ClaimFileKind::Dental => "RECEIPTS",
                ClaimFileKind::Pharmacy => "RECEIPTY",
                _ => "RECEIPTC",
            };
            let path = folder.join(format!("{stem}_{}{:02}.UKE", month.year(), month.month()));
            let file = std::fs::File::create(&path).map_err(io(&path))?;
            // 請求年月 is the month the institution bills, the month before the file reaches
            // the society; a 月遅れ claim is billed later than service month + 1.
            let billing_month =
                YearMonth::of(add_months(arrives.first_day(), -1).unwrap_or(arrives.first_day()));
            let options = WriterOptions::medical(billing_month).of_kind(kind);
            let mut writer = UkeWriter::new(std::io::BufWriter::new(file), map, options);
            for c in list {
                let m = &self.members[c.member];
                let spec = ClaimSpec {
                    identity: ClaimIdentity {
                        insurer: m.key.insurer.clone(),
                        symbol: m.key.symbol.clone(),
                        number: m.key.number.clone(),
                        branch: Some(m.key.branch.clone()),
                        birth_date: m.birth_date,
                        sex: m.sex,
                    },
                    name_kana: m.name_kana.replace('　', " "),
                    institution: c.institution.clone(),
                    month: c.month,
                    days: c.days.clone(),
                    groups: c.groups.clone(),
                    filler: if kind == ClaimFileKind::Medical {
                        Filler::default()
                    } else {
                        Filler::NONE
                    },
                };
                writer
                    .write_claim(&spec)
                    .map_err(|e| SynthError::Format(e.to_string()))?;
            }
            let mut out = writer
                .finish()
                .map_err(|e| SynthError::Format(e.to_string()))?;
            out.flush().map_err(io(&path))?;
            files.entry(arrives).or_default().push(path);
        }

        // Opt-outs reported by phone, entered in bulk at the start of the next month.
        let mut optouts: BTreeMap<YearMonth, Vec<(usize, Date)>> = BTreeMap::new();
        for (idx, on) in &self.opt_outs {
            optouts
                .entry(YearMonth::of(*on).next())
                .or_default()
                .push((*idx, *on));
        }
        for (month, list) in optouts {
            let folder = dir.join("consents").join(month.to_string());
            std::fs::create_dir_all(&folder).map_err(io(&folder))?;
            let path = folder.join("optout.csv");
            let mut text = String::from("記号,番号,枝番,区分,範囲,適用日,経路\n");
            for (idx, on) in list {
                let m = &self.members[idx];
                text.push_str(&format!(
                    "{},{},{},オプトアウト,all,{},phone\n",
                    m.key.symbol, m.key.number, m.key.branch, on
                ));
            }
            std::fs::write(&path, text).map_err(io(&path))?;
            files.entry(month).or_default().push(path);
        }
        Ok(files)
    }
}

/// A birth date for someone `age` years old on the first day of `fy` (school-year cohort).
fn birth_for_age(rng: &mut ChaCha8Rng, fy: FiscalYear, age: i16) -> Date {
    let year = fy.first_day().year();
    day_in(
        rng,
        Date::constant(year - age - 1, 4, 2),
        Date::constant(year - age, 4, 1),
    )
}

fn given_name(rng: &mut ChaCha8Rng, sex: Sex) -> (&'static str, &'static str) {
    *pick(
        rng,
        if sex == Sex::Male {
            names::MALE
        } else {
            names::FEMALE
        },
    )
}

/// A 本人 (the insured employee, branch 00) of an employer.
fn insured_person(
    rng: &mut ChaCha8Rng,
    key: MemberKey,
    employer: &EmployerCode,
    fy: FiscalYear,
    years: u32,
) -> Result<Member, SynthError> {
    // Joiners and leavers are spread over every year replayed.
    let last = FiscalYear::new(fy.year() + years.max(1) as i16 - 1);
    let sex = if rng.random::<f64>() < 0.62 {
        Sex::Male
    } else {
        Sex::Female
    };
    let age: i16 = rng.random_range(18..=70);
    let birth = birth_for_age(rng, fy, age);
    let (surname, surname_kana) = *pick(rng, names::SURNAMES);
    let (given, given_kana) = given_name(rng, sex);
    let unmailable = rng.random::<f64>() < 0.01;
    let address = if unmailable {
        Address {
            postal_code: String::new(),
            line1: String::new(),
            line2: String::new(),
        }
    } else {
        Address {
            postal_code: format!("{:07}", rng.random_range(1_000_000..9_999_999u32)),
            line1: format!(
                "{}{}{}丁目{}番{}号",
                pick(rng, names::CITIES),
                pick(rng, names::TOWNS),
                rng.random_range(1..=5),
                rng.random_range(1..=30),
                rng.random_range(1..=20)
            ),
            line2: if rng.random::<f64>() < 0.3 {
                format!("コーポ架空{}号室", rng.random_range(101..=505))
            } else {
                String::new()
            },
        }
    };
    let joined = if rng.random::<f64>() < 0.03 {
        day_in(rng, fy.first_day(), Date::constant(last.year(), 12, 1))
    } else {
        Date::constant(fy.year() - rng.random_range(1..=20), 4, 1)
    };
    let lost = (rng.random::<f64>() < 0.04)
        .then(|| day_in(rng, Date::constant(fy.year(), 6, 1), last.last_day()));
    Ok(Member {
        key,
        name_kanji: format!("{surname}　{given}"),
        name_kana: format!("{surname_kana}　{given_kana}"),
        sex,
        birth_date: birth,
        address,
        employer: employer.clone(),
        relationship: Relationship::Insured,
        qualified_from: joined,
        qualified_until: lost,
    })
}

/// A dependant (家族) of `insured`: their spouse or child, with the same surname and
/// address, covered from the later of the 本人's joining and their own birth until the
/// 本人 loses coverage.
fn dependant(
    rng: &mut ChaCha8Rng,
    key: MemberKey,
    insured: &Member,
    spouse: bool,
    fy: FiscalYear,
) -> Member {
    let insured_age = collabo_domain::calendar::age_on(insured.birth_date, fy.first_day());
    let (sex, age) = if spouse {
        let other = match insured.sex {
            Sex::Male => Sex::Female,
            Sex::Female => Sex::Male,
        };
        let sex = if rng.random::<f64>() < 0.95 {
            other
        } else {
            insured.sex
        };
        let gap = normal(rng, if sex == Sex::Female { -2.0 } else { 2.0 }, 3.0).round() as i16;
        (sex, (insured_age + gap).clamp(18, 74))
    } else {
        let sex = if rng.random::<f64>() < 0.5 {
            Sex::Male
        } else {
            Sex::Female
        };
        let oldest = (insured_age - 20).clamp(0, 22);
        (sex, rng.random_range(0..=oldest))
    };
    let birth = birth_for_age(rng, fy, age);
    let (surname, surname_kana) = insured
        .name_kanji
        .split_once('　')
        .zip(insured.name_kana.split_once('　'))
        .map_or(("", ""), |((s, _), (k, _))| (s, k));
    let (given, given_kana) = given_name(rng, sex);
    Member {
        key,
        name_kanji: format!("{surname}　{given}"),
        name_kana: format!("{surname_kana}　{given_kana}"),
        sex,
        birth_date: birth,
        address: insured.address.clone(),
        employer: insured.employer.clone(),
        relationship: Relationship::Dependant,
        qualified_from: insured.qualified_from.max(birth),
        qualified_until: insured.qualified_until,
    }
}

fn first_of_next_month(date: Date, months: i32) -> Date {
    add_months(date.first_of_month(), months).unwrap_or(date)
}

/// The screening deadline of a referral (re-exported for tests).
pub fn deadline(screening: Date) -> Option<Date> {
    yokuyokugetsumatsu(screening).ok()
}

fn synth_checkup(
    rng: &mut ChaCha8Rng,
    m: &Member,
    exam: Date,
    age: i16,
    c: Chronic,
    employee: bool,
    carry: Carry,
) -> Checkup {
    let male = m.sex == Sex::Male;
    let older = f64::from((age - 40).max(0));
    let height = if male {
        normal(rng, 171.0, 6.0)
    } else {
        normal(rng, 158.0, 5.5)
    };
    let bmi = normal(rng, if male { 23.8 } else { 22.0 }, 3.2).clamp(15.0, 42.0);
    let weight = bmi * (height / 100.0).powi(2);
    let waist = normal(
        rng,
        if male { 84.0 } else { 78.0 } + (bmi - 22.0) * 2.2,
        5.0,
    );
    let sbp = normal(
        rng,
        117.0
            + older * 0.6
            + if male { 5.0 } else { 0.0 }
            + if c.hypertension { 10.0 } else { 0.0 },
        14.0,
    )
    .round();
    let dbp = (sbp * 0.62 + normal(rng, 2.0, 7.0)).round();
    let fasting = rng.random::<f64>() < 0.8;
    let tg = lognormal(rng, if male { 105.0 } else { 75.0 }, 0.5).round();
    let hdl = normal(rng, if male { 57.0 } else { 68.0 }, 14.0)
        .round()
        .max(20.0);
    let ldl = normal(rng, 118.0 + older * 0.3, 30.0).round().max(40.0);
    // HbA1c: most 5.0–6.0; about 7 % at or above 6.5 (more with age and among the treated).
    let mut hba1c = normal(rng, 5.5 + older * 0.008, 0.35);
    if c.diabetes {
        hba1c = normal(rng, 7.0, 0.7);
    } else if rng.random::<f64>() < 0.05 + older * 0.002 {
        hba1c = normal(rng, 6.9, 0.4);
    }
    // From the second year on, HbA1c moves from last year's: it improves among those
    // who started care after the last checkup and drifts slightly up among the others.
    if let Some(last) = carry.hba1c {
        hba1c = last
            + if carry.treated {
                normal(rng, planted::HBA1C_CHANGE_TREATED, 0.25)
            } else if c.diabetes || carry.in_care {
                normal(rng, 0.0, 0.3)
            } else {
                normal(rng, planted::HBA1C_CHANGE_UNTREATED, 0.15)
            };
    }
    let hba1c = round1(hba1c.clamp(4.0, 14.0));
    let glucose = (hba1c * 28.0 - 60.0 + normal(rng, 0.0, 8.0))
        .round()
        .max(60.0);
    let ast = lognormal(rng, 21.0, 0.3).round();
    let alt = lognormal(rng, if male { 22.0 } else { 15.0 }, 0.5).round();
    let ggt = lognormal(rng, if male { 33.0 } else { 18.0 }, 0.6).round();
    let creatinine = round1(normal(rng, if male { 0.88 } else { 0.66 }, 0.12).max(0.3));
    let egfr = round1(normal(rng, 82.0 - older * 0.7, 13.0).clamp(10.0, 130.0));
    let protein = if rng.random::<f64>() < 0.9 {
        UrineGrade::NEGATIVE
    } else if rng.random::<f64>() < 0.6 {
        UrineGrade::TRACE
    } else {
        UrineGrade::ONE_PLUS
    };
    let hb = round1(normal(rng, if male { 14.9 } else { 13.0 }, 1.1));
    let mut observations = vec![
        (Item::Height, round1(height)),
        (Item::Weight, round1(weight)),
        (Item::Bmi, round1(bmi)),
        (Item::Waist, round1(waist)),
        (Item::SystolicBp, sbp),
        (Item::DiastolicBp, dbp),
        (Item::Hdl, hdl),
        (Item::Ldl, ldl),
        (Item::HbA1c, hba1c),
        (Item::Ast, ast),
        (Item::Alt, alt),
        (Item::GammaGt, ggt),
        (Item::Creatinine, creatinine),
        (Item::Egfr, egfr),
        (Item::Haemoglobin, hb),
    ];
    if fasting {
        observations.push((Item::TriglyceridesFasting, tg));
        observations.push((Item::GlucoseFasting, glucose));
    } else {
        observations.push((Item::TriglyceridesRandom, (tg * 1.15).round()));
        observations.push((Item::GlucoseRandom, (glucose + 20.0).round()));
    }
    let mut observations: Vec<Observation> = observations
        .into_iter()
        .map(|(item, v)| Observation {
            item,
            value: ObservedValue::Number(v),
        })
        .collect();
    observations.push(Observation {
        item: Item::UrineProtein,
        value: ObservedValue::Grade(protein),
    });
    let smokes = rng.random::<f64>() < if male { 0.25 } else { 0.07 };
    // Smokers at the last checkup were all notified (programme S): some have quit.
    let smokes = match carry.smokes {
        Some(true) => rng.random::<f64>() >= planted::QUIT_RATE_NOTIFIED,
        Some(false) => rng.random::<f64>() < planted::RELAPSE_RATE,
        None => smokes,
    };
    let questionnaire = Questionnaire {
        smoking: Some(if smokes {
            SmokingAnswer::Smokes
        } else {
            SmokingAnswer::DoesNotSmoke
        }),
        medication_blood_pressure: Some(c.hypertension),
        medication_glucose: Some(c.diabetes),
        medication_lipids: Some(c.dyslipidemia),
        draw_timing: Some(if fasting {
            DrawTiming::Fasting
        } else {
            DrawTiming::Random
        }),
    };
    Checkup {
        member: m.key.clone(),
        exam_date: exam,
        source: if employee {
            CheckupSource::Employer
        } else {
            CheckupSource::SocietyDock
        },
        submitted_by: employee.then(|| m.employer.clone()),
        observations,
        questionnaire,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn society(members: u32, seed: u64) -> Society {
        Society::generate(&SynthConfig {
            members,
            employers: 4,
            seed,
            background_visits: 0.0,
            ..SynthConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn about_55_percent_are_honnin_and_families_share_their_card() {
        let s = society(5000, 42);
        let insured = s
            .members
            .iter()
            .filter(|m| m.relationship == Relationship::Insured)
            .count();
        let share = insured as f64 / s.members.len() as f64;
        assert!((0.53..=0.57).contains(&share), "本人 share {share:.3}");
        let heads: std::collections::HashMap<(&str, &str), &Member> = s
            .members
            .iter()
            .filter(|m| m.relationship == Relationship::Insured)
            .map(|m| ((m.key.symbol.as_str(), m.key.number.as_str()), m))
            .collect();
        assert_eq!(heads.len(), insured, "one 本人 per 記号番号");
        for m in &s.members {
            let head = heads[&(m.key.symbol.as_str(), m.key.number.as_str())];
            match m.relationship {
                Relationship::Insured => assert_eq!(m.key.branch.as_str(), "00"),
                _ => {
                    assert_eq!(m.relationship, Relationship::Dependant);
                    assert_ne!(m.key.branch.as_str(), "00");
                    assert_eq!(m.employer, head.employer);
                    assert_eq!(m.address, head.address);
                    assert!(m.qualified_from >= head.qualified_from);
                    assert_eq!(m.qualified_until, head.qualified_until);
                }
            }
        }
        // Families of one to three dependants.
        let mut sizes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for m in &s.members {
            *sizes
                .entry((m.key.symbol.as_str(), m.key.number.as_str()))
                .or_default() += 1;
        }
        assert!(sizes.values().all(|n| (1..=4).contains(n)));
        assert!(sizes.values().any(|n| *n == 4));
    }

    #[test]
    fn over_two_years_smokers_quit_and_hba1c_moves_as_planted() {
        let s = Society::generate(&SynthConfig {
            members: 6000,
            employers: 4,
            years: 2,
            background_visits: 0.0,
            ..SynthConfig::default()
        })
        .unwrap();
        let mut by_member: BTreeMap<usize, Vec<&Checkup>> = BTreeMap::new();
        for c in &s.checkups {
            by_member.entry(c.member).or_default().push(&c.checkup);
        }
        let (mut smokers, mut quit) = (0u64, 0u64);
        let mut pairs = 0;
        for list in by_member.values() {
            let [a, b] = list.as_slice() else { continue };
            assert!(a.exam_date.year() == 2025 && b.exam_date.year() == 2026);
            pairs += 1;
            if a.questionnaire.smoking == Some(SmokingAnswer::Smokes) {
                smokers += 1;
                quit += u64::from(b.questionnaire.smoking != Some(SmokingAnswer::Smokes));
            }
        }
        assert!(pairs > 2000, "{pairs} people with two checkups");
        let r = collabo_domain::effects::rate(quit, smokers).unwrap();
        assert!(
            r.estimate.covers(planted::QUIT_RATE_NOTIFIED),
            "quit {quit}/{smokers}: {r:?}"
        );
        // Members join in the second year too.
        assert!(s.members.iter().any(|m| m.qualified_from.year() == 2026));
    }

    #[test]
    fn the_same_seed_makes_the_same_society() {
        let (a, b) = (society(800, 7), society(800, 7));
        assert_eq!(a.members, b.members);
        assert_eq!(a.checkups, b.checkups);
        assert_eq!(a.claims, b.claims);
        assert_ne!(a.members, society(800, 8).members);
    }

    #[test]
    fn the_register_says_honnin_or_kazoku_after_the_employer() {
        let s = society(300, 1);
        let dir = tempfile::tempdir().unwrap();
        s.write(dir.path(), &GroupMap::builtin().unwrap()).unwrap();
        let mut r = csv::Reader::from_path(dir.path().join("members.csv")).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let at = header.iter().position(|h| h == "事業所記号").unwrap();
        assert_eq!(header[at + 1], "本人家族");
        let branch = header.iter().position(|h| h == "枝番").unwrap();
        let mut seen = BTreeMap::new();
        for row in r.records() {
            let row = row.unwrap();
            let value = row[at + 1].to_owned();
            assert_eq!(value == "本人", &row[branch] == "00", "{row:?}");
            *seen.entry(value).or_insert(0) += 1;
        }
        assert_eq!(
            seen.keys().map(String::as_str).collect::<Vec<_>>(),
            ["家族", "本人"]
        );
    }
}
