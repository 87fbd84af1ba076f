//! Progress bars of the imports on standard error (`indicatif`): bytes for claims
//! files, records for checkup files, a spinner while a list is matched and stored.
//! indicatif draws nothing when standard error is not a terminal, so scripts and logs
//! see only the result.

use collabo_app::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Follows `counter` on `bar` until the bar is finished.
fn follow(bar: &ProgressBar, counter: &Progress) {
    let (bar, counter) = (bar.clone(), counter.clone());
    std::thread::spawn(move || {
        while !bar.is_finished() {
            bar.set_position(counter.get());
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

/// A bar over the bytes of a file of `size` bytes.
pub fn bytes(name: &str, size: u64, counter: &Progress) -> ProgressBar {
    let bar = ProgressBar::new(size).with_style(style(
        "{prefix} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, 残り {eta})",
    ));
    bar.set_prefix(format!("取込 {name}"));
    follow(&bar, counter);
    bar
}

/// A counter of the records read from a file whose count is not known beforehand.
pub fn records(name: &str, counter: &Progress) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(style("{prefix} {spinner} {pos} 件 {elapsed}"));
    bar.set_prefix(format!("取込 {name}"));
    bar.enable_steady_tick(Duration::from_millis(120));
    follow(&bar, counter);
    bar
}

/// A spinner while a list read whole is checked, matched and stored.
pub fn working(name: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(style("{prefix} {spinner} {elapsed}"));
    bar.set_prefix(format!("取込 {name}: 照合・登録中"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
