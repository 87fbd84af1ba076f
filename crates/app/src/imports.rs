//! Imports of the society's register, employers' 要精密検査 lists and bulk consent
//! records from CSV/XLSX (layouts in docs/formats.md), and the admission step every
//! submitted row goes through. A file with any malformed row stores nothing; rows are
//! admitted by `collabo_domain::admission` and only admitted rows are stored, in the
//! same transaction as the import's audit record.

use crate::tabular::{Table, cell, problem, read_table};
use crate::{
    App, AppError, ImportError, ImportReport, Result, RowProblem, parse_cell_date, sha256_hex,
    write,
};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::admission::{
    Admission, Admitted, ImportKind, ImportSummary, Intake, OptOutRegister, ReviewPayload,
    Submitted, SubmittedReferral, submitted_subject,
};
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::matching::SubmittedPerson;
use collabo_domain::member::{Address, Member, Relationship, Sex, employer_change};
use collabo_domain::problem::ProblemKind;
use collabo_domain::referral::CancerType;
use collabo_store::Reader;
use collabo_store::imports::{Begun, NewReviewItem};
use collabo_store::members::PeriodChange;
use std::collections::HashMap;
use std::path::Path;

/// Reads a whole file (imports hash the bytes for idempotency).
pub fn read_file(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| ImportError::Io {
        file: path.display().to_string(),
        source,
    })
}

/// The file name of a path, as shown in messages.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A register row: the member, and when they joined their employer if the file says.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRow {
    /// The member.
    pub member: Member,
    /// 所属開始日, when given.
    pub since: Option<Date>,
}

/// The audit action of an import kind.
pub(crate) fn import_action(kind: ImportKind) -> AuditAction {
    match kind {
        ImportKind::Members => AuditAction::ImportMembers,
        ImportKind::Checkups => AuditAction::ImportCheckups,
        ImportKind::Referrals => AuditAction::ImportReferrals,
        ImportKind::Claims => AuditAction::ImportClaims,
        ImportKind::Consents => AuditAction::ImportConsents,
    }
}

/// The audit record of a finished import.
pub(crate) fn import_entry(
    actor: &Actor,
    kind: ImportKind,
    file: &str,
    employer: Option<&EmployerCode>,
    summary: &ImportSummary,
) -> AuditEntry {
    let mut entry = AuditEntry::new(actor, import_action(kind)).detail(format!(
        "{file}: {}行を読込、{}件を登録、照合待ち{}件、停止の申出により除外{}件、加入者と照合できず{}件",
        summary.rows,
        summary.stored,
        summary.to_review,
        summary.excluded_opted_out,
        summary.unmatched
    ));
    if let Some(e) = employer {
        entry = entry.employer(e);
    }
    entry
}

/// Members with each 記号番号, for matching.
pub(crate) fn by_card(members: &[Member]) -> HashMap<(&str, &str), Vec<&Member>> {
    let mut map: HashMap<(&str, &str), Vec<&Member>> = HashMap::new();
    for m in members {
        map.entry((m.key.symbol.as_str(), m.key.number.as_str()))
            .or_default()
            .push(m);
    }
    map
}

/// Rows admitted by the domain, with the review rows and the counts, ready to be
/// stored in the write transaction.
pub(crate) struct Matched<T> {
    pub(crate) admitted: Vec<Admitted<T>>,
    pub(crate) reviews: Vec<NewReviewItem>,
    pub(crate) rows: u64,
    pub(crate) excluded: u64,
}

/// What admission reads besides the rows: the tombstones and the register's
/// generation. Rows matched against one basis outside the write transaction are stored
/// only if the transaction still sees the same basis; otherwise they are matched again
/// inside it (an opt-out recorded meanwhile must keep its person out).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Basis {
    pub(crate) opt_outs: OptOutRegister,
    generation: i64,
}

impl Basis {
    pub(crate) async fn read(r: &mut Reader) -> Result<Basis> {
        Ok(Basis {
            generation: r.register_generation().await?,
            opt_outs: r.opt_out_register().await?,
        })
    }
}

/// Admits submitted rows `chunk` at a time: looks up their candidates, asks the domain,
/// keeps the admitted rows and the review rows, counts the excluded. Reads only: it
/// runs outside the write transaction (or inside it, through its reader).
pub(crate) async fn match_rows<T: Submitted>(
    r: &mut Reader,
    intake: &Intake<'_>,
    rows: Vec<T>,
    chunk: usize,
    line_of: impl Fn(&T) -> u64,
    payload: impl Fn(T) -> ReviewPayload,
) -> Result<Matched<T>> {
    let mut matched = Matched {
        admitted: Vec::with_capacity(rows.len()),
        reviews: Vec::new(),
        rows: rows.len() as u64,
        excluded: 0,
    };
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let part: Vec<T> = rows.by_ref().take(chunk.max(1)).collect();
        let people: Vec<&SubmittedPerson> = part.iter().map(|r| r.person()).collect();
        let members = r.candidates(&people).await?;
        let cards = by_card(&members);
        for row in part {
            let candidates = cards
                .get(&(row.person().symbol.as_str(), row.person().number.as_str()))
                .cloned()
                .unwrap_or_default();
            match intake.admit(row, &candidates) {
                Admission::Admitted(a) => matched.admitted.push(a),
                Admission::Review(reason, row) => matched.reviews.push(NewReviewItem {
                    line: line_of(&row),
                    subject: submitted_subject(intake.insurer, row.person()),
                    birth_date: Some(row.person().birth_date),
                    reason,
                    payload: payload(row),
                }),
                Admission::Excluded => matched.excluded += 1,
            }
        }
    }
    Ok(matched)
}

/// Unmatched rows an employer's file may bring in any case.
pub const UNMATCHED_ALLOWED: u64 = 20;
/// Unmatched rows no employer's file may bring, whatever its size.
pub const UNMATCHED_MAX: u64 = 1000;

/// Whether an employer's file brings too many rows that match no one: more than
/// [`UNMATCHED_ALLOWED`] and either more than half its rows or more than
/// [`UNMATCHED_MAX`]. Such a file is refused whole: the review queue is for the odd
/// typo or recent hire, not for a file of another society's insured (or an attack on
/// the staff's queue). A file of 40 rows with 20 typos still goes through.
pub fn too_many_unmatched(rows: u64, unmatched: u64) -> bool {
    unmatched > UNMATCHED_ALLOWED && (unmatched * 2 > rows || unmatched > UNMATCHED_MAX)
}

/// Refuses an employer's file that would flood the review queue.
pub(crate) fn refuse_flood<T>(
    file: &str,
    submitter: Option<&EmployerCode>,
    matched: &Matched<T>,
) -> Result<(), ImportError> {
    let unmatched = matched.reviews.len() as u64;
    if submitter.is_some() && too_many_unmatched(matched.rows, unmatched) {
        return Err(ImportError::TooManyUnmatched {
            file: file.to_owned(),
            rows: matched.rows,
            unmatched,
        });
    }
    Ok(())
}

pub(crate) struct Rows<'a> {
    file: &'a str,
    table: &'a Table,
    problems: Vec<RowProblem>,
}

/// An identifier parser whose error is a typed problem.
fn id<T>(
    parse: impl Fn(&str) -> Result<T, collabo_domain::ids::IdError>,
) -> impl Fn(&str) -> Result<T, ProblemKind> {
    move |t| parse(t).map_err(|e| ProblemKind::of_id(t, &e))
}

/// A 枝番 as written (`1` is `01`).
fn branch(t: &str) -> Result<Branch, ProblemKind> {
    let padded = if t.chars().count() == 1 {
        format!("0{t}")
    } else {
        t.to_owned()
    };
    Branch::parse(&padded).map_err(|e| ProblemKind::of_id(t, &e))
}

/// The person a row names, as problems show them: 記号-番号-枝番 氏名 (what the row says).
fn row_person(row: &[String], columns: [Option<usize>; 4]) -> Option<String> {
    let [symbol, number, branch, name] = columns.map(|c| cell(row, c));
    if symbol.is_empty() && number.is_empty() && name.is_empty() {
        return None;
    }
    let mut card = format!("{symbol}-{number}");
    if !branch.is_empty() {
        card.push('-');
        card.push_str(branch);
    }
    Some(if name.is_empty() {
        card
    } else {
        format!("{card} {name}")
    })
}

impl<'a> Rows<'a> {
    fn col(&self, names: &[&str]) -> Result<usize, ImportError> {
        self.table.require(self.file, names)
    }
    fn push(&mut self, line: u64, field: &str, kind: ProblemKind) {
        self.problems.push(problem(self.file, line, field, kind));
    }
    fn text(&mut self, row: &[String], line: u64, index: usize, field: &str) -> Option<String> {
        let value = cell(row, Some(index));
        if value.is_empty() {
            self.push(line, field, ProblemKind::Required);
            return None;
        }
        Some(value.to_owned())
    }
    fn parse<T>(
        &mut self,
        row: &[String],
        line: u64,
        index: usize,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, ProblemKind>,
    ) -> Option<T> {
        let value = self.text(row, line, index, field)?;
        match parse(&value) {
            Ok(v) => Some(v),
            Err(kind) => {
                self.push(line, field, kind);
                None
            }
        }
    }
    /// An optional date cell: `Some(None)` when empty, `None` when it is wrong.
    fn optional_date(
        &mut self,
        row: &[String],
        line: u64,
        index: Option<usize>,
        field: &str,
    ) -> Option<Option<Date>> {
        match cell(row, index) {
            "" => Some(None),
            t => match parse_cell_date(t) {
                Ok(d) => Some(Some(d)),
                Err(kind) => {
                    self.push(line, field, kind);
                    None
                }
            },
        }
    }
    /// Names the row's person on the problems found since `from`.
    fn name_person(&mut self, from: usize, person: impl FnOnce() -> Option<String>) {
        if self.problems.len() > from {
            let person = person();
            for p in &mut self.problems[from..] {
                p.person.clone_from(&person);
            }
        }
    }
    fn finish(self) -> Result<(), ImportError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Rows {
                problems: self.problems,
            })
        }
    }
}

/// Runs CPU-bound parsing off the async runtime's workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Invalid(format!("join: {e}")))
}

/// The employer periods a register's rows close and open, given those stored now.
async fn period_changes(
    r: &mut Reader,
    register: &[RegisterRow],
    today: Date,
) -> Result<Vec<PeriodChange>> {
    let mut changes = Vec::new();
    for chunk in register.chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|r| r.member.key.to_key_string()).collect();
        let known = r.employer_periods(&keys).await?;
        changes.extend(chunk.iter().filter_map(|r| {
            let key = r.member.key.to_key_string();
            let periods = known.get(&key).map_or(&[][..], |v| v.as_slice());
            let (close, open) = employer_change(periods, &r.member, r.since, today);
            (!close.is_empty() || open.is_some()).then(|| PeriodChange {
                member: r.member.key.clone(),
                close,
                open,
            })
        }));
    }
    Ok(changes)
}

/// Parses a 要精密検査 table and matches its rows against `basis`.
async fn match_referrals(
    r: &mut Reader,
    insurer: &InsurerNumber,
    employer: &EmployerCode,
    basis: &Basis,
    file: &str,
    table: &Table,
) -> Result<Matched<SubmittedReferral>> {
    let referrals = parse_referrals(file, table)?;
    let intake = Intake {
        insurer,
        submitter: Some(employer),
        opt_outs: &basis.opt_outs,
    };
    match_rows(
        r,
        &intake,
        referrals,
        400,
        |r| r.line,
        ReviewPayload::Referral,
    )
    .await
}

/// Parses register rows (all-or-nothing).
pub fn parse_members(
    file: &str,
    table: &Table,
    insurer: &str,
) -> Result<Vec<RegisterRow>, ImportError> {
    let mut rows = Rows {
        file,
        table,
        problems: Vec::new(),
    };
    let c_insurer = table.column(&["保険者番号"]);
    let c_symbol = rows.col(&["記号"])?;
    let c_number = rows.col(&["番号"])?;
    let c_branch = rows.col(&["枝番"])?;
    let c_name = rows.col(&["氏名", "氏名（漢字）"])?;
    let c_kana = rows.col(&["氏名カナ", "カナ氏名"])?;
    let c_sex = rows.col(&["性別"])?;
    let c_birth = rows.col(&["生年月日"])?;
    let c_postal = rows.col(&["郵便番号"])?;
    let c_address = rows.col(&["住所", "住所1"])?;
    let c_address2 = table.column(&["住所2", "方書"]);
    let c_employer = rows.col(&["事業所記号"])?;
    let c_relationship = rows.col(&["本人家族", "本人・家族", "続柄区分"])?;
    let c_since = table.column(&["所属開始日", "事業所所属開始日"]);
    let c_from = rows.col(&["資格取得日"])?;
    let c_until = table.column(&["資格喪失日"]);
    let mut members = Vec::with_capacity(table.rows.len());
    for (line, row) in &table.rows {
        let line = *line;
        let row_insurer = cell(row, c_insurer);
        let insurer_number = if row_insurer.is_empty() {
            insurer.to_owned()
        } else {
            row_insurer.to_owned()
        };
        let before = rows.problems.len();
        let insurer_number = match InsurerNumber::parse(&insurer_number) {
            Ok(i) if i.as_str() == insurer => Some(i),
            Ok(i) => {
                rows.push(
                    line,
                    "保険者番号",
                    ProblemKind::OtherInsurer {
                        value: i.to_string(),
                        ours: insurer.to_owned(),
                    },
                );
                None
            }
            Err(e) => {
                rows.push(line, "保険者番号", ProblemKind::of_id(&insurer_number, &e));
                None
            }
        };
        let symbol = rows.parse(row, line, c_symbol, "記号", id(Symbol::parse));
        let number = rows.parse(row, line, c_number, "番号", id(CardNumber::parse));
        let branch = rows.parse(row, line, c_branch, "枝番", branch);
        let name = rows.text(row, line, c_name, "氏名");
        let kana = rows.text(row, line, c_kana, "氏名カナ");
        let sex = rows.parse(row, line, c_sex, "性別", |t| {
            Sex::from_code(t).ok_or_else(|| ProblemKind::NotOneOf {
                value: t.to_owned(),
                allowed: "1（男）、2（女）",
            })
        });
        let birth = rows.parse(row, line, c_birth, "生年月日", parse_cell_date);
        let postal: String = cell(row, Some(c_postal))
            .chars()
            .filter(|c| c.is_ascii_digit() || ('０'..='９').contains(c))
            .collect();
        let postal = collabo_domain::ids::normalise_code(&postal);
        let address1 = cell(row, Some(c_address)).to_owned();
        let employer = rows.parse(row, line, c_employer, "事業所記号", id(EmployerCode::parse));
        let from = rows.parse(row, line, c_from, "資格取得日", parse_cell_date);
        let relationship = rows.parse(row, line, c_relationship, "本人家族", |t| {
            Relationship::parse(t).ok_or_else(|| ProblemKind::NotOneOf {
                value: t.to_owned(),
                allowed: "本人、家族（1 = 本人、2 = 家族）",
            })
        });
        let since = rows.optional_date(row, line, c_since, "所属開始日");
        let until = rows.optional_date(row, line, c_until, "資格喪失日");
        rows.name_person(before, || {
            row_person(
                row,
                [Some(c_symbol), Some(c_number), Some(c_branch), Some(c_name)],
            )
        });
        if let (
            Some(insurer),
            Some(symbol),
            Some(number),
            Some(branch),
            Some(name),
            Some(kana),
            Some(sex),
            Some(birth),
            Some(employer),
            Some(relationship),
            Some(since),
            Some(from),
            Some(until),
        ) = (
            insurer_number,
            symbol,
            number,
            branch,
            name,
            kana,
            sex,
            birth,
            employer,
            relationship,
            since,
            from,
            until,
        ) {
            members.push(RegisterRow {
                since,
                member: Member {
                    key: MemberKey {
                        insurer,
                        symbol,
                        number,
                        branch,
                    },
                    name_kanji: name,
                    name_kana: kana,
                    sex,
                    birth_date: birth,
                    address: Address {
                        postal_code: postal,
                        line1: address1,
                        line2: cell(row, c_address2).to_owned(),
                    },
                    employer,
                    relationship,
                    qualified_from: from,
                    qualified_until: until,
                },
            });
        }
    }
    rows.finish()?;
    Ok(members)
}

/// Parses 要精密検査 rows (all-or-nothing).
pub fn parse_referrals(file: &str, table: &Table) -> Result<Vec<SubmittedReferral>, ImportError> {
    let mut rows = Rows {
        file,
        table,
        problems: Vec::new(),
    };
    let c_symbol = rows.col(&["記号"])?;
    let c_number = rows.col(&["番号"])?;
    let c_branch = table.column(&["枝番"]);
    let c_name = rows.col(&["氏名"])?;
    let c_birth = rows.col(&["生年月日"])?;
    let c_cancer = rows.col(&["がん検診の種類", "検診種類", "がん種別"])?;
    let c_date = rows.col(&["検診実施年月日", "検診日"])?;
    let c_consent = table.column(&["同意", "データ共有同意"]);
    let mut out = Vec::with_capacity(table.rows.len());
    for (line, row) in &table.rows {
        let line = *line;
        let before = rows.problems.len();
        let symbol = rows.parse(row, line, c_symbol, "記号", id(Symbol::parse));
        let number = rows.parse(row, line, c_number, "番号", id(CardNumber::parse));
        let branch = match cell(row, c_branch) {
            "" => Some(None),
            t => match branch(t) {
                Ok(b) => Some(Some(b)),
                Err(kind) => {
                    rows.push(line, "枝番", kind);
                    None
                }
            },
        };
        let name = rows.text(row, line, c_name, "氏名");
        let birth = rows.parse(row, line, c_birth, "生年月日", parse_cell_date);
        let cancer = rows.parse(row, line, c_cancer, "がん検診の種類", |t| {
            CancerType::parse(t).ok_or_else(|| ProblemKind::NotOneOf {
                value: t.to_owned(),
                allowed: "肺、胃、大腸、乳、子宮頸",
            })
        });
        let date = rows.parse(row, line, c_date, "検診実施年月日", parse_cell_date);
        let consent = match collabo_domain::ids::normalise_code(cell(row, c_consent)).as_str() {
            "1" | "有" | "済" | "同意" | "○" | "true" | "yes" => true,
            "" | "0" | "無" | "false" | "no" => false,
            other => {
                rows.push(
                    line,
                    "同意",
                    ProblemKind::NotOneOf {
                        value: other.to_owned(),
                        allowed: "1（同意あり）、0（同意なし）、空欄",
                    },
                );
                false
            }
        };
        rows.name_person(before, || {
            row_person(
                row,
                [Some(c_symbol), Some(c_number), c_branch, Some(c_name)],
            )
        });
        if let (
            Some(symbol),
            Some(number),
            Some(branch),
            Some(name),
            Some(birth),
            Some(cancer),
            Some(date),
        ) = (symbol, number, branch, name, birth, cancer, date)
        {
            out.push(SubmittedReferral {
                line,
                person: SubmittedPerson {
                    symbol,
                    number,
                    branch,
                    name,
                    birth_date: birth,
                },
                cancer,
                screening_date: date,
                consent_attested: consent,
            });
        }
    }
    rows.finish()?;
    Ok(out)
}

impl App {
    /// Records a refused import (bad rows, bad file): nothing was stored, but the
    /// attempt is audited. Returns the error for the caller to show.
    pub(crate) async fn refused(
        &self,
        actor: &Actor,
        kind: ImportKind,
        file: &str,
        employer: Option<&EmployerCode>,
        error: AppError,
    ) -> AppError {
        if let AppError::Import(e) = &error {
            let first = e.to_string().lines().next().unwrap_or_default().to_owned();
            let mut entry = AuditEntry::new(actor, AuditAction::ImportRejected)
                .detail(format!("{}: {file}: {first}", kind.label()));
            if let Some(e) = employer {
                entry = entry.employer(e);
            }
            if let Err(audit_error) = self.audit_alone(&entry).await {
                return audit_error;
            }
        }
        error
    }

    /// Reads a list file (register, 要精密検査 list, consents) for its import, inside the
    /// door: a file that cannot be read is refused like a bad one, with its audit record
    /// (`import.rejected`) naming the file, not lost before the door. Returns the file's
    /// name as messages show it, and its bytes.
    pub async fn read_import_file(
        &self,
        actor: &Actor,
        kind: ImportKind,
        employer: Option<&EmployerCode>,
        path: &Path,
    ) -> Result<(String, Vec<u8>)> {
        match employer {
            Some(e) => actor.may(Action::UploadEmployerData, Scope::Employer(e))?,
            None => actor.may(Action::ImportSocietyData, Scope::Society)?,
        };
        let file = file_name(path);
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok((file, bytes)),
            Err(source) => {
                let error = ImportError::Io {
                    file: file.clone(),
                    source,
                };
                Err(self
                    .refused(actor, kind, &file, employer, error.into())
                    .await)
            }
        }
    }

    /// Imports the member register (資格). Layout: 保険者番号, 記号, 番号, 枝番, 氏名, 氏名カナ,
    /// 性別 (1/2 or 男/女), 生年月日, 郵便番号, 住所, 住所2, 事業所記号, 本人家族 (本人/家族),
    /// 資格取得日, 資格喪失日, optional 所属開始日.
    pub async fn import_members(
        &self,
        actor: &Actor,
        file: &str,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        actor.may(Action::ImportSocietyData, Scope::Society)?;
        match self.import_members_inner(actor, file, bytes).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .refused(actor, ImportKind::Members, file, None, e)
                .await),
        }
    }

    async fn import_members_inner(
        &self,
        actor: &Actor,
        file: &str,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        let sha256 = sha256_hex(bytes);
        if let Some(summary) = self
            .store()
            .read()
            .await?
            .earlier_import(ImportKind::Members, &sha256)
            .await?
        {
            return Ok(ImportReport { summary, sha256 });
        }
        let register = {
            let (file, bytes, insurer) =
                (file.to_owned(), bytes.to_vec(), self.insurer().to_owned());
            blocking(move || {
                let table = read_table(Path::new(&file), &bytes)?;
                parse_members(&file, &table, &insurer)
            })
            .await??
        };
        // The employer periods to close and open, worked out outside the write
        // transaction; redone inside it if another register import came in between.
        let today = actor.today();
        let mut r = self.store().read().await?;
        let generation = r.register_generation().await?;
        let mut changes = period_changes(&mut r, &register, today).await?;
        drop(r);
        let mut tx = write(self).await?;
        let import_id = match tx
            .begin_import(
                ImportKind::Members,
                file,
                &sha256,
                None,
                &actor.user,
                actor.now,
            )
            .await?
        {
            Begun::New(id) => id,
            Begun::Repeat(summary) => return Ok(ImportReport { summary, sha256 }),
        };
        if tx.register_generation().await? != generation + 1 {
            changes = period_changes(&mut tx, &register, today).await?;
        }
        let mut summary = ImportSummary {
            import_id,
            ..ImportSummary::default()
        };
        for chunk in register.chunks(1000) {
            let members: Vec<Member> = chunk.iter().map(|r| r.member.clone()).collect();
            tx.upsert_members(&members).await?;
            summary.rows += chunk.len() as u64;
            summary.stored += chunk.len() as u64;
        }
        tx.record_periods(&changes).await?;
        tx.finish_import(import_id, &summary).await?;
        tx.audit(&import_entry(
            actor,
            ImportKind::Members,
            file,
            None,
            &summary,
        ))
        .await?;
        // The register changed in bulk: fresh planner statistics keep the lookups by
        // member on the primary key (without them SQLite scanned every member of the
        // society per chunk of a checkup archive: 454 checkups/s at 100,000 members).
        tx.refresh_member_statistics().await?;
        tx.commit().await?;
        Ok(ImportReport { summary, sha256 })
    }

    /// Counts an upload of an employer's contact against the day's quota (the society's
    /// staff are not counted); refuses it, audited, when the quota is used up.
    pub(crate) async fn count_employer_upload(
        &self,
        actor: &Actor,
        kind: ImportKind,
        file: &str,
        employer: &EmployerCode,
    ) -> Result<()> {
        let (Some(quota), collabo_domain::authz::Role::Employer(_)) =
            (self.employer_upload_quota(), &actor.role)
        else {
            return Ok(());
        };
        let mut tx = write(self).await?;
        let before = tx.count_upload(employer, actor.today()).await?;
        if before < quota {
            tx.commit().await?;
            return Ok(());
        }
        drop(tx);
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::ImportRejected)
                .employer(employer)
                .detail(format!(
                    "{}: {file}: 事業所の本日の提出が上限（1日{quota}件）に達したため受付せず",
                    kind.label()
                )),
        )
        .await?;
        Err(AppError::Limit(format!(
            "本日の提出は上限（1日{quota}件）に達しました。明日以降に提出してください。急ぎの場合は健康保険組合の担当者に連絡してください。"
        )))
    }

    /// Imports an employer's 要精密検査 list received today. Layout: 記号, 番号, 枝番
    /// (optional), 氏名, 生年月日, がん検診の種類 (肺/胃/大腸/乳/子宮頸), 検診実施年月日, 同意
    /// (1 = the person consented to data sharing; optional).
    pub async fn import_referrals(
        &self,
        actor: &Actor,
        employer: &EmployerCode,
        file: &str,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        actor.may(Action::UploadEmployerData, Scope::Employer(employer))?;
        match self
            .import_referrals_inner(actor, employer, file, bytes)
            .await
        {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .refused(actor, ImportKind::Referrals, file, Some(employer), e)
                .await),
        }
    }

    async fn import_referrals_inner(
        &self,
        actor: &Actor,
        employer: &EmployerCode,
        file: &str,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        self.count_employer_upload(actor, ImportKind::Referrals, file, employer)
            .await?;
        let sha256 = sha256_hex(bytes);
        let mut r = self.store().read().await?;
        if r.employer(employer).await?.is_none() {
            return Err(AppError::NotFound(format!("employer {employer}")));
        }
        if let Some(summary) = r.earlier_import(ImportKind::Referrals, &sha256).await? {
            return Ok(ImportReport { summary, sha256 });
        }
        drop(r);
        // Parse and match outside the write transaction: others' logins and reads do not
        // wait for this file.
        let table = {
            let (file, bytes) = (file.to_owned(), bytes.to_vec());
            blocking(move || read_table(Path::new(&file), &bytes)).await??
        };
        let insurer =
            InsurerNumber::parse(self.insurer()).map_err(|e| AppError::Invalid(e.to_string()))?;
        let mut r = self.store().read().await?;
        let basis = Basis::read(&mut r).await?;
        let matched = match_referrals(&mut r, &insurer, employer, &basis, file, &table).await?;
        drop(r);
        refuse_flood(file, Some(employer), &matched)?;
        let mut tx = write(self).await?;
        let import_id = match tx
            .begin_import(
                ImportKind::Referrals,
                file,
                &sha256,
                Some(employer),
                &actor.user,
                actor.now,
            )
            .await?
        {
            Begun::New(id) => id,
            Begun::Repeat(summary) => return Ok(ImportReport { summary, sha256 }),
        };
        let now_basis = Basis::read(&mut tx).await?;
        let matched = if now_basis == basis {
            matched
        } else {
            let again =
                match_referrals(&mut tx, &insurer, employer, &now_basis, file, &table).await?;
            refuse_flood(file, Some(employer), &again)?;
            again
        };
        let mut summary = ImportSummary {
            import_id,
            rows: matched.rows,
            to_review: matched.reviews.len() as u64,
            excluded_opted_out: matched.excluded,
            ..ImportSummary::default()
        };
        tx.queue_review(import_id, Some(employer), &matched.reviews, actor.now)
            .await?;
        let (stored, late) = tx
            .insert_referrals(import_id, employer, actor.today(), &matched.admitted)
            .await?;
        summary.stored = stored;
        summary.duplicates = matched.admitted.len() as u64 - stored;
        summary.late = late;
        tx.finish_import(import_id, &summary).await?;
        tx.audit(&import_entry(
            actor,
            ImportKind::Referrals,
            file,
            Some(employer),
            &summary,
        ))
        .await?;
        tx.commit().await?;
        Ok(ImportReport { summary, sha256 })
    }

    /// Imports consent records in bulk. Layout: 記号, 番号, 枝番, 区分 (オプトアウト/同意 or
    /// opt_out/opt_in), 範囲 (all or R/S/D/C), 適用日, 経路 (phone/letter/bulk; default
    /// bulk). Each record is applied as if entered by hand (opt-outs purge and stop
    /// cases), all in one transaction: a file naming someone who is not a member
    /// changes nothing. Returns how many records were applied.
    pub async fn import_consents(&self, actor: &Actor, file: &str, bytes: &[u8]) -> Result<u64> {
        actor.may(Action::ImportSocietyData, Scope::Society)?;
        actor.may(Action::RecordConsent, Scope::Society)?;
        match self.import_consents_inner(actor, file, bytes).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .refused(actor, ImportKind::Consents, file, None, e)
                .await),
        }
    }

    async fn import_consents_inner(&self, actor: &Actor, file: &str, bytes: &[u8]) -> Result<u64> {
        let table = read_table(Path::new(file), bytes)?;
        let records = parse_consents(file, &table, self.insurer(), &actor.user)?;
        let mut tx = write(self).await?;
        let mut problems = Vec::new();
        let mut members = Vec::with_capacity(records.len());
        for (line, record) in &records {
            match tx.member(&record.member).await? {
                Some(m) => members.push(m),
                None => problems.push(problem(
                    file,
                    *line,
                    "記号",
                    ProblemKind::NoSuchMember {
                        member: format!(
                            "{}-{}-{}",
                            record.member.symbol, record.member.number, record.member.branch
                        ),
                    },
                )),
            }
        }
        if !problems.is_empty() {
            return Err(ImportError::Rows { problems }.into());
        }
        for ((_, record), member) in records.iter().zip(&members) {
            crate::consent::record_in(&mut tx, actor, record, member).await?;
        }
        tx.audit(
            &AuditEntry::new(actor, AuditAction::ImportConsents)
                .detail(format!("{file}: 申出{}件を記録", records.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(records.len() as u64)
    }
}

/// Parses consent records (all-or-nothing), with their lines.
pub fn parse_consents(
    file: &str,
    table: &Table,
    insurer: &str,
    recorded_by: &str,
) -> Result<Vec<(u64, ConsentRecord)>, ImportError> {
    let mut rows = Rows {
        file,
        table,
        problems: Vec::new(),
    };
    let c_symbol = rows.col(&["記号"])?;
    let c_number = rows.col(&["番号"])?;
    let c_branch = rows.col(&["枝番"])?;
    let c_kind = rows.col(&["区分"])?;
    let c_scope = table.column(&["範囲"]);
    let c_date = rows.col(&["適用日"])?;
    let c_channel = table.column(&["経路"]);
    let mut records = Vec::new();
    for (line, row) in &table.rows {
        let line = *line;
        let before = rows.problems.len();
        let symbol = rows.parse(row, line, c_symbol, "記号", id(Symbol::parse));
        let number = rows.parse(row, line, c_number, "番号", id(CardNumber::parse));
        let branch = rows.parse(row, line, c_branch, "枝番", branch);
        let kind = rows.parse(row, line, c_kind, "区分", |t| match t {
            "オプトアウト" | "拒否" => Ok(ConsentKind::OptOut),
            "同意" | "オプトイン" => Ok(ConsentKind::OptIn),
            other => ConsentKind::from_code(other).ok_or_else(|| ProblemKind::NotOneOf {
                value: other.to_owned(),
                allowed: "オプトアウト、同意",
            }),
        });
        let scope = match cell(row, c_scope) {
            "" | "全体" => Some(ConsentScope::All),
            t => match ConsentScope::from_code(t) {
                Some(s) => Some(s),
                None => {
                    rows.push(
                        line,
                        "範囲",
                        ProblemKind::NotOneOf {
                            value: t.to_owned(),
                            allowed: "全体（all）、R、S、D、C",
                        },
                    );
                    None
                }
            },
        };
        let date = rows.parse(row, line, c_date, "適用日", parse_cell_date);
        let channel = match cell(row, c_channel) {
            "" => Some(ConsentChannel::Bulk),
            t => match ConsentChannel::from_code(t) {
                Some(c) => Some(c),
                None => {
                    rows.push(
                        line,
                        "経路",
                        ProblemKind::NotOneOf {
                            value: t.to_owned(),
                            allowed: "phone（電話）、letter（書面）、bulk（一括）",
                        },
                    );
                    None
                }
            },
        };
        rows.name_person(before, || {
            row_person(row, [Some(c_symbol), Some(c_number), Some(c_branch), None])
        });
        if let (
            Some(symbol),
            Some(number),
            Some(branch),
            Some(kind),
            Some(scope),
            Some(date),
            Some(channel),
        ) = (symbol, number, branch, kind, scope, date, channel)
        {
            let insurer = InsurerNumber::parse(insurer).map_err(|_| ImportError::Malformed {
                file: file.to_owned(),
                line,
                message: format!("健康保険組合の保険者番号「{insurer}」が正しくありません"),
            })?;
            let member = MemberKey {
                insurer,
                symbol,
                number,
                branch,
            };
            records.push((
                line,
                ConsentRecord {
                    member,
                    kind,
                    scope,
                    effective: date,
                    channel,
                    recorded_by: recorded_by.to_owned(),
                },
            ));
        }
    }
    rows.finish()?;
    Ok(records)
}
