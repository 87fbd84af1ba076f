//! The page model: every HTML page is a title, a navigation bar chosen by role, notices
//! and a list of blocks (headings, tables, forms, bar charts). One askama template
//! (`templates/page.html`) renders them all, escaping every value, so pages look alike
//! and no handler writes HTML by hand.
//!
//! Dates a person reads are 和暦 ([`wareki`]). Charts are inline SVG (no CDN, no JS).

use crate::auth::Identity;
use askama::Template;
use collabo_domain::authz::Role;

/// A whole page.
#[derive(Template)]
#[template(path = "page.html")]
pub struct Page {
    /// `<title>` and `<h1>`.
    pub title: String,
    /// Navigation (absent on the login pages).
    pub nav: Option<Nav>,
    /// Messages at the top.
    pub notices: Vec<Notice>,
    /// Content.
    pub blocks: Vec<Block>,
    /// Reload the page after this many seconds (a running job's page; no script).
    pub refresh: Option<u32>,
}

/// The navigation bar.
pub struct Nav {
    /// Links.
    pub items: Vec<(String, String)>,
    /// Who is logged in.
    pub user: String,
    /// Their role, in Japanese.
    pub role: String,
    /// Form token for the logout button.
    pub csrf: String,
}

/// A message box.
pub struct Notice {
    /// `ok`, `warn` or `error`.
    pub kind: &'static str,
    /// Lines of text.
    pub lines: Vec<String>,
}

/// One piece of content.
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph.
    Para(String),
    /// Preformatted text (error lists, URIs).
    Pre(String),
    /// Label/value pairs.
    Facts(Vec<(String, String)>),
    /// A table.
    Table(Table),
    /// A form.
    Form(Form),
    /// A horizontal bar chart.
    Bars(Bars),
    /// A row of links (downloads, filters).
    Links(Vec<(String, String)>),
    /// A one-button form on its own (with its fields and confirmation question).
    Action(Button),
    /// A progress bar: done, in all (0: not known), and the text beside it.
    Progress(u64, u64, String),
    /// An image (a `data:` URI drawn on the server, e.g. the 2FA QR code) and its text.
    Image(String, String),
}

/// A table.
pub struct Table {
    /// Column headings.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
    /// Shown when there are no rows.
    pub empty: String,
}

/// A table cell.
pub enum Cell {
    /// Text.
    Text(String),
    /// A right-aligned number.
    Num(String),
    /// A name, card or date: never wrapped in the middle.
    Key(String),
    /// A link.
    Link(String, String),
    /// Several links side by side (every part of a batch's PDF).
    Links(Vec<(String, String)>),
    /// A coloured label (`ok`, `warn`, `error`, `muted`).
    Badge(String, &'static str),
    /// A one-button form (POST with the CSRF token).
    Button(Button),
}

/// A one-button form.
pub struct Button {
    /// Where it posts.
    pub action: String,
    /// Button text.
    pub label: String,
    /// Form token.
    pub csrf: String,
    /// Hidden or visible extra fields.
    pub fields: Vec<Field>,
    /// A question asked before posting (empty: none).
    pub confirm: String,
}

/// A form.
pub struct Form {
    /// Where it posts.
    pub action: String,
    /// `multipart/form-data` (file upload).
    pub multipart: bool,
    /// Form token.
    pub csrf: String,
    /// Fields.
    pub fields: Vec<Field>,
    /// Submit button text.
    pub submit: String,
    /// GET instead of POST (search forms; no token).
    pub get: bool,
}

/// A form field.
pub struct Field {
    /// Label.
    pub label: String,
    /// Name.
    pub name: String,
    /// `text`, `password`, `number`, `date`, `file`, `select`, `textarea`, `hidden`.
    pub kind: &'static str,
    /// Initial value.
    pub value: String,
    /// Options of a select: (value, label).
    pub options: Vec<(String, String)>,
    /// Help text.
    pub hint: String,
}

impl Field {
    /// A field of a kind.
    pub fn new(label: &str, name: &str, kind: &'static str) -> Field {
        Field {
            label: label.to_owned(),
            name: name.to_owned(),
            kind,
            value: String::new(),
            options: Vec::new(),
            hint: String::new(),
        }
    }
    /// With an initial value.
    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        self
    }
    /// With help text.
    pub fn hint(mut self, hint: &str) -> Field {
        self.hint = hint.to_owned();
        self
    }
    /// A select with options.
    pub fn select(label: &str, name: &str, options: &[(&str, &str)]) -> Field {
        let mut f = Field::new(label, name, "select");
        f.options = options
            .iter()
            .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
            .collect();
        f
    }
    /// A hidden field.
    pub fn hidden(name: &str, value: impl Into<String>) -> Field {
        Field::new("", name, "hidden").value(value)
    }
}

/// A bar chart of rates on a fixed 0–100 % axis, each with its 95 % interval: a bar's
/// length is its rate, never scaled to the largest one. Drawn by `plotters` as SVG.
pub struct Bars {
    /// Caption.
    pub caption: String,
    /// Bars.
    pub bars: Vec<BarRow>,
}

/// One bar of [`Bars`].
pub struct BarRow {
    /// Label.
    pub label: String,
    /// Value text (rate, interval, denominator).
    pub text: String,
    /// The rate and its interval as fractions (0–1); none when nobody was counted.
    pub rate: Option<(f64, f64, f64)>,
}

/// The chart's width in SVG units, and the parts of it: labels, the 0–100 % axis, the
/// value texts.
const CHART_WIDTH: u32 = 1000;
const LABEL_WIDTH: u32 = 260;
const TEXT_WIDTH: u32 = 330;
const ROW_HEIGHT: u32 = 26;
const AXIS_LABELS: u32 = 24;
/// The bar colour (also how the tests find the bars).
const BAR_COLOUR: plotters::style::RGBColor = plotters::style::RGBColor(11, 92, 171);

impl Bars {
    /// Rates with their Wilson interval and denominator.
    pub fn rates(caption: &str, data: &[(String, Option<collabo_domain::effects::Rate>)]) -> Bars {
        Bars {
            caption: caption.to_owned(),
            bars: data
                .iter()
                .map(|(label, rate)| match rate {
                    Some(r) => BarRow {
                        label: label.clone(),
                        text: format!(
                            "{:.1}%（{:.1}–{:.1}） {}/{}",
                            100.0 * r.estimate.value,
                            100.0 * r.estimate.low,
                            100.0 * r.estimate.high,
                            r.k,
                            r.n
                        ),
                        rate: Some((r.estimate.value, r.estimate.low, r.estimate.high)),
                    },
                    None => BarRow {
                        label: label.clone(),
                        text: "— (対象なし)".to_owned(),
                        rate: None,
                    },
                })
                .collect(),
        }
    }

    /// The chart as an SVG element: a 0–100 % axis with ticks every 25 %, one bar per
    /// rate with its interval as a line, the label on the left and the figures on the
    /// right. Text is laid out by the browser, never stretched.
    pub fn svg(&self) -> String {
        let height = self.bars.len() as u32 * ROW_HEIGHT + AXIS_LABELS;
        let mut out = String::new();
        // Drawing into a String cannot fail; an error would only leave the chart empty.
        let _ = self.draw(&mut out, height);
        out
    }

    fn draw(&self, out: &mut String, height: u32) -> Result<(), Box<dyn std::error::Error + '_>> {
        use plotters::prelude::*;
        let root = SVGBackend::with_string(out, (CHART_WIDTH, height)).into_drawing_area();
        let rows = self.bars.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin_left(LABEL_WIDTH)
            .margin_right(TEXT_WIDTH)
            .x_label_area_size(AXIS_LABELS)
            // The end a hair past 100 so that the 100 % tick is drawn (the range is half-open).
            .build_cartesian_2d((0f64..100.000_001).step(25.0), rows..0f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_label_formatter(&|x| format!("{x:.0}%"))
            .x_label_style(("sans-serif", 15).into_font().color(&RGBColor(82, 96, 109)))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(208, 215, 222))
            .draw()?;
        let at = |x: f64| 100.0 * x.clamp(0.0, 1.0);
        chart.draw_series(self.bars.iter().enumerate().filter_map(|(i, b)| {
            let (value, _, _) = b.rate?;
            let y = i as f64;
            Some(Rectangle::new(
                [(0.0, y + 0.15), (at(value), y + 0.85)],
                BAR_COLOUR.filled(),
            ))
        }))?;
        chart.draw_series(self.bars.iter().enumerate().filter_map(|(i, b)| {
            let (_, low, high) = b.rate?;
            let y = i as f64 + 0.5;
            Some(PathElement::new(
                vec![(at(low), y), (at(high), y)],
                RGBColor(31, 41, 51).stroke_width(2),
            ))
        }))?;
        // plotters takes points (px × 1.24): 16 draws 13 px text.
        let text = ("sans-serif", 16).into_font().color(&RGBColor(31, 41, 51));
        for (i, b) in self.bars.iter().enumerate() {
            let y = (i as u32 * ROW_HEIGHT + 18) as i32;
            root.draw_text(&b.label, &text, (0, y - 13))?;
            root.draw_text(
                &b.text,
                &text,
                ((CHART_WIDTH - TEXT_WIDTH + 10) as i32, y - 13),
            )?;
        }
        root.present()?;
        Ok(())
    }
}

impl Page {
    /// A page for a logged-in user, with the navigation of their role.
    pub fn new(title: &str, who: &Identity) -> Page {
        Page {
            title: title.to_owned(),
            nav: Some(nav_for(who)),
            notices: Vec::new(),
            blocks: Vec::new(),
            refresh: None,
        }
    }
    /// A page without navigation (login).
    pub fn bare(title: &str) -> Page {
        Page {
            title: title.to_owned(),
            nav: None,
            notices: Vec::new(),
            blocks: Vec::new(),
            refresh: None,
        }
    }
    /// Adds a block.
    pub fn push(&mut self, block: Block) -> &mut Page {
        self.blocks.push(block);
        self
    }
    /// Adds a notice.
    pub fn notice(&mut self, kind: &'static str, lines: Vec<String>) -> &mut Page {
        self.notices.push(Notice { kind, lines });
        self
    }
    /// Renders to an HTML response.
    pub fn html(&self) -> Result<axum::response::Html<String>, crate::WebError> {
        Ok(axum::response::Html(self.render()?))
    }
}

/// The role's name in Japanese.
pub fn role_label(role: &Role) -> &'static str {
    match role {
        Role::Admin => "システム管理者",
        Role::Staff => "保健事業担当",
        Role::Employer(_) => "事業所担当者",
        Role::Auditor => "監査担当",
    }
}

fn nav_for(who: &Identity) -> Nav {
    let items: Vec<(&str, String)> = match &who.role {
        Role::Staff => vec![
            ("ダッシュボード", "/staff".into()),
            ("取込・抽出", "/staff/imports".into()),
            ("対象者一覧", "/staff/cases".into()),
            ("レセプト", "/staff/claims".into()),
            ("照合待ち", "/staff/review".into()),
            ("同意・停止", "/staff/consents".into()),
            ("通知バッチ", "/staff/letters".into()),
            ("加入者検索", "/staff/members".into()),
            ("実績レポート", "/staff/reports".into()),
            ("保存期間", "/staff/retention".into()),
        ],
        Role::Admin => vec![
            ("ユーザー", "/admin/users".into()),
            ("事業所・覚書", "/admin/employers".into()),
            ("事業設定", "/admin/settings".into()),
            ("差出人・請求の種類", "/admin/society".into()),
            ("通知テンプレート", "/admin/templates".into()),
            ("共同利用の公表", "/admin/joint-use".into()),
        ],
        Role::Auditor => vec![("監査ログ", "/audit".into())],
        Role::Employer(codes) => codes
            .iter()
            .flat_map(|c| {
                [
                    ("提出状況", format!("/employer/{c}")),
                    ("リスク保有者", format!("/employer/{c}/risk-holders")),
                    ("集計", format!("/employer/{c}/aggregates")),
                ]
            })
            .chain([("共同利用について", "/joint-use".to_owned())])
            .collect(),
    };
    Nav {
        items: items.into_iter().map(|(l, h)| (h, l.to_owned())).collect(),
        user: who.display_name.clone(),
        role: role_label(&who.role).to_owned(),
        csrf: who.csrf().to_owned(),
    }
}

/// 和暦 for a date a person reads (`令和8年11月24日`), ISO when out of range.
pub fn wareki(date: collabo_domain::Date) -> String {
    collabo_domain::calendar::format_wareki(date).unwrap_or_else(|_| date.to_string())
}

/// A fiscal year as an office reads it: `令和8年度`.
pub fn nendo(fy: collabo_domain::calendar::FiscalYear) -> String {
    match collabo_domain::calendar::wareki_of(fy.first_day()) {
        Ok(w) if w.year == 1 => format!("{}元年度", w.era.name()),
        Ok(w) => format!("{}{}年度", w.era.name(), w.year),
        Err(_) => format!("{}年度", fy.year()),
    }
}

/// 和暦 of an ISO date text; the text itself when it does not parse.
pub fn wareki_text(iso: &str) -> String {
    iso.get(..10)
        .and_then(|d| d.parse::<collabo_domain::Date>().ok())
        .map_or_else(|| iso.to_owned(), wareki)
}

/// 和暦 date and Japan time of an RFC 3339 instant (`令和8年11月24日 09:30`).
pub fn wareki_time(instant: &str) -> String {
    match instant.parse::<jiff::Timestamp>() {
        Ok(t) => {
            let z = jiff::tz::offset(9).to_datetime(t);
            format!("{} {:02}:{:02}", wareki(z.date()), z.hour(), z.minute())
        }
        Err(_) => instant.to_owned(),
    }
}

/// 和暦 date and Japan time of an instant (`令和8年11月24日 09:30`).
pub fn wareki_at(t: jiff::Timestamp) -> String {
    let z = jiff::tz::offset(9).to_datetime(t);
    format!("{} {:02}:{:02}", wareki(z.date()), z.hour(), z.minute())
}

/// A minimal error page (used by [`crate::WebError`]).
pub fn error_page(status: u16, code: &str, message: &str) -> String {
    let mut page = Page::bare("エラー");
    page.notice("error", vec![message.to_owned()]);
    page.push(Block::Para(format!(
        "エラーコード: {code}（HTTP {status}）"
    )));
    page.push(Block::Links(vec![("/".into(), "トップへ戻る".into())]));
    page.render().unwrap_or_else(|_| format!("{status} {code}"))
}

/// A one-button POST form cell.
pub fn button(action: String, label: &str, csrf: &str) -> Cell {
    Cell::Button(Button {
        action,
        label: label.to_owned(),
        csrf: csrf.to_owned(),
        fields: Vec::new(),
        confirm: String::new(),
    })
}

/// A one-button POST form cell that asks before posting.
pub fn confirm_button(action: String, label: &str, csrf: &str, question: &str) -> Cell {
    Cell::Button(Button {
        action,
        label: label.to_owned(),
        csrf: csrf.to_owned(),
        fields: Vec::new(),
        confirm: question.to_owned(),
    })
}

/// Rows per page of the portal's lists of people and records: no page renders an
/// unbounded list.
pub const PER_PAGE: i64 = 100;

/// The page number of a `?page=` query (1 when absent or nonsense).
pub fn page_number(page: Option<i64>) -> i64 {
    page.unwrap_or(1).max(1)
}

/// Where a paged list stands (`全N件中 1〜100件目`) and links to the pages before and
/// after. `base` is the list's path with its other query parameters and a trailing
/// `?` or `&`.
pub fn pager(page: &mut Page, base: &str, current: i64, total: i64) {
    if total <= PER_PAGE && current <= 1 {
        return;
    }
    let first = (current - 1) * PER_PAGE + 1;
    let last = (current * PER_PAGE).min(total);
    page.push(Block::Para(if first > total {
        format!("全{total}件（このページに該当はありません）")
    } else {
        format!("全{total}件中 {first}〜{last}件目")
    }));
    let mut links = Vec::new();
    if current > 1 {
        links.push((
            format!("{base}page={}", current - 1),
            "前のページ".to_owned(),
        ));
    }
    if current * PER_PAGE < total {
        links.push((
            format!("{base}page={}", current + 1),
            "次のページ".to_owned(),
        ));
    }
    if !links.is_empty() {
        page.push(Block::Links(links));
    }
}

/// Percent-encodes a query value.
pub fn query_value(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod chart_tests {
    use super::*;

    /// The bars' `(x, width)` as drawn, found by their colour.
    fn bars_of(svg: &str) -> Vec<(f64, f64)> {
        let attr = |el: &str, name: &str| -> f64 {
            let at = el.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            el[at..].split('"').next().unwrap().parse().unwrap()
        };
        svg.split("<rect")
            .skip(1)
            .filter(|el| el.contains("fill=\"#0B5CAB\""))
            .map(|el| (attr(el, "x"), attr(el, "width")))
            .collect()
    }

    fn rate(k: u64, n: u64) -> Option<collabo_domain::effects::Rate> {
        collabo_domain::effects::rate(k, n)
    }

    #[test]
    fn a_bar_is_as_long_as_its_rate_on_the_fixed_axis_never_scaled_to_the_largest() {
        // 42.7 % is the largest bar: it must be drawn at 42.7 % of the axis, not full.
        let chart = Bars::rates(
            "率",
            &[
                ("受診".into(), rate(427, 1000)),
                ("禁煙".into(), rate(100, 1000)),
                ("対象なし".into(), None),
            ],
        );
        let svg = chart.svg();
        let bars = bars_of(&svg);
        assert_eq!(bars.len(), 2, "{svg}");
        let axis = f64::from(CHART_WIDTH - LABEL_WIDTH - TEXT_WIDTH);
        assert!((bars[0].1 / axis - 0.427).abs() < 0.01, "{bars:?} {svg}");
        assert!((bars[1].1 / axis - 0.100).abs() < 0.01, "{bars:?}");
        assert!(
            bars.iter()
                .all(|b| (b.0 - f64::from(LABEL_WIDTH)).abs() < 2.0)
        );
        // The axis says 0 % and 100 %, the text is not stretched, the labels are there.
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| t.split('>').nth(1))
            .map(|t| t.trim_end_matches("</text").trim())
            .collect();
        for tick in [
            "0%",
            "25%",
            "50%",
            "75%",
            "100%",
            "受診",
            "禁煙",
            "— (対象なし)",
        ] {
            assert!(texts.contains(&tick), "{tick} in {texts:?}");
        }
        assert!(!svg.contains("preserveAspectRatio"));
    }
}
