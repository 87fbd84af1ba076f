//! Sustained fuzzing of Collabo's parsers, for a stated time, outside CI.
//!
//! Each parser crate has `#[ignore]` tests named `fuzz_*` that call [`Fuzz::run`] with
//! valid seed files and a dictionary of tokens of their format; run them with
//!
//! ```text
//! FUZZ_SECONDS=600 cargo test --release -p collabo-claims -- --ignored fuzz
//! ```
//!
//! Every case is a seed with up to 16 edits drawn by proptest (bit flips, interesting
//! bytes, dictionary tokens inserted or overwritten, cuts, duplications, splices of
//! another seed, truncation) — structure-aware enough to get past the first bytes of a
//! zip or an XML prolog. The target is called under `catch_unwind`; a panic is counted
//! and its input kept under `$TMPDIR/collabo-fuzz-failures/` for a regression test. The harness
//! reports the cases tried, the panics and the slowest case.
//!
//! Deliberately not here: coverage guidance (cargo-fuzz needs nightly), the targets
//! themselves (each crate fuzzes its own parser).
//!
//! Library code may panic here: it is test tooling, and a panic is how it reports.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// One edit of a seed.
#[derive(Debug, Clone)]
enum Edit {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Insert(usize, usize),
    Overwrite(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Splice(usize, usize, usize, usize),
    Truncate(usize),
}

/// Bytes that break parsers more often than random ones.
const INTERESTING: [u8; 16] = [
    0, 1, 0x7f, 0x80, 0xff, b'\r', b'\n', b',', b'"', b'<', b'>', b'&', b'=', b'9', b'-', 0xe3,
];

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        (at, 0u8..8).prop_map(|(p, b)| Edit::FlipBit(p, b)),
        (at, 0usize..INTERESTING.len()).prop_map(|(p, i)| Edit::SetByte(p, INTERESTING[i])),
        (at, any::<usize>()).prop_map(|(p, t)| Edit::Insert(p, t)),
        (at, any::<usize>()).prop_map(|(p, t)| Edit::Overwrite(p, t)),
        (at, 1usize..64).prop_map(|(p, n)| Edit::Delete(p, n)),
        (at, 1usize..256).prop_map(|(p, n)| Edit::Duplicate(p, n)),
        (at, any::<usize>(), any::<usize>(), 1usize..512)
            .prop_map(|(p, s, f, n)| Edit::Splice(p, s, f, n)),
        at.prop_map(Edit::Truncate),
    ]
}

/// A fuzzing campaign: seed files and format tokens.
pub struct Fuzz {
    /// Name (reports, failure files).
    pub name: &'static str,
    /// Valid inputs to mutate.
    pub seeds: Vec<Vec<u8>>,
    /// Tokens of the format (record names, tags, separators, entity references …).
    pub dictionary: Vec<Vec<u8>>,
}

/// What a campaign did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Inputs tried.
    pub cases: u64,
    /// Inputs on which the target panicked.
    pub panics: u64,
    /// Seconds spent.
    pub seconds: f64,
    /// The slowest case, in milliseconds.
    pub slowest_ms: u128,
}

/// `FUZZ_SECONDS` from the environment, else `default`.
pub fn seconds_from_env(default: u64) -> u64 {
    std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Fuzz {
    fn apply(&self, seed: usize, edits: &[Edit]) -> Vec<u8> {
        let mut data = self.seeds[seed % self.seeds.len()].clone();
        for e in edits {
            let len = data.len();
            let pos = |p: usize| if len == 0 { 0 } else { p % (len + 1) };
            match *e {
                Edit::FlipBit(p, b) if len > 0 => data[p % len] ^= 1 << b,
                Edit::SetByte(p, v) if len > 0 => data[p % len] = v,
                Edit::Insert(p, t) if !self.dictionary.is_empty() => {
                    let token = &self.dictionary[t % self.dictionary.len()];
                    let at = pos(p);
                    data.splice(at..at, token.iter().copied());
                }
                Edit::Overwrite(p, t) if !self.dictionary.is_empty() && len > 0 => {
                    let token = &self.dictionary[t % self.dictionary.len()];
                    let at = p % len;
                    let end = (at + token.len()).min(len);
                    data.splice(at..end, token.iter().copied());
                }
                Edit::Delete(p, n) if len > 0 => {
                    let at = p % len;
                    data.drain(at..(at + n).min(len));
                }
                Edit::Duplicate(p, n) if len > 0 && len < 4 << 20 => {
                    let at = p % len;
                    let part: Vec<u8> = data[at..(at + n).min(len)].to_vec();
                    data.splice(at..at, part);
                }
                Edit::Splice(p, s, f, n) => {
                    let other = &self.seeds[s % self.seeds.len()];
                    if !other.is_empty() {
                        let from = f % other.len();
                        let part = &other[from..(from + n).min(other.len())];
                        let at = pos(p);
                        data.splice(at..at, part.iter().copied());
                    }
                }
                Edit::Truncate(p) => data.truncate(pos(p)),
                _ => {}
            }
        }
        data
    }

    /// Feeds mutated seeds to `target` for `seconds` (at least one case per seed, the
    /// seeds themselves first). Prints and returns the report.
    pub fn run(&self, seconds: u64, mut target: impl FnMut(&[u8])) -> Report {
        assert!(!self.seeds.is_empty(), "{}: no seeds", self.name);
        let seed: u64 = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x00c0_11ab);
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
        );
        let strategy = (any::<usize>(), proptest::collection::vec(edit(), 1..16));
        // Panics are expected to be counted, not printed one by one.
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let started = Instant::now();
        let budget = Duration::from_secs(seconds);
        let mut report = Report {
            cases: 0,
            panics: 0,
            seconds: 0.0,
            slowest_ms: 0,
        };
        let mut first = self.seeds.clone().into_iter();
        loop {
            let input = match first.next() {
                Some(s) => s,
                None => {
                    if started.elapsed() >= budget {
                        break;
                    }
                    let (seed, edits) = strategy
                        .new_tree(&mut runner)
                        .expect("a strategy without filters always yields")
                        .current();
                    self.apply(seed, &edits)
                }
            };
            let case = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
            report.slowest_ms = report.slowest_ms.max(case.elapsed().as_millis());
            report.cases += 1;
            if outcome.is_err() {
                report.panics += 1;
                save_failure(self.name, report.panics, &input);
            }
        }
        std::panic::set_hook(quiet);
        report.seconds = started.elapsed().as_secs_f64();
        println!(
            "fuzz {}: {} cases in {:.0} s, {} panics, slowest case {} ms",
            self.name, report.cases, report.seconds, report.panics, report.slowest_ms
        );
        report
    }
}

fn save_failure(name: &str, n: u64, input: &[u8]) {
    if n > 20 {
        return;
    }
    let dir = std::env::temp_dir().join("collabo-fuzz-failures");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(format!("{name}-{n}.bin")), input);
    }
}

/// Byte strings from text tokens.
pub fn tokens(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|t| t.as_bytes().to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_campaign_tries_the_seeds_and_counts_panics() {
        let fuzz = Fuzz {
            name: "selftest",
            seeds: vec![b"abc".to_vec(), b"PANIC".to_vec()],
            dictionary: tokens(&["PANIC"]),
        };
        let report = fuzz.run(1, |input| {
            if input.starts_with(b"PANIC") {
                panic!("found it");
            }
        });
        assert!(report.cases >= 2);
        assert!(report.panics >= 1, "the seed itself panics");
    }
}
