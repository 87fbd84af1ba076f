//! `collabo`: the command line of Collabo. Parses arguments, opens the store, calls the
//! application services and prints what happened. This is the only place (with the web
//! server) that reads the system clock; `--date` overrides "today" everywhere.

mod bench;
mod demo;
mod print;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use collabo_app::imports;
use collabo_domain::Date;
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::employer::{Agreement, AgreementStatus, Employer};
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::programme::ProgrammeCode;
use collabo_store::imports::Actor;
use collabo_store::{Society, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// コラボヘルス支援システム Collabo — 健診・がん検診・レセプトから受診勧奨まで。
#[derive(Parser)]
#[command(name = "collabo", version, about, long_about = None)]
struct Cli {
    /// データベース (sqlite:PATH または postgres://USER@HOST/DB)。既定: sqlite:collabo-data/collabo.sqlite
    #[arg(long, global = true, env = "COLLABO_DB")]
    db: Option<String>,
    /// データフォルダ (レター PDF、マスター、テンプレート)。
    #[arg(
        long,
        global = true,
        env = "COLLABO_DATA",
        default_value = "collabo-data"
    )]
    data: PathBuf,
    /// 処理日 (YYYY-MM-DD)。省略時は今日。
    #[arg(long, global = true)]
    date: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// データベースを作成し、健保組合を登録する。
    Init {
        /// 保険者番号 (8桁)
        #[arg(long)]
        insurer: String,
        /// 健康保険組合名
        #[arg(long)]
        name: String,
        /// 担当部署
        #[arg(long, default_value = "保健事業課")]
        section: String,
        /// 所在地
        #[arg(long, default_value = "")]
        address: String,
        /// 電話番号
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// ファイルを取り込む (同じファイルの二度目は何も変えない)。
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// 事業所を登録・更新する。
    Employer {
        /// 事業所記号
        code: String,
        /// 事業所名
        name: String,
        /// 担当者連絡先
        #[arg(long, default_value = "")]
        contact: String,
    },
    /// 覚書 (がん検診受診勧奨) を申込・締結・解約する。
    Agreement {
        #[command(subcommand)]
        action: AgreementAction,
    },
    /// 本人の申出 (オプトアウト/同意) を記録する。オプトアウトは事業所提供データを削除する。
    Consent {
        /// 加入者 (保険者番号:記号:番号:枝番)
        #[arg(long)]
        member: String,
        /// opt-out または opt-in
        #[arg(long)]
        kind: String,
        /// all または R/S/D/C
        #[arg(long, default_value = "all")]
        scope: String,
        /// 適用日 (省略時は処理日)
        #[arg(long)]
        effective: Option<String>,
        /// phone / letter / portal
        #[arg(long, default_value = "phone")]
        channel: String,
    },
    /// 事業エンジンを実行する (抽出・通知予定・受診確認)。同じ日に二度実行しても変わらない。
    Run,
    /// レター (通知) バッチ: 作成・郵送確認・取消・一覧。
    Letters {
        #[command(subcommand)]
        action: LettersAction,
    },
    /// ケース一覧。
    Cases {
        /// 事業 (R/S/D/C)
        #[arg(long)]
        programme: Option<String>,
        /// 状態 (letter_due, waiting_for_claims, closed_visited …)
        #[arg(long)]
        state: Option<String>,
        /// 加入者キー
        #[arg(long)]
        member: Option<String>,
        /// 件数上限
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// ケースの経過 (タイムライン)。
    Case {
        /// ケースキー
        key: String,
    },
    /// 照合保留 (レビュー) キュー。
    Review {
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// 事業別の集計 (抽出・通知・受診・再勧奨・レセプト待ち)。
    Report {
        /// 年度 (例: 2025)
        #[arg(long)]
        fy: Option<i64>,
    },
    /// レセプト電算マスター (傷病名・診療行為・医薬品) を読み込み、グループ対応表を更新する。
    Masters {
        #[command(subcommand)]
        action: MastersAction,
    },
    /// 監査ログ。
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// 合成データの健保組合を実ファイル形式で書き出す。
    Synth {
        /// 加入者数
        #[arg(long, default_value_t = 3000)]
        members: u32,
        /// 事業所数
        #[arg(long, default_value_t = 8)]
        employers: u32,
        /// 乱数シード
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// 年度
        #[arg(long, default_value_t = 2025)]
        fy: i16,
        /// 出力先
        #[arg(long, default_value = "collabo-synth")]
        out: PathBuf,
    },
    /// デモ: 合成データで1年度を月ごとに再生する (./collabo-demo/)。
    Demo {
        /// 出力先
        #[arg(long, default_value = "collabo-demo")]
        dir: PathBuf,
        /// 加入者数
        #[arg(long, default_value_t = 3000)]
        members: u32,
        /// 事業所数
        #[arg(long, default_value_t = 8)]
        employers: u32,
        /// 乱数シード
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// ポータル (Web 画面と API) を起動する。設定は TOML ファイルと COLLABO_* 環境変数。
    Serve {
        /// 設定ファイル (TOML)
        #[arg(long)]
        config: Option<PathBuf>,
        /// 待ち受けアドレス (例: 127.0.0.1:8080)
        #[arg(long)]
        listen: Option<String>,
        /// HTTP (TLS なし) の localhost で試すときだけ指定: Cookie の Secure 属性を外す
        #[arg(long)]
        insecure_cookies: bool,
    },
    /// ベンチマーク (合成データ)。
    Bench {
        #[command(subcommand)]
        what: bench::BenchWhat,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// 資格 (加入者台帳) CSV/XLSX
    Members { file: PathBuf },
    /// 特定健診 (MHLW XML アーカイブ/フォルダ/XML、または CSV/XLSX)
    Checkups {
        file: PathBuf,
        /// 提出事業所 (省略時は健保組合の人間ドック)
        #[arg(long)]
        employer: Option<String>,
    },
    /// 要精密検査者リスト CSV/XLSX
    Referrals {
        file: PathBuf,
        /// 提出事業所
        #[arg(long)]
        employer: String,
    },
    /// レセプト (UKE)
    Claims { file: PathBuf },
    /// 本人の申出 (一括) CSV
    Consents { file: PathBuf },
}

#[derive(Subcommand)]
enum AgreementAction {
    /// 申込 (申込中)
    Apply {
        #[arg(long)]
        employer: String,
        #[arg(long, default_value = "C")]
        programme: String,
    },
    /// 締結
    Sign { id: i64 },
    /// 解約
    End { id: i64 },
    /// 一覧
    List,
}

#[derive(Subcommand)]
enum LettersAction {
    /// 通知予定のレターを1バッチにまとめ、PDF と発送リストを作る (郵送確認まで「送付済み」にしない)
    Prepare,
    /// バッチを郵送済みにする (ここで初めて通知日として記録)
    Mailed { batch: String },
    /// 印刷前のバッチを取り消す (通知は再び予定に戻る)
    Cancel { batch: String },
    /// バッチ一覧
    List,
}

#[derive(Subcommand)]
enum ReviewAction {
    /// 未処理の一覧
    List,
    /// 加入者を指定して解決する
    Resolve {
        id: i64,
        #[arg(long)]
        member: String,
    },
    /// 該当者なしとして却下する
    Reject { id: i64 },
}

#[derive(Subcommand)]
enum MastersAction {
    /// フォルダのマスターから対応表を作成し、データフォルダに日付付きで保存する
    Load { dir: PathBuf },
}

#[derive(Subcommand)]
enum AuditAction {
    /// ハッシュチェーンを検証する
    Verify,
    /// 直近の記録
    Log {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

// The CLI is one of the two adapters allowed to read the clock.
#[allow(clippy::disallowed_methods)]
fn today(cli: &Cli) -> Result<Date> {
    match &cli.date {
        Some(d) => collabo_app::parse_date(d).map_err(anyhow::Error::msg),
        None => Ok(jiff::Timestamp::now()
            .to_zoned_datetime(
                jiff::tz::TimeZone::get("Asia/Tokyo").unwrap_or(jiff::tz::TimeZone::UTC),
            )
            .date()),
    }
}

#[allow(clippy::disallowed_methods)]
fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn actor() -> Actor {
    Actor {
        name: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        role: "staff".into(),
        origin: "cli".into(),
    }
}

fn db_url(cli: &Cli) -> String {
    cli.db
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", cli.data.join("collabo.sqlite").display()))
}

async fn open(cli: &Cli) -> Result<Store> {
    let url = db_url(cli);
    Store::open(&url, None)
        .await
        .with_context(|| format!("opening {url}"))
}

fn employer_code(text: &str) -> Result<EmployerCode> {
    EmployerCode::parse(text).map_err(|e| anyhow::anyhow!("--employer: {e}"))
}

fn member_key(store: &Store, text: &str) -> Result<MemberKey> {
    let text = if text.matches(':').count() == 2 {
        format!("{}:{text}", store.insurer())
    } else {
        text.to_owned()
    };
    MemberKey::parse_key_string(&text)
        .map_err(|e| anyhow::anyhow!("--member {text}: {e} (保険者番号:記号:番号:枝番)"))
}

/// The group map in force: the newest loaded into the data folder, else the built-in one.
pub(crate) fn group_map(data: &std::path::Path) -> Result<collabo_claims::GroupMap> {
    let dir = data.join("masters");
    let newest = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max();
    match newest {
        Some(path) => {
            let rows: Vec<collabo_claims::GroupRow> =
                serde_json::from_slice(&std::fs::read(&path)?)
                    .with_context(|| format!("{}: not a group map", path.display()))?;
            collabo_claims::GroupMap::from_rows(rows).with_context(|| path.display().to_string())
        }
        None => collabo_claims::GroupMap::builtin().context("built-in group map"),
    }
}

async fn dispatch(cli: Cli) -> Result<()> {
    let today = today(&cli)?;
    match &cli.command {
        Command::Init {
            insurer,
            name,
            section,
            address,
            phone,
        } => {
            std::fs::create_dir_all(&cli.data).with_context(|| cli.data.display().to_string())?;
            let url = db_url(&cli);
            collabo_domain::ids::InsurerNumber::parse(insurer)
                .map_err(|e| anyhow::anyhow!("--insurer: {e}"))?;
            let store = Store::init(
                &url,
                &Society {
                    insurer: insurer.clone(),
                    name: name.clone(),
                    section: section.clone(),
                    address: address.clone(),
                    phone: phone.clone(),
                },
            )
            .await?;
            println!("初期化しました: {url} (保険者番号 {insurer})");
            store.close().await;
        }
        Command::Import { what } => {
            let store = open(&cli).await?;
            let report = match what {
                ImportWhat::Members { file } => {
                    imports::import_members(&store, file, &actor(), today, now()).await?
                }
                ImportWhat::Checkups { file, employer } => {
                    let employer = employer.as_deref().map(employer_code).transpose()?;
                    collabo_app::checkups::import_checkups(
                        &store,
                        file,
                        employer.as_ref(),
                        &actor(),
                        today,
                        now(),
                    )
                    .await?
                }
                ImportWhat::Referrals { file, employer } => {
                    imports::import_referrals(
                        &store,
                        file,
                        &employer_code(employer)?,
                        &actor(),
                        today,
                        now(),
                    )
                    .await?
                }
                ImportWhat::Claims { file } => {
                    collabo_app::claims::import_claims(
                        &store,
                        file,
                        &group_map(&cli.data)?,
                        &actor(),
                        today,
                        now(),
                    )
                    .await?
                }
                ImportWhat::Consents { file } => {
                    let n = imports::import_consents(&store, file, &actor(), today, now()).await?;
                    println!("本人の申出 {n} 件を記録しました。");
                    return Ok(());
                }
            };
            print::import(&report);
            store.close().await;
        }
        Command::Employer {
            code,
            name,
            contact,
        } => {
            let store = open(&cli).await?;
            store
                .upsert_employer(&Employer {
                    code: employer_code(code)?,
                    name: name.clone(),
                    contact: contact.clone(),
                })
                .await?;
            println!("事業所 {code} {name} を登録しました。");
        }
        Command::Agreement { action } => {
            let store = open(&cli).await?;
            match action {
                AgreementAction::Apply {
                    employer,
                    programme,
                } => {
                    let programme =
                        ProgrammeCode::from_letter(programme).context("--programme: R/S/D/C")?;
                    let id = store
                        .add_agreement(&Agreement {
                            employer: employer_code(employer)?,
                            programme,
                            status: AgreementStatus::Applied,
                            signed_on: None,
                            ended_on: None,
                        })
                        .await?;
                    println!("覚書 {id} を申込中として登録しました。");
                }
                AgreementAction::Sign { id } => {
                    store
                        .set_agreement_status(*id, AgreementStatus::Signed, today)
                        .await?;
                    println!("覚書 {id} を {today} 締結にしました。");
                }
                AgreementAction::End { id } => {
                    store
                        .set_agreement_status(*id, AgreementStatus::Ended, today)
                        .await?;
                    println!("覚書 {id} を {today} 解約にしました。");
                }
                AgreementAction::List => {
                    for (id, a) in store.agreements_with_ids().await? {
                        println!(
                            "{id:>4}  {}  {}  {}  締結日 {}  解約日 {}",
                            a.employer,
                            a.programme,
                            a.status.label(),
                            a.signed_on.map(|d| d.to_string()).unwrap_or_default(),
                            a.ended_on.map(|d| d.to_string()).unwrap_or_default()
                        );
                    }
                }
            }
        }
        Command::Consent {
            member,
            kind,
            scope,
            effective,
            channel,
        } => {
            let store = open(&cli).await?;
            let record = ConsentRecord {
                member: member_key(&store, member)?,
                kind: ConsentKind::from_code(&kind.replace('-', "_"))
                    .context("--kind: opt-out または opt-in")?,
                scope: ConsentScope::from_code(scope).context("--scope: all, R, S, D, C")?,
                effective: effective
                    .as_deref()
                    .map(collabo_app::parse_date)
                    .transpose()
                    .map_err(anyhow::Error::msg)?
                    .unwrap_or(today),
                channel: ConsentChannel::from_code(channel)
                    .context("--channel: phone, letter, portal")?,
                recorded_by: actor().name,
            };
            let purge = store
                .record_consent(&record, &actor(), today, now())
                .await?;
            println!(
                "記録しました。削除: 健診 {} 件, 要精密検査 {} 件; 停止したケース {} 件{}",
                purge.checkups,
                purge.referrals,
                purge.cases_stopped,
                if purge.tombstone {
                    "; 今後の提出も除外します"
                } else {
                    ""
                }
            );
        }
        Command::Run => {
            let store = open(&cli).await?;
            let summary = run_with_progress(&store, today).await?;
            print::run(&summary, today);
        }
        Command::Letters { action } => {
            let store = open(&cli).await?;
            match action {
                LettersAction::Prepare => {
                    let renderer = renderer(&cli.data)?;
                    match collabo_app::letters::prepare(
                        &store,
                        &renderer,
                        &cli.data.join("letters"),
                        &actor(),
                        today,
                        now(),
                    )
                    .await?
                    {
                        Some(b) => println!(
                            "バッチ {} を作成しました: {} 通 (住所不備でレビューへ {} 件)\n  PDF: {}\n  発送リスト: {}\n印刷・封入後に `collabo letters mailed {}` で郵送済みにしてください。",
                            b.id,
                            b.letters,
                            b.unmailable,
                            b.dir.display(),
                            b.csv.display(),
                            b.id
                        ),
                        None => println!("通知予定のレターはありません。"),
                    }
                }
                LettersAction::Mailed { batch } => {
                    let n =
                        collabo_app::letters::mailed(&store, batch, &actor(), today, now()).await?;
                    println!("バッチ {batch}: {n} 通を {today} 郵送済みにしました。");
                }
                LettersAction::Cancel { batch } => {
                    let n =
                        collabo_app::letters::cancel(&store, batch, &actor(), today, now()).await?;
                    println!("バッチ {batch} を取り消しました: {n} 通が通知予定に戻りました。");
                }
                LettersAction::List => {
                    for b in store.batches().await? {
                        println!(
                            "{}  {}  {:<10} {:>6} 通  {}",
                            b.id,
                            b.prepared_on,
                            b.status,
                            b.letters,
                            b.pdf_path.unwrap_or_default()
                        );
                    }
                }
            }
        }
        Command::Cases {
            programme,
            state,
            member,
            limit,
        } => {
            let store = open(&cli).await?;
            let programme = programme
                .as_deref()
                .map(|p| ProgrammeCode::from_letter(p).context("--programme"))
                .transpose()?;
            for c in store
                .cases(programme, state.as_deref(), member.as_deref(), *limit)
                .await?
            {
                println!(
                    "{}  {:<22} 開始 {}  更新 {}",
                    c.case_key, c.state, c.opened_on, c.updated_on
                );
            }
        }
        Command::Case { key } => {
            let store = open(&cli).await?;
            let case = store.case(key).await?.context("ケースがありません")?;
            print::timeline(&case);
        }
        Command::Review { action } => {
            let store = open(&cli).await?;
            match action {
                ReviewAction::List => {
                    for item in store.review_items(true).await? {
                        println!(
                            "{:>5}  {}  事業所 {}  取込 {} 行 {}  理由 {}  {}",
                            item.id,
                            item.kind,
                            item.employer_code.unwrap_or_default(),
                            item.import_id,
                            item.line,
                            item.reason,
                            item.payload
                        );
                    }
                }
                ReviewAction::Resolve { id, member } => {
                    store
                        .resolve_review(*id, &member_key(&store, member)?, &actor(), now(), today)
                        .await?;
                    println!("レビュー {id} を {member} として取り込みました。");
                }
                ReviewAction::Reject { id } => {
                    store.reject_review(*id, &actor(), now()).await?;
                    println!("レビュー {id} を却下しました。");
                }
            }
        }
        Command::Report { fy } => {
            let store = open(&cli).await?;
            print::figures(&store.programme_figures(*fy).await?);
        }
        Command::Masters {
            action: MastersAction::Load { dir },
        } => {
            let map = collabo_claims::GroupMap::load_dir(dir)
                .with_context(|| dir.display().to_string())?;
            let out = cli.data.join("masters");
            std::fs::create_dir_all(&out)?;
            let path = out.join(format!("{}-groupmap.json", today.strftime("%Y%m%d")));
            std::fs::write(&path, serde_json::to_vec(map.rows())?)?;
            println!(
                "対応表 {} 行を {} に保存しました (以後のレセプト取込で使用)。",
                map.rows().len(),
                path.display()
            );
        }
        Command::Audit { action } => {
            let store = open(&cli).await?;
            match action {
                AuditAction::Verify => {
                    let check = store.verify_audit().await?;
                    match check.first_broken {
                        None => println!(
                            "監査ログ {} 件: チェーンは正常です。先頭ハッシュ {}",
                            check.records, check.head
                        ),
                        Some(id) => bail!(
                            "監査ログの記録 {id} で改ざんまたは削除を検出しました ({} 件中)",
                            check.records
                        ),
                    }
                }
                AuditAction::Log { limit } => {
                    let filter = collabo_store::audit::AuditFilter {
                        limit: *limit,
                        ..Default::default()
                    };
                    for r in store.audit_records(&filter).await? {
                        println!(
                            "{:>6} {} {:<16} {:<8} {:<18} {} {}",
                            r.id,
                            r.at,
                            r.entry.actor,
                            r.entry.role,
                            r.entry.action,
                            r.entry.member_key.unwrap_or_default(),
                            r.entry.detail
                        );
                    }
                }
            }
        }
        Command::Synth {
            members,
            employers,
            seed,
            fy,
            out,
        } => {
            let config = collabo_synth::SynthConfig {
                members: *members,
                employers: *employers,
                seed: *seed,
                fiscal_year: collabo_domain::calendar::FiscalYear::new(*fy),
                ..Default::default()
            };
            let society = collabo_synth::Society::generate(&config)?;
            let files = society.write(out, &group_map(&cli.data)?)?;
            println!(
                "合成データを {} に書き出しました: 加入者 {}, 健診 {}, 要精密検査 {}, レセプト {} 件, ファイル {}",
                out.display(),
                society.members.len(),
                society.checkups.len(),
                society.referrals.len(),
                society.claims.len(),
                files.values().map(Vec::len).sum::<usize>()
            );
        }
        Command::Demo {
            dir,
            members,
            employers,
            seed,
        } => demo::run(dir, *members, *employers, *seed).await?,
        Command::Bench { what } => bench::run(what, &cli.data).await?,
        Command::Serve {
            config,
            listen,
            insecure_cookies,
        } => {
            let mut settings = collabo_web::config::ServeConfig::load(config.as_deref())?
                .with_env(|k| std::env::var(k).ok())?;
            if cli.db.is_some()
                || (config.is_none() && std::env::var("COLLABO_DATABASE_URL").is_err())
            {
                settings.database_url = db_url(&cli);
            }
            if config.is_none() {
                settings.templates_dir = cli.data.join("templates");
                settings.batches_dir = cli.data.join("letters");
            }
            if let Some(listen) = listen {
                settings.listen = listen.clone();
            }
            if *insecure_cookies {
                settings.secure_cookies = false;
            }
            println!(
                "ポータルを起動します: http://{} (データベース {})",
                settings.listen, settings.database_url
            );
            collabo_web::serve(settings).await?;
        }
    }
    Ok(())
}

/// Runs the engine with a progress bar on standard error.
pub(crate) async fn run_with_progress(
    store: &Store,
    today: Date,
) -> Result<collabo_store::cases::RunSummary> {
    let total = store.count(collabo_store::Table::Members).await?;
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} 人 {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("実行 {today}"));
    if total < 20_000 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = store.run_engine(today, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    Ok(summary)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COLLABO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("エラー: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("エラー: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The letter renderer: system fonts plus `<data>/fonts`, templates from `<data>/templates`
/// over the built-in ones.
pub(crate) fn renderer(data: &std::path::Path) -> Result<collabo_letters::Renderer> {
    let fonts = data.join("fonts");
    let templates = data.join("templates");
    Ok(collabo_letters::Renderer::with_default_fonts(
        fonts.is_dir().then_some(fonts.as_path()),
        templates.is_dir().then_some(templates.as_path()),
    )?)
}

/// Prepares every due letter as a batch on `prepare_on` and, in the demo, confirms it
/// mailed on `mailed_on`. Returns (batches, letters).
pub(crate) async fn letters_step(
    store: &Store,
    renderer: &collabo_letters::Renderer,
    dir: &std::path::Path,
    prepare_on: Date,
    mailed_on: Date,
) -> Result<(u64, u64)> {
    let actor = Actor {
        name: "demo:staff".into(),
        role: "staff".into(),
        origin: "cli".into(),
    };
    let at = |d: Date| {
        d.at(12, 0, 0, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    };
    let Some(batch) = collabo_app::letters::prepare(
        store,
        renderer,
        &dir.join("letters"),
        &actor,
        prepare_on,
        at(prepare_on),
    )
    .await?
    else {
        return Ok((0, 0));
    };
    let n =
        collabo_app::letters::mailed(store, &batch.id, &actor, mailed_on, at(mailed_on)).await?;
    Ok((1, n))
}
