//! Programme settings (事業設定) as a form per programme and fiscal year: labels in
//! Japanese, each value checked by the domain's one check
//! (`ProgrammeSettings::problems`) and, when something is wrong, the page shown again
//! with what was typed and the reason under the field. The JSON of a version stays as
//! an export and an import (for copying settings between societies, and for the few
//! parts the form does not show: the claims criteria of D and C and R's notice items).

use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{Block, Cell, Field, Form, Page, Table};
use axum::Extension;
use axum::extract::{Form as FormData, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use collabo_domain::calendar::FiscalYear;
use collabo_domain::programme::{
    AgeRange, ConsentMode, ProgrammeBook, ProgrammeCode, ProgrammeRules, ProgrammeSettings,
    SettingProblem,
};
use collabo_domain::risk::{Direction, RiskLevel, ThresholdRule, Urgency};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What the form's fields hold, by field name (the names of the settings' JSON).
type Values = BTreeMap<String, String>;

/// Which programme and year the page is about.
#[derive(Deserialize)]
pub struct SettingsQuery {
    programme: Option<String>,
    year: Option<i16>,
}

fn chosen(state: &AppState, q: &SettingsQuery) -> (ProgrammeCode, i16) {
    let programme = q
        .programme
        .as_deref()
        .and_then(ProgrammeCode::from_letter)
        .unwrap_or(ProgrammeCode::R);
    let year = q
        .year
        .unwrap_or_else(|| FiscalYear::of(state.today()).year());
    (programme, year)
}

/// The version in force for the year (the programme's default when none was saved).
fn in_force(book: &ProgrammeBook, programme: ProgrammeCode, year: i16) -> ProgrammeSettings {
    book.for_year(programme, FiscalYear::new(year))
        .cloned()
        .unwrap_or_else(|| ProgrammeSettings::default_for(programme))
}

const YES_NO: [(&str, &str); 2] = [("yes", "はい"), ("no", "いいえ")];

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn number(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

fn optional<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// A threshold's three levels as one field: 「保健指導 / 受診勧奨 / すぐに受診」, 「-」
/// where the item has none.
fn levels_text(t: &ThresholdRule) -> String {
    [t.guidance, t.referral, t.urgent]
        .map(|v| v.map_or_else(|| "-".to_owned(), number))
        .join(" / ")
}

fn threshold_field(t: &ThresholdRule) -> String {
    let sex = match t.sex {
        Some(s) => format!("_{s:?}"),
        None => String::new(),
    };
    format!("t_{:?}{sex}", t.item)
}

fn threshold_label(t: &ThresholdRule) -> String {
    let sex = match t.sex {
        Some(collabo_domain::member::Sex::Male) => "（男性）",
        Some(collabo_domain::member::Sex::Female) => "（女性）",
        None => "",
    };
    let direction = match t.direction {
        Direction::AtOrAbove => "以上",
        Direction::Below => "未満",
        Direction::AtOrBelow => "以下",
    };
    format!(
        "{}{sex}（{}、{direction}で該当）",
        t.item.label(),
        t.item.unit().trim()
    )
}

/// The form's values of a version.
fn values_of(s: &ProgrammeSettings) -> Values {
    let mut v = Values::new();
    let mut put = |k: &str, x: String| {
        v.insert(k.to_owned(), x);
    };
    put("enabled", yes_no(s.enabled));
    put(
        "consent_mode",
        match s.consent_mode {
            ConsentMode::OptOut => "opt_out",
            ConsentMode::OptIn => "opt_in",
        }
        .into(),
    );
    put(
        "max_trigger_age_months",
        s.max_trigger_age_months.to_string(),
    );
    put("pamphlets", s.pamphlets.join("\n"));
    put("ab_variants", yes_no(s.ab_variants));
    put("ages_min", optional(s.ages.map(|a| a.min)));
    put("ages_max", optional(s.ages.and_then(|a| a.max)));
    match &s.rules {
        ProgrammeRules::Risk {
            thresholds,
            share_level,
            notify_person,
            notify_at,
            ..
        } => {
            put("share_level", share_level.code().into());
            put("notify_person", yes_no(*notify_person));
            put(
                "notify_at",
                match notify_at {
                    None | Some(Urgency::Guidance) => "all",
                    Some(Urgency::Referral) => "referral",
                    Some(Urgency::Immediate) => "immediate",
                }
                .into(),
            );
            for t in thresholds {
                put(&threshold_field(t), levels_text(t));
            }
        }
        ProgrammeRules::Smoking => {}
        ProgrammeRules::Diabetes {
            hba1c_threshold,
            glucose_threshold,
            kidney_priority,
            interrupted_months,
            lookback_months,
            follow_up_months,
            ..
        } => {
            put("hba1c_threshold", number(*hba1c_threshold));
            put("glucose_threshold", optional(glucose_threshold.map(number)));
            put("kidney_priority", yes_no(*kidney_priority));
            put("interrupted_months", optional(*interrupted_months));
            put("lookback_months", lookback_months.to_string());
            put("follow_up_months", follow_up_months.to_string());
        }
        ProgrammeRules::Cancer {
            follow_up_months, ..
        } => put("follow_up_months", follow_up_months.to_string()),
    }
    v
}

/// The domain's field names, as the form names them.
fn form_field(domain_field: &str) -> String {
    match domain_field {
        "ages" => "ages_min".to_owned(),
        f => match f.strip_prefix("rules.thresholds.") {
            Some(item) => format!("t_{item}"),
            None => f.strip_prefix("rules.").unwrap_or(f).to_owned(),
        },
    }
}

/// The version `base` with the form's values applied, or what is wrong, by field.
fn apply(mut s: ProgrammeSettings, v: &Values) -> Result<ProgrammeSettings, Vec<SettingProblem>> {
    let mut problems = Vec::new();
    let get = |k: &str| v.get(k).map_or("", |x| x.trim());
    let mut bad = |field: &str, message: String| {
        problems.push(SettingProblem {
            field: field.to_owned(),
            message,
        });
    };
    // Full-width digits as office PCs type them are read as digits.
    let ascii = |t: &str| -> String {
        t.chars()
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '．' => '.',
                c => c,
            })
            .collect()
    };
    let int = |k: &str, label: &str, bad: &mut dyn FnMut(&str, String)| -> Option<i32> {
        ascii(get(k))
            .parse()
            .map_err(|_| bad(k, format!("{label}は整数で入力してください。")))
            .ok()
    };
    let optional_int =
        |k: &str, label: &str, bad: &mut dyn FnMut(&str, String)| -> Option<Option<i32>> {
            if get(k).is_empty() {
                return Some(None);
            }
            int(k, label, bad).map(Some)
        };
    let decimal = |k: &str, label: &str, bad: &mut dyn FnMut(&str, String)| -> Option<f64> {
        ascii(get(k))
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .or_else(|| {
                bad(k, format!("{label}は数値で入力してください（例 6.5）。"));
                None
            })
    };
    s.enabled = get("enabled") == "yes";
    s.consent_mode = if get("consent_mode") == "opt_in" {
        ConsentMode::OptIn
    } else {
        ConsentMode::OptOut
    };
    if let Some(m) = int(
        "max_trigger_age_months",
        "対象とする健診・検診の古さ",
        &mut bad,
    ) {
        s.max_trigger_age_months = m;
    }
    s.pamphlets = get("pamphlets")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    s.ab_variants = get("ab_variants") == "yes";
    let min = optional_int("ages_min", "対象年齢（下限）", &mut bad);
    let max = optional_int("ages_max", "対象年齢（上限）", &mut bad);
    if let (Some(min), Some(max)) = (min, max) {
        s.ages = match (min, max) {
            (None, None) => None,
            (None, Some(_)) => {
                bad(
                    "ages_min",
                    "対象年齢の上限だけでなく下限も入力してください。".into(),
                );
                s.ages
            }
            (Some(min), max) => Some(AgeRange {
                min: min.clamp(-1, 200) as i16,
                max: max.map(|m| m.clamp(-1, 200) as i16),
            }),
        };
    }
    match &mut s.rules {
        ProgrammeRules::Risk {
            thresholds,
            share_level,
            notify_person,
            notify_at,
            ..
        } => {
            *share_level = RiskLevel::from_code(get("share_level")).unwrap_or(*share_level);
            *notify_person = get("notify_person") == "yes";
            *notify_at = match get("notify_at") {
                "referral" => Some(Urgency::Referral),
                "immediate" => Some(Urgency::Immediate),
                _ => None,
            };
            for t in thresholds.iter_mut() {
                let field = threshold_field(t);
                let text = ascii(get(&field));
                let parts: Vec<&str> = text.split(['/', '／']).map(str::trim).collect();
                let parsed: Option<Vec<Option<f64>>> = (parts.len() == 3)
                    .then(|| {
                        parts
                            .iter()
                            .map(|p| match *p {
                                "-" | "－" | "" => Some(None),
                                p => p.parse::<f64>().ok().filter(|x| x.is_finite()).map(Some),
                            })
                            .collect()
                    })
                    .flatten();
                match parsed {
                    Some(levels) => {
                        t.guidance = levels[0];
                        t.referral = levels[1];
                        t.urgent = levels[2];
                    }
                    None => bad(
                        &field,
                        format!(
                            "{} は「保健指導判定値 / 受診勧奨判定値 / すぐに受診」の3つを「/」で区切って入力してください（ない値は -）。",
                            t.item.label()
                        ),
                    ),
                }
            }
        }
        ProgrammeRules::Smoking => {}
        ProgrammeRules::Diabetes {
            hba1c_threshold,
            glucose_threshold,
            kidney_priority,
            interrupted_months,
            lookback_months,
            follow_up_months,
            ..
        } => {
            if let Some(x) = decimal("hba1c_threshold", "HbA1c の基準", &mut bad) {
                *hba1c_threshold = x;
            }
            if get("glucose_threshold").is_empty() {
                *glucose_threshold = None;
            } else if let Some(x) = decimal("glucose_threshold", "血糖の基準", &mut bad) {
                *glucose_threshold = Some(x);
            }
            *kidney_priority = get("kidney_priority") == "yes";
            if let Some(m) = optional_int("interrupted_months", "治療中断とみなす期間", &mut bad)
            {
                *interrupted_months = m;
            }
            if let Some(m) = int("lookback_months", "受診歴を確認する期間", &mut bad) {
                *lookback_months = m;
            }
            if let Some(m) = int("follow_up_months", "受診を確認するまでの期間", &mut bad)
            {
                *follow_up_months = m;
            }
        }
        ProgrammeRules::Cancer {
            follow_up_months, ..
        } => {
            if let Some(m) = int("follow_up_months", "受診を確認するまでの期間", &mut bad)
            {
                *follow_up_months = m;
            }
        }
    }
    // What the form could read, checked by the domain's rule like every other save.
    problems.extend(s.problems().into_iter().map(|p| SettingProblem {
        field: form_field(&p.field),
        message: p.message,
    }));
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(problems)
    }
}

/// The form's fields for a programme, with `values` and each problem under its field.
fn fields(base: &ProgrammeSettings, v: &Values, problems: &[SettingProblem]) -> Vec<Field> {
    let value = |k: &str| v.get(k).cloned().unwrap_or_default();
    let hint_of = |k: &str, fallback: &str| -> String {
        let wrong: Vec<&str> = problems
            .iter()
            .filter(|p| p.field == k)
            .map(|p| p.message.as_str())
            .collect();
        if wrong.is_empty() {
            fallback.to_owned()
        } else {
            format!("⚠ {}", wrong.join(" "))
        }
    };
    let text = |label: &str, k: &str, hint: &str| {
        Field::new(label, k, "text")
            .value(value(k))
            .hint(&hint_of(k, hint))
    };
    let select = |label: &str, k: &str, options: &[(&str, &str)], hint: &str| {
        Field::select(label, k, options)
            .value(value(k))
            .hint(&hint_of(k, hint))
    };
    let mut out = vec![
        select("実施する", "enabled", &YES_NO, ""),
        select(
            "同意の扱い",
            "consent_mode",
            &[
                ("opt_out", "オプトアウト（申出がなければ実施）"),
                ("opt_in", "オプトイン（同意のある人だけ）"),
            ],
            "要配慮個人情報を事業所と共有する事業はオプトインにできます。",
        ),
        text(
            "対象とする健診・検診の古さ（か月）",
            "max_trigger_age_months",
            "これより古い健診・検診からは案件を作りません（1〜60）。",
        ),
        Field::new("同封するパンフレット（1行に1つ）", "pamphlets", "textarea")
            .value(value("pamphlets"))
            .hint(&hint_of("pamphlets", "")),
        text(
            "対象年齢（下限）",
            "ages_min",
            "空欄: 年齢で限定しない。健診日・検診日の年齢で判定します。",
        ),
        text("対象年齢（上限）", "ages_max", "空欄: 上限なし。"),
    ];
    if matches!(base.code, ProgrammeCode::S | ProgrammeCode::C) {
        out.push(select(
            "文案 A/B を無作為に割り当てる",
            "ab_variants",
            &YES_NO,
            "効果測定で2つの文案の効果を比べます。",
        ));
    }
    match &base.rules {
        ProgrammeRules::Risk { thresholds, .. } => {
            out.push(select(
                "事業所と共有する判定",
                "share_level",
                &[
                    (RiskLevel::Referral.code(), "受診勧奨判定値以上"),
                    (RiskLevel::Guidance.code(), "保健指導判定値以上"),
                ],
                "",
            ));
            out.push(select("本人にも通知する", "notify_person", &YES_NO, ""));
            out.push(select(
                "本人に通知する判定",
                "notify_at",
                &[
                    ("all", "リスク保有者すべて"),
                    ("referral", "受診勧奨判定値以上"),
                    ("immediate", "すぐに受診 の値のみ（重症化予防）"),
                ],
                "",
            ));
            for t in thresholds {
                out.push(text(
                    &threshold_label(t),
                    &threshold_field(t),
                    "保健指導判定値 / 受診勧奨判定値 / すぐに受診（ない値は -）",
                ));
            }
        }
        ProgrammeRules::Smoking => {}
        ProgrammeRules::Diabetes { .. } => {
            out.extend([
                text(
                    "対象とする HbA1c（%、以上）",
                    "hba1c_threshold",
                    "既定 6.5（受診勧奨判定値）。",
                ),
                text(
                    "対象とする血糖（mg/dL、以上）",
                    "glucose_threshold",
                    "空欄: 血糖では対象にしない。国の糖尿病性腎症重症化予防プログラムは 126。",
                ),
                select(
                    "腎機能の基準（eGFR 45未満・尿蛋白＋以上）で優先",
                    "kidney_priority",
                    &YES_NO,
                    "",
                ),
                text(
                    "治療中断とみなす期間（か月）",
                    "interrupted_months",
                    "空欄: 治療中断者は対象にしない。国のプログラムは 6。",
                ),
                text(
                    "受診歴を確認する期間（健診前、か月）",
                    "lookback_months",
                    "",
                ),
                text(
                    "受診を確認するまでの期間（通知後、か月）",
                    "follow_up_months",
                    "",
                ),
            ]);
        }
        ProgrammeRules::Cancer { .. } => out.push(text(
            "精密検査の受診を確認するまでの期間（通知後、か月）",
            "follow_up_months",
            "この期間に受診が確認できなければ再勧奨します。",
        )),
    }
    out
}

fn page_of(
    who: &Identity,
    programme: ProgrammeCode,
    year: i16,
    base: &ProgrammeSettings,
    values: &Values,
    problems: &[SettingProblem],
) -> Page {
    let mut page = Page::new("事業設定", who);
    if !problems.is_empty() {
        page.notice(
            "error",
            std::iter::once("保存していません。次の項目を直してください。".to_owned())
                .chain(problems.iter().map(|p| p.message.clone()))
                .collect(),
        );
    }
    page.push(Block::Para(
        "事業ごと・年度ごとの設定です。保存した年度から、次に設定を保存した年度の前年度まで適用されます。".into(),
    ));
    let links = ProgrammeCode::ALL
        .into_iter()
        .map(|p| {
            (
                format!("/admin/settings?programme={}&year={year}", p.letter()),
                format!("{} {}", p.letter(), p.label()),
            )
        })
        .collect();
    page.push(Block::Links(links));
    page.push(Block::Heading(format!(
        "{} {}（{}年度から）",
        programme.letter(),
        programme.label(),
        year
    )));
    page.push(Block::Form(Form {
        action: "/admin/settings".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: std::iter::once(Field::hidden("programme", programme.letter()))
            .chain(std::iter::once(
                Field::new("適用開始年度（西暦）", "year", "number").value(year.to_string()),
            ))
            .chain(fields(base, values, problems))
            .collect(),
        submit: "保存".into(),
        get: false,
    }));
    page.push(Block::Heading("JSON での書出し・読込み".into()));
    page.push(Block::Para(
        "ほかの組合への写しや、画面にない項目（受診とみなすレセプトの条件、通知の対象項目）の変更に使います。読込みも同じ確認を通ります。".into(),
    ));
    page.push(Block::Links(vec![(
        format!(
            "/admin/settings/export?programme={}&year={year}",
            programme.letter()
        ),
        "この設定を JSON で書き出す".into(),
    )]));
    page.push(Block::Form(Form {
        action: "/admin/settings/import".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: vec![
            Field::hidden("programme", programme.letter()),
            Field::new("適用開始年度（西暦）", "year", "number").value(year.to_string()),
            Field::new("設定（JSON）", "settings", "textarea"),
        ],
        submit: "JSON を読み込んで保存".into(),
        get: false,
    }));
    if let ProgrammeRules::Risk { thresholds, .. } = &base.rules {
        let table = Table {
            headers: vec![
                "項目".into(),
                "保健指導判定値".into(),
                "受診勧奨判定値".into(),
                "すぐに受診".into(),
            ],
            rows: thresholds
                .iter()
                .map(|t| {
                    let n = |v: Option<f64>| Cell::Num(v.map_or_else(|| "—".into(), number));
                    vec![
                        Cell::Text(threshold_label(t)),
                        n(t.guidance),
                        n(t.referral),
                        n(t.urgent),
                    ]
                })
                .collect(),
            empty: String::new(),
        };
        page.push(Block::Heading("保存されている判定値".into()));
        page.push(Block::Table(table));
    }
    page
}

/// GET /admin/settings?programme=&year=: the form of the version in force that year.
pub async fn settings(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<SettingsQuery>,
) -> WebResult<Response> {
    let (programme, year) = chosen(&state, &q);
    let book = state.app.programme_book(&who.actor()).await?;
    let base = in_force(&book, programme, year);
    Ok(
        page_of(&who, programme, year, &base, &values_of(&base), &[])
            .html()?
            .into_response(),
    )
}

/// POST /admin/settings: the form's values over the version in force that year, saved
/// from that year on; with a problem, the form again with what was typed.
pub async fn save_settings(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(values): FormData<Values>,
) -> WebResult<Response> {
    let programme = values
        .get("programme")
        .and_then(|p| ProgrammeCode::from_letter(p))
        .ok_or_else(|| WebError::BadRequest("事業が正しくありません。".into()))?;
    let year: i16 = values
        .get("year")
        .and_then(|y| y.trim().parse().ok())
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| WebError::BadRequest("適用開始年度は西暦で入力してください。".into()))?;
    let book = state.app.programme_book(&who.actor()).await?;
    let base = in_force(&book, programme, year);
    match apply(base.clone(), &values) {
        Ok(mut settings) => {
            settings.from_year = FiscalYear::new(year);
            state
                .app
                .save_programme_settings(&who.actor(), &settings)
                .await?;
            Ok(Redirect::to(&format!(
                "/admin/settings?programme={}&year={year}",
                programme.letter()
            ))
            .into_response())
        }
        Err(problems) => {
            let page = page_of(&who, programme, year, &base, &values, &problems);
            Ok((StatusCode::BAD_REQUEST, page.html()?).into_response())
        }
    }
}

/// GET /admin/settings/export?programme=&year=: the version in force as JSON.
pub async fn export_settings(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<SettingsQuery>,
) -> WebResult<Response> {
    let (programme, year) = chosen(&state, &q);
    let book = state.app.programme_book(&who.actor()).await?;
    let json = serde_json::to_vec_pretty(&in_force(&book, programme, year))
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(super::download_response(
        &format!("settings-{}-{year}.json", programme.letter()),
        "application/json",
        json,
    ))
}

/// The JSON import form.
#[derive(Deserialize)]
pub struct ImportForm {
    programme: String,
    year: i16,
    settings: String,
}

/// POST /admin/settings/import: a version from JSON (an export), saved from the year
/// chosen, through the same check as the form.
pub async fn import_settings(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<ImportForm>,
) -> WebResult<Response> {
    let programme = ProgrammeCode::from_letter(&form.programme)
        .ok_or_else(|| WebError::BadRequest("事業が正しくありません。".into()))?;
    let book = state.app.programme_book(&who.actor()).await?;
    let base = in_force(&book, programme, form.year);
    let refuse = |message: String| -> WebResult<Response> {
        let problems = [SettingProblem {
            field: "settings".into(),
            message,
        }];
        let page = page_of(
            &who,
            programme,
            form.year,
            &base,
            &values_of(&base),
            &problems,
        );
        Ok((StatusCode::BAD_REQUEST, page.html()?).into_response())
    };
    let mut settings: ProgrammeSettings = match serde_json::from_str(&form.settings) {
        Ok(s) => s,
        Err(e) => {
            return refuse(format!(
                "JSON を読み取れません（{}行{}列）。書き出した JSON を元に直してください。",
                e.line(),
                e.column()
            ));
        }
    };
    if settings.code != programme {
        return refuse("JSON の code が選択した事業と一致しません。".into());
    }
    settings.from_year = FiscalYear::new(form.year);
    let problems = settings.problems();
    if let Some(p) = problems.first() {
        return refuse(p.message.clone());
    }
    state
        .app
        .save_programme_settings(&who.actor(), &settings)
        .await?;
    Ok(Redirect::to(&format!(
        "/admin/settings?programme={}&year={}",
        programme.letter(),
        form.year
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_programmes_form_reads_back_the_version_it_shows() {
        // Shown, then saved unchanged, the form gives the same settings.
        for code in ProgrammeCode::ALL {
            let s = ProgrammeSettings::default_for(code);
            assert_eq!(apply(s.clone(), &values_of(&s)), Ok(s.clone()), "{code:?}");
        }
    }

    #[test]
    fn what_cannot_be_read_or_is_out_of_range_is_named_under_its_field() {
        let d = ProgrammeSettings::default_for(ProgrammeCode::D);
        let mut v = values_of(&d);
        v.insert("hba1c_threshold".into(), "６５".into()); // full-width 65: a typo for 6.5
        v.insert("lookback_months".into(), "twelve".into());
        v.insert("interrupted_months".into(), "6".into());
        let problems = apply(d.clone(), &v).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["lookback_months", "hba1c_threshold"],
            "{problems:?}"
        );
        // Corrected, the rest of what was typed is kept.
        v.insert("hba1c_threshold".into(), "7.0".into());
        v.insert("lookback_months".into(), "12".into());
        let saved = apply(d, &v).unwrap();
        let ProgrammeRules::Diabetes {
            hba1c_threshold,
            interrupted_months,
            ..
        } = saved.rules
        else {
            unreachable!()
        };
        assert_eq!((hba1c_threshold, interrupted_months), (7.0, Some(6)));

        let r = ProgrammeSettings::default_for(ProgrammeCode::R);
        let mut v = values_of(&r);
        v.insert("t_HbA1c".into(), "5.6 / 5.0 / 8".into()); // out of order
        v.insert("t_Ldl".into(), "120 140".into()); // not three values
        let problems = apply(r, &v).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["t_Ldl", "t_HbA1c"], "{problems:?}");
    }
}
