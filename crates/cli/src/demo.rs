//! `collabo demo`: a synthetic society of a few thousand members, written in the real
//! formats, replayed month by month over consecutive fiscal years (`--years`, default
//! 2) on a simulated clock: 覚書 are
//! signed on their signing day, claims arrive on the 5th (two months after their
//! service month), employers hand over checkup archives and 要精密検査 lists on the
//! 10th, opt-outs are entered on the 12th, the engine runs on the 15th, letters are
//! prepared on the 16th and confirmed mailed on the 20th. At the end of each year the
//! employers' aggregates are published; at the end, the effect report of the
//! second-to-last year (its people followed to their next checkup) is printed and
//! written as a PDF, and the portal's demo accounts are created.
//!
//! Every step goes through the one door (`collabo_app::App`) as the person who would
//! take it (an admin for employers and memoranda, staff for the rest), with the clock
//! of the replayed day.

use crate::print;
use anyhow::{Context, Result};
use collabo_app::{Actor, App, Society as Letterhead};
use collabo_domain::Date;
use collabo_domain::authz::Role;
use collabo_domain::calendar::{FiscalYear, YearMonth, add_months, japan_noon};
use collabo_domain::employer::AgreementStatus;
use collabo_domain::ids::EmployerCode;
use collabo_domain::programme::ProgrammeCode;
use collabo_letters::Renderer;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn at(month: YearMonth, day: i8) -> Date {
    Date::new(month.year(), month.month(), day).unwrap_or(month.first_day())
}

/// The demo's staff member, at noon of `day`.
fn staff(day: Date) -> Actor {
    Actor::new("demo:staff", Role::Staff, "cli", japan_noon(day))
}

/// The demo's administrator, at noon of `day`.
fn admin(day: Date) -> Actor {
    Actor::new("demo:admin", Role::Admin, "cli", japan_noon(day))
}

/// The employer that sent a file, from its name: checkup archives start with the
/// sender (`9000001001_…`; the dock institution's number for the society's own data),
/// referral lists with the employer code.
fn sender_employer(path: &Path) -> Option<EmployerCode> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let head = name.split('_').next()?;
    let from_employer = head.len() == 10 && head.starts_with('9');
    let code = if from_employer {
        head[1..].trim_start_matches('0')
    } else {
        head
    };
    if from_employer || path.to_string_lossy().contains("referrals") {
        EmployerCode::parse(code).ok()
    } else {
        None
    }
}

/// Memoranda waiting for their signing (or ending) day: (day, agreement id, new status).
struct Pending(Vec<(Date, i64, AgreementStatus)>);

impl Pending {
    /// Signs or ends every memorandum whose day is on or before `day`, on its own day.
    async fn apply_until(&mut self, app: &App, day: Date) -> Result<()> {
        let (due, later): (Vec<_>, Vec<_>) = self.0.drain(..).partition(|(d, _, _)| *d <= day);
        self.0 = later;
        for (on, id, status) in due {
            app.set_agreement(&admin(on), id, status, on).await?;
        }
        Ok(())
    }
}

/// Prepares every due letter as a batch on `prepare_on` and confirms it mailed on
/// `mailed_on`. Returns (batches, letters).
async fn letters_step(
    app: &App,
    renderer: &Arc<Renderer>,
    dir: &Path,
    prepare_on: Date,
    mailed_on: Date,
) -> Result<(u64, u64)> {
    let Some(batch) = app
        .prepare_letters(&staff(prepare_on), renderer, &dir.join("letters"))
        .await?
    else {
        return Ok((0, 0));
    };
    // Staff look at the batch (every PDF part, envelopes, 差止) and confirm that.
    let shown = app
        .batch_view(&staff(mailed_on), renderer, &batch.id)
        .await?
        .confirmation();
    let n = app
        .mark_mailed(&staff(mailed_on), &batch.id, mailed_on, shown)
        .await?;
    Ok((1, n))
}

/// Runs the demo.
pub async fn run(dir: &Path, members: u32, employers: u32, seed: u64, years: u32) -> Result<()> {
    let years = years.max(1);
    let fy = FiscalYear::new(2025);
    let last_fy = FiscalYear::new(fy.year() + years as i16 - 1);
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    // A new database starts a new audit chain: its key and anchors go with the old one.
    let db = dir.join("collabo.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    for file in ["audit.key", "audit-anchor.log"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let inbox = dir.join("inbox");
    let _ = std::fs::remove_dir_all(&inbox);
    println!(
        "合成データの健保組合を作成しています (加入者 {members} 人, 事業所 {employers}, {years} 年度)…"
    );
    let config = collabo_synth::SynthConfig {
        members,
        employers,
        seed,
        fiscal_year: fy,
        years,
        ..Default::default()
    };
    let society = collabo_synth::Society::generate(&config)?;
    let map = crate::group_map(dir)?;
    let files = society.write(&inbox, &map)?;
    println!(
        "  実ファイル形式で書き出しました: 加入者台帳 CSV, 特定健診 XML アーカイブ, 要精密検査者 CSV (Shift_JIS), レセプト UKE (Shift_JIS) → {}",
        inbox.display()
    );

    // The data folder of the demo is its own folder: audit key and anchors, letters,
    // templates and fonts, as `collabo --data <dir>` expects.
    let url = format!("sqlite:{}", db.display());
    let app = App::init(
        &url,
        &Letterhead {
            insurer: config.insurer.clone(),
            name: "架空産業健康保険組合".into(),
            section: "保健事業課".into(),
            address: "〒100-0000 東京都千代田区架空町1-1".into(),
            phone: "03-0000-0000".into(),
        },
        dir,
    )
    .await?;
    let start = add_months(fy.first_day(), -1)?;
    for e in &society.employers {
        app.upsert_employer(&admin(start), e).await?;
    }
    // The 共同利用 notice (個人情報保護法 第27条第5項第3号) before anything is shared with
    // an employer: the seed's wording, published on the portal's /joint-use page.
    app.record_joint_use_declaration(
        &admin(start),
        &collabo_domain::joint_use::JointUseDeclaration::example(
            start,
            "架空産業健康保険組合",
            "〒100-0000 東京都千代田区架空町1-1",
        ),
    )
    .await?;
    let mut pending = Pending(Vec::new());
    for a in &society.agreements {
        let id = app
            .apply_agreement(&admin(start), &a.employer, a.programme)
            .await?;
        if let Some(on) = a.signed_on {
            pending.0.push((on, id, AgreementStatus::Signed));
        }
        if let Some(on) = a.ended_on {
            pending.0.push((on, id, AgreementStatus::Ended));
        }
    }
    pending.0.sort_by_key(|(on, id, _)| (*on, *id));
    // S and C letters in two wordings, assigned at random per person, so the effect
    // report can compare them (the synthetic society plants no difference).
    let book = app.programme_book(&admin(start)).await?;
    for code in [ProgrammeCode::S, ProgrammeCode::C] {
        if let Some(settings) = book.for_year(code, fy) {
            let mut settings = settings.clone();
            settings.from_year = fy;
            settings.ab_variants = true;
            app.save_programme_settings(&admin(start), &settings)
                .await?;
        }
    }
    pending.apply_until(&app, start).await?;
    let renderer = Arc::new(
        crate::renderer(dir).context("letters need a Japanese font: run scripts/setup.sh")?,
    );
    let _ = std::fs::remove_dir_all(dir.join("letters"));
    let register = inbox.join("members.csv");
    let report = app
        .import_members(
            &staff(start),
            &collabo_app::imports::file_name(&register),
            &collabo_app::imports::read_file(&register)?,
        )
        .await?;
    println!("  加入者台帳: {} 人", report.summary.stored);

    let months: Vec<YearMonth> = files
        .keys()
        .copied()
        .filter(|m| *m <= YearMonth::of(last_fy.last_day()))
        .collect();
    let first = months
        .first()
        .copied()
        .unwrap_or(YearMonth::of(fy.first_day()));
    let mut batches = 0u64;
    let mut letters = 0u64;
    let mut published = Vec::new();
    for month in first.through(YearMonth::of(last_fy.last_day())) {
        let month_files: Vec<PathBuf> = files.get(&month).cloned().unwrap_or_default();
        for kind in ["claims", "checkups", "referrals", "consents"] {
            let day = at(
                month,
                match kind {
                    "claims" => 5,
                    "consents" => 12,
                    _ => 10,
                },
            );
            pending.apply_until(&app, day).await?;
            let actor = staff(day);
            for path in month_files.iter().filter(|p| {
                p.strip_prefix(&inbox)
                    .ok()
                    .and_then(|r| r.components().next())
                    .is_some_and(|c| c.as_os_str() == kind)
            }) {
                let result = match kind {
                    "claims" => app.import_claims(&actor, path, &map).await.map(Some),
                    "checkups" => app
                        .import_checkups(&actor, sender_employer(path).as_ref(), path)
                        .await
                        .map(Some),
                    "referrals" => {
                        let employer =
                            sender_employer(path).context("referral list without employer")?;
                        let bytes = collabo_app::imports::read_file(path)?;
                        app.import_referrals(
                            &actor,
                            &employer,
                            &collabo_app::imports::file_name(path),
                            &bytes,
                        )
                        .await
                        .map(Some)
                    }
                    _ => {
                        let bytes = collabo_app::imports::read_file(path)?;
                        app.import_consents(&actor, &collabo_app::imports::file_name(path), &bytes)
                            .await
                            .map(|_| None)
                    }
                };
                result.with_context(|| path.display().to_string())?;
            }
        }
        if month < YearMonth::of(fy.first_day()) {
            continue;
        }
        let run_day = at(month, 15);
        pending.apply_until(&app, run_day).await?;
        let summary = app.run_engine(&staff(run_day), |_| {}).await?;
        let (b, l) = letters_step(&app, &renderer, dir, at(month, 16), at(month, 20)).await?;
        batches += b;
        letters += l;
        let opened: u64 = summary.opened.values().sum();
        println!(
            "{}: 取込 {} ファイル, 新規ケース {opened}, 経過 {}, レター {l} 通",
            month,
            month_files.len(),
            summary.events_appended
        );
        // The year ends: the last run of the year, the employers' figures published.
        if month.month() == 3 {
            let year = FiscalYear::of(month.first_day());
            let end = year.last_day();
            pending.apply_until(&app, end).await?;
            app.run_engine(&staff(end), |_| {}).await?;
            let n = app.publish_aggregates(&staff(end), year).await?;
            published.push((year, n));
            println!();
            println!(
                "{}年度 (令和{}年度) の結果:",
                year.year(),
                year.year() - 2018
            );
            print::figures(
                &app.programme_figures(&staff(end), Some(i64::from(year.year())))
                    .await?,
            );
            println!();
        }
    }
    let end = last_fy.last_day();
    println!("レター: {batches} バッチ, {letters} 通 (郵送確認済み)");
    for (year, n) in &published {
        println!(
            "事業所別集計: {n} 事業所について {}年度分を公表",
            year.year()
        );
    }
    // The effect of the second-to-last year: its people had their next checkup in the
    // last year, and claims since.
    let effects = if years >= 2 {
        let cohort = FiscalYear::new(last_fy.year() - 1);
        let (report, pdf) = app
            .effect_report_pdf(&staff(end), &renderer, cohort)
            .await?;
        let path = dir.join(format!("effects_{}.pdf", cohort.year()));
        std::fs::write(&path, pdf).with_context(|| path.display().to_string())?;
        Some((report, path))
    } else {
        None
    };
    println!();
    println!("ファイル:");
    println!("  データベース     {}", db.display());
    println!("  受け取ったファイル {}", inbox.display());
    println!(
        "  レター PDF と発送リスト {}",
        dir.join("letters").display()
    );
    if let Some((_, path)) = &effects {
        println!("  効果測定報告 PDF  {}", path.display());
    }
    println!(
        "確認: collabo --data {} --db sqlite:{} report",
        dir.display(),
        db.display()
    );
    let accounts = collabo_web::ensure_demo_accounts(&app, &admin(end)).await?;
    println!();
    println!(
        "ポータル: collabo --db sqlite:{} --data {} serve --insecure-cookies  → http://127.0.0.1:8080",
        db.display(),
        dir.display()
    );
    println!(
        "デモ用アカウント (二要素認証の秘密鍵は認証アプリに登録するか、oathtool --totp -b で6桁を生成):"
    );
    for a in accounts {
        let employers = match &a.role {
            Role::Employer(codes) => codes
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
            _ => String::new(),
        };
        println!(
            "  {:<16} パスワード {:<24} 役割 {:<8} {} {}",
            a.username,
            a.password,
            a.role.code(),
            employers,
            a.totp_secret
                .map(|s| format!("TOTP {s}"))
                .unwrap_or_default()
        );
    }
    app.close().await;
    // The demo ends with what the programmes achieved.
    if let Some((report, path)) = &effects {
        println!();
        print::effects(report);
        println!("効果測定報告 (組合会用 PDF): {}", path.display());
    }
    Ok(())
}
