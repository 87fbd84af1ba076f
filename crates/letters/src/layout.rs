//! Where things lie on the sheet: the 長形3号 window and the fold lines, in millimetres
//! from the top-left corner of the A4 sheet, and the same in PDF points for tests.
//!
//! The numbers (kept in step with `templates/layout.typ`):
//! - 長形3号 is 120 × 235 mm (JIS S 5502); A4 (210 × 297 mm) folded in three gives
//!   99 mm panels that fit it lying on its side.
//! - Japan Post's rule for an address window is a rectangle of at least 45 × 80 mm
//!   (郵便規則, quoted by envelope makers such as imura.co.jp), and its guideline asks
//!   that the address stay visible when the sheet shifts inside the envelope
//!   (post.japanpost.jp/zipcode/guideline/05.html).
//! - Ready-made 長3 window envelopes for A4 in three commonly have a 90 × 45 mm window
//!   about 23 mm from the left edge and 13 mm from the top edge. We use exactly that as
//!   the window over the sheet, and keep the address block 5 mm (sides) and 4 mm
//!   (top/bottom) inside it so a few millimetres of play do not hide it.
//!
//! This module does not lay anything out; typst does.

/// A rectangle in millimetres from the sheet's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RectMm {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl RectMm {
    /// The same rectangle in PDF points (1 pt = 25.4/72 mm), top-left origin as
    /// `pdftotext -bbox` reports it: `(x_min, y_min, x_max, y_max)`.
    pub fn to_points(self) -> (f64, f64, f64, f64) {
        let pt = |mm: f64| mm * 72.0 / 25.4;
        (
            pt(self.x),
            pt(self.y),
            pt(self.x + self.width),
            pt(self.y + self.height),
        )
    }
}

/// The envelope window over the folded sheet.
pub const WINDOW: RectMm = RectMm {
    x: 23.0,
    y: 13.0,
    width: 90.0,
    height: 45.0,
};

/// The fold lines of A4 folded in three (mm from the top).
pub const FOLDS_MM: [f64; 2] = [99.0, 198.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_fits_the_top_panel_and_meets_the_postal_minimum() {
        const { assert!(WINDOW.y + WINDOW.height < FOLDS_MM[0]) };
        const { assert!(WINDOW.width >= 80.0 && WINDOW.height >= 45.0) };
        let (x0, y0, x1, y1) = WINDOW.to_points();
        assert!((x0 - 65.197).abs() < 0.01 && (y0 - 36.850).abs() < 0.01);
        assert!((x1 - 320.315).abs() < 0.01 && (y1 - 164.409).abs() < 0.01);
    }
}
