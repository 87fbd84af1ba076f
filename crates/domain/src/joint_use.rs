//! The 共同利用 declaration: what the society must have told the insured, before any
//! personal data is shared with an employer, under 個人情報保護法 第27条第5項第3号.
//!
//! The law lets data be jointly used without consent when the person was told in advance
//! (or can easily learn) five things: ① that the data is jointly used (その旨), ② the
//! items jointly used (共同して利用される個人データの項目), ③ the range of joint users
//! (共同して利用する者の範囲), ④ their purpose (利用する者の利用目的), ⑤ the name and address
//! of the party responsible for managing the data and, for a corporation, its
//! representative (管理について責任を有する者の氏名又は名称及び住所並びに法人にあっては、
//! その代表者の氏名). The seed lists only the purpose and the responsible party.
//!
//! A declaration is a versioned record with effective dates and where it is published;
//! employer sharing (the R list, aggregates) is refused while none is in force. This
//! module decides which one is in force on a day; it does no I/O.

use crate::authz::Role;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// One version of the 共同利用 declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JointUseDeclaration {
    /// Version number (1, 2, …), given when recorded.
    #[serde(default)]
    pub version: i64,
    /// ① その旨: the statement that the data is jointly used.
    pub statement: String,
    /// ② 共同して利用される個人データの項目.
    pub items: String,
    /// ③ 共同して利用する者の範囲.
    pub joint_users: String,
    /// ④ 利用する者の利用目的.
    pub purposes: String,
    /// ⑤ 責任を有する者の名称.
    pub responsible_name: String,
    /// ⑤ その住所.
    pub responsible_address: String,
    /// ⑤ 法人の代表者の氏名.
    pub responsible_representative: String,
    /// First day in force.
    pub effective_from: Date,
    /// Last day in force, if it was ended (a later version ends it otherwise).
    pub effective_until: Option<Date>,
    /// Where it is published (the portal page, the society's site, 掲示 …).
    pub published_at: String,
}

/// A declaration that lacks one of the law's items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("共同利用の公表事項「{field}」が空です")]
pub struct MissingItem {
    /// The item's Japanese name.
    pub field: &'static str,
}

impl JointUseDeclaration {
    /// Every one of the five items (and where it is published) must be written.
    pub fn check(&self) -> Result<(), MissingItem> {
        let fields: [(&'static str, &str); 8] = [
            ("共同利用をする旨", &self.statement),
            ("共同して利用される個人データの項目", &self.items),
            ("共同して利用する者の範囲", &self.joint_users),
            ("利用する者の利用目的", &self.purposes),
            ("責任を有する者の名称", &self.responsible_name),
            ("責任を有する者の住所", &self.responsible_address),
            ("代表者の氏名", &self.responsible_representative),
            ("公表の方法", &self.published_at),
        ];
        match fields.iter().find(|(_, v)| v.trim().is_empty()) {
            Some((field, _)) => Err(MissingItem { field }),
            None => Ok(()),
        }
    }

    /// In force on `day` by its own dates.
    pub fn covers(&self, day: Date) -> bool {
        self.effective_from <= day && self.effective_until.is_none_or(|u| day <= u)
    }

    /// The seed's wording, for a society to start from (the demo and test harnesses
    /// record it; a real society writes its own).
    pub fn example(effective_from: Date, society: &str, address: &str) -> Self {
        JointUseDeclaration {
            version: 0,
            statement: format!(
                "{society}は、加入事業所と共同して、被保険者の健康診断結果等の個人データを利用します。"
            ),
            items: "健康診断（特定健康診査・事業主健診）の結果及び問診、がん検診の要精密検査の有無、保険者番号・記号・番号、氏名、性別、生年月日、所属事業所".into(),
            joint_users: format!("{society}及びその加入事業所（事業主）"),
            purposes: "健康診断結果に基づく受診勧奨・保健指導・事後措置（コラボヘルス）による被保険者の健康の保持増進".into(),
            responsible_name: society.to_owned(),
            responsible_address: address.to_owned(),
            responsible_representative: "理事長".into(),
            effective_from,
            effective_until: None,
            published_at: "組合ポータル「共同利用について」（/joint-use）".into(),
        }
    }
}

/// The declaration in force on `day`: the latest version that began on or before it and
/// was not ended before it.
pub fn in_force(declarations: &[JointUseDeclaration], day: Date) -> Option<&JointUseDeclaration> {
    declarations
        .iter()
        .filter(|d| d.covers(day))
        .max_by_key(|d| (d.effective_from, d.version))
}

/// Why a read of personal data may go on for this reader: the society reads its own
/// data, or an employer's contact reads under the 共同利用 declaration in force. Only
/// [`sharing_basis`] makes one, and every read that hands an employer personal data or
/// figures made from it takes one, so no such read can skip the declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharingBasis {
    declaration: Option<i64>,
}

impl SharingBasis {
    /// The version of the declaration the employer reads under (`None` for the
    /// society's own staff), for the audit record.
    pub fn declaration(&self) -> Option<i64> {
        self.declaration
    }
}

/// Employer sharing was asked for while no 共同利用 declaration is in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{day} 時点で共同利用の公表事項（個人情報保護法第27条第5項第3号）が登録されていないため、健康保険組合から事業所への提供（リスク保有者一覧・集計）は停止しています。健康保険組合にお問い合わせください。"
)]
pub struct NoDeclaration {
    /// The day asked about.
    pub day: Date,
}

/// The basis on which `role` may read shared data on `day`: the society's own roles
/// always (their use is not a provision to a third party), an employer's contact only
/// while a declaration is in force.
pub fn sharing_basis(
    role: &Role,
    declarations: &[JointUseDeclaration],
    day: Date,
) -> Result<SharingBasis, NoDeclaration> {
    match role {
        Role::Employer(_) => in_force(declarations, day)
            .map(|d| SharingBasis {
                declaration: Some(d.version),
            })
            .ok_or(NoDeclaration { day }),
        Role::Admin | Role::Staff | Role::Auditor => Ok(SharingBasis { declaration: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::constant(y, m, day)
    }

    #[test]
    fn the_latest_version_that_began_is_in_force_and_none_before_the_first() {
        let mut v1 = JointUseDeclaration::example(d(2025, 4, 1), "架空健保", "東京都");
        v1.version = 1;
        let mut v2 = v1.clone();
        v2.version = 2;
        v2.effective_from = d(2026, 4, 1);
        let all = [v1.clone(), v2.clone()];
        assert_eq!(in_force(&all, d(2025, 3, 31)), None);
        assert_eq!(in_force(&all, d(2025, 4, 1)), Some(&v1));
        assert_eq!(in_force(&all, d(2026, 4, 1)), Some(&v2));
        let mut ended = v1.clone();
        ended.effective_until = Some(d(2025, 9, 30));
        assert_eq!(in_force(&[ended], d(2025, 10, 1)), None);
    }

    /// 個人情報保護法 第27条第5項第3号: an employer receives nothing before the first
    /// declaration is in force, nor after the last one ended; the society's staff read
    /// their own data either way.
    #[test]
    fn employers_read_only_under_a_declaration_in_force() {
        let employer = Role::Employer(vec![crate::ids::EmployerCode::parse("1001").unwrap()]);
        let mut v1 = JointUseDeclaration::example(d(2025, 4, 1), "架空健保", "東京都");
        v1.version = 1;
        v1.effective_until = Some(d(2026, 3, 31));
        let all = [v1];
        assert_eq!(
            sharing_basis(&employer, &[], d(2025, 6, 1)),
            Err(NoDeclaration { day: d(2025, 6, 1) })
        );
        assert_eq!(
            sharing_basis(&employer, &all, d(2025, 6, 1)).map(|b| b.declaration()),
            Ok(Some(1))
        );
        assert!(sharing_basis(&employer, &all, d(2026, 4, 1)).is_err());
        for society in [Role::Staff, Role::Admin, Role::Auditor] {
            assert_eq!(
                sharing_basis(&society, &[], d(2025, 6, 1)).map(|b| b.declaration()),
                Ok(None)
            );
        }
    }

    /// 個人情報保護法 第27条第5項第3号: each of the five items must be given.
    #[test]
    fn a_declaration_without_its_representative_is_refused() {
        let mut v = JointUseDeclaration::example(d(2025, 4, 1), "架空健保", "東京都");
        assert_eq!(v.check(), Ok(()));
        v.responsible_representative = " ".into();
        assert_eq!(
            v.check(),
            Err(MissingItem {
                field: "代表者の氏名"
            })
        );
    }
}
