//! Renders the sample letter of every kind to `<out>/<kind>.pdf` and all of them as one
//! `<out>/batch.pdf`, for looking at templates (an admin's preview after editing one).
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
    let samples: Vec<LetterData> = LetterKind::ALL.into_iter().map(LetterData::sample).collect();
    for sample in &samples {
        std::fs::write(out.join(format!("{}.pdf", sample.kind.code())), renderer.render(sample)?)?;
    }
    let refs: Vec<&LetterData> = samples.iter().collect();
    std::fs::write(out.join("batch.pdf"), renderer.render_batch(&refs)?.pdf)?;
    println!("wrote {} samples to {}", samples.len(), out.display());
    Ok(())
}
