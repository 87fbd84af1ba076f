//! Identity matching of submitted rows (要精密検査 lists, checkups) to the member
//! register: exact on 記号番号 + 生年月日, with the normalised name as a second check.
//! Anything that does not match cleanly goes to the review queue — never dropped,
//! never guessed.

use crate::ids::{Branch, CardNumber, MemberKey, Symbol};
use crate::member::{Member, Sex};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// What a submitted row says about the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedPerson {
    /// 記号.
    pub symbol: Symbol,
    /// 番号.
    pub number: CardNumber,
    /// 枝番, when the row has one.
    pub branch: Option<Branch>,
    /// 氏名 as written (漢字 or カナ).
    pub name: String,
    /// 生年月日.
    pub birth_date: Date,
}

impl SubmittedPerson {
    /// The person as submitted, written like a member ([`crate::member::Member::label`]):
    /// `1001-305-00 吉田 真由美`, or `1001-305（枝番なし） 吉田 真由美` when the row
    /// gave no 枝番, so a missing part never looks like a typing error.
    pub fn label(&self) -> String {
        match &self.branch {
            Some(b) => format!("{}-{}-{} {}", self.symbol, self.number, b, self.name),
            None => format!("{}-{}（枝番なし） {}", self.symbol, self.number, self.name),
        }
    }
}

/// Why a row went to review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewReason {
    /// No member with this 記号番号.
    NotFound,
    /// 記号番号 found but 生年月日 differs.
    BirthDateMismatch,
    /// 記号番号 and 生年月日 match but the name does not.
    NameMismatch,
    /// Several members fit.
    Ambiguous,
    /// The person is insured through another establishment than the one submitting:
    /// an employer may only hand over its own employees' data.
    OtherEmployer,
    /// A notice is due but the person has no usable address (not a submitted row).
    NoAddress,
}

impl ReviewReason {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReviewReason::NotFound => "not_found",
            ReviewReason::BirthDateMismatch => "birth_date_mismatch",
            ReviewReason::NameMismatch => "name_mismatch",
            ReviewReason::Ambiguous => "ambiguous",
            ReviewReason::OtherEmployer => "other_employer",
            ReviewReason::NoAddress => "unmailable_address",
        }
    }
    /// Japanese label for the review queue.
    pub fn label(self) -> &'static str {
        match self {
            ReviewReason::NotFound => "記号番号に該当する加入者なし",
            ReviewReason::BirthDateMismatch => "生年月日が一致しない",
            ReviewReason::NameMismatch => "氏名が一致しない",
            ReviewReason::Ambiguous => "候補が複数",
            ReviewReason::OtherEmployer => "提出事業所の加入者ではない",
            ReviewReason::NoAddress => "住所が不備のため通知を送れない",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            ReviewReason::NotFound,
            ReviewReason::BirthDateMismatch,
            ReviewReason::NameMismatch,
            ReviewReason::Ambiguous,
            ReviewReason::OtherEmployer,
            ReviewReason::NoAddress,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// The outcome of matching one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    /// Exactly one member, 生年月日 and name agree.
    Matched(MemberKey),
    /// Needs a person to decide.
    Review(ReviewReason),
}

/// 異体字 (旧字体 and common variants) folded to the form the register uses.
/// A short table of the variants seen most in Japanese names; not exhaustive.
const VARIANTS: &[(char, char)] = &[
    ('髙', '高'),
    ('﨑', '崎'),
    ('嵜', '崎'),
    ('邊', '辺'),
    ('邉', '辺'),
    ('澤', '沢'),
    ('齋', '斉'),
    ('齊', '斉'),
    ('斎', '斉'),
    ('濱', '浜'),
    ('濵', '浜'),
    ('廣', '広'),
    ('國', '国'),
    ('櫻', '桜'),
    ('藏', '蔵'),
    ('眞', '真'),
    ('實', '実'),
    ('惠', '恵'),
    ('德', '徳'),
    ('瀨', '瀬'),
    ('槇', '槙'),
    ('塚', '塚'),
    ('冨', '富'),
    ('峯', '峰'),
    ('嶋', '島'),
    ('嶌', '島'),
    ('龍', '竜'),
    ('壽', '寿'),
    ('榮', '栄'),
    ('驒', '騨'),
];

/// Folds a name for comparison: NFKC (full/half width), katakana → hiragana, 異体字 →
/// common form, spaces (ASCII and 全角) removed.
pub fn normalise_name(name: &str) -> String {
    name.nfkc()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}' && *c != '・')
        .map(|c| match c {
            // Katakana ァ..ヶ to hiragana ぁ..ゖ.
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => VARIANTS
                .iter()
                .find(|(variant, _)| *variant == c)
                .map_or(c, |(_, common)| *common),
        })
        .collect()
}

/// Matches a row against the members with the same 記号番号 (`candidates`).
pub fn match_person(row: &SubmittedPerson, candidates: &[&Member]) -> MatchOutcome {
    let same_card: Vec<&&Member> = candidates
        .iter()
        .filter(|m| m.key.symbol == row.symbol && m.key.number == row.number)
        .filter(|m| row.branch.as_ref().is_none_or(|b| &m.key.branch == b))
        .collect();
    if same_card.is_empty() {
        return MatchOutcome::Review(ReviewReason::NotFound);
    }
    let same_birth: Vec<&&&Member> = same_card
        .iter()
        .filter(|m| m.birth_date == row.birth_date)
        .collect();
    if same_birth.is_empty() {
        return MatchOutcome::Review(ReviewReason::BirthDateMismatch);
    }
    let wanted = normalise_name(&row.name);
    let same_name: Vec<&&&&Member> = same_birth
        .iter()
        .filter(|m| {
            normalise_name(&m.name_kanji) == wanted || normalise_name(&m.name_kana) == wanted
        })
        .collect();
    match same_name.as_slice() {
        [one] => MatchOutcome::Matched(one.key.clone()),
        [] => MatchOutcome::Review(ReviewReason::NameMismatch),
        _ => MatchOutcome::Review(ReviewReason::Ambiguous),
    }
}

/// How a register entry resembles a row waiting for review (the queue shows the
/// likely candidates side by side with the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resemblance {
    /// Same 記号番号 (and 枝番 when the row gives one).
    pub same_card: bool,
    /// Same 生年月日.
    pub same_birth_date: bool,
    /// Same name (漢字 or カナ, after [`normalise_name`]).
    pub same_name: bool,
}

impl Resemblance {
    /// What fits, in Japanese (`記号番号・生年月日が一致`).
    pub fn label(self) -> String {
        let parts: Vec<&str> = [
            (self.same_card, "記号番号"),
            (self.same_birth_date, "生年月日"),
            (self.same_name, "氏名"),
        ]
        .into_iter()
        .filter_map(|(fits, what)| fits.then_some(what))
        .collect();
        format!("{}が一致", parts.join("・"))
    }
    /// Name and birth date together outweigh the card alone: a typo in the card is
    /// likelier than a namesake born the same day.
    fn score(self) -> u8 {
        u8::from(self.same_card) * 3
            + u8::from(self.same_birth_date) * 2
            + u8::from(self.same_name) * 2
    }
}

/// The likely members for a row in review, best first: those with the same 記号番号,
/// and those with the same name and 生年月日 under another card (a typo in the card).
/// At most `limit`.
pub fn review_candidates<'m>(
    row: &SubmittedPerson,
    pool: &'m [Member],
    limit: usize,
) -> Vec<(&'m Member, Resemblance)> {
    let wanted = normalise_name(&row.name);
    let mut found: Vec<(&Member, Resemblance)> = pool
        .iter()
        .map(|m| {
            let fit = Resemblance {
                same_card: m.key.symbol == row.symbol
                    && m.key.number == row.number
                    && row.branch.as_ref().is_none_or(|b| &m.key.branch == b),
                same_birth_date: m.birth_date == row.birth_date,
                same_name: normalise_name(&m.name_kanji) == wanted
                    || normalise_name(&m.name_kana) == wanted,
            };
            (m, fit)
        })
        .filter(|(_, fit)| fit.same_card || (fit.same_name && fit.same_birth_date))
        .collect();
    found.sort_by(|a, b| b.1.score().cmp(&a.1.score()).then(a.0.key.cmp(&b.0.key)));
    found.dedup_by(|a, b| a.0.key == b.0.key);
    found.truncate(limit);
    found
}

/// Matches a reduced claim to a member: this society's 保険者番号, the same 記号番号,
/// the same 枝番 when the claim gives one (claims before 2021 have none), and 生年月日
/// and 性別 from the RE record. `None` unless exactly one member fits: claims that
/// match nobody are counted, never guessed.
pub fn match_claim(
    identity: &crate::admission::ClaimIdentity,
    candidates: &[&Member],
    society: &crate::ids::InsurerNumber,
) -> Option<MemberKey> {
    if &identity.insurer != society {
        return None;
    }
    let mut fits = candidates.iter().filter(|m| {
        m.key.symbol == identity.symbol
            && m.key.number == identity.number
            && claim_fits(identity, &m.key.branch, m.birth_date, m.sex)
    });
    match (fits.next(), fits.next()) {
        (Some(one), None) => Some(one.key.clone()),
        _ => None,
    }
}

/// The part of [`match_claim`]'s rule about one member of the 記号番号: the same 枝番
/// when the claim gives one, and the same 生年月日 and 性別.
fn claim_fits(
    identity: &crate::admission::ClaimIdentity,
    branch: &Branch,
    birth_date: Date,
    sex: Sex,
) -> bool {
    identity.branch.as_ref().is_none_or(|b| branch == b)
        && birth_date == identity.birth_date
        && sex == identity.sex
}

/// What claims matching needs of one member of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHolder {
    /// 保険者番号 + 記号 + 番号 + 枝番.
    pub key: MemberKey,
    /// 生年月日.
    pub birth_date: Date,
    /// 性別.
    pub sex: Sex,
}

/// The register of one society as claims matching needs it, built once per import:
/// 記号番号 → the members sharing the card (a family shares it). Matching a claim is
/// then a hash lookup, with [`match_claim`]'s rule (and the same result).
#[derive(Debug, Clone)]
pub struct CardIndex {
    insurer: crate::ids::InsurerNumber,
    by_card: HashMap<(Symbol, CardNumber), Vec<Holder>>,
}

/// One member of a 記号番号: 枝番, 生年月日, 性別.
type Holder = (Branch, Date, Sex);

impl CardIndex {
    /// Indexes the register of `society`; holders of another society are left out.
    pub fn new(
        society: &crate::ids::InsurerNumber,
        holders: impl IntoIterator<Item = CardHolder>,
    ) -> CardIndex {
        let mut by_card: HashMap<(Symbol, CardNumber), Vec<Holder>> = HashMap::new();
        for h in holders {
            if &h.key.insurer != society {
                continue;
            }
            by_card
                .entry((h.key.symbol, h.key.number))
                .or_default()
                .push((h.key.branch, h.birth_date, h.sex));
        }
        CardIndex {
            insurer: society.clone(),
            by_card,
        }
    }

    /// Members indexed.
    pub fn len(&self) -> usize {
        self.by_card.values().map(Vec::len).sum()
    }

    /// Whether no member is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_card.is_empty()
    }

    /// [`match_claim`] against the whole register.
    pub fn match_claim(&self, identity: &crate::admission::ClaimIdentity) -> Option<MemberKey> {
        if identity.insurer != self.insurer {
            return None;
        }
        let holders = self
            .by_card
            .get(&(identity.symbol.clone(), identity.number.clone()))?;
        let mut fits = holders
            .iter()
            .filter(|(branch, birth, sex)| claim_fits(identity, branch, *birth, *sex));
        match (fits.next(), fits.next()) {
            (Some((branch, _, _)), None) => Some(MemberKey {
                insurer: self.insurer.clone(),
                symbol: identity.symbol.clone(),
                number: identity.number.clone(),
                branch: branch.clone(),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use crate::member::*;

    fn member(number: &str, branch: &str, kanji: &str, kana: &str, birth: Date) -> Member {
        Member {
            key: MemberKey {
                insurer: InsurerNumber::parse("06130123").unwrap(),
                symbol: Symbol::parse("1001").unwrap(),
                number: CardNumber::parse(number).unwrap(),
                branch: Branch::parse(branch).unwrap(),
            },
            name_kanji: kanji.into(),
            name_kana: kana.into(),
            sex: Sex::Female,
            birth_date: birth,
            address: Address::default(),
            employer: EmployerCode::parse("1001").unwrap(),
            relationship: Relationship::Insured,
            qualified_from: Date::constant(2020, 4, 1),
            qualified_until: None,
        }
    }

    #[test]
    fn a_submitted_person_is_written_like_a_member_and_a_missing_branch_is_said() {
        let born = Date::constant(1980, 4, 1);
        let with = member("305", "01", "吉田 太郎", "ヨシダ タロウ", born);
        let mut person = SubmittedPerson {
            symbol: with.key.symbol.clone(),
            number: with.key.number.clone(),
            branch: Some(with.key.branch.clone()),
            name: with.name_kanji.clone(),
            birth_date: born,
        };
        assert_eq!(person.label(), with.label());
        person.branch = None;
        assert_eq!(person.label(), "1001-305（枝番なし） 吉田 太郎");
        assert!(!person.label().contains("--"));
    }

    #[test]
    fn review_candidates_are_the_same_card_and_the_same_name_and_birth_date_best_first() {
        let born = Date::constant(1980, 4, 1);
        let pool = vec![
            member("305", "00", "吉田 真由美", "ヨシダ マユミ", born),
            member(
                "305",
                "01",
                "吉田 太郎",
                "ヨシダ タロウ",
                Date::constant(2010, 1, 1),
            ),
            member("350", "00", "吉田 真由美", "ヨシダ マユミ", born),
            member("999", "00", "佐藤 花子", "サトウ ハナコ", born),
        ];
        // The card has a typo (350 for 305): both 吉田 真由美 are offered, the exact one
        // of the card first only if it also fits; here the name+birth one under 350 and
        // the family under 305.
        let found = review_candidates(&row("305", "よしだまゆみ", born), &pool, 5);
        let keys: Vec<String> = found.iter().map(|(m, _)| m.key.card()).collect();
        assert_eq!(keys, ["1001-305-00", "1001-350-00", "1001-305-01"]);
        assert_eq!(found[0].1.label(), "記号番号・生年月日・氏名が一致");
        assert_eq!(found[1].1.label(), "生年月日・氏名が一致");
        assert_eq!(found[2].1.label(), "記号番号が一致");
        assert!(
            !keys.contains(&"1001-999-00".to_owned()),
            "same birth date alone is no candidate"
        );
        assert_eq!(review_candidates(&row("305", "x", born), &pool, 1).len(), 1);
    }

    fn row(number: &str, name: &str, birth: Date) -> SubmittedPerson {
        SubmittedPerson {
            symbol: Symbol::parse("１００１").unwrap(),
            number: CardNumber::parse(number).unwrap(),
            branch: None,
            name: name.into(),
            birth_date: birth,
        }
    }

    fn claim(
        number: &str,
        branch: Option<&str>,
        birth: Date,
        sex: Sex,
    ) -> crate::admission::ClaimIdentity {
        crate::admission::ClaimIdentity {
            insurer: InsurerNumber::parse("06130123").unwrap(),
            symbol: Symbol::parse("1001").unwrap(),
            number: CardNumber::parse(number).unwrap(),
            branch: branch.map(|b| Branch::parse(b).unwrap()),
            birth_date: birth,
            sex,
        }
    }

    #[test]
    fn the_card_index_matches_claims_exactly_as_the_candidate_rule_does() {
        let society = InsurerNumber::parse("06130123").unwrap();
        let mother = member(
            "7",
            "00",
            "山田 花子",
            "ヤマダ ハナコ",
            Date::constant(1980, 1, 1),
        );
        let twin_a = member(
            "7",
            "01",
            "山田 一",
            "ヤマダ ハジメ",
            Date::constant(2010, 5, 5),
        );
        let twin_b = member(
            "7",
            "02",
            "山田 二",
            "ヤマダ フタバ",
            Date::constant(2010, 5, 5),
        );
        let mut other_society = member("7", "03", "他 組合", "ホカ", Date::constant(1990, 1, 1));
        other_society.key.insurer = InsurerNumber::parse("06139999").unwrap();
        let register = [
            mother.clone(),
            twin_a.clone(),
            twin_b.clone(),
            other_society.clone(),
        ];
        let index = CardIndex::new(
            &society,
            register.iter().map(|m| CardHolder {
                key: m.key.clone(),
                birth_date: m.birth_date,
                sex: m.sex,
            }),
        );
        assert_eq!(index.len(), 3, "another society's member is not indexed");
        // The store gives `match_claim` this society's members only.
        let candidates: Vec<&Member> = register
            .iter()
            .filter(|m| m.key.insurer == society)
            .collect();
        let cases = [
            (
                claim("7", None, Date::constant(1980, 1, 1), Sex::Female),
                Some(&mother),
            ),
            // Twins of one sex without 枝番: ambiguous, never guessed.
            (
                claim("7", None, Date::constant(2010, 5, 5), Sex::Female),
                None,
            ),
            (
                claim("7", Some("02"), Date::constant(2010, 5, 5), Sex::Female),
                Some(&twin_b),
            ),
            (
                claim("7", Some("02"), Date::constant(2010, 5, 6), Sex::Female),
                None,
            ),
            (
                claim("7", None, Date::constant(1980, 1, 1), Sex::Male),
                None,
            ),
            (
                claim("8", None, Date::constant(1980, 1, 1), Sex::Female),
                None,
            ),
            (
                claim("7", Some("03"), Date::constant(1990, 1, 1), Sex::Female),
                None,
            ),
        ];
        for (identity, expected) in cases {
            let by_rule = match_claim(&identity, &candidates, &society);
            assert_eq!(by_rule, expected.map(|m| m.key.clone()), "{identity:?}");
            assert_eq!(index.match_claim(&identity), by_rule, "{identity:?}");
        }
    }

    #[test]
    fn names_fold_width_kana_variants_and_spaces() {
        assert_eq!(normalise_name("髙橋　花子"), normalise_name("高橋 花子"));
        assert_eq!(
            normalise_name("ﾀｶﾊｼ ﾊﾅｺ"),
            normalise_name("たかはし はなこ")
        );
        assert_eq!(normalise_name("タカハシ　ハナコ"), "たかはしはなこ");
        assert_eq!(normalise_name("渡邊"), normalise_name("渡辺"));
    }

    #[test]
    fn a_clean_row_matches_and_unclean_rows_go_to_review() {
        let birth = Date::constant(1980, 2, 29);
        let hanako = member("42", "00", "髙橋 花子", "タカハシ ハナコ", birth);
        let candidates = [&hanako];
        assert_eq!(
            match_person(&row("４２", "高橋花子", birth), &candidates),
            MatchOutcome::Matched(hanako.key.clone())
        );
        assert_eq!(
            match_person(&row("42", "ﾀｶﾊｼ ﾊﾅｺ", birth), &candidates),
            MatchOutcome::Matched(hanako.key.clone())
        );
        assert_eq!(
            match_person(&row("43", "高橋花子", birth), &candidates),
            MatchOutcome::Review(ReviewReason::NotFound)
        );
        assert_eq!(
            match_person(
                &row("42", "高橋花子", Date::constant(1980, 3, 1)),
                &candidates
            ),
            MatchOutcome::Review(ReviewReason::BirthDateMismatch)
        );
        assert_eq!(
            match_person(&row("42", "高橋花江", birth), &candidates),
            MatchOutcome::Review(ReviewReason::NameMismatch)
        );
    }
}
