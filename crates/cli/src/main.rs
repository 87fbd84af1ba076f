//! `collabo`: the command line of Collabo. Parses arguments, opens the application
//! (`collabo_app::App`, the one door to every business operation), calls it as the
//! acting user and prints what happened. This is the only place (with the web server)
//! that reads the system clock; `--date` overrides "today" everywhere.

/// Prints a line on standard output; a closed pipe (`collabo … | head`) ends the
/// command quietly instead of panicking as `std`'s `println!` does.
macro_rules! println {
    () => {
        $crate::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}

mod bench;
mod demo;
mod print;
mod progress;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use collabo_app::audit::AuditFilter;
use collabo_app::imports::file_name;
use collabo_app::members::CaseFilter;
use collabo_app::review::{Resolution, ReviewFilter};
use collabo_app::{Actor, App, Society};
use collabo_domain::admission::ImportKind;
use collabo_domain::authz::Role;
use collabo_domain::calendar::{FiscalYear, japan_date};
use collabo_domain::case::{CaseKey, CaseState};
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::coverage::ClaimStream;
use collabo_domain::employer::{AgreementStatus, Employer};
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::programme::ProgrammeCode;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// コラボヘルス支援システム Collabo — 健診・がん検診・レセプトから受診勧奨まで。
#[derive(Parser)]
#[command(name = "collabo", version, long_about = None)]
struct Cli {
    /// データベース (sqlite:PATH または postgres://USER@HOST/DB)。既定: sqlite:collabo-data/collabo.sqlite
    #[arg(long, global = true, env = "COLLABO_DB")]
    db: Option<String>,
    /// データフォルダ (監査ログの鍵とアンカー、レター PDF、マスター、テンプレート)。
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
    /// レター (通知) バッチ: 作成・内容・郵送確認・取消・一覧。
    Letters {
        #[command(subcommand)]
        action: LettersAction,
    },
    /// レセプトの取込状況 (診療月・請求の種類ごと)、請求なしの月の手動確定と取消。
    Claims {
        #[command(subcommand)]
        action: ClaimsAction,
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
        /// JSON で出力する (スクリプト用)
        #[arg(long)]
        json: bool,
    },
    /// ポータルのユーザー: 追加・パスワード再設定・ロック解除・無効化。
    User {
        #[command(subcommand)]
        action: UserAction,
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
        /// その年度に抽出した人の効果 (禁煙率・受診率・HbA1c 変化・精密検査受診率, 95%信頼区間付き)。
        /// --fy がなければ前年度。
        #[arg(long)]
        effects: bool,
        /// 効果測定レポートの PDF をこのパスに書き出す (--effects と共に)。
        #[arg(long)]
        pdf: Option<PathBuf>,
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
    /// 共同利用の公表事項 (個人情報保護法第27条第5項第3号): 表示・登録・終了。これがないと事業所への提供は止まる。
    JointUse {
        #[command(subcommand)]
        action: JointUseAction,
    },
    /// 保存期間 (特定健診実施基準第10条) を過ぎた記録の一覧。--confirm で廃棄する (既定は一覧だけ)。
    Retention {
        /// 一覧の記録を削除する (加入者ごとに監査記録を残す)
        #[arg(long)]
        confirm: bool,
        /// 一覧 (廃棄報告) を CSV に書き出す
        #[arg(long)]
        report: Option<PathBuf>,
        /// 保存年数を変える (5 年以上; 記録の翌年度から数える)
        #[arg(long)]
        years: Option<i16>,
    },
    /// 事業所向け集計 (小さいセルは秘匿) を公表する。
    Aggregates {
        #[command(subcommand)]
        action: AggregatesAction,
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
    /// デモ: 合成データで連続する年度を月ごとに再生する (./collabo-demo/)。
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
        /// 再生する年度の数 (2 年度以上で次回健診による効果が見える)
        #[arg(long, default_value_t = 2)]
        years: u32,
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
    Members {
        /// ファイル
        file: PathBuf,
    },
    /// 特定健診 (MHLW XML アーカイブ/フォルダ/XML、または CSV/XLSX)
    Checkups {
        /// ファイルまたはフォルダ
        file: PathBuf,
        /// 提出事業所 (省略時は健保組合の人間ドック)
        #[arg(long)]
        employer: Option<String>,
    },
    /// 要精密検査者リスト CSV/XLSX
    Referrals {
        /// ファイル
        file: PathBuf,
        /// 提出事業所
        #[arg(long)]
        employer: String,
    },
    /// レセプト (UKE)
    Claims {
        /// ファイル
        file: PathBuf,
    },
    /// 本人の申出 (一括) CSV
    Consents {
        /// ファイル
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum JointUseAction {
    /// 現在の公表事項と過去の版
    Show,
    /// 登録ファイルのひな形 (TOML) を表示する
    Example,
    /// 新しい版を登録する (TOML ファイル; ひな形は example)
    Record {
        /// ファイル
        file: PathBuf,
    },
    /// 版を終了する (その日まで有効)
    End {
        /// 版番号
        version: i64,
        /// 最終日 (省略時は処理日)
        #[arg(long)]
        on: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgreementAction {
    /// 申込 (申込中)
    Apply {
        /// 事業所記号
        #[arg(long)]
        employer: String,
        /// 事業 (R/S/D/C)
        #[arg(long, default_value = "C")]
        programme: String,
    },
    /// 締結 (処理日に締結)
    Sign {
        /// 覚書の番号
        id: i64,
    },
    /// 解約 (処理日に解約)
    End {
        /// 覚書の番号
        id: i64,
    },
    /// 一覧
    List,
}

#[derive(Subcommand)]
enum LettersAction {
    /// 通知予定のレターを1バッチにまとめ、PDF と発送リストを作る (郵送確認まで「送付済み」にしない)
    Prepare,
    /// バッチの内容: PDF の全ファイル、封筒数、取下げ・差止の一覧 (ファイルは最新にしてから表示)
    Show {
        /// バッチ番号
        batch: String,
    },
    /// バッチを郵送済みにする (ここで初めて通知日として記録)。--yes なしでは内容を表示するだけ
    Mailed {
        /// バッチ番号
        batch: String,
        /// 発送日 (省略時は処理日)
        #[arg(long)]
        on: Option<String>,
        /// 表示した PDF・封筒数・差止の内容で発送済にする
        #[arg(long)]
        yes: bool,
    },
    /// 印刷前のバッチを取り消す (通知は再び予定に戻り、ファイルは削除される)
    Cancel {
        /// バッチ番号
        batch: String,
    },
    /// バッチ一覧
    List,
}

#[derive(Subcommand)]
enum ClaimsAction {
    /// 診療月ごとの取込状況と「レセプト取込済: …まで」の一行
    Coverage,
    /// その月に請求がなかった種類を手動で確定する (理由は監査ログに残る)
    Close {
        /// 診療月 (YYYY-MM)
        #[arg(long)]
        month: String,
        /// 請求の種類 (medical / dpc / dental / pharmacy, または 医科・DPC・歯科・調剤)
        #[arg(long)]
        stream: String,
        /// 理由
        #[arg(long)]
        reason: String,
    },
    /// 手動の確定を取り消す
    Reopen {
        /// 診療月 (YYYY-MM)
        #[arg(long)]
        month: String,
        /// 請求の種類
        #[arg(long)]
        stream: String,
        /// 理由
        #[arg(long)]
        reason: String,
    },
    /// 受け取る請求の種類 (既定: 医科・DPC・歯科・調剤)。--set で変更 (管理者)
    Streams {
        /// 例: medical,dpc,dental,pharmacy
        #[arg(long)]
        set: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// ユーザーを追加する (同じ名前があれば置き換える)。パスワードは標準入力の1行目 (12文字以上)
    Add {
        /// ユーザー名 (ログイン名)
        username: String,
        /// 役割: admin (管理者), staff (保健事業担当), auditor (監査担当), employer (事業所担当者)
        #[arg(long)]
        role: String,
        /// 表示名 (省略時はユーザー名)
        #[arg(long, default_value = "")]
        name: String,
        /// 事業所担当者の事業所記号 (カンマ区切り)
        #[arg(long)]
        employer: Option<String>,
    },
    /// パスワードを再設定する (無効化したユーザーは再び使えるようになる)。新しいパスワードは標準入力の1行目
    Passwd {
        /// ユーザー名
        username: String,
    },
    /// 二要素認証の失敗によるロックを解除する
    Unlock {
        /// ユーザー名
        username: String,
    },
    /// ユーザーを無効にする (ログイン不可、セッション終了、API トークン失効)
    Disable {
        /// ユーザー名
        username: String,
    },
    /// ユーザーの一覧
    List,
}

#[derive(Subcommand)]
enum ReviewAction {
    /// 未処理の一覧 (表)
    List {
        /// JSON で出力する (スクリプト用)
        #[arg(long)]
        json: bool,
    },
    /// 加入者を指定して解決する
    Resolve {
        /// レビュー番号
        id: i64,
        /// 加入者 (記号:番号:枝番 または 保険者番号:記号:番号:枝番)
        #[arg(long)]
        member: String,
    },
    /// 該当者なしとして却下する
    Reject {
        /// レビュー番号
        id: i64,
    },
}

#[derive(Subcommand)]
enum MastersAction {
    /// フォルダのマスターから対応表を作成し、データフォルダに日付付きで保存する
    Load {
        /// マスターのフォルダ
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum AggregatesAction {
    /// 年度の事業所別集計を計算して公表する (事業所担当者は次の公表までこの表を見る)
    Publish {
        /// 年度 (例: 2025)
        #[arg(long)]
        fy: i16,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// ハッシュチェーンを検証する
    Verify,
    /// 直近の記録
    Log {
        /// 件数
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

// The CLI is one of the two adapters allowed to read the clock.
#[allow(clippy::disallowed_methods)]
fn now(cli: &Cli) -> Result<jiff::Timestamp> {
    let clock = jiff::Timestamp::now();
    match &cli.date {
        // Every timestamp of the command falls on the day given.
        Some(d) => {
            let day = collabo_app::parse_date(d).map_err(|e| anyhow::anyhow!("--date: {e}"))?;
            Ok(collabo_domain::calendar::on_day(day, clock))
        }
        None => Ok(clock),
    }
}

/// The operating-system user at the command line, acting in `role` at `now`.
fn actor(role: Role, now: jiff::Timestamp) -> Actor {
    Actor::new(
        format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        role,
        "cli",
        now,
    )
}

fn db_url(cli: &Cli) -> String {
    cli.db
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", cli.data.join("collabo.sqlite").display()))
}

async fn open(cli: &Cli) -> Result<App> {
    let url = db_url(cli);
    App::open(&url, None, &cli.data)
        .await
        .with_context(|| format!("opening {url}"))
}

fn employer_code(text: &str) -> Result<EmployerCode> {
    EmployerCode::parse(text).map_err(|e| anyhow::anyhow!("--employer: {e}"))
}

fn member_key(app: &App, text: &str) -> Result<MemberKey> {
    let text = if text.matches(':').count() == 2 {
        format!("{}:{text}", app.insurer())
    } else {
        text.to_owned()
    };
    MemberKey::parse_key_string(&text)
        .map_err(|e| anyhow::anyhow!("--member {text}: {e} (保険者番号:記号:番号:枝番)"))
}

/// A role from `--role` (and `--employer` for an employer's contact).
fn parse_role(role: &str, employers: Option<&str>) -> Result<Role> {
    Ok(match role.trim() {
        "admin" | "管理者" => Role::Admin,
        "staff" | "保健事業担当" => Role::Staff,
        "auditor" | "監査担当" => Role::Auditor,
        "employer" | "事業所担当者" => {
            let codes = employers
                .unwrap_or_default()
                .split(',')
                .filter(|c| !c.trim().is_empty())
                .map(|c| employer_code(c.trim()))
                .collect::<Result<Vec<_>>>()?;
            if codes.is_empty() {
                bail!("事業所担当者には --employer で事業所記号を指定してください。");
            }
            Role::Employer(codes)
        }
        other => bail!(
            "--role {other}: admin（管理者）、staff（保健事業担当）、auditor（監査担当）、employer（事業所担当者）のいずれかを指定してください。"
        ),
    })
}

/// A role's Japanese name.
fn role_label(role: &Role) -> &'static str {
    match role {
        Role::Admin => "管理者",
        Role::Staff => "保健事業担当",
        Role::Auditor => "監査担当",
        Role::Employer(_) => "事業所担当者",
    }
}

/// A password from the first line of standard input (typed, or piped by a script), so
/// it is not in the shell's history or the process list.
fn read_password() -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!("パスワード（12文字以上）: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("パスワードを標準入力から読めません")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!(
            "パスワードを標準入力の1行目に入れてください（例: `printf '%s\\n' \"$PW\" | collabo user add …`）。"
        );
    }
    Ok(password)
}

/// A file's name (as shown in messages) and bytes, for the imports that read it whole.
/// The group map in force: the newest loaded into the data folder, else the built-in one.
pub(crate) fn group_map(data: &Path) -> Result<collabo_claims::GroupMap> {
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
    let now = now(&cli)?;
    let today = japan_date(now);
    let admin = || actor(Role::Admin, now);
    let staff = || actor(Role::Staff, now);
    let auditor = || actor(Role::Auditor, now);
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
            let app = App::init(
                &url,
                &Society {
                    insurer: insurer.clone(),
                    name: name.clone(),
                    section: section.clone(),
                    address: address.clone(),
                    phone: phone.clone(),
                },
                &cli.data,
            )
            .await?;
            println!("初期化しました: {url} (保険者番号 {insurer})");
            app.close().await;
        }
        Command::Import { what } => {
            let app = open(&cli).await?;
            let actor = staff();
            let report = match what {
                ImportWhat::Members { file } => {
                    let (name, bytes) = app
                        .read_import_file(&actor, ImportKind::Members, None, file)
                        .await?;
                    let bar = progress::working(&name);
                    let report = app.import_members(&actor, &name, &bytes).await;
                    bar.finish_and_clear();
                    report?
                }
                ImportWhat::Checkups { file, employer } => {
                    let employer = employer.as_deref().map(employer_code).transpose()?;
                    let counter = collabo_app::Progress::default();
                    let bar = progress::records(&file_name(file), &counter);
                    let report = app
                        .import_checkups_with_progress(&actor, employer.as_ref(), file, &counter)
                        .await;
                    bar.finish_and_clear();
                    report?
                }
                ImportWhat::Referrals { file, employer } => {
                    let employer = employer_code(employer)?;
                    let (name, bytes) = app
                        .read_import_file(&actor, ImportKind::Referrals, Some(&employer), file)
                        .await?;
                    let bar = progress::working(&name);
                    let report = app.import_referrals(&actor, &employer, &name, &bytes).await;
                    bar.finish_and_clear();
                    report?
                }
                ImportWhat::Claims { file } => {
                    let map = group_map(&cli.data)?;
                    let counter = collabo_app::Progress::default();
                    let size = std::fs::metadata(file).map_or(0, |m| m.len());
                    let bar = progress::bytes(&file_name(file), size, &counter);
                    let report = app
                        .import_claims_with_progress(&actor, file, &map, &counter)
                        .await;
                    bar.finish_and_clear();
                    report?
                }
                ImportWhat::Consents { file } => {
                    let (name, bytes) = app
                        .read_import_file(&actor, ImportKind::Consents, None, file)
                        .await?;
                    let bar = progress::working(&name);
                    let n = app.import_consents(&actor, &name, &bytes).await;
                    bar.finish_and_clear();
                    println!("本人の申出 {} 件を記録しました。", n?);
                    refresh_stale_batches(&app, &actor, &cli.data).await?;
                    app.close().await;
                    return Ok(());
                }
            };
            print::import(&report);
            app.close().await;
        }
        Command::Employer {
            code,
            name,
            contact,
        } => {
            let app = open(&cli).await?;
            app.upsert_employer(
                &admin(),
                &Employer {
                    code: employer_code(code)?,
                    name: name.clone(),
                    contact: contact.clone(),
                },
            )
            .await?;
            println!("事業所 {code} {name} を登録しました。");
        }
        Command::JointUse { action } => {
            let app = open(&cli).await?;
            match action {
                JointUseAction::Show => {
                    let notice = app.joint_use_notice(today).await?;
                    match &notice.current {
                        Some(d) => print::joint_use(d),
                        None => println!(
                            "{today} に有効な共同利用の公表事項はありません。事業所への提供 (リスク保有者一覧・集計) は止まっています。"
                        ),
                    }
                    for d in &notice.versions {
                        println!(
                            "第{}版  {} 〜 {}",
                            d.version,
                            d.effective_from,
                            d.effective_until.map(|u| u.to_string()).unwrap_or_default()
                        );
                    }
                }
                JointUseAction::Example => {
                    let society = app.society().await?;
                    print!(
                        "{}",
                        print::joint_use_toml(
                            &collabo_domain::joint_use::JointUseDeclaration::example(
                                today,
                                &society.name,
                                &society.address
                            )
                        )
                    );
                }
                JointUseAction::Record { file } => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("{} を読めません", file.display()))?;
                    let declaration: collabo_domain::joint_use::JointUseDeclaration =
                        print::joint_use_from_toml(&text)
                            .with_context(|| file.display().to_string())?;
                    let version = app
                        .record_joint_use_declaration(&admin(), &declaration)
                        .await?;
                    println!(
                        "共同利用の公表事項 第{version}版を登録しました ({} から有効)。",
                        declaration.effective_from
                    );
                }
                JointUseAction::End { version, on } => {
                    let until = match on {
                        Some(text) => collabo_app::parse_date(text)
                            .map_err(|e| anyhow::anyhow!("--on: {e}"))?,
                        None => today,
                    };
                    app.end_joint_use_declaration(&admin(), *version, until)
                        .await?;
                    println!("第{version}版を {until} までとしました。");
                }
            }
            app.close().await;
        }
        Command::Retention {
            confirm,
            report,
            years,
        } => {
            let app = open(&cli).await?;
            if let Some(years) = years {
                app.set_retention_rule(&admin(), *years).await?;
                println!("保存期間を {years} 年にしました。");
            }
            let plan = if *confirm {
                let done = app.dispose_past_retention(&staff()).await?;
                println!(
                    "廃棄しました: 健診結果 {} 件、要精密検査 {} 件、受診記録 {} 件、終了ケース {} 件 ({} 人、監査記録は1人1件)。",
                    done.disposed.checkups,
                    done.disposed.referrals,
                    done.disposed.visits,
                    done.disposed.cases,
                    done.plan.people
                );
                done.plan
            } else {
                let plan = app.retention_plan(&staff()).await?;
                print::retention(&plan);
                if !plan.lines.is_empty() {
                    println!("（確認のみ。削除するには --confirm を付けて実行してください。）");
                }
                plan
            };
            if let Some(path) = report {
                std::fs::write(path, plan.to_csv()).with_context(|| path.display().to_string())?;
                println!("一覧を {} に書き出しました。", path.display());
            }
            app.close().await;
        }
        Command::Agreement { action } => {
            let app = open(&cli).await?;
            let actor = admin();
            match action {
                AgreementAction::Apply {
                    employer,
                    programme,
                } => {
                    let programme =
                        ProgrammeCode::from_letter(programme).context("--programme: R/S/D/C")?;
                    let id = app
                        .apply_agreement(&actor, &employer_code(employer)?, programme)
                        .await?;
                    println!("覚書 {id} を申込中として登録しました。");
                }
                AgreementAction::Sign { id } => {
                    app.set_agreement(&actor, *id, AgreementStatus::Signed, today)
                        .await?;
                    println!("覚書 {id} を {today} 締結にしました。");
                }
                AgreementAction::End { id } => {
                    app.set_agreement(&actor, *id, AgreementStatus::Ended, today)
                        .await?;
                    println!("覚書 {id} を {today} 解約にしました。");
                }
                AgreementAction::List => {
                    for (id, a) in app.agreements(&actor).await? {
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
            let app = open(&cli).await?;
            let actor = staff();
            let record = ConsentRecord {
                member: member_key(&app, member)?,
                kind: ConsentKind::from_code(&kind.replace('-', "_"))
                    .context("--kind: opt-out または opt-in")?,
                scope: ConsentScope::from_code(scope).context("--scope: all, R, S, D, C")?,
                effective: effective
                    .as_deref()
                    .map(collabo_app::parse_date)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--effective: {e}"))?
                    .unwrap_or(today),
                channel: ConsentChannel::from_code(channel)
                    .context("--channel: phone, letter, portal")?,
                recorded_by: actor.user.clone(),
            };
            let purge = app.record_consent(&actor, &record).await?;
            println!(
                "記録しました。削除: 健診 {} 件, 要精密検査 {} 件; 停止したケース {} 件, バッチから取り下げた通知 {} 件{}",
                purge.checkups,
                purge.referrals,
                purge.cases_stopped,
                purge.letters_withdrawn,
                if purge.tombstone {
                    "; 今後の提出も除外します"
                } else {
                    ""
                }
            );
            refresh_stale_batches(&app, &actor, &cli.data).await?;
        }
        Command::Run => {
            let app = open(&cli).await?;
            let actor = staff();
            let summary = run_with_progress(&app, &actor).await?;
            print::run(&summary, actor.today());
            refresh_stale_batches(&app, &actor, &cli.data).await?;
            app.close().await;
        }
        Command::Letters { action } => {
            let app = open(&cli).await?;
            let actor = staff();
            match action {
                LettersAction::Prepare => {
                    let renderer = Arc::new(renderer(&cli.data)?);
                    match app
                        .prepare_letters(&actor, &renderer, &cli.data.join("letters"))
                        .await?
                    {
                        Some(b) => println!(
                            "バッチ {} を作成しました: {} 通 (封筒 {} 通・{} 頁・PDF {} ファイル、住所不備でレビューへ {} 件)\n  フォルダ: {}\n  発送リスト: {}\n印刷は `collabo letters show {}` で全ファイルを確かめてから。封入・発送後に `collabo letters mailed {} --on 発送日 --yes` で郵送済みにしてください。",
                            b.id,
                            b.letters,
                            b.envelopes,
                            b.pages,
                            b.parts.len(),
                            b.unmailable,
                            b.dir.display(),
                            b.csv.display(),
                            b.id,
                            b.id
                        ),
                        None => println!("通知予定のレターはありません。"),
                    }
                }
                LettersAction::Show { batch } => {
                    let renderer = Arc::new(renderer(&cli.data)?);
                    print::batch(&app.batch_view(&actor, &renderer, batch).await?);
                }
                LettersAction::Mailed { batch, on, yes } => {
                    let on = on
                        .as_deref()
                        .map(collabo_app::parse_date)
                        .transpose()
                        .map_err(|e| anyhow::anyhow!("--on: {e}"))?
                        .unwrap_or(today);
                    let renderer = Arc::new(renderer(&cli.data)?);
                    let view = app.batch_view(&actor, &renderer, batch).await?;
                    print::batch(&view);
                    if *yes {
                        let n = app
                            .mark_mailed(&actor, batch, on, view.confirmation())
                            .await?;
                        println!("バッチ {batch}: {n} 通を {on} 郵送済みにしました。");
                    } else {
                        println!(
                            "上の内容で発送済にするには `collabo letters mailed {batch} --on {on} --yes` を実行してください (まだ何も変えていません)。"
                        );
                    }
                }
                LettersAction::Cancel { batch } => {
                    let n = app.cancel_batch(&actor, batch).await?;
                    println!(
                        "バッチ {batch} を取り消しました: {n} 通が通知予定に戻りました (ファイルは削除しました)。"
                    );
                }
                LettersAction::List => {
                    for b in app.batches(&actor).await? {
                        println!(
                            "{}  {}  {:<6} 封筒 {:>5}  通知 {:>5}  {:>5} 頁  PDF {} ファイル  取下げ {}  差止 {}",
                            b.id,
                            b.prepared_on,
                            b.status.label(),
                            b.envelopes,
                            b.active_letters,
                            b.pages,
                            b.parts,
                            b.removed,
                            b.stopped
                        );
                    }
                }
            }
            app.close().await;
        }
        Command::Claims { action } => {
            let app = open(&cli).await?;
            let actor = staff();
            let parse_month = |m: &str| {
                collabo_domain::calendar::YearMonth::parse(m.trim())
                    .map_err(|e| anyhow::anyhow!("--month {m}: {e} (YYYY-MM)"))
            };
            let parse_stream = |s: &str| {
                ClaimStream::parse(s).with_context(|| {
                    format!("--stream {s}: medical, dpc, dental, pharmacy (医科・DPC・歯科・調剤)")
                })
            };
            match action {
                ClaimsAction::Coverage => print::coverage(&app.claims_ledger(&actor).await?),
                ClaimsAction::Close {
                    month,
                    stream,
                    reason,
                } => {
                    let ledger = app
                        .close_claims_month(
                            &actor,
                            parse_stream(stream)?,
                            parse_month(month)?,
                            reason,
                        )
                        .await?;
                    println!("確定しました。");
                    print::coverage(&ledger);
                }
                ClaimsAction::Reopen {
                    month,
                    stream,
                    reason,
                } => {
                    let ledger = app
                        .reopen_claims_month(
                            &actor,
                            parse_stream(stream)?,
                            parse_month(month)?,
                            reason,
                        )
                        .await?;
                    println!("確定を取り消しました。");
                    print::coverage(&ledger);
                }
                ClaimsAction::Streams { set } => {
                    if let Some(list) = set {
                        let streams = ClaimStream::parse_list(list).map_err(anyhow::Error::msg)?;
                        app.set_expected_streams(&admin(), &streams).await?;
                    }
                    println!(
                        "受け取る請求の種類: {}",
                        ClaimStream::join_labels(&app.expected_streams().await?)
                    );
                }
            }
            app.close().await;
        }
        Command::Cases {
            programme,
            state,
            member,
            limit,
        } => {
            let app = open(&cli).await?;
            let filter = CaseFilter {
                programme: programme
                    .as_deref()
                    .map(|p| ProgrammeCode::from_letter(p).context("--programme: R/S/D/C"))
                    .transpose()?,
                state: state
                    .as_deref()
                    .map(|s| {
                        CaseState::from_code(s).with_context(|| {
                            format!(
                                "--state {s}: {}",
                                CaseState::ALL
                                    .iter()
                                    .map(|s| s.code())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })
                    })
                    .transpose()?,
                member: member.as_deref().map(|m| member_key(&app, m)).transpose()?,
                limit: *limit,
                ..CaseFilter::default()
            };
            let (rows, total) = app.cases(&staff(), &filter).await?;
            for c in &rows {
                println!(
                    "{}  {:<14} 開始 {}  更新 {}",
                    c.key,
                    c.state.label(),
                    c.opened_on,
                    c.updated_on
                );
            }
            if total > rows.len() as i64 {
                println!("(全 {total} 件中 {} 件を表示)", rows.len());
            }
        }
        Command::Case { key, json } => {
            let app = open(&cli).await?;
            let key = CaseKey::parse(key).map_err(|e| anyhow::anyhow!("ケースキー: {e}"))?;
            let case = app.case(&staff(), &key).await?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&print::timeline_json(&case))?
                );
            } else {
                print::timeline(&case);
            }
        }
        Command::User { action } => {
            let app = open(&cli).await?;
            let actor = admin();
            match action {
                UserAction::Add {
                    username,
                    role,
                    name,
                    employer,
                } => {
                    let role = parse_role(role, employer.as_deref())?;
                    let label = role_label(&role);
                    let password = read_password()?;
                    app.put_user(
                        &actor,
                        collabo_app::accounts::NewUser {
                            username: username.clone(),
                            display_name: name.clone(),
                            password,
                            role,
                        },
                    )
                    .await?;
                    println!(
                        "ユーザー {username}（{label}）を登録しました。{}",
                        if matches!(label, "管理者" | "保健事業担当") {
                            "初回ログインで二要素認証（認証アプリ）を設定します。"
                        } else {
                            ""
                        }
                    );
                }
                UserAction::Passwd { username } => {
                    let password = read_password()?;
                    app.set_password(&actor, username, &password).await?;
                    println!(
                        "ユーザー {username} のパスワードを再設定しました（ログイン中のセッションは終了しました）。"
                    );
                }
                UserAction::Unlock { username } => {
                    app.unlock_user(&actor, username).await?;
                    println!("ユーザー {username} のロックを解除しました。");
                }
                UserAction::Disable { username } => {
                    app.disable_user(&actor, username).await?;
                    println!(
                        "ユーザー {username} を無効にしました（再び使うには `collabo user passwd {username}`）。"
                    );
                }
                UserAction::List => {
                    for u in app.users(&actor).await? {
                        let state = if collabo_app::accounts::is_disabled(&u) {
                            "無効"
                        } else if u.locked_until.is_some_and(|t| t > actor.now) {
                            "ロック中"
                        } else {
                            "有効"
                        };
                        println!(
                            "{}  {}  {}  二要素認証 {}  {}",
                            print::pad(&u.username, 16),
                            print::pad(role_label(&u.role), 14),
                            print::pad(&u.display_name, 16),
                            if u.totp_enrolled {
                                "設定済"
                            } else {
                                "未設定"
                            },
                            state
                        );
                    }
                }
            }
            app.close().await;
        }
        Command::Review { action } => {
            let app = open(&cli).await?;
            let actor = staff();
            match action {
                ReviewAction::List { json } => {
                    let page = app.review_queue(&actor, &ReviewFilter::default()).await?;
                    if *json {
                        let items: Vec<_> = page.entries.iter().map(print::review_json).collect();
                        println!("{}", serde_json::to_string_pretty(&items)?);
                    } else if page.entries.is_empty() {
                        println!("未処理のレビューはありません。");
                    } else {
                        print::review_table(&page.entries);
                    }
                }
                ReviewAction::Resolve { id, member } => {
                    let key = member_key(&app, member)?;
                    match app.resolve_review(&actor, *id, &key).await? {
                        Resolution::Admitted => {
                            println!("レビュー {id} を {member} として取り込みました。");
                        }
                        Resolution::Excluded => println!(
                            "レビュー {id}: {member} はオプトアウト済みのため、取り込まずに閉じました。"
                        ),
                        Resolution::Closed => println!("レビュー {id} を閉じました。"),
                    }
                }
                ReviewAction::Reject { id } => {
                    app.reject_review(&actor, *id).await?;
                    println!("レビュー {id} を却下しました。");
                }
            }
        }
        Command::Report { fy, effects, pdf } => {
            let app = open(&cli).await?;
            if *effects || pdf.is_some() {
                let actor = staff();
                let cohort = match fy {
                    Some(y) => FiscalYear::new(i16::try_from(*y).context("--fy")?),
                    None => FiscalYear::new(FiscalYear::of(actor.today()).year() - 1),
                };
                match pdf {
                    Some(path) => {
                        let renderer = renderer(&cli.data)?;
                        let (report, bytes) =
                            app.effect_report_pdf(&actor, &renderer, cohort).await?;
                        print::effects(&report);
                        std::fs::write(path, bytes).with_context(|| path.display().to_string())?;
                        println!("PDF: {}", path.display());
                    }
                    None => print::effects(&app.effect_report(&actor, cohort).await?),
                }
            } else {
                print::figures(&app.programme_figures(&staff(), *fy).await?);
            }
        }
        Command::Aggregates {
            action: AggregatesAction::Publish { fy },
        } => {
            let app = open(&cli).await?;
            let n = app
                .publish_aggregates(&staff(), FiscalYear::new(*fy))
                .await?;
            println!(
                "{fy}年度の事業所別集計を {n} 事業所について公表しました (小さいセルは秘匿)。"
            );
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
            let app = open(&cli).await?;
            let actor = auditor();
            match action {
                AuditAction::Verify => {
                    let check = app.verify_audit(&actor).await?;
                    if check.is_intact() {
                        println!(
                            "監査ログ {} 件: チェーンは正常です (アンカー {} 件と一致)。先頭ハッシュ {}",
                            check.records, check.anchors, check.head
                        );
                    } else {
                        let mut problems = Vec::new();
                        if let Some(seq) = check.first_broken {
                            problems.push(format!("記録 {seq} で改ざんまたは削除を検出しました"));
                        }
                        if let Some((seq, what)) = &check.anchor_mismatch {
                            problems
                                .push(format!("外部アンカー (記録 {seq}) と一致しません: {what}"));
                        }
                        bail!("監査ログ ({} 件): {}", check.records, problems.join("; "));
                    }
                }
                AuditAction::Log { limit } => {
                    let filter = AuditFilter {
                        limit: *limit,
                        ..AuditFilter::default()
                    };
                    let (records, _) = app.audit_log(&actor, &filter).await?;
                    for r in &records {
                        print::audit_record(r);
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
                fiscal_year: FiscalYear::new(*fy),
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
            years,
        } => demo::run(dir, *members, *employers, *seed, *years).await?,
        Command::Bench { what } => bench::run(what, &cli.data).await?,
        Command::Serve {
            config,
            listen,
            insecure_cookies,
        } => {
            let mut settings = collabo_web::ServeConfig::load(config.as_deref())?;
            if cli.db.is_some()
                || (config.is_none() && std::env::var("COLLABO_DATABASE_URL").is_err())
            {
                settings.database_url = db_url(&cli);
            }
            if config.is_none() {
                settings.data_dir = cli.data.clone();
                settings.templates_dir = cli.data.join("templates");
                settings.batches_dir = cli.data.join("letters");
            }
            if let Some(date) = &cli.date {
                settings.date = Some(date.clone());
            }
            if let Some(listen) = listen {
                settings.listen = listen.clone();
            }
            if *insecure_cookies {
                settings.secure_cookies = false;
            }
            println!(
                "ポータルを起動します: http://{} (データベース {}{})",
                settings.listen,
                settings.database_url,
                settings
                    .date
                    .as_deref()
                    .map(|d| format!(", 処理日 {d}"))
                    .unwrap_or_default()
            );
            collabo_web::serve(settings).await?;
        }
    }
    Ok(())
}

/// Writes again the files of every batch a withdrawn letter left (the renderer is built
/// only when there is one), and says which.
pub(crate) async fn refresh_stale_batches(app: &App, actor: &Actor, data: &Path) -> Result<()> {
    let stale = app
        .batches(actor)
        .await?
        .into_iter()
        .any(|b| b.status == collabo_domain::programme::BatchStatus::Prepared && b.files_stale);
    if !stale {
        return Ok(());
    }
    let renderer = Arc::new(renderer(data)?);
    for id in app.refresh_batches(actor, &renderer).await? {
        println!(
            "バッチ {id}: 取り下げた通知を除いてファイルを作り直しました (印刷済みなら差止)。`collabo letters show {id}` で確認してください。"
        );
    }
    Ok(())
}

/// Runs the engine as `actor` on their today, with a progress bar on standard error.
pub(crate) async fn run_with_progress(
    app: &App,
    actor: &Actor,
) -> Result<collabo_app::engine::RunSummary> {
    let total = app.register_size(actor).await?;
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} 人 {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("実行 {}", actor.today()));
    if total < 20_000 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = app.run_engine(actor, |n| bar.set_position(n)).await?;
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
    let cli = match japanese_help(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
            eprintln!("エラー: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// The help layout of every command, in Japanese: headings, the help and version
/// flags, no `help` subcommand (clap's own texts are English).
fn japanese_help(command: clap::Command) -> clap::Command {
    use clap::{Arg, ArgAction};
    let is_root = command.get_name() == "collabo";
    let mut command = command
        .help_template("{about-with-newline}\n使い方: {usage}\n\n{all-args}{after-help}")
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .subcommand_help_heading("コマンド")
        .subcommand_value_name("コマンド")
        .mut_args(|a| {
            if a.get_help_heading().is_some() {
                a
            } else if a.is_positional() {
                a.help_heading("引数")
            } else {
                a.help_heading("オプション")
            }
        })
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("このヘルプを表示する")
                .help_heading("オプション"),
        );
    if is_root {
        command = command.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("バージョンを表示する")
                .help_heading("オプション"),
        );
    }
    command.mut_subcommands(japanese_help)
}

/// An error with its causes, each cause shown once (many errors already name their
/// cause in their own message).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    // The application's errors are worded whole, in Japanese (their causes are the
    // operating system's, in English, and already said in the sentence).
    if e.downcast_ref::<collabo_app::AppError>().is_some()
        || e.downcast_ref::<collabo_app::ImportError>().is_some()
    {
        return text;
    }
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Writes one line on standard output. When the reader has gone (a closed pipe) the
/// command stops here with success: what it did is done, only its report is unread.
pub(crate) fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("エラー: 標準出力に書けません");
        std::process::exit(1);
    }
}

/// The letter renderer: system fonts plus `<data>/fonts`, templates from `<data>/templates`
/// over the built-in ones.
pub(crate) fn renderer(data: &Path) -> Result<collabo_letters::Renderer> {
    let fonts = data.join("fonts");
    let templates = data.join("templates");
    Ok(collabo_letters::Renderer::with_default_fonts(
        fonts.is_dir().then_some(fonts.as_path()),
        templates.is_dir().then_some(templates.as_path()),
    )?)
}
