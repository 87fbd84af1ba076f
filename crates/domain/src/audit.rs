//! What the audit log records: who did what, to whose data, when, from where. The
//! actions are a closed list with stable codes (stored) and Japanese labels (shown to
//! the auditor); the storage adapter chains and anchors the records.
//!
//! A view that shows several people is one record naming every one of them
//! ([`AuditEntry::subjects`]), not one record per person: a review queue of 5,000 rows
//! is one append, and "who saw person X" is still one lookup.

use crate::actor::Actor;
use crate::ids::{EmployerCode, MemberKey};
use serde::{Deserialize, Serialize};

macro_rules! actions {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $label:literal; )*) => {
        /// Every kind of audited action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum AuditAction {
            $( $(#[$doc])* $name, )*
        }
        impl AuditAction {
            /// Every action.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$name,)*];
            /// Stable code (stored).
            pub fn code(self) -> &'static str {
                match self { $(AuditAction::$name => $code,)* }
            }
            /// Japanese label for the auditor's pages.
            pub fn label(self) -> &'static str {
                match self { $(AuditAction::$name => $label,)* }
            }
            /// From the stored code.
            pub fn from_code(code: &str) -> Option<AuditAction> {
                match code { $($code => Some(AuditAction::$name),)* _ => None }
            }
        }
    };
}

actions! {
    /// A login completed (password, and the second factor where required).
    LoginSuccess = "login.success", "ログイン";
    /// The password was right; the second factor is next.
    LoginPassword = "login.password", "パスワード確認（確認コード待ち）";
    /// A login failed.
    LoginFailure = "login.failure", "ログイン失敗";
    /// A login was refused because the account is locked.
    LoginLocked = "login.locked", "ロック中のためログイン拒否";
    /// A login attempt was refused unchecked: too many failures from this client for
    /// this account (password) or for this account or client (second factor).
    LoginThrottled = "login.throttled", "試行の連続による一時的な受付停止";
    /// Too many wrong second-factor codes locked the account and ended its sessions.
    AccountLocked = "login.account_locked", "確認コードの連続誤りによるアカウントのロック";
    /// A second factor was enrolled.
    TotpEnrolled = "login.totp_enrolled", "確認コード（二要素認証）の設定";
    /// A session ended.
    Logout = "logout", "ログアウト";
    /// A portal user was created or changed.
    UserPut = "admin.user.put", "ユーザーの作成・変更";
    /// A user's second factor was reset.
    UserTotpReset = "admin.user.reset_totp", "二要素認証のリセット";
    /// A user's password was set by an administrator (the account is enabled again).
    UserPasswordSet = "admin.user.passwd", "パスワードの再設定";
    /// A user's lock (after wrong second-factor codes) was lifted.
    UserUnlock = "admin.user.unlock", "ロックの解除";
    /// A user was disabled: no login, sessions ended, tokens revoked.
    UserDisable = "admin.user.disable", "ユーザーの無効化";
    /// An API token was issued.
    TokenCreate = "admin.token.create", "APIトークンの発行";
    /// An API token was revoked (by an admin, or because its user's role or employers
    /// changed since it was issued).
    TokenRevoke = "admin.token.revoke", "APIトークンの失効";
    /// An employer was registered or changed.
    EmployerPut = "admin.employer.put", "事業所の登録・変更";
    /// A memorandum was applied for.
    AgreementApply = "admin.agreement.apply", "覚書の申込";
    /// A memorandum was signed.
    AgreementSign = "admin.agreement.sign", "覚書の締結";
    /// A memorandum was ended.
    AgreementEnd = "admin.agreement.end", "覚書の解約";
    /// Programme settings were saved.
    SettingsSave = "admin.settings.save", "事業設定の保存";
    /// A version of the 共同利用 declaration was recorded.
    JointUseRecord = "admin.joint_use.record", "共同利用の公表事項の登録";
    /// Records past their retention were disposed of (one record per person).
    RetentionDispose = "retention.dispose", "保存期間経過による廃棄";
    /// The records past their retention were listed (a dry run).
    RetentionView = "retention.view", "保存期間経過の記録の確認";
    /// A letter template was uploaded.
    TemplateUpload = "admin.template.upload", "通知テンプレートの登録";
    /// A letter template was refused.
    TemplateRejected = "admin.template.rejected", "通知テンプレートの登録拒否";
    /// An uploaded letter template was deleted (the built-in one is used again).
    TemplateDelete = "admin.template.delete", "通知テンプレートの削除（標準に戻す）";
    /// The member register was imported.
    ImportMembers = "import.members", "資格の取込";
    /// Checkups were imported.
    ImportCheckups = "import.checkups", "健診結果の取込";
    /// A 要精密検査 list was imported.
    ImportReferrals = "import.referrals", "要精密検査者リストの取込";
    /// A claims file was imported.
    ImportClaims = "import.claims", "レセプトの取込";
    /// Staff closed a claims stream for a service month by hand (no claims of it).
    ClaimsMonthClose = "claims.month.close", "レセプト診療月の手動確定";
    /// Staff reopened a claims stream they had closed by hand.
    ClaimsMonthReopen = "claims.month.reopen", "レセプト診療月の手動確定の取消";
    /// Consent records were imported in bulk.
    ImportConsents = "import.consents", "本人の申出の一括取込";
    /// An import was refused (bad rows); nothing was stored.
    ImportRejected = "import.rejected", "取込の拒否（エラー）";
    /// A consent decision (opt-out or opt-in) was recorded.
    ConsentRecord = "consent.record", "本人の申出の登録";
    /// The review queue was shown.
    ReviewView = "review.view", "照合待ちの閲覧";
    /// A review item was resolved to a member.
    ReviewResolve = "review.resolve", "照合待ちの確定";
    /// A review item was rejected.
    ReviewReject = "review.reject", "照合待ちの却下";
    /// The engine ran.
    EngineRun = "engine.run", "抽出・判定の実行";
    /// A letter batch was prepared.
    LettersPrepare = "letters.prepare", "通知バッチの作成";
    /// A letter batch was confirmed mailed.
    LettersMailed = "letters.mailed", "通知バッチの発送確認";
    /// A letter batch was cancelled.
    LettersCancel = "letters.cancel", "通知バッチの取消";
    /// A batch's print PDF was downloaded.
    LettersDownload = "letters.download", "通知PDFのダウンロード";
    /// A batch's files were written again without letters withdrawn from it (or its
    /// mailing list marked them 差止).
    LettersRemake = "letters.remake", "通知バッチの作り直し（取下げ・差止）";
    /// A batch's withdrawn letters were shown to staff.
    LettersView = "letters.view", "通知バッチの取下げ・差止一覧の閲覧";
    /// A batch's mailing list was downloaded.
    MailingListExport = "export.mailing_list", "発送リストのダウンロード";
    /// A member's page was shown.
    MemberView = "member.view", "加入者情報の閲覧";
    /// Members were searched.
    MemberSearch = "member.search", "加入者の検索";
    /// Cases were listed.
    CasesView = "cases.view", "案件一覧の閲覧";
    /// A case's timeline was shown.
    CaseView = "case.view", "案件の経過の閲覧";
    /// Cases were exported.
    CasesExport = "export.cases", "案件一覧のエクスポート";
    /// An employer's submissions and deadlines were shown.
    EmployerOverview = "employer.overview", "事業所の提出状況の閲覧";
    /// An employer's risk-holder list was shown.
    RiskHoldersView = "employer.risk_holders.view", "リスク保有者一覧の閲覧";
    /// Employer aggregates were published.
    AggregatesPublish = "aggregates.publish", "事業所集計の公表";
    /// Published aggregates were shown or exported.
    AggregatesView = "employer.aggregates.view", "事業所集計の閲覧";
    /// The effect report of a fiscal year was made (it reads every member's facts and
    /// shows counts only).
    EffectReport = "reports.effects", "効果測定レポートの作成";
    /// The audit log was read.
    AuditView = "audit.view", "監査ログの閲覧";
    /// The audit log was verified.
    AuditVerify = "audit.verify", "監査ログの検証";
}

impl AuditAction {
    /// Whether an operation recorded with this action leaves every input of the
    /// programme engine as it was (a read, a login, a refused file, account admin), so
    /// a run on the same day after it would change nothing (the engine's watermark,
    /// `App::run_engine`). Any action not listed here counts as a change: an action
    /// added later re-runs the engine until someone lists it.
    pub fn leaves_engine_inputs_unchanged(self) -> bool {
        use AuditAction::*;
        matches!(
            self,
            LoginSuccess
                | LoginPassword
                | LoginFailure
                | LoginLocked
                | LoginThrottled
                | AccountLocked
                | TotpEnrolled
                | Logout
                | UserPut
                | UserTotpReset
                | TokenCreate
                | TokenRevoke
                | TemplateRejected
                | ImportRejected
                | ReviewView
                | LettersView
                | MemberView
                | MemberSearch
                | CasesView
                | CaseView
                | CasesExport
                | EmployerOverview
                | RiskHoldersView
                | AggregatesView
                | AuditView
                | AuditVerify
                | RetentionView
                | JointUseRecord
        )
    }
}

/// One thing to record. Build it with [`AuditEntry::new`] and the builder methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Login name (or `cli:<os user>`).
    pub actor: String,
    /// Role code.
    pub role: String,
    /// Client address or `cli`.
    pub origin: String,
    /// When.
    pub at: jiff::Timestamp,
    /// What.
    pub action: AuditAction,
    /// Whose personal data, every person shown or changed: member keys
    /// (`insurer:symbol:number:branch`), or for a submitted row that names no member
    /// of ours, the card as submitted (`insurer:symbol:number:` without 枝番).
    pub subjects: Vec<String>,
    /// Which employer, if any.
    pub employer: Option<String>,
    /// Free text (never health values).
    pub detail: String,
}

impl AuditEntry {
    /// A record of `action` by `actor` at the actor's now.
    pub fn new(actor: &Actor, action: AuditAction) -> AuditEntry {
        AuditEntry {
            actor: actor.user.clone(),
            role: actor.role.code().to_owned(),
            origin: actor.origin.clone(),
            at: actor.now,
            action,
            subjects: Vec::new(),
            employer: None,
            detail: String::new(),
        }
    }
    /// Names one person.
    pub fn subject(mut self, member: &MemberKey) -> Self {
        self.subjects.push(member.to_key_string());
        self
    }
    /// Names several people (sorted, each once).
    pub fn subjects(mut self, keys: impl IntoIterator<Item = String>) -> Self {
        self.subjects.extend(keys);
        self.subjects.sort();
        self.subjects.dedup();
        self
    }
    /// About an employer.
    pub fn employer(mut self, code: &EmployerCode) -> Self {
        self.employer = Some(code.as_str().to_owned());
        self
    }
    /// With a detail text.
    pub fn detail(mut self, text: impl Into<String>) -> Self {
        self.detail = text.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_code_is_unique_and_reads_back() {
        let mut codes: Vec<&str> = AuditAction::ALL.iter().map(|a| a.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), AuditAction::ALL.len());
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::from_code(a.code()), Some(*a));
            assert!(!a.label().is_ascii(), "{a:?} needs a Japanese label");
        }
    }
}
