//! `collabo demo`: a synthetic society of a few thousand members, written in the real
//! formats, replayed month by month over one fiscal year on a simulated clock: claims
//! arrive on the 5th (two months after their service month), employers hand over
//! checkup archives and 要精密検査 lists on the 10th, opt-outs are entered on the 12th,
//! the engine runs on the 15th, letters are prepared on the 16th and confirmed mailed on
//! the 20th.

use crate::print;
use anyhow::{Context, Result};
use collabo_domain::Date;
use collabo_domain::calendar::{FiscalYear, YearMonth, add_months};
use collabo_domain::ids::EmployerCode;
use collabo_store::imports::Actor;
use collabo_store::{Society as Letterhead, Store};
use std::path::{Path, PathBuf};

fn at(month: YearMonth, day: i8) -> Date {
    Date::new(month.year(), month.month(), day).unwrap_or(month.first_day())
}

fn noon(date: Date) -> jiff::Timestamp {
    date.at(12, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn demo_actor() -> Actor {
    Actor {
        name: "demo:staff".into(),
        role: "staff".into(),
        origin: "cli".into(),
    }
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

/// Runs the demo.
pub async fn run(dir: &Path, members: u32, employers: u32, seed: u64) -> Result<()> {
    let fy = FiscalYear::new(2025);
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let db = dir.join("collabo.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let inbox = dir.join("inbox");
    let _ = std::fs::remove_dir_all(&inbox);
    println!("合成データの健保組合を作成しています (加入者 {members} 人, 事業所 {employers})…");
    let config = collabo_synth::SynthConfig {
        members,
        employers,
        seed,
        fiscal_year: fy,
        ..Default::default()
    };
    let society = collabo_synth::Society::generate(&config)?;
    let map = crate::group_map(&dir.join("data"))?;
    let files = society.write(&inbox, &map)?;
    println!(
        "  実ファイル形式で書き出しました: 加入者台帳 CSV, 特定健診 XML アーカイブ, 要精密検査者 CSV (Shift_JIS), レセプト UKE (Shift_JIS) → {}",
        inbox.display()
    );

    let url = format!("sqlite:{}", db.display());
    let store = Store::init(
        &url,
        &Letterhead {
            insurer: config.insurer.clone(),
            name: "架空産業健康保険組合".into(),
            section: "保健事業課".into(),
            address: "〒100-0000 東京都千代田区架空町1-1".into(),
            phone: "03-0000-0000".into(),
        },
    )
    .await?;
    for e in &society.employers {
        store.upsert_employer(e).await?;
    }
    for a in &society.agreements {
        store.add_agreement(a).await?;
    }
    let actor = demo_actor();
    let renderer = crate::renderer(&dir.join("data"))
        .context("letters need a Japanese font: run scripts/setup.sh")?;
    let _ = std::fs::remove_dir_all(dir.join("letters"));
    let start = add_months(fy.first_day(), -1)?;
    let report = collabo_app::imports::import_members(
        &store,
        &inbox.join("members.csv"),
        &actor,
        start,
        noon(start),
    )
    .await?;
    println!("  加入者台帳: {} 人", report.summary.stored);

    let months: Vec<YearMonth> = files
        .keys()
        .copied()
        .filter(|m| *m <= YearMonth::of(fy.last_day()))
        .collect();
    let first = months
        .first()
        .copied()
        .unwrap_or(YearMonth::of(fy.first_day()));
    let mut batches = 0u64;
    let mut letters = 0u64;
    for month in first.through(YearMonth::of(fy.last_day())) {
        let month_files: Vec<PathBuf> = files.get(&month).cloned().unwrap_or_default();
        for kind in ["claims", "checkups", "referrals", "consents"] {
            for path in month_files.iter().filter(|p| {
                p.strip_prefix(&inbox)
                    .ok()
                    .and_then(|r| r.components().next())
                    .is_some_and(|c| c.as_os_str() == kind)
            }) {
                let day = match kind {
                    "claims" => 5,
                    "consents" => 12,
                    _ => 10,
                };
                let today = at(month, day);
                let result = match kind {
                    "claims" => collabo_app::claims::import_claims(
                        &store,
                        path,
                        &map,
                        &actor,
                        today,
                        noon(today),
                    )
                    .await
                    .map(Some),
                    "checkups" => collabo_app::checkups::import_checkups(
                        &store,
                        path,
                        sender_employer(path).as_ref(),
                        &actor,
                        today,
                        noon(today),
                    )
                    .await
                    .map(Some),
                    "referrals" => {
                        let employer =
                            sender_employer(path).context("referral list without employer")?;
                        collabo_app::imports::import_referrals(
                            &store,
                            path,
                            &employer,
                            &actor,
                            today,
                            noon(today),
                        )
                        .await
                        .map(Some)
                    }
                    _ => collabo_app::imports::import_consents(
                        &store,
                        path,
                        &actor,
                        today,
                        noon(today),
                    )
                    .await
                    .map(|_| None),
                };
                result.with_context(|| path.display().to_string())?;
            }
        }
        if month < YearMonth::of(fy.first_day()) {
            continue;
        }
        let run_day = at(month, 15);
        let summary = store.run_engine(run_day, |_| {}).await?;
        let (b, l) =
            crate::letters_step(&store, &renderer, dir, at(month, 16), at(month, 20)).await?;
        batches += b;
        letters += l;
        let opened: u64 = summary.opened.values().sum();
        println!(
            "{}: 取込 {} ファイル, 新規ケース {opened}, 経過 {}, レター {l} 通",
            month,
            month_files.len(),
            summary.events_appended
        );
    }
    let end = fy.last_day();
    store.run_engine(end, |_| {}).await?;

    println!();
    println!("{}年度 (令和{}年度) の結果:", fy.year(), fy.year() - 2018);
    print::figures(&store.programme_figures(None).await?);
    println!();
    println!("レター: {batches} バッチ, {letters} 通 (郵送確認済み)");
    println!("ファイル:");
    println!("  データベース     {}", db.display());
    println!("  受け取ったファイル {}", inbox.display());
    println!(
        "  レター PDF と発送リスト {}",
        dir.join("letters").display()
    );
    println!("確認: collabo --db sqlite:{} report", db.display());
    let accounts = collabo_web::demo::ensure_demo_accounts(&store, noon(end)).await?;
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
        println!(
            "  {:<10} パスワード {:<20} 役割 {:<8} {} {}",
            a.username,
            a.password,
            a.role,
            a.employers.join(","),
            a.totp_secret
                .map(|s| format!("TOTP {s}"))
                .unwrap_or_default()
        );
    }
    store.close().await;
    Ok(())
}
