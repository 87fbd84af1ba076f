//! Benchmark: render a batch of synthetic letters (all five kinds, cycling) with
//! `Renderer::write_batch` into part files, on one thread, and print letters/s and peak
//! memory (VmHWM). Runs each batch size in its own child process so that VmHWM belongs
//! to that size alone: 1,000 and 10,000 letters by default.
//!
//! `cargo bench -p collabo-letters --bench render_batch` (release). Set
//! `COLLABO_BENCH_SIZES=1000,10000` and `COLLABO_BENCH_PART=100` to change the run.
//! It measures; it asserts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use collabo_domain::programme::LetterKind;
use collabo_letters::{BatchOptions, LetterData, Renderer};
use std::process::Command;
use std::time::Instant;

const CHILD: &str = "COLLABO_BENCH_CHILD_LETTERS";

fn main() {
    match std::env::var(CHILD) {
        Ok(n) => child(n.parse().unwrap_or(1000)),
        Err(_) => parent(),
    }
}

fn parent() {
    let sizes = std::env::var("COLLABO_BENCH_SIZES").unwrap_or_else(|_| "1000,10000".into());
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    for size in sizes.split(',') {
        let status = Command::new(&exe)
            .env(CHILD, size.trim())
            .status()
            .unwrap_or_else(|e| panic!("child: {e}"));
        assert!(status.success(), "benchmark child for {size} failed");
    }
}

fn letters(n: u32) -> impl Iterator<Item = LetterData> {
    (1..=n).map(|sequence| {
        let kind = LetterKind::ALL[(sequence as usize - 1) % LetterKind::ALL.len()];
        let mut letter = LetterData::sample(kind);
        letter.sequence = sequence;
        letter.recipient.name = format!("架空 太郎{sequence}");
        letter.reference = format!("{}-2026-{sequence:06}", kind.code());
        letter
    })
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn child(n: u32) {
    let part: usize = std::env::var("COLLABO_BENCH_PART")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(100);
    let start = Instant::now();
    let renderer = Renderer::with_default_fonts(None, None).unwrap_or_else(|e| panic!("{e}"));
    let setup = start.elapsed();
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let manifest = renderer
        .write_batch(
            letters(n),
            out.path(),
            &BatchOptions {
                letters_per_part: part,
                per_letter_pdfs: false,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed().as_secs_f64();
    let bytes: u64 = manifest
        .parts
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "render_batch: {n} letters ({} pages, {} parts of ≤{part}) in {elapsed:.2} s = {:.0} letters/s ({:.2} ms/letter) on 1 thread; \
         font scan + templates {:.0} ms; output {:.1} MB ({:.1} KB/letter); peak RSS (VmHWM) {} MiB",
        manifest.pages,
        manifest.parts.len(),
        f64::from(n) / elapsed,
        elapsed * 1000.0 / f64::from(n),
        setup.as_secs_f64() * 1000.0,
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / f64::from(n),
        vm_hwm_kib() / 1024,
    );
}
