//! Renders the sample letter of every kind to `<out>/<kind>.pdf` and all of them as one
//! `<out>/batch.pdf`, plus `R-long.pdf` (long address, two pages), for looking at templates (an admin's preview after editing one).
//!
//! `cargo run --release -p collabo-letters --example samples -- <out> [template-dir]`
//! Uses the synthetic sample data only.

use collabo_domain::programme::LetterKind;
use collabo_letters::{LetterData, Renderer};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "letters-samples".into()));
    let templates = args.next().map(PathBuf::from);
    let renderer = Renderer::with_default_fonts(None, templates.as_deref())?;
    renderer.validate_templates()?;
    std::fs::create_dir_all(&out)?;
    let samples: Vec<LetterData> = LetterKind::ALL
        .into_iter()
        .zip(1..)
        .map(|(kind, sequence)| LetterData {
            sequence,
            ..LetterData::sample(kind)
        })
        .collect();
    for sample in &samples {
        std::fs::write(
            out.join(format!("{}.pdf", sample.kind.code())),
            renderer.render(sample)?,
        )?;
    }
    // The worst case: a long three-line address and a table that runs to a second page.
    let mut long = LetterData::sample(LetterKind::RiskReferral);
    long.recipient.address_lines = vec![
        "北海道札幌市中央区架空北一条西二十三丁目4番5号".into(),
        "架空グランドレジデンス札幌中央タワー".into(),
        "東棟1234号室　架空株式会社気付".into(),
    ];
    long.values = (1..=36)
        .map(|i| {
            let mut row = long.values[i % long.values.len()].clone();
            row.label = format!("{}（{i}）", row.label);
            row
        })
        .collect();
    std::fs::write(out.join("R-long.pdf"), renderer.render(&long)?)?;
    let refs: Vec<&LetterData> = samples.iter().collect();
    std::fs::write(out.join("batch.pdf"), renderer.render_batch(&refs)?.pdf)?;
    println!("wrote {} samples to {}", samples.len(), out.display());
    Ok(())
}
