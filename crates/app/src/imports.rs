//! Imports of the society's register, employers' 要精密検査 lists and bulk consent
//! records from CSV/XLSX. Layouts are documented in docs/formats.md.

use crate::tabular::{Table, cell, problem, read_table};
use crate::{ImportError, ImportReport, RowProblem, parse_date, sha256_hex};
use collabo_domain::Date;
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::matching::SubmittedPerson;
use collabo_domain::member::{Address, Member, Sex};
use collabo_domain::referral::CancerType;
use collabo_store::imports::{Actor, IncomingReferral};
use collabo_store::{ImportKind, Store};
use std::path::Path;

/// Reads a whole file (imports hash the bytes for idempotency).
pub fn read_file(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| ImportError::Io {
        file: path.display().to_string(),
        source,
    })
}

struct Rows<'a> {
    file: &'a str,
    table: &'a Table,
    problems: Vec<RowProblem>,
}

impl<'a> Rows<'a> {
    fn col(&self, names: &[&str]) -> Result<usize, ImportError> {
        self.table.require(self.file, names)
    }
    fn text(&mut self, row: &[String], line: u64, index: usize, field: &str) -> Option<String> {
        let value = cell(row, Some(index));
        if value.is_empty() {
            self.problems
                .push(problem(self.file, line, field, "required value is empty"));
            return None;
        }
        Some(value.to_owned())
    }
    fn parse<T, E: ToString>(
        &mut self,
        row: &[String],
        line: u64,
        index: usize,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let value = self.text(row, line, index, field)?;
        match parse(&value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems
                    .push(problem(self.file, line, field, e.to_string()));
                None
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

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Imports the member register (資格). Layout: 保険者番号, 記号, 番号, 枝番, 氏名, 氏名カナ,
/// 性別 (1/2 or 男/女), 生年月日, 郵便番号, 住所, 住所2, 事業所記号, 資格取得日, 資格喪失日.
pub async fn import_members(
    store: &Store,
    path: &Path,
    actor: &Actor,
    today: Date,
    now: jiff::Timestamp,
) -> Result<ImportReport, ImportError> {
    let bytes = read_file(path)?;
    let sha256 = sha256_hex(&bytes);
    let file = file_name(path);
    let table = read_table(Path::new(&file), &bytes)?;
    let members = parse_members(&file, &table, store.insurer())?;
    let session = match store
        .begin_import(ImportKind::Members, &file, &sha256, None, actor, today, now)
        .await?
    {
        Ok(s) => s,
        Err(summary) => return Ok(ImportReport { summary, sha256 }),
    };
    let mut session = session;
    session.add_members(&members).await?;
    let summary = session.finish().await?;
    Ok(ImportReport { summary, sha256 })
}

/// Parses register rows (all-or-nothing).
pub fn parse_members(file: &str, table: &Table, insurer: &str) -> Result<Vec<Member>, ImportError> {
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
        let insurer_number = match InsurerNumber::parse(&insurer_number) {
            Ok(i) if i.as_str() == insurer => Some(i),
            Ok(i) => {
                rows.problems.push(problem(
                    file,
                    line,
                    "保険者番号",
                    format!("{i} is not this society's number {insurer}"),
                ));
                None
            }
            Err(e) => {
                rows.problems.push(problem(file, line, "保険者番号", e));
                None
            }
        };
        let symbol = rows.parse(row, line, c_symbol, "記号", Symbol::parse);
        let number = rows.parse(row, line, c_number, "番号", CardNumber::parse);
        let branch = rows.parse(row, line, c_branch, "枝番", |t| {
            let t = if t.len() == 1 {
                format!("0{t}")
            } else {
                t.to_owned()
            };
            Branch::parse(&t)
        });
        let name = rows.text(row, line, c_name, "氏名");
        let kana = rows.text(row, line, c_kana, "氏名カナ");
        let sex = rows.parse(row, line, c_sex, "性別", |t| {
            Sex::from_code(t).ok_or("expected 1 (男) or 2 (女)")
        });
        let birth = rows.parse(row, line, c_birth, "生年月日", parse_date);
        let postal: String = cell(row, Some(c_postal))
            .chars()
            .filter(|c| c.is_ascii_digit() || ('０'..='９').contains(c))
            .collect();
        let postal = collabo_domain::ids::normalise_code(&postal);
        let address1 = cell(row, Some(c_address)).to_owned();
        let employer = rows.parse(row, line, c_employer, "事業所記号", EmployerCode::parse);
        let from = rows.parse(row, line, c_from, "資格取得日", parse_date);
        let until = match cell(row, c_until) {
            "" => Some(None),
            t => match parse_date(t) {
                Ok(d) => Some(Some(d)),
                Err(e) => {
                    rows.problems.push(problem(file, line, "資格喪失日", e));
                    None
                }
            },
        };
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
            from,
            until,
        ) {
            members.push(Member {
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
                qualified_from: from,
                qualified_until: until,
            });
        }
    }
    rows.finish()?;
    Ok(members)
}

/// Imports an employer's 要精密検査 list. Layout: 記号, 番号, 枝番 (optional), 氏名,
/// 生年月日, がん検診の種類 (肺/胃/大腸/乳/子宮頸), 検診実施年月日, 同意 (1 = the person
/// consented to data sharing; optional). `received_on` is the day the society got it.
pub async fn import_referrals(
    store: &Store,
    path: &Path,
    employer: &EmployerCode,
    actor: &Actor,
    received_on: Date,
    now: jiff::Timestamp,
) -> Result<ImportReport, ImportError> {
    let bytes = read_file(path)?;
    import_referrals_bytes(
        store,
        &file_name(path),
        &bytes,
        employer,
        actor,
        received_on,
        now,
    )
    .await
}

/// Like [`import_referrals`] for an upload already in memory.
pub async fn import_referrals_bytes(
    store: &Store,
    file: &str,
    bytes: &[u8],
    employer: &EmployerCode,
    actor: &Actor,
    received_on: Date,
    now: jiff::Timestamp,
) -> Result<ImportReport, ImportError> {
    let sha256 = sha256_hex(bytes);
    let table = read_table(Path::new(file), bytes)?;
    let referrals = parse_referrals(file, &table)?;
    let mut session = match store
        .begin_import(
            ImportKind::Referrals,
            file,
            &sha256,
            Some(employer),
            actor,
            received_on,
            now,
        )
        .await?
    {
        Ok(s) => s,
        Err(summary) => return Ok(ImportReport { summary, sha256 }),
    };
    session.add_referrals(&referrals).await?;
    let summary = session.finish().await?;
    Ok(ImportReport { summary, sha256 })
}

/// Parses 要精密検査 rows (all-or-nothing).
pub fn parse_referrals(file: &str, table: &Table) -> Result<Vec<IncomingReferral>, ImportError> {
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
        let symbol = rows.parse(row, line, c_symbol, "記号", Symbol::parse);
        let number = rows.parse(row, line, c_number, "番号", CardNumber::parse);
        let branch = match cell(row, c_branch) {
            "" => Some(None),
            t => match Branch::parse(&if t.len() == 1 {
                format!("0{t}")
            } else {
                t.to_owned()
            }) {
                Ok(b) => Some(Some(b)),
                Err(e) => {
                    rows.problems.push(problem(file, line, "枝番", e));
                    None
                }
            },
        };
        let name = rows.text(row, line, c_name, "氏名");
        let birth = rows.parse(row, line, c_birth, "生年月日", parse_date);
        let cancer = rows.parse(row, line, c_cancer, "がん検診の種類", |t| {
            CancerType::parse(t).ok_or("expected 肺, 胃, 大腸, 乳 or 子宮頸")
        });
        let date = rows.parse(row, line, c_date, "検診実施年月日", parse_date);
        let consent = match collabo_domain::ids::normalise_code(cell(row, c_consent)).as_str() {
            "1" | "有" | "済" | "同意" | "○" | "true" | "yes" => true,
            "" | "0" | "無" | "false" | "no" => false,
            other => {
                rows.problems.push(problem(
                    file,
                    line,
                    "同意",
                    format!("{other:?}: expected 1 (同意あり) or 0"),
                ));
                false
            }
        };
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
            out.push(IncomingReferral {
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

/// Imports consent records in bulk. Layout: 記号, 番号, 枝番, 区分 (オプトアウト/同意 or
/// opt_out/opt_in), 範囲 (all or R/S/D/C), 適用日, 経路 (phone/letter/bulk; default bulk).
/// Each record is applied as if entered by hand (opt-outs purge and stop cases).
pub async fn import_consents(
    store: &Store,
    path: &Path,
    actor: &Actor,
    today: Date,
    now: jiff::Timestamp,
) -> Result<u64, ImportError> {
    let bytes = read_file(path)?;
    let file = file_name(path);
    let table = read_table(Path::new(&file), &bytes)?;
    let mut rows = Rows {
        file: &file,
        table: &table,
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
        let symbol = rows.parse(row, line, c_symbol, "記号", Symbol::parse);
        let number = rows.parse(row, line, c_number, "番号", CardNumber::parse);
        let branch = rows.parse(row, line, c_branch, "枝番", |t| {
            Branch::parse(&if t.len() == 1 {
                format!("0{t}")
            } else {
                t.to_owned()
            })
        });
        let kind = rows.parse(row, line, c_kind, "区分", |t| match t {
            "オプトアウト" | "拒否" => Ok(ConsentKind::OptOut),
            "同意" | "オプトイン" => Ok(ConsentKind::OptIn),
            other => ConsentKind::from_code(other).ok_or("expected オプトアウト or 同意"),
        });
        let scope = match cell(row, c_scope) {
            "" | "全体" => Some(ConsentScope::All),
            t => match ConsentScope::from_code(t) {
                Some(s) => Some(s),
                None => {
                    rows.problems.push(problem(
                        &file,
                        line,
                        "範囲",
                        format!("{t:?}: expected all, R, S, D or C"),
                    ));
                    None
                }
            },
        };
        let date = rows.parse(row, line, c_date, "適用日", parse_date);
        let channel = match cell(row, c_channel) {
            "" => Some(ConsentChannel::Bulk),
            t => match ConsentChannel::from_code(t) {
                Some(c) => Some(c),
                None => {
                    rows.problems.push(problem(
                        &file,
                        line,
                        "経路",
                        format!("{t:?}: expected phone, letter or bulk"),
                    ));
                    None
                }
            },
        };
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
            let insurer =
                InsurerNumber::parse(store.insurer()).map_err(|e| ImportError::Malformed {
                    file: file.clone(),
                    line,
                    message: e.to_string(),
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
                    recorded_by: actor.name.clone(),
                },
            ));
        }
    }
    rows.finish()?;
    let mut problems = Vec::new();
    for (line, record) in &records {
        if store
            .member(&record.member.to_key_string())
            .await?
            .is_none()
        {
            problems.push(problem(
                &file,
                *line,
                "記号",
                format!("no member {}", record.member),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows { problems });
    }
    for (_, record) in &records {
        store.record_consent(record, actor, today, now).await?;
    }
    Ok(records.len() as u64)
}
